"""valgrind_checks.py - run by `make valgrind` only: the web programs (as
plain CGI, one request each) and kilnd (registering, beating, claiming and
failing a job, a webhook attempt, reloading on SIGHUP, stopping on
SIGTERM) under memcheck against a real stack. Any memcheck error or
definite leak fails."""

import os
import re
import signal
import subprocess
import time

import harness
from common import job_row, new_user
from harness import run, wait_until

# Loopback allowed for webhooks, so the delivery below goes through curl
# (and fails to connect) rather than stopping at the address check.
# kilnd under memcheck skips its warm-up render: PoCL would compile and
# run every kernel on valgrind's CPU model, far too slow (the warm-up runs
# under ASan in make asan, test_first_run).
STACK = dict(server="lighttpd", daemon=False, heartbeat=1,
             extra_conf="[webhooks]\nallow = 127.0.0.1\n"
                        "[daemon]\nwarm_up = 0\n"
                        "[alerts]\ninterval = 1\n"
                        "webhook_url = http://127.0.0.1:9/alerts\n")

VG = ["valgrind", "--error-exitcode=99", "--leak-check=full",
      "--errors-for-leak-kinds=definite", "--track-origins=yes",
      "--suppressions=" + os.path.join(harness.ROOT, "tests",
                                       "valgrind.supp")]


def check_clean(stderr, what):
    m = re.search(r"ERROR SUMMARY: (\d+) errors", stderr)
    assert m, "%s: no valgrind summary\n%s" % (what, stderr[-2000:])
    assert m.group(1) == "0", "%s:\n%s" % (what, stderr[-4000:])
    assert "definitely lost: 0 bytes" in stderr or \
        "definitely lost" not in stderr, "%s:\n%s" % (what, stderr[-4000:])


def gradient_png(w, h):
    """An RGB PNG of a colour gradient, written here with zlib."""
    import struct
    import zlib
    raw = b"".join(b"\0" + bytes(v for x in range(w) for v in
                                 (x * 255 // w, y * 255 // h, 128))
                   for y in range(h))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def once_cookie(out, purpose):
    """The cookie a POST's redirect carries a secret's key in (lib/once.c),
    as a Cookie header pair."""
    m = re.search(r"kiln_once_%s=([0-9]+\.[A-Za-z0-9_-]{43})" % purpose, out)
    assert m, out[:600]
    return "kiln_once_%s=%s" % (purpose, m.group(1))


def cgi_env(s, path, query=""):
    return {"KILN_CONF": s.conf, "REQUEST_METHOD": "GET",
            "PATH_INFO": path, "QUERY_STRING": query,
            "PATH": os.environ["PATH"]}


def test_web_programs_are_memcheck_clean(s):
    cases = [("api.fcgi", "/api/v1/health", ""),
             ("api.fcgi", "/api/v1/nope", "a=%zz"),
             ("api.fcgi", "/api/v1/health", "x=1&y=%41"),
             ("api.fcgi", "/api/v1/status", ""),
             ("portal.fcgi", "/", ""),
             ("portal.fcgi", "/status", ""),
             ("portal.fcgi", "/status/feed.atom", ""),
             ("portal.fcgi", "/missing", "")]
    for prog, path, q in cases:
        p = run(VG + [os.path.join(harness.BUILD, "cgi-bin", prog)],
                env=cgi_env(s, path, q), stdin=subprocess.DEVNULL,
                text=False, timeout=300)
        check_clean(p.stderr.decode(errors="replace"),
                    "%s %s?%s" % (prog, path, q))
        assert p.stdout.startswith(b"Status: "), p.stdout[:200]


def vg_cgi(s, prog, method, path, body=b"", ctype="", cookie="",
           auth="", what=""):
    env = cgi_env(s, path)
    env.update({"REQUEST_METHOD": method, "CONTENT_LENGTH": str(len(body)),
                "CONTENT_TYPE": ctype, "HTTP_COOKIE": cookie,
                "HTTP_AUTHORIZATION": auth, "HTTP_HOST": "127.0.0.1",
                "REMOTE_ADDR": "127.0.0.9"})
    p = run(VG + [os.path.join(harness.BUILD, "cgi-bin", prog)], env=env,
            input=body, text=False, timeout=600)
    check_clean(p.stderr.decode(errors="replace"), what or path)
    assert p.stdout.startswith(b"Status: "), p.stdout[:200]
    return p.stdout.decode(errors="replace")


def test_login_session_and_key_paths_are_memcheck_clean(s):
    import base64
    import hashlib
    import secrets
    import urllib.parse
    with open(s.path("admin-login")) as f:
        pw = re.search(r"password: (\S+)", f.read()).group(1)
    pre = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()[:43]
    form = "application/x-www-form-urlencoded"

    def login(password):
        return vg_cgi(s, "portal.fcgi", "POST", "/login", urllib.parse.
                      urlencode({"username": "admin", "password": password,
                                 "csrf": pre, "next": "/account"}).encode(),
                      form, "kiln_csrf=" + pre, what="POST /login")
    out = login("wrong-password-123")
    assert out.startswith("Status: 401"), out[:200]
    out = login(pw)
    assert out.startswith("Status: 303"), out[:300]
    tok = re.search(r"kiln_session=([A-Za-z0-9_-]{43})", out).group(1)
    # A published image with two open reports, so /admin/reports words
    # their reasons (page_admin_reports.c's label_reasons).
    other, _ = new_user(s, "vg-reporter")
    jid = job_row(s, 1, prompt="memcheck reported")
    s.sql("INSERT INTO job_images (job_id, idx, seed, path, width, height)"
          " VALUES (%d, 0, 1, 'jobs/%d/0.png', 64, 64)" % (jid, jid))
    s.sql("INSERT INTO published_images (job_id, idx, user_id,"
          " published_at) VALUES (%d, 0, 1, NOW())" % jid)
    pid = int(s.sql("SELECT id FROM published_images WHERE job_id = %d" %
                    jid)[0][0])
    s.sql("INSERT INTO image_reports (published_id, reporter_id, reason)"
          " VALUES (%d, 1, 'spam'), (%d, %d, 'hate')" % (pid, pid, other))
    # A team of the admin's with a job and its image, so /teams/ID, its
    # gallery, the job page's team line and /generate's menu have rows.
    s.sql("INSERT INTO teams (name, credits) VALUES ('vg team', 50)")
    tid = int(s.sql("SELECT MAX(id) FROM teams")[0][0])
    s.sql("INSERT INTO team_members (team_id, user_id, role) VALUES"
          " (%d, 1, 'owner'), (%d, %d, 'viewer')" % (tid, tid, other))
    s.sql("UPDATE jobs SET team_id = %d WHERE id = %d" % (tid, jid))
    for path in ("/account", "/account/keys", "/admin/users/1",
                 "/admin/audit", "/generate", "/explore",
                 "/admin/reports", "/admin/incidents",
                 "/admin/maintenance", "/admin/alerts"):
        out = vg_cgi(s, "portal.fcgi", "GET", path,
                     cookie="kiln_session=" + tok)
        assert out.startswith("Status: 200"), out[:300]
        # Checked on its own page: later paths were appended to the list.
        if path == "/admin/reports":
            assert "Spam or advertising, Hate or harassment" in out, \
                out[-3000:]
    for path in ("/teams", "/teams/%d" % tid, "/teams/%d/gallery" % tid,
                 "/jobs/%d" % jid):
        out = vg_cgi(s, "portal.fcgi", "GET", path,
                     cookie="kiln_session=" + tok)
        assert out.startswith("Status: 200"), (path, out[:300])
    # The studio's refused form: every check runs, a preset is taken.
    csrf = s.sql("SELECT csrf FROM sessions ORDER BY id DESC LIMIT 1")[0][0]
    out = vg_cgi(s, "portal.fcgi", "POST", "/generate", urllib.parse.
                 urlencode({"csrf": csrf, "prompt": "a star", "size":
                            "80x64", "sampler": "x", "batch_count": "9",
                            "hires_strength": "0.5"}).encode(), form,
                 "kiln_session=" + tok, what="POST /generate")
    assert out.startswith("Status: 422"), out[:300]
    key = "kiln_" + base64.urlsafe_b64encode(
        secrets.token_bytes(32)).decode().rstrip("=")
    s.sql("INSERT INTO api_keys (user_id, name, prefix, key_hash, scopes)"
          " SELECT id, 'vg', '%s', '%s', 'read,admin' FROM users"
          " WHERE username = 'admin'" %
          (key[:13], hashlib.sha256(key.encode()).hexdigest()))
    out = vg_cgi(s, "api.fcgi", "GET", "/api/v1/me", auth="Bearer " + key)
    assert out.startswith("Status: 200"), out[:300]
    for path in ("/api/v1/teams", "/api/v1/teams/%d" % tid,
                 "/api/v1/jobs/%d" % jid):
        out = vg_cgi(s, "api.fcgi", "GET", path, auth="Bearer " + key)
        assert out.startswith("Status: 200"), (path, out[:300])
    out = vg_cgi(s, "api.fcgi", "PATCH", "/api/v1/users/1",
                 b'{"tier": "pro", "bogus": 1}', "application/json",
                 auth="Bearer " + key, what="PATCH /api/v1/users/1")
    # An unknown tier and an unknown field: 400, as every validation
    # failure of this endpoint.
    assert out.startswith("Status: 400"), out[:300]
    # A job: validation, quotas and credits, the read-back and the list.
    s.sql("UPDATE api_keys SET scopes = 'read,generate,admin' WHERE"
          " name = 'vg'")
    out = vg_cgi(s, "api.fcgi", "POST", "/api/v1/jobs",
                 b'{"prompt": "one red circle", "steps": 2,'
                 b' "negative_prompt": "' + b"n" * 400 + b'"}',
                 "application/json", auth="Bearer " + key,
                 what="POST /api/v1/jobs")
    assert out.startswith("Status: 202"), out[:300]
    out = vg_cgi(s, "api.fcgi", "POST", "/api/v1/jobs",
                 b'{"prompt": 5, "width": 65, "sampler": "x", "q": 1}',
                 "application/json", auth="Bearer " + key,
                 what="POST /api/v1/jobs (bad)")
    assert out.startswith("Status: 400"), out[:300]
    out = vg_cgi(s, "api.fcgi", "GET", "/api/v1/jobs", auth="Bearer " + key)
    assert out.startswith("Status: 200"), out[:300]
    # A team's settings (each field judged, an unknown one named) and
    # its deletion (events queued for each member, the pool returned).
    out = vg_cgi(s, "api.fcgi", "PATCH", "/api/v1/teams/%d" % tid,
                 b'{"name": "", "max_queued": 0, "x": 1}',
                 "application/json", auth="Bearer " + key,
                 what="PATCH /api/v1/teams (bad)")
    assert out.startswith("Status: 400"), out[:300]
    out = vg_cgi(s, "api.fcgi", "PATCH", "/api/v1/teams/%d" % tid,
                 b'{"name": "vg team 2", "max_queued": null}',
                 "application/json", auth="Bearer " + key,
                 what="PATCH /api/v1/teams")
    assert out.startswith("Status: 200"), out[:300]
    s.sql("INSERT INTO teams (name, credits) VALUES ('vg gone', 5)")
    gone = int(s.sql("SELECT MAX(id) FROM teams")[0][0])
    s.sql("INSERT INTO team_members (team_id, user_id, role) VALUES"
          " (%d, 1, 'owner'), (%d, %d, 'member')" % (gone, gone, other))
    out = vg_cgi(s, "api.fcgi", "DELETE", "/api/v1/teams/%d" % gone,
                 auth="Bearer " + key, what="DELETE /api/v1/teams")
    assert out.startswith("Status: 204"), out[:300]
    # A finished job with a 320x200 image: its thumbnail (libgd), sharing,
    # the gallery, usage, metrics and deleting.
    s.sql("INSERT INTO jobs (user_id, status, prompt, model, width, height,"
          " steps, cfg_scale, sampler, seed, cost, finished_at) SELECT id,"
          " 'succeeded', 'vg', 'kiln-micro', 320, 200, 2, 4, 'euler', 1, 3,"
          " NOW() FROM users WHERE username = 'admin'")
    jid = int(s.sql("SELECT MAX(id) FROM jobs")[0][0])
    os.makedirs(s.path("artifacts", "jobs", str(jid)))
    with open(s.path("artifacts", "jobs", str(jid), "%d-0.png" % jid),
              "wb") as f:
        f.write(gradient_png(320, 200))
    s.sql("INSERT INTO job_images (job_id, idx, seed, path, width, height)"
          " VALUES (%d, 0, 1, 'jobs/%d/%d-0.png', 320, 200)" %
          (jid, jid, jid))
    out = vg_cgi(s, "api.fcgi", "GET", "/api/v1/images/%d-0.thumb.png" % jid,
                 auth="Bearer " + key)
    assert out.startswith("Status: 200"), out[:300]
    out = vg_cgi(s, "api.fcgi", "POST", "/api/v1/jobs/%d/share" % jid,
                 auth="Bearer " + key)
    assert out.startswith("Status: 200"), out[:300]
    share = re.search(r'/s/([A-Za-z0-9_-]{43})"', out).group(1)
    for prog, path in [("api.fcgi", "/api/v1/shared/" + share),
                       ("api.fcgi", "/api/v1/shared/%s/0.png" % share),
                       ("portal.fcgi", "/s/" + share),
                       ("portal.fcgi", "/jobs/%d" % jid),
                       ("portal.fcgi", "/gallery"),
                       ("portal.fcgi", "/usage"),
                       ("portal.fcgi", "/usage/chart.png"),
                       ("portal.fcgi", "/metrics"),
                       # The job's ZIP (libarchive) and the CSV form.
                       ("api.fcgi", "/api/v1/jobs/%d/images.zip" % jid),
                       ("portal.fcgi", "/jobs/%d/images.zip" % jid),
                       ("portal.fcgi", "/batch")]:
        out = vg_cgi(s, prog, "GET", path, cookie="kiln_session=" + tok)
        assert out.startswith("Status: 200"), (path, out[:300])
    out = vg_cgi(s, "api.fcgi", "DELETE", "/api/v1/jobs/%d" % jid,
                 auth="Bearer " + key)
    assert out.startswith("Status: 204"), out[:300]
    # /sdapi/v1: a txt2img that waits while its job is finished by hand
    # (no daemon here: a row and a file), a refused one, and the reads.
    import threading
    res = {}
    body = (b'{"prompt": "one sdapi star", "steps": 2, "seed": -1,'
            b' "sampler_name": "DPM++ 2M", "scheduler": "Karras",'
            b' "enable_hr": false, "styles": [], "override_settings":'
            b' {"sd_model_checkpoint": "kiln-micro"}}')
    t = threading.Thread(target=lambda: res.update(out=vg_cgi(
        s, "api.fcgi", "POST", "/sdapi/v1/txt2img", body,
        "application/json", auth="Bearer " + key,
        what="POST /sdapi/v1/txt2img")))
    t.start()
    harness.wait_until(lambda: s.sql(
        "SELECT id FROM jobs WHERE prompt = 'one sdapi star'"), 120,
        what="the txt2img job")
    sid = int(s.sql("SELECT id FROM jobs WHERE prompt = 'one sdapi star'")
              [0][0])
    os.makedirs(s.path("artifacts", "jobs", str(sid)))
    with open(s.path("artifacts", "jobs", str(sid), "0.png"), "wb") as f:
        f.write(gradient_png(64, 64))
    s.sql("INSERT INTO job_images (job_id, idx, seed, path, width, height)"
          " VALUES (%d, 0, 7, 'jobs/%d/0.png', 64, 64)" % (sid, sid))
    s.sql("UPDATE jobs SET status = 'succeeded', finished_at = NOW()"
          " WHERE id = %d" % sid)
    t.join()
    assert res["out"].startswith("Status: 200") and \
        '"images":["iVBOR' in res["out"], res["out"][:300]
    out = vg_cgi(s, "api.fcgi", "POST", "/sdapi/v1/txt2img",
                 b'{"prompt": "x", "tiling": true, "n_iter": 9, "q": 1}',
                 "application/json", auth="Bearer " + key,
                 what="POST /sdapi/v1/txt2img (bad)")
    assert out.startswith("Status: 422"), out[:300]
    s.sql("UPDATE jobs SET status = 'running', step = 1, steps_total = 2,"
          " preview_path = 'jobs/%d/0.png' WHERE id = %d" % (sid, sid))
    for path in ("/sdapi/v1/progress", "/sdapi/v1/sd-models",
                 "/sdapi/v1/samplers", "/sdapi/v1/options"):
        out = vg_cgi(s, "api.fcgi", "GET", path, auth="Bearer " + key)
        assert out.startswith("Status: 200"), (path, out[:300])
    out = vg_cgi(s, "api.fcgi", "POST", "/sdapi/v1/interrupt",
                 auth="Bearer " + key)
    assert out.startswith("Status: 200"), out[:300]
    # kilnd's check below must find only its own job in the queue (a
    # render under memcheck would compile every kernel).
    s.sql("DELETE FROM jobs")


def test_two_factor_paths_are_memcheck_clean(s):
    # Two-factor login's pages through portal.fcgi: set-up, the QR code
    # (libqrencode, libgd), enabling, the login's second step (a wrong
    # code, then a right one, remembering the device), new recovery
    # codes and turning it off.
    import base64
    import hashlib
    import hmac
    import secrets
    import struct
    import urllib.parse
    name, pw = "vg2fa", "Quartz-Falcon-1931"
    p = run([os.path.join(harness.BUILD, "tools", "kiln-admin"), "-c",
             s.conf, "create-user", "--username", name, "--password-stdin"],
            input=pw + "\n")
    assert p.returncode == 0, p.stderr
    pre = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()[:43]
    form = "application/x-www-form-urlencoded"

    def totp(key, t):
        mac = hmac.new(key, struct.pack(">Q", int(t) // 30),
                       hashlib.sha1).digest()
        off = mac[-1] & 15
        n = struct.unpack(">I", mac[off:off + 4])[0] & 0x7fffffff
        return "%06d" % (n % 10 ** 6)

    def post(path, fields, cookie):
        return vg_cgi(s, "portal.fcgi", "POST", path,
                      urllib.parse.urlencode(fields).encode(), form, cookie,
                      what="POST " + path)

    def password():
        out = post("/login", {"username": name, "password": pw, "csrf": pre,
                              "next": "/account"}, "kiln_csrf=" + pre)
        assert out.startswith("Status: 303"), out[:300]
        return out

    tok = re.search(r"kiln_session=([A-Za-z0-9_-]{43})",
                    password()).group(1)
    cookie = "kiln_session=" + tok
    page = vg_cgi(s, "portal.fcgi", "GET", "/account/security",
                  cookie=cookie)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    out = post("/account/security/setup", {"csrf": csrf}, cookie)
    assert out.startswith("Status: 303"), out[:300]
    page = vg_cgi(s, "portal.fcgi", "GET", "/account/security",
                  cookie=cookie)
    key = base64.b32decode(re.search(r'id="twofa-secret">([A-Z2-7]+)<',
                                     page).group(1))
    out = vg_cgi(s, "portal.fcgi", "GET", "/account/security/qr.png",
                 cookie=cookie)
    assert out.startswith("Status: 200"), out[:300]
    while not 2 <= time.time() % 30 <= 20:
        time.sleep(0.5)
    t = time.time()
    out = post("/account/security/enable", {"csrf": csrf,
                                            "code": totp(key, t)}, cookie)
    assert out.startswith("Status: 303"), out[:300]
    out = vg_cgi(s, "portal.fcgi", "GET", "/account/security",
                 cookie=cookie + "; " + once_cookie(out, "recovery"),
                 what="GET the recovery codes")
    assert out.startswith("Status: 200") and "recovery-codes" in out, \
        out[:300]
    out = password()
    assert "kiln_2fa=" in out and "/login/2fa" in out, out[:400]
    pending = re.search(r"kiln_2fa=([A-Za-z0-9_-]{43})", out).group(1)
    c2 = "kiln_csrf=%s; kiln_2fa=%s" % (pre, pending)
    out = vg_cgi(s, "portal.fcgi", "GET", "/login/2fa", cookie=c2)
    assert out.startswith("Status: 200"), out[:300]
    out = post("/login/2fa", {"csrf": pre, "code": "000000"}, c2)
    assert out.startswith("Status: 401"), out[:300]
    # A step after the one enabling took (memcheck is slow: the clock
    # may have moved on).
    out = post("/login/2fa", {"csrf": pre, "code": totp(
        key, max(time.time(), t + 30)), "remember": "1"}, c2)
    assert out.startswith("Status: 303") and "kiln_device=" in out, \
        out[:400]
    s.sql("UPDATE user_totp SET last_step = 0 WHERE user_id = (SELECT id"
          " FROM users WHERE username = '%s')" % name)
    out = post("/account/security/recovery", {
        "csrf": csrf, "code": totp(key, time.time())}, cookie)
    assert out.startswith("Status: 303"), out[:300]
    out = vg_cgi(s, "portal.fcgi", "GET", "/account/security",
                 cookie=cookie + "; " + once_cookie(out, "recovery"),
                 what="GET the new recovery codes")
    rc = re.search(r"<li><code>([a-z2-7-]{11})</code>", out).group(1)
    out = post("/account/security/disable", {"csrf": csrf, "password": pw,
                                             "code": rc}, cookie)
    assert out.startswith("Status: 303"), out[:300]


def test_key_rotation_paths_are_memcheck_clean(s):
    # API keys' rotation, expiry and last use: the API's list and rotation
    # (a refused body, then a good one), the old secret in and after its
    # grace, an expired key; the page's key made with an expiry date and
    # its Rotate button.
    import base64
    import hashlib
    import secrets
    import urllib.parse
    name = "vgkeys"
    p = run([os.path.join(harness.BUILD, "tools", "kiln-admin"), "-c",
             s.conf, "create-user", "--username", name, "--password-stdin"],
            input="Quartz-Falcon-1931\n")
    assert p.returncode == 0, p.stderr
    uid = s.sql("SELECT id FROM users WHERE username = '%s'" % name)[0][0]
    key = "kiln_" + base64.urlsafe_b64encode(
        secrets.token_bytes(32)).decode().rstrip("=")
    s.sql("INSERT INTO api_keys (user_id, name, prefix, key_hash, scopes,"
          " expires_at) VALUES (%s, 'vg', '%s', '%s', 'read',"
          " NOW() + INTERVAL 1 DAY)" %
          (uid, key[:13], hashlib.sha256(key.encode()).hexdigest()))
    kid = s.sql("SELECT id FROM api_keys WHERE user_id = %s" % uid)[0][0]
    auth = "Bearer " + key
    out = vg_cgi(s, "api.fcgi", "GET", "/api/v1/keys", auth=auth)
    assert out.startswith("Status: 200"), out[:300]
    path = "/api/v1/keys/%s/rotate" % kid
    out = vg_cgi(s, "api.fcgi", "POST", path,
                 b'{"grace_seconds": "x", "bogus": 1}', "application/json",
                 auth=auth, what="POST rotate (bad)")
    assert out.startswith("Status: 400"), out[:300]
    out = vg_cgi(s, "api.fcgi", "POST", path, b'{"grace_seconds": 3600}',
                 "application/json", auth=auth, what="POST rotate")
    assert out.startswith("Status: 200"), out[:300]
    new = re.search(r'"key":"(kiln_[A-Za-z0-9_-]{43})"', out).group(1)
    out = vg_cgi(s, "api.fcgi", "GET", "/api/v1/me", auth=auth,
                 what="old secret in grace")
    assert out.startswith("Status: 200"), out[:300]
    s.sql("UPDATE api_keys SET old_valid_until = NOW() - INTERVAL 1 SECOND"
          " WHERE id = %s" % kid)
    out = vg_cgi(s, "api.fcgi", "GET", "/api/v1/me", auth=auth,
                 what="old secret after grace")
    assert out.startswith("Status: 401") and "rotated" in out, out[:400]
    s.sql("UPDATE api_keys SET expires_at = NOW() - INTERVAL 1 SECOND"
          " WHERE id = %s" % kid)
    out = vg_cgi(s, "api.fcgi", "GET", "/api/v1/me", auth="Bearer " + new,
                 what="expired key")
    assert out.startswith("Status: 401") and "expired" in out, out[:400]
    # The page, with a session row made here (no Argon2 under memcheck).
    tok = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()[:43]
    csrf = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()[:43]
    s.sql("INSERT INTO sessions (user_id, token_hash, csrf, expires_at)"
          " VALUES (%s, '%s', '%s', NOW() + INTERVAL 1 HOUR)" %
          (uid, hashlib.sha256(tok.encode()).hexdigest(), csrf))
    cookie = "kiln_session=" + tok
    form = "application/x-www-form-urlencoded"
    out = vg_cgi(s, "portal.fcgi", "POST", "/account/keys",
                 urllib.parse.urlencode({"csrf": csrf, "name": "dated",
                                         "scope": "read",
                                         "expires": "2099-01-01"}).encode(),
                 form, cookie, what="POST /account/keys")
    assert out.startswith("Status: 303"), out[:300]
    out = vg_cgi(s, "portal.fcgi", "GET", "/account/keys",
                 cookie=cookie + "; " + once_cookie(out, "key"),
                 what="GET the new key")
    assert out.startswith("Status: 200") and 'id="new-key"' in out, \
        out[:300]
    dated = s.sql("SELECT id FROM api_keys WHERE user_id = %s AND"
                  " name = 'dated'" % uid)[0][0]
    out = vg_cgi(s, "portal.fcgi", "POST", "/account/keys/%s/rotate" % dated,
                 urllib.parse.urlencode({"csrf": csrf,
                                         "grace": "60"}).encode(),
                 form, cookie, what="POST rotate page")
    assert out.startswith("Status: 303"), out[:300]
    out = vg_cgi(s, "portal.fcgi", "GET", "/account/keys",
                 cookie=cookie + "; " + once_cookie(out, "key"),
                 what="GET the rotated key")
    assert out.startswith("Status: 200") and 'id="rotated"' in out, \
        out[:300]
    out = vg_cgi(s, "portal.fcgi", "GET", "/account/keys", cookie=cookie)
    assert out.startswith("Status: 200") and "old secret works" in out, \
        out[:300]


def test_kilnd_is_memcheck_clean(s):
    log = s.path("log", "vg-kilnd.log")
    with open(log, "w") as f:
        p = subprocess.Popen(VG + [os.path.join(harness.BUILD,
                                                "render-daemon", "kilnd"),
                                   "-c", s.conf],
                             stdout=subprocess.DEVNULL, stderr=f)
    try:
        wait_until(lambda: s.sql("SELECT COUNT(*) FROM daemons WHERE"
                                 " state = 'idle'") == [["1"]],
                   timeout=120, what="kilnd under valgrind to register")
        time.sleep(2.5)     # a few heartbeats
        # A daemon whose heartbeat stopped: the keeper's alert rules
        # fire daemon_offline and queue its webhook.
        s.sql("INSERT INTO daemons (name, host, pid, devices, state,"
              " heartbeat_at) VALUES ('vg-ghost', 'elsewhere', 1, 'none',"
              " 'idle', NOW(3) - INTERVAL 1 HOUR)")
        wait_until(lambda: s.sql("SELECT kind FROM alert_events WHERE"
                                 " rule = 'daemon_offline'") ==
                   [["firing"]], timeout=120,
                   what="kilnd under valgrind to fire an alert")
        # A job through the queue code: claim, its events, the model
        # registry's error path, the failure's transaction. (It names a
        # model that is not there: a render would have PoCL compile every
        # kernel under memcheck, for valgrind's CPU model, which takes
        # far too long; the render path runs under ASan in make asan.)
        s.sql("INSERT INTO jobs (prompt, model, width, height, steps,"
              " cfg_scale, sampler, seed, webhook_url) VALUES ('a red"
              " star', 'not-here', 64, 64, 2, 7, 'euler', 1,"
              " 'http://127.0.0.1:9/')")
        wait_until(lambda: s.sql("SELECT status FROM jobs") ==
                   [["failed"]], timeout=300,
                   what="kilnd under valgrind to fail a job")
        # ... and one webhook delivery attempt (nothing listens there).
        wait_until(lambda: s.sql("SELECT MIN(attempts) FROM"
                                 " webhook_deliveries") == [["1"]],
                   timeout=300, what="a webhook delivery attempt")
        p.send_signal(signal.SIGHUP)
        time.sleep(1)
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=120) == 0
    finally:
        if p.poll() is None:
            p.kill()
    with open(log) as f:
        check_clean(f.read(), "kilnd")


def test_scene_form_paths_are_memcheck_clean(s):
    """The manifest mode's scene form (issue 29): the page filled from
    the example, the form's manifest previewed, a refused value beside
    its field, the box's manifest filling the form, the language set for
    translated errors. Previews only: no job is made."""
    import json
    import urllib.parse
    from common import make_session
    uid, _ = new_user(s, "vg-scene")
    tok = make_session(s, uid)
    csrf = s.sql("SELECT csrf FROM sessions ORDER BY id DESC LIMIT 1")[0][0]
    cookie = "kiln_session=" + tok
    form = "application/x-www-form-urlencoded"
    out = vg_cgi(s, "portal.fcgi", "GET", "/generate/manifest",
                 cookie=cookie)
    assert out.startswith("Status: 200") and 'id="scene-form"' in out, \
        out[:300]
    fields = {"csrf": csrf, "action": "scene", "scene_subject": "a mug",
              "scene_angle": "overhead", "scene_lens": "50mm",
              "scene_aperture": "2.8", "scene_materials": " metal,, glass ",
              "scene_width": "64", "scene_height": "64", "scene_seed": "7",
              "scene_loras": "film:0.5, grain",
              "manifest": json.dumps({"subject": "x", "loras": []})}
    for extra, status in (({}, "200"), ({"scene_aperture": "f8"}, "422"),
                          ({"scene_style": "no-such"}, "422")):
        out = vg_cgi(s, "portal.fcgi", "POST", "/generate/manifest",
                     urllib.parse.urlencode(dict(fields, **extra)).encode(),
                     form, cookie, what="POST scene %r" % extra)
        assert out.startswith("Status: " + status), (extra, out[:300])
    out = vg_cgi(s, "portal.fcgi", "POST", "/generate/manifest",
                 urllib.parse.urlencode({
                     "csrf": csrf, "action": "preview", "manifest":
                     json.dumps({"subject": "a chair", "camera": {
                         "angle": "low-angle", "lens_mm": 35},
                         "materials": ["wood"]})}).encode(),
                 form, cookie, what="POST manifest preview")
    assert out.startswith("Status: 200") and 'value="a chair"' in out, \
        out[:300]


def test_project_paths_are_memcheck_clean(s):
    """Projects (issue 29): making one, versions (a refused one too),
    the diff of two, a render queued, the pages of each. Last in the
    file: the kilnd test above counts every job."""
    import json
    import urllib.parse
    from common import make_key, make_session
    uid, _ = new_user(s, "vg-projects")
    key = make_key(s, uid, "read,generate")
    tok = make_session(s, uid)
    csrf = s.sql("SELECT csrf FROM sessions ORDER BY id DESC LIMIT 1")[0][0]
    auth, js = "Bearer " + key, "application/json"
    out = vg_cgi(s, "api.fcgi", "POST", "/api/v1/projects",
                 b'{"name": "vg project", "description": "d"}', js,
                 auth=auth, what="POST /api/v1/projects")
    assert out.startswith("Status: 201"), out[:300]
    pid = int(s.sql("SELECT MAX(id) FROM projects")[0][0])
    base = "/api/v1/projects/%d" % pid
    for v in ({"prompt": "a red mug", "seed": 1, "steps": 2, "width": 64,
               "height": 64, "camera": {"lens_mm": 50}, "l": [1, 2]},
              {"prompt": "a red mug", "seed": 2, "steps": 2, "width": 64,
               "height": 64, "camera": {"lens_mm": 85}, "l": [1]}):
        out = vg_cgi(s, "api.fcgi", "POST", base + "/shots/hero/versions",
                     json.dumps({"manifest": v, "note": "n"}).encode(), js,
                     auth=auth, what="POST versions")
        assert out.startswith("Status: 201"), out[:300]
    out = vg_cgi(s, "api.fcgi", "POST", base + "/shots/hero/versions",
                 b'{"manifest": [1], "note": 3}', js, auth=auth,
                 what="POST versions (bad)")
    assert out.startswith("Status: 400"), out[:300]
    out = vg_cgi(s, "api.fcgi", "PATCH", base, b'{"name": "", "team_id": 0}',
                 js, auth=auth, what="PATCH project (bad)")
    assert out.startswith("Status: 400"), out[:300]
    out = vg_cgi(s, "api.fcgi", "POST", base + "/shots/hero/versions/2/"
                 "render", auth=auth, what="POST render")
    assert out.startswith("Status: 202"), out[:300]
    # A scene manifest version: compiled through the presets.
    out = vg_cgi(s, "api.fcgi", "POST", base + "/shots/chair/versions",
                 b'{"manifest": {"subject": "a chair", "style": "editorial"}}',
                 js, auth=auth, what="POST scene version")
    assert out.startswith("Status: 201"), out[:300]
    out = vg_cgi(s, "api.fcgi", "POST", base + "/shots/chair/versions/1/"
                 "render", auth=auth, what="POST scene render")
    assert out.startswith("Status: 202"), out[:300]
    for path in (base, base + "/shots/hero/versions", "/api/v1/projects"):
        out = vg_cgi(s, "api.fcgi", "GET", path, auth=auth)
        assert out.startswith("Status: 200"), (path, out[:300])
    # The diffs, with their query string (vg_cgi sends none).
    for prog, path, hdr in (
            ("api.fcgi", base + "/shots/hero/diff",
             ("HTTP_AUTHORIZATION", auth)),
            ("portal.fcgi", "/projects/%d/shots/hero/diff" % pid,
             ("HTTP_COOKIE", "kiln_session=" + tok))):
        env = cgi_env(s, path, "a=1&b=2")
        env.update({hdr[0]: hdr[1], "HTTP_HOST": "127.0.0.1",
                    "REMOTE_ADDR": "127.0.0.9"})
        p = run(VG + [os.path.join(harness.BUILD, "cgi-bin", prog)],
                env=env, stdin=subprocess.DEVNULL, text=False, timeout=600)
        check_clean(p.stderr.decode(errors="replace"), prog + " diff")
        assert p.stdout.startswith(b"Status: 200"), p.stdout[:300]
    cookie = "kiln_session=" + tok
    for path in ("/projects", "/projects/%d" % pid,
                 "/projects/%d/shots/hero" % pid):
        out = vg_cgi(s, "portal.fcgi", "GET", path, cookie=cookie)
        assert out.startswith("Status: 200"), (path, out[:300])
    out = vg_cgi(s, "portal.fcgi", "POST", "/projects/%d/shots/hero/"
                 "versions" % pid, urllib.parse.urlencode(
                     {"csrf": csrf, "manifest": "{'a': 1}"}).encode(),
                 "application/x-www-form-urlencoded", cookie,
                 what="POST version page (bad)")
    assert out.startswith("Status: 422"), out[:300]
