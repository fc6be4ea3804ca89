/* ratelimit.h - token buckets in MariaDB, so every web process shares
 * them: a bucket holds up to burst tokens and refills at rate per second;
 * each request takes one. */
#ifndef KILN_RATELIMIT_H
#define KILN_RATELIMIT_H

struct kreq;

struct rate_result {
	int allowed;
	long remaining;		/* whole tokens left after this request */
	long retry_after;	/* seconds until one token (when refused) */
	long reset;		/* seconds until the bucket is full again */
};

/* Takes a token from bucket (created full on first use). Returns 0 with
 * *res, or -1 on a db error. */
int rate_take(struct kreq *req, const char *bucket, double burst,
	double per_minute, struct rate_result *res);

/* Adds RateLimit-Limit/-Remaining/-Reset (and Retry-After when refused)
 * to req's response. */
void rate_headers(struct kreq *req, double burst,
	const struct rate_result *res);

/* The limits the web programs apply. Each returns 0 when the request may
 * go on, 1 when it was refused (headers set; the caller answers 429), -1
 * on a db error. limit_submit: [limits] submit_* per user and per address;
 * limit_login: login_* per address. */
int limit_submit(struct kreq *req);
int limit_login(struct kreq *req);

#endif
