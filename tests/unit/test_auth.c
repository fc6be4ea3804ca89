/* test_auth.c - the pure parts of accounts: cookie parsing, tokens and
 * digests, password policy and hashing, scopes, text rules, redirects,
 * API key expiry dates. */
#include "accounts.h"
#include "auth.h"
#include "request.h"
#include "tap.h"
#include "util.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static void
cookies_parse(void)
{
	struct kv *kv;
	size_t n;

	CHECK(cookie_decode("a=1; kiln_session=abc_-9;b = \"q v\" ; junk;"
	    " =x; c=%41%zz", 64, &kv, &n) == 0);
	CHECK(n == 4);
	if (n == 4) {
		CHECK_STR(kv[0].key, "a");
		CHECK_STR(kv[0].val, "1");
		CHECK_STR(kv[1].key, "kiln_session");
		CHECK_STR(kv[1].val, "abc_-9");
		CHECK_STR(kv[2].key, "b");
		CHECK_STR(kv[2].val, "q v");
		/* A bad escape belongs to someone else's cookie: kept raw. */
		CHECK_STR(kv[3].key, "c");
		CHECK_STR(kv[3].val, "%41%zz");
	}
	kv_free(kv, n);
	CHECK(cookie_decode("", 64, &kv, &n) == 0 && n == 0);
	kv_free(kv, n);
	CHECK(cookie_decode("a=1;b=2;c=3", 2, &kv, &n) == -1);
	CHECK(kv == NULL && n == 0);
}

static void
tokens_and_digests(void)
{
	char a[TOKEN_LEN + 1], b[TOKEN_LEN + 1], d[DIGEST_HEX + 1];
	size_t i;

	CHECK(token_new(a) == 0 && token_new(b) == 0);
	CHECK(strlen(a) == TOKEN_LEN && strcmp(a, b) != 0);
	for (i = 0; i < TOKEN_LEN; i++)
		CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789-_", a[i]) != NULL);
	/* FIPS 180-2's first example. */
	digest_hex("abc", d);
	CHECK_STR(d, "ba7816bf8f01cfea414140de5dae2223"
		"b00361a396177a9cb410ff61f20015ad");
}

static void
password_rules(void)
{
	char why[128];

	CHECK(password_policy("short", "bob", why, sizeof(why)) == -1);
	CHECK(strstr(why, "10") != NULL);
	CHECK(password_policy("Password123", "bob", why, sizeof(why)) == -1);
	CHECK(password_policy("aaaaaaaaaaaa", "bob", why, sizeof(why)) == -1);
	CHECK(password_policy("alexander1!", "alexander", why,
		sizeof(why)) == -1);
	CHECK(password_policy("correct horse battery", "bob", why,
		sizeof(why)) == 0);
	CHECK(password_policy("tr0ub4dor&3x", NULL, why, sizeof(why)) == 0);
}

static void
password_hashing(void)
{
	char h[crypto_pwhash_STRBYTES];
	int rehash = 1;

	CHECK(password_hash("correct horse battery", h) == 0);
	CHECK(strncmp(h, "$argon2id$", 10) == 0);
	CHECK(strstr(h, "correct") == NULL);
	CHECK(password_verify(h, "correct horse battery", &rehash) == 1);
	CHECK(rehash == 0);
	CHECK(password_verify(h, "correct horse batterY", &rehash) == 0);
	CHECK(password_verify("not a hash", "x", &rehash) == 0);
	/* A hash made with cheaper parameters is flagged for rehashing. */
	CHECK(crypto_pwhash_str(h, "pw-pw-pw-pw", 11,
		crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN) == 0);
	CHECK(password_verify(h, "pw-pw-pw-pw", &rehash) == 1);
	CHECK(rehash == 1);
}

static void
scope_names(void)
{
	unsigned s = 0;
	char out[64];

	CHECK(scopes_parse("read,admin", &s) == 0);
	CHECK(s == (SCOPE_READ | SCOPE_ADMIN));
	scopes_format(s, out, sizeof(out));
	CHECK_STR(out, "read,admin");
	CHECK(scopes_parse("", &s) == 0 && s == 0);
	CHECK(scopes_parse("read,root", &s) == -1);
	CHECK(scopes_parse("generate", &s) == 0 && s == SCOPE_GENERATE);
}

static void
text_rules(void)
{
	CHECK(username_valid("alice.b-c_1"));
	CHECK(!username_valid("a"));
	CHECK(!username_valid("al ice"));
	CHECK(!username_valid("<script>"));
	CHECK(text_valid("Zoë \xe6\x97\xa5\xe6\x9c\xac", 128));
	CHECK(!text_valid("tab\there", 128));
	CHECK(!text_valid("\xc3", 128));		/* cut short */
	CHECK(!text_valid("\xc0\xaf", 128));		/* overlong '/' */
	CHECK(!text_valid("\xed\xa0\x80", 128));	/* a surrogate */
	CHECK(!text_valid("abcdef", 5));
	CHECK(tier_valid("pro_2") && !tier_valid("Pro") && !tier_valid(""));
}

static void
redirects_stay_local(void)
{
	struct buf b = { 0 };
	char *like;

	CHECK_STR(safe_next("/account?x=1"), "/account?x=1");
	CHECK_STR(safe_next("//evil.example/"), "/");
	CHECK_STR(safe_next("/\\evil.example"), "/");
	CHECK_STR(safe_next("https://evil.example/"), "/");
	CHECK_STR(safe_next("/a\r\nSet-Cookie: x=1"), "/");
	CHECK_STR(safe_next(NULL), "/");
	CHECK(buf_url_escape(&b, "/a b?c=d&e") == 0);
	CHECK_STR(b.data, "/a%20b%3Fc%3Dd%26e");
	buf_free(&b);
	like = like_pattern("50%_a\\");
	CHECK_STR(like, "%50\\%\\_a\\\\%");
	free(like);
}

static void
cookies_set(void)
{
	struct kreq r;

	memset(&r, 0, sizeof(r));
	CHECK(resp_cookie(&r, "kiln_session", "abc", 60) == 0);
	CHECK_STR(r.headers.data, "Set-Cookie: kiln_session=abc; Path=/; "
		"Max-Age=60; HttpOnly; SameSite=Lax\r\n");
	buf_reset(&r.headers);
	r.https = 1;
	CHECK(resp_cookie(&r, "kiln_csrf", "x", -1) == 0);
	CHECK_STR(r.headers.data, "Set-Cookie: kiln_csrf=x; Path=/; "
		"HttpOnly; SameSite=Lax; Secure\r\n");
	/* Nothing that could split the header or add an attribute. */
	CHECK(resp_cookie(&r, "a", "x;Domain=evil", 1) == -1);
	CHECK(resp_cookie(&r, "a", "x\r\nLocation: /", 1) == -1);
	CHECK(resp_cookie(&r, "a=b", "x", 1) == -1);
	buf_free(&r.headers);
}

/* HTTP Basic as AUTOMATIC1111 clients send it: the password is the
 * key; the expected values are Python's base64 of the clear text. */
static void
basic_credentials(void)
{
	char pw[64];

	/* "ada:kiln_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" */
	CHECK(basic_password("Basic YWRhOmtpbG5fQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQQ==", pw, sizeof(pw)) == 0);
	CHECK_STR(pw, "kiln_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	/* An empty user name (requests' auth=("", key)); the scheme in
	 * another case; a password holding ':'. */
	CHECK(basic_password("basic OmtpbG5fQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQQ==", pw, sizeof(pw)) == 0);
	CHECK_STR(pw, "kiln_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	CHECK(basic_password("Basic dTphOmI=", pw, sizeof(pw)) == 0);
	CHECK_STR(pw, "a:b");
	/* No colon, not base64, another scheme, too long for out. */
	CHECK(basic_password("Basic bm9jb2xvbg==", pw, sizeof(pw)) == -1);
	CHECK(basic_password("Basic !!!", pw, sizeof(pw)) == -1);
	CHECK(basic_password("Bearer kiln_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", pw, sizeof(pw)) == -1);
	CHECK(basic_password("Basicx YTpi", pw, sizeof(pw)) == -1);
	CHECK(basic_password("Basic YTp4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eA==", pw, sizeof(pw)) == -1);
	/* SillyTavern without a key: "Basic " and nothing. */
	CHECK(basic_password("Basic ", pw, sizeof(pw)) == -1);
}

static void
loopback_addresses(void)
{
	CHECK(addr_is_loopback("127.0.0.1"));
	CHECK(addr_is_loopback("127.9.8.7"));
	CHECK(addr_is_loopback("::1"));
	CHECK(addr_is_loopback("::ffff:127.0.0.1"));
	CHECK(!addr_is_loopback("10.0.0.1"));
	CHECK(!addr_is_loopback("1127.0.0.1"));
	CHECK(!addr_is_loopback("::2"));
	CHECK(!addr_is_loopback(""));
}

/* Epoch seconds from Python's calendar.timegm. */
static void
key_expiry_dates(void)
{
	long long t = -1;

	CHECK(key_expiry_parse("2031-01-05", 0, &t) == 0);
	CHECK(t == 1925337600LL);
	CHECK(key_expiry_parse("2030-12-31T23:59:59Z", 0, &t) == 0);
	CHECK(t == 1924991999LL);
	CHECK(key_expiry_parse("2024-02-29", 0, &t) == 0);
	CHECK(t == 1709164800LL);
	CHECK(key_expiry_parse("2000-02-29t12:00:00z", 0, &t) == 0);
	CHECK(t == 951825600LL);
	/* Not after now: the same second is past already. */
	t = 7;
	CHECK(key_expiry_parse("2031-01-05", 1925337600LL, &t) == -2);
	CHECK(t == 7);
	CHECK(key_expiry_parse("2031-01-05", 1925337599LL, &t) == 0);
	/* No such date, or not the format. */
	CHECK(key_expiry_parse("2023-02-29", 0, &t) == -1);
	CHECK(key_expiry_parse("1900-02-29", 0, &t) == -1);
	CHECK(key_expiry_parse("2031-04-31", 0, &t) == -1);
	CHECK(key_expiry_parse("2031-13-01", 0, &t) == -1);
	CHECK(key_expiry_parse("2031-00-10", 0, &t) == -1);
	CHECK(key_expiry_parse("2031-01-00", 0, &t) == -1);
	CHECK(key_expiry_parse("1969-12-31", 0, &t) == -1);
	CHECK(key_expiry_parse("2031-1-5", 0, &t) == -1);
	CHECK(key_expiry_parse("2031/01/05", 0, &t) == -1);
	CHECK(key_expiry_parse("2031-01-05 ", 0, &t) == -1);
	CHECK(key_expiry_parse("2031-01-05T24:00:00Z", 0, &t) == -1);
	CHECK(key_expiry_parse("2031-01-05T10:60:00Z", 0, &t) == -1);
	CHECK(key_expiry_parse("2031-01-05T10:00:00+", 0, &t) == -1);
	CHECK(key_expiry_parse("2031-01-05 10:00:00Z", 0, &t) == -1);
	CHECK(key_expiry_parse("+031-01-05", 0, &t) == -1);
	CHECK(key_expiry_parse("", 0, &t) == -1);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(cookies_parse);
	RUN(cookies_set);
	RUN(tokens_and_digests);
	RUN(password_rules);
	RUN(password_hashing);
	RUN(scope_names);
	RUN(text_rules);
	RUN(redirects_stay_local);
	RUN(basic_credentials);
	RUN(loopback_addresses);
	RUN(key_expiry_dates);
	return tap_done();
}
