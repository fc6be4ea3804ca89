/* accountdel.c - deleting an account and everything kiln holds about it
 * but its pseudonymised audit entries (accountdel.h). */
#include "accountdel.h"
#include "config.h"
#include "dataexport.h"
#include "db.h"
#include "jobs.h"
#include "log.h"
#include "storage.h"
#include "twofa.h"
#include "util.h"

#include <json-c/json.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void
account_pseudonym(const struct kiln_config *cfg, unsigned long long uid,
	char *out)
{
	unsigned char key[32], h[8];
	char msg[64];
	int n;

	twofa_key(cfg, key);
	n = snprintf(msg, sizeof(msg), "kiln-pseudonym:%llu", uid);
	crypto_generichash(h, sizeof(h), (const unsigned char *)msg,
		(size_t)n, key, sizeof(key));
	sodium_memzero(key, sizeof(key));
	memcpy(out, "deleted-user-", 13);
	sodium_bin2hex(out + 13, 17, h, sizeof(h));
}

/* (table, column) pairs set NULL rather than their row deleted: an
 * invitation an administrator made still works after they go, and one
 * that was used stays used. */
static int
column_nulled(const char *table, const char *col)
{
	return !strcmp(table, "invites") && (!strcmp(col, "created_by") ||
		!strcmp(col, "used_by"));
}

/* Cancels uid's unfinished jobs and waits up to wait_s seconds for them
 * to end. Returns 0 when none is left, 1 when one still runs, -1. */
static int
cancel_jobs(struct db *db, unsigned long long uid, int wait_s)
{
	struct db_param p = DB_INT(uid);
	struct buf ids = { 0 };
	char *line, *save = NULL;
	double until;
	long left = 0;

	if (db_query(db, "SELECT id FROM jobs WHERE user_id = ? AND status"
	    " IN ('queued', 'running')", &p, 1, db_row_line, &ids) < 0)
		return -1;
	for (line = ids.data ? strtok_r(ids.data, "\n", &save) : NULL;
	    line != NULL; line = strtok_r(NULL, "\n", &save))
		if (job_cancel(db, strtoull(line, NULL, 10), 0) < 0) {
			buf_free(&ids);
			return -1;
		}
	buf_free(&ids);
	until = (double)time(NULL) + wait_s;
	for (;;) {
		struct timespec ts = { 0, 200 * 1000 * 1000 };

		if (db_query_long(db, "SELECT COUNT(*) FROM jobs WHERE"
		    " user_id = ? AND status IN ('queued', 'running')", &p, 1,
		    &left) != 0)
			return -1;
		if (left == 0)
			return 0;
		if ((double)time(NULL) >= until)
			return 1;
		nanosleep(&ts, NULL);
	}
}

/* What a team loses with uid, in the open transaction: a team whose
 * only owner uid is gets its longest-standing member (else viewer) as
 * owner, or, with nobody left, goes (its jobs stay their makers'); a
 * project uid made for a team passes to one of the team's owners, so
 * the others' shots and versions stay. */
static int
hand_over(struct db *db, unsigned long long uid)
{
	struct db_param p[3] = { DB_INT(uid), DB_INT(uid), DB_INT(uid) };
	struct buf teams = { 0 };
	char *line, *save = NULL;
	int rc = -1;

	if (db_query(db, "SELECT t.team_id FROM team_members t WHERE"
	    " t.user_id = ? AND t.role = 'owner' AND NOT EXISTS (SELECT 1"
	    " FROM team_members o WHERE o.team_id = t.team_id AND"
	    " o.role = 'owner' AND o.user_id <> ?) FOR UPDATE", p, 2,
	    db_row_line, &teams) < 0)
		goto out;
	for (line = teams.data ? strtok_r(teams.data, "\n", &save) : NULL;
	    line != NULL; line = strtok_r(NULL, "\n", &save)) {
		struct db_param q[2] = { DB_INT(strtoull(line, NULL, 10)),
			DB_INT(uid) };
		unsigned long long n = 0;

		if (db_exec(db, "UPDATE team_members SET role = 'owner' WHERE"
		    " team_id = ? AND user_id <> ? ORDER BY role = 'viewer',"
		    " added_at, user_id LIMIT 1", q, 2, &n, NULL) != 0)
			goto out;
		if (n == 0 && (db_exec(db, "UPDATE jobs SET team_id = NULL"
		    " WHERE team_id = ?", q, 1, NULL, NULL) != 0 ||
		    db_exec(db, "DELETE FROM teams WHERE id = ?", q, 1, NULL,
		    NULL) != 0))
			goto out;
	}
	if (db_exec(db, "UPDATE projects p SET p.user_id = (SELECT m.user_id"
	    " FROM team_members m WHERE m.team_id = p.team_id AND"
	    " m.role = 'owner' AND m.user_id <> ? ORDER BY m.added_at,"
	    " m.user_id LIMIT 1) WHERE p.user_id = ? AND EXISTS (SELECT 1"
	    " FROM team_members o WHERE o.team_id = p.team_id AND"
	    " o.role = 'owner' AND o.user_id <> ?)", p, 3, NULL, NULL) != 0)
		goto out;
	rc = 0;
out:
	buf_free(&teams);
	return rc;
}

/* 1 when table's job_id clears (ON DELETE SET NULL) rather than goes
 * with its job: a project's version keeps its history when the job it
 * rendered goes. 0 no, -1 on a database error. */
static int
job_id_nulled(struct db *db, const char *table)
{
	struct db_param p = DB_STR(table);
	long n = 0;

	if (db_query_long(db, "SELECT COUNT(*) FROM"
	    " information_schema.KEY_COLUMN_USAGE k JOIN"
	    " information_schema.REFERENTIAL_CONSTRAINTS r ON"
	    " r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND"
	    " r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME ="
	    " k.TABLE_NAME WHERE k.TABLE_SCHEMA = DATABASE() AND"
	    " k.TABLE_NAME = ? AND k.COLUMN_NAME = 'job_id' AND"
	    " k.REFERENCED_TABLE_NAME = 'jobs' AND r.DELETE_RULE = 'SET NULL'",
	    &p, 1, &n) != 0)
		return -1;
	return n > 0;
}

/* The deletion's statements, in the open transaction. */
static int
delete_rows(struct db *db, unsigned long long uid, const char *name,
	const char *pseud)
{
	struct db_param p[4];
	struct utables *ts = xcalloc(1, sizeof(*ts));
	char sql[512];
	int i, c, rc = -1;

	/* The audit log keeps what happened, not who it was: the detail's
	 * mentions of the name first, while the rows can still be found
	 * by their ids. */
	p[0] = DB_STR(name);
	p[1] = DB_STR(pseud);
	p[2] = DB_INT(uid);
	p[3] = DB_INT(uid);
	if (db_exec(db, "UPDATE audit_log SET detail = REPLACE(detail, ?, ?)"
	    " WHERE actor_id = ? OR target_id = ?", p, 4, NULL, NULL) != 0)
		goto out;
	p[0] = DB_STR(pseud);
	p[1] = DB_INT(uid);
	p[2] = DB_STR(name);
	/* The account's own addresses are personal data; an
	 * administrator's, acting on it, are not the account's. */
	if (db_exec(db, "UPDATE audit_log SET actor_id = NULL, actor = ?,"
	    " ip = '' WHERE actor_id = ? OR (actor_id IS NULL AND actor = ?)",
	    p, 3, NULL, NULL) != 0 ||
	    db_exec(db, "UPDATE audit_log SET target_id = NULL, target = ?"
	    " WHERE target_id = ? OR (target_id IS NULL AND target = ?)",
	    p, 3, NULL, NULL) != 0)
		goto out;
	p[0] = DB_STR(name);
	if (db_exec(db, "DELETE FROM login_throttle WHERE kind = 'user' AND"
	    " subject = ?", p, 1, NULL, NULL) != 0)
		goto out;
	if (hand_over(db, uid) != 0 || utables_find(db, ts) != 0)
		goto out;
	p[0] = DB_INT(uid);
	/* Every other table a migration made with a user column: the rows
	 * of its jobs first, then its own, then the jobs and the account
	 * (foreign keys cascade as well; this also reaches the tables
	 * without one). */
	for (i = 0; i < ts->n; i++) {
		const struct utable *t = &ts->t[i];

		if (!strcmp(t->name, "users") || !strcmp(t->name, "jobs") ||
		    !strcmp(t->name, "audit_log"))
			continue;
		if (t->has_job_id) {
			int nulled = job_id_nulled(db, t->name);

			if (nulled < 0 || snprintf_checked(sql, sizeof(sql),
			    nulled ? "UPDATE `%s` SET job_id = NULL WHERE"
			    " job_id IN (SELECT id FROM jobs WHERE"
			    " user_id = ?)" : "DELETE FROM `%s` WHERE job_id"
			    " IN (SELECT id FROM jobs WHERE user_id = ?)",
			    t->name) != 0 ||
			    db_exec(db, sql, p, 1, NULL, NULL) != 0)
				goto out;
		}
		for (c = 0; c < t->ncols; c++) {
			if (snprintf_checked(sql, sizeof(sql),
			    column_nulled(t->name, t->cols[c]) ||
			    t->nulled[c] ?
			    "UPDATE `%s` SET `%s` = NULL WHERE `%s` = ?" :
			    "DELETE FROM `%s` WHERE `%s` = ?%.0s", t->name,
			    t->cols[c], t->cols[c]) != 0 ||
			    db_exec(db, sql, p, 1, NULL, NULL) != 0)
				goto out;
		}
	}
	if (db_exec(db, "DELETE FROM jobs WHERE user_id = ?", p, 1, NULL,
	    NULL) != 0 ||
	    db_exec(db, "DELETE FROM users WHERE id = ?", p, 1, NULL,
	    NULL) != 0)
		goto out;
	rc = 0;
out:
	free(ts);
	return rc;
}

/* account.deleted's data: the id the operator's systems know the
 * account by and who asked ("self" or "admin"); not the pseudonym, so
 * the delivery does not tie the audit log's entries back to the id. */
static json_object *
deleted_event(unsigned long long uid, const char *by)
{
	json_object *d = json_object_new_object();

	if (d == NULL)
		return NULL;
	json_object_object_add(d, "user_id",
		json_object_new_int64((int64_t)uid));
	json_object_object_add(d, "by", json_object_new_string(by));
	return d;
}

struct who {
	char *name;
	int disabled;
};

enum account_delete
account_delete(struct db *db, const struct kiln_config *cfg,
	unsigned long long uid, const char *by, int wait_s, char *pseudonym)
{
	static const struct db_field fields[] = {
		DB_FIELD(struct who, name, DBF_DUP, "username"),
		DB_FIELD(struct who, disabled, DBF_INT, "disabled"),
	};
	struct db_param p[2] = { DB_INT(uid), DB_INT(0) };
	struct who w = { NULL, 0 };
	enum account_delete rc = ACCTDEL_DBFAIL;
	struct buf files = { 0 };
	struct storage *st = NULL;
	char role[16] = "", *line, *save = NULL;
	long n, admins = 0;
	int busy;

	n = db_query_into(db, "SELECT username, disabled FROM users"
	    " WHERE id = ?", p, 1, fields, DB_NFIELDS(fields), &w, NULL,
	    NULL);
	if (n <= 0) {
		free(w.name);
		return n < 0 ? ACCTDEL_DBFAIL : ACCTDEL_NOT_FOUND;
	}
	account_pseudonym(cfg, uid, pseudonym);
	if (db_query_string(db, "SELECT role FROM users WHERE id = ?", p, 1,
	    &line) != 0)
		goto out;
	snprintf(role, sizeof(role), "%s", line ? line : "");
	free(line);
	if (!strcmp(role, "admin")) {
		if (db_query_long(db, "SELECT COUNT(*) FROM users WHERE"
		    " role = 'admin' AND disabled = 0 AND id <> ?", p, 1,
		    &admins) != 0)
			goto out;
		if (admins == 0) {
			rc = ACCTDEL_LAST_ADMIN;
			goto out;
		}
	}
	/* Disabled while its jobs stop, so that no new one is queued and
	 * no key or session of it works. */
	if (db_exec(db, "UPDATE users SET disabled = 1 WHERE id = ?", p, 1,
	    NULL, NULL) != 0)
		goto out;
	busy = cancel_jobs(db, uid, wait_s);
	if (busy != 0) {
		p[1] = DB_INT(w.disabled);
		if (db_exec(db, "UPDATE users SET disabled = ? WHERE id = ?",
		    (struct db_param[]){ p[1], p[0] }, 2, NULL, NULL) != 0 ||
		    busy < 0)
			goto out;
		rc = ACCTDEL_BUSY;
		goto out;
	}
	/* The files to remove once the rows are gone. */
	p[1] = DB_INT(uid);
	if (db_query(db, "SELECT CONCAT('jobs/', id) FROM jobs WHERE"
	    " user_id = ? UNION ALL SELECT path FROM data_exports WHERE"
	    " (user_id = ? OR requested_by = ?) AND path IS NOT NULL",
	    (struct db_param[]){ p[0], p[0], p[0] }, 3, db_row_line,
	    &files) < 0 ||
	    buf_printf(&files, "uploads/%llu\n", uid) != 0)
		goto out;
	if (db_exec_text(db, "START TRANSACTION") != 0)
		goto out;
	if (delete_rows(db, uid, w.name, pseudonym) != 0 ||
	    site_event_queue(db, cfg->webhook_events_url, "account.deleted",
	    deleted_event(uid, by)) != 0 ||
	    db_exec_text(db, "COMMIT") != 0) {
		db_rollback(db);
		goto out;
	}
	/* Rows first: a file a failed removal leaves is unreachable, never
	 * a row without its file. */
	st = storage_open(cfg);
	for (line = files.data ? strtok_r(files.data, "\n", &save) : NULL;
	    line != NULL; line = strtok_r(NULL, "\n", &save)) {
		int r = str_has_suffix(line, ".zip") ?
			storage_remove(st, line) :
			storage_remove_prefix(st, line);

		if (st == NULL || r != 0)
			log_warn("delete user %llu: could not remove all of "
				"%s/%s", uid, cfg->artifacts_dir, line);
	}
	log_info("user %llu deleted; audit entries kept as %s", uid,
		pseudonym);
	rc = ACCTDEL_OK;
out:
	storage_free(st);
	buf_free(&files);
	free(w.name);
	return rc;
}
