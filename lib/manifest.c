/* manifest.c - scene manifests: the schema of docs/manifest.md checked
 * with every error at its JSON path, preset bodies, the translator into a
 * job's fields, and the placeholders of a SKU template. */
#include "manifest.h"
#include "i18n.h"
#include "loras.h"
#include "samplers.h"
#include "utf8.h"
#include "util.h"

#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const preset_kinds[PRESET_NKINDS] = {
	"style", "lens", "lighting", "material"
};

/* The camera's angle and distance: the values are the prompt's words
 * (a hyphen read as a space), so the code only checks membership. */
const char *const manifest_camera_angles[] = {
	"eye-level", "high-angle", "low-angle", "overhead", "top-down",
	"dutch-angle", "three-quarter-view", "profile", "front-view",
	"back-view", NULL
};
const char *const manifest_camera_distances[] = {
	"macro", "extreme-close-up", "close-up", "medium-close-up",
	"medium-shot", "full-shot", "wide-shot", "extreme-wide-shot", NULL
};

/* The samplers a style may name (the engine's, samplers.h). */
static const char *const style_samplers[] = {
#define SAMPLER_NAME(kind, name, display) name,
	KILN_SAMPLERS(SAMPLER_NAME)
#undef SAMPLER_NAME
	NULL
};

int
preset_kind_parse(const char *s)
{
	int k;

	for (k = 0; s != NULL && k < PRESET_NKINDS; k++)
		if (!strcmp(s, preset_kinds[k]))
			return k;
	return -1;
}

int
preset_slug_ok(const char *s)
{
	size_t i;

	if (s == NULL || *s == '\0' || *s == '-')
		return 0;
	for (i = 0; s[i]; i++)
		if (i >= PRESET_SLUG_MAX || !((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

/* Where the first error goes. */
struct ctx {
	char *path, *err;
	size_t pathlen, errlen;
	int failed;
};

static int fail(struct ctx *c, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Records the first problem. Returns -1. */
static int
fail(struct ctx *c, const char *path, const char *fmt, ...)
{
	va_list ap;

	if (c->failed++)
		return -1;
	snprintf(c->path, c->pathlen, "%s", path);
	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int
one_of(const char *s, const char *const *list)
{
	size_t i;

	for (i = 0; list[i] != NULL; i++)
		if (!strcmp(s, list[i]))
			return 1;
	return 0;
}

/* "a", "b" or "c", for a message. */
static void
list_text(const char *const *list, char *out, size_t n)
{
	size_t i, used = 0;

	out[0] = '\0';
	for (i = 0; list[i] != NULL && used < n; i++)
		used += (size_t)snprintf(out + used, n - used, "%s%s",
			i == 0 ? "" : list[i + 1] == NULL ? " or " : ", ",
			list[i]);
}

/* A string of 1 to max bytes: UTF-8, no control characters (a prompt
 * is one line of the PNG's parameters). Returns it, or NULL after
 * recording why. */
static const char *
text_at(struct ctx *c, const char *path, json_object *v, size_t max)
{
	const unsigned char *s;
	size_t len, i, k;
	uint32_t cp;

	if (!json_object_is_type(v, json_type_string)) {
		fail(c, path, TR("must be a string"));
		return NULL;
	}
	s = (const unsigned char *)json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (len == 0 || len > max) {
		fail(c, path, TR("must be 1 to %zu bytes long"), max);
		return NULL;
	}
	for (i = 0; i < len; i += k) {
		k = utf8_next(s + i, len - i, &cp);
		if (cp == UTF8_INVALID || k == 0) {
			fail(c, path, TR("is not valid UTF-8"));
			return NULL;
		}
		if (cp < 0x20 || cp == 0x7f) {
			fail(c, path, TR("contains a control character"));
			return NULL;
		}
	}
	return (const char *)s;
}

/* A number from lo to hi (an integer when integer). */
static int
number_at(struct ctx *c, const char *path, json_object *v, double lo,
	double hi, int integer, double *out)
{
	double d;

	if (integer ? !json_object_is_type(v, json_type_int) :
	    !json_object_is_type(v, json_type_int) &&
	    !json_object_is_type(v, json_type_double))
		return fail(c, path, integer ? TR("must be an integer") :
			TR("must be a number"));
	d = integer ? (double)json_object_get_int64(v) :
		json_object_get_double(v);
	if (!isfinite(d) || d < lo || d > hi ||
	    (integer && json_object_get_int64(v) == INT64_MAX))
		return fail(c, path, TR("must be between %g and %g"), lo, hi);
	*out = d;
	return 0;
}

/* A preset reference: "slug" or "slug@version". */
static int
ref_at(struct ctx *c, const char *path, json_object *v, enum preset_kind kind,
	struct manifest *m)
{
	struct preset_ref *r;
	const char *s = text_at(c, path, v, PRESET_SLUG_MAX + 8), *at;
	char *end;
	long ver = 0;
	size_t n;

	if (s == NULL)
		return -1;
	at = strchr(s, '@');
	n = at ? (size_t)(at - s) : strlen(s);
	if (at != NULL) {
		if (at[1] < '1' || at[1] > '9')
			return fail(c, path, TR("must be a %s preset's "
				"slug, or slug@version"), preset_kinds[kind]);
		ver = strtol(at + 1, &end, 10);
		if (*end != '\0' || ver > PRESET_VERSION_MAX)
			return fail(c, path, TR("must be a %s preset's "
				"slug, or slug@version"), preset_kinds[kind]);
	}
	r = &m->refs[m->nrefs];
	if (n > PRESET_SLUG_MAX)
		return fail(c, path, TR("must be a %s preset's slug (1-%d of "
			"a-z, 0-9 and -)"), preset_kinds[kind],
			PRESET_SLUG_MAX);
	memcpy(r->slug, s, n);
	r->slug[n] = '\0';
	if (!preset_slug_ok(r->slug))
		return fail(c, path, TR("must be a %s preset's slug (1-%d of "
			"a-z, 0-9 and -)"), preset_kinds[kind],
			PRESET_SLUG_MAX);
	r->kind = kind;
	r->version = (int)ver;
	snprintf(r->path, sizeof(r->path), "%s", path);
	m->nrefs++;
	return 0;
}

/* The object at path, every key one of keys. */
static int
object_at(struct ctx *c, const char *path, json_object *v,
	const char *const *keys)
{
	char p[128];

	if (!json_object_is_type(v, json_type_object))
		return fail(c, path, TR("must be an object"));
	json_object_object_foreach(v, key, val) {
		(void)val;
		if (!one_of(key, keys)) {
			snprintf(p, sizeof(p), "%s.%s", path, key);
			return fail(c, p, TR("is not a field of the manifest"));
		}
	}
	return 0;
}

static const char *const top_keys[] = {
	"version", "subject", "environment", "camera", "lighting",
	"materials", "style", "negative", "output", "seed", "model", "loras",
	NULL
};
static const char *const camera_keys[] = {
	"angle", "distance", "lens", "lens_mm", "aperture", NULL
};
static const char *const lighting_keys[] = {
	"setup", "time_of_day", "colour_temperature_k", NULL
};
static const char *const output_keys[] = { "width", "height", NULL };

static int
enum_at(struct ctx *c, const char *path, json_object *v,
	const char *const *list, char **out)
{
	char all[512];
	const char *s = text_at(c, path, v, 64);

	if (s == NULL)
		return -1;
	if (!one_of(s, list)) {
		list_text(list, all, sizeof(all));
		return fail(c, path, TR("must be one of %s"), all);
	}
	*out = xstrdup(s);
	return 0;
}

static int
camera_at(struct ctx *c, json_object *cam, struct manifest *m)
{
	json_object *v;

	if (object_at(c, "$.camera", cam, camera_keys) != 0)
		return -1;
	if (json_object_object_get_ex(cam, "angle", &v) && enum_at(c,
	    "$.camera.angle", v, manifest_camera_angles, &m->angle) != 0)
		return -1;
	if (json_object_object_get_ex(cam, "distance", &v) && enum_at(c,
	    "$.camera.distance", v, manifest_camera_distances,
	    &m->distance) != 0)
		return -1;
	if (json_object_object_get_ex(cam, "lens", &v) && ref_at(c,
	    "$.camera.lens", v, PRESET_LENS, m) != 0)
		return -1;
	if (json_object_object_get_ex(cam, "lens_mm", &v)) {
		if (number_at(c, "$.camera.lens_mm", v, 8, 800, 0,
		    &m->lens_mm) != 0)
			return -1;
		m->has_lens_mm = 1;
	}
	if (json_object_object_get_ex(cam, "aperture", &v)) {
		if (number_at(c, "$.camera.aperture", v, 0.7, 64, 0,
		    &m->aperture) != 0)
			return -1;
		m->has_aperture = 1;
	}
	return 0;
}

static int
lighting_at(struct ctx *c, json_object *l, struct manifest *m)
{
	json_object *v;
	double d;

	if (object_at(c, "$.lighting", l, lighting_keys) != 0)
		return -1;
	if (json_object_object_get_ex(l, "setup", &v) && ref_at(c,
	    "$.lighting.setup", v, PRESET_LIGHTING, m) != 0)
		return -1;
	if (json_object_object_get_ex(l, "time_of_day", &v) && ref_at(c,
	    "$.lighting.time_of_day", v, PRESET_LIGHTING, m) != 0)
		return -1;
	if (json_object_object_get_ex(l, "colour_temperature_k", &v)) {
		if (number_at(c, "$.lighting.colour_temperature_k", v, 1000,
		    20000, 1, &d) != 0)
			return -1;
		m->colour_k = (long)d;
		m->has_colour_k = 1;
	}
	return 0;
}

static int
output_at(struct ctx *c, json_object *o, struct manifest *m)
{
	json_object *v;
	double d;
	int i;
	static const char *const side[] = { "width", "height" };
	char path[32];

	if (object_at(c, "$.output", o, output_keys) != 0)
		return -1;
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "$.output.%s", side[i]);
		if (!json_object_object_get_ex(o, side[i], &v))
			return fail(c, path, TR("is required (with the other "
				"side)"));
		if (number_at(c, path, v, 64, 2048, 1, &d) != 0)
			return -1;
		if ((long)d % 8 != 0)
			return fail(c, path, TR("must be a multiple of 8"));
		*(i ? &m->height : &m->width) = (long)d;
	}
	m->has_size = 1;
	return 0;
}

/* lora_json_parse's problems, at their JSON path. */
static void
lora_fail(void *arg, const char *field, const char *msg)
{
	char p[96];

	snprintf(p, sizeof(p), "$.%s", field);
	fail(arg, p, "%s", msg);
}

static int
parse_into(struct ctx *c, json_object *root, struct manifest *m)
{
	json_object *v;
	const char *s;
	double d;
	size_t i, n;
	char path[40];

	if (object_at(c, "$", root, top_keys) != 0)
		return -1;
	if (json_object_object_get_ex(root, "version", &v) &&
	    (!json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) != 1))
		return fail(c, "$.version", TR("must be 1"));
	if (!json_object_object_get_ex(root, "subject", &v))
		return fail(c, "$.subject", TR("is required"));
	if ((s = text_at(c, "$.subject", v, MANIFEST_TEXT_MAX)) == NULL)
		return -1;
	m->subject = xstrdup(s);
	if (json_object_object_get_ex(root, "environment", &v)) {
		if ((s = text_at(c, "$.environment", v,
		    MANIFEST_TEXT_MAX)) == NULL)
			return -1;
		m->environment = xstrdup(s);
	}
	/* The translator's order: style, lens, lighting, materials. */
	if (json_object_object_get_ex(root, "style", &v) && ref_at(c,
	    "$.style", v, PRESET_STYLE, m) != 0)
		return -1;
	if (json_object_object_get_ex(root, "camera", &v) &&
	    camera_at(c, v, m) != 0)
		return -1;
	if (json_object_object_get_ex(root, "lighting", &v) &&
	    lighting_at(c, v, m) != 0)
		return -1;
	if (json_object_object_get_ex(root, "materials", &v)) {
		if (!json_object_is_type(v, json_type_array))
			return fail(c, "$.materials", TR("must be an array of "
				"material preset slugs"));
		n = json_object_array_length(v);
		if (n > MANIFEST_MATERIALS_MAX)
			return fail(c, "$.materials", TR("must hold at most %d "
				"materials"), MANIFEST_MATERIALS_MAX);
		for (i = 0; i < n; i++) {
			snprintf(path, sizeof(path), "$.materials[%zu]", i);
			if (ref_at(c, path, json_object_array_get_idx(v, i),
			    PRESET_MATERIAL, m) != 0)
				return -1;
		}
	}
	if (json_object_object_get_ex(root, "negative", &v)) {
		if ((s = text_at(c, "$.negative", v,
		    MANIFEST_NEGATIVE_MAX)) == NULL)
			return -1;
		m->negative = xstrdup(s);
	}
	if (json_object_object_get_ex(root, "output", &v) &&
	    output_at(c, v, m) != 0)
		return -1;
	if (json_object_object_get_ex(root, "seed", &v)) {
		if (number_at(c, "$.seed", v, 0, 4294967295.0, 1, &d) != 0)
			return -1;
		m->seed = (unsigned long long)d;
		m->has_seed = 1;
	}
	if (json_object_object_get_ex(root, "model", &v)) {
		if ((s = text_at(c, "$.model", v, 128)) == NULL)
			return -1;
		m->model = xstrdup(s);
	}
	if (json_object_object_get_ex(root, "loras", &v)) {
		if (!json_object_is_type(v, json_type_array))
			return fail(c, "$.loras", TR("must be an array of "
				"{\"name\", \"weight\"}"));
		if (lora_json_parse(v, m->loras, JOB_LORAS_MAX, &m->nloras,
		    lora_fail, c) != 0)
			return -1;
	}
	return 0;
}

int
manifest_from_json(json_object *v, struct manifest **out, char *path,
	size_t pathlen, char *err, size_t errlen)
{
	struct ctx c = { path, err, pathlen, errlen, 0 };
	struct manifest *m = xcalloc(1, sizeof(*m));

	*out = NULL;
	if (parse_into(&c, v, m) != 0 || c.failed) {
		manifest_free(m);
		return -1;
	}
	*out = m;
	return 0;
}

/* json_tokener in strict mode (no NaN, no trailing commas, no single
 * quotes), within MANIFEST_DEPTH_MAX, the whole text one value. Returns
 * the value, or NULL with why in err. */
static json_object *
parse_strict(const char *json, size_t maxlen, char *err, size_t errlen)
{
	struct json_tokener *tok;
	json_object *v;
	size_t len = strlen(json);

	if (len > maxlen) {
		snprintf(err, errlen, TR("is over %zu bytes"), maxlen);
		return NULL;
	}
	tok = json_tokener_new_ex(MANIFEST_DEPTH_MAX);
	if (tok == NULL) {
		snprintf(err, errlen, TR("out of memory"));
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	v = json_tokener_parse_ex(tok, json, (int)len);
	if (v == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    tok->char_offset != (int)len) {
		snprintf(err, errlen, TR("is not JSON: %s at byte %d"),
			v == NULL && json_tokener_get_error(tok) ==
			json_tokener_continue ? "unexpected end" :
			json_tokener_error_desc(json_tokener_get_error(tok)),
			tok->char_offset);
		json_object_put(v);
		v = NULL;
	}
	json_tokener_free(tok);
	return v;
}

int
manifest_parse(const char *json, struct manifest **out, char *path,
	size_t pathlen, char *err, size_t errlen)
{
	json_object *v;
	int rc;

	*out = NULL;
	v = parse_strict(json, MANIFEST_MAX_BYTES, err, errlen);
	if (v == NULL) {
		snprintf(path, pathlen, "$");
		return -1;
	}
	rc = manifest_from_json(v, out, path, pathlen, err, errlen);
	json_object_put(v);
	return rc;
}

void
manifest_free(struct manifest *m)
{
	if (m == NULL)
		return;
	free(m->subject);
	free(m->environment);
	free(m->negative);
	free(m->model);
	free(m->angle);
	free(m->distance);
	free(m);
}

/* ------------------------------------------------------------- presets */

static const char *const body_keys[] = {
	"prompt", "negative", "steps", "cfg_scale", "sampler", NULL
};

int
preset_body_parse(const char *json, enum preset_kind kind,
	struct preset_body *b, char *path, size_t pathlen, char *err,
	size_t errlen)
{
	struct ctx c = { path, err, pathlen, errlen, 0 };
	json_object *root, *v;
	const char *s;
	char all[256];
	double d;

	memset(b, 0, sizeof(*b));
	root = parse_strict(json, 8192, err, errlen);
	if (root == NULL) {
		snprintf(path, pathlen, "$");
		return -1;
	}
	if (object_at(&c, "$", root, body_keys) != 0)
		goto fail;
	if (!json_object_object_get_ex(root, "prompt", &v)) {
		fail(&c, "$.prompt", TR("is required"));
		goto fail;
	}
	if ((s = text_at(&c, "$.prompt", v, PRESET_FRAGMENT_MAX)) == NULL)
		goto fail;
	b->prompt = xstrdup(s);
	if (json_object_object_get_ex(root, "negative", &v)) {
		if ((s = text_at(&c, "$.negative", v,
		    PRESET_FRAGMENT_MAX)) == NULL)
			goto fail;
		b->negative = xstrdup(s);
	}
	/* Generation settings belong to the look, so to a style only. */
	json_object_object_foreach(root, key, val) {
		char p[64];

		(void)val;
		if (kind != PRESET_STYLE && (!strcmp(key, "steps") ||
		    !strcmp(key, "cfg_scale") || !strcmp(key, "sampler"))) {
			snprintf(p, sizeof(p), "$.%s", key);
			fail(&c, p, TR("only a style preset sets it"));
			goto fail;
		}
	}
	if (json_object_object_get_ex(root, "steps", &v)) {
		if (number_at(&c, "$.steps", v, 1, 150, 1, &d) != 0)
			goto fail;
		b->steps = (long)d;
	}
	if (json_object_object_get_ex(root, "cfg_scale", &v)) {
		if (number_at(&c, "$.cfg_scale", v, 1, 30, 0, &d) != 0)
			goto fail;
		b->cfg = d;
	}
	if (json_object_object_get_ex(root, "sampler", &v)) {
		if ((s = text_at(&c, "$.sampler", v, 32)) == NULL)
			goto fail;
		if (!one_of(s, style_samplers)) {
			list_text(style_samplers, all, sizeof(all));
			fail(&c, "$.sampler", TR("must be one of %s"), all);
			goto fail;
		}
		b->sampler = xstrdup(s);
	}
	json_object_put(root);
	return 0;
fail:
	json_object_put(root);
	preset_body_free(b);
	return -1;
}

void
preset_body_free(struct preset_body *b)
{
	free(b->prompt);
	free(b->negative);
	free(b->sampler);
	memset(b, 0, sizeof(*b));
}

/* ---------------------------------------------------------- translator */

/* Appends to a buffer whose size the limits bound (a prompt of a few
 * kilobytes at most): a failure is out of memory, as xmalloc's. */
static void
put(struct buf *b, const char *s, size_t n)
{
	if (buf_append(b, s, n) != 0)
		abort();
}

/* Appends part to b, after ", " unless b is empty. */
static void
add_part(struct buf *b, const char *part)
{
	if (part == NULL || *part == '\0')
		return;
	if (b->len > 0)
		put(b, ", ", 2);
	put(b, part, strlen(part));
}

/* An enum value as words: hyphens read as spaces. */
static void
add_words(struct buf *b, const char *value)
{
	char w[80];
	size_t i;

	snprintf(w, sizeof(w), "%s", value);
	for (i = 0; w[i]; i++)
		if (w[i] == '-')
			w[i] = ' ';
	add_part(b, w);
}

/* A number in its unit ("85mm", "f/1.8", "5600K"): %g, the shortest
 * form, the same on every run. */
static void
add_unit(struct buf *b, const char *before, double d, const char *after)
{
	char t[48];

	snprintf(t, sizeof(t), "%s%g%s", before, d, after);
	add_part(b, t);
}

int
manifest_compile(const struct manifest *m, preset_lookup_fn lookup,
	void *arg, struct manifest_out *out, char *path, size_t pathlen,
	char *err, size_t errlen)
{
	struct ctx c = { path, err, pathlen, errlen, 0 };
	struct preset_body body[MANIFEST_REFS_MAX];
	struct buf pos = { 0 }, neg = { 0 };
	const struct preset *p;
	char bpath[64], berr[256];
	int i, style = -1, lens = -1, setup = -1, tod = -1, rc = -1;

	memset(out, 0, sizeof(*out));
	memset(body, 0, sizeof(body));
	for (i = 0; i < m->nrefs; i++) {
		const struct preset_ref *r = &m->refs[i];

		p = lookup(arg, r);
		if (p == NULL || p->kind != r->kind) {
			if (r->version)
				fail(&c, r->path, TR("no %s preset %s has a "
					"version %d"), preset_kinds[r->kind],
					r->slug, r->version);
			else
				fail(&c, r->path, TR("no %s preset is called "
				    "%s"),
					preset_kinds[r->kind], r->slug);
			goto out;
		}
		if (preset_body_parse(p->body, p->kind, &body[i], bpath,
		    sizeof(bpath), berr, sizeof(berr)) != 0) {
			fail(&c, r->path, TR("%s preset %s version %d does not "
				"read: %s: %s"), preset_kinds[r->kind], r->slug,
				p->version, bpath, berr);
			goto out;
		}
		out->used[out->nused++] = *p;
		/* Which role each reference plays, by its path. */
		if (!strcmp(r->path, "$.style"))
			style = i;
		else if (!strcmp(r->path, "$.camera.lens"))
			lens = i;
		else if (!strcmp(r->path, "$.lighting.setup"))
			setup = i;
		else if (!strcmp(r->path, "$.lighting.time_of_day"))
			tod = i;
	}
	/* The prompt: what, of what, where, how it is shot, how it is lit,
	 * and the look last; each preset's words are its fragment. */
	add_part(&pos, m->subject);
	for (i = 0; i < m->nrefs; i++)
		if (m->refs[i].kind == PRESET_MATERIAL)
			add_part(&pos, body[i].prompt);
	add_part(&pos, m->environment);
	if (m->angle != NULL)
		add_words(&pos, m->angle);
	if (m->distance != NULL)
		add_words(&pos, m->distance);
	if (lens >= 0)
		add_part(&pos, body[lens].prompt);
	if (m->has_lens_mm)
		add_unit(&pos, "", m->lens_mm, "mm");
	if (m->has_aperture)
		add_unit(&pos, "f/", m->aperture, "");
	if (setup >= 0)
		add_part(&pos, body[setup].prompt);
	if (tod >= 0)
		add_part(&pos, body[tod].prompt);
	if (m->has_colour_k)
		add_unit(&pos, "", (double)m->colour_k, "K");
	if (style >= 0)
		add_part(&pos, body[style].prompt);
	/* The negative: the style's, the other presets', the manifest's. */
	if (style >= 0)
		add_part(&neg, body[style].negative);
	for (i = 0; i < m->nrefs; i++)
		if (i != style)
			add_part(&neg, body[i].negative);
	add_part(&neg, m->negative);
	out->prompt = pos.data ? pos.data : xstrdup("");
	out->negative = neg.data ? neg.data : xstrdup("");
	pos.data = neg.data = NULL;
	if (style >= 0) {
		out->steps = body[style].steps;
		out->has_steps = out->steps > 0;
		out->cfg = body[style].cfg;
		out->has_cfg = out->cfg > 0;
		if (body[style].sampler != NULL)
			out->sampler = xstrdup(body[style].sampler);
	}
	out->model = m->model ? xstrdup(m->model) : NULL;
	out->has_size = m->has_size;
	out->width = m->width;
	out->height = m->height;
	out->has_seed = m->has_seed;
	out->seed = m->seed;
	memcpy(out->loras, m->loras, sizeof(out->loras));
	out->nloras = m->nloras;
	rc = 0;
out:
	for (i = 0; i < MANIFEST_REFS_MAX; i++)
		preset_body_free(&body[i]);
	free(pos.data);
	free(neg.data);
	return rc;
}

void
manifest_out_free(struct manifest_out *o)
{
	free(o->prompt);
	free(o->negative);
	free(o->sampler);
	free(o->model);
	memset(o, 0, sizeof(*o));
}

json_object *
manifest_out_job_json(const struct manifest_out *o)
{
	json_object *j = json_object_new_object(), *a, *l;
	char w[32];
	int i;

	if (j == NULL)
		return NULL;
	json_object_object_add(j, "prompt", json_object_new_string(o->prompt));
	json_object_object_add(j, "negative_prompt",
		json_object_new_string(o->negative));
	if (o->has_size) {
		json_object_object_add(j, "width",
			json_object_new_int64(o->width));
		json_object_object_add(j, "height",
			json_object_new_int64(o->height));
	}
	if (o->has_seed)
		json_object_object_add(j, "seed",
			json_object_new_int64((int64_t)o->seed));
	if (o->model != NULL)
		json_object_object_add(j, "model",
			json_object_new_string(o->model));
	if (o->nloras > 0) {
		a = json_object_new_array();
		for (i = 0; i < o->nloras; i++) {
			l = json_object_new_object();
			json_object_object_add(l, "name",
				json_object_new_string(o->loras[i].name));
			lora_weight_text(o->loras[i].weight, w, sizeof(w));
			json_object_object_add(l, "weight",
				json_object_new_double_s(o->loras[i].weight,
				w));
			if (o->loras[i].unet_weight != o->loras[i].weight) {
				lora_weight_text(o->loras[i].unet_weight, w,
					sizeof(w));
				json_object_object_add(l, "unet_weight",
					json_object_new_double_s(
					o->loras[i].unet_weight, w));
			}
			json_object_array_add(a, l);
		}
		json_object_object_add(j, "loras", a);
	}
	if (o->has_steps)
		json_object_object_add(j, "steps",
			json_object_new_int64(o->steps));
	if (o->has_cfg) {
		snprintf(w, sizeof(w), "%g", o->cfg);
		json_object_object_add(j, "cfg_scale",
			json_object_new_double_s(o->cfg, w));
	}
	if (o->sampler != NULL)
		json_object_object_add(j, "sampler",
			json_object_new_string(o->sampler));
	return j;
}

int
manifest_out_fixed(const struct manifest_out *o, const char *f)
{
	if (!strcmp(f, "prompt") || !strcmp(f, "negative_prompt"))
		return 1;
	if (!strcmp(f, "width") || !strcmp(f, "height"))
		return o->has_size;
	if (!strcmp(f, "seed"))
		return o->has_seed;
	if (!strcmp(f, "model"))
		return o->model != NULL;
	if (!strcmp(f, "loras"))
		return o->nloras > 0;
	return 0;
}

json_object *
manifest_out_presets_json(const struct manifest_out *o)
{
	json_object *a = json_object_new_array(), *p;
	int i;

	for (i = 0; a != NULL && i < o->nused; i++) {
		p = json_object_new_object();
		json_object_object_add(p, "kind", json_object_new_string(
			preset_kinds[o->used[i].kind]));
		json_object_object_add(p, "slug",
			json_object_new_string(o->used[i].slug));
		json_object_object_add(p, "version",
			json_object_new_int(o->used[i].version));
		json_object_object_add(p, "owner", o->used[i].owner ?
			json_object_new_int64((int64_t)o->used[i].owner) :
			NULL);
		json_object_array_add(a, p);
	}
	return a;
}

int
manifest_pin(struct manifest *m, json_object *presets, char *err,
	size_t errlen)
{
	json_object *p, *kind, *slug, *ver, *own;
	size_t i, n;
	int k, r, has_owner;
	int64_t owner;

	if (!json_object_is_type(presets, json_type_array)) {
		snprintf(err, errlen, TR("must be an array of {\"kind\", "
			"\"slug\", \"version\"}"));
		return -1;
	}
	n = json_object_array_length(presets);
	for (i = 0; i < n; i++) {
		p = json_object_array_get_idx(presets, i);
		if (!json_object_object_get_ex(p, "kind", &kind) ||
		    !json_object_object_get_ex(p, "slug", &slug) ||
		    !json_object_object_get_ex(p, "version", &ver) ||
		    (k = preset_kind_parse(json_object_get_string(kind))) < 0 ||
		    !json_object_is_type(slug, json_type_string) ||
		    !json_object_is_type(ver, json_type_int) ||
		    json_object_get_int64(ver) < 1 ||
		    json_object_get_int64(ver) > PRESET_VERSION_MAX) {
			snprintf(err, errlen, TR("[%zu] must be {\"kind\", "
				"\"slug\", \"version\"}"), i);
			return -1;
		}
		/* "owner": null for a site preset, else its user; absent
		 * (a record from before owners were pinned): own first. */
		has_owner = json_object_object_get_ex(p, "owner", &own);
		owner = 0;
		if (has_owner && own != NULL &&
		    (!json_object_is_type(own, json_type_int) ||
		    (owner = json_object_get_int64(own)) < 1)) {
			snprintf(err, errlen, TR("[%zu].owner must be null "
				"or a user id"), i);
			return -1;
		}
		for (r = 0; r < m->nrefs; r++)
			if (m->refs[r].kind == (enum preset_kind)k &&
			    !strcmp(m->refs[r].slug,
			    json_object_get_string(slug))) {
				m->refs[r].version =
					(int)json_object_get_int64(ver);
				m->refs[r].has_owner = has_owner;
				m->refs[r].owner = (unsigned long long)owner;
			}
	}
	return 0;
}

/* --------------------------------------------------------- placeholders */

/* What fill_string does with a "{{name}}": the column's value, or the
 * reason it has none. */
struct fill {
	const char *const *names, *const *values;
	size_t n;
	int check_only;
	struct ctx *c;
};

/* s with its placeholders filled into *out (NULL when check_only).
 * Returns 0, or -1 after recording the first problem at path. */
static int
fill_string(struct fill *f, const char *path, const char *s, char **out)
{
	struct buf b = { 0 };
	const char *open, *close;
	char name[MANIFEST_TEXT_MAX + 1];
	size_t len, i;

	*out = NULL;
	while ((open = strstr(s, "{{")) != NULL) {
		close = strstr(open + 2, "}}");
		if (close == NULL)
			break;		/* a lone "{{" is text */
		len = (size_t)(close - open - 2);
		if (len > MANIFEST_TEXT_MAX) {
			free(b.data);
			return fail(f->c, path, TR("a placeholder is over %d "
				"bytes"), MANIFEST_TEXT_MAX);
		}
		memcpy(name, open + 2, len);
		name[len] = '\0';
		for (i = 0; i < f->n; i++)
			if (!strcmp(f->names[i], name))
				break;
		if (i == f->n) {
			free(b.data);
			return fail(f->c, path, TR("{{%s}} names no column"),
				name);
		}
		if (!f->check_only && (f->values[i] == NULL ||
		    *f->values[i] == '\0')) {
			free(b.data);
			return fail(f->c, path, TR("column %s is empty"), name);
		}
		if (!f->check_only) {
			put(&b, s, (size_t)(open - s));
			put(&b, f->values[i], strlen(f->values[i]));
		}
		s = close + 2;
	}
	if (!f->check_only) {
		put(&b, s, strlen(s));
		*out = b.data ? b.data : xstrdup("");
	}
	return 0;
}

/* A copy of v with its strings filled (NULL when check_only, or after
 * a problem). */
static json_object *
fill_value(struct fill *f, const char *path, json_object *v, int *bad)
{
	json_object *o = NULL;
	char p[160], *s;
	size_t i, n;

	switch (json_object_get_type(v)) {
	case json_type_string:
		if (fill_string(f, path, json_object_get_string(v), &s) != 0) {
			*bad = 1;
			return NULL;
		}
		if (s != NULL)
			o = json_object_new_string(s);
		free(s);
		return o;
	case json_type_object:
		o = f->check_only ? NULL : json_object_new_object();
		json_object_object_foreach(v, key, val) {
			json_object *x;

			snprintf(p, sizeof(p), "%s.%s", path, key);
			x = fill_value(f, p, val, bad);
			if (*bad) {
				json_object_put(o);
				return NULL;
			}
			if (o != NULL)
				json_object_object_add(o, key, x);
		}
		return o;
	case json_type_array:
		o = f->check_only ? NULL : json_object_new_array();
		n = json_object_array_length(v);
		for (i = 0; i < n; i++) {
			json_object *x;

			snprintf(p, sizeof(p), "%s[%zu]", path, i);
			x = fill_value(f, p, json_object_array_get_idx(v, i),
				bad);
			if (*bad) {
				json_object_put(o);
				return NULL;
			}
			if (o != NULL)
				json_object_array_add(o, x);
		}
		return o;
	default:
		return f->check_only ? NULL : json_object_get(v);
	}
}

int
manifest_fill(json_object *tmpl, const char *const *names,
	const char *const *values, size_t n, json_object **out, char *err,
	size_t errlen)
{
	char path[160];
	struct ctx c = { path, err, sizeof(path), errlen, 0 };
	struct fill f = { names, values, n, 0, &c };
	int bad = 0;
	char msg[320];

	*out = fill_value(&f, "$", tmpl, &bad);
	if (bad) {
		snprintf(msg, sizeof(msg), "%s: %s", path, err);
		snprintf(err, errlen, "%s", msg);
		return -1;
	}
	return 0;
}

int
manifest_template_check(json_object *tmpl, const char *const *names,
	size_t n, char *err, size_t errlen)
{
	char path[160];
	struct ctx c = { path, err, sizeof(path), errlen, 0 };
	struct fill f = { names, NULL, n, 1, &c };
	int bad = 0;
	char msg[320];

	fill_value(&f, "$", tmpl, &bad);
	if (bad) {
		snprintf(msg, sizeof(msg), "%s: %s", path, err);
		snprintf(err, errlen, "%s", msg);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------ form fields */

static json_object *
field_number(const char *v)
{
	char *end, t[40];
	double d = strtod(v, &end);

	if (end == v || *end != '\0' || !isfinite(d))
		return json_object_new_string(v);
	/* A whole number an int64 holds exactly is one (below 2^63). */
	if (d == floor(d) && fabs(d) < 9223372036854775808.0)
		return json_object_new_int64((int64_t)d);
	/* The shortest of the two that reads back the same: 2.8 rather
	 * than json-c's 2.7999999999999998; with a point or an exponent,
	 * so that JSON reads it back as a double. */
	snprintf(t, sizeof(t), "%.15g", d);
	if (strtod(t, NULL) != d)
		snprintf(t, sizeof(t), "%.17g", d);
	if (strpbrk(t, ".e") == NULL)
		strcat(t, ".0");
	return json_object_new_double_s(d, t);
}

/* One LoRA, "name" or "name:weight" (the last colon splits them). */
static json_object *
field_lora(const char *item, size_t n)
{
	json_object *o = json_object_new_object();
	const char *colon = NULL;
	char *w;
	size_t i;

	if (o == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (item[i] == ':')
			colon = item + i;
	json_object_object_add(o, "name", json_object_new_string_len(item,
		(int)(colon != NULL ? (size_t)(colon - item) : n)));
	if (colon != NULL) {
		w = xstrndup(colon + 1, n - (size_t)(colon - item) - 1);
		json_object_object_add(o, "weight", field_number(w));
		free(w);
	}
	return o;
}

json_object *
manifest_field_value(enum manifest_field kind, const char *v)
{
	json_object *a;
	const char *p;

	if (kind == MF_NUMBER)
		return field_number(v);
	if (kind == MF_TEXT)
		return json_object_new_string(v);
	a = json_object_new_array();
	for (p = v; a != NULL;) {
		const char *comma = strchr(p, ','), *b = p, *e;

		e = comma != NULL ? comma : p + strlen(p);
		while (b < e && (*b == ' ' || *b == '\t'))
			b++;
		while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e > b)
			json_object_array_add(a, kind == MF_LIST ?
				json_object_new_string_len(b, (int)(e - b)) :
				field_lora(b, (size_t)(e - b)));
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return a;
}

/* A value's text: a string as it is, anything else (null included) as
 * its JSON. */
static const char *
field_str(json_object *x)
{
	return json_object_is_type(x, json_type_string) ?
		json_object_get_string(x) : json_object_to_json_string_ext(x,
		JSON_C_TO_STRING_PLAIN);
}

int
manifest_field_text(enum manifest_field kind, json_object *v,
	struct buf *out)
{
	json_object *x, *name, *w;
	size_t j;
	int rc = 0;

	if (!json_object_is_type(v, json_type_array) || kind < MF_LIST)
		return buf_puts(out, field_str(v));
	for (j = 0; j < json_object_array_length(v) && rc == 0; j++) {
		x = json_object_array_get_idx(v, j);
		if (j > 0)
			rc |= buf_puts(out, ", ");
		/* A LoRA as "name:weight", anything else (a material, or
		 * what the checker will refuse) as its text. */
		if (kind == MF_LORAS && json_object_is_type(x,
		    json_type_object) &&
		    json_object_object_get_ex(x, "name", &name)) {
			rc |= buf_puts(out, field_str(name));
			if (json_object_object_get_ex(x, "weight", &w))
				rc |= buf_printf(out, ":%s", field_str(w));
		} else {
			rc |= buf_puts(out, field_str(x));
		}
	}
	return rc;
}
