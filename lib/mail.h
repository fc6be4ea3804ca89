/* mail.h - e-mail: RFC 5322 messages built and checked (mail.c;
 * addresses validated and header values refused when they hold a line
 * break or any other control character in mail_addr.c, non-ASCII words
 * RFC 2047 encoded, the body quoted-printable UTF-8), queued in the
 * mail_outbox table by the web programs and sent by kilnd's postman
 * through the [mail] relay with libcurl's SMTP, retried with backoff
 * (mail_send.c). Nothing here blocks a page on the relay. */
#ifndef KILN_MAIL_H
#define KILN_MAIL_H

#include <stddef.h>

struct buf;
struct db;
struct kreq;
struct kiln_config;

/* The longest address (RFC 5321's path limit less the brackets). */
#define MAIL_ADDR_MAX 254

/* 1 when s is an address kiln sends to: ASCII local@domain, the local
 * part dot-atoms of RFC 5322's atext (no quoted strings), at most 64
 * bytes, the domain at least two labels of letters, digits and '-', at
 * most MAIL_ADDR_MAX in all. Spaces, line breaks, '<', '>' and ','
 * never pass, so an address cannot smuggle a header or a recipient. */
int mail_address_valid(const char *s);

/* 1 when s may be put in a header (a display name, a subject): valid
 * UTF-8 without control characters (CR and LF included), at most 512
 * bytes. */
int mail_header_text_ok(const char *s);

/* One message to build. from_name and to_name may be NULL or "" (the
 * address alone); body is UTF-8 text with "\n" line ends. */
struct mail_msg {
	const char *from;
	const char *from_name;
	const char *to;
	const char *to_name;
	const char *subject;
	const char *body;
};

/*
 * Appends the whole message to out: Date (of now, Unix seconds, in UTC),
 * Message-ID (<hex of id's 16 bytes @ the From domain>), From, To,
 * Subject (RFC 2047 B-encoded words, folded, when not plain ASCII),
 * MIME-Version, Content-Type text/plain; charset=UTF-8,
 * Content-Transfer-Encoding quoted-printable, Auto-Submitted, then the
 * body; every line ends in CRLF and none is longer than 78 bytes. A
 * leading dot is left to the SMTP client (curl doubles it). Returns 0, or
 * -1 with the reason in err when an address is invalid or a header value
 * is not mail_header_text_ok (nothing is appended then) or memory runs
 * out.
 */
int mail_build(const struct mail_msg *m, long long now,
	const unsigned char id[16], struct buf *out, char *err, size_t errlen);

/* Queues a message to `to` (kind names it in the outbox: "verify",
 * "reset", "login", "2fa", "key"...) from cfg's [mail] from. A to_name
 * that is not mail_header_text_ok is left out rather than refused.
 * Returns 1 when queued, 0 when [mail] enabled is false (nothing
 * queued), -1 on a refused message (logged) or a db error. */
int mail_queue(struct db *db, const struct kiln_config *cfg,
	unsigned long long user_id, const char *kind, const char *to,
	const char *to_name, const char *subject, const char *body);

/* A notice to user_id's verified address (none: nothing sent), its body
 * the formatted text, then where and when it was asked (the request's
 * address and browser) and a line pointing at the security page. Returns
 * 1 when queued, 0 when the user has no verified address or mail is off,
 * -1 on an error (logged; callers go on: a notice never fails a page). */
int mail_notify(struct kreq *req, unsigned long long user_id,
	const char *kind, const char *subject, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* The device fingerprint of a login: SHA-256 (hex into out, 65 bytes) of
 * the user id, the User-Agent and the address's network (IPv4 /24, IPv6
 * /48), so a new address of the same provider is not a new device. */
void mail_device_fingerprint(unsigned long long user_id, const char *ua,
	const char *addr, char out[65]);

/* Records the device of a successful login of user_id and, when it was
 * never seen and the account has signed in from another one before,
 * mails a notice (mail_notify). Returns 1 for a new device, 0 for a known
 * one, -1 on a db error (logged). */
int mail_login_seen(struct kreq *req, unsigned long long user_id);

/* kilnd's postman: sends at most one due outbox mail through cfg's relay
 * (claimed with SKIP LOCKED, so several daemons share the work): sent,
 * or retried after webhook_backoff(retry_base, attempts) until
 * max_attempts, then failed; the message text is blanked once it is
 * sent or given up. Returns 1 when it handled one, 0 when none was due,
 * -1 on a database error. */
int mail_deliver_one(struct db *db, const struct kiln_config *cfg,
	const char *daemon);

/* Deletes outbox rows sent or failed more than MAIL_KEEP_DAYS ago (their
 * text is already blank; the rows are the delivery record). Returns the
 * number deleted, or -1 on a db error. */
#define MAIL_KEEP_DAYS 30
long mail_purge(struct db *db);

#endif
