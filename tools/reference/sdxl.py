"""sdxl.py - Stable Diffusion XL from the reference pieces: the two text
encoders and how their outputs become the UNet's context and pooled
vector, the time ids, configurations (full and small), and random models
written as a diffusers folder or as an SGM single file, streamed so the
full model never sits in memory twice: write_single_file of the full
configs gives 2515 tensors (1680 UNet, 197 CLIP-L, 390 bigG, 248 VAE),
3,468,837,945 values, 6.94 GB of F16, in 50 s at 0.82 GB peak RSS on
the 2-vCPU build machine.

Sources: diffusers' pipeline_stable_diffusion_xl.py (encode_prompt,
_get_add_time_ids), single_file_utils.py (key maps), transformers' CLIP,
SGM's FrozenCLIPEmbedder / FrozenOpenCLIPEmbedder2 (layer "penultimate",
always_return_pooled, legacy=False) and sd.cpp's name_conversion.cpp.

Text conditioning (encode):
  - CLIP-L (text_encoder, CLIPTextModel, quick_gelu, 12 layers): the
    hidden state after layer 11 of 12 (hidden_states[-2]), no final norm;
  - OpenCLIP bigG (text_encoder_2, CLIPTextModelWithProjection, gelu, 32
    layers, 20 heads): likewise after layer 31 of 32, no final norm;
  - context = concat(L, G) on features: 768 + 1280 = 2048;
  - pooled = text_projection(final_layer_norm(G's last layer)[EOS]), 1280,
    the EOS found as clip.eos_position (argmax of the ids);
  - ids: both tokenizers give BOS 49406, the tokens, EOS 49407, then pad
    to 77: CLIP-L pads with 49407, bigG with 0 ("!", open_clip.tokenize's
    zeros, tokenizer_2's pad token). The pad ids reach the UNet through
    the 77 context rows, so they matter.
  - An empty negative prompt is zeros (context and pooled) in diffusers
    (force_zeros_for_empty_prompt) and in A1111 (sd_models_xl.py's
    force_zero_negative_prompt); SGM's own scripts encode "" instead.
Time ids (time_ids): [orig h, orig w, crop top, crop left, target h,
target w], in pixels; unet.add_embeds makes the 2816-vector.

Single-file names (write_single_file / split_single_file):
  model.diffusion_model.*                   UNet, unet.to_ldm names
  conditioner.embedders.0.transformer.*     CLIP-L, HF names
                                            (text_model.*)
  conditioner.embedders.1.model.*           bigG, OpenCLIP names: q/k/v
                                            packed in in_proj_weight,
                                            text_projection [1280, 1280]
                                            stored transposed (x @ P)
  first_stage_model.*                       VAE, vae.to_ldm names
plus, as in the released checkpoint, an int64
...embedders.0.transformer.text_model.embeddings.position_ids [1, 77] and
...embedders.1.model.logit_scale [] that inference ignores (extras=True).
"""

import json
import math
import os
import warnings

import numpy as np
import torch

import clip
import st_io
import unet
import vae

BOS, EOS = 49406, 49407
PAD_L, PAD_G = EOS, 0

CLIP_L = clip.CLIP_L
CLIP_G = clip.CLIP_G
SMALL_L = dict(vocab=1000, hidden=32, layers=3, inter=64, max_pos=77,
               heads=2, act="quick_gelu")
SMALL_G = dict(vocab=1000, hidden=48, layers=3, inter=96, max_pos=77,
               heads=3, act="gelu", projection=48)

PREFIX_UNET = "model.diffusion_model."
PREFIX_L = "conditioner.embedders.0.transformer."
PREFIX_G = "conditioner.embedders.1.model."
PREFIX_VAE = "first_stage_model."


def small_unet_config(L=SMALL_L, G=SMALL_G):
    """The SDXL shape at test size: no attention on the first level,
    depth 2 and 3 below (mid 3), heads of 32 channels, linear
    projections, text_time conditioning with the real 256-wide time
    ids."""
    return unet.Config(ch=(32, 64, 96), layers=2, attn=(False, True, True),
                       heads=(1, 2, 3), ctx_dim=L["hidden"] + G["hidden"],
                       groups=8, linear_proj=True, depth=(1, 2, 3),
                       adm_in=G["projection"] + 6 * 256)


def small_vae_config():
    return vae.config((16, 32), layers=1, latent=4, groups=8,
                      scaling_factor=0.13025)


def full_configs():
    return dict(unet=unet.sdxl_config(), L=CLIP_L, G=CLIP_G,
                vae=vae.sdxl_config())


def small_configs():
    return dict(unet=small_unet_config(), L=SMALL_L, G=SMALL_G,
                vae=small_vae_config())


def small_sgm_unet_config():
    """The SDXL UNet shape at test size as a single file can describe it
    (heads of 64 channels, 32 groups: no config.json says otherwise),
    with a 16-wide pooled text embedding."""
    return unet.Config(ch=(32, 64, 128), layers=2, attn=(False, True, True),
                       heads=(1, 1, 2), ctx_dim=48, groups=32,
                       linear_proj=True, depth=(1, 2, 3),
                       adm_in=16 + 6 * 256)


def tiny_configs():
    """The SDXL shape at the smallest size a single file describes
    completely, for renders end to end: the real vocabulary (so that
    kiln's tokenizer feeds it), heads of 64 channels and 32 groups as SDXL
    has them (a single file carries no config), both encoders at least
    two layers deep (the penultimate state), bigG's pooled output 64
    wide."""
    return dict(
        L=dict(vocab=49408, hidden=64, layers=2, inter=128, max_pos=77,
               heads=1, act="quick_gelu"),
        G=dict(vocab=49408, hidden=128, layers=3, inter=256, max_pos=77,
               heads=2, act="gelu", projection=64),
        unet=unet.Config(ch=(32, 64, 128), layers=2,
                         attn=(False, True, True), heads=(1, 1, 2),
                         ctx_dim=64 + 128, groups=32, linear_proj=True,
                         depth=(1, 2, 3), adm_in=64 + 6 * 256),
        vae=vae.config((32, 32), layers=1, latent=4, groups=32,
                       scaling_factor=0.13025))


def _te(c):
    return {k: c[k] for k in ("vocab", "hidden", "layers", "inter",
                              "max_pos")}


def prompt_ids(tokens, pad, length=77, bos=BOS, eos=EOS):
    """BOS, tokens (cut to length - 2), EOS, then pad (PAD_L: the EOS id;
    PAD_G: 0)."""
    t = list(tokens)[:length - 2]
    return [bos] + t + [eos] + [pad] * (length - 2 - len(t))


def time_ids(original=(1024, 1024), crop=(0, 0), target=(1024, 1024)):
    """diffusers' _get_add_time_ids: (h, w) pairs, in pixels."""
    return torch.tensor([list(original) + list(crop) + list(target)],
                        dtype=torch.float64)


def encode(wl, wg, ids_l, ids_g, L=SMALL_L, G=SMALL_G, dtype=torch.float64,
           embeds_l=None, embeds_g=None, lora_l=None, lora_g=None):
    """(context [B, 77, L + G hidden], pooled [B, G projection]) from
    HF-named weights; embeds_* replace the token lookups (textual
    inversion), lora_* as in clip.hidden_states."""
    hl = clip.hidden_states(wl, ids_l, L["heads"], L["act"], dtype=dtype,
                            embeds=embeds_l, lora=lora_l)
    hg = clip.hidden_states(wg, ids_g, G["heads"], G["act"], dtype=dtype,
                            embeds=embeds_g, lora=lora_g)
    ctx = torch.cat([hl[-2], hg[-2]], dim=-1)
    return ctx, clip.pooled(wg, ids_g, hg[-1], dtype=dtype)


def random_parts(cfgs, seed=0):
    """Diffusers / HF-named random weights of every part, the ones the
    writers below store: seeds seed (UNet), +1 (CLIP-L), +2 (bigG), +3
    (VAE). For small configs; full ones go through the writers."""
    return dict(unet=unet.random_weights(cfgs["unet"], seed),
                L=clip.random_weights(**_te(cfgs["L"]), seed=seed + 1),
                G=clip.random_weights(**_te(cfgs["G"]), seed=seed + 2,
                                      projection=cfgs["G"]["projection"]),
                vae=vae.random_weights(cfgs["vae"], seed + 3))


def _single_file_items(cfgs, seed, dry, extras):
    if "unet" in cfgs:
        names = unet.ldm_names(cfgs["unet"])
        for k, v in unet.iter_random(cfgs["unet"], seed, dry):
            yield PREFIX_UNET + names[k], v
    if "L" in cfgs:
        for k, v in clip.iter_random(**_te(cfgs["L"]), seed=seed + 1,
                                     dry=dry):
            yield PREFIX_L + k, v
        if extras:
            yield (PREFIX_L + "text_model.embeddings.position_ids",
                   torch.arange(cfgs["L"]["max_pos"])[None])
    if "G" in cfgs:
        g = clip.iter_random(**_te(cfgs["G"]), seed=seed + 2,
                             projection=cfgs["G"]["projection"], dry=dry)
        for k, v in clip.openclip_items(g):
            yield PREFIX_G + k, v
        if extras:
            yield PREFIX_G + "logit_scale", torch.tensor(math.log(1 / 0.07))
    if "vae" in cfgs:
        for k, v in vae.iter_random(cfgs["vae"], seed + 3, dry):
            for k2, v2 in vae.to_ldm({k: v}, cfgs["vae"]).items():
                yield PREFIX_VAE + k2, v2


def _code(v, dtype):
    if v.dtype == torch.int64:
        return "I64", np.int64
    return {np.float16: "F16", np.float32: "F32"}[dtype], dtype


def write_single_file(path, cfgs, seed=0, dtype=np.float16, extras=True):
    """One SGM-style .safetensors with the parts cfgs names (see the
    module docstring for the names; leaving the UNet out gives the text
    encoders and VAE without the 5 GB a test of those does not need),
    streamed, each part drawn from the same seed as in a whole file.
    Returns the tensor count."""
    entries = [(k, _code(v, dtype)[0], tuple(v.shape))
               for k, v in _single_file_items(cfgs, seed, True, extras)]
    arrays = (v.numpy().astype(_code(v, dtype)[1]) for _, v in
              _single_file_items(cfgs, seed, False, extras))
    st_io.write_stream(path, entries, arrays, {"format": "pt"})
    return len(entries)


def split_single_file(tensors, layers=2):
    """name -> tensor of a single file -> {unet, L, G, vae} (the parts it
    holds) in diffusers / HF names (the inverse of write_single_file,
    through the independent unet.from_ldm and clip.from_openclip; extras
    dropped)."""
    parts = {"unet": {}, "L": {}, "G": {}, "vae": {}}
    for k, v in tensors.items():
        for part, p in (("unet", PREFIX_UNET), ("L", PREFIX_L),
                        ("G", PREFIX_G), ("vae", PREFIX_VAE)):
            if k.startswith(p):
                parts[part][k[len(p):]] = v
    parts["L"].pop("text_model.embeddings.position_ids", None)
    parts["G"].pop("logit_scale", None)
    parts = {k: v for k, v in parts.items() if v}
    if "unet" in parts:
        parts["unet"] = unet.from_ldm(parts["unet"], layers)
    if "G" in parts:
        parts["G"] = clip.from_openclip(parts["G"])
    if "vae" in parts:
        parts["vae"] = vae_from_ldm(parts["vae"])
    return parts


def vae_from_ldm(w):
    """LDM VAE names -> diffusers (attention 1x1 convs back to linears),
    the inverse of vae.to_ldm for any number of levels."""
    n = 1 + max(int(k.split(".")[2]) for k in w
                if k.startswith("decoder.up."))
    out = {}
    for k, v in w.items():
        p = k.split(".")
        if p[0] in ("encoder", "decoder") and p[1] in ("down", "up"):
            lvl = int(p[2]) if p[1] == "down" else n - 1 - int(p[2])
            blocks = "down_blocks" if p[1] == "down" else "up_blocks"
            if p[3] == "block":
                p = p[:1] + [blocks, str(lvl), "resnets", p[4]] + p[5:]
            else:
                samp = "downsamplers" if p[1] == "down" else "upsamplers"
                p = p[:1] + [blocks, str(lvl), samp, "0"] + p[4:]
        elif p[0] in ("encoder", "decoder") and p[1] == "mid":
            if p[2].startswith("block_"):
                p = p[:1] + ["mid_block", "resnets",
                             str(int(p[2][6:]) - 1)] + p[3:]
            else:
                ren = {"norm": ["group_norm"], "q": ["to_q"], "k": ["to_k"],
                       "v": ["to_v"], "proj_out": ["to_out", "0"]}
                p = p[:1] + ["mid_block", "attentions", "0"] + \
                    ren[p[3]] + p[4:]
                if v.dim() == 4:
                    v = v.reshape(v.shape[0], v.shape[1])
        elif p[0] in ("encoder", "decoder") and p[1] == "norm_out":
            p = p[:1] + ["conv_norm_out"] + p[2:]
        out[".".join(p).replace("nin_shortcut", "conv_shortcut")] = v
    return out


def text_config(c, cls):
    """transformers config.json of a text encoder (the legacy token ids of
    SDXL's released configs: bos 0, eos 2, pad 1)."""
    return {"architectures": [cls], "model_type": "clip_text_model",
            "hidden_act": c["act"], "hidden_size": c["hidden"],
            "intermediate_size": c["inter"],
            "num_attention_heads": c["heads"],
            "num_hidden_layers": c["layers"],
            "max_position_embeddings": c["max_pos"],
            "vocab_size": c["vocab"], "layer_norm_eps": 1e-5,
            "projection_dim": c.get("projection") or c["hidden"],
            "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1}


def vae_config_json(cfg):
    n = len(cfg["block_out_channels"])
    return dict(cfg, _class_name="AutoencoderKL",
                down_block_types=["DownEncoderBlock2D"] * n,
                up_block_types=["UpDecoderBlock2D"] * n, force_upcast=True)


def write_diffusers(root, cfgs, seed=0, dtype=np.float16):
    """A diffusers StableDiffusionXLPipeline folder (no tokenizers or
    scheduler): unet/, text_encoder/, text_encoder_2/, vae/, each with its
    config.json, weights streamed. Same weights as write_single_file."""
    code = {np.float16: "F16", np.float32: "F32"}[dtype]

    def put(sub, fname, items_fn, config):
        d = os.path.join(root, sub)
        os.makedirs(d, exist_ok=True)
        entries = [(k, code, tuple(v.shape)) for k, v in items_fn(True)]
        arrays = (v.numpy().astype(dtype) for _, v in items_fn(False))
        st_io.write_stream(os.path.join(d, fname), entries, arrays,
                           {"format": "pt"})
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(config, f, indent=1)

    put("unet", "diffusion_pytorch_model.safetensors",
        lambda dry: unet.iter_random(cfgs["unet"], seed, dry),
        unet.diffusers_config(cfgs["unet"]))
    put("text_encoder", "model.safetensors",
        lambda dry: clip.iter_random(**_te(cfgs["L"]), seed=seed + 1,
                                     dry=dry),
        text_config(cfgs["L"], "CLIPTextModel"))
    put("text_encoder_2", "model.safetensors",
        lambda dry: clip.iter_random(**_te(cfgs["G"]), seed=seed + 2,
                                     projection=cfgs["G"]["projection"],
                                     dry=dry),
        text_config(cfgs["G"], "CLIPTextModelWithProjection"))
    put("vae", "diffusion_pytorch_model.safetensors",
        lambda dry: vae.iter_random(cfgs["vae"], seed + 3, dry),
        vae_config_json(cfgs["vae"]))
    with open(os.path.join(root, "model_index.json"), "w") as f:
        json.dump({"_class_name": "StableDiffusionXLPipeline",
                   "unet": ["diffusers", "UNet2DConditionModel"],
                   "vae": ["diffusers", "AutoencoderKL"],
                   "text_encoder": ["transformers", "CLIPTextModel"],
                   "text_encoder_2": ["transformers",
                                      "CLIPTextModelWithProjection"],
                   "force_zeros_for_empty_prompt": True}, f, indent=1)


def read_parts(path, layers=2):
    """A single file written above -> {unet, L, G, vae} torch tensors in
    diffusers / HF names, mapped from the file (F16 stays F16)."""
    arrs, _ = st_io.read(path)
    with warnings.catch_warnings():
        # Read-only mapped arrays: the reference never writes to them.
        warnings.simplefilter("ignore", UserWarning)
        t = {k: torch.from_numpy(v) for k, v in arrs.items()}
    return split_single_file(t, layers)
