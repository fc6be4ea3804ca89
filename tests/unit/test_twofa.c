/* test_twofa.c - the pure parts of two-factor login: TOTP against RFC
 * 6238's SHA-1 test vectors, the one-step clock skew and the replay
 * rule, sealed secrets, base32, recovery code syntax and digests. */
#include "twofa.h"
#include "auth.h"
#include "config.h"
#include "tap.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* RFC 6238 appendix B's SHA-1 seed. */
static const unsigned char seed[] = "12345678901234567890";
#define SEED_LEN 20

static void
rfc6238_vectors(void)
{
	/* Appendix B, SHA1 column, 8 digits. */
	static const struct { long long t; const char *code; } v[] = {
		{ 59LL, "94287082" },
		{ 1111111109LL, "07081804" },
		{ 1111111111LL, "14050471" },
		{ 1234567890LL, "89005924" },
		{ 2000000000LL, "69279037" },
	};
	char out[9];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		CHECK(totp_code(seed, SEED_LEN, v[i].t, 8, out) == 0);
		CHECK_STR(out, v[i].code);
		/* Six digits are the last six of eight: both are the same
		 * number modulo a power of ten. */
		CHECK(totp_code(seed, SEED_LEN, v[i].t, 6, out) == 0);
		CHECK_STR(out, v[i].code + 2);
	}
	CHECK(totp_code(seed, SEED_LEN, 59, 9, out) == -1);
}

static void
skew_and_replay(void)
{
	/* 1111111109 and 1111111111 fall in neighbouring steps. */
	long long s1 = 1111111109LL / 30, s2 = 1111111111LL / 30;

	CHECK(s2 == s1 + 1);
	CHECK(totp_step(1111111111LL) == s2);
	/* The code of this step, the previous and the next are taken. */
	CHECK(totp_match(seed, SEED_LEN, 1111111111LL, "050471", 0) == s2);
	CHECK(totp_match(seed, SEED_LEN, 1111111111LL, "081804", 0) == s1);
	CHECK(totp_match(seed, SEED_LEN, 1111111109LL, "050471", 0) == s2);
	/* Two steps off is refused either way. */
	CHECK(totp_match(seed, SEED_LEN, 1111111111LL + 60, "050471", 0) ==
		0);
	CHECK(totp_match(seed, SEED_LEN, 1111111111LL - 60, "050471", 0) ==
		0);
	/* A step already used (or one before it) is not taken again. */
	CHECK(totp_match(seed, SEED_LEN, 1111111111LL, "050471", s2) == 0);
	CHECK(totp_match(seed, SEED_LEN, 1111111111LL, "081804", s2) == 0);
	CHECK(totp_match(seed, SEED_LEN, 1111111111LL, "050471", s1) == s2);
	/* Wrong and malformed codes. */
	CHECK(totp_match(seed, SEED_LEN, 1111111111LL, "050472", 0) == 0);
	CHECK(totp_match(seed, SEED_LEN, 1111111111LL, "05047", 0) == 0);
	CHECK(totp_match(seed, SEED_LEN, 1111111111LL, "0504711", 0) == 0);
	CHECK(totp_match(seed, SEED_LEN, 1111111111LL, "05a471", 0) == 0);
	CHECK(totp_code_syntax("123456") && !totp_code_syntax("12345 ") &&
		!totp_code_syntax("") && !totp_code_syntax("1234567"));
}

static void
sealing(void)
{
	unsigned char key[32], other[32], secret[TOTP_SECRET_BYTES],
		back[TOTP_SECRET_BYTES];
	char sealed[TWOFA_SEALED_MAX], sealed2[TWOFA_SEALED_MAX];

	randombytes_buf(key, sizeof(key));
	randombytes_buf(other, sizeof(other));
	randombytes_buf(secret, sizeof(secret));
	CHECK(twofa_seal(key, 7, secret, sealed) == 0);
	CHECK(twofa_open(key, 7, sealed, back) == 0);
	CHECK(memcmp(secret, back, sizeof(back)) == 0);
	/* Another account's id, another key, a changed byte: refused. */
	CHECK(twofa_open(key, 8, sealed, back) == -1);
	CHECK(twofa_open(other, 7, sealed, back) == -1);
	sealed[5] = sealed[5] == 'A' ? 'B' : 'A';
	CHECK(twofa_open(key, 7, sealed, back) == -1);
	CHECK(twofa_open(key, 7, "", back) == -1);
	/* A fresh nonce each time. */
	CHECK(twofa_seal(key, 7, secret, sealed) == 0);
	CHECK(twofa_seal(key, 7, secret, sealed2) == 0);
	CHECK(strcmp(sealed, sealed2) != 0);
	CHECK(strlen(sealed) < TWOFA_SEALED_MAX);
}

static void
config_key(void)
{
	struct kiln_config c = { 0 };
	unsigned char a[32], b[32];

	c.totp_key = "00112233445566778899aabbccddeeff"
		"00112233445566778899AABBCCDDEEFF";
	c.db_password = "pw";
	c.db_name = "kiln";
	twofa_key(&c, a);
	CHECK(a[0] == 0x00 && a[1] == 0x11 && a[15] == 0xff &&
		a[31] == 0xff);
	/* Derived from the database password when unset. */
	c.totp_key = "";
	twofa_key(&c, a);
	c.db_password = "pw2";
	twofa_key(&c, b);
	CHECK(memcmp(a, b, 32) != 0);
}

static void
base32(void)
{
	char out[TOTP_SECRET_B32 + 1];

	/* RFC 4648 base32 of the RFC 6238 seed, as apps are given it. */
	CHECK(totp_base32(seed, out) == 0);
	CHECK_STR(out, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
}

static void
recovery_codes(void)
{
	char n[16], h1[DIGEST_HEX + 1], h2[DIGEST_HEX + 1], h3[DIGEST_HEX + 1];
	const char *s1 = "00112233445566778899aabbccddeeff";
	const char *s2 = "ffeeddccbbaa99887766554433221100";

	CHECK(recovery_normalize("abcde-fgh23", n, sizeof(n)) == 0);
	CHECK_STR(n, "abcdefgh23");
	CHECK(recovery_normalize(" ABCDE FGH23 ", n, sizeof(n)) == 0);
	CHECK_STR(n, "abcdefgh23");
	CHECK(recovery_normalize("abcde-fgh2", n, sizeof(n)) == -1);
	CHECK(recovery_normalize("abcde-fgh234", n, sizeof(n)) == -1);
	CHECK(recovery_normalize("abcde-fgh01", n, sizeof(n)) == -1);
	CHECK(recovery_normalize("123456", n, sizeof(n)) == -1);
	/* Keyed BLAKE2b-256, checked against libsodium directly; the salt
	 * changes the digest. */
	recovery_hash("abcdefgh23", s1, h1);
	recovery_hash("abcdefgh23", s2, h2);
	recovery_hash("abcdefgh24", s1, h3);
	CHECK(strlen(h1) == DIGEST_HEX && strcmp(h1, h2) != 0 &&
		strcmp(h1, h3) != 0);
	{
		unsigned char k[16], d[32];
		char hex[65];
		size_t i;

		for (i = 0; i < 16; i++)
			k[i] = (unsigned char)(0x00 + 0x11 * i);
		crypto_generichash(d, 32, (const unsigned char *)"abcdefgh23",
			10, k, 16);
		sodium_bin2hex(hex, sizeof(hex), d, 32);
		CHECK_STR(h1, hex);
	}
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(rfc6238_vectors);
	RUN(skew_and_replay);
	RUN(sealing);
	RUN(config_key);
	RUN(base32);
	RUN(recovery_codes);
	return tap_done();
}
