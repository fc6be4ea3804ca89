/* fuzz_stheader.c - libFuzzer harness: any bytes given to the web side's
 * safetensors header reader either parse into tensors that tile the data
 * exactly or fail with a message naming the file, never crash, read out
 * of bounds or leak; a parsed header then classifies as a checkpoint,
 * LoRA or embedding without crashing, again with a message when it is
 * not one. */
#include "extras.h"
#include "fuzz.h"
#include "models.h"
#include "stheader.h"

#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sth_file *f = NULL;
	struct extra_info x;
	char err[512] = "";
	uint64_t sum = 0;
	size_t i;
	int k;

	if (sth_parse(data, size, "f.safetensors", &f, err, sizeof(err)) != 0) {
		CHECK(f == NULL);
		CHECK(strncmp(err, "f.safetensors", 13) == 0);
		return 0;
	}
	CHECK(8 + f->header_len + f->data_len == size);
	for (i = 0; i < f->n; i++) {
		CHECK(f->t[i].begin <= f->t[i].end &&
		    f->t[i].end <= f->data_len);
		CHECK(sth_find(f, f->t[i].name) != NULL);
		sum += f->t[i].end - f->t[i].begin;
	}
	CHECK(sum == f->data_len);	/* they tile the data */
	for (i = 0; i < f->nmeta; i++)
		CHECK(sth_meta(f, f->meta[i].key) != NULL);
	(void)sd_family_name(checkpoint_family(f));
	for (k = 0; k < 3; k++) {
		static const enum extra_kind kinds[] = { EXTRA_LORA,
			EXTRA_EMBEDDING, EXTRA_UPSCALER };

		memset(&x, 0, sizeof(x));
		err[0] = '\0';
		if (extra_classify(f, kinds[k], "f.safetensors", &x, err,
		    sizeof(err)) != 0)
			CHECK(strstr(err, "f.safetensors") != NULL);
		else if (kinds[k] == EXTRA_EMBEDDING)
			CHECK(x.vectors > 0 && x.width > 0);
		else if (kinds[k] == EXTRA_LORA)
			CHECK(x.modules > 0 && x.format != NULL);
		else
			CHECK(x.arch != NULL && x.scale >= 1 && x.scale <= 8);
		free(x.sshs_hash);
	}
	sth_free(f);
	return 0;
}
