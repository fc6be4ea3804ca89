/* api_projects.c - /api/v1/projects: the caller's projects, making one,
 * one project with its jobs and shots, changing (name, description,
 * team) and deleting it, adding and removing jobs, a shot's manifest
 * versions, rendering one, and the diff of two. Who may do what:
 * projects.h (404 to whoever may not read, 403 to a reader who may not
 * write or a writer who may not manage). */
#include "app.h"
#include "auth.h"
#include "config.h"
#include "db.h"
#include "handlers.h"
#include "jsondiff.h"
#include "projects.h"
#include "submit.h"
#include "teams.h"
#include "util.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct project_rec {
	unsigned long long id, user_id, team_id;
	const char *name, *description, *maker, *created_at, *updated_at;
};

static const struct db_field project_fields[] = {
	DB_FIELD(struct project_rec, id, DBF_ULLONG, "id"),
	DB_FIELD(struct project_rec, user_id, DBF_ULLONG, "user_id"),
	DB_FIELD_NULL(struct project_rec, team_id, DBF_ULLONG, "team_id"),
	DB_FIELD(struct project_rec, name, DBF_STR, "name"),
	DB_FIELD(struct project_rec, description, DBF_STR, "description"),
	DB_FIELD(struct project_rec, maker, DBF_STR, "maker"),
	DB_FIELD(struct project_rec, created_at, DBF_STR, "created_at"),
	DB_FIELD(struct project_rec, updated_at, DBF_STR, "updated_at"),
};

#define PROJECT_SQL "SELECT p.id, p.user_id, p.team_id, p.name," \
	" p.description, u.username AS maker," \
	" DATE_FORMAT(p.created_at, '%Y-%m-%dT%H:%i:%sZ') AS created_at," \
	" DATE_FORMAT(p.updated_at, '%Y-%m-%dT%H:%i:%sZ') AS updated_at" \
	" FROM projects p JOIN users u ON u.id = p.user_id"

static int
project_row(void *rec, void *arg)
{
	const struct project_rec *r = rec;
	json_object *o = json_object_new_object();

	if (o == NULL)
		return 1;
	json_object_object_add(o, "id", json_object_new_int64(
		(int64_t)r->id));
	json_object_object_add(o, "name", json_object_new_string(r->name));
	json_object_object_add(o, "description",
		json_object_new_string(r->description));
	json_object_object_add(o, "owner_id", json_object_new_int64(
		(int64_t)r->user_id));
	json_object_object_add(o, "owner", json_object_new_string(r->maker));
	json_object_object_add(o, "team_id", r->team_id ?
		json_object_new_int64((int64_t)r->team_id) : NULL);
	json_object_object_add(o, "created_at",
		json_object_new_string(r->created_at));
	json_object_object_add(o, "updated_at",
		json_object_new_string(r->updated_at));
	return json_object_array_add(arg, o) != 0;
}

/* The caller's access to the route's project; -1 after answering 404
 * (none) or 403 (less than need). */
static int
access_here(struct kreq *req, enum project_access need)
{
	int a = project_access(req->app->db, req_id(req, 0),
		req->auth->user_id);

	if (a < 0)
		return api_db_fail(req, "api projects: access");
	if (a == PROJECT_NONE)
		return resp_error_json(req, 404, "not_found", "no such "
			"project", NULL);
	if (a < (int)need)
		return resp_error_json(req, 403, "forbidden", need ==
			PROJECT_MANAGE ? "only the project's maker and its "
			"team's owners may delete or share it" : "a team's "
			"viewers cannot change its projects", NULL);
	return a;
}

struct pjob_rec {
	unsigned long long id;
	const char *status, *prompt;
	long images;
};

static const struct db_field pjob_fields[] = {
	DB_FIELD(struct pjob_rec, id, DBF_ULLONG, "id"),
	DB_FIELD(struct pjob_rec, status, DBF_STR, "status"),
	DB_FIELD(struct pjob_rec, prompt, DBF_STR, "prompt"),
	DB_FIELD(struct pjob_rec, images, DBF_LONG, "images"),
};

struct base_arr {
	const char *base;
	json_object *a;
};

/* The image URLs of job id with n images. */
static json_object *
image_urls(const char *base, unsigned long long id, long n)
{
	json_object *a = json_object_new_array();
	long i;

	for (i = 0; a != NULL && i < n; i++)
		json_object_array_add(a, json_site_url(base,
			"/api/v1/images/%llu-%ld.png", id, i));
	return a;
}

static int
pjob_row(void *rec, void *arg)
{
	const struct pjob_rec *r = rec;
	struct base_arr *b = arg;
	json_object *o = json_object_new_object();

	if (o == NULL)
		return 1;
	json_object_object_add(o, "id", json_object_new_int64(
		(int64_t)r->id));
	json_object_object_add(o, "status", json_object_new_string(
		r->status));
	json_object_object_add(o, "prompt", json_object_new_string(
		r->prompt));
	json_object_object_add(o, "images", image_urls(b->base, r->id,
		r->images));
	return json_object_array_add(b->a, o) != 0;
}

struct shot_rec {
	const char *shot;
	long latest, versions;
	unsigned long long job_id;
	const char *updated_at;
};

static const struct db_field shot_fields[] = {
	DB_FIELD(struct shot_rec, shot, DBF_STR, "shot"),
	DB_FIELD(struct shot_rec, latest, DBF_LONG, "latest"),
	DB_FIELD(struct shot_rec, versions, DBF_LONG, "versions"),
	DB_FIELD_NULL(struct shot_rec, job_id, DBF_ULLONG, "job_id"),
	DB_FIELD(struct shot_rec, updated_at, DBF_STR, "updated_at"),
};

static int
shot_row(void *rec, void *arg)
{
	const struct shot_rec *r = rec;
	json_object *o = json_object_new_object();

	if (o == NULL)
		return 1;
	json_object_object_add(o, "name", json_object_new_string(r->shot));
	json_object_object_add(o, "latest_version",
		json_object_new_int64(r->latest));
	json_object_object_add(o, "versions", json_object_new_int64(
		r->versions));
	json_object_object_add(o, "job_id", r->job_id ?
		json_object_new_int64((int64_t)r->job_id) : NULL);
	json_object_object_add(o, "updated_at",
		json_object_new_string(r->updated_at));
	return json_object_array_add(arg, o) != 0;
}

/* Project id as the caller (with access a) sees it: its jobs (those
 * the caller may see; the others counted in hidden_jobs) and its
 * shots. NULL on a db error or out of memory. */
static json_object *
project_json(struct kreq *req, unsigned long long id, int a)
{
	struct db_param p[2] = { DB_INT(id), DB_INT(req->auth->user_id) };
	json_object *arr = json_object_new_array(), *o = NULL, *jobs, *shots;
	struct project_rec pr;
	struct pjob_rec jr;
	struct shot_rec sr;
	struct base_arr b;
	long hidden = 0;

	if (arr == NULL || db_query_into(req->app->db, PROJECT_SQL
	    " WHERE p.id = ?", p, 1, project_fields,
	    DB_NFIELDS(project_fields), &pr, project_row, arr) != 1)
		goto out;
	o = json_object_get(json_object_array_get_idx(arr, 0));
	json_object_object_add(o, "access", json_object_new_string(
		project_access_name(a)));
	jobs = json_object_new_array();
	json_object_object_add(o, "jobs", jobs);
	b.base = req->app->cfg.base_url;
	b.a = jobs;
	shots = json_object_new_array();
	json_object_object_add(o, "shots", shots);
	if (jobs == NULL || shots == NULL ||
	    db_query_into(req->app->db, "SELECT j.id, j.status, j.prompt,"
	    " (SELECT COUNT(*) FROM job_images i WHERE i.job_id = j.id) AS"
	    " images FROM project_jobs pj JOIN jobs j ON j.id = pj.job_id"
	    " WHERE pj.project_id = ? AND j.deleted_at IS NULL AND "
	    TEAM_JOB_SEES("j.") " ORDER BY pj.added_at, j.id", p, 2,
	    pjob_fields, DB_NFIELDS(pjob_fields), &jr, pjob_row, &b) < 0 ||
	    db_query_long(req->app->db, "SELECT COUNT(*) FROM project_jobs pj"
	    " JOIN jobs j ON j.id = pj.job_id WHERE pj.project_id = ? AND"
	    " j.deleted_at IS NULL AND NOT " TEAM_JOB_SEES("j."), p, 2,
	    &hidden) != 0 ||
	    db_query_into(req->app->db, "SELECT m.shot, m.version AS latest,"
	    " (SELECT COUNT(*) FROM project_manifests x WHERE x.project_id ="
	    " m.project_id AND x.shot = m.shot) AS versions, m.job_id,"
	    " DATE_FORMAT(m.created_at, '%Y-%m-%dT%H:%i:%sZ') AS updated_at"
	    " FROM project_manifests m WHERE m.project_id = ? AND m.version ="
	    " (SELECT MAX(y.version) FROM project_manifests y WHERE"
	    " y.project_id = m.project_id AND y.shot = m.shot)"
	    " ORDER BY m.shot", p, 1, shot_fields, DB_NFIELDS(shot_fields),
	    &sr, shot_row, shots) < 0) {
		json_object_put(o);
		o = NULL;
		goto out;
	}
	json_object_object_add(o, "hidden_jobs", json_object_new_int64(
		hidden));
out:
	json_object_put(arr);
	return o;
}

int
api_projects_list(struct kreq *req)
{
	struct db_param p[2] = { DB_INT(req->auth->user_id),
		DB_INT(req->auth->user_id) };
	json_object *a = json_object_new_array(), *o;
	struct project_rec pr;

	if (a == NULL)
		return api_send(req, 500, NULL);
	if (db_query_into(req->app->db, PROJECT_SQL " WHERE "
	    PROJECT_SEES("p.") " ORDER BY p.id", p, 2, project_fields,
	    DB_NFIELDS(project_fields), &pr, project_row, a) < 0) {
		json_object_put(a);
		return api_db_fail(req, "api projects: list");
	}
	o = json_object_new_object();
	if (o == NULL) {
		json_object_put(a);
		return api_send(req, 500, NULL);
	}
	json_object_object_add(o, "projects", a);
	return api_send(req, 200, o);
}

static int
field_fail(struct kreq *req, const char *field, const char *what)
{
	json_object *f = json_object_new_object();

	if (f != NULL)
		json_object_object_add(f, field, json_object_new_string(what));
	return resp_error_json(req, 400, "validation_failed", "see fields",
		f);
}

/* body's key: 0 absent, 1 a string (into *s), -1 after answering 400. */
static int
body_text(struct kreq *req, json_object *body, const char *key,
	size_t max, int name, const char **s)
{
	json_object *v;

	if (!json_object_object_get_ex(body, key, &v))
		return 0;
	*s = json_object_is_type(v, json_type_string) ?
		json_object_get_string(v) : NULL;
	if (*s == NULL || (name ? !team_name_valid(*s) :
	    !project_text_valid(*s, max)))
		return field_fail(req, key, name ? "must be text of 1 to 100 "
			"bytes" : "must be text of at most 2000 bytes");
	return 1;
}

/* body's "team_id": 0 absent, 1 a team the caller may share with (or
 * null: *team 0), -1 after answering (400, 404 not in it, 403 a
 * viewer). */
static int
body_team(struct kreq *req, json_object *body, unsigned long long *team)
{
	json_object *v;
	int r;

	*team = 0;
	if (!json_object_object_get_ex(body, "team_id", &v))
		return 0;
	if (v == NULL)
		return 1;
	if (!json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 1)
		return field_fail(req, "team_id", "must be a team's id or "
			"null");
	*team = (unsigned long long)json_object_get_int64(v);
	r = team_role_of(req->app->db, *team, req->auth->user_id);
	if (r < 0)
		return api_db_fail(req, "api projects: team");
	if (r == TEAM_NONE)
		return resp_error_json(req, 404, "not_found", "no such team",
			NULL);
	if (r < TEAM_MEMBER)
		return resp_error_json(req, 403, "forbidden", "a team's "
			"viewers cannot share projects with it", NULL);
	return 1;
}

int
api_projects_create(struct kreq *req)
{
	json_object *body = NULL, *o;
	const char *name = NULL, *desc = "";
	unsigned long long id = 0, team = 0;
	char loc[64];
	int st;

	if (req_json_body(req, &body) != 0)
		return -1;
	st = body_text(req, body, "name", PROJECT_NAME_MAX, 1, &name);
	if (st == 0)
		st = field_fail(req, "name", "must be text of 1 to 100 bytes");
	if (st > 0)
		st = body_text(req, body, "description", PROJECT_DESC_MAX, 0,
			&desc) < 0 ? -1 : 1;
	if (st > 0)
		st = body_team(req, body, &team) < 0 ? -1 : 1;
	if (st > 0 && project_create(req->app->db, req->auth->user_id, team,
	    name, desc, &id) != 0)
		st = api_db_fail(req, "api projects: create");
	json_object_put(body);
	if (st < 0)
		return -1;
	o = project_json(req, id, PROJECT_MANAGE);
	if (o == NULL)
		return api_db_fail(req, "api projects: read back");
	snprintf(loc, sizeof(loc), "/api/v1/projects/%llu", id);
	resp_header(req, "Location", loc);
	return api_send(req, 201, o);
}

int
api_project_get(struct kreq *req)
{
	int a = access_here(req, PROJECT_READ);
	json_object *o;

	if (a < 0)
		return -1;
	o = project_json(req, req_id(req, 0), a);
	return o ? api_send(req, 200, o) : api_db_fail(req,
		"api projects: get");
}

int
api_project_patch(struct kreq *req)
{
	json_object *body = NULL, *o;
	const char *name = NULL, *desc = NULL;
	unsigned long long team = 0;
	struct db_param p[2];
	int a, has_team, st;

	a = access_here(req, PROJECT_WRITE);
	if (a < 0 || req_json_body(req, &body) != 0)
		return -1;
	st = body_text(req, body, "name", PROJECT_NAME_MAX, 1, &name);
	if (st >= 0)
		st = body_text(req, body, "description", PROJECT_DESC_MAX, 0,
			&desc);
	has_team = st >= 0 && json_object_object_get_ex(body, "team_id",
		NULL);
	/* Sharing decides who sees it: for those who manage it. */
	if (has_team && a < PROJECT_MANAGE)
		st = access_here(req, PROJECT_MANAGE);
	else if (has_team)
		st = body_team(req, body, &team);
	p[1] = DB_INT(req_id(req, 0));
	if (st >= 0 && name != NULL) {
		p[0] = DB_STR(name);
		if (db_exec(req->app->db, "UPDATE projects SET name = ? WHERE"
		    " id = ?", p, 2, NULL, NULL) != 0)
			st = api_db_fail(req, "api projects: patch");
	}
	if (st >= 0 && desc != NULL) {
		p[0] = DB_STR(desc);
		if (db_exec(req->app->db, "UPDATE projects SET description = ?"
		    " WHERE id = ?", p, 2, NULL, NULL) != 0)
			st = api_db_fail(req, "api projects: patch");
	}
	if (st >= 0 && has_team) {
		p[0] = team ? DB_INT(team) : DB_NULL;
		if (db_exec(req->app->db, "UPDATE projects SET team_id = ?"
		    " WHERE id = ?", p, 2, NULL, NULL) != 0)
			st = api_db_fail(req, "api projects: patch");
	}
	json_object_put(body);
	if (st < 0)
		return -1;
	/* What the caller may do now (sharing can change it). */
	a = project_access(req->app->db, req_id(req, 0), req->auth->user_id);
	if (a < 0)
		return api_db_fail(req, "api projects: patch");
	if (a == PROJECT_NONE)
		return api_no_content(req);
	o = project_json(req, req_id(req, 0), a);
	return o ? api_send(req, 200, o) : api_db_fail(req,
		"api projects: read back");
}

int
api_project_delete(struct kreq *req)
{
	struct db_param p[1] = { DB_INT(req_id(req, 0)) };

	if (access_here(req, PROJECT_MANAGE) < 0)
		return -1;
	if (db_exec(req->app->db, "DELETE FROM projects WHERE id = ?", p, 1,
	    NULL, NULL) != 0)
		return api_db_fail(req, "api projects: delete");
	return api_no_content(req);
}

int
api_project_job_add(struct kreq *req)
{
	json_object *body = NULL, *v, *o;
	int64_t job = 0;
	int a, r;

	a = access_here(req, PROJECT_WRITE);
	if (a < 0 || req_json_body(req, &body) != 0)
		return -1;
	if (json_object_object_get_ex(body, "job_id", &v) &&
	    json_object_is_type(v, json_type_int))
		job = json_object_get_int64(v);
	json_object_put(body);
	if (job < 1)
		return field_fail(req, "job_id", "must be a job's id");
	r = project_job_add(req->app->db, req_id(req, 0),
		(unsigned long long)job, req->auth->user_id);
	if (r < 0)
		return api_db_fail(req, "api projects: add job");
	if (r == 2)
		return resp_error_json(req, 404, "not_found", "no such job",
			NULL);
	o = project_json(req, req_id(req, 0), a);
	return o ? api_send(req, r == 0 ? 201 : 200, o) : api_db_fail(req,
		"api projects: read back");
}

int
api_project_job_remove(struct kreq *req)
{
	struct db_param p[2] = { DB_INT(req_id(req, 0)),
		DB_INT(req_id(req, 1)) };
	unsigned long long n = 0;

	if (access_here(req, PROJECT_WRITE) < 0)
		return -1;
	if (db_exec(req->app->db, "DELETE FROM project_jobs WHERE"
	    " project_id = ? AND job_id = ?", p, 2, &n, NULL) != 0)
		return api_db_fail(req, "api projects: remove job");
	if (n == 0)
		return resp_error_json(req, 404, "not_found", "no such job in "
			"this project", NULL);
	return api_no_content(req);
}

/* The route's shot name (capture 1), or NULL after answering 404. */
static const char *
shot_here(struct kreq *req)
{
	const char *s = req->ncaptures > 1 ? req->captures[1] : NULL;

	if (s == NULL || !shot_name_valid(s)) {
		resp_error_json(req, 404, "not_found", "no such shot", NULL);
		return NULL;
	}
	return s;
}

struct version_rec {
	unsigned long long id;
	long version;
	const char *manifest, *note, *author, *created_at;
	unsigned long long job_id;
	int job_visible;
	long images;
};

static const struct db_field version_fields[] = {
	DB_FIELD(struct version_rec, id, DBF_ULLONG, "id"),
	DB_FIELD(struct version_rec, version, DBF_LONG, "version"),
	DB_FIELD(struct version_rec, manifest, DBF_STR, "manifest"),
	DB_FIELD(struct version_rec, note, DBF_STR, "note"),
	DB_FIELD_NULL(struct version_rec, author, DBF_STR, "author"),
	DB_FIELD(struct version_rec, created_at, DBF_STR, "created_at"),
	DB_FIELD_NULL(struct version_rec, job_id, DBF_ULLONG, "job_id"),
	DB_FIELD(struct version_rec, job_visible, DBF_INT, "job_visible"),
	DB_FIELD(struct version_rec, images, DBF_LONG, "images"),
};

/* Three parameters: the reader (for the job's visibility), project,
 * shot; then the caller's conditions. A job the reader may not see is
 * named (its id) without its images. */
#define VERSION_SQL "SELECT m.id, m.version, m.manifest, m.note," \
	" u.username AS author," \
	" DATE_FORMAT(m.created_at, '%Y-%m-%dT%H:%i:%sZ') AS created_at," \
	" m.job_id, COALESCE(j.id IS NOT NULL AND " TEAM_JOB_SEES("j.") \
	", 0) AS job_visible, (SELECT COUNT(*) FROM job_images i WHERE" \
	" i.job_id = j.id) AS images FROM project_manifests m" \
	" LEFT JOIN users u ON u.id = m.author_id" \
	" LEFT JOIN jobs j ON j.id = m.job_id AND j.deleted_at IS NULL" \
	" WHERE m.project_id = ? AND m.shot = ?"

struct version_ctx {
	const char *base;
	json_object *a;
	int with_manifest;
};

/* text, stored checked, as JSON (null if it no longer parses). */
static json_object *
manifest_json(const char *text)
{
	json_object *o = NULL;
	char err[128];

	if (json_object_text_parse(text, strlen(text), &o, err,
	    sizeof(err)) != 0)
		return NULL;
	return o;
}

static int
version_row(void *rec, void *arg)
{
	const struct version_rec *r = rec;
	struct version_ctx *c = arg;
	json_object *o = json_object_new_object();

	if (o == NULL)
		return 1;
	json_object_object_add(o, "version", json_object_new_int64(
		r->version));
	if (c->with_manifest)
		json_object_object_add(o, "manifest",
			manifest_json(r->manifest));
	json_object_object_add(o, "note", json_object_new_string(r->note));
	json_object_object_add(o, "author", json_str_or_null(r->author));
	json_object_object_add(o, "created_at",
		json_object_new_string(r->created_at));
	json_object_object_add(o, "job_id", r->job_id ?
		json_object_new_int64((int64_t)r->job_id) : NULL);
	json_object_object_add(o, "images", image_urls(c->base, r->job_id,
		r->job_visible ? r->images : 0));
	return json_object_array_add(c->a, o) != 0;
}

int
api_project_versions(struct kreq *req)
{
	struct version_ctx c = { req->app->cfg.base_url, NULL, 1 };
	struct version_rec vr;
	const char *shot;
	json_object *o;

	if (access_here(req, PROJECT_READ) < 0 ||
	    (shot = shot_here(req)) == NULL)
		return -1;
	c.a = json_object_new_array();
	if (c.a == NULL || db_query_into(req->app->db, VERSION_SQL
	    " ORDER BY m.version", (struct db_param[]){
	    DB_INT(req->auth->user_id), DB_INT(req_id(req, 0)),
	    DB_STR(shot) }, 3, version_fields, DB_NFIELDS(version_fields),
	    &vr, version_row, &c) < 0) {
		json_object_put(c.a);
		return api_db_fail(req, "api projects: versions");
	}
	o = json_object_new_object();
	if (o == NULL) {
		json_object_put(c.a);
		return api_send(req, 500, NULL);
	}
	json_object_object_add(o, "shot", json_object_new_string(shot));
	json_object_object_add(o, "versions", c.a);
	return api_send(req, 200, o);
}

int
api_project_version_add(struct kreq *req)
{
	json_object *body = NULL, *m, *n, *o;
	const char *shot, *text, *note = "";
	char err[200], msg[260];
	long v = 0;
	int st = 1;

	if (access_here(req, PROJECT_WRITE) < 0 ||
	    (shot = shot_here(req)) == NULL || req_json_body(req, &body) != 0)
		return -1;
	if (!json_object_object_get_ex(body, "manifest", &m) ||
	    !json_object_is_type(m, json_type_object))
		st = field_fail(req, "manifest", "must be a JSON object");
	if (st > 0 && json_object_object_get_ex(body, "note", &n)) {
		note = json_object_is_type(n, json_type_string) ?
			json_object_get_string(n) : NULL;
		if (note == NULL || !project_text_valid(note,
		    VERSION_NOTE_MAX) || strpbrk(note, "\r\n\t") != NULL)
			st = field_fail(req, "note", "must be one line of at "
				"most 500 bytes");
	}
	if (st > 0) {
		/* Stored as compact text, through the same check as the
		 * page's: size and depth. */
		text = json_object_to_json_string_ext(m,
			JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		o = NULL;
		if (text == NULL || json_object_text_parse(text, strlen(text),
		    &o, err, sizeof(err)) != 0) {
			snprintf(msg, sizeof(msg), "%s", text ? err :
				"out of memory");
			st = field_fail(req, "manifest", msg);
		} else if (project_version_add(req->app->db, req_id(req, 0),
		    shot, text, note, req->auth->user_id, &v) != 0)
			st = api_db_fail(req, "api projects: version");
		json_object_put(o);
	}
	json_object_put(body);
	if (st < 0)
		return -1;
	o = json_object_new_object();
	if (o == NULL)
		return api_send(req, 500, NULL);
	json_object_object_add(o, "shot", json_object_new_string(shot));
	json_object_object_add(o, "version", json_object_new_int64(v));
	return api_send(req, 201, o);
}

static void
render_error(void *arg, const char *field, const char *msg)
{
	json_object_object_add(arg, field, json_object_new_string(msg));
}

int
api_project_render(struct kreq *req)
{
	struct project_version r;
	struct tier_limits tier;
	struct enqueue_refusal why;
	unsigned long long job = 0, team = 0;
	json_object *fields, *o;
	const char *shot;
	long tid = 0;
	int found, st;

	if (access_here(req, PROJECT_WRITE) < 0 ||
	    (shot = shot_here(req)) == NULL)
		return -1;
	if (project_version_get(req->app->db, req_id(req, 0), shot,
	    (long)req_id(req, 2), &r) != 0)
		return api_db_fail(req, "api projects: render");
	if (r.id == 0) {
		free(r.manifest);
		return resp_error_json(req, 404, "not_found", "no such version",
			NULL);
	}
	if (!api_submit_allowed(req)) {
		free(r.manifest);
		return -1;
	}
	if (db_query_long(req->app->db, "SELECT COALESCE(team_id, 0) FROM"
	    " projects WHERE id = ?", (struct db_param[]){
	    DB_INT(req_id(req, 0)) }, 1, &tid) != 0) {
		free(r.manifest);
		return api_db_fail(req, "api projects: render");
	}
	team = (unsigned long long)tid;
	fields = json_object_new_object();
	tier_of(&req->app->cfg, req->auth->tier, &tier);
	st = project_render(req->app->db, &req->app->cfg, &tier,
		req->auth->user_id, team, req_id(req, 0), r.id, r.manifest,
		render_error, fields, &why, &job);
	free(r.manifest);
	switch (st) {
	case PROJECT_RENDER_QUEUED:
		json_object_put(fields);
		o = job_json(req->app->db, req->app->cfg.base_url, job,
			req->auth->user_id, &found);
		return o ? api_send(req, 202, o) : api_db_fail(req,
			"api projects: read back");
	case PROJECT_RENDER_INVALID:
		return resp_error_json(req, 422, "validation_failed", "this "
			"version cannot be rendered; see fields", fields);
	case PROJECT_RENDER_REFUSED:
		json_object_put(fields);
		return api_refuse_quota(req, &why);
	default:
		json_object_put(fields);
		return api_db_fail(req, "api projects: render");
	}
}

/* The JSON value of compact text (null for NULL). */
static json_object *
value_of(const char *text)
{
	return text != NULL ? json_tokener_parse(text) : NULL;
}

int
api_project_diff(struct kreq *req)
{
	struct project_version ra = { 0 }, rb = { 0 };
	struct version_ctx c = { req->app->cfg.base_url, NULL, 0 };
	struct version_rec vr;
	json_object *a = NULL, *b = NULL, *o = NULL, *ch, *x;
	struct jsondiff d = { 0 };
	const char *shot, *qa = req_query(req, "a"), *qb = req_query(req,
		"b");
	char err[128];
	long va = 0, vb = 0;
	size_t i;
	int rc = -1;

	if (access_here(req, PROJECT_READ) < 0 ||
	    (shot = shot_here(req)) == NULL)
		return -1;
	if (qa == NULL || parse_long(qa, 1, 1L << 30, &va) != 0)
		return field_fail(req, "a", "must be a version number");
	if (qb == NULL || parse_long(qb, 1, 1L << 30, &vb) != 0)
		return field_fail(req, "b", "must be a version number");
	if (project_version_get(req->app->db, req_id(req, 0), shot, va,
	    &ra) != 0 || project_version_get(req->app->db, req_id(req, 0),
	    shot, vb, &rb) != 0) {
		api_db_fail(req, "api projects: diff");
		goto out;
	}
	if (ra.id == 0 || rb.id == 0) {
		resp_error_json(req, 404, "not_found", "no such version", NULL);
		goto out;
	}
	if (json_object_text_parse(ra.manifest, strlen(ra.manifest), &a, err,
	    sizeof(err)) != 0 || json_object_text_parse(rb.manifest,
	    strlen(rb.manifest), &b, err, sizeof(err)) != 0 ||
	    jsondiff(a, b, &d) != 0) {
		resp_error_json(req, 500, "internal", "the versions could not "
			"be compared", NULL);
		goto out;
	}
	o = json_object_new_object();
	ch = json_object_new_array();
	c.a = json_object_new_array();
	json_object_object_add(o, "shot", json_object_new_string(shot));
	json_object_object_add(o, "a", json_object_new_int64(va));
	json_object_object_add(o, "b", json_object_new_int64(vb));
	json_object_object_add(o, "changes", ch);
	json_object_object_add(o, "versions", c.a);
	for (i = 0; ch != NULL && i < d.n; i++) {
		x = json_object_new_object();
		json_object_object_add(x, "kind", json_object_new_string(
			jd_kind_name(d.c[i].kind)));
		json_object_object_add(x, "path", json_object_new_string(
			d.c[i].path));
		json_object_object_add(x, "before", value_of(d.c[i].before));
		json_object_object_add(x, "after", value_of(d.c[i].after));
		json_object_array_add(ch, x);
	}
	/* The two versions' renders, a first. */
	if (db_query_into(req->app->db, VERSION_SQL " AND m.version = ?",
	    (struct db_param[]){ DB_INT(req->auth->user_id),
	    DB_INT(req_id(req, 0)), DB_STR(shot), DB_INT(va) }, 4,
	    version_fields, DB_NFIELDS(version_fields), &vr, version_row,
	    &c) < 0 || db_query_into(req->app->db, VERSION_SQL
	    " AND m.version = ?", (struct db_param[]){
	    DB_INT(req->auth->user_id), DB_INT(req_id(req, 0)), DB_STR(shot),
	    DB_INT(vb) }, 4, version_fields, DB_NFIELDS(version_fields), &vr,
	    version_row, &c) < 0) {
		api_db_fail(req, "api projects: diff");
		goto out;
	}
	rc = api_send(req, 200, o);
	o = NULL;
out:
	json_object_put(o);
	jsondiff_free(&d);
	json_object_put(a);
	json_object_put(b);
	free(ra.manifest);
	free(rb.manifest);
	return rc;
}
