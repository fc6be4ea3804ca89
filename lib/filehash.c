/* filehash.c - SHA-256 of model files as AUTOMATIC1111 takes them, cached
 * in the database by size and mtime (see filehash.h). */
#include "filehash.h"
#include "db.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cache_rec {
	unsigned long long size;
	long long mtime_ns;
	const char *sha256;
	const char *name;
};

static const struct db_field cache_fields[] = {
	DB_FIELD(struct cache_rec, name, DBF_STR, "name"),
	DB_FIELD(struct cache_rec, size, DBF_ULLONG, "size"),
	DB_FIELD(struct cache_rec, mtime_ns, DBF_LLONG, "mtime_ns"),
	DB_FIELD(struct cache_rec, sha256, DBF_STR, "sha256"),
};

/* Keeps the one row's hash past the fetch, when it is well formed. */
static int
cache_one(void *rec, void *arg)
{
	const struct cache_rec *r = rec;
	struct hash_row *out = arg;

	if (strlen(r->sha256) == HASH_HEX &&
	    strlen(r->name) < sizeof(out->name)) {
		memcpy(out->hex, r->sha256, HASH_HEX + 1);
		snprintf(out->name, sizeof(out->name), "%s", r->name);
		out->st.size = r->size;
		out->st.mtime_ns = r->mtime_ns;
	}
	return 0;
}

int
hash_cache_get(struct db *db, const char *kind, const char *name,
	const struct file_stamp *st, char hex[HASH_HEX + 1])
{
	struct db_param p[2] = { DB_STR(kind), DB_STR(name) };
	struct hash_row row;
	struct cache_rec r;

	memset(&row, 0, sizeof(row));
	if (db_query_into(db, "SELECT name, size, mtime_ns, sha256 FROM"
	    " file_hashes WHERE kind = ? AND name = ?", p, 2, cache_fields,
	    DB_NFIELDS(cache_fields), &r, cache_one, &row) < 0)
		return -1;
	if (row.hex[0] == '\0' || row.st.size != st->size ||
	    row.st.mtime_ns != st->mtime_ns)
		return 0;
	memcpy(hex, row.hex, HASH_HEX + 1);
	return 1;
}

int
hash_cache_put(struct db *db, const char *kind, const char *name,
	const struct file_stamp *st, const char *hex)
{
	struct db_param p[5] = { DB_STR(kind), DB_STR(name), DB_INT(st->size),
		DB_INT(st->mtime_ns), DB_STR(hex) };

	return db_exec(db, "INSERT INTO file_hashes (kind, name, size,"
	    " mtime_ns, sha256) VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY"
	    " UPDATE size = VALUES(size), mtime_ns = VALUES(mtime_ns),"
	    " sha256 = VALUES(sha256)", p, 5, NULL, NULL);
}

int
hash_cache_ensure(struct db *db, const char *kind, const char *name,
	const char *path, char hex[HASH_HEX + 1], int *computed, char *err,
	size_t errlen)
{
	struct file_stamp before, after;
	int st;

	*computed = 0;
	if (file_stamp_of(path, &before) != 0)
		return errf(err, errlen, "%s: %s", path, strerror(errno));
	st = hash_cache_get(db, kind, name, &before, hex);
	if (st < 0)
		return errf(err, errlen, "hash cache: %s", db_error(db));
	if (st == 1)
		return 0;
	if (file_sha256(path, hash_what_of(kind), hex, err, errlen) != 0)
		return -1;
	*computed = 1;
	/* A file replaced while it was read has no hash worth keeping;
	 * the next use hashes it again. */
	if (file_stamp_of(path, &after) != 0 || after.size != before.size ||
	    after.mtime_ns != before.mtime_ns)
		return 0;
	if (hash_cache_put(db, kind, name, &before, hex) != 0)
		return errf(err, errlen, "hash cache: %s", db_error(db));
	return 0;
}

struct list {
	struct hash_row *rows;
	long n;
};

static int
cache_row(void *rec, void *arg)
{
	struct list *l = arg;

	l->rows = xreallocarray(l->rows, (size_t)l->n + 1, sizeof(*l->rows));
	memset(&l->rows[l->n], 0, sizeof(l->rows[l->n]));
	cache_one(rec, &l->rows[l->n]);
	if (l->rows[l->n].hex[0] != '\0')
		l->n++;
	return 0;
}

long
hash_cache_list(struct db *db, const char *kind, struct hash_row **rows)
{
	struct db_param p = DB_STR(kind);
	struct list l = { NULL, 0 };
	struct cache_rec r;

	*rows = NULL;
	if (db_query_into(db, "SELECT name, size, mtime_ns, sha256 FROM"
	    " file_hashes WHERE kind = ?", &p, 1, cache_fields,
	    DB_NFIELDS(cache_fields), &r, cache_row, &l) < 0) {
		free(l.rows);
		return -1;
	}
	*rows = l.rows;
	return l.n;
}

const char *
hash_rows_find(const struct hash_row *rows, long n, const char *name,
	const struct file_stamp *st)
{
	long i;

	for (i = 0; i < n; i++)
		if (!strcmp(rows[i].name, name))
			return rows[i].st.size == st->size &&
				rows[i].st.mtime_ns == st->mtime_ns ?
				rows[i].hex : NULL;
	return NULL;
}
