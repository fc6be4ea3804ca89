/* test_util.c - buffers, integer parsing, trimming, randomness. */
#include "tap.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void
buffers_grow(void)
{
	struct buf b = { 0 };
	int i;

	for (i = 0; i < 1000; i++)
		CHECK(buf_printf(&b, "%d,", i) == 0);
	CHECK(b.len == strlen(b.data));
	CHECK(strncmp(b.data, "0,1,2,", 6) == 0);
	CHECK(strcmp(b.data + b.len - 4, "999,") == 0);
	buf_reset(&b);
	CHECK(b.len == 0 && b.data[0] == '\0');
	CHECK(buf_append(&b, "a\0b", 3) == 0 && b.len == 3);
	buf_free(&b);
	CHECK(b.data == NULL && b.len == 0);
	buf_free(&b);
}

static void
checked_snprintf(void)
{
	char s[8];

	CHECK(snprintf_checked(s, sizeof(s), "%s", "1234567") == 0);
	CHECK(snprintf_checked(s, sizeof(s), "%s", "12345678") == -1);
}

static void
integers(void)
{
	long v = 0;

	CHECK(parse_long("42", 0, 100, &v) == 0 && v == 42);
	CHECK(parse_long("-5", -10, 10, &v) == 0 && v == -5);
	CHECK(parse_long("101", 0, 100, &v) == -1);
	CHECK(parse_long("", 0, 100, &v) == -1);
	CHECK(parse_long(" 4", 0, 100, &v) == -1);
	CHECK(parse_long("4 ", 0, 100, &v) == -1);
	CHECK(parse_long("0x10", 0, 100, &v) == -1);
	CHECK(parse_long("99999999999999999999", LONG_MIN, LONG_MAX, &v)
		== -1);
	CHECK(parse_long(NULL, 0, 1, &v) == -1);
}

static void
trimming(void)
{
	char a[] = "  hi there \t\r\n", b[] = "   ", c[] = "x";

	CHECK_STR(str_trim(a), "hi there");
	CHECK_STR(str_trim(b), "");
	CHECK_STR(str_trim(c), "x");
}

static void
random_hex_is_hex_and_fresh(void)
{
	char a[65], b[65];
	size_t i;

	CHECK(random_hex(a, 32) == 0 && random_hex(b, 32) == 0);
	CHECK(strlen(a) == 64);
	for (i = 0; i < 64; i++)
		CHECK(isxdigit((unsigned char)a[i]) &&
			!isupper((unsigned char)a[i]));
	/* Two 256-bit draws colliding means the source is broken. */
	CHECK(strcmp(a, b) != 0);
}

static void
mkdir_p_makes_parents(void)
{
	char base[] = "/tmp/kiln-mkdirp-XXXXXX", deep[128], file[160];
	struct stat st;
	FILE *f;

	CHECK(mkdtemp(base) != NULL);
	snprintf(deep, sizeof(deep), "%s/a/b/c", base);
	CHECK(mkdir_p(deep) == 0);
	CHECK(stat(deep, &st) == 0 && S_ISDIR(st.st_mode));
	CHECK(mkdir_p(deep) == 0);		/* already there: fine */
	/* A file in the way is an error, not a silent success. */
	snprintf(file, sizeof(file), "%s/f", base);
	f = fopen(file, "w");
	CHECK(f != NULL && fclose(f) == 0);
	snprintf(deep, sizeof(deep), "%s/f/g", base);
	CHECK(mkdir_p(deep) == -1 && errno == ENOTDIR);
	snprintf(deep, sizeof(deep), "%s/a/b/c", base);
	CHECK(rmdir(deep) == 0);
	snprintf(deep, sizeof(deep), "%s/a/b", base);
	CHECK(rmdir(deep) == 0);
	snprintf(deep, sizeof(deep), "%s/a", base);
	CHECK(rmdir(deep) == 0);
	CHECK(unlink(file) == 0 && rmdir(base) == 0);
}

static void
remove_dir_removes_files(void)
{
	char base[] = "/tmp/kiln-rmdir-XXXXXX";

	CHECK(mkdtemp(base) != NULL);
	tap_put_file(base, "a.png", "x");
	tap_put_file(base, "preview.png", "y");
	CHECK(remove_dir(base) == 0);
	CHECK(access(base, F_OK) != 0 && errno == ENOENT);
	/* Already gone: fine. */
	CHECK(remove_dir(base) == 0);
}

static void
read_file_whole_capped_or_missing(void)
{
	char base[] = "/tmp/kiln-read-XXXXXX", path[64], big[70000];
	struct buf b = { 0 };
	FILE *f;
	size_t i;

	CHECK(mkdtemp(base) != NULL);
	/* More than one read's chunk, so the pieces must join in order. */
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	snprintf(path, sizeof(path), "%s/f", base);
	f = fopen(path, "wb");
	CHECK(f != NULL && fwrite(big, 1, sizeof(big), f) == sizeof(big));
	fclose(f);
	CHECK(buf_read_file(&b, path, sizeof(big)) == BUF_READ_OK);
	CHECK(b.len == sizeof(big) && memcmp(b.data, big, b.len) == 0);
	buf_reset(&b);
	CHECK(buf_read_file(&b, path, sizeof(big) - 1) == BUF_READ_TOO_LARGE);
	buf_reset(&b);
	CHECK(unlink(path) == 0);
	errno = 0;
	CHECK(buf_read_file(&b, path, 10) == BUF_READ_CANNOT_OPEN &&
		errno == ENOENT);
	/* A directory opens but does not read. */
	CHECK(buf_read_file(&b, base, 10) == BUF_READ_ERROR);
	buf_free(&b);
	CHECK(rmdir(base) == 0);
}

static void
site_urls_are_absolute_on_the_base(void)
{
	char *u;

	u = site_url("https://kiln.example.org", "/api/v1/images/%d-%d.png",
		33, 1);
	CHECK_STR(u, "https://kiln.example.org/api/v1/images/33-1.png");
	free(u);
	/* A base written with trailing slashes gives no "//". */
	u = site_url("http://127.0.0.1:8080//", "/s/%s", "tok");
	CHECK_STR(u, "http://127.0.0.1:8080/s/tok");
	free(u);
	/* A base with a path keeps it. */
	u = site_url("https://example.org/kiln/", "/s/%s", "t");
	CHECK_STR(u, "https://example.org/kiln/s/t");
	free(u);
}

static void
x_allocators_copy_and_format(void)
{
	char *s;
	int *v;

	s = xstrndup("abcdef", 3);
	CHECK_STR(s, "abc");
	free(s);
	s = xstrndup("ab", 10);		/* n past the end: the whole string */
	CHECK_STR(s, "ab");
	free(s);
	s = xstrdup("");
	CHECK_STR(s, "");
	free(s);
	s = xasprintf("%s/%d.png", "dir", 7);
	CHECK_STR(s, "dir/7.png");
	free(s);
	v = xcalloc(4, sizeof(*v));
	CHECK(v[0] == 0 && v[3] == 0);
	v[3] = 9;
	v = xreallocarray(v, 1000, sizeof(*v));
	CHECK(v[3] == 9);
	free(v);
	/* Zero bytes is still a pointer to free, not NULL. */
	s = xmalloc(0);
	CHECK(s != NULL);
	free(s);
}

/* Runs fn in a child with stderr on a pipe; returns how it ended and
 * what it logged in msg. */
static int
child_status(void (*fn)(void), char *msg, size_t msglen)
{
	int fds[2], status = 0;
	ssize_t n;
	pid_t pid;

	msg[0] = '\0';
	if (pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		fn();
		_exit(0);
	}
	close(fds[1]);
	n = read(fds[0], msg, msglen - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

/* Volatile: with a constant count the compiler refuses the call itself
 * (alloc_size), which is the point, but not what is tested here. */
static volatile size_t huge = SIZE_MAX / 2;

static void
calloc_overflow(void)
{
	free(xcalloc(huge, 4));
}

static void
reallocarray_overflow(void)
{
	free(xreallocarray(NULL, 3, huge));
}

static void
x_allocators_abort_on_overflow(void)
{
	char msg[512];
	int st;

	/* A count times a size past SIZE_MAX is a bug, never a wrapped
	 * small allocation: the process stops and says so. */
	st = child_status(calloc_overflow, msg, sizeof(msg));
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
	CHECK(strstr(msg, "out of memory: calloc") != NULL);
	st = child_status(reallocarray_overflow, msg, sizeof(msg));
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
	CHECK(strstr(msg, "out of memory: realloc") != NULL);
}

int
main(void)
{
	RUN(buffers_grow);
	RUN(checked_snprintf);
	RUN(integers);
	RUN(trimming);
	RUN(random_hex_is_hex_and_fresh);
	RUN(mkdir_p_makes_parents);
	RUN(remove_dir_removes_files);
	RUN(read_file_whole_capped_or_missing);
	RUN(site_urls_are_absolute_on_the_base);
	RUN(x_allocators_copy_and_format);
	RUN(x_allocators_abort_on_overflow);
	return tap_done();
}
