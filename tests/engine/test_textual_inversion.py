"""Textual-inversion embeddings on PoCL against the PyTorch reference
(tools/reference/textual_inversion.py with clip.py and sdxl.py), through
`kiln-render encode-text --embedding FILE / --embeddings DIR` on small
random text encoders: an SD 1.x-shaped encoder with a two-vector
embedding in the prompt, SDXL's two encoders with clip_l and clip_g, the
longest name first, an embedding under A1111 emphasis, one that does not
fit the rest of a window starting the next (A1111's chunking), a folder
whose unnamed files are never read; `kiln-render render` on kiln-micro
with and without them; and the files and models that do not go
together, each refused with a message naming the file. Tolerance: max
abs error <= 1e-4 of the output's scale."""

import os
import shutil
import tempfile

import numpy as np
import torch

import engine_common as ec
import clip as clip_ref
import sdxl
import st_io
import textual_inversion as ti

STACK = None
TOL = 1e-4
WORK = tempfile.mkdtemp(prefix="kiln-ti-")
BOS, EOS = sdxl.BOS, sdxl.EOS

# Heads of 64 channels: single files carry no head count.
SD1 = dict(vocab=49408, hidden=128, layers=2, inter=256, max_pos=77)
SD1_HEADS = 2
SL = ec.SDXL_SMALL_L
SG = ec.SDXL_SMALL_G

_models = {}


te = ec.te_args


def sd1_model():
    """An SD 1.x single file holding the text encoder, and its weights."""
    if "sd1" not in _models:
        w = clip_ref.random_weights(**SD1, seed=41)
        path = os.path.join(WORK, "sd1.safetensors")
        st_io.write(path, {"cond_stage_model.transformer." + k: v
                           for k, v in clip_ref.as_numpy(w).items()})
        _models["sd1"] = (path, w)
    return _models["sd1"]


def sdxl_model():
    """An SGM single file holding SDXL's two text encoders, and their
    weights (HF names)."""
    if "sdxl" not in _models:
        wl = clip_ref.random_weights(**te(SL), seed=42)
        wg = clip_ref.random_weights(**te(SG), seed=43,
                                     projection=SG["projection"])
        st = {sdxl.PREFIX_L + k: v for k, v in clip_ref.as_numpy(wl).items()}
        st.update({sdxl.PREFIX_G + k: v.numpy().astype(np.float32)
                   for k, v in clip_ref.to_openclip(wg).items()})
        path = os.path.join(WORK, "sdxl.safetensors")
        st_io.write(path, st)
        _models["sdxl"] = (path, wl, wg)
    return _models["sdxl"]


def vectors(n, width, seed):
    return np.random.default_rng(seed).standard_normal(
        (n, width)).astype(np.float32)


def emb_file(name, **tensors):
    """NAME.safetensors of the given tensors in a folder of its own."""
    d = os.path.join(WORK, "emb-" + name)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, name + ".safetensors")
    st_io.write(path, tensors)
    return path


def run(model, prompt, embs=(), folder=None, negative=None, pooled=False):
    out = os.path.join(WORK, "ctx.bin")
    pout = os.path.join(WORK, "pooled.bin")
    for p in (out, pout):
        if os.path.exists(p):
            os.unlink(p)
    args = ["encode-text", "--model", model, "--out", out, "--prompt",
            prompt, "--vocab", ec.VOCAB]
    for e in embs:
        args += ["--embedding", e]
    if folder is not None:
        args += ["--embeddings", folder]
    if negative is not None:
        args += ["--negative", negative]
    if pooled:
        args += ["--pooled", pout]
    return ec.kiln_render(args), out, pout


def encode(model, prompt, embs=(), folder=None, negative=None,
           pooled=False):
    p, out, pout = run(model, prompt, embs, folder, negative, pooled)
    return ec.read_encoded(p, out, pout, pooled)[:2]


def refused(model, prompt, embs=(), folder=None):
    p, _, _ = run(model, prompt, embs, folder)
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    return p.stderr


check = ec.check
far = ec.far


# ------------------------------------------------------------ reference

def ref_sdxl(wl, wg, pieces, vl, vg):
    """SDXL's context and pooled of one prompt on the small encoders,
    clip_l's vectors vl into CLIP-L and clip_g's vg into bigG."""
    return ec.ref_sdxl_prompt(wl, wg, pieces, SL, SG, vl, vg)


def ref_sd1(w, pieces, vecs):
    """The SD 1.x conditioning [1, 77 W, D] of one prompt with the
    embeddings vecs {name: [n, D] array}."""
    wins = ec.prompt_windows(pieces, {k: len(v) for k, v in vecs.items()},
                             EOS)
    ids = torch.tensor([x[0] for x in wins])
    tok = w["text_model.embeddings.token_embedding.weight"]
    x = ti.embed(tok, ids, [x[2] for x in wins],
                 {k: torch.from_numpy(v) for k, v in vecs.items()})
    z = clip_ref.final_norm(w, clip_ref.hidden_states(
        w, ids, SD1_HEADS, embeds=x)[-1])
    z = ec.emphasis(z, [x[1] for x in wins])
    return z.reshape(1, -1, z.shape[-1])


# -------------------------------------------------------------- SD 1.x

def test_sd1_embedding_stands_in_for_its_name(_):
    path, w = sd1_model()
    v = vectors(2, SD1["hidden"], 1)
    e = emb_file("kilnstyle", emb_params=v)
    prompt = "a photo of kilnstyle on a table"
    assert len(ec.tokenize("kilnstyle")) > 1, ec.tokenize("kilnstyle")
    got, _ = encode(path, prompt, [e])
    assert tuple(got.shape) == (1, 77, SD1["hidden"])
    check(got, ref_sd1(w, [(prompt, 1.0)], {"kilnstyle": v}),
          "SD 1.x, two vectors")
    # Without the embedding the name's own tokens are encoded.
    far(got, ref_sd1(w, [(prompt, 1.0)], {}), "the name as plain text")
    plain, _ = encode(path, prompt)
    check(plain, ref_sd1(w, [(prompt, 1.0)], {}), "no --embedding")


def test_one_dimensional_tensor_is_one_vector(_):
    path, w = sd1_model()
    v = vectors(1, SD1["hidden"], 2)
    e = emb_file("onevec", whatever=v[0])
    prompt = "onevec, onevec and a cat"
    got, _ = encode(path, prompt, [e])
    check(got, ref_sd1(w, [(prompt, 1.0)], {"onevec": v}),
          "a 1-D embedding, named twice")


def test_longest_name_first(_):
    path, w = sd1_model()
    assert ec.tokenize("red-fox")[:1] == ec.tokenize("red")
    short = vectors(1, SD1["hidden"], 3)
    long = vectors(3, SD1["hidden"], 4)
    es = [emb_file("red", emb_params=short),
          emb_file("red-fox", emb_params=long)]
    prompt = "a red-fox beside a red barn"
    got, _ = encode(path, prompt, es)
    want = ref_sd1(w, [(prompt, 1.0)], {"red": short, "red-fox": long})
    check(got, want, "red-fox, then red")
    # Matching the shorter name first would leave "-fox" as text.
    far(got, ref_sd1(w, [(prompt, 1.0)], {"red": short}), "red alone")


def test_emphasis_weighs_an_embedding_like_a_word(_):
    path, w = sd1_model()
    v = vectors(2, SD1["hidden"], 5)
    e = emb_file("kilnstyle", emb_params=v)
    got, _ = encode(path, "a photo of (kilnstyle:1.3) on [a table]", [e])
    pieces = [("a photo of ", 1.0), ("kilnstyle", 1.3), (" on ", 1.0),
              ("a table", 1 / 1.1)]
    check(got, ref_sd1(w, pieces, {"kilnstyle": v}), "(kilnstyle:1.3)")
    far(got, ref_sd1(w, [("a photo of kilnstyle on a table", 1.0)],
                     {"kilnstyle": v}), "unweighted")


def test_an_embedding_that_does_not_fit_starts_the_next_window(_):
    path, w = sd1_model()
    v = vectors(3, SD1["hidden"], 6)
    e = emb_file("kilnstyle", emb_params=v)
    assert len(ec.tokenize("cat")) == 1
    prompt = "cat " * 73 + "kilnstyle dog"
    got, _ = encode(path, prompt, [e])
    assert tuple(got.shape) == (1, 154, SD1["hidden"])
    wins = ec.prompt_windows([(prompt, 1.0)], {"kilnstyle": 3}, EOS)
    assert len(wins) == 2 and wins[1][2] == [(0, "kilnstyle")], wins
    check(got, ref_sd1(w, [(prompt, 1.0)], {"kilnstyle": v}),
          "the embedding opens window 2")


def test_negative_prompt_takes_embeddings_too(_):
    path, w = sd1_model()
    v = vectors(2, SD1["hidden"], 7)
    e = emb_file("badhands", emb_params=v)
    got, _ = encode(path, "a cat", [e], negative="badhands, blurry")
    check(got[:1], ref_sd1(w, [("badhands, blurry", 1.0)], {"badhands": v}),
          "negative with an embedding")
    check(got[1:], ref_sd1(w, [("a cat", 1.0)], {}), "the prompt")


def test_folder_reads_only_the_names_a_prompt_uses(_):
    path, w = sd1_model()
    d = os.path.join(WORK, "folder")
    os.makedirs(d)
    v = vectors(2, SD1["hidden"], 8)
    st_io.write(os.path.join(d, "kilnstyle.safetensors"),
                {"emb_params": v})
    # Unnamed, and unusable: never read.
    with open(os.path.join(d, "broken.safetensors"), "wb") as f:
        f.write(b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":")
    with open(os.path.join(d, "pickled.pt"), "wb") as f:
        f.write(b"\x80\x02}q\x00.")
    st_io.write(os.path.join(d, "xl.safetensors"),
                {"clip_l": vectors(1, 768, 1), "clip_g": vectors(1, 1280, 2)})
    prompt = "kilnstyle on a wooden table"
    got, _ = encode(path, prompt, folder=d)
    check(got, ref_sd1(w, [(prompt, 1.0)], {"kilnstyle": v}),
          "--embeddings DIR")
    err = refused(path, "a pickled cat", folder=d)
    assert "pickled.pt is a PyTorch pickle" in err, err
    err = refused(path, "a broken cat", folder=d)
    assert "broken.safetensors" in err, err
    err = refused(path, "an xl cat", folder=d)
    assert "xl.safetensors" in err and "made for SDXL" in err, err


def test_sd2_openclip_encoder_pads_with_zeros(_):
    """An SD 2.x single file (OpenCLIP names, GELU, the penultimate
    layer through the final norm, windows padded with 0 after the end
    id): the slots (id 0 too) come before the end and keep their
    vectors."""
    w = clip_ref.random_weights(**dict(SD1, layers=3), seed=44)
    path = os.path.join(WORK, "sd2.safetensors")
    st_io.write(path, {"cond_stage_model.model." + k:
                       v.numpy().astype(np.float32)
                       for k, v in clip_ref.to_openclip(w).items()})
    v = vectors(3, SD1["hidden"], 22)
    e = emb_file("kilnstyle", emb_params=v)
    prompt = "kilnstyle of a (lighthouse:1.1)"
    got, _ = encode(path, prompt, [e])
    pieces = [("kilnstyle of a ", 1.0), ("lighthouse", 1.1)]
    wins = ec.prompt_windows(pieces, {"kilnstyle": 3}, 0)
    ids = torch.tensor([x[0] for x in wins])
    assert ids[0, 7].item() == EOS and ids[0, 8].item() == 0, ids
    x = ti.embed(w["text_model.embeddings.token_embedding.weight"], ids,
                 [x[2] for x in wins], {"kilnstyle": torch.from_numpy(v)})
    z = clip_ref.final_norm(w, clip_ref.hidden_states(
        w, ids, SD1_HEADS, act="gelu", embeds=x)[-2])
    want = ec.emphasis(z, [x[1] for x in wins]).reshape(1, -1,
                                                         z.shape[-1])
    check(got, want, "SD 2.x, OpenCLIP")
    err = refused(path, "a cat", [emb_file("sd1wide", emb_params=vectors(
        1, 768, 23))])
    assert "sd1wide.safetensors" in err and "768 wide" in err and \
        "sd2 model" in err, err


# ---------------------------------------------------------------- SDXL

def test_sdxl_clip_l_and_clip_g_go_to_their_encoders(_):
    path, wl, wg = sdxl_model()
    vl = vectors(2, SL["hidden"], 9)
    vg = vectors(2, SG["hidden"], 10)
    e = emb_file("kilnxl", clip_l=vl, clip_g=vg)
    prompt = "a (kilnxl:1.2) painting of a lighthouse"
    got, pooled = encode(path, prompt, [e], pooled=True)
    pieces = [("a ", 1.0), ("kilnxl", 1.2),
              (" painting of a lighthouse", 1.0)]
    want, want_pooled = ref_sdxl(wl, wg, pieces, {"kilnxl": vl},
                                 {"kilnxl": vg})
    check(got, want, "SDXL context")
    check(pooled, want_pooled, "SDXL pooled, read at the end token")
    # Swapped vectors, or the name as text, give other contexts.
    far(got, ref_sdxl(wl, wg, pieces, {}, {})[0], "no embedding")
    far(pooled, ref_sdxl(wl, wg, pieces, {}, {})[1], "pooled without it")


# -------------------------------------------------------------- render

def test_render_uses_the_embeddings_a_prompt_names(_):
    """kiln-render render on kiln-micro (128-wide text encoder): a named
    embedding changes the image, an unnamed one changes nothing, and one
    of the wrong width fails naming its file."""
    d = os.path.join(WORK, "render")
    os.makedirs(d)
    st_io.write(os.path.join(d, "shinystar.safetensors"),
                {"emb_params": vectors(2, 128, 20)})
    st_io.write(os.path.join(d, "wide.safetensors"),
                {"emb_params": vectors(2, 768, 21)})

    def render(prompt, out, *extra):
        p = ec.kiln_render(["render", "--prompt", prompt, "-o",
                            os.path.join(d, out), "--seed", "3",
                            "--steps", "2"] + list(extra))
        return p, os.path.join(d, out)

    p, plain = render("a red shinystar", "plain.png")
    assert p.returncode == 0, p.stderr
    p, used = render("a red shinystar", "used.png", "--embeddings", d)
    assert p.returncode == 0, p.stderr
    p, unused = render("a red star", "unused.png", "--embedding",
                       os.path.join(d, "shinystar.safetensors"))
    assert p.returncode == 0, p.stderr
    p, star = render("a red star", "star.png")
    assert p.returncode == 0, p.stderr
    data = {k: open(v, "rb").read() for k, v in
            (("plain", plain), ("used", used), ("unused", unused),
             ("star", star))}
    assert data["used"] != data["plain"]
    assert data["unused"] == data["star"]
    p, _ = render("a wide star", "wide.png", "--embeddings", d)
    assert p.returncode == 1 and "wide.safetensors" in p.stderr and \
        "768 wide" in p.stderr, p.stderr


# -------------------------------------------------------------- errors

def test_wrong_width_is_refused_naming_the_file(_):
    path, _ = sd1_model()
    e = emb_file("wide", emb_params=vectors(2, 768, 11))
    err = refused(path, "a wide cat", [e])
    assert "wide.safetensors" in err and "768" in err and \
        str(SD1["hidden"]) in err, err


def test_sdxl_embedding_on_sd1_is_refused(_):
    path, _ = sd1_model()
    e = emb_file("xlonly", clip_l=vectors(1, 768, 12),
                 clip_g=vectors(1, 1280, 13))
    err = refused(path, "a cat", [e])
    assert "xlonly.safetensors" in err and "made for SDXL" in err, err


def test_sd1_embedding_on_sdxl_is_refused(_):
    path, _, _ = sdxl_model()
    e = emb_file("sdone", emb_params=vectors(1, SL["hidden"], 14))
    err = refused(path, "a cat", [e])
    assert "sdone.safetensors" in err and "needs clip_l and clip_g" in err, \
        err


def test_missing_clip_g_is_refused_on_sdxl(_):
    path, _, _ = sdxl_model()
    e = emb_file("halfxl", clip_l=vectors(2, SL["hidden"], 15))
    err = refused(path, "a cat", [e])
    assert "halfxl.safetensors" in err and \
        "has clip_l but no clip_g" in err, err
    e = emb_file("halfxl2", clip_l=vectors(2, SL["hidden"], 15),
                 other=vectors(2, 4, 1))
    err = refused(path, "a cat", [e])
    assert "halfxl2.safetensors has clip_l but no clip_g" in err, err


def test_bad_files_are_refused_naming_the_file(_):
    path, _ = sd1_model()
    good = emb_file("cutshort", emb_params=vectors(2, SD1["hidden"], 16))
    data = open(good, "rb").read()
    with open(good, "wb") as f:
        f.write(data[:-12])
    err = refused(path, "a cat", [good])
    assert "cutshort.safetensors" in err and "truncated" in err, err
    many = emb_file("toomany", emb_params=vectors(76, SD1["hidden"], 17))
    err = refused(path, "a cat", [many])
    assert "toomany.safetensors" in err and "at most 75" in err, err
    two = emb_file("twotensors", a=vectors(1, SD1["hidden"], 18),
                   b=vectors(1, SD1["hidden"], 19))
    err = refused(path, "a cat", [two])
    assert "twotensors.safetensors" in err and "2 tensors" in err, err
    counts = emb_file("counts", clip_l=vectors(2, 768, 1),
                      clip_g=vectors(3, 1280, 2))
    err = refused(path, "a cat", [counts])
    assert "counts.safetensors" in err and "as many" in err, err
    pt = os.path.join(WORK, "pickle.pt")
    with open(pt, "wb") as f:
        f.write(b"\x80\x02}q\x00.")
    err = refused(path, "a cat", [pt])
    assert "pickle.pt is a PyTorch pickle" in err, err
    ints = os.path.join(WORK, "emb-ints", "ints.safetensors")
    os.makedirs(os.path.dirname(ints))
    st_io.write(ints, {"emb_params": np.zeros((2, SD1["hidden"]),
                                              np.int32)})
    err = refused(path, "a cat", [ints])
    assert "ints.safetensors" in err, err
    shutil.rmtree(WORK, ignore_errors=True)
