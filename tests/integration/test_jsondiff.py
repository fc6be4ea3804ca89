"""The JSON diff by path (lib/jsondiff.c) against an implementation of
the same rules written here in Python, on random pairs of documents: the
C side runs as build/tests/test_jsondiff A B, which prints the diff as
[kind, path, before, after] rows. No stack: nothing but the two
programs."""

import json
import os
import random
import re
import subprocess
import tempfile

from harness import BUILD

BIN = os.path.join(BUILD, "tests", "test_jsondiff")
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def step(key):
    if IDENT.match(key):
        return "." + key
    return "[" + json.dumps(key, ensure_ascii=False) + "]"


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def leaf_equal(a, b):
    if is_num(a) and is_num(b):
        return a == b
    return type(a) is type(b) and a == b


def pydiff(a, b, path="$"):
    """The rules of jsondiff.h, independently: [(kind, path, a, b)]."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        # Byte order of the UTF-8 keys is their code point order.
        for k in sorted(set(a) | set(b), key=lambda k: k.encode()):
            p = path + step(k)
            if k not in b:
                out.append(("removed", p, a[k], None))
            elif k not in a:
                out.append(("added", p, None, b[k]))
            else:
                out += pydiff(a[k], b[k], p)
        return out
    if isinstance(a, list) and isinstance(b, list):
        out = []
        for i in range(max(len(a), len(b))):
            p = "%s[%d]" % (path, i)
            if i >= len(b):
                out.append(("removed", p, a[i], None))
            elif i >= len(a):
                out.append(("added", p, None, b[i]))
            else:
                out += pydiff(a[i], b[i], p)
        return out
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)) or \
            not leaf_equal(a, b):
        return [("changed", path, a, b)]
    return []


KEYS = ["a", "b", "B", "_x", "lens_mm", "colour temp", "1st", "é", "z",
        "q\"uote", "tab\there", ""]


def scalar(rnd):
    return rnd.choice([None, True, False, 0, 1, -7, 1.5, 1.0, 2.25,
                       "", "x", "50", "日本", "a\"b\\c"])


def value(rnd, depth):
    r = rnd.random()
    if depth <= 0 or r < 0.45:
        return scalar(rnd)
    if r < 0.75:
        return {rnd.choice(KEYS): value(rnd, depth - 1)
                for _ in range(rnd.randint(0, 4))}
    return [value(rnd, depth - 1) for _ in range(rnd.randint(0, 4))]


def mutate(rnd, v, depth):
    """v with a few random changes: the pairs share most of their
    structure, so the walk goes deep before it differs."""
    if isinstance(v, dict):
        v = dict(v)
        for k in list(v):
            if rnd.random() < 0.15:
                del v[k]
            elif rnd.random() < 0.5:
                v[k] = mutate(rnd, v[k], depth - 1)
        if rnd.random() < 0.3:
            v[rnd.choice(KEYS)] = value(rnd, depth - 1)
        return v
    if isinstance(v, list):
        v = [mutate(rnd, x, depth - 1) if rnd.random() < 0.5 else x
             for x in v]
        if v and rnd.random() < 0.2:
            v.pop()
        if rnd.random() < 0.2:
            v.append(value(rnd, depth - 1))
        return v
    return value(rnd, depth) if rnd.random() < 0.3 else v


def c_diff(a, b):
    with tempfile.TemporaryDirectory() as d:
        pa, pb = os.path.join(d, "a.json"), os.path.join(d, "b.json")
        with open(pa, "w") as f:
            json.dump(a, f, ensure_ascii=False)
        with open(pb, "w") as f:
            json.dump(b, f, ensure_ascii=False)
        out = subprocess.run([BIN, pa, pb], capture_output=True,
                             check=True, timeout=30).stdout
    return [(k, p, None if x is None else json.loads(x),
             None if y is None else json.loads(y))
            for k, p, x, y in json.loads(out)]


def same(x, y):
    """Values equal as jsondiff means it (numbers by value, bool apart)."""
    if isinstance(x, dict) and isinstance(y, dict):
        return set(x) == set(y) and all(same(x[k], y[k]) for k in x)
    if isinstance(x, list) and isinstance(y, list):
        return len(x) == len(y) and all(same(p, q) for p, q in zip(x, y))
    return leaf_equal(x, y)


def check(a, b):
    want, got = pydiff(a, b), c_diff(a, b)
    assert [(k, p) for k, p, _, _ in got] == \
        [(k, p) for k, p, _, _ in want], (a, b, got, want)
    for (k, p, x, y), (_, _, wx, wy) in zip(got, want):
        assert same(x, wx) and same(y, wy), (p, x, wx, y, wy)
    return len(want)


def test_the_c_diff_agrees_with_python_on_random_pairs(_):
    rnd = random.Random(29)
    changes = 0
    for i in range(300):
        a = {k: value(rnd, 4) for k in rnd.sample(KEYS, rnd.randint(1, 6))}
        b = mutate(rnd, a, 5) if i % 3 else {
            k: value(rnd, 4) for k in rnd.sample(KEYS, rnd.randint(0, 6))}
        changes += check(a, b)
        assert c_diff(a, a) == [], a
    # The pairs were not trivially equal.
    assert changes > 300, changes


def test_a_manifest_edit_gives_the_fields_changed(_):
    a = {"subject": "a red mug", "camera": {"lens_mm": 50, "angle": "eye"},
         "lighting": {"setup": "three-point"}, "loras": [{"w": 0.5}]}
    b = {"subject": "a red mug", "camera": {"lens_mm": 85, "angle": "eye"},
         "lighting": {"setup": "rim", "kelvin": 5600}, "loras": []}
    assert c_diff(a, b) == [
        ("changed", "$.camera.lens_mm", 50, 85),
        ("added", "$.lighting.kelvin", None, 5600),
        ("changed", "$.lighting.setup", "three-point", "rim"),
        ("removed", "$.loras[0]", {"w": 0.5}, None)]
