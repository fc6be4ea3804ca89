"""SDXL through the whole stack, behind lighttpd with a running kilnd: a
tiny SDXL-shaped single file (tools/reference/sdxl.py tiny_configs: both
text encoders, a UNet with text_time conditioning, SDXL's VAE scaling) in
the models folder is listed as type sdxl at its native 1024, and a job
with two LoRAs (an SGM-named kohya file in its "loras" field, its PEFT
twin as a <lora:...> tag) renders; the PNG's parameters carry the
LoRAs' and the model's hashes the way AUTOMATIC1111 writes them (Lora
hashes: "name: 12 hex of the addnet hash", Model hash: 10 hex of the
file's SHA-256, computed here with hashlib), and the LoRAs change the
image, which the next job without them gets back exactly."""

import os
import sys

import harness
from common import (api, file_sha256, is_json, models_with_micro,
                    png_parameters, submit, user_with_key, wait_job)

sys.path.insert(0, os.path.join(harness.ROOT, "tools", "reference"))

STACK = dict(server="lighttpd", daemon_name="sdxl-1",
             models=lambda d: make_models(d),
             extra_conf="[limits]\nsubmit_burst = 100000\n"
                        "[engine]\nclip_vocab = %s\n" %
                        os.path.join(harness.ROOT, "models", "clip"))
FILES = {}
JOB = {"model": "xl-tiny", "width": 64, "height": 64, "steps": 3,
       "cfg_scale": 5, "seed": 9, "prompt": "a lighthouse at dusk"}


def make_models(stack_dir):
    import numpy as np
    import lora
    import sdxl
    root = models_with_micro(stack_dir)
    cfgs = sdxl.tiny_configs()
    FILES["xl-tiny"] = os.path.join(root, "xl-tiny.safetensors")
    sdxl.write_single_file(FILES["xl-tiny"], cfgs, seed=3,
                           dtype=np.float16)
    loras = os.path.join(root, "loras")
    os.makedirs(loras)
    layout = lora.sdxl_layout(cfgs["unet"], cfgs["L"], cfgs["G"])
    sd = lora.random_kohya(layout, rank=2, seed=6)
    assert any(k.startswith("lora_unet_input_blocks_") for k in sd)
    assert any(k.startswith("lora_te2_") for k in sd)
    for name, tensors in (("xl-kohya", sd),
                          ("xl-peft", lora.kohya_to_peft(
                              lora.random_kohya(layout, rank=2, seed=7),
                              layout))):
        FILES[name] = os.path.join(loras, name + ".safetensors")
        lora.save(FILES[name], tensors)
    return root


def render(s, key, **kw):
    j = submit(s, key, dict(JOB, **kw))
    j = wait_job(s, key, j["id"], ("succeeded", "failed", "canceled"),
                 timeout=300)
    assert j["status"] == "succeeded", j
    r = api(s, "GET", "/api/v1/images/%d-0.png" % j["id"], key)
    assert r.status == 200
    return r.body


def test_the_model_is_listed_as_sdxl_at_1024(s):
    _, key = user_with_key(s)
    m = {x["name"]: x for x in is_json(api(s, "GET", "/api/v1/models",
                                           key))["models"]}
    xl = m["xl-tiny"]
    assert (xl["type"], xl["native_size"]) == ("sdxl", 1024), xl
    assert xl["defaults"]["width"] == xl["defaults"]["height"] == 1024


def test_a_job_with_two_loras_renders_and_records_them(s):
    _, key = user_with_key(s)
    plain = render(s, key)
    with_loras = render(s, key, prompt=JOB["prompt"] +
                        " <lora:xl-peft:0.6>",
                        loras=[{"name": "xl-kohya", "weight": 0.8}])
    params = png_parameters(with_loras)
    model = file_sha256(FILES["xl-tiny"])[:10]
    assert "Size: 64x64, Model hash: %s, Model: xl-tiny" % model in \
        params, params
    hashes = 'Lora hashes: "xl-kohya: %s, xl-peft: %s"' % (
        file_sha256(FILES["xl-kohya"], True)[:12],
        file_sha256(FILES["xl-peft"], True)[:12])
    assert hashes in params, params
    assert "<lora:xl-peft:0.6>" in params, params
    assert "Lora hashes" not in png_parameters(plain)
    assert with_loras != plain
    # Taken off exactly: the next plain job is the first one again.
    assert render(s, key) == plain
