"""Images as job inputs through the whole stack (lighttpd, kilnd, MariaDB)
on kiln-micro: an init image, a mask and a ControlNet image sent as base64
are checked on the web side, stored as the job's inputs and rendered by
kilnd through the engine kiln-render uses, pixel for pixel the same
image; bad uploads are refused naming the field and leave nothing
behind; an input is its owner's only and goes with the job."""

import base64
import os
import struct
import subprocess
import zlib

import harness
from common import (api, is_json, models_with_micro, png_decode,
                    png_parameters, submit, user_with_key, wait_job)

STACK = dict(server="lighttpd", daemon_name="inputs-1",
             models=lambda d: make_models(d),
             extra_conf="[limits]\nsubmit_burst = 100000\n"
                        "upload_max_mb = 1\n")
JOB = {"width": 64, "height": 64, "steps": 6, "seed": 11,
       "prompt": "a red circle on a blue background"}
CANNY = os.path.join(harness.ROOT, "models", "kiln-micro-canny")


def make_models(stack_dir):
    root = models_with_micro(stack_dir)
    cn = os.path.join(root, "controlnet", "kiln-micro-canny")
    os.makedirs(cn)
    for name in ("config.json", "diffusion_pytorch_model.safetensors"):
        os.symlink(os.path.join(CANNY, name), os.path.join(cn, name))
    return root


def png_encode(w, h, pixel):
    """An RGB PNG of pixel(x, y) -> (r, g, b), written here."""
    raw = b"".join(b"\0" + bytes(c for x in range(w) for c in pixel(x, y))
                   for y in range(h))

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body +
                struct.pack(">I", zlib.crc32(kind + body)))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def b64(data):
    return base64.b64encode(data).decode()


def init_png(w=64, h=64):
    # A yellow square on dark blue: something img2img can keep.
    return png_encode(w, h, lambda x, y: (230, 200, 20)
                      if 16 <= x < 48 and 16 <= y < 48 else (20, 30, 120))


def left_mask(w=64, h=64):
    return png_encode(w, h, lambda x, y: (255, 255, 255) if x < 32
                      else (0, 0, 0))


def render(s, key, **kw):
    j = submit(s, key, dict(JOB, **kw))
    j = wait_job(s, key, j["id"], ("succeeded", "failed", "canceled"),
                 timeout=300)
    assert j["status"] == "succeeded", j
    r = api(s, "GET", "/api/v1/images/%d-0.png" % j["id"], key)
    assert r.status == 200
    return j, r.body


def cli(s, name, files, args):
    """kiln-render render with files {name: bytes} written beside it."""
    paths = {}
    for k, data in files.items():
        paths[k] = os.path.join(s.dir, "%s-%s.png" % (name, k))
        with open(paths[k], "wb") as f:
            f.write(data)
    out = os.path.join(s.dir, "%s-out.png" % name)
    binary = os.path.join(harness.BUILD, "render-daemon", "kiln-render")
    model = os.path.join(harness.ROOT, "models", "kiln-micro")
    argv = [binary, "--model", model, "--prompt", JOB["prompt"], "--seed",
            str(JOB["seed"]), "--steps", str(JOB["steps"]), "--width", "64",
            "--height", "64", "-o", out]
    argv += [a.format(**paths) for a in args]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    with open(out, "rb") as f:
        return png_decode(f.read())


def test_img2img_job_is_kiln_renders_image(s):
    _, key = user_with_key(s)
    init = init_png()
    j, png = render(s, key, init_image=b64(init), denoising_strength=0.6)
    masked, mpng = render(s, key, init_image=b64(init), mask=b64(
        left_mask()), inpainting_mask_invert=True, inpaint_full_res=True,
        inpaint_full_res_padding=8, inpainting_fill=2)
    assert ("Denoising strength: 0.75, Mask mode: Inpaint not masked, "
            "Mask blur: 4, Inpaint area: Only masked, Masked area "
            "padding: 8, Masked content: latent noise") in \
        png_parameters(mpng), png_parameters(mpng)
    assert j["denoising_strength"] == 0.6 and j["resize_mode"] == 0, j
    assert [(i["kind"], i["width"], i["height"]) for i in j["inputs"]] == \
        [("init", 64, 64)], j["inputs"]
    # int(6 x 0.6) steps of the schedule.
    assert j["progress"]["steps"] == 3, j["progress"]
    assert "Denoising strength: 0.6" in png_parameters(png)
    ref = cli(s, "img2img", {"init": init},
              ["--init", "{init}", "--strength", "0.6"])
    assert png_decode(png) == ref
    # And not the txt2img of the same seed.
    _, plain = render(s, key)
    assert png_decode(plain) != ref


def test_data_uri_init_is_taken_as_a1111_clients_send_it(s):
    _, key = user_with_key(s)
    j, _ = render(s, key, init_image="data:image/png;base64," +
                  b64(init_png()), denoising_strength=0.5, steps=2)
    assert j["inputs"][0]["kind"] == "init"


def test_inpaint_keeps_the_unmasked_pixels(s):
    _, key = user_with_key(s)
    init = init_png()
    j, png = render(s, key, init_image=b64(init), mask=b64(left_mask()),
                    mask_blur=0, denoising_strength=1)
    assert j["inpaint"]["mask_blur"] == 0, j["inpaint"]
    got, want = png_decode(png), png_decode(init)
    assert got[:2] == (64, 64)
    for y in range(64):
        assert got[2][y][32:] == want[2][y][32:], y
    assert got[2] != want[2]      # the left half was repainted
    # A1111 writes no "Mask blur" of 0, and no "Masked content" for
    # original.
    params = png_parameters(png)
    assert "Denoising strength: 1, " not in params and \
        params.endswith("Denoising strength: 1"), params
    ref = cli(s, "inpaint", {"init": init, "mask": left_mask()},
              ["--init", "{init}", "--mask", "{mask}", "--mask-blur", "0",
               "--strength", "1"])
    assert got == ref


def test_controlnet_job_is_kiln_renders_image(s):
    _, key = user_with_key(s)
    ctl = init_png()
    j, png = render(s, key, controlnet_model="kiln-micro-canny",
                    control_image=b64(ctl), controlnet_preprocessor="canny",
                    controlnet_weight=1)
    assert j["controlnet"]["model"] == "kiln-micro-canny", j["controlnet"]
    assert ('ControlNet 0: "Module: canny, Model: kiln-micro-canny, '
            'Weight: 1, Threshold A: 100, Threshold B: 200, Guidance '
            'Start: 0, Guidance End: 1"') in png_parameters(png)
    ref = cli(s, "cn", {"ctl": ctl},
              ["--controlnet", CANNY + ":{ctl}:1",
               "--control-preprocessor", "canny"])
    assert png_decode(png) == ref


def jobs_on_disk(s):
    d = s.path("artifacts", "jobs")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def test_bad_uploads_are_refused_naming_the_field_leaving_nothing(s):
    _, key = user_with_key(s)
    init = b64(init_png())
    good = init_png()
    bomb = (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" +
            struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0))
    bomb += struct.pack(">I", zlib.crc32(bomb[12:29])) + good[33:]
    big = b"\x89PNG\r\n\x1a\n" + os.urandom(1100 * 1024)
    before = jobs_on_disk(s)
    n = int(s.sql("SELECT COUNT(*) FROM jobs")[0][0])
    for body, field, msg in (
            ({"init_image": b64(b"GIF89a not a png")}, "init_image",
             "not a PNG or JPEG"),
            ({"init_image": b64(good[:len(good) - 30])}, "init_image",
             "truncated or corrupt PNG"),
            ({"init_image": b64(bomb)}, "init_image",
             "20000x20000 pixels"),
            ({"init_image": b64(big)}, "init_image", "over the limit"),
            ({"init_image": "not base64!"}, "init_image", "base64"),
            ({"init_image": "https://example.com/a.png"}, "init_image",
             "does not fetch URLs"),
            ({"init_image": init, "mask": b64(left_mask(32, 32))}, "mask",
             "must be the size of init_image"),
            ({"mask": b64(left_mask())}, "mask", "needs init_image"),
            ({"denoising_strength": 0.5}, "denoising_strength",
             "needs init_image"),
            ({"init_image": init, "denoising_strength": 1.5},
             "denoising_strength", "from 0 to 1"),
            ({"init_image": init, "mask_blur": 4}, "mask_blur",
             "needs mask"),
            ({"control_image": init}, "control_image",
             "needs controlnet_model"),
            ({"controlnet_model": "nope", "control_image": init},
             "controlnet_model", "no ControlNet nope")):
        r = api(s, "POST", "/api/v1/jobs", key, dict(JOB, **body))
        assert 400 <= r.status < 500, (field, r.status, r.text[:300])
        fields = is_json(r)["error"].get("fields", {})
        assert field in fields and msg in fields[field], (msg, fields)
    assert jobs_on_disk(s) == before
    assert int(s.sql("SELECT COUNT(*) FROM jobs")[0][0]) == n
    assert int(s.sql("SELECT COUNT(*) FROM job_inputs WHERE job_id NOT IN"
                     " (SELECT id FROM jobs)")[0][0]) == 0


def test_an_input_is_its_owners_and_goes_with_the_job(s):
    _, key = user_with_key(s)
    _, other = user_with_key(s)
    init = init_png()
    j, _ = render(s, key, init_image=b64(init), denoising_strength=0.5,
                  steps=2)
    url = "/api/v1/jobs/%d/inputs/init.png" % j["id"]
    assert j["inputs"][0]["url"].endswith(url)
    r = api(s, "GET", url, key)
    assert r.status == 200 and png_decode(r.body) == png_decode(init)
    assert api(s, "GET", url, other).status == 404
    assert api(s, "GET", "/api/v1/jobs/%d/inputs/mask.png" % j["id"],
               key).status == 404
    d = s.path("artifacts", "jobs", str(j["id"]), "inputs")
    assert os.listdir(d) == ["init.png"]
    assert api(s, "DELETE", "/api/v1/jobs/%d" % j["id"], key).status == 204
    assert not os.path.exists(os.path.dirname(d))
    assert s.sql("SELECT COUNT(*) FROM job_inputs WHERE job_id = %d" %
                 j["id"])[0][0] in (0, "0")
    assert api(s, "GET", url, key).status == 404


def post_multipart(s, cookie, path, fields, files):
    """A browser's multipart/form-data POST: fields {name: text}, files
    {name: (filename, bytes)}."""
    b = "----kilnFormBoundary7MA4YWxkTrZu0gW"
    out = b""
    for k, v in fields.items():
        out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n"
                "\r\n%s\r\n" % (b, k, v)).encode()
    for k, (fn, data) in files.items():
        out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"; "
                "filename=\"%s\"\r\nContent-Type: image/png\r\n\r\n" %
                (b, k, fn)).encode() + data + b"\r\n"
    out += ("--%s--\r\n" % b).encode()
    return s.request("POST", path, body=out, headers={
        "Cookie": cookie,
        "Content-Type": "multipart/form-data; boundary=" + b})


def test_the_generate_page_takes_an_init_image_without_javascript(s):
    from common import browser, new_user
    uid, _ = new_user(s)
    cookie, csrf = browser(s, uid)
    fields = {"csrf": csrf, "prompt": JOB["prompt"], "steps": "2",
              "width": "64", "height": "64", "denoising_strength": "0.5"}
    r = post_multipart(s, cookie, "/generate", fields,
                       {"init_image": ("in.png", init_png()),
                        "mask": ("", b"")})
    assert r.status in (302, 303), (r.status, r.text[:500])
    jid = int(r.headers["location"].rsplit("/", 1)[1])
    assert s.sql("SELECT kind, width, height FROM job_inputs WHERE"
                 " job_id = %d" % jid) == [["init", "64", "64"]]
    assert s.sql("SELECT denoising_strength FROM jobs WHERE id = %d" %
                 jid) == [["0.5"]]
    # A bad file: the form again with the message beside the field, and
    # no job.
    before = jobs_on_disk(s)
    r = post_multipart(s, cookie, "/generate", fields,
                       {"init_image": ("x.png", b"GIF89a nope")})
    assert r.status == 422, (r.status, r.text[:300])
    assert "init_image is not a PNG or JPEG image" in r.text, r.text
    assert 'class="field-error"' in r.text
    assert jobs_on_disk(s) == before


def test_outpaint_job_grows_the_canvas_and_keeps_the_image(s):
    _, key = user_with_key(s)
    init = init_png()
    j, png = render(s, key, init_image=b64(init), outpaint={"right": 32},
                    width=96, mask_blur=0, denoising_strength=1)
    assert j["outpaint"] == {"left": 0, "right": 32, "up": 0, "down": 0}
    assert j["inpaint"]["inpainting_fill"] == 0, j["inpaint"]
    assert png_parameters(png).endswith(
        "Denoising strength: 1, Masked content: fill"), png_parameters(png)
    got, want = png_decode(png), png_decode(init)
    assert got[:2] == (96, 64), got[:2]
    for y in range(64):
        assert got[2][y][:64] == want[2][y], y
    ref = cli(s, "outpaint", {"init": init},
              ["--init", "{init}", "--outpaint", "right:32",
               "--mask-blur", "0", "--strength", "1", "--width", "96"])
    assert got == ref


def test_resize_mode_crop_is_kiln_renders(s):
    _, key = user_with_key(s)
    wide = png_encode(128, 64, lambda x, y: (x * 2 % 256, y * 4, 90))
    j, png = render(s, key, init_image=b64(wide), resize_mode=1,
                    denoising_strength=0.5)
    assert j["resize_mode"] == 1 and j["width"] == 64, j
    ref = cli(s, "crop", {"init": wide},
              ["--init", "{init}", "--resize-mode", "1", "--strength",
               "0.5"])
    assert png_decode(png) == ref
    ref0 = cli(s, "stretch", {"init": wide},
               ["--init", "{init}", "--strength", "0.5"])
    assert ref0 != ref
