/* api_common.c - what more than one api_*.c handler uses: answers (a
 * JSON object, 204, a database failure, scopes as JSON), the submission
 * rate limit and quota refusals, and artifact paths. */
#include "app.h"
#include "db.h"
#include "handlers.h"
#include "log.h"
#include "ratelimit.h"
#include "submit.h"
#include "util.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

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

int
api_submit_allowed(struct kreq *req)
{
	int st = limit_submit(req);

	if (st < 0) {
		api_db_fail(req, "api jobs: rate limit");
		return 0;
	}
	if (st > 0) {
		resp_error_json(req, 429, "rate_limited", "too many jobs "
			"submitted; try again after Retry-After seconds", NULL);
		return 0;
	}
	return 1;
}

int
api_refuse_quota(struct kreq *req, const struct enqueue_refusal *why)
{
	char num[32];

	if (why->retry_after > 0) {
		snprintf(num, sizeof(num), "%ld", why->retry_after);
		resp_header(req, "Retry-After", num);
	}
	return resp_error_json(req, why->status, why->code, why->message,
		NULL);
}

int
api_artifact_path(const struct kreq *req, const char *rel, int thumb,
	char *out, size_t n)
{
	size_t len = strlen(rel);

	if (strstr(rel, "..") != NULL || rel[0] == '/' || len < 5 ||
	    strcmp(rel + len - 4, ".png") != 0)
		return -1;
	if (thumb)
		return snprintf_checked(out, n, "%s/%.*s.thumb.png",
			req->app->cfg.artifacts_dir, (int)(len - 4), rel);
	return snprintf_checked(out, n, "%s/%s", req->app->cfg.artifacts_dir,
		rel);
}
