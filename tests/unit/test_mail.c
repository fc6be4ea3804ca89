/* test_mail.c - building mail: address checks, header values refused
 * when they could inject a header, RFC 2047 encoded words (whole
 * characters per word, folded), quoted-printable bodies, the Date and
 * Message-ID, CRLF line ends and line lengths, and the device
 * fingerprint's address networks. Expected encodings were computed with
 * Python's base64 and quopri modules. */
#include "mail.h"
#include "tap.h"
#include "util.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char msg_id[16] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
};

/* 2026-12-07 18:14:36 UTC, a Monday. */
#define NOW 1796667276LL

static void
addresses(void)
{
	static const char *const good[] = {
		"a@example.org", "first.last@sub.example.co.uk",
		"x+tag@example.org", "o'hara@example.org",
		"a!#$%&'*+/=?^_`{|}~-z@e-x.example",
	};
	static const char *const bad[] = {
		"", "plain", "@example.org", "a@", "a@example",
		"a@@example.org", "a@b@example.org", ".a@example.org",
		"a.@example.org", "a..b@example.org", "a b@example.org",
		"\"a b\"@example.org", "a@-example.org", "a@example-.org",
		"a@exa_mple.org", "a@example..org", "a@example.org.",
		"a@example.org\r\nBcc: evil@example.org",
		"a@example.org\nBcc: evil@example.org",
		"a@example.org>, <evil@example.org", "<a@example.org>",
		"a,b@example.org", "z\xc3\xa9@example.org",
		"a@\xc3\xa9xample.org",
	};
	char big[300];
	size_t i;

	for (i = 0; i < ARRAY_LEN(good); i++)
		if (!mail_address_valid(good[i])) {
			printf("# refused %s\n", good[i]);
			CHECK(0);
		}
	for (i = 0; i < ARRAY_LEN(bad); i++)
		if (mail_address_valid(bad[i])) {
			printf("# took %s\n", bad[i]);
			CHECK(0);
		}
	CHECK(!mail_address_valid(NULL));
	/* 65 bytes before the @ are one too many. */
	memset(big, 'a', 65);
	strcpy(big + 65, "@example.org");
	CHECK(!mail_address_valid(big));
	big[64] = '@';
	strcpy(big + 65, "example.org");
	CHECK(mail_address_valid(big));
	/* 254 in all at most: a 63-letter label four times is 255+. */
	snprintf(big, sizeof(big), "a@%063d.%063d.%063d.%063d.org", 0, 0, 0,
	    0);
	CHECK(!mail_address_valid(big));
}

static void
header_text(void)
{
	CHECK(mail_header_text_ok("Alice A."));
	CHECK(mail_header_text_ok("Zo\xc3\xab \xe6\x97\xa5\xe6\x9c\xac"));
	CHECK(mail_header_text_ok(""));
	CHECK(!mail_header_text_ok("a\r\nBcc: x@example.org"));
	CHECK(!mail_header_text_ok("a\nb"));
	CHECK(!mail_header_text_ok("a\rb"));
	CHECK(!mail_header_text_ok("tab\there"));
	CHECK(!mail_header_text_ok("nul\x01"));
	CHECK(!mail_header_text_ok("del\x7f"));
	/* C1 controls and the Unicode line separators break lines too. */
	CHECK(!mail_header_text_ok("next\xc2\x85line"));
	CHECK(!mail_header_text_ok("sep\xe2\x80\xa8line"));
	CHECK(!mail_header_text_ok("bad \xff utf-8"));
	CHECK(!mail_header_text_ok("over\xc0\xaflong"));
	CHECK(!mail_header_text_ok(NULL));
}

/* Builds m into b; 0 or -1. */
static int
build(const struct mail_msg *m, struct buf *b, char *err)
{
	buf_reset(b);
	return mail_build(m, NOW, msg_id, b, err, 160);
}

/* The value of header name (unfolded: CRLF SP removed) in a message, or
 * NULL; the caller frees. */
static char *
header(const char *msg, const char *name)
{
	size_t nl = strlen(name);
	const char *p = msg, *e;
	char *out, *o;

	while (*p != '\0' && strncmp(p, "\r\n", 2) != 0) {
		e = strstr(p, "\r\n");
		while (e != NULL && (e[2] == ' ' || e[2] == '\t'))
			e = strstr(e + 2, "\r\n");
		if (e == NULL)
			return NULL;
		if (!strncmp(p, name, nl) && p[nl] == ':') {
			out = o = malloc((size_t)(e - p) + 1);
			for (p += nl + 2; p < e; p++) {
				if (p[0] == '\r' && p[1] == '\n') {
					p += 2;	/* the SP stays */
				}
				*o++ = *p;
			}
			*o = '\0';
			return out;
		}
		p = e + 2;
	}
	return NULL;
}

/* Every line ends in CRLF, none is longer than 78, no bare CR or LF. */
static void
lines_ok(const char *msg)
{
	const char *p = msg;
	size_t col = 0;

	for (; *p != '\0'; p++) {
		if (*p == '\r') {
			CHECK(p[1] == '\n');
			if (p[1] != '\n')
				return;
			p++;
			col = 0;
			continue;
		}
		CHECK(*p != '\n');
		if (++col > 78) {
			printf("# a line over 78: %.80s\n", p - 78);
			CHECK(0);
			return;
		}
	}
	CHECK(p > msg && p[-1] == '\n' && p[-2] == '\r');
}

static void
plain_message(void)
{
	struct mail_msg m = { "kiln@example.org", "kiln", "bob@example.org",
		"Bob \"B\" Jones", "Reset your password",
		"Hello,\n\nopen the link.\n" };
	struct buf b = { 0 };
	char err[160], *h;

	CHECK(build(&m, &b, err) == 0);
	lines_ok(b.data);
	CHECK(!strncmp(b.data, "Date: Mon, 07 Dec 2026 18:14:36 +0000\r\n",
	    39));
	h = header(b.data, "Message-ID");
	CHECK_STR(h, "<00112233445566778899aabbccddeeff@example.org>");
	free(h);
	h = header(b.data, "From");
	CHECK_STR(h, "\"kiln\" <kiln@example.org>");
	free(h);
	h = header(b.data, "To");
	CHECK_STR(h, "\"Bob \\\"B\\\" Jones\" <bob@example.org>");
	free(h);
	h = header(b.data, "Subject");
	CHECK_STR(h, "Reset your password");
	free(h);
	h = header(b.data, "Content-Type");
	CHECK_STR(h, "text/plain; charset=UTF-8");
	free(h);
	h = header(b.data, "Content-Transfer-Encoding");
	CHECK_STR(h, "quoted-printable");
	free(h);
	h = header(b.data, "MIME-Version");
	CHECK_STR(h, "1.0");
	free(h);
	CHECK(strstr(b.data, "\r\n\r\nHello,\r\n\r\nopen the link.\r\n") !=
	    NULL);
	/* No name: the address alone. */
	m.to_name = "";
	CHECK(build(&m, &b, err) == 0);
	h = header(b.data, "To");
	CHECK_STR(h, "bob@example.org");
	free(h);
	buf_free(&b);
}

static void
encoded_words(void)
{
	struct mail_msg m = { "kiln@example.org", NULL, "zoe@example.org",
		"Zo\xc3\xab", "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln", "x" };
	struct buf b = { 0 }, dec = { 0 };
	char err[160], *h, *p, *q;
	/* 40 copies of a two-byte letter and "-": 120 bytes, so three or
	 * more words, none cutting an "é" in half. */
	char longsub[200];
	int i;

	CHECK(build(&m, &b, err) == 0);
	h = header(b.data, "Subject");
	CHECK_STR(h, "=?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=");
	free(h);
	h = header(b.data, "To");
	CHECK_STR(h, "=?UTF-8?B?Wm/Dqw==?= <zoe@example.org>");
	free(h);
	h = header(b.data, "From");
	CHECK_STR(h, "kiln@example.org");
	free(h);

	for (i = 0, p = longsub; i < 40; i++) {
		memcpy(p, "\xc3\xa9-", 3);
		p += 3;
	}
	*p = '\0';
	m.subject = longsub;
	CHECK(build(&m, &b, err) == 0);
	lines_ok(b.data);
	h = header(b.data, "Subject");
	CHECK(h != NULL);
	/* Each word decodes to whole UTF-8 on its own; together they are
	 * the subject. */
	for (p = h, i = 0; p != NULL && (p = strstr(p, "=?UTF-8?B?")) != NULL;
	    i++) {
		unsigned char raw[64];
		size_t n = 0;

		p += 10;
		q = strstr(p, "?=");
		CHECK(q != NULL && q - p + 12 <= 75);
		if (q == NULL)
			break;
		CHECK(sodium_base642bin(raw, sizeof(raw), p, (size_t)(q - p),
		    NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) == 0);
		CHECK(n > 0 && (raw[0] & 0xc0) != 0x80);
		CHECK((raw[n - 1] & 0x80) == 0 || (raw[n - 1] & 0xc0) == 0x80);
		buf_append(&dec, raw, n);
		p = q + 2;
	}
	CHECK(i >= 3);
	CHECK(dec.data != NULL && !strcmp(dec.data, longsub));
	free(h);
	buf_free(&dec);
	buf_free(&b);
}

static void
injection_refused(void)
{
	struct mail_msg ok = { "kiln@example.org", "kiln", "bob@example.org",
		"Bob", "Subject", "body" };
	struct mail_msg m;
	struct buf b = { 0 };
	char err[160];

	m = ok;
	m.subject = "Hi\r\nBcc: evil@example.org";
	CHECK(build(&m, &b, err) == -1 && b.len == 0);
	m = ok;
	m.to_name = "Bob\r\nBcc: evil@example.org";
	CHECK(build(&m, &b, err) == -1 && b.len == 0);
	CHECK(strstr(err, "To name") != NULL);
	m = ok;
	m.from_name = "x\nBcc: evil@example.org";
	CHECK(build(&m, &b, err) == -1 && b.len == 0);
	m = ok;
	m.to = "bob@example.org\r\nBcc: evil@example.org";
	CHECK(build(&m, &b, err) == -1 && b.len == 0);
	CHECK(strstr(err, "To address") != NULL);
	m = ok;
	m.from = "kiln@example.org>\r\nBcc: <evil@example.org";
	CHECK(build(&m, &b, err) == -1 && b.len == 0);
	m = ok;
	m.subject = "";
	CHECK(build(&m, &b, err) == -1);
	/* In the body a line break is only a line break. */
	m = ok;
	m.body = "line\r\nBcc: evil@example.org\n";
	CHECK(build(&m, &b, err) == 0);
	CHECK(strstr(b.data, "\r\n\r\nline\r\nBcc: evil@example.org\r\n") !=
	    NULL);
	buf_free(&b);
}

static void
quoted_printable(void)
{
	struct mail_msg m = { "kiln@example.org", NULL, "bob@example.org",
		NULL, "s", "a=b caf\xc3\xa9  \nx" };
	struct buf b = { 0 };
	char err[160], body[300], *p;
	int i;

	CHECK(build(&m, &b, err) == 0);
	p = strstr(b.data, "\r\n\r\n");
	CHECK_STR(p + 4, "a=3Db caf=C3=A9 =20\r\nx\r\n");
	/* A long line is cut with soft breaks; a leading dot is kept for
	 * curl to double. */
	for (i = 0; i < 200; i++)
		body[i] = (char)('a' + i % 26);
	strcpy(body + 200, "\n.\n");
	m.body = body;
	CHECK(build(&m, &b, err) == 0);
	lines_ok(b.data);
	p = strstr(b.data, "\r\n\r\n") + 4;
	CHECK(strstr(p, "=\r\n") != NULL);
	CHECK(strstr(p, "\r\n.\r\n") != NULL);
	buf_free(&b);
}

static void
fingerprints(void)
{
	char a[65], b[65];

	mail_device_fingerprint(7, "UA", "192.0.2.10", a);
	mail_device_fingerprint(7, "UA", "192.0.2.200", b);
	CHECK_STR(a, b);
	CHECK(strlen(a) == 64);
	mail_device_fingerprint(7, "UA", "192.0.3.10", b);
	CHECK(strcmp(a, b) != 0);
	mail_device_fingerprint(8, "UA", "192.0.2.10", b);
	CHECK(strcmp(a, b) != 0);
	mail_device_fingerprint(7, "UA2", "192.0.2.10", b);
	CHECK(strcmp(a, b) != 0);
	mail_device_fingerprint(7, "UA", "2001:db8:1:2::1", a);
	mail_device_fingerprint(7, "UA", "2001:db8:1:ffff::9", b);
	CHECK_STR(a, b);
	mail_device_fingerprint(7, "UA", "2001:db8:2::1", b);
	CHECK(strcmp(a, b) != 0);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(addresses);
	RUN(header_text);
	RUN(plain_message);
	RUN(encoded_words);
	RUN(injection_refused);
	RUN(quoted_printable);
	RUN(fingerprints);
	return tap_done();
}
