"""The upscalers on PoCL against the PyTorch reference
(tools/reference/upscalers.py, basicsr's architectures in float64) on
small random-weight models: RRDBNet x4, x2 and x1 (pixel_unshuffle of the
input), the same weights under the original ESRGAN names, SRVGGNet x4.
Tolerance: max abs error <= 1e-4 of the output's scale. Then tiles
against whole runs, Lanczos against Pillow's (what A1111 resizes with),
the model-then-Lanczos path of `kiln-render upscale`, bad files, and
tools/pth2safetensors.py."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
from PIL import Image

import engine_common as ec
import harness
import st_io
import upscalers as ref

STACK = None
TOL = 1e-4
WORK = tempfile.mkdtemp(prefix="kiln-up-")
# RRDBNet's receptive field (about 35 input pixels for 2 blocks) is wider
# than the 8 pixels of context a tile gets here, so tiles are close to,
# not equal to, the whole run; what lies that far weighs little: measured
# max 5.0e-6, mean 3.2e-7 of the output's scale on this random model.
RRDB_TILE_MAX = TOL
RRDB_TILE_MEAN = 1e-5


def rand_image(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=g).float()


def save(name, sd):
    path = os.path.join(WORK, name)
    st_io.write(path, {k: v.numpy() for k, v in sd.items()})
    return path


def run_raw(model, x, extra=()):
    inp = os.path.join(WORK, "in.bin")
    out = os.path.join(WORK, "out.bin")
    if os.path.exists(out):
        os.unlink(out)
    x.numpy().astype(np.float32).tofile(inp)
    p = ec.kiln_render(["upscale", "--upscaler", model, "--in-raw",
                        "x".join(str(s) for s in x.shape) + "=" + inp,
                        "--out-raw", out] + list(extra))
    assert p.returncode == 0, p.stderr
    info = json.loads(p.stdout)
    got = torch.from_numpy(np.fromfile(out, dtype=np.float32)
                           .reshape(info["shape"]))
    return got, info


def check(got, want, what):
    assert tuple(got.shape) == tuple(want.shape), \
        "%s: shape %s, want %s" % (what, tuple(got.shape), tuple(want.shape))
    err = ec.rel_err(got, want)
    assert err <= TOL, "%s: relative error %.3g > %g" % (what, err, TOL)


_models = {}


def rrdb(scale):
    if scale not in _models:
        sd = ref.rrdbnet_weights(num_feat=16, num_block=2, num_grow_ch=8,
                                 scale=scale, seed=scale)
        _models[scale] = (sd, save("rrdb_x%d.safetensors" % scale, sd))
    return _models[scale]


def srvgg():
    if "srvgg" not in _models:
        sd = ref.srvgg_weights(num_feat=16, num_conv=4, scale=4, seed=7)
        _models["srvgg"] = (sd, save("srvgg_x4.safetensors", sd))
    return _models["srvgg"]


def test_rrdbnet_x4_matches_reference(_):
    sd, path = rrdb(4)
    x = rand_image(1, 3, 12, 20, seed=1)
    got, _ = run_raw(path, x)
    check(got, ref.rrdbnet(sd, x, 4), "RRDBNet x4")


def test_rrdbnet_x2_unshuffles_input(_):
    sd, path = rrdb(2)
    x = rand_image(2, 3, 12, 16, seed=2)
    got, _ = run_raw(path, x)
    check(got, ref.rrdbnet(sd, x, 2), "RRDBNet x2")


def test_rrdbnet_x1_unshuffles_by_4(_):
    sd, path = rrdb(1)
    x = rand_image(1, 3, 16, 12, seed=3)
    got, _ = run_raw(path, x)
    check(got, ref.rrdbnet(sd, x, 1), "RRDBNet x1")


def test_old_esrgan_names_load_the_same(_):
    sd, _ = rrdb(4)
    path = save("old_esrgan.safetensors", ref.to_old_esrgan(sd))
    x = rand_image(1, 3, 10, 14, seed=4)
    got, _ = run_raw(path, x)
    check(got, ref.rrdbnet(sd, x, 4), "RRDBNet x4, old ESRGAN names")


def test_f16_weights_load(_):
    sd, _ = rrdb(4)
    half = {k: v.half() for k, v in sd.items()}
    path = save("rrdb_f16.safetensors", half)
    x = rand_image(1, 3, 8, 8, seed=5)
    got, _ = run_raw(path, x)
    check(got, ref.rrdbnet({k: v.float() for k, v in half.items()}, x, 4),
          "RRDBNet x4, F16 weights")


def test_srvgg_matches_reference(_):
    sd, path = srvgg()
    x = rand_image(1, 3, 12, 20, seed=6)
    got, _ = run_raw(path, x)
    check(got, ref.srvgg(sd, x), "SRVGGNet x4")


def test_srvgg_tiles_equal_whole_run(_):
    # 6 convolutions see 6 pixels around: 8 pixels of context make every
    # tile's kept part exact, so tiled equals untiled.
    sd, path = srvgg()
    x = rand_image(1, 3, 40, 52, seed=8)
    got, _ = run_raw(path, x, ["--tile", "16", "--overlap", "8"])
    check(got, ref.srvgg(sd, x), "SRVGGNet x4 in 16-pixel tiles")


def test_rrdbnet_tiles_close_to_whole_run(_):
    sd, path = rrdb(4)
    x = rand_image(1, 3, 40, 44, seed=9)
    got, _ = run_raw(path, x, ["--tile", "16", "--overlap", "8"])
    want = ref.rrdbnet(sd, x, 4)
    scale = want.abs().max().item()
    d = (got.double() - want).abs()
    assert d.max().item() / scale <= RRDB_TILE_MAX, d.max().item() / scale
    assert d.mean().item() / scale <= RRDB_TILE_MEAN, d.mean().item() / scale


def test_budget_tiles_in_less_memory(_):
    sd, path = srvgg()
    x = rand_image(1, 3, 64, 64, seed=10)
    whole, info_w = run_raw(path, x)
    tiled, info_t = run_raw(path, x, ["--budget", "1"])
    check(tiled, whole.double(), "SRVGGNet x4 within a 1 MB budget")
    assert info_t["peak_live_bytes"] < info_w["peak_live_bytes"], \
        (info_t, info_w)


# --- images --------------------------------------------------------------

def png(path, arr):
    Image.fromarray(arr, "RGB").save(path)
    return path


def make_image(seed, w, h):
    rng = np.random.default_rng(seed)
    # Smooth shapes plus noise: edges and flat areas for the filter.
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx * 255 // max(w - 1, 1)),
                     (yy * 255 // max(h - 1, 1)),
                     ((xx // 4 + yy // 4) % 2) * 255], -1)
    return np.clip(base + rng.integers(-40, 41, base.shape), 0,
                   255).astype(np.uint8)


def upscale_png(src, scale, extra=()):
    out = os.path.join(WORK, "out.png")
    if os.path.exists(out):
        os.unlink(out)
    p = ec.kiln_render(["upscale", "--in", src, "--scale", str(scale),
                        "-o", out] + list(extra))
    assert p.returncode == 0, p.stderr
    return np.asarray(Image.open(out).convert("RGB")), json.loads(p.stdout)


def test_lanczos_matches_pillow(_):
    cases = [(37, 23, 2.0), (64, 48, 1.5), (50, 50, 0.37), (17, 31, 3.3),
             (40, 40, 1.0 + 1 / 40)]
    bad = []
    for i, (w, h, s) in enumerate(cases):
        img = make_image(i, w, h)
        src = png(os.path.join(WORK, "lz%d.png" % i), img)
        got, info = upscale_png(src, s)
        dw, dh = int(w * s), int(h * s)
        want = np.asarray(Image.fromarray(img).resize((dw, dh),
                                                      Image.LANCZOS))
        if got.shape != want.shape or (got != want).any():
            bad.append("%dx%d x%g: %s, %d bytes differ" % (
                w, h, s, got.shape, int((got != want).sum())
                if got.shape == want.shape else -1))
    assert not bad, "; ".join(bad)


def test_model_then_lanczos_to_asked_scale(_):
    # A 4x model asked for 3x: the model's image, rounded to 8 bits,
    # resized by Lanczos (A1111's Upscaler.upscale).
    sd, path = srvgg()
    img = make_image(11, 20, 14)
    src = png(os.path.join(WORK, "m.png"), img)
    got, info = upscale_png(src, 3, ["--upscaler", path])
    x = torch.from_numpy(img).permute(2, 0, 1)[None].double() / 255
    y = ref.srvgg(sd, x).clamp(0, 1)[0].permute(1, 2, 0).numpy()
    mid = np.rint(y * 255).astype(np.uint8)
    want = np.asarray(Image.fromarray(mid).resize((60, 42), Image.LANCZOS))
    assert info["native_scale"] == 4 and got.shape == want.shape, info
    # float32 against float64 may round a model pixel the other way.
    d = np.abs(got.astype(int) - want.astype(int))
    assert d.max() <= 2 and d.mean() < 0.05, (d.max(), d.mean())


# --- bad files -----------------------------------------------------------

def refused(model, words):
    x = os.path.join(WORK, "tiny.png")
    png(x, make_image(0, 8, 8))
    p = ec.kiln_render(["upscale", "--in", x, "--scale", "2",
                        "--upscaler", model, "-o",
                        os.path.join(WORK, "never.png")])
    assert p.returncode == 1, (p.returncode, p.stderr)
    for w in [model] + list(words):
        assert w in p.stderr, "%r not in %r" % (w, p.stderr)


def test_not_an_upscaler_is_refused(_):
    path = save("vae_like.safetensors", {
        "decoder.conv_in.weight": torch.zeros(8, 4, 3, 3),
        "decoder.conv_in.bias": torch.zeros(8)})
    refused(path, ["not an upscaler"])


def test_truncated_file_is_refused(_):
    _, path = rrdb(4)
    data = open(path, "rb").read()
    cut = os.path.join(WORK, "cut.safetensors")
    with open(cut, "wb") as f:
        f.write(data[:len(data) // 2])
    refused(cut, [])


def test_misshapen_tensor_is_named(_):
    sd, _ = rrdb(4)
    sd = dict(sd)
    sd["body.1.rdb2.conv3.weight"] = torch.zeros(8, 5, 3, 3)
    refused(save("misshapen.safetensors", sd),
            ["body.1.rdb2.conv3.weight"])


# --- pth2safetensors -----------------------------------------------------

def pth2st(*args):
    return subprocess.run([sys.executable, os.path.join(
        harness.ROOT, "tools", "pth2safetensors.py")] + list(args),
        capture_output=True, text=True)


def test_pth2safetensors_round_trip(_):
    sd, _ = srvgg()
    pth = os.path.join(WORK, "m.pth")
    # Real-ESRGAN's wrapper: params_ema wins over params.
    torch.save({"params_ema": sd, "params": {k: v * 0 for k, v in
                                             sd.items()}}, pth)
    out = os.path.join(WORK, "m.safetensors")
    p = pth2st(pth, out)
    assert p.returncode == 0, p.stderr
    back, _ = st_io.read(out)
    assert sorted(back) == sorted(sd)
    for k, v in sd.items():
        assert np.array_equal(np.asarray(back[k]), v.numpy()), k
    x = rand_image(1, 3, 8, 8, seed=12)
    got, _ = run_raw(out, x)
    check(got, ref.srvgg(sd, x), "converted SRVGGNet")


class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + os.path.join(WORK, "pwned"),))


def test_pth2safetensors_never_unpickles_objects(_):
    pth = os.path.join(WORK, "evil.pth")
    torch.save({"params": {"body.0.weight": torch.zeros(1)},
                "x": Evil()}, pth)
    p = pth2st(pth, os.path.join(WORK, "evil.safetensors"))
    assert p.returncode == 1 and "weights only" in p.stderr, p.stderr
    assert not os.path.exists(os.path.join(WORK, "pwned"))


def test_zz_cleanup(_):
    shutil.rmtree(WORK, ignore_errors=True)
