"""train.py - trains kiln-micro, kiln's embedded default model, from
scratch on the synthetic scenes of scenes.py, with Debian's python3-torch
on the CPU (OpenBLAS; two threads by default, --threads), and exports it
as a diffusers folder the C engine loads like any Stable Diffusion model.

  /usr/bin/python3 tools/train/train.py --work build/train \
      --out models/kiln-micro [stage ...]

Stages, each cached in --work so an interrupted run resumes:
  data    render the scenes (random layout for the autoencoder,
          canonical for the UNet), caption each several ways, train the
          BPE tokenizer, tokenize every caption, label what each names
  vae     train the autoencoder (64x64x3 <-> 16x16x8) on 32x32 crops,
          then encode every scene to its latent
  decoder fine-tune the decoder alone on those (now fixed) latents
  unet    the text encoder alone on an attribute head, then the text
          encoder and the UNet together on the latents (v-prediction,
          linear betas, 10% empty captions for CFG)
  refine  grow the decoder a layer per level and fine-tune it on latents
          the UNet samples, towards their scenes redrawn where each
          sample put its objects
  export  write the safetensors (F16), configs, tokenizer, kiln.json
          (defaults and example prompts) and the loss curve

The model is the Stable Diffusion architecture at a small size: a CLIP text
transformer, a UNet2DConditionModel and an AutoencoderKL, through the same
reference implementations (tools/reference) that the engine's tests check
the C code against, so the names and the maths are the engine's."""

import argparse
import hashlib
import json
import math
import multiprocessing
import os
import sys
import time

import numpy as np

# OpenMP threads that spin while waiting cost this small model half its
# speed on two cores (0.6 against 1.4 s a step, measured); set before torch
# starts its thread pool.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
sys.path.insert(0, os.path.join(HERE, ".."))

import bpe  # noqa: E402
import clip  # noqa: E402
import judge  # noqa: E402
import scenes  # noqa: E402
import samplers  # noqa: E402
import st_io  # noqa: E402
import unet  # noqa: E402
import vae  # noqa: E402

SEED = 20261122
# Where the tensors live: CUDA when torch has a GPU (--device), else the
# CPU. Random draws stay on the CPU generators either way, so a run's
# data order and noise do not depend on the device.
DEV = torch.device("cpu")
CAPTIONS_PER_SCENE = 4
CTX = 77

# Architecture. Sized so a step of the UNet on a 16x16 latent is cheap
# enough to train on two CPU cores and to render 64x64 in well under 2 s.
TEXT = dict(hidden=128, layers=3, heads=4, inter=512)
UNET = dict(ch=(64, 128, 128), layers=1, attn=(False, True, True), heads=4,
            groups=16)
# Eight latent channels, not SD's four: at f=4 this small decoder needs
# them to draw a small star's spikes and a square's corners sharply
# enough for the judge to tell the shapes apart.
VAE = dict(block_out=(16, 32, 64), layers=1, latent=8, groups=8)
# What kiln-micro renders best with (kiln.json), chosen by the judge's
# scores on held-out prompts; see models/kiln-micro/README.md.
DEFAULTS = dict(width=64, height=64, steps=20, cfg=4.0, sampler="dpmpp_2m")
EXAMPLES = [
    "a large red star in the top left corner",
    "two small green triangles on a white background",
    "a single blue circle on the left",
    "two large yellow squares on a black background",
    "three purple stars on a black background",
    "a pink triangle at the bottom on a grey background",
    "an orange square in the centre against a cyan background",
]
# The attribute head's share of the joint loss (its cross-entropy is
# near 0.01 once pretrained, the UNet's loss near 0.2).
AUX_WEIGHT = 0.1
SCHED = dict(num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02,
             beta_schedule="linear", prediction_type="v_prediction")


def lr_at(base, step, total, warm):
    """Linear warm-up over `warm` steps, then cosine decay to 10%."""
    return base * min(1.0, (step + 1) / warm) * \
        (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / total)))


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


# ------------------------------------------------------------------ data

def _render(spec):
    return scenes.render(spec, 64)


def _done(a, *names):
    return all(os.path.exists(os.path.join(a.work, n)) for n in names)


# What the text encoder is also taught to say about a caption (an
# auxiliary head on its end-of-text outputs, dropped at export): the
# attributes the caption names, "not named" being a class of its own.
AUX = [("colour", scenes.COLOURS), ("shape", scenes.SHAPES),
       ("count", [1, 2, 3]), ("size", [None] + scenes.SIZES),
       ("position", [None] + scenes.POSITION_NAMES),
       ("background", [None] + scenes.COLOURS)]
AUX_CLASSES = sum(len(v) for _, v in AUX)
POS_WORDS = {"left", "right", "top", "bottom", "centre", "center", "middle",
             "upper", "lower"}


def caption_labels(spec, caption):
    """Class indices (AUX order) of what a caption says about its scene:
    from the scene itself, each attribute counted as named only when the
    caption has a word for it."""
    g = spec["groups"][0]
    words = set(scenes.normalise(caption).split())
    said = {"colour": g["colour"], "shape": g["shape"], "count": g["count"],
            "size": g["size"] if words & {"small", "large"} else None,
            "position": g["position"] if words & POS_WORDS else None,
            "background": spec["background"]
            if words & {"background", "backdrop"} else None}
    return [classes.index(said[name]) for name, classes in AUX]


def unet_scenes(a):
    """The UNet's scenes: (spec, first caption) pairs, canonical layout."""
    return scenes.generate(a.scenes, SEED + 7, "train")


def unet_specs(a):
    return [s for s, _ in unet_scenes(a)]


def stage_data(a):
    """Two scene sets from the one seed: the random layout for the
    autoencoder (images.npy: any shape in any cell), the canonical layout
    with its captions for the text encoder and UNet (unet_images.npy,
    ids.npy, labels.npy)."""
    if _done(a, "images.npy", "unet_images.npy", "ids.npy", "labels.npy",
             "tokenizer/merges.txt"):
        log("data: cached in %s" % a.work)
        return
    if not _done(a, "images.npy"):
        log("rendering %d scenes for the autoencoder" % a.scenes)
        items = scenes.generate(a.scenes, SEED, "train", layout="random")
        with multiprocessing.Pool(a.threads) as pool:
            imgs = pool.map(_render, [s for s, _ in items], chunksize=256)
        np.save(os.path.join(a.work, "images.npy"), np.stack(imgs))
    rng = np.random.default_rng(SEED)
    log("sampling %d scenes for the UNet" % a.scenes)
    items = unet_scenes(a)
    specs = [s for s, _ in items]
    caps = []
    for spec, first in items:
        c = [first]
        while len(c) < CAPTIONS_PER_SCENE:
            t = scenes.make_caption(rng, spec)
            if not scenes.is_held_out(t):
                c.append(t)
        caps.append(c)
    log("rendering")
    with multiprocessing.Pool(a.threads) as pool:
        imgs = pool.map(_render, specs, chunksize=256)
    imgs = np.stack(imgs)
    flat = [t for c in caps for t in c]
    log("training the tokenizer on %d captions" % len(flat))
    merges = bpe.train(flat)
    os.makedirs(os.path.join(a.work, "tokenizer"), exist_ok=True)
    bpe.save(merges, os.path.join(a.work, "tokenizer", "vocab.json"),
             os.path.join(a.work, "tokenizer", "merges.txt"))
    tok = bpe.Tokenizer(bpe.vocabulary(merges), merges)
    ids = np.array([[tok.window(t) for t in c] for c in caps], np.int16)
    labels = np.array([[caption_labels(s, t) for t in c]
                       for s, c in zip(specs, caps)], np.int8)
    np.save(os.path.join(a.work, "unet_images.npy"), imgs)
    np.save(os.path.join(a.work, "labels.npy"), labels)
    with open(os.path.join(a.work, "captions.json"), "w") as f:
        json.dump(caps, f)
    np.save(os.path.join(a.work, "ids.npy"), ids)
    log("data: %d images, vocabulary %d, longest caption %d tokens" %
        (len(imgs), len(tok.vocab), int((ids != tok.eos).sum(-1).max()) + 1))


# ------------------------------------------------------------------- vae

def vae_config(layers=VAE["layers"]):
    return vae.config(block_out=VAE["block_out"], layers=layers,
                      latent=VAE["latent"], groups=VAE["groups"])


def checkpoint_vae_config(v):
    """The autoencoder config of a checkpoint: refine may have grown its
    layers per level (grow_layers)."""
    return vae_config(v.get("layers", VAE["layers"]))


def grow_layers(w, layers):
    """An autoencoder's weights with layers ResNets per level (the
    decoder one more), the added ones after each level's own and starting
    as the identity (their second convolution zero), so the grown model
    computes exactly what w did: the encoder keeps the latents the UNet
    learned and the decoder starts from what it had learned."""
    shapes = vae.shapes(vae_config(layers))
    new = init_weights({k: x for k, x in shapes.items() if k not in w},
                       SEED + 12)
    out = dict(w)
    for k, x in new.items():
        x = x.detach()
        if ".conv2." in k:
            x = torch.zeros_like(x)
        out[k] = x
    if set(out) != set(shapes):
        raise SystemExit("grow_layers: weights do not fit %d layers" %
                         layers)
    return out


def init_weights(shapes, seed):
    """PyTorch-default-like init: convs and linears uniform in
    +-1/sqrt(fan_in), norms at 1 / 0, biases 0."""
    g = torch.Generator().manual_seed(seed)
    w = {}
    for name, shp in sorted(shapes.items()):
        if len(shp) == 1:
            is_norm = "norm" in name.rsplit(".", 2)[-2]
            w[name] = torch.ones(shp) if (is_norm and
                                          name.endswith("weight")) \
                else torch.zeros(shp)
        else:
            fan = int(np.prod(shp[1:]))
            w[name] = (torch.rand(shp, generator=g) * 2 - 1) * fan ** -0.5
        w[name] = w[name].to(DEV).requires_grad_(True)
    return w


def to_unit(img_u8):
    return (torch.from_numpy(img_u8).permute(0, 3, 1, 2).float() / 127.5 -
            1).to(DEV)


def from_unit(y):
    """to_unit's inverse: [N, 3, H, W] in [-1, 1] (clamped) as uint8
    [N, H, W, 3] numpy images."""
    return ((y.clamp(-1, 1) + 1) * 127.5).round().byte() \
        .permute(0, 2, 3, 1).cpu().numpy()


def cpu(d):
    """Detached CPU copies of a dict of tensors, for checkpoints that load
    anywhere."""
    return {k: v.detach().cpu() for k, v in d.items()}


def load(path):
    """A checkpoint this script wrote, on the CPU. Not weights-only: they
    hold floats and lists beside the tensors, which torch 1.13's
    weights-only unpickler refuses and torch 2.6 and later load that way
    by default."""
    return torch.load(path, map_location="cpu", weights_only=False)


# A pixel shows an object when some channel is this far off the
# background colour, in [-1, 1] units (6.4 of 255 levels): anti-aliased
# rims count, flat background does not.
FG_LEVEL = 0.05


def shape_weights(x, bg, edge=0.0, edge_bg=1.0):
    """Per-pixel loss weights for images x with background colour bg
    ([N, 3, 1, 1]; the corner pixel always shows it). Shapes cover a
    small part of each image: weighting their pixels 11x makes the
    decoder learn sharp shapes, not just flat backgrounds, in the few
    thousand steps there is time for. Normalised to mean 1."""
    fg = ((x - bg).abs().amax(1, keepdim=True) > FG_LEVEL).float()
    wgt = 1 + 10 * fg
    if edge:
        # Pixels on a shape's outline (where the 3x3 neighbourhood spans
        # two colours) weigh edge more again: a square's corners and a
        # star's spikes are a few such pixels, and they are what the
        # judge tells the shapes apart by. Those on the background side
        # weigh edge * edge_bg: an L1 loss learns a weighted median, so
        # a pixel the latent leaves undecided goes to the heavier side,
        # and a half-filled extra row spoils a square where a row too
        # few leaves a smaller whole one.
        span = F.max_pool2d(x, 3, 1, 1) + F.max_pool2d(-x, 3, 1, 1)
        rim = (span.amax(1, keepdim=True) > 0.1).float()
        wgt = wgt + edge * rim * (fg + edge_bg * (1 - fg))
    return wgt / wgt.mean()


def encode_all(w, cfg, imgs):
    """The encoder's latents (its mean) of uint8 images, as F16."""
    log("encoding %d images" % len(imgs))
    mus = []
    with torch.no_grad():
        for i in range(0, len(imgs), 256):
            mu, _ = vae.encode(w, cfg, to_unit(np.ascontiguousarray(
                imgs[i:i + 256])))
            mus.append(mu.half().cpu().numpy())
    return np.concatenate(mus)


def stage_vae(a):
    if _done(a, "vae.pt", "lat_mu.npy"):
        log("vae: cached in %s" % a.work)
        return
    imgs = np.load(os.path.join(a.work, "images.npy"))
    if _done(a, "vae.pt"):
        # A trained autoencoder brought without its latents (a run's
        # checkpoints carried to another machine): encode only.
        v = load(os.path.join(a.work, "vae.pt"))
        np.save(os.path.join(a.work, "lat_mu.npy"), encode_all(
            {k: x.to(DEV) for k, x in v["w"].items()}, vae_config(), imgs))
        return
    cfg = vae_config()
    w = init_weights(vae.shapes(cfg), SEED + 1)
    opt = torch.optim.AdamW(list(w.values()), lr=1e-3, weight_decay=0.0)
    g = np.random.default_rng(SEED + 2)
    losses = []
    t0 = time.time()
    for step in range(a.vae_steps):
        for pg in opt.param_groups:
            pg["lr"] = lr_at(1e-3, step, a.vae_steps, 100)
        idx = np.sort(g.integers(0, len(imgs), a.vae_batch))
        oy, ox = g.integers(0, 9, 2) * 4     # crops on the latent grid
        full = imgs[idx]
        x = to_unit(np.ascontiguousarray(full[:, oy:oy + 32, ox:ox + 32]))
        wgt = shape_weights(x, to_unit(np.ascontiguousarray(
            full[:, :1, :1])))
        mu, _ = vae.encode(w, cfg, x)
        # A deterministic autoencoder (the log-variance half of the
        # encoder output is unused) with a little latent noise, so the
        # decoder tolerates the UNet's imperfect latents; a small penalty
        # keeps the latents' scale bounded in place of the KL term.
        y = vae.decode(w, cfg, mu + 0.05 * torch.randn(mu.shape).to(DEV))
        rec = ((y - x).abs() * wgt).mean() + (((y - x) ** 2) * wgt).mean()
        kl = (mu ** 2).mean()
        loss = rec + 1e-4 * kl
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(rec))
        if step % 100 == 0 or step == a.vae_steps - 1:
            log("vae %d/%d rec %.4f mu^2 %.3f (%.0f s)" %
                (step, a.vae_steps, float(np.mean(losses[-100:])),
                 float(kl), time.time() - t0))
    wd = {k: v.detach() for k, v in w.items()}
    mu = encode_all(wd, cfg, imgs)
    # The scale that gives the latents unit variance, as SD's 0.18215.
    sd = float(np.sqrt((mu.astype(np.float32) ** 2).mean()))
    np.save(os.path.join(a.work, "lat_mu.npy"), mu)
    # Last, so its presence means the stage finished.
    torch.save({"w": cpu(wd), "scale": 1.0 / sd, "losses": losses,
                "seconds": time.time() - t0},
               os.path.join(a.work, "vae.pt"))
    log("vae: scaling factor %.5f, %.0f s" % (1.0 / sd, time.time() - t0))


def trainable_decoder(v):
    """A copy of a checkpoint's autoencoder weights on DEV with the
    decoder's (all but the encoder) trainable: (weights, their names)."""
    w = {k: x.clone().to(DEV) for k, x in v["w"].items()}
    dec = [k for k in w if not k.startswith(("encoder.", "quant_conv."))]
    for k in dec:
        w[k].requires_grad_(True)
    return w, dec


def stage_decoder(a):
    """Fine-tunes the decoder alone on the encoder's frozen latents (the
    ones the UNet learns), full 64x64 images, L1 only, which keeps edges
    sharper than a squared error: the shape of a 10-pixel star depends on
    them. --decoder-steps is a list of cosine cycles ("4000,6000"); each
    finished cycle is saved, so a longer list continues a shorter one."""
    cycles = [int(x) for x in str(a.decoder_steps).split(",")]
    out = os.path.join(a.work, "vae-dec.pt")
    v = load(out if os.path.exists(out) else os.path.join(a.work, "vae.pt"))
    done = v.get("cycles", [])
    if done == cycles[:len(done)] and len(done) == len(cycles):
        log("decoder: cached in %s" % a.work)
        return
    if done != cycles[:len(done)]:
        raise SystemExit("decoder: %s has cycles %s, not a start of %s; "
                         "delete it to retrain" % (out, done, cycles))
    imgs = np.load(os.path.join(a.work, "images.npy"), mmap_mode="r")
    mu = np.load(os.path.join(a.work, "lat_mu.npy"), mmap_mode="r")
    cfg = vae_config()
    w, dec = trainable_decoder(v)
    losses = list(v.get("decoder_losses", []))
    seconds = v.get("decoder_seconds", 0.0)
    for c in range(len(done), len(cycles)):
        n = cycles[c]
        opt = torch.optim.AdamW([w[k] for k in dec], lr=5e-4,
                                weight_decay=0.0)
        g = np.random.default_rng(SEED + 6 + c)
        t0 = time.time()
        for step in range(n):
            for pg in opt.param_groups:
                pg["lr"] = lr_at(5e-4, step, n, 50)
            idx = np.sort(g.integers(0, len(imgs), a.vae_batch // 4))
            x = to_unit(np.ascontiguousarray(imgs[idx]))
            z = torch.from_numpy(np.asarray(mu[idx], np.float32)).to(DEV)
            wgt = shape_weights(x, x[:, :, :1, :1])
            y = vae.decode(w, cfg, z + 0.05 * torch.randn(z.shape).to(DEV))
            loss = ((y - x).abs() * wgt).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss))
            if step % 200 == 0 or step == n - 1:
                log("decoder cycle %d: %d/%d L1 %.4f (%.0f s)" %
                    (c + 1, step, n, float(np.mean(losses[-200:])),
                     time.time() - t0))
        seconds += time.time() - t0
        torch.save({"w": cpu(w),
                    "scale": v["scale"], "losses": v["losses"],
                    "decoder_losses": losses, "cycles": cycles[:c + 1],
                    "seconds": v["seconds"], "decoder_seconds": seconds},
                   out + ".tmp")
        os.replace(out + ".tmp", out)


# ------------------------------------------------------------------ unet

def unet_config():
    return unet.Config(ch=UNET["ch"], layers=UNET["layers"],
                       attn=UNET["attn"], heads=UNET["heads"],
                       ctx_dim=TEXT["hidden"], groups=UNET["groups"],
                       in_ch=VAE["latent"], out_ch=VAE["latent"],
                       linear_proj=True)


def text_shapes(vocab):
    w = clip.random_weights(vocab, TEXT["hidden"], TEXT["layers"],
                            TEXT["inter"], CTX)
    return {k: tuple(v.shape) for k, v in w.items()}


def unet_shapes():
    return {k: tuple(v.shape) for k, v in
            unet.random_weights(unet_config()).items()}


def alphas_cumprod():
    b = torch.linspace(SCHED["beta_start"], SCHED["beta_end"],
                       SCHED["num_train_timesteps"], dtype=torch.float64)
    return torch.cumprod(1 - b, 0).float().to(DEV)


def encode_text(tw, ids):
    return clip.forward(tw, ids, TEXT["heads"], dtype=torch.float32)


def unet_latents(a):
    """The UNet's scenes (canonical layout) through the trained encoder;
    its scaling factor stays the one of the autoencoder's own scenes."""
    out = os.path.join(a.work, "unet_lat.npy")
    if not os.path.exists(out):
        v = load(os.path.join(a.work, "vae.pt"))
        w = {k: x.to(DEV) for k, x in v["w"].items()}
        mu = encode_all(w, vae_config(), np.load(
            os.path.join(a.work, "unet_images.npy"), mmap_mode="r"))
        np.save(out + ".tmp.npy", mu)
        os.replace(out + ".tmp.npy", out)
    return np.load(out)


def latent_masks(imgs):
    """Which cells of each image's 16x16 latent grid show an object, or
    border one: [N, 16, 16] uint8 from uint8 scenes (a pixel is an
    object's when it is FG_LEVEL off the corner pixel's background
    colour, as in shape_weights)."""
    out = np.empty((len(imgs), 16, 16), np.uint8)
    for i in range(0, len(imgs), 1024):
        x = np.asarray(imgs[i:i + 1024], np.int16)
        fg = (np.abs(x - x[:, :1, :1]) > FG_LEVEL * 127.5).any(-1)
        m = torch.from_numpy(fg.reshape(len(x), 16, 4, 16, 4)
                             .any((2, 4)).astype(np.float32))
        out[i:i + len(x)] = F.max_pool2d(m[:, None], 3, 1, 1)[:, 0].numpy()
    return out


def aux_loss(head, ctx, tok, labels, eos):
    """Cross-entropy of the attribute head (AUX) on the mean of the text
    encoder's end-of-text outputs, which see the whole caption through the
    causal mask, and the fraction of captions with every attribute right."""
    m = (tok == eos).float()[..., None]
    pooled = (ctx * m).sum(1) / m.sum(1)
    logits = F.linear(pooled, head["aux.weight"], head["aux.bias"])
    loss, off, right = 0.0, 0, None
    for i, (_, classes) in enumerate(AUX):
        lg = logits[:, off:off + len(classes)]
        loss = loss + F.cross_entropy(lg, labels[:, i])
        ok = lg.argmax(1) == labels[:, i]
        right = ok if right is None else right & ok
        off += len(classes)
    return loss / len(AUX), float(right.float().mean())


def pretrain_text(a, tw, head, ids, labels, eos):
    """The text encoder alone on the attribute head first, so the UNet
    learns from captions that already mean something. Whole 77-token
    windows: every padding position the UNet attends to learns to carry
    the summary. Returns the seconds taken."""
    params = list(tw.values()) + list(head.values())
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01)
    g = torch.Generator().manual_seed(SEED + 8)
    n, k = ids.shape[:2]
    losses = []
    t0 = time.time()
    for step in range(a.text_steps):
        for pg in opt.param_groups:
            pg["lr"] = lr_at(1e-3, step, a.text_steps, 50)
        idx = torch.randint(0, n, (64,), generator=g)
        which = torch.randint(0, k, (64,), generator=g)
        tok = ids[idx, which].to(DEV)
        lab = labels[idx, which].to(DEV)
        loss, acc = aux_loss(head, encode_text(tw, tok), tok, lab, eos)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
        if step % 100 == 0 or step == a.text_steps - 1:
            log("text %d/%d loss %.4f all-right %.2f (%.0f s)" %
                (step, a.text_steps, float(np.mean(losses[-100:])), acc,
                 time.time() - t0))
    return time.time() - t0


def stage_unet(a):
    ids = torch.from_numpy(np.load(os.path.join(a.work, "ids.npy"))
                           .astype(np.int64))
    labels = torch.from_numpy(np.load(os.path.join(a.work, "labels.npy"))
                              .astype(np.int64))
    mu = unet_latents(a)
    masks = torch.from_numpy(latent_masks(np.load(
        os.path.join(a.work, "unet_images.npy"), mmap_mode="r")))
    scale = load(os.path.join(a.work, "vae.pt"))["scale"]
    with open(os.path.join(a.work, "tokenizer", "vocab.json")) as f:
        vocab = json.load(f)
    eos = vocab[bpe.EOS]
    empty = torch.tensor(bpe.Tokenizer(vocab, []).window(""))
    cfg = unet_config()
    tw = init_weights(text_shapes(len(vocab)), SEED + 3)
    with torch.no_grad():       # CLIP's embedding init scale
        tw["text_model.embeddings.token_embedding.weight"].normal_(0, 0.02)
        tw["text_model.embeddings.position_embedding.weight"].normal_(
            0, 0.01)
    uw = init_weights(unet_shapes(), SEED + 4)
    with torch.no_grad():       # start as the identity on each residual
        for k, v in uw.items():
            if k.endswith(("conv2.weight", "to_out.0.weight",
                           "ff.net.2.weight", "proj_out.weight",
                           "conv_out.weight")):
                v.zero_()
    head = init_weights({"aux.weight": (AUX_CLASSES, TEXT["hidden"]),
                         "aux.bias": (AUX_CLASSES,)}, SEED + 9)
    params = list(tw.values()) + list(uw.values()) + list(head.values())
    text_seconds = 0.0
    ck = os.path.join(a.work, "unet-ckpt.pt")
    if not os.path.exists(ck):
        text_seconds = pretrain_text(a, tw, head, ids, labels, eos)
    ema = {k: v.detach().clone() for k, v in list(tw.items()) +
           list(uw.items())}
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=0.01)
    ac = alphas_cumprod()
    g = torch.Generator().manual_seed(SEED + 5)
    n = len(mu)
    losses = []
    t0 = t_run = time.time()
    aux_acc = []
    start = 0
    if os.path.exists(ck):
        s = load(ck)
        with torch.no_grad():
            for k, v in s["w"].items():
                (tw if k in tw else uw)[k].copy_(v)
            for k, v in s["head"].items():
                head[k].copy_(v)
        text_seconds = s.get("text_seconds", 0.0)
        # The generator's state stays a CPU tensor; the optimizer's
        # moments follow their parameters' device on loading.
        ema = {k: v.to(DEV) for k, v in s["ema"].items()}
        opt.load_state_dict(s["opt"])
        g.set_state(s["rng"])
        losses, start = s["losses"], s["step"]
        t0 -= s["elapsed"]
        log("resuming at step %d" % start)
    # --unet-steps lists cosine cycles ("4500,2500"): the first from a.lr
    # with 300 warm-up steps, each later one from half of it with 100, so
    # a longer list continues a finished run where it ended.
    cycles = [int(x) for x in str(a.unet_steps).split(",")]
    total = sum(cycles)
    for step in range(start, total):
        c, local = 0, step
        while local >= cycles[c]:
            local -= cycles[c]
            c += 1
        lr = lr_at(a.lr if c == 0 else a.lr / 2, local, cycles[c],
                   300 if c == 0 else 100)
        for pg in opt.param_groups:
            pg["lr"] = lr
        idx = torch.randint(0, n, (a.batch,), generator=g)
        which = torch.randint(0, CAPTIONS_PER_SCENE, (a.batch,),
                              generator=g)
        tok = ids[idx, which]
        lab = labels[idx, which].to(DEV)
        drop = torch.rand(a.batch, generator=g) < 0.1
        tok[drop] = empty
        tok = tok.to(DEV)
        keep = (~drop).to(DEV)
        z = (torch.from_numpy(mu[idx.numpy()].astype(np.float32)) *
             scale).to(DEV)
        # Timesteps: optionally a share of each batch (--t-low-frac) from
        # the lower ones only (below --t-low-max), the rest from all
        # 1000. Above about t=400 the linear schedule leaves an SNR under
        # 0.3, where only the layout and colours are decided; the shapes'
        # edges and spikes form below it. (Tried at 0.5: no better, see
        # the model card.) The extra draws are made only when it is on,
        # so the default run keeps the random stream of the shipped one.
        t = torch.randint(0, SCHED["num_train_timesteps"], (a.batch,),
                          generator=g)
        if a.t_low_frac > 0:
            low = torch.rand(a.batch, generator=g) < a.t_low_frac
            t = torch.where(low, torch.randint(0, a.t_low_max, (a.batch,),
                                               generator=g), t)
        t = t.to(DEV)
        noise = torch.randn(z.shape, generator=g).to(DEV)
        sa = ac[t].sqrt()[:, None, None, None]
        so = (1 - ac[t]).sqrt()[:, None, None, None]
        xt = sa * z + so * noise
        target = sa * noise - so * z
        ctx = encode_text(tw, tok)
        pred = unet.forward(uw, cfg, xt, t, ctx, dtype=torch.float32)
        # Min-SNR weighting (gamma 5) in its v-prediction form, as
        # diffusers applies it: noisy steps, where the layout is decided,
        # weigh up to twice the nearly clean ones, which would otherwise
        # dominate the gradient with fine detail.
        snr = ac[t] / (1 - ac[t])
        wt = torch.clamp(snr, max=5.0) / snr + 1
        # The latent cells of the objects and their borders weigh
        # --unet-fg more: the shapes that get confused (a small square
        # and a circle, a large star and a small circle) differ in a few
        # cells of the latent, under the plain background in a mean.
        cell = 1 + a.unet_fg * masks[idx].float().to(DEV)[:, None]
        cell = cell / cell.mean()
        loss = ((pred - target) ** 2 * cell).mean((1, 2, 3)) * wt
        loss = loss.mean() / 2
        # The attribute head stays on (captions only, not the empty ones
        # of the guidance dropout), so the UNet's gradient cannot wash
        # out what the text encoder learned to say.
        al, acc = aux_loss(head, ctx[keep], tok[keep], lab[keep], eos)
        aux_acc.append(acc)
        opt.zero_grad()
        (loss + AUX_WEIGHT * al).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        d = min(a.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for k, v in list(tw.items()) + list(uw.items()):
                ema[k].mul_(d).add_(v.detach(), alpha=1 - d)
        losses.append(float(loss))
        if step % 50 == 0 or step == total - 1:
            el = time.time() - t0
            log("unet %d/%d loss %.4f text %.2f lr %.2e (%.0f s, %.2f "
                "s/step)" % (step, total, float(np.mean(losses[-50:])),
                             float(np.mean(aux_acc[-50:])), lr, el,
                             (time.time() - t_run) / (step + 1 - start)))
        if (step + 1) % 500 == 0 or step == total - 1:
            torch.save({"w": cpu(dict(list(tw.items()) +
                                      list(uw.items()))),
                        "ema": cpu(ema), "opt": opt.state_dict(),
                        "head": cpu(head),
                        "text_seconds": text_seconds,
                        "rng": g.get_state(), "losses": losses,
                        "step": step + 1, "elapsed": time.time() - t0},
                       ck + ".tmp")
            os.replace(ck + ".tmp", ck)
    log("unet: %d steps in %.0f s" % (total, time.time() - t0))


def split_ema(ema):
    """A UNet checkpoint's EMA weights as (text encoder, UNet)."""
    tw = {k: x for k, x in ema.items() if k.startswith("text_model.")}
    return tw, {k: x for k, x in ema.items() if k not in tw}


# ---------------------------------------------------------------- refine

def sample_latents(tw, uw, ids, empty, g, guidance, steps):
    """Latents the way kiln-render makes them by default: DPM++ 2M over
    the discrete v-prediction schedule (tools/reference/samplers.py, the
    engine's tested reference) with classifier-free guidance, unscaled
    back to the autoencoder's units."""
    cfg = unet_config()
    sched = samplers.Schedule(SCHED["beta_schedule"], "v",
                              SCHED["num_train_timesteps"],
                              SCHED["beta_start"], SCHED["beta_end"])
    sigmas = sched.get_sigmas(steps)
    n = len(ids)
    with torch.no_grad():
        ctx = encode_text(tw, torch.cat([ids, empty[None]]).to(DEV))
        ctx = torch.cat([ctx[:n], ctx[n:].expand(n, -1, -1)])

        def model(x, t):
            v = unet.forward(uw, cfg, torch.cat([x, x]),
                             torch.full((2 * n,), t, device=DEV), ctx,
                             dtype=torch.float32)
            c, u = v[:n], v[n:]
            return u + guidance * (c - u)
        x = torch.randn((n, VAE["latent"], 16, 16), generator=g).to(DEV) * \
            float(sigmas[0])
        x = samplers.sample_dpmpp_2m(samplers.Denoiser(sched, model), x,
                                     sigmas, lambda i: False)
    return x


_SHAPE_GEOMETRY = {}
# How far fit_spec lets an object's extent stray from its size word's:
# 10% keeps small (0.58 of a cell) and large (0.82) clear of the 0.70
# that tells them apart, while a sample drawn a little larger or smaller
# than the scenes' own 4% jitter keeps its edges where it drew them
# (clamped to the jitter itself, the refined decoder drew 24 rather than
# 31 of 69 square counts right on the tuning prompts).
FIT_SIZE = 0.10


def shape_geometry(shape):
    """(area, centroid x, centroid y) of a shape of extent 1 rendered at
    the origin, measured on a fine grid: how a drawn blob's area and
    centroid give back the extent and centre the renderer takes."""
    if shape not in _SHAPE_GEOMETRY:
        n = 600
        c = (np.arange(n) + 0.5) / n * 1.5 - 0.75
        y, x = np.meshgrid(c, c, indexing="ij")
        m = scenes.shape_mask(shape, x, y, 0.0, 0.0, 1.0)
        _SHAPE_GEOMETRY[shape] = (float(m.sum()) * (1.5 / n) ** 2,
                                  float(x[m].mean()), float(y[m].mean()))
    return _SHAPE_GEOMETRY[shape]


def fit_spec(img, spec):
    """The scene spec moved onto what an image draws: each object keeps
    its shape, colour and size but takes the centre and extent of its
    blob in the image (from the blob's coverage, as a projection from the
    background colour onto the object's, summed and centred), the extent
    kept within FIT_SIZE of its size word's and a square's or triangle's
    straight edges hinted onto the pixel grid (_hint). None unless the
    spec is one kind of object and the image shows exactly its count of
    blobs of that colour.

    The refine stage's targets: a UNet sample of "a red square" sits a
    pixel off the scene its caption came from (the scenes' jitter), and
    the per-pixel median the L1 loss learns from misaligned targets
    rounds a square's corners and cuts a star's thin spikes, the very
    pixels the judge reads. The same scene drawn where the sample put
    it is a target that only asks for sharpness."""
    objs = spec["objects"]
    kind = {(o["shape"], o["colour"], o["size"]) for o in objs}
    if len(kind) != 1:
        return None
    shape, colour, size = kind.pop()
    img = np.asarray(img, np.float64)[:, :, :3]
    bg = np.asarray(scenes.PALETTE[spec["background"]], np.float64)
    d = np.asarray(scenes.PALETTE[colour], np.float64) - bg
    alpha = np.clip((img - bg) @ d / float(d @ d), 0.0, 1.0)
    blobs = [b for b in judge.components(alpha >= 0.25) if len(b[0]) >= 6]
    if len(blobs) != len(objs):
        return None
    h, w = alpha.shape
    cell = w / 3.0
    nominal = scenes.SIZE_FRAC[size] * cell
    area, ox, oy = shape_geometry(shape)
    out = []
    for (ys, xs), o in zip(blobs, objs):
        # The blob and a ring of one pixel: its faint anti-aliased rim.
        m = np.zeros((h + 2, w + 2), bool)
        for dy in (0, 1, 2):
            for dx in (0, 1, 2):
                m[ys + dy, xs + dx] = True
        m = m[1:-1, 1:-1]
        yy, xx = np.nonzero(m)
        a = alpha[yy, xx]
        s = math.sqrt(a.sum() / area)
        cx = (a * (xx + 0.5)).sum() / a.sum() - ox * s
        cy = (a * (yy + 0.5)).sum() / a.sum() - oy * s
        scale = s / nominal
        if not 0.7 <= scale <= 1.4:
            return None
        # The size stays one the caption's word covers: within FIT_SIZE
        # of the word's own, a sample drawn between small and large is
        # taught the nearest size its caption allows.
        scale = min(max(scale, 1 - FIT_SIZE), 1 + FIT_SIZE)
        if shape in ("square", "triangle"):
            cx, cy, scale = _hint(shape, cx, cy, scale, nominal)
        out.append(dict(o, cell=[0, 0], dx=cx / cell - 0.5,
                        dy=cy / cell - 0.5, scale=scale))
    return dict(spec, objects=out)


def _hint(shape, cx, cy, scale, nominal):
    """Straight edges moved onto pixel boundaries, as font hinting does:
    a square's four sides and a triangle's base. An edge that cuts a row
    of pixels near half way leaves them at about half coverage, where a
    decoder's smallest error decides whether they count as the shape,
    and a square with a ragged side reads as a rounded one (the judge
    calls a blob a square when it fills 0.925 of its bounding box). On
    the grid the pixels are whole or empty. The extent becomes a whole
    number of pixels within FIT_SIZE of the size word's."""
    lo = math.ceil(nominal * (1 - FIT_SIZE))
    hi = math.floor(nominal * (1 + FIT_SIZE))
    s = min(max(round(scale * nominal), lo), hi)
    h = s / 2.0
    if shape == "square":
        cx = round(cx - h) + h
    cy = round(cy + h) - h
    return cx, cy, s / nominal


def fit_targets(a, w, cfg, lat, pick, targets):
    """Refine's targets moved onto the UNet's samples (fit_spec), in
    place: each sampled latent decoded, its scene's objects re-drawn where
    the decoded blobs are. A sample that does not show its scene's objects
    keeps the scene's own image."""
    specs = unet_specs(a)
    with torch.no_grad():
        drawn = np.concatenate([from_unit(vae.decode(w, cfg, torch.from_numpy(
            lat[i:i + 256].astype(np.float32)).to(DEV)))
            for i in range(0, len(lat), 256)])
    n = 0
    for i, p in enumerate(pick):
        spec = fit_spec(drawn[i], specs[p])
        if spec is not None:
            targets[i] = scenes.render(spec)
            n += 1
    log("refine: %d of %d targets fitted to the samples" % (n, len(pick)))


def stage_refine(a):
    """Fine-tunes the decoder on what the UNet draws: latents sampled
    from the trained text encoder and UNet (DPM++ 2M, the default steps
    and guidance) for captions that name every attribute, each paired
    with its scene redrawn where the sample put it (fit_targets; the
    scene's own image with --refine-fit 0), half of every batch still
    the encoder's latents of the autoencoder's scenes so plain decoding
    is kept. The UNet's latents sit a little off the encoder's, and the
    decoder turns them into soft blobs; this teaches it to draw the
    clean shape they stand for (a refiner, still an AutoencoderKL
    decoder, grown by --refine-layers). The shapes' outlines weigh
    --refine-edge more in the loss: corners and spikes are what the
    UNet's latents blur most; on the background side --refine-edge-bg
    times that (shape_weights says why)."""
    out = os.path.join(a.work, "vae-ref.pt")
    if os.path.exists(out) or a.refine_steps == 0:
        log("refine: cached in %s" % a.work)
        return
    v = load(os.path.join(a.work, "vae-dec.pt"))
    s = load(os.path.join(a.work, "unet-ckpt.pt"))
    tw, uw = split_ema({k: x.to(DEV) for k, x in s["ema"].items()})
    with open(os.path.join(a.work, "tokenizer", "vocab.json")) as f:
        empty = torch.tensor(bpe.Tokenizer(json.load(f), []).window(""))
    ids = np.load(os.path.join(a.work, "ids.npy"))
    labels = np.load(os.path.join(a.work, "labels.npy"))
    names = [n for n, _ in AUX]
    full = (labels[..., names.index("size")] > 0) & \
        (labels[..., names.index("background")] > 0)
    g = np.random.default_rng(SEED + 10)
    scenes_ok = np.nonzero(full.any(1))[0]
    pick = np.sort(g.choice(scenes_ok, min(a.refine_samples,
                                           len(scenes_ok)), replace=False))
    caps = np.array([ids[i][np.nonzero(full[i])[0][0]] for i in pick])
    # The sampled latents are kept with a digest of the UNet and text
    # encoder that drew them and the scenes they stand for: a cache left
    # by another UNet or another --refine-samples is sampled again, not
    # silently reused.
    digest = hashlib.sha1()
    for k in sorted(s["ema"]):
        digest.update(s["ema"][k].float().numpy().tobytes())
    digest = digest.hexdigest()
    lat_path = os.path.join(a.work, "refine_lat.npz")
    lat = None
    if os.path.exists(lat_path):
        c = np.load(lat_path)
        if "unet" in c.files and str(c["unet"]) == digest and \
                np.array_equal(c["pick"], pick):
            lat = c["lat"]
    if lat is None:
        tg = torch.Generator().manual_seed(SEED + 11)
        lat, t0 = [], time.time()
        for i in range(0, len(pick), 64):
            x = sample_latents(tw, uw, torch.from_numpy(
                caps[i:i + 64].astype(np.int64)), empty, tg, DEFAULTS["cfg"],
                DEFAULTS["steps"])
            lat.append((x / v["scale"]).cpu().numpy().astype(np.float16))
            log("refine: sampled %d/%d latents (%.0f s)" %
                (i + len(x), len(pick), time.time() - t0))
        lat = np.concatenate(lat)
        np.savez(lat_path + ".tmp.npz", lat=lat, pick=pick, unet=digest)
        os.replace(lat_path + ".tmp.npz", lat_path)
    targets = np.asarray(np.load(os.path.join(a.work, "unet_images.npy"),
                                 mmap_mode="r")[pick])
    imgs = np.load(os.path.join(a.work, "images.npy"), mmap_mode="r")
    mu = np.load(os.path.join(a.work, "lat_mu.npy"), mmap_mode="r")
    cfg = vae_config(a.refine_layers)
    w, dec = trainable_decoder(dict(v, w=grow_layers(v["w"],
                                                     a.refine_layers)))
    if a.refine_fit:
        fit_targets(a, w, cfg, lat, pick, targets)
    opt = torch.optim.AdamW([w[k] for k in dec], lr=a.refine_lr,
                            weight_decay=0.0)
    half = a.vae_batch // 8
    losses = []
    t0 = time.time()
    for step in range(a.refine_steps):
        for pg in opt.param_groups:
            pg["lr"] = lr_at(a.refine_lr, step, a.refine_steps, 50)
        j = np.sort(g.integers(0, len(pick), half))
        k = np.sort(g.integers(0, len(imgs), half))
        x = to_unit(np.concatenate([targets[j], imgs[k]]))
        z = torch.from_numpy(np.concatenate([lat[j], mu[k]])
                             .astype(np.float32)).to(DEV)
        y = vae.decode(w, cfg, z)
        loss = ((y - x).abs() * shape_weights(x, x[:, :, :1, :1],
                                              a.refine_edge,
                                              a.refine_edge_bg)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
        if step % 100 == 0 or step == a.refine_steps - 1:
            log("refine %d/%d L1 %.4f (%.0f s)" %
                (step, a.refine_steps, float(np.mean(losses[-100:])),
                 time.time() - t0))
    v = dict(v, w=cpu(w), layers=a.refine_layers, refine_losses=losses,
             refine_seconds=time.time() - t0)
    torch.save(v, out + ".tmp")
    os.replace(out + ".tmp", out)


# ---------------------------------------------------------------- export

def _np(d, prefix=""):
    return {prefix + k: v.detach().float().numpy().astype(np.float32)
            for k, v in d.items()}


def loss_png(path, series, size=(480, 260)):
    """A plain line chart (log-scale loss against step) drawn with numpy,
    so the model card needs no plotting library."""
    W, H = size
    img = np.full((H, W, 3), 255, np.uint8)
    L, R, T, B = 40, W - 10, 10, H - 25
    img[T:B, L] = img[B, L:R] = 0
    colours = [(200, 40, 40), (30, 80, 235)]
    allv = np.concatenate([np.log10(np.maximum(s, 1e-6))
                           for s, _ in series])
    lo, hi = float(allv.min()), float(allv.max())
    for (s, _), col in zip(series, colours):
        s = np.asarray(s, np.float64)
        k = max(1, len(s) // (R - L))
        sm = np.convolve(s, np.ones(k * 4) / (k * 4), mode="valid") \
            if len(s) > k * 4 else s
        y = np.log10(np.maximum(sm, 1e-6))
        xs = L + 1 + np.arange(len(y)) * (R - L - 2) / max(1, len(y) - 1)
        ys = B - 1 - (y - lo) / max(hi - lo, 1e-9) * (B - T - 2)
        for i in range(1, len(y)):
            n = int(max(abs(xs[i] - xs[i - 1]), abs(ys[i] - ys[i - 1]))) + 1
            for f in np.linspace(0, 1, n):
                px = int(round(xs[i - 1] + f * (xs[i] - xs[i - 1])))
                py = int(round(ys[i - 1] + f * (ys[i] - ys[i - 1])))
                img[py, px] = col
    # decade ticks on the y axis
    for d in range(int(math.floor(lo)), int(math.ceil(hi)) + 1):
        if lo <= d <= hi:
            py = int(round(B - 1 - (d - lo) / max(hi - lo, 1e-9) *
                           (B - T - 2)))
            img[py, L - 6:L] = 0
    scenes.write_png(path, img)


def preview_map(a, scale, n=2000):
    """The linear latent-to-RGB map kilnd's live previews use (kiln.json
    "preview"): least squares from the scaled latents of n training
    scenes to their images averaged over each latent's 4x4 pixels, in
    [-1, 1]."""
    imgs = np.load(os.path.join(a.work, "images.npy"), mmap_mode="r")[:n]
    mu = np.load(os.path.join(a.work, "lat_mu.npy"),
                 mmap_mode="r")[:n].astype(np.float64) * scale
    c, h, w = mu.shape[1:]
    f = imgs.shape[1] // h
    pooled = imgs.astype(np.float64).reshape(len(imgs), h, f, w, f, 3) \
        .mean(axis=(2, 4)) / 127.5 - 1
    x = np.concatenate([mu.transpose(0, 2, 3, 1).reshape(-1, c),
                        np.ones((len(imgs) * h * w, 1))], axis=1)
    sol = np.linalg.lstsq(x, pooled.reshape(-1, 3), rcond=None)[0]
    return {"factors": [[round(float(v), 5) for v in row]
                        for row in sol[:c]],
            "bias": [round(float(v), 5) for v in sol[c]]}


def stage_export(a):
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.work, "tokenizer", "vocab.json")) as f:
        vocab = json.load(f)
    v = load([p for p in (os.path.join(a.work, n) for n in (
        "vae-ref.pt", "vae-dec.pt", "vae.pt")) if os.path.exists(p)][0])
    s = load(os.path.join(a.work, "unet-ckpt.pt"))
    ema = s["ema"]
    tw, uw = split_ema(ema)
    ucfg = unet_config()
    vcfg = checkpoint_vae_config(v)

    def part(name, tensors, config, fname):
        d = os.path.join(a.out, name)
        os.makedirs(d, exist_ok=True)
        # F16 halves the download; the engine computes in F32 either way.
        st_io.write(os.path.join(d, fname),
                    {k: x.astype(np.float16) for k, x in tensors.items()})
        if config is not None:
            with open(os.path.join(d, "config.json"), "w") as f:
                json.dump(config, f, indent=1)
                f.write("\n")

    part("text_encoder", _np(tw), {
        "architectures": ["CLIPTextModel"], "model_type": "clip_text_model",
        "vocab_size": len(vocab), "hidden_size": TEXT["hidden"],
        "intermediate_size": TEXT["inter"],
        "num_hidden_layers": TEXT["layers"],
        "num_attention_heads": TEXT["heads"],
        "max_position_embeddings": CTX, "hidden_act": "quick_gelu",
        "layer_norm_eps": 1e-5, "bos_token_id": vocab[bpe.BOS],
        "eos_token_id": vocab[bpe.EOS], "pad_token_id": vocab[bpe.EOS]},
        "model.safetensors")
    down = ["CrossAttnDownBlock2D" if x else "DownBlock2D"
            for x in ucfg.attn]
    up = ["CrossAttnUpBlock2D" if x else "UpBlock2D"
          for x in reversed(ucfg.attn)]
    part("unet", _np(uw), {
        "_class_name": "UNet2DConditionModel", "sample_size": 16,
        "in_channels": VAE["latent"], "out_channels": VAE["latent"],
        "block_out_channels": list(ucfg.ch), "layers_per_block": 1,
        "down_block_types": down, "up_block_types": up,
        "mid_block_type": "UNetMidBlock2DCrossAttn",
        "attention_head_dim": ucfg.heads, "cross_attention_dim":
        ucfg.ctx_dim, "norm_num_groups": ucfg.groups,
        "use_linear_projection": True, "flip_sin_to_cos": True,
        "freq_shift": 0}, "diffusion_pytorch_model.safetensors")
    part("vae", _np(v["w"]), {
        "_class_name": "AutoencoderKL", "in_channels": 3,
        "out_channels": 3, "latent_channels": vcfg["latent_channels"],
        "block_out_channels": vcfg["block_out_channels"],
        "layers_per_block": vcfg["layers_per_block"],
        "norm_num_groups": vcfg["norm_num_groups"],
        "down_block_types": ["DownEncoderBlock2D"] *
        len(vcfg["block_out_channels"]),
        "up_block_types": ["UpDecoderBlock2D"] *
        len(vcfg["block_out_channels"]),
        "sample_size": 64, "scaling_factor": round(v["scale"], 6)},
        "diffusion_pytorch_model.safetensors")
    sd = os.path.join(a.out, "scheduler")
    os.makedirs(sd, exist_ok=True)
    with open(os.path.join(sd, "scheduler_config.json"), "w") as f:
        json.dump(dict(SCHED, _class_name="DDIMScheduler",
                       clip_sample=False, set_alpha_to_one=False,
                       steps_offset=1, timestep_spacing="leading"), f,
                  indent=1)
        f.write("\n")
    td = os.path.join(a.out, "tokenizer")
    os.makedirs(td, exist_ok=True)
    for fn in ("vocab.json", "merges.txt"):
        with open(os.path.join(a.work, "tokenizer", fn), "rb") as src, \
                open(os.path.join(td, fn), "wb") as dst:
            dst.write(src.read())
    with open(os.path.join(td, "special_tokens_map.json"), "w") as f:
        json.dump({"bos_token": bpe.BOS, "eos_token": bpe.EOS,
                   "pad_token": bpe.EOS, "unk_token": bpe.EOS}, f)
        f.write("\n")
    with open(os.path.join(a.out, "kiln.json"), "w") as f:
        json.dump({"description": "kiln's embedded default model: one to "
                   "three flat circles, squares, triangles or stars of one "
                   "colour (11 colours) on a plain background, 64x64.",
                   "defaults": DEFAULTS, "examples": EXAMPLES,
                   "preview": preview_map(a, v["scale"])}, f,
                  indent=1)
        f.write("\n")
    with open(os.path.join(a.out, "model_index.json"), "w") as f:
        json.dump({"_class_name": "StableDiffusionPipeline",
                   "text_encoder": ["transformers", "CLIPTextModel"],
                   "tokenizer": ["transformers", "CLIPTokenizer"],
                   "unet": ["diffusers", "UNet2DConditionModel"],
                   "vae": ["diffusers", "AutoencoderKL"],
                   "scheduler": ["diffusers", "DDIMScheduler"]}, f,
                  indent=1)
        f.write("\n")
    loss_png(os.path.join(a.out, "loss.png"),
             [(s["losses"], "unet"), (v["losses"], "vae")])
    stats = {"unet_steps": s["step"], "unet_seconds": round(s["elapsed"]),
             "text_seconds": round(s.get("text_seconds", 0)),
             "vae_seconds": round(v.get("seconds", 0)),
             "text_params": sum(x.numel() for x in tw.values()),
             "unet_params": sum(x.numel() for x in uw.values()),
             "vae_params": sum(x.numel() for x in v["w"].values()),
             "final_unet_loss": float(np.mean(s["losses"][-200:])),
             "final_vae_rec": float(np.mean(v["losses"][-200:]))}
    with open(os.path.join(a.work, "stats.json"), "w") as f:
        json.dump(stats, f, indent=1)
    log("exported to %s: %s" % (a.out, stats))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", default="build/train")
    ap.add_argument("--out", default="models/kiln-micro")
    ap.add_argument("--scenes", type=int, default=40000)
    ap.add_argument("--vae-steps", type=int, default=2500)
    ap.add_argument("--vae-batch", type=int, default=32)
    ap.add_argument("--decoder-steps", default="4000,6000")
    ap.add_argument("--unet-steps", default="5000")
    ap.add_argument("--text-steps", type=int, default=800,
                    help="steps of the text encoder alone first")
    ap.add_argument("--t-low-frac", type=float, default=0.0)
    ap.add_argument("--t-low-max", type=int, default=400)
    ap.add_argument("--unet-fg", type=float, default=4.0,
                    help="extra loss weight of the latent cells that "
                    "show an object")
    ap.add_argument("--refine-samples", type=int, default=2048)
    ap.add_argument("--refine-steps", type=int, default=8000)
    ap.add_argument("--refine-lr", type=float, default=1e-3)
    ap.add_argument("--refine-layers", type=int, default=2,
                    help="ResNets per autoencoder level after refine "
                    "(grow_layers; the vae and decoder stages train %d)" %
                    VAE["layers"])
    ap.add_argument("--refine-fit", type=int, default=1,
                    help="1: refine's targets are the scenes re-drawn where "
                    "the UNet's samples put their objects (fit_spec); 0: "
                    "the scenes' own images")
    ap.add_argument("--refine-edge", type=float, default=20.0,
                    help="extra loss weight of the shapes' outline pixels "
                    "in the refine stage")
    ap.add_argument("--refine-edge-bg", type=float, default=3.0,
                    help="outline pixels on the background side weigh "
                    "this times --refine-edge")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=8e-4)
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"],
                    default="auto",
                    help="auto: CUDA when torch has a GPU, else the CPU")
    ap.add_argument("stages", nargs="*",
                    default=["data", "vae", "decoder", "unet", "refine",
                             "export"])
    a = ap.parse_args()
    global DEV
    DEV = torch.device("cuda" if a.device == "cuda" or (
        a.device == "auto" and torch.cuda.is_available()) else "cpu")
    torch.set_num_threads(a.threads)
    torch.manual_seed(SEED)
    vae.DTYPE = torch.float32
    os.makedirs(a.work, exist_ok=True)
    for st in a.stages:
        {"data": stage_data, "vae": stage_vae, "decoder": stage_decoder,
         "unet": stage_unet, "refine": stage_refine,
         "export": stage_export}[st](a)


if __name__ == "__main__":
    main()
