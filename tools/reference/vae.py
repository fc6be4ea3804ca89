"""vae.py - a float64 PyTorch reference of the Stable Diffusion
AutoencoderKL (decoder and encoder) written from the architecture with plain
torch ops, on a dict of weights in diffusers naming; plus small random
configs and the conversions to LDM (CompVis) names and to the old diffusers
attention names, for the engine tests."""

import math

import numpy as np
import torch
import torch.nn.functional as F

EPS = 1e-6


def config(block_out=(32, 64), layers=1, latent=4, groups=8, in_ch=3,
           out_ch=3, scaling_factor=0.18215):
    return dict(block_out_channels=list(block_out), layers_per_block=layers,
                latent_channels=latent, norm_num_groups=groups,
                in_channels=in_ch, out_channels=out_ch,
                scaling_factor=scaling_factor)


def _resnet_shapes(prefix, cin, cout):
    s = {prefix + ".norm1.weight": (cin,), prefix + ".norm1.bias": (cin,),
         prefix + ".conv1.weight": (cout, cin, 3, 3),
         prefix + ".conv1.bias": (cout,),
         prefix + ".norm2.weight": (cout,), prefix + ".norm2.bias": (cout,),
         prefix + ".conv2.weight": (cout, cout, 3, 3),
         prefix + ".conv2.bias": (cout,)}
    if cin != cout:
        s[prefix + ".conv_shortcut.weight"] = (cout, cin, 1, 1)
        s[prefix + ".conv_shortcut.bias"] = (cout,)
    return s


def _mid_shapes(prefix, c):
    s = {}
    s.update(_resnet_shapes(prefix + ".resnets.0", c, c))
    s.update(_resnet_shapes(prefix + ".resnets.1", c, c))
    a = prefix + ".attentions.0."
    s[a + "group_norm.weight"] = (c,)
    s[a + "group_norm.bias"] = (c,)
    for n in ("to_q", "to_k", "to_v", "to_out.0"):
        s[a + n + ".weight"] = (c, c)
        s[a + n + ".bias"] = (c,)
    return s


def shapes(cfg):
    """name -> shape of every AutoencoderKL weight, diffusers names."""
    boc = cfg["block_out_channels"]
    L, lpb = cfg["latent_channels"], cfg["layers_per_block"]
    n = len(boc)
    s = {"encoder.conv_in.weight": (boc[0], cfg["in_channels"], 3, 3),
         "encoder.conv_in.bias": (boc[0],)}
    cin = boc[0]
    for i in range(n):
        for j in range(lpb):
            s.update(_resnet_shapes("encoder.down_blocks.%d.resnets.%d" %
                                    (i, j), cin if j == 0 else boc[i],
                                    boc[i]))
        cin = boc[i]
        if i < n - 1:
            p = "encoder.down_blocks.%d.downsamplers.0.conv" % i
            s[p + ".weight"] = (boc[i], boc[i], 3, 3)
            s[p + ".bias"] = (boc[i],)
    s.update(_mid_shapes("encoder.mid_block", boc[-1]))
    s["encoder.conv_norm_out.weight"] = (boc[-1],)
    s["encoder.conv_norm_out.bias"] = (boc[-1],)
    s["encoder.conv_out.weight"] = (2 * L, boc[-1], 3, 3)
    s["encoder.conv_out.bias"] = (2 * L,)
    s["quant_conv.weight"] = (2 * L, 2 * L, 1, 1)
    s["quant_conv.bias"] = (2 * L,)
    s["post_quant_conv.weight"] = (L, L, 1, 1)
    s["post_quant_conv.bias"] = (L,)
    s["decoder.conv_in.weight"] = (boc[-1], L, 3, 3)
    s["decoder.conv_in.bias"] = (boc[-1],)
    s.update(_mid_shapes("decoder.mid_block", boc[-1]))
    rev = list(reversed(boc))
    cin = rev[0]
    for i in range(n):
        for j in range(lpb + 1):
            s.update(_resnet_shapes("decoder.up_blocks.%d.resnets.%d" %
                                    (i, j), cin if j == 0 else rev[i],
                                    rev[i]))
        cin = rev[i]
        if i < n - 1:
            p = "decoder.up_blocks.%d.upsamplers.0.conv" % i
            s[p + ".weight"] = (rev[i], rev[i], 3, 3)
            s[p + ".bias"] = (rev[i],)
    s["decoder.conv_norm_out.weight"] = (boc[0],)
    s["decoder.conv_norm_out.bias"] = (boc[0],)
    s["decoder.conv_out.weight"] = (cfg["out_channels"], boc[0], 3, 3)
    s["decoder.conv_out.bias"] = (cfg["out_channels"],)
    return s


def iter_random(cfg, seed=0, dry=False):
    """(name, tensor) pairs drawn one at a time, scaled so activations
    stay O(1) through the network (dry: meta tensors, shapes only)."""
    g = torch.Generator().manual_seed(seed)
    for name, shp in shapes(cfg).items():
        if dry:
            yield name, torch.empty(shp, device="meta")
            continue
        if name.endswith(".weight") and len(shp) == 1:      # norms
            t = 1.0 + 0.1 * torch.randn(shp, generator=g)
        elif name.endswith(".bias"):
            t = 0.1 * torch.randn(shp, generator=g)
        else:
            fan_in = int(np.prod(shp[1:]))
            t = torch.randn(shp, generator=g) / math.sqrt(fan_in)
        yield name, t.float()


def random_weights(cfg, seed=0):
    """Weights scaled so activations stay O(1) through the network."""
    return dict(iter_random(cfg, seed))


def sdxl_config():
    """SDXL's VAE (stabilityai/sdxl-vae, the vae/ of the base model): the
    SD architecture unchanged (128/256/512/512, 2 layers, 32 groups, 4
    latent channels, 83,653,863 parameters), only scaling_factor 0.13025
    instead of 0.18215. Its config also sets force_upcast (the trained
    weights overflow float16 in the decoder), which random weights do
    not need. In single files it sits under first_stage_model. with the
    LDM names of to_ldm, attention q/k/v/proj_out as 1x1 convs, as in
    SD 1.x."""
    return config(block_out=(128, 256, 512, 512), layers=2, latent=4,
                  groups=32, scaling_factor=0.13025)


def as_numpy(w):
    return {k: v.numpy().astype(np.float32) for k, v in w.items()}


def to_ldm(w, cfg):
    """diffusers names -> CompVis names (as under first_stage_model.):
    decoder up_blocks.i is up.(n-1-i); attention linears become 1x1
    convs."""
    n = len(cfg["block_out_channels"])
    out = {}
    for k, v in w.items():
        p = k.split(".")
        if p[0] in ("encoder", "decoder"):
            if p[1] == "down_blocks":
                if p[3] == "resnets":
                    p = p[:1] + ["down", p[2], "block", p[4]] + p[5:]
                else:       # downsamplers.0.conv
                    p = p[:1] + ["down", p[2], "downsample"] + p[5:]
            elif p[1] == "up_blocks":
                lvl = str(n - 1 - int(p[2]))
                if p[3] == "resnets":
                    p = p[:1] + ["up", lvl, "block", p[4]] + p[5:]
                else:
                    p = p[:1] + ["up", lvl, "upsample"] + p[5:]
            elif p[1] == "mid_block":
                if p[2] == "resnets":
                    p = p[:1] + ["mid", "block_%d" % (int(p[3]) + 1)] + \
                        p[4:]
                else:
                    ren = {"group_norm": "norm", "to_q": "q", "to_k": "k",
                           "to_v": "v", "to_out": "proj_out"}
                    rest = p[4:]
                    name = ren[rest[0]]
                    rest = rest[2:] if rest[0] == "to_out" else rest[1:]
                    p = p[:1] + ["mid", "attn_1", name] + rest
                    if v.dim() == 2:
                        v = v.reshape(v.shape[0], v.shape[1], 1, 1)
            elif p[1] == "conv_norm_out":
                p = p[:1] + ["norm_out"] + p[2:]
        k2 = ".".join(p).replace("conv_shortcut", "nin_shortcut")
        out[k2] = v
    return out


def to_old_attention(w):
    """diffusers names with the pre-0.15 attention names."""
    ren = {"to_q": "query", "to_k": "key", "to_v": "value",
           "to_out.0": "proj_attn"}
    out = {}
    for k, v in w.items():
        for a, b in ren.items():
            if ".attentions.0." + a + "." in k:
                k = k.replace(".attentions.0." + a + ".",
                              ".attentions.0." + b + ".")
        out[k] = v
    return out


# --- forward, float64 -------------------------------------------------------

DTYPE = torch.float64   # the training script sets float32


def _w(w, k):
    return w[k].to(DTYPE)


def _gn(w, p, x, groups, silu):
    y = F.group_norm(x, groups, _w(w, p + ".weight"), _w(w, p + ".bias"),
                     EPS)
    return F.silu(y) if silu else y


def _conv(w, p, x, stride=1, pad=1):
    return F.conv2d(x, _w(w, p + ".weight"), _w(w, p + ".bias"),
                    stride=stride, padding=pad)


def _resnet(w, p, x, groups):
    h = _conv(w, p + ".conv1", _gn(w, p + ".norm1", x, groups, True))
    h = _conv(w, p + ".conv2", _gn(w, p + ".norm2", h, groups, True))
    if p + ".conv_shortcut.weight" in w:
        x = _conv(w, p + ".conv_shortcut", x, pad=0)
    return x + h


def _attn(w, p, x, groups):
    N, C, H, W = x.shape
    h = _gn(w, p + ".group_norm", x, groups, False)
    h = h.reshape(N, C, H * W).transpose(1, 2)

    def lin(n, t):
        return t @ _w(w, p + "." + n + ".weight").t() + \
            _w(w, p + "." + n + ".bias")
    q, k, v = lin("to_q", h), lin("to_k", h), lin("to_v", h)
    s = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(C), dim=-1)
    o = lin("to_out.0", s @ v)
    return o.transpose(1, 2).reshape(N, C, H, W) + x


def _mid(w, p, x, groups):
    x = _resnet(w, p + ".resnets.0", x, groups)
    x = _attn(w, p + ".attentions.0", x, groups)
    return _resnet(w, p + ".resnets.1", x, groups)


def decode(w, cfg, z):
    """z [N, latent, h, w] (already divided by the scaling factor) ->
    image [N, out, f h, f w], float64."""
    G = cfg["norm_num_groups"]
    n = len(cfg["block_out_channels"])
    x = _conv(w, "post_quant_conv", z.to(DTYPE), pad=0)
    x = _conv(w, "decoder.conv_in", x)
    x = _mid(w, "decoder.mid_block", x, G)
    for i in range(n):
        for j in range(cfg["layers_per_block"] + 1):
            x = _resnet(w, "decoder.up_blocks.%d.resnets.%d" % (i, j), x, G)
        if i < n - 1:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
            x = _conv(w, "decoder.up_blocks.%d.upsamplers.0.conv" % i, x)
    x = _gn(w, "decoder.conv_norm_out", x, G, True)
    return _conv(w, "decoder.conv_out", x)


def encode(w, cfg, img, clamp=True):
    """image [N, in, H, W] -> (mean, logvar) [N, latent, H/f, W/f],
    logvar clamped to [-30, 20] (unless clamp is False)."""
    G = cfg["norm_num_groups"]
    n = len(cfg["block_out_channels"])
    x = _conv(w, "encoder.conv_in", img.to(DTYPE))
    for i in range(n):
        for j in range(cfg["layers_per_block"]):
            x = _resnet(w, "encoder.down_blocks.%d.resnets.%d" % (i, j), x,
                        G)
        if i < n - 1:
            x = F.pad(x, (0, 1, 0, 1))
            x = _conv(w, "encoder.down_blocks.%d.downsamplers.0.conv" % i,
                      x, stride=2, pad=0)
    x = _mid(w, "encoder.mid_block", x, G)
    x = _gn(w, "encoder.conv_norm_out", x, G, True)
    x = _conv(w, "encoder.conv_out", x)
    x = _conv(w, "quant_conv", x, pad=0)
    L = cfg["latent_channels"]
    return x[:, :L], x[:, L:].clamp(-30.0, 20.0) if clamp else x[:, L:]


def tile_starts(length, tile, overlap):
    """Where tiles of `tile` latents start along an axis of `length` so
    that neighbours overlap by at least `overlap`: spread evenly, the last
    one ending at the edge (the placement vae.c uses)."""
    if length <= tile:
        return [0]
    n = 1 + (length - tile + (tile - overlap) - 1) // (tile - overlap)
    return [(i * (length - tile) + (n - 1) // 2) // (n - 1)
            for i in range(n)]


def _ramp(n, r0, r1):
    p = torch.arange(n, dtype=torch.float64)
    w = torch.ones(n, dtype=torch.float64)
    if r0:
        w = torch.minimum(w, (p + 0.5) / r0)
    if r1:
        w = torch.minimum(w, (n - p - 0.5) / r1)
    return w


def decode_tiled(w, cfg, z, tile, overlap):
    """Tiled decode: every tile decoded alone, weighted by linear ramps
    (overlap * f pixels) on the sides a neighbour overlaps, normalised by
    the sum of weights."""
    f = 2 ** (len(cfg["block_out_channels"]) - 1)
    N, _, h, wd = z.shape
    th, tw = min(tile, h), min(tile, wd)
    ys, xs = tile_starts(h, th, overlap), tile_starts(wd, tw, overlap)
    out = torch.zeros(N, cfg["out_channels"], f * h, f * wd,
                      dtype=torch.float64)
    ws = torch.zeros(f * h, f * wd, dtype=torch.float64)
    r = f * overlap
    for iy, y0 in enumerate(ys):
        for ix, x0 in enumerate(xs):
            t = decode(w, cfg, z[:, :, y0:y0 + th, x0:x0 + tw])
            wy = _ramp(f * th, r if iy > 0 else 0,
                       r if iy < len(ys) - 1 else 0)
            wx = _ramp(f * tw, r if ix > 0 else 0,
                       r if ix < len(xs) - 1 else 0)
            wt = wy[:, None] * wx[None, :]
            out[:, :, f * y0:f * (y0 + th), f * x0:f * (x0 + tw)] += t * wt
            ws[f * y0:f * (y0 + th), f * x0:f * (x0 + tw)] += wt
    return out / ws


def _moments(w, cfg, img):
    """The encoder's output before the split: mean and unclamped
    log-variance stacked on the channels."""
    m, lv = encode(w, cfg, img, clamp=False)
    return torch.cat([m, lv], dim=1)


def encode_tiled(w, cfg, img, tile, overlap):
    """Tiled encode: every tile of tile x tile latents (f * tile pixels)
    encoded alone, its moments (mean and log-variance) weighted by
    linear ramps over `overlap` latents on the sides a neighbour
    overlaps and normalised by the sum of weights, as decode_tiled does
    with pixels; the log-variance clamped after the blend."""
    f = 2 ** (len(cfg["block_out_channels"]) - 1)
    N, _, H, W = img.shape
    h, wd = H // f, W // f
    th, tw = min(tile, h), min(tile, wd)
    ys, xs = tile_starts(h, th, overlap), tile_starts(wd, tw, overlap)
    L = cfg["latent_channels"]
    out = torch.zeros(N, 2 * L, h, wd, dtype=torch.float64)
    ws = torch.zeros(h, wd, dtype=torch.float64)
    for iy, y0 in enumerate(ys):
        for ix, x0 in enumerate(xs):
            t = _moments(w, cfg, img[:, :, f * y0:f * (y0 + th),
                                     f * x0:f * (x0 + tw)])
            wy = _ramp(th, overlap if iy > 0 else 0,
                       overlap if iy < len(ys) - 1 else 0)
            wx = _ramp(tw, overlap if ix > 0 else 0,
                       overlap if ix < len(xs) - 1 else 0)
            wt = wy[:, None] * wx[None, :]
            out[:, :, y0:y0 + th, x0:x0 + tw] += t * wt
            ws[y0:y0 + th, x0:x0 + tw] += wt
    out = out / ws
    return out[:, :L], out[:, L:].clamp(-30.0, 20.0)
