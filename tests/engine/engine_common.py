"""engine_common.py - shared helpers for the engine tests: the reference
module, kiln-render invocation with stable kernel caches, comparisons."""

import os
import struct
import subprocess
import sys
import zlib

import numpy as np

import harness

sys.path.insert(0, os.path.join(harness.ROOT, "tools", "reference"))


def render_bin():
    return os.path.join(harness.BUILD, "render-daemon", "kiln-render")


def engine_env():
    env = dict(os.environ)
    # Kernels compile once per checkout, not once per test run.
    env.setdefault("KILN_CL_CACHE", os.path.join(harness.ROOT, "build",
                                                 "cl-cache"))
    env.setdefault("POCL_CACHE_DIR", os.path.join(harness.ROOT, "build",
                                                  "pocl-cache"))
    # Not the tuning file of whoever runs the tests (~/.config/kiln):
    # test_tuning sets its own directory.
    env.setdefault("KILN_TUNING_DIR", os.path.join(harness.ROOT, "build",
                                                   "no-tuning"))
    return env


def kiln_render(args, timeout=600):
    return subprocess.run([render_bin()] + list(args), capture_output=True,
                          text=True, env=engine_env(), timeout=timeout)


def rel_err(got, want):
    """max |got - want| relative to the output's scale (max |want|)."""
    import torch
    got = got.double()
    want = want.double()
    scale = max(want.abs().max().item(), 1e-6)
    return (got - want).abs().max().item() / scale


# --- images -------------------------------------------------------------

def png_chunks(path):
    """[(type, data)] of a PNG, checking the signature and every CRC."""
    with open(path, "rb") as f:
        b = f.read()
    assert b[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    out, i = [], 8
    while i < len(b):
        n, = struct.unpack(">I", b[i:i + 4])
        typ, data = b[i + 4:i + 8], b[i + 8:i + 8 + n]
        crc, = struct.unpack(">I", b[i + 8 + n:i + 12 + n])
        assert crc == zlib.crc32(typ + data) & 0xffffffff, typ
        out.append((typ, data))
        i += 12 + n
    assert out[-1][0] == b"IEND"
    return out


def png_pixels(path):
    """RGB8 pixels of one of our PNGs (8-bit RGB, non-interlaced) with
    zlib alone, so the test does not trust libgd to read what it wrote."""
    ch = png_chunks(path)
    w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB",
                                                       ch[0][1])
    assert (depth, ctype, interlace) == (8, 2, 0)
    raw = zlib.decompress(b"".join(d for t, d in ch if t == b"IDAT"))
    stride = w * 3
    img = np.zeros((h, stride), np.int32)
    prev = np.zeros(stride, np.int32)
    pos = 0
    for y in range(h):
        ft = raw[pos]
        line = np.frombuffer(raw[pos + 1:pos + 1 + stride],
                             np.uint8).astype(np.int32)
        pos += 1 + stride
        cur = np.zeros(stride, np.int32)
        for x in range(stride):
            a = cur[x - 3] if x >= 3 else 0
            b = prev[x]
            c = prev[x - 3] if x >= 3 else 0
            if ft == 0:
                p = 0
            elif ft == 1:
                p = a
            elif ft == 2:
                p = b
            elif ft == 3:
                p = (a + b) // 2
            else:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            cur[x] = (line[x] + p) & 255
        img[y] = cur
        prev = cur
    return img.reshape(h, w, 3).astype(np.uint8)


def png_parameters(path):
    texts = [d for t, d in png_chunks(path) if t == b"tEXt"]
    assert len(texts) == 1, texts
    key, _, val = texts[0].partition(b"\0")
    assert key == b"parameters"
    return val.decode("utf-8")


def close_to(got, want, what):
    d = np.abs(got.astype(np.int32) - want.astype(np.int32))
    assert got.shape == want.shape, (got.shape, want.shape)
    assert d.mean() <= 1.0 and d.max() <= 4, \
        "%s: mean |diff| %.3f, max %d (want <= 1, <= 4)" % (
            what, d.mean(), d.max())
    return d
