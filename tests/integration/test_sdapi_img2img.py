"""AUTOMATIC1111's img2img and sd-webui-controlnet's units through the
whole stack (lighttpd, api-wait.fcgi, kilnd, MariaDB) on kiln-micro:
webuiapi's requests (mix1009/sdwebuiapi webuiapi.py: WebUIApi.img2img's
payload with its defaults, ControlNetUnit.to_dict()) replayed byte for
byte, the answers read as webuiapi reads them, and each image compared
with the same job sent to kiln's own POST /api/v1/jobs (same seed): the
independent reference. Then the extension's lists, extra-single-image
as an upscale job, and that a large body is read only from a caller its headers name.
"""

import base64
import io
import json
import os
import subprocess

from PIL import Image

import harness
from common import (api, png_decode, submit, user_with_key, wait_job,
                    make_session)
from test_input_jobs import init_png, left_mask, make_models
from test_sdapi_clients import basic, to_api_result, webuiapi

STACK = dict(server="lighttpd", daemon_name="sdapi-i2i",
             models=lambda d: make_models(d),
             extra_conf="[limits]\nsubmit_burst = 100000\n"
                        "upload_max_mb = 1\n")
PROMPT = "a red circle on a blue background"


def data_uri(png):
    """webuiapi's b64_img(): a data URI of the PNG."""
    return "data:image/png;base64," + base64.b64encode(png).decode()


def webuiapi_img2img_payload(images, mask=None, **kw):
    """WebUIApi.img2img's payload with its defaults (sampler "Euler a",
    scheduler "automatic" from the constructor), in its key order."""
    p = {"init_images": [data_uri(x) for x in images], "resize_mode": 0,
         "denoising_strength": 0.75, "mask_blur": 4, "inpainting_fill": 0,
         "inpaint_full_res": True, "inpaint_full_res_padding": 0,
         "inpainting_mask_invert": 0, "initial_noise_multiplier": 1,
         "prompt": "", "styles": [], "seed": -1, "subseed": -1,
         "subseed_strength": 0, "seed_resize_from_h": 0,
         "seed_resize_from_w": 0, "batch_size": 1, "n_iter": 1,
         "steps": 20, "cfg_scale": 7.0, "image_cfg_scale": 1.5,
         "width": 512, "height": 512, "restore_faces": False,
         "tiling": False, "do_not_save_samples": False,
         "do_not_save_grid": False, "negative_prompt": "", "eta": 1.0,
         "s_churn": 0, "s_tmax": 0, "s_tmin": 0, "s_noise": 1,
         "override_settings": {},
         "override_settings_restore_afterwards": True,
         "sampler_name": "Euler a", "scheduler": "automatic",
         "sampler_index": "Euler a", "include_init_images": False,
         "script_name": None, "script_args": [], "send_images": True,
         "save_images": False, "alwayson_scripts": {}}
    p.update(kw)
    if mask is not None:
        p["mask"] = data_uri(mask)
    return p


def controlnet_unit(image, **kw):
    """webuiapi's ControlNetUnit(...).to_dict() with its defaults
    (raw_b64_img: base64 without a data: prefix)."""
    u = {"image": base64.b64encode(image).decode() if image else "",
         "mask": None, "module": "none", "model": "None", "weight": 1.0,
         "resize_mode": "Resize and Fill", "low_vram": False,
         "processor_res": 512, "threshold_a": 64, "threshold_b": 64,
         "guidance_start": 0.0, "guidance_end": 1.0,
         "control_mode": "Balanced", "pixel_perfect": False,
         "hr_option": "Both", "enabled": True}
    u.update(kw)
    return u


def pixels(pil):
    """Pillow's RGB pixels: what webuiapi's caller gets."""
    return list(pil.convert("RGB").getdata())


def reference(s, key, body):
    """The same job through kiln's own API: its image's RGB pixels."""
    j = submit(s, key, dict(body, prompt=PROMPT, seed=11, steps=6,
                            width=64, height=64, sampler="euler_a",
                            cfg_scale=7))
    j = wait_job(s, key, j["id"], ("succeeded", "failed", "canceled"),
                 timeout=300)
    assert j["status"] == "succeeded", j
    r = api(s, "GET", "/api/v1/images/%d-0.png" % j["id"], key)
    assert r.status == 200
    w, h, rows = png_decode(r.body)
    return [px for row in rows for px in row]


def b64(data):
    return base64.b64encode(data).decode()


def test_webuiapi_img2img_is_kilns_img2img_job(s):
    _, key = user_with_key(s, prefix="i2i")
    init = init_png()
    st, out = webuiapi(s, "POST", "/img2img", basic("me", key),
                       webuiapi_img2img_payload(
                           [init], prompt=PROMPT, seed=11, steps=6,
                           width=64, height=64, denoising_strength=0.6))
    images, params, info, r = to_api_result(st, out)
    assert len(images) == 1 and images[0].size == (64, 64)
    # A1111 hides the images it was sent unless include_init_images.
    assert params["init_images"] is None and params["mask"] is None
    assert "include_init_images" not in params
    assert info["seed"] == 11 and info["all_seeds"] == [11], info
    assert info["denoising_strength"] == 0.6, info
    assert "Denoising strength: 0.6" in info["infotexts"][0], info
    ref = reference(s, key, {"init_image": b64(init),
                             "denoising_strength": 0.6,
                             "sampler": "euler_a", "cfg_scale": 7})
    assert pixels(images[0]) == ref


def test_webuiapi_inpaint_takes_a1111s_mask_defaults(s):
    _, key = user_with_key(s, prefix="inp")
    init, mask = init_png(), left_mask()
    st, out = webuiapi(s, "POST", "/img2img", basic("me", key),
                       webuiapi_img2img_payload(
                           [init], mask=mask, prompt=PROMPT, seed=11,
                           steps=6, width=64, height=64,
                           include_init_images=True))
    images, params, info, _ = to_api_result(st, out)
    assert params["init_images"] == [data_uri(init)]
    assert params["mask"] == data_uri(mask)
    # webuiapi's mask_blur 4, fill 0, only masked with padding 0.
    assert ("Denoising strength: 0.75, Mask blur: 4, Inpaint area: Only "
            "masked, Masked area padding: 0, Masked content: fill") in \
        info["infotexts"][0], info["infotexts"][0]
    ref = reference(s, key, {"init_image": b64(init), "mask": b64(mask),
                             "mask_blur": 4, "inpainting_fill": 0,
                             "inpaint_full_res": True,
                             "inpaint_full_res_padding": 0})
    assert pixels(images[0]) == ref


def test_webuiapi_controlnet_unit_is_the_jobs_controlnet(s):
    _, key = user_with_key(s, prefix="cn")
    control = init_png()
    unit = controlnet_unit(control, module="canny",
                           model="kiln-micro-canny [00000000]",
                           weight=0.8, guidance_end=0.9)
    # WebUIApi.txt2img(controlnet_units=[unit]): the unit under
    # alwayson_scripts["ControlNet"].
    from test_sdapi_clients import webuiapi_txt2img_payload
    st, out = webuiapi(s, "POST", "/txt2img", basic("me", key),
                       webuiapi_txt2img_payload(
                           prompt=PROMPT, seed=11, steps=6, width=64,
                           height=64, alwayson_scripts={
                               "ControlNet": {"args": [unit]}}))
    images, _, info, _ = to_api_result(st, out)
    assert ('ControlNet 0: "Module: canny, Model: kiln-micro-canny, '
            'Weight: 0.8, Threshold A: 64, Threshold B: 64, Guidance '
            'Start: 0, Guidance End: 0.9"') in info["infotexts"][0], info
    ref = reference(s, key, {"control_image": b64(control),
                             "controlnet_model": "kiln-micro-canny",
                             "controlnet_preprocessor": "canny",
                             "controlnet_weight": 0.8,
                             "controlnet_guidance_end": 0.9,
                             "controlnet_low_threshold": 64,
                             "controlnet_high_threshold": 64})
    assert pixels(images[0]) == ref
    # And img2img's unit without an image guides with the init image.
    st, out = webuiapi(s, "POST", "/img2img", basic("me", key),
                       webuiapi_img2img_payload(
                           [control], prompt=PROMPT, seed=11, steps=6,
                           width=64, height=64, alwayson_scripts={
                               "ControlNet": {"args": [controlnet_unit(
                                   None, model="kiln-micro-canny")]}}))
    images, _, _, _ = to_api_result(st, out)
    ref = reference(s, key, {"init_image": b64(control),
                             "control_image": b64(control),
                             "controlnet_model": "kiln-micro-canny"})
    assert pixels(images[0]) == ref


def test_what_kiln_cannot_do_is_422_naming_the_field(s):
    _, key = user_with_key(s, prefix="no")
    init = init_png()
    ok = dict(prompt=PROMPT, steps=6, width=64, height=64)
    cases = [
        (webuiapi_img2img_payload([init, init], **ok), "init_images"),
        (webuiapi_img2img_payload([], **ok), "init_images"),
        (webuiapi_img2img_payload([init], **ok, alwayson_scripts={
            "controlnet": {"args": [
                controlnet_unit(init, model="kiln-micro-canny"),
                controlnet_unit(init, model="kiln-micro-canny")]}}),
         "alwayson_scripts.controlnet.args[1]"),
        (webuiapi_img2img_payload([init], **ok, alwayson_scripts={
            "controlnet": {"args": [controlnet_unit(
                init, model="nope")]}}),
         "alwayson_scripts.controlnet.args[0].model"),
    ]
    for body, field in cases:
        st, out = webuiapi(s, "POST", "/img2img", basic("me", key), body)
        assert st == 422, (field, st, out[:300])
        fields = json.loads(out)["error"]["fields"]
        assert field in fields, (field, fields)


def test_the_extensions_lists_and_extra_single_image(s):
    _, key = user_with_key(s, prefix="lists")
    auth = basic("me", key)
    from test_sdapi_clients import replay, requests_headers
    got = {}
    for path in ("/controlnet/version", "/controlnet/model_list",
                 "/controlnet/module_list"):
        st, _, out = replay(s, "GET", path, requests_headers(auth, None))
        assert st == 200, (path, st, out)
        got[path] = json.loads(out)
    assert got["/controlnet/version"] == {"version": 3}
    assert got["/controlnet/model_list"]["model_list"] == \
        ["kiln-micro-canny"]
    assert got["/controlnet/module_list"]["module_list"] == \
        ["none", "canny"]
    # extra_single_image: an upscale job (test_upscale_jobs has more).
    st, out = webuiapi(s, "POST", "/extra-single-image", auth, {
        "resize_mode": 0, "show_extras_results": True,
        "upscaling_resize": 2, "upscaler_1": "Lanczos",
        "image": data_uri(init_png())})
    assert st == 200, (st, out[:300])
    img = Image.open(io.BytesIO(base64.b64decode(json.loads(out)["image"])))
    assert img.size == (128, 128)


def cgi_post(s, prog, path, length, feed, auth="", cookie=""):
    """prog as plain CGI, told CONTENT_LENGTH length but fed only feed
    with stdin left open: a program that waits for the whole body
    blocks (and times out); one that refuses first answers."""
    env = {"KILN_CONF": s.conf, "REQUEST_METHOD": "POST",
           "PATH_INFO": path, "QUERY_STRING": "",
           "CONTENT_LENGTH": str(length),
           "CONTENT_TYPE": "application/json",
           "HTTP_AUTHORIZATION": auth, "HTTP_COOKIE": cookie,
           "HTTP_HOST": "127.0.0.1", "REMOTE_ADDR": "192.0.2.7",
           "PATH": os.environ["PATH"]}
    p = subprocess.Popen([os.path.join(harness.BUILD, "cgi-bin", prog)],
                         env=env, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        p.stdin.write(feed)
        p.stdin.flush()
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            return "(still reading the body after 20 s)"
        return p.stdout.read().decode(errors="replace")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdin.close()
        p.stdout.close()
        p.stderr.close()


def test_an_anonymous_large_body_is_refused_unread(s):
    # 4 MiB: over 1 MiB, within what an upload route takes (three
    # base64 images of upload_max_mb 1, and 1 MiB).
    five = 4 << 20
    for path in ("/api/v1/jobs", "/api/v1/jobs/batch", "/sdapi/v1/img2img"):
        out = cgi_post(s, "api.fcgi", path, five, b'{"prompt": "')
        assert out.startswith("Status: 401 "), (path, out[:300])
    out = cgi_post(s, "portal.fcgi", "/generate", five, b"prompt=")
    assert out.startswith("Status: 413 "), out[:300]
    # A key that is no key is no caller either.
    out = cgi_post(s, "api.fcgi", "/api/v1/jobs", five, b"{",
                   auth="Bearer kiln_" + "x" * 43)
    assert out.startswith("Status: 401 "), out[:300]


def test_an_authenticated_large_body_is_read(s):
    uid, key = user_with_key(s, prefix="big")
    # 2 MiB of JSON: over 1 MiB, within three images of 1 MiB.
    body = json.dumps({"prompt": "p", "negative_prompt": "",
                       "pad": "a" * (2 << 20)}).encode()
    out = cgi_post(s, "api.fcgi", "/api/v1/jobs", len(body), body,
                   auth="Bearer " + key)
    # Read and judged: the unknown field is named, not a 413 or 401.
    assert out.startswith("Status: 400 ") or out.startswith("Status: 422 "), \
        out[:300]
    assert '"pad"' in out, out[:500]
    cookie = make_session(s, uid)
    out = cgi_post(s, "portal.fcgi", "/generate", len(body), body,
                   cookie="kiln_session=" + cookie)
    assert not out.startswith("Status: 413 "), out[:300]
