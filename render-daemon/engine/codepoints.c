/* codepoints.c - UTF-8 text into arrays of code points. */
#include "codepoints.h"
#include "utf8.h"

/* Decodes one character from s (n > 0 bytes), storing it in *cp and
 * returning the bytes used. An invalid sequence yields U+FFFD for its
 * maximal subpart, as Python's errors="replace" does. */
static size_t
decode_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t l = utf8_next(s, n, cp);

	if (*cp == UTF8_INVALID)
		*cp = 0xfffd;
	return l;
}

int
cp_decode_utf8(const char *text, size_t len, struct cpvec *out)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0;
	uint32_t cp;

	out->n = 0;
	if (cp_reserve(out, len) != 0)
		return -1;
	while (i < len) {
		i += decode_next(s + i, len - i, &cp);
		out->v[out->n++] = cp;
	}
	return 0;
}

int
cp_append_utf8(struct cpvec *a, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	uint32_t cp;

	while (i < n) {
		i += decode_next(p + i, n - i, &cp);
		if (cp_push(a, cp) != 0)
			return -1;
	}
	return 0;
}
