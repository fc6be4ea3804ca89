/* api_health.c - GET /api/v1/health: is the API up, is the database
 * reachable, how many render daemons are online. For load balancers and
 * monitoring: 200 when healthy, 503 when the database is not. */
#include "app.h"
#include "db.h"
#include "fleet.h"
#include "handlers.h"
#include "log.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int
api_health(struct kreq *req)
{
	struct kiln_app *app = req->app;
	json_object *root, *dbo, *err;
	long schema = 0, online = -1;
	double t0 = now_ms();
	int up, status;

	up = db_ensure(app->db) == 0 &&
		db_query_long(app->db, "SELECT COALESCE(MAX(version), 0)"
		" FROM schema_migrations", NULL, 0, &schema) == 0 &&
		(online = fleet_online(app->db,
		app->cfg.heartbeat_interval)) >= 0;

	root = json_object_new_object();
	dbo = json_object_new_object();
	json_object_object_add(root, "status",
		json_object_new_string(up ? "ok" : "unavailable"));
	json_object_object_add(root, "version",
		json_object_new_string(KILN_VERSION));
	json_object_object_add(dbo, "up", json_object_new_boolean(up));
	if (up) {
		json_object_object_add(dbo, "schema_version",
			json_object_new_int64(schema));
		char ms[32];

		/* Two decimals: microseconds are noise here. */
		snprintf(ms, sizeof(ms), "%.2f", now_ms() - t0);
		json_object_object_add(dbo, "latency_ms",
			json_object_new_double_s(strtod(ms, NULL), ms));
	}
	json_object_object_add(root, "database", dbo);
	if (up) {
		json_object *dm = json_object_new_object();

		json_object_object_add(dm, "online",
			json_object_new_int64(online));
		json_object_object_add(root, "daemons", dm);
		status = 200;
	} else {
		/* The connector's message names sockets and hosts: it goes to
		 * the log, the client gets a plain statement. */
		log_warn("health: database unreachable: %s",
			db_error(app->db));
		err = json_object_new_object();
		json_object_object_add(err, "code",
			json_object_new_string("database_unavailable"));
		json_object_object_add(err, "message",
			json_object_new_string("the database is unreachable"));
		json_object_object_add(root, "error", err);
		status = 503;
	}
	resp_json_text(req, status, json_object_to_json_string_ext(root,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return 0;
}
