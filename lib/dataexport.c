/* dataexport.c - "your data": which tables hold rows about an account,
 * the export ZIP of them and of the account's files (libarchive), and
 * the exports' queue: asked for on the web side, made by a render
 * daemon's courier thread, downloaded once. */
#include "dataexport.h"
#include "config.h"
#include "db.h"
#include "imgexport.h"
#include "log.h"
#include "storage.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *const user_columns[] = {
	"user_id", "owner_id", "requested_by", "actor_id", "target_id",
	"created_by", "used_by", NULL,
};

/* ------------------------------------------------------------ tables */

static int
ident_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '_'))
			return 0;
	return 1;
}

static struct utable *
utable_get(struct utables *ts, const char *name)
{
	int i;

	for (i = 0; i < ts->n; i++)
		if (!strcmp(ts->t[i].name, name))
			return &ts->t[i];
	if (ts->n == UTABLE_MAX)
		return NULL;
	memset(&ts->t[ts->n], 0, sizeof(ts->t[0]));
	snprintf(ts->t[ts->n].name, sizeof(ts->t[0].name), "%s", name);
	return &ts->t[ts->n++];
}

static int
utable_row(const struct db_row *r, void *arg)
{
	struct utables *ts = arg;
	struct utable *t;

	if (r->ncols != 3 || r->cols[0] == NULL || r->cols[1] == NULL)
		return 1;
	/* A name this code could not quote safely is no table of kiln's. */
	if (!ident_ok(r->cols[0]) || !ident_ok(r->cols[1]))
		return 0;
	t = utable_get(ts, r->cols[0]);
	if (t == NULL) {
		ts->n = -1;
		return 1;
	}
	if (!strcmp(r->cols[1], "job_id")) {
		t->has_job_id = 1;
	} else if (t->ncols < UTABLE_COLS) {
		snprintf(t->cols[t->ncols], sizeof(t->cols[0]), "%s",
			r->cols[1]);
		t->nulled[t->ncols] = r->cols[2] != NULL &&
		    !strcmp(r->cols[2], "1");
		t->ncols++;
	}
	return 0;
}

int
utables_find(struct db *db, struct utables *ts)
{
	struct buf q = { 0 };
	long n;
	int i;

	ts->n = 0;
	/* users is the account itself: its key is id. */
	snprintf(ts->t[0].name, sizeof(ts->t[0].name), "users");
	snprintf(ts->t[0].cols[0], sizeof(ts->t[0].cols[0]), "id");
	ts->t[0].ncols = 1;
	ts->t[0].has_job_id = 0;
	ts->n = 1;
	/* A user column is one of the names kiln gives them, or any column
	 * with a foreign key to users (a reporter_id, a moderator's
	 * hidden_by): a migration that adds one is covered without a
	 * change here. The third column says whether that key clears the
	 * column rather than deleting the row. */
	if (buf_puts(&q, "SELECT c.TABLE_NAME AS t, c.COLUMN_NAME AS c,"
	    " COALESCE(MAX(r.DELETE_RULE = 'SET NULL'), 0) AS n FROM"
	    " information_schema.COLUMNS c LEFT JOIN"
	    " information_schema.KEY_COLUMN_USAGE k ON k.TABLE_SCHEMA ="
	    " c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME AND"
	    " k.COLUMN_NAME = c.COLUMN_NAME AND k.REFERENCED_TABLE_NAME ="
	    " 'users' LEFT JOIN information_schema.REFERENTIAL_CONSTRAINTS r"
	    " ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND"
	    " r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME ="
	    " k.TABLE_NAME WHERE c.TABLE_SCHEMA = DATABASE() AND"
	    " c.TABLE_NAME <> 'users' AND (k.COLUMN_NAME IS NOT NULL OR"
	    " c.COLUMN_NAME IN ('job_id'") != 0)
		goto oom;
	for (i = 0; user_columns[i] != NULL; i++)
		if (buf_printf(&q, ", '%s'", user_columns[i]) != 0)
			goto oom;
	if (buf_puts(&q, ")) GROUP BY c.TABLE_NAME, c.COLUMN_NAME,"
	    " c.ORDINAL_POSITION ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION")
	    != 0)
		goto oom;
	n = db_query(db, q.data, NULL, 0, utable_row, ts);
	buf_free(&q);
	if (n < 0)
		return -1;
	if (ts->n < 0) {
		log_error("export: more than %d tables with user columns",
			UTABLE_MAX);
		return -1;
	}
	return 0;
oom:
	buf_free(&q);
	return -1;
}

int
column_is_secret(const char *name)
{
	static const char *const words[] = { "hash", "secret", "token",
		"salt", "csrf", "sealed", "password", NULL };
	int i;

	for (i = 0; words[i] != NULL; i++)
		if (strstr(name, words[i]) != NULL)
			return 1;
	return 0;
}

static const char *const table_files[][2] = {
	{ "users", "account.json" },
	{ "sdapi_options", "account.json" },
	{ "data_exports", "account.json" },
	{ "invites", "account.json" },
	{ "email_tokens", "account.json" },
	{ "mail_outbox", "account.json" },
	{ "jobs", "jobs.json" },
	{ "job_images", "jobs.json" },
	{ "job_inputs", "jobs.json" },
	{ "comfy_prompts", "jobs.json" },
	{ "comfy_uploads", "jobs.json" },
	{ "idempotency_keys", "jobs.json" },
	{ "queue_turns", "jobs.json" },
	{ "batches", "jobs.json" },
	{ "api_keys", "api_keys.json" },
	{ "sessions", "sessions.json" },
	{ "trusted_devices", "sessions.json" },
	{ "login_pending", "sessions.json" },
	{ "known_devices", "sessions.json" },
	{ "webhook_deliveries", "webhooks.json" },
	{ "audit_log", "audit.json" },
	{ "user_totp", "two_factor.json" },
	{ "recovery_codes", "two_factor.json" },
};

/* The files in the order the ZIP holds them. */
static const char *const export_files[] = {
	"account.json", "jobs.json", "api_keys.json", "sessions.json",
	"webhooks.json", "audit.json", "two_factor.json", "other.json",
};
#define NFILES (sizeof(export_files) / sizeof(export_files[0]))

const char *
export_file_of(const char *table)
{
	size_t i;

	for (i = 0; i < sizeof(table_files) / sizeof(table_files[0]); i++)
		if (!strcmp(table, table_files[i][0]))
			return table_files[i][1];
	return "other.json";
}

/* ------------------------------------------------------------- dump */

int
column_withheld(const char *table, const char *col)
{
	/* A mail's text carries its links (a password reset's, an
	 * address's verification), live for a while: the mail's
	 * metadata is exported, not its text. */
	return column_is_secret(col) || (!strcmp(table, "mail_outbox") &&
		!strcmp(col, "message"));
}

struct col_list {
	const char *table;
	struct buf b;
};

/* Column names of one table, those withheld left out, as a SELECT
 * list. */
static int
col_row(const struct db_row *r, void *arg)
{
	struct col_list *l = arg;

	if (r->ncols != 1 || r->cols[0] == NULL || !ident_ok(r->cols[0]))
		return 0;
	if (column_withheld(l->table, r->cols[0]))
		return 0;
	return buf_printf(&l->b, "%s`%s`", l->b.len ? ", " : "",
		r->cols[0]) != 0;
}

/* A row as a JSON object of strings (as the database prints them) and
 * nulls. */
static int
dump_row(const struct db_row *r, void *arg)
{
	json_object *o = json_object_new_object();
	size_t i;

	if (o == NULL)
		return 1;
	for (i = 0; i < r->ncols; i++)
		json_object_object_add(o, r->names[i], r->cols[i] == NULL ?
			NULL : json_object_new_string_len(r->cols[i],
			(int)r->lens[i]));
	json_object_array_add(arg, o);
	return 0;
}

/* Adds t's rows about uid to list. Returns the rows' count or -1. */
static long
dump_table(struct db *db, const struct utable *t, unsigned long long uid,
	json_object *list)
{
	struct db_param p[UTABLE_COLS + 1], tn = DB_STR(t->name);
	struct col_list cols = { t->name, { 0 } };
	struct buf q = { 0 };
	long n = -1;
	int i, np = 0;

	if (db_query(db, "SELECT COLUMN_NAME FROM information_schema.COLUMNS"
	    " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?"
	    " ORDER BY ORDINAL_POSITION", &tn, 1, col_row, &cols) < 0 ||
	    cols.b.len == 0)
		goto out;
	if (buf_printf(&q, "SELECT %s FROM `%s` WHERE FALSE", cols.b.data,
	    t->name) != 0)
		goto out;
	for (i = 0; i < t->ncols; i++) {
		if (buf_printf(&q, " OR `%s` = ?", t->cols[i]) != 0)
			goto out;
		p[np++] = DB_INT(uid);
	}
	if (t->has_job_id) {
		if (buf_puts(&q, " OR `job_id` IN (SELECT id FROM jobs"
		    " WHERE user_id = ?)") != 0)
			goto out;
		p[np++] = DB_INT(uid);
	}
	n = db_query(db, q.data, p, (size_t)np, dump_row, list);
out:
	buf_free(&cols.b);
	buf_free(&q);
	return n;
}

/* ---------------------------------------------------------------- zip */

struct zip {
	struct archive *a;
	json_object *files;		/* the manifest's file list */
	size_t total;
	int nfiles;
	time_t now;
	char *err;
	size_t errlen;
};

static int
zip_add(struct zip *z, const char *name, const void *data, size_t len,
	const char *key)
{
	struct archive_entry *e;
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[2 * sizeof(h) + 1];
	json_object *f;
	int rc = -1;

	if (len > EXPORT_MAX_BYTES || z->total + len > EXPORT_MAX_BYTES)
		return errf(z->err, z->errlen, "export: larger than %zu "
			"bytes at %s", EXPORT_MAX_BYTES, name);
	e = archive_entry_new();
	if (e == NULL)
		return errf(z->err, z->errlen, "export: out of memory");
	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_mtime(e, z->now, 0);
	if (archive_write_header(z->a, e) != ARCHIVE_OK ||
	    (len > 0 && archive_write_data(z->a, data, len) !=
	    (la_ssize_t)len)) {
		errf(z->err, z->errlen, "export: %s: %s", name,
			archive_error_string(z->a));
		goto out;
	}
	z->total += len;
	z->nfiles++;
	crypto_hash_sha256(h, data, len);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	f = json_object_new_object();
	if (f == NULL)
		goto out;
	json_object_object_add(f, "name", json_object_new_string(name));
	json_object_object_add(f, "bytes", json_object_new_int64(
		(int64_t)len));
	json_object_object_add(f, "sha256", json_object_new_string(hex));
	if (key != NULL)
		json_object_object_add(f, "storage_key",
			json_object_new_string(key));
	json_object_array_add(z->files, f);
	rc = 0;
out:
	archive_entry_free(e);
	return rc;
}

static int
zip_json(struct zip *z, const char *name, json_object *o)
{
	const char *s = json_object_to_json_string_ext(o,
		JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);

	if (s == NULL)
		return errf(z->err, z->errlen, "export: out of memory");
	return zip_add(z, name, s, strlen(s), NULL);
}

/* The storage keys of the account's files. */
static int
key_row(const struct db_row *r, void *arg)
{
	if (r->ncols < 1 || r->cols[0] == NULL)
		return 0;
	json_object_array_add(arg, json_object_new_string(r->cols[0]));
	return 0;
}

/* The float master's key of each of the account's images (imgexport's
 * ".exr" beside the PNG): files of the user no row names. */
static int
master_row(const struct db_row *r, void *arg)
{
	char key[1100];

	if (r->ncols < 1 || r->cols[0] == NULL ||
	    imgexport_master_key(r->cols[0], key, sizeof(key)) != 0)
		return 0;
	json_object_array_add(arg, json_object_new_string(key));
	return 0;
}

/* The extras of some files, beyond the tables' rows. */
static int
extras(struct db *db, unsigned long long uid, json_object *docs[NFILES])
{
	struct db_param p[2] = { DB_INT(uid), DB_INT(uid) };
	json_object *hist = json_object_new_array(), *o;
	char *url = NULL;
	long on = 0, has_secret = 0;

	if (hist == NULL)
		return -1;
	/* Credits: the balance is the users row's; the history is every
	 * job's cost (and refund) and every grant an administrator made. */
	if (db_query(db, "SELECT 'job' AS kind, CAST(id AS CHAR) AS job_id,"
	    " created_at AS at, CAST(-cost AS CHAR) AS amount,"
	    " CAST(refunded AS CHAR) AS refunded, '' AS detail FROM jobs"
	    " WHERE user_id = ? UNION ALL SELECT 'grant', NULL, at, NULL,"
	    " NULL, detail FROM audit_log WHERE action = 'credit_grant' AND"
	    " target_id = ? ORDER BY at", p, 2, dump_row, hist) < 0) {
		json_object_put(hist);
		return -1;
	}
	o = json_object_new_object();
	json_object_object_add(o, "history", hist);
	json_object_object_add(docs[0], "credits", o);
	if (db_query_string(db, "SELECT webhook_url FROM users WHERE id = ?",
	    p, 1, &url) != 0 ||
	    db_query_long(db, "SELECT webhook_secret IS NOT NULL FROM users"
	    " WHERE id = ?", p, 1, &has_secret) != 0 ||
	    db_query_long(db, "SELECT COUNT(*) FROM user_totp WHERE"
	    " user_id = ? AND enabled_at IS NOT NULL", p, 1, &on) != 0) {
		free(url);
		return -1;
	}
	o = json_object_new_object();
	json_object_object_add(o, "url", url ? json_object_new_string(url) :
		NULL);
	json_object_object_add(o, "secret_set", json_object_new_boolean(
		has_secret != 0));
	json_object_object_add(docs[4], "settings", o);
	json_object_object_add(docs[6], "enabled", json_object_new_boolean(
		on != 0));
	free(url);
	return 0;
}

int
export_build(struct db *db, const struct kiln_config *cfg,
	unsigned long long uid, const char *path, unsigned long long *bytes,
	int *nfiles, char *sha256, char *err, size_t errlen)
{
	struct db_param p[3] = { DB_INT(uid), DB_INT(uid), DB_INT(uid) };
	json_object *docs[NFILES] = { NULL }, *man = NULL, *counts, *keys,
		*tables[NFILES] = { NULL }, *u, *masters = NULL;
	struct utables *ts = xcalloc(1, sizeof(*ts));
	struct storage *st = storage_open(cfg);
	struct zip z = { 0 };
	struct buf data = { 0 };
	char *name = NULL, stamp[32];
	size_t i, k;
	int fd = -1, rc = -1, j;

	z.err = err;
	z.errlen = errlen;
	z.now = time(NULL);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime(&z.now));
	man = json_object_new_object();
	counts = json_object_new_object();
	keys = json_object_new_array();
	z.files = json_object_new_array();
	if (st == NULL || man == NULL || counts == NULL || keys == NULL ||
	    z.files == NULL) {
		errf(err, errlen, "export: out of memory");
		json_object_put(counts);
		json_object_put(keys);
		goto out;
	}
	json_object_object_add(man, "counts", counts);
	for (i = 0; i < NFILES; i++) {
		docs[i] = json_object_new_object();
		tables[i] = json_object_new_object();
		json_object_object_add(docs[i], "tables", tables[i]);
	}
	if (db_query_string(db, "SELECT username FROM users WHERE id = ?", p,
	    1, &name) != 0 || name == NULL) {
		errf(err, errlen, "export: user %llu: %s", uid, name ?
			db_error(db) : "no such user");
		json_object_put(keys);
		goto out;
	}
	if (utables_find(db, ts) != 0) {
		errf(err, errlen, "export: tables: %s", db_error(db));
		json_object_put(keys);
		goto out;
	}
	for (j = 0; j < ts->n; j++) {
		const char *file = export_file_of(ts->t[j].name);
		json_object *list = json_object_new_array();
		long n;

		for (i = 0; i < NFILES && strcmp(export_files[i], file); i++)
			;
		n = dump_table(db, &ts->t[j], uid, list);
		if (n < 0) {
			errf(err, errlen, "export: %s: %s", ts->t[j].name,
				db_error(db));
			json_object_put(list);
			json_object_put(keys);
			goto out;
		}
		json_object_object_add(tables[i], ts->t[j].name, list);
		json_object_object_add(counts, ts->t[j].name,
			json_object_new_int64(n));
	}
	if (extras(db, uid, docs) != 0) {
		errf(err, errlen, "export: %s", db_error(db));
		json_object_put(keys);
		goto out;
	}
	if (db_query(db, "SELECT i.path FROM job_images i JOIN jobs j ON"
	    " j.id = i.job_id WHERE j.user_id = ? UNION ALL SELECT n.path"
	    " FROM job_inputs n JOIN jobs j ON j.id = n.job_id WHERE"
	    " j.user_id = ? UNION ALL SELECT path FROM comfy_uploads WHERE"
	    " user_id = ?", p, 3, key_row, keys) < 0) {
		errf(err, errlen, "export: files: %s", db_error(db));
		json_object_put(keys);
		goto out;
	}
	json_object_object_add(man, "storage_keys", keys);
	masters = json_object_new_array();
	if (masters == NULL || db_query(db, "SELECT i.path FROM job_images i"
	    " JOIN jobs j ON j.id = i.job_id WHERE j.user_id = ?", p, 1,
	    master_row, masters) < 0) {
		errf(err, errlen, "export: masters: %s", db_error(db));
		goto out;
	}

	/* Read by the web programs (the artifacts directory's group), as
	 * the images are; never by the world. */
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		errf(err, errlen, "%s: cannot create: %s", path,
			strerror(errno));
		goto out;
	}
	z.a = archive_write_new();
	/* Stored, not deflated: the bulk is PNGs, compressed already. */
	if (z.a == NULL || archive_write_set_format_zip(z.a) != ARCHIVE_OK ||
	    archive_write_set_options(z.a, "zip:compression=store") !=
	    ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(z.a, 1) != ARCHIVE_OK ||
	    archive_write_open_fd(z.a, fd) != ARCHIVE_OK) {
		errf(err, errlen, "export: zip: %s", z.a ?
			archive_error_string(z.a) : "out of memory");
		goto out;
	}
	for (i = 0; i < NFILES; i++)
		if (zip_json(&z, export_files[i], docs[i]) != 0)
			goto out;
	for (k = 0; k < json_object_array_length(keys) +
	    json_object_array_length(masters); k++) {
		size_t nk = json_object_array_length(keys);
		int master = k >= nk;
		const char *key = json_object_get_string(
			json_object_array_get_idx(master ? masters : keys,
			master ? k - nk : k));
		char zname[1200], e2[512];
		int g;

		buf_reset(&data);
		g = storage_get(st, key, EXPORT_MAX_BYTES, &data, e2,
			sizeof(e2));
		if (g == 1) {
			/* A row whose file is gone: the manifest says so
			 * rather than the export failing. An image without
			 * a master (made before masters were kept) is no
			 * loss to mention. */
			if (!master)
				log_warn("export of user %llu: %s: no such "
					"file", uid, key);
			continue;
		}
		if (g != 0) {
			errf(err, errlen, "export: %s", e2);
			goto out;
		}
		snprintf(zname, sizeof(zname), "files/%s", key);
		if (zip_add(&z, zname, data.data, data.len, key) != 0)
			goto out;
	}
	json_object_object_add(man, "schema", json_object_new_string(
		"kiln-account-export"));
	json_object_object_add(man, "schema_version",
		json_object_new_int(EXPORT_SCHEMA_VERSION));
	json_object_object_add(man, "kiln_version",
		json_object_new_string(KILN_VERSION));
	json_object_object_add(man, "generated_at",
		json_object_new_string(stamp));
	u = json_object_new_object();
	json_object_object_add(u, "id", json_object_new_int64((int64_t)uid));
	json_object_object_add(u, "username", json_object_new_string(name));
	json_object_object_add(man, "user", u);
	json_object_object_add(counts, "files", json_object_new_int(
		z.nfiles - (int)NFILES));
	json_object_object_add(man, "files", z.files);
	z.files = NULL;
	{
		/* zip_add's list is the manifest's now: a file the
		 * manifest describes is not in it. */
		json_object *saved = json_object_new_array();

		z.files = saved;
		if (zip_json(&z, "manifest.json", man) != 0)
			goto out;
	}
	if (archive_write_close(z.a) != ARCHIVE_OK) {
		errf(err, errlen, "export: zip: %s",
			archive_error_string(z.a));
		goto out;
	}
	if (fsync(fd) != 0) {
		errf(err, errlen, "%s: fsync: %s", path, strerror(errno));
		goto out;
	}
	{
		crypto_hash_sha256_state hs;
		unsigned char h[crypto_hash_sha256_BYTES], chunk[65536];
		ssize_t r;
		off_t off = 0;

		crypto_hash_sha256_init(&hs);
		while ((r = pread(fd, chunk, sizeof(chunk), off)) > 0) {
			crypto_hash_sha256_update(&hs, chunk, (size_t)r);
			off += r;
		}
		if (r < 0) {
			errf(err, errlen, "%s: read: %s", path,
				strerror(errno));
			goto out;
		}
		crypto_hash_sha256_final(&hs, h);
		sodium_bin2hex(sha256, 65, h, sizeof(h));
		*bytes = (unsigned long long)off;
	}
	*nfiles = z.nfiles;
	rc = 0;
out:
	if (z.a != NULL)
		archive_write_free(z.a);
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		unlink(path);
	for (i = 0; i < NFILES; i++)
		json_object_put(docs[i]);
	json_object_put(man);
	json_object_put(z.files);
	json_object_put(masters);
	buf_free(&data);
	storage_free(st);
	free(ts);
	free(name);
	return rc;
}

/* ------------------------------------------------------------- queue */

unsigned long long
export_request(struct db *db, unsigned long long uid,
	unsigned long long requested_by)
{
	struct db_param p[2] = { DB_INT(uid), DB_INT(requested_by) };
	unsigned long long id = 0;
	long have = 0;

	if (db_query_long(db, "SELECT id FROM data_exports WHERE user_id = ?"
	    " AND requested_by = ? AND status IN ('queued', 'running')"
	    " ORDER BY id DESC LIMIT 1", p, 2, &have) != 0)
		return 0;
	if (have > 0)
		return (unsigned long long)have;
	if (db_exec(db, "INSERT INTO data_exports (user_id, requested_by)"
	    " VALUES (?, ?)", p, 2, NULL, &id) != 0)
		return 0;
	return id;
}

struct take_rec {
	const char *status;
	char *path;
	int live;
	unsigned long long user_id;
};

static const struct db_field take_fields[] = {
	DB_FIELD(struct take_rec, status, DBF_STR, "status"),
	DB_FIELD_NULL(struct take_rec, path, DBF_DUP, "path"),
	DB_FIELD(struct take_rec, live, DBF_INT, "live"),
	DB_FIELD(struct take_rec, user_id, DBF_ULLONG, "user_id"),
};

struct take_state {
	char status[16];
	char *path;
	int live;
	unsigned long long user_id;
};

static int
take_row(void *rec, void *arg)
{
	struct take_rec *r = rec;
	struct take_state *s = arg;

	snprintf(s->status, sizeof(s->status), "%s", r->status);
	s->path = r->path;
	r->path = NULL;
	s->live = r->live;
	s->user_id = r->user_id;
	return 1;
}

enum export_take
export_take(struct db *db, const struct kiln_config *cfg, unsigned long long id,
	unsigned long long requester, struct buf *out,
	unsigned long long *subject)
{
	struct db_param p[2] = { DB_INT(id), DB_INT(requester) };
	struct take_state s = { "", NULL, 0, 0 };
	struct take_rec r = { NULL, NULL, 0, 0 };
	struct storage *st = NULL;
	enum export_take rc = EXPORT_TAKE_DBFAIL;
	unsigned long long n = 0;
	char err[512];
	long got;
	int g;

	got = db_query_into(db, "SELECT status, path, COALESCE(expires_at >"
	    " NOW(3), 0) AS live, user_id FROM data_exports WHERE id = ? AND"
	    " requested_by = ?", p, 2, take_fields, DB_NFIELDS(take_fields),
	    &r, take_row, &s);
	free(r.path);
	if (got < 0)
		goto out;
	if (got == 0) {
		rc = EXPORT_TAKE_NOT_FOUND;
		goto out;
	}
	if (!strcmp(s.status, "queued") || !strcmp(s.status, "running")) {
		rc = EXPORT_TAKE_NOT_READY;
		goto out;
	}
	if (strcmp(s.status, "ready") || !s.live || s.path == NULL) {
		rc = EXPORT_TAKE_GONE;
		goto out;
	}
	st = storage_open(cfg);
	if (st == NULL)
		goto out;
	g = storage_get(st, s.path, EXPORT_MAX_BYTES, out, err, sizeof(err));
	if (g != 0) {
		log_error("export %llu: %s", id, g == 1 ? "the file is gone" :
			err);
		goto out;
	}
	/* Only one download wins: the one whose update finds it still
	 * ready. */
	if (db_exec(db, "UPDATE data_exports SET status = 'downloaded',"
	    " downloaded_at = NOW(3), path = NULL WHERE id = ? AND"
	    " status = 'ready'", p, 1, &n, NULL) != 0)
		goto out;
	if (n == 0) {
		buf_reset(out);
		rc = EXPORT_TAKE_GONE;
		goto out;
	}
	if (storage_remove(st, s.path) != 0)
		log_warn("export %llu: could not remove %s", id, s.path);
	*subject = s.user_id;
	rc = EXPORT_TAKE_OK;
out:
	storage_free(st);
	free(s.path);
	return rc;
}

/* Removes exports past their time. Returns 0 or -1. */
static int
expire_row(const struct db_row *r, void *arg)
{
	struct buf *b = arg;

	if (r->ncols != 2 || r->cols[0] == NULL || r->cols[1] == NULL)
		return 0;
	return buf_printf(b, "%s %s\n", r->cols[0], r->cols[1]) != 0;
}

static int
expire_due(struct db *db, const struct kiln_config *cfg)
{
	struct buf list = { 0 };
	struct storage *st;
	char *line, *save = NULL;
	int rc = 0;

	if (db_query(db, "SELECT id, path FROM data_exports WHERE status ="
	    " 'ready' AND expires_at <= NOW(3) LIMIT 32", NULL, 0,
	    expire_row, &list) < 0)
		return -1;
	if (list.len == 0)
		return 0;
	st = storage_open(cfg);
	for (line = strtok_r(list.data, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		unsigned long long n = 0;
		struct db_param p;

		if (sp == NULL)
			continue;
		*sp = '\0';
		p = DB_INT(strtoull(line, NULL, 10));
		if (db_exec(db, "UPDATE data_exports SET status = 'expired',"
		    " path = NULL WHERE id = ? AND status = 'ready'", &p, 1,
		    &n, NULL) != 0) {
			rc = -1;
			break;
		}
		if (n > 0 && st != NULL && storage_remove(st, sp + 1) != 0)
			log_warn("export %s: could not remove %s", line,
				sp + 1);
	}
	storage_free(st);
	buf_free(&list);
	return rc;
}

struct claim_rec {
	unsigned long long id, user_id;
};

static const struct db_field claim_fields[] = {
	DB_FIELD(struct claim_rec, id, DBF_ULLONG, "id"),
	DB_FIELD(struct claim_rec, user_id, DBF_ULLONG, "user_id"),
};

/* Puts the export made at path into a store other than the local
 * directory, under key, and removes the staging file. Returns 0, or -1
 * with err. */
static int
export_upload(const struct kiln_config *cfg, const char *path,
	const char *key, char *err, size_t errlen)
{
	struct storage *st = storage_open(cfg);
	struct buf b = { 0 };
	int rc = -1;

	if (st == NULL || buf_read_file(&b, path, EXPORT_MAX_BYTES) !=
	    BUF_READ_OK)
		errf(err, errlen, "%s: cannot read back: %s", path,
			strerror(errno));
	else
		rc = storage_put(st, key, b.data, b.len, err, errlen);
	unlink(path);
	buf_free(&b);
	storage_free(st);
	return rc;
}

/* Removes an export nobody may have: its file, and its object. */
static void
export_discard(const struct kiln_config *cfg, const char *path,
	const char *key)
{
	struct storage *st;

	unlink(path);
	if (!strcmp(cfg->storage_backend, "local"))
		return;
	st = storage_open(cfg);
	if (st != NULL)
		storage_remove(st, key);
	storage_free(st);
}

int
export_work_one(struct db *db, const struct kiln_config *cfg,
	const char *daemon)
{
	struct db_param p[6];
	struct claim_rec c = { 0, 0 };
	unsigned long long n = 0, bytes = 0;
	char key[96], path[4096], hex[17], sha[65], err[512];
	int nfiles = 0;
	long got;

	if (expire_due(db, cfg) != 0)
		return -1;
	p[0] = DB_STR(daemon);
	p[1] = DB_INT(EXPORT_LEASE_S);
	/* A daemon that died making one leaves it running with a lease
	 * that runs out: it is taken over then. */
	if (db_exec(db, "UPDATE data_exports SET status = 'running',"
	    " claimed_by = ?, lease_until = NOW(3) + INTERVAL ? SECOND"
	    " WHERE status = 'queued' OR (status = 'running' AND"
	    " lease_until < NOW(3)) ORDER BY id LIMIT 1", p, 2, &n,
	    NULL) != 0)
		return -1;
	if (n == 0)
		return 0;
	got = db_query_into(db, "SELECT id, user_id FROM data_exports WHERE"
	    " claimed_by = ? AND status = 'running' ORDER BY id LIMIT 1", p,
	    1, claim_fields, DB_NFIELDS(claim_fields), &c, NULL, NULL);
	if (got <= 0)
		return got < 0 ? -1 : 0;
	if (random_hex(hex, (sizeof(hex) - 1) / 2) != 0)
		return -1;
	/* The name carries a random part: an export's id alone would let
	 * anyone with the artifacts' URL layout guess it. */
	snprintf(key, sizeof(key), "exports/%llu-%s.zip", c.id, hex);
	/* The ZIP is made in the local artifacts directory: there it is
	 * the export itself, and with another store the staging copy that
	 * goes up whole once made. */
	if (snprintf_checked(path, sizeof(path), "%s/exports",
	    cfg->artifacts_dir) != 0 || mkdir_p(path) != 0 ||
	    snprintf_checked(path, sizeof(path), "%s/%s", cfg->artifacts_dir,
	    key) != 0) {
		snprintf(err, sizeof(err), "%s/exports: cannot create: %s",
			cfg->artifacts_dir, strerror(errno));
		goto failed;
	}
	log_info("export %llu: making the data of user %llu", c.id,
		c.user_id);
	if (export_build(db, cfg, c.user_id, path, &bytes, &nfiles,
	    sha, err, sizeof(err)) != 0)
		goto failed;
	if (strcmp(cfg->storage_backend, "local") != 0 &&
	    export_upload(cfg, path, key, err, sizeof(err)) != 0)
		goto failed;
	p[0] = DB_STR(key);
	p[1] = DB_INT(bytes);
	p[2] = DB_STR(sha);
	p[3] = DB_INT(nfiles);
	p[4] = DB_INT(c.id);
	p[5] = DB_STR(daemon);
	if (db_exec(db, "UPDATE data_exports SET status = 'ready', path = ?,"
	    " bytes = ?, sha256 = ?, files = ?, finished_at = NOW(3),"
	    " expires_at = NOW(3) + INTERVAL " STR(EXPORT_TTL_HOURS) " HOUR,"
	    " claimed_by = NULL, lease_until = NULL WHERE id = ? AND"
	    " status = 'running' AND claimed_by = ?", p, 6, &n, NULL) != 0) {
		export_discard(cfg, path, key);
		return -1;
	}
	/* The account was deleted (or another daemon took over) while it
	 * was made: nobody may download this one. */
	if (n == 0)
		export_discard(cfg, path, key);
	else
		log_info("export %llu: ready, %llu bytes, %d files", c.id,
			bytes, nfiles);
	return 1;
failed:
	log_error("export %llu: %s", c.id, err);
	p[0] = DB_STR(err);
	p[1] = DB_INT(c.id);
	if (db_exec(db, "UPDATE data_exports SET status = 'failed', error ="
	    " LEFT(?, 500), finished_at = NOW(3), claimed_by = NULL,"
	    " lease_until = NULL WHERE id = ?", p, 2, NULL, NULL) != 0)
		return -1;
	return 1;
}
