"""The SDXL UNet on PoCL against the PyTorch reference
(tools/reference/unet.py): levels without attention, stacks of transformer
blocks, linear projections and the "text_time" added conditioning (pooled
text embedding plus six time ids, each a 256-wide sinusoid). Small random
models in float64 as a diffusers folder and as an SGM single file, the
refusals, then the full SDXL base configuration (2.57 G parameters, F16)
for one step at 256x256 with classifier-free guidance's batch of two,
plain and with two LoRAs merged (sd-scripts' SGM-named kohya file and a
diffusers / PEFT file).
Tolerance: max abs error <= 1e-4 of the output's scale."""

import collections.abc
import json
import os
import shutil
import tempfile
import warnings

import numpy as np
import torch

import engine_common as ec
import lora
import sdxl
import st_io
import unet as ref

STACK = None
TOL = 1e-4
WORK = tempfile.mkdtemp(prefix="kiln-unet-sdxl-")


def inputs(cfg, H, W, seed, L=7):
    """x, t, ctx, text_embeds, time_ids of a CFG-like batch of two with
    different time ids per row."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, cfg.in_ch, H, W, generator=g).float()
    ctx = torch.randn(2, L, cfg.ctx_dim, generator=g).float()
    te = torch.randn(2, cfg.adm_in - 6 * cfg.time_ids_dim,
                     generator=g).float()
    ids = torch.cat([sdxl.time_ids((1024, 896), (0, 64), (1024, 1024)),
                     sdxl.time_ids((8 * H, 8 * W), (0, 0),
                                   (8 * H, 8 * W))]).float()
    return x, torch.tensor([981.0, 17.0]), ctx, te, ids


def put(name, t):
    p = os.path.join(WORK, name)
    t.contiguous().numpy().astype(np.float32).tofile(p)
    return "%s=%s" % ("x".join(map(str, t.shape)), p)


def run(model, x, t, ctx, te=None, ids=None, timeout=600, loras=()):
    op = os.path.join(WORK, "o.bin")
    args = ["unet", "--model", model, "--in", put("x.bin", x),
            "--ctx", put("c.bin", ctx),
            "--t", ",".join("%g" % v for v in t.tolist()), "--out", op]
    if te is not None:
        args += ["--text-embeds", put("te.bin", te)]
    if ids is not None:
        args += ["--time-ids", put("ids.bin", ids)]
    for spec in loras:
        args += ["--lora", spec]
    p = ec.kiln_render(args, timeout=timeout)
    if p.returncode != 0:
        return None, p
    info = json.loads(p.stdout)
    return torch.from_numpy(np.fromfile(op, np.float32).reshape(
        info["shape"])), info


def want(w, cfg, x, t, ctx, te, ids, dtype=torch.float64):
    y = ref.add_embeds(te, ids, cfg.time_ids_dim, dtype)
    with torch.no_grad():
        return ref.forward(w, cfg, x, t, ctx, dtype=dtype, y=y)


def check(got, exp, what):
    err = ec.rel_err(got, exp)
    assert err <= TOL, "%s: relative error %.3g > %g" % (what, err, TOL)


def folder(name, cfg, w):
    d = os.path.join(WORK, name, "unet")
    os.makedirs(d)
    st_io.write(os.path.join(d, "diffusion_pytorch_model.safetensors"),
                {k: v.numpy() for k, v in w.items()})
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(ref.diffusers_config(cfg), f)
    return d


def test_sdxl_shape_diffusers_folder(_):
    # Heads of 32 channels: only config.json's attention_head_dim (the
    # head count, diffusers' misnomer) can say so.
    cfg = sdxl.small_unet_config()
    w = ref.random_weights(cfg, seed=21)
    d = folder("small", cfg, w)
    x, t, ctx, te, ids = inputs(cfg, 8, 12, seed=22)
    got, info = run(d, x, t, ctx, te, ids)
    assert got is not None, info.stderr
    check(got, want(w, cfg, x, t, ctx, te, ids), "small SDXL UNet")
    # The time ids matter: the second row's size swapped in for the
    # first's changes the output by far more than the tolerance.
    ids2 = ids.clone()
    ids2[0] = ids[1]
    got2, info = run(d, x, t, ctx, te, ids2)
    assert got2 is not None, info.stderr
    assert ec.rel_err(got2, got) > 100 * TOL
    check(got2, want(w, cfg, x, t, ctx, te, ids2), "other time ids")


def test_sdxl_shape_sgm_single_file(_):
    # The single-file names (label_emb, input_blocks.N.1.transformer_
    # blocks.K, the upsampler at .1.conv after a level without attention)
    # with no config.json: heads of 64 channels and 32 groups, as
    # SDXL's.
    cfg = sdxl.small_sgm_unet_config()
    w = ref.random_weights(cfg, seed=23)
    path = os.path.join(WORK, "sgm.safetensors")
    st_io.write(path, {"model.diffusion_model." + k: v.numpy()
                       for k, v in ref.to_ldm(w, cfg).items()})
    x, t, ctx, te, ids = inputs(cfg, 8, 8, seed=24, L=5)
    got, info = run(path, x, t, ctx, te, ids)
    assert got is not None, info.stderr
    check(got, want(w, cfg, x, t, ctx, te, ids), "SGM-named SDXL UNet")


def test_added_conditioning_is_required_and_checked(_):
    cfg = sdxl.small_unet_config()
    w = ref.random_weights(cfg, seed=25)
    d = folder("refuse", cfg, w)
    x, t, ctx, te, ids = inputs(cfg, 8, 8, seed=26)
    got, p = run(d, x, t, ctx)
    assert got is None and "added conditioning" in p.stderr, p.stderr
    got, p = run(d, x, t, ctx, te[:, :-1], ids)
    assert got is None and "text_embeds [N, P]" in p.stderr, p.stderr
    got, p = run(d, x, t, ctx, te, ids[:, :5])
    assert got is None and "time_ids [N, K]" in p.stderr, p.stderr
    # And an SD 1.x UNet refuses them.
    c1 = ref.Config(ch=(32, 64), layers=1, attn=(True, False), heads=2,
                    ctx_dim=16, groups=8)
    d1 = folder("sd1", c1, ref.random_weights(c1, seed=27))
    x1 = torch.randn(2, 4, 8, 8)
    c = torch.randn(2, 7, 16)
    got, p = run(d1, x1, t, c, te, ids)
    assert got is None and "without an add_embedding" in p.stderr, p.stderr


FULL = {}


def full_model():
    """SDXL base's UNet as a diffusers folder of F16 weights, as
    released, written once per run (5.1 GB), and its tensors mapped from
    the file (still F16: the reference widens each where used)."""
    if not FULL:
        cfg = ref.sdxl_config()
        d = os.path.join(WORK, "full", "unet")
        os.makedirs(d)
        st = os.path.join(d, "diffusion_pytorch_model.safetensors")
        n = ref.write_random(st, cfg, seed=31)
        assert n == ref.SDXL_PARAMS, n
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(ref.diffusers_config(cfg), f)
        arrays, _ = st_io.read(st)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            FULL.update(cfg=cfg, dir=d, w={
                k: torch.from_numpy(np.asarray(v))
                for k, v in arrays.items()})
    return FULL["cfg"], FULL["dir"], FULL["w"]


def test_full_sdxl_unet_step_at_256(_):
    # The reference runs in float32 on the same rounded weights.
    cfg, d, w = full_model()
    x, t, ctx, te, ids = inputs(cfg, 32, 32, seed=32, L=77)
    got, info = run(d, x, t, ctx, te, ids, timeout=1200)
    assert got is not None, info.stderr
    # F16 weights stay F16 on the device: 5.1 GB, not the 10.3 of F32.
    assert info["peak_bytes"] < 6.5e9, info
    check(got, want(w, cfg, x, t, ctx, te, ids, dtype=torch.float32),
          "SDXL base UNet at 256x256")


class Merged(collections.abc.Mapping):
    """The base weights with LoRA patches merged as kiln merges them into
    a float16 model: W + the sum of the deltas in float32, rounded to
    float16 once; computed per weight when the reference asks for it, so
    the full model never sits in memory twice."""

    def __init__(self, base, patches):
        self.base, self.patches = base, patches

    def __getitem__(self, k):
        v = self.base[k]
        if k not in self.patches:
            return v
        W = v.float()
        for mod, tgt, s in self.patches[k]:
            W = W + lora.delta(mod, tgt, s, torch.float32).reshape(W.shape)
        return W.half().float()

    def __iter__(self):
        return iter(self.base)

    def __len__(self):
        return len(self.base)


def test_full_sdxl_unet_with_a_kohya_and_a_peft_lora(_):
    # Two LoRAs at once on every attention and feed-forward layer: an
    # sd-scripts SDXL file (SGM names, alpha 2 over rank 4) at 0.7 and a
    # diffusers / PEFT one (lora_alpha 8 over r 4 from its metadata) at
    # -0.4, through kiln-render unet --lora.
    cfg, d, w = full_model()
    layout = lora.Layout(cfg, [], True)
    a = lora.random_kohya(layout, rank=4, alpha=2.0, seed=41)
    assert any(k.startswith("lora_unet_input_blocks_7_1_transformer_"
                            "blocks_9_") for k in a), sorted(a)[:4]
    meta = {"lora_adapter_metadata": json.dumps({
        "unet.r": 4, "unet.lora_alpha": 8})}
    b = lora.kohya_to_peft(lora.random_kohya(layout, rank=4, alpha=None,
                                             seed=42), layout)
    files = []
    for name, sd, md in (("a-kohya", a, None), ("b-peft", b, meta)):
        path = os.path.join(WORK, name + ".safetensors")
        lora.save(path, sd, metadata=md)
        files.append(path)
    patches = {}
    for sd, md, mult in ((lora.load(files[0])[0], None, 0.7),
                         (lora.load(files[1])[0], meta, -0.4)):
        for mod, tgt, s in lora.resolve(sd, layout, md, mult):
            key = tgt.diffusers[len("unet."):]
            patches.setdefault(key, []).append((mod, tgt, s))
    assert len(patches) > 700, len(patches)
    x, t, ctx, te, ids = inputs(cfg, 32, 32, seed=43, L=77)
    got, info = run(d, x, t, ctx, te, ids, timeout=1800,
                    loras=[files[0] + ":0.7", files[1] + ":-0.4"])
    assert got is not None, info.stderr
    exp = want(Merged(w, patches), cfg, x, t, ctx, te, ids,
               dtype=torch.float32)
    check(got, exp, "SDXL base UNet with two LoRAs at 256x256")
    # The patches matter far beyond the tolerance.
    assert ec.rel_err(got, want(w, cfg, x, t, ctx, te, ids,
                                dtype=torch.float32)) > 100 * TOL
    FULL.clear()
    shutil.rmtree(WORK, ignore_errors=True)
