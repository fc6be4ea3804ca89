"""Strict and consistent input over real HTTP: numbers by one plain
decimal rule in forms and JSON, list filters of the pages refused (400)
rather than dropped, unknown API query parameters refused by name, text
faults and NUL bytes named, null refused, tiers limited to those kiln.conf
defines, quota messages naming the user's tier, weak passwords refused by
a strength estimate, each page's declared form inputs refused with the
page's message beside the field. No render daemon runs: jobs stay
queued. Each test makes its own users, keys and sessions."""

import html
import json
import os
import urllib.parse

import harness
from harness import run
from common import (api, browser, make_key, new_user, one, post_form,
                    setting, unique)

# "free" (new accounts' tier) has no section: it takes [tier default]'s
# limits, two jobs at once, which the quota test runs into.
STACK = dict(server="lighttpd", daemon=False,
             extra_conf="[limits]\nsubmit_burst = 100000\n"
                        "login_burst = 100000\n"
                        "[tier default]\nmax_queued = 2\n"
                        "[tier pro]\nmax_queued = 50\n")

PROMPT = "one red circle on a white background"
GOOD_PW = "Tundra-Lantern-47-Quill"


def jobs_of(s, uid):
    return int(one(s, "SELECT COUNT(*) FROM jobs WHERE user_id = %d" % uid))


def fields_of(r, status=400):
    assert r.status == status, "want %d, got %d %s" % (status, r.status,
                                                       r.text[:800])
    e = r.json()["error"]
    assert e["code"] == "validation_failed", e
    return e["fields"]


class User:
    """A fresh user on "pro" (many jobs may wait, so a test does not run
    into a quota unless it means to) with a read+generate key and a
    signed-in browser; role admin gives the key the admin scope too."""

    def __init__(self, s, role="user"):
        self.s = s
        self.uid, _ = new_user(s, "strict", tier="pro", role=role)
        self.key = make_key(s, self.uid, "read,generate" +
                            (",admin" if role == "admin" else ""))
        self.cookie, self.csrf = browser(s, self.uid)

    def page(self, path):
        return self.s.get(path, headers={"Cookie": self.cookie})

    def generate_form(self, **fields):
        return post_form(self.s, self.cookie, "/generate",
                         dict({"csrf": self.csrf, "prompt": PROMPT,
                               "steps": "1"}, **fields))


# ------------------------------------------------- 1: plain decimal numbers

def test_form_refuses_exponent_width(s):
    u = User(s)
    uid = u.uid
    for name, value in (("width", "6.4e1"), ("width", "+64"),
                        ("width", "64.0"), ("seed", "0x10"),
                        ("seed", " 16"), ("steps", "1e0"),
                        ("batch_count", "-1")):
        r = u.generate_form(**{name: value})
        assert r.status == 422, "%s=%s: %d %s" % (name, value, r.status,
                                                   r.text[:600])
        assert "%s must be a whole number" % name in r.text, \
            (name, value, r.text[:3000])
    for value in ("7e0", "inf", "0x7", "7."):
        r = u.generate_form(cfg_scale=value)
        assert r.status == 422, (value, r.status)
        assert "cfg_scale must be a number" in r.text, (value, r.text[:3000])
    assert jobs_of(s, uid) == 0
    # Plain decimal is accepted.
    r = u.generate_form(width="64", height="64", seed="16", cfg_scale="7.5")
    assert r.status == 303, (r.status, r.text[:2000])
    assert one(s, "SELECT CONCAT(width, ' ', seed, ' ', cfg_scale) FROM"
                  " jobs WHERE user_id = %d" % uid) == "64 16 7.5"


def test_json_refuses_exponent_width(s):
    u = User(s)
    uid, key = u.uid, u.key
    for raw, field in (('{"prompt": "x", "width": 6.4e1}', "width"),
                       ('{"prompt": "x", "width": 64.0}', "width"),
                       ('{"prompt": "x", "seed": 1e1}', "seed"),
                       ('{"prompt": "x", "cfg_scale": 7e0}', "cfg_scale")):
        f = fields_of(api(s, "POST", "/api/v1/jobs", key, raw=raw))
        assert list(f) == [field], (raw, f)
    assert jobs_of(s, uid) == 0
    r = api(s, "POST", "/api/v1/jobs", key,
            raw='{"prompt": "x", "width": 64, "cfg_scale": 7.5}')
    assert r.status == 202, r.text


# --------------------------------------------------- 2: the pages' filters

def test_gallery_bad_since_is_400(s):
    u = User(s)
    r = u.page("/gallery?since=2026-13-45")
    assert r.status == 400, (r.status, r.text[:1500])
    assert "From (since): must be a real date" in r.text, r.text[:3000]
    # The form comes back with what was typed.
    assert 'value="2026-13-45"' in r.text
    assert u.page("/gallery?since=2026-01-05").status == 200
    assert u.page("/gallery?since=").status == 200


def test_gallery_other_bad_filters_are_400(s):
    u = User(s)
    for query, named in (("until=2026-02-30", "To (until)"),
                         ("until=abc", "To (until)"),
                         ("after=abc", "Page (after)"),
                         ("after=5-x", "Page (after)"),
                         ("after=+5-1", "Page (after)"),
                         ("q=" + "x" * 201, "Prompt (q)"),
                         ("model=" + "m" * 65, "Model")):
        r = u.page("/gallery?" + query)
        assert r.status == 400, (query, r.status, r.text[:800])
        assert named in r.text, (query, r.text[:3000])
    r = u.page("/gallery?after=5-0&q=circle&model=kiln-micro"
                "&until=2026-02-28")
    assert r.status == 200, r.text[:1500]


def test_jobs_bad_before_is_400(s):
    u = User(s)
    for bad in ("abc", "0", "-3", "5x", "1e3"):
        r = u.page("/jobs?before=" + bad)
        assert r.status == 400, (bad, r.status, r.text[:800])
        assert "Page (before)" in r.text, (bad, r.text[:3000])
    assert u.page("/jobs?before=5").status == 200


# ---------------------------------------- 3: unknown API query parameters

def test_api_unknown_query_parameter_is_400(s):
    u = User(s)
    key = u.key
    f = fields_of(api(s, "GET", "/api/v1/jobs?foo=1", key))
    assert f == {"foo": "unknown parameter"}, f
    # A misspelt filter is not silently a list of everything.
    f = fields_of(api(s, "GET", "/api/v1/jobs?stauts=failed&limit=5", key))
    assert f == {"stauts": "unknown parameter"}, f
    r = api(s, "GET", "/api/v1/jobs?status=queued&limit=5&q=x&since="
                      "2026-01-01&until=2099-01-01", key)
    assert r.status == 200, r.text
    # A write with a stray parameter changes nothing.
    f = fields_of(api(s, "POST", "/api/v1/jobs?dry_run=1", key,
                      {"prompt": PROMPT}))
    assert f == {"dry_run": "unknown parameter"}, f
    assert jobs_of(s, u.uid) == 0


def test_every_api_route_refuses_unknown_parameters(s):
    admin = User(s, "admin")
    doc = json.loads(api(s, "GET", "/api/v1/openapi.json").body)
    tried = 0
    for path, ops in doc["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        url = (path.replace("{id}", "1").replace("{name}", "1-0.png")
               .replace("{token}", "x" * 43))
        for method in ops:
            if method not in ("get", "post", "patch", "delete", "put"):
                continue
            r = api(s, method.upper(), url + "?bogus_param=1",
                    admin.key)
            f = fields_of(r)
            assert f == {"bogus_param": "unknown parameter"}, (method, path,
                                                               f)
            tried += 1
    assert tried >= 20, tried


def test_sdapi_takes_query_parameters(s):
    r = api(s, "GET", "/sdapi/v1/samplers?foo=1", User(s).key)
    assert r.status == 200, r.text


# ------------------------------------- 4 and 5: control characters, NUL

def test_control_char_in_prompt_named(s):
    u = User(s)
    uid, key = u.uid, u.key
    for bad in ("a\x01b", "a\x1b[31mb", "a\x7fb", "a\u0085b"):
        f = fields_of(api(s, "POST", "/api/v1/jobs", key, {"prompt": bad}))
        assert f == {"prompt": "contains a control character"}, (bad, f)
    f = fields_of(api(s, "POST", "/api/v1/jobs", key,
                      {"prompt": PROMPT, "negative_prompt": "x\x02"}))
    assert f == {"negative_prompt": "contains a control character"}, f
    r = u.generate_form(prompt="a\x1bb")
    assert r.status == 422, r.status
    assert "prompt contains a control character" in r.text, r.text[:3000]
    assert jobs_of(s, uid) == 0
    # Tabs and line breaks are fine in a prompt.
    r = api(s, "POST", "/api/v1/jobs", key, {"prompt": "a red\tcircle\n"
                                             "on white\r\n"})
    assert r.status == 202, r.text


def test_nul_in_form_named(s):
    u = User(s)
    body = "csrf=%s&prompt=a%%00b&steps=1" % u.csrf
    r = s.request("POST", "/generate", body=body,
                  headers={"Cookie": u.cookie, "Content-Type":
                           "application/x-www-form-urlencoded"})
    assert r.status == 400, (r.status, r.text[:800])
    assert "form field &quot;prompt&quot; contains a NUL byte" in r.text \
        or 'form field "prompt" contains a NUL byte' in r.text, \
        r.text[:3000]
    assert jobs_of(s, u.uid) == 0
    # (A NUL in a query string never gets here: lighttpd refuses any
    # encoded control character in a URL itself.)


# ------------------------------------------------------------- 6: null

def test_null_width_refused(s):
    u = User(s)
    key = u.key
    f = fields_of(api(s, "POST", "/api/v1/jobs", key,
                      {"prompt": PROMPT, "width": None}))
    assert f == {"width": "must be a number"}, f
    f = fields_of(api(s, "POST", "/api/v1/jobs", key,
                      {"prompt": PROMPT, "sampler": None, "seed": None}))
    assert f == {"sampler": "must be a string", "seed": "must be a number"}, f
    f = fields_of(api(s, "POST", "/api/v1/jobs/batch", key,
                      {"jobs": [{"prompt": PROMPT, "steps": None}]}))
    assert f == {"jobs[0].steps": "must be a number"}, f
    assert jobs_of(s, u.uid) == 0
    # The document says the same: no field of a job is nullable.
    doc = json.loads(api(s, "GET", "/api/v1/openapi.json").body)
    props = doc["components"]["schemas"]["JobRequest"]["properties"]
    assert not any(p.get("nullable") for p in props.values()), props


# ------------------------------------------------------------ 7 and 8: tiers

def test_unknown_tier_refused(s):
    admin = User(s, "admin")
    uid, akey = User(s).uid, admin.key
    f = fields_of(api(s, "PATCH", "/api/v1/users/%d" % uid, akey,
                      {"tier": "x"}))
    assert list(f) == ["tier"] and "default, free, pro" in f["tier"], f
    assert one(s, "SELECT tier FROM users WHERE id = %d" % uid) == "pro"
    r = api(s, "PATCH", "/api/v1/users/%d" % uid, akey, {"tier": "free"})
    assert r.status == 200 and r.json()["tier"] == "free", r.text
    r = api(s, "PATCH", "/api/v1/users/%d" % uid, akey, {"tier": "pro"})
    assert r.status == 200 and r.json()["tier"] == "pro", r.text
    # The admin page: its form again, the message beside the field.
    r = post_form(s, admin.cookie, "/admin/users/%d/role" % uid,
                  {"csrf": admin.csrf, "role": "user",
                   "tier": "gold"})
    assert r.status == 422, (r.status, r.text[:800])
    assert "Tier: unknown; defined in kiln.conf: default, free, pro" in \
        r.text, r.text[:4000]
    assert one(s, "SELECT tier FROM users WHERE id = %d" % uid) == "pro"


def test_quota_message_names_tier(s):
    uid, _ = new_user(s, "quota-free")
    assert one(s, "SELECT tier FROM users WHERE id = %d" % uid) == "free"
    key = make_key(s, uid, "read,generate")
    for _ in range(2):
        r = api(s, "POST", "/api/v1/jobs", key, {"prompt": PROMPT,
                                                 "steps": 1})
        assert r.status == 202, r.text
    r = api(s, "POST", "/api/v1/jobs", key, {"prompt": PROMPT, "steps": 1})
    assert r.status == 429, r.text
    msg = r.json()["error"]["message"]
    assert "your tier (free) allows 2 at once" in msg, msg
    # The form says the same.
    cookie, csrf = browser(s, uid)
    r = post_form(s, cookie, "/generate", {"csrf": csrf, "prompt": PROMPT,
                                           "steps": "1"})
    assert r.status == 429, r.status
    assert "your tier (free)" in r.text, r.text[:3000]


# ------------------------------------------------------------ 9: passwords

def kiln_admin(s, *args, stdin=None):
    return run([os.path.join(harness.BUILD, "tools", "kiln-admin"), "-c",
                s.conf] + list(args), input=stdin)


def test_kiln_admin_refuses_a_weak_password(s):
    # By hand: refused, saying why; generated: fine.
    _, name = new_user(s, "weakling")
    p = kiln_admin(s, "set-password", "--username", name,
                   "--password-stdin", stdin="Password1!\n")
    assert p.returncode != 0, p.stdout
    assert "password is too easy to guess" in p.stderr, p.stderr
    p = kiln_admin(s, "set-password", "--username", name,
                   "--generate-password")
    assert p.returncode == 0, p.stderr
    p = kiln_admin(s, "set-password", "--username", name,
                   "--password-stdin", stdin=GOOD_PW + "\n")
    assert p.returncode == 0, p.stderr


def test_account_page_refuses_a_weak_password(s):
    # The field named, the reason given.
    uid, name = new_user(s, "weakling")
    p = kiln_admin(s, "set-password", "--username", name,
                   "--password-stdin", stdin=GOOD_PW + "\n")
    assert p.returncode == 0, p.stderr
    before = one(s, "SELECT password_hash FROM users WHERE id = %d" % uid)
    cookie, csrf = browser(s, uid)
    r = post_form(s, cookie, "/account/password",
                  {"csrf": csrf, "current": GOOD_PW, "password": "Password1!",
                   "password2": "Password1!"})
    assert r.status == 422, (r.status, r.text[:800])
    assert "New password is too easy to guess" in r.text, r.text[:4000]
    assert one(s, "SELECT password_hash FROM users WHERE id = %d" %
               uid) == before


def test_registration_refuses_a_weak_password(s):
    name = unique("newbie")
    with setting(s, "registration", "open"):
        jar = {}
        r = s.get("/register")
        for c in r.headers.get("set-cookie", "").split(","):
            cname, _, val = c.split(";")[0].strip().partition("=")
            jar[cname] = val
        pre = jar.get("kiln_csrf")
        assert pre, r.headers
        r = s.request("POST", "/register", body=urllib.parse.urlencode(
            {"csrf": pre, "username": name, "password": "Password1!",
             "password2": "Password1!"}),
            headers={"Cookie": "kiln_csrf=" + pre, "Content-Type":
                     "application/x-www-form-urlencoded"})
    assert r.status == 422, (r.status, r.text[:800])
    assert "Password is too easy to guess" in r.text, r.text[:4000]
    assert one(s, "SELECT COUNT(*) FROM users WHERE username = '%s'" %
               name) == "0"


# --------------------------------------------------- 10: declared inputs

def test_declared_inputs_refused_beside_their_field(s):
    # Each page's form is checked against its route's declared inputs
    # before the handler runs: a refused value gets the page's own
    # message and a 422, and changes nothing.
    u, admin = User(s), User(s, "admin")
    uid, cookie, csrf = u.uid, u.cookie, u.csrf
    acookie, acsrf = admin.cookie, admin.csrf
    user = "/admin/users/%d" % uid
    state = ("SELECT display_name, disabled, role, tier, credits,"
             " COALESCE(webhook_url, '') FROM users WHERE id = %d" % uid)
    counts = ("SELECT (SELECT COUNT(*) FROM api_keys WHERE user_id = %d),"
              " (SELECT COUNT(*) FROM invites),"
              " (SELECT value FROM settings WHERE name = 'registration')"
              % uid)
    before = (s.sql(state), s.sql(counts))
    cases = [
        (cookie, csrf, "/account/profile", {"display_name": "a\x1bb"},
         "Display name: at most 128 bytes of text, no control characters."),
        (cookie, csrf, "/account/profile", {},
         "Display name: at most 128 bytes of text, no control characters."),
        (cookie, csrf, "/account/keys", {"name": "k", "scope": "root"},
         "Scopes: read, generate or admin."),
        (cookie, csrf, "/account/keys", {"name": "k", "scope": ","},
         "Scopes: read, generate or admin."),
        (cookie, csrf, "/account/keys", {"name": "k"},
         "Scopes: tick at least one."),
        (cookie, csrf, "/account/keys", {"name": "", "scope": "read"},
         "Name: 1-64 bytes of text, so you can tell your keys apart."),
        (cookie, csrf, "/account/keys", {"name": "k", "scope": "read",
                                         "expires": "2031-02-30"},
         "Expires: a date as YYYY-MM-DD, or empty for never."),
        (cookie, csrf, "/account/webhooks", {"webhook_url": "http://a\x01"},
         "Webhook URL: an http:// or https:// URL of at most 2048 bytes"),
        (acookie, acsrf, user + "/status", {"disabled": "on"},
         "Status: disabled must be 0 or 1."),
        (acookie, acsrf, user + "/status", {"disabled": "00"},
         "Status: disabled must be 0 or 1."),
        (acookie, acsrf, user + "/role", {"role": "Admin", "tier": "pro"},
         "Role: admin, moderator or user."),
        (acookie, acsrf, user + "/credits", {"amount": "1e3"},
         "Credits: a whole number, not 0 (negative takes credits away)."),
        (acookie, acsrf, user + "/credits", {"amount": "0"},
         "Credits: a whole number, not 0 (negative takes credits away)."),
        (acookie, acsrf, user + "/credits", {"amount": "1000000001"},
         "Credits: a whole number, not 0 (negative takes credits away)."),
        (acookie, acsrf, user + "/credits", {"amount": "5",
                                             "note": "x" * 201},
         "Note: at most 200 bytes of text."),
        (acookie, acsrf, "/admin/settings", {"registration": "Open"},
         "Registration: open, invite or closed."),
        (acookie, acsrf, "/admin/invites", {"note": "a\nb"},
         "Note: at most 128 bytes of text."),
    ]
    for c, token, path, fields, message in cases:
        r = post_form(s, c, path, dict(fields, csrf=token))
        what = "%s %r" % (path, fields)
        assert r.status == 422, (what, r.status, r.text[:800])
        assert message in html.unescape(r.text), (what, r.text[:4000])
        assert (s.sql(state), s.sql(counts)) == before, what
