"""The CLIP text encoder on PoCL against the PyTorch reference
(tools/reference/clip.py), on small random-weight models in every layout
the loader accepts: diffusers folder (config.json), SD 1.x single file,
SD 2.x single file (OpenCLIP names, GELU, penultimate layer), F16 and BF16
weights. Tolerance: max abs error <= 1e-4 of the output's scale."""

import json
import os
import shutil
import tempfile

import numpy as np
import torch

import engine_common as ec
import harness
import clip as ref
import st_io

STACK = None
TOL = 1e-4
WORK = tempfile.mkdtemp(prefix="kiln-clip-")


def encode(model, ids=None, prompt=None, vocab=None, extra=()):
    out = os.path.join(WORK, "out.bin")
    if os.path.exists(out):
        os.unlink(out)
    args = ["encode-text", "--model", model, "--out", out]
    if ids is not None:
        args += ["--ids", ";".join(",".join(str(int(t)) for t in row)
                                   for row in ids.tolist())]
    else:
        args += ["--prompt", prompt, "--vocab", vocab]
    p = ec.kiln_render(args + list(extra))
    assert p.returncode == 0, p.stderr
    info = json.loads(p.stdout)
    got = np.fromfile(out, dtype=np.float32).reshape(info["shape"])
    return torch.from_numpy(got), info


def random_ids(vocab, B=2, L=77, seed=7):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab, (B, L), generator=g)


def check(got, want, what):
    err = ec.rel_err(got, want)
    assert err <= TOL, "%s: relative error %.3g > %g" % (what, err, TOL)


def test_diffusers_folder_with_config(_):
    w = ref.random_weights(1000, 64, 3, 256, 77, seed=1)
    d = os.path.join(WORK, "diffusers", "text_encoder")
    os.makedirs(d)
    st_io.write(os.path.join(d, "model.safetensors"), ref.as_numpy(w))
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump({"hidden_size": 64, "intermediate_size": 256,
                   "num_attention_heads": 4, "num_hidden_layers": 3,
                   "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5,
                   "max_position_embeddings": 77, "vocab_size": 1000}, f)
    ids = random_ids(1000)
    got, info = encode(os.path.dirname(d), ids)
    assert info["shape"] == [2, 77, 64] and info["layers_run"] == 3
    check(got, ref.forward(w, ids, heads=4), "diffusers folder")


def test_failed_allocations_give_their_memory_back(_):
    # Each device allocation fails in turn (--fail-each-alloc): every
    # failed encoding frees all it took.
    w = ref.random_weights(300, 32, 2, 64, 77, seed=9)
    d = os.path.join(WORK, "walk", "text_encoder")
    os.makedirs(d)
    st_io.write(os.path.join(d, "model.safetensors"), ref.as_numpy(w))
    got, info = encode(os.path.dirname(d), random_ids(300, B=1, L=8),
                       extra=["--fail-each-alloc"])
    assert info["shape"] == [1, 8, 32], info


def test_sd1_single_file(_):
    w = ref.random_weights(500, 128, 2, 512, 77, seed=2)
    path = os.path.join(WORK, "sd1.safetensors")
    st = {"cond_stage_model.transformer." + k: v
          for k, v in ref.as_numpy(w).items()}
    st["model.diffusion_model.out.2.bias"] = np.zeros(4, np.float32)
    st_io.write(path, st)
    ids = random_ids(500, B=1, L=20)
    got, _ = encode(path, ids)
    # No config: 128 channels at 64 per head make 2 heads.
    check(got, ref.forward(w, ids, heads=2), "SD 1.x single file")


def test_sd2_single_file_openclip_penultimate(_):
    w = ref.random_weights(500, 128, 3, 512, 77, seed=3)
    path = os.path.join(WORK, "sd2.safetensors")
    st = {"cond_stage_model.model." + k: v.numpy().astype(np.float32)
          for k, v in ref.to_openclip(w).items()}
    st_io.write(path, st)
    ids = random_ids(500, B=2, L=77, seed=9)
    got, info = encode(path, ids)
    assert info["layers_run"] == 2
    check(got, ref.forward(w, ids, heads=2, act="gelu", skip=1),
          "SD 2.x single file")
    # --skip 0 runs the last layer too.
    got, info = encode(path, ids, extra=["--skip", "0"])
    assert info["layers_run"] == 3
    check(got, ref.forward(w, ids, heads=2, act="gelu", skip=0),
          "SD 2.x single file, all layers")


def test_f16_and_bf16_weights(_):
    w = ref.random_weights(300, 128, 2, 256, 77, seed=4)
    ids = random_ids(300, B=1, L=33, seed=5)
    # F16: the reference runs on the same rounded weights.
    w16 = {k: torch.from_numpy(v.numpy().astype(np.float16)
                               .astype(np.float32)) for k, v in w.items()}
    path = os.path.join(WORK, "f16.safetensors")
    st_io.write(path, {"cond_stage_model.transformer." + k:
                       v.numpy().astype(np.float16) for k, v in w.items()})
    got, _ = encode(path, ids)
    check(got, ref.forward(w16, ids, heads=2), "F16 weights")
    bits = {k: st_io.to_bf16_bits(v.numpy()) for k, v in w.items()}
    wbf = {k: torch.from_numpy(st_io.bf16_to_f32(b)) for k, b in
           bits.items()}
    path = os.path.join(WORK, "bf16.safetensors")
    st_io.write(path, {"cond_stage_model.transformer." + k: ("BF16", b)
                       for k, b in bits.items()})
    got, _ = encode(path, ids)
    check(got, ref.forward(wbf, ids, heads=2), "BF16 weights")


def test_prompt_through_the_tokenizer(_):
    ref_dir = os.path.join(harness.ROOT, "tests", "data", "clip")
    with open(os.path.join(ref_dir, "clip_tokenizer_cases.json")) as f:
        cases = json.load(f)["cases"]
    c = next(c for c in cases if c["text"].startswith("a photograph"))
    w = ref.random_weights(49408, 64, 1, 128, 77, seed=6)
    d = os.path.join(WORK, "vocab-model", "text_encoder")
    os.makedirs(d)
    st_io.write(os.path.join(d, "model.safetensors"), ref.as_numpy(w))
    # SD 1.x window: start, tokens, end, then the end token as padding.
    ids = [49406] + c["ids"] + [49407] * (77 - 1 - len(c["ids"]))
    got, _ = encode(d, prompt=c["text"],
                    vocab=os.path.join(ref_dir, "hf"))
    want = ref.forward(w, torch.tensor([ids]), heads=1)
    check(got, want, "prompt")


def test_clear_errors(_):
    w = ref.random_weights(100, 64, 2, 128, 77, seed=8)
    np_w = ref.as_numpy(w)
    del np_w["text_model.encoder.layers.1.mlp.fc2.bias"]
    path = os.path.join(WORK, "broken.safetensors")
    st_io.write(path, {"cond_stage_model.transformer." + k: v
                       for k, v in np_w.items()})
    p = ec.kiln_render(["encode-text", "--model", path, "--ids", "1,2,3",
                        "--out", os.path.join(WORK, "x.bin")])
    assert p.returncode == 1
    assert "text_model.encoder.layers.1.mlp.fc2.bias is missing" in \
        p.stderr, p.stderr
    ok = os.path.join(WORK, "ok.safetensors")
    st_io.write(ok, {"cond_stage_model.transformer." + k: v
                     for k, v in ref.as_numpy(w).items()})
    p = ec.kiln_render(["encode-text", "--model", ok, "--ids", "1,100,3",
                        "--out", os.path.join(WORK, "x.bin")])
    assert p.returncode == 1
    assert "token id 100 outside the vocabulary of 100" in p.stderr, \
        p.stderr
    p = ec.kiln_render(["encode-text", "--model", ok, "--ids",
                        ",".join(["1"] * 78),
                        "--out", os.path.join(WORK, "x.bin")])
    assert p.returncode == 1 and "at most 77 positions" in p.stderr
    shutil.rmtree(WORK, ignore_errors=True)
