"""The AUTOMATIC1111-compatible endpoints (/sdapi/v1) behind lighttpd with
a running kilnd: txt2img renders an ordinary kiln job and answers with
its PNGs in base64 (checked against the files on disk and the job's
rows), the sampler and model names AUTOMATIC1111 clients send, fields
kiln does not implement refused unless off, keys and scopes, and
progress/interrupt on the caller's unfinished job.

Expected values come from the database and the files the daemon wrote,
or from the request itself, never from the answer under test. Each test
makes its own user and keys. (tests/unit/test_sdapi.c checks the field
translation case by case without a stack.)"""

import base64
import json
import os

from common import (api, error_of, is_json, make_key, one, png_decode,
                    user_with_key)

STACK = dict(server="lighttpd", heartbeat=1, daemon_name="sdapi-1",
             extra_conf="[limits]\nsubmit_burst = 100000\n")

PNG_SIG = b"\x89PNG\r\n\x1a\n"


def jobs_of(s, uid):
    return int(one(s, "SELECT COUNT(*) FROM jobs WHERE user_id = %d" % uid))


def txt2img(s, body, key):
    return api(s, "POST", "/sdapi/v1/txt2img", key, body)


def unprocessable(r, where):
    e = error_of(r, 422, "validation_failed", where)
    assert isinstance(e.get("fields"), dict), (where, e)
    return set(e["fields"])


def caller(s):
    """A fresh user with a read+generate key and a read-only one:
    (id, key, read-only key)."""
    uid, key = user_with_key(s, prefix="ada")
    return uid, key, make_key(s, uid, "read", "read only")


def a_png():
    """A small PNG made here (8x8 grey, zlib by hand)."""
    import struct
    import zlib

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + \
            struct.pack(">I", zlib.crc32(kind + body))
    raw = b"".join(b"\x00" + bytes([16 * y] * 8) for y in range(8))
    return PNG_SIG + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 0, 0,
                                                0, 0)) + \
        chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def test_txt2img_answers_with_the_jobs_pngs(s):
    # What an AUTOMATIC1111 client sends, its "off" defaults included.
    body = {"prompt": "two large yellow squares on a black background",
            "negative_prompt": "", "seed": 1234, "subseed": -1,
            "subseed_strength": 0, "sampler_name": "Euler a",
            "scheduler": "Automatic", "batch_size": 2, "n_iter": 1,
            "steps": 6, "cfg_scale": 4, "width": 64, "height": 64,
            "restore_faces": False, "tiling": False, "enable_hr": False,
            "denoising_strength": 0.7, "styles": [], "script_args": [],
            "send_images": True, "save_images": False,
            "override_settings": {"sd_model_checkpoint": "kiln-micro"},
            "override_settings_restore_afterwards": True}
    uid, key, _ = caller(s)
    r = txt2img(s, body, key)
    assert r.status == 200, (r.status, r.text[:600])
    o = is_json(r)
    assert o["parameters"] == body, o["parameters"]
    jid = int(one(s, "SELECT MAX(id) FROM jobs WHERE user_id = %d" % uid))
    row = s.sql("SELECT status, prompt, model, sampler, steps, seed,"
                " batch_count, width, height, cfg_scale FROM jobs"
                " WHERE id = %d" % jid)[0]
    assert row[:9] == ["succeeded", body["prompt"], "kiln-micro",
                       "euler_a", "6", "1234", "2", "64", "64"], row
    assert float(row[9]) == 4.0, row
    imgs = s.sql("SELECT path, seed FROM job_images WHERE job_id = %d"
                 " ORDER BY idx" % jid)
    assert len(imgs) == 2 and len(o["images"]) == 2, (imgs, o["images"])
    for b64, (path, _seed) in zip(o["images"], imgs):
        png = base64.b64decode(b64, validate=True)
        with open(s.path("artifacts", path), "rb") as f:
            assert png == f.read(), "image is not the file " + path
        w, h, _ = png_decode(png)
        assert (w, h) == (64, 64)
    info = json.loads(o["info"])
    assert info["kiln_job_id"] == jid, info
    assert info["all_seeds"] == [int(x[1]) for x in imgs], info
    assert info["seed"] == int(imgs[0][1]) == 1234, info
    assert info["sampler_name"] == "Euler a", info
    assert info["sd_model_name"] == "kiln-micro", info
    assert info["all_prompts"] == [body["prompt"]] * 2, info
    assert (info["width"], info["height"], info["steps"]) == (64, 64, 6)


def test_sampler_names_and_a_random_seed(s):
    # AUTOMATIC1111's spellings of the schedule, and kiln's own names.
    uid, key, _ = caller(s)
    for extra, want in [({"sampler_name": "DPM++ 2M Karras"},
                         "dpmpp_2m_karras"),
                        ({"sampler_name": "DPM++ 2M",
                          "scheduler": "Karras"}, "dpmpp_2m_karras"),
                        ({"sampler_index": "DDIM"}, "ddim"),
                        ({"sampler_name": "heun"}, "heun")]:
        body = dict({"prompt": "a red circle", "steps": 2, "seed": -1},
                    **extra)
        r = txt2img(s, body, key)
        assert r.status == 200, (extra, r.status, r.text[:400])
        jid = json.loads(is_json(r)["info"])["kiln_job_id"]
        row = s.sql("SELECT sampler, seed, user_id FROM jobs WHERE id = %d"
                    % jid)[0]
        assert row[0] == want and row[2] == str(uid), (extra, row)
        # seed -1: one drawn by kiln, reported as the one used.
        assert json.loads(is_json(r)["info"])["seed"] == int(row[1])


def test_bad_requests_name_the_field_and_make_no_job(s):
    uid, key, _ = caller(s)
    before = jobs_of(s, uid)
    ok = {"prompt": "a blue star", "steps": 2}
    for extra, field in [
            ({"enable_hr": True, "hr_resize_x": 1024}, "hr_resize_x"),
            ({"restore_faces": True}, "restore_faces"),
            ({"styles": ["photo"]}, "styles"),
            ({"subseed_strength": 0.5}, "subseed_strength"),
            ({"sampler_name": "Euler x"}, "sampler_name"),
            ({"sampler_index": "Nope"}, "sampler_index"),
            ({"sampler_name": "Euler", "scheduler": "Exponential"},
             "scheduler"),
            ({"sampler_name": "Euler", "scheduler": "Karras"},
             "scheduler"),
            ({"scheduler": "Karras"}, "scheduler"),
            ({"batch_size": 4, "n_iter": 3}, "batch_size"),
            ({"batch_size": 0}, "batch_size"),
            ({"n_iter": "2"}, "n_iter"),
            ({"steps": 0}, "steps"),
            ({"width": 10}, "width"),
            ({"cfg_scale": "high"}, "cfg_scale"),
            ({"override_settings": {"CLIP_stop_at_last_layers": 2}},
             "override_settings.CLIP_stop_at_last_layers"),
            ({"override_settings": {"sd_model_checkpoint": "nope"}},
             "override_settings.sd_model_checkpoint"),
            ({"override_settings": []}, "override_settings")]:
        body = dict(ok, **extra)
        r = txt2img(s, body, key)
        assert unprocessable(r, json.dumps(extra)) == {field}, \
            (extra, r.text[:400])
    fields = unprocessable(txt2img(s, {"steps": 2}, key), "no prompt")
    assert fields == {"prompt"}, fields
    # Every problem at once, the translation's and kiln's own checks.
    fields = unprocessable(txt2img(s, dict(ok, tiling=True, width=10,
                                           s_churn=1,
                                           sampler_name="Euler x"), key),
                           "four at once")
    assert fields == {"tiling", "width", "s_churn", "sampler_name"}, fields
    r = api(s, "POST", "/sdapi/v1/txt2img", key, raw="[1]")
    error_of(r, 400, "bad_request", "an array")
    assert jobs_of(s, uid) == before


def test_keys_and_scopes(s):
    _, _, ro = caller(s)
    r = api(s, "POST", "/sdapi/v1/txt2img", None, {"prompt": "x"})
    error_of(r, 401, "unauthorized", "no key")
    # A1111 clients are asked for Basic, which carries the key too.
    assert r.headers["www-authenticate"] == 'Basic realm="kiln"', r.headers
    r = txt2img(s, {"prompt": "x"}, ro)
    error_of(r, 403, "forbidden", "read-only key")
    r = api(s, "POST", "/sdapi/v1/interrupt", ro, {})
    error_of(r, 403, "forbidden", "read-only key")
    for path in ("/sdapi/v1/sd-models", "/sdapi/v1/samplers",
                 "/sdapi/v1/options", "/sdapi/v1/progress"):
        error_of(api(s, "GET", path), 401, "unauthorized", path)
        assert api(s, "GET", path, ro).status == 200, path


def test_models_samplers_options(s):
    _, key, ro = caller(s)
    models = is_json(api(s, "GET", "/sdapi/v1/sd-models", ro))
    titles = [m["title"] for m in models]
    assert "kiln-micro" in titles, models
    assert all(m["model_name"] == m["title"] for m in models), models
    names = {m["name"]: m["aliases"] for m in
             is_json(api(s, "GET", "/sdapi/v1/samplers", ro))}
    assert names["Euler a"] == ["euler_a"], names
    assert names["DPM++ 2M"] == ["dpmpp_2m"], names
    # Every sampler listed is one txt2img takes by that name.
    for name in names:
        r = txt2img(s, {"prompt": "a red circle", "steps": 1,
                        "sampler_name": name}, key)
        assert r.status == 200, (name, r.status, r.text[:300])
    opts = is_json(api(s, "GET", "/sdapi/v1/options", ro))
    assert opts["sd_model_checkpoint"] == "kiln-micro", opts


def test_progress_and_interrupt_follow_the_unfinished_job(s):
    uid, key, ro = caller(s)
    p = is_json(api(s, "GET", "/sdapi/v1/progress", ro))
    assert p["progress"] == 0 and p["state"]["job_count"] == 0, p
    assert p["current_image"] is None, p
    # A job some other daemon holds, a third of the way through, with a
    # preview on disk (its lease is far off, so recovery leaves it be).
    preview = "jobs/sdapi-preview-%d.png" % uid
    png = a_png()
    os.makedirs(s.path("artifacts", "jobs"), exist_ok=True)
    with open(s.path("artifacts", preview), "wb") as f:
        f.write(png)
    s.sql("INSERT INTO jobs (user_id, status, prompt, model, width, height,"
          " steps, cfg_scale, sampler, seed, batch_count, step,"
          " steps_total, eta_s, preview_path, claimed_by, lease_until,"
          " started_at) VALUES (%d, 'running', 'x', 'kiln-micro', 64, 64,"
          " 12, 4, 'euler', 1, 1, 4, 12, 2.5, '%s', 'elsewhere',"
          " NOW() + INTERVAL 1 HOUR, NOW())" % (uid, preview))
    jid = int(one(s, "SELECT MAX(id) FROM jobs WHERE user_id = %d" % uid))
    p = is_json(api(s, "GET", "/sdapi/v1/progress", ro))
    assert abs(p["progress"] - 4 / 12) < 1e-9, p
    assert p["eta_relative"] == 2.5, p
    assert p["state"]["job"] == str(jid) and p["state"]["job_count"] == 1
    assert (p["state"]["sampling_step"], p["state"]["sampling_steps"]) == \
        (4, 12), p
    assert base64.b64decode(p["current_image"]) == png, "preview"
    p = is_json(api(s, "GET", "/sdapi/v1/progress?skip_current_image=true",
                    ro))
    assert p["current_image"] is None, p
    # Someone else's unfinished job is not this caller's progress.
    _, okey = user_with_key(s, prefix="bea")
    p = is_json(api(s, "GET", "/sdapi/v1/progress", okey))
    assert p["state"]["job_count"] == 0 and p["current_image"] is None, p
    r = api(s, "POST", "/sdapi/v1/interrupt", okey, {})
    assert r.status == 200 and is_json(r) == {}, r.text[:300]
    assert one(s, "SELECT cancel_requested FROM jobs WHERE id = %d"
               % jid) == "0"
    # The owner's interrupt asks the daemon holding it to stop.
    r = api(s, "POST", "/sdapi/v1/interrupt", key, {})
    assert r.status == 200 and is_json(r) == {}, r.text[:300]
    assert one(s, "SELECT cancel_requested FROM jobs WHERE id = %d"
               % jid) == "1"
    s.sql("DELETE FROM jobs WHERE id = %d" % jid)
