/* page_keys.c - /account/keys: the user's API keys (list, create with a
 * name, scopes and an optional expiry date, shown once; rotate into a new
 * secret with a grace period for the old one; revoke). */
#include "accounts.h"
#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "i18n.h"
#include "log.h"
#include "mail.h"
#include "once.h"
#include "view.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* POST /account/keys's form: a name and ticked scopes, whose bits are
 * enum scope's (in the order of auth.c's scope names). */
static const char *const scope_choices[] = { "read", "generate", "admin",
	NULL };
enum { KE_NAME, KE_SCOPE, KE_EXPIRES };

/* A date the form's date box may send (in the future or not: that is
 * the handler's to say, against the clock). */
static int
expiry_form(const char *s)
{
	long long t;

	return strlen(s) == 10 && key_expiry_parse(s, 0, &t) == 0;
}

const struct input key_inputs[] = {
	[KE_NAME] = { .name = "name", .type = IN_STR,
		.flags = IN_REQUIRED | IN_TEXT, .min = 1, .max = 64,
		.msg = "Name: 1-64 bytes of text, so you can tell your keys "
		"apart." },
	[KE_SCOPE] = { .name = "scope", .type = IN_SET,
		.choices = scope_choices,
		.msg = "Scopes: read, generate or admin." },
	[KE_EXPIRES] = { .name = "expires", .type = IN_STR,
		.flags = IN_BLANK, .min = 10, .max = 10, .check = expiry_form,
		.msg = "Expires: a date as YYYY-MM-DD, or empty for never." },
	IN_END,
};

/* POST /account/keys/{id}/rotate's form: the old secret's grace period
 * in seconds (the page offers a few; any in range is taken). */
enum { KR_GRACE };
const struct input key_rotate_inputs[] = {
	[KR_GRACE] = { .name = "grace", .type = IN_INT,
		.flags = IN_REQUIRED, .min = 0, .max = APIKEY_GRACE_MAX,
		.msg = "Grace period: from none to 30 days." },
	IN_END,
};

static int
show(struct kreq *req, int status)
{
	struct db_param p[1];

	p[0] = DB_INT(req->auth->user_id);
	if (view_rows(req, "Keys.List", "SELECT id AS Id, name AS Name,"
	    " prefix AS Prefix, scopes AS Scopes,"
	    " DATE_FORMAT(created_at, '%Y-%m-%d %H:%i') AS Created,"
	    " COALESCE(DATE_FORMAT(last_used_at, '%Y-%m-%d %H:%i:%s'), '')"
	    " AS LastUsed, last_used_ip AS LastIp,"
	    " COALESCE(DATE_FORMAT(revoked_at, '%Y-%m-%d %H:%i'), '')"
	    " AS Revoked,"
	    " COALESCE(DATE_FORMAT(expires_at, '%Y-%m-%d %H:%i'), '')"
	    " AS Expires, COALESCE(expires_at <= NOW(3), 0) AS Expired,"
	    " IF(old_valid_until > NOW(3),"
	    " DATE_FORMAT(old_valid_until, '%Y-%m-%d %H:%i:%s'), '')"
	    " AS OldUntil,"
	    " COALESCE(DATE_FORMAT(old_last_used_at, '%Y-%m-%d %H:%i:%s'), '')"
	    " AS OldUsed FROM api_keys WHERE user_id = ?"
	    " ORDER BY revoked_at IS NOT NULL, id DESC LIMIT 200", p, 1) < 0)
		return view_db_fail(req, "keys: list");
	return view_render(req, status, "API keys", "keys.cs");
}

/* The page the create and rotate forms redirect to: the new secret,
 * left by once_put as lines "created|rotated", the key, when the old
 * secret stops (rotated with a grace period; else empty) and the name,
 * last so that it may hold anything. */
int
page_keys(struct kreq *req)
{
	char *text = NULL, *v[4];
	size_t n;
	int st, rc;

	if (req_query(req, "done") != NULL)
		view_set(req, "Keys.Done", view_tr(req, "Key revoked; it "
			"stopped working at once."));
	st = once_take(req, "key", &text);
	if (st < 0)
		return view_db_fail(req, "keys: new key");
	n = st > 0 ? once_lines(text, v, 4) : 0;
	if (n == 4) {
		view_set(req, "Keys.New", v[1]);
		view_set(req, "Keys.NewName", v[3]);
		if (strcmp(v[0], "rotated") == 0)
			view_set(req, "Keys.Rotated", "1");
		if (v[2][0] != '\0')
			view_set(req, "Keys.OldUntil", v[2]);
		/* Not from a cache, not in the back button's copy. */
		resp_header(req, "Cache-Control", "no-store");
	}
	rc = show(req, 200);
	once_free(text);
	return rc;
}

/* Leaves the new key for the page (lines as page_keys reads them) and
 * redirects there. Returns 0, or -1 answered. */
static int
new_key_redirect(struct kreq *req, const char *how, const char *key,
	const char *until, const char *name)
{
	struct buf b = { 0 };
	int rc = -1;

	if (buf_printf(&b, "%s\n%s\n%s\n%s", how, key, until, name) != 0 ||
	    once_put(req, "key", "/account/keys", b.data) != 0)
		view_error(req, 500, "internal", N_("The new key could not be "
			"kept for the page: revoke it and make another."));
	else
		rc = resp_redirect(req, "/account/keys");
	if (b.data != NULL)
		sodium_memzero(b.data, b.len);
	buf_free(&b);
	return rc;
}

int
page_keys_create(struct kreq *req)
{
	const char *name = in_str(req, KE_NAME);
	/* Each ticked box is one "scope" pair: their bits together. */
	unsigned scopes = (unsigned)in_long(req, KE_SCOPE);
	const char *exp = in_str(req, KE_EXPIRES);
	char key[APIKEY_LEN + 1], sc[64];
	unsigned long long id = 0;
	long long expires = 0;
	int bad = 0, rc;

	if (name == NULL)
		bad += !view_input_error(req, KE_NAME);
	if (in_bad(req, KE_SCOPE))
		bad += !view_input_error(req, KE_SCOPE);
	if (!bad && scopes == 0)
		bad += !view_field_error(req, "scope", "Scopes: tick at least "
			"one.");
	if (!bad && (scopes & SCOPE_ADMIN) && !req->auth->is_admin)
		bad += !view_field_error(req, "scope", "Scopes: only "
			"administrators can make admin keys.");
	if (in_bad(req, KE_EXPIRES))
		bad += !view_input_error(req, KE_EXPIRES);
	else if (exp != NULL && key_expiry_parse(exp, (long long)time(NULL),
	    &expires) != 0)
		bad += !view_field_error(req, "expires", "Expires: pick a day "
			"after today (the key stops at 00:00 UTC that day).");
	if (bad) {
		view_set(req, "Form.Name", in_sent(req, KE_NAME) ?
			in_sent(req, KE_NAME) : "");
		view_set(req, "Form.Expires", in_sent(req, KE_EXPIRES) ?
			in_sent(req, KE_EXPIRES) : "");
		return show(req, 422);
	}
	if (apikey_create(req->app->db, req->auth->user_id, name, scopes,
	    expires, key, &id) != 0)
		return view_db_fail(req, "keys: create");
	scopes_format(scopes, sc, sizeof(sc));
	audit(req, "key_create", req->auth->user_id, req->auth->username,
		"key %llu \"%s\" (%s)%s%s", id, name, sc,
		exp != NULL ? ", expires " : "", exp != NULL ? exp : "");
	mail_notify(req, req->auth->user_id, "key", "New API key", "An API "
		"key named \"%s\" with the scopes %s was made for your account "
		"on %s.", name, sc, req->app->cfg.site_name);
	rc = new_key_redirect(req, "created", key, "", name);
	sodium_memzero(key, sizeof(key));
	return rc;
}

int
page_keys_revoke(struct kreq *req)
{
	unsigned long long kid = req_id(req, 0);
	int st = kid ? apikey_revoke(req->app->db, req->auth->user_id, kid) : 0;

	if (st < 0)
		return view_db_fail(req, "keys: revoke");
	if (st == 0) {
		view_error(req, 404, "not_found", "No such API key.");
		return -1;
	}
	audit(req, "key_revoke", req->auth->user_id, req->auth->username,
		"key %llu", kid);
	return resp_redirect(req, "/account/keys?done=revoked");
}

/* What rotating a key on the page needs to know of it first. */
struct rotate_rec {
	char *name, *scopes;
	long revoked, expired;
};

static const struct db_field rotate_fields[] = {
	DB_FIELD(struct rotate_rec, name, DBF_DUP, "name"),
	DB_FIELD(struct rotate_rec, scopes, DBF_DUP, "scopes"),
	DB_FIELD(struct rotate_rec, revoked, DBF_LONG, "revoked"),
	DB_FIELD(struct rotate_rec, expired, DBF_LONG, "expired"),
};

int
page_keys_rotate(struct kreq *req)
{
	unsigned long long kid = req_id(req, 0);
	long grace = in_long(req, KR_GRACE), n;
	struct rotate_rec r = { 0 };
	char key[APIKEY_LEN + 1], until[96];
	struct db_param p[2];
	unsigned sc = 0;
	int st, rc = -1;

	p[0] = DB_INT(kid);
	p[1] = DB_INT(req->auth->user_id);
	n = kid ? db_query_into(req->app->db, "SELECT name, scopes,"
	    " revoked_at IS NOT NULL AS revoked,"
	    " COALESCE(expires_at <= NOW(3), 0) AS expired"
	    " FROM api_keys WHERE id = ? AND user_id = ?", p, 2,
	    rotate_fields, DB_NFIELDS(rotate_fields), &r, NULL, NULL) : 0;
	if (n < 0) {
		rc = view_db_fail(req, "keys: rotate");
		goto out;
	}
	if (n == 0) {
		view_error(req, 404, "not_found", "No such API key.");
		goto out;
	}
	if (scopes_parse(r.scopes, &sc) != 0) {
		log_error("keys: rotate: key %llu: scopes \"%s\"", kid,
			r.scopes);
		view_error(req, 500, "internal", "This key's scopes could not "
			"be read.");
		goto out;
	}
	/* As over the API: the new secret may carry only what this
	 * session may hand out (admin keys: administrators). */
	if ((sc & ~req->auth->scopes) != 0) {
		view_error(req, 403, "forbidden", "Only administrators can "
			"rotate admin keys.");
		goto out;
	}
	if (in_bad(req, KR_GRACE)) {
		view_set(req, "Keys.Error", view_tr(req,
			key_rotate_inputs[KR_GRACE].msg));
		rc = show(req, 422);
		goto out;
	}
	if (r.revoked || r.expired) {
		view_set(req, "Keys.Error", r.revoked ? view_tr(req, "That "
			"key is revoked: make a new one.") : view_tr(req, "That "
			"key has expired: make a new one."));
		rc = show(req, 409);
		goto out;
	}
	st = apikey_rotate(req->app->db, req->auth->user_id, kid, grace, key);
	if (st < 0) {
		rc = view_db_fail(req, "keys: rotate");
		goto out;
	}
	if (st == 0) {
		view_set(req, "Keys.Error", view_tr(req, "That key is revoked: "
			"make a new one."));
		rc = show(req, 409);
		goto out;
	}
	audit(req, "key_rotate", req->auth->user_id, req->auth->username,
		"key %llu \"%s\", old secret valid %ld s more", kid, r.name,
		grace);
	mail_notify(req, req->auth->user_id, "key", "API key rotated", "The "
		"API key named \"%s\" of your account on %s was given a new "
		"secret; the old one works %ld seconds more.", r.name,
		req->app->cfg.site_name, grace);
	until[0] = '\0';
	if (grace > 0) {
		time_t t = time(NULL) + grace;
		struct tm tm;

		strftime(until, sizeof(until), "%Y-%m-%d %H:%M:%S UTC",
			gmtime_r(&t, &tm));
	}
	rc = new_key_redirect(req, "rotated", key, until, r.name);
	sodium_memzero(key, sizeof(key));
out:
	free(r.name);
	free(r.scopes);
	return rc;
}
