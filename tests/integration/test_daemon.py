"""kilnd against a real MariaDB with the real engine (kiln-micro on PoCL):
jobs render exactly once through crashes (kill -9), two daemons sharing a
queue, cancellation within a step, SIGTERM requeueing, signed webhooks
with retries, a missing model failing cleanly, and a bad device stopping
the daemon with what was found."""

import base64
import contextlib
import hashlib
import http.server
import json
import os
import re
import signal
import subprocess
import threading
import time

import harness
from common import webhook_verify as verify

# The webhook receiver below listens on loopback, which kilnd refuses
# unless the operator allows it.
STACK = dict(server="lighttpd", daemon=False,
             extra_conf="[webhooks]\nallow = 127.0.0.1\n")
KILND = os.path.join(harness.BUILD, "render-daemon", "kilnd")
DAEMONS = []


def conf(s, **extra):
    """The stack's config with test settings: short leases, fast polls,
    a 1 s webhook backoff; extra is {"section.key": value}."""
    with open(s.conf) as f:
        text = f.read()
    settings = {"daemon.lease_seconds": 3, "daemon.poll_ms": 50,
                "daemon.preview_every": 2, "webhooks.retry_base": 1,
                "webhooks.timeout": 5}
    settings.update(extra)
    # The stack's own lines for these keys go; ours are appended.
    out, sec = [], ""
    for line in text.splitlines():
        m = re.match(r"\[(\w+)\]", line)
        if m:
            sec = m.group(1)
        key = line.split("=")[0].strip()
        if "%s.%s" % (sec, key) not in settings:
            out.append(line)
    text = "\n".join(out) + "\n"
    for k, v in settings.items():
        sec, key = k.split(".")
        text += "\n[%s]\n%s = %s\n" % (sec, key, v)
    path = s.path("kilnd-test.conf")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    return path


def start(s, name, path=None):
    log = open(s.path("log", "kilnd-%s.log" % name), "ab")
    p = subprocess.Popen([KILND, "-c", path or conf(s), "--name", name],
                         stdout=log, stderr=subprocess.STDOUT)
    log.close()
    DAEMONS.append(p)
    return p


def stop(p, sig=signal.SIGTERM, timeout=60):
    if p.poll() is None:
        p.send_signal(sig)
    return p.wait(timeout=timeout)


def stop_all():
    """Stops every daemon a test started: SIGTERM, then SIGKILL for one
    that does not exit within a minute."""
    while DAEMONS:
        p = DAEMONS.pop()
        try:
            stop(p)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


@contextlib.contextmanager
def daemon(s, name, path=None):
    """A kilnd for the length of a with block, and any other daemon the
    block starts, all stopped at its end."""
    p = start(s, name, path)
    try:
        yield p
    finally:
        stop_all()


def admin(s, *args):
    return harness.run([os.path.join(harness.BUILD, "tools", "kiln-admin"),
                        "-c", s.conf] + [str(a) for a in args])


def log_of(s, name):
    return s.log("kilnd-%s.log" % name)


def submit(s, prompt="a large red star in the top left corner",
           model="kiln-micro", steps=20, batch=1, seed=1, user=None,
           webhook=None):
    s.sql("INSERT INTO jobs (user_id, prompt, model, width, height, steps,"
          " cfg_scale, sampler, seed, batch_count, webhook_url) VALUES"
          " (%s, '%s', '%s', 64, 64, %d, 7, 'dpmpp_2m', %d, %d, %s)" %
          (user or "NULL", prompt, model, steps, seed, batch,
           "'%s'" % webhook if webhook else "NULL"))
    return int(s.sql("SELECT MAX(id) FROM jobs")[0][0])


def job(s, jid):
    cols = ["status", "attempt", "step", "steps_total", "error",
            "claimed_by", "daemon", "preview_path", "cancel_requested"]
    row = s.sql("SELECT %s FROM jobs WHERE id = %d" %
                (", ".join(cols), jid))[0]
    return dict(zip(cols, row))


def wait_status(s, jid, want, timeout=120):
    return harness.wait_until(lambda: job(s, jid)["status"] in want and
                              job(s, jid), timeout=timeout, step=0.1,
                              what="job %d to be %s" % (jid, want))


def wait_step(s, jid, at_least, timeout=120):
    return harness.wait_until(
        lambda: int(job(s, jid)["step"]) >= at_least, timeout=timeout,
        step=0.02, what="job %d at step %d" % (jid, at_least))


def files(s, jid):
    d = s.path("artifacts", "jobs", str(jid))
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def png_text(path):
    """The tEXt chunks of a PNG, read by hand (not through libgd)."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, out = 8, {}
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        if kind == b"tEXt":
            k, v = body.split(b"\0", 1)
            out[k.decode("latin-1")] = v.decode("latin-1")
        pos += 12 + n
    return out


def test_a_job_renders_with_its_parameters_and_a_preview(s):
    with daemon(s, "solo") as d:
        jid = submit(s, steps=20, batch=2, seed=42)
        j = wait_status(s, jid, ("succeeded", "failed"))
        assert j["status"] == "succeeded", j
        assert j["daemon"] == "solo" and j["claimed_by"] == "NULL", j
        assert j["step"] == j["steps_total"] == "40", j
        imgs = s.sql("SELECT idx, seed, path FROM job_images WHERE"
                     " job_id = %d ORDER BY idx" % jid)
        assert [(i, sd) for i, sd, _ in imgs] == [("0", "42"), ("1", "43")]
        # Each PNG has its float master beside it (issue 29).
        assert files(s, jid) == ["1-0.exr", "1-0.png", "1-1.exr", "1-1.png",
                                 "preview.png"], files(s, jid)
        assert j["preview_path"] == "jobs/%d/preview.png" % jid
        params = png_text(s.path("artifacts", imgs[1][2]))["parameters"]
        assert params.startswith("a large red star in the top left "
                                 "corner\n"), params
        for field in ("Steps: 20", "Sampler: DPM++ 2M", "CFG scale: 7",
                      "Seed: 43", "Size: 64x64", "Model: kiln-micro"):
            assert field in params, (field, params)
        n, = s.sql("SELECT n FROM render_stats WHERE model = 'kiln-micro'"
                   " AND width = 64 AND steps = 20")[0]
        assert n == "1"


def test_a_missing_model_fails_cleanly_and_the_next_job_runs(s):
    # The failed job's owner gets its credits back, once.
    s.sql("INSERT INTO users (username, password_hash, credits) VALUES"
          " ('payer', 'x', 93)")
    payer = int(s.sql("SELECT id FROM users WHERE username = 'payer'")[0][0])
    with daemon(s, "solo") as d:
        bad = submit(s, model="no-such-model", steps=4, user=payer)
        s.sql("UPDATE jobs SET cost = 7 WHERE id = %d" % bad)
        good = submit(s, steps=4)
        j = wait_status(s, bad, ("failed", "succeeded"))
        assert j["status"] == "failed"
        assert "no-such-model" in j["error"], j["error"]
        assert s.sql("SELECT u.credits, j.refunded FROM users u JOIN jobs j"
                     " ON j.user_id = u.id WHERE j.id = %d" % bad) == \
            [["100", "1"]]
        assert wait_status(s, good, ("succeeded", "failed"))["status"] == \
            "succeeded"
        assert d.poll() is None, "the daemon died"
        assert files(s, bad) == []


def test_a_render_far_slower_than_usual_is_flagged_an_anomaly(s):
    # Ten earlier runs of this model, size and steps at about 1 ms each:
    # a real render (tens of ms at least) is far over mean + 3 sd.
    s.sql("INSERT INTO render_stats (model, width, height, steps, n, mean,"
          " m2) VALUES ('kiln-micro', 64, 64, 5, 10, 0.001, 0.0000001)")
    with daemon(s, "solo") as d:
        jid = submit(s, steps=5)
        assert wait_status(s, jid, ("succeeded", "failed"))["status"] == \
            "succeeded"
        assert s.sql("SELECT anomaly, render_s > 0.01 FROM jobs WHERE"
                     " id = %d" % jid) == [["1", "1"]]
        n, anomalies, mean = s.sql(
            "SELECT n, anomalies, mean FROM render_stats WHERE model ="
            " 'kiln-micro' AND width = 64 AND steps = 5")[0]
        assert (n, anomalies) == ("11", "1") and float(mean) > 0.001
        jid = submit(s, steps=4)
        wait_status(s, jid, ("succeeded",))
        # The first run of another size has no history: never flagged.
        assert s.sql("SELECT anomaly FROM jobs WHERE id = %d" % jid) == \
            [["0"]]


def test_engine_profile_logs_each_jobs_kernel_times(s):
    # [engine] profile = true: each job's per-kernel table in the log
    # after it, counted from its claim (not the warm-up's or the last
    # job's calls).
    with daemon(s, "prof", conf(s, **{"engine.profile": "true"})):
        for steps in (3, 6):
            jid = submit(s, steps=steps)
            assert wait_status(s, jid, ("succeeded", "failed"))[
                "status"] == "succeeded"
    log = log_of(s, "prof")
    assert len(re.findall(r"^op +calls +seconds", log, re.M)) == 2, log
    # The UNet's GEMMs: more calls for more steps.
    calls = [int(n) for n in re.findall(r"^gemm +(\d+) ", log, re.M)]
    assert len(calls) == 2 and calls[1] > calls[0], log


def test_first_start_on_a_device_tunes_the_gemm_kernel_once(s):
    # [engine] autotune: with no tuning file for the device, kilnd runs
    # the engine kernel's tuner (kiln-render tune --only engine) before
    # taking jobs, applies what it wrote, and renders with it; the next
    # start finds the file and does not tune again.
    tdir = s.path("tuning")
    path = conf(s, **{"engine.autotune": 15, "engine.tuning_dir": tdir})
    for _ in range(2):
        with daemon(s, "tuner", path):
            jid = submit(s, steps=3)
            j = wait_status(s, jid, ("succeeded", "failed"), timeout=300)
            assert j["status"] == "succeeded", j
    log = log_of(s, "tuner")
    assert log.count("GEMM tuning: no tuning file") == 1, log
    assert log.count("GEMM tuning: done; the engine's kernel runs") == 1, \
        log
    names = os.listdir(tdir)
    assert len(names) == 1 and names[0].endswith(".json"), names
    with open(os.path.join(tdir, names[0])) as f:
        saved = json.load(f)
    summary = saved["tuner"]["engine_gemm"]
    assert summary["default_gflops"] > 0, saved
    assert ("engine_gemm" in saved) == summary["kept"], saved
    m = re.search(r"GEMM tuning: done; the engine's kernel runs (\S+)", log)
    assert m.group(1) == summary["params"], (m.group(1), summary)


def test_kill_9_mid_job_is_finished_by_a_restarted_daemon_once(s):
    with daemon(s, "crashy") as d:
        jid = submit(s, steps=150, seed=7)
        wait_step(s, jid, 3)
        d.kill()                 # SIGKILL: no chance to clean up
        d.wait()
        assert job(s, jid)["status"] == "running"
        d = start(s, "crashy")   # the same daemon, restarted
        j = wait_status(s, jid, ("succeeded", "failed"), timeout=240)
        assert j["status"] == "succeeded", j
        assert j["attempt"] == "2", j
        assert s.sql("SELECT COUNT(*) FROM job_images WHERE job_id = %d"
                     % jid) == [["1"]]
        assert files(s, jid) == ["2-0.exr", "2-0.png", "preview.png"], \
            files(s, jid)
        assert "lease of \"crashy\" expired" in log_of(s, "crashy")


def test_a_job_failed_by_the_reaper_leaves_no_stored_image(s):
    """The daemon dies on the job's last attempt after storing images:
    the reaper fails the job and the images it stored go with it (the
    preview and the job's inputs stay), as a failed render's would."""
    with daemon(s, "lastgo") as d:
        jid = submit(s, steps=150, seed=9)
        wait_step(s, jid, 3)
        d.kill()
        d.wait()
        # Its last attempt, and what it had stored before it died.
        s.sql("UPDATE jobs SET max_attempts = attempt WHERE id = %d" % jid)
        for name in ("1-0.png", "1-0.exr", "inputs/init.png"):
            path = s.path("artifacts", "jobs", str(jid), name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(b"stored before the daemon died")
        kept = ["inputs"] + [f for f in files(s, jid) if f == "preview.png"]
        d = start(s, "lastgo")
        j = wait_status(s, jid, ("succeeded", "failed"), timeout=240)
        assert j["status"] == "failed" and "stopped responding" in \
            j["error"], j
        harness.wait_until(lambda: files(s, jid) == kept, timeout=30,
                           step=0.1, what="the dead attempt's images removed")
        assert os.path.exists(s.path("artifacts", "jobs", str(jid),
                                     "inputs", "init.png"))
        assert s.sql("SELECT COUNT(*) FROM job_images WHERE job_id = %d"
                     % jid) == [["0"]]


def test_two_daemons_run_40_jobs_exactly_once(s):
    first = int(s.sql("SELECT COALESCE(MAX(id), 0) FROM jobs")[0][0]) + 1
    ids = [submit(s, steps=3, seed=100 + i,
                  prompt="%s small blue circles" % ("two", "three")[i % 2])
           for i in range(40)]
    assert ids[0] == first
    with daemon(s, "pair-a"), daemon(s, "pair-b"):
        harness.wait_until(
            lambda: s.sql("SELECT COUNT(*) FROM jobs WHERE id >= %d AND"
                          " status IN ('queued', 'running')" %
                          first) == [["0"]],
            timeout=300, step=0.5, what="the queue to drain")
        rows = s.sql("SELECT id, status, attempt, daemon FROM jobs WHERE"
                     " id >= %d ORDER BY id" % first)
        assert len(rows) == 40
        assert all(r[1] == "succeeded" and r[2] == "1" for r in rows), rows
        by = {r[3] for r in rows}
        assert by == {"pair-a", "pair-b"}, "one daemon did all: %s" % by
        assert s.sql("SELECT COUNT(*), COUNT(DISTINCT job_id) FROM"
                     " job_images WHERE job_id >= %d" % first) == \
            [["40", "40"]]
        for jid in ids:
            assert files(s, jid) == ["1-0.exr", "1-0.png", "preview.png"], \
                (jid, files(s, jid))
        claims = re.findall(r"job (\d+): claimed",
                            log_of(s, "pair-a") + log_of(s, "pair-b"))
        mine = [c for c in claims if int(c) >= first]
        assert sorted(mine, key=int) == [str(i) for i in ids], \
            "claims: %s" % mine


def test_cancel_of_a_running_job_stops_it_within_one_step(s):
    with daemon(s, "canceller") as d:
        jid = submit(s, steps=150, seed=9)
        queued = submit(s, steps=4, seed=12)
        nxt = submit(s, steps=4, seed=10)
        wait_step(s, jid, 3)
        # A queued job is canceled at once and never runs.
        assert admin(s, "cancel-job", queued).returncode == 0
        q = job(s, queued)
        assert q["status"] == "canceled" and q["daemon"] == "NULL", q
        # The running one: the daemon may finish the step in flight when
        # the request lands, then must stop.
        assert admin(s, "cancel-job", jid).returncode == 0
        at = int(job(s, jid)["step"])
        j = wait_status(s, jid, ("canceled", "succeeded", "failed"),
                        timeout=30)
        assert j["status"] == "canceled", j
        assert int(j["step"]) <= at + 1, (at, j["step"])
        assert int(j["step"]) < 150
        assert s.sql("SELECT COUNT(*) FROM job_images WHERE job_id = %d" %
                     jid) == [["0"]]
        # The daemon is free at once for the next job.
        assert wait_status(s, nxt, ("succeeded", "failed"),
                           timeout=30)["status"] == "succeeded"
        # Ended jobs cannot be canceled; nor can jobs that do not exist.
        r = admin(s, "cancel-job", nxt)
        assert r.returncode == 1 and "not queued or running" in r.stderr
        assert admin(s, "cancel-job", 999999).returncode == 1
        assert admin(s, "cancel-job", "x").returncode == 2


def test_sigterm_finishes_the_step_requeues_and_exits_0(s):
    with daemon(s, "stopper") as d:
        jid = submit(s, steps=150, seed=11)
        wait_step(s, jid, 3)
        assert stop(d, signal.SIGTERM, timeout=30) == 0
        j = job(s, jid)
        assert j["status"] == "queued", j
        assert j["attempt"] == "0" and j["claimed_by"] == "NULL", j
        assert "back in the queue" in log_of(s, "stopper")
        assert s.sql("SELECT state FROM daemons WHERE name = 'stopper'") \
            == [["stopped"]]
        d = start(s, "stopper")
        j = wait_status(s, jid, ("succeeded", "failed"), timeout=240)
        assert j["status"] == "succeeded" and j["attempt"] == "1", j


class Receiver(http.server.BaseHTTPRequestHandler):
    """Answers 500 to the first two deliveries of each message, then
    200, recording everything."""
    seen = []
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.lock:
            mid = self.headers["webhook-id"]
            n = sum(1 for r in self.seen if r["id"] == mid)
            self.seen.append({"id": mid, "path": self.path,
                              "ts": self.headers["webhook-timestamp"],
                              "sig": self.headers["webhook-signature"],
                              "body": body, "t": time.time()})
        self.send_response(200 if n >= 2 else 500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def test_webhooks_are_signed_and_retried_until_a_200(s):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    port = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    Receiver.seen = []
    # One job names its URL; the other takes its owner's default.
    s.sql("INSERT INTO users (username, password_hash, webhook_url) VALUES"
          " ('hooked', 'x', 'http://127.0.0.1:%d/default')" % port)
    uid = int(s.sql("SELECT id FROM users WHERE username = 'hooked'")[0][0])
    try:
        with daemon(s, "hooks") as d:
            j1 = submit(s, steps=4, user=uid,
                        webhook="http://127.0.0.1:%d/job" % port)
            j2 = submit(s, steps=4, user=uid)
            wait_status(s, j2, ("succeeded",))
            harness.wait_until(
                lambda: s.sql("SELECT COUNT(*) FROM webhook_deliveries WHERE"
                              " job_id IN (%d, %d) AND status = 'delivered'" %
                              (j1, j2)) == [["4"]],
                timeout=60, step=0.2, what="4 deliveries")
            secret = s.sql("SELECT webhook_secret FROM users WHERE id = %d" %
                           uid)[0][0]
            assert secret.startswith("whsec_")
            rows = s.sql("SELECT msg_id, job_id, event, attempts, last_status"
                         " FROM webhook_deliveries WHERE job_id IN (%d, %d)"
                         " ORDER BY id" % (j1, j2))
            assert [(r[1], r[2]) for r in rows] == [
                (str(j1), "job.started"), (str(j1), "job.succeeded"),
                (str(j2), "job.started"), (str(j2), "job.succeeded")], rows
            for mid, jid, event, attempts, status in rows:
                assert attempts == "3" and status == "200", rows
                got = [r for r in Receiver.seen if r["id"] == mid]
                assert len(got) == 3, (mid, len(got))
                assert all(verify(secret, r) for r in got), "bad signature"
                assert not verify("whsec_" + base64.b64encode(b"x" * 24)
                                  .decode(), got[0])
                # Exponential backoff: 1 s, then 2 s (base 1 s).
                gaps = [got[1]["t"] - got[0]["t"], got[2]["t"] - got[1]["t"]]
                assert 0.8 <= gaps[0] < 6 and gaps[1] >= 1.8, gaps
                assert got[0]["path"] == ("/job" if jid == str(j1) else
                                          "/default")
                ev = json.loads(got[0]["body"])
                assert ev["type"] == event and ev["data"]["id"] == int(jid)
            done = json.loads([r for r in Receiver.seen if r["id"] ==
                               rows[1][0]][0]["body"])
            assert done["data"]["status"] == "succeeded"
            assert done["data"]["images"][0]["url"] == \
                "%s/api/v1/images/%d-0.png" % (s.base, j1)
    finally:
        srv.shutdown()


class OkReceiver(http.server.BaseHTTPRequestHandler):
    """Takes every delivery at once."""
    bodies = []

    def do_POST(self):
        self.bodies.append(self.rfile.read(int(self.headers[
            "Content-Length"])))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


SUCCEEDED = {}


def succeeded_event(s):
    """The job.succeeded body of a two-image job (made once): (job id,
    raw body)."""
    if SUCCEEDED:
        return SUCCEEDED["job"], SUCCEEDED["body"]
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), OkReceiver)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    OkReceiver.bodies = []
    s.sql("INSERT INTO users (username, password_hash) VALUES"
          " ('urls', 'x')")
    uid = int(s.sql("SELECT id FROM users WHERE username = 'urls'")[0][0])
    try:
        with daemon(s, "urls"):
            jid = submit(s, steps=2, batch=2, user=uid,
                         webhook="http://127.0.0.1:%d/hook" %
                         srv.server_address[1])
            wait_status(s, jid, ("succeeded",))
            harness.wait_until(
                lambda: s.sql("SELECT COUNT(*) FROM webhook_deliveries WHERE"
                              " job_id = %d AND event = 'job.succeeded' AND"
                              " status = 'delivered'" % jid) == [["1"]],
                timeout=60, step=0.2, what="the job.succeeded delivery")
    finally:
        srv.shutdown()
    body = [b for b in OkReceiver.bodies
            if json.loads(b)["type"] == "job.succeeded"][0]
    SUCCEEDED.update(job=jid, body=body, user=uid)
    return jid, body


def test_webhook_image_urls_are_absolute_on_base_url(s):
    jid, body = succeeded_event(s)
    images = json.loads(body)["data"]["images"]
    assert [im["index"] for im in images] == [0, 1], images
    for im in images:
        assert im["url"] == "%s/api/v1/images/%d-%d.png" % (
            s.base, jid, im["index"]), im


def test_webhook_payload_names_no_internal_path(s):
    jid, body = succeeded_event(s)
    for im in json.loads(body)["data"]["images"]:
        assert "path" not in im, im
    # Where the files lie under the artifacts directory is nobody's
    # business outside the host.
    assert b"jobs/%d/" % jid not in body and b"jobs\\/%d" % jid not in \
        body, body
    assert s.path("artifacts").encode() not in body, body


def test_a_webhook_image_url_serves_the_image_to_its_owner(s):
    jid, body = succeeded_event(s)
    key = "kiln_" + base64.urlsafe_b64encode(os.urandom(32)).decode()[:43]
    s.sql("INSERT INTO api_keys (user_id, name, prefix, key_hash, scopes)"
          " VALUES (%d, 'urls', '%s', '%s', 'read')" %
          (SUCCEEDED["user"], key[:13], hashlib.sha256(
              key.encode()).hexdigest()))
    for im in json.loads(body)["data"]["images"]:
        r = s.get(im["url"], headers={"Authorization": "Bearer " + key})
        assert r.status == 200, (im["url"], r.status, r.text[:300])
        assert r.headers["content-type"] == "image/png"
        path = s.sql("SELECT path FROM job_images WHERE job_id = %d AND"
                     " idx = %d" % (jid, im["index"]))[0][0]
        with open(s.path("artifacts", path), "rb") as f:
            assert r.body == f.read()


def test_models_stay_loaded_within_the_budget_least_recent_out_first(s):
    models = s.path("models-lru")
    os.makedirs(models, exist_ok=True)
    for name in ("micro-a", "micro-b"):
        if not os.path.exists(os.path.join(models, name)):
            os.symlink(os.path.join(harness.ROOT, "models", "kiln-micro"),
                       os.path.join(models, name))

    def run(name, budget):
        with daemon(s, name, conf(s, **{"paths.models": models,
                                         "daemon.model_memory_mb": budget})):
            for m in ("micro-a", "micro-b", "micro-a"):
                jid = submit(s, model=m, steps=2)
                assert wait_status(s, jid, ("succeeded", "failed"))[
                    "status"] == "succeeded"
        return re.findall(r"model (micro-[ab]) (loaded|unloaded)",
                          log_of(s, name))

    # A budget of 0 keeps one model: each switch unloads the other
    # before the next loads.
    assert run("lru-0", 0) == [
        ("micro-a", "loaded"), ("micro-a", "unloaded"),
        ("micro-b", "loaded"), ("micro-b", "unloaded"),
        ("micro-a", "loaded"), ("micro-a", "unloaded")]
    # 20 MB holds one 16 MB model, not two.
    assert run("lru-20", 20) == [
        ("micro-a", "loaded"), ("micro-a", "unloaded"),
        ("micro-b", "loaded"), ("micro-b", "unloaded"),
        ("micro-a", "loaded"), ("micro-a", "unloaded")]
    # 100 MB holds both 16 MB models: each loads once and stays until
    # the daemon stops.
    assert run("lru-100", 100) == [
        ("micro-a", "loaded"), ("micro-b", "loaded"),
        ("micro-b", "unloaded"), ("micro-a", "unloaded")]


def test_sighup_reloads_and_a_bad_device_stops_with_what_was_found(s):
    with daemon(s, "reloader") as d:
        harness.wait_until(lambda: "registered as" in
                           log_of(s, "reloader"), timeout=30,
                           what="registration")
        d.send_signal(signal.SIGHUP)
        harness.wait_until(lambda: "configuration reloaded" in
                           log_of(s, "reloader"), timeout=30,
                           what="the reload")
        jid = submit(s, steps=4)
        assert wait_status(s, jid, ("succeeded", "failed"))["status"] == \
            "succeeded"
    r = harness.run([KILND, "-c", conf(s, **{"daemon.device":
                                             "no-such-device"}),
                     "--name", "nodev"], timeout=60)
    assert r.returncode == 1
    assert "no-such-device" in r.stderr and "pocl" in r.stderr, r.stderr
