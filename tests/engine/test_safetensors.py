"""The safetensors loader against an independent writer: files written here
with struct + json + numpy are read back through `kiln-render st-dump` and
compared bit for bit (F32, F16 and BF16 widened to F32); truncated and
corrupted copies must fail with exit 1 and a clear message."""

import json
import os
import shutil
import struct
import subprocess
import tempfile

import numpy as np

import harness

STACK = None

_dir = None
_files = {}


def render(*args):
    exe = os.path.join(harness.BUILD, "render-daemon", "kiln-render")
    assert os.access(exe, os.X_OK), "%s is not built" % exe
    return subprocess.run([exe] + list(args), capture_output=True,
                          text=True, timeout=60)


def write_st(path, tensors, metadata=None):
    """tensors: list of (name, dtype, shape, raw bytes). Lays them out in
    order and pads the header to 8 bytes with spaces, as the reference
    writer does."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    data = b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape),
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)
    return path


def bf16_round(x):
    """float32 -> bfloat16 bits, round to nearest even, NaN kept quiet;
    returns (uint16 bits, the float32 they stand for)."""
    bits = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7fff + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(np.asarray(x, dtype=np.float32))
    rounded[nan] = ((bits[nan] >> 16) | 0x40).astype(np.uint16)
    back = (rounded.astype(np.uint32) << 16).view(np.float32)
    return rounded, back


def dump(path, name):
    p = render("st-dump", path, name)
    assert p.returncode == 0, "st-dump %s %s: %s" % (path, name, p.stderr)
    # parse_int=float keeps "-0" a negative zero
    return np.array(json.loads(p.stdout, parse_int=float), dtype=np.float32)


def same_bits(got, want):
    got = np.asarray(got, dtype=np.float32).ravel()
    want = np.asarray(want, dtype=np.float32).ravel()
    assert got.shape == want.shape, "%s values, want %s" % (got.shape,
                                                            want.shape)
    gn, wn = np.isnan(got), np.isnan(want)
    assert (gn == wn).all(), "NaN at %s" % np.nonzero(gn != wn)[0][:10]
    g = got[~gn].view(np.uint32)
    w = want[~wn].view(np.uint32)
    bad = np.nonzero(g != w)[0]
    assert bad.size == 0, "%d values differ, first: got %r want %r" % (
        bad.size, got[~gn][bad[0]], want[~wn][bad[0]])


def setup():
    global _dir
    if _dir is not None:
        return
    _dir = tempfile.mkdtemp(prefix="kiln-st-")
    rng = np.random.default_rng(20240501)
    specials = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan,
                         65504.0, 65520.0, 1e-8, 2.0 ** -24, 2.0 ** -25,
                         3e38, -3e38, 1.4e-45, 1.17549435e-38,
                         1.0 + 2.0 ** -11, 1.0 + 3 * 2.0 ** -11],
                        dtype=np.float32)
    f32 = np.concatenate([specials, (rng.standard_normal(3 * 64) *
                                     rng.choice([1e-6, 1.0, 1e4], 3 * 64))
                          .astype(np.float32)])
    f16_all = np.arange(65536, dtype=np.uint32).astype(np.uint16)
    f16_rand = rng.standard_normal((4, 5, 6)).astype(np.float16)
    bf_src = np.concatenate([specials, rng.standard_normal(100)
                             .astype(np.float32) * 1e3])
    bf_bits, bf_want = bf16_round(bf_src)
    _files["want"] = {
        "w.f32": f32,
        "w.f16_all": f16_all.view(np.float16).astype(np.float32),
        "w.f16_rand": f16_rand.astype(np.float32),
        "w.bf16": bf_want,
    }
    _files["main"] = write_st(os.path.join(_dir, "model.safetensors"), [
        ("w.f32", "F32", (len(specials) + 3 * 64,), f32.tobytes()),
        ("w.f16_all", "F16", (256, 256), f16_all.tobytes()),
        ("w.f16_rand", "F16", f16_rand.shape, f16_rand.tobytes()),
        ("w.bf16", "BF16", (1, len(bf_src)), bf_bits.tobytes()),
        ("position_ids", "I64", (1, 77),
         np.arange(77, dtype=np.int64).tobytes()),
        ("scalar", "F32", (), np.float32(0.5).tobytes()),
    ], metadata={"format": "pt"})


def test_lists_every_tensor(_):
    setup()
    p = render("st-dump", _files["main"])
    assert p.returncode == 0, p.stderr
    rows = [line.split("\t") for line in p.stdout.splitlines()]
    assert rows == [
        ["position_ids", "I64", "[1,77]"],
        ["scalar", "F32", "[]"],
        ["w.bf16", "BF16", "[1,%d]" % len(_files["want"]["w.bf16"])],
        ["w.f16_all", "F16", "[256,256]"],
        ["w.f16_rand", "F16", "[4,5,6]"],
        ["w.f32", "F32", "[%d]" % len(_files["want"]["w.f32"])],
    ], rows


def test_f32_values_exact(_):
    setup()
    same_bits(dump(_files["main"], "w.f32"), _files["want"]["w.f32"])
    same_bits(dump(_files["main"], "scalar"), [0.5])


def test_every_f16_value_widens_exactly(_):
    setup()
    same_bits(dump(_files["main"], "w.f16_all"),
              _files["want"]["w.f16_all"])
    same_bits(dump(_files["main"], "w.f16_rand"),
              _files["want"]["w.f16_rand"])


def test_bf16_values_exact(_):
    setup()
    same_bits(dump(_files["main"], "w.bf16"), _files["want"]["w.bf16"])


def test_int64_is_listed_but_not_converted(_):
    setup()
    p = render("st-dump", _files["main"], "position_ids")
    assert p.returncode == 1, p
    assert "tensor 'position_ids': dtype I64 cannot be loaded as " \
        "floating point" in p.stderr, p.stderr
    p = render("st-dump", _files["main"], "no.such")
    assert p.returncode == 1 and "no tensor 'no.such'" in p.stderr, p


def corrupt(name, raw):
    path = os.path.join(_dir, name)
    with open(path, "wb") as f:
        f.write(raw)
    return path


def expect_failure(path, *words):
    p = render("st-dump", path)
    # 1, not a signal: a broken file is an error, never a crash
    assert p.returncode == 1, "exit %d for %s: %s" % (p.returncode, path,
                                                       p.stderr)
    msg = p.stderr.strip()
    assert path in msg, msg
    for w in words:
        assert w in msg, "%r not in %r" % (w, msg)
    assert "\n" not in msg, msg


def test_truncated_copies_fail_clearly(_):
    setup()
    with open(_files["main"], "rb") as f:
        raw = f.read()
    hlen = struct.unpack("<Q", raw[:8])[0]
    expect_failure(corrupt("cut0.safetensors", b""), "too small")
    expect_failure(corrupt("cut5.safetensors", raw[:5]), "too small")
    expect_failure(corrupt("cut-hdr.safetensors", raw[:8 + hlen // 2]),
                   "file is truncated: header says %d bytes but only %d "
                   "follow" % (hlen, hlen // 2))
    for cut in (8 + hlen, 8 + hlen + 1000, len(raw) - 1):
        expect_failure(corrupt("cut%d.safetensors" % cut, raw[:cut]),
                       "exceed the data size", "truncated")


def test_corrupted_copies_fail_clearly(_):
    setup()
    with open(_files["main"], "rb") as f:
        raw = f.read()
    expect_failure(corrupt("big.safetensors",
                           struct.pack("<Q", 1 << 40) + raw[8:]),
                   "header too large")
    expect_failure(corrupt("json.safetensors",
                           raw[:8] + b"[" + raw[9:]), "not valid JSON")
    expect_failure(corrupt("dtype.safetensors",
                           raw.replace(b'"BF16"', b'"BF17"', 1)),
                   "tensor 'w.bf16': unknown dtype 'BF17'")
    expect_failure(corrupt("f64.safetensors",
                           raw.replace(b'"F32"', b'"F64"', 1)),
                   "needs", "bytes but data_offsets")
    expect_failure(corrupt("tail.safetensors", raw + b"\0" * 4),
                   "4 trailing bytes")
    expect_failure(corrupt("shape.safetensors",
                           raw.replace(b"[256, 256]", b"[256, 257]", 1)),
                   "tensor 'w.f16_all': shape [256, 257] of F16 needs "
                   "131584 bytes")
    # every single-byte flip in the header fails cleanly or still loads
    hlen = struct.unpack("<Q", raw[:8])[0]
    rng = np.random.default_rng(7)
    for i, pos in enumerate(rng.integers(0, 8 + hlen, 40)):
        b = bytearray(raw)
        b[pos] ^= 1 << int(rng.integers(0, 8))
        p = render("st-dump", corrupt("flip%d.safetensors" % i, bytes(b)))
        assert p.returncode in (0, 1), "exit %d at byte %d: %s" % (
            p.returncode, pos, p.stderr)
        assert p.returncode == 0 or p.stderr.strip(), pos


def test_cleanup(_):
    global _dir
    if _dir is not None:
        shutil.rmtree(_dir, ignore_errors=True)
        _dir = None
