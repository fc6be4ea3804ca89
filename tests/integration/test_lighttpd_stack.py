"""The vertical slice behind lighttpd + mod_fastcgi: MariaDB, both FastCGI
programs, kilnd, migrations, config errors, and a killed database."""

import base64
import hashlib
import html
import json
import os
import re
import signal
import subprocess
import time

from common import (check_security_headers, kiln_version, migration_files)
from harness import BUILD, ROOT, run, wait_until
import harness

STACK = dict(server="lighttpd", heartbeat=1, daemon_name="it-1")


def bin_path(*p):
    return os.path.join(harness.BUILD, *p)


def test_health_reports_database_up(s):
    r = s.get("/api/v1/health")
    assert r.status == 200, r.text
    assert r.headers["content-type"] == "application/json"
    j = r.json()
    assert j["status"] == "ok"
    assert j["version"] == kiln_version()
    assert j["database"]["up"] is True
    assert j["database"]["schema_version"] == migration_files()[-1][0]
    assert "error" not in j


def test_home_page_shows_data_from_the_database(s):
    marker = "tagline-%d <b>&amp;" % os.getpid()
    s.sql("UPDATE settings SET value = '%s' WHERE name = 'site_tagline'"
          % marker)
    r = s.get("/")
    assert r.status == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    # Read from MariaDB, and escaped on the way out.
    assert "tagline-%d &lt;b&gt;&amp;amp;" % os.getpid() in r.text
    assert "<b>" not in r.text


def test_home_page_shows_the_default_model_and_its_examples(s):
    with open(os.path.join(harness.ROOT, "models", "kiln-micro",
                           "kiln.json")) as f:
        card = json.load(f)
    r = s.get("/")
    assert r.status == 200, r.text
    assert "<strong>kiln-micro</strong>" in r.text, r.text
    for e in card["examples"][:8]:
        assert "<q>%s</q>" % html.escape(e, quote=False) in r.text, e


def test_daemon_registers_and_keeps_a_heartbeat(s):
    rows = wait_until(lambda: s.sql(
        "SELECT state, heartbeat_at, devices FROM daemons"
        " WHERE name = 'it-1'"), what="kilnd's row")
    state, first, devices = rows[0]
    assert state == "idle"
    assert "[CPU]" in devices, devices   # PoCL's CPU device
    wait_until(lambda: s.sql("SELECT heartbeat_at FROM daemons WHERE"
                             " name = 'it-1'")[0][0] > first,
               timeout=5, what="a newer heartbeat")
    assert s.get("/api/v1/health").json()["daemons"]["online"] == 1
    assert "Rendering available right now." in \
        s.get("/").text


def visible_words(page):
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]*>", " ", text))


def daemon_row(s):
    return wait_until(lambda: s.sql("SELECT name, host, devices FROM"
                                    " daemons WHERE name = 'it-1'"),
                      what="kilnd's row")[0]


def test_front_page_names_no_daemon_host_or_device(s):
    name, host, devices = daemon_row(s)
    r = s.get("/")
    assert r.status == 200, r.text
    assert "Rendering available" in r.text, r.text
    text = visible_words(r.text)
    for secret in (name, host, devices):
        assert not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(secret),
                             r.text), (secret, text)
    assert "[CPU]" not in r.text


def test_front_page_does_not_count_accounts(s):
    text = visible_words(s.get("/").text)
    assert "account" not in text.lower(), text


def admin_cookie(s):
    tok = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    s.sql("INSERT INTO sessions (user_id, token_hash, csrf, expires_at)"
          " SELECT id, '%s', 'c', NOW() + INTERVAL 1 HOUR FROM users"
          " WHERE username = 'admin'" %
          hashlib.sha256(tok.encode()).hexdigest())
    return "kiln_session=" + tok


def test_admin_queue_lists_daemon_host_and_devices(s):
    name, host, devices = daemon_row(s)
    r = s.get("/admin/queue", headers={"Cookie": admin_cookie(s)})
    assert r.status == 200, r.text[:500]
    for v in (name, host, devices):
        assert "<td>%s</td>" % html.escape(v) in r.text, (v, r.text)


def test_admin_queue_counts_accounts_and_names_the_schema(s):
    users = s.sql("SELECT COUNT(*) FROM users")[0][0]
    r = s.get("/admin/queue", headers={"Cookie": admin_cookie(s)})
    assert r.status == 200, r.text[:500]
    m = re.search(r'id="site-facts">([^<]*)<', r.text)
    assert m, r.text
    assert m.group(1).startswith("%s user account" % users), m.group(1)
    assert m.group(1).endswith("schema version %d." %
                               migration_files()[-1][0]), m.group(1)


def test_the_admin_queue_is_not_for_visitors(s):
    r = s.get("/admin/queue")
    assert r.status in (303, 302), r.status
    assert "it-1" not in r.text


def test_security_headers_on_every_response(s):
    for path in ("/", "/api/v1/health", "/nope", "/api/v1/nope"):
        check_security_headers(s.get(path), path)


def test_unknown_urls_and_wrong_methods(s):
    r = s.get("/api/v1/nope")
    assert r.status == 404
    assert r.json()["error"]["code"] == "not_found"
    r = s.request("POST", "/api/v1/health", body=b"")
    assert r.status == 405
    assert r.headers["allow"] == "GET, HEAD"
    assert r.json()["error"]["code"] == "method_not_allowed"
    r = s.get("/no/such/page")
    assert r.status == 404
    assert "404 Not Found" in r.text and "<html" in r.text
    r = s.request("HEAD", "/api/v1/health")
    assert r.status == 200 and r.body == b""


def test_static_files_come_from_the_web_server(s):
    r = s.get("/static/kiln.css")
    assert r.status == 200
    assert r.headers["content-type"].startswith("text/css")
    with open(os.path.join(ROOT, "static", "kiln.css"), "rb") as f:
        assert r.body == f.read()


def cgi(s, prog, path, query="", method="GET"):
    env = {"KILN_CONF": s.conf, "REQUEST_METHOD": method,
           "PATH_INFO": path, "QUERY_STRING": query,
           "SCRIPT_NAME": "/cgi/" + prog, "GATEWAY_INTERFACE": "CGI/1.1",
           "PATH": os.environ["PATH"]}
    # Bytes, not text: CGI headers end in CRLF and text mode would fold it.
    p = run([bin_path("cgi-bin", prog)], env=env, stdin=subprocess.DEVNULL,
            text=False)
    head, _, body = p.stdout.decode().partition("\r\n\r\n")
    return p, head, body


def test_programs_work_as_plain_cgi(s):
    p, head, body = cgi(s, "api.fcgi", "/api/v1/health")
    assert p.returncode == 0, p.stderr.decode()
    assert head.startswith("Status: 200 OK\r\n"), head
    assert json.loads(body)["database"]["up"] is True
    p, head, body = cgi(s, "portal.fcgi", "/")
    assert head.startswith("Status: 200 OK\r\n"), head
    assert "Rendering available right now." in body
    p, head, body = cgi(s, "api.fcgi", "/api/v1/health", query="a=%zz")
    assert head.startswith("Status: 400 "), head
    # The error names the parameter whose value does not decode.
    err = json.loads(body)["error"]
    assert err["code"] == "validation_failed", err
    assert list(err["fields"]) == ["a"], err


def write_conf(s, name, text):
    path = s.path(name)
    with open(path, "w") as f:
        f.write(text)
    return path


def test_a_bad_config_stops_every_program_with_file_and_line(s):
    bad = write_conf(s, "bad.conf",
                     "[site]\nname = x\n[database]\nport = http\n")
    want = "%s:4: database.port: expected an integer" % bad
    cases = [
        [bin_path("cgi-bin", "portal.fcgi"), "--check-config"],
        [bin_path("cgi-bin", "api.fcgi"), "--check-config"],
        [bin_path("render-daemon", "kilnd"), "-c", bad],
        [bin_path("tools", "kiln-admin"), "-c", bad, "check-config"],
    ]
    for cmd in cases:
        p = run(cmd, env=dict(os.environ, KILN_CONF=bad))
        assert p.returncode == 1, (cmd, p.returncode, p.stderr)
        assert want in p.stderr, (cmd, p.stderr)
    # The stack's own file is fine.
    p = run([bin_path("tools", "kiln-admin"), "-c", s.conf, "check-config"])
    assert p.returncode == 0, p.stderr


def test_migrate_again_applies_nothing_and_records_checksums(s):
    p = run([bin_path("tools", "kiln-admin"), "-c", s.conf, "migrate"])
    assert p.returncode == 0, p.stderr
    assert "(0 applied now)" in p.stdout
    rows = s.sql("SELECT version, name, checksum FROM schema_migrations"
                 " ORDER BY version")
    assert [(int(v), n, c) for v, n, c in rows] == migration_files()


def test_migration_runner_on_a_fresh_database(s):
    s.sql("CREATE DATABASE kiln_mig; GRANT ALL ON kiln_mig.* TO"
          " 'kiln'@'localhost'")
    d = s.path("mig")
    os.mkdir(d)

    def put(name, text):
        with open(os.path.join(d, name), "w") as f:
            f.write(text)

    put("001_a.sql", "CREATE TABLE t1 (x INT NOT NULL);\n"
                     "INSERT INTO t1 VALUES (1);\n")
    put("002_b.sql", "ALTER TABLE t1 ADD COLUMN y INT NULL;\n")
    with open(s.conf) as f:
        text = f.read()
    text = text.replace("name = kiln\n\n[paths]", "name = kiln_mig\n\n[paths]")
    conf = write_conf(s, "mig.conf", text)
    admin = [bin_path("tools", "kiln-admin"), "-c", conf, "migrate", "--dir", d]

    p = run(admin)
    assert p.returncode == 0, p.stderr
    assert "applied 001_a.sql\napplied 002_b.sql\n" in p.stdout
    p = run(admin)
    assert p.returncode == 0 and "(0 applied now)" in p.stdout

    # A failing migration is rolled back and not recorded.
    put("003_bad.sql", "INSERT INTO t1 VALUES (2, 2);\n"
                       "INSERT INTO no_such_table VALUES (1);\n")
    p = run(admin)
    assert p.returncode == 1
    assert "003_bad.sql" in p.stderr and "no_such_table" in p.stderr
    assert s.sql("SELECT COUNT(*) FROM t1", "kiln_mig") == [["1"]]
    assert s.sql("SELECT MAX(version) FROM schema_migrations",
                 "kiln_mig") == [["2"]]
    os.unlink(os.path.join(d, "003_bad.sql"))

    # Editing an applied migration is refused.
    put("001_a.sql", "CREATE TABLE t1 (x INT);\n")
    p = run(admin)
    assert p.returncode == 1
    assert "001_a.sql was changed after it was applied" in p.stderr


def test_kilnd_lists_opencl_devices(s):
    p = run([bin_path("render-daemon", "kilnd"), "--list-devices"],
            timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("platform 0: ")
    assert "Portable Computing Language" in p.stdout
    assert "[CPU]" in p.stdout


def test_kilnd_reloads_on_sighup_and_stops_on_sigterm(s):
    with open(s.conf) as f:
        text = f.read().replace("name = it-1", "name = sig-test")
    conf = write_conf(s, "sig.conf", text)
    log = open(s.path("log", "sig-kilnd.log"), "w")
    p = subprocess.Popen([bin_path("render-daemon", "kilnd"), "-c", conf],
                         stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: s.sql("SELECT state FROM daemons WHERE"
                                 " name = 'sig-test'") == [["idle"]],
                   what="sig-test to register")
        write_conf(s, "sig.conf", text.replace("heartbeat_interval = 1",
                                               "heartbeat_interval = -1"))
        p.send_signal(signal.SIGHUP)
        wait_until(lambda: "keeping the old configuration" in
                   s.log("sig-kilnd.log"), what="the reload error")
        assert p.poll() is None, "kilnd died on a bad reload"
        assert "sig.conf:" in s.log("sig-kilnd.log")
        write_conf(s, "sig.conf", text)
        p.send_signal(signal.SIGHUP)
        wait_until(lambda: "configuration reloaded" in
                   s.log("sig-kilnd.log"), what="the reload")
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=10) == 0
        assert s.sql("SELECT state, stopped_at IS NOT NULL FROM daemons"
                     " WHERE name = 'sig-test'") == [["stopped", "1"]]
    finally:
        if p.poll() is None:
            p.kill()
        log.close()
    # A stopped daemon is not counted as online.
    assert s.get("/api/v1/health").json()["daemons"]["online"] == 1


def test_restarting_the_stack_keeps_data(s):
    s.sql("INSERT INTO settings (name, value) VALUES ('it_marker', 'kept')")
    with open(s.path("admin-login")) as f:
        login = f.read()
    s.up()                      # web server and daemon restart, DB stays
    assert s.sql("SELECT value FROM settings WHERE name = 'it_marker'") \
        == [["kept"]]
    s.down()                    # everything stops, MariaDB too
    s.up()
    assert s.sql("SELECT value FROM settings WHERE name = 'it_marker'") \
        == [["kept"]]
    with open(s.path("admin-login")) as f:
        assert f.read() == login
    assert s.sql("SELECT role FROM users WHERE username = 'admin'") == \
        [["admin"]]
    assert s.get("/api/v1/health").status == 200


def test_a_killed_database_gives_503_not_a_hang(s):
    assert s.get("/api/v1/health").status == 200   # connection is warm
    os.kill(s.pid("mysqld"), signal.SIGKILL)
    wait_until(lambda: not os.path.exists("/proc/%d" % s.pid("mysqld")),
               what="mariadbd to die")
    t0 = time.time()
    r = s.get("/api/v1/health", timeout=20)
    took = time.time() - t0
    assert r.status == 503, r.text
    assert took < 5, "health took %.1f s" % took
    j = r.json()
    assert j["status"] == "unavailable"
    assert j["database"]["up"] is False
    assert j["error"]["code"] == "database_unavailable"
    assert j["error"]["message"]
    r = s.get("/")
    assert r.status == 503
    assert "database is unreachable" in r.text
    # The same processes recover once the database is back.
    env = s.env()
    p = run([os.path.join(ROOT, "tools", "kiln-stack"), "up", "--dir",
             s.dir, "--http-port", str(s.port), "--heartbeat", "1",
             "--daemon-name", "it-1"], env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    assert s.get("/api/v1/health").status == 200
