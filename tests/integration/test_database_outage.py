"""A frozen (not dead) database: the connector's timeouts turn it into a
503 within a bounded time, and the service recovers when it thaws."""

import os
import signal
import time

STACK = dict(server="lighttpd", daemon=False)


def test_a_frozen_database_gives_503_within_the_timeouts(s):
    assert s.get("/api/v1/health").status == 200
    pid = s.pid("mysqld")
    os.kill(pid, signal.SIGSTOP)
    try:
        t0 = time.time()
        r = s.get("/api/v1/health", timeout=60)
        took = time.time() - t0
        assert r.status == 503, r.text
        assert r.json()["error"]["code"] == "database_unavailable"
        # connect_timeout (3 s) + rw_timeout (10 s) bound it.
        assert took < 20, "health took %.1f s" % took
    finally:
        os.kill(pid, signal.SIGCONT)
    deadline = time.time() + 15
    while s.get("/api/v1/health").status != 200:
        assert time.time() < deadline, "no recovery after SIGCONT"
        time.sleep(0.2)
