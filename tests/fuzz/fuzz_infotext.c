/* fuzz_infotext.c - libFuzzer harness: any bytes read as a PNG's text
 * chunks give an object of strings or a message, and any text parsed as
 * A1111's infotext gives an object holding Prompt, Negative prompt and
 * the defaults A1111 adds, never a crash, an out-of-bounds read, a
 * quadratic scan or a leak; every value read back is valid UTF-8. */
#include "fuzz.h"
#include "infotext.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <unistr.h>

static void
all_utf8(json_object *o)
{
	json_object_object_foreach(o, key, v) {
		CHECK(u8_check((const uint8_t *)key, strlen(key)) == NULL);
		if (json_object_is_type(v, json_type_string))
			CHECK(u8_check((const uint8_t *)
			    json_object_get_string(v),
			    (size_t)json_object_get_string_len(v)) == NULL);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256] = "", *text, *l1 = NULL;
	json_object *o;
	const char *p;

	o = png_text_chunks(data, size, err, sizeof(err));
	if (o == NULL) {
		CHECK(err[0] != '\0');
	} else {
		all_utf8(o);
		json_object_put(o);
	}
	text = malloc(size + 1);
	CHECK(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	o = infotext_parse(text);
	CHECK(o != NULL);
	CHECK(json_object_object_get_ex(o, "Prompt", NULL));
	CHECK(json_object_object_get_ex(o, "Negative prompt", NULL));
	CHECK(json_object_object_get_ex(o, "FP8 weight", NULL));
	if (u8_check((const uint8_t *)text, strlen(text)) == NULL)
		all_utf8(o);
	json_object_put(o);
	/* Latin-1 exactly when no code point is above U+00FF. */
	if (infotext_latin1(text, &l1) == 1) {
		CHECK(strlen(l1) <= strlen(text));
		for (p = text; *p != '\0'; p++)
			CHECK((unsigned char)*p < 0xc4);
		free(l1);
	}
	free(text);
	return 0;
}
