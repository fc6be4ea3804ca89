"""Your data end to end behind lighttpd with a render daemon: the export
ZIP (made by kilnd's courier) holds every row of the account in every
table and every file of it, checked against the database and the
artifacts directory here, and nothing of another account; it downloads
once, to whoever asked, and answers 404 to anyone else; deleting the
account (password, two-factor code, the name typed) leaves no row that
names its id anywhere but the pseudonymised audit log and no file of it,
and leaves another account untouched; administrators export and delete
a user (audited; never the last admin).

Each test makes its own accounts with rows in every kind of table
(jobs with images and inputs, keys, sessions, webhooks and their
deliveries, uploads, audit entries, an idempotency key, options)."""

import hashlib
import http.server
import io
import json
import os
import re
import struct
import threading
import time
import zipfile
import zlib

from common import WebhookReceiver, make_key, one, sha256, token
from common import webhook_verify as verify
from harness import wait_until
from test_accounts import (PW, Browser, account, admin, api, csrf_of,
                           location, logged_in, user_id)
from test_two_factor import User as TwoFactorUser
from test_two_factor import mid_step, totp


class Events(WebhookReceiver):
    """The operators' receiver of site events ([webhooks] events_url)."""
    seen = []


EVENTS = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Events)
threading.Thread(target=EVENTS.serve_forever, daemon=True).start()

STACK = dict(server="lighttpd", daemon=True,
             extra_conf="[limits]\nlogin_burst = 100000\n"
             "[webhooks]\nallow = 127.0.0.1\n"
             "events_url = http://127.0.0.1:%d/events\n" %
             EVENTS.server_address[1])


def deleted_event(s, uid):
    """The account.deleted event kilnd delivered for uid, its signature
    checked with the site's secret: its data."""
    def find():
        for rec in Events.seen:
            ev = json.loads(rec["body"])
            if ev["type"] == "account.deleted" and \
                    ev["data"]["user_id"] == uid:
                return rec, ev
        return None
    wait_until(lambda: find() is not None, timeout=60, step=0.2,
               what="account.deleted for user %d" % uid)
    rec, ev = find()
    secret = one(s, "SELECT value FROM settings WHERE name ="
                 " 'webhook_secret'")
    assert verify(secret, rec), rec
    # Delivered once, about no job and no user (signed by the site).
    assert s.sql("SELECT job_id, user_id, status FROM webhook_deliveries"
                 " WHERE msg_id = '%s'" % rec["id"]) == [
        ["NULL", "NULL", "delivered"]]
    return ev["data"]

# Columns that change on their own after the export was made (a key's
# last use is the polling itself), or that the export's own row moves
# through; compared by presence only.
VOLATILE = {
    "api_keys": {"last_used_at", "last_used_ip"},
    "sessions": {"last_seen_at"},
    "trusted_devices": {"last_used_at"},
    "data_exports": {"status", "claimed_by", "lease_until", "path", "bytes",
                     "sha256", "files", "error", "finished_at",
                     "expires_at", "downloaded_at"},
    "users": {"updated_at", "last_login_at"},
    "known_devices": {"last_seen_at"},
}
# Left out of the export beside the secrets: a mail's text (live links).
WITHHELD = {("mail_outbox", "message")}
SECRET = re.compile(r"hash|secret|token|salt|csrf|sealed|password")


# ------------------------------------------------------------ fixtures

def png(seed):
    """A small valid PNG whose bytes depend on seed."""
    raw = b"".join(b"\0" + os.urandom(3 * 4) for _ in range(4))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data)))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)) +
            chunk(b"tEXt", b"parameters\0" + seed.encode()) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def store(s, key, data):
    path = s.path("artifacts", key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def q(v):
    return "'%s'" % v.replace("\\", "\\\\").replace("'", "''")


class Person:
    """An account with rows in every kind of table and files in the
    artifacts directory: name, id, password, API key, signed-in browser,
    job ids, storage keys, the words only its rows hold."""

    def __init__(self, s, prefix, two_factor=False):
        self.s = s
        if two_factor:
            u = TwoFactorUser(s, prefix)
            self.name, self.id, self.b, self.totp_key = u.name, u.id, u.b, \
                u.key
        else:
            self.name = account(s, prefix)
            self.id = int(user_id(s, self.name))
            self.b = logged_in(s, self.name, PW)
            self.totp_key = None
        self.mark = "mark" + token()[:12].replace("-", "x").replace("_", "y")
        self.key = make_key(s, self.id, "read,generate", "key " + self.mark)
        s.sql("UPDATE users SET webhook_url = 'http://127.0.0.1:9/%s',"
              " webhook_secret = '%s', display_name = 'Display %s'"
              " WHERE id = %d" % (self.mark, token()[:32], self.mark,
                                  self.id))
        s.sql("INSERT INTO sdapi_options (user_id, sd_model_checkpoint)"
              " VALUES (%d, 'kiln-micro')" % self.id)
        self.jobs, self.keys = [], []
        for i in range(2):
            prompt = "a kiln at dusk %s %d" % (self.mark, i)
            s.sql("INSERT INTO jobs (user_id, status, prompt, model, width,"
                  " height, steps, cfg_scale, sampler, seed, cost,"
                  " finished_at) VALUES (%d, 'succeeded', %s, 'kiln-micro',"
                  " 64, 64, 2, 4.5, 'euler', %d, 8, NOW(3))" %
                  (self.id, q(prompt), 1000 + i))
            jid = int(one(s, "SELECT MAX(id) FROM jobs WHERE user_id = %d"
                          % self.id))
            self.jobs.append(jid)
            img = "jobs/%d/0.png" % jid
            store(s, img, png("%s image %d" % (self.mark, i)))
            s.sql("INSERT INTO job_images (job_id, idx, seed, path, width,"
                  " height) VALUES (%d, 0, %d, '%s', 4, 4)" %
                  (jid, 1000 + i, img))
            self.keys.append(img)
            if i == 0:
                # The float master a render keeps beside its PNG: a
                # file of the user that no row names (the second image
                # has none, as one made before masters were kept).
                master = "jobs/%d/0.exr" % jid
                store(s, master, b"v/1\x01 master of " + self.mark.encode())
                self.keys.append(master)
            s.sql("INSERT INTO webhook_deliveries (msg_id, job_id, user_id,"
                  " event, url, payload, status) VALUES ('msg_%s_%d', %d,"
                  " %d, 'job.succeeded', 'http://127.0.0.1:9/%s',"
                  " '{\"prompt\": \"%s\"}', 'delivered')" %
                  (self.mark, i, jid, self.id, self.mark, self.mark))
        init = "jobs/%d/inputs/init.png" % self.jobs[0]
        data = png(self.mark + " input")
        store(s, init, data)
        s.sql("UPDATE jobs SET denoising_strength = 0.5 WHERE id = %d" %
              self.jobs[0])
        s.sql("INSERT INTO job_inputs (job_id, kind, path, width, height,"
              " bytes, sha256) VALUES (%d, 'init', '%s', 4, 4, %d, '%s')" %
              (self.jobs[0], init, len(data),
               hashlib.sha256(data).hexdigest()))
        self.keys.append(init)
        data = png(self.mark + " upload")
        digest = hashlib.sha256(data).hexdigest()
        up = "uploads/%d/%s.png" % (self.id, digest)
        store(s, up, data)
        s.sql("INSERT INTO comfy_uploads (user_id, name, path, width,"
              " height, bytes, sha256) VALUES (%d, 'up-%s.png', '%s', 4, 4,"
              " %d, '%s')" % (self.id, self.mark, up, len(data), digest))
        self.keys.append(up)
        s.sql("INSERT INTO idempotency_keys (user_id, idem_key, body_hash,"
              " job_id) VALUES (%d, 'idem-%s', '%s', %d)" %
              (self.id, self.mark, "0" * 64, self.jobs[1]))
        s.sql("INSERT INTO batches (user_id, name, jobs) VALUES (%d,"
              " 'batch-%s.csv', 2)" % (self.id, self.mark))
        s.sql("UPDATE jobs SET batch_id = LAST_INSERT_ID(), batch_row = 2"
              " WHERE id = %d" % self.jobs[1])
        s.sql("UPDATE users SET email = '%s@example.org',"
              " email_verified_at = NOW(3) WHERE id = %d" % (self.mark,
                                                              self.id))
        self.mail_token = token()
        s.sql("INSERT INTO email_tokens (user_id, purpose, token_hash,"
              " email, expires_at) VALUES (%d, 'reset', '%s',"
              " '%s@example.org', NOW() + INTERVAL 1 HOUR)" %
              (self.id, sha256(self.mail_token), self.mark))
        s.sql("INSERT INTO mail_outbox (user_id, kind, sender, recipient,"
              " message, status) VALUES (%d, 'reset', 'kiln@example.org',"
              " '%s@example.org', 'Reset: /password/reset/%s', 'sent')" %
              (self.id, self.mark, self.mail_token))
        s.sql("INSERT INTO known_devices (user_id, fingerprint) VALUES"
              " (%d, '%s')" % (self.id, sha256(self.mark)))
        # Its first image on the public gallery.
        s.sql("INSERT INTO published_images (job_id, idx, user_id,"
              " published_at) VALUES (%d, 0, %d, NOW(3))" %
              (self.jobs[0], self.id))
        s.sql("INSERT INTO audit_log (actor_id, actor, ip, action,"
              " target_id, target, detail) VALUES (%d, '%s', '10.1.2.3',"
              " 'profile_change', %d, '%s', 'display name of %s set')" %
              (self.id, self.name, self.id, self.name, self.name))


def export_via_api(s, p):
    """Asks for p's export over the API and waits until it is ready: its
    JSON."""
    r = api(s, "POST", "/api/v1/account/export", p.key)
    assert r.status == 202, "%d %s" % (r.status, r.text[:800])
    eid = r.json()["id"]

    def ready():
        j = api(s, "GET", "/api/v1/account/export", p.key).json()
        assert j["id"] == eid, j
        assert j["status"] not in ("failed", "expired"), j
        return j if j["status"] == "ready" else None
    return wait_until(ready, timeout=60, step=0.2,
                      what="export %d to be ready" % eid)


def columns(s, table):
    return [r[0] for r in s.sql(
        "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE"
        " TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '%s' ORDER BY"
        " ORDINAL_POSITION" % table)]


def user_refs(s):
    """(table, column) of every integer column that can name an account,
    found by its name: *user_id, *owner*, *_by, actor_id, target_id, and
    users.id."""
    rows = s.sql("SELECT TABLE_NAME, COLUMN_NAME FROM"
                 " information_schema.COLUMNS WHERE TABLE_SCHEMA ="
                 " DATABASE() AND DATA_TYPE = 'bigint' AND (COLUMN_NAME"
                 " LIKE '%user_id' OR COLUMN_NAME LIKE '%owner%' OR"
                 " COLUMN_NAME LIKE '%\\_by' OR COLUMN_NAME IN ('actor_id',"
                 " 'target_id'))")
    # And any column with a foreign key to users (image_reports'
    # reporter_id).
    rows += s.sql("SELECT TABLE_NAME, COLUMN_NAME FROM"
                  " information_schema.KEY_COLUMN_USAGE WHERE"
                  " TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME ="
                  " 'users' AND TABLE_NAME <> 'users'")
    return sorted(set(tuple(r) for r in rows)) + [("users", "id")]


def job_tables(s):
    return [r[0] for r in s.sql(
        "SELECT TABLE_NAME FROM information_schema.COLUMNS WHERE"
        " TABLE_SCHEMA = DATABASE() AND COLUMN_NAME = 'job_id'")]


def rows_about(s, uid):
    """Every row about uid, table by table, as the mariadb client prints
    them: {table: [ {column: text or None} ]}."""
    where = {}
    for t, c in user_refs(s):
        where.setdefault(t, []).append("`%s` = %d" % (c, uid))
    for t in job_tables(s):
        where.setdefault(t, []).append(
            "job_id IN (SELECT id FROM jobs WHERE user_id = %d)" % uid)
    out = {}
    for t, conds in where.items():
        cols = columns(s, t)
        rows = s.sql("SELECT * FROM `%s` WHERE %s" % (t, " OR ".join(conds)))
        out[t] = [{c: (None if v == "NULL" else v) for c, v in zip(cols, r)}
                  for r in rows]
    return out


def cli_text(v):
    """A value as `mariadb -B` prints it (its escapes); NULL as a word no
    text is, so that rows sort."""
    if v is None:
        return "\0NULL"
    return (v.replace("\\", "\\\\").replace("\n", "\\n")
            .replace("\t", "\\t").replace("\0", "\\0"))


def open_zip(data):
    assert data[:2] == b"PK", data[:64]
    return zipfile.ZipFile(io.BytesIO(data))


def download(s, p, eid, want=200):
    r = api(s, "GET", "/api/v1/account/export/%d" % eid, p.key)
    assert r.status == want, "%d %s" % (r.status, r.body[:300])
    return r


# ---------------------------------------------------------------- export

def test_the_export_holds_every_row_and_file_of_the_user_only(s):
    a, b = Person(s, "da"), Person(s, "db")
    j = export_via_api(s, a)
    # The database as the export saw it: nothing of A changes between
    # the export and here but the volatile columns.
    want = rows_about(s, a.id)
    data = download(s, a, j["id"]).body
    assert hashlib.sha256(data).hexdigest() == j["sha256"], j
    assert len(data) == j["bytes"], j
    z = open_zip(data)
    names = z.namelist()
    man = __import__("json").loads(z.read("manifest.json"))
    assert man["schema_version"] == 1 and man["user"] == {
        "id": a.id, "username": a.name}, man
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$",
                    man["generated_at"]), man
    # Every entry but the manifest is described, with its true digest.
    listed = {f["name"]: f for f in man["files"]}
    assert set(listed) == set(names) - {"manifest.json"}, (listed, names)
    for n in listed:
        body = z.read(n)
        assert listed[n]["sha256"] == hashlib.sha256(body).hexdigest(), n
        assert listed[n]["bytes"] == len(body), n
    # Every table's rows of A, column by column (secrets left out).
    got = {}
    for n in names:
        if n.endswith(".json") and n != "manifest.json":
            for t, rows in __import__("json").loads(z.read(n)).get(
                    "tables", {}).items():
                assert t not in got, "table %s in two files" % t
                got[t] = rows
    for t, rows in want.items():
        assert t in got, "table %s (%d rows of A) not exported" % (
            t, len(rows))
        assert man["counts"][t] == len(got[t]), (t, man["counts"])
        skip = VOLATILE.get(t, set())
        key = lambda r: sorted((c, cli_text(v)) for c, v in r.items()
                               if c not in skip and not SECRET.search(c)
                               and (t, c) not in WITHHELD)
        exp = sorted(key(r) for r in rows)
        have = sorted(key(r) for r in got[t])
        assert exp == have, "table %s:\nDB:     %r\nexport: %r" % (
            t, exp, have)
        for r in got[t]:
            assert not any(SECRET.search(c) for c in r), (t, r.keys())
    assert len(want["jobs"]) == 2 and len(want["job_images"]) == 2 and \
        len(want["audit_log"]) >= 2, want
    # Every file of A, byte for byte what the artifacts directory holds.
    for k in a.keys:
        with open(s.path("artifacts", k), "rb") as f:
            assert z.read("files/" + k) == f.read(), k
    # Nothing of B, and no secret of A.
    blob = b"".join(z.read(n) for n in names)
    for word in (b.name, b.mark, b.key[:13], "/%d/" % b.id) + tuple(
            "jobs/%d/" % x for x in b.jobs):
        assert word.encode() not in blob, word
    assert want["batches"] and want["email_tokens"] and \
        want["mail_outbox"] and want["known_devices"], want.keys()
    for secret in (a.key, sha256(a.key), a.mail_token,
                   sha256(a.mail_token), one(
            s, "SELECT webhook_secret FROM users WHERE id = %d" % a.id),
            one(s, "SELECT password_hash FROM users WHERE id = %d" % a.id),
            one(s, "SELECT token_hash FROM sessions WHERE user_id = %d"
                " LIMIT 1" % a.id)):
        assert secret.encode() not in blob, "a secret in the export"
    two = __import__("json").loads(z.read("two_factor.json"))
    assert two["enabled"] is False, two
    hooks = __import__("json").loads(z.read("webhooks.json"))
    assert hooks["settings"] == {"url": "http://127.0.0.1:9/" + a.mark,
                                 "secret_set": True}, hooks["settings"]


def test_an_export_downloads_once_and_only_to_its_owner(s):
    a, b = Person(s, "dc"), Person(s, "dd")
    eid = export_via_api(s, a)["id"]
    # Another account: 404 over the API and on the page, and that
    # spends nothing.
    download(s, b, eid, 404)
    r = b.b.get("/account/data/export/%d" % eid)
    assert r.status == 404, r.status
    key = one(s, "SELECT path FROM data_exports WHERE id = %d" % eid)
    # Its name carries 64 random bits beside the id.
    assert re.match(r"exports/%d-[0-9a-f]{16}\.zip$" % eid, key), key
    assert os.path.exists(s.path("artifacts", key)), key
    assert os.stat(s.path("artifacts", key)).st_mode & 0o777 == 0o640
    open_zip(download(s, a, eid).body)
    assert not os.path.exists(s.path("artifacts", key)), key
    download(s, a, eid, 410)
    r = a.b.get("/account/data/export/%d" % eid)
    assert r.status == 410, r.status
    st = api(s, "GET", "/api/v1/account/export", a.key).json()
    assert st["status"] == "downloaded" and st["download_url"] is None, st
    assert one(s, "SELECT COUNT(*) FROM audit_log WHERE action ="
               " 'data_export_download' AND target_id = %d" % a.id) == "1"


def test_the_page_asks_for_an_export_and_shows_its_download(s):
    a = Person(s, "de")
    r = a.b.submit("/account/data/export", {}, page="/account/data")
    assert r.status == 303 and location(r) == "/account/data?done=export", \
        (r.status, location(r))
    eid = int(one(s, "SELECT MAX(id) FROM data_exports WHERE user_id = %d"
                  % a.id))
    link = "/account/data/export/%d" % eid
    page = wait_until(lambda: (lambda p: link in p.text and p)(
        a.b.get("/account/data")), timeout=60, step=0.3,
        what="the download link")
    assert "ready" in page.text
    r = a.b.get(link)
    assert r.status == 200 and r.headers["content-type"] == \
        "application/zip", (r.status, r.headers)
    assert "kiln-export-%d.zip" % eid in r.headers["content-disposition"]
    man = __import__("json").loads(open_zip(r.body).read("manifest.json"))
    assert man["user"]["id"] == a.id
    assert link not in a.b.get("/account/data").text


def test_an_admin_exports_a_users_data_for_themselves_audited(s):
    a = Person(s, "df")
    adm = admin(s)
    r = adm.submit("/admin/users/%d/export" % a.id, {},
                   page="/admin/users/%d" % a.id)
    assert r.status == 303, r.status
    row = s.sql("SELECT actor, target_id, detail FROM audit_log WHERE"
                " action = 'data_export' AND target_id = %d" % a.id)
    assert len(row) == 1 and row[0][0] == "admin", row
    eid = int(one(s, "SELECT MAX(id) FROM data_exports WHERE user_id = %d"
                  % a.id))
    link = "/account/data/export/%d" % eid
    wait_until(lambda: link in adm.get("/admin/users/%d" % a.id).text,
               timeout=60, step=0.3, what="the admin's download link")
    # Whoever asked downloads it: not the user.
    assert a.b.get(link).status == 404
    download(s, a, eid, 404)
    r = adm.get(link)
    assert r.status == 200, r.status
    man = __import__("json").loads(open_zip(r.body).read("manifest.json"))
    assert man["user"] == {"id": a.id, "username": a.name}, man
    row = s.sql("SELECT actor, target FROM audit_log WHERE action ="
                " 'data_export_download' AND target_id = %d" % a.id)
    assert row == [["admin", a.name]], row


# ---------------------------------------------------------------- delete

def delete_form(p, **fields):
    page = p.b.get("/account/data")
    assert page.status == 200, page.status
    f = dict(password=PW, confirm=p.name, csrf=csrf_of(page))
    f.update(fields)
    return p.b.post("/account/data/delete", f)


def field_error(r, field, words):
    assert r.status == 422, (r.status, r.text[:500])
    m = re.search(r'<p class="field-error">([^<]*)</p>', r.text)
    assert m and m.group(1).startswith(words), (field, m and m.group(1))
    assert 'id="%s"' % field in r.text


def test_deleting_refuses_a_wrong_password_code_or_name(s):
    a = Person(s, "dg", two_factor=True)
    field_error(delete_form(a, password="Wrong-Horse-0000"), "password",
                "Password: wrong")
    field_error(delete_form(a), "code", "Code: two-factor login is on")
    field_error(delete_form(a, code="000000"), "code", "Code: wrong")
    field_error(delete_form(a, code=totp(a.totp_key, mid_step()),
                            confirm=a.name + "x"), "confirm", "Confirm:")
    assert one(s, "SELECT COUNT(*) FROM users WHERE id = %d" % a.id) == "1"
    assert one(s, "SELECT disabled FROM users WHERE id = %d" % a.id) == "0"


def files_under(s, *prefixes):
    out = []
    for pre in prefixes:
        for d, _, fs in os.walk(s.path("artifacts", pre)):
            out += [os.path.join(d, f) for f in fs]
    return out


def honour_cancel(s, jid):
    """Another daemon's part: it sees the cancel request of its running
    job jid and ends the job canceled."""
    def run():
        deadline = time.time() + 30
        while time.time() < deadline:
            if one(s, "SELECT cancel_requested FROM jobs WHERE id = %d" %
                   jid) == "1":
                time.sleep(0.5)
                s.sql("UPDATE jobs SET status = 'canceled', claimed_by ="
                      " NULL, lease_until = NULL, finished_at = NOW(3)"
                      " WHERE id = %d" % jid)
                return
            time.sleep(0.1)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_deleting_leaves_nothing_of_the_user_but_pseudonymous_audit(s):
    a = Person(s, "dh", two_factor=True)
    b = Person(s, "di")
    # An export of A waiting for its download, one running job (of
    # another daemon, which honours the cancel) and a queued one.
    eid = export_via_api(s, a)["id"]
    export_key = one(s, "SELECT path FROM data_exports WHERE id = %d" % eid)
    s.sql("INSERT INTO jobs (user_id, status, prompt, model, width, height,"
          " steps, cfg_scale, sampler, seed, claimed_by, lease_until,"
          " attempt, started_at) VALUES (%d, 'running', 'x', 'kiln-micro',"
          " 64, 64, 2, 4, 'euler', 1, 'elsewhere', NOW() + INTERVAL 1 HOUR,"
          " 1, NOW(3))" % a.id)
    running = int(one(s, "SELECT MAX(id) FROM jobs WHERE user_id = %d" %
                      a.id))
    s.sql("INSERT INTO jobs (user_id, status, prompt, model, width, height,"
          " steps, cfg_scale, sampler, seed, priority) VALUES (%d, 'queued',"
          " 'y', 'no-such-model', 64, 64, 2, 4, 'euler', 1, -100)" % a.id)
    a_jobs = [r[0] for r in s.sql("SELECT id FROM jobs WHERE user_id = %d"
                                  % a.id)]
    audit_before = int(one(s, "SELECT COUNT(*) FROM audit_log WHERE"
                           " actor_id = %d OR target_id = %d" %
                           (a.id, a.id)))
    # A, a moderator, reported and hid B's published image: the report
    # is A's and goes; the publication is B's and stays, hidden by nobody.
    b_pub = int(one(s, "SELECT id FROM published_images WHERE user_id = %d"
                    % b.id))
    s.sql("UPDATE published_images SET hidden_at = NOW(3), hidden_by = %d"
          " WHERE id = %d" % (a.id, b_pub))
    s.sql("INSERT INTO image_reports (published_id, reporter_id, reason)"
          " VALUES (%d, %d, 'spam')" % (b_pub, a.id))
    b_before = rows_about(s, b.id)
    for row in b_before["published_images"]:
        row["hidden_by"] = None
    b_files = sorted(files_under(s, *("jobs/%d" % j for j in b.jobs),
                                 "uploads/%d" % b.id))
    assert len(b_files) == 5, b_files
    t = honour_cancel(s, running)
    r = delete_form(a, code=totp(a.totp_key, mid_step()))
    t.join()
    assert r.status == 303 and location(r) == "/?deleted=1", (
        r.status, r.text[:800])
    # The browser is signed out; its key no longer works.
    assert a.b.get("/account").status == 303
    assert api(s, "GET", "/api/v1/me", a.key).status == 401
    # No row names A's id, in any table, but the audit log's, which name
    # the pseudonym instead.
    for t_, c in user_refs(s):
        n = one(s, "SELECT COUNT(*) FROM `%s` WHERE `%s` = %d" % (t_, c,
                                                                  a.id))
        assert n == "0", "%s.%s still names user %d" % (t_, c, a.id)
    for t_ in job_tables(s):
        n = one(s, "SELECT COUNT(*) FROM `%s` WHERE job_id IN (%s)" % (
            t_, ",".join(a_jobs)))
        assert n == "0", "%s still holds A's jobs" % t_
    assert one(s, "SELECT COUNT(*) FROM jobs WHERE id IN (%s)" %
               ",".join(a_jobs)) == "0"
    for col in ("actor", "target", "detail"):
        n = one(s, "SELECT COUNT(*) FROM audit_log WHERE `%s` LIKE '%%%s%%'"
                % (col, a.name))
        assert n == "0", "audit_log.%s still names %s" % (col, a.name)
    pseud = one(s, "SELECT target FROM audit_log WHERE action ="
                " 'account_delete' ORDER BY id DESC LIMIT 1")
    assert re.match(r"deleted-user-[0-9a-f]{16}$", pseud), pseud
    kept = s.sql("SELECT action, ip FROM audit_log WHERE actor = '%s' OR"
                 " target = '%s'" % (pseud, pseud))
    # Every entry by or about A is kept (and the deletion's own), none
    # with A's addresses.
    assert len(kept) >= audit_before + 1, (len(kept), audit_before)
    assert ("profile_change", "") in [tuple(k) for k in kept], kept
    assert "10.1.2.3" not in str(kept)
    # No file of A remains.
    left = files_under(s, *("jobs/%s" % j for j in a_jobs),
                       "uploads/%d" % a.id)
    assert left == [], left
    assert not os.path.exists(s.path("artifacts", export_key)), export_key
    assert s.sql("SELECT hidden_by, hidden_at IS NOT NULL FROM"
                 " published_images WHERE id = %d" % b_pub) == [["NULL", "1"]]
    assert one(s, "SELECT COUNT(*) FROM image_reports WHERE published_id ="
               " %d" % b_pub) == "0"
    # B is untouched, rows and files (but the hider's id).
    assert rows_about(s, b.id) == b_before
    assert sorted(files_under(s, *("jobs/%d" % j for j in b.jobs),
                              "uploads/%d" % b.id)) == b_files
    assert api(s, "GET", "/api/v1/me", b.key).status == 200
    # The operators are told, by id only: nothing of the person.
    assert deleted_event(s, a.id) == {"user_id": a.id, "by": "self"}


def test_an_admin_deletes_a_user_after_confirming_not_the_last_admin(s):
    a = Person(s, "dj")
    adm = admin(s)
    page = adm.get("/admin/users/%d/delete" % a.id)
    assert page.status == 200 and a.name in page.text, page.status
    r = adm.post("/admin/users/%d/delete" % a.id,
                 {"confirm": "nobody", "csrf": csrf_of(page)})
    assert r.status == 422 and "Confirm:" in r.text, r.status
    assert one(s, "SELECT COUNT(*) FROM users WHERE id = %d" % a.id) == "1"
    r = adm.post("/admin/users/%d/delete" % a.id,
                 {"confirm": a.name, "csrf": csrf_of(page)})
    assert r.status == 303, (r.status, r.text[:500])
    assert one(s, "SELECT COUNT(*) FROM users WHERE id = %d" % a.id) == "0"
    row = s.sql("SELECT actor, target FROM audit_log WHERE action ="
                " 'account_delete' ORDER BY id DESC LIMIT 1")
    assert row[0][0] == "admin" and row[0][1].startswith("deleted-user-"), \
        row
    assert deleted_event(s, a.id) == {"user_id": a.id, "by": "admin"}
    assert files_under(s, *("jobs/%d" % j for j in a.jobs),
                       "uploads/%d" % a.id) == []
    # The stack's admin is its only one: it may not delete itself.
    if one(s, "SELECT COUNT(*) FROM users WHERE role = 'admin' AND"
           " disabled = 0") == "1":
        me = int(user_id(s, "admin"))
        page = adm.get("/admin/users/%d/delete" % me)
        r = adm.post("/admin/users/%d/delete" % me,
                     {"confirm": "admin", "csrf": csrf_of(page)})
        assert r.status == 409, (r.status, r.text[:300])
        assert one(s, "SELECT COUNT(*) FROM users WHERE id = %d" % me) == "1"


def test_an_admin_who_deletes_themselves_is_named_by_the_pseudonym_only(s):
    a = Person(s, "dk")
    s.sql("UPDATE users SET role = 'admin' WHERE id = %d" % a.id)
    page = a.b.get("/admin/users/%d/delete" % a.id)
    assert page.status == 200, page.status
    r = a.b.post("/admin/users/%d/delete" % a.id,
                 {"confirm": a.name, "csrf": csrf_of(page)})
    assert r.status == 303 and location(r) == "/?deleted=1", r.status
    row = s.sql("SELECT actor, actor_id, target, ip FROM audit_log WHERE"
                " action = 'account_delete' ORDER BY id DESC LIMIT 1")
    assert row[0][0] == row[0][2] and row[0][0].startswith(
        "deleted-user-") and row[0][1] == "NULL" and row[0][3] == "", row
    for t_, c in user_refs(s):
        assert one(s, "SELECT COUNT(*) FROM `%s` WHERE `%s` = %d" % (
            t_, c, a.id)) == "0", (t_, c)
