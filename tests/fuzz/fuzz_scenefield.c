/* fuzz_scenefield.c - libFuzzer harness for the scene form's fields as
 * text and back (manifest_field_value, manifest_field_text): the first
 * byte picks the kind, the rest is the field's text. Besides never
 * crashing or leaking: the value's JSON reads back as JSON (no number
 * written as typed reaches it: hexadecimal or padded), and the value's
 * text reads back as the same value, so a field the form fills from a
 * manifest makes that manifest again. */
#include "fuzz.h"
#include "manifest.h"

#include <json-c/json.h>
#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum manifest_field kind;
	json_object *v, *again, *back;
	struct buf t = { 0 };
	char *s;

	if (size < 1)
		return 0;
	kind = (enum manifest_field)(data[0] % 4);
	s = malloc(size);
	if (s == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	v = manifest_field_value(kind, s);
	CHECK(v != NULL);
	back = json_tokener_parse(json_object_to_json_string_ext(v,
	    JSON_C_TO_STRING_PLAIN));
	CHECK(back != NULL || json_object_is_type(v, json_type_null));
	CHECK(json_object_equal(v, back));
	CHECK(manifest_field_text(kind, v, &t) == 0);
	again = manifest_field_value(kind, t.data ? t.data : "");
	CHECK(json_object_equal(v, again));
	json_object_put(again);
	json_object_put(back);
	json_object_put(v);
	buf_free(&t);
	free(s);
	return 0;
}
