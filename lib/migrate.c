/* migrate.c - the schema migration runner. */
#include "migrate.h"
#include "db.h"
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long
migration_version(const char *f)
{
	const char *p = f;
	size_t n = strlen(f), digits = 0;
	long v = 0;

	while (isdigit((unsigned char)*p)) {
		if (v > 99999999)
			return -1;
		v = v * 10 + (*p - '0');
		p++;
		digits++;
	}
	if (digits < 3 || *p != '_' || n < 5 || strcmp(f + n - 4, ".sql"))
		return -1;
	for (p++; p < f + n - 4; p++)
		if (!(islower((unsigned char)*p) ||
		    isdigit((unsigned char)*p) || *p == '_'))
			return -1;
	if (p == f + digits + 1)	/* empty name: "001_.sql" */
		return -1;
	return v;
}

void
migrations_free(struct migration *m, size_t n)
{
	size_t i;

	for (i = 0; m != NULL && i < n; i++)
		free(m[i].name);
	free(m);
}

static int
by_version(const void *a, const void *b)
{
	const struct migration *x = a, *y = b;

	return (x->version > y->version) - (x->version < y->version);
}

int
migrations_list(const char *dir, struct migration **out, size_t *n,
	char *err, size_t errlen)
{
	struct migration *m = NULL;
	size_t cnt = 0, cap = 0, i;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*n = 0;
	d = opendir(dir);
	if (d == NULL)
		return errf(err, errlen, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		long v = migration_version(de->d_name);

		if (v < 0)
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			m = xreallocarray(m, cap, sizeof(*m));
		}
		m[cnt].version = v;
		m[cnt].name = xstrdup(de->d_name);
		cnt++;
	}
	closedir(d);
	if (cnt > 0)
		qsort(m, cnt, sizeof(*m), by_version);
	for (i = 1; i < cnt; i++) {
		if (m[i].version == m[i - 1].version) {
			errf(err, errlen, "%s: %s and %s share version %ld",
				dir, m[i - 1].name, m[i].name, m[i].version);
			migrations_free(m, cnt);
			return -1;
		}
	}
	*out = m;
	*n = cnt;
	return 0;
}

static int
read_file(const char *path, struct buf *b, char *err, size_t errlen)
{
	switch (buf_read_file(b, path, SIZE_MAX)) {
	case BUF_READ_OK:
		return 0;
	case BUF_READ_CANNOT_OPEN:
		return errf(err, errlen, "%s: %s", path, strerror(errno));
	case BUF_READ_NO_MEMORY:
		return errf(err, errlen, "out of memory");
	default:
		return errf(err, errlen, "%s: read error", path);
	}
}

static void
sha256_hex(const void *p, size_t n, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	size_t i;

	crypto_hash_sha256(h, p, n);
	for (i = 0; i < sizeof(h); i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

struct applied {
	long *versions;
	char (*sums)[65];
	size_t n, cap;
};

/* One schema_migrations row. */
struct applied_rec {
	long version;
	const char *checksum;
};

static const struct db_field applied_fields[] = {
	DB_FIELD(struct applied_rec, version, DBF_LONG, "version"),
	DB_FIELD(struct applied_rec, checksum, DBF_STR, "checksum"),
};

static int
applied_row(void *rec, void *arg)
{
	const struct applied_rec *r = rec;
	struct applied *a = arg;

	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		a->versions = xreallocarray(a->versions, a->cap,
			sizeof(*a->versions));
		a->sums = xreallocarray(a->sums, a->cap, sizeof(*a->sums));
	}
	a->versions[a->n] = r->version;
	snprintf(a->sums[a->n], 65, "%s", r->checksum);
	a->n++;
	return 0;
}

static const char *
applied_sum(const struct applied *a, long v)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (a->versions[i] == v)
			return a->sums[i];
	return NULL;
}

int
migrate_apply(struct db *db, const char *dir, int verbose, char *err,
	size_t errlen)
{
	struct migration *m = NULL;
	struct applied a = { 0 };
	struct applied_rec ar;
	struct buf sql = { 0 };
	char path[4096], sum[65], *lock = NULL;
	size_t n = 0, i;
	int count = 0, rc = -1, locked = 0;

	if (sodium_init() < 0)
		return errf(err, errlen, "libsodium failed to initialise");
	if (migrations_list(dir, &m, &n, err, errlen) != 0)
		return -1;
	if (db_exec_text(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    " version INT NOT NULL PRIMARY KEY,"
	    " name VARCHAR(255) NOT NULL,"
	    " checksum CHAR(64) NOT NULL,"
	    " applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)"
	    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4") != 0) {
		errf(err, errlen, "schema_migrations: %s", db_error(db));
		goto out;
	}
	/* Two migrators started at once (two web hosts deploying) must not
	 * both apply the same file. */
	if (db_query_string(db, "SELECT GET_LOCK('kiln_migrate', 60)", NULL,
	    0, &lock) != 0 || lock == NULL || lock[0] != '1') {
		errf(err, errlen, "could not take the migration lock: %s",
			db_error(db)[0] ? db_error(db) : "timed out");
		goto out;
	}
	locked = 1;
	if (db_query_into(db, "SELECT version, checksum FROM"
	    " schema_migrations", NULL, 0, applied_fields,
	    DB_NFIELDS(applied_fields), &ar, applied_row, &a) < 0) {
		errf(err, errlen, "schema_migrations: %s", db_error(db));
		goto out;
	}
	for (i = 0; i < n; i++) {
		const char *old = applied_sum(&a, m[i].version);
		struct db_param p[3];

		if (snprintf_checked(path, sizeof(path), "%s/%s", dir,
		    m[i].name) != 0) {
			errf(err, errlen, "%s: path too long", m[i].name);
			goto out;
		}
		buf_reset(&sql);
		if (read_file(path, &sql, err, errlen) != 0)
			goto out;
		sha256_hex(sql.data ? sql.data : "", sql.len, sum);
		if (old != NULL) {
			if (strcmp(old, sum) != 0) {
				errf(err, errlen, "%s was changed after it was "
					"applied; add a new migration instead",
					m[i].name);
				goto out;
			}
			continue;
		}
		if (db_exec_text(db, "START TRANSACTION") != 0 ||
		    db_exec_script(db, sql.data ? sql.data : "", sql.len)
		    != 0) {
			errf(err, errlen, "%s: %s", m[i].name, db_error(db));
			db_rollback(db);
			goto out;
		}
		p[0] = DB_INT(m[i].version);
		p[1] = DB_STR(m[i].name);
		p[2] = DB_STR(sum);
		if (db_exec(db, "INSERT INTO schema_migrations"
		    " (version, name, checksum) VALUES (?, ?, ?)", p, 3, NULL,
		    NULL) != 0 || db_exec_text(db, "COMMIT") != 0) {
			errf(err, errlen, "%s: recording: %s", m[i].name,
				db_error(db));
			db_rollback(db);
			goto out;
		}
		if (verbose)
			printf("applied %s\n", m[i].name);
		count++;
	}
	rc = count;
out:
	if (locked) {
		char *r = NULL;
		db_query_string(db, "SELECT RELEASE_LOCK('kiln_migrate')",
			NULL, 0, &r);
		free(r);
	}
	free(lock);
	free(a.versions);
	free(a.sums);
	buf_free(&sql);
	migrations_free(m, n);
	return rc;
}
