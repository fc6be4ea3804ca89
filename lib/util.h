/* util.h - small helpers shared by every kiln binary: allocators, buffers,
 * strings. */
#ifndef KILN_UTIL_H
#define KILN_UTIL_H

#include <stdarg.h>
#include <stddef.h>

#define KILN_VERSION "0.1.0"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
/* A macro's value as a string literal (for SQL built at compile time). */
#define STR_(x) #x
#define STR(x) STR_(x)

/* A growable byte buffer, always NUL-terminated when len > 0 or after
 * buf_reserve. Zero-initialise it ({0}) before use. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};

/* Each returns 0, or -1 when memory runs out (the buffer is unchanged).
 * Unlike the x-allocators below, a buf's growth is checked: it holds
 * whole files and pages whose size comes from outside. */
int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Empties the buffer but keeps its memory. */
void buf_reset(struct buf *b);
/* Frees the memory; the buffer may be reused afterwards. */
void buf_free(struct buf *b);

/* Appends the whole file at path to b, refusing one of more than max
 * bytes. Returns BUF_READ_OK or what went wrong (after CANNOT_OPEN,
 * errno says why); b may hold part of the file after a failure. */
enum buf_read {
	BUF_READ_OK = 0,
	BUF_READ_CANNOT_OPEN = -1,
	BUF_READ_TOO_LARGE = -2,
	BUF_READ_NO_MEMORY = -3,
	BUF_READ_ERROR = -4,
};
enum buf_read buf_read_file(struct buf *b, const char *path, size_t max);

/* Formats into dst (size n). Returns 0, or -1 when the result did not fit:
 * callers decide, nothing is truncated silently. */
int snprintf_checked(char *dst, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Formats a message into err (errlen bytes; an over-long one is cut, it is
 * a message; err may be NULL) and returns -1, so that error paths can
 * `return errf(...)`. */
int errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The absolute URL of a path on this site, for answers that leave it
 * (API JSON, webhook payloads): base_url ([site] base_url, trailing
 * slashes dropped) followed by the formatted path, which starts with '/'.
 * Returns a string the caller frees, or NULL when memory runs out. */
char *site_url(const char *base_url, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
char *site_vurl(const char *base_url, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/*
 * Allocation that does not fail. A small allocation (a struct, a copied
 * name, a path) that fails means the process cannot do anything useful:
 * it could not even build the error page. So, as Redis's zmalloc and
 * git's xmalloc do, these write one line naming the size to the log and
 * abort(); the FastCGI manager (mod_fcgid, lighttpd; systemd for kilnd)
 * starts a fresh process. The "out of memory" branches this replaces
 * were never run by any test. Allocations whose size
 * comes from a file or a picture (struct buf, images, PNG encoding, long
 * database columns) stay checked where a failure is a real answer to
 * give; those places say so.
 *
 * Each returns memory the caller frees with free(). xcalloc and
 * xreallocarray also abort when nmemb * size overflows. xrealloc keeps
 * realloc's meaning otherwise (p may be NULL). xstrdup and xstrndup take
 * a string, never NULL (callers write `s ? xstrdup(s) : NULL`);
 * xstrndup copies at most n bytes and adds a NUL.
 */
void *xmalloc(size_t n)
	__attribute__((malloc, returns_nonnull, alloc_size(1)));
void *xcalloc(size_t nmemb, size_t size)
	__attribute__((malloc, returns_nonnull, alloc_size(1, 2)));
void *xrealloc(void *p, size_t n)
	__attribute__((returns_nonnull, alloc_size(2)));
void *xreallocarray(void *p, size_t nmemb, size_t size)
	__attribute__((returns_nonnull, alloc_size(2, 3)));
char *xstrdup(const char *s)
	__attribute__((malloc, returns_nonnull, nonnull(1)));
char *xstrndup(const char *s, size_t n)
	__attribute__((malloc, returns_nonnull, nonnull(1)));
/* A formatted string (asprintf that aborts when memory runs out). */
char *xasprintf(const char *fmt, ...)
	__attribute__((malloc, returns_nonnull, format(printf, 1, 2)));

/* The value of hex digit c (0-9, a-f, A-F), or -1. */
int hex_digit(int c);

/* Removes leading and trailing ASCII whitespace in place; returns s. */
char *str_trim(char *s);

/* 1 when s begins (ends) with prefix (suffix), else 0. */
int str_has_prefix(const char *s, const char *prefix);
int str_has_suffix(const char *s, const char *suffix);

/* Parses a whole decimal integer in [min, max]: digits, with a leading
 * '-' only when min < 0 (no '+', spaces, exponent or hex). Every integer
 * a user sends (forms, query strings, JSON numbers by their text) goes
 * through here. Returns 0, or -1 on any junk, overflow or out-of-range
 * value. */
int parse_long(const char *s, long min, long max, long *out);

/* Parses a plain decimal number in [min, max]: digits with an optional
 * fraction ("7", "7.5"), a leading '-' only when min < 0. Returns 0, or
 * -1 on anything else (exponents, "inf", hex, "7.", ".5"). */
int parse_decimal(const char *s, double min, double max, double *out);

/* 1 when s is a real date "YYYY-MM-DD" (year 1000 on), or with time_ok
 * also a UTC time "YYYY-MM-DDTHH:MM:SSZ"; else 0. The list filters of
 * the API and the pages take dates by this one rule. */
int date_valid(const char *s, int time_ok);

/* mkdir -p: creates path and its missing parents (0777 less the umask,
 * which the operator sets; kilnd.service uses 0002); existing
 * ones are fine. Returns 0, or -1 with errno set. */
int mkdir_p(const char *path);

/* Removes the files in dir (not below it) and then dir. A dir that does
 * not exist is fine. Returns 0, or -1 with errno. */
int remove_dir(const char *dir);

/* Fills dst with n random bytes from the kernel. Returns 0 or -1. */
int random_bytes(void *dst, size_t n);

/* Writes n random bytes as 2n lower-case hex digits plus NUL into dst
 * (size 2n+1). Returns 0 or -1. */
int random_hex(char *dst, size_t n);

#endif
