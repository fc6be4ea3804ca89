"""common.py - facts the integration tests compute from the source tree,
so expected values never come from the code under test."""

import base64
import glob
import hashlib
import json
import os
import re

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
