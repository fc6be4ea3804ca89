"""The UNet on PoCL against the float64 PyTorch reference
(tools/reference/unet.py) on small random-weight models of the SD 1.x shape
(conv proj_in/out, cross-attention on the first levels) and the SD 2.x
shape (linear projections, heads of 64 channels), as a diffusers folder
with config.json and as an LDM single file. Tolerance: max abs error <=
1e-4 of the output's scale."""

import json
import os
import shutil
import tempfile

import numpy as np
import torch

import engine_common as ec
import st_io
import unet as ref

STACK = None
TOL = 1e-4
WORK = tempfile.mkdtemp(prefix="kiln-unet-")


def inputs(cfg, N, H, W, Lc, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(N, cfg.in_ch, H, W, generator=g).float()
    ctx = torch.randn(N, Lc, cfg.ctx_dim, generator=g).float()
    t = torch.tensor([981.0, 1.0, 500.0, 250.5][:N])
    return x, t, ctx


def run(model, x, t, ctx, info=None):
    xp, cp, op = (os.path.join(WORK, n) for n in ("x.bin", "c.bin",
                                                   "o.bin"))
    x.numpy().tofile(xp)
    ctx.numpy().tofile(cp)
    p = ec.kiln_render([
        "unet", "--model", model,
        "--in", "%s=%s" % ("x".join(map(str, x.shape)), xp),
        "--ctx", "%s=%s" % ("x".join(map(str, ctx.shape)), cp),
        "--t", ",".join("%g" % v for v in t.tolist()), "--out", op])
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    if info is not None:
        info.update(out)
    return torch.from_numpy(np.fromfile(op, np.float32).reshape(
        out["shape"]))


def check(got, want, what):
    err = ec.rel_err(got, want)
    assert err <= TOL, "%s: relative error %.3g > %g" % (what, err, TOL)


def test_sd1_shape_diffusers_folder(_):
    cfg = ref.Config(ch=(32, 64), layers=1, attn=(True, False), heads=2,
                     ctx_dim=16, groups=8)
    w = ref.random_weights(cfg, seed=1)
    d = os.path.join(WORK, "sd1", "unet")
    os.makedirs(d)
    st_io.write(os.path.join(d, "diffusion_pytorch_model.safetensors"),
                {k: v.numpy() for k, v in w.items()})
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump({"block_out_channels": cfg.ch, "layers_per_block": 1,
                   "attention_head_dim": 2, "cross_attention_dim": 16,
                   "norm_num_groups": 8}, f)
    x, t, ctx = inputs(cfg, 2, 8, 12, 7, seed=2)
    got = run(d, x, t, ctx)
    check(got, ref.forward(w, cfg, x, t, ctx), "SD 1.x-shaped UNet")


def test_f16_weights_stay_f16(_):
    # The matrices stay float16 on the device and the GEMM kernels read
    # them as such; the reference runs on the same rounded weights.
    cfg = ref.Config(ch=(32, 64), layers=1, attn=(True, False), heads=2,
                     ctx_dim=16, groups=8)
    w = ref.random_weights(cfg, seed=5)
    w16 = {k: torch.from_numpy(v.numpy().astype(np.float16)
                               .astype(np.float32)) for k, v in w.items()}
    d = os.path.join(WORK, "sd1-f16", "unet")
    os.makedirs(d)
    st_io.write(os.path.join(d, "diffusion_pytorch_model.safetensors"),
                {k: v.numpy().astype(np.float16) for k, v in w.items()})
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump({"block_out_channels": cfg.ch, "layers_per_block": 1,
                   "attention_head_dim": 2, "cross_attention_dim": 16,
                   "norm_num_groups": 8}, f)
    x, t, ctx = inputs(cfg, 2, 8, 8, 7, seed=6)
    info16 = {}
    got = run(d, x, t, ctx, info16)
    want = ref.forward(w16, cfg, x, t, ctx)
    check(got, want, "UNet with F16 weights")
    # KILN_WEIGHTS=f32 (kilnd: [engine] weights = f32) widens them.
    info32 = {}
    saved = os.environ.get("KILN_WEIGHTS")
    os.environ["KILN_WEIGHTS"] = "f32"
    try:
        got = run(d, x, t, ctx, info32)
    finally:
        os.environ.pop("KILN_WEIGHTS")
        if saved is not None:
            os.environ["KILN_WEIGHTS"] = saved
    check(got, want, "UNet with F16 weights widened to F32")
    assert info32["peak_bytes"] > info16["peak_bytes"], (info16, info32)


def test_failed_allocations_give_their_memory_back(_):
    # Each device allocation of a forward pass fails in turn
    # (--fail-each-alloc): every failed pass must free all it took, the
    # skip tensor the up path has just taken from its stack included.
    cfg = ref.Config(ch=(32, 64), layers=1, attn=(True, False), heads=2,
                     ctx_dim=16, groups=8)
    w = ref.random_weights(cfg, seed=7)
    d = os.path.join(WORK, "walk", "unet")
    os.makedirs(d)
    st_io.write(os.path.join(d, "diffusion_pytorch_model.safetensors"),
                {k: v.numpy() for k, v in w.items()})
    x, t, ctx = inputs(cfg, 1, 8, 8, 7, seed=8)
    xp, cp, op = (os.path.join(WORK, n) for n in ("x.bin", "c.bin",
                                                   "o.bin"))
    x.numpy().tofile(xp)
    ctx.numpy().tofile(cp)
    p = ec.kiln_render([
        "unet", "--model", d, "--in", "1x4x8x8=" + xp,
        "--ctx", "1x7x16=" + cp, "--t", "981", "--out", op,
        "--fail-each-alloc"])
    assert p.returncode == 0, p.stderr
    assert "each gave its memory back" in p.stderr, p.stderr


def test_inpainting_unet_takes_nine_channels(_):
    # SD 1.5 inpainting (and SDXL's): the latent, the mask and the masked
    # image's latent go in (4 + 1 + 4), a 4-channel prediction comes out;
    # the only change is conv_in, read from the single file's shapes.
    # (Heads of 64 channels: what a single file without a config gets.)
    cfg = ref.Config(ch=(64, 128), layers=1, attn=(True, False),
                     heads=(1, 2), ctx_dim=16, groups=32, in_ch=9, out_ch=4)
    w = ref.random_weights(cfg, seed=6)
    path = os.path.join(WORK, "inpaint.safetensors")
    st_io.write(path, {"model.diffusion_model." + k: v.numpy()
                       for k, v in ref.to_ldm(w, cfg).items()})
    x, t, ctx = inputs(cfg, 2, 8, 8, 5, seed=7)
    got = run(path, x, t, ctx)
    assert list(got.shape) == [2, 4, 8, 8], got.shape
    check(got, ref.forward(w, cfg, x, t, ctx), "9-channel inpainting UNet")


def test_sd2_shape_ldm_single_file(_):
    # Heads of 64 channels, linear projections, three levels, two layers.
    cfg = ref.Config(ch=(64, 128, 128), layers=2, attn=(True, True, False),
                     heads=(1, 2, 2), ctx_dim=24, groups=32,
                     linear_proj=True)
    w = ref.random_weights(cfg, seed=3)
    path = os.path.join(WORK, "sd2.safetensors")
    st = {"model.diffusion_model." + k: v.numpy()
          for k, v in ref.to_ldm(w, cfg).items()}
    st_io.write(path, st)
    x, t, ctx = inputs(cfg, 1, 8, 8, 5, seed=4)
    # No config.json: the shapes give everything, with SD's 32 groups.
    got = run(path, x, t, ctx)
    check(got, ref.forward(w, cfg, x, t, ctx), "SD 2.x-shaped UNet")
    shutil.rmtree(WORK, ignore_errors=True)
