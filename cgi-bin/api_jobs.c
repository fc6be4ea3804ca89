/* api_jobs.c - jobs over the API: submit, list, read, cancel, delete;
 * the models and samplers a job may name. */
#include "accounts.h"
#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "jobs.h"
#include "log.h"
#include "models.h"
#include "submit.h"
#include "util.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
field_error(void *arg, const char *field, const char *msg)
{
	json_object_object_add(arg, field, json_object_new_string(msg));
}

int
api_jobs_create(struct kreq *req)
{
	json_object *body = NULL, *fields, *job;
	struct job_spec s;
	unsigned long long id = 0;
	int bad, found;

	if (req_json_body(req, &body) != 0)
		return -1;
	fields = json_object_new_object();
	if (fields == NULL) {
		json_object_put(body);
		return api_send(req, 500, NULL);
	}
	bad = job_spec_from_json(body, &req->app->cfg, &s, field_error,
		fields);
	json_object_put(body);
	if (bad != 0) {
		job_spec_free(&s);
		if (bad < 0) {
			json_object_put(fields);
			return api_send(req, 500, NULL);
		}
		return resp_error_json(req, 400, "validation_failed",
			"the job is not valid; see fields", fields);
	}
	json_object_put(fields);
	if (job_insert(req->app->db, req->auth->user_id, 0, &s, &id) != 0) {
		job_spec_free(&s);
		return api_db_fail(req, "api jobs: insert");
	}
	job_spec_free(&s);
	job = job_json(req->app->db, id, req->auth->user_id, &found);
	if (job == NULL)
		return api_db_fail(req, "api jobs: read back");
	{
		char loc[64];

		snprintf(loc, sizeof(loc), "/api/v1/jobs/%llu", id);
		resp_header(req, "Location", loc);
	}
	return api_send(req, 202, job);
}

int
api_job_get(struct kreq *req)
{
	unsigned long long id = req_id(req, 0);
	json_object *job;
	int found = 0;

	job = id ? job_json(req->app->db, id, req->auth->user_id, &found) :
		NULL;
	if (job == NULL && found < 0 && id)
		return api_db_fail(req, "api jobs: get");
	if (job == NULL)
		return resp_error_json(req, 404, "not_found", "no such job",
			NULL);
	return api_send(req, 200, job);
}

struct list_ctx {
	struct kreq *req;
	json_object *list;
	unsigned long long ids[101];
	int n;
};

static int
id_row(const struct db_row *r, void *arg)
{
	struct list_ctx *c = arg;

	c->ids[c->n++] = strtoull(r->cols[0], NULL, 10);
	return 0;
}

static const char *const statuses[] = { "queued", "running", "succeeded",
	"failed", "canceled" };

/* A date filter: "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ", a real one. */
static int
date_ok(const char *s)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
		30, 31 };
	int y, mo, d, h = 0, mi = 0, se = 0, n = -1, leap;

	if (strlen(s) == 10)
		sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n);
	else if (strlen(s) == 20)
		sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi,
			&se, &n);
	if (n != (int)strlen(s) || y < 1000 || mo < 1 || mo > 12 || d < 1 ||
	    h > 23 || mi > 59 || se > 59 || h < 0 || mi < 0 || se < 0)
		return 0;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return d <= mdays[mo - 1] && !(mo == 2 && d == 29 && !leap);
}

int
api_jobs_list(struct kreq *req)
{
	const char *status = req_query(req, "status");
	const char *q = req_query(req, "q"), *cur = req_query(req, "cursor");
	const char *lim = req_query(req, "limit");
	const char *since = req_query(req, "since");
	const char *until = req_query(req, "until");
	struct list_ctx c = { req, NULL, { 0 }, 0 };
	json_object *o, *fields = json_object_new_object();
	struct db_param p[11];
	long limit = 20, cursor = 0;
	char *like = NULL, ts1[24] = "", ts2[24] = "";
	size_t i;
	int k;

	if (fields == NULL)
		return api_send(req, 500, NULL);
	if (lim != NULL && parse_long(lim, 1, 100, &limit) != 0)
		field_error(fields, "limit", "must be a whole number from 1 "
			"to 100");
	if (cur != NULL && parse_long(cur, 1, 1L << 62, &cursor) != 0)
		field_error(fields, "cursor", "must be the next_cursor of an "
			"earlier page");
	if (status != NULL) {
		for (i = 0; i < ARRAY_LEN(statuses); i++)
			if (!strcmp(status, statuses[i]))
				break;
		if (i == ARRAY_LEN(statuses))
			field_error(fields, "status", "must be queued, running, "
				"succeeded, failed or canceled");
	}
	if (since != NULL && !date_ok(since))
		field_error(fields, "since", "must be YYYY-MM-DD or "
			"YYYY-MM-DDTHH:MM:SSZ (UTC)");
	if (until != NULL && !date_ok(until))
		field_error(fields, "until", "must be YYYY-MM-DD or "
			"YYYY-MM-DDTHH:MM:SSZ (UTC)");
	if (q != NULL && strlen(q) > 200)
		field_error(fields, "q", "must be at most 200 bytes");
	if (json_object_object_length(fields) > 0)
		return resp_error_json(req, 400, "validation_failed",
			"bad query parameters; see fields", fields);
	json_object_put(fields);
	/* MariaDB reads "YYYY-MM-DD HH:MM:SS"; the T and Z go. */
	if (since != NULL)
		snprintf(ts1, sizeof(ts1), "%.10s %.8s", since,
			strlen(since) > 10 ? since + 11 : "00:00:00");
	if (until != NULL)
		snprintf(ts2, sizeof(ts2), "%.10s %.8s", until,
			strlen(until) > 10 ? until + 11 : "00:00:00");
	like = like_pattern(q ? q : "");
	if (like == NULL)
		return api_send(req, 500, NULL);
	p[0] = DB_INT(req->auth->user_id);
	p[1] = DB_INT(cursor);
	p[2] = DB_INT(cursor);
	p[3] = DB_STR(status ? status : "");
	p[4] = DB_STR(status ? status : "");
	p[5] = DB_STR(like);
	p[6] = DB_STR(ts1);
	p[7] = DB_STR(ts1);
	p[8] = DB_STR(ts2);
	p[9] = DB_STR(ts2);
	p[10] = DB_INT(limit + 1);
	/* Newest first; the cursor is the last id of the page before, so
	 * jobs made meanwhile do not shift the pages. */
	k = (int)db_query(req->app->db, "SELECT id FROM jobs"
		" WHERE user_id = ? AND (? = 0 OR id < ?)"
		" AND (? = '' OR status = ?) AND prompt LIKE ?"
		" AND (? = '' OR created_at >= ?)"
		" AND (? = '' OR created_at < ?)"
		" ORDER BY id DESC LIMIT ?", p, 11, id_row, &c);
	free(like);
	if (k < 0)
		return api_db_fail(req, "api jobs: list");
	o = json_object_new_object();
	c.list = json_object_new_array();
	if (o == NULL || c.list == NULL) {
		json_object_put(o);
		json_object_put(c.list);
		return api_send(req, 500, NULL);
	}
	json_object_object_add(o, "jobs", c.list);
	for (k = 0; k < c.n && k < limit; k++) {
		int found;
		json_object *job = job_json(req->app->db, c.ids[k],
			req->auth->user_id, &found);

		if (job == NULL && found < 0) {
			json_object_put(o);
			return api_db_fail(req, "api jobs: list item");
		}
		if (job != NULL)
			json_object_array_add(c.list, job);
	}
	json_object_object_add(o, "next_cursor", c.n > limit ?
		json_object_new_int64((int64_t)c.ids[limit - 1]) : NULL);
	return api_send(req, 200, o);
}

int
api_job_cancel(struct kreq *req)
{
	unsigned long long id = req_id(req, 0);
	json_object *job;
	int st, found = 0;

	job = id ? job_json(req->app->db, id, req->auth->user_id, &found) :
		NULL;
	if (job == NULL)
		return found < 0 && id ? api_db_fail(req, "api jobs: cancel") :
			resp_error_json(req, 404, "not_found", "no such job",
			NULL);
	json_object_put(job);
	st = job_cancel(req->app->db, id, req->auth->user_id);
	if (st < 0)
		return api_db_fail(req, "api jobs: cancel");
	if (st == 0)
		return resp_error_json(req, 409, "conflict", "the job has "
			"already ended", NULL);
	job = job_json(req->app->db, id, req->auth->user_id, &found);
	if (job == NULL)
		return api_db_fail(req, "api jobs: cancel read back");
	return api_send(req, 202, job);
}

/* Removes artifacts/jobs/ID and what is in it (results and preview). */
static void
remove_files(const char *artifacts, unsigned long long id)
{
	char dir[4096];

	if (snprintf_checked(dir, sizeof(dir), "%s/jobs/%llu", artifacts, id)
	    != 0 || remove_dir(dir) != 0)
		log_warn("delete job %llu: could not remove all of %s", id,
			dir);
}

int
api_job_delete(struct kreq *req)
{
	unsigned long long id = req_id(req, 0);
	struct db_param p[2];
	char *status = NULL;
	unsigned long long n = 0;

	p[0] = DB_INT(id);
	p[1] = DB_INT(req->auth->user_id);
	if (id == 0 || db_query_string(req->app->db, "SELECT status FROM jobs"
	    " WHERE id = ? AND user_id = ?", p, 2, &status) != 0 ||
	    status == NULL) {
		if (id != 0 && status == NULL && *db_error(req->app->db))
			return api_db_fail(req, "api jobs: delete");
		return resp_error_json(req, 404, "not_found", "no such job",
			NULL);
	}
	if (!strcmp(status, "queued") || !strcmp(status, "running")) {
		free(status);
		return resp_error_json(req, 409, "conflict", "the job has not "
			"ended; cancel it first", NULL);
	}
	free(status);
	if (db_exec(req->app->db, "DELETE FROM jobs WHERE id = ? AND"
	    " user_id = ? AND status NOT IN ('queued', 'running')", p, 2, &n,
	    NULL) != 0)
		return api_db_fail(req, "api jobs: delete");
	if (n == 0)
		return resp_error_json(req, 409, "conflict", "the job changed; "
			"try again", NULL);
	remove_files(req->app->cfg.artifacts_dir, id);
	req->status = 204;
	req->ctype = "application/json";
	return 0;
}

int
api_models(struct kreq *req)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();
	char **names = NULL, err[256];
	int n, i;

	if (o == NULL || a == NULL) {
		json_object_put(o);
		json_object_put(a);
		return api_send(req, 500, NULL);
	}
	json_object_object_add(o, "models", a);
	n = models_list(req->app->cfg.models_dir, &names);
	for (i = 0; i < n; i++) {
		struct model_card *c = NULL;
		json_object *m = json_object_new_object();

		json_object_object_add(m, "name",
			json_object_new_string(names[i]));
		if (model_card_load(req->app->cfg.models_dir, names[i], &c, err,
		    sizeof(err)) == 0) {
			json_object_object_add(m, "description",
				json_object_new_string(c->description));
			json_object_object_add(m, "default", json_object_new_boolean(
				!strcmp(names[i], req->app->cfg.default_model)));
			if (c->width > 0) {
				json_object_object_add(m, "width",
					json_object_new_int(c->width));
				json_object_object_add(m, "height",
					json_object_new_int(c->height));
			}
			model_card_free(c);
		}
		json_object_array_add(a, m);
	}
	models_list_free(names, n);
	return api_send(req, 200, o);
}

int
api_samplers(struct kreq *req)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();
	size_t i;

	if (o == NULL || a == NULL) {
		json_object_put(o);
		json_object_put(a);
		return api_send(req, 500, NULL);
	}
	for (i = 0; i < job_nsamplers; i++)
		json_object_array_add(a, json_object_new_string(
			job_samplers[i]));
	json_object_object_add(o, "samplers", a);
	return api_send(req, 200, o);
}
