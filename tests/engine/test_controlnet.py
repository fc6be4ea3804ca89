"""ControlNet on PoCL against the float64 PyTorch reference
(tools/reference/controlnet.py on unet.py): a ControlNet's residuals added
to a UNet step (kiln-render unet --controlnet), on small random models of
the SD 1.5 shape (diffusers folder with config.json, lllyasviel's
control_model.* single file, its unprefixed 1.1 form, a lone
diffusers-named file) and of the SDXL shape (added conditioning); two
ControlNets summed; a ControlNet of the other family refused with its
file named. Tolerance: max abs error <= 1e-4 of the output's scale."""

import json
import os
import tempfile

import numpy as np
import torch

import engine_common as ec  # noqa: I100 (puts tools/reference on the path)
import controlnet as cnref
import sdxl
import st_io
import unet as ref

STACK = None
WORK = tempfile.mkdtemp(prefix="kiln-controlnet-")
# Hint embedding widths at test size (SD's are 16, 32, 96, 256): three
# stride-2 convolutions all the same, the factor 8.
HINT = (4, 8, 8, 16)


def sd15_config(heads=2, groups=8):
    """SD 1.5's layout at test size: attention on all levels but the
    last, two layers per block (skips 1 + 3 + 3 + 2 = 9)."""
    return ref.Config(ch=(32, 64, 64), layers=2, attn=(True, True, False),
                      heads=heads, ctx_dim=16, groups=groups)


def put(name, t):
    p = os.path.join(WORK, name)
    t.contiguous().numpy().astype(np.float32).tofile(p)
    return "%s=%s" % ("x".join(map(str, t.shape)), p)


def write_folder(name, sub, w, config):
    d = os.path.join(WORK, name, sub)
    os.makedirs(d)
    st_io.write(os.path.join(d, "diffusion_pytorch_model.safetensors"),
                {k: v.numpy() for k, v in w.items()})
    if config is not None:
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(config, f)
    return d


def write_file(name, tensors):
    p = os.path.join(WORK, name)
    st_io.write(p, {k: v.numpy() for k, v in tensors.items()})
    return p


def inputs(cfg, H, W, seed, sdxl_added=False):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, cfg.in_ch, H, W, generator=g).float()
    ctx = torch.randn(2, 5, cfg.ctx_dim, generator=g).float()
    hint = torch.rand(1, 3, 8 * H, 8 * W, generator=g).float()
    t = torch.tensor([981.0, 17.0])
    if not sdxl_added:
        return x, t, ctx, hint, None, None
    te = torch.randn(2, cfg.adm_in - 6 * cfg.time_ids_dim,
                     generator=g).float()
    ids = torch.cat([sdxl.time_ids((8 * H, 8 * W), (0, 0), (8 * H, 8 * W))]
                    * 2).float()
    return x, t, ctx, hint, te, ids


def run(model, x, t, ctx, cns, te=None, ids=None):
    """cns: [(path, hint, weight)]. Returns (output or None, process)."""
    op = os.path.join(WORK, "o.bin")
    args = ["unet", "--model", model, "--in", put("x.bin", x),
            "--ctx", put("c.bin", ctx),
            "--t", ",".join("%g" % v for v in t.tolist()), "--out", op]
    if te is not None:
        args += ["--text-embeds", put("te.bin", te),
                 "--time-ids", put("ids.bin", ids)]
    for i, (path, hint, weight) in enumerate(cns):
        args += ["--controlnet", path, "--hint",
                 put("h%d.bin" % i, hint), "--cn-weight", "%r" % weight]
    p = ec.kiln_render(args)
    if p.returncode != 0:
        return None, p
    info = json.loads(p.stdout)
    return torch.from_numpy(np.fromfile(op, np.float32).reshape(
        info["shape"])), p


def want(uw, ucfg, x, t, ctx, cns, te=None, ids=None):
    """cns: [(weights, config, hint, weight)]."""
    y = ref.add_embeds(te, ids, ucfg.time_ids_dim) if te is not None \
        else None
    res = None
    with torch.no_grad():
        for w, cfg, hint, s in cns:
            res = cnref.add(res, cnref.forward(w, cfg, x, t, ctx, hint, s,
                                               y=y))
        return ref.forward(uw, ucfg, x, t, ctx, y=y, residuals=res)


# One SD 1.5-shaped UNet for the SD 1.x tests.
_sd15 = {}


def sd15_unet():
    if not _sd15:
        cfg = sd15_config()
        w = ref.random_weights(cfg, seed=1)
        _sd15.update(cfg=cfg, w=w, path=write_folder(
            "sd15", "unet", w, ref.diffusers_config(cfg)))
    return _sd15["cfg"], _sd15["w"], _sd15["path"]


def test_sd15_shape_diffusers_folder(_):
    ucfg, uw, upath = sd15_unet()
    cw = cnref.random_weights(ucfg, seed=2, hint_ch=HINT)
    cpath = write_folder("cn1", "controlnet", cw,
                         cnref.config_json(ucfg, HINT))
    x, t, ctx, hint, _, _ = inputs(ucfg, 8, 8, seed=3)
    got, p = run(upath, x, t, ctx, [(cpath, hint, 0.7)])
    assert got is not None, p.stderr
    exp = want(uw, ucfg, x, t, ctx, [(cw, ucfg, hint, 0.7)])
    ec.check(got, exp, "SD 1.5-shaped UNet with a ControlNet")
    # The residuals matter: without them the output is far off, and so
    # is the reference run with another hint.
    ec.far(got, want(uw, ucfg, x, t, ctx, []), "without the ControlNet")
    # The hint reaches the output through the whole encoder, damped by
    # random weights: a blank one moves it by about 50 tolerances.
    err = ec.rel_err(got, want(uw, ucfg, x, t, ctx,
                               [(cw, ucfg, torch.zeros_like(hint), 0.7)]))
    assert err > 20 * ec.TOL, "a blank hint: only %.3g off" % err


def test_sd15_single_file_layouts(_):
    # A single file says nothing of the heads and groups: one head per
    # 64 channels (at least one) and 32 groups, as kiln reads any file
    # without a config.json.
    ucfg, uw, upath = sd15_unet()
    ccfg = sd15_config(heads=1, groups=32)
    cw = cnref.random_weights(ccfg, seed=4, hint_ch=HINT)
    x, t, ctx, hint, _, _ = inputs(ucfg, 8, 16, seed=5)
    exp = want(uw, ucfg, x, t, ctx, [(cw, ccfg, hint, 1.0)])
    files = {
        "control_model.*": write_file(
            "cn_ldm.safetensors", cnref.to_single_file(cw, ccfg)),
        "1.1 unprefixed": write_file(
            "cn_ldm11.safetensors", cnref.to_single_file(cw, ccfg, "")),
        "lone diffusers file": write_file("cn_diffusers.safetensors", cw),
    }
    for what, path in files.items():
        got, p = run(upath, x, t, ctx, [(path, hint, 1.0)])
        assert got is not None, "%s: %s" % (what, p.stderr)
        ec.check(got, exp, "ControlNet as " + what)


def test_two_controlnets_sum(_):
    ucfg, uw, upath = sd15_unet()
    cfg = ucfg
    a = cnref.random_weights(cfg, seed=6, hint_ch=HINT)
    b = cnref.random_weights(cfg, seed=7, hint_ch=(8, 8, 16, 16))
    pa = write_folder("cn_a", "controlnet", a, cnref.config_json(cfg, HINT))
    pb = write_folder("cn_b", "controlnet", b, cnref.config_json(cfg))
    x, t, ctx, ha, _, _ = inputs(ucfg, 8, 8, seed=8)
    hb = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(9))
    got, p = run(upath, x, t, ctx, [(pa, ha, 0.6), (pb, hb, 0.9)])
    assert got is not None, p.stderr
    exp = want(uw, ucfg, x, t, ctx, [(a, cfg, ha, 0.6), (b, cfg, hb, 0.9)])
    ec.check(got, exp, "two ControlNets")
    ec.far(got, want(uw, ucfg, x, t, ctx, [(a, cfg, ha, 0.6)]),
           "the first alone")


_sdxl = {}


def sdxl_pair():
    if not _sdxl:
        cfg = sdxl.small_unet_config()
        uw = ref.random_weights(cfg, seed=11)
        cw = cnref.random_weights(cfg, seed=12, hint_ch=HINT)
        _sdxl.update(cfg=cfg, uw=uw, cw=cw,
                     upath=write_folder("xl", "unet", uw,
                                        ref.diffusers_config(cfg)),
                     cpath=write_folder("xl_cn", "controlnet", cw,
                                        cnref.config_json(cfg, HINT)))
    return _sdxl


def test_sdxl_shape_diffusers_folder(_):
    s = sdxl_pair()
    cfg = s["cfg"]
    x, t, ctx, hint, te, ids = inputs(cfg, 8, 8, seed=13, sdxl_added=True)
    got, p = run(s["upath"], x, t, ctx, [(s["cpath"], hint, 0.8)], te, ids)
    assert got is not None, p.stderr
    exp = want(s["uw"], cfg, x, t, ctx, [(s["cw"], cfg, hint, 0.8)], te,
               ids)
    ec.check(got, exp, "SDXL-shaped UNet with a ControlNet")
    ec.far(got, want(s["uw"], cfg, x, t, ctx, [], te, ids),
           "without the ControlNet")


def test_other_family_is_refused(_):
    s = sdxl_pair()
    ucfg, _, upath = sd15_unet()
    x, t, ctx, hint, _, _ = inputs(ucfg, 8, 8, seed=14)
    got, p = run(upath, x, t, ctx, [(s["cpath"], hint, 1.0)])
    assert got is None and p.returncode == 1, p.stderr
    assert s["cpath"] in p.stderr and "made for a SDXL model" in p.stderr \
        and "not for this" in p.stderr, p.stderr
    # And a file that is no ControlNet at all.
    got, p = run(upath, x, t, ctx, [(os.path.join(upath, "diffusion_"
                                     "pytorch_model.safetensors"), hint,
                                     1.0)])
    assert got is None and "not a ControlNet" in p.stderr, p.stderr


# --- canny ---------------------------------------------------------------

def shapes_image(w=160, h=120):
    """Flat and graded shapes in several colours, thin lines, a
    checkerboard corner: every gradient direction and tie."""
    import cv2
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = (40, 90, 160)
    img[:, :] += np.linspace(0, 60, w, dtype=np.uint8)[None, :, None]
    cv2.rectangle(img, (10, 10), (60, 50), (250, 30, 30), -1)
    cv2.circle(img, (110, 40), 25, (20, 220, 90), -1)
    cv2.ellipse(img, (80, 90), (40, 15), 30, 0, 360, (200, 200, 40), -1)
    cv2.line(img, (0, 119), (159, 60), (255, 255, 255), 1)
    cv2.line(img, (5, 70), (60, 118), (0, 0, 0), 2)
    cv2.fillPoly(img, [np.array([[130, 70], [155, 115], [105, 110]])],
                 (90, 40, 200))
    img[:16, w - 16:] = (np.indices((16, 16)).sum(0) % 2 * 255)[..., None]
    return img


def photo_image(w=256, h=192, seed=3):
    """Photo-like: smooth colour fields (blurred noise at several
    scales), soft shapes, then sensor-like noise."""
    import cv2
    rng = np.random.default_rng(seed)
    f = np.zeros((h, w, 3))
    for s in (4, 16, 48):
        n = rng.normal(size=(h // s + 2, w // s + 2, 3))
        f += cv2.resize(n, (w, h), interpolation=cv2.INTER_CUBIC) * s
    f = (f - f.min()) / (f.max() - f.min()) * 200 + 20
    cv2.circle(f, (90, 100), 40, (230, 180, 120), -1)
    f = cv2.GaussianBlur(f, (5, 5), 1.5)
    f += rng.normal(scale=6, size=f.shape)
    return np.clip(f, 0, 255).round().astype(np.uint8)


def kiln_canny(img, low, high, gray=False):
    import cv2
    src = os.path.join(WORK, "canny_in.png")
    dst = os.path.join(WORK, "canny_out.png")
    cv2.imwrite(src, img[:, :, ::-1])     # cv2 writes BGR
    args = ["canny", "--in", src, "--low", repr(low), "--high",
            repr(high), "-o", dst] + (["--gray"] if gray else [])
    p = ec.kiln_render(args)
    assert p.returncode == 0, p.stderr
    out = cv2.imread(dst, cv2.IMREAD_UNCHANGED)
    assert (out[..., 0] == out[..., 1]).all() and \
        (out[..., 0] == out[..., 2]).all()
    return out[..., 0]


def agree(img, cases, gray=False):
    """Every pixel of kiln's edge map equals OpenCV's, for each (low,
    high); returns the pixels and edges compared."""
    import cv2
    src = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if gray else img
    px = edges = 0
    for low, high in cases:
        want = cv2.Canny(src, low, high)
        got = kiln_canny(img, low, high, gray)
        bad = int((got != want).sum())
        assert bad == 0, "canny(%g, %g)%s: %d of %d pixels differ " \
            "(%d edges in OpenCV's)" % (low, high, " gray" if gray else "",
                                        bad, want.size,
                                        int((want > 0).sum()))
        px += want.size
        edges += int((want > 0).sum())
    return px, edges


CASES = [(100, 200), (50, 150), (20, 60), (200, 100), (100.7, 200.2),
         (0, 0)]


def test_canny_matches_opencv_on_shapes(_):
    px, edges = agree(shapes_image(), CASES)
    assert edges > 1000, edges      # the images have edges to find


def test_canny_matches_opencv_on_a_noisy_photo(_):
    px, edges = agree(photo_image(), CASES)
    assert edges > 1000, edges


def test_canny_matches_opencv_on_grey_levels(_):
    agree(photo_image(seed=4), CASES[:3], gray=True)
    agree(shapes_image(), CASES[:3], gray=True)


def test_canny_is_not_a_plain_threshold(_):
    # The check can fail: a Sobel magnitude threshold without
    # suppression and hysteresis differs on many pixels.
    import cv2
    img = photo_image()
    got = kiln_canny(img, 30, 60)
    g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    mag = np.abs(cv2.Sobel(g, cv2.CV_16S, 1, 0).astype(np.int32)) + \
        np.abs(cv2.Sobel(g, cv2.CV_16S, 0, 1).astype(np.int32))
    assert ((mag > 60) * 255 != got).sum() > 0.3 * (got > 0).sum() > 300


# --- renders: kiln-render --controlnet on kiln-micro ----------------------

MICRO = os.path.join(ec.harness.ROOT, "models", "kiln-micro")
_micro = {}


def micro_controlnets():
    """ControlNets for kiln-micro (latents of 4 pixels: two stride-2
    hint convolutions) made of its own UNet encoder, as training starts
    one: with zero convolutions ("zero"), and with random ones
    ("random")."""
    if not _micro:
        uw, _ = st_io.read(os.path.join(MICRO, "unet",
                                        "diffusion_pytorch_model.safetensors"))
        with open(os.path.join(MICRO, "unet", "config.json")) as f:
            cfg_json = json.load(f)
        cfg = ref.Config(ch=tuple(cfg_json["block_out_channels"]), layers=1,
                         attn=(False, True, True), heads=4, ctx_dim=128,
                         in_ch=8, out_ch=8, groups=16, linear_proj=True)
        rnd = cnref.random_weights(cfg, seed=31, hint_ch=(16, 32, 64))
        w = {k: torch.from_numpy(np.array(uw[k], np.float32))
             if k in uw else v for k, v in rnd.items()}
        cj = dict(cfg_json, _class_name="ControlNetModel",
                  conditioning_embedding_out_channels=[16, 32, 64])
        for k in ("out_channels", "up_block_types"):
            cj.pop(k)
        zero = {k: (torch.zeros_like(v) if k.startswith(
            ("controlnet_down_blocks.", "controlnet_mid_block.")) else v)
            for k, v in w.items()}
        _micro["zero"] = write_folder("micro_zero", "controlnet", zero, cj)
        _micro["random"] = write_folder("micro_rnd", "controlnet", w, cj)
    return _micro


def render(name, extra=()):
    import cv2
    out = os.path.join(WORK, name + ".png")
    p = ec.kiln_render(["--model", MICRO, "--prompt", "a red circle",
                        "--steps", "4", "--seed", "7", "-o", out] +
                       list(extra))
    if p.returncode != 0:
        return None, p
    return cv2.imread(out)[:, :, ::-1], p


def control_image():
    import cv2
    path = os.path.join(WORK, "control.png")
    if not os.path.exists(path):
        # Another size than the render's: it is resized to 64x64.
        cv2.imwrite(path, shapes_image(120, 90)[:, :, ::-1])
    return path


def test_render_with_zero_controlnet_is_unchanged(_):
    # A ControlNet whose zero convolutions are zero adds nothing: the
    # render is the plain one to the bit, canny and plain hints alike.
    cn = micro_controlnets()["zero"]
    base, p = render("base")
    assert base is not None, p.stderr
    got, p = render("zero", ["--controlnet", "%s:%s:1" % (
        cn, control_image()), "--control-preprocessor", "canny:50:100"])
    assert got is not None, p.stderr
    assert (got == base).all()


def test_render_with_controlnets_and_spans(_):
    cn = micro_controlnets()["random"]
    img = control_image()
    base, p = render("base2")
    assert base is not None, p.stderr
    full, p = render("full", ["--controlnet", "%s:%s:0.5" % (cn, img),
                              "--control-preprocessor", "canny"])
    assert full is not None, p.stderr
    assert np.abs(full.astype(int) - base).mean() > 2
    # Weight 0, or a span of no step (start 0.9 of 4 steps: 0, .25, .5,
    # .75), leaves the plain render.
    for spec in ("%s:%s:0" % (cn, img), "%s:%s:1:0.9:1" % (cn, img)):
        got, p = render("none", ["--controlnet", spec])
        assert got is not None, p.stderr
        assert (got == base).all(), spec
    # The first step only differs from both; two ControlNets (the zero
    # one adding nothing) give the one's render.
    first, p = render("first", ["--controlnet", "%s:%s:0.5:0:0" % (cn, img),
                                "--control-preprocessor", "canny"])
    assert first is not None, p.stderr
    assert (first != base).any() and (first != full).any()
    two, p = render("two", ["--controlnet", "%s:%s:0.5" % (cn, img),
                            "--control-preprocessor", "canny",
                            "--controlnet", "%s:%s:1" % (
                                micro_controlnets()["zero"], img)])
    assert two is not None, p.stderr
    assert (two == full).all()


def test_render_refuses_bad_controlnets(_):
    img = control_image()
    # An SD 1.5-shaped ControlNet on kiln-micro: named, nothing crashes.
    ucfg, _, _ = sd15_unet()
    cw = cnref.random_weights(ucfg, seed=41, hint_ch=HINT)
    path = write_file("cn_other.safetensors", cw)
    got, p = render("bad", ["--controlnet", "%s:%s:1" % (path, img)])
    assert got is None and p.returncode == 1, p.stderr
    assert path in p.stderr and "made for" in p.stderr, p.stderr
    for args, what in (
            (["--controlnet", "x.safetensors"], "FILE:IMAGE:WEIGHT"),
            (["--controlnet", "a:%s:3" % img], "weight 3"),
            (["--controlnet", "a:%s:1:0.5:0.2" % img], "start 0.5"),
            (["--control-preprocessor", "canny"], "after the --controlnet"),
            (["--controlnet", "a:%s:1" % img, "--control-preprocessor",
              "sobel"], "none or canny"),
            (["--controlnet", "a:/nonexistent.png:1"], "nonexistent")):
        got, p = render("bad", args)
        assert got is None and p.returncode == 2, (args, p.stderr)
        assert what in p.stderr, (args, p.stderr)
