/* page_admin_reports.c - /admin/reports, for moderators and admins: the
 * open reports grouped per published image, and the hidden images; POST
 * /admin/reports/{id}/hide, /restore, /dismiss and /ban (the author),
 * {id} being the published image's. Every action is audited with the
 * moderator as actor and the image's author as target. */
#include "accounts.h"
#include "app.h"
#include "auth.h"
#include "db.h"
#include "explore.h"
#include "handlers.h"
#include "i18n.h"
#include "log.h"
#include "util.h"
#include "view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The reasons as the report form words them (explore_image.cs): the
 * column holds the ENUM's identifiers, which a moderator reading the
 * page in Chinese should not have to decode. */
static const struct {
	const char *id, *label;
} reason_labels[] = {
	{ "spam", N_("Spam or advertising") },
	{ "sexual", N_("Sexual content") },
	{ "violence", N_("Violence or gore") },
	{ "hate", N_("Hate or harassment") },
	{ "illegal", N_("Illegal content") },
	{ "copyright", N_("Copyright") },
	{ "other", N_("Something else") },
};

/* Rewrites each row's Reasons ("hate, spam", as GROUP_CONCAT joins
 * them) into the labels in the page's language. 0, or -1 when memory
 * runs out. */
static int
label_reasons(struct kreq *req)
{
	struct buf b = {0};
	const char *v, *p, *e, *label;
	char key[64];
	size_t k, n;
	int i, rc = 0;

	for (i = 0; rc == 0; i++) {
		snprintf(key, sizeof(key), "Reports.List.%d.Reasons", i);
		if ((v = view_get(req, key)) == NULL)
			break;
		buf_reset(&b);
		for (p = v; rc == 0 && *p != '\0'; p = *e != '\0' ? e + 2 : e) {
			if ((e = strstr(p, ", ")) == NULL)
				e = p + strlen(p);
			n = (size_t)(e - p);
			label = NULL;
			for (k = 0; k < sizeof(reason_labels) /
			    sizeof(reason_labels[0]); k++)
				if (strlen(reason_labels[k].id) == n &&
				    memcmp(reason_labels[k].id, p, n) == 0)
					label = view_tr(req, reason_labels[k].label);
			/* The list separator, as the language writes it. */
			if (b.len > 0 &&
			    buf_puts(&b, view_tr(req, N_(", "))) != 0)
				rc = -1;
			else if ((label != NULL ? buf_puts(&b, label) :
			    buf_append(&b, p, n)) != 0)
				rc = -1;
		}
		/* Set from b, a copy: v is the node's own value. */
		if (rc == 0 && b.len > 0 && view_set(req, key, b.data) != 0)
			rc = -1;
	}
	buf_free(&b);
	return rc;
}

int
page_admin_reports(struct kreq *req)
{
	/* Aggregated first, then joined: one row per image without
	 * grouping by the joined columns. */
	if (view_rows(req, "Reports.List", "SELECT p.id AS Id,"
	    " p.job_id AS JobId, p.idx AS Idx, u.id AS AuthorId,"
	    " u.username AS Author, u.role AS AuthorRole,"
	    " u.disabled AS AuthorDisabled, p.hidden_at IS NOT NULL AS Hidden,"
	    " p.published_at IS NOT NULL AS Published,"
	    " LEFT(j.prompt, 200) AS Prompt, g.n AS Count,"
	    " g.reasons AS Reasons, COALESCE(g.details, '') AS Details,"
	    " DATE_FORMAT(g.latest, '%Y-%m-%d %H:%i') AS Latest"
	    " FROM (SELECT published_id, COUNT(*) AS n,"
	    " GROUP_CONCAT(DISTINCT reason ORDER BY reason SEPARATOR ', ')"
	    " AS reasons, GROUP_CONCAT(NULLIF(detail, '') ORDER BY id"
	    " SEPARATOR ' | ') AS details, MAX(created_at) AS latest"
	    " FROM image_reports WHERE status = 'open'"
	    " GROUP BY published_id) g"
	    " JOIN published_images p ON p.id = g.published_id"
	    " JOIN jobs j ON j.id = p.job_id JOIN users u ON u.id = p.user_id"
	    " ORDER BY g.n DESC, g.latest DESC LIMIT 100", NULL, 0) < 0 ||
	    view_rows(req, "Hidden.List", "SELECT p.id AS Id,"
	    " u.username AS Author, LEFT(j.prompt, 200) AS Prompt,"
	    " DATE_FORMAT(p.hidden_at, '%Y-%m-%d %H:%i') AS HiddenAt,"
	    " COALESCE(m.username, '') AS HiddenBy"
	    " FROM published_images p JOIN jobs j ON j.id = p.job_id"
	    " JOIN users u ON u.id = p.user_id"
	    " LEFT JOIN users m ON m.id = p.hidden_by"
	    " WHERE p.hidden_at IS NOT NULL"
	    " ORDER BY p.hidden_at DESC LIMIT 100", NULL, 0) < 0)
		return view_db_fail(req, "admin reports");
	if (label_reasons(req) != 0) {
		view_error(req, 500, "internal", "Out of memory.");
		return -1;
	}
	return view_render(req, 200, "Reports", "admin_reports.cs");
}

/* The published image an action names, and its author. */
struct target {
	unsigned long long id, author_id;
	char *author, *role;
	long hidden;
};

static const struct db_field target_fields[] = {
	DB_FIELD(struct target, id, DBF_ULLONG, "id"),
	DB_FIELD(struct target, author_id, DBF_ULLONG, "user_id"),
	DB_FIELD(struct target, author, DBF_DUP, "username"),
	DB_FIELD(struct target, role, DBF_DUP, "role"),
	DB_FIELD(struct target, hidden, DBF_LONG, "hidden"),
};

static void
target_free(struct target *t)
{
	free(t->author);
	free(t->role);
}

/* Loads the route's image into *t. Returns 1, or 0 after answering (404
 * or a db error). */
static int
target_load(struct kreq *req, struct target *t)
{
	unsigned long long id = req_id(req, 0);
	struct db_param p[1] = { DB_INT(id) };
	long n;

	memset(t, 0, sizeof(*t));
	n = id == 0 ? 0 : db_query_into(req->app->db, "SELECT p.id,"
		" p.user_id, u.username, u.role,"
		" p.hidden_at IS NOT NULL AS hidden"
		" FROM published_images p JOIN users u ON u.id = p.user_id"
		" WHERE p.id = ?", p, 1, target_fields,
		DB_NFIELDS(target_fields), t, NULL, NULL);
	if (n < 0) {
		target_free(t);
		view_db_fail(req, "admin reports: lookup");
		return 0;
	}
	if (n == 0) {
		target_free(t);
		view_error(req, 404, "not_found", "No such published image.");
		return 0;
	}
	return 1;
}

/* Closes the image's open reports as status ('actioned', 'dismissed').
 * Returns the number closed, or -1. */
static long
close_reports(struct kreq *req, unsigned long long id, const char *status)
{
	struct db_param p[3] = { DB_STR(status), DB_INT(req->auth->user_id),
		DB_INT(id) };
	unsigned long long n = 0;

	if (db_exec(req->app->db, "UPDATE image_reports SET status = ?,"
	    " resolved_at = NOW(3), resolved_by = ? WHERE published_id = ?"
	    " AND status = 'open'", p, 3, &n, NULL) != 0)
		return -1;
	return (long)n;
}

/* Hides the image (already hidden: no change). Returns 0 or -1. */
static int
hide(struct kreq *req, const struct target *t)
{
	struct db_param p[2] = { DB_INT(req->auth->user_id), DB_INT(t->id) };

	return db_exec(req->app->db, "UPDATE published_images SET"
		" hidden_at = COALESCE(hidden_at, NOW(3)),"
		" hidden_by = COALESCE(hidden_by, ?) WHERE id = ?", p, 2, NULL,
		NULL);
}

static int
done(struct kreq *req, const char *flash)
{
	if (view_flash(req, flash) != 0) {
		view_error(req, 500, "internal", "Out of memory.");
		return -1;
	}
	return resp_redirect(req, "/admin/reports");
}

int
page_admin_report_hide(struct kreq *req)
{
	struct target t;
	char what[32];
	long n;

	if (!target_load(req, &t))
		return -1;
	if (hide(req, &t) != 0 || (n = close_reports(req, t.id,
	    "actioned")) < 0) {
		target_free(&t);
		return view_db_fail(req, "admin reports: hide");
	}
	snprintf(what, sizeof(what), "image %llu", t.id);
	audit(req, "image_hide", t.author_id, what, "by %s; %ld open "
		"report(s) closed", t.author, n);
	target_free(&t);
	return done(req, "hidden");
}

int
page_admin_report_restore(struct kreq *req)
{
	struct target t;
	struct db_param p[1];
	char what[32];

	if (!target_load(req, &t))
		return -1;
	if (!t.hidden) {
		target_free(&t);
		view_error(req, 409, "conflict", "This image is not hidden.");
		return -1;
	}
	p[0] = DB_INT(t.id);
	if (db_exec(req->app->db, "UPDATE published_images SET"
	    " hidden_at = NULL, hidden_by = NULL WHERE id = ?", p, 1, NULL,
	    NULL) != 0) {
		target_free(&t);
		return view_db_fail(req, "admin reports: restore");
	}
	snprintf(what, sizeof(what), "image %llu", t.id);
	audit(req, "image_restore", t.author_id, what, "by %s", t.author);
	target_free(&t);
	return done(req, "restored");
}

int
page_admin_report_dismiss(struct kreq *req)
{
	struct target t;
	char what[32];
	long n;

	if (!target_load(req, &t))
		return -1;
	n = close_reports(req, t.id, "dismissed");
	if (n < 0) {
		target_free(&t);
		return view_db_fail(req, "admin reports: dismiss");
	}
	if (n == 0) {
		target_free(&t);
		view_error(req, 409, "conflict", "This image has no open "
			"reports.");
		return -1;
	}
	snprintf(what, sizeof(what), "image %llu", t.id);
	audit(req, "report_dismiss", t.author_id, what, "by %s; %ld "
		"report(s) dismissed", t.author, n);
	target_free(&t);
	return done(req, "dismissed");
}

int
page_admin_report_ban(struct kreq *req)
{
	struct target t;
	char what[32];
	long n;
	int st;

	if (!target_load(req, &t))
		return -1;
	/* A moderator bans ordinary users only; an administrator is never
	 * banned from the queue (the users page disables one, audited
	 * there), nor is one's own account. */
	if (t.author_id == req->auth->user_id ||
	    !strcmp(t.role, "admin") ||
	    (!strcmp(t.role, "moderator") && !req->auth->is_admin)) {
		target_free(&t);
		view_error(req, 403, "forbidden", "You cannot ban this author: "
			"moderators ban users only, and administrators are "
			"managed on the users page.");
		return -1;
	}
	st = user_set_disabled(req->app->db, t.author_id, 1);
	if (st < 0 || hide(req, &t) != 0 ||
	    (n = close_reports(req, t.id, "actioned")) < 0) {
		target_free(&t);
		return view_db_fail(req, "admin reports: ban");
	}
	snprintf(what, sizeof(what), "image %llu", t.id);
	audit(req, "user_ban", t.author_id, t.author, "for %s; sessions "
		"ended, keys refused, images off Explore", what);
	audit(req, "image_hide", t.author_id, what, "by %s (banned); %ld "
		"open report(s) closed", t.author, n);
	target_free(&t);
	return done(req, "banned");
}
