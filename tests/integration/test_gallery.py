"""Thumbnails, sharing by link, deleting, the gallery and usage pages and
/metrics, over real HTTP against lighttpd + MariaDB with a running kilnd.

Each test makes its own users, keys, sessions and jobs (common.py's
helpers; the images are rendered by the daemon where a test reads them,
SQL rows stand in where only a job's row matters). Expected values are
computed here: thumbnail sizes from the originals' sizes, thumbnail
pixels from a box filter over the decoded original, usage per day from
the rows this test wrote, metric deltas from the requests and renders
this test made."""

import datetime
import os
import re

from common import (api, browser, check_security_headers, error_of,
                    is_json, job_dir, job_row, make_key, micro_models,
                    new_user, one, png_decode, png_size, post_form,
                    rendered, token, user_with_key, wait_idle)

# /metrics from this machine needs a login here, so the access rules can
# be tested; the tier "small" allows two jobs a day.
STACK = dict(server="lighttpd", heartbeat=1, daemon_name="gallery-1",
             extra_conf="[limits]\nsubmit_burst = 100000\n"
                        "[tier default]\nmax_side = 2048\nmax_steps = 150\n"
                        "max_batch = 8\njobs_per_day = 1000000\n"
                        "max_queued = 100000\n"
                        "[tier small]\njobs_per_day = 2\n"
                        "[metrics]\nallow_loopback = 0\n",
             # Thumbnails need an image over 256 pixels: kiln-micro's own
             # limit (128) raised, as an operator may in its kiln.json.
             models=micro_models(320))

THUMB = 256
GREEN = "two small green triangles on a white background"


def page(s, cookie, path):
    r = s.get(path, headers={"Cookie": cookie} if cookie else {})
    check_security_headers(r, path)
    return r


def box_mean(rows, x0, y0, x1, y1):
    n, acc = 0, [0, 0, 0]
    for y in range(y0, y1):
        for x in range(x0, x1):
            for c in range(3):
                acc[c] += rows[y][x][c]
            n += 1
    return [a / n for a in acc]


def shared(s, key, jid):
    """Shares job jid with key: (the share URL answered, the token
    stored)."""
    r = api(s, "POST", "/api/v1/jobs/%d/share" % jid, key)
    assert r.status == 200, (r.status, r.text[:300])
    return is_json(r)["share_url"], one(
        s, "SELECT share_token FROM jobs WHERE id = %d" % jid)


def two_images(s, uid):
    """A succeeded job of uid made in SQL, with two image rows (no
    files): its id."""
    jid = job_row(s, uid, "succeeded", GREEN, batch_count=2)
    for i in range(2):
        s.sql("INSERT INTO job_images (job_id, idx, seed, path, width,"
              " height) VALUES (%d, %d, %d, 'jobs/%d/%d.png', 64, 64)" %
              (jid, i, i + 1, jid, i))
    return jid


def test_thumbnails_are_made_with_the_aspect_and_kept(s):
    _, key = user_with_key(s, prefix="alice")
    j = rendered(s, key, {"prompt": GREEN, "width": 320, "height": 192,
                          "steps": 2, "batch_count": 2, "seed": 11})
    assert len(j["images"]) == 2, j
    for im in j["images"]:
        assert im["thumb_url"] == s.base + \
            "/api/v1/images/%d-%d.thumb.png" % (j["id"], im["index"]), im
        full = api(s, "GET", im["url"], key)
        assert full.status == 200
        assert png_size(full.body, im["url"]) == (320, 192)
        r = api(s, "GET", im["thumb_url"], key)
        assert r.status == 200, (r.status, r.text[:300])
        assert r.headers["content-type"] == "image/png"
        assert r.headers["cache-control"] == "private, max-age=86400"
        # The long side becomes 256, the other keeps the proportion.
        want = (THUMB, round(192 * THUMB / 320))
        w, h, thumb = png_decode(r.body)
        assert (w, h) == want, (w, h)
        # Its pixels are the original's, scaled: 8x8 blocks of the thumb
        # against the same areas of the original, box-averaged here.
        ow, oh, orig = png_decode(full.body)
        worst = 0
        for by in range(0, 8):
            for bx in range(0, 8):
                tx0, tx1 = bx * w // 8, (bx + 1) * w // 8
                ty0, ty1 = by * h // 8, (by + 1) * h // 8
                a = box_mean(thumb, tx0, ty0, tx1, ty1)
                b = box_mean(orig, tx0 * ow // w, ty0 * oh // h,
                             tx1 * ow // w, ty1 * oh // h)
                worst = max(worst, max(abs(p - q) for p, q in zip(a, b)))
        assert worst < 12, "thumbnail differs from the image by %.1f" % worst
        # Kept beside the image, and served from there next time.
        rel = one(s, "SELECT path FROM job_images WHERE job_id = %d AND"
                  " idx = %d" % (j["id"], im["index"]))
        assert rel.endswith(".png"), rel
        kept = s.path("artifacts", rel[:-4] + ".thumb.png")
        assert os.path.isfile(kept), os.listdir(job_dir(s, j["id"]))
        with open(kept, "rb") as f:
            assert f.read() == r.body
        again = api(s, "GET", im["thumb_url"], key)
        assert again.body == r.body
        etag = r.headers["etag"]
        assert etag != full.headers["etag"]
        r = api(s, "GET", im["thumb_url"], key,
                headers={"If-None-Match": etag})
        assert r.status == 304 and r.body == b"", r.status


def test_an_image_smaller_than_a_thumbnail_is_its_own(s):
    _, key = user_with_key(s, prefix="alice")
    small = rendered(s, key, {"prompt": "a single blue circle on the left",
                              "steps": 2})
    im = small["images"][0]
    full = api(s, "GET", im["url"], key)
    thumb = api(s, "GET", im["thumb_url"], key)
    assert thumb.status == 200 and thumb.body == full.body


def test_other_users_and_odd_names_get_no_thumbnail(s):
    _, key = user_with_key(s, prefix="alice")
    _, bob_key = user_with_key(s, prefix="bob")
    j = rendered(s, key, {"prompt": GREEN, "steps": 1})
    assert api(s, "GET", j["images"][0]["thumb_url"], key).status == 200
    # Someone else's thumbnails do not exist for them; odd names neither.
    for url in [j["images"][0]["thumb_url"],
                "/api/v1/images/%d-00.thumb.png" % j["id"],
                "/api/v1/images/%d-0.thumb.thumb.png" % j["id"],
                "/api/v1/images/%d-0.THUMB.png" % j["id"],
                "/api/v1/images/%d-9.thumb.png" % j["id"]]:
        who = bob_key if url == j["images"][0]["thumb_url"] else key
        error_of(api(s, "GET", url, who), 404, "not_found", url)


def test_generate_from_a_job_fills_the_form_with_its_settings(s):
    uid, _ = new_user(s, "alice")
    jid = job_row(s, uid, prompt=GREEN, width=320, height=192, steps=2,
                  cfg_scale=6.5, seed=11, batch_count=2)
    cookie, _ = browser(s, uid)
    r = page(s, cookie, "/generate?from=%d" % jid)
    assert r.status == 200
    assert ">two small green triangles on a white background</textarea>" \
        in r.text
    for name, v in (("width", "320"), ("height", "192"), ("steps", "2"),
                    ("cfg_scale", "6.5"), ("seed", "11"),
                    ("batch_count", "2"), ("webhook_url", "")):
        assert re.search(r'name="%s"[^>]* value="%s"' % (name, v),
                         r.text), (name, v)


def test_generate_from_another_users_job_fills_nothing(s):
    alice, _ = new_user(s, "alice")
    bob, _ = new_user(s, "bob")
    jid = job_row(s, alice, prompt=GREEN, seed=11)
    cookie, _ = browser(s, bob)
    r = page(s, cookie, "/generate?from=%d" % jid)
    assert r.status == 200
    assert re.search(r'name="prompt"[^>]*></textarea>', r.text)
    assert re.search(r'name="seed"[^>]* value=""', r.text)


def test_share_by_link(s):
    uid, key = user_with_key(s, prefix="alice")
    ro = make_key(s, uid, "read")
    _, bob_key = user_with_key(s, prefix="bob")
    jid = rendered(s, key, {"prompt": GREEN, "steps": 2,
                            "batch_count": 2})["id"]
    path = "/api/v1/jobs/%d/share" % jid
    error_of(api(s, "POST", path, ro), 403, "forbidden", "ro key")
    error_of(api(s, "POST", path, bob_key), 404, "not_found", "bob")
    assert one(s, "SELECT share_token IS NULL FROM jobs WHERE id = %d" %
               jid) == "1"
    r = api(s, "POST", path, key)
    assert r.status == 200, (r.status, r.text[:300])
    url = is_json(r)["share_url"]
    m = re.fullmatch(re.escape(s.base) + r"/s/([A-Za-z0-9_-]{43})", url)
    assert m, url
    tok = m.group(1)
    assert one(s, "SELECT share_token FROM jobs WHERE id = %d" % jid) == tok
    # Sharing again keeps the link already handed out.
    assert is_json(api(s, "POST", path, key))["share_url"] == url
    owner = is_json(api(s, "GET", "/api/v1/jobs/%d" % jid, key))
    assert owner["share_url"] == url

    # Anyone with the link, signed in or not: the page, the JSON, the PNGs.
    r = page(s, None, url)
    assert r.status == 200, r.status
    assert "two small green triangles on a white background" in r.text
    assert one(s, "SELECT username FROM users WHERE id = %d" % uid) \
        not in r.text
    for i in range(2):
        assert 'src="/api/v1/shared/%s/%d.png"' % (tok, i) in r.text
    r = s.get("/api/v1/shared/" + tok)
    assert r.status == 200
    doc = is_json(r)
    assert doc["prompt"] == owner["prompt"]
    assert doc["seed"] == owner["seed"] and doc["steps"] == 2
    assert not {"id", "user_id", "username", "webhook_url"} & set(doc), doc
    assert [i["index"] for i in doc["images"]] == [0, 1]
    for im, mine in zip(doc["images"], owner["images"]):
        pub = s.get(im["url"])
        assert pub.status == 200 and pub.headers["content-type"] == \
            "image/png"
        assert pub.headers["cache-control"] == "public, max-age=3600"
        assert pub.body == api(s, "GET", mine["url"], key).body
        t = s.get(im["thumb_url"])
        assert t.status == 200
        assert t.body == api(s, "GET", mine["thumb_url"], key).body
    # Only what was shared: not other jobs' images, not the preview.
    other = token()
    for bad in ["/s/" + other, "/s/short", "/s/" + tok + "x",
                "/api/v1/shared/" + other, "/api/v1/shared/" + other +
                "/0.png", "/api/v1/shared/%s/2.png" % tok,
                "/api/v1/shared/%s/00.png" % tok,
                "/api/v1/shared/%s/preview.png" % tok,
                "/api/v1/shared/%s/..%%2f0.png" % tok]:
        r = s.get(bad)
        assert r.status == 404, (bad, r.status)


def test_only_a_job_that_succeeded_can_be_shared(s):
    uid, key = user_with_key(s, prefix="alice")
    failed = job_row(s, uid, "failed", "x", error="boom")
    error_of(api(s, "POST", "/api/v1/jobs/%d/share" % failed, key), 409,
             "conflict", "share failed job")
    assert one(s, "SELECT share_token IS NULL FROM jobs WHERE id = %d" %
               failed) == "1"


def test_a_withdrawn_link_stops_at_once(s):
    _, key = user_with_key(s, prefix="alice")
    _, bob_key = user_with_key(s, prefix="bob")
    jid = rendered(s, key, {"prompt": GREEN, "steps": 1})["id"]
    path = "/api/v1/jobs/%d/share" % jid
    url, tok = shared(s, key, jid)
    assert s.get("/api/v1/shared/%s/0.png" % tok).status == 200
    # Withdrawn: the link stops at once; a new share is a new link.
    error_of(api(s, "DELETE", path, bob_key), 404, "not_found",
             "bob unshares")
    r = api(s, "DELETE", path, key)
    assert r.status == 204, r.status
    for u in [url, "/api/v1/shared/" + tok, "/api/v1/shared/%s/0.png" % tok]:
        assert s.get(u).status == 404, u
    assert is_json(api(s, "GET", "/api/v1/jobs/%d" % jid, key))[
        "share_url"] is None
    again = is_json(api(s, "POST", path, key))["share_url"]
    assert again != url


def test_share_url_is_absolute(s):
    # A link to hand to people: on [site] base_url, not a bare path.
    uid, key = user_with_key(s, prefix="alice")
    jid = job_row(s, uid, "succeeded", GREEN)
    url, tok = shared(s, key, jid)
    assert url == "%s/s/%s" % (s.base, tok), url
    owner = is_json(api(s, "GET", "/api/v1/jobs/%d" % jid, key))
    assert owner["share_url"] == url, owner["share_url"]


def test_shared_image_urls_are_absolute(s):
    uid, key = user_with_key(s, prefix="alice")
    _, tok = shared(s, key, two_images(s, uid))
    doc = is_json(s.get("/api/v1/shared/" + tok))
    assert [i["index"] for i in doc["images"]] == [0, 1], doc
    for im in doc["images"]:
        base = "%s/api/v1/shared/%s/%d" % (s.base, tok, im["index"])
        assert im["url"] == base + ".png", im
        assert im["thumb_url"] == base + ".thumb.png", im


def share_token_of(s, jid):
    return one(s, "SELECT COALESCE(share_token, '') FROM jobs WHERE id = %d"
               % jid)


def test_a_generate_only_key_cannot_share(s):
    # A link lets anyone read the job: a key that may not read it must not
    # be able to make one.
    uid, _ = new_user(s, "alice")
    gen = make_key(s, uid, "generate")
    jid = job_row(s, uid, "succeeded", GREEN)
    before = share_token_of(s, jid)
    e = error_of(api(s, "POST", "/api/v1/jobs/%d/share" % jid, gen), 403,
                 "forbidden", "generate-only key shares")
    assert e["message"] == "this API key lacks the scope: read", e
    assert share_token_of(s, jid) == before


def test_a_generate_only_key_cannot_unshare(s):
    uid, key = user_with_key(s, prefix="alice")
    gen = make_key(s, uid, "generate")
    jid = job_row(s, uid, "succeeded", GREEN)
    shared(s, key, jid)
    before = share_token_of(s, jid)
    assert before, "the job is shared"
    e = error_of(api(s, "DELETE", "/api/v1/jobs/%d/share" % jid, gen), 403,
                 "forbidden", "generate-only key unshares")
    assert e["message"] == "this API key lacks the scope: read", e
    assert share_token_of(s, jid) == before


def test_share_and_unshare_from_the_job_page(s):
    uid, key = user_with_key(s, prefix="alice")
    jid = job_row(s, uid, "succeeded", GREEN)
    other = job_row(s, uid, "succeeded", "a single blue circle")
    _, tok = shared(s, key, jid)
    cookie, csrf = browser(s, uid)
    r = page(s, cookie, "/jobs/%d" % jid)
    assert r.status == 200
    base = "http://127.0.0.1:%d" % s.port
    assert 'value="%s/s/%s"' % (base, tok) in r.text
    # Forms need the token; other users get 404.
    r = post_form(s, cookie, "/jobs/%d/unshare" % jid, {"csrf": "x" * 43})
    assert r.status == 403
    bob, _ = new_user(s, "bob")
    bob_cookie, bob_csrf = browser(s, bob)
    for action in ("share", "unshare", "delete"):
        r = post_form(s, bob_cookie, "/jobs/%d/%s" % (jid, action),
                      {"csrf": bob_csrf})
        assert r.status == 404, (action, r.status)
    assert one(s, "SELECT share_token FROM jobs WHERE id = %d" % jid) == tok
    r = post_form(s, cookie, "/jobs/%d/unshare" % jid, {"csrf": csrf})
    assert r.status == 303 and r.headers["location"] == "/jobs/%d" % jid
    assert "/s/" not in page(s, cookie, "/jobs/%d" % jid).text
    r = post_form(s, cookie, "/jobs/%d/share" % other, {"csrf": csrf})
    assert r.status == 303, r.status
    tok = one(s, "SELECT share_token FROM jobs WHERE id = %d" % other)
    assert len(tok) == 43
    assert 'value="%s/s/%s"' % (base, tok) in page(
        s, cookie, "/jobs/%d" % other).text


def test_delete_from_the_job_page(s):
    # Files, images and the link go; the row stays, marked.
    uid, key = user_with_key(s, prefix="alice")
    small = rendered(s, key, {"prompt": "a single blue circle on the left",
                              "steps": 1})["id"]
    _, tok = shared(s, key, small)
    assert os.path.isdir(job_dir(s, small))
    cookie, csrf = browser(s, uid)
    r = post_form(s, cookie, "/jobs/%d/delete" % small, {"csrf": csrf})
    assert r.status == 303 and r.headers["location"] == "/gallery"
    assert not os.path.exists(job_dir(s, small))
    assert one(s, "SELECT COUNT(*) FROM job_images WHERE job_id = %d" %
               small) == "0"
    assert s.sql("SELECT deleted_at IS NOT NULL, share_token IS NULL,"
                 " prompt FROM jobs WHERE id = %d" % small) == [["1", "1",
                                                                  ""]]
    assert s.get("/s/" + tok).status == 404
    assert page(s, cookie, "/jobs/%d" % small).status == 404
    r = post_form(s, cookie, "/jobs/%d/delete" % small, {"csrf": csrf})
    assert r.status == 404


def gallery_items(text):
    return [(int(a), int(b)) for a, b in re.findall(
        r'src="/api/v1/images/(\d+)-(\d+)\.thumb\.png"', text)]


def test_gallery_pages_and_filters(s):
    uid, _ = new_user(s, "dave")
    cookie, _ = browser(s, uid)
    r = page(s, cookie, "/gallery")
    assert r.status == 200 and gallery_items(r.text) == []
    # Ten jobs of three images each, over three days and two models; one
    # job deleted (its images gone), one failed (no images).
    models = ["kiln-micro", "other-model"]
    for k in range(10):
        s.sql("INSERT INTO jobs (user_id, status, prompt, model, width,"
              " height, steps, cfg_scale, sampler, seed, batch_count,"
              " created_at) VALUES (%d, 'succeeded', 'picture %s %d',"
              " '%s', 64, 64, 2, 4, 'euler', %d, 3, NOW() - INTERVAL %d"
              " DAY)" % (uid, "cat" if k % 2 else "dog", k, models[k % 3 ==
                                                                 0], k, k // 4))
        jid = int(one(s, "SELECT MAX(id) FROM jobs"))
        for i in range(3):
            s.sql("INSERT INTO job_images (job_id, idx, seed, path, width,"
                  " height) VALUES (%d, %d, %d, 'jobs/%d/%d.png', 64, 64)"
                  % (jid, i, k + i, jid, i))
    s.sql("UPDATE jobs SET deleted_at = NOW() WHERE user_id = %d AND"
          " prompt = 'picture dog 4'" % uid)
    want = [(int(a), int(b)) for a, b in s.sql(
        "SELECT i.job_id, i.idx FROM job_images i JOIN jobs j ON j.id ="
        " i.job_id WHERE j.user_id = %d AND j.deleted_at IS NULL"
        " ORDER BY i.job_id DESC, i.idx" % uid)]
    assert len(want) == 27
    seen, url = [], "/gallery"
    while url:
        r = page(s, cookie, url)
        assert r.status == 200
        items = gallery_items(r.text)
        assert len(items) <= 24
        seen += items
        m = re.search(r'href="(/gallery\?after=[^"]+)" rel="next"', r.text)
        url = m.group(1).replace("&amp;", "&") if m else None
    assert seen == want, seen
    # Filters: words of the prompt, the model, a date range.
    def ids(query):
        return gallery_items(page(s, cookie, "/gallery?" + query).text)
    meta = {int(r[0]): r[1:] for r in s.sql(
        "SELECT id, prompt, model, DATE(created_at) FROM jobs"
        " WHERE user_id = %d" % uid)}
    cats = [x for x in want if "cat" in meta[x[0]][0]]
    assert 0 < len(cats) < 24
    assert ids("q=cat") == cats
    other = [x for x in want if meta[x[0]][1] == "other-model"]
    assert other and ids("model=other-model") == other
    today = one(s, "SELECT CURDATE()")
    todays = [x for x in want if meta[x[0]][2] == today]
    assert todays and ids("since=%s&until=%s" % (today, today)) == todays
    yesterday = one(s, "SELECT CURDATE() - INTERVAL 1 DAY")
    assert ids("until=" + yesterday) == [x for x in want
                                         if meta[x[0]][2] < today]
    r = page(s, cookie, "/gallery?since=not-a-date")  # refused, named
    assert r.status == 400 and "From (since)" in r.text, r.status
    assert ids("q=%25") == []                        # % is literal
    # Nobody else's images; no page without a login.
    bob_cookie, _ = browser(s, new_user(s, "bob")[0])
    assert not set(gallery_items(page(s, bob_cookie, "/gallery").text)) & \
        set(want)
    r = s.get("/gallery")
    assert r.status == 303 and r.headers["location"].startswith("/login")


def usage_rows(text):
    body = text.split('id="usage-table"', 1)[1]
    return [tuple(m) for m in re.findall(
        r"<tr[^>]*><td>(\d{4}-\d\d-\d\d)</td><td>(\d+)</td><td>(\d+)</td>"
        r"<td>(\d+)</td></tr>", body)]


def test_usage_table_and_chart(s):
    uid, _ = new_user(s, "erin")
    cookie, _ = browser(s, uid)
    # (days ago, status, batch, cost, refunded, deleted)
    jobs = [(0, "succeeded", 2, 40, 0, 0), (0, "failed", 1, 20, 1, 0),
            (1, "succeeded", 4, 80, 0, 1), (3, "canceled", 1, 10, 1, 0),
            (3, "succeeded", 1, 25, 0, 0), (29, "succeeded", 3, 30, 0, 0),
            (30, "succeeded", 8, 99, 0, 0)]       # 30 days ago: not shown
    for ago, st, batch, cost, refunded, deleted in jobs:
        s.sql("INSERT INTO jobs (user_id, status, prompt, model, width,"
              " height, steps, cfg_scale, sampler, seed, batch_count, cost,"
              " refunded, deleted_at, created_at) VALUES (%d, '%s', 'u',"
              " 'kiln-micro', 64, 64, 2, 4, 'euler', 1, %d, %d, %d, %s,"
              " CURDATE() - INTERVAL %d DAY + INTERVAL 1 HOUR)" %
              (uid, st, batch, cost, refunded,
               "NOW()" if deleted else "NULL", ago))
    today = datetime.date.fromisoformat(one(s, "SELECT CURDATE()"))
    days = [(today - datetime.timedelta(days=k)).isoformat()
            for k in range(30)]
    expect = {}
    for ago, st, batch, cost, refunded, deleted in jobs:
        if ago >= 30:
            continue
        d = days[ago]
        j, im, cr = expect.get(d, (0, 0, 0))
        expect[d] = (j + 1, im + (batch if st == "succeeded" else 0),
                     cr + (0 if refunded else cost))
    want = [(d,) + tuple(str(v) for v in expect.get(d, (0, 0, 0)))
            for d in days]
    r = page(s, cookie, "/usage")
    assert r.status == 200
    got = usage_rows(r.text)
    assert got == want, got
    total_images = sum(v[1] for v in expect.values())
    total_credits = sum(v[2] for v in expect.values())
    assert "<strong>%d</strong> images" % total_images in r.text
    assert "<strong>%d</strong> credits" % total_credits in r.text
    # The chart: a 720x300 PNG with a bar for each day that had images
    # (top panel) and credits (bottom panel), and none elsewhere.
    r = s.get("/usage/chart.png", headers={"Cookie": cookie})
    assert r.status == 200 and r.headers["content-type"] == "image/png"
    w, h, px = png_decode(r.body)
    assert (w, h) == (720, 300)
    step = (720 - 12 - 56) // 30
    for i, d in enumerate(reversed(days)):        # oldest first
        x = 56 + i * step + step // 2
        j, im, cr = expect.get(d, (0, 0, 0))
        assert (px[122][x] == (180, 71, 31)) == (im > 0), (d, px[122][x])
        assert (px[258][x] == (70, 110, 160)) == (cr > 0), (d, px[258][x])
    # Another user's usage holds none of it.
    bob_cookie, _ = browser(s, new_user(s, "bob")[0])
    rows = usage_rows(page(s, bob_cookie, "/usage").text)
    assert len(rows) == 30 and all(row[1:] == ("0", "0", "0")
                                   for row in rows), rows
    assert s.get("/usage/chart.png").status == 303


def test_deleted_jobs_still_count_against_the_day(s):
    uid, key = user_with_key(s, prefix="frank", tier="small")
    balance = int(one(s, "SELECT credits FROM users WHERE id = %d" % uid))
    spent = 0
    for k in range(2):
        j = rendered(s, key, {"prompt": "a pink triangle at the bottom on a"
                              " grey background", "steps": 1, "seed": k})
        spent += int(one(s, "SELECT cost FROM jobs WHERE id = %d" % j["id"]))
        assert api(s, "DELETE", "/api/v1/jobs/%d" % j["id"], key).status \
            == 204
    r = api(s, "POST", "/api/v1/jobs", key, {"prompt": "one more"})
    error_of(r, 429, "quota_exceeded", "third job of a 2-a-day tier")
    assert int(r.headers["retry-after"]) > 0
    assert int(one(s, "SELECT credits FROM users WHERE id = %d" % uid)) == \
        balance - spent


SAMPLE = re.compile(r'^([a-z_]+)(\{.*\})? (-?[0-9.e+]+|\+Inf)$')


def parse_metrics(text):
    """{(name, labels-string): value}, checking the text format."""
    out, typed = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            typed[name] = kind
            continue
        if line.startswith("# HELP ") or not line:
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        name = m.group(1)
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in typed or base in typed, "no TYPE for %s" % name
        key = (name, m.group(2) or "")
        assert key not in out, "duplicate series %r" % (key,)
        out[key] = float(m.group(3))
    return out


def metric(ms, name, **labels):
    want = ",".join('%s="%s"' % kv for kv in labels.items())
    hits = [v for (n, l), v in ms.items() if n == name and
            all(('%s="%s"' % kv) in l for kv in labels.items())]
    assert len(hits) <= 1, (name, want, hits)
    return hits[0] if hits else 0.0


def bucket_counts(ms, name, labels=""):
    """[(le, count)] of a histogram's buckets, in order of le."""
    return sorted(((float(m.group(1)) if m.group(1) != "+Inf" else
                    float("inf")), v) for (n, l), v in ms.items()
                  if n == name + "_bucket" and labels in l for m in
                  [re.search(r'le="([^"]+)"', l)])


def check_histogram(ms, name, labels=""):
    buckets = bucket_counts(ms, name, labels)
    assert buckets and buckets[-1][0] == float("inf"), buckets
    counts = [v for _, v in buckets]
    assert counts == sorted(counts), "buckets not cumulative: %r" % buckets
    return buckets


def metrics_admin(s):
    """A fresh admin and the Authorization header of a key that may read
    /metrics: (id, headers)."""
    admin, _ = new_user(s, "ops", role="admin")
    return admin, {"Authorization": "Bearer " +
                   make_key(s, admin, "read,admin")}


def test_metrics_need_an_admin(s):
    # Loopback is not enough here ([metrics] allow_loopback = 0).
    r = s.get("/metrics")
    assert r.status == 401 and "Bearer" in r.headers["www-authenticate"]
    user, key = user_with_key(s, prefix="alice")
    r = s.get("/metrics", headers={"Authorization": "Bearer " + key})
    assert r.status == 403
    admin, auth = metrics_admin(s)
    weak = make_key(s, admin, "read")
    assert s.get("/metrics", headers={"Authorization": "Bearer " + weak}
                 ).status == 403
    r = s.get("/metrics", headers={"Authorization": "Bearer kiln_" +
                                   token()})
    assert r.status == 403
    r = s.get("/metrics", headers=auth)
    assert r.status == 200, (r.status, r.text[:300])
    assert r.headers["content-type"].startswith(
        "text/plain; version=0.0.4")
    cookie, _ = browser(s, admin)
    assert s.get("/metrics", headers={"Cookie": cookie}).status == 200
    user_cookie, _ = browser(s, user)
    assert s.get("/metrics", headers={"Cookie": user_cookie}).status == 401


def test_metrics_count_exactly_the_requests_made(s):
    _, auth = metrics_admin(s)
    uid, key = user_with_key(s, prefix="alice")
    jid = job_row(s, uid, "succeeded", GREEN)
    before = parse_metrics(s.get("/metrics", headers=auth).text)
    route = dict(program="api", method="GET", route="/api/v1/jobs/{id}")
    for _ in range(7):
        assert api(s, "GET", "/api/v1/jobs/%d" % jid, key).status == 200
    for _ in range(3):
        assert api(s, "GET", "/api/v1/jobs/99999999", key).status == 404
    for _ in range(2):
        assert s.get("/no/such/page").status == 404
    after = parse_metrics(s.get("/metrics", headers=auth).text)
    for status, n in (("200", 7), ("404", 3)):
        d = metric(after, "kiln_http_requests_total", status=status,
                   **route) - metric(before, "kiln_http_requests_total",
                                     status=status, **route)
        assert d == n, (status, d)
    d = metric(after, "kiln_http_request_duration_seconds_count", **route) \
        - metric(before, "kiln_http_request_duration_seconds_count", **route)
    assert d == 10, d
    lbl = 'program="api",method="GET",route="/api/v1/jobs/{id}"'
    check_histogram(after, "kiln_http_request_duration_seconds", lbl)
    nr = dict(program="portal", route="(no route)", status="404")
    assert metric(after, "kiln_http_requests_total", **nr) - \
        metric(before, "kiln_http_requests_total", **nr) == 2



def test_metrics_show_the_queue_from_the_database(s):
    _, auth = metrics_admin(s)
    uid, _ = new_user(s, "alice")
    # Ended jobs of each kind and one running on a daemon elsewhere (its
    # lease far off, so recovery leaves it be), so no count is trivially
    # zero; nothing the daemon here would take.
    for st in ("succeeded", "failed", "canceled"):
        job_row(s, uid, st)
    running = job_row(s, uid, "running", claimed_by="elsewhere",
                      lease_until="SQL:NOW() + INTERVAL 1 HOUR",
                      started_at="SQL:NOW()")
    try:
        wait_idle(s, what_runs="id <> %d" % running)
        after = parse_metrics(s.get("/metrics", headers=auth).text)
        for st in ("queued", "running", "succeeded", "failed", "canceled"):
            n = int(one(s, "SELECT COUNT(*) FROM jobs WHERE status = '%s'" %
                        st))
            assert n > 0 or st == "queued", st
            assert metric(after, "kiln_jobs", status=st) == n, st
        assert metric(after, "kiln_queue_depth") == int(one(
            s, "SELECT COUNT(*) FROM jobs WHERE status = 'queued'"))
        assert metric(after, "kiln_daemons_online") == 1
    finally:
        s.sql("DELETE FROM jobs WHERE id = %d" % running)


def test_metrics_count_every_render_once(s):
    # Deleted jobs too: the histogram is kept apart from the rows.
    _, auth = metrics_admin(s)
    _, key = user_with_key(s, prefix="alice")
    wait_idle(s)
    before = parse_metrics(s.get("/metrics", headers=auth).text)
    done = [rendered(s, key, {"prompt": GREEN, "steps": 1, "seed": k})["id"]
            for k in range(2)]
    assert api(s, "DELETE", "/api/v1/jobs/%d" % done[1], key).status == 204
    after = parse_metrics(s.get("/metrics", headers=auth).text)
    secs = [float(one(s, "SELECT render_s FROM jobs WHERE id = %d" % j))
            for j in done]

    def delta(name, **labels):
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert delta("kiln_job_render_seconds_count") == len(done)
    assert abs(delta("kiln_job_render_seconds_sum") - sum(secs)) < \
        0.01 * len(done), (delta("kiln_job_render_seconds_sum"), secs)
    buckets = check_histogram(after, "kiln_job_render_seconds")
    # Before any render the histogram may not be there at all.
    old = {le: v for le, v in bucket_counts(before,
                                            "kiln_job_render_seconds")}
    for le, v in buckets:
        n = sum(1 for x in secs if x <= le)
        assert v - old.get(le, 0) == n, (le, v, old.get(le), n)
    assert delta("kiln_job_queue_wait_seconds_count") == len(done)
    check_histogram(after, "kiln_job_queue_wait_seconds")
