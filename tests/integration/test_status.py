"""The public status page (/status, /api/v1/status, /status/feed.atom)
and the incidents administrators post on /admin/incidents, over real
HTTP against lighttpd + MariaDB with a running kilnd.

The figures are checked against values computed here from the rows this
test inserted: jobs of a model name of its own, with queue waits and
render times chosen here, so no other job counts. Percentiles follow
the rule of PERCENTILE_CONT, linear interpolation between the two
nearest ranks at position p * (n - 1), which is Python's
statistics.quantiles(data, n=100, method="inclusive"); the page and the
JSON round to milliseconds, so they must agree within 0.0015 s."""

import datetime
import json
import re
import statistics
import xml.etree.ElementTree as ET

from common import browser, is_json, job_row, new_user, one, post_form, unique

STACK = dict(server="lighttpd", daemon_name="status-daemon-1")

ATOM = "{http://www.w3.org/2005/Atom}"
TOL = 0.0015


def quantile(data, p):
    """PERCENTILE_CONT(p) of data: statistics.quantiles' inclusive
    method (p in hundredths; 0.5 is the median)."""
    if len(data) == 1:
        return float(data[0])
    return statistics.quantiles(data, n=100, method="inclusive")[
        round(p * 100) - 1]


def status_json(s):
    r = s.get("/api/v1/status")
    assert r.status == 200, (r.status, r.text[:400])
    return is_json(r)


def get(s, path, cookie=None):
    return s.request("GET", path, headers={"Cookie": cookie} if cookie
                     else {})


def db_now(s):
    return datetime.datetime.strptime(one(s, "SELECT NOW(3)"),
                                      "%Y-%m-%d %H:%M:%S.%f")


def ts(t):
    return "SQL:'%s'" % t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def timed_job(s, uid, model, now, ago, wait, render, status="succeeded"):
    """A job of model that finished ago seconds before now, after
    waiting wait seconds and rendering render seconds."""
    fin = now - datetime.timedelta(seconds=ago)
    start = fin - datetime.timedelta(seconds=render)
    created = start - datetime.timedelta(seconds=wait)
    return job_row(s, uid, status, "status figures", model=model,
                   created_at=ts(created), started_at=ts(start),
                   finished_at=ts(fin))


def model_of(doc, name):
    for m in doc["models"]:
        if m["model"] == name:
            return m
    raise AssertionError("model %s not in %r" % (name, doc["models"]))


def check_span(got, waits, renders, where):
    assert got["jobs"] == len(waits), (where, got)
    for key, data in (("queue_wait_s", waits), ("render_s", renders)):
        for p, name in ((0.5, "p50"), (0.95, "p95")):
            want = quantile(data, p)
            assert abs(got[key][name] - want) < TOL, (
                where, key, name, got[key][name], want, data)


# ------------------------------------------------------------ figures

def test_percentiles_match_the_jobs_table(s):
    uid, _ = new_user(s, "figs")
    model = unique("status-model")
    now = db_now(s)
    # Within the last hour: seven jobs; then five more within the day;
    # one finished two days ago, one failed and one canceled today: not
    # counted.
    hour = [(60, 0.5, 2.25), (300, 1.75, 3.5), (900, 0.125, 1.0),
            (1500, 12.0, 2.75), (2000, 3.5, 9.125), (2500, 0.25, 2.0),
            (3000, 7.0, 4.5)]
    day = [(4000, 30.0, 5.0), (9000, 2.0, 1.5), (20000, 45.5, 6.25),
           (40000, 0.75, 2.5), (80000, 15.0, 3.0)]
    for ago, w, r in hour + day:
        timed_job(s, uid, model, now, ago, w, r)
    timed_job(s, uid, model, now, 2 * 86400, 500.0, 500.0)
    timed_job(s, uid, model, now, 100, 600.0, 600.0, status="failed")
    timed_job(s, uid, model, now, 100, 700.0, 700.0, status="canceled")

    doc = status_json(s)
    m = model_of(doc, model)
    check_span(m["hour"], [w for _, w, _ in hour], [r for _, _, r in hour],
               "hour")
    check_span(m["day"], [w for _, w, _ in hour + day],
               [r for _, _, r in hour + day], "day")

    # The page shows the same numbers, row by row.
    page = get(s, "/status")
    assert page.status == 200, page.status
    for span, rows in (("hour", hour), ("day", hour + day)):
        tr = re.search(r'<tr data-model="%s" data-span="%s">(.*?)</tr>' %
                       (re.escape(model), span), page.text, re.S)
        assert tr, (span, page.text[:3000])
        cells = dict(re.findall(r'<td class="(\w+)">([^<]*)</td>',
                                tr.group(1)))
        assert int(cells["n"]) == len(rows), cells
        for cls, data, p in (("w50", [w for _, w, _ in rows], 0.5),
                             ("w95", [w for _, w, _ in rows], 0.95),
                             ("r50", [r for _, _, r in rows], 0.5),
                             ("r95", [r for _, _, r in rows], 0.95)):
            shown = float(cells[cls].split()[0])
            assert abs(shown - quantile(data, p)) < TOL, (span, cls, shown)


def test_history_marks_days_of_many_failures(s):
    uid, _ = new_user(s, "hist")
    model = unique("status-fail")
    now = db_now(s)
    # Two days ago (at noon, so the day is that date whatever the hour
    # now): 6 of 10 failed, an outage; three days ago 1 of 8, degraded;
    # four days ago all succeeded.
    noon = now.replace(hour=12, minute=0, second=0, microsecond=0)
    for days, failed, total in ((2, 6, 10), (3, 1, 8), (4, 0, 5)):
        for i in range(total):
            t = noon - datetime.timedelta(days=days)
            ago = (now - t).total_seconds()
            timed_job(s, uid, model, now, ago, 1.0, 1.0,
                      status="failed" if i < failed else "succeeded")
    doc = status_json(s)
    comp = [c for c in doc["components"] if c["name"] == model]
    assert len(comp) == 1, [c["name"] for c in doc["components"]]
    hist = comp[0]["history"]
    assert len(hist) == 90
    today = now.date()
    assert hist[-1]["date"] == today.isoformat(), hist[-1]
    by_date = {h["date"]: h["state"] for h in hist}
    want = {2: "outage", 3: "degraded", 4: "operational",
            5: "operational"}
    for days, state in want.items():
        d = (today - datetime.timedelta(days=days)).isoformat()
        assert by_date[d] == state, (d, by_date[d], state)
    names = [c["name"] for c in doc["components"]]
    assert names[:2] == ["web", "queue"], names


def test_daemons_are_a_count_without_names_or_hosts(s):
    name = unique("secret-daemon")
    host = unique("gpu-host-secret") + ".internal"
    s.sql("INSERT INTO daemons (name, host, devices, state, heartbeat_at)"
          " VALUES ('%s', '%s', '[]', 'idle', NOW(3))" % (name, host))
    s.sql("INSERT INTO daemons (name, host, devices, state, heartbeat_at)"
          " VALUES ('%s-off', '%s', '[]', 'stopped', NOW(3))" %
          (name, host))
    try:
        # kilnd's heartbeat is 1 s: online is a heartbeat within 3 s.
        want = int(one(s, "SELECT COUNT(*) FROM daemons WHERE state <>"
                          " 'stopped' AND heartbeat_at > NOW(3) -"
                          " INTERVAL 3 SECOND"))
        doc = status_json(s)
        assert doc["daemons"] == {"online": want}, (doc["daemons"], want)
        assert want >= 2  # the stack's kilnd and the row above
        page = get(s, "/status")
        assert "Render daemons online: %d" % want in page.text
        real = s.sql("SELECT name, host FROM daemons")
        for r in (s.get("/api/v1/status"), page, get(s, "/status/feed.atom")):
            for dn, dh in real:
                for secret in (dn, dh):
                    if len(secret) >= 6:
                        assert secret not in r.text, (secret, r.text[:500])
    finally:
        s.sql("DELETE FROM daemons WHERE name LIKE '%s%%'" % name)


# ------------------------------------------------------------ incidents

def admin(s):
    aid, _ = new_user(s, "adm", role="admin")
    return aid, browser(s, aid)


def open_incident(s, who, **fields):
    cookie, csrf = who
    r = post_form(s, cookie, "/admin/incidents", dict(csrf=csrf, **fields))
    return r


def find(doc, kind, iid):
    for i in doc["incidents"][kind]:
        if i["id"] == iid:
            return i
    return None


def test_incident_lifecycle(s):
    aid, who = admin(s)
    title = 'Renders <slow> & "stuck" \'here\' %s' % unique("t")
    msg = "We are looking into <b>slow</b> renders & more."
    r = open_incident(s, who, title=title, components="web, queue",
                      severity="major", message=msg)
    assert r.status == 303, (r.status, r.text[:600])
    assert r.headers["location"] == "/admin/incidents"
    iid = int(one(s, "SELECT id FROM incidents WHERE title = '%s'" %
                  title.replace("'", "''")))
    assert s.sql("SELECT severity, status, components, resolved_at IS NULL"
                 " FROM incidents WHERE id = %d" % iid) == [
        ["major", "investigating", "web, queue", "1"]]

    # The JSON: current, with its first update, and the state.
    doc = status_json(s)
    inc = find(doc, "current", iid)
    assert inc is not None, doc["incidents"]
    assert inc["title"] == title and inc["severity"] == "major"
    assert inc["components"] == ["web", "queue"]
    assert [u["status"] for u in inc["updates"]] == ["investigating"]
    assert inc["updates"][0]["message"] == msg
    assert inc["resolved_at"] is None
    assert doc["state"] in ("degraded", "outage"), doc["state"]
    comps = {c["name"]: c for c in doc["components"]}
    assert comps["web"]["state"] != "operational"
    assert comps["web"]["history"][-1]["state"] != "operational"

    # The page, escaped, among the current incidents.
    page = get(s, "/status").text
    cur = page.split('id="incidents-current"')[1].split("<h2>")[0]
    esc = title.replace("&", "&amp;").replace("<", "&lt;").replace(
        ">", "&gt;").replace('"', "&quot;")
    assert 'id="incident-%d"' % iid in cur
    assert "<slow>" not in page and "<b>slow" not in page
    assert esc in cur or esc.replace("'", "&#39;") in cur, cur[:2000]

    # The banner on the home page, for a visitor and a signed-in user.
    uid, _ = new_user(s, "reader")
    ucookie, _ = browser(s, uid)
    for cookie in (None, ucookie):
        home = get(s, "/", cookie)
        assert home.status == 200
        m = re.search(r'<p class="notice incident-banner[^"]*"[^>]*'
                      r'id="incident-banner"><a href="/status">(.*?)</a>',
                      home.text, re.S)
        assert m, home.text[:3000]
        assert "<slow>" not in m.group(1)
        assert "&lt;slow&gt;" in m.group(1), m.group(1)

    # The Atom feed.
    feed_resp = get(s, "/status/feed.atom")
    assert feed_resp.status == 200
    assert feed_resp.headers["content-type"].startswith(
        "application/atom+xml")
    assert "&lt;slow&gt; &amp;" in feed_resp.text
    root = ET.fromstring(feed_resp.body)
    assert root.tag == ATOM + "feed"
    for tag in ("id", "title", "updated"):
        assert (root.find(ATOM + tag).text or "").strip(), tag
    entries = root.findall(ATOM + "entry")
    assert entries
    for e in entries:
        for tag in ("id", "title", "updated", "content"):
            assert e.find(ATOM + tag) is not None, (tag, ET.tostring(e))
        datetime.datetime.strptime(e.find(ATOM + "updated").text,
                                   "%Y-%m-%dT%H:%M:%SZ")
    mine = [e for e in entries
            if e.find(ATOM + "id").text.endswith("#incident-%d" % iid)]
    assert len(mine) == 1
    assert mine[0].find(ATOM + "title").text == title
    assert msg in mine[0].find(ATOM + "content").text

    # An update, then the resolution.
    cookie, csrf = who
    r = post_form(s, cookie, "/admin/incidents/%d/update" % iid,
                  dict(csrf=csrf, status="identified",
                       message="A slow disk."))
    assert r.status == 303, (r.status, r.text[:600])
    inc = find(status_json(s), "current", iid)
    assert inc["status"] == "identified"
    assert [u["status"] for u in inc["updates"]] == ["investigating",
                                                     "identified"]
    r = post_form(s, cookie, "/admin/incidents/%d/update" % iid,
                  dict(csrf=csrf, status="resolved", message="Fixed."))
    assert r.status == 303, (r.status, r.text[:600])
    doc = status_json(s)
    assert find(doc, "current", iid) is None
    inc = find(doc, "past", iid)
    assert inc is not None and inc["resolved_at"], doc["incidents"]
    assert [u["status"] for u in inc["updates"]] == [
        "investigating", "identified", "resolved"]
    page = get(s, "/status").text
    past = page.split('id="incidents-past"')[1]
    cur = page.split('id="incidents-current"')[1].split("<h2>")[0]
    assert 'id="incident-%d"' % iid in past
    assert 'id="incident-%d"' % iid not in cur
    if one(s, "SELECT COUNT(*) FROM incidents WHERE resolved_at IS NULL")\
            == "0":
        assert 'id="incident-banner"' not in get(s, "/").text
    # A resolved incident takes no more updates.
    r = post_form(s, cookie, "/admin/incidents/%d/update" % iid,
                  dict(csrf=csrf, status="monitoring", message="again"))
    assert r.status == 409, r.status

    # Audited: who did what to which incident.
    rows = s.sql("SELECT action, actor_id FROM audit_log WHERE target ="
                 " 'incident %d' ORDER BY id" % iid)
    assert rows == [["incident_open", str(aid)],
                    ["incident_update", str(aid)],
                    ["incident_resolve", str(aid)]], rows


def test_a_critical_incident_is_an_outage(s):
    _, who = admin(s)
    title = unique("Everything is down")
    r = open_incident(s, who, title=title, components="web",
                      severity="critical", message="Down.")
    assert r.status == 303, r.status
    iid = int(one(s, "SELECT id FROM incidents WHERE title = '%s'" % title))
    minor = unique("A small thing")
    assert open_incident(s, who, title=minor, components="queue",
                         severity="minor", message="m").status == 303
    mid = int(one(s, "SELECT id FROM incidents WHERE title = '%s'" % minor))
    try:
        # The banner names the most severe one and counts the rest.
        n = int(one(s, "SELECT COUNT(*) FROM incidents"
                       " WHERE resolved_at IS NULL"))
        banner = re.search(r'id="incident-banner"><a href="/status">'
                           r'(.*?)</a>', get(s, "/").text, re.S).group(1)
        assert title in banner and minor not in banner, banner
        assert "(and %d more)" % (n - 1) in banner, banner
        doc = status_json(s)
        assert doc["state"] == "outage", doc["state"]
        web = [c for c in doc["components"] if c["name"] == "web"][0]
        assert web["state"] == "outage"
        assert 'data-state="outage"' in get(s, "/status").text
    finally:
        cookie, csrf = who
        for i in (iid, mid):
            post_form(s, cookie, "/admin/incidents/%d/update" % i,
                      dict(csrf=csrf, status="resolved", message="Up."))


def test_bad_incident_forms_are_refused(s):
    _, who = admin(s)
    before = one(s, "SELECT COUNT(*) FROM incidents")
    for fields in (dict(title="x", components="web; DROP", severity="minor",
                        message="m"),
                   dict(title="x", components="web", severity="huge",
                        message="m"),
                   dict(title="", components="web", severity="minor",
                        message="m"),
                   dict(title="x", components="web", severity="minor",
                        message="")):
        r = open_incident(s, who, **fields)
        assert r.status == 422, (fields, r.status)
    assert one(s, "SELECT COUNT(*) FROM incidents") == before
    cookie, csrf = who
    r = post_form(s, cookie, "/admin/incidents/999999999/update",
                  dict(csrf=csrf, status="resolved", message="x"))
    assert r.status == 404, r.status


def test_non_admins_get_the_admin_pages_refusal(s):
    uid, _ = new_user(s, "plain")
    mod, _ = new_user(s, "mod", role="moderator")
    for who in (uid, mod):
        cookie, csrf = browser(s, who)
        ref = get(s, "/admin/users", cookie)
        r = get(s, "/admin/incidents", cookie)
        assert (r.status, ref.status) == (403, 403), (r.status, ref.status)
        before = one(s, "SELECT COUNT(*) FROM incidents")
        r = post_form(s, cookie, "/admin/incidents",
                      dict(csrf=csrf, title="x", components="web",
                           severity="minor", message="m"))
        ref = post_form(s, cookie, "/admin/invites", dict(csrf=csrf))
        assert r.status == ref.status == 403, (r.status, ref.status)
        assert one(s, "SELECT COUNT(*) FROM incidents") == before
    # A visitor is sent to log in, as from any admin page.
    r, ref = get(s, "/admin/incidents"), get(s, "/admin/users")
    assert r.status == ref.status, (r.status, ref.status)
    assert r.headers.get("location", "").replace(
        "incidents", "X") == ref.headers.get("location", "").replace(
        "users", "X"), (r.headers, ref.headers)


def test_status_json_shape(s):
    doc = status_json(s)
    assert doc["state"] in ("operational", "degraded", "outage",
                            "maintenance")
    assert set(doc) >= {"state", "updated_at", "daemons", "queue",
                        "models", "components", "incidents",
                        "maintenance"}, sorted(doc)
    assert isinstance(doc["maintenance"], list)
    for c in doc["components"]:
        assert len(c["history"]) == 90
    # Exactly what /status shows: the page names the JSON.
    assert 'href="/api/v1/status"' in get(s, "/status").text
    json.dumps(doc)


# ------------------------------------------------------------ maintenance

def schedule(s, who, start, minutes, mode, title=None):
    """Schedules a window starting at start (a datetime, UTC): its id."""
    cookie, csrf = who
    title = title or unique("Database upgrade")
    r = post_form(s, cookie, "/admin/maintenance",
                  dict(csrf=csrf, title=title, message="Upgrading <it>.",
                       starts_at=start.strftime("%Y-%m-%d %H:%M"),
                       minutes=str(minutes), mode=mode))
    assert r.status == 303, (r.status, r.text[:600])
    return int(one(s, "SELECT id FROM maintenance_windows WHERE title ="
                      " '%s'" % title))


def cancel_window(s, who, wid):
    cookie, csrf = who
    return post_form(s, cookie, "/admin/maintenance/%d/cancel" % wid,
                     dict(csrf=csrf))


def key_of(s):
    from common import user_with_key
    return user_with_key(s, "read,generate", "mw")[1]


def test_a_refusing_window_answers_503_with_retry_after(s):
    aid, who = admin(s)
    key = key_of(s)
    # Started at the current minute, so it is on now, for 5 minutes.
    start = db_now(s).replace(second=0, microsecond=0)
    wid = schedule(s, who, start, 5, "refuse")
    try:
        before = one(s, "SELECT COUNT(*) FROM jobs")
        from common import api
        r = api(s, "POST", "/api/v1/jobs", key, {"prompt": "a red dot",
                                                  "steps": 2})
        assert r.status == 503, (r.status, r.text[:400])
        assert is_json(r)["error"]["code"] == "maintenance"
        left = (start + datetime.timedelta(minutes=5) -
                db_now(s)).total_seconds()
        assert abs(int(r.headers["retry-after"]) - left) <= 3, (
            r.headers.get("retry-after"), left)
        assert one(s, "SELECT COUNT(*) FROM jobs") == before
        doc = status_json(s)
        assert doc["state"] == "maintenance", doc["state"]
        mw = [m for m in doc["maintenance"] if m["id"] == wid]
        assert mw and mw[0]["active"] is True and mw[0]["mode"] == "refuse"
        home = get(s, "/").text
        assert 'id="maintenance-banner"' in home
        assert "Maintenance in progress:" in home
        assert "<it>" not in get(s, "/status").text
    finally:
        assert cancel_window(s, who, wid).status == 303
    # Over: submissions are taken again, and the state is not maintenance.
    from common import submit
    submit(s, key, {"prompt": "a red dot", "steps": 2})
    assert status_json(s)["state"] != "maintenance"
    assert cancel_window(s, who, wid).status == 404
    rows = s.sql("SELECT action, actor_id FROM audit_log WHERE target ="
                 " 'maintenance %d' ORDER BY id" % wid)
    assert rows == [["maintenance_schedule", str(aid)],
                    ["maintenance_cancel", str(aid)]], rows


def test_a_holding_window_queues_jobs_and_loses_none(s):
    _, who = admin(s)
    key = key_of(s)
    from common import submit, wait_job
    start = db_now(s).replace(second=0, microsecond=0)
    wid = schedule(s, who, start, 5, "hold")
    try:
        ids = [submit(s, key, {"prompt": "a green dot", "steps": 2,
                               "seed": k})["id"] for k in range(2)]
        # kilnd polls several times a second: held, nothing is claimed.
        import time
        time.sleep(3)
        assert s.sql("SELECT status, attempt FROM jobs WHERE id IN (%s)"
                     % ",".join(map(str, ids))) == [["queued", "0"]] * 2
    finally:
        assert cancel_window(s, who, wid).status == 303
    for jid in ids:
        j = wait_job(s, key, jid, ("succeeded", "failed", "canceled"),
                     timeout=120)
        assert j["status"] == "succeeded", j


def test_a_window_is_announced_a_day_ahead(s):
    _, who = admin(s)
    start = db_now(s) + datetime.timedelta(hours=2)
    far = db_now(s) + datetime.timedelta(days=3)
    wid = schedule(s, who, start, 30, "refuse")
    wfar = schedule(s, who, far, 30, "hold")
    try:
        home = get(s, "/").text
        m = re.search(r'id="maintenance-banner"><a href="/status">(.*?)</a>',
                      home, re.S)
        assert m and "Scheduled maintenance:" in m.group(1), home[:2000]
        doc = status_json(s)
        ids = [w["id"] for w in doc["maintenance"]]
        assert wid in ids and wfar in ids, ids
        assert ids.index(wid) < ids.index(wfar)
        assert doc["state"] != "maintenance"
        page = get(s, "/status").text
        assert 'id="maintenance-%d"' % wid in page
    finally:
        cancel_window(s, who, wid)
        cancel_window(s, who, wfar)
    assert 'id="maintenance-banner"' not in get(s, "/").text


def test_bad_windows_and_non_admins_are_refused(s):
    _, who = admin(s)
    cookie, csrf = who
    before = one(s, "SELECT COUNT(*) FROM maintenance_windows")
    for start, minutes, mode in (("2026-02-30 10:00", "10", "refuse"),
                                 ("tomorrow", "10", "refuse"),
                                 ("2030-01-01 10:00", "0", "refuse"),
                                 ("2030-01-01 10:00", "10", "later")):
        r = post_form(s, cookie, "/admin/maintenance",
                      dict(csrf=csrf, title="x", starts_at=start,
                           minutes=minutes, mode=mode))
        assert r.status == 422, (start, minutes, mode, r.status)
    uid, _ = new_user(s, "plain")
    ucookie, ucsrf = browser(s, uid)
    assert get(s, "/admin/maintenance", ucookie).status == 403
    r = post_form(s, ucookie, "/admin/maintenance",
                  dict(csrf=ucsrf, title="x", starts_at="2030-01-01 10:00",
                       minutes="10", mode="refuse"))
    assert r.status == 403
    assert one(s, "SELECT COUNT(*) FROM maintenance_windows") == before
