/* fuzz_s3_list.c - libFuzzer harness for the ListObjectsV2 parser
 * (s3.h: s3_list_parse), which reads what an S3-compatible server sends
 * back. Besides never crashing or leaking: every key handed to the
 * callback is a NUL-terminated string without control bytes, a
 * continuation token comes only with success, and a callback that stops
 * at the first key stops the parse with its own value. */
#include "fuzz.h"
#include "s3.h"

#include <string.h>

static int
on_key(void *arg, const char *key, unsigned long long size)
{
	int *n = arg;
	const char *p;

	(void)size;
	CHECK(key != NULL && *key != '\0');
	for (p = key; *p; p++)
		CHECK((unsigned char)*p >= 0x20);
	(*n)++;
	return 0;
}

static int
stop_first(void *arg, const char *key, unsigned long long size)
{
	(void)arg;
	(void)key;
	(void)size;
	return 42;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], *next = NULL;
	int n = 0, rc, rc2;

	rc = s3_list_parse((const char *)data, size, on_key, &n, &next, err,
	    sizeof(err));
	CHECK(rc == 0 || rc == -1);
	if (rc != 0)
		CHECK(next == NULL && strlen(err) < sizeof(err));
	free(next);
	next = NULL;
	rc2 = s3_list_parse((const char *)data, size, stop_first, NULL, &next,
	    err, sizeof(err));
	/* The first key reached stops it, with fn's value. */
	if (n > 0)
		CHECK(rc2 == 42);
	free(next);
	return 0;
}
