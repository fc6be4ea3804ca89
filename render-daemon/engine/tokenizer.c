/* tokenizer.c - CLIP BPE tokenizer: loads either vocabulary format and
 * turns text into ids: the reference's cleaning and split
 * (pretokenize.c), then byte-level BPE (bpe.c). */
#include "bpe.h"
#include "codepoints.h"
#include "pretokenize.h"
#include "tokenizer.h"
#include "utf8.h"
#include "util.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

/* The reference uses merges[1 : 49152-256-2+1] of the OpenAI file. */
#define GZ_MERGES (49152 - 256 - 2)
/* Upper bound on vocabulary entries we accept (CLIP has 49408). */
#define MAX_VOCAB (1 << 22)

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Formats an error message; one too long for err ends in "..." so the cut
 * is visible. */
static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	r = vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if (r >= 0 && (size_t)r >= errlen && errlen > 4)
		memcpy(err + errlen - 4, "...", 4);
}

struct clip_tokenizer {
	struct vocab vocab;
	struct bpe bpe;
	int32_t bos, eos;
};

/* bytes_to_unicode(): printable Latin-1 bytes stand for themselves, the
 * others for U+0100 onwards, in byte order. Fills the character of every
 * byte and the order in which the reference lists them (its ids). */
static void
bytes_to_unicode(uint32_t chr[256], int order[256])
{
	int b, n = 0, k = 0;

	for (b = 0; b < 256; b++) {
		int printable = (b >= '!' && b <= '~') ||
		    (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);

		if (printable) {
			chr[b] = (uint32_t)b;
			order[k++] = b;
		}
	}
	for (b = 0; b < 256; b++) {
		int printable = (b >= '!' && b <= '~') ||
		    (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);

		if (!printable) {
			chr[b] = 256 + (uint32_t)n++;
			order[k++] = b;
		}
	}
}

void
clip_tokenizer_free(struct clip_tokenizer *tok)
{
	if (tok == NULL)
		return;
	vocab_free(&tok->vocab);
	pairmap_free(&tok->bpe.merges);
	word_cache_free(tok->bpe.cache);
	free(tok);
}

int32_t
clip_tokenizer_bos(const struct clip_tokenizer *tok)
{
	return tok->bos;
}

int32_t
clip_tokenizer_eos(const struct clip_tokenizer *tok)
{
	return tok->eos;
}

size_t
clip_tokenizer_vocab_size(const struct clip_tokenizer *tok)
{
	return tok->vocab.n;
}

int32_t
clip_tokenizer_lookup(const struct clip_tokenizer *tok, const char *token)
{
	return vocab_get(&tok->vocab, token, strlen(token));
}

/* Reads a file, gzip or plain (zlib reads both), into b: all of it, or
 * (max_lines > 0) at least its first max_lines lines when it has them,
 * since the OpenAI file holds five times more merges than CLIP uses. */
static int
read_file(const char *path, size_t max_lines, struct buf *b, char *err,
    size_t errlen)
{
	size_t lines = 0;
	const char *p, *end;
	gzFile f;
	int n, zerr;

	f = gzopen(path, "rb");
	if (f == NULL) {
		set_err(err, errlen, "%s: cannot open: %s", path,
		    errno ? strerror(errno) : "out of memory");
		return -1;
	}
	for (;;) {
		if (buf_reserve(b, 1 << 16) != 0) {
			gzclose(f);
			set_err(err, errlen, "%s: out of memory", path);
			return -1;
		}
		n = gzread(f, b->data + b->len, 1 << 16);
		if (n < 0) {
			set_err(err, errlen, "%s: %s", path,
			    gzerror(f, &zerr));
			gzclose(f);
			return -1;
		}
		if (n == 0)
			break;
		p = b->data + b->len;
		end = p + n;
		b->len += (size_t)n;
		b->data[b->len] = '\0';
		if (max_lines == 0)
			continue;
		while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
			lines++;
			p++;
		}
		if (lines >= max_lines) {
			gzclose(f);
			return 0;
		}
	}
	if (gzclose(f) != Z_OK) {
		set_err(err, errlen, "%s: read error (truncated gzip?)", path);
		return -1;
	}
	return 0;
}

/* One merge line split in two: "a b". */
struct merge_line {
	const char *a, *b;
	size_t alen, blen;
	size_t lineno;
};

/* Splits line (len bytes, no newline) on whitespace into exactly two
 * symbols. Returns 0, or -1 when it has another number of fields. */
static int
split_merge(const char *line, size_t len, struct merge_line *m)
{
	const char *f[3];
	size_t fl[3], nf = 0, i = 0;

	while (i < len) {
		while (i < len && (line[i] == ' ' || line[i] == '\t' ||
		    line[i] == '\r' || line[i] == '\v' || line[i] == '\f'))
			i++;
		if (i >= len)
			break;
		if (nf == 3)
			return -1;
		f[nf] = line + i;
		while (i < len && !(line[i] == ' ' || line[i] == '\t' ||
		    line[i] == '\r' || line[i] == '\v' || line[i] == '\f'))
			i++;
		fl[nf] = (size_t)(line + i - f[nf]);
		nf++;
	}
	if (nf != 2)
		return -1;
	m->a = f[0];
	m->alen = fl[0];
	m->b = f[1];
	m->blen = fl[1];
	return 0;
}

/* Splits text into merge lines after the header line. For the OpenAI file
 * (cap > 0) exactly cap merges must follow; for merges.txt (cap 0) every
 * non-empty line is one. Stores a malloc'd array in *out. */
static int
parse_merges(const char *path, char *text, size_t len, size_t cap,
    struct merge_line **out, size_t *n_out, char *err, size_t errlen)
{
	struct merge_line *m = NULL;
	size_t n = 0, room = 0, lineno = 0, pos = 0;
	int rc = -1;

	while (pos < len && (cap == 0 || n < cap)) {
		char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		size_t l = end - pos;

		lineno++;
		if (lineno == 1) {
			/* The header: "#version: 0.2" (the OpenAI file has
			 * its name in front). merges.txt without one starts
			 * with a merge. */
			if (cap > 0 || memmem(text + pos, l, "#version", 8)) {
				pos = end + 1;
				continue;
			}
		}
		if (l > 0 && text[pos + l - 1] == '\r')
			l--;
		if (l == 0 && cap == 0) {
			pos = end + 1;
			continue;
		}
		if (n == room) {
			struct merge_line *p;

			room = room ? room * 2 : 65536;
			p = realloc(m, room * sizeof(*m));
			if (p == NULL) {
				set_err(err, errlen, "%s: out of memory", path);
				goto out;
			}
			m = p;
		}
		m[n].lineno = lineno;
		if (split_merge(text + pos, l, &m[n]) != 0) {
			set_err(err, errlen, "%s:%zu: expected two symbols "
			    "separated by a space", path, lineno);
			goto out;
		}
		n++;
		pos = end + 1;
	}
	if (cap > 0 && n < cap) {
		set_err(err, errlen, "%s: only %zu merges, expected %zu "
		    "(truncated file?)", path, n, cap);
		goto out;
	}
	if (n == 0) {
		set_err(err, errlen, "%s: no merges", path);
		goto out;
	}
	*out = m;
	*n_out = n;
	m = NULL;
	rc = 0;
out:
	free(m);
	return rc;
}

/* Looks up the ids of a merge's symbols and of their concatenation, and
 * records the pair. Returns 0, or -1 when one is not in the vocabulary. */
static int
add_merge(struct clip_tokenizer *tok, const struct merge_line *m,
    int32_t rank, struct buf *tmp, const char *path, const char *vocab_name,
    char *err, size_t errlen)
{
	int32_t a, b, ab;

	a = vocab_get(&tok->vocab, m->a, m->alen);
	b = vocab_get(&tok->vocab, m->b, m->blen);
	buf_reset(tmp);
	if (buf_append(tmp, m->a, m->alen) != 0 ||
	    buf_append(tmp, m->b, m->blen) != 0) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	ab = vocab_get(&tok->vocab, tmp->data, tmp->len);
	if (a < 0 || b < 0 || ab < 0) {
		const char *s = a < 0 ? m->a : b < 0 ? m->b : tmp->data;
		int sl = (int)(a < 0 ? m->alen : b < 0 ? m->blen : tmp->len);

		set_err(err, errlen, "%s:%zu: token '%.*s' is not in %s",
		    path, m->lineno, sl > 64 ? 64 : sl, s, vocab_name);
		return -1;
	}
	pairmap_set(&tok->bpe.merges, a, b, rank, ab);
	return 0;
}

/* Finds the byte symbols and the special tokens; every well-formed CLIP
 * vocabulary has them, and tokenizing relies on it. */
static int
find_byte_ids(struct clip_tokenizer *tok, const char *path, char *err,
    size_t errlen)
{
	uint32_t chr[256];
	int order[256], b;
	unsigned char s[8];
	size_t l;

	bytes_to_unicode(chr, order);
	for (b = 0; b < 256; b++) {
		l = utf8_put(chr[b], s);
		tok->bpe.byte_id[b] = vocab_get(&tok->vocab, (char *)s, l);
		memcpy(s + l, "</w>", 4);
		tok->bpe.byte_end_id[b] = vocab_get(&tok->vocab, (char *)s,
		    l + 4);
		if (tok->bpe.byte_id[b] < 0 || tok->bpe.byte_end_id[b] < 0) {
			set_err(err, errlen, "%s: the vocabulary lacks the "
			    "symbol for byte 0x%02x", path, b);
			return -1;
		}
	}
	tok->bos = vocab_get(&tok->vocab, "<|startoftext|>", 15);
	tok->eos = vocab_get(&tok->vocab, "<|endoftext|>", 13);
	if (tok->bos < 0 || tok->eos < 0) {
		set_err(err, errlen, "%s: the vocabulary lacks "
		    "<|startoftext|> or <|endoftext|>", path);
		return -1;
	}
	return 0;
}

/* The OpenAI file: the vocabulary is the 256 byte symbols, the same with
 * "</w>", every merge joined, then the two special tokens. */
static int
load_gz(struct clip_tokenizer *tok, const char *path, char *err,
    size_t errlen)
{
	struct buf text = { 0 }, tmp = { 0 };
	struct merge_line *m = NULL;
	size_t n = 0, i;
	uint32_t chr[256];
	int order[256], rc = -1;
	unsigned char s[8];
	size_t l;
	int32_t id = 0;

	if (read_file(path, GZ_MERGES + 1, &text, err, errlen) != 0)
		goto out;
	if (parse_merges(path, text.data, text.len, GZ_MERGES, &m, &n, err,
	    errlen) != 0)
		goto out;
	if (vocab_init(&tok->vocab, 512 + n + 2, text.len) != 0 ||
	    pairmap_init(&tok->bpe.merges, n) != 0)
		goto oom;
	bytes_to_unicode(chr, order);
	for (i = 0; i < 256; i++) {
		l = utf8_put(chr[order[i]], s);
		if (vocab_set(&tok->vocab, id++, (char *)s, l) != 0)
			goto oom;
	}
	for (i = 0; i < 256; i++) {
		l = utf8_put(chr[order[i]], s);
		memcpy(s + l, "</w>", 4);
		if (vocab_set(&tok->vocab, id++, (char *)s, l + 4) != 0)
			goto oom;
	}
	for (i = 0; i < n; i++) {
		buf_reset(&tmp);
		if (buf_append(&tmp, m[i].a, m[i].alen) != 0 ||
		    buf_append(&tmp, m[i].b, m[i].blen) != 0 ||
		    vocab_set(&tok->vocab, id++, tmp.data, tmp.len) != 0)
			goto oom;
	}
	if (vocab_set(&tok->vocab, id++, "<|startoftext|>", 15) != 0 ||
	    vocab_set(&tok->vocab, id++, "<|endoftext|>", 13) != 0)
		goto oom;
	/* Only now is every string's final id known. */
	for (i = 0; i < n; i++)
		if (add_merge(tok, &m[i], (int32_t)i, &tmp, path,
		    "the vocabulary", err, errlen) != 0)
			goto out;
	if (find_byte_ids(tok, path, err, errlen) != 0)
		goto out;
	rc = 0;
	goto out;
oom:
	set_err(err, errlen, "%s: out of memory", path);
out:
	free(m);
	buf_free(&text);
	buf_free(&tmp);
	return rc;
}

/* The tokenizer folder: vocab.json maps each token to its id (0..N-1, each
 * once), merges.txt lists the merges after a "#version" line. */
static int
load_hf(struct clip_tokenizer *tok, const char *vocab_path,
    const char *merges_path, char *err, size_t errlen)
{
	struct buf text = { 0 }, tmp = { 0 };
	struct merge_line *m = NULL;
	json_tokener *jt = NULL;
	json_object *root = NULL;
	size_t n = 0, i, count;
	char *seen = NULL;
	int rc = -1;

	if (read_file(vocab_path, 0, &text, err, errlen) != 0)
		goto out;
	jt = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
	if (jt == NULL)
		goto oom;
	if (text.len > INT32_MAX) {
		set_err(err, errlen, "%s: too large", vocab_path);
		goto out;
	}
	root = json_tokener_parse_ex(jt, text.data, (int)text.len);
	if (root == NULL ||
	    json_tokener_get_error(jt) != json_tokener_success) {
		set_err(err, errlen, "%s: not valid JSON (%s)", vocab_path,
		    json_tokener_error_desc(json_tokener_get_error(jt)));
		goto out;
	}
	if (json_tokener_get_parse_end(jt) < text.len &&
	    strspn(text.data + json_tokener_get_parse_end(jt), " \t\r\n") !=
	    text.len - json_tokener_get_parse_end(jt)) {
		set_err(err, errlen, "%s: trailing data after the JSON object",
		    vocab_path);
		goto out;
	}
	if (!json_object_is_type(root, json_type_object)) {
		set_err(err, errlen, "%s: expected a JSON object mapping "
		    "tokens to ids", vocab_path);
		goto out;
	}
	count = (size_t)json_object_object_length(root);
	if (count == 0 || count > MAX_VOCAB) {
		set_err(err, errlen, "%s: %zu entries; expected 1 to %d",
		    vocab_path, count, MAX_VOCAB);
		goto out;
	}
	seen = calloc(count, 1);
	if (seen == NULL || vocab_init(&tok->vocab, count, text.len) != 0)
		goto oom;
	{
		json_object_iter it;

		json_object_object_foreachC(root, it) {
			int64_t id;

			if (!json_object_is_type(it.val, json_type_int) ||
			    (id = json_object_get_int64(it.val)) < 0 ||
			    (uint64_t)id >= count) {
				set_err(err, errlen, "%s: the id of '%.64s' is "
				    "not an integer in 0..%zu", vocab_path,
				    it.key, count - 1);
				goto out;
			}
			if (seen[id]) {
				set_err(err, errlen, "%s: id %lld is given to "
				    "more than one token", vocab_path,
				    (long long)id);
				goto out;
			}
			seen[id] = 1;
			if (vocab_set(&tok->vocab, (int32_t)id, it.key,
			    strlen(it.key)) != 0)
				goto oom;
		}
	}
	buf_free(&text);
	if (read_file(merges_path, 0, &text, err, errlen) != 0)
		goto out;
	if (parse_merges(merges_path, text.data, text.len, 0, &m, &n, err,
	    errlen) != 0)
		goto out;
	if (pairmap_init(&tok->bpe.merges, n) != 0)
		goto oom;
	for (i = 0; i < n; i++)
		if (add_merge(tok, &m[i], (int32_t)i, &tmp, merges_path,
		    "vocab.json", err, errlen) != 0)
			goto out;
	if (find_byte_ids(tok, vocab_path, err, errlen) != 0)
		goto out;
	rc = 0;
	goto out;
oom:
	set_err(err, errlen, "%s: out of memory", vocab_path);
out:
	json_object_put(root);
	if (jt != NULL)
		json_tokener_free(jt);
	free(seen);
	free(m);
	buf_free(&text);
	buf_free(&tmp);
	return rc;
}

static int
file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

struct clip_tokenizer *
clip_tokenizer_load(const char *path, char *err, size_t errlen)
{
	struct clip_tokenizer *tok = NULL;
	struct buf p1 = { 0 }, p2 = { 0 };
	struct stat st;
	int rc = -1;

	if (stat(path, &st) != 0) {
		set_err(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		return NULL;
	}
	tok = calloc(1, sizeof(*tok));
	if (tok == NULL || (tok->bpe.cache = word_cache_new()) == NULL) {
		set_err(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		rc = load_gz(tok, path, err, errlen);
		goto out;
	}
	if (buf_printf(&p1, "%s/vocab.json", path) != 0 ||
	    buf_printf(&p2, "%s/merges.txt", path) != 0) {
		set_err(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (file_exists(p1.data) || file_exists(p2.data)) {
		rc = load_hf(tok, p1.data, p2.data, err, errlen);
		goto out;
	}
	buf_reset(&p1);
	if (buf_printf(&p1, "%s/bpe_simple_vocab_16e6.txt.gz", path) != 0) {
		set_err(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (file_exists(p1.data)) {
		rc = load_gz(tok, p1.data, err, errlen);
		goto out;
	}
	set_err(err, errlen, "%s: neither vocab.json + merges.txt nor "
	    "bpe_simple_vocab_16e6.txt.gz in this folder", path);
out:
	buf_free(&p1);
	buf_free(&p2);
	if (rc != 0) {
		clip_tokenizer_free(tok);
		return NULL;
	}
	return tok;
}

/* Tokenizes one piece: the special tokens, or BPE through the cache.
 * word is scratch room for its UTF-8. */
static int
encode_piece(const struct clip_tokenizer *tok, struct bpe_scratch *s,
    struct buf *word, const uint32_t *cp, size_t n, struct i32vec *out)
{
	unsigned char u8[4];
	size_t i;

	buf_reset(word);
	for (i = 0; i < n; i++)
		if (buf_append(word, u8, utf8_put(cp[i], u8)) != 0)
			return -1;
	if (word->len == 15 && memcmp(word->data, "<|startoftext|>", 15) == 0)
		return i32_push(out, tok->bos);
	if (word->len == 13 && memcmp(word->data, "<|endoftext|>", 13) == 0)
		return i32_push(out, tok->eos);
	return bpe_encode(&tok->bpe, s, word->data, word->len, out);
}

int
clip_tokenize(const struct clip_tokenizer *tok, const char *text,
    size_t len, int32_t **ids, size_t *n)
{
	struct cpvec t = { 0 };
	struct i32vec out = { 0 };
	struct bpe_scratch s = { 0 };
	struct buf word = { 0 };
	size_t i, l;
	int rc = -1;

	*ids = NULL;
	*n = 0;
	if (cp_decode_utf8(text, len, &t) != 0 || pretokenize_clean(&t) != 0)
		goto out;
	for (i = 0; i < t.n; i += l ? l : 1) {
		l = pretokenize_piece(t.v + i, t.n - i);
		if (l > 0 &&
		    encode_piece(tok, &s, &word, t.v + i, l, &out) != 0)
			goto out;
	}
	*ids = out.v;
	*n = out.n;
	out.v = NULL;
	rc = 0;
out:
	free(t.v);
	free(out.v);
	bpe_scratch_free(&s);
	buf_free(&word);
	if (rc != 0)
		errno = ENOMEM;
	return rc;
}

