"""The studio's generate page (/generate) in headless Chromium and over
plain HTTP: with scripts the form is sent in the background and the job's
progress and images appear beside it without leaving the page; without
them it posts and lands on the job page; the size presets follow
kiln-micro's sides (computed here from its configs); the estimate shows
the credits the job is then charged and a time from render_stats;
?from=&seed= and the last settings fill the form; one POST with three bad
fields names all three; the page fits 390 px and its console stays clean.
Each test makes its own user."""

import json
import math
import os
import re
import struct
import time

import cdp
from common import (browser, job_row, models_with_micro, new_user, one,
                    post_form, wait_idle)
from test_browser import (FLAGS, MEASURE, NO_SCRIPTS, SHOTS, describe,
                          full_screenshot, luminance, poll_page, set_view,
                          sign_in_cookie)
from test_model_limits import micro_facts



X32 = {"multiple": 32, "max_side": 256, "max_steps": 10}


def safetensors(path, tensors):
    """A .safetensors file of F32 tensors {name: (shape, values)}, written
    by hand (the format: an 8-byte header length, a JSON header, data)."""
    header, data = {}, b""
    for name, (shape, values) in tensors.items():
        raw = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape,
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


def make_models(stack_dir):
    """kiln-micro, a one-layer kohya LoRA "tiny" and an SD 1.x-shaped
    embedding "shiny" for the pickers."""
    root = models_with_micro(stack_dir)
    # kiln-micro again, with the limits of a card that asks for sides
    # of 32 up to 256 and at most 10 steps (for the model switch).
    src = os.path.join(root, "kiln-micro")
    dst = os.path.join(root, "kiln-micro-x32")
    os.makedirs(dst)
    for name in os.listdir(src):
        if name != "kiln.json":
            os.symlink(os.readlink(os.path.join(src, name)),
                       os.path.join(dst, name))
    with open(os.path.join(src, "kiln.json")) as f:
        card = json.load(f)
    card["limits"] = X32
    with open(os.path.join(dst, "kiln.json"), "w") as f:
        json.dump(card, f)
    for d in ("loras", "embeddings"):
        os.makedirs(os.path.join(root, d))
    key = "lora_unet_down_blocks_0_attentions_0_proj_in"
    safetensors(os.path.join(root, "loras", "tiny.safetensors"), {
        key + ".lora_down.weight": ([1, 4], [0.1] * 4),
        key + ".lora_up.weight": ([4, 1], [0.1] * 4),
        key + ".alpha": ([], [1.0])})
    safetensors(os.path.join(root, "embeddings", "shiny.safetensors"), {
        "emb_params": ([2, 128], [0.01] * 256)})
    return root


STACK = dict(server="lighttpd", heartbeat=1, daemon_name="studio-1",
             models=make_models,
             extra_conf="[limits]\nsubmit_burst = 100000\n")

FORM = "#gen-form"
RATIOS = ((1, 1), (4, 3), (3, 4), (3, 2), (2, 3), (16, 9), (9, 16))


def base(s):
    return "http://127.0.0.1:%d" % s.port


def open_studio(b, s, uid, path="/generate"):
    sign_in_cookie(b, s, uid)
    b.navigate(base(s) + path)
    assert b.exists(FORM), "no studio form " + describe(b)


def latest_job(s, uid):
    v = one(s, "SELECT COALESCE(MAX(id), 0) FROM jobs WHERE user_id = %d"
            % uid)
    return int(v)


def js_submit(b):
    """Submits the form as its button would, without waiting for a page
    load (the script keeps the page)."""
    b.evaluate("document.querySelector('%s').requestSubmit(), true" % FORM)


def value(b, selector):
    return b.evaluate("document.querySelector(%s).value" %
                      json.dumps(selector))


# ---- with scripts: the job in place -------------------------------------

def test_a_job_is_followed_in_place_with_scripts(s):
    uid, _ = new_user(s, "studio")
    with cdp.Browser(FLAGS) as b:
        set_view(b, 1366, 900, "light")
        open_studio(b, s, uid)
        b.evaluate("window.kilnMark = 1")
        b.set_value(FORM + " [name=prompt]", "three red circles")
        b.set_value(FORM + " [name=steps]", "100")
        b.set_value(FORM + " [name=batch_count]", "2")
        b.set_value(FORM + " [name=seed]", "5")
        js_submit(b)
        poll_page(b, "document.getElementById('studio-out')"
                     ".getAttribute('data-job')", bool, 30, "a job id")
        job = latest_job(s, uid)
        assert job > 0
        assert int(b.evaluate("document.getElementById('studio-out')"
                              ".getAttribute('data-job')")) == job
        assert s.sql("SELECT prompt, steps, batch_count, seed FROM jobs"
                     " WHERE id = %d" % job) == \
            [["three red circles", "100", "2", "5"]]
        # The bar moves: three values between 0 and its end, same page.
        seen = set()
        end = time.time() + 90
        while time.time() < end and len(seen) < 3:
            v = b.evaluate("(function () { var p = document"
                           ".getElementById('studio-progress'); return"
                           " window.kilnMark && !p.classList.contains("
                           "'hidden') ? [p.value, p.max] : null; })()")
            if v and 0 < v[0] < v[1]:
                seen.add(v[0])
            time.sleep(0.2)
        assert len(seen) >= 3, "progress values seen: %r" % seen
        poll_page(b, "document.getElementById('studio-preview').src",
                  bool, 60, "a live preview")
        # The two images, loaded, in the panel; still the same page.
        poll_page(b, "Array.from(document.querySelectorAll("
                     "'#studio-images img.result')).filter(function (i) {"
                     " return i.complete && i.naturalWidth === 64;"
                     " }).length", lambda n: n == 2, 120, "two images")
        assert b.evaluate("window.kilnMark") == 1, "the page was reloaded"
        assert b.path() == "/generate"
        # Each image offers its seed again; "reuse last" now has the job's.
        links = b.evaluate("Array.from(document.querySelectorAll("
                           "'#studio-images figcaption a')).map(function"
                           " (a) { return a.getAttribute('href'); })")
        seeds = [r[0] for r in s.sql("SELECT seed FROM job_images WHERE"
                                     " job_id = %d ORDER BY idx" % job)]
        assert links == ["/generate?from=%d&seed=%s" % (job, x)
                         for x in seeds], (links, seeds)
        assert b.evaluate("document.getElementById('seed-reuse')"
                          ".getAttribute('data-seed')") == "5"
        assert b.evaluate("document.getElementById('seed-reuse')"
                          ".checkVisibility()")
        # The studio with its results, at both widths (for the README).
        os.makedirs(SHOTS, exist_ok=True)
        full_screenshot(b, os.path.join(SHOTS, "studio-generate-1366.png"))
        set_view(b, 390, 844, "light")
        b.evaluate("document.getElementById('studio-out').scrollIntoView()")
        full_screenshot(b, os.path.join(SHOTS, "studio-generate-390.png"))
        assert b.problems() == [], b.problems()
    assert one(s, "SELECT status FROM jobs WHERE id = %d" % job) == \
        "succeeded"


def test_ctrl_enter_submits_and_the_seed_buttons_work(s):
    uid, _ = new_user(s, "keys")
    prev = job_row(s, uid, prompt="one blue square", seed=4242)
    with cdp.Browser(FLAGS) as b:
        open_studio(b, s, uid)
        # The last settings filled the form, but not the seed.
        assert value(b, "#prompt") == "one blue square"
        assert value(b, "#seed") == ""
        b.evaluate("document.getElementById('seed-reuse').click()")
        assert value(b, "#seed") == "4242"
        b.evaluate("document.getElementById('seed-random').click()")
        assert value(b, "#seed") == ""
        b.set_value("#prompt", "two green stars")
        b.set_value("#steps", "2")
        b.evaluate("document.getElementById('prompt').dispatchEvent(new"
                   " KeyboardEvent('keydown', {key: 'Enter', ctrlKey:"
                   " true, bubbles: true}))")
        poll_page(b, "document.getElementById('studio-out')"
                     ".getAttribute('data-job')",
                  lambda v: v and int(v) > prev, 30, "the new job")
        assert one(s, "SELECT prompt FROM jobs WHERE id = %d" %
                   latest_job(s, uid)) == "two green stars"
        assert b.problems() == [], b.problems()


def test_refused_fields_are_marked_in_place_with_scripts(s):
    uid, _ = new_user(s, "refused")
    with cdp.Browser(FLAGS) as b:
        open_studio(b, s, uid)
        b.evaluate("window.kilnMark = 1")
        b.set_value("#prompt", "a star")
        b.set_value("#loras", "nope:1")
        b.set_value("#hires_strength", "0.5")
        js_submit(b)
        poll_page(b, "document.querySelectorAll('#gen-form"
                     " .field-error').length", lambda n: n == 2, 30,
                  "two messages")
        # Each message follows its own field (the nearest control
        # before it), as the page without scripts puts it.
        after = b.evaluate("Array.from(document.querySelectorAll("
                           "'#gen-form .field-error')).map(function (e) {"
                           " var c = Array.from(document.querySelectorAll("
                           "'#gen-form input, #gen-form select, #gen-form"
                           " textarea')).filter(function (x) { return"
                           " x.compareDocumentPosition(e) &"
                           " Node.DOCUMENT_POSITION_FOLLOWING; }).pop();"
                           " return [c.id, e.textContent]; })")
        ids = sorted(x[0] for x in after)
        for field, text in after:
            assert text.startswith(field + " "), after
        assert ids == ["hires_strength", "loras"], after
        assert b.evaluate("window.kilnMark") == 1
        assert b.exists("section.studio > .notice.error")
        assert value(b, "#loras") == "nope:1"      # as typed
        assert latest_job(s, uid) == 0
        assert b.problems() == [], b.problems()


def test_the_pickers_insert_at_the_cursor(s):
    uid, _ = new_user(s, "picker")
    with cdp.Browser(FLAGS) as b:
        open_studio(b, s, uid, "/generate?prompt=x")
        assert b.evaluate("document.getElementById('pickers')"
                          ".checkVisibility()"), describe(b)
        b.evaluate("(function () { var p = document.getElementById("
                   "'prompt'); p.value = 'a red star on black'; p.focus();"
                   " p.selectionStart = p.selectionEnd = 10; })()")
        b.evaluate("document.querySelector('#pickers"
                   " [data-insert=\"<lora:tiny:1>\"]').click()")
        assert value(b, "#prompt") == "a red star <lora:tiny:1> on black"
        # The embedding goes where the cursor was last: the negative.
        b.evaluate("(function () { var p = document.getElementById("
                   "'negative_prompt'); p.value = 'blur'; p.focus();"
                   " p.selectionStart = p.selectionEnd = 4; })()")
        b.evaluate("document.querySelector('#pickers"
                   " [data-insert=shiny]').click()")
        assert value(b, "#negative_prompt") == "blur shiny"
        assert b.problems() == [], b.problems()
    with cdp.Browser(NO_SCRIPTS) as b:
        open_studio(b, s, uid, "/generate?prompt=x")
        # Without scripts the buttons stay hidden; the LoRAs box and the
        # lists of names remain.
        assert not b.evaluate("document.getElementById('pickers')"
                              ".checkVisibility()")
        assert "Available: tiny" in b.text()
        assert "shiny" in b.text()


# ---- without scripts ------------------------------------------------------

def test_without_scripts_the_form_posts_to_the_job_page(s):
    uid, _ = new_user(s, "noscript")
    with cdp.Browser(NO_SCRIPTS) as b:
        open_studio(b, s, uid)
        b.set_value("#prompt", "a single blue circle on the left")
        b.set_value("#steps", "2")
        # The preset menu stands for the boxes.
        b.set_value("#width", "64")
        b.evaluate("document.getElementById('size').value = '96x64'")
        path = b.submit(FORM)
        assert "/jobs/" in path, describe(b)
        job = int(b.path().split("/")[2])
        assert s.sql("SELECT width, height, steps FROM jobs WHERE id = %d"
                     % job) == [["96", "64", "2"]]
        # The job page follows the job by itself (a refresh).
        assert b.evaluate("!!document.querySelector('noscript')") or \
            one(s, "SELECT status FROM jobs WHERE id = %d" % job) == \
            "succeeded"
        assert b.problems() == [], b.problems()


# ---- presets, bounds and the estimate ----------------------------------

def expected_presets(mult=None, native=None, largest=None):
    """kiln-micro's presets (or those of its sides as given) by the rule
    the page states, from its configs: about native^2 pixels per ratio,
    the shorter side at least the smallest multiple of 64, the longer at
    most the largest side, rounded to the multiple; repeats left out."""
    m0, n0, l0 = micro_facts()
    mult, native, largest = mult or m0, native or n0, largest or l0
    lo = -(-64 // mult) * mult
    out = []
    for a, b in RATIOS:
        w, h = native * math.sqrt(a / b), native / math.sqrt(a / b)
        f = 1.0
        if min(w, h) < lo:
            f = lo / min(w, h)
        if max(w, h) * f > largest:
            f = largest / max(w, h)
        side = [min(largest, max(lo, int(math.floor(x * f / mult + 0.5))
                                 * mult)) for x in (w, h)]
        if tuple(side) not in [tuple(x) for x in out]:
            out.append(side)
    return ["%dx%d" % tuple(x) for x in out]


def test_presets_fill_the_sides_within_kiln_micros_limits(s):
    mult, native, largest = micro_facts()
    want = expected_presets()
    uid, _ = new_user(s, "presets")
    with cdp.Browser(FLAGS) as b:
        open_studio(b, s, uid)
        got = b.evaluate("Array.from(document.querySelectorAll('#size"
                         " option')).map(function (o) { return o.value;"
                         " }).filter(Boolean)")
        assert got == want, (got, want)
        for p in got:
            w, h = (int(x) for x in p.split("x"))
            assert w % mult == 0 and h % mult == 0, p
            assert 64 <= w <= largest and 64 <= h <= largest, p
        # No side over the model's largest in the boxes either.
        assert b.evaluate("document.getElementById('width').max") == \
            str(largest)
        label = b.evaluate("document.querySelector('#model option:checked')"
                           ".textContent")
        assert "%dx%d" % (native, native) in label.replace("\u00d7", "x"), \
            label
        # Choosing a preset fills the boxes; typing a size picks its
        # preset again.
        for p in got:
            b.set_value("#size", p)
            assert [value(b, "#width"), value(b, "#height")] == \
                p.split("x"), p
        b.set_value("#width", str(native))
        b.set_value("#height", str(native))
        assert value(b, "#size") == "%dx%d" % (native, native)
        b.set_value("#width", str(native + mult))
        b.set_value("#height", str(native + 3 * mult))
        assert value(b, "#size") in ("", "%dx%d" % (native + mult,
                                                    native + 3 * mult))
        assert b.problems() == [], b.problems()


def test_another_model_brings_its_own_presets_and_bounds(s):
    _, native, _ = micro_facts()
    want = expected_presets(X32["multiple"], native, X32["max_side"])
    assert want != expected_presets()
    uid, _ = new_user(s, "switch")
    with cdp.Browser(FLAGS) as b:
        open_studio(b, s, uid, "/generate?prompt=x")
        b.set_value("#width", "80")         # kiln-micro's, not x32's
        b.set_value("#model", "kiln-micro-x32")
        got = b.evaluate("Array.from(document.querySelectorAll('#size"
                         " option')).map(function (o) { return o.value;"
                         " }).filter(Boolean)")
        assert got == want, (got, want)
        assert b.evaluate("[document.getElementById('width').max,"
                          " document.getElementById('width').step,"
                          " document.getElementById('steps').max]") == \
            [str(X32["max_side"]), str(X32["multiple"]),
             str(X32["max_steps"])]
        # A side the new model cannot render became its native size.
        assert [value(b, "#width"), value(b, "#height")] == \
            [str(native), str(native)]
        # The server offers the same for a job of that model.
        jid = job_row(s, uid, model="kiln-micro-x32", width=128, height=64)
        b.navigate(base(s) + "/generate?from=%d" % jid)
        got = b.evaluate("Array.from(document.querySelectorAll('#size"
                         " option')).map(function (o) { return o.value;"
                         " }).filter(Boolean)")
        assert got == want, (got, want)
        assert value(b, "#size") == "128x64"
        assert b.problems() == [], b.problems()


def credits_shown(b):
    t = b.evaluate("document.getElementById('est-credits').textContent")
    m = re.match(r"(\d+) credits?$", t)
    assert m, t
    return int(m.group(1))


def test_the_estimate_is_what_the_job_is_charged(s):
    uid, _ = new_user(s, "cost")
    before = int(one(s, "SELECT credits FROM users WHERE id = %d" % uid))
    with cdp.Browser(FLAGS) as b:
        open_studio(b, s, uid)
        b.set_value("#prompt", "two large yellow squares")
        b.set_value("#size", "112x64")
        b.set_value("#steps", "30")
        b.set_value("#batch_count", "3")
        shown = credits_shown(b)
        # job_cost's rule, by hand: a credit per 512x512 pixel-step.
        assert shown == math.ceil(112 * 64 * 30 * 3 / 262144), shown
        # The hires fix adds its pass at the enlarged size.
        b.set_value("#hires_scale", "2")
        b.set_value("#hires_strength", "0.5")
        hires = credits_shown(b)
        assert hires == math.ceil((112 * 64 * 30 + 224 * 128 * 15) * 3 /
                                  262144), hires
        b.set_value("#hires_scale", "")
        b.set_value("#hires_strength", "")
        assert credits_shown(b) == shown
        js_submit(b)
        poll_page(b, "document.getElementById('studio-out')"
                     ".getAttribute('data-job')", bool, 30, "the job")
        job = latest_job(s, uid)
        assert int(one(s, "SELECT cost FROM jobs WHERE id = %d" % job)) \
            == shown
        after = int(one(s, "SELECT credits FROM users WHERE id = %d" % uid))
        assert before - after == shown
        # The server's own estimate of the same values agrees.
        b.navigate(base(s) + "/generate?from=%d" % job)
        assert credits_shown(b) == shown
        assert b.problems() == [], b.problems()


def test_the_time_comes_from_render_stats_or_is_not_guessed(s):
    uid, _ = new_user(s, "timer")
    wait_idle(s)
    saved = s.sql("SELECT model, width, height, steps, batch, n, mean, m2"
                  " FROM render_stats")
    try:
        s.sql("DELETE FROM render_stats")
        with cdp.Browser(FLAGS) as b:
            open_studio(b, s, uid)
            t = b.evaluate("document.getElementById('est-time')"
                           ".textContent")
            assert t.startswith("no time estimate yet"), t
            # Four renders of 64x64, 20 steps, took 2 s each: 64x64 at 20
            # steps is about 2 s, three of them 6 s, 40 steps 4 s.
            s.sql("INSERT INTO render_stats (model, width, height, steps,"
                  " batch, n, mean, m2) VALUES ('kiln-micro', 64, 64, 20,"
                  " 1, 4, 2.0, 0)")
            b.navigate(base(s) + "/generate?prompt=x")
            for fields, want in ((("64", "64", "20", "1"), "about 2 s"),
                                 (("64", "64", "20", "3"), "about 6 s"),
                                 (("64", "64", "40", "1"), "about 4 s")):
                for k, v in zip(("width", "height", "steps",
                                 "batch_count"), fields):
                    b.set_value("#" + k, v)
                t = b.evaluate("document.getElementById('est-time')"
                               ".textContent")
                assert t.startswith(want + " "), (fields, t)
            b.navigate(base(s) + "/generate?prompt=x")
            t = b.evaluate("document.getElementById('est-time')"
                           ".textContent")
            assert t.startswith("about 2 s "), t     # the server's
            assert b.problems() == [], b.problems()
    finally:
        s.sql("DELETE FROM render_stats")
        for r in saved:
            s.sql("INSERT INTO render_stats (model, width, height, steps,"
                  " batch, n, mean, m2) VALUES ('%s', %s, %s, %s, %s, %s,"
                  " %s, %s)" % tuple(r))


# ---- the form filled from a job ------------------------------------------

def page(s, cookie, path):
    r = s.get(path, headers={"Cookie": cookie})
    assert r.status == 200, (path, r.status)
    return r.text


def box(html, name):
    m = re.search(r'<input id="%s"[^>]*>' % name, html)
    assert m, name
    v = re.search(r' value="([^"]*)"', m.group(0))
    return v.group(1) if v else None


def test_from_a_job_with_a_seed_takes_that_seed(s):
    uid, _ = new_user(s, "fromseed")
    jid = job_row(s, uid, prompt="an orange square", width=80, height=64,
                  steps=3, seed=11, batch_count=2)
    cookie, _ = browser(s, uid)
    html = page(s, cookie, "/generate?from=%d&seed=777" % jid)
    assert ">an orange square</textarea>" in html
    assert (box(html, "seed"), box(html, "width"), box(html, "steps")) == \
        ("777", "80", "3")
    html = page(s, cookie, "/generate?from=%d" % jid)
    assert box(html, "seed") == "11"


def test_a_plain_visit_takes_the_last_settings_but_not_the_seed(s):
    uid, _ = new_user(s, "last")
    job_row(s, uid, prompt="an old prompt", steps=5, seed=1)
    job_row(s, uid, prompt="the latest prompt", steps=7, seed=99,
            negative_prompt="blur", hires_scale=1.5, hires_strength=0.4)
    cookie, _ = browser(s, uid)
    html = page(s, cookie, "/generate")
    assert ">the latest prompt</textarea>" in html, html[:3000]
    assert ">blur</textarea>" in html
    assert box(html, "steps") == "7"
    assert box(html, "hires_scale") == "1.5"
    assert box(html, "seed") == ""
    # "Reuse last" offers the last job's seed.
    assert 'data-seed="99"' in html
    # Someone else's jobs fill nothing.
    other, _ = new_user(s, "fresh")
    cookie2, _ = browser(s, other)
    html = page(s, cookie2, "/generate")
    assert re.search(r'name="prompt"[^>]*></textarea>', html)


# ---- every problem in one round --------------------------------------------

def test_one_post_with_three_bad_fields_names_all_three(s):
    uid, _ = new_user(s, "three")
    cookie, csrf = browser(s, uid)
    r = post_form(s, cookie, "/generate", {
        "csrf": csrf, "prompt": "a red star",
        "sampler": "nonesuch",      # refused by the form's own check
        "width": "72",              # not kiln-micro's multiple of 16
        "batch_count": "5"})        # over the default tier's 4
    assert r.status == 422, r.status
    errs = dict(re.findall(r'<p class="field-error">(\w+) ([^<]*)</p>',
                           r.text))
    assert set(errs) == {"sampler", "width", "batch_count"}, errs
    assert "unknown sampler" in errs["sampler"]
    assert "multiple of 16" in errs["width"]
    assert "limit of 4" in errs["batch_count"]
    assert latest_job(s, uid) == 0
    # The script's background submit gets the same page as a 200 (a 4xx
    # would be a console error), told from a job by the missing redirect.
    r = post_form(s, cookie, "/generate", {
        "csrf": csrf, "prompt": "a red star", "sampler": "nonesuch",
        "width": "72", "batch_count": "5", "studio": "1"})
    assert r.status == 200, r.status
    assert dict(re.findall(r'<p class="field-error">(\w+) ([^<]*)</p>',
                           r.text)) == errs
    assert latest_job(s, uid) == 0


def test_a_bad_size_preset_is_named(s):
    uid, _ = new_user(s, "badsize")
    cookie, csrf = browser(s, uid)
    r = post_form(s, cookie, "/generate", {"csrf": csrf, "prompt": "x",
                                           "size": "huge"})
    assert r.status == 422, r.status
    assert re.search(r'<p class="field-error">size [^<]*</p>', r.text)
    assert latest_job(s, uid) == 0


# ---- 390 px, dark mode, a clean console ----------------------------------

def test_the_studio_fits_a_phone_and_sits_side_by_side_on_a_desktop(s):
    uid, _ = new_user(s, "phone")
    job_row(s, uid, prompt="the latest prompt " * 20, steps=2)
    with cdp.Browser(FLAGS) as b:
        sign_in_cookie(b, s, uid)
        for scheme in ("light", "dark"):
            set_view(b, 390, 844, scheme)
            b.navigate(base(s) + "/generate")
            b.evaluate("document.querySelector('details.hires').open ="
                       " true")
            m = b.evaluate(MEASURE)
            assert m["scrollWidth"] <= 390 and m["wide"] == [], m
            assert m["small"] == [], m["small"]
            # Stacked: the panel under the form.
            f, o = b.evaluate("[document.getElementById('gen-form')"
                              ".getBoundingClientRect().bottom, document"
                              ".getElementById('studio-out')"
                              ".getBoundingClientRect().top]")
            assert o >= f, (f, o)
            bg = b.evaluate("getComputedStyle(document.getElementById("
                            "'studio-out')).backgroundColor")
            assert (luminance(bg) < 0.2) == (scheme == "dark"), bg
            set_view(b, 1366, 900, scheme)
            b.navigate(base(s) + "/generate")
            f, o = b.evaluate("[document.getElementById('gen-form')"
                              ".getBoundingClientRect().right, document"
                              ".getElementById('studio-out')"
                              ".getBoundingClientRect().left]")
            assert o > f, (f, o)
        assert b.problems() == [], b.problems()
