"""The engine's GEMM kernel under every kind of parameter set the tuner
may choose (KILN_GEMM_PARAMS: register blocks from 1x4 to 16x32, vector
widths 2-16, tiny tiles, K in slices) computes what float64 PyTorch does
on products whose edges cut through blocks and tiles, with float32 and
float16 operands (each float16 path: read in the inner loop, and widened
to float32 first). Tolerance as test_ops: 1e-4 of the output's scale.
Bad parameter sets are refused by name."""

import os
import subprocess
import tempfile

import numpy as np
import torch

import engine_common as ec

STACK = None
TOL = 1e-4

# (label, M, N, K, which operand is float16: "", "a" or "b")
CASES = [
    ("37x53x71", 37, 53, 71, ""),
    ("77x200x150, K in slices", 77, 200, 150, ""),
    ("130x64x96", 130, 64, 96, ""),
    ("1x33x17, one row", 1, 33, 17, ""),
    ("float16 A read as is (N < 64)", 45, 40, 70, "a"),
    ("float16 A widened (N >= 64)", 45, 96, 70, "a"),
    ("float16 B read as is (M < 64)", 21, 75, 66, "b"),
    ("float16 B widened (M >= 64)", 70, 75, 66, "b"),
]

VARIANTS = [
    "",                                   # the device's default
    "mr=1,vw=4,nv=1",
    "mr=3,vw=8,nv=3",
    "mr=6,vw=16,nv=4,kslice=64,tile=16",
    "mr=16,vw=16,nv=2",
    "mr=5,vw=2,nv=4,kslice=100",
    "mr=7,vw=2,nv=3",
]

_state = {}


def inputs():
    if "cases" in _state:
        return _state
    g = torch.Generator().manual_seed(4321)
    work = tempfile.mkdtemp(prefix="kiln-gemm-params-")
    cases, lines = [], []
    for i, (label, m, n, k, half) in enumerate(CASES):
        a = torch.randn(m, k, generator=g)
        b = torch.randn(k, n, generator=g)
        pa = os.path.join(work, "a%d.bin" % i)
        pb = os.path.join(work, "b%d.bin" % i)
        a.numpy().tofile(pa)
        b.numpy().tofile(pb)
        # The kernel sees the float16-rounded operand: so does the
        # reference, in float64.
        ra = a.half().double() if "a" in half else a.double()
        rb = b.half().double() if "b" in half else b.double()
        out = os.path.join(work, "o%d.bin" % i)
        line = "gemm --in %dx%d=%s --in %dx%d=%s --out %dx%d=%s" % (
            m, k, pa, k, n, pb, m, n, out)
        if half:
            line += " --set half=%s" % half
        lines.append(line)
        cases.append(dict(label=label, want=ra @ rb, out=out, m=m, n=n))
    batch = os.path.join(work, "batch.txt")
    with open(batch, "w") as f:
        f.write("\n".join(lines) + "\n")
    _state.update(cases=cases, batch=batch)
    return _state


def run_variant(params):
    st = inputs()
    env = ec.engine_env()
    env["KILN_GEMM_PARAMS"] = params
    env.pop("KILN_GEMM", None)
    p = subprocess.run([ec.render_bin(), "op", "--batch", st["batch"]],
                          capture_output=True, text=True, env=env,
                          timeout=600)
    assert p.returncode == 0, "%s: %s" % (params, p.stderr[-2000:])
    errs = []
    for c in st["cases"]:
        got = torch.from_numpy(np.fromfile(c["out"], np.float32)).reshape(c["m"],
                                                                 c["n"])
        e = ec.rel_err(got, c["want"])
        if not e <= TOL:
            errs.append("%s: error %.3g" % (c["label"], e))
        os.unlink(c["out"])
    assert not errs, "%s: %s" % (params or "default", "; ".join(errs))


def make_test(params):
    def t(_):
        run_variant(params)
    t.__name__ = "test_params_%s" % (params.replace("=", "").replace(
        ",", "_") or "default")
    t.__doc__ = "GEMM correct with KILN_GEMM_PARAMS=%r" % params
    return t


for _v in VARIANTS:
    _t = make_test(_v)
    globals()[_t.__name__] = _t


def test_bad_parameters_are_refused_by_name(_):
    for params, word in (("mr=17", "mr"), ("vw=3", "vw"), ("vw=1", "vw"), ("nv=5", "nv"),
                         ("mr=16,nv=4", "accumulators"),
                         ("tile=8", "tile"), ("kslice=10", "kslice"),
                         ("rows=4", "mr="), ("mr=x", "mr")):
        env = ec.engine_env()
        env["KILN_GEMM_PARAMS"] = params
        p = subprocess.run([ec.render_bin(), "bench-gemm", "--shapes",
                               "8x8x8", "--repeat", "1"],
                              capture_output=True, text=True, env=env,
                              timeout=120)
        assert p.returncode != 0, params
        assert word in p.stderr, (params, p.stderr)
