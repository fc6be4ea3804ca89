"""kiln-micro, the embedded default model: the shipped files are complete
and small, the C tokenizer agrees with the vocabulary's trainer, the
training script still runs end to end into a folder the engine loads (and
the recipe sweep around it), its loss weights, refine's fitted targets and
grown autoencoder do what they claim, and the C engine's renders of 100
held-out prompts score what the model card says.

The shipped model meets issue 5's thresholds (colour 90%, count 85%,
shape 80%, position 80%; evaluate.THRESHOLDS): this module prints its
scores against them and asserts them, and a floor under the background
and size it is not held to but should keep, so a broken engine or a
worse model fails."""

import json
import os
import subprocess
import sys
import tempfile

import harness
import engine_common as ec

sys.path.insert(0, os.path.join(harness.ROOT, "tools", "train"))
import bpe  # noqa: E402
import evaluate  # noqa: E402
import scenes  # noqa: E402

MODEL = os.path.join(harness.ROOT, "models", "kiln-micro")
# What the shipped model must keep scoring: issue 5's thresholds (it
# scores colour 0.99, count 0.89, shape 0.96, position 1.00), and a
# margin under its background (1.00) and size (0.97), all far above
# uniform noise (see models/kiln-micro/README.md).
FLOOR = dict(evaluate.THRESHOLDS, background=0.90, size=0.90)
STACK = None


def test_model_files(_):
    parts = ["model_index.json", "kiln.json", "README.md", "loss.png",
             "scheduler/scheduler_config.json", "tokenizer/vocab.json",
             "tokenizer/merges.txt", "text_encoder/config.json",
             "text_encoder/model.safetensors", "unet/config.json",
             "unet/diffusion_pytorch_model.safetensors", "vae/config.json",
             "vae/diffusion_pytorch_model.safetensors"]
    total = 0
    for p in parts:
        path = os.path.join(MODEL, p)
        if not os.path.isfile(path):
            raise AssertionError("models/kiln-micro/%s is missing" % p)
        total += os.path.getsize(path)
    if total > 30 * 1024 * 1024:
        raise AssertionError("kiln-micro is %d bytes, over 30 MB" % total)
    with open(os.path.join(MODEL, "kiln.json")) as f:
        d = json.load(f)["defaults"]
    if (d["width"], d["height"]) != (64, 64):
        raise AssertionError("default size %s" % d)


def test_tokenizer_matches_trainer(_):
    # Training tokenized with tools/train/bpe.py; rendering with the C
    # tokenizer. Any difference would feed the text encoder ids it never
    # saw, so they must agree token for token.
    vocab, merges = bpe.load(os.path.join(MODEL, "tokenizer", "vocab.json"),
                             os.path.join(MODEL, "tokenizer", "merges.txt"))
    tok = bpe.Tokenizer(vocab, merges)
    caps = [c for _, c in scenes.generate(30, 11)] + \
        [c for _, c in scenes.generate(20, 12, "test")] + \
        ["A purple hexagon, 3 moons & a zebra!", "naïve café", ""]
    for c in caps:
        r = ec.kiln_render(["tokenize", "--vocab",
                            os.path.join(MODEL, "tokenizer"), c])
        if r.returncode != 0:
            raise AssertionError("tokenize %r: %s" % (c, r.stderr))
        got = json.loads(r.stdout)
        if got != tok.encode(c):
            raise AssertionError("%r: C %s, trainer %s" %
                                 (c, got, tok.encode(c)))


def test_training_script_end_to_end(_):
    # A few steps of every stage on a few hundred scenes: the script that
    # made the shipped model (make model) still runs, and its export is a
    # folder the engine loads and renders from.
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "model")
        r = subprocess.run(
            ["/usr/bin/python3", os.path.join(harness.ROOT, "tools",
                                              "train", "train.py"),
             "--work", os.path.join(d, "work"), "--out", out,
             "--scenes", "300", "--vae-steps", "3", "--vae-batch", "4",
             "--decoder-steps", "3", "--text-steps", "3",
             "--unet-steps", "3", "--refine-samples", "4",
             "--refine-steps", "3", "--batch", "4"],
            capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise AssertionError("train.py: %s" % r.stderr[-3000:])
        png = os.path.join(d, "x.png")
        r = ec.kiln_render(["--model", out, "--prompt", "a red star",
                            "--width", "64", "--height", "64", "--steps",
                            "2", "--seed", "1", "-o", png])
        if r.returncode != 0:
            raise AssertionError("render of the export: %s" % r.stderr)
        if scenes.read_png(png).shape != (64, 64, 3):
            raise AssertionError("wrong image size")


def test_recipe_sweep_end_to_end(_):
    # tools/train/sweep.py (recipe experiments on a GPU) on a few hundred
    # scenes: it readies the base run, trains two variants with their own
    # options and judges both. The variants differ only in the learning
    # rate, so their optimizers end at rates in the ratio of the two.
    # Then a refine-only sweep on one of those UNets: its variants share
    # the base's UNet and decoder, unless one trains its own decoder.
    sys.path.insert(0, os.path.join(harness.ROOT, "tools", "train"))
    import train
    tiny = "--unet-steps=3,--text-steps=3,--refine-samples=4,--refine-steps=3"

    def sweep(d, out, *args):
        r = subprocess.run(
            ["/usr/bin/python3", os.path.join(harness.ROOT, "tools",
                                              "train", "sweep.py"),
             "--base", os.path.join(d, "base"), "--out",
             os.path.join(d, out), "--count", "4", "--jobs", "2",
             "--options=--scenes=300,--vae-steps=3,--vae-batch=4,"
             "--decoder-steps=3,--batch=4"] + list(args),
            capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise AssertionError("sweep.py: %s" % (r.stdout + r.stderr)
                                 [-3000:])
        with open(os.path.join(d, out, "summary.jsonl")) as f:
            return {s["variant"]: s for s in map(json.loads, f)}
    with tempfile.TemporaryDirectory() as d:
        rows = sweep(d, "out", "slow:" + tiny + ",--lr=4e-4",
                     "fast:" + tiny + ",--lr=8e-4")
        if sorted(rows) != ["fast", "slow"]:
            raise AssertionError("summary: %r" % rows)
        for s in rows.values():
            if not 0 <= s["accuracy"]["colour"] <= 1 or \
                    set(s["count_by_shape"]) - set(scenes.SHAPES):
                raise AssertionError("summary row: %r" % s)
        lr = {n: train.load(os.path.join(d, "out", n, "unet-ckpt.pt"))
              ["opt"]["param_groups"][0]["lr"] for n in rows}
        if abs(lr["fast"] / lr["slow"] - 2) > 1e-9:
            raise AssertionError("learning rates %r" % lr)
        base = os.path.join(d, "base")
        os.rename(os.path.join(d, "out", "fast", "unet-ckpt.pt"),
                  os.path.join(base, "unet-ckpt.pt"))
        rows = sweep(d, "ref", "--stages", "refine",
                     "same:--refine-samples=4,--refine-steps=3",
                     "own:--decoder-steps=2,--refine-samples=4,"
                     "--refine-steps=3")
        if sorted(rows) != ["own", "same"]:
            raise AssertionError("refine summary: %r" % rows)
        ref = os.path.join(d, "ref")
        for n in rows:
            if os.path.realpath(os.path.join(ref, n, "unet-ckpt.pt")) != \
                    os.path.realpath(os.path.join(base, "unet-ckpt.pt")):
                raise AssertionError("%s did not share the base's UNet" % n)
            if not os.path.isfile(os.path.join(ref, n, "vae-ref.pt")):
                raise AssertionError("%s has no refined decoder" % n)
        cycles = {n: train.load(os.path.join(ref, n, "vae-dec.pt"))
                  .get("cycles") for n in rows}
        if cycles != {"same": [3], "own": [2]} or \
                not os.path.islink(os.path.join(ref, "same", "vae-dec.pt")) \
                or os.path.islink(os.path.join(ref, "own", "vae-dec.pt")):
            raise AssertionError("decoders: %r" % cycles)


def test_loss_weights(_):
    # The two loss weightings train.py leans on, against the geometry of
    # a scene computed here from its pixels: the UNet's object cells are
    # the 4x4 blocks the object touches plus a border of one, and the
    # refine stage's outline pixels weigh 20 more on top of the objects'
    # 11 and the background's 1, those on the background side 60 with
    # its default --refine-edge-bg 3.
    sys.path.insert(0, os.path.join(harness.ROOT, "tools", "train"))
    import numpy as np
    import train
    for shape, cell in (("square", (1, 1)), ("star", (0, 2)),
                        ("triangle", (2, 0))):
        spec = {"background": "white", "groups": [], "objects": [
            {"group": 0, "shape": shape, "colour": "blue", "size": "large",
             "cell": list(cell), "dx": 0.0, "dy": 0.0, "scale": 1.0}]}
        img = scenes.render(spec, 64)
        fg = (np.abs(img.astype(int) - img[0, 0]) > 6).any(-1)
        ys, xs = np.nonzero(fg)
        want = np.zeros((16, 16), np.uint8)
        want[max(0, ys.min() // 4 - 1):ys.max() // 4 + 2,
             max(0, xs.min() // 4 - 1):xs.max() // 4 + 2] = 1
        got = train.latent_masks(img[None])[0]
        if shape == "square" and not np.array_equal(got, want):
            raise AssertionError("square's latent cells:\n%s\nwant\n%s" %
                                 (got, want))
        # A star's or triangle's blocks sit inside its bounding box's.
        if (got & ~want).any() or not got[ys // 4, xs // 4].all():
            raise AssertionError("%s's latent cells:\n%s" % (shape, got))
        x = train.to_unit(img[None])
        w0 = train.shape_weights(x, x[:, :, :1, :1])[0, 0].numpy()
        w1 = train.shape_weights(x, x[:, :, :1, :1], 20.0)[0, 0].numpy()
        w3 = train.shape_weights(x, x[:, :, :1, :1], 20.0,
                                 3.0)[0, 0].numpy()
        # Outline: two colours in the 3x3 neighbourhood (more than 0.1
        # apart in [-1, 1] units, 12.75 levels), anti-aliased rims
        # included.
        pad = np.pad(img.astype(int), ((1, 1), (1, 1), (0, 0)), mode="edge")
        nb = np.stack([pad[1 + dy:65 + dy, 1 + dx:65 + dx]
                       for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
        outline = ((nb.max(0) - nb.min(0)) > 12.75).any(-1)
        for w, rim_bg in ((w1, 21), (w3, 61)):
            raw = w / w.min()
            if not (np.isclose(raw[outline & fg], 31).all() and
                    np.isclose(raw[outline & ~fg], rim_bg).all() and
                    np.isclose(raw[~outline & fg], 11).all() and
                    np.isclose(raw[~outline & ~fg], 1).all()):
                raise AssertionError("%s: outline weights %s" %
                                     (shape, np.unique(raw.round(2))))
        if not all(np.isclose(w.mean(), 1) for w in (w0, w1, w3)):
            raise AssertionError("weights not normalised to mean 1")


def test_fit_spec(_):
    # refine's targets: a scene's objects moved onto where an image draws
    # them. The image here is the same scene rendered with other jitter
    # (offsets and scales of up to 5% of a cell, which keeps a large shape
    # inside the picture and its size within train.FIT_SIZE), so the
    # centres and extents fit_spec must find are the ones that scene was
    # drawn with, computed here from its spec. Squares and triangles are
    # then hinted: their straight edges on pixel boundaries, so the
    # target's pixels along them are whole, not half covered. A miscount
    # or a wrong background gives None.
    sys.path.insert(0, os.path.join(harness.ROOT, "tools", "train"))
    import numpy as np
    import train
    cell = 64 / 3.0
    rng = np.random.default_rng(3)
    worst = {"circle": [0.0, 0.0], "star": [0.0, 0.0],
             "square": [0.0, 0.0], "triangle": [0.0, 0.0]}
    for spec, _ in scenes.generate(120, 11, "train"):
        moved = dict(spec, objects=[dict(
            o, dx=float(rng.uniform(-0.05, 0.05)),
            dy=float(rng.uniform(-0.05, 0.05)),
            scale=float(rng.uniform(0.95, 1.05))) for o in spec["objects"]])
        fit = train.fit_spec(scenes.render(moved, 64), spec)
        if fit is None:
            raise AssertionError("no fit for %r" % spec)
        if [o["shape"] for o in fit["objects"]] != \
                [o["shape"] for o in spec["objects"]]:
            raise AssertionError("attributes changed: %r" % fit)
        shape = spec["objects"][0]["shape"]
        size = scenes.SIZE_FRAC[spec["objects"][0]["size"]] * cell

        def geometry(o):
            return ((o["cell"][1] + 0.5 + o["dx"]) * cell,
                    (o["cell"][0] + 0.5 + o["dy"]) * cell, o["scale"] * size)
        got = sorted(map(geometry, fit["objects"]))
        want = sorted(map(geometry, moved["objects"]))
        for (gx, gy, gs), (wx, wy, ws) in zip(got, want):
            w = worst[shape]
            w[0] = max(w[0], abs(gx - wx), abs(gy - wy))
            w[1] = max(w[1], abs(gs - ws))
            # Hinted edges: a square's sides and a triangle's base on
            # whole pixels, its extent a whole number of them.
            edges = [gy + gs / 2]
            if shape == "square":
                edges += [gx - gs / 2, gx + gs / 2, gy - gs / 2]
            if shape in ("square", "triangle") and not all(
                    abs(e - round(e)) < 1e-9 for e in edges + [gs]):
                raise AssertionError("%s not hinted: %r" % (shape, fit))
        if shape == "square":
            img = scenes.render(fit, 64).reshape(-1, 3)
            inks = {tuple(scenes.PALETTE[spec["background"]]),
                    tuple(scenes.PALETTE[spec["objects"][0]["colour"]])}
            if set(map(tuple, img.tolist())) != inks:
                raise AssertionError("hinted square has partial pixels")
    # A pixel's anti-aliasing is 16 samples, so a centre is known to a
    # fraction of a pixel and an extent (here in pixels) to a fraction of
    # one; hinting moves an edge by up to half a pixel more.
    for shape, (c, e) in worst.items():
        hinted = shape in ("square", "triangle")
        if c > (0.75 if hinted else 0.2) or e > (1.0 if hinted else 0.3):
            raise AssertionError("%s fit off by %r" % (shape, worst))
    spec = {"background": "white", "groups": [], "objects": [
        {"group": 0, "shape": "circle", "colour": "blue", "size": "large",
         "cell": [1, c], "dx": 0.0, "dy": 0.0, "scale": 1.0}
        for c in (0, 2)]}
    # A size beyond the jitter its word allows is taught as the nearest
    # one it allows.
    big = dict(spec, objects=[dict(o, scale=1.2) for o in spec["objects"]])
    fit = train.fit_spec(scenes.render(big, 64), spec)
    if [round(o["scale"], 6) for o in fit["objects"]] != \
            [1 + train.FIT_SIZE] * 2:
        raise AssertionError("oversized circles fitted as %r" % fit)
    one = dict(spec, objects=spec["objects"][:1])
    if train.fit_spec(scenes.render(one, 64), spec) is not None:
        raise AssertionError("one circle fitted as two")
    if train.fit_spec(scenes.render(dict(spec, background="black"), 64),
                      spec) is not None:
        raise AssertionError("a black background fitted as white")


def test_grow_layers(_):
    # refine grows the autoencoder by a ResNet per level: the grown model
    # must compute what the trained one did (the encoder's latents are
    # the ones the UNet learned), yet have the added layers' weights to
    # train: the grown decoder, its new layers perturbed, draws
    # otherwise.
    sys.path.insert(0, os.path.join(harness.ROOT, "tools", "train"))
    sys.path.insert(0, os.path.join(harness.ROOT, "tools", "reference"))
    import torch
    import train
    import vae
    vae.DTYPE = torch.float32
    w = {k: x.detach() for k, x in train.init_weights(
        vae.shapes(train.vae_config(1)), 5).items()}
    grown = train.grow_layers(w, 2)
    added = sorted(set(grown) - set(w))
    if not added or set(grown) != set(vae.shapes(train.vae_config(2))):
        raise AssertionError("grown weights: %d added" % len(added))
    z = torch.randn(2, train.VAE["latent"], 16, 16,
                    generator=torch.Generator().manual_seed(1))
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    old, new = train.vae_config(1), train.vae_config(2)
    d = (vae.decode(w, old, z) - vae.decode(grown, new, z)).abs().max()
    e = (vae.encode(w, old, x)[0] - vae.encode(grown, new, x)[0]).abs().max()
    if d > 1e-6 or e > 1e-6:
        raise AssertionError("grown model differs: decode %g, encode %g" %
                             (d, e))
    conv2 = [k for k in added if k.startswith("decoder.") and
             ".conv2.weight" in k]
    for k in conv2:
        grown[k] = grown[k] + 0.1
    if (vae.decode(w, old, z) - vae.decode(grown, new, z)).abs().max() < \
            1e-3:
        raise AssertionError("the added decoder layers do nothing")


def test_kiln_render_without_model_renders_kiln_micro(_):
    """kiln-render with no --model renders the embedded default model,
    from any working directory, as `make run` serves it."""
    with tempfile.TemporaryDirectory() as d:
        args = ["--prompt", "two small green triangles", "--seed", "7"]
        p = subprocess.run([ec.render_bin()] + args + ["-o", "dflt.png"],
                           capture_output=True, text=True, cwd=d,
                           env=ec.engine_env(), timeout=600)
        assert p.returncode == 0, p.stderr
        assert "kiln-micro" in p.stderr, p.stderr
        q = ec.kiln_render(args + ["--model", MODEL,
                                   "-o", os.path.join(d, "named.png")])
        assert q.returncode == 0, q.stderr
        with open(os.path.join(d, "dflt.png"), "rb") as f, \
                open(os.path.join(d, "named.png"), "rb") as g:
            assert f.read() == g.read(), "not the same image"


def test_held_out_prompts(_):
    with tempfile.TemporaryDirectory() as d:
        rep = evaluate.evaluate(MODEL, d, 100, ec.render_bin(),
                                env=ec.engine_env())
    acc = rep["accuracy"]
    print("# kiln-micro, judge on 100 held-out prompts: %s, overall %.2f, "
          "%.2f s per image; issue 5 thresholds %s" % (
              json.dumps({k: round(v, 3) for k, v in acc.items()
                          if v is not None}), rep["overall"],
              rep["seconds_per_image"], json.dumps(evaluate.THRESHOLDS)))
    low = {k: acc[k] for k, v in FLOOR.items()
           if acc[k] is None or acc[k] < v}
    if low:
        raise AssertionError("below the floor %s: %s" % (FLOOR, low))
