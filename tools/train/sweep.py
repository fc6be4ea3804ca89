"""sweep.py - trains variants of kiln-micro's UNet and refine stages side
by side from one run's data and autoencoder, and judges each in torch
(evaluate.py --work, the tuning prompts): recipe experiments for a
machine with a GPU, where one run leaves the GPU mostly idle and several
share it.

  /usr/bin/python3 tools/train/sweep.py --base build/train \
      --out build/sweep [--count 300] [--jobs 4] [--options OPTS] \
      [--stages unet,refine | --stages refine] VARIANT ...

VARIANT is NAME or NAME:OPTIONS, OPTIONS being train.py options joined
by commas: "lr8:--lr=8e-4", "wide:--unet-fg=10,--refine-steps=6000".
The base dir is made ready first by train.py's data, vae and decoder
stages, each cached: on another machine, a run's vae.pt and vae-dec.pt
copied into an empty base dir are enough (the data comes back from the
seed, the latents from the encoder). Each variant trains in OUT/NAME,
with the base's files linked in, and its log is OUT/NAME/log.txt; the
table printed at the end is also OUT/summary.jsonl.

With --stages refine the variants share the base's trained UNet
(BASE/unet-ckpt.pt, and its sampled latents where BASE/refine_lat.npz
has them) and train only the refine stage: the cheap experiments on how
the decoder draws what one UNet samples. A variant that sets
--decoder-steps trains its own decoder first rather than linking the
base's."""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# What a variant shares with the base: the data and the autoencoder.
SHARED = ["images.npy", "unet_images.npy", "ids.npy", "labels.npy",
          "captions.json", "tokenizer", "vae.pt", "vae-dec.pt",
          "lat_mu.npy", "unet_lat.npy"]


def variant(text):
    name, _, opts = text.partition(":")
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise argparse.ArgumentTypeError("%r: a variant is NAME or "
                                         "NAME:OPTIONS" % text)
    return name, [o for o in opts.split(",") if o]


def prepare(base, name, out, opts, stages):
    """OUT/NAME with the base's files linked in (those it has): its
    trained UNet too when the variants do not train one, its decoder
    unless the variant trains its own. The refine latents are copied,
    as the refine stage replaces them when its samples differ."""
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    own_decoder = any(o.startswith("--decoder-steps") for o in opts)
    shared = SHARED + ([] if "unet" in stages else ["unet-ckpt.pt"])
    for f in shared:
        if f == "vae-dec.pt" and own_decoder:
            continue
        src, dst = os.path.join(base, f), os.path.join(d, f)
        if os.path.exists(src) and not os.path.lexists(dst):
            os.symlink(os.path.abspath(src), dst)
    lat = os.path.join(base, "refine_lat.npz")
    if "unet" not in stages and os.path.exists(lat) and \
            not os.path.exists(os.path.join(d, "refine_lat.npz")):
        shutil.copyfile(lat, os.path.join(d, "refine_lat.npz"))
    return d


def summary(name, opts, rep):
    by = rep["by_shape"]
    return {"variant": name, "options": opts,
            "accuracy": {k: round(v, 3) for k, v in rep["accuracy"].items()
                         if v is not None},
            "overall": round(rep["overall"], 3),
            "count_by_shape": {k: "%d/%d" % tuple(v["count"])
                               for k, v in by.items()}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", default="build/train")
    ap.add_argument("--out", default="build/sweep")
    ap.add_argument("--count", type=int, default=300,
                    help="tuning prompts to judge each variant on")
    ap.add_argument("--jobs", type=int, default=4,
                    help="variants training at once")
    ap.add_argument("--threads", type=int, default=2,
                    help="CPU threads of each training")
    ap.add_argument("--options", default="",
                    help="train.py options for the base and every "
                    "variant, joined by commas (\"--device=cuda\")")
    ap.add_argument("--stages", default="unet,refine",
                    choices=["unet,refine", "refine"],
                    help="what each variant trains: the UNet and refine, "
                    "or refine alone on the base's UNet")
    ap.add_argument("variants", nargs="+", type=variant)
    a = ap.parse_args()
    names = [n for n, _ in a.variants]
    if len(set(names)) != len(names):
        ap.error("variant names must differ")
    py = sys.executable
    train = os.path.join(HERE, "train.py")
    common = [o for o in a.options.split(",") if o]
    stages = a.stages.split(",")
    if "unet" not in stages and \
            not os.path.exists(os.path.join(a.base, "unet-ckpt.pt")):
        ap.error("--stages refine needs a trained UNet in %s" %
                 os.path.join(a.base, "unet-ckpt.pt"))
    subprocess.run([py, train, "--work", a.base] + common +
                   ["data", "vae", "decoder"], check=True)
    todo = list(a.variants)
    running = []
    results = []
    t0 = time.time()
    while todo or running:
        while todo and len(running) < a.jobs:
            name, opts = todo.pop(0)
            d = prepare(a.base, name, a.out, opts, stages)
            log = open(os.path.join(d, "log.txt"), "a")
            p = subprocess.Popen([py, train, "--work", d, "--out",
                                  os.path.join(d, "model"), "--threads",
                                  str(a.threads)] + common + opts +
                                 ["decoder"] + stages, stdout=log,
                                 stderr=subprocess.STDOUT)
            running.append((name, opts, d, p, log))
        time.sleep(5)
        for r in [r for r in running if r[3].poll() is not None]:
            running.remove(r)
            name, opts, d, p, log = r
            log.close()
            if p.returncode != 0:
                print("%s: train.py exited %d, see %s" %
                      (name, p.returncode, os.path.join(d, "log.txt")),
                      flush=True)
                continue
            e = subprocess.run([py, os.path.join(HERE, "evaluate.py"),
                                "--work", d, "--count", str(a.count)],
                               stdout=subprocess.PIPE, check=True)
            s = summary(name, opts, json.loads(e.stdout))
            results.append(s)
            print("%s (%.0f s): %s" % (name, time.time() - t0,
                                       json.dumps(s)), flush=True)
    with open(os.path.join(a.out, "summary.jsonl"), "w") as f:
        for s in results:
            f.write(json.dumps(s) + "\n")
    print("\n%-12s %6s %6s %6s  %s" % ("variant", "count", "shape",
                                      "overall", "counts by shape"))
    for s in results:
        print("%-12s %6.3f %6.3f %6.3f  %s" % (
            s["variant"], s["accuracy"].get("count", 0),
            s["accuracy"].get("shape", 0), s["overall"],
            " ".join("%s %s" % kv for kv in
                     sorted(s["count_by_shape"].items()))))
    return 0 if len(results) == len(a.variants) else 1


if __name__ == "__main__":
    sys.exit(main())
