"""Two-factor login end to end behind lighttpd: setting it up on
/account/security (the QR code, the key, the confirming code), the
second step of a login with codes of this, the previous and the next
30-second step (two steps off refused, a code never taken twice), the
login rate limit and lockout on that step, recovery codes (each works
once), the pending login (expires, single use), remembered devices,
turning it off, and the administrators' side: resetting a user's
two-factor login (audited) and the site setting that requires it of
admins.

TOTP codes are computed here with hmac and hashlib, independently of
liboath. Each test makes its own accounts; the stack's lockout is
short so a test can wait one out."""

import base64
import hashlib
import hmac
import html
import os
import re
import struct
import time

from common import one, png_decode, setting, unique
from test_accounts import (Browser, PW, account, admin, csrf_of, followed,
                           kiln_admin, location, login, logged_in,
                           redirected, user_id)

# The login bucket is large (the tests log in often) and refills slowly,
# so one emptied by a test stays empty for its next request.
STACK = dict(server="lighttpd", daemon=False,
             extra_conf="[auth]\nlockout_failures = 3\nlockout_window = 60\n"
                        "lockout_seconds = 3\nlockout_ip_failures = 100000\n"
                        "totp_key = " + "5a" * 32 + "\n"
                        "[limits]\nlogin_burst = 100000\n"
                        "login_per_minute = 1\n")


# ---------------------------------------------------------------- TOTP

def totp(secret, t, digits=6):
    """RFC 6238 with HMAC-SHA1 and 30-second steps from the epoch."""
    counter = struct.pack(">Q", int(t) // 30)
    mac = hmac.new(secret, counter, hashlib.sha1).digest()
    off = mac[-1] & 15
    n = struct.unpack(">I", mac[off:off + 4])[0] & 0x7fffffff
    return str(n % 10 ** digits).zfill(digits)


def test_the_reference_totp_gives_rfc_6238s_vectors(s):
    # Appendix B, SHA-1: the Python side checked before it checks kiln.
    seed = b"12345678901234567890"
    for t, code in ((59, "94287082"), (1111111109, "07081804"),
                    (1111111111, "14050471"), (1234567890, "89005924"),
                    (2000000000, "69279037")):
        assert totp(seed, t, 8) == code, (t, totp(seed, t, 8))


def mid_step():
    """Waits until the current step has at least 4 seconds left and has
    run at least 2, so a code computed now is judged in the same step;
    returns the time."""
    while True:
        t = time.time()
        if 2 <= t % 30 <= 26:
            return t
        time.sleep(0.5)


# ------------------------------------------------------------ fixtures

class User:
    """An account with two-factor login turned on through the pages:
    its name, id, key (bytes), recovery codes and a signed-in browser."""

    def __init__(self, s, prefix="tf"):
        self.s = s
        self.name = account(s, prefix)
        self.id = int(user_id(s, self.name))
        self.b = logged_in(s, self.name, PW)
        r = self.b.submit("/account/security/setup", {},
                          page="/account/security")
        redirected(r, "setup", "/account/security?done=setup")
        page = self.b.get("/account/security")
        assert page.status == 200, page.text[:1500]
        self.page = page
        m = re.search(r'<code id="twofa-secret">([A-Z2-7]+)</code>',
                      page.text)
        assert m, page.text[:3000]
        self.b32 = m.group(1)
        self.key = base64.b32decode(self.b32)
        assert len(self.key) == 20, self.b32
        t = mid_step()
        r = followed(self.b, self.b.post(
            "/account/security/enable", {"code": totp(self.key, t),
                                         "csrf": csrf_of(page)}),
            "enable", "/account/security")
        self.codes = [html.unescape(c) for c in re.findall(
            r"<li><code>([a-z2-7]{5}-[a-z2-7]{5})</code></li>", r.text)]
        assert len(self.codes) == 10 and len(set(self.codes)) == 10, \
            self.codes
        self.enabled_page = r
        # The confirming code spent this step; the login tests start
        # from none spent, to choose which step they use.
        s.sql("UPDATE user_totp SET last_step = 0 WHERE user_id = %d" %
              self.id)


def password_step(s, u, b=None, next_="/account"):
    """Logs in with the password: the browser, now at the second step."""
    b, r = login(s, u.name, PW, b=b, next_=next_)
    redirected(r, "password of %s" % u.name, "/login/2fa")
    assert b.session is None, "a session before the second step"
    assert "kiln_2fa" in b.jar, r.set_cookies
    return b


def second_step(b, code, remember=False):
    page = b.get("/login/2fa")
    assert page.status == 200, "%d %s" % (page.status, page.text[:1000])
    fields = {"code": code, "csrf": csrf_of(page)}
    if remember:
        fields["remember"] = "1"
    return b.post("/login/2fa", fields)


def signed_in(b, where):
    r = b.get("/account")
    assert r.status == 200, "%s: /account answers %d %s" % (
        where, r.status, r.headers.get("location"))


def not_signed_in(b, where):
    assert b.session is None, "%s: a session cookie" % where
    r = b.get("/account")
    assert r.status == 303 and location(r).startswith("/login"), \
        "%s: /account answers %d" % (where, r.status)


def audit(s, action, target):
    return s.sql("SELECT actor, detail FROM audit_log WHERE action = '%s'"
                 " AND target = '%s' ORDER BY id" % (action, target))


# ---------------------------------------------------------------- tests

def test_setup_shows_the_key_and_a_qr_code_only_to_the_owner(s):
    name = account(s, "tfqr")
    uid = int(user_id(s, name))
    b = logged_in(s, name, PW)
    r = b.get("/account/security")
    assert r.status == 200 and "twofa-state" in r.text, r.text[:1000]
    assert b.get("/account/security/qr.png").status == 404
    r = b.submit("/account/security/setup", {}, page="/account/security")
    redirected(r, "setup", "/account/security?done=setup")
    page = b.get("/account/security")
    assert page.headers.get("cache-control") == "no-store", page.headers
    b32 = re.search(r'<code id="twofa-secret">([A-Z2-7]{32})</code>',
                    page.text).group(1)
    uri = html.unescape(re.search(r'<code id="twofa-uri">([^<]+)</code>',
                                  page.text).group(1))
    assert uri == ("otpauth://totp/kiln:%s?secret=%s&issuer=kiln"
                   "&algorithm=SHA1&digits=6&period=30" % (name, b32)), uri
    # Only sealed in the database: neither the key nor its bytes.
    sealed = one(s, "SELECT secret_sealed FROM user_totp WHERE user_id = %d"
                 % uid)
    raw = base64.b32decode(b32)
    assert b32 not in sealed and raw.hex() not in sealed.lower()
    assert len(base64.b64decode(sealed)) == 24 + 20 + 16, sealed
    # The QR code: a PNG nobody caches, a valid QR symbol with EC level M.
    q = b.get("/account/security/qr.png")
    assert q.status == 200 and q.headers["content-type"] == "image/png"
    assert q.headers.get("cache-control") == "no-store", q.headers
    qr_symbol_ok(q.body)
    # Someone else's session, and no session, get no QR code.
    other = logged_in(s, account(s, "tfqr2"), PW)
    assert other.get("/account/security/qr.png").status == 404
    r = Browser(s).get("/account/security/qr.png")
    assert r.status == 303 and location(r).startswith("/login"), r.status


def qr_symbol_ok(png):
    """The image is a QR symbol: square, black on white, 6 pixels a
    module inside a 4-module quiet zone, finder patterns in three
    corners, and format information that is a valid BCH codeword naming
    error correction level M."""
    w, h, rows = png_decode(png)
    assert w == h and w % 6 == 0, (w, h)
    n = w // 6 - 8
    assert n >= 21 and (n - 17) % 4 == 0, "width %d modules" % n

    def dark(x, y):
        px = rows[(y + 4) * 6 + 3][(x + 4) * 6 + 3]
        assert px in ((0, 0, 0), (255, 255, 255)), px
        return px == (0, 0, 0)

    assert not any(rows[y][x] != (255, 255, 255) for y in range(24)
                   for x in range(w)), "quiet zone not white"
    for ox, oy in ((0, 0), (n - 7, 0), (0, n - 7)):
        for y in range(7):
            for x in range(7):
                ring = max(abs(x - 3), abs(y - 3))
                assert dark(ox + x, oy + y) == (ring != 2), \
                    "finder at %d,%d: module %d,%d" % (ox, oy, x, y)
    bits = 0
    for x, y in [(i, 8) for i in range(6)] + [(7, 8), (8, 8), (8, 7)] + \
            [(8, j) for j in range(5, -1, -1)]:
        bits = (bits << 1) | dark(x, y)
    v = bits ^ 0x5412
    rem = (v >> 10) << 10
    for i in range(14, 9, -1):
        if rem & (1 << i):
            rem ^= 0x537 << (i - 10)
    assert rem == (v & 0x3ff), "format bits %s not a BCH codeword" % \
        bin(bits)
    assert (v >> 13) == 0, "error correction level %d, want M" % (v >> 13)


def test_enabling_needs_a_right_code(s):
    name = account(s, "tfen")
    uid = int(user_id(s, name))
    b = logged_in(s, name, PW)
    b.submit("/account/security/setup", {}, page="/account/security")
    page = b.get("/account/security")
    key = base64.b32decode(re.search(r'id="twofa-secret">([A-Z2-7]+)<',
                                     page.text).group(1))
    t = mid_step()
    wrong = totp(key, t + 90)
    r = b.post("/account/security/enable", {"code": wrong,
                                            "csrf": csrf_of(page)})
    assert r.status == 422, r.status
    assert one(s, "SELECT enabled_at IS NULL FROM user_totp WHERE"
               " user_id = %d" % uid) == "1"
    r = followed(b, b.post("/account/security/enable",
                           {"code": totp(key, t), "csrf": csrf_of(page)}),
                 "enable", "/account/security")
    assert "recovery-codes" in r.text, r.text[:1500]
    assert one(s, "SELECT enabled_at IS NOT NULL FROM user_totp WHERE"
               " user_id = %d" % uid) == "1"
    assert int(one(s, "SELECT COUNT(*) FROM recovery_codes WHERE"
                   " user_id = %d AND used_at IS NULL" % uid)) == 10
    # The codes are stored as digests only.
    codes = re.findall(r"<li><code>([a-z2-7-]{11})</code></li>", r.text)
    stored = " ".join(x for row in s.sql(
        "SELECT salt, code_hash FROM recovery_codes WHERE user_id = %d" %
        uid) for x in row)
    assert codes and not any(c.replace("-", "") in stored for c in codes)
    # Shown once: the page after has no codes and no key.
    again = b.get("/account/security")
    assert "recovery-codes" not in again.text
    assert "twofa-secret" not in again.text
    assert b.get("/account/security/qr.png").status == 404
    assert [r[0] for r in audit(s, "2fa_enable", name)] == [name]


def test_the_password_alone_starts_no_session(s):
    u = User(s, "tfpw")
    b = password_step(s, u)
    not_signed_in(b, "after the password")
    assert int(one(s, "SELECT COUNT(*) FROM sessions WHERE user_id = %d"
                   % u.id)) == 1  # the fixture's own browser only
    assert int(one(s, "SELECT COUNT(*) FROM login_pending WHERE"
                   " user_id = %d" % u.id)) == 1


def test_a_code_of_the_current_step_logs_in(s):
    u = User(s, "tfnow")
    b = password_step(s, u, next_="/jobs")
    t = mid_step()
    r = second_step(b, totp(u.key, t))
    redirected(r, "second step", "/jobs")
    signed_in(b, "current step")
    assert "kiln_2fa" not in b.jar
    assert int(one(s, "SELECT last_step FROM user_totp WHERE user_id = %d"
                   % u.id)) == int(t) // 30
    rows = audit(s, "login", u.name)
    assert rows and "two-factor" in rows[-1][1], rows


def test_a_code_of_the_previous_step_logs_in(s):
    u = User(s, "tfprev")
    b = password_step(s, u)
    redirected(second_step(b, totp(u.key, mid_step() - 30)), "previous",
               "/account")
    signed_in(b, "previous step")


def test_a_code_of_the_next_step_logs_in(s):
    u = User(s, "tfnext")
    b = password_step(s, u)
    redirected(second_step(b, totp(u.key, mid_step() + 30)), "next",
               "/account")
    signed_in(b, "next step")


def test_a_code_two_steps_off_is_refused(s):
    u = User(s, "tfskew")
    for off in (-60, 60):
        b = password_step(s, u)
        r = second_step(b, totp(u.key, mid_step() + off))
        assert r.status == 401 and "Wrong code" in r.text, r.status
        not_signed_in(b, "two steps off (%+d s)" % off)
        s.sql("DELETE FROM login_throttle")
    rows = audit(s, "login_failed", u.name)
    assert len(rows) >= 2 and "two-factor" in rows[-1][1], rows


def test_a_code_is_not_taken_twice(s):
    u = User(s, "tfreplay")
    t = mid_step()
    code = totp(u.key, t)
    b = password_step(s, u)
    redirected(second_step(b, code), "first use", "/account")
    b2 = password_step(s, u)
    r = second_step(b2, code)
    assert r.status == 401, "a replayed code: %d" % r.status
    not_signed_in(b2, "replayed code")
    # Nor a code of an earlier step than one already used.
    s.sql("DELETE FROM login_throttle")
    r = second_step(b2, totp(u.key, t - 30))
    assert r.status == 401, "an older step: %d" % r.status


def test_wrong_codes_lock_the_name_as_wrong_passwords_do(s):
    u = User(s, "tflock")
    b = password_step(s, u)
    t = mid_step()
    wrong = "%06d" % ((int(totp(u.key, t)) + 1) % 10 ** 6)
    for i in range(3):
        r = second_step(b, wrong)
        assert r.status == 401, "wrong code %d: %d" % (i, r.status)
    # Locked: even the right code is refused, with Retry-After.
    r = second_step(b, totp(u.key, mid_step()))
    assert r.status == 429 and r.headers.get("retry-after"), r.status
    not_signed_in(b, "locked")
    assert audit(s, "lockout", u.name), "no lockout audited"
    # The password form shares the lock: the name is locked there too.
    _, r = login(s, u.name, PW)
    assert r.status == 429, r.status
    time.sleep(3.5)
    redirected(second_step(b, totp(u.key, mid_step())), "after the lockout",
               "/account")
    signed_in(b, "after the lockout")


def test_the_second_step_takes_the_login_rate_limit(s):
    u = User(s, "tfrate")
    b = password_step(s, u)
    page = b.get("/login/2fa")
    # The code first: mid_step may wait, and the bucket refills.
    code = totp(u.key, mid_step())
    s.sql("UPDATE rate_buckets SET tokens = 0, updated_at = NOW(3)"
          " WHERE bucket LIKE 'login:ip:%'")
    try:
        r = b.post("/login/2fa", {"code": code, "csrf": csrf_of(page)})
    finally:
        s.sql("UPDATE rate_buckets SET tokens = 100000"
              " WHERE bucket LIKE 'login:ip:%'")
    assert r.status == 429, r.status
    assert r.headers.get("ratelimit-limit") == "100000", r.headers
    assert r.headers.get("retry-after"), r.headers
    not_signed_in(b, "rate limited")
    # The code was not spent: it still works once the limit allows.
    redirected(second_step(b, totp(u.key, mid_step())), "after the limit",
               "/account")


def test_each_recovery_code_works_once(s):
    u = User(s, "tfrec")
    for i, code in enumerate(u.codes[:3]):
        b = password_step(s, u)
        typed = code.upper().replace("-", " ") if i == 1 else code
        redirected(second_step(b, typed), "recovery code %d" % i,
                   "/account")
        signed_in(b, "recovery code %d" % i)
        b2 = password_step(s, u)
        r = second_step(b2, code)
        assert r.status == 401, "recovery code %d again: %d" % (i,
                                                                r.status)
        not_signed_in(b2, "recovery code %d again" % i)
        s.sql("DELETE FROM login_throttle")
    assert int(one(s, "SELECT COUNT(*) FROM recovery_codes WHERE"
                   " user_id = %d AND used_at IS NOT NULL" % u.id)) == 3
    rows = audit(s, "2fa_recovery_used", u.name)
    assert [r[1] for r in rows] == ["9 recovery codes left",
                                    "8 recovery codes left",
                                    "7 recovery codes left"], rows


def test_new_recovery_codes_void_the_old(s):
    u = User(s, "tfregen")
    page = u.b.get("/account/security")
    r = followed(u.b, u.b.post("/account/security/recovery",
                               {"code": totp(u.key, mid_step()),
                                "csrf": csrf_of(page)}),
                 "new codes", "/account/security")
    fresh = re.findall(r"<li><code>([a-z2-7-]{11})</code></li>", r.text)
    assert len(fresh) == 10 and not set(fresh) & set(u.codes)
    b = password_step(s, u)
    assert second_step(b, u.codes[0]).status == 401
    s.sql("DELETE FROM login_throttle")
    redirected(second_step(b, fresh[0]), "new code", "/account")
    assert audit(s, "2fa_recovery_new", u.name)


def test_the_pending_login_expires(s):
    u = User(s, "tfexp")
    b = password_step(s, u)
    page = b.get("/login/2fa")
    s.sql("UPDATE login_pending SET expires_at = NOW(3) - INTERVAL 1 SECOND"
          " WHERE user_id = %d" % u.id)
    r = b.post("/login/2fa", {"code": u.codes[0], "csrf": csrf_of(page)})
    redirected(r, "expired", "/login")
    not_signed_in(b, "expired pending login")
    assert b.get("/login/2fa").status == 303
    # The code was not spent on it.
    assert one(s, "SELECT COUNT(*) FROM recovery_codes WHERE user_id = %d"
               " AND used_at IS NOT NULL" % u.id) == "0"


def test_the_pending_login_is_used_once(s):
    u = User(s, "tfonce")
    b = password_step(s, u)
    pending = b.jar["kiln_2fa"]
    page = b.get("/login/2fa")
    csrf = csrf_of(page)
    redirected(b.post("/login/2fa", {"code": u.codes[0], "csrf": csrf}),
               "first", "/account")
    # The same pending cookie again, with another good code.
    thief = Browser(s, {"kiln_2fa": pending, "kiln_csrf": b.jar["kiln_csrf"]})
    r = thief.post("/login/2fa", {"code": u.codes[1], "csrf": csrf})
    redirected(r, "reused pending login", "/login")
    not_signed_in(thief, "reused pending login")
    assert one(s, "SELECT COUNT(*) FROM login_pending WHERE user_id = %d" %
               u.id) == "0"


def test_a_remembered_device_skips_the_second_step(s):
    u = User(s, "tfdev")
    b = password_step(s, u)
    redirected(second_step(b, totp(u.key, mid_step()), remember=True),
               "remember", "/account")
    device = b.jar.get("kiln_device")
    assert device, "no device cookie"
    assert one(s, "SELECT COUNT(*) FROM trusted_devices WHERE user_id = %d"
               " AND token_hash = SHA2('%s', 256)" % (u.id, device)) == "1"
    b.post("/logout", {"csrf": csrf_of(b.get("/account"))})
    _, r = login(s, u.name, PW, b=b)
    redirected(r, "remembered device", "/account")
    signed_in(b, "remembered device")
    # Another browser still gets the second step; a forgotten device too.
    password_step(s, u)
    page = u.b.get("/account/security")
    assert "Remembered devices" in page.text and device not in page.text
    r = u.b.post("/account/security/devices/forget",
                 {"csrf": csrf_of(page)})
    redirected(r, "forget", "/account/security?done=devices")
    b.post("/logout", {"csrf": csrf_of(b.get("/account"))})
    password_step(s, u, b=b)


def test_turning_it_off_needs_the_password_and_a_code(s):
    u = User(s, "tfoff")
    page = u.b.get("/account/security")
    t = mid_step()
    r = u.b.post("/account/security/disable", {
        "password": "Not-The-Password-9", "code": totp(u.key, t),
        "csrf": csrf_of(page)})
    assert r.status == 422, r.status
    r = u.b.post("/account/security/disable", {
        "password": PW, "code": totp(u.key, t + 90), "csrf": csrf_of(page)})
    assert r.status == 422, r.status
    assert one(s, "SELECT COUNT(*) FROM user_totp WHERE user_id = %d" %
               u.id) == "1"
    s.sql("DELETE FROM login_throttle")
    r = u.b.post("/account/security/disable", {
        "password": PW, "code": totp(u.key, t), "csrf": csrf_of(page)})
    redirected(r, "disable", "/account/security?done=disabled")
    for table in ("user_totp", "recovery_codes", "trusted_devices"):
        assert one(s, "SELECT COUNT(*) FROM %s WHERE user_id = %d" %
                   (table, u.id)) == "0", table
    assert audit(s, "2fa_disable", u.name)
    logged_in(s, u.name, PW)


def test_an_admin_reset_is_audited(s):
    u = User(s, "tfreset")
    a = admin(s)
    page = a.get("/admin/users/%d" % u.id)
    assert page.status == 200, page.status
    assert re.search(r'id="twofa-state">[^<]*<strong>on</strong>',
                     page.text), page.text[:3000]
    r = a.post("/admin/users/%d/two-factor/reset" % u.id,
               {"csrf": csrf_of(page)})
    redirected(r, "reset", "/admin/users/%d" % u.id)
    rows = audit(s, "2fa_reset", u.name)
    assert len(rows) == 1 and rows[0][0] == "admin", rows
    assert "turned off" in rows[0][1], rows
    for table in ("user_totp", "recovery_codes", "trusted_devices"):
        assert one(s, "SELECT COUNT(*) FROM %s WHERE user_id = %d" %
                   (table, u.id)) == "0", table
    # The password alone logs in again.
    logged_in(s, u.name, PW)
    assert "<strong>off</strong>" in a.get("/admin/users/%d" % u.id).text
    # Not for a user who does not exist; not for a non-admin.
    r = a.post("/admin/users/999999999/two-factor/reset",
               {"csrf": csrf_of(page)})
    assert r.status == 404, r.status
    other = User(s, "tfreset2")
    r = other.b.post("/admin/users/%d/two-factor/reset" % other.id,
                     {"csrf": csrf_of(other.b.get("/account"))})
    assert r.status == 403, r.status
    assert one(s, "SELECT COUNT(*) FROM user_totp WHERE user_id = %d" %
               other.id) == "1"


def test_kiln_admin_resets_it_when_no_admin_can_log_in(s):
    u = User(s, "tfcli")
    p = kiln_admin(s, "reset-2fa", u.name)
    assert p.returncode == 0, p.stderr
    rows = audit(s, "2fa_reset", u.name)
    assert len(rows) == 1 and rows[0][0] == "kiln-admin", rows
    assert one(s, "SELECT COUNT(*) FROM user_totp WHERE user_id = %d" %
               u.id) == "0"
    logged_in(s, u.name, PW)
    p = kiln_admin(s, "reset-2fa", unique("nobody"))
    assert p.returncode == 1, (p.returncode, p.stderr)


def test_require_2fa_for_admins_sends_them_to_set_it_up(s):
    name = account(s, "tfadm")
    s.sql("UPDATE users SET role = 'admin' WHERE username = '%s'" % name)
    a = admin(s)
    page = a.get("/admin/settings")
    with setting(s, "require_2fa_admins", "0"):
        r = a.post("/admin/settings/two-factor", {"require_admins": "1",
                                                  "csrf": csrf_of(page)})
        redirected(r, "setting", "/admin/settings?done=saved")
        assert one(s, "SELECT value FROM settings WHERE"
                   " name = 'require_2fa_admins'") == "1"
        assert audit(s, "settings_change", "") and any(
            "require_2fa_admins = 1" in d for _, d in audit(
                s, "settings_change", ""))
        b = logged_in(s, name, PW)
        for path in ("/account", "/admin/users", "/generate", "/"):
            r = b.get(path)
            redirected(r, path, "/account/security?required=1")
        r = b.get("/account/security?required=1")
        assert r.status == 200 and "requires administrators" in r.text
        # An ordinary user is not held.
        signed_in(logged_in(s, account(s, "tfusr"), PW), "a user")
        # Once it is on, the admin goes where they like.
        b.submit("/account/security/setup", {}, page="/account/security")
        p = b.get("/account/security")
        key = base64.b32decode(re.search(r'id="twofa-secret">([A-Z2-7]+)<',
                                         p.text).group(1))
        followed(b, b.post("/account/security/enable",
                           {"code": totp(key, mid_step()),
                            "csrf": csrf_of(p)}),
                 "admin enables", "/account/security")
        assert b.get("/admin/users").status == 200
    # Off again: an admin without 2FA is not held.
    assert a.get("/admin/users").status == 200


def test_the_api_is_unaffected(s):
    u = User(s, "tfapi")
    key = "kiln_" + base64.urlsafe_b64encode(os.urandom(32)).rstrip(
        b"=").decode()
    s.sql("INSERT INTO api_keys (user_id, name, prefix, key_hash, scopes)"
          " VALUES (%d, 'k', '%s', SHA2('%s', 256), 'read')" %
          (u.id, key[:13], key))
    r = s.request("GET", "/api/v1/me",
                  headers={"Authorization": "Bearer " + key})
    assert r.status == 200, r.status


def test_no_secret_in_the_logs(s):
    u = User(s, "tflog")
    b = password_step(s, u)
    redirected(second_step(b, u.codes[0]), "recovery", "/account")
    found = []
    for root, _, files in os.walk(s.path("log")):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                text = fh.read().decode("utf-8", "replace")
            for x in [u.b32, u.key.hex()] + u.codes:
                if x in text:
                    found.append("%s: %s" % (f, x))
    assert not found, found
