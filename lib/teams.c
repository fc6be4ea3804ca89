/* teams.c - teams: roles, members, and who may see a team's jobs (see
 * teams.h for the access rules). */
#include "teams.h"

#include "db.h"
#include "jobs.h"
#include "utf8.h"

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

/* role TEAM_NONE: remove. */
static enum team_change
member_change(struct db *db, unsigned long long team_id,
	unsigned long long user_id, enum team_role role)
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
		member_change(db, team_id, user_id, role);
}

enum team_change
team_member_remove(struct db *db, unsigned long long team_id,
	unsigned long long user_id)
{
	return member_change(db, team_id, user_id, TEAM_NONE);
}
