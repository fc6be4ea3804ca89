"""eval_controlnet.py - measures what kiln-micro-canny does, through the C
engine: held-out scenes whose shapes sit away from where kiln-micro puts
them by default are rendered with their caption, the scene image as the
control image (`--control-preprocessor canny`, 100/200) and the same seed
at ControlNet weight 1 and weight 0; each render is scored against the
scene by the overlap of the shapes (IoU of the foreground masks) and of
the edges (F1 of cv2.Canny of the render against the hint's, a pixel of
tolerance). Used by the model card and tests/engine/test_kiln_micro_canny.py.

  /usr/bin/python3 tools/train/eval_controlnet.py [--count 40] \
      [--controlnet models/kiln-micro-canny] [--out DIR] [-- extra options]

Prints the means at each weight as JSON."""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import scenes  # noqa: E402

EVAL_SEED = 11
CANNY = (100, 200)
# A pixel is a shape's when some channel is this many levels off the
# background (the median of the image's border).
FG_LEVELS = 48


def default_cells(spec):
    """The cells kiln-micro draws a scene's caption in (its canonical
    layout): a single object where its position names, else the centre;
    two left and right; three at the top and the bottom corners."""
    g = spec["groups"][0]
    if g["count"] > 1:
        return {tuple(c) for c in scenes.CANONICAL_CELLS[g["count"]]}
    return {tuple(scenes.POSITIONS[g["position"] or "centre"])}


def cases(count, seed=EVAL_SEED):
    """count held-out (test split) random-layout scenes whose objects are
    not where the caption alone would put them: (spec, caption)."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < count:
        spec, cap = scenes.sample(rng, "test", layout="random")
        cells = {tuple(o["cell"]) for o in spec["objects"]}
        if cells != default_cells(spec):
            out.append((spec, cap))
    return out


def fg_mask(img):
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    bg = np.median(border, axis=0)
    return (np.abs(img.astype(np.int16) - bg).max(-1) > FG_LEVELS)


def scores(render, scene):
    """(mask IoU, edge F1) of a render against its scene."""
    import cv2
    a, b = fg_mask(render), fg_mask(scene)
    iou = float((a & b).sum()) / max(1, int((a | b).sum()))
    e_r = cv2.Canny(np.ascontiguousarray(render), *CANNY) > 0
    e_s = cv2.Canny(np.ascontiguousarray(scene), *CANNY) > 0
    k = np.ones((3, 3), np.uint8)
    near_s = cv2.dilate(e_s.astype(np.uint8), k) > 0
    near_r = cv2.dilate(e_r.astype(np.uint8), k) > 0
    prec = float((e_r & near_s).sum()) / max(1, int(e_r.sum()))
    rec = float((e_s & near_r).sum()) / max(1, int(e_s.sum()))
    f1 = 2 * prec * rec / (prec + rec) if prec + rec > 0 else 0.0
    return iou, f1


def render_bin():
    return os.path.join(ROOT, "build", "render-daemon", "kiln-render")


def evaluate(controlnet, items, weights=(1.0, 0.0), model=None, out=None,
             render=None, extra=(), env=None):
    """{weight: [(iou, f1), ...]} over items [(spec, caption)], image i
    rendered with seed i."""
    model = model or os.path.join(ROOT, "models", "kiln-micro")
    out = out or tempfile.mkdtemp(prefix="kiln-canny-eval-")
    os.makedirs(out, exist_ok=True)
    render = render or render_bin()
    res = {w: [] for w in weights}
    for i, (spec, cap) in enumerate(items):
        scene = scenes.render(spec, 64)
        hint = os.path.join(out, "%03d-scene.png" % i)
        scenes.write_png(hint, scene)
        for w in weights:
            png = os.path.join(out, "%03d-w%g.png" % (i, w))
            r = subprocess.run(
                [render, "--model", model, "--prompt", cap, "--seed",
                 str(i), "-o", png, "--controlnet",
                 "%s:%s:%g" % (controlnet, hint, w),
                 "--control-preprocessor", "canny:%d:%d" % CANNY] +
                list(extra), capture_output=True, text=True, env=env)
            if r.returncode != 0:
                raise RuntimeError("kiln-render exited %d: %s" %
                                   (r.returncode, r.stderr[-2000:]))
            res[w].append(scores(scenes.read_png(png)[..., :3], scene))
    return res


def summary(res):
    return {"%g" % w: {"iou": round(float(np.mean([s[0] for s in v])), 4),
                       "edge_f1": round(float(np.mean([s[1] for s in v])),
                                        4),
                       "n": len(v)} for w, v in res.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--controlnet", default=os.path.join(
        ROOT, "models", "kiln-micro-canny"))
    ap.add_argument("--model", default=None)
    ap.add_argument("--count", type=int, default=40)
    ap.add_argument("--seed", type=int, default=EVAL_SEED)
    ap.add_argument("--out", default=None)
    ap.add_argument("extra", nargs="*")
    a = ap.parse_args()
    items = cases(a.count, a.seed)
    res = evaluate(a.controlnet, items, model=a.model, out=a.out,
                   extra=a.extra)
    s = summary(res)
    w1, w0 = res[1.0], res[0.0]
    s["better_iou"] = sum(x[0] > y[0] for x, y in zip(w1, w0))
    s["better_f1"] = sum(x[1] > y[1] for x, y in zip(w1, w0))
    print(json.dumps(s))


if __name__ == "__main__":
    main()
