"""Rate limits over real HTTP: token buckets on job submission (per user
and per address) and on login attempts (per address), with RateLimit-*
headers and 429 + Retry-After when a bucket is empty; and /readyz saying
"not ready" while no render daemon is beating."""

import http.client
import json
import re
import time
import urllib.parse

import common
from common import check_security_headers

# Small buckets: 3 submissions, refilled at one per 2 s; 3 logins, one
# per second.
STACK = dict(server="lighttpd", daemon=False,
             extra_conf="[limits]\nsubmit_burst = 3\nsubmit_per_minute = 30\n"
                        "login_burst = 3\nlogin_per_minute = 60\n")


def make_key(s, name):
    """A new user with a read and generate key."""
    return common.make_key(s, common.make_user(s, name), "read,generate")


def submit(s, key):
    return s.request("POST", "/api/v1/jobs",
                     body=json.dumps({"prompt": "one red circle"}),
                     headers={"Authorization": "Bearer " + key,
                              "Content-Type": "application/json"})


def jobs(s):
    return int(s.sql("SELECT COUNT(*) FROM jobs")[0][0])


def test_submissions_run_out_and_come_back(s):
    key = make_key(s, "rl")
    left = []
    for _ in range(3):
        r = submit(s, key)
        assert r.status == 202, r.text
        assert r.headers["ratelimit-limit"] == "3"
        left.append(int(r.headers["ratelimit-remaining"]))
        check_security_headers(r, "202")
    assert left == [2, 1, 0], left
    before = jobs(s)
    r = submit(s, key)
    assert r.status == 429, r.text
    assert r.json()["error"]["code"] == "rate_limited"
    wait = int(r.headers["retry-after"])
    assert 1 <= wait <= 2, wait
    assert r.headers["ratelimit-remaining"] == "0"
    check_security_headers(r, "429")
    assert jobs(s) == before            # refused: nothing queued
    time.sleep(wait + 0.2)
    r = submit(s, key)
    assert r.status == 202, r.text


def test_the_address_bucket_covers_every_user(s):
    # Another user from the same address: the address's bucket is empty
    # too (it took the same submissions).
    time.sleep(6.5)                     # both buckets full again
    a, b = make_key(s, "rl-a"), make_key(s, "rl-b")
    assert [submit(s, a).status for _ in range(2)] == [202, 202]
    assert submit(s, b).status == 202
    r = submit(s, b)
    assert r.status == 429 and int(r.headers["retry-after"]) >= 1, r.text


def test_concurrent_submissions_never_fail(s):
    """Eight clients of one user at once on the same buckets: every
    answer is 202 or 429 (the buckets once deadlocked under this), and the
    accepted ones are exactly the new jobs, no more than the buckets
    held."""
    import threading
    key = make_key(s, "conc")
    time.sleep(6.5)     # the address bucket full again (3, one per 2 s)
    before = jobs(s)
    statuses = []
    lock = threading.Lock()

    def client(key):
        # One kept-alive connection each: as many requests in flight at
        # once as the programs take.
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
        body = json.dumps({"prompt": "one red circle"})
        for _ in range(100):
            c.request("POST", "/api/v1/jobs", body=body, headers={
                "Authorization": "Bearer " + key,
                "Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            with lock:
                statuses.append(r.status)
        c.close()
    t0 = time.time()
    threads = [threading.Thread(target=client, args=(key,))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - t0
    assert len(statuses) == 800
    odd = [st for st in statuses if st not in (202, 429)]
    assert odd == [], "answers other than 202/429: %r" % odd
    accepted = statuses.count(202)
    assert jobs(s) - before == accepted, (jobs(s) - before, accepted)
    # The buckets: the 3 they held, and one more per 2 s.
    assert 3 <= accepted <= 3 + elapsed / 2 + 1, (accepted, elapsed)


def test_login_attempts_are_limited_per_address(s):
    page = s.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    cookie = re.search(r"kiln_csrf=([^;]+)", page.headers["set-cookie"])\
        .group(1)
    body = urllib.parse.urlencode({"username": "nobody", "csrf": csrf,
                                   "password": "wrong-password-1"})
    hdrs = {"Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "kiln_csrf=" + cookie}
    got = [s.request("POST", "/login", body=body, headers=hdrs).status
           for _ in range(3)]
    assert got == [401, 401, 401], got
    r = s.request("POST", "/login", body=body, headers=hdrs)
    assert r.status == 429, r.status
    assert "Too many login attempts" in r.text
    assert int(r.headers["retry-after"]) == 1
    # Refused before any password work: no failure was counted for it.
    rows = s.sql("SELECT failures FROM login_throttle WHERE kind = 'ip'")
    assert rows == [["3"]], rows
    time.sleep(1.2)
    assert s.request("POST", "/login", body=body,
                     headers=hdrs).status == 401


def test_not_ready_without_a_daemon(s):
    r = s.get("/healthz")
    assert r.status == 200
    r = s.get("/readyz")
    assert r.status == 503, r.text
    assert r.json() == {"status": "not_ready", "database": True,
                        "daemons_online": 0}
    check_security_headers(r, "/readyz")
