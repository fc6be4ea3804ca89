"""SDXL end to end (`kiln-render render`): a small random-weight model of
the SDXL shape (CLIP-L and bigG text encoders, a UNet with levels without
attention, stacked transformer blocks and the text_time conditioning, a
VAE with SDXL's scaling factor 0.13025) as a diffusers folder and as an
SGM single file, against a float64 Python pipeline built from the
references (sdxl.py, unet.py, vae.py, samplers.py's Euler with kiln's
RNG): both encoders' penultimate states as the context, bigG's pooled
output and the time ids (H, W, 0, 0, H, W) as the added conditioning, an
empty negative prompt as zeros, as A1111 and diffusers do. Tolerance as
test_pipeline's: mean |pixel difference| <= 1, max <= 4."""

import hashlib
import json
import os
import shutil
import tempfile

import numpy as np
import torch

import engine_common as ec
import harness
import lora
import samplers as sref
import sdxl
import unet as unet_ref
import vae as vae_ref

STACK = None
WORK = tempfile.mkdtemp(prefix="kiln-pipeline-sdxl-")
FOLDER = os.path.join(WORK, "tiny-xl")
SINGLE = os.path.join(WORK, "tiny-xl.safetensors")
VOCAB = os.path.join(harness.ROOT, "models", "clip")
SEED = 40
CFGS = sdxl.tiny_configs()
P = {}


def build():
    """Writes both forms of the model once per run."""
    if P:
        return
    sdxl.write_diffusers(FOLDER, CFGS, seed=SEED, dtype=np.float32)
    d = os.path.join(FOLDER, "scheduler")
    os.makedirs(d)
    with open(os.path.join(d, "scheduler_config.json"), "w") as f:
        json.dump({"_class_name": "EulerDiscreteScheduler",
                   "beta_start": 0.00085, "beta_end": 0.012,
                   "beta_schedule": "scaled_linear",
                   "num_train_timesteps": 1000,
                   "prediction_type": "epsilon"}, f)
    sdxl.write_single_file(SINGLE, CFGS, seed=SEED, dtype=np.float32)
    P.update(sdxl.random_parts(CFGS, seed=SEED))


def tokenize(text):
    p = ec.kiln_render(["tokenize", "--vocab", VOCAB, "--", text])
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def render(model, out, prompt, extra=()):
    p = ec.kiln_render(["render", "--model", model, "--vocab", VOCAB,
                        "--prompt", prompt, "--negative", "",
                        "--width", "80", "--height", "64", "--steps", "5",
                        "--cfg", "5", "--sampler", "euler",
                        "--seed", "77", "-o", out] + list(extra),
                       timeout=900)
    assert p.returncode == 0, "exit %d: %s" % (p.returncode, p.stderr)
    return json.loads(p.stdout.strip().splitlines()[-1])


def ref_generate(prompt, seed, steps, cfg, H, Wd):
    toks = tokenize(prompt)
    il = torch.tensor([sdxl.prompt_ids(toks, sdxl.PAD_L)])
    ig = torch.tensor([sdxl.prompt_ids(toks, sdxl.PAD_G)])
    ctx, pooled = sdxl.encode(P["L"], P["G"], il, ig, L=CFGS["L"],
                              G=CFGS["G"])
    # The empty negative prompt: zeros, context and pooled alike.
    ctx = torch.cat([torch.zeros_like(ctx), ctx])
    pooled = torch.cat([torch.zeros_like(pooled), pooled])
    ids = sdxl.time_ids((H, Wd), (0, 0), (H, Wd)).repeat(2, 1)
    ucfg, vcfg = CFGS["unet"], CFGS["vae"]
    y = unet_ref.add_embeds(pooled, ids, ucfg.time_ids_dim)
    f = 2 ** (len(vcfg["block_out_channels"]) - 1)
    shape = (1, 4, H // f, Wd // f)
    sched = sref.Schedule()

    def model(x_in, t):
        x = torch.from_numpy(np.asarray(x_in).reshape(shape)).double()
        o = unet_ref.forward(P["unet"], ucfg, torch.cat([x, x]),
                             torch.tensor([t, t], dtype=torch.float64),
                             ctx, y=y)
        return (o[0] + cfg * (o[1] - o[0])).reshape(-1).numpy()

    x = sref.KilnRng(seed).normal(int(np.prod(shape))).astype(np.float64)
    sigmas = sched.get_sigmas(steps)
    den = sref.Denoiser(sched, model)
    x = sref.sample_euler(den, x * sigmas[0], sigmas, lambda i: False)
    z = torch.from_numpy(x.reshape(shape)) / vcfg["scaling_factor"]
    img = vae_ref.decode(P["vae"], vcfg, z)[0]
    img = ((img + 1) / 2).clamp(0, 1).permute(1, 2, 0).numpy()
    return np.rint(img * 255).astype(np.uint8), len(den.calls)


def test_sdxl_folder_matches_reference_pipeline(_):
    build()
    out = os.path.join(WORK, "folder.png")
    info = render(FOLDER, out, "a lighthouse at dusk")
    assert info["files"] == [out], info
    want, calls = ref_generate("a lighthouse at dusk", 77, 5, 5.0, 64, 80)
    assert calls == 5
    ec.close_to(ec.png_pixels(out), want, "SDXL txt2img euler cfg 5")
    par = ec.png_parameters(out)
    assert "Size: 80x64" in par and "Seed: 77" in par, par
    # The summary says what the model is, as /api/v1/models does.
    assert info["model"]["type"] == "sdxl", info
    assert info["model"]["native_size"] == 1024, info
    assert info["model"]["defaults"]["width"] == 1024, info


def test_sdxl_single_file_gives_the_folders_image(_):
    build()
    a, b = os.path.join(WORK, "folder.png"), os.path.join(WORK, "single.png")
    if not os.path.exists(a):
        render(FOLDER, a, "a lighthouse at dusk")
    render(SINGLE, b, "a lighthouse at dusk")
    assert np.array_equal(ec.png_pixels(a), ec.png_pixels(b))
    # And the prompt reaches the image through both encoders.
    c = os.path.join(WORK, "other.png")
    render(SINGLE, c, "a red bicycle")
    assert not np.array_equal(ec.png_pixels(b), ec.png_pixels(c))


def test_sdxl_render_takes_loras_on_both_encoders_and_the_unet(_):
    # An sd-scripts SDXL LoRA (lora_te1_, lora_te2_ on bigG's packed
    # q/k/v, lora_unet_ under SGM names) through render --lora: the
    # image changes, the parameters name it, and without the flag the
    # model renders its own image again.
    build()
    layout = lora.sdxl_layout(CFGS["unet"], CFGS["L"], CFGS["G"])
    sd = lora.random_kohya(layout, rank=2, seed=8)
    assert {k.split("_")[1] for k in sd} >= {"te1", "te2", "unet"}
    lp = os.path.join(WORK, "xl-style.safetensors")
    lora.save(lp, sd)
    a, b = os.path.join(WORK, "plain.png"), os.path.join(WORK, "lora.png")
    render(SINGLE, a, "a lighthouse at dusk")
    render(SINGLE, b, "a lighthouse at dusk", ["--lora", lp + ":0.8"])
    assert not np.array_equal(ec.png_pixels(a), ec.png_pixels(b))
    # As an A1111 image records it: the tag in the prompt, the LoRA's
    # kohya hash (the data after the header) and the checkpoint's.
    par = ec.png_parameters(b)
    with open(lp, "rb") as f:
        data = f.read()
    addnet = hashlib.sha256(data[8 + int.from_bytes(data[:8], "little"):])
    with open(SINGLE, "rb") as f:
        model = hashlib.sha256(f.read()).hexdigest()[:10]
    assert par.startswith("a lighthouse at dusk <lora:xl-style:0.8>\n"), par
    assert "Model hash: %s, Model: tiny-xl" % model in par, par
    assert 'Lora hashes: "xl-style: %s"' % addnet.hexdigest()[:12] in par, \
        par
    shutil.rmtree(WORK, ignore_errors=True)
