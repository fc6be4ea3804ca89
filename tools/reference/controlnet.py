"""controlnet.py - reference ControlNet (diffusers' ControlNetModel,
lllyasviel's cldm.py ControlNet) in plain PyTorch on top of unet.py: the
UNet's encoder half (unet.forward with encoder_only) whose conv_in output
is offset by the hint embedding, and zero convolutions on every skip and
on the mid-block output. Random weights in diffusers naming, and the
single-file (control_model.*) names.

Hint embedding (ControlNetConditioningEmbedding, hint [N, 3, H, W] in
[0, 1]): conv_in 3 -> c[0], SiLU; for each pair of widths (c[i], c[i+1]):
a 3x3 conv c[i] -> c[i], SiLU, a stride-2 3x3 conv c[i] -> c[i+1], SiLU;
conv_out c[-1] -> ch[0] (all padding 1). SD's ControlNets use c = (16,
32, 96, 256): three stride-2 convs, the VAE's factor 8.

Outputs: down residuals (one per skip, controlnet_down_blocks.N, 1x1
convs) and the mid residual (controlnet_mid_block), each times the
conditioning scale; the UNet adds them to its skips and to its mid
block's output (unet.forward's residuals).

Single-file names (diffusers' convert_controlnet_checkpoint run
backwards): the encoder under unet.to_ldm's names, input_hint_block.0 =
conv_in, input_hint_block.2k = blocks.(k-1), input_hint_block.(2n+2) =
conv_out for n blocks, zero_convs.N.0 = controlnet_down_blocks.N,
middle_block_out.0 = controlnet_mid_block, all under control_model.
"""

import torch
import torch.nn.functional as F

import unet

HINT_CH = (16, 32, 96, 256)


def encoder_specs(cfg):
    """unet.specs without the decoder half (up blocks, output)."""
    return [s for s in unet.specs(cfg)
            if not s[0].startswith(("up_blocks.", "conv_norm_out.",
                                    "conv_out."))]


def skip_channels(cfg):
    ch = [cfg.ch[0]]
    for i, c in enumerate(cfg.ch):
        ch += [c] * cfg.layers
        if i < len(cfg.ch) - 1:
            ch.append(c)
    return ch


def specs(cfg, hint_ch=HINT_CH):
    """[(name, shape, init, scale)] of a ControlNet for UNet config cfg,
    diffusers naming. The zero convolutions are drawn at random like the
    others: zeros would hide every error behind them."""
    out = list(encoder_specs(cfg))

    def conv(p, o, i, k):
        out.append((p + ".weight", (o, i, k, k), "w", (i * k * k) ** -0.5))
        out.append((p + ".bias", (o,), "b", 0.1))
    e = "controlnet_cond_embedding"
    conv(e + ".conv_in", hint_ch[0], 3, 3)
    b = 0
    for i in range(len(hint_ch) - 1):
        conv("%s.blocks.%d" % (e, b), hint_ch[i], hint_ch[i], 3)
        conv("%s.blocks.%d" % (e, b + 1), hint_ch[i + 1], hint_ch[i], 3)
        b += 2
    conv(e + ".conv_out", cfg.ch[0], hint_ch[-1], 3)
    for i, c in enumerate(skip_channels(cfg)):
        conv("controlnet_down_blocks.%d" % i, c, c, 1)
    conv("controlnet_mid_block", cfg.ch[-1], cfg.ch[-1], 1)
    return out


def random_weights(cfg, seed=0, hint_ch=HINT_CH):
    g = torch.Generator().manual_seed(seed)
    return {n: unet.draw(g, s, i, sc) for n, s, i, sc in
            specs(cfg, hint_ch)}


def hint_embedding(w, hint, dtype=torch.float64):
    e = "controlnet_cond_embedding"

    def conv(p, h, stride=1):
        return F.conv2d(h, w[p + ".weight"].to(dtype),
                        w[p + ".bias"].to(dtype), stride, 1)
    h = F.silu(conv(e + ".conv_in", hint.to(dtype)))
    n = 0
    while "%s.blocks.%d.weight" % (e, n) in w:
        h = F.silu(conv("%s.blocks.%d" % (e, n), h, 2 if n % 2 else 1))
        n += 1
    return conv(e + ".conv_out", h)


def forward(w, cfg, x, t, ctx, hint, scale=1.0, y=None,
            dtype=torch.float64):
    """-> (down residuals, mid residual) for the UNet: x, t, ctx, y as
    unet.forward takes them, hint [1 or N, 3, 8h, 8w] in [0, 1]."""
    emb = hint_embedding(w, hint, dtype)
    if emb.shape[0] != x.shape[0]:
        emb = emb.expand(x.shape[0], -1, -1, -1)
    skips, mid = unet.forward(w, cfg, x, t, ctx, dtype=dtype, y=y,
                              cin_add=emb, encoder_only=True)

    def zc(p, h):
        return F.conv2d(h, w[p + ".weight"].to(dtype),
                        w[p + ".bias"].to(dtype))
    down = [zc("controlnet_down_blocks.%d" % i, s) * scale
            for i, s in enumerate(skips)]
    return down, zc("controlnet_mid_block", mid) * scale


def add(a, b):
    """The sum of two sets of residuals (several ControlNets)."""
    if a is None:
        return b
    return [p + q for p, q in zip(a[0], b[0])], a[1] + b[1]


def config_json(cfg, hint_ch=HINT_CH):
    """controlnet/config.json as diffusers writes it."""
    c = unet.diffusers_config(cfg)
    for k in ("out_channels", "up_block_types"):
        c.pop(k)
    c["_class_name"] = "ControlNetModel"
    c["conditioning_embedding_out_channels"] = list(hint_ch)
    return c


def ldm_names(w, cfg):
    """diffusers name -> single-file name (without control_model.)."""
    prefix = unet._ldm_prefixes(cfg)
    nblocks = sum(1 for k in w if k.startswith(
        "controlnet_cond_embedding.blocks.") and k.endswith(".weight"))
    out = {}
    for k in w:
        if k.startswith("controlnet_cond_embedding."):
            r = k[len("controlnet_cond_embedding."):]
            m, _, tail = r.rpartition(".")
            if m == "conv_in":
                i = 0
            elif m == "conv_out":
                i = 2 * nblocks + 2
            else:
                i = 2 * (int(m.split(".")[1]) + 1)
            out[k] = "input_hint_block.%d.%s" % (i, tail)
        elif k.startswith("controlnet_down_blocks."):
            _, i, tail = k.split(".")
            out[k] = "zero_convs.%s.0.%s" % (i, tail)
        elif k.startswith("controlnet_mid_block."):
            out[k] = "middle_block_out.0." + k.split(".")[-1]
        else:
            out[k] = unet.ldm_name(k, prefix)
    return out


def to_single_file(w, cfg, prefix="control_model."):
    names = ldm_names(w, cfg)
    return {prefix + names[k]: v for k, v in w.items()}
