/* mail.c - e-mail messages (RFC 5322, RFC 2045 quoted-printable, RFC 2047
 * encoded words), the outbox and login-device notices; the relay is
 * mail_send.c's, the address checks mail_addr.c's. */
#include "mail.h"
#include "app.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "request.h"
#include "utf8.h"
#include "util.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------ building */

static int
plain_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

/*
 * Appends s as RFC 2047 encoded words "=?UTF-8?B?...?=", each holding
 * whole characters only (a decoder joins adjacent words, but a character
 * split across two is garbage in many), folded with CRLF SP between
 * words, so that no line is longer than 76 (RFC 2047's limit for lines
 * with encoded words) when the first starts at column col. Returns 0 or
 * -1 (memory).
 */
static int
encode_words(struct buf *b, const char *s, size_t col)
{
	/* Bytes per word: 3 per 4 base64 characters of what is left of
	 * the line after the 12 of "=?UTF-8?B?" and "?=". Later words
	 * start after the folding space: 45 bytes, 60 characters. */
	size_t chunk = col + 12 < 76 - 4 ? (76 - col - 12) / 4 * 3 : 3;
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, j, k;
	char b64[sodium_base64_ENCODED_LEN(60,
	    sodium_base64_VARIANT_ORIGINAL)];
	uint32_t cp;
	int first = 1;

	while (i < n) {
		for (j = i; j < n; j += k) {
			k = utf8_next(u + j, n - j, &cp);
			if (j + k - i > chunk)
				break;
		}
		if (j == i)	/* cannot happen: a character is <= 4 bytes */
			return -1;
		sodium_bin2base64(b64, sizeof(b64), u + i, j - i,
		    sodium_base64_VARIANT_ORIGINAL);
		if (buf_printf(b, "%s=?UTF-8?B?%s?=", first ? "" : "\r\n ",
		    b64) != 0)
			return -1;
		first = 0;
		chunk = 45;
		i = j;
	}
	return 0;
}

/* A display name and address: "name" <addr>, or encoded words when the
 * name is not plain ASCII or too long for one line, or the address
 * alone; the address goes on a line of its own when it would not fit
 * after the name. col is where the value starts. Only an address of more
 * than 74 characters makes a line longer than 78 (an addr-spec cannot be
 * folded), and even that stays far below RFC 5322's 998. */
static int
put_mailbox(struct buf *b, const char *name, const char *addr, size_t col)
{
	const char *p;
	size_t q;

	if (name == NULL || name[0] == '\0')
		return buf_puts(b, addr);
	for (p = name, q = 2; *p != '\0'; p++)
		q += (*p == '"' || *p == '\\') ? 2 : 1;
	if (plain_ascii(name) && col + q <= 76) {
		if (buf_puts(b, "\"") != 0)
			return -1;
		for (p = name; *p != '\0'; p++)
			if ((*p == '"' || *p == '\\') && buf_puts(b, "\\") != 0)
				return -1;
			else if (buf_append(b, p, 1) != 0)
				return -1;
		return buf_printf(b, "\"%s<%s>", col + q + 3 + strlen(addr) <=
		    78 ? " " : "\r\n ", addr);
	}
	if (encode_words(b, name, col) != 0)
		return -1;
	return buf_printf(b, "\r\n <%s>", addr);
}

/* The body as quoted-printable with CRLF line ends: printable ASCII but
 * '=' as is, a space or tab before a line end encoded, lines cut with
 * soft breaks to at most 76 characters. */
static int
put_qp(struct buf *b, const char *body)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)body;
	size_t col = 0;
	char tok[4];

	for (; *s != '\0'; s++) {
		size_t tl;

		if (*s == '\r')
			continue;
		if (*s == '\n') {
			if (buf_puts(b, "\r\n") != 0)
				return -1;
			col = 0;
			continue;
		}
		if ((*s >= 33 && *s <= 126 && *s != '=') ||
		    ((*s == ' ' || *s == '\t') && s[1] != '\n' &&
		    s[1] != '\r' && s[1] != '\0')) {
			tok[0] = (char)*s;
			tl = 1;
		} else {
			tok[0] = '=';
			tok[1] = hex[*s >> 4];
			tok[2] = hex[*s & 15];
			tl = 3;
		}
		/* Room for the token and a soft break's '=' on the line. */
		if (col + tl > 75) {
			if (buf_puts(b, "=\r\n") != 0)
				return -1;
			col = 0;
		}
		if (buf_append(b, tok, tl) != 0)
			return -1;
		col += tl;
	}
	if (col > 0 && buf_puts(b, "\r\n") != 0)
		return -1;
	return 0;
}

int
mail_build(const struct mail_msg *m, long long now,
	const unsigned char id[16], struct buf *out, char *err, size_t errlen)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
		"May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct buf b = { 0 };
	char hex[33];
	time_t t = (time_t)now;
	struct tm tm;
	int i;

	if (!mail_address_valid(m->from))
		return errf(err, errlen, "the From address is not valid");
	if (!mail_address_valid(m->to))
		return errf(err, errlen, "the To address is not valid");
	if (m->from_name != NULL && !mail_header_text_ok(m->from_name))
		return errf(err, errlen, "the From name holds a line break, "
		    "a control character or is not UTF-8");
	if (m->to_name != NULL && !mail_header_text_ok(m->to_name))
		return errf(err, errlen, "the To name holds a line break, "
		    "a control character or is not UTF-8");
	if (!mail_header_text_ok(m->subject) || m->subject[0] == '\0')
		return errf(err, errlen, "the subject is empty, holds a line "
		    "break or a control character or is not UTF-8");
	if (gmtime_r(&t, &tm) == NULL)
		return errf(err, errlen, "the date is out of range");
	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	/* Fixed English names: RFC 5322's date is not the locale's. */
	if (buf_printf(&b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n"
	    "Message-ID: <%s@%s>\r\nFrom: ", days[tm.tm_wday], tm.tm_mday,
	    months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, hex, strchr(m->from, '@') + 1) != 0 ||
	    put_mailbox(&b, m->from_name, m->from, 6) != 0 ||
	    buf_puts(&b, "\r\nTo: ") != 0 ||
	    put_mailbox(&b, m->to_name, m->to, 4) != 0 ||
	    buf_puts(&b, "\r\nSubject: ") != 0)
		goto oom;
	if (plain_ascii(m->subject) && strlen(m->subject) <= 68) {
		if (buf_puts(&b, m->subject) != 0)
			goto oom;
	} else if (encode_words(&b, m->subject, 9) != 0) {
		goto oom;
	}
	if (buf_puts(&b, "\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "Auto-Submitted: auto-generated\r\n\r\n") != 0 ||
	    put_qp(&b, m->body) != 0 ||
	    buf_append(out, b.data, b.len) != 0)
		goto oom;
	buf_free(&b);
	return 0;
oom:
	buf_free(&b);
	return errf(err, errlen, "out of memory");
}

/* ------------------------------------------------------------ outbox */

int
mail_queue(struct db *db, const struct kiln_config *cfg,
	unsigned long long user_id, const char *kind, const char *to,
	const char *to_name, const char *subject, const char *body)
{
	struct mail_msg m;
	struct buf b = { 0 };
	unsigned char id[16];
	char err[160];
	int rc = -1;

	if (!cfg->mail_enabled)
		return 0;
	m.from = cfg->mail_from;
	m.from_name = cfg->mail_from_name[0] ? cfg->mail_from_name :
	    cfg->site_name;
	if (!mail_header_text_ok(m.from_name))
		m.from_name = NULL;
	m.to = to;
	/* A name that cannot go in a header is left out, not sent. */
	m.to_name = to_name != NULL && mail_header_text_ok(to_name) ?
	    to_name : NULL;
	m.subject = subject;
	m.body = body;
	randombytes_buf(id, sizeof(id));
	if (mail_build(&m, (long long)time(NULL), id, &b, err,
	    sizeof(err)) != 0) {
		log_warn("mail: %s to user %llu refused: %s", kind, user_id,
		    err);
		return -1;
	}
	{
		struct db_param p[] = { user_id ? DB_INT(user_id) : DB_NULL,
			DB_STR(kind), DB_STR(cfg->mail_from), DB_STR(to),
			DB_STR(b.data) };

		if (db_exec(db, "INSERT INTO mail_outbox (user_id, kind,"
		    " sender, recipient, message) VALUES (?, ?, ?, ?, ?)",
		    p, 5, NULL, NULL) != 0)
			log_warn("mail: queue %s: %s", kind, db_error(db));
		else
			rc = 1;
	}
	buf_free(&b);
	return rc;
}

struct mail_user {
	char *email;
	char *display_name;
	char *username;
};

static const struct db_field mail_user_fields[] = {
	DB_FIELD(struct mail_user, email, DBF_DUP, "email"),
	DB_FIELD(struct mail_user, display_name, DBF_DUP, "display_name"),
	DB_FIELD(struct mail_user, username, DBF_DUP, "username"),
};

int
mail_notify(struct kreq *req, unsigned long long user_id, const char *kind,
	const char *subject, const char *fmt, ...)
{
	const struct kiln_config *cfg = &req->app->cfg;
	struct mail_user u = { 0 };
	struct db_param p = DB_INT(user_id);
	struct buf body = { 0 };
	char when[64];
	time_t t = time(NULL);
	struct tm tm;
	va_list ap;
	long n;
	int rc = -1;

	if (!cfg->mail_enabled)
		return 0;
	n = db_query_into(req->app->db, "SELECT email, display_name, username"
	    " FROM users WHERE id = ? AND email IS NOT NULL AND"
	    " email_verified_at IS NOT NULL AND disabled = 0", &p, 1,
	    mail_user_fields, DB_NFIELDS(mail_user_fields), &u, NULL, NULL);
	if (n < 0) {
		log_warn("mail: notice %s: %s", kind, db_error(req->app->db));
		goto out;
	}
	if (n == 0) {
		rc = 0;
		goto out;
	}
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	va_start(ap, fmt);
	rc = buf_vprintf(&body, fmt, ap);
	va_end(ap);
	if (rc != 0 || buf_printf(&body, "\n\nWhen: %s\nAddress: %s\n"
	    "Browser: %s\nAccount: %s\n\nIf this was not you, change your "
	    "password and check your sessions and keys:\n%s/account/security"
	    "\n\n-- \n%s\n%s\n", when, req->remote_addr ? req->remote_addr :
	    "", req->user_agent && mail_header_text_ok(req->user_agent) ?
	    req->user_agent : "(unknown)", u.username, cfg->base_url,
	    cfg->site_name, cfg->base_url) != 0) {
		rc = -1;
		goto out;
	}
	rc = mail_queue(req->app->db, cfg, user_id, kind, u.email,
	    u.display_name[0] ? u.display_name : u.username, subject,
	    body.data);
out:
	free(u.email);
	free(u.display_name);
	free(u.username);
	buf_free(&body);
	return rc;
}

void
mail_device_fingerprint(unsigned long long user_id, const char *ua,
	const char *addr, char out[65])
{
	unsigned char a[16], h[crypto_hash_sha256_BYTES];
	char net[64];
	crypto_hash_sha256_state st;

	/* The network, not the address: a phone's next address on the
	 * same provider is the same device. */
	if (addr != NULL && inet_pton(AF_INET, addr, a) == 1)
		snprintf(net, sizeof(net), "%u.%u.%u.0/24", a[0], a[1], a[2]);
	else if (addr != NULL && inet_pton(AF_INET6, addr, a) == 1)
		snprintf(net, sizeof(net), "%02x%02x:%02x%02x:%02x%02x::/48",
		    a[0], a[1], a[2], a[3], a[4], a[5]);
	else
		snprintf(net, sizeof(net), "?");
	snprintf((char *)a, sizeof(a), "%llu", user_id);
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, a, strlen((char *)a) + 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)(ua ? ua : ""),
	    strlen(ua ? ua : "") + 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)net,
	    strlen(net));
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(out, 65, h, sizeof(h));
}

int
mail_login_seen(struct kreq *req, unsigned long long user_id)
{
	char fp[65];
	unsigned long long n = 0;
	long others = 0;
	struct db_param p[2];

	mail_device_fingerprint(user_id, req->user_agent, req->remote_addr,
	    fp);
	p[0] = DB_INT(user_id);
	p[1] = DB_STR(fp);
	if (db_query_long(req->app->db, "SELECT COUNT(*) FROM known_devices"
	    " WHERE user_id = ? AND fingerprint <> ?", p, 2, &others) != 0 ||
	    db_exec(req->app->db, "INSERT IGNORE INTO known_devices (user_id,"
	    " fingerprint) VALUES (?, ?)", p, 2, &n, NULL) != 0) {
		log_warn("mail: login device: %s", db_error(req->app->db));
		return -1;
	}
	if (n == 0) {
		if (db_exec(req->app->db, "UPDATE known_devices SET"
		    " last_seen_at = NOW(3) WHERE user_id = ? AND"
		    " fingerprint = ?", p, 2, NULL, NULL) != 0)
			log_warn("mail: login device: %s",
			    db_error(req->app->db));
		return 0;
	}
	/* The first device an account is seen on is not news. */
	if (others > 0)
		mail_notify(req, user_id, "login", "New sign-in to your "
		    "account", "Your account on %s was signed in to from a "
		    "device or network it has not been used from before.",
		    req->app->cfg.site_name);
	return 1;
}

