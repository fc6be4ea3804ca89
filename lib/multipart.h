/* multipart.h - multipart/form-data bodies (RFC 7578): the parts of a
 * form that uploads files, parsed in place from a body already in memory
 * and bounded in every count (parts, header bytes, names), so a hostile
 * body costs at most its own size and a small array. */
#ifndef KILN_MULTIPART_H
#define KILN_MULTIPART_H

#include <stddef.h>
#include <stdint.h>

#define MP_MAX_PARTS 64		/* parts of one body */
#define MP_MAX_HEADER 4096	/* header bytes of one part */
#define MP_MAX_NAME 256		/* a field name or file name, bytes */

/* One part: a form field (filename NULL) or a file. The strings are
 * fresh copies; data points into the body given to multipart_parse. */
struct mp_part {
	char *name;
	char *filename;		/* NULL: a text field; "" for an empty
				 * file input, as browsers send it */
	char *ctype;		/* its Content-Type, or NULL */
	const uint8_t *data;
	size_t len;
};

/* The boundary of a Content-Type "multipart/form-data; boundary=..."
 * (quoted or not, 1-70 characters) into out (71 bytes). Returns 0, or
 * -1 when the type is not multipart/form-data or has no valid one. */
int multipart_boundary(const char *content_type, char *out);

/*
 * Splits body (len bytes) into its parts by boundary: each part's
 * Content-Disposition must be form-data with a name; at most
 * MP_MAX_PARTS parts, MP_MAX_HEADER header bytes each, names of at most
 * MP_MAX_NAME bytes without NUL or control characters; the closing
 * delimiter must be there (a cut body is refused). Returns 0 with *parts
 * (free with multipart_free) of *n, or -1 with why in msg (and *parts
 * NULL).
 */
int multipart_parse(const uint8_t *body, size_t len, const char *boundary,
	struct mp_part **parts, size_t *n, char *msg, size_t msglen);

void multipart_free(struct mp_part *parts, size_t n);

#endif
