"""Upscale-only jobs (kind "upscale") through the whole stack (lighttpd,
kilnd, MariaDB): the init image made larger by an upscaler of [paths]
upscalers (the committed kiln-upscale-x4, an RRDBNet checked against
PyTorch by the engine tests) or Lanczos. The reference is kiln-render
upscale run here on the same file with the same upscaler and budget: the
job's PNG must equal it pixel for pixel. Then the recipe shown back, the
parameters text, the cost in credits, the refusals naming their field,
ownership (404 to others) and deletion."""

import base64
import os
import shutil
import subprocess
import sys

import harness
from common import (api, error_of, is_json, models_with_micro, png_decode,
                    png_parameters, png_size, submit, user_with_key,
                    wait_job)
from test_input_jobs import init_png

sys.path.insert(0, os.path.join(harness.ROOT, "tools", "reference"))

# A budget of 1 MB: the upscaler runs in tiles, as the hires fix's.
STACK = dict(server="lighttpd", daemon_name="upscale-1",
             models=lambda d: make_models(d),
             extra_conf="[limits]\nsubmit_burst = 100000\n"
                        "[daemon]\nvae_budget_mb = 1\n")
UPSCALER = os.path.join(harness.ROOT, "models", "upscalers",
                        "kiln-upscale-x4.safetensors")


def make_models(stack_dir):
    import st_io
    import upscalers
    root = models_with_micro(stack_dir)
    ups = os.path.join(root, "upscalers")
    os.makedirs(ups)
    shutil.copy(UPSCALER, ups)
    # A small RRDBNet: its reach passes a tile's context, so a tiled run
    # differs from a whole one (SRVGGNet's tiles are exact).
    sd = upscalers.rrdbnet_weights(num_feat=8, num_block=1, num_grow_ch=4,
                                   scale=4, seed=3)
    st_io.write(os.path.join(ups, "tiny-rrdb.safetensors"),
                {k: v.numpy() for k, v in sd.items()})
    return root


def b64(data):
    return base64.b64encode(data).decode()


def upscaled(s, key, where="upscale", **kw):
    body = {"kind": "upscale", "init_image": b64(init_png(32, 24))}
    body.update(kw)
    j = submit(s, key, body, where)
    j = wait_job(s, key, j["id"], ("succeeded", "failed", "canceled"),
                 timeout=300)
    assert j["status"] == "succeeded", j
    r = api(s, "GET", "/api/v1/images/%d-0.png" % j["id"], key)
    assert r.status == 200, r.status
    return j, r.body


def kiln_render_upscale(s, src_png, scale, upscaler=None, budget=None):
    binary = os.path.join(harness.BUILD, "render-daemon", "kiln-render")
    src = os.path.join(s.dir, "up-in-%s.png" % os.urandom(3).hex())
    out = src.replace("up-in-", "up-out-")
    with open(src, "wb") as f:
        f.write(src_png)
    cmd = [binary, "upscale", "--in", src, "--scale", str(scale),
           "-o", out]
    if upscaler:
        cmd += ["--upscaler", upscaler]
    if budget:
        cmd += ["--budget", str(budget)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    with open(out, "rb") as f:
        return png_decode(f.read())


def test_an_upscale_job_equals_kiln_render_upscale(s):
    _, key = user_with_key(s)
    j, png = upscaled(s, key, upscaler="kiln-upscale-x4", upscale_by=4)
    assert png_size(png, "upscaled") == (128, 96)
    ref = kiln_render_upscale(s, init_png(32, 24), 4, UPSCALER, budget=1)
    assert png_decode(png) == ref
    # Not merely a resize: Lanczos alone gives another image.
    assert ref != kiln_render_upscale(s, init_png(32, 24), 4)
    assert j["kind"] == "upscale", j
    assert j["upscale"] == {"upscaler": "kiln-upscale-x4",
                            "upscale_by": 4}, j["upscale"]
    assert (j["width"], j["height"]) == (128, 96), j
    assert j["hires"] is None and j["denoising_strength"] is None, j
    assert png_parameters(png) == ("Postprocess upscale by: 4, "
                                   "Postprocess upscaler: kiln-upscale-x4")


def test_kilnd_tiles_the_upscaler_within_vae_budget_mb(s):
    # [daemon] vae_budget_mb = 1 here: the job's image is kiln-render
    # upscale --budget 1's, pixel for pixel, and not the untiled one.
    _, key = user_with_key(s)
    _, png = upscaled(s, key, where="rrdb", upscaler="tiny-rrdb",
                      upscale_by=4, init_image=b64(init_png(96, 80)))
    model = os.path.join(s.dir, "models", "upscalers",
                         "tiny-rrdb.safetensors")
    tiled = kiln_render_upscale(s, init_png(96, 80), 4, model, budget=1)
    assert png_decode(png) == tiled
    assert tiled != kiln_render_upscale(s, init_png(96, 80), 4, model)


def test_lanczos_by_default_and_a_fractional_factor(s):
    _, key = user_with_key(s)
    j, png = upscaled(s, key, upscale_by=1.5)
    assert png_size(png, "lanczos") == (48, 36)
    assert png_decode(png) == kiln_render_upscale(s, init_png(32, 24), 1.5)
    assert j["upscale"]["upscaler"] == "lanczos", j
    assert "Postprocess upscaler: Lanczos" in png_parameters(png)


def test_to_a_size_cropped_as_a1111s_extras(s):
    # 32x24 to 64x64: factor max(2, 8/3), 85x64 centred and cropped.
    _, key = user_with_key(s)
    j, png = upscaled(s, key, upscaler="kiln-upscale-x4", width=64,
                      height=64)
    assert png_size(png, "cropped") == (64, 64)
    full = kiln_render_upscale(s, init_png(32, 24), 64 / 24, UPSCALER,
                               budget=1)
    fw, fh, rows = full
    assert (fw, fh) == (85, 64), (fw, fh)
    # PIL's paste at (64 // 2 - 85 // 2, 0): columns 10..73 kept.
    x0 = fw // 2 - 32
    assert png_decode(png) == (64, 64, [r[x0:x0 + 64] for r in rows])
    assert png_parameters(png) == (
        "Postprocess upscale to: 64x64, Postprocess crop to: 64x64, "
        "Postprocess upscaler: kiln-upscale-x4")
    # Not cropped: int(side x factor).
    _, png2 = upscaled(s, key, width=64, height=64, upscale_crop=False)
    assert png_size(png2, "uncropped") == (85, 64)


def test_cost_is_by_output_pixels(s):
    uid, key = user_with_key(s)
    s.sql("UPDATE users SET credits = 100 WHERE id = %d" % uid)
    body = {"kind": "upscale", "init_image": b64(init_png(256, 256)),
            "upscale_by": 4}
    j = submit(s, key, body)
    # 1024x1024 delivered: 1024 x 1024 / 262144 = 4 credits.
    assert s.sql("SELECT cost FROM jobs WHERE id = %d" % j["id"]) == \
        [["4"]]
    assert s.sql("SELECT credits FROM users WHERE id = %d" % uid) == \
        [["96"]]


def test_bad_upscale_fields_are_refused_naming_them(s):
    _, key = user_with_key(s)
    img = b64(init_png(32, 24))
    for body, field, msg in (
            ({"upscaler": "nope"}, "upscaler", "nope"),
            ({"upscale_by": 9}, "upscale_by", ""),
            ({"upscale_by": 0.5}, "upscale_by", ""),
            ({"init_image": b64(init_png(600, 600)), "upscale_by": 4},
             "upscale_by", "over the limit"),
            ({"width": 64}, "height", ""),
            ({"init_image": b64(init_png(200, 200)), "width": 100,
              "height": 100}, "width", "smaller than the image"),
            ({"width": 64, "height": 64, "upscale_by": 2}, "upscale_by",
             "not both"),
            ({"prompt": "a cat"}, "prompt", "not used by an upscale"),
            ({"steps": 20}, "steps", "not used by an upscale"),
            ({"init_image": None}, "init_image", "required"),
            ({"init_image": "bm90IGFuIGltYWdl"}, "init_image", "")):
        b = {"kind": "upscale", "init_image": img}
        b.update(body)
        if b["init_image"] is None:
            del b["init_image"]
        r = api(s, "POST", "/api/v1/jobs", key, b)
        # 400 for the request's own fields, 422 for what the upscaler
        # or the limits refuse (as for other jobs).
        e = error_of(r, 422 if r.status == 422 else 400,
                     "validation_failed", repr(body))
        assert field in e.get("fields", {}), (body, e)
        assert msg in e["fields"][field], (body, e)
    r = api(s, "POST", "/api/v1/jobs", key,
            {"prompt": "x", "upscaler": "lanczos"})
    e = error_of(r, 400, "validation_failed", "upscaler without kind")
    assert "kind" in e["fields"]["upscaler"], e


def test_someone_elses_upscale_job_is_404_and_the_owner_deletes(s):
    _, key = user_with_key(s)
    _, other = user_with_key(s)
    j, _ = upscaled(s, key)
    assert api(s, "GET", "/api/v1/jobs/%d" % j["id"], other).status == 404
    assert api(s, "GET", "/api/v1/images/%d-0.png" % j["id"],
               other).status == 404
    assert api(s, "DELETE", "/api/v1/jobs/%d" % j["id"],
               other).status == 404
    listed = is_json(api(s, "GET", "/api/v1/jobs", key))
    ids = [x["id"] for x in listed.get("jobs", listed.get("items", []))]
    assert j["id"] in ids, listed
    r = api(s, "DELETE", "/api/v1/jobs/%d" % j["id"], key)
    assert r.status in (200, 204), r.status
    assert api(s, "GET", "/api/v1/images/%d-0.png" % j["id"],
               key).status == 404


# --- AUTOMATIC1111's extras: POST /sdapi/v1/extra-single-image as
# mix1009/sdwebuiapi's WebUIApi.extra_single_image sends it (its payload
# with its defaults, in its key order), read as _to_api_result reads it.

def webuiapi_extras_payload(png, **kw):
    p = {"resize_mode": 0, "show_extras_results": True,
         "gfpgan_visibility": 0, "codeformer_visibility": 0,
         "codeformer_weight": 0, "upscaling_resize": 2,
         "upscaling_resize_w": 512, "upscaling_resize_h": 512,
         "upscaling_crop": True, "upscaler_1": "None",
         "upscaler_2": "None", "extras_upscaler_2_visibility": 0,
         "upscale_first": False,
         "image": "data:image/png;base64," + b64(png)}
    p.update(kw)
    # kw after "image" keeps webuiapi's order for the keys it has.
    p["image"] = p.pop("image")
    return p


def webuiapi_result(st, out):
    """WebUIApi._to_api_result: the "image" opened with Pillow, info
    from "html_info" (no "info" key)."""
    import io
    import json
    from PIL import Image
    assert st == 200, (st, out[:500])
    r = json.loads(out)
    images = []
    if "images" in r:
        images = [Image.open(io.BytesIO(base64.b64decode(i)))
                  for i in r["images"]]
    elif "image" in r:
        images = [Image.open(io.BytesIO(base64.b64decode(r["image"])))]
    info = r["info"] if "info" in r else r.get("html_info", "")
    return images, info, r


def test_webuiapi_extra_single_image_is_an_upscale_job(s):
    from test_sdapi_clients import basic, webuiapi
    _, key = user_with_key(s, prefix="extras")
    st, out = webuiapi(s, "POST", "/extra-single-image", basic("me", key),
                       webuiapi_extras_payload(init_png(32, 24),
                                               upscaler_1="kiln-upscale-x4",
                                               upscaling_resize=4))
    images, info, r = webuiapi_result(st, out)
    assert set(r) == {"html_info", "image"}, r.keys()
    assert images[0].size == (128, 96)
    assert info == ("<p>Postprocess upscale by: 4, Postprocess upscaler: "
                    "kiln-upscale-x4</p>"), info
    ref = kiln_render_upscale(s, init_png(32, 24), 4, UPSCALER, budget=1)
    assert png_decode(base64.b64decode(r["image"])) == ref
    # An ordinary job of the account, listed with its kind.
    jobs = is_json(api(s, "GET", "/api/v1/jobs", key))["jobs"]
    assert jobs[0]["kind"] == "upscale", jobs[0]


def test_extras_to_a_size_and_none_is_lanczos(s):
    from test_sdapi_clients import basic, webuiapi
    _, key = user_with_key(s, prefix="extras")
    st, out = webuiapi(s, "POST", "/extra-single-image", basic("me", key),
                       webuiapi_extras_payload(init_png(32, 24),
                                               resize_mode=1,
                                               upscaling_resize_w=64,
                                               upscaling_resize_h=64))
    images, info, r = webuiapi_result(st, out)
    assert images[0].size == (64, 64)
    assert info == ("<p>Postprocess upscale to: 64x64, Postprocess crop "
                    "to: 64x64, Postprocess upscaler: Lanczos</p>"), info


def test_extras_refuses_what_kiln_cannot_do_naming_the_field(s):
    import json
    from test_sdapi_clients import basic, webuiapi
    _, key = user_with_key(s, prefix="extras")
    img = init_png(32, 24)
    for kw, field in (
            ({"upscaler_2": "Lanczos", "extras_upscaler_2_visibility": 0.5},
             "extras_upscaler_2_visibility"),
            ({"gfpgan_visibility": 1}, "gfpgan_visibility"),
            ({"codeformer_visibility": 0.3}, "codeformer_visibility"),
            ({"upscaler_1": "nope"}, "upscaler_1"),
            ({"upscaling_resize": 9}, "upscaling_resize"),
            ({"upscaling_resize": 8, "image": "data:image/png;base64," +
              b64(init_png(600, 600))}, "upscaling_resize"),
            ({"resize_mode": 2}, "resize_mode"),
            ({"image": ""}, "image")):
        st, out = webuiapi(s, "POST", "/extra-single-image",
                           basic("me", key),
                           webuiapi_extras_payload(img, **kw))
        assert st == 422, (kw, st, out[:300])
        fields = json.loads(out)["error"]["fields"]
        assert field in fields, (kw, fields)
    # A second upscaler at visibility 0 is no blend: accepted.
    st, out = webuiapi(s, "POST", "/extra-single-image", basic("me", key),
                       webuiapi_extras_payload(img, upscaler_2="Lanczos"))
    assert st == 200, (st, out[:300])


def test_webuiapi_extra_batch_images_is_one_job_per_image(s):
    # WebUIApi.extra_batch_images: the same payload with "imageList" of
    # {"data": b64_img(image), "name": name} in place of "image".
    import json
    from test_sdapi_clients import basic, webuiapi
    uid, key = user_with_key(s, prefix="extras")
    p = webuiapi_extras_payload(init_png(32, 24), upscaling_resize=2)
    del p["image"]
    p["imageList"] = [
        {"data": "data:image/png;base64," + b64(init_png(32, 24)),
         "name": "a"},
        {"data": "data:image/png;base64," + b64(init_png(16, 16)),
         "name": "b"}]
    st, out = webuiapi(s, "POST", "/extra-batch-images", basic("me", key), p)
    images, info, r = webuiapi_result(st, out)
    assert set(r) == {"html_info", "images"}, r.keys()
    assert [i.size for i in images] == [(64, 48), (32, 32)]
    assert info == ("<p>Postprocess upscale by: 2, Postprocess upscaler: "
                    "Lanczos</p>"), info
    assert png_decode(base64.b64decode(r["images"][1])) == \
        kiln_render_upscale(s, init_png(16, 16), 2)
    assert s.sql("SELECT COUNT(*) FROM jobs WHERE user_id = %d AND kind ="
                 " 'upscale'" % uid) == [["2"]]
    # A bad image names its place in the list.
    p["imageList"][1]["data"] = "bm90IGFuIGltYWdl"
    st, out = webuiapi(s, "POST", "/extra-batch-images", basic("me", key), p)
    assert st == 422, (st, out[:300])
    assert "imageList[1].data" in json.loads(out)["error"]["fields"], out
