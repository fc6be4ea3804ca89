/* csv.c - RFC 4180 CSV into rows of fields (csv.h). One pass over the
 * bytes with a small state machine; every field is copied out, so the
 * rows outlive the text. */
#include "csv.h"
#include "i18n.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* The record being read. */
struct rec {
	char **field;
	size_t n, cap;
	struct buf cur;		/* the field being read */
	int quoted;		/* cur was quoted (an empty "" is a field) */
	int last_quoted;	/* the last field ended was */
};

static void
rec_clear(struct rec *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->field[i]);
	free(r->field);
	buf_free(&r->cur);
	memset(r, 0, sizeof(*r));
}

/* Ends the current field. Returns 0, or -1 past max_fields. */
static int
field_end(struct rec *r, const struct csv_limits *lim)
{
	if (r->n >= lim->max_fields)
		return -1;
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 8;
		r->field = xreallocarray(r->field, r->cap, sizeof(*r->field));
	}
	r->field[r->n++] = xstrndup(r->cur.data ? r->cur.data : "",
		r->cur.len);
	buf_reset(&r->cur);
	r->last_quoted = r->quoted;
	r->quoted = 0;
	return 0;
}

/* Appends c to the field being read (row: its number, for the message).
 * Returns 0, or -1 with why in err: past max_field, or out of memory. */
static int
put(struct rec *r, char c, long row, const struct csv_limits *lim,
	char *err, size_t errlen)
{
	if (r->cur.len >= lim->max_field)
		return errf(err, errlen, TR("row %ld: a field longer than %zu "
			"bytes"), row, lim->max_field);
	if (buf_append(&r->cur, &c, 1) != 0)
		return errf(err, errlen, "out of memory");
	return 0;
}

/* Ends the record numbered row into out, skipping a blank line.
 * Returns 0, or -1 past max_rows. */
static int
rec_end(struct rec *r, long row, const struct csv_limits *lim,
	struct csv *out)
{
	struct csv_row *cr;

	if (r->n == 1 && r->field[0][0] == '\0' && !r->last_quoted) {
		free(r->field[0]);
		r->n = 0;
		return 0;
	}
	if (out->n >= lim->max_rows)
		return -1;
	out->row = xreallocarray(out->row, out->n + 1, sizeof(*out->row));
	cr = &out->row[out->n++];
	cr->field = r->field;
	cr->n = r->n;
	cr->row = row;
	r->field = NULL;
	r->n = r->cap = 0;
	return 0;
}

int
csv_parse(const char *text, size_t len, const struct csv_limits *lim,
	struct csv *out, char *err, size_t errlen)
{
	enum { START, PLAIN, QUOTED, QUOTE_IN } st = START;
	struct rec r = { 0 };
	long row = 1;
	size_t i = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (len > lim->max_bytes) {
		errf(err, errlen, TR("the file is larger than %zu bytes"),
			lim->max_bytes);
		return -1;
	}
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		i = 3;
	for (; i < len; i++) {
		char c = text[i];

		if (c == '\0') {
			errf(err, errlen, TR("row %ld: a NUL byte: this is not "
				"a text file"), row);
			goto out;
		}
		if (st == QUOTED) {
			if (c == '"')
				st = QUOTE_IN;
			else if (put(&r, c, row, lim, err, errlen) != 0)
				goto out;
			continue;
		}
		if (st == QUOTE_IN) {
			if (c == '"') {		/* "" inside quotes */
				if (put(&r, c, row, lim, err, errlen) != 0)
					goto out;
				st = QUOTED;
				continue;
			}
			if (c != ',' && c != '\r' && c != '\n') {
				errf(err, errlen, TR("row %ld: text after a "
					"closing quote (a quote inside a quoted "
					"field is written twice: \"\")"), row);
				goto out;
			}
			st = PLAIN;	/* then handled as a separator */
		}
		if (c == ',' || c == '\n' || c == '\r') {
			if (field_end(&r, lim) != 0) {
				errf(err, errlen, TR("row %ld: more than %zu "
					"fields"), row, lim->max_fields);
				goto out;
			}
			st = START;
			if (c == ',')
				continue;
			if (c == '\r' && i + 1 < len && text[i + 1] == '\n')
				i++;
			if (rec_end(&r, row, lim, out) != 0) {
				errf(err, errlen, TR("more than %zu rows"),
					lim->max_rows);
				goto out;
			}
			row++;
			continue;
		}
		if (c == '"') {
			if (st != START) {
				errf(err, errlen, TR("row %ld: a quote inside a "
					"field that does not start with one "
					"(quote the whole field)"), row);
				goto out;
			}
			st = QUOTED;
			r.quoted = 1;
			continue;
		}
		st = PLAIN;
		if (put(&r, c, row, lim, err, errlen) != 0)
			goto out;
	}
	if (st == QUOTED) {
		errf(err, errlen, TR("row %ld: a quoted field is not closed"), row);
		goto out;
	}
	/* The last record, when the text does not end with a line break. */
	if (st != START || r.n > 0) {
		if (field_end(&r, lim) != 0) {
			errf(err, errlen, TR("row %ld: more than %zu fields"), row,
				lim->max_fields);
			goto out;
		}
		if (rec_end(&r, row, lim, out) != 0) {
			errf(err, errlen, TR("more than %zu rows"), lim->max_rows);
			goto out;
		}
	}
	rc = 0;
out:
	rec_clear(&r);
	if (rc != 0)
		csv_free(out);	/* a failure leaves no rows behind */
	return rc;
}

void
csv_free(struct csv *c)
{
	size_t i, k;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++) {
		for (k = 0; k < c->row[i].n; k++)
			free(c->row[i].field[k]);
		free(c->row[i].field);
	}
	free(c->row);
	memset(c, 0, sizeof(*c));
}
