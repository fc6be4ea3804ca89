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
#include "i18n.h"
#include "manifest.h"
#include "presets.h"
#include "ratelimit.h"
#include "submit.h"
#include "view.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The scene form: the manifest's fields one by one, for those who would
 * rather not write JSON. X(field, object, key, kind): the form's field
 * scene_<field> is the manifest's <object>.<key> (object NULL: at the
 * top). */
#define SCENE_FIELDS(X) \
	X(subject, NULL, "subject", MF_TEXT) \
	X(environment, NULL, "environment", MF_TEXT) \
	X(angle, "camera", "angle", MF_TEXT) \
	X(distance, "camera", "distance", MF_TEXT) \
	X(lens, "camera", "lens", MF_TEXT) \
	X(lens_mm, "camera", "lens_mm", MF_NUMBER) \
	X(aperture, "camera", "aperture", MF_NUMBER) \
	X(setup, "lighting", "setup", MF_TEXT) \
	X(time, "lighting", "time_of_day", MF_TEXT) \
	X(kelvin, "lighting", "colour_temperature_k", MF_NUMBER) \
	X(materials, NULL, "materials", MF_LIST) \
	X(style, NULL, "style", MF_TEXT) \
	X(negative, NULL, "negative", MF_TEXT) \
	X(width, "output", "width", MF_NUMBER) \
	X(height, "output", "height", MF_NUMBER) \
	X(seed, NULL, "seed", MF_NUMBER) \
	X(model, NULL, "model", MF_TEXT) \
	X(loras, NULL, "loras", MF_LORAS)

static const struct scene_field {
	const char *name, *obj, *key;
	enum manifest_field kind;
} scene_fields[] = {
#define SCENE_FIELD(f, o, k, t) { "scene_" #f, o, k, t },
	SCENE_FIELDS(SCENE_FIELD)
#undef SCENE_FIELD
};
#define NSCENE (sizeof(scene_fields) / sizeof(scene_fields[0]))

enum { GM_MANIFEST, GM_STEPS, GM_ACTION, GM_LIVE, GM_PRESETS, GM_SCENE0 };

/* preview and submit read the manifest box; scene and scene_submit the
 * scene form, which is written into the box first. */
static const char *const gm_actions[] = { "preview", "submit", "scene",
	"scene_submit", NULL };

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
	/* Their values are the manifest checker's to judge (with the
	 * path, beside the field): here only text of a sane length. */
#define SCENE_MSG N_("must be text of at most 4000 bytes, without control characters")
#define SCENE_INPUT(f, o, k, t) { .name = "scene_" #f, .type = IN_STR, \
	  .flags = IN_BLANK | IN_TEXT, .max = 4 * MANIFEST_NEGATIVE_MAX, \
	  .msg = SCENE_MSG },
	SCENE_FIELDS(SCENE_INPUT)
#undef SCENE_INPUT
	IN_END,
};

#define EXAMPLE "{\n  \"subject\": \"a matte black ceramic coffee mug\",\n" \
	"  \"camera\": {\"angle\": \"three-quarter-view\", \"lens\": " \
	"\"85mm-portrait\"},\n  \"lighting\": {\"setup\": \"softbox\"},\n" \
	"  \"materials\": [\"ceramic\"],\n  \"style\": \"e-commerce\"\n}"

static int scene_choices(struct kreq *req);

static int
show(struct kreq *req, int status)
{
	if (status == 422 && req->inputs == manifest_inputs &&
	    in_long(req, GM_LIVE) == 1)
		status = 200;
	if (scene_choices(req) != 0)
		return view_db_fail(req, "generate manifest: presets");
	view_set(req, "Page.Scripts.0", "generate.js");
	view_set(req, "Gen.Mode", "manifest");
	return view_render(req, status, "Generate from a manifest",
		"generate.cs");
}

/* ------------------------------------------------------ scene form */

/* The manifest the scene form describes, over the one in the box (text):
 * the form's keys are its fields' (a blank field leaves its key out),
 * the others (version, any the checker will refuse) stay as the box had
 * them. */
static json_object *
scene_build(struct kreq *req, const char *text)
{
	json_object *m = text != NULL ? json_tokener_parse(text) : NULL;
	json_object *parent, *o;
	size_t i;

	if (m == NULL || !json_object_is_type(m, json_type_object)) {
		json_object_put(m);
		m = json_object_new_object();
	}
	for (i = 0; i < NSCENE; i++) {
		const struct scene_field *f = &scene_fields[i];
		const char *v = in_str(req, GM_SCENE0 + i);

		parent = m;
		if (f->obj != NULL && (!json_object_object_get_ex(m, f->obj,
		    &parent) || !json_object_is_type(parent,
		    json_type_object))) {
			parent = json_object_new_object();
			json_object_object_add(m, f->obj, parent);
		}
		json_object_object_del(parent, f->key);
		if (v != NULL)
			json_object_object_add(parent, f->key,
			    manifest_field_value(f->kind, v));
	}
	/* An object the form left empty is left out. */
	for (i = 0; i < NSCENE; i++)
		if (scene_fields[i].obj != NULL &&
		    json_object_object_get_ex(m, scene_fields[i].obj, &o) &&
		    json_object_object_length(o) == 0)
			json_object_object_del(m, scene_fields[i].obj);
	return m;
}

/* The scene form filled from manifest m (Scene.<field>); with m NULL
 * (the box holds no JSON object), from what the form sent. */
static void
scene_fill(struct kreq *req, json_object *m)
{
	char key[64];
	size_t i;

	for (i = 0; i < NSCENE; i++) {
		const struct scene_field *f = &scene_fields[i];
		json_object *parent = m, *v = NULL;
		struct buf b = { 0 };

		snprintf(key, sizeof(key), "Scene.%s", f->name);
		if (m == NULL) {
			if (in_sent(req, GM_SCENE0 + i) != NULL)
				view_set(req, key, in_sent(req, GM_SCENE0 + i));
			continue;
		}
		if (f->obj != NULL && !json_object_object_get_ex(m, f->obj,
		    &parent))
			continue;
		if (!json_object_is_type(parent, json_type_object) ||
		    !json_object_object_get_ex(parent, f->key, &v))
			continue;
		if (manifest_field_text(f->kind, v, &b) == 0)
			view_set(req, key, b.data ? b.data : "");
		buf_free(&b);
	}
}

/* scene_fill from the manifest box's text: its manifest when it holds a
 * JSON object, else what the form sent. */
static void
scene_fill_text(struct kreq *req, const char *text)
{
	json_object *m = text != NULL ? json_tokener_parse(text) : NULL;

	scene_fill(req, m != NULL && json_object_is_type(m,
	    json_type_object) ? m : NULL);
	json_object_put(m);
}

/* The scene form's field for an error at path, or NULL. */
static const char *
scene_field_at(const char *path)
{
	char want[96];
	size_t i, n;

	for (i = 0; i < NSCENE; i++) {
		const struct scene_field *f = &scene_fields[i];

		snprintf(want, sizeof(want), "$.%s%s%s", f->obj ? f->obj : "",
		    f->obj ? "." : "", f->key);
		n = strlen(want);
		if (!strncmp(path, want, n) && (path[n] == '\0' ||
		    (f->kind >= MF_LIST && path[n] == '[')))
			return f->name;
	}
	return NULL;
}

/* The choices of the scene form's lists: the angles and distances, and
 * the presets of each kind the user sees (theirs over the site's of the
 * same slug), with the value the form holds added when it is not one of
 * them (a pinned "slug@2", or one since deleted) so that it is kept.
 * Returns 0, or -1 on a db error. */
static int
scene_choices(struct kreq *req)
{
	static const struct {
		const char *kind, *field[2];
	} lists[] = {
		{ "lens", { "scene_lens", NULL } },
		{ "lighting", { "scene_setup", "scene_time" } },
		{ "style", { "scene_style", NULL } },
		{ "material", { NULL, NULL } },
	};
	char key[96];
	size_t i, j;
	long n, k;

	for (i = 0; manifest_camera_angles[i] != NULL; i++) {
		snprintf(key, sizeof(key), "Scene.angles.%zu", i);
		view_set(req, key, manifest_camera_angles[i]);
	}
	for (i = 0; manifest_camera_distances[i] != NULL; i++) {
		snprintf(key, sizeof(key), "Scene.distances.%zu", i);
		view_set(req, key, manifest_camera_distances[i]);
	}
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		struct db_param p[3] = { DB_STR(lists[i].kind),
			DB_INT(req->auth->user_id), DB_INT(req->auth->user_id) };

		snprintf(key, sizeof(key), "Scene.Presets.%s", lists[i].kind);
		n = view_rows(req, key, "SELECT p.slug AS Slug, p.name AS"
		    " Name FROM presets p WHERE p.kind = ? AND"
		    " p.deleted_at IS NULL AND (p.owner_id = ? OR"
		    " (p.owner_id IS NULL AND NOT EXISTS (SELECT 1 FROM"
		    " presets o WHERE o.kind = p.kind AND o.slug = p.slug AND"
		    " o.owner_id = ? AND o.deleted_at IS NULL))) AND"
		    " p.version = (SELECT MAX(q.version) FROM presets q WHERE"
		    " q.kind = p.kind AND q.owner_key = p.owner_key AND"
		    " q.slug = p.slug) ORDER BY p.slug", p, 3);
		if (n < 0)
			return -1;
		for (j = 0; j < 2 && lists[i].field[j] != NULL; j++) {
			const char *v;

			snprintf(key, sizeof(key), "Scene.%s",
			    lists[i].field[j]);
			v = view_get(req, key);
			if (v == NULL || *v == '\0')
				continue;
			for (k = 0; k < n; k++) {
				const char *have;

				snprintf(key, sizeof(key), "Scene.Presets.%s."
				    "%ld.Slug", lists[i].kind, k);
				have = view_get(req, key);
				if (have != NULL && !strcmp(have, v))
					break;
			}
			if (k < n)
				continue;
			snprintf(key, sizeof(key), "Scene.Presets.%s.%ld.Slug",
			    lists[i].kind, n);
			view_set(req, key, v);
			snprintf(key, sizeof(key), "Scene.Presets.%s.%ld.Name",
			    lists[i].kind, n++);
			view_set(req, key, v);
		}
	}
	return 0;
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
	scene_fill_text(req, view_get(req, "Form.manifest"));
	return show(req, 200);
}

/* A problem of the manifest: its path and why, beside the box. */
static void
manifest_error(struct kreq *req, const char *path, const char *err)
{
	const char *field = scene_field_at(path);
	char text[400];

	snprintf(text, sizeof(text), "%s: %s", path, view_tr(req, err));
	view_field_error(req, "manifest", text);
	/* The same problem beside the scene form's field that made it. */
	if (field != NULL)
		view_field_error(req, field, view_tr(req, err));
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
	char *scene_text = NULL;
	size_t i;
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
	for (i = 0, bad = 0; i < NSCENE; i++)
		if (in_bad(req, GM_SCENE0 + i))
			bad += !view_input_error(req, GM_SCENE0 + i);
	if (in_bad(req, GM_STEPS))
		bad += !view_input_error(req, GM_STEPS);
	if (bad) {
		scene_fill(req, NULL);
		return show(req, 422);
	}
	/* From the scene form: its manifest goes into the box, and on as
	 * if it had been typed there. */
	if (action != NULL && !strncmp(action, "scene", 5)) {
		json_object *built = scene_build(req, text);

		scene_text = xstrdup(json_object_to_json_string_ext(built,
		    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
		    JSON_C_TO_STRING_NOSLASHESCAPE));
		scene_fill(req, built);
		json_object_put(built);
		text = scene_text;
		view_set(req, "Form.manifest", text);
		action = !strcmp(action, "scene_submit") ? "submit" :
		    "preview";
	} else {
		scene_fill_text(req, text);
	}
	if (text == NULL) {
		manifest_error(req, "$", in_bad(req, GM_MANIFEST) ?
			"is too long" : "is required");
		rc = show(req, 422);
		goto out;
	}
	if (manifest_parse(text, &m, path, sizeof(path), err,
	    sizeof(err)) != 0) {
		manifest_error(req, path, err);
		rc = show(req, 422);
		goto out;
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
	free(scene_text);
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
