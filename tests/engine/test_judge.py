"""The kiln-micro scene generator (tools/train/scenes.py) and the image judge
(tools/judge.py): the judge scores ground truth near-perfectly, noise and
wrong images badly, and the generator is deterministic, covers every
attribute and keeps its held-out captions out of training."""

import copy
import os
import subprocess
import sys
import tempfile

import numpy as np

import harness

sys.path.insert(0, os.path.join(harness.ROOT, "tools"))
sys.path.insert(0, os.path.join(harness.ROOT, "tools", "train"))
import judge  # noqa: E402
import scenes  # noqa: E402

STACK = None
SEED = 20240605
SIZE = 64
_gt = {}


def ground_truth():
    """400 (spec, caption, image): 200 training and 100 held-out captions
    in the canonical layout (the UNet's), 100 in the random one (the
    autoencoder's), fixed seeds."""
    if not _gt:
        items = scenes.generate(200, SEED) + \
            scenes.generate(100, SEED + 1, "test") + \
            scenes.generate(100, SEED + 2, layout="random")
        _gt["items"] = [(s, c, scenes.render(s, SIZE)) for s, c in items]
    return _gt["items"]


def test_judge_parses_every_caption(_):
    # The parse must give back exactly what the spec holds, for whatever
    # the caption names, so judge verdicts are about the image only.
    rng = np.random.default_rng(SEED)
    bad = []
    for split in ("train", "test"):
        for _ in range(1500):
            spec, cap = scenes.sample(rng, split)
            p = judge.parse_prompt(cap)
            ok = len(p["groups"]) == len(spec["groups"]) and \
                p["background"] in (None, spec["background"])
            for a, b in zip(p["groups"], spec["groups"]):
                ok = ok and (a["colour"], a["shape"], a["count"]) == \
                    (b["colour"], b["shape"], b["count"]) and \
                    a["size"] in (None, b["size"]) and \
                    a["position"] in (None, b["position"])
            if not ok:
                bad.append((cap, p))
    assert not bad, bad[:5]
    # Hand-written variations beyond the generator's grammar.
    p = judge.parse_prompt("Two big gray boxes in the upper-left, "
                           "plus a tiny red disc at the bottom right.")
    assert p["groups"] == [
        {"count": 2, "colour": "grey", "shape": "square", "size": "large",
         "position": "top left"},
        {"count": 1, "colour": "red", "shape": "circle", "size": "small",
         "position": "bottom right"}], p
    p = judge.parse_prompt("in the middle, a yellow star against a "
                           "black background")
    assert p["background"] == "black" and \
        p["groups"][0]["position"] == "centre", p


def test_ground_truth_scores_at_least_98_percent(_):
    items = ground_truth()
    # Every caption form is in the set: lead-in, "there is", background
    # first, "<colour> background with", position first, plain.
    caps = [c.lower() for _, c, _ in items]
    forms = {
        "lead-in": any(c.startswith(tuple(scenes.LEADS)) for c in caps),
        "there is/are": any(c.startswith("there ") for c in caps),
        "background first": any(c.startswith(("on a ", "on an ")) and
                                "background," in c for c in caps),
        "background with": any(" background with " in c for c in caps),
        "position first": any(c.startswith(("in the", "at the", "on the",
                                            "to the", "along the",
                                            "near the")) for c in caps),
        "background last": any(c.rstrip(".").endswith(("background",
                                                       "backdrop"))
                               for c in caps),
        "three objects": any(len(s["objects"]) == 3 for s, _, _ in items),
    }
    assert all(forms.values()), forms
    t = judge.Tally()
    for spec, cap, img in items:
        t.add(judge.judge(img, cap))
    rep = t.report()
    print("ground truth:", rep)
    for k, v in rep["accuracy"].items():
        assert v is not None and v >= 0.98, (k, rep)
    # The per-shape breakdown splits the same verdicts by the shape each
    # prompt names.
    by = rep["by_shape"]
    assert sorted(by) == sorted(scenes.SHAPES), by
    for k in ("shape", "count"):
        assert sum(v[k][1] for v in by.values()) == rep["named"][k], by
        assert sum(v[k][0] for v in by.values()) == \
            round(rep["accuracy"][k] * rep["named"][k]), by


def test_noise_scores_at_most_5_percent(_):
    rng = np.random.default_rng(SEED)
    t = judge.Tally()
    for spec, cap, _img in ground_truth():
        noise = rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
        t.add(judge.judge(noise, cap))
    rep = t.report()
    print("noise:", rep)
    assert rep["overall"] <= 0.05, rep


def test_blank_background_fails_objects(_):
    for spec, cap, _img in ground_truth()[:60]:
        blank = scenes.render({"background": spec["background"],
                               "groups": [], "objects": []}, SIZE)
        v = judge.judge(blank, cap)
        assert v["background"] in (None, True), (cap, v["attributes"])
        for r in v["groups"]:
            assert not r["colour"] and not r["shape"], (cap, r)
            assert not r.get("count", False), (cap, r)
            assert not r.get("position", False), (cap, r)
        assert not v["overall"]


def _free_cells(spec):
    used = {tuple(o["cell"]) for o in spec["objects"]}
    return [(r, c) for r in range(3) for c in range(3) if (r, c) not in used]


def _perturb(spec, attr, rng):
    """A copy of spec with group 0 (or the background) changed in `attr`
    so that a caption of the original names something now untrue, or None
    where this spec cannot show it unambiguously."""
    b = copy.deepcopy(spec)
    g = b["groups"][0]
    objs = [o for o in b["objects"] if o["group"] == 0]
    others = b["groups"][1:]
    if attr == "background":
        new = [c for c in scenes.COLOURS if c != spec["background"] and
               all(x["colour"] != c for x in spec["groups"])]
        b["background"] = new[int(rng.integers(len(new)))]
    elif attr == "colour":
        # Only when no other group shares the colour, else it still shows.
        if any(x["colour"] == g["colour"] for x in others):
            return None
        new = [c for c in scenes.COLOURS if c != spec["background"] and
               all(x["colour"] != c for x in spec["groups"])]
        g["colour"] = new[int(rng.integers(len(new)))]
    elif attr == "shape":
        new = [s for s in scenes.SHAPES if s != g["shape"] and
               all((x["colour"], x["shape"]) != (g["colour"], s)
                   for x in others)]
        g["shape"] = new[int(rng.integers(len(new)))]
    elif attr == "size":
        g["size"] = "large" if g["size"] == "small" else "small"
    elif attr == "position":
        free = _free_cells(spec)
        if g["position"] is None or not free:
            return None
        cell = free[int(rng.integers(len(free)))]
        g["position"] = scenes.CELL_POSITION[cell]
        objs[0]["cell"] = list(cell)
    elif attr == "count":
        free = _free_cells(spec)
        if g["count"] < 3 and free:
            extra = copy.deepcopy(objs[0])
            extra["cell"] = list(free[0])
            b["objects"].append(extra)
            g["count"] += 1
            g["position"] = None
        elif g["count"] > 1:
            b["objects"].remove(objs[-1])
            g["count"] -= 1
        else:
            return None
    for o in b["objects"]:
        if o["group"] == 0:
            o["colour"], o["shape"], o["size"] = (g["colour"], g["shape"],
                                                 g["size"])
    return b


def test_wrong_images_fail_what_differs(_):
    # Render spec B, judge with A's caption: the attribute that differs
    # fails, and the judge still passes the parts that agree.
    rng = np.random.default_rng(SEED + 2)
    tried = {}
    for attr in ("background", "colour", "shape", "size", "position",
                 "count"):
        n = 0
        while n < 40:
            spec = scenes.sample_spec(rng)
            cap = scenes.make_caption(rng, spec)
            exp = judge.parse_prompt(cap)
            named = exp["background"] if attr == "background" else \
                exp["groups"][0][attr]
            if named is None:
                continue
            b = _perturb(spec, attr, rng)
            if b is None:
                continue
            n += 1
            v = judge.judge(scenes.render(b, SIZE), exp)
            if attr == "background":
                assert v["background"] is False, (cap, b)
                assert all(all(r.values()) for r in v["groups"]), (cap, v)
            else:
                assert v["groups"][0][attr] is False, (attr, cap, b)
                assert v["background"] in (None, True), (cap, v)
                # Other groups keep their verdicts unless the change put
                # something of theirs in play (a count change can fill a
                # named cell of nobody's; other groups stay right).
                for r in v["groups"][1:]:
                    assert all(r.values()), (attr, cap, v["groups"])
            assert not v["overall"]
        tried[attr] = n
    print("perturbations judged:", tried)


def test_generator_is_deterministic(_):
    a = scenes.generate(50, 7)
    b = scenes.generate(50, 7)
    assert a == b
    assert scenes.generate(50, 8) != a
    for (s, _c), (t, _d) in zip(a[:10], b[:10]):
        assert scenes.render(s, SIZE).tobytes() == \
            scenes.render(t, SIZE).tobytes()
    # The CLI writes identical bytes for the same seed.
    outs = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(2):
            d = os.path.join(tmp, str(k))
            subprocess.run(["/usr/bin/python3",
                            os.path.join(harness.ROOT, "tools", "train",
                                         "scenes.py"),
                            "--count", "12", "--seed", "3", "--size", "64",
                            "--out", d], check=True, timeout=60)
            outs.append({f: open(os.path.join(d, f), "rb").read()
                         for f in sorted(os.listdir(d))})
        assert outs[0] == outs[1]
        assert len(outs[0]) == 13
        # And the PNGs read back as rendered.
        spec, _ = scenes.generate(1, 3)[0]
        got = scenes.read_png(os.path.join(tmp, "0", "000000.png"))
        assert np.array_equal(got, scenes.render(spec, 64))


def test_layouts(_):
    # Canonical: a caption fixes the cells. Two or three objects in their
    # fixed cells, never neighbours; a single object in the cell its
    # caption names, the centre when it names none.
    rng = np.random.default_rng(SEED + 3)
    for split in ("train", "test"):
        for _ in range(300):
            spec, cap = scenes.sample(rng, split)
            cells = [tuple(o["cell"]) for o in spec["objects"]]
            g = spec["groups"][0]
            if g["count"] > 1:
                assert cells == scenes.CANONICAL_CELLS[g["count"]], spec
                assert all(abs(a[0] - b[0]) + abs(a[1] - b[1]) > 1
                           for a in cells for b in cells if a != b)
            else:
                named = judge.parse_prompt(cap)["groups"][0]["position"]
                assert cells == [scenes.POSITIONS[named or "centre"]], \
                    (cap, cells)
    # Random: the autoencoder's scenes put any count anywhere.
    seen = {}
    for spec, _c in scenes.generate(400, SEED + 4, layout="random"):
        n = len(spec["objects"])
        seen.setdefault(n, set()).add(
            tuple(sorted(tuple(o["cell"]) for o in spec["objects"])))
    assert all(len(v) >= 8 for v in seen.values()), \
        {k: len(v) for k, v in seen.items()}


def test_held_out_captions_never_in_training(_):
    train = scenes.generate(20000, SEED)
    test = scenes.generate(100, SEED + 1, "test")
    seen = {scenes.normalise(c) for _, c in train}
    held = [c for _, c in test]
    assert all(scenes.is_held_out(c) for c in held)
    assert not any(scenes.is_held_out(c) for _, c in train)
    leaked = [c for c in held if scenes.normalise(c) in seen]
    assert not leaked, leaked
    # Reserved compositions: in the test set, never in training.
    def reserved(cap):
        p = judge.parse_prompt(cap)
        return any((g["colour"], g["shape"], p["background"]) in
                   set(scenes.RESERVED) for g in p["groups"])
    assert not any(reserved(c) for _, c in train)
    n = sum(reserved(c) for c in held)
    print("held out: %d captions, %d with reserved combinations"
          % (len(held), n))
    assert n >= 10


def test_captions_cover_every_attribute(_):
    got = {k: set() for k in ("colour", "shape", "size", "position",
                              "count", "background")}
    for _s, cap, _img in ground_truth():
        p = judge.parse_prompt(cap)
        if p["background"]:
            got["background"].add(p["background"])
        for g in p["groups"]:
            for k in ("colour", "shape", "size", "position", "count"):
                if g[k] is not None:
                    got[k].add(g[k])
    want = {"colour": set(scenes.COLOURS), "shape": set(scenes.SHAPES),
            "size": set(scenes.SIZES), "position": set(scenes.POSITIONS),
            "count": {1, 2, 3}, "background": set(scenes.COLOURS)}
    for k in want:
        assert got[k] == want[k], (k, want[k] - got[k])
    assert len(scenes.COLOURS) >= 8
