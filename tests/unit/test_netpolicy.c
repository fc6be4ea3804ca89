/* test_netpolicy.c - the webhook URL and address classifier: every
 * spelling of an internal address that curl or inet_aton would accept
 * is refused, public ones pass, and the operator's allow list lets the
 * named ones through. */
#include "netpolicy.h"
#include "tap.h"

#include <arpa/inet.h>
#include <stdlib.h>

/* Strict text of either family into a. Returns 1, or 0. */
static int
inet_pton_any(const char *s, struct net_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->b) == 1) {
		a->family = 4;
		return 1;
	}
	a->family = 6;
	return inet_pton(AF_INET6, s, a->b) == 1;
}

/* s read as inet_aton would, as text ("" when it is no number). */
static const char *
v4(const char *s, char out[NET_ADDR_TEXT])
{
	struct net_addr a;

	if (!net_ipv4_parse(s, &a))
		return "";
	CHECK(a.family == 4);
	return net_addr_text(&a, out);
}

static void
ipv4_spellings_read_as_inet_aton_does(void)
{
	char t[NET_ADDR_TEXT];

	CHECK_STR(v4("127.0.0.1", t), "127.0.0.1");
	CHECK_STR(v4("0x7f000001", t), "127.0.0.1");
	CHECK_STR(v4("0X7F000001", t), "127.0.0.1");
	CHECK_STR(v4("2130706433", t), "127.0.0.1");
	CHECK_STR(v4("0177.0.0.1", t), "127.0.0.1");
	CHECK_STR(v4("017700000001", t), "127.0.0.1");
	CHECK_STR(v4("127.1", t), "127.0.0.1");
	CHECK_STR(v4("127.0.1", t), "127.0.0.1");
	CHECK_STR(v4("0x7f.1", t), "127.0.0.1");
	CHECK_STR(v4("0x7f.0.0.0x1", t), "127.0.0.1");
	CHECK_STR(v4("0", t), "0.0.0.0");
	CHECK_STR(v4("0x", t), "0.0.0.0");
	CHECK_STR(v4("169.254.43518", t), "169.254.169.254");
	CHECK_STR(v4("10.0.0.255", t), "10.0.0.255");
	CHECK_STR(v4("4294967295", t), "255.255.255.255");
	/* Not numbers: a name to look up, or an error. */
	CHECK_STR(v4("4294967296", t), "");
	CHECK_STR(v4("256.0.0.1", t), "");
	CHECK_STR(v4("1.2.3.256", t), "");
	CHECK_STR(v4("1.2.65536", t), "");
	CHECK_STR(v4("1.2.3.4.5", t), "");
	CHECK_STR(v4("08", t), "");
	CHECK_STR(v4("1..2", t), "");
	CHECK_STR(v4("", t), "");
	CHECK_STR(v4("127.0.0.1.", t), "");
	CHECK_STR(v4("0x1g", t), "");
	CHECK_STR(v4("example", t), "");
	CHECK_STR(v4("99999999999999999999999", t), "");
}

/* The refused range of the address in text ("" when public). */
static const char *
refused(const char *text)
{
	struct net_addr a;
	const char *why;

	memset(&a, 0, sizeof(a));
	if (inet_pton_any(text, &a) != 1)
		return "(bad test address)";
	why = net_addr_refused(&a);
	return why ? why : "";
}

static void
internal_ranges_are_refused(void)
{
	CHECK_STR(refused("127.0.0.1"), "loopback");
	CHECK_STR(refused("127.255.255.254"), "loopback");
	CHECK_STR(refused("::1"), "loopback");
	CHECK_STR(refused("10.0.0.1"), "private");
	CHECK_STR(refused("172.16.0.1"), "private");
	CHECK_STR(refused("172.31.255.255"), "private");
	CHECK_STR(refused("192.168.1.1"), "private");
	CHECK_STR(refused("100.64.0.1"), "shared (carrier-grade NAT)");
	CHECK_STR(refused("100.127.255.255"), "shared (carrier-grade NAT)");
	CHECK_STR(refused("fc00::1"), "private (unique local)");
	CHECK_STR(refused("fd12:3456::1"), "private (unique local)");
	CHECK_STR(refused("169.254.1.1"), "link-local");
	CHECK_STR(refused("fe80::1"), "link-local");
	CHECK_STR(refused("febf::1"), "link-local");
	CHECK_STR(refused("169.254.169.254"), "cloud metadata");
	CHECK_STR(refused("fd00:ec2::254"), "cloud metadata");
	CHECK_STR(refused("224.0.0.1"), "multicast");
	CHECK_STR(refused("239.255.255.250"), "multicast");
	CHECK_STR(refused("ff02::1"), "multicast");
	CHECK_STR(refused("0.0.0.0"), "unspecified");
	CHECK_STR(refused("0.1.2.3"), "reserved (this network)");
	CHECK_STR(refused("::"), "unspecified");
	CHECK_STR(refused("255.255.255.255"), "broadcast");
	CHECK_STR(refused("240.0.0.1"), "reserved");
}

static void
ipv6_forms_of_ipv4_are_judged_by_the_ipv4(void)
{
	CHECK_STR(refused("::ffff:127.0.0.1"), "loopback");
	CHECK_STR(refused("::ffff:7f00:1"), "loopback");
	CHECK_STR(refused("::ffff:10.1.2.3"), "private");
	CHECK_STR(refused("::ffff:169.254.169.254"), "cloud metadata");
	CHECK_STR(refused("::ffff:0.0.0.0"), "unspecified");
	CHECK_STR(refused("::ffff:0:127.0.0.1"), "loopback");
	CHECK_STR(refused("::127.0.0.1"), "loopback");
	CHECK_STR(refused("64:ff9b::192.168.0.1"), "private");
	CHECK_STR(refused("2002:7f00:1::"), "loopback");
	CHECK_STR(refused("2002:a9fe:a9fe::1"), "cloud metadata");
	CHECK_STR(refused("::ffff:8.8.8.8"), "");
	CHECK_STR(refused("64:ff9b::8.8.8.8"), "");
}

static void
public_addresses_pass(void)
{
	CHECK_STR(refused("8.8.8.8"), "");
	CHECK_STR(refused("93.184.216.34"), "");
	CHECK_STR(refused("1.1.1.1"), "");
	CHECK_STR(refused("11.0.0.1"), "");
	CHECK_STR(refused("172.15.255.255"), "");
	CHECK_STR(refused("172.32.0.1"), "");
	CHECK_STR(refused("192.169.0.1"), "");
	CHECK_STR(refused("100.63.255.255"), "");
	CHECK_STR(refused("100.128.0.1"), "");
	CHECK_STR(refused("169.253.255.255"), "");
	CHECK_STR(refused("223.255.255.255"), "");
	CHECK_STR(refused("2606:4700:4700::1111"), "");
	CHECK_STR(refused("2a00:1450:4001::200e"), "");
}

/* What hook_url_check says of url with the allow list al: "" when it
 * passes. */
static const char *
check(const char *url, const struct net_allow *al)
{
	static char msg[256];

	msg[0] = '\0';
	if (hook_url_check(url, al, msg, sizeof(msg)) == 0)
		return "";
	CHECK(msg[0] != '\0');
	return msg;
}

static void
internal_urls_are_refused_in_every_spelling(void)
{
	static const char *const bad[] = {
		"http://127.0.0.1/", "http://127.0.0.1:8080/hook",
		"https://127.0.0.1./", "http://0x7f000001/",
		"http://0X7F000001:80/", "http://2130706433/",
		"http://0177.0.0.1/", "http://127.1/", "http://127.0.1/",
		"http://0x7f.1/", "http://017700000001/", "http://[::1]/",
		"http://[::1]:9000/x", "http://[0:0:0:0:0:0:0:1]/",
		"http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/",
		"http://169.254.169.254/latest/meta-data/",
		"http://169.254.43518/", "http://[fd00:ec2::254]/",
		"http://10.0.0.1/", "http://172.16.5.4/",
		"http://192.168.0.10/", "http://100.64.1.1/",
		"http://[fc00::1]/", "http://[fd00::1]/",
		"http://169.254.10.10/", "http://[fe80::1]/",
		"http://224.0.0.1/", "http://[ff02::1]/", "http://0.0.0.0/",
		"http://0/", "http://[::]/", "http://255.255.255.255/",
		"http://localhost/", "http://LOCALHOST:8080/",
		"http://localhost./", "http://api.localhost/",
		"HTTP://127.0.0.1/",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *m = check(bad[i], NULL);

		if (strncmp(m, "must not point at a ", 20) != 0)
			printf("# %s: \"%s\"\n", bad[i], m);
		CHECK(strncmp(m, "must not point at a ", 20) == 0);
	}
	CHECK_STR(check("http://0x7f000001/", NULL),
	    "must not point at a loopback address (127.0.0.1)");
	CHECK_STR(check("http://[::ffff:a9fe:a9fe]/", NULL),
	    "must not point at a cloud metadata address (::ffff:169.254.169.254)");
	CHECK_STR(check("http://localhost:1/", NULL),
	    "must not point at a loopback address (localhost)");
}

static void
malformed_urls_are_refused(void)
{
	CHECK_STR(check("ftp://example.com/", NULL),
	    "must be an http:// or https:// URL");
	CHECK_STR(check("file:///etc/passwd", NULL),
	    "must be an http:// or https:// URL");
	CHECK_STR(check("gopher://example.com/", NULL),
	    "must be an http:// or https:// URL");
	CHECK_STR(check("example.com/hook", NULL),
	    "must be an http:// or https:// URL");
	CHECK_STR(check("//example.com/hook", NULL),
	    "must be an http:// or https:// URL");
	CHECK_STR(check("http://user:pass@example.com/", NULL),
	    "must not contain a user name or password");
	CHECK_STR(check("http://user@example.com/", NULL),
	    "must not contain a user name or password");
	CHECK_STR(check("http://@example.com/", NULL),
	    "must not contain a user name or password");
	CHECK_STR(check("http://example.com@127.0.0.1/", NULL),
	    "must not contain a user name or password");
	CHECK_STR(check("http://a:b@[::1]/", NULL),
	    "must not contain a user name or password");
	CHECK_STR(check("http:///hook", NULL), "must name a host");
	CHECK_STR(check("http://:80/", NULL), "must name a host");
	CHECK_STR(check("http://example.com:0/", NULL),
	    "has an invalid port (1 to 65535)");
	CHECK_STR(check("http://example.com:65536/", NULL),
	    "has an invalid port (1 to 65535)");
	CHECK_STR(check("http://example.com:/", NULL),
	    "has an invalid port (1 to 65535)");
	CHECK_STR(check("http://example.com:8o/", NULL),
	    "has an invalid port (1 to 65535)");
	CHECK_STR(check("http://example.com:80:80/", NULL),
	    "has an invalid port (1 to 65535)");
	CHECK_STR(check("http://exa mple.com/", NULL),
	    "must not contain spaces or control characters");
	CHECK_STR(check("http://example.com/a\r\nHost: x", NULL),
	    "must not contain spaces or control characters");
	CHECK_STR(check("http://exa%6dple.com/", NULL),
	    "has an invalid host name");
	CHECK_STR(check("http://example..com/", NULL),
	    "has an invalid host name");
	CHECK_STR(check("http://example.com\\.evil/", NULL),
	    "has an invalid host name");
	CHECK_STR(check("http://1.2.3.4.5/", NULL),
	    "has an invalid IPv4 address");
	CHECK_STR(check("http://256.1.1.1/", NULL),
	    "has an invalid IPv4 address");
	CHECK_STR(check("http://example.0x10/", NULL),
	    "has an invalid IPv4 address");
	CHECK_STR(check("http://[fe80::1%25eth0]/", NULL),
	    "has an invalid IPv6 address");
	CHECK_STR(check("http://[::1/", NULL), "has an invalid IPv6 address");
	CHECK_STR(check("http://[::1]x/", NULL),
	    "has an invalid IPv6 address");
	CHECK_STR(check("http://[127.0.0.1]/", NULL),
	    "has an invalid IPv6 address");
}

static void
public_urls_pass(void)
{
	CHECK_STR(check("https://hooks.example/kiln", NULL), "");
	CHECK_STR(check("http://hooks.example:8080/kiln?x=1#f", NULL), "");
	CHECK_STR(check("HTTPS://Hooks.Example./k", NULL), "");
	CHECK_STR(check("http://93.184.216.34/hook", NULL), "");
	CHECK_STR(check("http://1.1.1.1:443", NULL), "");
	CHECK_STR(check("http://[2606:4700:4700::1111]:8443/h", NULL), "");
	CHECK_STR(check("http://[::ffff:8.8.8.8]/", NULL), "");
	CHECK_STR(check("http://under_score.example/", NULL), "");
	CHECK_STR(check("http://0x7f000001.example.com/", NULL), "");
	CHECK_STR(check("http://localhost.example.com/", NULL), "");
	CHECK_STR(check("https://example.com/caf\xc3\xa9", NULL), "");
}

static void
parse_gives_host_port_and_literal(void)
{
	struct hook_url u;
	char msg[128], t[NET_ADDR_TEXT];

	CHECK(hook_url_parse("HTTPS://Hooks.Example/k", &u, msg,
	    sizeof(msg)) == 0);
	CHECK(u.https == 1 && u.port == 443 && !u.literal);
	CHECK_STR(u.host, "hooks.example");
	CHECK(hook_url_parse("http://hooks.example:8080", &u, msg,
	    sizeof(msg)) == 0);
	CHECK(u.https == 0 && u.port == 8080);
	CHECK(hook_url_parse("http://0x7f.1:81/", &u, msg, sizeof(msg)) == 0);
	CHECK(u.literal && u.port == 81);
	CHECK_STR(net_addr_text(&u.addr, t), "127.0.0.1");
	CHECK(hook_url_parse("http://[::FFFF:7F00:1]/", &u, msg,
	    sizeof(msg)) == 0);
	CHECK(u.literal && u.addr.family == 6 && u.port == 80);
	CHECK_STR(u.host, "::ffff:7f00:1");
	CHECK(hook_url_parse("http://x", &u, msg, sizeof(msg)) == 0);
	CHECK_STR(u.host, "x");
	CHECK(hook_url_parse(NULL, &u, msg, sizeof(msg)) == -1);
}

static void
allow_list_permits_what_it_names(void)
{
	char err[256] = "";
	struct net_allow *al = net_allow_new("127.0.0.1, 10.0.0.0/8 "
	    "hooks.internal,.corp.example\tfd00::/8,LocalHost", err,
	    sizeof(err));

	CHECK(al != NULL);
	if (al == NULL) {
		printf("# %s\n", err);
		return;
	}
	CHECK_STR(check("http://127.0.0.1:9000/", al), "");
	CHECK_STR(check("http://0x7f000001:9000/", al), "");
	CHECK_STR(check("http://127.1/", al), "");
	CHECK_STR(check("http://[::ffff:127.0.0.1]/", al), "");
	CHECK_STR(check("http://10.200.3.4/", al), "");
	CHECK_STR(check("http://[fd00::5]/", al), "");
	CHECK_STR(check("http://hooks.internal/", al), "");
	CHECK_STR(check("http://HOOKS.internal./", al), "");
	CHECK_STR(check("http://a.corp.example/", al), "");
	CHECK_STR(check("http://localhost:8080/", al), "");
	/* Only what it names. */
	CHECK_STR(check("http://127.0.0.2/", al),
	    "must not point at a loopback address (127.0.0.2)");
	CHECK_STR(check("http://[::1]/", al),
	    "must not point at a loopback address (::1)");
	CHECK_STR(check("http://192.168.1.1/", al),
	    "must not point at a private address (192.168.1.1)");
	CHECK_STR(check("http://169.254.169.254/", al),
	    "must not point at a cloud metadata address (169.254.169.254)");
	CHECK_STR(check("http://[fe80::1]/", al),
	    "must not point at a link-local address (fe80::1)");
	CHECK_STR(check("http://api.localhost/", al),
	    "must not point at a loopback address (api.localhost)");
	CHECK_STR(check("http://user:pw@127.0.0.1/", al),
	    "must not contain a user name or password");
	CHECK_STR(check("ftp://127.0.0.1/", al),
	    "must be an http:// or https:// URL");
	net_allow_free(al);
}

static void
allow_list_decides_delivery_addresses(void)
{
	char err[256];
	struct net_allow *al = net_allow_new("127.0.0.1 hooks.internal "
	    ".corp.example", err, sizeof(err));
	struct net_addr lo, lo2, ten, pub;

	CHECK(al != NULL);
	CHECK(inet_pton_any("127.0.0.1", &lo) == 1);
	CHECK(inet_pton_any("127.0.0.2", &lo2) == 1);
	CHECK(inet_pton_any("10.1.1.1", &ten) == 1);
	CHECK(inet_pton_any("93.184.216.34", &pub) == 1);
	CHECK(net_addr_permitted(al, "anything.example", &lo));
	CHECK(!net_addr_permitted(al, "anything.example", &lo2));
	CHECK(!net_addr_permitted(al, "anything.example", &ten));
	CHECK(net_addr_permitted(al, "anything.example", &pub));
	/* A permitted name may resolve to anything internal. */
	CHECK(net_addr_permitted(al, "hooks.internal", &ten));
	CHECK(net_addr_permitted(al, "Hooks.Internal.", &lo2));
	CHECK(net_addr_permitted(al, "x.y.corp.example", &ten));
	CHECK(!net_addr_permitted(al, "corp.example", &ten));
	CHECK(!net_addr_permitted(al, "evilcorp.example", &ten));
	CHECK(!net_addr_permitted(al, "hooks.internal.evil", &ten));
	/* No list: only public addresses. */
	CHECK(!net_addr_permitted(NULL, "localhost", &lo));
	CHECK(net_addr_permitted(NULL, "x", &pub));
	net_allow_free(al);
	net_allow_free(NULL);
}

/* The message net_allow_new gives for spec ("" when it parses). */
static const char *
allow_error(const char *spec)
{
	static char err[256];
	struct net_allow *al;

	err[0] = '\0';
	al = net_allow_new(spec, err, sizeof(err));
	if (al != NULL) {
		net_allow_free(al);
		return "";
	}
	return err;
}

static void
allow_list_syntax_errors_name_the_entry(void)
{
	CHECK_STR(allow_error(""), "");
	CHECK_STR(allow_error(NULL), "");
	CHECK_STR(allow_error(" , ,"), "");
	CHECK_STR(allow_error("0.0.0.0/0, ::/0"), "");
	CHECK_STR(allow_error("10.1.2.3/8"),
	    "\"10.1.2.3/8\": bits are set past the /8 prefix");
	CHECK_STR(allow_error("10.0.0.0/33"),
	    "\"10.0.0.0/33\": the prefix length must be 0-32");
	CHECK_STR(allow_error("::1/129"),
	    "\"::1/129\": the prefix length must be 0-128");
	CHECK_STR(allow_error("10.0.0.0/x"),
	    "\"10.0.0.0/x\": the prefix length must be 0-32");
	CHECK_STR(allow_error("ok.example, 127.1"),
	    "\"127.1\" is not an address (127.0.0.1, ::1), a network "
	    "(10.0.0.0/8) or a host name");
	CHECK_STR(allow_error("[::1]"),
	    "\"[::1]\" is not an address (127.0.0.1, ::1), a network "
	    "(10.0.0.0/8) or a host name");
	CHECK_STR(allow_error("hooks.internal/8"),
	    "\"hooks.internal/8\" is not an address (127.0.0.1, ::1), a "
	    "network (10.0.0.0/8) or a host name");
	CHECK_STR(allow_error("http://hooks.internal"),
	    "\"http://hooks.internal\" is not an address (127.0.0.1, ::1), "
	    "a network (10.0.0.0/8) or a host name");
	CHECK_STR(allow_error("."),
	    "\".\" is not an address (127.0.0.1, ::1), a network "
	    "(10.0.0.0/8) or a host name");
}

int
main(void)
{
	RUN(ipv4_spellings_read_as_inet_aton_does);
	RUN(internal_ranges_are_refused);
	RUN(ipv6_forms_of_ipv4_are_judged_by_the_ipv4);
	RUN(public_addresses_pass);
	RUN(internal_urls_are_refused_in_every_spelling);
	RUN(malformed_urls_are_refused);
	RUN(public_urls_pass);
	RUN(parse_gives_host_port_and_literal);
	RUN(allow_list_permits_what_it_names);
	RUN(allow_list_decides_delivery_addresses);
	RUN(allow_list_syntax_errors_name_the_entry);
	return tap_done();
}
