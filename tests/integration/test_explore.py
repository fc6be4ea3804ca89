"""The public gallery (/explore) and its moderation, over real HTTP
against lighttpd + MariaDB with a running kilnd (which delivers the
webhooks).

Each test makes its own users, sessions, jobs and images: job and image
rows in SQL, the PNG files written here into the artifacts directory, so
what the public image URL answers is compared with bytes this test
wrote. Search expectations are computed here from the prompts the test
chose; signatures are checked with the Standard Webhooks rule computed
here from the secret in the database."""

import base64
import http.server
import json
import os
import re
import struct
import threading
import urllib.parse
import zlib

import harness
from common import (WebhookReceiver, browser, job_dir, job_row, new_user,
                    one, post_form, token, unique)
from common import webhook_verify as verify

# The webhook receiver listens on loopback, which kilnd refuses unless
# the operator allows it.
STACK = dict(server="lighttpd", daemon_name="explore-1",
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


def image_job(s, uid, prompt, n=1, negative=""):
    """A succeeded job of uid with n images (seed 1000 + idx), their
    files written: (job id, [png bytes])."""
    jid = job_row(s, uid, "succeeded", prompt, negative_prompt=negative,
                  steps=7, cfg_scale=5.5, sampler="euler", seed=1000)
    d = job_dir(s, jid)
    os.makedirs(d, exist_ok=True)
    out = []
    for i in range(n):
        data = png(40 + 8 * i, 24, ((30 * i) % 256, 120, 200))
        with open(os.path.join(d, "%d.png" % i), "wb") as f:
            f.write(data)
        s.sql("INSERT INTO job_images (job_id, idx, seed, path, width,"
              " height) VALUES (%d, %d, %d, 'jobs/%d/%d.png', %d, 24)" %
              (jid, i, 1000 + i, jid, i, 40 + 8 * i))
        out.append(data)
    return jid, out


def get(s, path, cookie=None):
    return s.request("GET", path, headers={"Cookie": cookie} if cookie
                     else {})


def publish(s, who, jid, idx=0, **opts):
    cookie, csrf = who
    return post_form(s, cookie, "/jobs/%d/images/%d/publish" % (jid, idx),
                     dict(csrf=csrf, **opts))


def published(s, who, jid, idx=0, **opts):
    """Publishes and checks it worked: the published image's id."""
    r = publish(s, who, jid, idx, **opts)
    assert r.status == 303, (r.status, r.text[:300])
    assert r.headers["location"] == "/jobs/%d#image-%d" % (jid, idx)
    return int(one(s, "SELECT id FROM published_images WHERE job_id = %d"
                      " AND idx = %d" % (jid, idx)))


def owner(s, prefix="owner"):
    """A fresh user and a signed-in browser of it: (id, (cookie, csrf))."""
    uid, _ = new_user(s, prefix)
    return uid, browser(s, uid)


def listed(s, pid, q=None, cookie=None):
    """Whether /explore (searched for q) links published image pid."""
    path = "/explore" + ("?q=" + urllib.parse.quote(q) if q else "")
    r = get(s, path, cookie)
    assert r.status == 200, (path, r.status, r.text[:300])
    return 'href="/explore/%d"' % pid in r.text


def act(s, who, pid, action):
    cookie, csrf = who
    return post_form(s, cookie, "/admin/reports/%d/%s" % (pid, action),
                     {"csrf": csrf})


def report(s, who, pid, reason="spam", detail=""):
    cookie, csrf = who
    return post_form(s, cookie, "/explore/%d/report" % pid,
                     {"csrf": csrf, "reason": reason, "detail": detail})


# ------------------------------------------------------------ publishing

def test_only_the_owner_publishes_others_get_404(s):
    uid, me = owner(s)
    _, other = owner(s, "other")
    jid, _ = image_job(s, uid, "a quiet harbour")
    r = publish(s, other, jid)
    assert r.status == 404, r.status
    assert one(s, "SELECT COUNT(*) FROM published_images WHERE job_id = %d"
               % jid) == "0"
    pid = published(s, me, jid)
    assert s.sql("SELECT user_id, show_prompt, anonymous, published_at IS"
                 " NOT NULL FROM published_images WHERE id = %d" % pid) == \
        [[str(uid), "1", "0", "1"]]
    # A missing image and a job not succeeded are 404 too.
    assert publish(s, me, jid, 5).status == 404
    failed = job_row(s, uid, "failed", "x")
    assert publish(s, me, failed).status == 404


def test_only_the_owner_unpublishes_others_get_404(s):
    uid, me = owner(s)
    _, other = owner(s, "other")
    jid, _ = image_job(s, uid, "an old mill")
    pid = published(s, me, jid)
    cookie, csrf = other
    r = post_form(s, cookie, "/jobs/%d/images/0/unpublish" % jid,
                  {"csrf": csrf})
    assert r.status == 404, r.status
    assert listed(s, pid)
    cookie, csrf = me
    r = post_form(s, cookie, "/jobs/%d/images/0/unpublish" % jid,
                  {"csrf": csrf})
    assert r.status == 303, (r.status, r.text[:300])
    assert one(s, "SELECT published_at IS NULL FROM published_images"
               " WHERE id = %d" % pid) == "1"
    assert not listed(s, pid)
    assert get(s, "/explore/%d" % pid).status == 404


def test_the_job_page_offers_publishing_then_links_the_image(s):
    uid, me = owner(s)
    jid, _ = image_job(s, uid, "a red kite")
    page = get(s, "/jobs/%d" % jid, me[0]).text
    assert 'action="/jobs/%d/images/0/publish"' % jid in page
    pid = published(s, me, jid)
    page = get(s, "/jobs/%d" % jid, me[0]).text
    assert 'href="/explore/%d"' % pid in page
    assert 'action="/jobs/%d/images/0/unpublish"' % jid in page


# -------------------------------------------------------------- browsing

def test_a_visitor_sees_published_images_not_unpublished_ones(s):
    uid, me = owner(s)
    tag = unique("vis")
    jid, files = image_job(s, uid, "lanterns %s" % tag, n=2)
    pid = published(s, me, jid, 0)
    r = get(s, "/explore")
    assert r.status == 200 and 'href="/explore/%d"' % pid in r.text
    assert "/api/v1/explore/%d.thumb.png" % pid in r.text
    # Image 1 was never published: nowhere, not even by guessing.
    assert one(s, "SELECT COUNT(*) FROM published_images WHERE job_id = %d"
               " AND idx = 1" % jid) == "0"
    assert "lanterns %s" % tag in get(s, "/explore/%d" % pid).text
    img = get(s, "/api/v1/explore/%d.png" % pid)
    assert img.status == 200 and img.body == files[0]
    assert img.headers["content-type"] == "image/png"
    # Asked again on every use: hiding ends it at once.
    assert img.headers["cache-control"] == "public, no-cache"
    assert get(s, "/api/v1/explore/%d.png" % (pid + 1000000)).status == 404
    # The owner's private image URL stays the owner's.
    assert get(s, "/api/v1/images/%d-1.png" % jid).status in (401, 303)


def test_the_detail_names_the_author_or_anonymous(s):
    uid, name = new_user(s, "named")
    me = browser(s, uid)
    jid, _ = image_job(s, uid, "two herons", n=2, negative="blurry")
    pid = published(s, me, jid, 0)
    anon = published(s, me, jid, 1, anonymous="1")
    page = get(s, "/explore/%d" % pid).text
    m = re.search(r'id="explore-author">([^<]*)<', page)
    assert m and m.group(1) == name, m
    for want in ("two herons", "blurry", "kiln-micro", "40&times;24",
                 "1000", "euler", "/generate?remix=%d" % pid):
        assert want in page, want
    page = get(s, "/explore/%d" % anon).text
    m = re.search(r'id="explore-author">([^<]*)<', page)
    assert m and m.group(1) == "anonymous", m
    assert name not in page


def test_a_prompt_published_without_it_is_neither_shown_nor_searched(s):
    uid, me = owner(s)
    tag = unique("secret")
    jid, _ = image_job(s, uid, "private words %s" % tag)
    pid = published(s, me, jid, hide_prompt="1")
    assert listed(s, pid)
    assert tag not in get(s, "/explore/%d" % pid).text
    assert tag not in get(s, "/explore").text
    assert not listed(s, pid, q=tag)


def test_pages_go_back_in_time_by_the_older_link(s):
    uid, me = owner(s)
    tag = unique("page")
    jid, _ = image_job(s, uid, "pages %s" % tag, n=26)
    ids = [published(s, me, jid, i) for i in range(26)]
    r = get(s, "/explore?q=" + tag)
    shown = [int(x) for x in re.findall(r'href="/explore/(\d+)"', r.text)]
    assert shown == ids[::-1][:24], shown
    m = re.search(r'href="/explore\?before=(\d+)&amp;q=[^"]*" rel="next"',
                  r.text)
    assert m and int(m.group(1)) == ids[2], m
    r = get(s, "/explore?before=%s&q=%s" % (m.group(1), tag))
    shown = [int(x) for x in re.findall(r'href="/explore/(\d+)"', r.text)]
    assert shown == [ids[1], ids[0]], shown
    assert get(s, "/explore?before=x").status == 400


# ---------------------------------------------------------------- search

def test_search_finds_images_by_the_words_of_their_prompts(s):
    uid, me = owner(s)
    tag = unique("w")
    prompts = ["red fox in snow %s" % tag, "blue fox at dusk %s" % tag,
               "red barn %s" % tag]
    pids = []
    for p in prompts:
        jid, _ = image_job(s, uid, p)
        pids.append(published(s, me, jid))
    # Every word must be in the prompt, in any order, any case.
    for q, want in (("fox " + tag, {0, 1}), ("RED " + tag, {0, 2}),
                    (tag + " red fox", {0}), ("dusk " + tag, {1}),
                    ("owl " + tag, set())):
        got = {i for i, pid in enumerate(pids) if listed(s, pid, q=q)}
        assert got == want, (q, got, want)


def test_search_takes_percent_and_underscore_literally(s):
    uid, me = owner(s)
    tag = unique("esc")
    prompts = ["cotton 100%% %s" % tag, "cotton 1000 %s" % tag,
               "a_b %s" % tag, "axb %s" % tag, "back\\slash %s" % tag]
    pids = []
    for p in prompts:
        jid, _ = image_job(s, uid, p)
        pids.append(published(s, me, jid))
    # Unescaped, "100%" would match "1000" and "a_b" would match "axb".
    for q, want in (("100% " + tag, {0}), ("a_b " + tag, {2}),
                    ("% " + tag, {0}), ("_ " + tag, {2}),
                    ("k\\s " + tag, {4})):
        got = {i for i, pid in enumerate(pids) if listed(s, pid, q=q)}
        assert got == want, (q, got, want)


# ------------------------------------------------------------- reporting

def test_a_visitor_cannot_report_and_is_sent_to_log_in(s):
    uid, me = owner(s)
    jid, _ = image_job(s, uid, "a windmill")
    pid = published(s, me, jid)
    pre = token()
    r = s.request("POST", "/explore/%d/report" % pid,
                  body=urllib.parse.urlencode({"csrf": pre,
                                               "reason": "spam"}),
                  headers={"Cookie": "kiln_csrf=" + pre, "Content-Type":
                           "application/x-www-form-urlencoded"})
    assert r.status == 303 and r.headers["location"].startswith("/login"), \
        (r.status, r.headers)
    assert one(s, "SELECT COUNT(*) FROM image_reports WHERE published_id"
               " = %d" % pid) == "0"
    # The page asks a visitor to sign in instead of showing the form.
    page = get(s, "/explore/%d" % pid).text
    assert 'action="/explore/%d/report"' % pid not in page
    assert "/login?next=/explore/%d" % pid in page


def test_a_signed_in_user_reports_once_while_it_is_open(s):
    uid, me = owner(s)
    rid, rep = owner(s, "reporter")
    jid, _ = image_job(s, uid, "a lighthouse")
    pid = published(s, me, jid)
    r = report(s, rep, pid, "violence", "too much")
    assert r.status == 303 and r.headers["location"] == "/explore/%d" % pid
    assert s.sql("SELECT reporter_id, reason, detail, status FROM"
                 " image_reports WHERE published_id = %d" % pid) == \
        [[str(rid), "violence", "too much", "open"]]
    r = report(s, rep, pid, "spam")
    assert r.status == 409, r.status
    assert one(s, "SELECT COUNT(*) FROM image_reports WHERE published_id"
               " = %d" % pid) == "1"
    assert "You reported this image" in get(s, "/explore/%d" % pid,
                                              rep[0]).text
    # A reason outside the list, and an unpublished image, are refused.
    _, rep2 = owner(s, "reporter")
    assert report(s, rep2, pid, "boring").status == 422
    assert report(s, rep2, pid + 1000000).status == 404


def test_reports_are_rate_limited_per_user(s):
    uid, me = owner(s)
    _, rep = owner(s, "busy")
    jid, _ = image_job(s, uid, "many", n=12)
    codes = [report(s, rep, published(s, me, jid, i)).status
             for i in range(12)]
    # A burst of 10, then a refusal (2 a minute refill).
    assert codes[:10] == [303] * 10 and 429 in codes[10:], codes


# ------------------------------------------------------------ moderation

def test_roles_reach_the_report_queue_as_the_admin_pages_do(s):
    mid, _ = new_user(s, "mod", role="moderator")
    aid, _ = new_user(s, "adm", role="admin")
    uid, _ = new_user(s, "plain")
    mod, adm, usr = browser(s, mid), browser(s, aid), browser(s, uid)
    assert get(s, "/admin/reports", mod[0]).status == 200
    assert get(s, "/admin/reports", adm[0]).status == 200
    # Moderators are no admins; users neither, answered as the admin
    # pages answer them (403).
    assert get(s, "/admin/users", mod[0]).status == 403
    assert get(s, "/admin/users", usr[0]).status == 403
    assert get(s, "/admin/reports", usr[0]).status == 403
    r = get(s, "/admin/reports")
    assert r.status == 303 and r.headers["location"].startswith("/login")
    # The menu shows the queue to those who may use it.
    assert 'href="/admin/reports"' in get(s, "/explore", mod[0]).text
    assert 'href="/admin/reports"' not in get(s, "/explore", usr[0]).text
    # An admin can make a moderator through the role form.
    r = post_form(s, adm[0], "/admin/users/%d/role" % uid,
                  {"csrf": adm[1], "role": "moderator", "tier": "default"})
    assert r.status == 303, (r.status, r.text[:300])
    assert one(s, "SELECT role FROM users WHERE id = %d" % uid) == \
        "moderator"


def hidden_everywhere(s, pid, jid, tag, who):
    """Whether the image is gone from every public place: (detail,
    image, thumbnail, list, search, remix) each True when gone."""
    return (get(s, "/explore/%d" % pid).status == 404,
            get(s, "/api/v1/explore/%d.png" % pid).status == 404,
            get(s, "/api/v1/explore/%d.thumb.png" % pid).status == 404,
            not listed(s, pid),
            not listed(s, pid, q=tag),
            get(s, "/generate?remix=%d" % pid, who[0]).status == 404)


def test_hiding_removes_the_image_everywhere_and_restoring_returns_it(s):
    uid, me = owner(s)
    mid, mname = new_user(s, "mod", role="moderator")
    mod = browser(s, mid)
    _, other = owner(s, "viewer")
    tag = unique("hide")
    jid, _ = image_job(s, uid, "a ghost ship %s" % tag)
    pid = published(s, me, jid)
    report(s, other, pid, "hate", "rude words")
    page = get(s, "/admin/reports", mod[0]).text
    assert 'id="report-%d"' % pid in page and "rude words" in page
    # The reason as the report form words it, not the ENUM's "hate".
    assert "Hate or harassment" in page
    # The moderator sees the reported image through its own URL.
    assert get(s, "/api/v1/moderation/images/%d.png" % pid,
               mod[0]).status == 200
    assert get(s, "/api/v1/moderation/images/%d.png" % pid,
               other[0]).status == 403
    assert hidden_everywhere(s, pid, jid, tag, other) == (False,) * 6
    r = act(s, mod, pid, "hide")
    assert r.status == 303 and r.headers["location"] == "/admin/reports"
    assert hidden_everywhere(s, pid, jid, tag, other) == (True,) * 6
    assert s.sql("SELECT status, resolved_by FROM image_reports WHERE"
                 " published_id = %d" % pid) == [["actioned", str(mid)]]
    # Unpublishing and publishing again does not undo it.
    cookie, csrf = me
    post_form(s, cookie, "/jobs/%d/images/0/unpublish" % jid,
              {"csrf": csrf})
    assert publish(s, me, jid).status == 409
    assert "Hidden from Explore" in get(s, "/jobs/%d" % jid, me[0]).text
    r = act(s, mod, pid, "restore")
    assert r.status == 303
    published(s, me, jid)
    assert hidden_everywhere(s, pid, jid, tag, other) == (False,) * 6
    rows = s.sql("SELECT actor_id, actor, action, target_id, target FROM"
                 " audit_log WHERE action IN ('image_hide',"
                 " 'image_restore') AND target = 'image %d' ORDER BY id" %
                 pid)
    assert rows == [[str(mid), mname, "image_hide", str(uid),
                     "image %d" % pid],
                    [str(mid), mname, "image_restore", str(uid),
                     "image %d" % pid]], rows


def test_dismissing_closes_the_reports_and_keeps_the_image(s):
    uid, me = owner(s)
    mid, _ = new_user(s, "mod", role="moderator")
    mod = browser(s, mid)
    _, rep = owner(s, "rep")
    jid, _ = image_job(s, uid, "a fine bridge")
    pid = published(s, me, jid)
    report(s, rep, pid, "other")
    assert act(s, mod, pid, "dismiss").status == 303
    assert one(s, "SELECT status FROM image_reports WHERE published_id"
               " = %d" % pid) == "dismissed"
    assert listed(s, pid)
    assert 'id="report-%d"' % pid not in get(s, "/admin/reports",
                                             mod[0]).text
    assert act(s, mod, pid, "dismiss").status == 409
    assert one(s, "SELECT COUNT(*) FROM audit_log WHERE action ="
               " 'report_dismiss' AND actor_id = %d AND target_id = %d" %
               (mid, uid)) == "1"
    # Closed, the same user may report it again.
    assert report(s, rep, pid, "spam").status == 303


def test_a_ban_disables_the_author_and_hides_the_image(s):
    uid, me = owner(s)
    mid, _ = new_user(s, "mod", role="moderator")
    mod = browser(s, mid)
    _, rep = owner(s, "rep")
    tag = unique("ban")
    jid, _ = image_job(s, uid, "spam spam %s" % tag, n=2)
    pid = published(s, me, jid, 0)
    other = published(s, me, jid, 1)
    report(s, rep, pid, "spam")
    assert act(s, mod, pid, "ban").status == 303
    assert one(s, "SELECT disabled FROM users WHERE id = %d" % uid) == "1"
    # Signed out everywhere: the session is gone.
    assert get(s, "/jobs", me[0]).status == 303
    assert hidden_everywhere(s, pid, jid, tag, rep) == (True,) * 6
    # The banned author's other images leave Explore too.
    assert not listed(s, other)
    assert one(s, "SELECT COUNT(*) FROM audit_log WHERE action ="
               " 'user_ban' AND actor_id = %d AND target_id = %d" %
               (mid, uid)) == "1"


def test_moderators_cannot_ban_moderators_or_admins(s):
    mid, _ = new_user(s, "mod", role="moderator")
    aid, _ = new_user(s, "adm", role="admin")
    mod, adm = browser(s, mid), browser(s, aid)
    _, rep = owner(s, "rep")
    for role in ("moderator", "admin"):
        author, _ = new_user(s, "author", role=role)
        jid, _ = image_job(s, author, "by a %s" % role)
        pid = published(s, browser(s, author), jid)
        report(s, rep, pid)
        assert act(s, mod, pid, "ban").status == 403, role
        assert one(s, "SELECT disabled FROM users WHERE id = %d" %
                   author) == "0"
        # An admin bans a moderator from the queue, never an admin.
        want = 303 if role == "moderator" else 403
        assert act(s, adm, pid, "ban").status == want, role
        assert one(s, "SELECT disabled FROM users WHERE id = %d" %
                   author) == ("1" if role == "moderator" else "0")


# ----------------------------------------------------------------- remix

def test_remix_fills_the_form_from_a_published_image(s):
    uid, me = owner(s)
    _, other = owner(s, "remixer")
    jid, _ = image_job(s, uid, "a copper kettle", n=2, negative="dull")
    pid = published(s, me, jid, 1)
    r = get(s, "/generate?remix=%d" % pid, other[0])
    assert r.status == 200, r.status
    assert re.search(r'name="prompt"[^>]*>a copper kettle</textarea>',
                     r.text), r.text[:2000]
    # The image's own seed, not the job's.
    assert re.search(r'name="seed"[^>]*value="1001"', r.text)
    assert 'value="dull"' in r.text or ">dull<" in r.text
    # A visitor is sent to log in first.
    r = get(s, "/generate?remix=%d" % pid)
    assert r.status == 303 and r.headers["location"].startswith("/login")


def test_remix_is_404_unless_published_and_shown(s):
    uid, me = owner(s)
    _, other = owner(s, "remixer")
    jid, _ = image_job(s, uid, "hidden words", n=2)
    secret = published(s, me, jid, 0, hide_prompt="1")
    r = get(s, "/generate?remix=%d" % secret, other[0])
    assert r.status == 200 and "hidden words" not in r.text
    assert re.search(r'name="seed"[^>]*value="1000"', r.text)
    pid = published(s, me, jid, 1)
    cookie, csrf = me
    post_form(s, cookie, "/jobs/%d/images/1/unpublish" % jid,
              {"csrf": csrf})
    assert get(s, "/generate?remix=%d" % pid, other[0]).status == 404
    assert get(s, "/generate?remix=%d" % (pid + 1000000),
               other[0]).status == 404


# -------------------------------------------------------------- webhooks

class Receiver(WebhookReceiver):
    seen = []


def test_publishing_and_reports_reach_the_owners_webhook_signed(s):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    Receiver.seen = []
    try:
        uid, me = owner(s, "hooked")
        rid, rname = new_user(s, "tattler")
        s.sql("UPDATE users SET webhook_url = 'http://127.0.0.1:%d/hook'"
              " WHERE id = %d" % (srv.server_address[1], uid))
        jid, _ = image_job(s, uid, "a signed picture")
        pid = published(s, me, jid)
        report(s, browser(s, rid), pid, "copyright")
        harness.wait_until(
            lambda: one(s, "SELECT COUNT(*) FROM webhook_deliveries WHERE"
                        " job_id = %d AND status = 'delivered'" % jid)
            == "2", timeout=60, step=0.2, what="two image deliveries")
        assert s.sql("SELECT event FROM webhook_deliveries WHERE job_id ="
                     " %d ORDER BY id" % jid) == [["image.published"],
                                                  ["image.reported"]]
        secret = one(s, "SELECT webhook_secret FROM users WHERE id = %d" %
                     uid)
        assert len(Receiver.seen) == 2
        for rec in Receiver.seen:
            assert verify(secret, rec), rec
            assert not verify("whsec_" + base64.b64encode(b"x" * 24)
                              .decode(), rec)
        ev = [json.loads(r["body"]) for r in Receiver.seen]
        assert ev[0]["type"] == "image.published"
        assert ev[0]["data"]["id"] == pid and \
            ev[0]["data"]["job_id"] == jid and ev[0]["data"]["index"] == 0
        assert ev[0]["data"]["url"] == "%s/explore/%d" % (s.base, pid)
        assert ev[0]["data"]["image_url"] == \
            "%s/api/v1/explore/%d.png" % (s.base, pid)
        assert ev[1]["type"] == "image.reported"
        assert ev[1]["data"]["reason"] == "copyright"
        assert ev[1]["data"]["open_reports"] == 1
        # The owner is not told who reported.
        assert rname not in Receiver.seen[1]["body"].decode()
        # Changing the choices on a published image sends nothing new.
        published(s, me, jid, anonymous="1")
        assert one(s, "SELECT COUNT(*) FROM webhook_deliveries WHERE"
                   " job_id = %d" % jid) == "2"
    finally:
        srv.shutdown()
