"""scenes.py - deterministic synthetic captioned scenes for training and
judging kiln-micro: 1-3 flat shapes on a plain background, rendered with
numpy (4x supersampled), captioned in varied English, with a fixed
held-out rule so test prompts are never seen in training.

  /usr/bin/python3 tools/train/scenes.py --count N --seed S --size 64 \
      --out DIR [--split train|test] [--layout canonical|random]

writes DIR/NNNNNN.png and DIR/captions.jsonl (file, caption, spec)."""

import argparse
import hashlib
import json
import os
import re
import struct
import zlib

import numpy as np

# Fixed palette. Pairs are at least ~40 CIE Lab units apart (closest:
# white/grey, red/orange) so a nearest-colour judge separates them with
# margin even on slightly off-colour model output. Brown was dropped: it sat
# too close to grey, orange and black.
PALETTE = {
    "red": (220, 40, 40),
    "orange": (250, 135, 20),
    "yellow": (245, 225, 40),
    "green": (40, 170, 60),
    "cyan": (40, 210, 225),
    "blue": (30, 80, 235),
    "purple": (145, 35, 150),
    "pink": (245, 140, 200),
    "white": (245, 245, 245),
    "grey": (135, 135, 135),
    "black": (25, 25, 25),
}
COLOURS = list(PALETTE)
SHAPES = ["circle", "square", "triangle", "star"]
SIZES = ["small", "large"]
# Positions name cells of a 3x3 grid (row, col).
POSITIONS = {
    "top left": (0, 0), "top": (0, 1), "top right": (0, 2),
    "left": (1, 0), "centre": (1, 1), "right": (1, 2),
    "bottom left": (2, 0), "bottom": (2, 1), "bottom right": (2, 2),
}
POSITION_NAMES = list(POSITIONS)
CELL_POSITION = {v: k for k, v in POSITIONS.items()}

# Object extent as a fraction of a cell (a third of the image). The gap
# between small and large leaves the judge a clear threshold
# (SIZE_THRESHOLD); large + jitter stays inside its cell so objects never
# touch.
SIZE_FRAC = {"small": 0.58, "large": 0.82}
SIZE_JITTER = 0.04          # relative
POS_JITTER = 0.03           # fraction of a cell
# Judge: measured extent/cell above this is "large". Measured extents run
# 0.47-0.66 (small) and 0.75-0.89 (large; star tips render faint) on 1500
# generated scenes.
SIZE_THRESHOLD = 0.70
SUPERSAMPLE = 4

# Held out: captions naming these (object colour, shape, background) are
# never trained on, so the test set probes composition, plus ~5% of all
# captions by a hash of their normalised text.
RESERVED = [("yellow", "star", "blue"), ("red", "triangle", "white"),
            ("green", "circle", "black"), ("blue", "square", "yellow"),
            ("pink", "star", "grey"), ("cyan", "triangle", "purple")]
HOLDOUT_MOD = 20

# Layouts. "random": each object in a random free cell (what the
# autoencoder trains on, so it can draw any shape anywhere). "canonical"
# (the default: the UNet's data and the test prompts): a caption fixes
# the picture up to jitter. Two objects sit left and right of the centre,
# three at top centre, bottom left and bottom right (no two in
# neighbouring cells, so they stay apart even drawn a little too large), a
# single object whose caption names no position sits in the centre, and
# every other position is named. A caption-to-image map with one answer
# is what a model this small learns in two CPU hours; drawing one of 84
# placements of three stars is not.
LAYOUTS = ("canonical", "random")
CANONICAL_CELLS = {2: [(1, 0), (1, 2)], 3: [(0, 1), (2, 0), (2, 2)]}

NUMBER_WORDS = {1: ["a", "one", "a single"], 2: ["two", "a pair of"],
                3: ["three"]}
POS_PHRASES = {
    "left": ["on the left", "on the left side", "to the left"],
    "right": ["on the right", "on the right side", "to the right"],
    "top": ["at the top", "along the top", "near the top"],
    "bottom": ["at the bottom", "along the bottom", "near the bottom"],
    "centre": ["in the centre", "in the center", "in the middle"],
}
for _v in ("top", "bottom"):
    for _h in ("left", "right"):
        _p = "%s %s" % (_v, _h)
        _u = {"top": "upper", "bottom": "lower"}[_v]
        POS_PHRASES[_p] = ["in the %s corner" % _p, "in the %s" % _p,
                           "at the %s" % _p, "in the %s %s corner" % (_u, _h),
                           "in the %s-%s corner" % (_v, _h)]
BG_PHRASES = ["on {a} {c} background", "against {a} {c} background",
              "with {a} {c} background", "on a plain {c} background",
              "over {a} {c} backdrop"]
LEADS = ["an image of", "a picture of", "a drawing of", "a simple drawing of"]


# ---------------------------------------------------------------- specs

def _choice(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def sample_spec(rng, layout="canonical"):
    """A scene: background, one group of 1-3 identical objects (count,
    colour, shape, size; a named position sometimes when it is a single
    object), and each object's cell and jitter.

    One kind of object per scene, not several: binding separate colours,
    shapes and counts to separate objects is more than a model of this
    size learns in the two CPU hours it is trained for (the first
    kiln-micro, trained on mixed scenes, scored at noise level on counts
    and shapes)."""
    bg = _choice(rng, COLOURS)
    groups = [{"count": int(rng.integers(1, 4)),
               "colour": _choice(rng, [x for x in COLOURS if x != bg]),
               "shape": _choice(rng, SHAPES), "size": _choice(rng, SIZES),
               "position": None}]
    cells = [(r, c) for r in range(3) for c in range(3)]
    taken = set()
    # A single object may have a named position.
    for g in groups:
        if g["count"] == 1 and rng.random() < 0.75:
            free = [p for p in POSITION_NAMES if POSITIONS[p] not in taken]
            g["position"] = _choice(rng, free)
            taken.add(POSITIONS[g["position"]])
    objects = []
    for gi, g in enumerate(groups):
        for _ in range(g["count"]):
            if g["position"] is not None:
                cell = POSITIONS[g["position"]]
            else:
                free = [x for x in cells if x not in taken]
                cell = free[int(rng.integers(len(free)))]
                taken.add(cell)
            objects.append({
                "group": gi, "shape": g["shape"], "colour": g["colour"],
                "size": g["size"], "cell": list(cell),
                "dx": float(rng.uniform(-POS_JITTER, POS_JITTER)),
                "dy": float(rng.uniform(-POS_JITTER, POS_JITTER)),
                "scale": float(rng.uniform(1 - SIZE_JITTER,
                                           1 + SIZE_JITTER))})
    if layout == "canonical":
        # The drawn cells are replaced, not left undrawn, so "random"
        # keeps giving the scenes it gave before this layout existed.
        g = groups[0]
        for k, o in enumerate(objects):
            o["cell"] = list(CANONICAL_CELLS[g["count"]][k]
                             if g["count"] > 1 else
                             POSITIONS[g["position"] or "centre"])
    return {"background": bg, "groups": groups, "objects": objects}


# ---------------------------------------------------------------- captions

def _article(word):
    return "an" if word[0] in "aeiou" else "a"


def _noun_phrase(rng, g, name_size):
    words = ([g["size"]] if name_size else []) + [g["colour"],
                                                   g["shape"] +
                                                   ("s" if g["count"] > 1
                                                    else "")]
    det = _choice(rng, NUMBER_WORDS[g["count"]])
    if det == "a":
        det = _article(words[0])
    return det + " " + " ".join(words)


def _join(items, rng):
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        return items[0] + _choice(rng, [" and ", " with ", ", and "]) + \
            items[1]
    return ", ".join(items[:-1]) + _choice(rng, [" and ", ", and "]) + \
        items[-1]


def make_caption(rng, spec, layout="canonical"):
    """Varied English naming every group's colour, shape and count; size,
    position and background only sometimes (the judge scores what the
    caption names). In the canonical layout a position, where there is
    one, is always named: no position means the centre."""
    groups = spec["groups"]
    name_size = rng.random() < 0.8
    name_bg = rng.random() < 0.6
    name_pos = rng.random() < 0.85 or layout == "canonical"
    bg = spec["background"]
    bgp = _choice(rng, BG_PHRASES).format(a=_article(bg), c=bg)
    nps = []
    for g in groups:
        np_ = _noun_phrase(rng, g, name_size)
        if name_pos and g["position"]:
            np_ += " " + _choice(rng, POS_PHRASES[g["position"]])
        nps.append(np_)
    body = _join(nps, rng)
    form = int(rng.integers(6))
    if form == 5 and len(groups) == 1 and name_pos and groups[0]["position"]:
        # Position first: "in the top left corner, a large red star".
        g = groups[0]
        body = _choice(rng, POS_PHRASES[g["position"]]) + ", " + \
            _noun_phrase(rng, g, name_size)
        form = 0
    elif form == 5:
        form = 1
    if form == 0:
        text = body + (" " + bgp if name_bg else "")
    elif form == 1:
        text = ("on %s %s background, " % (_article(bg), bg) + body) \
            if name_bg else body
    elif form == 2:
        text = ("%s %s background with " % (_article(bg), bg) + body) \
            if name_bg else body
    elif form == 3:
        text = _choice(rng, LEADS) + " " + body + (" " + bgp if name_bg
                                                   else "")
    else:
        verb = "there are" if body.split()[0] in ("two", "three") \
            else "there is"
        text = verb + " " + body + (" " + bgp if name_bg else "")
    r = rng.random()
    if r < 0.2:
        text = text[0].upper() + text[1:]
    if r > 0.85:
        text += "."
    return text


def normalise(caption):
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", caption.lower()).split())


def is_held_out(caption):
    """A function of the caption text only, so a held-out caption can never
    also be a training caption."""
    t = normalise(caption)
    h = int.from_bytes(hashlib.sha256(t.encode()).digest()[:4], "big")
    if h % HOLDOUT_MOD == 0:
        return True
    for col, shp, bg in RESERVED:
        if re.search(r"\b%s %ss?\b" % (col, shp), t) and \
                re.search(r"\b%s (background|backdrop)\b" % bg, t):
            return True
    return False


def sample(rng, split="train", layout="canonical"):
    """(spec, caption) of the given split. The test split sometimes forces
    a reserved combination: at 4% of draws about a third of test captions
    end up naming one (the rest are held out by the hash)."""
    while True:
        spec = sample_spec(rng, layout)
        if split == "test" and rng.random() < 0.04:
            col, shp, bg = RESERVED[int(rng.integers(len(RESERVED)))]
            if spec["background"] != col and \
                    all((g["colour"], g["shape"]) != (col, shp)
                        for g in spec["groups"]):
                old = spec["groups"][0]
                spec["background"] = bg
                old["colour"], old["shape"] = col, shp
                for o in spec["objects"]:
                    if o["group"] == 0:
                        o["colour"], o["shape"] = col, shp
                # Other groups must not take the new background colour.
                if any(g["colour"] == bg for g in spec["groups"]):
                    continue
        caption = make_caption(rng, spec, layout)
        if is_held_out(caption) == (split == "test"):
            return spec, caption


def generate(count, seed, split="train", layout="canonical"):
    rng = np.random.default_rng(seed)
    return [sample(rng, split, layout) for _ in range(count)]


# ---------------------------------------------------------------- render

def _polygon_mask(x, y, pts):
    """Even-odd point-in-polygon for arrays of sample points."""
    inside = np.zeros(x.shape, bool)
    n = len(pts)
    for i in range(n):
        x1, y1 = pts[i]
        x2, y2 = pts[(i + 1) % n]
        if y1 == y2:
            continue
        cond = (y1 > y) != (y2 > y)
        xi = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        inside ^= cond & (x < xi)
    return inside


def shape_mask(shape, x, y, cx, cy, s):
    """Coverage of a shape of extent s (bounding box side) centred at
    (cx, cy); shapes are upright and axis-aligned."""
    h = s / 2.0
    if shape == "circle":
        return (x - cx) ** 2 + (y - cy) ** 2 <= h * h
    if shape == "square":
        return (np.abs(x - cx) <= h) & (np.abs(y - cy) <= h)
    if shape == "triangle":
        return _polygon_mask(x, y, [(cx, cy - h), (cx + h, cy + h),
                                    (cx - h, cy + h)])
    if shape == "star":
        # 5 points, inner radius 0.45 R: spikes stay a few pixels wide at
        # 64x64; scaled so the width (the larger extent) is s, then
        # centred on its bounding box.
        R = s / (2 * np.sin(np.radians(72)))
        ri = 0.45 * R
        top = -R
        bottom = R * np.cos(np.radians(36))
        off = -(top + bottom) / 2
        pts = []
        for k in range(10):
            a = np.radians(-90 + 36 * k)
            r = R if k % 2 == 0 else ri
            pts.append((cx + r * np.cos(a), cy + off + r * np.sin(a)))
        return _polygon_mask(x, y, pts)
    raise ValueError(shape)


def render(spec, size=64):
    """uint8 HxWx3 image of a spec, anti-aliased by supersampling."""
    ss = SUPERSAMPLE
    n = size * ss
    coords = (np.arange(n) + 0.5) / ss      # sample centres in pixel units
    y, x = np.meshgrid(coords, coords, indexing="ij")
    img = np.empty((n, n, 3), np.float32)
    img[:] = PALETTE[spec["background"]]
    cell = size / 3.0
    for o in spec["objects"]:
        r, c = o["cell"]
        cx = (c + 0.5 + o["dx"]) * cell
        cy = (r + 0.5 + o["dy"]) * cell
        s = SIZE_FRAC[o["size"]] * o["scale"] * cell
        m = shape_mask(o["shape"], x, y, cx, cy, s)
        img[m] = PALETTE[o["colour"]]
    img = img.reshape(size, ss, size, ss, 3).mean(axis=(1, 3))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- PNG

def write_png(path, img):
    img = np.ascontiguousarray(img, np.uint8)
    h, w = img.shape[:2]
    raw = b"".join(b"\x00" + img[i].tobytes() for i in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + \
            struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    data = b"\x89PNG\r\n\x1a\n" + \
        chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


def read_png(path):
    """8-bit non-interlaced grey/RGB/RGBA/grey+alpha PNG -> uint8 HxWx3
    (enough for our own files and the engine's)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("%s: not a PNG" % path)
    pos, idat = 8, []
    while pos < len(data):
        ln, t = struct.unpack(">I4s", data[pos:pos + 8])
        d = data[pos + 8:pos + 8 + ln]
        if t == b"IHDR":
            w, h, depth, ctype, _, _, inter = struct.unpack(">IIBBBBB", d)
        elif t == b"IDAT":
            idat.append(d)
        pos += 12 + ln
    if depth != 8 or inter != 0 or ctype not in (0, 2, 4, 6):
        raise ValueError("%s: unsupported PNG format" % path)
    bpp = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    out = np.zeros((h, stride), np.int32)
    prev = np.zeros(stride, np.int32)
    for i in range(h):
        ft = raw[i * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride,
                             i * (stride + 1) + 1).astype(np.int32)
        if ft == 0:
            cur = line
        elif ft == 2:
            cur = (line + prev) & 255
        else:
            cur = line.copy()
            for j in range(stride):
                a = cur[j - bpp] if j >= bpp else 0
                b = prev[j]
                if ft == 1:
                    cur[j] = (cur[j] + a) & 255
                elif ft == 3:
                    cur[j] = (cur[j] + ((a + b) >> 1)) & 255
                else:
                    c = prev[j - bpp] if j >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pr = a if pa <= pb and pa <= pc else (b if pb <= pc
                                                          else c)
                    cur[j] = (cur[j] + pr) & 255
        out[i] = cur
        prev = cur
    img = out.reshape(h, w, bpp).astype(np.uint8)
    if ctype in (0, 4):
        return np.repeat(img[:, :, :1], 3, axis=2)
    return img[:, :, :3]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--split", choices=["train", "test"], default="train")
    ap.add_argument("--layout", choices=LAYOUTS, default="canonical")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "captions.jsonl"), "w") as f:
        for i, (spec, cap) in enumerate(generate(args.count, args.seed,
                                                 args.split,
                                                 args.layout)):
            name = "%06d.png" % i
            write_png(os.path.join(args.out, name), render(spec, args.size))
            f.write(json.dumps({"file": name, "caption": cap,
                                "spec": spec}) + "\n")


if __name__ == "__main__":
    main()
