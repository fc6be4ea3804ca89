/* page_admin_site.c - /admin/audit (the audit log, filtered) and
 * /admin/settings (registration mode, invitations). */
#include "accounts.h"
#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "i18n.h"
#include "log.h"
#include "once.h"
#include "util.h"
#include "view.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INVITE_DAYS 14
/* POST /admin/invites answers with a redirect (POST-redirect-GET); the
 * new code reaches the GET through once_put (once.h), shown there once:
 * never in a URL (logs, history, Referer), and a reload neither makes
 * another code nor shows this one again. */

/* POST /admin/settings's form. */
static const char *const reg_modes[] = { "open", "invite", "closed", NULL };
enum { SE_REGISTRATION };
const struct input settings_inputs[] = {
	[SE_REGISTRATION] = { .name = "registration", .type = IN_ENUM,
		.flags = IN_REQUIRED, .choices = reg_modes,
		.msg = "Registration: open, invite or closed." },
	IN_END,
};

/* POST /admin/invites's form. */
enum { IV_NOTE };
const struct input invite_inputs[] = {
	[IV_NOTE] = { .name = "note", .type = IN_STR, .flags = IN_TEXT,
		.max = 128, .msg = "Note: at most 128 bytes of text." },
	IN_END,
};

/* The actions the code writes, for the filter's menu. */
static const char *const actions[] = { "login", "login_failed", "lockout",
	"logout", "logout_all", "register", "profile_change",
	"password_change", "session_revoke", "key_create", "key_revoke",
	"user_disable", "user_enable", "role_change", "password_reset",
	"settings_change", "invite_create", "user_create", "job_cancel", "job_requeue", "credit_grant", "webhook_change",
	"webhook_rotate", "2fa_enable", "2fa_disable", "2fa_reset",
	"2fa_recovery_used", "2fa_recovery_new", "2fa_devices_forget",
	"image_hide", "image_restore", "report_dismiss", "user_ban" };

int
page_admin_audit(struct kreq *req)
{
	const char *q = req_query(req, "q"), *action = req_query(req, "action");
	struct db_param p[5];
	long n, bid = (long)req_query_id(req, "before");
	char *like;

	like = like_pattern(q ? q : "");
	p[0] = DB_STR(like);
	p[1] = DB_STR(like);
	p[2] = DB_STR(action ? action : "");
	p[3] = DB_STR(action ? action : "");
	p[4] = DB_INT(bid);
	n = view_rows(req, "Audit.List", "SELECT id AS Id,"
		" DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s') AS At, actor AS Actor,"
		" ip AS Ip, action AS Action,"
		" COALESCE(target_id, '') AS TargetId, target AS Target,"
		" detail AS Detail FROM audit_log"
		" WHERE (actor LIKE ? OR target LIKE ?)"
		" AND (? = '' OR action = ?) AND (? = 0 OR id < ?)"
		" ORDER BY id DESC LIMIT 100",
		(struct db_param[]){ p[0], p[1], p[2], p[3], p[4], p[4] }, 6);
	free(like);
	if (n < 0)
		return view_db_fail(req, "admin: audit");
	for (size_t i = 0; i < ARRAY_LEN(actions); i++) {
		char key[32];

		snprintf(key, sizeof(key), "Audit.Actions.%zu", i);
		view_set(req, key, actions[i]);
	}
	view_set(req, "Audit.Q", q ? q : "");
	view_set(req, "Audit.Action", action ? action : "");
	view_set_int(req, "Audit.Count", n);
	return view_render(req, 200, "Audit log", "admin_audit.cs");
}

/* The code of the invite just made, shown once (page_admin_invite left
 * it for this page and session). Returns 0 or -1 (db error). */
static int
new_invite(struct kreq *req)
{
	char *code = NULL;
	int st = once_take(req, "invite", &code);

	if (st > 0) {
		view_set(req, "NewInvite", code);
		view_set_int(req, "NewInviteDays", INVITE_DAYS);
		resp_header(req, "Cache-Control", "no-store");
	}
	once_free(code);
	return st < 0 ? -1 : 0;
}

static int
show_settings(struct kreq *req, int status)
{
	if (view_rows(req, "Settings", "SELECT value AS Registration"
	    " FROM settings WHERE name = 'registration'", NULL, 0) < 0 ||
	    view_rows(req, "TwoFactor", "SELECT value AS RequireAdmins"
	    " FROM settings WHERE name = 'require_2fa_admins'", NULL, 0) < 0 ||
	    view_rows(req, "Invites", "SELECT i.id AS Id, i.note AS Note,"
	    " DATE_FORMAT(i.created_at, '%Y-%m-%d %H:%i') AS Created,"
	    " DATE_FORMAT(i.expires_at, '%Y-%m-%d %H:%i') AS Expires,"
	    " COALESCE(u.username, '') AS UsedBy,"
	    " COALESCE(c.username, '') AS CreatedBy"
	    " FROM invites i LEFT JOIN users u ON u.id = i.used_by"
	    " LEFT JOIN users c ON c.id = i.created_by"
	    " ORDER BY i.id DESC LIMIT 50", NULL, 0) < 0)
		return view_db_fail(req, "admin: settings");
	if (req_query(req, "done") != NULL)
		view_set(req, "Settings.Done", view_tr(req, "Settings saved."));
	if (status == 200 && new_invite(req) != 0)
		return view_db_fail(req, "admin: new invite");
	return view_render(req, status, "Settings", "admin_settings.cs");
}

int
page_admin_settings(struct kreq *req)
{
	return show_settings(req, 200);
}

int
page_admin_settings_post(struct kreq *req)
{
	const char *mode = in_str(req, SE_REGISTRATION);
	struct db_param p[1];

	if (mode == NULL) {
		view_input_error(req, SE_REGISTRATION);
		return show_settings(req, 422);
	}
	p[0] = DB_STR(mode);
	if (db_exec(req->app->db, "INSERT INTO settings (name, value)"
	    " VALUES ('registration', ?) ON DUPLICATE KEY UPDATE"
	    " value = VALUES(value)", p, 1, NULL, NULL) != 0)
		return view_db_fail(req, "admin: save");
	audit(req, "settings_change", 0, "", "registration = %s", mode);
	return resp_redirect(req, "/admin/settings?done=saved");
}

int
page_admin_invite(struct kreq *req)
{
	const char *note = in_str(req, IV_NOTE);
	char code[TOKEN_LEN + 1], hash[DIGEST_HEX + 1];
	unsigned long long id = 0;
	struct db_param p[4];
	int st;

	if (in_bad(req, IV_NOTE)) {
		view_input_error(req, IV_NOTE);
		return show_settings(req, 422);
	}
	if (note == NULL)
		note = "";
	if (token_new(code) != 0) {
		view_error(req, 500, "internal", N_("No randomness."));
		return -1;
	}
	digest_hex(code, hash);
	p[0] = DB_STR(hash);
	p[1] = DB_STR(note);
	p[2] = DB_INT(req->auth->user_id);
	p[3] = DB_INT(INVITE_DAYS);
	if (db_exec(req->app->db, "INSERT INTO invites (code_hash, note,"
	    " created_by, expires_at) VALUES (?, ?, ?,"
	    " NOW(3) + INTERVAL ? DAY)", p, 4, NULL, &id) != 0)
		return view_db_fail(req, "admin: invite");
	audit(req, "invite_create", 0, "", "invite %llu \"%s\"", id, note);
	st = once_put(req, "invite", "/admin/settings", code);
	sodium_memzero(code, sizeof(code));
	if (st != 0) {
		view_error(req, 500, "internal", N_("The invite code could not "
			"be kept for the page: make another."));
		return -1;
	}
	return resp_redirect(req, "/admin/settings");
}
