"""clip.py - reference CLIP text encoder in plain PyTorch, written from the
published architecture (transformers' CLIPTextModel /
CLIPTextModelWithProjection; OpenCLIP's text tower as SD 2.x and SDXL use
it): embeddings, pre-norm transformer layers with a causal mask, final
layer norm, the pooled projection. Also makes random models (small ones
for the tests, full-size ones streamed) and converts HF <-> OpenCLIP
names. SDXL's use of the two encoders is in sdxl.py."""

import math
import re

import numpy as np
import torch
import torch.nn.functional as F


CLIP_L = dict(vocab=49408, hidden=768, layers=12, inter=3072, max_pos=77,
              heads=12, act="quick_gelu")
"""openai/clip-vit-large-patch14's text model (SD 1.x; SDXL's text_encoder):
123,060,480 parameters."""
CLIP_G = dict(vocab=49408, hidden=1280, layers=32, inter=5120, max_pos=77,
              heads=20, act="gelu", projection=1280)
"""OpenCLIP ViT-bigG-14's text tower (SDXL's text_encoder_2, a
CLIPTextModelWithProjection): 694,659,840 parameters with its
1280 x 1280 text_projection (no bias)."""


def specs(vocab, hidden, layers, inter, max_pos, projection=None):
    """[(name, shape, init, scale)] in HF naming, in draw order (init as in
    unet.specs)."""
    out = [("text_model.embeddings.token_embedding.weight", (vocab, hidden),
            "w", 1.0),
           ("text_model.embeddings.position_embedding.weight",
            (max_pos, hidden), "w", 0.5),
           ("text_model.final_layer_norm.weight", (hidden,), "n", 0.1),
           ("text_model.final_layer_norm.bias", (hidden,), "b", 0.1)]
    for i in range(layers):
        p = "text_model.encoder.layers.%d." % i
        for n in ("layer_norm1", "layer_norm2"):
            out.append((p + n + ".weight", (hidden,), "n", 0.1))
            out.append((p + n + ".bias", (hidden,), "b", 0.1))
        for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
            out.append((p + "self_attn." + n + ".weight", (hidden, hidden),
                        "w", hidden ** -0.5))
            out.append((p + "self_attn." + n + ".bias", (hidden,), "b", 0.1))
        out.append((p + "mlp.fc1.weight", (inter, hidden), "w",
                    hidden ** -0.5))
        out.append((p + "mlp.fc1.bias", (inter,), "b", 0.1))
        out.append((p + "mlp.fc2.weight", (hidden, inter), "w",
                    inter ** -0.5))
        out.append((p + "mlp.fc2.bias", (hidden,), "b", 0.1))
    if projection:
        out.append(("text_projection.weight", (projection, hidden), "w",
                    hidden ** -0.5))
    return out


def iter_random(vocab, hidden, layers, inter, max_pos, seed=0,
                projection=None, dry=False):
    """(name, tensor) pairs drawn one at a time (dry: meta tensors)."""
    g = torch.Generator().manual_seed(seed)
    for name, shape, init, s in specs(vocab, hidden, layers, inter, max_pos,
                                      projection):
        if dry:
            yield name, torch.empty(shape, device="meta")
        elif init == "n":
            yield name, 1 + (torch.randn(*shape, generator=g) * s).float()
        else:
            yield name, (torch.randn(*shape, generator=g) * s).float()


def random_weights(vocab, hidden, layers, inter, max_pos, seed=0,
                   projection=None):
    """HF-named float32 weights, scaled so activations stay O(1);
    projection: the width of a text_projection (CLIPTextModelWithProjection)
    or None."""
    return dict(iter_random(vocab, hidden, layers, inter, max_pos, seed,
                            projection))


def hidden_states(w, ids, heads, act="quick_gelu", eps=1e-5,
                  dtype=torch.float64, layers=None, embeds=None, lora=None):
    """transformers' output_hidden_states: [token + position embeddings,
    after layer 1, ..., after layer `layers` (default all)], no final
    norm. embeds [B, L, D] replaces the token-embedding lookup (textual
    inversion, see textual_inversion.py); the position embeddings are
    still added. lora: {module name: (down, up, scale)} as in
    unet.forward. Weights are converted to dtype where used."""
    lora = lora or {}

    def W(k):
        return w[k].to(dtype)

    def lin(p, h):
        o = F.linear(h, W(p + ".weight"), W(p + ".bias"))
        if p in lora:
            down, up, s = lora[p]
            o = o + s * F.linear(F.linear(h, down.to(dtype)), up.to(dtype))
        return o

    B, L = ids.shape
    if embeds is None:
        x = W("text_model.embeddings.token_embedding.weight")[ids.long()]
    else:
        x = embeds.to(dtype)
    x = x + W("text_model.embeddings.position_embedding.weight")[:L][None]
    D = x.shape[-1]
    d = D // heads
    nlayers = 0
    while "text_model.encoder.layers.%d.mlp.fc1.weight" % nlayers in w:
        nlayers += 1
    mask = torch.triu(torch.ones(L, L, dtype=torch.bool, device=x.device), 1)
    out = [x]
    for i in range(nlayers if layers is None else layers):
        p = "text_model.encoder.layers.%d." % i
        h = F.layer_norm(x, (D,), W(p + "layer_norm1.weight"),
                         W(p + "layer_norm1.bias"), eps)

        def proj(n):
            y = lin(p + "self_attn." + n, h)
            return y.reshape(B, L, heads, d).transpose(1, 2)
        q, k, v = proj("q_proj"), proj("k_proj"), proj("v_proj")
        s = (q @ k.transpose(-1, -2)) / math.sqrt(d)
        s = s.masked_fill(mask, float("-inf"))
        a = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, L, D)
        x = x + lin(p + "self_attn.out_proj", a)
        h = F.layer_norm(x, (D,), W(p + "layer_norm2.weight"),
                         W(p + "layer_norm2.bias"), eps)
        h = lin(p + "mlp.fc1", h)
        h = h * torch.sigmoid(1.702 * h) if act == "quick_gelu" else F.gelu(h)
        x = x + lin(p + "mlp.fc2", h)
        out.append(x)
    return out


def final_norm(w, x, eps=1e-5, dtype=torch.float64):
    return F.layer_norm(x, (x.shape[-1],),
                        w["text_model.final_layer_norm.weight"].to(dtype),
                        w["text_model.final_layer_norm.bias"].to(dtype), eps)


def forward(w, ids, heads, act="quick_gelu", eps=1e-5, skip=0,
            dtype=torch.float64):
    """w: HF-named weights; ids: [B, L] int tensor. Runs all but the last
    `skip` layers, then the final layer norm (SD 2.x: skip=1). Float64."""
    nlayers = 0
    while "text_model.encoder.layers.%d.mlp.fc1.weight" % nlayers in w:
        nlayers += 1
    x = hidden_states(w, ids, heads, act, eps, dtype, nlayers - skip)[-1]
    return final_norm(w, x, eps, dtype)


def eos_position(ids):
    """Where the pooled output is read: SGM / OpenCLIP take
    text.argmax(dim=-1), the first end-of-text token (49407, the largest
    id) as long as every id is in the vocabulary, which A1111 keeps true
    by giving textual-inversion slots the id 0 (transformers' CLIP with
    the legacy eos_token_id 2 of SDXL's configs does the same argmax;
    sd.cpp searches for the first 49407)."""
    return ids.long().argmax(dim=-1)


def pooled(w, ids, last, eps=1e-5, dtype=torch.float64):
    """CLIPTextModelWithProjection's text_embeds: text_projection (no
    bias) of final_layer_norm(last layer output) at eos_position(ids)."""
    x = final_norm(w, last, eps, dtype)
    x = x[torch.arange(x.shape[0]), eos_position(ids)]
    return F.linear(x, w["text_projection.weight"].to(dtype))


_OC_LAYER = (("layer_norm1", "ln_1"), ("layer_norm2", "ln_2"),
             ("self_attn.out_proj", "attn.out_proj"),
             ("mlp.fc1", "mlp.c_fc"), ("mlp.fc2", "mlp.c_proj"))
_OC_TOP = {"text_model.embeddings.token_embedding.weight":
           "token_embedding.weight",
           "text_model.embeddings.position_embedding.weight":
           "positional_embedding",
           "text_model.final_layer_norm.weight": "ln_final.weight",
           "text_model.final_layer_norm.bias": "ln_final.bias"}


def _openclip_layer(w, i):
    p = "text_model.encoder.layers.%d." % i
    o = "transformer.resblocks.%d." % i
    yield o + "ln_1.weight", w[p + "layer_norm1.weight"]
    yield o + "ln_1.bias", w[p + "layer_norm1.bias"]
    yield o + "ln_2.weight", w[p + "layer_norm2.weight"]
    yield o + "ln_2.bias", w[p + "layer_norm2.bias"]
    yield o + "attn.in_proj_weight", torch.cat(
        [w[p + "self_attn.%s_proj.weight" % n] for n in "qkv"], 0)
    yield o + "attn.in_proj_bias", torch.cat(
        [w[p + "self_attn.%s_proj.bias" % n] for n in "qkv"], 0)
    yield o + "attn.out_proj.weight", w[p + "self_attn.out_proj.weight"]
    yield o + "attn.out_proj.bias", w[p + "self_attn.out_proj.bias"]
    yield o + "mlp.c_fc.weight", w[p + "mlp.fc1.weight"]
    yield o + "mlp.c_fc.bias", w[p + "mlp.fc1.bias"]
    yield o + "mlp.c_proj.weight", w[p + "mlp.fc2.weight"]
    yield o + "mlp.c_proj.bias", w[p + "mlp.fc2.bias"]


def openclip_items(items):
    """Streams (HF name, tensor) pairs into OpenCLIP names, one encoder
    layer buffered at a time (q, k, v are packed into in_proj_weight /
    in_proj_bias, rows q then k then v). text_projection is stored
    transposed, [width, projection], because OpenCLIP computes
    x @ text_projection (diffusers' convert_open_clip_checkpoint takes
    .T of it)."""
    layer, cur = {}, None
    for k, v in items:
        m = re.match(r"text_model\.encoder\.layers\.(\d+)\.", k)
        if m and cur is not None and int(m.group(1)) != cur:
            yield from _openclip_layer(layer, cur)
            layer, cur = {}, None
        if m:
            cur = int(m.group(1))
            layer[k] = v
            continue
        if cur is not None:
            yield from _openclip_layer(layer, cur)
            layer, cur = {}, None
        if k == "text_projection.weight":
            yield "text_projection", v.t()
        else:
            yield _OC_TOP[k], v
    if cur is not None:
        yield from _openclip_layer(layer, cur)


def to_openclip(w):
    """The same weights under OpenCLIP's names (q, k, v packed). Without a
    text_projection.weight, a zero [hidden, 4] placeholder stands in (the
    SD 2.x single files carry one; the engine ignores it)."""
    out = dict(openclip_items(w.items()))
    if "text_projection" not in out:
        out["text_projection"] = torch.zeros(
            w["text_model.final_layer_norm.weight"].shape[0], 4)
    return out


def from_openclip(w):
    """OpenCLIP names -> HF names, written from diffusers'
    convert_open_clip_checkpoint (in_proj split in three row blocks,
    text_projection transposed back); unknown keys (logit_scale) are
    dropped."""
    top = {v: k for k, v in _OC_TOP.items()}
    out = {}
    for k, v in w.items():
        if k in top:
            out[top[k]] = v
        elif k == "text_projection":
            out["text_projection.weight"] = v.t()
        elif k.startswith("transformer.resblocks."):
            i, rest = k[len("transformer.resblocks."):].split(".", 1)
            p = "text_model.encoder.layers.%s." % i
            if rest.startswith("attn.in_proj_"):
                kind = rest[len("attn.in_proj_"):]
                for n, part in zip("qkv", v.chunk(3, 0)):
                    out[p + "self_attn.%s_proj.%s" % (n, kind)] = part
                continue
            for hf, oc in _OC_LAYER:
                if rest.startswith(oc + "."):
                    out[p + hf + rest[len(oc):]] = v
                    break
            else:
                raise KeyError(k)
    return out


def as_numpy(w, dtype=np.float32):
    return {k: v.numpy().astype(dtype) for k, v in w.items()}
