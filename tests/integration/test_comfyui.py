"""ComfyUI's API (/comfyui/...) behind lighttpd with a running kilnd on
kiln-micro: the requests of ComfyUI's script_examples/basic_api_example.py
replayed as that script sends them (Python urllib, its JSON labelled as a
form), the history and images read the way it and its websocket sibling
read them, img2img and inpainting graphs over /upload/image, refusals in
ComfyUI's error shape naming the node, and someone else's prompt or image
answering nothing.

The reference for every image is the same job sent through kiln's own
/api/v1/jobs with the same seed: the ComfyUI route must render exactly
it, pixel for pixel."""

import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

from common import (api, is_json, png_decode, submit, user_with_key,
                    wait_job)
from test_input_jobs import init_png, left_mask, make_models

STACK = dict(server="lighttpd", daemon_name="comfy-1",
             models=lambda d: make_models(d),
             extra_conf="[limits]\nsubmit_burst = 100000\n"
                        "upload_max_mb = 1\n")

# script_examples/basic_api_example.py's workflow, as it is in the
# script, but for ckpt_name and the size: a user names the model they
# have, and kiln-micro renders at most 128 on a side (at 512 kiln answers
# 400 naming EmptyLatentImage's width and height).
BASIC = """
{
    "3": {
        "class_type": "KSampler",
        "inputs": {
            "cfg": 8,
            "denoise": 1,
            "latent_image": [
                "5",
                0
            ],
            "model": [
                "4",
                0
            ],
            "negative": [
                "7",
                0
            ],
            "positive": [
                "6",
                0
            ],
            "sampler_name": "euler",
            "scheduler": "normal",
            "seed": 8566257,
            "steps": 20
        }
    },
    "4": {
        "class_type": "CheckpointLoaderSimple",
        "inputs": {
            "ckpt_name": "kiln-micro"
        }
    },
    "5": {
        "class_type": "EmptyLatentImage",
        "inputs": {
            "batch_size": 1,
            "height": 64,
            "width": 64
        }
    },
    "6": {
        "class_type": "CLIPTextEncode",
        "inputs": {
            "clip": [
                "4",
                1
            ],
            "text": "masterpiece best quality girl"
        }
    },
    "7": {
        "class_type": "CLIPTextEncode",
        "inputs": {
            "clip": [
                "4",
                1
            ],
            "text": "bad hands"
        }
    },
    "8": {
        "class_type": "VAEDecode",
        "inputs": {
            "samples": [
                "3",
                0
            ],
            "vae": [
                "4",
                2
            ]
        }
    },
    "9": {
        "class_type": "SaveImage",
        "inputs": {
            "filename_prefix": "ComfyUI",
            "images": [
                "8",
                0
            ]
        }
    }
}
"""


def server(s):
    return "http://127.0.0.1:%d/comfyui" % s.port


def urlopen(req, key):
    """The scripts' urllib call; kiln wants its API key, which ComfyUI
    does not: the one header a user adds."""
    req.add_header("Authorization", "Bearer " + key)
    return urllib.request.urlopen(req, timeout=60)


def queue_prompt(s, key, prompt):
    # basic_api_example.py's queue_prompt, answering what it reads.
    p = {"prompt": prompt}
    data = json.dumps(p).encode('utf-8')
    req = urllib.request.Request(server(s) + "/prompt", data=data)
    try:
        with urlopen(req, key) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        raise AssertionError("POST /prompt: %d %s" % (e.code, e.read()))


def get_history(s, key, prompt_id):
    # websockets_api_example.py's get_history, polled (no /ws in kiln).
    req = urllib.request.Request(server(s) + "/history/" + prompt_id)
    with urlopen(req, key) as r:
        return json.loads(r.read())


def get_image(s, key, filename, subfolder, folder_type):
    data = {"filename": filename, "subfolder": subfolder,
            "type": folder_type}
    url_values = urllib.parse.urlencode(data)
    req = urllib.request.Request(server(s) + "/view?" + url_values)
    with urlopen(req, key) as r:
        return r.read()


def wait_history(s, key, prompt_id, timeout=300):
    until = time.time() + timeout
    while time.time() < until:
        h = get_history(s, key, prompt_id)
        if prompt_id in h:
            return h[prompt_id]
        time.sleep(0.3)
    raise AssertionError("prompt %s never reached the history" % prompt_id)


def images_of(s, key, entry):
    out = []
    for node_id in entry["outputs"]:
        for image in entry["outputs"][node_id]["images"]:
            out.append(get_image(s, key, image["filename"],
                                 image["subfolder"], image["type"]))
    return out


def kiln_render(s, key, body):
    j = submit(s, key, body)
    j = wait_job(s, key, j["id"], ("succeeded", "failed", "canceled"),
                 timeout=300)
    assert j["status"] == "succeeded", j
    r = api(s, "GET", "/api/v1/images/%d-0.png" % j["id"], key)
    assert r.status == 200
    return r.body


def post(s, key, path, body):
    """A JSON POST as ComfyUI's front end sends one."""
    return api(s, "POST", "/comfyui" + path, key, body)


def upload(s, key, name, png, overwrite=None):
    # ComfyUI's front end: multipart "image" (+ "overwrite").
    b = "----kiln" + uuid.uuid4().hex
    parts = [b"--" + b.encode() + b"\r\nContent-Disposition: form-data; "
             b'name="image"; filename="' + name.encode() + b'"\r\n'
             b"Content-Type: image/png\r\n\r\n" + png + b"\r\n"]
    if overwrite is not None:
        parts.append(b"--" + b.encode() + b'\r\nContent-Disposition: '
                     b'form-data; name="overwrite"\r\n\r\n' +
                     overwrite.encode() + b"\r\n")
    body = b"".join(parts) + b"--" + b.encode() + b"--\r\n"
    r = api(s, "POST", "/comfyui/upload/image", key, raw=body,
            ctype="multipart/form-data; boundary=" + b)
    assert r.status == 200, r.text[:500]
    return is_json(r)


def small(prompt, seed=11, steps=6):
    """A 64x64 txt2img graph on kiln-micro, as dicts."""
    g = json.loads(BASIC)
    g["3"]["inputs"].update(seed=seed, steps=steps)
    g["5"]["inputs"].update(width=64, height=64)
    g["6"]["inputs"]["text"] = prompt
    g["7"]["inputs"]["text"] = ""
    return g


def test_basic_api_example_renders_what_the_same_kiln_job_does(s):
    _, key = user_with_key(s)
    prompt = json.loads(BASIC)
    prompt["6"]["inputs"]["text"] = "masterpiece best quality man"
    prompt["3"]["inputs"]["seed"] = 5
    answer = queue_prompt(s, key, prompt)
    assert set(answer) == {"prompt_id", "number", "node_errors"}, answer
    assert answer["node_errors"] == {}
    uuid.UUID(answer["prompt_id"])
    entry = wait_history(s, key, answer["prompt_id"])
    assert entry["status"]["status_str"] == "success"
    assert entry["status"]["completed"] is True
    assert entry["prompt"][1] == answer["prompt_id"]
    assert entry["prompt"][2] == prompt
    assert entry["prompt"][4] == ["9"]
    assert list(entry["outputs"]) == ["9"]
    (image,) = entry["outputs"]["9"]["images"]
    assert image["subfolder"] == "" and image["type"] == "output"
    (png,) = images_of(s, key, entry)
    ref = kiln_render(s, key, {
        "prompt": "masterpiece best quality man",
        "negative_prompt": "bad hands", "model": "kiln-micro",
        "width": 64, "height": 64, "steps": 20, "cfg_scale": 8,
        "sampler": "euler", "seed": 5})
    assert png_decode(png) == png_decode(ref)
    # And the whole history lists it, as ComfyUI's front end reads it.
    req = urllib.request.Request(server(s) + "/history?max_items=5")
    with urlopen(req, key) as r:
        assert answer["prompt_id"] in json.loads(r.read())


def test_a_prompt_with_percent_signs_sent_as_a_form_is_read(s):
    # urllib labels the JSON a form; "100%" is no %-escape.
    _, key = user_with_key(s)
    answer = queue_prompt(s, key, small("a 100% red circle"))
    entry = wait_history(s, key, answer["prompt_id"])
    assert entry["status"]["status_str"] == "success"


def test_img2img_graph_after_upload_renders_the_kiln_img2img_job(s):
    _, key = user_with_key(s)
    init = init_png()
    up = upload(s, key, "square.png", init)
    assert up == {"name": "square.png", "subfolder": "", "type": "input"}
    g = small("a red circle on a blue background")
    g["10"] = {"class_type": "LoadImage", "inputs": {"image": up["name"]}}
    g["11"] = {"class_type": "VAEEncode",
               "inputs": {"pixels": ["10", 0], "vae": ["4", 2]}}
    g["3"]["inputs"].update(latent_image=["11", 0], denoise=0.5, steps=3)
    del g["5"]
    r = post(s, key, "/prompt", {"prompt": g, "client_id": "abc"})
    assert r.status == 200, r.text[:800]
    pid = is_json(r)["prompt_id"]
    entry = wait_history(s, key, pid)
    assert entry["prompt"][3] == {"client_id": "abc"}
    (png,) = images_of(s, key, entry)
    # ComfyUI samples the last 3 steps of a 6-step schedule: kiln's
    # steps 6 at strength 0.5.
    import base64
    ref = kiln_render(s, key, {
        "prompt": "a red circle on a blue background", "model": "kiln-micro",
        "steps": 6, "cfg_scale": 8, "sampler": "euler", "seed": 11,
        "init_image": base64.b64encode(init).decode(),
        "denoising_strength": 0.5})
    assert png_decode(png) == png_decode(ref)
    # The upload reads back as the uploader's input, normalised to PNG.
    back = get_image(s, key, "square.png", "", "input")
    assert png_decode(back) == png_decode(init)


def test_inpainting_graph_renders_the_kiln_inpainting_job(s):
    _, key = user_with_key(s)
    import base64
    init, mask = init_png(), left_mask()
    upload(s, key, "init.png", init)
    upload(s, key, "mask.png", mask)
    g = small("a green star")
    g["10"] = {"class_type": "LoadImage", "inputs": {"image": "init.png"}}
    g["12"] = {"class_type": "LoadImageMask",
               "inputs": {"image": "mask.png", "channel": "red"}}
    g["11"] = {"class_type": "VAEEncode",
               "inputs": {"pixels": ["10", 0], "vae": ["4", 2]}}
    g["13"] = {"class_type": "SetLatentNoiseMask",
               "inputs": {"samples": ["11", 0], "mask": ["12", 0]}}
    g["3"]["inputs"].update(latent_image=["13", 0], denoise=1.0)
    del g["5"]
    r = post(s, key, "/prompt", {"prompt": g})
    assert r.status == 200, r.text[:800]
    entry = wait_history(s, key, is_json(r)["prompt_id"])
    (png,) = images_of(s, key, entry)
    ref = kiln_render(s, key, {
        "prompt": "a green star", "model": "kiln-micro", "steps": 6,
        "cfg_scale": 8, "sampler": "euler", "seed": 11,
        "init_image": base64.b64encode(init).decode(),
        "mask": base64.b64encode(mask).decode(),
        "denoising_strength": 1.0, "inpainting_fill": 1, "mask_blur": 0})
    assert png_decode(png) == png_decode(ref)


def node_error(r, node, class_type):
    assert r.status == 400, r.text[:800]
    body = is_json(r)
    assert set(body) == {"error", "node_errors"}, body
    assert set(body["error"]) == {"type", "message", "details",
                                  "extra_info"}, body["error"]
    ne = body["node_errors"][node]
    assert ne["class_type"] == class_type, ne
    assert ne["errors"] and set(ne["errors"][0]) == {
        "type", "message", "details", "extra_info"}, ne
    return body


def test_an_unsupported_node_is_comfyuis_error_naming_it(s):
    _, key = user_with_key(s)
    g = small("a circle")
    g["20"] = {"class_type": "CLIPSetLastLayer",
               "inputs": {"clip": ["4", 1], "stop_at_clip_layer": -2}}
    g["6"]["inputs"]["clip"] = ["20", 0]
    before = int(s.sql("SELECT COUNT(*) FROM jobs")[0][0])
    body = node_error(post(s, key, "/prompt", {"prompt": g}), "20",
                      "CLIPSetLastLayer")
    assert body["error"]["type"] == "invalid_prompt"
    assert "CLIPSetLastLayer" in body["error"]["message"]
    assert body["error"]["details"] == "Node ID '#20'"
    assert int(s.sql("SELECT COUNT(*) FROM jobs")[0][0]) == before


def test_a_sampler_kiln_lacks_and_an_unknown_model_name_their_nodes(s):
    _, key = user_with_key(s)
    g = small("a circle")
    g["3"]["inputs"]["sampler_name"] = "uni_pc"
    body = node_error(post(s, key, "/prompt", {"prompt": g}), "3",
                      "KSampler")
    assert body["error"]["type"] == "prompt_outputs_failed_validation"
    e = body["node_errors"]["3"]["errors"][0]
    assert e["extra_info"]["input_name"] == "sampler_name", e
    assert body["node_errors"]["3"]["dependent_outputs"] == ["9"]
    g = small("a circle")
    g["4"]["inputs"]["ckpt_name"] = "v1-5-pruned-emaonly.safetensors"
    body = node_error(post(s, key, "/prompt", {"prompt": g}), "4",
                      "CheckpointLoaderSimple")
    assert "ckpt_name" in body["node_errors"]["4"]["errors"][0]["details"]


def test_no_output_node_is_comfyuis_prompt_no_outputs(s):
    _, key = user_with_key(s)
    g = small("a circle")
    del g["9"]
    r = post(s, key, "/prompt", {"prompt": g})
    assert r.status == 400
    assert is_json(r)["error"]["type"] == "prompt_no_outputs"


def test_someone_elses_prompt_and_images_are_not_there(s):
    _, key = user_with_key(s)
    _, other = user_with_key(s)
    answer = queue_prompt(s, key, small("a blue square"))
    entry = wait_history(s, key, answer["prompt_id"])
    (image,) = entry["outputs"]["9"]["images"]
    upload(s, key, "mine.png", init_png())
    assert get_history(s, other, answer["prompt_id"]) == {}
    req = urllib.request.Request(server(s) + "/history")
    with urlopen(req, other) as r:
        assert answer["prompt_id"] not in json.loads(r.read())
    for name, kind in ((image["filename"], "output"), ("mine.png", "input")):
        try:
            get_image(s, other, name, "", kind)
            raise AssertionError("someone else's %s was served" % kind)
        except urllib.error.HTTPError as e:
            assert e.code == 404
    # And a LoadImage of someone else's upload names the node.
    g = small("a circle")
    g["10"] = {"class_type": "LoadImage", "inputs": {"image": "mine.png"}}
    g["11"] = {"class_type": "VAEEncode",
               "inputs": {"pixels": ["10", 0], "vae": ["4", 2]}}
    g["3"]["inputs"].update(latent_image=["11", 0], denoise=0.5)
    node_error(post(s, other, "/prompt", {"prompt": g}), "10", "LoadImage")


def test_queue_and_prompt_show_the_callers_waiting_prompts(s):
    _, key = user_with_key(s)
    answer = queue_prompt(s, key, small("a yellow star", steps=40))
    r = api(s, "GET", "/comfyui/queue", key)
    q = is_json(r)
    ids = [item[1] for item in q["queue_running"] + q["queue_pending"]]
    entry = None
    if answer["prompt_id"] in ids:
        info = is_json(api(s, "GET", "/comfyui/prompt", key))
        assert info["exec_info"]["queue_remaining"] >= 1
        # Deleting from the queue and interrupting end it.
        post(s, key, "/queue", {"delete": [answer["prompt_id"]]})
        post(s, key, "/interrupt", {})
    entry = wait_history(s, key, answer["prompt_id"])
    assert entry["status"]["status_str"] in ("success", "error")
    q = is_json(api(s, "GET", "/comfyui/queue", key))
    assert q == {"queue_running": [], "queue_pending": []}, q


def test_object_info_lists_kilns_nodes_and_models(s):
    _, key = user_with_key(s)
    upload(s, key, "listed.png", init_png())
    info = is_json(api(s, "GET", "/comfyui/object_info", key))
    for cls in ("KSampler", "CheckpointLoaderSimple", "LoadImage",
                "SaveImage", "LoraLoader", "ControlNetApplyAdvanced"):
        assert cls in info, cls
    assert "CLIPSetLastLayer" not in info
    ck = info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"]
    assert "kiln-micro" in ck[0], ck
    cn = info["ControlNetLoader"]["input"]["required"]["control_net_name"]
    assert "kiln-micro-canny" in cn[0], cn
    img = info["LoadImage"]["input"]["required"]["image"]
    assert "listed.png" in img[0] and img[1] == {"image_upload": True}
    ks = info["KSampler"]
    assert ks["output"] == ["LATENT"] and ks["input_order"]["required"][0] \
        == "model"
    assert info["SaveImage"]["output_node"] is True
    one = is_json(api(s, "GET", "/comfyui/object_info/KSampler", key))
    assert list(one) == ["KSampler"]
    assert is_json(api(s, "GET", "/comfyui/object_info/Nope", key)) == {}
    assert "kiln-micro" in is_json(api(s, "GET",
                                       "/comfyui/models/checkpoints", key))
    st = is_json(api(s, "GET", "/comfyui/system_stats", key))
    assert "system" in st and len(st["devices"]) == 1


def test_comfyui_routes_need_a_key(s):
    r = api(s, "GET", "/comfyui/queue")
    assert r.status == 401
