/* fuzz_explore_search.c - libFuzzer harness for the gallery search's
 * words (explore_search_words). Besides never crashing: at most the cap
 * of words, each "%" + the word + "%" with every %, _ and backslash
 * escaped, the word unescaped being a run of the input without spaces or
 * tabs, in the input's order. */
#include "fuzz.h"
#include "explore.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAXW 6

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *w[MAXW], *plain;
	const char *at;
	int n, i;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	n = explore_search_words(s, w, MAXW);
	CHECK(n >= 0 && n <= MAXW);
	at = s;
	for (i = 0; i < n; i++) {
		size_t len = strlen(w[i]), j, o = 0;

		CHECK(len >= 3 && w[i][0] == '%' && w[i][len - 1] == '%');
		plain = malloc(len);
		CHECK(plain != NULL);
		for (j = 1; j + 1 < len; j++) {
			char c = w[i][j];

			/* A wildcard or backslash only ever escaped. */
			if (c == '\\') {
				CHECK(j + 2 < len);
				c = w[i][++j];
				CHECK(c == '\\' || c == '%' || c == '_');
			} else {
				CHECK(c != '%' && c != '_');
			}
			CHECK(c != ' ' && c != '\t' && c != '\0');
			plain[o++] = c;
		}
		plain[o] = '\0';
		CHECK(o > 0);
		at = strstr(at, plain);
		CHECK(at != NULL);
		if (at != NULL)
			at += o;
		else
			at = s;
		free(plain);
		free(w[i]);
	}
	free(s);
	return 0;
}
