"""API key rotation, expiry and last use, end to end behind lighttpd.

Rotation (POST /api/v1/keys/{id}/rotate and the Rotate button on
/account/keys) gives a key's row a new secret; the old secret keeps
working for the grace period asked for, checked at each authentication,
and is then refused with 401. Expiry dates are set when a key is made
and refuse the key with 401 saying it expired. The last use (time and
the client address the web server reports) is recorded at most every
ten seconds and shown on the page and in the API's list.

Each test makes its own accounts and keys."""

import datetime
import html
import re
import time

from common import sha256
from test_accounts import (PW, admin, api, audit_rows, followed, key_id,
                           new_key, one, signed_in)

STACK = dict(server="lighttpd", daemon=False,
             extra_conf="[limits]\nlogin_burst = 100000\n")


def rotate(s, kid, key, grace=None):
    body = None if grace is None else {"grace_seconds": grace}
    return api(s, "POST", "/api/v1/keys/%s/rotate" % kid, key, body)


def works(s, key):
    return api(s, "GET", "/api/v1/me", key).status == 200


def listed(s, key, kid):
    keys = api(s, "GET", "/api/v1/keys", key).json()["keys"]
    return [k for k in keys if str(k["id"]) == str(kid)][0]


def utc(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)


def db_now(s):
    return datetime.datetime.strptime(
        one(s, "SELECT DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%d %H:%i:%s')"),
        "%Y-%m-%d %H:%M:%S").replace(tzinfo=datetime.timezone.utc)


def refused(r, what, word):
    assert r.status == 401, "%s: %d %s" % (what, r.status, r.text)
    err = r.json()["error"]
    assert err["code"] == "unauthorized", r.text
    assert word in err["message"], "%s: %r lacks %r" % (what, err, word)


# ------------------------------------------------------------- rotation

def test_rotation_gives_the_same_key_a_new_secret(s):
    name, uid, b = signed_in(s, "rot")
    key = new_key(b, "script", ["read", "generate"])
    kid = key_id(s, key)
    before = one(s, "SELECT CONCAT_WS('|', user_id, name, scopes, created_at)"
                    " FROM api_keys WHERE id = %s" % kid)
    r = rotate(s, kid, key)
    assert r.status == 200, r.text
    got = r.json()
    new = got["key"]
    assert re.fullmatch(r"kiln_[A-Za-z0-9_-]{43}", new) and new != key, got
    assert str(got["id"]) == kid and got["name"] == "script"
    assert got["scopes"] == ["read", "generate"]
    assert got["prefix"] == new[:13] and got["rotated_at"]
    # The same row: owner, name, scopes and creation unchanged; only the
    # new secret's digest is stored, the old one kept as the old secret.
    assert one(s, "SELECT CONCAT_WS('|', user_id, name, scopes, created_at)"
                  " FROM api_keys WHERE id = %s" % kid) == before
    assert one(s, "SELECT COUNT(*) FROM api_keys WHERE user_id = %s" %
               uid) == "1"
    assert one(s, "SELECT CONCAT(key_hash, '|', old_key_hash, '|',"
                  " prefix, '|', old_prefix) FROM api_keys WHERE id = %s" %
               kid) == "%s|%s|%s|%s" % (sha256(new), sha256(key), new[:13],
                                        key[:13])
    me = api(s, "GET", "/api/v1/me", new).json()
    assert str(me["key"]["id"]) == kid and me["username"] == name
    rows = audit_rows(s, "key_rotate", name)
    assert len(rows) == 1 and "key %s" % kid in rows[0][2], rows
    assert "86400 s" in rows[0][2], rows
    assert new not in rows[0][2] and key not in rows[0][2]


def test_the_default_grace_is_a_day_and_both_secrets_work(s):
    _, _, b = signed_in(s, "rot")
    key = new_key(b, "script", ["read"])
    kid = key_id(s, key)
    t0 = db_now(s)
    new = rotate(s, kid, key).json()["key"]
    assert works(s, key) and works(s, new)
    entry = listed(s, new, kid)
    until = utc(entry["old_secret_valid_until"])
    # A day from the rotation, to within the test's own run time.
    assert abs((until - t0).total_seconds() - 86400) < 30, (t0, until)
    assert entry["prefix"] == new[:13]


def test_the_old_secret_stops_when_its_grace_period_ends(s):
    _, _, b = signed_in(s, "rot")
    key = new_key(b, "script", ["read"])
    kid = key_id(s, key)
    r = rotate(s, kid, key, 3)
    assert r.status == 200, r.text
    new = r.json()["key"]
    until = utc(r.json()["old_secret_valid_until"])
    assert works(s, key) and works(s, new)
    # Checked at authentication: right after the time, no job ran.
    while db_now(s) <= until:
        time.sleep(0.25)
    time.sleep(1.1)
    refused(api(s, "GET", "/api/v1/me", key), "old secret after grace",
            "rotated")
    assert works(s, new)
    assert listed(s, new, kid)["old_secret_valid_until"] is None


def test_the_old_secret_is_refused_once_its_time_is_past(s):
    # The same with the clock moved instead of waited for: the end time
    # in the row is what counts.
    _, _, b = signed_in(s, "rot")
    key = new_key(b, "script", ["read"])
    kid = key_id(s, key)
    new = rotate(s, kid, key, 3600).json()["key"]
    assert works(s, key)
    s.sql("UPDATE api_keys SET old_valid_until = NOW(3) - INTERVAL 1 SECOND"
          " WHERE id = %s" % kid)
    refused(api(s, "GET", "/api/v1/me", key), "old secret, time past",
            "rotated")
    assert works(s, new)


def test_the_old_secrets_last_use_is_shown_while_in_grace(s):
    # Whether scripts still send the old secret: its own last use.
    _, _, b = signed_in(s, "rot")
    key = new_key(b, "script", ["read"])
    kid = key_id(s, key)
    assert works(s, key)
    new = rotate(s, kid, key, 3600).json()["key"]
    entry = listed(s, new, kid)
    assert entry["old_secret_last_used_at"] is None, entry
    assert "last used never" in b.get("/account/keys").text
    s.sql("UPDATE api_keys SET last_used_at = NOW(3) - INTERVAL 1 MINUTE,"
          " last_used_ip = '192.0.2.1' WHERE id = %s" % kid)
    t0 = db_now(s)
    assert works(s, key)
    entry = listed(s, new, kid)
    used = utc(entry["old_secret_last_used_at"])
    assert abs((used - t0).total_seconds()) <= 5, (used, t0)
    assert entry["last_used_ip"] == "127.0.0.1"
    assert "last used %s" % used.strftime("%Y-%m-%d %H:%M:%S") in \
        b.get("/account/keys").text
    # The new secret's use leaves it; it is throttled as last use is.
    s.sql("UPDATE api_keys SET old_last_used_at = '2026-01-02 03:04:05',"
          " last_used_at = NOW(3) - INTERVAL 1 MINUTE WHERE id = %s" % kid)
    assert works(s, new)
    assert listed(s, new, kid)["old_secret_last_used_at"] == \
        "2026-01-02T03:04:05Z"
    s.sql("UPDATE api_keys SET old_last_used_at = NOW(3) - INTERVAL 3 SECOND"
          " WHERE id = %s" % kid)
    before = one(s, "SELECT old_last_used_at FROM api_keys WHERE id = %s" %
                 kid)
    assert works(s, key)
    assert one(s, "SELECT old_last_used_at FROM api_keys WHERE id = %s" %
               kid) == before
    # Rotating again starts the count afresh; out of grace it is not
    # listed.
    newer = rotate(s, kid, new, 0).json()
    assert newer["old_secret_last_used_at"] is None


def test_grace_zero_stops_the_old_secret_at_once(s):
    _, _, b = signed_in(s, "rot")
    key = new_key(b, "script", ["read"])
    kid = key_id(s, key)
    r = rotate(s, kid, key, 0)
    assert r.status == 200, r.text
    new = r.json()["key"]
    assert r.json()["old_secret_valid_until"] is None
    refused(api(s, "GET", "/api/v1/me", key), "old secret, grace 0",
            "invalid")
    assert works(s, new)
    assert one(s, "SELECT old_key_hash IS NULL FROM api_keys WHERE id = %s" %
               kid) == "1"


def test_rotating_again_ends_the_earlier_old_secret(s):
    _, _, b = signed_in(s, "rot")
    first = new_key(b, "script", ["read"])
    kid = key_id(s, first)
    second = rotate(s, kid, first, 3600).json()["key"]
    third = rotate(s, kid, second, 3600).json()["key"]
    assert not works(s, first)
    assert works(s, second) and works(s, third)


def test_the_grace_period_is_checked(s):
    _, _, b = signed_in(s, "rot")
    key = new_key(b, "script", ["read"])
    kid = key_id(s, key)
    for body in ({"grace_seconds": -1}, {"grace_seconds": 2592001},
                 {"grace_seconds": "60"}, {"grace_seconds": 1.5},
                 {"grace": 60}):
        r = api(s, "POST", "/api/v1/keys/%s/rotate" % kid, key, body)
        assert r.status == 400, "%r: %d %s" % (body, r.status, r.text)
        assert r.json()["error"]["code"] == "validation_failed"
        assert list(r.json()["error"]["fields"]) == list(body), r.text
    r = rotate(s, kid, key, 2592000)
    assert r.status == 200, r.text
    assert one(s, "SELECT TIMESTAMPDIFF(DAY, NOW(3), old_valid_until)"
                  " FROM api_keys WHERE id = %s" % kid) == "29"


def test_someone_elses_key_is_404(s):
    _, _, alice = signed_in(s, "rota")
    _, _, bob = signed_in(s, "rotb")
    akey = new_key(alice, "mine", ["read", "generate"])
    bkey = new_key(bob, "theirs", ["read"])
    bkid = key_id(s, bkey)
    for kid in (bkid, "999999999", "0", "x"):
        r = rotate(s, kid, akey)
        assert r.status == 404, "%s: %d %s" % (kid, r.status, r.text)
    assert one(s, "SELECT CONCAT(key_hash, '|', old_key_hash IS NULL)"
                  " FROM api_keys WHERE id = %s" % bkid) == \
        sha256(bkey) + "|1"
    assert works(s, bkey)
    # ... and on the page.
    r = alice.submit("/account/keys/%s/rotate" % bkid, {"grace": "0"},
                     page="/account/keys")
    assert r.status == 404, r.status
    assert works(s, bkey)


def test_over_the_api_a_key_rotates_only_itself(s):
    # Another key's new secret would outlive the caller's revocation (and
    # a read key would get a generate one): other keys are rotated on the
    # page, with a session.
    _, _, b = signed_in(s, "rot")
    reader = new_key(b, "reader", ["read"])
    writer = new_key(b, "writer", ["read", "generate"])
    rkid, wkid = key_id(s, reader), key_id(s, writer)
    for caller, kid in ((reader, wkid), (writer, rkid)):
        r = rotate(s, kid, caller)
        assert r.status == 403, r.text
        assert r.json()["error"]["code"] == "forbidden"
        assert "only itself" in r.json()["error"]["message"]
    assert one(s, "SELECT COUNT(*) FROM api_keys WHERE id IN (%s, %s)"
                  " AND rotated_at IS NULL" % (rkid, wkid)) == "2"
    # Any key may rotate itself, a read-only one too: it gains nothing.
    r = rotate(s, rkid, reader, 0)
    assert r.status == 200 and r.json()["scopes"] == ["read"], r.text
    r = rotate(s, wkid, writer, 0)
    assert r.status == 200 and r.json()["scopes"] == ["read", "generate"]


def test_a_session_cannot_rotate_over_the_api(s):
    _, _, b = signed_in(s, "rot")
    key = new_key(b, "script", ["read"])
    r = b.request("POST", "/api/v1/keys/%s/rotate" % key_id(s, key),
                  body="{}", headers={"Content-Type": "application/json"})
    assert r.status == 401, r.status
    assert one(s, "SELECT key_hash FROM api_keys WHERE id = %s" %
               key_id(s, key)) == sha256(key)


def test_revoked_and_expired_keys_are_not_rotated_on_the_page(s):
    _, _, b = signed_in(s, "rot")
    gone = new_key(b, "gone", ["read"])
    old = new_key(b, "old", ["read"])
    gkid, okid = key_id(s, gone), key_id(s, old)
    assert api(s, "DELETE", "/api/v1/keys/%s" % gkid, gone).status == 204
    s.sql("UPDATE api_keys SET expires_at = NOW(3) - INTERVAL 1 SECOND"
          " WHERE id = %s" % okid)
    page = b.get("/account/keys").text
    assert "/account/keys/%s/rotate" % gkid not in page
    assert "/account/keys/%s/rotate" % okid not in page
    for kid, said in ((gkid, "That key is revoked"),
                      (okid, "That key has expired")):
        r = b.submit("/account/keys/%s/rotate" % kid, {"grace": "0"},
                     page="/account/keys")
        assert r.status == 409, r.status
        assert said in r.text, r.text[:2000]
        assert 'id="new-key"' not in r.text
    assert one(s, "SELECT COUNT(*) FROM api_keys WHERE id IN (%s, %s)"
                  " AND rotated_at IS NULL" % (gkid, okid)) == "2"


# ---------------------------------------------------------------- page

def rotate_on_page(b, kid, grace):
    r = followed(b, b.submit("/account/keys/%s/rotate" % kid,
                             {"grace": str(grace)}, page="/account/keys"),
                 "rotate %s" % kid, "/account/keys")
    m = re.search(r'<code id="new-key">([^<]+)</code>', r.text)
    assert m, r.text[:2000]
    return html.unescape(m.group(1)), r.text


def test_the_page_rotates_a_key_and_shows_the_secret_once(s):
    name, _, b = signed_in(s, "rot")
    key = new_key(b, "script", ["read"])
    kid = key_id(s, key)
    page = b.get("/account/keys").text
    assert 'action="/account/keys/%s/rotate"' % kid in page
    new, text = rotate_on_page(b, kid, 3600)
    assert new != key and one(s, "SELECT key_hash FROM api_keys WHERE"
                                 " id = %s" % kid) == sha256(new)
    m = re.search(r'<p id="rotated">The old secret keeps working until'
                  r' (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC', text)
    assert m, text[:3000]
    until = one(s, "SELECT DATE_FORMAT(old_valid_until,"
                   " '%%Y-%%m-%%d %%H:%%i:%%s') FROM api_keys WHERE id = %s"
                % kid)
    shown = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")
    stored = datetime.datetime.strptime(until, "%Y-%m-%d %H:%M:%S")
    assert abs((shown - stored).total_seconds()) <= 2, (shown, stored)
    # The list says the old secret is in grace, and until when.
    assert "old secret works until %s" % until in text
    assert works(s, key) and works(s, new)
    # Shown once: the next visit has neither secret.
    again = b.get("/account/keys").text
    assert new not in again and key not in again
    assert "old secret works until %s" % until in again
    rows = audit_rows(s, "key_rotate", name)
    assert len(rows) == 1 and "3600 s" in rows[0][2], rows


def test_the_page_can_end_the_old_secret_at_once(s):
    _, _, b = signed_in(s, "rot")
    key = new_key(b, "script", ["read"])
    new, text = rotate_on_page(b, key_id(s, key), 0)
    assert "The old secret stopped working at once." in text
    assert not works(s, key) and works(s, new)
    assert "old secret works until" not in text


def test_the_page_refuses_a_bad_grace(s):
    _, _, b = signed_in(s, "rot")
    key = new_key(b, "script", ["read"])
    kid = key_id(s, key)
    for grace in ("-5", "2592001", "soon", ""):
        r = b.submit("/account/keys/%s/rotate" % kid, {"grace": grace},
                     page="/account/keys")
        assert r.status == 422, "%r: %d" % (grace, r.status)
        assert "Grace period" in r.text
    assert one(s, "SELECT key_hash FROM api_keys WHERE id = %s" % kid) == \
        sha256(key)


def test_only_admins_rotate_admin_keys_on_the_page(s):
    adm = admin(s)
    akey = new_key(adm, "adm", ["read", "admin"])
    new, _ = rotate_on_page(adm, key_id(s, akey), 0)
    assert api(s, "GET", "/api/v1/users", new).status == 200
    # A demoted admin's admin key stays as it is.
    _, uid, b = signed_in(s, "demoted")
    s.sql("UPDATE users SET role = 'admin' WHERE id = %s" % uid)
    dkey = new_key(b, "adm", ["read", "admin"])
    s.sql("UPDATE users SET role = 'user' WHERE id = %s" % uid)
    r = b.submit("/account/keys/%s/rotate" % key_id(s, dkey), {"grace": "0"},
                 page="/account/keys")
    assert r.status == 403, r.status
    assert one(s, "SELECT rotated_at IS NULL FROM api_keys WHERE id = %s" %
               key_id(s, dkey)) == "1"


# -------------------------------------------------------------- expiry

def tomorrow():
    return (datetime.datetime.now(datetime.timezone.utc).date() +
            datetime.timedelta(days=2)).isoformat()


def test_a_key_made_with_an_expiry_date_lists_it(s):
    name, uid, b = signed_in(s, "exp")
    day = tomorrow()
    r = followed(b, b.submit("/account/keys", {"name": "temp",
                                               "scope": ["read"],
                                               "expires": day},
                             page="/account/keys"), "create", "/account/keys")
    key = html.unescape(re.search(r'<code id="new-key">([^<]+)</code>',
                                  r.text).group(1))
    kid = key_id(s, key)
    assert one(s, "SELECT DATE_FORMAT(expires_at, '%%Y-%%m-%%d %%H:%%i:%%s')"
                  " FROM api_keys WHERE id = %s" % kid) == day + " 00:00:00"
    assert works(s, key)
    entry = listed(s, key, kid)
    assert entry["expires_at"] == day + "T00:00:00Z"
    assert entry["expired"] is False
    assert day + " 00:00" in b.get("/account/keys").text
    rows = audit_rows(s, "key_create", name)
    assert rows and "expires " + day in rows[-1][2], rows
    # Past 2038 (MariaDB's FROM_UNIXTIME stops there) and on a leap day.
    for far in ("2099-01-01", "2096-02-29"):
        r = followed(b, b.submit("/account/keys", {"name": "far",
                                                   "scope": ["read"],
                                                   "expires": far},
                                 page="/account/keys"), "create far",
                     "/account/keys")
        fkey = html.unescape(re.search(r'<code id="new-key">([^<]+)</code>',
                                       r.text).group(1))
        assert listed(s, fkey, key_id(s, fkey))["expires_at"] == \
            far + "T00:00:00Z"


def test_a_key_without_expiry_never_expires(s):
    _, _, b = signed_in(s, "exp")
    key = new_key(b, "forever", ["read"])
    entry = listed(s, key, key_id(s, key))
    assert entry["expires_at"] is None and entry["expired"] is False


def test_an_expiry_date_must_be_a_future_date(s):
    _, uid, b = signed_in(s, "exp")
    today = datetime.datetime.now(datetime.timezone.utc).date()
    for day, word in ((today.isoformat(), "after today"),
                      ((today - datetime.timedelta(days=3)).isoformat(),
                       "after today"),
                      ("2031-02-30", "YYYY-MM-DD"),
                      ("tomorrow", "YYYY-MM-DD"),
                      ("2031-1-5", "YYYY-MM-DD")):
        r = b.submit("/account/keys", {"name": "temp", "scope": ["read"],
                                       "expires": day},
                     page="/account/keys")
        assert r.status == 422, "%s: %d" % (day, r.status)
        m = re.search(r'<p class="field-error">([^<]*)</p>', r.text)
        assert m and "Expires" in m.group(1) and word in m.group(1), \
            (day, m and m.group(1))
        assert 'value="%s"' % html.escape(day) in r.text
    assert one(s, "SELECT COUNT(*) FROM api_keys WHERE user_id = %s" %
               uid) == "0"


def test_an_expired_key_is_refused_saying_so(s):
    _, _, b = signed_in(s, "exp")
    r = followed(b, b.submit("/account/keys", {"name": "temp",
                                               "scope": ["read"],
                                               "expires": tomorrow()},
                             page="/account/keys"), "create", "/account/keys")
    key = html.unescape(re.search(r'<code id="new-key">([^<]+)</code>',
                                  r.text).group(1))
    kid = key_id(s, key)
    assert works(s, key)
    s.sql("UPDATE api_keys SET expires_at = '2020-01-02 03:04:05'"
          " WHERE id = %s" % kid)
    r = api(s, "GET", "/api/v1/me", key)
    refused(r, "expired key", "expired")
    assert "2020-01-02T03:04:05Z" in r.json()["error"]["message"]
    # The same over AUTOMATIC1111's Basic.
    import base64
    basic = base64.b64encode(("x:" + key).encode()).decode()
    r = s.request("GET", "/sdapi/v1/samplers",
                  headers={"Authorization": "Basic " + basic})
    assert r.status == 401 and "expired" in r.json()["error"]["message"]
    page = b.get("/account/keys").text
    assert "expired 2020-01-02 03:04" in page
    # An expired key's old secret is refused as well.
    new_page_key = new_key(b, "other", ["read"])
    okid = key_id(s, new_page_key)
    newer = rotate(s, okid, new_page_key, 3600).json()["key"]
    s.sql("UPDATE api_keys SET expires_at = NOW(3) - INTERVAL 1 SECOND"
          " WHERE id = %s" % okid)
    refused(api(s, "GET", "/api/v1/me", new_page_key), "expired, old",
            "expired")
    refused(api(s, "GET", "/api/v1/me", newer), "expired, new", "expired")


def test_rotation_keeps_the_expiry(s):
    _, _, b = signed_in(s, "exp")
    day = tomorrow()
    r = followed(b, b.submit("/account/keys", {"name": "temp",
                                               "scope": ["read"],
                                               "expires": day},
                             page="/account/keys"), "create", "/account/keys")
    key = html.unescape(re.search(r'<code id="new-key">([^<]+)</code>',
                                  r.text).group(1))
    got = rotate(s, key_id(s, key), key, 0).json()
    assert got["expires_at"] == day + "T00:00:00Z"


# ------------------------------------------------------------ last use

def test_last_use_time_and_address_are_recorded_and_shown(s):
    _, _, b = signed_in(s, "use")
    key = new_key(b, "script", ["read"])
    kid = key_id(s, key)
    entry = listed(s, key, kid)
    assert entry["last_used_at"] and entry["last_used_ip"] == "127.0.0.1"
    # An older use from elsewhere is replaced by this one's ...
    s.sql("UPDATE api_keys SET last_used_at = '2021-05-06 07:08:09',"
          " last_used_ip = '192.0.2.7' WHERE id = %s" % kid)
    assert "2021-05-06 07:08:09 from 192.0.2.7" in b.get(
        "/account/keys").text
    t0 = db_now(s)
    assert works(s, key)
    used, ip = one(s, "SELECT CONCAT(DATE_FORMAT(last_used_at,"
                      " '%%Y-%%m-%%d %%H:%%i:%%s'), '|', last_used_ip)"
                      " FROM api_keys WHERE id = %s" % kid).split("|")
    assert ip == "127.0.0.1"
    used_t = datetime.datetime.strptime(used, "%Y-%m-%d %H:%M:%S").replace(
        tzinfo=datetime.timezone.utc)
    assert abs((used_t - t0).total_seconds()) <= 5, (used, t0)
    assert "%s from 127.0.0.1" % used in b.get("/account/keys").text
    entry = listed(s, key, kid)
    assert entry["last_used_at"] == used_t.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert entry["last_used_ip"] == "127.0.0.1"


def test_last_use_is_written_at_most_every_ten_seconds(s):
    _, _, b = signed_in(s, "use")
    key = new_key(b, "script", ["read"])
    kid = key_id(s, key)
    assert works(s, key)
    s.sql("UPDATE api_keys SET last_used_at = NOW(3) - INTERVAL 3 SECOND,"
          " last_used_ip = '192.0.2.9' WHERE id = %s" % kid)
    assert works(s, key)
    assert one(s, "SELECT last_used_ip FROM api_keys WHERE id = %s" %
               kid) == "192.0.2.9"
    s.sql("UPDATE api_keys SET last_used_at = NOW(3) - INTERVAL 11 SECOND"
          " WHERE id = %s" % kid)
    assert works(s, key)
    assert one(s, "SELECT last_used_ip FROM api_keys WHERE id = %s" %
               kid) == "127.0.0.1"


def test_a_new_key_lists_never_used(s):
    _, _, b = signed_in(s, "use")
    new_key(b, "idle", ["read"])
    page = b.get("/account/keys").text
    assert re.search(r"<td>never</td>", page), page[:3000]


# ------------------------------------------------------------- the doc

def test_the_listed_and_rotated_fields_are_the_documented_ones(s):
    doc = s.get("/api/v1/openapi.json").json()
    props = set(doc["components"]["schemas"]["ApiKey"]["properties"])
    _, _, b = signed_in(s, "doc")
    key = new_key(b, "script", ["read"])
    kid = key_id(s, key)
    assert set(listed(s, key, kid)) == props
    got = rotate(s, kid, key, 0).json()
    assert set(got) == props | {"key"}
    op = doc["paths"]["/api/v1/keys/{id}/rotate"]["post"]
    body = op["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == {"grace_seconds"}
    g = body["properties"]["grace_seconds"]
    assert (g["minimum"], g["maximum"], g["default"]) == (0, 2592000, 86400)
