/* db.c - MariaDB Connector/C wrapper: timeouts, reconnects, prepared
 * statements, rows bound by name into typed fields. */
#include "db.h"
#include "config.h"
#include "util.h"

#include <errmsg.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <mysql.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct db {
	const struct kiln_config *cfg;
	MYSQL *conn;
	int multi;
	int down;
	unsigned int code;	/* the server's code for the last error */
	char err[512];
};

static void __attribute__((format(printf, 2, 3)))
set_err(struct db *db, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(db->err, sizeof(db->err), fmt, ap);
	va_end(ap);
}

/* Connector error codes 2000..2999 are client-side: the server is gone,
 * refused, timed out. Server-side codes mean the statement was at fault. */
static int
is_conn_error(unsigned int code)
{
	return code >= 2000 && code < 3000;
}

static void
take_conn_err(struct db *db, const char *what)
{
	unsigned int code = mysql_errno(db->conn);

	db->down = is_conn_error(code);
	db->code = code;
	set_err(db, "%s: %s (%u)", what, mysql_error(db->conn), code);
}

static void
take_stmt_err(struct db *db, MYSQL_STMT *st, const char *what)
{
	unsigned int code = mysql_stmt_errno(st);

	db->down = is_conn_error(code);
	db->code = code;
	set_err(db, "%s: %s (%u)", what, mysql_stmt_error(st), code);
}

struct db *
db_new(const struct kiln_config *cfg)
{
	struct db *db = xcalloc(1, sizeof(*db));

	db->cfg = cfg;
	return db;
}

static void
disconnect(struct db *db)
{
	if (db->conn != NULL) {
		mysql_close(db->conn);
		db->conn = NULL;
	}
}

void
db_free(struct db *db)
{
	if (db == NULL)
		return;
	disconnect(db);
	free(db);
}

const char *
db_error(const struct db *db)
{
	return db->err;
}

int
db_is_down(const struct db *db)
{
	return db->down;
}

int
db_connect(struct db *db, int multi)
{
	const struct kiln_config *c = db->cfg;
	unsigned int ct = (unsigned int)c->db_connect_timeout;
	unsigned int rw = (unsigned int)c->db_rw_timeout;
	const char *host, *sock;
	/* FOUND_ROWS: an UPDATE reports the rows it matched, not only those
	 * it changed, so "is this row still ours" checks hold even when the
	 * new values equal the old (a lease renewed twice in a millisecond). */
	unsigned long flags = CLIENT_FOUND_ROWS |
	    (multi ? CLIENT_MULTI_STATEMENTS : 0);

	disconnect(db);
	db->err[0] = '\0';
	db->down = 0;
	db->multi = multi;
	db->conn = mysql_init(NULL);
	if (db->conn == NULL) {
		set_err(db, "mysql_init: out of memory");
		return -1;
	}
	/* Timeouts keep a dead or frozen server from hanging a request: the
	 * caller gets an error it can report instead. */
	mysql_options(db->conn, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
	mysql_options(db->conn, MYSQL_OPT_READ_TIMEOUT, &rw);
	mysql_options(db->conn, MYSQL_OPT_WRITE_TIMEOUT, &rw);
	mysql_options(db->conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	/* Every timestamp kiln reads or writes is UTC. */
	mysql_options(db->conn, MYSQL_INIT_COMMAND, "SET time_zone = '+00:00'");
	/* Never read ~/.my.cnf or /etc/mysql: kiln.conf is the one source. */
	host = c->db_host[0] ? c->db_host : NULL;
	sock = c->db_socket[0] ? c->db_socket : NULL;
	if (host == NULL && sock == NULL)
		host = "127.0.0.1";
	if (mysql_real_connect(db->conn, host, c->db_user, c->db_password,
	    c->db_name, (unsigned int)c->db_port, host ? NULL : sock,
	    flags) == NULL) {
		take_conn_err(db, "connect");
		/* Any failure to connect means the database is unusable for
		 * this request, whatever the code. */
		db->down = 1;
		disconnect(db);
		return -1;
	}
	return 0;
}

int
db_ensure(struct db *db)
{
	if (db->conn != NULL && mysql_ping(db->conn) == 0)
		return 0;
	return db_connect(db, db->multi);
}

static int
bind_params(struct db *db, MYSQL_STMT *st, const struct db_param *p,
	size_t np, MYSQL_BIND *b, unsigned long *lens)
{
	size_t i;

	if (mysql_stmt_param_count(st) != np) {
		set_err(db, "statement wants %lu parameters, got %zu",
			mysql_stmt_param_count(st), np);
		return -1;
	}
	if (np > 0)
		memset(b, 0, np * sizeof(*b));
	for (i = 0; i < np; i++) {
		switch (p[i].type) {
		case DBP_NULL:
			b[i].buffer_type = MYSQL_TYPE_NULL;
			break;
		case DBP_STR:
			if (p[i].s == NULL) {
				b[i].buffer_type = MYSQL_TYPE_NULL;
				break;
			}
			lens[i] = strlen(p[i].s);
			b[i].buffer_type = MYSQL_TYPE_STRING;
			b[i].buffer = (void *)(uintptr_t)p[i].s;
			b[i].buffer_length = lens[i];
			b[i].length = &lens[i];
			break;
		case DBP_INT:
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = (void *)(uintptr_t)&p[i].i;
			break;
		}
	}
	if (np > 0 && mysql_stmt_bind_param(st, b) != 0) {
		take_stmt_err(db, st, "bind");
		return -1;
	}
	return 0;
}

/* Prepares and executes sql; on success *out owns the statement. */
static int
run_stmt(struct db *db, const char *sql, const struct db_param *p, size_t np,
	MYSQL_STMT **out)
{
	MYSQL_BIND *b = NULL;
	unsigned long *lens = NULL;
	MYSQL_STMT *st = NULL;
	int rc = -1;

	db->err[0] = '\0';
	db->down = 0;
	if (db->conn == NULL && db_connect(db, db->multi) != 0)
		return -1;
	st = mysql_stmt_init(db->conn);
	if (st == NULL) {
		take_conn_err(db, "stmt_init");
		return -1;
	}
	if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
		take_stmt_err(db, st, "prepare");
		goto out;
	}
	if (np > 0) {
		b = xcalloc(np, sizeof(*b));
		lens = xcalloc(np, sizeof(*lens));
	}
	if (bind_params(db, st, p, np, b, lens) != 0)
		goto out;
	if (mysql_stmt_execute(st) != 0) {
		take_stmt_err(db, st, "execute");
		goto out;
	}
	*out = st;
	st = NULL;
	rc = 0;
out:
	if (st != NULL)
		mysql_stmt_close(st);
	free(b);
	free(lens);
	return rc;
}

/* Refuses a result whose columns are not, in order, the fields' names:
 * the check that keeps a reordered SELECT from filling wrong fields. */
static int
check_fields(struct db *db, MYSQL_RES *meta, const struct db_field *f,
	size_t nf)
{
	MYSQL_FIELD *mf = mysql_fetch_fields(meta);
	unsigned int n = mysql_num_fields(meta), i;

	if (n != nf) {
		set_err(db, "query selects %u columns, the code reads %zu "
		    "(first: %s)", n, nf, nf > 0 ? f[0].name : "-");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(mf[i].name, f[i].name) != 0) {
			set_err(db, "query column %u is '%s', the code reads "
			    "'%s' there", i + 1, mf[i].name, f[i].name);
			return -1;
		}
	}
	return 0;
}

/* Stores one column into its field; -1 with db_error() naming the column
 * when the value is NULL where NULL is refused or is not a number of the
 * field's type. */
static int
store_field(struct db *db, const struct db_field *f, const char *v,
	void *rec)
{
	char *at = (char *)rec + f->off, *end;
	long long ll = 0;
	unsigned long long ull = 0;
	double d = 0;

	if (v == NULL && !(f->flags & DB_NULLOK)) {
		set_err(db, "column '%s' is NULL", f->name);
		return -1;
	}
	errno = 0;
	end = NULL;
	switch (f->type) {
	case DBF_STR:
		*(const char **)(void *)at = v;
		return 0;
	case DBF_DUP:
		*(char **)(void *)at = v != NULL ? xstrdup(v) : NULL;
		return 0;
	case DBF_INT:
	case DBF_LONG:
	case DBF_LLONG:
		if (v != NULL)
			ll = strtoll(v, &end, 10);
		break;
	case DBF_ULLONG:
		if (v != NULL) {
			/* strtoull takes "-1" as ULLONG_MAX; ids never are. */
			if (*v == '-')
				errno = ERANGE;
			ull = strtoull(v, &end, 10);
		}
		break;
	case DBF_DOUBLE:
		if (v != NULL) {
			d = strtod(v, &end);
			if (!isfinite(d))
				errno = ERANGE;
		}
		break;
	}
	if (v != NULL && (end == v || *end != '\0' || errno != 0 ||
	    (f->type == DBF_INT && (ll < INT_MIN || ll > INT_MAX)) ||
	    (f->type == DBF_LONG && (ll < LONG_MIN || ll > LONG_MAX)))) {
		set_err(db, "column '%s': '%.40s' is not a number of its type",
		    f->name, v);
		return -1;
	}
	switch (f->type) {
	case DBF_INT:
		*(int *)(void *)at = (int)ll;
		break;
	case DBF_LONG:
		*(long *)(void *)at = (long)ll;
		break;
	case DBF_LLONG:
		*(long long *)(void *)at = ll;
		break;
	case DBF_ULLONG:
		*(unsigned long long *)(void *)at = ull;
		break;
	case DBF_DOUBLE:
		*(double *)(void *)at = d;
		break;
	default:
		break;
	}
	return 0;
}

/* What a query does with its rows: hand them over as strings (fn) or
 * bind them into a record by the fields (f, rec, rfn). */
struct sink {
	db_row_fn fn;
	void *arg;
	const struct db_field *f;
	size_t nf;
	void *rec;
	db_rec_fn rfn;
};

static long
query_rows(struct db *db, const char *sql, const struct db_param *p,
	size_t np, const struct sink *k)
{
	MYSQL_STMT *st = NULL;
	MYSQL_RES *meta = NULL;
	MYSQL_BIND *rb = NULL;
	unsigned long *lens = NULL;
	my_bool *nulls = NULL, *errs = NULL;
	char **bufs = NULL;
	const char **cols = NULL, **names = NULL;
	unsigned int nf = 0, i;
	long rows = -1, count = 0;
	int r, grew;
	MYSQL_FIELD *mf;

	if (run_stmt(db, sql, p, np, &st) != 0)
		return -1;
	meta = mysql_stmt_result_metadata(st);
	if (meta == NULL) {
		set_err(db, "query returns no result set");
		goto out;
	}
	if (k->f != NULL && check_fields(db, meta, k->f, k->nf) != 0)
		goto out;
	nf = mysql_num_fields(meta);
	mf = mysql_fetch_fields(meta);
	rb = xcalloc(nf, sizeof(*rb));
	lens = xcalloc(nf, sizeof(*lens));
	nulls = xcalloc(nf, sizeof(*nulls));
	errs = xcalloc(nf, sizeof(*errs));
	bufs = xcalloc(nf, sizeof(*bufs));
	cols = xcalloc(nf, sizeof(*cols));
	names = xcalloc(nf, sizeof(*names));
	for (i = 0; i < nf; i++)
		names[i] = mf[i].name;
	/* Start every column with a modest buffer; longer values are fetched
	 * again with mysql_stmt_fetch_column into a grown buffer. */
	for (i = 0; i < nf; i++) {
		bufs[i] = xmalloc(256);
		rb[i].buffer_type = MYSQL_TYPE_STRING;
		rb[i].buffer = bufs[i];
		rb[i].buffer_length = 255;
		rb[i].length = &lens[i];
		rb[i].is_null = &nulls[i];
		rb[i].error = &errs[i];
	}
	if (mysql_stmt_bind_result(st, rb) != 0) {
		take_stmt_err(db, st, "bind_result");
		goto out;
	}
	if (mysql_stmt_store_result(st) != 0) {
		take_stmt_err(db, st, "store_result");
		goto out;
	}
	for (;;) {
		struct db_row row;

		r = mysql_stmt_fetch(st);
		if (r == MYSQL_NO_DATA)
			break;
		if (r == 1) {
			take_stmt_err(db, st, "fetch");
			goto out;
		}
		grew = 0;
		for (i = 0; i < nf; i++) {
			if (nulls[i]) {
				cols[i] = NULL;
				continue;
			}
			if (lens[i] > rb[i].buffer_length) {
				/* Checked: a column's length (a TEXT or
				 * BLOB value) is the data's, up to 4 GiB;
				 * not having room for it fails this query,
				 * not the process. */
				char *nb = realloc(bufs[i], lens[i] + 1);
				MYSQL_BIND one;

				if (nb == NULL) {
					set_err(db, "out of memory");
					goto out;
				}
				bufs[i] = nb;
				memset(&one, 0, sizeof(one));
				one.buffer_type = MYSQL_TYPE_STRING;
				one.buffer = nb;
				one.buffer_length = lens[i];
				if (mysql_stmt_fetch_column(st, &one, i, 0)) {
					take_stmt_err(db, st, "fetch_column");
					goto out;
				}
				rb[i].buffer = nb;
				rb[i].buffer_length = lens[i];
				grew = 1;
			}
			bufs[i][lens[i]] = '\0';
			cols[i] = bufs[i];
		}
		/* Rebind so later rows use the larger buffers; only after the
		 * whole row, since binding resets what the row's other long
		 * columns still need (it cut a second long column short). */
		if (grew && mysql_stmt_bind_result(st, rb) != 0) {
			take_stmt_err(db, st, "bind_result");
			goto out;
		}
		row.ncols = nf;
		row.cols = cols;
		row.lens = lens;
		row.names = names;
		if (k->f != NULL) {
			for (i = 0; i < nf; i++)
				if (store_field(db, &k->f[i], cols[i], k->rec))
					goto out;
			count++;
			if (k->rfn == NULL || k->rfn(k->rec, k->arg) != 0)
				break;
			continue;
		}
		count++;
		if (k->fn != NULL && k->fn(&row, k->arg) != 0)
			break;
	}
	rows = count;
out:
	if (meta != NULL)
		mysql_free_result(meta);
	if (st != NULL)
		mysql_stmt_close(st);
	for (i = 0; bufs != NULL && i < nf; i++)
		free(bufs[i]);
	free(bufs);
	free(cols);
	free(names);
	free(rb);
	free(lens);
	free(nulls);
	free(errs);
	return rows;
}

long
db_query(struct db *db, const char *sql, const struct db_param *p, size_t np,
	db_row_fn fn, void *arg)
{
	struct sink k = { fn, arg, NULL, 0, NULL, NULL };

	return query_rows(db, sql, p, np, &k);
}

long
db_query_into(struct db *db, const char *sql, const struct db_param *p,
	size_t np, const struct db_field *f, size_t nf, void *rec,
	db_rec_fn fn, void *arg)
{
	struct sink k = { NULL, arg, f, nf, rec, fn };

	return query_rows(db, sql, p, np, &k);
}

int
db_exec(struct db *db, const char *sql, const struct db_param *p, size_t np,
	unsigned long long *affected, unsigned long long *insert_id)
{
	MYSQL_STMT *st = NULL;

	if (run_stmt(db, sql, p, np, &st) != 0)
		return -1;
	if (affected != NULL)
		*affected = mysql_stmt_affected_rows(st);
	if (insert_id != NULL)
		*insert_id = mysql_stmt_insert_id(st);
	mysql_stmt_close(st);
	return 0;
}

int
db_exec_script(struct db *db, const char *sql, size_t len)
{
	int status;

	db->err[0] = '\0';
	db->down = 0;
	if (db->conn == NULL && db_connect(db, db->multi) != 0)
		return -1;
	if (mysql_real_query(db->conn, sql, len) != 0) {
		take_conn_err(db, "query");
		return -1;
	}
	/* Drain every result; the first failing statement stops the run and
	 * its error is reported. */
	do {
		MYSQL_RES *res = mysql_store_result(db->conn);

		if (res != NULL)
			mysql_free_result(res);
		else if (mysql_field_count(db->conn) != 0) {
			take_conn_err(db, "result");
			return -1;
		}
		status = mysql_next_result(db->conn);
		if (status > 0) {
			take_conn_err(db, "statement");
			return -1;
		}
	} while (status == 0);
	return 0;
}

int
db_exec_text(struct db *db, const char *sql)
{
	return db_exec_script(db, sql, strlen(sql));
}

int
db_rollback(struct db *db)
{
	char err[sizeof(db->err)];
	int down = db->down, rc;

	memcpy(err, db->err, sizeof(err));
	rc = db_exec_text(db, "ROLLBACK");
	/* The failure that made the caller roll back is the one to report;
	 * a failed ROLLBACK only matters when there was none. */
	if (err[0] != '\0') {
		memcpy(db->err, err, sizeof(err));
		db->down = down;
	}
	return rc;
}

struct first_string {
	char *val;
};

static int
take_first(const struct db_row *row, void *arg)
{
	struct first_string *fs = arg;

	if (row->ncols > 0 && row->cols[0] != NULL)
		fs->val = xstrdup(row->cols[0]);
	return 1;
}

int
db_query_string(struct db *db, const char *sql, const struct db_param *p,
	size_t np, char **out)
{
	struct first_string fs = { NULL };

	*out = NULL;
	if (db_query(db, sql, p, np, take_first, &fs) < 0) {
		free(fs.val);
		return -1;
	}
	*out = fs.val;
	return 0;
}

int
db_query_long(struct db *db, const char *sql, const struct db_param *p,
	size_t np, long *out)
{
	char *v = NULL, *end;
	int rc = 0;

	if (db_query_string(db, sql, p, np, &v) != 0)
		return -1;
	*out = 0;
	if (v != NULL) {
		errno = 0;
		*out = strtol(v, &end, 10);
		if (end == v || *end != '\0' || errno != 0) {
			set_err(db, "'%.40s' is not an integer", v);
			rc = -1;
		}
	}
	free(v);
	return rc;
}

int
db_deadlocked(const struct db *db)
{
	return db->code == 1213;	/* ER_LOCK_DEADLOCK */
}

int
db_row_line(const struct db_row *r, void *arg)
{
	if (r->ncols < 1 || r->cols[0] == NULL)
		return 0;
	return buf_printf(arg, "%s\n", r->cols[0]) != 0;
}
