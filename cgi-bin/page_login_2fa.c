/* page_login_2fa.c - the second step of a login for an account with
 * two-factor login (GET/POST /login/2fa): the password was right, no
 * session exists yet, and a short-lived single-use row (login_pending,
 * named by a cookie) waits for a TOTP or recovery code. Guarded like the
 * password: the login rate limit per address and the lockout per name. */
#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "i18n.h"
#include "log.h"
#include "mail.h"
#include "ratelimit.h"
#include "twofa.h"
#include "view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* POST /login/2fa's form: the code as typed (spaces allowed, stripped:
 * apps show "123 456"), and the remember-this-device box. */
enum { L2_CODE, L2_REMEMBER };
const struct input login_2fa_inputs[] = {
	[L2_CODE] = { .name = "code", .type = IN_STR, .flags = IN_REQUIRED,
		.min = 1, .max = 64,
		.msg = "Enter the code from your app or a recovery code." },
	[L2_REMEMBER] = { .name = "remember", .type = IN_BOOL },
	IN_END,
};

int
login_second_step(struct kreq *req, unsigned long long user_id,
	const char *next)
{
	int st = twofa_enabled(req->app->db, user_id);

	if (st == 0)
		return 0;
	if (st > 0)
		st = twofa_device_known(req, user_id);
	if (st > 0)
		return 0;	/* a remembered browser: the password will do */
	if (st < 0 || twofa_pending_start(req, user_id, next) != 0) {
		view_db_fail(req, "login: second step");
		return -1;
	}
	return resp_redirect(req, "/login/2fa") == 0 ? 1 : -1;
}

static int
form(struct kreq *req, int status, const char *error)
{
	/* error is a msgid (N_) or a message already translated. */
	if (error != NULL && view_set(req, "Form.Error", view_tr(req,
	    error)) != 0) {
		view_error(req, 500, "internal", "Out of memory.");
		return -1;
	}
	view_set_int(req, "Form.Minutes", TWOFA_PENDING_SECONDS / 60);
	view_set_int(req, "Form.Days", TWOFA_DEVICE_DAYS);
	return view_render(req, status, "Two-factor login", "login_2fa.cs");
}

/* No live pending login: back to the password, the stale cookie gone. */
static int
start_over(struct kreq *req)
{
	if (resp_cookie(req, TWOFA_PENDING_COOKIE, "", 0) != 0 ||
	    resp_redirect(req, "/login") != 0) {
		view_error(req, 500, "internal", "Out of memory.");
		return -1;
	}
	return 0;
}

int
page_login_2fa(struct kreq *req)
{
	unsigned long long id, uid;
	char *name = NULL, *next = NULL;
	int st;

	if (req->auth != NULL)
		return resp_redirect(req, "/account");
	st = twofa_pending_get(req, &id, &uid, &name, &next);
	free(name);
	free(next);
	if (st < 0)
		return view_db_fail(req, "login 2fa: lookup");
	if (st == 0)
		return start_over(req);
	return form(req, 200, NULL);
}

int
page_login_2fa_post(struct kreq *req)
{
	const char *typed = in_str(req, L2_CODE);
	unsigned long long id = 0, uid = 0, n = 0;
	char *name = NULL, *next = NULL, code[65], msg[256];
	struct db_param p[2];
	int st, rc = -1, recovery = 0;
	long locked, left = 0;

	st = limit_login(req);
	if (st < 0)
		return view_db_fail(req, "login 2fa: rate limit");
	if (st > 0)
		return form(req, 429, N_("Too many login attempts from your "
			"address. Wait a little and try again."));
	st = twofa_pending_get(req, &id, &uid, &name, &next);
	if (st < 0)
		return view_db_fail(req, "login 2fa: lookup");
	if (st == 0)
		return start_over(req);
	locked = auth_locked(req, name);
	if (locked < 0) {
		view_db_fail(req, "login 2fa: lockout check");
		goto out;
	}
	if (locked > 0) {
		long min = (locked + 59) / 60;

		snprintf(msg, sizeof(msg), "%ld", locked);
		resp_header(req, "Retry-After", msg);
		snprintf(msg, sizeof(msg), min == 1 ? view_tr(req, "Too many "
			"failed attempts. Try again in %ld minute.") :
			view_tr(req, "Too many failed attempts. Try again in "
			"%ld minutes."), min);
		rc = form(req, 429, msg);
		goto out;
	}
	if (typed == NULL) {
		view_input_error(req, L2_CODE);
		rc = form(req, 422, NULL);
		goto out;
	}
	twofa_code_clean(typed, code, sizeof(code));
	if (totp_code_syntax(code))
		st = twofa_check_totp(req, uid, code, 0);
	else {
		st = twofa_use_recovery(req, uid, code);
		recovery = 1;
	}
	if (st < 0) {
		view_db_fail(req, "login 2fa: check");
		goto out;
	}
	if (st == 0) {
		st = auth_login_failed(req, name);
		p[0] = DB_INT(id);
		p[1] = DB_INT(TWOFA_PENDING_TRIES);
		if (st < 0 || db_exec(req->app->db, "UPDATE login_pending SET"
		    " tries = tries + 1 WHERE id = ?", p, 1, NULL, NULL) != 0 ||
		    db_exec(req->app->db, "DELETE FROM login_pending WHERE"
		    " id = ? AND tries >= ?", p, 2, NULL, NULL) != 0) {
			view_db_fail(req, "login 2fa: throttle");
			goto out;
		}
		audit_by(req, uid, name, "login_failed", uid, name, "%s",
			"wrong two-factor code");
		if (st == 1)
			audit_by(req, uid, name, "lockout", uid, name, "after "
				"%ld failures for this name or %ld from this "
				"address", req->app->cfg.lockout_failures,
				req->app->cfg.lockout_ip_failures);
		rc = form(req, 401, N_("Wrong code."));
		goto out;
	}
	/* The pending login is spent by the one request that deletes it. */
	p[0] = DB_INT(id);
	if (db_exec(req->app->db, "DELETE FROM login_pending WHERE id = ?", p,
	    1, &n, NULL) != 0) {
		view_db_fail(req, "login 2fa: claim");
		goto out;
	}
	if (n != 1) {
		rc = start_over(req);
		goto out;
	}
	p[0] = DB_INT(uid);
	if (auth_login_ok(req, name) != 0 || session_start(req, uid) != 0 ||
	    db_exec(req->app->db, "UPDATE users SET last_login_at = NOW(3)"
	    " WHERE id = ?", p, 1, NULL, NULL) != 0 ||
	    (in_long(req, L2_REMEMBER) &&
	    twofa_device_remember(req, uid) != 0) ||
	    resp_cookie(req, TWOFA_PENDING_COOKIE, "", 0) != 0) {
		view_db_fail(req, "login 2fa: session");
		goto out;
	}
	if (recovery) {
		if (db_query_long(req->app->db, "SELECT COUNT(*) FROM"
		    " recovery_codes WHERE user_id = ? AND used_at IS NULL", p,
		    1, &left) != 0)
			left = -1;
		audit_by(req, uid, name, "2fa_recovery_used", uid, name,
			"%ld recovery codes left", left);
	}
	audit_by(req, uid, name, "login", uid, name, "two-factor: %s%s",
		recovery ? "recovery code" : "app code",
		in_long(req, L2_REMEMBER) ? ", device remembered" : "");
	mail_login_seen(req, uid);
	rc = resp_redirect(req, safe_next(next));
out:
	free(name);
	free(next);
	return rc;
}
