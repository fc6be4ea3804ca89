/* prompt.c - AUTOMATIC1111's prompt weighting parser and its chunking of
 * token ids into 77-token CLIP windows with per-token weights. */
#include "prompt.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unictype.h>

/* A1111's multipliers, computed the way Python computes them. */
#define ROUND_MULT 1.1
#define SQUARE_MULT (1.0 / 1.1)

/* A growable list of positions (the open brackets). */
struct stack {
	size_t *v;
	size_t n, cap;
};

static int
stack_push(struct stack *s, size_t x)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 16;
		size_t *p;

		if (ncap > SIZE_MAX / sizeof(*p))
			return -1;
		p = realloc(s->v, ncap * sizeof(*p));
		if (p == NULL)
			return -1;
		s->v = p;
		s->cap = ncap;
	}
	s->v[s->n++] = x;
	return 0;
}

void
prompt_pieces_free(struct prompt_pieces *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		free(p->v[i].text);
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

int
prompt_piece_is_break(const struct prompt_piece *p)
{
	return p->weight == -1.0 && p->len == 5 && !memcmp(p->text, "BREAK", 5);
}

/* Appends a piece holding a copy of s[0..n). Returns 0 or -1. */
static int
add_piece(struct prompt_pieces *res, size_t *cap, const char *s, size_t n,
    double w)
{
	struct prompt_piece *p;
	char *t;

	if (res->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;

		if (ncap > SIZE_MAX / sizeof(*p))
			return -1;
		p = realloc(res->v, ncap * sizeof(*p));
		if (p == NULL)
			return -1;
		res->v = p;
		*cap = ncap;
	}
	t = malloc(n + 1);
	if (t == NULL)
		return -1;
	if (n > 0)
		memcpy(t, s, n);
	t[n] = '\0';
	res->v[res->n].text = t;
	res->v[res->n].len = n;
	res->v[res->n].weight = w;
	res->n++;
	return 0;
}

/* The characters the A1111 pattern treats specially. */
static int
is_special(uint8_t c)
{
	return c == '\\' || c == '(' || c == ')' || c == '[' || c == ']' ||
	    c == ':';
}

/* Python's \w: letters, numbers, underscore. */
static int
is_word(uint32_t c)
{
	return c == '_' || uc_is_general_category(c, UC_CATEGORY_L) ||
	    uc_is_general_category(c, UC_CATEGORY_N);
}

char *
prompt_strip_extra_networks(const char *prompt)
{
	const uint8_t *s = (const uint8_t *)prompt;
	size_t n = strlen(prompt), i = 0, j, o = 0, l;
	char *out = malloc(n + 1);
	uint32_t c;

	if (out == NULL)
		return NULL;
	while (i < n) {
		if (s[i] != '<') {
			out[o++] = (char)s[i++];
			continue;
		}
		/* \w+ (it cannot take the ':'), then ':', then at least one
		 * byte before the first '>'. */
		for (j = i + 1; j < n; j += l) {
			l = utf8_next(s + j, n - j, &c);
			if (c == UTF8_INVALID || !is_word(c))
				break;
		}
		if (j == i + 1 || j >= n || s[j] != ':' || j + 1 >= n ||
		    s[j + 1] == '>' || memchr(s + j + 1, '>', n - j - 1) ==
		    NULL) {
			out[o++] = (char)s[i++];
			continue;
		}
		i = (size_t)((const uint8_t *)memchr(s + j + 1, '>', n - j - 1)
		    - s) + 1;
	}
	out[o] = '\0';
	return out;
}

/* Python's str.isspace(), which \s follows in the re module. */
static int
is_space(uint32_t c)
{
	return (c >= 0x1c && c <= 0x1f) || uc_is_property_white_space(c);
}

/* Whether s[0..n) (a text match) has a word character just before / at
 * byte i; anything invalid counts as not one. */
static int
word_before(const uint8_t *s, size_t i)
{
	uint32_t c;

	return utf8_prev(s, i, &c) > 0 && is_word(c);
}

static int
word_at(const uint8_t *s, size_t n, size_t i)
{
	uint32_t c;

	if (i >= n)
		return 0;
	utf8_next(s + i, n - i, &c);
	return c != UTF8_INVALID && is_word(c);
}

/* Length of the whitespace character at s[i], or 0. */
static size_t
space_at(const uint8_t *s, size_t n, size_t i)
{
	uint32_t c;
	size_t l;

	if (i >= n)
		return 0;
	l = utf8_next(s + i, n - i, &c);
	return c != UTF8_INVALID && is_space(c) ? l : 0;
}

/* Plain text from the prompt: split on \s*\bBREAK\b\s* (re.split, within
 * this text only) into pieces of weight 1 with BREAK markers between. */
static int
add_text(struct prompt_pieces *res, size_t *cap, const char *text, size_t n)
{
	const uint8_t *s = (const uint8_t *)text;
	size_t from = 0, k, start, end, l;
	uint32_t c;

	for (k = 0; k + 5 <= n; k++) {
		if (memcmp(s + k, "BREAK", 5) != 0 || k < from ||
		    word_before(s, k) || word_at(s, n, k + 5))
			continue;
		/* The match starts where the run of whitespace before it
		 * does, but not before the end of the previous match. */
		for (start = k; start > from; start -= l) {
			l = utf8_prev(s + from, start - from, &c);
			if (l == 0 || !is_space(c))
				break;
		}
		end = k + 5;
		while ((l = space_at(s, n, end)) > 0)
			end += l;
		if (add_piece(res, cap, text + from, start - from, 1.0) != 0 ||
		    add_piece(res, cap, "BREAK", 5, -1.0) != 0)
			return -1;
		from = end;
		k = end - 1;
	}
	return add_piece(res, cap, text + from, n - from, 1.0);
}

static void
multiply_range(struct prompt_pieces *res, size_t from, double m)
{
	size_t p;

	for (p = from; p < res->n; p++)
		res->v[p].weight *= m;
}

/* At s[i] == ':', matches ":([+-]?[.\d]+)\)" (\d: any Unicode decimal
 * digit). Returns the match length, 0 when there is none; the weight, in
 * ASCII, goes to num (room for len bytes + 1) with *valid telling whether
 * Python's float() would take it (one dot at most, a digit at least). */
static size_t
match_weight(const uint8_t *s, size_t n, size_t i, char *num, int *valid)
{
	size_t j = i + 1, k = 0;
	size_t l;
	int dots = 0, digits = 0;
	uint32_t c;

	if (j < n && (s[j] == '+' || s[j] == '-'))
		num[k++] = (char)s[j++];
	while (j < n) {
		if (s[j] == '.') {
			num[k++] = '.';
			dots++;
			j++;
			continue;
		}
		l = utf8_next(s + j, n - j, &c);
		if (c == UTF8_INVALID ||
		    !uc_is_general_category(c, UC_DECIMAL_DIGIT_NUMBER))
			break;
		num[k++] = (char)('0' + uc_decimal_value(c));
		digits++;
		j += l;
	}
	if (dots + digits == 0 || j >= n || s[j] != ')')
		return 0;
	num[k] = '\0';
	*valid = digits > 0 && dots <= 1;
	return j + 1 - i;
}

int
prompt_parse_attention(const char *text, size_t len,
    struct prompt_pieces *out)
{
	const uint8_t *s = (const uint8_t *)text;
	struct prompt_pieces res = { 0 };
	struct stack round = { 0 }, square = { 0 };
	size_t cap = 0, i = 0, j, m;
	char *num = NULL;
	int valid, rc = -1;

	out->v = NULL;
	out->n = 0;
	num = malloc(len + 2);
	if (num == NULL)
		goto out;
	while (i < len) {
		uint8_t c = s[i];

		if (c == '\\') {
			if (i + 1 < len && (is_special(s[i + 1]) &&
			    s[i + 1] != ':')) {
				if (add_piece(&res, &cap, text + i + 1, 1,
				    1.0) != 0)
					goto out;
				i += 2;
			} else {
				/* A lone backslash: A1111 keeps "" of it. */
				if (add_piece(&res, &cap, "", 0, 1.0) != 0)
					goto out;
				i++;
			}
		} else if (c == '(') {
			if (stack_push(&round, res.n) != 0)
				goto out;
			i++;
		} else if (c == '[') {
			if (stack_push(&square, res.n) != 0)
				goto out;
			i++;
		} else if (c == ':' &&
		    (m = match_weight(s, len, i, num, &valid)) > 0) {
			if (round.n > 0 && valid) {
				multiply_range(&res, round.v[--round.n],
				    strtod(num, NULL));
			} else if (add_text(&res, &cap, text + i, m) != 0) {
				goto out;
			}
			i += m;
		} else if (c == ')' && round.n > 0) {
			multiply_range(&res, round.v[--round.n], ROUND_MULT);
			i++;
		} else if (c == ']' && square.n > 0) {
			multiply_range(&res, square.v[--square.n], SQUARE_MULT);
			i++;
		} else {
			/* ")" or "]" with nothing open, ":" alone, or a run
			 * of ordinary characters. */
			j = i + 1;
			if (!is_special(c))
				while (j < len && !is_special(s[j]))
					j++;
			if (add_text(&res, &cap, text + i, j - i) != 0)
				goto out;
			i = j;
		}
	}
	for (j = 0; j < round.n; j++)
		multiply_range(&res, round.v[j], ROUND_MULT);
	for (j = 0; j < square.n; j++)
		multiply_range(&res, square.v[j], SQUARE_MULT);
	if (res.n == 0 && add_piece(&res, &cap, "", 0, 1.0) != 0)
		goto out;
	/* Join neighbours of equal weight (NaN never equals itself). */
	for (i = 0; i + 1 < res.n;) {
		struct prompt_piece *a = &res.v[i], *b = &res.v[i + 1];
		char *t;

		if (a->weight != b->weight) {
			i++;
			continue;
		}
		t = realloc(a->text, a->len + b->len + 1);
		if (t == NULL)
			goto out;
		memcpy(t + a->len, b->text, b->len + 1);
		a->text = t;
		a->len += b->len;
		free(b->text);
		memmove(b, b + 1, (res.n - i - 2) * sizeof(*b));
		res.n--;
	}
	*out = res;
	res.v = NULL;
	res.n = 0;
	rc = 0;
out:
	prompt_pieces_free(&res);
	free(round.v);
	free(square.v);
	free(num);
	return rc;
}

/* ---- windows ---------------------------------------------------------- */

/* The window being filled and the finished ones. */
struct chunker {
	struct clip_chunks out;
	size_t cap;
	int32_t ids[CLIP_WINDOW_TOKENS];
	float w[CLIP_WINDOW_TOKENS];
	int16_t emb[CLIP_WINDOW_TOKENS];
	uint8_t row[CLIP_WINDOW_TOKENS];
	size_t n;
	long last_comma;
	int32_t bos, eos, pad;
};

/* A1111's next_chunk: closes the current window (start, tokens, end ids
 * up to the end; pad_id after the first end id) and starts an empty one. */
static int
next_chunk(struct chunker *k)
{
	struct clip_chunk *c;
	size_t i;
	int seen_end = 0;

	if (k->out.n == k->cap) {
		size_t ncap = k->cap ? k->cap * 2 : 4;

		if (ncap > SIZE_MAX / sizeof(*c))
			return -1;
		c = realloc(k->out.v, ncap * sizeof(*c));
		if (c == NULL)
			return -1;
		k->out.v = c;
		k->cap = ncap;
	}
	c = &k->out.v[k->out.n++];
	c->ids[0] = k->bos;
	c->weights[0] = 1.0f;
	for (i = 0; i < CLIP_WINDOW_TOKENS; i++) {
		c->ids[1 + i] = i < k->n ? k->ids[i] : k->eos;
		c->weights[1 + i] = i < k->n ? k->w[i] : 1.0f;
		c->emb[1 + i] = i < k->n ? k->emb[i] : -1;
		c->emb_row[1 + i] = i < k->n ? k->row[i] : 0;
	}
	c->ids[CLIP_WINDOW - 1] = k->eos;
	c->weights[CLIP_WINDOW - 1] = 1.0f;
	c->emb[0] = c->emb[CLIP_WINDOW - 1] = -1;
	c->emb_row[0] = c->emb_row[CLIP_WINDOW - 1] = 0;
	/* SD 2.x: whatever follows the first end id is padding (which
	 * also catches tokens after an "<|endoftext|>" typed in the prompt,
	 * as in A1111; with pad = end nothing changes). Embedding slots
	 * hold id 0 and come before the end. */
	for (i = 1; i < CLIP_WINDOW && k->pad != k->eos; i++) {
		if (seen_end)
			c->ids[i] = k->pad;
		else if (c->ids[i] == k->eos)
			seen_end = 1;
	}
	k->n = 0;
	k->last_comma = -1;
	return 0;
}

/* What A1111's tokenize_line does for the token at the current position
 * before adding anything: remembers a comma, moves what follows the last
 * comma into the next window when this one is full, closes a full one.
 * A comma that begins an embedding's name is no comma here (A1111 would
 * remember it, and a later cut would split the embedding's slots). */
static int
make_room(struct chunker *k, int is_comma)
{
	int32_t rid[CLIP_WINDOW_TOKENS];
	float rw[CLIP_WINDOW_TOKENS];
	int16_t re[CLIP_WINDOW_TOKENS];
	uint8_t rr[CLIP_WINDOW_TOKENS];
	size_t at, nr;

	if (is_comma) {
		k->last_comma = (long)k->n;
	} else if (CLIP_COMMA_BACKTRACK != 0 && k->n == CLIP_WINDOW_TOKENS &&
	    k->last_comma != -1 &&
	    (long)k->n - k->last_comma <= CLIP_COMMA_BACKTRACK) {
		/* Move what follows the comma into the next window. */
		at = (size_t)k->last_comma + 1;
		nr = k->n - at;
		memcpy(rid, k->ids + at, nr * sizeof(*rid));
		memcpy(rw, k->w + at, nr * sizeof(*rw));
		memcpy(re, k->emb + at, nr * sizeof(*re));
		memcpy(rr, k->row + at, nr * sizeof(*rr));
		k->n = at;
		if (next_chunk(k) != 0)
			return -1;
		memcpy(k->ids, rid, nr * sizeof(*rid));
		memcpy(k->w, rw, nr * sizeof(*rw));
		memcpy(k->emb, re, nr * sizeof(*re));
		memcpy(k->row, rr, nr * sizeof(*rr));
		k->n = nr;
	}
	if (k->n == CLIP_WINDOW_TOKENS && next_chunk(k) != 0)
		return -1;
	return 0;
}

/* Appends one token or embedding slot; make_room left a place. */
static void
push(struct chunker *k, int32_t id, float w, int emb, int row)
{
	k->ids[k->n] = id;
	k->w[k->n] = w;
	k->emb[k->n] = (int16_t)emb;
	k->row[k->n] = (uint8_t)row;
	k->n++;
}

/* The name among names[0..n) whose ids start at ids[0] (len of them
 * left), the longest one, or -1: A1111's find_embedding_at_position,
 * whose candidates are sorted longest first (a stable sort: the first of
 * equal length wins). */
static int
name_at(const int32_t *ids, size_t len, const struct clip_ti_name *names,
    int n)
{
	size_t best_len = 0;
	int i, best = -1;

	for (i = 0; i < n; i++) {
		const struct clip_ti_name *m = &names[i];

		if (m->len == 0 || m->len > len || m->len <= best_len ||
		    m->ids[0] != ids[0] ||
		    memcmp(m->ids, ids, m->len * sizeof(*ids)) != 0)
			continue;
		best = i;
		best_len = m->len;
	}
	return best;
}

void
clip_chunks_free(struct clip_chunks *c)
{
	if (c == NULL)
		return;
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

int
clip_encode_prompt_ti(const struct clip_tokenizer *tok, const char *prompt,
    int32_t pad_id, const struct clip_ti_name *names, int nnames,
    struct clip_chunks *out, char *err, size_t errlen)
{
	struct prompt_pieces pieces = { 0 };
	struct chunker k;
	int32_t *ids = NULL, comma;
	size_t n, i, t;
	int rc = -1, e, j;

	memset(&k, 0, sizeof(k));
	k.last_comma = -1;
	k.bos = clip_tokenizer_bos(tok);
	k.eos = clip_tokenizer_eos(tok);
	k.pad = pad_id;
	out->v = NULL;
	out->n = 0;
	if (nnames < 0 || nnames > CLIP_TI_MAX_NAMES) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "prompt: %d embeddings, more "
			    "than %d", nnames, CLIP_TI_MAX_NAMES);
		return -1;
	}
	for (e = 0; e < nnames; e++)
		if (names[e].vectors < 1 ||
		    names[e].vectors > CLIP_TI_MAX_VECTORS) {
			if (err != NULL && errlen > 0)
				snprintf(err, errlen, "prompt: an embedding "
				    "of %d vectors (1 to %d fit a window)",
				    names[e].vectors, CLIP_TI_MAX_VECTORS);
			return -1;
		}
	comma = clip_tokenizer_lookup(tok, ",</w>");
	if (prompt_parse_attention(prompt, strlen(prompt), &pieces) != 0)
		goto out;
	for (i = 0; i < pieces.n; i++) {
		const struct prompt_piece *p = &pieces.v[i];

		if (prompt_piece_is_break(p)) {
			if (next_chunk(&k) != 0)
				goto out;
			continue;
		}
		if (clip_tokenize(tok, p->text, p->len, &ids, &n) != 0)
			goto out;
		for (t = 0; t < n;) {
			e = nnames > 0 ? name_at(ids + t, n - t, names,
			    nnames) : -1;
			if (make_room(&k, e < 0 && ids[t] == comma) != 0)
				goto out;
			if (e < 0) {
				push(&k, ids[t], (float)p->weight, -1, 0);
				t++;
				continue;
			}
			if (k.n + (size_t)names[e].vectors >
			    CLIP_WINDOW_TOKENS && next_chunk(&k) != 0)
				goto out;
			for (j = 0; j < names[e].vectors; j++)
				push(&k, 0, (float)p->weight, e, j);
			t += names[e].len;
		}
		free(ids);
		ids = NULL;
	}
	if ((k.n > 0 || k.out.n == 0) && next_chunk(&k) != 0)
		goto out;
	*out = k.out;
	k.out.v = NULL;
	rc = 0;
out:
	if (rc != 0 && err != NULL && errlen > 0)
		snprintf(err, errlen, "out of memory");
	free(ids);
	free(k.out.v);
	prompt_pieces_free(&pieces);
	return rc;
}

int
clip_encode_prompt(const struct clip_tokenizer *tok, const char *prompt,
    int32_t pad_id, struct clip_chunks *out, char *err, size_t errlen)
{
	return clip_encode_prompt_ti(tok, prompt, pad_id, NULL, 0, out, err,
	    errlen);
}

int
clip_prompt_uses(const struct clip_tokenizer *tok, const char *prompt,
    const char *const *names, int n, unsigned char *used, char *err,
    size_t errlen)
{
	struct clip_ti_name *tn = NULL;
	int32_t **ids = NULL;
	struct clip_chunks ch = { 0 };
	size_t c, l;
	int i, rc = -1;

	if (n < 0 || n > CLIP_TI_MAX_NAMES) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "prompt: %d embeddings, more "
			    "than %d", n, CLIP_TI_MAX_NAMES);
		return -1;
	}
	if (n == 0)
		return 0;
	memset(used, 0, (size_t)n);
	tn = calloc((size_t)n, sizeof(*tn));
	ids = calloc((size_t)n, sizeof(*ids));
	if (tn == NULL || ids == NULL)
		goto oom;
	for (i = 0; i < n; i++) {
		if (clip_tokenize(tok, names[i], strlen(names[i]), &ids[i],
		    &tn[i].len) != 0)
			goto oom;
		tn[i].ids = ids[i];
		/* One slot each: which name matches does not depend on
		 * how many slots it takes. */
		tn[i].vectors = 1;
	}
	if (clip_encode_prompt_ti(tok, prompt, 0, tn, n, &ch, err,
	    errlen) != 0)
		goto out;
	for (c = 0; c < ch.n; c++)
		for (l = 0; l < CLIP_WINDOW; l++)
			if (ch.v[c].emb[l] >= 0)
				used[ch.v[c].emb[l]] = 1;
	rc = 0;
	goto out;
oom:
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "out of memory");
out:
	clip_chunks_free(&ch);
	for (i = 0; ids != NULL && i < n; i++)
		free(ids[i]);
	free(ids);
	free(tn);
	return rc;
}
