/* page_admin_incidents.c - /admin/incidents, for admins: open an
 * incident (title, affected components, severity, first message), post
 * updates to an open one (investigating, identified, monitoring) and
 * resolve it (an update whose status is resolved). Open incidents show
 * on /status, in its feed and as a banner on every portal page
 * (view.c); resolved ones move to /status's past incidents. Every
 * action is audited with the incident as target. */
#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "i18n.h"
#include "status.h"
#include "view.h"

#include <stdio.h>
#include <string.h>

enum { IO_TITLE, IO_COMPONENTS, IO_SEVERITY, IO_MESSAGE };

const struct input incident_open_inputs[] = {
	[IO_TITLE] = { .name = "title", .type = IN_STR,
		.flags = IN_REQUIRED | IN_TEXT, .min = 1, .max = 200,
		.msg = N_("Title: 1 to 200 bytes of text.") },
	[IO_COMPONENTS] = { .name = "components", .type = IN_STR,
		.flags = IN_REQUIRED, .min = 1, .max = 500,
		.check = status_components_ok,
		.msg = N_("Affected components: names such as web, queue or "
		    "a model's, separated by commas.") },
	[IO_SEVERITY] = { .name = "severity", .type = IN_ENUM,
		.flags = IN_REQUIRED, .choices = status_severities,
		.msg = N_("Severity: minor, major or critical.") },
	[IO_MESSAGE] = { .name = "message", .type = IN_STR,
		.flags = IN_REQUIRED | IN_TEXT | IN_LINES, .min = 1,
		.max = 5000,
		.msg = N_("Message: 1 to 5000 bytes of text.") },
	IN_END,
};

enum { IU_STATUS, IU_MESSAGE };

const struct input incident_update_inputs[] = {
	[IU_STATUS] = { .name = "status", .type = IN_ENUM,
		.flags = IN_REQUIRED, .choices = status_updates,
		.msg = N_("Status: investigating, identified, monitoring or "
		    "resolved.") },
	[IU_MESSAGE] = { .name = "message", .type = IN_STR,
		.flags = IN_REQUIRED | IN_TEXT | IN_LINES, .min = 1,
		.max = 5000,
		.msg = N_("Message: 1 to 5000 bytes of text.") },
	IN_END,
};

int
page_admin_incidents(struct kreq *req)
{
	if (view_rows(req, "Incidents.Open", "SELECT id AS Id, title AS Title,"
	    " components AS Components, severity AS Severity,"
	    " status AS Status,"
	    " DATE_FORMAT(created_at, '%Y-%m-%d %H:%i') AS Created,"
	    " DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i') AS Updated"
	    " FROM incidents WHERE resolved_at IS NULL"
	    " ORDER BY created_at DESC, id DESC LIMIT 100", NULL, 0) < 0 ||
	    view_rows(req, "Incidents.Resolved", "SELECT id AS Id,"
	    " title AS Title, components AS Components,"
	    " severity AS Severity,"
	    " DATE_FORMAT(created_at, '%Y-%m-%d %H:%i') AS Created,"
	    " DATE_FORMAT(resolved_at, '%Y-%m-%d %H:%i') AS Resolved"
	    " FROM incidents WHERE resolved_at IS NOT NULL"
	    " ORDER BY resolved_at DESC, id DESC LIMIT 20", NULL, 0) < 0)
		return view_db_fail(req, "admin incidents");
	return view_render(req, 200, N_("Incidents"), "admin_incidents.cs");
}

/* The first refused input of the route's n, answered as 422 with its
 * message. Returns 1 when one was refused. */
static int
refused(struct kreq *req, const struct input *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (in_bad(req, i)) {
			view_error(req, 422, "validation_failed", list[i].msg);
			return 1;
		}
	return 0;
}

static int
done(struct kreq *req, const char *flash)
{
	if (view_flash(req, flash) != 0) {
		view_error(req, 500, "internal", "Out of memory.");
		return -1;
	}
	return resp_redirect(req, "/admin/incidents");
}

int
page_admin_incident_open(struct kreq *req)
{
	struct db *db = req->app->db;
	const char *title = in_str(req, IO_TITLE);
	const char *severity = in_str(req, IO_SEVERITY);
	struct db_param p[5];
	unsigned long long id = 0;
	char what[32];

	if (refused(req, incident_open_inputs, 4))
		return -1;
	p[0] = DB_STR(title);
	p[1] = DB_STR(in_str(req, IO_COMPONENTS));
	p[2] = DB_STR(severity);
	p[3] = DB_INT(req->auth->user_id);
	/* The incident and its opening message together. */
	if (db_exec_text(db, "START TRANSACTION") != 0)
		return view_db_fail(req, "admin incidents: open");
	if (db_exec(db, "INSERT INTO incidents (title, components, severity,"
	    " created_by) VALUES (?, ?, ?, ?)", p, 4, NULL, &id) != 0 ||
	    (p[0] = DB_INT(id), p[1] = DB_STR(in_str(req, IO_MESSAGE)),
	    p[2] = DB_INT(req->auth->user_id),
	    db_exec(db, "INSERT INTO incident_updates (incident_id, status,"
	    " message, created_by) VALUES (?, 'investigating', ?, ?)", p, 3,
	    NULL, NULL) != 0) || db_exec_text(db, "COMMIT") != 0) {
		db_rollback(db);
		return view_db_fail(req, "admin incidents: open");
	}
	snprintf(what, sizeof(what), "incident %llu", id);
	audit(req, "incident_open", 0, what, "%s (%s): %s", severity,
		in_str(req, IO_COMPONENTS), title);
	return done(req, "incident_opened");
}

int
page_admin_incident_update(struct kreq *req)
{
	struct db *db = req->app->db;
	unsigned long long id = req_id(req, 0), n = 0;
	const char *status = in_str(req, IU_STATUS);
	int resolve = status != NULL && strcmp(status, "resolved") == 0;
	struct db_param p[4];
	long found = 0;
	char what[32];

	p[0] = DB_INT(id);
	if (id != 0 && db_query_long(db, "SELECT 1 FROM incidents"
	    " WHERE id = ?", p, 1, &found) != 0)
		return view_db_fail(req, "admin incidents: lookup");
	if (found == 0) {
		view_error(req, 404, "not_found", "No such incident.");
		return -1;
	}
	if (refused(req, incident_update_inputs, 2))
		return -1;
	p[0] = DB_STR(status);
	p[1] = DB_INT(resolve);
	p[2] = DB_INT(id);
	/* Only an open incident moves; a resolved one stays as it was
	 * (the WHERE decides, so two racing resolves post once). */
	if (db_exec_text(db, "START TRANSACTION") != 0)
		return view_db_fail(req, "admin incidents: update");
	if (db_exec(db, "UPDATE incidents SET status = ?, updated_at = NOW(3),"
	    " resolved_at = IF(?, NOW(3), NULL) WHERE id = ?"
	    " AND resolved_at IS NULL", p, 3, &n, NULL) != 0) {
		db_rollback(db);
		return view_db_fail(req, "admin incidents: update");
	}
	if (n == 0) {
		db_rollback(db);
		view_error(req, 409, "conflict", "This incident is resolved "
			"already.");
		return -1;
	}
	p[0] = DB_INT(id);
	p[1] = DB_STR(status);
	p[2] = DB_STR(in_str(req, IU_MESSAGE));
	p[3] = DB_INT(req->auth->user_id);
	if (db_exec(db, "INSERT INTO incident_updates (incident_id, status,"
	    " message, created_by) VALUES (?, ?, ?, ?)", p, 4, NULL,
	    NULL) != 0 || db_exec_text(db, "COMMIT") != 0) {
		db_rollback(db);
		return view_db_fail(req, "admin incidents: update");
	}
	snprintf(what, sizeof(what), "incident %llu", id);
	audit(req, resolve ? "incident_resolve" : "incident_update", 0, what,
		"%s", status);
	return done(req, resolve ? "incident_resolved" : "incident_updated");
}
