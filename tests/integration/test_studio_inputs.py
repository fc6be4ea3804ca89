"""The generate page's image inputs through the whole stack (lighttpd,
kilnd, MariaDB) on kiln-micro: a mask painted in Chromium over an init
image becomes an inpaint job whose stored mask is white where it was
painted; the same form without scripts takes an uploaded mask, outpaint
sides and an init image taken from one of the user's own jobs; the
ControlNet edge preview is OpenCV's canny of the same image (and
kiln-render's); bad uploads are refused beside their field and leave no
file and no row."""

import base64
import json
import os
import re
import shutil
import struct
import subprocess
import time
import uuid
import zlib

import cdp
import harness
from common import (browser, job_count, make_session, models_with_micro,
                    new_user, one, png_decode, rendered, make_key)
from harness import wait_until
from test_browser import FLAGS, MEASURE, describe, poll_page, set_view

STACK = dict(server="lighttpd", daemon_name="studio-inputs-1", heartbeat=1,
             models=lambda d: make_models(d),
             extra_conf="[limits]\nsubmit_burst = 100000\n")
CANNY = os.path.join(harness.ROOT, "models", "kiln-micro-canny")
FORM = {"prompt": "a red circle on a blue background", "steps": "6",
        "seed": "11", "model": "kiln-micro"}


def make_models(stack_dir):
    root = models_with_micro(stack_dir)
    cn = os.path.join(root, "controlnet", "kiln-micro-canny")
    os.makedirs(cn)
    for name in ("config.json", "diffusion_pytorch_model.safetensors"):
        os.symlink(os.path.join(CANNY, name), os.path.join(cn, name))
    return root


def chunk(kind, body):
    return (struct.pack(">I", len(body)) + kind + body +
            struct.pack(">I", zlib.crc32(kind + body)))


def png_encode(w, h, pixel):
    """An RGB PNG of pixel(x, y) -> (r, g, b), written here."""
    raw = b"".join(b"\0" + bytes(c for x in range(w) for c in pixel(x, y))
                   for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def init_png(w=64, h=64):
    # A yellow square on dark blue.
    return png_encode(w, h, lambda x, y: (230, 200, 20)
                      if 16 <= x < 48 and 16 <= y < 48 else (20, 30, 120))


def left_mask(w=64, h=64):
    return png_encode(w, h, lambda x, y: (255, 255, 255) if x < 32
                      else (0, 0, 0))


def bomb_png(side=20000):
    """A real decompression bomb: side x side grey pixels of zeros, a
    few hundred kilobytes that decode to side^2 bytes."""
    z = zlib.compressobj(9)
    row = b"\0" * (side + 1)
    parts = [z.compress(row * 200) for _ in range(side // 200)]
    parts.append(z.flush())
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0,
                                       0)) +
            chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b""))


def multipart(fields, files):
    """(body, content type) of a multipart/form-data form: fields is a
    list of (name, value), files of (name, filename, bytes)."""
    b = "----kiln%s" % uuid.uuid4().hex
    out = []
    for k, v in fields:
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\""
                    "\r\n\r\n%s\r\n" % (b, k, v)).encode())
    for k, fn, data in files:
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\";"
                    " filename=\"%s\"\r\nContent-Type: image/png\r\n\r\n" %
                    (b, k, fn)).encode() + data + b"\r\n")
    out.append(("--%s--\r\n" % b).encode())
    return b"".join(out), "multipart/form-data; boundary=" + b


def post(s, cookie, csrf, path, fields, files=(), timeout=60):
    body, ctype = multipart([("csrf", csrf)] + list(fields), files)
    return s.request("POST", path, body=body, timeout=timeout,
                     headers={"Cookie": cookie, "Content-Type": ctype})


def form_fields(**kw):
    d = dict(FORM, **kw)
    return list(d.items())


def new_job_id(r):
    assert r.status == 303, (r.status, r.text[:3000])
    m = re.match(r"^/jobs/(\d+)$", r.headers.get("location", ""))
    assert m, r.headers
    return int(m.group(1))


def stored_input(s, jid, kind):
    rel = one(s, "SELECT path FROM job_inputs WHERE job_id = %d AND"
                 " kind = '%s'" % (jid, kind))
    with open(s.path("artifacts", rel), "rb") as f:
        return png_decode(f.read())


def wait_done(s, jid, timeout=300):
    st = wait_until(lambda: (lambda v: v in ("succeeded", "failed",
                                             "canceled") and v)(
        one(s, "SELECT status FROM jobs WHERE id = %d" % jid)),
        timeout=timeout, step=0.3, what="job %d to end" % jid)
    assert st == "succeeded", one(s, "SELECT error FROM jobs WHERE id = %d"
                                     % jid)


def artifact_files(s):
    out = set()
    for d, _, files in os.walk(s.path("artifacts")):
        out.update(os.path.join(d, f) for f in files)
    return out


def field_error_after(html, field):
    """The message the page shows beside field: the field-error paragraph
    that follows its input (or its drop zone) before any other input."""
    m = re.search(r'<input id="%s" name="%s"[^>]*>(.*?)(?=<input id=|<select|'
                  r'<textarea)' % (field, field), html, re.S)
    assert m, "no %s input in the page" % field
    e = re.search(r'<p class="field-error" id="%s-error">([^<]*)</p>' %
                  field, m.group(1))
    return e.group(1) if e else None


# ---- painting a mask in Chromium --------------------------------------------

def sign_in(b, s, uid):
    tok = make_session(s, uid)
    b.page("Network.setCookie", {"name": "kiln_session", "value": tok,
                                 "url": "http://127.0.0.1:%d/" % s.port,
                                 "httpOnly": True})


def choose_file(b, selector, data, name):
    """Puts data into the file input selector picks, as a drop would."""
    b.evaluate("(function () { var bin = atob(%r), a = new Uint8Array("
               "bin.length); for (var i = 0; i < bin.length; i++)"
               " a[i] = bin.charCodeAt(i); var dt = new DataTransfer();"
               " dt.items.add(new File([a], %r, {type: 'image/png'}));"
               " var e = document.querySelector(%r); e.files = dt.files;"
               " e.dispatchEvent(new Event('change', {bubbles: true}));"
               " return true; })()" % (base64.b64encode(data).decode(),
                                       name, selector))


def drag(b, points):
    """A mouse stroke through points (page coordinates)."""
    x, y = points[0]
    b.page("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x,
                                        "y": y})
    b.page("Input.dispatchMouseEvent", {"type": "mousePressed", "x": x,
                                        "y": y, "button": "left",
                                        "buttons": 1, "clickCount": 1})
    for x, y in points[1:]:
        b.page("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x,
                                            "y": y, "button": "left",
                                            "buttons": 1})
    b.page("Input.dispatchMouseEvent", {"type": "mouseReleased", "x": x,
                                        "y": y, "button": "left",
                                        "buttons": 0, "clickCount": 1})


def submit_job(b, s, uid):
    """Submits the generate form as its button would (the page sends it
    in the background, or the browser posts it): the new job's id."""
    last = int(one(s, "SELECT COALESCE(MAX(id), 0) FROM jobs WHERE"
                      " user_id = %d" % uid))
    b.evaluate("document.querySelector('form[action=\"/generate\"]')"
               ".requestSubmit()")
    return wait_until(lambda: (lambda v: v > last and v)(int(one(
        s, "SELECT COALESCE(MAX(id), 0) FROM jobs WHERE user_id = %d" %
        uid))), timeout=30, step=0.2, what="the new job " + describe(b))


def test_mask_painted_in_chromium_is_the_jobs_mask(s):
    uid, _ = new_user(s, "painter")
    base = "http://127.0.0.1:%d" % s.port
    with cdp.Browser(FLAGS) as b:
        sign_in(b, s, uid)
        b.navigate(base + "/generate")
        gen = 'form[action="/generate"]'
        assert b.exists("#gen-inputs"), describe(b)
        b.evaluate("document.getElementById('gi-inpaint').open = true")
        choose_file(b, "#init_image", init_png(), "init.png")
        poll_page(b, "!document.getElementById('gi-mask-editor').hidden &&"
                     " document.getElementById('gi-mask-canvas').width",
                  lambda w: w == 64, 20, "the mask editor on the image")
        assert b.evaluate("!document.getElementById('gi-init-thumb')"
                          ".hidden"), "no thumbnail " + describe(b)
        b.evaluate("document.getElementById('gi-mask-canvas')"
                   ".scrollIntoView({block: 'center'})")
        r = b.evaluate("(function () { var r = document.getElementById("
                       "'gi-mask-canvas').getBoundingClientRect();"
                       " return [r.left, r.top, r.width, r.height]; })()")
        left, top, w, h = r
        # A stroke across the top-left: image rows about 8, x 8..24.
        drag(b, [(left + w * fx, top + h * 0.125)
                 for fx in (0.125, 0.2, 0.3, 0.375)])
        poll_page(b, "document.getElementById('mask').files.length",
                  lambda n: n == 1, 10, "the painted mask in the input")
        for k, v in (("prompt", FORM["prompt"]), ("steps", "6"),
                     ("seed", "11")):
            b.set_value('%s [name="%s"]' % (gen, k), v)
        jid = submit_job(b, s, uid)
        assert b.problems() == [], b.problems()
    kinds = [r[0] for r in s.sql("SELECT kind FROM job_inputs WHERE"
                                 " job_id = %d ORDER BY kind" % jid)]
    assert kinds == ["init", "mask"], kinds
    w, h, rows = stored_input(s, jid, "mask")
    assert (w, h) == (64, 64)
    # White along the stroke, black far from it.
    assert rows[8][16] == (255, 255, 255), rows[8][16]
    assert rows[8][10][0] > 128, rows[8][10]
    assert rows[48][48] == (0, 0, 0) and rows[40][16] == (0, 0, 0)
    painted = sum(1 for y in range(64) for x in range(64)
                  if rows[y][x][0] > 128)
    assert 40 < painted < 64 * 20, painted
    assert s.sql("SELECT mask_blur IS NOT NULL, outpaint_left FROM jobs"
                 " WHERE id = %d" % jid) == [["1", "NULL"]]
    wait_done(s, jid)
    rel = one(s, "SELECT path FROM job_images WHERE job_id = %d" % jid)
    with open(s.path("artifacts", rel), "rb") as f:
        assert png_decode(f.read())[:2] == (64, 64)


def test_the_inputs_fit_a_phone_with_every_section_open(s):
    uid, _ = new_user(s, "phone")
    base = "http://127.0.0.1:%d" % s.port
    with cdp.Browser(FLAGS) as b:
        sign_in(b, s, uid)
        for scheme in ("light", "dark"):
            set_view(b, 390, 844, scheme)
            b.navigate(base + "/generate")
            b.evaluate("document.querySelectorAll('#gen-inputs details')"
                       ".forEach(function (d) { d.open = true; })")
            # No image yet: no editor shown, the hint to choose one.
            assert b.evaluate("document.getElementById('gi-mask-editor')"
                              ".getBoundingClientRect().height") == 0
            assert b.evaluate("document.getElementById('gi-no-init')"
                              ".getBoundingClientRect().height") > 0
            choose_file(b, "#init_image", init_png(512, 384), "big.png")
            poll_page(b, "!document.getElementById('gi-mask-editor')"
                         ".hidden", bool, 20, "the mask editor")
            m = b.evaluate(MEASURE)
            assert m["scrollWidth"] <= 390 and m["wide"] == [], m
            # Every button and summary a finger can hit.
            assert m["small"] == [], m["small"]
            m = b.page("Page.getLayoutMetrics")
            size = m.get("cssContentSize") or m["contentSize"]
            assert size["width"] <= 390, size
        assert b.problems() == [], b.problems()


def test_inpaint_this_opens_the_mask_editor_on_the_users_image(s):
    uid, _ = new_user(s, "inpaintthis")
    key = make_key(s, uid, "read,generate")
    j = rendered(s, key, {"prompt": "p", "steps": 2, "seed": 7})
    base = "http://127.0.0.1:%d" % s.port
    with cdp.Browser(FLAGS) as b:
        sign_in(b, s, uid)
        b.navigate(base + "/generate?init=%d-0&mode=inpaint" % j["id"])
        # No file to choose: the editor opens on the job's image.
        poll_page(b, "document.getElementById('gi-inpaint').open &&"
                     " !document.getElementById('gi-mask-editor').hidden &&"
                     " document.getElementById('gi-mask-canvas').width",
                  lambda w: w == 64, 20, "the mask editor " + describe(b))
        b.evaluate("document.getElementById('gi-mask-canvas')"
                   ".scrollIntoView({block: 'center'})")
        left, top, w, h = b.evaluate(
            "(function () { var r = document.getElementById("
            "'gi-mask-canvas').getBoundingClientRect();"
            " return [r.left, r.top, r.width, r.height]; })()")
        # Bottom right: image rows about 56, x 40..56.
        drag(b, [(left + w * fx, top + h * 0.875)
                 for fx in (0.625, 0.75, 0.875)])
        poll_page(b, "document.getElementById('mask').files.length",
                  lambda n: n == 1, 10, "the painted mask in the input")
        # The editor as the README shows it, light and dark.
        for scheme in ("light", "dark"):
            set_view(b, 1366, 900, scheme)
            b.evaluate("document.getElementById('gen-inputs')"
                       ".scrollIntoView({block: 'start'})")
            shot(b, s, "inpaint-editor-%s.png" % scheme)
        gen = 'form[action="/generate"]'
        b.set_value('%s [name="prompt"]' % gen, "a star")
        jid = submit_job(b, s, uid)
        assert b.problems() == [], b.problems()
    rel = one(s, "SELECT path FROM job_images WHERE job_id = %d" % j["id"])
    with open(s.path("artifacts", rel), "rb") as f:
        assert stored_input(s, jid, "init") == png_decode(f.read())
    _, _, rows = stored_input(s, jid, "mask")
    assert rows[56][48] == (255, 255, 255) and rows[8][8] == (0, 0, 0)
    wait_done(s, jid)


def shot(b, s, name):
    """A screenshot of the window, kept in KILN_SCREENSHOT_DIR when set
    (the README's pictures) and in the stack's directory."""
    path = s.path(name)
    b.screenshot(path)
    if os.environ.get("KILN_SCREENSHOT_DIR"):
        shutil.copy(path, os.path.join(os.environ["KILN_SCREENSHOT_DIR"],
                                       name))
    return path


def file_js(data, name):
    return ("(function () { var bin = atob(%r), a = new Uint8Array("
            "bin.length); for (var i = 0; i < bin.length; i++)"
            " a[i] = bin.charCodeAt(i); var dt = new DataTransfer();"
            " dt.items.add(new File([a], %r, {type: 'image/png'}));"
            " return dt; })()" % (base64.b64encode(data).decode(), name))


def test_paste_drop_and_the_live_edge_preview_in_chromium(s):
    uid, _ = new_user(s, "dropper")
    base = "http://127.0.0.1:%d" % s.port
    png = control_png()
    with cdp.Browser(FLAGS) as b:
        sign_in(b, s, uid)
        b.navigate(base + "/generate")
        # Ctrl+V of an image anywhere but a text box: the init image.
        b.evaluate("document.dispatchEvent(new ClipboardEvent('paste',"
                   " {clipboardData: %s, bubbles: true}))" %
                   file_js(init_png(), "pasted.png"))
        poll_page(b, "document.getElementById('init_image').files.length"
                     " && !document.getElementById('gi-init-thumb').hidden"
                     " && document.getElementById('gi-init-thumb')"
                     ".naturalWidth", lambda w: w == 64, 10,
                  "the pasted image's thumbnail")
        # A drop on the ControlNet zone: its image, and its edges shown.
        b.evaluate("document.getElementById('gi-controlnet').open = true")
        b.evaluate("document.getElementById('gi-control-drop')"
                   ".dispatchEvent(new DragEvent('drop', {dataTransfer:"
                   " %s, bubbles: true, cancelable: true}))" %
                   file_js(png, "control.png"))
        src = poll_page(b, "!document.getElementById('gi-canny').hidden &&"
                           " document.getElementById('gi-canny-img').src",
                        lambda v: bool(v) and v.startswith("data:"), 20,
                        "the edge preview")
        got = edges_of(base64.b64decode(src.split(",", 1)[1]))
        # The form's defaults: 64x64 (the placeholders), 100 and 200.
        assert (got == opencv_canny(png, 100, 200)).all()
        # New thresholds, new edges, without a click.
        b.set_value("#controlnet_low_threshold", "50")
        b.set_value("#controlnet_high_threshold", "150")
        want = opencv_canny(png, 50, 150)
        poll_page(b, "document.getElementById('gi-canny-img').src",
                  lambda v: (edges_of(base64.b64decode(v.split(",", 1)[1]))
                             == want).all(), 20, "the preview at 50/150")
        b.evaluate("document.getElementById('gi-controlnet')"
                   ".scrollIntoView({block: 'start'})")
        shot(b, s, "controlnet-preview.png")
        # A bad threshold: the server's message beside the preview.
        b.set_value("#controlnet_low_threshold", "180")
        poll_page(b, "document.getElementById('gi-canny-error').textContent",
                  lambda t: t.startswith("controlnet_high_threshold"), 20,
                  "the threshold error")
        # A file over the limit is refused before it is sent.
        before = job_count(s)
        b.evaluate("document.getElementById('gen-inputs')"
                   ".setAttribute('data-max-bytes', '100')")
        choose_file(b, "#init_image", init_png(), "big.png")
        msg = b.evaluate("document.getElementById('init_image-jserror')"
                         ".textContent")
        assert msg.startswith("init_image is larger than the limit"), msg
        b.set_value('form[action="/generate"] [name="prompt"]', "x")
        status = b.evaluate("(document.getElementById('studio-status')"
                            " || {}).textContent")
        b.evaluate("document.querySelector('form[action=\"/generate\"]')"
                   ".requestSubmit()")
        time.sleep(1)
        assert b.path() == "/generate" and job_count(s) == before
        # Nor sent in the background: the page's status is as it was.
        assert b.evaluate("(document.getElementById('studio-status')"
                          " || {}).textContent") == status, describe(b)
        assert b.problems() == [], b.problems()


# ---- the same form without scripts ------------------------------------------

def test_uploaded_mask_without_scripts(s):
    uid, _ = new_user(s, "nojs")
    cookie, csrf = browser(s, uid)
    r = post(s, cookie, csrf, "/generate", form_fields(mask_blur="2"),
             [("init_image", "i.png", init_png()),
              ("mask", "m.png", left_mask())])
    jid = new_job_id(r)
    assert stored_input(s, jid, "mask") == png_decode(left_mask())
    assert stored_input(s, jid, "init") == png_decode(init_png())
    assert s.sql("SELECT mask_blur, denoising_strength FROM jobs WHERE"
                 " id = %d" % jid) == [["2", "0.75"]]
    wait_done(s, jid)


def test_outpaint_sides_become_the_jobs_outpaint(s):
    uid, _ = new_user(s, "outpaint")
    cookie, csrf = browser(s, uid)
    r = post(s, cookie, csrf, "/generate",
             form_fields() + [("outpaint_side", "left"),
                              ("outpaint_side", "down"),
                              ("outpaint_px", "32")],
             [("init_image", "i.png", init_png())])
    jid = new_job_id(r)
    assert s.sql("SELECT outpaint_left, outpaint_right, outpaint_up,"
                 " outpaint_down, width, height, inpainting_fill FROM jobs"
                 " WHERE id = %d" % jid) == \
        [["32", "0", "0", "32", "96", "96", "0"]]
    # No side ticked: no outpaint, whatever the amount says.
    r = post(s, cookie, csrf, "/generate",
             form_fields() + [("outpaint_px", "32")],
             [("init_image", "i.png", init_png())])
    jid2 = new_job_id(r)
    assert s.sql("SELECT outpaint_left, mask_blur FROM jobs WHERE id = %d"
                 % jid2) == [["NULL", "NULL"]]
    # The page offers the sides as checkboxes.
    page = s.request("GET", "/generate", headers={"Cookie": cookie}).text
    assert page.count('name="outpaint_side"') == 4, page


# ---- the canny preview --------------------------------------------------------

def control_png():
    # Shapes with every edge direction: a disc, a square, a diagonal.
    def px(x, y):
        if (x - 40) ** 2 + (y - 24) ** 2 < 150:
            return (240, 60, 40)
        if 8 <= x < 28 and 30 <= y < 56:
            return (30, 200, 90)
        if abs(x - y) < 2:
            return (250, 250, 250)
        # A faint square: a gradient of 4 x 45 = 180, an edge at
        # thresholds 50/150 but not at 200/250.
        if 44 <= x < 60 and 40 <= y < 60:
            return (65 + x, 40, 120 + y)
        return (20 + x, 40, 120 + y)
    return png_encode(64, 64, px)


def opencv_canny(png, low, high):
    import cv2
    import numpy as np
    w, h, rows = png_decode(png)
    img = np.array(rows, np.uint8).reshape(h, w, 3)
    return cv2.Canny(img, low, high)


def edges_of(png):
    import numpy as np
    w, h, rows = png_decode(png)
    a = np.array(rows, np.uint8).reshape(h, w, 3)
    assert (a[..., 0] == a[..., 1]).all() and (a[..., 1] == a[..., 2]).all()
    return a[..., 0]


def test_canny_preview_is_opencvs_and_the_engines(s):
    import numpy as np
    uid, _ = new_user(s, "canny")
    cookie, csrf = browser(s, uid)
    png = control_png()
    r = post(s, cookie, csrf, "/generate/canny",
             [("controlnet_low_threshold", "50"),
              ("controlnet_high_threshold", "150"), ("width", "64"),
              ("height", "64")], [("control_image", "c.png", png)])
    assert r.status == 200 and r.headers["content-type"] == "image/png", \
        (r.status, r.text[:500])
    got = edges_of(r.body)
    ref = opencv_canny(png, 50, 150)
    assert got.sum() > 0
    assert (got == ref).all(), "%d pixels differ" % (got != ref).sum()
    # kiln-render canny (the engine's code) agrees too.
    src, out = s.path("canny-in.png"), s.path("canny-out.png")
    with open(src, "wb") as f:
        f.write(png)
    p = subprocess.run([os.path.join(harness.BUILD, "render-daemon",
                                     "kiln-render"), "canny", "--in", src,
                        "--low", "50", "--high", "150", "-o", out],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    with open(out, "rb") as f:
        assert (edges_of(f.read()) == got).all()
    # Other thresholds, other edges: the fields are used.
    r2 = post(s, cookie, csrf, "/generate/canny",
              [("controlnet_low_threshold", "200"),
               ("controlnet_high_threshold", "250")],
              [("control_image", "c.png", png)])
    assert (edges_of(r2.body) == opencv_canny(png, 200, 250)).all()
    assert not np.array_equal(edges_of(r2.body), got)
    # A bad threshold names its field.
    r3 = post(s, cookie, csrf, "/generate/canny",
              [("controlnet_low_threshold", "300")],
              [("control_image", "c.png", png)])
    assert r3.status == 200, r3.status
    assert r3.headers["content-type"].startswith("application/json")
    j = json.loads(r3.text)
    assert j["field"] == "controlnet_low_threshold" and \
        j["message"].startswith("controlnet_low_threshold must be"), j
    # No image: the field to fill.
    r4 = post(s, cookie, csrf, "/generate/canny", [])
    assert json.loads(r4.text)["field"] == "control_image", r4.text


def test_canny_preview_without_scripts_shows_the_form(s):
    uid, _ = new_user(s, "cannynojs")
    cookie, csrf = browser(s, uid)
    png = control_png()
    before = job_count(s)
    r = post(s, cookie, csrf, "/generate",
             form_fields(controlnet_model="kiln-micro-canny",
                         controlnet_low_threshold="50",
                         controlnet_high_threshold="150",
                         canny_preview="1"),
             [("control_image", "c.png", png)])
    assert r.status == 200, (r.status, r.text[:2000])
    m = re.search(r'<img id="gi-canny-img"[^>]* src="data:image/png;base64,'
                  r'([A-Za-z0-9+/=]+)"', r.text)
    assert m, r.text
    got = edges_of(base64.b64decode(m.group(1)))
    assert (got == opencv_canny(png, 50, 150)).all()
    # The form keeps what was typed, and no job was made.
    assert 'value="50"' in r.text and FORM["prompt"] in r.text
    assert job_count(s) == before


def test_controlnet_job_from_the_form(s):
    uid, _ = new_user(s, "cnform")
    cookie, csrf = browser(s, uid)
    page = s.request("GET", "/generate", headers={"Cookie": cookie}).text
    assert "<option>kiln-micro-canny</option>" in page
    r = post(s, cookie, csrf, "/generate",
             form_fields(controlnet_model="kiln-micro-canny",
                         controlnet_preprocessor="canny",
                         controlnet_low_threshold="50",
                         controlnet_weight="0.8"),
             [("control_image", "c.png", control_png())])
    jid = new_job_id(r)
    assert s.sql("SELECT controlnet_model, controlnet_weight,"
                 " controlnet_preprocessor, controlnet_low,"
                 " controlnet_high FROM jobs WHERE id = %d" % jid) == \
        [["kiln-micro-canny", "0.8", "canny", "50", "200"]]
    # The menus alone (no ControlNet chosen) ask for none.
    r = post(s, cookie, csrf, "/generate",
             form_fields(controlnet_preprocessor="canny"))
    jid = new_job_id(r)
    assert one(s, "SELECT controlnet_model FROM jobs WHERE id = %d" %
               jid) == "NULL"


# ---- an init image from one of the user's jobs ---------------------------------

def test_init_from_own_job(s):
    uid, _ = new_user(s, "initfrom")
    key = make_key(s, uid, "read,generate")
    j = rendered(s, key, {"prompt": "p", "steps": 2, "seed": 3})
    cookie, csrf = browser(s, uid)
    r = s.request("GET", "/generate?init=%d-0&mode=inpaint" % j["id"],
                  headers={"Cookie": cookie})
    assert r.status == 200, r.status
    assert ('<input type="hidden" id="init_from" name="init_from"'
            ' value="%d-0">' % j["id"]) in r.text
    assert 'src="/api/v1/images/%d-0.png"' % j["id"] in r.text
    assert 'data-inpaint="1"' in r.text
    assert re.search(r'<details class="gi-section" id="gi-inpaint" open>',
                     r.text)
    r = post(s, cookie, csrf, "/generate",
             form_fields(init_from="%d-0" % j["id"],
                         denoising_strength="0.5"),
             [("init_image", "", b"")])
    jid = new_job_id(r)
    rel = one(s, "SELECT path FROM job_images WHERE job_id = %d" % j["id"])
    with open(s.path("artifacts", rel), "rb") as f:
        src = png_decode(f.read())
    assert stored_input(s, jid, "init") == src
    assert one(s, "SELECT denoising_strength FROM jobs WHERE id = %d" %
               jid) == "0.5"
    wait_done(s, jid)


def test_init_from_another_users_job_is_404(s):
    owner, _ = new_user(s, "owner")
    key = make_key(s, owner, "read,generate")
    j = rendered(s, key, {"prompt": "p", "steps": 2, "seed": 4})
    other, _ = new_user(s, "other")
    cookie, csrf = browser(s, other)
    for q in ("%d-0" % j["id"], "%d-5" % j["id"], "x-0", "%d" % j["id"]):
        r = s.request("GET", "/generate?init=" + q,
                      headers={"Cookie": cookie})
        assert r.status == 404, (q, r.status)
    before, files = job_count(s), artifact_files(s)
    r = post(s, cookie, csrf, "/generate",
             form_fields(init_from="%d-0" % j["id"]))
    assert r.status == 422, r.status
    assert "not one of yours" in field_error_after(r.text, "init_image")
    assert job_count(s) == before and artifact_files(s) == files
    # A deleted job's images are gone for its owner too.
    s.sql("UPDATE jobs SET deleted_at = NOW() WHERE id = %d" % j["id"])
    ocookie, _ = browser(s, owner)
    r = s.request("GET", "/generate?init=%d-0" % j["id"],
                  headers={"Cookie": ocookie})
    assert r.status == 404


# ---- bad uploads ---------------------------------------------------------------

def refused(s, files, field, expect, **kw):
    uid, _ = new_user(s, "bad")
    cookie, csrf = browser(s, uid)
    before, stored = job_count(s), artifact_files(s)
    ninputs = one(s, "SELECT COUNT(*) FROM job_inputs")
    r = post(s, cookie, csrf, "/generate", form_fields(**kw), files,
             timeout=120)
    assert r.status == 422, (r.status, r.text[:1000])
    msg = field_error_after(r.text, field)
    assert msg is not None and expect in msg, (msg, expect)
    assert job_count(s) == before
    assert one(s, "SELECT COUNT(*) FROM job_inputs") == ninputs
    assert artifact_files(s) == stored
    assert not os.listdir(s.path("artifacts", "tmp")) \
        if os.path.isdir(s.path("artifacts", "tmp")) else True
    return msg


def test_text_named_png_is_refused_beside_the_field(s):
    refused(s, [("init_image", "notes.png", b"just some text\n" * 20)],
            "init_image", "is not a PNG or JPEG image")


def test_gif_is_refused_beside_the_field(s):
    gif = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!"
           b"\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00"
           b"\x00\x02\x02D\x01\x00;")
    refused(s, [("init_image", "a.gif", gif)], "init_image",
            "is not a PNG or JPEG image")


def test_truncated_png_is_refused_beside_the_field(s):
    png = init_png()
    refused(s, [("init_image", "cut.png", png[:len(png) // 2])],
            "init_image", "truncated or corrupt PNG")


def test_decompression_bomb_is_refused_from_its_header(s):
    bomb = bomb_png()
    assert len(bomb) < 2 * 1048576
    msg = refused(s, [("init_image", "bomb.png", bomb)], "init_image",
                  "is 20000x20000 pixels")
    assert "the limit is 8192 on a side" in msg


def test_50_mb_file_is_refused_beside_the_field(s):
    big = init_png() + b"\0" * (50 * 1048576)
    refused(s, [("init_image", "big.png", big)], "init_image",
            "over the limit of 20 MB")


def test_form_too_large_to_read_names_the_image_fields(s):
    uid, _ = new_user(s, "huge")
    cookie, csrf = browser(s, uid)
    before, stored = job_count(s), artifact_files(s)
    # Over the 81 MB one form may hold with 20 MB images: not read.
    big = init_png() + b"\0" * (85 * 1048576)
    r = post(s, cookie, csrf, "/generate", form_fields(),
             [("init_image", "huge.png", big)], timeout=120)
    assert r.status == 413, r.status
    text = re.sub(r"<[^>]+>", "", r.text)
    assert "init_image, mask, control_image" in text, text
    assert "at most 20 MB" in text and "nothing was made" in text, text
    assert job_count(s) == before and artifact_files(s) == stored


def test_mask_of_another_size_is_refused_beside_the_field(s):
    refused(s, [("init_image", "i.png", init_png()),
                ("mask", "m.png", left_mask(32, 32))], "mask",
            "is 32x32; it must be the size of init_image, 64x64")
