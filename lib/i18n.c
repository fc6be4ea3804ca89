/* i18n.c - gettext PO catalogues (our own small parser: the portal needs
 * one file's msgid -> msgstr map, not libintl's per-process locale), the
 * language choice and time zone conversion. */
#include "i18n.h"
#include "utf8.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One translation: key is msgctxt "\004" msgid (gettext's own joining),
 * or the msgid alone. */
struct po_entry {
	char *key;
	char *str;
};

struct po {
	struct po_entry *slots;	/* open addressing, 2^k of them */
	size_t size;
	size_t count;
};

/* FNV-1a: short keys, no adversary (the catalogue is ours). */
static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

void
po_free(struct po *po)
{
	size_t i;

	if (po == NULL)
		return;
	for (i = 0; i < po->size; i++) {
		free(po->slots[i].key);
		free(po->slots[i].str);
	}
	free(po->slots);
	free(po);
}

static struct po_entry *
po_slot(const struct po *po, const char *key)
{
	size_t i = (size_t)hash_str(key) & (po->size - 1);

	while (po->slots[i].key != NULL && strcmp(po->slots[i].key, key) != 0)
		i = (i + 1) & (po->size - 1);
	return &po->slots[i];
}

/* Takes key and str (malloc'd). Returns 0, 1 when key is already there
 * (both freed), -1 out of memory. */
static int
po_put(struct po *po, char *key, char *str)
{
	struct po_entry *e;

	if ((po->count + 1) * 2 > po->size) {
		struct po grown = { NULL, po->size ? po->size * 2 : 64, 0 };
		size_t i;

		grown.slots = calloc(grown.size, sizeof(*grown.slots));
		if (grown.slots == NULL) {
			free(key);
			free(str);
			return -1;
		}
		for (i = 0; i < po->size; i++)
			if (po->slots[i].key != NULL)
				*po_slot(&grown, po->slots[i].key) =
					po->slots[i];
		free(po->slots);
		po->slots = grown.slots;
		po->size = grown.size;
	}
	e = po_slot(po, key);
	if (e->key != NULL) {
		free(key);
		free(str);
		return 1;
	}
	e->key = key;
	e->str = str;
	po->count++;
	return 0;
}

const char *
po_get(const struct po *po, const char *ctx, const char *msgid)
{
	const struct po_entry *e;
	char buf[1024], *key = buf;
	const char *r;
	size_t lc, lm;

	if (po == NULL || po->size == 0 || msgid == NULL)
		return NULL;
	if (ctx == NULL)
		return po_slot(po, msgid)->str;
	lc = strlen(ctx);
	lm = strlen(msgid);
	if (lc + lm + 2 > sizeof(buf) && (key = malloc(lc + lm + 2)) == NULL)
		return NULL;
	memcpy(key, ctx, lc);
	key[lc] = '\004';
	memcpy(key + lc + 1, msgid, lm + 1);
	e = po_slot(po, key);
	r = e->str;
	if (key != buf)
		free(key);
	return r;
}

size_t
po_count(const struct po *po)
{
	return po != NULL ? po->count : 0;
}

/* The parser's state: the entry being read. */
enum po_field { F_NONE, F_CTXT, F_ID, F_PLURAL, F_STR, F_STR_OTHER };

struct po_parse {
	const char *name;
	char *err;
	size_t errn;
	long line;		/* of the line being read */
	long entry_line;	/* where the entry began */
	struct buf ctxt, id, str;
	int has_ctxt, has_id, has_str, fuzzy;
	enum po_field field;	/* what a continuation line adds to */
	struct po *po;
};

static int perr(struct po_parse *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
perr(struct po_parse *p, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errn, "%s:%ld: %s", p->name, p->line, msg);
	return -1;
}

/* The printf conversions of s, each as its text ("%d", "%.40s", "%%"),
 * joined into out; a conversion missing its letter ends the list. A
 * translation must keep its msgid's, in order: the C side formats with
 * the translation. */
static void
conversions(const char *s, struct buf *out)
{
	buf_reset(out);
	while ((s = strchr(s, '%')) != NULL) {
		const char *b = s++;

		while (*s != '\0' && strchr("#0- +'.*0123456789hlLqjzt",
		    *s) != NULL)
			s++;
		if (*s == '\0')
			break;
		s++;
		buf_append(out, b, (size_t)(s - b));
		buf_puts(out, "|");
	}
}

/* Stores the entry read so far (when it is complete) and starts the next
 * one. Returns 0 or -1. */
static int
flush(struct po_parse *p)
{
	struct buf a = { 0 }, b = { 0 };
	char *key, *str;
	int rc = 0;

	if (!p->has_id && !p->has_ctxt && !p->has_str)
		goto reset;
	if (!p->has_id || !p->has_str) {
		p->line = p->entry_line;
		return perr(p, "entry without %s", p->has_id ? "msgstr" :
			"msgid");
	}
	/* The header (msgid ""), fuzzy and untranslated entries give no
	 * translation: the English text is shown. */
	if (p->id.len == 0 || p->str.len == 0 || p->fuzzy)
		goto reset;
	conversions(p->id.data, &a);
	conversions(p->str.data, &b);
	if (a.len != b.len || (a.len > 0 && memcmp(a.data, b.data,
	    a.len) != 0)) {
		p->line = p->entry_line;
		rc = perr(p, "msgstr's conversions (%.60s) differ from "
			"msgid's (%.60s)", b.len ? b.data : "none",
			a.len ? a.data : "none");
		goto out;
	}
	if (p->has_ctxt) {
		key = malloc(p->ctxt.len + p->id.len + 2);
		if (key != NULL) {
			memcpy(key, p->ctxt.data ? p->ctxt.data : "",
				p->ctxt.len);
			key[p->ctxt.len] = '\004';
			memcpy(key + p->ctxt.len + 1, p->id.data,
				p->id.len + 1);
		}
	} else {
		key = strdup(p->id.data);
	}
	str = strdup(p->str.data);
	if (key == NULL || str == NULL) {
		free(key);
		free(str);
		rc = perr(p, "out of memory");
		goto out;
	}
	switch (po_put(p->po, key, str)) {
	case 0:
		break;
	case 1:
		p->line = p->entry_line;
		rc = perr(p, "msgid \"%.60s\" given twice", p->id.data);
		goto out;
	default:
		rc = perr(p, "out of memory");
		goto out;
	}
reset:
	buf_reset(&p->ctxt);
	buf_reset(&p->id);
	buf_reset(&p->str);
	p->has_ctxt = p->has_id = p->has_str = p->fuzzy = 0;
	p->field = F_NONE;
out:
	buf_free(&a);
	buf_free(&b);
	return rc;
}

/* Appends the quoted string at s (up to e) to out, escapes decoded.
 * Returns 0 or -1. */
static int
quoted(struct po_parse *p, const char *s, const char *e, struct buf *out)
{
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	if (s >= e || *s != '"')
		return perr(p, "expected a quoted string");
	for (s++; s < e && *s != '"'; s++) {
		char c;

		if (*s != '\\') {
			if ((unsigned char)*s < 0x20 && *s != '\t')
				return perr(p, "control character in a "
					"string");
			if (out != NULL && buf_append(out, s, 1) != 0)
				return perr(p, "out of memory");
			continue;
		}
		if (++s >= e)
			break;
		switch (*s) {
		case 'n': c = '\n'; break;
		case 't': c = '\t'; break;
		case 'r': c = '\r'; break;
		case '"': c = '"'; break;
		case '\\': c = '\\'; break;
		case 'a': c = '\a'; break;
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'v': c = '\v'; break;
		default:
			return perr(p, "unknown escape \\%c", isprint(
				(unsigned char)*s) ? *s : '?');
		}
		if (out != NULL && buf_append(out, &c, 1) != 0)
			return perr(p, "out of memory");
	}
	if (s >= e)
		return perr(p, "string without its closing quote");
	for (s++; s < e; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r')
			return perr(p, "text after the closing quote");
	return 0;
}

/* Reads one line (s..e, without its newline). Returns 0 or -1. */
static int
po_line(struct po_parse *p, const char *s, const char *e)
{
	static const struct {
		const char *kw;
		enum po_field f;
	} kws[] = {
		{ "msgctxt", F_CTXT }, { "msgid_plural", F_PLURAL },
		{ "msgid", F_ID }, { "msgstr", F_STR },
	};
	struct buf *dst;
	size_t i, k;

	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	if (s < e && e[-1] == '\r')
		e--;
	/* A string continues the keyword on the line just above it: a
	 * blank or comment line in between ends that keyword's text. */
	if (s == e) {
		p->field = F_NONE;
		return 0;
	}
	if (*s == '#') {
		/* "#~" keeps obsolete entries: skipped like comments. The
		 * flags line says whether the entry is fuzzy. */
		/* A comment after a msgstr starts the next entry. */
		if (p->has_str && flush(p) != 0)
			return -1;
		if (e - s >= 2 && s[1] == ',' && memmem(s, (size_t)(e - s),
		    "fuzzy", 5) != NULL)
			p->fuzzy = 1;
		p->field = F_NONE;
		return 0;
	}
	if (*s == '"') {
		switch (p->field) {
		case F_CTXT: dst = &p->ctxt; break;
		case F_ID: dst = &p->id; break;
		case F_STR: dst = &p->str; break;
		case F_PLURAL: case F_STR_OTHER: dst = NULL; break;
		default:
			return perr(p, "a string continues no keyword");
		}
		return quoted(p, s, e, dst);
	}
	for (i = 0; i < ARRAY_LEN(kws); i++) {
		k = strlen(kws[i].kw);
		if ((size_t)(e - s) > k && memcmp(s, kws[i].kw, k) == 0 &&
		    (s[k] == ' ' || s[k] == '\t' || s[k] == '['))
			break;
	}
	if (i == ARRAY_LEN(kws))
		return perr(p, "expected msgctxt, msgid, msgstr or a string");
	s += strlen(kws[i].kw);
	switch (kws[i].f) {
	case F_CTXT:
	case F_ID:
		/* A new entry starts at msgctxt, or at a msgid that has no
		 * msgctxt just before it. */
		if (p->has_str || (kws[i].f == F_CTXT && (p->has_ctxt ||
		    p->has_id)) || (kws[i].f == F_ID && p->has_id)) {
			if (p->has_str && flush(p) != 0)
				return -1;
			if (p->has_id || p->has_ctxt)
				return perr(p, "%s before the entry's "
					"msgstr", kws[i].kw);
		}
		if (!p->has_ctxt && !p->has_id)
			p->entry_line = p->line;
		if (kws[i].f == F_CTXT) {
			p->has_ctxt = 1;
			p->field = F_CTXT;
			return quoted(p, s, e, &p->ctxt);
		}
		p->has_id = 1;
		p->field = F_ID;
		return quoted(p, s, e, &p->id);
	case F_PLURAL:
		if (!p->has_id || p->has_str)
			return perr(p, "msgid_plural without its msgid");
		p->field = F_PLURAL;
		return quoted(p, s, e, NULL);
	default:
		break;
	}
	/* msgstr or msgstr[N]: the first form is the translation (Chinese
	 * has one plural form). */
	if (!p->has_id)
		return perr(p, "msgstr without a msgid");
	if (*s == '[') {
		char *end;
		long nf;

		errno = 0;
		nf = strtol(s + 1, &end, 10);
		if (end == s + 1 || end >= e || *end != ']' || errno != 0 ||
		    nf < 0 || nf > 9)
			return perr(p, "malformed msgstr[N]");
		s = end + 1;
		if (nf > 0) {
			if (!p->has_str)
				return perr(p, "msgstr[%ld] before "
					"msgstr[0]", nf);
			p->field = F_STR_OTHER;
			return quoted(p, s, e, NULL);
		}
	}
	if (p->has_str)
		return perr(p, "a second msgstr");
	p->has_str = 1;
	p->field = F_STR;
	return quoted(p, s, e, &p->str);
}

struct po *
po_parse(const char *data, size_t len, const char *name, char *err,
	size_t n)
{
	struct po_parse p;
	const char *s = data, *end = data + len;
	size_t i;

	memset(&p, 0, sizeof(p));
	p.name = name;
	p.err = err;
	p.errn = n;
	p.po = calloc(1, sizeof(*p.po));
	if (p.po == NULL) {
		snprintf(err, n, "%s: out of memory", name);
		return NULL;
	}
	/* The whole file is UTF-8 (the header's charset is not read: no
	 * other is accepted) and has no NUL. */
	for (i = 0; i < len; ) {
		uint32_t cp;
		size_t l = utf8_next((const unsigned char *)data + i,
			len - i, &cp);

		if (cp == UTF8_INVALID || cp == 0) {
			const char *q;

			p.line = 1;
			for (q = data; q < data + i; q++)
				if (*q == '\n')
					p.line++;
			perr(&p, cp == 0 ? "NUL byte" : "text is not UTF-8");
			goto fail;
		}
		i += l;
	}
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl != NULL ? nl : end;

		p.line++;
		if (po_line(&p, s, e) != 0)
			goto fail;
		s = nl != NULL ? nl + 1 : end;
	}
	p.line++;
	if (flush(&p) != 0)
		goto fail;
	buf_free(&p.ctxt);
	buf_free(&p.id);
	buf_free(&p.str);
	return p.po;
fail:
	buf_free(&p.ctxt);
	buf_free(&p.id);
	buf_free(&p.str);
	po_free(p.po);
	return NULL;
}

struct po *
po_load(const char *path, char *err, size_t n)
{
	struct buf b = { 0 };
	struct po *po = NULL;

	/* A catalogue of the whole site is some hundred kilobytes. */
	switch (buf_read_file(&b, path, 16u << 20)) {
	case BUF_READ_OK:
		po = po_parse(b.data ? b.data : "", b.len, path, err, n);
		break;
	case BUF_READ_CANNOT_OPEN:
		snprintf(err, n, "%s: %s", path, strerror(errno));
		break;
	case BUF_READ_TOO_LARGE:
		snprintf(err, n, "%s: larger than 16 MiB", path);
		break;
	default:
		snprintf(err, n, "%s: cannot be read", path);
		break;
	}
	buf_free(&b);
	return po;
}

/* The process's catalogue: loaded at start-up by i18n_init, read-only
 * while requests are served. */
static struct po *catalogue;

int
i18n_init(const char *dir, char *err, size_t n)
{
	char path[4096];

	if (snprintf_checked(path, sizeof(path), "%s/zh_CN.po", dir) != 0) {
		snprintf(err, n, "%s: path too long", dir);
		return -1;
	}
	po_free(catalogue);
	catalogue = po_load(path, err, n);
	return catalogue != NULL ? 0 : -1;
}

void
i18n_done(void)
{
	po_free(catalogue);
	catalogue = NULL;
}

const char *
i18n_tr(const char *lang, const char *msgid)
{
	const char *s;

	if (lang == NULL || strcmp(lang, LANG_ZH) != 0 || msgid == NULL)
		return msgid;
	s = po_get(catalogue, NULL, msgid);
	return s != NULL ? s : msgid;
}

static const char *msg_lang;

void
i18n_msg_lang(const char *lang)
{
	msg_lang = lang;
}

const char *
i18n_msg(const char *fmt)
{
	return i18n_tr(msg_lang != NULL ? msg_lang : LANG_EN, fmt);
}

const char *
i18n_lang(const char *s)
{
	if (s == NULL)
		return NULL;
	if (!strcmp(s, LANG_EN))
		return LANG_EN;
	if (!strcmp(s, LANG_ZH))
		return LANG_ZH;
	return NULL;
}

/* The language of one Accept-Language range (tag .. tag+n), or NULL
 * for one kiln does not have. */
static const char *
range_lang(const char *tag, size_t n)
{
	if ((n == 2 || (n > 2 && tag[2] == '-')) &&
	    strncasecmp(tag, "en", 2) == 0)
		return LANG_EN;
	if (n == 2 && strncasecmp(tag, "zh", 2) == 0)
		return LANG_ZH;
	/* zh-CN, zh-SG and zh-Hans(-*) are written in simplified
	 * characters; zh-TW, zh-HK and zh-Hant are not. */
	if (n > 3 && strncasecmp(tag, "zh-", 3) == 0 &&
	    ((n == 5 && (strncasecmp(tag + 3, "CN", 2) == 0 ||
	    strncasecmp(tag + 3, "SG", 2) == 0)) ||
	    (n >= 7 && strncasecmp(tag + 3, "Hans", 4) == 0 &&
	    (n == 7 || tag[7] == '-'))))
		return LANG_ZH;
	return NULL;
}

const char *
i18n_accept(const char *h)
{
	const char *best = LANG_EN;
	int best_q = 0;

	while (h != NULL && *h != '\0') {
		const char *tag, *lang;
		size_t tn;
		int q = 1000;

		while (*h == ' ' || *h == '\t' || *h == ',')
			h++;
		tag = h;
		while (*h != '\0' && *h != ',' && *h != ';' && *h != ' ' &&
		    *h != '\t')
			h++;
		tn = (size_t)(h - tag);
		/* Parameters: q=0.8 (three decimals at most); others are
		 * ignored. */
		while (*h != '\0' && *h != ',') {
			if (*h == ';') {
				h++;
				while (*h == ' ' || *h == '\t')
					h++;
				if ((h[0] == 'q' || h[0] == 'Q') &&
				    h[1] == '=') {
					int d = 0, scale = 100;

					h += 2;
					if (*h == '0' || *h == '1') {
						q = (*h - '0') * 1000;
						h++;
						if (*h == '.')
							for (h++; isdigit(
							    (unsigned char)*h)
							    && scale > 0;
							    h++, scale /= 10)
								d += (*h - '0')
								    * scale;
						q += d;
						if (q > 1000)
							q = 1000;
					} else {
						q = 0;
					}
				}
				continue;
			}
			h++;
		}
		lang = range_lang(tag, tn);
		if (lang != NULL && q > best_q) {
			best = lang;
			best_q = q;
		}
	}
	return best;
}

#define ZONEINFO "/usr/share/zoneinfo"

int
tz_valid(const char *name)
{
	char path[sizeof(ZONEINFO) + TZ_MAX + 2], magic[4];
	const char *s;
	size_t n;
	FILE *f;
	int ok;

	if (name == NULL)
		return 0;
	n = strlen(name);
	if (n == 0 || n > TZ_MAX || name[0] == '/' || name[n - 1] == '/' ||
	    strstr(name, "..") != NULL || strstr(name, "//") != NULL)
		return 0;
	for (s = name; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("/_-+", *s) == NULL)
			return 0;
	/* A segment starting with '-' or '.' is no zone name. */
	if (name[0] == '-' || strstr(name, "/-") != NULL)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", ZONEINFO, name);
	f = fopen(path, "rb");
	if (f == NULL)
		return 0;
	ok = fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
	fclose(f);
	return ok;
}

/* Why the process's TZ: glibc converts to a zone only through the TZ
 * variable (it has no tzalloc/localtime_rz), and reading TZif files
 * ourselves would mean a second implementation of the zone rules (the
 * POSIX TZ footer for future times included). A FastCGI process here
 * serves one request at a time on one thread, and view_render sets the
 * page's zone just before rendering and restores UTC right after, so no
 * other code ever sees it. tzset reads the zone's file once per page. */
void
tz_use(const char *zone)
{
	char v[TZ_MAX + 2];

	if (zone != NULL && tz_valid(zone)) {
		snprintf(v, sizeof(v), ":%s", zone);
		setenv("TZ", v, 1);
	} else {
		setenv("TZ", "UTC", 1);
	}
	tzset();
}

int
tz_convert(const char *s, char *out, size_t n)
{
	struct tm tm, lt;
	int y, mo, d, h, mi, sec = -1, used = 0;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || (sscanf(s, "%4d-%2d-%2d %2d:%2d:%2d%n", &y, &mo, &d,
	    &h, &mi, &sec, &used) != 6 && (sec = -1, sscanf(s,
	    "%4d-%2d-%2d %2d:%2d%n", &y, &mo, &d, &h, &mi, &used) != 5)) ||
	    s[used] != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h > 23 || mi > 59 || sec > 60) {
		snprintf(out, n, "%s", s != NULL ? s : "");
		return -1;
	}
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec < 0 ? 0 : sec;
	t = timegm(&tm);
	if (localtime_r(&t, &lt) == NULL) {
		snprintf(out, n, "%s", s);
		return -1;
	}
	if (sec < 0)
		snprintf(out, n, "%04d-%02d-%02d %02d:%02d", lt.tm_year + 1900,
			lt.tm_mon + 1, lt.tm_mday, lt.tm_hour, lt.tm_min);
	else
		snprintf(out, n, "%04d-%02d-%02d %02d:%02d:%02d",
			lt.tm_year + 1900, lt.tm_mon + 1, lt.tm_mday,
			lt.tm_hour, lt.tm_min, lt.tm_sec);
	return 0;
}
