/* page_register.c - GET/POST /register: new accounts, as the admin setting
 * "registration" allows (open, invite, closed). The new user is signed in
 * at once. */
#include "accounts.h"
#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "i18n.h"
#include "log.h"
#include "view.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* POST /register's form. The passwords are judged by password_policy,
 * the invitation by the database. */
enum { RG_USERNAME, RG_DISPLAY_NAME, RG_PASSWORD, RG_PASSWORD2, RG_INVITE,
	RG_TIME_ZONE };
const struct input register_inputs[] = {
	[RG_USERNAME] = { .name = "username", .type = IN_STR,
		.flags = IN_REQUIRED, .min = 2, .max = 64,
		.check = username_valid, .msg = "User name: 2-64 letters, "
		"digits, '.', '_' or '-'." },
	[RG_DISPLAY_NAME] = { .name = "display_name", .type = IN_STR,
		.flags = IN_TEXT, .max = 128, .msg = "Display name: at most "
		"128 bytes of text, no control characters." },
	[RG_PASSWORD] = { .name = "password", .type = IN_STR,
		.max = REQ_MAX_BODY },
	[RG_PASSWORD2] = { .name = "password2", .type = IN_STR,
		.max = REQ_MAX_BODY },
	/* No code kiln makes is anything else. */
	[RG_INVITE] = { .name = "invite", .type = IN_STR, .flags = IN_TEXT,
		.max = 128, .msg = "Invite code: unknown, used or expired." },
	/* The browser's zone (account.js), when it has scripts: the new
	 * account's, if the zone database has it; else UTC. */
	[RG_TIME_ZONE] = { .name = "time_zone", .type = IN_STR,
		.max = TZ_MAX },
	IN_END,
};

/* The registration mode; "closed" when the setting is missing or odd. */
static int
reg_mode(struct kreq *req, char **mode)
{
	if (db_query_string(req->app->db, "SELECT value FROM settings"
	    " WHERE name = 'registration'", NULL, 0, mode) != 0)
		return -1;
	if (*mode == NULL || (strcmp(*mode, "open") != 0 &&
	    strcmp(*mode, "invite") != 0)) {
		free(*mode);
		*mode = xstrdup("closed");
	}
	return 0;
}

static int
form(struct kreq *req, int status, const char *mode)
{
	/* What was typed goes back in its box, valid or not. */
	const char *u = in_sent(req, RG_USERNAME);
	const char *d = in_sent(req, RG_DISPLAY_NAME);
	const char *inv = in_sent(req, RG_INVITE);

	if (view_set(req, "Register.Mode", mode) != 0 ||
	    view_set(req, "Form.Username", u ? u : "") != 0 ||
	    view_set(req, "Form.DisplayName", d ? d : "") != 0 ||
	    view_set(req, "Form.Invite", inv ? inv : req_query(req,
	    "invite")) != 0) {
		view_error(req, 500, "internal", "Out of memory.");
		return -1;
	}
	return view_render(req, status, "Register", "register.cs");
}

int
page_register(struct kreq *req)
{
	char *mode = NULL;
	int rc;

	if (req->auth != NULL)
		return resp_redirect(req, "/account");
	if (reg_mode(req, &mode) != 0)
		return view_db_fail(req, "register: settings");
	rc = form(req, 200, mode);
	free(mode);
	return rc;
}

/* Checks every field, recording each problem beside its field, the
 * database's answers (a name taken, an invite code unknown) included:
 * every error in one round. Returns the number of problems, or -1 after
 * a db error (answered). */
static int
validate(struct kreq *req, const char *mode)
{
	const char *u = in_str(req, RG_USERNAME);
	const char *pw = in_str(req, RG_PASSWORD);
	const char *pw2 = in_str(req, RG_PASSWORD2);
	const char *inv = in_str(req, RG_INVITE);
	char why[256], msg[320], ihash[DIGEST_HEX + 1], *found = NULL;
	struct db_param p;
	int bad = 0;

	if (u == NULL) {
		bad += !view_input_error(req, RG_USERNAME);
	} else {
		p = DB_STR(u);
		if (db_query_string(req->app->db, "SELECT id FROM users"
		    " WHERE username = ?", &p, 1, &found) != 0)
			return view_db_fail(req, "register: lookup");
		if (found != NULL)
			bad += !view_field_error(req, "username",
			    "User name: already taken.");
		free(found);
		found = NULL;
	}
	if (in_bad(req, RG_DISPLAY_NAME))
		bad += !view_input_error(req, RG_DISPLAY_NAME);
	if (pw == NULL || password_policy_lang(pw, u, view_lang(req), why,
	    sizeof(why)) != 0) {
		snprintf(msg, sizeof(msg), view_tr(req, "Password %s."),
			pw == NULL ? view_tr(req, "is required") : why);
		bad += !view_field_error(req, "password", msg);
	} else if (pw2 == NULL || strcmp(pw, pw2) != 0) {
		bad += !view_field_error(req, "password2", "The two passwords "
			"differ.");
	}
	if (!strcmp(mode, "invite") && in_bad(req, RG_INVITE))
		bad += !view_input_error(req, RG_INVITE);
	else if (!strcmp(mode, "invite") && (inv == NULL || *inv == '\0'))
		bad += !view_field_error(req, "invite", "Invite code: this site "
			"registers by invitation; enter the code you were "
			"given.");
	else if (!strcmp(mode, "invite")) {
		digest_hex(inv, ihash);
		p = DB_STR(ihash);
		if (db_query_string(req->app->db, "SELECT id FROM invites"
		    " WHERE code_hash = ? AND used_by IS NULL"
		    " AND expires_at > NOW(3)", &p, 1, &found) != 0)
			return view_db_fail(req, "register: invite lookup");
		if (found == NULL)
			bad += !view_input_error(req, RG_INVITE);
		free(found);
	}
	return bad;
}

int
page_register_post(struct kreq *req)
{
	const char *u = in_str(req, RG_USERNAME);
	const char *d = in_str(req, RG_DISPLAY_NAME);
	const char *pw = in_str(req, RG_PASSWORD);
	const char *inv = in_str(req, RG_INVITE);
	char hash[crypto_pwhash_STRBYTES], ihash[DIGEST_HEX + 1];
	char *mode = NULL;
	unsigned long long id = 0, n = 0;
	struct db_param p[4];
	int rc = -1;

	if (reg_mode(req, &mode) != 0)
		return view_db_fail(req, "register: settings");
	if (!strcmp(mode, "closed")) {
		rc = form(req, 403, mode);
		goto out;
	}
	switch (validate(req, mode)) {
	case -1:
		goto out;
	case 0:
		break;
	default:
		rc = form(req, 422, mode);
		goto out;
	}
	if (password_hash(pw, hash) != 0) {
		view_error(req, 500, "internal", "Out of memory.");
		goto out;
	}
	/* The account and the invitation it uses go in together: a code
	 * is good for one account. */
	if (db_exec_text(req->app->db, "START TRANSACTION") != 0) {
		view_db_fail(req, "register: begin");
		goto out;
	}
	p[0] = DB_STR(u);
	p[1] = DB_STR(d ? d : "");
	p[2] = DB_STR(hash);
	p[3] = tz_valid(in_str(req, RG_TIME_ZONE)) ?
		DB_STR(in_str(req, RG_TIME_ZONE)) : DB_NULL;
	if (db_exec(req->app->db, "INSERT INTO users (username, display_name,"
	    " password_hash, password_changed_at, time_zone)"
	    " VALUES (?, ?, ?, NOW(3), ?)", p, 4, NULL, &id) != 0) {
		db_rollback(req->app->db);
		/* Two people taking one name at once: the unique key says
		 * no to the second. */
		view_field_error(req, "username", "User name: already taken.");
		rc = form(req, 422, mode);
		goto out;
	}
	if (!strcmp(mode, "invite")) {
		digest_hex(inv, ihash);
		p[0] = DB_INT(id);
		p[1] = DB_STR(ihash);
		if (db_exec(req->app->db, "UPDATE invites SET used_by = ?,"
		    " used_at = NOW(3) WHERE code_hash = ? AND used_by IS NULL"
		    " AND expires_at > NOW(3)", p, 2, &n, NULL) != 0) {
			db_rollback(req->app->db);
			view_db_fail(req, "register: invite");
			goto out;
		}
		if (n == 0) {
			db_rollback(req->app->db);
			view_field_error(req, "invite", "Invite code: unknown, "
				"used or expired.");
			rc = form(req, 422, mode);
			goto out;
		}
	}
	if (db_exec_text(req->app->db, "COMMIT") != 0) {
		db_rollback(req->app->db);
		view_db_fail(req, "register: commit");
		goto out;
	}
	if (session_start(req, id) != 0) {
		view_db_fail(req, "register: session");
		goto out;
	}
	audit_by(req, id, u, "register", id, u, "%s", !strcmp(mode, "invite") ?
		"with an invitation" : "open registration");
	rc = view_flash(req, "welcome") == 0 ?
		resp_redirect(req, "/account") : -1;
out:
	sodium_memzero(hash, sizeof(hash));
	free(mode);
	return rc;
}
