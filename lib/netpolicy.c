/* netpolicy.c - the webhook URL parser, the refused address ranges and
 * the operator's allow list: pure logic, no I/O, shared by the web side
 * (at submission) and kilnd (at delivery, on the resolved addresses). */
#include "netpolicy.h"
#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------ addresses */

int
net_ipv4_parse(const char *s, struct net_addr *a)
{
	unsigned long long part[4], v;
	unsigned long long lastmax;
	int n = 0, i, base, d;

	for (;;) {
		if (n == 4)
			return 0;
		v = 0;
		if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
			/* "0x" alone is 0 to browsers (glibc refuses it):
			 * an address either way, never a name. */
			base = 16;
			s += 2;
		} else if (s[0] == '0') {
			base = 8;
		} else if (s[0] >= '1' && s[0] <= '9') {
			base = 10;
		} else {
			return 0;
		}
		for (; (d = hex_digit((unsigned char)*s)) >= 0 && d < base; s++) {
			v = v * (unsigned)base + (unsigned)d;
			/* Past 32 bits it is no address: stop before the
			 * sum can wrap. */
			if (v > 0xffffffffULL)
				return 0;
		}
		part[n++] = v;
		if (*s == '\0')
			break;
		if (*s != '.')
			return 0;
		s++;
	}
	/* Every part but the last is one byte; the last fills the rest. */
	for (i = 0; i < n - 1; i++)
		if (part[i] > 255)
			return 0;
	lastmax = 0xffffffffULL >> (8 * (n - 1));
	if (part[n - 1] > lastmax)
		return 0;
	v = part[n - 1];
	for (i = 0; i < n - 1; i++)
		v |= part[i] << (8 * (3 - i));
	memset(a, 0, sizeof(*a));
	a->family = 4;
	a->b[0] = (unsigned char)(v >> 24);
	a->b[1] = (unsigned char)(v >> 16);
	a->b[2] = (unsigned char)(v >> 8);
	a->b[3] = (unsigned char)v;
	return 1;
}

/* Strict text form (inet_pton) of either family. Returns 1 or 0. */
static int
addr_pton(const char *s, struct net_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->b) == 1) {
		a->family = 4;
		return 1;
	}
	if (inet_pton(AF_INET6, s, a->b) == 1) {
		a->family = 6;
		return 1;
	}
	return 0;
}

char *
net_addr_text(const struct net_addr *a, char out[NET_ADDR_TEXT])
{
	if (inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->b, out,
	    NET_ADDR_TEXT) == NULL)
		snprintf(out, NET_ADDR_TEXT, "?");
	return out;
}

/* Whether the first `prefix` bits of a and net agree. */
static int
prefix_match(const unsigned char *a, const unsigned char *net, int prefix)
{
	int whole = prefix / 8, rest = prefix % 8;

	if (memcmp(a, net, (size_t)whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[whole] ^ net[whole]) & (0xff << (8 - rest)) & 0xff) == 0;
}

/* A refused range: the network in text (parsed when used: the tables
 * stay readable) and what it is; embed >= 0 means "an IPv4 address sits
 * at this byte offset: judge that one instead". */
struct range {
	const char *net;
	int prefix;
	const char *what;
	int embed;
};

/* First match wins, so a narrower range comes before the one that holds
 * it. */
static const struct range v4_ranges[] = {
	{ "0.0.0.0", 32, "unspecified", -1 },
	{ "0.0.0.0", 8, "reserved (this network)", -1 },
	{ "10.0.0.0", 8, "private", -1 },
	{ "100.64.0.0", 10, "shared (carrier-grade NAT)", -1 },
	{ "127.0.0.0", 8, "loopback", -1 },
	{ "169.254.169.254", 32, "cloud metadata", -1 },
	{ "169.254.0.0", 16, "link-local", -1 },
	{ "172.16.0.0", 12, "private", -1 },
	{ "192.0.0.0", 24, "reserved (IETF protocol)", -1 },
	{ "192.168.0.0", 16, "private", -1 },
	{ "198.18.0.0", 15, "reserved (benchmarking)", -1 },
	{ "224.0.0.0", 4, "multicast", -1 },
	{ "255.255.255.255", 32, "broadcast", -1 },
	{ "240.0.0.0", 4, "reserved", -1 },
};

static const struct range v6_ranges[] = {
	{ "::", 128, "unspecified", -1 },
	{ "::1", 128, "loopback", -1 },
	{ "::ffff:0:0", 96, NULL, 12 },		/* IPv4-mapped */
	{ "::ffff:0:0:0", 96, NULL, 12 },	/* IPv4-translated */
	{ "::", 96, NULL, 12 },			/* IPv4-compatible */
	{ "64:ff9b::", 96, NULL, 12 },		/* NAT64 */
	{ "64:ff9b:1::", 48, "reserved (local NAT64)", -1 },
	{ "::", 8, "reserved", -1 },
	{ "100::", 64, "reserved (discard)", -1 },
	{ "2001::", 32, "reserved (Teredo)", -1 },
	{ "2001:db8::", 32, "reserved (documentation)", -1 },
	{ "2002::", 16, NULL, 2 },		/* 6to4 */
	{ "fd00:ec2::254", 128, "cloud metadata", -1 },
	{ "fc00::", 7, "private (unique local)", -1 },
	{ "fe80::", 10, "link-local", -1 },
	{ "fec0::", 10, "site-local", -1 },
	{ "ff00::", 8, "multicast", -1 },
};

const char *
net_addr_refused(const struct net_addr *a)
{
	const struct range *r = a->family == 4 ? v4_ranges : v6_ranges;
	size_t n = a->family == 4 ? ARRAY_LEN(v4_ranges) :
	    ARRAY_LEN(v6_ranges), i;
	unsigned char net[16];

	for (i = 0; i < n; i++) {
		if (inet_pton(a->family == 4 ? AF_INET : AF_INET6, r[i].net,
		    net) != 1 || !prefix_match(a->b, net, r[i].prefix))
			continue;
		if (r[i].embed >= 0) {
			struct net_addr v4;

			memset(&v4, 0, sizeof(v4));
			v4.family = 4;
			memcpy(v4.b, a->b + r[i].embed, 4);
			return net_addr_refused(&v4);
		}
		return r[i].what;
	}
	return NULL;
}

/* ------------------------------------------------------------ host names */

/* Whether s (len bytes, no trailing dot) is a host name: dot-separated
 * labels of 1-63 letters, digits, '-' or '_', 253 bytes at most. */
static int
name_ok(const char *s, size_t len)
{
	size_t i, label = 0;

	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-' && c != '_')
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0;
}

/* Whether the last label of s (len bytes, no trailing dot) is a number
 * (digits, or 0x and hex digits): then the whole name must be an IPv4
 * address, as browsers and curl read it, never a name to look up. */
static int
ends_in_number(const char *s, size_t len)
{
	size_t start = len, i;

	while (start > 0 && s[start - 1] != '.')
		start--;
	if (start == len)
		return 0;
	if (len - start >= 2 && s[start] == '0' &&
	    (s[start + 1] == 'x' || s[start + 1] == 'X')) {
		for (i = start + 2; i < len; i++)
			if (hex_digit((unsigned char)s[i]) < 0)
				return 0;
		return 1;
	}
	for (i = start; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* Copies host into out (outlen bytes) lower-cased, without one trailing
 * dot. Returns 0, or -1 when it does not fit. */
static int
host_norm(const char *host, char *out, size_t outlen)
{
	size_t n = strlen(host), i;

	if (n > 0 && host[n - 1] == '.')
		n--;
	if (n >= outlen)
		return -1;
	for (i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)host[i]);
	out[n] = '\0';
	return 0;
}

/* ------------------------------------------------------------ allow list */

struct allow_entry {
	char *name;		/* lower-case; NULL for a network */
	struct net_addr net;
	int prefix;
};

struct net_allow {
	struct allow_entry *e;
	size_t n;
};

void
net_allow_free(struct net_allow *al)
{
	size_t i;

	if (al == NULL)
		return;
	for (i = 0; i < al->n; i++)
		free(al->e[i].name);
	free(al->e);
	free(al);
}

/* Parses one entry into e. Returns 0, or -1 with a message in err. */
static int
allow_entry_parse(const char *tok, struct allow_entry *e, char *err,
	size_t errlen)
{
	char buf[256], *slash;
	size_t n = strlen(tok);
	long bits;

	memset(e, 0, sizeof(*e));
	if (n >= sizeof(buf))
		return errf(err, errlen, "\"%.64s...\" is too long", tok);
	memcpy(buf, tok, n + 1);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	if (addr_pton(buf, &e->net)) {
		int max = e->net.family == 4 ? 32 : 128;
		struct net_addr masked = e->net;
		int i;

		e->prefix = max;
		if (slash != NULL) {
			if (parse_long(slash + 1, 0, max, &bits) != 0)
				return errf(err, errlen, "\"%s\": the prefix "
				    "length must be 0-%d", tok, max);
			e->prefix = (int)bits;
		}
		/* "10.1.2.3/8" is more likely a typo than a wish for all
		 * of 10/8: say so. */
		for (i = e->prefix; i < max; i++)
			masked.b[i / 8] &= (unsigned char)~(0x80 >> (i % 8));
		if (memcmp(masked.b, e->net.b, sizeof(masked.b)) != 0)
			return errf(err, errlen, "\"%s\": bits are set past "
			    "the /%d prefix", tok, e->prefix);
		return 0;
	}
	if (slash == NULL) {
		const char *h = buf[0] == '.' ? buf + 1 : buf;
		size_t hl = strlen(h);
		size_t i;

		if (hl > 0 && h[hl - 1] == '.')
			hl--;
		if (name_ok(h, hl) && !ends_in_number(h, hl)) {
			e->name = xstrdup(buf);
			for (i = 0; e->name[i] != '\0'; i++)
				e->name[i] = (char)tolower(
				    (unsigned char)e->name[i]);
			i = strlen(e->name);
			if (i > 1 && e->name[i - 1] == '.')
				e->name[i - 1] = '\0';
			return 0;
		}
	}
	return errf(err, errlen, "\"%s\" is not an address (127.0.0.1, ::1), "
	    "a network (10.0.0.0/8) or a host name", tok);
}

struct net_allow *
net_allow_new(const char *spec, char *err, size_t errlen)
{
	struct net_allow *al = xcalloc(1, sizeof(*al));
	char *copy, *tok, *save = NULL;
	size_t cap = 0;

	if (spec == NULL || *spec == '\0')
		return al;
	copy = xstrdup(spec);
	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		if (al->n == cap) {
			cap = cap ? cap * 2 : 8;
			al->e = xreallocarray(al->e, cap, sizeof(*al->e));
		}
		if (allow_entry_parse(tok, &al->e[al->n], err, errlen) != 0) {
			free(copy);
			net_allow_free(al);
			return NULL;
		}
		al->n++;
	}
	free(copy);
	return al;
}

/* a with an IPv4-mapped IPv6 address (::ffff:a.b.c.d) turned into the
 * IPv4 one, so "127.0.0.1" in the list covers it too. */
static struct net_addr
unmapped(const struct net_addr *a)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0xff, 0xff };
	struct net_addr r = *a;

	if (a->family == 6 && !memcmp(a->b, mapped, sizeof(mapped))) {
		memset(&r, 0, sizeof(r));
		r.family = 4;
		memcpy(r.b, a->b + 12, 4);
	}
	return r;
}

int
net_allow_addr(const struct net_allow *al, const struct net_addr *a)
{
	struct net_addr u;
	size_t i;

	if (al == NULL)
		return 0;
	u = unmapped(a);
	for (i = 0; i < al->n; i++)
		if (al->e[i].name == NULL &&
		    al->e[i].net.family == u.family &&
		    prefix_match(u.b, al->e[i].net.b, al->e[i].prefix))
			return 1;
	return 0;
}

int
net_allow_host(const struct net_allow *al, const char *host)
{
	char h[256];
	size_t i, hl;

	if (al == NULL || host_norm(host, h, sizeof(h)) != 0)
		return 0;
	hl = strlen(h);
	for (i = 0; i < al->n; i++) {
		const char *n = al->e[i].name;
		size_t nl;

		if (n == NULL)
			continue;
		nl = strlen(n);
		/* ".corp.example": every name under it, not itself. */
		if (n[0] == '.' ? hl > nl && !strcmp(h + hl - nl, n) :
		    !strcmp(h, n))
			return 1;
	}
	return 0;
}

int
net_addr_permitted(const struct net_allow *al, const char *host,
	const struct net_addr *a)
{
	return net_allow_host(al, host) || net_allow_addr(al, a) ||
	    net_addr_refused(a) == NULL;
}

/* ------------------------------------------------------------ URLs */

int
hook_url_parse(const char *url, struct hook_url *u, char *msg,
	size_t msglen)
{
	const char *p, *auth, *end, *host, *hend, *port = NULL;
	size_t hl, i;

	memset(u, 0, sizeof(*u));
	if (url == NULL)
		return errf(msg, msglen, "must be an http:// or https:// URL");
	if (!strncasecmp(url, "https://", 8)) {
		u->https = 1;
		auth = url + 8;
	} else if (!strncasecmp(url, "http://", 7)) {
		auth = url + 7;
	} else {
		return errf(msg, msglen, "must be an http:// or https:// URL");
	}
	/* Nothing a request line or a header could be split on, anywhere;
	 * bytes past ASCII (UTF-8 in a path) are the caller's to check. */
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return errf(msg, msglen, "must not contain spaces or "
			    "control characters");
	end = auth + strcspn(auth, "/?#");
	/* userinfo: whatever stands before an '@' (curl takes the last
	 * one, browsers too); none is accepted, so no reading of where it
	 * ends matters. */
	if (memchr(auth, '@', (size_t)(end - auth)) != NULL)
		return errf(msg, msglen, "must not contain a user name or "
		    "password");
	if (auth[0] == '[') {
		char lit[64];

		hend = memchr(auth, ']', (size_t)(end - auth));
		if (hend == NULL || (size_t)(hend - auth - 1) >= sizeof(lit))
			return errf(msg, msglen, "has an invalid IPv6 "
			    "address");
		memcpy(lit, auth + 1, (size_t)(hend - auth - 1));
		lit[hend - auth - 1] = '\0';
		/* inet_pton takes no zone ("%25eth0"): link-local is
		 * refused anyway. */
		if (inet_pton(AF_INET6, lit, u->addr.b) != 1)
			return errf(msg, msglen, "has an invalid IPv6 "
			    "address");
		u->addr.family = 6;
		u->literal = 1;
		host = auth + 1;
		hl = (size_t)(hend - host);
		hend++;
		if (hend < end && *hend != ':')
			return errf(msg, msglen, "has an invalid IPv6 "
			    "address");
	} else {
		host = auth;
		hend = memchr(auth, ':', (size_t)(end - auth));
		if (hend == NULL)
			hend = end;
		hl = (size_t)(hend - host);
	}
	if (hend < end) {
		long v;
		char digits[8];
		size_t pl = (size_t)(end - hend - 1);

		port = hend + 1;
		if (pl == 0 || pl >= sizeof(digits))
			return errf(msg, msglen, "has an invalid port (1 to "
			    "65535)");
		memcpy(digits, port, pl);
		digits[pl] = '\0';
		for (i = 0; i < pl; i++)
			if (digits[i] < '0' || digits[i] > '9')
				return errf(msg, msglen, "has an invalid port "
				    "(1 to 65535)");
		if (parse_long(digits, 1, 65535, &v) != 0)
			return errf(msg, msglen, "has an invalid port (1 to "
			    "65535)");
		u->port = (unsigned)v;
	} else {
		u->port = u->https ? 443 : 80;
	}
	if (hl == 0)
		return errf(msg, msglen, "must name a host");
	if (hl >= sizeof(u->host))
		return errf(msg, msglen, "has an invalid host name");
	for (i = 0; i < hl; i++)
		u->host[i] = (char)tolower((unsigned char)host[i]);
	u->host[hl] = '\0';
	if (u->literal)
		return 0;
	/* One trailing dot is the root: "127.0.0.1." is still 127.0.0.1
	 * to a browser, and a name to a resolver. */
	if (hl > 0 && u->host[hl - 1] == '.')
		hl--;
	if (!name_ok(u->host, hl))
		return errf(msg, msglen, "has an invalid host name");
	if (ends_in_number(u->host, hl)) {
		char v4[254];

		memcpy(v4, u->host, hl);
		v4[hl] = '\0';
		if (!net_ipv4_parse(v4, &u->addr))
			return errf(msg, msglen, "has an invalid IPv4 "
			    "address");
		u->literal = 1;
	}
	return 0;
}

/* Whether host (normalized) is "localhost" or under ".localhost", which
 * RFC 6761 reserves for loopback whatever DNS says. */
static int
is_localhost(const char *host)
{
	char h[256];
	size_t n;

	if (host_norm(host, h, sizeof(h)) != 0)
		return 0;
	n = strlen(h);
	return !strcmp(h, "localhost") ||
	    (n > 10 && !strcmp(h + n - 10, ".localhost"));
}

int
hook_url_check(const char *url, const struct net_allow *al, char *msg,
	size_t msglen)
{
	struct hook_url u;
	const char *what;
	char text[NET_ADDR_TEXT];

	if (hook_url_parse(url, &u, msg, msglen) != 0)
		return -1;
	if (net_allow_host(al, u.host))
		return 0;
	if (u.literal) {
		if (net_allow_addr(al, &u.addr))
			return 0;
		what = net_addr_refused(&u.addr);
		if (what != NULL)
			return errf(msg, msglen, "must not point at a %s "
			    "address (%s)", what, net_addr_text(&u.addr,
			    text));
		return 0;
	}
	if (is_localhost(u.host))
		return errf(msg, msglen, "must not point at a loopback "
		    "address (%s)", u.host);
	return 0;
}
