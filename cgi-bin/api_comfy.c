/* api_comfy.c - ComfyUI's API under /comfyui/, for tools that speak it
 * (its own example scripts, bots): POST /prompt reads the workflow as one
 * ordinary kiln job (comfy.c), with the same checks, quotas, credits,
 * queue, history and webhooks as any; /history, /queue, /view,
 * /object_info and the rest answer in ComfyUI's shapes with the caller's
 * own prompts and uploads. Progress is by polling: the /ws websocket is
 * not offered through FastCGI. */
#include "app.h"
#include "auth.h"
#include "comfy.h"
#include "config.h"
#include "db.h"
#include "extras.h"
#include "handlers.h"
#include "image.h"
#include "jobs.h"
#include "log.h"
#include "models.h"
#include "multipart.h"
#include "storage.h"
#include "submit.h"
#include "upload.h"
#include "util.h"

#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#define COMFY_MAX_ERRORS 16
#define HISTORY_MAX 200		/* prompts one /history answer holds */

/* ComfyUI answers its own errors in its shapes; a plain 404 for what
 * is not there (or someone else's). */
static int
comfy_404(struct kreq *req)
{
	return resp_error_json(req, 404, "not_found", "no such prompt or "
		"image", NULL);
}

/* Collects kiln's own refusals of the job as ComfyUI node errors, each
 * named by the node and input the field came from. */
struct refusals {
	const struct comfy_plan *plan;
	struct comfy_error e[COMFY_MAX_ERRORS];
	int n;
};

static void
refuse_field(void *arg, const char *field, const char *msg)
{
	struct refusals *r = arg;
	const struct comfy_origin *o = NULL;
	struct comfy_error *e;
	char key[40];
	const char *dot;

	if (r->n == COMFY_MAX_ERRORS)
		return;
	e = &r->e[r->n++];
	memset(e, 0, sizeof(*e));
	/* "loras[1].weight" came from the LoRA loader of loras[1]. */
	dot = strchr(field, '.');
	snprintf(key, sizeof(key), "%.*s", dot ? (int)(dot - field) :
		(int)strlen(field), field);
	o = comfy_origin_of(r->plan, key);
	snprintf(e->type, sizeof(e->type), "%s", "value_not_valid");
	snprintf(e->message, sizeof(e->message), "%s", "Value not valid for "
		"kiln");
	if (o != NULL) {
		snprintf(e->node, sizeof(e->node), "%s", o->node);
		snprintf(e->class_type, sizeof(e->class_type), "%s",
			o->class_type);
		snprintf(e->input, sizeof(e->input), "%s", o->input);
		snprintf(e->details, sizeof(e->details), "%s: %s", o->input,
			msg);
	} else {
		snprintf(e->details, sizeof(e->details), "%s: %s", field, msg);
	}
}

static int
send_comfy_errors(struct kreq *req, const struct comfy_error *e, int n,
	const struct comfy_plan *p)
{
	return api_send(req, 400, comfy_error_json(e, n, p));
}

static int
upscaler_scale(void *arg, const char *name)
{
	const struct kiln_config *c = arg;
	struct extra_info x;
	char err[256];
	int s = 0;

	memset(&x, 0, sizeof(x));
	if (extra_load(c->upscalers_dir, EXTRA_UPSCALER, name, &x, err,
	    sizeof(err)) == 0)
		s = x.scale;
	extra_info_clear(&x);
	return s;
}

/* "x.png [input]" -> "x.png": the annotated names ComfyUI's front end
 * sends. */
static void
strip_annotation(char *s)
{
	size_t n = strlen(s);

	if (n > 8 && !strcmp(s + n - 8, " [input]"))
		s[n - 8] = '\0';
}

/* The caller's upload called name, its PNG into out. Returns 1, 0 when
 * there is none, -1 on a failure (logged). */
static int
upload_read(struct kreq *req, const char *name, struct buf *out)
{
	struct db_param p[2];
	struct storage *st = NULL;
	char *path = NULL, *n = xstrdup(name), err[256];
	int rc;

	strip_annotation(n);
	p[0] = DB_INT(req->auth->user_id);
	p[1] = DB_STR(n);
	rc = db_query_string(req->app->db, "SELECT path FROM comfy_uploads"
		" WHERE user_id = ? AND name = ?", p, 2, &path);
	free(n);
	if (rc != 0)
		return -1;
	if (path == NULL)
		return 0;
	st = storage_open(&req->app->cfg);
	rc = st == NULL ? -1 : storage_get(st, path, 64UL << 20, out, err,
		sizeof(err));
	if (rc != 0)
		log_error("comfyui: upload %s: %s", path, st ? err : "no "
			"memory");
	storage_free(st);
	free(path);
	return rc == 0 ? 1 : rc == 1 ? 0 : -1;
}

/* Channel ch of a PNG as a grey image (the mask kiln reads). Returns a
 * new PNG in *out, or -1. */
static int
channel_png(const struct buf *png, int ch, uint8_t **out, size_t *len)
{
	uint8_t *rgb = NULL;
	char err[256];
	int w, h, rc;
	size_t i;

	if (image_decode_rgb(png->data, png->len, "mask", &w, &h, &rgb, err,
	    sizeof(err)) != 0)
		return -1;
	for (i = 0; i < (size_t)w * (size_t)h; i++)
		rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] =
			rgb[3 * i + ch];
	rc = image_encode_png(w, h, rgb, NULL, out, len, err, sizeof(err));
	free(rgb);
	return rc;
}

/* Puts the plan's uploaded images into its job as base64 (kiln's checks
 * then take them as any job's). Returns 0, 1 with errors in r, -1 on a
 * failure. */
static int
attach_images(struct kreq *req, struct comfy_plan *p, struct refusals *r)
{
	static const char *const field[COMFY_NIMG] = { "init_image", "mask",
		"control_image" };
	int k, st;

	for (k = 0; k < COMFY_NIMG; k++) {
		struct buf b = { 0 };
		uint8_t *png = NULL, *data;
		size_t len, n;
		char *b64;

		if (p->image[k] == NULL)
			continue;
		st = upload_read(req, p->image[k], &b);
		if (st <= 0) {
			buf_free(&b);
			if (st < 0)
				return -1;
			if (r->n < COMFY_MAX_ERRORS) {
				struct comfy_error *e = &r->e[r->n++];

				memset(e, 0, sizeof(*e));
				snprintf(e->type, sizeof(e->type),
					"value_not_in_list");
				snprintf(e->message, sizeof(e->message),
					"Value not in list");
				snprintf(e->details, sizeof(e->details),
					"image: '%.200s' is none of the images "
					"you sent to /upload/image", p->image[k]);
				snprintf(e->node, sizeof(e->node), "%s",
					p->image_node[k]);
				snprintf(e->class_type, sizeof(e->class_type),
					"%s", k == COMFY_IMG_MASK ?
					"LoadImageMask" : "LoadImage");
				snprintf(e->input, sizeof(e->input), "image");
			}
			continue;
		}
		data = (uint8_t *)b.data;
		len = b.len;
		if (k == COMFY_IMG_MASK) {
			if (channel_png(&b, p->mask_channel, &png, &len) != 0) {
				buf_free(&b);
				return -1;
			}
			data = png;
		}
		n = sodium_base64_encoded_len(len,
			sodium_base64_VARIANT_ORIGINAL);
		b64 = malloc(n);
		if (b64 != NULL)
			sodium_bin2base64(b64, n, data, len,
				sodium_base64_VARIANT_ORIGINAL);
		free(png);
		buf_free(&b);
		if (b64 == NULL)
			return -1;
		json_object_object_add(p->job, field[k],
			json_object_new_string(b64));
		free(b64);
	}
	return r->n > 0;
}

/* A random UUID (version 4), as ComfyUI names its prompts, into out
 * (37 bytes). */
static void
uuid4(char *out)
{
	unsigned char b[16];

	randombytes_buf(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		"%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4],
		b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
		b[14], b[15]);
}

/* 1 when s has the shape uuid4 writes (any case of hex). */
static int
uuid_shaped(const char *s)
{
	size_t i;

	if (strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!strchr("0123456789abcdefABCDEF", s[i])) {
			return 0;
		}
	}
	return 1;
}

int
api_comfy_prompt(struct kreq *req)
{
	struct comfy_env env = { upscaler_scale, &req->app->cfg };
	struct tier_limits tl;
	struct comfy_plan plan;
	struct comfy_error ce;
	struct refusals r;
	struct enqueue_refusal why;
	struct job_spec s;
	json_object *body = NULL, *prompt, *extra = NULL, *v, *outs = NULL;
	unsigned long long id = 0;
	char pid[37], *outs_text;
	struct db_param p[6];
	int st, rc;

	memset(&s, 0, sizeof(s));
	memset(&plan, 0, sizeof(plan));
	memset(&r, 0, sizeof(r));
	tier_of(&req->app->cfg, req->auth->tier, &tl);
	if (!api_submit_allowed(req) || req_json_body_any(req, &body) != 0)
		return -1;
	if (!json_object_object_get_ex(body, "prompt", &prompt) ||
	    !json_object_is_type(prompt, json_type_object)) {
		memset(&ce, 0, sizeof(ce));
		snprintf(ce.type, sizeof(ce.type), "no_prompt");
		snprintf(ce.message, sizeof(ce.message), "No prompt provided");
		snprintf(ce.details, sizeof(ce.details), "the body needs "
			"\"prompt\": an API-format workflow");
		rc = send_comfy_errors(req, &ce, 1, NULL);
		goto out;
	}
	st = comfy_translate(prompt, &env, &plan, &ce);
	if (st < 0)
		goto oom;
	if (st > 0) {
		rc = send_comfy_errors(req, &ce, 1, &plan);
		goto out;
	}
	r.plan = &plan;
	st = attach_images(req, &plan, &r);
	if (st < 0) {
		rc = api_db_fail(req, "comfyui: uploads");
		goto out;
	}
	if (st == 0) {
		st = job_spec_from_json(plan.job, &req->app->cfg, &s,
			refuse_field, &r);
		if (st < 0)
			goto oom;
		if (r.n == 0)
			job_spec_limits(&s, &tl, refuse_field, &r);
		if (r.n == 0)
			job_spec_model_limits(&s, refuse_field, &r);
	}
	if (r.n > 0) {
		rc = send_comfy_errors(req, r.e, r.n, &plan);
		goto out;
	}
	st = job_enqueue(req->app->db, req->auth->user_id, &tl, &s, 1, &id,
		&why);
	if (st < 0) {
		rc = api_db_fail(req, "comfyui: enqueue");
		goto out;
	}
	if (st > 0) {
		rc = api_refuse_quota(req, &why);
		goto out;
	}
	/* ComfyUI's extra_data, with the client_id it files there. */
	if (json_object_object_get_ex(body, "extra_data", &v) &&
	    json_object_is_type(v, json_type_object))
		extra = json_tokener_parse(json_object_to_json_string(v));
	if (extra == NULL)
		extra = json_object_new_object();
	if (json_object_object_get_ex(body, "client_id", &v))
		json_object_object_add(extra, "client_id", json_object_get(v));
	outs = json_object_new_array();
	for (st = 0; st < plan.noutputs; st++)
		json_object_array_add(outs,
			json_object_new_string(plan.outputs[st]));
	/* A client may name its prompt (newer ComfyUI takes prompt_id). */
	if (json_object_object_get_ex(body, "prompt_id", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    uuid_shaped(json_object_get_string(v)))
		snprintf(pid, sizeof(pid), "%s", json_object_get_string(v));
	else
		uuid4(pid);
	outs_text = xstrdup(json_object_to_json_string_ext(outs,
		JSON_C_TO_STRING_PLAIN));
	p[0] = DB_STR(pid);
	p[1] = DB_INT(req->auth->user_id);
	p[2] = DB_INT(id);
	p[3] = DB_STR(json_object_to_json_string_ext(prompt,
		JSON_C_TO_STRING_PLAIN));
	p[4] = DB_STR(json_object_to_json_string_ext(extra,
		JSON_C_TO_STRING_PLAIN));
	p[5] = DB_STR(outs_text);
	st = db_exec(req->app->db, "INSERT INTO comfy_prompts (prompt_id,"
		" user_id, job_id, workflow, extra_data, outputs) VALUES"
		" (?, ?, ?, ?, ?, ?)", p, 6, NULL, NULL);
	free(outs_text);
	if (st < 0) {
		/* The job stands, as any job: only its ComfyUI name is
		 * lost. Say which job it is. */
		log_error("comfyui: prompt of job %llu not recorded", id);
		rc = api_db_fail(req, "comfyui: record prompt");
		goto out;
	}
	{
		json_object *o = json_object_new_object();

		json_object_object_add(o, "prompt_id",
			json_object_new_string(pid));
		json_object_object_add(o, "number",
			json_object_new_int64((int64_t)id));
		json_object_object_add(o, "node_errors",
			json_object_new_object());
		rc = api_send(req, 200, o);
	}
	goto out;
oom:
	rc = api_send(req, 500, NULL);
out:
	json_object_put(outs);
	json_object_put(extra);
	job_spec_free(&s);
	comfy_plan_free(&plan);
	json_object_put(body);
	return rc;
}

/* One of the caller's prompts, as the history and queue list them. */
struct prompt_rec {
	const char *prompt_id, *workflow, *extra, *outputs, *status, *error;
	unsigned long long job_id;
	long long created_ms, started_ms, finished_ms;
};

static const struct db_field prompt_fields[] = {
	DB_FIELD(struct prompt_rec, prompt_id, DBF_STR, "prompt_id"),
	DB_FIELD(struct prompt_rec, job_id, DBF_ULLONG, "job_id"),
	DB_FIELD(struct prompt_rec, workflow, DBF_STR, "workflow"),
	DB_FIELD(struct prompt_rec, extra, DBF_STR, "extra_data"),
	DB_FIELD(struct prompt_rec, outputs, DBF_STR, "outputs"),
	DB_FIELD(struct prompt_rec, status, DBF_STR, "status"),
	DB_FIELD_NULL(struct prompt_rec, error, DBF_STR, "error"),
	DB_FIELD(struct prompt_rec, created_ms, DBF_LLONG, "created_ms"),
	DB_FIELD_NULL(struct prompt_rec, started_ms, DBF_LLONG, "started_ms"),
	DB_FIELD_NULL(struct prompt_rec, finished_ms, DBF_LLONG,
		"finished_ms"),
};

#define PROMPT_SQL "SELECT p.prompt_id, p.job_id, p.workflow," \
	" p.extra_data, p.outputs, j.status, j.error," \
	" CAST(UNIX_TIMESTAMP(j.created_at) * 1000 AS SIGNED) AS created_ms," \
	" CAST(UNIX_TIMESTAMP(j.started_at) * 1000 AS SIGNED) AS started_ms," \
	" CAST(UNIX_TIMESTAMP(j.finished_at) * 1000 AS SIGNED) AS" \
	" finished_ms FROM comfy_prompts p JOIN jobs j ON j.id = p.job_id" \
	" WHERE p.user_id = ? AND j.deleted_at IS NULL"

/* ComfyUI's queue item: [number, prompt_id, prompt, extra_data,
 * outputs_to_execute]. */
static json_object *
queue_item(const struct prompt_rec *r)
{
	json_object *a = json_object_new_array(), *x;

	json_object_array_add(a, json_object_new_int64((int64_t)r->job_id));
	json_object_array_add(a, json_object_new_string(r->prompt_id));
	x = json_tokener_parse(r->workflow);
	json_object_array_add(a, x ? x : json_object_new_object());
	x = json_tokener_parse(r->extra);
	json_object_array_add(a, x ? x : json_object_new_object());
	x = json_tokener_parse(r->outputs);
	json_object_array_add(a, x ? x : json_object_new_array());
	return a;
}

struct image_rec {
	int idx;
};

static const struct db_field image_fields[] = {
	DB_FIELD(struct image_rec, idx, DBF_INT, "idx"),
};

struct history_ctx {
	struct kreq *req;
	json_object *out;
	int failed;
};

static int
image_row(void *rec, void *arg)
{
	(void)rec;
	(void)arg;
	return 0;
}

/* A message of ComfyUI's status list: [event, {prompt_id, timestamp}]. */
static json_object *
message(const char *event, const char *pid, long long ms)
{
	json_object *m = json_object_new_array(), *d = json_object_new_object();

	json_object_object_add(d, "prompt_id", json_object_new_string(pid));
	json_object_object_add(d, "timestamp", json_object_new_int64(ms));
	json_object_array_add(m, json_object_new_string(event));
	json_object_array_add(m, d);
	return m;
}

static int
history_row(void *rec, void *arg)
{
	const struct prompt_rec *r = rec;
	struct history_ctx *h = arg;
	json_object *e = json_object_new_object(), *outputs, *status, *msgs;
	json_object *outs, *images;
	struct image_rec ir;
	struct db_param p = DB_INT(r->job_id);
	long n, i;
	size_t k;
	int ok = !strcmp(r->status, "succeeded");

	json_object_object_add(e, "prompt", queue_item(r));
	outputs = json_object_new_object();
	images = json_object_new_array();
	/* The job's images, by the names /view takes; each output node
	 * shows them all. */
	n = ok ? db_query_into(h->req->app->db, "SELECT idx FROM job_images"
		" WHERE job_id = ? ORDER BY idx", &p, 1, image_fields,
		DB_NFIELDS(image_fields), &ir, image_row, NULL) : 0;
	if (n < 0) {
		h->failed = 1;
		json_object_put(e);
		json_object_put(outputs);
		json_object_put(images);
		return 1;
	}
	for (i = 0; i < n; i++) {
		json_object *im = json_object_new_object();
		char name[64];

		snprintf(name, sizeof(name), "%llu-%ld.png", r->job_id, i);
		json_object_object_add(im, "filename",
			json_object_new_string(name));
		json_object_object_add(im, "subfolder",
			json_object_new_string(""));
		json_object_object_add(im, "type",
			json_object_new_string("output"));
		json_object_array_add(images, im);
	}
	outs = json_tokener_parse(r->outputs);
	for (k = 0; ok && outs != NULL && k < json_object_array_length(outs);
	    k++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "images", json_object_get(images));
		json_object_object_add(outputs, json_object_get_string(
			json_object_array_get_idx(outs, k)), o);
	}
	json_object_put(outs);
	json_object_put(images);
	json_object_object_add(e, "outputs", outputs);
	status = json_object_new_object();
	json_object_object_add(status, "status_str", json_object_new_string(
		ok ? "success" : "error"));
	json_object_object_add(status, "completed",
		json_object_new_boolean(ok));
	msgs = json_object_new_array();
	json_object_array_add(msgs, message("execution_start", r->prompt_id,
		r->started_ms ? r->started_ms : r->created_ms));
	if (ok) {
		json_object_array_add(msgs, message("execution_success",
			r->prompt_id, r->finished_ms));
	} else {
		json_object *m = message(!strcmp(r->status, "canceled") ?
			"execution_interrupted" : "execution_error",
			r->prompt_id, r->finished_ms), *d;

		d = json_object_array_get_idx(m, 1);
		json_object_object_add(d, "exception_message",
			json_object_new_string(r->error ? r->error :
			r->status));
		json_object_array_add(msgs, m);
	}
	json_object_object_add(status, "messages", msgs);
	json_object_object_add(e, "status", status);
	json_object_object_add(e, "meta", json_object_new_object());
	json_object_object_add(h->out, r->prompt_id, e);
	return 0;
}

/* The caller's finished prompts (one, or the newest max). */
static int
history(struct kreq *req, const char *pid, long max)
{
	struct history_ctx h = { req, json_object_new_object(), 0 };
	struct prompt_rec r;
	struct db_param p[3];
	char *sql;
	long n;

	p[0] = DB_INT(req->auth->user_id);
	p[1] = pid ? DB_STR(pid) : DB_INT(max);
	/* A newest-first LIMIT, listed oldest first as ComfyUI's
	 * history dict is. */
	sql = xasprintf("SELECT * FROM (" PROMPT_SQL " AND j.status IN"
		" ('succeeded', 'failed', 'canceled')%s) t ORDER BY job_id",
		pid ? " AND p.prompt_id = ?" : " ORDER BY p.job_id DESC"
		" LIMIT ?");
	n = db_query_into(req->app->db, sql, p, 2, prompt_fields,
		DB_NFIELDS(prompt_fields), &r, history_row, &h);
	free(sql);
	if (n < 0 || h.failed) {
		json_object_put(h.out);
		return api_db_fail(req, "comfyui: history");
	}
	return api_send(req, 200, h.out);
}

int
api_comfy_history(struct kreq *req)
{
	const char *m = req_query(req, "max_items");
	long max = HISTORY_MAX;

	if (m != NULL && (parse_long(m, 1, HISTORY_MAX, &max) != 0))
		return resp_error_json(req, 400, "bad_request", "max_items "
			"must be a whole number from 1 to 200", NULL);
	return history(req, NULL, max);
}

int
api_comfy_history_one(struct kreq *req)
{
	/* Not a prompt id of this shape: nobody's, an empty answer, as
	 * ComfyUI gives for an unknown id. */
	if (!uuid_shaped(req->captures[0]))
		return api_send(req, 200, json_object_new_object());
	return history(req, req->captures[0], 1);
}

struct queue_ctx {
	json_object *running, *pending;
};

static int
queue_row(void *rec, void *arg)
{
	const struct prompt_rec *r = rec;
	struct queue_ctx *q = arg;

	json_object_array_add(!strcmp(r->status, "running") ? q->running :
		q->pending, queue_item(r));
	return 0;
}

int
api_comfy_queue(struct kreq *req)
{
	struct queue_ctx q = { json_object_new_array(),
		json_object_new_array() };
	struct prompt_rec r;
	struct db_param p = DB_INT(req->auth->user_id);
	json_object *o;

	if (db_query_into(req->app->db, PROMPT_SQL " AND j.status IN"
	    " ('queued', 'running') ORDER BY p.job_id LIMIT 1000", &p, 1,
	    prompt_fields, DB_NFIELDS(prompt_fields), &r, queue_row,
	    &q) < 0) {
		json_object_put(q.running);
		json_object_put(q.pending);
		return api_db_fail(req, "comfyui: queue");
	}
	o = json_object_new_object();
	json_object_object_add(o, "queue_running", q.running);
	json_object_object_add(o, "queue_pending", q.pending);
	return api_send(req, 200, o);
}

/* Job ids gathered from a query before any is changed. */
struct idlist {
	unsigned long long id;		/* the row being read */
	unsigned long long v[256];
	long n;
};

static const struct db_field id_fields[] = {
	DB_FIELD(struct idlist, id, DBF_ULLONG, "job_id"),
};

static int
id_row(void *rec, void *arg)
{
	struct idlist *l = arg;

	(void)rec;
	if (l->n < (long)ARRAY_LEN(l->v))
		l->v[l->n++] = l->id;
	return 0;
}

/* Cancels the caller's unfinished ComfyUI jobs: the queued ones, and
 * the running ones too when running; only prompt pid's when not NULL.
 * Returns 0 or -1 (db). */
static int
cancel_where(struct kreq *req, const char *pid, int running)
{
	struct db_param p[2];
	struct idlist *l = calloc(1, sizeof(*l));
	char *sql;
	long i, n;

	if (l == NULL)
		return -1;
	p[0] = DB_INT(req->auth->user_id);
	p[1] = pid ? DB_STR(pid) : DB_NULL;
	sql = xasprintf("SELECT p.job_id FROM comfy_prompts p JOIN jobs j"
		" ON j.id = p.job_id WHERE p.user_id = ? AND j.status IN"
		" ('queued'%s)%s LIMIT 256", running ? ", 'running'" : "",
		pid ? " AND p.prompt_id = ?" : "");
	/* Gathered first: job_cancel runs statements of its own. */
	n = db_query_into(req->app->db, sql, p, pid ? 2 : 1, id_fields,
		DB_NFIELDS(id_fields), l, id_row, l);
	free(sql);
	for (i = 0; n >= 0 && i < l->n; i++)
		if (job_cancel(req->app->db, l->v[i],
		    req->auth->user_id) < 0)
			n = -1;
	free(l);
	return n < 0 ? -1 : 0;
}

/* POST /queue: {"delete": [prompt_id, ...]} takes those out of the
 * queue, {"clear": true} all the caller's waiting ones; a running one
 * stays (ComfyUI's /interrupt stops it). */
int
api_comfy_queue_post(struct kreq *req)
{
	json_object *body = NULL, *v;
	size_t i;
	int bad = 0;

	if (req_json_body_any(req, &body) != 0)
		return -1;
	if (json_object_object_get_ex(body, "clear", &v) &&
	    json_object_get_boolean(v))
		bad |= cancel_where(req, NULL, 0);
	if (json_object_object_get_ex(body, "delete", &v) &&
	    json_object_is_type(v, json_type_array))
		for (i = 0; i < json_object_array_length(v) && i < 256; i++) {
			const char *id = json_object_get_string(
				json_object_array_get_idx(v, i));

			if (id != NULL && uuid_shaped(id))
				bad |= cancel_where(req, id, 0);
		}
	json_object_put(body);
	if (bad)
		return api_db_fail(req, "comfyui: queue");
	return api_send(req, 200, json_object_new_object());
}

/* POST /interrupt: stops the caller's running prompt (the one named by
 * {"prompt_id"} when the body names one), as ComfyUI stops the one it
 * runs; the queue goes on. */
int
api_comfy_interrupt(struct kreq *req)
{
	json_object *body = NULL, *v;
	const char *pid = NULL;
	struct db_param p = DB_INT(req->auth->user_id);
	struct idlist *l;
	long n, i;
	int rc = 0;

	if (req->body_len > 0 && req->body[0] == '{' &&
	    req_json_body_any(req, &body) != 0)
		return -1;
	if (body != NULL && json_object_object_get_ex(body, "prompt_id",
	    &v) && json_object_is_type(v, json_type_string) &&
	    uuid_shaped(json_object_get_string(v)))
		pid = json_object_get_string(v);
	if (pid != NULL) {
		rc = cancel_where(req, pid, 1);
	} else {
		l = calloc(1, sizeof(*l));
		if (l == NULL) {
			json_object_put(body);
			return api_send(req, 500, NULL);
		}
		n = db_query_into(req->app->db, "SELECT p.job_id FROM"
			" comfy_prompts p JOIN jobs j ON j.id = p.job_id"
			" WHERE p.user_id = ? AND j.status = 'running'"
			" LIMIT 256", &p, 1, id_fields, DB_NFIELDS(id_fields),
			l, id_row, l);
		for (i = 0; n >= 0 && i < l->n; i++)
			if (job_cancel(req->app->db, l->v[i],
			    req->auth->user_id) < 0)
				n = -1;
		free(l);
		rc = n < 0 ? -1 : 0;
	}
	json_object_put(body);
	if (rc != 0)
		return api_db_fail(req, "comfyui: interrupt");
	return api_send(req, 200, json_object_new_object());
}

/* GET /prompt: how many of the caller's prompts wait or run. */
int
api_comfy_prompt_info(struct kreq *req)
{
	struct db_param p = DB_INT(req->auth->user_id);
	json_object *o, *e;
	long n = 0;

	if (db_query_long(req->app->db, "SELECT COUNT(*) FROM comfy_prompts"
	    " p JOIN jobs j ON j.id = p.job_id WHERE p.user_id = ? AND"
	    " j.status IN ('queued', 'running')", &p, 1, &n) != 0)
		return api_db_fail(req, "comfyui: prompt info");
	o = json_object_new_object();
	e = json_object_new_object();
	json_object_object_add(e, "queue_remaining", json_object_new_int64(n));
	json_object_object_add(o, "exec_info", e);
	return api_send(req, 200, o);
}

/* GET /view?filename=&subfolder=&type=: a result ("output", kiln's
 * image name) or an upload ("input") of the caller's; anyone else's is
 * not there. */
int
api_comfy_view(struct kreq *req)
{
	const char *name = req_query(req, "filename");
	const char *type = req_query(req, "type");
	const char *sub = req_query(req, "subfolder");
	struct buf b = { 0 };
	int st;

	if (name == NULL || *name == '\0')
		return comfy_404(req);
	if (sub != NULL && *sub != '\0')
		return comfy_404(req);
	if (type == NULL || *type == '\0' || !strcmp(type, "output")) {
		/* kiln's own image route, with its ownership check: its
		 * names are kiln's ("12-0.png"). */
		req->captures[0] = xstrdup(name);
		req->ncaptures = 1;
		return api_image(req);
	}
	if (strcmp(type, "input") != 0)
		return comfy_404(req);
	st = upload_read(req, name, &b);
	if (st < 0) {
		buf_free(&b);
		return api_db_fail(req, "comfyui: view");
	}
	if (st == 0) {
		buf_free(&b);
		return comfy_404(req);
	}
	buf_reset(&req->out);
	if (buf_append(&req->out, b.data, b.len) != 0) {
		buf_free(&b);
		return api_send(req, 500, NULL);
	}
	buf_free(&b);
	req->ctype = "image/png";
	resp_header(req, "Cache-Control", "private, no-cache");
	req->status = 200;
	return 0;
}

/* An upload's name as LoadImage takes it: the client's file name, its
 * folders dropped, at most 200 bytes of printable characters. Returns a
 * fresh string or NULL. */
static char *
upload_name(const char *file)
{
	const char *base = strrchr(file, '/');
	char *s;
	size_t i;

	base = base ? base + 1 : file;
	if (*base == '\0' || *base == '.' || strlen(base) > 200)
		return NULL;
	s = xstrdup(base);
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f ||
		    s[i] == '\\') {
			free(s);
			return NULL;
		}
	return s;
}

/* POST /upload/image (multipart: image, overwrite, type, subfolder):
 * checked and stored as a job's input is, under the file's name for
 * LoadImage. A name already taken by another image becomes "x (1).png"
 * unless overwrite is true, as in ComfyUI. */
int
api_comfy_upload(struct kreq *req)
{
	const uint8_t *data;
	size_t len, i;
	const char *ow = NULL, *fname = NULL;
	struct upload_limits lim;
	struct upload_image img;
	struct storage *st = NULL;
	struct db_param p[7];
	char err[256], key[128], *name = NULL, *try = NULL, *have = NULL;
	int overwrite, rc, n;

	memset(&img, 0, sizeof(img));
	if (!req_file(req, "image", &data, &len))
		return resp_error_json(req, 400, "bad_request", "send the "
			"image as the multipart field \"image\"", NULL);
	for (i = 0; i < req->nparts; i++) {
		if (!strcmp(req->parts[i].name, "image"))
			fname = req->parts[i].filename;
	}
	for (i = 0; i < req->nform; i++)
		if (!strcmp(req->form[i].key, "overwrite"))
			ow = req->form[i].val;
	overwrite = ow != NULL && (!strcmp(ow, "true") || !strcmp(ow, "1"));
	name = fname ? upload_name(fname) : NULL;
	if (name == NULL)
		return resp_error_json(req, 400, "bad_request", "the image "
			"needs a file name (no folders, at most 200 bytes)",
			NULL);
	upload_limits_of(&req->app->cfg, &lim);
	if (upload_image_check(data, len, &lim, &img, err,
	    sizeof(err)) != 0) {
		char msg[320];

		snprintf(msg, sizeof(msg), "image %s", err);
		free(name);
		return resp_error_json(req, 400, "bad_request", msg, NULL);
	}
	snprintf(key, sizeof(key), "uploads/%llu/%s.png",
		(unsigned long long)req->auth->user_id, img.sha256);
	st = storage_open(&req->app->cfg);
	if (st == NULL || storage_put(st, key, img.png, img.png_len, err,
	    sizeof(err)) != 0) {
		log_error("comfyui: upload: %s", st ? err : "no memory");
		rc = resp_error_json(req, 503, "unavailable", "the image "
			"could not be stored", NULL);
		goto out;
	}
	/* The name: the file's, or the first "x (n).ext" that is free or
	 * already holds this very image. */
	try = xstrdup(name);
	for (n = 1; n < 1000; n++) {
		p[0] = DB_INT(req->auth->user_id);
		p[1] = DB_STR(try);
		free(have);
		have = NULL;
		if (db_query_string(req->app->db, "SELECT sha256 FROM"
		    " comfy_uploads WHERE user_id = ? AND name = ?", p, 2,
		    &have) != 0) {
			rc = api_db_fail(req, "comfyui: upload");
			goto out;
		}
		if (have == NULL || overwrite || !strcmp(have, img.sha256))
			break;
		{
			const char *dot = strrchr(name, '.');
			int stem = dot ? (int)(dot - name) : (int)strlen(name);

			free(try);
			try = xasprintf("%.*s (%d)%s", stem, name, n,
				dot ? dot : "");
		}
	}
	p[0] = DB_INT(req->auth->user_id);
	p[1] = DB_STR(try);
	p[2] = DB_STR(key);
	p[3] = DB_INT(img.w);
	p[4] = DB_INT(img.h);
	p[5] = DB_INT(img.png_len);
	p[6] = DB_STR(img.sha256);
	if (db_exec(req->app->db, "INSERT INTO comfy_uploads (user_id, name,"
	    " path, width, height, bytes, sha256) VALUES (?, ?, ?, ?, ?, ?,"
	    " ?) ON DUPLICATE KEY UPDATE path = VALUES(path), width ="
	    " VALUES(width), height = VALUES(height), bytes = VALUES(bytes),"
	    " sha256 = VALUES(sha256)", p, 7, NULL, NULL) < 0) {
		rc = api_db_fail(req, "comfyui: upload");
		goto out;
	}
	{
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(try));
		json_object_object_add(o, "subfolder",
			json_object_new_string(""));
		json_object_object_add(o, "type",
			json_object_new_string("input"));
		rc = api_send(req, 200, o);
	}
out:
	free(have);
	free(try);
	free(name);
	storage_free(st);
	upload_image_free(&img);
	return rc;
}

/* The names of the caller's uploads, for LoadImage's choices. */
struct names {
	const char *name;	/* the row being read */
	char **v;
	int n, cap;
};

static const struct db_field name_fields[] = {
	DB_FIELD(struct names, name, DBF_STR, "name"),
};

static int
name_row(void *rec, void *arg)
{
	struct names *l = arg;

	(void)rec;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = xrealloc(l->v, (size_t)l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = xstrdup(l->name);
	return 0;
}

/* Every list object_info's combos take. Returns 0 or -1 (db). */
struct all_lists {
	struct comfy_lists l;
	char **ckpt, **cn;
	int nckpt, ncn;
	struct extra_info *lora, *up;
	int nlora, nup;
	const char **lora_names, **up_names;
	struct names images;
};

static void
lists_free(struct all_lists *a)
{
	int i;

	models_list_free(a->ckpt, a->nckpt);
	models_list_free(a->cn, a->ncn);
	extras_free(a->lora, a->nlora);
	extras_free(a->up, a->nup);
	free(a->lora_names);
	free(a->up_names);
	for (i = 0; i < a->images.n; i++)
		free(a->images.v[i]);
	free(a->images.v);
}

/* The usable ones of x by name (pointing into x). */
static const char **
usable(struct extra_info *x, int n, int *count)
{
	const char **v = xrealloc(NULL, (size_t)(n > 0 ? n : 1) *
		sizeof(*v));
	int i;

	*count = 0;
	for (i = 0; i < n; i++)
		if (x[i].error == NULL)
			v[(*count)++] = x[i].name;
	return v;
}

static int
lists_load(struct kreq *req, struct all_lists *a)
{
	const struct kiln_config *c = &req->app->cfg;
	struct db_param p = DB_INT(req->auth->user_id);

	memset(a, 0, sizeof(*a));
	a->nckpt = models_list(c->models_dir, &a->ckpt);
	if (a->nckpt < 0)
		a->nckpt = 0;
	a->ncn = controlnets_list(c->controlnets_dir, &a->cn);
	if (a->ncn < 0)
		a->ncn = 0;
	a->nlora = extras_list(c->loras_dir, EXTRA_LORA, &a->lora);
	if (a->nlora < 0)
		a->nlora = 0;
	a->nup = extras_list(c->upscalers_dir, EXTRA_UPSCALER, &a->up);
	if (a->nup < 0)
		a->nup = 0;
	a->lora_names = usable(a->lora, a->nlora, &a->l.nloras);
	a->up_names = usable(a->up, a->nup, &a->l.nupscalers);
	a->l.checkpoints = (const char *const *)a->ckpt;
	a->l.ncheckpoints = a->nckpt;
	a->l.controlnets = (const char *const *)a->cn;
	a->l.ncontrolnets = a->ncn;
	a->l.loras = a->lora_names;
	a->l.upscalers = a->up_names;
	if (db_query_into(req->app->db, "SELECT name FROM comfy_uploads"
	    " WHERE user_id = ? ORDER BY name LIMIT 1000", &p, 1,
	    name_fields, DB_NFIELDS(name_fields), &a->images, name_row,
	    &a->images) < 0)
		return -1;
	a->l.images = (const char *const *)a->images.v;
	a->l.nimages = a->images.n;
	return 0;
}

int
api_comfy_object_info(struct kreq *req)
{
	struct all_lists a;
	json_object *o;
	size_t i;
	int one = req->ncaptures > 0;

	if (lists_load(req, &a) != 0) {
		lists_free(&a);
		return api_db_fail(req, "comfyui: object_info");
	}
	o = json_object_new_object();
	for (i = 0; i < comfy_nclasses; i++) {
		if (one && strcmp(req->captures[0], comfy_classes[i]) != 0)
			continue;
		json_object_object_add(o, comfy_classes[i],
			comfy_node_info(comfy_classes[i], &a.l));
	}
	lists_free(&a);
	return api_send(req, 200, o);
}

/* ComfyUI's model folders and what kiln keeps in each. */
static const char *const folders[] = { "checkpoints", "loras",
	"controlnet", "upscale_models", "embeddings" };

int
api_comfy_models(struct kreq *req)
{
	json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < ARRAY_LEN(folders); i++)
		json_object_array_add(a, json_object_new_string(folders[i]));
	return api_send(req, 200, a);
}

static json_object *
names_json(const char *const *v, int n)
{
	json_object *a = json_object_new_array();
	int i;

	for (i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

int
api_comfy_models_folder(struct kreq *req)
{
	const char *f = req->captures[0];
	struct all_lists a;
	json_object *o = NULL;

	if (!strcmp(f, "embeddings"))
		return api_comfy_embeddings(req);
	if (lists_load(req, &a) != 0) {
		lists_free(&a);
		return api_db_fail(req, "comfyui: models");
	}
	if (!strcmp(f, "checkpoints"))
		o = names_json(a.l.checkpoints, a.l.ncheckpoints);
	else if (!strcmp(f, "loras"))
		o = names_json(a.l.loras, a.l.nloras);
	else if (!strcmp(f, "controlnet"))
		o = names_json(a.l.controlnets, a.l.ncontrolnets);
	else if (!strcmp(f, "upscale_models"))
		o = names_json(a.l.upscalers, a.l.nupscalers);
	lists_free(&a);
	if (o == NULL)
		return comfy_404(req);
	return api_send(req, 200, o);
}

int
api_comfy_embeddings(struct kreq *req)
{
	struct extra_info *x = NULL;
	const char **v;
	json_object *a;
	int n, m;

	n = extras_list(req->app->cfg.embeddings_dir, EXTRA_EMBEDDING, &x);
	if (n < 0)
		n = 0;
	v = usable(x, n, &m);
	a = names_json(v, m);
	free(v);
	extras_free(x, n);
	return api_send(req, 200, a);
}

int
api_comfy_system_stats(struct kreq *req)
{
	json_object *o = json_object_new_object(), *sys, *devs, *d;
	struct sysinfo si;
	long long total = 0, free_b = 0;

	if (sysinfo(&si) == 0) {
		total = (long long)si.totalram * si.mem_unit;
		free_b = (long long)si.freeram * si.mem_unit;
	}
	sys = json_object_new_object();
	json_object_object_add(sys, "os", json_object_new_string("posix"));
	json_object_object_add(sys, "ram_total", json_object_new_int64(total));
	json_object_object_add(sys, "ram_free", json_object_new_int64(free_b));
	json_object_object_add(sys, "comfyui_version",
		json_object_new_string("kiln"));
	json_object_object_add(sys, "python_version",
		json_object_new_string(""));
	json_object_object_add(sys, "pytorch_version",
		json_object_new_string(""));
	json_object_object_add(sys, "embedded_python",
		json_object_new_boolean(0));
	json_object_object_add(sys, "argv", json_object_new_array());
	json_object_object_add(o, "system", sys);
	/* The render daemons are elsewhere: one device stands for them. */
	devs = json_object_new_array();
	d = json_object_new_object();
	json_object_object_add(d, "name",
		json_object_new_string("kiln render daemons"));
	json_object_object_add(d, "type", json_object_new_string("opencl"));
	json_object_object_add(d, "index", json_object_new_int(0));
	json_object_object_add(d, "vram_total", json_object_new_int64(0));
	json_object_object_add(d, "vram_free", json_object_new_int64(0));
	json_object_object_add(d, "torch_vram_total", json_object_new_int64(0));
	json_object_object_add(d, "torch_vram_free", json_object_new_int64(0));
	json_object_array_add(devs, d);
	json_object_object_add(o, "devices", devs);
	return api_send(req, 200, o);
}

int
api_comfy_features(struct kreq *req)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "supports_preview_metadata",
		json_object_new_boolean(0));
	json_object_object_add(o, "max_upload_size", json_object_new_int64(
		(int64_t)req->app->cfg.upload_max_mb * 1048576));
	return api_send(req, 200, o);
}
