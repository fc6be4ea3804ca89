#!/usr/bin/python3
"""attention.py - op_attention's GFLOP/s on SD's shapes (kiln-render
bench-attention), for one build or two side by side: with --base, the
two binaries run in alternate rounds and each shape keeps its best over
the rounds, so a machine that other jobs share slows both alike.

Two figures per shape: wall GFLOP/s (best call), and GFLOP/s from the
least process CPU time of a call spread over the cores (what the kernel
would do with the machine to itself; wall figures on a busy machine say
more about the neighbours). The second overstates shapes too small to
keep every core busy (CLIP's): read their wall figure. Writes the table
as JSON to bench/results/attention.json. Run with /usr/bin/python3."""

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
CORES = len(os.sched_getaffinity(0))


def flops(shape):
    dims = shape.split(":")[0]
    b, lq, lk, h, d = (int(x) for x in dims.split("x"))
    return 4.0 * b * h * lq * lk * d


def run(build, args):
    binary = os.path.join(build, "render-daemon", "kiln-render")
    env = dict(os.environ)
    env.setdefault("POCL_CACHE_DIR", os.path.join(build, "pocl-cache"))
    env.setdefault("KILN_CL_CACHE", os.path.join(build, "cl-cache"))
    cmd = [binary, "bench-attention", "--json", "--repeat",
           str(args.repeat), "--impl", args.impl]
    if args.shapes:
        cmd += ["--shapes", args.shapes]
    if args.device:
        cmd += ["--device", args.device]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit("attention.py: %s failed:\n%s" % (" ".join(cmd),
                                                   p.stderr.strip()))
    return json.loads(p.stdout)


def merge(best, res):
    """Keeps, per shape, the best wall GFLOP/s and the least CPU ms."""
    for r in res["results"]:
        b = best.setdefault(r["shape"], {"gflops": 0.0, "cpu_ms": None})
        b["gflops"] = max(b["gflops"], r["gflops"])
        if b["cpu_ms"] is None or r["cpu_ms"] < b["cpu_ms"]:
            b["cpu_ms"] = r["cpu_ms"]


def cpu_gflops(shape, cpu_ms):
    return flops(shape) / (cpu_ms / 1e3 / CORES) / 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--base", default=None,
                    help="a second build to compare with (e.g. main's)")
    ap.add_argument("--shapes", default=None,
                    help="BxLqxLkxHxd[:causal],... (default: "
                    "bench-attention's)")
    ap.add_argument("--impl", default="auto",
                    choices=("auto", "fused", "blocked"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--device", default=None)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results",
                                                  "attention.json"))
    args = ap.parse_args()

    builds = [("new", args.build)]
    if args.base:
        builds.insert(0, ("base", args.base))
    best = {name: {} for name, _ in builds}
    device = None
    for rnd in range(args.rounds):
        for name, build in builds:
            res = run(build, args)
            device = res["device"]
            merge(best[name], res)
            print("attention.py: round %d/%d %s done" % (
                rnd + 1, args.rounds, name), file=sys.stderr, flush=True)

    shapes = list(best["new"].keys())
    print("device: %s; %d cores; impl %s; best of %d rounds x %d calls" % (
        device, CORES, args.impl, args.rounds, args.repeat))
    print("GFLOP/s = 4 B H Lq Lk d / time; cpu: from the least process "
          "CPU time of a call over %d cores" % CORES)
    head = "%-24s %9s %9s" % ("shape BxLqxLkxHxd", "wall", "cpu")
    if args.base:
        head = "%-24s %9s %9s %9s %9s %7s" % (
            "shape BxLqxLkxHxd", "base wall", "base cpu", "new wall",
            "new cpu", "x(cpu)")
    print(head)
    rows = []
    for s in shapes:
        n = best["new"][s]
        row = {"shape": s, "gflops": round(n["gflops"], 2),
               "cpu_gflops": round(cpu_gflops(s, n["cpu_ms"]), 2)}
        if args.base:
            b = best["base"][s]
            row["base_gflops"] = round(b["gflops"], 2)
            row["base_cpu_gflops"] = round(cpu_gflops(s, b["cpu_ms"]), 2)
            row["speedup_cpu"] = round(b["cpu_ms"] / n["cpu_ms"], 2)
            print("%-24s %9.1f %9.1f %9.1f %9.1f %7.2f" % (
                s, row["base_gflops"], row["base_cpu_gflops"],
                row["gflops"], row["cpu_gflops"], row["speedup_cpu"]))
        else:
            print("%-24s %9.1f %9.1f" % (s, row["gflops"],
                                         row["cpu_gflops"]))
        rows.append(row)

    result = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "device": device, "cores": CORES, "impl": args.impl,
              "rounds": args.rounds, "repeat": args.repeat,
              "build": args.build, "base": args.base, "shapes": rows}
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
