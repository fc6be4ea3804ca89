/* api_status.c - GET /api/v1/status: the public status document
 * (status.h) as JSON, for anyone: the overall state ("operational",
 * "degraded", "outage", or "maintenance" during a window), the render
 * daemons online as a count (never their names or hosts), the queue,
 * per-model queue wait and render time p50/p95 over the last hour and
 * day, a 90-day history per component, the incidents with their
 * updates, and the maintenance windows not yet over. The same
 * document the /status page shows. */
#include "app.h"
#include "db.h"
#include "handlers.h"
#include "status.h"

#include <json-c/json.h>

int
api_status(struct kreq *req)
{
	struct kiln_app *app = req->app;
	json_object *doc;

	doc = db_ensure(app->db) == 0 ? status_build(app->db,
		app->cfg.heartbeat_interval) : NULL;
	if (doc == NULL)
		return api_db_fail(req, "api status");
	/* Monitors poll this: a short shared cache is fine. */
	resp_header(req, "Cache-Control", "public, max-age=15");
	resp_json_text(req, 200, json_object_to_json_string_ext(doc,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(doc);
	return 0;
}
