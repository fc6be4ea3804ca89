/* backup.h - kiln-admin backup / restore: one tar with a consistent
 * database dump, the artifacts directory and a checksummed manifest. */
#ifndef KILN_BACKUP_H
#define KILN_BACKUP_H

struct kiln_config;

/* Exit codes of both commands (kiln-admin.8 lists them). */
enum {
	BACKUP_OK = 0,
	BACKUP_FAILED = 1,	/* database, dump tool, file I/O */
	BACKUP_USAGE = 2,
	BACKUP_NOT_EMPTY = 3,	/* restore target holds data; no --force */
	BACKUP_BAD_ARCHIVE = 4	/* manifest or a checksum does not match */
};

/* backup --to DIR|FILE. Returns one of the codes above; says what it did
 * on stdout and what went wrong on stderr. */
int cmd_backup(const struct kiln_config *cfg, int argc, char **argv);

/* restore --from FILE [--force]. Same returns. */
int cmd_restore(const struct kiln_config *cfg, int argc, char **argv);

#endif
