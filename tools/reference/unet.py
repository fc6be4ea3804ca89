"""unet.py - reference UNet2DConditionModel (the SD 1.x / 2.x / SDXL UNet)
in plain PyTorch, written from the published architecture (diffusers'
unet_2d_condition.py, unet_2d_blocks.py, resnet.py, transformer_2d.py,
attention.py, embeddings.py): weights in diffusers naming, random models of
any size (streamed to disk for the full SDXL UNet), and the mapping to the
original LDM / SGM names of single-file checkpoints.

SDXL differs from SD 1.x/2.x only in configuration plus one addition:
  - levels without attention (DownBlock2D / UpBlock2D at 320 channels);
  - several transformer blocks per attention (transformer_layers_per_block
    [1, 2, 10]; the mid block takes the last entry, 10; up blocks the
    reversed list);
  - heads of 64 channels: diffusers' config spells the head COUNT
    [5, 10, 20] as attention_head_dim (its documented naming quirk);
  - linear proj_in / proj_out (use_linear_projection);
  - addition_embed_type "text_time": the 6 time ids (original h, w, crop
    top, left, target h, w) each go through the sinusoidal embedding of
    addition_time_embed_dim = 256 (flip_sin_to_cos, shift 0, the same
    formula as the timestep), flattened, appended to the pooled text
    embedding (1280) -> 2816 -> add_embedding (linear_1, SiLU, linear_2),
    added to the time embedding before the blocks. SGM names it
    label_emb.0.0 / label_emb.0.2 and builds the same vector (conditioner
    order: pooled bigG, original_size, crop_coords, target_size).

Precision: float64 for the small test models; the full SDXL UNet (2.57 G
parameters) runs in float32 (float64 weights alone would be 20.5 GB). The
weights may stay float16 (as read from an F16 file): forward() converts
each one when it is used, so the full model needs about 5.1 GB of weights
plus activations, and attention is computed in query chunks above 256 MB
of scores. Measured on the 2-vCPU AVX-512 build machine (shared with other
jobs), float32, batch 2 (CFG), weights mapped F16 from write_random's
file (written in 35 s at 0.54 GB peak RSS):
  256 x 256 (latent 32 x 32):     10.4 s, peak RSS 5.4 GB
  1024 x 1024 (latent 128 x 128): 136 s wall / 177 CPU-s (310 s when
                                  the other jobs took the cores), peak
                                  RSS 6.5 GB"""

import math

import numpy as np
import torch
import torch.nn.functional as F

# Score matrices above this many bytes are computed in query chunks.
ATTN_CHUNK_BYTES = 256 << 20


class Config:
    """ch: block_out_channels; layers: layers_per_block; attn: whether
    each level has cross-attention; heads: head count per level (int or
    list); depth: transformer blocks per attention, per level (ignored
    where attn is False); mid_depth: the mid block's (default depth[-1]);
    adm_in: projection_class_embeddings_input_dim for SDXL's text_time
    conditioning (None: no add_embedding); time_ids_dim: the sinusoidal
    width of each time id (addition_time_embed_dim)."""

    def __init__(self, ch=(32, 64), layers=1, attn=(True, False), heads=2,
                 ctx_dim=16, in_ch=4, out_ch=4, groups=8, linear_proj=False,
                 depth=1, mid_depth=None, adm_in=None, time_ids_dim=256):
        n = len(ch)
        self.ch = list(ch)
        self.layers = layers
        self.attn = list(attn)
        self.heads = [heads] * n if isinstance(heads, int) else list(heads)
        self.ctx_dim = ctx_dim
        self.in_ch = in_ch
        self.out_ch = out_ch
        self.groups = groups
        self.linear_proj = linear_proj
        self.temb = 4 * ch[0]
        self.depth = [depth] * n if isinstance(depth, int) else list(depth)
        self.mid_depth = self.depth[-1] if mid_depth is None else mid_depth
        self.adm_in = adm_in
        self.time_ids_dim = time_ids_dim


def sdxl_config():
    """stabilityai/stable-diffusion-xl-base-1.0's unet/config.json."""
    return Config(ch=(320, 640, 1280), layers=2, attn=(False, True, True),
                  heads=(5, 10, 20), ctx_dim=2048, groups=32,
                  linear_proj=True, depth=(1, 2, 10), adm_in=2816)


SDXL_PARAMS = 2567463684     # parameters of the SDXL base UNet
SDXL_TENSORS = 1680          # tensors in its diffusion_pytorch_model


def _block_plan(cfg):
    """Yields (kind, prefix, args) in diffusers naming, in module order."""
    plan = []
    T = cfg.temb
    plan.append(("lin", "time_embedding.linear_1", (T, cfg.ch[0])))
    plan.append(("lin", "time_embedding.linear_2", (T, T)))
    if cfg.adm_in:
        plan.append(("lin", "add_embedding.linear_1", (T, cfg.adm_in)))
        plan.append(("lin", "add_embedding.linear_2", (T, T)))
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
                             (ch, cfg.depth[i])))
            skip.append(ch)
        if i < n - 1:
            plan.append(("conv", "down_blocks.%d.downsamplers.0.conv" % i,
                         (ch, ch, 3)))
            skip.append(ch)
    plan.append(("res", "mid_block.resnets.0", (ch, ch)))
    plan.append(("xf", "mid_block.attentions.0", (ch, cfg.mid_depth)))
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
                             (oc, cfg.depth[dl])))
        if i < n - 1:
            plan.append(("conv", "up_blocks.%d.upsamplers.0.conv" % i,
                         (oc, oc, 3)))
        prev = oc
    plan.append(("norm", "conv_norm_out", (cfg.ch[0],)))
    plan.append(("conv", "conv_out", (cfg.out_ch, cfg.ch[0], 3)))
    return plan


def specs(cfg):
    """[(name, shape, init, scale)] of every weight in diffusers naming,
    in the order random_weights draws them. init: "w" (randn * scale),
    "b" (randn * 0.1), "n" (1 + randn * 0.1)."""
    out = []

    def lin(p, o, i, bias=True):
        out.append((p + ".weight", (o, i), "w", i ** -0.5))
        if bias:
            out.append((p + ".bias", (o,), "b", 0.1))

    def conv(p, o, i, k):
        out.append((p + ".weight", (o, i, k, k), "w", (i * k * k) ** -0.5))
        out.append((p + ".bias", (o,), "b", 0.1))

    def norm(p, c):
        out.append((p + ".weight", (c,), "n", 0.1))
        out.append((p + ".bias", (c,), "b", 0.1))

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
            c, depth = a
            norm(p + ".norm", c)
            if cfg.linear_proj:
                lin(p + ".proj_in", c, c)
                lin(p + ".proj_out", c, c)
            else:
                conv(p + ".proj_in", c, c, 1)
                conv(p + ".proj_out", c, c, 1)
            for d in range(depth):
                b = p + ".transformer_blocks.%d" % d
                for nm in ("norm1", "norm2", "norm3"):
                    norm(b + "." + nm, c)
                for at, kv in (("attn1", c), ("attn2", cfg.ctx_dim)):
                    lin(b + "." + at + ".to_q", c, c, bias=False)
                    lin(b + "." + at + ".to_k", c, kv, bias=False)
                    lin(b + "." + at + ".to_v", c, kv, bias=False)
                    lin(b + "." + at + ".to_out.0", c, c)
                lin(b + ".ff.net.0.proj", 8 * c, c)
                lin(b + ".ff.net.2", c, 4 * c)
    return out


def draw(g, shape, init, scale):
    """One random tensor, float32, scaled so activations stay O(1)."""
    if init == "n":
        return 1 + (torch.randn(*shape, generator=g) * scale).float()
    return (torch.randn(*shape, generator=g) * scale).float()


def iter_random(cfg, seed=0, dry=False):
    """(name, tensor) pairs in diffusers naming, drawn one at a time;
    dry=True gives empty tensors on the meta device instead (shapes only,
    no memory), for headers and name maps."""
    g = torch.Generator().manual_seed(seed)
    for name, shape, init, s in specs(cfg):
        if dry:
            yield name, torch.empty(shape, device="meta")
        else:
            yield name, draw(g, shape, init, s)


def random_weights(cfg, seed=0):
    """All weights at once: for small models (the full SDXL UNet would
    take 10.3 GB of float32; use write_random for it)."""
    return dict(iter_random(cfg, seed))


def write_random(path, cfg, seed=0, dtype=np.float16, naming="diffusers",
                 prefix=None, metadata=None):
    """Streams random weights into a safetensors file, one tensor at a
    time. naming "diffusers" (prefix default "") or "ldm" (the single-file
    names, prefix default "model.diffusion_model."). Returns the number of
    parameters written."""
    import st_io
    code = {np.float16: "F16", np.float32: "F32"}[dtype]
    if prefix is None:
        prefix = "" if naming == "diffusers" else "model.diffusion_model."
    names = ldm_names(cfg) if naming == "ldm" else None

    def rename(k):
        return prefix + (names[k] if names else k)
    entries = [(rename(k), code, tuple(v.shape))
               for k, v in iter_random(cfg, dry=True)]
    arrays = (v.numpy().astype(dtype) for _, v in iter_random(cfg, seed))
    st_io.write_stream(path, entries, arrays, metadata)
    return sum(int(np.prod(s)) for _, _, s in entries)


def diffusers_config(cfg):
    """unet/config.json for cfg, as diffusers writes it (head counts in
    attention_head_dim, see the module docstring)."""
    n = len(cfg.ch)
    c = {"_class_name": "UNet2DConditionModel",
         "block_out_channels": list(cfg.ch),
         "layers_per_block": cfg.layers,
         "attention_head_dim": list(cfg.heads),
         "cross_attention_dim": cfg.ctx_dim,
         "norm_num_groups": cfg.groups, "norm_eps": 1e-5,
         "in_channels": cfg.in_ch, "out_channels": cfg.out_ch,
         "use_linear_projection": cfg.linear_proj,
         "flip_sin_to_cos": True, "freq_shift": 0,
         "down_block_types": ["CrossAttnDownBlock2D" if a else "DownBlock2D"
                              for a in cfg.attn],
         "up_block_types": ["CrossAttnUpBlock2D" if cfg.attn[n - 1 - i]
                            else "UpBlock2D" for i in range(n)],
         "mid_block_type": "UNetMidBlock2DCrossAttn",
         "transformer_layers_per_block": list(cfg.depth)}
    if cfg.mid_depth != cfg.depth[-1]:
        raise ValueError("diffusers gives the mid block depth[-1]")
    if cfg.adm_in:
        c.update(addition_embed_type="text_time",
                 addition_time_embed_dim=cfg.time_ids_dim,
                 projection_class_embeddings_input_dim=cfg.adm_in)
    return c


def timestep_embedding(t, dim, dtype=torch.float64):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) *
                      torch.arange(half, dtype=torch.float64,
                                   device=t.device) / half)
    a = t.double()[:, None] * freqs[None]
    return torch.cat([torch.cos(a), torch.sin(a)], dim=-1).to(dtype)


def add_embeds(text_embeds, time_ids, dim=256, dtype=torch.float64):
    """SDXL's add_embedding input: text_embeds [B, P] (pooled bigG), time
    ids [B, 6] = (orig h, orig w, crop top, crop left, target h, target w)
    -> [B, P + 6 * dim]: diffusers' add_time_proj(time_ids.flatten())
    reshaped to [B, 6 * dim], after the text embedding."""
    B = text_embeds.shape[0]
    te = timestep_embedding(time_ids.reshape(-1), dim, dtype).reshape(B, -1)
    return torch.cat([text_embeds.to(dtype), te], dim=-1)


def forward(w, cfg, x, t, ctx, dtype=torch.float64, y=None, lora=None,
            cin_add=None, encoder_only=False, residuals=None):
    """x [N, in, H, W], t [N], ctx [N, L, ctx_dim], y [N, adm_in] (SDXL,
    from add_embeds). Weights in diffusers naming, any float dtype: each
    is converted to dtype where it is used. dtype float32 for full-size
    models. lora: {module name: (down, up, scale)} adds scale * up(down(h))
    to that Linear / Conv2d's output (the unmerged LoRA path, see
    lora.py). ControlNet (controlnet.py): cin_add is added to conv_in's
    output; encoder_only returns (skips, mid-block output) instead of
    running the up path; residuals = (down list, mid) are added to the
    skips and the mid block's output (diffusers'
    down_block_additional_residuals, mid_block_additional_residual)."""
    x = x.to(dtype)
    ctx = ctx.to(dtype)
    lora = lora or {}

    def W(k):
        return w[k].to(dtype)

    def lin(p, h, bias=True):
        wt = W(p + ".weight")
        o = F.linear(h, wt.reshape(wt.shape[0], -1),
                     W(p + ".bias") if bias and p + ".bias" in w else None)
        if p in lora:
            down, up, s = lora[p]
            d = down.to(dtype).reshape(down.shape[0], -1)
            u = up.to(dtype).reshape(up.shape[0], -1)
            o = o + s * F.linear(F.linear(h, d), u)
        return o

    def conv(p, h, stride=1, pad=1):
        o = F.conv2d(h, W(p + ".weight"), W(p + ".bias"), stride, pad)
        if p in lora:
            down, up, s = lora[p]
            d, u = down.to(dtype), up.to(dtype)
            if d.dim() == 2:
                d, u = d[:, :, None, None], u[:, :, None, None]
            o = o + s * F.conv2d(F.conv2d(h, d, None, stride, pad), u)
        return o

    def gn(p, h, eps, silu):
        h = F.group_norm(h, cfg.groups, W(p + ".weight"), W(p + ".bias"),
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
        kt = k.transpose(-1, -2)
        rows = max(1, ATTN_CHUNK_BYTES //
                   (B * heads * k.shape[2] * q.element_size()))
        if rows >= L:
            s = torch.softmax((q @ kt) / math.sqrt(d), -1)
            o = s @ v
        else:
            o = torch.cat([torch.softmax((q[:, :, i:i + rows] @ kt) /
                                         math.sqrt(d), -1) @ v
                           for i in range(0, L, rows)], dim=2)
        o = o.transpose(1, 2).reshape(B, L, C)
        return lin(p + ".to_out.0", o)

    def xf(p, h, heads, depth):
        N, C, H, W_ = h.shape
        r = h
        h = gn(p + ".norm", h, 1e-6, False)
        h = h.reshape(N, C, H * W_).transpose(1, 2)
        h = lin(p + ".proj_in", h)
        for blk in range(depth):
            b = p + ".transformer_blocks.%d" % blk

            def ln(nm, v):
                return F.layer_norm(v, (C,), W(b + "." + nm + ".weight"),
                                    W(b + "." + nm + ".bias"), 1e-5)
            a = ln("norm1", h)
            h = h + attn(b + ".attn1", a, a, heads)
            h = h + attn(b + ".attn2", ln("norm2", h), ctx, heads)
            g = lin(b + ".ff.net.0.proj", ln("norm3", h))
            hid, gate = g.chunk(2, dim=-1)
            h = h + lin(b + ".ff.net.2", hid * F.gelu(gate))
        h = lin(p + ".proj_out", h)
        return h.transpose(1, 2).reshape(N, C, H, W_) + r

    temb = timestep_embedding(t, cfg.ch[0], dtype)
    temb = lin("time_embedding.linear_2",
               F.silu(lin("time_embedding.linear_1", temb)))
    if cfg.adm_in:
        if y is None or y.shape[-1] != cfg.adm_in:
            raise ValueError("SDXL UNet needs y [N, %d]" % cfg.adm_in)
        temb = temb + lin("add_embedding.linear_2",
                          F.silu(lin("add_embedding.linear_1", y.to(dtype))))
    h = conv("conv_in", x)
    if cin_add is not None:
        h = h + cin_add.to(dtype)
    skips = [h]
    n = len(cfg.ch)
    for i in range(n):
        for j in range(cfg.layers):
            h = res("down_blocks.%d.resnets.%d" % (i, j), h, temb)
            if cfg.attn[i]:
                h = xf("down_blocks.%d.attentions.%d" % (i, j), h,
                       cfg.heads[i], cfg.depth[i])
            skips.append(h)
        if i < n - 1:
            h = conv("down_blocks.%d.downsamplers.0.conv" % i, h, 2, 1)
            skips.append(h)
    h = res("mid_block.resnets.0", h, temb)
    h = xf("mid_block.attentions.0", h, cfg.heads[-1], cfg.mid_depth)
    h = res("mid_block.resnets.1", h, temb)
    if encoder_only:
        return skips, h
    if residuals is not None:
        down, mid = residuals
        assert len(down) == len(skips)
        skips = [s + r.to(dtype) for s, r in zip(skips, down)]
        h = h + mid.to(dtype)
    for i in range(n):
        dl = n - 1 - i
        for j in range(cfg.layers + 1):
            h = torch.cat([h, skips.pop()], dim=1)
            h = res("up_blocks.%d.resnets.%d" % (i, j), h, temb)
            if cfg.attn[dl]:
                h = xf("up_blocks.%d.attentions.%d" % (i, j), h,
                       cfg.heads[dl], cfg.depth[dl])
        if i < n - 1:
            h = F.interpolate(h, scale_factor=2.0, mode="nearest")
            h = conv("up_blocks.%d.upsamplers.0.conv" % i, h)
    h = gn("conv_norm_out", h, 1e-5, True)
    return conv("conv_out", h)


# --- diffusers <-> LDM / SGM names -------------------------------------------

_RES_LDM = {"norm1": "in_layers.0", "conv1": "in_layers.2",
            "time_emb_proj": "emb_layers.1", "norm2": "out_layers.0",
            "conv2": "out_layers.3", "conv_shortcut": "skip_connection"}


def _ldm_prefixes(cfg):
    """diffusers module prefix -> LDM prefix. Matches diffusers'
    scripts/convert_diffusers_to_original_sdxl.py, its single-file
    DIFFUSERS_TO_LDM_MAPPING (label_emb.0.0 / 0.2) and sd.cpp's
    convert_diffusers_unet_to_original_sdxl: the upsampler of a level with
    attention is output_blocks.K.2.conv, without attention K.1.conv."""
    n = len(cfg.ch)
    L = cfg.layers
    prefix = {"time_embedding.linear_1": "time_embed.0",
              "time_embedding.linear_2": "time_embed.2",
              "add_embedding.linear_1": "label_emb.0.0",
              "add_embedding.linear_2": "label_emb.0.2",
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
    return prefix


def ldm_name(name, prefix):
    """One diffusers weight or module name -> LDM, given _ldm_prefixes."""
    if name in prefix:
        return prefix[name]
    best = max((p for p in prefix if name.startswith(p + ".")), key=len)
    rest = name[len(best) + 1:]
    if ".resnets." in best:
        part, _, tail = rest.partition(".")
        rest = _RES_LDM[part] + ("." + tail if tail else "")
    return prefix[best] + "." + rest


def ldm_names(cfg):
    """diffusers weight name -> LDM / SGM weight name, for every weight."""
    prefix = _ldm_prefixes(cfg)
    return {k: ldm_name(k, prefix) for k, _, _, _ in specs(cfg)}


def to_ldm(w, cfg):
    """diffusers names -> CompVis LDM / SGM names (single-file checkpoints,
    under model.diffusion_model.)."""
    prefix = _ldm_prefixes(cfg)
    return {ldm_name(k, prefix): v for k, v in w.items()}


_RES_DIFFUSERS = {v: k for k, v in _RES_LDM.items()}


def from_ldm(w, layers):
    """LDM / SGM names -> diffusers names, by parsing each name the way
    diffusers' convert_ldm_unet_checkpoint does (block = (i - 1) //
    (layers + 1) for input_blocks.i, i // (layers + 1) for output_blocks;
    sub-module 0 resnet or op, 1 attention or (no attention) the upsampler,
    2 the upsampler). Written independently of to_ldm so that the two
    check each other."""
    L1 = layers + 1
    fixed = {"time_embed.0": "time_embedding.linear_1",
             "time_embed.2": "time_embedding.linear_2",
             "label_emb.0.0": "add_embedding.linear_1",
             "label_emb.0.2": "add_embedding.linear_2",
             "input_blocks.0.0": "conv_in", "out.0": "conv_norm_out",
             "out.2": "conv_out"}

    def res(prefix, rest):
        for k, v in _RES_DIFFUSERS.items():
            if rest.startswith(k + "."):
                return prefix + "." + v + rest[len(k):]
        raise KeyError(rest)

    out = {}
    for name, v in w.items():
        head = [k for k in fixed if name.startswith(k + ".")]
        if head:
            out[fixed[head[0]] + name[len(head[0]):]] = v
            continue
        p = name.split(".")
        blk, i, j, rest = p[0], int(p[1]), p[2], ".".join(p[3:])
        if blk == "input_blocks":
            b, l = (i - 1) // L1, (i - 1) % L1
            if j == "0" and rest.startswith("op."):
                new = "down_blocks.%d.downsamplers.0.conv.%s" % (b, rest[3:])
            elif j == "0":
                new = res("down_blocks.%d.resnets.%d" % (b, l), rest)
            else:
                new = "down_blocks.%d.attentions.%d.%s" % (b, l, rest)
        elif blk == "middle_block":
            if i == 1:
                new = "mid_block.attentions.0." + ".".join(p[2:])
            else:
                new = res("mid_block.resnets.%d" % (i // 2),
                          ".".join(p[2:]))
        elif blk == "output_blocks":
            b, l = i // L1, i % L1
            if j == "0":
                new = res("up_blocks.%d.resnets.%d" % (b, l), rest)
            elif j == "2" or rest.startswith("conv."):
                new = "up_blocks.%d.upsamplers.0.%s" % (b, rest)
            else:
                new = "up_blocks.%d.attentions.%d.%s" % (b, l, rest)
        else:
            raise KeyError(name)
        out[new] = v
    return out
