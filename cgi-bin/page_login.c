/* page_login.c - GET/POST /login and POST /logout. One message for an
 * unknown name, a wrong password and a disabled account, the same work
 * (one Argon2id run) for each, and throttling per name and per address. */
#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "i18n.h"
#include "log.h"
#include "mail.h"
#include "ratelimit.h"
#include "view.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define WRONG N_("Wrong user name or password.")

/* POST /login's form. The name and password are looked up and hashed as
 * sent: any text that is not an account's fails as a wrong one does. */
enum { LI_USERNAME, LI_PASSWORD, LI_NEXT };
const struct input login_inputs[] = {
	[LI_USERNAME] = { .name = "username", .type = IN_STR,
		.flags = IN_REQUIRED, .min = 1, .max = 128,
		.msg = "Enter your user name." },
	[LI_PASSWORD] = { .name = "password", .type = IN_STR,
		.flags = IN_REQUIRED, .min = 1, .max = PASSWORD_MAX,
		.msg = "Enter your password." },
	/* Where to go after: safe_next judges it. */
	[LI_NEXT] = { .name = "next", .type = IN_STR, .max = REQ_MAX_BODY },
	IN_END,
};

static int
login_form(struct kreq *req, int status, const char *username,
	const char *next)
{
	if (view_set(req, "Form.Username", username) != 0 ||
	    view_set(req, "Form.Next", safe_next(next)) != 0) {
		view_error(req, 500, "internal", "Out of memory.");
		return -1;
	}
	return view_render(req, status, "Log in", "login.cs");
}

int
page_login(struct kreq *req)
{
	const char *next = safe_next(req_query(req, "next"));

	if (req->auth != NULL)
		return resp_redirect(req, strcmp(next, "/") ? next : "/account");
	return login_form(req, 200, "", next);
}

struct login_row {
	unsigned long long id;
	const char *hash_col, *name_col;	/* valid in login_row() only */
	char hash[crypto_pwhash_STRBYTES];
	char username[65];
	int disabled, found;
};

static const struct db_field login_fields[] = {
	DB_FIELD(struct login_row, id, DBF_ULLONG, "id"),
	DB_FIELD(struct login_row, hash_col, DBF_STR, "password_hash"),
	DB_FIELD(struct login_row, name_col, DBF_STR, "username"),
	DB_FIELD(struct login_row, disabled, DBF_INT, "disabled"),
};

/* Keeps the row's strings past the fetch. */
static int
login_row(void *rec, void *arg)
{
	struct login_row *l = rec;

	(void)arg;
	snprintf(l->hash, sizeof(l->hash), "%s", l->hash_col);
	snprintf(l->username, sizeof(l->username), "%s", l->name_col);
	l->found = 1;
	return 1;
}

int
page_login_post(struct kreq *req)
{
	const char *user = in_str(req, LI_USERNAME);
	const char *pw = in_str(req, LI_PASSWORD);
	const char *next = safe_next(in_str(req, LI_NEXT));
	const char *typed = in_sent(req, LI_USERNAME);
	struct login_row l = { 0 };
	struct db_param p[2];
	int ok = 0, rehash = 0, st;
	long locked;
	char msg[256];

	/* Before any Argon2id work: a flood from one address is cut off
	 * here, whatever names it tries. */
	st = limit_login(req);
	if (st < 0)
		return view_db_fail(req, "login: rate limit");
	if (st > 0) {
		view_set(req, "Form.Error", view_tr(req, "Too many login "
			"attempts from your address. Wait a little and try "
			"again."));
		return login_form(req, 429, typed ? typed : "", next);
	}
	/* Both fields judged before answering: every error in one round. */
	if (user == NULL || pw == NULL) {
		if (user == NULL)
			view_input_error(req, LI_USERNAME);
		if (pw == NULL)
			view_input_error(req, LI_PASSWORD);
		return login_form(req, 422, user != NULL ? user : "", next);
	}
	locked = auth_locked(req, user);
	if (locked < 0)
		return view_db_fail(req, "login: lockout check");
	if (locked > 0) {
		long min = (locked + 59) / 60;

		snprintf(msg, sizeof(msg), min == 1 ? view_tr(req, "Too many "
			"failed attempts. Try again in %ld minute.") :
			view_tr(req, "Too many failed attempts. Try again in "
			"%ld minutes."), min);
		view_set(req, "Form.Error", msg);
		snprintf(msg, sizeof(msg), "%ld", locked);
		resp_header(req, "Retry-After", msg);
		return login_form(req, 429, user, next);
	}
	p[0] = DB_STR(user);
	if (db_query_into(req->app->db, "SELECT id, password_hash, username,"
	    " disabled FROM users WHERE username = ?", p, 1, login_fields,
	    DB_NFIELDS(login_fields), &l, login_row, NULL) < 0)
		return view_db_fail(req, "login: lookup");
	if (l.found)
		ok = password_verify(l.hash, pw, &rehash);
	else
		password_burn(pw);
	if (!ok || l.disabled) {
		st = auth_login_failed(req, user);
		if (st < 0)
			return view_db_fail(req, "login: throttle");
		audit(req, "login_failed", l.found ? l.id : 0,
			l.found ? l.username : "", "%s", !l.found ?
			"unknown user name" : !ok ? "wrong password" :
			"account disabled");
		if (st == 1)
			audit(req, "lockout", l.found ? l.id : 0,
				l.found ? l.username : "", "after %ld failures "
				"for this name or %ld from this address",
				req->app->cfg.lockout_failures,
				req->app->cfg.lockout_ip_failures);
		view_set(req, "Form.Error", view_tr(req, WRONG));
		return login_form(req, 401, user, next);
	}
	if (rehash) {
		char h[crypto_pwhash_STRBYTES];

		/* The stored hash predates today's Argon2id parameters. */
		if (password_hash(pw, h) == 0) {
			p[0] = DB_STR(h);
			p[1] = DB_INT(l.id);
			if (db_exec(req->app->db, "UPDATE users SET"
			    " password_hash = ? WHERE id = ?", p, 2, NULL,
			    NULL) != 0)
				log_warn("login: rehash: %s",
					db_error(req->app->db));
		}
	}
	/* An account with two-factor login gets no session yet, and its
	 * failure count stands until the code is right too
	 * (page_login_2fa.c). */
	st = login_second_step(req, l.id, next);
	if (st != 0)
		return st < 0 ? -1 : 0;
	p[0] = DB_INT(l.id);
	if (auth_login_ok(req, user) != 0 || session_start(req, l.id) != 0 ||
	    db_exec(req->app->db, "UPDATE users SET last_login_at = NOW(3)"
	    " WHERE id = ?", p, 1, NULL, NULL) != 0)
		return view_db_fail(req, "login: session");
	/* The user who just signed in is the actor. */
	audit_by(req, l.id, l.username, "login", l.id, l.username, "%s", "");
	mail_login_seen(req, l.id);
	return resp_redirect(req, next);
}

int
page_logout(struct kreq *req)
{
	audit(req, "logout", req->auth->user_id, req->auth->username, "%s",
		"");
	if (session_end(req) != 0)
		return view_db_fail(req, "logout");
	if (view_flash(req, "logout") != 0) {
		view_error(req, 500, "internal", "Out of memory.");
		return -1;
	}
	return resp_redirect(req, "/");
}
