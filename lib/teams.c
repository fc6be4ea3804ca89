/* teams.c - teams: roles, members, and who may see a team's jobs (see
 * teams.h for the access rules). */
#include "teams.h"

#include "db.h"
#include "jobs.h"
#include "utf8.h"
#include "util.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const role_names[] = { "", "viewer", "member", "owner" };

enum team_role
team_role_parse(const char *s)
{
	int r;

	for (r = TEAM_VIEWER; s != NULL && r <= TEAM_OWNER; r++)
		if (!strcmp(s, role_names[r]))
			return (enum team_role)r;
	return TEAM_NONE;
}

const char *
team_role_name(enum team_role r)
{
	return r >= TEAM_VIEWER && r <= TEAM_OWNER ? role_names[r] : "";
}

int
team_name_valid(const char *name)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t n = strlen(name), i, k, blank = 0;
	uint32_t c;

	if (n == 0 || n > TEAM_NAME_MAX)
		return 0;
	for (i = 0; i < n; i += k) {
		k = utf8_next(s + i, n - i, &c);
		if (c == UTF8_INVALID || c < 0x20 || (c >= 0x7f && c < 0xa0))
			return 0;
		blank += c == ' ';
	}
	return blank < n;
}

int
team_role_of(struct db *db, unsigned long long team_id,
	unsigned long long user_id)
{
	struct db_param p[2] = { DB_INT(team_id), DB_INT(user_id) };
	char *role = NULL;
	int r;

	if (db_query_string(db, "SELECT role FROM team_members WHERE"
	    " team_id = ? AND user_id = ?", p, 2, &role) != 0)
		return -1;
	r = team_role_parse(role);
	free(role);
	return r;
}

int
job_access(struct db *db, unsigned long long id, unsigned long long user_id)
{
	struct db_param p[3] = { DB_INT(user_id), DB_INT(user_id),
		DB_INT(id) };
	long a = 0;

	if (id == 0)
		return 0;
	if (db_query_long(db, "SELECT CASE WHEN " TEAM_JOB_MANAGES("j.")
	    " THEN 2 WHEN " TEAM_JOB_SEES("j.") " THEN 1 ELSE 0 END"
	    " FROM jobs j WHERE j.id = ? AND j.deleted_at IS NULL", p, 3,
	    &a) != 0)
		return -1;
	return (int)a;
}

int
team_create(struct db *db, unsigned long long user_id, const char *name,
	unsigned long long *id)
{
	struct db_param p[2] = { DB_STR(name), DB_INT(user_id) };

	if (db_exec_text(db, "START TRANSACTION") != 0)
		return -1;
	if (db_exec(db, "INSERT INTO teams (name, created_by) VALUES (?, ?)",
	    p, 2, NULL, id) != 0)
		goto fail;
	p[0] = DB_INT(*id);
	if (db_exec(db, "INSERT INTO team_members (team_id, user_id, role)"
	    " VALUES (?, ?, 'owner')", p, 2, NULL, NULL) != 0 ||
	    db_exec_text(db, "COMMIT") != 0)
		goto fail;
	return 0;
fail:
	db_rollback(db);
	return -1;
}

enum team_change
team_member_add(struct db *db, unsigned long long team_id,
	const char *username, enum team_role role, unsigned long long by,
	unsigned long long *added)
{
	struct db_param p[3];
	unsigned long long n = 0;
	char *team = NULL;
	json_object *d;
	long uid = 0;

	*added = 0;
	p[0] = DB_STR(username);
	p[1] = DB_INT(team_id);
	if (db_query_long(db, "SELECT id FROM users WHERE username = ?", p, 1,
	    &uid) != 0 || db_query_string(db, "SELECT name FROM teams WHERE"
	    " id = ?", p + 1, 1, &team) != 0)
		return TEAM_DBFAIL;
	if (uid <= 0 || team == NULL) {
		free(team);
		return TEAM_NO_USER;
	}
	if (db_exec_text(db, "START TRANSACTION") != 0)
		goto fail;
	p[0] = DB_INT(team_id);
	p[1] = DB_INT(uid);
	p[2] = DB_STR(team_role_name(role));
	if (db_exec(db, "INSERT IGNORE INTO team_members (team_id, user_id,"
	    " role) VALUES (?, ?, ?)", p, 3, &n, NULL) != 0)
		goto fail;
	if (n == 0) {
		db_rollback(db);
		free(team);
		return TEAM_ALREADY;
	}
	/* The event in the same transaction: it exists exactly when the
	 * membership does. */
	d = json_object_new_object();
	if (d != NULL) {
		json_object_object_add(d, "team_id",
			json_object_new_int64((int64_t)team_id));
		json_object_object_add(d, "team_name",
			json_object_new_string(team));
		json_object_object_add(d, "user_id",
			json_object_new_int64(uid));
		json_object_object_add(d, "role",
			json_object_new_string(team_role_name(role)));
		json_object_object_add(d, "added_by",
			json_object_new_int64((int64_t)by));
	}
	if (user_event_queue(db, (unsigned long long)uid,
	    "team.member_added", d) != 0 || db_exec_text(db, "COMMIT") != 0)
		goto fail;
	free(team);
	*added = (unsigned long long)uid;
	return TEAM_DONE;
fail:
	db_rollback(db);
	free(team);
	return TEAM_DBFAIL;
}

int
team_settings(struct db *db, unsigned long long team_id, const char *name,
	long max_queued)
{
	struct db_param p[4] = { DB_STR(name), DB_INT(max_queued),
		DB_INT(max_queued), DB_INT(team_id) };

	/* A NULL name binds SQL NULL: COALESCE keeps the old one. */
	return db_exec(db, "UPDATE teams SET name = COALESCE(?, name),"
	    " max_queued = CASE ? WHEN -1 THEN max_queued WHEN 0 THEN NULL"
	    " ELSE ? END WHERE id = ?", p, 4, NULL, NULL);
}

int
team_contribute(struct db *db, unsigned long long team_id,
	unsigned long long user_id, long amount)
{
	struct db_param p[3] = { DB_INT(amount), DB_INT(user_id),
		DB_INT(amount) };
	unsigned long long n = 0;

	if (db_exec_text(db, "START TRANSACTION") != 0)
		return -1;
	if (db_exec(db, "UPDATE users SET credits = credits - ? WHERE id = ?"
	    " AND credits >= ?", p, 3, &n, NULL) != 0)
		goto fail;
	if (n == 0) {
		db_rollback(db);
		return 1;
	}
	p[1] = DB_INT(team_id);
	if (db_exec(db, "UPDATE teams SET credits = credits + ? WHERE"
	    " id = ?", p, 2, &n, NULL) != 0 || n == 0 ||
	    db_exec_text(db, "COMMIT") != 0)
		goto fail;
	return 0;
fail:
	db_rollback(db);
	return -1;
}

/* Whether taking user_id's owner role away would leave no owner: the
 * team's owner rows are locked until the transaction ends, so two
 * owners leaving at once cannot both pass. 1 yes, 0 no, -1 error. */
static int
last_owner(struct db *db, unsigned long long team_id,
	unsigned long long user_id)
{
	struct db_param p[2] = { DB_INT(team_id), DB_INT(user_id) };
	long others = 0, is_owner = 0;

	if (db_query_long(db, "SELECT COUNT(*) FROM team_members WHERE"
	    " team_id = ? AND role = 'owner' AND user_id <> ? FOR UPDATE",
	    p, 2, &others) != 0 || db_query_long(db, "SELECT COUNT(*) FROM"
	    " team_members WHERE team_id = ? AND user_id = ? AND"
	    " role = 'owner'", p, 2, &is_owner) != 0)
		return -1;
	return is_owner > 0 && others == 0;
}

/* The data of a team.* event about user_id (the member) in team_id,
 * done by by; NULL when memory runs out (the queue then fails). */
static json_object *
member_event(struct db *db, unsigned long long team_id,
	unsigned long long user_id, unsigned long long by, const char *byname)
{
	struct db_param p = DB_INT(team_id);
	json_object *d = json_object_new_object();
	char *team = NULL;

	if (d == NULL || db_query_string(db, "SELECT name FROM teams WHERE"
	    " id = ?", &p, 1, &team) != 0) {
		json_object_put(d);
		return NULL;
	}
	json_object_object_add(d, "team_id",
		json_object_new_int64((int64_t)team_id));
	json_object_object_add(d, "team_name",
		json_object_new_string(team ? team : ""));
	json_object_object_add(d, "user_id",
		json_object_new_int64((int64_t)user_id));
	json_object_object_add(d, byname, json_object_new_int64((int64_t)by));
	free(team);
	return d;
}

/* role TEAM_NONE: remove (by: who removed them, for the event). */
static enum team_change
member_change(struct db *db, unsigned long long team_id,
	unsigned long long user_id, enum team_role role, unsigned long long by)
{
	struct db_param p[3];
	unsigned long long n = 0;
	int last;

	if (db_exec_text(db, "START TRANSACTION") != 0)
		return TEAM_DBFAIL;
	last = role == TEAM_OWNER ? 0 : last_owner(db, team_id, user_id);
	if (last < 0)
		goto fail;
	if (last) {
		db_rollback(db);
		return TEAM_LAST_OWNER;
	}
	p[0] = DB_STR(team_role_name(role));
	p[1] = DB_INT(team_id);
	p[2] = DB_INT(user_id);
	if ((role == TEAM_NONE ? db_exec(db, "DELETE FROM team_members WHERE"
	    " team_id = ? AND user_id = ?", p + 1, 2, &n, NULL) :
	    db_exec(db, "UPDATE team_members SET role = ? WHERE team_id = ?"
	    " AND user_id = ?", p, 3, &n, NULL)) != 0)
		goto fail;
	/* A removal is told to the one removed, in the same transaction
	 * as the row going. */
	if (role == TEAM_NONE && n > 0 && user_event_queue(db, user_id,
	    "team.member_removed", member_event(db, team_id, user_id, by,
	    "removed_by")) != 0)
		goto fail;
	if (db_exec_text(db, "COMMIT") != 0)
		goto fail;
	return n > 0 ? TEAM_DONE : TEAM_NO_USER;
fail:
	db_rollback(db);
	return TEAM_DBFAIL;
}

enum team_change
team_member_role(struct db *db, unsigned long long team_id,
	unsigned long long user_id, enum team_role role)
{
	return role == TEAM_NONE ? TEAM_NO_USER :
		member_change(db, team_id, user_id, role, 0);
}

enum team_change
team_member_remove(struct db *db, unsigned long long team_id,
	unsigned long long user_id, unsigned long long by)
{
	return member_change(db, team_id, user_id, TEAM_NONE, by);
}

enum team_change
team_delete(struct db *db, unsigned long long team_id,
	unsigned long long by, long *returned)
{
	struct db_param p[2] = { DB_INT(team_id), DB_INT(0) };
	struct buf members = { 0 };
	char *line, *save = NULL;
	long credits = -1, busy = 0;

	*returned = 0;
	if (db_exec_text(db, "START TRANSACTION") != 0)
		return TEAM_DBFAIL;
	/* The team's row locked first: a job being charged to its pool
	 * updates that row, so none is queued between the count and the
	 * delete. */
	if (db_query_long(db, "SELECT credits FROM teams WHERE id = ?"
	    " FOR UPDATE", p, 1, &credits) != 0)
		goto fail;
	if (credits < 0) {
		db_rollback(db);
		return TEAM_NO_USER;
	}
	if (db_query_long(db, "SELECT COUNT(*) FROM jobs WHERE team_id = ?"
	    " AND status IN ('queued', 'running')", p, 1, &busy) != 0)
		goto fail;
	if (busy > 0) {
		db_rollback(db);
		return TEAM_BUSY;
	}
	if (db_query(db, "SELECT user_id FROM team_members WHERE"
	    " team_id = ? ORDER BY user_id", p, 1, db_row_line, &members) < 0)
		goto fail;
	for (line = members.data ? strtok_r(members.data, "\n", &save) :
	    NULL; line != NULL; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long uid = strtoull(line, NULL, 10);

		if (user_event_queue(db, uid, "team.deleted", member_event(db,
		    team_id, uid, by, "deleted_by")) != 0)
			goto fail;
	}
	/* The pool goes to the owner who deletes the team; the jobs made
	 * for it stay their makers' own, as when one leaves. */
	p[0] = DB_INT(credits);
	p[1] = DB_INT(by);
	if (credits > 0 && db_exec(db, "UPDATE users SET credits ="
	    " credits + ? WHERE id = ?", p, 2, NULL, NULL) != 0)
		goto fail;
	p[0] = DB_INT(team_id);
	if (db_exec(db, "UPDATE jobs SET team_id = NULL WHERE team_id = ?",
	    p, 1, NULL, NULL) != 0 ||
	    db_exec(db, "DELETE FROM teams WHERE id = ?", p, 1, NULL,
	    NULL) != 0 || db_exec_text(db, "COMMIT") != 0)
		goto fail;
	buf_free(&members);
	*returned = credits;
	return TEAM_DONE;
fail:
	db_rollback(db);
	buf_free(&members);
	return TEAM_DBFAIL;
}
