"""High-precision export (issue 29) through a real stack (lighttpd, kilnd
with kiln-micro, MariaDB): a render's downloads as 16-bit PNG, 16-bit
and 32-bit float TIFF and OpenEXR float and half, read back with readers
that share no code with kiln's writers (tifffile for TIFF, OpenEXR's own
exrheader for the EXR header, and small decoders written here for PNG
and ZIP-compressed EXR pixels). Each must carry more than 256 distinct
levels where the 8-bit PNG has fewer, equal the PNG after quantising
back to 8 bits, and hold the PNG's parameters text; the job's
output_format puts that format in its ZIP, whose manifest names every
file."""

import hashlib
import io
import json
import os
import re
import struct
import subprocess
import zipfile
import zlib

import numpy as np
from PIL import Image

from common import (api, browser, error_of, is_json, one, post_form,
                    rendered, user_with_key)

STACK = dict(server="lighttpd", heartbeat=1, daemon_name="export-1",
             extra_conf="[limits]\nsubmit_burst = 100000\n")

# A smooth render: kiln-micro at 128x128 gives thousands of 16-bit
# levels (checked below, not assumed).
RECIPE = {"prompt": "a soft gradient sky, \u65e5\u672c <glow> & haze",
          "negative_prompt": "noise", "steps": 2, "batch_count": 2,
          "seed": 11, "cfg_scale": 4, "sampler": "euler",
          "width": 128, "height": 128}

FORMATS = {  # name: (Content-Type, extension)
    "png16": ("image/png", "png"), "tiff16": ("image/tiff", "tif"),
    "tiff32": ("image/tiff", "tif"), "exr": ("image/x-exr", "exr"),
    "exr16": ("image/x-exr", "exr")}

_cache = {}


def fixture(s):
    """One user, key and rendered job shared by the tests (rendering is
    the slow part): (uid, key, job JSON)."""
    if "job" not in _cache:
        uid, key = user_with_key(s, prefix="exp")
        _cache["job"] = (uid, key, rendered(s, key, RECIPE, timeout=300))
    return _cache["job"]


def download(s, key, jid, idx, fmt=None):
    path = "/api/v1/images/%d-%d.png" % (jid, idx)
    if fmt is not None:
        path += "?format=" + fmt
    return api(s, "GET", path, key)


def png8(s, key, jid, idx):
    """The 8-bit PNG as served: (H x W x 3 uint8, its parameters text)."""
    r = download(s, key, jid, idx)
    assert r.status == 200, (r.status, r.text[:300])
    im = Image.open(io.BytesIO(r.body))
    assert im.mode == "RGB", im.mode
    return np.asarray(im), im.text["parameters"]


# ---- readers of our own -------------------------------------------------

def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def read_png16(data):
    """A 16-bit RGB PNG, decoded here: (H x W x 3 uint16, {keyword:
    text}) from its tEXt and iTXt chunks."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:16]
    pos, idat, text, ihdr = 8, b"", {}, None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        assert zlib.crc32(kind + body) == struct.unpack(
            ">I", data[pos + 8 + n:pos + 12 + n])[0], kind
        pos += 12 + n
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"tEXt":
            k, v = body.split(b"\0", 1)
            text[k.decode("latin-1")] = v.decode("latin-1")
        elif kind == b"iTXt":
            k, rest = body.split(b"\0", 1)
            assert rest[0] == 0, "compressed iTXt"
            rest = rest[2:]
            _lang, rest = rest.split(b"\0", 1)
            _tk, v = rest.split(b"\0", 1)
            text[k.decode("latin-1")] = v.decode("utf-8")
        elif kind == b"sRGB":
            # The rendering intent, recorded beside the texts (under a
            # name no keyword can have) for the tests to check.
            text[" sRGB"] = body.decode("latin-1")
        elif kind == b"IEND":
            break
    w, h, depth, ctype, _, _, interlace = ihdr
    assert (depth, ctype, interlace) == (16, 2, 0), ihdr
    raw, bpp, stride = zlib.decompress(idat), 6, w * 6
    out, prev = bytearray(), bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + (0, a, b, (a + b) // 2,
                                  _paeth(a, b, c))[f]) & 0xff
        out += line
        prev = line
    return (np.frombuffer(bytes(out), ">u2").reshape(h, w, 3)
            .astype(np.uint16), text)


def read_exr(data):
    """A single-part scanline OpenEXR file with R, G, B (half or float)
    and no or ZIP compression, decoded here: (H x W x 3 float32,
    {attribute: (type, raw bytes)})."""
    assert data[:4] == b"\x76\x2f\x31\x01", data[:8]
    pos, attrs = 8, {}
    while data[pos] != 0:
        end = data.index(b"\0", pos)
        name = data[pos:end].decode()
        tend = data.index(b"\0", end + 1)
        typ = data[end + 1:tend].decode()
        size = struct.unpack("<i", data[tend + 1:tend + 5])[0]
        attrs[name] = (typ, data[tend + 5:tend + 5 + size])
        pos = tend + 5 + size
    pos += 1
    x0, y0, x1, y1 = struct.unpack("<iiii", attrs["dataWindow"][1])
    w, h = x1 - x0 + 1, y1 - y0 + 1
    comp = attrs["compression"][1][0]
    assert comp in (0, 3), comp   # none, zip (16 lines)
    per = 16 if comp == 3 else 1
    chans, cl = [], attrs["channels"][1]
    i = 0
    while cl[i] != 0:
        end = cl.index(b"\0", i)
        ptype = struct.unpack("<i", cl[end + 1:end + 5])[0]
        chans.append((cl[i:end].decode(), ptype))
        i = end + 17
    size = {1: 2, 2: 4}
    nchunks = (h + per - 1) // per
    offsets = struct.unpack("<%dQ" % nchunks, data[pos:pos + 8 * nchunks])
    planes = {c: np.zeros((h, w), np.float32) for c, _ in chans}
    for off in offsets:
        y, n = struct.unpack("<ii", data[off:off + 8])
        lines = min(per, y1 - y + 1)
        want = lines * w * sum(size[t] for _, t in chans)
        blob = data[off + 8:off + 8 + n]
        if n < want:  # stored raw when compressing did not pay
            d = np.frombuffer(zlib.decompress(blob),
                              np.uint8).astype(np.int64)
            # OpenEXR's ZIP predictor, then its two interleaved halves.
            t = (np.cumsum(np.concatenate(([d[0]], d[1:] - 128))) %
                 256).astype(np.uint8)
            half = (len(t) + 1) // 2
            raw = np.empty_like(t)
            raw[0::2], raw[1::2] = t[:half], t[half:]
            blob = raw.tobytes()
        assert len(blob) == want, (len(blob), want)
        p = 0
        for line in range(lines):
            for c, ptype in chans:  # stored in the header's order
                k = size[ptype] * w
                v = np.frombuffer(blob[p:p + k], "<f2" if ptype == 1
                                  else "<f4").astype(np.float32)
                planes[c][y - y0 + line] = v
                p += k
    return np.stack([planes["R"], planes["G"], planes["B"]], -1), attrs


def exr_string(attrs, name):
    typ, raw = attrs[name]
    assert typ == "string", (name, typ)
    return raw.decode("utf-8")


# ---- checks -------------------------------------------------------------

def q8_of_16(a):
    """16-bit levels back to 8 bits: round(q * 255 / 65535)."""
    return np.rint(a.astype(np.float64) / 257.0).astype(np.uint8)


def q8_of_float(a):
    """Floats back to 8 bits as the engine quantises them:
    lrintf(v * 255.0f), in float32."""
    return np.rint(np.clip(a.astype(np.float32), 0, 1) *
                   np.float32(255)).astype(np.uint8)


def srgb_decode(v):
    """The sRGB EOTF (IEC 61966-2-1), float64: display 0..1 to linear."""
    v = np.clip(np.asarray(v, np.float64), 0, 1)
    return np.where(v <= 0.04045, v / 12.92,
                    ((v + 0.055) / 1.055) ** 2.4)


def srgb_encode(l):
    """The sRGB OETF, float64: linear 0..1 back to display values."""
    l = np.clip(np.asarray(l, np.float64), 0, 1)
    return np.where(l <= 0.0031308, l * 12.92,
                    1.055 * l ** (1 / 2.4) - 0.055)


def q8_of_linear(a):
    """Linear light back to the PNG's bytes: round(OETF(l) * 255)."""
    return np.rint(srgb_encode(a) * 255).astype(np.uint8)


def levels(a):
    return len(np.unique(a))


def check_levels(hi, lo, where):
    """More than 256 levels where the PNG has fewer."""
    assert levels(hi) > 256, "%s: %d levels" % (where, levels(hi))
    assert levels(lo) < levels(hi), (where, levels(lo), levels(hi))


def fetch(s, key, jid, idx, fmt):
    r = download(s, key, jid, idx, fmt)
    assert r.status == 200, (fmt, r.status, r.text[:300])
    ctype, ext = FORMATS[fmt]
    assert r.headers.get("content-type") == ctype, r.headers
    cd = r.headers.get("content-disposition", "")
    assert cd == 'attachment; filename="kiln-%d-%d-%s.%s"' % (
        jid, idx, fmt, ext), cd
    return r.body


def test_png16_has_more_levels_matches_the_png_and_carries_the_text(s):
    uid, key, j = fixture(s)
    for idx in (0, 1):
        p8, params = png8(s, key, j["id"], idx)
        px, text = read_png16(fetch(s, key, j["id"], idx, "png16"))
        assert px.shape == p8.shape, (px.shape, p8.shape)
        assert np.array_equal(q8_of_16(px), p8), "png16 %d" % idx
        check_levels(px, p8, "png16 %d" % idx)
        assert text["parameters"] == params, text
        assert params.startswith(RECIPE["prompt"]), params
        assert text[" sRGB"] == "\0", text
        assert "Seed: %d" % (RECIPE["seed"] + idx) in params, params


def check_tiff(s, fmt, dtype):
    import tifffile
    uid, key, j = fixture(s)
    for idx in (0, 1):
        p8, params = png8(s, key, j["id"], idx)
        t = tifffile.TiffFile(io.BytesIO(fetch(s, key, j["id"], idx, fmt)))
        page = t.pages[0]
        a = page.asarray()
        assert a.dtype == dtype and a.shape == p8.shape, (a.dtype, a.shape)
        # 16-bit: the PNG's sRGB encoding; float: linear light.
        q = q8_of_16(a) if dtype == np.uint16 else q8_of_linear(a)
        assert np.array_equal(q, p8), "%s %d" % (fmt, idx)
        check_levels(a, p8, "%s %d" % (fmt, idx))
        assert page.tags["ImageDescription"].value == params
        xmp = page.tags["XMP"].value
        xmp = xmp.decode("utf-8") if isinstance(xmp, bytes) else xmp
        esc = (params.replace("&", "&amp;").replace("<", "&lt;")
               .replace(">", "&gt;"))
        assert "<kiln:parameters>%s</kiln:parameters>" % esc in xmp, xmp
        assert "<dc:description>" in xmp, xmp
        assert ("<kiln:colorSpace>linear sRGB" if dtype == np.float32 else
                "<kiln:colorSpace>sRGB (display-referred") in xmp, xmp
        check_icc(page.tags["InterColorProfile"].value,
                  linear=dtype == np.float32)
        t.close()


def srgb_oetf(v):
    return np.where(v <= 0.0031308, v * 12.92,
                    1.055 * np.power(v, 1 / 2.4) - 0.055)


def check_icc(icc, linear):
    """The TIFF's ICC profile as littlecms (PIL's ImageCms) reads it: an
    RGB display profile whose conversion to lcms's own sRGB leaves an
    sRGB ramp as it is (16-bit) or encodes a linear one with the sRGB
    curve (float), within one 8-bit step."""
    from PIL import ImageCms
    prof = ImageCms.ImageCmsProfile(io.BytesIO(bytes(icc)))
    desc = ImageCms.getProfileDescription(prof)
    assert ("linear" in desc) == linear, desc
    assert prof.profile.xcolor_space == "RGB " and \
        prof.profile.device_class == "mntr", prof.profile.device_class
    ramp = Image.new("RGB", (256, 1))
    ramp.putdata([(i, i, i) for i in range(256)])
    out = ImageCms.applyTransform(ramp, ImageCms.buildTransform(
        prof, ImageCms.createProfile("sRGB"), "RGB", "RGB",
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC))
    got = np.array([px for px in out.getdata()], dtype=float)
    v = np.arange(256) / 255.0
    want = np.round((srgb_oetf(v) if linear else v) * 255)
    for c in range(3):
        assert np.abs(got[:, c] - want).max() <= 1, (c, got[:, c], want)


def test_tiff16_has_more_levels_matches_the_png_and_carries_the_text(s):
    check_tiff(s, "tiff16", np.uint16)


def test_tiff32_has_more_levels_matches_the_png_and_carries_the_text(s):
    check_tiff(s, "tiff32", np.float32)


def exrheader(data, tmpdir):
    """OpenEXR's own reader (the C++ library, exrheader) on the file:
    its text output."""
    path = os.path.join(tmpdir, "x.exr")
    with open(path, "wb") as f:
        f.write(data)
    r = subprocess.run(["exrheader", path], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def check_exr(s, fmt, pixel):
    uid, key, j = fixture(s)
    for idx in (0, 1):
        p8, params = png8(s, key, j["id"], idx)
        data = fetch(s, key, j["id"], idx, fmt)
        px, attrs = read_exr(data)
        assert px.shape == p8.shape, px.shape
        # Linear light: re-encoded with the sRGB OETF, the PNG's bytes.
        assert np.array_equal(q8_of_linear(px), p8), "%s %d" % (fmt, idx)
        check_levels(px, p8, "%s %d" % (fmt, idx))
        assert exr_string(attrs, "kilnTransfer").startswith(
            "linear sRGB"), attrs["kilnTransfer"]
        typ, raw = attrs["chromaticities"]
        assert typ == "chromaticities", typ
        assert np.array_equal(np.frombuffer(raw, "<f4"), np.array(
            [0.64, 0.33, 0.30, 0.60, 0.15, 0.06, 0.3127, 0.3290],
            np.float32)), np.frombuffer(raw, "<f4")
        assert exr_string(attrs, "parameters") == params
        assert exr_string(attrs, "comments") == params
        head = exrheader(data, s.dir)
        for c in "RGB":
            assert "    %s, %s, sampling 1 1" % (c, pixel) in head, head
        assert "parameters (type string)" in head, head
        assert "chromaticities (type chromaticities)" in head, head
        assert "compression (type compression): zip" in head, head


def test_exr_float_has_more_levels_matches_the_png_and_carries_the_text(s):
    check_exr(s, "exr", "32-bit floating-point")


def test_exr_half_has_more_levels_matches_the_png_and_carries_the_text(s):
    check_exr(s, "exr16", "16-bit floating-point")


def test_float_formats_agree_with_each_other(s):
    """TIFF 32 and EXR float hold the same floats (the master's in
    linear light), EXR half those to half precision, and the 16-bit
    files the same sRGB-encoded levels."""
    import tifffile
    uid, key, j = fixture(s)
    f32 = tifffile.imread(io.BytesIO(fetch(s, key, j["id"], 0, "tiff32")))
    exr, _ = read_exr(fetch(s, key, j["id"], 0, "exr"))
    assert np.array_equal(f32, exr)
    e16, _ = read_exr(fetch(s, key, j["id"], 0, "exr16"))
    assert np.abs(e16.astype(np.float64) - exr).max() <= 2.0 ** -10
    # Linear, not display values: mid-tones sit well below.
    p8, _ = png8(s, key, j["id"], 0)
    mid = (p8 > 64) & (p8 < 192)
    assert mid.any()
    assert (f32[mid] < p8[mid] / 255.0 - 0.05).all()
    t16 = tifffile.imread(io.BytesIO(fetch(s, key, j["id"], 0, "tiff16")))
    p16, _ = read_png16(fetch(s, key, j["id"], 0, "png16"))
    assert np.array_equal(t16, p16)
    # The 16-bit level is the sRGB encoding of the float's linear light
    # (to float precision; at a tie on an 8-bit bucket's edge, the next
    # level).
    assert np.abs(t16.astype(np.float64) - srgb_encode(f32) *
                  65535).max() <= 1.01


def test_unknown_format_is_400_naming_format(s):
    uid, key, j = fixture(s)
    for bad in ("tiff", "PNG16", "exr32", ""):
        e = error_of(download(s, key, j["id"], 0, bad), 400,
                     "validation_failed", "format=%r" % bad)
        assert "format" in e.get("fields", {}), e
    e = error_of(api(s, "GET", "/api/v1/images/%d-0.thumb.png?format=tiff16"
                     % j["id"], key), 400, "validation_failed", "thumb")
    assert "format" in e["fields"], e
    e = error_of(api(s, "GET", "/api/v1/jobs/%d/images.zip?format=gif"
                     % j["id"], key), 400, "validation_failed", "zip")
    assert "format" in e["fields"], e


def test_another_users_image_in_any_format_is_404(s):
    uid, key, j = fixture(s)
    other, okey = user_with_key(s, prefix="eve")
    for fmt in FORMATS:
        error_of(download(s, okey, j["id"], 0, fmt), 404, "not_found",
                 "%s of another user's image" % fmt)
    error_of(download(s, key, j["id"], 7, "tiff16"), 404, "not_found",
             "no such index")


def test_an_image_without_a_master_is_409_and_png_still_works(s):
    """An image rendered before kiln kept float masters: its PNG is
    served as ever, any other format is 409 no_master."""
    uid, key = user_with_key(s, prefix="old")
    j = rendered(s, key, dict(RECIPE, batch_count=1, width=64, height=64))
    png_key = one_path(s, j["id"])
    master = s.path("artifacts", re.sub(r"\.png$", ".exr", png_key))
    assert os.path.exists(master), master
    os.remove(master)
    e = error_of(download(s, key, j["id"], 0, "tiff16"), 409, "no_master",
                 "no master")
    assert "format=png" in e["message"], e
    r = download(s, key, j["id"], 0)
    assert r.status == 200 and r.body[:4] == b"\x89PNG", r.status
    r = download(s, key, j["id"], 0, "png")
    assert r.status == 200 and r.body[:4] == b"\x89PNG", r.status


def one_path(s, jid):
    rows = s.sql("SELECT path FROM job_images WHERE job_id = %d AND"
                 " idx = 0" % jid)
    assert len(rows) == 1, rows
    return rows[0][0]


def test_the_master_is_stored_beside_each_png(s):
    uid, key, j = fixture(s)
    for r in s.sql("SELECT path, idx FROM job_images WHERE job_id = %d"
                   % j["id"]):
        master = s.path("artifacts", re.sub(r"\.png$", ".exr", r[0]))
        with open(master, "rb") as f:
            px, attrs = read_exr(f.read())
        assert attrs["channels"][1].count(b"\0\x02\0\0\0") == 3
        assert px.shape == (RECIPE["height"], RECIPE["width"], 3)
        # The master keeps the PNG's display-encoded values; only a
        # download converts to linear.
        assert exr_string(attrs, "kilnTransfer").startswith("sRGB")
        p8, _ = png8(s, key, j["id"], int(r[1]))
        assert np.array_equal(q8_of_float(px), p8), r


def test_output_format_is_validated_and_shown(s):
    uid, key, j = fixture(s)
    assert j["output_format"] == "png", j
    r = api(s, "POST", "/api/v1/jobs", key, dict(RECIPE,
                                                 output_format="gif"))
    e = error_of(r, 400, "validation_failed", "output_format gif")
    assert "output_format" in e["fields"], e
    r = api(s, "POST", "/api/v1/jobs", key, {
        "kind": "upscale", "output_format": "tiff16",
        "init_image": "iVBORw0KGgo="})
    assert r.status == 400, (r.status, r.text[:300])
    assert "output_format" in is_json(r)["error"]["fields"], r.text


def test_zip_of_a_job_with_output_format_holds_both_and_names_them(s):
    uid, key = user_with_key(s, prefix="zipx")
    j = rendered(s, key, dict(RECIPE, output_format="tiff16"), timeout=300)
    assert j["output_format"] == "tiff16", j
    cookie, _ = browser(s, uid)
    for where, r in (
            ("api", api(s, "GET", "/api/v1/jobs/%d/images.zip" % j["id"],
                        key)),
            ("portal", s.request("GET", "/jobs/%d/images.zip" % j["id"],
                                 headers={"Cookie": cookie}, timeout=60))):
        assert r.status == 200, (where, r.status, r.text[:300])
        z = zipfile.ZipFile(io.BytesIO(r.body))
        man = json.loads(z.read("manifest.json"))
        want = sorted(["manifest.json"] +
                      ["kiln-%d-%d.png" % (j["id"], i) for i in (0, 1)] +
                      ["kiln-%d-%d-tiff16.tif" % (j["id"], i)
                       for i in (0, 1)])
        assert sorted(z.namelist()) == want, (where, z.namelist())
        named = sorted(f["name"] for f in man["files"])
        assert sorted(named + ["manifest.json"]) == want, (where, named)
        assert man["job"]["output_format"] == "tiff16"
        for f in man["files"]:
            data = z.read(f["name"])
            assert f["sha256"] == hashlib.sha256(data).hexdigest()
            assert f["bytes"] == len(data)
            assert f["format"] == ("tiff16" if f["name"].endswith(".tif")
                                   else "png"), f
            served = download(s, key, j["id"], f["index"],
                              None if f["format"] == "png" else "tiff16")
            assert served.body == data, f["name"]
    # ?format= on the ZIP picks another format for this download.
    r = api(s, "GET", "/api/v1/jobs/%d/images.zip?format=exr" % j["id"], key)
    z = zipfile.ZipFile(io.BytesIO(r.body))
    assert "kiln-%d-1-exr.exr" % j["id"] in z.namelist(), z.namelist()
    assert not any(n.endswith(".tif") for n in z.namelist()), z.namelist()


def test_generate_page_offers_the_formats_and_job_page_links_them(s):
    uid, key, j = fixture(s)
    cookie, _ = browser(s, uid)
    r = s.request("GET", "/generate", headers={"Cookie": cookie})
    assert r.status == 200, r.status
    for fmt in ["png"] + list(FORMATS):
        assert '<option value="%s"' % fmt in r.text, fmt
    assert 'name="output_format"' in r.text
    r = s.request("GET", "/jobs/%d" % j["id"], headers={"Cookie": cookie})
    assert r.status == 200, r.status
    for fmt in FORMATS:
        assert "/api/v1/images/%d-0.png?format=%s" % (j["id"], fmt) in \
            r.text, fmt


def test_a_shared_link_serves_every_format_without_the_job_id(s):
    """A shared job's images in each format, no login: the owner's file
    byte for byte, a file name without the job's id, the same
    400 for a bad format, 404 once the link is withdrawn; the shared
    page links the formats."""
    uid, key = user_with_key(s, prefix="shr")
    j = rendered(s, key, dict(RECIPE, batch_count=1, width=64, height=64))
    r = api(s, "POST", "/api/v1/jobs/%d/share" % j["id"], key)
    assert r.status == 200, (r.status, r.text[:300])
    tok = one(s, "SELECT share_token FROM jobs WHERE id = %d" % j["id"])
    base = "/api/v1/shared/%s/0.png" % tok
    for fmt, (ctype, ext) in FORMATS.items():
        r = api(s, "GET", base + "?format=" + fmt)
        assert r.status == 200, (fmt, r.status, r.text[:300])
        assert r.headers.get("content-type") == ctype, r.headers
        assert r.headers.get("content-disposition") == \
            'attachment; filename="kiln-shared-0-%s.%s"' % (fmt, ext), \
            r.headers
        assert str(j["id"]) not in r.headers.get("content-disposition")
        # The same file as the owner's download: pixels and metadata.
        assert r.body == fetch(s, key, j["id"], 0, fmt), fmt
    # The plain PNG is unchanged by it.
    r = api(s, "GET", base + "?format=png")
    assert r.status == 200 and r.body[:4] == b"\x89PNG", r.status
    e = error_of(api(s, "GET", base + "?format=jpeg"), 400,
                 "validation_failed", "unknown format")
    assert "format" in e["fields"], e
    e = error_of(api(s, "GET", "/api/v1/shared/%s/0.thumb.png?format=exr"
                     % tok), 400, "validation_failed", "thumbnail")
    assert "format" in e["fields"], e
    page = s.request("GET", "/s/" + tok)
    assert page.status == 200, page.status
    for fmt in FORMATS:
        assert "%s?format=%s" % (base, fmt) in page.text, fmt
    r = api(s, "DELETE", "/api/v1/jobs/%d/share" % j["id"], key)
    assert r.status in (200, 204), (r.status, r.text[:300])
    error_of(api(s, "GET", base + "?format=tiff16"), 404, "not_found",
             "withdrawn link")


def test_generate_form_stores_the_chosen_format_and_refuses_others(s):
    uid, key = user_with_key(s, prefix="form")
    cookie, csrf = browser(s, uid)
    r = post_form(s, cookie, "/generate", {
        "csrf": csrf, "prompt": "a red star", "steps": "2",
        "width": "64", "height": "64", "output_format": "exr16"})
    assert r.status == 303, (r.status, r.text[:500])
    jid = int(r.headers["location"].rsplit("/", 1)[1])
    assert one(s, "SELECT output_format FROM jobs WHERE id = %d" % jid) \
        == "exr16"
    r = post_form(s, cookie, "/generate", {
        "csrf": csrf, "prompt": "a red star", "output_format": "bmp"})
    assert r.status == 422, r.status
    assert re.search(r'<p class="field-error">output_format [^<]+</p>',
                     r.text), r.text[-2000:]


# docs/manifest.md's first example, at kiln-micro's size, its subject
# with characters XML and Latin-1 cannot hold as they are.
SCENE = {"version": 1,
         "subject": "a matte black ceramic mug \u65e5\u672c <&> \"rim\"",
         "environment": "on a seamless white sweep",
         "camera": {"angle": "three-quarter-view", "distance": "close-up",
                    "lens": "85mm-portrait", "aperture": 8},
         "lighting": {"setup": "softbox", "colour_temperature_k": 5600},
         "materials": ["ceramic"], "style": "e-commerce",
         "negative": "chipped rim", "output": {"width": 128, "height": 128},
         "seed": 1234}


def xmp_manifest(xmp):
    """kiln:manifest's text out of an XMP packet, XML-unescaped."""
    import html as h
    m = re.search(r"<kiln:manifest>(.*?)</kiln:manifest>", xmp, re.S)
    assert m, xmp
    return h.unescape(m.group(1))


def test_a_manifest_jobs_files_carry_its_stored_manifest(s):
    """A job submitted with a scene manifest and output_format tiff16,
    rendered: the TIFF's XMP (served and in the ZIP), the EXR header's
    kilnManifest and the 16-bit PNG's kilnManifest chunk each hold the
    manifest the job stored."""
    import tifffile
    uid, key = user_with_key(s, prefix="expman")
    j = rendered(s, key, {"manifest": SCENE, "steps": 2,
                          "output_format": "tiff16"}, timeout=300)
    assert j["output_format"] == "tiff16", j
    # (as hex: the client's batch output escapes backslashes)
    stored = json.loads(bytes.fromhex(one(
        s, "SELECT HEX(manifest) FROM jobs WHERE id = %d" % j["id"]))
        .decode("utf-8"))
    assert stored == SCENE == j["manifest"], stored
    t = tifffile.TiffFile(io.BytesIO(fetch(s, key, j["id"], 0, "tiff16")))
    xmp = t.pages[0].tags["XMP"].value
    xmp = xmp.decode("utf-8") if isinstance(xmp, bytes) else xmp
    t.close()
    assert json.loads(xmp_manifest(xmp)) == stored
    for fmt in ("exr", "exr16"):
        _, attrs = read_exr(fetch(s, key, j["id"], 0, fmt))
        assert json.loads(exr_string(attrs, "kilnManifest")) == stored, fmt
    _, text = read_png16(fetch(s, key, j["id"], 0, "png16"))
    assert json.loads(text["kilnManifest"]) == stored
    # The job's ZIP holds the TIFF with it too.
    r = api(s, "GET", "/api/v1/jobs/%d/images.zip" % j["id"], key)
    assert r.status == 200, r.status
    z = zipfile.ZipFile(io.BytesIO(r.body))
    t = tifffile.TiffFile(io.BytesIO(z.read("kiln-%d-0-tiff16.tif"
                                            % j["id"])))
    xmp = t.pages[0].tags["XMP"].value
    xmp = xmp.decode("utf-8") if isinstance(xmp, bytes) else xmp
    t.close()
    assert json.loads(xmp_manifest(xmp)) == stored
