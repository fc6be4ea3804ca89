/* projects.c - projects: who may do what (see projects.h), making one,
 * its jobs, and its shots' manifest versions. */
#include "projects.h"

#include "config.h"
#include "db.h"
#include "jsondiff.h"
#include "presets.h"
#include "submit.h"
#include "teams.h"
#include "utf8.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const access_names[] = { "", "read", "write",
	"manage" };

const char *
project_access_name(enum project_access a)
{
	return a >= PROJECT_READ && a <= PROJECT_MANAGE ? access_names[a] : "";
}

int
project_access(struct db *db, unsigned long long id,
	unsigned long long user_id)
{
	struct db_param p[3] = { DB_INT(user_id), DB_INT(user_id),
		DB_INT(id) };
	long a = 0;

	if (id == 0)
		return PROJECT_NONE;
	/* The maker's own standing in a team project is their role: a
	 * viewer reads; one who left sees nothing. */
	if (db_query_long(db, "SELECT CASE WHEN p.team_id IS NULL THEN"
	    " IF(p.user_id = ?, 3, 0) ELSE COALESCE((SELECT CASE WHEN"
	    " m.role = 'owner' OR (m.role = 'member' AND m.user_id ="
	    " p.user_id) THEN 3 WHEN m.role = 'member' THEN 2 ELSE 1 END"
	    " FROM team_members m WHERE m.team_id = p.team_id AND"
	    " m.user_id = ?), 0) END FROM projects p WHERE p.id = ?", p, 3,
	    &a) != 0)
		return -1;
	return (int)a;
}

int
shot_name_valid(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > SHOT_NAME_MAX || s[0] == '-' || s[0] == '_')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    s[i] == '_'))
			return 0;
	return 1;
}

int
project_text_valid(const char *s, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i, k;
	uint32_t c;

	if (n > max)
		return 0;
	for (i = 0; i < n; i += k) {
		k = utf8_next(u + i, n - i, &c);
		if (c == UTF8_INVALID || (c < 0x20 && c != '\n' &&
		    c != '\r' && c != '\t') || (c >= 0x7f && c < 0xa0))
			return 0;
	}
	return 1;
}

int
project_create(struct db *db, unsigned long long user_id,
	unsigned long long team_id, const char *name, const char *desc,
	unsigned long long *id)
{
	struct db_param p[4] = { DB_INT(user_id),
		team_id ? DB_INT(team_id) : DB_NULL, DB_STR(name),
		DB_STR(desc ? desc : "") };

	return db_exec(db, "INSERT INTO projects (user_id, team_id, name,"
	    " description) VALUES (?, ?, ?, ?)", p, 4, NULL, id);
}

int
project_job_add(struct db *db, unsigned long long project_id,
	unsigned long long job_id, unsigned long long user_id)
{
	struct db_param p[3] = { DB_INT(project_id), DB_INT(job_id),
		DB_INT(user_id) };
	unsigned long long n = 0;
	int a = job_access(db, job_id, user_id);

	if (a < 0)
		return -1;
	if (a == 0)
		return 2;
	if (db_exec(db, "INSERT IGNORE INTO project_jobs (project_id, job_id,"
	    " added_by) VALUES (?, ?, ?)", p, 3, &n, NULL) != 0)
		return -1;
	if (n > 0 && db_exec(db, "UPDATE projects SET updated_at ="
	    " CURRENT_TIMESTAMP(3) WHERE id = ?", p, 1, NULL, NULL) != 0)
		return -1;
	return n > 0 ? 0 : 1;
}

int
project_version_add(struct db *db, unsigned long long project_id,
	const char *shot, const char *text, const char *note,
	unsigned long long author, long *version)
{
	struct db_param p[6] = { DB_INT(project_id), DB_STR(shot) };
	long locked = 0, v = 0;

	if (db_exec_text(db, "START TRANSACTION") != 0)
		return -1;
	/* The project's row locked: two versions written at once get the
	 * next two numbers, not the same one. */
	if (db_query_long(db, "SELECT id FROM projects WHERE id = ? FOR"
	    " UPDATE", p, 1, &locked) != 0 || locked == 0 ||
	    db_query_long(db, "SELECT COALESCE(MAX(version), 0) + 1 FROM"
	    " project_manifests WHERE project_id = ? AND shot = ?", p, 2,
	    &v) != 0)
		goto fail;
	p[2] = DB_INT(v);
	p[3] = DB_STR(text);
	p[4] = DB_STR(note ? note : "");
	p[5] = DB_INT(author);
	if (db_exec(db, "INSERT INTO project_manifests (project_id, shot,"
	    " version, manifest, note, author_id) VALUES (?, ?, ?, ?, ?, ?)",
	    p, 6, NULL, NULL) != 0 ||
	    db_exec(db, "UPDATE projects SET updated_at = CURRENT_TIMESTAMP(3)"
	    " WHERE id = ?", p, 1, NULL, NULL) != 0 ||
	    db_exec_text(db, "COMMIT") != 0)
		goto fail;
	*version = v;
	return 0;
fail:
	db_rollback(db);
	return -1;
}

json_object *
project_render_body(json_object *manifest)
{
	static const char *const keys[] = { "prompt", "negative_prompt",
		"model", "width", "height", "steps", "cfg_scale", "sampler",
		"seed" };
	json_object *o, *v;
	size_t i;

	if (!json_object_object_get_ex(manifest, "prompt", &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	o = json_object_new_object();
	for (i = 0; o != NULL && i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_object_object_get_ex(manifest, keys[i], &v))
			json_object_object_add(o, keys[i],
				json_object_get(v));
	return o;
}

int
project_render(struct db *db, const struct kiln_config *cfg,
	const struct tier_limits *tier, unsigned long long user_id,
	unsigned long long team_id, unsigned long long project_id,
	unsigned long long version_id, const char *text,
	void (*err)(void *, const char *, const char *), void *arg,
	struct enqueue_refusal *why, unsigned long long *job_id)
{
	json_object *m = NULL, *body;
	char *mtext = NULL, *mpresets = NULL;
	struct job_spec s;
	struct db_param p[3];
	char e[256];
	int bad, st;

	*job_id = 0;
	if (json_object_text_parse(text, strlen(text), &m, e,
	    sizeof(e)) != 0)
		return PROJECT_RENDER_FAILED;	/* stored checked: a row
						 * changed behind us */
	/* A version with a top-level "prompt" is job fields (a scene
	 * manifest has no such key); any other is a scene manifest,
	 * compiled as POST /api/v1/jobs compiles one, and kept with the
	 * job. */
	body = project_render_body(m);
	if (body == NULL) {
		body = json_object_new_object();
		if (body == NULL) {
			json_object_put(m);
			return PROJECT_RENDER_FAILED;
		}
		json_object_object_add(body, "manifest", json_object_get(m));
		bad = manifest_apply(db, user_id, body, &mtext, &mpresets, err,
			arg);
		if (bad != 0) {
			json_object_put(body);
			json_object_put(m);
			free(mtext);
			free(mpresets);
			return bad < 0 ? PROJECT_RENDER_FAILED :
				PROJECT_RENDER_INVALID;
		}
	}
	json_object_put(m);
	bad = job_spec_from_json(body, cfg, &s, err, arg);
	json_object_put(body);
	s.team_id = team_id;
	s.manifest = mtext;
	s.manifest_presets = mpresets;
	if (bad == 0)
		bad = job_spec_limits(&s, tier, err, arg);
	if (bad == 0)
		bad = job_spec_model_limits(&s, err, arg);
	if (bad != 0) {
		job_spec_free(&s);
		return bad < 0 ? PROJECT_RENDER_FAILED :
			PROJECT_RENDER_INVALID;
	}
	st = job_enqueue(db, user_id, tier, &s, 1, job_id, why);
	job_spec_free(&s);
	if (st != 0)
		return st > 0 ? PROJECT_RENDER_REFUSED : PROJECT_RENDER_FAILED;
	p[0] = DB_INT(*job_id);
	p[1] = DB_INT(version_id);
	p[2] = DB_INT(user_id);
	if (db_exec(db, "UPDATE project_manifests SET job_id = ? WHERE"
	    " id = ?", p, 2, NULL, NULL) != 0 ||
	    db_exec(db, "INSERT IGNORE INTO project_jobs (project_id, job_id,"
	    " added_by) VALUES (?, ?, ?)", (struct db_param[]){
	    DB_INT(project_id), p[0], p[2] }, 3, NULL, NULL) != 0)
		return PROJECT_RENDER_FAILED;
	return PROJECT_RENDER_QUEUED;
}

int
project_version_get(struct db *db, unsigned long long project_id,
	const char *shot, long v, struct project_version *r)
{
	static const struct db_field f[] = {
		DB_FIELD(struct project_version, id, DBF_ULLONG, "id"),
		DB_FIELD(struct project_version, manifest, DBF_DUP,
			"manifest"),
	};
	struct db_param p[3] = { DB_INT(project_id), DB_STR(shot),
		DB_INT(v) };

	memset(r, 0, sizeof(*r));
	return db_query_into(db, "SELECT id, manifest FROM"
	    " project_manifests WHERE project_id = ? AND shot = ? AND"
	    " version = ?", p, 3, f, DB_NFIELDS(f), r, NULL, NULL) < 0 ?
	    -1 : 0;
}
