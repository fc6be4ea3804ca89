/* api_sdapi.c - the AUTOMATIC1111-compatible subset under /sdapi/v1, for
 * tools that already speak it: txt2img (which waits for its job and
 * answers with the PNGs in base64), sd-models, loras, embeddings,
 * samplers, options, progress and interrupt. Underneath it is an
 * ordinary kiln job: the same checks, quotas, credits, queue, history
 * and gallery. Fields kiln does not implement are accepted only at the
 * value that means "off", so a request never silently renders something
 * other than it asked for. */
#include "app.h"
#include "auth.h"
#include "config.h"
#include "db.h"
#include "extras.h"
#include "filehash.h"
#include "handlers.h"
#include "jobs.h"
#include "log.h"
#include "models.h"
#include "stheader.h"
#include "submit.h"
#include "util.h"

#include <json-c/json.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How long txt2img waits for its job before answering 504 with the job's
 * id (the job goes on; /api/v1/jobs/{id} follows it). The web servers'
 * own timeouts are set above it (FcgidIOTimeout in the Apache configs). */
#define SDAPI_WAIT_S 300
#define SDAPI_POLL_MS 200

/* kiln's samplers by their AUTOMATIC1111 names; the scheduler "Karras"
 * picks the _karras variant. */
static const struct {
	const char *a1111, *kiln, *karras;
} samplers[] = {
	{ "Euler", "euler", NULL },
	{ "Euler a", "euler_a", NULL },
	{ "Heun", "heun", NULL },
	{ "DDIM", "ddim", NULL },
	{ "DPM++ 2M", "dpmpp_2m", "dpmpp_2m_karras" },
	{ "LCM", "lcm", NULL },
};

/* AUTOMATIC1111 fields kiln has no counterpart for, accepted at the
 * value that turns them off (or with any value where they change
 * nothing kiln makes: saving, what to send back). */
enum off { OFF_FALSE, OFF_EMPTY, OFF_ZERO, OFF_MINUS1_OR_0, OFF_ANY };
static const struct {
	const char *name;
	enum off off;
} inert[] = {
	{ "enable_hr", OFF_FALSE }, { "restore_faces", OFF_FALSE },
	{ "tiling", OFF_FALSE }, { "styles", OFF_EMPTY },
	{ "script_name", OFF_EMPTY }, { "script_args", OFF_EMPTY },
	{ "alwayson_scripts", OFF_EMPTY }, { "subseed_strength", OFF_ZERO },
	{ "subseed", OFF_ANY }, { "seed_resize_from_h", OFF_MINUS1_OR_0 },
	{ "seed_resize_from_w", OFF_MINUS1_OR_0 },
	{ "refiner_checkpoint", OFF_EMPTY },
	/* Only read with enable_hr, which must be off. */
	{ "denoising_strength", OFF_ANY }, { "hr_scale", OFF_ANY },
	{ "hr_upscaler", OFF_ANY }, { "hr_second_pass_steps", OFF_ANY },
	{ "hr_resize_x", OFF_ANY }, { "hr_resize_y", OFF_ANY },
	{ "hr_checkpoint_name", OFF_ANY }, { "hr_sampler_name", OFF_ANY },
	{ "hr_scheduler", OFF_ANY }, { "hr_prompt", OFF_ANY },
	{ "hr_negative_prompt", OFF_ANY }, { "firstphase_width", OFF_ANY },
	{ "firstphase_height", OFF_ANY }, { "refiner_switch_at", OFF_ANY },
	{ "send_images", OFF_ANY }, { "save_images", OFF_ANY },
	{ "do_not_save_samples", OFF_ANY }, { "do_not_save_grid", OFF_ANY },
	{ "override_settings_restore_afterwards", OFF_ANY },
	{ "comments", OFF_ANY }, { "force_task_id", OFF_ANY },
	{ "infotext", OFF_EMPTY },
};

static void
field_error(void *arg, const char *field, const char *msg)
{
	/* kiln's names for the fields the caller named otherwise. */
	static const struct {
		const char *kiln, *a1111;
	} back[] = {
		{ "sampler", "sampler_name" }, { "batch_count", "batch_size" },
		{ "model", "override_settings.sd_model_checkpoint" },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(back); i++)
		if (!strcmp(field, back[i].kiln))
			field = back[i].a1111;
	json_object_object_add(arg, field, json_object_new_string(msg));
}

static int
is_off(json_object *v, enum off off)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return 1;
	case json_type_boolean:
		return off == OFF_ANY || !json_object_get_boolean(v);
	case json_type_string:
		return off == OFF_ANY || json_object_get_string_len(v) == 0;
	case json_type_array:
		return off == OFF_ANY || json_object_array_length(v) == 0;
	case json_type_object:
		return off == OFF_ANY || json_object_object_length(v) == 0;
	case json_type_int:
	case json_type_double: {
		double d = json_object_get_double(v);

		return off == OFF_ANY || (off == OFF_ZERO && d == 0) ||
			(off == OFF_MINUS1_OR_0 && (d == 0 || d == -1));
	}
	}
	return 0;
}

/* The kiln sampler for an AUTOMATIC1111 name (or kiln's own), with the
 * Karras schedule or not, or NULL. */
static const char *
sampler_for(const char *name, int karras)
{
	size_t i, n;

	for (i = 0; i < ARRAY_LEN(samplers); i++) {
		n = strlen(samplers[i].a1111);
		if (!strcmp(name, samplers[i].a1111) ||
		    !strcmp(name, samplers[i].kiln))
			return karras ? samplers[i].karras : samplers[i].kiln;
		/* The older spelling that names the schedule in the name. */
		if (samplers[i].karras != NULL && !strncmp(name,
		    samplers[i].a1111, n) && !strcmp(name + n, " Karras"))
			return samplers[i].karras;
	}
	for (i = 0; i < job_nsamplers; i++)
		if (!karras && !strcmp(name, job_samplers[i]))
			return job_samplers[i];
	return NULL;
}

/* The AUTOMATIC1111 name of a kiln sampler (itself when it has none). */
static const char *
a1111_name(const char *kiln)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(samplers); i++)
		if (!strcmp(kiln, samplers[i].kiln))
			return samplers[i].a1111;
	return kiln;
}

/* override_settings: the model, and nothing else. Returns the number of
 * problems. */
static int
overrides(json_object *val, json_object *o, json_object *fields)
{
	char name[160];
	int bad = 0;

	json_object_object_foreach(val, key, v) {
		if (!strcmp(key, "sd_model_checkpoint")) {
			json_object_object_add(o, "model", json_object_get(v));
			continue;
		}
		snprintf(name, sizeof(name), "override_settings.%s", key);
		field_error(fields, name, "not supported by kiln (only "
			"sd_model_checkpoint)");
		bad++;
	}
	return bad;
}

/* sampler_name (or sampler_index, the key it came as) and scheduler as
 * kiln's "sampler" in o. Returns the number of problems. */
static int
pick_sampler(const char *sampler, const char *key, const char *scheduler,
	json_object *o, json_object *fields)
{
	int karras = scheduler != NULL && !strcmp(scheduler, "Karras");
	const char *s;

	if (scheduler != NULL && *scheduler != '\0' && !karras &&
	    strcmp(scheduler, "Automatic") != 0) {
		field_error(fields, "scheduler", "must be Automatic or Karras");
		return 1;
	}
	if (sampler == NULL) {
		if (!karras)
			return 0;	/* the model's own sampler */
		field_error(fields, "scheduler", "Karras needs sampler_name "
			"DPM++ 2M");
		return 1;
	}
	s = sampler_for(sampler, karras);
	if (s != NULL) {
		json_object_object_add(o, "sampler", json_object_new_string(s));
		return 0;
	}
	if (karras && sampler_for(sampler, 0) != NULL)
		field_error(fields, "scheduler", "Karras goes only with "
			"DPM++ 2M");
	else
		field_error(fields, key, "must be one of Euler, Euler a, Heun, "
			"DDIM, DPM++ 2M, DPM++ 2M Karras, LCM");
	return 1;
}

/*
 * Turns a txt2img body into the body of POST /api/v1/jobs in *out, with
 * every problem reported to fields. Returns the number of problems, or
 * -1 when memory runs out.
 */
static int
translate(json_object *in, json_object *fields, json_object **out)
{
	static const char *const same[] = { "prompt", "negative_prompt",
		"width", "height", "steps", "cfg_scale" };
	json_object *o = json_object_new_object(), *v;
	const char *sampler = NULL, *sampler_key = NULL, *scheduler = NULL;
	long batch = 1, iters = 1;
	int bad = 0;
	size_t k;

	*out = o;
	if (o == NULL)
		return -1;
	json_object_object_foreach(in, key, val) {
		for (k = 0; k < ARRAY_LEN(same); k++)
			if (!strcmp(key, same[k]))
				break;
		if (k < ARRAY_LEN(same)) {
			/* AUTOMATIC1111's fields are optional: null is its
			 * default, and an int field takes 512.0. kiln's own
			 * API is stricter; its clients are not these. */
			if (json_object_is_type(val, json_type_null))
				continue;
			if (k >= 2 && k <= 4 &&		/* width .. steps */
			    json_object_is_type(val, json_type_double) &&
			    json_object_get_double(val) ==
			    floor(json_object_get_double(val)) &&
			    fabs(json_object_get_double(val)) < 1e9) {
				json_object_object_add(o, key,
					json_object_new_int64((int64_t)
					json_object_get_double(val)));
				continue;
			}
			json_object_object_add(o, key, json_object_get(val));
			continue;
		}
		if (!strcmp(key, "seed")) {
			/* -1 or null: a random seed, kiln's default. */
			if (!json_object_is_type(val, json_type_null) &&
			    (!json_object_is_type(val, json_type_int) ||
			    json_object_get_int64(val) != -1))
				json_object_object_add(o, "seed",
					json_object_get(val));
			continue;
		}
		if (!strcmp(key, "sampler_name") ||
		    !strcmp(key, "sampler_index") || !strcmp(key, "scheduler")) {
			if (json_object_is_type(val, json_type_null))
				continue;
			if (!json_object_is_type(val, json_type_string)) {
				field_error(fields, key, "must be a string");
				bad++;
			} else if (!strcmp(key, "scheduler")) {
				scheduler = json_object_get_string(val);
			} else if (sampler == NULL ||
			    !strcmp(key, "sampler_name")) {
				sampler = json_object_get_string(val);
				sampler_key = key;
			}
			continue;
		}
		if (!strcmp(key, "batch_size") || !strcmp(key, "n_iter")) {
			long *dst = key[0] == 'b' ? &batch : &iters;

			if (json_object_is_type(val, json_type_null))
				continue;
			if (!json_object_is_type(val, json_type_int) ||
			    json_object_get_int64(val) < 1 ||
			    json_object_get_int64(val) > BATCH_MAX) {
				field_error(fields, key, "must be a whole "
					"number from 1 to 8");
				bad++;
				continue;
			}
			*dst = (long)json_object_get_int64(val);
			continue;
		}
		if (!strcmp(key, "override_settings")) {
			if (json_object_is_type(val, json_type_null))
				continue;
			if (!json_object_is_type(val, json_type_object)) {
				field_error(fields, key, "must be an object");
				bad++;
				continue;
			}
			bad += overrides(val, o, fields);
			continue;
		}
		for (k = 0; k < ARRAY_LEN(inert); k++)
			if (!strcmp(key, inert[k].name))
				break;
		if (k == ARRAY_LEN(inert)) {
			field_error(fields, key, "unknown field");
			bad++;
		} else if (!is_off(val, inert[k].off)) {
			field_error(fields, key, "not supported by kiln; "
				"leave it out or off");
			bad++;
		}
	}
	bad += pick_sampler(sampler, sampler_key, scheduler, o, fields);
	if (batch * iters > BATCH_MAX) {
		field_error(fields, "batch_size", "batch_size x n_iter must be "
			"at most 8");
		bad++;
	} else if (batch * iters > 1) {
		json_object_object_add(o, "batch_count",
			json_object_new_int64(batch * iters));
	}
	/* No prompt means an empty one to AUTOMATIC1111; kiln needs one,
	 * and says so under the same name. */
	if (!json_object_object_get_ex(o, "prompt", &v))
		json_object_object_add(o, "prompt", json_object_new_string(""));
	return bad;
}

struct img_row {
	json_object *images, *seeds;
	struct kreq *req;
	int failed;
};

/* The file at path (a PNG kilnd wrote, at most 256 MiB) in base64, a
 * fresh string, or NULL. */
static char *
file_base64(const char *path)
{
	struct buf b = { 0 };
	char *b64 = NULL;
	size_t n;

	if (buf_read_file(&b, path, 256UL * 1024 * 1024) == BUF_READ_OK &&
	    b.len > 0) {
		n = sodium_base64_encoded_len(b.len,
			sodium_base64_VARIANT_ORIGINAL);
		/* Checked, as the read into b is: up to a third more than
		 * 256 MiB, sized by the file; NULL fails this answer only. */
		b64 = malloc(n);
		if (b64 != NULL)
			sodium_bin2base64(b64, n, (unsigned char *)b.data,
				b.len, sodium_base64_VARIANT_ORIGINAL);
	}
	buf_free(&b);
	return b64;
}

struct image_rec {
	const char *path;
	long long seed;
};

static const struct db_field image_fields[] = {
	DB_FIELD(struct image_rec, path, DBF_STR, "path"),
	DB_FIELD(struct image_rec, seed, DBF_LLONG, "seed"),
};

/* One image of the finished job: its PNG in base64, its seed. */
static int
image_row(void *rec, void *arg)
{
	const struct image_rec *r = rec;
	struct img_row *ir = arg;
	char path[4096], *b64 = NULL;

	if (api_artifact_path(ir->req, r->path, 0, path,
	    sizeof(path)) == 0)
		b64 = file_base64(path);
	if (b64 == NULL) {
		log_error("sdapi: cannot read %s", r->path);
		ir->failed = 1;
		return 1;
	}
	json_object_array_add(ir->images, json_object_new_string(b64));
	free(b64);
	json_object_array_add(ir->seeds, json_object_new_int64(r->seed));
	return 0;
}

/* AUTOMATIC1111's "info", a JSON text: what was rendered. */
static json_object *
info_of(json_object *job, json_object *seeds)
{
	json_object *o = json_object_new_object(), *v, *prompts, *negs;
	const char *sampler = "";
	size_t i, n = json_object_array_length(seeds);
	static const char *const copy[] = { "prompt", "negative_prompt",
		"width", "height", "steps", "cfg_scale" };

	if (o == NULL)
		return NULL;
	for (i = 0; i < ARRAY_LEN(copy); i++)
		if (json_object_object_get_ex(job, copy[i], &v))
			json_object_object_add(o, copy[i], json_object_get(v));
	if (json_object_object_get_ex(job, "sampler", &v))
		sampler = a1111_name(json_object_get_string(v));
	json_object_object_add(o, "sampler_name",
		json_object_new_string(sampler));
	if (json_object_object_get_ex(job, "model", &v))
		json_object_object_add(o, "sd_model_name", json_object_get(v));
	json_object_object_add(o, "seed", n > 0 ? json_object_get(
		json_object_array_get_idx(seeds, 0)) : NULL);
	json_object_object_add(o, "all_seeds", json_object_get(seeds));
	prompts = json_object_new_array();
	negs = json_object_new_array();
	for (i = 0; i < n; i++) {
		json_object_object_get_ex(job, "prompt", &v);
		json_object_array_add(prompts, json_object_get(v));
		json_object_object_get_ex(job, "negative_prompt", &v);
		json_object_array_add(negs, json_object_get(v));
	}
	json_object_object_add(o, "all_prompts", prompts);
	json_object_object_add(o, "all_negative_prompts", negs);
	json_object_object_add(o, "batch_size", json_object_new_int64(
		(int64_t)n));
	json_object_object_add(o, "n_iter", json_object_new_int(1));
	if (json_object_object_get_ex(job, "id", &v))
		json_object_object_add(o, "kiln_job_id", json_object_get(v));
	return o;
}

/* Sleeps ms milliseconds. */
static void
nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The finished job's answer: its images, the request, the info. */
static int
answer_images(struct kreq *req, unsigned long long id, json_object *params)
{
	struct img_row ir = { NULL, NULL, req, 0 };
	struct image_rec r;
	struct db_param p = DB_INT(id);
	json_object *o = NULL, *job, *info = NULL;
	int found, rc;

	job = job_json(req->app->db, req->app->cfg.base_url, id,
		req->auth->user_id, &found);
	if (job == NULL)
		return found < 0 ? api_db_fail(req, "sdapi: read job") :
			resp_error_json(req, 404, "not_found", "the job was "
			"deleted while it ran", NULL);
	ir.images = json_object_new_array();
	ir.seeds = json_object_new_array();
	if (ir.images == NULL || ir.seeds == NULL) {
		rc = api_send(req, 500, NULL);
		goto out;
	}
	if (db_query_into(req->app->db, "SELECT path, seed FROM job_images"
	    " WHERE job_id = ? ORDER BY idx", &p, 1, image_fields,
	    DB_NFIELDS(image_fields), &r, image_row, &ir) < 0) {
		rc = api_db_fail(req, "sdapi: images");
		goto out;
	}
	if (ir.failed) {
		rc = resp_error_json(req, 500, "internal", "the job's images "
			"could not be read", NULL);
		goto out;
	}
	info = info_of(job, ir.seeds);
	o = json_object_new_object();
	if (info != NULL && o != NULL) {
		json_object_object_add(o, "images",
			json_object_get(ir.images));
		json_object_object_add(o, "parameters",
			json_object_get(params));
		json_object_object_add(o, "info", json_object_new_string(
			json_object_to_json_string_ext(info,
			JSON_C_TO_STRING_PLAIN)));
	} else {
		json_object_put(o);
		o = NULL;
	}
	rc = api_send(req, 200, o);	/* NULL: a 500 */
out:
	json_object_put(info);
	json_object_put(job);
	json_object_put(ir.images);
	json_object_put(ir.seeds);
	return rc;
}

int
api_sdapi_txt2img(struct kreq *req)
{
	struct tier_limits tl, *tier = &tl;
	json_object *body = NULL, *kb = NULL, *fields = NULL;
	struct enqueue_refusal why;
	unsigned long long id = 0;
	struct job_spec s;
	time_t until;
	char msg[160];
	int bad, st, rc;

	memset(&s, 0, sizeof(s));
	tier_of(&req->app->cfg, req->auth->tier, &tl);
	if (!api_submit_allowed(req) || req_json_body(req, &body) != 0)
		return -1;
	fields = json_object_new_object();
	if (fields == NULL)
		goto oom;
	/* Every problem at once: the translation's, then kiln's own checks
	 * of what it made. */
	bad = translate(body, fields, &kb);
	if (bad >= 0) {
		st = job_spec_from_json(kb, &req->app->cfg, &s, field_error,
			fields);
		bad = st < 0 ? -1 : bad + st;
	}
	if (bad < 0)
		goto oom;
	if (bad == 0)
		bad = job_spec_limits(&s, tier, field_error, fields);
	if (bad == 0)
		bad = job_spec_model_limits(&s, field_error, fields);
	if (bad > 0) {
		/* 422, as AUTOMATIC1111's validation answers. */
		rc = resp_error_json(req, 422, "validation_failed", "the "
			"request is not valid; see fields", fields);
		fields = NULL;
		goto out;
	}
	st = job_enqueue(req->app->db, req->auth->user_id, tier, &s, 1, &id,
		&why);
	if (st < 0) {
		rc = api_db_fail(req, "sdapi: enqueue");
		goto out;
	}
	if (st > 0) {
		rc = api_refuse_quota(req, &why);
		goto out;
	}
	/* AUTOMATIC1111 answers when the images exist: wait for the job. */
	until = time(NULL) + SDAPI_WAIT_S;
	for (;;) {
		char *status = NULL;
		int found = job_status_of(req->app->db, id,
			req->auth->user_id, &status);

		if (found < 0) {
			rc = api_db_fail(req, "sdapi: wait");
			goto out;
		}
		if (found == 0) {
			rc = resp_error_json(req, 404, "not_found", "the job "
				"was deleted while it ran", NULL);
			goto out;
		}
		if (!strcmp(status, "succeeded")) {
			free(status);
			rc = answer_images(req, id, body);
			goto out;
		}
		st = !strcmp(status, "failed") ? 1 :
			!strcmp(status, "canceled") ? 2 : 0;
		free(status);
		if (st == 1) {
			/* The render daemon, not this program, failed: 502,
			 * as a gateway answers for its upstream; 500 is kept
			 * for faults of this program. */
			snprintf(msg, sizeof(msg), "the job failed; "
				"GET /api/v1/jobs/%llu says why", id);
			rc = resp_error_json(req, 502, "job_failed", msg, NULL);
			goto out;
		}
		if (st == 2) {
			rc = resp_error_json(req, 409, "canceled", "the job "
				"was canceled (interrupt)", NULL);
			goto out;
		}
		if (time(NULL) >= until) {
			snprintf(msg, sizeof(msg), "the job is still queued "
				"or running; follow it at /api/v1/jobs/%llu", id);
			rc = resp_error_json(req, 504, "still_running", msg,
				NULL);
			goto out;
		}
		nap(SDAPI_POLL_MS);
	}
oom:
	rc = api_send(req, 500, NULL);
out:
	job_spec_free(&s);
	json_object_put(fields);
	json_object_put(kb);
	json_object_put(body);
	return rc;
}

int
api_sdapi_models(struct kreq *req)
{
	json_object *a = json_object_new_array();
	struct hash_row *rows = NULL;
	char **names = NULL, *path;
	struct file_stamp st;
	long nrows;
	int n, i;

	if (a == NULL)
		return api_send(req, 500, NULL);
	n = models_list(req->app->cfg.models_dir, &names);
	/* Hashes as far as kilnd or kiln-admin took them: none is
	 * computed here. */
	nrows = hash_cache_list(req->app->db, "checkpoint", &rows);
	for (i = 0; i < n; i++) {
		json_object *m = json_object_new_object();
		const char *h = NULL;

		path = xasprintf("%s/%s.safetensors", req->app->cfg.models_dir,
			names[i]);
		if (nrows > 0 && file_stamp_of(path, &st) == 0)
			h = hash_rows_find(rows, nrows, names[i], &st);
		free(path);
		/* The title is what override_settings.sd_model_checkpoint
		 * takes back. */
		json_object_object_add(m, "title",
			json_object_new_string(names[i]));
		json_object_object_add(m, "model_name",
			json_object_new_string(names[i]));
		json_object_object_add(m, "hash", h != NULL ?
			json_object_new_string_len(h, HASH_SHORT_MODEL) : NULL);
		json_object_object_add(m, "sha256", h != NULL ?
			json_object_new_string(h) : NULL);
		json_object_object_add(m, "filename",
			json_object_new_string(names[i]));
		json_object_object_add(m, "config", NULL);
		json_object_array_add(a, m);
	}
	free(rows);
	models_list_free(names, n);
	return api_send(req, 200, a);
}

/* A1111's metadata of a network: the __metadata__ strings, those that
 * hold a JSON object (kohya's ss_tag_frequency...) parsed, as its
 * read_metadata_from_safetensors does. */
static json_object *
metadata_json(const struct sth_file *h)
{
	json_object *o = json_object_new_object(), *v;
	size_t i;

	for (i = 0; h != NULL && i < h->nmeta; i++) {
		v = NULL;
		if (h->meta[i].value[0] == '{')
			v = json_tokener_parse(h->meta[i].value);
		if (v == NULL)
			v = json_object_new_string(h->meta[i].value);
		json_object_object_add(o, h->meta[i].key, v);
	}
	return o;
}

/* AUTOMATIC1111's GET /sdapi/v1/loras: name, alias (kohya's
 * ss_output_name, else the name), path and metadata of every usable LoRA.
 * The path is the file's name: kiln shows no server paths. */
int
api_sdapi_loras(struct kreq *req)
{
	json_object *a = json_object_new_array();
	struct extra_info *x = NULL;
	char file[128];
	int n, i;

	if (a == NULL)
		return api_send(req, 500, NULL);
	n = extras_list(req->app->cfg.loras_dir, EXTRA_LORA, &x);
	for (i = 0; i < n; i++) {
		json_object *o;
		const char *alias;

		if (x[i].error != NULL)
			continue;
		alias = sth_meta(x[i].header, "ss_output_name");
		o = json_object_new_object();
		json_object_object_add(o, "name",
			json_object_new_string(x[i].name));
		json_object_object_add(o, "alias", json_object_new_string(
			alias != NULL && *alias ? alias : x[i].name));
		snprintf(file, sizeof(file), "%s.safetensors", x[i].name);
		json_object_object_add(o, "path", json_object_new_string(file));
		json_object_object_add(o, "metadata",
			metadata_json(x[i].header));
		json_object_array_add(a, o);
	}
	extras_free(x, n);
	return api_send(req, 200, a);
}

/* AUTOMATIC1111's GET /sdapi/v1/embeddings: {"loaded": {name: {step,
 * sd_checkpoint, sd_checkpoint_name, shape, vectors}}, "skipped": {...}}.
 * A1111 loads the embeddings whose width fits the model it has loaded
 * and skips the others; kiln has many models, and answers for the
 * default one: an embedding made for another family is skipped (all
 * load when its family is unknown). safetensors embeddings carry no
 * training step or checkpoint: null, as A1111 gives them. */
int
api_sdapi_embeddings(struct kreq *req)
{
	json_object *o = json_object_new_object();
	json_object *loaded = json_object_new_object();
	json_object *skipped = json_object_new_object();
	struct model_card *card = NULL;
	struct extra_info *x = NULL;
	enum sd_family want = SD_UNKNOWN;
	char err[256];
	int n, i;

	if (o == NULL || loaded == NULL || skipped == NULL) {
		json_object_put(o);
		json_object_put(loaded);
		json_object_put(skipped);
		return api_send(req, 500, NULL);
	}
	if (model_card_load(req->app->cfg.models_dir,
	    req->app->cfg.default_model, &card, err, sizeof(err)) == 0)
		want = card->type;
	model_card_free(card);
	n = extras_list(req->app->cfg.embeddings_dir, EXTRA_EMBEDDING, &x);
	for (i = 0; i < n; i++) {
		json_object *e;

		if (x[i].error != NULL)
			continue;
		e = json_object_new_object();
		json_object_object_add(e, "step", NULL);
		json_object_object_add(e, "sd_checkpoint", NULL);
		json_object_object_add(e, "sd_checkpoint_name", NULL);
		json_object_object_add(e, "shape",
			json_object_new_int(x[i].width));
		json_object_object_add(e, "vectors",
			json_object_new_int(x[i].vectors));
		json_object_object_add(want == SD_UNKNOWN ||
			x[i].family == want ? loaded : skipped, x[i].name, e);
	}
	extras_free(x, n);
	json_object_object_add(o, "loaded", loaded);
	json_object_object_add(o, "skipped", skipped);
	return api_send(req, 200, o);
}

int
api_sdapi_samplers(struct kreq *req)
{
	json_object *a = json_object_new_array();
	size_t i;

	if (a == NULL)
		return api_send(req, 500, NULL);
	for (i = 0; i < ARRAY_LEN(samplers); i++) {
		json_object *m = json_object_new_object(), *al;

		json_object_object_add(m, "name",
			json_object_new_string(samplers[i].a1111));
		al = json_object_new_array();
		json_object_array_add(al, json_object_new_string(
			samplers[i].kiln));
		json_object_object_add(m, "aliases", al);
		json_object_object_add(m, "options", json_object_new_object());
		json_object_array_add(a, m);
	}
	return api_send(req, 200, a);
}

int
api_sdapi_options(struct kreq *req)
{
	json_object *o = json_object_new_object();

	if (o == NULL)
		return api_send(req, 500, NULL);
	json_object_object_add(o, "sd_model_checkpoint",
		json_object_new_string(req->app->cfg.default_model));
	json_object_object_add(o, "samples_format",
		json_object_new_string("png"));
	return api_send(req, 200, o);
}

/* The caller's newest unfinished job: id, progress over the whole batch
 * (step of steps_total), steps per image, batch size, eta and preview
 * path. */
struct live {
	unsigned long long id;
	long step, steps_total, steps, batch;
	double eta;
	char *preview;
	int found;
};

static const struct db_field live_fields[] = {
	DB_FIELD(struct live, id, DBF_ULLONG, "id"),
	DB_FIELD(struct live, step, DBF_LONG, "step"),
	DB_FIELD(struct live, steps_total, DBF_LONG, "steps_total"),
	DB_FIELD_NULL(struct live, eta, DBF_DOUBLE, "eta_s"),
	DB_FIELD_NULL(struct live, preview, DBF_DUP, "preview_path"),
	DB_FIELD(struct live, steps, DBF_LONG, "steps"),
	DB_FIELD(struct live, batch, DBF_LONG, "batch_count"),
};

/* Fills l (l->found 0 when there is no such job); the caller frees
 * l->preview. Returns 0, or -1 on a db error (then nothing to free). */
static int
live_job(struct kreq *req, struct live *l)
{
	struct db_param p = DB_INT(req->auth->user_id);
	long n;

	memset(l, 0, sizeof(*l));
	n = db_query_into(req->app->db, "SELECT j.id, j.step,"
	    " j.steps * j.batch_count AS steps_total, j.eta_s,"
	    " j.preview_path, j.steps, j.batch_count FROM jobs j WHERE"
	    " j.user_id = ? AND j.status IN ('queued', 'running') AND"
	    " j.deleted_at IS NULL ORDER BY j.id DESC LIMIT 1", &p, 1,
	    live_fields, DB_NFIELDS(live_fields), l, NULL, NULL);
	if (n < 0) {
		free(l->preview);
		l->preview = NULL;
		return -1;
	}
	l->found = n > 0;
	return 0;
}

int
api_sdapi_progress(struct kreq *req)
{
	const char *skip = req_query(req, "skip_current_image");
	json_object *o = json_object_new_object(), *state;
	struct live l;
	char path[4096], *b64 = NULL;
	long image;

	if (o == NULL)
		return api_send(req, 500, NULL);
	if (live_job(req, &l) != 0) {
		json_object_put(o);
		return api_db_fail(req, "sdapi: progress");
	}
	/* AUTOMATIC1111's state counts steps within the image being made
	 * (sampling_step of sampling_steps) and images as jobs (job_no of
	 * job_count); progress is over the whole batch. */
	image = l.steps > 0 ? l.step / l.steps : 0;
	if (image > 0 && image >= l.batch)
		image = l.batch - 1;
	json_object_object_add(o, "progress", json_object_new_double(
		l.steps_total > 0 ? (double)l.step / (double)l.steps_total :
		0.0));
	json_object_object_add(o, "eta_relative",
		json_object_new_double(l.eta));
	state = json_object_new_object();
	json_object_object_add(state, "skipped",
		json_object_new_boolean(0));
	json_object_object_add(state, "interrupted",
		json_object_new_boolean(0));
	snprintf(path, sizeof(path), "%llu", l.id);
	json_object_object_add(state, "job", json_object_new_string(
		l.found ? path : ""));
	json_object_object_add(state, "job_count",
		json_object_new_int64(l.batch));
	json_object_object_add(state, "job_no", json_object_new_int64(image));
	json_object_object_add(state, "sampling_step",
		json_object_new_int64(l.step - image * l.steps));
	json_object_object_add(state, "sampling_steps",
		json_object_new_int64(l.steps));
	json_object_object_add(o, "state", state);
	/* The live preview, when the daemon has written one. */
	if (l.preview != NULL && !(skip && !strcmp(skip, "true")) &&
	    api_artifact_path(req, l.preview, 0, path, sizeof(path)) == 0)
		b64 = file_base64(path);
	json_object_object_add(o, "current_image", b64 ?
		json_object_new_string(b64) : NULL);
	json_object_object_add(o, "textinfo", NULL);
	free(b64);
	free(l.preview);
	return api_send(req, 200, o);
}

int
api_sdapi_interrupt(struct kreq *req)
{
	struct live l;

	if (live_job(req, &l) != 0)
		return api_db_fail(req, "sdapi: interrupt");
	free(l.preview);
	/* Nothing running is not an error to AUTOMATIC1111 either. */
	if (l.found && job_cancel(req->app->db, l.id,
	    req->auth->user_id) < 0)
		return api_db_fail(req, "sdapi: interrupt");
	return api_send(req, 200, json_object_new_object());
}
