/* api_presets.c - /api/v1/presets: the scene presets a user sees (the
 * site's and their own), one with its versions, making, editing (a new
 * version) and deleting their own (admins: the site's); and
 * /api/v1/manifests/compile, what a manifest compiles to. Another user's
 * preset is 404; a site preset is read-only (403) to a non-admin. */
#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "manifest.h"
#include "presets.h"
#include "util.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

static void
field_error(void *arg, const char *field, const char *msg)
{
	json_object_object_add(arg, field, json_object_new_string(msg));
}

int
api_presets_list(struct kreq *req)
{
	const char *kind = req_query(req, "kind");
	json_object *out, *a;

	if (kind != NULL && preset_kind_parse(kind) < 0) {
		a = json_object_new_object();
		field_error(a, "kind", "must be style, lens, lighting or "
			"material");
		return resp_error_json(req, 400, "validation_failed",
			"bad query; see fields", a);
	}
	a = json_object_new_array();
	if (presets_list_json(req->app->db, req->auth->user_id, kind, a) != 0) {
		json_object_put(a);
		return api_db_fail(req, "api presets: list");
	}
	out = json_object_new_object();
	json_object_object_add(out, "presets", a);
	return api_send(req, 200, out);
}

/* The lineage of the route's {id} the caller sees; 0 after answering
 * (404 or a db error). write: a site preset needs an admin (403). */
static int
lineage(struct kreq *req, int write, struct preset_lineage *l)
{
	int st = preset_lineage_of(req->app->db, req_id(req, 0),
		req->auth->user_id, l);

	if (st < 0) {
		api_db_fail(req, "api presets: find");
		return 0;
	}
	if (st == 0) {
		resp_error_json(req, 404, "not_found", "no such preset", NULL);
		return 0;
	}
	if (write && l->owner == 0 && !req->auth->is_admin) {
		resp_error_json(req, 403, "forbidden", "site presets are "
			"managed by admins", NULL);
		return 0;
	}
	return 1;
}

static int
send_preset(struct kreq *req, const struct preset_lineage *l, int status)
{
	int found;
	json_object *o = preset_json(req->app->db, l, &found);

	if (o == NULL && found < 0)
		return api_db_fail(req, "api presets: read");
	if (o == NULL)
		return resp_error_json(req, 404, "not_found", "no such preset",
			NULL);
	return api_send(req, status, o);
}

int
api_preset_get(struct kreq *req)
{
	struct preset_lineage l;

	if (!lineage(req, 0, &l))
		return -1;
	return send_preset(req, &l, 200);
}

/* The string of body's key, NULL when absent or not a string (noted). */
static const char *
str_field(json_object *body, const char *key, json_object *fields)
{
	json_object *v;

	if (!json_object_object_get_ex(body, key, &v))
		return NULL;
	if (!json_object_is_type(v, json_type_string)) {
		field_error(fields, key, "must be a string");
		return NULL;
	}
	return json_object_get_string(v);
}

/* Reads and checks a preset request body: kind and slug when creating.
 * Returns the body's JSON text (the caller frees it) or NULL after
 * answering 400. */
static char *
preset_request(struct kreq *req, json_object *body, int create, int *kind,
	const char **slug, const char **name, int *site)
{
	static const char *const keys_new[] = { "kind", "slug", "name",
		"body", "site", NULL };
	static const char *const keys_edit[] = { "name", "body", NULL };
	const char *const *keys = create ? keys_new : keys_edit;
	json_object *fields = json_object_new_object(), *b, *v;
	const char *text = NULL;
	size_t i;
	int bad;

	json_object_object_foreach(body, key, val) {
		(void)val;
		for (i = 0; keys[i] != NULL && strcmp(keys[i], key); i++)
			;
		if (keys[i] == NULL)
			field_error(fields, key, "unknown field");
	}
	*site = 0;
	if (create && json_object_object_get_ex(body, "site", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			field_error(fields, "site", "must be true or false");
		*site = json_object_get_boolean(v);
	}
	if (json_object_object_get_ex(body, "body", &b)) {
		if (!json_object_is_type(b, json_type_object))
			field_error(fields, "body", "must be an object: "
				"{\"prompt\": \"...\"}");
		else
			text = json_object_to_json_string_ext(b,
				JSON_C_TO_STRING_PLAIN);
	}
	*name = str_field(body, "name", fields);
	*slug = NULL;
	if (create) {
		const char *k = str_field(body, "kind", fields);

		*slug = str_field(body, "slug", fields);
		/* Absent is "" here, so both are checked (and named). */
		bad = preset_fields_check(k ? k : "", *slug ? *slug : "",
			*name, text, kind, field_error, fields);
	} else {
		bad = preset_fields_check(NULL, NULL, *name, text, kind,
			field_error, fields);
	}
	if (bad || json_object_object_length(fields) > 0) {
		resp_error_json(req, 400, "validation_failed", "the preset is "
			"not valid; see fields", fields);
		return NULL;
	}
	json_object_put(fields);
	return xstrdup(text);
}

int
api_presets_create(struct kreq *req)
{
	json_object *body = NULL;
	struct preset_lineage l;
	const char *slug, *name;
	unsigned long long id = 0;
	char *text;
	int kind = -1, site, st, rc;

	if (req_json_body(req, &body) != 0)
		return -1;
	text = preset_request(req, body, 1, &kind, &slug, &name, &site);
	if (text == NULL) {
		json_object_put(body);
		return -1;
	}
	if (site && !req->auth->is_admin) {
		free(text);
		json_object_put(body);
		return resp_error_json(req, 403, "forbidden", "site presets "
			"are managed by admins", NULL);
	}
	memset(&l, 0, sizeof(l));
	l.kind = kind;
	l.owner = site ? 0 : req->auth->user_id;
	snprintf(l.slug, sizeof(l.slug), "%s", slug);
	st = preset_put(req->app->db, &l, 1, name, text, req->auth->user_id,
		&id);
	free(text);
	json_object_put(body);
	if (st < 0)
		return api_db_fail(req, "api presets: create");
	if (st == 0)
		return resp_error_json(req, 409, "conflict", "a preset of "
			"that kind and slug exists; edit it (PUT) for a new "
			"version", NULL);
	rc = send_preset(req, &l, 201);
	return rc;
}

int
api_preset_update(struct kreq *req)
{
	json_object *body = NULL;
	struct preset_lineage l;
	const char *slug, *name;
	unsigned long long id = 0;
	char *text;
	int kind, site, st;

	if (!lineage(req, 1, &l))
		return -1;
	if (req_json_body(req, &body) != 0)
		return -1;
	kind = l.kind;
	text = preset_request(req, body, 0, &kind, &slug, &name, &site);
	if (text == NULL) {
		json_object_put(body);
		return -1;
	}
	st = preset_put(req->app->db, &l, 0, name, text, req->auth->user_id,
		&id);
	free(text);
	json_object_put(body);
	if (st < 0)
		return api_db_fail(req, "api presets: edit");
	if (st == 0)
		return resp_error_json(req, 404, "not_found", "no such preset",
			NULL);
	return send_preset(req, &l, 200);
}

int
api_preset_delete(struct kreq *req)
{
	struct preset_lineage l;
	int st;

	if (!lineage(req, 1, &l))
		return -1;
	st = preset_delete(req->app->db, &l);
	if (st < 0)
		return api_db_fail(req, "api presets: delete");
	if (st == 0)
		return resp_error_json(req, 404, "not_found", "no such preset",
			NULL);
	return api_no_content(req);
}

/* The compile endpoint's error: the path as a field of its own. */
static int
compile_error(struct kreq *req, const char *path, const char *err)
{
	json_object *fields = json_object_new_object(), *o, *e;
	char msg[400];

	snprintf(msg, sizeof(msg), "%s: %s", path, err);
	field_error(fields, "manifest", msg);
	o = json_object_new_object();
	e = json_object_new_object();
	json_object_object_add(e, "code",
		json_object_new_string("validation_failed"));
	json_object_object_add(e, "message", json_object_new_string(msg));
	json_object_object_add(e, "path", json_object_new_string(path));
	json_object_object_add(e, "fields", fields);
	json_object_object_add(o, "error", e);
	return api_send(req, 400, o);
}

int
api_manifest_compile(struct kreq *req)
{
	json_object *body = NULL, *mj, *pins = NULL, *o, *job;
	struct manifest *m = NULL;
	struct manifest_out out;
	char path[64], err[256];
	int rc;

	memset(&out, 0, sizeof(out));
	if (req_json_body(req, &body) != 0)
		return -1;
	json_object_object_foreach(body, key, val) {
		(void)val;
		if (strcmp(key, "manifest") && strcmp(key, "presets")) {
			json_object_put(body);
			snprintf(path, sizeof(path), "$");
			o = json_object_new_object();
			field_error(o, key, "unknown field");
			return resp_error_json(req, 400, "validation_failed",
				"bad request; see fields", o);
		}
	}
	if (!json_object_object_get_ex(body, "manifest", &mj)) {
		json_object_put(body);
		return compile_error(req, "$", "is required: {\"manifest\": "
			"{...}}");
	}
	json_object_object_get_ex(body, "presets", &pins);
	if (manifest_from_json(mj, &m, path, sizeof(path), err,
	    sizeof(err)) != 0) {
		json_object_put(body);
		return compile_error(req, path, err);
	}
	/* Pinned versions (a job's manifest_presets): as it compiled. */
	if (pins != NULL && manifest_pin(m, pins, err, sizeof(err)) != 0) {
		manifest_free(m);
		json_object_put(body);
		o = json_object_new_object();
		field_error(o, "presets", err);
		return resp_error_json(req, 400, "validation_failed",
			"bad presets; see fields", o);
	}
	rc = manifest_compile_db(req->app->db, req->auth->user_id, m, &out,
		path, sizeof(path), err, sizeof(err));
	if (rc == -2) {
		rc = api_db_fail(req, "api manifests: presets");
		goto out;
	}
	if (rc != 0) {
		rc = compile_error(req, path, err);
		goto out;
	}
	o = json_object_new_object();
	job = manifest_out_job_json(&out);
	json_object_object_add(o, "prompt",
		json_object_new_string(out.prompt));
	json_object_object_add(o, "negative_prompt",
		json_object_new_string(out.negative));
	json_object_object_add(o, "job", job);
	json_object_object_add(o, "presets", manifest_out_presets_json(&out));
	rc = api_send(req, 200, o);
out:
	manifest_out_free(&out);
	manifest_free(m);
	json_object_put(body);
	return rc;
}
