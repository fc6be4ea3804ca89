#!/usr/bin/python3
"""unet_torch.py - the PyTorch side of the UNet-step benchmark: loads the
UNet weights kiln-render loads (a diffusers unet folder of F16
safetensors), runs tools/reference/unet.py's forward in float32 on the same
inputs with the given thread count (SDXL's added conditioning from
--text-embeds and --time-ids), and prints one JSON line: the best seconds
of --repeat timed runs after --warmup untimed ones, every run's seconds,
and the process's peak RSS. The weights are widened to float32 once at
load (PyTorch's fastest CPU path; 10.3 GB for SDXL's UNet). Run as its own
process so that peak is its own."""

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
ap.add_argument("--model", required=True, help="the unet folder")
ap.add_argument("--config", required=True, help="Config kwargs as JSON")
ap.add_argument("--in", dest="inp", required=True, help="NxCxHxW=FILE")
ap.add_argument("--ctx", required=True, help="NxLxD=FILE")
ap.add_argument("--t", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--repeat", type=int, default=2)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--warmup", type=int, default=1,
                help="untimed runs first (0 for the long SDXL step)")
ap.add_argument("--text-embeds", help="SDXL: NxP=FILE, the pooled text")
ap.add_argument("--time-ids", help="SDXL: NxK=FILE")
args = ap.parse_args()

# Before torch loads OpenBLAS/OpenMP.
os.environ["OMP_NUM_THREADS"] = str(args.threads)
os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import unet as ref  # noqa: E402
from torch_io import read_safetensors  # noqa: E402

torch.set_num_threads(args.threads)

def tensor(spec):
    dims, path = spec.split("=", 1)
    shape = [int(v) for v in dims.split("x")]
    return torch.from_numpy(np.fromfile(path, np.float32).reshape(shape))


w = read_safetensors(os.path.join(args.model,
                                  "diffusion_pytorch_model.safetensors"))
cfg = ref.Config(**json.loads(args.config))
x = tensor(args.inp)
ctx = tensor(args.ctx)
t = torch.tensor([float(v) for v in args.t.split(",")])
# SDXL's add_embedding input, built as diffusers builds it (untimed: a
# few sinusoids).
add = None
if args.text_embeds:
    add = ref.add_embeds(tensor(args.text_embeds), tensor(args.time_ids),
                         cfg.time_ids_dim, torch.float32)
times = []
with torch.no_grad():
    for _ in range(args.warmup):
        y = ref.forward(w, cfg, x, t, ctx, dtype=torch.float32, y=add)
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        y = ref.forward(w, cfg, x, t, ctx, dtype=torch.float32, y=add)
        times.append(time.perf_counter() - t0)
y.numpy().astype(np.float32).tofile(args.out)
print(json.dumps({"seconds": min(times), "runs": times,
                  "threads": torch.get_num_threads(),
                  "maxrss_bytes": resource.getrusage(
                      resource.RUSAGE_SELF).ru_maxrss * 1024}))
