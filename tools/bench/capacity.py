#!/usr/bin/python3
"""capacity.py - `make bench-capacity`: how many render daemons one MariaDB
primary serves. Starts a throwaway stack's MariaDB (tools/kiln-stack, no
render daemon), raises its max_connections for the sweep, and runs
build/tools/kiln-capacity for each daemon count (default 64, 128, 256):
simulated daemons that claim, report progress, record results, renew
leases and beat their heartbeats through kilnd's own code, with a sleep
for the render, the queue kept full through the web side's insert.

Each count's claims/s is set against its peer in the same run: the
claims/s those daemons would make with a free database (daemons x 1000 /
render ms), and against the count before it (does doubling the daemons
double the claims?). With it: claim and result latency (p50/p99/max),
heartbeats/s, deadlocks, double runs (from the bench's own record of
claims, not the database's), InnoDB row lock waits, and the CPU that
MariaDB and the bench used, on the machine named in the first line:
figures from one machine say nothing of another. Prints a table and
writes bench/results/capacity.json. Never part of `make test`."""

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import harness  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
# Tables a run writes; emptied before each so every count starts alike.
RESET = ("SET FOREIGN_KEY_CHECKS = 0; TRUNCATE job_images;"
         " TRUNCATE webhook_deliveries; TRUNCATE job_inputs; TRUNCATE jobs;"
         " TRUNCATE queue_turns; TRUNCATE job_histograms;"
         " TRUNCATE render_stats; TRUNCATE daemons;"
         " SET FOREIGN_KEY_CHECKS = 1")


def log(msg):
    print("bench-capacity: " + msg, file=sys.stderr, flush=True)


def cpu_line():
    info = {}
    with open("/proc/cpuinfo") as f:
        for line in f:
            k, _, v = line.partition(":")
            k, v = k.strip(), v.strip()
            if k in ("model name", "cpu family", "model") and k not in info:
                info[k] = v
    return {"cpu": info.get("model name", "?"),
            "cpu_family": info.get("cpu family"),
            "cpu_model": info.get("model"), "cores": os.cpu_count()}


def proc_cpu_s(pid):
    """User + system CPU seconds of process pid so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def machine_busy():
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def run_count(args, s, n, mysqld):
    s.sql(RESET)
    depth = args.depth or 4 * n
    cmd = [os.path.join(args.build, "tools", "kiln-capacity"), "-c", s.conf,
           "--throwaway", "--daemons", str(n), "--seconds",
           str(args.seconds), "--warmup", str(args.warmup), "--render-ms",
           str(args.render_ms), "--jitter-ms", str(args.jitter_ms),
           "--steps", str(args.steps), "--users", str(args.users),
           "--depth", str(depth)]
    if args.no_courier:
        cmd.append("--no-courier")
    log("%d daemons: %d s after a %d s warm-up" % (n, args.seconds,
                                                   args.warmup))
    db0, m0, t0 = proc_cpu_s(mysqld), machine_busy(), time.time()
    load0 = os.getloadavg()[0]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    out, err = p.communicate(timeout=args.seconds + args.warmup + 300)
    if p.returncode != 0:
        sys.exit("bench-capacity: %s failed (%d):\n%s" % (
            " ".join(cmd), p.returncode, err[-3000:]))
    wall = time.time() - t0
    db1, m1 = proc_cpu_s(mysqld), machine_busy()
    r = json.loads(out)
    # Over the whole run (set-up, warm-up and drain included): what
    # share of one core MariaDB used, and how busy the machine was
    # (other work on it included).
    r["mariadb_cpu_pct"] = round(100 * (db1 - db0) / wall, 1)
    r["machine_busy_pct"] = round(100 * (m1[0] - m0[0]) /
                                  max(1, m1[1] - m0[1]), 1)
    r["loadavg_before"] = round(load0, 2)
    win = r["window_s"]
    r["row_lock_waits_per_s"] = round(r["innodb_row_lock_waits"] / win, 1)
    r["row_lock_wait_s_per_s"] = round(
        r["innodb_row_lock_time_ms"] / 1000 / win, 2)
    r["of_ideal"] = round(r["claims_per_s"] / r["ideal_claims_per_s"], 3) \
        if r["ideal_claims_per_s"] else None
    r["stderr_tail"] = err[-600:]
    return r


def table(res):
    m = res["machine"]
    out = ["machine: %s (family %s model %s), %d cores; MariaDB %s" % (
        m["cpu"], m["cpu_family"], m["cpu_model"], m["cores"],
        res["mariadb"]),
        "simulated daemons: render %d ms (+-%d) in %d steps with progress "
        "after each, batch 1, %d users, queue kept at %s jobs, heartbeat "
        "%s s, lease %s s, courier poll 250 ms%s; %d s measured after a "
        "%d s warm-up" % (
            res["render_ms"], res["jitter_ms"], res["steps"], res["users"],
            res["depth"] or "4 x daemons", res["rows"][0]["heartbeat_s"],
            res["rows"][0]["lease_s"],
            " (off)" if res["no_courier"] else "", res["seconds"],
            res["warmup"]),
        "  %7s %5s %9s %7s %6s %6s %20s %16s %7s %5s %6s %9s %9s %6s %6s" % (
            "daemons", "conns", "claims/s", "ideal", "of it", "x prev",
            "claim p50/p99/max", "result p50/p99", "beats/s", "dlock",
            "double", "lockw/s", "lock s/s", "db CPU", "busy")]
    prev = None
    for r in res["rows"]:
        c, s = r["claim_latency"], r["succeed_latency"]
        out.append(
            "  %7d %5d %9.1f %7.0f %6.3f %6s %20s %16s %7.1f %5d %6d %9.0f "
            "%9.2f %5.0f%% %5.0f%%" % (
                r["daemons"], r["connections"], r["claims_per_s"],
                r["ideal_claims_per_s"], r["of_ideal"] or 0,
                "%.2f" % (r["claims_per_s"] / prev) if prev else "-",
                "%.0f/%.0f/%.0f ms" % (c["p50_ms"], c["p99_ms"],
                                       c["max_ms"]),
                "%.0f/%.0f ms" % (s["p50_ms"], s["p99_ms"]),
                r["heartbeats_per_s"],
                r["counts"]["claim_deadlocks"] +
                r["counts"]["succeed_deadlocks"],
                r["double_runs"], r["row_lock_waits_per_s"],
                r["row_lock_wait_s_per_s"], r["mariadb_cpu_pct"],
                r["machine_busy_pct"]))
        prev = r["claims_per_s"]
    out.append("  (of it: claims/s over what the daemons would claim with a "
               "free database; x prev: over the count before; db CPU: "
               "MariaDB's share of one core; busy: the whole machine's, "
               "other work included; lock s/s: seconds spent waiting on "
               "row locks per second)")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--daemons", default="64,128,256")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--render-ms", type=int, default=100)
    ap.add_argument("--jitter-ms", type=int, default=20)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--users", type=int, default=200)
    # One depth for every count, so the counts compare: the claim's
    # order sorts the whole queue (fair share), its cost grows with it.
    ap.add_argument("--depth", type=int, default=512,
                    help="jobs kept queued (0: 4 x daemons)")
    ap.add_argument("--heartbeat", type=int, default=5)
    ap.add_argument("--no-courier", action="store_true")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results",
                                                  "capacity.json"))
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    counts = [int(v) for v in args.daemons.split(",") if v]
    harness.BUILD = args.build
    s = harness.Stack(daemon=False, heartbeat=args.heartbeat)
    log("starting MariaDB (tools/kiln-stack, no render daemon) in %s" %
        s.dir)
    s.up()
    res = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "machine": cpu_line(), "render_ms": args.render_ms,
           "jitter_ms": args.jitter_ms, "steps": args.steps,
           "users": args.users, "depth": args.depth,
           "seconds": args.seconds, "warmup": args.warmup,
           "no_courier": args.no_courier, "rows": []}
    try:
        # Two connections per simulated daemon, the feeder's, the
        # bench's own and room for a look.
        s.sql("SET GLOBAL max_connections = %d" % (2 * max(counts) + 50))
        mysqld = s.pid("mysqld")
        for n in counts:
            res["rows"].append(run_count(args, s, n, mysqld))
        res["mariadb"] = res["rows"][0]["mariadb"]
        res["innodb_buffer_pool_mb"] = int(s.sql(
            "SELECT @@innodb_buffer_pool_size")[0][0]) // 1048576
        res["innodb_flush_log_at_trx_commit"] = int(s.sql(
            "SELECT @@innodb_flush_log_at_trx_commit")[0][0])
    finally:
        s.down()
        s.remove()
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    print(table(res))
    print("(%s)" % os.path.relpath(args.out, ROOT))


if __name__ == "__main__":
    main()
