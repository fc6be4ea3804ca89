"""Teams (issue 27): roles, the shared credit pool, jobs made for a team
and who may see and change them, over real HTTP against lighttpd +
MariaDB with a running kilnd (which renders jobs and delivers webhooks).

The access matrix is written out cell by cell below: for each object URL
of a team job (the job page, the job API, an image PNG, the ZIP from the
page and the API, cancel and delete from the page and the API) the status
each of maker, owner, member, viewer, other user, admin and a visitor
gets. Admins see today exactly what any other user sees of a job not
theirs (404): teams do not change that. Rows of jobs and images are made
in SQL and the PNG files written here, so a 200 is checked against bytes
this test wrote."""

import base64
import http.server
import io
import json
import os
import struct
import threading
import zipfile
import zlib

import harness
from common import (WebhookReceiver, api, browser, error_of, is_json, job_dir,
                    job_row, make_key, new_user, one, post_form, unique)
from common import webhook_verify as verify

STACK = dict(server="lighttpd", daemon_name="teams-1",
             extra_conf="[webhooks]\nallow = 127.0.0.1\n")


def png(w, h, rgb):
    """A w x h PNG of one colour, made here."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    row = b"\x00" + bytes(rgb) * w
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(row * h)) + chunk(b"IEND", b""))


def image_job(s, uid, team=None, status="succeeded", **cols):
    """A job of uid (for team, when given) with one image whose file is
    written here: (job id, png bytes)."""
    jid = job_row(s, uid, status, "team picture", team_id=team, **cols)
    data = png(40, 24, (jid % 256, 90, 160))
    d = job_dir(s, jid)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "0.png"), "wb") as f:
        f.write(data)
    s.sql("INSERT INTO job_images (job_id, idx, seed, path, width, height)"
          " VALUES (%d, 0, 1, 'jobs/%d/0.png', 40, 24)" % (jid, jid))
    return jid, data


class Person:
    """A user with a signed-in browser and an API key."""

    def __init__(self, s, prefix, role=None):
        self.id, self.name = new_user(s, prefix, role=role)
        self.cookie, self.csrf = browser(s, self.id)
        self.key = make_key(s, self.id, "read,generate")


def team_of(s, owner, members=(), viewers=(), credits=0):
    """A team made over the API by owner, with members and viewers added
    over the API: its id."""
    r = api(s, "POST", "/api/v1/teams", owner.key, {"name": unique("team")})
    assert r.status == 201, (r.status, r.text)
    tid = is_json(r)["id"]
    for p, role in [(m, "member") for m in members] + \
            [(v, "viewer") for v in viewers]:
        r = api(s, "POST", "/api/v1/teams/%d/members" % tid, owner.key,
                {"username": p.name, "role": role})
        assert r.status == 201, (r.status, r.text)
    if credits:
        s.sql("UPDATE teams SET credits = %d WHERE id = %d" % (credits,
                                                               tid))
    return tid


def people(s):
    """Everyone of the matrix, and a team with its maker, owner, member
    and viewer in it."""
    p = dict(maker=Person(s, "maker"), owner=Person(s, "owner"),
             member=Person(s, "member"), viewer=Person(s, "viewer"),
             other=Person(s, "other"), admin=Person(s, "admin", "admin"),
             moderator=Person(s, "mod", "moderator"))
    tid = team_of(s, p["owner"], [p["maker"], p["member"]], [p["viewer"]])
    return p, tid


ROLES = ["maker", "owner", "member", "viewer", "other", "moderator",
         "admin", "anon"]


def page(s, who, method, path, form=None):
    if who is None:
        if method == "GET":
            return s.request("GET", path)
        return s.request("POST", path, body="csrf=x", headers={
            "Content-Type": "application/x-www-form-urlencoded"})
    if method == "GET":
        return s.request("GET", path, headers={"Cookie": who.cookie})
    return post_form(s, who.cookie, path, dict(csrf=who.csrf, **(form or
                                                               {})))


def call(s, who, method, path):
    return api(s, method, path, who.key if who is not None else None)


# What each reads, per role: the maker, the team's owner, member and
# viewer see a team job; another user and an admin get 404 as for any
# job not theirs (a moderator too: moderation is of published images);
# a visitor is sent to sign in (pages) or gets 401 (API).
READ = dict(maker=200, owner=200, member=200, viewer=200, other=404,
            moderator=404, admin=404)


def test_the_access_matrix_over_every_object_url(s):
    p, tid = people(s)
    jid, data = image_job(s, p["maker"].id, tid)
    reads = [
        ("page", "GET", "/jobs/%d" % jid, dict(READ, anon=303)),
        ("api", "GET", "/api/v1/jobs/%d" % jid, dict(READ, anon=401)),
        ("api", "GET", "/api/v1/images/%d-0.png" % jid,
         dict(READ, anon=401)),
        ("page", "GET", "/api/v1/images/%d-0.png" % jid,
         dict(READ, anon=401)),
        ("page", "GET", "/jobs/%d/images.zip" % jid, dict(READ, anon=303)),
        ("api", "GET", "/api/v1/jobs/%d/images.zip" % jid,
         dict(READ, anon=401)),
    ]
    for kind, method, path, want in reads:
        for role in ROLES:
            who = p.get(role)
            r = (page if kind == "page" else call)(s, who, method, path)
            assert r.status == want[role], "%s %s %s as %s: want %d, got" \
                " %d" % (kind, method, path, role, want[role], r.status)
            if r.status == 200 and path.endswith(".png"):
                assert r.body == data, (path, role)
            if r.status == 200 and path.endswith(".zip"):
                z = zipfile.ZipFile(io.BytesIO(r.body))
                pngs = [n for n in z.namelist() if n.endswith(".png")]
                assert len(pngs) == 1 and z.read(pngs[0]) == data, \
                    (path, role, z.namelist())
            if r.status == 303:
                assert r.headers["location"].startswith("/login"), \
                    r.headers
    # The job page shows the maker's job to the team, not only the maker.
    r = page(s, p["viewer"], "GET", "/jobs/%d" % jid)
    assert "team picture" in r.text


# Changing: the maker and the team's owners may cancel and delete; the
# team's member and viewer see the job but are refused with 403; anyone
# else gets 404; a visitor 401 (API) or 403 (a form without a session's
# CSRF token).
CHANGE = dict(maker=None, owner=None, member=403, viewer=403, other=404,
              moderator=404, admin=404)


def running_job(s, uid, tid):
    """A running team job held by a daemon that does not exist, with a
    lease far ahead: cancel requests it, and nobody finishes it."""
    return job_row(s, uid, "running", "long team job", team_id=tid,
                   claimed_by="nobody-1", attempt=1,
                   lease_until="SQL:NOW() + INTERVAL 1 HOUR")


def test_cancel_and_delete_are_for_the_maker_and_the_owners(s):
    p, tid = people(s)
    for role in ROLES:
        who = p.get(role)
        # API cancel.
        jid = running_job(s, p["maker"].id, tid)
        r = call(s, who, "POST", "/api/v1/jobs/%d/cancel" % jid)
        want = CHANGE.get(role, 401) or 202
        assert r.status == want, ("api cancel", role, r.status, r.text)
        assert one(s, "SELECT cancel_requested FROM jobs WHERE id = %d" %
                   jid) == ("1" if want == 202 else "0"), role
        # Page cancel.
        jid = running_job(s, p["maker"].id, tid)
        r = page(s, who, "POST", "/jobs/%d/cancel" % jid)
        want = CHANGE.get(role, 403) or 303
        assert r.status == want, ("page cancel", role, r.status, r.text)
        assert one(s, "SELECT cancel_requested FROM jobs WHERE id = %d" %
                   jid) == ("1" if want == 303 else "0"), role
        # API delete.
        jid, _ = image_job(s, p["maker"].id, tid)
        r = call(s, who, "DELETE", "/api/v1/jobs/%d" % jid)
        want = CHANGE.get(role, 401) or 204
        assert r.status == want, ("api delete", role, r.status, r.text)
        assert one(s, "SELECT deleted_at IS NOT NULL FROM jobs WHERE id ="
                   " %d" % jid) == ("1" if want == 204 else "0"), role
        # Page delete.
        jid, _ = image_job(s, p["maker"].id, tid)
        r = page(s, who, "POST", "/jobs/%d/delete" % jid)
        want = CHANGE.get(role, 403) or 303
        assert r.status == want, ("page delete", role, r.status, r.text)
        assert one(s, "SELECT deleted_at IS NOT NULL FROM jobs WHERE id ="
                   " %d" % jid) == ("1" if want == 303 else "0"), role
    # A member's own team job is theirs to cancel and delete.
    jid, _ = image_job(s, p["member"].id, tid)
    assert call(s, p["member"], "DELETE", "/api/v1/jobs/%d" % jid).status \
        == 204


def test_team_jobs_are_charged_to_the_pool_and_viewers_cannot_submit(s):
    p, tid = people(s)
    s.sql("UPDATE teams SET credits = 500 WHERE id = %d" % tid)
    before = int(one(s, "SELECT credits FROM users WHERE id = %d" %
                     p["maker"].id))
    body = dict(prompt="for the team", model="kiln-micro", width=64,
                height=64, steps=2, sampler="euler", seed=3, team_id=tid)
    r = api(s, "POST", "/api/v1/jobs", p["maker"].key, body)
    assert r.status == 202, (r.status, r.text)
    j = is_json(r)
    assert j["team_id"] == tid
    cost = int(one(s, "SELECT cost FROM jobs WHERE id = %d" % j["id"]))
    assert cost > 0
    assert one(s, "SELECT team_id FROM jobs WHERE id = %d" % j["id"]) == \
        str(tid)
    assert int(one(s, "SELECT credits FROM teams WHERE id = %d" % tid)) \
        == 500 - cost
    assert int(one(s, "SELECT credits FROM users WHERE id = %d" %
                   p["maker"].id)) == before
    # The team sees it in its member's hands.
    r = api(s, "GET", "/api/v1/jobs/%d" % j["id"], p["viewer"].key)
    assert r.status == 200 and is_json(r)["team_id"] == tid
    # A viewer may not spend the pool; another user is not in the team.
    n = one(s, "SELECT COUNT(*) FROM jobs")
    error_of(api(s, "POST", "/api/v1/jobs", p["viewer"].key, body), 403,
             "forbidden", "viewer submits")
    error_of(api(s, "POST", "/api/v1/jobs", p["other"].key, body), 404,
             "not_found", "other submits")
    error_of(api(s, "POST", "/api/v1/jobs", p["maker"].key,
                 dict(body, team_id="x")), 400, "validation_failed",
             "team_id not a number")
    assert one(s, "SELECT COUNT(*) FROM jobs") == n
    assert int(one(s, "SELECT credits FROM teams WHERE id = %d" % tid)) \
        == 500 - cost
    # An empty pool refuses, and charges nobody.
    s.sql("UPDATE teams SET credits = 0 WHERE id = %d" % tid)
    error_of(api(s, "POST", "/api/v1/jobs", p["member"].key, body), 402,
             "insufficient_credits", "empty pool")
    assert int(one(s, "SELECT credits FROM users WHERE id = %d" %
                   p["member"].id)) == 1000
    # The team's own bound on jobs at once, over the maker's tier.
    s.sql("UPDATE teams SET credits = 500, max_queued = 1 WHERE id = %d" %
          tid)
    held = job_row(s, p["owner"].id, "running", "holds the slot",
                   team_id=tid, claimed_by="nobody-1", attempt=1,
                   lease_until="SQL:NOW() + INTERVAL 1 HOUR")
    error_of(api(s, "POST", "/api/v1/jobs", p["member"].key, body), 429,
             "quota_exceeded", "team max_queued")
    s.sql("UPDATE jobs SET status = 'succeeded' WHERE id = %d" % held)
    s.sql("UPDATE teams SET max_queued = NULL WHERE id = %d" % tid)
    # A job that fails (its model is missing: the daemon fails it) is
    # refunded to the pool that paid, not to its maker.
    s.sql("UPDATE teams SET credits = 100 WHERE id = %d" % tid)
    jid = job_row(s, p["member"].id, "queued", "refund me", team_id=tid,
                  cost=7, model="no-such-model")
    harness.wait_until(lambda: one(s, "SELECT refunded FROM jobs WHERE"
                                   " id = %d" % jid) == "1", timeout=60,
                       step=0.2, what="the failed job's refund")
    assert one(s, "SELECT status FROM jobs WHERE id = %d" % jid) == "failed"
    assert int(one(s, "SELECT credits FROM teams WHERE id = %d" % tid)) \
        == 107
    assert int(one(s, "SELECT credits FROM users WHERE id = %d" %
                   p["member"].id)) == 1000


def test_leaving_keeps_ones_own_images_and_loses_the_others(s):
    p, tid = people(s)
    mine, mine_png = image_job(s, p["member"].id, tid)
    theirs, _ = image_job(s, p["maker"].id, tid)
    for jid in (mine, theirs):
        assert call(s, p["member"], "GET", "/api/v1/images/%d-0.png" %
                    jid).status == 200
    r = call(s, p["member"], "DELETE", "/api/v1/teams/%d/members/%d" %
             (tid, p["member"].id))
    assert r.status == 204, (r.status, r.text)
    assert one(s, "SELECT COUNT(*) FROM team_members WHERE team_id = %d"
               " AND user_id = %d" % (tid, p["member"].id)) == "0"
    r = call(s, p["member"], "GET", "/api/v1/images/%d-0.png" % mine)
    assert r.status == 200 and r.body == mine_png
    assert call(s, p["member"], "GET", "/api/v1/jobs/%d" % mine).status \
        == 200
    assert call(s, p["member"], "GET", "/api/v1/images/%d-0.png" %
                theirs).status == 404
    assert call(s, p["member"], "GET", "/api/v1/jobs/%d" % theirs).status \
        == 404
    # The team still sees the job its former member made.
    assert call(s, p["viewer"], "GET", "/api/v1/jobs/%d" % mine).status \
        == 200
    # Removed by an owner: the same.
    r = call(s, p["owner"], "DELETE", "/api/v1/teams/%d/members/%d" %
             (tid, p["viewer"].id))
    assert r.status == 204
    assert call(s, p["viewer"], "GET", "/api/v1/jobs/%d" % theirs).status \
        == 404
    # The last owner cannot leave.
    error_of(call(s, p["owner"], "DELETE", "/api/v1/teams/%d/members/%d" %
                  (tid, p["owner"].id)), 409, "conflict", "last owner")


def test_only_owners_manage_members_and_others_see_no_team(s):
    p, tid = people(s)
    r = call(s, p["owner"], "GET", "/api/v1/teams/%d" % tid)
    t = is_json(r)
    assert r.status == 200 and t["role"] == "owner"
    assert sorted((m["username"], m["role"]) for m in t["members"]) == \
        sorted([(p["owner"].name, "owner"), (p["maker"].name, "member"),
                (p["member"].name, "member"), (p["viewer"].name, "viewer")])
    assert call(s, p["viewer"], "GET", "/api/v1/teams/%d" %
                tid).status == 200
    for role in ("other", "admin"):
        error_of(call(s, p[role], "GET", "/api/v1/teams/%d" % tid), 404,
                 "not_found", role)
    lst = is_json(call(s, p["member"], "GET", "/api/v1/teams"))["teams"]
    assert [(x["id"], x["role"]) for x in lst] == [(tid, "member")]
    assert is_json(call(s, p["other"], "GET", "/api/v1/teams"))["teams"] \
        == []
    body = {"username": p["other"].name}
    for role in ("member", "viewer"):
        error_of(api(s, "POST", "/api/v1/teams/%d/members" % tid,
                     p[role].key, body), 403, "forbidden", role)
    error_of(api(s, "POST", "/api/v1/teams/%d/members" % tid,
                 p["other"].key, body), 404, "not_found", "outsider")
    error_of(api(s, "POST", "/api/v1/teams/%d/members" % tid,
                 p["owner"].key, {"username": p["member"].name}), 409,
             "conflict", "twice")
    error_of(api(s, "POST", "/api/v1/teams/%d/members" % tid,
                 p["owner"].key, {"username": unique("nobody")}), 404,
             "not_found", "no such user")
    # Promoting a viewer lets them submit; the last owner can't step
    # down, a second owner can.
    r = api(s, "PATCH", "/api/v1/teams/%d/members/%d" % (tid,
            p["viewer"].id), p["owner"].key, {"role": "owner"})
    assert r.status == 200, r.text
    r = api(s, "PATCH", "/api/v1/teams/%d/members/%d" % (tid,
            p["owner"].id), p["owner"].key, {"role": "member"})
    assert r.status == 200, r.text
    error_of(api(s, "PATCH", "/api/v1/teams/%d/members/%d" % (tid,
                 p["viewer"].id), p["viewer"].key, {"role": "viewer"}),
             409, "conflict", "last owner steps down")


class Receiver(WebhookReceiver):
    seen = []


def test_member_added_reaches_the_new_members_webhook_signed(s):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    Receiver.seen = []
    try:
        owner, new = Person(s, "owner"), Person(s, "joiner")
        s.sql("UPDATE users SET webhook_url = 'http://127.0.0.1:%d/hook'"
              " WHERE id = %d" % (srv.server_address[1], new.id))
        tid = team_of(s, owner, viewers=[new])
        harness.wait_until(
            lambda: one(s, "SELECT COUNT(*) FROM webhook_deliveries WHERE"
                        " user_id = %d AND status = 'delivered'" % new.id)
            == "1", timeout=60, step=0.2, what="the member_added delivery")
        assert s.sql("SELECT event, job_id FROM webhook_deliveries WHERE"
                     " user_id = %d" % new.id) == [["team.member_added",
                                                    "NULL"]]
        # The owner has no webhook: nothing queued for them.
        assert one(s, "SELECT COUNT(*) FROM webhook_deliveries WHERE"
                   " user_id = %d" % owner.id) == "0"
        secret = one(s, "SELECT webhook_secret FROM users WHERE id = %d" %
                     new.id)
        assert len(Receiver.seen) == 1
        rec = Receiver.seen[0]
        assert verify(secret, rec), rec
        assert not verify("whsec_" + base64.b64encode(b"x" * 24).decode(),
                          rec)
        ev = json.loads(rec["body"])
        assert ev["type"] == "team.member_added"
        assert ev["data"] == {"team_id": tid, "team_name": one(
            s, "SELECT name FROM teams WHERE id = %d" % tid),
            "user_id": new.id, "role": "viewer", "added_by": owner.id}
    finally:
        srv.shutdown()


# ------------------------------------------------------------- the pages

def test_team_pages_create_invite_change_remove_and_leave(s):
    owner, mate, other = (Person(s, "owner"), Person(s, "mate"),
                          Person(s, "other"))
    name = unique("Studio")
    r = page(s, owner, "POST", "/teams", dict(name=name))
    assert r.status == 303, (r.status, r.text[:300])
    tid = int(one(s, "SELECT id FROM teams WHERE name = '%s'" % name))
    assert r.headers["location"] == "/teams/%d" % tid
    assert one(s, "SELECT role FROM team_members WHERE team_id = %d AND"
               " user_id = %d" % (tid, owner.id)) == "owner"
    flash = r.headers.get("set-cookie", "").split(";")[0]
    assert flash == "kiln_flash=team_created", r.headers
    r = s.request("GET", "/teams/%d" % tid, headers={
        "Cookie": owner.cookie + "; " + flash})
    assert r.status == 200 and "Team created" in r.text
    assert name in page(s, owner, "GET", "/teams").text
    # An empty name is refused beside its field; nothing is made.
    r = page(s, owner, "POST", "/teams", dict(name=""))
    assert r.status == 422 and 'class="field-error"' in r.text
    # Invite by user name; an unknown name is refused beside the field.
    r = page(s, owner, "POST", "/teams/%d/members" % tid,
             dict(username=unique("nobody"), role="member"))
    assert r.status == 422 and "no user of that name" in r.text
    r = page(s, owner, "POST", "/teams/%d/members" % tid,
             dict(username=mate.name, role="viewer"))
    assert r.status == 303 and r.headers["location"] == "/teams/%d" % tid
    assert one(s, "SELECT role FROM team_members WHERE team_id = %d AND"
               " user_id = %d" % (tid, mate.id)) == "viewer"
    # The team is its members'; managing it is its owners'.
    assert page(s, mate, "GET", "/teams/%d" % tid).status == 200
    assert page(s, other, "GET", "/teams/%d" % tid).status == 404
    assert page(s, other, "GET", "/teams/%d/gallery" % tid).status == 404
    assert page(s, mate, "POST", "/teams/%d/members" % tid,
                dict(username=other.name, role="member")).status == 403
    assert page(s, other, "POST", "/teams/%d/members" % tid,
                dict(username=other.name, role="member")).status == 404
    assert page(s, mate, "POST", "/teams/%d/members/%d/role" %
                (tid, mate.id), dict(role="owner")).status == 403
    # The viewer sees no "for" menu on the generate page; the owner does.
    assert 'name="team_id"' not in page(s, mate, "GET", "/generate").text
    assert 'name="team_id"' in page(s, owner, "GET", "/generate").text
    r = page(s, owner, "POST", "/teams/%d/members/%d/role" % (tid, mate.id),
             dict(role="member"))
    assert r.status == 303
    assert one(s, "SELECT role FROM team_members WHERE team_id = %d AND"
               " user_id = %d" % (tid, mate.id)) == "member"
    assert 'name="team_id"' in page(s, mate, "GET", "/generate").text
    # The last owner cannot leave; a member can.
    r = page(s, owner, "POST", "/teams/%d/members/%d/remove" %
             (tid, owner.id))
    assert r.status == 409
    r = page(s, mate, "POST", "/teams/%d/members/%d/remove" % (tid, mate.id))
    assert r.status == 303 and r.headers["location"] == "/teams"
    assert page(s, mate, "GET", "/teams/%d" % tid).status == 404
    # Removed by an owner.
    page(s, owner, "POST", "/teams/%d/members" % tid,
         dict(username=other.name, role="viewer"))
    r = page(s, owner, "POST", "/teams/%d/members/%d/remove" %
             (tid, other.id))
    assert r.status == 303 and r.headers["location"] == "/teams/%d" % tid
    assert one(s, "SELECT COUNT(*) FROM team_members WHERE team_id = %d" %
               tid) == "1"


def test_the_team_gallery_lists_the_teams_images_to_its_members(s):
    p, tid = people(s)
    team_jobs = [image_job(s, p["maker"].id, tid)[0],
                 image_job(s, p["member"].id, tid)[0]]
    own, _ = image_job(s, p["maker"].id)        # not the team's
    for role in ("owner", "member", "viewer", "maker"):
        r = page(s, p[role], "GET", "/teams/%d/gallery" % tid)
        assert r.status == 200, (role, r.status)
        shown = sorted(int(x) for x in
                       __import__("re").findall(r'href="/jobs/(\d+)"',
                                                r.text))
        assert shown == sorted(team_jobs), (role, shown)
        assert "/jobs/%d" % own not in r.text
    for role in ("other", "admin"):
        assert page(s, p[role], "GET", "/teams/%d/gallery" %
                    tid).status == 404, role
    assert page(s, None, "GET", "/teams/%d/gallery" % tid).status == 303


def test_the_generate_form_makes_a_job_for_a_team(s):
    p, tid = people(s)
    s.sql("UPDATE teams SET credits = 300 WHERE id = %d" % tid)
    form = dict(prompt="a team form job", model="kiln-micro", width="64",
                height="64", steps="2", sampler="euler", seed="5",
                team_id=str(tid))
    before = one(s, "SELECT credits FROM users WHERE id = %d" %
                 p["member"].id)
    r = page(s, p["member"], "POST", "/generate", form)
    assert r.status == 303, (r.status, r.text[:2000])
    jid = int(r.headers["location"].rsplit("/", 1)[1])
    assert one(s, "SELECT team_id FROM jobs WHERE id = %d" % jid) == \
        str(tid)
    cost = int(one(s, "SELECT cost FROM jobs WHERE id = %d" % jid))
    assert int(one(s, "SELECT credits FROM teams WHERE id = %d" % tid)) \
        == 300 - cost
    assert one(s, "SELECT credits FROM users WHERE id = %d" %
               p["member"].id) == before
    # The job page names the team to another member.
    r = page(s, p["viewer"], "GET", "/jobs/%d" % jid)
    assert r.status == 200 and "/teams/%d" % tid in r.text
    # A viewer's form for the team is refused, with why, and queues
    # nothing.
    n = one(s, "SELECT COUNT(*) FROM jobs")
    r = page(s, p["viewer"], "POST", "/generate", form)
    assert r.status == 403, r.status
    assert "viewers cannot make jobs" in r.text
    assert one(s, "SELECT COUNT(*) FROM jobs") == n


def test_a_batch_is_for_one_team_and_charged_to_its_pool(s):
    p, tid = people(s)
    s.sql("UPDATE teams SET credits = 500 WHERE id = %d" % tid)
    job = dict(prompt="batch for the team", model="kiln-micro", width=64,
               height=64, steps=2, sampler="euler", seed=9)
    n = one(s, "SELECT COUNT(*) FROM jobs")
    r = api(s, "POST", "/api/v1/jobs/batch", p["member"].key,
            {"jobs": [dict(job, team_id=tid), dict(job)]})
    e = error_of(r, 400, "validation_failed", "mixed batch")
    assert "jobs[1].team_id" in e["fields"], e
    assert one(s, "SELECT COUNT(*) FROM jobs") == n
    r = api(s, "POST", "/api/v1/jobs/batch", p["member"].key,
            {"jobs": [dict(job, team_id=tid), dict(job, team_id=tid)]})
    assert r.status == 202, (r.status, r.text)
    ids = [j["id"] for j in is_json(r)["jobs"]]
    assert len(ids) == 2
    rows = s.sql("SELECT team_id, cost FROM jobs WHERE id IN (%d, %d)" %
                 tuple(ids))
    assert [r[0] for r in rows] == [str(tid)] * 2
    assert int(one(s, "SELECT credits FROM teams WHERE id = %d" % tid)) \
        == 500 - sum(int(r[1]) for r in rows)
    error_of(api(s, "POST", "/api/v1/jobs/batch", p["viewer"].key,
                 {"jobs": [dict(job, team_id=tid)]}), 403, "forbidden",
             "viewer's batch")


def test_members_move_their_own_credits_into_the_pool(s):
    p, tid = people(s)
    s.sql("UPDATE users SET credits = 100 WHERE id = %d" % p["member"].id)
    r = api(s, "POST", "/api/v1/teams/%d/credits" % tid, p["member"].key,
            {"amount": 60})
    assert r.status == 200 and is_json(r)["credits"] == 60, r.text
    assert one(s, "SELECT credits FROM users WHERE id = %d" %
               p["member"].id) == "40"
    # More than one has moves nothing.
    error_of(api(s, "POST", "/api/v1/teams/%d/credits" % tid,
                 p["member"].key, {"amount": 41}), 402,
             "insufficient_credits", "too many")
    error_of(api(s, "POST", "/api/v1/teams/%d/credits" % tid,
                 p["member"].key, {"amount": 0}), 400,
             "validation_failed", "zero")
    error_of(api(s, "POST", "/api/v1/teams/%d/credits" % tid,
                 p["viewer"].key, {"amount": 1}), 403, "forbidden",
             "viewer")
    error_of(api(s, "POST", "/api/v1/teams/%d/credits" % tid,
                 p["other"].key, {"amount": 1}), 404, "not_found",
             "outsider")
    # The page: a redirect with its flash, or the form again with why.
    r = page(s, p["owner"], "POST", "/teams/%d/credits" % tid,
             dict(amount="25"))
    assert r.status == 303 and r.headers["location"] == "/teams/%d" % tid
    assert r.headers.get("set-cookie", "").startswith(
        "kiln_flash=team_credits_added;")
    r = page(s, p["owner"], "POST", "/teams/%d/credits" % tid,
             dict(amount="5000"))
    assert r.status == 422 and "fewer credits than that" in r.text
    assert page(s, p["viewer"], "POST", "/teams/%d/credits" % tid,
                dict(amount="1")).status == 403
    assert one(s, "SELECT credits FROM teams WHERE id = %d" % tid) == "85"
    assert one(s, "SELECT credits FROM users WHERE id = %d" %
               p["owner"].id) == "975"
    assert one(s, "SELECT credits FROM users WHERE id = %d" %
               p["member"].id) == "40"


# -------------------------------------------------------- deleting a team

def test_deleting_a_team_is_for_its_owners_and_keeps_the_jobs(s):
    p, tid = people(s)
    s.sql("UPDATE teams SET credits = 70 WHERE id = %d" % tid)
    jid, data = image_job(s, p["maker"].id, tid)
    # Running on a daemon that does not exist: nobody ends it but us.
    queued = running_job(s, p["member"].id, tid)
    path = "/api/v1/teams/%d" % tid
    # Only an owner may; the team's others are refused, anyone else
    # learns nothing of it.
    want = dict(maker=403, member=403, viewer=403, other=404, moderator=404,
                admin=404, anon=401)
    for role, status in want.items():
        r = call(s, p.get(role), "DELETE", path)
        assert r.status == status, (role, r.status, r.text)
        if status == 403:
            # The refusal says what was refused.
            assert "owners delete it" in r.text, r.text
    for role, status in dict(want, anon=403).items():
        r = page(s, p.get(role), "POST", "/teams/%d/delete" % tid)
        assert r.status == status, (role, r.status)
        if role in ("member", "viewer"):
            assert "owners can delete it" in r.text, r.text[:2000]
    # Not while a job of the team waits: its refund would go to the pool.
    error_of(call(s, p["owner"], "DELETE", path), 409, "conflict",
             "queued or running")
    assert page(s, p["owner"], "POST", "/teams/%d/delete" %
                tid).status == 409
    assert one(s, "SELECT COUNT(*) FROM teams WHERE id = %d" % tid) == "1"
    s.sql("UPDATE jobs SET status = 'canceled' WHERE id = %d" % queued)
    before = int(one(s, "SELECT credits FROM users WHERE id = %d" %
                     p["owner"].id))
    r = call(s, p["owner"], "DELETE", path)
    assert r.status == 204, (r.status, r.text)
    assert one(s, "SELECT COUNT(*) FROM teams WHERE id = %d" % tid) == "0"
    assert one(s, "SELECT COUNT(*) FROM team_members WHERE team_id = %d" %
               tid) == "0"
    # The pool went to the owner who deleted it; the jobs are their
    # makers' own, seen by them only.
    assert int(one(s, "SELECT credits FROM users WHERE id = %d" %
                   p["owner"].id)) == before + 70
    assert s.sql("SELECT id, team_id FROM jobs WHERE id IN (%d, %d)"
                 " ORDER BY id" % (jid, queued)) == [[str(jid), "NULL"],
                                                    [str(queued), "NULL"]]
    r = call(s, p["maker"], "GET", "/api/v1/images/%d-0.png" % jid)
    assert r.status == 200 and r.body == data
    for role in ("owner", "member", "viewer"):
        assert call(s, p[role], "GET", "/api/v1/jobs/%d" %
                    jid).status == 404, role
    assert call(s, p["owner"], "GET", path).status == 404
    assert one(s, "SELECT action FROM audit_log WHERE target_id = %d AND"
               " actor_id = %d ORDER BY id DESC LIMIT 1" %
               (tid, p["owner"].id)) == "team.delete"


def test_the_team_page_deletes_a_team_for_its_owner(s):
    owner, mate = Person(s, "owner"), Person(s, "mate")
    tid = team_of(s, owner, [mate])
    r = page(s, owner, "GET", "/teams/%d" % tid)
    assert 'action="/teams/%d/delete"' % tid in r.text
    assert 'action="/teams/%d/delete"' % tid not in page(
        s, mate, "GET", "/teams/%d" % tid).text
    r = page(s, owner, "POST", "/teams/%d/delete" % tid)
    assert r.status == 303 and r.headers["location"] == "/teams", r.status
    flash = r.headers.get("set-cookie", "").split(";")[0]
    assert flash == "kiln_flash=team_deleted", r.headers
    r = s.request("GET", "/teams", headers={"Cookie": owner.cookie + "; " +
                                            flash})
    assert r.status == 200 and "Team deleted." in r.text
    assert page(s, mate, "GET", "/teams/%d" % tid).status == 404


def test_removal_and_deletion_reach_the_members_webhook_signed(s):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    Receiver.seen = []
    try:
        owner, mate = Person(s, "owner"), Person(s, "mate")
        s.sql("UPDATE users SET webhook_url = 'http://127.0.0.1:%d/hook'"
              " WHERE id = %d" % (srv.server_address[1], mate.id))
        tid = team_of(s, owner, [mate])
        name = one(s, "SELECT name FROM teams WHERE id = %d" % tid)
        assert api(s, "DELETE", "/api/v1/teams/%d/members/%d" % (
            tid, mate.id), owner.key).status == 204
        assert api(s, "POST", "/api/v1/teams/%d/members" % tid, owner.key,
                   {"username": mate.name}).status == 201
        assert api(s, "DELETE", "/api/v1/teams/%d" % tid,
                   owner.key).status == 204
        harness.wait_until(
            lambda: one(s, "SELECT COUNT(*) FROM webhook_deliveries WHERE"
                        " user_id = %d AND status = 'delivered'" % mate.id)
            == "4", timeout=60, step=0.2, what="four deliveries")
        secret = one(s, "SELECT webhook_secret FROM users WHERE id = %d" %
                     mate.id)
        evs = []
        for rec in Receiver.seen:
            assert verify(secret, rec), rec
            evs.append(json.loads(rec["body"]))
        evs.sort(key=lambda e: e["timestamp"])
        assert sorted(e["type"] for e in evs) == sorted([
            "team.member_added", "team.member_removed",
            "team.member_added", "team.deleted"])
        got = {e["type"]: e["data"] for e in evs}
        assert got["team.member_removed"] == {
            "team_id": tid, "team_name": name, "user_id": mate.id,
            "removed_by": owner.id}
        assert got["team.deleted"] == {
            "team_id": tid, "team_name": name, "user_id": mate.id,
            "deleted_by": owner.id}
        # The owner has no webhook: nothing for them.
        assert one(s, "SELECT COUNT(*) FROM webhook_deliveries WHERE"
                   " user_id = %d" % owner.id) == "0"
    finally:
        srv.shutdown()


# ----------------------------------------------------- the team's settings

def test_owners_set_the_name_and_the_teams_quota(s):
    p, tid = people(s)
    s.sql("UPDATE teams SET credits = 500 WHERE id = %d" % tid)
    path = "/api/v1/teams/%d" % tid
    # Owners only; the team's others 403, anyone else 404.
    for role, status in dict(maker=403, member=403, viewer=403, other=404,
                             admin=404, anon=401).items():
        who = p.get(role)
        r = api(s, "PATCH", path, who.key if who else None,
                {"max_queued": 1})
        assert r.status == status, (role, r.status, r.text)
        if status == 403:
            assert "owners change its settings" in r.text, r.text
    for body, field in [({"max_queued": 0}, "max_queued"),
                        ({"max_queued": 100001}, "max_queued"),
                        ({"max_queued": "2"}, "max_queued"),
                        ({"name": ""}, "name"), ({"name": 5}, "name"),
                        ({"credits": 9}, "credits")]:
        r = api(s, "PATCH", path, p["owner"].key, body)
        assert r.status == 400 and field in is_json(r)["error"]["fields"], \
            (body, r.status, r.text)
    assert s.sql("SELECT max_queued, credits FROM teams WHERE id = %d" %
                 tid) == [["NULL", "500"]]
    name = unique("Renamed")
    r = api(s, "PATCH", path, p["owner"].key, {"name": name,
                                               "max_queued": 1})
    assert r.status == 200, r.text
    assert is_json(r)["max_queued"] == 1 and is_json(r)["name"] == name
    # The quota holds for the team's members at submission.
    held = running_job(s, p["owner"].id, tid)
    body = dict(prompt="for the team", model="kiln-micro", width=64,
                height=64, steps=2, sampler="euler", seed=3, team_id=tid)
    error_of(api(s, "POST", "/api/v1/jobs", p["member"].key, body), 429,
             "quota_exceeded", "team max_queued set by the owner")
    s.sql("UPDATE jobs SET status = 'canceled' WHERE id = %d" % held)
    # null lifts it; the name stays when not sent.
    r = api(s, "PATCH", path, p["owner"].key, {"max_queued": None})
    assert r.status == 200 and is_json(r)["max_queued"] is None
    assert is_json(r)["name"] == name
    # The page: the form for owners only, errors beside the fields,
    # blank is no limit.
    assert 'id="team-settings"' in page(s, p["owner"], "GET",
                                        "/teams/%d" % tid).text
    assert 'id="team-settings"' not in page(s, p["member"], "GET",
                                            "/teams/%d" % tid).text
    r = page(s, p["member"], "POST", "/teams/%d/settings" % tid,
             dict(name="x", max_queued="3"))
    assert r.status == 403 and "owners can change its settings" in r.text
    assert page(s, p["other"], "POST", "/teams/%d/settings" % tid,
                dict(name="x", max_queued="3")).status == 404
    r = page(s, p["owner"], "POST", "/teams/%d/settings" % tid,
             dict(name="", max_queued="-4"))
    assert r.status == 422 and r.text.count('class="field-error"') == 2
    r = page(s, p["owner"], "POST", "/teams/%d/settings" % tid,
             dict(name="Studio B", max_queued="3"))
    assert r.status == 303 and r.headers["location"] == "/teams/%d" % tid
    assert s.sql("SELECT name, max_queued FROM teams WHERE id = %d" %
                 tid) == [["Studio B", "3"]]
    r = page(s, p["owner"], "POST", "/teams/%d/settings" % tid,
             dict(name="Studio B", max_queued=""))
    assert r.status == 303
    assert one(s, "SELECT max_queued FROM teams WHERE id = %d" %
               tid) == "NULL"
