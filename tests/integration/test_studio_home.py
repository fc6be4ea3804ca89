"""The front page (issue 25, "Home"), over real HTTP against lighttpd +
MariaDB with no daemon running, so queued jobs stay queued. Signed in: a
Generate button, the user's own recent images only, their queued and
running jobs with the place in the queue that the job page and the API
give, their credits, one-click example prompts. A visitor: what kiln is,
log in / register, and nothing about the fleet (no daemon host, device or
count). Jobs, images and daemons are SQL rows here: the page lists rows,
it renders nothing."""

import html
import os
import re
import signal
import urllib.parse

from common import (api, browser, check_security_headers, is_json,
                    job_row, make_key, new_user, one)
from harness import ROOT, run, wait_until

STACK = dict(server="lighttpd", daemon=False)


def page(s, cookie, path="/"):
    r = s.get(path, headers={"Cookie": cookie} if cookie else {})
    check_security_headers(r, path)
    return r


def home(s, cookie=None):
    r = page(s, cookie)
    assert r.status == 200, r.text[:800]
    return r.text


def visible_words(text):
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S)
    return html.unescape(re.sub(r"<[^>]*>", " ", text))


def with_images(s, uid, n, status="succeeded", **cols):
    """A job of uid with n images rows: its id."""
    jid = job_row(s, uid, status, "home test %d" % n, **cols)
    for i in range(n):
        s.sql("INSERT INTO job_images (job_id, idx, seed, path, width,"
              " height) VALUES (%d, %d, %d, 'jobs/%d/%d.png', 64, 64)" %
              (jid, i, i + 1, jid, i))
    return jid


def thumb_srcs(text):
    """The recent images' thumbnails, in page order: [(job, idx)]."""
    m = re.search(r'<ul class="grid home-recent"[^>]*>(.*?)</ul>', text,
                  re.S)
    if m is None:
        return []
    return [(int(j), int(i)) for j, i in re.findall(
        r'<img src="/api/v1/images/(\d+)-(\d+)\.thumb\.png"', m.group(1))]


def test_signed_in_home_shows_own_recent_images_only(s):
    ann, _ = new_user(s, "ann")
    bob, _ = new_user(s, "bob")
    a1 = with_images(s, ann, 2)
    a_gone = with_images(s, ann, 1)
    s.sql("UPDATE jobs SET deleted_at = NOW(3) WHERE id = %d" % a_gone)
    job_row(s, ann, "failed", "a failure")
    a2 = with_images(s, ann, 1)
    b1 = with_images(s, bob, 2)
    cookie, _ = browser(s, ann)
    text = home(s, cookie)
    # Newest job first, each job's images in order; not Bob's, not the
    # deleted job's.
    assert thumb_srcs(text) == [(a2, 0), (a1, 0), (a1, 1)], \
        (thumb_srcs(text), a1, a2, a_gone, b1)
    assert 'href="/jobs/%d"' % a2 in text
    bob_cookie, _ = browser(s, bob)
    assert thumb_srcs(home(s, bob_cookie)) == [(b1, 0), (b1, 1)]


def test_signed_in_home_shows_the_latest_twelve_images(s):
    uid, _ = new_user(s, "many")
    old = with_images(s, uid, 3)
    new = with_images(s, uid, 11)
    cookie, _ = browser(s, uid)
    want = [(new, i) for i in range(11)] + [(old, 0)]
    assert thumb_srcs(home(s, cookie)) == want


def test_home_without_images_offers_the_first_one(s):
    uid, _ = new_user(s, "fresh")
    cookie, _ = browser(s, uid)
    text = home(s, cookie)
    assert thumb_srcs(text) == []
    assert "No images yet" in text
    assert re.search(r'<a class="button[^"]*" href="/generate">', text), \
        text


def test_signed_in_home_has_a_generate_button_and_credits(s):
    uid, _ = new_user(s, "credits")
    s.sql("UPDATE users SET credits = 4321 WHERE id = %d" % uid)
    cookie, _ = browser(s, uid)
    text = home(s, cookie)
    assert re.search(r'<a class="button[^"]*" href="/generate">', text), \
        text
    assert '<strong id="home-credits">4321</strong> credits left' in text


def expected_positions(s):
    """Place in the queue of every queued job, 1 for the next one, worked
    out here from the rows: higher priority first, then older first."""
    rows = s.sql("SELECT id, priority FROM jobs WHERE status = 'queued'")
    order = sorted(((-int(p), int(i)) for i, p in rows))
    return {i: n + 1 for n, (_, i) in enumerate(order)}


def active_jobs(text):
    """{job id: (status, position or None)} from the In progress list."""
    m = re.search(r'<ul class="home-active"[^>]*>(.*?)</ul>', text, re.S)
    assert m is not None, text
    out = {}
    for li in re.findall(r"<li>(.*?)</li>", m.group(1), re.S):
        jid = int(re.search(r'href="/jobs/(\d+)"', li).group(1))
        st = re.search(r'class="status status-(\w+)"', li).group(1)
        pos = re.search(r'<span class="position">(\d+)</span>', li)
        out[jid] = (st, int(pos.group(1)) if pos else None)
    return out


def test_queue_positions_match_the_job_page_and_the_api(s):
    uid, _ = new_user(s, "queued")
    other, _ = new_user(s, "ahead")
    key = make_key(s, uid, "read")
    job_row(s, other, "queued", "someone else's, older")
    mine = [job_row(s, uid, "queued", "mine %d" % i) for i in range(2)]
    # A later job of a higher priority goes before both of mine.
    job_row(s, other, "queued", "urgent", priority=5)
    running = job_row(s, uid, "running", "running now", step=3,
                      steps_total=10)
    done = job_row(s, uid, "succeeded", "finished")
    cookie, _ = browser(s, uid)
    want = expected_positions(s)
    text = home(s, cookie)
    got = active_jobs(text)
    assert set(got) == set(mine + [running]), (got, mine, running, done)
    assert got[running] == ("running", None)
    assert "Step 3 of 10." in text
    for jid in mine:
        st, pos = got[jid]
        assert st == "queued" and pos == want[jid], (jid, got, want)
        # The job page says the same...
        r = page(s, cookie, "/jobs/%d" % jid)
        assert r.status == 200, r.text[:500]
        assert re.search(r"[Pp]osition\D{0,60}?\b%d\b" % pos, r.text), \
            r.text
        # ...and the API counts the jobs ahead (0: next).
        r = api(s, "GET", "/api/v1/jobs/%d" % jid, key)
        assert r.status == 200, r.text[:500]
        assert is_json(r)["queue_position"] == pos - 1, (jid, pos)
    assert want[mine[0]] >= 3       # behind the older and the urgent job


def test_home_lists_no_other_users_active_jobs(s):
    uid, _ = new_user(s, "idle")
    other, _ = new_user(s, "busy")
    job_row(s, other, "queued", "not yours")
    cookie, _ = browser(s, uid)
    text = home(s, cookie)
    assert 'class="home-active"' not in text
    assert "not yours" not in text


def test_signed_in_example_prompts_fill_the_generate_form(s):
    uid, _ = new_user(s, "examples")
    cookie, _ = browser(s, uid)
    text = home(s, cookie)
    links = re.findall(r'<a href="(/generate\?prompt=[^"]+)"><q>(.*?)</q>',
                       text)
    assert links, text
    for href, shown in links[:2]:
        href = html.unescape(href)
        prompt = urllib.parse.parse_qs(urllib.parse.urlsplit(href).query)
        assert prompt["prompt"] == [html.unescape(shown)], (href, shown)
        r = page(s, cookie, href)
        assert r.status == 200, r.text[:500]
        want = html.escape(html.unescape(shown), quote=False)
        assert re.search(r'<textarea[^>]*name="prompt"[^>]*>%s</textarea>'
                         % re.escape(want), r.text), r.text


def fleet_secret(s):
    """A daemon online with names no page for anyone may show: its
    (name, host, devices)."""
    tag = os.urandom(3).hex()
    row = ("secretd-%s" % tag, "render-box-%s.corp.example" % tag,
           "Obscure Accelerator X9-%s [GPU]" % tag)
    s.sql("INSERT INTO daemons (name, host, pid, version, devices, state,"
          " heartbeat_at) VALUES ('%s', '%s', 4242, '0', '%s', 'idle',"
          " NOW(3) + INTERVAL 1 HOUR)" % row)
    return row


def test_visitor_home_names_no_daemon_host_device_or_count(s):
    name, host, devices = fleet_secret(s)
    try:
        text = home(s)
        words = visible_words(text)
        assert "Rendering available right now." in words, words
        for secret in (name, host, devices, "Obscure Accelerator",
                       "render-box"):
            assert secret not in text, secret
        # Short ones only in what the page shows: a random token in an
        # attribute (the CSRF field) may hold "X9" by chance.
        for secret in ("X9", "4242"):
            assert secret not in words, secret
        # Whether, never how many.
        assert not re.search(r"\d+\s+(render\s+)?daemons?", words), words
        assert "daemon" not in words.lower(), words
        assert "account" not in words.lower(), words
    finally:
        s.sql("UPDATE daemons SET state = 'stopped' WHERE name = '%s'" %
              name)


def test_signed_in_home_names_no_daemon_either(s):
    name, host, devices = fleet_secret(s)
    try:
        uid, _ = new_user(s, "nosy")
        cookie, _ = browser(s, uid)
        text = home(s, cookie)
        for secret in (name, host, devices):
            assert secret not in text, secret
        assert "Rendering available right now." in text
    finally:
        s.sql("UPDATE daemons SET state = 'stopped' WHERE name = '%s'" %
              name)


def test_visitor_home_says_when_rendering_is_unavailable(s):
    s.sql("UPDATE daemons SET state = 'stopped'")
    words = visible_words(home(s))
    assert "Rendering unavailable right now" in words, words
    assert "Rendering available" not in words


def test_visitor_home_explains_kiln_and_offers_login_and_register(s):
    text = home(s)
    assert re.search(r'<a class="button[^"]*" href="/login">Log in</a>',
                     text), text
    assert re.search(r'<a class="button[^"]*" href="/register">Register'
                     r'</a>', text), text
    assert "self-hosted image generator" in visible_words(text)
    assert "<strong>kiln-micro</strong>" in text
    assert "Hello," not in text and "home-credits" not in text


def test_visitor_example_prompts_lead_through_login_to_the_form(s):
    text = home(s)
    links = re.findall(r'<a href="(/login\?next=[^"]+)"><q>(.*?)</q>',
                       text)
    assert links, text
    href, shown = links[0]
    nxt = urllib.parse.parse_qs(urllib.parse.urlsplit(
        html.unescape(href)).query)["next"]
    want = "/generate?" + urllib.parse.urlencode(
        {"prompt": html.unescape(shown)})
    assert [urllib.parse.unquote_plus(x) for x in nxt] == \
        [urllib.parse.unquote_plus(want)], (nxt, want)
    r = page(s, None, html.unescape(href))
    assert r.status == 200, r.text[:500]
    m = re.search(r'name="next" value="([^"]*)"', r.text)
    assert m is not None, r.text
    got = urllib.parse.urlsplit(html.unescape(m.group(1)))
    assert got.path == "/generate"
    assert urllib.parse.parse_qs(got.query)["prompt"] == \
        [html.unescape(shown)]


def test_database_down_gives_the_notice_signed_in_too(s):
    uid, _ = new_user(s, "outage")
    cookie, _ = browser(s, uid)
    assert home(s, cookie)
    os.kill(s.pid("mysqld"), signal.SIGKILL)
    wait_until(lambda: not os.path.exists("/proc/%d" % s.pid("mysqld")),
               what="mariadbd to die")
    try:
        for c in (cookie, None):
            r = page(s, c)
            assert r.status == 503, (c, r.status, r.text[:500])
            assert "database is unreachable" in r.text
            assert "Hello," not in r.text
    finally:
        p = run([os.path.join(ROOT, "tools", "kiln-stack"), "up", "--dir",
                 s.dir, "--http-port", str(s.port), "--no-daemon"],
                env=s.env(), timeout=120)
        assert p.returncode == 0, p.stderr
    assert one(s, "SELECT COUNT(*) FROM users WHERE id = %d" % uid) == "1"
    assert page(s, cookie).status == 200
