"""The queue under real daemons (kiln-micro on PoCL): users of one
priority take turns (one user's long queue does not starve another's
job), a render past [daemon] job_time_limit fails with the reason (and
/sdapi/v1/txt2img answers it with 502, never 500), render statistics are
kept per batch size and leave out cold runs, and a job's end and a lease
renewal never cross (no "lease lost" for a job that succeeded)."""

import subprocess
import time

import harness
from test_daemon import conf, daemon, log_of, submit, wait_status
from common import api, error_of, make_key, make_user

STACK = dict(server="lighttpd", daemon=False,
             extra_conf="[limits]\nsubmit_burst = 100000\n")


def started_order(s, ids):
    rows = s.sql("SELECT id FROM jobs WHERE id IN (%s) ORDER BY started_at,"
                 " id" % ", ".join(str(i) for i in ids))
    return [int(r[0]) for r in rows]


def test_users_of_one_priority_take_turns(s):
    ann = make_user(s, "ann")
    ben = make_user(s, "ben")
    # Ann queues four jobs, then Ben one; nothing runs yet.
    a = [submit(s, steps=2, seed=i, user=ann) for i in range(4)]
    b = submit(s, steps=2, seed=9, user=ben)
    with daemon(s, "fair"):
        for jid in a + [b]:
            wait_status(s, jid, ("succeeded",), timeout=120)
    order = started_order(s, a + [b])
    # Ann's first (both users were unserved; hers is older), then Ben's,
    # then the rest of Ann's: FIFO would have run Ben's last.
    assert order == [a[0], b, a[1], a[2], a[3]], (order, a, b)


def test_a_render_past_the_time_limit_fails_with_the_reason(s):
    path = conf(s, **{"daemon.job_time_limit": 1})
    with daemon(s, "limited", path):
        jid = submit(s, steps=150, batch=2)
        j = wait_status(s, jid, ("succeeded", "failed"), timeout=120)
    assert j["status"] == "failed", j
    assert "limit of 1 s" in j["error"], j["error"]
    assert "job_time_limit" in j["error"], j["error"]
    assert "job %d: failed" % jid in log_of(s, "limited")


def test_sdapi_answers_a_failed_job_with_502(s):
    uid = make_user(s, "sid")
    key = make_key(s, uid, "read,generate")
    path = conf(s, **{"daemon.job_time_limit": 1})
    with daemon(s, "sdapi-limited", path):
        r = api(s, "POST", "/sdapi/v1/txt2img", key,
                {"prompt": "a red star", "steps": 100, "batch_size": 4,
                 "width": 64, "height": 64})
    e = error_of(r, 502, "job_failed", "txt2img of a failing job")
    jid = int(s.sql("SELECT MAX(id) FROM jobs WHERE user_id = %d" %
                    uid)[0][0])
    assert "/api/v1/jobs/%d" % jid in e["message"], e
    assert s.sql("SELECT status FROM jobs WHERE id = %d" % jid) == \
        [["failed"]]


def stats(s, batch):
    rows = s.sql("SELECT n FROM render_stats WHERE model = 'kiln-micro'"
                 " AND width = 64 AND height = 64 AND steps = 3 AND"
                 " batch = %d" % batch)
    return int(rows[0][0]) if rows else 0


def test_statistics_are_per_batch_and_leave_out_cold_runs(s):
    # No warm-up: the first job compiles the kernels and loads the model.
    path = conf(s, **{"daemon.warm_up": 0})
    with daemon(s, "stats", path):
        cold = submit(s, steps=3, batch=1, seed=1)
        assert wait_status(s, cold, ("succeeded", "failed"))["status"] == \
            "succeeded"
        assert stats(s, 1) == 0, "the cold run was counted"
        warm = submit(s, steps=3, batch=1, seed=2)
        wait_status(s, warm, ("succeeded",))
        assert stats(s, 1) == 1
        pair = submit(s, steps=3, batch=2, seed=3)
        wait_status(s, pair, ("succeeded",))
    assert (stats(s, 1), stats(s, 2)) == (1, 1)
    log = log_of(s, "stats")
    assert "job %d: succeeded" % cold in log
    assert "(cold: not in the statistics)" in log


def test_a_slow_end_of_job_does_not_lose_its_lease(s):
    """The result's transaction is held up (another session holds a gap
    lock where its images go) past a lease renewal: the renewal must
    neither run after the end nor call the lease lost."""
    path = conf(s)      # lease 3 s: a renewal every second
    with daemon(s, "slow-end", path):
        jid = submit(s, steps=40, seed=4)
        wait_status(s, jid, ("running",), timeout=60)
        hold = subprocess.Popen(
            ["mariadb", "--no-defaults", "-S", s.path("run", "mysqld.sock"),
             "-u", harness._whoami(), "kiln", "-e",
             "SET SESSION innodb_lock_wait_timeout = 50; BEGIN;"
             " SELECT * FROM job_images WHERE job_id = %d FOR UPDATE;"
             " SELECT SLEEP(6); COMMIT;" % jid],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            j = wait_status(s, jid, ("succeeded", "failed", "queued"),
                            timeout=120)
        finally:
            hold.wait(timeout=60)
        time.sleep(1.5)     # a renewal that would come late, comes
    log = log_of(s, "slow-end")
    assert j["status"] == "succeeded", (j, log[-2000:])
    assert "job %d: succeeded" % jid in log, log[-2000:]
    assert "job %d: lease lost" % jid not in log, log[-2000:]
    assert s.sql("SELECT attempt FROM jobs WHERE id = %d" % jid) == [["1"]]
