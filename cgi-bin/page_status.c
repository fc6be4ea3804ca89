/* page_status.c - /status, the public status page, and
 * /status/feed.atom, its incidents as an Atom 1.0 feed. Both show the
 * document api_status.c serves (status.h), so the page, the JSON and the
 * feed cannot disagree: the page gets it as template data (Status.*),
 * the feed as XML built with xml_escape. */
#include "app.h"
#include "db.h"
#include "handlers.h"
#include "i18n.h"
#include "status.h"
#include "util.h"
#include "view.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

/* Copies j into the template data under prefix: an object's members as
 * prefix.name, an array's items as prefix.0, prefix.1 ...; null is left
 * out. A member named *_at holding an ISO time ("2026-12-07T10:30:00Z")
 * also gets *_at_local, "2026-12-07 10:30", for the localtime()
 * template function. Returns 0 or -1. */
static int
json_to_hdf(struct kreq *req, const char *prefix, json_object *j)
{
	char key[256], local[17];
	size_t i, n;
	int rc = 0;

	if (j == NULL)
		return 0;
	switch (json_object_get_type(j)) {
	case json_type_object: {
		json_object_object_foreach(j, name, v) {
			if (snprintf_checked(key, sizeof(key), "%s.%s", prefix,
			    name) != 0)
				return -1;
			rc |= json_to_hdf(req, key, v);
			if (v != NULL && str_has_suffix(name, "_at") &&
			    json_object_is_type(v, json_type_string) &&
			    strlen(json_object_get_string(v)) >= 16) {
				memcpy(local, json_object_get_string(v), 16);
				local[10] = ' ';
				local[16] = '\0';
				rc |= snprintf_checked(key, sizeof(key),
					"%s.%s_local", prefix, name);
				rc |= view_set(req, key, local);
			}
		}
		return rc ? -1 : 0;
	}
	case json_type_array:
		for (i = 0, n = json_object_array_length(j); i < n; i++) {
			if (snprintf_checked(key, sizeof(key), "%s.%zu",
			    prefix, i) != 0)
				return -1;
			rc |= json_to_hdf(req, key,
				json_object_array_get_idx(j, i));
		}
		return rc ? -1 : 0;
	default:
		return view_set(req, prefix, json_object_get_string(j));
	}
}

static json_object *
status_doc(struct kreq *req)
{
	return db_ensure(req->app->db) == 0 ? status_build(req->app->db,
		req->app->cfg.heartbeat_interval) : NULL;
}

int
page_status(struct kreq *req)
{
	json_object *doc = status_doc(req);
	int rc;

	if (doc == NULL)
		return view_db_fail(req, "status");
	rc = json_to_hdf(req, "Status", doc);
	json_object_put(doc);
	if (rc != 0) {
		view_error(req, 500, "internal", "Out of memory.");
		return -1;
	}
	return view_render(req, 200, N_("Status"), "status.cs");
}

int
page_status_feed(struct kreq *req)
{
	json_object *doc = status_doc(req);
	int rc;

	if (doc == NULL)
		return view_db_fail(req, "status feed");
	buf_reset(&req->out);
	rc = status_atom(&req->out, doc, req->app->cfg.base_url);
	json_object_put(doc);
	if (rc != 0) {
		view_error(req, 500, "internal", "Out of memory.");
		return -1;
	}
	req->status = 200;
	req->ctype = "application/atom+xml; charset=utf-8";
	resp_header(req, "Cache-Control", "public, max-age=60");
	return 0;
}
