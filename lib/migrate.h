/* migrate.h - applies sql/NNN_name.sql files in order, once each. */
#ifndef KILN_MIGRATE_H
#define KILN_MIGRATE_H

#include <stddef.h>

struct db;

struct migration {
	long version;
	char *name;	/* file name, e.g. "001_core.sql" */
};

/* Parses a migration file name "NNN_name.sql" (digits, '_', then
 * [a-z0-9_]+). Returns the version, or -1 when the name does not fit. */
long migration_version(const char *fname);

/* Lists the migrations in dir sorted by version. Returns 0 with *out (free
 * with migrations_free), or -1 with a message in err (unreadable dir, two
 * files with one version). */
int migrations_list(const char *dir, struct migration **out, size_t *n,
	char *err, size_t errlen);
void migrations_free(struct migration *m, size_t n);

/* Applies every pending migration of dir to db (which must have been
 * connected with multi-statement support), each inside a transaction and
 * recorded in schema_migrations with its SHA-256. An applied file whose
 * content changed is an error. Concurrent runs serialise on a named lock.
 * Returns the number applied (0 when up to date), or -1 with err set. If
 * verbose, prints one line per migration applied. */
int migrate_apply(struct db *db, const char *dir, int verbose, char *err,
	size_t errlen);

#endif
