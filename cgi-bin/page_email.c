/* page_email.c - the account's e-mail address: set or change it on
 * /account (POST /account/email; the address is unverified until the
 * link mailed to it is opened), and that link (GET
 * /account/email/verify/TOKEN: single use, 24 hours, only for the address
 * it was sent to). Also the e-mailed tokens' shared helpers (handlers.h)
 * for page_password.c. */
#include "accounts.h"
#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "i18n.h"
#include "log.h"
#include "mail.h"
#include "util.h"
#include "view.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Verification mails one account may ask for in an hour. */
#define VERIFY_PER_HOUR 5

static int
address_ok(const char *s)
{
	return mail_address_valid(s);
}

/* POST /account/email's form: an address (empty: remove it). */
enum { EM_EMAIL };
const struct input email_inputs[] = {
	[EM_EMAIL] = { .name = "email", .type = IN_STR, .flags = IN_BLANK,
		.max = MAIL_ADDR_MAX, .check = address_ok,
		.msg = "E-mail address: one address like name@example.org "
		"(ASCII letters, digits and .!#$%&'*+/=?^_`{|}~- before the "
		"@), at most 254 characters." },
	IN_END,
};

int
email_token_syntax(const char *t)
{
	size_t i;

	if (t == NULL || strlen(t) != TOKEN_LEN)
		return 0;
	for (i = 0; i < TOKEN_LEN; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') ||
		    (t[i] >= 'A' && t[i] <= 'Z') ||
		    (t[i] >= '0' && t[i] <= '9') || t[i] == '-' ||
		    t[i] == '_'))
			return 0;
	return 1;
}

int
email_token_new(struct kreq *req, unsigned long long user_id,
	const char *purpose, const char *email, long seconds, char *tok)
{
	char hash[DIGEST_HEX + 1];
	struct db_param p[6];

	if (token_new(tok) != 0)
		return -1;
	/* The account's dead links go as a new one comes: the table holds
	 * only what may still be opened, and the last day's for the hourly
	 * caps. */
	p[0] = DB_INT(user_id);
	if (db_exec(req->app->db, "DELETE FROM email_tokens WHERE user_id = ?"
	    " AND expires_at < NOW(3) - INTERVAL 1 DAY", p, 1, NULL,
	    NULL) != 0)
		return -1;
	digest_hex(tok, hash);
	p[0] = DB_INT(user_id);
	p[1] = DB_STR(purpose);
	p[2] = DB_STR(hash);
	p[3] = DB_STR(email);
	p[4] = DB_STR(req->remote_addr ? req->remote_addr : "");
	p[5] = DB_INT(seconds);
	if (db_exec(req->app->db, "INSERT INTO email_tokens (user_id,"
	    " purpose, token_hash, email, ip, expires_at) VALUES"
	    " (?, ?, ?, ?, ?, NOW(3) + INTERVAL ? SECOND)", p, 6, NULL,
	    NULL) != 0) {
		sodium_memzero(tok, TOKEN_LEN + 1);
		return -1;
	}
	return 0;
}

long
email_tokens_recent(struct db *db, unsigned long long user_id,
	const char *purpose)
{
	struct db_param p[2] = { DB_INT(user_id), DB_STR(purpose) };
	long n = 0;

	if (db_query_long(db, "SELECT COUNT(*) FROM email_tokens WHERE"
	    " user_id = ? AND purpose = ? AND created_at > NOW(3) -"
	    " INTERVAL 1 HOUR", p, 2, &n) != 0)
		return -1;
	return n;
}

/* ?done= notices of this form, kept here so the account page's own
 * table stays as it is. */
static const char *const done_msgs[][2] = {
	{ "email", N_("A link to confirm the address was mailed to it; the "
	  "address counts once you open it (within 24 hours).") },
	{ "email-removed", N_("E-mail address removed.") },
	{ "email-same", N_("That address is already yours and verified.") },
};

int
email_load(struct kreq *req)
{
	struct db_param p = DB_INT(req->auth->user_id);
	const char *done = req_query(req, "done");
	size_t i;

	for (i = 0; done != NULL && i < ARRAY_LEN(done_msgs); i++)
		if (!strcmp(done, done_msgs[i][0]))
			view_set(req, "Email.Done", view_tr(req,
				done_msgs[i][1]));
	view_set_int(req, "Email.Enabled", req->app->cfg.mail_enabled);
	return view_rows(req, "Email.Current", "SELECT COALESCE(email, '')"
	    " AS Address, email_verified_at IS NOT NULL AS Verified,"
	    " COALESCE(DATE_FORMAT(email_verified_at, '%Y-%m-%d %H:%i'), '')"
	    " AS VerifiedAt FROM users WHERE id = ?", &p, 1) < 0 ? -1 : 0;
}

/* The account page again with the address field's error. */
static int
refuse(struct kreq *req, int status, const char *msg)
{
	const char *sent = in_sent(req, EM_EMAIL);

	view_field_error(req, "email", msg);
	if (sent != NULL && mail_header_text_ok(sent))
		view_set(req, "Form.Email", sent);
	return page_account_show(req, status);
}

int
page_account_email(struct kreq *req)
{
	const char *email = in_str(req, EM_EMAIL);
	const struct kiln_config *cfg = &req->app->cfg;
	char tok[TOKEN_LEN + 1], *cur = NULL;
	struct db_param p[2];
	struct buf body = { 0 };
	long recent, verified = 0;
	int rc = -1;

	if (in_bad(req, EM_EMAIL)) {
		view_input_error(req, EM_EMAIL);
		return page_account_show(req, 422);
	}
	p[0] = DB_INT(req->auth->user_id);
	if (db_query_string(req->app->db, "SELECT email FROM users WHERE"
	    " id = ?", p, 1, &cur) != 0 || db_query_long(req->app->db,
	    "SELECT email_verified_at IS NOT NULL FROM users WHERE id = ?", p,
	    1, &verified) != 0) {
		free(cur);
		return view_db_fail(req, "email: lookup");
	}
	if (email == NULL) {
		if (cur == NULL) {
			rc = resp_redirect(req, "/account");
			goto out;
		}
		/* The old address hears of it first: the notice goes only
		 * to a verified address, which is about to go. */
		mail_notify(req, req->auth->user_id, "email", "E-mail address "
		    "removed", "The e-mail address of your account on %s "
		    "(this one) was removed from it.", cfg->site_name);
		if (db_exec(req->app->db, "UPDATE users SET email = NULL,"
		    " email_verified_at = NULL WHERE id = ?", p, 1, NULL,
		    NULL) != 0) {
			view_db_fail(req, "email: remove");
			goto out;
		}
		audit(req, "email_remove", req->auth->user_id,
		    req->auth->username, "address removed");
		rc = resp_redirect(req, "/account?done=email-removed");
		goto out;
	}
	if (cur != NULL && verified && !strcasecmp(cur, email)) {
		rc = resp_redirect(req, "/account?done=email-same");
		goto out;
	}
	if (!cfg->mail_enabled) {
		rc = refuse(req, 422, "E-mail address: this site sends no "
		    "e-mail, so no address can be verified here.");
		goto out;
	}
	recent = email_tokens_recent(req->app->db, req->auth->user_id,
	    "verify");
	if (recent < 0) {
		view_db_fail(req, "email: count");
		goto out;
	}
	if (recent >= VERIFY_PER_HOUR) {
		rc = refuse(req, 429, "E-mail address: too many verification "
		    "mails in the last hour; try again later.");
		goto out;
	}
	if (cur != NULL && verified)
		mail_notify(req, req->auth->user_id, "email", "E-mail address "
		    "changed", "The e-mail address of your account on %s is "
		    "being changed from this one to %s.", cfg->site_name,
		    email);
	p[0] = DB_STR(email);
	p[1] = DB_INT(req->auth->user_id);
	if (db_exec(req->app->db, "UPDATE users SET email = ?,"
	    " email_verified_at = NULL WHERE id = ?", p, 2, NULL, NULL) != 0 ||
	    email_token_new(req, req->auth->user_id, "verify", email,
	    EMAIL_VERIFY_SECONDS, tok) != 0) {
		view_db_fail(req, "email: set");
		goto out;
	}
	if (buf_printf(&body, "Someone, hopefully you, gave this address to "
	    "the account %s on %s.\n\nTo confirm it, open this link:\n\n"
	    "%s/account/email/verify/%s\n\nThe link works once, for 24 "
	    "hours. If you did not ask for this, ignore this mail: the "
	    "address stays unverified and receives nothing else.\n\n-- \n"
	    "%s\n%s\n", req->auth->username, cfg->site_name, cfg->base_url,
	    tok, cfg->site_name, cfg->base_url) != 0 ||
	    mail_queue(req->app->db, cfg, req->auth->user_id, "verify", email,
	    req->auth->display_name, "Confirm your e-mail address",
	    body.data) < 0) {
		view_error(req, 500, "internal", "The verification mail could "
		    "not be queued.");
		goto out;
	}
	audit(req, "email_change", req->auth->user_id, req->auth->username,
	    "verification mailed to %s", email);
	rc = resp_redirect(req, "/account?done=email");
out:
	if (body.data != NULL)
		sodium_memzero(body.data, body.len);
	buf_free(&body);
	sodium_memzero(tok, sizeof(tok));
	free(cur);
	return rc;
}

struct vrow {
	unsigned long long id, user_id;
	char *email, *current, *username;
	long taken;
};

static const struct db_field vrow_fields[] = {
	DB_FIELD(struct vrow, id, DBF_ULLONG, "id"),
	DB_FIELD(struct vrow, user_id, DBF_ULLONG, "user_id"),
	DB_FIELD(struct vrow, email, DBF_DUP, "email"),
	DB_FIELD_NULL(struct vrow, current, DBF_DUP, "current"),
	DB_FIELD(struct vrow, username, DBF_DUP, "username"),
	DB_FIELD(struct vrow, taken, DBF_LONG, "taken"),
};

static int
verify_page(struct kreq *req, int status, const char *state)
{
	view_set(req, "Verify.State", state);
	resp_header(req, "Cache-Control", "no-store");
	return view_render(req, status, "E-mail address", "email_verify.cs");
}

int
page_email_verify(struct kreq *req)
{
	const char *tok = req->captures[0];
	char hash[DIGEST_HEX + 1];
	struct vrow v = { 0 };
	struct db_param p[2];
	unsigned long long n = 0;
	long got;
	int rc = -1;

	if (!email_token_syntax(tok))
		return verify_page(req, 404, "invalid");
	digest_hex(tok, hash);
	p[0] = DB_STR(hash);
	/* taken: another account already verified this address. */
	got = db_query_into(req->app->db, "SELECT t.id, t.user_id, t.email,"
	    " u.email AS current, u.username, (SELECT COUNT(*) FROM users o"
	    " WHERE o.email = t.email AND o.email_verified_at IS NOT NULL"
	    " AND o.id <> t.user_id) AS taken FROM email_tokens t JOIN users"
	    " u ON u.id = t.user_id WHERE t.token_hash = ? AND t.purpose ="
	    " 'verify' AND t.used_at IS NULL AND t.expires_at > NOW(3)", p, 1,
	    vrow_fields, DB_NFIELDS(vrow_fields), &v, NULL, NULL);
	if (got < 0) {
		view_db_fail(req, "email verify: lookup");
		goto out;
	}
	/* Unknown, used, expired, or for an address the account has
	 * since changed from. */
	if (got == 0 || v.current == NULL || strcasecmp(v.current, v.email)) {
		rc = verify_page(req, 404, "invalid");
		goto out;
	}
	if (v.taken > 0) {
		rc = verify_page(req, 409, "taken");
		goto out;
	}
	p[0] = DB_INT(v.id);
	if (db_exec(req->app->db, "UPDATE email_tokens SET used_at = NOW(3)"
	    " WHERE id = ? AND used_at IS NULL", p, 1, &n, NULL) != 0) {
		view_db_fail(req, "email verify: claim");
		goto out;
	}
	if (n != 1) {
		rc = verify_page(req, 404, "invalid");
		goto out;
	}
	p[0] = DB_INT(v.user_id);
	p[1] = DB_STR(v.email);
	if (db_exec(req->app->db, "UPDATE users SET email_verified_at ="
	    " NOW(3) WHERE id = ? AND email = ?", p, 2, NULL, NULL) != 0) {
		view_db_fail(req, "email verify: set");
		goto out;
	}
	audit_by(req, v.user_id, v.username, "email_verify", v.user_id,
	    v.username, "%s verified", v.email);
	view_set(req, "Verify.Email", v.email);
	rc = verify_page(req, 200, "verified");
out:
	free(v.email);
	free(v.current);
	free(v.username);
	return rc;
}
