/* manifest.h - scene manifests (docs/manifest.md): a shot described as
 * JSON (subject, camera, lighting, materials, style...) parsed and checked
 * once, every error named by its JSON path, and compiled into a job's
 * prompt, negative prompt and settings by a deterministic translator
 * whose words come from presets (data rows), not from this code. */
#ifndef KILN_MANIFEST_H
#define KILN_MANIFEST_H

#include <stddef.h>

#include "loras.h"
#include "util.h"

struct json_object;

#define MANIFEST_MAX_BYTES 65536	/* the JSON text of one manifest */
#define MANIFEST_DEPTH_MAX 8		/* nesting the tokenizer accepts */
#define MANIFEST_TEXT_MAX 500		/* subject, environment */
#define MANIFEST_NEGATIVE_MAX 1000
#define MANIFEST_MATERIALS_MAX 8
#define MANIFEST_REFS_MAX (MANIFEST_MATERIALS_MAX + 4)

/* camera.angle's and camera.distance's values, NULL-terminated. */
extern const char *const manifest_camera_angles[];
extern const char *const manifest_camera_distances[];

/* A manifest value as one form field's text and back (the generate
 * page's scene form): MF_TEXT a string; MF_NUMBER a number when the text
 * is one, else the text (which the checker refuses with its path);
 * MF_LIST comma-separated words; MF_LORAS comma-separated "name" or
 * "name:weight". */
enum manifest_field { MF_TEXT, MF_NUMBER, MF_LIST, MF_LORAS };

/* The value text stands for, as kind reads it (a new reference; NULL
 * only out of memory). Numbers are written back as %.15g, or %.17g
 * where that is needed to read back the same double: never as typed,
 * so no hexadecimal or padded text reaches the JSON. */
struct json_object *manifest_field_value(enum manifest_field kind,
	const char *text);

/* The text of value v for a field of that kind, appended to out: what
 * manifest_field_value reads back as v when v came from it. Returns 0,
 * or -1 out of memory. */
int manifest_field_text(enum manifest_field kind, struct json_object *v,
	struct buf *out);
#define PRESET_SLUG_MAX 48
#define PRESET_NAME_MAX 80
#define PRESET_FRAGMENT_MAX 400		/* a preset's prompt or negative */
#define PRESET_VERSION_MAX 1000000

/* What a preset describes; the order is the presets.kind ENUM's. */
enum preset_kind {
	PRESET_STYLE, PRESET_LENS, PRESET_LIGHTING, PRESET_MATERIAL,
	PRESET_NKINDS
};
extern const char *const preset_kinds[PRESET_NKINDS];

/* "style" -> PRESET_STYLE; -1 for none of them (NULL included). */
int preset_kind_parse(const char *s);

/* 1 when s is a preset slug: 1-48 of [a-z0-9-], starting with a letter
 * or digit. */
int preset_slug_ok(const char *s);

/* A manifest's reference to a preset: "editorial", or "editorial@3"
 * for that version (version 0: the newest). path: where it stood in the
 * manifest ("$.materials[1]"), for the errors of resolving it. */
struct preset_ref {
	enum preset_kind kind;
	char slug[PRESET_SLUG_MAX + 1];
	int version;
	char path[32];
	/* Pinned by a job's record (manifest_pin): has_owner 1 and owner
	 * (0: the site's) name the one row of (kind, owner, slug,
	 * version), whatever presets were made since; 0: own first. */
	int has_owner;
	unsigned long long owner;
};

/* A parsed and checked manifest. Strings are owned (NULL: not given);
 * the has_ flags say which numbers were given. */
struct manifest {
	char *subject, *environment, *negative, *model;
	char *angle, *distance;
	double lens_mm, aperture;
	long colour_k, width, height;
	unsigned long long seed;
	int has_lens_mm, has_aperture, has_colour_k, has_size, has_seed;
	/* refs[]: style, camera.lens, lighting.setup, lighting.time_of_day
	 * and the materials, in that order (the translator's). */
	struct preset_ref refs[MANIFEST_REFS_MAX];
	int nrefs;
	struct job_lora loras[JOB_LORAS_MAX];
	int nloras;
};

/*
 * Parses and checks the manifest JSON text json (NUL-terminated): the
 * schema of docs/manifest.md, unknown keys included. Returns 0 with *out
 * (free with manifest_free), or -1 with the JSON path of the first
 * offending value in path ("$.camera.lens_mm", "$" for the text itself)
 * and what is wrong with it in err ("must be between 8 and 800"); *out
 * is then NULL. -2: out of memory.
 */
int manifest_parse(const char *json, struct manifest **out, char *path,
	size_t pathlen, char *err, size_t errlen);

/* The same from a parsed JSON value (borrowed). */
int manifest_from_json(struct json_object *v, struct manifest **out,
	char *path, size_t pathlen, char *err, size_t errlen);

void manifest_free(struct manifest *m);

/* A preset's body (the presets.body column), checked: prompt and
 * negative fragments, and a style's generation settings (steps 0, cfg 0,
 * sampler NULL: not set). */
struct preset_body {
	char *prompt, *negative, *sampler;
	long steps;
	double cfg;
};

/* Parses the body JSON text of a preset of kind. Returns 0 with *b
 * (free with preset_body_free), or -1 with the path and the reason of
 * the first problem ("$.steps": a setting only a style has). */
int preset_body_parse(const char *json, enum preset_kind kind,
	struct preset_body *b, char *path, size_t pathlen, char *err,
	size_t errlen);
void preset_body_free(struct preset_body *b);

/* A preset version as the translator takes it: owner 0 for a site
 * preset, else the user who owns it. Strings borrowed. */
struct preset {
	enum preset_kind kind;
	const char *slug, *body;
	int version;
	unsigned long long owner;
};

/* Finds the preset ref names (the newest version unless ref->version),
 * or NULL when there is none. */
typedef const struct preset *(*preset_lookup_fn)(void *arg,
	const struct preset_ref *ref);

/* What a manifest compiles to: a job's fields. The strings are owned;
 * fixed[] marks the job fields the manifest itself set (prompt and
 * negative_prompt always), which a request may not give again, the
 * others (steps, cfg_scale, sampler from the style) are defaults. */
struct manifest_out {
	char *prompt, *negative, *sampler, *model;
	long width, height, steps;
	double cfg;
	unsigned long long seed;
	int has_size, has_seed, has_steps, has_cfg;
	struct job_lora loras[JOB_LORAS_MAX];
	int nloras;
	/* The preset versions used, in the order of refs. */
	struct preset used[MANIFEST_REFS_MAX];
	int nused;
};

/*
 * Compiles m into out with the presets lookup finds: the same manifest
 * and preset versions give byte-identical output. Returns 0, or -1 with
 * the path of a reference that names no preset (or one whose body does
 * not read) and why; -2: out of memory. Free out with
 * manifest_out_free either way.
 */
int manifest_compile(const struct manifest *m, preset_lookup_fn lookup,
	void *arg, struct manifest_out *out, char *path, size_t pathlen,
	char *err, size_t errlen);
void manifest_out_free(struct manifest_out *o);

/* The job fields of out as a JSON object (prompt, negative_prompt,
 * width, height, seed, model, loras, steps, cfg_scale, sampler: those
 * set), for job_spec_from_json; NULL when memory ran out. */
struct json_object *manifest_out_job_json(const struct manifest_out *o);

/* 1 when field (a job field's name) is one m sets itself. */
int manifest_out_fixed(const struct manifest_out *o, const char *field);

/* The preset versions used as JSON: [{"kind", "slug", "version",
 * "owner"}] (owner null: a site preset). */
struct json_object *manifest_out_presets_json(const struct manifest_out *o);

/* Reads the versions of a presets JSON array (as given above) into
 * refs' versions: each ref whose kind and slug it lists is pinned to
 * that version and, where the entry has "owner" (null: the site), to
 * that owner's row, so an old job's manifest compiles as it did even
 * after the user made a preset of a site preset's slug. Returns 0, or
 * -1 with err when the array does not read. */
int manifest_pin(struct manifest *m, struct json_object *presets, char *err,
	size_t errlen);

/*
 * A manifest template's placeholders filled in: every string of tmpl
 * (borrowed, not changed) with each "{{name}}" replaced by the value of
 * the column called name (names[i] -> values[i], n of them). Returns 0
 * with *out (a new object), or -1 with err naming the placeholder and
 * the JSON path where it is ("$.subject: {{colour}} names no column"),
 * or an empty value ("column colour is empty"). A template must name
 * a placeholder at most MANIFEST_TEXT_MAX bytes long.
 */
int manifest_fill(struct json_object *tmpl, const char *const *names,
	const char *const *values, size_t n, struct json_object **out,
	char *err, size_t errlen);

/* The placeholders of tmpl that name none of names[0..n-1]: the first
 * in err ("$.subject: {{colour}} names no column"). Returns 0 when there
 * is none, else -1. */
int manifest_template_check(struct json_object *tmpl,
	const char *const *names, size_t n, char *err, size_t errlen);

#endif
