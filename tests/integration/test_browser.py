"""Pages in a real headless Chromium: the front page renders with its
stylesheet and nothing is refused by the Content-Security-Policy; an
account is registered, signed out and signed in again through the forms,
driven over the DevTools protocol (cdp.py)."""

import os
import shutil
import tempfile
import time

import cdp
from harness import run, wait_until

STACK = dict(server="lighttpd", heartbeat=1, daemon_name="browser-1")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0", "--window-size=1100,700"]


def chromium(s, path, *extra):
    profile = tempfile.mkdtemp(prefix="kiln-chromium-")
    try:
        return run(["chromium"] + FLAGS + ["--user-data-dir=" + profile] +
                   list(extra) + ["http://127.0.0.1:%d%s" % (s.port, path)],
                   timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def console_problems(stderr):
    # Console messages and CSP refusals are logged as CONSOLE lines and
    # "Refused to ..." text.
    return [line for line in stderr.splitlines()
            if "CONSOLE" in line or "Refused to" in line]


def test_front_page_renders_in_chromium(s):
    wait_until(lambda: s.sql("SELECT COUNT(*) FROM daemons WHERE"
                             " name = 'browser-1'") == [["1"]],
               what="kilnd's row")
    p = chromium(s, "/", "--dump-dom")
    assert p.returncode == 0, p.stderr[-2000:]
    assert "<h2>Rendering</h2>" in p.stdout
    assert "Rendering available: 1 render daemon online." in p.stdout
    assert 'href="/static/kiln.css"' in p.stdout
    assert console_problems(p.stderr) == [], console_problems(p.stderr)


def test_front_page_screenshot(s):
    out = s.path("home.png")
    p = chromium(s, "/", "--screenshot=" + out)
    assert p.returncode == 0, p.stderr[-2000:]
    with open(out, "rb") as f:
        png = f.read()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(png) > 5000      # a rendered page, not a blank one
    assert console_problems(p.stderr) == []
    if os.environ.get("KILN_SCREENSHOT_DIR"):
        shutil.copy(out, os.path.join(os.environ["KILN_SCREENSHOT_DIR"],
                                      "home.png"))


USER = "carol"
PASSWORD = "Tundra-Lantern-47-Quill"


def describe(b):
    """Where the browser is and what it shows, for assertion messages."""
    try:
        return "at %s:\n%s\n--- console: %s" % (b.url(), b.text()[:1500],
                                                  b.console)
    except cdp.CDPError as e:
        return "(page unreadable: %s)" % e


def test_register_logout_login_in_chromium(s):
    s.sql("UPDATE settings SET value='open' WHERE name='registration'")
    base = "http://127.0.0.1:%d" % s.port
    shot = s.path("account.png")
    with cdp.Browser(FLAGS) as b:
        # Register: the form page sets the pre-session csrf cookie and
        # field; a good form lands on /account, signed in.
        b.navigate(base + "/register")
        reg = 'form[action="/register"]'
        assert b.exists(reg), "no registration form " + describe(b)
        for name, value in (("username", USER),
                            ("display_name", "Carol Kiln"),
                            ("password", PASSWORD),
                            ("password2", PASSWORD)):
            b.set_value('%s [name="%s"]' % (reg, name), value)
        assert b.evaluate("document.querySelector('%s [name=\"csrf\"]')"
                          ".value.length > 0" % reg), "no csrf field"
        b.submit(reg)
        assert b.path() == "/account", "after registering " + describe(b)
        text = b.text()
        assert USER in text and "Account" in text, describe(b)
        assert s.sql("SELECT COUNT(*) FROM users WHERE username = '%s'" %
                     USER) == [["1"]]
        # The session cookie is HttpOnly: scripts never see it.
        assert "kiln_session" not in b.evaluate("document.cookie")

        # Log out with the button in the page header.
        out = 'form[action="/logout"]'
        assert b.exists(out), "no logout form " + describe(b)
        b.click('%s button, %s [type="submit"]' % (out, out))
        assert b.path() == "/", "after logging out " + describe(b)
        assert not b.exists(out), "still signed in " + describe(b)
        assert s.sql("SELECT COUNT(*) FROM sessions s JOIN users u ON"
                     " u.id = s.user_id WHERE u.username = '%s'" %
                     USER) == [["0"]]
        # Signed out, the account page sends us to the login form.
        b.navigate(base + "/account")
        assert b.path() == "/login", "/account signed out " + describe(b)
        assert "next=%2Faccount" in b.url() or "next=/account" in b.url(), \
            b.url()

        # Log in through the form: back on the account page.
        login = 'form[action="/login"]'
        assert b.exists(login), "no login form " + describe(b)
        b.set_value('%s [name="username"]' % login, USER)
        b.set_value('%s [name="password"]' % login, PASSWORD)
        b.submit(login)
        assert b.path() == "/account", "after logging in " + describe(b)
        text = b.text()
        assert USER in text and "Account" in text, describe(b)
        assert b.exists(out), "no logout form when signed in"

        png = b.screenshot(shot)
        assert b.problems() == [], b.problems()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(png) > 5000      # a rendered page, not a blank one
    if os.environ.get("KILN_SCREENSHOT_DIR"):
        shutil.copy(shot, os.path.join(os.environ["KILN_SCREENSHOT_DIR"],
                                       "account.png"))


def poll_page(b, js, pred, timeout, what):
    """Evaluates js until pred(value) holds; a page that is reloading
    (the job page reloads itself when the job ends) is tried again."""
    end = time.time() + timeout
    last = None
    while time.time() < end:
        try:
            last = b.evaluate(js)
            if pred(last):
                return last
        except cdp.CDPError:
            pass
        time.sleep(0.2)
    raise AssertionError("timed out waiting for %s (last %r)" % (what, last))


def log_in(b, base):
    """Signs USER in through the login form."""
    b.navigate(base + "/login")
    login = 'form[action="/login"]'
    b.set_value('%s [name="username"]' % login, USER)
    b.set_value('%s [name="password"]' % login, PASSWORD)
    b.submit(login)


def test_generate_and_watch_the_job_in_chromium(s):
    base = "http://127.0.0.1:%d" % s.port
    shot = s.path("job.png")
    with cdp.Browser(FLAGS) as b:
        log_in(b, base)
        b.navigate(base + "/generate")
        gen = 'form[action="/generate"]'
        assert b.exists(gen), "no generate form " + describe(b)
        # The form offers the default model's example prompts.
        assert b.evaluate("document.querySelectorAll('ul.examples a')"
                          ".length") > 0, describe(b)
        b.set_value('%s [name="prompt"]' % gen, "three red circles")
        # Long enough to watch: 3 images of 100 steps.
        b.set_value('%s [name="steps"]' % gen, "100")
        b.set_value('%s [name="batch_count"]' % gen, "3")
        b.set_value('%s [name="seed"]' % gen, "11")
        b.submit(gen)
        path = b.path()
        assert path.startswith("/jobs/"), "after submitting " + describe(b)
        job = int(path.split("/")[2])
        assert s.sql("SELECT prompt, steps, batch_count, seed FROM jobs"
                     " WHERE id = %d" % job) == \
            [["three red circles", "100", "3", "11"]]

        # The bar moves while the daemon renders: it takes at least three
        # different values between 0 and its end, without a reload.
        seen = set()
        b.evaluate("window.kilnMark = 1")
        end = time.time() + 90
        while time.time() < end and len(seen) < 3:
            try:
                v = b.evaluate("(function () { var p = document"
                               ".getElementById('job-progress'); return p"
                               " && window.kilnMark ? [p.value, p.max]"
                               " : null; })()")
            except cdp.CDPError:
                v = None
            if v and 0 < v[0] < v[1]:
                seen.add(v[0])
            time.sleep(0.2)
        assert len(seen) >= 3, "progress bar values seen: %r" % seen
        assert s.sql("SELECT status FROM jobs WHERE id = %d" % job)[0][0] \
            in ("running", "succeeded")
        poll_page(b, "document.getElementById('job-preview') &&"
                     " document.getElementById('job-preview').src",
                  bool, 60, "a live preview")

        # When it ends the page shows the three images, loaded.
        poll_page(b, "Array.from(document.querySelectorAll('img.result'))"
                     ".filter(function (i) { return i.complete &&"
                     " i.naturalWidth === 64; }).length",
                  lambda n: n == 3, 120, "three finished images")
        assert "Use these settings again" in b.text()
        png = b.screenshot(shot)
        assert b.problems() == [], b.problems()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert s.sql("SELECT status FROM jobs WHERE id = %d" % job) == \
        [["succeeded"]]
    if os.environ.get("KILN_SCREENSHOT_DIR"):
        shutil.copy(shot, os.path.join(os.environ["KILN_SCREENSHOT_DIR"],
                                       "job.png"))


def test_gallery_share_and_usage_in_chromium(s):
    base = "http://127.0.0.1:%d" % s.port
    job = int(s.sql("SELECT MAX(id) FROM jobs WHERE status = 'succeeded'")
              [0][0])
    images = int(s.sql("SELECT COUNT(*) FROM job_images i JOIN jobs j ON"
                       " j.id = i.job_id WHERE j.deleted_at IS NULL")[0][0])
    assert images >= 3, images
    shots = {n: s.path(n) for n in ("gallery.png", "usage.png")}
    with cdp.Browser(FLAGS) as b:
        log_in(b, base)
        # Every image as a loaded thumbnail, linking to its job.
        b.navigate(base + "/gallery")
        poll_page(b, "Array.from(document.querySelectorAll('#gallery img'))"
                     ".filter(function (i) { return i.complete &&"
                     " i.naturalWidth > 0; }).length",
                  lambda n: n == images, 30, "%d thumbnails" % images)
        b.screenshot(shots["gallery.png"])
        # Share the job from its page; the link opens the images.
        b.navigate(base + "/jobs/%d" % job)
        b.submit('form[action="/jobs/%d/share"]' % job)
        link = poll_page(b, "document.getElementById('share-link') &&"
                            " document.getElementById('share-link').value",
                         bool, 20, "the share link")
        tok = s.sql("SELECT share_token FROM jobs WHERE id = %d" % job)[0][0]
        assert link == base + "/s/" + tok, (link, tok)
        b.navigate(link)
        poll_page(b, "Array.from(document.querySelectorAll('img.result'))"
                     ".filter(function (i) { return i.complete &&"
                     " i.naturalWidth > 0; }).length",
                  lambda n: n >= 1, 30, "the shared images")
        # Usage: the chart loads, the table has a row per day.
        b.navigate(base + "/usage")
        poll_page(b, "document.querySelector('img.chart').complete &&"
                     " document.querySelector('img.chart').naturalWidth",
                  lambda w: w == 720, 30, "the usage chart")
        assert b.evaluate("document.querySelectorAll('#usage-table tbody"
                          " tr').length") == 30
        b.screenshot(shots["usage.png"])
        assert b.problems() == [], b.problems()
    if os.environ.get("KILN_SCREENSHOT_DIR"):
        for name, path in shots.items():
            shutil.copy(path, os.path.join(
                os.environ["KILN_SCREENSHOT_DIR"], name))
