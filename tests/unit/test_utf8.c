/* test_utf8.c - the shared UTF-8 decoder: valid characters, the maximal
 * subpart of invalid ones, decoding backwards, encoding. */
#include "tap.h"
#include "utf8.h"

#include <stdint.h>

/* Decodes s[0..n) from the front; the lengths and code points. */
static int
decodes_as(const char *s, size_t n, const size_t *lens, const uint32_t *cps,
    size_t count)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k = 0, l;
	uint32_t cp;

	while (i < n) {
		l = utf8_next(p + i, n - i, &cp);
		if (k >= count || l != lens[k] || cp != cps[k])
			return 0;
		i += l;
		k++;
	}
	return k == count;
}

static void
valid_characters_decode(void)
{
	static const size_t lens[] = { 1, 2, 3, 4, 3 };
	static const uint32_t cps[] = { 'a', 0xe9, 0x20ac, 0x1f600, 0xfffd };

	CHECK(decodes_as("a\303\251\342\202\254\360\237\230\200\357\277\275",
	    13, lens, cps, 5));
}

static void
invalid_bytes_take_their_maximal_subpart(void)
{
	/* As Python's errors="replace": a truncated sequence is one error,
	 * a byte that cannot continue it starts the next character. */
	static const size_t l1[] = { 2, 1 };
	static const uint32_t c1[] = { UTF8_INVALID, 'a' };
	static const size_t l2[] = { 1, 1, 1 };
	static const uint32_t c2[] = { UTF8_INVALID, UTF8_INVALID, 'x' };
	static const size_t l3[] = { 1, 1, 1, 1 };
	static const uint32_t c3[] = { UTF8_INVALID, UTF8_INVALID,
	    UTF8_INVALID, UTF8_INVALID };
	static const size_t l4[] = { 3 };
	static const uint32_t c4[] = { UTF8_INVALID };
	static const size_t l5[] = { 1, 1, 1 };
	static const uint32_t c5[] = { UTF8_INVALID, UTF8_INVALID,
	    UTF8_INVALID };

	CHECK(decodes_as("\342\202a", 3, l1, c1, 2));
	CHECK(decodes_as("\300\257x", 3, l2, c2, 3));	/* overlong */
	CHECK(decodes_as("\364\220\200\200", 4, l3, c3, 4)); /* > U+10FFFF */
	CHECK(decodes_as("\360\237\230", 3, l4, c4, 1));	/* truncated */
	CHECK(decodes_as("\355\240\200", 3, l5, c5, 3));	/* surrogate */
}

static void
decoding_backwards(void)
{
	const unsigned char *s =
	    (const unsigned char *)"a\303\251\360\237\230\200";
	uint32_t cp;

	CHECK(utf8_prev(s, 0, &cp) == 0);
	CHECK(utf8_prev(s, 1, &cp) == 1 && cp == 'a');
	CHECK(utf8_prev(s, 3, &cp) == 2 && cp == 0xe9);
	CHECK(utf8_prev(s, 7, &cp) == 4 && cp == 0x1f600);
	CHECK(utf8_prev(s, 2, &cp) == 0);	/* a lead byte ends it */
	CHECK(utf8_prev(s, 6, &cp) == 0);	/* part of a character */
	CHECK(utf8_prev(s + 4, 3, &cp) == 0);	/* its start is cut off */
}

static void
encoding_round_trips(void)
{
	static const uint32_t cps[] = { 0, 0x7f, 0x80, 0x7ff, 0x800, 0xffff,
	    0x10000, 0x10ffff };
	unsigned char out[4];
	size_t k, l;
	uint32_t cp;

	for (k = 0; k < sizeof(cps) / sizeof(cps[0]); k++) {
		l = utf8_put(cps[k], out);
		CHECK(utf8_next(out, l, &cp) == l && cp == cps[k]);
	}
}

int
main(void)
{
	RUN(valid_characters_decode);
	RUN(invalid_bytes_take_their_maximal_subpart);
	RUN(decoding_backwards);
	RUN(encoding_round_trips);
	return tap_done();
}
