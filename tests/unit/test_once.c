/* test_once.c - the pure parts of lib/once.c: sealing and opening a
 * secret (a wrong key, a flipped byte, a truncated or non-base64 text
 * refused), the cookie's "<id>.<key>" both ways, and the line split. */
#include "once.h"
#include "tap.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
seal_open(void)
{
	const char *text = "created\nkiln_abc\n\nmy key";
	unsigned char key[32], other[32];
	char sealed[ONCE_SEALED_MAX], sealed2[ONCE_SEALED_MAX], *out = NULL;
	char big[ONCE_MAX + 2];

	CHECK(once_seal(text, strlen(text), key, sealed) == 0);
	/* The sealed text holds nothing of the secret in the clear. */
	CHECK(strstr(sealed, "kiln_abc") == NULL);
	CHECK(once_open(sealed, key, &out) == 0 && out != NULL);
	CHECK_STR(out, text);
	once_free(out);
	/* A fresh key and nonce each time. */
	CHECK(once_seal(text, strlen(text), other, sealed2) == 0);
	CHECK(strcmp(sealed, sealed2) != 0 && memcmp(key, other, 32) != 0);
	/* Someone else's key opens nothing. */
	CHECK(once_open(sealed, other, &out) == -1 && out == NULL);
	/* A changed character, a cut, junk. */
	strcpy(sealed2, sealed);
	sealed2[30] = sealed2[30] == 'A' ? 'B' : 'A';
	CHECK(once_open(sealed2, key, &out) == -1 && out == NULL);
	memcpy(sealed2, sealed, 30);
	sealed2[30] = '\0';
	CHECK(once_open(sealed2, key, &out) == -1);
	CHECK(once_open("!!!", key, &out) == -1);
	CHECK(once_open("", key, &out) == -1);
	/* Empty text is a secret too; ONCE_MAX + 1 bytes is not taken. */
	CHECK(once_seal("", 0, key, sealed) == 0);
	CHECK(once_open(sealed, key, &out) == 0 && out[0] == '\0');
	once_free(out);
	memset(big, 'x', sizeof(big));
	CHECK(once_seal(big, ONCE_MAX, key, sealed) == 0);
	CHECK(once_seal(big, ONCE_MAX + 1, key, sealed) == -1);
	/* A NUL inside the text would cut what is shown: refused. */
	CHECK(once_seal("a\0b", 3, key, sealed) == 0);
	CHECK(once_open(sealed, key, &out) == -1);
	once_free(NULL);
}

static void
cookie(void)
{
	unsigned char key[32], got[32];
	unsigned long long id;
	char v[ONCE_COOKIE_MAX + 1], bad[ONCE_COOKIE_MAX + 40];
	size_t i;

	for (i = 0; i < 32; i++)
		key[i] = (unsigned char)(i * 37 + 1);
	once_cookie_format(18446744073709551615ULL, key, v);
	CHECK(strlen(v) == ONCE_COOKIE_MAX);
	CHECK(once_cookie_parse(v, &id, got) == 0);
	CHECK(id == 18446744073709551615ULL && memcmp(key, got, 32) == 0);
	once_cookie_format(42, key, v);
	CHECK(strncmp(v, "42.", 3) == 0);
	CHECK(once_cookie_parse(v, &id, got) == 0 && id == 42);
	/* Refused: no id, id 0 or leading zeros, beyond 2^64 - 1, no
	 * dot, a key of the wrong length or alphabet. */
	snprintf(bad, sizeof(bad), ".%s", v + 3);
	CHECK(once_cookie_parse(bad, &id, got) == -1 && id == 0);
	snprintf(bad, sizeof(bad), "0.%s", v + 3);
	CHECK(once_cookie_parse(bad, &id, got) == -1);
	snprintf(bad, sizeof(bad), "042.%s", v + 3);
	CHECK(once_cookie_parse(bad, &id, got) == -1);
	snprintf(bad, sizeof(bad), "18446744073709551616.%s", v + 3);
	CHECK(once_cookie_parse(bad, &id, got) == -1);
	snprintf(bad, sizeof(bad), "123456789012345678901.%s", v + 3);
	CHECK(once_cookie_parse(bad, &id, got) == -1);
	snprintf(bad, sizeof(bad), "42%s", v + 3);
	CHECK(once_cookie_parse(bad, &id, got) == -1);
	snprintf(bad, sizeof(bad), "%sA", v);
	CHECK(once_cookie_parse(bad, &id, got) == -1);
	snprintf(bad, sizeof(bad), "%s", v);
	bad[strlen(bad) - 1] = '\0';
	CHECK(once_cookie_parse(bad, &id, got) == -1);
	snprintf(bad, sizeof(bad), "%s", v);
	bad[10] = '+';
	CHECK(once_cookie_parse(bad, &id, got) == -1);
	/* A byte the decoder skips over (fuzz_once found it taken). */
	snprintf(bad, sizeof(bad), "%s", v);
	bad[5] = (char)0xc1;
	CHECK(once_cookie_parse(bad, &id, got) == -1);
	for (i = 0; i < 32; i++)
		CHECK(got[i] == 0);
}

static void
lines(void)
{
	char s[] = "a\nb\n\nd\ne", one[] = "solo", *v[4];

	CHECK(once_lines(s, v, 4) == 4);
	CHECK_STR(v[0], "a");
	CHECK_STR(v[1], "b");
	CHECK_STR(v[2], "");
	/* The last takes the rest: a name may hold anything. */
	CHECK_STR(v[3], "d\ne");
	CHECK(once_lines(one, v, 4) == 1);
	CHECK_STR(v[0], "solo");
	CHECK(once_lines(NULL, v, 4) == 0);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(seal_open);
	RUN(cookie);
	RUN(lines);
	return tap_done();
}
