"""torch_io.py - what the PyTorch sides of the benchmarks share: a
safetensors reader that widens every tensor to float32 (PyTorch's fastest
CPU path). Imported after the thread count is set in the environment."""

import json
import struct

import numpy as np
import torch

_NP = {"F16": np.float16, "F32": np.float32, "BF16": np.uint16}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    data = np.memmap(path, np.uint8, "r", offset=8 + n)
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        a, b = h["data_offsets"]
        arr = data[a:b].view(_NP[h["dtype"]]).reshape(h["shape"])
        if h["dtype"] == "BF16":
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        out[name] = torch.from_numpy(arr.astype(np.float32))
    return out
