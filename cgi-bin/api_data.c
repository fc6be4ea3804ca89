/* api_data.c - "your data" over the API: POST /api/v1/account/export
 * asks for an export of everything kiln holds about the key's account,
 * GET /api/v1/account/export says how the latest one stands, and
 * GET /api/v1/account/export/{id} downloads it, once. */
#include "app.h"
#include "auth.h"
#include "dataexport.h"
#include "db.h"
#include "handlers.h"
#include "util.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

/* One export as the API shows it. */
static int
export_row(const struct db_row *r, void *arg)
{
	json_object *o = json_object_new_object();
	size_t i;

	if (o == NULL)
		return 1;
	for (i = 0; i < r->ncols; i++) {
		const char *v = r->cols[i];
		json_object *j = NULL;

		if (v != NULL && (!strcmp(r->names[i], "id") ||
		    !strcmp(r->names[i], "bytes") ||
		    !strcmp(r->names[i], "files")))
			j = json_object_new_int64(strtoll(v, NULL, 10));
		else if (v != NULL)
			j = json_object_new_string(v);
		json_object_object_add(o, r->names[i], j);
	}
	*(json_object **)arg = o;
	return 1;
}

/* The export id of requester (0: the latest) as JSON into *out (NULL:
 * none). Returns 0 or -1. */
static int
export_json(struct kreq *req, unsigned long long id, json_object **out)
{
	struct db_param p[3] = { DB_INT(req->auth->user_id), DB_INT(id),
		DB_INT(id) };
	json_object *url;
	char u[96];
	int64_t eid;

	*out = NULL;
	if (db_query(req->app->db, "SELECT id, status,"
	    " DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%sZ') AS created_at,"
	    " DATE_FORMAT(finished_at, '%Y-%m-%dT%H:%i:%sZ') AS finished_at,"
	    " DATE_FORMAT(expires_at, '%Y-%m-%dT%H:%i:%sZ') AS expires_at,"
	    " bytes, files, sha256, error FROM data_exports"
	    " WHERE requested_by = ? AND user_id = requested_by"
	    " AND (? = 0 OR id = ?) ORDER BY id DESC LIMIT 1", p, 3,
	    export_row, out) < 0)
		return -1;
	if (*out == NULL)
		return 0;
	eid = json_object_get_int64(json_object_object_get(*out, "id"));
	snprintf(u, sizeof(u), "/api/v1/account/export/%lld", (long long)eid);
	url = !strcmp(json_object_get_string(json_object_object_get(*out,
		"status")), "ready") ? json_object_new_string(u) : NULL;
	json_object_object_add(*out, "download_url", url);
	return 0;
}

int
api_export_create(struct kreq *req)
{
	unsigned long long id = export_request(req->app->db,
		req->auth->user_id, req->auth->user_id);
	json_object *o;

	if (id == 0 || export_json(req, id, &o) != 0)
		return api_db_fail(req, "api: export");
	audit(req, "data_export", req->auth->user_id, req->auth->username,
		"export %llu asked for over the API", id);
	resp_header(req, "Location", "/api/v1/account/export");
	return api_send(req, 202, o);
}

int
api_export_status(struct kreq *req)
{
	json_object *o;

	if (export_json(req, 0, &o) != 0)
		return api_db_fail(req, "api: export");
	if (o == NULL)
		return resp_error_json(req, 404, "not_found", "no export was "
			"asked for; POST /api/v1/account/export", NULL);
	return api_send(req, 200, o);
}

int
api_export_download(struct kreq *req)
{
	unsigned long long id = req_id(req, 0);
	unsigned long long subject = 0;
	enum export_take st;
	char disp[96];

	st = id == 0 ? EXPORT_TAKE_NOT_FOUND : export_take(req->app->db,
		&req->app->cfg, id, req->auth->user_id,
		&req->out, &subject);
	switch (st) {
	case EXPORT_TAKE_OK:
		break;
	case EXPORT_TAKE_NOT_FOUND:
		return resp_error_json(req, 404, "not_found", "no such export",
			NULL);
	case EXPORT_TAKE_GONE:
		return resp_error_json(req, 410, "gone", "this export was "
			"downloaded already, expired or failed; ask for a new "
			"one", NULL);
	case EXPORT_TAKE_NOT_READY:
		return resp_error_json(req, 409, "not_ready", "this export "
			"is still being made; GET /api/v1/account/export says "
			"when it is ready", NULL);
	default:
		return api_db_fail(req, "api: export download");
	}
	/* The API downloads only one's own (export_json's filter is for
	 * the status; the take checks the requester). */
	audit(req, "data_export_download", subject,
		req->auth->username, "export %llu downloaded over the API "
		"(%zu bytes)", id, req->out.len);
	snprintf(disp, sizeof(disp), "attachment; filename=\"kiln-export-"
		"%llu.zip\"", id);
	req->status = 200;
	req->ctype = "application/zip";
	resp_header(req, "Content-Disposition", disp);
	resp_header(req, "Cache-Control", "no-store");
	return 0;
}
