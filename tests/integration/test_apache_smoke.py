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
    assert "<td>apache-1</td>" in r.text
    check_security_headers(r, "/")


def test_static_and_errors(s):
    r = s.get("/static/kiln.css")
    assert r.status == 200
    assert r.headers["content-type"].startswith("text/css")
    r = s.get("/api/v1/nope")
    assert r.status == 404 and r.json()["error"]["code"] == "not_found"
    r = s.get("/nope")
    assert r.status == 404 and "404 Not Found" in r.text


def test_plain_cgi_under_apache(s):
    r = s.get("/cgi/api.cgi/api/v1/health")
    assert r.status == 200, r.text
    assert r.json()["database"]["up"] is True
    check_security_headers(r, "/cgi/api.cgi/api/v1/health")
    r = s.get("/cgi/portal.cgi/")
    assert r.status == 200
    assert "<td>apache-1</td>" in r.text
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
