/* page_home.c - GET /: the front page, with site status from MariaDB.
 * Anyone may load it, so it says whether rendering is available and no
 * more: daemon names, hosts, devices and the number of accounts are for
 * administrators (/admin/queue). */
#include "app.h"
#include "db.h"
#include "fleet.h"
#include "handlers.h"
#include "log.h"
#include "models.h"
#include "view.h"

#include <stdio.h>
#include <stdlib.h>

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
	char *tagline = NULL;
	long online;
	int rc = -1;

	if (db_ensure(app->db) != 0) {
		log_warn("home: database unreachable: %s", db_error(app->db));
		view_set(req, "Home.DbDown", "1");
		return view_render(req, 503, "Home", "home.cs");
	}
	if (db_query_string(app->db, "SELECT value FROM settings"
	    " WHERE name = 'site_tagline'", NULL, 0, &tagline) != 0 ||
	    (online = fleet_online(app->db, app->cfg.heartbeat_interval)) <
	    0) {
		log_error("home: %s", db_error(app->db));
		view_error(req, db_is_down(app->db) ? 503 : 500, "database",
			"The database could not answer; try again shortly.");
		goto out;
	}
	if (view_set(req, "Home.Tagline", tagline ? tagline : "") != 0 ||
	    view_set_int(req, "Home.DaemonsOnline", online) != 0 ||
	    add_model(req) != 0) {
		view_error(req, 500, "internal", "Out of memory.");
		goto out;
	}
	rc = view_render(req, 200, "Home", "home.cs");
out:
	free(tagline);
	return rc;
}
