"""One UNet step with the full SD 1.5 configuration (block_out_channels
320/640/1280/1280, 2 layers per block, 8 heads, cross-attention 768: 860M
random parameters, stored as F16) at 256x256 (latents 32x32), as a batch of
2 like classifier-free guidance, against the PyTorch reference run in
float32 on the same rounded weights. Tolerance: max abs error <= 1e-4 of
the output's scale. About a minute and a half and 7 GB of host memory."""

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


def test_full_sd15_unet_step_at_256(_):
    work = tempfile.mkdtemp(prefix="kiln-sd15-")
    try:
        cfg = ref.Config(ch=(320, 640, 1280, 1280), layers=2,
                         attn=(True, True, True, False), heads=8,
                         ctx_dim=768, groups=32)
        w = ref.random_weights(cfg, seed=11)
        n = sum(v.numel() for v in w.values())
        assert n == 859520964, n     # SD 1.5's UNet parameter count
        d = os.path.join(work, "unet")
        os.makedirs(d)
        w16 = {}
        for k in list(w):
            w16[k] = w.pop(k).numpy().astype(np.float16)
        st_io.write(os.path.join(d, "diffusion_pytorch_model.safetensors"),
                    w16)
        g = torch.Generator().manual_seed(12)
        x = torch.randn(2, 4, 32, 32, generator=g).float()
        ctx = torch.randn(2, 77, 768, generator=g).float()
        xp, cp, op = (os.path.join(work, f) for f in ("x", "c", "o"))
        x.numpy().tofile(xp)
        ctx.numpy().tofile(cp)
        p = ec.kiln_render(["unet", "--model", d, "--in", "2x4x32x32=" + xp,
                            "--ctx", "2x77x768=" + cp, "--t", "981,421",
                            "--out", op], timeout=900)
        assert p.returncode == 0, p.stderr
        info = json.loads(p.stdout)
        # F16 weights stay F16: well under the 3.4 GB F32 would take.
        assert info["peak_bytes"] < 2.5e9, info
        got = torch.from_numpy(np.fromfile(op, np.float32)).reshape(
            2, 4, 32, 32)
        wr = {k: torch.from_numpy(v.astype(np.float32))
              for k, v in w16.items()}
        del w16
        with torch.no_grad():
            want = ref.forward(wr, cfg, x, torch.tensor([981.0, 421.0]),
                               ctx, dtype=torch.float32)
        err = ec.rel_err(got, want)
        assert err <= TOL, "relative error %.3g > %g" % (err, TOL)
    finally:
        shutil.rmtree(work, ignore_errors=True)
