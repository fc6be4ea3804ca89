/* page_generate_manifest.c - the generate page's manifest mode: GET
 * /generate/manifest, a scene manifest (JSON) beside what it compiles
 * to; POST /generate/manifest, "preview" shows the compiled prompt,
 * negative prompt and settings (or each error beside the manifest with
 * its JSON path), "submit" makes the job through the ordinary submit
 * path (manifest_apply, then the job checks, credits and queue). */
#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "manifest.h"
#include "presets.h"
#include "ratelimit.h"
#include "submit.h"
#include "view.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { GM_MANIFEST, GM_STEPS, GM_ACTION, GM_LIVE, GM_PRESETS };

static const char *const gm_actions[] = { "preview", "submit", NULL };

const struct input manifest_inputs[] = {
	[GM_MANIFEST] = { .name = "manifest", .type = IN_STR,
	  .flags = IN_BLANK, .max = MANIFEST_MAX_BYTES },
	[GM_STEPS] = { .name = "steps", .type = IN_INT, .flags = IN_BLANK,
	  .min = 1, .max = JOB_STEPS_MAX,
	  .msg = "steps must be a whole number from 1 to 150" },
	[GM_ACTION] = { .name = "action", .type = IN_ENUM, .flags = IN_BLANK,
	  .choices = gm_actions },
	/* Set by generate.js's live preview: a refused manifest is then
	 * answered 200, as the studio's background submit is, since the
	 * browser reports every 4xx to a script as a console error. */
	[GM_LIVE] = { .name = "live", .type = IN_BOOL },
	/* The preset rows a job recorded (its manifest_presets JSON), when
	 * the form was filled from it (?from=ID): the manifest compiles
	 * with them as that job's did. */
	[GM_PRESETS] = { .name = "manifest_presets", .type = IN_STR,
	  .flags = IN_BLANK, .max = MANIFEST_MAX_BYTES },
	IN_END,
};

#define EXAMPLE "{\n  \"subject\": \"a matte black ceramic coffee mug\",\n" \
	"  \"camera\": {\"angle\": \"three-quarter-view\", \"lens\": " \
	"\"85mm-portrait\"},\n  \"lighting\": {\"setup\": \"softbox\"},\n" \
	"  \"materials\": [\"ceramic\"],\n  \"style\": \"e-commerce\"\n}"

static int
show(struct kreq *req, int status)
{
	if (status == 422 && req->inputs == manifest_inputs &&
	    in_long(req, GM_LIVE) == 1)
		status = 200;
	view_set(req, "Page.Scripts.0", "generate.js");
	view_set(req, "Gen.Mode", "manifest");
	return view_render(req, status, "Generate from a manifest",
		"generate.cs");
}

struct from_rec {
	char *manifest, *presets;
};

static const struct db_field from_fields[] = {
	DB_FIELD(struct from_rec, manifest, DBF_DUP, "manifest"),
	DB_FIELD_NULL(struct from_rec, presets, DBF_DUP, "manifest_presets"),
};

/* ?from=ID (and &seed=N): one of the user's manifest jobs, its manifest
 * in the box (with that seed) and the preset rows it recorded beside
 * it, so that it is made again as it was. Returns 1 when the form was
 * filled, 0 when there is no such job, -1 on a db error. */
static int
fill_from(struct kreq *req, long id, const char *seed)
{
	struct db_param p[2] = { DB_INT(id), DB_INT(req->auth->user_id) };
	struct from_rec r;
	json_object *mj;
	long n, sd;

	memset(&r, 0, sizeof(r));
	n = db_query_into(req->app->db, "SELECT manifest, manifest_presets"
		" FROM jobs WHERE id = ? AND user_id = ? AND deleted_at IS"
		" NULL AND manifest IS NOT NULL", p, 2, from_fields,
		DB_NFIELDS(from_fields), &r, NULL, NULL);
	if (n <= 0 || r.manifest == NULL) {
		free(r.manifest);
		free(r.presets);
		return n < 0 ? -1 : 0;
	}
	mj = json_tokener_parse(r.manifest);
	if (mj != NULL && json_object_is_type(mj, json_type_object)) {
		if (seed != NULL && parse_long(seed, 0, (long)JOB_SEED_MAX,
		    &sd) == 0)
			json_object_object_add(mj, "seed",
				json_object_new_int64(sd));
		view_set(req, "Form.manifest", json_object_to_json_string_ext(
			mj, JSON_C_TO_STRING_PRETTY |
			JSON_C_TO_STRING_SPACED));
	} else {
		view_set(req, "Form.manifest", r.manifest);
	}
	json_object_put(mj);
	if (r.presets != NULL)
		view_set(req, "Form.manifest_presets", r.presets);
	free(r.manifest);
	free(r.presets);
	return 1;
}

int
page_generate_manifest(struct kreq *req)
{
	const char *from = req_query(req, "from");
	long id;
	int n = 0;

	if (from != NULL && parse_long(from, 1, 1L << 62, &id) == 0 &&
	    (n = fill_from(req, id, req_query(req, "seed"))) < 0)
		return view_db_fail(req, "generate manifest: from");
	if (n == 0)
		view_set(req, "Form.manifest", EXAMPLE);
	return show(req, 200);
}

/* A problem of the manifest: its path and why, beside the box. */
static void
manifest_error(struct kreq *req, const char *path, const char *err)
{
	char text[400];

	snprintf(text, sizeof(text), "%s: %s", path, view_tr(req, err));
	view_field_error(req, "manifest", text);
	view_set(req, "Compiled.Path", path);
}

static void
form_error(void *arg, const char *field, const char *msg)
{
	char text[1200];

	snprintf(text, sizeof(text), "%s %s", field, view_tr(arg, msg));
	view_field_error(arg, !strcmp(field, "manifest") ||
		!strcmp(field, "manifest_presets") ? "manifest" : "steps",
		text);
}

/* What m compiles to, shown side by side with it. */
static void
show_compiled(struct kreq *req, const struct manifest_out *o)
{
	char key[48], v[96];
	int i;

	view_set(req, "Compiled.Prompt", o->prompt);
	view_set(req, "Compiled.Negative", o->negative);
	if (o->has_size) {
		snprintf(v, sizeof(v), "%ld x %ld", o->width, o->height);
		view_set(req, "Compiled.Size", v);
	}
	if (o->has_seed) {
		snprintf(v, sizeof(v), "%llu", o->seed);
		view_set(req, "Compiled.Seed", v);
	}
	if (o->model != NULL)
		view_set(req, "Compiled.Model", o->model);
	if (o->has_steps)
		view_set_int(req, "Compiled.Steps", o->steps);
	if (o->has_cfg) {
		snprintf(v, sizeof(v), "%g", o->cfg);
		view_set(req, "Compiled.Cfg", v);
	}
	if (o->sampler != NULL)
		view_set(req, "Compiled.Sampler", o->sampler);
	for (i = 0; i < o->nused; i++) {
		snprintf(key, sizeof(key), "Compiled.Presets.%d", i);
		snprintf(v, sizeof(v), "%s/%s@%d%s",
			preset_kinds[o->used[i].kind], o->used[i].slug,
			o->used[i].version, o->used[i].owner ? "" : " (site)");
		view_set(req, key, v);
	}
}

static int
manifest_post(struct kreq *req)
{
	const char *text = in_str(req, GM_MANIFEST);
	const char *action = in_str(req, GM_ACTION);
	const char *pins_text = in_str(req, GM_PRESETS);
	struct manifest *m = NULL;
	struct manifest_out out;
	struct job_spec s;
	struct tier_limits tier;
	struct enqueue_refusal why;
	json_object *body = NULL, *mj, *pins = NULL;
	unsigned long long id = 0;
	char path[64], err[256], url[64], *mt = NULL, *mp = NULL;
	int rc, bad, st;

	memset(&out, 0, sizeof(out));
	memset(&s, 0, sizeof(s));
	if (in_sent(req, GM_MANIFEST) != NULL)
		view_set(req, "Form.manifest", in_sent(req, GM_MANIFEST));
	if (in_sent(req, GM_STEPS) != NULL)
		view_set(req, "Form.steps", in_sent(req, GM_STEPS));
	if (pins_text != NULL && *pins_text)
		view_set(req, "Form.manifest_presets", pins_text);
	if (in_bad(req, GM_STEPS)) {
		view_input_error(req, GM_STEPS);
		return show(req, 422);
	}
	if (text == NULL) {
		manifest_error(req, "$", in_bad(req, GM_MANIFEST) ?
			"is too long" : "is required");
		return show(req, 422);
	}
	if (manifest_parse(text, &m, path, sizeof(path), err,
	    sizeof(err)) != 0) {
		manifest_error(req, path, err);
		return show(req, 422);
	}
	if (in_bad(req, GM_PRESETS) || (pins_text != NULL && *pins_text &&
	    ((pins = json_tokener_parse(pins_text)) == NULL ||
	    manifest_pin(m, pins, err, sizeof(err)) != 0))) {
		view_field_error(req, "manifest", view_tr(req, "The preset "
			"versions this form was filled with do not read."));
		rc = show(req, 422);
		goto out;
	}
	rc = manifest_compile_db(req->app->db, req->auth->user_id, m, &out,
		path, sizeof(path), err, sizeof(err));
	if (rc == -2) {
		rc = view_db_fail(req, "generate manifest: presets");
		goto out;
	}
	if (rc != 0) {
		manifest_error(req, path, err);
		rc = show(req, 422);
		goto out;
	}
	show_compiled(req, &out);
	if (action == NULL || strcmp(action, "submit") != 0) {
		rc = show(req, 200);
		goto out;
	}
	/* Submitted: the manifest goes the API's way into a job. */
	st = limit_submit(req);
	if (st != 0) {
		if (st < 0) {
			rc = view_db_fail(req, "generate manifest: rate limit");
			goto out;
		}
		view_error(req, 429, "rate_limited", "You have submitted many "
			"jobs in a short time. Wait a little and try again.");
		rc = -1;
		goto out;
	}
	tier_of(&req->app->cfg, req->auth->tier, &tier);
	body = json_object_new_object();
	mj = json_tokener_parse(text);
	json_object_object_add(body, "manifest", mj);
	if (pins != NULL)
		json_object_object_add(body, "manifest_presets",
			json_object_get(pins));
	if (in_long(req, GM_STEPS) > 0)
		json_object_object_add(body, "steps",
			json_object_new_int64(in_long(req, GM_STEPS)));
	bad = manifest_apply(req->app->db, req->auth->user_id, body, &mt, &mp,
		form_error, req);
	if (bad < 0) {
		rc = view_db_fail(req, "generate manifest: apply");
		goto out;
	}
	if (bad == 0)
		bad = job_spec_from_json(body, &req->app->cfg, &s, form_error,
			req);
	s.manifest = mt;
	s.manifest_presets = mp;
	if (bad == 0)
		bad = job_spec_limits(&s, &tier, form_error, req);
	if (bad == 0)
		bad = job_spec_model_limits(&s, form_error, req);
	if (bad != 0) {
		rc = show(req, 422);
		goto out;
	}
	st = job_enqueue(req->app->db, req->auth->user_id, &tier, &s, 1, &id,
		&why);
	if (st < 0) {
		rc = view_db_fail(req, "generate manifest: insert");
		goto out;
	}
	if (st > 0) {
		view_set(req, "Form.Error", why.message);
		rc = show(req, why.status);
		goto out;
	}
	snprintf(url, sizeof(url), "/jobs/%llu", id);
	rc = resp_redirect(req, url);
out:
	job_spec_free(&s);
	json_object_put(body);
	json_object_put(pins);
	manifest_out_free(&out);
	manifest_free(m);
	return rc;
}

int
page_generate_manifest_post(struct kreq *req)
{
	int rc;

	job_spec_lang(view_lang(req));
	rc = manifest_post(req);
	job_spec_lang(NULL);
	return rc;
}
