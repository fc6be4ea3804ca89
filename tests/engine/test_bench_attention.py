"""kiln-render bench-attention: times op_attention with either kernel on
the shapes it is given, says what it measured in JSON, and checks the
results it timed against its own double-precision computation; bad
shapes are refused with exit status 2."""

import json

import engine_common as ec

STACK = None

# Small and odd: a query block and key tile left over, d = 44 (every
# column remainder of the fused kernel), a causal one.
SHAPES = "1x40x50x2x44,2x33x33x3x40:causal"


def bench(impl):
    p = ec.kiln_render(["bench-attention", "--json", "--impl", impl,
                        "--shapes", SHAPES, "--repeat", "2"])
    assert p.returncode == 0, p.stderr[-2000:]
    return json.loads(p.stdout)


def test_both_kernels_timed_and_checked(_):
    for impl in ("fused", "blocked"):
        j = bench(impl)
        assert j["impl"] == impl and j["repeat"] == 2, j
        got = [r["shape"] for r in j["results"]]
        assert got == SHAPES.split(","), got
        for r in j["results"]:
            assert r["runs"] == 2, r
            assert r["gflops"] > 0 and r["best_ms"] > 0, r
            assert r["median_ms"] >= r["best_ms"], r
            assert 0 <= r["rel_err"] <= 1e-4, (impl, r)


def test_bad_shapes_refused(_):
    for shapes in ("2x64x64x2", "2x64x64x2x0", "2x64x64x2x32,",
                   "2x64x64x2x32:cause", "2x64x77x2x32:causal",
                   "16x65536x65536x64x64"):
        p = ec.kiln_render(["bench-attention", "--shapes", shapes])
        assert p.returncode == 2, (shapes, p.stdout, p.stderr)
        assert "kiln-render bench-attention:" in p.stderr, p.stderr
