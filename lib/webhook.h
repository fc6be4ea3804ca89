/* webhook.h - job event webhooks signed the Standard Webhooks way
 * (webhook-id, webhook-timestamp, webhook-signature: v1,base64 of
 * HMAC-SHA256 over "id.timestamp.body" with a whsec_ secret), delivered
 * from the webhook_deliveries table with exponential backoff. */
#ifndef KILN_WEBHOOK_H
#define KILN_WEBHOOK_H

#include <stddef.h>

struct db;

/* A new secret: "whsec_" + base64 of 24 random bytes, NUL-terminated
 * (WEBHOOK_SECRET_LEN bytes with the NUL). Returns 0, or -1 when the
 * kernel gives no randomness. */
#define WEBHOOK_SECRET_LEN 40
int webhook_secret_new(char out[WEBHOOK_SECRET_LEN]);

/* The signing secret of user_id (a decimal id; NULL: the site's), made
 * on first use: stored only where none is set, then read back, so two
 * processes racing to make the first agree on one. Returns a malloc'd
 * string, or NULL on a database error or no randomness. */
char *webhook_secret_for(struct db *db, const char *user_id);

/* The webhook-signature value for a message: "v1," + base64(HMAC-SHA256(
 * key, msg_id "." timestamp "." body)), where key is the base64 after
 * "whsec_" (or the whole secret when it has no such prefix, as raw bytes).
 * Returns 0 with the text in out, or -1 when the secret does not decode or
 * out is too small (WEBHOOK_SIG_LEN is enough). */
#define WEBHOOK_SIG_LEN 64
int webhook_sign(const char *secret, const char *msg_id, long long ts,
    const char *body, size_t len, char *out, size_t outlen);

/* Seconds to wait before retry number `attempts` (1 = after the first
 * failure): base * 2^(attempts - 1), at most one hour. */
long webhook_backoff(long base_s, int attempts);

struct net_allow;

struct webhook_policy {
	const char *daemon;	/* who claims deliveries */
	long timeout_s;		/* per HTTP request */
	long retry_base_s;	/* backoff base */
	int max_attempts;	/* then the delivery is "failed" */
	const struct net_allow *allow;	/* internal receivers permitted */
};

/* What the delivery log (shown to users) says of a failed attempt: one
 * of these or "HTTP NNN", never the resolver's or curl's detail, which
 * would let a user map internal hosts; kilnd's own log keeps that. */
#define WEBHOOK_REFUSED "refused (address not allowed)"
#define WEBHOOK_NO_CONNECT "could not connect"
#define WEBHOOK_TIMED_OUT "timed out"
#define WEBHOOK_BAD_SECRET "the signing secret does not decode"

/*
 * Sends at most one due delivery: claims it (SKIP LOCKED, so several
 * daemons share the work), signs it with the owner's secret (created on
 * first use; jobs without an owner use the site's "webhook_secret"
 * setting), POSTs it with libcurl and records the outcome: a 2xx is
 * delivered, anything else is retried after webhook_backoff() until
 * max_attempts, then failed. The host is resolved first and refused when
 * any of its addresses is internal (netpolicy.h) unless pol->allow
 * permits it; curl connects only to the addresses checked. Returns 1
 * when it handled one, 0 when none was due, -1 on a database error.
 */
int webhook_deliver_one(struct db *db, const struct webhook_policy *pol);

#endif
