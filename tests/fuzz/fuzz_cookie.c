/* fuzz_cookie.c - libFuzzer harness for the Cookie header and the
 * urlencoded form parsers: the input is both a Cookie header (up to its
 * first NUL) and a form body (all of it, NULs included). Each parser runs
 * with the request's limit and with a small one taken from the first
 * byte; besides never crashing or leaking, the pairs must hold: no more
 * than max of them, every string NUL-terminated with no NUL inside what it
 * decodes (strlen-safe), cookie names non-empty and trimmed, a failure
 * leaves nothing behind, and a smaller limit either fails or gives the
 * same pairs. */
#include "fuzz.h"
#include "request.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t
count_char(const char *s, size_t len, char c)
{
	size_t i, k = 0;

	for (i = 0; i < len; i++)
		if (s[i] == c)
			k++;
	return k;
}

/* Checks what a successful decode gave: at most max pairs, no more than
 * the separators allow, strings strlen-safe and no longer together than
 * the input (decoding never grows text). */
static void
check_pairs(const struct kv *kv, size_t n, size_t max, size_t seps,
	size_t len)
{
	size_t i, total = 0;

	CHECK(n <= max);
	CHECK(n <= seps + 1);
	CHECK(n == 0 || kv != NULL);
	for (i = 0; i < n; i++) {
		CHECK(kv[i].key != NULL);
		CHECK(kv[i].val != NULL);
		total += strlen(kv[i].key) + strlen(kv[i].val);
	}
	CHECK(total <= len);
}

static int
same_pairs(const struct kv *a, size_t na, const struct kv *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (strcmp(a[i].key, b[i].key) || strcmp(a[i].val, b[i].val))
			return 0;
	return 1;
}

/* The same input decoded again with a smaller pair limit (rc2, kv2, n2)
 * against the full run (rc, kv, n): only the limit can make the smaller
 * run fail, and when it succeeds it found the same pairs. Frees both. */
static void
check_smaller_limit(int rc, struct kv *kv, size_t n, int rc2,
	struct kv *kv2, size_t n2, size_t small)
{
	if (rc2 != 0) {
		CHECK(kv2 == NULL && n2 == 0);
		CHECK(rc != 0 || n > small);
	} else {
		CHECK(rc == 0 && same_pairs(kv, n, kv2, n2));
	}
	kv_free(kv2, n2);
	kv_free(kv, n);
}

static void
cookies(const char *s, size_t small)
{
	struct kv *kv = (struct kv *)1, *kv2 = (struct kv *)1;
	size_t n = 99, n2 = 99, len = strlen(s), i;
	int rc, rc2;

	rc = cookie_decode(s, REQ_MAX_COOKIES, &kv, &n);
	if (rc != 0) {
		CHECK(rc == -1);
		CHECK(kv == NULL && n == 0);
	} else {
		check_pairs(kv, n, REQ_MAX_COOKIES, count_char(s, len, ';'),
		    len);
		for (i = 0; i < n; i++) {
			const char *k = kv[i].key;
			size_t kl = strlen(k);

			/* A name is what stands before the first '=' of a
			 * pair, blanks trimmed, and is never empty. */
			CHECK(kl > 0);
			CHECK(strpbrk(k, ";=") == NULL);
			CHECK(k[0] != ' ' && k[0] != '\t');
			CHECK(k[kl - 1] != ' ' && k[kl - 1] != '\t');
			/* ';' ends a pair: in a value only as %3B. */
			CHECK(strchr(kv[i].val, ';') == NULL ||
			    strstr(s, "%3") != NULL);
		}
	}

	rc2 = cookie_decode(s, small, &kv2, &n2);
	check_smaller_limit(rc, kv, n, rc2, kv2, n2, small);
}

static void
form(const char *s, size_t len, size_t small)
{
	struct kv *kv = (struct kv *)1, *kv2 = (struct kv *)1;
	size_t n = 99, n2 = 99;
	int rc, rc2;

	rc = form_decode(s, len, REQ_MAX_PARAMS, &kv, &n, NULL);
	if (rc != 0) {
		CHECK(rc == -1);
		CHECK(kv == NULL && n == 0);
	} else {
		/* A NUL byte, raw or %00, never gets through. */
		CHECK(memchr(s, '\0', len) == NULL);
		check_pairs(kv, n, REQ_MAX_PARAMS, count_char(s, len, '&'),
		    len);
	}

	rc2 = form_decode(s, len, small, &kv2, &n2, NULL);
	check_smaller_limit(rc, kv, n, rc2, kv2, n2, small);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1);
	size_t small = size > 0 ? data[0] % 8 : 0;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	cookies(copy, small);
	form(copy, size, small);
	free(copy);
	return 0;
}
