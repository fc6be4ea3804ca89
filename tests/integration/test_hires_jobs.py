"""The hires fix through the whole stack (lighttpd, kilnd, MariaDB) on
kiln-micro: a job's hires_scale, hires_strength, hires_steps and
hires_upscaler are checked at submission (each refusal names its field),
stored, shown back, and rendered by kilnd: the PNG is hires_scale times
the size with AUTOMATIC1111's "Hires upscale" / "Hires upscaler"
parameters, the progress counts both passes, and an upscaler model of
[paths] upscalers (a compact SRVGGNet written here) is used by name."""

import os
import struct
import sys

import harness
from common import (api, is_json, models_with_micro, png_decode,
                    png_parameters, submit, user_with_key, wait_job)

sys.path.insert(0, os.path.join(harness.ROOT, "tools", "reference"))

# A VAE budget of 1 MB: every VAE pass of these renders runs in tiles.
STACK = dict(server="lighttpd", daemon_name="hires-1",
             models=lambda d: make_models(d),
             extra_conf="[limits]\nsubmit_burst = 100000\n"
                        "[daemon]\nvae_budget_mb = 1\n")
JOB = {"width": 64, "height": 64, "steps": 6, "seed": 4,
       "prompt": "a red circle on a blue background"}


def make_models(stack_dir):
    import st_io
    import upscalers
    root = models_with_micro(stack_dir)
    ups = os.path.join(root, "upscalers")
    os.makedirs(ups)
    sd = upscalers.srvgg_weights(num_feat=8, num_conv=2, scale=4, seed=5)
    st_io.write(os.path.join(ups, "tiny-x4.safetensors"),
                {k: v.numpy() for k, v in sd.items()})
    with open(os.path.join(ups, "broken.safetensors"), "wb") as f:
        f.write(b"not a safetensors file")
    return root


def png_size(data):
    return struct.unpack(">II", data[16:24])


def render(s, key, **kw):
    j = submit(s, key, dict(JOB, **kw))
    j = wait_job(s, key, j["id"], ("succeeded", "failed", "canceled"),
                 timeout=300)
    assert j["status"] == "succeeded", j
    r = api(s, "GET", "/api/v1/images/%d-0.png" % j["id"], key)
    assert r.status == 200
    return j, r.body


def test_a_hires_job_renders_twice_the_size(s):
    _, key = user_with_key(s)
    j, png = render(s, key, hires_scale=2, hires_strength=0.5)
    assert png_size(png) == (128, 128)
    assert j["hires"] == {"scale": 2, "strength": 0.5, "steps": 0,
                          "upscaler": "latent"}, j["hires"]
    # 6 steps, then int(6 x 0.5) of the second pass.
    assert j["progress"]["steps"] == j["progress"]["step"] == 9, \
        j["progress"]
    params = png_parameters(png)
    assert ("Size: 128x128, Model: kiln-micro, Denoising strength: 0.5, "
            "Hires upscale: 2, Hires upscaler: Latent") in params, params
    plain, png0 = render(s, key)
    assert plain["hires"] is None and png_size(png0) == (64, 64)


def test_lanczos_and_an_upscaler_model_by_name(s):
    _, key = user_with_key(s)
    listed = is_json(api(s, "GET", "/api/v1/models", key))
    _, lz = render(s, key, hires_scale=1.5, hires_steps=4,
                   hires_upscaler="lanczos")
    assert png_size(lz) == (96, 96)
    assert "Hires upscale: 1.5, Hires steps: 4, Hires upscaler: Lanczos" \
        in png_parameters(lz)
    _, model = render(s, key, hires_scale=1.5, hires_steps=4,
                      hires_upscaler="tiny-x4")
    assert png_size(model) == (96, 96)
    assert "Hires upscaler: tiny-x4" in png_parameters(model)
    assert model != lz
    ups = {u["name"]: u for u in listed["upscalers"]}
    assert ups["tiny-x4"] == {"name": "tiny-x4", "type": "upscaler",
                              "arch": "SRVGGNet", "scale": 4}, ups
    assert "broken.safetensors" in ups["broken"]["error"], ups


def test_kilnd_tiles_the_vae_within_vae_budget_mb(s):
    # The daemon's image is kiln-render's with --vae-budget 1, pixel for
    # pixel, and not the untiled one's.
    import subprocess
    _, key = user_with_key(s)
    _, png = render(s, key, hires_scale=2, hires_upscaler="lanczos",
                    seed=7)
    binary = os.path.join(harness.BUILD, "render-daemon", "kiln-render")
    model = os.path.join(harness.ROOT, "models", "kiln-micro")
    got = {}
    for name, extra in (("tiled", ["--vae-budget", "1"]), ("whole", [])):
        out = os.path.join(s.dir, "cli-%s.png" % name)
        p = subprocess.run([binary, "--model", model, "--prompt",
                            JOB["prompt"], "--seed", "7", "--steps", "6",
                            "--width", "64", "--height", "64",
                            "--hires-scale", "2", "--hires-upscaler",
                            "lanczos", "-o", out] + extra,
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        with open(out, "rb") as f:
            got[name] = png_decode(f.read())
    assert png_decode(png) == got["tiled"]
    assert got["tiled"] != got["whole"]


def test_bad_hires_fields_are_refused_naming_them(s):
    _, key = user_with_key(s)
    for body, field, msg in (
            ({"hires_scale": 1}, "hires_scale", "must be more than 1"),
            ({"hires_scale": 9}, "hires_scale", ""),
            ({"hires_strength": 0.5}, "hires_strength", "needs hires_scale"),
            ({"hires_scale": 2, "hires_strength": 0}, "hires_strength",
             "must be more than 0"),
            ({"hires_scale": 2, "hires_strength": 0.1}, "hires_strength",
             "runs no step"),
            ({"hires_scale": 2, "hires_upscaler": "nope"},
             "hires_upscaler", "no upscaler named nope"),
            ({"hires_scale": 2, "hires_upscaler": "broken"},
             "hires_upscaler", "broken.safetensors"),
            ({"hires_scale": 2, "hires_upscaler": "../x"},
             "hires_upscaler", "not an upscaler name"),
            ({"width": 1024, "height": 1024, "hires_scale": 4},
             "hires_scale", "makes 4096x4096")):
        r = api(s, "POST", "/api/v1/jobs", key, dict(JOB, **body))
        assert r.status in (400, 422), (body, r.status, r.text)
        fields = is_json(r)["error"].get("fields", {})
        assert field in fields and msg in fields[field], (body, fields)
