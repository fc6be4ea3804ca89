/* fuzz_image_ref.c - libFuzzer harness for job_image_ref_parse, the
 * "JOBID-IDX" of /generate?init= and the form's init_from: besides never
 * reading past the input, a reference it takes is digits, one '-',
 * digits, within the bounds it documents, and reads back the same when
 * written out again (leading zeros aside). */
#include "fuzz.h"
#include "submit.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), again[64];
	long job = -7, idx = -7, job2, idx2;
	size_t i, dashes = 0, len;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (job_image_ref_parse(s, &job, &idx) == 0) {
		/* A C string: what comes before the first NUL. */
		len = strlen(s);
		CHECK(len <= size);
		for (i = 0; i < len; i++) {
			CHECK((s[i] >= '0' && s[i] <= '9') || s[i] == '-');
			dashes += s[i] == '-';
		}
		CHECK(dashes == 1);
		CHECK(job >= 1 && job <= (1L << 62));
		CHECK(idx >= 0 && idx < BATCH_MAX);
		snprintf(again, sizeof(again), "%ld-%ld", job, idx);
		CHECK(job_image_ref_parse(again, &job2, &idx2) == 0);
		CHECK(job2 == job && idx2 == idx);
	}
	CHECK(job_image_ref_parse(NULL, &job2, &idx2) == -1);
	free(s);
	return 0;
}
