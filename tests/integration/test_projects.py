"""Projects (issue 29): collections of jobs and shots, a shot's manifest
versions and the diff of two, shared with a team, over real HTTP against
lighttpd + MariaDB with a running kilnd that renders with the default
model (kiln-micro).

The access matrix is written out cell by cell, as test_teams.py writes
the job matrix: for every project URL (pages and API, reads and writes)
the status each of the project's maker, the team's owner, member and
viewer, another user, an admin and a visitor gets. Admins get what any
other user gets (404): projects, like teams, are their members'."""

import json
import os
import re

from common import (api, browser, error_of, is_json, make_key, new_user,
                    one, post_form, rendered, unique, wait_job)
from test_teams import image_job

STACK = dict(server="lighttpd", daemon_name="projects-1")


class Person:
    def __init__(self, s, prefix, role=None):
        self.id, self.name = new_user(s, prefix, role=role)
        self.cookie, self.csrf = browser(s, self.id)
        self.key = make_key(s, self.id, "read,generate")


def team_of(s, owner, members=(), viewers=()):
    r = api(s, "POST", "/api/v1/teams", owner.key, {"name": unique("team")})
    assert r.status == 201, r.text
    tid = is_json(r)["id"]
    for p, role in [(m, "member") for m in members] + \
            [(v, "viewer") for v in viewers]:
        r = api(s, "POST", "/api/v1/teams/%d/members" % tid, owner.key,
                {"username": p.name, "role": role})
        assert r.status == 201, r.text
    return tid


def people(s):
    """The matrix's people: maker (a member of the team, who makes the
    project), the team's owner, member and viewer, another user, an
    admin; and the team."""
    p = dict(maker=Person(s, "maker"), owner=Person(s, "owner"),
             member=Person(s, "member"), viewer=Person(s, "viewer"),
             other=Person(s, "other"), admin=Person(s, "admin", "admin"))
    tid = team_of(s, p["owner"], [p["maker"], p["member"]], [p["viewer"]])
    return p, tid


def project(s, who, team=None, name=None):
    body = {"name": name or unique("Project"), "description": "d"}
    if team:
        body["team_id"] = team
    r = api(s, "POST", "/api/v1/projects", who.key, body)
    assert r.status == 201, (r.status, r.text)
    return is_json(r)["id"]


def version(s, who, pid, shot, manifest, note=None, want=201):
    body = {"manifest": manifest}
    if note is not None:
        body["note"] = note
    r = api(s, "POST", "/api/v1/projects/%d/shots/%s/versions" % (pid, shot),
            who.key, body)
    assert r.status == want, (r.status, r.text)
    return is_json(r).get("version") if want == 201 else r


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


def call(s, who, method, path, body=None):
    return api(s, method, path, who.key if who is not None else None, body)


# ------------------------------------------------------------- CRUD

def test_a_project_is_made_listed_renamed_and_deleted_keeping_its_jobs(s):
    me = Person(s, "maker")
    pid = project(s, me, name="Spring catalogue")
    got = is_json(call(s, me, "GET", "/api/v1/projects/%d" % pid))
    assert (got["name"], got["description"], got["team_id"],
            got["access"], got["owner"], got["jobs"], got["shots"]) == \
        ("Spring catalogue", "d", None, "manage", me.name, [], [])
    assert [x["id"] for x in is_json(call(s, me, "GET", "/api/v1/projects"))[
        "projects"]] == [pid]
    jid, _ = image_job(s, me.id)
    r = call(s, me, "POST", "/api/v1/projects/%d/jobs" % pid, {"job_id": jid})
    assert r.status == 201 and [j["id"] for j in is_json(r)["jobs"]] == [jid]
    assert is_json(r)["jobs"][0]["images"][0].endswith(
        "/api/v1/images/%d-0.png" % jid)
    # Twice is once.
    r = call(s, me, "POST", "/api/v1/projects/%d/jobs" % pid, {"job_id": jid})
    assert r.status == 200 and len(is_json(r)["jobs"]) == 1
    r = call(s, me, "PATCH", "/api/v1/projects/%d" % pid,
             {"name": "Summer catalogue", "description": "two\nlines"})
    assert r.status == 200, r.text
    assert (is_json(r)["name"], is_json(r)["description"]) == \
        ("Summer catalogue", "two\nlines")
    error_of(call(s, me, "PATCH", "/api/v1/projects/%d" % pid, {"name": ""}),
             400, "validation_failed", "empty name")
    error_of(call(s, me, "POST", "/api/v1/projects", {"name": 3}), 400,
             "validation_failed", "name not text")
    version(s, me, pid, "hero", {"prompt": "a mug"})
    assert call(s, me, "DELETE", "/api/v1/projects/%d" % pid).status == 204
    assert call(s, me, "GET", "/api/v1/projects/%d" % pid).status == 404
    # The job and its image stay; the versions and links went.
    assert one(s, "SELECT deleted_at IS NULL FROM jobs WHERE id = %d" %
               jid) == "1"
    assert call(s, me, "GET", "/api/v1/images/%d-0.png" % jid).status == 200
    assert one(s, "SELECT COUNT(*) FROM project_manifests WHERE"
               " project_id = %d" % pid) == "0"
    assert one(s, "SELECT COUNT(*) FROM project_jobs WHERE project_id = %d"
               % pid) == "0"


def test_a_job_one_cannot_see_is_not_added(s):
    me, other = Person(s, "maker"), Person(s, "other")
    pid = project(s, me)
    theirs, _ = image_job(s, other.id)
    error_of(call(s, me, "POST", "/api/v1/projects/%d/jobs" % pid,
                  {"job_id": theirs}), 404, "not_found", "someone's job")
    error_of(call(s, me, "POST", "/api/v1/projects/%d/jobs" % pid,
                  {"job_id": 10 ** 12}), 404, "not_found", "no job")
    assert page(s, me, "POST", "/projects/%d/jobs" % pid,
                dict(job_id=str(theirs))).status == 404
    assert page(s, me, "POST", "/jobs/%d/project" % theirs,
                dict(project_id=str(pid))).status == 404
    assert one(s, "SELECT COUNT(*) FROM project_jobs WHERE project_id = %d"
               % pid) == "0"


# ------------------------------------------------------- versions, diff

V1 = {"prompt": "a red mug on a table", "seed": 11, "width": 64,
      "height": 64, "steps": 2, "sampler": "euler",
      "camera": {"lens_mm": 50, "angle": "eye level"},
      "lighting": {"setup": "three-point"}, "loras": [{"name": "x",
                                                       "weight": 0.5}]}
V2 = {"prompt": "a red mug on a table", "seed": 12, "width": 64,
      "height": 64, "steps": 2, "sampler": "euler",
      "camera": {"lens_mm": 85, "angle": "eye level"},
      "lighting": {"setup": "rim", "kelvin": 5600}, "loras": []}
# The fields changed from V1 to V2, worked out by hand, in path order.
V1_TO_V2 = [("changed", "$.camera.lens_mm", 50, 85),
            ("added", "$.lighting.kelvin", None, 5600),
            ("changed", "$.lighting.setup", "three-point", "rim"),
            ("removed", "$.loras[0]", {"name": "x", "weight": 0.5}, None),
            ("changed", "$.seed", 11, 12)]


def test_versions_count_up_per_shot_and_keep_what_was_sent(s):
    me = Person(s, "maker")
    pid = project(s, me)
    assert version(s, me, pid, "hero", V1, note="first") == 1
    assert version(s, me, pid, "hero", V2) == 2
    assert version(s, me, pid, "packshot-2", V1) == 1
    r = call(s, me, "GET", "/api/v1/projects/%d/shots/hero/versions" % pid)
    vs = is_json(r)["versions"]
    assert [(v["version"], v["manifest"], v["note"], v["author"])
            for v in vs] == [(1, V1, "first", me.name), (2, V2, "", me.name)]
    shots = is_json(call(s, me, "GET", "/api/v1/projects/%d" % pid))["shots"]
    assert [(x["name"], x["latest_version"], x["versions"]) for x in shots] \
        == [("hero", 2, 2), ("packshot-2", 1, 1)]
    # What is refused: not an object, a bad shot name, too deep, too big.
    for bad in ([1, 2], "x", None):
        error_of(version(s, me, pid, "hero", bad, want=400), 400,
                 "validation_failed", repr(bad))
    deep = {}
    for _ in range(20):     # within the body's limit, over a manifest's
        deep = {"d": deep}
    error_of(version(s, me, pid, "hero", deep, want=400), 400,
             "validation_failed", "deep")
    error_of(version(s, me, pid, "hero", {"p": "x" * 70000}, want=400), 400,
             "validation_failed", "big")
    assert call(s, me, "POST", "/api/v1/projects/%d/shots/Hero/versions" %
                pid, {"manifest": V1}).status == 404
    assert one(s, "SELECT MAX(version) FROM project_manifests WHERE"
               " project_id = %d AND shot = 'hero'" % pid) == "2"


def test_the_diff_names_the_fields_changed_between_two_versions(s):
    me = Person(s, "maker")
    pid = project(s, me)
    version(s, me, pid, "hero", V1)
    version(s, me, pid, "hero", V2)
    r = call(s, me, "GET", "/api/v1/projects/%d/shots/hero/diff?a=1&b=2" %
             pid)
    d = is_json(r)
    assert r.status == 200 and (d["a"], d["b"]) == (1, 2)
    assert [(c["kind"], c["path"], c["before"], c["after"])
            for c in d["changes"]] == V1_TO_V2
    # The other way round mirrors it; a version against itself is empty.
    back = is_json(call(s, me, "GET", "/api/v1/projects/%d/shots/hero/"
                        "diff?a=2&b=1" % pid))["changes"]
    flip = {"added": "removed", "removed": "added", "changed": "changed"}
    assert [(flip[c["kind"]], c["path"], c["after"], c["before"])
            for c in back] == V1_TO_V2
    assert is_json(call(s, me, "GET", "/api/v1/projects/%d/shots/hero/"
                        "diff?a=2&b=2" % pid))["changes"] == []
    error_of(call(s, me, "GET", "/api/v1/projects/%d/shots/hero/diff?a=1&b=3"
                  % pid), 404, "not_found", "no v3")
    error_of(call(s, me, "GET", "/api/v1/projects/%d/shots/hero/diff?a=x&b=1"
                  % pid), 400, "validation_failed", "a not a number")
    # The page: one row per change, path, kind and both values.
    r = page(s, me, "GET", "/projects/%d/shots/hero/diff?a=1&b=2" % pid)
    assert r.status == 200, r.status
    rows = re.findall(r'<tr class="(added|removed|changed)"><td><code>'
                      r'([^<]*)</code>', r.text)
    assert rows == [(k, p.replace('"', "&quot;")) for k, p, _, _ in
                    V1_TO_V2], rows
    assert "three-point" in r.text and "5600" in r.text


def test_the_pages_make_a_project_a_shot_and_versions(s):
    me = Person(s, "maker")
    name = unique("Lookbook")
    r = page(s, me, "POST", "/projects", dict(name=name, description="x"))
    assert r.status == 303, (r.status, r.text[:400])
    pid = int(one(s, "SELECT id FROM projects WHERE name = '%s'" % name))
    assert r.headers["location"] == "/projects/%d" % pid
    assert name in page(s, me, "GET", "/projects").text
    r = page(s, me, "POST", "/projects", dict(name=""))
    assert r.status == 422 and 'class="field-error"' in r.text
    r = page(s, me, "POST", "/projects/%d/shots" % pid,
             dict(shot="hero", manifest=json.dumps(V1), note="n1"))
    assert r.status == 303 and r.headers["location"] == \
        "/projects/%d/shots/hero" % pid
    # Bad JSON is refused beside the field, with why, and kept.
    r = page(s, me, "POST", "/projects/%d/shots/hero/versions" % pid,
             dict(manifest="{'a': 1}"))
    assert r.status == 422 and "not valid JSON" in r.text, r.text[-2000:]
    assert "{&#39;a&#39;: 1}" in r.text or "{'a': 1}" in r.text
    r = page(s, me, "POST", "/projects/%d/shots/hero/versions" % pid,
             dict(manifest=json.dumps(V2), note="tele"))
    assert r.status == 303
    r = page(s, me, "GET", "/projects/%d/shots/hero" % pid)
    assert r.status == 200
    assert re.findall(r'<article class="version" id="v(\d+)"', r.text) == \
        ["2", "1"]
    assert "tele" in r.text and "n1" in r.text
    r = page(s, me, "GET", "/projects/%d" % pid)
    assert r.status == 200 and "/projects/%d/shots/hero" % pid in r.text
    r = page(s, me, "POST", "/projects/%d/rename" % pid,
             dict(name="Renamed", description=""))
    assert r.status == 303
    assert one(s, "SELECT name FROM projects WHERE id = %d" % pid) == \
        "Renamed"
    r = page(s, me, "POST", "/projects/%d/delete" % pid)
    assert r.status == 303 and r.headers["location"] == "/projects"
    assert one(s, "SELECT COUNT(*) FROM projects WHERE id = %d" % pid) == "0"


# --------------------------------------------------------- the matrix

# Reads: the maker, the team's owner, member and viewer; others 404; a
# visitor is sent to sign in (pages) or gets 401 (API).
READ = dict(maker=200, owner=200, member=200, viewer=200, other=404,
            admin=404)
# Writes (jobs, versions, renames): the viewer is refused with 403.
WRITE = dict(READ, viewer=403)
# Managing (delete, share): the maker and the team's owners.
MANAGE = dict(WRITE, member=403)
ROLES = ["maker", "owner", "member", "viewer", "other", "admin", "anon"]


def test_the_access_matrix_over_every_project_url(s):
    p, tid = people(s)
    pid = project(s, p["maker"], team=tid)
    version(s, p["maker"], pid, "hero", V1)
    version(s, p["maker"], pid, "hero", V2)
    jid, _ = image_job(s, p["maker"].id, tid)
    assert call(s, p["maker"], "POST", "/api/v1/projects/%d/jobs" % pid,
                {"job_id": jid}).status == 201
    base = "/api/v1/projects/%d" % pid
    reads = [
        ("page", "GET", "/projects/%d" % pid),
        ("page", "GET", "/projects/%d/shots/hero" % pid),
        ("page", "GET", "/projects/%d/shots/hero/diff?a=1&b=2" % pid),
        ("api", "GET", base),
        ("api", "GET", base + "/shots/hero/versions"),
        ("api", "GET", base + "/shots/hero/diff?a=1&b=2"),
    ]
    for kind, method, path in reads:
        for role in ROLES:
            who = p.get(role)
            r = (page if kind == "page" else call)(s, who, method, path)
            want = READ.get(role, 303 if kind == "page" else 401)
            assert r.status == want, "%s %s as %s: want %d, got %d" % (
                method, path, role, want, r.status)
            if r.status == 303:
                assert r.headers["location"].startswith("/login")
    # The list: the team's people see it, others do not.
    for role in ("maker", "owner", "member", "viewer", "other", "admin"):
        ids = [x["id"] for x in is_json(call(s, p[role], "GET",
                                             "/api/v1/projects"))["projects"]]
        assert (pid in ids) == (READ[role] == 200), (role, ids)
        assert (("/projects/%d\"" % pid) in page(s, p[role], "GET",
                                                 "/projects").text) == \
            (READ[role] == 200), role
    # Writes, each checked by what it left in the database.
    other_job, _ = image_job(s, p["member"].id, tid)
    for role in ROLES:
        who = p.get(role)
        n = int(one(s, "SELECT COUNT(*) FROM project_manifests WHERE"
                    " project_id = %d" % pid))
        r = call(s, who, "POST", base + "/shots/hero/versions",
                 {"manifest": {"prompt": role}})
        want = WRITE.get(role, 401)
        assert r.status == (201 if want == 200 else want), (role, r.status)
        r = page(s, who, "POST", "/projects/%d/shots/hero/versions" % pid,
                 dict(manifest=json.dumps({"prompt": role})))
        pw = WRITE.get(role, 403)
        assert r.status == (303 if pw == 200 else pw), (role, r.status)
        added = int(one(s, "SELECT COUNT(*) FROM project_manifests WHERE"
                        " project_id = %d" % pid)) - n
        assert added == (2 if want == 200 else 0), (role, added)
        # Jobs in and out, API and page.
        r = call(s, who, "POST", base + "/jobs", {"job_id": other_job})
        assert r.status == (201 if want == 200 else want), (role, r.status)
        r = call(s, who, "DELETE", base + "/jobs/%d" % other_job)
        assert r.status == (204 if want == 200 else want), (role, r.status)
        r = page(s, who, "POST", "/projects/%d/jobs" % pid,
                 dict(job_id=str(other_job)))
        assert r.status == (303 if pw == 200 else pw), (role, r.status)
        r = page(s, who, "POST", "/projects/%d/jobs/%d/remove" %
                 (pid, other_job))
        assert r.status == (303 if pw == 200 else pw), (role, r.status)
        # Renaming.
        r = call(s, who, "PATCH", base, {"description": role})
        assert r.status == want, (role, r.status)
        before = one(s, "SELECT description FROM projects WHERE id = %d"
                     % pid)
        r = page(s, who, "POST", "/projects/%d/rename" % pid,
                 dict(name="P", description=role + "!"))
        assert r.status == (303 if pw == 200 else pw), (role, r.status)
        assert one(s, "SELECT description FROM projects WHERE id = %d" %
                   pid) == (role + "!" if pw == 200 else before), role
        # Sharing: managers only (the same team again changes nothing).
        r = call(s, who, "PATCH", base, {"team_id": tid})
        assert r.status == MANAGE.get(role, 401), (role, r.status)
        r = page(s, who, "POST", "/projects/%d/share" % pid,
                 dict(team_id=str(tid)))
        mw = MANAGE.get(role, 403)
        assert r.status == (303 if mw == 200 else mw), (role, r.status)
        # Rendering: a writer's render is a job (refused for credits
        # here: the team's pool is empty; checked in its own test).
        r = call(s, who, "POST", base + "/shots/hero/versions/1/render")
        assert r.status == (402 if want == 200 else want), (role, r.status,
                                                             r.text)
    assert one(s, "SELECT team_id FROM projects WHERE id = %d" % pid) == \
        str(tid)
    # Deleting: managers only; the others leave it in place.
    for role in ("member", "viewer", "other", "admin", "anon"):
        assert call(s, p.get(role), "DELETE", base).status == \
            MANAGE.get(role, 401), role
        assert page(s, p.get(role), "POST", "/projects/%d/delete" %
                    pid).status == MANAGE.get(role, 403), role
    assert call(s, p["owner"], "DELETE", base).status == 204
    assert one(s, "SELECT COUNT(*) FROM projects WHERE id = %d" % pid) == "0"


def test_a_personal_project_is_its_makers_alone(s):
    p, tid = people(s)
    pid = project(s, p["maker"])
    for role in ("owner", "member", "viewer", "other", "admin"):
        assert call(s, p[role], "GET", "/api/v1/projects/%d" %
                    pid).status == 404, role
        assert page(s, p[role], "GET", "/projects/%d" % pid).status == 404
    # Shared with the team, the team sees it; with a team one only
    # views, or is not in, it cannot be.
    error_of(call(s, p["viewer"], "POST", "/api/v1/projects",
                  {"name": "x", "team_id": tid}), 403, "forbidden",
             "viewer shares")
    error_of(call(s, p["other"], "POST", "/api/v1/projects",
                  {"name": "x", "team_id": tid}), 404, "not_found",
             "outsider shares")
    r = call(s, p["maker"], "PATCH", "/api/v1/projects/%d" % pid,
             {"team_id": tid})
    assert r.status == 200 and is_json(r)["team_id"] == tid
    assert call(s, p["viewer"], "GET", "/api/v1/projects/%d" %
                pid).status == 200
    # Leaving the team: the project stays the team's; the maker's own
    # jobs stay theirs.
    jid, png = image_job(s, p["maker"].id)
    call(s, p["maker"], "POST", "/api/v1/projects/%d/jobs" % pid,
         {"job_id": jid})
    assert call(s, p["maker"], "DELETE", "/api/v1/teams/%d/members/%d" %
                (tid, p["maker"].id)).status == 204
    assert call(s, p["maker"], "GET", "/api/v1/projects/%d" %
                pid).status == 404
    r = call(s, p["maker"], "GET", "/api/v1/images/%d-0.png" % jid)
    assert r.status == 200 and r.body == png
    # The team sees the project, and only the jobs it may see: the
    # maker's personal job is counted, not shown.
    got = is_json(call(s, p["member"], "GET", "/api/v1/projects/%d" % pid))
    assert (got["jobs"], got["hidden_jobs"]) == ([], 1)
    # Unshared by the team's owner, it is its maker's alone again.
    r = call(s, p["owner"], "PATCH", "/api/v1/projects/%d" % pid,
             {"team_id": None})
    assert r.status == 204, (r.status, r.text)
    assert call(s, p["maker"], "GET", "/api/v1/projects/%d" %
                pid).status == 200
    assert call(s, p["owner"], "GET", "/api/v1/projects/%d" %
                pid).status == 404


# ------------------------------------------------- renders by the daemon

def test_renders_fill_the_grid_and_stand_side_by_side_in_the_diff(s):
    me = Person(s, "maker")
    pid = project(s, me)
    version(s, me, pid, "hero", dict(V1, model="kiln-micro"))
    version(s, me, pid, "hero", dict(V2, model="kiln-micro"))
    jobs = []
    for v in (1, 2):
        r = call(s, me, "POST", "/api/v1/projects/%d/shots/hero/versions/%d/"
                 "render" % (pid, v))
        assert r.status == 202, (r.status, r.text)
        j = is_json(r)
        assert (j["prompt"], j["seed"], j["width"], j["steps"]) == \
            (V1["prompt"], (V1, V2)[v - 1]["seed"], 64, 2)
        jobs.append(j["id"])
    for jid in jobs:
        j = wait_job(s, me.key, jid, ("succeeded", "failed"), timeout=240)
        assert j["status"] == "succeeded", j
    got = is_json(call(s, me, "GET", "/api/v1/projects/%d" % pid))
    assert sorted(j["id"] for j in got["jobs"]) == sorted(jobs)
    assert got["shots"][0]["job_id"] == jobs[1]
    d = is_json(call(s, me, "GET", "/api/v1/projects/%d/shots/hero/diff?"
                     "a=1&b=2" % pid))
    assert [v["job_id"] for v in d["versions"]] == jobs
    for v, jid in zip(d["versions"], jobs):
        assert v["images"][0].endswith("/api/v1/images/%d-0.png" % jid)
        r = call(s, me, "GET", "/api/v1/images/%d-0.png" % jid)
        assert r.status == 200 and r.body[:8] == b"\x89PNG\r\n\x1a\n"
    # Two seeds, two pictures.
    a, b = (call(s, me, "GET", "/api/v1/images/%d-0.png" % j).body
            for j in jobs)
    assert a != b
    # The page shows both renders side by side, and the grid both jobs.
    r = page(s, me, "GET", "/projects/%d/shots/hero/diff?a=1&b=2" % pid)
    side = r.text[r.text.index('id="renders"'):]
    assert re.findall(r'src="/api/v1/images/(\d+)-0\.png"', side) == \
        [str(j) for j in jobs]
    r = page(s, me, "GET", "/projects/%d" % pid)
    grid = r.text[r.text.index('id="project-jobs"'):]
    assert sorted(int(x) for x in re.findall(
        r'src="/api/v1/images/(\d+)-0\.thumb\.png"', grid)) == sorted(jobs)
    # The page's button renders too: a redirect to the new job, which
    # becomes the version's render.
    r = page(s, me, "POST", "/projects/%d/shots/hero/versions/1/render" %
             pid)
    assert r.status == 303, (r.status, r.text[:500])
    again = int(r.headers["location"].rsplit("/", 1)[1])
    assert one(s, "SELECT job_id FROM project_manifests WHERE project_id ="
               " %d AND shot = 'hero' AND version = 1" % pid) == str(again)
    assert one(s, "SELECT seed FROM jobs WHERE id = %d" % again) == \
        str(V1["seed"])
    wait_job(s, me.key, again, ("succeeded", "failed"), timeout=240)


def test_a_team_projects_render_is_the_teams_and_a_bad_version_says_why(s):
    p, tid = people(s)
    s.sql("UPDATE teams SET credits = 500 WHERE id = %d" % tid)
    pid = project(s, p["maker"], team=tid)
    version(s, p["maker"], pid, "hero", dict(V1, model="kiln-micro"))
    version(s, p["maker"], pid, "hero", {"subject": "a mug",
                                         "camera": {"lens_mm": 5}})
    version(s, p["maker"], pid, "hero", dict(V1, steps=100000))
    r = call(s, p["member"], "POST", "/api/v1/projects/%d/shots/hero/"
             "versions/1/render" % pid)
    assert r.status == 202, r.text
    jid = is_json(r)["id"]
    assert one(s, "SELECT team_id FROM jobs WHERE id = %d" % jid) == str(tid)
    assert int(one(s, "SELECT credits FROM teams WHERE id = %d" % tid)) < 500
    # The viewer sees it in the project, as a team job.
    got = is_json(call(s, p["viewer"], "GET", "/api/v1/projects/%d" % pid))
    assert [j["id"] for j in got["jobs"]] == [jid]
    # A scene manifest's problem names its JSON path.
    e = error_of(call(s, p["member"], "POST", "/api/v1/projects/%d/shots/"
                      "hero/versions/2/render" % pid), 422,
                 "validation_failed", "lens out of range")
    assert e["fields"]["manifest"].startswith("$.camera.lens_mm"), e
    r = call(s, p["member"], "POST", "/api/v1/projects/%d/shots/hero/"
             "versions/3/render" % pid)
    assert r.status == 422 and "steps" in is_json(r)["error"]["fields"], \
        r.text
    # The page says why beside the versions.
    r = page(s, p["member"], "POST", "/projects/%d/shots/hero/versions/2/"
             "render" % pid)
    assert r.status == 422 and 'id="render-error"' in r.text
    assert "$.camera.lens_mm" in r.text
    wait_job(s, p["member"].key, jid, ("succeeded", "failed"), timeout=240)


def test_a_scene_manifest_version_renders_compiled_and_kept(s):
    me = Person(s, "maker")
    pid = project(s, me)
    scene = {"subject": "a wooden chair", "model": "kiln-micro",
             "output": {"width": 64, "height": 64}, "seed": 21}
    version(s, me, pid, "chair", scene)
    version(s, me, pid, "chair", dict(scene, seed=22))
    r = call(s, me, "POST", "/api/v1/projects/%d/shots/chair/versions/1/"
             "render" % pid)
    assert r.status == 202, (r.status, r.text)
    j = is_json(r)
    # Compiled by the scene translator: the subject is in the prompt, the
    # manifest's seed and size are the job's, and the job keeps it.
    assert "a wooden chair" in j["prompt"], j["prompt"]
    assert (j["seed"], j["width"], j["height"], j["model"]) == \
        (21, 64, 64, "kiln-micro")
    assert j["manifest"] == scene, j["manifest"]
    j = wait_job(s, me.key, j["id"], ("succeeded", "failed"), timeout=240)
    assert j["status"] == "succeeded", j
    d = is_json(call(s, me, "GET", "/api/v1/projects/%d/shots/chair/diff?"
                     "a=1&b=2" % pid))
    assert [(c["kind"], c["path"], c["before"], c["after"])
            for c in d["changes"]] == [("changed", "$.seed", 21, 22)]
    assert d["versions"][0]["job_id"] == j["id"]
    assert d["versions"][1]["job_id"] is None


def test_the_job_page_adds_its_job_to_a_project(s):
    me = Person(s, "maker")
    pid = project(s, me, name="Picks")
    jid, _ = image_job(s, me.id)
    r = page(s, me, "GET", "/jobs/%d" % jid)
    assert 'id="add-to-project"' in r.text and "Picks" in r.text
    r = page(s, me, "POST", "/jobs/%d/project" % jid,
             dict(project_id=str(pid)))
    assert r.status == 303 and r.headers["location"] == "/projects/%d" % pid
    assert one(s, "SELECT COUNT(*) FROM project_jobs WHERE project_id = %d"
               " AND job_id = %d" % (pid, jid)) == "1"


def test_deleting_the_maker_leaves_the_team_its_project_and_versions(s):
    adm = Person(s, "admin", "admin")
    maker, mate, viewer = (Person(s, "maker"), Person(s, "mate"),
                           Person(s, "viewer"))
    # The maker owns the team alone; a mate (member) and a viewer are in
    # it. A second team has nobody but the maker.
    tid = team_of(s, maker, [mate], [viewer])
    lone = team_of(s, maker)
    pid = project(s, maker, tid)
    version(s, mate, pid, "hero", {"subject": "a mug"})
    version(s, maker, pid, "hero", {"subject": "a blue mug"})
    jid, _ = image_job(s, maker.id, tid)
    s.sql("UPDATE project_manifests SET job_id = %d WHERE project_id = %d"
          " AND version = 2" % (jid, pid))
    mine = project(s, maker)
    r = post_form(s, adm.cookie, "/admin/users/%d/delete" % maker.id,
                  dict(csrf=adm.csrf, confirm=maker.name))
    assert r.status == 303, (r.status, r.text[:300])
    assert one(s, "SELECT COUNT(*) FROM users WHERE id = %d" %
               maker.id) == "0"
    # The team goes on with its member (not its viewer) as owner; the
    # team nobody else was in is gone.
    assert s.sql("SELECT user_id, role FROM team_members WHERE team_id = %d"
                 " ORDER BY user_id" % tid) == [
        [str(mate.id), "owner"], [str(viewer.id), "viewer"]]
    assert one(s, "SELECT COUNT(*) FROM teams WHERE id = %d" % lone) == "0"
    # The team's project is the new owner's, with both versions; the one
    # the maker's job rendered has lost only its job. The maker's own
    # project went with them.
    assert one(s, "SELECT user_id FROM projects WHERE id = %d" %
               pid) == str(mate.id)
    assert s.sql("SELECT version, job_id, author_id IS NULL FROM"
                 " project_manifests WHERE project_id = %d ORDER BY version"
                 % pid) == [["1", "NULL", "0"], ["2", "NULL", "1"]]
    assert one(s, "SELECT COUNT(*) FROM projects WHERE id = %d" %
               mine) == "0"
    r = call(s, mate, "GET", "/api/v1/projects/%d" % pid)
    assert r.status == 200, r.text
    assert call(s, viewer, "GET", "/api/v1/projects/%d" % pid).status == 200


# Two versions of a shot as job fields kiln-micro draws, differing in a
# field of each kind.
SHOT_A = {"prompt": "two small green triangles on a white background",
          "negative_prompt": "blurry", "model": "kiln-micro", "width": 64,
          "height": 64, "steps": 12, "seed": 31}
SHOT_B = {"prompt": "three purple stars on a black background",
          "model": "kiln-micro", "width": 64, "height": 64, "steps": 20,
          "cfg_scale": 5, "seed": 31}
A_TO_B = [("added", "$.cfg_scale", None, 5),
          ("removed", "$.negative_prompt", "blurry", None),
          ("changed", "$.prompt", SHOT_A["prompt"], SHOT_B["prompt"]),
          ("changed", "$.steps", 12, 20)]


def test_readme_shot_of_a_diff_with_both_renders(s):
    # README's picture of the diff page: the changed fields and the two
    # versions' renders (the daemon's, kiln-micro) side by side, at 1366 px
    # in headless Chromium; saved as readme-project-diff.png in the
    # screenshot folder, from where it is copied into docs/.
    import cdp
    from test_browser import (FLAGS, MEASURE, SHOTS, element_screenshot,
                              poll_page, set_language, set_view,
                              sign_in_cookie)
    os.makedirs(SHOTS, exist_ok=True)
    me = Person(s, "maker")
    pid = project(s, me, name="Spring lookbook")
    version(s, me, pid, "hero", SHOT_A, note="first try")
    version(s, me, pid, "hero", SHOT_B, note="stars instead")
    jobs = []
    for v in (1, 2):
        r = call(s, me, "POST", "/api/v1/projects/%d/shots/hero/versions/%d/"
                 "render" % (pid, v))
        assert r.status == 202, (r.status, r.text)
        jobs.append(is_json(r)["id"])
    for jid in jobs:
        j = wait_job(s, me.key, jid, ("succeeded", "failed"), timeout=240)
        assert j["status"] == "succeeded", j
    with cdp.Browser(FLAGS) as b:
        set_view(b, 1366, 900, "light")
        set_language(b, "en")
        sign_in_cookie(b, s, me.id)
        b.navigate("http://127.0.0.1:%d/projects/%d/shots/hero/diff?a=1&b=2"
                   % (s.port, pid))
        rows = b.evaluate(
            "Array.from(document.querySelectorAll('#changes tbody tr'))"
            ".map(function (r) { return [r.className].concat(Array.from("
            "r.cells).map(function (c) { return c.textContent; })); })")
        assert [(k, p, json.loads(x) if x else None, json.loads(y) if y
                 else None) for k, p, _, x, y in rows] == A_TO_B, rows
        # Both renders are the versions' jobs' images, loaded.
        poll_page(b, "Array.from(document.querySelectorAll('#renders img'))"
                     ".filter(function (i) { return i.complete &&"
                     " i.naturalWidth > 0; }).length", lambda n: n == 2, 30,
                  "both renders loaded")
        imgs = b.evaluate(
            "Array.from(document.querySelectorAll('#renders img')).map("
            "function (i) { return [i.getAttribute('src'), i.naturalWidth,"
            " i.naturalHeight]; })")
        assert imgs == [["/api/v1/images/%d-0.png" % j, 64, 64]
                        for j in jobs], imgs
        measured = b.evaluate(MEASURE)
        assert measured["scrollWidth"] <= 1366 and not measured["wide"]
        element_screenshot(b, os.path.join(SHOTS, "readme-project-diff.png"),
                           "section.shot-diff", pad=8)
        assert b.problems() == [], b.problems()
