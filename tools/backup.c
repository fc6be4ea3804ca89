/* backup.c - kiln-admin backup and restore: one tar holding a database
 * dump, the artifacts directory and a manifest with their SHA-256s.
 *
 * Consistency: the dump is taken first, as one InnoDB snapshot
 * (--single-transaction), and the artifacts directory is read after it.
 * Images are written (temp file + rename) before the row that names them
 * is committed, so every file a dumped row names already existed when the
 * snapshot was taken and is in the archive. Files written after the
 * snapshot are copied too; no dumped row names them, so they are harmless
 * leftovers after a restore. The one gap is a file deleted between the
 * snapshot and the copy (a job deleted during the backup): its row is in
 * the dump but its images are not; that job was being deleted anyway.
 *
 * Archive layout: db/kiln.sql first, then artifacts/KEY for every object
 * of the store, then MANIFEST.json last (its checksums are known only
 * once the rest is written). restore reads the whole archive once to
 * check it against the manifest before it touches anything. */
#include "backup.h"
#include "backupman.h"
#include "config.h"
#include "db.h"
#include "migrate.h"
#include "s3.h"
#include "storage.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MANIFEST_MAX	(64u << 20)
/* One artifact is read whole for storage_put: results, inputs and
 * export ZIPs, all far below this. */
#define OBJECT_MAX	((size_t)4 << 30)

/* Files that must not outlive an interrupted run: the option file with
 * the database password, the half-written archive and dump. A command
 * line tool, one run per process, so process-wide state is right here. */
#define TEMP_MAX 3
static char temp_path[TEMP_MAX][4096];

static void
on_signal(int sig)
{
	int i;

	for (i = 0; i < TEMP_MAX; i++)
		if (temp_path[i][0])
			unlink(temp_path[i]);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Remembers path for on_signal (forget: path NULL clears slot i). */
static void
temp_track(int i, const char *path)
{
	static int handlers;
	struct sigaction sa;

	if (!handlers) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		handlers = 1;
	}
	/* Block the handler while the slot changes. */
	{
		sigset_t all, old;

		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, &old);
		snprintf(temp_path[i], sizeof(temp_path[i]), "%s",
			path ? path : "");
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
}

static void
sha_final_hex(crypto_hash_sha256_state *st, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	size_t i;

	crypto_hash_sha256_final(st, h);
	for (i = 0; i < sizeof(h); i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* Writes the client option file the dump and load tools read: the
 * password never appears on a command line (ps shows those). mkstemp
 * makes it mode 0600. Returns 0 with its path in path, or -1. */
static int
write_client_options(const struct kiln_config *cfg, char *path, size_t n,
	char *err, size_t errlen)
{
	const char *tmp = getenv("TMPDIR");
	struct buf b = { 0 };
	const char *p;
	int fd, rc = -1;

	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	if (snprintf_checked(path, n, "%s/kiln-admin-XXXXXX", tmp) != 0)
		return errf(err, errlen, "%s: path too long", tmp);
	fd = mkstemp(path);
	if (fd < 0)
		return errf(err, errlen, "%s: %s", tmp, strerror(errno));
	temp_track(0, path);
	buf_printf(&b, "[client]\nuser = %s\npassword = \"", cfg->db_user);
	/* Option-file values are quoted; a quote or backslash is escaped. */
	for (p = cfg->db_password; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_append(&b, "\\", 1);
		buf_append(&b, p, 1);
	}
	buf_puts(&b, "\"\ndefault-character-set = utf8mb4\n");
	/* The same choice as db_connect: a host wins over the socket. */
	if (cfg->db_host[0])
		buf_printf(&b, "host = %s\nport = %ld\nprotocol = tcp\n",
			cfg->db_host, cfg->db_port);
	else if (cfg->db_socket[0])
		buf_printf(&b, "socket = %s\nprotocol = socket\n",
			cfg->db_socket);
	else
		buf_printf(&b, "host = 127.0.0.1\nport = %ld\n", cfg->db_port);
	if (b.data == NULL || write(fd, b.data, b.len) != (ssize_t)b.len ||
	    fsync(fd) != 0) {
		errf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(path);
	} else {
		rc = 0;
	}
	close(fd);
	sodium_memzero(b.data, b.cap);
	buf_free(&b);
	return rc;
}

/* Runs the first of the two tools that exists (MariaDB's name, then the
 * MySQL one) with args, stdin from in_fd, stdout to out_fd (-1: keep
 * ours). Returns the child's pid, or -1. */
static pid_t
spawn_tool(const char *tool, const char *alt, char **args, int in_fd,
	int out_fd)
{
	pid_t pid;

	fflush(stdout);	/* what we said so far comes before the tool's */
	pid = fork();
	if (pid != 0)
		return pid;
	if (in_fd >= 0 && dup2(in_fd, 0) < 0)
		_exit(126);
	if (out_fd >= 0 && dup2(out_fd, 1) < 0)
		_exit(126);
	args[0] = (char *)tool;
	execvp(tool, args);
	args[0] = (char *)alt;
	execvp(alt, args);
	fprintf(stderr, "kiln-admin: neither %s nor %s can be run: %s\n",
		tool, alt, strerror(errno));
	_exit(127);
}

/* Waits for pid. Returns 0 when it exited 0, else -1 with a message. */
static int
wait_tool(pid_t pid, const char *what, char *err, size_t errlen)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return errf(err, errlen, "%s: %s", what,
				strerror(errno));
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		return errf(err, errlen, "%s exited with status %d (its "
			"message is above)", what, WEXITSTATUS(st));
	return errf(err, errlen, "%s was killed by signal %d", what,
		WTERMSIG(st));
}

/* Appends the open file fd (bytes long, permissions perm) to the archive
 * as name, hashing what it writes. Returns 0 or -1. */
static int
add_fd(struct archive *a, const char *name, int fd, long long bytes,
	mode_t perm, char sha[65], char *err, size_t errlen)
{
	crypto_hash_sha256_state st;
	struct archive_entry *e = archive_entry_new();
	char chunk[65536];
	long long left = bytes;
	int rc = -1;

	crypto_hash_sha256_init(&st);
	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, bytes);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, perm);
	archive_entry_set_mtime(e, time(NULL), 0);
	if (archive_write_header(a, e) != ARCHIVE_OK) {
		errf(err, errlen, "%s: %s", name, archive_error_string(a));
		goto out;
	}
	/* Exactly bytes: the header promised that many. A file replaced
	 * meanwhile is no matter (fd still reads the old one); a file that
	 * shrank is an error. */
	while (left > 0) {
		size_t want = left < (long long)sizeof(chunk) ?
			(size_t)left : sizeof(chunk);
		ssize_t got = read(fd, chunk, want);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			errf(err, errlen, "%s: %s", name, got < 0 ?
				strerror(errno) : "file shrank while read");
			goto out;
		}
		crypto_hash_sha256_update(&st, (unsigned char *)chunk,
			(size_t)got);
		if (archive_write_data(a, chunk, (size_t)got) != got) {
			errf(err, errlen, "%s: %s", name,
				archive_error_string(a));
			goto out;
		}
		left -= got;
	}
	sha_final_hex(&st, sha);
	rc = 0;
out:
	archive_entry_free(e);
	return rc;
}

/* Adds every object under dir/rel (the store's keys) to the archive,
 * recording each in files. Names storage_key_ok refuses are skipped:
 * those are the store's temporary files, never an object. */
static int
add_tree(struct archive *a, const char *root, const char *rel,
	struct bak_entries *files, long long *total, char *err, size_t errlen)
{
	char *dir = rel[0] ? xasprintf("%s/%s", root, rel) : xstrdup(root);
	struct dirent *de;
	DIR *d = opendir(dir);
	int rc = -1;

	if (d == NULL) {
		errf(err, errlen, "%s: %s", dir, strerror(errno));
		free(dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char *key, *path, *name, sha[65];
		struct stat st;
		int fd, bad;

		if (de->d_name[0] == '.')
			continue;
		key = rel[0] ? xasprintf("%s/%s", rel, de->d_name) :
			xstrdup(de->d_name);
		path = xasprintf("%s/%s", root, key);
		bad = 0;
		if (lstat(path, &st) != 0) {
			/* Removed since readdir: deleted after the dump. */
			if (errno != ENOENT)
				bad = errf(err, errlen, "%s: %s", path,
					strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			bad = add_tree(a, root, key, files, total, err,
				errlen);
		} else if (S_ISREG(st.st_mode) && storage_key_ok(key)) {
			fd = open(path, O_RDONLY | O_NOFOLLOW);
			if (fd < 0 && errno != ENOENT) {
				bad = errf(err, errlen, "%s: %s", path,
					strerror(errno));
			} else if (fd >= 0) {
				/* fstat: the file as opened, which is what is
				 * read even if it is replaced meanwhile. */
				fstat(fd, &st);
				name = xasprintf(BAK_FILES "%s", key);
				bad = add_fd(a, name, fd, st.st_size,
					st.st_mode & 0777, sha, err, errlen);
				if (!bad) {
					bak_entries_add(files, name, sha,
						st.st_size);
					*total += st.st_size;
				}
				free(name);
				close(fd);
			}
		}
		free(key);
		free(path);
		if (bad)
			goto out;
	}
	rc = 0;
out:
	closedir(d);
	free(dir);
	return rc;
}

static int add_memory(struct archive *a, const char *name, const char *data,
	size_t len, char *err, size_t errlen);

/* What add_store's listing gathers: the keys, read once it is done. */
struct store_keys {
	char **k;
	size_t n, cap;
};

static int
store_key(void *arg, const char *key, unsigned long long size)
{
	struct store_keys *ks = arg;

	(void)size;
	if (ks->n == ks->cap) {
		ks->cap = ks->cap ? ks->cap * 2 : 64;
		ks->k = xrealloc(ks->k, ks->cap * sizeof(*ks->k));
	}
	ks->k[ks->n++] = xstrdup(key);
	return 0;
}

/* add_tree for a store that is not a directory (S3): every object the
 * listing names, read whole and added with the store's mode (0644). An
 * object deleted between the listing and its read is one deleted after
 * the dump, as in add_tree. */
static int
add_store(struct archive *a, struct storage *st, struct bak_entries *files,
	long long *total, char *err, size_t errlen)
{
	struct store_keys ks = { 0 };
	struct buf data = { 0 };
	size_t i;
	int rc = -1;

	if (storage_list(st, "", store_key, &ks, err, errlen) != 0)
		goto out;
	for (i = 0; i < ks.n; i++) {
		char *name, sha[65];
		int g;

		buf_reset(&data);
		g = storage_get(st, ks.k[i], OBJECT_MAX, &data, err, errlen);
		if (g == 1)
			continue;
		if (g != 0)
			goto out;
		s3_sha256_hex(data.data ? data.data : "", data.len, sha);
		name = xasprintf(BAK_FILES "%s", ks.k[i]);
		g = add_memory(a, name, data.data ? data.data : "", data.len,
			err, errlen);
		if (g == 0) {
			bak_entries_add(files, name, sha, (long long)data.len);
			*total += (long long)data.len;
		}
		free(name);
		if (g != 0)
			goto out;
	}
	rc = 0;
out:
	for (i = 0; i < ks.n; i++)
		free(ks.k[i]);
	free(ks.k);
	buf_free(&data);
	return rc;
}

/* 1 when the store holds any object, 0 when none, -1 with err. */
static int
first_object(void *arg, const char *key, unsigned long long size)
{
	(void)arg;
	(void)key;
	(void)size;
	return 1;
}

static int
store_in_use(const struct kiln_config *cfg, char *err, size_t errlen)
{
	struct storage *st = storage_open(cfg);
	int rc;

	if (st == NULL)
		return errf(err, errlen, "out of memory");
	rc = storage_list(st, "", first_object, NULL, err, errlen);
	storage_free(st);
	return rc;
}

static int
add_memory(struct archive *a, const char *name, const char *data,
	size_t len, char *err, size_t errlen)
{
	struct archive_entry *e = archive_entry_new();
	int rc = 0;

	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_mtime(e, time(NULL), 0);
	if (archive_write_header(a, e) != ARCHIVE_OK ||
	    archive_write_data(a, data, len) != (la_ssize_t)len)
		rc = errf(err, errlen, "%s: %s", name,
			archive_error_string(a));
	archive_entry_free(e);
	return rc;
}

static json_object *
entry_json(const struct bak_entry *e)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "path", json_object_new_string(e->path));
	json_object_object_add(o, "sha256", json_object_new_string(e->sha));
	json_object_object_add(o, "bytes", json_object_new_int64(e->bytes));
	return o;
}

/* The highest applied migration, or -1 with a message. */
static long
schema_version(struct db *db, char *err, size_t errlen)
{
	char *v = NULL;
	long n = 0;

	if (db_query_string(db, "SELECT COALESCE(MAX(version), 0) FROM"
	    " schema_migrations", NULL, 0, &v) != 0) {
		errf(err, errlen, "schema_migrations: %s", db_error(db));
		return -1;
	}
	if (v != NULL)
		n = strtol(v, NULL, 10);
	free(v);
	return n;
}

static int
connect_db(struct db **out, const struct kiln_config *cfg, int multi)
{
	struct db *db = db_new(cfg);

	if (db_connect(db, multi) != 0) {
		fprintf(stderr, "kiln-admin: database: %s\n", db_error(db));
		db_free(db);
		return -1;
	}
	*out = db;
	return 0;
}

int
cmd_backup(const struct kiln_config *cfg, int argc, char **argv)
{
	const char *to = NULL;
	char opts[4096] = "", dump[4096] = "", err[1024] = "", when[32];
	char *out = NULL, *tmp = NULL, *args[16], *optarg_s = NULL;
	struct bak_entries files = { 0 };
	struct bak_entry db_entry = { 0 };
	struct archive *a = NULL;
	json_object *man = NULL, *arr;
	struct db *db = NULL;
	struct stat st;
	long long total = 0;
	long schema;
	time_t now = time(NULL);
	int i, fd = -1, tfd = -1, k = 0, rc = BACKUP_FAILED;
	size_t j;
	pid_t pid;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--to") && i + 1 < argc) {
			to = argv[++i];
		} else {
			fprintf(stderr, "kiln-admin: backup: usage: backup "
				"--to DIR|FILE\n");
			return BACKUP_USAGE;
		}
	}
	if (to == NULL) {
		fprintf(stderr, "kiln-admin: backup: --to DIR|FILE is "
			"required\n");
		return BACKUP_USAGE;
	}
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	if (stat(to, &st) == 0 && S_ISDIR(st.st_mode)) {
		char stamp[32];

		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ",
			gmtime(&now));
		out = xasprintf("%s/kiln-backup-%s.tar", to, stamp);
	} else {
		out = xstrdup(to);
	}
	if (access(out, F_OK) == 0) {
		fprintf(stderr, "kiln-admin: backup: %s exists; a backup "
			"never replaces a file\n", out);
		rc = BACKUP_USAGE;
		goto out;
	}
	if (connect_db(&db, cfg, 0) != 0)
		goto out;
	schema = schema_version(db, err, sizeof(err));
	if (schema < 0)
		goto fail;

	/* 1. The dump, as one consistent snapshot, into a temp file beside
	 * the archive (it is hashed, then copied in). */
	if (write_client_options(cfg, opts, sizeof(opts), err,
	    sizeof(err)) != 0)
		goto fail;
	if (snprintf_checked(dump, sizeof(dump), "%s.sql-XXXXXX", out) != 0 ||
	    (fd = mkstemp(dump)) < 0) {
		errf(err, sizeof(err), "%s: %s", out, strerror(errno));
		dump[0] = '\0';
		goto fail;
	}
	temp_track(1, dump);
	optarg_s = xasprintf("--defaults-file=%s", opts);
	args[k++] = NULL;	/* the tool's name, set by spawn_tool */
	args[k++] = optarg_s;
	args[k++] = "--single-transaction";
	args[k++] = "--routines";
	args[k++] = "--triggers";
	args[k++] = "--hex-blob";
	args[k++] = "--skip-lock-tables";
	args[k++] = "--no-tablespaces";
	args[k++] = cfg->db_name;
	args[k] = NULL;
	pid = spawn_tool("mariadb-dump", "mysqldump", args, -1, fd);
	if (pid < 0) {
		errf(err, sizeof(err), "fork: %s", strerror(errno));
		goto fail;
	}
	if (wait_tool(pid, "the database dump", err, sizeof(err)) != 0)
		goto fail;
	if (fstat(fd, &st) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
		errf(err, sizeof(err), "%s: %s", dump, strerror(errno));
		goto fail;
	}

	/* 2. The archive, written beside its final name and renamed at the
	 * end: an interrupted backup leaves no file that looks whole. */
	tmp = xasprintf("%s.part", out);
	/* 0600 whatever the umask: the archive holds every password hash
	 * and image of the site. */
	tfd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (tfd < 0) {
		errf(err, sizeof(err), "%s: %s", tmp, strerror(errno));
		free(tmp);
		tmp = NULL;	/* not ours to remove */
		goto fail;
	}
	temp_track(2, tmp);
	a = archive_write_new();
	if (a == NULL || archive_write_set_format_pax_restricted(a) !=
	    ARCHIVE_OK || archive_write_open_fd(a, tfd) != ARCHIVE_OK) {
		errf(err, sizeof(err), "%s: %s", tmp, a ?
			archive_error_string(a) : "out of memory");
		goto fail;
	}
	if (add_fd(a, BAK_DUMP, fd, st.st_size, 0600, db_entry.sha, err,
	    sizeof(err)) != 0)
		goto fail;
	db_entry.path = BAK_DUMP;
	db_entry.bytes = st.st_size;
	/* 3. The files, after the snapshot (see the top of this file). */
	if (!strcmp(cfg->storage_backend, "local")) {
		if (add_tree(a, cfg->artifacts_dir, "", &files, &total, err,
		    sizeof(err)) != 0)
			goto fail;
	} else {
		struct storage *store = storage_open(cfg);

		if (store == NULL || add_store(a, store, &files, &total, err,
		    sizeof(err)) != 0) {
			storage_free(store);
			goto fail;
		}
		storage_free(store);
	}

	man = json_object_new_object();
	json_object_object_add(man, "format",
		json_object_new_string(BAK_FORMAT));
	json_object_object_add(man, "kiln_version",
		json_object_new_string(KILN_VERSION));
	json_object_object_add(man, "schema_version",
		json_object_new_int64(schema));
	json_object_object_add(man, "created", json_object_new_string(when));
	json_object_object_add(man, "database", entry_json(&db_entry));
	arr = json_object_new_array();
	for (j = 0; j < files.n; j++)
		json_object_array_add(arr, entry_json(&files.v[j]));
	json_object_object_add(man, "files", arr);
	{
		const char *text = json_object_to_json_string_ext(man,
			JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);

		if (add_memory(a, BAK_MANIFEST, text, strlen(text), err,
		    sizeof(err)) != 0)
			goto fail;
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		errf(err, sizeof(err), "%s: %s", tmp, archive_error_string(a));
		goto fail;
	}
	if (fsync(tfd) != 0 || close(tfd) != 0) {
		tfd = -1;
		errf(err, sizeof(err), "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	tfd = -1;
	if (rename(tmp, out) != 0) {
		errf(err, sizeof(err), "%s: %s", out, strerror(errno));
		goto fail;
	}
	printf("backup written to %s\n"
		"  database %s: %lld bytes of SQL, schema version %ld\n"
		"  %zu files, %lld bytes, from %s\n",
		out, cfg->db_name, db_entry.bytes, schema, files.n, total,
		strcmp(cfg->storage_backend, "local") ? cfg->s3_bucket :
		cfg->artifacts_dir);
	rc = BACKUP_OK;
	goto out;
fail:
	fprintf(stderr, "kiln-admin: backup: %s; no backup written\n", err);
out:
	if (a != NULL)
		archive_write_free(a);
	if (tfd >= 0)
		close(tfd);
	if (tmp != NULL && rc != BACKUP_OK)
		unlink(tmp);
	if (fd >= 0)
		close(fd);
	if (dump[0])
		unlink(dump);
	if (opts[0])
		unlink(opts);
	temp_track(0, NULL);
	temp_track(1, NULL);
	temp_track(2, NULL);
	json_object_put(man);
	bak_entries_free(&files);
	free(optarg_s);
	free(tmp);
	free(out);
	db_free(db);
	return rc;
}

/* --- restore --- */

static struct archive *
open_archive(const char *path, char *err, size_t errlen)
{
	struct archive *a = archive_read_new();

	if (a == NULL) {
		errf(err, errlen, "out of memory");
		return NULL;
	}
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK) {
		errf(err, errlen, "%s: %s", path, archive_error_string(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/*
 * Pass 1: reads every entry, hashing it, and checks the lot against the
 * manifest: the same names, sizes and SHA-256s, nothing more, nothing
 * less. Touches nothing. Returns 0 with *m filled, or -1 with err.
 */
static int
verify_archive(const char *path, struct bak_manifest *m, char *err,
	size_t errlen)
{
	struct archive *a = open_archive(path, err, errlen);
	struct archive_entry *e;
	struct bak_entries seen = { 0 };
	struct buf man = { 0 };
	char chunk[65536], sha[65];
	int r, rc = -1, got_man = 0;

	if (a == NULL)
		return -1;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		crypto_hash_sha256_state st;
		long long bytes = 0;
		la_ssize_t got;
		int is_man;

		if (name == NULL) {
			errf(err, errlen, "%s: an entry without a name", path);
			goto out;
		}
		is_man = !strcmp(name, BAK_MANIFEST);
		if (archive_entry_filetype(e) != AE_IFREG ||
		    (!is_man && strcmp(name, BAK_DUMP) != 0 &&
		    bak_archive_key(name) == NULL)) {
			errf(err, errlen, "%s: unexpected entry %s", path,
				name);
			goto out;
		}
		if (is_man && got_man) {
			errf(err, errlen, "%s: %s appears twice", path, name);
			goto out;
		}
		crypto_hash_sha256_init(&st);
		while ((got = archive_read_data(a, chunk, sizeof(chunk))) > 0) {
			crypto_hash_sha256_update(&st, (unsigned char *)chunk,
				(size_t)got);
			bytes += got;
			if (is_man && (man.len + (size_t)got > MANIFEST_MAX ||
			    buf_append(&man, chunk, (size_t)got) != 0)) {
				errf(err, errlen, "%s: " BAK_MANIFEST " is too "
					"large", path);
				goto out;
			}
		}
		if (got < 0) {
			errf(err, errlen, "%s: %s: %s", path, name,
				archive_error_string(a));
			goto out;
		}
		sha_final_hex(&st, sha);
		if (is_man)
			got_man = 1;
		else
			bak_entries_add(&seen, name, sha, bytes);
	}
	if (r != ARCHIVE_EOF) {
		errf(err, errlen, "%s: %s", path, archive_error_string(a));
		goto out;
	}
	if (!got_man) {
		errf(err, errlen, "%s: no " BAK_MANIFEST "; not a kiln "
			"backup", path);
		goto out;
	}
	if (bak_manifest_parse(man.data, man.len, m, err, errlen) != 0)
		goto out;
	if (bak_manifest_check(m, &seen, err, errlen) != 0) {
		char why[1024];

		snprintf(why, sizeof(why), "%s", err);
		errf(err, errlen, "%s: %s", path, why);
		goto out;
	}
	rc = 0;
out:
	bak_entries_free(&seen);
	buf_free(&man);
	archive_read_free(a);
	return rc;
}

/* 1 when the database holds any table or view, 0 when none, -1. */
static int
database_in_use(struct db *db)
{
	char *n = NULL;
	int rc;

	if (db_query_string(db, "SELECT COUNT(*) FROM information_schema.tables"
	    " WHERE table_schema = DATABASE()", NULL, 0, &n) != 0)
		return -1;
	rc = n != NULL && strcmp(n, "0") != 0;
	free(n);
	return rc;
}

/* 1 when dir has any entry, 0 when it is empty or missing, -1. Hidden
 * names are no objects (the metrics files, temp files of writes). */
static int
dir_in_use(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int rc = 0;

	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.') {
			rc = 1;
			break;
		}
	closedir(d);
	return rc;
}

/* Drops every table and view of the database (--force), so that the
 * dump loads into exactly its own schema, with no table of a newer one
 * left over. */
static int
drop_everything(struct db *db, char *err, size_t errlen)
{
	static const char *const kinds[2][2] = {
		{ "VIEW", "VIEW" }, { "BASE TABLE", "TABLE" },
	};
	int k;

	if (db_exec_text(db, "SET SESSION group_concat_max_len = 1048576") ||
	    db_exec_text(db, "SET FOREIGN_KEY_CHECKS = 0"))
		return errf(err, errlen, "%s", db_error(db));
	for (k = 0; k < 2; k++) {
		struct db_param p[1];
		char *list = NULL, *sql;
		int bad;

		p[0] = DB_STR(kinds[k][0]);
		if (db_query_string(db, "SELECT GROUP_CONCAT(CONCAT('`',"
		    " REPLACE(table_name, '`', '``'), '`'))"
		    " FROM information_schema.tables WHERE table_schema ="
		    " DATABASE() AND table_type = ?", p, 1, &list) != 0)
			return errf(err, errlen, "%s", db_error(db));
		if (list == NULL)
			continue;
		sql = xasprintf("DROP %s IF EXISTS %s", kinds[k][1], list);
		bad = db_exec_text(db, sql);
		free(sql);
		free(list);
		if (bad)
			return errf(err, errlen, "%s", db_error(db));
	}
	if (db_exec_text(db, "SET FOREIGN_KEY_CHECKS = 1"))
		return errf(err, errlen, "%s", db_error(db));
	return 0;
}

/* Writes all of len bytes to fd. Returns 0 or -1 (errno set). */
static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
set_mode(const char *root, const char *key, mode_t mode, char *err,
	size_t errlen)
{
	char *path = xasprintf("%s/%s", root, key);
	int rc = 0;

	if (chmod(path, mode) != 0)
		rc = errf(err, errlen, "%s: %s", path, strerror(errno));
	free(path);
	return rc;
}

/*
 * Pass 2: loads the dump through the mysql client and puts every file
 * through the store. Each entry is hashed again on the way, so an archive
 * changed since pass 1 is caught (a file is checked before it is stored).
 */
static int
load_archive(const struct kiln_config *cfg, const char *path,
	const struct bak_manifest *m, const char *opts, char *err, size_t errlen)
{
	struct archive *a = open_archive(path, err, errlen);
	struct storage *s = storage_open(cfg);
	struct archive_entry *e;
	struct buf data = { 0 };
	char chunk[65536], sha[65];
	int r, rc = -1;

	if (a == NULL || s == NULL)
		goto out;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		const char *key = name ? bak_archive_key(name) : NULL;
		const struct bak_entry *want = name == NULL ? NULL :
			!strcmp(name, BAK_DUMP) ? &m->db :
			bak_entries_find(&m->files, name);
		crypto_hash_sha256_state st;
		la_ssize_t got;

		if (want == NULL)	/* the manifest itself */
			continue;
		crypto_hash_sha256_init(&st);
		if (want == &m->db) {
			char *args[8], *o = xasprintf("--defaults-file=%s",
				opts);
			int pfd[2], bad = 0;
			pid_t pid;

			/* Close-on-exec: a child holding the write end
			 * too would never see the end of its input. */
			if (pipe2(pfd, O_CLOEXEC) != 0) {
				free(o);
				errf(err, errlen, "pipe: %s", strerror(errno));
				goto out;
			}
			args[0] = NULL;
			args[1] = o;
			args[2] = "--binary-mode";
			args[3] = cfg->db_name;
			args[4] = NULL;
			pid = spawn_tool("mariadb", "mysql", args, pfd[0], -1);
			close(pfd[0]);
			free(o);
			if (pid < 0) {
				close(pfd[1]);
				errf(err, errlen, "fork: %s", strerror(errno));
				goto out;
			}
			while ((got = archive_read_data(a, chunk,
			    sizeof(chunk))) > 0) {
				crypto_hash_sha256_update(&st,
					(unsigned char *)chunk, (size_t)got);
				if (!bad && write_all(pfd[1], chunk,
				    (size_t)got) != 0)
					bad = errno ? errno : EPIPE;
			}
			close(pfd[1]);
			if (wait_tool(pid, "loading the dump", err, errlen)
			    != 0)
				goto out;
			if (got < 0 || bad) {
				errf(err, errlen, "%s: %s", BAK_DUMP, got < 0 ?
					archive_error_string(a) :
					strerror(bad));
				goto out;
			}
			sha_final_hex(&st, sha);
			if (strcmp(sha, want->sha) != 0) {
				errf(err, errlen, "%s changed since it was "
					"checked; the database was loaded from "
					"it: restore again with --force",
					BAK_DUMP);
				goto out;
			}
			printf("loaded the database dump (%lld bytes) into "
				"%s\n", want->bytes, cfg->db_name);
			continue;
		}
		buf_reset(&data);
		while ((got = archive_read_data(a, chunk, sizeof(chunk))) > 0) {
			if (data.len + (size_t)got > OBJECT_MAX ||
			    buf_append(&data, chunk, (size_t)got) != 0) {
				errf(err, errlen, "%s: too large to restore",
					name);
				goto out;
			}
		}
		if (got < 0) {
			errf(err, errlen, "%s: %s", name,
				archive_error_string(a));
			goto out;
		}
		crypto_hash_sha256_update(&st, (unsigned char *)
			(data.data ? data.data : ""), data.len);
		sha_final_hex(&st, sha);
		if (strcmp(sha, want->sha) != 0) {
			errf(err, errlen, "%s changed since it was checked",
				name);
			goto out;
		}
		if (storage_put(s, key, data.data ? data.data : "", data.len,
		    err, errlen) != 0)
			goto out;
		/* The store writes 0644; a file kept closer (a data export,
		 * 0640) gets its own mode back, never more than 0664. */
		if (storage_local_root(s) != NULL &&
		    set_mode(cfg->artifacts_dir, key,
		    archive_entry_perm(e) & 0664, err, errlen) != 0)
			goto out;
	}
	if (r != ARCHIVE_EOF) {
		errf(err, errlen, "%s: %s", path, archive_error_string(a));
		goto out;
	}
	rc = 0;
out:
	buf_free(&data);
	storage_free(s);
	if (a != NULL)
		archive_read_free(a);
	return rc;
}

/* --force: removes each object of the store that the backup does not
 * hold, so that the store is the backup's as the database is. Left, the
 * files of jobs the restored database does not know would stay unowned,
 * and a new job given one of their ids would find them in its folder.
 * The count removed goes to *removed. Returns 0, or -1 with err. */
static int
prune_store(const struct kiln_config *cfg, const struct bak_manifest *m,
	long *removed, char *err, size_t errlen)
{
	struct storage *st = storage_open(cfg);
	struct store_keys ks = { 0 };
	size_t i;
	int rc = -1;

	if (st == NULL)
		return errf(err, errlen, "out of memory");
	if (storage_list(st, "", store_key, &ks, err, errlen) != 0)
		goto out;
	for (i = 0; i < ks.n; i++) {
		char *name = xasprintf(BAK_FILES "%s", ks.k[i]);
		int keep = bak_entries_find(&m->files, name) != NULL;

		free(name);
		if (keep)
			continue;
		if (storage_remove(st, ks.k[i]) != 0) {
			errf(err, errlen, "%s: could not remove it", ks.k[i]);
			goto out;
		}
		(*removed)++;
	}
	rc = 0;
out:
	for (i = 0; i < ks.n; i++)
		free(ks.k[i]);
	free(ks.k);
	storage_free(st);
	return rc;
}

/* The highest version among the migration files, or -1. */
static long
newest_migration(const char *dir, char *err, size_t errlen)
{
	struct migration *m = NULL;
	size_t n = 0;
	long v;

	if (migrations_list(dir, &m, &n, err, errlen) != 0)
		return -1;
	v = n ? m[n - 1].version : 0;
	migrations_free(m, n);
	return v;
}

int
cmd_restore(const struct kiln_config *cfg, int argc, char **argv)
{
	const char *from = NULL;
	char err[1024] = "", opts[4096] = "";
	struct bak_manifest m = { 0 };
	struct db *db = NULL;
	long newest, now;
	int i, force = 0, in_db, in_dir, n, rc = BACKUP_FAILED;
	long long total = 0;
	size_t j;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--from") && i + 1 < argc) {
			from = argv[++i];
		} else if (!strcmp(argv[i], "--force")) {
			force = 1;
		} else {
			fprintf(stderr, "kiln-admin: restore: usage: restore "
				"--from FILE [--force]\n");
			return BACKUP_USAGE;
		}
	}
	if (from == NULL) {
		fprintf(stderr, "kiln-admin: restore: --from FILE is "
			"required\n");
		return BACKUP_USAGE;
	}
	/* Nothing is touched before the whole archive has been checked. */
	if (verify_archive(from, &m, err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-admin: restore: %s; nothing was "
			"restored\n", err);
		rc = BACKUP_BAD_ARCHIVE;
		goto out;
	}
	for (j = 0; j < m.files.n; j++)
		total += m.files.v[j].bytes;
	printf("checked %s: kiln %s, schema version %ld, taken %s; "
		"database dump and %zu files match the manifest\n", from,
		m.kiln_version, m.schema, m.created, m.files.n);
	newest = newest_migration(cfg->migrations_dir, err, sizeof(err));
	if (newest < 0)
		goto fail;
	if (m.schema > newest) {
		fprintf(stderr, "kiln-admin: restore: the backup's schema "
			"version %ld is newer than this kiln's migrations "
			"(%ld in %s); install the kiln it came from (%s) "
			"first; nothing was restored\n", m.schema, newest,
			cfg->migrations_dir, m.kiln_version);
		rc = BACKUP_USAGE;
		goto out;
	}
	if (connect_db(&db, cfg, 1) != 0)
		goto out;
	in_db = database_in_use(db);
	in_dir = strcmp(cfg->storage_backend, "local") ?
		store_in_use(cfg, err, sizeof(err)) :
		dir_in_use(cfg->artifacts_dir);
	if (in_db < 0) {
		errf(err, sizeof(err), "database %s: %s", cfg->db_name,
			db_error(db));
		goto fail;
	}
	if (in_dir < 0) {
		if (!strcmp(cfg->storage_backend, "local"))
			errf(err, sizeof(err), "%s: %s", cfg->artifacts_dir,
				strerror(errno));
		goto fail;
	}
	if ((in_db || in_dir) && !force) {
		fprintf(stderr, "kiln-admin: restore: %s%s%s%s%s %s not "
			"empty; restore into an empty database and artifacts "
			"directory, or add --force to replace them; nothing "
			"was restored\n",
			in_db ? "database " : "", in_db ? cfg->db_name : "",
			in_db && in_dir ? " and " : "",
			in_dir ? "artifacts directory " : "",
			in_dir ? cfg->artifacts_dir : "",
			in_db && in_dir ? "are" : "is");
		rc = BACKUP_NOT_EMPTY;
		goto out;
	}
	if (in_db) {
		if (drop_everything(db, err, sizeof(err)) != 0)
			goto fail;
		printf("--force: dropped every table of %s\n", cfg->db_name);
	}
	if (write_client_options(cfg, opts, sizeof(opts), err,
	    sizeof(err)) != 0)
		goto fail;
	/* A mysql client gone wrong must not kill us with SIGPIPE before
	 * we can say so. */
	signal(SIGPIPE, SIG_IGN);
	if (load_archive(cfg, from, &m, opts, err, sizeof(err)) != 0)
		goto fail;
	printf("restored %zu files (%lld bytes) into %s\n", m.files.n, total,
		cfg->artifacts_dir);
	if (in_dir) {
		long removed = 0;

		if (prune_store(cfg, &m, &removed, err, sizeof(err)) != 0)
			goto fail;
		printf("--force: removed %ld file%s the backup does not "
			"hold\n", removed, removed == 1 ? "" : "s");
	}
	n = migrate_apply(db, cfg->migrations_dir, 1, err, sizeof(err));
	if (n < 0)
		goto fail;
	now = schema_version(db, err, sizeof(err));
	if (now < 0)
		goto fail;
	printf("migrations: %d applied, schema version %ld\n", n, now);
	rc = BACKUP_OK;
	goto out;
fail:
	fprintf(stderr, "kiln-admin: restore: %s\n", err);
out:
	if (opts[0])
		unlink(opts);
	temp_track(0, NULL);
	bak_manifest_free(&m);
	db_free(db);
	return rc;
}
