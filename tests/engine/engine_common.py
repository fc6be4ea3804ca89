"""engine_common.py - shared helpers for the engine tests: the reference
module, kiln-render invocation with stable kernel caches, comparisons,
the reference conditioning of A1111 prompts (windows, emphasis,
embeddings), PNG reading."""

import json
import os
import struct
import subprocess
import sys
import zlib

import numpy as np

import harness

sys.path.insert(0, os.path.join(harness.ROOT, "tools", "reference"))

VOCAB = os.path.join(harness.ROOT, "models", "clip")
_tokens = {}


def render_bin():
    return os.path.join(harness.BUILD, "render-daemon", "kiln-render")


def engine_env():
    env = dict(os.environ)
    # Kernels compile once per checkout, not once per test run.
    env.setdefault("KILN_CL_CACHE", os.path.join(harness.ROOT, "build",
                                                 "cl-cache"))
    env.setdefault("POCL_CACHE_DIR", os.path.join(harness.ROOT, "build",
                                                  "pocl-cache"))
    # Not the tuning file of whoever runs the tests (~/.config/kiln):
    # test_tuning sets its own directory.
    env.setdefault("KILN_TUNING_DIR", os.path.join(harness.ROOT, "build",
                                                   "no-tuning"))
    return env


def kiln_render(args, timeout=600):
    return subprocess.run([render_bin()] + list(args), capture_output=True,
                          text=True, env=engine_env(), timeout=timeout)


def rel_err(got, want):
    """max |got - want| relative to the output's scale (max |want|)."""
    import torch
    got = got.double()
    want = want.double()
    scale = max(want.abs().max().item(), 1e-6)
    return (got - want).abs().max().item() / scale


# --- prompts ------------------------------------------------------------

def tokenize(text):
    """kiln's CLIP BPE ids of text (no BOS / EOS), cached; the tokenizer
    itself is checked against the vocabulary in test_tokenizer."""
    if text not in _tokens:
        p = kiln_render(["tokenize", "--vocab", VOCAB, "--", text])
        assert p.returncode == 0, p.stderr
        _tokens[text] = json.loads(p.stdout)
    return _tokens[text]


def prompt_windows(pieces, embs, pad):
    """A1111's tokenize_line for prompts without commas: [(text, weight)]
    and {embedding name: vector count} -> [(ids[77], weights[77],
    fixes)]. Each piece tokenized on its own and its names expanded
    (textual_inversion.expand); an embedding that does not fit in the
    window's 75 tokens starts the next one; textual_inversion.window
    makes each window. Start, end and filling weigh 1."""
    import textual_inversion as ti
    names = {n: (tuple(tokenize(n)), k) for n, k in embs.items()}
    out, ids, ws, fixes = [], [], [], []

    def close():
        win, fx = ti.window(ids, fixes, pad)
        out.append((win, [1.0] + ws + [1.0] * (76 - len(ws)), fx))
        del ids[:], ws[:], fixes[:]

    for text, w in pieces:
        t, fx = ti.expand(tokenize(text), names)
        at = dict(fx)
        i = 0
        while i < len(t):
            if i in at:
                n = embs[at[i]]
                if len(ids) + n > 75:
                    close()
                fixes.append((len(ids), at[i]))
                ids.extend(t[i:i + n])
                ws.extend([w] * n)
                i += n
            else:
                if len(ids) == 75:
                    close()
                ids.append(t[i])
                ws.append(w)
                i += 1
    if ids or not out:
        close()
    return out


def emphasis(z, weights):
    """A1111's EmphasisOriginal on [W, 77, D] windows of one encoder: z
    times the weights, rescaled to the mean it had."""
    import torch
    mult = torch.tensor(weights, dtype=torch.float64)[..., None]
    before = z.mean(dim=(1, 2), keepdim=True)
    z = z * mult
    return z * (before / z.mean(dim=(1, 2), keepdim=True))


def ref_sdxl_prompt(wl, wg, pieces, L, G, vl=None, vg=None):
    """A1111's SDXL conditioning of one prompt [(text, weight)] on the
    HF-named weights wl (CLIP-L, config L) and wg (bigG, config G), with
    textual-inversion vectors vl {name: [n, L hidden] array} into CLIP-L
    and vg (the same names) into bigG: per encoder, per window, emphasis;
    windows along the tokens; pooled from the first window, unweighted.
    -> (context [1, 77 W, L + G hidden], pooled [1, G projection]),
    float64."""
    import torch
    import sdxl
    import textual_inversion as ti
    vl, vg = vl or {}, vg or {}
    counts = {k: len(v) for k, v in vl.items()}
    wins_l = prompt_windows(pieces, counts, sdxl.PAD_L)
    wins_g = prompt_windows(pieces, counts, sdxl.PAD_G)
    il = torch.tensor([x[0] for x in wins_l])
    ig = torch.tensor([x[0] for x in wins_g])
    el = ti.embed(wl["text_model.embeddings.token_embedding.weight"], il,
                  [x[2] for x in wins_l],
                  {k: torch.from_numpy(v) for k, v in vl.items()})
    eg = ti.embed(wg["text_model.embeddings.token_embedding.weight"], ig,
                  [x[2] for x in wins_g],
                  {k: torch.from_numpy(v) for k, v in vg.items()})
    ctx, pooled = sdxl.encode(wl, wg, il, ig, L=L, G=G, embeds_l=el,
                              embeds_g=eg)
    weights = [x[1] for x in wins_l]
    assert weights == [x[1] for x in wins_g]
    ctx = torch.cat([emphasis(ctx[..., :L["hidden"]], weights),
                     emphasis(ctx[..., L["hidden"]:], weights)], -1)
    return ctx.reshape(1, -1, ctx.shape[-1]), pooled[:1]


def read_encoded(p, out, pout, pooled):
    """What a finished kiln-render encode-text process p wrote: (context,
    pooled or None, its summary), the files reshaped as it reports."""
    import torch
    assert p.returncode == 0, p.stderr
    info = json.loads(p.stdout)
    ctx = torch.from_numpy(np.fromfile(out, np.float32)
                           .reshape(info["shape"]))
    pl = None
    if pooled:
        pl = torch.from_numpy(np.fromfile(pout, np.float32)
                              .reshape(info["pooled_shape"]))
    return ctx, pl, info


# The engine tests' tolerance: max |got - want| <= 1e-4 of the output's
# scale.
TOL = 1e-4


def check(got, want, what, tol=TOL):
    """got (kiln) agrees with want (the reference) in shape and within
    tol of want's scale."""
    assert tuple(got.shape) == tuple(want.shape), \
        "%s: shape %s, want %s" % (what, tuple(got.shape), tuple(want.shape))
    err = rel_err(got, want)
    assert err <= tol, "%s: relative error %.3g > %g" % (what, err, tol)


def far(got, want, what, tol=TOL):
    """A deliberately wrong reference must miss by far more than the
    tolerance: the check can fail."""
    err = rel_err(got, want)
    assert err > 100 * tol, "%s: only %.3g off" % (what, err)


# --- images -------------------------------------------------------------

def png_chunks(path):
    """[(type, data)] of a PNG, checking the signature and every CRC."""
    with open(path, "rb") as f:
        b = f.read()
    assert b[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    out, i = [], 8
    while i < len(b):
        n, = struct.unpack(">I", b[i:i + 4])
        typ, data = b[i + 4:i + 8], b[i + 8:i + 8 + n]
        crc, = struct.unpack(">I", b[i + 8 + n:i + 12 + n])
        assert crc == zlib.crc32(typ + data) & 0xffffffff, typ
        out.append((typ, data))
        i += 12 + n
    assert out[-1][0] == b"IEND"
    return out


def png_pixels(path):
    """RGB8 pixels of one of our PNGs (8-bit RGB, non-interlaced) with
    zlib alone, so the test does not trust libgd to read what it wrote."""
    ch = png_chunks(path)
    w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB",
                                                       ch[0][1])
    assert (depth, ctype, interlace) == (8, 2, 0)
    raw = zlib.decompress(b"".join(d for t, d in ch if t == b"IDAT"))
    stride = w * 3
    img = np.zeros((h, stride), np.int32)
    prev = np.zeros(stride, np.int32)
    pos = 0
    for y in range(h):
        ft = raw[pos]
        line = np.frombuffer(raw[pos + 1:pos + 1 + stride],
                             np.uint8).astype(np.int32)
        pos += 1 + stride
        cur = np.zeros(stride, np.int32)
        for x in range(stride):
            a = cur[x - 3] if x >= 3 else 0
            b = prev[x]
            c = prev[x - 3] if x >= 3 else 0
            if ft == 0:
                p = 0
            elif ft == 1:
                p = a
            elif ft == 2:
                p = b
            elif ft == 3:
                p = (a + b) // 2
            else:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            cur[x] = (line[x] + p) & 255
        img[y] = cur
        prev = cur
    return img.reshape(h, w, 3).astype(np.uint8)


def png_parameters(path):
    """The "parameters" text: tEXt in Latin-1, or iTXt in UTF-8 when the
    text is not all Latin-1 (as Pillow's add_text writes for A1111)."""
    texts = [(t, d) for t, d in png_chunks(path) if t in (b"tEXt", b"iTXt")]
    assert len(texts) == 1, texts
    kind, data = texts[0]
    key, _, val = data.partition(b"\0")
    assert key == b"parameters"
    if kind == b"iTXt":
        assert val[:2] == b"\0\0", val[:2]
        return val[2:].split(b"\0", 2)[2].decode("utf-8")
    return val.decode("latin-1")


def close_to(got, want, what):
    d = np.abs(got.astype(np.int32) - want.astype(np.int32))
    assert got.shape == want.shape, (got.shape, want.shape)
    assert d.mean() <= 1.0 and d.max() <= 4, \
        "%s: mean |diff| %.3f, max %d (want <= 1, <= 4)" % (
            what, d.mean(), d.max())
    return d


# --- small SDXL text encoders -----------------------------------------

# CLIP-L- and bigG-shaped encoders at test size with the real vocabulary
# (kiln's tokenizer feeds them prompts): the SDXL text tests' and the
# textual-inversion tests'.
SDXL_SMALL_L = dict(vocab=49408, hidden=128, layers=3, inter=256,
                    max_pos=77, heads=2, act="quick_gelu")
SDXL_SMALL_G = dict(vocab=49408, hidden=192, layers=3, inter=384,
                    max_pos=77, heads=3, act="gelu", projection=160)


def te_args(c):
    """The clip reference's size arguments of an encoder config."""
    return {k: c[k] for k in ("vocab", "hidden", "layers", "inter",
                              "max_pos")}
