"""test_tokenizer.py - kiln-render tokenize against the reference CLIP
tokenizer: every case of clip_tokenizer_cases.json with both vocabulary
formats (the OpenAI .txt.gz and the tokenizer folder), and the errors."""

import json
import os
import subprocess

import harness

STACK = None

# The reference data lives in the repository: the public CLIP vocabulary
# kiln ships (models/clip/) and, in tests/data/clip/, the same in the
# tokenizer-folder format with the cases the reference tokenizer gave.
REF = os.path.join(harness.ROOT, "tests", "data", "clip")
GZ = os.path.join(harness.ROOT, "models", "clip",
                  "bpe_simple_vocab_16e6.txt.gz")
HF = os.path.join(REF, "hf")


def _binary():
    path = os.path.join(harness.BUILD, "render-daemon", "kiln-render")
    if not os.path.exists(path):
        raise AssertionError("%s is missing; run make first" % path)
    return path


def _cases():
    path = os.path.join(REF, "clip_tokenizer_cases.json")
    with open(path, encoding="utf-8") as f:
        cases = json.load(f)["cases"]
    assert cases, "no cases in %s" % path
    return cases


def tokenize(vocab, text):
    """Runs kiln-render tokenize; returns (status, stdout, stderr)."""
    p = subprocess.run([_binary(), "tokenize", "--vocab", vocab, "--",
                        text], capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8")


def _check_all(vocab):
    failures = []
    cases = _cases()
    for case in cases:
        status, out, err = tokenize(vocab, case["text"])
        if status != 0:
            failures.append("%r: exit %d: %s" % (case["text"], status,
                                                 err.strip()))
            continue
        got = json.loads(out)
        if got != case["ids"]:
            failures.append("%r:\n  got  %s\n  want %s" % (
                case["text"], got, case["ids"]))
    assert not failures, "%d of %d cases differ (%s):\n%s" % (
        len(failures), len(cases), vocab, "\n".join(failures))


def test_every_case_with_the_openai_vocabulary(_):
    _check_all(GZ)


def test_every_case_with_the_tokenizer_folder(_):
    _check_all(HF)


def test_the_folder_of_the_gz_file_works_too(_):
    _cases()
    status, out, err = tokenize(os.path.dirname(GZ),
                                "a photograph of an astronaut")
    assert status == 0, err
    assert json.loads(out) == [320, 8853, 539, 550, 18376], out


def test_output_is_one_compact_json_array(_):
    _cases()
    status, out, _err = tokenize(GZ, "a")
    assert status == 0 and out == "[320]\n", repr(out)
    status, out, _err = tokenize(HF, "")
    assert status == 0 and out == "[]\n", repr(out)


def test_weighting_syntax_is_not_interpreted(_):
    # tokenize shows plain tokenization: the brackets are tokens.
    _cases()
    status, out, err = tokenize(GZ, "(cat:1.2)")
    assert status == 0, err
    assert json.loads(out) == [263, 2368, 281, 272, 269, 273, 264], out


def test_invalid_utf8_does_not_fail(_):
    _cases()
    p = subprocess.run([_binary(), "tokenize", "--vocab", GZ, "--",
                        b"caf\xe9 \xff ok"], capture_output=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    # Each invalid sequence reads as U+FFFD (39802 as a whole word), as
    # bytes.decode("utf-8", "replace") then the reference would give.
    assert json.loads(p.stdout) == [20867, 39802, 39802, 2481], p.stdout


def test_missing_vocabulary_is_an_error(_):
    missing = os.path.join(harness.ROOT, "build", "no-such-vocab")
    status, out, err = tokenize(missing, "a cat")
    assert status == 1, (status, out, err)
    assert out == "", out
    assert missing in err and "No such file" in err, err


def test_malformed_vocabulary_is_an_error(_):
    import tempfile
    d = tempfile.mkdtemp(prefix="kiln-tok-")
    try:
        with open(os.path.join(d, "vocab.json"), "w") as f:
            f.write("{not json")
        with open(os.path.join(d, "merges.txt"), "w") as f:
            f.write("#version: 0.2\na b\n")
        status, out, err = tokenize(d, "a cat")
        assert status == 1, (status, out, err)
        assert os.path.join(d, "vocab.json") in err, err
        assert "not valid JSON" in err, err
    finally:
        for n in ("vocab.json", "merges.txt"):
            os.unlink(os.path.join(d, n))
        os.rmdir(d)


def test_bad_usage_exits_2(_):
    for args in ([], ["--vocab"], ["--vocab", GZ], ["text"],
                 ["--vocab", GZ, "a", "b"], ["--nope", "x"]):
        p = subprocess.run([_binary(), "tokenize"] + args,
                           capture_output=True, timeout=60)
        assert p.returncode == 2, (args, p.returncode)
        assert b"usage" in p.stderr, (args, p.stderr)
