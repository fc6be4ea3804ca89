/* fuzz_jsondiff.c - libFuzzer harness for a manifest version's parser
 * and the JSON diff by path (jsondiff.h): the input is two texts split
 * at the first NUL byte (or one text, diffed with itself). Besides never
 * crashing or leaking: a refusal says why and gives nothing; a document
 * differs from itself nowhere; a to b and b to a name the same paths in
 * the same order with added and removed swapped and before and after
 * exchanged; every path starts at "$". */
#include "fuzz.h"
#include "jsondiff.h"

#include <json-c/json.h>
#include <string.h>

static json_object *
parse(const char *p, size_t n)
{
	json_object *o = NULL;
	char err[256];

	err[0] = '\0';
	if (json_object_text_parse(p, n, &o, err, sizeof(err)) != 0) {
		CHECK(o == NULL && err[0] != '\0');
		return NULL;
	}
	CHECK(json_object_is_type(o, json_type_object));
	return o;
}

static int
same(const char *x, const char *y)
{
	return x == NULL ? y == NULL : y != NULL && !strcmp(x, y);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nul = memchr(text, '\0', size);
	size_t na = nul ? (size_t)(nul - text) : size;
	json_object *a = parse(text, na), *b = NULL;
	struct jsondiff ab, ba;
	size_t i;

	if (a == NULL)
		return 0;
	CHECK(jsondiff(a, a, &ab) == 0);
	CHECK(ab.n == 0);
	jsondiff_free(&ab);
	if (nul != NULL)
		b = parse(nul + 1, size - na - 1);
	if (b != NULL) {
		CHECK(jsondiff(a, b, &ab) == 0);
		CHECK(jsondiff(b, a, &ba) == 0);
		CHECK(ab.n == ba.n);
		for (i = 0; i < ab.n && i < ba.n; i++) {
			CHECK(!strncmp(ab.c[i].path, "$", 1));
			CHECK(!strcmp(ab.c[i].path, ba.c[i].path));
			CHECK(ab.c[i].kind == (ba.c[i].kind == JD_ADDED ?
				JD_REMOVED : ba.c[i].kind == JD_REMOVED ?
				JD_ADDED : JD_CHANGED));
			CHECK(same(ab.c[i].before, ba.c[i].after));
			CHECK(same(ab.c[i].after, ba.c[i].before));
			CHECK((ab.c[i].before == NULL) ==
				(ab.c[i].kind == JD_ADDED));
			CHECK((ab.c[i].after == NULL) ==
				(ab.c[i].kind == JD_REMOVED));
		}
		jsondiff_free(&ab);
		jsondiff_free(&ba);
	}
	json_object_put(a);
	json_object_put(b);
	return 0;
}
