/* pretokenize.c - CLIP's text cleaning and split pattern, as its
 * reference tokenizer applies them before BPE. */
#include "ftfy.h"
#include "html_entities.h"
#include "pretokenize.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unictype.h>

/* Python's str.isspace(): Unicode White_Space plus U+001C..U+001F. */
static int
py_isspace(uint32_t c)
{
	return (c >= 0x1c && c <= 0x1f) || uc_is_property_white_space(c);
}

/* Python's str.lower(): the simple mapping, U+0130 to "i" + U+0307 (the
 * one unconditional special case), and capital sigma as final sigma when
 * a cased letter comes before it and none after (case-ignorable ones
 * skipped). libunistring's u32_tolower judges that context differently
 * around apostrophes, hence our own loop. */
static int
py_lower(const uint32_t *s, size_t n, struct cpvec *out)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		uint32_t c = s[i];
		int final;

		if (c == 0x130) {
			if (cp_push(out, 'i') != 0 || cp_push(out, 0x307) != 0)
				return -1;
			continue;
		}
		if (c != 0x3a3) {
			if (cp_push(out, uc_tolower(c)) != 0)
				return -1;
			continue;
		}
		for (j = i; j > 0 &&
		    uc_is_property_case_ignorable(s[j - 1]); j--)
			;
		final = j > 0 && uc_is_property_cased(s[j - 1]);
		for (j = i + 1; final && j < n &&
		    uc_is_property_case_ignorable(s[j]); j++)
			;
		if (final && j < n && uc_is_property_cased(s[j]))
			final = 0;
		if (cp_push(out, final ? 0x3c2 : 0x3c3) != 0)
			return -1;
	}
	return 0;
}

int
pretokenize_clean(struct cpvec *text)
{
	struct cpvec t = { 0 };
	size_t a, b, i;
	int plain = 1, rc = -1;

	/* Printable ASCII without '&' is what most prompts are: neither ftfy
	 * nor html.unescape would change it. */
	for (i = 0; i < text->n && plain; i++)
		plain = (text->v[i] >= 0x20 && text->v[i] < 0x7f &&
		    text->v[i] != '&') || text->v[i] == '\t' ||
		    text->v[i] == '\n' || text->v[i] == '\f' ||
		    text->v[i] == '\r';
	if (!plain && ftfy_fix(text) != 0)
		goto out;
	for (i = 0; i < 2 && !plain; i++) {
		t.n = 0;
		if (html_unescape(text->v, text->n, &t) != 0)
			goto out;
		cp_swap(text, &t);
	}
	a = 0;
	b = text->n;
	while (a < b && py_isspace(text->v[a]))
		a++;
	while (b > a && py_isspace(text->v[b - 1]))
		b--;
	t.n = 0;
	for (i = a; i < b; i++) {
		if (uc_is_property_white_space(text->v[i])) {
			while (i + 1 < b &&
			    uc_is_property_white_space(text->v[i + 1]))
				i++;
			if (cp_push(&t, ' ') != 0)
				goto out;
		} else if (cp_push(&t, text->v[i]) != 0) {
			goto out;
		}
	}
	text->n = 0;
	if (py_lower(t.v, t.n, text) != 0)
		goto out;
	rc = 0;
out:
	free(t.v);
	return rc;
}

static int
is_letter(uint32_t c)
{
	return uc_is_general_category(c, UC_CATEGORY_L);
}

static int
is_number(uint32_t c)
{
	return uc_is_general_category(c, UC_CATEGORY_N);
}

/* The pattern is case-insensitive; after lower() only U+017F (long s)
 * still folds onto an ASCII letter it names. */
static uint32_t
fold(uint32_t c)
{
	return c == 0x17f ? 's' : c;
}

static int
match_ascii(const uint32_t *s, size_t n, const char *lit)
{
	size_t i, l = strlen(lit);

	if (l > n)
		return 0;
	for (i = 0; i < l; i++)
		if (fold(s[i]) != (unsigned char)lit[i])
			return 0;
	return 1;
}

size_t
pretokenize_piece(const uint32_t *s, size_t n)
{
	static const char *const lits[] = {
		"<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re", "'ve",
		"'m", "'ll", "'d",
	};
	size_t i, k;

	for (k = 0; k < ARRAY_LEN(lits); k++)
		if (match_ascii(s, n, lits[k]))
			return strlen(lits[k]);
	if (is_letter(s[0])) {
		for (i = 1; i < n && is_letter(s[i]); i++)
			;
		return i;
	}
	if (is_number(s[0]))
		return 1;
	for (i = 0; i < n; i++)
		if (s[i] == 0x345 || uc_is_property_white_space(s[i]) ||
		    is_letter(s[i]) || is_number(s[i]))
			break;
	return i;
}
