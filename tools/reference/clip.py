"""clip.py - reference CLIP text encoder in plain PyTorch, written from the
published architecture (transformers' CLIPTextModel; OpenCLIP's text tower
as SD 2.x uses it): embeddings, pre-norm transformer layers with a causal
mask, final layer norm. Also makes random small models for the tests."""

import math

import numpy as np
import torch
import torch.nn.functional as F


def random_weights(vocab, hidden, layers, inter, max_pos, seed=0):
    """HF-named float32 weights, scaled so activations stay O(1)."""
    g = torch.Generator().manual_seed(seed)

    def r(*shape, s=1.0):
        return (torch.randn(*shape, generator=g) * s).float()

    w = {"text_model.embeddings.token_embedding.weight": r(vocab, hidden),
         "text_model.embeddings.position_embedding.weight":
             r(max_pos, hidden, s=0.5),
         "text_model.final_layer_norm.weight": 1 + r(hidden, s=0.1),
         "text_model.final_layer_norm.bias": r(hidden, s=0.1)}
    for i in range(layers):
        p = "text_model.encoder.layers.%d." % i
        for n in ("layer_norm1", "layer_norm2"):
            w[p + n + ".weight"] = 1 + r(hidden, s=0.1)
            w[p + n + ".bias"] = r(hidden, s=0.1)
        for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
            w[p + "self_attn." + n + ".weight"] = r(hidden, hidden,
                                                    s=hidden ** -0.5)
            w[p + "self_attn." + n + ".bias"] = r(hidden, s=0.1)
        w[p + "mlp.fc1.weight"] = r(inter, hidden, s=hidden ** -0.5)
        w[p + "mlp.fc1.bias"] = r(inter, s=0.1)
        w[p + "mlp.fc2.weight"] = r(hidden, inter, s=inter ** -0.5)
        w[p + "mlp.fc2.bias"] = r(hidden, s=0.1)
    return w


def forward(w, ids, heads, act="quick_gelu", eps=1e-5, skip=0,
            dtype=torch.float64):
    """w: HF-named weights; ids: [B, L] int tensor. Runs all but the last
    `skip` layers, then the final layer norm (SD 2.x: skip=1). Float64."""
    w = {k: v.to(dtype) for k, v in w.items()}
    B, L = ids.shape
    x = w["text_model.embeddings.token_embedding.weight"][ids.long()]
    x = x + w["text_model.embeddings.position_embedding.weight"][:L][None]
    D = x.shape[-1]
    d = D // heads
    nlayers = 0
    while "text_model.encoder.layers.%d.mlp.fc1.weight" % nlayers in w:
        nlayers += 1
    mask = torch.triu(torch.ones(L, L, dtype=torch.bool, device=x.device), 1)
    for i in range(nlayers - skip):
        p = "text_model.encoder.layers.%d." % i
        h = F.layer_norm(x, (D,), w[p + "layer_norm1.weight"],
                         w[p + "layer_norm1.bias"], eps)

        def proj(n):
            y = F.linear(h, w[p + "self_attn.%s.weight" % n],
                         w[p + "self_attn.%s.bias" % n])
            return y.reshape(B, L, heads, d).transpose(1, 2)
        q, k, v = proj("q_proj"), proj("k_proj"), proj("v_proj")
        s = (q @ k.transpose(-1, -2)) / math.sqrt(d)
        s = s.masked_fill(mask, float("-inf"))
        a = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, L, D)
        x = x + F.linear(a, w[p + "self_attn.out_proj.weight"],
                         w[p + "self_attn.out_proj.bias"])
        h = F.layer_norm(x, (D,), w[p + "layer_norm2.weight"],
                         w[p + "layer_norm2.bias"], eps)
        h = F.linear(h, w[p + "mlp.fc1.weight"], w[p + "mlp.fc1.bias"])
        h = h * torch.sigmoid(1.702 * h) if act == "quick_gelu" else F.gelu(h)
        x = x + F.linear(h, w[p + "mlp.fc2.weight"], w[p + "mlp.fc2.bias"])
    return F.layer_norm(x, (D,), w["text_model.final_layer_norm.weight"],
                        w["text_model.final_layer_norm.bias"], eps)


def to_openclip(w):
    """The same weights under OpenCLIP's names (q, k, v packed)."""
    out = {"token_embedding.weight":
           w["text_model.embeddings.token_embedding.weight"],
           "positional_embedding":
           w["text_model.embeddings.position_embedding.weight"],
           "ln_final.weight": w["text_model.final_layer_norm.weight"],
           "ln_final.bias": w["text_model.final_layer_norm.bias"]}
    i = 0
    while "text_model.encoder.layers.%d.mlp.fc1.weight" % i in w:
        p = "text_model.encoder.layers.%d." % i
        o = "transformer.resblocks.%d." % i
        out[o + "ln_1.weight"] = w[p + "layer_norm1.weight"]
        out[o + "ln_1.bias"] = w[p + "layer_norm1.bias"]
        out[o + "ln_2.weight"] = w[p + "layer_norm2.weight"]
        out[o + "ln_2.bias"] = w[p + "layer_norm2.bias"]
        out[o + "attn.in_proj_weight"] = torch.cat(
            [w[p + "self_attn.%s_proj.weight" % n] for n in "qkv"], 0)
        out[o + "attn.in_proj_bias"] = torch.cat(
            [w[p + "self_attn.%s_proj.bias" % n] for n in "qkv"], 0)
        out[o + "attn.out_proj.weight"] = w[p + "self_attn.out_proj.weight"]
        out[o + "attn.out_proj.bias"] = w[p + "self_attn.out_proj.bias"]
        out[o + "mlp.c_fc.weight"] = w[p + "mlp.fc1.weight"]
        out[o + "mlp.c_fc.bias"] = w[p + "mlp.fc1.bias"]
        out[o + "mlp.c_proj.weight"] = w[p + "mlp.fc2.weight"]
        out[o + "mlp.c_proj.bias"] = w[p + "mlp.fc2.bias"]
        i += 1
    out["text_projection"] = torch.zeros(w["text_model.final_layer_norm."
                                           "weight"].shape[0], 4)
    return out


def as_numpy(w, dtype=np.float32):
    return {k: v.numpy().astype(dtype) for k, v in w.items()}
