"""Self-tests of the references the SDXL, LoRA and textual-inversion
engine work is checked against (tools/reference/unet.py, clip.py, vae.py,
sdxl.py, lora.py, textual_inversion.py), without kiln: sizes and names of
the released SDXL checkpoints, the two naming schemes against each other,
the conditioning vectors, and LoRA / embedding arithmetic two ways. Small
float64 models except where a full configuration is only counted."""

import os
import shutil
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

import engine_common  # noqa: F401  (tools/reference on sys.path)
import clip
import lora
import sdxl
import st_io
import textual_inversion as ti
import unet
import vae

STACK = None

SD1_UNET = unet.Config(ch=(32, 32, 64, 64), layers=2,
                       attn=(True, True, True, False), heads=2, ctx_dim=32,
                       groups=8)
SD1_TE = dict(vocab=1000, hidden=32, layers=4, inter=64, max_pos=77,
              heads=2, act="quick_gelu")
# Token ids of the small vocabularies (the real ones are 49406 / 49407).
BOS, EOS = 998, 999


def te_args(c, projection=False):
    a = {k: c[k] for k in ("vocab", "hidden", "layers", "inter", "max_pos")}
    if projection:
        a["projection"] = c["projection"]
    return a


def small_parts(seed=0):
    return sdxl.random_parts(sdxl.small_configs(), seed)


def ids_pair(tokens):
    il = sdxl.prompt_ids(tokens, EOS, bos=BOS, eos=EOS)
    ig = sdxl.prompt_ids(tokens, 0, bos=BOS, eos=EOS)
    return torch.tensor([il]), torch.tensor([ig])


def unet_inputs(cfg, seed, H=8, pooled=None):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, cfg.in_ch, H, H, generator=g)
    ctx = torch.randn(2, 7, cfg.ctx_dim, generator=g)
    t = torch.tensor([981.0, 17.0])
    y = None
    if cfg.adm_in:
        p = torch.randn(2, cfg.adm_in - 6 * cfg.time_ids_dim, generator=g) \
            if pooled is None else pooled
        ids = torch.cat([sdxl.time_ids((1024, 896), (0, 64), (1024, 1024)),
                         sdxl.time_ids((512, 512), (0, 0), (768, 768))])
        y = unet.add_embeds(p, ids, cfg.time_ids_dim)
    return x, t, ctx, y


def rel(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


# --- SDXL UNet ---------------------------------------------------------------

# Names and shapes of sd_xl_base_1.0.safetensors (under
# model.diffusion_model.), as diffusers' single-file conversion and sd.cpp
# read them.
SGM_SHAPES = {
    "time_embed.0.weight": (1280, 320),
    "label_emb.0.0.weight": (1280, 2816),
    "label_emb.0.2.bias": (1280,),
    "input_blocks.0.0.weight": (320, 4, 3, 3),
    "input_blocks.2.0.emb_layers.1.weight": (320, 1280),
    "input_blocks.3.0.op.weight": (320, 320, 3, 3),
    "input_blocks.4.0.skip_connection.weight": (640, 320, 1, 1),
    "input_blocks.4.1.proj_in.weight": (640, 640),
    "input_blocks.5.1.transformer_blocks.1.attn2.to_k.weight": (640, 2048),
    "input_blocks.6.0.op.weight": (640, 640, 3, 3),
    "input_blocks.8.1.transformer_blocks.9.ff.net.0.proj.weight":
        (10240, 1280),
    "middle_block.1.transformer_blocks.9.norm3.bias": (1280,),
    "middle_block.2.out_layers.3.weight": (1280, 1280, 3, 3),
    "output_blocks.0.0.skip_connection.weight": (1280, 2560, 1, 1),
    "output_blocks.2.1.transformer_blocks.9.attn1.to_out.0.bias": (1280,),
    "output_blocks.2.2.conv.weight": (1280, 1280, 3, 3),
    "output_blocks.3.0.skip_connection.weight": (640, 1920, 1, 1),
    "output_blocks.5.2.conv.weight": (640, 640, 3, 3),
    "output_blocks.8.0.skip_connection.weight": (320, 640, 1, 1),
    "out.2.weight": (4, 320, 3, 3)}


def test_full_sdxl_unet_has_the_released_names_and_shapes(_):
    cfg = unet.sdxl_config()
    sp = {n: s for n, s, _, _ in unet.specs(cfg)}
    assert sum(int(np.prod(s)) for s in sp.values()) == unet.SDXL_PARAMS
    assert len(sp) == unet.SDXL_TENSORS
    names = unet.ldm_names(cfg)
    sgm = {names[k]: s for k, s in sp.items()}
    for k, s in SGM_SHAPES.items():
        assert sgm.get(k) == s, (k, sgm.get(k), s)
    # No attention at 320 channels, no tenth input / output block.
    assert not [k for k in sgm if k.startswith(("input_blocks.1.1.",
                                                "output_blocks.6.1.",
                                                "input_blocks.9.",
                                                "output_blocks.9."))]


def test_full_text_encoders_and_vae_have_the_released_sizes(_):
    def count(c, projection):
        return sum(int(np.prod(s)) for _, s, _, _ in
                   clip.specs(**te_args(c, projection)))
    assert count(clip.CLIP_L, False) == 123060480
    assert count(clip.CLIP_G, True) == 694659840
    shapes = vae.shapes(vae.sdxl_config())
    assert sum(int(np.prod(s)) for s in shapes.values()) == 83653863
    # The SD VAE, another scaling factor.
    sd = vae.config((128, 256, 512, 512), layers=2, groups=32)
    assert shapes == vae.shapes(sd)
    assert vae.sdxl_config()["scaling_factor"] == 0.13025


def test_diffusers_config_spells_head_counts_as_attention_head_dim(_):
    c = unet.diffusers_config(unet.sdxl_config())
    want = {"attention_head_dim": [5, 10, 20],
            "transformer_layers_per_block": [1, 2, 10],
            "block_out_channels": [320, 640, 1280],
            "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D",
                                 "CrossAttnDownBlock2D"],
            "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D",
                               "UpBlock2D"],
            "cross_attention_dim": 2048, "use_linear_projection": True,
            "addition_embed_type": "text_time",
            "addition_time_embed_dim": 256,
            "projection_class_embeddings_input_dim": 2816}
    for k, v in want.items():
        assert c[k] == v, (k, c[k], v)


def test_time_ids_become_the_2816_wide_add_embedding_input(_):
    g = torch.Generator().manual_seed(1)
    pooled = torch.randn(1, 1280, generator=g, dtype=torch.float64)
    ids = sdxl.time_ids((1024, 768), (16, 32), (896, 1152))
    y = unet.add_embeds(pooled, ids)
    assert tuple(y.shape) == (1, 2816)
    assert torch.equal(y[:, :1280], pooled)
    k = torch.arange(128, dtype=torch.float64)
    for j, v in enumerate(ids[0].tolist()):
        a = v * 10000.0 ** (-k / 128)
        want = torch.cat([torch.cos(a), torch.sin(a)])
        got = y[0, 1280 + 256 * j:1280 + 256 * (j + 1)]
        assert (got - want).abs().max() < 1e-9, (j, v)


def test_sdxl_unet_sgm_names_give_the_same_model(_):
    cfg = sdxl.small_unet_config()
    w = unet.random_weights(cfg, seed=2)
    back = unet.from_ldm(unet.to_ldm(w, cfg), cfg.layers)
    assert set(back) == set(w)
    assert all(back[k] is w[k] for k in w), "a tensor changed places"
    x, t, ctx, y = unet_inputs(cfg, 3)
    out = unet.forward(w, cfg, x, t, ctx, y=y)
    assert torch.equal(out, unet.forward(back, cfg, x, t, ctx, y=y))
    assert tuple(out.shape) == (2, 4, 8, 8) and torch.isfinite(out).all()


def test_sdxl_unet_runs_every_transformer_block_and_the_time_ids(_):
    cfg = sdxl.small_unet_config()
    w = unet.random_weights(cfg, seed=4)
    names = set(w)
    assert not [k for k in names if k.startswith(("down_blocks.0.attent",
                                                  "up_blocks.2.attent"))]
    for p, depth in (("down_blocks.1.attentions.1", 2),
                     ("down_blocks.2.attentions.0", 3),
                     ("mid_block.attentions.0", 3),
                     ("up_blocks.0.attentions.2", 3),
                     ("up_blocks.1.attentions.0", 2)):
        assert p + ".transformer_blocks.%d.norm1.weight" % (depth - 1) in \
            names and p + ".transformer_blocks.%d.norm1.weight" % depth \
            not in names, p
    x, t, ctx, y = unet_inputs(cfg, 5)
    out = unet.forward(w, cfg, x, t, ctx, y=y)
    for k in ("mid_block.attentions.0.transformer_blocks.2.ff.net.2.bias",
              "up_blocks.1.attentions.2.transformer_blocks.1.ff.net.2.bias"):
        w2 = dict(w)
        w2[k] = w[k] + 1
        assert rel(unet.forward(w2, cfg, x, t, ctx, y=y), out) > 1e-3, k
    y2 = unet.add_embeds(y[:, :48], torch.tensor([[512.0] * 6] * 2))
    assert rel(unet.forward(w, cfg, x, t, ctx, y=y2), out) > 1e-3


def test_sdxl_unet_keeps_f16_weights_and_chunks_attention_exactly(_):
    # The full model's memory plan: weights stay float16 until used, and
    # attention is computed in query chunks. Neither may change results.
    cfg = sdxl.small_unet_config()
    w = unet.random_weights(cfg, seed=6)
    w16 = {k: v.half() for k, v in w.items()}
    w32 = {k: v.float() for k, v in w16.items()}
    x, t, ctx, y = unet_inputs(cfg, 7, H=16)
    want = unet.forward(w32, cfg, x, t, ctx, dtype=torch.float32, y=y)
    assert torch.equal(unet.forward(w16, cfg, x, t, ctx,
                                    dtype=torch.float32, y=y), want)
    old = unet.ATTN_CHUNK_BYTES
    try:
        unet.ATTN_CHUNK_BYTES = 4096
        got = unet.forward(w32, cfg, x, t, ctx, dtype=torch.float32, y=y)
    finally:
        unet.ATTN_CHUNK_BYTES = old
    assert rel(got, want) < 1e-5


# --- text encoders -----------------------------------------------------------

def test_context_is_both_penultimate_states_pooled_is_bigG_at_eos(_):
    p = small_parts(seed=8)
    L, G = sdxl.SMALL_L, sdxl.SMALL_G
    tokens = [17, 400, 23, 5, 911]
    il, ig = ids_pair(tokens)
    ctx, pooled = sdxl.encode(p["L"], p["G"], il, ig)
    assert tuple(ctx.shape) == (1, 77, 80) and tuple(pooled.shape) == (1, 48)
    # Penultimate, no final norm: normed, it is the SD 2.x-style output.
    for part, w, c, ids in ((ctx[..., :32], p["L"], L, il),
                            (ctx[..., 32:], p["G"], G, ig)):
        want = clip.forward(w, ids, c["heads"], c["act"], skip=1)
        assert rel(clip.final_norm(w, part), want) < 1e-12
        assert rel(part, want) > 0.1
    # pooled = projection of the final-normed last layer at the EOS.
    last = clip.forward(p["G"], ig, G["heads"], G["act"])
    eos = 1 + len(tokens)
    assert ig[0, eos] == EOS
    want = F.linear(last[:, eos], p["G"]["text_projection.weight"].double())
    assert rel(pooled, want) < 1e-12
    # The last layer feeds only the pooled vector. (Not a constant shift:
    # the final layer norm would take it out.)
    g2 = dict(p["G"])
    k = "text_model.encoder.layers.2.mlp.fc2.bias"
    g2[k] = g2[k] + torch.linspace(-1, 1, g2[k].shape[0])
    ctx2, pooled2 = sdxl.encode(p["L"], g2, il, ig)
    assert torch.equal(ctx2, ctx) and rel(pooled2, pooled) > 1e-3
    # Causal: a pad after the EOS leaves pooled alone, a token before it
    # does not.
    ig2 = ig.clone()
    ig2[0, eos + 3] = 55
    ctx3, pooled3 = sdxl.encode(p["L"], p["G"], il, ig2)
    assert torch.equal(pooled3, pooled) and not torch.equal(ctx3, ctx)
    ig2[0, 2] = 56
    assert rel(sdxl.encode(p["L"], p["G"], il, ig2)[1], pooled) > 1e-3


def test_bigG_openclip_names_pack_qkv_and_transpose_the_projection(_):
    w = clip.random_weights(**te_args(sdxl.SMALL_G), seed=9, projection=40)
    oc = clip.to_openclip(w)
    assert tuple(oc["text_projection"].shape) == (48, 40)
    x = torch.randn(3, 48, dtype=torch.float64)
    assert rel(x @ oc["text_projection"].double(),
               F.linear(x, w["text_projection.weight"].double())) < 1e-12
    ip = oc["transformer.resblocks.1.attn.in_proj_weight"]
    assert torch.equal(ip[48:96],
                       w["text_model.encoder.layers.1.self_attn.k_proj."
                         "weight"])
    back = clip.from_openclip(oc)
    assert set(back) == set(w) and all(torch.equal(back[k], w[k])
                                       for k in w)


def test_single_file_and_diffusers_folder_hold_the_same_weights(_):
    work = tempfile.mkdtemp(prefix="kiln-sdxlref-")
    try:
        cfgs = sdxl.small_configs()
        want = sdxl.random_parts(cfgs, seed=10)
        path = os.path.join(work, "sdxl.safetensors")
        sdxl.write_single_file(path, cfgs, seed=10, dtype=np.float32)
        arrs, meta = st_io.read(path)
        assert arrs[sdxl.PREFIX_G + "logit_scale"].shape == ()
        pid = arrs[sdxl.PREFIX_L + "text_model.embeddings.position_ids"]
        assert pid.dtype == np.int64 and pid.shape == (1, 77)
        assert arrs[sdxl.PREFIX_VAE + "decoder.mid.attn_1.q.weight"].ndim \
            == 4
        got = sdxl.read_parts(path)
        root = os.path.join(work, "pipe")
        sdxl.write_diffusers(root, cfgs, seed=10, dtype=np.float32)
        files = {"unet": "unet/diffusion_pytorch_model.safetensors",
                 "L": "text_encoder/model.safetensors",
                 "G": "text_encoder_2/model.safetensors",
                 "vae": "vae/diffusion_pytorch_model.safetensors"}
        for part, f in files.items():
            folder = st_io.read(os.path.join(root, f))[0]
            assert set(got[part]) == set(want[part]) == set(folder), part
            for k, v in want[part].items():
                assert torch.equal(got[part][k], v), (part, k)
                assert np.array_equal(folder[k], v.numpy()), (part, k)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- LoRA --------------------------------------------------------------------

def sd1_layout():
    return lora.sd1_layout(SD1_UNET, SD1_TE)


def sdxl_layout():
    return lora.sdxl_layout(sdxl.small_unet_config(), sdxl.SMALL_L,
                            sdxl.SMALL_G)


# kohya key -> (diffusers weight, single-file weight, rows): SD 1.x as
# A1111's lora_convert regexes place them, SDXL as sd-scripts names its
# SGM UNet and diffusers' _convert_non_diffusers_lora_to_diffusers reads
# them (bigG q/k/v into the packed in_proj rows).
SD1_KEYS = {
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q":
        ("unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q",
         "model.diffusion_model.input_blocks.1.1.transformer_blocks.0."
         "attn1.to_q"),
    "lora_unet_up_blocks_1_resnets_2_conv1":
        ("unet.up_blocks.1.resnets.2.conv1",
         "model.diffusion_model.output_blocks.5.0.in_layers.2"),
    "lora_unet_down_blocks_2_downsamplers_0_conv":
        ("unet.down_blocks.2.downsamplers.0.conv",
         "model.diffusion_model.input_blocks.9.0.op"),
    "lora_unet_up_blocks_0_upsamplers_0_conv":
        ("unet.up_blocks.0.upsamplers.0.conv",
         "model.diffusion_model.output_blocks.2.1.conv"),
    "lora_unet_up_blocks_2_upsamplers_0_conv":
        ("unet.up_blocks.2.upsamplers.0.conv",
         "model.diffusion_model.output_blocks.8.2.conv"),
    "lora_unet_mid_block_resnets_1_time_emb_proj":
        ("unet.mid_block.resnets.1.time_emb_proj",
         "model.diffusion_model.middle_block.2.emb_layers.1"),
    "lora_unet_up_blocks_3_attentions_2_proj_out":
        ("unet.up_blocks.3.attentions.2.proj_out",
         "model.diffusion_model.output_blocks.11.1.proj_out"),
    "lora_te_text_model_encoder_layers_3_mlp_fc2":
        ("text_encoder.text_model.encoder.layers.3.mlp.fc2",
         "cond_stage_model.transformer.text_model.encoder.layers.3.mlp.fc2"),
}
SDXL_KEYS = {
    "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q":
        ("unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q",
         None),
    "lora_unet_output_blocks_2_2_conv":
        ("unet.up_blocks.0.upsamplers.0.conv", None),
    "lora_unet_input_blocks_3_0_op":
        ("unet.down_blocks.0.downsamplers.0.conv", None),
    "lora_unet_output_blocks_8_0_skip_connection":
        ("unet.up_blocks.2.resnets.2.conv_shortcut", None),
    "lora_unet_input_blocks_1_0_in_layers_2":
        ("unet.down_blocks.0.resnets.0.conv1", None),
    "lora_unet_middle_block_1_transformer_blocks_2_ff_net_0_proj":
        ("unet.mid_block.attentions.0.transformer_blocks.2.ff.net.0.proj",
         None),
    "lora_unet_label_emb_0_0": ("unet.add_embedding.linear_1", None),
    "lora_te1_text_model_encoder_layers_0_self_attn_out_proj":
        ("text_encoder.text_model.encoder.layers.0.self_attn.out_proj",
         "conditioner.embedders.0.transformer.text_model.encoder.layers.0."
         "self_attn.out_proj"),
    "lora_te2_text_model_encoder_layers_2_mlp_fc1":
        ("text_encoder_2.text_model.encoder.layers.2.mlp.fc1",
         "conditioner.embedders.1.model.transformer.resblocks.2.mlp.c_fc"),
    "lora_te2_text_model_encoder_layers_1_self_attn_k_proj":
        ("text_encoder_2.text_model.encoder.layers.1.self_attn.k_proj",
         "conditioner.embedders.1.model.transformer.resblocks.1.attn."
         "in_proj"),
}


def test_lora_keys_map_to_the_published_targets(_):
    for layout, table in ((sd1_layout(), SD1_KEYS),
                          (sdxl_layout(), SDXL_KEYS)):
        idx = lora.index(layout)
        for key, (dif, single) in table.items():
            t = idx[key]
            assert t.diffusers == dif + ".weight", (key, t)
            assert t.kohya == key or key.startswith("lora_te_"), (key, t)
            if single and single.endswith("in_proj"):
                assert t.single_file == single + "_weight" and \
                    t.rows == (48, 96), (key, t)
            elif single:
                assert t.single_file == single + ".weight" and \
                    t.rows is None, (key, t)
            # PEFT names the same module.
            assert idx[dif] is t
    idx = lora.index(sdxl_layout())
    sgm = "lora_unet_input_blocks_7_1_transformer_blocks_2_attn2_to_v"
    dif = "lora_unet_down_blocks_2_attentions_0_transformer_blocks_2_attn2" \
        "_to_v"
    assert idx[sgm] is idx[dif], "both UNet spellings on SDXL"
    assert idx["lora_te_text_model_encoder_layers_0_mlp_fc1"] is \
        idx["lora_te1_text_model_encoder_layers_0_mlp_fc1"]


def test_lora_targets_exist_in_both_namings_with_their_shapes(_):
    cfgs = sdxl.small_configs()
    single = {k: tuple(v.shape) for k, v in
              sdxl._single_file_items(cfgs, 0, True, False)}
    parts = sdxl.random_parts(cfgs)
    comp = {"unet": parts["unet"], "text_encoder": parts["L"],
            "text_encoder_2": parts["G"]}
    ts = lora.targets(sdxl_layout())
    assert len(ts) > 100
    for t in ts:
        w = comp[t.component][t.module + ".weight"]
        assert tuple(w.shape) == t.shape, t
        s = single[t.single_file]
        if t.rows:
            assert (t.rows[1] - t.rows[0],) + s[1:] == t.shape, t
        else:
            assert s == t.shape, t


def prefixed(w, comp):
    return {comp + "." + k: v for k, v in w.items()}


def strip(w, comp):
    n = len(comp) + 1
    return {k[n:]: v for k, v in w.items() if k.startswith(comp + ".")}


def test_lora_merged_weights_equal_the_unmerged_path_sd1(_):
    layout = sd1_layout()
    w = unet.random_weights(SD1_UNET, seed=11)
    te = clip.random_weights(**te_args(SD1_TE), seed=12)
    sd = lora.random_kohya(layout, rank=4, conv_rank=2, alpha=3.0, seed=13)
    assert any(v.dim() == 4 and v.shape[2] == 3 for v in sd.values()), \
        "LoCon factors"
    base = dict(prefixed(w, "unet"), **prefixed(te, "text_encoder"))
    merged = lora.merge(base, sd, layout, multiplier=0.7)
    x, t, ctx, _ = unet_inputs(SD1_UNET, 14, H=16)
    plain = unet.forward(w, SD1_UNET, x, t, ctx)
    want = unet.forward(strip(merged, "unet"), SD1_UNET, x, t, ctx)
    got = unet.forward(w, SD1_UNET, x, t, ctx,
                       lora=lora.hooks(sd, layout, "unet", multiplier=0.7))
    assert rel(got, want) < 1e-10 and rel(plain, want) > 1e-2
    ids = torch.randint(0, 1000, (2, 77),
                        generator=torch.Generator().manual_seed(15))
    h = lora.hooks(sd, layout, "text_encoder", multiplier=0.7)
    got = clip.hidden_states(te, ids, 2, lora=h)[-1]
    want = clip.hidden_states(strip(merged, "text_encoder"), ids, 2)[-1]
    assert rel(got, want) < 1e-10


def test_lora_merged_weights_equal_the_unmerged_path_sdxl(_):
    layout = sdxl_layout()
    p = small_parts(seed=16)
    sd = lora.random_kohya(layout, rank=3, conv_rank=2, alpha=1.5, seed=17)
    mult = {"unet": 0.9, "text_encoder": 0.6, "text_encoder_2": 1.2}
    base = dict(prefixed(p["unet"], "unet"), **prefixed(p["L"],
                "text_encoder"), **prefixed(p["G"], "text_encoder_2"))
    m = lora.merge(base, sd, layout, multiplier=mult)
    il, ig = ids_pair([33, 44, 55])
    ctx, pooled = sdxl.encode(strip(m, "text_encoder"),
                              strip(m, "text_encoder_2"), il, ig)
    ctx2, pooled2 = sdxl.encode(
        p["L"], p["G"], il, ig,
        lora_l=lora.hooks(sd, layout, "text_encoder", multiplier=mult),
        lora_g=lora.hooks(sd, layout, "text_encoder_2", multiplier=mult))
    assert rel(ctx2, ctx) < 1e-10 and rel(pooled2, pooled) < 1e-10
    cfg = sdxl.small_unet_config()
    x, t, _, y = unet_inputs(cfg, 18)
    c = ctx.expand(2, -1, -1)
    want = unet.forward(strip(m, "unet"), cfg, x, t, c, y=y)
    got = unet.forward(p["unet"], cfg, x, t, c, y=y,
                       lora=lora.hooks(sd, layout, "unet", multiplier=mult))
    assert rel(got, want) < 1e-10


def test_lora_single_file_merge_matches_the_diffusers_merge(_):
    cfgs = sdxl.small_configs()
    layout = sdxl_layout()
    sd = lora.random_kohya(layout, rank=4, conv_rank=2, alpha=2.0, seed=19)
    single = dict(sdxl._single_file_items(cfgs, 20, False, False))
    merged = sdxl.split_single_file(
        lora.merge(single, sd, layout, naming="single_file"))
    p = sdxl.random_parts(cfgs, seed=20)
    base = dict(prefixed(p["unet"], "unet"), **prefixed(p["L"],
                "text_encoder"), **prefixed(p["G"], "text_encoder_2"))
    want = lora.merge(base, sd, layout)
    for part, comp in (("unet", "unet"), ("L", "text_encoder"),
                       ("G", "text_encoder_2")):
        w = strip(want, comp)
        assert set(w) == set(merged[part])
        for k in w:
            assert torch.equal(merged[part][k].double(), w[k].double()), k
    k = "text_model.encoder.layers.1.self_attn.v_proj.weight"
    assert not torch.equal(merged["G"][k], p["G"][k]), "in_proj rows"


def test_lora_kohya_and_peft_forms_patch_the_same(_):
    layout = sdxl_layout()
    p = small_parts(seed=21)
    base = dict(prefixed(p["unet"], "unet"), **prefixed(p["G"],
                "text_encoder_2"))
    sd = lora.random_kohya(layout, rank=4, conv_rank=2, alpha=2.0, seed=22,
                           components=("unet", "text_encoder_2"))
    want = lora.merge(base, sd, layout)
    folded = lora.kohya_to_peft(sd, layout)
    assert all(k.startswith(("unet.", "text_encoder_2.")) and
               k.endswith(("lora_A.weight", "lora_B.weight"))
               for k in folded)
    with_alpha = lora.kohya_to_peft(sd, layout, fold_alpha=False)
    meta = {"lora_adapter_metadata": '{"unet.lora_alpha": 2.0, "unet.r": 4,'
            ' "text_encoder_2.lora_alpha": 2.0, "text_encoder_2.r": 4}'}
    bare = {k: v for k, v in with_alpha.items() if not k.endswith("alpha")}
    # diffusers-spelt kohya UNet names, as some SDXL files have them.
    dif = {}
    for mod, t, _ in lora.resolve(sd, layout):
        name = t.kohya if t.component != "unet" else \
            "lora_unet_" + t.module.replace(".", "_")
        dif[name + ".lora_down.weight"] = mod.down
        dif[name + ".lora_up.weight"] = mod.up
        dif[name + ".alpha"] = torch.tensor(mod.alpha)
    for what, got in (
            ("peft, alpha folded into B", lora.merge(base, folded, layout)),
            ("peft with alpha tensors", lora.merge(base, with_alpha,
                                                   layout)),
            ("peft with adapter metadata",
             lora.merge(base, bare, layout, metadata=meta)),
            ("kohya, diffusers-spelt UNet", lora.merge(base, dif, layout))):
        for k in want:
            assert rel(got[k].double(), want[k].double()) < 1e-6, (what, k)
    # No alpha anywhere: scale 1, twice the alpha 2 / rank 4 patch.
    got = lora.merge(base, bare, layout)
    k = "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q." \
        "weight"
    d1 = got[k] - base[k].double()
    d2 = want[k] - base[k].double()
    assert rel(d1, 2 * d2) < 1e-6


def test_lora_scale_is_alpha_over_rank_and_locon_convolves(_):
    g = torch.Generator().manual_seed(23)
    down = torch.randn(2, 5, generator=g, dtype=torch.float64)
    up = torch.randn(6, 2, generator=g, dtype=torch.float64)
    t = lora.Target("unet", "m", "m.weight", None, (6, 5), "lora_unet_m")
    for alpha, want in ((3.0, 1.5), (None, 1.0), (0.0, 0.0)):
        mod = lora.Module("lora_unet_m", down, up, alpha, "kohya")
        s = lora.scale(mod, t) * 0.5
        assert s == want * 0.5, (alpha, s)
        assert torch.allclose(lora.delta(mod, t, s), s * up @ down,
                              atol=1e-14)
    # A 3x3 stride-2 LoCon (a downsampler): merged conv == base conv +
    # up(down(x)) with down at the base's stride and padding.
    Wc = torch.randn(8, 4, 3, 3, generator=g, dtype=torch.float64)
    bc = torch.randn(8, generator=g, dtype=torch.float64)
    dn = torch.randn(3, 4, 3, 3, generator=g, dtype=torch.float64)
    upc = torch.randn(8, 3, 1, 1, generator=g, dtype=torch.float64)
    tc = lora.Target("unet", "c", "c.weight", None, (8, 4, 3, 3), "c")
    mod = lora.Module("c", dn, upc, 1.5, "kohya")
    Wm = Wc + lora.delta(mod, tc, lora.scale(mod, tc))
    x = torch.randn(2, 4, 9, 9, generator=g, dtype=torch.float64)
    want = F.conv2d(x, Wc, bc, 2, 1) + 0.5 * F.conv2d(
        F.conv2d(x, dn, None, 2, 1), upc)
    assert rel(F.conv2d(x, Wm, bc, 2, 1), want) < 1e-12


def test_lora_files_round_trip_and_unknown_tensors_are_refused(_):
    layout = sd1_layout()
    sd = lora.random_kohya(layout, rank=2, seed=24)
    work = tempfile.mkdtemp(prefix="kiln-lora-")
    try:
        path = os.path.join(work, "l.safetensors")
        lora.save(path, sd, dtype=np.float32)
        arrs, _ = st_io.read(path)
        k = next(k for k in arrs if k.endswith(".alpha"))
        assert arrs[k].shape == ()
        got, _ = lora.load(path)
        assert set(got) == set(sd) and all(torch.equal(got[k], sd[k])
                                           for k in sd)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for bad in ({"lora_unet_conv_in.hada_w1_a": torch.zeros(2, 2)},
                {"lora_unet_conv_in.lora_down.weight": torch.zeros(2, 4, 3,
                                                                   3)},
                {"lora_unet_nowhere.lora_down.weight": torch.zeros(2, 2),
                 "lora_unet_nowhere.lora_up.weight": torch.zeros(2, 2)}):
        try:
            lora.resolve(bad, layout)
        except ValueError:
            continue
        raise AssertionError("accepted %s" % list(bad))


# --- textual inversion -------------------------------------------------------

def test_ti_files_parse_like_a1111(_):
    work = tempfile.mkdtemp(prefix="kiln-ti-")
    try:
        v = np.random.RandomState(0).randn(3, 32).astype(np.float32)
        p = os.path.join(work, "sd1.safetensors")
        ti.write_sd1(p, v)
        assert list(st_io.read(p)[0]) == ["emb_params"]
        assert np.array_equal(ti.load(p)["vectors"].numpy(), v)
        assert tuple(ti.parse({"x": v[0]})["vectors"].shape) == (1, 32)
        p = os.path.join(work, "xl.safetensors")
        ti.write_sdxl(p, v, np.ones((3, 48), np.float32))
        e = ti.load(p)
        assert tuple(e["clip_l"].shape) == (3, 32) and \
            tuple(e["clip_g"].shape) == (3, 48)
        for bad in ({"a": v, "b": v}, {"clip_l": v, "clip_g": v[:2]}):
            try:
                ti.parse(bad)
            except ValueError:
                continue
            raise AssertionError("parsed %s" % list(bad))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_ti_vectors_stand_in_for_tokens_sd1(_):
    w = clip.random_weights(**te_args(SD1_TE), seed=25)
    tok = w["text_model.embeddings.token_embedding.weight"]
    # A two-token name, three vectors: copies of tokens 5, 6, 7.
    emb = {"style": ((17, 23), 3)}
    tokens = [10, 17, 23, 11, 17, 4]
    ids, fixes = ti.expand(tokens, emb)
    assert ids == [10, 0, 0, 0, 11, 17, 4] and fixes == [(1, "style")]
    win, fixes = ti.window(ids, fixes, EOS, bos=BOS, eos=EOS)
    x = ti.embed(tok, torch.tensor([win]), [fixes], {"style": tok[5:8]})
    got = clip.final_norm(w, clip.hidden_states(w, torch.tensor([win]), 2,
                                                embeds=x)[-1])
    plain = [BOS, 10, 5, 6, 7, 11, 17, 4, EOS] + [EOS] * 68
    want = clip.forward(w, torch.tensor([plain]), 2)
    assert rel(got, want) < 1e-12


def test_ti_sdxl_puts_clip_l_and_clip_g_into_their_encoders(_):
    p = small_parts(seed=26)
    tl = p["L"]["text_model.embeddings.token_embedding.weight"]
    tg = p["G"]["text_model.embeddings.token_embedding.weight"]
    vec = {"l": {"e": tl[[5, 6]]}, "g": {"e": tg[[8, 9]]}}
    ids, fixes = ti.expand([31, 700, 32], {"e": ((700,), 2)})
    wl, fl = ti.window(ids, fixes, EOS, bos=BOS, eos=EOS)
    wg, fg = ti.window(ids, fixes, 0, bos=BOS, eos=EOS)
    il, ig = torch.tensor([wl]), torch.tensor([wg])
    ctx, pooled = sdxl.encode(p["L"], p["G"], il, ig,
                              embeds_l=ti.embed(tl, il, [fl], vec["l"]),
                              embeds_g=ti.embed(tg, ig, [fg], vec["g"]))
    pl, pg = ids_pair([31, 5, 6, 32])
    pg[0, 2:4] = torch.tensor([8, 9])
    want_ctx, want_pooled = sdxl.encode(p["L"], p["G"], pl, pg)
    assert rel(ctx, want_ctx) < 1e-12 and rel(pooled, want_pooled) < 1e-12
    assert clip.eos_position(ig).item() == 5


def test_ti_longest_name_first_and_cut_at_the_window(_):
    emb = {"a": ((17,), 1), "ab": ((17, 23), 2)}
    assert ti.expand([17, 23, 17, 9], emb) == ([0, 0, 0, 9],
                                              [(0, "ab"), (2, "a")])
    tok = torch.randn(1000, 8, dtype=torch.float64)
    ids, fixes = ti.expand([3] * 73 + [17, 23], emb)
    assert len(ids) == 75
    win, fixes = ti.window(ids + [4], fixes, EOS, bos=BOS, eos=EOS)
    x = ti.embed(tok, torch.tensor([win]), [fixes],
                 {"ab": torch.ones(2, 8, dtype=torch.float64)})
    assert torch.equal(x[0, 74:76], torch.ones(2, 8, dtype=torch.float64))
    assert torch.equal(x[0, 76], tok[EOS])
    # An embedding the window cuts keeps only the slots inside it.
    ids, fixes = ti.expand([3] * 74 + [17, 23], emb)
    win, fixes = ti.window(ids, fixes, EOS, bos=BOS, eos=EOS)
    x = ti.embed(tok, torch.tensor([win]), [fixes],
                 {"ab": torch.ones(2, 8, dtype=torch.float64)})
    assert torch.equal(x[0, 75], torch.ones(8, dtype=torch.float64))
    assert torch.equal(x[0, 76], tok[EOS])
