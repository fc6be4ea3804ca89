/* page_explore.c - the public gallery: /explore (published images, newest
 * first, searched by the words of their prompts), /explore/{id} (one image,
 * its settings and a Remix link), POST /explore/{id}/report (signed in),
 * and the job page's POST /jobs/{id}/images/{idx}/publish and /unpublish
 * (the owner). Who may see an image is explore.h's one rule. */
#include "app.h"
#include "auth.h"
#include "db.h"
#include "explore.h"
#include "handlers.h"
#include "ratelimit.h"
#include "view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Images per page of /explore. */
#define PAGE 24
/* Words of a search; each must be in the prompt. */
#define SEARCH_WORDS 6
#define SEARCH_MAX 200
/* Reports a user may make: a burst, then so many a minute. */
#define REPORT_BURST 10
#define REPORT_PER_MINUTE 2

/* POST /jobs/{id}/images/{idx}/publish's form: ticked boxes publish
 * without the prompt (it is neither shown nor searched) and without the
 * author's name. */
enum { PB_NO_PROMPT, PB_ANON };
const struct input publish_inputs[] = {
	[PB_NO_PROMPT] = { .name = "hide_prompt", .type = IN_BOOL,
		.msg = "Without the prompt: 0 or 1." },
	[PB_ANON] = { .name = "anonymous", .type = IN_BOOL,
		.msg = "Anonymous: 0 or 1." },
	IN_END,
};

/* POST /explore/{id}/report's form. */
enum { RP_REASON, RP_DETAIL };
const struct input report_inputs[] = {
	[RP_REASON] = { .name = "reason", .type = IN_ENUM,
		.flags = IN_REQUIRED, .choices = explore_reasons,
		.msg = "Reason: choose one of the list." },
	[RP_DETAIL] = { .name = "detail", .type = IN_STR,
		.flags = IN_TEXT | IN_LINES, .max = 500,
		.msg = "Details: at most 500 bytes of text." },
	IN_END,
};

static int
not_found(struct kreq *req)
{
	view_error(req, 404, "not_found", "No such published image.");
	return -1;
}

int
page_explore(struct kreq *req)
{
	const char *q = req_query(req, "q"), *before = req_query(req,
		"before");
	char *words[SEARCH_WORDS], key[64];
	struct db_param p[SEARCH_WORDS + 3];
	struct buf sql = { 0 };
	long bid = 0, n;
	int nw = 0, i, status = 200;

	if (db_ensure(req->app->db) != 0)
		return view_db_fail(req, "explore");
	view_set(req, "Explore.Q", q ? q : "");
	if (before != NULL && *before != '\0' &&
	    parse_long(before, 1, 1L << 62, &bid) != 0) {
		view_field_error(req, "before", "Page (before): must be the "
			"id of an image, as the \"Older images\" link gives "
			"it.");
		status = 400;
	}
	if (q != NULL && strlen(q) > SEARCH_MAX) {
		view_field_error(req, "q", "Search: at most 200 bytes.");
		status = 400;
	}
	if (status != 200) {
		view_set_int(req, "Explore.Count", 0);
		return view_render(req, status, "Explore", "explore.cs");
	}
	nw = explore_search_words(q, words, SEARCH_WORDS);
	/* LIKE over the prompts, not FULLTEXT: InnoDB's full-text index
	 * drops words under three characters and its stopwords, and splits
	 * only at spaces and punctuation (no CJK), where a search box is
	 * expected to find any word typed; the published set is small
	 * enough to scan, a page at a time. A prompt the owner did not
	 * show is never searched. */
	buf_puts(&sql, "SELECT p.id AS Id, i.width AS Width,"
		" i.height AS Height,"
		" IF(p.show_prompt, LEFT(j.prompt, 200), '') AS Prompt,"
		" IF(p.anonymous, '', COALESCE(NULLIF(u.display_name, ''),"
		" u.username)) AS Author" EXPLORE_FROM " WHERE" EXPLORE_VISIBLE);
	for (i = 0; i < nw; i++) {
		buf_puts(&sql, " AND p.show_prompt = 1 AND j.prompt LIKE ?");
		p[i] = DB_STR(words[i]);
	}
	/* Keyset pages on (published_at, id): a new image does not shift
	 * the pages being read. */
	buf_puts(&sql, " AND (? = 0 OR (p.published_at, p.id) <"
		" (SELECT c.published_at, c.id FROM published_images c"
		" WHERE c.id = ?)) ORDER BY p.published_at DESC, p.id DESC"
		" LIMIT ?");
	p[nw] = DB_INT(bid);
	p[nw + 1] = DB_INT(bid);
	p[nw + 2] = DB_INT(PAGE);
	n = sql.data == NULL ? -1 : view_rows(req, "Explore.List", sql.data,
		p, (size_t)nw + 3);
	for (i = 0; i < nw; i++)
		free(words[i]);
	buf_free(&sql);
	if (n < 0)
		return view_db_fail(req, "explore: list");
	view_set_int(req, "Explore.Count", n);
	if (n == PAGE) {
		snprintf(key, sizeof(key), "Explore.List.%d.Id", PAGE - 1);
		view_set(req, "Explore.Next", view_get(req, key));
	}
	return view_render(req, 200, "Explore", "explore.cs");
}

int
page_explore_image(struct kreq *req)
{
	unsigned long long id = req_id(req, 0);
	unsigned long long me = req->auth ? req->auth->user_id : 0;
	struct db_param p[3];
	long n;

	if (id == 0)
		return not_found(req);
	if (db_ensure(req->app->db) != 0)
		return view_db_fail(req, "explore: image");
	p[0] = DB_INT(me);
	p[1] = DB_INT(me);
	p[2] = DB_INT(id);
	n = view_rows(req, "Image", "SELECT p.id AS Id, p.job_id AS JobId,"
		" p.idx AS Idx, p.show_prompt AS ShowPrompt,"
		" IF(p.show_prompt, j.prompt, '') AS Prompt,"
		" IF(p.show_prompt, j.negative_prompt, '') AS Negative,"
		" j.model AS Model, i.width AS Width, i.height AS Height,"
		" i.seed AS Seed, j.steps AS Steps, j.cfg_scale AS Cfg,"
		" j.sampler AS Sampler,"
		" IF(p.anonymous, '', COALESCE(NULLIF(u.display_name, ''),"
		" u.username)) AS Author,"
		" DATE_FORMAT(p.published_at, '%Y-%m-%d %H:%i') AS Published,"
		" p.user_id = ? AS Mine, EXISTS (SELECT 1 FROM image_reports r"
		" WHERE r.published_id = p.id AND r.reporter_id = ? AND"
		" r.status = 'open') AS Reported" EXPLORE_FROM
		" WHERE p.id = ? AND" EXPLORE_VISIBLE, p, 3);
	if (n < 0)
		return view_db_fail(req, "explore: image");
	if (n == 0)
		return not_found(req);
	return view_render(req, 200, "Explore", "explore_image.cs");
}

int
page_explore_report(struct kreq *req)
{
	unsigned long long id = req_id(req, 0), rid = 0;
	const char *reason = in_str(req, RP_REASON);
	const char *detail = in_str(req, RP_DETAIL);
	struct rate_result rr;
	struct db_param p[4];
	char bucket[64], url[64];
	long seen = 0;

	p[0] = DB_INT(id);
	if (id == 0 || db_query_long(req->app->db, "SELECT COUNT(*)"
	    EXPLORE_FROM " WHERE p.id = ? AND" EXPLORE_VISIBLE, p, 1,
	    &seen) != 0)
		return id == 0 ? not_found(req) : view_db_fail(req,
			"explore: report");
	if (seen == 0)
		return not_found(req);
	if (reason == NULL || in_bad(req, RP_DETAIL)) {
		view_error(req, 422, "validation_failed", reason == NULL ?
			"Reason: choose one of the list." :
			"Details: at most 500 bytes of text.");
		return -1;
	}
	/* Per user: reports are cheap to make and cost a moderator time. */
	snprintf(bucket, sizeof(bucket), "report:u:%llu",
		req->auth->user_id);
	if (rate_take(req, bucket, REPORT_BURST, REPORT_PER_MINUTE, &rr) != 0)
		return view_db_fail(req, "explore: report limit");
	rate_headers(req, REPORT_BURST, &rr);
	if (!rr.allowed) {
		view_error(req, 429, "rate_limited", "You have made many "
			"reports in a short time; wait a little and try again.");
		return -1;
	}
	p[1] = DB_INT(req->auth->user_id);
	p[2] = DB_STR(reason);
	p[3] = DB_STR(detail ? detail : "");
	/* One open report per user and image: the unique key decides,
	 * so two racing requests cannot both count. The owner's event is
	 * queued with it, in one transaction. */
	if (db_exec_text(req->app->db, "START TRANSACTION") != 0)
		return view_db_fail(req, "explore: report");
	if (db_exec(req->app->db, "INSERT IGNORE INTO image_reports"
	    " (published_id, reporter_id, reason, detail) VALUES (?, ?, ?, ?)",
	    p, 4, NULL, &rid) != 0 || (rid != 0 &&
	    (explore_reported_event(req->app->db, req->app->cfg.base_url, id,
	    reason) != 0 || db_exec_text(req->app->db, "COMMIT") != 0))) {
		db_rollback(req->app->db);
		return view_db_fail(req, "explore: report");
	}
	if (rid == 0) {
		db_rollback(req->app->db);
		view_error(req, 409, "conflict", "You have already reported "
			"this image; a moderator will look at it.");
		return -1;
	}
	snprintf(url, sizeof(url), "/explore/%llu", id);
	if (view_flash(req, "reported") != 0) {
		view_error(req, 500, "internal", "Out of memory.");
		return -1;
	}
	return resp_redirect(req, url);
}

/* The {idx} capture of /jobs/{id}/images/{idx}/...: 0..1000, or -1. */
static long
image_idx(const struct kreq *req)
{
	long idx;

	if (req->ncaptures < 2 || parse_long(req->captures[1], 0, 1000,
	    &idx) != 0)
		return -1;
	return idx;
}

/* After a publish or unpublish: back to the image on the job page. */
static int
after(struct kreq *req, enum explore_result r, unsigned long long job,
	long idx, const char *flash)
{
	char url[80];

	switch (r) {
	case EXPLORE_DONE:
		snprintf(url, sizeof(url), "/jobs/%llu#image-%ld", job, idx);
		if (view_flash(req, flash) != 0) {
			view_error(req, 500, "internal", "Out of memory.");
			return -1;
		}
		return resp_redirect(req, url);
	case EXPLORE_NOT_FOUND:
		view_error(req, 404, "not_found", "No such image.");
		return -1;
	case EXPLORE_HIDDEN:
		view_error(req, 409, "conflict", "A moderator hid this image "
			"from Explore; it cannot be published again.");
		return -1;
	default:
		return view_db_fail(req, "explore: publish");
	}
}

int
page_image_publish(struct kreq *req)
{
	unsigned long long job = req_id(req, 0);
	long idx = image_idx(req);

	if (job == 0 || idx < 0)
		return after(req, EXPLORE_NOT_FOUND, job, idx, "");
	if (in_bad(req, PB_NO_PROMPT) || in_bad(req, PB_ANON)) {
		view_error(req, 422, "validation_failed", "The publish form's "
			"boxes are 0 or 1.");
		return -1;
	}
	return after(req, explore_publish(req->app->db,
		req->app->cfg.base_url, req->auth->user_id, job, idx,
		!in_long(req, PB_NO_PROMPT), (int)in_long(req, PB_ANON), NULL),
		job, idx, "published");
}

int
page_image_unpublish(struct kreq *req)
{
	unsigned long long job = req_id(req, 0);
	long idx = image_idx(req);

	if (job == 0 || idx < 0)
		return after(req, EXPLORE_NOT_FOUND, job, idx, "");
	return after(req, explore_unpublish(req->app->db, req->auth->user_id,
		job, idx), job, idx, "unpublished");
}
