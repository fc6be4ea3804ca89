/* test_explore.c - the gallery search's words: split at spaces and tabs,
 * capped, each a LIKE pattern with its wildcards taken literally. */
#include "explore.h"
#include "tap.h"

#include <stdlib.h>

static void
free_words(char **w, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(w[i]);
}

static void
words_split_at_spaces_and_tabs(void)
{
	char *w[6];
	int n = explore_search_words("  red\tfox  snow ", w, 6);

	CHECK(n == 3);
	if (n == 3) {
		CHECK_STR(w[0], "%red%");
		CHECK_STR(w[1], "%fox%");
		CHECK_STR(w[2], "%snow%");
	}
	free_words(w, n);
	CHECK(explore_search_words("", w, 6) == 0);
	CHECK(explore_search_words(" \t ", w, 6) == 0);
	CHECK(explore_search_words(NULL, w, 6) == 0);
}

static void
wildcards_are_escaped(void)
{
	char *w[6];
	int n = explore_search_words("100% a_b k\\s", w, 6);

	CHECK(n == 3);
	if (n == 3) {
		CHECK_STR(w[0], "%100\\%%");
		CHECK_STR(w[1], "%a\\_b%");
		CHECK_STR(w[2], "%k\\\\s%");
	}
	free_words(w, n);
}

static void
words_beyond_the_cap_are_dropped(void)
{
	char *w[2];
	int n = explore_search_words("a b c d", w, 2);

	CHECK(n == 2);
	if (n == 2) {
		CHECK_STR(w[0], "%a%");
		CHECK_STR(w[1], "%b%");
	}
	free_words(w, n);
}

static void
reasons_match_the_enum(void)
{
	/* sql/020_explore.sql's image_reports.reason, in order. */
	static const char *const want[] = { "spam", "sexual", "violence",
		"hate", "illegal", "copyright", "other" };
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CHECK_STR(explore_reasons[i], want[i]);
	CHECK(explore_reasons[i] == NULL);
}

int
main(void)
{
	RUN(words_split_at_spaces_and_tabs);
	RUN(wildcards_are_escaped);
	RUN(words_beyond_the_cap_are_dropped);
	RUN(reasons_match_the_enum);
	return tap_done();
}
