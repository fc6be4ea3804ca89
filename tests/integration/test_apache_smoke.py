"""The smoke subset behind Apache 2.4: mod_fcgid for the FastCGI programs,
mod_cgid running the same programs as plain CGI (the shared-hosting way)."""

from common import check_security_headers, kiln_version, migration_files
from harness import wait_until

STACK = dict(server="apache", heartbeat=1, daemon_name="apache-1")


def test_health_through_mod_fcgid(s):
    r = s.get("/api/v1/health")
    assert r.status == 200, r.text
    j = r.json()
    assert j["version"] == kiln_version()
    assert j["database"]["up"] is True
    assert j["database"]["schema_version"] == migration_files()[-1][0]
    check_security_headers(r, "/api/v1/health")


def test_home_page_through_mod_fcgid(s):
    wait_until(lambda: s.sql("SELECT COUNT(*) FROM daemons WHERE"
                             " name = 'apache-1'") == [["1"]],
               what="kilnd's row")
    r = s.get("/")
    assert r.status == 200, r.text
    assert "Rendering available right now." in r.text
    check_security_headers(r, "/")


def test_static_and_errors(s):
    r = s.get("/static/kiln.css")
    assert r.status == 200
    assert r.headers["content-type"].startswith("text/css")
    r = s.get("/api/v1/nope")
    assert r.status == 404 and r.json()["error"]["code"] == "not_found"
    r = s.get("/nope")
    assert r.status == 404 and "404 Not Found" in r.text


def test_static_files_and_apaches_own_errors_carry_the_headers(s):
    prog = s.get("/api/v1/health").headers["content-security-policy"]
    for path, status in (("/static/kiln.css", 200),
                         ("/static/no-such-file.css", 404),
                         ("/api/v1/a%00b", 404)):
        r = s.get(path)
        assert r.status == status, (path, r.status)
        check_security_headers(r, path)
        assert r.headers["x-frame-options"] == "DENY", path
        # One policy: the config's copy is the programs'.
        assert r.headers["content-security-policy"] == prog, path


def test_apaches_own_errors_under_api_are_json(s):
    # Apache refuses an encoded NUL in the path itself (404) and TRACE
    # (TraceEnable Off: 405) before api.fcgi runs.
    r = s.get("/api/v1/a%00b")
    assert r.status == 404, r.text
    assert r.headers["content-type"] == "application/json", r.headers
    assert r.json()["error"]["code"] == "not_found"
    r = s.request("TRACE", "/sdapi/v1/options")
    assert r.status == 405, r.text
    assert r.headers["content-type"] == "application/json", r.headers
    assert r.json()["error"]["code"] == "method_not_allowed"


def test_apaches_own_errors_elsewhere_are_pages(s):
    r = s.get("/static/no-such-file.css")
    assert r.status == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "<h1>404 Not Found</h1>" in r.text, r.text


def test_a_post_without_content_length_reaches_the_program(s):
    # Unlike lighttpd, Apache takes a POST with no Content-Length as
    # bodyless (AUTOMATIC1111 clients' POST /sdapi/v1/interrupt).
    st, h, _ = s.raw(b"POST /sdapi/v1/interrupt HTTP/1.1\r\n"
                     b"Host: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert st == 401, (st, h)      # the program: no key
    # An A1111 route asks for Basic (the key as its password).
    assert h.get("www-authenticate", "").startswith("Basic"), h


def test_plain_cgi_under_apache(s):
    r = s.get("/cgi/api.cgi/api/v1/health")
    assert r.status == 200, r.text
    assert r.json()["database"]["up"] is True
    check_security_headers(r, "/cgi/api.cgi/api/v1/health")
    r = s.get("/cgi/portal.cgi/")
    assert r.status == 200
    assert "Rendering available right now." in r.text
    r = s.get("/cgi/api.cgi/api/v1/nope")
    assert r.status == 404 and r.json()["error"]["code"] == "not_found"


def test_bearer_key_reaches_the_programs(s):
    # Apache hides Authorization from programs unless CGIPassAuth is on:
    # a key made straight in the database must work through mod_fcgid and
    # through plain CGI alike.
    import base64
    import hashlib
    import secrets
    key = "kiln_" + base64.urlsafe_b64encode(
        secrets.token_bytes(32)).decode().rstrip("=")
    digest = hashlib.sha256(key.encode()).hexdigest()
    s.sql("INSERT INTO api_keys (user_id, name, prefix, key_hash, scopes)"
          " SELECT id, 'apache', '%s', '%s', 'read' FROM users"
          " WHERE username = 'admin'" % (key[:13], digest))
    for path in ("/api/v1/me", "/cgi/api.cgi/api/v1/me"):
        r = s.get(path, headers={"Authorization": "Bearer " + key})
        assert r.status == 200, (path, r.status, r.text)
        assert r.json()["username"] == "admin"
        r = s.get(path)
        assert r.status == 401, (path, r.status)
        assert r.json()["error"]["code"] == "unauthorized"
        check_security_headers(r, path)
    # The AUTOMATIC1111-style prefix goes to the API program too, by both
    # routes.
    for path in ("/sdapi/v1/options", "/cgi/api.cgi/sdapi/v1/options"):
        r = s.get(path, headers={"Authorization": "Bearer " + key})
        assert r.status == 200, (path, r.status, r.text)
        assert r.json()["sd_model_checkpoint"] == "kiln-micro", r.text
