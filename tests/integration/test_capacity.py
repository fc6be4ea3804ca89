"""The capacity bench's own check at a small scale: 16 simulated render
daemons (build/tools/kiln-capacity, which drives kilnd's claim, progress,
result, lease and heartbeat calls, with a sleep for the render) run a
queue of 400 jobs of 8 users dry. Every job is rendered exactly once
(the bench's record of its claims, kept apart from the database, says
so), no claim fails or deadlocks or comes back empty while jobs wait,
and the bench's counts are the database's."""

import csv
import json
import os
from collections import Counter, defaultdict

import harness

STACK = dict(server="lighttpd", daemon=False)

DAEMONS = 16
JOBS = 400


def capacity(s, *args):
    binary = os.path.join(harness.BUILD, "tools", "kiln-capacity")
    p = harness.run([binary, "-c", s.conf, "--throwaway"] + list(args),
                    timeout=90)
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout), p.stderr


def one(s, query):
    return int(s.sql(query)[0][0])


def test_sixteen_daemons_render_every_job_exactly_once(s):
    log = s.path("runs.tsv")
    r, err = capacity(s, "--daemons", str(DAEMONS), "--jobs", str(JOBS),
                      "--render-ms", "20", "--jitter-ms", "10",
                      "--steps", "4", "--users", "8", "--warmup", "0",
                      "--seconds", "40", "--heartbeat", "1", "--log", log)
    with open(log) as f:
        runs = list(csv.DictReader(f, delimiter="\t"))

    # The independent record: each job claimed once, by one daemon, and
    # it succeeded; no daemon held two jobs at once.
    per_job = Counter(int(x["job"]) for x in runs)
    assert len(per_job) == JOBS, (len(per_job), err[-2000:])
    assert set(per_job.values()) == {1}, per_job.most_common(3)
    assert {x["outcome"] for x in runs} == {"succeeded"}, err[-2000:]
    assert {int(x["attempt"]) for x in runs} == {1}
    by_daemon = defaultdict(list)
    for x in runs:
        by_daemon[x["daemon"]].append((float(x["start_s"]),
                                       float(x["end_s"])))
    for d, spans in by_daemon.items():
        spans.sort()
        for a, b in zip(spans, spans[1:]):
            assert b[0] >= a[1], (d, a, b)
    # More than a few daemons took part (the queue was shared).
    assert len(by_daemon) >= DAEMONS // 2, sorted(by_daemon)

    # The bench's verdicts agree.
    c = r["counts"]
    assert r["double_runs"] == 0 and r["jobs_claimed_twice"] == 0, r
    assert c["claims"] == JOBS and c["succeeded"] == JOBS, c
    assert r["run_records"] == JOBS, r
    # Claims never fail, deadlock or miss queued jobs: the claim's
    # locking read once locked every queued job and turn row it sorted,
    # so concurrent claims deadlocked (kilnd then waits 2 s) or found
    # "nothing queued".
    assert c["claim_errors"] == 0 and c["claim_deadlocks"] == 0, \
        (c, err[-2000:])
    assert c["succeed_errors"] == 0 and c["lease_lost"] == 0, c
    assert c["empty_claims_while_queued"] == 0, c
    assert c["progress_writes"] == 4 * JOBS and c["progress_errors"] == 0, c
    assert c["heartbeats"] >= DAEMONS and c["heartbeat_errors"] == 0, c

    # The database's own account of the same jobs.
    ids = ", ".join(str(j) for j in per_job)
    assert one(s, "SELECT COUNT(*) FROM jobs WHERE id IN (%s) AND status"
                  " = 'succeeded' AND attempt = 1" % ids) == JOBS
    assert one(s, "SELECT COALESCE(SUM(attempt), 0) FROM jobs WHERE id IN"
                  " (%s)" % ids) == c["claims"]
    assert one(s, "SELECT COUNT(*) FROM job_images WHERE job_id IN (%s)" %
               ids) == JOBS
    # Each job's daemon is the one the bench's record names.
    rows = s.sql("SELECT id, daemon FROM jobs WHERE id IN (%s)" % ids)
    named = {int(x["job"]): x["daemon"] for x in runs}
    assert {int(i): d for i, d in rows} == named
    assert r["db"] == {"succeeded": JOBS, "running": 0, "queued": 0,
                       "failed": 0, "attempts": JOBS, "retried": 0,
                       "images": JOBS}, r["db"]
    # Every simulated daemon registered its row and stopped it.
    assert one(s, "SELECT COUNT(*) FROM daemons WHERE name LIKE 'sim-%'"
                  " AND state = 'stopped'") == DAEMONS
    # The results went through job_succeed: the statistics counted them.
    assert one(s, "SELECT n FROM render_stats WHERE model = 'kiln-micro'"
                  " AND width = 512 AND height = 512 AND steps = 4") == JOBS


def test_the_bench_refuses_without_throwaway(s):
    binary = os.path.join(harness.BUILD, "tools", "kiln-capacity")
    p = harness.run([binary, "-c", s.conf, "--daemons", "2"])
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "--throwaway" in p.stderr
    assert one(s, "SELECT COUNT(*) FROM daemons WHERE name LIKE 'sim-%'"
                  " AND state <> 'stopped'") == 0
