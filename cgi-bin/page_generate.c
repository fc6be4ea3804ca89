/* page_generate.c - GET/POST /generate: the form that makes a job, with
 * the model's defaults and example prompts, errors beside their fields;
 * ?from=ID fills it from one of the user's jobs ("use these settings
 * again"), ?remix=ID from an image on Explore, ?prompt= from an
 * example. */
#include "app.h"
#include "auth.h"
#include "db.h"
#include "explore.h"
#include "extras.h"
#include "handlers.h"
#include "log.h"
#include "models.h"
#include "ratelimit.h"
#include "submit.h"
#include "view.h"

#include <math.h>
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

/* The label of a model family in the picker. */
static const char *
family_label(enum sd_family f)
{
	switch (f) {
	case SD_1:
		return "SD 1.x";
	case SD_2:
		return "SD 2.x";
	case SD_XL:
		return "SDXL";
	case SD_UNKNOWN:
		break;
	}
	return "";
}

/* The usable extras of kind in dir (LoRAs for the picker and the hint
 * beside the LoRAs box, embeddings for theirs) as prefix.N.name and
 * prefix.N.family. */
static int
set_extras(struct kreq *req, const char *dir, enum extra_kind kind,
	const char *prefix)
{
	struct extra_info *x = NULL;
	char key[64];
	int n = extras_list(dir, kind, &x), i, k = 0;
	int rc = 0;

	for (i = 0; i < n; i++) {
		if (x[i].error != NULL)
			continue;
		snprintf(key, sizeof(key), "%s.%d", prefix, k);
		rc |= view_set(req, key, x[i].name);
		if (x[i].family != SD_UNKNOWN) {
			snprintf(key, sizeof(key), "%s.%d.family", prefix, k);
			rc |= view_set(req, key, family_label(x[i].family));
		}
		k++;
	}
	extras_free(x, n);
	return rc;
}

/* What the size boxes may hold for a model under the caller's tier. */
struct gen_bounds {
	long lo, hi, mult, steps;
};

/* The number boxes' bounds: what the caller's tier allows, narrowed by
 * what the model (card; NULL: none loads) can render, so the form offers
 * nothing the submission would refuse. */
static void
bounds_of(const struct tier_limits *t, const struct model_card *card,
	struct gen_bounds *b)
{
	long side = t->max_side, steps = t->max_steps, mult = 8;

	if (card != NULL) {
		if (card->max_side > 0 && card->max_side < side)
			side = card->max_side;
		if (card->max_steps > 0 && card->max_steps < steps)
			steps = card->max_steps;
		if (card->multiple > mult)
			mult = card->multiple;
	}
	if (side > JOB_SIDE_MAX)
		side = JOB_SIDE_MAX;
	if (steps > JOB_STEPS_MAX)
		steps = JOB_STEPS_MAX;
	/* Sides step by the model's multiple from a multiple of it. */
	b->lo = (JOB_SIDE_MIN + mult - 1) / mult * mult;
	side = side / mult * mult;
	b->hi = side < b->lo ? b->lo : side;
	b->mult = mult;
	b->steps = steps;
}

/* The side a model was trained at: its card's, else its default size's
 * larger side, else Stable Diffusion 1's. */
static long
native_of(const struct model_card *card)
{
	if (card == NULL)
		return 512;
	if (card->native_side > 0)
		return card->native_side;
	if (card->width > 0)
		return card->width > card->height ? card->width : card->height;
	return 512;
}

/* The aspect ratios offered as presets, landscape before portrait. */
static const int preset_ratios[][2] = {
	{ 1, 1 }, { 4, 3 }, { 3, 4 }, { 3, 2 }, { 2, 3 }, { 16, 9 }, { 9, 16 },
};
#define NPRESETS (sizeof(preset_ratios) / sizeof(preset_ratios[0]))

struct preset {
	int a, b;		/* the ratio a:b */
	long w, h;
};

/* The size presets of a model: for each ratio a:b, about native^2
 * pixels (the area the model was trained on, as SDXL's buckets keep
 * it), grown until the shorter side is at least lo and shrunk until the
 * longer is at most hi, then rounded to the multiple. A ratio that comes
 * out as an earlier one's size (a small model has few sizes) is left
 * out. Returns the count in out (NPRESETS at most). */
static int
size_presets(long native, const struct gen_bounds *b, struct preset *out)
{
	int n = 0, j;
	size_t k;

	for (k = 0; k < NPRESETS; k++) {
		double r = (double)preset_ratios[k][0] / preset_ratios[k][1];
		double w = (double)native * sqrt(r), h = (double)native / sqrt(r);
		double lo = w < h ? w : h, hi = w < h ? h : w, f = 1;
		long side[2];
		int i;

		if (lo < (double)b->lo)
			f = (double)b->lo / lo;
		if (hi * f > (double)b->hi)
			f = (double)b->hi / hi;
		side[0] = lround(w * f / (double)b->mult) * b->mult;
		side[1] = lround(h * f / (double)b->mult) * b->mult;
		for (i = 0; i < 2; i++)
			side[i] = side[i] < b->lo ? b->lo : side[i] > b->hi ?
				b->hi : side[i];
		for (j = 0; j < n; j++)
			if (out[j].w == side[0] && out[j].h == side[1])
				break;
		if (j < n)
			continue;
		out[n].a = preset_ratios[k][0];
		out[n].b = preset_ratios[k][1];
		out[n].w = side[0];
		out[n].h = side[1];
		n++;
	}
	return n;
}

/* Seconds of rendering per pixel-step of one image for each model, from
 * the Welford means kilnd keeps per model and size (render_stats),
 * weighted by their counts: Gen.Rate.<model> and Gen.Renders.<model>.
 * A model nothing has been rendered with has none (no estimate). */
struct rate_rec {
	const char *model;
	double rate;
	long n;
};

static const struct db_field rate_fields[] = {
	DB_FIELD(struct rate_rec, model, DBF_STR, "model"),
	DB_FIELD(struct rate_rec, rate, DBF_DOUBLE, "rate"),
	DB_FIELD(struct rate_rec, n, DBF_LONG, "renders"),
};

struct rate_list {
	struct rate_rec r[64];
	char name[64][65];
	int n;
};

static int
rate_row(void *rec, void *arg)
{
	const struct rate_rec *r = rec;
	struct rate_list *l = arg;

	if (l->n == 64 || strlen(r->model) > 64)
		return l->n == 64;
	l->r[l->n] = *r;
	snprintf(l->name[l->n], sizeof(l->name[0]), "%s", r->model);
	l->r[l->n].model = l->name[l->n];
	l->n++;
	return 0;
}

/* The rate of model in l, or 0 with *n 0 when it has none. */
static double
rate_of(const struct rate_list *l, const char *model, long *n)
{
	int i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->r[i].model, model)) {
			*n = l->r[i].n;
			return l->r[i].rate;
		}
	*n = 0;
	return 0;
}

/* One model of the picker, Gen.Models.i: its name, what it is, its
 * native size, the bounds and presets for its sides, its defaults and
 * its render rate, for the menu's labels and the data- attributes the
 * script reads when another model is chosen (sizes: "1:1=64x64 ..."). */
static int
set_model(struct kreq *req, int i, const char *name,
	const struct model_card *card, const struct rate_list *rates)
{
	const struct tier_limits *t = tier_for(&req->app->cfg,
		req->auth->tier);
	struct preset p[NPRESETS];
	struct gen_bounds b;
	struct buf sizes = { 0 };
	char key[96], v[64];
	long native = native_of(card), renders;
	double rate = rate_of(rates, name, &renders);
	int np, k, rc = 0;

	bounds_of(t, card, &b);
	np = size_presets(native, &b, p);
	for (k = 0; k < np; k++)
		buf_printf(&sizes, "%s%d:%d=%ldx%ld", k ? " " : "", p[k].a,
			p[k].b, p[k].w, p[k].h);
#define M(field, val) (snprintf(key, sizeof(key), "Gen.Models.%d.%s", i, \
	field), view_set(req, key, (val)))
#define MI(field, val) (snprintf(key, sizeof(key), "Gen.Models.%d.%s", i, \
	field), view_set_int(req, key, (val)))
	rc |= view_set(req, (snprintf(key, sizeof(key), "Gen.Models.%d", i),
		key), name);
	if (card != NULL && card->type != SD_UNKNOWN)
		rc |= M("type", family_label(card->type));
	rc |= MI("native", native);
	rc |= MI("lo", b.lo);
	rc |= MI("hi", b.hi);
	rc |= MI("mult", b.mult);
	rc |= MI("steps_max", b.steps);
	rc |= MI("w", card && card->width ? card->width : native);
	rc |= MI("h", card && card->height ? card->height : native);
	rc |= MI("steps", card && card->steps ? card->steps : 20);
	rc |= M("sizes", sizes.data ? sizes.data : "");
	if (renders > 0) {
		snprintf(v, sizeof(v), "%.6g", rate);
		rc |= M("rate", v);
		rc |= MI("renders", renders);
	}
#undef M
#undef MI
	buf_free(&sizes);
	return rc;
}


/* A number the form holds (Form.<name>), or dflt when the box is empty
 * or holds no number in [lo, hi]. */
static double
form_num(struct kreq *req, const char *name, double dflt, double lo,
	double hi)
{
	char key[64], *end;
	const char *v;
	double d;

	snprintf(key, sizeof(key), "Form.%s", name);
	v = view_get(req, key);
	if (v == NULL || *v == '\0')
		return dflt;
	d = strtod(v, &end);
	return *end != '\0' || !(d >= lo && d <= hi) ? dflt : d;
}

/* The estimate for the form's values (each empty box at the chosen
 * model's default, as the submission takes it): the credits by
 * job_cost, the rule job_enqueue charges by, and the seconds of
 * rendering at the model's rate (none without one). Gen.Estimate.*. */
static int
set_estimate(struct kreq *req, const struct model_card *card, double rate)
{
	struct job_spec s;
	double work;
	int rc = 0;

	memset(&s, 0, sizeof(s));
	s.width = (long)form_num(req, "width", card && card->width ?
		card->width : native_of(card), JOB_SIDE_MIN, JOB_SIDE_MAX);
	s.height = (long)form_num(req, "height", card && card->height ?
		card->height : native_of(card), JOB_SIDE_MIN, JOB_SIDE_MAX);
	s.steps = (long)form_num(req, "steps", card && card->steps ?
		card->steps : 20, 1, JOB_STEPS_MAX);
	s.batch = (long)form_num(req, "batch_count", 1, 1, BATCH_MAX);
	s.hires_scale = form_num(req, "hires_scale", 0, 1,
		JOB_HIRES_SCALE_MAX);
	if (s.hires_scale <= 1)
		s.hires_scale = 0;
	s.hires_strength = form_num(req, "hires_strength", JOB_HIRES_STRENGTH,
		0, 1);
	s.hires_steps = (long)form_num(req, "hires_steps", 0, 0,
		JOB_STEPS_MAX);
	s.model_multiple = card ? card->multiple : 0;
	rc |= view_set_int(req, "Gen.Estimate.credits", job_cost(&s));
	/* The pixel-steps job_cost counts, for the time. */
	work = (double)s.width * (double)s.height * (double)s.steps;
	if (s.hires_scale > 0)
		work += (double)job_hires_side(&s, s.width) *
			(double)job_hires_side(&s, s.height) *
			floor((double)(s.hires_steps > 0 ? s.hires_steps :
			s.steps) * s.hires_strength);
	if (rate > 0) {
		double secs = rate * work * (double)s.batch;

		if (secs >= 90)
			rc |= view_set_int(req, "Gen.Estimate.min",
				lround(secs / 60));
		else
			rc |= view_set_int(req, "Gen.Estimate.secs",
				secs < 1 ? 1 : lround(secs));
	}
	return rc;
}

/* The user's latest job, for the results panel (the script watches it
 * when it is still queued or running) and the seed's "reuse last". */
struct last_rec {
	unsigned long long id, seed;
	const char *status;
};

static const struct db_field last_fields[] = {
	DB_FIELD(struct last_rec, id, DBF_ULLONG, "id"),
	DB_FIELD(struct last_rec, seed, DBF_ULLONG, "seed"),
	DB_FIELD(struct last_rec, status, DBF_STR, "status"),
};

static int
last_row(void *rec, void *arg)
{
	const struct last_rec *r = rec;
	struct kreq *req = arg;
	char v[24];

	snprintf(v, sizeof(v), "%llu", r->id);
	view_set(req, "Gen.Last.id", v);
	snprintf(v, sizeof(v), "%llu", r->seed);
	view_set(req, "Gen.Last.seed", v);
	view_set(req, "Gen.Last.status", r->status);
	return 1;
}

/* Everything the page shows beside the form's values: the menus (each
 * model with its facts), the bounds and presets of the chosen model
 * (Form.model, else the default), the estimate, the user's credits and
 * latest job. Returns 0, or -1 out of memory. A database failure only
 * costs the estimate's time and the panel. */
static int
set_page(struct kreq *req)
{
	const struct kiln_config *c = &req->app->cfg;
	const struct tier_limits *t = tier_for(c, req->auth->tier);
	const char *chosen = view_get(req, "Form.model");
	struct model_card *card = NULL, *sel = NULL, *dflt = NULL;
	struct rate_list rates;
	struct db_param p[1] = { DB_INT(req->auth->user_id) };
	struct last_rec lr;
	struct preset pr[NPRESETS];
	struct gen_bounds b;
	char key[64], err[256], **models = NULL;
	double rate = 0;
	long credits = 0, renders;
	int n, i, np, rc = 0;
	size_t k;

	memset(&rates, 0, sizeof(rates));
	if (chosen == NULL || *chosen == '\0')
		chosen = c->default_model;
	if (db_query_into(req->app->db, "SELECT model, SUM(n * mean) /"
	    " SUM(n * width * height * steps) AS rate, CAST(SUM(n) AS SIGNED) AS renders"
	    " FROM render_stats WHERE n > 0 GROUP BY model", NULL, 0,
	    rate_fields, DB_NFIELDS(rate_fields), &(struct rate_rec){ 0 },
	    rate_row, &rates) < 0)
		log_warn("generate: render_stats: %s", db_error(req->app->db));
	n = models_list(c->models_dir, &models);
	for (i = 0; i < n; i++) {
		if (model_card_load(c->models_dir, models[i], &card, err,
		    sizeof(err)) != 0)
			card = NULL;
		rc |= set_model(req, i, models[i], card, &rates);
		if (sel == NULL && !strcmp(models[i], chosen)) {
			sel = card;
			rc |= view_set(req, "Gen.Chosen", models[i]);
		} else if (dflt == NULL && !strcmp(models[i],
		    c->default_model)) {
			dflt = card;
		} else {
			model_card_free(card);
		}
	}
	models_list_free(models, n);
	/* A job's model that is gone: the default one is offered. */
	if (sel == NULL && dflt != NULL) {
		sel = dflt;
		dflt = NULL;
		rc |= view_set(req, "Gen.Chosen", c->default_model);
	}
	model_card_free(dflt);
	rc |= view_set(req, "Gen.Default.Model", c->default_model);
	rc |= set_extras(req, c->loras_dir, EXTRA_LORA, "Gen.Loras");
	rc |= set_extras(req, c->embeddings_dir, EXTRA_EMBEDDING,
		"Gen.Embeddings");
	rc |= set_extras(req, c->upscalers_dir, EXTRA_UPSCALER,
		"Gen.Upscalers");
	for (k = 0; k < job_nsamplers; k++) {
		snprintf(key, sizeof(key), "Gen.Samplers.%zu", k);
		rc |= view_set(req, key, job_samplers[k]);
	}

	/* The chosen model's defaults (the boxes' placeholders) and
	 * examples, bounds and presets. */
	if (sel != NULL) {
		rc |= view_set(req, "Gen.Default.Description",
			sel->description);
		if (sel->steps > 0)
			rc |= view_set_int(req, "Gen.Default.steps", sel->steps);
		if (sel->cfg > 0) {
			char cfg[32];

			snprintf(cfg, sizeof(cfg), "%g", sel->cfg);
			rc |= view_set(req, "Gen.Default.cfg_scale", cfg);
		}
		if (*sel->sampler)
			rc |= view_set(req, "Gen.Default.sampler",
				sel->sampler);
		for (i = 0; i < sel->n_examples && i < 12; i++) {
			snprintf(key, sizeof(key), "Gen.Examples.%d", i);
			rc |= view_set(req, key, sel->examples[i]);
		}
	}
	rc |= view_set_int(req, "Gen.Default.width", sel && sel->width ?
		sel->width : native_of(sel));
	rc |= view_set_int(req, "Gen.Default.height", sel && sel->height ?
		sel->height : native_of(sel));
	bounds_of(t, sel, &b);
	rc |= view_set_int(req, "Gen.Limit.side_min", b.lo);
	rc |= view_set_int(req, "Gen.Limit.side_max", b.hi);
	rc |= view_set_int(req, "Gen.Limit.side_step", b.mult);
	rc |= view_set_int(req, "Gen.Limit.steps_max", b.steps);
	rc |= view_set_int(req, "Gen.Limit.batch_max",
		t->max_batch < BATCH_MAX ? t->max_batch : BATCH_MAX);
	np = size_presets(native_of(sel), &b, pr);
	for (i = 0; i < np; i++) {
		char v[48];

		snprintf(key, sizeof(key), "Gen.Presets.%d", i);
		snprintf(v, sizeof(v), "%ldx%ld", pr[i].w, pr[i].h);
		rc |= view_set(req, key, v);
		snprintf(key, sizeof(key), "Gen.Presets.%d.ratio", i);
		snprintf(v, sizeof(v), "%d:%d", pr[i].a, pr[i].b);
		rc |= view_set(req, key, v);
	}
	if (sel != NULL)
		rate = rate_of(&rates, sel->name, &renders);
	rc |= set_estimate(req, sel, rate);
	model_card_free(sel);

	if (db_query_long(req->app->db, "SELECT credits FROM users WHERE"
	    " id = ?", p, 1, &credits) == 0)
		rc |= view_set_int(req, "Gen.Credits", credits);
	if (db_query_into(req->app->db, "SELECT id, seed, status FROM jobs"
	    " WHERE user_id = ? AND deleted_at IS NULL ORDER BY id DESC"
	    " LIMIT 1", p, 1, last_fields, DB_NFIELDS(last_fields), &lr,
	    last_row, req) < 0)
		log_warn("generate: last job: %s", db_error(req->app->db));
	rc |= view_set(req, "Page.Scripts.0", "generate.js");
	return rc != 0 ? -1 : 0;
}

static int
show(struct kreq *req, int status)
{
	struct db_param tp[1] = { DB_INT(req->auth->user_id) };

	/* "For: me / team X": only the teams this user may spend for
	 * (owner or member; a viewer only looks). */
	if (view_rows(req, "Gen.Teams", "SELECT t.id AS Id, t.name AS Name,"
	    " t.credits AS Credits FROM teams t JOIN team_members m ON"
	    " m.team_id = t.id WHERE m.user_id = ? AND m.role IN ('owner',"
	    " 'member') ORDER BY t.name, t.id", tp, 1) < 0)
		return view_db_fail(req, "generate: teams");
	if (set_page(req) != 0) {
		view_error(req, 500, "internal", "Out of memory.");
		return -1;
	}
	/* The image inputs' part (page_generate_inputs.c). */
	if (gen_inputs_view(req) != 0)
		return -1;
	return view_render(req, status, "Generate", "generate.cs");
}

/* ?from=ID: the parameters of one of the user's own jobs, as the text
 * the form shows; each column is named as its form field. */
enum { FROM_LORAS = 15, FROM_N };

struct from_rec {
	const char *v[FROM_N];	/* from_fields[i] into v[i] */
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
	DB_FIELD_NULL(struct from_rec, v[11], DBF_STR, "hires_scale"),
	DB_FIELD_NULL(struct from_rec, v[12], DBF_STR, "hires_strength"),
	DB_FIELD_NULL(struct from_rec, v[13], DBF_STR, "hires_steps"),
	DB_FIELD_NULL(struct from_rec, v[14], DBF_STR, "hires_upscaler"),
	/* The stored list: its field LoRAs go back into the box as
	 * "name:weight", the prompt's stay in the prompt. */
	DB_FIELD_NULL(struct from_rec, v[FROM_LORAS], DBF_STR, "loras"),
};

#define FROM_SQL "SELECT prompt, negative_prompt, model, width, height," \
	" steps, cfg_scale, sampler, seed, batch_count, webhook_url," \
	" hires_scale, hires_strength, hires_steps, hires_upscaler, loras" \
	" FROM jobs"

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

/* How a job fills the form: all of it (?from=), or all but its seed (the
 * last settings, on a plain /generate: the next image should be a new
 * one). */
struct from_arg {
	struct kreq *req;
	int keep_seed;
};

static int
from_job(void *rec, void *arg)
{
	const struct from_rec *r = rec;
	const struct from_arg *a = arg;
	size_t i;

	for (i = 0; i < FROM_LORAS; i++) {
		if (!a->keep_seed && !strcmp(from_fields[i].name, "seed"))
			continue;
		set_field(a->req, from_fields[i].name, r->v[i] ? r->v[i] :
			"");
	}
	set_loras(a->req, r->v[FROM_LORAS]);
	return 1;
}

/* ?remix=ID: a published image's settings for anyone signed in, while
 * Explore shows it (explore.h): its own seed, one image, the prompts only
 * when published with them, never the owner's webhook. */
#define REMIX_SQL "SELECT IF(p.show_prompt, j.prompt, '') AS prompt," \
	" IF(p.show_prompt, j.negative_prompt, '') AS negative_prompt," \
	" j.model, j.width, j.height, j.steps, j.cfg_scale, j.sampler," \
	" i.seed AS seed, 1 AS batch_count, NULL AS webhook_url," \
	" j.hires_scale, j.hires_strength, j.hires_steps, j.hires_upscaler," \
	" j.loras" EXPLORE_FROM " WHERE p.id = ? AND" EXPLORE_VISIBLE

int
page_generate(struct kreq *req)
{
	const char *from = req_query(req, "from");
	const char *remix = req_query(req, "remix");
	const char *prompt = req_query(req, "prompt");
	const char *seed = req_query(req, "seed");
	const char *init = req_query(req, "init");
	struct db_param p[2];
	struct from_rec r;
	struct from_arg a = { req, 1 };
	long id, n, idx;

	p[1] = DB_INT(req->auth->user_id);
	/* ?init=JOBID-IDX ("inpaint this", "use as init image") without a
	 * ?from=: the image's own job gives the settings too, as sending a
	 * picture to img2img does in other studios. Whose image it is, is
	 * checked where the image is taken (gen_inputs_view). */
	if (from == NULL && init != NULL &&
	    job_image_ref_parse(init, &id, &idx) == 0) {
		p[0] = DB_INT(id);
		if (db_query_into(req->app->db, FROM_SQL " WHERE id = ? AND"
		    " user_id = ? AND deleted_at IS NULL", p, 2, from_fields,
		    DB_NFIELDS(from_fields), &r, from_job, &a) < 0)
			return view_db_fail(req, "generate: init settings");
	} else if (from != NULL && parse_long(from, 1, 1L << 62, &id) == 0) {
		char *has = NULL, url[96];

		p[0] = DB_INT(id);
		/* A job made from a scene manifest is made again from it:
		 * the manifest mode, filled with it and its preset rows. */
		if (db_query_string(req->app->db, "SELECT 1 FROM jobs WHERE"
		    " id = ? AND user_id = ? AND deleted_at IS NULL AND"
		    " manifest IS NOT NULL", p, 2, &has) != 0)
			return view_db_fail(req, "generate: from manifest");
		if (has != NULL) {
			free(has);
			if (seed != NULL && parse_long(seed, 0,
			    (long)JOB_SEED_MAX, &n) == 0)
				snprintf(url, sizeof(url), "/generate/manifest"
					"?from=%ld&seed=%ld", id, n);
			else
				snprintf(url, sizeof(url), "/generate/manifest"
					"?from=%ld", id);
			return resp_redirect(req, url);
		}
		if (db_query_into(req->app->db, FROM_SQL " WHERE id = ? AND"
		    " user_id = ? AND deleted_at IS NULL", p, 2, from_fields,
		    DB_NFIELDS(from_fields), &r, from_job, &a) < 0)
			return view_db_fail(req, "generate: from");
	} else if (remix != NULL) {
		n = parse_long(remix, 1, 1L << 62, &id) == 0 ? 1 : 0;
		p[0] = DB_INT(id);
		if (n == 1 && (n = db_query_into(req->app->db, REMIX_SQL, p, 1,
		    from_fields, DB_NFIELDS(from_fields), &r, from_job,
		    &a)) < 0)
			return view_db_fail(req, "generate: remix");
		if (n == 0) {
			view_error(req, 404, "not_found", "No such published "
				"image to remix.");
			return -1;
		}
	} else if (prompt != NULL) {
		set_field(req, "prompt", prompt);
	} else if (req->nquery == 0) {
		/* The last settings: the user's latest job that generated
		 * (an upscale job has no prompt to give back). */
		a.keep_seed = 0;
		if (db_query_into(req->app->db, FROM_SQL " WHERE user_id = ?"
		    " AND kind = 'generate' AND deleted_at IS NULL ORDER BY"
		    " id DESC LIMIT 1", p + 1, 1, from_fields,
		    DB_NFIELDS(from_fields), &r, from_job, &a) < 0)
			return view_db_fail(req, "generate: last settings");
	}
	/* ?from=ID&seed=N: that job's settings with another seed ("use
	 * this seed" on one image of a batch). */
	if (seed != NULL && parse_long(seed, 0, (long)JOB_SEED_MAX, &n) == 0)
		set_field(req, "seed", seed);
	return show(req, 200);
}

/* The form's fields again as they were typed, beside the messages. */
static void
form_again(struct kreq *req)
{
	const char *size = view_get(req, "Form.size");
	char text[24];
	size_t k;

	for (k = 0; k < JOB_NINPUTS; k++)
		set_field(req, job_inputs[k].name, in_sent(req, k));
	/* A preset stood for the boxes (take_size): they show its sides. */
	if (size != NULL && *size) {
		snprintf(text, sizeof(text), "%ld", in_get(req,
			JOB_IN_WIDTH)->n);
		set_field(req, "width", text);
		snprintf(text, sizeof(text), "%ld", in_get(req,
			JOB_IN_HEIGHT)->n);
		set_field(req, "height", text);
	}
}

static void
form_error(void *arg, const char *field, const char *msg)
{
	char text[1200];

	/* submit.c's fixed messages are translated here (tools/i18n_check.py
	 * finds them); its formatted ones come translated (job_spec_lang),
	 * and view_tr leaves them as they are. */
	snprintf(text, sizeof(text), "%s %s", field, view_tr(arg, msg));
	view_field_error(arg, field, text);
}

/* The size preset ("WxH", the menu a form without scripts chooses
 * from; "" or absent: the boxes). */
static const struct input size_input = { .name = "size", .type = IN_STR,
	.flags = IN_TEXT | IN_BLANK, .max = 16 };

/* "For": a team's id, or empty for the user's own credits. Whether the
 * user may make jobs for it is job_enqueue's to say. */
static const struct input team_input = { .name = "team_id",
	.type = IN_INT, .flags = IN_BLANK, .min = 1, .max = 1L << 62,
	.msg = "For: yourself or one of your teams." };

/* The team the form chose (0: none) into *team; -1 when refused. */
static int
take_team(struct kreq *req, unsigned long long *team)
{
	struct in_value v;

	*team = 0;
	if (req_input(req, &team_input, &v) != 0 || v.state != IN_VALID)
		return v.state == IN_REFUSED ? -1 : 0;
	*team = (unsigned long long)v.n;
	return set_field(req, "team_id", v.sent) != 0 ? -1 : 0;
}

/* A chosen preset stands for the width and height boxes, as if typed in
 * them: job_spec_from_form checks it as it checks them. Returns 0, or -1
 * when the size is not "WxH" (reported beside the menu). */
static int
take_size(struct kreq *req)
{
	struct in_value v;
	long w, h;
	char c, text[24];

	if (req_input(req, &size_input, &v) != 0 || v.state != IN_VALID)
		return v.state == IN_REFUSED ? -1 : 0;
	if (sscanf(v.s, "%ld%c%ld%c", &w, &c, &h, &c) != 3 || c != 'x' ||
	    w < JOB_SIDE_MIN || w > JOB_SIDE_MAX || h < JOB_SIDE_MIN ||
	    h > JOB_SIDE_MAX)
		return -1;
	req->in[JOB_IN_WIDTH].state = IN_VALID;
	req->in[JOB_IN_WIDTH].fault = IN_OK;
	req->in[JOB_IN_WIDTH].n = w;
	req->in[JOB_IN_HEIGHT].state = IN_VALID;
	req->in[JOB_IN_HEIGHT].fault = IN_OK;
	req->in[JOB_IN_HEIGHT].n = h;
	snprintf(text, sizeof(text), "%ld", w);
	set_field(req, "width", text);
	snprintf(text, sizeof(text), "%ld", h);
	set_field(req, "height", text);
	return set_field(req, "size", v.s) != 0 ? -1 : 0;
}

/* Set by generate.js on a background submit: a refused form is then
 * answered 200 rather than 422 (or 402, 429), the same page, since the
 * browser reports every 4xx answer to a script as a console error; the
 * script tells a refusal from a job by the missing redirect. */
static const struct input inline_input = { .name = "studio", .type = IN_BOOL,
	.flags = IN_BLANK, .max = 1 };

static int
refused_status(struct kreq *req, int status)
{
	struct in_value v;

	return req_input(req, &inline_input, &v) == 0 &&
		v.state == IN_VALID && v.n == 1 ? 200 : status;
}

static int
generate_post(struct kreq *req)
{
	struct job_spec s;
	struct gen_inputs gi = { { 0 } };
	struct enqueue_refusal why;
	struct tier_limits tier;
	unsigned long long id = 0, team = 0;
	char url[64];
	int bad, st, size_bad, team_bad;

	tier_of(&req->app->cfg, req->auth->tier, &tier);

	bad = limit_submit(req);
	if (bad < 0)
		return view_db_fail(req, "generate: rate limit");
	if (bad > 0) {
		view_error(req, 429, "rate_limited", "You have submitted many "
			"jobs in a short time. Wait a little and try again.");
		return -1;
	}
	size_bad = take_size(req) != 0;
	if (size_bad)
		view_field_error(req, "size", "size must be a preset of the "
			"menu (width x height)");
	team_bad = take_team(req, &team) != 0;
	if (team_bad)
		view_field_error(req, "team_id", team_input.msg);
	/* The image inputs' no-script edge preview shows the form again. */
	if (gen_inputs_preview(req)) {
		form_again(req);
		return show(req, 200);
	}
	/* Every problem in one answer: the tier's and the model's limits
	 * are checked even when a field was already refused (each check
	 * reads only the fields that were taken). job_spec_from_form with
	 * the image inputs' own fields (page_generate_inputs.c). */
	bad = gen_inputs_spec(req, &gi, &s, form_error, req);
	s.team_id = team;
	if (bad >= 0 && s.model != NULL && (!s.upscale || s.upscaler != NULL)) {
		bad += job_spec_limits(&s, &tier, form_error, req);
		bad += job_spec_model_limits(&s, form_error, req);
	}
	if (bad >= 0)
		bad += size_bad + team_bad;
	if (bad != 0) {
		job_spec_free(&s);
		gen_inputs_free(&gi);
		if (bad < 0) {
			/* No random seed: the kernel's randomness failed. */
			view_error(req, 500, "internal", "The job could not be "
				"prepared; try again shortly.");
			return -1;
		}
		form_again(req);
		return show(req, refused_status(req, 422));
	}
	st = job_enqueue(req->app->db, req->auth->user_id, &tier, &s, 1, &id,
		&why);
	job_spec_free(&s);
	gen_inputs_free(&gi);
	if (st < 0)
		return view_db_fail(req, "generate: insert");
	if (st > 0) {
		/* Over a quota or out of credits: the form again, with why. */
		view_set(req, "Form.Error", why.message);
		form_again(req);
		return show(req, refused_status(req, why.status));
	}
	snprintf(url, sizeof(url), "/jobs/%llu", id);
	return resp_redirect(req, url);
}

int
page_generate_post(struct kreq *req)
{
	int rc;

	/* submit.c's formatted messages in the page's language. */
	job_spec_lang(view_lang(req));
	rc = generate_post(req);
	job_spec_lang(NULL);
	return rc;
}
