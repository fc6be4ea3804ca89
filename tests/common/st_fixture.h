/* st_fixture.h - .safetensors files for the unit tests, written from a
 * list of tensors (name, dtype, shape) with zeroed data: checkpoints,
 * LoRAs and embeddings are told apart by their headers alone, so their
 * numbers do not matter. */
#ifndef KILN_ST_FIXTURE_H
#define KILN_ST_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct st_fix {
	const char *name, *dtype;
	int ndim;
	unsigned long long shape[4];
};

static inline unsigned
st_fix_bytes(const char *dtype)
{
	return !strcmp(dtype, "F32") || !strcmp(dtype, "I32") ? 4 :
		!strcmp(dtype, "F16") || !strcmp(dtype, "BF16") ? 2 :
		!strcmp(dtype, "I64") || !strcmp(dtype, "F64") ? 8 : 1;
}

/* The file's bytes (the caller frees them) in *len: the header of the n
 * tensors of t, laid out one after another, with metadata (a JSON
 * object's text, or NULL) as __metadata__, then zeroed data. */
static inline unsigned char *
st_fix_make(const struct st_fix *t, int n, const char *metadata,
	size_t *len)
{
	char hdr[65536];
	size_t h = 0, data = 0, off = 0;
	unsigned char *out;
	int i, d;

	h += (size_t)snprintf(hdr + h, sizeof(hdr) - h, "{");
	if (metadata != NULL)
		h += (size_t)snprintf(hdr + h, sizeof(hdr) - h,
			"\"__metadata__\": %s%s", metadata, n ? ", " : "");
	for (i = 0; i < n; i++) {
		size_t bytes = st_fix_bytes(t[i].dtype);

		for (d = 0; d < t[i].ndim; d++)
			bytes *= t[i].shape[d];
		h += (size_t)snprintf(hdr + h, sizeof(hdr) - h,
			"%s\"%s\": {\"dtype\": \"%s\", \"shape\": [", i ? ", " :
			"", t[i].name, t[i].dtype);
		for (d = 0; d < t[i].ndim; d++)
			h += (size_t)snprintf(hdr + h, sizeof(hdr) - h,
				"%s%llu", d ? ", " : "", t[i].shape[d]);
		h += (size_t)snprintf(hdr + h, sizeof(hdr) - h,
			"], \"data_offsets\": [%zu, %zu]}", off, off + bytes);
		off += bytes;
	}
	h += (size_t)snprintf(hdr + h, sizeof(hdr) - h, "}");
	while (h % 8 != 0)		/* padded with spaces, as writers do */
		hdr[h++] = ' ';
	data = off;
	out = calloc(1, 8 + h + data);
	if (out == NULL)
		abort();
	for (i = 0; i < 8; i++)
		out[i] = (unsigned char)((uint64_t)h >> (8 * i));
	memcpy(out + 8, hdr, h);
	*len = 8 + h + data;
	return out;
}

/* Writes st_fix_make's file to dir/name, cut short by cut bytes. Returns
 * 0, or -1. */
static inline int
st_fix_write(const char *dir, const char *name, const struct st_fix *t,
	int n, const char *metadata, size_t cut)
{
	char path[512];
	size_t len;
	unsigned char *b = st_fix_make(t, n, metadata, &len);
	FILE *f;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f != NULL) {
		rc = fwrite(b, 1, len - cut, f) == len - cut ? 0 : -1;
		if (fclose(f) != 0)
			rc = -1;
	}
	free(b);
	return rc;
}

#endif
