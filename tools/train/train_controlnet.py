"""train_controlnet.py - trains kiln-micro-canny, a canny-edge ControlNet
for kiln-micro (the embedded default model), on the CPU, and exports it
in diffusers' ControlNetModel layout (config.json + F16 safetensors), the
layout `kiln-render render --controlnet DIR:IMAGE:WEIGHT` loads.

  /usr/bin/python3 tools/train/train_controlnet.py --work build/train-canny \
      --out models/kiln-micro-canny [--steps N] [--time-limit S]

The ControlNet is lllyasviel's recipe at kiln-micro's size: a copy of
kiln-micro's UNet encoder (conv_in, time embedding, down blocks, mid
block), a hint embedding from the 64x64 edge map to the 16x16 latent grid
(widths 16, 32, 64: two stride-2 convolutions, the VAE's factor 4), and
zero-initialised 1x1 convolutions on every skip and on the mid block.
kiln-micro itself (UNet, text encoder, VAE) is frozen, read from
models/kiln-micro (F16, computed in float32).

Data: scenes.py scenes in the *random* layout (any object in any cell of
the 3x3 grid), so the caption does not fix where the shapes go and the
edge map is what tells it. The hint is cv2.Canny(scene, 100, 200), the
thresholds of kiln-render's `--control-preprocessor canny`, as [0, 1]
on three channels. Captions are scenes.py's, tokenized with kiln-micro's
own tokenizer; 10% are dropped to the empty caption as kiln-micro's were,
so the ControlNet also steers the unconditional half of CFG. The loss is
train.py's: v-prediction MSE on linear betas with min-SNR-5 weighting,
through the frozen UNet with the ControlNet's residuals added.

Stages (cached in --work): data (scenes, edges, tokens, latents from the
kiln-micro VAE encoder), train, export."""

import argparse
import json
import multiprocessing
import os
import sys
import time

import numpy as np

import train as T  # noqa: I100 (sets OMP_WAIT_POLICY before torch starts)
import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))

import bpe  # noqa: E402
import controlnet as cnref  # noqa: E402
import scenes  # noqa: E402
import st_io  # noqa: E402
import unet  # noqa: E402
import vae  # noqa: E402

SEED = 20261207
HINT_CH = (16, 32, 64)
CANNY = (100, 200)          # kiln-render's --control-preprocessor canny


def log(msg):
    T.log(msg)


def read_st(path):
    w, _ = st_io.read(path)
    return {k: torch.from_numpy(np.array(v, np.float32)) for k, v in
            w.items()}


def micro(a):
    """kiln-micro's frozen parts: (unet weights, unet config json, text
    encoder weights, vae weights, vae config, tokenizer)."""
    m = a.model
    uw = read_st(os.path.join(m, "unet",
                              "diffusion_pytorch_model.safetensors"))
    with open(os.path.join(m, "unet", "config.json")) as f:
        ucj = json.load(f)
    tw = read_st(os.path.join(m, "text_encoder", "model.safetensors"))
    vw = read_st(os.path.join(m, "vae",
                              "diffusion_pytorch_model.safetensors"))
    with open(os.path.join(m, "vae", "config.json")) as f:
        vcj = json.load(f)
    vocab, merges = bpe.load(os.path.join(m, "tokenizer", "vocab.json"),
                             os.path.join(m, "tokenizer", "merges.txt"))
    return uw, ucj, tw, vw, vcj, bpe.Tokenizer(vocab, merges)


def canny(img):
    """The hint of a uint8 RGB image: OpenCV's Canny on the three channels
    (what the engine's preprocessor reproduces), uint8 0/255 [H, W]."""
    import cv2
    return cv2.Canny(np.ascontiguousarray(img), CANNY[0], CANNY[1])


def _render(spec):
    return scenes.render(spec, 64)


def stage_data(a):
    out = os.path.join(a.work, "canny_data.npz")
    if os.path.exists(out):
        log("data: cached in %s" % out)
        return
    _, _, _, vw, vcj, tok = micro(a)
    log("rendering %d random-layout scenes" % a.scenes)
    items = scenes.generate(a.scenes, SEED, "train", layout="random")
    with multiprocessing.Pool(a.threads) as pool:
        imgs = np.stack(pool.map(_render, [s for s, _ in items],
                                 chunksize=256))
    edges = np.stack([canny(x) for x in imgs])
    ids = np.array([tok.window(c) for _, c in items], np.int16)
    vcfg = T.vae_config(vcj["layers_per_block"])
    lat = T.encode_all(vw, vcfg, imgs)
    np.savez(out + ".tmp.npz", imgs=imgs, edges=edges, ids=ids, lat=lat,
             scale=np.float32(vcj["scaling_factor"]))
    os.replace(out + ".tmp.npz", out)
    log("data: %d scenes, %.1f%% edge pixels" %
        (len(imgs), 100 * float((edges > 0).mean())))


def unet_cfg():
    return T.unet_config()


def init_controlnet(uw, cfg):
    """ControlNet weights: the UNet's encoder copied, the hint embedding
    drawn like train.py's layers, its conv_out and the zero convolutions
    zero (diffusers' ControlNetModel.from_unet), so training starts from
    kiln-micro's own output."""
    shapes = {n: s for n, s, _, _ in cnref.specs(cfg, HINT_CH)}
    w = T.init_weights({k: s for k, s in shapes.items() if k not in uw},
                       SEED + 1)
    with torch.no_grad():
        for k, v in w.items():
            if k.startswith(("controlnet_down_blocks.",
                             "controlnet_mid_block.",
                             "controlnet_cond_embedding.conv_out.")):
                v.zero_()
    for k in shapes:
        if k in uw:
            w[k] = uw[k].clone().requires_grad_(True)
        assert tuple(w[k].shape) == tuple(shapes[k]), k
    return w


def stage_train(a):
    ck = os.path.join(a.work, "controlnet.pt")
    d = np.load(os.path.join(a.work, "canny_data.npz"))
    edges, ids, lat = d["edges"], d["ids"], d["lat"]
    scale = float(d["scale"])
    uw, _, tw, _, _, tok = micro(a)
    for v in list(uw.values()) + list(tw.values()):
        v.requires_grad_(False)
    cfg = unet_cfg()
    w = init_controlnet(uw, cfg)
    params = list(w.values())
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=0.0)
    ac = T.alphas_cumprod()
    empty = torch.tensor(tok.window(""))
    g = torch.Generator().manual_seed(SEED + 2)
    losses, start, elapsed = [], 0, 0.0
    if os.path.exists(ck):
        s = T.load(ck)
        with torch.no_grad():
            for k, v in s["w"].items():
                w[k].copy_(v)
        opt.load_state_dict(s["opt"])
        g.set_state(s["rng"])
        losses, start, elapsed = s["losses"], s["step"], s["elapsed"]
        if start >= a.steps or s.get("stopped"):
            log("train: cached in %s (%d steps)" % (ck, start))
            return
        log("resuming at step %d" % start)
    n = len(lat)
    t0 = time.time() - elapsed
    t_run = time.time()

    def save(step, stopped=False):
        torch.save({"w": T.cpu(w), "opt": opt.state_dict(),
                    "rng": g.get_state(), "losses": losses, "step": step,
                    "elapsed": time.time() - t0, "stopped": stopped,
                    "threads": a.threads, "lr": a.lr, "batch": a.batch,
                    "planned": a.steps}, ck + ".tmp")
        os.replace(ck + ".tmp", ck)

    step = start
    for step in range(start, a.steps):
        if a.time_limit and time.time() - t0 > a.time_limit:
            log("train: time limit reached at step %d" % step)
            save(step, stopped=True)
            return
        for pg in opt.param_groups:
            pg["lr"] = T.lr_at(a.lr, step, a.steps, 50)
        idx = torch.randint(0, n, (a.batch,), generator=g)
        tk = torch.from_numpy(ids[idx.numpy()].astype(np.int64))
        drop = torch.rand(a.batch, generator=g) < 0.1
        tk[drop] = empty
        z = torch.from_numpy(lat[idx.numpy()].astype(np.float32)) * scale
        hint = torch.from_numpy(edges[idx.numpy()].astype(np.float32) /
                                255.0)[:, None].expand(-1, 3, -1, -1)
        t = torch.randint(0, T.SCHED["num_train_timesteps"], (a.batch,),
                          generator=g)
        noise = torch.randn(z.shape, generator=g)
        sa = ac[t].sqrt()[:, None, None, None]
        so = (1 - ac[t]).sqrt()[:, None, None, None]
        xt = sa * z + so * noise
        target = sa * noise - so * z
        with torch.no_grad():
            ctx = T.encode_text(tw, tk)
        res = cnref.forward(w, cfg, xt, t, ctx, hint, dtype=torch.float32)
        pred = unet.forward(uw, cfg, xt, t, ctx, dtype=torch.float32,
                            residuals=res)
        snr = ac[t] / (1 - ac[t])
        wt = torch.clamp(snr, max=5.0) / snr + 1
        loss = (((pred - target) ** 2).mean((1, 2, 3)) * wt).mean() / 2
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        losses.append(float(loss))
        if step % 25 == 0 or step == a.steps - 1:
            log("controlnet %d/%d loss %.4f (%.0f s, %.2f s/step)" %
                (step, a.steps, float(np.mean(losses[-50:])),
                 time.time() - t0, (time.time() - t_run) /
                 (step + 1 - start)))
        if (step + 1) % 100 == 0:
            save(step + 1)
    save(a.steps)
    log("train: %d steps in %.0f s" % (a.steps, time.time() - t0))


def stage_export(a):
    s = T.load(os.path.join(a.work, "controlnet.pt"))
    _, ucj, _, _, _, _ = micro(a)
    cj = dict(ucj, _class_name="ControlNetModel",
              conditioning_embedding_out_channels=list(HINT_CH))
    for k in ("out_channels", "up_block_types"):
        cj.pop(k)
    os.makedirs(a.out, exist_ok=True)
    st_io.write(os.path.join(a.out, "diffusion_pytorch_model.safetensors"),
                {k: v.float().numpy().astype(np.float16)
                 for k, v in s["w"].items()})
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cj, f, indent=1)
        f.write("\n")
    stats = {"steps": s["step"], "planned_steps": s["planned"],
             "seconds": round(s["elapsed"]), "batch": s["batch"],
             "lr": s["lr"], "threads": s["threads"],
             "params": sum(v.numel() for v in s["w"].values()),
             "final_loss": float(np.mean(s["losses"][-100:])),
             "first_loss": float(np.mean(s["losses"][:25]))}
    with open(os.path.join(a.work, "canny_stats.json"), "w") as f:
        json.dump(stats, f, indent=1)
    T.loss_png(os.path.join(a.out, "loss.png"), [(s["losses"], "cn")])
    log("exported to %s: %s" % (a.out, stats))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", default="build/train-canny")
    ap.add_argument("--model", default="models/kiln-micro")
    ap.add_argument("--out", default="models/kiln-micro-canny")
    ap.add_argument("--scenes", type=int, default=20000)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--time-limit", type=float, default=0,
                    help="stop training after this many seconds (the "
                    "checkpoint is kept and exported); 0: no limit")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("stages", nargs="*", default=["data", "train", "export"])
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(SEED)
    vae.DTYPE = torch.float32
    os.makedirs(a.work, exist_ok=True)
    for st in a.stages:
        {"data": stage_data, "train": stage_train,
         "export": stage_export}[st](a)


if __name__ == "__main__":
    main()
