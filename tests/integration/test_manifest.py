"""Scene manifests and presets (issue 29) through a real stack (lighttpd,
kilnd with the default model, MariaDB): a job submitted with a manifest
keeps it and the prompt it compiled to (computed here from the preset rows
in the database, in docs/manifest.md's order); a field given twice and a
bad manifest are refused by name and JSON path; presets are made, edited
into new versions and deleted, someone else's are 404 and the site's are
the admins'; an old job's manifest compiles as it did with its recorded
versions; and a SKU CSV of 20 rows makes 20 rendered jobs and a ZIP whose
manifest names every file. Each test makes its own users."""

import hashlib
import io
import json
import os
import re
import urllib.parse
import zipfile

from common import (api, browser, error_of, is_json, job_count, make_key,
                    new_user, one, post_form, submit, user_with_key,
                    wait_db, wait_job)

STACK = dict(server="lighttpd", heartbeat=1, daemon_name="manifest-1",
             extra_conf="[limits]\nsubmit_burst = 100000\n"
                        "[tier default]\njobs_per_day = 1000000\n"
                        "max_queued = 100000\n")


def preset_body(s, kind, slug, version=None, owner=None):
    """A preset's body as the database holds it (not through the API)."""
    q = ("SELECT body FROM presets WHERE kind = '%s' AND slug = '%s' AND %s"
         " ORDER BY version DESC LIMIT 1" % (
             kind, slug, "owner_id IS NULL" if owner is None else
             "owner_id = %d" % owner))
    if version is not None:
        q = q.replace("ORDER BY", "AND version = %d ORDER BY" % version)
    return json.loads(one(s, q))


def expected_prompt(s, m):
    """docs/manifest.md's order, from the database's preset rows."""
    parts = [m["subject"]]
    parts += [preset_body(s, "material", x)["prompt"]
              for x in m.get("materials", [])]
    if "environment" in m:
        parts.append(m["environment"])
    cam = m.get("camera", {})
    for k in ("angle", "distance"):
        if k in cam:
            parts.append(cam[k].replace("-", " "))
    if "lens" in cam:
        parts.append(preset_body(s, "lens", cam["lens"])["prompt"])
    if "lens_mm" in cam:
        parts.append("%gmm" % cam["lens_mm"])
    if "aperture" in cam:
        parts.append("f/%g" % cam["aperture"])
    light = m.get("lighting", {})
    for k in ("setup", "time_of_day"):
        if k in light:
            parts.append(preset_body(s, "lighting", light[k])["prompt"])
    if "colour_temperature_k" in light:
        parts.append("%dK" % light["colour_temperature_k"])
    if "style" in m:
        parts.append(preset_body(s, "style", m["style"])["prompt"])
    return ", ".join(parts)


SHOT = {"subject": "a steel water bottle", "environment": "on wet rocks",
        "camera": {"angle": "low-angle", "distance": "close-up",
                   "lens": "85mm-portrait", "lens_mm": 85, "aperture": 2.8},
        "lighting": {"setup": "rim", "time_of_day": "golden-hour",
                     "colour_temperature_k": 4500},
        "materials": ["metal", "glass"], "style": "e-commerce",
        "negative": "dents", "output": {"width": 64, "height": 64},
        "seed": 42}


def fields_of(r, where):
    e = error_of(r, 400, "validation_failed", where)
    return e["fields"]


def test_a_manifest_job_keeps_its_manifest_and_compiled_prompt(s):
    uid, key = user_with_key(s, prefix="scene")
    j = submit(s, key, {"manifest": SHOT, "steps": 2})
    style = preset_body(s, "style", "e-commerce")
    assert j["manifest"] == SHOT, j["manifest"]
    assert j["prompt"] == expected_prompt(s, SHOT), j["prompt"]
    assert j["negative_prompt"] == ", ".join(
        [style["negative"], preset_body(s, "material", "glass")["negative"],
         "dents"])
    # steps given beside the manifest beat the style's; the rest are
    # the style's.
    assert (j["steps"], j["sampler"]) == (2, style["sampler"])
    assert float(j["cfg_scale"]) == float(style["cfg_scale"])
    assert (j["width"], j["height"], j["seed"]) == (64, 64, 42)
    assert [(p["kind"], p["slug"], p["version"], p["owner"])
            for p in j["manifest_presets"]] == [
        ("style", "e-commerce", 1, None), ("lens", "85mm-portrait", 1, None),
        ("lighting", "rim", 1, None), ("lighting", "golden-hour", 1, None),
        ("material", "metal", 1, None), ("material", "glass", 1, None)]
    row = s.sql("SELECT manifest, prompt FROM jobs WHERE id = %d" % j["id"])
    assert json.loads(row[0][0]) == SHOT
    assert row[0][1] == j["prompt"]
    done = wait_job(s, key, j["id"], ("succeeded", "failed"), timeout=180)
    assert done["status"] == "succeeded", done
    assert done["manifest"] == SHOT
    # The preview endpoint gives the same text.
    r = api(s, "POST", "/api/v1/manifests/compile", key, {"manifest": SHOT})
    assert r.status == 200, r.text[:500]
    c = is_json(r)
    assert c["prompt"] == j["prompt"]
    assert c["negative_prompt"] == j["negative_prompt"]
    assert c["job"]["steps"] == style["steps"]


def test_a_field_given_twice_is_refused_by_name(s):
    uid, key = user_with_key(s, prefix="twice")
    n = job_count(s)
    f = fields_of(api(s, "POST", "/api/v1/jobs", key,
                      {"manifest": SHOT, "prompt": "x"}), "prompt twice")
    assert "prompt" in f, f
    f = fields_of(api(s, "POST", "/api/v1/jobs", key,
                      {"manifest": SHOT, "seed": 1, "width": 64}),
                  "seed twice")
    assert set(f) == {"seed", "width"}, f
    assert job_count(s) == n


def test_the_batch_api_takes_manifests_all_or_nothing(s):
    uid, key = user_with_key(s, prefix="apibatch")
    n = job_count(s)
    good = {"manifest": dict(SHOT, seed=1), "steps": 1}
    bad = {"manifest": dict(SHOT, materials=["velvet"])}
    r = api(s, "POST", "/api/v1/jobs/batch", key, {"jobs": [good, bad]})
    f = fields_of(r, "one bad manifest")
    assert f == {"jobs[1].manifest": "$.materials[0]: no material preset"
                 " is called velvet"}, f
    assert job_count(s) == n
    r = api(s, "POST", "/api/v1/jobs/batch", key, {"jobs": [
        good, {"manifest": dict(SHOT, seed=2), "steps": 1}]})
    assert r.status == 202, r.text[:800]
    jobs = is_json(r)["jobs"]
    assert [j["manifest"]["seed"] for j in jobs] == [1, 2]
    assert all(j["prompt"] == expected_prompt(s, SHOT) for j in jobs)


def test_a_bad_manifest_is_refused_at_its_json_path(s):
    uid, key = user_with_key(s, prefix="badm")
    n = job_count(s)
    cases = [
        (dict(SHOT, camera={"lens_mm": 5}),
         "$.camera.lens_mm: must be between 8 and 800"),
        (dict(SHOT, lighting={"mood": "dark"}),
         "$.lighting.mood: is not a field of the manifest"),
        (dict(SHOT, materials=["metal", "velvet"]),
         "$.materials[1]: no material preset is called velvet"),
        ({"style": "editorial"}, "$.subject: is required"),
    ]
    for m, want in cases:
        f = fields_of(api(s, "POST", "/api/v1/jobs", key, {"manifest": m}),
                      want)
        assert f == {"manifest": want}, f
        r = api(s, "POST", "/api/v1/manifests/compile", key,
                {"manifest": m})
        e = error_of(r, 400, "validation_failed", want)
        assert e["path"] == want.split(":")[0], e
    assert job_count(s) == n


def test_presets_are_versioned_and_others_are_404(s):
    uid, key = user_with_key(s, prefix="presets")
    other, okey = user_with_key(s, prefix="stranger")
    r = api(s, "POST", "/api/v1/presets", key, {
        "kind": "style", "slug": "my-look", "name": "My look",
        "body": {"prompt": "pastel tones v1", "steps": 2}})
    assert r.status == 201, r.text[:500]
    p = is_json(r)
    assert (p["version"], p["site"], p["owner"]) == (1, False, uid)
    pid = p["id"]
    m = {"subject": "a cup", "style": "my-look",
         "output": {"width": 64, "height": 64}}
    j1 = submit(s, key, {"manifest": m})
    assert j1["prompt"] == "a cup, pastel tones v1"
    assert j1["steps"] == 2
    # An edit is a new version; the old one stays in the history.
    r = api(s, "PUT", "/api/v1/presets/%d" % pid, key, {
        "name": "My look", "body": {"prompt": "pastel tones v2"}})
    assert r.status == 200, r.text[:500]
    p = is_json(r)
    assert p["version"] == 2
    assert [(v["version"], v["body"]["prompt"]) for v in p["versions"]] == \
        [(2, "pastel tones v2"), (1, "pastel tones v1")]
    assert one(s, "SELECT COUNT(*) FROM presets WHERE owner_id = %d AND"
               " slug = 'my-look'" % uid) == "2"
    r = api(s, "POST", "/api/v1/manifests/compile", key, {"manifest": m})
    assert is_json(r)["prompt"] == "a cup, pastel tones v2"
    # The old job's manifest with its recorded versions: as it was.
    r = api(s, "POST", "/api/v1/manifests/compile", key, {
        "manifest": j1["manifest"], "presets": j1["manifest_presets"]})
    assert r.status == 200, r.text[:500]
    assert is_json(r)["prompt"] == j1["prompt"]
    # Someone else's preset: 404 to read, edit or delete, and no such
    # preset in their manifests.
    for method, body in (("GET", None), ("PUT", {"name": "x", "body": {
            "prompt": "x"}}), ("DELETE", None)):
        error_of(api(s, method, "/api/v1/presets/%d" % pid, okey, body),
                 404, "not_found", method)
    r = api(s, "POST", "/api/v1/manifests/compile", okey, {"manifest": m})
    assert error_of(r, 400, "validation_failed")["path"] == "$.style"
    listed = is_json(api(s, "GET", "/api/v1/presets?kind=style", okey))
    assert "my-look" not in [x["slug"] for x in listed["presets"]]
    assert {"e-commerce", "editorial", "social-media"} <= \
        {x["slug"] for x in listed["presets"]}
    mine = is_json(api(s, "GET", "/api/v1/presets", key))["presets"]
    assert [(x["slug"], x["version"]) for x in mine
            if not x["site"]] == [("my-look", 2)]
    # A site preset is read-only to a user (403), the admins' to change.
    site = [x for x in mine if x["slug"] == "noon"][0]
    error_of(api(s, "PUT", "/api/v1/presets/%d" % site["id"], key, {
        "name": "Noon", "body": {"prompt": "x"}}), 403, "forbidden")
    error_of(api(s, "POST", "/api/v1/presets", key, {
        "kind": "lens", "slug": "fisheye", "name": "Fisheye", "site": True,
        "body": {"prompt": "fisheye"}}), 403, "forbidden")
    admin, akey = user_with_key(s, prefix="padmin", role="admin")
    slug = "fisheye-" + os.urandom(3).hex()
    r = api(s, "POST", "/api/v1/presets", akey, {
        "kind": "lens", "slug": slug, "name": "Fisheye", "site": True,
        "body": {"prompt": "8mm fisheye lens"}})
    assert r.status == 201, r.text[:500]
    assert is_json(r)["site"] is True
    r = api(s, "POST", "/api/v1/manifests/compile", okey, {"manifest": {
        "subject": "a dog", "camera": {"lens": slug}}})
    assert is_json(r)["prompt"] == "a dog, 8mm fisheye lens"
    # A bad body names its path; a second preset of one slug conflicts.
    f = fields_of(api(s, "POST", "/api/v1/presets", key, {
        "kind": "lens", "slug": "x1", "name": "X",
        "body": {"prompt": "x", "steps": 3}}), "steps on a lens")
    assert f["body"].startswith("$.steps: "), f
    f = fields_of(api(s, "POST", "/api/v1/presets", key, {
        "name": "X", "body": {"prompt": "x"}}), "no kind, no slug")
    assert {"kind", "slug"} <= set(f), f
    error_of(api(s, "POST", "/api/v1/presets", key, {
        "kind": "style", "slug": "my-look", "name": "again",
        "body": {"prompt": "x"}}), 409, "conflict")
    # Deleted: gone from the list and 404, the job's versions kept.
    assert api(s, "DELETE", "/api/v1/presets/%d" % pid, key).status == 204
    error_of(api(s, "GET", "/api/v1/presets/%d" % pid, key), 404,
             "not_found")
    r = api(s, "POST", "/api/v1/manifests/compile", key, {
        "manifest": j1["manifest"], "presets": j1["manifest_presets"]})
    assert is_json(r)["prompt"] == j1["prompt"]


def multipart(fields, files):
    bnd = "kilnbnd" + os.urandom(8).hex()
    out = b""
    for k, v in fields.items():
        out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n"
                "\r\n%s\r\n" % (bnd, k, v)).encode()
    for k, (name, data) in files.items():
        out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"; "
                "filename=\"%s\"\r\nContent-Type: text/csv\r\n\r\n" %
                (bnd, k, name)).encode() + data + b"\r\n"
    out += ("--%s--\r\n" % bnd).encode()
    return "multipart/form-data; boundary=" + bnd, out


def post_sku(s, cookie, csrf, template, text, name="skus.csv"):
    ctype, body = multipart({"csrf": csrf, "manifest": json.dumps(template)},
                            {"file": (name, text)})
    return s.request("POST", "/batch", body=body, headers={
        "Cookie": cookie, "Content-Type": ctype}, timeout=60)


def errors_of(html):
    import html as h
    m = re.search(r'<ul class="errors" id="batch-errors">(.*?)</ul>', html,
                  re.S)
    assert m, html[:3000]
    return [h.unescape(x) for x in re.findall(r"<li>(.*?)</li>",
                                              m.group(1), re.S)]


TEMPLATE = {"subject": "{{product}} in {{colour}}",
            "materials": ["{{material}}"], "style": "e-commerce",
            "output": {"width": 64, "height": 64}}
MATERIALS = ["metal", "fabric", "glass", "wood", "leather"]


def test_a_sku_csv_of_20_rows_makes_20_jobs_and_a_zip_naming_every_file(s):
    uid, _ = new_user(s, "sku")
    cookie, csrf = browser(s, uid)
    key = make_key(s, uid, "read")
    rows = [("product %d" % i, "colour %d" % i, MATERIALS[i % 5], str(i))
            for i in range(20)]
    text = "product,colour,material,seed,steps\n" + "".join(
        "%s,%s,%s,%s,1\n" % r for r in rows)
    r = post_sku(s, cookie, csrf, TEMPLATE, text.encode())
    assert r.status == 303, (r.status, r.text[:1500])
    bid = int(re.fullmatch(r"/batch/(\d+)", r.headers["location"]).group(1))
    db = s.sql("SELECT batch_row, id, prompt, manifest, seed FROM jobs"
               " WHERE batch_id = %d ORDER BY batch_row" % bid)
    assert len(db) == 20
    want = []
    for (prod, col, mat, seed), row in zip(rows, db):
        m = dict(TEMPLATE, subject="%s in %s" % (prod, col),
                 materials=[mat])
        want.append(m)
        assert json.loads(row[3]) == m, row[3]
        assert row[2] == expected_prompt(s, m)
        assert row[4] == seed
    ids = [int(x[1]) for x in db]
    for jid in ids:
        wait_db(s, jid, ("succeeded",), timeout=600)
    r = s.request("GET", "/batch/%d.zip" % bid, headers={"Cookie": cookie},
                  timeout=60)
    assert r.status == 200, r.status
    z = zipfile.ZipFile(io.BytesIO(r.body))
    man = json.loads(z.read("manifest.json"))
    assert [(x["row"], x["job_id"]) for x in man["rows"]] == \
        list(zip(range(2, 22), ids))
    named = ["manifest.json"]
    for x, m in zip(man["rows"], want):
        assert x["job"]["manifest"] == m
        assert len(x["files"]) == 1
        for f in x["files"]:
            data = z.read(f["name"])
            assert f["sha256"] == hashlib.sha256(data).hexdigest()
            named.append(f["name"])
    assert sorted(z.namelist()) == sorted(named)
    assert len(named) == 21


def test_a_sku_csv_with_a_missing_column_or_empty_value_queues_nothing(s):
    uid, _ = new_user(s, "skubad")
    cookie, csrf = browser(s, uid)
    n = job_count(s)
    r = post_sku(s, cookie, csrf, TEMPLATE,
                 b"product,material\na bag,fabric\n")
    assert r.status == 422, (r.status, r.text[:800])
    assert errors_of(r.text) == [
        "row 1: $.subject: {{colour}} names no column"], errors_of(r.text)
    r = post_sku(s, cookie, csrf, TEMPLATE,
                 b"product,colour,material\na bag,red,fabric\n"
                 b"a hat,,wood\na cup,blue,velvet\n")
    assert r.status == 422, (r.status, r.text[:800])
    errs = errors_of(r.text)
    assert errs == ["row 3: $.subject: column colour is empty",
                    "row 4, column manifest: $.materials[0]: no material"
                    " preset is called velvet"], errs
    assert job_count(s) == n


def page(s, cookie, path):
    return s.request("GET", path, headers={"Cookie": cookie}, timeout=30)


def test_the_generate_page_previews_and_submits_a_manifest(s):
    import html
    uid, _ = new_user(s, "scenepage")
    cookie, csrf = browser(s, uid)
    r = page(s, cookie, "/generate")
    assert r.status == 200 and 'href="/generate/manifest"' in r.text
    r = page(s, cookie, "/generate/manifest")
    assert r.status == 200 and 'id="manifest-form"' in r.text, r.status
    text = json.dumps(SHOT)
    n = job_count(s)
    r = post_form(s, cookie, "/generate/manifest", {
        "csrf": csrf, "manifest": text, "action": "preview"})
    assert r.status == 200, (r.status, r.text[:500])
    m = re.search(r'<dd id="compiled-prompt">(.*?)</dd>', r.text, re.S)
    assert m and html.unescape(m.group(1)) == expected_prompt(s, SHOT), \
        r.text[:3000]
    assert job_count(s) == n
    # An error stands beside the manifest with its JSON path.
    bad = dict(SHOT, camera={"aperture": 100})
    r = post_form(s, cookie, "/generate/manifest", {
        "csrf": csrf, "manifest": json.dumps(bad), "action": "preview"})
    assert r.status == 422, r.status
    m = re.search(r'<p class="field-error" id="manifest-error" '
                  r'data-path="([^"]*)">(.*?)</p>', r.text, re.S)
    assert m, r.text[:3000]
    assert m.group(1) == "$.camera.aperture"
    en = html.unescape(m.group(2))
    lo_hi = re.fullmatch(r"\$\.camera\.aperture: must be between (\S+) and"
                         r" (\S+)", en)
    assert lo_hi, en
    # In the page's language: the formatted message translated before it
    # is filled in, the path and bounds as they are.
    r = s.request("POST", "/generate/manifest", body=urllib.parse.urlencode(
        {"csrf": csrf, "manifest": json.dumps(bad), "action": "preview"}),
        headers={"Cookie": cookie, "Accept-Language": "zh-CN",
                 "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 422, r.status
    m = re.search(r'id="manifest-error" data-path="[^"]*">(.*?)</p>', r.text,
                  re.S)
    assert m and html.unescape(m.group(1)) == \
        "$.camera.aperture: \u5fc5\u987b\u4ecb\u4e8e %s \u548c %s " \
        "\u4e4b\u95f4" % lo_hi.groups(), m and m.group(1)
    # Submitted: a job with the manifest, through the submit path.
    r = post_form(s, cookie, "/generate/manifest", {
        "csrf": csrf, "manifest": text, "steps": "2", "action": "submit"})
    assert r.status == 303, (r.status, r.text[:800])
    jid = int(re.fullmatch(r"/jobs/(\d+)", r.headers["location"]).group(1))
    row = s.sql("SELECT user_id, manifest, prompt, steps FROM jobs WHERE"
                " id = %d" % jid)[0]
    assert row[0] == str(uid) and json.loads(row[1]) == SHOT
    assert row[2] == expected_prompt(s, SHOT) and row[3] == "2"
    # The job page shows the manifest it was made from.
    r = page(s, cookie, "/jobs/%d" % jid)
    m = re.search(r'<pre class="manifest" id="job-manifest"[^>]*>(.*?)</pre>',
                  r.text, re.S)
    assert m and json.loads(html.unescape(m.group(1))) == SHOT, r.text[:2000]


# The scene form's fields for SHOT, as a person fills them in.
SHOT_FORM = {"scene_subject": "a steel water bottle",
             "scene_environment": "on wet rocks", "scene_angle": "low-angle",
             "scene_distance": "close-up", "scene_lens": "85mm-portrait",
             "scene_lens_mm": "85", "scene_aperture": "2.8",
             "scene_setup": "rim", "scene_time": "golden-hour",
             "scene_kelvin": "4500", "scene_materials": "metal , glass,",
             "scene_style": "e-commerce", "scene_negative": "dents",
             "scene_width": "64", "scene_height": "64", "scene_seed": "42",
             "scene_model": "", "scene_loras": ""}


def box_of(text):
    """The manifest the page's JSON box holds, parsed."""
    import html
    m = re.search(r'<textarea id="manifest"[^>]*>(.*?)</textarea>', text,
                  re.S)
    assert m, text[:2000]
    return json.loads(html.unescape(m.group(1)))


def field_value(text, name):
    import html
    m = re.search(r'<input id="%s" name="%s"[^>]* value="([^"]*)"' %
                  (name, name), text)
    if m:
        return html.unescape(m.group(1))
    m = re.search(r'<select id="%s" name="%s"[^>]*>(.*?)</select>' %
                  (name, name), text, re.S)
    assert m, (name, text[:3000])
    sel = re.search(r'<option(?: value="([^"]*)")? selected>([^<]*)<',
                    m.group(1))
    return html.unescape(sel.group(1) if sel and sel.group(1) is not None
                         else sel.group(2) if sel else "")


def test_the_scene_form_makes_the_manifest_and_reads_it_back(s):
    import html
    uid, _ = new_user(s, "sceneform")
    cookie, csrf = browser(s, uid)
    # The page opens with the example manifest in the fields too.
    r = page(s, cookie, "/generate/manifest")
    assert r.status == 200 and 'id="scene-form"' in r.text, r.status
    ex = box_of(r.text)
    assert field_value(r.text, "scene_subject") == ex["subject"]
    assert field_value(r.text, "scene_angle") == ex["camera"]["angle"]
    assert field_value(r.text, "scene_lens") == ex["camera"]["lens"]
    assert field_value(r.text, "scene_materials") == ", ".join(
        ex["materials"])
    # Every preset the user sees is a choice, by slug.
    for slug in ("85mm-portrait", "rim", "golden-hour", "e-commerce"):
        assert '<option value="%s"' % slug in r.text, slug
    # The form makes SHOT: the same manifest in the box, the same prompt,
    # what the box held that the form has no field for kept.
    box = json.dumps({"version": 1, "subject": "replaced", "loras": [],
                      "camera": {"angle": "overhead"}})
    n = job_count(s)
    r = post_form(s, cookie, "/generate/manifest", dict(
        SHOT_FORM, csrf=csrf, manifest=box, action="scene"))
    assert r.status == 200, (r.status, r.text[:1500])
    assert box_of(r.text) == dict(SHOT, version=1), box_of(r.text)
    # Numbers as they were typed.
    assert '"aperture": 2.8' in html.unescape(r.text), r.text[:3000]
    m = re.search(r'<dd id="compiled-prompt">(.*?)</dd>', r.text, re.S)
    assert m and html.unescape(m.group(1)) == expected_prompt(s, SHOT)
    assert field_value(r.text, "scene_materials") == "metal, glass"
    assert job_count(s) == n
    # A value the checker refuses: beside its field, and beside the box
    # with the JSON path.
    for field, value, path, words in [
            ("scene_aperture", "100", "$.camera.aperture", "between"),
            ("scene_lens_mm", "long", "$.camera.lens_mm", "number"),
            ("scene_materials", "metal, velvet", "$.materials[1]",
             "velvet"),
            ("scene_angle", "sideways", "$.camera.angle", "one of"),
            ("scene_loras", "film:0.5, grain:heavy", "$.loras[1].weight",
             "number")]:
        r = post_form(s, cookie, "/generate/manifest", dict(
            SHOT_FORM, csrf=csrf, action="scene", **{field: value}))
        assert r.status == 422, (field, r.status)
        e = re.search(r'<p class="field-error" id="%s-error">(.*?)</p>' %
                      field, r.text, re.S)
        assert e and words in html.unescape(e.group(1)), (field,
                                                          r.text[:3000])
        assert 'data-path="%s"' % path in r.text, (field, path)
        assert field_value(r.text, field) == value, field
    # LoRAs as "name" or "name:weight", read back the same way.
    r = post_form(s, cookie, "/generate/manifest", {
        "csrf": csrf, "action": "scene", "scene_subject": "a chair",
        "scene_loras": " film-look:0.6 ,grain"})
    assert box_of(r.text) == {"subject": "a chair", "loras": [
        {"name": "film-look", "weight": 0.6}, {"name": "grain"}]}, \
        box_of(r.text)
    assert field_value(r.text, "scene_loras") == "film-look:0.6, grain", \
        (r.status, field_value(r.text, "scene_loras"))
    # Blank fields are left out, and their objects with them.
    r = post_form(s, cookie, "/generate/manifest", {
        "csrf": csrf, "action": "scene", "scene_subject": "a chair",
        "scene_lens": "", "scene_aperture": ""})
    assert r.status == 200 and box_of(r.text) == {"subject": "a chair"}
    # The box's manifest fills the form on its preview.
    r = post_form(s, cookie, "/generate/manifest", {
        "csrf": csrf, "action": "preview", "manifest": json.dumps(SHOT)})
    assert r.status == 200
    for k, v in SHOT_FORM.items():
        if k != "scene_materials":
            assert field_value(r.text, k) == v, (k, field_value(r.text, k))
    # Generate from the form: a job with the manifest.
    r = post_form(s, cookie, "/generate/manifest", dict(
        SHOT_FORM, csrf=csrf, action="scene_submit", steps="2"))
    assert r.status == 303, (r.status, r.text[:800])
    jid = int(re.fullmatch(r"/jobs/(\d+)", r.headers["location"]).group(1))
    row = s.sql("SELECT user_id, manifest, prompt FROM jobs WHERE id = %d"
                % jid)[0]
    assert row[0] == str(uid) and json.loads(row[1]) == SHOT
    assert row[2] == expected_prompt(s, SHOT)


def test_the_presets_page_makes_edits_and_hides_presets(s):
    uid, _ = new_user(s, "presetpage")
    cookie, csrf = browser(s, uid)
    r = page(s, cookie, "/presets")
    assert r.status == 200
    for slug in ("e-commerce", "85mm-portrait", "rembrandt", "leather"):
        assert "<code>%s</code>" % slug in r.text, slug
    r = post_form(s, cookie, "/presets", {
        "csrf": csrf, "kind": "material", "slug": "velvet", "name": "Velvet",
        "body": '{"prompt": "crushed velvet"}'})
    assert r.status == 303, (r.status, r.text[:800])
    url = r.headers["location"]
    r = post_form(s, cookie, url, {
        "csrf": csrf, "name": "Velvet",
        "body": '{"prompt": "deep crushed velvet"}'})
    assert r.status == 303, (r.status, r.text[:800])
    r = page(s, cookie, r.headers["location"])
    assert r.status == 200
    assert r.text.count("crushed velvet") >= 2 and "deep crushed" in r.text
    assert s.sql("SELECT version FROM presets WHERE owner_id = %d ORDER BY"
                 " version" % uid) == [["1"], ["2"]]
    r = post_form(s, cookie, "/presets", {
        "csrf": csrf, "kind": "lens", "slug": "bad", "name": "Bad",
        "body": '{"prompt": "x", "steps": 3}'})
    assert r.status == 422 and "$.steps" in r.text, r.status
    other, _ = new_user(s, "presetother")
    ocookie, ocsrf = browser(s, other)
    assert page(s, ocookie, url).status == 404
    assert post_form(s, ocookie, url + "/delete",
                     {"csrf": ocsrf}).status == 404
    r = post_form(s, cookie, url + "/delete", {"csrf": csrf})
    assert r.status == 303
    assert page(s, cookie, url).status == 404


def test_the_json_schema_agrees_with_the_docs(s):
    # docs/manifest.schema.json, for clients, takes every example of
    # docs/manifest.md and refuses what the validator refuses by shape.
    import jsonschema
    root = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    with open(os.path.join(root, "docs", "manifest.schema.json")) as f:
        schema = json.load(f)
    with open(os.path.join(root, "docs", "manifest.md")) as f:
        doc = f.read()
    examples = re.findall(r"```json\n(.*?)```", doc, re.S)
    assert len(examples) >= 5
    for text in examples:
        jsonschema.validate(json.loads(text), schema)
    for bad in ({"style": "x"}, {"subject": "a", "colour": 1},
                {"subject": "a", "camera": {"lens_mm": 5}},
                {"subject": "a", "output": {"width": 100, "height": 64}},
                {"subject": "a", "materials": ["Metal"]}):
        try:
            jsonschema.validate(bad, schema)
        except jsonschema.ValidationError:
            continue
        raise AssertionError("the schema took %r" % bad)


def test_the_manifest_mode_previews_live_with_scripts(s):
    # Typing into the manifest box sends it in the background: what it
    # compiles to, or the error with its JSON path, appears beside it
    # without a page load and without a console problem.
    import cdp
    from test_browser import FLAGS, poll_page, sign_in_cookie
    uid, _ = new_user(s, "scenelive")
    with cdp.Browser(FLAGS) as b:
        sign_in_cookie(b, s, uid)
        b.navigate("http://127.0.0.1:%d/generate/manifest" % s.port)
        assert b.exists("#manifest-form")
        b.evaluate("window.kilnMark = 1")

        def typed(m):
            b.evaluate("(function () { var t = document.getElementById("
                       "'manifest'); t.value = %s; t.dispatchEvent(new "
                       "Event('input')); return true; })()" %
                       json.dumps(json.dumps(m)))
        typed(SHOT)
        got = poll_page(b, "(document.getElementById('compiled-prompt')"
                        " || {}).textContent", lambda v: v, 20,
                        "the compiled prompt")
        assert got == expected_prompt(s, SHOT), got
        typed(dict(SHOT, seed=-5))
        err = poll_page(b, "(document.getElementById('manifest-error')"
                        " || {}).textContent", lambda v: v, 20,
                        "the manifest's error")
        assert err.startswith("$.seed: "), err
        assert b.evaluate("document.getElementById('manifest-error')"
                          ".getAttribute('data-path')") == "$.seed"
        assert b.evaluate("window.kilnMark") == 1, "the page was reloaded"
        assert b.problems() == [], b.problems()


PINNED = {"subject": "a linen shirt", "style": "editorial",
          "camera": {"lens": "50mm"}, "output": {"width": 64, "height": 64},
          "seed": 5}


def textarea(html, name):
    import html as h
    m = re.search(r'<textarea[^>]* name="%s"[^>]*>(.*?)</textarea>' % name,
                  html, re.S)
    assert m, html[-3000:]
    return h.unescape(m.group(1))


def test_a_pinned_site_preset_stays_the_sites_after_an_own_one(s):
    """A job records the rows it compiled with (owner included): once
    the user makes a preset of a site preset's slug (own presets win a
    lookup), the old job's record still compiles to its own text, byte
    for byte, through the API and a job made with it."""
    uid, key = user_with_key(s, prefix="pin")
    j1 = submit(s, key, {"manifest": PINNED, "steps": 2})
    assert [(p["kind"], p["slug"], p["version"], p["owner"])
            for p in j1["manifest_presets"]] == [
        ("style", "editorial", 1, None), ("lens", "50mm", 1, None)]
    r = api(s, "POST", "/api/v1/presets", key, {
        "kind": "style", "slug": "editorial", "name": "My editorial",
        "body": {"prompt": "MY OWN editorial words"}})
    assert r.status == 201, r.text[:500]
    # A new compile finds the user's own preset...
    r = api(s, "POST", "/api/v1/manifests/compile", key,
            {"manifest": PINNED})
    assert "MY OWN editorial words" in is_json(r)["prompt"], r.text
    # ...the old job's record the site's row it used.
    r = api(s, "POST", "/api/v1/manifests/compile", key, {
        "manifest": j1["manifest"], "presets": j1["manifest_presets"]})
    assert r.status == 200, r.text[:500]
    c = is_json(r)
    assert c["prompt"] == j1["prompt"], (c["prompt"], j1["prompt"])
    assert c["negative_prompt"] == j1["negative_prompt"]
    assert c["presets"] == j1["manifest_presets"], c["presets"]
    # A job given the record compiles as the old one did and keeps it.
    j2 = submit(s, key, {"manifest": PINNED, "steps": 2,
                         "manifest_presets": j1["manifest_presets"]})
    assert j2["prompt"] == j1["prompt"]
    assert j2["manifest_presets"] == j1["manifest_presets"]
    # A record naming another user's row finds nothing.
    other, okey = user_with_key(s, prefix="pino")
    bad = [dict(p, owner=uid) for p in j1["manifest_presets"]]
    r = api(s, "POST", "/api/v1/manifests/compile", okey, {
        "manifest": PINNED, "presets": bad})
    assert error_of(r, 400, "validation_failed")["path"] == "$.style"
    f = fields_of(api(s, "POST", "/api/v1/jobs", key, {
        "prompt": "x", "manifest_presets": j1["manifest_presets"]}),
        "manifest_presets without a manifest")
    assert "manifest_presets" in f, f


def test_vary_and_use_again_carry_the_manifest_and_its_presets(s):
    uid, key = user_with_key(s, prefix="again")
    j1 = submit(s, key, {"manifest": PINNED, "steps": 2})
    done = wait_job(s, key, j1["id"], ("succeeded", "failed"), timeout=180)
    assert done["status"] == "succeeded", done
    # Made after the job: the new jobs must still use the site's row.
    r = api(s, "POST", "/api/v1/presets", key, {
        "kind": "style", "slug": "editorial", "name": "My editorial",
        "body": {"prompt": "MY OWN editorial words"}})
    assert r.status == 201, r.text[:500]
    cookie, csrf = browser(s, uid)
    # Vary: the manifest (less its seed: a new one is drawn) and the
    # preset rows, the same text.
    r = post_form(s, cookie, "/jobs/%d/vary" % j1["id"], {"csrf": csrf})
    assert r.status == 303, (r.status, r.text[:800])
    jid = int(r.headers["location"].rsplit("/", 1)[1])
    j3 = is_json(api(s, "GET", "/api/v1/jobs/%d" % jid, key))
    assert j3["manifest"] == {k: v for k, v in PINNED.items()
                              if k != "seed"}, j3["manifest"]
    assert j3["manifest_presets"] == j1["manifest_presets"]
    assert j3["prompt"] == j1["prompt"], j3["prompt"]
    assert j3["negative_prompt"] == j1["negative_prompt"]
    assert (j3["width"], j3["height"], j3["steps"]) == (64, 64, 2)
    # "Use these settings again": the manifest mode, filled with the
    # manifest and the rows; generating from it keeps both.
    r = s.request("GET", "/generate?from=%d" % j1["id"],
                  headers={"Cookie": cookie})
    assert r.status in (302, 303), r.status
    assert r.headers["location"].endswith(
        "/generate/manifest?from=%d" % j1["id"]), r.headers["location"]
    r = s.request("GET", "/generate/manifest?from=%d" % j1["id"],
                  headers={"Cookie": cookie})
    assert r.status == 200, r.status
    assert json.loads(textarea(r.text, "manifest")) == PINNED
    import html as h
    m = re.search(r'<input type="hidden" name="manifest_presets" '
                  r'value="([^"]*)"', r.text)
    assert m, r.text[-3000:]
    pins = h.unescape(m.group(1))
    assert json.loads(pins) == j1["manifest_presets"]
    r = s.request("GET", "/generate/manifest?from=%d&seed=77" % j1["id"],
                  headers={"Cookie": cookie})
    assert json.loads(textarea(r.text, "manifest"))["seed"] == 77
    r = post_form(s, cookie, "/generate/manifest", {
        "csrf": csrf, "manifest": textarea(r.text, "manifest"),
        "manifest_presets": pins, "steps": "2", "action": "submit"})
    assert r.status == 303, (r.status, r.text[-2000:])
    jid = int(r.headers["location"].rsplit("/", 1)[1])
    j4 = is_json(api(s, "GET", "/api/v1/jobs/%d" % jid, key))
    assert j4["prompt"] == j1["prompt"], j4["prompt"]
    assert j4["manifest_presets"] == j1["manifest_presets"]
    assert j4["manifest"] == dict(PINNED, seed=77)
    # Without the rows the same form would take the user's own preset.
    r = post_form(s, cookie, "/generate/manifest", {
        "csrf": csrf, "manifest": json.dumps(PINNED), "action": "preview"})
    assert "MY OWN editorial words" in r.text


def docs_example():
    """docs/manifest.md's first example, as the page there shows it."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    with open(os.path.join(root, "docs", "manifest.md")) as f:
        return re.findall(r"```json\n(.*?)```", f.read(), re.S)[0]


def test_readme_shots_of_the_manifest_mode_and_the_presets(s):
    # README's pictures of the manifest mode (docs/manifest.md's first
    # example and what it compiles to) and of /presets (the site's and a
    # user's own at version 2), at 1366 px in headless Chromium: saved as
    # readme-manifest-mode.png and readme-presets.png in the screenshot
    # folder, from where they are copied into docs/. Run alone
    # (-k test_manifest.test_readme) the list is the site's presets as
    # migration 027 seeds them, with no other test's.
    import cdp
    from test_browser import (FLAGS, MEASURE, SHOTS, element_screenshot,
                              poll_page, set_language, set_view,
                              sign_in_cookie)
    os.makedirs(SHOTS, exist_ok=True)
    uid, key = user_with_key(s, prefix="readme")
    text = docs_example()
    m = json.loads(text)
    r = api(s, "POST", "/api/v1/presets", key, {
        "kind": "material", "slug": "brushed-brass", "name": "Brushed brass",
        "body": {"prompt": "brushed brass"}})
    assert r.status == 201, r.text[:500]
    r = api(s, "PUT", "/api/v1/presets/%d" % is_json(r)["id"], key, {
        "name": "Brushed brass", "body": {
            "prompt": "warm brushed brass", "negative": "tarnish"}})
    assert r.status == 200 and is_json(r)["version"] == 2, r.text[:500]
    with cdp.Browser(FLAGS) as b:
        set_view(b, 1366, 900, "light")
        set_language(b, "en")
        sign_in_cookie(b, s, uid)
        base = "http://127.0.0.1:%d" % s.port

        b.navigate(base + "/generate/manifest")
        b.evaluate("(function () { var t = document.getElementById("
                   "'manifest'); t.value = %s; t.dispatchEvent(new "
                   "Event('input')); return true; })()" % json.dumps(text))
        got = poll_page(b, "(document.getElementById('compiled-prompt')"
                        " || {}).textContent", lambda v: v, 20,
                        "the compiled prompt")
        assert got == expected_prompt(s, m), got
        # The scene form follows the box: its fields are the example's.
        poll_page(b, "document.getElementById('scene_environment').value",
                  lambda v: v == m["environment"], 20, "the scene form")
        assert b.evaluate("[document.getElementById('scene_distance')"
                          ".value, document.getElementById('scene_seed')"
                          ".value]") == [m["camera"]["distance"],
                                         str(m["seed"])]
        style = preset_body(s, "style", m["style"])
        # The style's negative, the lens's, the lighting's, the
        # materials', then the manifest's own (docs/manifest.md).
        negative = [p.get("negative") for p in (
            style, preset_body(s, "lens", m["camera"]["lens"]),
            preset_body(s, "lighting", m["lighting"]["setup"])) + tuple(
            preset_body(s, "material", x) for x in m["materials"])] + \
            [m["negative"]]
        shown = dict(b.evaluate(
            "Array.from(document.querySelectorAll('dl.compiled dt')).map("
            "function (t) { return [t.textContent,"
            " t.nextElementSibling.textContent]; })"))
        assert shown["Negative prompt"] == ", ".join(
            x for x in negative if x), shown
        site = dict(s.sql("SELECT CONCAT(kind, '/', slug), MAX(version)"
                          " FROM presets WHERE owner_id IS NULL AND"
                          " deleted_at IS NULL GROUP BY kind, slug"))
        assert shown["Presets"].split(", ") == [
            "%s@%s (site)" % (p, site[p]) for p in (
                "style/e-commerce", "lens/85mm-portrait", "lighting/softbox",
                "material/ceramic")], shown
        assert (shown["Size"], shown["Seed"]) == ("512 x 512", "1234")
        assert (int(shown["Steps"]), float(shown["CFG scale"]),
                shown["Sampler"]) == (style["steps"],
                                      float(style["cfg_scale"]),
                                      style["sampler"]), shown
        assert b.evaluate("document.getElementById('manifest').value") == \
            text
        measured = b.evaluate(MEASURE)
        assert measured["scrollWidth"] <= 1366 and not measured["wide"]
        element_screenshot(b, os.path.join(SHOTS, "readme-manifest-mode.png"),
                           "section.manifest-mode", pad=8)
        # And the box follows the scene form: a field typed in makes the
        # manifest in the box and what it compiles to.
        b.evaluate("(function () { var f = document.getElementById("
                   "'scene_subject'); f.value = 'a copper kettle';"
                   " f.dispatchEvent(new Event('input', {bubbles: true}));"
                   " return true; })()")
        poll_page(b, "document.getElementById('manifest').value",
                  lambda v: json.loads(v).get("subject") ==
                  "a copper kettle", 20, "the box from the scene form")
        assert json.loads(b.evaluate("document.getElementById('manifest')"
                                     ".value")) == dict(
            m, subject="a copper kettle")
        poll_page(b, "(document.getElementById('compiled-prompt') || {})"
                  ".textContent", lambda v: v.startswith("a copper kettle,"),
                  20, "the prompt from the scene form")

        b.navigate(base + "/presets")
        rows = b.evaluate(
            "Array.from(document.querySelectorAll('#presets-list tbody tr'))"
            ".map(function (r) { return Array.from(r.cells).map(function"
            " (c) { return c.textContent.trim(); }); })")
        want = sorted(["/".join(r[:2]), r[2], "site"] for r in s.sql(
            "SELECT kind, slug, MAX(version) FROM presets WHERE owner_id IS"
            " NULL AND deleted_at IS NULL GROUP BY kind, slug"))
        want.append(["material/brushed-brass", "2", "yours"])
        assert sorted(["%s/%s" % (k, sl), v, o]
                      for k, sl, _, v, o in rows) == sorted(want), rows
        assert len(rows) >= 27, rows
        measured = b.evaluate(MEASURE)
        assert measured["scrollWidth"] <= 1366 and not measured["wide"]
        element_screenshot(b, os.path.join(SHOTS, "readme-presets.png"),
                           "section.presets", "#presets-list", pad=8)
        assert b.problems() == [], b.problems()
