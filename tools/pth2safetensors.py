#!/usr/bin/python3
"""pth2safetensors.py IN.pth OUT.safetensors [--half]: converts an upscaler
checkpoint (ESRGAN / Real-ESRGAN RRDBNet, SRVGGNet) from PyTorch's pickle
format to .safetensors, which is all the engine reads.

The file is read with torch.load(..., weights_only=True): PyTorch's
restricted unpickler, which builds tensors, dicts, lists and plain numbers
and refuses any other object, so a hostile checkpoint cannot run code
here either. basicsr's wrappers ({"params_ema": ...} or {"params": ...};
params_ema preferred, as Real-ESRGAN loads it) are unwrapped; a
"module." prefix (DataParallel) is stripped. Tensors are written as
float32, or float16 with --half."""

import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "reference"))
import st_io  # noqa: E402


def state_dict(obj, path):
    """The tensors of a loaded checkpoint, unwrapped."""
    if isinstance(obj, dict):
        for key in ("params_ema", "params", "state_dict", "model"):
            if key in obj and isinstance(obj[key], dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj:
        raise ValueError("%s: not a dict of tensors" % path)
    out = {}
    for k, v in obj.items():
        if not isinstance(k, str) or not torch.is_tensor(v):
            raise ValueError("%s: entry %r is not a named tensor" % (path, k))
        if k.startswith("module."):
            k = k[len("module."):]
        out[k] = v
    return out


def convert(src, dst, half=False):
    """Writes dst from src; returns the number of tensors."""
    try:
        obj = torch.load(src, map_location="cpu", weights_only=True)
    except Exception as e:  # the restricted unpickler's refusals
        raise ValueError("%s: not loadable as weights only (%s)" %
                         (src, str(e).splitlines()[0] if str(e) else
                          type(e).__name__))
    sd = state_dict(obj, src)
    dt = np.float16 if half else np.float32
    tensors = {k: v.detach().to(torch.float32).contiguous().numpy()
               .astype(dt) for k, v in sorted(sd.items())}
    st_io.write(dst, tensors, {"format": "pt", "source": os.path.basename(src)})
    return len(tensors)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--half", action="store_true",
                    help="store float16 (half the size)")
    a = ap.parse_args()
    try:
        n = convert(a.src, a.dst, a.half)
    except (ValueError, OSError) as e:
        print("pth2safetensors: %s" % e, file=sys.stderr)
        return 1
    print("pth2safetensors: %s: %d tensors" % (a.dst, n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
