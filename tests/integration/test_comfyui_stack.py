"""ComfyUI graphs beyond txt2img and img2img through /comfyui/prompt
(lighttpd, kilnd, MariaDB, kiln-micro): a LoRA graph (LoraLoader), a
ControlNet graph (ControlNetLoader + ControlNetApplyAdvanced on an
uploaded image), a hires graph (KSampler, VAEDecode,
ImageUpscaleWithModel, ImageScaleBy, VAEEncode, KSampler) and an
upscale-only graph (LoadImage through ImageUpscaleWithModel, no
sampler). Each image must equal, pixel for pixel, the same kiln job sent
through POST /api/v1/jobs: the independent reference, as in
test_comfyui; and each must differ from the graph without the node under
test, so a node silently dropped fails."""

import base64
import os
import shutil

import harness
from common import png_decode
from test_comfyui import (images_of, kiln_render, queue_prompt, small,
                          upload, wait_history)
from test_input_jobs import init_png, make_models as input_models
from common import user_with_key

import sys
sys.path.insert(0, os.path.join(harness.ROOT, "tools", "reference"))

STACK = dict(server="lighttpd", daemon_name="comfy-stack",
             models=lambda d: make_models(d),
             extra_conf="[limits]\nsubmit_burst = 100000\n"
                        "upload_max_mb = 1\n")
PROMPT = "a red circle on a blue background"


def make_models(stack_dir):
    import lora
    import unet as unet_ref
    root = input_models(stack_dir)
    ups = os.path.join(root, "upscalers")
    os.makedirs(ups)
    shutil.copy(os.path.join(harness.ROOT, "models", "upscalers",
                             "kiln-upscale-x4.safetensors"), ups)
    # A LoRA of kiln-micro's shapes (models/kiln-micro/*/config.json),
    # random, as sd-scripts names one.
    ucfg = unet_ref.Config(ch=(64, 128, 128), layers=1,
                           attn=(False, True, True), heads=4, ctx_dim=128,
                           in_ch=8, out_ch=8, groups=16, linear_proj=True)
    layout = lora.sd1_layout(ucfg, {"hidden": 128, "inter": 512,
                                    "layers": 3})
    loras = os.path.join(root, "loras")
    os.makedirs(loras)
    lora.save(os.path.join(loras, "micro-style.safetensors"),
              lora.random_kohya(layout, rank=2, seed=9))
    return root


def comfy_png(s, key, graph):
    answer = queue_prompt(s, key, graph)
    assert answer["node_errors"] == {}, answer
    entry = wait_history(s, key, answer["prompt_id"])
    assert entry["status"]["status_str"] == "success", entry["status"]
    (png,) = images_of(s, key, entry)
    return png_decode(png)


BASE = {"prompt": PROMPT, "model": "kiln-micro", "width": 64,
        "height": 64, "steps": 6, "cfg_scale": 8, "sampler": "euler",
        "seed": 11}


def test_a_lora_graph_renders_the_kiln_lora_job(s):
    _, key = user_with_key(s)
    g = small(PROMPT)
    g["20"] = {"class_type": "LoraLoader",
               "inputs": {"model": ["4", 0], "clip": ["4", 1],
                          "lora_name": "micro-style.safetensors",
                          "strength_model": 0.8, "strength_clip": 0.6}}
    g["3"]["inputs"]["model"] = ["20", 0]
    g["6"]["inputs"]["clip"] = ["20", 1]
    g["7"]["inputs"]["clip"] = ["20", 1]
    got = comfy_png(s, key, g)
    ref = kiln_render(s, key, dict(BASE, loras=[
        {"name": "micro-style", "weight": 0.6, "unet_weight": 0.8}]))
    assert got == png_decode(ref)
    assert got != png_decode(kiln_render(s, key, BASE))


def test_a_controlnet_graph_renders_the_kiln_controlnet_job(s):
    _, key = user_with_key(s)
    hint = init_png()
    upload(s, key, "hint.png", hint)
    g = small(PROMPT)
    g["20"] = {"class_type": "ControlNetLoader",
               "inputs": {"control_net_name": "kiln-micro-canny"}}
    g["21"] = {"class_type": "LoadImage", "inputs": {"image": "hint.png"}}
    g["22"] = {"class_type": "ControlNetApplyAdvanced",
               "inputs": {"positive": ["6", 0], "negative": ["7", 0],
                          "control_net": ["20", 0], "image": ["21", 0],
                          "strength": 0.9, "start_percent": 0.0,
                          "end_percent": 0.8}}
    g["3"]["inputs"]["positive"] = ["22", 0]
    g["3"]["inputs"]["negative"] = ["22", 1]
    got = comfy_png(s, key, g)
    ref = kiln_render(s, key, dict(
        BASE, control_image=base64.b64encode(hint).decode(),
        controlnet_model="kiln-micro-canny", controlnet_weight=0.9,
        controlnet_guidance_start=0, controlnet_guidance_end=0.8))
    assert got == png_decode(ref)
    assert got != png_decode(kiln_render(s, key, BASE))


def test_a_hires_graph_renders_the_kiln_hires_job(s):
    # 64x64, the image upscaled by kiln-upscale-x4 and scaled by 0.5
    # (2x: 128x128), then 3 of 6 steps at denoise 0.5: kiln's hires fix
    # with hires_scale 2, strength 0.5 and hires_steps 6.
    _, key = user_with_key(s)
    g = small(PROMPT)
    g["20"] = {"class_type": "UpscaleModelLoader",
               "inputs": {"model_name": "kiln-upscale-x4.safetensors"}}
    g["21"] = {"class_type": "ImageUpscaleWithModel",
               "inputs": {"upscale_model": ["20", 0], "image": ["8", 0]}}
    g["22"] = {"class_type": "ImageScaleBy",
               "inputs": {"image": ["21", 0], "upscale_method": "lanczos",
                          "scale_by": 0.5}}
    g["23"] = {"class_type": "VAEEncode",
               "inputs": {"pixels": ["22", 0], "vae": ["4", 2]}}
    g["24"] = {"class_type": "KSampler",
               "inputs": dict(g["3"]["inputs"], latent_image=["23", 0],
                              denoise=0.5, steps=3)}
    g["25"] = {"class_type": "VAEDecode",
               "inputs": {"samples": ["24", 0], "vae": ["4", 2]}}
    g["9"]["inputs"]["images"] = ["25", 0]
    got = comfy_png(s, key, g)
    assert (got[0], got[1]) == (128, 128)
    ref = kiln_render(s, key, dict(BASE, hires_scale=2, hires_strength=0.5,
                                   hires_steps=6,
                                   hires_upscaler="kiln-upscale-x4"))
    assert got == png_decode(ref)
    lz = kiln_render(s, key, dict(BASE, hires_scale=2, hires_strength=0.5,
                                  hires_steps=6, hires_upscaler="lanczos"))
    assert got != png_decode(lz)


def upscale_graph(name, scale_by=None):
    g = {"1": {"class_type": "LoadImage", "inputs": {"image": name}},
         "2": {"class_type": "UpscaleModelLoader",
               "inputs": {"model_name": "kiln-upscale-x4.safetensors"}},
         "3": {"class_type": "ImageUpscaleWithModel",
               "inputs": {"upscale_model": ["2", 0], "image": ["1", 0]}},
         "9": {"class_type": "SaveImage",
               "inputs": {"filename_prefix": "up", "images": ["3", 0]}}}
    if scale_by is not None:
        g["4"] = {"class_type": "ImageScaleBy",
                  "inputs": {"image": ["3", 0], "upscale_method": "lanczos",
                             "scale_by": scale_by}}
        g["9"]["inputs"]["images"] = ["4", 0]
    return g


def test_an_upscale_graph_with_no_sampler_is_the_kiln_upscale_job(s):
    _, key = user_with_key(s)
    src = init_png(32, 24)
    upload(s, key, "small.png", src)
    got = comfy_png(s, key, upscale_graph("small.png"))
    assert (got[0], got[1]) == (128, 96)
    ref = kiln_render(s, key, {"kind": "upscale", "upscale_by": 4,
                               "upscaler": "kiln-upscale-x4",
                               "init_image": base64.b64encode(src).decode()})
    assert got == png_decode(ref)
    half = comfy_png(s, key, upscale_graph("small.png", scale_by=0.5))
    ref2 = kiln_render(s, key, {"kind": "upscale", "upscale_by": 2,
                                "upscaler": "kiln-upscale-x4",
                                "init_image":
                                base64.b64encode(src).decode()})
    assert (half[0], half[1]) == (64, 48)
    assert half == png_decode(ref2)


def test_an_upscale_graph_with_image_scale_is_refused_naming_it(s):
    import json
    from test_comfyui import post
    _, key = user_with_key(s)
    upload(s, key, "small2.png", init_png(32, 24))
    g = upscale_graph("small2.png")
    g["4"] = {"class_type": "ImageScale",
              "inputs": {"image": ["3", 0], "upscale_method": "lanczos",
                         "width": 100, "height": 50, "crop": "disabled"}}
    g["9"]["inputs"]["images"] = ["4", 0]
    r = post(s, key, "/prompt", {"prompt": g})
    assert r.status == 400, r.text[:500]
    errs = json.loads(r.body)["node_errors"]
    assert "4" in errs and errs["4"]["class_type"] == "ImageScale", errs
