/* fuzz_csv.c - libFuzzer harness for the CSV parser (csv.h): the input
 * is the text, parsed with batch-like limits and with small ones taken
 * from its first byte. Besides never crashing or leaking: a success
 * keeps every limit, gives strlen-safe fields and rising row numbers,
 * and survives a round trip (every field written back quoted, quotes
 * doubled, CRLF) unchanged; a failure leaves nothing behind. */
#include "csv.h"
#include "fuzz.h"
#include "util.h"

#include <string.h>

/* rows written back as RFC 4180 text (every field quoted). */
static char *
write_back(const struct csv *c, size_t *len)
{
	struct buf b = { 0 };
	size_t i, k;
	const char *p;

	for (i = 0; i < c->n; i++) {
		for (k = 0; k < c->row[i].n; k++) {
			CHECK(buf_puts(&b, k ? ",\"" : "\"") == 0);
			for (p = c->row[i].field[k]; *p; p++)
				CHECK(buf_puts(&b, *p == '"' ? "\"\"" :
				    (char[2]){ *p, 0 }) == 0);
			CHECK(buf_puts(&b, "\"") == 0);
		}
		CHECK(buf_puts(&b, "\r\n") == 0);
	}
	*len = b.len;
	return b.data;
}

static void
one(const uint8_t *data, size_t size, const struct csv_limits *lim)
{
	struct csv c, again;
	char err[256], *text;
	size_t i, k, len = 0;
	long last = 0;
	struct csv_limits wide = { (size_t)1 << 30, 1u << 20, 1u << 20,
		(size_t)1 << 30 };

	if (csv_parse((const char *)data, size, lim, &c, err,
	    sizeof(err)) != 0) {
		CHECK(c.row == NULL || c.n == 0);
		CHECK(err[0] != '\0');
		csv_free(&c);
		return;
	}
	CHECK(c.n <= lim->max_rows);
	for (i = 0; i < c.n; i++) {
		CHECK(c.row[i].n >= 1 && c.row[i].n <= lim->max_fields);
		CHECK(c.row[i].row > last);
		last = c.row[i].row;
		for (k = 0; k < c.row[i].n; k++)
			CHECK(strlen(c.row[i].field[k]) <= lim->max_field);
	}
	text = write_back(&c, &len);
	CHECK(csv_parse(text ? text : "", len, &wide, &again, err,
	    sizeof(err)) == 0);
	CHECK(again.n == c.n);
	for (i = 0; i < c.n && i < again.n; i++) {
		CHECK(again.row[i].n == c.row[i].n);
		for (k = 0; k < c.row[i].n && k < again.row[i].n; k++)
			CHECK(!strcmp(again.row[i].field[k],
			    c.row[i].field[k]));
	}
	free(text);
	csv_free(&again);
	csv_free(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct csv_limits batch = { 512 * 1024, 101, 32, 8192 };
	struct csv_limits small;

	one(data, size, &batch);
	if (size > 0) {
		small.max_bytes = 64 + data[0];
		small.max_rows = 1 + data[0] % 5;
		small.max_fields = 1 + data[0] % 7;
		small.max_field = data[0] % 11;
		one(data, size, &small);
	}
	return 0;
}
