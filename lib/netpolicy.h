/* netpolicy.h - where kiln may send webhooks: the URL form it accepts,
 * the address ranges it refuses (loopback, private, link-local, metadata,
 * ...) in every spelling curl would accept, and the operator's
 * [webhooks] allow list that lets internal receivers through. */
#ifndef KILN_NETPOLICY_H
#define KILN_NETPOLICY_H

#include <stddef.h>

/* An IPv4 (family 4: the address in b[0..3], network order) or IPv6
 * (family 6) address. */
struct net_addr {
	int family;
	unsigned char b[16];
};

/* Reads s the way inet_aton (and so curl and getaddrinfo) does: one to
 * four dot-separated parts, each decimal, octal (leading 0) or hex (0x),
 * the last filling the bytes left ("127.1", "0x7f000001", "2130706433",
 * "0177.0.0.1" are all 127.0.0.1). Returns 1 with *a set, or 0 when s is
 * not such a number. */
int net_ipv4_parse(const char *s, struct net_addr *a);

/* The refused range a lies in, as a few words for a message ("loopback",
 * "private", "link-local", "cloud metadata", ...), or NULL for an address
 * webhooks may go to. IPv6 forms that carry an IPv4 address (mapped,
 * translated, compatible, NAT64, 6to4) are judged by that address. */
const char *net_addr_refused(const struct net_addr *a);

/* The operator's allow list: addresses, networks and host names that
 * may receive webhooks although they are internal. */
struct net_allow;

/*
 * Parses spec: entries separated by commas and/or blanks, each an IPv4
 * or IPv6 address ("127.0.0.1", "::1"), a network in CIDR form
 * ("10.0.0.0/8", "fd00::/8"; no bits set past the prefix) or a host name
 * ("hooks.internal"; a leading dot, ".corp.example", takes every name
 * under it). NULL or "" is an empty list. Returns a list to free with
 * net_allow_free, or NULL with a message naming the bad entry in err.
 */
struct net_allow *net_allow_new(const char *spec, char *err, size_t errlen);
void net_allow_free(struct net_allow *al);

/* Whether the list (NULL: empty) permits address a / host name host
 * (compared without case and without one trailing dot). */
int net_allow_addr(const struct net_allow *al, const struct net_addr *a);
int net_allow_host(const struct net_allow *al, const char *host);

/* A webhook URL taken apart. host is lower-cased as written (IPv6
 * without its brackets); literal says it is an address, in addr. */
struct hook_url {
	int https;
	char host[254];
	int literal;
	struct net_addr addr;
	unsigned port;
};

/*
 * Parses url: http:// or https://, no user name or password, a host name
 * (letters, digits, '-', '_', dots), an IPv4 address in any inet_aton
 * spelling or a bracketed IPv6 address without zone, an optional port
 * 1-65535, then a path, query or fragment of visible characters. Returns
 * 0 with *u filled, or -1 with a message for the user in msg ("must be
 * an http:// or https:// URL", ...).
 */
int hook_url_parse(const char *url, struct hook_url *u, char *msg,
	size_t msglen);

/*
 * The check at submission: url parses, and unless al permits its host
 * name or address, does not name a refused address or a localhost name.
 * (Names are resolved at delivery, not here.) Returns 0, or -1 with a
 * message for the user in msg.
 */
int hook_url_check(const char *url, const struct net_allow *al, char *msg,
	size_t msglen);

/* Whether a delivery to host may use address a: al permits the host
 * name or the address, or the address is in no refused range. */
int net_addr_permitted(const struct net_allow *al, const char *host,
	const struct net_addr *a);

/* a as text ("127.0.0.1", "::1"). Returns out. */
#define NET_ADDR_TEXT 46
char *net_addr_text(const struct net_addr *a, char out[NET_ADDR_TEXT]);

#endif
