"""Webhooks cannot be pointed at internal hosts: a webhook_url naming a
loopback, private, link-local, metadata or other internal address (in
every spelling curl accepts), carrying a user name, or not http(s) is
refused with a validation error naming webhook_url (JSON API, batch,
generate form, account page); at delivery kilnd resolves the host and
refuses any internal address, also for URLs that reached the database
some other way; the operator's [webhooks] allow list lets a loopback
receiver through; and the delivery log users see says only "refused
(address not allowed)", "could not connect", "timed out" or "HTTP NNN",
never the resolver's or curl's detail."""

import contextlib
import http.server
import json
import re
import socket
import threading
import urllib.parse

import harness
import test_daemon
from common import make_key, make_user, sha256, token
from harness import wait_until

# The web side runs with no allow list: everything internal is refused.
# kilnd is started by each delivery test with the config it needs.
STACK = dict(server="lighttpd", daemon=False,
             extra_conf="[limits]\nsubmit_burst = 100000\n")


# Every spelling of an internal receiver, and the other refused forms.
INTERNAL = [
    "http://127.0.0.1/hook", "http://127.0.0.1:8080/hook",
    "http://0x7f000001/", "http://0X7F000001:80/", "http://2130706433/",
    "http://0177.0.0.1/", "http://017700000001/", "http://127.1/",
    "http://127.0.1/", "http://127.0.0.1./", "http://[::1]/",
    "http://[::1]:9000/x", "http://[0:0:0:0:0:0:0:1]/",
    "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/",
    "http://169.254.169.254/latest/meta-data/", "http://169.254.43518/",
    "http://[::ffff:169.254.169.254]/", "http://[fd00:ec2::254]/",
    "http://10.0.0.1/", "http://172.16.0.1/", "http://172.31.255.254/",
    "http://192.168.1.1/", "http://100.64.0.1/", "http://[fc00::1]/",
    "http://[fd12:3456::1]/", "http://169.254.1.1/", "http://[fe80::1]/",
    "http://224.0.0.1/", "http://[ff02::1]/", "http://0.0.0.0/",
    "http://0/", "http://[::]/", "http://255.255.255.255/",
    "http://localhost/", "http://LOCALHOST:8080/", "http://localhost./",
    "http://kiln.localhost/",
]
MALFORMED = {
    "http://user:pass@hooks.example/": "user name or password",
    "https://user@hooks.example/": "user name or password",
    "http://hooks.example@127.0.0.1/": "user name or password",
    "ftp://hooks.example/": "http:// or https://",
    "gopher://127.0.0.1:6379/_INFO": "http:// or https://",
    "file:///etc/passwd": "http:// or https://",
    "http://[fe80::1%25eth0]/": "invalid IPv6 address",
    "http://1.2.3.4.5/": "invalid IPv4 address",
    "http://hooks.example:0/": "invalid port",
}
PUBLIC = ["https://hooks.example/kiln?x=1", "http://93.184.216.34:8080/h",
          "http://[2606:4700:4700::1111]/h"]

REFUSED = "refused (address not allowed)"


# ---------------------------------------------------------------- helpers

class Browser:
    """A signed-in browser: its session cookie, and forms posted with the
    page's CSRF token."""

    def __init__(self, s, uid):
        self.s = s
        self.tok = token()
        s.sql("INSERT INTO sessions (user_id, token_hash, csrf, expires_at)"
              " VALUES (%d, '%s', '%s', NOW() + INTERVAL 1 HOUR)" %
              (uid, sha256(self.tok), token()))

    def request(self, method, path, body=None, headers=None):
        h = {"Cookie": "kiln_session=" + self.tok}
        h.update(headers or {})
        return self.s.request(method, path, body=body, headers=h,
                              timeout=30)

    def get(self, path):
        return self.request("GET", path)

    def submit(self, page, action, fields):
        m = re.search(r'name="csrf" value="([^"]+)"', self.get(page).text)
        assert m, "no csrf token on %s" % page
        return self.request(
            "POST", action,
            body=urllib.parse.urlencode(dict(fields, csrf=m.group(1))),
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Origin": "http://127.0.0.1:%d" % self.s.port})


def api_post(s, key, path, body):
    return s.request("POST", path, body=json.dumps(body),
                     headers={"Authorization": "Bearer " + key,
                              "Content-Type": "application/json"},
                     timeout=30)


def n_jobs(s):
    return int(s.sql("SELECT COUNT(*) FROM jobs")[0][0])


def kilnd(s, name, **settings):
    """A kilnd for a with block, with test_daemon's test settings and one
    delivery attempt of at most 2 s; settings is {"section.key": value}."""
    want = {"webhooks.timeout": 2, "webhooks.max_attempts": 1}
    want.update(settings)
    return test_daemon.daemon(s, name, test_daemon.conf(s, **want))


class Receiver(http.server.BaseHTTPRequestHandler):
    """Answers each POST with the server's `answer` status (and Location,
    for a redirect), recording the paths it was sent."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append(self.path)
        self.send_response(self.server.answer)
        if self.server.location:
            self.send_header("Location", self.server.location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


@contextlib.contextmanager
def receiver(answer=200, location=None):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    srv.seen, srv.answer, srv.location = [], answer, location
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def delivery(s, uid, url):
    """A pending delivery to url for a finished job of uid, written
    straight into the database: past every check at submission, as a
    URL stored before them or by hand would be."""
    s.sql("INSERT INTO jobs (user_id, prompt, model, width, height, steps,"
          " cfg_scale, sampler, seed, status) VALUES (%d, 'p', 'kiln-micro',"
          " 64, 64, 1, 1, 'euler', 1, 'succeeded')" % uid)
    jid = int(s.sql("SELECT MAX(id) FROM jobs")[0][0])
    mid = "msg_" + token()[:24]
    s.sql("INSERT INTO webhook_deliveries (msg_id, job_id, user_id, event,"
          " url, payload) VALUES ('%s', %d, %d, 'job.succeeded', '%s',"
          " '{}')" % (mid, jid, uid, url))
    return mid


def outcome(s, mid, timeout=60):
    """(status, attempts, last_status, last_error) once the delivery was
    tried."""
    q = ("SELECT status, attempts, COALESCE(last_status, 'NULL'),"
         " COALESCE(last_error, 'NULL') FROM webhook_deliveries"
         " WHERE msg_id = '%s'" % mid)
    return tuple(wait_until(lambda: (lambda r: r[0][1] != "0" and r[0])(
        s.sql(q)), timeout=timeout, step=0.2, what="delivery %s" % mid))


def free_port():
    return harness.free_port()


# ---------------------------------------------------------------- submission

def test_api_refuses_internal_and_malformed_webhook_urls(s):
    key = make_key(s, make_user(s, "apiuser"), "read,generate")
    before = n_jobs(s)
    problems = []
    for url in INTERNAL + list(MALFORMED):
        r = api_post(s, key, "/api/v1/jobs",
                     {"prompt": "a red star", "steps": 1,
                      "webhook_url": url})
        if r.status != 400:
            problems.append("%s: HTTP %d %s" % (url, r.status, r.text[:200]))
            continue
        e = r.json()["error"]
        want = MALFORMED.get(url, "must not point at a")
        if e["code"] != "validation_failed" or \
                set(e.get("fields", {})) != {"webhook_url"} or \
                want not in e["fields"]["webhook_url"]:
            problems.append("%s: %r" % (url, e))
    assert not problems, "\n".join(problems)
    assert n_jobs(s) == before


def test_api_message_names_the_range_and_the_address(s):
    key = make_key(s, make_user(s, "apiuser2"), "read,generate")
    r = api_post(s, key, "/api/v1/jobs", {"prompt": "a red star",
                                          "webhook_url": "http://0x7f000001/"})
    assert r.status == 400, r.text
    assert r.json()["error"]["fields"] == {
        "webhook_url": "must not point at a loopback address (127.0.0.1)"}


def test_batch_refuses_an_internal_webhook_url_by_index(s):
    key = make_key(s, make_user(s, "batchuser"), "read,generate")
    before = n_jobs(s)
    r = api_post(s, key, "/api/v1/jobs/batch", {"jobs": [
        {"prompt": "one", "steps": 1},
        {"prompt": "two", "steps": 1,
         "webhook_url": "http://169.254.169.254/latest/meta-data/"}]})
    assert r.status == 400, r.text
    e = r.json()["error"]
    assert e["code"] == "validation_failed"
    assert list(e["fields"]) == ["jobs[1].webhook_url"], e
    assert "cloud metadata" in e["fields"]["jobs[1].webhook_url"], e
    assert n_jobs(s) == before


def test_public_webhook_urls_are_still_accepted(s):
    key = make_key(s, make_user(s, "publicuser"), "read,generate")
    try:
        for url in PUBLIC:
            r = api_post(s, key, "/api/v1/jobs",
                         {"prompt": "a red star", "steps": 1,
                          "webhook_url": url})
            assert r.status == 202, (url, r.status, r.text[:300])
            assert r.json()["webhook_url"] == url
    finally:
        # No daemon should render these later.
        s.sql("DELETE FROM jobs WHERE status = 'queued'")


def test_generate_form_refuses_an_internal_webhook_url(s):
    b = Browser(s, make_user(s, "formuser"))
    before = n_jobs(s)
    r = b.submit("/generate", "/generate",
                 {"prompt": "a red star", "steps": "1",
                  "webhook_url": "http://[::ffff:127.0.0.1]:8080/"})
    assert r.status == 422, (r.status, r.text[:300])
    assert "must not point at a loopback address (::ffff:127.0.0.1)" in \
        r.text
    assert n_jobs(s) == before


def test_account_page_refuses_internal_and_malformed_urls(s):
    uid = make_user(s, "pageuser")
    b = Browser(s, uid)
    r = b.submit("/account/webhooks", "/account/webhooks",
                 {"webhook_url": "https://hooks.example/mine"})
    assert r.status == 303, (r.status, r.text[:300])
    problems = []
    for url in INTERNAL + list(MALFORMED):
        r = b.submit("/account/webhooks", "/account/webhooks",
                     {"webhook_url": url})
        want = MALFORMED.get(url, "must not point at a")
        if r.status != 422 or "Webhook URL" not in r.text or \
                want not in r.text:
            problems.append("%s: HTTP %d" % (url, r.status))
    assert not problems, "\n".join(problems)
    assert s.sql("SELECT webhook_url FROM users WHERE id = %d" % uid) == \
        [["https://hooks.example/mine"]]


# ---------------------------------------------------------------- delivery

def test_a_name_resolving_to_loopback_is_refused_at_delivery(s):
    uid = make_user(s, "resolveuser")
    with receiver() as srv:
        port = srv.server_address[1]
        mid = delivery(s, uid, "http://localhost:%d/hook" % port)
        with kilnd(s, "resolve"):
            got = outcome(s, mid)
        assert got == ("failed", "1", "NULL", REFUSED), got
        assert srv.seen == [], srv.seen
    log = s.log("kilnd-resolve.log")
    assert re.search(r"localhost resolves to \S+, a loopback address", log), \
        log[-2000:]


def test_the_delivery_log_shows_refused_without_detail(s):
    uid = make_user(s, "loguser")
    b = Browser(s, uid)
    with receiver() as srv:
        mid = delivery(s, uid, "http://localhost:%d/hook" %
                       srv.server_address[1])
        with kilnd(s, "logpage"):
            outcome(s, mid)
    page = b.get("/account/webhooks")
    assert page.status == 200
    row = re.search(r'<tr id="delivery-\d+">(.*?)</tr>', page.text, re.S)
    assert row, page.text[-2000:]
    cells = re.sub(r"<[^>]+>", " ", row.group(1))
    assert REFUSED in cells, cells
    for detail in ("resolves", "loopback", "127.0.0.1", "::1"):
        assert detail not in cells, (detail, cells)


def test_internal_literals_stored_by_hand_are_refused_at_delivery(s):
    uid = make_user(s, "literaluser")
    with receiver() as srv:
        port = srv.server_address[1]
        mids = {url: delivery(s, uid, url) for url in (
            "http://127.0.0.1:%d/" % port, "http://0x7f000001:%d/" % port,
            "http://2130706433:%d/" % port, "http://127.1:%d/" % port,
            "http://[::ffff:127.0.0.1]:%d/" % port,
            "http://user:pw@127.0.0.1:%d/" % port,
            "gopher://127.0.0.1:%d/" % port)}
        with kilnd(s, "literal"):
            got = {url: outcome(s, mid) for url, mid in mids.items()}
        assert srv.seen == [], srv.seen
    wrong = {u: g for u, g in got.items()
             if g != ("failed", "1", "NULL", REFUSED)}
    assert not wrong, wrong


def test_an_allowed_loopback_receiver_gets_the_delivery(s):
    uid = make_user(s, "alloweduser")
    with receiver() as srv:
        port = srv.server_address[1]
        mid = delivery(s, uid, "http://127.0.0.1:%d/ok" % port)
        hex_mid = delivery(s, uid, "http://0x7f000001:%d/hex" % port)
        other = delivery(s, uid, "http://127.0.0.2:%d/no" % port)
        with kilnd(s, "allowed", **{"webhooks.allow": "127.0.0.1"}):
            got = [outcome(s, m) for m in (mid, hex_mid, other)]
        assert got[0] == ("delivered", "1", "200", "NULL"), got
        assert got[1] == ("delivered", "1", "200", "NULL"), got
        # Only what the list names: 127.0.0.2 is loopback too.
        assert got[2] == ("failed", "1", "NULL", REFUSED), got
        assert sorted(srv.seen) == ["/hex", "/ok"], srv.seen


def test_an_allowed_host_name_gets_the_delivery(s):
    uid = make_user(s, "allowedname")
    with receiver() as srv:
        mid = delivery(s, uid, "http://localhost:%d/byname" %
                       srv.server_address[1])
        with kilnd(s, "allowedname", **{"webhooks.allow": "localhost"}):
            got = outcome(s, mid)
        assert got == ("delivered", "1", "200", "NULL"), got
        assert srv.seen == ["/byname"]


def test_connection_failures_are_logged_for_users_without_detail(s):
    uid = make_user(s, "failuser")
    closed = free_port()
    # Listening but never accepting: the connection completes, no answer
    # comes.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        with receiver(answer=503) as srv:
            mids = [delivery(s, uid, "http://127.0.0.1:%d/" % closed),
                    delivery(s, uid, "http://127.0.0.1:%d/" %
                             silent.getsockname()[1]),
                    delivery(s, uid, "http://127.0.0.1:%d/" %
                             srv.server_address[1]),
                    delivery(s, uid, "http://no-such-host.invalid/")]
            with kilnd(s, "fail", **{"webhooks.allow": "127.0.0.1"}):
                got = [outcome(s, m) for m in mids]
    finally:
        silent.close()
    assert got == [("failed", "1", "NULL", "could not connect"),
                   ("failed", "1", "NULL", "timed out"),
                   ("failed", "1", "503", "HTTP 503"),
                   ("failed", "1", "NULL", "could not connect")], got
    # The operator's log keeps what curl and the resolver said.
    log = s.log("kilnd-fail.log")
    assert re.search(r"could not connect: .*(refused|Failed to connect)",
                     log), log[-2000:]
    assert "cannot resolve no-such-host.invalid" in log, log[-2000:]


def test_redirects_are_not_followed(s):
    uid = make_user(s, "redirectuser")
    with receiver() as inner:
        target = "http://127.0.0.1:%d/inner" % inner.server_address[1]
        with receiver(answer=307, location=target) as outer:
            mid = delivery(s, uid, "http://127.0.0.1:%d/outer" %
                           outer.server_address[1])
            with kilnd(s, "redirect", **{"webhooks.allow": "127.0.0.1"}):
                got = outcome(s, mid)
            assert outer.seen == ["/outer"]
        assert inner.seen == [], inner.seen
    assert got == ("failed", "1", "307", "HTTP 307"), got


def test_detail_stored_before_the_fix_is_not_shown(s):
    uid = make_user(s, "olduser")
    b = Browser(s, uid)
    mid = delivery(s, uid, "https://hooks.example/")
    s.sql("UPDATE webhook_deliveries SET status = 'failed', attempts = 8,"
          " last_error = 'Failed to connect to 10.0.0.5 port 22 after 3 ms:"
          " Connection refused' WHERE msg_id = '%s'" % mid)
    page = b.get("/account/webhooks").text
    row = re.search(r'<tr id="delivery-\d+">(.*?)</tr>', page, re.S)
    assert row, page[-2000:]
    assert "could not connect" in row.group(1), row.group(1)
    assert "10.0.0.5" not in page and "port 22" not in page
