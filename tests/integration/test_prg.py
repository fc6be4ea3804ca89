"""POST-redirect-GET for the forms that make a secret (issue 25): a new
API key, a rotated key's secret, the recovery codes of enabling two-
factor login and of asking for new ones, the password an administrator
sets, an invitation code. Each POST answers 303 to the page that shows
the secret once (lib/once.c): the secret shown works, a reload shows it
no more, another session of the same user never sees it (not even with
the cookie copied), it is in no URL, and the database holds it only
sealed. And POST /password/reset redirects too.

Each case makes its own accounts; TOTP codes come from test_two_factor's
reference implementation."""

import base64
import hashlib
import html
import re
import secrets
import urllib.parse

from common import one, setting, sha256, unique
from test_accounts import (PW, Browser, account, admin, api, csrf_of,
                           location, login, logged_in, new_key, redirected,
                           register, registration_fields, sid_of, user_id)
from test_two_factor import (User, mid_step, password_step, second_step,
                             totp)

STACK = dict(server="lighttpd", daemon=False,
             extra_conf="[auth]\nlockout_ip_failures = 100000\n"
                        "totp_key = " + "5a" * 32 + "\n"
                        "[limits]\nlogin_burst = 100000\n")

KEY_RE = r'<code id="new-key">([^<]+)</code>'
CODES_RE = r"<li><code>([a-z2-7]{5}-[a-z2-7]{5})</code></li>"
PASSWORD_RE = r'<code id="new-password">([^<]+)</code>'
INVITE_RE = r'<code id="new-invite">([^<]+)</code>'


def other_session(s, uid):
    """A second session of user uid, as another browser would hold (a
    session row made here: no second login, no second 2FA step)."""
    tok = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()[:43]
    csrf = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()[:43]
    s.sql("INSERT INTO sessions (user_id, token_hash, csrf, expires_at)"
          " VALUES (%s, '%s', '%s', NOW() + INTERVAL 1 HOUR)" %
          (uid, hashlib.sha256(tok.encode()).hexdigest(), csrf))
    return Browser(s, {"kiln_session": tok})


def found(pattern, text):
    """The secret(s) a page shows: one string, or a list for the
    recovery codes; None / [] when there is none."""
    got = [html.unescape(m) for m in re.findall(pattern, text)]
    if pattern == CODES_RE:
        return got
    return got[0] if got else None


def once_rows(s, sid):
    return s.sql("SELECT id, purpose, path, sealed FROM once_secrets"
                 " WHERE session_id = %s" % sid)


def check_prg(s, b, r, uid, page, purpose, pattern):
    """The common part: r (the POST's answer in browser b of user uid)
    redirects to page, the secret waits sealed for b's session only, and
    b's GET shows it once. Returns the secret (the codes: a list)."""
    where = "POST for %s" % purpose
    assert r.status == 303, "%s: %d %s" % (where, r.status, r.text[:1500])
    loc = location(r)
    assert urllib.parse.urlsplit(loc).path == page, (where, loc)
    assert found(pattern, r.text) in (None, []), "secret in the 303 body"
    # The cookie: only the key, for this page only, a minute, never to
    # scripts or from another site.
    sc = [c for c in r.set_cookies if c.startswith("kiln_once_%s=" %
                                                   purpose)]
    assert len(sc) == 1, r.set_cookies
    attrs = [a.strip().lower() for a in sc[0].split(";")[1:]]
    for want in ("path=" + page.lower(), "max-age=60", "httponly",
                 "samesite=strict"):
        assert want in attrs, (want, sc[0])
    cookie = sc[0].split(";")[0].partition("=")[2]
    assert re.fullmatch(r"[0-9]+\.[A-Za-z0-9_-]{43}", cookie), cookie
    sid = sid_of(s, b)
    rows = once_rows(s, sid)
    assert len(rows) == 1 and rows[0][1:3] == [purpose, page], rows

    # Another session of the same user, on the same page: nothing, even
    # with the cookie copied into it; the row stays for its owner.
    other = other_session(s, uid)
    got = other.get(loc)
    assert got.status == 200, got.status
    assert found(pattern, got.text) in (None, []), "shown to another session"
    other.jar["kiln_once_%s" % purpose] = cookie
    got = other.get(loc)
    assert found(pattern, got.text) in (None, []), "shown for a stolen cookie"
    assert len(once_rows(s, sid)) == 1

    # The owner's GET shows it, once.
    shown_page = b.get(loc)
    assert shown_page.status == 200, shown_page.status
    assert "no-store" in shown_page.headers.get("cache-control", ""), \
        shown_page.headers
    secret = found(pattern, shown_page.text)
    assert secret, shown_page.text[:3000]
    assert once_rows(s, sid) == [], "the row outlived its showing"
    assert "kiln_once_%s" % purpose not in b.jar, "cookie not cleared"
    again = b.get(loc)
    assert again.status == 200 and found(pattern, again.text) in (None, [])
    # The same cookie sent again (a replayed request) finds nothing.
    b.jar["kiln_once_%s" % purpose] = cookie
    replay = b.get(loc)
    assert found(pattern, replay.text) in (None, [])

    # In no URL, and not in the database's plain text: the sealed row
    # (checked while it existed, above) is gone; the row dump at the
    # time of the POST is checked by the callers through sealed_dump.
    parts = secret if isinstance(secret, list) else [secret]
    for p in parts:
        assert p not in loc and p not in cookie
    return secret


def sealed_dump(s):
    return "\n".join("\t".join(r) for r in s.sql(
        "SELECT * FROM once_secrets"))


# ------------------------------------------------------------ API keys

def test_a_new_key_is_shown_once_after_a_redirect(s):
    name = account(s, "prgkey")
    uid = user_id(s, name)
    b = logged_in(s, name, PW)
    r = b.submit("/account/keys", {"name": "script", "scope": ["read"]},
                 page="/account/keys")
    dump = sealed_dump(s)
    key = check_prg(s, b, r, uid, "/account/keys", "key", KEY_RE)
    assert re.fullmatch(r"kiln_[A-Za-z0-9_-]{43}", key), key
    assert key not in dump and key[5:] not in dump
    me = api(s, "GET", "/api/v1/me", key)
    assert me.status == 200 and me.json()["username"] == name, me.text


def test_a_rotated_secret_is_shown_once_after_a_redirect(s):
    name = account(s, "prgrot")
    uid = user_id(s, name)
    b = logged_in(s, name, PW)
    old = new_key(b, "script", ["read"])
    kid = one(s, "SELECT id FROM api_keys WHERE key_hash = '%s'" %
              sha256(old))
    r = b.submit("/account/keys/%s/rotate" % kid, {"grace": "0"},
                 page="/account/keys")
    dump = sealed_dump(s)
    key = check_prg(s, b, r, uid, "/account/keys", "key", KEY_RE)
    assert key != old and key not in dump and key[5:] not in dump
    assert api(s, "GET", "/api/v1/me", key).status == 200
    assert api(s, "GET", "/api/v1/me", old).status == 401


# ------------------------------------------------------ recovery codes

def recovery_works_once(s, u, code):
    b = password_step(s, u)
    redirected(second_step(b, code), "recovery code", "/account")
    b2 = password_step(s, u)
    assert second_step(b2, code).status == 401, "a code taken twice"


def test_enabling_shows_the_recovery_codes_once_after_a_redirect(s):
    name = account(s, "prgen")
    uid = user_id(s, name)
    b = logged_in(s, name, PW)
    redirected(b.submit("/account/security/setup", {},
                        page="/account/security"), "setup",
               "/account/security?done=setup")
    page = b.get("/account/security")
    key = base64.b32decode(re.search(r'id="twofa-secret">([A-Z2-7]+)<',
                                     page.text).group(1))
    r = b.post("/account/security/enable", {"code": totp(key, mid_step()),
                                            "csrf": csrf_of(page)})
    dump = sealed_dump(s)
    codes = check_prg(s, b, r, uid, "/account/security", "recovery",
                      CODES_RE)
    assert len(codes) == 10 and len(set(codes)) == 10, codes
    assert not any(c in dump or c.replace("-", "") in dump for c in codes)
    assert location(r) == "/account/security?done=enabled"

    class U:
        pass
    u = U()
    u.name = name
    recovery_works_once(s, u, codes[3])


def test_new_recovery_codes_are_shown_once_after_a_redirect(s):
    u = User(s, "prgrc")
    page = u.b.get("/account/security")
    r = u.b.post("/account/security/recovery",
                 {"code": totp(u.key, mid_step()), "csrf": csrf_of(page)})
    dump = sealed_dump(s)
    codes = check_prg(s, u.b, r, u.id, "/account/security", "recovery",
                      CODES_RE)
    assert len(codes) == 10 and not set(codes) & set(u.codes), codes
    assert not any(c in dump or c.replace("-", "") in dump for c in codes)
    recovery_works_once(s, u, codes[0])


# ------------------------------------------------------------ admin

def test_a_password_set_by_an_admin_is_shown_once_after_a_redirect(s):
    adm = admin(s)
    aid = user_id(s, "admin")
    bob = account(s, "prgbob")
    bid = user_id(s, bob)
    page = "/admin/users/%s" % bid
    r = adm.submit("%s/password" % page, {}, page=page)
    dump = sealed_dump(s)
    # Another user's page in the same session does not show it either.
    carol = user_id(s, account(s, "prgcarol"))
    same = Browser(s, dict(adm.jar))
    got = same.get("/admin/users/%s" % carol)
    assert got.status == 200 and not found(PASSWORD_RE, got.text)
    pw = check_prg(s, adm, r, aid, page, "password", PASSWORD_RE)
    assert pw not in dump
    _, r = login(s, bob, pw)
    redirected(r, "login with the shown password", "/account")


def test_an_admin_resetting_their_own_password_sees_it(s):
    # The admin keeps the session the password is shown to.
    name = account(s, "prgadm")
    uid = user_id(s, name)
    s.sql("UPDATE users SET role = 'admin' WHERE id = %s" % uid)
    b = logged_in(s, name, PW)
    page = "/admin/users/%s" % uid
    r = b.submit("%s/password" % page, {}, page=page)
    pw = check_prg(s, b, r, uid, page, "password", PASSWORD_RE)
    _, r = login(s, name, pw)
    redirected(r, "own new password", "/account")


def test_an_invite_code_is_shown_once_after_a_redirect(s):
    adm = admin(s)
    aid = user_id(s, "admin")
    r = adm.submit("/admin/invites", {"note": "prg"}, page="/admin/settings")
    dump = sealed_dump(s)
    code = check_prg(s, adm, r, aid, "/admin/settings", "invite", INVITE_RE)
    assert code not in dump
    name = unique("prginv")
    with setting(s, "registration", "invite"):
        _, r = register(s, dict(registration_fields(name), invite=code))
    assert r.status == 303, (r.status, r.text[:1500])
    assert user_id(s, name)


# ------------------------------------------------------------ expiry

def test_an_unshown_secret_expires_and_is_swept(s):
    name = account(s, "prgexp")
    b = logged_in(s, name, PW)
    r = b.submit("/account/keys", {"name": "late", "scope": ["read"]},
                 page="/account/keys")
    assert r.status == 303, r.status
    sid = sid_of(s, b)
    s.sql("UPDATE once_secrets SET expires_at = NOW(3) - INTERVAL 1 SECOND"
          " WHERE session_id = %s" % sid)
    page = b.get("/account/keys")
    assert page.status == 200 and not found(KEY_RE, page.text)
    assert once_rows(s, sid) == []


def test_logging_out_drops_the_secret(s):
    name = account(s, "prgout")
    b = logged_in(s, name, PW)
    r = b.submit("/account/keys", {"name": "gone", "scope": ["read"]},
                 page="/account/keys")
    assert r.status == 303, r.status
    sid = sid_of(s, b)
    assert len(once_rows(s, sid)) == 1
    b.submit("/logout", {}, page="/account")
    assert once_rows(s, sid) == []


# ------------------------------------------------------ password reset

def test_asking_for_a_reset_link_redirects(s):
    b = Browser(s)
    page = b.get("/password/reset")
    r = b.post("/password/reset", {"who": unique("nobody"),
                                   "csrf": csrf_of(page)})
    redirected(r, "reset", "/password/reset?sent=1")
    got = b.get(location(r))
    assert got.status == 200 and 'id="reset-sent"' in got.text, got.text
    assert 'id="reset-sent"' not in b.get("/password/reset").text
