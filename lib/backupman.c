/* backupman.c - a backup's manifest: parsed with json-c, checked against
 * what the archive held. */
#include "backupman.h"
#include "storage.h"
#include "util.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
bak_entries_add(struct bak_entries *e, const char *path, const char *sha,
	long long bytes)
{
	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 64;
		e->v = xreallocarray(e->v, e->cap, sizeof(*e->v));
	}
	e->v[e->n].path = xstrdup(path);
	snprintf(e->v[e->n].sha, sizeof(e->v[e->n].sha), "%s", sha);
	e->v[e->n].bytes = bytes;
	e->n++;
	e->sorted = 0;
}

static int
by_path(const void *a, const void *b)
{
	return strcmp(((const struct bak_entry *)a)->path,
		((const struct bak_entry *)b)->path);
}

const char *
bak_entries_sort(struct bak_entries *e)
{
	size_t i;

	if (e->n > 1)
		qsort(e->v, e->n, sizeof(*e->v), by_path);
	e->sorted = 1;
	for (i = 1; i < e->n; i++)
		if (!strcmp(e->v[i - 1].path, e->v[i].path))
			return e->v[i].path;
	return NULL;
}

const struct bak_entry *
bak_entries_find(const struct bak_entries *e, const char *path)
{
	struct bak_entry key;
	size_t i;

	if (e->sorted) {
		if (e->n == 0)
			return NULL;
		key.path = (char *)path;
		return bsearch(&key, e->v, e->n, sizeof(*e->v), by_path);
	}
	for (i = 0; i < e->n; i++)
		if (!strcmp(e->v[i].path, path))
			return &e->v[i];
	return NULL;
}

void
bak_entries_free(struct bak_entries *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->v[i].path);
	free(e->v);
	e->v = NULL;
	e->n = e->cap = 0;
}

const char *
bak_archive_key(const char *name)
{
	if (!str_has_prefix(name, BAK_FILES))
		return NULL;
	name += strlen(BAK_FILES);
	return storage_key_ok(name) ? name : NULL;
}

static int
sha_ok(const char *s, size_t len)
{
	size_t i;

	if (len != 64)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* Reads {"path", "sha256", "bytes"} into e (path allocated). */
static int
entry_from_json(json_object *o, struct bak_entry *e, char *err,
	size_t errlen)
{
	json_object *p, *s, *b;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "path", &p) ||
	    !json_object_object_get_ex(o, "sha256", &s) ||
	    !json_object_object_get_ex(o, "bytes", &b) ||
	    !json_object_is_type(p, json_type_string) ||
	    !json_object_is_type(s, json_type_string) ||
	    !json_object_is_type(b, json_type_int))
		return errf(err, errlen, BAK_MANIFEST ": an entry lacks "
			"path, sha256 or bytes");
	if ((size_t)json_object_get_string_len(p) !=
	    strlen(json_object_get_string(p)))
		return errf(err, errlen, BAK_MANIFEST ": a path holds a NUL");
	if (!sha_ok(json_object_get_string(s),
	    (size_t)json_object_get_string_len(s)))
		return errf(err, errlen, BAK_MANIFEST ": %s: sha256 is not 64 "
			"hex digits", json_object_get_string(p));
	if (json_object_get_int64(b) < 0)
		return errf(err, errlen, BAK_MANIFEST ": %s: negative size",
			json_object_get_string(p));
	e->path = xstrdup(json_object_get_string(p));
	snprintf(e->sha, sizeof(e->sha), "%s", json_object_get_string(s));
	e->bytes = json_object_get_int64(b);
	return 0;
}

int
bak_manifest_parse(const char *text, size_t len, struct bak_manifest *m,
	char *err, size_t errlen)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *root = NULL, *v, *files;
	size_t i, n;
	int rc = -1;

	if (tok == NULL)
		return errf(err, errlen, "out of memory");
	if (len <= (size_t)0x7fffffff)
		root = json_tokener_parse_ex(tok, text, (int)len);
	/* Only white space may follow the object. */
	for (i = root != NULL ? json_tokener_get_parse_end(tok) : 0;
	    root != NULL && i < len; i++)
		if (strchr(" \t\r\n", text[i]) == NULL || text[i] == '\0')
			break;
	if (root == NULL || json_tokener_get_error(tok) != json_tokener_success
	    || i < len || !json_object_is_type(root, json_type_object)) {
		errf(err, errlen, BAK_MANIFEST ": not a JSON object");
		goto out;
	}
	if (!json_object_object_get_ex(root, "format", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), BAK_FORMAT) != 0) {
		errf(err, errlen, BAK_MANIFEST ": not a kiln backup (format "
			"is not \"" BAK_FORMAT "\")");
		goto out;
	}
	if (json_object_object_get_ex(root, "kiln_version", &v) &&
	    json_object_is_type(v, json_type_string))
		snprintf(m->kiln_version, sizeof(m->kiln_version), "%s",
			json_object_get_string(v));
	if (json_object_object_get_ex(root, "created", &v) &&
	    json_object_is_type(v, json_type_string))
		snprintf(m->created, sizeof(m->created), "%s",
			json_object_get_string(v));
	if (!json_object_object_get_ex(root, "schema_version", &v) ||
	    !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0 ||
	    json_object_get_int64(v) > 99999999) {
		errf(err, errlen, BAK_MANIFEST ": no schema_version");
		goto out;
	}
	m->schema = (long)json_object_get_int64(v);
	if (!json_object_object_get_ex(root, "database", &v)) {
		errf(err, errlen, BAK_MANIFEST ": no database entry");
		goto out;
	}
	if (entry_from_json(v, &m->db, err, errlen) != 0)
		goto out;
	if (strcmp(m->db.path, BAK_DUMP) != 0) {
		errf(err, errlen, BAK_MANIFEST ": the database entry is not "
			BAK_DUMP);
		goto out;
	}
	if (!json_object_object_get_ex(root, "files", &files) ||
	    !json_object_is_type(files, json_type_array)) {
		errf(err, errlen, BAK_MANIFEST ": no files list");
		goto out;
	}
	n = json_object_array_length(files);
	for (i = 0; i < n; i++) {
		struct bak_entry e = { 0 };
		int bad = 0;

		if (entry_from_json(json_object_array_get_idx(files, i), &e,
		    err, errlen) != 0)
			goto out;
		if (bak_archive_key(e.path) == NULL)
			bad = errf(err, errlen, BAK_MANIFEST ": %s is not a "
				"file of the artifacts directory", e.path);
		else
			bak_entries_add(&m->files, e.path, e.sha, e.bytes);
		free(e.path);
		if (bad)
			goto out;
	}
	{
		const char *twice = bak_entries_sort(&m->files);

		if (twice != NULL) {
			errf(err, errlen, BAK_MANIFEST ": %s is listed twice",
				twice);
			goto out;
		}
	}
	rc = 0;
out:
	json_object_put(root);
	json_tokener_free(tok);
	return rc;
}

void
bak_manifest_free(struct bak_manifest *m)
{
	free(m->db.path);
	m->db.path = NULL;
	bak_entries_free(&m->files);
}

int
bak_manifest_check(const struct bak_manifest *m,
	struct bak_entries *seen, char *err, size_t errlen)
{
	const struct bak_entry *got;
	const char *twice = bak_entries_sort(seen);
	size_t i;

	if (twice != NULL)
		return errf(err, errlen, "%s appears twice in the archive",
			twice);
	/* Everything the manifest lists is there and unchanged... */
	for (i = 0; i <= m->files.n; i++) {
		const struct bak_entry *w = i < m->files.n ? &m->files.v[i] :
			&m->db;

		got = bak_entries_find(seen, w->path);
		if (got == NULL)
			return errf(err, errlen, "%s is in the manifest but "
				"not in the archive", w->path);
		if (got->bytes != w->bytes || strcmp(got->sha, w->sha))
			return errf(err, errlen, "%s: its SHA-256 (%s, %lld "
				"bytes) is not the manifest's (%s, %lld bytes): "
				"the archive is damaged or was altered",
				w->path, got->sha, got->bytes, w->sha,
				w->bytes);
	}
	/* ...and nothing is there that it does not list (m->files is
	 * sorted by bak_manifest_parse). */
	for (i = 0; i < seen->n; i++)
		if (strcmp(seen->v[i].path, m->db.path) != 0 &&
		    bak_entries_find(&m->files, seen->v[i].path) == NULL)
			return errf(err, errlen, "%s is not in the manifest",
				seen->v[i].path);
	return 0;
}
