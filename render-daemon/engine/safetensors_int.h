/* safetensors_int.h - what the parts of the safetensors loader share:
 * the file structure, the dtype table, message helpers and the header
 * parser. Other engine code uses safetensors.h. */
#ifndef KILN_SAFETENSORS_INT_H
#define KILN_SAFETENSORS_INT_H

#include "safetensors.h"

#include <stddef.h>

struct st_meta {
	char *key;
	char *value;
};

struct st_file {
	char *name;
	void *map;			/* our mapping, or NULL (borrowed) */
	size_t maplen;
	const unsigned char *data;	/* the byte after the header */
	size_t datalen;
	struct st_tensor *t;		/* sorted by name */
	size_t n;
	struct st_meta *meta;
	size_t nmeta;
};

/* Each dtype's name as the format spells it and its size. */
struct st_dtype_info {
	const char *name;
	unsigned bits;			/* per element */
};

extern const struct st_dtype_info st_dtypes[ST_DTYPE__MAX];

/* Formats a message into err; one that does not fit ends in "..." so a
 * reader knows it was cut. err may be NULL. */
void st_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Copies a name from the file into buf for a message: control bytes and
 * quotes escaped (a name must not forge log lines), long names cut with
 * "...". Returns buf. */
const char *st_qname(char *buf, size_t n, const char *s);

/* Room for st_qname and st_shape_text in messages. */
#define ST_QNAME_MAX 256
#define ST_SHAPE_MAX (ST_MAX_DIMS * 24 + 4)

/* Parses a whole file held in buf (len bytes; buf may not be NULL): the
 * 8-byte header length, the header, every check st_open documents.
 * Returns the file, which borrows buf (map is NULL), or NULL with a
 * message in err. */
struct st_file *st_parse_file(const unsigned char *buf, size_t len,
    const char *name, char *err, size_t errlen);

#endif
