/* api_account.c - the key holder's own account over the API:
 * GET /api/v1/me, GET /api/v1/keys, DELETE /api/v1/keys/{id},
 * POST /api/v1/keys/{id}/rotate. */
#include "accounts.h"
#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "log.h"
#include "mail.h"

#include <json-c/json.h>
#include <sodium.h>
#include <string.h>

int
api_me(struct kreq *req)
{
	const struct auth *a = req->auth;
	json_object *o = json_object_new_object(), *k;

	if (o == NULL)
		return api_send(req, 500, NULL);
	json_object_object_add(o, "id", json_object_new_int64(
		(int64_t)a->user_id));
	json_object_object_add(o, "username",
		json_object_new_string(a->username));
	json_object_object_add(o, "display_name",
		json_object_new_string(a->display_name));
	json_object_object_add(o, "role", json_object_new_string(a->role));
	json_object_object_add(o, "tier", json_object_new_string(a->tier));
	{
		struct db_param p[1] = { DB_INT(a->user_id) };
		long credits = 0;

		if (db_query_long(req->app->db, "SELECT credits FROM users"
		    " WHERE id = ?", p, 1, &credits) != 0) {
			json_object_put(o);
			return api_db_fail(req, "api me");
		}
		json_object_object_add(o, "credits", json_object_new_int64(
			credits));
	}
	/* Signed in with a session cookie (reading only): no key. */
	k = a->key_id ? json_object_new_object() : NULL;
	if (k != NULL) {
		json_object_object_add(k, "id", json_object_new_int64(
			(int64_t)a->key_id));
		json_object_object_add(k, "scopes", json_scopes(a->scopes));
	}
	json_object_object_add(o, "key", k);
	return api_send(req, 200, o);
}

/* One API key as the list shows it. */
struct key_rec {
	unsigned long long id;
	const char *name, *prefix, *scopes;
	const char *created_at, *last_used_at, *last_used_ip, *revoked_at;
	const char *expires_at, *rotated_at, *old_until, *old_used;
	long expired;
};

static const struct db_field key_fields[] = {
	DB_FIELD(struct key_rec, id, DBF_ULLONG, "id"),
	DB_FIELD(struct key_rec, name, DBF_STR, "name"),
	DB_FIELD(struct key_rec, prefix, DBF_STR, "prefix"),
	DB_FIELD(struct key_rec, scopes, DBF_STR, "scopes"),
	DB_FIELD(struct key_rec, created_at, DBF_STR, "created_at"),
	DB_FIELD_NULL(struct key_rec, last_used_at, DBF_STR, "last_used_at"),
	DB_FIELD(struct key_rec, last_used_ip, DBF_STR, "last_used_ip"),
	DB_FIELD_NULL(struct key_rec, revoked_at, DBF_STR, "revoked_at"),
	DB_FIELD_NULL(struct key_rec, expires_at, DBF_STR, "expires_at"),
	DB_FIELD_NULL(struct key_rec, rotated_at, DBF_STR, "rotated_at"),
	DB_FIELD_NULL(struct key_rec, old_until, DBF_STR, "old_until"),
	DB_FIELD_NULL(struct key_rec, old_used, DBF_STR, "old_used"),
	DB_FIELD(struct key_rec, expired, DBF_LONG, "expired"),
};

/* The user's keys (kid 0) or one of them, as key_fields reads them:
 * old_until and old_used are set only while a rotated key's old secret
 * still works. */
#define KEY_TIME(col) "DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%sZ')"
static const char keys_sql[] = "SELECT id, name, prefix, scopes, "
	KEY_TIME("created_at") " AS created_at, "
	KEY_TIME("last_used_at") " AS last_used_at, last_used_ip, "
	KEY_TIME("revoked_at") " AS revoked_at, "
	KEY_TIME("expires_at") " AS expires_at, "
	KEY_TIME("rotated_at") " AS rotated_at,"
	" IF(old_valid_until > NOW(3), " KEY_TIME("old_valid_until")
	", NULL) AS old_until,"
	" IF(old_valid_until > NOW(3), " KEY_TIME("old_last_used_at")
	", NULL) AS old_used,"
	" COALESCE(expires_at <= NOW(3), 0) AS expired"
	" FROM api_keys WHERE user_id = ? AND (? = 0 OR id = ?) ORDER BY id";

static int
key_row(void *rec, void *arg)
{
	const struct key_rec *r = rec;
	json_object *o = json_object_new_object();
	unsigned sc = 0;

	if (o == NULL)
		return 1;
	scopes_parse(r->scopes, &sc);
	json_object_object_add(o, "id", json_object_new_int64(
		(int64_t)r->id));
	json_object_object_add(o, "name", json_object_new_string(r->name));
	json_object_object_add(o, "prefix",
		json_object_new_string(r->prefix));
	json_object_object_add(o, "scopes", json_scopes(sc));
	json_object_object_add(o, "created_at",
		json_str_or_null(r->created_at));
	json_object_object_add(o, "last_used_at",
		json_str_or_null(r->last_used_at));
	/* The client address the web server reported (REMOTE_ADDR). */
	json_object_object_add(o, "last_used_ip", r->last_used_at != NULL ?
		json_object_new_string(r->last_used_ip) : NULL);
	json_object_object_add(o, "revoked_at",
		json_str_or_null(r->revoked_at));
	json_object_object_add(o, "expires_at",
		json_str_or_null(r->expires_at));
	json_object_object_add(o, "expired",
		json_object_new_boolean(r->expired != 0));
	json_object_object_add(o, "rotated_at",
		json_str_or_null(r->rotated_at));
	json_object_object_add(o, "old_secret_valid_until",
		json_str_or_null(r->old_until));
	json_object_object_add(o, "old_secret_last_used_at",
		json_str_or_null(r->old_used));
	json_object_array_add(arg, o);
	return 0;
}

/* Appends the user's keys (kid 0: all) to list. Returns the number
 * added, or -1 on a db error. */
static long
keys_into(struct kreq *req, unsigned long long kid, json_object *list)
{
	struct db_param p[3];
	struct key_rec r;

	p[0] = DB_INT(req->auth->user_id);
	p[1] = DB_INT(kid);
	p[2] = DB_INT(kid);
	return db_query_into(req->app->db, keys_sql, p, 3, key_fields,
		DB_NFIELDS(key_fields), &r, key_row, list);
}

int
api_keys_list(struct kreq *req)
{
	json_object *o = json_object_new_object(), *list;

	list = json_object_new_array();
	if (o == NULL || list == NULL) {
		json_object_put(o);
		json_object_put(list);
		return api_send(req, 500, NULL);
	}
	json_object_object_add(o, "keys", list);
	if (keys_into(req, 0, list) < 0) {
		json_object_put(o);
		return api_db_fail(req, "api: keys");
	}
	return api_send(req, 200, o);
}

/* The rotate body's one field: how long the old secret keeps working. */
static const struct input grace_input = { .name = "grace_seconds",
	.type = IN_INT, .min = 0, .max = APIKEY_GRACE_MAX,
	.msg = "a whole number of seconds from 0 (the old secret stops at "
	"once) to 2592000 (30 days)" };

/* grace_seconds from the JSON body (none: the default) into *grace.
 * Returns 0, or -1 after answering the refusal. */
static int
rotate_body(struct kreq *req, long *grace)
{
	json_object *body = NULL, *v, *fields;
	struct in_value iv;
	int rc = -1;

	*grace = APIKEY_GRACE_DEFAULT;
	if (req->body_len == 0)
		return 0;
	if (req_json_body(req, &body) != 0)
		return -1;
	fields = json_object_new_object();
	if (fields == NULL) {
		json_object_put(body);
		return api_send(req, 500, NULL);
	}
	json_object_object_foreach(body, key, val) {
		(void)val;
		if (strcmp(key, grace_input.name) != 0)
			json_object_object_add(fields, key,
				json_object_new_string("unknown field; "
				"allowed: grace_seconds"));
	}
	if (json_object_object_get_ex(body, grace_input.name, &v)) {
		if (!json_object_is_type(v, json_type_int) ||
		    in_check(&grace_input, json_object_get_string(v),
		    &iv) != 0)
			json_object_object_add(fields, grace_input.name,
				json_object_new_string(grace_input.msg));
		else
			*grace = iv.n;
	}
	if (json_object_object_length(fields) > 0) {
		resp_error_json(req, 400, "validation_failed", "bad input; "
			"see fields", fields);
		goto out;
	}
	json_object_put(fields);
	rc = 0;
out:
	json_object_put(body);
	return rc;
}

/* Whether the caller may rotate its account's key kid: it exists (else
 * 404, as for another account's) and is the caller's own key (live, or
 * the caller would not be here). Returns 0, or -1 after answering the
 * refusal. */
static int
rotate_allowed(struct kreq *req, unsigned long long kid)
{
	struct db_param p[2];
	long n = 0;

	p[0] = DB_INT(kid);
	p[1] = DB_INT(req->auth->user_id);
	if (kid != 0 && db_query_long(req->app->db, "SELECT COUNT(*) FROM"
	    " api_keys WHERE id = ? AND user_id = ?", p, 2, &n) != 0)
		return api_db_fail(req, "api: rotate");
	if (n == 0)
		return resp_error_json(req, 404, "not_found", "no such API key",
			NULL);
	/* Keys are made on /account/keys, with a session. A key that got
	 * another key's new secret would outlive its own revocation (a
	 * leaked key's holder would keep a way in), so over the API a key
	 * rotates itself only: revoking its row ends both secrets. */
	if (kid != req->auth->key_id)
		return resp_error_json(req, 403, "forbidden", "an API key can "
			"rotate only itself; rotate other keys on "
			"/account/keys", NULL);
	return 0;
}

int
api_keys_rotate(struct kreq *req)
{
	unsigned long long kid = req_id(req, 0);
	char key[APIKEY_LEN + 1];
	json_object *list, *o;
	long grace;
	int st;

	if (rotate_allowed(req, kid) != 0 || rotate_body(req, &grace) != 0)
		return -1;
	st = apikey_rotate(req->app->db, req->auth->user_id, kid, grace, key);
	if (st < 0)
		return api_db_fail(req, "api: rotate");
	if (st == 0)
		return resp_error_json(req, 409, "key_revoked", "this API key "
			"is revoked; make a new one", NULL);
	audit(req, "key_rotate", req->auth->user_id, req->auth->username,
		"key %llu, old secret valid %ld s more, over the API", kid,
		grace);
	mail_notify(req, req->auth->user_id, "key", "API key rotated", "The "
		"API key %llu of your account on %s was given a new secret "
		"over the API; the old one works %ld seconds more.", kid,
		req->app->cfg.site_name, grace);
	list = json_object_new_array();
	if (list == NULL || keys_into(req, kid, list) != 1) {
		/* Rotated all the same: the secret must not be lost. */
		log_error("api: rotate: key %llu: %s", kid,
			db_error(req->app->db));
		o = json_object_new_object();
	} else {
		o = json_object_get(json_object_array_get_idx(list, 0));
	}
	json_object_put(list);
	if (o == NULL) {
		sodium_memzero(key, sizeof(key));
		return api_send(req, 500, NULL);
	}
	json_object_object_add(o, "id", json_object_new_int64((int64_t)kid));
	json_object_object_add(o, "key", json_object_new_string(key));
	sodium_memzero(key, sizeof(key));
	return api_send(req, 200, o);
}

int
api_keys_revoke(struct kreq *req)
{
	unsigned long long kid = req_id(req, 0);
	int st = kid ? apikey_revoke(req->app->db, req->auth->user_id, kid) : 0;

	if (st < 0)
		return api_db_fail(req, "api: revoke");
	if (st == 0)
		return resp_error_json(req, 404, "not_found", "no such API key",
			NULL);
	audit(req, "key_revoke", req->auth->user_id, req->auth->username,
		"key %llu, over the API", kid);
	return api_no_content(req);
}
