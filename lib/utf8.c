/* utf8.c - strict UTF-8 decoding with maximal-subpart errors, encoding. */
#include "utf8.h"

size_t
utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned c = s[0], lo = 0x80, hi = 0xbf;
	size_t need, i;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c < 0xc2 || c > 0xf4) {
		*cp = UTF8_INVALID;
		return 1;
	}
	/* The second byte's range rules out overlong forms, surrogates
	 * and values past U+10FFFF, so the maximal subpart ends at the
	 * first byte out of range. */
	if (c < 0xe0) {
		need = 1;
		v = c & 0x1f;
	} else if (c < 0xf0) {
		need = 2;
		v = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else {
		need = 3;
		v = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	}
	if (n < 2 || s[1] < lo || s[1] > hi) {
		*cp = UTF8_INVALID;
		return 1;
	}
	v = (v << 6) | (s[1] & 0x3f);
	for (i = 2; i <= need; i++) {
		if (i >= n || (s[i] & 0xc0) != 0x80) {
			*cp = UTF8_INVALID;
			return i;
		}
		v = (v << 6) | (s[i] & 0x3f);
	}
	*cp = v;
	return need + 1;
}

size_t
utf8_prev(const unsigned char *s, size_t i, uint32_t *cp)
{
	size_t l;

	/* A valid character is self-delimiting: at most one start within
	 * four bytes decodes to exactly the bytes up to s[i]. */
	for (l = 1; l <= 4 && l <= i; l++) {
		if (utf8_next(s + i - l, l, cp) == l && *cp != UTF8_INVALID)
			return l;
		/* Before anything but a continuation byte, no start. */
		if (s[i - l] < 0x80 || s[i - l] >= 0xc0)
			break;
	}
	return 0;
}

size_t
utf8_put(uint32_t c, unsigned char *out)
{
	if (c < 0x80) {
		out[0] = (unsigned char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (unsigned char)(0xc0 | (c >> 6));
		out[1] = (unsigned char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (unsigned char)(0xe0 | (c >> 12));
		out[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
		out[2] = (unsigned char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | (c >> 18));
	out[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3f));
	out[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
	out[3] = (unsigned char)(0x80 | (c & 0x3f));
	return 4;
}
