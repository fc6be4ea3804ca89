/* webhook.c - Standard Webhooks signatures and the delivery of queued job
 * events with libcurl, retried with exponential backoff. */
#include "webhook.h"
#include "db.h"
#include "log.h"
#include "netpolicy.h"
#include "util.h"

#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int
webhook_secret_new(char out[WEBHOOK_SECRET_LEN])
{
	unsigned char raw[24];

	if (random_bytes(raw, sizeof(raw)) != 0)
		return -1;
	memcpy(out, "whsec_", 6);
	/* 24 bytes are 32 base64 characters: 6 + 32 + NUL fits in 40. */
	sodium_bin2base64(out + 6, WEBHOOK_SECRET_LEN - 6, raw, sizeof(raw),
	    sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(raw, sizeof(raw));
	return 0;
}

int
webhook_sign(const char *secret, const char *msg_id, long long ts,
    const char *body, size_t len, char *out, size_t outlen)
{
	crypto_auth_hmacsha256_state st;
	unsigned char key[256], mac[crypto_auth_hmacsha256_BYTES];
	size_t keylen = 0;
	char tsbuf[32];
	int n;

	if (!strncmp(secret, "whsec_", 6)) {
		if (sodium_base642bin(key, sizeof(key), secret + 6,
		    strlen(secret + 6), NULL, &keylen, NULL,
		    sodium_base64_VARIANT_ORIGINAL) != 0 || keylen == 0)
			return -1;
	} else {
		keylen = strlen(secret);
		if (keylen == 0 || keylen > sizeof(key))
			return -1;
		memcpy(key, secret, keylen);
	}
	n = snprintf(tsbuf, sizeof(tsbuf), "%lld", ts);
	if (outlen < 3 + sodium_base64_ENCODED_LEN(sizeof(mac),
	    sodium_base64_VARIANT_ORIGINAL))
		return -1;
	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg_id,
	    strlen(msg_id));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)tsbuf,
	    (unsigned long long)n);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	memcpy(out, "v1,", 3);
	sodium_bin2base64(out + 3, outlen - 3, mac, sizeof(mac),
	    sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(key, sizeof(key));
	return 0;
}

long
webhook_backoff(long base_s, int attempts)
{
	long s = base_s < 1 ? 1 : base_s;
	int i;

	for (i = 1; i < attempts && s < 3600; i++)
		s *= 2;
	return s > 3600 ? 3600 : s;
}

/* ------------------------------------------------------------ delivery */

struct delivery {
	char *id, *msg_id, *url, *payload;
	char *user_id;		/* NULL: the site's secret signs it */
	int attempts;
};

/* user_id is NULL for an operator's job. A copy that fails fails the
 * claim, so a lost owner can never sign with the site's secret. */
static const struct db_field delivery_fields[] = {
	DB_FIELD(struct delivery, id, DBF_DUP, "id"),
	DB_FIELD(struct delivery, msg_id, DBF_DUP, "msg_id"),
	DB_FIELD(struct delivery, url, DBF_DUP, "url"),
	DB_FIELD(struct delivery, payload, DBF_DUP, "payload"),
	DB_FIELD_NULL(struct delivery, user_id, DBF_DUP, "user_id"),
	DB_FIELD(struct delivery, attempts, DBF_INT, "attempts"),
};

static void
delivery_free(struct delivery *d)
{
	free(d->id);
	free(d->msg_id);
	free(d->url);
	free(d->payload);
	free(d->user_id);
	memset(d, 0, sizeof(*d));
}

/* Claims one due delivery into d. Returns 1, 0 when none is due, -1. */
static int
claim(struct db *db, const struct webhook_policy *pol, struct delivery *d)
{
	char *id = NULL;
	int rc = -1;

	if (db_exec_text(db, "START TRANSACTION") != 0)
		return -1;
	/* pending and due, or claimed by a daemon that died mid-send. */
	if (db_query_string(db, "SELECT id FROM webhook_deliveries"
	    " WHERE status = 'pending' AND next_attempt_at <= NOW(3)"
	    " AND (lease_until IS NULL OR lease_until < NOW(3))"
	    " ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
	    NULL, 0, &id) != 0)
		goto out;
	if (id == NULL) {
		rc = 0;
		goto out;
	}
	{
		struct db_param p[] = { DB_STR(pol->daemon),
			DB_INT(pol->timeout_s + 30), DB_STR(id) };

		if (db_exec(db, "UPDATE webhook_deliveries SET claimed_by = ?,"
		    " lease_until = NOW(3) + INTERVAL ? SECOND WHERE id = ?",
		    p, 3, NULL, NULL) != 0)
			goto out;
	}
	{
		struct db_param p[] = { DB_STR(id) };

		if (db_query_into(db, "SELECT id, msg_id, url, payload,"
		    " user_id, attempts FROM webhook_deliveries WHERE id = ?",
		    p, 1, delivery_fields, DB_NFIELDS(delivery_fields), d,
		    NULL, NULL) != 1)
			goto out;
	}
	if (db_exec_text(db, "COMMIT") != 0)
		goto out;
	free(id);
	return 1;
out:
	if (db_rollback(db) != 0)
		log_warn("webhook: rollback failed after: %s", db_error(db));
	delivery_free(d);
	free(id);
	return rc;
}

char *
webhook_secret_for(struct db *db, const char *user_id)
{
	const char *get = user_id != NULL ?
	    "SELECT webhook_secret FROM users WHERE id = ?" :
	    "SELECT value FROM settings WHERE name = 'webhook_secret'";
	struct db_param key[] = { DB_STR(user_id != NULL ? user_id : "") };
	size_t nk = user_id != NULL ? 1 : 0;
	char fresh[WEBHOOK_SECRET_LEN], *s = NULL;
	int rc;

	if (db_query_string(db, get, key, nk, &s) != 0)
		return NULL;
	if (s != NULL)
		return s;
	if (webhook_secret_new(fresh) != 0)
		return NULL;
	/* Stored only where none is set, then read back: two daemons
	 * racing to make the first one agree on one. */
	if (user_id != NULL) {
		struct db_param p[] = { DB_STR(fresh), DB_STR(user_id) };

		rc = db_exec(db, "UPDATE users SET webhook_secret = ? WHERE"
		    " id = ? AND webhook_secret IS NULL", p, 2, NULL, NULL);
	} else {
		struct db_param p[] = { DB_STR(fresh) };

		rc = db_exec(db, "INSERT IGNORE INTO settings (name, value)"
		    " VALUES ('webhook_secret', ?)", p, 1, NULL, NULL);
	}
	sodium_memzero(fresh, sizeof(fresh));
	if (rc != 0 || db_query_string(db, get, key, nk, &s) != 0)
		return NULL;
	return s;
}

/* ------------------------------------------------------------ pinning */

/* The addresses one delivery may connect to: every one its host
 * resolved to was checked, and curl is held to them. */
#define PIN_MAX 16
struct pin {
	struct net_addr addr[PIN_MAX];
	int n;
	int refused;		/* curl was about to connect elsewhere */
};

/* sa as a net_addr. Returns 0, or -1 for another family. */
static int
sockaddr_addr(const struct sockaddr *sa, struct net_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		a->family = 4;
		memcpy(a->b, &in->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		a->family = 6;
		memcpy(a->b, &in6->sin6_addr, 16);
		return 0;
	}
	return -1;
}

static int
pinned(const struct pin *pin, const struct net_addr *a)
{
	int i;

	for (i = 0; i < pin->n; i++)
		if (pin->addr[i].family == a->family &&
		    !memcmp(pin->addr[i].b, a->b, sizeof(a->b)))
			return 1;
	return 0;
}

/*
 * Fills pin with the addresses u's host stands for (a literal: itself;
 * a name: what getaddrinfo gives), each checked against the refused
 * ranges and al. Returns 0; -1 when any address is refused (a name that
 * resolves to one public and one internal address is refused whole: a
 * rebinding resolver hands out exactly such pairs); -2 when the name
 * does not resolve. detail says why, for kilnd's log only.
 */
static int
resolve_checked(const struct hook_url *u, const struct net_allow *al,
    struct pin *pin, char *detail, size_t dlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	char text[NET_ADDR_TEXT];
	int rc = 0, gai;

	memset(pin, 0, sizeof(*pin));
	if (u->literal) {
		pin->addr[pin->n++] = u->addr;
		if (!net_addr_permitted(al, u->host, &u->addr))
			return errf(detail, dlen, "%s is a %s address",
			    net_addr_text(&u->addr, text),
			    net_addr_refused(&u->addr));
		return 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	/* Blocking, with the resolver's own timeouts: the courier thread
	 * has nothing else to do meanwhile. */
	gai = getaddrinfo(u->host, NULL, &hints, &res);
	if (gai != 0) {
		errf(detail, dlen, "cannot resolve %s: %s", u->host,
		    gai_strerror(gai));
		return -2;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct net_addr a;

		if (sockaddr_addr(ai->ai_addr, &a) != 0)
			continue;
		if (!net_addr_permitted(al, u->host, &a)) {
			rc = errf(detail, dlen, "%s resolves to %s, a %s "
			    "address", u->host, net_addr_text(&a, text),
			    net_addr_refused(&a));
			break;
		}
		if (pin->n < PIN_MAX && !pinned(pin, &a))
			pin->addr[pin->n++] = a;
	}
	freeaddrinfo(res);
	if (rc == 0 && pin->n == 0) {
		errf(detail, dlen, "%s has no IPv4 or IPv6 address", u->host);
		return -2;
	}
	return rc;
}

/* CURLOPT_OPENSOCKETFUNCTION: a socket only for an address that was
 * checked. With CURLOPT_RESOLVE curl should never ask for another; this
 * holds even if its reading of the host differs from ours. */
static curl_socket_t
open_pinned(void *clientp, curlsocktype purpose,
    struct curl_sockaddr *address)
{
	struct pin *pin = clientp;
	struct net_addr a;

	if (purpose == CURLSOCKTYPE_IPCXN &&
	    sockaddr_addr(&address->addr, &a) == 0 && pinned(pin, &a))
		return socket(address->family, address->socktype,
		    address->protocol);
	pin->refused = 1;
	return CURL_SOCKET_BAD;
}

/* The CURLOPT_RESOLVE entries that make curl use pin for u's host:
 * "host:port:addr,[addr6],..." (and the same without a trailing dot,
 * which curl may strip). Returns the list (NULL for a literal, which
 * curl does not resolve), or NULL with *oom set. */
static struct curl_slist *
resolve_list(const struct hook_url *u, const struct pin *pin, int *oom)
{
	struct curl_slist *l = NULL, *t;
	struct buf b = { 0 };
	char text[NET_ADDR_TEXT], host[sizeof(u->host)];
	size_t hl = strlen(u->host);
	int i, k, bad;

	*oom = 0;
	if (u->literal)
		return NULL;
	for (k = 0; k < 2; k++) {
		if (k == 1 && (hl < 2 || u->host[hl - 1] != '.'))
			break;
		snprintf(host, sizeof(host), "%.*s", (int)(k ? hl - 1 : hl),
		    u->host);
		buf_reset(&b);
		bad = buf_printf(&b, "%s:%u:", host, u->port);
		for (i = 0; i < pin->n; i++)
			bad |= buf_printf(&b, pin->addr[i].family == 6 ?
			    "%s[%s]" : "%s%s", i ? "," : "",
			    net_addr_text(&pin->addr[i], text));
		t = bad == 0 ? curl_slist_append(l, b.data) : NULL;
		if (t == NULL) {
			*oom = 1;
			break;
		}
		l = t;
	}
	buf_free(&b);
	if (*oom) {
		curl_slist_free_all(l);
		return NULL;
	}
	return l;
}

/* ------------------------------------------------------------ sending */

/*
 * POSTs body to url with the signature headers, to an address checked
 * against the refused ranges and pol->allow. Returns the HTTP status, or
 * 0 with what users may see in err (WEBHOOK_REFUSED, WEBHOOK_NO_CONNECT,
 * WEBHOOK_TIMED_OUT) and the resolver's or curl's detail, for kilnd's
 * log, in detail.
 */
static long
post(const char *url, const struct webhook_policy *pol, const char *msg_id,
    long long ts, const char *sig, const char *body, char *err,
    size_t errlen, char *detail, size_t dlen)
{
	CURL *c = NULL;
	struct curl_slist *h = NULL, *pins = NULL, *t;
	struct hook_url u;
	struct pin pin;
	char line[256], ebuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode rc;
	int st, oom;

	/* Stored before this check existed, or written to the database by
	 * hand: the URL is judged again here. */
	if (hook_url_parse(url, &u, line, sizeof(line)) != 0) {
		errf(err, errlen, WEBHOOK_REFUSED);
		errf(detail, dlen, "the URL %s", line);
		return 0;
	}
	st = resolve_checked(&u, pol->allow, &pin, detail, dlen);
	if (st != 0) {
		errf(err, errlen, "%s", st == -1 ? WEBHOOK_REFUSED :
		    WEBHOOK_NO_CONNECT);
		return 0;
	}
	pins = resolve_list(&u, &pin, &oom);
	c = oom ? NULL : curl_easy_init();
	if (c == NULL) {
		errf(err, errlen, WEBHOOK_NO_CONNECT);
		errf(detail, dlen, "out of memory");
		goto out;
	}
	snprintf(line, sizeof(line), "webhook-id: %s", msg_id);
	t = curl_slist_append(h, line);
	h = t ? t : h;
	snprintf(line, sizeof(line), "webhook-timestamp: %lld", ts);
	t = curl_slist_append(h, line);
	h = t ? t : h;
	snprintf(line, sizeof(line), "webhook-signature: %s", sig);
	t = curl_slist_append(h, line);
	h = t ? t : h;
	t = curl_slist_append(h, "Content-Type: application/json");
	h = t ? t : h;
	t = curl_slist_append(h, "User-Agent: kiln-webhooks/" KILN_VERSION);
	h = t ? t : h;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(c, CURLOPT_TIMEOUT, pol->timeout_s);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, pol->timeout_s);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	/* Only web protocols, and no redirects: a receiver that moved must
	 * be re-registered, not followed somewhere else (a redirect to an
	 * internal address would pass every check above). */
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	/* No proxy from the environment: the address checked is the one
	 * connected to. */
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	/* DNS is not asked twice (a rebinding resolver would answer the
	 * second time with an internal address): curl takes the checked
	 * addresses, and may open a socket to no other. */
	if (pins != NULL)
		curl_easy_setopt(c, CURLOPT_RESOLVE, pins);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_pinned);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &pin);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	} else {
		errf(err, errlen, "%s", pin.refused ? WEBHOOK_REFUSED :
		    rc == CURLE_OPERATION_TIMEDOUT ? WEBHOOK_TIMED_OUT :
		    WEBHOOK_NO_CONNECT);
		errf(detail, dlen, "%s%s", pin.refused ? "curl asked for an "
		    "address that was not checked: " : "", ebuf[0] ? ebuf :
		    curl_easy_strerror(rc));
	}
out:
	curl_slist_free_all(h);
	curl_slist_free_all(pins);
	curl_easy_cleanup(c);
	return status;
}

int
webhook_deliver_one(struct db *db, const struct webhook_policy *pol)
{
	struct delivery d;
	char sig[WEBHOOK_SIG_LEN], err[256] = "", detail[512] = "";
	char *secret = NULL;
	long long ts = (long long)time(NULL);
	long status = 0;
	int attempts, st, rc = -1;

	memset(&d, 0, sizeof(d));
	st = claim(db, pol, &d);
	if (st <= 0)
		return st;
	attempts = d.attempts + 1;
	secret = webhook_secret_for(db, d.user_id);
	if (secret == NULL) {
		log_warn("webhook %s: no signing secret: %s", d.msg_id,
		    db_error(db));
		goto out;
	}
	if (webhook_sign(secret, d.msg_id, ts, d.payload, strlen(d.payload),
	    sig, sizeof(sig)) != 0) {
		errf(err, sizeof(err), WEBHOOK_BAD_SECRET);
	} else {
		status = post(d.url, pol, d.msg_id, ts, sig, d.payload, err,
		    sizeof(err), detail, sizeof(detail));
		if (status != 0 && (status < 200 || status > 299))
			errf(err, sizeof(err), "HTTP %ld", status);
	}
	{
		int ok = status >= 200 && status <= 299;
		int give_up = !ok && attempts >= pol->max_attempts;
		struct db_param p[] = {
			DB_STR(ok ? "delivered" : give_up ? "failed" :
			    "pending"),
			DB_INT(attempts),
			DB_INT(ok || give_up ? 0 :
			    webhook_backoff(pol->retry_base_s, attempts)),
			status ? DB_INT(status) : DB_NULL,
			ok ? DB_NULL : DB_STR(err), DB_INT(ok), DB_STR(d.id) };

		if (db_exec(db, "UPDATE webhook_deliveries SET status = ?,"
		    " attempts = ?, next_attempt_at = NOW(3) + INTERVAL ?"
		    " SECOND, last_status = ?, last_error = ?,"
		    " delivered_at = IF(?, NOW(3), NULL), claimed_by = NULL,"
		    " lease_until = NULL WHERE id = ?", p, 7, NULL, NULL) != 0) {
			log_warn("webhook %s: %s", d.msg_id, db_error(db));
			goto out;
		}
		if (ok)
			log_info("webhook %s delivered to %s (HTTP %ld, "
			    "attempt %d)", d.msg_id, d.url, status, attempts);
		else
			log_warn("webhook %s to %s: %s%s%s (attempt %d of "
			    "%d%s)", d.msg_id, d.url, err, detail[0] ? ": " :
			    "", detail, attempts, pol->max_attempts,
			    give_up ? ", giving up" : "");
	}
	rc = 1;
out:
	if (secret != NULL) {
		sodium_memzero(secret, strlen(secret));
		free(secret);
	}
	delivery_free(&d);
	return rc;
}
