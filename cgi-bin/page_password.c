/* page_password.c - a forgotten password: /password/reset asks for a
 * user name or a verified address and answers the same whether or not
 * one matches (no account enumeration), under the login rate limit; a
 * matching account gets a link /password/reset/TOKEN by mail (256-bit
 * token stored as its SHA-256, single use, one hour, void once the
 * password changed after it was made). That page sets a new password
 * under the registration policy, ends every session of the account and
 * signs nobody in: the next login goes through two-factor login as any
 * other. */
#include "accounts.h"
#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "log.h"
#include "mail.h"
#include "ratelimit.h"
#include "view.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reset mails one account gets in an hour, whoever asks. */
#define RESET_PER_HOUR 3

/* POST /password/reset: a user name or an address, looked up as sent. */
enum { PR_WHO };
const struct input password_reset_inputs[] = {
	[PR_WHO] = { .name = "who", .type = IN_STR, .flags = IN_REQUIRED,
		.min = 1, .max = MAIL_ADDR_MAX,
		.msg = "Enter your user name or your e-mail address." },
	IN_END,
};

/* POST /password/reset/TOKEN: password_policy judges them as typed. */
enum { PN_PASSWORD, PN_PASSWORD2 };
const struct input password_new_inputs[] = {
	[PN_PASSWORD] = { .name = "password", .type = IN_STR,
		.max = REQ_MAX_BODY },
	[PN_PASSWORD2] = { .name = "password2", .type = IN_STR,
		.max = REQ_MAX_BODY },
	IN_END,
};

static int
ask_page(struct kreq *req, int status, const char *state)
{
	if (state != NULL)
		view_set(req, "Reset.State", state);
	view_set_int(req, "Reset.Mail", req->app->cfg.mail_enabled);
	view_set_int(req, "Reset.Minutes", EMAIL_RESET_SECONDS / 60);
	return view_render(req, status, "Forgot password",
	    "password_reset.cs");
}

/* ?sent: the answer to a request for a link (POST-redirect-GET), the
 * same whoever was asked for. */
int
page_password_reset(struct kreq *req)
{
	return ask_page(req, 200, req_query(req, "sent") != NULL ? "sent" :
	    NULL);
}

struct who_row {
	unsigned long long id;
	char *username, *display_name, *email;
};

static const struct db_field who_fields[] = {
	DB_FIELD(struct who_row, id, DBF_ULLONG, "id"),
	DB_FIELD(struct who_row, username, DBF_DUP, "username"),
	DB_FIELD(struct who_row, display_name, DBF_DUP, "display_name"),
	DB_FIELD(struct who_row, email, DBF_DUP, "email"),
};

static void
who_free(struct who_row *w)
{
	free(w->username);
	free(w->display_name);
	free(w->email);
	memset(w, 0, sizeof(*w));
}

/* Mails user w a reset link. Returns 0, or -1 (db; logged). */
static int
send_link(struct kreq *req, const struct who_row *w)
{
	const struct kiln_config *cfg = &req->app->cfg;
	char tok[TOKEN_LEN + 1];
	struct buf body = { 0 };
	int rc = -1;

	if (email_token_new(req, w->id, "reset", w->email,
	    EMAIL_RESET_SECONDS, tok) != 0)
		return -1;
	if (buf_printf(&body, "Someone, hopefully you, asked to reset the "
	    "password of the account %s on %s.\n\nTo choose a new password, "
	    "open this link:\n\n%s/password/reset/%s\n\nThe link works once, "
	    "for %d minutes. If you did not ask for this, ignore this mail: "
	    "your password stays as it is.\n\nAsked from: %s\n\n-- \n%s\n%s\n",
	    w->username, cfg->site_name, cfg->base_url, tok,
	    EMAIL_RESET_SECONDS / 60, req->remote_addr ? req->remote_addr : "",
	    cfg->site_name, cfg->base_url) == 0 &&
	    mail_queue(req->app->db, cfg, w->id, "reset", w->email,
	    w->display_name[0] ? w->display_name : w->username,
	    "Reset your password", body.data) >= 0)
		rc = 0;
	if (body.data != NULL)
		sodium_memzero(body.data, body.len);
	buf_free(&body);
	sodium_memzero(tok, sizeof(tok));
	return rc;
}

int
page_password_reset_post(struct kreq *req)
{
	const char *who = in_str(req, PR_WHO);
	struct who_row w = { 0 };
	struct db_param p = DB_STR(who);
	long n = 0, recent;
	int st;

	/* The login's bucket: asking for links is a way to probe names. */
	st = limit_login(req);
	if (st < 0)
		return view_db_fail(req, "reset: rate limit");
	if (st > 0) {
		view_set(req, "Form.Error", view_tr(req, "Too many attempts "
		    "from your address. Wait a little and try again."));
		return ask_page(req, 429, NULL);
	}
	if (who == NULL) {
		view_input_error(req, PR_WHO);
		return ask_page(req, 422, NULL);
	}
	if (!req->app->cfg.mail_enabled)
		return resp_redirect(req, "/password/reset?sent=1");
	/* Only a verified address receives a link; an address two
	 * accounts claim (one verified since) names neither. */
	if (strchr(who, '@') != NULL) {
		if (db_query_long(req->app->db, "SELECT COUNT(*) FROM users"
		    " WHERE email = ? AND email_verified_at IS NOT NULL AND"
		    " disabled = 0", &p, 1, &n) != 0)
			return view_db_fail(req, "reset: lookup");
		if (n == 1)
			n = db_query_into(req->app->db, "SELECT id, username,"
			    " display_name, email FROM users WHERE email = ?"
			    " AND email_verified_at IS NOT NULL AND"
			    " disabled = 0", &p, 1, who_fields,
			    DB_NFIELDS(who_fields), &w, NULL, NULL);
	} else {
		n = db_query_into(req->app->db, "SELECT id, username,"
		    " display_name, email FROM users WHERE username = ? AND"
		    " email IS NOT NULL AND email_verified_at IS NOT NULL AND"
		    " disabled = 0", &p, 1, who_fields,
		    DB_NFIELDS(who_fields), &w, NULL, NULL);
	}
	if (n < 0) {
		who_free(&w);
		return view_db_fail(req, "reset: lookup");
	}
	if (n == 1) {
		recent = email_tokens_recent(req->app->db, w.id, "reset");
		if (recent >= 0 && recent < RESET_PER_HOUR) {
			if (send_link(req, &w) != 0)
				log_warn("reset: link for user %llu: %s", w.id,
				    db_error(req->app->db));
			else
				audit_by(req, 0, "", "password_reset_request",
				    w.id, w.username, "link mailed");
		} else {
			audit_by(req, 0, "", "password_reset_request", w.id,
			    w.username, "%s", recent < 0 ? "db error" :
			    "no link: too many in the last hour");
		}
	} else {
		/* Recorded too (without what was typed: it may be an
		 * address of someone with no account), which also keeps
		 * the work close to a known name's. */
		audit_by(req, 0, "", "password_reset_request", 0, "", "%s",
		    "no account with a verified address matches");
	}
	who_free(&w);
	/* The same page, whoever was asked for. */
	return resp_redirect(req, "/password/reset?sent=1");
}

struct reset_row {
	unsigned long long id, user_id;
	char *username;
};

static const struct db_field reset_fields[] = {
	DB_FIELD(struct reset_row, id, DBF_ULLONG, "id"),
	DB_FIELD(struct reset_row, user_id, DBF_ULLONG, "user_id"),
	DB_FIELD(struct reset_row, username, DBF_DUP, "username"),
};

/* The live reset token of the request's URL into r. Returns 1, 0 when
 * there is none (malformed, unknown, used, expired, the password changed
 * since, the account disabled), -1 on a db error. */
static int
reset_token(struct kreq *req, struct reset_row *r)
{
	const char *tok = req->captures[0];
	char hash[DIGEST_HEX + 1];
	struct db_param p;
	long n;

	if (!email_token_syntax(tok))
		return 0;
	digest_hex(tok, hash);
	p = DB_STR(hash);
	n = db_query_into(req->app->db, "SELECT t.id, t.user_id, u.username"
	    " FROM email_tokens t JOIN users u ON u.id = t.user_id WHERE"
	    " t.token_hash = ? AND t.purpose = 'reset' AND t.used_at IS NULL"
	    " AND t.expires_at > NOW(3) AND u.disabled = 0 AND"
	    " (u.password_changed_at IS NULL OR u.password_changed_at <"
	    " t.created_at)", &p, 1, reset_fields, DB_NFIELDS(reset_fields),
	    r, NULL, NULL);
	return n < 0 ? -1 : n > 0;
}

static int
new_page(struct kreq *req, int status, const char *state)
{
	view_set(req, "Reset.State", state);
	/* The token is in the URL: no cache keeps the page. */
	resp_header(req, "Cache-Control", "no-store");
	return view_render(req, status, "New password", "password_new.cs");
}

int
page_password_new(struct kreq *req)
{
	struct reset_row r = { 0 };
	int st = reset_token(req, &r);

	free(r.username);
	if (st < 0)
		return view_db_fail(req, "reset: token");
	return new_page(req, st ? 200 : 404, st ? "form" : "invalid");
}

int
page_password_new_post(struct kreq *req)
{
	const char *pw = in_str(req, PN_PASSWORD);
	const char *pw2 = in_str(req, PN_PASSWORD2);
	char hash[crypto_pwhash_STRBYTES], why[512], msg[640];
	struct reset_row r = { 0 };
	struct db_param p[2];
	unsigned long long n = 0;
	long ended;
	int st, rc = -1;

	st = limit_login(req);
	if (st < 0)
		return view_db_fail(req, "reset: rate limit");
	if (st > 0) {
		view_set(req, "Form.Error", view_tr(req, "Too many attempts "
		    "from your address. Wait a little and try again."));
		return new_page(req, 429, "form");
	}
	st = reset_token(req, &r);
	if (st < 0) {
		view_db_fail(req, "reset: token");
		goto out;
	}
	if (st == 0) {
		rc = new_page(req, 404, "invalid");
		goto out;
	}
	if (pw == NULL || password_policy_lang(pw, r.username,
	    view_lang(req), why, sizeof(why)) != 0) {
		snprintf(msg, sizeof(msg), view_tr(req, "New password %s."),
		    pw == NULL ? view_tr(req, "is required") : why);
		view_field_error(req, "password", msg);
		rc = new_page(req, 422, "form");
		goto out;
	}
	if (pw2 == NULL || strcmp(pw, pw2) != 0) {
		view_field_error(req, "password2", "The two new passwords "
		    "differ.");
		rc = new_page(req, 422, "form");
		goto out;
	}
	if (password_hash(pw, hash) != 0) {
		view_error(req, 500, "internal", "Out of memory.");
		goto out;
	}
	/* The link is spent by the one request that marks it. */
	p[0] = DB_INT(r.id);
	if (db_exec(req->app->db, "UPDATE email_tokens SET used_at = NOW(3)"
	    " WHERE id = ? AND used_at IS NULL AND expires_at > NOW(3)", p,
	    1, &n, NULL) != 0) {
		view_db_fail(req, "reset: claim");
		goto out;
	}
	if (n != 1) {
		rc = new_page(req, 404, "invalid");
		goto out;
	}
	/* The new password voids the account's other reset links (they
	 * predate password_changed_at), its sessions and any login
	 * waiting for its second step. */
	p[0] = DB_STR(hash);
	p[1] = DB_INT(r.user_id);
	if (db_exec(req->app->db, "UPDATE users SET password_hash = ?,"
	    " password_changed_at = NOW(3) WHERE id = ?", p, 2, NULL,
	    NULL) != 0) {
		view_db_fail(req, "reset: password");
		goto out;
	}
	p[0] = DB_INT(r.user_id);
	ended = sessions_end(req->app->db, r.user_id, 0, 0);
	if (ended < 0 || db_exec(req->app->db, "DELETE FROM login_pending"
	    " WHERE user_id = ?", p, 1, NULL, NULL) != 0) {
		view_db_fail(req, "reset: sessions");
		goto out;
	}
	auth_login_ok(req, r.username);
	audit_by(req, r.user_id, r.username, "password_reset", r.user_id,
	    r.username, "by an e-mailed link; %ld session(s) ended", ended);
	mail_notify(req, r.user_id, "password", "Your password was changed",
	    "The password of your account on %s was changed with a reset "
	    "link, and every session of the account was ended.",
	    req->app->cfg.site_name);
	/* This browser's session, if any, was one of them. */
	if (req->auth != NULL)
		resp_cookie(req, SESSION_COOKIE, "", 0);
	if (view_flash(req, "password_reset") != 0) {
		view_error(req, 500, "internal", "Out of memory.");
		goto out;
	}
	rc = resp_redirect(req, "/login");
out:
	sodium_memzero(hash, sizeof(hash));
	free(r.username);
	return rc;
}
