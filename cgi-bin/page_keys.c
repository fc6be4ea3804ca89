/* page_keys.c - /account/keys: the user's API keys (list, create with a
 * name and scopes, shown once; revoke). */
#include "accounts.h"
#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "log.h"
#include "view.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* POST /account/keys's form: a name and ticked scopes, whose bits are
 * enum scope's (in the order of auth.c's scope names). */
static const char *const scope_choices[] = { "read", "generate", "admin",
	NULL };
enum { KE_NAME, KE_SCOPE };
const struct input key_inputs[] = {
	[KE_NAME] = { .name = "name", .type = IN_STR,
		.flags = IN_REQUIRED | IN_TEXT, .min = 1, .max = 64,
		.msg = "Name: 1-64 bytes of text, so you can tell your keys "
		"apart." },
	[KE_SCOPE] = { .name = "scope", .type = IN_SET,
		.choices = scope_choices,
		.msg = "Scopes: read, generate or admin." },
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
	    " AS Revoked FROM api_keys WHERE user_id = ?"
	    " ORDER BY revoked_at IS NOT NULL, id DESC LIMIT 200", p, 1) < 0)
		return view_db_fail(req, "keys: list");
	return view_render(req, status, "API keys", "keys.cs");
}

int
page_keys(struct kreq *req)
{
	if (req_query(req, "done") != NULL)
		view_set(req, "Keys.Done", view_tr(req, "Key revoked; it "
			"stopped working at once."));
	return show(req, 200);
}

int
page_keys_create(struct kreq *req)
{
	const char *name = in_str(req, KE_NAME);
	/* Each ticked box is one "scope" pair: their bits together. */
	unsigned scopes = (unsigned)in_long(req, KE_SCOPE);
	char key[APIKEY_LEN + 1], sc[64];
	unsigned long long id = 0;
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
	if (bad) {
		view_set(req, "Form.Name", in_sent(req, KE_NAME) ?
			in_sent(req, KE_NAME) : "");
		return show(req, 422);
	}
	if (apikey_create(req->app->db, req->auth->user_id, name, scopes, key,
	    &id) != 0)
		return view_db_fail(req, "keys: create");
	scopes_format(scopes, sc, sizeof(sc));
	audit(req, "key_create", req->auth->user_id, req->auth->username,
		"key %llu \"%s\" (%s)", id, name, sc);
	view_set(req, "Keys.New", key);
	view_set(req, "Keys.NewName", name);
	rc = show(req, 200);
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
