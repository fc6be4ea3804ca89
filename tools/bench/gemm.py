#!/usr/bin/python3
"""gemm.py - GEMM GFLOP/s of kiln's engine next to OpenBLAS SGEMM through
numpy on the same shapes, in the same run: op_matmul as the engine runs it
(its own kernel where that applies), and op_matmul held to CLBlast without
and with the device's tuning file. Prints one table and writes it as JSON
to bench/results/gemm.json.

OpenBLAS's best GFLOP/s over the shapes is reported as the machine's
practical peak. Run with /usr/bin/python3 (Debian's numpy)."""

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
CORES = len(os.sched_getaffinity(0))

# OpenBLAS reads these when it loads, so before numpy is imported: one
# thread per core, as kiln's PoCL device uses every core.
os.environ["OPENBLAS_NUM_THREADS"] = str(CORES)
os.environ["OMP_NUM_THREADS"] = str(CORES)

import numpy as np  # noqa: E402

DEFAULT_SHAPES = ("4096x320x320,1024x640x640,256x1280x1280,4096x320x2880,"
                  "77x768x768,1024x1024x1024")


def parse_shape(s):
    """'MxNxK' or 'MxNxK:nt' -> (m, n, k, ta, tb)."""
    dims, _, trans = s.partition(":")
    m, n, k = (int(v) for v in dims.split("x"))
    trans = trans or "nn"
    if len(trans) != 2 or any(c not in "nt" for c in trans):
        raise ValueError("bad transposes in %r" % s)
    return m, n, k, trans[0] == "t", trans[1] == "t"


def blas_library():
    """The BLAS numpy loaded (from /proc/self/maps) and what it says of
    itself when it is OpenBLAS."""
    np.dot(np.ones((2, 2), np.float32), np.ones((2, 2), np.float32))
    paths = []
    with open("/proc/self/maps") as f:
        for line in f:
            p = line.split()[-1]
            base = os.path.basename(p)
            if ("blas" in base or "lapack" in base) and p not in paths \
                    and p.startswith("/"):
                paths.append(p)
    info = {"libraries": paths, "kind": "unknown", "config": None,
            "threads": None}
    for p in paths:
        if "openblas" in p:
            info["kind"] = ("openblas-pthread" if "openblas-pthread" in p
                            else "openblas-openmp" if "openblas-openmp" in p
                            else "openblas-serial" if "openblas-serial" in p
                            else "openblas")
            try:
                import ctypes
                lib = ctypes.CDLL(p)
                lib.openblas_get_config.restype = ctypes.c_char_p
                info["config"] = lib.openblas_get_config().decode()
                info["threads"] = lib.openblas_get_num_threads()
            except (OSError, AttributeError):
                pass
            break
        if "/blas/" in p:
            info["kind"] = "reference (netlib) BLAS"
    return info


def bench_numpy(shape, repeat):
    m, n, k, ta, tb = shape
    rng = np.random.default_rng(1)
    a = rng.uniform(-1, 1, (k, m) if ta else (m, k)).astype(np.float32)
    b = rng.uniform(-1, 1, (n, k) if tb else (k, n)).astype(np.float32)
    a_op = a.T if ta else a
    b_op = b.T if tb else b
    out = np.empty((m, n), np.float32)
    np.matmul(a_op, b_op, out=out)           # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        np.matmul(a_op, b_op, out=out)
        times.append(time.perf_counter() - t0)
    times.sort()
    return 2.0 * m * n * k / times[0] / 1e9, \
        2.0 * m * n * k / times[len(times) // 2] / 1e9


def bench_kiln(binary, shapes, repeat, device, tuned, clblast):
    env = dict(os.environ)
    env.setdefault("POCL_CACHE_DIR", os.path.join(ROOT, "build",
                                                  "pocl-cache"))
    env.setdefault("KILN_CL_CACHE", os.path.join(ROOT, "build",
                                                 "cl-cache"))
    if tuned:
        env.pop("KILN_NO_TUNING", None)
    else:
        env["KILN_NO_TUNING"] = "1"
    cmd = [binary, "bench-gemm", "--json", "--shapes", shapes, "--repeat",
           str(repeat)]
    if clblast:
        cmd.append("--clblast")
    if device:
        cmd += ["--device", device]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit("gemm.py: %s failed:\n%s" % (" ".join(cmd),
                                             p.stderr.strip()))
    return json.loads(p.stdout)


def fmt(v, width=8, digits=1):
    return ("%*.*f" % (width, digits, v)) if v is not None \
        else "%*s" % (width, "n/a")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shapes", default=DEFAULT_SHAPES)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--device", default=None)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results",
                                                  "gemm.json"))
    args = ap.parse_args()
    shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
    try:
        parsed = [parse_shape(s) for s in shapes]
    except ValueError as e:
        sys.exit("gemm.py: bad --shapes: %s" % e)
    binary = os.path.join(args.build, "render-daemon", "kiln-render")
    if not os.access(binary, os.X_OK):
        sys.exit("gemm.py: %s is missing: run make" % binary)

    blas = blas_library()
    print("cores: %d; numpy %s on %s (%s)" % (
        CORES, np.__version__, blas["kind"],
        ", ".join(blas["libraries"]) or "no BLAS library found"))
    if blas["config"]:
        print("OpenBLAS: %s, %s threads" % (blas["config"],
                                            blas["threads"]))
    if not blas["kind"].startswith("openblas"):
        print("WARNING: numpy is not using OpenBLAS: install "
              "libopenblas0-pthread (the reference BLAS is about 25x "
              "slower)")

    rows = []
    for s, p in zip(shapes, parsed):
        best, med = bench_numpy(p, args.repeat)
        rows.append({"shape": s, "openblas_gflops": round(best, 2),
                     "openblas_gflops_median": round(med, 2)})
        print("  openblas %-18s %7.1f GFLOP/s" % (s, best), flush=True)

    joined = ",".join(shapes)

    def add(run, name, keep=True):
        """Copies one kiln run's figures into the rows as
        kiln_<name>_gflops(_median); None when keep is false."""
        for r, res in zip(rows, run["results"]):
            r["kiln_%s_gflops" % name] = res["gflops"] if keep else None
            r["kiln_%s_gflops_median" % name] = (res["gflops_median"]
                                                 if keep else None)

    add(bench_kiln(binary, joined, args.repeat, args.device, True, False),
        "engine")
    print("  kiln engine (op_matmul's own choice) done", flush=True)
    add(bench_kiln(binary, joined, args.repeat, args.device, False, True),
        "untuned")
    print("  kiln CLBlast untuned done (KILN_NO_TUNING=1)", flush=True)

    tuned = bench_kiln(binary, joined, args.repeat, args.device, True, True)
    tstate = tuned["tuning"]
    have_tuned = tstate.get("applied", False)
    add(tuned, "tuned", have_tuned)
    if have_tuned:
        print("  kiln CLBlast tuned done (%s)" % tstate.get("path"),
              flush=True)

    for r in rows:
        ob = r["openblas_gflops"]
        r["engine_vs_openblas"] = round(r["kiln_engine_gflops"] / ob, 3)
        r["untuned_vs_openblas"] = round(r["kiln_untuned_gflops"] / ob, 3)
        r["tuned_vs_openblas"] = (round(r["kiln_tuned_gflops"] / ob, 3)
                                  if r["kiln_tuned_gflops"] else None)
    peak = max(r["openblas_gflops"] for r in rows)

    print()
    print("device: %s (%s, driver %s)" % (tuned["device"],
                                          tuned["platform"],
                                          tuned["driver"]))
    if have_tuned:
        print("tuning file: %s" % tstate.get("path"))
    else:
        print("tuned: n/a — run `make tune` (tuning %s%s)" % (
            tstate.get("state"),
            ": " + tstate["detail"] if tstate.get("detail") else ""))
    print("best of %d calls after a warm-up; GFLOP/s = 2MNK / time; "
          "engine = op_matmul's own choice, untuned/tuned = op_matmul held "
          "to CLBlast" % args.repeat)
    print("%-16s %8s %8s %8s %8s %8s %8s %8s" % (
        "shape", "OpenBLAS", "engine", "untuned", "tuned", "eng/OB",
        "untun/OB", "tuned/OB"))
    for r in rows:
        print("%-16s %s %s %s %s %s %s %s" % (
            r["shape"], fmt(r["openblas_gflops"]),
            fmt(r["kiln_engine_gflops"]),
            fmt(r["kiln_untuned_gflops"]),
            fmt(r["kiln_tuned_gflops"]),
            fmt(r["engine_vs_openblas"], 8, 2),
            fmt(r["untuned_vs_openblas"], 8, 2),
            fmt(r["tuned_vs_openblas"], 8, 2)))
    print("OpenBLAS practical peak (best over the shapes): %.1f GFLOP/s" %
          peak)

    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cores": CORES,
        "repeat": args.repeat,
        "blas": blas,
        "numpy": np.__version__,
        "device": tuned["device"],
        "platform": tuned["platform"],
        "driver": tuned["driver"],
        "tuning": tstate,
        "openblas_peak_gflops": peak,
        "shapes": rows,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    os.replace(tmp, args.out)
    print("wrote %s" % os.path.relpath(args.out, ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
