/* tap.h - a minimal TAP producer for the C unit tests: one "ok"/"not ok"
 * line per test function, every failed check reported with file:line. */
#ifndef KILN_TAP_H
#define KILN_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_count;
static int tap_failed_checks;

#define CHECK(cond) do { \
	if (!(cond)) { \
		tap_failed_checks++; \
		printf("# %s:%d: check failed: %s\n", __FILE__, __LINE__, \
			#cond); \
	} \
} while (0)

#define CHECK_STR(got, want) do { \
	const char *g_ = (got), *w_ = (want); \
	if (g_ == NULL || w_ == NULL ? g_ != w_ : strcmp(g_, w_) != 0) { \
		tap_failed_checks++; \
		printf("# %s:%d: %s is \"%s\", want \"%s\"\n", __FILE__, \
			__LINE__, #got, g_ ? g_ : "(null)", \
			w_ ? w_ : "(null)"); \
	} \
} while (0)

#define RUN(fn) do { \
	int before_ = tap_failed_checks; \
	fn(); \
	tap_count++; \
	printf("%s %d - %s\n", tap_failed_checks == before_ ? "ok" \
		: "not ok", tap_count, #fn); \
} while (0)

/* Writes text to dir/name (a check fails when it cannot): the fixture
 * files of tests that read a directory. */
static inline void
tap_put_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	CHECK(fputs(text, f) >= 0);
	CHECK(fclose(f) == 0);
}

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed_checks ? 1 : 0;
}

#endif
