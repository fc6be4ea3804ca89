/* presets.c - presets of scene manifests as versioned rows: resolving a
 * manifest's references, compiling with them, and managing them. */
#include "presets.h"
#include "db.h"
#include "util.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS(col) "DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%sZ')"

struct load_rec {
	char *slug, *body;
	int version;
	unsigned long long owner;
};

static const struct db_field load_fields[] = {
	DB_FIELD(struct load_rec, slug, DBF_DUP, "slug"),
	DB_FIELD(struct load_rec, version, DBF_INT, "version"),
	DB_FIELD_NULL(struct load_rec, owner, DBF_ULLONG, "owner_id"),
	DB_FIELD(struct load_rec, body, DBF_DUP, "body"),
};

int
presets_load(struct db *db, unsigned long long user_id,
	const struct manifest *m, struct preset_set *set)
{
	struct db_param p[5];
	struct load_rec r;
	long n;
	int i;

	memset(set, 0, sizeof(*set));
	for (i = 0; i < m->nrefs; i++) {
		const struct preset_ref *ref = &m->refs[i];

		memset(&r, 0, sizeof(r));
		set->n = i + 1;
		/* Pinned to a row (a job's record): that owner's version,
		 * never the user's own one of the same slug made since;
		 * a pin names only the site's rows or the caller's. */
		if (ref->has_owner && ref->version > 0 && ref->owner != 0 &&
		    ref->owner != user_id)
			continue;
		p[0] = DB_STR(preset_kinds[ref->kind]);
		p[1] = DB_STR(ref->slug);
		if (ref->has_owner && ref->version > 0) {
			p[2] = DB_INT(ref->owner);
			p[3] = DB_INT(ref->version);
			n = db_query_into(db, "SELECT slug, version, owner_id,"
				" body FROM presets WHERE kind = ? AND slug = ?"
				" AND owner_key = ? AND version = ?", p, 4,
				load_fields, DB_NFIELDS(load_fields), &r, NULL,
				NULL);
		} else {
			p[2] = DB_INT(user_id);
			p[3] = DB_INT(ref->version);
			p[4] = DB_INT(ref->version);
			/* Pinned: that version even when deleted since (an
			 * old job's); else the newest living one. Own
			 * before site. */
			n = db_query_into(db, "SELECT slug, version, owner_id,"
				" body FROM presets WHERE kind = ? AND slug = ?"
				" AND (owner_id = ? OR owner_id IS NULL) AND"
				" IF(? = 0, deleted_at IS NULL, version = ?)"
				" ORDER BY owner_id IS NULL, version DESC LIMIT 1",
				p, 5, load_fields, DB_NFIELDS(load_fields), &r,
				NULL, NULL);
		}
		if (n < 0) {
			free(r.slug);
			free(r.body);
			return -1;
		}
		if (n == 0)
			continue;
		set->found[i] = 1;
		set->p[i].kind = ref->kind;
		set->p[i].slug = r.slug;
		set->p[i].body = r.body;
		set->p[i].version = r.version;
		set->p[i].owner = r.owner;
	}
	return 0;
}

void
preset_set_free(struct preset_set *set)
{
	int i;

	for (i = 0; i < set->n; i++) {
		free((char *)set->p[i].slug);
		free((char *)set->p[i].body);
	}
	memset(set, 0, sizeof(*set));
}

/* The set's preset for ref (presets_load kept them in refs' order). */
struct set_walk {
	const struct preset_set *set;
	const struct manifest *m;
};

static const struct preset *
set_lookup(void *arg, const struct preset_ref *ref)
{
	const struct set_walk *w = arg;
	int i = (int)(ref - w->m->refs);

	return i >= 0 && i < w->set->n && w->set->found[i] ?
		&w->set->p[i] : NULL;
}

int
manifest_compile_db(struct db *db, unsigned long long user_id,
	const struct manifest *m, struct manifest_out *out, char *path,
	size_t pathlen, char *err, size_t errlen)
{
	struct preset_set set;
	struct set_walk w = { &set, m };
	int rc, i;

	memset(out, 0, sizeof(*out));
	if (presets_load(db, user_id, m, &set) != 0) {
		preset_set_free(&set);
		return -2;
	}
	rc = manifest_compile(m, set_lookup, &w, out, path, pathlen, err,
		errlen);
	/* out->used borrows the set's strings: keep copies of the slugs
	 * in the output's lifetime by pointing at the manifest's refs. */
	for (i = 0; i < out->nused; i++) {
		out->used[i].slug = m->refs[i].slug;
		out->used[i].body = NULL;
	}
	preset_set_free(&set);
	return rc;
}

/* ---------------------------------------------------------- management */

struct list_rec {
	unsigned long long id, owner;
	const char *kind, *slug, *name, *body, *created_at;
	int version;
};

static const struct db_field list_fields[] = {
	DB_FIELD(struct list_rec, id, DBF_ULLONG, "id"),
	DB_FIELD(struct list_rec, kind, DBF_STR, "kind"),
	DB_FIELD(struct list_rec, slug, DBF_STR, "slug"),
	DB_FIELD(struct list_rec, name, DBF_STR, "name"),
	DB_FIELD(struct list_rec, version, DBF_INT, "version"),
	DB_FIELD_NULL(struct list_rec, owner, DBF_ULLONG, "owner_id"),
	DB_FIELD(struct list_rec, body, DBF_STR, "body"),
	DB_FIELD(struct list_rec, created_at, DBF_STR, "created_at"),
};

#define LIST_COLS "p.id, CAST(p.kind AS CHAR) AS kind, p.slug, p.name," \
	" p.version, p.owner_id, p.body, " TS("p.created_at") " AS created_at"

static json_object *
row_json(const struct list_rec *r)
{
	json_object *o = json_object_new_object(), *b;

	json_object_object_add(o, "id", json_object_new_int64(
		(int64_t)r->id));
	json_object_object_add(o, "kind", json_object_new_string(r->kind));
	json_object_object_add(o, "slug", json_object_new_string(r->slug));
	json_object_object_add(o, "name", json_object_new_string(r->name));
	json_object_object_add(o, "version",
		json_object_new_int(r->version));
	json_object_object_add(o, "owner", r->owner ?
		json_object_new_int64((int64_t)r->owner) : NULL);
	json_object_object_add(o, "site", json_object_new_boolean(
		r->owner == 0));
	/* The body was checked when stored; a row that does not read
	 * (edited by hand) shows as its text. */
	b = json_tokener_parse(r->body);
	json_object_object_add(o, "body", b != NULL ? b :
		json_object_new_string(r->body));
	json_object_object_add(o, "created_at",
		json_object_new_string(r->created_at));
	return o;
}

static int
list_row(void *rec, void *arg)
{
	return json_object_array_add(arg, row_json(rec)) != 0;
}

int
presets_list_json(struct db *db, unsigned long long user_id,
	const char *kind, json_object *out)
{
	struct db_param p[3] = { DB_INT(user_id), DB_STR(kind ? kind : ""),
		DB_STR(kind ? kind : "") };
	struct list_rec r;

	return db_query_into(db, "SELECT " LIST_COLS " FROM presets p"
		" WHERE p.deleted_at IS NULL AND (p.owner_id IS NULL OR"
		" p.owner_id = ?) AND (? = '' OR p.kind = ?) AND"
		" p.version = (SELECT MAX(q.version) FROM presets q WHERE"
		" q.kind = p.kind AND q.owner_key = p.owner_key AND"
		" q.slug = p.slug)"
		" ORDER BY p.kind, p.owner_key, p.slug", p, 3, list_fields,
		DB_NFIELDS(list_fields), &r, list_row, out) < 0 ? -1 : 0;
}

struct lineage_rec {
	const char *kind, *slug;
	unsigned long long owner;
};

static const struct db_field lineage_fields[] = {
	DB_FIELD(struct lineage_rec, kind, DBF_STR, "kind"),
	DB_FIELD(struct lineage_rec, slug, DBF_STR, "slug"),
	DB_FIELD_NULL(struct lineage_rec, owner, DBF_ULLONG, "owner_id"),
};

static int
lineage_row(void *rec, void *arg)
{
	const struct lineage_rec *r = rec;
	struct preset_lineage *l = arg;

	l->kind = preset_kind_parse(r->kind);
	snprintf(l->slug, sizeof(l->slug), "%s", r->slug);
	l->owner = r->owner;
	return 1;
}

int
preset_lineage_of(struct db *db, unsigned long long id,
	unsigned long long user_id, struct preset_lineage *l)
{
	struct db_param p[2] = { DB_INT(id), DB_INT(user_id) };
	struct lineage_rec r;
	long n;

	memset(l, 0, sizeof(*l));
	n = db_query_into(db, "SELECT CAST(kind AS CHAR) AS kind, slug,"
		" owner_id FROM presets WHERE id = ? AND deleted_at IS NULL"
		" AND (owner_id IS NULL OR owner_id = ?)", p, 2,
		lineage_fields, DB_NFIELDS(lineage_fields), &r, lineage_row,
		l);
	if (n < 0)
		return -1;
	return n > 0 && l->kind >= 0;
}

json_object *
preset_json(struct db *db, const struct preset_lineage *l, int *found)
{
	struct db_param p[3] = { DB_STR(preset_kinds[l->kind]),
		DB_INT(l->owner), DB_STR(l->slug) };
	json_object *a = json_object_new_array(), *o = NULL;
	struct list_rec r;
	size_t i;

	*found = -1;
	if (db_query_into(db, "SELECT " LIST_COLS " FROM presets p WHERE"
	    " p.kind = ? AND p.owner_key = ? AND p.slug = ? AND"
	    " p.deleted_at IS NULL ORDER BY p.version DESC", p, 3,
	    list_fields, DB_NFIELDS(list_fields), &r, list_row, a) < 0) {
		json_object_put(a);
		return NULL;
	}
	*found = json_object_array_length(a) > 0;
	if (!*found) {
		json_object_put(a);
		return NULL;
	}
	/* The newest, with every version under "versions". */
	o = json_object_new_object();
	json_object_object_foreach(json_object_array_get_idx(a, 0), k, v)
		json_object_object_add(o, k, json_object_get(v));
	for (i = 0; i < json_object_array_length(a); i++) {
		json_object *x = json_object_array_get_idx(a, i);

		json_object_object_del(x, "kind");
		json_object_object_del(x, "slug");
		json_object_object_del(x, "owner");
		json_object_object_del(x, "site");
	}
	json_object_object_add(o, "versions", a);
	return o;
}

int
preset_fields_check(const char *kind, const char *slug, const char *name,
	const char *body, int *kind_io, void (*err)(void *arg,
	const char *field, const char *msg), void *arg)
{
	struct preset_body b;
	char path[64], e[256], msg[400];
	int bad = 0;
	size_t n;

	if (kind != NULL || slug != NULL) {
		*kind_io = preset_kind_parse(kind);
		if (*kind_io < 0) {
			err(arg, "kind", "must be style, lens, lighting or "
				"material");
			bad++;
		}
		if (!preset_slug_ok(slug)) {
			err(arg, "slug", "must be 1-48 of a-z, 0-9 and -, "
				"not starting with -");
			bad++;
		}
	}
	n = name ? strlen(name) : 0;
	if (n < 1 || n > PRESET_NAME_MAX) {
		err(arg, "name", "must be 1 to 80 bytes long");
		bad++;
	}
	if (body == NULL) {
		err(arg, "body", "is required: {\"prompt\": \"...\"}");
		bad++;
	} else if (*kind_io >= 0 && preset_body_parse(body,
	    (enum preset_kind)*kind_io, &b, path, sizeof(path), e,
	    sizeof(e)) != 0) {
		snprintf(msg, sizeof(msg), "%s: %s", path, e);
		err(arg, "body", msg);
		bad++;
	} else if (*kind_io >= 0) {
		preset_body_free(&b);
	}
	return bad;
}

int
preset_put(struct db *db, const struct preset_lineage *l, int create,
	const char *name, const char *body, unsigned long long by,
	unsigned long long *id)
{
	struct db_param p[9];
	long living = 0;
	unsigned long long n = 0;
	int k = 0;

	p[0] = DB_STR(preset_kinds[l->kind]);
	p[1] = DB_INT(l->owner);
	p[2] = DB_STR(l->slug);
	if (db_exec_text(db, "START TRANSACTION") != 0)
		return -1;
	/* The lineage locked, so two edits cannot take one version. */
	if (db_query_long(db, "SELECT COUNT(*) FROM presets WHERE kind = ?"
	    " AND owner_key = ? AND slug = ? AND deleted_at IS NULL"
	    " FOR UPDATE", p, 3, &living) != 0)
		goto fail;
	if (create ? living > 0 : living == 0) {
		db_rollback(db);
		return 0;
	}
	p[k++] = DB_STR(preset_kinds[l->kind]);
	p[k++] = DB_STR(l->slug);
	p[k++] = l->owner ? DB_INT(l->owner) : DB_NULL;
	p[k++] = DB_STR(name);
	p[k++] = DB_STR(body);
	p[k++] = by ? DB_INT(by) : DB_NULL;
	p[k++] = DB_STR(preset_kinds[l->kind]);
	p[k++] = DB_INT(l->owner);
	p[k++] = DB_STR(l->slug);
	if (db_exec(db, "INSERT INTO presets (kind, slug, owner_id, name,"
	    " body, created_by, version) SELECT ?, ?, ?, ?, ?, ?,"
	    " COALESCE(MAX(version), 0) + 1 FROM presets WHERE kind = ? AND"
	    " owner_key = ? AND slug = ?", p, (size_t)k, &n, id) != 0)
		goto fail;
	/* A lineage deleted and made again starts living once more: its
	 * older versions stay hidden, its number goes on. */
	if (db_exec_text(db, "COMMIT") != 0)
		goto fail;
	return 1;
fail:
	db_rollback(db);
	return -1;
}

int
preset_delete(struct db *db, const struct preset_lineage *l)
{
	struct db_param p[3] = { DB_STR(preset_kinds[l->kind]),
		DB_INT(l->owner), DB_STR(l->slug) };
	unsigned long long n = 0;

	if (db_exec(db, "UPDATE presets SET deleted_at = NOW(3) WHERE"
	    " kind = ? AND owner_key = ? AND slug = ? AND deleted_at IS"
	    " NULL", p, 3, &n, NULL) != 0)
		return -1;
	return n > 0;
}

int
manifest_apply(struct db *db, unsigned long long user_id, json_object *body,
	char **manifest, char **presets, void (*err)(void *arg,
	const char *field, const char *msg), void *arg)
{
	struct manifest *m = NULL;
	struct manifest_out out;
	json_object *mj, *fields = NULL, *used = NULL, *pins = NULL;
	char path[64], e[256], msg[400];
	int rc, bad = 0;

	*manifest = *presets = NULL;
	memset(&out, 0, sizeof(out));
	/* "manifest_presets": the versions (and owners) an earlier job
	 * recorded, so a job made again from its manifest compiles as it
	 * did ("vary", "use these settings again"). */
	if (json_object_object_get_ex(body, "manifest_presets", &pins)) {
		json_object_get(pins);
		json_object_object_del(body, "manifest_presets");
	}
	if (!json_object_object_get_ex(body, "manifest", &mj)) {
		if (pins != NULL) {
			err(arg, "manifest_presets", "is only taken with a "
				"manifest");
			bad = 1;
		}
		json_object_put(pins);
		return bad;
	}
	json_object_get(mj);
	json_object_object_del(body, "manifest");
	if (manifest_from_json(mj, &m, path, sizeof(path), e,
	    sizeof(e)) != 0) {
		snprintf(msg, sizeof(msg), "%s: %s", path, e);
		err(arg, "manifest", msg);
		bad = 1;
		goto out;
	}
	if (pins != NULL && manifest_pin(m, pins, e, sizeof(e)) != 0) {
		err(arg, "manifest_presets", e);
		bad = 1;
		goto out;
	}
	rc = manifest_compile_db(db, user_id, m, &out, path, sizeof(path), e,
		sizeof(e));
	if (rc == -2) {
		bad = -1;
		goto out;
	}
	if (rc != 0) {
		snprintf(msg, sizeof(msg), "%s: %s", path, e);
		err(arg, "manifest", msg);
		bad = 1;
		goto out;
	}
	/* A field the manifest sets may not come twice; the style's
	 * defaults give way to a field given beside it. */
	fields = manifest_out_job_json(&out);
	json_object_object_foreach(body, key, val) {
		(void)val;
		if (manifest_out_fixed(&out, key)) {
			snprintf(msg, sizeof(msg), "is set by the manifest; "
				"give it in the manifest or leave the "
				"manifest's out");
			err(arg, key, msg);
			bad++;
		}
	}
	if (bad)
		goto out;
	json_object_object_foreach(fields, fk, fv)
		if (!json_object_object_get_ex(body, fk, NULL))
			json_object_object_add(body, fk, json_object_get(fv));
	*manifest = xstrdup(json_object_to_json_string_ext(mj,
		JSON_C_TO_STRING_PLAIN));
	used = manifest_out_presets_json(&out);
	*presets = xstrdup(json_object_to_json_string_ext(used,
		JSON_C_TO_STRING_PLAIN));
out:
	json_object_put(pins);
	json_object_put(used);
	json_object_put(fields);
	json_object_put(mj);
	manifest_out_free(&out);
	manifest_free(m);
	return bad;
}
