"""The runtime's promises: a clear message when no device matches
(naming what exists), compiled kernels cached per device and driver and
rebuilt when the cache is damaged, errors that name the op, and model
code that reaches the device only through the backend seam (no OpenCL
outside render-daemon/engine/opencl/)."""

import glob
import os
import re
import shutil
import tempfile

import numpy as np

import engine_common as ec

STACK = None


def run_add(cache, extra=()):
    work = tempfile.mkdtemp(prefix="kiln-rt-")
    try:
        a = np.arange(10, dtype=np.float32)
        a.tofile(os.path.join(work, "a.bin"))
        env = ec.engine_env()
        env["KILN_CL_CACHE"] = cache
        import subprocess
        p = subprocess.run(
            [ec.render_bin(), "op"] + list(extra) +
            ["add", "--in", "10=" + os.path.join(work, "a.bin"),
             "--in", "10=" + os.path.join(work, "a.bin"),
             "--out", "10=" + os.path.join(work, "y.bin")],
            capture_output=True, text=True, env=env, timeout=300)
        y = None
        if p.returncode == 0:
            y = np.fromfile(os.path.join(work, "y.bin"), dtype=np.float32)
        return p, y
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_unknown_device_lists_what_exists(_):
    cache = tempfile.mkdtemp(prefix="kiln-cache-")
    try:
        p, _ = run_add(cache, ["--device", "no-such-gpu-xyz"])
        assert p.returncode == 1
        assert 'no OpenCL device matches "no-such-gpu-xyz"' in p.stderr
        assert "Portable Computing Language" in p.stderr, p.stderr
        p, y = run_add(cache, ["--device", "cpu"])
        assert p.returncode == 0, p.stderr
        assert (y == 2 * np.arange(10, dtype=np.float32)).all()
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def test_kernel_binaries_are_cached_and_survive_damage(_):
    cache = tempfile.mkdtemp(prefix="kiln-cache-")
    try:
        p, y = run_add(cache)
        assert p.returncode == 0, p.stderr
        files = glob.glob(os.path.join(cache, "elementwise-*.bin"))
        assert len(files) == 1, os.listdir(cache)
        with open(files[0], "wb") as f:
            f.write(b"\x00garbage, not a program binary")
        p, y = run_add(cache)
        assert p.returncode == 0, p.stderr
        assert (y == 2 * np.arange(10, dtype=np.float32)).all()
        with open(files[0], "rb") as f:
            assert not f.read().startswith(b"\x00garbage")
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def test_errors_name_the_op(_):
    work = tempfile.mkdtemp(prefix="kiln-rt-")
    try:
        x = os.path.join(work, "x.bin")
        w = os.path.join(work, "w.bin")
        np.zeros(1 * 3 * 4 * 4, np.float32).tofile(x)
        np.zeros(2 * 5 * 3 * 3, np.float32).tofile(w)
        p = ec.kiln_render(["op", "conv2d", "--in", "1x3x4x4=" + x,
                            "--in", "2x5x3x3=" + w, "--out",
                            "1x2x4x4=" + os.path.join(work, "y.bin"),
                            "--set", "pad=1"])
        assert p.returncode == 1
        assert "conv2d: input has 3 channels, weight wants 5" in p.stderr, \
            p.stderr
        # An output larger than the device can allocate at once.
        p = ec.kiln_render(["op", "add", "--in", "48=" + x, "--in",
                            "48=" + x, "--out", "100000x100000=" +
                            os.path.join(work, "y.bin")])
        assert p.returncode == 1
        assert "exceed the device's largest allocation" in p.stderr or \
            "clCreateBuffer" in p.stderr, p.stderr
    finally:
        shutil.rmtree(work, ignore_errors=True)


ENGINE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "render-daemon", "engine")

# What only the OpenCL backend may say: its headers, cl_* types and
# CL_* constants, cl* calls, CLBlast. engine_opts.cl_cache_dir is an
# option's name, not a type.
OPENCL_WORDS = re.compile(
    r'#\s*include\s*[<"](?:CL/|clblast|opencl/|runtime_cl\.h|'
    r'cl_sources\.h)|\bcl_(?!cache_dir\b)\w+|\bCL_\w+|\bcl[A-Z]\w*|'
    r'\bCLBlast\w*')


def opencl_words(path):
    """The OpenCL words in a C file's code (comments left out), as
    "line: word"."""
    with open(path) as f:
        text = f.read()
    # Comments become blanks of the same lines, so line numbers hold.
    text = re.sub(r"/\*.*?\*/|//[^\n]*",
                  lambda m: re.sub(r"[^\n]", " ", m.group(0)), text,
                  flags=re.S)
    return ["%d: %s" % (text.count("\n", 0, m.start()) + 1, m.group(0))
            for m in OPENCL_WORDS.finditer(text)]


def test_model_code_and_public_headers_see_no_opencl(_):
    files = sorted(glob.glob(os.path.join(ENGINE, "*.[ch]")))
    names = [os.path.basename(f) for f in files]
    # The ones the seam exists for are among them.
    for must in ("unet.c", "clip.c", "vae.c", "blocks.c", "textcond.c",
                 "pipeline.c", "weights.c", "sampler.c", "tensor.c",
                 "runtime.h", "tensor.h", "ops.h", "backend.h"):
        assert must in names, must
    found = {}
    for f, n in zip(files, names):
        words = opencl_words(f)
        if words:
            found[n] = words[:5]
    assert not found, "OpenCL outside engine/opencl/: %r" % found


def test_the_seam_check_finds_opencl_where_it_is(_):
    words = opencl_words(os.path.join(ENGINE, "opencl", "backend_cl.c"))
    assert any("clCreateBuffer" in w for w in words), words[:5]
    assert any("cl_mem" in w for w in words), words[:5]
    assert any("CL/" in w for w in opencl_words(
        os.path.join(ENGINE, "opencl", "runtime_cl.h")))
