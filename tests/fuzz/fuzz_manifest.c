/* fuzz_manifest.c - libFuzzer harness for the scene manifest parser and
 * the preset body parser (manifest.h): the input is the JSON text. Besides
 * never crashing or leaking: a refusal always names a path starting with
 * "$" and a reason; an accepted manifest keeps every limit, compiles
 * (against presets made from the input's own references) into a prompt
 * that holds its subject, and compiles to the same bytes twice; a
 * preset body, read as each kind, keeps its limits. The first byte picks
 * whether the text is also read as a SKU template ('{') or as a job's
 * record of preset rows ('['). */
#include "fuzz.h"
#include "manifest.h"

#include <json-c/json.h>
#include <string.h>

static const struct preset *
any_preset(void *arg, const struct preset_ref *r)
{
	static struct preset p;

	(void)arg;
	p.kind = r->kind;
	p.slug = r->slug;
	p.version = r->version ? r->version : 1;
	p.owner = 0;
	p.body = "{\"prompt\": \"frag\", \"negative\": \"neg\", "
		"\"steps\": 20}";
	if (r->kind != PRESET_STYLE)
		p.body = "{\"prompt\": \"frag\"}";
	return &p;
}

static void
compile_twice(const struct manifest *m)
{
	struct manifest_out a, b;
	char path[64], err[256];
	json_object *j;

	CHECK(manifest_compile(m, any_preset, NULL, &a, path, sizeof(path),
	    err, sizeof(err)) == 0);
	CHECK(manifest_compile(m, any_preset, NULL, &b, path, sizeof(path),
	    err, sizeof(err)) == 0);
	CHECK(strstr(a.prompt, m->subject) != NULL);
	CHECK(!strcmp(a.prompt, b.prompt) && !strcmp(a.negative, b.negative));
	CHECK(a.nused == m->nrefs);
	j = manifest_out_job_json(&a);
	CHECK(j != NULL);
	json_object_put(j);
	j = manifest_out_presets_json(&a);
	CHECK(j != NULL);
	json_object_put(j);
	manifest_out_free(&a);
	manifest_out_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest *m = NULL;
	struct preset_body b;
	char *text, path[64], err[256];
	int k;

	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	path[0] = err[0] = '\0';
	if (manifest_parse(text, &m, path, sizeof(path), err,
	    sizeof(err)) == 0) {
		CHECK(m != NULL && m->subject != NULL);
		CHECK(strlen(m->subject) <= MANIFEST_TEXT_MAX);
		CHECK(m->nrefs <= MANIFEST_REFS_MAX);
		CHECK(!m->has_size || (m->width % 8 == 0 &&
		    m->height % 8 == 0 && m->width >= 64 &&
		    m->height <= 2048));
		CHECK(m->nloras <= JOB_LORAS_MAX);
		compile_twice(m);
		manifest_free(m);
	} else {
		CHECK(m == NULL);
		CHECK(path[0] == '$' && err[0] != '\0');
	}
	for (k = 0; k < PRESET_NKINDS; k++)
		if (preset_body_parse(text, (enum preset_kind)k, &b, path,
		    sizeof(path), err, sizeof(err)) == 0) {
			CHECK(b.prompt != NULL &&
			    strlen(b.prompt) <= PRESET_FRAGMENT_MAX);
			CHECK(k == PRESET_STYLE || (b.steps == 0 &&
			    b.sampler == NULL));
			preset_body_free(&b);
		} else {
			CHECK(path[0] == '$' && err[0] != '\0');
		}
	/* As a job's record of preset rows (manifest_pin), over a
	 * manifest naming one of each kind: refused with a reason, or
	 * every pin in range, and the manifest still compiles. */
	if (size > 0 && data[0] == '[') {
		json_object *pins = json_tokener_parse(text);

		if (pins != NULL && manifest_parse("{\"subject\": \"s\", "
		    "\"style\": \"editorial\", \"camera\": {\"lens\": "
		    "\"50mm\"}, \"lighting\": {\"setup\": \"rim\"}, "
		    "\"materials\": [\"metal\", \"glass\"]}", &m, path,
		    sizeof(path), err, sizeof(err)) == 0) {
			err[0] = '\0';
			if (manifest_pin(m, pins, err, sizeof(err)) == 0) {
				for (k = 0; k < m->nrefs; k++)
					CHECK(m->refs[k].version >= 0 &&
					    m->refs[k].version <=
					    PRESET_VERSION_MAX &&
					    (m->refs[k].has_owner ||
					    m->refs[k].owner == 0));
				compile_twice(m);
			} else {
				CHECK(err[0] != '\0');
			}
			manifest_free(m);
		}
		json_object_put(pins);
	}
	/* As a SKU template over two columns. */
	if (size > 0 && data[0] == '{') {
		static const char *const names[] = { "product", "colour" };
		static const char *const vals[] = { "a \"mug\"", "{{colour}}" };
		json_object *t = json_tokener_parse(text), *out = NULL;

		if (t != NULL) {
			if (manifest_fill(t, names, vals, 2, &out, err,
			    sizeof(err)) == 0)
				CHECK(out != NULL || json_object_get_type(t) ==
				    json_type_null);
			else
				CHECK(err[0] == '$');
			json_object_put(out);
			json_object_put(t);
		}
	}
	free(text);
	return 0;
}
