"""The job page's images (issue 25) through a real stack (lighttpd,
kilnd with kiln-micro, MariaDB): the ZIP of a job's images (the files
byte for byte as served, a manifest that matches the database), 404 for
another user's job; "vary" and "upscale" as new jobs made through the
ordinary submission path (same settings and a new seed, credits
charged; an upscale job twice the size); the lightbox in Chromium; and
batches from a CSV file: refused with every problem named by row and
column and nothing queued, or queued one job per row with a ZIP whose
manifest names every file."""

import hashlib
import io
import json
import math
import os
import re
import urllib.parse
import zipfile

import cdp
from common import (api, browser, error_of, job_count, new_user, one,
                    png_size, post_form, rendered, user_with_key, make_key,
                    wait_db)
from harness import wait_until
from test_browser import FLAGS, set_view, sign_in_cookie

STACK = dict(server="lighttpd", heartbeat=1, daemon_name="images-1",
             extra_conf="[limits]\nsubmit_burst = 100000\n")

RECIPE = {"prompt": "two blue squares", "negative_prompt": "blur",
          "steps": 2, "batch_count": 2, "seed": 7, "cfg_scale": 4.5,
          "sampler": "euler", "width": 64, "height": 64}


def job_fixture(s):
    """A user with a key and a signed-in browser, and a rendered job of
    RECIPE (two images): (uid, key, cookie, csrf, job JSON)."""
    uid, key = user_with_key(s, prefix="imgs")
    cookie, csrf = browser(s, uid)
    j = rendered(s, key, RECIPE)
    return uid, key, cookie, csrf, j


def get(s, path, cookie=None, key=None):
    h = {}
    if cookie:
        h["Cookie"] = cookie
    if key:
        h["Authorization"] = "Bearer " + key
    return s.request("GET", path, headers=h, timeout=30)


def served_png(s, key, jid, idx):
    r = api(s, "GET", "/api/v1/images/%d-%d.png" % (jid, idx), key)
    assert r.status == 200, (r.status, r.text[:300])
    return r.body


def open_zip(r, where):
    assert r.status == 200, "%s: %d %s" % (where, r.status, r.text[:500])
    assert r.headers.get("content-type") == "application/zip", r.headers
    assert "attachment" in r.headers.get("content-disposition", ""), \
        r.headers
    z = zipfile.ZipFile(io.BytesIO(r.body))
    assert z.testzip() is None, "%s: a corrupt member" % where
    return z


def check_job_zip(s, key, z, jid):
    """The ZIP of job jid: its PNGs equal the served ones byte for byte
    and the manifest lists each with the database's seed and size and
    the file's SHA-256, beside the job's parameters."""
    rows = s.sql("SELECT idx, seed, width, height FROM job_images WHERE"
                 " job_id = %d ORDER BY idx" % jid)
    assert len(rows) == 2, rows
    names = sorted(z.namelist())
    want = sorted(["manifest.json"] + ["kiln-%d-%s.png" % (jid, r[0])
                                       for r in rows])
    assert names == want, names
    man = json.loads(z.read("manifest.json"))
    assert man["job"]["id"] == jid
    for k in ("prompt", "negative_prompt", "steps", "batch_count", "seed",
              "sampler", "width", "height"):
        assert man["job"][k] == RECIPE[k], (k, man["job"][k])
    assert man["job"]["cfg_scale"] == 4.5
    assert len(man["files"]) == 2
    for f, (idx, seed, w, h) in zip(man["files"], rows):
        data = z.read(f["name"])
        assert data == served_png(s, key, jid, int(idx)), f["name"]
        assert f["name"] == "kiln-%d-%s.png" % (jid, idx)
        assert f["index"] == int(idx) and f["job_id"] == jid
        assert f["seed"] == int(seed), (f, seed)
        assert (f["width"], f["height"]) == (int(w), int(h))
        assert png_size(data, f["name"]) == (int(w), int(h))
        assert f["bytes"] == len(data)
        assert f["sha256"] == hashlib.sha256(data).hexdigest()


def test_job_zip_holds_the_served_images_and_a_manifest(s):
    uid, key, cookie, csrf, j = job_fixture(s)
    z = open_zip(get(s, "/jobs/%d/images.zip" % j["id"], cookie=cookie),
                 "portal zip")
    check_job_zip(s, key, z, j["id"])


def test_api_zip_answers_a_key_and_a_session(s):
    uid, key, cookie, csrf, j = job_fixture(s)
    path = "/api/v1/jobs/%d/images.zip" % j["id"]
    check_job_zip(s, key, open_zip(get(s, path, key=key), "api key"),
                  j["id"])
    check_job_zip(s, key, open_zip(get(s, path, cookie=cookie),
                                   "api session"), j["id"])


def test_another_users_job_zip_is_404(s):
    uid, key, cookie, csrf, j = job_fixture(s)
    other, okey = user_with_key(s, prefix="eve")
    ocookie, _ = browser(s, other)
    r = get(s, "/jobs/%d/images.zip" % j["id"], cookie=ocookie)
    assert r.status == 404, (r.status, r.text[:300])
    assert "PK" not in r.body[:4].decode("latin-1")
    error_of(api(s, "GET", "/api/v1/jobs/%d/images.zip" % j["id"], okey),
             404, "not_found", "api zip of another user's job")
    error_of(api(s, "GET", "/api/v1/jobs/999999999/images.zip", key), 404,
             "not_found", "no such job")
    # Signed out: the portal sends to the login page.
    r = get(s, "/jobs/%d/images.zip" % j["id"])
    assert r.status in (302, 303) and "/login" in r.headers["location"], \
        r.status


def credits(s, uid):
    return int(one(s, "SELECT credits FROM users WHERE id = %d" % uid))


def new_job_after(s, r, old):
    """The job a redirect after a POST names (and it is newer than old)."""
    assert r.status == 303, (r.status, r.text[:800])
    m = re.fullmatch(r"/jobs/(\d+)", r.headers["location"])
    assert m, r.headers["location"]
    jid = int(m.group(1))
    assert jid > old
    return jid


RECIPE_COLS = ("prompt", "negative_prompt", "model", "width", "height",
               "steps", "cfg_scale", "sampler", "batch_count", "kind",
               "loras", "hires_scale", "denoising_strength")


def test_vary_queues_the_same_settings_with_a_new_seed_and_charges(s):
    uid, key, cookie, csrf, j = job_fixture(s)
    before = credits(s, uid)
    r = post_form(s, cookie, "/jobs/%d/vary" % j["id"], {"csrf": csrf})
    new = new_job_after(s, r, j["id"])
    # The new job's page says once what was done (the flash cookie).
    flash = r.headers.get("set-cookie", "").split(";")[0]
    assert flash == "kiln_flash=varied", r.headers
    page = get(s, "/jobs/%d" % new, cookie=cookie + "; " + flash).text
    assert "Queued: the same settings with a new seed." in page
    cols = ", ".join(RECIPE_COLS)
    assert s.sql("SELECT %s FROM jobs WHERE id = %d" % (cols, new)) == \
        s.sql("SELECT %s FROM jobs WHERE id = %d" % (cols, j["id"]))
    assert one(s, "SELECT user_id FROM jobs WHERE id = %d" % new) == \
        str(uid)
    seeds = [one(s, "SELECT seed FROM jobs WHERE id = %d" % x)
             for x in (j["id"], new)]
    assert seeds[0] == "7" and seeds[1] != seeds[0], seeds
    # Charged as POST /api/v1/jobs charges: ceil(64*64*2*2 / 512^2).
    cost = math.ceil(64 * 64 * 2 * 2 / 262144)
    assert one(s, "SELECT cost FROM jobs WHERE id = %d" % new) == str(cost)
    assert credits(s, uid) == before - cost
    wait_db(s, new, ("succeeded",), timeout=120)


def test_vary_of_an_inpainting_job_keeps_its_images_and_parameters(s):
    import base64
    from test_input_jobs import init_png, left_mask
    uid, key = user_with_key(s, prefix="inp")
    cookie, csrf = browser(s, uid)
    init, mask = init_png(), left_mask()
    j = rendered(s, key, {"prompt": "a yellow square", "steps": 4,
                          "seed": 3, "denoising_strength": 0.6,
                          "mask_blur": 2, "inpainting_fill": 1,
                          "init_image": base64.b64encode(init).decode(),
                          "mask": base64.b64encode(mask).decode()})
    r = post_form(s, cookie, "/jobs/%d/vary" % j["id"], {"csrf": csrf})
    new = new_job_after(s, r, j["id"])
    cols = ", ".join(RECIPE_COLS + ("resize_mode", "mask_blur",
                                    "inpainting_fill", "inpaint_full_res",
                                    "inpainting_mask_invert"))
    assert s.sql("SELECT %s FROM jobs WHERE id = %d" % (cols, new)) == \
        s.sql("SELECT %s FROM jobs WHERE id = %d" % (cols, j["id"]))
    # The same images in, stored again for the new job.
    q = ("SELECT kind, width, height, sha256 FROM job_inputs WHERE"
         " job_id = %d ORDER BY kind")
    old_in = s.sql(q % j["id"])
    assert [x[0] for x in old_in] == ["init", "mask"], old_in
    assert s.sql(q % new) == old_in
    for kind in ("init", "mask"):
        a = api(s, "GET", "/api/v1/jobs/%d/inputs/%s.png" % (j["id"], kind),
                key)
        b = api(s, "GET", "/api/v1/jobs/%d/inputs/%s.png" % (new, kind), key)
        assert a.status == b.status == 200 and a.body == b.body, kind
    wait_db(s, new, ("succeeded",), timeout=120)


def test_vary_without_credits_is_refused_and_queues_nothing(s):
    uid, key, cookie, csrf, j = job_fixture(s)
    s.sql("UPDATE users SET credits = 0 WHERE id = %d" % uid)
    n = job_count(s)
    r = post_form(s, cookie, "/jobs/%d/vary" % j["id"], {"csrf": csrf})
    assert r.status == 402, (r.status, r.text[:500])
    assert "credit" in r.text
    assert job_count(s) == n


def test_vary_and_upscale_of_another_users_job_are_404(s):
    uid, key, cookie, csrf, j = job_fixture(s)
    other, _ = new_user(s, "mallory")
    ocookie, ocsrf = browser(s, other)
    n = job_count(s)
    for path in ("/jobs/%d/vary" % j["id"],
                 "/jobs/%d/images/0/upscale" % j["id"]):
        r = post_form(s, ocookie, path, {"csrf": ocsrf})
        assert r.status == 404, (path, r.status, r.text[:300])
    # Nor without the CSRF token, even for the owner.
    r = post_form(s, cookie, "/jobs/%d/vary" % j["id"], {"csrf": "x" * 43})
    assert r.status == 403, r.status
    # An image the job does not have.
    r = post_form(s, cookie, "/jobs/%d/images/5/upscale" % j["id"],
                  {"csrf": csrf})
    assert r.status == 404, r.status
    assert job_count(s) == n


def test_upscale_makes_an_upscale_job_twice_the_size(s):
    uid, key, cookie, csrf, j = job_fixture(s)
    src = served_png(s, key, j["id"], 1)
    before = credits(s, uid)
    r = post_form(s, cookie, "/jobs/%d/images/1/upscale" % j["id"],
                  {"csrf": csrf})
    new = new_job_after(s, r, j["id"])
    row = s.sql("SELECT kind, upscaler, upscale_by, width, height, cost"
                " FROM jobs WHERE id = %d" % new)[0]
    # By 2 with the default upscaler: the first usable model of the
    # stack's [paths] upscalers (the committed kiln-upscale-x4), which
    # the page's button names.
    assert row[:5] == ["upscale", "kiln-upscale-x4", "2", "128", "128"], row
    page = get(s, "/jobs/%d" % j["id"], cookie=cookie).text
    # (The sign is the character now: the title is a translated sentence.)
    assert 'title="Upscale 2\u00d7 with kiln-upscale-x4"' in page
    assert credits(s, uid) == before - int(row[5])
    # Its init image is that image (stored again as the job's input).
    w, h = png_size(src, "source")
    assert s.sql("SELECT kind, width, height FROM job_inputs WHERE job_id"
                 " = %d" % new) == [["init", str(w), str(h)]]
    wait_db(s, new, ("succeeded",), timeout=120)
    out = served_png(s, key, new, 0)
    assert png_size(out, "upscaled") == (2 * w, 2 * h)


def test_job_page_works_without_scripts(s):
    """Each image is a link to its PNG; the actions are links and
    forms with the CSRF token; a ZIP link."""
    uid, key, cookie, csrf, j = job_fixture(s)
    jid = j["id"]
    html = get(s, "/jobs/%d" % jid, cookie=cookie).text
    for i, seed in enumerate(im["seed"] for im in j["images"]):
        png = "/api/v1/images/%d-%d.png" % (jid, i)
        assert re.search(r'<a class="lb-open" href="%s"[^>]*><img src="%s"'
                         % (re.escape(png), re.escape(png)), html), i
        assert 'href="/generate?from=%d&amp;seed=%d"' % (jid, seed) in html
        assert 'href="/generate?init=%d-%d"' % (jid, i) in html
        assert 'href="/generate?init=%d-%d&amp;mode=inpaint"' % (jid, i) \
            in html
        assert 'action="/jobs/%d/images/%d/upscale"' % (jid, i) in html
    assert html.count('action="/jobs/%d/vary"' % jid) == 2
    assert 'href="/jobs/%d/images.zip"' % jid in html
    forms = re.findall(r'<form method="post" action="/jobs/%d/(?:vary|'
                       r'images/\d/upscale)" class="inline">\s*<input '
                       r'type="hidden" name="csrf" value="([^"]+)"' % jid,
                       html)
    assert len(forms) == 4 and set(forms) == {csrf}, forms
    # The lightbox's markup is there but hidden until a script opens it.
    assert re.search(r'<div class="lightbox" id="lightbox"[^>]* hidden>',
                     html)
    assert 'src="/static/lightbox.js"' in html


WIDE = "document.documentElement.scrollWidth"


def test_lightbox_opens_navigates_zooms_and_closes_in_chromium(s):
    uid, key, cookie, csrf, j = job_fixture(s)
    jid = j["id"]
    base = "http://127.0.0.1:%d" % s.port
    with cdp.Browser(FLAGS) as b:
        sign_in_cookie(b, s, uid)
        set_view(b, 1366, 900, "light")
        b.navigate(base + "/jobs/%d" % jid)
        assert b.evaluate("document.getElementById('lightbox').hidden")
        state = ("(function () { var b = document.getElementById("
                 "'lightbox'), i = document.getElementById('lb-img');"
                 " return [b.hidden, i.getAttribute('src'),"
                 " b.getAttribute('data-zoom'),"
                 " document.getElementById('lb-count').textContent,"
                 " i.complete && i.naturalWidth]; })()")
        png = "/api/v1/images/%d-%%d.png" % jid
        # A click on the first image opens it, full size, not the link.
        b.evaluate("document.querySelector('a.lb-open').click()")
        assert b.path() == "/jobs/%d" % jid
        wait_until(lambda: b.evaluate(state)[4] == 64, timeout=10,
                   what="the full-size image")
        assert b.evaluate(state)[:4] == [False, png % 0, "0", "1 of 2"]
        key_js = ("document.dispatchEvent(new KeyboardEvent('keydown',"
                  " {key: %s, bubbles: true}))")
        b.evaluate(key_js % json.dumps("ArrowRight"))
        assert b.evaluate(state)[:4] == [False, png % 1, "0", "2 of 2"]
        b.evaluate(key_js % json.dumps("ArrowRight"))   # wraps around
        assert b.evaluate(state)[1] == png % 0
        b.evaluate("document.getElementById('lb-prev').click()")
        assert b.evaluate(state)[1] == png % 1
        # Zoom: + twice, then - once; a click on the image toggles.
        b.evaluate(key_js % json.dumps("+"))
        b.evaluate("document.getElementById('lb-zoom-in').click()")
        assert b.evaluate(state)[2] == "2"
        # Twice doubled from the size that fits the screen.
        fit, got = b.evaluate(
            "(function () { var s = document.getElementById('lb-stage');"
            " return [Math.min(s.clientWidth, s.clientHeight),"
            " document.getElementById('lb-img').getBoundingClientRect()"
            ".width]; })()")
        assert fit > 64 and abs(got - 4 * fit) <= 1, (fit, got)
        b.evaluate(key_js % json.dumps("-"))
        assert b.evaluate(state)[2] == "1"
        b.evaluate("document.getElementById('lb-img').click()")
        assert b.evaluate(state)[2] == "0"
        # Download names the file; copy shows only where it can work.
        assert b.evaluate("document.getElementById('lb-download')"
                          ".getAttribute('download')") == \
            "kiln-%d-1.png" % jid
        can = b.evaluate("!!(window.ClipboardItem && navigator.clipboard"
                         " && window.isSecureContext)")
        hidden = b.evaluate("document.getElementById('lb-copy')"
                            ".classList.contains('hidden')")
        assert hidden == (not can), (can, hidden)
        b.evaluate(key_js % json.dumps("Escape"))
        assert b.evaluate(state)[0] is True
        # The close button too, after opening the second image.
        b.evaluate("document.querySelectorAll('a.lb-open')[1].click()")
        assert b.evaluate(state)[:2] == [False, png % 1]
        b.evaluate("document.getElementById('lb-close').click()")
        assert b.evaluate(state)[0] is True

        # A phone: neither the page nor the open lightbox is wider.
        set_view(b, 390, 844, "dark")
        b.navigate(base + "/jobs/%d" % jid)
        assert b.evaluate(WIDE) <= 390, b.evaluate(WIDE)
        b.evaluate("document.querySelector('a.lb-open').click()")
        assert b.evaluate(state)[0] is False
        assert b.evaluate(WIDE) <= 390, b.evaluate(WIDE)
        b.evaluate(key_js % json.dumps("Escape"))
        assert b.problems() == [], b.problems()


# --------------------------------------------------------- CSV batches


def multipart(fields, files):
    """A multipart/form-data body: (content type, bytes)."""
    bnd = "kilnbnd" + os.urandom(8).hex()
    out = b""
    for k, v in fields.items():
        out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n"
                "\r\n%s\r\n" % (bnd, k, v)).encode()
    for k, (name, data) in files.items():
        out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"; "
                "filename=\"%s\"\r\nContent-Type: text/csv\r\n\r\n" %
                (bnd, k, name)).encode() + data + b"\r\n"
    out += ("--%s--\r\n" % bnd).encode()
    return "multipart/form-data; boundary=" + bnd, out


def post_csv(s, cookie, csrf, text, name="jobs.csv"):
    ctype, body = multipart({"csrf": csrf}, {"file": (name, text)})
    return s.request("POST", "/batch", body=body, headers={
        "Cookie": cookie, "Content-Type": ctype}, timeout=60)


def errors_of(html):
    """The listed problems of a refused batch, unescaped."""
    import html as h
    m = re.search(r'<ul class="errors" id="batch-errors">(.*?)</ul>', html,
                  re.S)
    assert m, html[:3000]
    return [h.unescape(x) for x in re.findall(r"<li>(.*?)</li>",
                                              m.group(1), re.S)]


def test_a_bad_csv_names_each_row_and_column_and_queues_nothing(s):
    uid, _ = new_user(s, "csvbad")
    cookie, csrf = browser(s, uid)
    n = job_count(s)
    text = ("\ufeffprompt,width,steps,sampler,seed\r\n"
            "a good row,64,2,euler,1\r\n"
            "bad width,abc,2,euler,2\r\n"
            "\"a quoted, \"\"fine\"\" row\",64,2,euler,3\r\n"
            "two faults,64,9999,nosuch,4\r\n"
            ",64,2,euler,5\r\n").encode()
    r = post_csv(s, cookie, csrf, text)
    assert r.status == 422, (r.status, r.text[:800])
    errs = errors_of(r.text)
    assert any(e.startswith("row 3, column width: ") for e in errs), errs
    assert any(e.startswith("row 5, column steps: ") for e in errs), errs
    assert any(e.startswith("row 5, column sampler: unknown sampler")
               for e in errs), errs
    assert any(e.startswith("row 6, column prompt: ") for e in errs), errs
    assert not any(e.startswith(("row 2,", "row 4,")) for e in errs), errs
    assert job_count(s) == n
    assert one(s, "SELECT COUNT(*) FROM batches WHERE user_id = %d" %
               uid) == "0"


def test_a_bad_header_or_text_is_refused_before_any_row(s):
    uid, _ = new_user(s, "csvhead")
    cookie, csrf = browser(s, uid)
    n = job_count(s)
    r = post_csv(s, cookie, csrf, b"prompt,colour,prompt\nfox,red,fox\n")
    assert r.status == 422, r.status
    errs = errors_of(r.text)
    assert "row 1, column colour: is not a column a job takes (see the" \
        " list of columns)" in errs, errs
    assert "row 1, column prompt: is named twice" in errs, errs
    r = post_csv(s, cookie, csrf, b"prompt\n\"never closed\n")
    assert r.status == 400 and "row 2: a quoted field is not closed" in \
        r.text, (r.status, r.text[:500])
    # Pasted text takes the same path.
    r = post_form(s, cookie, "/batch", {"csrf": csrf,
                                        "csv": "prompt,steps\nfox,0\n"})
    assert r.status == 422, r.status
    assert any(e.startswith("row 2, column steps: ")
               for e in errors_of(r.text))
    assert job_count(s) == n


def test_a_batch_over_the_credits_queues_none_of_it(s):
    uid, _ = new_user(s, "csvpoor")
    cookie, csrf = browser(s, uid)
    s.sql("UPDATE users SET credits = 2 WHERE id = %d" % uid)
    n = job_count(s)
    r = post_csv(s, cookie, csrf, b"prompt,steps,width,height\n"
                 b"a,2,64,64\nb,2,64,64\nc,2,64,64\n")
    assert r.status == 402 and "credit" in r.text, (r.status, r.text[:500])
    assert job_count(s) == n
    assert one(s, "SELECT credits FROM users WHERE id = %d" % uid) == "2"


def test_a_good_csv_queues_a_job_per_row_and_zips_every_file(s):
    uid, _ = new_user(s, "csvgood")
    cookie, csrf = browser(s, uid)
    key = make_key(s, uid, "read")
    text = ("prompt,negative_prompt,seed,steps,batch_count,width,height,"
            "cfg_scale,sampler\n"
            "a red fox,,11,2,1,64,64,5,euler\n"
            "\"a fox, with a \"\"hat\"\"\",grey,12,2,2,64,64,,\n"
            "\"two\nlines\",,13,3,1,64,64,6.5,euler_a\n").encode()
    r = post_csv(s, cookie, csrf, text, name="foxes.csv")
    assert r.status == 303, (r.status, r.text[:1500])
    assert r.headers.get("set-cookie", "").startswith("kiln_flash=batched;")
    m = re.fullmatch(r"/batch/(\d+)", r.headers["location"])
    assert m, r.headers["location"]
    bid = int(m.group(1))
    assert s.sql("SELECT user_id, name, jobs FROM batches WHERE id = %d" %
                 bid) == [[str(uid), "foxes.csv", "3"]]
    rows = s.sql("SELECT batch_row, id, prompt, negative_prompt, seed,"
                 " steps, batch_count, cfg_scale, sampler FROM jobs WHERE"
                 " batch_id = %d ORDER BY batch_row" % bid)
    # (The client prints a line break in a value as \\n.) Row 3's empty
    # cells took the model's defaults, as an empty form box does.
    assert [(r[0], r[2], r[3], r[4], r[5], r[6]) for r in rows] == [
        ("2", "a red fox", "", "11", "2", "1"),
        ("3", 'a fox, with a "hat"', "grey", "12", "2", "2"),
        ("4", "two\\nlines", "", "13", "3", "1")], rows
    assert [(float(r[7]), r[8]) for r in rows][0::2] == [(5, "euler"),
                                                        (6.5, "euler_a")]
    ids = [int(r[1]) for r in rows]
    # The batch page lists the rows' jobs.
    page = get(s, "/batch/%d" % bid, cookie=cookie)
    assert page.status == 200
    for jid in ids:
        assert 'href="/jobs/%d"' % jid in page.text
    assert 'href="/batch/%d.zip"' % bid in page.text
    for jid in ids:
        wait_db(s, jid, ("succeeded",), timeout=180)

    z = open_zip(get(s, "/batch/%d.zip" % bid, cookie=cookie), "batch zip")
    man = json.loads(z.read("manifest.json"))
    assert man["batch"] == {"id": bid, "name": "foxes.csv", "jobs": 3}
    assert [(x["row"], x["job_id"]) for x in man["rows"]] == \
        list(zip([2, 3, 4], ids))
    listed = ["manifest.json"]
    for x, r in zip(man["rows"], rows):
        assert x["job"]["prompt"] == r[2].replace("\\n", "\n")
        assert x["job"]["seed"] == int(r[4])
        imgs = s.sql("SELECT idx, seed FROM job_images WHERE job_id = %d"
                     " ORDER BY idx" % x["job_id"])
        assert [(f["index"], f["seed"]) for f in x["files"]] == \
            [(int(i), int(sd)) for i, sd in imgs]
        for f in x["files"]:
            assert f["name"] == "row-%d/kiln-%d-%d.png" % (
                x["row"], x["job_id"], f["index"])
            data = z.read(f["name"])
            assert data == served_png(s, key, x["job_id"], f["index"])
            assert f["sha256"] == hashlib.sha256(data).hexdigest()
            listed.append(f["name"])
    assert sorted(z.namelist()) == sorted(listed)
    assert len(listed) == 1 + 1 + 2 + 1

    # Someone else's batch: 404, page and ZIP.
    other, _ = new_user(s, "csvother")
    ocookie, _ = browser(s, other)
    for path in ("/batch/%d" % bid, "/batch/%d.zip" % bid):
        assert get(s, path, cookie=ocookie).status == 404, path


def test_batch_pages_fit_a_phone_without_console_problems(s):
    uid, _ = new_user(s, "csvphone")
    cookie, csrf = browser(s, uid)
    r = post_csv(s, cookie, csrf, b"prompt,steps\n\"a very long prompt " +
                 b"that keeps going " * 12 + b"\",2\nshort,2\n")
    assert r.status == 303, (r.status, r.text[:800])
    bid = int(r.headers["location"].rsplit("/", 1)[1])
    base = "http://127.0.0.1:%d" % s.port
    with cdp.Browser(FLAGS) as b:
        sign_in_cookie(b, s, uid)
        set_view(b, 390, 844, "light")
        for path in ("/batch", "/batch/%d" % bid):
            b.navigate(base + path)
            assert b.path() == path, b.url()
            assert b.evaluate(WIDE) <= 390, (path, b.evaluate(WIDE))
        # The rows' jobs are listed, one table row each.
        assert b.evaluate("document.querySelectorAll('#batch-rows tbody"
                          " tr').length") == 2
        assert b.problems() == [], b.problems()
