/* page_generate.c - GET/POST /generate: the form that makes a job, with
 * the model's defaults and example prompts, errors beside their fields;
 * ?from=ID fills it from one of the user's jobs ("use these settings
 * again"), ?prompt= from an example. */
#include "app.h"
#include "auth.h"
#include "db.h"
#include "extras.h"
#include "handlers.h"
#include "log.h"
#include "models.h"
#include "ratelimit.h"
#include "submit.h"
#include "view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
set_field(struct kreq *req, const char *name, const char *value)
{
	char key[64];

	snprintf(key, sizeof(key), "Form.%s", name);
	return view_set(req, key, value);
}

/* The usable LoRAs' names, for the hint beside the LoRAs box. */
static int
set_lora_names(struct kreq *req)
{
	struct extra_info *x = NULL;
	char key[64];
	int n = extras_list(req->app->cfg.loras_dir, EXTRA_LORA, &x), i, k = 0;
	int rc = 0;

	for (i = 0; i < n; i++) {
		if (x[i].error != NULL)
			continue;
		snprintf(key, sizeof(key), "Gen.Loras.%d", k++);
		rc |= view_set(req, key, x[i].name);
	}
	extras_free(x, n);
	return rc;
}

/* Model and sampler menus, the default model's card (NULL: it has none
 * that loads) for the defaults and examples. */
static int
set_choices(struct kreq *req, const struct model_card *card)
{
	const struct kiln_config *c = &req->app->cfg;
	char key[64], **models = NULL;
	int n, i, rc = 0;
	size_t k;

	n = models_list(c->models_dir, &models);
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "Gen.Models.%d", i);
		rc |= view_set(req, key, models[i]);
	}
	models_list_free(models, n);
	rc |= set_lora_names(req);
	for (k = 0; k < job_nsamplers; k++) {
		snprintf(key, sizeof(key), "Gen.Samplers.%zu", k);
		rc |= view_set(req, key, job_samplers[k]);
	}
	if (card == NULL)
		return rc;
	rc |= view_set(req, "Gen.Default.Model", card->name);
	rc |= view_set(req, "Gen.Default.Description", card->description);
	if (card->width > 0) {
		rc |= view_set_int(req, "Gen.Default.width", card->width);
		rc |= view_set_int(req, "Gen.Default.height", card->height);
	}
	if (card->steps > 0)
		rc |= view_set_int(req, "Gen.Default.steps", card->steps);
	if (card->cfg > 0) {
		char cfg[32];

		snprintf(cfg, sizeof(cfg), "%g", card->cfg);
		rc |= view_set(req, "Gen.Default.cfg_scale", cfg);
	}
	if (*card->sampler)
		rc |= view_set(req, "Gen.Default.sampler", card->sampler);
	for (i = 0; i < card->n_examples && i < 12; i++) {
		snprintf(key, sizeof(key), "Gen.Examples.%d", i);
		rc |= view_set(req, key, card->examples[i]);
	}
	return rc;
}

/* The number boxes' bounds: what the caller's tier allows, narrowed by
 * what the chosen model (else the default one, dflt) can render, so the
 * form offers nothing the submission would refuse. */
static int
set_limits(struct kreq *req, const struct model_card *dflt)
{
	const struct kiln_config *c = &req->app->cfg;
	const struct tier_limits *t = tier_for(c, req->auth->tier);
	const char *name = in_str(req, JOB_IN_MODEL);
	const struct model_card *card = dflt;
	struct model_card *other = NULL;
	long side = t->max_side, steps = t->max_steps, mult = 8, lo;
	char err[256];
	int rc = 0;

	/* Another model than the default: its own card. */
	if (name != NULL && model_name_ok(name) &&
	    strcmp(name, c->default_model) != 0)
		card = model_card_load(c->models_dir, name, &other, err,
		    sizeof(err)) == 0 ? other : NULL;
	if (card != NULL) {
		if (card->max_side > 0 && card->max_side < side)
			side = card->max_side;
		if (card->max_steps > 0 && card->max_steps < steps)
			steps = card->max_steps;
		if (card->multiple > mult)
			mult = card->multiple;
	}
	model_card_free(other);
	if (side > JOB_SIDE_MAX)
		side = JOB_SIDE_MAX;
	if (steps > JOB_STEPS_MAX)
		steps = JOB_STEPS_MAX;
	/* Sides step by the model's multiple from a multiple of it. */
	lo = (JOB_SIDE_MIN + mult - 1) / mult * mult;
	side = side / mult * mult;
	rc |= view_set_int(req, "Gen.Limit.side_min", lo);
	rc |= view_set_int(req, "Gen.Limit.side_max", side < lo ? lo : side);
	rc |= view_set_int(req, "Gen.Limit.side_step", mult);
	rc |= view_set_int(req, "Gen.Limit.steps_max", steps);
	rc |= view_set_int(req, "Gen.Limit.batch_max",
		t->max_batch < BATCH_MAX ? t->max_batch : BATCH_MAX);
	return rc;
}

static int
show(struct kreq *req, int status)
{
	const struct kiln_config *c = &req->app->cfg;
	struct model_card *card = NULL;
	char err[256];
	int rc;

	/* The default model's card, read once for the menus' defaults and
	 * the number boxes' bounds. */
	if (model_card_load(c->models_dir, c->default_model, &card, err,
	    sizeof(err)) != 0)
		log_warn("generate: default model: %s", err);
	rc = set_choices(req, card) | set_limits(req, card);
	model_card_free(card);
	if (rc != 0) {
		view_error(req, 500, "internal", "Out of memory.");
		return -1;
	}
	return view_render(req, status, "Generate", "generate.cs");
}

/* ?from=ID: the parameters of one of the user's own jobs, as the text
 * the form shows; each column is named as its form field. */
struct from_rec {
	const char *v[12];	/* from_fields[i] into v[i] */
};

static const struct db_field from_fields[] = {
	DB_FIELD(struct from_rec, v[0], DBF_STR, "prompt"),
	DB_FIELD(struct from_rec, v[1], DBF_STR, "negative_prompt"),
	DB_FIELD(struct from_rec, v[2], DBF_STR, "model"),
	DB_FIELD(struct from_rec, v[3], DBF_STR, "width"),
	DB_FIELD(struct from_rec, v[4], DBF_STR, "height"),
	DB_FIELD(struct from_rec, v[5], DBF_STR, "steps"),
	DB_FIELD(struct from_rec, v[6], DBF_STR, "cfg_scale"),
	DB_FIELD(struct from_rec, v[7], DBF_STR, "sampler"),
	DB_FIELD(struct from_rec, v[8], DBF_STR, "seed"),
	DB_FIELD(struct from_rec, v[9], DBF_STR, "batch_count"),
	DB_FIELD_NULL(struct from_rec, v[10], DBF_STR, "webhook_url"),
	/* The stored list: its field LoRAs go back into the box as
	 * "name:weight", the prompt's stay in the prompt. */
	DB_FIELD_NULL(struct from_rec, v[11], DBF_STR, "loras"),
};

/* The stored LoRAs that came from the field, as the form's text. */
static void
set_loras(struct kreq *req, const char *stored)
{
	struct job_lora l[JOB_LORAS_MAX];
	struct buf b = { 0 };
	char w[40], u[40];
	int n = 0, i;

	if (stored == NULL || loras_from_text(stored, l, JOB_LORAS_MAX,
	    &n) != 0)
		return;
	for (i = 0; i < n; i++) {
		if (l[i].source != LORA_FROM_FIELD)
			continue;
		lora_weight_text(l[i].weight, w, sizeof(w));
		lora_weight_text(l[i].unet_weight, u, sizeof(u));
		buf_printf(&b, "%s%s:%s", b.len ? ", " : "", l[i].name, w);
		if (l[i].unet_weight != l[i].weight)
			buf_printf(&b, ":%s", u);
	}
	if (b.data != NULL)
		set_field(req, "loras", b.data);
	buf_free(&b);
}

static int
from_job(void *rec, void *arg)
{
	const struct from_rec *r = rec;
	struct kreq *req = arg;
	size_t i;

	for (i = 0; i + 1 < DB_NFIELDS(from_fields); i++)
		set_field(req, from_fields[i].name, r->v[i] ? r->v[i] : "");
	set_loras(req, r->v[11]);
	return 1;
}

int
page_generate(struct kreq *req)
{
	const char *from = req_query(req, "from");
	const char *prompt = req_query(req, "prompt");
	struct db_param p[2];
	struct from_rec r;
	long id;

	if (from != NULL && parse_long(from, 1, 1L << 62, &id) == 0) {
		p[0] = DB_INT(id);
		p[1] = DB_INT(req->auth->user_id);
		if (db_query_into(req->app->db, "SELECT prompt,"
		    " negative_prompt, model, width, height, steps,"
		    " cfg_scale, sampler, seed, batch_count, webhook_url,"
		    " loras FROM jobs WHERE id = ? AND user_id = ?"
		    " AND deleted_at IS NULL", p, 2, from_fields,
		    DB_NFIELDS(from_fields), &r, from_job, req) < 0)
			return view_db_fail(req, "generate: from");
	} else if (prompt != NULL) {
		set_field(req, "prompt", prompt);
	}
	return show(req, 200);
}

/* The form's fields again as they were typed, beside the messages. */
static void
form_again(struct kreq *req)
{
	size_t k;

	for (k = 0; k < JOB_NINPUTS; k++)
		set_field(req, job_inputs[k].name, in_sent(req, k));
}

static void
form_error(void *arg, const char *field, const char *msg)
{
	char text[1200];

	snprintf(text, sizeof(text), "%s %s", field, msg);
	view_field_error(arg, field, text);
}

int
page_generate_post(struct kreq *req)
{
	struct job_spec s;
	struct enqueue_refusal why;
	struct tier_limits tier;
	unsigned long long id = 0;
	char url[64];
	int bad, st;

	tier_of(&req->app->cfg, req->auth->tier, &tier);

	bad = limit_submit(req);
	if (bad < 0)
		return view_db_fail(req, "generate: rate limit");
	if (bad > 0) {
		view_error(req, 429, "rate_limited", "You have submitted many "
			"jobs in a short time. Wait a little and try again.");
		return -1;
	}
	bad = job_spec_from_form(req, &s, form_error, req);
	if (bad == 0)
		bad = job_spec_limits(&s, &tier, form_error, req);
	if (bad == 0)
		bad = job_spec_model_limits(&s, form_error, req);
	if (bad != 0) {
		job_spec_free(&s);
		if (bad < 0) {
			/* No random seed: the kernel's randomness failed. */
			view_error(req, 500, "internal", "The job could not be "
				"prepared; try again shortly.");
			return -1;
		}
		form_again(req);
		return show(req, 422);
	}
	st = job_enqueue(req->app->db, req->auth->user_id, &tier, &s, 1, &id,
		&why);
	job_spec_free(&s);
	if (st < 0)
		return view_db_fail(req, "generate: insert");
	if (st > 0) {
		/* Over a quota or out of credits: the form again, with why. */
		view_set(req, "Form.Error", why.message);
		form_again(req);
		return show(req, why.status);
	}
	snprintf(url, sizeof(url), "/jobs/%llu", id);
	return resp_redirect(req, url);
}
