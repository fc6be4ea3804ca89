/* webhook.c - Standard Webhooks signatures and the delivery of queued job
 * events with libcurl, retried with exponential backoff. */
#include "webhook.h"
#include "db.h"
#include "log.h"
#include "util.h"

#include <curl/curl.h>
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
	char *id, *msg_id, *url, *payload, *user_id, *attempts;
};

static void
delivery_free(struct delivery *d)
{
	free(d->id);
	free(d->msg_id);
	free(d->url);
	free(d->payload);
	free(d->user_id);
	free(d->attempts);
	memset(d, 0, sizeof(*d));
}

static int
delivery_row(const struct db_row *r, void *arg)
{
	struct delivery *d = arg;

	if (r->ncols < 6 || r->cols[0] == NULL || r->cols[1] == NULL ||
	    r->cols[2] == NULL || r->cols[3] == NULL || r->cols[5] == NULL)
		return 1;
	d->id = strdup(r->cols[0]);
	d->msg_id = strdup(r->cols[1]);
	d->url = strdup(r->cols[2]);
	d->payload = strdup(r->cols[3]);
	d->user_id = r->cols[4] ? strdup(r->cols[4]) : NULL;
	d->attempts = strdup(r->cols[5]);
	/* An owner lost to a failed strdup would sign with the site's
	 * secret: fail the claim instead. */
	if (r->cols[4] != NULL && d->user_id == NULL) {
		free(d->id);
		d->id = NULL;
	}
	return 1;
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

		/* Every string but user_id is set, or memory ran out. */
		if (db_query(db, "SELECT id, msg_id, url, payload, user_id,"
		    " attempts FROM webhook_deliveries WHERE id = ?", p, 1,
		    delivery_row, d) != 1 || d->id == NULL ||
		    d->msg_id == NULL || d->url == NULL || d->payload == NULL ||
		    d->attempts == NULL)
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

/* POSTs body to url with the signature headers. Returns the HTTP status,
 * or 0 with a message in err when no response came. */
static long
post(const char *url, const char *msg_id, long long ts, const char *sig,
    const char *body, long timeout_s, char *err, size_t errlen)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL, *t;
	char line[256], ebuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode rc;

	if (c == NULL) {
		errf(err, errlen, "curl_easy_init failed");
		return 0;
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
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout_s);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	/* Only web protocols, and no redirects: a receiver that moved must
	 * be re-registered, not followed somewhere else. */
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else
		errf(err, errlen, "%s", ebuf[0] ? ebuf :
		    curl_easy_strerror(rc));
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

int
webhook_deliver_one(struct db *db, const struct webhook_policy *pol)
{
	struct delivery d;
	char sig[WEBHOOK_SIG_LEN], err[256] = "", *secret = NULL;
	long long ts = (long long)time(NULL);
	long status = 0;
	int attempts, st, rc = -1;

	memset(&d, 0, sizeof(d));
	st = claim(db, pol, &d);
	if (st <= 0)
		return st;
	attempts = atoi(d.attempts) + 1;
	secret = webhook_secret_for(db, d.user_id);
	if (secret == NULL) {
		log_warn("webhook %s: no signing secret: %s", d.msg_id,
		    db_error(db));
		goto out;
	}
	if (webhook_sign(secret, d.msg_id, ts, d.payload, strlen(d.payload),
	    sig, sizeof(sig)) != 0) {
		errf(err, sizeof(err), "the signing secret does not decode");
	} else {
		status = post(d.url, d.msg_id, ts, sig, d.payload,
		    pol->timeout_s, err, sizeof(err));
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
			log_warn("webhook %s to %s: %s (attempt %d of %d%s)",
			    d.msg_id, d.url, err, attempts, pol->max_attempts,
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
