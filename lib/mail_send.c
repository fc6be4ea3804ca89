/* mail_send.c - kilnd's postman: the outbox sent through the [mail]
 * relay with libcurl's SMTP (smtp:// with STARTTLS as configured, or
 * smtps://), retried with backoff. */
#include "mail.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "util.h"
#include "webhook.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ sending */

struct outgoing {
	char *id;
	char *sender;
	char *recipient;
	char *message;
	int attempts;
	size_t pos;
};

static const struct db_field outgoing_fields[] = {
	DB_FIELD(struct outgoing, id, DBF_DUP, "id"),
	DB_FIELD(struct outgoing, sender, DBF_DUP, "sender"),
	DB_FIELD(struct outgoing, recipient, DBF_DUP, "recipient"),
	DB_FIELD(struct outgoing, message, DBF_DUP, "message"),
	DB_FIELD(struct outgoing, attempts, DBF_INT, "attempts"),
};

static void
outgoing_free(struct outgoing *o)
{
	free(o->id);
	free(o->sender);
	free(o->recipient);
	if (o->message != NULL) {
		sodium_memzero(o->message, strlen(o->message));
		free(o->message);
	}
	memset(o, 0, sizeof(*o));
}

/* Claims one due mail into o. Returns 1, 0 when none is due, -1. */
static int
claim(struct db *db, const struct kiln_config *cfg, const char *daemon,
	struct outgoing *o)
{
	char *id = NULL;
	int rc = -1;

	if (db_exec_text(db, "START TRANSACTION") != 0)
		return -1;
	/* pending and due, or claimed by a daemon that died mid-send. */
	if (db_query_string(db, "SELECT id FROM mail_outbox"
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
		struct db_param p[] = { DB_STR(daemon),
			DB_INT(cfg->mail_timeout + 30), DB_STR(id) };

		if (db_exec(db, "UPDATE mail_outbox SET claimed_by = ?,"
		    " lease_until = NOW(3) + INTERVAL ? SECOND WHERE id = ?",
		    p, 3, NULL, NULL) != 0)
			goto out;
	}
	{
		struct db_param p[] = { DB_STR(id) };

		if (db_query_into(db, "SELECT id, sender, recipient, message,"
		    " attempts FROM mail_outbox WHERE id = ?", p, 1,
		    outgoing_fields, DB_NFIELDS(outgoing_fields), o, NULL,
		    NULL) != 1)
			goto out;
	}
	if (db_exec_text(db, "COMMIT") != 0)
		goto out;
	free(id);
	return 1;
out:
	if (db_rollback(db) != 0)
		log_warn("mail: rollback failed after: %s", db_error(db));
	outgoing_free(o);
	free(id);
	return rc;
}

/* CURLOPT_READFUNCTION: the message, then the end. */
static size_t
read_message(char *buf, size_t size, size_t nitems, void *arg)
{
	struct outgoing *o = arg;
	size_t left = strlen(o->message + o->pos), n = size * nitems;

	if (n > left)
		n = left;
	memcpy(buf, o->message + o->pos, n);
	o->pos += n;
	return n;
}

/* One SMTP transaction with the relay. Returns 0, or -1 with curl's
 * reason in err. */
static int
smtp_send(const struct kiln_config *cfg, struct outgoing *o, char *err,
	size_t errlen)
{
	CURL *c = curl_easy_init();
	struct curl_slist *rcpt = NULL;
	char from[MAIL_ADDR_MAX + 3], to[MAIL_ADDR_MAX + 3];
	char ebuf[CURL_ERROR_SIZE] = "";
	CURLcode rc;

	if (c == NULL)
		return errf(err, errlen, "out of memory");
	snprintf(from, sizeof(from), "<%s>", o->sender);
	snprintf(to, sizeof(to), "<%s>", o->recipient);
	rcpt = curl_slist_append(NULL, to);
	if (rcpt == NULL) {
		curl_easy_cleanup(c);
		return errf(err, errlen, "out of memory");
	}
	curl_easy_setopt(c, CURLOPT_URL, cfg->mail_relay);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_message);
	curl_easy_setopt(c, CURLOPT_READDATA, o);
	curl_easy_setopt(c, CURLOPT_USE_SSL,
	    !strcmp(cfg->mail_starttls, "always") ? (long)CURLUSESSL_ALL :
	    !strcmp(cfg->mail_starttls, "try") ? (long)CURLUSESSL_TRY :
	    (long)CURLUSESSL_NONE);
	if (cfg->mail_user[0] != '\0') {
		curl_easy_setopt(c, CURLOPT_USERNAME, cfg->mail_user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, cfg->mail_password);
	}
	curl_easy_setopt(c, CURLOPT_TIMEOUT, cfg->mail_timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, cfg->mail_timeout);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	o->pos = 0;
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		errf(err, errlen, "%s", ebuf[0] ? ebuf :
		    curl_easy_strerror(rc));
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(c);
	return rc == CURLE_OK ? 0 : -1;
}

int
mail_deliver_one(struct db *db, const struct kiln_config *cfg,
	const char *daemon)
{
	struct outgoing o;
	char err[256] = "";
	int attempts, ok, give_up, rc = -1;

	memset(&o, 0, sizeof(o));
	if (!cfg->mail_enabled)
		return 0;
	switch (claim(db, cfg, daemon, &o)) {
	case 0:
		return 0;
	case 1:
		break;
	default:
		return -1;
	}
	attempts = o.attempts + 1;
	ok = smtp_send(cfg, &o, err, sizeof(err)) == 0;
	give_up = !ok && attempts >= cfg->mail_max_attempts;
	{
		/* Sent or given up: the text (a reset link may be in it)
		 * is not kept. */
		struct db_param p[] = {
			DB_STR(ok ? "sent" : give_up ? "failed" : "pending"),
			DB_INT(attempts),
			DB_INT(ok || give_up ? 0 :
			    webhook_backoff(cfg->mail_retry_base, attempts)),
			ok ? DB_NULL : DB_STR(err), DB_INT(ok),
			DB_INT(ok || give_up), DB_STR(o.id) };

		if (db_exec(db, "UPDATE mail_outbox SET status = ?,"
		    " attempts = ?, next_attempt_at = NOW(3) + INTERVAL ?"
		    " SECOND, last_error = ?, sent_at = IF(?, NOW(3), NULL),"
		    " message = IF(?, '', message), claimed_by = NULL,"
		    " lease_until = NULL WHERE id = ?", p, 7, NULL,
		    NULL) != 0) {
			log_warn("mail %s: %s", o.id, db_error(db));
			goto out;
		}
	}
	if (ok)
		log_info("mail %s sent to %s (attempt %d)", o.id, o.recipient,
		    attempts);
	else
		log_warn("mail %s to %s: %s (attempt %d of %ld%s)", o.id,
		    o.recipient, err, attempts, cfg->mail_max_attempts,
		    give_up ? ", giving up" : "");
	rc = 1;
out:
	outgoing_free(&o);
	return rc;
}

long
mail_purge(struct db *db)
{
	struct db_param p = DB_INT(MAIL_KEEP_DAYS);
	unsigned long long n = 0;

	if (db_exec(db, "DELETE FROM mail_outbox WHERE status <> 'pending'"
	    " AND created_at < NOW(3) - INTERVAL ? DAY", &p, 1, &n,
	    NULL) != 0)
		return -1;
	return (long)n;
}
