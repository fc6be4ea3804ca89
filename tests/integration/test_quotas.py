"""Per-tier limits and credits over real HTTP: a tier's size, steps and
batch limits (400 naming the field), its queued-at-once and per-day quotas
(429 quota_exceeded with Retry-After), credits charged per job at the cost
the formula gives and given back when a queued job is canceled (402 when
short), priority by tier, and an administrator's audited credit grant.
No render daemon runs, so jobs stay queued."""

import json
import math
import urllib.parse

from common import check_security_headers, sha256, token

STACK = dict(server="lighttpd", daemon=False,
             extra_conf="[limits]\nsubmit_burst = 100000\n"
                        "[tier tiny]\nmax_side = 128\nmax_steps = 10\n"
                        "max_batch = 2\njobs_per_day = 4\nmax_queued = 3\n"
                        "[tier vip]\npriority = 5\n")


def user(s, name, tier, credits=1000, role="user"):
    s.sql("INSERT INTO users (username, password_hash, tier, credits, role)"
          " VALUES ('%s', 'x', '%s', %d, '%s')" % (name, tier, credits, role))
    uid = int(s.sql("SELECT id FROM users WHERE username = '%s'" %
                    name)[0][0])
    key = "kiln_" + token()
    s.sql("INSERT INTO api_keys (user_id, name, prefix, key_hash, scopes)"
          " VALUES (%d, 'k', '%s', '%s', 'read,generate')" %
          (uid, key[:13], sha256(key)))
    return uid, key


def post(s, key, body, path="/api/v1/jobs"):
    r = s.request("POST", path, body=json.dumps(body),
                  headers={"Authorization": "Bearer " + key,
                           "Content-Type": "application/json"})
    check_security_headers(r, path)
    return r


def credits(s, uid):
    return int(s.sql("SELECT credits FROM users WHERE id = %d" %
                     uid)[0][0])


def jobs_of(s, uid):
    return int(s.sql("SELECT COUNT(*) FROM jobs WHERE user_id = %d" %
                     uid)[0][0])


def cost(w, h, steps, batch):
    """The documented formula: one credit per 512x512 pixel-step."""
    return max(1, math.ceil(w * h * steps * batch / (512 * 512)))


def test_tier_limits_name_the_field(s):
    uid, key = user(s, "tina", "tiny")
    for body, field in (({"width": 136}, "width"),
                        ({"height": 256}, "height"),
                        ({"steps": 11}, "steps"),
                        ({"batch_count": 3}, "batch_count")):
        # steps 1 unless tested: the model's default may be over 10.
        r = post(s, key, dict(dict(prompt="one red circle", steps=1),
                              **body))
        assert r.status == 400, r.text
        f = r.json()["error"]["fields"]
        assert list(f) == [field] and "limit" in f[field], f
    assert jobs_of(s, uid) == 0
    # At the limits it is accepted.
    r = post(s, key, {"prompt": "one red circle", "width": 128,
                      "height": 128, "steps": 10, "batch_count": 2})
    assert r.status == 202, r.text
    s.sql("DELETE FROM jobs WHERE user_id = %d" % uid)


def test_queued_at_once_and_per_day_quotas(s):
    uid, key = user(s, "tom", "tiny")
    ids = []
    for _ in range(3):
        r = post(s, key, {"prompt": "one red circle", "steps": 1})
        assert r.status == 202, r.text
        ids.append(r.json()["id"])
    r = post(s, key, {"prompt": "one red circle", "steps": 1})
    assert r.status == 429, r.text
    assert r.json()["error"]["code"] == "quota_exceeded"
    assert "3" in r.json()["error"]["message"]
    assert int(r.headers["retry-after"]) >= 1
    assert jobs_of(s, uid) == 3
    # Canceling one makes room: a fourth job today.
    c = s.request("POST", "/api/v1/jobs/%d/cancel" % ids[0],
                  headers={"Authorization": "Bearer " + key})
    assert c.status == 202, c.text
    r = post(s, key, {"prompt": "one red circle", "steps": 1})
    assert r.status == 202, r.text
    # The fifth in 24 hours is over jobs_per_day (4), canceled ones count.
    c = s.request("POST", "/api/v1/jobs/%d/cancel" % ids[1],
                  headers={"Authorization": "Bearer " + key})
    assert c.status == 202
    r = post(s, key, {"prompt": "one red circle", "steps": 1})
    assert r.status == 429, r.text
    assert r.json()["error"]["code"] == "quota_exceeded"
    wait = int(r.headers["retry-after"])
    assert 86000 < wait <= 86400, wait
    # A day later the window has moved on.
    s.sql("UPDATE jobs SET created_at = NOW() - INTERVAL 25 HOUR,"
          " status = 'canceled' WHERE user_id = %d" % uid)
    r = post(s, key, {"prompt": "one red circle", "steps": 1})
    assert r.status == 202, r.text


def test_credits_are_charged_and_given_back(s):
    # Sizes within kiln-micro's own limit (128); the default tier allows
    # 100 steps and 4 images.
    uid, key = user(s, "cara", "default", credits=20)
    w, h, steps, batch = 128, 128, 60, 4
    want = cost(w, h, steps, batch)
    assert want == 15
    r = post(s, key, {"prompt": "two blue squares", "width": w, "height": h,
                      "steps": steps, "batch_count": batch})
    assert r.status == 202, r.text
    jid = r.json()["id"]
    assert credits(s, uid) == 20 - want
    assert s.sql("SELECT cost FROM jobs WHERE id = %d" % jid) == [[str(want)]]
    # Canceled before it ran: the credits come back, once.
    c = s.request("POST", "/api/v1/jobs/%d/cancel" % jid,
                  headers={"Authorization": "Bearer " + key})
    assert c.status == 202
    assert credits(s, uid) == 20
    assert s.sql("SELECT refunded FROM jobs WHERE id = %d" % jid) == [["1"]]
    # Short of credits: 402, nothing queued, nothing charged.
    before = jobs_of(s, uid)
    r = post(s, key, {"prompt": "two blue squares", "width": 128,
                      "height": 128, "steps": 100, "batch_count": 4})
    assert r.status == 402, r.text
    err = r.json()["error"]
    assert err["code"] == "insufficient_credits"
    assert "%d" % cost(128, 128, 100, 4) in err["message"], err
    assert jobs_of(s, uid) == before and credits(s, uid) == 20
    me = s.request("GET", "/api/v1/me",
                   headers={"Authorization": "Bearer " + key}).json()
    assert me["credits"] == 20
    # A batch is charged as a whole, or refused as a whole: each of these
    # two jobs fits the credits alone, both together do not.
    one_job = {"prompt": "a", "width": 128, "height": 128, "steps": 100,
               "batch_count": 2}
    assert cost(128, 128, 100, 2) <= 20 < 2 * cost(128, 128, 100, 2)
    r = post(s, key, {"jobs": [one_job] * 2}, "/api/v1/jobs/batch")
    assert r.status == 402 and jobs_of(s, uid) == before


def test_priority_follows_the_tier(s):
    _, low = user(s, "plain", "default")
    _, high = user(s, "vera", "vip")
    a = post(s, low, {"prompt": "one red circle", "steps": 1}).json()
    b = post(s, high, {"prompt": "one red circle", "steps": 1}).json()
    assert s.sql("SELECT priority FROM jobs WHERE id IN (%d, %d) ORDER BY"
                 " id" % (a["id"], b["id"])) == [["0"], ["5"]]
    # The later vip job is first in the queue.
    assert b["queue_position"] == 0, b
    got = s.request("GET", "/api/v1/jobs/%d" % a["id"],
                    headers={"Authorization": "Bearer " + low}).json()
    assert got["queue_position"] >= 1, got


def test_admin_grants_credits_audited(s):
    admin_id, _ = user(s, "boss", "default", role="admin")
    uid, _ = user(s, "gus", "default", credits=3)
    tok, csrf = token(), token()
    s.sql("INSERT INTO sessions (user_id, token_hash, csrf, expires_at)"
          " VALUES (%d, '%s', '%s', NOW() + INTERVAL 1 HOUR)" %
          (admin_id, sha256(tok), csrf))

    def grant(fields):
        return s.request("POST", "/admin/users/%d/credits" % uid,
                         body=urllib.parse.urlencode(dict(fields,
                                                          csrf=csrf)),
                         headers={"Cookie": "kiln_session=" + tok,
                                  "Content-Type":
                                  "application/x-www-form-urlencoded"})
    r = grant({"amount": "250", "note": "welcome"})
    assert r.status == 303, r.status
    assert credits(s, uid) == 253
    for bad in ("0", "x", "1e3", ""):
        assert grant({"amount": bad}).status == 422, bad
    assert credits(s, uid) == 253
    rows = s.sql("SELECT actor, action, target, detail FROM audit_log"
                 " WHERE action = 'credit_grant'")
    assert rows == [["boss", "credit_grant", "gus",
                     "+250 credits: welcome"]], rows
    page = s.get("/admin/users/%d" % uid,
                 headers={"Cookie": "kiln_session=" + tok})
    assert 'id="credits">253<' in page.text
