/* db_rows.c - db_query_into against a real MariaDB: run by
 * tests/integration/test_db_rows.py with a stack's kiln.conf and the name
 * of one case; prints "ok" or the failure db_error() reported, so each
 * case is one named check on the Python side. */
#include "config.h"
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rec {
	unsigned long long id;
	int i;
	long l;
	long long ll;
	double d;
	const char *s;
	char *dup;
};

static const struct db_field all[] = {
	DB_FIELD(struct rec, id, DBF_ULLONG, "id"),
	DB_FIELD(struct rec, i, DBF_INT, "i"),
	DB_FIELD(struct rec, l, DBF_LONG, "l"),
	DB_FIELD(struct rec, ll, DBF_LLONG, "ll"),
	DB_FIELD(struct rec, d, DBF_DOUBLE, "d"),
	DB_FIELD_NULL(struct rec, s, DBF_STR, "s"),
	DB_FIELD(struct rec, dup, DBF_DUP, "dup"),
};

static const struct db_field one_int[] = {
	DB_FIELD(struct rec, i, DBF_INT, "i"),
};

static const struct db_field one_ull[] = {
	DB_FIELD(struct rec, id, DBF_ULLONG, "id"),
};

static const struct db_field one_double[] = {
	DB_FIELD(struct rec, d, DBF_DOUBLE, "d"),
};

static const struct db_field nullable_int[] = {
	DB_FIELD_NULL(struct rec, i, DBF_INT, "i"),
};

/* Sums ids over rows and keeps the last dup (freeing the one before). */
struct acc {
	unsigned long long sum;
	long rows;
	char *last;
};

static int
add_row(void *rec, void *arg)
{
	struct rec *r = rec;
	struct acc *a = arg;

	a->sum += r->id;
	a->rows++;
	free(a->last);
	a->last = r->dup;
	r->dup = NULL;
	return 0;
}

static int
run_case(struct db *db, const char *name)
{
	struct rec r;
	struct acc a = { 0, 0, NULL };
	long n = -2, v = 0;
	int ok = 0;

	memset(&r, 0, sizeof(r));
	if (strcmp(name, "types") == 0) {
		n = db_query_into(db, "SELECT 18446744073709551615 AS id,"
		    " -2147483648 AS i, 9007199254740993 AS l,"
		    " -9223372036854775808 AS ll, 0.15625 AS d, NULL AS s,"
		    " 'h\xc3\xa9llo' AS dup", NULL, 0, all, DB_NFIELDS(all),
		    &r, NULL, NULL);
		ok = n == 1 && r.id == 18446744073709551615ULL &&
		    r.i == -2147483647 - 1 && r.l == 9007199254740993L &&
		    r.ll == -9223372036854775807LL - 1 && r.d == 0.15625 &&
		    r.s == NULL && r.dup != NULL &&
		    strcmp(r.dup, "h\xc3\xa9llo") == 0;
	} else if (strcmp(name, "rows") == 0) {
		n = db_query_into(db, "SELECT seq AS id, 1 AS i, 2 AS l,"
		    " 3 AS ll, 0.5 AS d, 'x' AS s, CONCAT('row', seq) AS dup"
		    " FROM seq_1_to_100", NULL, 0, all, DB_NFIELDS(all), &r,
		    add_row, &a);
		ok = n == 100 && a.rows == 100 && a.sum == 5050 &&
		    a.last != NULL && strcmp(a.last, "row100") == 0;
	} else if (strcmp(name, "first_row_only") == 0) {
		n = db_query_into(db, "SELECT seq AS id FROM seq_7_to_9",
		    NULL, 0, one_ull, 1, &r, NULL, NULL);
		ok = n == 1 && r.id == 7;
	} else if (strcmp(name, "no_rows") == 0) {
		r.i = 42;
		n = db_query_into(db, "SELECT 1 AS i FROM seq_1_to_3"
		    " WHERE seq > 5", NULL, 0, one_int, 1, &r, NULL, NULL);
		ok = n == 0 && r.i == 42;
	} else if (strcmp(name, "reordered") == 0) {
		n = db_query_into(db, "SELECT 1 AS l, 2 AS i, 3 AS id,"
		    " 4 AS ll, 5 AS d, 's' AS s, 'd' AS dup", NULL, 0, all,
		    DB_NFIELDS(all), &r, NULL, NULL);
	} else if (strcmp(name, "reordered_empty") == 0) {
		/* Checked from the metadata, before (and without) a row. */
		n = db_query_into(db, "SELECT 1 AS id, 2 AS i FROM seq_1_to_3"
		    " WHERE seq > 5", NULL, 0, one_ull, 1, &r, NULL, NULL);
	} else if (strcmp(name, "unnamed") == 0) {
		n = db_query_into(db, "SELECT 1 + 1", NULL, 0, one_int, 1,
		    &r, NULL, NULL);
	} else if (strcmp(name, "not_a_number") == 0) {
		n = db_query_into(db, "SELECT '12a' AS i", NULL, 0, one_int,
		    1, &r, NULL, NULL);
	} else if (strcmp(name, "int_overflow") == 0) {
		n = db_query_into(db, "SELECT 2147483648 AS i", NULL, 0,
		    one_int, 1, &r, NULL, NULL);
	} else if (strcmp(name, "negative_id") == 0) {
		n = db_query_into(db, "SELECT -1 AS id", NULL, 0, one_ull, 1,
		    &r, NULL, NULL);
	} else if (strcmp(name, "fraction_for_int") == 0) {
		n = db_query_into(db, "SELECT 1.5 AS i", NULL, 0, one_int, 1,
		    &r, NULL, NULL);
	} else if (strcmp(name, "empty_double") == 0) {
		n = db_query_into(db, "SELECT '' AS d", NULL, 0, one_double,
		    1, &r, NULL, NULL);
	} else if (strcmp(name, "null_refused") == 0) {
		n = db_query_into(db, "SELECT NULL AS i", NULL, 0, one_int, 1,
		    &r, NULL, NULL);
	} else if (strcmp(name, "null_allowed") == 0) {
		r.i = 5;
		n = db_query_into(db, "SELECT NULL AS i", NULL, 0,
		    nullable_int, 1, &r, NULL, NULL);
		ok = n == 1 && r.i == 0;
	} else if (strcmp(name, "long_not_integer") == 0) {
		n = db_query_long(db, "SELECT 'seven'", NULL, 0, &v) == 0 ?
		    1 : -1;
	} else if (strcmp(name, "long_integer") == 0) {
		n = db_query_long(db, "SELECT 1234567", NULL, 0, &v) == 0 ?
		    1 : -1;
		ok = v == 1234567;
	} else {
		fprintf(stderr, "db_rows: no case %s\n", name);
		return 2;
	}
	free(r.dup);
	free(a.last);
	if (n < 0) {
		printf("error: %s\n", db_error(db));
		return 0;
	}
	printf(ok ? "ok\n" : "wrong: rows %ld\n", n);
	return 0;
}

int
main(int argc, char **argv)
{
	struct kiln_config cfg;
	struct db *db = NULL;
	char err[512];
	int rc = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: db_rows kiln.conf case\n");
		return 2;
	}
	if (config_load(&cfg, argv[1], err, sizeof(err)) != 0) {
		fprintf(stderr, "db_rows: %s\n", err);
		return 1;
	}
	db = db_new(&cfg);
	if (db == NULL || db_connect(db, 0) != 0) {
		fprintf(stderr, "db_rows: %s\n", db ? db_error(db) : "oom");
		goto out;
	}
	rc = run_case(db, argv[2]);
out:
	db_free(db);
	config_free(&cfg);
	return rc;
}
