"""Unmodified AUTOMATIC1111 clients against /sdapi/v1 behind lighttpd with
a running kilnd: each test replays, byte for byte, the requests one client
sends (read from its source: mix1009/sdwebuiapi webuiapi.py, Open WebUI's
backend/open_webui/routers/images.py, SillyTavern's
src/endpoints/stable-diffusion.js with the body its front end builds,
LibreChat's api/app/clients/tools/structured/StableDiffusion.js), headers
and JSON serialisation included, and reads the answer the way that client
reads it. Then png-info against tools/reference/infotext.py, and waiting
txt2img calls against progress under load.

Expected values come from the database, the files the daemon wrote,
Pillow (what A1111 and webuiapi read PNGs with) and the reference
parser, never from the answer under test."""

import base64
import http.client
import io
import json
import os
import socket
import sys
import threading
import time

from PIL import Image, PngImagePlugin

from common import (api, error_of, is_json, make_user, one,
                    png_parameters, user_with_key)
from harness import ROOT

sys.path.insert(0, os.path.join(ROOT, "tools", "reference"))
from infotext import parse_generation_parameters  # noqa: E402

# The loopback account LibreChat's key-less tool renders as.
LOOPBACK = "a1111-local"
STACK = dict(server="lighttpd", heartbeat=1, daemon_name="sdapi-c",
             extra_conf="[limits]\nsubmit_burst = 100000\n"
                        "[sdapi]\nloopback_user = %s\n" % LOOPBACK)


def replay(s, method, path, headers, body=b"", timeout=300):
    """Sends the request as the client writes it (its header lines in its
    order, its body bytes), on a connection of its own, and returns
    (status, lower-cased headers, body)."""
    lines = ["%s %s HTTP/1.1" % (method, path),
             "Host: 127.0.0.1:%d" % s.port]
    lines += ["%s: %s" % kv for kv in headers]
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    c = socket.create_connection(("127.0.0.1", s.port), timeout=timeout)
    try:
        c.sendall(data)
        r = http.client.HTTPResponse(c, method=method)
        r.begin()
        out = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, out
    finally:
        c.close()


def basic(user, password):
    return "Basic " + base64.b64encode(
        ("%s:%s" % (user, password)).encode()).decode()


# --- mix1009/sdwebuiapi (webuiapi.py): requests.Session with
# session.auth = (username, password), json= bodies (json.dumps with its
# default separators), python-requests' default headers.

def requests_headers(auth, body):
    h = [("User-Agent", "python-requests/2.28.1"),
         ("Accept-Encoding", "gzip, deflate"), ("Accept", "*/*"),
         ("Connection", "keep-alive")]
    if body is not None:
        h += [("Content-Length", str(len(body))),
              ("Content-Type", "application/json")]
    return h + [("Authorization", auth)]


def webuiapi(s, method, path, auth, payload=None, bodyless_post=False):
    body = json.dumps(payload).encode() if payload is not None else None
    h = requests_headers(auth, body)
    if bodyless_post:		# session.post(url) with no data
        h.insert(4, ("Content-Length", "0"))
    st, hd, out = replay(s, method, "/sdapi/v1" + path, h, body or b"")
    return st, out


def webuiapi_txt2img_payload(**kw):
    """WebUIApi.txt2img's payload with its defaults (sampler "Euler a",
    scheduler "automatic" from the constructor), kw as the caller's."""
    p = {"enable_hr": False, "hr_scale": 2, "hr_upscaler": "Latent",
         "hr_second_pass_steps": 0, "hr_resize_x": 0, "hr_resize_y": 0,
         "hr_checkpoint_name": None, "hr_sampler_name": None,
         "hr_scheduler": None, "hr_prompt": "", "hr_negative_prompt": "",
         "denoising_strength": 0.7, "firstphase_width": 0,
         "firstphase_height": 0, "prompt": "", "styles": [], "seed": -1,
         "subseed": -1, "subseed_strength": 0.0, "seed_resize_from_h": 0,
         "seed_resize_from_w": 0, "batch_size": 1, "n_iter": 1,
         "steps": 20, "cfg_scale": 7.0, "width": 512, "height": 512,
         "restore_faces": False, "tiling": False,
         "do_not_save_samples": False, "do_not_save_grid": False,
         "negative_prompt": "", "eta": 1.0, "s_churn": 0, "s_tmax": 0,
         "s_tmin": 0, "s_noise": 1, "override_settings": {},
         "override_settings_restore_afterwards": True,
         "sampler_name": "Euler a", "scheduler": "automatic",
         "sampler_index": "Euler a", "script_name": None,
         "script_args": [], "send_images": True, "save_images": False,
         "alwayson_scripts": {}}
    p.update(kw)
    return p


def to_api_result(st, out):
    """WebUIApi._to_api_result: RuntimeError unless 200, the images
    opened with Pillow, info json.loads'd."""
    assert st == 200, (st, out[:500])
    r = json.loads(out)
    images = [Image.open(io.BytesIO(base64.b64decode(i)))
              for i in r.get("images", [])]
    info = ""
    if "info" in r:
        try:
            info = json.loads(r["info"])
        except ValueError:
            info = r["info"]
    return images, r.get("parameters", ""), info, r


def latest_job(s, uid):
    return int(one(s, "SELECT MAX(id) FROM jobs WHERE user_id = %d" % uid))


def test_webuiapi_session(s):
    uid, key = user_with_key(s, prefix="wapi")
    auth = basic("anyone", key)
    # set_auth() calls check_extensions(): GET /scripts.
    st, out = webuiapi(s, "GET", "/scripts", auth)
    assert st == 200 and "controlnet m2m" not in json.loads(out)["txt2img"]
    # util_set_model("kiln-micro"): the titles, then POST /options.
    st, out = webuiapi(s, "GET", "/sd-models", auth)
    assert "kiln-micro" in sorted(x["title"] for x in json.loads(out))
    st, out = webuiapi(s, "POST", "/options", auth,
                       {"sd_model_checkpoint": "kiln-micro"})
    assert st == 200 and json.loads(out) is None, (st, out)
    assert one(s, "SELECT sd_model_checkpoint FROM sdapi_options WHERE"
               " user_id = %d" % uid) == "kiln-micro"
    # util_get_current_model()
    st, out = webuiapi(s, "GET", "/options", auth)
    assert json.loads(out)["sd_model_checkpoint"] == "kiln-micro"
    # txt2img with a non-Latin-1 prompt, as a user calls it.
    prompt = "\u732b, caf\u00e9, \U0001F525 squares"
    payload = webuiapi_txt2img_payload(prompt=prompt, steps=3, width=64,
                                       height=64, seed=77, batch_size=2)
    images, params, info, _ = to_api_result(
        *webuiapi(s, "POST", "/txt2img", auth, payload))
    jid = latest_job(s, uid)
    paths = [r[0] for r in s.sql("SELECT path FROM job_images WHERE"
                                 " job_id = %d ORDER BY idx" % jid)]
    assert len(images) == 2 == len(paths), (images, paths)
    for im, path in zip(images, paths):
        with open(s.path("artifacts", path), "rb") as f:
            want = Image.open(io.BytesIO(f.read()))
        assert im.size == (64, 64) and \
            im.convert("RGB").tobytes() == want.convert("RGB").tobytes()
        # Pillow reads the prompt back as written (iTXt, not mojibake).
        assert im.info["parameters"].split("\n")[0] == prompt, im.info
    assert params == payload
    assert info["infotexts"] == [im.info["parameters"] for im in images]
    assert info["all_prompts"] == [prompt, prompt]
    assert info["sampler_name"] == "Euler a" and info["seed"] == 77
    assert info["sd_model_name"] == "kiln-micro"
    assert one(s, "SELECT sampler FROM jobs WHERE id = %d" % jid) == \
        "euler_a"
    # png_info(image): b64_img re-saves the PNG with Pillow, its text
    # through PngInfo.add_text, then "data:image/png;base64," + it.
    buf = io.BytesIO()
    meta = PngImagePlugin.PngInfo()
    for k, v in images[0].info.items():
        if isinstance(k, str) and isinstance(v, str):
            meta.add_text(k, v)
    images[0].save(buf, format="PNG", pnginfo=meta)
    _, _, _, r = to_api_result(*webuiapi(
        s, "POST", "/png-info", auth, {"image": "data:image/png;base64," +
                                       base64.b64encode(buf.getvalue())
                                       .decode()}))
    assert r["info"] == images[0].info["parameters"]
    assert r["parameters"] == parse_generation_parameters(r["info"])
    assert r["parameters"]["Prompt"] == prompt
    assert r["items"] == {}
    # interrupt() and util_wait_for_ready(): nothing left running.
    st, out = webuiapi(s, "POST", "/interrupt", auth, bodyless_post=True)
    assert st == 200 and json.loads(out) == {}
    st, out = webuiapi(s, "GET", "/progress", auth)
    p = json.loads(out)
    assert p["progress"] == 0.0 and p["state"]["job_count"] == 0, p


def test_webuiapi_hires_and_lists(s):
    uid, key = user_with_key(s, prefix="wapih")
    auth = basic("", key)
    ups = json.loads(webuiapi(s, "GET", "/upscalers", auth)[1])
    lat = json.loads(webuiapi(s, "GET", "/latent-upscale-modes", auth)[1])
    names = [u["name"] for u in ups] + [m["name"] for m in lat]
    assert names[:2] == ["None", "Lanczos"], names
    assert {"Latent", "Latent (nearest)"} <= set(names), names
    for path in ("/samplers", "/schedulers", "/sd-vae", "/embeddings",
                 "/loras", "/hypernetworks", "/face-restorers",
                 "/prompt-styles", "/memory", "/cmd-flags"):
        st, out = webuiapi(s, "GET", path, auth)
        assert st == 200, (path, st, out[:300])
    st, out = webuiapi(s, "POST", "/refresh-checkpoints", auth,
                       bodyless_post=True)
    assert st == 200 and json.loads(out) is None
    # enable_hr with each upscaler /upscalers and latent modes list is
    # kiln's hires fix, recorded on the job.
    for up in ("Latent", "Lanczos"):
        payload = webuiapi_txt2img_payload(
            prompt="a red circle", steps=2, width=64, height=64,
            enable_hr=True, hr_scale=1.5, hr_upscaler=up,
            hr_second_pass_steps=2, denoising_strength=0.6)
        _, _, info, _ = to_api_result(
            *webuiapi(s, "POST", "/txt2img", auth, payload))
        row = s.sql("SELECT hires_scale, hires_strength, hires_steps,"
                    " hires_upscaler FROM jobs WHERE id = %d"
                    % latest_job(s, uid))[0]
        assert [float(row[0]), float(row[1]), int(row[2]), row[3]] == \
            [1.5, 0.6, 2, up.lower()], row
        assert info["denoising_strength"] == 0.6, info
        assert info["extra_generation_params"]["Hires upscaler"] == up


# --- Open WebUI (routers/images.py): aiohttp, headers={'authorization':
# 'Basic ' + base64(AUTOMATIC1111_API_AUTH)} or '' without one,
# json= bodies.

def aiohttp_req(s, method, path, authorization, payload=None):
    body = json.dumps(payload).encode() if payload is not None else b""
    h = [("authorization", authorization), ("Accept", "*/*"),
         ("Accept-Encoding", "gzip, deflate"),
         ("User-Agent", "Python/3.11 aiohttp/3.11.11")]
    if payload is not None:
        h += [("Content-Length", str(len(body))),
              ("Content-Type", "application/json")]
    st, _, out = replay(s, method, path, h, body)
    return st, out


def test_open_webui(s):
    uid, key = user_with_key(s, prefix="owui")
    auth = basic("admin", key)
    # verify_url and get_image_model: GET options.
    st, out = aiohttp_req(s, "GET", "/sdapi/v1/options", auth)
    assert st == 200
    options = json.loads(out)
    # get_models: id title, name model_name.
    st, out = aiohttp_req(s, "GET", "/sdapi/v1/sd-models", auth)
    assert {"id": "kiln-micro", "name": "kiln-micro"} in \
        [{"id": m["title"], "name": m["model_name"]} for m in
         json.loads(out)]
    # set_image_model posts back the whole object it read.
    options["sd_model_checkpoint"] = "kiln-micro"
    st, out = aiohttp_req(s, "POST", "/sdapi/v1/options", auth, options)
    assert st == 200, out
    # image_generations with IMAGE_SIZE 64x64 and IMAGE_STEPS 3.
    data = {"prompt": "a blue star", "batch_size": 1, "width": 64,
            "height": 64, "steps": 3}
    st, out = aiohttp_req(s, "POST", "/sdapi/v1/txt2img", auth, data)
    res = json.loads(out)
    for image in res["images"]:
        assert "," not in image		# mime image/png, b64decode
        assert base64.b64decode(image)[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(res["images"]) == 1 and isinstance(res["info"], str)
    assert int(one(s, "SELECT COUNT(*) FROM jobs WHERE user_id = %d AND"
                   " status = 'succeeded'" % uid)) == 1


def loopback_user(s):
    """The account [sdapi] loopback_user names, made once."""
    rows = s.sql("SELECT id FROM users WHERE username = '%s'" % LOOPBACK)
    return int(rows[0][0]) if rows else make_user(s, LOOPBACK)


def test_open_webui_without_auth_is_the_loopback_account(s):
    loopback_user(s)
    st, out = aiohttp_req(s, "GET", "/sdapi/v1/options", "")
    assert st == 200, out
    # A wrong key is still refused: only no credentials is the account.
    st, out = aiohttp_req(s, "GET", "/sdapi/v1/options",
                          basic("x", "kiln_" + "A" * 43))
    assert st == 401, out
    # /api/v1 never takes the loopback account.
    st, out = aiohttp_req(s, "GET", "/api/v1/me", "")
    assert st == 401, out


# --- SillyTavern: its server forwards the front end's body
# (JSON.stringify, so no spaces) with node-fetch, 'Authorization':
# getBasicAuthHeader(auth) = 'Basic ' + base64(auth).

def node_fetch(s, method, path, auth, payload=None):
    body = json.dumps(payload, separators=(",", ":")).encode() \
        if payload is not None else b""
    h = []
    if payload is not None:
        h.append(("Content-Type", "application/json"))
    h += [("Authorization", "Basic " + base64.b64encode(
        auth.encode()).decode()), ("Accept", "*/*"),
        ("User-Agent", "node-fetch"), ("Accept-Encoding", "gzip, deflate, br"),
        ("Connection", "close")]
    if payload is not None or method == "POST":
        h.append(("Content-Length", str(len(body))))
    st, _, out = replay(s, method, path, h, body)
    return st, out


def test_sillytavern(s):
    uid, key = user_with_key(s, prefix="stav")
    auth = "sillytavern:" + key
    assert node_fetch(s, "GET", "/sdapi/v1/options", auth)[0] == 200  # ping
    names = [x["name"] for x in json.loads(node_fetch(
        s, "GET", "/sdapi/v1/upscalers", auth)[1])]
    latent = [x["name"] for x in json.loads(node_fetch(
        s, "GET", "/sdapi/v1/latent-upscale-modes", auth)[1])]
    names[1:1] = latent
    assert names[0] == "None" and "Latent" in names, names
    # /vaes: both, the first fulfilled list.
    assert json.loads(node_fetch(s, "GET", "/sdapi/v1/sd-vae", auth)[1]) \
        == []
    assert "DDIM" in [x["name"] for x in json.loads(node_fetch(
        s, "GET", "/sdapi/v1/samplers", auth)[1])]
    assert "normal" in [x["name"] for x in json.loads(node_fetch(
        s, "GET", "/sdapi/v1/schedulers", auth)[1])]
    # set-model, then progress until idle.
    st, _ = node_fetch(s, "POST", "/sdapi/v1/options", auth,
                       {"sd_model_checkpoint": "kiln-micro"})
    assert st == 200
    p = json.loads(node_fetch(s, "GET", "/sdapi/v1/progress", auth)[1])
    assert p["progress"] == 0.0 and p["state"]["job_count"] == 0
    # generate: the front end's body for AUTO1111 with its defaults
    # (sampler DDIM, scheduler normal, seed -1 left out), through.
    body = {"url": "http://127.0.0.1:%d" % s.port, "auth": auth,
            "prompt": "a green triangle", "negative_prompt": "blurry",
            "sampler_name": "DDIM", "scheduler": "normal", "steps": 3,
            "cfg_scale": 7, "width": 64, "height": 64,
            "restore_faces": False, "enable_hr": False,
            "hr_upscaler": "Latent", "hr_scale": 2.0,
            "denoising_strength": 0.7, "hr_second_pass_steps": 0,
            "override_settings": {"CLIP_stop_at_last_layers": 1},
            "override_settings_restore_afterwards": True, "clip_skip": 1,
            "save_images": True, "send_images": True,
            "do_not_save_grid": False, "do_not_save_samples": False}
    st, out = node_fetch(s, "POST", "/sdapi/v1/txt2img", auth, body)
    assert st == 200, out[:500]
    data = json.loads(out)
    png = base64.b64decode(data["images"][0])
    jid = latest_job(s, uid)
    path = one(s, "SELECT path FROM job_images WHERE job_id = %d" % jid)
    with open(s.path("artifacts", path), "rb") as f:
        assert png == f.read()
    assert one(s, "SELECT sampler FROM jobs WHERE id = %d" % jid) == "ddim"


# --- LibreChat's tool: axios.post(url + '/sdapi/v1/txt2img', payload)
# with no auth; reads data.images[0] and JSON.parse(data.info).infotexts.
# Its payload fixes 1024x1024 and 22 steps, which kiln-micro on a 2-core
# CPU does not render within txt2img's 300 s: the size and steps are
# kiln-micro's (64x64, 4 steps), every other byte LibreChat's.

def test_librechat_without_a_key(s):
    lid = loopback_user(s)
    payload = {"prompt": "photo of a man in black clothes, coastline",
               "negative_prompt": "semi-realistic, cgi, 3d, render",
               "cfg_scale": 4.5, "steps": 4, "width": 64,
               "height": 64}
    body = json.dumps(payload, separators=(",", ":")).encode()
    h = [("Accept", "application/json, text/plain, */*"),
         ("Content-Type", "application/json"),
         ("User-Agent", "axios/1.7.9"), ("Content-Length", str(len(body))),
         ("Accept-Encoding", "gzip, compress, deflate, br"),
         ("Connection", "close")]
    st, _, out = replay(s, "POST", "/sdapi/v1/txt2img", h, body,
                        timeout=600)
    assert st == 200, out[:500]
    data = json.loads(out)
    image = data["images"][0]
    buf = base64.b64decode(image.split(",", 1)[0])
    info = json.loads(data["info"])
    generation_info = info["infotexts"][0].split("\n").pop()
    jid = latest_job(s, lid)
    path = one(s, "SELECT path FROM job_images WHERE job_id = %d" % jid)
    with open(s.path("artifacts", path), "rb") as f:
        raw = f.read()
    assert buf == raw
    assert info["infotexts"][0] == png_parameters(raw)
    assert generation_info.startswith("Steps: 4, Sampler: "), \
        generation_info
    assert (info["width"], info["height"], info["seed"]) == \
        (64, 64, int(one(s, "SELECT seed FROM job_images WHERE"
                             " job_id = %d" % jid)))


# --- png-info against the reference parser.

def test_png_info_is_a1111s_parse(s):
    _, key = user_with_key(s, prefix="pngi")
    texts = ["caf\u00e9 \u732b\nNegative prompt: bad\nSteps: 20, Sampler:"
             " Euler a, CFG scale: 7, Seed: 1, Size: 512x768, Lora hashes:"
             " \"a: 0123456789ab, b: ba9876543210\", Model: m",
             "just words", "p\nSteps: 1, Sampler: Euler, First pass size:"
             " 0x0, Size: 1024x768"]
    for text in texts:
        buf = io.BytesIO()
        meta = PngImagePlugin.PngInfo()
        meta.add_text("parameters", text)
        meta.add_text("Software", "elsewhere")
        Image.new("RGB", (8, 8)).save(buf, format="PNG", pnginfo=meta)
        r = api(s, "POST", "/sdapi/v1/png-info", key,
                {"image": base64.b64encode(buf.getvalue()).decode()})
        o = is_json(r)
        assert o["info"] == text
        assert o["items"] == {"Software": "elsewhere"}
        assert o["parameters"] == parse_generation_parameters(text), \
            (o["parameters"], parse_generation_parameters(text))
    r = api(s, "POST", "/sdapi/v1/png-info", key, {"image": "bm90IGFuIGltYWdl"})
    error_of(r, 422, "validation_failed", "not an image")


# --- Waiting txt2img calls against everything else.

def test_waiting_calls_do_not_hold_progress_up(s):
    _, key = user_with_key(s, prefix="load")
    auth = basic("", key)
    n = 6
    done = []

    def wait_one(i):
        payload = webuiapi_txt2img_payload(prompt="load %d" % i, steps=12,
                                           width=64, height=64)
        done.append(webuiapi(s, "POST", "/txt2img", auth, payload)[0])

    threads = [threading.Thread(target=wait_one, args=(i,))
               for i in range(n)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    slowest = 0.0
    calls = 0
    while any(t.is_alive() for t in threads) and calls < 40:
        t0 = time.monotonic()
        st, out = webuiapi(s, "GET", "/progress?skip_current_image=true",
                           auth)
        slowest = max(slowest, time.monotonic() - t0)
        assert st == 200, out
        calls += 1
        time.sleep(0.1)
    for t in threads:
        t.join(timeout=600)
    assert done == [200] * n, done
    # Six api-wait processes' worth of waiting; progress from api.fcgi's
    # own never queued behind them (it took 40 s when they shared).
    assert calls >= 5, calls
    assert slowest < 2.0, "slowest progress call %.2f s" % slowest
