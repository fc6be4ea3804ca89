"""Textual-inversion embeddings end to end, behind lighttpd with a running
kilnd rendering kiln-micro (a 128-wide text encoder): a job whose prompt
names a file of [paths] embeddings renders with its vectors (the image
differs from the same job without the file, and from the one after the
file changed: the daemon's cache follows size and mtime), and its PNG
parameters carry AUTOMATIC1111's "TI hashes" (the file's SHA-256, 12
digits, computed here with hashlib); files no prompt names are never
read; a named file made for another width, or not an embedding, fails
the job naming the file.

The embeddings are made here with tools/reference/textual_inversion.py.
Each test makes its own user and key."""

import os
import sys

import harness
from common import (api, file_sha256, models_with_micro, submit,
                    user_with_key, wait_job)

sys.path.insert(0, os.path.join(harness.ROOT, "tools", "reference"))

STACK = dict(server="lighttpd", daemon_name="ti-1",
             models=lambda d: make_models(d),
             extra_conf="[limits]\nsubmit_burst = 100000\n")

EMBS = {}


def write_embedding(path, n, width, seed):
    import numpy as np
    import textual_inversion as ti
    ti.write_sd1(path, np.random.default_rng(seed).standard_normal(
        (n, width)))


def make_models(stack_dir):
    root = models_with_micro(stack_dir)
    embs = os.path.join(root, "embeddings")
    os.makedirs(embs)
    EMBS["dir"] = embs
    write_embedding(os.path.join(embs, "shinystar.safetensors"), 2, 128, 1)
    # SD 1.5's width: not kiln-micro's.
    write_embedding(os.path.join(embs, "wide.safetensors"), 2, 768, 2)
    with open(os.path.join(embs, "broken.safetensors"), "wb") as f:
        f.write(b"\x10\x00\x00\x00\x00\x00\x00\x00{\"emb_params\":")
    return root


def chunks(data, kind):
    """The data of every PNG chunk of that type, in order."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, out = 8, []
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        if data[pos + 4:pos + 8] == kind:
            out.append(data[pos + 8:pos + 8 + n])
        pos += 12 + n
    return out


def render(s, key, prompt, seed=5):
    """A 2-step kiln-micro job: (job JSON, PNG parameters, pixel data as
    its IDAT bytes) once it has ended."""
    j = submit(s, key, {"prompt": prompt, "model": "kiln-micro",
                        "width": 64, "height": 64, "steps": 2,
                        "seed": seed})
    j = wait_job(s, key, j["id"], ("succeeded", "failed", "canceled"),
                 timeout=180)
    if j["status"] != "succeeded":
        return j, None, None
    r = api(s, "GET", "/api/v1/images/%d-0.png" % j["id"], key)
    assert r.status == 200, r.status
    params = [t.split(b"\0", 1)[1].decode("latin-1")
              for t in chunks(r.body, b"tEXt")
              if t.startswith(b"parameters\0")]
    assert len(params) == 1, params
    return j, params[0], b"".join(chunks(r.body, b"IDAT"))


def test_a_named_embedding_renders_and_is_hashed(s):
    _, key = user_with_key(s)
    path = os.path.join(EMBS["dir"], "shinystar.safetensors")
    away = os.path.join(EMBS["dir"], "shinystar.off")
    want = file_sha256(path)
    j, params, used = render(s, key, "a red shinystar")
    assert j["status"] == "succeeded", j
    assert params.endswith('Model: kiln-micro, TI hashes: "shinystar: %s"'
                           % want[:12]), params
    row = s.sql("SELECT sha256 FROM file_hashes WHERE kind = 'embedding'"
                " AND name = 'shinystar'")
    assert row == [[want]], row
    os.rename(path, away)
    try:
        j, params, plain = render(s, key, "a red shinystar")
        assert j["status"] == "succeeded", j
        assert "TI hashes" not in params, params
        assert plain != used
        # Another file of that name (3 vectors): read again, not the
        # cached one.
        write_embedding(path, 3, 128, 3)
        j, params, other = render(s, key, "a red shinystar")
        assert j["status"] == "succeeded", j
        assert 'TI hashes: "shinystar: %s"' % file_sha256(path)[:12] in \
            params, params
        assert other != used and other != plain
    finally:
        os.replace(away, path)


def test_files_no_prompt_names_are_never_read(s):
    _, key = user_with_key(s)
    j, params, _ = render(s, key, "a small blue circle", seed=6)
    assert j["status"] == "succeeded", j
    assert "TI hashes" not in params, params


def test_an_embedding_of_another_width_fails_the_job(s):
    _, key = user_with_key(s)
    j, _, _ = render(s, key, "a wide green square")
    assert j["status"] == "failed", j
    assert "wide.safetensors" in j["error"] and "768" in j["error"], \
        j["error"]
    assert EMBS["dir"] not in j["error"]
    assert j["images"] == []


def test_a_named_file_that_is_no_embedding_fails_the_job(s):
    _, key = user_with_key(s)
    j, _, _ = render(s, key, "a broken yellow star")
    assert j["status"] == "failed", j
    assert j["error"].startswith("embedding broken: broken.safetensors"), \
        j["error"]
