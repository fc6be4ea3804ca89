/* page_gallery.c - /gallery: the user's images as thumbnails, newest
 * first, with filters and pages; /usage: images made and credits spent
 * per day, as a table and as a chart (/usage/chart.png, drawn with
 * libgd). */
#include "accounts.h"
#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "log.h"
#include "models.h"
#include "util.h"
#include "view.h"

#include <gd.h>
#include <gdfonts.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GALLERY_PAGE 24
#define USAGE_DAYS 30

/* The cursor "JOB-IDX" (the last image of the page before): a positive
 * job id and an index, plain digits. Returns 0 with both, or -1. */
static int
parse_after(const char *s, unsigned long long *job, long *idx)
{
	const char *dash = strchr(s, '-');
	char head[24];
	long j;

	if (dash == NULL || (size_t)(dash - s) >= sizeof(head))
		return -1;
	memcpy(head, s, (size_t)(dash - s));
	head[dash - s] = '\0';
	if (parse_long(head, 1, 1L << 62, &j) != 0 ||
	    parse_long(dash + 1, 0, 1L << 30, idx) != 0)
		return -1;
	*job = (unsigned long long)j;
	return 0;
}

/* Checks the filters, each problem beside its field (as the API's list
 * does: a filter that is not applied must not look applied). Returns
 * the number of problems. */
static int
check_filters(struct kreq *req, unsigned long long *cj, long *ci)
{
	const char *q = req_query(req, "q"), *model = req_query(req, "model");
	const char *since = req_query(req, "since");
	const char *until = req_query(req, "until");
	const char *after = req_query(req, "after");
	int bad = 0;

	if (q != NULL && strlen(q) > 200)
		bad += !view_field_error(req, "q", "Prompt (q): must be at "
			"most 200 bytes.");
	if (model != NULL && !text_valid(model, 64))
		bad += !view_field_error(req, "model", "Model: must be a model "
			"name (at most 64 bytes, no control characters).");
	if (since != NULL && *since != '\0' && !date_valid(since, 0))
		bad += !view_field_error(req, "since", "From (since): must be "
			"a real date, YYYY-MM-DD.");
	if (until != NULL && *until != '\0' && !date_valid(until, 0))
		bad += !view_field_error(req, "until", "To (until): must be a "
			"real date, YYYY-MM-DD.");
	if (after != NULL && *after != '\0' && parse_after(after, cj, ci) != 0)
		bad += !view_field_error(req, "after", "Page (after): must be "
			"the link of an earlier page, JOB-INDEX.");
	return bad;
}

int
page_gallery(struct kreq *req)
{
	const char *q = req_query(req, "q"), *model = req_query(req, "model");
	const char *after = req_query(req, "after");
	const char *since = req_query(req, "since");
	const char *until = req_query(req, "until");
	unsigned long long cj = 0;
	long ci = -1, n;
	struct db_param p[12];
	char *like, next[48];
	int used = 0;

	/* An empty box is no filter; the form sends every box. */
	if (q == NULL)
		q = "";
	if (model == NULL)
		model = "";
	if (since == NULL)
		since = "";
	if (until == NULL)
		until = "";
	/* The cursor is the last image shown, "JOB-IDX": images made while
	 * someone pages do not shift the pages. */
	if (check_filters(req, &cj, &ci) > 0) {
		/* The form again, as typed, with the messages; no list. */
		view_set(req, "Filter.q", q);
		view_set(req, "Filter.model", model);
		view_set(req, "Filter.since", since);
		view_set(req, "Filter.until", until);
		view_set_int(req, "Gallery.Count", 0);
		return view_render(req, 400, "Gallery", "gallery.cs");
	}
	like = like_pattern(q);
	p[used++] = DB_INT(req->auth->user_id);
	p[used++] = DB_INT(cj);
	p[used++] = DB_INT(cj);
	p[used++] = DB_INT(cj);
	p[used++] = DB_INT(ci);
	p[used++] = DB_STR(like);
	p[used++] = DB_STR(model);
	p[used++] = DB_STR(model);
	p[used++] = DB_STR(since);
	p[used++] = DB_STR(since);
	p[used++] = DB_STR(until);
	p[used++] = DB_STR(until);
	n = view_rows(req, "Gallery.Images", "SELECT j.id AS Job,"
		" i.idx AS Idx, i.width AS Width, i.height AS Height,"
		" LEFT(j.prompt, 200) AS Prompt, j.model AS Model,"
		" DATE_FORMAT(j.created_at, '%Y-%m-%d %H:%i') AS Created"
		" FROM job_images i JOIN jobs j ON j.id = i.job_id"
		" WHERE j.user_id = ? AND j.deleted_at IS NULL"
		" AND (? = 0 OR j.id < ? OR (j.id = ? AND i.idx > ?))"
		" AND j.prompt LIKE ? AND (? = '' OR j.model = ?)"
		" AND (? = '' OR j.created_at >= ?)"
		" AND (? = '' OR j.created_at < ? + INTERVAL 1 DAY)"
		" ORDER BY j.id DESC, i.idx LIMIT " STR(GALLERY_PAGE),
		p, (size_t)used);
	free(like);
	if (n < 0)
		return view_db_fail(req, "gallery");
	if (n == GALLERY_PAGE) {
		char key[48];

		snprintf(key, sizeof(key), "Gallery.Images.%ld.Job", n - 1);
		snprintf(next, sizeof(next), "%s-", view_get(req, key));
		snprintf(key, sizeof(key), "Gallery.Images.%ld.Idx", n - 1);
		strncat(next, view_get(req, key), sizeof(next) - strlen(next) -
			1);
		view_set(req, "Gallery.Next", next);
	}
	p[0] = DB_INT(req->auth->user_id);
	if (view_rows(req, "Gallery.Models", "SELECT DISTINCT model AS Name"
	    " FROM jobs WHERE user_id = ? AND deleted_at IS NULL"
	    " ORDER BY model", p, 1) < 0)
		return view_db_fail(req, "gallery: models");
	view_set_int(req, "Gallery.Count", n);
	view_set(req, "Filter.q", q);
	view_set(req, "Filter.model", model);
	view_set(req, "Filter.since", since);
	view_set(req, "Filter.until", until);
	view_set(req, "Filter.after", cj ? after : "");
	return view_render(req, 200, "Gallery", "gallery.cs");
}

/* One day of usage: what the table shows and the chart draws. */
struct day {
	char date[11];
	long images, credits, jobs;
};

struct usage {
	struct day days[USAGE_DAYS];
	int n;
};

/* One row of the usage query, before it is kept as a day. */
struct usage_rec {
	const char *date;
	long jobs, images, credits;
};

static const struct db_field usage_fields[] = {
	DB_FIELD(struct usage_rec, date, DBF_STR, "date"),
	DB_FIELD(struct usage_rec, jobs, DBF_LONG, "jobs"),
	DB_FIELD(struct usage_rec, images, DBF_LONG, "images"),
	DB_FIELD(struct usage_rec, credits, DBF_LONG, "credits"),
};

static int
usage_row(void *rec, void *arg)
{
	const struct usage_rec *r = rec;
	struct usage *u = arg;
	struct day *d;

	if (u->n >= USAGE_DAYS)
		return 1;
	d = &u->days[u->n++];
	snprintf(d->date, sizeof(d->date), "%s", r->date);
	d->jobs = r->jobs;
	d->images = r->images;
	d->credits = r->credits;
	return 0;
}

/*
 * The last USAGE_DAYS days (today included, by the database's clock),
 * oldest first, days without jobs as zeros. A job counts on the day it was
 * submitted; its credits unless they were given back; its images once it
 * succeeded. Deleted jobs still count: the credits were spent.
 */
static int
usage_load(struct kreq *req, struct usage *u)
{
	struct db_param p[1] = { DB_INT(req->auth->user_id) };
	struct usage_rec r;

	memset(u, 0, sizeof(*u));
	return db_query_into(req->app->db, "WITH RECURSIVE d (day, k) AS ("
	    " SELECT CURDATE() - INTERVAL " STR(USAGE_DAYS) " - 1 DAY, 1"
	    " UNION ALL SELECT day + INTERVAL 1 DAY, k + 1 FROM d"
	    " WHERE k < " STR(USAGE_DAYS) ")"
	    " SELECT DATE_FORMAT(d.day, '%Y-%m-%d') AS date,"
	    " COUNT(j.id) AS jobs,"
	    " COALESCE(SUM(IF(j.status = 'succeeded', j.batch_count, 0)), 0)"
	    " AS images,"
	    " COALESCE(SUM(IF(j.refunded, 0, j.cost)), 0) AS credits"
	    " FROM d LEFT JOIN jobs j ON j.user_id = ?"
	    " AND j.created_at >= d.day"
	    " AND j.created_at < d.day + INTERVAL 1 DAY"
	    " GROUP BY d.day ORDER BY d.day", p, 1, usage_fields,
	    DB_NFIELDS(usage_fields), &r, usage_row, u) < 0 ? -1 : 0;
}

int
page_usage(struct kreq *req)
{
	struct usage u;
	long ti = 0, tc = 0, tj = 0;
	char key[64];
	int i, k;

	if (usage_load(req, &u) != 0)
		return view_db_fail(req, "usage");
	/* Newest first in the table; the chart reads left to right. */
	for (i = u.n - 1, k = 0; i >= 0; i--, k++) {
		const struct day *d = &u.days[i];

		snprintf(key, sizeof(key), "Usage.Days.%d.Date", k);
		view_set(req, key, d->date);
		snprintf(key, sizeof(key), "Usage.Days.%d.Jobs", k);
		view_set_int(req, key, d->jobs);
		snprintf(key, sizeof(key), "Usage.Days.%d.Images", k);
		view_set_int(req, key, d->images);
		snprintf(key, sizeof(key), "Usage.Days.%d.Credits", k);
		view_set_int(req, key, d->credits);
		ti += d->images;
		tc += d->credits;
		tj += d->jobs;
	}
	view_set_int(req, "Usage.Total.Images", ti);
	view_set_int(req, "Usage.Total.Credits", tc);
	view_set_int(req, "Usage.Total.Jobs", tj);
	view_set_int(req, "Usage.DaysN", USAGE_DAYS);
	{
		struct db_param p[1] = { DB_INT(req->auth->user_id) };

		if (view_rows(req, "Usage.Balance", "SELECT credits AS Credits"
		    " FROM users WHERE id = ?", p, 1) < 0)
			return view_db_fail(req, "usage: balance");
	}
	return view_render(req, 200, "Usage", "usage.cs");
}

/* A round axis maximum at or above v: 1, 2 or 5 times a power of ten. */
static long
nice_max(long v)
{
	long p = 1;

	if (v < 1)
		return 1;
	for (;;) {
		if (v <= p)
			return p;
		if (v <= 2 * p)
			return 2 * p;
		if (v <= 5 * p)
			return 5 * p;
		p *= 10;
	}
}

/* One panel of the chart: bars of vals (n days) in the box x0..x1,
 * y0..y1, titled, with its scale's top value. */
static void
draw_panel(gdImagePtr im, int x0, int y0, int x1, int y1,
	const long *vals, int n, const char *title, int bar, int ink, int grid)
{
	gdFontPtr f = gdFontGetSmall();
	long top = 0;
	char label[32];
	int i, w = (x1 - x0) / n;

	for (i = 0; i < n; i++)
		if (vals[i] > top)
			top = vals[i];
	top = nice_max(top);
	gdImageString(im, f, x0, y0 - f->h - 4, (unsigned char *)title, ink);
	for (i = 0; i <= 2; i++) {
		int y = y1 - (y1 - y0) * i / 2;

		gdImageLine(im, x0, y, x1, y, grid);
		snprintf(label, sizeof(label), "%g", (double)top * i / 2);
		gdImageString(im, f, x0 - f->w * (int)strlen(label) - 4,
			y - f->h / 2, (unsigned char *)label, ink);
	}
	for (i = 0; i < n; i++) {
		int h = (int)((double)(y1 - y0) * (double)vals[i] /
			(double)top + 0.5);

		if (h > 0)
			gdImageFilledRectangle(im, x0 + i * w + 1, y1 - h,
				x0 + (i + 1) * w - 2, y1, bar);
	}
}

int
page_usage_chart(struct kreq *req)
{
	enum { W = 720, H = 300, L = 56, R = 12 };
	gdFontPtr f = gdFontGetSmall();
	long images[USAGE_DAYS], credits[USAGE_DAYS];
	struct usage u;
	gdImagePtr im;
	void *png;
	int size = 0, i, white, ink, grid, bar1, bar2;

	if (usage_load(req, &u) != 0)
		return view_db_fail(req, "usage chart");
	if (u.n == 0) {
		/* Cannot happen (the query makes every day); be safe. */
		view_error(req, 500, "internal", "No usage to draw.");
		return -1;
	}
	for (i = 0; i < u.n; i++) {
		images[i] = u.days[i].images;
		credits[i] = u.days[i].credits;
	}
	im = gdImageCreate(W, H);
	if (im == NULL) {
		view_error(req, 500, "internal", "Out of memory.");
		return -1;
	}
	white = gdImageColorAllocate(im, 255, 255, 255);
	ink = gdImageColorAllocate(im, 29, 29, 31);
	grid = gdImageColorAllocate(im, 227, 224, 218);
	bar1 = gdImageColorAllocate(im, 180, 71, 31);
	bar2 = gdImageColorAllocate(im, 70, 110, 160);
	(void)white;	/* the first colour is the background */
	draw_panel(im, L, 24, W - R, 124, images, u.n, "Images per day",
		bar1, ink, grid);
	draw_panel(im, L, 160, W - R, 260, credits, u.n, "Credits per day",
		bar2, ink, grid);
	/* Dates under the bars: the first, every seventh, and the last
	 * when it has room. */
	for (i = 0; i < u.n; i++) {
		int x = L + i * ((W - R - L) / u.n);

		if ((i % 7 == 0 && u.n - 1 - i >= 4) || i == u.n - 1)
			gdImageString(im, f, x, 268,
				(unsigned char *)u.days[i].date + 5, ink);
	}
	png = gdImagePngPtr(im, &size);
	gdImageDestroy(im);
	if (png == NULL || size <= 0 ||
	    buf_append(&req->out, png, (size_t)size) != 0) {
		gdFree(png);
		view_error(req, 500, "internal", "The chart could not be "
			"drawn.");
		return -1;
	}
	gdFree(png);
	req->status = 200;
	req->ctype = "image/png";
	/* Today's bar grows with every job. */
	resp_header(req, "Cache-Control", "private, no-cache");
	return 0;
}
