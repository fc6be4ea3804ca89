/* infotext.c - the PNG text chunks as Pillow reads them and A1111's
 * parse_generation_parameters, for png-info and txt2img's info. */
#include "infotext.h"
#include "util.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unictype.h>
#include <unistr.h>
#include <zlib.h>

/* One code point of s at i (n bytes in all) into *cp; returns its
 * length, at least 1 (a byte that starts no UTF-8 sequence is U+FFFD). */
static size_t
cp_at(const char *s, size_t i, size_t n, ucs4_t *cp)
{
	int k = u8_mbtouc(cp, (const uint8_t *)s + i, n - i);

	return k > 0 ? (size_t)k : 1;
}

/* Python's str.isspace, which is also what \s matches in a str
 * pattern. */
static int
py_space(ucs4_t c)
{
	return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) ||
		c == 0x85 || c == 0xa0 || c == 0x1680 ||
		(c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
		c == 0x202f || c == 0x205f || c == 0x3000;
}

/* \w in a str pattern: letters, numbers and '_'. */
static int
py_word(ucs4_t c)
{
	if (c < 0x80)
		return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
			(c >= 'A' && c <= 'Z') || c == '_';
	return uc_is_general_category(c, UC_CATEGORY_L) ||
		uc_is_general_category(c, UC_CATEGORY_N);
}

/* [start, end) of s with Python's strip() applied. */
static void
strip(const char *s, size_t *start, size_t *end)
{
	size_t i = *start, j = *end, k, len;
	ucs4_t c;

	while (i < j) {
		len = cp_at(s, i, j, &c);
		if (!py_space(c))
			break;
		i += len;
	}
	/* From the back: find the last code point that is not space. */
	for (k = i; k < j; k += len) {
		len = cp_at(s, k, j, &c);
		if (!py_space(c))
			*end = k + len;
	}
	if (i == j || *end <= i)
		*end = i;
	*start = i;
}

/* One match of re_param, \s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$),
 * found by re.findall in s[0, n). */
struct param {
	size_t key, key_end, val, val_end;
};

/* The next match of re_param at or after *pos, as re.findall scans:
 * returns 1 and moves *pos past it, or 0 when there is none. */
static int
next_param(const char *s, size_t n, size_t *pos, struct param *p)
{
	size_t i = *pos, j, k, len, q, runs;
	ucs4_t c;

	while (i < n) {
		/* \s* */
		j = i;
		while (j < n) {
			len = cp_at(s, j, n, &c);
			if (!py_space(c))
				break;
			j += len;
		}
		if (j >= n)
			return 0;
		len = cp_at(s, j, n, &c);
		if (!py_word(c)) {
			i = j + len;
			continue;
		}
		/* \w[\w \-/]+ then ':'. A start inside the same run ends at
		 * the same place, so a failure skips the whole run. */
		k = j + len;
		runs = 0;
		while (k < n) {
			len = cp_at(s, k, n, &c);
			if (!py_word(c) && c != ' ' && c != '-' && c != '/')
				break;
			k += len;
			runs++;
		}
		if (runs == 0 || k >= n || s[k] != ':') {
			i = k > i ? k : i + 1;
			continue;
		}
		p->key = j;
		p->key_end = k;
		/* \s* */
		q = k + 1;
		while (q < n) {
			len = cp_at(s, q, n, &c);
			if (!py_space(c))
				break;
			q += len;
		}
		p->val = q;
		/* "(?:\\.|[^\\"])+" followed by ',' or the end. */
		if (q < n && s[q] == '"') {
			size_t t = q + 1, tokens = 0;

			while (t < n && s[t] != '"') {
				if (s[t] == '\\') {
					/* '.' is any character but \n. */
					if (t + 1 >= n || s[t + 1] == '\n')
						break;
					t += 1 + cp_at(s, t + 1, n, &c);
				} else {
					t += cp_at(s, t, n, &c);
				}
				tokens++;
			}
			if (t < n && s[t] == '"' && tokens > 0 &&
			    (t + 1 == n || s[t + 1] == ',')) {
				p->val_end = t + 1;
				*pos = t + 1 < n ? t + 2 : n;
				return 1;
			}
		}
		/* [^,]* */
		while (q < n && s[q] != ',')
			q++;
		p->val_end = q;
		*pos = q < n ? q + 1 : n;
		return 1;
	}
	return 0;
}

/* json.loads of a text that starts and ends with '"': the string it
 * holds as fresh UTF-8, or NULL when it is not exactly one JSON string
 * (then A1111's unquote keeps the text as it is). */
static char *
json_unquote(const char *s, size_t n)
{
	struct buf b = { 0 };
	size_t i = 1;
	ucs4_t c, lo;
	uint8_t enc[6];
	int k;

	while (i < n) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"')
			break;
		if (ch < 0x20)		/* json's strict mode */
			goto bad;
		if (ch != '\\') {
			if (buf_append(&b, s + i, 1) != 0)
				goto bad;
			i++;
			continue;
		}
		if (i + 1 >= n)
			goto bad;
		switch (s[i + 1]) {
		case '"': case '\\': case '/':
			if (buf_append(&b, s + i + 1, 1) != 0)
				goto bad;
			i += 2;
			continue;
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'u': {
			char hex[5];
			char *e;

			if (i + 6 > n)
				goto bad;
			memcpy(hex, s + i + 2, 4);
			hex[4] = '\0';
			c = (ucs4_t)strtoul(hex, &e, 16);
			if (e != hex + 4 || strchr(hex, '+') || strchr(hex, '-')
			    || strchr(hex, ' '))
				goto bad;
			i += 6;
			/* A surrogate pair is one code point; a lone
			 * surrogate has no UTF-8 form: U+FFFD. */
			if (c >= 0xd800 && c < 0xdc00 && i + 6 <= n &&
			    s[i] == '\\' && s[i + 1] == 'u') {
				memcpy(hex, s + i + 2, 4);
				lo = (ucs4_t)strtoul(hex, &e, 16);
				if (e == hex + 4 && lo >= 0xdc00 &&
				    lo < 0xe000) {
					c = 0x10000 + ((c - 0xd800) << 10) +
						(lo - 0xdc00);
					i += 6;
				}
			}
			if (c >= 0xd800 && c < 0xe000)
				c = 0xfffd;
			k = u8_uctomb(enc, c, sizeof(enc));
			if (k <= 0 || buf_append(&b, enc, (size_t)k) != 0)
				goto bad;
			continue;
		}
		default:
			goto bad;
		}
		enc[0] = (uint8_t)c;
		if (buf_append(&b, enc, 1) != 0)
			goto bad;
		i += 2;
	}
	/* The closing quote must be the text's last character. */
	if (i != n - 1 || s[i] != '"')
		goto bad;
	if (buf_append(&b, "", 1) != 0)
		goto bad;
	return b.data;
bad:
	buf_free(&b);
	return NULL;
}

/* re_imagesize, ^(\d+)x(\d+)$, on v (n bytes): the two numbers' byte
 * ranges. $ also matches before a final newline. */
static int
image_size(const char *v, size_t n, size_t *x)
{
	size_t i = 0, len;
	ucs4_t c;
	int part = 0;
	size_t digits = 0;

	if (n > 0 && v[n - 1] == '\n')
		n--;
	while (i < n) {
		len = cp_at(v, i, n, &c);
		if (uc_is_general_category(c, UC_CATEGORY_Nd)) {
			digits++;
		} else if (c == 'x' && part == 0 && digits > 0) {
			*x = i;
			part = 1;
			digits = 0;
		} else {
			return 0;
		}
		i += len;
	}
	return part == 1 && digits > 0;
}

/* Python's int() of a run of decimal digits (any script's), or -1 when
 * it is not one or too large. */
static long long
py_int(const char *s, size_t n)
{
	long long v = 0;
	size_t i = 0, len;
	ucs4_t c;
	int d;

	if (n == 0)
		return -1;
	while (i < n) {
		len = cp_at(s, i, n, &c);
		d = uc_decimal_value(c);
		if (d < 0 || v > 1000000000000LL)
			return -1;
		v = v * 10 + d;
		i += len;
	}
	return v;
}

/* A value of res as a number when it is one (an int, or a string of
 * digits as the parser stored it), else def; -1 when neither. */
static long long
res_int(json_object *res, const char *key, long long def)
{
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(res, key, &v))
		return def;
	if (json_object_is_type(v, json_type_int))
		return json_object_get_int64(v);
	if (!json_object_is_type(v, json_type_string))
		return -1;
	s = json_object_get_string(v);
	return py_int(s, strlen(s));
}

static void
set_str(json_object *o, const char *key, const char *s, size_t n)
{
	json_object_object_add(o, key, json_object_new_string_len(s,
		(int)n));
}

/* res[key] = val unless key is there already. */
static void
def_str(json_object *res, const char *key, const char *val)
{
	if (!json_object_object_get_ex(res, key, NULL))
		json_object_object_add(res, key, json_object_new_string(val));
}

static void
def_int(json_object *res, const char *key, int val)
{
	if (!json_object_object_get_ex(res, key, NULL))
		json_object_object_add(res, key, json_object_new_int(val));
}

/* The prompt lines (all but the last, or all when the last holds fewer
 * than three parameters) into Prompt and Negative prompt. */
static int
prompts(const char *s, size_t n, json_object *res)
{
	struct buf pr = { 0 }, neg = { 0 };
	size_t i = 0, a, e, nl;
	int done = 0, rc = -1;

	/* Every line of split("\n"), the empty one after a final newline
	 * too; no text is no line. */
	while (n > 0) {
		const char *end = memchr(s + i, '\n', n - i);

		nl = end != NULL ? (size_t)(end - s) : n;
		a = i;
		e = nl;
		strip(s, &a, &e);
		if (e - a >= 16 && !memcmp(s + a, "Negative prompt:", 16)) {
			done = 1;
			a += 16;
			strip(s, &a, &e);
		}
		if (done) {
			if ((neg.len > 0 && buf_append(&neg, "\n", 1) != 0) ||
			    buf_append(&neg, s + a, e - a) != 0)
				goto out;
		} else {
			if ((pr.len > 0 && buf_append(&pr, "\n", 1) != 0) ||
			    buf_append(&pr, s + a, e - a) != 0)
				goto out;
		}
		if (nl == n)
			break;
		i = nl + 1;
	}
	set_str(res, "Prompt", pr.data != NULL ? pr.data : "", pr.len);
	set_str(res, "Negative prompt", neg.data != NULL ? neg.data : "",
		neg.len);
	rc = 0;
out:
	buf_free(&pr);
	buf_free(&neg);
	return rc;
}

/* One "Key: value" into res as A1111 stores it. */
static void
store_param(json_object *res, const char *s, const struct param *p)
{
	char key[512];
	size_t kn = p->key_end - p->key, vn = p->val_end - p->val, x = 0;
	const char *v = s + p->val;
	char *unq = NULL;

	/* v[0] of an empty value raises IndexError, which A1111 catches:
	 * the key is left out. */
	if (vn == 0 || kn + 3 > sizeof(key))
		return;
	if (v[0] == '"' && v[vn - 1] == '"') {
		unq = json_unquote(v, vn);
		if (unq != NULL) {
			v = unq;
			vn = strlen(unq);
		}
	}
	memcpy(key, s + p->key, kn);
	if (image_size(v, vn, &x)) {
		size_t end = vn > 0 && v[vn - 1] == '\n' ? vn - 1 : vn;

		memcpy(key + kn, "-1", 3);
		set_str(res, key, v, x);
		memcpy(key + kn, "-2", 3);
		set_str(res, key, v + x + 1, end - x - 1);
	} else {
		key[kn] = '\0';
		set_str(res, key, v, vn);
	}
	free(unq);
}

/* processing.old_hires_fix_first_pass_dimensions. */
static void
old_first_pass(long long w, long long h, long long *fw, long long *fh)
{
	double scale = sqrt(512.0 * 512.0 / ((double)w * (double)h));

	*fw = (long long)ceil(scale * (double)w / 64) * 64;
	*fh = (long long)ceil(scale * (double)h / 64) * 64;
}

/* restore_old_hires_fix_params with use_old_hires_fix_width_height off:
 * an infotext with "First pass size" had the hires size as its Size. */
static void
old_hires(json_object *res)
{
	long long fw = res_int(res, "First pass size-1", -2);
	long long fh = res_int(res, "First pass size-2", -2);
	long long w = res_int(res, "Size-1", 512);
	long long h = res_int(res, "Size-2", 512);

	/* Python's int() raising would fail the whole parse; kiln keeps
	 * the values as read instead. */
	if (fw == -2 || fh == -2 || fw < 0 || fh < 0 || w < 0 || h < 0)
		return;
	if (fw == 0 || fh == 0) {
		if (w == 0 || h == 0)
			return;		/* A1111 divides by zero */
		old_first_pass(w, h, &fw, &fh);
	}
	json_object_object_add(res, "Size-1", json_object_new_int64(fw));
	json_object_object_add(res, "Size-2", json_object_new_int64(fh));
	json_object_object_add(res, "Hires resize-1", json_object_new_int64(w));
	json_object_object_add(res, "Hires resize-2", json_object_new_int64(h));
}

json_object *
infotext_parse(const char *text)
{
	json_object *res = json_object_new_object(), *v;
	size_t a = 0, e = strlen(text), last, pos, count = 0;
	struct param p;
	const char *nl;

	if (res == NULL)
		return NULL;
	strip(text, &a, &e);
	/* *lines, lastline = x.strip().split("\n") */
	nl = NULL;
	for (pos = a; pos < e; pos++)
		if (text[pos] == '\n')
			nl = text + pos;
	last = nl != NULL ? (size_t)(nl - text) + 1 : a;
	pos = 0;
	while (count < 3 && next_param(text + last, e - last, &pos, &p))
		count++;
	if (count < 3)
		last = e;	/* the last line is a prompt line too */
	/* The lines before the last: up to its newline, none when the
	 * text is that one line. */
	if (prompts(text + a, count < 3 ? e - a : nl != NULL ?
	    (size_t)(nl - text) - a : 0, res) != 0)
		goto oom;
	pos = 0;
	while (last < e && next_param(text + last, e - last, &pos, &p))
		store_param(res, text + last, &p);
	def_str(res, "Clip skip", "1");
	if (json_object_object_get_ex(res, "Hypernet", &v)) {
		json_object *st, *pr;
		char *s;

		json_object_object_get_ex(res, "Prompt", &pr);
		s = xasprintf("%s<hypernet:%s:%s>", json_object_get_string(pr),
			json_object_get_string(v),
			json_object_object_get_ex(res, "Hypernet strength", &st)
			? json_object_get_string(st) : "1.0");
		json_object_object_add(res, "Prompt",
			json_object_new_string(s));
		free(s);
	}
	if (!json_object_object_get_ex(res, "Hires resize-1", NULL)) {
		json_object_object_add(res, "Hires resize-1",
			json_object_new_int(0));
		json_object_object_add(res, "Hires resize-2",
			json_object_new_int(0));
	}
	def_str(res, "Hires sampler", "Use same sampler");
	def_str(res, "Hires checkpoint", "Use same checkpoint");
	def_str(res, "Hires prompt", "");
	def_str(res, "Hires negative prompt", "");
	def_str(res, "Mask mode", "Inpaint masked");
	def_str(res, "Masked content", "original");
	def_str(res, "Inpaint area", "Whole picture");
	def_int(res, "Masked area padding", 32);
	old_hires(res);
	def_str(res, "RNG", "GPU");
	def_str(res, "Schedule type", "Automatic");
	def_int(res, "Schedule max sigma", 0);
	def_int(res, "Schedule min sigma", 0);
	def_int(res, "Schedule rho", 0);
	def_str(res, "VAE Encoder", "Full");
	def_str(res, "VAE Decoder", "Full");
	def_str(res, "FP8 weight", "Disable");
	if (!json_object_object_get_ex(res, "Cache FP16 weight for LoRA", NULL)
	    && json_object_object_get_ex(res, "FP8 weight", &v) &&
	    strcmp(json_object_get_string(v), "Disable") != 0)
		json_object_object_add(res, "Cache FP16 weight for LoRA",
			json_object_new_boolean(0));
	return res;
oom:
	json_object_put(res);
	return NULL;
}

int
infotext_latin1(const char *s, char **out)
{
	size_t n = strlen(s), i = 0, o = 0, len;
	ucs4_t c;
	char *r;
	int k;

	*out = NULL;
	r = malloc(n + 1);
	if (r == NULL)
		return -1;
	while (i < n) {
		k = u8_mbtouc(&c, (const uint8_t *)s + i, n - i);
		len = k > 0 ? (size_t)k : 1;
		/* Not UTF-8 (u8_mbtouc's U+FFFD stands in) or past
		 * Latin-1: iTXt. */
		if (c > 0xff || (c == 0xfffd && k <= 0)) {
			free(r);
			return 0;
		}
		r[o++] = (char)c;
		i += len;
	}
	r[o] = '\0';
	*out = r;
	return 1;
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		(uint32_t)p[2] << 8 | p[3];
}

/* Latin-1 bytes as UTF-8, a fresh string. */
static char *
latin1_utf8(const uint8_t *s, size_t n)
{
	char *r = malloc(2 * n + 1), *p = r;
	size_t i;

	if (r == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] < 0x80) {
			*p++ = (char)s[i];
		} else {
			*p++ = (char)(0xc0 | s[i] >> 6);
			*p++ = (char)(0x80 | (s[i] & 0x3f));
		}
	}
	*p = '\0';
	return r;
}

/* zlib data inflated (at most INFOTEXT_CHUNK_MAX bytes, as Pillow's
 * decompress limit), a fresh buffer of *outn bytes, or NULL. */
static uint8_t *
inflate_text(const uint8_t *z, size_t n, size_t *outn, int *refuse)
{
	z_stream st;
	uint8_t *out = malloc(INFOTEXT_CHUNK_MAX + 1);
	int rc;

	*refuse = 0;
	if (out == NULL)
		return NULL;
	memset(&st, 0, sizeof(st));
	if (inflateInit(&st) != Z_OK) {
		free(out);
		return NULL;
	}
	st.next_in = (Bytef *)(uintptr_t)z;
	st.avail_in = (uInt)n;
	st.next_out = out;
	st.avail_out = INFOTEXT_CHUNK_MAX;
	rc = inflate(&st, Z_FINISH);
	inflateEnd(&st);
	/* Out of room with input left: Pillow's "Decompressed Data Too
	 * Large", which refuses the file; other errors drop the text. */
	*refuse = rc == Z_BUF_ERROR && st.avail_out == 0;
	if (rc != Z_STREAM_END) {
		free(out);
		return NULL;
	}
	*outn = st.total_out;
	return out;
}

/* One text chunk's keyword and text into o, as Pillow's PngStream
 * reads it. Returns 0, 1 when Pillow would refuse the whole file (a zTXt
 * of an unknown method, text inflating past its limit), -1 when memory
 * runs out. */
static int
text_chunk(const char *type, const uint8_t *d, size_t n, json_object *o)
{
	const uint8_t *nul = memchr(d, '\0', n), *t;
	uint8_t *inf = NULL;
	char *key = NULL, *val = NULL;
	size_t kn, tn, infn;
	int rc = -1, refuse;

	/* tEXt and zTXt without a NUL: all keyword, no text. */
	kn = nul != NULL ? (size_t)(nul - d) : n;
	t = nul != NULL ? nul + 1 : d + n;
	tn = nul != NULL ? n - kn - 1 : 0;
	if (!strcmp(type, "zTXt")) {
		if (tn > 0 && t[0] != 0)
			return 1;
		inf = tn > 1 ? inflate_text(t + 1, tn - 1, &infn, &refuse) :
			NULL;
		if (inf == NULL && tn > 1 && refuse)
			return 1;
		/* A zlib error reads as no text. */
		t = inf;
		tn = inf != NULL ? infn : 0;
	} else if (!strcmp(type, "iTXt")) {
		const uint8_t *lang, *tk;

		if (nul == NULL || tn < 2)
			return 0;
		lang = memchr(t + 2, '\0', tn - 2);
		if (lang == NULL)
			return 0;
		tk = memchr(lang + 1, '\0', tn - (size_t)(lang + 1 - t));
		if (tk == NULL)
			return 0;
		if (u8_check(t + 2, (size_t)(lang - (t + 2))) != NULL ||
		    u8_check(lang + 1, (size_t)(tk - (lang + 1))) != NULL)
			return 0;
		if (t[0] != 0) {
			if (t[1] != 0)
				return 0;
			inf = inflate_text(tk + 1, tn - (size_t)(tk + 1 - t),
				&infn, &refuse);
			if (inf == NULL)
				return refuse;
			t = inf;
			tn = infn;
		} else {
			tn -= (size_t)(tk + 1 - t);
			t = tk + 1;
		}
		/* Pillow decodes strictly: text that is not UTF-8 drops the
		 * chunk; a NUL in it is kept. */
		if (u8_check(t, tn) != NULL) {
			free(inf);
			return 0;
		}
		val = malloc(tn + 1);
		if (val != NULL) {
			memcpy(val, t != NULL ? t : (const uint8_t *)"", tn);
			val[tn] = '\0';
		}
	} else if (kn == 0) {
		return 0;	/* tEXt and zTXt: no keyword, not kept */
	}
	if (kn == 0 && strcmp(type, "iTXt") != 0) {
		free(inf);
		return 0;
	}
	key = latin1_utf8(d, kn);
	if (strcmp(type, "iTXt") != 0)
		val = latin1_utf8(t != NULL ? t : (const uint8_t *)"", tn);
	if (key != NULL && val != NULL) {
		/* An iTXt text holding a NUL ends there. */
		json_object_object_add(o, key, json_object_new_string(val));
		rc = 0;
	}
	free(key);
	free(val);
	free(inf);
	return rc;
}

json_object *
png_text_chunks(const uint8_t *png, size_t len, char *err, size_t errlen)
{
	static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n',
		0x1a, '\n' };
	json_object *o;
	size_t pos = 8;
	uint32_t n, crc;
	char type[5];

	if (len < 8 || memcmp(png, sig, 8) != 0) {
		snprintf(err, errlen, "not a PNG file");
		return NULL;
	}
	o = json_object_new_object();
	if (o == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	while (pos + 12 <= len) {
		n = be32(png + pos);
		memcpy(type, png + pos + 4, 4);
		type[4] = '\0';
		if (n > len - pos - 12) {
			snprintf(err, errlen, "chunk %.4s at byte %zu runs past "
				"the end of the file", type, pos);
			goto bad;
		}
		crc = (uint32_t)crc32(0L, png + pos + 4, (uInt)n + 4);
		if (crc != be32(png + pos + 8 + n)) {
			snprintf(err, errlen, "chunk %.4s at byte %zu fails its "
				"CRC", type, pos);
			goto bad;
		}
		if (!strcmp(type, "IDAT") || !strcmp(type, "IEND"))
			break;
		if (!strcmp(type, "tEXt") || !strcmp(type, "zTXt") ||
		    !strcmp(type, "iTXt")) {
			int st = text_chunk(type, png + pos + 8, n, o);

			if (st < 0) {
				snprintf(err, errlen, "out of memory");
				goto bad;
			}
			if (st > 0) {
				snprintf(err, errlen, "chunk %s at byte %zu "
					"cannot be read", type, pos);
				goto bad;
			}
		}
		pos += 12 + (size_t)n;
	}
	/* Pillow reads chunk after chunk until the image data: a file
	 * that ends first is truncated. */
	if (pos + 12 > len) {
		snprintf(err, errlen, "the file ends at byte %zu before its "
			"image data", len);
		goto bad;
	}
	return o;
bad:
	json_object_put(o);
	return NULL;
}
