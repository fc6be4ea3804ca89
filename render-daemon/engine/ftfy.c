/* ftfy.c - the part of ftfy.fix_text that CLIP's text cleaning relies
 * on: HTML entities, C1 controls, ligatures, character width, quotes,
 * terminal escapes, control characters, NFC; no mojibake repair. */
#include "ftfy.h"
#include "html_entities.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <unictype.h>
#include <uninorm.h>

/* ftfy's unescape_html: "&name;" from its table, or a numeric reference
 * that html.unescape resolves to something without ';'. */
static int
ftfy_unescape(const uint32_t *s, size_t n, struct cpvec *out)
{
	struct cpvec tmp = { 0 };
	size_t i = 0, j, k;
	int rc = -1;

	while (i < n) {
		int num = 0;

		if (s[i] != '&') {
			if (cp_push(out, s[i++]) != 0)
				goto out;
			continue;
		}
		j = i + 1;
		if (j < n && s[j] == '#') {
			num = 1;
			j++;
		}
		for (k = 0; j + k < n && k <= 24; k++) {
			uint32_t c = s[j + k];

			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
			    (c >= 'A' && c <= 'Z')))
				break;
		}
		if (k == 0 || k > 24 || j + k >= n || s[j + k] != ';') {
			if (cp_push(out, s[i++]) != 0)
				goto out;
			continue;
		}
		if (num) {
			size_t x;
			int semi = 0;

			tmp.n = 0;
			if (html_unescape(s + i, j + k + 1 - i, &tmp) != 0)
				goto out;
			for (x = 0; x < tmp.n; x++)
				if (tmp.v[x] == ';')
					semi = 1;
			if (semi ? cp_append(out, s + i, j + k + 1 - i) :
			    cp_append(out, tmp.v, tmp.n))
				goto out;
		} else {
			char name[32];
			const char *e;
			size_t x;

			for (x = 0; x < k; x++)
				name[x] = (char)s[j + x];
			name[k] = ';';
			name[k + 1] = '\0';
			e = html_entity_find(name, HTML_ENT_FTFY);
			if (e != NULL ? cp_append_utf8(out, e, strlen(e)) :
			    cp_append(out, s + i, j + k + 1 - i))
				goto out;
		}
		i = j + k + 1;
	}
	rc = 0;
out:
	free(tmp.v);
	return rc;
}

/* ftfy's character-level fixes that need no guessing, in its order:
 * C1 controls as Windows-1252, Latin ligatures, full/half width forms,
 * curly quotes, terminal escapes, control characters. */
static int
ftfy_chars(const uint32_t *s, size_t n, struct cpvec *out)
{
	static const struct {
		uint32_t c;
		const char *to;
	} lig[] = {
		{ 0x132, "IJ" }, { 0x133, "ij" }, { 0x149, "\312\274n" },
		{ 0x1c4, "D\305\275" }, { 0x1c5, "D\305\276" },
		{ 0x1c6, "d\305\276" }, { 0x1c7, "LJ" }, { 0x1c8, "Lj" },
		{ 0x1c9, "lj" }, { 0x1ca, "NJ" }, { 0x1cb, "Nj" },
		{ 0x1cc, "nj" }, { 0x1f1, "DZ" }, { 0x1f2, "Dz" },
		{ 0x1f3, "dz" }, { 0xfb00, "ff" }, { 0xfb01, "fi" },
		{ 0xfb02, "fl" }, { 0xfb03, "ffi" }, { 0xfb04, "ffl" },
		{ 0xfb05, "\305\277t" }, { 0xfb06, "st" },
	};
	struct cpvec a = { 0 }, b = { 0 };
	size_t i, k;
	int rc = -1;

	/* C1 controls and ligatures. */
	for (i = 0; i < n; i++) {
		uint32_t c = s[i];
		int done = 0;

		if (c >= 0x80 && c <= 0x9f)
			c = html_cp1252[c - 0x80];
		for (k = 0; k < ARRAY_LEN(lig) && c >= 0x132; k++)
			if (lig[k].c == c) {
				if (cp_append_utf8(&a, lig[k].to,
				    strlen(lig[k].to)) != 0)
					goto out;
				done = 1;
				break;
			}
		if (!done && cp_push(&a, c) != 0)
			goto out;
	}
	/* Width, then quotes. */
	for (i = 0; i < a.n; i++) {
		uint32_t c = a.v[i];

		if (c == 0x3000) {
			c = ' ';
		} else if (c >= 0xff01 && c < 0xfff0) {
			uint32_t buf[8], *r;
			size_t rl = ARRAY_LEN(buf);

			r = u32_normalize(UNINORM_NFKC, &c, 1, buf, &rl);
			if (r == NULL)
				goto out;
			for (k = 0; k < rl; k++) {
				uint32_t d = r[k];

				if (d == 0x2bc || (d >= 0x2018 && d <= 0x201b))
					d = '\'';
				else if (d >= 0x201c && d <= 0x201f)
					d = '"';
				if (cp_push(&b, d) != 0) {
					if (r != buf)
						free(r);
					goto out;
				}
			}
			if (r != buf)
				free(r);
			continue;
		}
		if (c == 0x2bc || (c >= 0x2018 && c <= 0x201b))
			c = '\'';
		else if (c >= 0x201c && c <= 0x201f)
			c = '"';
		if (cp_push(&b, c) != 0)
			goto out;
	}
	/* Terminal escapes ESC [ (digits|;)* letter, and control characters
	 * (C0 except \t \n \f \r, DEL, U+206A..206F, BOM, U+FFF9..FFFC). */
	for (i = 0; i < b.n; i++) {
		uint32_t c = b.v[i];

		if (c == 0x1b && i + 1 < b.n && b.v[i + 1] == '[') {
			for (k = i + 2; k < b.n && (b.v[k] == ';' ||
			    uc_is_general_category(b.v[k], UC_DECIMAL_DIGIT_NUMBER));
			    k++)
				;
			if (k < b.n && b.v[k] < 0x80 &&
			    ((b.v[k] | 0x20) >= 'a' && (b.v[k] | 0x20) <= 'z')) {
				i = k;
				continue;
			}
		}
		if (c <= 8 || c == 0xb || (c >= 0xe && c <= 0x1f) ||
		    c == 0x7f || (c >= 0x206a && c <= 0x206f) ||
		    c == 0xfeff || (c >= 0xfff9 && c <= 0xfffc))
			continue;
		if (cp_push(out, c) != 0)
			goto out;
	}
	rc = 0;
out:
	free(a.v);
	free(b.v);
	return rc;
}

static int
cp_equal(const struct cpvec *a, const struct cpvec *b)
{
	return a->n == b->n &&
	    (a->n == 0 || memcmp(a->v, b->v, a->n * sizeof(*a->v)) == 0);
}

/* One line of ftfy.fix_text: the fixes again and again until nothing
 * changes (each round either shrinks an entity or changes nothing). */
static int
ftfy_segment(struct cpvec *seg, int unescape)
{
	struct cpvec prev = { 0 }, t = { 0 };
	uint32_t *r;
	size_t rl;
	int rc = -1;

	for (;;) {
		prev.n = 0;
		if (cp_append(&prev, seg->v, seg->n) != 0)
			goto out;
		if (unescape) {
			t.n = 0;
			if (ftfy_unescape(seg->v, seg->n, &t) != 0)
				goto out;
			cp_swap(seg, &t);
		}
		t.n = 0;
		if (ftfy_chars(seg->v, seg->n, &t) != 0)
			goto out;
		cp_swap(seg, &t);
		if (seg->n > 0) {
			rl = 0;
			r = u32_normalize(UNINORM_NFC, seg->v, seg->n, NULL,
			    &rl);
			if (r == NULL)
				goto out;
			free(seg->v);
			seg->v = r;
			seg->n = seg->cap = rl;
		}
		if (cp_equal(seg, &prev))
			break;
	}
	rc = 0;
out:
	free(prev.v);
	free(t.v);
	return rc;
}

int
ftfy_fix(struct cpvec *text)
{
	struct cpvec out = { 0 }, seg = { 0 };
	size_t pos = 0, end, i;
	int unescape = 1, rc = -1;

	while (pos < text->n) {
		for (end = pos; end < text->n && text->v[end] != '\n'; end++)
			;
		if (end < text->n)
			end++;
		for (i = pos; i < end; i++)
			if (text->v[i] == '<')
				unescape = 0;
		seg.n = 0;
		if (cp_append(&seg, text->v + pos, end - pos) != 0 ||
		    ftfy_segment(&seg, unescape) != 0 ||
		    cp_append(&out, seg.v, seg.n) != 0)
			goto out;
		pos = end;
	}
	cp_swap(text, &out);
	rc = 0;
out:
	free(out.v);
	free(seg.v);
	return rc;
}
