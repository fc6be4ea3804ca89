/* page_admin_users.c - /admin/users: find accounts; for one account, turn
 * it off and on, change role and tier, reset its password, end its
 * sessions and revoke its keys. Every change is audited. */
#include "accounts.h"
#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "i18n.h"
#include "log.h"
#include "util.h"
#include "view.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* POST /admin/users/{id}/status's form. */
enum { ST_DISABLED };
const struct input user_status_inputs[] = {
	[ST_DISABLED] = { .name = "disabled", .type = IN_BOOL,
		.flags = IN_REQUIRED,
		.msg = "Status: disabled must be 0 or 1." },
	IN_END,
};

/* POST /admin/users/{id}/role's form; the tier must be one kiln.conf
 * defines, which the handler asks (its message lists them). */
static const char *const roles[] = { "admin", "moderator", "user",
	NULL };
enum { RO_ROLE, RO_TIER };
const struct input user_role_inputs[] = {
	[RO_ROLE] = { .name = "role", .type = IN_ENUM, .flags = IN_REQUIRED,
		.choices = roles,
		.msg = "Role: admin, moderator or user." },
	[RO_TIER] = { .name = "tier", .type = IN_STR,
		.flags = IN_REQUIRED | IN_TEXT, .min = 1, .max = 32 },
	IN_END,
};

/* POST /admin/users/{id}/credits's form. */
enum { CR_AMOUNT, CR_NOTE };
const struct input user_credits_inputs[] = {
	[CR_AMOUNT] = { .name = "amount", .type = IN_INT,
		.flags = IN_REQUIRED, .min = -1000000000L, .max = 1000000000L,
		.msg = "Credits: a whole number, not 0 (negative takes "
		"credits away)." },
	[CR_NOTE] = { .name = "note", .type = IN_STR, .flags = IN_TEXT,
		.max = 200, .msg = "Note: at most 200 bytes of text." },
	IN_END,
};

static int
not_found(struct kreq *req)
{
	view_error(req, 404, "not_found", "No such user.");
	return -1;
}

int
page_admin_users(struct kreq *req)
{
	const char *q = req_query(req, "q");
	struct db_param p[2];
	char *like;
	long n;

	like = like_pattern(q ? q : "");
	p[0] = DB_STR(like);
	p[1] = DB_STR(like);
	n = view_rows(req, "Users.List", "SELECT id AS Id,"
		" username AS Username, display_name AS DisplayName,"
		" role AS Role, tier AS Tier, disabled AS Disabled,"
		" DATE_FORMAT(created_at, '%Y-%m-%d') AS Created,"
		" COALESCE(DATE_FORMAT(last_login_at, '%Y-%m-%d %H:%i'), '')"
		" AS LastLogin"
		" FROM users WHERE username LIKE ? OR display_name LIKE ?"
		" ORDER BY username LIMIT 200", p, 2);
	free(like);
	if (n < 0)
		return view_db_fail(req, "admin users: list");
	view_set(req, "Users.Q", q ? q : "");
	view_set_int(req, "Users.Count", n);
	return view_render(req, 200, "Users", "admin_users.cs");
}

/* The detail page of user id into the template data. Returns 1, 0 for no
 * such user, -1 on a db error. */
static int
load_user(struct kreq *req, unsigned long long id)
{
	struct db_param p[1];
	long n;

	p[0] = DB_INT(id);
	n = view_rows(req, "User", "SELECT id AS Id, username AS Username,"
		" display_name AS DisplayName, role AS Role, tier AS Tier,"
		" disabled AS Disabled,"
		" DATE_FORMAT(created_at, '%Y-%m-%d %H:%i') AS Created,"
		" COALESCE(DATE_FORMAT(last_login_at, '%Y-%m-%d %H:%i'), '')"
		" AS LastLogin,"
		" COALESCE(DATE_FORMAT(password_changed_at,"
		" '%Y-%m-%d %H:%i'), '') AS PasswordChanged,"
		" credits AS Credits, EXISTS (SELECT 1 FROM user_totp t"
		" WHERE t.user_id = users.id AND t.enabled_at IS NOT NULL)"
		" AS TwoFactor FROM users WHERE id = ?", p, 1);
	if (n <= 0)
		return (int)n;
	if (view_rows(req, "Sessions", "SELECT id AS Id,"
	    " DATE_FORMAT(created_at, '%Y-%m-%d %H:%i') AS Created,"
	    " DATE_FORMAT(last_seen_at, '%Y-%m-%d %H:%i') AS LastSeen,"
	    " ip AS Ip, user_agent AS Agent"
	    " FROM sessions WHERE user_id = ? AND expires_at > NOW(3)"
	    " ORDER BY last_seen_at DESC LIMIT 100", p, 1) < 0 ||
	    view_rows(req, "Keys", "SELECT id AS Id, name AS Name,"
	    " prefix AS Prefix, scopes AS Scopes,"
	    " DATE_FORMAT(created_at, '%Y-%m-%d %H:%i') AS Created,"
	    " COALESCE(DATE_FORMAT(last_used_at, '%Y-%m-%d %H:%i'), '')"
	    " AS LastUsed,"
	    " COALESCE(DATE_FORMAT(revoked_at, '%Y-%m-%d %H:%i'), '')"
	    " AS Revoked"
	    " FROM api_keys WHERE user_id = ? ORDER BY id DESC LIMIT 100", p,
	    1) < 0 ||
	    view_rows(req, "Audit", "SELECT"
	    " DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s') AS At, actor AS Actor,"
	    " ip AS Ip, action AS Action, detail AS Detail"
	    " FROM audit_log WHERE target_id = ? OR actor_id = ?"
	    " ORDER BY id DESC LIMIT 20", (struct db_param[]){ p[0], p[0] },
	    2) < 0 || admin_user_exports(req, id) < 0)
		return -1;
	return 1;
}

static int
show_user(struct kreq *req, unsigned long long id, int status)
{
	int st = load_user(req, id);

	if (st < 0)
		return view_db_fail(req, "admin users: load");
	if (st == 0)
		return not_found(req);
	return view_render(req, status, "User", "admin_user.cs");
}

int
page_admin_user(struct kreq *req)
{
	unsigned long long id = req_id(req, 0);

	return id ? show_user(req, id, 200) : not_found(req);
}

/* The target's user name for the audit row; NULL (404 sent) when there is
 * no such user, or on a db error (error sent). */
static char *
target_name(struct kreq *req, unsigned long long id)
{
	struct db_param p[1];
	char *name = NULL;

	if (id == 0) {
		not_found(req);
		return NULL;
	}
	p[0] = DB_INT(id);
	if (db_query_string(req->app->db, "SELECT username FROM users"
	    " WHERE id = ?", p, 1, &name) != 0) {
		view_db_fail(req, "admin users: lookup");
		return NULL;
	}
	if (name == NULL)
		not_found(req);
	return name;
}

static int
back_to(struct kreq *req, unsigned long long id)
{
	char url[64];

	snprintf(url, sizeof(url), "/admin/users/%llu", id);
	/* Every change here says it was made on the page it returns to. */
	if (view_flash(req, "user_saved") != 0)
		return -1;
	return resp_redirect(req, url);
}

int
page_admin_user_status(struct kreq *req)
{
	unsigned long long id = req_id(req, 0);
	char *name = target_name(req, id);
	int off = (int)in_long(req, ST_DISABLED), st, rc = -1;

	if (name == NULL)
		return -1;
	if (in_bad(req, ST_DISABLED)) {
		view_input_error(req, ST_DISABLED);
		rc = show_user(req, id, 422);
		goto out;
	}
	if (off && id == req->auth->user_id) {
		view_field_error(req, "disabled", "Status: you cannot disable "
			"your own account.");
		rc = show_user(req, id, 422);
		goto out;
	}
	st = user_set_disabled(req->app->db, id, off);
	if (st < 0) {
		view_db_fail(req, "admin users: status");
		goto out;
	}
	audit(req, off ? "user_disable" : "user_enable", id, name, "%s",
		off ? "sessions ended, keys refused while disabled" : "");
	rc = back_to(req, id);
out:
	free(name);
	return rc;
}

int
page_admin_user_role(struct kreq *req)
{
	unsigned long long id = req_id(req, 0);
	const char *role = in_str(req, RO_ROLE);
	const char *tier = in_str(req, RO_TIER);
	char *name = target_name(req, id), *old = NULL;
	struct db_param p[3];
	int bad = 0, rc = -1;

	if (name == NULL)
		return -1;
	if (role == NULL)
		bad += !view_input_error(req, RO_ROLE);
	else if (id == req->auth->user_id && strcmp(role, "admin") != 0)
		bad += !view_field_error(req, "role", "Role: you cannot remove "
			"your own admin role; ask another administrator.");
	if (tier == NULL || !tier_known(&req->app->cfg, tier)) {
		struct buf b = { 0 };

		/* Only a tier kiln.conf defines: any other would get the
		 * default limits under a name that promises others. */
		buf_puts(&b, view_tr(req, "Tier: unknown; defined in "
			"kiln.conf: "));
		tier_names(&req->app->cfg, &b);
		buf_puts(&b, ".");
		bad += !view_field_error(req, "tier", b.data ? b.data :
			N_("Tier: unknown."));
		buf_free(&b);
	}
	if (bad) {
		rc = show_user(req, id, 422);
		goto out;
	}
	p[0] = DB_INT(id);
	if (db_query_string(req->app->db, "SELECT CONCAT(role, ' ', tier)"
	    " FROM users WHERE id = ?", p, 1, &old) != 0) {
		view_db_fail(req, "admin users: role");
		goto out;
	}
	p[0] = DB_STR(role);
	p[1] = DB_STR(tier);
	p[2] = DB_INT(id);
	if (db_exec(req->app->db, "UPDATE users SET role = ?, tier = ?"
	    " WHERE id = ?", p, 3, NULL, NULL) != 0) {
		view_db_fail(req, "admin users: role");
		goto out;
	}
	audit(req, "role_change", id, name, "role and tier: %s -> %s %s",
		old ? old : "?", role, tier);
	rc = back_to(req, id);
out:
	free(old);
	free(name);
	return rc;
}

int
page_admin_user_password(struct kreq *req)
{
	unsigned long long id = req_id(req, 0);
	char *name = target_name(req, id);
	char pw[33], hash[crypto_pwhash_STRBYTES];
	struct db_param p[2];
	int rc = -1;

	if (name == NULL)
		return -1;
	/* 128 random bits the user types once and then changes. */
	if (random_hex(pw, 16) != 0 || password_hash(pw, hash) != 0) {
		view_error(req, 500, "internal", N_("No randomness or "
			"memory."));
		goto out;
	}
	p[0] = DB_STR(hash);
	p[1] = DB_INT(id);
	if (db_exec(req->app->db, "UPDATE users SET password_hash = ?,"
	    " password_changed_at = NOW(3) WHERE id = ?", p, 2, NULL,
	    NULL) != 0 || sessions_end(req->app->db, id, 0, 0) < 0) {
		view_db_fail(req, "admin users: password");
		goto out;
	}
	audit(req, "password_reset", id, name, "sessions ended");
	view_set(req, "NewPassword", pw);
	rc = show_user(req, id, 200);
out:
	sodium_memzero(pw, sizeof(pw));
	free(name);
	return rc;
}

/* The end of a session or key revocation of user id (name, consumed):
 * st is what the revoke returned (<0 db error, 0 no such thing of that
 * user); what and xid name the thing in the audit log ("WHAT_revoke",
 * "WHAT XID"), missing is the 404's text. */
static int
revoked(struct kreq *req, unsigned long long id, char *name, long st,
	const char *what, unsigned long long xid, const char *missing)
{
	char action[32];
	int rc = -1;

	snprintf(action, sizeof(action), "%s_revoke", what);
	if (st < 0)
		view_db_fail(req, "admin users: revoke");
	else if (st == 0)
		view_error(req, 404, "not_found", missing);
	else {
		audit(req, action, id, name, "%s %llu", what, xid);
		rc = back_to(req, id);
	}
	free(name);
	return rc;
}

int
page_admin_user_session_revoke(struct kreq *req)
{
	unsigned long long id = req_id(req, 0), sid = req_id(req, 1);
	char *name = target_name(req, id);

	if (name == NULL)
		return -1;
	return revoked(req, id, name, sid ? sessions_end(req->app->db, id,
		sid, 0) : 0, "session", sid, N_("No such session."));
}

int
page_admin_user_key_revoke(struct kreq *req)
{
	unsigned long long id = req_id(req, 0), kid = req_id(req, 1);
	char *name = target_name(req, id);

	if (name == NULL)
		return -1;
	return revoked(req, id, name, kid ? apikey_revoke(req->app->db, id,
		kid) : 0, "key", kid, N_("No such API key."));
}

int
page_admin_user_credits(struct kreq *req)
{
	unsigned long long id = req_id(req, 0);
	const char *note = in_str(req, CR_NOTE);
	char *name = target_name(req, id);
	struct db_param p[2];
	long v = in_long(req, CR_AMOUNT);
	int rc = -1;

	if (name == NULL)
		return -1;
	/* Both fields judged before answering: every error in one round. */
	if (v == 0 || in_bad(req, CR_NOTE)) {
		if (v == 0)
			view_input_error(req, CR_AMOUNT);
		if (in_bad(req, CR_NOTE))
			view_input_error(req, CR_NOTE);
		rc = show_user(req, id, 422);
		goto out;
	}
	p[0] = DB_INT(v);
	p[1] = DB_INT(id);
	if (db_exec(req->app->db, "UPDATE users SET credits = credits + ?"
	    " WHERE id = ?", p, 2, NULL, NULL) != 0) {
		view_db_fail(req, "admin users: credits");
		goto out;
	}
	audit(req, "credit_grant", id, name, "%+ld credits%s%s", v,
		note && *note ? ": " : "", note ? note : "");
	rc = back_to(req, id);
out:
	free(name);
	return rc;
}
