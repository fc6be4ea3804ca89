"""LoRA on PoCL against the PyTorch reference (tools/reference/lora.py,
unet.py, clip.py, sdxl.py) on small random models: the engine merges
W + multiplier * alpha / rank * up @ down into the device weights; the
reference runs the unmerged path (base(x) + scale * up(down(x))) in
float64. Covered: two LoRAs at once on a UNet (kohya with alpha, PEFT with
lora_adapter_metadata and an alpha_pattern) through `kiln-render unet
--lora`; LoCon (3x3 down, 1x1 up) on every Linear and Conv of an SD 1.x
and an SDXL single file's UNet under SGM names; text-encoder LoRAs
(lora_te_, PEFT .alpha tensors) and SDXL's two encoders (lora_te1_,
lora_te2_ on bigG's packed q, k, v rows) through `kiln-render encode-text
--lora`; which weight each module of an SDXL LoRA patches, in every
spelling, against lora.py's index (`kiln-render lora-targets`, no
device); the errors (a LoRA for another model, a truncated file, a shape
mismatch, LoHa); and a render that takes a LoRA off again giving the
exact bytes it gave before.
Tolerance: max abs error <= 1e-4 of the output's scale."""

import json
import os
import tempfile

import numpy as np
import torch

import engine_common as ec
import harness
import clip as clip_ref
import lora
import sdxl
import st_io
import unet as ref

STACK = None
TOL = 1e-4
WORK = tempfile.mkdtemp(prefix="kiln-lora-")
_cache = {}


check = ec.check
far = ec.far


def save(name, sd, metadata=None, dtype=np.float16):
    """Writes a LoRA and reads it back: the reference uses the values the
    engine reads (float16-rounded)."""
    path = os.path.join(WORK, name + ".safetensors")
    lora.save(path, sd, dtype=dtype, metadata=metadata)
    return path, lora.load(path)[0]


def combined(loras, layout, component):
    """{module: (down, up, 1)} of several LoRAs at once for the reference's
    `lora` argument: the factors side by side along the rank, each up
    scaled by its module's scale (lora.resolve), so that one unmerged
    branch computes the sum of the patches. loras: (sd, metadata,
    multiplier) triples."""
    parts = {}
    for sd, meta, mult in loras:
        for mod, t, s in lora.resolve(sd, layout, meta, mult):
            if t.component != component:
                continue
            r = mod.rank
            d = mod.down.double().reshape(r, -1)
            u = mod.up.double().reshape(mod.up.shape[0], r) * s
            parts.setdefault(t.module, []).append((d, u, t.shape))
    out = {}
    for m, lst in parts.items():
        d = torch.cat([x[0] for x in lst], 0)
        u = torch.cat([x[1] for x in lst], 1)
        shape = lst[0][2]
        if len(shape) == 4:
            d = d.reshape(d.shape[0], *shape[1:])
            u = u[:, :, None, None]
        out[m] = (d, u, 1.0)
    return out


# ------------------------------------------------------------- the UNet

SD1 = dict(ch=(32, 64), layers=1, attn=(True, False), heads=2, ctx_dim=16,
           groups=8)
# A single file carries no config: SD's 32 groups and heads of 64
# channels are what the shapes imply.
SD1_FILE = dict(ch=(64, 128), layers=1, attn=(True, False), heads=(1, 2),
                ctx_dim=16, groups=32)


def sd1_unet(seed, single_file=False):
    """A small SD 1.x-shaped UNet (F32), as a diffusers folder or an LDM
    single file: (cfg, weights, path)."""
    key = ("unet", seed, single_file)
    if key in _cache:
        return _cache[key]
    cfg = ref.Config(**(SD1_FILE if single_file else SD1))
    w = ref.random_weights(cfg, seed=seed)
    if single_file:
        path = os.path.join(WORK, "unet-%d.safetensors" % seed)
        st_io.write(path, {"model.diffusion_model." + k: v.numpy()
                           for k, v in ref.to_ldm(w, cfg).items()})
    else:
        path = os.path.join(WORK, "unet-%d" % seed, "unet")
        os.makedirs(path)
        st_io.write(os.path.join(path,
                                 "diffusion_pytorch_model.safetensors"),
                    {k: v.numpy() for k, v in w.items()})
        with open(os.path.join(path, "config.json"), "w") as f:
            json.dump(ref.diffusers_config(cfg), f)
    _cache[key] = cfg, w, path
    return _cache[key]


def inputs(cfg, seed, N=2, H=8, W=8, Lc=7):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(N, cfg.in_ch, H, W, generator=g).float()
    ctx = torch.randn(N, Lc, cfg.ctx_dim, generator=g).float()
    t = torch.tensor([981.0, 250.5][:N])
    return x, t, ctx


def put(name, t):
    p = os.path.join(WORK, name)
    t.contiguous().numpy().astype(np.float32).tofile(p)
    return "%s=%s" % ("x".join(map(str, t.shape)), p)


def run_unet(model, x, t, ctx, loras=(), ok=True, added=None):
    op = os.path.join(WORK, "o.bin")
    args = ["unet", "--model", model, "--in", put("x.bin", x),
            "--ctx", put("c.bin", ctx),
            "--t", ",".join("%g" % v for v in t.tolist()), "--out", op]
    if added is not None:
        args += ["--text-embeds", put("te.bin", added[0]),
                 "--time-ids", put("ids.bin", added[1])]
    for spec in loras:
        args += ["--lora", spec]
    p = ec.kiln_render(args)
    if not ok:
        return p
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    return torch.from_numpy(np.fromfile(op, np.float32).reshape(
        out["shape"]))


def sd1_layout(cfg):
    return lora.sd1_layout(cfg, {"hidden": 64, "inter": 128, "layers": 2})


def test_two_loras_on_a_unet_kohya_and_peft(_):
    cfg, w, path = sd1_unet(1)
    layout = sd1_layout(cfg)
    # kohya, alpha 2 over rank 4: scale 0.5; the attention layers, the
    # resnets' 1x1 shortcut and time projection (no LoCon).
    a_path, a = save("a-kohya", lora.random_kohya(
        layout, rank=4, alpha=2.0, seed=11, components=("unet",)))
    # PEFT without alpha tensors: lora_alpha 8 over r 4 (scale 2), and
    # 1 / 4 for the attn2.to_k layers by alpha_pattern.
    meta = {"lora_adapter_metadata": json.dumps({
        "unet.r": 4, "unet.lora_alpha": 8,
        "unet.alpha_pattern": {"attn2.to_k": 1.0},
        "unet.use_rslora": False})}
    b_path, b = save("b-peft", lora.kohya_to_peft(lora.random_kohya(
        layout, rank=4, alpha=None, seed=12, components=("unet",)),
        layout), metadata=meta)
    assert any(k.startswith("unet.") and k.endswith(".lora_A.weight")
               for k in b)
    x, t, ctx = inputs(cfg, seed=2)
    got = run_unet(path, x, t, ctx, [a_path + ":0.7", b_path + ":-0.4"])
    hooks = combined([(a, None, 0.7), (b, meta, -0.4)], layout, "unet")
    check(got, ref.forward(w, cfg, x, t, ctx, lora=hooks),
          "kohya 0.7 + PEFT -0.4")
    far(got, ref.forward(w, cfg, x, t, ctx), "without the LoRAs")
    # The alpha_pattern counts: the metadata's plain alpha is off.
    meta_flat = {"lora_adapter_metadata": json.dumps({
        "unet.r": 4, "unet.lora_alpha": 8})}
    hooks_flat = combined([(a, None, 0.7), (b, meta_flat, -0.4)], layout,
                          "unet")
    far(got, ref.forward(w, cfg, x, t, ctx, lora=hooks_flat),
        "without the alpha_pattern")


def test_locon_on_every_layer_under_sgm_names(_):
    # sd-scripts names SDXL modules by their SGM paths; kiln takes that
    # spelling for every model (here an SD 1.x single file), and LoCon's
    # 3x3 down factors on every convolution (conv_in, the resnets, the
    # strided downsampler, the upsampler, conv_out).
    cfg, w, path = sd1_unet(3, single_file=True)
    layout = lora.Layout(cfg, [], True)
    sd = lora.random_kohya(layout, rank=3, conv_rank=2, alpha=1.5, seed=13,
                           select=lambda t: True)
    assert "lora_unet_input_blocks_2_0_op.lora_down.weight" in sd
    assert tuple(sd["lora_unet_input_blocks_1_0_in_layers_2.lora_down."
                    "weight"].shape) == (2, 64, 3, 3)
    p, sd = save("locon-sgm", sd)
    x, t, ctx = inputs(cfg, seed=4)
    got = run_unet(path, x, t, ctx, [p + ":0.8"])
    hooks = combined([(sd, None, 0.8)], layout, "unet")
    assert "down_blocks.0.downsamplers.0.conv" in hooks
    assert "conv_in" in hooks and "time_embedding.linear_1" in hooks
    check(got, ref.forward(w, cfg, x, t, ctx, lora=hooks), "LoCon, SGM")
    far(got, ref.forward(w, cfg, x, t, ctx), "without the LoCon")


def test_f16_weights_take_the_patch_rounded_once(_):
    # A float16 model stays float16 on the device: the merged weight is
    # W + delta in float32, rounded once, as A1111 merges into an fp16
    # model. The reference merges the same way (lora.merge) and runs
    # that.
    cfg = ref.Config(**SD1)
    w = ref.random_weights(cfg, seed=5)
    d = os.path.join(WORK, "f16", "unet")
    os.makedirs(d)
    st_io.write(os.path.join(d, "diffusion_pytorch_model.safetensors"),
                {k: v.numpy().astype(np.float16) for k, v in w.items()})
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(ref.diffusers_config(cfg), f)
    w16 = {k: torch.from_numpy(v.numpy().astype(np.float16)
                               .astype(np.float32)) for k, v in w.items()}
    layout = sd1_layout(cfg)
    p, sd = save("f16-lora", lora.random_kohya(layout, rank=4, alpha=4.0,
                                               seed=14,
                                               components=("unet",)))
    merged = lora.merge({"unet." + k: v for k, v in w16.items()}, sd,
                        layout, multiplier=0.9, dtype=torch.float32)
    w_m = {k[len("unet."):]: torch.from_numpy(
        v.numpy().astype(np.float16).astype(np.float32))
        for k, v in merged.items()}
    x, t, ctx = inputs(cfg, seed=6)
    got = run_unet(d, x, t, ctx, [p + ":0.9"])
    check(got, ref.forward(w_m, cfg, x, t, ctx), "F16 merged")
    far(got, ref.forward(w16, cfg, x, t, ctx), "F16 without the LoRA")


def test_sdxl_unet_with_an_sgm_named_locon(_):
    # sd-scripts' SDXL names (input_blocks_4_1_transformer_blocks_1_...,
    # label_emb_0_0, output_blocks_2_1_conv after a level without
    # attention) on every Linear and Conv of an SDXL-shaped single file:
    # stacked transformer blocks and the added embedding included.
    cfg = sdxl.small_sgm_unet_config()
    w = ref.random_weights(cfg, seed=26)
    path = os.path.join(WORK, "sdxl-unet.safetensors")
    st_io.write(path, {"model.diffusion_model." + k: v.numpy()
                       for k, v in ref.to_ldm(w, cfg).items()})
    layout = lora.Layout(cfg, [], True)
    p, sd = save("sdxl-locon", lora.random_kohya(
        layout, rank=3, conv_rank=2, alpha=1.0, seed=27,
        select=lambda t: True))
    assert "lora_unet_label_emb_0_0.lora_down.weight" in sd
    assert "lora_unet_input_blocks_4_1_transformer_blocks_1_attn2_to_k." \
        "lora_up.weight" in sd
    g = torch.Generator().manual_seed(28)
    x = torch.randn(2, cfg.in_ch, 8, 8, generator=g)
    ctx = torch.randn(2, 7, cfg.ctx_dim, generator=g)
    te = torch.randn(2, 16, generator=g)
    ids = torch.cat([sdxl.time_ids((1024, 896), (0, 64), (1024, 1024)),
                     sdxl.time_ids((64, 64), (0, 0), (64, 64))]).float()
    t = torch.tensor([981.0, 17.0])
    got = run_unet(path, x, t, ctx, [p + ":0.6"], added=(te, ids))
    y = ref.add_embeds(te, ids, cfg.time_ids_dim)
    hooks = combined([(sd, None, 0.6)], layout, "unet")
    check(got, ref.forward(w, cfg, x, t, ctx, y=y, lora=hooks),
          "SDXL UNet with an SGM-named LoCon")
    far(got, ref.forward(w, cfg, x, t, ctx, y=y), "without it")


# ------------------------------------------------------ text encoders

TE = dict(vocab=1000, hidden=128, layers=2, inter=256, max_pos=77)


def sd1_text_model():
    """An SD 1.x single file holding a text encoder (heads of 64
    channels, which a single file implies)."""
    if "te" not in _cache:
        w = clip_ref.random_weights(**TE, seed=31)
        path = os.path.join(WORK, "sd1-text.safetensors")
        st_io.write(path, {"cond_stage_model.transformer." + k: v
                           for k, v in clip_ref.as_numpy(w).items()})
        _cache["te"] = w, path
    return _cache["te"]


def encode(model, ids, loras, ids2=None):
    out = os.path.join(WORK, "ctx.bin")
    args = ["encode-text", "--model", model, "--out", out, "--ids",
            ";".join(",".join(str(int(v)) for v in r) for r in ids)]
    if ids2 is not None:
        args += ["--ids2", ";".join(",".join(str(int(v)) for v in r)
                                    for r in ids2)]
    for spec in loras:
        args += ["--lora", spec]
    p = ec.kiln_render(args)
    assert p.returncode == 0, p.stderr
    info = json.loads(p.stdout)
    return torch.from_numpy(np.fromfile(out, np.float32).reshape(
        info["shape"]))


def te_layout():
    return lora.sd1_layout(ref.Config(**SD1), {
        "hidden": TE["hidden"], "inter": TE["inter"],
        "layers": TE["layers"]})


def test_text_encoder_loras_kohya_and_peft_alpha_tensors(_):
    w, path = sd1_text_model()
    layout = te_layout()
    a_path, a = save("te-kohya", lora.random_kohya(
        layout, rank=4, alpha=1.0, seed=15, components=("text_encoder",)))
    assert any(k.startswith("lora_te_text_model_encoder_layers_1_") for k in a)
    # PEFT naming with <component>.<module>.alpha tensors (sd.cpp and
    # ComfyUI honour them; diffusers' loader would not).
    b_path, b = save("te-peft", lora.kohya_to_peft(lora.random_kohya(
        layout, rank=2, alpha=3.0, seed=16, components=("text_encoder",)),
        layout, fold_alpha=False))
    assert any(k.endswith(".alpha") and k.startswith("text_encoder.")
               for k in b)
    g = torch.Generator().manual_seed(7)
    ids = torch.randint(0, TE["vocab"], (2, 77), generator=g)
    got = encode(path, ids, [a_path + ":1.2", b_path + ":0.5"])
    hooks = combined([(a, None, 1.2), (b, None, 0.5)], layout,
                     "text_encoder")
    want = clip_ref.final_norm(w, clip_ref.hidden_states(
        w, ids, 2, lora=hooks)[-1])
    check(got, want, "text encoder, kohya + PEFT")
    far(got, clip_ref.forward(w, ids, 2), "text encoder without LoRAs")


def test_text_weight_and_unet_weight_are_separate(_):
    # FILE:TE:UNET: the third number multiplies the UNet's modules only.
    w, path = sd1_text_model()
    layout = te_layout()
    p, sd = save("te-only", lora.random_kohya(
        layout, rank=4, alpha=2.0, seed=17, components=("text_encoder",)))
    g = torch.Generator().manual_seed(8)
    ids = torch.randint(0, TE["vocab"], (1, 77), generator=g)
    got = encode(path, ids, [p + ":0.3:5"])
    hooks = combined([(sd, None, 0.3)], layout, "text_encoder")
    check(got, clip_ref.final_norm(w, clip_ref.hidden_states(
        w, ids, 2, lora=hooks)[-1]), "te weight 0.3, unet weight 5")


SL = dict(vocab=1000, hidden=128, layers=3, inter=256, max_pos=77, heads=2,
          act="quick_gelu")
SG = dict(vocab=1000, hidden=192, layers=3, inter=384, max_pos=77, heads=3,
          act="gelu", projection=160)


def sdxl_text_model():
    """SDXL's two text encoders as an SGM single file (bigG under
    OpenCLIP names: q, k, v packed in in_proj_weight)."""
    if "xl-te" not in _cache:
        wl = clip_ref.random_weights(**{k: SL[k] for k in TE}, seed=41)
        wg = clip_ref.random_weights(**{k: SG[k] for k in TE}, seed=42,
                                     projection=SG["projection"])
        st = {sdxl.PREFIX_L + k: v for k, v in clip_ref.as_numpy(wl).items()}
        st.update({sdxl.PREFIX_G + k: np.ascontiguousarray(v.numpy())
                   for k, v in clip_ref.openclip_items(wg.items())})
        path = os.path.join(WORK, "sdxl-text.safetensors")
        st_io.write(path, st)
        _cache["xl-te"] = wl, wg, path
    return _cache["xl-te"]


def test_sdxl_text_encoders_te1_te2_on_packed_qkv(_):
    wl, wg, path = sdxl_text_model()
    layout = lora.sdxl_layout(sdxl.small_unet_config(), SL, SG)
    p, sd = save("xl-te", lora.random_kohya(
        layout, rank=4, alpha=2.0, seed=18,
        components=("text_encoder", "text_encoder_2")))
    assert any(k.startswith("lora_te2_") and "_self_attn_k_proj" in k
               for k in sd)
    g = torch.Generator().manual_seed(9)
    toks = [torch.randint(1, 999, (n,), generator=g).tolist() for n in
            (5, 30)]
    # The small vocabulary: end 999, bigG pads with 0.
    il = torch.tensor([sdxl.prompt_ids(r, 999, bos=998, eos=999)
                       for r in toks])
    ig = torch.tensor([sdxl.prompt_ids(r, 0, bos=998, eos=999)
                       for r in toks])
    got = encode(path, il, [p + ":0.6"], ids2=ig)
    hl = combined([(sd, None, 0.6)], layout, "text_encoder")
    hg = combined([(sd, None, 0.6)], layout, "text_encoder_2")
    assert "text_model.encoder.layers.0.self_attn.v_proj" in hg
    want, _ = sdxl.encode(wl, wg, il, ig, L=SL, G=SG, lora_l=hl,
                          lora_g=hg)
    check(got, want, "SDXL text encoders with te1 / te2 LoRA")
    far(got, sdxl.encode(wl, wg, il, ig, L=SL, G=SG)[0], "without")


# ----------------------------------------------------------- names

def targets(model, specs):
    args = ["lora-targets", "--model", model]
    for s in specs:
        args += ["--lora", s]
    p = ec.kiln_render(args)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines()]


def sdxl_models():
    """A small SDXL model as an SGM single file and a diffusers folder:
    narrow, but with the UNet's structure of unet.sdxl_config() (levels,
    layers, attention, transformer depths 1, 2, 10), so that its names
    are the real model's."""
    if "xl" not in _cache:
        cfgs = sdxl.small_configs()
        full = ref.sdxl_config()
        cfgs["unet"] = ref.Config(
            ch=(32, 64, 96), layers=full.layers, attn=full.attn,
            heads=(1, 2, 3), ctx_dim=cfgs["unet"].ctx_dim, groups=8,
            linear_proj=True, depth=full.depth,
            adm_in=cfgs["unet"].adm_in)
        f = os.path.join(WORK, "sdxl.safetensors")
        sdxl.write_single_file(f, cfgs)
        d = os.path.join(WORK, "sdxl-folder")
        sdxl.write_diffusers(d, cfgs)
        _cache["xl"] = cfgs, f, d
    return _cache["xl"]


def test_sdxl_names_resolve_as_the_reference_says(_):
    cfgs, single, folder = sdxl_models()
    sgm = lora.sdxl_layout(cfgs["unet"], cfgs["L"], cfgs["G"])
    dif = lora.Layout(cfgs["unet"], sgm.encoders, False)
    everything = lambda t: True  # noqa: E731
    # sd-scripts' SDXL names (SGM paths), the same modules under
    # diffusers paths, and PEFT's: every Linear and Conv of the UNet and
    # every layer of both encoders.
    k_sgm = lora.random_kohya(sgm, rank=2, conv_rank=2, seed=19,
                              select=everything)
    k_dif = lora.random_kohya(dif, rank=2, conv_rank=2, seed=20,
                              select=everything)
    assert "lora_unet_input_blocks_4_1_transformer_blocks_1_attn1_to_q." \
        "lora_down.weight" in k_sgm
    assert "lora_unet_output_blocks_2_2_conv.lora_up.weight" in k_sgm
    assert "lora_unet_input_blocks_8_1_transformer_blocks_9_attn2_to_k." \
        "lora_down.weight" in k_sgm
    assert "lora_unet_middle_block_1_transformer_blocks_9_ff_net_2." \
        "alpha" in k_sgm
    assert "lora_unet_label_emb_0_0.lora_down.weight" in k_sgm
    assert "lora_unet_down_blocks_1_attentions_0_transformer_blocks_1_" \
        "attn1_to_q.lora_down.weight" in k_dif
    peft = lora.kohya_to_peft(k_sgm, sgm)
    files = {}
    for name, sd in (("sgm", k_sgm), ("dif", k_dif), ("peft", peft)):
        files[name], _ = save("xl-" + name, sd, dtype=np.float32)
    for model, is_single in ((single, True), (folder, False)):
        for name, sd in (("sgm", k_sgm), ("dif", k_dif), ("peft", peft)):
            got = {g["key"]: g for g in targets(model,
                                                [files[name] + ":0.5"])}
            want = lora.resolve(sd, sgm, multiplier=0.5)
            assert len(got) == len(want), (name, len(got), len(want))
            for mod, t, s in want:
                g = got[mod.key]
                where = (model, mod.key)
                assert g["part"] == t.component, (where, g)
                assert g["weight"] == t.module + ".weight", (where, g)
                assert abs(g["scale"] - s) < 1e-12, (where, g, s)
                if is_single:
                    assert g["tensor"] == t.single_file, (where, g)
                    assert (tuple(g["rows"]) if g["rows"] else None) == \
                        t.rows, (where, g)
    # bigG's q, k, v of a single file are rows of one in_proj tensor.
    got = targets(single, [files["sgm"]])
    q = [g for g in got if g["key"] == "lora_te2_text_model_encoder_"
         "layers_1_self_attn_k_proj"]
    D = cfgs["G"]["hidden"]
    assert q and q[0]["tensor"] == sdxl.PREFIX_G + \
        "transformer.resblocks.1.attn.in_proj_weight", q
    assert q[0]["rows"] == [D, 2 * D], q


# ----------------------------------------------------------- errors

def test_a_lora_for_another_model_fails_naming_the_file(_):
    cfg, _, path = sd1_unet(1)
    cfgs, _, _ = sdxl_models()
    # Only SDXL's second text encoder: no key can match an SD 1.x UNet.
    sd = lora.random_kohya(lora.sdxl_layout(cfgs["unet"], cfgs["L"],
                                            cfgs["G"]),
                           rank=2, seed=21, components=("text_encoder_2",))
    p, _ = save("xl-only", sd)
    x, t, ctx = inputs(cfg, seed=2)
    r = run_unet(path, x, t, ctx, [p], ok=False)
    assert r.returncode != 0
    assert p in r.stderr and "matches a weight of this model" in r.stderr, \
        r.stderr
    # SDXL UNet modules on an SD 1.x UNet: the names fit, the shapes do
    # not.
    sd = lora.random_kohya(lora.sdxl_layout(cfgs["unet"], cfgs["L"],
                                            cfgs["G"]),
                           rank=2, seed=22, components=("unet",))
    p, _ = save("xl-unet", sd)
    r = run_unet(path, x, t, ctx, [p], ok=False)
    assert r.returncode != 0 and p in r.stderr, r.stderr
    assert "does not fit" in r.stderr or "matches no weight" in \
        r.stderr, r.stderr


def test_a_shape_mismatch_fails_naming_the_module(_):
    cfg, _, path = sd1_unet(1)
    m = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k"
    # to_k reads the 16-wide context; this LoRA's down is 24 wide.
    p, _ = save("bad-shape", {m + ".lora_down.weight": torch.zeros(4, 24),
                              m + ".lora_up.weight": torch.zeros(32, 4)})
    x, t, ctx = inputs(cfg, seed=2)
    r = run_unet(path, x, t, ctx, [p], ok=False)
    assert r.returncode != 0
    assert p in r.stderr and m in r.stderr and "does not fit" in \
        r.stderr, r.stderr


def test_a_truncated_file_fails_naming_it(_):
    cfg, w, path = sd1_unet(1)
    good, _ = save("whole", lora.random_kohya(sd1_layout(cfg), rank=2,
                                              seed=23,
                                              components=("unet",)))
    cut = os.path.join(WORK, "cut.safetensors")
    with open(good, "rb") as f:
        data = f.read()
    with open(cut, "wb") as f:
        f.write(data[:-10])
    x, t, ctx = inputs(cfg, seed=2)
    r = run_unet(path, x, t, ctx, [cut], ok=False)
    assert r.returncode != 0 and cut in r.stderr, r.stderr
    r = run_unet(path, x, t, ctx, [os.path.join(WORK, "absent.safetensors")],
                 ok=False)
    assert r.returncode != 0 and "absent.safetensors" in r.stderr, r.stderr


def test_loha_lokr_and_dora_are_refused_by_name(_):
    cfg, _, path = sd1_unet(1)
    m = "lora_unet_down_blocks_0_attentions_0_proj_in"
    x, t, ctx = inputs(cfg, seed=2)
    for suffix, word in ((".hada_w1_a", "LoHa"), (".lokr_w1", "LoKr"),
                         (".dora_scale", "DoRA"),
                         (".lora_mid.weight", "lora_mid")):
        p, _ = save("kind", {m + ".lora_down.weight": torch.zeros(2, 32),
                             m + ".lora_up.weight": torch.zeros(32, 2),
                             m + suffix: torch.zeros(2, 2)})
        r = run_unet(path, x, t, ctx, [p], ok=False)
        assert r.returncode != 0, suffix
        assert p in r.stderr and word in r.stderr and \
            "not supported" in r.stderr, r.stderr


# ------------------------------------------------ merging and taking off

MICRO = os.path.join(harness.ROOT, "models", "kiln-micro")


def micro_lora(name, seed, scale=1.0):
    """A kohya LoRA for kiln-micro's attention layers and text encoder,
    shaped from its tensors."""
    sd = {}
    g = torch.Generator().manual_seed(seed)
    for sub, prefix in (("unet", "lora_unet_"), ("text_encoder",
                                                 "lora_te_")):
        folder = os.path.join(MICRO, sub)
        fname = [f for f in os.listdir(folder)
                 if f.endswith(".safetensors")][0]
        arrs, _ = st_io.read(os.path.join(folder, fname))
        for k, v in arrs.items():
            if not k.endswith(".weight") or v.ndim != 2 or \
                    not ("attn" in k or "self_attn" in k):
                continue
            mod = prefix + k[:-len(".weight")].replace(".", "_")
            sd[mod + ".lora_down.weight"] = torch.randn(
                4, v.shape[1], generator=g) * v.shape[1] ** -0.5
            sd[mod + ".lora_up.weight"] = torch.randn(
                v.shape[0], 4, generator=g) * scale
    return save(name, sd)[0]


def test_a_render_without_the_lora_again_is_bit_identical(_):
    # One model loaded once (--prompts), LoRAs on and off between
    # renders: taking a LoRA off uploads the weights from the file
    # again, so the render after it is the same file, byte for byte, as
    # the one before it; the same set twice is kept merged (the same
    # bytes again).
    a = micro_lora("micro-a", 24)
    b = micro_lora("micro-b", 25)
    lines = [
        {"prompt": "a red fox", "out": "plain1.png", "seed": 5},
        {"prompt": "a red fox", "out": "a1.png", "seed": 5,
         "loras": [a + ":0.8"]},
        {"prompt": "a red fox", "out": "a2.png", "seed": 5,
         "loras": [a + ":0.8"]},
        {"prompt": "a red fox", "out": "ab.png", "seed": 5,
         "loras": [a + ":0.8", b + ":-0.5"]},
        {"prompt": "a red fox", "out": "plain2.png", "seed": 5,
         "loras": []},
        {"prompt": "a red fox <lora:micro-a:0.8>", "out": "tag.png",
         "seed": 5, "loras": [a + ":0.8"]},
        {"prompt": "a red fox", "out": "plain3.png", "seed": 5,
         "loras": []},
    ]
    d = tempfile.mkdtemp(dir=WORK)
    for ln in lines:
        ln["out"] = os.path.join(d, ln["out"])
    listing = os.path.join(d, "prompts.jsonl")
    with open(listing, "w") as f:
        for ln in lines:
            f.write(json.dumps(ln) + "\n")
    p = ec.kiln_render(["render", "--model", MICRO, "--prompts", listing,
                        "--steps", "3", "--width", "64", "--height", "64"])
    assert p.returncode == 0, p.stderr

    def data(name):
        with open(os.path.join(d, name), "rb") as f:
            return f.read()
    plain = data("plain1.png")
    assert data("plain2.png") == plain and data("plain3.png") == plain
    assert data("a1.png") != plain
    assert data("a2.png") == data("a1.png")
    assert data("ab.png") not in (plain, data("a1.png"))
    # The tag is left out of the text: the same image as a1 but for the
    # prompt the PNG's parameters quote.
    assert png_pixels(data("tag.png")) == png_pixels(data("a1.png"))


def png_pixels(data):
    """The concatenated IDAT payload of a PNG (the encoder is
    deterministic: equal payloads are equal pixels)."""
    pos, out = 8, b""
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        if data[pos + 4:pos + 8] == b"IDAT":
            out += data[pos + 8:pos + 8 + n]
        pos += 12 + n
    return out
