#!/usr/bin/python3
"""run.py - `make bench`: kiln's speed as ratios against a peer run on the
same work in the same command, so the figures hold on a noisy machine.

  1. GEMM: the engine's GEMM on SD 1.5 UNet shapes next to OpenBLAS SGEMM
     (numpy); OpenBLAS's best GFLOP/s is the machine's practical peak.
  2. UNet step: a random-weight UNet with SD 1.5's configuration at 256x256
     and 512x512 (a CFG batch of 2), kiln-render next to the PyTorch
     reference (tools/reference/unet.py, float32, 2 threads) on the same
     weights and inputs: seconds per step, ratio, kiln's GFLOP/s (FLOPs
     counted here from the architecture) as a fraction of the peak, peak
     memory, and kiln's per-op profile.
  3. SDXL: the same for SDXL base's UNet (2.57 G parameters, F16, with
     the pooled-text and time-id conditioning) at 1024x1024, one timed
     run each; kiln's output against PyTorch's is the 1024x1024 check of
     the SDXL UNet (the test suite checks 256x256).
  4. kiln-micro: images per minute through kiln-render and through the
     whole stack (API submit -> PNG ready), the second against the first.
  5. Web: wrk against GET /api/v1/jobs/{id}, POST /api/v1/jobs and the
     gallery page, each next to lighttpd serving a static file: requests/s,
     p50 and p99 latency, errors.

  6. VAE: SD's VAE (random weights, 128/256/512/512) decoding and
     encoding 512x512 untiled and under --vae-budget-mb (tiled): CPU
     seconds (user + system, the machine being shared) as a ratio, the
     memory held and the tiled result's difference from the untiled one;
     then a 2048x2048 decode within a budget with a quarter-width VAE
     (32/64/128/128: SD's at 2048x2048 takes a quarter of an hour on two
     cores), its CPU seconds per pixel against the same VAE's untiled
     512x512 decode.
  7. Images (images.py): tiled upscaling to 2048x2048 (SRVGGNet, and
     RRDBNet to 512) next to PyTorch, the hires fix to 2048x2048 and an
     outpaint of a 2048x2048 image, each within --images-budget-mb.

Prints one table and writes bench/results/latest.json. Never part of
`make test`. Run with /usr/bin/python3."""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
for sub in ("tools/bench", "tools/reference", "tests/integration"):
    sys.path.insert(0, os.path.join(ROOT, sub))

import gemm  # noqa: E402  (sets the OpenBLAS thread count, loads numpy)
import images  # noqa: E402
import numpy as np  # noqa: E402

SD15 = dict(ch=[320, 640, 1280, 1280], layers=2,
            attn=[True, True, True, False], heads=8, ctx_dim=768, groups=32)
SD15_PARAMS = 859520964
TIMESTEPS = "981,421"
PROMPTS = ["a large red star in the top left corner",
           "two small green triangles on a white background",
           "a single blue circle on the left",
           "two large yellow squares on a black background",
           "three purple stars on a black background",
           "a pink triangle at the bottom on a grey background"]


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def engine_env(build):
    env = dict(os.environ)
    env.setdefault("POCL_CACHE_DIR", os.path.join(build, "pocl-cache"))
    env.setdefault("KILN_CL_CACHE", os.path.join(build, "cl-cache"))
    return env


def run_child(cmd, env=None, timeout=1800):
    """Runs cmd; returns (stdout, stderr, seconds, peak RSS bytes of the
    child itself, from wait4)."""
    t0 = time.perf_counter()
    out_f = tempfile.TemporaryFile()
    err_f = tempfile.TemporaryFile()
    p = subprocess.Popen(cmd, stdout=out_f, stderr=err_f, env=env)
    deadline = time.time() + timeout
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            break
        if time.time() > deadline:
            p.kill()
            pid, status, ru = os.wait4(p.pid, 0)
            break
        time.sleep(0.05)
    p.returncode = os.waitstatus_to_exitcode(status)
    secs = time.perf_counter() - t0
    out_f.seek(0)
    err_f.seek(0)
    out, err = out_f.read().decode(errors="replace"), \
        err_f.read().decode(errors="replace")
    if p.returncode != 0:
        sys.exit("bench: %s failed (%d):\n%s" % (" ".join(cmd),
                                                 p.returncode, err[-3000:]))
    return out, err, secs, ru.ru_maxrss * 1024


# ------------------------------------------------------------------ GEMM

def section_gemm(args):
    """OpenBLAS and the engine on the same shapes, in args.gemm_rounds
    alternating rounds of args.gemm_repeat calls each; a shape's figure
    is its best call over the rounds, on each side. One round's calls
    follow each other within a fraction of a second, so on a shared
    machine one burst of someone else's work could make all of them
    slow; rounds spread over half a minute let each side show its
    speed. The engine goes through the shapes twice in each process:
    the first products after the device has idled wait for PoCL's worker
    threads to wake (OpenBLAS's spin between calls), which a UNet's
    back-to-back products never do."""
    shapes = [s.strip() for s in gemm.DEFAULT_SHAPES.split(",")]
    parsed = [gemm.parse_shape(s) for s in shapes]
    binary = os.path.join(args.build, "render-daemon", "kiln-render")
    blas = [0.0] * len(shapes)
    kiln = [0.0] * len(shapes)
    for r in range(args.gemm_rounds):
        log("GEMM: round %d of %d: OpenBLAS through numpy, then the "
            "engine" % (r + 1, args.gemm_rounds))
        for i, p in enumerate(parsed):
            blas[i] = max(blas[i], gemm.bench_numpy(p, args.gemm_repeat)[0])
        k = gemm.bench_kiln(binary, ",".join(shapes + shapes),
                            args.gemm_repeat, None, True, False)
        for i, res in enumerate(k["results"]):
            kiln[i % len(shapes)] = max(kiln[i % len(shapes)],
                                        res["gflops"])
    rows = []
    for s, b, kg in zip(shapes, blas, kiln):
        rows.append({"shape": s, "openblas_gflops": round(b, 1),
                     "kiln_gflops": round(kg, 1),
                     "ratio": round(kg / b, 3)})
    return {"device": k.get("device"), "blas": gemm.blas_library(),
            "rounds": args.gemm_rounds, "repeat": args.gemm_repeat,
            "peak_gflops": round(max(blas), 1), "rows": rows}


# ------------------------------------------------------------------ VAE

def vae_model(work, name, block_out):
    """A diffusers VAE folder of random weights, written once."""
    import st_io
    import vae as vae_ref
    d = os.path.join(work, name)
    f = os.path.join(d, "vae", "diffusion_pytorch_model.safetensors")
    if not os.path.exists(f):
        os.makedirs(os.path.dirname(f), exist_ok=True)
        cfg = vae_ref.config(block_out, layers=2, latent=4, groups=32)
        st_io.write(f + ".tmp", vae_ref.as_numpy(
            vae_ref.random_weights(cfg, seed=1)))
        os.rename(f + ".tmp", f)
    return d


def vae_pass(args, cmd, model, x, extra=()):
    """One kiln-render vae-decode/vae-encode: (output, its JSON line)."""
    binary = os.path.join(args.build, "render-daemon", "kiln-render")
    work = os.path.join(args.build, "bench-vae")
    inp, out = os.path.join(work, "in.bin"), os.path.join(work, "out.bin")
    x.astype(np.float32).tofile(inp)
    argv = [binary, cmd, "--model", model, "--in",
            "x".join(str(v) for v in x.shape) + "=" + inp, "--out", out]
    p = subprocess.Popen(argv + list(extra), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE,
                         env=engine_env(args.build))
    so, se = p.communicate()
    if p.returncode != 0:
        sys.exit("bench: %s failed:\n%s" % (" ".join(argv),
                                             se.decode()[-3000:]))
    info = json.loads(so)
    y = np.fromfile(out, np.float32).reshape(info["shape"])
    return y, info


def vae_timed(args, cmd, model, x, extra=()):
    """vae_pass with the child's CPU seconds (user + system)."""
    r0 = os.times()
    y, info = vae_pass(args, cmd, model, x, extra)
    r1 = os.times()
    cpu = (r1.children_user - r0.children_user) + \
        (r1.children_system - r0.children_system)
    info["cpu_s"] = round(cpu, 2)
    info["held_mb"] = round((info["peak_bytes"] - info["base_bytes"]) /
                            1048576, 1)
    return y, info


def vae_vs_torch(args, work, model, rng):
    """SD's VAE decode of a 64x64 latent (512x512 image), whole, through
    kiln-render and through vae_torch.py (tools/reference/vae.py in
    float32, args.threads threads) on the same weights and latent: best
    of two after a warm-up each, peak RSS of each process."""
    z = rng.standard_normal((1, 4, 64, 64)).astype(np.float32)
    inp = os.path.join(work, "z.bin")
    z.tofile(inp)
    spec = "1x4x64x64=" + inp
    ko, to = os.path.join(work, "k.bin"), os.path.join(work, "t.bin")
    log("VAE: decode 512x512, kiln-render (best of 2 after a warm-up)")
    out, _, _, k_rss = run_child(
        [os.path.join(args.build, "render-daemon", "kiln-render"),
         "vae-decode", "--model", model, "--in", spec, "--out", ko,
         "--repeat", "3"], env=engine_env(args.build), timeout=3600)
    k = json.loads(out)
    log("VAE: decode 512x512, PyTorch, %d threads" % args.threads)
    out, _, _, t_rss = run_child(
        ["/usr/bin/python3", os.path.join(ROOT, "tools", "bench",
                                          "vae_torch.py"),
         "--model", model, "--config", json.dumps(
             {"block_out": [128, 256, 512, 512], "layers": 2,
              "latent": 4, "groups": 32}),
         "--in", spec, "--out", to, "--threads", str(args.threads)],
        timeout=3600)
    t = json.loads(out)
    a, b = np.fromfile(ko, np.float32), np.fromfile(to, np.float32)
    return {"case": "decode 512x512", "kiln_s": round(k["seconds"], 3),
            "torch_s": round(t["seconds"], 3),
            "speedup": round(t["seconds"] / k["seconds"], 3),
            "kiln_rss_mb": round(k_rss / 2**20),
            "torch_rss_mb": round(t_rss / 2**20),
            "max_rel_diff": float(np.max(np.abs(a - b)) /
                                  (np.max(np.abs(b)) + 1e-12))}


def section_vae(args):
    work = os.path.join(args.build, "bench-vae")
    os.makedirs(work, exist_ok=True)
    budget = str(args.vae_budget_mb * 1048576)
    rng = np.random.default_rng(5)
    sd = vae_model(work, "sd", (128, 256, 512, 512))
    res = {"budget_mb": args.vae_budget_mb, "rows": []}
    cases = (("decode 512x512", "vae-decode",
              rng.standard_normal((1, 4, 64, 64))),
             ("encode 512x512", "vae-encode",
              rng.uniform(-1, 1, (1, 3, 512, 512))))
    for name, cmd, x in cases:
        log("VAE: %s, untiled and within %d MB" % (name,
                                                  args.vae_budget_mb))
        whole, iw = vae_timed(args, cmd, sd, x)
        tiled, it = vae_timed(args, cmd, sd, x, ["--budget", budget])
        scale = float(np.abs(whole).max())
        d = np.abs(tiled - whole)
        res["rows"].append({
            "case": name, "untiled_cpu_s": iw["cpu_s"],
            "tiled_cpu_s": it["cpu_s"],
            "ratio": round(it["cpu_s"] / iw["cpu_s"], 3),
            "untiled_held_mb": iw["held_mb"], "tiled_held_mb": it["held_mb"],
            "mean_diff": round(float(d.mean()) / scale, 5),
            "max_diff": round(float(d.max()) / scale, 5)})
    res["torch"] = vae_vs_torch(args, work, sd, rng)
    q = vae_model(work, "quarter", (32, 64, 128, 128))
    big = args.vae_big_budget_mb
    log("VAE: 2048x2048 decode within %d MB, quarter-width VAE" % big)
    _, i512 = vae_timed(args, "vae-decode", q,
                        rng.standard_normal((1, 4, 64, 64)))
    _, i2k = vae_timed(args, "vae-decode", q,
                       rng.standard_normal((1, 4, 256, 256)),
                       ["--budget", str(big * 1048576)])
    res["big"] = {"budget_mb": big, "cpu_s": i2k["cpu_s"],
                  "held_mb": i2k["held_mb"],
                  "untiled_512_cpu_s": i512["cpu_s"],
                  "untiled_512_held_mb": i512["held_mb"],
                  "per_pixel_ratio": round(i2k["cpu_s"] /
                                           (16 * i512["cpu_s"]), 3)}
    return res


# ------------------------------------------------------------------ UNet

def unet_flops(cfg, n, h, w, ctx_len=77):
    """Multiply-add FLOPs (2 per MAC) of one UNet evaluation of a batch of
    n latents h x w, counted from the SD UNet's structure (convolutions,
    linear layers and the attention products; norms and activations,
    under 1%, left out)."""
    ch, T = cfg["ch"], 4 * cfg["ch"][0]
    depth = cfg.get("depth", 1)
    depth = [depth] * len(ch) if isinstance(depth, int) else depth
    flops = 0

    def conv(cin, cout, k, hh, ww):
        return 2 * n * cin * cout * k * k * hh * ww

    def lin(i, o, rows):
        return 2 * rows * i * o

    def res(cin, cout, hh, ww):
        f = conv(cin, cout, 3, hh, ww) + conv(cout, cout, 3, hh, ww) + \
            lin(T, cout, n)
        return f + (conv(cin, cout, 1, hh, ww) if cin != cout else 0)

    def xf(c, hh, ww, blocks):
        tok = hh * ww
        rows = n * tok
        f = 2 * conv(c, c, 1, hh, ww)                   # proj in, out
        f += 4 * lin(c, c, rows) + 2 * (2 * n * tok * tok * c)  # self
        f += 2 * lin(c, c, rows) + 2 * lin(cfg["ctx_dim"], c, n * ctx_len) \
            + 2 * (2 * n * tok * ctx_len * c)           # cross
        f += lin(c, 8 * c, rows) + lin(4 * c, c, rows)  # GEGLU MLP
        return f * blocks - 2 * conv(c, c, 1, hh, ww) * (blocks - 1)

    flops += lin(ch[0], T, n) + lin(T, T, n)
    if cfg.get("adm_in"):
        flops += lin(cfg["adm_in"], T, n) + lin(T, T, n)
    flops += conv(4, ch[0], 3, h, w)
    skip, c = [ch[0]], ch[0]
    for i in range(len(ch)):
        for _ in range(cfg["layers"]):
            flops += res(c, ch[i], h, w)
            c = ch[i]
            if cfg["attn"][i]:
                flops += xf(c, h, w, depth[i])
            skip.append(c)
        if i < len(ch) - 1:
            h, w = h // 2, w // 2
            flops += conv(c, c, 3, h, w)
            skip.append(c)
    flops += 2 * res(c, c, h, w) + xf(c, h, w, depth[-1])
    prev = c
    for i in range(len(ch)):
        dl = len(ch) - 1 - i
        oc = ch[dl]
        for j in range(cfg["layers"] + 1):
            flops += res((prev if j == 0 else oc) + skip.pop(), oc, h, w)
            if cfg["attn"][dl]:
                flops += xf(oc, h, w, depth[dl])
        if i < len(ch) - 1:
            h, w = h * 2, w * 2
            flops += conv(oc, oc, 3, h, w)
        prev = oc
    return flops + conv(ch[0], 4, 3, h, w)


def sd15_weights(build):
    """The random SD 1.5 UNet as a diffusers folder of F16 safetensors,
    made once and kept under build/bench."""
    d = os.path.join(build, "bench", "sd15-random", "unet")
    f = os.path.join(d, "diffusion_pytorch_model.safetensors")
    if os.path.exists(f):
        return d
    import torch
    import st_io
    import unet as ref
    log("UNet: making the random SD 1.5 weights (once; %s)" % d)
    os.makedirs(d, exist_ok=True)
    w = ref.random_weights(ref.Config(**SD15), seed=11)
    n = sum(v.numel() for v in w.values())
    assert n == SD15_PARAMS, n
    w16 = {k: w.pop(k).numpy().astype(np.float16) for k in list(w)}
    del torch
    st_io.write(f + ".tmp", w16)
    os.rename(f + ".tmp", f)
    return d


def parse_profile(text, top=10):
    """The rows of kiln's per-op profile (KILN_PROFILE: op, calls,
    seconds, %, GFLOP/s or -), biggest first."""
    rows = []
    for line in text.splitlines():
        m = re.match(r"^(\w+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)%\s+"
                     r"([\d.]+|-)\s*$", line)
        if m:
            rows.append({"op": m.group(1), "calls": int(m.group(2)),
                         "ms": round(float(m.group(3)) * 1e3, 1),
                         "share": round(float(m.group(4)) / 100, 3),
                         "gflops": None if m.group(5) == "-" else
                         float(m.group(5))})
    rows.sort(key=lambda r: -r["ms"])
    return rows[:top], text


def sdxl_weights(build):
    """The random SDXL base UNet (2.57 G parameters) as a diffusers folder
    of F16 safetensors, streamed to disk once and kept under
    build/bench."""
    d = os.path.join(build, "bench", "sdxl-random", "unet")
    f = os.path.join(d, "diffusion_pytorch_model.safetensors")
    if os.path.exists(f):
        return d
    import unet as ref
    log("SDXL: making the random SDXL UNet weights (once; %s)" % d)
    os.makedirs(d, exist_ok=True)
    cfg = ref.sdxl_config()
    with open(os.path.join(d, "config.json"), "w") as fh:
        json.dump(ref.diffusers_config(cfg), fh)
    n = ref.write_random(f + ".tmp", cfg, seed=31)
    assert n == ref.SDXL_PARAMS, n
    os.rename(f + ".tmp", f)
    return d


def unet_step(args, d, cfg, side, rng, work, peak, added=False,
              warmup=True):
    """One row: a CFG batch of 2 at side x side through kiln-render unet
    and through unet_torch.py on the same weights and inputs; SDXL's
    pooled text and time ids (side, side, 0, 0, side, side) when
    added."""
    binary = os.path.join(args.build, "render-daemon", "kiln-render")
    lat = side // 8
    files = {"x": rng.standard_normal((2, 4, lat, lat), dtype=np.float32),
             "c": rng.standard_normal((2, 77, cfg["ctx_dim"]),
                                      dtype=np.float32)}
    if added:
        files["te"] = rng.standard_normal((2, cfg["adm_in"] - 6 * 256),
                                          dtype=np.float32)
        files["ids"] = np.array([[side, side, 0, 0, side, side]] * 2,
                                np.float32)
    spec = {}
    for k, v in files.items():
        v.tofile(os.path.join(work, k))
        spec[k] = "%s=%s" % ("x".join(map(str, v.shape)),
                             os.path.join(work, k))
    ins = ["--in", spec["x"], "--ctx", spec["c"], "--t", TIMESTEPS]
    if added:
        ins += ["--text-embeds", spec["te"], "--time-ids", spec["ids"]]
    ko, to = os.path.join(work, "kiln.out"), os.path.join(work, "t.out")
    log("UNet %dx%d: kiln-render (best of %d)" % (side, side,
                                                   args.unet_repeat))
    out, _, _, k_rss = run_child(
        [binary, "unet", "--model", d] + ins +
        ["--out", ko, "--repeat", str(args.unet_repeat)],
        env=engine_env(args.build), timeout=7200)
    k = json.loads(out)
    log("UNet %dx%d: PyTorch, %d threads (best of %d)" % (
        side, side, args.threads, args.unet_repeat))
    out, _, _, t_rss = run_child(
        ["/usr/bin/python3", os.path.join(ROOT, "tools", "bench",
                                          "unet_torch.py"),
         "--model", d, "--config", json.dumps(cfg)] + ins +
        ["--out", to, "--repeat", str(args.unet_repeat), "--threads",
         str(args.threads), "--warmup", "1" if warmup else "0"],
        timeout=7200)
    t = json.loads(out)
    a, b = np.fromfile(ko, np.float32), np.fromfile(to, np.float32)
    agree = float(np.max(np.abs(a - b)) / (np.max(np.abs(b)) + 1e-12))
    flops = unet_flops(cfg, 2, lat, lat)
    gfs = flops / k["seconds"] / 1e9
    return {"size": "%dx%d" % (side, side), "batch": 2,
            "gflop": round(flops / 1e9, 1),
            "kiln_s": round(k["seconds"], 3),
            "torch_s": round(t["seconds"], 3),
            "speedup": round(t["seconds"] / k["seconds"], 3),
            "kiln_gflops": round(gfs, 1),
            "torch_gflops": round(flops / t["seconds"] / 1e9, 1),
            "kiln_of_peak": round(gfs / peak, 3) if peak else None,
            "kiln_pool_peak_mb": round(k["peak_bytes"] / 2**20),
            "kiln_rss_mb": round(k_rss / 2**20),
            "torch_rss_mb": round(t_rss / 2**20),
            "max_rel_diff": agree}


def section_unet(args, peak):
    d = sd15_weights(args.build)
    binary = os.path.join(args.build, "render-daemon", "kiln-render")
    work = tempfile.mkdtemp(prefix="kiln-bench-unet-")
    rows, profile = [], None
    rng = np.random.default_rng(12)
    for side in args.unet_sizes:
        rows.append(unet_step(args, d, SD15, side, rng, work, peak))
    if args.profile_size:
        lat = args.profile_size // 8
        x = rng.standard_normal((2, 4, lat, lat), dtype=np.float32)
        x.tofile(os.path.join(work, "x"))
        log("UNet %dx%d: kiln's per-op profile" % (args.profile_size,
                                                   args.profile_size))
        env = engine_env(args.build)
        env["KILN_PROFILE"] = "1"
        _, err, _, _ = run_child(
            [binary, "unet", "--model", d, "--in", "2x4x%dx%d=%s" % (
                lat, lat, os.path.join(work, "x")), "--ctx", "2x77x768=" +
             os.path.join(work, "c"), "--t", TIMESTEPS, "--out",
             os.path.join(work, "kiln.out")], env=env)
        top, raw = parse_profile(err)
        profile = {"size": "%dx%d" % (args.profile_size,
                                      args.profile_size),
                   "top": top, "raw": raw[-6000:]}
    subprocess.run(["rm", "-rf", work])
    return {"params": SD15_PARAMS, "threads": args.threads, "rows": rows,
            "profile": profile}


def section_sdxl(args, peak):
    """SDXL base's UNet step (one timed run each: about two minutes per
    side at 1024x1024 on two cores), with no warm-up on either side."""
    import unet as ref
    d = sdxl_weights(args.build)
    c = ref.sdxl_config()
    cfg = dict(ch=c.ch, layers=c.layers, attn=c.attn, heads=c.heads,
               ctx_dim=c.ctx_dim, groups=c.groups,
               linear_proj=c.linear_proj, depth=c.depth, adm_in=c.adm_in)
    work = tempfile.mkdtemp(prefix="kiln-bench-sdxl-")
    rng = np.random.default_rng(13)
    saved, args.unet_repeat = args.unet_repeat, 1
    try:
        rows = [unet_step(args, d, cfg, side, rng, work, peak, added=True,
                          warmup=False) for side in args.sdxl_sizes]
    finally:
        args.unet_repeat = saved
        subprocess.run(["rm", "-rf", work])
    return {"params": ref.SDXL_PARAMS, "threads": args.threads,
            "rows": rows}


# ------------------------------------------------------------ kiln-micro

def micro_render(args, n):
    binary = os.path.join(args.build, "render-daemon", "kiln-render")
    work = tempfile.mkdtemp(prefix="kiln-bench-micro-")
    pf = os.path.join(work, "prompts")
    with open(pf, "w") as f:
        for i in range(n):
            f.write(json.dumps({"prompt": PROMPTS[i % len(PROMPTS)],
                                "out": os.path.join(work, "%d.png" % i),
                                "seed": 1000 + i}) + "\n")
    _, _, secs, _ = run_child([binary, "--model", os.path.join(
        ROOT, "models", "kiln-micro"), "--prompts", pf],
        env=engine_env(args.build))
    made = sum(1 for i in range(n) if os.path.exists(
        os.path.join(work, "%d.png" % i)))
    subprocess.run(["rm", "-rf", work])
    assert made == n, (made, n)
    return {"images": n, "seconds": round(secs, 2),
            "images_per_min": round(n * 60 / secs, 1)}


def api_call(s, method, path, key, body=None):
    h = {"Authorization": "Bearer " + key}
    if body is not None:
        h["Content-Type"] = "application/json"
        body = json.dumps(body)
    r = s.request(method, path, body=body, headers=h, timeout=60)
    return r.status, (json.loads(r.body) if r.body else None)


def micro_stack(s, key, n):
    t0 = time.perf_counter()
    ids = []
    for i in range(n):
        st, j = api_call(s, "POST", "/api/v1/jobs", key, {
            "prompt": PROMPTS[i % len(PROMPTS)], "seed": 1000 + i})
        assert st == 202, (st, j)
        ids.append(j["id"])
    pending = set(ids)
    while pending:
        for jid in list(pending):
            st, j = api_call(s, "GET", "/api/v1/jobs/%d" % jid, key)
            if j["status"] == "succeeded":
                # Ready means the PNG answers.
                st2 = s.request("GET", j["images"][0]["url"], headers={
                    "Authorization": "Bearer " + key}).status
                assert st2 == 200, st2
                pending.discard(jid)
            elif j["status"] in ("failed", "canceled"):
                sys.exit("bench: job %d %s: %s" % (jid, j["status"],
                                                   j.get("error")))
        if time.perf_counter() - t0 > 600:
            sys.exit("bench: the stack's jobs did not finish in 10 min")
        time.sleep(0.05)
    secs = time.perf_counter() - t0
    return {"images": n, "seconds": round(secs, 2),
            "images_per_min": round(n * 60 / secs, 1)}


# ------------------------------------------------------------------- web

def wrk(url, seconds, conns, headers=(), script=None):
    cmd = ["wrk", "-t2", "-c%d" % conns, "-d%ds" % seconds, "--latency",
           "--timeout", "10s"]
    for h in headers:
        cmd += ["-H", h]
    if script:
        cmd += ["-s", script]
    p = subprocess.run(cmd + [url], capture_output=True, text=True,
                       timeout=seconds + 60)
    if p.returncode != 0:
        sys.exit("bench: wrk failed: %s" % p.stderr)
    out = p.stdout

    def ms(v, unit):
        return float(v) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]
    lat = {pct: ms(v, u) for pct, v, u in re.findall(
        r"^\s+(\d+)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write "
                     r"(\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + \
        (sum(int(v) for v in sock.groups()) if sock else 0)
    return {"rps": round(rps, 1), "p50_ms": lat.get("50"),
            "p99_ms": lat.get("99"), "requests": total, "errors": errors}


def program_time(s, program, method, route):
    """(count, seconds) of a route from /metrics: what the program itself
    spent, parse to answer written (loopback may read it)."""
    text = s.get("/metrics").text
    lbl = 'program="%s",method="%s",route="%s"' % (program, method, route)
    got = {}
    for name in ("count", "sum"):
        m = re.search(r"^kiln_http_request_duration_seconds_%s\{%s\} "
                      r"([\d.e+]+)$" % (name, re.escape(lbl)), text, re.M)
        got[name] = float(m.group(1)) if m else 0.0
    return got["count"], got["sum"]


def web_setup(s, uid):
    """A finished job with images for GET, a gallery of 24 images, a
    session for the gallery page."""
    import common as tj
    for k in range(12):
        s.sql("INSERT INTO jobs (user_id, status, prompt, model, width,"
              " height, steps, cfg_scale, sampler, seed, batch_count, cost,"
              " render_s, started_at, finished_at) VALUES (%d, 'succeeded',"
              " 'bench %d', 'kiln-micro', 64, 64, 20, 4, 'dpmpp_2m', %d, 2,"
              " 5, 0.5, NOW(), NOW())" % (uid, k, k))
        jid = int(s.sql("SELECT MAX(id) FROM jobs")[0][0])
        for i in range(2):
            s.sql("INSERT INTO job_images (job_id, idx, seed, path, width,"
                  " height) VALUES (%d, %d, %d, 'jobs/%d/%d-%d.png', 64,"
                  " 64)" % (jid, i, k + i, jid, jid, i))
    cookie, _ = tj.browser(s, uid)
    return jid, cookie


def section_web(args, s, key, uid):
    base = "http://127.0.0.1:%d" % s.port
    jid, cookie = web_setup(s, uid)
    static = base + "/static/kiln.css"
    lua = os.path.join(tempfile.mkdtemp(prefix="kiln-bench-wrk-"),
                       "post.lua")
    with open(lua, "w") as f:
        f.write('wrk.method = "POST"\n'
                'wrk.body = \'{"prompt": "a single blue circle on the left",'
                ' "steps": 2}\'\n'
                'wrk.headers["Content-Type"] = "application/json"\n')
    cases = [
        ("GET /api/v1/jobs/{id}", base + "/api/v1/jobs/%d" % jid,
         ["Authorization: Bearer " + key], None,
         ("api", "GET", "/api/v1/jobs/{id}")),
        ("POST /api/v1/jobs", base + "/api/v1/jobs",
         ["Authorization: Bearer " + key], lua,
         ("api", "POST", "/api/v1/jobs")),
        ("GET /gallery", base + "/gallery", ["Cookie: " + cookie], None,
         ("portal", "GET", "/gallery")),
    ]
    rows = []
    for name, url, hdrs, script, route in cases:
        log("web: %s, then the static file, %d s each" % (name,
                                                          args.web_seconds))
        n0, t0 = program_time(s, *route)
        k = wrk(url, args.web_seconds, args.conns, hdrs, script)
        n1, t1 = program_time(s, *route)
        # Of the latency, how much the program itself took (the rest is
        # lighttpd, FastCGI and waiting for a free program process).
        k["program_ms"] = round((t1 - t0) / (n1 - n0) * 1e3, 2) \
            if n1 > n0 else None
        st = wrk(static, args.web_seconds, args.conns)
        rows.append({"endpoint": name, "kiln": k, "static": st,
                     "ratio": round(k["rps"] / st["rps"], 4)})
    return {"connections": args.conns, "seconds": args.web_seconds,
            "static": "/static/kiln.css (lighttpd)", "rows": rows}


def section_stack(args):
    import harness
    import common as tj
    harness.BUILD = args.build
    s = harness.Stack(server="lighttpd", heartbeat=1, daemon_name="bench-1",
                      extra_conf="[limits]\nsubmit_burst = 100000\n"
                      "submit_per_minute = 1000000\n"
                      "[tier default]\nmax_queued = 100000\n"
                      "jobs_per_day = 10000000\n")
    log("starting a stack (MariaDB, lighttpd, kilnd) in %s" % s.dir)
    s.up()
    try:
        uid = tj.make_user(s, "bench")
        s.sql("UPDATE users SET credits = 1000000000000 WHERE id = %d" % uid)
        key = tj.make_key(s, uid, "read,generate")
        # One image first: the compiled-kernel caches are then warm for
        # the timed run, as they are for the stack's long-lived kilnd.
        micro_render(args, 1)
        log("kiln-micro: %d images through kiln-render" % args.images)
        direct = micro_render(args, args.images)
        log("kiln-micro: %d images through the stack" % args.images)
        stack = micro_stack(s, key, args.images)
        micro = {"render": direct, "stack": stack,
                 "ratio": round(stack["images_per_min"] /
                                direct["images_per_min"], 3)}
        # The web figures without a daemon competing for the CPU (the
        # POSTs only queue).
        os.kill(s.pid("kilnd"), signal.SIGTERM)
        time.sleep(1)
        web = section_web(args, s, key, uid) if "web" in args.only else None
        return micro, web
    finally:
        s.down()
        s.remove()


# ---------------------------------------------------------------- machine

VECTOR_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f",
                "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
                "amx_tile")


def machine(args):
    """The CPU, its vector extensions and the OpenCL device (with the
    engine GEMM's parameters in force) every figure of the run came from:
    figures from one machine say nothing of another."""
    cpu = {}
    with open("/proc/cpuinfo") as f:
        for line in f:
            k, _, v = line.partition(":")
            k, v = k.strip(), v.strip()
            if k in ("model name", "cpu family", "model", "flags") and \
                    k not in cpu:
                cpu[k] = v
    flags = set(cpu.get("flags", "").split())
    out = {"cpu": cpu.get("model name", "?"),
           "cpu_family": cpu.get("cpu family"), "cpu_model": cpu.get("model"),
           "vector": [f for f in VECTOR_FLAGS if f in flags],
           "cores": gemm.CORES}
    binary = os.path.join(args.build, "render-daemon", "kiln-render")
    p = subprocess.run([binary, "bench-gemm", "--json", "--shapes", "8x8x8",
                        "--repeat", "1"], capture_output=True, text=True,
                       env=engine_env(args.build))
    if p.returncode == 0:
        j = json.loads(p.stdout)
        out.update(device=j["device"], driver=j["driver"],
                   platform=j["platform"], engine_gemm=j["engine_gemm"],
                   gemm_tuned=j["engine_gemm_tuned"],
                   tuning=j["tuning"]["state"])
    return out


def machine_line(m):
    return ("machine: %s (family %s model %s), %d cores; vector %s; "
            "OpenCL %s (%s %s); engine GEMM %s (%s)" % (
                m["cpu"], m["cpu_family"], m["cpu_model"], m["cores"],
                " ".join(m["vector"]) or "none", m.get("device", "?"),
                m.get("platform", "?"), m.get("driver", "?"),
                m.get("engine_gemm", "?"),
                "tuned" if m.get("gemm_tuned") else
                "device default, tuning file: %s" % m.get("tuning", "?")))


# ----------------------------------------------------------------- report

def table(res):
    out = [machine_line(res["machine"])] if res.get("machine") else []
    g = res.get("gemm")
    if g:
        out.append("GEMM (GFLOP/s, best call of %d rounds of %d on each "
                   "side; peak = OpenBLAS best = %.1f)" % (
                       g.get("rounds", 1), g.get("repeat", 5),
                       g["peak_gflops"]))
        out.append("  %-22s %10s %10s %8s" % ("M x N x K", "OpenBLAS",
                                             "kiln", "ratio"))
        for r in g["rows"]:
            out.append("  %-22s %10.1f %10.1f %8.2f" % (
                r["shape"], r["openblas_gflops"], r["kiln_gflops"],
                r["ratio"]))
    def steps(title, u):
        out.append("UNet step, %s, batch 2 (s/step; PyTorch %d threads)" %
                   (title, u["threads"]))
        out.append("  %-9s %7s %8s %8s %8s %8s %7s %9s %9s %8s" % (
            "size", "GFLOP", "kiln", "torch", "speedup", "kGFLOP/s",
            "of peak", "kiln RSS", "torch RSS", "rel diff"))
        for r in u["rows"]:
            out.append("  %-9s %7.0f %8.2f %8.2f %8.2f %8.1f %7.2f %7d MB "
                       "%6d MB %8.1e" % (
                           r["size"], r["gflop"], r["kiln_s"], r["torch_s"],
                           r["speedup"], r["kiln_gflops"],
                           r["kiln_of_peak"] or 0, r["kiln_rss_mb"],
                           r["torch_rss_mb"], r["max_rel_diff"]))
    u = res.get("unet")
    if u:
        steps("SD 1.5 config", u)
        if u.get("profile"):
            out.append("  kiln per-op profile at %s (top):" %
                       u["profile"]["size"])
            for r in u["profile"]["top"]:
                out.append("    %-20s %6d calls %9.1f ms %5.1f%%%s" % (
                    r["op"], r["calls"], r["ms"], 100 * r["share"],
                    "  %.1f GFLOP/s" % r["gflops"] if r["gflops"]
                    else ""))
    if res.get("sdxl"):
        steps("SDXL base config, F16 weights", res["sdxl"])
    m = res.get("micro")
    if m:
        out.append("kiln-micro 64x64, model defaults (images/min)")
        out.append("  kiln-render %.1f   whole stack %.1f   ratio %.2f" % (
            m["render"]["images_per_min"], m["stack"]["images_per_min"],
            m["ratio"]))
    v = res.get("vae")
    if v:
        t = v["torch"]
        out.append("VAE decode 512x512, SD's shape, random weights, whole "
                   "(wall s, best of 2 after a warm-up)")
        out.append("  kiln %.2f s, RSS %d MB   PyTorch %.2f s, RSS %d MB   "
                   "%.2fx faster; max diff %.1e of the scale" % (
                       t["kiln_s"], t["kiln_rss_mb"], t["torch_s"],
                       t["torch_rss_mb"], t["speedup"],
                       t["max_rel_diff"]))
        out.append("VAE, SD's shape, random weights (CPU s = user + "
                   "system; held = device MB beyond the weights)")
        out.append("  %-16s %9s %9s %7s %10s %10s %9s %9s" % (
            "", "untiled", "%d MB" % v["budget_mb"], "ratio",
            "held", "held", "mean diff", "max diff"))
        for r in v["rows"]:
            out.append("  %-16s %8.1fs %8.1fs %7.2f %7.0f MB %7.0f MB "
                       "%9.4f %9.4f" % (
                           r["case"], r["untiled_cpu_s"], r["tiled_cpu_s"],
                           r["ratio"], r["untiled_held_mb"],
                           r["tiled_held_mb"], r["mean_diff"],
                           r["max_diff"]))
        b = v["big"]
        out.append("  decode 2048x2048, quarter-width VAE, within %d MB: "
                   "%.1f s CPU, %.0f MB held; per pixel %.2fx its untiled "
                   "512x512 (%.1f s, %.0f MB)" % (
                       b["budget_mb"], b["cpu_s"], b["held_mb"],
                       b["per_pixel_ratio"], b["untiled_512_cpu_s"],
                       b["untiled_512_held_mb"]))
    if res.get("images"):
        out.append(images.table(res["images"]))
    w = res.get("web")
    if w:
        out.append("Web, wrk %d connections %d s (req/s, p50/p99 ms, "
                   "errors) vs lighttpd static" % (w["connections"],
                                                   w["seconds"]))
        for r in w["rows"]:
            k, st = r["kiln"], r["static"]
            out.append("  %-22s %8.1f %7.2f/%-7.2f %3d | static %8.1f "
                       "%6.2f/%-6.2f %3d | ratio %.3f" % (
                           r["endpoint"], k["rps"], k["p50_ms"] or 0,
                           k["p99_ms"] or 0, k["errors"], st["rps"],
                           st["p50_ms"] or 0, st["p99_ms"] or 0,
                           st["errors"], r["ratio"]))
            out.append("  %-22s (%.2f ms of each in the program itself, "
                       "from /metrics)" % ("", k["program_ms"] or 0))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--only",
                    default="gemm,unet,sdxl,micro,web,vae,images")
    ap.add_argument("--images-budget-mb", type=int, default=256)
    ap.add_argument("--vae-budget-mb", type=int, default=512)
    ap.add_argument("--vae-big-budget-mb", type=int, default=256)
    ap.add_argument("--gemm-repeat", type=int, default=5)
    ap.add_argument("--gemm-rounds", type=int, default=3)
    ap.add_argument("--unet-sizes", default="256,512")
    ap.add_argument("--unet-repeat", type=int, default=2)
    ap.add_argument("--sdxl-sizes", default="1024")
    ap.add_argument("--profile-size", type=int, default=256,
                    help="0: no per-op profile")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--images", type=int, default=12)
    ap.add_argument("--web-seconds", type=int, default=8)
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results",
                                                  "latest.json"))
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    args.only = set(args.only.split(","))
    args.unet_sizes = [int(v) for v in args.unet_sizes.split(",") if v]
    args.sdxl_sizes = [int(v) for v in args.sdxl_sizes.split(",") if v]
    t0 = time.time()
    res = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "cores": gemm.CORES, "machine": machine(args)}
    log(machine_line(res["machine"]))
    if "gemm" in args.only:
        res["gemm"] = section_gemm(args)
    peak = res.get("gemm", {}).get("peak_gflops")
    if ("unet" in args.only or "sdxl" in args.only) and peak is None:
        best = max(gemm.bench_numpy(gemm.parse_shape(s), 3)[0]
                   for s in gemm.DEFAULT_SHAPES.split(","))
        peak = round(best, 1)
    if "unet" in args.only:
        res["unet"] = section_unet(args, peak)
    if "sdxl" in args.only:
        res["sdxl"] = section_sdxl(args, peak)
    if "vae" in args.only:
        res["vae"] = section_vae(args)
    if "images" in args.only:
        res["images"] = images.section_images(args,
                                              engine_env(args.build))
    if "micro" in args.only or "web" in args.only:
        res["micro"], res["web"] = section_stack(args)
        if "micro" not in args.only:
            del res["micro"]
    res["seconds"] = round(time.time() - t0, 1)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    print(table(res))
    print("(%.0f s; %s)" % (res["seconds"], os.path.relpath(args.out,
                                                            ROOT)))


if __name__ == "__main__":
    main()
