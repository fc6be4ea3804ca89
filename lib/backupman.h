/* backupman.h - the manifest of a kiln backup archive (kiln-admin backup
 * and restore): its entries, parsing it, and checking what an archive
 * held against it. Pure logic; the archive I/O is in tools/backup.c. */
#ifndef KILN_BACKUPMAN_H
#define KILN_BACKUPMAN_H

#include <stddef.h>

#define BAK_MANIFEST	"MANIFEST.json"
#define BAK_DUMP	"db/kiln.sql"
#define BAK_FILES	"artifacts/"
#define BAK_FORMAT	"kiln-backup 1"

/* One archive entry: its name, SHA-256 (64 lowercase hex digits) and
 * size. */
struct bak_entry {
	char *path;
	char sha[65];
	long long bytes;
};

struct bak_entries {
	struct bak_entry *v;
	size_t n, cap;
	int sorted;	/* by path, since the last add: find bisects */
};

/* Appends a copy of path with sha and bytes. Aborts on no memory (xmalloc
 * rules). */
void bak_entries_add(struct bak_entries *e, const char *path,
	const char *sha, long long bytes);
/* Sorts the entries by path (so that finding one is a bisection: a
 * backup may hold a hundred thousand files). Returns the path of an
 * entry that appears twice, or NULL when none does. */
const char *bak_entries_sort(struct bak_entries *e);
/* The entry named path, or NULL. */
const struct bak_entry *bak_entries_find(const struct bak_entries *e,
	const char *path);
/* Frees the entries; e may be zeroed or already freed. */
void bak_entries_free(struct bak_entries *e);

/* The store key an archive name stands for ("artifacts/KEY" with a key
 * storage_key_ok takes), pointing into name; NULL for any other name, so
 * nothing outside the artifacts directory is ever written. */
const char *bak_archive_key(const char *name);

struct bak_manifest {
	char kiln_version[64];
	char created[64];
	long schema;			/* highest applied migration */
	struct bak_entry db;		/* BAK_DUMP */
	struct bak_entries files;	/* BAK_FILES names, no two alike */
};

/* Parses len bytes of manifest JSON into m (zeroed by the caller).
 * Returns 0, or -1 with a message in err naming what is wrong (not the
 * format, a field missing or of the wrong type, a name outside the
 * artifacts, a name twice, a SHA-256 that is not 64 hex digits, a
 * negative size); m is then to be freed all the same. */
int bak_manifest_parse(const char *text, size_t len, struct bak_manifest *m,
	char *err, size_t errlen);
void bak_manifest_free(struct bak_manifest *m);

/* Checks the entries an archive held (seen: the dump and the files, not
 * the manifest; sorted here) against m: each listed one there with the
 * same size and SHA-256, none there twice, none there that is not
 * listed. Returns 0, or -1 with a message naming the first entry that
 * differs. */
int bak_manifest_check(const struct bak_manifest *m,
	struct bak_entries *seen, char *err, size_t errlen);

#endif
