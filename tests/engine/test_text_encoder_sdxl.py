"""SDXL's text conditioning and VAE on PoCL against the PyTorch references
(tools/reference/clip.py, sdxl.py, vae.py, textual_inversion.py) on
identical random weights: both encoders (CLIP-L, OpenCLIP bigG) as an SGM
single file and as a diffusers folder, small and at their full
configuration, through `kiln-render encode-text`: the context (both
penultimate states, no final norm, side by side) and bigG's pooled output
(final norm of the last layer at the end token, projected); prompts with
A1111 weighting and over 77 tokens; the empty negative prompt; a
textual-inversion embedding through the full encoders; the VAE with
SDXL's scaling factor and activations beyond float16's range, small and
at its full configuration (`kiln-render vae-decode`). The full parts
share one F16 single file of 1.8 GB, written once. Tolerance: max abs
error <= 1e-4 of the output's scale.

The small encoders have heads of 64 channels, as the real ones do, so
that single files (which carry no head count) infer them."""

import atexit
import contextlib
import json
import math
import os
import shutil
import tempfile

import numpy as np
import torch

import engine_common as ec
import clip as clip_ref
import sdxl
import st_io
import vae as vae_ref

STACK = None
TOL = 1e-4
WORK = tempfile.mkdtemp(prefix="kiln-sdxltext-")
# The last test removes WORK; a run of some tests only (or one that
# stops early) must not leave the full model's 1.8 GB behind either.
atexit.register(shutil.rmtree, WORK, ignore_errors=True)
BOS, EOS = sdxl.BOS, sdxl.EOS

# A non-square projection (bigG's is 1280 x 1280) so that a transposed
# text_projection cannot pass.
SL = ec.SDXL_SMALL_L
SG = ec.SDXL_SMALL_G

_models = {}


te = ec.te_args


def single_file_items(L, G, seed):
    """(name, tensor) of an SGM single file holding the text encoders
    only, with the released file's extra position_ids and logit_scale."""
    for k, v in clip_ref.iter_random(**te(L), seed=seed):
        yield sdxl.PREFIX_L + k, v
    yield (sdxl.PREFIX_L + "text_model.embeddings.position_ids",
           torch.arange(L["max_pos"])[None])
    g = clip_ref.iter_random(**te(G), seed=seed + 1,
                             projection=G["projection"])
    for k, v in clip_ref.openclip_items(g):
        yield sdxl.PREFIX_G + k, v
    yield sdxl.PREFIX_G + "logit_scale", torch.tensor(math.log(1 / 0.07))


def write_single_file(path, L, G, seed, dtype, extra=()):
    """Streams the encoders (and extra (name, tensor) pairs) into path."""
    def items():
        yield from single_file_items(L, G, seed)
        yield from extra

    def code(v):
        if v.dtype == torch.int64:
            return "I64", np.int64
        return {np.float16: "F16", np.float32: "F32"}[dtype], dtype
    entries = [(k, code(v)[0], tuple(v.shape)) for k, v in items()]
    arrays = (v.numpy().astype(code(v)[1]) for _, v in items())
    st_io.write_stream(path, entries, arrays, {"format": "pt"})


def rounded(w, dtype):
    return {k: torch.from_numpy(v.numpy().astype(dtype).astype(np.float32))
            for k, v in w.items()}


def small_model():
    """The small encoders as a single file (F32) and a diffusers folder
    (F16), with their weights (HF names; F16-rounded for the folder)."""
    if "small" in _models:
        return _models["small"]
    wl = clip_ref.random_weights(**te(SL), seed=21)
    wg = clip_ref.random_weights(**te(SG), seed=22,
                                 projection=SG["projection"])
    path = os.path.join(WORK, "sdxl-text.safetensors")
    write_single_file(path, SL, SG, 21, np.float32)
    root = os.path.join(WORK, "sdxl-diffusers")
    for sub, w, c, cls in (("text_encoder", wl, SL, "CLIPTextModel"),
                           ("text_encoder_2", wg, SG,
                            "CLIPTextModelWithProjection")):
        d = os.path.join(root, sub)
        os.makedirs(d)
        st_io.write(os.path.join(d, "model.safetensors"),
                    clip_ref.as_numpy(w, np.float16))
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(sdxl.text_config(c, cls), f)
    with open(os.path.join(root, "model_index.json"), "w") as f:
        json.dump({"_class_name": "StableDiffusionXLPipeline",
                   "force_zeros_for_empty_prompt": True}, f)
    _models["small"] = dict(file=path, folder=root, wl=wl, wg=wg,
                            wl16=rounded(wl, np.float16),
                            wg16=rounded(wg, np.float16))
    return _models["small"]


def ids_arg(rows):
    return ";".join(",".join(str(int(t)) for t in r) for r in rows)


def encode(model, ids=None, ids2=None, prompt=None, negative=None,
           pooled=True, extra=()):
    out = os.path.join(WORK, "ctx.bin")
    pout = os.path.join(WORK, "pooled.bin")
    for p in (out, pout):
        if os.path.exists(p):
            os.unlink(p)
    args = ["encode-text", "--model", model, "--out", out]
    if ids is not None:
        args += ["--ids", ids_arg(ids)]
        if ids2 is not None:
            args += ["--ids2", ids_arg(ids2)]
    else:
        args += ["--prompt", prompt, "--vocab", ec.VOCAB]
        if negative is not None:
            args += ["--negative", negative]
    if pooled:
        args += ["--pooled", pout]
    return ec.read_encoded(ec.kiln_render(args + list(extra)), out, pout,
                           pooled)


check = ec.check
far = ec.far


def token_rows(lengths, vocab=49406, seed=5):
    """Random prompt tokens (below BOS) of the given lengths, as both
    encoders get them: (L ids padded with EOS, G ids padded with 0)."""
    g = torch.Generator().manual_seed(seed)
    rows = [torch.randint(1, vocab, (n,), generator=g).tolist()
            for n in lengths]
    return (torch.tensor([sdxl.prompt_ids(r, sdxl.PAD_L) for r in rows]),
            torch.tensor([sdxl.prompt_ids(r, sdxl.PAD_G) for r in rows]))


# ----------------------------------------------------------- token ids

def test_sgm_single_file_gives_context_and_pooled(_):
    m = small_model()
    il, ig = token_rows([5, 40])
    ctx, pooled, info = encode(m["file"], il, ig)
    assert info["family"] == "sdxl"
    assert info["shape"] == [2, 77, 128 + 192]
    assert info["pooled_shape"] == [2, 160]
    e = info["encoders"]
    assert [x["heads"] for x in e] == [2, 3], e
    assert [x["context_layer"] for x in e] == [2, 2], e
    assert [x["final_norm"] for x in e] == [False, False], e
    assert [x["pooled"] for x in e] == [False, True], e
    assert [x["pad"] for x in e] == [EOS, 0], e
    want_ctx, want_pooled = sdxl.encode(m["wl"], m["wg"], il, ig, L=SL,
                                        G=SG)
    check(ctx, want_ctx, "context, single file")
    check(pooled, want_pooled, "pooled, single file")
    # The pooled vector is read at the end token, not the last position.
    last = clip_ref.final_norm(
        m["wg"], clip_ref.hidden_states(m["wg"], ig, 3, "gelu")[-1])[:, -1]
    far(pooled, torch.nn.functional.linear(
        last, m["wg"]["text_projection.weight"].double()),
        "pooled at the last position")


def test_diffusers_folder_f16_gives_the_same(_):
    m = small_model()
    il, ig = token_rows([12, 1], seed=6)
    ctx, pooled, info = encode(m["folder"], il, ig)
    assert info["family"] == "sdxl" and info["shape"] == [2, 77, 320]
    want_ctx, want_pooled = sdxl.encode(m["wl16"], m["wg16"], il, ig,
                                        L=SL, G=SG)
    check(ctx, want_ctx, "context, diffusers folder")
    check(pooled, want_pooled, "pooled, diffusers folder")


def test_ids_go_to_both_encoders_unless_ids2_says(_):
    # Without --ids2 bigG sees CLIP-L's EOS padding: not what SDXL
    # wants, and visibly different.
    m = small_model()
    il, ig = token_rows([7], seed=7)
    ctx, _, _ = encode(m["file"], il, pooled=False)
    check(ctx, sdxl.encode(m["wl"], m["wg"], il, il, L=SL, G=SG)[0],
          "same ids to both")
    far(ctx, sdxl.encode(m["wl"], m["wg"], il, ig, L=SL, G=SG)[0],
        "bigG padded with 0")


def test_failed_allocations_give_their_memory_back(_):
    m = small_model()
    il, ig = token_rows([3], seed=8)
    ctx, pooled, _ = encode(m["file"], il[:, :12], ig[:, :12],
                            extra=["--fail-each-alloc"])
    assert tuple(ctx.shape) == (1, 12, 320) and tuple(pooled.shape) == \
        (1, 160)


def test_pooled_refused_without_a_pooled_output(_):
    w = clip_ref.random_weights(100, 64, 1, 128, 77, seed=9)
    path = os.path.join(WORK, "sd1.safetensors")
    st_io.write(path, {"cond_stage_model.transformer." + k: v
                       for k, v in clip_ref.as_numpy(w).items()})
    p = ec.kiln_render(["encode-text", "--model", path, "--ids", "1,2",
                        "--out", os.path.join(WORK, "x.bin"), "--pooled",
                        os.path.join(WORK, "p.bin")])
    assert p.returncode == 1 and "no pooled text output" in p.stderr, \
        p.stderr


# ------------------------------------------------------------- prompts

def ref_prompt(w, pieces):
    """A1111's SDXL conditioning of one prompt on the small encoders
    (engine_common.ref_sdxl_prompt): (ctx [1, 77 W, D], pooled [1, P])."""
    return ec.ref_sdxl_prompt(w[0], w[1], pieces, SL, SG)


WEIGHTED = "a (red:1.4) fox in [deep] snow"
WEIGHTED_PIECES = [("a ", 1.0), ("red", 1.4), (" fox in ", 1.0),
                   ("deep", 1 / 1.1), (" snow", 1.0)]


def test_weighted_prompt_weighs_each_encoder_on_its_own(_):
    m = small_model()
    w = (m["wl"], m["wg"])
    ctx, pooled, info = encode(m["file"], prompt=WEIGHTED)
    assert info["shape"] == [1, 77, 320]
    want_ctx, want_pooled = ref_prompt(w, WEIGHTED_PIECES)
    check(ctx, want_ctx, "weighted prompt, context")
    check(pooled, want_pooled, "weighted prompt, pooled")
    # Unweighted it would be another context, and the same pooled.
    plain = ref_prompt(w, [(WEIGHTED.replace("(red:1.4)", "red")
                            .replace("[deep]", "deep"), 1.0)])
    far(ctx, plain[0], "the prompt without its weights")
    check(pooled, plain[1], "pooled ignores the weights")


LONG = " ".join(["an old stone lighthouse on a rocky coast under a "
                 "stormy purple sky with seagulls and crashing waves"] * 5)


def test_prompt_over_77_tokens_joins_windows(_):
    m = small_model()
    n = len(ec.tokenize(LONG))
    assert 75 < n <= 150, n
    ctx, pooled, info = encode(m["file"], prompt=LONG)
    assert info["shape"] == [1, 154, 320]
    want_ctx, want_pooled = ref_prompt((m["wl"], m["wg"]), [(LONG, 1.0)])
    check(ctx, want_ctx, "long prompt, context")
    check(pooled, want_pooled, "long prompt, pooled of the first window")


def test_empty_negative_prompt_is_zeros(_):
    # A1111 (force_zero_negative_prompt) and diffusers
    # (force_zeros_for_empty_prompt): zeros, context and pooled, also in
    # the window that pads it to the prompt's two.
    m = small_model()
    w = (m["wl"], m["wg"])
    ctx, pooled, info = encode(m["file"], prompt=LONG, negative="")
    assert info["shape"] == [2, 154, 320]
    assert not ctx[0].any() and not pooled[0].any()
    want_ctx, want_pooled = ref_prompt(w, [(LONG, 1.0)])
    check(ctx[1:], want_ctx, "cond beside an empty negative")
    check(pooled[1:], want_pooled, "pooled beside an empty negative")


def test_negative_prompt_is_encoded_and_padded_with_the_empty_one(_):
    m = small_model()
    w = (m["wl"], m["wg"])
    ctx, pooled, _ = encode(m["file"], prompt=LONG, negative="blurry")
    neg = ref_prompt(w, [("blurry", 1.0)])
    empty = ref_prompt(w, [("", 1.0)])
    check(ctx[:1, :77], neg[0], "negative prompt")
    check(ctx[:1, 77:], empty[0], "its pad window, the empty prompt")
    check(pooled[:1], neg[1], "negative pooled")


# ---------------------------------------------------- full configuration

def full_model():
    """SDXL base's text encoders, CLIP ViT-L (123M) and OpenCLIP bigG
    (695M), and its VAE (84M) at their released shapes, F16 as released,
    in one SGM single file (sd_xl_base_1.0.safetensors without the UNet),
    written once for the tests below; with its parts (HF / diffusers
    names) mapped from the file, still F16: the references widen each
    weight where they use it."""
    if "full" not in _models:
        path = os.path.join(WORK, "full", "sdxl-text-vae.safetensors")
        os.makedirs(os.path.dirname(path))
        cfgs = dict(L=sdxl.CLIP_L, G=sdxl.CLIP_G, vae=vae_ref.sdxl_config())
        sdxl.write_single_file(path, cfgs, seed=30, dtype=np.float16)
        _models["full"] = dict(file=path, cfgs=cfgs,
                               **sdxl.read_parts(path))
    return _models["full"]


def test_full_clip_l_and_bigG_f16(_):
    """Token ids through both full encoders: the reference runs float64
    on the same F16 weights."""
    m = full_model()
    il, ig = token_rows([20], seed=9)
    ctx, pooled, info = encode(m["file"], il, ig)
    assert info["shape"] == [1, 77, 2048]
    assert info["pooled_shape"] == [1, 1280]
    e = info["encoders"]
    assert [(x["layers"], x["heads"], x["context_layer"]) for x in e] \
        == [(12, 12, 11), (32, 20, 31)], e
    want_ctx, want_pooled = sdxl.encode(m["L"], m["G"], il, ig,
                                        L=sdxl.CLIP_L, G=sdxl.CLIP_G)
    check(ctx, want_ctx, "full context")
    check(pooled, want_pooled, "full pooled")


def test_full_encoders_take_an_embedding_in_the_prompt(_):
    """A textual-inversion embedding as SDXL's are made (clip_l [2, 768],
    clip_g [2, 1280]) under A1111 emphasis in a prompt, through the full
    encoders: each encoder gets its own vectors in the name's place
    (test_textual_inversion checks the rules on small encoders)."""
    m = full_model()
    rng = np.random.default_rng(33)
    vl = rng.standard_normal((2, 768)).astype(np.float32)
    vg = rng.standard_normal((2, 1280)).astype(np.float32)
    d = os.path.join(WORK, "full", "embeddings")
    os.makedirs(d)
    emb = os.path.join(d, "kilnxl.safetensors")
    st_io.write(emb, {"clip_l": vl, "clip_g": vg})
    prompt = "a (kilnxl:1.2) painting of a lighthouse at dusk"
    ctx, pooled, info = encode(m["file"], prompt=prompt,
                               extra=["--embedding", emb])
    assert info["shape"] == [1, 77, 2048]
    assert info["pooled_shape"] == [1, 1280]
    pieces = [("a ", 1.0), ("kilnxl", 1.2),
              (" painting of a lighthouse at dusk", 1.0)]
    want_ctx, want_pooled = ec.ref_sdxl_prompt(
        m["L"], m["G"], pieces, sdxl.CLIP_L, sdxl.CLIP_G,
        {"kilnxl": vl}, {"kilnxl": vg})
    check(ctx, want_ctx, "full context with an embedding")
    check(pooled, want_pooled, "full pooled with an embedding")


# ------------------------------------------------------------------- VAE

@contextlib.contextmanager
def float64_vae():
    """The VAE reference in float64 (test_kiln_micro, run before this
    module in one process, leaves vae.DTYPE at float32)."""
    old = vae_ref.DTYPE
    vae_ref.DTYPE = torch.float64
    try:
        yield
    finally:
        vae_ref.DTYPE = old


def rand(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g).float()


def vae_decode(model, z):
    inp = os.path.join(WORK, "z.bin")
    out = os.path.join(WORK, "img.bin")
    z.numpy().astype(np.float32).tofile(inp)
    p = ec.kiln_render(["vae-decode", "--model", model, "--in",
                        "x".join(str(s) for s in z.shape) + "=" + inp,
                        "--out", out])
    assert p.returncode == 0, p.stderr
    info = json.loads(p.stdout)
    return torch.from_numpy(np.fromfile(out, np.float32)
                            .reshape(info["shape"])), info


def test_vae_diffusers_config_gives_sdxl_scaling(_):
    cfg = sdxl.small_vae_config()
    w = vae_ref.random_weights(cfg, seed=41)
    d = os.path.join(WORK, "sdxl-vae", "vae")
    os.makedirs(d)
    st_io.write(os.path.join(d, "diffusion_pytorch_model.safetensors"),
                vae_ref.as_numpy(w))
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(sdxl.vae_config_json(cfg), f)
    z = rand(1, 4, 8, 12, seed=42)
    got, info = vae_decode(os.path.dirname(d), z)
    assert abs(info["scaling_factor"] - 0.13025) < 1e-7, info
    with float64_vae():
        want = vae_ref.decode(w, cfg, z)
    check(got, want, "SDXL VAE, diffusers folder")


def test_vae_single_file_sdxl_scaling_and_f16_beyond_its_range(_):
    """An SDXL single file has no VAE config: the family gives 0.13025.
    Its weights are F16, the latent is scaled so that the decoder's
    activations pass float16's largest value (65504) many times over, as
    the trained SDXL VAE's do: kiln computes in float32, so the image
    still matches the float64 reference on the same rounded weights."""
    cfg = vae_ref.config((32, 64), layers=1, latent=4, groups=32,
                         scaling_factor=0.13025)
    w = vae_ref.random_weights(cfg, seed=43)
    path = os.path.join(WORK, "sdxl-with-vae.safetensors")
    vae = [("first_stage_model." + k, v)
           for k, v in vae_ref.to_ldm(w, cfg).items()]
    write_single_file(path, SL, SG, 21, np.float16, extra=vae)
    z = rand(1, 4, 8, 8, seed=44) * 5e5
    w16 = rounded(w, np.float16)
    with float64_vae():
        x = vae_ref._conv(w16, "decoder.conv_in",
                          vae_ref._conv(w16, "post_quant_conv", z.double(),
                                        pad=0))
        want = vae_ref.decode(w16, cfg, z)
    assert x.abs().max() > 10 * 65504, x.abs().max()
    got, info = vae_decode(path, z)
    assert abs(info["scaling_factor"] - 0.13025) < 1e-7, info
    assert torch.isfinite(got).all()
    check(got, want, "SDXL VAE, F16, large values")


def test_full_vae_decodes_f16_single_file(_):
    """SDXL base's VAE at its released shape (128/256/512/512, 2 layers,
    32 groups; 83,653,863 parameters, F16) from the single file: a
    256x256 image and a non-square one, against the float64 reference on
    the same F16 weights."""
    m = full_model()
    cfg = m["cfgs"]["vae"]
    n = sum(v.numel() for v in m["vae"].values())
    assert n == 83653863, n
    for shape, seed in (((1, 4, 32, 32), 34), ((1, 4, 8, 12), 35)):
        z = rand(*shape, seed=seed)
        got, info = vae_decode(m["file"], z)
        assert abs(info["scaling_factor"] - 0.13025) < 1e-7, info
        with float64_vae():
            want = vae_ref.decode(m["vae"], cfg, z)
        check(got, want, "full SDXL VAE, latent %s" % "x".join(
            str(x) for x in shape[2:]))
    shutil.rmtree(WORK, ignore_errors=True)
