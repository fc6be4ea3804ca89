/* presets.h - the presets of scene manifests as versioned rows (sql/027):
 * finding the versions a manifest names for a user (their own before the
 * site's), compiling it with them, and listing, reading, making, editing
 * (a new version) and deleting them. A user sees the site's presets and
 * their own; another user's are not found. */
#ifndef KILN_PRESETS_H
#define KILN_PRESETS_H

#include "manifest.h"

struct db;
struct json_object;

/* The versions a manifest's references resolved to (owned copies). */
struct preset_set {
	struct preset p[MANIFEST_REFS_MAX];
	int found[MANIFEST_REFS_MAX];
	int n;
};

/* Loads the preset each of m's references names for user_id: pinned
 * (ref version) or newest not deleted; their own before the site's.
 * Returns 0 (a reference found nowhere is left unfound: the compiler
 * names it), or -1 on a db error. Free set with preset_set_free. */
int presets_load(struct db *db, unsigned long long user_id,
	const struct manifest *m, struct preset_set *set);
void preset_set_free(struct preset_set *set);

/*
 * Compiles m for user_id with the presets presets_load finds. Returns 0
 * with out, -1 with the path of the problem and why (a reference to no
 * preset), or -2 on a db error. Free out with manifest_out_free either
 * way, before m: out's used[].slug borrow m's references.
 */
int manifest_compile_db(struct db *db, unsigned long long user_id,
	const struct manifest *m, struct manifest_out *out, char *path,
	size_t pathlen, char *err, size_t errlen);

/* The newest version of each preset user_id sees (the site's, then
 * theirs; kind: only that kind, NULL all), appended to the array out as
 * {"id", "kind", "slug", "name", "version", "owner", "site", "body",
 * "created_at"}. Returns 0, or -1 on a db error. */
int presets_list_json(struct db *db, unsigned long long user_id,
	const char *kind, struct json_object *out);

/* What a preset is: the lineage the row id belongs to. */
struct preset_lineage {
	unsigned long long owner;	/* 0: a site preset */
	int kind;
	char slug[PRESET_SLUG_MAX + 1];
};

/* The lineage of preset row id when user_id may see it (the site's or
 * theirs, not deleted). Returns 1 with *l, 0 when not, -1 on a db
 * error. */
int preset_lineage_of(struct db *db, unsigned long long id,
	unsigned long long user_id, struct preset_lineage *l);

/* The lineage's newest version with its history (newest first) under
 * "versions", or NULL with *found 0 (none) or -1 (db error). */
struct json_object *preset_json(struct db *db, const struct preset_lineage *l,
	int *found);

/*
 * Checks a preset's fields: kind (a preset_kinds name), slug
 * (preset_slug_ok), name (1-80 bytes of text) and body (JSON text,
 * preset_body_parse for the kind); kind and slug NULL when only name and
 * body change (kind then from *kind_io). Each problem goes to
 * err(arg, field, msg) ("body" with the body's path in the message).
 * Returns the number of problems.
 */
int preset_fields_check(const char *kind, const char *slug, const char *name,
	const char *body, int *kind_io, void (*err)(void *arg,
	const char *field, const char *msg), void *arg);

/* Adds a version of the lineage (kind, owner, slug): version 1 for a new
 * one (create: a living one of that slug is a conflict), else the next
 * (create 0: the lineage must be living). Returns 1 with *id (the new
 * row), 0 on a conflict (create) or when there is none to edit, -1 on a
 * db error. */
int preset_put(struct db *db, const struct preset_lineage *l, int create,
	const char *name, const char *body, unsigned long long by,
	unsigned long long *id);

/* Deletes the lineage (every version hidden; the rows stay for the
 * jobs that name them). Returns 1, 0 when there was none, -1. */
int preset_delete(struct db *db, const struct preset_lineage *l);

/*
 * A job request body with a "manifest": the manifest is taken out of
 * body, checked and compiled for user_id, and its job fields put in
 * body for job_spec_from_json (a field the manifest sets given beside
 * it too is a problem named by that field; the style's steps, cfg_scale
 * and sampler are only defaults). An optional "manifest_presets" (a
 * job's record of the versions it used) pins the references it lists
 * to those rows (manifest_pin). *manifest receives the manifest's JSON
 * text and *presets the versions used (JSON), both NULL without a
 * manifest; the caller frees them. Problems go to err(arg, field, msg),
 * the manifest's as "manifest" with "$.path: why". Returns the number of
 * problems, or -1 on a db error.
 */
int manifest_apply(struct db *db, unsigned long long user_id,
	struct json_object *body, char **manifest, char **presets,
	void (*err)(void *arg, const char *field, const char *msg),
	void *arg);

#endif
