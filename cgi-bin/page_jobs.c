/* page_jobs.c - /jobs: the user's job history; /jobs/{id}: one job with
 * its progress (a script polls the API; without scripts the page reloads
 * itself), its images as a grid with their actions, and parameters;
 * POST /jobs/{id}/cancel, /share, /unshare, /delete, /vary and
 * /images/{idx}/upscale; GET /jobs/{id}/images.zip; /s/{token}: a job
 * shared by link, for anyone. */
#include "app.h"
#include "auth.h"
#include "db.h"
#include "teams.h"
#include "i18n.h"
#include "handlers.h"
#include "jobagain.h"
#include "jobs.h"
#include "imgexport.h"
#include "jobzip.h"
#include "log.h"
#include "presets.h"
#include "ratelimit.h"
#include "submit.h"
#include "view.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 25

int
page_jobs(struct kreq *req)
{
	const char *before = req_query(req, "before");
	struct db_param p[4];
	long bid = 0, n;

	/* The page link's cursor; anything else is refused, not ignored
	 * (the list would look like the first page, unasked). */
	if (before != NULL && *before != '\0' &&
	    parse_long(before, 1, 1L << 62, &bid) != 0) {
		view_field_error(req, "before", "Page (before): must be the "
			"id of a job, as the \"Older jobs\" link gives it.");
		view_set_int(req, "Jobs.Count", 0);
		return view_render(req, 400, "Your jobs", "jobs.cs");
	}
	p[0] = DB_INT(req->auth->user_id);
	p[1] = DB_INT(bid);
	p[2] = DB_INT(bid);
	p[3] = DB_INT(PAGE);
	n = view_rows(req, "Jobs.List", "SELECT j.id AS Id,"
		" j.status AS Status, LEFT(j.prompt, 120) AS Prompt,"
		" j.model AS Model, j.width AS Width, j.height AS Height,"
		" j.steps AS Steps, j.batch_count AS Batch,"
		" DATE_FORMAT(j.created_at, '%Y-%m-%d %H:%i') AS Created,"
		" (SELECT MIN(i.idx) FROM job_images i WHERE i.job_id = j.id)"
		" AS Thumb"
		" FROM jobs j WHERE j.user_id = ? AND j.deleted_at IS NULL"
		" AND (? = 0 OR j.id < ?)"
		" ORDER BY j.id DESC LIMIT ?", p, 4);
	if (n < 0)
		return view_db_fail(req, "jobs: list");
	view_set_int(req, "Jobs.Count", n);
	if (bid != 0)
		view_set_int(req, "Jobs.Before", bid);
	return view_render(req, 200, "Your jobs", "jobs.cs");
}

/* The job node's stored LoRAs (its LorasJson) as node.Loras.N.Name,
 * .Weight and .UnetWeight, for params.cs. */
static void
view_loras(struct kreq *req, const char *node)
{
	struct job_lora l[JOB_LORAS_MAX];
	char key[96], w[40];
	const char *text;
	int n = 0, i;

	snprintf(key, sizeof(key), "%s.LorasJson", node);
	text = view_get(req, key);
	if (text == NULL || *text == '\0' ||
	    loras_from_text(text, l, JOB_LORAS_MAX, &n) != 0)
		return;
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%s.Loras.%d.Name", node, i);
		view_set(req, key, l[i].name);
		lora_weight_text(l[i].weight, w, sizeof(w));
		snprintf(key, sizeof(key), "%s.Loras.%d.Weight", node, i);
		view_set(req, key, w);
		lora_weight_text(l[i].unet_weight, w, sizeof(w));
		snprintf(key, sizeof(key), "%s.Loras.%d.UnetWeight", node, i);
		view_set(req, key, w);
	}
}

int
page_job(struct kreq *req)
{
	unsigned long long id = req_id(req, 0);
	struct db_param p[2];
	const char *st, *mine;
	char me[24];
	long n;
	int acc;

	p[0] = DB_INT(id);
	p[1] = DB_INT(req->auth->user_id);
	/* Position is a reserved word: quoted. */
	n = id ? view_rows(req, "Job", "SELECT j.id AS Id,"
		" j.status AS Status, j.prompt AS Prompt,"
		" j.negative_prompt AS Negative, j.model AS Model,"
		" j.width AS Width, j.height AS Height, j.steps AS Steps,"
		" j.cfg_scale AS Cfg, j.sampler AS Sampler, j.seed AS Seed,"
		" j.batch_count AS Batch, j.step AS Step,"
		" j.steps_total AS StepsTotal, ROUND(j.eta_s) AS Eta,"
		" j.error AS Error, ROUND(j.render_s, 2) AS RenderS,"
		" DATE_FORMAT(j.created_at, '%Y-%m-%d %H:%i:%s') AS Created,"
		" DATE_FORMAT(j.started_at, '%Y-%m-%d %H:%i:%s') AS Started,"
		" DATE_FORMAT(j.finished_at, '%Y-%m-%d %H:%i:%s') AS Finished,"
		" j.preview_path IS NOT NULL AS HasPreview, j.daemon AS Daemon,"
		" COALESCE(" JOB_AHEAD_SQL " + 1, '') AS `Position`,"
		" j.share_token AS Share, j.loras AS LorasJson,"
		" j.kind AS Kind, j.batch_id AS BatchId, j.batch_row AS BatchRow,"
		/* What kilnd keeps a float master for: renders that are
		 * not pasted into an 8-bit image (upscales, inpainting). */
		" (j.kind = 'generate' AND j.mask_blur IS NULL) AS HasMaster,"
		" COALESCE(j.team_id, '') AS TeamId, COALESCE((SELECT t.name"
		" FROM teams t WHERE t.id = j.team_id), '') AS TeamName,"
		" (SELECT u.username FROM users u WHERE u.id = j.user_id)"
		" AS Maker, j.user_id AS MakerId,"
		" COALESCE(j.manifest, '') AS Manifest"
		" FROM jobs j WHERE j.id = ? AND " TEAM_JOB_SEES("j.")
		" AND j.deleted_at IS NULL", p, 2) : 0;
	if (n < 0)
		return view_db_fail(req, "job");
	if (n == 0) {
		view_error(req, 404, "not_found", "No such job.");
		return -1;
	}
	view_loras(req, "Job.0");
	/* What this user may do with it (a team's job may be another's). */
	acc = job_access(req->app->db, id, req->auth->user_id);
	if (acc < 0)
		return view_db_fail(req, "job: access");
	mine = view_get(req, "Job.0.MakerId");
	snprintf(me, sizeof(me), "%llu", req->auth->user_id);
	view_set(req, "Job.0.Mine", mine != NULL && !strcmp(mine, me) ? "1" :
		"");
	view_set(req, "Job.0.Manage", acc == 2 ? "1" : "");
	/* PubId: the image's row on Explore (published now or not),
	 * for the publish block. */
	if (view_rows(req, "Images", "SELECT i.idx AS Idx, i.seed AS Seed,"
	    " i.width AS Width, i.height AS Height,"
	    " COALESCE(pi.id, '') AS PubId,"
	    " pi.published_at IS NOT NULL AS Published,"
	    " pi.hidden_at IS NOT NULL AS Hidden"
	    " FROM job_images i LEFT JOIN published_images pi"
	    " ON pi.job_id = i.job_id AND pi.idx = i.idx"
	    " WHERE i.job_id = ? ORDER BY i.idx", p, 1) < 0)
		return view_db_fail(req, "job: images");
	st = view_get(req, "Job.0.Status");
	/* The grid's lightbox, and the upscaler its Upscale buttons use. */
	if (view_get(req, "Images.0.Idx") != NULL) {
		char name[80];

		view_set(req, "Page.Scripts.1", "lightbox.js");
		view_set(req, "Upscaler", job_default_upscaler(
			req->app->cfg.upscalers_dir, name, sizeof(name)));
	}
	/* Until it ends, a browser without scripts reloads the page. */
	if (st != NULL && (!strcmp(st, "queued") || !strcmp(st, "running"))) {
		view_set(req, "Page.Refresh", "2");
		view_set(req, "Page.Scripts.0", "job.js");
	}
	/* The "Add to project" menu (page_projects.c). */
	if (page_job_projects(req) != 0)
		return view_db_fail(req, "job: projects");
	return view_render(req, 200, "Job", "job.cs");
}

int
page_job_cancel(struct kreq *req)
{
	unsigned long long id = req_id(req, 0);
	char url[64];
	int st;

	/* A team member who sees the job but did not make it (and is no
	 * owner of its team): told so, not shown a 404. */
	st = job_access(req->app->db, id, req->auth->user_id);
	if (st < 0)
		return view_db_fail(req, "job: cancel");
	if (st == 1) {
		view_error(req, 403, "forbidden", "Only the job's maker and "
			"its team's owners can cancel or delete it.");
		return -1;
	}
	st = id ? job_cancel(req->app->db, id, req->auth->user_id) : 0;
	if (st < 0)
		return view_db_fail(req, "job: cancel");
	/* Canceled (or, running, stopping) now, not ended before: the job
	 * page says so once. */
	if (st > 0 && view_flash(req, "canceled") != 0) {
		view_error(req, 500, "internal", "Out of memory.");
		return -1;
	}
	/* Not this user's job: 404. Already ended: back to it. */
	if (st == 0) {
		st = job_status_of(req->app->db, id, req->auth->user_id, NULL);
		if (st < 0)
			return view_db_fail(req, "job: cancel");
		if (st == 0) {
			view_error(req, 404, "not_found", "No such job.");
			return -1;
		}
	}
	snprintf(url, sizeof(url), "/jobs/%llu", id);
	return resp_redirect(req, url);
}

/* After a share/unshare/delete: back to the job (or the list), or the
 * refusal as a page. */
static int
after_change(struct kreq *req, enum job_change ch, const char *where,
	const char *conflict, const char *to)
{
	switch (ch) {
	case JOB_CHANGE_DONE:
		return resp_redirect(req, to);
	case JOB_CHANGE_NOT_FOUND:
		view_error(req, 404, "not_found", "No such job.");
		return -1;
	case JOB_CHANGE_CONFLICT:
		view_error(req, 409, "conflict", conflict);
		return -1;
	default:
		return view_db_fail(req, where);
	}
}

int
page_job_share(struct kreq *req)
{
	unsigned long long id = req_id(req, 0);
	char token[TOKEN_LEN + 1], url[64];

	snprintf(url, sizeof(url), "/jobs/%llu#share", id);
	return after_change(req, job_share(req->app->db, id,
		req->auth->user_id, token), "job: share", N_("Only a job that "
		"succeeded can be shared."), url);
}

int
page_job_unshare(struct kreq *req)
{
	unsigned long long id = req_id(req, 0);
	char url[64];

	snprintf(url, sizeof(url), "/jobs/%llu", id);
	return after_change(req, job_unshare(req->app->db, id,
		req->auth->user_id), "job: unshare", "", url);
}

int
page_job_delete(struct kreq *req)
{
	int acc = job_access(req->app->db, req_id(req, 0),
		req->auth->user_id);
	enum job_change ch;

	if (acc < 0)
		return view_db_fail(req, "job: delete");
	if (acc == 1) {
		view_error(req, 403, "forbidden", "Only the job's maker and "
			"its team's owners can cancel or delete it.");
		return -1;
	}
	ch = job_delete(req->app->db, &req->app->cfg,
		req_id(req, 0), req->auth->user_id);

	if (ch == JOB_CHANGE_DONE && view_flash(req, "deleted") != 0) {
		view_error(req, 500, "internal", "Out of memory.");
		return -1;
	}
	return after_change(req, ch, "job: delete", N_("This job has not "
		"ended; cancel it first."), "/gallery");
}

int
page_shared(struct kreq *req)
{
	const char *tok = req->captures[0];
	struct db_param p[1];
	long n;

	if (!share_token_valid(tok)) {
		view_error(req, 404, "not_found", "No such shared job.");
		return -1;
	}
	if (db_ensure(req->app->db) != 0)
		return view_db_fail(req, "shared");
	p[0] = DB_STR(tok);
	/* The recipe and the pictures; not who made them nor the job id. */
	n = view_rows(req, "Shared", "SELECT prompt AS Prompt,"
		" negative_prompt AS Negative, model AS Model,"
		" width AS Width, height AS Height, steps AS Steps,"
		" cfg_scale AS Cfg, sampler AS Sampler, seed AS Seed,"
		" DATE_FORMAT(finished_at, '%Y-%m-%d %H:%i') AS Finished,"
		" loras AS LorasJson,"
		/* As the job page's: what kilnd keeps a float master for. */
		" (kind = 'generate' AND mask_blur IS NULL) AS HasMaster"
		" FROM jobs WHERE share_token = ? AND deleted_at IS NULL"
		" AND status = 'succeeded'", p, 1);
	if (n < 0)
		return view_db_fail(req, "shared");
	if (n == 0) {
		view_error(req, 404, "not_found", "No such shared job; the "
			"link may have been withdrawn.");
		return -1;
	}
	if (view_rows(req, "Images", "SELECT i.idx AS Idx, i.seed AS Seed,"
	    " i.width AS Width, i.height AS Height"
	    " FROM job_images i JOIN jobs j ON j.id = i.job_id"
	    " WHERE j.share_token = ? ORDER BY i.idx", p, 1) < 0)
		return view_db_fail(req, "shared: images");
	view_loras(req, "Shared.0");
	view_set(req, "Shared.Token", tok);
	return view_render(req, 200, "Shared image", "shared.cs");
}

/* ------------------------------------------- vary, upscale, download */

/* The problems of a job made from a stored one, gathered for one page
 * in its language (submit.c's fixed messages here; its formatted ones
 * come translated, job_spec_lang). */
struct again {
	struct kreq *req;
	struct buf msg;
};

static void
again_error(void *arg, const char *field, const char *msg)
{
	struct again *a = arg;

	buf_printf(&a->msg, "%s%s %s", a->msg.len ? view_tr(a->req, "; ") :
		"", field, view_tr(a->req, msg));
}

/* Queues the job that body asks for, as POST /generate queues a form:
 * the same rate limit, checks, quotas and credits (job_enqueue), then
 * to the new job's page. Refusals are error pages saying why. */
static int
queue_again(struct kreq *req, json_object *body, const char *flash)
{
	struct tier_limits tier;
	struct enqueue_refusal why;
	struct job_spec s;
	struct again msg = { req, { 0 } };
	unsigned long long id = 0;
	char url[64], *manifest = NULL, *mpresets = NULL;
	int bad, st;

	tier_of(&req->app->cfg, req->auth->tier, &tier);
	bad = limit_submit(req);
	if (bad < 0)
		return view_db_fail(req, "jobs: rate limit");
	if (bad > 0) {
		view_error(req, 429, "rate_limited", "You have submitted many "
			"jobs in a short time. Wait a little and try again.");
		return -1;
	}
	/* A manifest job's manifest compiles again, with the preset rows
	 * it recorded, and the new job keeps both. */
	bad = manifest_apply(req->app->db, req->auth->user_id, body,
		&manifest, &mpresets, again_error, &msg);
	if (bad < 0)
		return view_db_fail(req, "jobs: manifest presets");
	if (bad == 0)
		bad = job_spec_from_json(body, &req->app->cfg, &s,
			again_error, &msg);
	else
		memset(&s, 0, sizeof(s));
	s.manifest = manifest;
	s.manifest_presets = mpresets;
	if (bad == 0)
		bad = job_spec_limits(&s, &tier, again_error, &msg);
	if (bad == 0)
		bad = job_spec_model_limits(&s, again_error, &msg);
	if (bad != 0) {
		job_spec_free(&s);
		if (bad < 0)
			view_error(req, 500, "internal", "The job could not be "
				"prepared; try again shortly.");
		else
			view_error(req, 422, "validation_failed", msg.msg.data ?
				msg.msg.data : N_("The job is not valid."));
		buf_free(&msg.msg);
		return -1;
	}
	buf_free(&msg.msg);
	st = job_enqueue(req->app->db, req->auth->user_id, &tier, &s, 1, &id,
		&why);
	job_spec_free(&s);
	if (st < 0)
		return view_db_fail(req, "jobs: enqueue");
	if (st > 0) {
		view_error(req, why.status, why.code, why.message);
		return -1;
	}
	if (view_flash(req, flash) != 0) {
		view_error(req, 500, "internal", "Out of memory.");
		return -1;
	}
	snprintf(url, sizeof(url), "/jobs/%llu", id);
	return resp_redirect(req, url);
}

static int
submit_again(struct kreq *req, json_object *body, const char *flash)
{
	int rc;

	/* submit.c's formatted messages in the page's language. */
	job_spec_lang(view_lang(req));
	rc = queue_again(req, body, flash);
	job_spec_lang(NULL);
	return rc;
}

int
page_job_vary(struct kreq *req)
{
	unsigned long long id = req_id(req, 0);
	json_object *body;
	int found = 0, rc;

	body = id ? job_again_body(req->app->db, &req->app->cfg,
		id, req->auth->user_id, &found) : NULL;
	if (found < 0)
		return view_db_fail(req, "jobs: vary");
	if (found == 0) {
		view_error(req, 404, "not_found", "No such job.");
		return -1;
	}
	if (found == 2) {
		view_error(req, 409, "conflict", "An upscale job has no seed "
			"to vary.");
		return -1;
	}
	rc = submit_again(req, body, "varied");
	json_object_put(body);
	return rc;
}

/* The upscale form's optional upscaler: a name of [paths] upscalers or
 * "lanczos" (job_spec_model_limits checks it is usable). */
const struct input upscale_inputs[] = {
	{ .name = "upscaler", .type = IN_STR, .flags = IN_TEXT | IN_BLANK,
	  .min = 1, .max = 64 },
	IN_END,
};

int
page_job_upscale(struct kreq *req)
{
	unsigned long long id = req_id(req, 0);
	const char *up = in_str(req, 0);
	json_object *body = NULL;
	long idx = -1;
	int found = 0, rc;

	if (in_bad(req, 0)) {
		view_input_error(req, 0);
		view_error(req, 400, "bad_request", "The upscaler is not a "
			"name.");
		return -1;
	}
	if (id != 0 && req->captures[1] != NULL &&
	    parse_long(req->captures[1], 0, 1000, &idx) == 0)
		body = job_upscale_body(req->app->db,
			&req->app->cfg,
			req->app->cfg.upscalers_dir, id, idx,
			req->auth->user_id, up != NULL && *up ? up : NULL,
			&found);
	if (found < 0)
		return view_db_fail(req, "jobs: upscale");
	if (found == 0) {
		view_error(req, 404, "not_found", "No such image.");
		return -1;
	}
	rc = submit_again(req, body, "upscaling");
	json_object_put(body);
	return rc;
}

/* Answers with a ZIP that jobs_zip made into b (taken), named name;
 * else with the refusal. */
int
page_zip_send(struct kreq *req, enum jobzip_status st, struct buf *b,
	const char *name)
{
	char cd[128];

	switch (st) {
	case JOBZIP_OK:
		break;
	case JOBZIP_NOT_FOUND:
		buf_free(b);
		view_error(req, 404, "not_found", "No such job.");
		return -1;
	case JOBZIP_TOO_LARGE:
		buf_free(b);
		view_error(req, 413, "too_large", "These images are too large "
			"to download as one ZIP; download them one by one.");
		return -1;
	case JOBZIP_UNREADABLE:
		buf_free(b);
		view_error(req, 500, "internal", "An image of this job could "
			"not be read.");
		return -1;
	default:
		buf_free(b);
		return view_db_fail(req, "jobs: zip");
	}
	buf_free(&req->out);
	req->out = *b;
	memset(b, 0, sizeof(*b));
	req->status = 200;
	req->ctype = "application/zip";
	snprintf(cd, sizeof(cd), "attachment; filename=\"%s\"", name);
	resp_header(req, "Content-Disposition", cd);
	resp_header(req, "Cache-Control", "private, no-store");
	return 0;
}

int
page_job_zip(struct kreq *req)
{
	unsigned long long id = req_id(req, 0);
	struct buf b = { 0 };
	char name[64];

	const char *fq = req_query(req, "format");
	int f = fq != NULL ? img_format_parse(fq) : -1;

	/* ?format= picks the ZIP's format over the job's own. */
	if (fq != NULL && f < 0) {
		view_error(req, 400, "validation_failed", "format: must be one "
			"of png, png16, tiff16, tiff32, exr, exr16.");
		return -1;
	}
	snprintf(name, sizeof(name), "kiln-job-%llu.zip", id);
	return page_zip_send(req, id ? jobs_zip_format(req->app->db,
		&req->app->cfg, req->app->cfg.base_url, id, 0,
		req->auth->user_id, f, JOBZIP_MAX_BYTES, &b) :
		JOBZIP_NOT_FOUND, &b, name);
}
