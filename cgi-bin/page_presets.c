/* page_presets.c - /presets: the scene presets a user sees (the site's
 * and their own) by kind, and a form to make one; /presets/{id}: one
 * preset with its version history, a form that edits it (a new version)
 * and one that deletes it. A site preset's forms are for admins only;
 * another user's preset is 404. */
#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "i18n.h"
#include "manifest.h"
#include "presets.h"
#include "view.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PR_KIND, PR_SLUG, PR_NAME, PR_BODY, PR_SITE };

const struct input preset_inputs[] = {
	[PR_KIND] = { .name = "kind", .type = IN_STR, .flags = IN_BLANK,
	  .max = 16 },
	[PR_SLUG] = { .name = "slug", .type = IN_STR, .flags = IN_BLANK,
	  .max = PRESET_SLUG_MAX },
	[PR_NAME] = { .name = "name", .type = IN_STR,
	  .flags = IN_BLANK | IN_TEXT, .max = PRESET_NAME_MAX },
	[PR_BODY] = { .name = "body", .type = IN_STR,
	  .flags = IN_BLANK | IN_TEXT | IN_LINES, .max = 8192 },
	[PR_SITE] = { .name = "site", .type = IN_BOOL },
	IN_END,
};

static int
list(struct kreq *req, int status)
{
	struct db_param p[1] = { DB_INT(req->auth->user_id) };
	long n;

	n = view_rows(req, "Presets", "SELECT p.id AS Id,"
		" CAST(p.kind AS CHAR) AS Kind, p.slug AS Slug, p.name AS Name,"
		" p.version AS Version, (p.owner_id IS NULL) AS Site,"
		" p.body AS Body FROM presets p WHERE p.deleted_at IS NULL AND"
		" (p.owner_id IS NULL OR p.owner_id = ?) AND p.version ="
		" (SELECT MAX(q.version) FROM presets q WHERE q.kind = p.kind"
		" AND q.owner_key = p.owner_key AND q.slug = p.slug)"
		" ORDER BY p.kind, p.owner_key, p.slug", p, 1);
	if (n < 0)
		return view_db_fail(req, "presets: list");
	if (req->auth->is_admin)
		view_set(req, "Presets.Admin", "1");
	return view_render(req, status, "Presets", "presets.cs");
}

int
page_presets(struct kreq *req)
{
	return list(req, 200);
}

static void
field_error(void *arg, const char *field, const char *msg)
{
	view_field_error(arg, field, view_tr(arg, msg));
}

/* preset_fields_check on the form, its formatted messages (the body's,
 * manifest.c's TR) in the page's language. */
static int
fields_check(struct kreq *req, const char *kind, const char *slug,
	const char *body, int *kind_io)
{
	int rc;

	i18n_msg_lang(view_lang(req));
	rc = preset_fields_check(kind, slug, in_str(req, PR_NAME), body,
		kind_io, field_error, req);
	i18n_msg_lang(NULL);
	return rc;
}

/* The form's values back in their boxes. */
static void
form_again(struct kreq *req)
{
	static const char *const keys[] = { "Form.kind", "Form.slug",
		"Form.name", "Form.body" };
	size_t i;

	for (i = 0; i < 4; i++)
		if (in_sent(req, i) != NULL)
			view_set(req, keys[i], in_sent(req, i));
}

/* The body box as stored JSON text: re-serialised, so what is kept is
 * one canonical form. NULL when it does not read (the check says why). */
static char *
body_text(const char *box)
{
	json_object *o = box ? json_tokener_parse(box) : NULL;
	char *t = NULL;

	if (o != NULL && json_object_is_type(o, json_type_object))
		t = xstrdup(json_object_to_json_string_ext(o,
			JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return t;
}

int
page_presets_post(struct kreq *req)
{
	struct preset_lineage l;
	unsigned long long id = 0;
	char url[64], *text;
	int kind = -1, site = in_long(req, PR_SITE) != 0, st;

	text = body_text(in_str(req, PR_BODY));
	if (fields_check(req, in_str(req, PR_KIND) ? in_str(req, PR_KIND) :
	    "", in_str(req, PR_SLUG) ? in_str(req, PR_SLUG) : "", text ?
	    text : in_str(req, PR_BODY) ? "x" : NULL, &kind) != 0 || (site &&
	    !req->auth->is_admin)) {
		if (site && !req->auth->is_admin)
			view_field_error(req, "site", view_tr(req, "only "
				"admins make site presets"));
		free(text);
		form_again(req);
		return list(req, 422);
	}
	memset(&l, 0, sizeof(l));
	l.kind = kind;
	l.owner = site ? 0 : req->auth->user_id;
	snprintf(l.slug, sizeof(l.slug), "%s", in_str(req, PR_SLUG));
	st = preset_put(req->app->db, &l, 1, in_str(req, PR_NAME), text,
		req->auth->user_id, &id);
	free(text);
	if (st < 0)
		return view_db_fail(req, "presets: create");
	if (st == 0) {
		view_field_error(req, "slug", view_tr(req, "a preset of that "
			"kind and slug exists: edit it for a new version"));
		form_again(req);
		return list(req, 409);
	}
	snprintf(url, sizeof(url), "/presets/%llu", id);
	return resp_redirect(req, url);
}

/* The route's preset when the user sees it; 0 after answering 404. */
static int
found(struct kreq *req, struct preset_lineage *l)
{
	int st = preset_lineage_of(req->app->db, req_id(req, 0),
		req->auth->user_id, l);

	if (st < 0) {
		view_db_fail(req, "presets: find");
		return 0;
	}
	if (st == 0) {
		view_error(req, 404, "not_found", "No such preset.");
		return 0;
	}
	return 1;
}

static int
one(struct kreq *req, const struct preset_lineage *l, int status)
{
	struct db_param p[3] = { DB_STR(preset_kinds[l->kind]),
		DB_INT(l->owner), DB_STR(l->slug) };
	long n;

	n = view_rows(req, "Versions", "SELECT id AS Id, version AS Version,"
		" name AS Name, body AS Body, DATE_FORMAT(created_at,"
		" '%Y-%m-%d %H:%i') AS Created FROM presets WHERE kind = ? AND"
		" owner_key = ? AND slug = ? AND deleted_at IS NULL ORDER BY"
		" version DESC", p, 3);
	if (n < 0)
		return view_db_fail(req, "presets: versions");
	if (n == 0) {
		view_error(req, 404, "not_found", "No such preset.");
		return -1;
	}
	view_set(req, "Preset.Kind", preset_kinds[l->kind]);
	view_set(req, "Preset.Slug", l->slug);
	view_set(req, "Preset.Id", req->captures[0]);
	if (l->owner == 0)
		view_set(req, "Preset.Site", "1");
	if (l->owner != 0 || req->auth->is_admin)
		view_set(req, "Preset.Editable", "1");
	return view_render(req, status, "Preset", "preset.cs");
}

int
page_preset(struct kreq *req)
{
	struct preset_lineage l;

	if (!found(req, &l))
		return -1;
	return one(req, &l, 200);
}

int
page_preset_post(struct kreq *req)
{
	struct preset_lineage l;
	unsigned long long id = 0;
	char url[64], *text;
	int kind, st;

	if (!found(req, &l))
		return -1;
	if (l.owner == 0 && !req->auth->is_admin) {
		view_error(req, 403, "forbidden", "Site presets are managed by "
			"admins.");
		return -1;
	}
	kind = l.kind;
	text = body_text(in_str(req, PR_BODY));
	if (fields_check(req, NULL, NULL, text ? text : in_str(req, PR_BODY) ?
	    "x" : NULL, &kind) != 0) {
		free(text);
		form_again(req);
		return one(req, &l, 422);
	}
	st = preset_put(req->app->db, &l, 0, in_str(req, PR_NAME), text,
		req->auth->user_id, &id);
	free(text);
	if (st < 0)
		return view_db_fail(req, "presets: edit");
	snprintf(url, sizeof(url), "/presets/%llu", id);
	return resp_redirect(req, url);
}

int
page_preset_delete(struct kreq *req)
{
	struct preset_lineage l;

	if (!found(req, &l))
		return -1;
	if (l.owner == 0 && !req->auth->is_admin) {
		view_error(req, 403, "forbidden", "Site presets are managed by "
			"admins.");
		return -1;
	}
	if (preset_delete(req->app->db, &l) < 0)
		return view_db_fail(req, "presets: delete");
	return resp_redirect(req, "/presets");
}
