"""The whole studio journey in headless Chromium, as a new user walks it:
register, generate and watch the job, inpaint its image, upscale the
result, download the ZIP and share it, then open the share link signed
out. Walked at 1366x900 and 390x844, in English and in Simplified Chinese
(chosen by the browser's Accept-Language), with scripts on and off. Every
page on the way is measured (nothing wider than the window), checked for
console errors and CSP refusals, and saved as a full-page screenshot
(journey-LANG-js|nojs-WIDTH-NN-step.png under build/screenshots/pages, or
$KILN_SCREENSHOT_DIR). Selectors are forms' actions and fields' names and
ids, never visible text, so the same walk serves both languages."""

import io
import os
import urllib.request
import zipfile
import zlib

import cdp
from common import one, unique
from harness import wait_until
from test_browser import (FLAGS, MEASURE, NO_SCRIPTS, SHOTS, describe,
                          element_screenshot, full_screenshot, poll_page,
                          set_language, set_view)
from test_studio_inputs import choose_file, drag

STACK = dict(server="lighttpd", heartbeat=1, daemon_name="journey-1")

PASSWORD = "Quarry-Lantern-82-Mosaic"
GEN = 'form[action="/generate"]'
LANG_ATTR = {"en": "en", "zh-CN": "zh-CN"}


def mask_png(w=64, h=64):
    """A black mask with a white square in its middle (rows and columns
    16..47): what the no-script path uploads."""
    raw = b"".join(b"\0" + b"".join(
        b"\xff" if 16 <= x < 48 and 16 <= y < 48 else b"\0"
        for x in range(w)) for y in range(h))

    def chunk(kind, body):
        return (len(body).to_bytes(4, "big") + kind + body +
                zlib.crc32(kind + body).to_bytes(4, "big"))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", w.to_bytes(4, "big") + h.to_bytes(4, "big") +
                  b"\x08\x00\x00\x00\x00") +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:16]
    return (int.from_bytes(data[16:20], "big"),
            int.from_bytes(data[20:24], "big"))


class Walk:
    """One journey: the browser, where screenshots go, what each page
    measured."""

    def __init__(self, s, b, lang, scripts, width, height):
        self.s, self.b = s, b
        self.base = "http://127.0.0.1:%d" % s.port
        self.tag = "%s-%s-%d" % (lang, "js" if scripts else "nojs", width)
        self.lang, self.scripts, self.width = lang, scripts, width
        self.pages = []
        set_view(b, width, height, "light")
        set_language(b, lang)

    def record(self, step):
        """Measures the page now shown and saves its screenshot."""
        b = self.b
        m = b.evaluate(MEASURE)
        name = "journey-%s-%02d-%s.png" % (self.tag, len(self.pages), step)
        full_screenshot(b, os.path.join(SHOTS, name))
        self.pages.append(dict(step=step, path=b.path(), m=m,
                               lang=b.evaluate("document.documentElement"
                                               ".lang"),
                               problems=list(b.problems())))

    def part(self, selector, name):
        """A screenshot of one element (for README): name.png."""
        element_screenshot(self.b, os.path.join(SHOTS, name + ".png"),
                           selector)

    def go(self, path, step):
        self.b.navigate(self.base + path)
        self.record(step)

    def cookies(self):
        r = self.b.page("Network.getCookies", {"urls": [self.base + "/"]})
        return "; ".join("%s=%s" % (c["name"], c["value"])
                         for c in r["cookies"])

    def fetch(self, path):
        """path with the browser's cookies, outside the browser: the
        status, the type and the body."""
        req = urllib.request.Request(self.base + path,
                                     headers={"Cookie": self.cookies()})
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.headers.get("Content-Type"), r.read()


def register(w):
    s, b = w.s, w.b
    s.sql("UPDATE settings SET value='open' WHERE name='registration'")
    name = unique("walker")
    w.go("/register", "register")
    reg = 'form[action="/register"]'
    for field, value in (("username", name), ("display_name", "Walker"),
                         ("password", PASSWORD), ("password2", PASSWORD)):
        b.set_value('%s [name="%s"]' % (reg, field), value)
    b.submit(reg)
    assert b.path() == "/account", "after registering " + describe(b)
    w.record("account")
    return int(one(s, "SELECT id FROM users WHERE username = '%s'" % name))


def job_done(s, jid, timeout=180):
    wait_until(lambda: one(s, "SELECT status FROM jobs WHERE id = %d" %
                           jid) in ("succeeded", "failed", "canceled"),
               timeout=timeout, step=0.3, what="job %d" % jid)
    assert one(s, "SELECT status FROM jobs WHERE id = %d" % jid) == \
        "succeeded", s.sql("SELECT status, error FROM jobs WHERE id = %d"
                           % jid)


def latest(s, uid):
    return int(one(s, "SELECT COALESCE(MAX(id), 0) FROM jobs WHERE"
                      " user_id = %d" % uid))


def submit_generate(w, uid):
    """Sends the generate form. With scripts the page stays and follows
    the job in its panel until the image is there; without, the browser
    lands on the job page, which refreshes itself. The new job's id."""
    s, b = w.s, w.b
    before = latest(s, uid)
    if w.scripts:
        b.evaluate("document.querySelector('%s').requestSubmit(), true"
                   % GEN)
        jid = int(poll_page(
            b, "document.getElementById('studio-out')"
               ".getAttribute('data-job')",
            lambda v: v and int(v) > before, 30, "the job in the panel"))
        poll_page(b, "Array.from(document.querySelectorAll("
                     "'#studio-images img.result')).filter(function (i) {"
                     " return i.complete && i.naturalWidth > 0; }).length",
                  lambda n: n >= 1, 180, "the finished image in place")
        assert b.path() == "/generate", describe(b)
    else:
        b.submit(GEN)
        assert b.path().startswith("/jobs/"), "after posting " + describe(b)
        jid = int(b.path().split("/")[2])
        w.record("job-waiting")
    assert jid == latest(s, uid) and jid > before
    job_done(s, jid)
    return jid


def paint_mask(b):
    """A stroke across the middle of the mask editor's canvas."""
    b.evaluate("document.getElementById('gi-mask-canvas')"
               ".scrollIntoView({block: 'center'})")
    left, top, cw, ch = b.evaluate(
        "(function () { var r = document.getElementById('gi-mask-canvas')"
        ".getBoundingClientRect(); return [r.left, r.top, r.width,"
        " r.height]; })()")
    drag(b, [(left + cw * f, top + ch * 0.5)
             for f in (0.3, 0.4, 0.5, 0.6)])
    poll_page(b, "document.getElementById('mask').files.length",
              lambda n: n == 1, 10, "the painted mask in its input")


def walk(s, lang, scripts, width, height):
    with cdp.Browser(FLAGS if scripts else NO_SCRIPTS) as b:
        w = Walk(s, b, lang, scripts, width, height)
        uid = register(w)

        # Generate: the studio page, then its first image.
        w.go("/generate", "generate")
        for field, value in (("prompt", "three red circles"),
                             ("steps", "3"), ("seed", "7")):
            b.set_value('%s [name="%s"]' % (GEN, field), value)
        first = submit_generate(w, uid)
        w.record("generated" if scripts else "job-done")
        w.go("/jobs/%d" % first, "job")
        assert b.exists('a[href="/jobs/%d/images.zip"]' % first), describe(b)

        # Inpaint its image: the job page's link opens the editor on it.
        href = "/generate?init=%d-0&mode=inpaint" % first
        assert b.exists('a[href="%s"]' % href), describe(b)
        w.go(href, "inpaint-editor")
        assert b.exists('%s [name="init_from"][value="%d-0"]' %
                        (GEN, first)), describe(b)
        # The image's job gives the form its settings too.
        assert b.evaluate("document.querySelector('%s [name=prompt]')"
                          ".value" % GEN) == "three red circles", describe(b)
        if scripts:
            poll_page(b, "!document.getElementById('gi-mask-editor')"
                         ".hidden", bool, 20, "the mask editor")
            paint_mask(b)
            w.record("inpaint-painted")
            w.part("#gen-inputs", "journey-%s-inpaint-editor" % w.tag)
        else:
            choose_file(b, "#mask", mask_png(), "mask.png")
        b.set_value('%s [name="prompt"]' % GEN, "a single blue circle")
        inpainted = submit_generate(w, uid)
        kinds = sorted(r[0] for r in s.sql(
            "SELECT kind FROM job_inputs WHERE job_id = %d" % inpainted))
        assert kinds == ["init", "mask"], kinds

        # Upscale the inpainted image from its job page.
        w.go("/jobs/%d" % inpainted, "inpainted-job")
        up_form = 'form[action="/jobs/%d/images/0/upscale"]' % inpainted
        assert b.exists(up_form), describe(b)
        before = latest(s, uid)
        b.submit(up_form)
        up = latest(s, uid)
        assert up > before and b.path() == "/jobs/%d" % up, describe(b)
        assert one(s, "SELECT kind FROM jobs WHERE id = %d" % up) == \
            "upscale"
        job_done(s, up)
        w.go("/jobs/%d" % up, "upscaled-job")

        # The ZIP holds the upscaled image as served, and a manifest.
        st, ctype, body = w.fetch("/jobs/%d/images.zip" % up)
        assert st == 200 and ctype.startswith("application/zip"), ctype
        z = zipfile.ZipFile(io.BytesIO(body))
        pngs = [n for n in z.namelist() if n.endswith(".png")]
        assert "manifest.json" in z.namelist() and len(pngs) == 1, \
            z.namelist()
        _, _, served = w.fetch("/api/v1/images/%d-0.png" % up)
        assert z.read(pngs[0]) == served
        assert png_size(served) == (128, 128), png_size(served)

        # Share it, then open the link signed out.
        b.submit('form[action="/jobs/%d/share"]' % up)
        assert b.path() == "/jobs/%d" % up, describe(b)
        w.record("shared")
        link = b.evaluate("document.getElementById('share-link').value")
        token = link.rsplit("/s/", 1)[1]
        assert token == one(s, "SELECT share_token FROM jobs WHERE id = %d"
                            % up)
        b.page("Network.clearBrowserCookies")
        w.go("/s/" + token, "shared-visitor")
        assert not b.exists('form[action="/logout"]'), describe(b)
        assert b.evaluate("Array.from(document.images).filter(function (i)"
                          " { return i.complete && i.naturalWidth === 128;"
                          " }).length") >= 1, describe(b)
        return w


def check(w):
    """What every page of a walk must hold."""
    bad = []
    for p in w.pages:
        m, where = p["m"], "%s %s (%s)" % (w.tag, p["step"], p["path"])
        if m["scrollWidth"] > m["innerWidth"] or m["wide"]:
            bad.append("%s: %d > %d %s" % (where, m["scrollWidth"],
                                           m["innerWidth"], m["wide"]))
        if p["problems"]:
            bad.append("%s: console: %s" % (where, p["problems"]))
        if p["lang"] != LANG_ATTR[w.lang]:
            bad.append("%s: <html lang=%r>" % (where, p["lang"]))
    assert bad == [], "\n".join(bad) + "\n(screenshots in %s)" % SHOTS
    for p in w.pages:
        name = os.path.join(SHOTS, "journey-%s-%02d-%s.png" % (
            w.tag, w.pages.index(p), p["step"]))
        with open(name, "rb") as f:
            png = f.read()
        assert w.width - 20 <= png_size(png)[0] <= w.width, name


def journey(s, lang, scripts, width, height):
    os.makedirs(SHOTS, exist_ok=True)
    check(walk(s, lang, scripts, width, height))


# One test per walk (the runner reads test names from the source).
def test_journey_en_scripts_1366(s):
    journey(s, "en", True, 1366, 900)


def test_journey_en_scripts_390(s):
    journey(s, "en", True, 390, 844)


def test_journey_en_no_scripts_1366(s):
    journey(s, "en", False, 1366, 900)


def test_journey_en_no_scripts_390(s):
    journey(s, "en", False, 390, 844)


def test_journey_zh_cn_scripts_1366(s):
    journey(s, "zh-CN", True, 1366, 900)


def test_journey_zh_cn_scripts_390(s):
    journey(s, "zh-CN", True, 390, 844)


def test_journey_zh_cn_no_scripts_1366(s):
    journey(s, "zh-CN", False, 1366, 900)


def test_journey_zh_cn_no_scripts_390(s):
    journey(s, "zh-CN", False, 390, 844)
