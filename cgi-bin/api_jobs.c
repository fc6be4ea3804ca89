/* api_jobs.c - jobs over the API: submit, list, read, cancel, delete;
 * the models and samplers a job may name. */
#include "accounts.h"
#include "app.h"
#include "auth.h"
#include "db.h"
#include "extras.h"
#include "filehash.h"
#include "handlers.h"
#include "jobs.h"
#include "log.h"
#include "models.h"
#include "presets.h"
#include "ratelimit.h"
#include "submit.h"
#include "teams.h"
#include "util.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
field_error(void *arg, const char *field, const char *msg)
{
	json_object_object_add(arg, field, json_object_new_string(msg));
}

/* Idempotency-Key: 1-128 printable ASCII characters. */
static int
idem_key_ok(const char *k)
{
	size_t n = strlen(k), i;

	if (n < 1 || n > 128)
		return 0;
	for (i = 0; i < n; i++)
		if (k[i] < 0x21 || k[i] > 0x7e)
			return 0;
	return 1;
}

struct idem_row {
	const char *hash_col;		/* valid in idem_row() only */
	char hash[DIGEST_HEX + 1];
	unsigned long long job_id;	/* 0 while the first is running */
	int found;
};

static const struct db_field idem_fields[] = {
	DB_FIELD(struct idem_row, hash_col, DBF_STR, "body_hash"),
	DB_FIELD_NULL(struct idem_row, job_id, DBF_ULLONG, "job_id"),
};

/* Keeps the row's hash past the fetch. */
static int
idem_row(void *rec, void *arg)
{
	struct idem_row *ir = rec;

	(void)arg;
	snprintf(ir->hash, sizeof(ir->hash), "%s", ir->hash_col);
	ir->found = 1;
	return 1;
}

/*
 * Claims the request's Idempotency-Key for this body. Returns 1 when the
 * request should go on and make its job (then idem_done records it), or
 * 0 after answering: the job made earlier with the same key and body
 * (200), 409 for another body or a first request still running, 400 for
 * a malformed key, 5xx on a db error.
 */
static int
idem_claim(struct kreq *req, const char *hash)
{
	struct db *db = req->app->db;
	struct idem_row ir = { NULL, "", 0, 0 };
	struct db_param p[3];
	unsigned long long n = 0;
	json_object *job;
	int found;

	if (!idem_key_ok(req->idempotency_key)) {
		resp_error_json(req, 400, "bad_request", "Idempotency-Key must "
			"be 1-128 printable ASCII characters", NULL);
		return 0;
	}
	p[0] = DB_INT(req->auth->user_id);
	p[1] = DB_STR(req->idempotency_key);
	/* A key is remembered for 24 hours; an older one starts afresh. */
	if (db_exec(db, "DELETE FROM idempotency_keys WHERE user_id = ? AND"
	    " idem_key = ? AND created_at < NOW(3) - INTERVAL 1 DAY", p, 2,
	    NULL, NULL) != 0)
		goto dbfail;
	p[2] = DB_STR(hash);
	if (db_exec(db, "INSERT IGNORE INTO idempotency_keys (user_id,"
	    " idem_key, body_hash) VALUES (?, ?, ?)", p, 3, &n, NULL) != 0)
		goto dbfail;
	if (n == 1)
		return 1;
	if (db_query_into(db, "SELECT body_hash, job_id FROM idempotency_keys"
	    " WHERE user_id = ? AND idem_key = ?", p, 2, idem_fields,
	    DB_NFIELDS(idem_fields), &ir, idem_row, NULL) < 0)
		goto dbfail;
	if (!ir.found || strcmp(ir.hash, hash) != 0) {
		resp_error_json(req, 409, "conflict", "this Idempotency-Key was "
			"used with another request body", NULL);
		return 0;
	}
	if (ir.job_id == 0) {
		resp_error_json(req, 409, "conflict", "a request with this "
			"Idempotency-Key is still being processed", NULL);
		return 0;
	}
	job = job_json(db, req->app->cfg.base_url, ir.job_id,
		req->auth->user_id, &found);
	if (job == NULL && found < 0)
		goto dbfail;
	if (job == NULL) {
		resp_error_json(req, 409, "conflict", "the job made with this "
			"Idempotency-Key has been deleted", NULL);
		return 0;
	}
	api_send(req, 200, job);
	return 0;
dbfail:
	api_db_fail(req, "api jobs: idempotency");
	return 0;
}

/* Records the job made under the key, or frees the key when none was. */
static void
idem_done(struct kreq *req, unsigned long long job_id)
{
	struct db_param p[3];

	p[0] = DB_INT(job_id);
	p[1] = DB_INT(req->auth->user_id);
	p[2] = DB_STR(req->idempotency_key);
	if ((job_id ? db_exec(req->app->db, "UPDATE idempotency_keys SET"
	    " job_id = ? WHERE user_id = ? AND idem_key = ?", p, 3, NULL,
	    NULL) : db_exec(req->app->db, "DELETE FROM idempotency_keys"
	    " WHERE user_id = ? AND idem_key = ?", p + 1, 2, NULL, NULL)) != 0)
		log_error("idempotency key: %s", db_error(req->app->db));
}

#define TEAM_FIELD_MSG "must be the id of a team you are an owner or " \
	"member of"

/* Takes the optional "team_id" (a positive integer) out of body into
 * *team_id. Returns 0, or 1 after noting a bad value in fields (when
 * not NULL). */
static int
team_field(json_object *body, unsigned long long *team_id,
	json_object *fields)
{
	json_object *v;
	int64_t n;

	*team_id = 0;
	if (!json_object_object_get_ex(body, "team_id", &v))
		return 0;
	n = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) :
		0;
	json_object_get(v);
	json_object_object_del(body, "team_id");
	json_object_put(v);
	if (n <= 0) {
		if (fields != NULL)
			json_object_object_add(fields, "team_id",
				json_object_new_string(TEAM_FIELD_MSG));
		return 1;
	}
	*team_id = (unsigned long long)n;
	return 0;
}

/* Passes on only the "unknown field" problems: a body whose manifest
 * did not compile has no prompt, and its own problems say enough. */
struct only_unknown {
	void *fields;
	int n;
};

static void
only_unknown(void *arg, const char *field, const char *msg)
{
	struct only_unknown *o = arg;

	if (strcmp(msg, "unknown field") != 0)
		return;
	field_error(o->fields, field, msg);
	o->n++;
}

int
api_jobs_create(struct kreq *req)
{
	json_object *body = NULL, *fields, *job;
	char hash[DIGEST_HEX + 1], loc[64];
	int bad, model_bad = 0, st, found, team_bad,
	    idem = *req->idempotency_key != '\0';
	struct tier_limits tl, *tier = &tl;
	struct enqueue_refusal why;
	unsigned long long id = 0, team_id = 0;
	struct job_spec s;
	char *manifest = NULL, *mpresets = NULL;
	int mbad;

	tier_of(&req->app->cfg, req->auth->tier, &tl);
	if (!api_submit_allowed(req))
		return -1;
	if (req_json_body(req, &body) != 0)
		return -1;
	digest_hex(req->body, hash);
	if (idem && !idem_claim(req, hash)) {
		json_object_put(body);
		return 0;
	}
	fields = json_object_new_object();
	if (fields == NULL) {
		json_object_put(body);
		if (idem)
			idem_done(req, 0);
		return api_send(req, 500, NULL);
	}
	/* "team_id": not a field of the recipe (job_spec_from_json), but
	 * whose pool pays; job_enqueue checks the caller may spend it. */
	team_bad = team_field(body, &team_id, fields);
	/* A scene manifest compiles into the body's job fields first, so
	 * it goes the same way as any job: limits, credits, checks. */
	mbad = manifest_apply(req->app->db, req->auth->user_id, body,
		&manifest, &mpresets, field_error, fields);
	if (mbad < 0) {
		json_object_put(body);
		json_object_put(fields);
		if (idem)
			idem_done(req, 0);
		return api_db_fail(req, "api jobs: manifest presets");
	}
	if (mbad > 0) {
		struct only_unknown ou = { fields, 0 };

		job_spec_from_json(body, &req->app->cfg, &s, only_unknown,
			&ou);
		bad = ou.n + team_bad + mbad;
	} else {
		bad = job_spec_from_json(body, &req->app->cfg, &s,
			field_error, fields) + team_bad;
	}
	s.team_id = team_id;
	s.manifest = manifest;
	s.manifest_presets = mpresets;
	json_object_put(body);
	/* Well formed and within the tier: then what the model can
	 * render, whose refusals answer 422. */
	if (bad == 0)
		bad = job_spec_limits(&s, tier, field_error, fields);
	if (bad == 0)
		bad = model_bad = job_spec_model_limits(&s, field_error,
			fields);
	if (bad == 0) {
		st = job_enqueue(req->app->db, req->auth->user_id, tier, &s, 1,
			&id, &why);
		bad = st < 0 ? -2 : st > 0 ? -3 : 0;
	}
	job_spec_free(&s);
	if (idem)
		idem_done(req, bad == 0 ? id : 0);
	if (bad != 0) {
		if (bad > 0)
			return resp_error_json(req, bad == model_bad ? 422 :
				400, "validation_failed", bad == model_bad ?
				"the model cannot render this job; see fields" :
				"the job is not valid; see fields", fields);
		json_object_put(fields);
		if (bad == -3)
			return api_refuse_quota(req, &why);
		return bad == -1 ? api_send(req, 500, NULL) :
			api_db_fail(req, "api jobs: insert");
	}
	json_object_put(fields);
	job = job_json(req->app->db, req->app->cfg.base_url, id,
		req->auth->user_id, &found);
	if (job == NULL)
		return api_db_fail(req, "api jobs: read back");
	snprintf(loc, sizeof(loc), "/api/v1/jobs/%llu", id);
	resp_header(req, "Location", loc);
	return api_send(req, 202, job);
}

/* The prefix of a batch item's field errors: "jobs[3].width". */
struct batch_err {
	json_object *fields;
	int index;
};

static void
batch_field_error(void *arg, const char *field, const char *msg)
{
	struct batch_err *be = arg;
	char key[160];

	snprintf(key, sizeof(key), "jobs[%d]%s%s", be->index, *field ? "." :
		"", field);
	json_object_object_add(be->fields, key, json_object_new_string(msg));
}

#define BATCH_JOBS_MAX 50

int
api_jobs_batch(struct kreq *req)
{
	json_object *body = NULL, *list, *out = NULL, *arr;
	struct batch_err be = { NULL, 0 };
	struct job_spec specs[BATCH_JOBS_MAX];
	unsigned long long ids[BATCH_JOBS_MAX];
	struct tier_limits tl, *tier = &tl;
	struct enqueue_refusal why;
	unsigned long long team = 0, first_team = 0;
	int n = 0, i, bad = 0, model_bad = 0, m, rc = -1, st, tb;

	memset(specs, 0, sizeof(specs));
	tier_of(&req->app->cfg, req->auth->tier, &tl);
	if (!api_submit_allowed(req) || req_json_body(req, &body) != 0)
		return -1;
	be.fields = json_object_new_object();
	if (be.fields == NULL)
		goto oom;
	if (!json_object_object_get_ex(body, "jobs", &list) ||
	    !json_object_is_type(list, json_type_array) ||
	    json_object_array_length(list) < 1 ||
	    json_object_array_length(list) > BATCH_JOBS_MAX ||
	    json_object_object_length(body) != 1) {
		json_object_object_add(be.fields, "jobs", json_object_new_string(
			"must be the only field: an array of 1 to 50 job "
			"objects"));
		rc = resp_error_json(req, 400, "validation_failed", "the batch "
			"is not valid; see fields", be.fields);
		be.fields = NULL;
		goto out;
	}
	n = (int)json_object_array_length(list);
	for (i = 0; i < n; i++) {
		json_object *item = json_object_array_get_idx(list, (size_t)i);
		char *mtext = NULL, *mpre = NULL;
		int b, mb;

		be.index = i;
		if (!json_object_is_type(item, json_type_object)) {
			batch_field_error(&be, "", "must be a job object");
			bad++;
			continue;
		}
		/* A batch is charged in one transaction to one pool:
		 * every job names the same team, or none does. */
		tb = team_field(item, &team, NULL);
		if (tb == 0 && i > 0 && team != first_team) {
			batch_field_error(&be, "team_id", "every job of a batch "
				"must be for the same team (or none)");
			tb = 1;
		} else if (tb != 0) {
			batch_field_error(&be, "team_id", TEAM_FIELD_MSG);
		}
		if (i == 0)
			first_team = team;
		mb = manifest_apply(req->app->db, req->auth->user_id, item,
			&mtext, &mpre, batch_field_error, &be);
		if (mb < 0)
			goto dbfail;
		b = mb > 0 ? 0 : job_spec_from_json(item, &req->app->cfg,
			&specs[i], batch_field_error, &be);
		specs[i].manifest = mtext;
		specs[i].manifest_presets = mpre;
		if (b < 0)
			goto oom;
		b += mb;
		specs[i].team_id = team;
		b += tb;
		if (b == 0)
			b = job_spec_limits(&specs[i], tier, batch_field_error,
				&be);
		if (b == 0) {
			m = job_spec_model_limits(&specs[i],
				batch_field_error, &be);
			b = m;
			model_bad += m;
		}
		bad += b;
	}
	if (bad > 0) {
		rc = resp_error_json(req, bad == model_bad ? 422 : 400,
			"validation_failed", "no job was made: the batch is "
			"all or nothing; see fields", be.fields);
		be.fields = NULL;
		goto out;
	}
	/* All or nothing: quotas, credits and rows in one transaction. */
	st = job_enqueue(req->app->db, req->auth->user_id, tier, specs, n, ids,
		&why);
	if (st < 0)
		goto dbfail;
	if (st > 0) {
		rc = api_refuse_quota(req, &why);
		goto out;
	}
	out = json_object_new_object();
	arr = json_object_new_array();
	if (out == NULL || arr == NULL) {
		json_object_put(arr);
		goto oom;
	}
	json_object_object_add(out, "jobs", arr);
	if (jobs_json(req->app->db, req->app->cfg.base_url, ids, (size_t)n,
	    req->auth->user_id, arr) != 0)
		goto dbfail;
	rc = api_send(req, 202, out);
	out = NULL;
	goto out;
oom:
	rc = api_send(req, 500, NULL);
	goto out;
dbfail:
	rc = api_db_fail(req, "api jobs: batch");
out:
	for (i = 0; i < BATCH_JOBS_MAX; i++)
		job_spec_free(&specs[i]);
	json_object_put(out);
	json_object_put(be.fields);
	json_object_put(body);
	return rc;
}

int
api_job_get(struct kreq *req)
{
	unsigned long long id = req_id(req, 0);
	json_object *job;
	int found = 0;

	job = id ? job_json(req->app->db, req->app->cfg.base_url, id,
		req->auth->user_id, &found) : NULL;
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

struct id_rec {
	unsigned long long id;
};

static const struct db_field id_fields[] = {
	DB_FIELD(struct id_rec, id, DBF_ULLONG, "id"),
};

static int
id_row(void *rec, void *arg)
{
	const struct id_rec *r = rec;
	struct list_ctx *c = arg;

	c->ids[c->n++] = r->id;
	return 0;
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
	struct id_rec r;
	json_object *o, *fields = json_object_new_object();
	struct db_param p[11];
	long limit = 20, cursor = 0;
	char *like = NULL, ts1[24] = "", ts2[24] = "";
	int k;

	if (fields == NULL)
		return api_send(req, 500, NULL);
	if (lim != NULL && parse_long(lim, 1, 100, &limit) != 0)
		field_error(fields, "limit", "must be a whole number from 1 "
			"to 100");
	if (cur != NULL && parse_long(cur, 1, 1L << 62, &cursor) != 0)
		field_error(fields, "cursor", "must be the next_cursor of an "
			"earlier page");
	if (status != NULL && !job_status_valid(status))
		field_error(fields, "status", "must be queued, running, "
			"succeeded, failed or canceled");
	if (since != NULL && !date_valid(since, 1))
		field_error(fields, "since", "must be YYYY-MM-DD or "
			"YYYY-MM-DDTHH:MM:SSZ (UTC)");
	if (until != NULL && !date_valid(until, 1))
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
	k = (int)db_query_into(req->app->db, "SELECT id FROM jobs"
		" WHERE user_id = ? AND deleted_at IS NULL"
		" AND (? = 0 OR id < ?)"
		" AND (? = '' OR status = ?) AND prompt LIKE ?"
		" AND (? = '' OR created_at >= ?)"
		" AND (? = '' OR created_at < ?)"
		" ORDER BY id DESC LIMIT ?", p, 11, id_fields,
		DB_NFIELDS(id_fields), &r, id_row, &c);
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
	/* A job deleted between the two queries is left out. */
	if (jobs_json(req->app->db, req->app->cfg.base_url, c.ids,
	    (size_t)(c.n < limit ? c.n : limit), req->auth->user_id,
	    c.list) != 0) {
		json_object_put(o);
		return api_db_fail(req, "api jobs: list items");
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
	int st, found;

	st = job_access(req->app->db, id, req->auth->user_id);
	if (st < 0)
		return api_db_fail(req, "api jobs: cancel");
	if (st == 0)
		return resp_error_json(req, 404, "not_found", "no such job",
			NULL);
	if (st == 1)
		return resp_error_json(req, 403, "forbidden", "only the job's "
			"maker and its team's owners may cancel it", NULL);
	st = job_cancel(req->app->db, id, req->auth->user_id);
	if (st < 0)
		return api_db_fail(req, "api jobs: cancel");
	if (st == 0)
		return resp_error_json(req, 409, "conflict", "the job has "
			"already ended", NULL);
	job = job_json(req->app->db, req->app->cfg.base_url, id,
		req->auth->user_id, &found);
	if (job == NULL)
		return api_db_fail(req, "api jobs: cancel read back");
	return api_send(req, 202, job);
}

/* A job_change from job_share/job_unshare/job_delete as JSON; conflict
 * says why a conflict is one. Returns -1 unless it was done. */
static int
change_refused(struct kreq *req, enum job_change ch, const char *where,
	const char *conflict)
{
	switch (ch) {
	case JOB_CHANGE_DONE:
		return 0;
	case JOB_CHANGE_NOT_FOUND:
		return resp_error_json(req, 404, "not_found", "no such job",
			NULL);
	case JOB_CHANGE_CONFLICT:
		return resp_error_json(req, 409, "conflict", conflict, NULL);
	default:
		return api_db_fail(req, where);
	}
}

int
api_job_delete(struct kreq *req)
{
	int acc = job_access(req->app->db, req_id(req, 0),
		req->auth->user_id);
	enum job_change ch;

	if (acc < 0)
		return api_db_fail(req, "api jobs: delete");
	if (acc == 1)
		return resp_error_json(req, 403, "forbidden", "only the job's "
			"maker and its team's owners may delete it", NULL);
	ch = job_delete(req->app->db, &req->app->cfg,
		req_id(req, 0), req->auth->user_id);

	if (change_refused(req, ch, "api jobs: delete", "the job has not "
	    "ended; cancel it first") != 0)
		return -1;
	return api_no_content(req);
}

int
api_job_share(struct kreq *req)
{
	char token[TOKEN_LEN + 1];
	enum job_change ch = job_share(req->app->db, req_id(req, 0),
		req->auth->user_id, token);
	json_object *o, *url;

	if (change_refused(req, ch, "api jobs: share", "only a job that "
	    "succeeded can be shared") != 0)
		return -1;
	/* Absolute: the link is for people who are not on this API. */
	o = json_object_new_object();
	url = json_site_url(req->app->cfg.base_url, "/s/%s", token);
	if (o == NULL || url == NULL) {
		json_object_put(o);
		json_object_put(url);
		return api_send(req, 500, NULL);
	}
	json_object_object_add(o, "share_url", url);
	return api_send(req, 200, o);
}

int
api_job_unshare(struct kreq *req)
{
	if (change_refused(req, job_unshare(req->app->db, req_id(req, 0),
	    req->auth->user_id), "api jobs: unshare", "") != 0)
		return -1;
	return api_no_content(req);
}

/* The cached hashes of kind (NULL with *n 0 when the database does not
 * answer: the list is shown without them). */
static struct hash_row *
cached_hashes(struct kreq *req, const char *kind, long *n)
{
	struct hash_row *rows = NULL;

	*n = hash_cache_list(req->app->db, kind, &rows);
	if (*n < 0) {
		log_warn("models: hashes of %s: %s", kind,
			db_error(req->app->db));
		*n = 0;
	}
	return rows;
}

/* key: the hash of the file at path among rows, cut to len hex digits
 * (null when it was not hashed at its present size and time). */
static void
add_hash(json_object *o, const char *key, const struct hash_row *rows,
	long n, const char *name, const char *path, int len)
{
	struct file_stamp st;
	const char *h = NULL;

	if (path != NULL && file_stamp_of(path, &st) == 0)
		h = hash_rows_find(rows, n, name, &st);
	json_object_object_add(o, key, h != NULL ?
		json_object_new_string_len(h, len) : NULL);
}

/* One model: its card's description and defaults (what a job that
 * leaves them out gets), what it is (type, native size, the sides it
 * takes) and its AUTOMATIC1111 hash when a single file was hashed. */
static json_object *
model_json(struct kreq *req, const char *name, const struct hash_row *rows,
	long nrows)
{
	const struct kiln_config *cfg = &req->app->cfg;
	struct model_card *c = NULL;
	json_object *m = json_object_new_object(), *d;
	struct stat st;
	char err[512];

	json_object_object_add(m, "name", json_object_new_string(name));
	json_object_object_add(m, "default", json_object_new_boolean(
		!strcmp(name, cfg->default_model)));
	if (model_card_load(cfg->models_dir, name, &c, err,
	    sizeof(err)) != 0) {
		json_object_object_add(m, "error", json_object_new_string(err));
		return m;
	}
	json_object_object_add(m, "description",
		json_object_new_string(c->description));
	if (c->width > 0) {
		json_object_object_add(m, "width",
			json_object_new_int(c->width));
		json_object_object_add(m, "height",
			json_object_new_int(c->height));
	}
	json_object_object_add(m, "type", json_object_new_string(
		sd_family_name(c->type)));
	json_object_object_add(m, "native_size",
		json_object_new_int(c->native_side));
	json_object_object_add(m, "size_multiple",
		json_object_new_int(c->multiple));
	json_object_object_add(m, "max_size", c->max_side > 0 ?
		json_object_new_int(c->max_side) : NULL);
	/* The same defaults lib/submit.c's finish() gives a job. */
	d = json_object_new_object();
	json_object_object_add(d, "width", json_object_new_int(c->width ?
		c->width : c->native_side ? c->native_side : 512));
	json_object_object_add(d, "height", json_object_new_int(c->height ?
		c->height : c->native_side ? c->native_side : 512));
	json_object_object_add(d, "steps", json_object_new_int(c->steps ?
		c->steps : 20));
	json_object_object_add(d, "cfg_scale", json_object_new_double(
		c->cfg > 0 ? c->cfg : 7.0));
	json_object_object_add(d, "sampler", json_object_new_string(
		*c->sampler ? c->sampler : "euler_a"));
	json_object_object_add(m, "defaults", d);
	/* AUTOMATIC1111 hashes single files; a folder has none. */
	if (stat(c->path, &st) == 0 && S_ISREG(st.st_mode)) {
		add_hash(m, "hash", rows, nrows, name, c->path,
			HASH_SHORT_MODEL);
		add_hash(m, "sha256", rows, nrows, name, c->path, HASH_HEX);
	} else {
		json_object_object_add(m, "hash", NULL);
		json_object_object_add(m, "sha256", NULL);
	}
	if (c->file_error != NULL)
		json_object_object_add(m, "error",
			json_object_new_string(c->file_error));
	model_card_free(c);
	return m;
}

/* The LoRAs or embeddings of dir, each with its family and hash, an
 * unusable one with why. */
static json_object *
extras_json(struct kreq *req, const char *dir, enum extra_kind kind)
{
	const char *kname = extra_kind_name(kind);
	json_object *a = json_object_new_array();
	struct extra_info *x = NULL;
	struct hash_row *rows;
	long nrows;
	int n, i;

	n = extras_list(dir, kind, &x);
	if (n < 0)
		log_warn("models: %s cannot be read", dir);
	rows = cached_hashes(req, kname, &nrows);
	for (i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name",
			json_object_new_string(x[i].name));
		json_object_object_add(o, "type",
			json_object_new_string(kname));
		if (x[i].error != NULL) {
			json_object_object_add(o, "error",
				json_object_new_string(x[i].error));
			json_object_array_add(a, o);
			continue;
		}
		json_object_object_add(o, "base", json_object_new_string(
			sd_family_name(x[i].family)));
		if (kind == EXTRA_LORA) {
			json_object_object_add(o, "format",
				json_object_new_string(x[i].format));
			json_object_object_add(o, "modules",
				json_object_new_int(x[i].modules));
		} else {
			json_object_object_add(o, "vectors",
				json_object_new_int(x[i].vectors));
		}
		/* A1111 takes a LoRA's hash from its metadata when there. */
		if (x[i].sshs_hash != NULL)
			json_object_object_add(o, "hash",
				json_object_new_string_len(x[i].sshs_hash,
				HASH_SHORT_NET));
		else
			add_hash(o, "hash", rows, nrows, x[i].name, x[i].path,
				HASH_SHORT_NET);
		json_object_array_add(a, o);
	}
	free(rows);
	extras_free(x, n);
	return a;
}

/* The upscaler models of dir, each with its architecture and scale, an
 * unusable one with why. */
static json_object *
upscalers_json(const char *dir)
{
	json_object *a = json_object_new_array();
	struct extra_info *x = NULL;
	int n, i;

	n = extras_list(dir, EXTRA_UPSCALER, &x);
	if (n < 0)
		log_warn("models: %s cannot be read", dir);
	for (i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name",
			json_object_new_string(x[i].name));
		json_object_object_add(o, "type",
			json_object_new_string("upscaler"));
		if (x[i].error != NULL) {
			json_object_object_add(o, "error",
				json_object_new_string(x[i].error));
		} else {
			json_object_object_add(o, "arch",
				json_object_new_string(x[i].arch));
			json_object_object_add(o, "scale",
				json_object_new_int(x[i].scale));
		}
		json_object_array_add(a, o);
	}
	extras_free(x, n);
	return a;
}

int
api_models(struct kreq *req)
{
	const struct kiln_config *cfg = &req->app->cfg;
	json_object *o = json_object_new_object(), *a = json_object_new_array();
	struct hash_row *rows;
	char **names = NULL;
	long nrows;
	int n, i;

	if (o == NULL || a == NULL) {
		json_object_put(o);
		json_object_put(a);
		return api_send(req, 500, NULL);
	}
	json_object_object_add(o, "models", a);
	n = models_list(cfg->models_dir, &names);
	rows = cached_hashes(req, "checkpoint", &nrows);
	for (i = 0; i < n; i++)
		json_object_array_add(a, model_json(req, names[i], rows,
			nrows));
	free(rows);
	models_list_free(names, n);
	json_object_object_add(o, "loras", extras_json(req, cfg->loras_dir,
		EXTRA_LORA));
	json_object_object_add(o, "embeddings", extras_json(req,
		cfg->embeddings_dir, EXTRA_EMBEDDING));
	json_object_object_add(o, "upscalers",
		upscalers_json(cfg->upscalers_dir));
	{
		json_object *cn = json_object_new_array();
		char **cns = NULL;
		int ncn = controlnets_list(cfg->controlnets_dir, &cns), k;

		for (k = 0; k < ncn; k++)
			json_object_array_add(cn, json_object_new_string(
				cns[k]));
		models_list_free(cns, ncn);
		json_object_object_add(o, "controlnets", cn);
	}
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
