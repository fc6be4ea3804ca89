"""GEMM tuning files: kiln-render applies a device's CLBlast parameters
and the engine GEMM kernel's from $KILN_TUNING_DIR and says so, GEMMs
still match numpy under them, a malformed file is refused loudly and by
name, and `kiln-render tune` writes a file that passes the same checks;
the engine kernel the tuner chooses gives a UNet the same output as the
default parameters, both within the engine tests' tolerance of the
float64 reference."""

import json
import os
import shutil
import tempfile

import numpy as np

import engine_common as ec

STACK = None
TOL = 1e-4

# A valid, non-default Xgemm set (CLBlast 1.5's generic default is KWG=32
# MWG=NWG=32 VWM=4 VWN=2 SA=SB=1); GemmRoutine 0 sends every product
# through Xgemm, so these parameters are the ones computing. It is also
# the tuner's first candidate, which lets the two share PoCL's cache.
XGEMM = {"GEMMK": 0, "KREG": 1, "KWG": 32, "KWI": 2, "MDIMA": 8,
         "MDIMC": 8, "MWG": 128, "NDIMB": 8, "NDIMC": 8, "NWG": 128,
         "SA": 0, "SB": 0, "STRM": 0, "STRN": 0, "VWM": 16, "VWN": 16}

_state = {}


def work_dir():
    if "dir" not in _state:
        _state["dir"] = tempfile.mkdtemp(prefix="kiln-tuning-")
    return _state["dir"]


def kr(args, timeout=300, **env):
    """kiln-render with the test's tuning directory (and env) set."""
    extra = {"KILN_TUNING_DIR": os.path.join(work_dir(), "tuning")}
    extra.update(env)
    saved = {k: os.environ.get(k)
             for k in list(extra) + ["KILN_NO_TUNING", "KILN_GEMM"]}
    os.environ.pop("KILN_NO_TUNING", None)
    os.environ.pop("KILN_GEMM", None)
    os.environ.update(extra)
    try:
        return ec.kiln_render(args, timeout=timeout)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def bench(**env):
    """bench-gemm held to CLBlast, the library the file tunes."""
    p = kr(["bench-gemm", "--json", "--clblast", "--shapes", "64x64x64",
            "--repeat", "1"], **env)
    assert p.returncode == 0, p.stderr[-2000:]
    j = json.loads(p.stdout)
    assert j["gemm"] == "clblast", j
    return j


def device_info():
    """Device, driver and tuning file path, from an untuned run."""
    if "info" not in _state:
        j = bench(KILN_NO_TUNING="1")
        assert j["tuning"]["state"] == "disabled", j["tuning"]
        _state["info"] = j
    return _state["info"]


def tuning_path():
    path = device_info()["tuning"]["path"]
    assert path.startswith(os.path.join(work_dir(), "tuning") + "/"), path
    name = os.path.basename(path)
    assert name.endswith(".json") and all(
        c.isalnum() or c in "._-" for c in name), name
    return path


def write_file(text):
    path = tuning_path()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def check_applied_and_correct(gemm="clblast"):
    """bench-gemm says the file is applied; op gemm, held to CLBlast
    (or through the engine's kernel), matches numpy in the plain and
    transposed layouts (odd sizes: CLBlast's padding path, the engine
    kernel's edges)."""
    j = bench()
    assert j["tuning"]["applied"] is True, j["tuning"]
    assert j["tuning"]["state"] == "applied", j["tuning"]
    assert j["tuning"]["path"] == tuning_path(), j["tuning"]
    assert j["results"][0]["gflops"] > 0, j

    rng = np.random.default_rng(7)
    work = tempfile.mkdtemp(prefix="kiln-tuning-op-", dir=work_dir())
    cases = []
    a = rng.standard_normal((67, 45)).astype(np.float32)
    b = rng.standard_normal((45, 83)).astype(np.float32)
    cases.append(([a, b], a @ b, {}))
    bt = rng.standard_normal((83, 45)).astype(np.float32)
    cases.append(([a, bt], a @ bt.T, {"tb": 1}))
    a2 = rng.standard_normal((256, 128)).astype(np.float32)
    b2 = rng.standard_normal((128, 256)).astype(np.float32)
    cases.append(([a2, b2], a2 @ b2, {}))
    lines = []
    for i, (ins, want, sets) in enumerate(cases):
        args = ["gemm"]
        for j_, t in enumerate(ins):
            path = os.path.join(work, "c%d_in%d.bin" % (i, j_))
            t.tofile(path)
            args += ["--in", "%dx%d=%s" % (t.shape[0], t.shape[1], path)]
        out = os.path.join(work, "c%d_out.bin" % i)
        args += ["--out", "%dx%d=%s" % (want.shape[0], want.shape[1], out)]
        for k, v in sets.items():
            args += ["--set", "%s=%s" % (k, v)]
        lines.append(" ".join(args))
    batch = os.path.join(work, "batch.txt")
    with open(batch, "w") as f:
        f.write("\n".join(lines) + "\n")
    p = kr(["op", "--batch", batch], KILN_GEMM=gemm)
    assert p.returncode == 0 and p.stderr == "", p.stderr[-2000:]
    for i, (_, want, _) in enumerate(cases):
        got = np.fromfile(os.path.join(work, "c%d_out.bin" % i),
                          dtype=np.float32).reshape(want.shape)
        err = np.abs(got.astype(np.float64) - want).max() / \
            max(np.abs(want).max(), 1e-6)
        assert err <= TOL, "case %d: relative error %.3g" % (i, err)


def test_no_file_is_not_an_error(_):
    path = tuning_path()
    if os.path.exists(path):
        os.unlink(path)
    j = bench()
    assert j["tuning"]["applied"] is False, j["tuning"]
    assert j["tuning"]["state"] == "none", j["tuning"]


def test_written_file_is_applied_and_gemm_still_correct(_):
    info = device_info()
    write_file(json.dumps({
        "device": info["device"], "driver": info["driver"],
        "clblast": {
            "Xgemm": {"precision": 32, "params": XGEMM},
            "GemmRoutine": {"precision": 32,
                            "params": {"XGEMM_MIN_INDIRECT_SIZE": 0}},
        }}))
    check_applied_and_correct()
    # KILN_NO_TUNING turns it off, and says so.
    j = bench(KILN_NO_TUNING="1")
    assert j["tuning"]["applied"] is False
    assert j["tuning"]["state"] == "disabled", j["tuning"]


def test_file_for_another_driver_is_ignored(_):
    info = device_info()
    write_file(json.dumps({
        "device": info["device"], "driver": info["driver"] + "-old",
        "clblast": {"Xgemm": {"precision": 32, "params": XGEMM}}}))
    j = bench()
    assert j["tuning"]["applied"] is False
    assert j["tuning"]["state"] == "stale", j["tuning"]
    assert "-old" in j["tuning"].get("detail", ""), j["tuning"]


def test_malformed_file_is_a_clear_error(_):
    info = device_info()
    bad = [
        ("{\"device\": \"x\", ", "not JSON"),
        (json.dumps({"device": info["device"], "driver": info["driver"],
                     "clblast": {"Xgemm": {"params": dict(
                         XGEMM, KWG="32")}}}),
         "clblast.Xgemm.params.KWG"),
        (json.dumps({"device": info["device"], "driver": info["driver"],
                     "clblast": []}), "\"clblast\""),
        # Well-formed JSON, but not every Xgemm parameter: CLBlast says
        # no, and that is the file's fault too.
        (json.dumps({"device": info["device"], "driver": info["driver"],
                     "clblast": {"Xgemm": {"params": {"KWG": 16}}}}),
         "CLBlastMissingOverrideParameter"),
    ]
    for text, what in bad:
        path = write_file(text)
        for args in (["bench-gemm", "--shapes", "8x8x8", "--repeat", "1"],
                     ["op", "gemm", "--in", "2x2=/dev/null", "--in",
                      "2x2=/dev/null", "--out", "2x2=/dev/null"]):
            p = kr(args)
            assert p.returncode != 0, (args, p.stdout)
            assert path in p.stderr and what in p.stderr, p.stderr
            assert "KILN_NO_TUNING" in p.stderr, p.stderr
    # The way out the message names works.
    j = bench(KILN_NO_TUNING="1")
    assert j["tuning"]["state"] == "disabled"
    os.unlink(path)


def test_tuner_writes_a_file_that_is_applied(_):
    path = tuning_path()
    write_file("garbage: the tuner must not read the old file")
    p = kr(["tune", "--budget", "20", "--shapes", "128x128x128",
            "--seed", "1"], timeout=240)
    assert p.returncode == 0, (p.stdout[-3000:], p.stderr[-3000:])
    assert ("wrote " + path) in p.stdout, p.stdout[-3000:]
    with open(path) as f:
        saved = json.load(f)
    info = device_info()
    assert saved["device"] == info["device"], saved
    assert saved["driver"] == info["driver"], saved
    assert isinstance(saved["clblast"], dict), saved
    for k in saved["clblast"].values():
        assert k["precision"] == 32 and k["params"], saved
    assert saved["tuner"]["shapes"][0]["shape"] == "128x128x128", saved
    check_applied_and_correct()
    shutil.rmtree(work_dir(), ignore_errors=True)
    _state.clear()


ENGINE_GEMM = {"mr": 3, "vw": 8, "nv": 2, "tile": 64, "kslice": 128}


def test_engine_gemm_in_the_file_is_applied(_):
    info = device_info()
    write_file(json.dumps({"device": info["device"],
                           "driver": info["driver"], "clblast": {},
                           "engine_gemm": ENGINE_GEMM}))
    j = bench()
    assert j["engine_gemm"] == "mr=3,vw=8,nv=2,tile=64,kslice=128", j
    assert j["engine_gemm_tuned"] is True, j
    check_applied_and_correct(gemm="engine")
    # KILN_GEMM_PARAMS goes over the file, field by field.
    j = bench(KILN_GEMM_PARAMS="nv=1")
    assert j["engine_gemm"] == "mr=3,vw=8,nv=1,tile=64,kslice=128", j
    j = bench(KILN_NO_TUNING="1")
    assert j["engine_gemm_tuned"] is False, j
    os.unlink(tuning_path())


def test_malformed_engine_gemm_is_a_clear_error(_):
    info = device_info()
    for eg, what in ((dict(ENGINE_GEMM, mr=40), "engine_gemm"),
                     (dict(ENGINE_GEMM, vw=3), "vw"),
                     ({"mr": 4}, "engine_gemm"),
                     (dict(ENGINE_GEMM, nv="2"), "engine_gemm.nv")):
        path = write_file(json.dumps({
            "device": info["device"], "driver": info["driver"],
            "clblast": {}, "engine_gemm": eg}))
        p = kr(["bench-gemm", "--shapes", "8x8x8", "--repeat", "1"])
        assert p.returncode != 0, (eg, p.stdout)
        assert path in p.stderr and what in p.stderr, (eg, p.stderr)
    os.unlink(path)


def unet_outputs(**env):
    """A small SD 1.x-shaped UNet (test_unet's) on fixed inputs, and the
    float64 reference's output for it."""
    import torch
    import st_io
    import unet as ref
    if "unet" not in _state:
        cfg = ref.Config(ch=(32, 64), layers=1, attn=(True, False),
                         heads=2, ctx_dim=16, groups=8)
        w = ref.random_weights(cfg, seed=3)
        d = os.path.join(work_dir(), "unet")
        os.makedirs(d, exist_ok=True)
        model = d
        st_io.write(os.path.join(d, "diffusion_pytorch_model.safetensors"),
                    {k: v.numpy() for k, v in w.items()})
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump({"block_out_channels": cfg.ch, "layers_per_block": 1,
                       "attention_head_dim": 2, "cross_attention_dim": 16,
                       "norm_num_groups": 8}, f)
        g = torch.Generator().manual_seed(5)
        x = torch.randn(2, cfg.in_ch, 16, 16, generator=g).float()
        ctx = torch.randn(2, 7, cfg.ctx_dim, generator=g).float()
        t = torch.tensor([981.0, 250.5])
        want = ref.forward(w, cfg, x, t, ctx)
        x.numpy().tofile(os.path.join(d, "x.bin"))
        ctx.numpy().tofile(os.path.join(d, "c.bin"))
        _state["unet"] = (model, d, x.shape, ctx.shape, want)
    model, d, xs, cs, want = _state["unet"]
    out = os.path.join(d, "o.bin")
    p = kr(["unet", "--model", model,
            "--in", "%s=%s" % ("x".join(map(str, xs)),
                               os.path.join(d, "x.bin")),
            "--ctx", "%s=%s" % ("x".join(map(str, cs)),
                                os.path.join(d, "c.bin")),
            "--t", "981,250.5", "--out", out], **env)
    assert p.returncode == 0, p.stderr[-2000:]
    got = np.fromfile(out, np.float32).reshape(tuple(want.shape))
    return got, want.double().numpy()


def rel(got, want):
    return np.abs(got.astype(np.float64) - want).max() / \
        max(np.abs(want).max(), 1e-6)


def test_tuners_engine_choice_gives_the_defaults_results(_):
    path = tuning_path()
    if os.path.exists(path):
        os.unlink(path)
    p = kr(["tune", "--only", "engine", "--budget", "25", "--shapes",
            "256x320x320,77x768x768", "--seed", "1"], timeout=300)
    assert p.returncode == 0, (p.stdout[-3000:], p.stderr[-3000:])
    assert ("wrote " + path) in p.stdout, p.stdout[-3000:]
    with open(path) as f:
        saved = json.load(f)
    summary = saved["tuner"]["engine_gemm"]
    assert summary["default_gflops"] > 0, summary
    assert ("engine_gemm" in saved) == summary["kept"], saved
    j = bench()
    assert j["engine_gemm"] == summary["params"], (j, summary)
    base, want = unet_outputs(KILN_NO_TUNING="1")
    tuned, _ = unet_outputs()
    assert rel(base, want) <= TOL and rel(tuned, want) <= TOL, (
        rel(base, want), rel(tuned, want))
    assert rel(tuned, base) <= TOL, rel(tuned, base)
    # And a set far from any default (small blocks, slices of K, tiny
    # tiles), whatever the tuner chose here.
    odd, _ = unet_outputs(KILN_NO_TUNING="1",
                          KILN_GEMM_PARAMS="mr=3,vw=4,nv=3,kslice=64,"
                          "tile=16")
    assert rel(odd, want) <= TOL, rel(odd, want)
    os.unlink(path)
