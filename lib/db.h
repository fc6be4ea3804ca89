/* db.h - MariaDB access: one connection with timeouts, prepared statements
 * with typed parameters, rows bound by column name into typed C fields. */
#ifndef KILN_DB_H
#define KILN_DB_H

#include <stddef.h>

struct kiln_config;
struct db;

enum db_ptype { DBP_NULL, DBP_STR, DBP_INT };

/* One statement parameter; use the DB_* constructors below. */
struct db_param {
	enum db_ptype type;
	const char *s;
	long long i;
};

#define DB_STR(x) ((struct db_param){ DBP_STR, (x), 0 })
#define DB_INT(x) ((struct db_param){ DBP_INT, NULL, (long long)(x) })
#define DB_NULL ((struct db_param){ DBP_NULL, NULL, 0 })

/* One result row: cols[i] is NULL for SQL NULL, else a NUL-terminated
 * string valid only during the callback; names[i] is the column's name
 * or alias in the SELECT. Only generic code (view_rows) reads rows this
 * way; everything else binds fields by name with db_query_into. */
struct db_row {
	size_t ncols;
	const char *const *cols;
	const unsigned long *lens;
	const char *const *names;
};

/* Called once per row; a non-zero return stops the fetch early. */
typedef int (*db_row_fn)(const struct db_row *row, void *arg);

/* How a column is stored into a C field. Numbers are parsed strictly: a
 * value that is not wholly a number in the field's range fails the query
 * (db_error names the column) instead of becoming 0. */
enum db_ftype {
	DBF_STR,	/* const char *, valid only during the callback */
	DBF_DUP,	/* char *, a copy the caller frees */
	DBF_INT,	/* int */
	DBF_LONG,	/* long */
	DBF_LLONG,	/* long long */
	DBF_ULLONG,	/* unsigned long long */
	DBF_DOUBLE	/* double */
};

/* SQL NULL is refused unless the field says DB_NULLOK; then a string is
 * NULL and a number 0. */
#define DB_NULLOK 1u

/* One selected column: its name (the column or its AS alias, exactly as
 * the SELECT names it), where it goes and how. A query's fields list the
 * columns in SELECT order; the order and names are checked against the
 * result's metadata before any row is read, so a reordered or renamed
 * SELECT fails loudly rather than filling the wrong fields. */
struct db_field {
	const char *name;
	enum db_ftype type;
	size_t off;
	unsigned flags;
};

#define DB_FIELD(st, member, ft, name) \
	{ (name), (ft), offsetof(st, member), 0 }
#define DB_FIELD_NULL(st, member, ft, name) \
	{ (name), (ft), offsetof(st, member), DB_NULLOK }
#define DB_NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

/* Called once per row with rec filled in; a non-zero return stops the
 * fetch early. */
typedef int (*db_rec_fn)(void *rec, void *arg);

/* Makes a handle for cfg's [database] settings without connecting; cfg must
 * outlive it. Never NULL (see xmalloc in util.h). */
struct db *db_new(const struct kiln_config *cfg);
void db_free(struct db *db);

/* Connects (closing any old connection). multi allows several statements in
 * one db_exec_script. Returns 0, or -1 with db_error() set. */
int db_connect(struct db *db, int multi);

/* Makes sure the connection is usable: pings it and reconnects once if the
 * server went away. Returns 0, or -1 with db_error() set. */
int db_ensure(struct db *db);

/* The message of the last failure ("" when none). */
const char *db_error(const struct db *db);

/* 1 when the last failure was the server being unreachable (as opposed to a
 * bad statement), so callers can answer 503 rather than 500. */
int db_is_down(const struct db *db);

/* 1 when the last failure was InnoDB choosing this transaction as a
 * deadlock's victim: it was rolled back whole and may simply be run
 * again (DB_DEADLOCK_TRIES times at most). */
int db_deadlocked(const struct db *db);
#define DB_DEADLOCK_TRIES 3

/* A db_row_fn appending each row's first column and a newline to the
 * struct buf arg (NULLs skipped): ids or keys one per line. */
int db_row_line(const struct db_row *row, void *arg);

/* Runs a prepared statement that returns rows, calling fn for each.
 * Returns the number of rows delivered, or -1 with db_error() set. */
long db_query(struct db *db, const char *sql, const struct db_param *p,
	size_t np, db_row_fn fn, void *arg);

/* Runs a prepared statement that returns rows, filling rec's fields from
 * each row (by f, see struct db_field) and then calling fn(rec, arg).
 * With fn NULL it stops after the first row, so rec holds that row (a
 * single-row lookup). DBF_DUP copies belong to the caller from the moment
 * they are stored, also when the query then fails: zero rec first and
 * free them after, or in fn for each row. Returns the number of rows
 * delivered, or -1 with db_error() set. */
long db_query_into(struct db *db, const char *sql, const struct db_param *p,
	size_t np, const struct db_field *f, size_t nf, void *rec,
	db_rec_fn fn, void *arg);

/* Runs a prepared statement without rows. *affected is the number of rows
 * the statement matched (CLIENT_FOUND_ROWS), changed or not; affected and
 * insert_id may be NULL. Returns 0, or -1 with db_error() set. */
int db_exec(struct db *db, const char *sql, const struct db_param *p,
	size_t np, unsigned long long *affected, unsigned long long *insert_id);

/* Runs text with possibly several ';'-separated statements and no
 * parameters (migrations, BEGIN/COMMIT); needs db_connect(db, 1) for more
 * than one statement. Returns 0, or -1 with db_error() set. */
int db_exec_script(struct db *db, const char *sql, size_t len);

/* db_exec_script for a NUL-terminated string. */
int db_exec_text(struct db *db, const char *sql);

/* Rolls the open transaction back, keeping db_error() and db_is_down() as
 * the failure that led to it left them (when there was one), so a caller
 * can still report it. Returns 0, or -1 when the ROLLBACK failed. */
int db_rollback(struct db *db);

/* Fetches the first column of the first row as a freshly allocated string
 * into *out (NULL when there is no row or the value is NULL). Returns 0 or
 * -1 with db_error() set; the caller frees *out. */
int db_query_string(struct db *db, const char *sql, const struct db_param *p,
	size_t np, char **out);

/* The same as a number: *out is the first column of the first row, 0
 * when there is no row or it is NULL. A value that is not an integer
 * fails. Returns 0 or -1. */
int db_query_long(struct db *db, const char *sql, const struct db_param *p,
	size_t np, long *out);

#endif
