/* fuzz_keyexpiry.c - libFuzzer harness for an API key's expiry date as a
 * user types it (key_expiry_parse). Besides never crashing: a date taken
 * is 10 or 20 bytes, reads back the same through gmtime (so no impossible
 * date such as 02-30 is rounded into another), is after the "now" given
 * and is refused (-2) with now at that moment. */
#include "fuzz.h"
#include "accounts.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), back[32];
	long long t = -1, t2 = -1;
	struct tm tm;
	time_t tt;
	int rc;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	rc = key_expiry_parse(s, 0, &t);
	CHECK(rc == 0 || rc == -1 || rc == -2);
	if (rc == 0) {
		size_t len = strlen(s);

		CHECK(len == 10 || len == 20);
		CHECK(t > 0);
		tt = (time_t)t;
		CHECK(gmtime_r(&tt, &tm) != NULL);
		strftime(back, sizeof(back), len == 10 ? "%Y-%m-%d" :
		    "%Y-%m-%dT%H:%M:%SZ", &tm);
		CHECK(strncasecmp(back, s, len) == 0);
		CHECK(key_expiry_parse(s, t, &t2) == -2 && t2 == -1);
		CHECK(key_expiry_parse(s, t - 1, &t2) == 0 && t2 == t);
	} else {
		CHECK(t == -1);
	}
	free(s);
	return 0;
}
