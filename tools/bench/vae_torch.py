#!/usr/bin/python3
"""vae_torch.py - the PyTorch side of the VAE benchmark: loads the VAE
kiln-render loads (a diffusers folder's vae/ of safetensors), runs
tools/reference/vae.py's decode (or encode) in float32 on the same input
with the given thread count, and prints one JSON line: the best seconds
of --repeat timed runs after --warmup untimed ones, and the process's
peak RSS. Its own process, so that peak is its own."""

import argparse
import json
import os
import resource
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "reference"))
sys.path.insert(0, os.path.join(ROOT, "tools", "bench"))

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--model", required=True, help="the folder holding vae/")
ap.add_argument("--config", required=True, help="vae.config kwargs, JSON")
ap.add_argument("--in", dest="inp", required=True, help="NxCxHxW=FILE")
ap.add_argument("--out", required=True)
ap.add_argument("--encode", action="store_true")
ap.add_argument("--repeat", type=int, default=2)
ap.add_argument("--warmup", type=int, default=1)
ap.add_argument("--threads", type=int, default=2)
args = ap.parse_args()

# Before torch loads OpenBLAS/OpenMP.
os.environ["OMP_NUM_THREADS"] = str(args.threads)
os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import vae as ref  # noqa: E402
from torch_io import read_safetensors  # noqa: E402

torch.set_num_threads(args.threads)
ref.DTYPE = torch.float32      # PyTorch's fast path; the reference is f64

w = read_safetensors(os.path.join(args.model, "vae",
                                  "diffusion_pytorch_model.safetensors"))
cfg = ref.config(**json.loads(args.config))
dims, path = args.inp.split("=", 1)
x = torch.from_numpy(np.fromfile(path, np.float32).reshape(
    [int(v) for v in dims.split("x")]))


def once():
    with torch.no_grad():
        if args.encode:
            return ref.encode(w, cfg, x)[0]
        return ref.decode(w, cfg, x)


for _ in range(args.warmup):
    once()
times = []
for _ in range(args.repeat):
    t0 = time.perf_counter()
    y = once()
    times.append(time.perf_counter() - t0)
y.float().numpy().tofile(args.out)
print(json.dumps({"seconds": min(times), "runs": times,
                  "peak_rss_mb": resource.getrusage(
                      resource.RUSAGE_SELF).ru_maxrss / 1024}))
