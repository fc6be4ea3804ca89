/* test_manifest.c - scene manifests: every example of docs/manifest.md
 * is accepted (read from the document, not copied here), bad manifests
 * are refused at the right JSON path, each site preset of the migration
 * (read from sql/027_scene.sql) compiles to exactly its fragment, the
 * translator is byte-identical across runs, and SKU templates fill. */
#include "manifest.h"
#include "tap.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOC "docs/manifest.md"
#define SQL "sql/027_scene.sql"

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *s;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = calloc(1, (size_t)n + 1);
	if (s != NULL && fread(s, 1, (size_t)n, f) != (size_t)n) {
		free(s);
		s = NULL;
	}
	fclose(f);
	return s;
}

/* The seeded presets, as the migration's lines give them. */
struct seeded {
	struct preset p;
	char kind[16], slug[64], body[1024];
};
static struct seeded seeds[64];
static int nseeds;

/* Reads the lines "  ('kind', 'slug', 1, NULL, 'Name', '{...}')," of
 * the migration: a parser of its own, not the code under test. */
static void
read_seeds(void)
{
	char *sql = slurp(SQL), *line, *save = NULL;

	CHECK(sql != NULL);
	if (sql == NULL)
		return;
	for (line = strtok_r(sql, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		struct seeded *s = &seeds[nseeds];
		char name[128];
		int ver, n = 0;
		char *body;

		if (strncmp(line, "  ('", 4) != 0 || nseeds == 64)
			continue;
		if (sscanf(line, "  ('%15[a-z]', '%63[a-z0-9-]', %d, NULL, "
		    "'%127[^']', '%n", s->kind, s->slug, &ver, name, &n) != 4 ||
		    n == 0)
			continue;
		body = line + n;
		snprintf(s->body, sizeof(s->body), "%.*s",
			(int)(strrchr(body, '\'') - body), body);
		s->p.kind = (enum preset_kind)preset_kind_parse(s->kind);
		s->p.slug = s->slug;
		s->p.body = s->body;
		s->p.version = ver;
		nseeds++;
	}
	free(sql);
}

/* lookup over the seeds plus extra (a later version). */
static const struct preset *extra;

static const struct preset *
lookup(void *arg, const struct preset_ref *r)
{
	const struct preset *best = NULL;
	int i;

	(void)arg;
	/* As presets_load: the user's own first, unless the ref is
	 * pinned to an owner's row. */
	if (extra != NULL && extra->kind == r->kind &&
	    !strcmp(extra->slug, r->slug) && (r->version == 0 ||
	    r->version == extra->version) &&
	    (!r->has_owner || r->owner == extra->owner))
		return extra;
	for (i = 0; i < nseeds; i++)
		if (seeds[i].p.kind == r->kind &&
		    !strcmp(seeds[i].p.slug, r->slug) && (r->version == 0 ||
		    r->version == seeds[i].p.version))
			best = &seeds[i].p;
	return best;
}

/* Compiles the manifest text; 0 with out, else -1 (path, err kept). */
static int
compile(const char *json, struct manifest_out *out, char *path, char *err)
{
	struct manifest *m;
	int rc;

	memset(out, 0, sizeof(*out));
	if (manifest_parse(json, &m, path, 64, err, 256) != 0)
		return -1;
	rc = manifest_compile(m, lookup, NULL, out, path, 64, err, 256);
	manifest_free(m);
	return rc;
}

static void
docs_examples_are_accepted(void)
{
	char *doc = slurp(DOC), *p, *end, path[64], err[256];
	struct manifest *m;
	struct manifest_out out;
	int n = 0;

	CHECK(doc != NULL);
	for (p = doc; p != NULL && (p = strstr(p, "```json\n")) != NULL;
	    p = end + 3) {
		p += 8;
		end = strstr(p, "```");
		CHECK(end != NULL);
		if (end == NULL)
			break;
		*end = '\0';
		if (manifest_parse(p, &m, path, sizeof(path), err,
		    sizeof(err)) != 0) {
			printf("# example %d: %s: %s\n", n, path, err);
			CHECK(0);
		} else {
			/* ...and compiles against the seeded presets. */
			CHECK(manifest_compile(m, lookup, NULL, &out, path,
			    sizeof(path), err, sizeof(err)) == 0);
			manifest_out_free(&out);
		}
		manifest_free(m);
		n++;
	}
	CHECK(n >= 5);
	free(doc);
}

static const struct {
	const char *json, *path;
} bad[] = {
	{ "", "$" },
	{ "[]", "$" },
	{ "{\"subject\": \"a\",}", "$" },
	{ "{\"subject\": \"a\"} x", "$" },
	{ "{\"subject\": \"a\", \"camera\": {\"lens_mm\": NaN}}",
	  "$.camera.lens_mm" },
	{ "{}", "$.subject" },
	{ "{\"subject\": \"\"}", "$.subject" },
	{ "{\"subject\": 3}", "$.subject" },
	{ "{\"subject\": \"a\\u0000b\"}", "$.subject" },
	{ "{\"subject\": \"a\\nb\"}", "$.subject" },
	{ "{\"subject\": \"a\", \"colour\": \"red\"}", "$.colour" },
	{ "{\"subject\": \"a\", \"version\": 2}", "$.version" },
	{ "{\"subject\": \"a\", \"camera\": []}", "$.camera" },
	{ "{\"subject\": \"a\", \"camera\": {\"lens_mm\": 5}}",
	  "$.camera.lens_mm" },
	{ "{\"subject\": \"a\", \"camera\": {\"lens_mm\": \"85\"}}",
	  "$.camera.lens_mm" },
	{ "{\"subject\": \"a\", \"camera\": {\"aperture\": 100}}",
	  "$.camera.aperture" },
	{ "{\"subject\": \"a\", \"camera\": {\"angle\": \"sideways\"}}",
	  "$.camera.angle" },
	{ "{\"subject\": \"a\", \"camera\": {\"distance\": \"far\"}}",
	  "$.camera.distance" },
	{ "{\"subject\": \"a\", \"camera\": {\"zoom\": 2}}",
	  "$.camera.zoom" },
	{ "{\"subject\": \"a\", \"camera\": {\"lens\": \"85MM\"}}",
	  "$.camera.lens" },
	{ "{\"subject\": \"a\", \"camera\": {\"lens\": \"50mm@0\"}}",
	  "$.camera.lens" },
	{ "{\"subject\": \"a\", \"lighting\": {\"colour_temperature_k\": "
	  "5600.5}}", "$.lighting.colour_temperature_k" },
	{ "{\"subject\": \"a\", \"lighting\": {\"colour_temperature_k\": "
	  "500}}", "$.lighting.colour_temperature_k" },
	{ "{\"subject\": \"a\", \"lighting\": {\"mood\": \"dark\"}}",
	  "$.lighting.mood" },
	{ "{\"subject\": \"a\", \"materials\": \"metal\"}", "$.materials" },
	{ "{\"subject\": \"a\", \"materials\": [\"metal\", 7]}",
	  "$.materials[1]" },
	{ "{\"subject\": \"a\", \"materials\": [\"a\",\"b\",\"c\",\"d\","
	  "\"e\",\"f\",\"g\",\"h\",\"i\"]}", "$.materials" },
	{ "{\"subject\": \"a\", \"style\": \"\"}", "$.style" },
	{ "{\"subject\": \"a\", \"output\": {\"width\": 512}}",
	  "$.output.height" },
	{ "{\"subject\": \"a\", \"output\": {\"width\": 500, \"height\": "
	  "512}}", "$.output.width" },
	{ "{\"subject\": \"a\", \"output\": {\"width\": 512, \"height\": "
	  "4096}}", "$.output.height" },
	{ "{\"subject\": \"a\", \"output\": {\"width\": 512, \"height\": "
	  "512, \"dpi\": 300}}", "$.output.dpi" },
	{ "{\"subject\": \"a\", \"seed\": -1}", "$.seed" },
	{ "{\"subject\": \"a\", \"seed\": 4294967296}", "$.seed" },
	{ "{\"subject\": \"a\", \"seed\": 1.5}", "$.seed" },
	{ "{\"subject\": \"a\", \"negative\": false}", "$.negative" },
	{ "{\"subject\": \"a\", \"model\": null}", "$.model" },
	{ "{\"subject\": \"a\", \"loras\": {}}", "$.loras" },
	{ "{\"subject\": \"a\", \"loras\": [{\"name\": \"x\", \"weight\": "
	  "99}]}", "$.loras[0].weight" },
	{ "{\"subject\": \"a\", \"loras\": [{\"name\": \"x\", \"strength\": "
	  "1}]}", "$.loras[0].strength" },
	{ "{\"subject\": \"a\", \"environment\": \"\xff\"}",
	  "$.environment" },
};

static void
bad_manifests_name_their_path(void)
{
	char path[64], err[256];
	struct manifest *m;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		path[0] = err[0] = '\0';
		m = (struct manifest *)1;
		CHECK(manifest_parse(bad[i].json, &m, path, sizeof(path), err,
		    sizeof(err)) == -1);
		CHECK(m == NULL);
		CHECK(err[0] != '\0');
		if (strcmp(path, bad[i].path) != 0) {
			printf("# %s: path %s (%s), want %s\n", bad[i].json,
				path, err, bad[i].path);
			CHECK(0);
		}
	}
}

static void
range_message_names_the_limits(void)
{
	char path[64], err[256];
	struct manifest *m;

	CHECK(manifest_parse("{\"subject\": \"a\", \"camera\": {\"lens_mm\": "
	    "900}}", &m, path, sizeof(path), err, sizeof(err)) == -1);
	CHECK_STR(path, "$.camera.lens_mm");
	CHECK_STR(err, "must be between 8 and 800");
}

static void
unknown_presets_are_refused_at_their_path(void)
{
	struct manifest_out out;
	char path[64], err[256];

	CHECK(compile("{\"subject\": \"a\", \"materials\": [\"metal\", "
	    "\"velvet\"]}", &out, path, err) == -1);
	CHECK_STR(path, "$.materials[1]");
	CHECK_STR(err, "no material preset is called velvet");
	manifest_out_free(&out);
	/* A lens slug is no lighting preset. */
	CHECK(compile("{\"subject\": \"a\", \"lighting\": {\"setup\": "
	    "\"50mm\"}}", &out, path, err) == -1);
	CHECK_STR(path, "$.lighting.setup");
	manifest_out_free(&out);
	CHECK(compile("{\"subject\": \"a\", \"style\": \"editorial@9\"}", &out,
	    path, err) == -1);
	CHECK_STR(path, "$.style");
	CHECK_STR(err, "no style preset editorial has a version 9");
	manifest_out_free(&out);
}

/* The seeds hold what the issue names. */
static void
migration_seeds_the_named_presets(void)
{
	static const char *const want[] = {
		"style/e-commerce", "style/editorial", "style/social-media",
		"lens/24mm-wide", "lens/50mm", "lens/85mm-portrait",
		"lens/200mm-tele", "lighting/three-point", "lighting/rim",
		"lighting/rembrandt", "lighting/golden-hour",
		"lighting/blue-hour", "lighting/noon", "material/metal",
		"material/fabric", "material/glass", "material/wood", NULL
	};
	char key[96];
	int i, k, found;

	CHECK(nseeds >= 20);
	for (i = 0; want[i] != NULL; i++) {
		found = 0;
		for (k = 0; k < nseeds; k++) {
			snprintf(key, sizeof(key), "%s/%s", seeds[k].kind,
				seeds[k].slug);
			found += !strcmp(key, want[i]);
		}
		if (found != 1)
			printf("# %s seeded %d times\n", want[i], found);
		CHECK(found == 1);
	}
}

/* Each seeded preset alone, in its slot: the prompt is the subject and
 * exactly the preset's fragment, the negative exactly its negative, a
 * style's settings its own; the fragments read with json-c here. */
static void
each_seeded_preset_compiles_to_its_fragment(void)
{
	struct manifest_out out;
	char json[256], path[64], err[256], want[1024];
	json_object *b, *v;
	int i;

	for (i = 0; i < nseeds; i++) {
		const struct seeded *s = &seeds[i];

		switch (s->p.kind) {
		case PRESET_STYLE:
			snprintf(json, sizeof(json), "{\"subject\": \"X\", "
				"\"style\": \"%s\"}", s->slug);
			break;
		case PRESET_LENS:
			snprintf(json, sizeof(json), "{\"subject\": \"X\", "
				"\"camera\": {\"lens\": \"%s\"}}", s->slug);
			break;
		case PRESET_LIGHTING:
			snprintf(json, sizeof(json), "{\"subject\": \"X\", "
				"\"lighting\": {\"%s\": \"%s\"}}", i % 2 ?
				"setup" : "time_of_day", s->slug);
			break;
		default:
			snprintf(json, sizeof(json), "{\"subject\": \"X\", "
				"\"materials\": [\"%s\"]}", s->slug);
		}
		b = json_tokener_parse(s->body);
		CHECK(b != NULL);
		if (b == NULL)
			continue;
		if (compile(json, &out, path, err) != 0) {
			printf("# %s: %s: %s\n", s->slug, path, err);
			CHECK(0);
			json_object_put(b);
			continue;
		}
		CHECK(json_object_object_get_ex(b, "prompt", &v));
		snprintf(want, sizeof(want), "X, %s",
			json_object_get_string(v));
		CHECK_STR(out.prompt, want);
		CHECK_STR(out.negative, json_object_object_get_ex(b,
			"negative", &v) ? json_object_get_string(v) : "");
		if (s->p.kind == PRESET_STYLE) {
			CHECK(json_object_object_get_ex(b, "steps", &v) &&
			    out.has_steps && out.steps ==
			    json_object_get_int64(v));
			CHECK(json_object_object_get_ex(b, "cfg_scale", &v) &&
			    out.has_cfg && out.cfg ==
			    json_object_get_double(v));
			CHECK(json_object_object_get_ex(b, "sampler", &v));
			CHECK_STR(out.sampler, json_object_get_string(v));
		} else {
			CHECK(!out.has_steps && !out.has_cfg &&
			    out.sampler == NULL);
		}
		CHECK(out.nused == 1 && out.used[0].version == 1);
		manifest_out_free(&out);
		json_object_put(b);
	}
}

#define FULL "{\"subject\": \"a mug\", \"environment\": \"on a table\", " \
	"\"camera\": {\"angle\": \"low-angle\", \"distance\": \"close-up\", " \
	"\"lens\": \"85mm-portrait\", \"lens_mm\": 85, \"aperture\": 1.8}, " \
	"\"lighting\": {\"setup\": \"rim\", \"time_of_day\": \"noon\", " \
	"\"colour_temperature_k\": 5600}, \"materials\": [\"glass\", " \
	"\"wood\"], \"style\": \"editorial\", \"negative\": \"cracks\", " \
	"\"output\": {\"width\": 512, \"height\": 384}, \"seed\": 7, " \
	"\"model\": \"m\", \"loras\": [{\"name\": \"l\", \"weight\": 0.5}]}"

/* The whole order of docs/manifest.md, fragment by fragment. */
static const char *
frag(const char *slug, const char *key)
{
	static char out[8][512];
	static int k;
	json_object *b, *v;
	int i;

	k = (k + 1) % 8;
	out[k][0] = '\0';
	for (i = 0; i < nseeds; i++)
		if (!strcmp(seeds[i].slug, slug)) {
			b = json_tokener_parse(seeds[i].body);
			if (json_object_object_get_ex(b, key, &v))
				snprintf(out[k], sizeof(out[k]), "%s",
					json_object_get_string(v));
			json_object_put(b);
		}
	return out[k];
}

static void
full_manifest_compiles_in_the_documented_order(void)
{
	struct manifest_out a, b;
	char path[64], err[256], want[4096];
	json_object *j;

	CHECK(compile(FULL, &a, path, err) == 0);
	snprintf(want, sizeof(want), "a mug, %s, %s, on a table, low angle, "
		"close up, %s, 85mm, f/1.8, %s, %s, 5600K, %s",
		frag("glass", "prompt"), frag("wood", "prompt"),
		frag("85mm-portrait", "prompt"), frag("rim", "prompt"),
		frag("noon", "prompt"), frag("editorial", "prompt"));
	CHECK_STR(a.prompt, want);
	snprintf(want, sizeof(want), "%s, %s, cracks",
		frag("editorial", "negative"), frag("glass", "negative"));
	CHECK_STR(a.negative, want);
	CHECK(a.has_size && a.width == 512 && a.height == 384);
	CHECK(a.has_seed && a.seed == 7);
	CHECK_STR(a.model, "m");
	CHECK(a.nloras == 1 && a.loras[0].weight == 0.5);
	CHECK(a.nused == 6);
	CHECK(manifest_out_fixed(&a, "seed") && manifest_out_fixed(&a,
	    "prompt") && !manifest_out_fixed(&a, "steps"));
	/* Twice: byte-identical, the job fields too. */
	CHECK(compile(FULL, &b, path, err) == 0);
	CHECK_STR(a.prompt, b.prompt);
	CHECK_STR(a.negative, b.negative);
	j = manifest_out_job_json(&a);
	snprintf(want, sizeof(want), "%s", json_object_to_json_string(j));
	json_object_put(j);
	j = manifest_out_job_json(&b);
	CHECK_STR(json_object_to_json_string(j), want);
	json_object_put(j);
	manifest_out_free(&a);
	manifest_out_free(&b);
}

/* A newer version changes the words; pinning the old one (as a job's
 * manifest_presets do) gives the old prompt back. */
static void
pinned_versions_compile_as_before(void)
{
	struct preset v2 = { PRESET_STYLE, "editorial",
		"{\"prompt\": \"NEW WORDS\"}", 2, 0 };
	struct manifest_out a, b;
	struct manifest *m;
	char path[64], err[256];
	json_object *pins;

	CHECK(compile("{\"subject\": \"s\", \"style\": \"editorial\"}", &a,
	    path, err) == 0);
	pins = manifest_out_presets_json(&a);
	extra = &v2;
	CHECK(compile("{\"subject\": \"s\", \"style\": \"editorial\"}", &b,
	    path, err) == 0);
	CHECK_STR(b.prompt, "s, NEW WORDS");
	manifest_out_free(&b);
	CHECK(manifest_parse("{\"subject\": \"s\", \"style\": "
	    "\"editorial\"}", &m, path, sizeof(path), err, sizeof(err)) == 0);
	CHECK(manifest_pin(m, pins, err, sizeof(err)) == 0);
	CHECK(manifest_compile(m, lookup, NULL, &b, path, sizeof(path), err,
	    sizeof(err)) == 0);
	CHECK_STR(b.prompt, a.prompt);
	extra = NULL;
	manifest_free(m);
	json_object_put(pins);
	manifest_out_free(&a);
	manifest_out_free(&b);
}

/* A job pinned the site's "editorial" v1; the user then makes an
 * "editorial" v1 of their own (own presets win a lookup): the job's
 * record still names the site's row, and re-compiling gives the same
 * bytes. A record without owners (before they were pinned) finds the
 * user's, as it always did. */
static void
pinned_owner_wins_over_a_later_own_preset(void)
{
	struct preset mine = { PRESET_STYLE, "editorial",
		"{\"prompt\": \"MY OWN WORDS\"}", 1, 7 };
	struct manifest_out a, b;
	struct manifest *m;
	char path[64], err[256];
	const char *text = "{\"subject\": \"s\", \"style\": \"editorial\"}";
	json_object *pins, *old;

	CHECK(compile(text, &a, path, err) == 0);
	pins = manifest_out_presets_json(&a);
	CHECK_STR(json_object_to_json_string_ext(pins,
	    JSON_C_TO_STRING_PLAIN), "[{\"kind\":\"style\",\"slug\":"
	    "\"editorial\",\"version\":1,\"owner\":null}]");
	extra = &mine;
	CHECK(manifest_parse(text, &m, path, sizeof(path), err,
	    sizeof(err)) == 0);
	CHECK(manifest_pin(m, pins, err, sizeof(err)) == 0);
	CHECK(m->refs[0].has_owner == 1 && m->refs[0].owner == 0);
	CHECK(manifest_compile(m, lookup, NULL, &b, path, sizeof(path), err,
	    sizeof(err)) == 0);
	CHECK_STR(b.prompt, a.prompt);
	CHECK_STR(b.negative, a.negative);
	CHECK(b.nused == 1 && b.used[0].owner == 0);
	manifest_out_free(&b);
	manifest_free(m);
	/* Without "owner": own first, the user's words. */
	old = json_tokener_parse("[{\"kind\": \"style\", \"slug\": "
	    "\"editorial\", \"version\": 1}]");
	CHECK(manifest_parse(text, &m, path, sizeof(path), err,
	    sizeof(err)) == 0);
	CHECK(manifest_pin(m, old, err, sizeof(err)) == 0);
	CHECK(m->refs[0].has_owner == 0);
	CHECK(manifest_compile(m, lookup, NULL, &b, path, sizeof(path), err,
	    sizeof(err)) == 0);
	CHECK_STR(b.prompt, "s, MY OWN WORDS");
	manifest_out_free(&b);
	manifest_free(m);
	json_object_put(old);
	/* An owner that is not null or a user id is refused. */
	old = json_tokener_parse("[{\"kind\": \"style\", \"slug\": "
	    "\"editorial\", \"version\": 1, \"owner\": \"me\"}]");
	CHECK(manifest_parse(text, &m, path, sizeof(path), err,
	    sizeof(err)) == 0);
	CHECK(manifest_pin(m, old, err, sizeof(err)) == -1);
	CHECK(strstr(err, "owner") != NULL);
	manifest_free(m);
	json_object_put(old);
	extra = NULL;
	json_object_put(pins);
	manifest_out_free(&a);
}

static void
preset_bodies_are_checked(void)
{
	struct preset_body b;
	char path[64], err[256];

	CHECK(preset_body_parse("{\"prompt\": \"x\", \"steps\": 20}",
	    PRESET_LENS, &b, path, sizeof(path), err, sizeof(err)) == -1);
	CHECK_STR(path, "$.steps");
	CHECK(preset_body_parse("{\"prompt\": \"x\", \"sampler\": \"magic\"}",
	    PRESET_STYLE, &b, path, sizeof(path), err, sizeof(err)) == -1);
	CHECK_STR(path, "$.sampler");
	CHECK(preset_body_parse("{\"negative\": \"x\"}", PRESET_MATERIAL, &b,
	    path, sizeof(path), err, sizeof(err)) == -1);
	CHECK_STR(path, "$.prompt");
	CHECK(preset_body_parse("{\"prompt\": \"x\", \"extra\": 1}",
	    PRESET_MATERIAL, &b, path, sizeof(path), err, sizeof(err)) == -1);
	CHECK_STR(path, "$.extra");
	CHECK(preset_body_parse("{\"prompt\": \"x\", \"steps\": 20, "
	    "\"cfg_scale\": 6.5, \"sampler\": \"euler\"}", PRESET_STYLE, &b,
	    path, sizeof(path), err, sizeof(err)) == 0);
	CHECK(b.steps == 20 && b.cfg == 6.5);
	CHECK_STR(b.sampler, "euler");
	preset_body_free(&b);
}

static void
templates_fill_from_columns(void)
{
	static const char *const names[] = { "product", "colour", "material" };
	static const char *const row[] = { "a tote", "navy", "fabric" };
	static const char *const empty[] = { "a tote", "", "fabric" };
	json_object *t = json_tokener_parse("{\"subject\": \"{{product}} in "
		"{{colour}}\", \"materials\": [\"{{material}}\"], \"seed\": 3, "
		"\"negative\": \"{{ no close\"}"), *out;
	char err[256];

	CHECK(manifest_template_check(t, names, 3, err, sizeof(err)) == 0);
	CHECK(manifest_fill(t, names, row, 3, &out, err, sizeof(err)) == 0);
	CHECK_STR(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN),
		"{\"subject\":\"a tote in navy\",\"materials\":[\"fabric\"],"
		"\"seed\":3,\"negative\":\"{{ no close\"}");
	json_object_put(out);
	CHECK(manifest_fill(t, names, empty, 3, &out, err, sizeof(err)) == -1);
	CHECK_STR(err, "$.subject: column colour is empty");
	CHECK(manifest_template_check(t, names, 2, err, sizeof(err)) == -1);
	CHECK_STR(err, "$.materials[0]: {{material}} names no column");
	json_object_put(t);
}

/* The scene form's text of a field as JSON, and the text the form
 * shows for it again. */
static void
field_json(enum manifest_field kind, const char *text, const char *json,
	const char *shown)
{
	json_object *v = manifest_field_value(kind, text);
	struct buf b = { 0 };

	CHECK_STR(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
		json);
	CHECK(manifest_field_text(kind, v, &b) == 0);
	CHECK_STR(b.data ? b.data : "", shown);
	buf_free(&b);
	json_object_put(v);
}

static void
form_fields_read_and_write_back(void)
{
	field_json(MF_NUMBER, "2.8", "2.8", "2.8");
	field_json(MF_NUMBER, " 85", "85", "85");
	field_json(MF_NUMBER, "0x1.1p0", "1.0625", "1.0625");
	field_json(MF_NUMBER, "f8", "\"f8\"", "f8");
	field_json(MF_NUMBER, "1e400", "\"1e400\"", "1e400");
	field_json(MF_NUMBER, "1e300", "1e+300", "1e+300");
	field_json(MF_LIST, " metal ,, glass,", "[\"metal\",\"glass\"]",
		"metal, glass");
	field_json(MF_LIST, "", "[]", "");
	field_json(MF_LORAS, "film-look:0.6 ,grain, a:b:x",
		"[{\"name\":\"film-look\",\"weight\":0.6},{\"name\":"
		"\"grain\"},{\"name\":\"a:b\",\"weight\":\"x\"}]",
		"film-look:0.6, grain, a:b:x");
	field_json(MF_TEXT, "a mug, glazed", "\"a mug, glazed\"",
		"a mug, glazed");
}

int
main(void)
{
	read_seeds();
	RUN(docs_examples_are_accepted);
	RUN(bad_manifests_name_their_path);
	RUN(range_message_names_the_limits);
	RUN(unknown_presets_are_refused_at_their_path);
	RUN(migration_seeds_the_named_presets);
	RUN(each_seeded_preset_compiles_to_its_fragment);
	RUN(full_manifest_compiles_in_the_documented_order);
	RUN(pinned_versions_compile_as_before);
	RUN(pinned_owner_wins_over_a_later_own_preset);
	RUN(preset_bodies_are_checked);
	RUN(templates_fill_from_columns);
	RUN(form_fields_read_and_write_back);
	return tap_done();
}
