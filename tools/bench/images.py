"""images.py - make bench's "images" section: the issue's big-image work
within a memory budget, each with the peak device memory kiln held (the
runtime's pool, weights included) against the budget, and a PyTorch peer
where one exists:

  1. Tiled upscaling 512 -> 2048: a compact SRVGGNet of
     realesr-general-x4v3's size (64 features, 32 convs) and an RRDBNet of
     RealESRGAN x4plus's (64 features, 23 blocks; 128 -> 512, its cost is
     ~100x SRVGGNet's per pixel), random weights, through `kiln-render
     upscale --budget`, next to the float32 reference
     (tools/reference/upscalers.py, the threads run.py gives it) on the
     whole image, both 8-bit: seconds of the network alone (kiln's
     "seconds", torch's forward), kiln's speedup, the largest difference
     in levels.
  2. The hires fix to 2048x2048: kiln-micro at 1024x1024, enlarged by 2
     with Lanczos, a second pass at 2048x2048 (cfg 1, one step), every VAE
     pass tiled within the budget. No PyTorch peer: kiln's pipeline is its
     own (test_pipeline holds it to a float64 reference at 64x64).
  3. Outpainting a 2048x2048 image by 256 pixels on the right with "only
     masked": the strip's box rendered at 192x1024 and pasted back; the
     canvas never goes through the UNet or the VAE whole. No peer.

CPU seconds are the children's user + system time (the machine is shared),
the peak RSS from wait4."""

import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "reference"))
sys.path.insert(0, os.path.join(ROOT, "tests", "engine"))

TORCH_UPSCALE = r"""
import sys, time, numpy as np, torch
sys.path.insert(0, %(ref)r)
import st_io, upscalers
torch.set_num_threads(%(threads)d)
sd = {k: torch.from_numpy(np.array(v, dtype=np.float32))
      for k, v in st_io.read(%(model)r)[0].items()}
x = torch.from_numpy(np.load(%(inp)r)).float()
t0 = time.perf_counter()
with torch.no_grad():
    y = (upscalers.srvgg(sd, x, torch.float32) if %(fn)r == "srvgg" else
         upscalers.rrdbnet(sd, x, 4, torch.float32))
secs = time.perf_counter() - t0
y = (y.clamp(0, 1) * 255).round().to(torch.uint8)[0].permute(1, 2, 0)
np.save(%(out)r, y.numpy())
print(secs)
"""


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def timed(cmd, env=None):
    """Runs cmd: (stdout, stderr, wall s, CPU s, peak RSS bytes), the
    last two of that child alone (wait4)."""
    out_f, err_f = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=out_f, stderr=err_f, env=env)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    out_f.seek(0)
    err_f.seek(0)
    out = out_f.read().decode(errors="replace")
    err = err_f.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("bench: %s failed:\n%s" % (" ".join(cmd), err[-3000:]))
    return out, err, wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024


def smooth_image(rng, side):
    """A photo-like RGB8 image: smooth colour fields with some edges."""
    small = rng.uniform(0, 255, (side // 32 + 1, side // 32 + 1, 3))
    img = np.kron(small, np.ones((32, 32, 1)))[:side, :side]
    k = np.ones(9) / 9
    for ax in (0, 1):
        img = np.apply_along_axis(lambda v: np.convolve(v, k, "same"), ax,
                                  img)
    img += rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def upscaler_file(work, name, make):
    f = os.path.join(work, name + ".safetensors")
    if not os.path.exists(f):
        import st_io
        sd = make()
        st_io.write(f, {k: v.numpy().astype(np.float16)
                        for k, v in sd.items()})
    return f


def upscale_row(args, env, work, name, model, fn, side, budget_mb, rng):
    from test_pipeline import write_png
    import engine_common as ec
    binary = os.path.join(args.build, "render-daemon", "kiln-render")
    img = smooth_image(rng, side)
    inp = os.path.join(work, "up-in.png")
    write_png(inp, img)
    out = os.path.join(work, "up-out.png")
    log("images: %s %d -> %d within %d MB" % (name, side, 4 * side,
                                              budget_mb))
    o, _, wall, cpu, rss = timed([binary, "upscale", "--in", inp, "--scale",
                                  "4", "--upscaler", model, "--budget",
                                  str(budget_mb), "-o", out], env)
    info = json.loads(o.strip().splitlines()[-1])
    got = ec.png_pixels(out).astype(int)
    np.save(os.path.join(work, "up-in.npy"),
            (img.astype(np.float32) / 255).transpose(2, 0, 1)[None])
    script = os.path.join(work, "torch_up.py")
    with open(script, "w") as f:
        f.write(TORCH_UPSCALE % {
            "ref": os.path.join(ROOT, "tools", "reference"),
            "threads": args.threads, "model": model,
            "inp": os.path.join(work, "up-in.npy"), "fn": fn,
            "out": os.path.join(work, "up-torch.npy")})
    log("images: %s, PyTorch float32 on the whole image" % name)
    to, _, twall, tcpu, trss = timed(["/usr/bin/python3", script], env)
    want = np.load(os.path.join(work, "up-torch.npy")).astype(int)
    d = np.abs(got - want)
    return {"case": name, "input": "%dx%d" % (side, side),
            "output": "%dx%d" % (info["width"], info["height"]),
            "budget_mb": budget_mb,
            "kiln_cpu_s": round(cpu, 1), "kiln_wall_s": round(wall, 1),
            "kiln_s": round(info["seconds"], 1),
            "kiln_held_mb": round(info["peak_bytes"] / 1048576, 1),
            "kiln_rss_mb": round(rss / 1048576),
            "torch_s": round(float(to.strip().splitlines()[-1]), 1),
            "torch_cpu_s": round(tcpu, 1),
            "torch_rss_mb": round(trss / 1048576),
            "mean_level_diff": round(float(d.mean()), 3),
            "max_level_diff": int(d.max())}


def render_row(args, env, name, argv, budget_mb):
    binary = os.path.join(args.build, "render-daemon", "kiln-render")
    log("images: %s" % name)
    o, e, wall, cpu, rss = timed([binary, "render", "--verbose",
                                  "--vae-budget", str(budget_mb)] + argv,
                                 env)
    info = json.loads(o.strip().splitlines()[-1])
    return {"case": name, "output": "%dx%d" % (info["width"],
                                               info["height"]),
            "budget_mb": budget_mb, "cpu_s": round(cpu, 1),
            "wall_s": round(wall, 1),
            "held_mb": round(info["peak_bytes"] / 1048576, 1),
            "rss_mb": round(rss / 1048576),
            "unet_s": round(info["timings"]["unet_s"], 1),
            "vae_s": round(info["timings"]["vae_s"], 1)}


def section_images(args, env):
    import upscalers
    from test_pipeline import write_png
    work = os.path.join(args.build, "bench-images")
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(11)
    res = {"rows": [], "renders": []}
    vgg = upscaler_file(work, "srvgg-general-x4", lambda: upscalers
                        .srvgg_weights(num_feat=64, num_conv=32, scale=4,
                                       seed=1))
    rrdb = upscaler_file(work, "rrdb-x4plus", lambda: upscalers
                         .rrdbnet_weights(num_feat=64, num_block=23,
                                          num_grow_ch=32, scale=4, seed=2))
    budget = args.images_budget_mb
    res["rows"].append(upscale_row(args, env, work, "SRVGGNet x4", vgg,
                                   "srvgg", 512, budget, rng))
    res["rows"].append(upscale_row(args, env, work, "RRDBNet x4plus", rrdb,
                                   "rrdbnet", 128, budget, rng))
    micro = os.path.join(ROOT, "models", "kiln-micro")
    prompt = "a red circle on a blue background"
    res["renders"].append(render_row(
        args, env, "hires fix 1024 -> 2048 (kiln-micro, Lanczos)",
        ["--model", micro, "--prompt", prompt, "--seed", "3", "--width",
         "1024", "--height", "1024", "--steps", "2", "--cfg", "1",
         "--hires-scale", "2", "--hires-strength", "0.5",
         "--hires-upscaler", "lanczos", "-o",
         os.path.join(work, "hires.png")], budget))
    big = os.path.join(work, "outpaint-in.png")
    write_png(big, smooth_image(rng, 2048))
    res["renders"].append(render_row(
        args, env, "outpaint 2048x2048 right:256 (only masked, 192x1024)",
        ["--model", micro, "--prompt", prompt, "--seed", "4", "--init",
         big, "--outpaint", "right:256", "--only-masked", "--width", "192",
         "--height", "1024", "--steps", "8", "--strength", "0.9", "-o",
         os.path.join(work, "outpaint.png")], budget))
    return res


def table(res):
    out = ["Images (memory budget %d MB; held = kiln's peak device bytes, "
           "weights included)" % res["rows"][0]["budget_mb"]]
    out.append("  %-16s %-17s %8s %8s %9s %8s %9s %9s %10s" % (
        "upscaler", "size", "kiln s", "torch s", "kiln held", "kiln RSS",
        "torch RSS", "speedup", "max diff"))
    for r in res["rows"]:
        out.append("  %-16s %-17s %7.1fs %7.1fs %6.1f MB %5d MB %6d MB "
                   "%9.2f %6d/255" % (
                       r["case"], r["input"] + "->" + r["output"],
                       r["kiln_s"], r["torch_s"], r["kiln_held_mb"],
                       r["kiln_rss_mb"], r["torch_rss_mb"],
                       r["torch_s"] / max(r["kiln_s"], 1e-9),
                       r["max_level_diff"]))
    for r in res["renders"]:
        out.append("  %-52s %s: %6.1f s CPU (%5.1f wall; unet %5.1f, vae "
                   "%5.1f), held %6.1f MB, RSS %4d MB" % (
                       r["case"], r["output"], r["cpu_s"], r["wall_s"],
                       r["unet_s"], r["vae_s"], r["held_mb"], r["rss_mb"]))
    return "\n".join(out)
