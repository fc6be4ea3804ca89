"""E-mail end to end, with a real SMTP server (python3-aiosmtpd, see
mailsink.py) that kilnd's postman sends the outbox to: verifying an
address (the link works once, expires, and only for the address it was
sent to), resetting a forgotten password (the same answer whoever is
named, a link that works once, expires and dies when the password
changes, ends every session, leaves two-factor login in force), header
injection refused, and the notices (a login from a new device, two-factor
login changed, a key made) that go to verified addresses only.

The mails are read back and parsed with Python's email package, not with
anything of kiln's. Each test makes its own accounts."""

import base64
import email.utils
import hashlib
import re
import time
import datetime

from common import one, unique
from harness import wait_until
from test_accounts import (PW, PW2, WEAK_PW, Browser, account, admin,
                           csrf_of, followed, location, login, logged_in,
                           new_key, redirected, user_id)
from test_two_factor import mid_step, totp

STACK = dict(server="lighttpd", daemon=True, smtp=True,
             extra_conf="[daemon]\nwarm_up = 0\n"
                        "[auth]\nlockout_failures = 50\n"
                        "lockout_ip_failures = 100000\n"
                        "[limits]\nlogin_burst = 100000\n")

FROM = "kiln@kiln.example"
VERIFY_RE = r"(/account/email/verify/[A-Za-z0-9_-]{43})\b"
RESET_RE = r"(/password/reset/[A-Za-z0-9_-]{43})\b"


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def address(prefix):
    return "%s@mail.example" % unique(prefix)


def link_in(mail, pattern, s):
    """The link of pattern in the mail's body, as a path, after checking
    it is on the stack's base URL."""
    body = mail.body
    m = re.search(re.escape(s.base) + pattern, body)
    assert m, "no link in: %r" % body
    return m.group(1)


def set_address(s, b, addr):
    return b.submit("/account/email", {"email": addr})


def with_address(s, prefix, verify=True, display=None):
    """A fresh account signed in, with addr set (and verified): (name,
    id, browser, addr)."""
    name = account(s, prefix, display=display)
    uid = int(user_id(s, name))
    b = logged_in(s, name, PW)
    addr = address(prefix)
    r = set_address(s, b, addr)
    redirected(r, "set address", "/account?done=email")
    if verify:
        mail = s.mail.wait_for(addr)[0]
        r = b.get(link_in(mail, VERIFY_RE, s))
        assert r.status == 200 and 'id="email-verified"' in r.text, \
            r.text[:1500]
    return name, uid, b, addr


def mails_of(s, addr, subject=None):
    return [m for m in s.mail.to(addr)
            if subject is None or m.subject == subject]


def quiet(s, uid, kinds, seconds=3.0):
    """Waits a few postman rounds, then: no outbox row of these kinds
    for uid."""
    time.sleep(seconds)
    rows = s.sql("SELECT kind FROM mail_outbox WHERE user_id = %d" % uid)
    got = [r[0] for r in rows if r[0] in kinds]
    assert not got, "mails of kinds %r queued for user %d" % (got, uid)


def login_as(s, name, password, ua=None):
    b = Browser(s)
    h = {"User-Agent": ua} if ua else {}
    page = b.request("GET", "/login", headers=h)
    r = b.post("/login", {"username": name, "password": password,
                          "next": "/account", "csrf": csrf_of(page)},
               headers=h)
    return b, r


# ------------------------------------------------------------ verification

def test_the_verification_mail_is_a_proper_message(s):
    display = "Zo\u00eb \u00dcnic\u00f6de \"Q\""
    name = account(s, "mv", display=display)
    b = logged_in(s, name, PW)
    addr = address("mv")
    before = time.time()
    redirected(set_address(s, b, addr), "set", "/account?done=email")
    mail = s.mail.wait_for(addr)[0]
    assert mail.mail_from == FROM and mail.rcpt_tos == [addr], \
        (mail.mail_from, mail.rcpt_tos)
    msg = mail.msg
    date = email.utils.parsedate_to_datetime(msg["Date"])
    assert abs(date.timestamp() - before) < 120, msg["Date"]
    assert date.utcoffset() == datetime.timedelta(0), msg["Date"]
    assert re.fullmatch(r"<[0-9a-f]{32}@kiln\.example>",
                        msg["Message-ID"]), msg["Message-ID"]
    to = msg["To"].addresses
    assert len(to) == 1 and to[0].addr_spec == addr, msg["To"]
    # The non-ASCII name came through RFC 2047 words intact.
    assert to[0].display_name == display, to[0].display_name
    assert b"=?UTF-8?B?" in mail.data.split(b"\r\n\r\n")[0]
    assert msg["From"].addresses[0].addr_spec == FROM, msg["From"]
    assert mail.subject == "Confirm your e-mail address", mail.subject
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content_charset() == "utf-8"
    assert msg["MIME-Version"] == "1.0"
    head = mail.data.split(b"\r\n\r\n")[0]
    assert all(len(line) <= 78 for line in head.split(b"\r\n")), head
    path = link_in(mail, VERIFY_RE, s)
    tok = path.rsplit("/", 1)[1]
    assert len(base64.urlsafe_b64decode(tok + "=")) == 32
    # Stored as its digest only; the account shows it unverified.
    rows = s.sql("SELECT token_hash, email, purpose, TIMESTAMPDIFF(MINUTE,"
                 " created_at, expires_at) FROM email_tokens WHERE"
                 " user_id = %s" % user_id(s, name))
    assert rows == [[sha256(tok), addr, "verify", "1440"]], rows
    assert s.sql("SELECT COUNT(*) FROM email_tokens WHERE token_hash = "
                 "'%s'" % tok) == [["0"]]
    page = b.get("/account")
    assert re.search(r'id="email-state">[^<]*%s: <strong>unverified' %
                     re.escape(addr), page.text), page.text[:3000]


def test_the_verification_link_works_once(s):
    name, uid, b, addr = with_address(s, "mv1", verify=False)
    mail = s.mail.wait_for(addr)[0]
    path = link_in(mail, VERIFY_RE, s)
    # Opened in another browser (a phone's mail app): no session needed.
    r = Browser(s).get(path)
    assert r.status == 200 and 'id="email-verified"' in r.text, r.text[:999]
    assert one(s, "SELECT email_verified_at IS NOT NULL FROM users WHERE"
               " id = %d" % uid) == "1"
    assert 'id="email-state">%s: <strong class="ok">verified' % addr in \
        b.get("/account").text
    r = b.get(path)
    assert r.status == 404 and 'id="email-invalid"' in r.text, r.status
    # The sent mail's text (which held the link) is not kept.
    assert s.sql("SELECT status, message FROM mail_outbox WHERE user_id ="
                 " %d AND kind = 'verify'" % uid) == [["sent", ""]]


def test_an_expired_verification_link_does_nothing(s):
    name, uid, b, addr = with_address(s, "mv2", verify=False)
    path = link_in(s.mail.wait_for(addr)[0], VERIFY_RE, s)
    s.sql("UPDATE email_tokens SET expires_at = NOW(3) - INTERVAL 1 SECOND"
          " WHERE user_id = %d" % uid)
    r = b.get(path)
    assert r.status == 404 and 'id="email-invalid"' in r.text, r.status
    assert one(s, "SELECT email_verified_at IS NULL FROM users WHERE id ="
               " %d" % uid) == "1"


def test_a_link_for_a_replaced_address_does_nothing(s):
    name, uid, b, first = with_address(s, "mv3", verify=False)
    old = link_in(s.mail.wait_for(first)[0], VERIFY_RE, s)
    second = address("mv3b")
    redirected(set_address(s, b, second), "second", "/account?done=email")
    assert b.get(old).status == 404
    assert s.sql("SELECT email, email_verified_at IS NULL FROM users"
                 " WHERE id = %d" % uid) == [[second, "1"]]
    r = b.get(link_in(s.mail.wait_for(second)[0], VERIFY_RE, s))
    assert r.status == 200, r.status


def test_an_address_verified_by_another_account_is_refused(s):
    _, _, _, addr = with_address(s, "mv4")
    name2, uid2, b2, _ = with_address(s, "mv4b", verify=False)
    redirected(set_address(s, b2, addr), "taken", "/account?done=email")
    mails = s.mail.wait_for(addr, n=2)
    r = b2.get(link_in(mails[-1], VERIFY_RE, s))
    assert r.status == 409 and 'id="email-taken"' in r.text, r.status
    assert one(s, "SELECT email_verified_at IS NULL FROM users WHERE id ="
               " %d" % uid2) == "1"


def test_header_injection_in_an_address_is_refused(s):
    name, uid, b, addr = with_address(s, "mi")
    for bad in ("x@mail.example\r\nBcc: evil@mail.example",
                "x@mail.example\nBcc: evil@mail.example",
                "x@mail.example>, <evil@mail.example",
                "Evil <evil@mail.example>", "no-at-sign"):
        r = set_address(s, b, bad)
        assert r.status == 422 and "E-mail address" in r.text, \
            (bad, r.status)
    assert one(s, "SELECT email FROM users WHERE id = %d" % uid) == addr
    time.sleep(1.5)
    assert not [m for m in s.mail.all() if any(
        "evil" in r for r in m.rcpt_tos)], "a mail went to evil"


def test_a_display_name_that_could_inject_a_header_is_left_out(s):
    name, uid, b, addr = with_address(s, "mi2")
    # The profile form refuses it...
    r = b.submit("/account/profile",
                 {"display_name": "Bob\r\nBcc: evil@mail.example"})
    assert r.status == 422, r.status
    # ... and one that got into the database anyway never reaches a
    # header: the notice goes to the address alone.
    s.sql("UPDATE users SET display_name = 'Bob\\r\\nBcc: evil@mail.example'"
          " WHERE id = %d" % uid)
    new_key(b, "inject", ["read"])
    mail = s.mail.wait_for(addr, pred=lambda m: m.subject == "New API key")[0]
    assert mail.rcpt_tos == [addr], mail.rcpt_tos
    assert mail.msg["Bcc"] is None and mail.to == addr, mail.to
    assert b"evil" not in mail.data.split(b"\r\n\r\n")[0]


# ------------------------------------------------------------ reset

def ask_reset(b, who):
    """Asks for a link for who: the page the answer redirects to (POST-
    redirect-GET, the same redirect whoever is named)."""
    page = b.get("/password/reset")
    assert page.status == 200, page.status
    r = b.post("/password/reset", {"who": who, "csrf": csrf_of(page)})
    redirected(r, "reset for %s" % who, "/password/reset?sent=1")
    return b.get(location(r))


def reset_link(s, addr, n=1):
    mails = s.mail.wait_for(addr, n=n,
                            pred=lambda m: m.subject == "Reset your password")
    return link_in(mails[n - 1], RESET_RE, s)


def test_the_login_page_links_to_the_reset(s):
    page = Browser(s).get("/login")
    assert 'href="/password/reset"' in page.text, page.text[:2000]


def test_asking_for_a_reset_says_the_same_whoever_is_named(s):
    name, uid, _, addr = with_address(s, "mr")
    unverified, _, _, addr2 = with_address(s, "mru", verify=False)
    b = Browser(s)
    answers = {}
    for who in (name, addr, "nobody-" + unique("x"), "nobody@mail.example",
                unverified, addr2):
        r = ask_reset(b, who)
        answers[who] = (r.status, r.body)
    assert len(set(answers.values())) == 1, {
        k: v[0] for k, v in answers.items()}
    status, body = answers[name]
    assert status == 200 and b'id="reset-sent"' in body
    assert name.encode() not in body and addr.encode() not in body
    # Audited, naming an account only where one with a verified address
    # matched (not the one whose address is unverified).
    rows = s.sql("SELECT target, detail FROM audit_log WHERE action ="
                 " 'password_reset_request' ORDER BY id DESC LIMIT 6")
    assert sorted(r[0] for r in rows) == ["", "", "", "", name, name], rows
    assert [r[1] for r in rows if r[0] == name] == ["link mailed"] * 2
    # By name and by address: two links, to the verified address only.
    assert len(s.mail.wait_for(addr, n=2, pred=lambda m: m.subject ==
                               "Reset your password")) == 2
    time.sleep(1.5)
    assert mails_of(s, addr2, "Reset your password") == []


def test_reset_mails_to_one_account_are_capped(s):
    name, uid, _, addr = with_address(s, "mrc")
    b = Browser(s)
    for _ in range(5):
        r = ask_reset(b, name)
        assert r.status == 200 and b'id="reset-sent"' in r.body, r.status
    time.sleep(2)
    assert len(mails_of(s, addr, "Reset your password")) == 3


def test_a_reset_link_sets_the_password_once(s):
    name, uid, b1, addr = with_address(s, "mr1")
    b2 = logged_in(s, name, PW)
    ask_reset(Browser(s), addr)
    path = reset_link(s, addr)
    tok = path.rsplit("/", 1)[1]
    assert one(s, "SELECT TIMESTAMPDIFF(MINUTE, created_at, expires_at)"
               " FROM email_tokens WHERE token_hash = '%s' AND purpose ="
               " 'reset'" % sha256(tok)) == "60"
    c = Browser(s)
    page = c.get(path)
    assert page.status == 200 and page.headers.get("cache-control") == \
        "no-store", page.status
    # The registration's password policy.
    r = c.post(path, {"password": WEAK_PW, "password2": WEAK_PW,
                      "csrf": csrf_of(page)})
    assert r.status == 422 and "New password" in r.text, r.status
    r = c.post(path, {"password": PW2, "password2": PW2 + "x",
                      "csrf": csrf_of(page)})
    assert r.status == 422, r.status
    r = c.post(path, {"password": PW2, "password2": PW2,
                      "csrf": csrf_of(page)})
    redirected(r, "reset", "/login")
    assert c.session is None, "the reset signed someone in"
    # Every session of the account ended; the old password is dead.
    for b in (b1, b2):
        r = b.get("/account")
        assert r.status == 303 and location(r).startswith("/login"), \
            r.status
    assert one(s, "SELECT COUNT(*) FROM sessions WHERE user_id = %d" %
               uid) == "0"
    _, r = login(s, name, PW)
    assert r.status == 401, r.status
    logged_in(s, name, PW2)
    # Once.
    assert c.get(path).status == 404
    r = c.post(path, {"password": PW, "password2": PW,
                      "csrf": csrf_of(c.get("/login"))})
    assert r.status == 404, r.status
    logged_in(s, name, PW2)
    rows = s.sql("SELECT actor, detail FROM audit_log WHERE action ="
                 " 'password_reset' AND target = '%s'" % name)
    assert len(rows) == 1 and rows[0][0] == name and "2 session" in \
        rows[0][1], rows
    s.mail.wait_for(addr, pred=lambda m: m.subject ==
                    "Your password was changed")


def test_an_expired_reset_link_does_nothing(s):
    name, uid, _, addr = with_address(s, "mr2")
    ask_reset(Browser(s), name)
    path = reset_link(s, addr)
    s.sql("UPDATE email_tokens SET expires_at = NOW(3) - INTERVAL 1 SECOND"
          " WHERE user_id = %d AND purpose = 'reset'" % uid)
    c = Browser(s)
    page = c.get(path)
    assert page.status == 404 and 'id="reset-invalid"' in page.text
    r = c.post(path, {"password": PW2, "password2": PW2,
                      "csrf": csrf_of(c.get("/login"))})
    assert r.status == 404, r.status
    logged_in(s, name, PW)


def test_a_password_change_voids_a_reset_link(s):
    name, uid, b, addr = with_address(s, "mr3")
    ask_reset(Browser(s), name)
    path = reset_link(s, addr)
    r = b.submit("/account/password", {"current": PW, "password": PW2,
                                       "password2": PW2})
    redirected(r, "change", "/account?done=password")
    assert Browser(s).get(path).status == 404
    logged_in(s, name, PW2)


def test_a_reset_does_not_skip_two_factor_login(s):
    name, uid, b, addr = with_address(s, "mr4")
    key = enable_2fa(s, b)
    ask_reset(Browser(s), name)
    path = reset_link(s, addr)
    c = Browser(s)
    page = c.get(path)
    redirected(c.post(path, {"password": PW2, "password2": PW2,
                             "csrf": csrf_of(page)}), "reset", "/login")
    c, r = login(s, name, PW2)
    redirected(r, "password step", "/login/2fa")
    assert c.session is None, "a session without the second factor"
    s.sql("UPDATE user_totp SET last_step = 0 WHERE user_id = %d" % uid)
    page = c.get("/login/2fa")
    r = c.post("/login/2fa", {"code": totp(key, mid_step()),
                              "csrf": csrf_of(page)})
    redirected(r, "second step", "/account")
    assert c.session


# ------------------------------------------------------------ notices

def enable_2fa(s, b):
    """Turns two-factor login on for b's account; returns the key."""
    r = b.submit("/account/security/setup", {}, page="/account/security")
    redirected(r, "setup", "/account/security?done=setup")
    page = b.get("/account/security")
    b32 = re.search(r'<code id="twofa-secret">([A-Z2-7]+)</code>',
                    page.text).group(1)
    key = base64.b32decode(b32)
    r = followed(b, b.post("/account/security/enable",
                           {"code": totp(key, mid_step()),
                            "csrf": csrf_of(page)}),
                 "enable", "/account/security")
    assert "recovery-codes" in r.text, r.status
    return key


def test_a_login_from_a_new_device_is_told(s):
    name, uid, b, addr = with_address(s, "mn")
    subject = "New sign-in to your account"
    _, r = login_as(s, name, PW, ua="Firefox/140.0 (test A)")
    redirected(r, "new device", "/account")
    mail = s.mail.wait_for(addr, pred=lambda m: m.subject == subject)[0]
    assert "Firefox/140.0 (test A)" in mail.body, mail.body
    assert "127.0.0.1" in mail.body, mail.body
    # The same browser again, and the first one: known devices.
    login_as(s, name, PW, ua="Firefox/140.0 (test A)")
    logged_in(s, name, PW)
    time.sleep(2)
    assert len(mails_of(s, addr, subject)) == 1
    fps = s.sql("SELECT fingerprint FROM known_devices WHERE user_id = %d"
                % uid)
    assert len(fps) == 2 and all(re.fullmatch(r"[0-9a-f]{64}", f[0])
                                 for f in fps), fps


def test_two_factor_changes_are_told(s):
    name, uid, b, addr = with_address(s, "mn2")
    enable_2fa(s, b)
    s.mail.wait_for(addr, pred=lambda m: m.subject ==
                    "Two-factor login turned on")
    a = admin(s)
    page = a.get("/admin/users/%d" % uid)
    r = a.post("/admin/users/%d/two-factor/reset" % uid,
               {"csrf": csrf_of(page)})
    redirected(r, "admin reset", "/admin/users/%d" % uid)
    mail = s.mail.wait_for(addr, pred=lambda m: m.subject ==
                           "Two-factor login reset")[0]
    assert "administrator" in mail.body, mail.body


def test_a_new_key_is_told(s):
    name, uid, b, addr = with_address(s, "mn3")
    new_key(b, "nightly-backup", ["read", "generate"])
    mail = s.mail.wait_for(addr, pred=lambda m: m.subject ==
                           "New API key")[0]
    assert "nightly-backup" in mail.body and "read,generate" in mail.body, \
        mail.body
    assert mail.msg["Auto-Submitted"] == "auto-generated"


def test_a_rotated_key_is_told_on_the_page_and_over_the_api(s):
    name, uid, b, addr = with_address(s, "mn6")
    key = new_key(b, "rotating", ["read"])
    kid = one(s, "SELECT id FROM api_keys WHERE key_hash = '%s'" %
              sha256(key))
    page = b.get("/account/keys")
    r = followed(b, b.post("/account/keys/%s/rotate" % kid,
                           {"grace": "60", "csrf": csrf_of(page)}),
                 "rotate", "/account/keys")
    mail = s.mail.wait_for(addr, pred=lambda m: m.subject ==
                           "API key rotated")[0]
    assert "rotating" in mail.body and "60 seconds" in mail.body, mail.body
    new = re.search(r'<code id="new-key">([^<]+)</code>', r.text).group(1)
    r = s.request("POST", "/api/v1/keys/%s/rotate" % kid,
                  headers={"Authorization": "Bearer " + new})
    assert r.status in (200, 201), (r.status, r.text[:500])
    s.mail.wait_for(addr, n=2, pred=lambda m: m.subject ==
                    "API key rotated")


def test_no_notices_go_to_an_unverified_address(s):
    name, uid, b, addr = with_address(s, "mn4", verify=False)
    s.mail.wait_for(addr)       # the verification mail itself
    new_key(b, "k", ["read"])
    login_as(s, name, PW, ua="Other/1.0")
    enable_2fa(s, b)
    quiet(s, uid, ("key", "login", "2fa"))
    assert len(s.mail.to(addr)) == 1, [m.subject for m in s.mail.to(addr)]
    # Nor to an account without any address.
    name2 = account(s, "mn5")
    uid2 = int(user_id(s, name2))
    b2 = logged_in(s, name2, PW)
    new_key(b2, "k", ["read"])
    quiet(s, uid2, ("key", "login", "2fa"), seconds=1)


# ------------------------------------------------------------ outbox

def test_a_mail_the_relay_refuses_is_retried_until_it_takes_it(s):
    name, uid, b, addr = with_address(s, "mo")
    s.mail.stop()
    try:
        new_key(b, "while-down", ["read"])

        def failed_once():
            rows = s.sql("SELECT status, attempts, last_error IS NOT NULL"
                         " FROM mail_outbox WHERE user_id = %d AND kind ="
                         " 'key'" % uid)
            return rows and rows[0][0] == "pending" and \
                int(rows[0][1]) >= 1 and rows[0][2] == "1"
        wait_until(failed_once, timeout=20, what="a failed attempt")
        # The page did not wait for the relay, and the text is kept for
        # the next attempt.
        assert one(s, "SELECT message <> '' FROM mail_outbox WHERE"
                   " user_id = %d AND kind = 'key'" % uid) == "1"
    finally:
        s.mail.start()
    mail = s.mail.wait_for(addr, timeout=30,
                           pred=lambda m: m.subject == "New API key")[0]
    assert "while-down" in mail.body
    assert s.sql("SELECT status, message FROM mail_outbox WHERE user_id ="
                 " %d AND kind = 'key'" % uid) == [["sent", ""]]


def test_old_delivery_records_are_purged_but_pending_mail_is_not(s):
    import os
    import signal
    ins = ("INSERT INTO mail_outbox (kind, sender, recipient, message,"
           " status, created_at, next_attempt_at) VALUES ('%s', '" + FROM +
           "', 'x@mail.example', '%s', '%s', NOW(3) - INTERVAL %d DAY,"
           " NOW(3) + INTERVAL 1 DAY)")
    s.sql(ins % ("purge-old-sent", "", "sent", 31))
    s.sql(ins % ("purge-old-failed", "", "failed", 31))
    s.sql(ins % ("purge-old-pending", "m", "pending", 31))
    s.sql(ins % ("purge-new-sent", "", "sent", 29))
    # A reload restarts the postman, which purges when first idle.
    os.kill(s.pid("kilnd"), signal.SIGHUP)

    def kinds():
        return sorted(r[0] for r in s.sql(
            "SELECT kind FROM mail_outbox WHERE kind LIKE 'purge-%'"))
    wait_until(lambda: kinds() == ["purge-new-sent", "purge-old-pending"],
               timeout=20, what="the purge")
