/* api_account.c - the key holder's own account over the API:
 * GET /api/v1/me, GET /api/v1/keys, DELETE /api/v1/keys/{id}. */
#include "accounts.h"
#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "log.h"

#include <json-c/json.h>
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
	const char *created_at, *last_used_at, *revoked_at;
};

static const struct db_field key_fields[] = {
	DB_FIELD(struct key_rec, id, DBF_ULLONG, "id"),
	DB_FIELD(struct key_rec, name, DBF_STR, "name"),
	DB_FIELD(struct key_rec, prefix, DBF_STR, "prefix"),
	DB_FIELD(struct key_rec, scopes, DBF_STR, "scopes"),
	DB_FIELD(struct key_rec, created_at, DBF_STR, "created_at"),
	DB_FIELD_NULL(struct key_rec, last_used_at, DBF_STR, "last_used_at"),
	DB_FIELD_NULL(struct key_rec, revoked_at, DBF_STR, "revoked_at"),
};

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
	json_object_object_add(o, "revoked_at",
		json_str_or_null(r->revoked_at));
	json_object_array_add(arg, o);
	return 0;
}

int
api_keys_list(struct kreq *req)
{
	json_object *o = json_object_new_object(), *list;
	struct db_param p[1];
	struct key_rec r;

	list = json_object_new_array();
	if (o == NULL || list == NULL) {
		json_object_put(o);
		json_object_put(list);
		return api_send(req, 500, NULL);
	}
	json_object_object_add(o, "keys", list);
	p[0] = DB_INT(req->auth->user_id);
	if (db_query_into(req->app->db, "SELECT id, name, prefix, scopes,"
	    " DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%sZ') AS created_at,"
	    " DATE_FORMAT(last_used_at, '%Y-%m-%dT%H:%i:%sZ')"
	    " AS last_used_at,"
	    " DATE_FORMAT(revoked_at, '%Y-%m-%dT%H:%i:%sZ') AS revoked_at"
	    " FROM api_keys WHERE user_id = ? ORDER BY id", p, 1, key_fields,
	    DB_NFIELDS(key_fields), &r, key_row, list) < 0) {
		json_object_put(o);
		return api_db_fail(req, "api: keys");
	}
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
