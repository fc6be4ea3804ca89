/* fuzz_safetensors.c - libFuzzer harness: any bytes given to the
 * safetensors loader either open, list and convert cleanly or fail with a
 * message, never crash, read out of bounds or leak. */
#include "safetensors.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Converts t both ways; a tensor of F32/F16/BF16 must convert to F32. */
static void
convert(const struct st_tensor *t)
{
	char err[256] = "";
	float *f32;
	uint16_t *f16;
	size_t n = t->nelems;
	int isfloat = t->dtype == ST_F32 || t->dtype == ST_F16 ||
	    t->dtype == ST_BF16;

	/* nelems is bounded by the input: nbytes <= size and no float
	 * dtype is narrower than a byte, so these allocations are small. */
	if (!isfloat && n > (1u << 24))
		n = 0;
	f32 = malloc((n + 1) * sizeof(*f32));
	f16 = malloc((n + 1) * sizeof(*f16));
	if (f32 == NULL || f16 == NULL)
		__builtin_trap();
	if (st_to_f32(t, f32, n, err, sizeof(err)) == -1) {
		if (isfloat || strlen(err) == 0)
			__builtin_trap();
	}
	err[0] = '\0';
	if (st_to_f16(t, f16, n, err, sizeof(err)) == -1 && strlen(err) == 0)
		__builtin_trap();
	/* a wrong count is refused, never overrun */
	if (st_to_f32(t, f32, n + 1, err, sizeof(err)) == 0)
		__builtin_trap();
	free(f32);
	free(f16);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_file *f;
	const struct st_tensor *t;
	char err[512] = "";
	size_t i, sum = 0;

	f = st_open_mem(data, size, "fuzz.safetensors", err, sizeof(err));
	if (f == NULL) {
		if (strlen(err) == 0)
			__builtin_trap();	/* every failure says why */
		return 0;
	}
	for (i = 0; i < st_count(f); i++) {
		t = st_get(f, i);
		if (st_find(f, t->name) != t)
			__builtin_trap();
		if ((const uint8_t *)t->data < data ||
		    (const uint8_t *)t->data + t->nbytes > data + size)
			__builtin_trap();
		sum += t->nbytes;
		convert(t);
	}
	if (st_get(f, st_count(f)) != NULL || sum > size)
		__builtin_trap();
	(void)st_metadata(f, "format");
	st_close(f);
	return 0;
}
