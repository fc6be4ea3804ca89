/* api_teams.c - /api/v1/teams: the caller's teams, making one, one team
 * with its members, and adding, changing and removing members (see
 * teams.h for roles and the access rules). A team is 404 to whoever is
 * not in it; managing it is for its owners (403 to its other members). */
#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "teams.h"
#include "util.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

struct team_rec {
	unsigned long long id;
	const char *name, *role, *created_at;
	long long credits;
	long max_queued;
	int has_max;
};

static const struct db_field team_fields[] = {
	DB_FIELD(struct team_rec, id, DBF_ULLONG, "id"),
	DB_FIELD(struct team_rec, name, DBF_STR, "name"),
	DB_FIELD(struct team_rec, credits, DBF_LLONG, "credits"),
	DB_FIELD_NULL(struct team_rec, max_queued, DBF_LONG, "max_queued"),
	DB_FIELD(struct team_rec, has_max, DBF_INT, "has_max"),
	DB_FIELD(struct team_rec, role, DBF_STR, "role"),
	DB_FIELD(struct team_rec, created_at, DBF_STR, "created_at"),
};

#define TEAM_SQL "SELECT t.id, t.name, t.credits, t.max_queued," \
	" t.max_queued IS NOT NULL AS has_max, CAST(m.role AS CHAR) AS role," \
	" DATE_FORMAT(t.created_at, '%Y-%m-%dT%H:%i:%sZ') AS created_at" \
	" FROM teams t JOIN team_members m ON m.team_id = t.id" \
	" AND m.user_id = ?"

static int
team_row(void *rec, void *arg)
{
	const struct team_rec *r = rec;
	json_object *o = json_object_new_object();

	if (o == NULL)
		return 1;
	json_object_object_add(o, "id", json_object_new_int64(
		(int64_t)r->id));
	json_object_object_add(o, "name", json_object_new_string(r->name));
	json_object_object_add(o, "credits", json_object_new_int64(
		r->credits));
	json_object_object_add(o, "max_queued", r->has_max ?
		json_object_new_int64(r->max_queued) : NULL);
	json_object_object_add(o, "role", json_object_new_string(r->role));
	json_object_object_add(o, "created_at",
		json_object_new_string(r->created_at));
	return json_object_array_add(arg, o) != 0;
}

struct member_rec {
	unsigned long long user_id;
	const char *username, *role, *added_at;
};

static const struct db_field member_fields[] = {
	DB_FIELD(struct member_rec, user_id, DBF_ULLONG, "user_id"),
	DB_FIELD(struct member_rec, username, DBF_STR, "username"),
	DB_FIELD(struct member_rec, role, DBF_STR, "role"),
	DB_FIELD(struct member_rec, added_at, DBF_STR, "added_at"),
};

static int
member_row(void *rec, void *arg)
{
	const struct member_rec *r = rec;
	json_object *o = json_object_new_object();

	if (o == NULL)
		return 1;
	json_object_object_add(o, "user_id", json_object_new_int64(
		(int64_t)r->user_id));
	json_object_object_add(o, "username",
		json_object_new_string(r->username));
	json_object_object_add(o, "role", json_object_new_string(r->role));
	json_object_object_add(o, "added_at",
		json_object_new_string(r->added_at));
	return json_object_array_add(arg, o) != 0;
}

/* Team id as the caller sees it, with its members; NULL with *found 0
 * when the caller is not in it, -1 on a database error. */
static json_object *
team_json(struct kreq *req, unsigned long long id, int *found)
{
	struct db_param p[2] = { DB_INT(req->auth->user_id), DB_INT(id) };
	json_object *a = json_object_new_array(), *o = NULL, *m = NULL;
	struct team_rec tr;
	struct member_rec mr;

	*found = -1;
	if (a == NULL)
		goto out;
	if (db_query_into(req->app->db, TEAM_SQL " WHERE t.id = ?", p, 2,
	    team_fields, DB_NFIELDS(team_fields), &tr, team_row, a) < 0)
		goto out;
	if (json_object_array_length(a) == 0) {
		*found = 0;
		goto out;
	}
	o = json_object_get(json_object_array_get_idx(a, 0));
	m = json_object_new_array();
	if (m == NULL || db_query_into(req->app->db, "SELECT m.user_id,"
	    " u.username, CAST(m.role AS CHAR) AS role, DATE_FORMAT("
	    "m.added_at, '%Y-%m-%dT%H:%i:%sZ') AS added_at FROM team_members"
	    " m JOIN users u ON u.id = m.user_id WHERE m.team_id = ?"
	    " ORDER BY m.role, u.username", p + 1, 1, member_fields,
	    DB_NFIELDS(member_fields), &mr, member_row, m) < 0) {
		json_object_put(o);
		o = NULL;
		goto out;
	}
	json_object_object_add(o, "members", m);
	m = NULL;
	*found = 1;
out:
	json_object_put(m);
	json_object_put(a);
	return o;
}

int
api_teams_list(struct kreq *req)
{
	struct db_param p[1] = { DB_INT(req->auth->user_id) };
	json_object *a = json_object_new_array(), *o;
	struct team_rec tr;

	if (a == NULL)
		return api_send(req, 500, NULL);
	if (db_query_into(req->app->db, TEAM_SQL " ORDER BY t.id", p, 1,
	    team_fields, DB_NFIELDS(team_fields), &tr, team_row, a) < 0) {
		json_object_put(a);
		return api_db_fail(req, "api teams: list");
	}
	o = json_object_new_object();
	if (o == NULL) {
		json_object_put(a);
		return api_send(req, 500, NULL);
	}
	json_object_object_add(o, "teams", a);
	return api_send(req, 200, o);
}

/* body's string field key, or NULL. */
static const char *
body_str(json_object *body, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(body, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int
api_teams_create(struct kreq *req)
{
	json_object *body = NULL, *o;
	const char *name;
	unsigned long long id = 0;
	char loc[64];
	int found;

	if (req_json_body(req, &body) != 0)
		return -1;
	name = body_str(body, "name");
	if (name == NULL || !team_name_valid(name)) {
		json_object *f = json_object_new_object();

		json_object_object_add(f, "name", json_object_new_string(
			"must be text of 1 to 100 bytes"));
		json_object_put(body);
		return resp_error_json(req, 400, "validation_failed",
			"the team is not valid; see fields", f);
	}
	if (team_create(req->app->db, req->auth->user_id, name, &id) != 0) {
		json_object_put(body);
		return api_db_fail(req, "api teams: create");
	}
	json_object_put(body);
	o = team_json(req, id, &found);
	if (o == NULL)
		return api_db_fail(req, "api teams: read back");
	snprintf(loc, sizeof(loc), "/api/v1/teams/%llu", id);
	resp_header(req, "Location", loc);
	return api_send(req, 201, o);
}

int
api_team_get(struct kreq *req)
{
	int found = 0;
	json_object *o = team_json(req, req_id(req, 0), &found);

	if (o == NULL && found < 0)
		return api_db_fail(req, "api teams: get");
	if (o == NULL)
		return resp_error_json(req, 404, "not_found", "no such team",
			NULL);
	return api_send(req, 200, o);
}

/* caller_role's refusal of the member routes to a non-owner. */
static const char owners_members[] =
	"only the team's owners manage its members";

/* The caller's role in the route's team: answers 404 (not in it) or
 * 403 with owners_only (in it, not an owner, and owners_only given)
 * and returns -1; else the role. */
static int
caller_role(struct kreq *req, const char *owners_only)
{
	int r = team_role_of(req->app->db, req_id(req, 0),
		req->auth->user_id);

	if (r < 0)
		return api_db_fail(req, "api teams: role");
	if (r == TEAM_NONE)
		return resp_error_json(req, 404, "not_found", "no such team",
			NULL);
	if (owners_only != NULL && r != TEAM_OWNER)
		return resp_error_json(req, 403, "forbidden", owners_only,
			NULL);
	return r;
}

/* A team_change as an answer: the team after it (status ok) or why
 * not. */
static int
change_answer(struct kreq *req, enum team_change ch, int ok)
{
	json_object *o;
	int found;

	switch (ch) {
	case TEAM_DONE:
		break;
	case TEAM_NO_USER:
		return resp_error_json(req, 404, "not_found", "no such user "
			"in this team", NULL);
	case TEAM_ALREADY:
		return resp_error_json(req, 409, "conflict", "already a "
			"member of this team", NULL);
	case TEAM_LAST_OWNER:
		return resp_error_json(req, 409, "conflict", "the team's last "
			"owner cannot leave or stop being an owner; make "
			"another member an owner first", NULL);
	case TEAM_BUSY:
		return resp_error_json(req, 409, "conflict", "the team has "
			"jobs queued or running; wait for them or cancel them "
			"first", NULL);
	default:
		return api_db_fail(req, "api teams: members");
	}
	if (ok == 204)
		return api_no_content(req);
	o = team_json(req, req_id(req, 0), &found);
	if (o == NULL)
		return api_db_fail(req, "api teams: read back");
	return api_send(req, ok, o);
}

/* body's "role": owner, member or viewer; member when absent. Returns
 * TEAM_NONE after answering 400 for anything else. */
static enum team_role
body_role(struct kreq *req, json_object *body)
{
	json_object *v;
	enum team_role r;

	if (!json_object_object_get_ex(body, "role", &v))
		return TEAM_MEMBER;
	r = json_object_is_type(v, json_type_string) ?
		team_role_parse(json_object_get_string(v)) : TEAM_NONE;
	if (r == TEAM_NONE) {
		json_object *f = json_object_new_object();

		json_object_object_add(f, "role", json_object_new_string(
			"must be owner, member or viewer"));
		resp_error_json(req, 400, "validation_failed", "see fields",
			f);
	}
	return r;
}

int
api_team_credits(struct kreq *req)
{
	json_object *body = NULL, *v, *o;
	int64_t amount = 0;
	int found, r;

	r = caller_role(req, NULL);
	if (r < 0)
		return -1;
	if (r < TEAM_MEMBER)
		return resp_error_json(req, 403, "forbidden", "a team's "
			"viewers cannot add to its credits", NULL);
	if (req_json_body(req, &body) != 0)
		return -1;
	if (json_object_object_get_ex(body, "amount", &v) &&
	    json_object_is_type(v, json_type_int))
		amount = json_object_get_int64(v);
	json_object_put(body);
	if (amount < 1 || amount > TEAM_CREDITS_MAX) {
		json_object *f = json_object_new_object();

		json_object_object_add(f, "amount", json_object_new_string(
			"must be a whole number from 1 to 1000000000"));
		return resp_error_json(req, 400, "validation_failed",
			"see fields", f);
	}
	r = team_contribute(req->app->db, req_id(req, 0), req->auth->user_id,
		(long)amount);
	if (r < 0)
		return api_db_fail(req, "api teams: credits");
	if (r > 0)
		return resp_error_json(req, 402, "insufficient_credits", "you "
			"have fewer credits than that", NULL);
	o = team_json(req, req_id(req, 0), &found);
	if (o == NULL)
		return api_db_fail(req, "api teams: read back");
	return api_send(req, 200, o);
}

int
api_team_member_add(struct kreq *req)
{
	json_object *body = NULL;
	unsigned long long added = 0;
	enum team_change ch;
	enum team_role role;
	const char *name;

	if (caller_role(req, owners_members) < 0)
		return -1;
	if (req_json_body(req, &body) != 0)
		return -1;
	name = body_str(body, "username");
	if (name == NULL || *name == '\0') {
		json_object *f = json_object_new_object();

		json_object_object_add(f, "username", json_object_new_string(
			"must be a user's name"));
		json_object_put(body);
		return resp_error_json(req, 400, "validation_failed",
			"see fields", f);
	}
	role = body_role(req, body);
	if (role == TEAM_NONE) {
		json_object_put(body);
		return -1;
	}
	ch = team_member_add(req->app->db, req_id(req, 0), name, role,
		req->auth->user_id, &added);
	json_object_put(body);
	if (ch == TEAM_NO_USER)
		return resp_error_json(req, 404, "not_found", "no such user",
			NULL);
	return change_answer(req, ch, 201);
}

int
api_team_member_patch(struct kreq *req)
{
	json_object *body = NULL;
	enum team_role role;
	enum team_change ch;

	if (caller_role(req, owners_members) < 0)
		return -1;
	if (req_json_body(req, &body) != 0)
		return -1;
	role = body_role(req, body);
	json_object_put(body);
	if (role == TEAM_NONE)
		return -1;
	ch = team_member_role(req->app->db, req_id(req, 0), req_id(req, 1),
		role);
	return change_answer(req, ch, 200);
}

int
api_team_member_remove(struct kreq *req)
{
	unsigned long long who = req_id(req, 1);

	/* Leaving is removing oneself, which any member may do. */
	if (caller_role(req, who != req->auth->user_id ? owners_members :
	    NULL) < 0)
		return -1;
	return change_answer(req, team_member_remove(req->app->db,
		req_id(req, 0), who, req->auth->user_id), 204);
}

int
api_team_patch(struct kreq *req)
{
	json_object *body = NULL, *f = NULL, *o;
	const char *name = NULL;
	long max = -1;
	int found, rc = -1;

	if (caller_role(req, "only the team's owners change its settings") < 0)
		return -1;
	if (req_json_body(req, &body) != 0)
		return -1;
	f = json_object_new_object();
	json_object_object_foreach(body, k, v) {
		if (!strcmp(k, "name")) {
			name = json_object_is_type(v, json_type_string) ?
				json_object_get_string(v) : NULL;
			if (name == NULL || !team_name_valid(name))
				json_object_object_add(f, "name",
					json_object_new_string("must be text "
					"of 1 to 100 bytes"));
		} else if (!strcmp(k, "max_queued")) {
			int64_t n = json_object_get_int64(v);

			/* null: no team limit, only each maker's tier. */
			if (json_object_is_type(v, json_type_null))
				max = 0;
			else if (json_object_is_type(v, json_type_int) &&
			    n >= 1 && n <= TEAM_QUEUED_MAX)
				max = (long)n;
			else
				json_object_object_add(f, "max_queued",
					json_object_new_string("must be a whole "
					"number from 1 to 100000, or null for "
					"no team limit"));
		} else
			json_object_object_add(f, k, json_object_new_string(
				"unknown field; name and max_queued may be "
				"changed"));
	}
	if (json_object_object_length(f) > 0) {
		rc = resp_error_json(req, 400, "validation_failed",
			"see fields", f);
		f = NULL;
		goto out;
	}
	if (team_settings(req->app->db, req_id(req, 0), name, max) != 0) {
		rc = api_db_fail(req, "api teams: settings");
		goto out;
	}
	audit(req, "team.settings", req_id(req, 0), name, "max_queued %ld",
		max);
	o = team_json(req, req_id(req, 0), &found);
	rc = o == NULL ? api_db_fail(req, "api teams: read back") :
		api_send(req, 200, o);
out:
	json_object_put(f);
	json_object_put(body);
	return rc;
}

int
api_team_delete(struct kreq *req)
{
	enum team_change ch;
	long returned = 0;

	if (caller_role(req, "only the team's owners delete it") < 0)
		return -1;
	ch = team_delete(req->app->db, req_id(req, 0), req->auth->user_id,
		&returned);
	if (ch == TEAM_DONE)
		audit(req, "team.delete", req_id(req, 0), NULL, "%ld credits "
			"back to the owner", returned);
	return change_answer(req, ch, 204);
}
