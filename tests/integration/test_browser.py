"""Pages in a real headless Chromium: the front page renders with its
stylesheet and nothing is refused by the Content-Security-Policy; an
account is registered, signed out and signed in again through the forms,
driven over the DevTools protocol (cdp.py)."""

import base64
import json
import os
import shutil
import tempfile
import time

import cdp
from common import (api, job_row, make_key, make_session, new_user, one,
                    rendered)
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
    assert "Rendering available right now." in p.stdout
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
        assert b.evaluate("document.getElementById('flash') &&"
                          " document.getElementById('flash').textContent")\
            == "Welcome! Your account is ready.", describe(b)
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
        # The studio sends the form in the background and follows the
        # job beside it (test_studio_generate); here, its page.
        b.evaluate("document.querySelector('%s').requestSubmit(), 1" % gen)
        job = int(poll_page(b, "document.getElementById('studio-out')"
                               ".getAttribute('data-job')", bool, 30,
                            "the job"))
        b.navigate(base + "/jobs/%d" % job)
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


# ---- every page at a desktop's and a phone's width ------------------------
#
# One walk (walk_pages, done once per stack, by whichever of the tests
# below runs first) loads every page as a visitor, a user and an
# administrator at 1366x900 and 390x844, in the light and the emulated
# dark colour scheme, measures each and saves a full-page screenshot; the
# tests then each assert one fact about those measurements.

WIDTHS = ((1366, 900), (390, 844))
SHOTS = os.environ.get("KILN_SCREENSHOT_DIR") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), "build", "screenshots", "pages")
LONG_PROMPT = ("a kiln at dusk, " * 12 +
               "averyveryverylongwordwithoutanyspacesthatmustwrapsomehow" * 2)

# What each page reports, read in the page: its widths, the boxes wider
# than the window (outside a box of their own that scrolls), the heights
# of the visible tap targets, the menu's state and the background.
MEASURE = r"""(function () {
  var d = document.documentElement, w = window.innerWidth, wide = [];
  function scrolls(e) {
    for (var p = e.parentElement; p && p !== document.body;
         p = p.parentElement) {
      var o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden') return true;
    }
    return false;
  }
  function label(e) {
    return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
      (e.className && typeof e.className === 'string' ?
       '.' + e.className.trim().split(/\s+/).join('.') : '') +
      ' "' + (e.textContent || '').trim().slice(0, 30) + '"';
  }
  document.querySelectorAll('body *').forEach(function (e) {
    var r = e.getBoundingClientRect();
    if (r.width > 0 && r.right > w + 0.5 && !scrolls(e))
      wide.push(label(e) + ' right=' + Math.round(r.right));
  });
  function visible(e) {
    var r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && e.checkVisibility();
  }
  var menu = document.querySelector('details.menu');
  var summary = menu && menu.querySelector('summary');
  var navLinks = Array.from(document.querySelectorAll('header nav a'));
  var closed = {summary: summary && visible(summary),
                links: navLinks.filter(visible).length};
  // Tap targets, with the menu open as a finger would have it.
  if (menu) menu.open = true;
  var small = [];
  document.querySelectorAll('header nav a, summary, button,' +
                            ' input[type=submit]').forEach(function (e) {
    if (!visible(e)) return;
    var h = e.getBoundingClientRect().height;
    if (h < 40) small.push(label(e) + ' ' + h.toFixed(1) + 'px');
  });
  var open = navLinks.filter(visible).length;
  if (menu) menu.open = false;
  return {scrollWidth: d.scrollWidth, innerWidth: w, wide: wide.slice(0, 8),
          small: small, closed: closed, openLinks: open,
          navLinks: navLinks.length,
          bg: getComputedStyle(document.body).backgroundColor,
          theme: d.getAttribute('data-theme')};
})()"""


def luminance(css):
    """0 (black) to 1 (white) from a computed "rgb(r, g, b)" colour."""
    r, g, b = [int(x) for x in css[css.index("(") + 1:-1].split(",")[:3]]
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def set_view(b, width, height, scheme):
    b.page("Emulation.setDeviceMetricsOverride",
           {"width": width, "height": height, "deviceScaleFactor": 1,
            "mobile": width < 600})
    b.page("Emulation.setEmulatedMedia",
           {"features": [{"name": "prefers-color-scheme", "value": scheme}]})


def full_screenshot(b, path):
    """A PNG of the whole page, not only the window."""
    m = b.page("Page.getLayoutMetrics")
    size = m.get("cssContentSize") or m["contentSize"]
    r = b.page("Page.captureScreenshot",
               {"format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": size["width"],
                         "height": min(size["height"], 6000), "scale": 1}})
    with open(path, "wb") as f:
        f.write(base64.b64decode(r["data"]))


def element_screenshot(b, path, first, last=None, pad=0):
    """A PNG of the page from the top of the element first selects to the
    bottom of last's (first's own when None), as wide as the two, with pad
    pixels around: the part of a page a README shows. The page loses its
    scrollbar while it is measured and taken: capturing beyond the window
    drops it anyway, which would move a centred page by half its width."""
    x, y, w, h = b.evaluate(
        "(function () { document.documentElement.style.overflow ="
        " 'hidden'; var a = document.querySelector(%r)"
        ".getBoundingClientRect(), z = document.querySelector(%r)"
        ".getBoundingClientRect(), p = %d,"
        " l = Math.max(Math.min(a.left, z.left) - p, 0),"
        " t = Math.max(a.top + scrollY - p, 0);"
        " return [l + scrollX, t, Math.min(Math.max(a.right, z.right) + p,"
        " document.documentElement.scrollWidth) - l,"
        " z.bottom + scrollY + p - t]; })()" % (first, last or first, pad))
    r = b.page("Page.captureScreenshot",
               {"format": "png", "captureBeyondViewport": True,
                "clip": {"x": x, "y": y, "width": w, "height": h,
                         "scale": 1}})
    b.evaluate("document.documentElement.style.overflow = '', true")
    with open(path, "wb") as f:
        f.write(base64.b64decode(r["data"]))


def sign_in_cookie(b, s, uid):
    tok = make_session(s, uid)
    b.page("Network.setCookie", {"name": "kiln_session", "value": tok,
                                 "url": "http://127.0.0.1:%d/" % s.port,
                                 "httpOnly": True})


def page_fixtures(s):
    """A user with a rendered, shared job (a long prompt), an API key and
    a webhook delivery row; an administrator: the pages to walk, per
    role."""
    uid, name = new_user(s, "pat")
    key = make_key(s, uid, "read,generate", name="phone script")
    j = rendered(s, key, {"prompt": LONG_PROMPT, "steps": 2,
                          "batch_count": 2, "seed": 5})
    r = api(s, "POST", "/api/v1/jobs/%d/share" % j["id"], key)
    assert r.status == 200, (r.status, r.text[:300])
    tok = one(s, "SELECT share_token FROM jobs WHERE id = %d" % j["id"])
    # A failed job with a long error, for the queue and the jobs list.
    job_row(s, uid, "failed", LONG_PROMPT, error="x" * 300)
    aid, _ = new_user(s, "ada", role="admin")
    # One image on Explore, reported once, for the gallery, its detail
    # page and the report queue.
    s.sql("INSERT INTO published_images (job_id, idx, user_id,"
          " published_at) VALUES (%d, 0, %d, NOW(3))" % (j["id"], uid))
    pid = int(one(s, "SELECT id FROM published_images WHERE job_id = %d"
                     % j["id"]))
    s.sql("INSERT INTO image_reports (published_id, reporter_id, reason,"
          " detail) VALUES (%d, %d, 'other', '%s')" % (pid, aid,
                                                       "y" * 200))
    # A project (issue 29) with the job and a shot of two versions, the
    # second rendered as the job.
    s.sql("INSERT INTO projects (user_id, name, description) VALUES"
          " (%d, 'Spring catalogue', '%s')" % (uid, "z" * 300))
    prj = int(one(s, "SELECT MAX(id) FROM projects WHERE user_id = %d" %
                  uid))
    s.sql("INSERT INTO project_jobs (project_id, job_id) VALUES (%d, %d)" %
          (prj, j["id"]))
    for v, lens in ((1, 50), (2, 85)):
        s.sql("INSERT INTO project_manifests (project_id, shot, version,"
              " manifest, job_id, author_id) VALUES (%d, 'hero', %d,"
              " '{\"prompt\": \"%s\", \"camera\": {\"lens_mm\": %d}}',"
              " %s, %d)" % (prj, v, LONG_PROMPT[:200].replace("'", ""),
                            lens, j["id"] if v == 2 else "NULL", uid))
    return {
        "visitor": (None, ["/", "/login", "/register", "/password/reset",
                           "/s/" + tok, "/explore", "/explore/%d" % pid,
                           "/status"]),
        "user": (uid, ["/", "/generate", "/gallery", "/jobs",
                       "/jobs/%d" % j["id"], "/usage", "/account",
                       "/account/keys", "/account/webhooks",
                       "/account/data", "/batch", "/presets",
                       "/generate/manifest", "/projects",
                       "/projects/%d" % prj,
                       "/projects/%d/shots/hero" % prj,
                       "/projects/%d/shots/hero/diff?a=1&b=2" % prj]),
        "admin": (aid, ["/admin/queue", "/admin/users",
                        "/admin/users/%d" % uid,
                        "/admin/users/%d/delete" % uid, "/admin/audit",
                        "/admin/settings", "/admin/reports",
                        "/admin/incidents", "/admin/maintenance"]),
    }


def shot_name(role, path, width, scheme, lang="en"):
    """user-jobs-N-390-dark.png (user-jobs-N-390-light-zh-CN.png in
    Chinese): ids and share tokens are left out, so a page's screenshot
    keeps its name from run to run."""
    parts = [x for x in path.split("?")[0].split("/") if x]
    parts = [("N" if x.isdigit() else x) for x in parts]
    if parts[:1] == ["s"]:
        parts = ["shared"]
    return "%s-%s-%d-%s%s.png" % (role, "-".join(parts) or "home", width,
                                  scheme, "" if lang == "en" else
                                  "-" + lang)


# Each page in English in both colour schemes, and in Chinese (chosen by
# the browser's Accept-Language) in the light one.
VIEWS = (("en", "light"), ("en", "dark"), ("zh-CN", "light"))


def set_language(b, lang):
    ua = b.send("Browser.getVersion")["userAgent"]
    b.page("Emulation.setUserAgentOverride",
           {"userAgent": ua, "acceptLanguage": lang})


def walk_pages(s):
    """Every page, both widths, both colour schemes and both languages: a
    list of dicts (role, path, width, scheme, lang, the measurements,
    problems), once."""
    if getattr(s, "walked", None) is not None:
        return s.walked
    os.makedirs(SHOTS, exist_ok=True)
    base = "http://127.0.0.1:%d" % s.port
    out = []
    fixtures = page_fixtures(s)
    s.walk_expected = len(VIEWS) * len(WIDTHS) * sum(
        len(p) for _, p in fixtures.values())
    for role, (uid, paths) in fixtures.items():
        with cdp.Browser(FLAGS) as b:
            if uid is not None:
                sign_in_cookie(b, s, uid)
            for width, height in WIDTHS:
                for lang, scheme in VIEWS:
                    set_view(b, width, height, scheme)
                    set_language(b, lang)
                    for path in paths:
                        before = len(b.problems())
                        b.navigate(base + path)
                        assert b.path() == path.split("?")[0], \
                            "%s %s: landed on %s" % (role, path, b.url())
                        m = b.evaluate(MEASURE)
                        m["lang"] = b.evaluate("document.documentElement"
                                               ".lang")
                        name = shot_name(role, path, width, scheme, lang)
                        full_screenshot(b, os.path.join(SHOTS, name))
                        out.append(dict(role=role, path=path, width=width,
                                        scheme=scheme, lang=lang, m=m,
                                        problems=b.problems()[before:]))
    s.walked = out
    return out


def test_no_page_is_wider_than_the_window(s):
    bad = ["%s %s @%d: scrollWidth %d > %d: %s" % (
        p["role"], p["path"], p["width"], p["m"]["scrollWidth"],
        p["m"]["innerWidth"], p["m"]["wide"])
        for p in walk_pages(s)
        if p["m"]["scrollWidth"] > p["m"]["innerWidth"] or p["m"]["wide"]]
    assert bad == [], "\n".join(bad) + "\n(screenshots in %s)" % SHOTS


def test_tap_targets_are_40px_tall_on_a_phone(s):
    bad = ["%s %s: %s" % (p["role"], p["path"], p["m"]["small"])
           for p in walk_pages(s) if p["width"] == 390 and p["m"]["small"]]
    assert bad == [], "\n".join(bad)


def test_the_menu_collapses_on_a_phone_only(s):
    for p in walk_pages(s):
        m, where = p["m"], "%s %s @%d" % (p["role"], p["path"], p["width"])
        assert m["navLinks"] >= 3, where
        # Every link is reachable: with the menu open all are shown.
        assert m["openLinks"] == m["navLinks"], (where, m)
        if p["width"] == 390:
            assert m["closed"] == {"summary": True, "links": 0}, (where, m)
        else:
            assert m["closed"] == {"summary": False,
                                   "links": m["navLinks"]}, (where, m)


def test_dark_mode_follows_the_browser(s):
    for p in walk_pages(s):
        lum = luminance(p["m"]["bg"])
        where = "%s %s @%d %s: %s" % (p["role"], p["path"], p["width"],
                                      p["scheme"], p["m"]["bg"])
        assert lum < 0.2 if p["scheme"] == "dark" else lum > 0.9, where


def test_no_console_errors_or_csp_violations_on_any_page(s):
    bad = ["%s %s @%d %s: %s" % (p["role"], p["path"], p["width"],
                                 p["scheme"], p["problems"])
           for p in walk_pages(s) if p["problems"]]
    assert bad == [], "\n".join(bad)


def test_screenshots_of_every_page_at_both_widths(s):
    pages = walk_pages(s)
    for p in pages:
        name = shot_name(p["role"], p["path"], p["width"], p["scheme"],
                         p["lang"])
        with open(os.path.join(SHOTS, name), "rb") as f:
            png = f.read()
        assert png[:8] == b"\x89PNG\r\n\x1a\n", name
        # The image is as wide as the window it was taken in (less a
        # desktop's scroll bar).
        w = int.from_bytes(png[16:20], "big")
        assert p["width"] - 20 <= w <= p["width"], (name, w)
    assert len(pages) == s.walk_expected >= 3 * 2 * 25, len(pages)


def test_every_page_speaks_the_browsers_language(s):
    bad = ["%s %s @%d: <html lang=%r> for %s" % (
        p["role"], p["path"], p["width"], p["m"]["lang"], p["lang"])
        for p in walk_pages(s) if p["m"]["lang"] != p["lang"]]
    assert bad == [], "\n".join(bad)


def test_the_theme_switch_overrides_the_browser_without_scripts(s):
    base = "http://127.0.0.1:%d" % s.port
    flags = FLAGS + ["--blink-settings=scriptEnabled=false"]
    with cdp.Browser(flags) as b:
        set_view(b, 390, 844, "light")
        b.navigate(base + "/login")
        assert luminance(b.evaluate(
            "getComputedStyle(document.body).backgroundColor")) > 0.9
        # Dark, chosen in the footer: the server answers every later page
        # with <html data-theme="dark"> (no flash: no script decides it).
        b.click('form.theme button[value="dark"]')
        assert b.path() == "/login", b.url()
        assert b.evaluate("document.documentElement.dataset.theme") == "dark"
        b.navigate(base + "/register")
        assert b.evaluate("document.documentElement.dataset.theme") == "dark"
        assert luminance(b.evaluate(
            "getComputedStyle(document.body).backgroundColor")) < 0.2
        assert b.evaluate("document.querySelector('form.theme"
                          " button[value=dark]').getAttribute("
                          "'aria-pressed')") == "true"
        # Light under a dark browser, then back to following it.
        set_view(b, 390, 844, "dark")
        b.click('form.theme button[value="light"]')
        assert luminance(b.evaluate(
            "getComputedStyle(document.body).backgroundColor")) > 0.9
        b.click('form.theme button[value="auto"]')
        assert b.evaluate("document.documentElement.dataset.theme") is None
        assert luminance(b.evaluate(
            "getComputedStyle(document.body).backgroundColor")) < 0.2
        assert b.problems() == [], b.problems()


def test_the_theme_switch_refuses_other_values(s):
    # A visitor's form token: the pre-session cookie's value.
    r = s.get("/login")
    cookie = [v for k, v in r.headers.items() if k == "set-cookie"]
    tok = cookie[0].split(";")[0].split("=", 1)[1] if cookie else ""
    assert tok, r.headers
    for theme, status in (("purple", 422), ("dark", 303)):
        r = s.request("POST", "/theme",
                      body="theme=%s&next=%%2Flogin&csrf=%s" % (theme, tok),
                      headers={"Content-Type":
                               "application/x-www-form-urlencoded",
                               "Cookie": "kiln_csrf=" + tok,
                               "Origin": "http://127.0.0.1:%d" % s.port})
        assert r.status == status, (theme, r.status, r.text[:300])
        sent = r.headers.get("set-cookie", "")
        assert ("kiln_theme=dark" in sent) == (theme == "dark"), sent
    assert r.headers.get("location", "").endswith("/login"), r.headers


def test_favicon_svg_and_png_are_served(s):
    for path, ctype, magic in (("/static/favicon.svg", "image/svg+xml",
                                b"<svg"),
                               ("/static/favicon.png", "image/png",
                                b"\x89PNG")):
        r = s.get(path)
        assert r.status == 200, (path, r.status)
        assert r.headers.get("content-type", "").startswith(ctype), \
            (path, r.headers.get("content-type"))
        assert r.body[:len(magic)] == magic, path
    html = s.get("/").text
    assert 'rel="icon" href="/static/favicon.svg"' in html
    assert 'rel="icon" href="/static/favicon.png"' in html


NO_SCRIPTS = FLAGS + ["--blink-settings=scriptEnabled=false"]


def shown(b, selector):
    return b.evaluate("(function () { var e = document.querySelector(%s);"
                      " return !!e && e.checkVisibility(); })()" %
                      json.dumps(selector))


def test_delete_asks_first_then_says_done_without_scripts(s):
    base = "http://127.0.0.1:%d" % s.port
    uid, _ = new_user(s, "dee")
    key = make_key(s, uid, "read,generate")
    jid = rendered(s, key, {"prompt": "one blue square", "steps": 1})["id"]
    with cdp.Browser(NO_SCRIPTS) as b:
        sign_in_cookie(b, s, uid)
        set_view(b, 390, 844, "light")
        b.navigate(base + "/jobs/%d" % jid)
        form = 'details.confirm form[action="/jobs/%d/delete"]' % jid
        # The first button only asks: the form's own button is hidden
        # until it is pressed, and nothing was deleted.
        assert b.exists(form), describe(b)
        assert not shown(b, form + " button")
        b.evaluate("document.querySelector('details.confirm > summary')"
                   ".click()")
        assert shown(b, form + " button"), describe(b)
        assert one(s, "SELECT deleted_at IS NULL FROM jobs WHERE id = %d"
                   % jid) == "1"
        b.click(form + " button")
        assert b.path() == "/gallery", describe(b)
        assert b.evaluate("document.getElementById('flash')"
                          ".textContent") == "Job deleted."
        assert one(s, "SELECT deleted_at IS NOT NULL FROM jobs WHERE"
                   " id = %d" % jid) == "1"
        # Shown once: the next page has no message.
        b.navigate(base + "/gallery")
        assert not b.exists("#flash"), describe(b)
        assert b.problems() == [], b.problems()


def test_logging_out_says_so(s):
    base = "http://127.0.0.1:%d" % s.port
    uid, _ = new_user(s, "lou")
    with cdp.Browser(NO_SCRIPTS) as b:
        sign_in_cookie(b, s, uid)
        set_view(b, 390, 844, "light")
        b.navigate(base + "/account")
        b.click('form[action="/logout"] button')
        assert b.path() == "/", describe(b)
        assert b.evaluate("document.getElementById('flash')"
                          ".textContent") == "Logged out."
        assert not b.exists('form[action="/logout"]')
        assert b.problems() == [], b.problems()
