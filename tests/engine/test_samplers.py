"""Noise schedules, samplers and the seeded RNG of kiln-render sample-test
against the float64 reference (tools/reference/samplers.py), which
implements k-diffusion's and diffusers' algorithms and the same Philox RNG.

Tolerance for latents: 1e-5 of the output's scale. The C side keeps the
latent and the model's output in float32 (as a real run does) and does
each update in double: every step adds about one float32 rounding (6e-8)
relative, and the few dozen steps here stay near 1e-6; a wrong scaling,
timestep or step order is off by 1e-3 or more. Sigma lists are double on
both sides: 1e-12. The RNG is exact."""

import os
import shutil
import tempfile

import numpy as np

import engine_common as ec
import samplers as ref

STACK = None
TOL = 1e-5
SHAPE = "1x4x8x8"
N = 256

_dir = tempfile.mkdtemp(prefix="kiln-samplers-")


def path(name):
    return os.path.join(_dir, name)


def sample(sampler, steps, seed=42, schedule="scaled_linear",
           prediction="eps", strength=None, init=None, spacing=None,
           cancel_at=None, shape=SHAPE, extra=(), expect_rc=0):
    """Runs sample-test; returns (latent or None, trace dict, process)."""
    out, trace = path("out.bin"), path("trace.txt")
    for f in (out, trace):
        if os.path.exists(f):
            os.unlink(f)
    args = ["sample-test", "--sampler", sampler, "--steps", str(steps),
            "--seed", str(seed), "--shape", shape, "--out", out,
            "--schedule", schedule, "--prediction", prediction,
            "--trace", trace]
    if strength is not None:
        args += ["--strength", repr(strength)]
    if init is not None:
        init.astype(np.float32).tofile(path("init.bin"))
        args += ["--init", path("init.bin")]
    if spacing is not None:
        args += ["--spacing", spacing]
    if cancel_at is not None:
        args += ["--cancel-at", str(cancel_at)]
    p = ec.kiln_render(args + list(extra), timeout=60)
    assert p.returncode == expect_rc, "rc %d, want %d: %s" % (
        p.returncode, expect_rc, p.stderr)
    tr = {"plan": [], "call": [], "progress": []}
    if os.path.exists(trace):
        with open(trace) as f:
            for line in f:
                w = line.split()
                tr[w[0]].append([float(v) for v in w[1:]])
    x = np.fromfile(out, dtype=np.float32) if os.path.exists(out) else None
    return x, tr, p


def rel(got, want):
    want = np.asarray(want, dtype=np.float64)
    scale = max(np.abs(want).max(), 1e-6)
    return np.abs(np.asarray(got, dtype=np.float64) - want).max() / scale


def test_rng_reproduces_known_values(_):
    # Philox4x32-10 known-answer vectors from Random123's kat_vectors.
    assert ref.philox4x32_10([0, 0, 0, 0], [0, 0]) == \
        [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
    assert ref.philox4x32_10([0xffffffff] * 4, [0xffffffff] * 2) == \
        [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
    assert ref.philox4x32_10([0x243f6a88, 0x85a308d3, 0x13198a2e,
                              0x03707344], [0xa4093822, 0x299f31d0]) == \
        [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
    # The first normals of seed 1, frozen: a change here changes every
    # stored seed's image.
    want = np.array([-0.1136802, -0.45786965, -0.28859565, -0.43105248,
                     0.9539093, -0.51208633], dtype=np.float32)
    assert np.array_equal(ref.KilnRng(1).normal(6), want)
    # C against the Python implementation, bit for bit, with an odd count
    # (the spare of the last pair) and seeds using all 64 bits.
    for seed in (0, 1, 12345, 2 ** 63 + 5, 2 ** 64 - 1):
        sample("euler", 1, seed=seed, shape="1x3x5x7",
               extra=["--dump-noise", path("noise.bin")])
        got = np.fromfile(path("noise.bin"), dtype=np.float32)
        assert np.array_equal(got.view(np.uint32),
                              ref.KilnRng(seed).normal(105).view(np.uint32)
                              ), "seed %d" % seed
    # Splitting draws does not change the stream.
    r = ref.KilnRng(9)
    a = np.concatenate([r.normal(3), r.normal(4), r.normal(1)])
    assert np.array_equal(a, ref.KilnRng(9).normal(8))
    # Roughly standard normal.
    z = ref.KilnRng(3).normal(20000)
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1) < 0.03


def test_sigma_schedules_match_the_reference(_):
    for schedule in ("scaled_linear", "linear"):
        sched = ref.Schedule(schedule)
        for sampler in ref.SAMPLERS:
            for steps in (1, 7, 20):
                _, tr, _ = sample(sampler, steps, schedule=schedule)
                want = ref.plan(sched, sampler, steps)
                got = tr["plan"]
                assert len(got) == steps, (sampler, steps, len(got))
                for (i, t, s, sn), (wt, ws, wsn) in zip(got, want):
                    assert abs(t - wt) < 1e-9, (sampler, steps, i, t, wt)
                    assert abs(s - ws) <= 1e-12 * ws, (sampler, steps, i)
                    assert abs(sn - wsn) <= 1e-12 * max(wsn, 1e-30), \
                        (sampler, steps, i, sn, wsn)
    # Known anchors: SD's sigma range and A1111's 20-step lists.
    sched = ref.Schedule()
    assert abs(sched.sigmas[-1] - 14.614641) < 1e-5
    assert abs(sched.sigmas[0] - 0.029167) < 1e-5
    _, tr, _ = sample("dpmpp_2m_karras", 20)
    assert abs(tr["plan"][0][2] - 14.614641) < 1e-5
    assert abs(tr["plan"][-1][2] - 0.029167) < 1e-5
    _, tr, _ = sample("ddim", 20)
    assert [int(p[1]) for p in tr["plan"]][:3] == [951, 901, 851]
    _, tr, _ = sample("lcm", 4)
    assert [int(p[1]) for p in tr["plan"]] == [999, 759, 499, 259]


def test_every_sampler_matches_the_reference(_):
    worst = 0.0
    for sampler in ref.SAMPLERS:
        for prediction in ("eps", "v"):
            for steps in (4, 9):
                x, tr, _ = sample(sampler, steps, seed=steps + 17,
                                  prediction=prediction)
                want, calls, _ = ref.run(sampler, steps, steps + 17, N,
                                         prediction=prediction)
                e = rel(x, want)
                worst = max(worst, e)
                assert e < TOL, (sampler, prediction, steps, e)
                # The model saw the same timesteps (as float32).
                got_t = [c[0] for c in tr["call"]]
                assert len(got_t) == len(calls), (sampler, len(got_t))
                assert max(abs(a - b) for a, b in zip(got_t, calls)) < 1e-3
                assert len(tr["progress"]) == steps
    # The linear schedule and DDIM's other spacings.
    for sampler, kw in (("euler_a", {"schedule": "linear"}),
                        ("dpmpp_2m", {"schedule": "linear",
                                      "prediction": "v"}),
                        ("ddim", {"spacing": "trailing"}),
                        ("ddim", {"spacing": "linspace",
                                  "prediction": "v"})):
        x, _, _ = sample(sampler, 6, seed=3, **kw)
        want, _, _ = ref.run(sampler, 6, 3, N, **kw)
        e = rel(x, want)
        assert e < TOL, (sampler, kw, e)
    print("    worst relative error %.2e" % worst)


def test_same_seed_same_latent_other_seed_other_latent(_):
    for sampler in ("euler_a", "lcm", "dpmpp_2m"):
        a, _, _ = sample(sampler, 6, seed=777)
        b, _, _ = sample(sampler, 6, seed=777)
        c, _, _ = sample(sampler, 6, seed=778)
        assert a.tobytes() == b.tobytes(), sampler
        assert not np.allclose(a, c), sampler


def test_img2img_strength_half_runs_half_the_steps(_):
    init = np.sin(np.arange(N) * 0.37) * 0.8
    for sampler in ("euler", "euler_a", "heun", "ddim", "dpmpp_2m_karras",
                    "lcm"):
        x, tr, _ = sample(sampler, 10, seed=5, strength=0.5, init=init)
        assert [p[0] for p in tr["progress"]] == [1, 2, 3, 4, 5], sampler
        assert all(p[1] == 5 for p in tr["progress"])
        want, calls, _ = ref.run(sampler, 10, 5, N, strength=0.5,
                                 init=init)
        assert len(tr["call"]) == len(calls)
        # It started at the sixth step of the full schedule.
        assert abs(tr["call"][0][0] - calls[0]) < 1e-3
        assert abs(calls[0] - tr["plan"][5][1]) < 1e-3, sampler
        e = rel(x, want)
        assert e < TOL, (sampler, e)
    # A strength that leaves no step is an error, not a no-op.
    _, _, p = sample("euler", 10, strength=0.05, init=init, expect_rc=1)
    assert "strength" in p.stderr


def test_cancel_from_the_progress_callback_stops_at_once(_):
    for sampler in ("euler", "heun", "lcm"):
        x, tr, p = sample(sampler, 10, cancel_at=3, expect_rc=3)
        assert x is None
        assert [q[0] for q in tr["progress"]] == [1, 2, 3], sampler
        per_step = 2 if sampler == "heun" else 1
        assert len(tr["call"]) == 3 * per_step, (sampler, len(tr["call"]))
        assert "canceled" in p.stderr


def test_invalid_parameters_are_named(_):
    cases = [
        (["--steps", "0"], "steps"),
        (["--strength", "1.5"], "strength"),
        (["--strength", "0.5"], "init"),
        (["--sampler", "nope"], "sampler"),
        (["--prediction", "x0"], "prediction"),
        (["--schedule", "cosine"], "schedule"),
    ]
    for args, word in cases:
        base = {"--sampler": "euler", "--steps": "5", "--seed": "1",
                "--shape": SHAPE, "--out": path("bad.bin")}
        for k, v in zip(args[::2], args[1::2]):
            base[k] = v
        flat = ["sample-test"] + [a for kv in base.items() for a in kv]
        p = ec.kiln_render(flat, timeout=30)
        assert p.returncode != 0, args
        assert word in p.stderr, (args, p.stderr)
    _, _, p = sample("lcm", 60, expect_rc=1)
    assert "steps" in p.stderr and "50" in p.stderr
    shutil.rmtree(_dir, ignore_errors=True)
