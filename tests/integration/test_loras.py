"""LoRAs, embeddings and model facts end to end, behind lighttpd with a
running kilnd: /api/v1/models reports each model's type, native size,
defaults and hash and lists the LoRAs and embeddings with their base
family (a bad file with why); /sdapi/v1/loras and /sdapi/v1/embeddings
answer in AUTOMATIC1111's shapes; a job names LoRAs in its "loras" field
or as <lora:NAME:W> in its prompt (kept as typed), an unknown or
mismatched one is a 422 naming the field; the daemon renders with them
(merged into the model, taken off again for the next job without them,
which renders the very pixels it did before) and fails a job whose LoRA
does not fit the model, saying why, and goes on serving; an image's
parameters carry AUTOMATIC1111's Model hash, computed here with hashlib
over the model file.

The fixtures are made here: a tiny single-file model from the reference
implementations (tools/reference), LoRAs from lora.py (random_kohya,
kohya_to_peft) and by hand, embeddings from textual_inversion.py. Each
test makes its own user and key."""

import json
import os
import re
import subprocess
import sys

import harness
from common import (api, browser, error_of, file_sha256, is_json,
                    models_with_micro, one, png_decode, png_parameters,
                    post_form, rendered, submit, user_with_key, wait_job)

sys.path.insert(0, os.path.join(harness.ROOT, "tools", "reference"))

STACK = dict(server="lighttpd", daemon_name="loras-1",
             models=lambda d: make_models(d),
             extra_conf="[limits]\nsubmit_burst = 100000\n"
                        "[engine]\nclip_vocab = %s\n" %
                        os.path.join(harness.ROOT, "models", "clip"))

# The sshs_model_hash of the LoRA "meta": A1111 takes it for the hash.
META_HASH = "d" * 8 + "0123456789abcdef" * 3 + "c" * 8
MODELS = {}


def tiny_single_file(path):
    """The SD-shaped model of tests/engine/test_pipeline.py as one file:
    32-group UNet and VAE, a 64-wide text encoder (a context no family
    has, so its type is unknown)."""
    import clip as clip_ref
    import st_io
    import unet as unet_ref
    import vae as vae_ref
    cw = clip_ref.random_weights(49408, 64, 2, 128, 77, seed=21)
    ucfg = unet_ref.Config(ch=(32, 64), layers=1, attn=(True, False),
                           heads=1, ctx_dim=64, groups=32)
    uw = unet_ref.random_weights(ucfg, seed=22)
    vcfg = vae_ref.config((32, 64), layers=1, latent=4, groups=32)
    vw = vae_ref.random_weights(vcfg, seed=23)
    st = {"cond_stage_model.transformer." + k: v
          for k, v in clip_ref.as_numpy(cw).items()}
    st.update({"model.diffusion_model." + k: v.numpy()
               for k, v in unet_ref.to_ldm(uw, ucfg).items()})
    st.update({"first_stage_model." + k: v for k, v in
               vae_ref.as_numpy(vae_ref.to_ldm(vw, vcfg)).items()})
    st_io.write(path, st)
    return ucfg


def make_models(stack_dir):
    import numpy as np
    import lora
    import st_io
    import textual_inversion as ti
    root = models_with_micro(stack_dir)
    ucfg = tiny_single_file(os.path.join(root, "sd-tiny.safetensors"))
    MODELS["sd-tiny"] = os.path.join(root, "sd-tiny.safetensors")
    z = lambda *s: np.zeros(s, dtype=np.float16)  # noqa: E731
    # Header-true checkpoints of a known type (never rendered).
    st_io.write(os.path.join(root, "xl-shape.safetensors"), {
        "conditioner.embedders.1.model.ln_final.weight": z(8)})
    st_io.write(os.path.join(root, "one-shape.safetensors"), {
        "model.diffusion_model.input_blocks.1.1.transformer_blocks.0."
        "attn2.to_k.weight": z(4, 768)})
    with open(os.path.join(root, "cut.safetensors"), "wb") as f:
        data = open(os.path.join(root, "xl-shape.safetensors"), "rb").read()
        f.write(data[:-4])
    loras = os.path.join(root, "loras")
    os.makedirs(loras)
    # A LoRA of the tiny model, as sd-scripts names it, and the same in
    # diffusers / PEFT naming.
    layout = lora.sd1_layout(ucfg, {"hidden": 64, "inter": 128,
                                    "layers": 2})
    sd = lora.random_kohya(layout, rank=2, seed=5)
    lora.save(os.path.join(loras, "tiny-kohya.safetensors"), sd)
    lora.save(os.path.join(loras, "tiny-peft.safetensors"),
              lora.kohya_to_peft(sd, layout))
    # The same with an infinity in a late UNet module: it reads, and
    # fails while merging, after other weights were patched.
    bad = dict(sd)
    last = sorted(k for k in bad if k.startswith("lora_unet_up_blocks") and
                  k.endswith(".lora_up.weight"))[-1]
    bad[last] = bad[last].clone()
    bad[last][0, 0] = float("inf")
    lora.save(os.path.join(loras, "tiny-inf.safetensors"), bad)
    te = "lora_te_text_model_encoder_layers_0_self_attn_q_proj"
    ca = ("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_"
          "attn2_to_k")
    st_io.write(os.path.join(loras, "style.safetensors"), {
        te + ".lora_down.weight": z(4, 768), te + ".lora_up.weight":
        z(768, 4), ca + ".lora_down.weight": z(4, 768),
        ca + ".lora_up.weight": z(320, 4),
        ca + ".alpha": np.array(2.0, dtype=np.float32)})
    st_io.write(os.path.join(loras, "xl-peft.safetensors"), {
        "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k."
        "lora_A.weight": z(4, 2048),
        "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k."
        "lora_B.weight": z(640, 4)})
    st_io.write(os.path.join(loras, "meta.safetensors"), {
        te + ".lora_down.weight": z(2, 768), te + ".lora_up.weight":
        z(768, 2)}, {"sshs_model_hash": META_HASH,
                     "ss_output_name": "meta-alias",
                     "ss_tag_frequency": json.dumps({"set": {"cat": 3}})})
    data = open(os.path.join(loras, "style.safetensors"), "rb").read()
    with open(os.path.join(loras, "broken.safetensors"), "wb") as f:
        f.write(data[:-10])
    embs = os.path.join(root, "embeddings")
    os.makedirs(embs)
    rng = np.random.default_rng(1)
    ti.write_sd1(os.path.join(embs, "tok-sd1.safetensors"),
                 rng.standard_normal((2, 768)))
    ti.write_sdxl(os.path.join(embs, "tok-xl.safetensors"),
                  rng.standard_normal((3, 768)),
                  rng.standard_normal((3, 1280)))
    st_io.write(os.path.join(embs, "two.safetensors"),
                {"a": z(1, 768), "b": z(1, 768)})
    return root


def models(s, key):
    r = api(s, "GET", "/api/v1/models", key)
    assert r.status == 200, r.text[:500]
    return is_json(r)


def by_name(items):
    return {m["name"]: m for m in items}


def fields_of(r, status, where):
    return error_of(r, status, "validation_failed", where)["fields"]


# ------------------------------------------------------------- registry

def test_models_report_type_native_size_and_defaults(s):
    _, key = user_with_key(s)
    m = by_name(models(s, key)["models"])
    assert set(m) == {"kiln-micro", "sd-tiny", "xl-shape", "one-shape",
                      "cut"}, list(m)
    micro = m["kiln-micro"]
    with open(os.path.join(harness.ROOT, "models", "kiln-micro",
                           "kiln.json")) as f:
        card = json.load(f)["defaults"]
    assert micro["defaults"] == {"width": card["width"],
                                 "height": card["height"],
                                 "steps": card["steps"],
                                 "cfg_scale": card["cfg"],
                                 "sampler": card["sampler"]}, micro
    # Its text context (128) is no family's; a folder has no hash.
    assert micro["type"] == "unknown" and micro["native_size"] == 64
    assert micro["hash"] is None and micro["sha256"] is None
    xl = m["xl-shape"]
    assert (xl["type"], xl["native_size"], xl["size_multiple"],
            xl["max_size"]) == ("sdxl", 1024, 32, 2048), xl
    assert xl["defaults"]["width"] == xl["defaults"]["height"] == 1024
    one_ = m["one-shape"]
    assert (one_["type"], one_["native_size"], one_["max_size"]) == \
        ("sd1", 512, 1024), one_
    assert m["sd-tiny"]["type"] == "unknown"
    assert m["sd-tiny"]["max_size"] is None
    assert "cut.safetensors: truncated" in m["cut"]["error"], m["cut"]
    assert "error" not in xl


def test_loras_and_embeddings_are_listed_with_their_base(s):
    _, key = user_with_key(s)
    doc = models(s, key)
    loras = by_name(doc["loras"])
    assert list(loras) == sorted(loras), list(loras)
    assert set(loras) == {"broken", "meta", "style", "tiny-inf",
                          "tiny-kohya", "tiny-peft", "xl-peft"}, list(loras)
    assert (loras["style"]["type"], loras["style"]["base"],
            loras["style"]["format"]) == ("lora", "sd1", "kohya")
    assert (loras["xl-peft"]["base"], loras["xl-peft"]["format"]) == \
        ("sdxl", "peft")
    # The tiny model's LoRA fits no family: unknown, not a guess.
    assert loras["tiny-kohya"]["base"] == "unknown"
    assert loras["tiny-peft"]["format"] == "peft"
    assert loras["tiny-kohya"]["modules"] == \
        loras["tiny-peft"]["modules"] > 0
    # A1111 takes the hash a LoRA's metadata names.
    assert loras["meta"]["hash"] == META_HASH[:12]
    assert loras["style"]["hash"] is None     # not hashed yet
    assert "broken.safetensors: truncated" in loras["broken"]["error"]
    assert "base" not in loras["broken"]
    embs = by_name(doc["embeddings"])
    assert (embs["tok-sd1"]["type"], embs["tok-sd1"]["base"],
            embs["tok-sd1"]["vectors"]) == ("embedding", "sd1", 2)
    assert (embs["tok-xl"]["base"], embs["tok-xl"]["vectors"]) == \
        ("sdxl", 3)
    assert "two.safetensors" in embs["two"]["error"], embs["two"]


def test_sdapi_loras_answer_in_a1111s_shape(s):
    _, key = user_with_key(s)
    r = api(s, "GET", "/sdapi/v1/loras", key)
    assert r.status == 200, r.text[:300]
    got = by_name(is_json(r))
    # The usable ones only, each {name, alias, path, metadata}.
    assert set(got) == {"meta", "style", "tiny-inf", "tiny-kohya",
                        "tiny-peft", "xl-peft"}, list(got)
    for v in got.values():
        assert set(v) == {"name", "alias", "path", "metadata"}, v
    assert got["style"] == {"name": "style", "alias": "style",
                            "path": "style.safetensors", "metadata": {}}
    meta = got["meta"]
    assert meta["alias"] == "meta-alias"
    # JSON held in a metadata string comes parsed, as A1111 gives it.
    assert meta["metadata"]["ss_tag_frequency"] == {"set": {"cat": 3}}
    assert meta["metadata"]["sshs_model_hash"] == META_HASH


def test_sdapi_embeddings_answer_in_a1111s_shape(s):
    _, key = user_with_key(s)
    r = api(s, "GET", "/sdapi/v1/embeddings", key)
    assert r.status == 200, r.text[:300]
    got = is_json(r)
    assert set(got) == {"loaded", "skipped"}, got
    # The default model (kiln-micro) is of no known family: all load.
    assert got["skipped"] == {}
    assert got["loaded"] == {
        "tok-sd1": {"step": None, "sd_checkpoint": None,
                    "sd_checkpoint_name": None, "shape": 768,
                    "vectors": 2},
        "tok-xl": {"step": None, "sd_checkpoint": None,
                   "sd_checkpoint_name": None, "shape": 768 + 1280,
                   "vectors": 3}}, got


# ----------------------------------------------------------------- jobs

def test_a_jobs_loras_field_and_prompt_tags_are_stored_and_returned(s):
    uid, key = user_with_key(s)
    prompt = "a red star <lora:tiny-kohya:0.5>, (<lora:tiny-peft>:1.1)"
    j = submit(s, key, {"prompt": prompt, "model": "sd-tiny",
                        "width": 64, "height": 64, "steps": 1,
                        "loras": [{"name": "style", "weight": 0.8},
                                  {"name": "meta", "weight": -1,
                                   "unet_weight": 0.25}]})
    want = [{"name": "style", "weight": 0.8, "unet_weight": 0.8,
             "source": "field"},
            {"name": "meta", "weight": -1, "unet_weight": 0.25,
             "source": "field"},
            {"name": "tiny-kohya", "weight": 0.5, "unet_weight": 0.5,
             "source": "prompt"},
            {"name": "tiny-peft", "weight": 1, "unet_weight": 1,
             "source": "prompt"}]
    assert j["loras"] == want, j["loras"]
    # The prompt as typed, as A1111's infotext keeps it.
    assert j["prompt"] == prompt
    got = api(s, "GET", "/api/v1/jobs/%d" % j["id"], key)
    assert is_json(got)["loras"] == want
    stored = json.loads(one(s, "SELECT loras FROM jobs WHERE id = %d" %
                            j["id"]))
    assert stored == want, stored
    # Without LoRAs: an empty list, NULL in the row.
    j = submit(s, key, {"prompt": "plain", "model": "sd-tiny",
                        "width": 64, "height": 64, "steps": 1})
    assert j["loras"] == []
    assert one(s, "SELECT loras FROM jobs WHERE id = %d" % j["id"]) == \
        "NULL"


def test_an_unknown_lora_is_422_naming_the_field(s):
    _, key = user_with_key(s)
    before = one(s, "SELECT COUNT(*) FROM jobs")
    r = api(s, "POST", "/api/v1/jobs", key,
            {"prompt": "x", "loras": [{"name": "style"},
                                      {"name": "nope"}]})
    f = fields_of(r, 422, "unknown in loras")
    assert list(f) == ["loras[1].name"], f
    assert "no LoRA named nope" in f["loras[1].name"], f
    assert "available: meta, style, tiny-inf, tiny-kohya" in \
        f["loras[1].name"], f
    r = api(s, "POST", "/api/v1/jobs", key,
            {"prompt": "a cat <lora:nope:0.8>"})
    f = fields_of(r, 422, "unknown in the prompt")
    assert list(f) == ["prompt"] and "no LoRA named nope" in f["prompt"], f
    # There but broken: why, naming the file.
    r = api(s, "POST", "/api/v1/jobs", key,
            {"prompt": "x", "loras": [{"name": "broken"}]})
    f = fields_of(r, 422, "broken")
    assert "broken.safetensors: truncated" in f["loras[0].name"], f
    # Made for another family than the model's.
    r = api(s, "POST", "/api/v1/jobs", key,
            {"prompt": "x", "model": "xl-shape",
             "loras": [{"name": "style"}]})
    f = fields_of(r, 422, "sd1 LoRA on sdxl")
    assert f == {"loras[0].name": "LoRA style is made for sd1 models; "
                 "model xl-shape is sdxl"}, f
    assert one(s, "SELECT COUNT(*) FROM jobs") == before


def test_malformed_loras_are_400_naming_the_field(s):
    _, key = user_with_key(s)
    cases = [
        ({"loras": [{"name": "style", "weight": 11}]}, "loras[0].weight"),
        ({"loras": [{"name": "style", "weight": "1"}]}, "loras[0].weight"),
        ({"loras": [{"name": "style", "x": 1}]}, "loras[0].x"),
        ({"loras": [{"weight": 1}]}, "loras[0].name"),
        ({"loras": {"name": "style"}}, "loras"),
        ({"loras": None}, "loras"),
        ({"loras": [{"name": "style"}] * 9}, "loras"),
        ({"loras": [{"name": "style"}, {"name": "style"}]},
         "loras[1].name"),
        ({"prompt": "<lora:style:heavy>"}, "prompt"),
        ({"prompt": "<lora:style:0.5:0.5:8>"}, "prompt"),
        ({"prompt": "<lora:style> <lora:style:0.5>"}, "prompt"),
        ({"prompt": "<lora:style>", "loras": [{"name": "style"}]},
         "prompt"),
    ]
    for extra, field in cases:
        body = {"prompt": "x"}
        body.update(extra)
        r = api(s, "POST", "/api/v1/jobs", key, body)
        f = fields_of(r, 400, json.dumps(extra))
        assert list(f) == [field], (extra, f)
    r = api(s, "POST", "/api/v1/jobs", key,
            {"prompt": "<lora:style> <lora:style:0.5>"})
    assert "named twice" in fields_of(r, 400, "twice")["prompt"]


def image_of(s, key, j):
    r = api(s, "GET", "/api/v1/images/%d-0.png" % j["id"], key)
    assert r.status == 200, r.status
    return r.body


def pixels(s, key, j):
    return png_decode(image_of(s, key, j))[2]


TINY = {"model": "sd-tiny", "width": 64, "height": 64, "steps": 2,
        "seed": 11}


def test_the_daemon_renders_a_job_with_loras(s):
    _, key = user_with_key(s)
    plain = rendered(s, key, dict(TINY, prompt="a star"))
    tag = rendered(s, key, dict(TINY, prompt="a star <lora:tiny-kohya:0.7>"))
    field = rendered(s, key, dict(TINY, prompt="a star", loras=[
        {"name": "tiny-kohya", "weight": 0.7}]))
    peft = rendered(s, key, dict(TINY, prompt="a star", loras=[
        {"name": "tiny-peft", "weight": 0.7}]))
    again = rendered(s, key, dict(TINY, prompt="a star"))
    assert pixels(s, key, tag) != pixels(s, key, plain)
    # The tag is left out of the text the encoder sees: the field and
    # the tag give the same image.
    assert pixels(s, key, field) == pixels(s, key, tag)
    # PEFT's naming of the same LoRA (alpha / r folded into lora_B, so
    # float16 rounds it differently): the same image within a level.
    a, b = pixels(s, key, peft), pixels(s, key, tag)
    assert max(abs(x - y) for ra, rb in zip(a, b) for pa, pb in zip(ra, rb)
               for x, y in zip(pa, pb)) <= 2
    # Taken off again for a job without LoRAs: exactly the plain image.
    assert pixels(s, key, again) == pixels(s, key, plain)
    params = png_parameters(image_of(s, key, tag))
    assert 'Lora hashes: "tiny-kohya: ' in params, params
    assert params.startswith("a star <lora:tiny-kohya:0.7>\n"), params


def test_a_lora_that_does_not_fit_fails_its_job_saying_why(s):
    _, key = user_with_key(s)
    before = rendered(s, key, dict(TINY, prompt="a moon", seed=12))
    # SD 1.x's 768-wide factors on the tiny model (its family is
    # unknown, so the submission could not tell).
    j = submit(s, key, dict(TINY, prompt="a moon <lora:style:0.7>",
                            seed=12))
    j = wait_job(s, key, j["id"], ("succeeded", "failed", "canceled"),
                 timeout=120)
    assert j["status"] == "failed", j
    assert j["error"].startswith("LoRA: style.safetensors: module "), \
        j["error"]
    assert "does not fit" in j["error"], j["error"]
    assert "/" not in j["error"].split(":")[1], j["error"]
    assert j["images"] == []
    # One that fails while merging, after other weights changed: every
    # weight goes back.
    j = submit(s, key, dict(TINY, prompt="a moon <lora:tiny-inf>",
                            seed=12))
    j = wait_job(s, key, j["id"], ("succeeded", "failed", "canceled"),
                 timeout=120)
    assert j["status"] == "failed", j
    assert "infinite or NaN" in j["error"], j["error"]
    # The daemon goes on, with the model as it was.
    after = rendered(s, key, dict(TINY, prompt="a moon", seed=12))
    assert pixels(s, key, after) == pixels(s, key, before)


def test_txt2img_takes_a1111s_lora_tags(s):
    uid, key = user_with_key(s)
    r = api(s, "POST", "/sdapi/v1/txt2img", key,
            {"prompt": "fox <lora:nope:1>", "steps": 1})
    f = fields_of(r, 422, "txt2img unknown lora")
    assert "no LoRA named nope" in f["prompt"], f
    # A known one: a job with the LoRA.
    r = api(s, "POST", "/sdapi/v1/txt2img", key,
            {"prompt": "fox <lora:tiny-kohya:0.6>", "steps": 1,
             "width": 64, "height": 64,
             "override_settings": {"sd_model_checkpoint": "sd-tiny"}})
    assert r.status == 200, r.text[:500]
    assert len(is_json(r)["images"]) == 1
    row = s.sql("SELECT prompt, loras, error FROM jobs WHERE user_id = %d"
                % uid)
    assert len(row) == 1, row
    assert row[0][0] == "fox <lora:tiny-kohya:0.6>"
    assert json.loads(row[0][1]) == [{"name": "tiny-kohya", "weight": 0.6,
                                      "unet_weight": 0.6,
                                      "source": "prompt"}]
    assert row[0][2] in (None, "NULL"), row


def test_the_form_takes_loras_and_the_job_page_shows_them(s):
    uid, _ = user_with_key(s)
    cookie, csrf = browser(s, uid)
    r = post_form(s, cookie, "/generate", {
        "csrf": csrf, "prompt": "a star <lora:tiny-peft:0.3>",
        "model": "sd-tiny", "loras": "style:0.8, meta", "steps": "1",
        "width": "64", "height": "64"})
    assert r.status == 303, r.text[:600]
    jid = int(one(s, "SELECT MAX(id) FROM jobs WHERE user_id = %d" % uid))
    got = json.loads(one(s, "SELECT loras FROM jobs WHERE id = %d" % jid))
    assert [(x["name"], x["weight"], x["source"]) for x in got] == [
        ("style", 0.8, "field"), ("meta", 1, "field"),
        ("tiny-peft", 0.3, "prompt")], got
    page = s.get("/jobs/%d" % jid, headers={"Cookie": cookie}).text
    assert re.search(r"<th>LoRAs</th><td>style &times;0.8, meta &times;1,"
                     r" tiny-peft &times;0.3</td>", page), page[-3000:]
    # Use these settings again: the box gets the field's LoRAs back.
    page = s.get("/generate?from=%d" % jid,
                 headers={"Cookie": cookie}).text
    assert 'name="loras" type="text" maxlength="1024" value="style:0.8, ' \
        'meta:1"' in page, page
    r = post_form(s, cookie, "/generate", {
        "csrf": csrf, "prompt": "x", "loras": "nope:1"})
    assert r.status == 422 and "no LoRA named nope" in r.text, r.status


# --------------------------------------------------------------- hashes

def test_png_parameters_carry_a1111s_model_hash(s):
    _, key = user_with_key(s)
    want = file_sha256(MODELS["sd-tiny"])
    j = submit(s, key, {"prompt": "a red star", "model": "sd-tiny",
                        "width": 64, "height": 64, "steps": 2,
                        "seed": 7})
    j = wait_job(s, key, j["id"], ("succeeded", "failed", "canceled"),
                 timeout=180)
    assert j["status"] == "succeeded", j
    r = api(s, "GET", "/api/v1/images/%d-0.png" % j["id"], key)
    assert r.status == 200
    params = png_parameters(r.body)
    assert "Size: 64x64, Model hash: %s, Model: sd-tiny" % want[:10] in \
        params, params
    # Hashed once, kept by size and mtime; the API shows it now.
    st = os.stat(MODELS["sd-tiny"])
    row = s.sql("SELECT sha256, size, mtime_ns FROM file_hashes WHERE"
                " kind = 'checkpoint' AND name = 'sd-tiny'")
    assert row == [[want, str(st.st_size), str(st.st_mtime_ns)]], row
    m = by_name(models(s, key)["models"])["sd-tiny"]
    assert (m["hash"], m["sha256"]) == (want[:10], want), m
    r = api(s, "GET", "/sdapi/v1/sd-models", key)
    sd = by_name([dict(x, name=x["model_name"]) for x in is_json(r)])
    assert (sd["sd-tiny"]["hash"], sd["sd-tiny"]["sha256"]) == \
        (want[:10], want)
    assert sd["kiln-micro"]["hash"] is None


def test_kiln_admin_hash_fills_the_cache_as_a1111_hashes(s):
    p = subprocess.run([os.path.join(harness.BUILD, "tools", "kiln-admin"),
                        "-c", s.conf, "hash"], capture_output=True,
                       text=True, timeout=120)
    # The broken LoRA and the two-tensor embedding are named on stderr.
    assert p.returncode == 1, p.stdout + p.stderr
    assert "broken.safetensors: truncated" in p.stderr, p.stderr
    assert "two.safetensors" in p.stderr, p.stderr
    lines = p.stdout.splitlines()
    root = os.path.dirname(MODELS["sd-tiny"])
    lora = file_sha256(os.path.join(root, "loras", "tiny-kohya.safetensors"),
                       skip_header=True)
    emb = file_sha256(os.path.join(root, "embeddings",
                                   "tok-sd1.safetensors"))
    # The daemon hashed it already for the jobs that used it.
    assert "lora tiny-kohya %s hashed" % lora[:12] in lines or \
        "lora tiny-kohya %s cached" % lora[:12] in lines, lines
    assert "embedding tok-sd1 %s hashed" % emb[:12] in lines, lines
    assert "lora meta %s from its metadata" % META_HASH[:12] in lines
    assert "checkpoint sd-tiny %s cached" % \
        file_sha256(MODELS["sd-tiny"])[:10] in lines, lines
    # The API shows what was hashed.
    _, key = user_with_key(s)
    doc = models(s, key)
    assert by_name(doc["loras"])["tiny-kohya"]["hash"] == lora[:12]
    assert by_name(doc["embeddings"])["tok-sd1"]["hash"] == emb[:12]
    # A touched file's hash is stale: none until hashed again.
    path = os.path.join(root, "loras", "tiny-kohya.safetensors")
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert by_name(models(s, key)["loras"])["tiny-kohya"]["hash"] is None
