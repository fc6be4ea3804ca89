/* test_csv.c - the RFC 4180 parser: quotes, doubled quotes, CRLF, line
 * breaks inside quotes, the byte order mark, blank lines, and each
 * refusal naming its row; the limits. */
#include "csv.h"
#include "tap.h"

#include <string.h>

static const struct csv_limits lim = { 4096, 10, 8, 64 };

/* Parses text; 1 when it gives the rows of want: fields split by '|',
 * rows by '\n' (no field here holds either). */
static int
parses_as(const char *text, const char *want)
{
	struct csv c;
	char err[128], got[1024] = "";
	size_t i, k;
	int ok;

	if (csv_parse(text, strlen(text), &lim, &c, err, sizeof(err)) != 0) {
		printf("# %s\n", err);
		csv_free(&c);
		return 0;
	}
	for (i = 0; i < c.n; i++) {
		for (k = 0; k < c.row[i].n; k++) {
			strcat(got, c.row[i].field[k]);
			if (k + 1 < c.row[i].n)
				strcat(got, "|");
		}
		strcat(got, "\n");
	}
	ok = strcmp(got, want) == 0;
	if (!ok)
		printf("# got:\n%s# want:\n%s", got, want);
	csv_free(&c);
	return ok;
}

/* The message of a refused text, or "" when it parsed. */
static const char *
refusal(const char *text, size_t len, const struct csv_limits *l)
{
	static char err[256];
	struct csv c;

	err[0] = '\0';
	if (csv_parse(text, len, l, &c, err, sizeof(err)) == 0)
		err[0] = '\0';
	csv_free(&c);
	return err;
}

static void
plain_rows_and_fields(void)
{
	CHECK(parses_as("prompt,seed\na fox,1\nan owl,2\n",
	    "prompt|seed\na fox|1\nan owl|2\n"));
	/* No final line break; an empty last field. */
	CHECK(parses_as("a,b\n1,", "a|b\n1|\n"));
}

static void
quotes_commas_and_doubled_quotes(void)
{
	CHECK(parses_as("p\n\"a, b\"\n\"say \"\"hi\"\"\"\n\"\"\n",
	    "p\na, b\nsay \"hi\"\n\n"));
}

static void
crlf_and_line_breaks_inside_quotes(void)
{
	struct csv c;
	char err[128];
	const char *t = "p,n\r\n\"two\r\nlines\",x\r\nlast,y\r\n";

	CHECK(csv_parse(t, strlen(t), &lim, &c, err, sizeof(err)) == 0);
	CHECK(c.n == 3);
	if (c.n == 3) {
		CHECK_STR(c.row[1].field[0], "two\r\nlines");
		/* Rows are records: the quoted break does not start one,
		 * and the numbers count records, from 1. */
		CHECK(c.row[1].row == 2 && c.row[2].row == 3);
		CHECK_STR(c.row[2].field[0], "last");
	}
	csv_free(&c);
}

static void
byte_order_mark_and_blank_lines(void)
{
	struct csv c;
	char err[128];
	const char *t = "\xef\xbb\xbfprompt\n\na\n\n";

	CHECK(csv_parse(t, strlen(t), &lim, &c, err, sizeof(err)) == 0);
	CHECK(c.n == 2);
	if (c.n == 2) {
		CHECK_STR(c.row[0].field[0], "prompt");
		/* The skipped blank line still counts: row 3. */
		CHECK(c.row[1].row == 3);
	}
	csv_free(&c);
}

static void
refusals_name_the_row(void)
{
	CHECK(strstr(refusal("a\n\"open", 7, &lim), "row 2: a quoted field "
	    "is not closed") != NULL);
	CHECK(strstr(refusal("a\n\"x\"y\n", 7, &lim), "row 2: text after a "
	    "closing quote") != NULL);
	CHECK(strstr(refusal("a\nb\nx\"y\n", 8, &lim), "row 3: a quote "
	    "inside a field") != NULL);
	CHECK(strstr(refusal("a\n\0\n", 4, &lim), "row 2: a NUL byte") !=
	    NULL);
}

static void
limits_are_kept(void)
{
	static const struct csv_limits small = { 32, 3, 3, 5 };

	CHECK(strstr(refusal("a\nb\nc\nd\n", 8, &small), "more than 3 rows")
	    != NULL);
	CHECK(strstr(refusal("a,b,c,d\n", 8, &small), "row 1: more than 3 "
	    "fields") != NULL);
	CHECK(strstr(refusal("abcdef\n", 7, &small), "row 1: a field longer "
	    "than 5") != NULL);
	CHECK(strstr(refusal("0123456789012345678901234567890123", 34,
	    &small), "larger than 32 bytes") != NULL);
	CHECK(*refusal("a,b,c\nd\ne\n", 10, &small) == '\0');
}

int
main(void)
{
	RUN(plain_rows_and_fields);
	RUN(quotes_commas_and_doubled_quotes);
	RUN(crlf_and_line_breaks_inside_quotes);
	RUN(byte_order_mark_and_blank_lines);
	RUN(refusals_name_the_row);
	RUN(limits_are_kept);
	return tap_done();
}
