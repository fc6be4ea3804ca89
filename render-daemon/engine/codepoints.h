/* codepoints.h - growable arrays of Unicode code points, the text the
 * tokenizer's cleaning steps (HTML unescaping, ftfy, lower-casing) work
 * on. Internal to the tokenizer. */
#ifndef KILN_CODEPOINTS_H
#define KILN_CODEPOINTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A growable array of code points. Zero-initialise one ({ 0 }) before
 * use; free(v) when done. The functions returning int return 0, or -1
 * when memory runs out (the array unchanged). */
struct cpvec {
	uint32_t *v;
	size_t n, cap;
};

/* Inline: the cleaning steps call these once per character. */
static inline int
cp_reserve(struct cpvec *a, size_t extra)
{
	size_t ncap;
	uint32_t *p;

	if (extra > SIZE_MAX / 8 - a->n)
		return -1;
	if (a->n + extra <= a->cap)
		return 0;
	ncap = a->cap ? a->cap : 64;
	while (ncap < a->n + extra)
		ncap *= 2;
	p = realloc(a->v, ncap * sizeof(*p));
	if (p == NULL)
		return -1;
	a->v = p;
	a->cap = ncap;
	return 0;
}

static inline int
cp_push(struct cpvec *a, uint32_t c)
{
	if (cp_reserve(a, 1) != 0)
		return -1;
	a->v[a->n++] = c;
	return 0;
}

static inline int
cp_append(struct cpvec *a, const uint32_t *s, size_t n)
{
	if (cp_reserve(a, n) != 0)
		return -1;
	if (n > 0)
		memcpy(a->v + a->n, s, n * sizeof(*s));
	a->n += n;
	return 0;
}

static inline void
cp_swap(struct cpvec *a, struct cpvec *b)
{
	struct cpvec t = *a;

	*a = *b;
	*b = t;
}

/* Appends n bytes of UTF-8 (only ever our own tables) to a. */
int cp_append_utf8(struct cpvec *a, const char *s, size_t n);

/* Replaces the contents of out with len bytes of text decoded as UTF-8;
 * each maximal invalid subsequence becomes U+FFFD, as Python's
 * errors="replace" does. */
int cp_decode_utf8(const char *text, size_t len, struct cpvec *out);

#endif
