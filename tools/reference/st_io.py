"""st_io.py - a minimal safetensors writer and reader for the tests (numpy
only), written from the format's description: u64 header length, JSON
header, tensor bytes in header order. write_stream() writes tensors one at
a time so multi-gigabyte random models (SDXL: 5.1 GB of F16) never sit in
memory twice; read() maps the file instead of reading it."""

import json
import struct

import numpy as np

_DTYPES = {np.dtype("float32"): "F32", np.dtype("float16"): "F16",
           np.dtype("int64"): "I64", np.dtype("int32"): "I32"}
_NUMPY = {"F32": np.float32, "F16": np.float16, "I64": np.int64,
          "I32": np.int32, "BF16": np.uint16}


def to_bf16_bits(a):
    """float32 array -> uint16 bfloat16 bits, rounded to nearest even."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)
    rounding = ((u >> 16) & 1) + 0x7FFF
    return ((u + rounding) >> 16).astype(np.uint16)


def bf16_to_f32(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def write(path, tensors, metadata=None):
    """tensors: name -> numpy array, or (\"BF16\", uint16 bits array)."""
    header = {}
    blobs = []
    off = 0
    for name, arr in tensors.items():
        if isinstance(arr, tuple):
            dtype, a = arr
        else:
            a = np.ascontiguousarray(arr)
            dtype = _DTYPES[a.dtype]
        raw = np.ascontiguousarray(a).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def _pad_header(header):
    h = json.dumps(header).encode()
    return h + b" " * (-len(h) % 8)


def write_stream(path, entries, arrays, metadata=None):
    """entries: [(name, dtype, shape)] with dtype "F32", "F16", "BF16",
    "I64" or "I32"; arrays: an iterable giving, in the same order, numpy
    arrays of those shapes (uint16 bits for BF16). The header is written
    first, then each array as it arrives, so only one is held at a time."""
    header = {}
    off = 0
    sizes = []
    for name, dtype, shape in entries:
        n = int(np.prod(shape, dtype=np.int64)) * \
            np.dtype(_NUMPY[dtype]).itemsize
        header[name] = {"dtype": dtype, "shape": [int(d) for d in shape],
                        "data_offsets": [off, off + n]}
        sizes.append((name, dtype, tuple(shape), n))
        off += n
    if metadata:
        header["__metadata__"] = metadata
    h = _pad_header(header)
    count = 0
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for (name, dtype, shape, n), a in zip(sizes, arrays):
            # not ascontiguousarray: it turns a 0-d array into shape (1,)
            a = np.array(a, dtype=_NUMPY[dtype], order="C", copy=False)
            if tuple(a.shape) != shape:
                raise ValueError("%s: shape %s, header says %s" %
                                 (name, a.shape, shape))
            f.write(a.tobytes())
            count += 1
    if count != len(sizes):
        raise ValueError("%d arrays for %d header entries" %
                         (count, len(sizes)))


def read(path):
    """name -> numpy array mapped from the file (read-only; BF16 comes back
    as uint16 bits), and the __metadata__ dict (or None)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    meta = header.pop("__metadata__", None)
    mm = np.memmap(path, dtype=np.uint8, mode="r")
    out = {}
    for name, e in header.items():
        a, b = e["data_offsets"]
        buf = mm[8 + n + a:8 + n + b]
        out[name] = buf.view(_NUMPY[e["dtype"]]).reshape(e["shape"])
    return out, meta
