/* page_jobs.c - /jobs: the user's job history; /jobs/{id}: one job with
 * its progress (a script polls the API; without scripts the page reloads
 * itself), its images and parameters; POST /jobs/{id}/cancel. */
#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "jobs.h"
#include "log.h"
#include "submit.h"
#include "view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 25

int
page_jobs(struct kreq *req)
{
	static const char *const cols[] = { "Id", "Status", "Prompt", "Model",
		"Width", "Height", "Steps", "Batch", "Created", "Thumb" };
	const char *before = req_query(req, "before");
	struct db_param p[4];
	long bid = 0, n;

	if (before != NULL && parse_long(before, 1, 1L << 62, &bid) != 0)
		bid = 0;
	p[0] = DB_INT(req->auth->user_id);
	p[1] = DB_INT(bid);
	p[2] = DB_INT(bid);
	p[3] = DB_INT(PAGE);
	n = view_rows(req, "Jobs.List", "SELECT j.id, j.status,"
		" LEFT(j.prompt, 120), j.model, j.width, j.height, j.steps,"
		" j.batch_count, DATE_FORMAT(j.created_at, '%Y-%m-%d %H:%i'),"
		" (SELECT MIN(i.idx) FROM job_images i WHERE i.job_id = j.id)"
		" FROM jobs j WHERE j.user_id = ? AND (? = 0 OR j.id < ?)"
		" ORDER BY j.id DESC LIMIT ?", p, 4, cols, 10);
	if (n < 0)
		return view_db_fail(req, "jobs: list");
	view_set_int(req, "Jobs.Count", n);
	return view_render(req, 200, "Your jobs", "jobs.cs");
}

int
page_job(struct kreq *req)
{
	static const char *const cols[] = { "Id", "Status", "Prompt",
		"Negative", "Model", "Width", "Height", "Steps", "Cfg",
		"Sampler", "Seed", "Batch", "Step", "StepsTotal", "Eta",
		"Error", "RenderS", "Created", "Started", "Finished",
		"HasPreview", "Daemon", "Position" };
	static const char *const icols[] = { "Idx", "Seed", "Width",
		"Height" };
	unsigned long long id = req_id(req, 0);
	struct db_param p[2];
	const char *st;
	long n;

	p[0] = DB_INT(id);
	p[1] = DB_INT(req->auth->user_id);
	n = id ? view_rows(req, "Job", "SELECT j.id, j.status, j.prompt,"
		" j.negative_prompt, j.model, j.width, j.height, j.steps,"
		" j.cfg_scale, j.sampler, j.seed, j.batch_count, j.step,"
		" j.steps_total, ROUND(j.eta_s), j.error, ROUND(j.render_s, 2),"
		" DATE_FORMAT(j.created_at, '%Y-%m-%d %H:%i:%s'),"
		" DATE_FORMAT(j.started_at, '%Y-%m-%d %H:%i:%s'),"
		" DATE_FORMAT(j.finished_at, '%Y-%m-%d %H:%i:%s'),"
		" j.preview_path IS NOT NULL, j.daemon,"
		" COALESCE(" JOB_AHEAD_SQL " + 1, '')"
		" FROM jobs j WHERE j.id = ? AND j.user_id = ?", p, 2, cols,
		23) : 0;
	if (n < 0)
		return view_db_fail(req, "job");
	if (n == 0) {
		view_error(req, 404, "not_found", "No such job.");
		return -1;
	}
	if (view_rows(req, "Images", "SELECT idx, seed, width, height"
	    " FROM job_images WHERE job_id = ? ORDER BY idx", p, 1, icols, 4)
	    < 0)
		return view_db_fail(req, "job: images");
	st = view_get(req, "Job.0.Status");
	/* Until it ends, a browser without scripts reloads the page. */
	if (st != NULL && (!strcmp(st, "queued") || !strcmp(st, "running"))) {
		view_set(req, "Page.Refresh", "2");
		view_set(req, "Page.Scripts.0", "job.js");
	}
	return view_render(req, 200, "Job", "job.cs");
}

int
page_job_cancel(struct kreq *req)
{
	unsigned long long id = req_id(req, 0);
	char url[64];
	int st;

	st = id ? job_cancel(req->app->db, id, req->auth->user_id) : 0;
	if (st < 0)
		return view_db_fail(req, "job: cancel");
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
