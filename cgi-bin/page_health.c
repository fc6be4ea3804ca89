/* page_health.c - /healthz (the process answers) and /readyz (the
 * database answers and a render daemon's heartbeat is fresh), for
 * orchestrators and load balancers: 200 or 503 with a small JSON body. */
#include "app.h"
#include "db.h"
#include "fleet.h"
#include "handlers.h"
#include "log.h"

#include <stdio.h>

int
page_healthz(struct kreq *req)
{
	return resp_json_text(req, 200, "{\"status\":\"alive\"}");
}

int
page_readyz(struct kreq *req)
{
	struct kiln_app *app = req->app;
	long online = -1;
	int db_up;
	char body[160];

	db_up = db_ensure(app->db) == 0;
	if (db_up)
		online = fleet_online(app->db, app->cfg.heartbeat_interval);
	if (online < 0) {
		db_up = 0;
		log_warn("readyz: database: %s", db_error(app->db));
	}
	snprintf(body, sizeof(body), "{\"status\":\"%s\",\"database\":%s,"
		"\"daemons_online\":%ld}", db_up && online > 0 ? "ready" :
		"not_ready", db_up ? "true" : "false", online < 0 ? 0 : online);
	return resp_json_text(req, db_up && online > 0 ? 200 : 503, body);
}
