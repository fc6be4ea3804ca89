/* page_admin_maintenance.c - /admin/maintenance, for admins: schedule a
 * maintenance window (title, message, start in UTC, length, and what
 * happens to new jobs during it: refused with 503 and Retry-After, or
 * queued and held unclaimed), and cancel one that is not over. The
 * windows themselves act in lib/submit.c (refuse) and lib/jobs.c's
 * claim (hold); the status page lists them and the banner warns a day
 * ahead (view.c). Audited with the window as target. */
#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "i18n.h"
#include "util.h"
#include "view.h"

#include <stdio.h>
#include <string.h>

static const char *const modes[] = { "refuse", "hold", NULL };

/* "YYYY-MM-DD HH:MM" (or with a T), a real UTC time. */
static int
start_ok(const char *s)
{
	char iso[32];

	if (strlen(s) != 16 || (s[10] != ' ' && s[10] != 'T'))
		return 0;
	snprintf(iso, sizeof(iso), "%.10sT%.5s:00Z", s, s + 11);
	return date_valid(iso, 1);
}

enum { MW_TITLE, MW_MESSAGE, MW_START, MW_MINUTES, MW_MODE };

const struct input maintenance_inputs[] = {
	[MW_TITLE] = { .name = "title", .type = IN_STR,
		.flags = IN_REQUIRED | IN_TEXT, .min = 1, .max = 200,
		.msg = N_("Title: 1 to 200 bytes of text.") },
	[MW_MESSAGE] = { .name = "message", .type = IN_STR,
		.flags = IN_TEXT | IN_LINES, .max = 5000,
		.msg = N_("Message: at most 5000 bytes of text.") },
	[MW_START] = { .name = "starts_at", .type = IN_STR,
		.flags = IN_REQUIRED, .min = 16, .max = 16, .check = start_ok,
		.msg = N_("Start: a UTC time as YYYY-MM-DD HH:MM.") },
	[MW_MINUTES] = { .name = "minutes", .type = IN_INT,
		.flags = IN_REQUIRED, .min = 1, .max = 10080,
		.msg = N_("Length: 1 to 10080 minutes (a week).") },
	[MW_MODE] = { .name = "mode", .type = IN_ENUM,
		.flags = IN_REQUIRED, .choices = modes,
		.msg = N_("New jobs: refuse or hold.") },
	IN_END,
};

int
page_admin_maintenance(struct kreq *req)
{
	if (view_rows(req, "Maintenance.List", "SELECT id AS Id,"
	    " title AS Title, message AS Message, mode AS Mode,"
	    " DATE_FORMAT(starts_at, '%Y-%m-%d %H:%i') AS Starts,"
	    " DATE_FORMAT(ends_at, '%Y-%m-%d %H:%i') AS Ends,"
	    " starts_at <= NOW(3) AS Active FROM maintenance_windows"
	    " WHERE canceled_at IS NULL AND ends_at > NOW(3)"
	    " ORDER BY starts_at, id LIMIT 100", NULL, 0) < 0)
		return view_db_fail(req, "admin maintenance");
	return view_render(req, 200, N_("Maintenance"),
		"admin_maintenance.cs");
}

static int
done(struct kreq *req, const char *flash)
{
	if (view_flash(req, flash) != 0) {
		view_error(req, 500, "internal", "Out of memory.");
		return -1;
	}
	return resp_redirect(req, "/admin/maintenance");
}

int
page_admin_maintenance_post(struct kreq *req)
{
	const char *start = in_str(req, MW_START), *mode = in_str(req, MW_MODE);
	const char *msg = in_str(req, MW_MESSAGE);
	char when[20], what[40];
	struct db_param p[7];
	unsigned long long id = 0;
	size_t i;

	for (i = 0; i <= MW_MODE; i++)
		if (in_bad(req, i)) {
			view_error(req, 422, "validation_failed",
				maintenance_inputs[i].msg);
			return -1;
		}
	snprintf(when, sizeof(when), "%.10s %.5s:00", start, start + 11);
	p[0] = DB_STR(in_str(req, MW_TITLE));
	p[1] = DB_STR(msg != NULL ? msg : "");
	p[2] = DB_STR(mode);
	p[3] = DB_STR(when);
	p[4] = DB_STR(when);
	p[5] = DB_INT(in_long(req, MW_MINUTES));
	p[6] = DB_INT(req->auth->user_id);
	if (db_exec(req->app->db, "INSERT INTO maintenance_windows (title,"
	    " message, mode, starts_at, ends_at, created_by) VALUES (?, ?, ?,"
	    " CAST(? AS DATETIME(3)),"
	    " CAST(? AS DATETIME(3)) + INTERVAL ? MINUTE, ?)", p, 7, NULL,
	    &id) != 0)
		return view_db_fail(req, "admin maintenance: schedule");
	snprintf(what, sizeof(what), "maintenance %llu", id);
	audit(req, "maintenance_schedule", 0, what, "%s UTC for %ld min, new "
		"jobs: %s", when, in_long(req, MW_MINUTES), mode);
	return done(req, "maintenance_scheduled");
}

int
page_admin_maintenance_cancel(struct kreq *req)
{
	unsigned long long id = req_id(req, 0), n = 0;
	struct db_param p[1] = { DB_INT(id) };
	char what[40];

	/* A window not over yet: one on now ends at once. */
	if (id != 0 && db_exec(req->app->db, "UPDATE maintenance_windows"
	    " SET canceled_at = NOW(3) WHERE id = ? AND canceled_at IS NULL"
	    " AND ends_at > NOW(3)", p, 1, &n, NULL) != 0)
		return view_db_fail(req, "admin maintenance: cancel");
	if (n == 0) {
		view_error(req, 404, "not_found", "No such maintenance window "
			"to cancel.");
		return -1;
	}
	snprintf(what, sizeof(what), "maintenance %llu", id);
	audit(req, "maintenance_cancel", 0, what, "canceled");
	return done(req, "maintenance_canceled");
}
