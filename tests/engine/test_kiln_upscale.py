"""kiln-upscale-x4, the shipped SRVGGNet x4 upscaler for kiln-micro
(models/upscalers): through the C engine (`kiln-render upscale
--upscaler`) it beats the engine's Lanczos in PSNR against the 256x256
ground truth on held-out scenes (scenes.py's test split, seeds that
train_upscaler.py never draws), by at least MARGIN_DB on average and on
most scenes; and on the same shipped weights the engine's raw output
agrees with the PyTorch reference (tools/reference/upscalers.py, basicsr's
SRVGGNetCompact in float64) within 1e-4 of the output's scale."""

import json
import os
import shutil
import sys
import tempfile

import numpy as np
import torch
from PIL import Image

import harness
import engine_common as ec
import st_io
import upscalers as ref

sys.path.insert(0, os.path.join(harness.ROOT, "tools", "train"))
import scenes  # noqa: E402

MODEL = os.path.join(harness.ROOT, "models", "upscalers",
                     "kiln-upscale-x4.safetensors")
TOL = 1e-4
SCENES = 12
# Held-out seeds: train_upscaler.py draws training scenes from 9000+seed
# and its own evaluation from 9500+seed (seed 0); these are neither.
SEED = 7700
# The model card's figures: on train_upscaler.py's 48 held-out scenes the
# model scores 36.51 dB against Lanczos' 33.65 dB (+2.9 dB); on these 12
# through the engine, +4.1 dB mean, +0.7 dB at worst. The bar is under
# both so float32 rounding does not flake it, and far above a model that
# learnt nothing: a nearest-neighbour copy of the input (what the first,
# L1-trained network collapsed to) scores about 2.5 dB under Lanczos.
MARGIN_DB = 2.0
WORK = tempfile.mkdtemp(prefix="kiln-kup-")


def held_out():
    out = []
    half = SCENES // 2
    for layout, n, s in (("canonical", half, SEED),
                         ("random", SCENES - half, SEED + 1)):
        for spec, _ in scenes.generate(n, s, "test", layout):
            hr = scenes.render(spec, 256)
            lr = hr.reshape(64, 4, 64, 4, 3).astype(np.float64) \
                .mean(axis=(1, 3))
            out.append((np.clip(np.rint(lr), 0, 255).astype(np.uint8), hr))
    return out


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0 ** 2 / max(mse, 1e-12))


def upscale(src, extra):
    out = os.path.join(WORK, "out.png")
    if os.path.exists(out):
        os.unlink(out)
    p = ec.kiln_render(["upscale", "--in", src, "--scale", "4", "-o", out]
                       + list(extra))
    assert p.returncode == 0, p.stderr
    return np.asarray(Image.open(out).convert("RGB"))


def test_shipped_model_is_small_f16(_):
    assert os.path.getsize(MODEL) <= 10 * 1024 * 1024, MODEL
    sd, _ = st_io.read(MODEL)
    assert all(v.dtype == np.float16 for v in sd.values()), MODEL


def test_beats_lanczos_on_held_out_scenes(_):
    gains = []
    rows = []
    for i, (lr, hr) in enumerate(held_out()):
        src = os.path.join(WORK, "in%d.png" % i)
        Image.fromarray(lr, "RGB").save(src)
        model = upscale(src, ["--upscaler", MODEL])
        lanczos = upscale(src, [])
        assert model.shape == hr.shape and lanczos.shape == hr.shape, \
            (model.shape, lanczos.shape)
        pm, pl = psnr(model, hr), psnr(lanczos, hr)
        gains.append(pm - pl)
        rows.append("%.2f/%.2f" % (pm, pl))
    gains = np.array(gains)
    print("kiln-upscale-x4 vs Lanczos, PSNR dB per scene: %s; mean gain "
          "%.2f dB, min %.2f dB" % (" ".join(rows), gains.mean(),
                                    gains.min()))
    assert gains.mean() >= MARGIN_DB, (gains.mean(), rows)
    # Not one lucky scene carrying the mean: nearly all gain.
    assert (gains > 0).sum() >= len(gains) - 1, (gains, rows)


def test_engine_matches_reference_on_shipped_weights(_):
    sd, _ = st_io.read(MODEL)
    sd = {k: torch.from_numpy(np.array(v, np.float32)) for k, v in
          sd.items()}
    lr, _ = held_out()[0]
    x = torch.from_numpy(lr).permute(2, 0, 1)[None].float() / 255
    inp = os.path.join(WORK, "in.bin")
    out = os.path.join(WORK, "out.bin")
    x.numpy().astype(np.float32).tofile(inp)
    p = ec.kiln_render(["upscale", "--upscaler", MODEL, "--in-raw",
                        "x".join(str(s) for s in x.shape) + "=" + inp,
                        "--out-raw", out])
    assert p.returncode == 0, p.stderr
    info = json.loads(p.stdout)
    got = torch.from_numpy(np.fromfile(out, dtype=np.float32)
                           .reshape(info["shape"]))
    want = ref.srvgg(sd, x)
    assert tuple(got.shape) == tuple(want.shape) == (1, 3, 256, 256), \
        (tuple(got.shape), tuple(want.shape))
    err = ec.rel_err(got, want)
    print("kiln-upscale-x4, engine vs reference: %.3g of scale" % err)
    assert err <= TOL, "relative error %.3g > %g" % (err, TOL)


def test_zz_cleanup(_):
    shutil.rmtree(WORK, ignore_errors=True)
