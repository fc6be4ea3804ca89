/* api_common.c - what every api_*.c handler answers with: a JSON
 * object, 204, a database failure, scopes as JSON. */
#include "app.h"
#include "db.h"
#include "handlers.h"
#include "log.h"

#include <json-c/json.h>

int
api_db_fail(struct kreq *req, const char *where)
{
	log_error("%s: %s", where, db_error(req->app->db));
	return resp_error_json(req, db_is_down(req->app->db) ? 503 : 500,
		"database_unavailable", "the database could not answer; try "
		"again shortly", NULL);
}

json_object *
json_scopes(unsigned scopes)
{
	static const char *const names[] = { "read", "generate", "admin" };
	json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; a != NULL && i < 3; i++)
		if (scopes & (1u << i))
			json_object_array_add(a, json_object_new_string(
				names[i]));
	return a;
}

int
api_send(struct kreq *req, int status, json_object *o)
{
	int rc;

	if (o == NULL)
		return resp_error_json(req, 500, "internal", "out of memory",
			NULL);
	rc = resp_json_text(req, status, json_object_to_json_string_ext(o,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return rc;
}

int
api_no_content(struct kreq *req)
{
	req->status = 204;
	req->ctype = "application/json";
	buf_reset(&req->out);
	return 0;
}
