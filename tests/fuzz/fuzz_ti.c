/* fuzz_ti.c - libFuzzer harness: any bytes given to the textual-inversion
 * embedding reader either make an embedding of 1 to 75 vectors whose
 * every float can be read, or fail with a message naming the file; never
 * a crash, an overrun or a leak. */
#include "fuzz.h"
#include "prompt.h"
#include "ti.h"

#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ti_embedding *e = NULL;
	char err[512] = "";
	volatile float sum = 0;
	size_t i;
	int k, rc;

	rc = ti_load_mem(data, size, "fuzz.safetensors", NULL, &e, err,
	    sizeof(err));
	if (rc != 0) {
		CHECK(e == NULL);
		CHECK(strstr(err, "fuzz.safetensors") != NULL);
		return 0;
	}
	CHECK(e != NULL && !strcmp(e->name, "fuzz") &&
	    !strcmp(e->file, "fuzz.safetensors"));
	CHECK(e->n >= 1 && e->n <= CLIP_TI_MAX_VECTORS);
	for (k = 0; k < TI__KEYS; k++) {
		int want = e->sdxl ? k != TI_VECTORS : k == TI_VECTORS;

		CHECK((e->width[k] > 0) == want && (e->vec[k] != NULL) == want);
		for (i = 0; want && i < (size_t)e->n * (size_t)e->width[k]; i++)
			sum += e->vec[k][i];
	}
	CHECK(e->sdxl || e->tensor != NULL);
	ti_free(e);
	(void)sum;
	return 0;
}
