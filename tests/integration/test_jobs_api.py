"""The jobs API end to end behind lighttpd with a running kilnd: models and
samplers, submitting jobs (defaults, a drawn seed, every validation rule,
bad bodies), reading results and previews as PNGs with ETags, listing with
cursor pagination and filters, cancelling queued and running jobs,
deleting ended ones with their files, isolation between users, the session
cookie (reads only) and security headers on every kind of response.

Each test makes its own users, keys and jobs (common.py's helpers: SQL for
accounts, the daemon for renders, SQL rows where only a job's row
matters), so any one runs alone. Every expected value is computed here
(from the spec, the model card or the database), never taken from the code
under test."""

import contextlib
import json
import os
import re
import urllib.parse

import harness
from common import (api, browser, check_security_headers, db_images,
                    db_job, error_of, get_job, is_json, job_count, job_dir,
                    job_row, make_key, make_session, new_user,
                    one, png_size, post_form, rendered, sha256, submit,
                    user_with_key, wait_db, wait_idle, wait_job)
from harness import wait_until

# Rate limits and tier limits out of the way here (every range of the API
# is tested to its end); test_limits and test_quotas check them.
STACK = dict(server="lighttpd", heartbeat=1, daemon_name="jobs-1",
             extra_conf="[limits]\nsubmit_burst = 100000\n"
                        # Bodies of up to 5 MiB for jobs (images).
                        "upload_max_mb = 1\n"
                        "[tier default]\nmax_side = 2048\nmax_steps = 150\n"
                        "max_batch = 8\njobs_per_day = 1000000\n"
                        "max_queued = 100000\n"
                        # A job below names a receiver on loopback.
                        "[webhooks]\nallow = 127.0.0.1\n")

ROOT = harness.ROOT
SAMPLERS = ["euler", "euler_a", "heun", "ddim", "dpmpp_2m",
            "dpmpp_2m_karras", "lcm"]
PNG_SIG = b"\x89PNG\r\n\x1a\n"
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
RESULT_CACHE = "private, max-age=86400"
TEXT_FIELDS = ("prompt", "negative_prompt", "model", "sampler",
               "webhook_url")
# kilnd writes a preview every [daemon] preview_every (5) steps before
# the last: a job of 6 steps leaves one.
PREVIEW_STEPS = 6
GREEN = "two small green triangles on a white background"


# ---------------------------------------------------------------- helpers

def invalid_fields(r, where):
    e = error_of(r, 400, "validation_failed", where)
    assert isinstance(e.get("fields"), dict), "%s: %r" % (where, e)
    return e["fields"]


def model_card():
    with open(os.path.join(ROOT, "models", "kiln-micro", "kiln.json")) as f:
        return json.load(f)


def owner(s):
    """A fresh user with a read+generate key and a read-only one:
    (id, key, read-only key)."""
    uid, key = user_with_key(s, prefix="alice")
    return uid, key, make_key(s, uid, "read", "read only")


def previewed(s, key, batch_count=2):
    """A job of the green triangles rendered with a preview and
    batch_count images: its JSON."""
    j = rendered(s, key, {"prompt": GREEN, "steps": PREVIEW_STEPS,
                          "batch_count": batch_count})
    assert j["preview_url"] and len(j["images"]) == batch_count, j
    return j


def refusal(s, key, where, status, code, **kw):
    """One submission that must be refused with status and code and add
    no row: the list of what is wrong with it (empty when nothing is)."""
    problems = []
    n = job_count(s)
    r = api(s, "POST", "/api/v1/jobs", key, **kw)
    if job_count(s) != n:
        problems.append("%s: a row was added" % where)
    try:
        error_of(r, status, code, where)
    except (AssertionError, ValueError, KeyError, TypeError) as e:
        problems.append("%s: %s" % (where, str(e)[:300]))
    return problems


# ---------------------------------------------------------------- tests

def test_models_list_the_default_model_at_its_size(s):
    _, key, ro = owner(s)
    card = model_card()
    for k in (key, ro):
        r = api(s, "GET", "/api/v1/models", k)
        assert r.status == 200, r.text
        models = is_json(r)["models"]
        by = {m["name"]: m for m in models}
        assert "kiln-micro" in by, models
        micro = by["kiln-micro"]
        assert micro["default"] is True, micro
        assert (micro["width"], micro["height"]) == (
            card["defaults"]["width"], card["defaults"]["height"]) == \
            (64, 64), micro
        assert micro["description"] == card["description"], micro
        assert [m["name"] for m in models if m.get("default")] == \
            ["kiln-micro"], models
        for m in models:
            assert set(m) >= {"name", "description", "default"}, m


def test_samplers_are_kilns_seven(s):
    _, key, ro = owner(s)
    for k in (key, ro):
        r = api(s, "GET", "/api/v1/samplers", k)
        assert r.status == 200, r.text
        got = is_json(r)["samplers"]
        assert sorted(got) == sorted(SAMPLERS) and len(got) == 7, got


def test_models_and_samplers_need_a_key(s):
    for path in ("/api/v1/models", "/api/v1/samplers"):
        for key in (None, "kiln_" + "A" * 43, "not-a-key"):
            r = api(s, "GET", path, key)
            error_of(r, 401, "unauthorized", "%s with key %r" % (path, key))


def test_submit_a_job_and_fetch_its_pngs(s):
    uid, key, ro = owner(s)
    body = {"prompt": "two small green triangles on a white background",
            "negative_prompt": "blurry", "model": "kiln-micro",
            "steps": 10, "cfg_scale": 5.5, "sampler": "euler",
            "batch_count": 2}
    before = job_count(s)
    j = submit(s, key, body)
    jid = j["id"]
    assert isinstance(jid, int) and jid > 0
    assert j["status"] in ("queued", "running"), j
    for k, v in body.items():
        assert j[k] == v, (k, j[k], v)
    assert j["webhook_url"] is None and j["error"] is None, j
    # No width/height: the model card's 64x64.
    assert (j["width"], j["height"]) == (64, 64), j
    # No seed: a drawn one, reported back and stored.
    seed = j["seed"]
    assert isinstance(seed, int) and 0 <= seed <= 4294967295, seed
    assert ISO.match(j["created_at"]), j["created_at"]
    assert j["images"] == [] and j["finished_at"] is None, j
    assert job_count(s) != before
    row = db_job(s, jid)
    assert row["user_id"] == str(uid), row
    assert (row["prompt"], row["negative_prompt"], row["model"],
            row["sampler"]) == (body["prompt"], "blurry", "kiln-micro",
                                "euler"), row
    assert (row["width"], row["height"], row["steps"], row["batch_count"],
            row["seed"]) == ("64", "64", "10", "2", str(seed)), row
    assert float(row["cfg_scale"]) == 5.5, row
    assert row["webhook_url"] == "NULL", row

    j = wait_job(s, key, jid, ("succeeded", "failed", "canceled"))
    assert j["status"] == "succeeded", j
    assert ISO.match(j["started_at"]) and ISO.match(j["finished_at"]), j
    assert isinstance(j["render_s"], (int, float)) and j["render_s"] > 0, j
    assert j["queue_position"] is None, j
    imgs = db_images(s, jid)
    assert [r[0] for r in imgs] == ["0", "1"], imgs
    assert len(j["images"]) == 2, j["images"]
    for img, (idx, iseed, path, w, h) in zip(j["images"], imgs):
        assert img["index"] == int(idx), img
        assert img["seed"] == int(iseed), (img, iseed)
        assert (img["width"], img["height"]) == (64, 64), img
        assert img["url"] == s.base + "/api/v1/images/%d-%s.png" % (
            jid, idx), img
        r = api(s, "GET", img["url"], key)
        assert r.status == 200, (img["url"], r.status, r.text[:300])
        assert r.headers.get("content-type") == "image/png", r.headers
        assert png_size(r.body, img["url"]) == (64, 64)
        with open(s.path("artifacts", path), "rb") as f:
            assert f.read() == r.body, "%s is not the file %s" % (
                img["url"], path)
        assert r.headers.get("cache-control") == RESULT_CACHE, r.headers
        etag = r.headers.get("etag")
        assert etag, r.headers
        r2 = api(s, "GET", img["url"], key,
                 headers={"If-None-Match": etag})
        assert r2.status == 304 and r2.body == b"", (r2.status, r2.body)
        r3 = api(s, "GET", img["url"], key,
                 headers={"If-None-Match": '"something-else"'})
        assert r3.status == 200 and r3.body == r.body, r3.status
    # Each picture of the batch has its own seed.
    assert j["images"][0]["seed"] != j["images"][1]["seed"]

    purl = "/api/v1/images/%d-preview.png" % jid
    assert j["preview_url"] == s.base + purl, j["preview_url"]
    r = api(s, "GET", purl, key)
    assert r.status == 200, (r.status, r.text[:300])
    assert r.headers.get("content-type") == "image/png", r.headers
    png_size(r.body, purl)
    assert r.headers.get("cache-control") == "no-store", r.headers
    # The read-only key reads images too.
    assert api(s, "GET", j["images"][0]["url"], ro).status == 200


def test_image_urls_in_job_json_are_absolute(s):
    # On [site] base_url, which a client elsewhere can follow: not a path
    # that only means something on this host.
    _, key = user_with_key(s)
    done = rendered(s, key, {"prompt": GREEN, "steps": 1, "batch_count": 2})
    j = is_json(api(s, "GET", "/api/v1/jobs/%d" % done["id"], key))
    assert j["images"], j
    for im in j["images"]:
        assert im["url"] == "%s/api/v1/images/%d-%d.png" % (
            s.base, j["id"], im["index"]), im
        assert im["thumb_url"] == "%s/api/v1/images/%d-%d.thumb.png" % (
            s.base, j["id"], im["index"]), im


def test_preview_url_in_job_json_is_absolute(s):
    _, key = user_with_key(s)
    done = previewed(s, key, batch_count=1)
    j = is_json(api(s, "GET", "/api/v1/jobs/%d" % done["id"], key))
    assert j["preview_url"] == "%s/api/v1/images/%d-preview.png" % (
        s.base, j["id"]), j["preview_url"]


def test_validation_names_exactly_the_bad_field(s):
    _, key = user_with_key(s)
    base = {"prompt": "a single blue circle on the left", "steps": 4}
    del_ = object()     # marks a field to leave out
    cases = [
        # (field, value)
        ("prompt", 5), ("prompt", ["a"]), ("prompt", True),
        ("prompt", del_), ("prompt", ""), ("prompt", "x" * 2001),
        ("prompt", "\u00e9" * 1000 + "a"),           # 2001 bytes
        ("prompt", "a\x01b"), ("prompt", "a\x1bb"), ("prompt", "a\x00b"),
        ("prompt", "a\x7fb"),
        ("negative_prompt", 1), ("negative_prompt", "y" * 2001),
        ("negative_prompt", "a\x02b"),
        ("model", 3), ("model", "no-such-model"), ("model", ""),
        ("width", "64"), ("width", 56), ("width", 2056), ("width", 0),
        ("width", -64), ("width", 64.5), ("width", 100), ("width", True),
        ("height", "64"), ("height", 56), ("height", 2056),
        ("height", 72.5), ("height", 65), ("height", {}),
        ("steps", "4"), ("steps", 0), ("steps", 151), ("steps", 2.5),
        ("steps", False),
        ("cfg_scale", "7"), ("cfg_scale", -0.1), ("cfg_scale", 30.5),
        ("sampler", 2), ("sampler", "euler_b"), ("sampler", ""),
        ("seed", "1"), ("seed", -1), ("seed", 4294967296), ("seed", 1.5),
        ("batch_count", "2"), ("batch_count", 0), ("batch_count", 9),
        ("batch_count", 1.5),
        ("webhook_url", "ftp://example.com/hook"), ("webhook_url", 5),
        ("webhook_url", "example.com/hook"),
        ("webhook_url", "https://example.com/" + "a" * 2030),  # 2050
        ("colour", "red"),
        # No field is nullable, and an integer is written as one.
        ("model", None), ("webhook_url", None), ("width", None),
        ("width", 64.0), ("seed", 1e3),
    ]
    before = job_count(s)
    problems = []       # every case checked, all mismatches reported
    for field, value in cases:
        body = dict(base)
        if value is del_:
            body.pop(field)
        else:
            body[field] = value
        where = "%s = %r" % (field, value if value is not del_ else
                             "(absent)")
        where = where[:120]
        n = job_count(s)
        r = api(s, "POST", "/api/v1/jobs", key, body)
        if job_count(s) != n:
            problems.append("%s: a row was added" % where)
        try:
            fields = invalid_fields(r, where)
        except AssertionError as e:
            problems.append(str(e)[:300])
            continue
        if set(fields) != {field}:
            problems.append("%s: fields %r" % (where, fields))
            continue
        msg = fields[field]
        want = None
        if field == "colour":
            want = "unknown field"
        elif field in TEXT_FIELDS and not isinstance(value, str) and \
                value is not del_:
            want = "must be a string"
        elif field not in TEXT_FIELDS and \
                isinstance(value, (str, bool, dict, list)):
            want = "must be a number"
        if want is not None and msg != want:
            problems.append("%s: message %r, want %r" % (where, msg, want))
        if (field, value) == ("model", "no-such-model") and \
                "kiln-micro" not in msg:
            problems.append("%s: message %r lists no kiln-micro" %
                            (where, msg))
        if (field, value) == ("sampler", "euler_b"):
            for name in SAMPLERS:
                if not re.search(r"\b%s\b" % name, msg):
                    problems.append("%s: message %r lacks %s" %
                                    (where, msg, name))

    # Several at once: every one named.
    r = api(s, "POST", "/api/v1/jobs", key,
            {"prompt": "", "steps": 0, "sampler": "x", "width": 65,
             "seed": "1", "bogus": 1, "webhook_url": "ftp://x"})
    fields = invalid_fields(r, "several bad fields")
    assert set(fields) == {"prompt", "steps", "sampler", "width", "seed",
                           "bogus", "webhook_url"}, fields
    fields = invalid_fields(api(s, "POST", "/api/v1/jobs", key, {}), "{}")
    assert set(fields) == {"prompt"}, fields
    assert job_count(s) == before, "a refused body added a row"
    # The field cases, reported together so one run shows them all.
    assert not problems, "\n".join(problems)


BASE = {"prompt": "a single blue circle on the left", "steps": 4}


def test_a_body_that_is_not_one_json_object_is_400(s):
    _, key = user_with_key(s)
    problems = []
    for raw in ('{"prompt": "x"', '[{"prompt": "x"}]', '"a prompt"', "42",
                '{"prompt": "x"} garbage', '{"prompt": "x"}{"steps": 4}',
                "{'prompt': 'x'}", '{"prompt": "x",}', "", "null"):
        problems += refusal(s, key, "body %r" % raw, 400, "bad_request",
                            raw=raw)
    assert not problems, "\n".join(problems)


def test_a_body_not_json_by_its_content_type_is_415(s):
    _, key = user_with_key(s)
    good = json.dumps(BASE)
    problems = []
    for ctype in ("text/plain", "application/x-www-form-urlencoded",
                  None, "application/jsonx"):
        problems += refusal(s, key, "Content-Type %r" % ctype, 415,
                            "unsupported_media_type", raw=good,
                            ctype=ctype)
    assert not problems, "\n".join(problems)


def test_a_body_over_1_mib_is_413_where_no_images_go(s):
    _, key = user_with_key(s)
    r = api(s, "POST", "/api/v1/jobs/1/cancel", key,
            raw=json.dumps({"x": "a" * (1 << 20)}))
    error_of(r, 413, "payload_too_large", "cancel")


def test_a_job_body_over_the_upload_limit_is_413(s):
    # Three images of upload_max_mb (1) as base64, and 1 MiB more.
    _, key = user_with_key(s)
    problems = refusal(s, key, "body over 5 MiB", 413, "payload_too_large",
                       raw=json.dumps({"prompt": "a" * (5 << 20)}))
    assert not problems, "\n".join(problems)


def test_a_read_only_key_or_none_cannot_submit(s):
    _, _, ro = owner(s)
    problems = refusal(s, ro, "read-only key", 403, "forbidden", body=BASE)
    problems += refusal(s, None, "no key", 401, "unauthorized", body=BASE)
    assert not problems, "\n".join(problems)


def test_the_edges_of_every_range_are_accepted(s):
    # Cheap (one step, 64x64); long texts come back whole, in the answer,
    # on reading and in the database.
    _, dkey = user_with_key(s, prefix="dave")
    problems = []
    edges = [
        {"prompt": "\u00e9" * 998 + "a\n\tb",     # 2000 bytes
         "negative_prompt": "y" * 2000, "width": 64,
         "height": 64, "steps": 1, "cfg_scale": 30, "sampler": "lcm",
         "seed": 4294967295, "batch_count": 1},
        {"prompt": "a" * 300, "negative_prompt": "\u00e9" * 1000,
         "seed": 0, "cfg_scale": 0, "steps": 1, "width": 64,
         "height": 64, "sampler": "euler_a"},
    ]
    want = [{"model": "kiln-micro", "seed": 4294967295, "cfg_scale": 30,
             "steps": 1, "sampler": "lcm", "width": 64},
            {"model": "kiln-micro", "seed": 0, "cfg_scale": 0, "steps": 1,
             "sampler": "euler_a", "width": 64}]
    ids = []
    for n, (edge, w) in enumerate(zip(edges, want)):
        for k in ("prompt", "negative_prompt"):
            assert len(edge[k].encode()) in (300, 2000)
            w[k] = edge[k]
        where = "edge job %d" % n
        r = api(s, "POST", "/api/v1/jobs", dkey, raw=json.dumps(edge),
                ctype="application/json; charset=utf-8")
        if r.status != 202:
            problems.append("%s: %d %s" % (where, r.status, r.text[:300]))
            continue
        m = re.match(r"^/api/v1/jobs/(\d+)$", r.headers.get("location", ""))
        assert m, r.headers
        jid = int(m.group(1))
        ids.append(jid)
        row = s.sql("SELECT SHA2(prompt, 256), SHA2(negative_prompt, 256),"
                    " seed FROM jobs WHERE id = %d" % jid)
        if row != [[sha256(edge["prompt"]), sha256(edge["negative_prompt"]),
                    str(w["seed"])]]:
            problems.append("%s: database row differs: %r" % (where, row))
        for how, resp in (("POST", r),
                          ("GET", api(s, "GET", "/api/v1/jobs/%d" % jid,
                                      dkey))):
            try:
                j = json.loads(resp.body)
            except ValueError as e:
                pos = getattr(e, "pos", getattr(e, "start", 0))
                problems.append("%s: the %s answer is not valid JSON (%s):"
                                " near %r" % (where, how, e,
                                              resp.body[max(0, pos - 30):
                                                        pos + 10]))
                continue
            for k, v in w.items():
                if j.get(k) != v:
                    problems.append("%s: %s %s is %r (%d bytes), want %d"
                                    " bytes" % (where, how, k,
                                                str(j.get(k))[:40],
                                                len(str(j.get(k)).encode()),
                                                len(str(v).encode()))
                                    if isinstance(v, str) else
                                    "%s: %s %s is %r, want %r" %
                                    (where, how, k, j.get(k), v))
    r = api(s, "GET", "/api/v1/jobs", dkey)
    try:
        got = sorted(j["id"] for j in json.loads(r.body)["jobs"])
        if got != sorted(ids):
            problems.append("dave's listing: %r, want %r" % (got, ids))
    except ValueError as e:
        problems.append("dave's listing is not valid JSON: %s" % e)
    for jid in ids:
        assert wait_db(s, jid, ("succeeded", "failed"))["status"] == \
            "succeeded", db_job(s, jid)
    assert not problems, "\n".join(problems)


def list_ids(s, key, query):
    r = api(s, "GET", "/api/v1/jobs?" + query, key)
    assert r.status == 200, "%s: %d %s" % (query, r.status, r.text[:500])
    o = is_json(r)
    return [j["id"] for j in o["jobs"]], o["next_cursor"], o


def all_pages(s, key, query, limit):
    ids, pages, cursor = [], [], None
    for _ in range(50):
        q = "limit=%d" % limit + ("&" + query if query else "")
        if cursor is not None:
            q += "&cursor=%s" % cursor
        page, cursor, _ = list_ids(s, key, q)
        assert len(page) <= limit, (q, page)
        pages.append(page)
        ids += page
        if cursor is None:
            return ids, pages
        assert isinstance(cursor, int), cursor
    raise AssertionError("more than 50 pages for %s" % query)


LISTING = [("a red circle", "succeeded"),
           ("100% blue square", "failed"),
           ("100 blue squares", "canceled"),
           ("two_green triangles", "succeeded"),
           ("two green triangles", "succeeded"),
           ("a yellow star", "canceled"),
           ("three purple stars", "succeeded")]


class Listing:
    """A fresh user with a read key and the seven jobs of LISTING, one a
    day from 2024-01-01 at noon, made in SQL."""

    def __init__(self, s):
        self.uid, self.key = user_with_key(s, "read", prefix="carol")
        for day, (prompt, status) in enumerate(LISTING, 1):
            s.sql("INSERT INTO jobs (user_id, status, prompt, model, width,"
                  " height, steps, cfg_scale, sampler, seed, batch_count,"
                  " created_at, started_at, finished_at) VALUES (%d, '%s',"
                  " '%s', 'kiln-micro', 64, 64, 4, 7, 'euler', %d, 1,"
                  " '2024-01-0%d 12:00:00', '2024-01-0%d 12:00:01',"
                  " '2024-01-0%d 12:00:05')" % (self.uid, status, prompt,
                                                day, day, day, day))
        self.rows = s.sql("SELECT id, prompt, status, created_at FROM jobs"
                          " WHERE user_id = %d ORDER BY created_at DESC,"
                          " id DESC" % self.uid)
        assert len(self.rows) == 7, self.rows
        self.newest = [int(r[0]) for r in self.rows]
        self.by_prompt = {r[1]: int(r[0]) for r in self.rows}
        self.day_of = {int(r[0]): int(r[3][8:10]) for r in self.rows}


def test_listing_pages_newest_first(s):
    ls = Listing(s)
    key, newest = ls.key, ls.newest
    ids, pages = all_pages(s, key, "", 3)
    assert [len(p) for p in pages] == [3, 3, 1], pages
    assert ids == newest, (ids, newest)
    assert len(set(ids)) == 7
    page, cur, o = list_ids(s, key, "limit=7")
    assert page == newest and cur is None, (page, cur)
    page, cur, o = list_ids(s, key, "")
    assert page == newest and cur is None, (page, cur)
    first = o["jobs"][-1]
    assert first["created_at"] == "2024-01-01T12:00:00Z", first
    assert first["finished_at"] == "2024-01-01T12:00:05Z", first
    assert first["prompt"] == "a red circle" and first["images"] == [], first
    page, cur, _ = list_ids(s, key, "limit=6")
    assert page == newest[:6] and cur is not None, (page, cur)
    page, cur, _ = list_ids(s, key, "limit=6&cursor=%s" % cur)
    assert page == newest[6:] and cur is None, (page, cur)


def test_a_listed_job_holds_its_own_images(s):
    # A page is read in two queries (the jobs, then all their images):
    # each job keeps its own images, in order, and reads the same as its
    # own GET.
    ls = Listing(s)
    key, by_prompt = ls.key, ls.by_prompt
    imgs = {by_prompt["three purple stars"]: [(0, 11), (1, 12), (2, 13)],
            by_prompt["a red circle"]: [(0, 21)]}
    for jid, rows_ in imgs.items():
        for idx, seed in reversed(rows_):
            s.sql("INSERT INTO job_images (job_id, idx, seed, path, width,"
                  " height) VALUES (%d, %d, %d, 'x.png', 64, 64)"
                  % (jid, idx, seed))
    _, _, o = list_ids(s, key, "")
    assert [j["id"] for j in o["jobs"]] == ls.newest
    for j in o["jobs"]:
        want = imgs.get(j["id"], [])
        assert [(i["index"], i["seed"]) for i in j["images"]] == want, j
        assert all(i["url"] == s.base + "/api/v1/images/%d-%d.png" % (
            j["id"], i["index"]) for i in j["images"]), j
        r = api(s, "GET", "/api/v1/jobs/%d" % j["id"], key)
        assert r.status == 200 and is_json(r) == j, (j, r.text[:300])


def test_listing_filters_by_status(s):
    ls = Listing(s)
    for status in ("succeeded", "failed", "canceled", "queued", "running"):
        want = [i for i in ls.newest
                if [r[2] for r in ls.rows if int(r[0]) == i][0] == status]
        ids, _ = all_pages(s, ls.key, "status=" + status, 1 if status ==
                           "succeeded" else 2)
        assert ids == want, (status, ids, want)


def test_listing_searches_the_prompt_literally(s):
    ls = Listing(s)
    by_prompt = ls.by_prompt

    def q(text, *extra):
        page, cur, _ = list_ids(s, ls.key, "q=" +
                                urllib.parse.quote(text, "") +
                                "".join("&" + e for e in extra))
        assert cur is None, cur
        return page

    assert q("blue") == [by_prompt["100 blue squares"],
                         by_prompt["100% blue square"]]
    assert q("100%") == [by_prompt["100% blue square"]], q("100%")
    assert q("%") == [by_prompt["100% blue square"]], q("%")
    assert q("two_green") == [by_prompt["two_green triangles"]], \
        q("two_green")
    assert q("triangles") == [by_prompt["two green triangles"],
                              by_prompt["two_green triangles"]]
    assert q("purple stars") == [by_prompt["three purple stars"]]
    assert q("nothing like this") == []
    assert q("blue", "status=failed") == [by_prompt["100% blue square"]]


def test_listing_filters_by_date(s):
    ls = Listing(s)

    def days(query):
        page, cur, _ = list_ids(s, ls.key, query)
        assert cur is None
        return sorted(ls.day_of[i] for i in page)

    assert days("since=2024-01-03") == [3, 4, 5, 6, 7]
    assert days("until=2024-01-03") == [1, 2]
    assert days("since=2024-01-02T13:00:00Z&until=2024-01-05T11:00:00Z") \
        == [3, 4]
    assert days("since=2024-01-06T11:59:59Z") == [6, 7]
    assert days("since=2030-01-01") == []


def test_listing_names_each_bad_query_parameter(s):
    _, key = user_with_key(s, "read")
    problems = []
    for query, field in [("limit=0", "limit"), ("limit=101", "limit"),
                         ("limit=abc", "limit"), ("limit=2.5", "limit"),
                         ("limit=", "limit"),
                         ("cursor=abc", "cursor"), ("cursor=0", "cursor"),
                         ("cursor=-5", "cursor"),
                         ("status=done", "status"), ("status=", "status"),
                         ("since=2024-13-01", "since"),
                         ("since=yesterday", "since"),
                         ("since=2024-01-01T12:00:00", "since"),
                         ("since=2024-01-01 12:00:00", "since"),
                         ("until=2024-01-01T25:00:00Z", "until"),
                         ("until=2024-02-30", "until"),
                         ("until=20240101", "until")]:
        query = query.replace(" ", "%20")
        r = api(s, "GET", "/api/v1/jobs?" + query, key)
        try:
            fields = invalid_fields(r, query)
        except AssertionError as e:
            problems.append(str(e)[:200])
            continue
        if set(fields) != {field}:
            problems.append("%s: fields %r" % (query, fields))
    r = api(s, "GET", "/api/v1/jobs?limit=0&status=x&since=y", key)
    assert set(invalid_fields(r, "three bad")) == {"limit", "status",
                                                   "since"}
    assert not problems, "\n".join(problems)


@contextlib.contextmanager
def busy_daemon(s, key):
    """The daemon busy with a long job of key's (150 steps x 8, a step or
    two in) for the with block, so jobs submitted in it stay queued:
    the long job's id. Canceled afterwards, whatever happened."""
    # The queue then holds only this test's jobs, behind the busy one.
    wait_idle(s)
    busy = submit(s, key, {"prompt": "three purple stars on a black"
                           " background", "steps": 150, "batch_count": 8,
                           "seed": 5})["id"]
    try:
        wait_until(lambda: (lambda j: j["status"] == "running" and
                            int(j["step"]) >= 2)(db_job(s, busy)),
                   timeout=60, step=0.05, what="the busy job to run")
        yield busy
    finally:
        api(s, "POST", "/api/v1/jobs/%d/cancel" % busy, key)
        wait_db(s, busy, ("canceled", "succeeded", "failed"), timeout=30)


def queued(s, key, n):
    """n cheap jobs submitted behind the busy one: their JSON."""
    return [submit(s, key, {"prompt": "a single blue circle on the left",
                            "steps": 4, "seed": k}) for k in range(n)]


def test_a_job_that_has_not_ended_cannot_be_deleted(s):
    _, key, _ = owner(s)
    with busy_daemon(s, key) as busy:
        q1, = queued(s, key, 1)
        r = api(s, "DELETE", "/api/v1/jobs/%d" % busy, key)
        error_of(r, 409, "conflict", "DELETE running")
        assert db_job(s, busy)["status"] == "running"
        r = api(s, "DELETE", "/api/v1/jobs/%d" % q1["id"], key)
        error_of(r, 409, "conflict", "DELETE queued")
        assert db_job(s, q1["id"])["status"] == "queued"


def test_queued_jobs_report_their_place_and_the_running_its_step(s):
    _, key, _ = owner(s)
    with busy_daemon(s, key) as busy:
        q1 = submit(s, key, {"prompt": "a single blue circle on the left",
                             "steps": 4, "seed": 1})
        q2 = submit(s, key, {"prompt": "a pink triangle at the bottom",
                             "steps": 4, "seed": 2,
                             "webhook_url": "http://127.0.0.1:9/hook?x=1"})
        assert q2["webhook_url"] == "http://127.0.0.1:9/hook?x=1", q2
        ahead = [int(one(s, "SELECT COUNT(*) FROM jobs WHERE status ="
                         " 'queued' AND id < %d" % j["id"]))
                 for j in (q1, q2)]
        assert ahead == [0, 1], ahead
        for j, n in zip((q1, q2), ahead):
            assert j["status"] == "queued", j
            got = get_job(s, key, j["id"])
            assert got["status"] == "queued" and \
                got["queue_position"] == n, (got["queue_position"], n)
            assert isinstance(got["queue_position"], int)
        busy_j = get_job(s, key, busy)
        assert busy_j["status"] == "running" and \
            busy_j["queue_position"] is None, busy_j
        assert busy_j["started_at"] and ISO.match(busy_j["started_at"])
        assert busy_j["progress"]["steps"] == 150 * 8, busy_j["progress"]
        assert 0 < busy_j["progress"]["step"] < 1200, busy_j["progress"]


def test_a_queued_job_is_canceled_at_once_and_never_runs(s):
    _, key, _ = owner(s)
    with busy_daemon(s, key):
        q1, q2 = queued(s, key, 2)
        r = api(s, "POST", "/api/v1/jobs/%d/cancel" % q2["id"], key)
        assert r.status == 202, (r.status, r.text[:500])
        j = is_json(r)
        assert j["id"] == q2["id"] and j["status"] == "canceled", j
        assert j["queue_position"] is None, j
        assert db_job(s, q2["id"])["status"] == "canceled"
        assert get_job(s, key, q1["id"])["queue_position"] == 0
        r = api(s, "POST", "/api/v1/jobs/%d/cancel" % q1["id"], key)
        assert r.status == 202 and r.json()["status"] == "canceled", r.text
        # Ended, they cannot be canceled again.
        for jid in (q1["id"], q2["id"]):
            r = api(s, "POST", "/api/v1/jobs/%d/cancel" % jid, key)
            error_of(r, 409, "conflict", "cancel ended job %d" % jid)
    # A job submitted after them runs; the canceled ones never did.
    probe = submit(s, key, {"prompt": "a yellow star", "steps": 2})["id"]
    assert wait_db(s, probe, ("succeeded", "failed"))["status"] == \
        "succeeded"
    for jid in (q1["id"], q2["id"]):
        row = db_job(s, jid)
        assert row["status"] == "canceled" and row["started_at"] == "NULL" \
            and row["daemon"] == "NULL" and row["step"] == "0", row
        assert db_images(s, jid) == []
        assert not os.path.exists(job_dir(s, jid)), os.listdir(job_dir(s,
                                                                       jid))


def test_a_running_job_stops_after_the_step_in_flight(s):
    _, key, ro = owner(s)
    with busy_daemon(s, key) as busy:
        # A read-only key cannot cancel.
        r = api(s, "POST", "/api/v1/jobs/%d/cancel" % busy, ro)
        error_of(r, 403, "forbidden", "cancel with read-only key")
        assert db_job(s, busy)["cancel_requested"] == "0"
        r = api(s, "POST", "/api/v1/jobs/%d/cancel" % busy, key)
        assert r.status == 202, (r.status, r.text[:500])
        assert r.json()["status"] in ("running", "canceled"), r.json()
        at = int(db_job(s, busy)["step"])
        row = wait_db(s, busy, ("canceled", "succeeded", "failed"),
                      timeout=30)
        assert row["status"] == "canceled", row
        assert int(row["step"]) <= at + 1 and int(row["step"]) < 1200, \
            (at, row["step"])
        assert db_images(s, busy) == []
        j = get_job(s, key, busy)
        assert j["status"] == "canceled" and j["images"] == [], j
        assert j["finished_at"] and ISO.match(j["finished_at"]), j
        r = api(s, "POST", "/api/v1/jobs/%d/cancel" % busy, key)
        error_of(r, 409, "conflict", "cancel the ended job")


def test_an_ended_job_cannot_be_canceled(s):
    uid, key, _ = owner(s)
    for status in ("canceled", "failed", "succeeded"):
        jid = job_row(s, uid, status)
        r = api(s, "POST", "/api/v1/jobs/%d/cancel" % jid, key)
        error_of(r, 409, "conflict", "cancel %s job %d" % (status, jid))
        assert db_job(s, jid)["status"] == status
    r = api(s, "POST", "/api/v1/jobs/99999999/cancel", key)
    error_of(r, 404, "not_found", "cancel unknown job")


def test_delete_removes_rows_and_files(s):
    _, key, ro = owner(s)
    # Another finished job of the same user, which must stay whole.
    other = rendered(s, key, {"prompt": GREEN, "steps": 1,
                              "batch_count": 2})["id"]
    j = submit(s, key, {"prompt": "a large red star in the top left corner",
                        "steps": 10, "batch_count": 2})
    jid = j["id"]
    assert j["model"] == "kiln-micro", j     # the configured default
    j = wait_job(s, key, jid, ("succeeded", "failed"))
    assert j["status"] == "succeeded", j
    assert len(db_images(s, jid)) == 2
    files = os.listdir(job_dir(s, jid))
    assert len(files) >= 2, files
    img_urls = [i["url"] for i in j["images"]] + [j["preview_url"]]
    assert api(s, "GET", img_urls[0], key).status == 200

    # Not with a read-only key.
    r = api(s, "DELETE", "/api/v1/jobs/%d" % jid, ro)
    error_of(r, 403, "forbidden", "DELETE with read-only key")
    assert db_job(s, jid) is not None

    cost = one(s, "SELECT cost FROM jobs WHERE id = %d" % jid)
    r = api(s, "DELETE", "/api/v1/jobs/%d" % jid, key)
    assert r.status == 204, (r.status, r.text[:500])
    assert r.body == b"", r.body
    # The row stays, emptied and marked, so the credits it cost and the
    # jobs-per-day window still count it.
    row = s.sql("SELECT deleted_at IS NOT NULL, prompt, negative_prompt,"
                " preview_path IS NULL, share_token IS NULL, cost, status"
                " FROM jobs WHERE id = %d" % jid)
    assert row == [["1", "", "", "1", "1", cost, "succeeded"]], row
    assert one(s, "SELECT COUNT(*) FROM job_images WHERE job_id = %d" %
               jid) == "0"
    assert not os.path.exists(job_dir(s, jid)), os.listdir(job_dir(s, jid))
    error_of(api(s, "GET", "/api/v1/jobs/%d" % jid, key), 404, "not_found",
             "GET deleted")
    for url in img_urls:
        error_of(api(s, "GET", url, key), 404, "not_found", url)
    error_of(api(s, "DELETE", "/api/v1/jobs/%d" % jid, key), 404,
             "not_found", "DELETE twice")
    error_of(api(s, "POST", "/api/v1/jobs/%d/cancel" % jid, key), 404,
             "not_found", "cancel deleted")

    # The other job is untouched.
    assert db_job(s, other)["status"] == "succeeded"
    assert len(db_images(s, other)) == 2
    assert os.path.isdir(job_dir(s, other))


def test_delete_removes_a_canceled_jobs_preview(s):
    # A job canceled while it ran keeps its preview until deleted; the
    # directory goes with the row.
    _, key = user_with_key(s)
    busy = submit(s, key, {"prompt": "three purple stars on a black"
                           " background", "steps": 150, "batch_count": 8,
                           "seed": 5})["id"]
    wait_until(lambda: db_job(s, busy)["preview_path"] != "NULL",
               timeout=60, step=0.05, what="the busy job's first preview")
    r = api(s, "POST", "/api/v1/jobs/%d/cancel" % busy, key)
    assert r.status == 202, (r.status, r.text[:500])
    assert wait_db(s, busy, ("canceled", "succeeded", "failed"),
                   timeout=30)["status"] == "canceled"
    assert os.path.isdir(job_dir(s, busy))
    r = api(s, "DELETE", "/api/v1/jobs/%d" % busy, key)
    assert r.status == 204, (r.status, r.text[:500])
    assert one(s, "SELECT COUNT(*) FROM jobs WHERE id = %d AND deleted_at"
               " IS NOT NULL" % busy) == "1"
    assert not os.path.exists(job_dir(s, busy))


def snapshot(s, jid):
    return (s.sql("SELECT * FROM jobs WHERE id = %d" % jid),
            db_images(s, jid),
            sorted((f, os.path.getsize(os.path.join(job_dir(s, jid), f)))
                   for f in os.listdir(job_dir(s, jid))))


def test_other_users_see_nothing_of_a_job(s):
    alice, key, _ = owner(s)
    jid = previewed(s, key)["id"]
    # More of alice's jobs, for her listing to take pages.
    for n in range(5):
        job_row(s, alice, "succeeded", "alice's job %d" % n)
    _, bob = user_with_key(s, prefix="bob")
    carol, carol_key = user_with_key(s, "read", prefix="carol")
    for n in range(3):
        job_row(s, carol, "succeeded", "carol's job %d" % n)
    before = snapshot(s, jid)
    count = job_count(s)
    for method, path in [
            ("GET", "/api/v1/jobs/%d" % jid),
            ("POST", "/api/v1/jobs/%d/cancel" % jid),
            ("DELETE", "/api/v1/jobs/%d" % jid),
            ("GET", "/api/v1/images/%d-0.png" % jid),
            ("GET", "/api/v1/images/%d-1.png" % jid),
            ("GET", "/api/v1/images/%d-preview.png" % jid)]:
        r = api(s, method, path, bob)
        error_of(r, 404, "not_found", "bob %s %s" % (method, path))
        assert b"two small green" not in r.body
    # The same requests for a job that does not exist: the same answer.
    r = api(s, "GET", "/api/v1/jobs/99999999", bob)
    error_of(r, 404, "not_found", "unknown job")
    # Bob's listing: none of alice's jobs, by any filter.
    alice_ids = {int(r[0]) for r in s.sql(
        "SELECT id FROM jobs WHERE user_id = %d AND deleted_at IS NULL" %
        alice)}
    assert jid in alice_ids
    for query in ("", "limit=100", "status=succeeded",
                  "q=" + urllib.parse.quote("two small green"),
                  "cursor=%d" % (max(alice_ids) + 1)):
        page, cur, _ = list_ids(s, bob, query)
        assert page == [] and cur is None, (query, page)
    # Carol (read only) sees only hers.
    carol_ids = {int(r[0]) for r in s.sql(
        "SELECT id FROM jobs WHERE user_id = %d AND deleted_at IS NULL" %
        carol)}
    page, _, _ = list_ids(s, carol_key, "limit=100")
    assert len(carol_ids) == 3 and set(page) == carol_ids, page
    # And alice's listing holds all of hers and only hers.
    ids, _ = all_pages(s, key, "", 4)
    assert sorted(ids) == sorted(alice_ids), (ids, alice_ids)
    assert ids == sorted(ids, reverse=True), ids
    assert snapshot(s, jid) == before, "bob changed alice's job"
    assert job_count(s) == count
    assert get_job(s, key, jid)["status"] == "succeeded"


def test_a_session_cookie_reads_but_does_not_write(s):
    alice, key, _ = owner(s)
    jid = rendered(s, key, {"prompt": GREEN, "steps": 1})["id"]
    bob, _ = new_user(s, "bob")
    tok = make_session(s, alice)
    cookie = {"Cookie": "kiln_session=" + tok}
    r = api(s, "GET", "/api/v1/jobs/%d" % jid, headers=cookie)
    assert r.status == 200, (r.status, r.text[:500])
    assert is_json(r)["id"] == jid
    r = api(s, "GET", "/api/v1/jobs?limit=100", headers=cookie)
    assert r.status == 200, r.status
    assert jid in [j["id"] for j in is_json(r)["jobs"]]
    r = api(s, "GET", "/api/v1/images/%d-0.png" % jid, headers=cookie)
    assert r.status == 200 and r.body[:8] == PNG_SIG, r.status
    # Bob's session does not read alice's job.
    bob_tok = make_session(s, bob)
    r = api(s, "GET", "/api/v1/jobs/%d" % jid,
            headers={"Cookie": "kiln_session=" + bob_tok})
    error_of(r, 404, "not_found", "bob's session")

    before = job_count(s)
    snap = snapshot(s, jid)
    body = {"prompt": "a single blue circle on the left", "steps": 2}
    r = api(s, "POST", "/api/v1/jobs", body=body, headers=cookie)
    error_of(r, 401, "unauthorized", "POST with a session only")
    r = api(s, "POST", "/api/v1/jobs/%d/cancel" % jid, headers=cookie)
    error_of(r, 401, "unauthorized", "cancel with a session only")
    r = api(s, "DELETE", "/api/v1/jobs/%d" % jid, headers=cookie)
    error_of(r, 401, "unauthorized", "DELETE with a session only")
    assert job_count(s) == before
    assert snapshot(s, jid) == snap

    # An expired session reads nothing.
    old = make_session(s, alice,
                       expires="NOW() - INTERVAL 1 MINUTE")
    r = api(s, "GET", "/api/v1/jobs/%d" % jid,
            headers={"Cookie": "kiln_session=" + old})
    error_of(r, 401, "unauthorized", "expired session")


def test_security_headers_on_every_kind_of_response(s):
    # api() checks every response; this walks the kinds once more, on
    # purpose, with the statuses they must have.
    uid, key, ro = owner(s)
    jid = previewed(s, key, batch_count=1)["id"]
    canceled = job_row(s, uid, "canceled")
    img = "/api/v1/images/%d-0.png" % jid
    etag = api(s, "GET", img, key).headers["etag"]
    cases = [
        ("GET", "/api/v1/models", key, None, None, 200),
        ("GET", "/api/v1/samplers", None, None, None, 401),
        ("GET", "/api/v1/jobs/%d" % jid, key, None, None, 200),
        ("GET", "/api/v1/jobs?limit=0", key, None, None, 400),
        ("GET", "/api/v1/jobs/%d" % (jid + 100000), key, None, None, 404),
        ("POST", "/api/v1/jobs", key, {"prompt": ""}, None, 400),
        ("POST", "/api/v1/jobs", key, "[1]", None, 400),
        ("POST", "/api/v1/jobs", ro, {"prompt": "x"}, None, 403),
        ("POST", "/api/v1/jobs/%d/cancel" % jid, key, None, None, 409),
        ("DELETE", "/api/v1/jobs/%d" % canceled, key, None,
         None, 204),
        ("GET", img, key, None, None, 200),
        ("GET", img, key, None, {"If-None-Match": etag}, 304),
        ("GET", "/api/v1/images/%d-preview.png" % jid, key, None, None,
         200),
        ("GET", "/api/v1/images/%d-7.png" % jid, key, None, None, 404),
        ("GET", "/api/v1/images/%d-x.png" % jid, key, None, None, 404),
    ]
    for method, path, k, body, hdrs, want in cases:
        kw = {}
        if isinstance(body, str):
            kw["raw"] = body
        elif body is not None:
            kw["body"] = body
        r = api(s, method, path, k, headers=hdrs, **kw)
        assert r.status == want, "%s %s: %d, want %d" % (method, path,
                                                        r.status, want)
        check_security_headers(r, "%s %s" % (method, path))
        if want >= 400:
            assert is_json(r)["error"]["code"], r.text
    r = api(s, "POST", "/api/v1/jobs", key, raw='{"prompt": "x"}',
            ctype="text/plain")
    assert r.status == 415
    check_security_headers(r, "415")
    r = api(s, "POST", "/api/v1/jobs", key,
            raw=json.dumps({"prompt": "a" * (5 << 20)}))
    assert r.status == 413
    check_security_headers(r, "413")


def n_jobs(s):
    return int(one(s, "SELECT COUNT(*) FROM jobs"))


def test_idempotency_key_gives_the_same_job(s):
    uid, key = user_with_key(s, prefix="ida")
    body = {"prompt": "one green star", "steps": 2, "seed": 5}
    before = n_jobs(s)
    r1 = api(s, "POST", "/api/v1/jobs", key, body,
             headers={"Idempotency-Key": "order-17"})
    assert r1.status == 202, r1.text
    # The same key and body: the same job, 200, nothing new queued.
    r2 = api(s, "POST", "/api/v1/jobs", key, body,
             headers={"Idempotency-Key": "order-17"})
    assert r2.status == 200, r2.text
    assert r2.json()["id"] == r1.json()["id"]
    assert n_jobs(s) == before + 1
    # Another body under the same key: 409, nothing queued.
    r3 = api(s, "POST", "/api/v1/jobs", key, dict(body, seed=6),
             headers={"Idempotency-Key": "order-17"})
    error_of(r3, 409, "conflict")
    assert n_jobs(s) == before + 1
    # Keys are per user: another user's same key makes their own job.
    _, other = user_with_key(s, prefix="idb")
    r4 = api(s, "POST", "/api/v1/jobs", other, body,
             headers={"Idempotency-Key": "order-17"})
    assert r4.status == 202 and r4.json()["id"] != r1.json()["id"]
    # An invalid body does not use the key up.
    r5 = api(s, "POST", "/api/v1/jobs", key, {"prompt": "x", "steps": 0},
             headers={"Idempotency-Key": "order-18"})
    error_of(r5, 400, "validation_failed")
    r6 = api(s, "POST", "/api/v1/jobs", key, body,
             headers={"Idempotency-Key": "order-18"})
    assert r6.status == 202, r6.text
    # After 24 hours the key is forgotten.
    s.sql("UPDATE idempotency_keys SET created_at = NOW() - INTERVAL 25 HOUR"
          " WHERE idem_key = 'order-17' AND user_id = %d" % uid)
    r7 = api(s, "POST", "/api/v1/jobs", key, body,
             headers={"Idempotency-Key": "order-17"})
    assert r7.status == 202 and r7.json()["id"] != r1.json()["id"]
    # A malformed key is refused.
    r8 = api(s, "POST", "/api/v1/jobs", key, body,
             headers={"Idempotency-Key": "x" * 129})
    error_of(r8, 400, "bad_request")


def test_batch_is_all_or_nothing(s):
    uid, key = user_with_key(s, prefix="batcher")
    before = n_jobs(s)
    jobs = [{"prompt": "job %d" % i, "steps": 1, "seed": i}
            for i in range(5)]
    bad = list(jobs)
    bad[3] = dict(bad[3], width=65)
    r = api(s, "POST", "/api/v1/jobs/batch", key, {"jobs": bad})
    err = error_of(r, 400, "validation_failed")
    assert list(err["fields"]) == ["jobs[3].width"], err
    assert n_jobs(s) == before
    for body, field in (({"jobs": []}, "jobs"),
                        ({"jobs": [jobs[0]] * 51}, "jobs"),
                        ({"jobs": jobs, "extra": 1}, "jobs"),
                        ({"jobs": [1]}, "jobs[0]")):
        r = api(s, "POST", "/api/v1/jobs/batch", key, body)
        err = error_of(r, 400, "validation_failed")
        assert field in err["fields"], (field, err)
    assert n_jobs(s) == before
    r = api(s, "POST", "/api/v1/jobs/batch", key, {"jobs": jobs})
    assert r.status == 202, r.text
    got = r.json()["jobs"]
    assert [j["prompt"] for j in got] == ["job %d" % i for i in range(5)]
    assert n_jobs(s) == before + 5
    rows = s.sql("SELECT prompt FROM jobs WHERE user_id = %d ORDER BY id" %
                 uid)
    assert rows == [["job %d" % i] for i in range(5)]
    r = api(s, "POST", "/api/v1/jobs/batch", make_key(s, uid, "read"),
            {"jobs": jobs})
    error_of(r, 403, "forbidden")


def test_readiness_follows_the_daemon(s):
    r = s.get("/healthz")
    assert r.status == 200 and r.json()["status"] == "alive"
    wait_until(lambda: s.get("/readyz").status == 200, timeout=30,
               what="/readyz 200 with kilnd beating")
    j = s.get("/readyz").json()
    assert j == {"status": "ready", "database": True, "daemons_online": 1}, j
    check_security_headers(s.get("/readyz"), "/readyz")


def admin_browser(s, role="admin", prefix="queueadmin"):
    """A signed-in browser for a new account: (cookie header, csrf,
    user name)."""
    uid, name = new_user(s, prefix, role=role)
    return browser(s, uid) + (name,)


def test_admin_queue_page(s):
    cookie, csrf, admin = admin_browser(s)
    uid, user = new_user(s, "queued-user")
    # A failed job, and an old succeeded one flagged as a slow render.
    s.sql("INSERT INTO jobs (user_id, status, prompt, model, width, height,"
          " steps, cfg_scale, sampler, seed, attempt, error, finished_at)"
          " VALUES (%d, 'failed', 'two blue squares', 'kiln-micro', 64, 64,"
          " 2, 4, 'euler', 3, 3, 'lease expired 3 times', NOW())" % uid)
    failed = int(one(s, "SELECT MAX(id) FROM jobs"))
    s.sql("INSERT INTO jobs (user_id, status, prompt, model, width, height,"
          " steps, cfg_scale, sampler, seed, anomaly, render_s)"
          " VALUES (%d, 'succeeded', 'a slow one', 'kiln-micro', 64, 64,"
          " 2, 4, 'euler', 4, 1, 99)" % uid)
    slow = int(one(s, "SELECT MAX(id) FROM jobs"))
    # The daemon may still be taking jobs of the tests before: the depth
    # shown lies between the counts before and after the page (nothing is
    # submitted meanwhile, so the count only falls).
    queued_before = int(one(s, "SELECT COUNT(*) FROM jobs WHERE status ="
                            " 'queued'"))
    r = s.get("/admin/queue", headers={"Cookie": cookie})
    queued_after = int(one(s, "SELECT COUNT(*) FROM jobs WHERE status ="
                           " 'queued'"))
    assert r.status == 200, r.text[:500]
    check_security_headers(r, "/admin/queue")
    assert "<td>jobs-1</td>" in r.text            # the daemon
    assert 'id="job-%d"' % failed in r.text
    assert "lease expired 3 times" in r.text
    m = re.search(r'id="queue-depth">(\d+)<', r.text)
    assert m and queued_after <= int(m.group(1)) <= queued_before, (
        m and m.group(1), queued_before, queued_after)
    # Filters: status, user, slow renders.
    r = s.get("/admin/queue?status=failed&user=" + user[:-2],
              headers={"Cookie": cookie})
    ids = [int(x) for x in re.findall(r'id="job-(\d+)"', r.text)]
    assert ids == [failed], ids
    r = s.get("/admin/queue?anomaly=1&user=" + user,
              headers={"Cookie": cookie})
    ids = [int(x) for x in re.findall(r'id="job-(\d+)"', r.text)]
    assert ids == [slow], ids
    # Not for other users; forms need the token.
    other, other_csrf, _ = admin_browser(s, "user", "not-an-admin")
    assert s.get("/admin/queue", headers={"Cookie": other}).status == 403
    r = post_form(s, other, "/admin/queue/%d/requeue" % failed,
                  {"csrf": other_csrf})
    assert r.status == 403
    r = post_form(s, cookie, "/admin/queue/%d/requeue" % failed,
                  {"csrf": "x" * 43})
    assert r.status == 403
    assert one(s, "SELECT status FROM jobs WHERE id = %d" % failed) == \
        "failed"
    # Requeue: a fresh start that the daemon then renders.
    r = post_form(s, cookie, "/admin/queue/%d/requeue" % failed,
                  {"csrf": csrf})
    assert r.status == 303, r.status
    wait_db(s, failed, ("succeeded",))
    row = s.sql("SELECT error IS NULL, attempt FROM jobs WHERE id = %d" %
                failed)
    assert row == [["1", "1"]], row
    # Cancel: only a queued or running job; both actions are audited.
    r = post_form(s, cookie, "/admin/queue/%d/cancel" % slow,
                  {"csrf": csrf})
    assert r.status == 404
    rows = s.sql("SELECT actor, action, detail FROM audit_log WHERE action"
                 " = 'job_requeue' AND actor = '%s'" % admin)
    assert rows == [[admin, "job_requeue", "job %d" % failed]], rows
