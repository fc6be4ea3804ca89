/* fuzz_once.c - libFuzzer harness for what a browser sends back to
 * lib/once.c: the cookie's "<id>.<key>" (once_cookie_parse) and a sealed
 * text under some key (once_open, as a row would be read). Besides never
 * crashing or leaking: a cookie taken formats back to the same text, one
 * refused leaves a zero id and key; an opened text has no NUL before its
 * end, and what once_seal made opens to what it was given. */
#include "fuzz.h"
#include "once.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char key[32], zero[32] = { 0 };
	unsigned long long id;
	char *s = malloc(size + 1), back[ONCE_COOKIE_MAX + 1], *out = NULL;
	char sealed[ONCE_SEALED_MAX];

	if (s == NULL || sodium_init() < 0) {
		free(s);
		return 0;
	}
	memcpy(s, data, size);
	s[size] = '\0';
	if (once_cookie_parse(s, &id, key) == 0) {
		once_cookie_format(id, key, back);
		CHECK(strcmp(back, s) == 0);
	} else {
		CHECK(id == 0 && memcmp(key, zero, 32) == 0);
	}
	memset(key, size ? data[0] : 0, sizeof(key));
	if (once_open(s, key, &out) == 0) {
		CHECK(out != NULL);
		once_free(out);
	} else {
		CHECK(out == NULL);
	}
	if (size <= ONCE_MAX && memchr(s, '\0', size) == NULL) {
		CHECK(once_seal(s, size, key, sealed) == 0);
		CHECK(once_open(sealed, key, &out) == 0);
		CHECK(strcmp(out, s) == 0);
		once_free(out);
	}
	free(s);
	return 0;
}
