/* page_home.c - GET /: the front page. A visitor reads what kiln is, the
 * default model with its example prompts, and whether rendering is
 * available right now, and no more: daemon names, hosts, devices, how
 * many daemons are online and the number of accounts are for
 * administrators (/admin/queue). A signed-in user also gets a Generate
 * button, their recent images, their queued and running jobs with each
 * one's place in the queue, and their credits. */
#include "app.h"
#include "auth.h"
#include "db.h"
#include "fleet.h"
#include "handlers.h"
#include "log.h"
#include "models.h"
#include "submit.h"
#include "util.h"
#include "view.h"

#include <stdio.h>
#include <stdlib.h>

/* Recent images shown: two rows of a wide screen's grid. */
#define HOME_RECENT 12
/* Active jobs listed; a tier's max_queued is well under it, the rest are
 * on /jobs. */
#define HOME_ACTIVE 20

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

/* The signed-in user's part: their latest succeeded images (own, not
 * deleted), their queued and running jobs with the place in the queue
 * the job page shows (JOB_POSITION_SQL: 1 is next), and their
 * credits. Returns 0, or -1 after a db error (the caller reports it
 * through view_db_fail). */
static int
add_user(struct kreq *req)
{
	struct db_param p[1];
	long credits;

	p[0] = DB_INT(req->auth->user_id);
	if (view_rows(req, "Home.Recent", "SELECT j.id AS Job, i.idx AS Idx,"
	    " i.width AS Width, i.height AS Height,"
	    " LEFT(j.prompt, 200) AS Prompt"
	    " FROM job_images i JOIN jobs j ON j.id = i.job_id"
	    " WHERE j.user_id = ? AND j.status = 'succeeded'"
	    " AND j.deleted_at IS NULL"
	    " ORDER BY j.id DESC, i.idx LIMIT " STR(HOME_RECENT), p, 1) < 0)
		return -1;
	/* Position is a reserved word: quoted. */
	if (view_rows(req, "Home.Active", "SELECT j.id AS Id,"
	    " j.status AS Status, LEFT(j.prompt, 120) AS Prompt,"
	    " j.step AS Step, j.steps_total AS StepsTotal,"
	    " " JOB_POSITION_SQL " AS `Position`"
	    " FROM jobs j WHERE j.user_id = ?"
	    " AND j.status IN ('queued', 'running') AND j.deleted_at IS NULL"
	    " ORDER BY j.id LIMIT " STR(HOME_ACTIVE), p, 1) < 0)
		return -1;
	if (db_query_long(req->app->db, "SELECT credits FROM users"
	    " WHERE id = ?", p, 1, &credits) != 0)
		return -1;
	return view_set_int(req, "Home.Credits", credits);
}

int
page_home(struct kreq *req)
{
	struct kiln_app *app = req->app;
	char *tagline = NULL;
	long online;
	int rc = -1;

	/* Signed in or not: a session that could not be read (auth_portal
	 * lets this page through) lands here too. */
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
	if (req->auth != NULL && add_user(req) != 0) {
		rc = view_db_fail(req, "home: user");
		goto out;
	}
	/* Whether, not how many: the count is the fleet's size. */
	if (view_set(req, "Home.Tagline", tagline ? tagline : "") != 0 ||
	    view_set(req, "Home.Rendering", online > 0 ? "1" : "0") != 0 ||
	    add_model(req) != 0) {
		view_error(req, 500, "internal", "Out of memory.");
		goto out;
	}
	rc = view_render(req, 200, "Home", "home.cs");
out:
	free(tagline);
	return rc;
}
