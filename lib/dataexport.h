/* dataexport.h - "your data": the tables that hold rows about an account
 * (found in information_schema, so a table a later migration adds is
 * covered without code here knowing it), the export of all of them and
 * the account's files as one ZIP with a manifest (made by kilnd's
 * courier, downloaded once by whoever asked), and its bookkeeping. */
#ifndef KILN_DATAEXPORT_H
#define KILN_DATAEXPORT_H

#include <stddef.h>

struct buf;
struct db;
struct kiln_config;

/* The manifest's schema version: bumped when a file's layout changes. */
#define EXPORT_SCHEMA_VERSION 1
/* Hours a ready export waits for its download. */
#define EXPORT_TTL_HOURS 24
/* The largest ZIP made: the web side reads it into memory to answer. */
#define EXPORT_MAX_BYTES ((size_t)1 << 30)
/* Seconds a daemon holds an export it makes before another may take it
 * over (the daemon died). */
#define EXPORT_LEASE_S 600

/* The columns that name an account in kiln's tables. A row whose column
 * of these holds the user's id is about the user; so is a row whose
 * job_id is one of the user's jobs. */
extern const char *const user_columns[];

/* One table with rows about accounts: its name and its user columns. */
#define UTABLE_MAX 64
#define UTABLE_COLS 8
struct utable {
	char name[65];
	char cols[UTABLE_COLS][65];
	int ncols;
	/* cols[i]'s foreign key to users says ON DELETE SET NULL: the row
	 * is someone else's (a moderator's hidden_by on another's image),
	 * so deleting the account clears the column and keeps the row. */
	int nulled[UTABLE_COLS];
	int has_job_id;		/* a job_id column (jobs' child rows) */
};
struct utables {
	struct utable t[UTABLE_MAX];
	int n;
};

/* Fills ts with every table of the current database that has a user
 * column or a job_id column, users and jobs included. Returns 0, or -1
 * (db error, or more tables than UTABLE_MAX: db_error says). */
int utables_find(struct db *db, struct utables *ts);

/* 1 when a column of that name may hold a secret (a password or key
 * hash, a token, a salt, a sealed secret): never exported. */
int column_is_secret(const char *name);

/* 1 when table's column col is left out of the export: a secret, or a
 * mail's text (it carries live links). */
int column_withheld(const char *table, const char *col);

/* The file of the export that a table's rows go to ("jobs.json"...;
 * "other.json" for a table not listed). */
const char *export_file_of(const char *table);

/* Asks for an export of user_id's data by requested_by (the user, or an
 * administrator). One already waiting or being made for the same pair
 * is reused. Returns the export's id, or 0 on a db error. */
unsigned long long export_request(struct db *db, unsigned long long user_id,
	unsigned long long requested_by);

/* What export_take found. */
enum export_take {
	EXPORT_TAKE_DBFAIL = -1,	/* db error, or the file unreadable */
	EXPORT_TAKE_OK = 0,		/* out holds the ZIP; it is now gone */
	EXPORT_TAKE_NOT_FOUND = 1,	/* no such export asked by requester */
	EXPORT_TAKE_GONE = 2,		/* downloaded, expired or failed */
	EXPORT_TAKE_NOT_READY = 3,	/* still queued or being made */
};

/* The download of export id, once: the ZIP into out (appended) when
 * requester asked for it and it is ready; it is then marked downloaded
 * and its file removed, so a second download finds it gone. *subject
 * is then whose data it holds. */
enum export_take export_take(struct db *db, const struct kiln_config *cfg,
	unsigned long long id, unsigned long long requester, struct buf *out,
	unsigned long long *subject);

/* A daemon's turn at the exports: removes expired ones (file and state),
 * then claims one waiting (or one whose maker died) and makes it.
 * Returns 1 when it made (or failed) one, 0 when none waited, -1 on a db
 * error (db_error). */
int export_work_one(struct db *db, const struct kiln_config *cfg,
	const char *daemon);

/* Makes the ZIP of user_id's data (export export_id) at path: the
 * tables' JSON files, the account's images, inputs and uploads under
 * files/<storage key>, and manifest.json. *bytes, *nfiles and sha256
 * (65 bytes) describe the ZIP. Returns 0, or -1 with a message in err
 * (the partial file is removed). */
int export_build(struct db *db, const struct kiln_config *cfg,
	unsigned long long user_id, const char *path, unsigned long long *bytes,
	int *nfiles, char *sha256, char *err, size_t errlen);

#endif
