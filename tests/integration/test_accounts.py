"""Accounts end to end behind lighttpd: registration (closed, open, by
invitation), login with throttling and lockout, sessions (rotation, revoke,
log out everywhere), profile and password changes, CSRF and origin checks,
API keys (scopes, revocation, last use), isolation between users, the admin
pages and their audit trail, security headers everywhere, and no clear
password, token or key in the logs or the database.

Each test makes its own accounts (kiln-admin create-user, under names no
other test uses) and sessions, and puts back the site settings it changes,
so any one runs alone. Lockouts are shortened through [auth] in the extra
config."""

import collections
import html
import http.client
import json
import os
import re
import time
import urllib.parse

import harness
from common import check_security_headers, setting, sha256, unique
from harness import run
from harness import Response

# The tiers the admin tests move users between must be defined: only
# those kiln.conf defines are accepted.
STACK = dict(server="lighttpd", daemon=False,
             extra_conf="[auth]\nlockout_failures = 3\nlockout_window = 60\n"
                        "lockout_seconds = 3\n"
                        "[limits]\nlogin_burst = 100000\n"
                        "[tier pro]\n[tier gold]\n")

PW = "Quartz-Falcon-1931"
PW2 = "Marble-Heron-2846"
BOB_PW = "Copper-Lynx-5520"
CAROL_PW = "Velvet-Otter-7713"
WEAK_PW = "password123"

WRONG = "Wrong user name or password."
LOCKED = "Too many failed attempts"


# ---------------------------------------------------------------- client

def secrets_token():
    import base64
    return base64.urlsafe_b64encode(os.urandom(32)).decode()[:43]


def headers_ok(resp, where):
    check_security_headers(resp, where)
    assert resp.headers.get("x-frame-options"), "%s: no X-Frame-Options" % \
        where


class Browser:
    """One browser: a cookie jar and the HTTP requests a browser sends.
    Every response is checked for the security headers."""

    def __init__(self, s, cookies=None):
        self.s = s
        self.jar = dict(cookies or {})
        self.origin = "http://127.0.0.1:%d" % s.port

    def request(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        if self.jar:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.jar.items())
        c = http.client.HTTPConnection("127.0.0.1", self.s.port, timeout=30)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            raw = r.getheaders()
        finally:
            c.close()
        # Several Set-Cookie headers: keep them all, not the last one.
        resp = Response(r.status, {k.lower(): v for k, v in raw}, data)
        resp.set_cookies = [v for k, v in raw if k.lower() == "set-cookie"]
        for sc in resp.set_cookies:
            self.store(sc)
        headers_ok(resp, "%s %s" % (method, path))
        return resp

    def store(self, set_cookie):
        first, _, attrs = set_cookie.partition(";")
        name, _, value = first.strip().partition("=")
        attrs = [a.strip().lower() for a in attrs.split(";")]
        if "max-age=0" in attrs or value == "":
            self.jar.pop(name, None)
        else:
            self.jar[name] = value

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, fields, origin=True, headers=None):
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        if origin is True:
            h["Origin"] = self.origin
        elif origin:
            h["Origin"] = origin
        h.update(headers or {})
        return self.request("POST", path,
                            body=urllib.parse.urlencode(fields, doseq=True),
                            headers=h)

    def submit(self, action, fields, page="/account"):
        """GETs page, takes its csrf token, POSTs fields to action."""
        token = csrf_of(self.get(page))
        return self.post(action, dict(fields, csrf=token))

    @property
    def session(self):
        return self.jar.get("kiln_session")


def csrf_of(resp):
    m = re.search(r'name="csrf" value="([^"]+)"', resp.text)
    assert m, "no csrf field on the page (%d): %s" % (resp.status,
                                                       resp.text[:2000])
    return html.unescape(m.group(1))


def location(resp):
    """The redirect target as path?query (absolute or relative header)."""
    loc = resp.headers.get("location", "")
    u = urllib.parse.urlsplit(loc)
    return u.path + ("?" + u.query if u.query else "")


def redirected(resp, where, want):
    """A 303 to want ("/login?next=/x" and "/login?next=%2Fx" are one)."""
    assert resp.status == 303, "%s: %d %s" % (where, resp.status,
                                              resp.text[:1500])
    got = urllib.parse.unquote(location(resp))
    assert got == urllib.parse.unquote(want), "%s: Location %r, want %r" % (
        where, resp.headers.get("location"), want)


def redirected_to_page(resp, where, want):
    """A 303 to the page want, with or without a "?done=..." notice."""
    assert resp.status == 303, "%s: %d %s" % (where, resp.status,
                                              resp.text[:1500])
    u = urllib.parse.urlsplit(resp.headers.get("location", ""))
    assert u.path == want and (u.query == "" or
                               u.query.startswith("done=")), \
        "%s: Location %r, want %r" % (where, resp.headers.get("location"),
                                      want)


def followed(b, resp, where, want):
    """POST-redirect-GET: resp is a 303 to the page want (a query may
    follow); the page b gets there (200)."""
    assert resp.status == 303, "%s: %d %s" % (where, resp.status,
                                              resp.text[:1500])
    assert urllib.parse.urlsplit(location(resp)).path == want, \
        "%s: Location %r, want %r" % (where, resp.headers.get("location"),
                                      want)
    page = b.get(location(resp))
    assert page.status == 200, "%s: GET %s: %d %s" % (
        where, location(resp), page.status, page.text[:1500])
    return page


def session_cookie_header(resp):
    for sc in resp.set_cookies:
        if sc.startswith("kiln_session=") and \
                not sc.startswith("kiln_session=;"):
            return sc
    return None


def login(s, username, password, b=None, next_="/account"):
    b = b or Browser(s)
    token = csrf_of(b.get("/login"))
    r = b.post("/login", {"username": username, "password": password,
                          "next": next_, "csrf": token})
    return b, r


def logged_in(s, username, password):
    b, r = login(s, username, password)
    redirected(r, "login as %s" % username, "/account")
    assert b.session, "no session cookie after login: %s" % r.set_cookies
    return b


def register(s, fields, b=None):
    b = b or Browser(s)
    token = csrf_of(b.get("/register"))
    r = b.post("/register", dict(fields, csrf=token))
    return b, r


def words(page):
    """The visible words of a page (markup and attribute values dropped),
    counted, so an error message shows up as words the plain form lacks."""
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]*>", " ", text)).lower()
    return collections.Counter(re.findall(r"[a-z0-9]+", text))


def names_field(resp, baseline, *alternatives):
    """The 422 page says something the plain form does not, and it names
    one of the alternatives (each a list of word stems that must all be
    new: "password" matches "passwords")."""
    new = words(resp.text) - words(baseline)
    for alt in alternatives:
        if all(any(w.startswith(stem) for w in new) for stem in alt):
            return
    raise AssertionError("error message names none of %r; new words: %s" %
                         (alternatives, sorted(new)))


def api(s, method, path, key=None, body=None):
    h = {}
    if key is not None:
        h["Authorization"] = "Bearer " + key
    if body is not None:
        h["Content-Type"] = "application/json"
        body = json.dumps(body)
    r = s.request(method, path, body=body, headers=h)
    headers_ok(r, "API %s %s" % (method, path))
    return r


def one(s, query):
    rows = s.sql(query)
    assert len(rows) == 1, "%s: %r" % (query, rows)
    return rows[0][0] if len(rows[0]) == 1 else rows[0]


def user_id(s, name):
    return one(s, "SELECT id FROM users WHERE username = '%s'" % name)


def user_count(s, name):
    return int(one(s, "SELECT COUNT(*) FROM users WHERE username = '%s'" %
                   name))


def audit_rows(s, action, target=None):
    q = "SELECT actor, target, detail FROM audit_log WHERE action = '%s'" % \
        action
    if target is not None:
        q += " AND target = '%s'" % target
    return s.sql(q)


def admin_password(s):
    """The password tools/kiln-stack gave the stack's own admin."""
    with open(s.path("admin-login")) as f:
        for line in f:
            if line.startswith("password: "):
                return line[len("password: "):].rstrip("\n")
    raise AssertionError("no password in admin-login")


def admin(s):
    """A browser signed in as the stack's admin."""
    return logged_in(s, "admin", admin_password(s))


def new_key(b, name, scopes, page="/account/keys"):
    r = followed(b, b.submit("/account/keys", {"name": name,
                                               "scope": list(scopes)},
                             page=page), "create key " + name,
                 "/account/keys")
    m = re.search(r'<code id="new-key">([^<]+)</code>', r.text)
    assert m, r.text[:2000]
    return html.unescape(m.group(1))


def key_id(s, key):
    return one(s, "SELECT id FROM api_keys WHERE key_hash = '%s'" %
               sha256(key))


def session_ids(s, uid):
    return [r[0] for r in s.sql("SELECT id FROM sessions WHERE user_id = %s"
                                " ORDER BY id" % uid)]


def kiln_admin(s, *args, stdin=None):
    return run([os.path.join(harness.BUILD, "tools", "kiln-admin"), "-c",
                s.conf] + list(args), input=stdin)


def account(s, prefix, password=PW, display=None):
    """A fresh account with password, made as an operator would (kiln-admin
    create-user): its user name."""
    name = unique(prefix)
    args = ["create-user", "--username", name, "--password-stdin"]
    if display is not None:
        args += ["--display-name", display]
    p = kiln_admin(s, *args, stdin=password + "\n")
    assert p.returncode == 0, p.stderr
    return name


def signed_in(s, prefix, password=PW):
    """A fresh account and a browser signed in to it: (name, id, browser)."""
    name = account(s, prefix, password)
    return name, user_id(s, name), logged_in(s, name, password)


def sid_of(s, b):
    """The id of browser b's session row."""
    return one(s, "SELECT id FROM sessions WHERE token_hash = '%s'" %
               sha256(b.session))


def count(s, query):
    return int(one(s, query))


# ---------------------------------------------------------------- tests

def registration_fields(name, password=CAROL_PW):
    return {"username": name, "display_name": "Alice A.",
            "password": password, "password2": password}


def test_registration_is_closed_by_default(s):
    name = unique("alice")
    assert s.sql("SELECT value FROM settings WHERE name = 'registration'") \
        == [["closed"]]
    b = Browser(s)
    r = b.get("/register")
    assert r.status == 200, r.text[:1000]
    assert "registration is closed" in r.text.lower(), r.text[:2000]
    # The notice may carry no form: the pre-session token is the same on
    # every public form, so take it from the login page.
    token = csrf_of(b.get("/login"))
    assert b.jar["kiln_csrf"] == token
    r = Browser(s).get("/login")
    pre = [c for c in r.set_cookies if c.startswith("kiln_csrf=")]
    assert len(pre) == 1, r.set_cookies
    attrs = [a.strip().lower() for a in pre[0].split(";")[1:]]
    assert "httponly" in attrs and "samesite=lax" in attrs, pre
    assert pre[0].startswith("kiln_csrf=%s;" % csrf_of(r)), pre
    r = b.post("/register", dict(registration_fields(name), csrf=token))
    assert r.status == 403, "%d %s" % (r.status, r.text[:1000])
    assert "closed" in r.text.lower(), r.text[:1500]  # not a CSRF refusal
    assert "kiln_session" not in b.jar
    assert user_count(s, name) == 0


def test_register_opens_a_session(s):
    name = unique("alice")
    with setting(s, "registration", "open"):
        b, r = register(s, registration_fields(name, PW))
    redirected(r, "register %s" % name, "/account")
    sc = session_cookie_header(r)
    assert sc, "no kiln_session cookie: %r" % r.set_cookies
    attrs = [a.strip().lower() for a in sc.split(";")[1:]]
    assert "httponly" in attrs, sc
    assert "samesite=lax" in attrs, sc
    assert "path=/" in attrs, sc
    assert any(a.startswith("max-age=") and int(a[8:]) > 0
               for a in attrs), sc
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", b.session), b.session

    got, display, pwhash, role, disabled = one(
        s, "SELECT username, display_name, password_hash, role, disabled"
           " FROM users WHERE username = '%s'" % name)
    assert (got, display, role, disabled) == (name, "Alice A.", "user",
                                              "0")
    assert pwhash.startswith("$argon2id$"), pwhash
    assert PW not in pwhash
    uid = user_id(s, name)
    assert one(s, "SELECT COUNT(*) FROM sessions WHERE user_id = %s" %
               uid) == "1"
    assert audit_rows(s, "register", name), "no register audit row"

    r = b.get("/account")
    assert r.status == 200, r.text[:1000]
    assert name in r.text and "Alice A." in r.text


def test_registration_errors_name_the_field(s):
    taken = account(s, "alice")
    carol = unique("carol")
    users = count(s, "SELECT COUNT(*) FROM users")
    with setting(s, "registration", "open"):
        b = Browser(s)
        form = b.get("/register")
        assert form.status == 200 and 'name="password2"' in form.text, \
            form.text[:2000]
        base = {"username": carol, "display_name": "Carol",
                "password": CAROL_PW, "password2": CAROL_PW}
        cases = [
            ("weak password", dict(base, password=WEAK_PW,
                                   password2=WEAK_PW), [["password"]]),
            ("mismatched password2", dict(base, password2=CAROL_PW + "x"),
             [["password"], ["match"], ["confirm"], ["differ"]]),
            ("bad user name", dict(base, username="bad name!"),
             [["username"], ["user", "name"]]),
            ("one-letter user name", dict(base, username="c"),
             [["username"], ["user", "name"]]),
            ("user name taken", dict(base, username=taken),
             [["username"], ["user", "name"]]),
            ("user name taken, other case", dict(base,
                                                 username=taken.upper()),
             [["username"], ["user", "name"]]),
        ]
        for what, fields, alternatives in cases:
            _, r = register(s, fields, b)
            assert r.status == 422, "%s: %d %s" % (what, r.status,
                                                   r.text[:1500])
            names_field(r, form.text, *alternatives)
            assert "kiln_session" not in b.jar, what
            assert user_count(s, carol) == 0, what
            assert user_count(s, "bad name!") == 0, what
            assert user_count(s, "c") == 0, what
        # The weak-password message says why.
        _, r = register(s, dict(base, password=WEAK_PW, password2=WEAK_PW),
                        b)
        assert "common" in r.text.lower(), r.text[:2000]
    assert user_count(s, taken) == 1
    assert count(s, "SELECT COUNT(*) FROM users") == users


def test_login_is_audited_and_profile_changes_the_display_name(s):
    name, uid, b = signed_in(s, "alice")
    assert audit_rows(s, "login", name)
    r = b.submit("/account/profile", {"display_name": "Alice Liddell"})
    redirected(r, "profile", "/account?done=profile")
    assert one(s, "SELECT display_name FROM users WHERE id = %s" % uid) == \
        "Alice Liddell"
    assert "Alice Liddell" in b.get("/account").text
    assert audit_rows(s, "profile_change", name)


def test_password_change_refuses_a_wrong_current_weak_or_mismatched(s):
    _, uid, b = signed_in(s, "alice")
    before = one(s, "SELECT password_hash FROM users WHERE id = %s" % uid)
    for what, fields in [
            ("wrong current", {"current": PW + "x", "password": PW2,
                               "password2": PW2}),
            ("weak", {"current": PW, "password": WEAK_PW,
                      "password2": WEAK_PW}),
            ("mismatch", {"current": PW, "password": PW2,
                          "password2": PW2 + "x"})]:
        r = b.submit("/account/password", fields)
        assert r.status == 422, "%s: %d %s" % (what, r.status, r.text[:1000])
        assert one(s, "SELECT password_hash FROM users WHERE id = %s" %
                   uid) == before, what


def test_password_change_signs_out_the_other_sessions(s):
    name, uid, b = signed_in(s, "alice")
    other = logged_in(s, name, PW)     # a second browser
    before = one(s, "SELECT password_hash FROM users WHERE id = %s" % uid)
    r = b.submit("/account/password", {"current": PW, "password": PW2,
                                       "password2": PW2})
    redirected(r, "password change", "/account?done=password")
    after = one(s, "SELECT password_hash FROM users WHERE id = %s" % uid)
    assert after != before and after.startswith("$argon2id$")
    assert audit_rows(s, "password_change", name)
    # This browser stays signed in; the other one was signed out.
    assert b.get("/account").status == 200
    r = other.get("/account")
    redirected(r, "other session after password change",
               "/login?next=%2Faccount")
    assert one(s, "SELECT COUNT(*) FROM sessions WHERE token_hash = '%s'" %
               sha256(other.session or "")) == "0"
    # Old password refused, new one accepted.
    _, r = login(s, name, PW)
    assert r.status == 401 and WRONG in r.text, (r.status, r.text[:1000])
    logged_in(s, name, PW2)


def test_logout_ends_the_session(s):
    # The row goes, the cookie is cleared, the token is dead.
    name, _, b = signed_in(s, "alice")
    token = b.session
    assert one(s, "SELECT COUNT(*) FROM sessions WHERE token_hash = '%s'" %
               sha256(token)) == "1"
    r = b.submit("/logout", {})
    redirected(r, "logout", "/")
    assert "kiln_session" not in b.jar, r.set_cookies
    assert one(s, "SELECT COUNT(*) FROM sessions WHERE token_hash = '%s'" %
               sha256(token)) == "0"
    assert s.sql("SELECT actor, target FROM audit_log WHERE action ="
                 " 'logout' AND target = '%s'" % name) == [[name, name]]
    stale = Browser(s, {"kiln_session": token})
    r = stale.get("/account")
    redirected(r, "old cookie after logout", "/login?next=%2Faccount")


def test_login_goes_to_local_next_only(s):
    name = account(s, "alice")
    for nxt, want in [("/account/keys", "/account/keys"),
                      ("//evil.example/x", "/"),
                      ("http://evil.example/", "/"),
                      ("/\\evil.example", "/")]:
        b, r = login(s, name, PW, next_=nxt)
        redirected(r, "login next=%r" % nxt, want)


def test_login_rotates_the_session(s):
    name = account(s, "alice")
    uid = user_id(s, name)
    # A token planted before login (session fixation) is not adopted.
    planted = "P" * 43
    b = Browser(s, {"kiln_session": planted})
    _, r = login(s, name, PW, b)
    redirected(r, "login with a planted cookie", "/account")
    first = b.session
    assert first and first != planted
    # Logging in again from a signed-in browser gives a new token and
    # drops the old session. (Its login page redirects to /account; the
    # form token of a signed-in browser is the session's.)
    token = csrf_of(b.get("/account"))
    r = b.post("/login", {"username": name, "password": PW,
                          "next": "/account", "csrf": token})
    redirected(r, "second login", "/account")
    second = b.session
    assert second and second != first
    hashes = [r[0] for r in s.sql("SELECT token_hash FROM sessions"
                                  " WHERE user_id = %s" % uid)]
    assert sha256(second) in hashes, hashes
    assert sha256(first) not in hashes
    assert sha256(planted) not in hashes
    assert Browser(s, {"kiln_session": first}).get("/account").status == 303
    assert b.get("/account").status == 200
    # The clear token is nowhere in the table, nor is the form token the
    # same value.
    dump = "\n".join("\t".join(r) for r in s.sql("SELECT * FROM sessions"))
    assert second not in dump and first not in dump
    csrf = one(s, "SELECT csrf FROM sessions WHERE token_hash = '%s'" %
               sha256(second))
    assert csrf != second and csrf == csrf_of(b.get("/account"))


def test_wrong_password_and_unknown_user_look_the_same(s):
    name = account(s, "alice")
    _, wrong = login(s, name, "Not-Her-Password-1")
    _, unknown = login(s, unique("mallory"), "Not-Her-Password-1")
    assert wrong.status == unknown.status == 401, (wrong.status,
                                                   unknown.status)
    assert WRONG in wrong.text and WRONG in unknown.text, wrong.text[:1500]
    # Nothing else on the page tells them apart either.
    assert words(wrong.text) == words(unknown.text)
    assert session_cookie_header(wrong) is None, wrong.set_cookies
    assert session_cookie_header(unknown) is None, unknown.set_cookies


def test_three_failures_lock_a_name_until_the_lockout_ends(s):
    name, mallory = account(s, "alice"), unique("mallory")
    failed_before = len(audit_rows(s, "login_failed"))
    locks_before = len(audit_rows(s, "lockout"))
    _, r = login(s, name, "Not-Her-Password-1")
    assert r.status == 401 and WRONG in r.text, (r.status, r.text[:1000])
    _, r = login(s, name, "Not-Her-Password-2")
    assert r.status == 401 and WRONG in r.text, (r.status, r.text[:1000])
    _, r = login(s, name, "Not-Her-Password-3")
    assert r.status in (401, 429), r.status
    # Locked: even the right password is refused.
    b, r = login(s, name, PW)
    assert r.status == 429, "%d %s" % (r.status, r.text[:1000])
    assert LOCKED in r.text
    assert "kiln_session" not in b.jar
    # An unknown name locks the same way.
    for i in range(3):
        _, r = login(s, mallory, "Not-Her-Password-%d" % i)
    _, r = login(s, mallory, "Not-Her-Password-9")
    assert r.status == 429 and LOCKED in r.text, (r.status, r.text[:1000])
    # The lockout ends.
    time.sleep(3.5)
    logged_in(s, name, PW)
    # Audited; an unknown name may be left out of the row (it can be a
    # password typed into the wrong box), a known one is the target.
    failed = audit_rows(s, "login_failed")
    assert len(audit_rows(s, "login_failed", name)) >= 3, failed
    assert len(failed) - failed_before >= 6, failed
    locks = audit_rows(s, "lockout")
    assert audit_rows(s, "lockout", name), locks
    assert len(locks) - locks_before >= 2, locks


def test_account_forms_refuse_a_forged_request(s):
    _, uid, b = signed_in(s, "alice")
    token = csrf_of(b.get("/account"))

    def name():
        return one(s, "SELECT display_name FROM users WHERE id = %s" % uid)

    before = name()
    cases = [
        ("no csrf field", {"display_name": "Evil 1"}, True, None),
        ("wrong csrf", {"display_name": "Evil 2", "csrf": "x" * 43}, True,
         None),
        ("empty csrf", {"display_name": "Evil 3", "csrf": ""}, True, None),
        ("foreign Origin", {"display_name": "Evil 4", "csrf": token},
         "http://evil.example", None),
        ("foreign Referer, no Origin",
         {"display_name": "Evil 5", "csrf": token}, False,
         {"Referer": "http://evil.example/page"}),
        ("Origin on another port",
         {"display_name": "Evil 6", "csrf": token},
         "http://127.0.0.1:%d" % (s.port + 1), None),
    ]
    for what, fields, origin, extra in cases:
        r = b.post("/account/profile", fields, origin=origin, headers=extra)
        assert r.status == 403, "%s: %d %s" % (what, r.status, r.text[:800])
        assert name() == before, what
    # The same request with the token and our own origin goes through.
    r = b.post("/account/profile", {"display_name": "Alice L.",
                                    "csrf": token})
    redirected(r, "profile with csrf", "/account?done=profile")
    assert name() == "Alice L."


def test_login_form_token_must_be_the_cookies(s):
    # Before login the form token must match the kiln_csrf cookie.
    name = account(s, "alice")
    for what, mangle in [("no csrf", lambda t: None),
                         ("csrf not the cookie's", lambda t: "y" * 43)]:
        nb = Browser(s)
        t = mangle(csrf_of(nb.get("/login")))
        fields = {"username": name, "password": PW, "next": "/account"}
        if t is not None:
            fields["csrf"] = t
        r = nb.post("/login", fields)
        assert r.status == 403, "login %s: %d" % (what, r.status)
        assert "kiln_session" not in nb.jar


def test_a_forged_logout_does_nothing(s):
    _, _, b = signed_in(s, "alice")
    r = b.post("/logout", {"csrf": "z" * 43})
    assert r.status == 403
    assert b.get("/account").status == 200


def test_key_form_refuses_bad_names_and_scopes(s):
    _, uid, b = signed_in(s, "alice")
    page = b.get("/account/keys")
    assert page.status == 200, page.text[:1000]
    for what, fields in [("empty name", {"name": "", "scope": "read"}),
                         ("unknown scope", {"name": "k", "scope": "root"}),
                         ("admin scope for a user",
                          {"name": "k", "scope": "admin"})]:
        r = b.submit("/account/keys", fields, page="/account/keys")
        assert r.status == 422, "%s: %d %s" % (what, r.status, r.text[:800])
        assert 'id="new-key"' not in r.text
    assert one(s, "SELECT COUNT(*) FROM api_keys WHERE user_id = %s" %
               uid) == "0"


def test_a_new_key_is_stored_hashed_and_reads_the_api(s):
    user, uid, b = signed_in(s, "alice")
    key = new_key(b, "script", ["read"])
    assert re.fullmatch(r"kiln_[A-Za-z0-9_-]{43}", key), key
    kid, name, prefix, khash, scopes, used = one(
        s, "SELECT id, name, prefix, key_hash, scopes, last_used_at IS NULL"
           " FROM api_keys WHERE user_id = %s" % uid)
    assert (name, scopes, used) == ("script", "read", "1")
    assert khash == sha256(key)
    assert prefix == key[:13]
    dump = "\n".join("\t".join(r) for r in s.sql("SELECT * FROM api_keys"))
    assert key not in dump and key[5:] not in dump
    assert audit_rows(s, "key_create", user)
    listing = b.get("/account/keys").text
    assert prefix in listing and key not in listing and "script" in listing

    r = api(s, "GET", "/api/v1/me", key)
    assert r.status == 200, r.text
    me = r.json()
    assert me["username"] == user and str(me["id"]) == uid
    assert me["role"] == "user" and me["tier"] == "free"
    assert str(me["key"]["id"]) == kid and me["key"]["scopes"] == ["read"]
    assert one(s, "SELECT last_used_at IS NOT NULL FROM api_keys"
                  " WHERE id = %s" % kid) == "1"
    keys = api(s, "GET", "/api/v1/keys", key).json()["keys"]
    assert [(str(k["id"]), k["prefix"], k["scopes"]) for k in keys] == \
        [(kid, prefix, ["read"])]
    assert keys[0]["name"] == "script" and keys[0]["revoked_at"] is None
    assert keys[0]["last_used_at"] and keys[0]["created_at"]
    assert "key_hash" not in keys[0] and key not in json.dumps(keys)



def test_a_wrong_key_or_none_is_401(s):
    _, _, b = signed_in(s, "alice")
    key = new_key(b, "script", ["read"])
    for what, k in [("no key", None), ("garbage", "garbage"),
                    ("unknown kiln key", "kiln_" + "A" * 43),
                    ("right prefix, wrong secret", key[:13] + "B" * 35),
                    ("session token as key", b.session)]:
        r = api(s, "GET", "/api/v1/me", k)
        assert r.status == 401, "%s: %d %s" % (what, r.status, r.text)
        assert r.json()["error"]["code"] == "unauthorized", r.text
        assert r.headers.get("www-authenticate"), what


def test_a_session_reads_the_api_but_cannot_revoke_a_key(s):
    # A session cookie reads through the API (the job page polls it), but
    # changing anything there takes a key.
    name, _, b = signed_in(s, "alice")
    key = new_key(b, "script", ["read"])
    kid = key_id(s, key)
    r = s.request("GET", "/api/v1/me",
                  headers={"Cookie": "kiln_session=" + b.session})
    assert r.status == 200 and r.json()["username"] == name, r.text
    assert r.json()["key"] is None, r.text
    r = s.request("DELETE", "/api/v1/keys/%s" % kid,
                  headers={"Cookie": "kiln_session=" + b.session})
    assert r.status == 401, r.text
    assert s.sql("SELECT revoked_at IS NULL FROM api_keys WHERE id = %s" %
                 kid) == [["1"]]



def test_a_users_key_cannot_list_users(s):
    _, _, b = signed_in(s, "alice")
    key = new_key(b, "script", ["read"])
    r = api(s, "GET", "/api/v1/users", key)
    assert r.status == 403, r.text
    assert r.json()["error"]["code"] == "forbidden"


def test_a_key_revoked_on_the_portal_stops_at_once(s):
    name, _, b = signed_in(s, "alice")
    key = new_key(b, "script", ["read"])
    kid = key_id(s, key)
    assert api(s, "GET", "/api/v1/me", key).status == 200
    r = b.submit("/account/keys/%s/revoke" % kid, {}, page="/account/keys")
    redirected_to_page(r, "revoke key", "/account/keys")
    assert api(s, "GET", "/api/v1/me", key).status == 401
    assert one(s, "SELECT revoked_at IS NOT NULL FROM api_keys WHERE id ="
                  " %s" % kid) == "1"
    assert audit_rows(s, "key_revoke", name)


def test_a_key_revokes_itself_through_the_api(s):
    _, _, b = signed_in(s, "alice")
    key2 = new_key(b, "second", ["read", "generate"])
    assert api(s, "GET", "/api/v1/me", key2).json()["key"]["scopes"] == \
        ["read", "generate"]
    r = api(s, "DELETE", "/api/v1/keys/%s" % key_id(s, key2), key2)
    assert r.status == 204, r.text
    assert api(s, "GET", "/api/v1/me", key2).status == 401


def test_revoking_one_session_ends_it_only(s):
    name, uid, a = signed_in(s, "alice")
    c = logged_in(s, name, PW)
    sid_c = sid_of(s, c)
    page = a.get("/account").text
    assert "/account/sessions/%s/revoke" % sid_c in page, page[:3000]
    r = a.submit("/account/sessions/%s/revoke" % sid_c, {})
    redirected_to_page(r, "revoke own session", "/account")
    assert sid_c not in session_ids(s, uid)
    assert c.get("/account").status == 303
    assert audit_rows(s, "session_revoke", name)
    assert a.get("/account").status == 200


def test_log_out_everywhere(s):
    name, uid, a = signed_in(s, "alice")
    d = logged_in(s, name, PW)
    r = a.submit("/account/sessions/revoke-all", {})
    redirected(r, "log out everywhere", "/login")
    assert session_ids(s, uid) == []
    assert d.get("/account").status == 303
    assert a.get("/account").status == 303
    assert s.sql("SELECT id FROM audit_log WHERE action = 'logout_all'"
                 " AND (actor = '%s' OR target = '%s')" % (name, name))


def test_expired_and_idle_sessions_end(s):
    name = account(s, "alice")
    for what, change in [
            ("expired", "expires_at = NOW(3) - INTERVAL 1 SECOND"),
            ("idle past session_idle",
             "last_seen_at = NOW(3) - INTERVAL 8 DAY")]:
        b = logged_in(s, name, PW)
        assert b.get("/account").status == 200
        s.sql("UPDATE sessions SET %s WHERE token_hash = '%s'" %
              (change, sha256(b.session)))
        r = b.get("/account")
        redirected(r, what, "/login?next=%2Faccount")
        assert "kiln_session" not in b.jar, (what, r.set_cookies)


def test_a_recently_used_session_stays(s):
    _, _, b = signed_in(s, "alice")
    s.sql("UPDATE sessions SET last_seen_at = NOW(3) - INTERVAL 1 DAY"
          " WHERE token_hash = '%s'" % sha256(b.session))
    assert b.get("/account").status == 200
    assert one(s, "SELECT last_seen_at > NOW(3) - INTERVAL 1 HOUR FROM"
                  " sessions WHERE token_hash = '%s'" %
               sha256(b.session)) == "1"


def test_display_names_are_escaped(s):
    _, uid, b = signed_in(s, "alice")
    evil = '<b id="x">Al</b>&"'
    r = b.submit("/account/profile", {"display_name": evil})
    redirected(r, "profile", "/account?done=profile")
    assert one(s, "SELECT display_name FROM users WHERE id = %s" %
               uid) == evil
    page = b.get("/account").text
    assert '<b id="x">' not in page
    assert "&lt;b id=" in page, page[:3000]
    adm = admin(s)
    for path in ("/admin/users", "/admin/users/%s" % uid):
        page = adm.get(path).text
        assert '<b id="x">' not in page, path


def snapshot(s):
    """What the isolation test must leave alone (last-seen and last-used
    times move on every request and are left out)."""
    return {
        "users": s.sql("SELECT id, username, display_name, password_hash,"
                       " role, tier, disabled FROM users ORDER BY id"),
        "sessions": s.sql("SELECT id, user_id, token_hash FROM sessions"
                          " ORDER BY id"),
        "keys": s.sql("SELECT id, user_id, revoked_at FROM api_keys"
                      " ORDER BY id"),
        "settings": s.sql("SELECT name, value FROM settings ORDER BY name"),
        "invites": s.sql("SELECT id FROM invites ORDER BY id"),
    }


ADMIN_ACTIONS = ("user_disable", "user_enable", "role_change",
                 "password_reset", "settings_change", "invite_create")


def test_users_cannot_touch_each_other(s):
    bob_name = account(s, "bob", BOB_PW, "Bob B.")
    bob = user_id(s, bob_name)
    bob_b = logged_in(s, bob_name, BOB_PW)
    bob_key = new_key(bob_b, "bob's", ["read"])
    bob_kid = key_id(s, bob_key)
    bob_sid = sid_of(s, bob_b)
    alice_name, alice_id, alice = signed_in(s, "alice")
    alice_sid = sid_of(s, alice)
    akey = new_key(alice, "kept", ["read"])
    assert api(s, "GET", "/api/v1/me", akey).status == 200

    audit_before = int(one(s, "SELECT COUNT(*) FROM audit_log WHERE action"
                              " IN ('%s')" % "','".join(ADMIN_ACTIONS)))
    before = snapshot(s)

    r = alice.submit("/account/sessions/%s/revoke" % bob_sid, {})
    assert r.status == 404, "%d %s" % (r.status, r.text[:500])
    assert bob_sid in session_ids(s, bob)
    assert bob_b.get("/account").status == 200
    r = alice.submit("/account/keys/%s/revoke" % bob_kid, {},
                     page="/account/keys")
    assert r.status == 404, "%d %s" % (r.status, r.text[:500])
    assert api(s, "GET", "/api/v1/me", bob_key).json()["username"] == \
        bob_name

    r = api(s, "DELETE", "/api/v1/keys/%s" % bob_kid, akey)
    assert r.status == 404, r.text
    assert r.json()["error"]["code"] == "not_found", r.text
    r = api(s, "DELETE", "/api/v1/keys/999999", akey)
    assert r.status == 404, r.text
    assert api(s, "GET", "/api/v1/me", bob_key).status == 200
    keys = api(s, "GET", "/api/v1/keys", akey).json()["keys"]
    assert bob_kid not in [str(k["id"]) for k in keys]

    r = api(s, "GET", "/api/v1/users/%s" % bob, akey)
    assert r.status == 404, r.text
    r = api(s, "GET", "/api/v1/users/%s" % alice_id, akey)
    assert r.status == 200 and r.json()["username"] == alice_name, r.text
    r = api(s, "PATCH", "/api/v1/users/%s" % bob, akey,
            {"disabled": True, "role": "admin"})
    assert r.status == 403, r.text
    r = api(s, "PATCH", "/api/v1/users/%s" % alice_id, akey,
            {"role": "admin"})
    assert r.status == 403, r.text
    r = api(s, "GET", "/api/v1/users", akey)
    assert r.status == 403, r.text

    # Every admin page, read or write, as a plain user.
    for path in ("/admin/users", "/admin/users?q=" + bob_name,
                 "/admin/users/%s" % bob, "/admin/audit", "/admin/settings"):
        r = alice.get(path)
        assert r.status == 403, "GET %s: %d" % (path, r.status)
        assert "Bob B." not in r.text and BOB_PW not in r.text
    token = csrf_of(alice.get("/account"))
    for path, fields in [
            ("/admin/users/%s/status" % bob, {"disabled": "1"}),
            ("/admin/users/%s/role" % bob, {"role": "admin",
                                            "tier": "pro"}),
            ("/admin/users/%s/role" % alice_id, {"role": "admin",
                                                       "tier": "pro"}),
            ("/admin/users/%s/password" % bob, {}),
            ("/admin/users/%s/sessions/%s/revoke" % (bob, bob_sid), {}),
            ("/admin/users/%s/keys/%s/revoke" % (bob, bob_kid), {}),
            ("/admin/settings", {"registration": "closed"}),
            ("/admin/invites", {"note": "mine"})]:
        r = alice.post(path, dict(fields, csrf=token))
        assert r.status == 403, "POST %s: %d %s" % (path, r.status,
                                                    r.text[:500])
        assert 'id="new-password"' not in r.text
        assert 'id="new-invite"' not in r.text

    assert snapshot(s) == before
    assert int(one(s, "SELECT COUNT(*) FROM audit_log WHERE action IN"
                      " ('%s')" % "','".join(ADMIN_ACTIONS))) == audit_before
    assert alice_sid in session_ids(s, alice_id)
    assert bob_b.get("/account").status == 200
    assert api(s, "GET", "/api/v1/me", bob_key).status == 200

    # Without a session an admin page sends the browser to log in.
    r = Browser(s).get("/admin/users")
    redirected(r, "admin page, anonymous", "/login?next=%2Fadmin%2Fusers")


def rows_with(page, *needles):
    return [r for r in re.findall(r"<tr\b.*?</tr>", page, re.S)
            if all(n in r for n in needles)]


class Bob:
    """A fresh plain user for the admin tests: name, id, password and a
    signed-in browser."""

    def __init__(self, s, password=BOB_PW):
        self.name = account(s, "bob", password)
        self.id = user_id(s, self.name)
        self.pw = password
        self.b = logged_in(s, self.name, password)
        self.page = "/admin/users/%s" % self.id


def test_admin_lists_and_finds_users(s):
    bob, alice = Bob(s), account(s, "alice")
    adm = admin(s)
    r = adm.get("/admin/users")
    assert r.status == 200, r.text[:1000]
    for u in (alice, bob.name, "admin"):
        assert 'href="/admin/users/%s"' % user_id(s, u) in r.text, u
    r = adm.get("/admin/users?q=" + bob.name[1:])
    assert 'href="/admin/users/%s"' % bob.id in r.text
    assert 'href="/admin/users/%s"' % user_id(s, alice) not in r.text
    assert ">%s<" % alice not in r.text
    r = adm.get(bob.page)
    assert r.status == 200 and bob.name in r.text, r.text[:1000]
    assert adm.get("/admin/users/999999").status == 404


def test_admin_disables_and_enables_a_user(s):
    # Disabled: sessions end, login and keys stop working; enabled, the
    # key works again.
    bob = Bob(s)
    bob_key = new_key(bob.b, "bob's", ["read"])
    adm = admin(s)
    assert session_ids(s, bob.id)
    r = adm.submit("%s/status" % bob.page, {"disabled": "1"}, page=bob.page)
    redirected(r, "disable bob", bob.page)
    assert one(s, "SELECT disabled FROM users WHERE id = %s" % bob.id) == "1"
    assert session_ids(s, bob.id) == []
    assert bob.b.get("/account").status == 303
    _, r = login(s, bob.name, bob.pw)
    assert r.status == 401 and WRONG in r.text, (r.status, r.text[:800])
    r = api(s, "GET", "/api/v1/me", bob_key)
    assert r.status == 401 and r.json()["error"]["code"] == "unauthorized"
    r = adm.submit("%s/status" % bob.page, {"disabled": "0"}, page=bob.page)
    redirected(r, "enable bob", bob.page)
    assert one(s, "SELECT disabled FROM users WHERE id = %s" % bob.id) == "0"
    assert api(s, "GET", "/api/v1/me", bob_key).status == 200


def test_admin_sets_role_and_tier(s):
    bob = Bob(s)
    bob_key = new_key(bob.b, "bob's", ["read"])
    adm = admin(s)
    page = bob.page
    r = adm.submit("%s/role" % page, {"role": "user", "tier": "pro"},
                   page=page)
    redirected(r, "tier pro", page)
    assert one(s, "SELECT role, tier FROM users WHERE id = %s" % bob.id) == \
        ["user", "pro"]
    assert api(s, "GET", "/api/v1/me", bob_key).json()["tier"] == "pro"
    for bad in ({"role": "king", "tier": "pro"},
                {"role": "user", "tier": "Pro!"},
                {"role": "user", "tier": "x" * 33},
                {"role": "user", "tier": ""},
                {"role": "user", "tier": "silver"}):
        r = adm.submit("%s/role" % page, bad, page=page)
        assert r.status == 422, "%r: %d" % (bad, r.status)
        assert one(s, "SELECT role, tier FROM users WHERE id = %s" %
                   bob.id) == ["user", "pro"], bad


def reset_password(s, adm, bob):
    """The admin resets bob's password: the one shown."""
    r = followed(adm, adm.submit("%s/password" % bob.page, {},
                                 page=bob.page), "reset", bob.page)
    m = re.search(r'<code id="new-password">([^<]+)</code>', r.text)
    assert m, r.text[:2000]
    return html.unescape(m.group(1))


def test_admin_resets_a_password(s):
    # Sessions end, the shown password works, the old one does not.
    bob = Bob(s)
    newpw = reset_password(s, admin(s), bob)
    assert session_ids(s, bob.id) == []
    assert bob.b.get("/account").status == 303
    _, r = login(s, bob.name, bob.pw)
    assert r.status == 401
    logged_in(s, bob.name, newpw)


def test_admin_revokes_a_users_session_and_key(s):
    # One of bob's sessions and keys; ids of other users' are 404.
    bob = Bob(s)
    bob_key = new_key(bob.b, "bob's", ["read"])
    page = bob.page
    adm = admin(s)
    bob_sid = sid_of(s, bob.b)
    _, _, alice_b = signed_in(s, "alice")
    alice_sid = sid_of(s, alice_b)
    alice_key = new_key(alice_b, "kept", ["read"])
    r = adm.submit("%s/sessions/%s/revoke" % (page, alice_sid), {},
                   page=page)
    assert r.status == 404, r.status
    assert alice_b.get("/account").status == 200
    r = adm.submit("%s/keys/%s/revoke" % (page, key_id(s, alice_key)), {},
                   page=page)
    assert r.status == 404, r.status
    assert api(s, "GET", "/api/v1/me", alice_key).status == 200
    r = adm.submit("%s/sessions/%s/revoke" % (page, bob_sid), {}, page=page)
    redirected(r, "admin revokes bob's session", page)
    assert bob.b.get("/account").status == 303
    spare = new_key(logged_in(s, bob.name, bob.pw), "spare", ["read"])
    r = adm.submit("%s/keys/%s/revoke" % (page, key_id(s, bob_key)), {},
                   page=page)
    redirected(r, "admin revokes bob's key", page)
    assert api(s, "GET", "/api/v1/me", bob_key).status == 401
    assert api(s, "GET", "/api/v1/me", spare).status == 200


def test_an_admin_cannot_disable_themselves(s):
    adm = admin(s)
    admin_id = user_id(s, "admin")
    me = "/admin/users/%s" % admin_id
    r = adm.submit("%s/status" % me, {"disabled": "1"}, page=me)
    assert r.status == 422, "%d %s" % (r.status, r.text[:800])
    assert one(s, "SELECT disabled FROM users WHERE id = %s" % admin_id) \
        == "0"
    assert adm.get("/admin/users").status == 200


def test_admin_actions_are_audited(s):
    # In the table and on the page, filtered by action and by name; the
    # detail never carries the generated password.
    bob = Bob(s)
    bob_key = new_key(bob.b, "bob's", ["read"])
    alice = account(s, "alice")
    adm, page = admin(s), bob.page
    for disabled in ("1", "0"):
        r = adm.submit("%s/status" % page, {"disabled": disabled},
                       page=page)
        redirected(r, "disabled=" + disabled, page)
    r = adm.submit("%s/role" % page, {"role": "user", "tier": "pro"},
                   page=page)
    redirected(r, "tier pro", page)
    newpw = reset_password(s, adm, bob)
    b = logged_in(s, bob.name, newpw)
    r = adm.submit("%s/sessions/%s/revoke" % (page, sid_of(s, b)), {},
                   page=page)
    redirected(r, "revoke bob's session", page)
    r = adm.submit("%s/keys/%s/revoke" % (page, key_id(s, bob_key)), {},
                   page=page)
    redirected(r, "revoke bob's key", page)
    logged_in(s, alice, PW)
    for action in ("user_disable", "user_enable", "role_change",
                   "password_reset", "key_revoke", "session_revoke"):
        rows = [r for r in audit_rows(s, action, bob.name)
                if r[0] == "admin"]
        assert rows, "no %s row by admin for %s" % (action, bob.name)
    audit = adm.get("/admin/audit")
    assert audit.status == 200
    for action in ("user_disable", "role_change", "password_reset",
                   "key_revoke"):
        assert rows_with(audit.text, action, "admin", bob.name), action
    r = adm.get("/admin/audit?action=role_change")
    assert rows_with(r.text, "role_change", bob.name)
    assert not rows_with(r.text, "user_disable", bob.name)
    r = adm.get("/admin/audit?q=" + alice)
    assert rows_with(r.text, alice)
    assert not rows_with(r.text, "role_change", bob.name)
    assert newpw not in audit.text


def admin_api_key(s):
    return new_key(admin(s), "admin script", ["read", "admin"])


def test_admin_api_lists_finds_and_changes_users(s):
    key = admin_api_key(s)
    bob = Bob(s)
    alice = account(s, "alice")
    r = api(s, "GET", "/api/v1/users", key)
    assert r.status == 200, r.text
    names = [u["username"] for u in r.json()["users"]]
    assert {"admin", alice, bob.name} <= set(names), names
    r = api(s, "GET", "/api/v1/users?q=" + bob.name[1:], key)
    assert [u["username"] for u in r.json()["users"]] == [bob.name], r.text
    r = api(s, "GET", "/api/v1/users/%s" % bob.id, key)
    assert r.status == 200 and r.json()["username"] == bob.name
    r = api(s, "PATCH", "/api/v1/users/%s" % bob.id, key, {"tier": "gold"})
    assert r.status == 200, r.text
    assert r.json()["tier"] == "gold"
    assert one(s, "SELECT tier FROM users WHERE id = %s" % bob.id) == "gold"
    assert api(s, "GET", "/api/v1/users/999999", key).status == 404


def test_admin_api_refuses_bad_changes(s):
    key = admin_api_key(s)
    bob = Bob(s)
    for bad in ({"role": "king"}, {"tier": "Gold!"}, {"tier": "silver"},
                {"disabled": "yes"}):
        r = api(s, "PATCH", "/api/v1/users/%s" % bob.id, key, bad)
        assert r.status == 400, "%r: %d %s" % (bad, r.status, r.text)
        assert list(r.json()["error"]["fields"]) == list(bad), r.text
    assert one(s, "SELECT role, tier, disabled FROM users WHERE id = %s" %
               bob.id) == ["user", "free", "0"]
    # Not one JSON object: refused as a bad request (any 4xx would also
    # pass a key or route that stopped working).
    for body in (b"{", b"[]", b"not json"):
        r = s.request("PATCH", "/api/v1/users/%s" % bob.id, body=body,
                      headers={"Authorization": "Bearer " + key,
                               "Content-Type": "application/json"})
        assert r.status == 400, "%r: %d %s" % (body, r.status, r.text)
        assert r.json()["error"]["code"] == "bad_request", r.text
        headers_ok(r, "PATCH %r" % body)
    assert one(s, "SELECT role, tier, disabled FROM users WHERE id = %s" %
               bob.id) == ["user", "free", "0"]


def test_an_admins_read_only_key_has_no_admin_powers(s):
    bob = Bob(s)
    ro = new_key(admin(s), "admin read-only", ["read"])
    assert api(s, "GET", "/api/v1/users", ro).status == 403
    assert api(s, "PATCH", "/api/v1/users/%s" % bob.id, ro,
               {"tier": "gold"}).status == 403
    assert one(s, "SELECT tier FROM users WHERE id = %s" % bob.id) == "free"


def test_a_user_disabled_through_the_api_is_locked_out(s):
    # Bob's key and session stop working; enabled again, the key works.
    key = admin_api_key(s)
    bob = Bob(s)
    bob_key = new_key(bob.b, "bob read", ["read"])
    r = api(s, "PATCH", "/api/v1/users/%s" % bob.id, key, {"disabled": True})
    assert r.status == 200 and r.json()["disabled"] is True, r.text
    assert api(s, "GET", "/api/v1/me", bob_key).status == 401
    assert bob.b.get("/account").status == 303
    _, r = login(s, bob.name, bob.pw)
    assert r.status == 401 and WRONG in r.text
    r = api(s, "PATCH", "/api/v1/users/%s" % bob.id, key,
            {"disabled": False})
    assert r.status == 200 and r.json()["disabled"] is False, r.text
    assert api(s, "GET", "/api/v1/me", bob_key).status == 200


def test_the_role_is_checked_on_every_request(s):
    # Promoted, bob may make admin keys; demoted, they lose their power
    # (the role is checked on every request, not only at key creation).
    key = admin_api_key(s)
    adm = admin(s)
    bob = Bob(s)
    alice = user_id(s, account(s, "alice"))
    r = api(s, "PATCH", "/api/v1/users/%s" % bob.id, key, {"role": "admin"})
    assert r.status == 200 and r.json()["role"] == "admin", r.text
    bob_b = logged_in(s, bob.name, bob.pw)
    assert bob_b.get("/admin/users").status == 200
    bob_admin_key = new_key(bob_b, "bob admin", ["read", "admin"])
    assert api(s, "GET", "/api/v1/users", bob_admin_key).status == 200
    r = adm.submit("%s/role" % bob.page, {"role": "user", "tier": "gold"},
                   page=bob.page)
    redirected(r, "demote bob", bob.page)
    assert one(s, "SELECT role FROM users WHERE id = %s" % bob.id) == "user"
    r = api(s, "GET", "/api/v1/users", bob_admin_key)
    assert r.status == 403, r.text
    r = api(s, "PATCH", "/api/v1/users/%s" % alice, bob_admin_key,
            {"tier": "gold"})
    assert r.status == 403, r.text
    assert bob_b.get("/admin/users").status == 403
    assert one(s, "SELECT tier FROM users WHERE id = %s" % alice) == "free"


def test_plain_users_cannot_make_admin_keys(s):
    bob = Bob(s)
    r = bob.b.submit("/account/keys", {"name": "again",
                                       "scope": ["read", "admin"]},
                     page="/account/keys")
    assert r.status == 422 and 'id="new-key"' not in r.text
    assert one(s, "SELECT COUNT(*) FROM api_keys WHERE user_id = %s" %
               bob.id) == "0"


def test_admin_sets_the_registration_mode(s):
    adm = admin(s)
    erin = unique("erin")
    with setting(s, "registration", "closed"):
        r = adm.submit("/admin/settings", {"registration": "invite"},
                       page="/admin/settings")
        redirected(r, "registration=invite", "/admin/settings?done=saved")
        assert s.sql("SELECT value FROM settings WHERE name ="
                     " 'registration'") == [["invite"]]
        assert audit_rows(s, "settings_change")
        r = adm.submit("/admin/settings", {"registration": "sometimes"},
                       page="/admin/settings")
        assert r.status == 422, r.status
        assert s.sql("SELECT value FROM settings WHERE name ="
                     " 'registration'") == [["invite"]]
        form = Browser(s).get("/register")
        assert form.status == 200 and 'name="invite"' in form.text, \
            form.text[:2000]
        # Closed again through the admin page.
        r = adm.submit("/admin/settings", {"registration": "closed"},
                       page="/admin/settings")
        redirected(r, "registration=closed", "/admin/settings?done=saved")
        nb = Browser(s)
        token = csrf_of(nb.get("/login"))
        r = nb.post("/register", {"username": erin, "display_name": "Erin",
                                  "password": CAROL_PW,
                                  "password2": CAROL_PW, "csrf": token})
        assert r.status == 403, r.status
    assert user_count(s, erin) == 0


def new_invite(s, note):
    """An invitation made on the admin page: its code."""
    b = admin(s)
    r = b.submit("/admin/invites", {"note": note}, page="/admin/settings")
    # POST-redirect-GET: the code is on the page the redirect leads to.
    redirected(r, "invite", "/admin/settings")
    r = b.get("/admin/settings")
    assert r.status == 200, r.text[:1000]
    m = re.search(r'<code id="new-invite">([^<]+)</code>', r.text)
    assert m, r.text[:2000]
    return html.unescape(m.group(1))


def test_an_invite_is_stored_hashed_with_its_note(s):
    code = new_invite(s, "for carol")
    assert audit_rows(s, "invite_create")
    dump = "\n".join("\t".join(r) for r in s.sql("SELECT * FROM invites"))
    assert code not in dump
    assert one(s, "SELECT note FROM invites WHERE code_hash = '%s'" %
               sha256(code)) == "for carol"


def test_invite_only_registration_needs_a_valid_invite(s):
    name, dave = unique("carol"), unique("dave")
    carol = {"username": name, "display_name": "Carol C.",
             "password": CAROL_PW, "password2": CAROL_PW}
    code = new_invite(s, "for carol")
    with setting(s, "registration", "invite"):
        b = Browser(s)
        form = b.get("/register")
        assert form.status == 200 and 'name="invite"' in form.text, \
            form.text[:2000]
        for what, bad in [("no invite", None), ("bad invite", "x" * 43)]:
            fields = dict(carol) if bad is None else dict(carol, invite=bad)
            _, r = register(s, fields, b)
            assert r.status == 422, "%s: %d" % (what, r.status)
            names_field(r, form.text, ["invite"], ["invitation"])
            assert user_count(s, name) == 0

        # An expired invite is refused; the same one, renewed, works.
        s.sql("UPDATE invites SET expires_at = NOW(3) - INTERVAL 1 SECOND"
              " WHERE code_hash = '%s'" % sha256(code))
        _, r = register(s, dict(carol, invite=code), Browser(s))
        assert r.status == 422, "expired invite: %d" % r.status
        names_field(r, form.text, ["invite"], ["invitation"])
        assert user_count(s, name) == 0
        s.sql("UPDATE invites SET expires_at = NOW(3) + INTERVAL 1 DAY"
              " WHERE code_hash = '%s'" % sha256(code))

        b, r = register(s, dict(carol, invite=code))
        redirected(r, "register with invite", "/account")
        cid = user_id(s, name)
        assert one(s, "SELECT used_by FROM invites WHERE code_hash = '%s'" %
                   sha256(code)) == cid
        # Used once, it is spent.
        _, r = register(s, {"username": dave, "display_name": "Dave",
                            "password": CAROL_PW, "password2": CAROL_PW,
                            "invite": code})
        assert r.status == 422, r.status
        names_field(r, form.text, ["invite"], ["invitation"])
    assert user_count(s, dave) == 0


def test_security_headers_everywhere(s):
    # Browser and api() check every response they get; this walks the
    # kinds of response once more, on purpose.
    bob = Bob(s)
    anon = Browser(s)
    for path, want in [("/", 200), ("/login", 200), ("/register", 200),
                       ("/no/such/page", 404), ("/account", 303),
                       ("/account/keys", 303), ("/admin/users", 303)]:
        r = anon.get(path)
        assert r.status == want, "%s: %d" % (path, r.status)
    _, _, alice = signed_in(s, "alice")
    for path, want in [("/account", 200), ("/account/keys", 200),
                       ("/admin/users", 403), ("/admin/audit", 403)]:
        r = alice.get(path)
        assert r.status == want, "%s: %d" % (path, r.status)
    r = alice.post("/account/profile", {"display_name": "x"})  # no csrf
    assert r.status == 403
    r = alice.submit("/account/profile", {"display_name": "Alice L."})
    assert r.status == 303
    adm = admin(s)
    for path in ("/admin/users", bob.page, "/admin/audit",
                 "/admin/settings"):
        assert adm.get(path).status == 200, path
    assert adm.get("/admin/users/999999").status == 404
    key = new_key(alice, "kept", ["read"])
    for method, path, k, want in [
            ("GET", "/api/v1/health", None, 200),
            ("GET", "/api/v1/me", key, 200),
            ("GET", "/api/v1/me", None, 401),
            ("GET", "/api/v1/me", "kiln_" + "C" * 43, 401),
            ("GET", "/api/v1/users", key, 403),
            ("GET", "/api/v1/users/%s" % bob.id, key, 404),
            ("GET", "/api/v1/nope", key, 404)]:
        r = api(s, method, path, k)
        assert r.status == want, "%s %s: %d" % (method, path, r.status)
        if want >= 400:
            assert r.json()["error"]["code"], r.text


def webhook_user(s):
    """A fresh user signed in by a session made in SQL: (id, name,
    browser)."""
    name = unique("hooky")
    s.sql("INSERT INTO users (username, password_hash) VALUES"
          " ('%s', 'x')" % name)
    uid = user_id(s, name)
    tok = secrets_token()
    s.sql("INSERT INTO sessions (user_id, token_hash, csrf, expires_at)"
          " VALUES (%s, '%s', '%s', NOW() + INTERVAL 1 HOUR)" %
          (uid, sha256(tok), secrets_token()))
    return uid, name, Browser(s, {"kiln_session": tok})


def webhook_secret_shown(b):
    page = b.get("/account/webhooks")
    assert page.status == 200, page.text[:300]
    m = re.search(r'id="webhook-secret">(whsec_[A-Za-z0-9+/=_-]+)<',
                  page.text)
    assert m, page.text[-3000:]
    return m.group(1)


def test_webhook_secret_is_made_on_first_view_and_kept(s):
    uid, _, b = webhook_user(s)
    shown = webhook_secret_shown(b)
    # Made on first view, stored, the same on the next view.
    assert s.sql("SELECT webhook_secret FROM users WHERE id = %s" %
                 uid) == [[shown]]
    assert shown in b.get("/account/webhooks").text


def test_webhook_url_is_checked_and_saved(s):
    uid, _, b = webhook_user(s)
    r = b.submit("/account/webhooks", {"webhook_url": "ftp://x"},
                 page="/account/webhooks")
    assert r.status == 422 and "Webhook URL" in r.text
    assert s.sql("SELECT webhook_url IS NULL FROM users WHERE id = %s" %
                 uid) == [["1"]]
    r = b.submit("/account/webhooks",
                 {"webhook_url": "https://hooks.example/kiln"},
                 page="/account/webhooks")
    assert r.status == 303, r.status
    assert s.sql("SELECT webhook_url FROM users WHERE id = %s" % uid) == \
        [["https://hooks.example/kiln"]]


def test_webhook_secret_rotation_replaces_it(s):
    uid, name, b = webhook_user(s)
    shown = webhook_secret_shown(b)
    r = b.submit("/account/webhooks/rotate", {}, page="/account/webhooks")
    assert r.status == 303
    new = s.sql("SELECT webhook_secret FROM users WHERE id = %s" % uid)[0][0]
    assert new != shown and new.startswith("whsec_")
    assert audit_rows(s, "webhook_rotate", name)


def test_webhook_delivery_log_shows_the_users_own(s):
    uid, _, b = webhook_user(s)
    other, _, _ = webhook_user(s)
    mine, theirs = unique("msg_mine"), unique("msg_theirs")
    for owner, mid in ((uid, mine), (other, theirs)):
        s.sql("INSERT INTO jobs (user_id, prompt, model, width, height,"
              " steps, cfg_scale, sampler, seed) VALUES (%s, 'p',"
              " 'kiln-micro', 64, 64, 1, 1, 'euler', 1)" % owner)
        s.sql("INSERT INTO webhook_deliveries (msg_id, job_id, user_id,"
              " event, url, payload, status, attempts, last_status,"
              " last_error) SELECT '%s', MAX(id), %s, 'job.succeeded',"
              " 'https://h.example/', '{}', 'pending', 2, 500,"
              " 'HTTP 500' FROM jobs" % (mid, owner))
    page = b.get("/account/webhooks").text
    ids = re.findall(r'id="delivery-(\d+)"', page)
    want = s.sql("SELECT id FROM webhook_deliveries WHERE msg_id ="
                 " '%s'" % mine)[0][0]
    assert ids == [want], (ids, want)
    assert "HTTP 500" in page


def test_the_stacks_admin_was_created_audited(s):
    # kiln-stack made the admin with kiln-admin create-user at start.
    rows = s.sql("SELECT actor, ip, action, target, detail FROM audit_log"
                 " WHERE action = 'user_create'")
    assert ["kiln-admin", "", "user_create", "admin", "role admin"] in rows, \
        rows


def test_kiln_admin_set_password_is_audited(s):
    name = account(s, "carol")
    p = kiln_admin(s, "set-password", "--username", name,
                   "--password-stdin", stdin="Granite-Wren-4471\n")
    assert p.returncode == 0, p.stderr
    rows = s.sql("SELECT actor, action, target FROM audit_log"
                 " WHERE action = 'password_reset' ORDER BY id DESC LIMIT 1")
    assert rows == [["kiln-admin", "password_reset", name]], rows


def test_kiln_admin_refuses_a_weak_password(s):
    # By the same policy as the pages.
    name = account(s, "carol")
    before = one(s, "SELECT password_hash FROM users WHERE username = '%s'" %
                 name)
    p = kiln_admin(s, "set-password", "--username", name,
                   "--password-stdin", stdin="password123\n")
    assert p.returncode != 0 and "common" in p.stderr, p.stderr
    assert one(s, "SELECT password_hash FROM users WHERE username = '%s'" %
               name) == before


def test_no_clear_password_token_or_key_anywhere(s):
    # Every kind of secret the accounts handle, typed or received here,
    # then looked for in the logs and the tables.
    secrets = {PW, PW2, WEAK_PW, CAROL_PW, admin_password(s)}
    name = unique("alice")
    with setting(s, "registration", "open"):
        b, r = register(s, registration_fields(name, PW))
        redirected(r, "register", "/account")
        _, r = register(s, registration_fields(unique("weak"), WEAK_PW))
        assert r.status == 422, r.status
    secrets.add(b.session)
    r = b.submit("/account/password", {"current": PW, "password": PW2,
                                       "password2": PW2})
    redirected(r, "password change", "/account?done=password")
    _, r = login(s, name, "Not-Her-Password-1")
    assert r.status == 401, r.status
    secrets.add("Not-Her-Password-1")
    b2 = logged_in(s, name, PW2)
    secrets.add(b2.session)
    secrets.add(new_key(b2, "script", ["read"]))
    code = new_invite(s, "for someone")
    secrets.add(code)
    with setting(s, "registration", "invite"):
        b3, r = register(s, dict(registration_fields(unique("carol")),
                                 invite=code))
        redirected(r, "register with invite", "/account")
    secrets.add(b3.session)
    bob = Bob(s)
    secrets.add(bob.b.session)
    secrets.add(reset_password(s, admin(s), bob))
    name2 = account(s, "carol")
    p = kiln_admin(s, "set-password", "--username", name2,
                   "--password-stdin", stdin="Granite-Wren-4471\n")
    assert p.returncode == 0, p.stderr
    secrets.add("Granite-Wren-4471")
    secrets = sorted(x for x in secrets if x)
    assert len(secrets) >= 10, secrets
    forms = set()
    for x in secrets:
        forms.update([x, urllib.parse.quote_plus(x), urllib.parse.quote(x)])
    found = []
    logdir = s.path("log")
    for root, _, files in os.walk(logdir):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                text = fh.read().decode("utf-8", "replace")
            for x in forms:
                if x in text:
                    found.append("%s: %r" % (f, x))
    tables = ["users", "sessions", "api_keys", "audit_log",
              "login_throttle", "invites", "settings"]
    for t in tables:
        dump = "\n".join("\t".join(r) for r in s.sql("SELECT * FROM %s" % t))
        for x in forms:
            if x in dump:
                found.append("table %s: %r" % (t, x))
    assert not found, "\n".join(found)
