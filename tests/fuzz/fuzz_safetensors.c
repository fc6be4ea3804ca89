/* fuzz_safetensors.c - libFuzzer harness: any bytes given to the
 * safetensors loader either open, list and convert cleanly or fail with a
 * message, never crash, read out of bounds or leak; the same bytes as a
 * single-file model get a canonical name index (names.c) whose entries all
 * lie inside their tensors, or a message. */
#include "fuzz.h"
#include "names.h"
#include "safetensors.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
	CHECK(f32 != NULL && f16 != NULL);
	if (st_to_f32(t, f32, n, err, sizeof(err)) == -1)
		CHECK(!isfloat && strlen(err) > 0);
	err[0] = '\0';
	if (st_to_f16(t, f16, n, err, sizeof(err)) == -1)
		CHECK(strlen(err) > 0);	/* every failure says why */
	/* a wrong count is refused, never overrun */
	CHECK(st_to_f32(t, f32, n + 1, err, sizeof(err)) != 0);
	free(f32);
	free(f16);
}

/* Every scheme's conversion over every name of f: results in range, row
 * ranges inside the tensor, failures with a message. */
static void
convert_names(const struct st_file *f)
{
	static const enum nm_scheme schemes[] = {
		NM_DIFFUSERS, NM_LDM_UNET, NM_LDM_VAE, NM_OPENCLIP,
	};
	const struct st_tensor *t;
	struct nm_params p;
	struct nm_out o[NM_MAX_OUT];
	char err[256];
	size_t s, i;
	int k, j;

	for (s = 0; s < sizeof(schemes) / sizeof(schemes[0]); s++) {
		nm_init(&p, schemes[s]);
		for (i = 0; i < st_count(f); i++)
			nm_scan(&p, st_get(f, i)->name);
		nm_finish(&p);
		CHECK(p.layers_per_block >= 0 && p.vae_levels >= 0);
		for (i = 0; i < st_count(f); i++) {
			t = st_get(f, i);
			err[0] = '\0';
			k = nm_convert(&p, t->name, t->ndim, t->shape, o, err,
			    sizeof(err));
			CHECK(k >= -1 && k <= NM_MAX_OUT);
			if (k == -1)
				CHECK(strlen(err) > 0);
			for (j = 0; j < k; j++) {
				CHECK(memchr(o[j].name, '\0', NM_NAME_MAX) !=
				    NULL && o[j].name[0] != '\0');
				CHECK(o[j].rows >= 0 && o[j].row0 >= 0);
				if (o[j].rows > 0)
					CHECK(t->ndim >= 1 && o[j].row0 +
					    o[j].rows <= t->shape[0]);
				if (o[j].transposed)
					CHECK(t->ndim == 2);
			}
		}
	}
}

/* The bytes as a single-file checkpoint: each part's index is sorted,
 * finds its own entries, and each entry's shape is what its rows and
 * transpose make of its tensor. */
static void
index_model(const uint8_t *data, size_t size)
{
	const struct st_entry *e, *prev;
	struct st_model *m;
	char err[512] = "";
	size_t i, nel;
	int p, k;

	m = st_model_open_mem(data, size, "fuzz.safetensors", err,
	    sizeof(err));
	if (m == NULL) {
		CHECK(strlen(err) > 0);
		return;
	}
	for (p = 0; p < ST_PART__MAX; p++) {
		prev = NULL;
		for (i = 0; i < st_model_count(m, p); i++) {
			e = st_model_entry(m, p, i);
			CHECK(e != NULL && e->t != NULL);
			CHECK(prev == NULL || strcmp(prev->name, e->name) < 0);
			CHECK(st_model_find(m, p, e->name) == e);
			CHECK((const uint8_t *)e->t->data >= data &&
			    (const uint8_t *)e->t->data + e->t->nbytes <=
			    data + size);
			CHECK(e->ndim == e->t->ndim);
			if (e->rows > 0)
				CHECK(e->row0 >= 0 && e->row0 + e->rows <=
				    e->t->shape[0] && e->shape[0] == e->rows);
			if (e->transposed)
				CHECK(e->ndim == 2 &&
				    e->shape[0] == e->t->shape[1] &&
				    e->shape[1] == e->t->shape[0]);
			for (nel = 1, k = 0; k < e->ndim; k++)
				nel *= (size_t)e->shape[k];
			CHECK(nel == e->nelems);
			prev = e;
		}
		CHECK(st_model_entry(m, p, i) == NULL);
	}
	(void)st_family_name(st_model_family(m));
	st_model_close(m);
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
		CHECK(strlen(err) > 0);	/* every failure says why */
		return 0;
	}
	for (i = 0; i < st_count(f); i++) {
		t = st_get(f, i);
		CHECK(st_find(f, t->name) == t);
		CHECK((const uint8_t *)t->data >= data &&
		    (const uint8_t *)t->data + t->nbytes <= data + size);
		sum += t->nbytes;
		convert(t);
	}
	CHECK(st_get(f, st_count(f)) == NULL && sum <= size);
	(void)st_metadata(f, "format");
	convert_names(f);
	st_close(f);
	index_model(data, size);
	return 0;
}
