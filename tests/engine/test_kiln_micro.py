"""kiln-micro, the embedded default model: the shipped files are complete
and small, the C tokenizer agrees with the vocabulary's trainer, the
training script still runs end to end into a folder the engine loads (and
the recipe sweep around it), and
the C engine's renders of 100 held-out prompts score what the model card
says.

The shipped model reaches issue 5's thresholds on colour, shape and
position, not yet on count (colour 90%, count 85%, shape 80%, position
80%; evaluate.THRESHOLDS): this module prints its scores against them
and asserts the thresholds of colour and position, which the model
meets with margin, and a floor under its scores elsewhere, so a broken engine or a worse model fails. When a
model meets every threshold, FLOOR becomes THRESHOLDS."""

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
# What the shipped model must keep scoring: issue 5's thresholds for
# colour and position (it scores 1.00 on both); for the rest a margin
# under its scores (background 1.00, count 0.65, shape 0.84, size 0.96),
# all far above uniform noise (0.09, 0.01, 0.03, 0.04; see
# models/kiln-micro/README.md). Shape meets its 0.80 by four images;
# squares decide it, and a square whose fill sits at the judge's
# threshold could flip on a CPU where PoCL's kernels round otherwise, so
# its floor is 0.78; the printed scores show it against 0.80.
FLOOR = {"background": 0.90, "colour": 0.90, "position": 0.80,
         "count": 0.55, "shape": 0.78, "size": 0.85}
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
    sys.path.insert(0, os.path.join(harness.ROOT, "tools", "train"))
    import train
    tiny = "--unet-steps=3,--text-steps=3,--refine-samples=4,--refine-steps=3"
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run(
            ["/usr/bin/python3", os.path.join(harness.ROOT, "tools",
                                              "train", "sweep.py"),
             "--base", os.path.join(d, "base"), "--out",
             os.path.join(d, "out"), "--count", "4", "--jobs", "2",
             "--options=--scenes=300,--vae-steps=3,--vae-batch=4,"
             "--decoder-steps=3,--batch=4",
             "slow:" + tiny + ",--lr=4e-4", "fast:" + tiny + ",--lr=8e-4"],
            capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise AssertionError("sweep.py: %s" % (r.stdout + r.stderr)
                                 [-3000:])
        with open(os.path.join(d, "out", "summary.jsonl")) as f:
            rows = {s["variant"]: s for s in map(json.loads, f)}
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


def test_loss_weights(_):
    # The two loss weightings train.py leans on, against the geometry of
    # a scene computed here from its pixels: the UNet's object cells are
    # the 4x4 blocks the object touches plus a border of one, and the
    # refine stage's outline pixels weigh 20 more on top of the objects'
    # 11 and the background's 1.
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
        # Outline: two colours in the 3x3 neighbourhood (more than 0.1
        # apart in [-1, 1] units, 12.75 levels), anti-aliased rims
        # included.
        pad = np.pad(img.astype(int), ((1, 1), (1, 1), (0, 0)), mode="edge")
        nb = np.stack([pad[1 + dy:65 + dy, 1 + dx:65 + dx]
                       for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
        outline = ((nb.max(0) - nb.min(0)) > 12.75).any(-1)
        raw = w1 / w1.min()
        if not (np.isclose(raw[outline & fg], 31).all() and
                np.isclose(raw[outline & ~fg], 21).all() and
                np.isclose(raw[~outline & fg], 11).all() and
                np.isclose(raw[~outline & ~fg], 1).all()):
            raise AssertionError("%s: outline weights %s" %
                                 (shape, np.unique(raw.round(2))))
        if not (np.isclose(w0.mean(), 1) and np.isclose(w1.mean(), 1)):
            raise AssertionError("weights not normalised to mean 1")


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
