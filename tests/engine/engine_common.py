"""engine_common.py - shared helpers for the engine tests: the reference
module, kiln-render invocation with stable kernel caches, comparisons."""

import os
import subprocess
import sys

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
