"""Self-tests of the references the SDXL engine work is checked against
(tools/reference/unet.py, clip.py, vae.py, sdxl.py), without kiln: sizes
and names of the released SDXL checkpoints, the two naming schemes
against each other, and the conditioning vectors. Small float64 models
except where a full configuration is only counted."""

import os
import shutil
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

import engine_common  # noqa: F401  (tools/reference on sys.path)
import clip
import sdxl
import st_io
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
