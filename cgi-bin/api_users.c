/* api_users.c - accounts over the API: GET /api/v1/users (admin),
 * GET /api/v1/users/{id} (yourself, or anyone for an admin key),
 * PATCH /api/v1/users/{id} (admin: disabled, role, tier). */
#include "accounts.h"
#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "log.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

/* The columns of a user object, in user_fields' order. */
#define USER_COLS "id, username, display_name, role, tier, disabled," \
	" DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%sZ') AS created_at," \
	" DATE_FORMAT(last_login_at, '%Y-%m-%dT%H:%i:%sZ') AS last_login_at"

struct user_rec {
	unsigned long long id;
	const char *username, *display_name, *role, *tier;
	int disabled;
	const char *created_at, *last_login_at;
};

static const struct db_field user_fields[] = {
	DB_FIELD(struct user_rec, id, DBF_ULLONG, "id"),
	DB_FIELD(struct user_rec, username, DBF_STR, "username"),
	DB_FIELD(struct user_rec, display_name, DBF_STR, "display_name"),
	DB_FIELD(struct user_rec, role, DBF_STR, "role"),
	DB_FIELD(struct user_rec, tier, DBF_STR, "tier"),
	DB_FIELD(struct user_rec, disabled, DBF_INT, "disabled"),
	DB_FIELD(struct user_rec, created_at, DBF_STR, "created_at"),
	DB_FIELD_NULL(struct user_rec, last_login_at, DBF_STR,
		"last_login_at"),
};

static int
user_row(void *rec, void *arg)
{
	const struct user_rec *r = rec;
	json_object *o = json_object_new_object();

	if (o == NULL)
		return 1;
	json_object_object_add(o, "id", json_object_new_int64(
		(int64_t)r->id));
	json_object_object_add(o, "username",
		json_object_new_string(r->username));
	json_object_object_add(o, "display_name",
		json_object_new_string(r->display_name));
	json_object_object_add(o, "role", json_object_new_string(r->role));
	json_object_object_add(o, "tier", json_object_new_string(r->tier));
	json_object_object_add(o, "disabled", json_object_new_boolean(
		r->disabled != 0));
	json_object_object_add(o, "created_at",
		json_object_new_string(r->created_at));
	json_object_object_add(o, "last_login_at",
		json_str_or_null(r->last_login_at));
	json_object_array_add(arg, o);
	return 0;
}

int
api_users_list(struct kreq *req)
{
	const char *q = req_query(req, "q");
	json_object *o = json_object_new_object(), *list;
	struct db_param p[2];
	struct user_rec r;
	char *like = like_pattern(q ? q : "");
	long n;

	list = json_object_new_array();
	if (o == NULL || list == NULL) {
		json_object_put(o);
		json_object_put(list);
		free(like);
		return api_send(req, 500, NULL);
	}
	json_object_object_add(o, "users", list);
	p[0] = DB_STR(like);
	p[1] = DB_STR(like);
	n = db_query_into(req->app->db, "SELECT " USER_COLS " FROM users"
		" WHERE username LIKE ? OR display_name LIKE ?"
		" ORDER BY id LIMIT 1000", p, 2, user_fields,
		DB_NFIELDS(user_fields), &r, user_row, list);
	free(like);
	if (n < 0) {
		json_object_put(o);
		return api_db_fail(req, "api users: list");
	}
	return api_send(req, 200, o);
}

/* The user object for id into *out: 1, 0 when there is none, -1 on a db
 * error. */
static int
user_get(struct kreq *req, unsigned long long id, json_object **out)
{
	json_object *list = json_object_new_array();
	struct db_param p[1];
	struct user_rec r;
	long n;

	*out = NULL;
	if (list == NULL)
		return -1;
	p[0] = DB_INT(id);
	n = db_query_into(req->app->db, "SELECT " USER_COLS " FROM users"
		" WHERE id = ?", p, 1, user_fields, DB_NFIELDS(user_fields),
		&r, user_row, list);
	if (n > 0)
		*out = json_object_get(json_object_array_get_idx(list, 0));
	json_object_put(list);
	return n < 0 ? -1 : *out != NULL;
}

/* Someone else's account is not found, not forbidden: the API does not
 * say which ids exist. An admin needs the admin scope to look. */
static int
may_see(const struct kreq *req, unsigned long long id)
{
	return id == req->auth->user_id ||
		(req->auth->is_admin && (req->auth->scopes & SCOPE_ADMIN));
}

int
api_user_get(struct kreq *req)
{
	unsigned long long id = req_id(req, 0);
	json_object *u;
	int st;

	if (id == 0 || !may_see(req, id))
		return resp_error_json(req, 404, "not_found", "no such user",
			NULL);
	st = user_get(req, id, &u);
	if (st < 0)
		return api_db_fail(req, "api users: get");
	if (st == 0)
		return resp_error_json(req, 404, "not_found", "no such user",
			NULL);
	return api_send(req, 200, u);
}

int
api_user_patch(struct kreq *req)
{
	unsigned long long id = req_id(req, 0);
	json_object *body = NULL, *fields, *v, *u = NULL;
	const char *role = NULL, *tier = NULL, *name;
	int disabled = -1, st;
	char *who = NULL;
	struct db_param p[4];

	if (req_json_body(req, &body) != 0)
		return -1;
	fields = json_object_new_object();
	if (fields == NULL) {
		json_object_put(body);
		return api_send(req, 500, NULL);
	}
	json_object_object_foreach(body, key, val) {
		(void)val;
		if (strcmp(key, "disabled") != 0 && strcmp(key, "role") != 0 &&
		    strcmp(key, "tier") != 0)
			json_object_object_add(fields, key,
				json_object_new_string("unknown field; "
				"allowed: disabled, role, tier"));
	}
	if (json_object_object_get_ex(body, "disabled", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			json_object_object_add(fields, "disabled",
				json_object_new_string("must be true or "
				"false"));
		else
			disabled = json_object_get_boolean(v);
	}
	if (json_object_object_get_ex(body, "role", &v)) {
		role = json_object_get_string(v);
		if (!json_object_is_type(v, json_type_string) ||
		    (strcmp(role, "admin") != 0 && strcmp(role, "user") != 0 &&
		    strcmp(role, "moderator") != 0))
			json_object_object_add(fields, "role",
				json_object_new_string("must be \"admin\", "
				"\"moderator\" or \"user\""));
		else if (id == req->auth->user_id && strcmp(role, "admin"))
			json_object_object_add(fields, "role",
				json_object_new_string("you cannot remove "
				"your own admin role"));
	}
	if (json_object_object_get_ex(body, "tier", &v)) {
		tier = json_object_get_string(v);
		/* A tier kiln.conf does not define would get the default
		 * limits under a name that promises others. */
		if (!json_object_is_type(v, json_type_string) ||
		    !tier_known(&req->app->cfg, tier)) {
			struct buf b = { 0 };

			buf_puts(&b, "unknown tier; defined in kiln.conf: ");
			tier_names(&req->app->cfg, &b);
			json_object_object_add(fields, "tier",
				json_object_new_string(b.data ? b.data :
				"unknown tier"));
			buf_free(&b);
		}
	}
	if (disabled == 1 && id == req->auth->user_id)
		json_object_object_add(fields, "disabled",
			json_object_new_string("you cannot disable your own "
			"account"));
	if (json_object_object_length(fields) > 0) {
		json_object_put(body);
		return resp_error_json(req, 400, "validation_failed",
			"the changes are not valid; see fields", fields);
	}
	json_object_put(fields);
	p[0] = DB_INT(id);
	if (id != 0 && db_query_string(req->app->db, "SELECT username FROM"
	    " users WHERE id = ?", p, 1, &who) != 0) {
		json_object_put(body);
		return api_db_fail(req, "api users: lookup");
	}
	if (who == NULL) {
		json_object_put(body);
		return resp_error_json(req, 404, "not_found", "no such user",
			NULL);
	}
	name = who;
	if (role != NULL || tier != NULL) {
		p[0] = DB_STR(role ? role : "");
		p[1] = DB_STR(tier ? tier : "");
		p[2] = DB_INT(id);
		if (db_exec(req->app->db, "UPDATE users SET"
		    " role = IF(? = '', role, ?), tier = IF(? = '', tier, ?)"
		    " WHERE id = ?", (struct db_param[]){ p[0], p[0], p[1],
		    p[1], p[2] }, 5, NULL, NULL) != 0)
			goto dbfail;
		audit(req, "role_change", id, name, "over the API:%s%s%s%s",
			role ? " role " : "", role ? role : "",
			tier ? " tier " : "", tier ? tier : "");
	}
	if (disabled >= 0) {
		if (user_set_disabled(req->app->db, id, disabled) < 0)
			goto dbfail;
		audit(req, disabled ? "user_disable" : "user_enable", id, name,
			"over the API");
	}
	json_object_put(body);
	free(who);
	st = user_get(req, id, &u);
	if (st <= 0)
		return api_db_fail(req, "api users: reload");
	return api_send(req, 200, u);
dbfail:
	json_object_put(body);
	free(who);
	return api_db_fail(req, "api users: patch");
}
