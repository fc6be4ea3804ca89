"""What a model can render is checked when a job is submitted, not when it
runs: kiln-micro's size multiple and largest side come from its
architecture (diffusers configs: a VAE of 3 blocks and a UNet of 3, so
sides in multiples of 4 x 4 = 16; a native side of 16 latent cells = 64
pixels, at most twice that), and a request beyond them is a 422 naming
the field on the JSON API, in a batch, on /sdapi/v1/txt2img and on the
form, whose number boxes follow the tier and the model. Also: progress of
a queued job counts its known steps, and /sdapi/v1/progress counts steps
within the image. No render daemon runs, so jobs stay queued. Each test
makes its own user and key."""

import json
import os
import re

import harness
from common import api, error_of, make_session, user_with_key

STACK = dict(server="lighttpd", daemon=False,
             extra_conf="[limits]\nsubmit_burst = 100000\n")


def micro_facts():
    """Multiple, native side and largest side computed here from
    kiln-micro's configs, independently of lib/models.c."""
    d = os.path.join(harness.ROOT, "models", "kiln-micro")
    with open(os.path.join(d, "unet", "config.json")) as f:
        unet = json.load(f)
    with open(os.path.join(d, "vae", "config.json")) as f:
        vae = json.load(f)
    vae_factor = 2 ** (len(vae["block_out_channels"]) - 1)
    multiple = vae_factor * 2 ** (len(unet["block_out_channels"]) - 1)
    native = unet["sample_size"] * vae_factor
    return multiple, native, 2 * native


def fields_of(r, status, where):
    e = error_of(r, status, "validation_failed", where)
    return e["fields"]


def test_kiln_micros_sides_follow_from_its_configs(s):
    assert micro_facts() == (16, 64, 128)


def jobs(s):
    return int(s.sql("SELECT COUNT(*) FROM jobs")[0][0])


def test_a_side_off_the_models_multiple_is_422_naming_it(s):
    multiple, _, _ = micro_facts()
    _, key = user_with_key(s)
    before = jobs(s)
    # 72: a multiple of 8 (every model's), not of kiln-micro's 16.
    r = api(s, "POST", "/api/v1/jobs", key,
            {"prompt": "one red circle", "width": 72})
    f = fields_of(r, 422, "width 72")
    assert list(f) == ["width"], f
    assert "multiple of %d" % multiple in f["width"], f
    assert "kiln-micro" in f["width"] and "64 or 80" in f["width"], f
    r = api(s, "POST", "/api/v1/jobs", key,
            {"prompt": "one red circle", "height": 88})
    assert list(fields_of(r, 422, "height 88")) == ["height"]
    assert jobs(s) == before


def test_a_side_over_the_models_largest_is_422_naming_it(s):
    _, _, largest = micro_facts()
    _, key = user_with_key(s)
    before = jobs(s)
    r = api(s, "POST", "/api/v1/jobs", key,
            {"prompt": "one red circle", "width": 512, "height": 512})
    f = fields_of(r, 422, "512x512")
    assert set(f) == {"width", "height"}, f
    assert "limit of %d" % largest in f["width"], f
    # At the largest side it is accepted.
    r = api(s, "POST", "/api/v1/jobs", key,
            {"prompt": "one red circle", "width": largest,
             "height": largest, "steps": 1})
    assert r.status == 202, r.text
    assert jobs(s) == before + 1


def test_a_batch_with_one_job_beyond_the_model_makes_none(s):
    _, key = user_with_key(s)
    before = jobs(s)
    r = api(s, "POST", "/api/v1/jobs/batch", key,
            {"jobs": [{"prompt": "a", "steps": 1},
                      {"prompt": "b", "steps": 1, "width": 72}]})
    f = fields_of(r, 422, "batch")
    assert list(f) == ["jobs[1].width"], f
    assert jobs(s) == before


def test_sdapi_txt2img_refuses_a_size_the_model_cannot_render(s):
    _, key = user_with_key(s)
    before = jobs(s)
    r = api(s, "POST", "/sdapi/v1/txt2img", key,
            {"prompt": "one red circle", "width": 72, "height": 64,
             "steps": 2})
    f = fields_of(r, 422, "sdapi width 72")
    assert list(f) == ["width"], f
    assert jobs(s) == before


def test_the_form_offers_what_the_tier_and_model_allow(s):
    multiple, _, largest = micro_facts()
    uid, _ = user_with_key(s)
    tok = make_session(s, uid)
    r = s.get("/generate", headers={"Cookie": "kiln_session=" + tok})
    assert r.status == 200, r.status

    def box(name):
        m = re.search(r'<input id="%s"[^>]*>' % name, r.text)
        assert m, name
        return dict(re.findall(r'(min|max|step)="([^"]*)"', m.group(0)))
    # The default tier: max_side 1024, max_steps 100, max_batch 4
    # (lib/config.c's tier defaults, as INSTALL documents them).
    assert box("width") == {"min": "64", "max": str(largest),
                            "step": str(multiple)}, box("width")
    assert box("height")["max"] == str(largest)
    assert box("steps")["max"] == "100", box("steps")
    assert box("batch_count")["max"] == "4", box("batch_count")


def test_a_form_side_off_the_multiple_is_named(s):
    uid, _ = user_with_key(s)
    tok = make_session(s, uid)
    csrf = s.sql("SELECT csrf FROM sessions WHERE user_id = %d ORDER BY id"
                 " DESC LIMIT 1" % uid)[0][0]
    before = jobs(s)
    r = s.request("POST", "/generate",
                  body="csrf=%s&prompt=one+red+circle&width=72" % csrf,
                  headers={"Cookie": "kiln_session=" + tok,
                           "Content-Type":
                           "application/x-www-form-urlencoded"})
    assert r.status == 422, r.status
    assert "width must be a multiple of 16" in r.text, r.text[:2000]
    assert jobs(s) == before


def test_a_queued_job_reports_its_steps(s):
    _, key = user_with_key(s)
    r = api(s, "POST", "/api/v1/jobs", key,
            {"prompt": "two blue squares", "steps": 7, "batch_count": 3})
    assert r.status == 202, r.text
    j = r.json()
    assert j["status"] == "queued", j
    assert j["progress"]["step"] == 0, j
    assert j["progress"]["steps"] == 7 * 3, j["progress"]
    again = api(s, "GET", "/api/v1/jobs/%d" % j["id"], key).json()
    assert again["progress"]["steps"] == 21, again["progress"]


def test_sdapi_progress_counts_steps_within_the_image(s):
    uid, key = user_with_key(s)
    # Image 2 of 3 (job_no 1), 5 steps into its 20: step 25 of 60.
    s.sql("INSERT INTO jobs (user_id, status, prompt, model, width, height,"
          " steps, cfg_scale, sampler, seed, batch_count, step,"
          " steps_total, claimed_by, lease_until, started_at) VALUES"
          " (%d, 'running', 'x', 'kiln-micro', 64, 64, 20, 4, 'euler', 1,"
          " 3, 25, 60, 'elsewhere', NOW() + INTERVAL 1 HOUR, NOW())" % uid)
    p = api(s, "GET", "/sdapi/v1/progress", key).json()
    st = p["state"]
    assert (st["sampling_step"], st["sampling_steps"]) == (5, 20), st
    assert (st["job_no"], st["job_count"]) == (1, 3), st
    assert abs(p["progress"] - 25 / 60) < 1e-9, p
