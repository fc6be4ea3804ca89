/* fuzz_webhook_url.c - libFuzzer harness for the webhook URL parser, the
 * inet_aton-style IPv4 reader and the [webhooks] allow list parser: the
 * input (up to its first NUL) is given to each. Besides never crashing or
 * leaking: a parsed URL has a host of allowed characters and a port in
 * range; a refused literal is never passed by the submission check; and
 * every string glibc's inet_aton reads as an address (so curl or
 * getaddrinfo would connect to it) our reader reads as the same one, so
 * no spelling of an internal address slips past as a host name. */
#include "fuzz.h"
#include "netpolicy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void
url(const char *s)
{
	struct hook_url u;
	const char *auth;
	char msg[256] = "", msg2[256] = "";
	size_t i, n;
	int rc, rc2;

	rc = hook_url_parse(s, &u, msg, sizeof(msg));
	rc2 = hook_url_check(s, NULL, msg2, sizeof(msg2));
	if (rc != 0) {
		/* Every refusal says why, and the check refuses alike. */
		CHECK(rc == -1 && msg[0] != '\0');
		CHECK(rc2 == -1 && !strcmp(msg, msg2));
		return;
	}
	CHECK(!strncasecmp(s, u.https ? "https://" : "http://",
	    u.https ? 8 : 7));
	CHECK(u.port >= 1 && u.port <= 65535);
	n = strlen(u.host);
	CHECK(n > 0 && n < sizeof(u.host));
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)u.host[i];

		CHECK(!isupper(c));
		CHECK(isalnum(c) || c == '-' || c == '_' || c == '.' ||
		    (u.literal && u.addr.family == 6 && c == ':'));
	}
	/* No user name: no '@' before the path. */
	auth = s + (u.https ? 8 : 7);
	CHECK(memchr(auth, '@', strcspn(auth, "/?#")) == NULL);
	if (u.literal) {
		CHECK(u.addr.family == 4 || u.addr.family == 6);
		if (net_addr_refused(&u.addr) != NULL)
			CHECK(rc2 == -1 && msg2[0] != '\0');
	}
}

static void
ipv4(const char *s)
{
	struct net_addr a, b;
	struct in_addr in;
	char text[NET_ADDR_TEXT];
	size_t i;
	int ours = net_ipv4_parse(s, &a), plain = 1;

	if (ours) {
		/* Its text form reads back as the same address. */
		CHECK(a.family == 4);
		CHECK(net_ipv4_parse(net_addr_text(&a, text), &b) == 1);
		CHECK(!memcmp(a.b, b.b, 4));
	}
	/* inet_aton also takes trailing blanks and junk after them, which
	 * no URL host holds: compare only on the characters a host may. */
	for (i = 0; s[i] != '\0'; i++)
		if (!isxdigit((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != 'x' && s[i] != 'X')
			plain = 0;
	if (plain && inet_aton(s, &in) == 1) {
		CHECK(ours);
		CHECK(!memcmp(a.b, &in.s_addr, 4));
	}
}

static void
allow(const char *s)
{
	char err[256] = "";
	struct net_allow *al = net_allow_new(s, err, sizeof(err));
	struct net_addr lo = { 4, { 127, 0, 0, 1 } };

	if (al == NULL) {
		CHECK(err[0] != '\0');
		return;
	}
	/* Usable whatever it holds. */
	(void)net_allow_addr(al, &lo);
	(void)net_allow_host(al, s);
	(void)net_addr_permitted(al, "x.example", &lo);
	net_allow_free(al);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1);

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	url(copy);
	ipv4(copy);
	allow(copy);
	free(copy);
	return 0;
}
