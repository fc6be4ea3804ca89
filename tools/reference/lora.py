"""lora.py - LoRA reference: which base weight each LoRA key patches (in
diffusers and in single-file naming), the merged weights, the unmerged
hooks for unet.forward / clip.hidden_states, and random LoRA files for
the tests. Written from kohya sd-scripts (networks/lora.py,
library/sdxl_original_unet.py, original_unet.py), diffusers
(loaders/lora_conversion_utils.py, lora_pipeline.py, utils/peft_utils.py),
AUTOMATIC1111's extensions-builtin/Lora (lora_convert.py) and sd.cpp
(name_conversion.cpp, lora.hpp).

Formats
  kohya (sd-scripts, A1111, ComfyUI, sd.cpp):
    <name>.lora_down.weight  [r, in] (Linear) or [r, C, kh, kw] (Conv2d,
                             same kernel / stride / padding as the base)
    <name>.lora_up.weight    [out, r] or [O, r, 1, 1]
    <name>.alpha             scalar, optional
    name = prefix + module path with "." -> "_":
      lora_unet_   the UNet module; SD 1.x / 2.x files use the diffusers
                   path (sd-scripts trains on a diffusers-shaped UNet:
                   lora_unet_down_blocks_0_attentions_0_proj_in), SDXL files
                   the SGM path (sd-scripts' sdxl_original_unet:
                   lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q,
                   resnets as in_layers_2 / emb_layers_1 / out_layers_3 /
                   skip_connection, downsamplers as op). Both spellings are
                   accepted for every model, as sd-scripts
                   (convert_diffusers_to_sai_if_needed) and A1111 do.
      lora_te_     the SD 1.x / 2.x text encoder, transformers path
                   (lora_te_text_model_encoder_layers_0_self_attn_q_proj)
      lora_te1_ / lora_te2_  SDXL's CLIP-L / bigG, transformers paths
                   (lora_te_ is taken as lora_te1_ there, like diffusers).
    Targets kohya trains: Transformer2DModel's Linear / 1x1 Conv children
    (proj_in, proj_out, attn1/attn2 to_q/k/v/out.0, ff.net.0.proj,
    ff.net.2); with conv_dim (LoCon) also ResnetBlock2D's conv1, conv2,
    time_emb_proj, conv_shortcut and Downsample2D / Upsample2D's conv;
    CLIPAttention q/k/v/out_proj and CLIPMLP fc1/fc2. Other files
    (LyCORIS) may name any Linear / Conv2d (conv_in, time_embedding...),
    so every one is a valid target here.
  diffusers / PEFT:
    <component>.<module>.lora_A.weight  (= down)  component: unet,
    <component>.<module>.lora_B.weight  (= up)    text_encoder,
                                                  text_encoder_2
    module in diffusers / transformers naming.
Scale (per module): multiplier * alpha / r, r = lora_down.shape[0].
  kohya: alpha from <name>.alpha, missing -> alpha = r (scale 1).
    A present alpha of 0 gives 0 as in A1111, diffusers, ComfyUI and
    sd.cpp (sd-scripts' own trainer would read 0 as r).
  PEFT: the safetensors __metadata__ "lora_adapter_metadata" JSON
    ("unet.lora_alpha", "unet.r", "unet.alpha_pattern", "unet.use_rslora",
    ...: use_rslora makes it alpha / sqrt(r)); without it diffusers uses
    alpha = r (scale 1). A <component>.<module>.alpha tensor, which
    diffusers' SD / SDXL loader ignores but sd.cpp and ComfyUI honour, is
    honoured here (peft_alpha_keys=True) - say which in a test.
Merge: W' = W + scale * up @ down (Linear; a 1x1 Conv the same on the
  squeezed weight); 3x3 Conv: W'[o, c] = W[o, c] + scale * sum_r
  up[o, r] down[r, c] (kohya's merge_to). Unmerged: y = base(x) + scale *
  up(down(x)), identical up to rounding.
bigG in single files packs q/k/v into attn.in_proj_weight: a q_proj /
  k_proj / v_proj LoRA patches rows [0, D) / [D, 2D) / [2D, 3D) (A1111
  maps te2 self_attn_{q,k,v}_proj to the in_proj of
  1_model_transformer_resblocks_N_attn).
Not covered: LoHa / LoKr / lora_mid (Tucker) / DoRA (dora_scale) / bias
  diffs - parse() rejects those keys.
"""

import json
import re

import numpy as np
import torch

import unet


class Target:
    """One patchable base weight: component ("unet", "text_encoder",
    "text_encoder_2"), module (its diffusers / transformers path),
    single_file (the full single-file weight key), rows ((start, stop) of
    a packed in_proj_weight, or None), shape (of the weight or its rows),
    kohya (the name sd-scripts writes for it)."""

    def __init__(self, component, module, single_file, rows, shape, kohya):
        self.component = component
        self.module = module
        self.single_file = single_file
        self.rows = rows
        self.shape = tuple(shape)
        self.kohya = kohya

    @property
    def diffusers(self):
        """The weight's key in diffusers naming, component-prefixed."""
        return self.component + "." + self.module + ".weight"

    def __repr__(self):
        return "Target(%s, %s, rows=%s)" % (self.diffusers, self.single_file,
                                            self.rows)


class Encoder:
    def __init__(self, component, kohya_prefixes, cfg, single_file_prefix,
                 openclip):
        self.component = component
        self.kohya_prefixes = kohya_prefixes
        self.cfg = cfg
        self.single_file_prefix = single_file_prefix
        self.openclip = openclip


class Layout:
    """A model's LoRA-patchable weights: unet_cfg (unet.Config), encoders
    (Encoder list), kohya_sgm (whether sd-scripts names its UNet modules
    by the SGM paths, i.e. SDXL)."""

    def __init__(self, unet_cfg, encoders, kohya_sgm,
                 unet_prefix="model.diffusion_model."):
        self.unet_cfg = unet_cfg
        self.encoders = encoders
        self.kohya_sgm = kohya_sgm
        self.unet_prefix = unet_prefix


def sd1_layout(unet_cfg, te):
    return Layout(unet_cfg, [Encoder("text_encoder", ("lora_te_",), te,
                                     "cond_stage_model.transformer.",
                                     False)], False)


def sd2_layout(unet_cfg, te):
    return Layout(unet_cfg, [Encoder("text_encoder", ("lora_te_",), te,
                                     "cond_stage_model.model.", True)],
                  False)


def sdxl_layout(unet_cfg, L, G):
    return Layout(unet_cfg, [
        Encoder("text_encoder", ("lora_te1_", "lora_te_"), L,
                "conditioner.embedders.0.transformer.", False),
        Encoder("text_encoder_2", ("lora_te2_",), G,
                "conditioner.embedders.1.model.", True)], True)


def _flat(s):
    return s.replace(".", "_")


_OC = {"self_attn.out_proj": "attn.out_proj", "mlp.fc1": "mlp.c_fc",
       "mlp.fc2": "mlp.c_proj"}


def targets(layout):
    """[Target] of every Linear / Conv2d of the UNet and every Linear of
    the text encoders' layers."""
    out = []
    ucfg = layout.unet_cfg
    prefix = unet._ldm_prefixes(ucfg)
    for name, shape, _, _ in unet.specs(ucfg):
        if not name.endswith(".weight") or len(shape) not in (2, 4):
            continue
        module = name[:-len(".weight")]
        ldm = unet.ldm_name(module, prefix)
        kohya = "lora_unet_" + _flat(ldm if layout.kohya_sgm else module)
        out.append(Target("unet", module,
                          layout.unet_prefix + ldm + ".weight", None, shape,
                          kohya))
    for enc in layout.encoders:
        D, I = enc.cfg["hidden"], enc.cfg["inter"]
        for i in range(enc.cfg["layers"]):
            base = "text_model.encoder.layers.%d." % i
            oc = "transformer.resblocks.%d." % i
            mods = [("self_attn.%s_proj" % n, (D, D)) for n in "qkv"] + \
                [("self_attn.out_proj", (D, D)), ("mlp.fc1", (I, D)),
                 ("mlp.fc2", (D, I))]
            for sub, shape in mods:
                module = base + sub
                rows = None
                if not enc.openclip:
                    sf = enc.single_file_prefix + module + ".weight"
                elif sub in _OC:
                    sf = enc.single_file_prefix + oc + _OC[sub] + ".weight"
                else:
                    sf = enc.single_file_prefix + oc + "attn.in_proj_weight"
                    k = "qkv".index(sub[len("self_attn.")])
                    rows = (k * D, (k + 1) * D)
                out.append(Target(enc.component, module, sf, rows, shape,
                                  enc.kohya_prefixes[0] + _flat(module)))
    return out


def index(layout):
    """LoRA module key -> Target, for every spelling a file may use: the
    kohya name in both UNet spellings (diffusers and SGM paths), every
    kohya text-encoder prefix, and the PEFT <component>.<module>."""
    idx = {}
    ucfg = layout.unet_cfg
    prefix = unet._ldm_prefixes(ucfg)
    prefixes = {e.component: e.kohya_prefixes for e in layout.encoders}
    for t in targets(layout):
        idx[t.component + "." + t.module] = t
        if t.component == "unet":
            idx["lora_unet_" + _flat(t.module)] = t
            idx["lora_unet_" + _flat(unet.ldm_name(t.module, prefix))] = t
        else:
            for p in prefixes[t.component]:
                idx[p + _flat(t.module)] = t
    return idx


class Module:
    """One parsed LoRA module: key (the name before .lora_down /
    .lora_A), down, up, alpha (float or None), fmt ("kohya" / "peft")."""

    def __init__(self, key, down, up, alpha, fmt):
        self.key = key
        self.down = down
        self.up = up
        self.alpha = alpha
        self.fmt = fmt

    @property
    def rank(self):
        return self.down.shape[0]


_SUFFIX = {".lora_down.weight": ("kohya", "down"),
           ".lora_up.weight": ("kohya", "up"),
           ".lora_A.weight": ("peft", "down"),
           ".lora_B.weight": ("peft", "up"), ".alpha": (None, "alpha")}


def parse(sd):
    """name -> tensor of a LoRA file -> [Module]. Unknown keys (LoHa,
    LoKr, lora_mid, dora_scale, bias diffs) raise ValueError."""
    mods = {}
    for k, v in sd.items():
        for suf, (fmt, part) in _SUFFIX.items():
            if k.endswith(suf):
                m = mods.setdefault(k[:-len(suf)], {})
                m[part] = v
                if fmt:
                    m["fmt"] = fmt
                break
        else:
            raise ValueError("unsupported LoRA tensor %s" % k)
    out = []
    for key, m in mods.items():
        if "down" not in m or "up" not in m:
            raise ValueError("%s: needs both down and up" % key)
        a = m.get("alpha")
        out.append(Module(key, torch.as_tensor(m["down"]),
                          torch.as_tensor(m["up"]),
                          None if a is None else float(a), m["fmt"]))
    return out


def peft_metadata(meta):
    """safetensors __metadata__ -> {component: LoraConfig dict}."""
    if not meta or "lora_adapter_metadata" not in meta:
        return {}
    flat = json.loads(meta["lora_adapter_metadata"])
    out = {}
    for k, v in flat.items():
        comp, _, field = k.partition(".")
        out.setdefault(comp, {})[field] = v
    return out


def _pattern(patterns, module):
    for key, v in (patterns or {}).items():
        if re.fullmatch(r"(.*\.)?" + key, module):
            return v
    return None


def scale(mod, target, metadata=None, peft_alpha_keys=True):
    """alpha / r of one module (see the module docstring)."""
    r = mod.rank
    if mod.fmt == "kohya":
        return 1.0 if mod.alpha is None else mod.alpha / r
    if mod.alpha is not None and peft_alpha_keys:
        return mod.alpha / r
    cfg = (metadata or {}).get(target.component)
    if not cfg or "lora_alpha" not in cfg:
        return 1.0
    alpha = _pattern(cfg.get("alpha_pattern"), target.module)
    alpha = cfg["lora_alpha"] if alpha is None else alpha
    return alpha / (r ** 0.5 if cfg.get("use_rslora") else r)


def delta(mod, target, s, dtype=torch.float64):
    """s * up @ down shaped like the target weight (or its rows)."""
    r = mod.rank
    up = mod.up.to(dtype).reshape(mod.up.shape[0], r)
    down = mod.down.to(dtype).reshape(r, -1)
    d = (up @ down) * s
    if d.numel() != int(np.prod(target.shape)):
        raise ValueError("%s: LoRA gives %s, base is %s" %
                         (mod.key, tuple(d.shape), target.shape))
    return d.reshape(target.shape)


def resolve(lora_sd, layout, metadata=None, multiplier=1.0,
            peft_alpha_keys=True):
    """[(Module, Target, scale * multiplier)]; multiplier may be a float or
    {component: float} (A1111's te / unet multipliers)."""
    idx = index(layout)
    meta = peft_metadata(metadata)
    out = []
    for mod in parse(lora_sd):
        t = idx.get(mod.key)
        if t is None:
            raise ValueError("LoRA module %s matches no base weight" %
                             mod.key)
        m = multiplier.get(t.component, 1.0) \
            if isinstance(multiplier, dict) else multiplier
        out.append((mod, t, m * scale(mod, t, meta, peft_alpha_keys)))
    return out


def merge(base, lora_sd, layout, naming="diffusers", metadata=None,
          multiplier=1.0, dtype=torch.float64, peft_alpha_keys=True):
    """The patched weights: base is name -> tensor in diffusers naming
    (component-prefixed, "unet.conv_in.weight") or in single-file naming
    ("model.diffusion_model.input_blocks.0.0.weight"); unchanged tensors
    are shared, patched ones come back in dtype."""
    out = dict(base)
    for mod, t, s in resolve(lora_sd, layout, metadata, multiplier,
                             peft_alpha_keys):
        key = t.diffusers if naming == "diffusers" else t.single_file
        W = out[key].to(dtype).clone()
        d = delta(mod, t, s, dtype)
        if naming == "diffusers" or t.rows is None:
            W = W + d.reshape(W.shape)
        else:
            W[t.rows[0]:t.rows[1]] += d
        out[key] = W
    return out


def hooks(lora_sd, layout, component, metadata=None, multiplier=1.0,
          peft_alpha_keys=True):
    """{module: (down, up, scale)} of one component, for the `lora`
    argument of unet.forward / clip.hidden_states / sdxl.encode."""
    return {t.module: (mod.down, mod.up, s) for mod, t, s in
            resolve(lora_sd, layout, metadata, multiplier, peft_alpha_keys)
            if t.component == component}


def kohya_default(t):
    """Whether sd-scripts' LoRA (with conv_dim) trains this target."""
    if t.component != "unet":
        return True
    m = t.module
    if ".attentions." in m:
        return True
    return bool(re.search(r"\.(resnets\.\d+\.(conv1|conv2|time_emb_proj|"
                          r"conv_shortcut)|downsamplers\.0\.conv|"
                          r"upsamplers\.0\.conv)$", m))


def random_kohya(layout, rank=4, conv_rank=None, alpha=2.0, seed=0,
                 components=None, select=kohya_default):
    """A kohya-format LoRA (float32 tensors) over the targets select()
    keeps, named as sd-scripts names them. Convolutions with a kernel
    larger than 1 get LoCon factors of conv_rank (skipped when None);
    alpha None leaves the alpha tensors out (scale 1). Factors are sized
    so a patch changes a layer's output by roughly half its scale."""
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for t in targets(layout):
        if components and t.component not in components:
            continue
        if not select(t):
            continue
        big = len(t.shape) == 4 and t.shape[2] > 1
        r = conv_rank if big else rank
        if r is None:
            continue
        fan_in = int(np.prod(t.shape[1:]))
        if len(t.shape) == 4:
            down = torch.randn(r, *t.shape[1:], generator=g) * fan_in ** -0.5
            up = torch.randn(t.shape[0], r, 1, 1, generator=g) * \
                0.5 * r ** -0.5
        else:
            down = torch.randn(r, t.shape[1], generator=g) * fan_in ** -0.5
            up = torch.randn(t.shape[0], r, generator=g) * 0.5 * r ** -0.5
        sd[t.kohya + ".lora_down.weight"] = down.float()
        sd[t.kohya + ".lora_up.weight"] = up.float()
        if alpha is not None:
            sd[t.kohya + ".alpha"] = torch.tensor(float(alpha))
    return sd


def kohya_to_peft(sd, layout, fold_alpha=True):
    """The same LoRA in diffusers / PEFT naming. fold_alpha: alpha / r is
    multiplied into lora_B and no alpha is kept (what diffusers loads with
    scale 1); otherwise the alpha tensors stay as
    <component>.<module>.alpha."""
    out = {}
    for mod, t, s in resolve(sd, layout):
        p = t.component + "." + t.module
        up = mod.up * s if fold_alpha else mod.up
        out[p + ".lora_A.weight"] = mod.down
        out[p + ".lora_B.weight"] = up
        if not fold_alpha and mod.alpha is not None:
            out[p + ".alpha"] = torch.tensor(mod.alpha)
    return out


def save(path, sd, dtype=np.float16, metadata=None):
    """Writes a LoRA (0-d alpha tensors stay 0-d, as sd-scripts saves
    them)."""
    import st_io
    code = {np.float16: "F16", np.float32: "F32"}[dtype]
    st_io.write_stream(path, [(k, code, tuple(v.shape))
                              for k, v in sd.items()],
                       (v.numpy().astype(dtype) for v in sd.values()),
                       metadata)


def load(path):
    """(name -> float32 tensor, __metadata__) of a LoRA file."""
    import st_io
    arrs, meta = st_io.read(path)
    return {k: torch.from_numpy(np.array(v, dtype=np.float32))
            for k, v in arrs.items()}, meta
