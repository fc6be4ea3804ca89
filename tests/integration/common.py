"""common.py - facts the integration tests compute from the source tree,
so expected values never come from the code under test, and the helpers
with which each test makes its own fixtures (users, keys, sessions,
jobs) and talks to the API."""

import base64
import contextlib
import glob
import hashlib
import hmac
import http.server
import json
import os
import re
import threading

from harness import ROOT


def kiln_version():
    with open(os.path.join(ROOT, "lib", "util.h")) as f:
        return re.search(r'#define KILN_VERSION "([^"]+)"', f.read()).group(1)


def migration_files():
    """(version, name, sha256) of every sql/NNN_name.sql, in order."""
    out = []
    for p in glob.glob(os.path.join(ROOT, "sql", "*.sql")):
        name = os.path.basename(p)
        m = re.match(r"^(\d{3,})_[a-z0-9_]+\.sql$", name)
        if m:
            with open(p, "rb") as f:
                out.append((int(m.group(1)), name,
                            hashlib.sha256(f.read()).hexdigest()))
    return sorted(out)


def check_security_headers(resp, where):
    csp = resp.headers.get("content-security-policy", "")
    assert csp, "%s: no Content-Security-Policy" % where
    assert "unsafe-inline" not in csp, "%s: CSP allows unsafe-inline" % where
    assert "frame-ancestors 'none'" in csp, "%s: CSP: %s" % (where, csp)
    assert resp.headers.get("x-content-type-options") == "nosniff", where
    assert resp.headers.get("referrer-policy"), where


def png_decode(data):
    """(width, height, rows) of a non-interlaced PNG, decoded here with
    zlib: 8-bit grey, RGB, grey+alpha or RGBA, or a 1/2/4/8-bit palette;
    rows[y][x] is an (r, g, b) tuple. Enough for the images kiln writes
    and libgd's."""
    import struct
    import zlib
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:16]
    pos, idat, plte = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        assert zlib.crc32(kind + body) == struct.unpack(
            ">I", data[pos + 8 + n:pos + 12 + n])[0], "bad CRC in " + str(kind)
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB",
                                                                body)
            assert interlace == 0 and (depth == 8 or (
                ctype == 3 and depth in (1, 2, 4))), (depth, interlace)
        elif kind == b"PLTE":
            plte = [tuple(body[i:i + 3]) for i in range(0, n, 3)]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    bpp = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
    raw = zlib.decompress(idat)
    stride = w * bpp if depth == 8 else (w * depth + 7) // 8
    prev = bytearray(stride)
    rows = []
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pr) & 255
            else:
                assert f == 0, "filter %d" % f
        prev = line
        px = []
        for x in range(w):
            v = line[x * bpp:(x + 1) * bpp]
            if ctype == 3 and depth < 8:
                bit = x * depth
                v = (line[bit // 8] >> (8 - depth - bit % 8)) & \
                    ((1 << depth) - 1)
                px.append(plte[v])
            elif ctype == 3:
                px.append(plte[v[0]])
            elif ctype in (0, 4):
                px.append((v[0], v[0], v[0]))
            else:
                px.append(tuple(v[:3]))
        rows.append(px)
    return w, h, rows


def models_with_micro(stack_dir):
    """A models folder in a stack's directory holding kiln-micro (its
    files linked), for Stack(models=...) functions to add to; returns
    the folder."""
    root = os.path.join(stack_dir, "models")
    src = os.path.join(ROOT, "models", "kiln-micro")
    os.makedirs(os.path.join(root, "kiln-micro"))
    for name in os.listdir(src):
        os.symlink(os.path.join(src, name),
                   os.path.join(root, "kiln-micro", name))
    return root


def file_sha256(path, skip_header=False):
    """The file's SHA-256 as A1111 hashes a checkpoint or an embedding,
    or (skip_header: a LoRA) kohya's addnet hash of the bytes after its
    safetensors header."""
    with open(path, "rb") as f:
        data = f.read()
    if skip_header:
        data = data[8 + int.from_bytes(data[:8], "little"):]
    return hashlib.sha256(data).hexdigest()


def png_parameters(data):
    """The "parameters" of a PNG, read by hand: a tEXt chunk in Latin-1
    or an uncompressed iTXt in UTF-8 (what Pillow's add_text writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos = 8
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        if kind == b"tEXt":
            k, v = body.split(b"\0", 1)
            if k == b"parameters":
                return v.decode("latin-1")
        if kind == b"iTXt":
            k, rest = body.split(b"\0", 1)
            if k == b"parameters":
                assert rest[:2] == b"\0\0", rest[:2]
                _lang, _tkey, v = rest[2:].split(b"\0", 2)
                return v.decode("utf-8")
        pos += 12 + n
    raise AssertionError("no parameters chunk")


def micro_models(max_side):
    """For Stack(models=...): a function that makes, in a stack's
    directory, a models folder holding kiln-micro (its weights linked)
    whose kiln.json raises the model's largest side to max_side, as an
    operator may; returns the folder."""
    def make(stack_dir):
        src = os.path.join(ROOT, "models", "kiln-micro")
        dst = os.path.join(stack_dir, "models", "kiln-micro")
        os.makedirs(dst)
        for name in os.listdir(src):
            if name != "kiln.json":
                os.symlink(os.path.join(src, name), os.path.join(dst, name))
        with open(os.path.join(src, "kiln.json")) as f:
            card = json.load(f)
        card["limits"] = {"max_side": max_side}
        with open(os.path.join(dst, "kiln.json"), "w") as f:
            json.dump(card, f)
        return os.path.dirname(dst)
    return make


# ------------------------------------------- accounts, keys and the API
# Users, keys and sessions are made directly in SQL.

def token():
    """43 characters: unpadded urlsafe base64 of 32 random bytes."""
    return base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def one(s, query):
    rows = s.sql(query)
    assert len(rows) == 1 and len(rows[0]) == 1, "%s: %r" % (query, rows)
    return rows[0][0]


def make_user(s, name):
    s.sql("INSERT INTO users (username, password_hash, role) VALUES"
          " ('%s', '$argon2id$x', 'user')" % name)
    return int(one(s, "SELECT id FROM users WHERE username = '%s'" % name))


def make_key(s, uid, scopes, name="test key"):
    key = "kiln_" + token()
    assert len(key) == 48
    s.sql("INSERT INTO api_keys (user_id, name, prefix, key_hash, scopes)"
          " VALUES (%d, '%s', '%s', '%s', '%s')" %
          (uid, name, key[:13], sha256(key), scopes))
    return key


def make_session(s, uid, expires="NOW() + INTERVAL 1 HOUR"):
    tok = token()
    s.sql("INSERT INTO sessions (user_id, token_hash, csrf, expires_at)"
          " VALUES (%d, '%s', '%s', %s)" % (uid, sha256(tok), token(),
                                            expires))
    return tok


def api(s, method, path, key=None, body=None, raw=None,
        ctype="application/json", headers=None):
    """One API request; body is sent as JSON, raw as given. Every response
    is checked for the security headers."""
    h = {}
    if key is not None:
        h["Authorization"] = "Bearer " + key
    data = None
    if body is not None:
        data = json.dumps(body)
    elif raw is not None:
        data = raw
    if data is not None and ctype is not None:
        h["Content-Type"] = ctype
    h.update(headers or {})
    r = s.request(method, path, body=data, headers=h, timeout=30)
    check_security_headers(r, "%s %s -> %d" % (method, path, r.status))
    return r


def is_json(r):
    assert r.headers.get("content-type", "").startswith(
        "application/json"), r.headers
    try:
        return json.loads(r.body)
    except ValueError as e:
        pos = getattr(e, "pos", getattr(e, "start", 0))
        raise AssertionError("the answer (%d) is not valid JSON: %s; near"
                             " %r" % (r.status, e, r.body[max(0, pos - 60):
                                                          pos + 20]))


def error_of(r, status, code, where=""):
    assert r.status == status, "%s: want %d, got %d %s" % (
        where, status, r.status, r.text[:600])
    e = is_json(r)["error"]
    assert e["code"] == code, "%s: %r" % (where, e)
    assert isinstance(e["message"], str) and e["message"], e
    return e


# ------------------------------------------------- fixtures of one test
# Each test makes what it needs with these, under names of its own, and
# reads nothing an earlier test left.

PNG_SIG = b"\x89PNG\r\n\x1a\n"


def unique(prefix):
    """A user name (or other label) no other test uses: prefix plus six
    random hex digits."""
    return "%s-%s" % (prefix, os.urandom(3).hex())


def new_user(s, prefix="user", tier=None, role=None):
    """A fresh account with no password (SQL only): (id, name)."""
    name = unique(prefix)
    uid = make_user(s, name)
    if tier is not None:
        s.sql("UPDATE users SET tier = '%s' WHERE id = %d" % (tier, uid))
    if role is not None:
        s.sql("UPDATE users SET role = '%s' WHERE id = %d" % (role, uid))
    return uid, name


def user_with_key(s, scopes="read,generate", prefix="user", **kw):
    """A fresh account and a key of it with scopes: (id, key)."""
    uid, _ = new_user(s, prefix, **kw)
    return uid, make_key(s, uid, scopes)


def browser(s, uid):
    """A signed-in browser for user uid: (cookie header, csrf token)."""
    tok, csrf = token(), token()
    s.sql("INSERT INTO sessions (user_id, token_hash, csrf, expires_at)"
          " VALUES (%d, '%s', '%s', NOW() + INTERVAL 1 HOUR)" %
          (uid, sha256(tok), csrf))
    return "kiln_session=" + tok, csrf


def post_form(s, cookie, path, fields):
    import urllib.parse
    return s.request("POST", path, body=urllib.parse.urlencode(fields),
                     headers={"Cookie": cookie, "Content-Type":
                              "application/x-www-form-urlencoded"})


def job_count(s):
    """Rows in jobs and the highest id: changes whenever a row is added."""
    return one(s, "SELECT CONCAT(COUNT(*), '/', COALESCE(MAX(id), 0))"
               " FROM jobs")


def db_job(s, jid):
    cols = ["user_id", "status", "prompt", "negative_prompt", "model",
            "width", "height", "steps", "cfg_scale", "sampler", "seed",
            "batch_count", "webhook_url", "step", "cancel_requested",
            "started_at", "daemon", "preview_path", "updated_at"]
    rows = s.sql("SELECT %s FROM jobs WHERE id = %d" % (", ".join(cols),
                                                        jid))
    return dict(zip(cols, rows[0])) if rows else None


def db_images(s, jid):
    return s.sql("SELECT idx, seed, path, width, height FROM job_images"
                 " WHERE job_id = %d ORDER BY idx" % jid)


def job_dir(s, jid):
    return s.path("artifacts", "jobs", str(jid))


def png_size(data, where):
    """(width, height) from the IHDR chunk, read by hand."""
    assert data[:8] == PNG_SIG, "%s: not a PNG: %r" % (where, data[:16])
    assert data[12:16] == b"IHDR", "%s: first chunk %r" % (where,
                                                          data[12:16])
    return (int.from_bytes(data[16:20], "big"),
            int.from_bytes(data[20:24], "big"))


def submit(s, key, body, where="submit"):
    """POST /api/v1/jobs that must be accepted: the job's JSON."""
    r = api(s, "POST", "/api/v1/jobs", key, body)
    assert r.status == 202, "%s: %d %s" % (where, r.status, r.text[:800])
    j = is_json(r)
    assert r.headers.get("location") == "/api/v1/jobs/%d" % j["id"], \
        (r.headers.get("location"), j["id"])
    return j


def get_job(s, key, jid):
    r = api(s, "GET", "/api/v1/jobs/%d" % jid, key)
    assert r.status == 200, "GET job %d: %d %s" % (jid, r.status,
                                                   r.text[:500])
    return is_json(r)


def wait_job(s, key, jid, want, timeout=60):
    from harness import wait_until
    return wait_until(lambda: (lambda j: j["status"] in want and j)(
        get_job(s, key, jid)), timeout=timeout, step=0.2,
        what="job %d to be %s" % (jid, "/".join(want)))


def wait_db(s, jid, want, timeout=60):
    from harness import wait_until
    return wait_until(lambda: (lambda j: j["status"] in want and j)(
        db_job(s, jid)), timeout=timeout, step=0.05,
        what="job %d to be %s in the database" % (jid, "/".join(want)))


def rendered(s, key, body, timeout=120):
    """Submits body and waits until the daemon has rendered it: the
    finished job's JSON."""
    j = submit(s, key, body)
    j = wait_job(s, key, j["id"], ("succeeded", "failed", "canceled"),
                 timeout=timeout)
    assert j["status"] == "succeeded", j
    return j


def wait_idle(s, timeout=120, what_runs="TRUE"):
    """Waits until no job (of those the SQL condition what_runs picks) is
    queued or running, for a test that counts places in the queue, reads
    counters the daemon moves or needs the daemon's next claim."""
    from harness import wait_until
    wait_until(lambda: one(s, "SELECT COUNT(*) FROM jobs WHERE status IN"
                           " ('queued', 'running') AND (%s)" % what_runs)
               == "0", timeout=timeout, step=0.1, what="an empty queue")


def job_row(s, uid, status="succeeded", prompt="p", **cols):
    """A job inserted directly in SQL (kiln-micro, 64x64, 2 steps of
    euler unless cols say otherwise), for tests about listing, sharing
    or access rather than rendering: its id."""
    row = dict(user_id=uid, status=status, prompt=prompt,
               model="kiln-micro", width=64, height=64, steps=2,
               cfg_scale=4, sampler="euler", seed=1)
    row.update(cols)

    def lit(v):
        if v is None:
            return "NULL"
        if isinstance(v, (int, float)):
            return str(v)
        if isinstance(v, str) and v.startswith("SQL:"):
            return v[4:]
        return "'%s'" % str(v).replace("\\", "\\\\").replace("'", "''")
    s.sql("INSERT INTO jobs (%s) VALUES (%s)" % (
        ", ".join(row), ", ".join(lit(v) for v in row.values())))
    return int(one(s, "SELECT MAX(id) FROM jobs WHERE user_id = %d" % uid))


@contextlib.contextmanager
def setting(s, name, value):
    """The site setting name at value for the with block, then back to
    what it was."""
    old = one(s, "SELECT value FROM settings WHERE name = '%s'" % name)
    s.sql("UPDATE settings SET value = '%s' WHERE name = '%s'" %
          (value, name))
    try:
        yield
    finally:
        s.sql("UPDATE settings SET value = '%s' WHERE name = '%s'" %
              (old, name))


class WebhookReceiver(http.server.BaseHTTPRequestHandler):
    """A webhook receiver that records every POST (its Standard Webhooks
    headers, path and body) and answers 200. A module subclasses it with
    a seen list of its own."""
    seen = []
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.lock:
            self.seen.append({"id": self.headers["webhook-id"],
                              "ts": self.headers["webhook-timestamp"],
                              "sig": self.headers["webhook-signature"],
                              "path": self.path, "body": body})
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def webhook_verify(secret, rec):
    """The Standard Webhooks signature of a recorded delivery, computed
    here: HMAC-SHA256 over id.timestamp.body with the secret's key."""
    key = base64.b64decode(secret[len("whsec_"):])
    mac = hmac.new(key, b"%s.%s.%s" % (rec["id"].encode(),
                                       rec["ts"].encode(), rec["body"]),
                   hashlib.sha256).digest()
    return rec["sig"] == "v1," + base64.b64encode(mac).decode()
