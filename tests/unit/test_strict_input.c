/* test_strict_input.c - the one strict rule for numbers a user sends,
 * text faults told apart, form and query faults naming their field. */
#include "accounts.h"
#include "request.h"
#include "tap.h"
#include "util.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static void
integers_are_plain_decimal(void)
{
	static const char *const junk[] = { "6.4e1", "0x10", "+16", " 16",
		"16 ", "1e3", "16.0", "-", "", "0b1", "١٦" };
	long v = 0;
	size_t i;

	for (i = 0; i < ARRAY_LEN(junk); i++)
		CHECK(parse_long(junk[i], 0, 4294967295L, &v) == -1);
	CHECK(parse_long("0016", 0, 100, &v) == 0 && v == 16);
	CHECK(parse_long("4294967295", 0, 4294967295L, &v) == 0 &&
		v == 4294967295L);
	/* A minus only where negative values exist. */
	CHECK(parse_long("-0", 0, 100, &v) == -1);
	CHECK(parse_long("-5", 0, 100, &v) == -1);
	CHECK(parse_long("-5", -10, 10, &v) == 0 && v == -5);
	CHECK(parse_long("--5", -10, 10, &v) == -1);
}

static void
decimals_are_plain_decimal(void)
{
	static const char *const junk[] = { "7e0", "0x7", "inf", "nan", "7.",
		".5", "+7", " 7", "7 ", "7,5", "1e-1", "-7", "" };
	double d = 0;
	size_t i;

	for (i = 0; i < ARRAY_LEN(junk); i++)
		CHECK(parse_decimal(junk[i], 0, 30, &d) == -1);
	CHECK(parse_decimal("7", 0, 30, &d) == 0 && d == 7.0);
	CHECK(parse_decimal("7.25", 0, 30, &d) == 0 && d == 7.25);
	CHECK(parse_decimal("30.5", 0, 30, &d) == -1);
	CHECK(parse_decimal("-1.5", -2, 2, &d) == 0 && d == -1.5);
	CHECK(parse_decimal(NULL, 0, 30, &d) == -1);
}

static void
text_faults_are_told_apart(void)
{
	CHECK(text_check("a red\tcircle\r\non white", 100, 1) == TEXT_OK);
	CHECK(text_check("a red\tcircle", 100, 0) == TEXT_CONTROL);
	CHECK(text_check("bell\a", 100, 1) == TEXT_CONTROL);
	CHECK(text_check("esc\x1b[31m", 100, 1) == TEXT_CONTROL);
	CHECK(text_check("del\x7f", 100, 1) == TEXT_CONTROL);
	CHECK(text_check("c1 \xc2\x85", 100, 1) == TEXT_CONTROL);
	CHECK(text_check("bad \xff", 100, 1) == TEXT_BAD_UTF8);
	CHECK(text_check("overlong \xc0\xaf", 100, 1) == TEXT_BAD_UTF8);
	CHECK(text_check("caf\xc3\xa9", 100, 1) == TEXT_OK);
	CHECK(text_check("abcdef", 5, 1) == TEXT_TOO_LONG);
	CHECK(text_valid("caf\xc3\xa9", 10) == 1);
	CHECK(text_valid("a\nb", 10) == 0);
}

int
main(void)
{
	RUN(integers_are_plain_decimal);
	RUN(decimals_are_plain_decimal);
	RUN(text_faults_are_told_apart);
	return tap_done();
}
