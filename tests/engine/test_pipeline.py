"""The whole txt2img / img2img pipeline (`kiln-render render`) on a tiny
random-weight model built as a diffusers folder from the references
(tools/reference: clip.py, unet.py, vae.py), with the default vocabulary
from models/clip/: PNG output with its A1111 parameters chunk, seeds that
reproduce, agreement with a float64 Python pipeline built from the same
references (samplers.py's Euler and kiln's RNG), img2img, argument errors.

Tolerance against the reference: mean |pixel difference| <= 1 and max <= 4
on 0..255. The engine runs float32 on the device, the reference float64;
each UNet evaluation agrees to ~1e-4 of its scale (test_unet), cfg 7
multiplies the cond - uncond difference (and with it that error) by 7,
and the sampler carries it through the steps; a few pixels then round to
the neighbouring value, rarely more."""

import json
import os
import shutil
import struct
import tempfile
import zlib

import numpy as np
import torch

import engine_common as ec
import harness
import clip as clip_ref
import samplers as sref
import st_io
import unet as unet_ref
import vae as vae_ref

STACK = None
WORK = tempfile.mkdtemp(prefix="kiln-pipeline-")
MODEL = os.path.join(WORK, "tiny")
VOCAB = os.path.join(harness.ROOT, "models", "clip")

HIDDEN, HEADS = 32, 2
UCFG = unet_ref.Config(ch=(32, 64), layers=1, attn=(True, False), heads=2,
                       ctx_dim=HIDDEN, groups=8)
VCFG = vae_ref.config((16, 32, 32), layers=1, latent=4, groups=8,
                      scaling_factor=0.5)
W = {}


def build_model():
    W["clip"] = clip_ref.random_weights(49408, HIDDEN, 2, 64, 77, seed=11)
    W["unet"] = unet_ref.random_weights(UCFG, seed=12)
    W["vae"] = vae_ref.random_weights(VCFG, seed=13)
    parts = {
        "text_encoder": ("model.safetensors", clip_ref.as_numpy(W["clip"]),
                         {"hidden_size": HIDDEN, "intermediate_size": 64,
                          "num_attention_heads": HEADS,
                          "num_hidden_layers": 2, "hidden_act": "quick_gelu",
                          "layer_norm_eps": 1e-5,
                          "max_position_embeddings": 77,
                          "vocab_size": 49408}),
        "unet": ("diffusion_pytorch_model.safetensors",
                 {k: v.numpy() for k, v in W["unet"].items()},
                 {"block_out_channels": UCFG.ch, "layers_per_block": 1,
                  "attention_head_dim": 2, "cross_attention_dim": HIDDEN,
                  "norm_num_groups": 8}),
        "vae": ("diffusion_pytorch_model.safetensors",
                vae_ref.as_numpy(W["vae"]), dict(VCFG)),
    }
    for name, (fname, tensors, cfg) in parts.items():
        d = os.path.join(MODEL, name)
        os.makedirs(d)
        st_io.write(os.path.join(d, fname), tensors)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f)
    d = os.path.join(MODEL, "scheduler")
    os.makedirs(d)
    with open(os.path.join(d, "scheduler_config.json"), "w") as f:
        json.dump({"_class_name": "PNDMScheduler", "beta_start": 0.00085,
                   "beta_end": 0.012, "beta_schedule": "scaled_linear",
                   "num_train_timesteps": 1000,
                   "prediction_type": "epsilon"}, f)


def render(args, sub=True):
    p = ec.kiln_render((["render"] if sub else []) + list(args),
                       timeout=900)
    return p


def render_ok(args, sub=True):
    p = render(args, sub)
    assert p.returncode == 0, "exit %d: %s" % (p.returncode, p.stderr)
    return json.loads(p.stdout.strip().splitlines()[-1])


png_chunks = ec.png_chunks
png_pixels = ec.png_pixels
parameters = ec.png_parameters
close_to = ec.close_to


def write_png(path, rgb):
    """A plain 8-bit RGB PNG (filter 0 on every row) with zlib alone."""
    h, w, _ = rgb.shape

    def chunk(typ, data):
        return (struct.pack(">I", len(data)) + typ + data +
                struct.pack(">I", zlib.crc32(typ + data) & 0xffffffff))
    raw = b"".join(b"\0" + rgb[y].tobytes() for y in range(h))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" +
                chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


# ------------------------------------------------------ reference pipeline

def tokenize(text):
    p = ec.kiln_render(["tokenize", "--vocab", VOCAB, "--", text])
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def window(pieces):
    """[(text, weight)] -> (ids[77], weights[77]) the way A1111 builds one
    window: each piece tokenized on its own, start, tokens, end, end-id
    padding; start, end and padding weigh 1."""
    ids, ws = [49406], [1.0]
    for text, wt in pieces:
        t = tokenize(text)
        ids += t
        ws += [wt] * len(t)
    ids.append(49407)
    ws.append(1.0)
    assert len(ids) <= 77
    ws += [1.0] * (77 - len(ids))
    ids += [49407] * (77 - len(ids))
    return ids, ws


def ref_cond(neg_pieces, pos_pieces):
    ids, ws = zip(window(neg_pieces), window(pos_pieces))
    z = clip_ref.forward(W["clip"], torch.tensor(ids), heads=HEADS)
    out = []
    for r in range(2):
        row = z[r]
        wt = torch.tensor(ws[r], dtype=torch.float64)[:, None]
        before = row.mean()
        row = row * wt
        row = row * (before / row.mean())
        out.append(row)
    return torch.stack(out)


def ref_generate(neg_pieces, pos_pieces, seed, steps, cfg, H, Wd,
                 init=None, strength=1.0):
    ctx = ref_cond(neg_pieces, pos_pieces)
    f = 2 ** (len(VCFG["block_out_channels"]) - 1)
    shape = (1, 4, H // f, Wd // f)
    n = int(np.prod(shape))
    sched = sref.Schedule()

    def model(x_in, t):
        x = torch.from_numpy(np.asarray(x_in).reshape(shape))
        x2 = torch.cat([x, x]).double()
        o = unet_ref.forward(W["unet"], UCFG, x2,
                             torch.tensor([t, t], dtype=torch.float64), ctx)
        o = o[0] + cfg * (o[1] - o[0])
        return o.reshape(-1).numpy()

    noise = sref.KilnRng(seed).normal(n).astype(np.float64)
    sigmas = sched.get_sigmas(steps)
    count = min(int(steps * strength), steps)
    sigmas = sigmas[steps - count:]
    x = noise * sigmas[0]
    if init is not None:
        img = torch.from_numpy(init.astype(np.float64) / 127.5 - 1.0)
        img = img.permute(2, 0, 1)[None]
        mean, _ = vae_ref.encode(W["vae"], VCFG, img)
        x = x + (mean * VCFG["scaling_factor"]).reshape(-1).numpy()
    den = sref.Denoiser(sched, model)
    x = sref.sample_euler(den, x, sigmas, lambda i: False)
    z = torch.from_numpy(x.reshape(shape)) / VCFG["scaling_factor"]
    img = vae_ref.decode(W["vae"], VCFG, z)[0]
    img = ((img + 1) / 2).clamp(0, 1).permute(1, 2, 0).numpy()
    return np.rint(img * 255).astype(np.uint8), len(den.calls)


# ------------------------------------------------------------------ tests

def test_txt2img_writes_png_with_parameters(_):
    build_model()
    out = os.path.join(WORK, "a.png")
    info = render_ok(["--model", MODEL, "--prompt", "a red fox",
                      "--negative", "blurry", "--width", "64", "--height",
                      "64", "--steps", "4", "--cfg", "7", "--sampler",
                      "euler_a", "--seed", "42", "-o", out])
    assert info["files"] == [out] and info["seeds"] == [42], info
    assert info["steps_run"] == 4 and info["peak_bytes"] > 0, info
    for k in ("text_s", "unet_s", "unet_step_s", "vae_s", "total_s"):
        assert info["timings"][k] >= 0, info
    ch = png_chunks(out)
    assert ch[0][0] == b"IHDR" and ch[1][0] == b"tEXt", [c[0] for c in ch]
    assert struct.unpack(">II", ch[0][1][:8]) == (64, 64)
    assert parameters(out) == (
        "a red fox\nNegative prompt: blurry\nSteps: 4, Sampler: Euler a, "
        "CFG scale: 7, Seed: 42, Size: 64x64, Model: tiny")
    assert not [n for n in os.listdir(WORK) if ".tmp" in n]
    px = png_pixels(out)
    assert px.shape == (64, 64, 3) and px.std() > 1, "flat image"


def test_same_seed_same_pixels_other_seed_differs(_):
    args = ["--model", MODEL, "--prompt", "a red fox", "--width", "64",
            "--height", "64", "--steps", "4", "--sampler", "euler_a"]
    a, b, c = (os.path.join(WORK, n) for n in ("s1.png", "s2.png",
                                                "s3.png"))
    render_ok(args + ["--seed", "7", "-o", a])
    render_ok(args + ["--seed", "7", "-o", b])
    render_ok(args + ["--seed", "8", "-o", c])
    assert np.array_equal(png_pixels(a), png_pixels(b)), "same seed differs"
    assert not np.array_equal(png_pixels(a), png_pixels(c)), \
        "another seed gives the same image"
    # A batch: image i is the single image of seed + i.
    d = os.path.join(WORK, "batch.png")
    info = render_ok(args + ["--seed", "7", "--batch", "2", "-o", d])
    assert info["seeds"] == [7, 8], info
    assert info["files"] == [d, os.path.join(WORK, "batch-1.png")], info
    assert np.array_equal(png_pixels(d), png_pixels(a))
    assert np.array_equal(png_pixels(info["files"][1]), png_pixels(c))
    assert "Seed: 8," in parameters(info["files"][1])


def test_txt2img_matches_reference_pipeline(_):
    out = os.path.join(WORK, "ref.png")
    render_ok(["--model", MODEL, "--prompt", "a photo of a (cat:1.3)",
               "--negative", "ugly", "--width", "64", "--height", "64",
               "--steps", "6", "--cfg", "7", "--sampler", "euler",
               "--seed", "1234", "-o", out])
    want, calls = ref_generate([("ugly", 1.0)],
                               [("a photo of a ", 1.0), ("cat", 1.3)],
                               1234, 6, 7.0, 64, 64)
    assert calls == 6
    close_to(png_pixels(out), want, "txt2img euler cfg 7")


def test_img2img_half_strength_matches_reference(_):
    # The init image: a gradient with a square, 64x64 so the resize is
    # the identity and the reference sees the same pixels.
    y, x = np.mgrid[0:64, 0:64]
    init = np.stack([x * 4, y * 4, (x + y) * 2], -1).clip(0, 255)
    init[20:40, 20:40] = (250, 30, 30)
    init = init.astype(np.uint8)
    src = os.path.join(WORK, "init.png")
    write_png(src, init)
    out = os.path.join(WORK, "i2i.png")
    info = render_ok(["--model", MODEL, "--prompt", "a fox", "--width",
                      "64", "--height", "64", "--steps", "8", "--cfg", "7",
                      "--sampler", "euler", "--seed", "5", "--init", src,
                      "--strength", "0.5", "-o", out])
    assert info["steps_run"] == 4, info
    assert parameters(out).endswith(", Model: tiny, Denoising strength: "
                                    "0.5"), parameters(out)
    want, calls = ref_generate([], [("a fox", 1.0)], 5, 8, 7.0, 64, 64,
                               init=init, strength=0.5)
    assert calls == 4
    close_to(png_pixels(out), want, "img2img strength 0.5")
    # Another input size is resized to the requested one.
    small = os.path.join(WORK, "small.png")
    write_png(small, np.ascontiguousarray(init[::2, ::2]))
    info = render_ok(["--model", MODEL, "--prompt", "a fox", "--width",
                      "64", "--height", "64", "--steps", "4", "--seed",
                      "5", "--init", small, "--strength", "0.75", "-o",
                      os.path.join(WORK, "i2i-jpg.png")])
    assert info["steps_run"] == 3 and info["width"] == 64, info


def test_bad_parameters_exit_2_naming_the_flag(_):
    out = os.path.join(WORK, "bad.png")
    base = ["--model", MODEL, "--prompt", "x", "-o", out]
    cases = [
        (["--width", "500"], "--width: 500 is not a multiple of 8"),
        (["--height", "4096"], "--height: 4096 is outside 64..2048"),
        (["--steps", "0"], "--steps: 0 is outside 1..150"),
        (["--steps", "abc"], "--steps: 'abc' is not an integer"),
        (["--cfg", "31"], "--cfg: 31 is outside 0..30"),
        (["--sampler", "plms"], "--sampler: 'plms' is not a sampler"),
        (["--seed", "-1"], "--seed: '-1' is not an unsigned"),
        (["--prediction", "x0"], "--prediction: 'x0' is not auto"),
        (["--strength", "0.5"], "--strength: needs --init"),
        (["--init", os.path.join(WORK, "nope.png")], "--init: "),
        (["--init", os.path.join(WORK, "init.png"), "--strength", "1.5"],
         "--strength: 1.5 is outside (0, 1]"),
        (["--bogus", "1"], "unknown option '--bogus'"),
    ]
    for extra, msg in cases:
        p = render(base + extra)
        assert p.returncode == 2, "%s: exit %d: %s" % (extra, p.returncode,
                                                       p.stderr)
        assert msg in p.stderr, "%s: %r lacks %r" % (extra, p.stderr, msg)
    # (Without --model kiln-render takes kiln-micro: test_kiln_micro.)
    p = render(["--model", MODEL, "-o", out])
    assert p.returncode == 2 and "--prompt" in p.stderr, p.stderr
    assert not os.path.exists(out)
    p = render(base + ["--seed", "1", "--steps", "1", "-o",
                       os.path.join(WORK, "missing-dir", "x.png")])
    assert p.returncode == 1 and "missing-dir" in p.stderr, p.stderr


def test_single_file_and_diffusers_folder_give_the_same_image(_):
    # A model whose settings a single file can express (32 groups, heads
    # of 64 channels, scaling factor 0.18215), written both ways.
    cw = clip_ref.random_weights(49408, 64, 2, 128, 77, seed=21)
    ucfg = unet_ref.Config(ch=(32, 64), layers=1, attn=(True, False),
                           heads=1, ctx_dim=64, groups=32)
    uw = unet_ref.random_weights(ucfg, seed=22)
    vcfg = vae_ref.config((32, 64), layers=1, latent=4, groups=32)
    vw = vae_ref.random_weights(vcfg, seed=23)
    single = os.path.join(WORK, "sd-shaped.safetensors")
    st = {"cond_stage_model.transformer." + k: v
          for k, v in clip_ref.as_numpy(cw).items()}
    st.update({"model.diffusion_model." + k: v.numpy()
               for k, v in unet_ref.to_ldm(uw, ucfg).items()})
    st.update({"first_stage_model." + k: v for k, v in
               vae_ref.as_numpy(vae_ref.to_ldm(vw, vcfg)).items()})
    st_io.write(single, st)
    folder = os.path.join(WORK, "sd-shaped")
    for name, fname, tensors in (
            ("text_encoder", "model.safetensors", clip_ref.as_numpy(cw)),
            ("unet", "diffusion_pytorch_model.safetensors",
             {k: v.numpy() for k, v in uw.items()}),
            ("vae", "diffusion_pytorch_model.safetensors",
             vae_ref.as_numpy(vw))):
        os.makedirs(os.path.join(folder, name))
        st_io.write(os.path.join(folder, name, fname), tensors)
    args = ["--prompt", "a (blue:1.2) square", "--negative", "red",
            "--width", "64", "--height", "64", "--steps", "3", "--cfg",
            "5", "--sampler", "dpmpp_2m", "--seed", "5"]
    a = os.path.join(WORK, "single.png")
    b = os.path.join(WORK, "folder.png")
    render_ok(["--model", single, "-o", a] + args)
    render_ok(["--model", folder, "-o", b] + args)
    assert parameters(a).endswith("Model: sd-shaped"), parameters(a)
    assert parameters(b).endswith("Model: sd-shaped"), parameters(b)
    pa, pb = png_pixels(a), png_pixels(b)
    assert pa.std() > 1, "flat image"
    assert np.array_equal(pa, pb), "the two layouts disagree"


def test_prompts_file_renders_each_line_like_a_single_render(_):
    args = ["--model", MODEL, "--width", "64", "--height", "64", "--steps",
            "3", "--sampler", "euler"]
    single = os.path.join(WORK, "single.png")
    render_ok(args + ["--prompt", "a red fox", "--seed", "5", "-o", single])
    lst = os.path.join(WORK, "prompts.jsonl")
    outs = [os.path.join(WORK, "l%d.png" % i) for i in range(3)]
    with open(lst, "w") as f:
        f.write(json.dumps({"prompt": "a red fox", "seed": 5,
                            "out": outs[0]}) + "\n\n")
        f.write(json.dumps({"prompt": "a blue cat", "out": outs[1],
                            "negative": "dark"}) + "\n")
        f.write(json.dumps({"prompt": "a blue cat", "out": outs[2]}) + "\n")
    p = render(args + ["--prompts", lst, "--seed", "40"])
    assert p.returncode == 0, p.stderr
    lines = [json.loads(x) for x in p.stdout.splitlines()]
    assert [x["files"] for x in lines] == [[o] for o in outs], lines
    # Line 0 names its seed; the others take the run's seed + their index.
    assert [x["seeds"] for x in lines] == [[5], [41], [42]], lines
    assert np.array_equal(png_pixels(outs[0]), png_pixels(single))
    assert "Negative prompt: dark" in parameters(outs[1])
    # Every line is checked before anything renders.
    bad = os.path.join(WORK, "bad.jsonl")
    with open(bad, "w") as f:
        f.write(json.dumps({"prompt": "x", "out": os.path.join(
            WORK, "never.png")}) + "\n")
        f.write(json.dumps({"prompt": "x", "seed": "7", "out": "y"}) + "\n")
    p = render(args + ["--prompts", bad])
    assert p.returncode == 2 and "bad.jsonl:2: seed" in p.stderr, p.stderr
    assert not os.path.exists(os.path.join(WORK, "never.png"))
    for text, msg in (("[1]", ":1: not a JSON object"),
                      ('{"out": "x"}', ":1: prompt is required"),
                      ('{"prompt": 3, "out": "x"}', ":1: prompt: not a")):
        with open(bad, "w") as f:
            f.write(text + "\n")
        p = render(args + ["--prompts", bad])
        assert p.returncode == 2 and msg in p.stderr, (text, p.stderr)
    p = render(args + ["--prompts", bad, "--prompt", "x"])
    assert p.returncode == 2 and "--prompts" in p.stderr, p.stderr


def test_model_card_gives_the_defaults_and_flags_override_them(_):
    card = os.path.join(MODEL, "kiln.json")
    out = os.path.join(WORK, "card.png")
    try:
        with open(card, "w") as f:
            json.dump({"defaults": {"width": 128, "height": 64,
                                    "steps": 3, "cfg": 2.5,
                                    "sampler": "ddim"}}, f)
        info = render_ok(["--model", MODEL, "--prompt", "x", "--seed", "1",
                          "-o", out])
        assert (info["width"], info["height"], info["steps_run"]) == \
            (128, 64, 3), info
        assert "Steps: 3, Sampler: DDIM, CFG scale: 2.5," in \
            parameters(out), parameters(out)
        info = render_ok(["--model", MODEL, "--prompt", "x", "--seed", "1",
                          "--width", "64", "--steps", "2", "--sampler",
                          "euler", "-o", out])
        assert (info["width"], info["height"], info["steps_run"]) == \
            (64, 64, 2), info
        assert "Sampler: Euler, CFG scale: 2.5," in parameters(out)
        for bad, msg in (({"defaults": {"width": 60}},
                          "kiln.json: defaults.width: 60 is not a multiple"),
                         ({"defaults": {"sampler": "plms"}},
                          "kiln.json: defaults.sampler"),
                         ({"defaults": {"steps": "many"}},
                          "kiln.json: defaults.steps")):
            with open(card, "w") as f:
                json.dump(bad, f)
            p = render(["--model", MODEL, "--prompt", "x", "-o", out])
            assert p.returncode == 1 and msg in p.stderr, (bad, p.stderr)
    finally:
        os.remove(card)


def test_no_subcommand_and_random_seed(_):
    out = os.path.join(WORK, "plain.png")
    info = render_ok(["--model", MODEL, "--prompt", "a red fox", "--width",
                      "64", "--height", "64", "--steps", "2", "-o", out],
                     sub=False)
    assert info["files"] == [out] and os.path.exists(out)
    seed = info["seeds"][0]
    assert ("Seed: %d," % seed) in parameters(out)
    assert "Sampler: Euler a, CFG scale: 7," in parameters(out)
    shutil.rmtree(WORK, ignore_errors=True)
