"""Inpainting, outpainting and the hires fix through `kiln-render render`
on kiln-micro (the embedded model, real images it draws), held to what
A1111 promises: every pixel outside the feathered mask is the input's,
exactly; "only masked" renders the box A1111's get_crop_region and
expand_crop_region give (reimplemented here from its masking.py); the mask
blur is OpenCV's GaussianBlur as A1111 calls it (within one level of 255:
OpenCV rounds in fixed point); a mask over everything with a zero latent
at full strength is txt2img, pixel for pixel."""

import json
import os
import shutil
import tempfile

import cv2
import numpy as np

import engine_common as ec
import harness
import st_io
import upscalers as up_ref
from test_pipeline import write_png

STACK = None
WORK = tempfile.mkdtemp(prefix="kiln-inpaint-")
MICRO = os.path.join(harness.ROOT, "models", "kiln-micro")
BASE = os.path.join(WORK, "base.png")


def render(args):
    return ec.kiln_render(["render", "--model", MICRO, "--steps", "12"] +
                          list(args), timeout=300)


def render_ok(args):
    p = render(args)
    assert p.returncode == 0, "exit %d: %s" % (p.returncode, p.stderr)
    return json.loads(p.stdout.strip().splitlines()[-1])


def path(name):
    return os.path.join(WORK, name)


def base():
    if not os.path.exists(BASE):
        render_ok(["--prompt", "two yellow squares on a purple background",
                   "--seed", "5", "-o", BASE])
    return ec.png_pixels(BASE)


def mask_png(name, box, size=(64, 64)):
    m = np.zeros(size + (3,), np.uint8)
    y0, y1, x0, x1 = box
    m[y0:y1, x0:x1] = 255
    write_png(path(name), m)
    return m[:, :, 0]


def feathered(name, blur):
    """The engine's blurred mask (kiln-render mask), grey."""
    out = path(name + ".blur.png")
    p = ec.kiln_render(["mask", "--in", path(name), "--blur", str(blur),
                        "-o", out])
    assert p.returncode == 0, p.stderr
    return ec.png_pixels(out)[:, :, 0]


def a1111_blur(m, blur):
    """processing.py: cv2.GaussianBlur along x, then along y."""
    k = 2 * int(2.5 * blur + 0.5) + 1
    m = cv2.GaussianBlur(m, (k, 1), blur)
    return cv2.GaussianBlur(m, (1, k), blur)


def test_mask_blur_is_a1111s_opencv_blur(_):
    for box, blur in (((16, 40, 30, 56), 4), ((0, 10, 0, 64), 8),
                      ((20, 21, 20, 21), 2), ((5, 60, 3, 33), 1)):
        m = mask_png("m.png", box)
        got = feathered("m.png", blur).astype(int)
        want = a1111_blur(m, blur).astype(int)
        assert np.abs(got - want).max() <= 1, (box, blur)
        # The feather reaches as far as OpenCV's, give or take a pixel
        # at its faint edge.
        assert abs(int((got > 0).sum()) - int((want > 0).sum())) <= \
            0.1 * (want > 0).sum(), (box, blur)


def test_full_mask_with_a_zero_latent_is_txt2img(_):
    base()
    full = mask_png("full.png", (0, 64, 0, 64))
    assert full.min() == 255
    # (DDIM and LCM start img2img at sqrt(1 - alpha) times the noise, a
    # hair from txt2img's noise: the k-samplers start from it exactly.)
    for sampler in ("euler_a", "dpmpp_2m"):
        t2i, inp = path("t2i-%s.png" % sampler), path("inp-%s.png" % sampler)
        args = ["--prompt", "a green star", "--seed", "9", "--sampler",
                sampler]
        render_ok(args + ["-o", t2i])
        render_ok(args + ["--init", BASE, "--mask", path("full.png"),
                          "--strength", "1", "--inpaint-fill",
                          "latent-nothing", "-o", inp])
        assert np.array_equal(ec.png_pixels(t2i), ec.png_pixels(inp)), \
            sampler


def check_kept(got, init, alpha, what):
    """Every pixel where the overlay's alpha is 0 is the input's."""
    keep = alpha == 0
    assert keep.sum() > 0 and (~keep).sum() > 0, what
    assert np.array_equal(got[keep], init[keep]), \
        "%s: %d kept pixels changed" % (what, int(
            (got[keep] != init[keep]).any(-1).sum()))
    changed = (got != init).any(-1)
    assert changed[~keep].sum() > 0.2 * (~keep).sum(), \
        "%s: the masked area barely changed" % what


def test_inpainting_keeps_every_unmasked_pixel(_):
    init = base()
    mask_png("half.png", (8, 44, 28, 60))
    blurred = feathered("half.png", 4).astype(int)
    # The whole-image overlay pastes with the blurred mask doubled.
    alpha = np.clip(blurred * 2, 0, 255)
    for fill in ("original", "fill", "latent-noise", "latent-nothing"):
        out = path("inp-%s.png" % fill)
        info = render_ok(["--prompt", "a green star on a purple background",
                          "--seed", "3", "--init", BASE, "--mask",
                          path("half.png"), "--strength", "0.9",
                          "--inpaint-fill", fill, "-o", out])
        assert (info["width"], info["height"]) == (64, 64), info
        check_kept(ec.png_pixels(out), init, alpha, fill)
        assert "Denoising strength: 0.9" in ec.png_parameters(out)
    # Without a blur the kept area is the mask's black, to the pixel.
    out = path("inp-sharp.png")
    render_ok(["--prompt", "a green star", "--seed", "3", "--init", BASE,
               "--mask", path("half.png"), "--mask-blur", "0", "-o", out])
    sharp = ec.png_pixels(path("half.png"))[:, :, 0]
    check_kept(ec.png_pixels(out), init, sharp, "blur 0")


def a1111_crop(mask, pad, rw, rh):
    """masking.get_crop_region + expand_crop_region."""
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    x1, y1 = max(xs.min() - pad, 0), max(ys.min() - pad, 0)
    x2, y2 = min(xs.max() + 1 + pad, w), min(ys.max() + 1 + pad, h)
    if (x2 - x1) / (y2 - y1) > rw / rh:
        want = int((x2 - x1) / (rw / rh))
        diff = want - (y2 - y1)
        y1 -= diff // 2
        y2 += diff - diff // 2
        if y2 >= h:
            y1 -= y2 - h
            y2 = h
        if y1 < 0:
            y2 -= y1
            y1 = 0
        y2 = min(y2, h)
    else:
        want = int((y2 - y1) * (rw / rh))
        diff = want - (x2 - x1)
        x1 -= diff // 2
        x2 += diff - diff // 2
        if x2 >= w:
            x1 -= x2 - w
            x2 = w
        if x1 < 0:
            x2 -= x1
            x1 = 0
        x2 = min(x2, w)
    return dict(x0=int(x1), y0=int(y1), x1=int(x2), y1=int(y2))


def test_only_masked_box_is_a1111s_and_the_rest_is_kept(_):
    init = base()
    for box, pad, rw, rh in (((20, 30, 10, 24), 4, 64, 64),
                             ((2, 12, 40, 62), 8, 64, 32),
                             ((30, 60, 20, 26), 0, 32, 64)):
        m = mask_png("om.png", box)
        blurred = feathered("om.png", 4)
        p = ec.kiln_render(["mask", "--in", path("om.png"), "--box",
                            "%d:%d:%d" % (rw, rh, pad)])
        assert p.returncode == 0, p.stderr
        assert json.loads(p.stdout) == a1111_crop(blurred, pad, rw, rh), \
            (box, p.stdout)
        del m
    mask_png("om.png", (20, 34, 10, 28))
    out = path("om-out.png")
    info = render_ok(["--prompt", "a green star", "--seed", "4", "--init",
                      BASE, "--mask", path("om.png"), "--only-masked",
                      "--only-masked-padding", "6", "--width", "64",
                      "--height", "64", "--strength", "0.9", "-o", out])
    assert (info["width"], info["height"]) == (64, 64), info
    check_kept(ec.png_pixels(out), init, feathered("om.png", 4),
               "only masked")


def test_outpainting_grows_the_canvas_and_keeps_the_image(_):
    init = base()
    out = path("out.png")
    info = render_ok(["--prompt", "two yellow squares on a purple "
                      "background", "--seed", "6", "--init", BASE,
                      "--outpaint", "right:24", "--outpaint", "up:16",
                      "--strength", "0.9", "-o", out])
    # right 24 grows to 32 so that the canvas is on kiln-micro's grid (16).
    assert (info["width"], info["height"]) == (96, 80), info
    got = ec.png_pixels(out)
    # The canvas's mask: white outside the original; its blurred double
    # is what the overlay keeps.
    m = np.full((80, 96, 3), 255, np.uint8)
    m[16:, :64] = 0
    write_png(path("out-mask.png"), m)
    alpha = np.clip(feathered("out-mask.png", 4).astype(int) * 2, 0, 255)
    canvas_init = np.zeros_like(got)
    canvas_init[16:, :64] = init
    keep = alpha == 0
    assert keep[16:, :64].sum() > 0.6 * 64 * 64
    assert np.array_equal(got[keep], canvas_init[keep])
    # The new area is drawn, not left as the edge's fill: the model's
    # purple background reaches into it.
    new = got[:16].reshape(-1, 3).astype(int)
    assert new.std(axis=0).max() < 60 and new.mean() > 20


def test_hires_fix_renders_larger_from_the_first_pass(_):
    first = path("hr-base.png")
    render_ok(["--prompt", "a red circle on a blue background", "--seed",
               "3", "-o", first])
    other = path("hr-other.png")
    render_ok(["--prompt", "three green triangles on a yellow background",
               "--seed", "3", "-o", other])
    small = ec.png_pixels(first).astype(float)
    for mode in ("latent", "latent-nearest", "lanczos"):
        out = path("hr-%s.png" % mode)
        info = render_ok(["--prompt", "a red circle on a blue background",
                          "--seed", "3", "--hires-scale", "2",
                          "--hires-strength", "0.3", "--hires-upscaler",
                          mode, "-o", out])
        assert (info["width"], info["height"]) == (128, 128), info
        # 12 steps, then 30% of 12 in the second pass.
        assert info["steps_run"] == 12 + 3, info
        big = ec.png_pixels(out).astype(float)
        down = big.reshape(64, 2, 64, 2, 3).mean(axis=(1, 3))
        same = np.abs(down - small).mean()
        diff = np.abs(down - ec.png_pixels(other).astype(float)).mean()
        assert same < 0.5 * diff, (mode, same, diff)
        assert "Denoising strength: 0.3" in ec.png_parameters(out)
    again = path("hr-again.png")
    render_ok(["--prompt", "a red circle on a blue background", "--seed",
               "3", "--hires-scale", "2", "--hires-strength", "0.3",
               "-o", again])
    assert np.array_equal(ec.png_pixels(again),
                          ec.png_pixels(path("hr-latent.png")))


def test_hires_fix_with_an_upscaler_model(_):
    # A random compact SRVGGNet: what matters here is that the second pass
    # starts from its image (not Lanczos's), and that a file that is not
    # an upscaler is refused naming it before anything renders.
    sd = up_ref.srvgg_weights(num_feat=8, num_conv=2, scale=4, seed=3)
    model = path("srvgg.safetensors")
    st_io.write(model, {k: v.numpy() for k, v in sd.items()})
    args = ["--prompt", "a red circle on a blue background", "--seed", "3",
            "--hires-scale", "2", "--hires-strength", "0.3"]
    out = path("hr-model.png")
    info = render_ok(args + ["--hires-upscaler", model, "-o", out])
    assert (info["width"], info["height"]) == (128, 128), info
    lanczos = path("hr-lanczos.png")
    render_ok(args + ["--hires-upscaler", "lanczos", "-o", lanczos])
    assert not np.array_equal(ec.png_pixels(out), ec.png_pixels(lanczos))
    notup = os.path.join(MICRO, "vae", "diffusion_pytorch_model.safetensors")
    p = render(args + ["--hires-upscaler", notup, "-o", path("x.png")])
    assert p.returncode == 1 and "--hires-upscaler: " in p.stderr and \
        "not an upscaler" in p.stderr, p.stderr


def nine_channel_model():
    """test_pipeline's tiny random model with an inpainting UNet: 9
    channels in (latent, mask, masked image's latent), 4 out."""
    import test_pipeline as tp
    import unet as unet_ref
    d = path("inpaint-model")
    if os.path.exists(d):
        return d
    saved = (tp.MODEL, tp.UCFG)
    tp.MODEL = d
    tp.UCFG = unet_ref.Config(ch=(32, 64), layers=1, attn=(True, False),
                              heads=2, ctx_dim=tp.HIDDEN, groups=8, in_ch=9,
                              out_ch=4)
    try:
        tp.build_model()
        with open(os.path.join(d, "unet", "config.json")) as f:
            cfg = json.load(f)
        cfg.update(in_channels=9, out_channels=4)
        with open(os.path.join(d, "unet", "config.json"), "w") as f:
            json.dump(cfg, f)
    finally:
        tp.MODEL, tp.UCFG = saved
    return d


def test_an_inpainting_unet_gets_the_mask_and_the_masked_image(_):
    model = nine_channel_model()
    init = base()
    mask_png("nine.png", (8, 40, 8, 40))
    alpha = np.clip(feathered("nine.png", 4).astype(int) * 2, 0, 255)
    args = ["--model", model, "--prompt", "a red fox", "--seed", "2",
            "--steps", "3", "--init", BASE, "--mask", path("nine.png"),
            "--strength", "1"]
    out = path("nine-out.png")
    p = ec.kiln_render(["render"] + args + ["-o", out], timeout=300)
    assert p.returncode == 0, p.stderr
    check_kept(ec.png_pixels(out), init, alpha, "9-channel UNet")
    # The masked image is the model's input: another picture under the
    # same mask gives another repaint.
    other = path("other.png")
    write_png(other, 255 - init)
    out2 = path("nine-out2.png")
    p = ec.kiln_render(["render"] + args[:-6] + [
        "--init", other, "--mask", path("nine.png"), "--strength", "1",
        "-o", out2], timeout=300)
    assert p.returncode == 0, p.stderr
    inside = alpha == 255
    assert not np.array_equal(ec.png_pixels(out)[inside],
                              ec.png_pixels(out2)[inside])
    # txt2img on it: an all-masked, all-grey conditioning, as A1111's.
    p = ec.kiln_render(["render", "--model", model, "--prompt", "a red fox",
                        "--seed", "2", "--steps", "2", "--width", "64",
                        "--height", "64", "-o", path("nine-t2i.png")],
                       timeout=300)
    assert p.returncode == 0, p.stderr
    p = ec.kiln_render(["render"] + args + ["--hires-scale", "2", "-o",
                                             path("x.png")], timeout=300)
    assert p.returncode == 2 and "not with an init image" in p.stderr


def test_bad_inputs_are_refused_naming_the_flag(_):
    base()
    mask_png("small.png", (0, 10, 0, 10), size=(60, 64))
    mask_png("ok.png", (0, 10, 0, 10))
    out = path("bad.png")
    for args, code, msg in (
            (["--mask", path("small.png"), "--init", BASE],
             2, "--mask: 64x60, but the init image is 64x64"),
            (["--mask", path("ok.png")], 2, "--mask: needs --init"),
            (["--init", BASE, "--mask", path("ok.png"), "--inpaint-fill",
              "blur"], 2, "--inpaint-fill: 'blur'"),
            (["--init", BASE, "--mask", path("ok.png"), "--mask-blur",
              "99"], 2, "mask_blur: 99 is outside 0..64"),
            (["--init", BASE, "--outpaint", "middle:8"], 2,
             "--outpaint: 'middle' is not a side"),
            (["--init", BASE, "--outpaint", "left:0"], 2,
             "--outpaint: '0' is not 1..1024"),
            (["--init", BASE, "--outpaint", "left:8", "--mask",
              path("ok.png")], 2, "drop --mask"),
            (["--hires-scale", "9"], 2, "hires_scale: 9 is outside"),
            (["--hires-strength", "0.5"], 2, "needs --hires-scale"),
            (["--hires-scale", "2", "--hires-upscaler", "esrgan"], 2,
             "--hires-upscaler: 'esrgan'"),
            (["--hires-scale", "2", "--init", BASE], 2,
             "not with an init image"),
            (["--init", BASE, "--mask", path("full.png" if os.path.exists(
                path("full.png")) else "ok.png"), "--only-masked",
              "--mask-blur", "0"], 0, "")):
        p = render(["--prompt", "x", "--seed", "1", "-o", out] + args)
        assert p.returncode == code and msg in p.stderr, (args, p.stderr)
    # An all-black mask with only-masked has nothing to repaint.
    write_png(path("black.png"), np.zeros((64, 64, 3), np.uint8))
    p = render(["--prompt", "x", "--init", BASE, "--mask",
                path("black.png"), "--only-masked", "-o", out])
    assert p.returncode == 1 and "mask: nothing is masked" in p.stderr, \
        p.stderr
    shutil.rmtree(WORK, ignore_errors=True)
