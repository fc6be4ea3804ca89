"""The AutoencoderKL decoder and encoder on PoCL against the PyTorch
reference (tools/reference/vae.py), on small random-weight VAEs in every
layout the loader accepts: diffusers folder with config.json, diffusers
folder with the old attention names and no config, single file with LDM
names and F16 weights. Tolerance: max abs error <= 1e-4 of the output's
scale. Then tiled decoding and encoding against the reference's tiling
(1e-4) and against the untiled C result (TILE_MEAN_TOL, TILE_MAX_TOL),
the seams, and a --budget that forces tiles keeping the memory held
within it."""

import json
import os
import shutil
import tempfile

import numpy as np
import torch

import engine_common as ec
import st_io
import vae as ref

STACK = None
TOL = 1e-4
# Tiles see only their part of the latent in the mid-block attention and
# the group norms, so a tiled decode is not the untiled one. The tiled C
# result must match the reference's tiled decode (vae.decode_tiled) at TOL;
# against the untiled result, on this random VAE (whose activations
# depend on the whole latent far more than a trained one's), the mean
# difference must stay within 5% of the output's scale (measured 3.2%) and
# the largest within 35% (measured 26%).
TILE_MEAN_TOL = 0.05
TILE_MAX_TOL = 0.35
WORK = tempfile.mkdtemp(prefix="kiln-vae-")


def rand(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g).float()


def run(cmd, model, x, extra=(), logvar=False):
    inp = os.path.join(WORK, "in.bin")
    out = os.path.join(WORK, "out.bin")
    lvp = os.path.join(WORK, "logvar.bin")
    for p in (out, lvp):
        if os.path.exists(p):
            os.unlink(p)
    x.numpy().astype(np.float32).tofile(inp)
    args = [cmd, "--model", model, "--in",
            "x".join(str(s) for s in x.shape) + "=" + inp, "--out", out]
    if logvar:
        args += ["--logvar", lvp]
    p = ec.kiln_render(args + list(extra))
    assert p.returncode == 0, p.stderr
    info = json.loads(p.stdout)
    got = torch.from_numpy(np.fromfile(out, dtype=np.float32)
                           .reshape(info["shape"]))
    if logvar:
        lv = torch.from_numpy(np.fromfile(lvp, dtype=np.float32)
                              .reshape(info["shape"]))
        return got, lv, info
    return got, info


def check(got, want, what):
    assert tuple(got.shape) == tuple(want.shape), \
        "%s: shape %s, want %s" % (what, tuple(got.shape), tuple(want.shape))
    err = ec.rel_err(got, want)
    assert err <= TOL, "%s: relative error %.3g > %g" % (what, err, TOL)


def diffusers_folder(name, cfg, w, with_config=True):
    d = os.path.join(WORK, name, "vae")
    os.makedirs(d)
    st_io.write(os.path.join(d, "diffusion_pytorch_model.safetensors"),
                ref.as_numpy(w))
    if with_config:
        c = dict(cfg, _class_name="AutoencoderKL",
                 down_block_types=["DownEncoderBlock2D"] *
                 len(cfg["block_out_channels"]),
                 up_block_types=["UpDecoderBlock2D"] *
                 len(cfg["block_out_channels"]),
                 act_fn="silu", sample_size=64)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(c, f)
    return os.path.dirname(d)


def test_diffusers_folder_decode_and_encode(_):
    cfg = ref.config((32, 64), layers=1, latent=4, groups=8,
                     scaling_factor=0.5)
    w = ref.random_weights(cfg, seed=1)
    model = diffusers_folder("diffusers", cfg, w)
    z = rand(2, 4, 8, 8, seed=2)
    got, info = run("vae-decode", model, z)
    assert info["scaling_factor"] == 0.5
    check(got, ref.decode(w, cfg, z), "decode, diffusers folder")
    img = rand(1, 3, 16, 16, seed=3).clamp(-1, 1)
    mean, logvar, info = run("vae-encode", model, img, logvar=True)
    want_mean, want_lv = ref.encode(w, cfg, img)
    assert info["shape"] == [1, 4, 8, 8]
    check(mean, want_mean, "encode mean, diffusers folder")
    check(logvar, want_lv, "encode logvar, diffusers folder")


def test_single_file_ldm_names_f16(_):
    # No config in a single file: 32 groups and 0.18215 are the defaults.
    cfg = ref.config((32, 64), layers=2, latent=4, groups=32)
    w = ref.random_weights(cfg, seed=4)
    w16 = {k: torch.from_numpy(v.numpy().astype(np.float16)
                               .astype(np.float32)) for k, v in w.items()}
    st = {"first_stage_model." + k: v.numpy().astype(np.float16)
          for k, v in ref.to_ldm(w, cfg).items()}
    st["model.diffusion_model.out.2.bias"] = np.zeros(4, np.float32)
    path = os.path.join(WORK, "sd.safetensors")
    st_io.write(path, st)
    z = rand(1, 4, 6, 10, seed=5)
    got, info = run("vae-decode", path, z)
    assert abs(info["scaling_factor"] - 0.18215) < 1e-7
    check(got, ref.decode(w16, cfg, z), "decode, LDM single file, F16")
    img = rand(1, 3, 12, 20, seed=6).clamp(-1, 1)
    mean, logvar, _ = run("vae-encode", path, img, logvar=True)
    want_mean, want_lv = ref.encode(w16, cfg, img)
    check(mean, want_mean, "encode mean, LDM single file, F16")
    check(logvar, want_lv, "encode logvar, LDM single file, F16")


def test_old_attention_names_three_levels_no_config(_):
    cfg = ref.config((32, 32, 64), layers=1, latent=4, groups=32)
    w = ref.random_weights(cfg, seed=7)
    model = diffusers_folder("old-names", cfg, ref.to_old_attention(w),
                             with_config=False)
    z = rand(1, 4, 5, 7, seed=8)
    got, info = run("vae-decode", model, z)
    assert info["shape"] == [1, 3, 20, 28]
    check(got, ref.decode(w, cfg, z), "decode, old attention names")
    img = rand(1, 3, 20, 28, seed=9).clamp(-1, 1)
    mean, _ = run("vae-encode", model, img)
    check(mean, ref.encode(w, cfg, img)[0], "encode, old attention names")


def test_failed_allocations_give_their_memory_back(_):
    # Each device allocation fails in turn (--fail-each-alloc): every
    # failed decode (whole and tiled) and encode frees all it took.
    cfg = ref.config((16, 32), layers=1, latent=4, groups=8)
    model = diffusers_folder("walk", cfg, ref.random_weights(cfg, seed=20))
    z = rand(1, 4, 8, 8, seed=21)
    for extra in ([], ["--tile", "4", "--overlap", "1"]):
        got, _ = run("vae-decode", model, z, extra + ["--fail-each-alloc"])
        assert got.shape == (1, 3, 16, 16), got.shape
    img = rand(1, 3, 16, 16, seed=22).clamp(-1, 1)
    run("vae-encode", model, img, ["--fail-each-alloc"], logvar=True)


_tiled = {}


def test_tiled_decode_close_to_untiled(_):
    cfg = ref.config((32, 64), layers=1, latent=4, groups=8)
    w = ref.random_weights(cfg, seed=10)
    model = diffusers_folder("tiled", cfg, w)
    z = rand(1, 4, 40, 56, seed=11)
    whole, info_w = run("vae-decode", model, z)
    check(whole, ref.decode(w, cfg, z), "untiled decode at 40x56")
    tiled, info_t = run("vae-decode", model, z, ["--tile", "16",
                                                 "--overlap", "4"])
    assert tiled.shape == whole.shape
    check(tiled, ref.decode_tiled(w, cfg, z, 16, 4),
          "tiled decode vs the reference's tiling")
    scale = whole.abs().max().item()
    d = (tiled - whole).abs()
    mean_err = d.mean().item() / scale
    max_err = d.max().item() / scale
    assert mean_err <= TILE_MEAN_TOL and max_err <= TILE_MAX_TOL, \
        "tiled vs untiled: mean %.3g, max %.3g of the scale" % (mean_err,
                                                               max_err)
    _tiled.update(model=model, whole=whole, tiled=tiled, z=z,
                  peak_whole=info_w["peak_bytes"],
                  peak_tiled=info_t["peak_bytes"])


def tile_edges(length, tile, overlap, f):
    """Pixel rows where a tile begins or ends."""
    starts = ref.tile_starts(length, tile, overlap)
    cuts = set(f * s for s in starts[1:]) | \
        set(f * (s + tile) for s in starts[:-1])
    return sorted(cuts)


def _row_steps(img, axis):
    """Mean |difference| between neighbouring rows (axis 2) or columns
    (axis 3), one value per boundary."""
    d = (img.narrow(axis, 1, img.shape[axis] - 1) -
         img.narrow(axis, 0, img.shape[axis] - 1)).abs()
    dims = [0, 1, 2, 3]
    dims.remove(axis)
    return d.mean(dim=dims)


def test_tiled_seams_are_blended(_):
    if not _tiled:
        raise AssertionError("needs the tiled decode above")
    whole, tiled = _tiled["whole"], _tiled["tiled"]
    f = 2
    edges = {2: tile_edges(40, 16, 4, f), 3: tile_edges(56, 16, 4, f)}
    assert len(edges[2]) >= 2 and len(edges[3]) >= 4, edges
    for axis, cut in edges.items():
        steps_t = _row_steps(tiled, axis)
        steps_w = _row_steps(whole, axis)
        # A boundary between row r-1 and r is step index r-1.
        at_edges = max(steps_t[c - 1].item() for c in cut)
        interior = steps_w.max().item()
        assert at_edges <= 1.1 * interior, \
            "axis %d: step %.4g at a tile edge, untiled steps at most %.4g" \
            % (axis, at_edges, interior)
        # And the error against the untiled image does not jump there.
        e = _row_steps(tiled - whole, axis)
        e_edges = max(e[c - 1].item() for c in cut)
        assert e_edges <= 2.0 * e.median().item() + \
            0.02 * whole.abs().max().item(), \
            "axis %d: difference jumps by %.4g at a tile edge" % (axis,
                                                                  e_edges)


def test_tiling_reduces_peak_memory(_):
    if not _tiled:
        raise AssertionError("needs the tiled decode above")
    pw, pt = _tiled["peak_whole"], _tiled["peak_tiled"]
    assert pt < 0.6 * pw, "peak %d bytes tiled vs %d untiled" % (pt, pw)
    # --budget picks a tile size on its own and stays near the explicit
    # one's memory.
    _, info = run("vae-decode", _tiled["model"], _tiled["z"],
                  ["--budget", str(int(pt * 0.8))])
    assert info["peak_bytes"] < pw, info


def test_tiled_encode_matches_reference_tiling(_):
    """Tiled encode (--tile 16 --overlap 4 latents) against the
    reference's tiled encode (encode_tiled: the moments blended with the
    decoder's ramps) at TOL, and against the untiled encode within the
    tiled decode's tolerances (TILE_MEAN_TOL, TILE_MAX_TOL)."""
    cfg = ref.config((32, 64), layers=1, latent=4, groups=8)
    w = ref.random_weights(cfg, seed=30)
    model = diffusers_folder("tiled-enc", cfg, w)
    img = rand(1, 3, 80, 112, seed=31).clamp(-1, 1)
    whole, _, _ = run("vae-encode", model, img, logvar=True)
    mean, logvar, info = run("vae-encode", model, img,
                             ["--tile", "16", "--overlap", "4"],
                             logvar=True)
    assert info["shape"] == [1, 4, 40, 56], info
    want_m, want_lv = ref.encode_tiled(w, cfg, img, 16, 4)
    check(mean, want_m, "tiled encode mean vs the reference's tiling")
    check(logvar, want_lv, "tiled encode logvar vs the reference's tiling")
    scale = whole.abs().max().item()
    d = (mean - whole).abs()
    assert d.mean().item() / scale <= TILE_MEAN_TOL and \
        d.max().item() / scale <= TILE_MAX_TOL, \
        "tiled vs untiled encode: mean %.3g, max %.3g of the scale" % (
            d.mean().item() / scale, d.max().item() / scale)


def budget_case(cmd, x, want_shape):
    """Untiled, then --budget half the untiled pass's own memory: the
    pass must tile (its memory falls), stay within the budget
    (peak_bytes less base_bytes, the weights and the input, as the
    runtime counts what it holds, pool included) and stay near the
    untiled result."""
    cfg = ref.config((32, 64), layers=1, latent=4, groups=8)
    model = _budget_model.get("m")
    if model is None:
        model = diffusers_folder("budget", cfg,
                                 ref.random_weights(cfg, seed=32))
        _budget_model["m"] = model
    whole, info_w = run(cmd, model, x)
    own = info_w["peak_bytes"] - info_w["base_bytes"]
    budget = own // 2
    tiled, info_t = run(cmd, model, x, ["--budget", str(budget)])
    assert info_t["shape"] == want_shape, info_t
    used = info_t["peak_bytes"] - info_t["base_bytes"]
    assert used <= budget, "%s: %d bytes held over a budget of %d " \
        "(untiled %d)" % (cmd, used, budget, own)
    assert not torch.equal(tiled, whole), "%s: not tiled" % cmd
    scale = whole.abs().max().item()
    d = (tiled - whole).abs()
    assert d.mean().item() / scale <= TILE_MEAN_TOL and \
        d.max().item() / scale <= TILE_MAX_TOL, \
        "%s: budget-tiled vs untiled: mean %.3g, max %.3g of the " \
        "scale" % (cmd, d.mean().item() / scale, d.max().item() / scale)


_budget_model = {}


def test_decode_budget_keeps_peak_under_it(_):
    budget_case("vae-decode", rand(1, 4, 48, 64, seed=33),
                [1, 3, 96, 128])


def test_encode_budget_keeps_peak_under_it(_):
    budget_case("vae-encode", rand(1, 3, 96, 128, seed=34).clamp(-1, 1),
                [1, 4, 48, 64])


def test_clear_errors(_):
    cfg = ref.config((32, 64), layers=1, latent=4, groups=8)
    w = ref.as_numpy(ref.random_weights(cfg, seed=12))
    del w["decoder.up_blocks.1.resnets.1.conv2.bias"]
    d = os.path.join(WORK, "broken", "vae")
    os.makedirs(d)
    st_io.write(os.path.join(d, "diffusion_pytorch_model.safetensors"), w)
    inp = os.path.join(WORK, "z.bin")
    rand(1, 4, 4, 4).numpy().tofile(inp)
    p = ec.kiln_render(["vae-decode", "--model", d, "--in",
                        "1x4x4x4=" + inp, "--out",
                        os.path.join(WORK, "x.bin")])
    assert p.returncode == 1
    assert "decoder.up_blocks.1.resnets.1.conv2.bias is missing" in \
        p.stderr, p.stderr
    # The encoder half is intact and still loads.
    img = os.path.join(WORK, "img.bin")
    rand(1, 3, 8, 8).numpy().tofile(img)
    p = ec.kiln_render(["vae-encode", "--model", d, "--in",
                        "1x3x8x8=" + img, "--out",
                        os.path.join(WORK, "x.bin")])
    assert p.returncode == 0, p.stderr
    # Wrong latent channels.
    rand(1, 3, 4, 4).numpy().tofile(inp)
    model = _tiled.get("model") or os.path.join(WORK, "diffusers")
    p = ec.kiln_render(["vae-decode", "--model", model, "--in",
                        "1x3x4x4=" + inp, "--out",
                        os.path.join(WORK, "x.bin")])
    assert p.returncode == 1 and "want [N, 4, H, W]" in p.stderr, p.stderr
    shutil.rmtree(WORK, ignore_errors=True)
