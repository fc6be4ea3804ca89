/* stheader.h - what a .safetensors file holds, read from its header
 * alone: tensor names, dtypes, shapes and offsets and the __metadata__
 * strings, each checked strictly (the offsets must tile the data that
 * follows, so a truncated file is caught without reading it). The web
 * programs classify checkpoints, LoRAs and embeddings with it; they never
 * link the engine and never read tensor data. */
#ifndef KILN_STHEADER_H
#define KILN_STHEADER_H

#include <stddef.h>
#include <stdint.h>

#define STH_MAX_DIMS 8
/* safetensors' own limit on the header: 100 MB. */
#define STH_HEADER_MAX (100u * 1000 * 1000)

struct sth_tensor {
	char *name;
	char dtype[8];			/* "F32", "F16", "BF16", ... */
	int ndim;
	uint64_t shape[STH_MAX_DIMS];
	uint64_t begin, end;		/* byte offsets in the data area */
};

struct sth_meta {
	char *key, *value;
};

struct sth_file {
	struct sth_tensor *t;		/* in the header's order */
	size_t n;
	struct sth_meta *meta;		/* __metadata__, in its order */
	size_t nmeta;
	uint64_t header_len;		/* data starts at 8 + header_len */
	uint64_t data_len;
};

/* Reads and checks the header of the file at path; name (the file's
 * name as users know it, e.g. "x.safetensors") starts every message.
 * Returns 0 with *out (free with sth_free), or -1 with a message in err:
 * unreadable, too short, a header that is not a JSON object of valid
 * entries, offsets that do not tile the data, a truncated file. */
int sth_read(const char *path, const char *name, struct sth_file **out,
	char *err, size_t errlen);

/* The same over a whole file already in memory (size bytes). */
int sth_parse(const void *data, size_t size, const char *name,
	struct sth_file **out, char *err, size_t errlen);

void sth_free(struct sth_file *f);

/* The tensor called name, or NULL. */
const struct sth_tensor *sth_find(const struct sth_file *f,
	const char *name);

/* The __metadata__ value of key, or NULL. */
const char *sth_meta(const struct sth_file *f, const char *key);

/* 1 when the tensor's dtype is F32, F16 or BF16. */
int sth_is_float(const struct sth_tensor *t);

#endif
