"""What lighttpd answers itself carries the programs' security headers, its
own errors under /api/ are JSON in kiln's error shape, and a 503 says when
to come back (Retry-After)."""

import json
import os
import signal

from common import check_security_headers
from harness import wait_until

STACK = dict(server="lighttpd", daemon=False)


def test_a_static_file_carries_the_security_headers(s):
    r = s.get("/static/kiln.css")
    assert r.status == 200
    check_security_headers(r, "/static/kiln.css")
    assert r.headers["x-frame-options"] == "DENY"


def test_a_missing_static_file_carries_the_security_headers(s):
    r = s.get("/static/no-such-file.css")
    assert r.status == 404
    check_security_headers(r, "/static/no-such-file.css")
    assert r.headers["x-frame-options"] == "DENY"
    # A page for the browser, not lighttpd's built-in XHTML one.
    assert r.headers["content-type"].startswith("text/html")
    assert "<h1>404 Not Found</h1>" in r.text, r.text
    assert "xhtml" not in r.text


def test_the_static_directory_answers_403_with_the_headers(s):
    r = s.get("/static/")
    assert r.status == 403
    check_security_headers(r, "/static/")
    assert r.headers["x-frame-options"] == "DENY"


def test_the_servers_csp_is_the_programs(s):
    # Two copies (lighttpd.conf.in and lib/request.c): they must agree.
    prog = s.get("/api/v1/health").headers["content-security-policy"]
    assert s.get("/static/kiln.css").headers[
        "content-security-policy"] == prog
    assert s.get("/static/nope.css").headers[
        "content-security-policy"] == prog


def test_an_error_lighttpd_answers_under_api_is_json(s):
    # A NUL in the query string: lighttpd refuses it while parsing, before
    # api.fcgi sees the request.
    r = s.get("/api/v1/jobs?cursor=%00")
    assert r.status == 400, r.text
    assert r.headers["content-type"] == "application/json", r.headers
    err = r.json()["error"]
    assert err["code"] == "bad_request" and err["message"], err


def test_an_error_lighttpd_answers_under_sdapi_is_json(s):
    r = s.get("/sdapi/v1/progress?x=%00")
    assert r.status == 400, r.text
    assert r.headers["content-type"] == "application/json", r.headers
    assert r.json()["error"]["code"] == "bad_request"


def test_a_bodyless_post_with_content_length_0_reaches_the_api(s):
    # What AUTOMATIC1111 clients send for /sdapi/v1/interrupt: the program
    # answers (no key: 401), not lighttpd.
    st, h, body = s.raw(b"POST /api/v1/jobs/1/cancel HTTP/1.1\r\n"
                        b"Host: 127.0.0.1\r\nContent-Length: 0\r\n"
                        b"Connection: close\r\n\r\n")
    assert st == 401, body
    assert h["content-type"] == "application/json"
    assert h.get("www-authenticate", "").startswith("Bearer"), h


def test_a_post_without_content_length_gets_json_that_says_why(s):
    # lighttpd answers 411 to a POST with neither Content-Length nor a
    # chunked body, whatever its config (see INSTALL): the answer is JSON
    # in kiln's shape and names the fix.
    st, h, body = s.raw(b"POST /sdapi/v1/interrupt HTTP/1.1\r\n"
                        b"Host: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert st == 411, body
    assert h["content-type"] == "application/json", h
    err = json.loads(body)["error"]
    assert err["code"] == "length_required"
    assert "Content-Length: 0" in err["message"], err


def test_lighttpd_knows_every_key_of_its_config(s):
    log = s.log("lighttpd-error.log") + s.log("lighttpd-check.log")
    assert "unknown config-key" not in log, log
    assert "WARNING" not in log, log


def test_a_503_says_when_to_retry(s):
    # Last: the database does not come back in this module.
    assert s.get("/api/v1/health").status == 200
    os.kill(s.pid("mysqld"), signal.SIGKILL)
    wait_until(lambda: not os.path.exists("/proc/%d" % s.pid("mysqld")),
               what="mariadbd to die")
    # A key to look up makes /api/v1/me ask the database.
    key = {"Authorization": "Bearer kiln_" + "A" * 43}
    for path, headers in (("/api/v1/health", {}), ("/api/v1/me", key),
                          ("/", {})):
        r = s.get(path, headers=headers, timeout=20)
        assert r.status == 503, (path, r.status, r.text[:300])
        assert r.headers.get("retry-after", "").isdigit(), (path,
                                                             r.headers)
        assert int(r.headers["retry-after"]) > 0
