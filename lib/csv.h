/* csv.h - CSV text (RFC 4180) into rows of fields: quoted fields with
 * commas, line breaks and doubled quotes; CRLF or LF line ends; a UTF-8
 * byte order mark; within declared limits, so a hostile file costs at
 * most what the limits allow. */
#ifndef KILN_CSV_H
#define KILN_CSV_H

#include <stddef.h>

struct csv_limits {
	size_t max_bytes;	/* the whole text */
	size_t max_rows;	/* records, the header included */
	size_t max_fields;	/* fields in one record */
	size_t max_field;	/* bytes of one field */
};

struct csv_row {
	char **field;		/* NUL-terminated, owned */
	size_t n;
	long row;		/* its number in the file, from 1 */
};

struct csv {
	struct csv_row *row;
	size_t n;
};

/* Parses len bytes of text into out (free with csv_free; a failure
 * leaves it empty). A record that is one empty line is skipped (a trailing
 * blank line is common), but its number still counts. Returns 0, or -1
 * with a message naming the row in err: a quote left open, text after a
 * closing quote, a quote inside an unquoted field, a NUL byte, a limit
 * passed. */
int csv_parse(const char *text, size_t len, const struct csv_limits *lim,
	struct csv *out, char *err, size_t errlen);

void csv_free(struct csv *c);

#endif
