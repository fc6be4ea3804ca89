/* page_home.c - GET /: the front page, with site status from MariaDB. */
#include "app.h"
#include "db.h"
#include "fleet.h"
#include "handlers.h"
#include "log.h"
#include "models.h"
#include "view.h"

#include <stdio.h>
#include <stdlib.h>

struct daemon_rows {
	struct kreq *req;
	int n;
	int failed;
};

static int
add_daemon(const struct daemon_info *d, void *arg)
{
	struct daemon_rows *dr = arg;
	char key[64];
	int rc = 0;

#define SET(field, v) do { \
	snprintf(key, sizeof(key), "Home.Daemons.%d." field, dr->n); \
	rc |= view_set(dr->req, key, v); \
} while (0)
	SET("Name", d->name);
	SET("Host", d->host);
	SET("State", d->state);
	SET("Devices", d->devices);
	SET("Heartbeat", d->heartbeat);
	SET("Online", d->online ? "1" : "0");
#undef SET
	dr->n++;
	if (rc != 0) {
		dr->failed = 1;
		return 1;
	}
	return 0;
}

/* The default model's card: its name, description and example prompts.
 * A missing or broken one is flagged on the page (an install problem the
 * operator should see) with the details, which name server paths, only in
 * the log. */
static int
add_model(struct kreq *req)
{
	struct kiln_app *app = req->app;
	struct model_card *c = NULL;
	char err[512], key[64];
	int i, rc;

	if (model_card_load(app->cfg.models_dir, app->cfg.default_model, &c,
	    err, sizeof(err)) != 0) {
		log_warn("home: default model: %s", err);
		return view_set(req, "Home.Model.Name", app->cfg.default_model) |
		    view_set(req, "Home.Model.Missing", "1");
	}
	rc = view_set(req, "Home.Model.Name", c->name) |
	    view_set(req, "Home.Model.Description", c->description);
	for (i = 0; i < c->n_examples && i < 8; i++) {
		snprintf(key, sizeof(key), "Home.Model.Examples.%d", i);
		rc |= view_set(req, key, c->examples[i]);
	}
	if (c->width > 0)
		rc |= view_set_int(req, "Home.Model.Width", c->width) |
		    view_set_int(req, "Home.Model.Height", c->height);
	model_card_free(c);
	return rc;
}

int
page_home(struct kreq *req)
{
	struct kiln_app *app = req->app;
	struct daemon_rows dr = { req, 0, 0 };
	char *tagline = NULL, *schema = NULL, *users = NULL;
	int rc = -1;

	if (db_ensure(app->db) != 0) {
		log_warn("home: database unreachable: %s", db_error(app->db));
		view_set(req, "Home.DbDown", "1");
		return view_render(req, 503, "Home", "home.cs");
	}
	if (db_query_string(app->db, "SELECT value FROM settings"
	    " WHERE name = 'site_tagline'", NULL, 0, &tagline) != 0 ||
	    db_query_string(app->db, "SELECT COALESCE(MAX(version), 0)"
	    " FROM schema_migrations", NULL, 0, &schema) != 0 ||
	    db_query_string(app->db, "SELECT COUNT(*) FROM users", NULL, 0,
	    &users) != 0 ||
	    fleet_list(app->db, app->cfg.heartbeat_interval, 50, add_daemon,
	    &dr) < 0) {
		log_error("home: %s", db_error(app->db));
		view_error(req, db_is_down(app->db) ? 503 : 500, "database",
			"The database could not answer; try again shortly.");
		goto out;
	}
	if (dr.failed ||
	    view_set(req, "Home.Tagline", tagline ? tagline : "") != 0 ||
	    view_set(req, "Home.SchemaVersion", schema ? schema : "0") != 0 ||
	    view_set(req, "Home.UserCount", users ? users : "0") != 0 ||
	    view_set_int(req, "Home.DaemonCount", dr.n) != 0 ||
	    add_model(req) != 0) {
		view_error(req, 500, "internal", "Out of memory.");
		goto out;
	}
	rc = view_render(req, 200, "Home", "home.cs");
out:
	free(tagline);
	free(schema);
	free(users);
	return rc;
}
