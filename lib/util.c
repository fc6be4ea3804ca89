/* util.c - allocators, growable buffers and string helpers. */
#include "util.h"
#include "log.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <stdint.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

int
buf_reserve(struct buf *b, size_t extra)
{
	size_t need, ncap;
	char *p;

	if (extra > (size_t)-1 - b->len - 1)
		return -1;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need) {
		if (ncap > (size_t)-1 / 2)
			return -1;
		ncap *= 2;
	}
	/* Checked, not xrealloc: a buf holds whole files (images up to
	 * INT_MAX bytes, see buf_read_file) and pages whose size comes
	 * from outside, so running out is an answer to give, not a
	 * reason to stop. */
	p = realloc(b->data, ncap);
	if (p == NULL)
		return -1;
	b->data = p;
	b->cap = ncap;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) != 0)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || buf_reserve(b, (size_t)n) != 0)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

enum buf_read
buf_read_file(struct buf *b, const char *path, size_t max)
{
	char chunk[65536];
	enum buf_read rc = BUF_READ_OK;
	size_t n, got = 0;
	FILE *f = fopen(path, "rb");

	if (f == NULL)
		return BUF_READ_CANNOT_OPEN;
	while (rc == BUF_READ_OK && (n = fread(chunk, 1, sizeof(chunk),
	    f)) > 0) {
		got += n;
		if (got > max)
			rc = BUF_READ_TOO_LARGE;
		else if (buf_append(b, chunk, n) != 0)
			rc = BUF_READ_NO_MEMORY;
	}
	if (rc == BUF_READ_OK && ferror(f))
		rc = BUF_READ_ERROR;
	fclose(f);
	return rc;
}

int
snprintf_checked(char *dst, size_t n, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(dst, n, fmt, ap);
	va_end(ap);
	return (r < 0 || (size_t)r >= n) ? -1 : 0;
}

int
errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

char *
site_vurl(const char *base_url, const char *fmt, va_list ap)
{
	struct buf b = { 0 };
	size_t n = strlen(base_url);

	while (n > 0 && base_url[n - 1] == '/')
		n--;
	if (buf_append(&b, base_url, n) != 0 || buf_vprintf(&b, fmt, ap) != 0) {
		buf_free(&b);
		return NULL;
	}
	return b.data;		/* NUL-terminated by buf_append */
}

char *
site_url(const char *base_url, const char *fmt, ...)
{
	va_list ap;
	char *url;

	va_start(ap, fmt);
	url = site_vurl(base_url, fmt, ap);
	va_end(ap);
	return url;
}

/* Log what could not be had and stop the process (see util.h). The log
 * line is formatted on the stack: nothing here allocates. */
static void __attribute__((noreturn))
oom(const char *what, size_t n)
{
	log_error("out of memory: %s of %zu bytes failed", what, n);
	abort();
}

static void __attribute__((noreturn))
oom_overflow(const char *what, size_t nmemb, size_t size)
{
	log_error("out of memory: %s of %zu x %zu bytes overflows", what,
		nmemb, size);
	abort();
}

void *
xmalloc(size_t n)
{
	/* malloc(0) may return NULL on success; ask for one byte instead. */
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom("malloc", n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p;

	if (size != 0 && nmemb > SIZE_MAX / size)
		oom_overflow("calloc", nmemb, size);
	p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (p == NULL)
		oom("calloc", nmemb * size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *np = realloc(p, n ? n : 1);

	if (np == NULL)
		oom("realloc", n);
	return np;
}

void *
xreallocarray(void *p, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size)
		oom_overflow("realloc", nmemb, size);
	return xrealloc(p, nmemb * size);
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	/* Not memory: only a result over INT_MAX bytes fails here, which no
	 * caller's format can produce. */
	if (n < 0) {
		log_error("xasprintf: cannot format \"%s\"", fmt);
		abort();
	}
	p = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

int
str_has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

int
str_has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

char *
str_trim(char *s)
{
	char *start = s, *end;

	while (*start != '\0' && isspace((unsigned char)*start))
		start++;
	if (start != s)
		memmove(s, start, strlen(start) + 1);
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* The length of s's run of "-?[0-9]+" at its start (the '-' only when
 * minus_ok), or 0 when it does not start with one. */
static size_t
digits_span(const char *s, int minus_ok)
{
	size_t n = 0, d;

	if (minus_ok && s[0] == '-')
		n = 1;
	d = strspn(s + n, "0123456789");
	return d > 0 ? n + d : 0;
}

int
parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	/* Digits and a minus only: strtol alone would take "+5", " 5" and
	 * "-0" for a field that has no negative values. */
	if (s == NULL || digits_span(s, min < 0) != strlen(s) || *s == '\0')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
parse_decimal(const char *s, double min, double max, double *out)
{
	size_t n;
	char *end;
	double v;

	if (s == NULL || (n = digits_span(s, min < 0)) == 0)
		return -1;
	/* An optional fraction, never an exponent, "inf", "nan" or hex:
	 * strtod takes all of those. */
	if (s[n] == '.') {
		size_t f = strspn(s + n + 1, "0123456789");

		if (f == 0)
			return -1;
		n += 1 + f;
	}
	if (s[n] != '\0')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
date_valid(const char *s, int time_ok)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
		30, 31 };
	int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0, n = -1, leap;
	size_t len = strlen(s), i;

	/* Digits where the pattern has them: sscanf alone would take signs
	 * and spaces ("2026-+1-01"). */
	for (i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]) && i != 4 && i != 7 &&
		    i != 10 && i != 13 && i != 16 && i != 19)
			return 0;
	if (len == 10)
		sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n);
	else if (len == 20 && time_ok)
		sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi,
			&se, &n);
	if (n != (int)len || y < 1000 || mo < 1 || mo > 12 || d < 1 ||
	    h > 23 || mi > 59 || se > 59)
		return 0;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return d <= mdays[mo - 1] && !(mo == 2 && d == 29 && !leap);
}

int
random_bytes(void *dst, size_t n)
{
	unsigned char *p = dst;

	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int
random_hex(char *dst, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[64];
	size_t i, chunk, o = 0;

	while (n > 0) {
		chunk = n < sizeof(raw) ? n : sizeof(raw);
		if (random_bytes(raw, chunk) != 0)
			return -1;
		for (i = 0; i < chunk; i++) {
			dst[o++] = hex[raw[i] >> 4];
			dst[o++] = hex[raw[i] & 15];
		}
		n -= chunk;
	}
	dst[o] = '\0';
	return 0;
}

int
mkdir_p(const char *path)
{
	char tmp[PATH_MAX];
	char *p;

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p == '/') {
			*p = '\0';
			if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	}
	return mkdir(tmp, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

int
remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];
	int rc = 0;

	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (snprintf_checked(path, sizeof(path), "%s/%s", dir,
		    e->d_name) != 0 || unlink(path) != 0)
			rc = -1;
	}
	closedir(d);
	if (rmdir(dir) != 0)
		rc = -1;
	return rc;
}

int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
