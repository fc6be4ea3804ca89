"""unet.py - reference UNet2DConditionModel (the SD 1.x / 2.x UNet) in
plain float64 PyTorch, written from the published architecture (diffusers'
unet_2d_condition.py, unet_2d_blocks.py, resnet.py, transformer_2d.py,
attention.py): weights in diffusers naming, random small models, and the
mapping to the original LDM names of single-file checkpoints."""

import math

import torch
import torch.nn.functional as F


class Config:
    def __init__(self, ch=(32, 64), layers=1, attn=(True, False), heads=2,
                 ctx_dim=16, in_ch=4, out_ch=4, groups=8, linear_proj=False):
        self.ch = list(ch)
        self.layers = layers
        self.attn = list(attn)
        self.heads = [heads] * len(ch) if isinstance(heads, int) else \
            list(heads)
        self.ctx_dim = ctx_dim
        self.in_ch = in_ch
        self.out_ch = out_ch
        self.groups = groups
        self.linear_proj = linear_proj
        self.temb = 4 * ch[0]


def _block_plan(cfg):
    """Yields (kind, prefix, args) in diffusers naming, in module order."""
    plan = []
    T = cfg.temb
    plan.append(("lin", "time_embedding.linear_1", (T, cfg.ch[0])))
    plan.append(("lin", "time_embedding.linear_2", (T, T)))
    plan.append(("conv", "conv_in", (cfg.ch[0], cfg.in_ch, 3)))
    skip = [cfg.ch[0]]
    ch = cfg.ch[0]
    n = len(cfg.ch)
    for i in range(n):
        for j in range(cfg.layers):
            plan.append(("res", "down_blocks.%d.resnets.%d" % (i, j),
                         (ch, cfg.ch[i])))
            ch = cfg.ch[i]
            if cfg.attn[i]:
                plan.append(("xf", "down_blocks.%d.attentions.%d" % (i, j),
                             (ch,)))
            skip.append(ch)
        if i < n - 1:
            plan.append(("conv", "down_blocks.%d.downsamplers.0.conv" % i,
                         (ch, ch, 3)))
            skip.append(ch)
    plan.append(("res", "mid_block.resnets.0", (ch, ch)))
    plan.append(("xf", "mid_block.attentions.0", (ch,)))
    plan.append(("res", "mid_block.resnets.1", (ch, ch)))
    prev = ch
    for i in range(n):
        dl = n - 1 - i
        oc = cfg.ch[dl]
        for j in range(cfg.layers + 1):
            cin = (prev if j == 0 else oc) + skip.pop()
            plan.append(("res", "up_blocks.%d.resnets.%d" % (i, j),
                         (cin, oc)))
            if cfg.attn[dl]:
                plan.append(("xf", "up_blocks.%d.attentions.%d" % (i, j),
                             (oc,)))
        if i < n - 1:
            plan.append(("conv", "up_blocks.%d.upsamplers.0.conv" % i,
                         (oc, oc, 3)))
        prev = oc
    plan.append(("norm", "conv_norm_out", (cfg.ch[0],)))
    plan.append(("conv", "conv_out", (cfg.out_ch, cfg.ch[0], 3)))
    return plan


def random_weights(cfg, seed=0):
    g = torch.Generator().manual_seed(seed)

    def r(*shape, s=1.0):
        return (torch.randn(*shape, generator=g) * s).float()

    w = {}

    def lin(p, o, i, bias=True):
        w[p + ".weight"] = r(o, i, s=i ** -0.5)
        if bias:
            w[p + ".bias"] = r(o, s=0.1)

    def conv(p, o, i, k):
        w[p + ".weight"] = r(o, i, k, k, s=(i * k * k) ** -0.5)
        w[p + ".bias"] = r(o, s=0.1)

    def norm(p, c):
        w[p + ".weight"] = 1 + r(c, s=0.1)
        w[p + ".bias"] = r(c, s=0.1)

    for kind, p, a in _block_plan(cfg):
        if kind == "lin":
            lin(p, *a)
        elif kind == "conv":
            conv(p, *a)
        elif kind == "norm":
            norm(p, *a)
        elif kind == "res":
            cin, cout = a
            norm(p + ".norm1", cin)
            conv(p + ".conv1", cout, cin, 3)
            lin(p + ".time_emb_proj", cout, cfg.temb)
            norm(p + ".norm2", cout)
            conv(p + ".conv2", cout, cout, 3)
            if cin != cout:
                conv(p + ".conv_shortcut", cout, cin, 1)
        elif kind == "xf":
            (c,) = a
            norm(p + ".norm", c)
            if cfg.linear_proj:
                lin(p + ".proj_in", c, c)
                lin(p + ".proj_out", c, c)
            else:
                conv(p + ".proj_in", c, c, 1)
                conv(p + ".proj_out", c, c, 1)
            b = p + ".transformer_blocks.0"
            for nm in ("norm1", "norm2", "norm3"):
                norm(b + "." + nm, c)
            for at, kv in (("attn1", c), ("attn2", cfg.ctx_dim)):
                lin(b + "." + at + ".to_q", c, c, bias=False)
                lin(b + "." + at + ".to_k", c, kv, bias=False)
                lin(b + "." + at + ".to_v", c, kv, bias=False)
                lin(b + "." + at + ".to_out.0", c, c)
            lin(b + ".ff.net.0.proj", 8 * c, c)
            lin(b + ".ff.net.2", c, 4 * c)
    return w


def timestep_embedding(t, dim, dtype=torch.float64):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) *
                      torch.arange(half, dtype=torch.float64,
                                   device=t.device) / half)
    a = t.double()[:, None] * freqs[None]
    return torch.cat([torch.cos(a), torch.sin(a)], dim=-1).to(dtype)


def forward(w, cfg, x, t, ctx, dtype=torch.float64):
    """dtype float32 for full-size models: float64 would double the
    memory of 860M weights."""
    w = {k: v.to(dtype) for k, v in w.items()}
    x = x.to(dtype)
    ctx = ctx.to(dtype)

    def lin(p, h, bias=True):
        return F.linear(h, w[p + ".weight"].reshape(
            w[p + ".weight"].shape[0], -1), w.get(p + ".bias") if bias
            else None)

    def conv(p, h, stride=1, pad=1):
        return F.conv2d(h, w[p + ".weight"], w[p + ".bias"], stride, pad)

    def gn(p, h, eps, silu):
        h = F.group_norm(h, cfg.groups, w[p + ".weight"], w[p + ".bias"],
                         eps)
        return F.silu(h) if silu else h

    def res(p, h, temb):
        y = conv(p + ".conv1", gn(p + ".norm1", h, 1e-5, True))
        y = y + lin(p + ".time_emb_proj", F.silu(temb))[:, :, None, None]
        y = conv(p + ".conv2", gn(p + ".norm2", y, 1e-5, True))
        if p + ".conv_shortcut.weight" in w:
            h = conv(p + ".conv_shortcut", h, 1, 0)
        return h + y

    def attn(p, h, c, heads):
        B, L, C = h.shape
        d = C // heads
        q = lin(p + ".to_q", h, False).reshape(B, L, heads, d).transpose(1, 2)
        k = lin(p + ".to_k", c, False).reshape(B, -1, heads, d).transpose(1, 2)
        v = lin(p + ".to_v", c, False).reshape(B, -1, heads, d).transpose(1, 2)
        s = torch.softmax((q @ k.transpose(-1, -2)) / math.sqrt(d), -1)
        o = (s @ v).transpose(1, 2).reshape(B, L, C)
        return lin(p + ".to_out.0", o)

    def xf(p, h, heads):
        N, C, H, W = h.shape
        r = h
        h = gn(p + ".norm", h, 1e-6, False)
        h = h.reshape(N, C, H * W).transpose(1, 2)
        h = lin(p + ".proj_in", h)
        b = p + ".transformer_blocks.0"

        def ln(nm, v):
            return F.layer_norm(v, (C,), w[b + "." + nm + ".weight"],
                                w[b + "." + nm + ".bias"], 1e-5)
        a = ln("norm1", h)
        h = h + attn(b + ".attn1", a, a, heads)
        h = h + attn(b + ".attn2", ln("norm2", h), ctx, heads)
        g = lin(b + ".ff.net.0.proj", ln("norm3", h))
        hid, gate = g.chunk(2, dim=-1)
        h = h + lin(b + ".ff.net.2", hid * F.gelu(gate))
        h = lin(p + ".proj_out", h)
        return h.transpose(1, 2).reshape(N, C, H, W) + r

    temb = timestep_embedding(t, cfg.ch[0], dtype)
    temb = lin("time_embedding.linear_2",
               F.silu(lin("time_embedding.linear_1", temb)))
    h = conv("conv_in", x)
    skips = [h]
    n = len(cfg.ch)
    for i in range(n):
        for j in range(cfg.layers):
            h = res("down_blocks.%d.resnets.%d" % (i, j), h, temb)
            if cfg.attn[i]:
                h = xf("down_blocks.%d.attentions.%d" % (i, j), h,
                       cfg.heads[i])
            skips.append(h)
        if i < n - 1:
            h = conv("down_blocks.%d.downsamplers.0.conv" % i, h, 2, 1)
            skips.append(h)
    h = res("mid_block.resnets.0", h, temb)
    h = xf("mid_block.attentions.0", h, cfg.heads[-1])
    h = res("mid_block.resnets.1", h, temb)
    for i in range(n):
        dl = n - 1 - i
        for j in range(cfg.layers + 1):
            h = torch.cat([h, skips.pop()], dim=1)
            h = res("up_blocks.%d.resnets.%d" % (i, j), h, temb)
            if cfg.attn[dl]:
                h = xf("up_blocks.%d.attentions.%d" % (i, j), h,
                       cfg.heads[dl])
        if i < n - 1:
            h = F.interpolate(h, scale_factor=2.0, mode="nearest")
            h = conv("up_blocks.%d.upsamplers.0.conv" % i, h)
    h = gn("conv_norm_out", h, 1e-5, True)
    return conv("conv_out", h)


_RES_LDM = {"norm1": "in_layers.0", "conv1": "in_layers.2",
            "time_emb_proj": "emb_layers.1", "norm2": "out_layers.0",
            "conv2": "out_layers.3", "conv_shortcut": "skip_connection"}


def to_ldm(w, cfg):
    """diffusers names -> CompVis LDM names (single-file checkpoints)."""
    n = len(cfg.ch)
    L = cfg.layers
    prefix = {"time_embedding.linear_1": "time_embed.0",
              "time_embedding.linear_2": "time_embed.2",
              "conv_in": "input_blocks.0.0", "conv_norm_out": "out.0",
              "conv_out": "out.2", "mid_block.resnets.0": "middle_block.0",
              "mid_block.attentions.0": "middle_block.1",
              "mid_block.resnets.1": "middle_block.2"}
    idx = 1
    for i in range(n):
        for j in range(L):
            prefix["down_blocks.%d.resnets.%d" % (i, j)] = \
                "input_blocks.%d.0" % idx
            prefix["down_blocks.%d.attentions.%d" % (i, j)] = \
                "input_blocks.%d.1" % idx
            idx += 1
        if i < n - 1:
            prefix["down_blocks.%d.downsamplers.0.conv" % i] = \
                "input_blocks.%d.0.op" % idx
            idx += 1
    for i in range(n):
        dl = n - 1 - i
        for j in range(L + 1):
            k = i * (L + 1) + j
            prefix["up_blocks.%d.resnets.%d" % (i, j)] = \
                "output_blocks.%d.0" % k
            prefix["up_blocks.%d.attentions.%d" % (i, j)] = \
                "output_blocks.%d.1" % k
        if i < n - 1:
            k = i * (L + 1) + L
            prefix["up_blocks.%d.upsamplers.0.conv" % i] = \
                "output_blocks.%d.%d.conv" % (k, 2 if cfg.attn[dl] else 1)
    out = {}
    for name, v in w.items():
        best = max((p for p in prefix if name.startswith(p + ".")),
                   key=len)
        rest = name[len(best) + 1:]
        if ".resnets." in best or best in ("mid_block.resnets.0",
                                           "mid_block.resnets.1"):
            part, _, tail = rest.partition(".")
            rest = _RES_LDM[part] + "." + tail
        out[prefix[best] + "." + rest] = v
    return out
