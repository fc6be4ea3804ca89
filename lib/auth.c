/* auth.c - passwords, sessions, API keys, login throttling, the audit log
 * and the access check that runs before every handler. */
#include "auth.h"
#include "accounts.h"
#include "app.h"
#include "db.h"
#include "log.h"
#include "util.h"
#include "view.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

void
auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	free(a->username);
	free(a->display_name);
	free(a->language);
	free(a->time_zone);
	free(a->role);
	free(a->tier);
	free(a->csrf);
	free(a);
}

int
token_new(char *out)
{
	unsigned char raw[32];

	if (random_bytes(raw, sizeof(raw)) != 0)
		return -1;
	sodium_bin2base64(out, TOKEN_LEN + 1, raw, sizeof(raw),
		sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	return 0;
}

void
digest_hex(const char *s, char *out)
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)s, strlen(s));
	sodium_bin2hex(out, DIGEST_HEX + 1, h, sizeof(h));
}

int
password_hash(const char *pw, char *out)
{
	return crypto_pwhash_str(out, pw, strlen(pw),
		crypto_pwhash_OPSLIMIT_INTERACTIVE,
		crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0 ? 0 : -1;
}

int
password_verify(const char *hash, const char *pw, int *rehash)
{
	*rehash = 0;
	if (crypto_pwhash_str_verify(hash, pw, strlen(pw)) != 0)
		return 0;
	*rehash = crypto_pwhash_str_needs_rehash(hash,
		crypto_pwhash_OPSLIMIT_INTERACTIVE,
		crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0;
	return 1;
}

void
password_burn(const char *pw)
{
	char h[crypto_pwhash_STRBYTES];

	/* Hashing costs what verifying does (same parameters). */
	if (password_hash(pw, h) == 0)
		sodium_memzero(h, sizeof(h));
}

static const char *const scope_names[] = { "read", "generate", "admin" };

int
scopes_parse(const char *s, unsigned *out)
{
	unsigned bits = 0;
	size_t i;

	while (*s != '\0') {
		size_t len = strcspn(s, ",");

		for (i = 0; i < ARRAY_LEN(scope_names); i++)
			if (strlen(scope_names[i]) == len &&
			    !strncmp(s, scope_names[i], len))
				break;
		if (len > 0 && i == ARRAY_LEN(scope_names))
			return -1;
		if (len > 0)
			bits |= 1u << i;
		s += len;
		if (*s == ',')
			s++;
	}
	*out = bits;
	return 0;
}

void
scopes_format(unsigned scopes, char *out, size_t n)
{
	size_t i, used = 0;

	if (n == 0)
		return;
	out[0] = '\0';
	for (i = 0; i < ARRAY_LEN(scope_names); i++) {
		int w;

		if (!(scopes & (1u << i)))
			continue;
		w = snprintf(out + used, n - used, "%s%s", used ? "," : "",
			scope_names[i]);
		if (w < 0 || (size_t)w >= n - used)
			return;
		used += (size_t)w;
	}
}

/* A fresh secret into key_out (APIKEY_LEN + 1 bytes) with its prefix
 * and digest, as the row stores them. Returns 0, or -1 without
 * randomness. */
static int
apikey_new(char *key_out, char *prefix, char *hash)
{
	char tok[TOKEN_LEN + 1];

	if (token_new(tok) != 0)
		return -1;
	snprintf(key_out, APIKEY_LEN + 1, "kiln_%s", tok);
	sodium_memzero(tok, sizeof(tok));
	memcpy(prefix, key_out, APIKEY_PREFIX_LEN);
	prefix[APIKEY_PREFIX_LEN] = '\0';
	digest_hex(key_out, hash);
	return 0;
}

int
apikey_create(struct db *db, unsigned long long user_id, const char *name,
	unsigned scopes, long long expires, char *key_out,
	unsigned long long *id)
{
	char prefix[APIKEY_PREFIX_LEN + 1], sc[64], when[32];
	char hash[DIGEST_HEX + 1];
	struct db_param p[6];
	time_t t = (time_t)expires;
	struct tm tm;

	/* As UTC text, the connection's time zone (db.c): MariaDB 10.11's
	 * FROM_UNIXTIME stops at 2038. */
	if (expires != 0 && (gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm) == 0))
		return -1;
	if (apikey_new(key_out, prefix, hash) != 0)
		return -1;
	scopes_format(scopes, sc, sizeof(sc));
	p[0] = DB_INT(user_id);
	p[1] = DB_STR(name);
	p[2] = DB_STR(prefix);
	p[3] = DB_STR(hash);
	p[4] = DB_STR(sc);
	p[5] = expires != 0 ? DB_STR(when) : DB_NULL;
	return db_exec(db, "INSERT INTO api_keys (user_id, name, prefix,"
		" key_hash, scopes, expires_at) VALUES (?, ?, ?, ?, ?, ?)", p, 6,
		NULL, id);
}

int
apikey_rotate(struct db *db, unsigned long long user_id,
	unsigned long long key_id, long grace, char *key_out)
{
	char prefix[APIKEY_PREFIX_LEN + 1], hash[DIGEST_HEX + 1];
	struct db_param p[8];
	unsigned long long n = 0;

	if (apikey_new(key_out, prefix, hash) != 0)
		return -1;
	p[0] = DB_INT(grace);
	p[1] = DB_INT(grace);
	p[2] = DB_INT(grace);
	p[3] = DB_INT(grace);
	p[4] = DB_STR(prefix);
	p[5] = DB_STR(hash);
	p[6] = DB_INT(key_id);
	p[7] = DB_INT(user_id);
	/* One statement, so a request never sees half a rotation. MariaDB
	 * assigns left to right, each seeing the ones before: the old_*
	 * columns take the secret before prefix and key_hash are replaced. */
	if (db_exec(db, "UPDATE api_keys SET"
	    " old_prefix = IF(? > 0, prefix, NULL),"
	    " old_key_hash = IF(? > 0, key_hash, NULL),"
	    " old_valid_until = IF(? > 0, NOW(3) + INTERVAL ? SECOND, NULL),"
	    " old_last_used_at = NULL,"
	    " prefix = ?, key_hash = ?, rotated_at = NOW(3)"
	    " WHERE id = ? AND user_id = ? AND revoked_at IS NULL", p, 8, &n,
	    NULL) != 0)
		return -1;
	return n > 0;
}

/* Throttling is keyed on the lower-cased name as typed, known or not. */
static void
throttle_name(const char *username, char *out, size_t n)
{
	size_t i;

	for (i = 0; username[i] != '\0' && i + 1 < n; i++)
		out[i] = (char)tolower((unsigned char)username[i]);
	out[i] = '\0';
}

long
auth_locked(struct kreq *req, const char *username)
{
	char name[129], *left = NULL;
	struct db_param p[2];
	long secs = 0;

	throttle_name(username, name, sizeof(name));
	p[0] = DB_STR(name);
	p[1] = DB_STR(req->remote_addr);
	if (db_query_string(req->app->db, "SELECT CEIL(MAX(TIMESTAMPDIFF("
	    "MICROSECOND, NOW(3), locked_until)) / 1000000)"
	    " FROM login_throttle WHERE ((kind = 'user' AND subject = ?)"
	    " OR (kind = 'ip' AND subject = ?)) AND locked_until > NOW(3)",
	    p, 2, &left) != 0)
		return -1;
	/* A lock with less than a second left still counts as one. */
	if (left != NULL) {
		secs = strtol(left, NULL, 10);
		if (secs < 1)
			secs = 1;
	}
	free(left);
	return secs;
}

/* Counts one failure for (kind, subject); returns 1 when this one starts a
 * lockout, 0 when not, -1 on a db error. */
static int
count_failure(struct kreq *req, const char *kind, const char *subject,
	long limit)
{
	const struct kiln_config *c = &req->app->cfg;
	struct db_param p[5];
	unsigned long long n = 0;

	p[0] = DB_STR(kind);
	p[1] = DB_STR(subject);
	p[2] = DB_INT(c->lockout_window);
	p[3] = DB_INT(c->lockout_window);
	/* A failure after the window closed starts a new window. The
	 * assignments run left to right, so the second still sees the old
	 * window_start. */
	if (db_exec(req->app->db, "INSERT INTO login_throttle (kind, subject,"
	    " failures, window_start) VALUES (?, ?, 1, NOW(3))"
	    " ON DUPLICATE KEY UPDATE"
	    " failures = IF(window_start < NOW(3) - INTERVAL ? SECOND, 1,"
	    " failures + 1),"
	    " window_start = IF(window_start < NOW(3) - INTERVAL ? SECOND,"
	    " NOW(3), window_start)", p, 4, NULL, NULL) != 0)
		return -1;
	p[0] = DB_INT(c->lockout_seconds);
	p[1] = DB_STR(kind);
	p[2] = DB_STR(subject);
	p[3] = DB_INT(limit);
	if (db_exec(req->app->db, "UPDATE login_throttle"
	    " SET locked_until = NOW(3) + INTERVAL ? SECOND, failures = 0,"
	    " window_start = NOW(3)"
	    " WHERE kind = ? AND subject = ? AND failures >= ?", p, 4, &n,
	    NULL) != 0)
		return -1;
	return n > 0;
}

int
auth_login_failed(struct kreq *req, const char *username)
{
	const struct kiln_config *c = &req->app->cfg;
	char name[129];
	int u, ip;

	throttle_name(username, name, sizeof(name));
	u = count_failure(req, "user", name, c->lockout_failures);
	ip = count_failure(req, "ip", req->remote_addr,
		c->lockout_ip_failures);
	if (u < 0 || ip < 0)
		return -1;
	return u || ip;
}

int
auth_login_ok(struct kreq *req, const char *username)
{
	char name[129];
	struct db_param p[1];

	throttle_name(username, name, sizeof(name));
	p[0] = DB_STR(name);
	return db_exec(req->app->db, "DELETE FROM login_throttle"
		" WHERE kind = 'user' AND subject = ?", p, 1, NULL, NULL);
}

int
auth_form_locked(struct kreq *req, const char *field)
{
	long locked = auth_locked(req, req->auth->username);

	if (locked < 0)
		return view_db_fail(req, "form: lockout");
	if (locked == 0)
		return 0;
	view_field_error(req, field, "Too many failed attempts; try again "
		"later.");
	return 1;
}

void
auth_form_failed(struct kreq *req, const char *what, const char *where)
{
	int st = auth_login_failed(req, req->auth->username);

	audit(req, "login_failed", req->auth->user_id, req->auth->username,
		"wrong %s on %s", what, where);
	if (st == 1)
		audit(req, "lockout", req->auth->user_id, req->auth->username,
			"%s", where);
}

/* The User-Agent as printable ASCII, at most n - 1 bytes: the column is
 * for people reading a session list, and a cut multi-byte character would
 * be refused by the database. */
static void
ascii_copy(const char *s, char *out, size_t n)
{
	size_t i = 0;

	for (; *s != '\0' && i + 1 < n; s++)
		if (*s >= 0x20 && *s < 0x7f)
			out[i++] = *s;
	out[i] = '\0';
}

int
session_start(struct kreq *req, unsigned long long user_id)
{
	const struct kiln_config *c = &req->app->cfg;
	char tok[TOKEN_LEN + 1], csrf[TOKEN_LEN + 1], hash[DIGEST_HEX + 1];
	char ua[256];
	struct db_param p[6];
	int rc = -1;

	/* Rotation: the session (or stale cookie) this browser came with
	 * is never reused across a login. */
	if (session_end(req) != 0)
		goto out;
	if (token_new(tok) != 0 || token_new(csrf) != 0)
		goto out;
	digest_hex(tok, hash);
	ascii_copy(req->user_agent, ua, sizeof(ua));
	p[0] = DB_INT(user_id);
	p[1] = DB_INT(c->session_idle);
	if (db_exec(req->app->db, "DELETE FROM sessions WHERE user_id = ?"
	    " AND (expires_at < NOW(3)"
	    " OR last_seen_at < NOW(3) - INTERVAL ? SECOND)", p, 2, NULL,
	    NULL) != 0)
		goto out;
	p[1] = DB_STR(hash);
	p[2] = DB_STR(csrf);
	p[3] = DB_STR(req->remote_addr);
	p[4] = DB_STR(ua);
	p[5] = DB_INT(c->session_lifetime);
	if (db_exec(req->app->db, "INSERT INTO sessions (user_id, token_hash,"
	    " csrf, ip, user_agent, expires_at) VALUES (?, ?, ?, ?, ?,"
	    " NOW(3) + INTERVAL ? SECOND)", p, 6, NULL, NULL) != 0)
		goto out;
	if (resp_cookie(req, SESSION_COOKIE, tok, c->session_lifetime) != 0)
		goto out;
	rc = 0;
out:
	sodium_memzero(tok, sizeof(tok));
	return rc;
}

int
session_end(struct kreq *req)
{
	const char *tok = req_cookie(req, SESSION_COOKIE);
	char hash[DIGEST_HEX + 1];
	struct db_param p[1];

	if (tok == NULL)
		return 0;
	digest_hex(tok, hash);
	p[0] = DB_STR(hash);
	if (db_exec(req->app->db, "DELETE FROM sessions WHERE token_hash = ?",
	    p, 1, NULL, NULL) != 0)
		return -1;
	return resp_cookie(req, SESSION_COOKIE, "", 0);
}

static int
audit_v(struct kreq *req, unsigned long long actor_id, const char *actor,
	const char *action, unsigned long long target_id, const char *target,
	const char *fmt, va_list ap)
{
	struct buf detail = { 0 };
	int rc;

	if (buf_vprintf(&detail, fmt, ap) != 0) {
		log_error("audit %s: out of memory", action);
		return -1;
	}
	rc = audit_write(req->app->db, actor_id, actor, req->remote_addr,
		action, target_id, target, detail.data ? detail.data : "");
	if (rc != 0)
		log_error("audit %s: %s", action, db_error(req->app->db));
	buf_free(&detail);
	return rc;
}

int
audit(struct kreq *req, const char *action, unsigned long long target_id,
	const char *target, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = audit_v(req, req->auth ? req->auth->user_id : 0,
		req->auth ? req->auth->username : "", action, target_id,
		target, fmt, ap);
	va_end(ap);
	return rc;
}

int
audit_by(struct kreq *req, unsigned long long actor_id, const char *actor,
	const char *action, unsigned long long target_id, const char *target,
	const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = audit_v(req, actor_id, actor, action, target_id, target, fmt,
		ap);
	va_end(ap);
	return rc;
}

/* One principal row: the user, then the session's or the key's own
 * columns (the other kind's stay 0 and NULL). */
struct principal_rec {
	unsigned long long user_id;
	const char *username, *display_name, *role, *tier;
	unsigned long long session_id;
	const char *csrf;
	const char *key_hash;
	unsigned long long key_id;
	const char *scopes;
	const char *language, *time_zone;	/* sessions only */
	long idle;		/* seconds since last use */
	/* Keys: the secret before the last rotation (NULL: none), whether
	 * its grace period is still running, whether the key has expired,
	 * and the two times for a refusal's message. */
	const char *old_hash;
	long old_live, expired;
	const char *expires, *old_until;
	long old_idle;		/* seconds since the old secret's last use */
};

#define PRINCIPAL_USER_FIELDS \
	DB_FIELD(struct principal_rec, user_id, DBF_ULLONG, "id"), \
	DB_FIELD(struct principal_rec, username, DBF_STR, "username"), \
	DB_FIELD(struct principal_rec, display_name, DBF_STR, \
	    "display_name"), \
	DB_FIELD(struct principal_rec, role, DBF_STR, "role"), \
	DB_FIELD(struct principal_rec, tier, DBF_STR, "tier")

static const struct db_field session_fields[] = {
	PRINCIPAL_USER_FIELDS,
	DB_FIELD(struct principal_rec, session_id, DBF_ULLONG, "session_id"),
	DB_FIELD(struct principal_rec, csrf, DBF_STR, "csrf"),
	DB_FIELD(struct principal_rec, language, DBF_STR, "language"),
	DB_FIELD(struct principal_rec, time_zone, DBF_STR, "time_zone"),
	DB_FIELD(struct principal_rec, idle, DBF_LONG, "idle_s"),
};

static const struct db_field key_fields[] = {
	PRINCIPAL_USER_FIELDS,
	DB_FIELD(struct principal_rec, key_hash, DBF_STR, "key_hash"),
	DB_FIELD(struct principal_rec, key_id, DBF_ULLONG, "key_id"),
	DB_FIELD(struct principal_rec, scopes, DBF_STR, "scopes"),
	DB_FIELD(struct principal_rec, idle, DBF_LONG, "idle_s"),
	DB_FIELD_NULL(struct principal_rec, old_hash, DBF_STR, "old_key_hash"),
	DB_FIELD(struct principal_rec, old_live, DBF_LONG, "old_live"),
	DB_FIELD(struct principal_rec, expired, DBF_LONG, "expired"),
	DB_FIELD(struct principal_rec, expires, DBF_STR, "expires"),
	DB_FIELD(struct principal_rec, old_until, DBF_STR, "old_until"),
	DB_FIELD(struct principal_rec, old_idle, DBF_LONG, "old_idle_s"),
};

/* Why a key whose secret matched a row was refused all the same. */
enum key_refusal { KEY_OK = 0, KEY_EXPIRED, KEY_OLD_SECRET };

struct principal_row {
	struct principal_rec r;
	struct auth *a;
	const char *want_hash;	/* keys: the digest to match */
	long idle;		/* seconds since last use */
	int found;
	enum key_refusal refusal;	/* keys: found but refused */
	char when[32];		/* ... the time it ended, for the message */
	int by_old;		/* keys: the old secret, in its grace */
	long old_idle;		/* ... seconds since its last use */
};

/* 1 when the digest hash (DIGEST_HEX characters, or NULL) is want. */
static int
digest_eq(const char *hash, const char *want)
{
	return hash != NULL && strlen(hash) == DIGEST_HEX &&
		sodium_memcmp(hash, want, DIGEST_HEX) == 0;
}

/* A key row whose current or (rotated, still in grace) old secret is
 * pr->want_hash: 1 when the key may be used, 0 when the row is another
 * key's (or the secret matched but the key is refused: pr->refusal). */
static int
key_usable(const struct principal_rec *r, struct principal_row *pr)
{
	int current = digest_eq(r->key_hash, pr->want_hash);

	if (!current && !digest_eq(r->old_hash, pr->want_hash))
		return 0;	/* same prefix, other key */
	/* Checked here, per request, so a key ends at its exact time
	 * whatever runs in the background. */
	if (r->expired) {
		pr->refusal = KEY_EXPIRED;
		snprintf(pr->when, sizeof(pr->when), "%s", r->expires);
		return 0;
	}
	if (!current && !r->old_live) {
		pr->refusal = KEY_OLD_SECRET;
		snprintf(pr->when, sizeof(pr->when), "%s", r->old_until);
		return 0;
	}
	pr->by_old = !current;
	pr->old_idle = r->old_idle;
	return 1;
}

static int
principal_row(void *rec, void *arg)
{
	const struct principal_rec *r = rec;
	struct principal_row *pr = arg;
	struct auth *a;

	if (pr->want_hash != NULL && !key_usable(r, pr))
		return pr->refusal != KEY_OK;	/* refused: stop looking */
	a = xcalloc(1, sizeof(*a));
	a->user_id = r->user_id;
	a->username = xstrdup(r->username);
	a->display_name = xstrdup(r->display_name);
	a->role = xstrdup(r->role);
	a->tier = xstrdup(r->tier);
	a->is_admin = !strcmp(r->role, "admin");
	a->is_moderator = a->is_admin || !strcmp(r->role, "moderator");
	if (pr->want_hash == NULL) {
		a->session_id = r->session_id;
		a->csrf = xstrdup(r->csrf);
		a->language = xstrdup(r->language ? r->language : "");
		a->time_zone = xstrdup(r->time_zone ? r->time_zone : "");
		a->scopes = SCOPE_READ | SCOPE_GENERATE |
			(a->is_admin ? SCOPE_ADMIN : 0);
	} else {
		unsigned sc = 0;

		a->key_id = r->key_id;
		scopes_parse(r->scopes, &sc);
		a->scopes = sc;
	}
	pr->idle = r->idle;
	pr->a = a;
	pr->found = 1;
	return 1;
}

/* Loads the session named by the cookie into req->auth. A cookie that
 * names no live session is cleared. Returns 0 (signed in or not) or -1 on
 * a db error. */
static int
session_load(struct kreq *req)
{
	const struct kiln_config *c = &req->app->cfg;
	const char *tok = req_cookie(req, SESSION_COOKIE);
	struct principal_row pr = { 0 };
	char hash[DIGEST_HEX + 1];
	struct db_param p[2];

	if (req->auth != NULL)
		return 0;	/* auth_portal_session loaded it */
	if (tok == NULL || *tok == '\0')
		return 0;
	if (strlen(tok) != TOKEN_LEN)
		return resp_cookie(req, SESSION_COOKIE, "", 0) != 0 ? -1 : 0;
	digest_hex(tok, hash);
	p[0] = DB_STR(hash);
	p[1] = DB_INT(c->session_idle);
	if (db_query_into(req->app->db, "SELECT u.id, u.username,"
	    " u.display_name, u.role, u.tier, s.id AS session_id, s.csrf,"
	    " COALESCE(u.language, '') AS language,"
	    " COALESCE(u.time_zone, '') AS time_zone,"
	    " TIMESTAMPDIFF(SECOND, s.last_seen_at, NOW(3)) AS idle_s"
	    " FROM sessions s JOIN users u ON u.id = s.user_id"
	    " WHERE s.token_hash = ? AND s.expires_at > NOW(3)"
	    " AND s.last_seen_at > NOW(3) - INTERVAL ? SECOND"
	    " AND u.disabled = 0", p, 2, session_fields,
	    DB_NFIELDS(session_fields), &pr.r, principal_row, &pr) < 0)
		return -1;
	if (!pr.found)
		return resp_cookie(req, SESSION_COOKIE, "", 0) != 0 ? -1 : 0;
	req->auth = pr.a;
	/* The idle clock needs minute precision, not a write per page. */
	if (pr.idle >= 60) {
		p[0] = DB_INT(pr.a->session_id);
		if (db_exec(req->app->db, "UPDATE sessions SET last_seen_at ="
		    " NOW(3) WHERE id = ?", p, 1, NULL, NULL) != 0)
			return -1;
	}
	return 0;
}

const char *
csrf_token(struct kreq *req)
{
	const char *c;

	if (req->auth != NULL && req->auth->csrf != NULL)
		return req->auth->csrf;
	if (req->csrf_fresh != NULL)
		return req->csrf_fresh;
	c = req_cookie(req, PRE_CSRF_COOKIE);
	if (c != NULL && strlen(c) == TOKEN_LEN)
		return c;
	req->csrf_fresh = xmalloc(TOKEN_LEN + 1);
	if (token_new(req->csrf_fresh) != 0 ||
	    resp_cookie(req, PRE_CSRF_COOKIE, req->csrf_fresh, -1) != 0) {
		free(req->csrf_fresh);
		req->csrf_fresh = NULL;
		return NULL;
	}
	return req->csrf_fresh;
}

const char *
safe_next(const char *next)
{
	const char *p;

	if (next == NULL || next[0] != '/' || next[1] == '/' ||
	    next[1] == '\\')
		return "/";
	for (p = next; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\')
			return "/";
	return next;
}

/* "scheme://host[:port]" of an Origin or Referer is this site: its host
 * part equals the Host header. */
static int
same_origin(const struct kreq *req, const char *url)
{
	const char *h = strstr(url, "://"), *end;
	size_t len;

	if (h == NULL)
		return 0;
	h += 3;
	end = h + strcspn(h, "/?#");
	len = (size_t)(end - h);
	return *req->host != '\0' && strlen(req->host) == len &&
		!strncasecmp(h, req->host, len);
}

static int
refuse(struct kreq *req, int status, const char *msg)
{
	view_error(req, status, "forbidden", msg);
	return -1;
}

/* Every portal form's token field, declared as a route's inputs are. */
static const struct input csrf_input = { .name = "csrf", .type = IN_STR,
	.flags = IN_REQUIRED, .min = TOKEN_LEN, .max = TOKEN_LEN };

/* Cross-site POSTs are refused outright; then the form's token must match
 * the session's (or, before login, the pre-session cookie's). */
static int
check_post(struct kreq *req)
{
	struct in_value token;
	const char *want, *got;

	got = req_input(req, &csrf_input, &token) == 0 ? token.s : NULL;

	/* Browsers send Origin on POSTs (an opaque one as "null", which
	 * fails the comparison); without it the Referer is checked. */
	if (*req->origin != '\0' ? !same_origin(req, req->origin) :
	    *req->referer != '\0' && !same_origin(req, req->referer))
		return refuse(req, 403, "Cross-site form posts are refused.");
	want = req->auth != NULL ? req->auth->csrf :
		req_cookie(req, PRE_CSRF_COOKIE);
	if (want == NULL || got == NULL || strlen(want) != TOKEN_LEN ||
	    sodium_memcmp(want, got, TOKEN_LEN) != 0)
		return refuse(req, 403, "This form has expired or did not "
			"come from this site. Go back, reload the page and "
			"try again.");
	return 0;
}

/* The site setting require_2fa_admins: an administrator whose two-factor
 * login is off is sent to /account/security (which, with logging out,
 * stays open) until it is on. Returns 1 when the request's admin must
 * turn it on first, 0 when not, -1 on a db error. */
static int
admin_2fa_missing(struct kreq *req)
{
	struct db_param p = DB_INT(req->auth->user_id);
	long n = 0;

	if (db_query_long(req->app->db, "SELECT (SELECT value FROM settings"
	    " WHERE name = 'require_2fa_admins') = '1' AND NOT EXISTS"
	    " (SELECT 1 FROM user_totp WHERE user_id = ?"
	    " AND enabled_at IS NOT NULL)", &p, 1, &n) != 0)
		return -1;
	return n > 0;
}

/* The routes an administrator held by require_2fa_admins may still use:
 * setting it up, logging in and out, the theme, the probes. */
static int
open_without_2fa(const struct route *r)
{
	static const char *const open[] = { "/account/security", "/login",
		"/logout", "/theme", "/healthz", "/readyz", "/metrics" };
	size_t i;

	for (i = 0; i < ARRAY_LEN(open); i++)
		if (!strncmp(r->pattern, open[i], strlen(open[i])))
			return 1;
	return 0;
}

/* Sends a signed-in administrator without two-factor login to set it up
 * when the site requires it. Returns 0 to go on, or -1 with the redirect
 * (or a 503) in req. */
static int
hold_admin_without_2fa(struct kreq *req, const struct route *r)
{
	if (req->auth == NULL || !req->auth->is_admin || open_without_2fa(r))
		return 0;
	switch (admin_2fa_missing(req)) {
	case 0:
		return 0;
	case 1:
		if (resp_redirect(req, "/account/security?required=1") != 0)
			return refuse(req, 500, "Out of memory.");
		return -1;
	default:
		log_error("%s: %s", req->path, db_error(req->app->db));
		return refuse(req, 503, "The database could not answer; try "
			"again shortly.");
	}
}

int
auth_portal(struct kreq *req, const struct route *r)
{
	struct buf next = { 0 };

	/* Anonymous reads of public pages need nothing from the database
	 * here (the pages that want it ask it themselves). */
	if (r->access == ACC_PUBLIC && req->method != M_POST &&
	    req_cookie(req, SESSION_COOKIE) == NULL)
		return 0;
	if (db_ensure(req->app->db) != 0 || session_load(req) != 0) {
		/* The front page reports a database outage itself. */
		if (r->access == ACC_PUBLIC && req->method != M_POST)
			return 0;
		log_error("%s: %s", req->path, db_error(req->app->db));
		return refuse(req, 503, "The database could not answer; try "
			"again shortly.");
	}
	if (req->method == M_POST && check_post(req) != 0)
		return -1;
	if (hold_admin_without_2fa(req, r) != 0)
		return -1;
	if (r->access == ACC_PUBLIC)
		return 0;
	if (req->auth == NULL) {
		const char *back = req->method == M_GET ? req->path : "/";

		if (buf_puts(&next, "/login?next=") != 0 ||
		    buf_url_escape(&next, back) != 0 ||
		    resp_redirect(req, next.data) != 0) {
			buf_free(&next);
			return refuse(req, 500, "Out of memory.");
		}
		buf_free(&next);
		return -1;
	}
	if (r->access == ACC_ADMIN && !req->auth->is_admin)
		return refuse(req, 403, "This page is for administrators.");
	if (r->access == ACC_MODERATOR && !req->auth->is_moderator)
		return refuse(req, 403, "This page is for moderators.");
	return 0;
}

int
auth_portal_session(struct kreq *req, const struct route *r)
{
	(void)r;
	if (db_ensure(req->app->db) != 0 || session_load(req) != 0) {
		log_error("%s: %s", req->path, db_error(req->app->db));
		return refuse(req, 503, "The database could not answer; try "
			"again shortly.");
	}
	if (req->auth == NULL) {
		view_error(req, 413, "payload_too_large", "Sign in to send "
			"images: a form without a session may be at most "
			"1 MiB.");
		return -1;
	}
	return 0;
}

/* The routes other tools' clients call: AUTOMATIC1111's /sdapi/ and
 * /internal/, the ControlNet extension's /controlnet/, ComfyUI's
 * /comfyui/. They take HTTP Basic as well as Bearer (A1111's clients send
 * Basic; ComfyUI has no auth of its own, so its clients send a proxy's
 * Basic, a Bearer, or nothing) and the key-less loopback account, and
 * their 401 asks for Basic. */
static int
a1111_route(const struct route *r)
{
	return !strncmp(r->pattern, "/sdapi/", 7) ||
		!strncmp(r->pattern, "/internal/", 10) ||
		!strncmp(r->pattern, "/controlnet/", 12) ||
		!strncmp(r->pattern, "/comfyui/", 9);
}

static int
api_refuse(struct kreq *req, const struct route *r, int status,
	const char *code, const char *msg)
{
	if (status == 401)
		resp_header(req, "WWW-Authenticate", r != NULL &&
			a1111_route(r) ? "Basic realm=\"kiln\"" :
			"Bearer realm=\"kiln\"");
	return resp_error_json(req, status, code, msg, NULL);
}

/* Loads the owner of the API key key into req->auth. Returns 1, 0 when
 * key is no live key (with why, n bytes, saying so: an expired key and
 * a rotated key's old secret after its grace period are told apart from
 * an unknown or revoked one), -1 on a db error. */
static int
auth_key(struct kreq *req, const char *key, char *why, size_t n)
{
	struct principal_row pr = { 0 };
	char hash[DIGEST_HEX + 1], prefix[APIKEY_PREFIX_LEN + 1];
	struct db_param p[2];

	snprintf(why, n, "invalid or revoked API key");

	if (strlen(key) != APIKEY_LEN || strncmp(key, "kiln_", 5) != 0)
		return 0;
	if (db_ensure(req->app->db) != 0)
		return -1;
	memcpy(prefix, key, APIKEY_PREFIX_LEN);
	prefix[APIKEY_PREFIX_LEN] = '\0';
	digest_hex(key, hash);
	pr.want_hash = hash;
	p[0] = DB_STR(prefix);
	p[1] = DB_STR(prefix);
	/* A key never used counts as idle for long, so its first use is
	 * recorded. The secret may be a rotated key's old one: its row is
	 * found by old_prefix. */
	if (db_query_into(req->app->db, "SELECT u.id, u.username,"
	    " u.display_name, u.role, u.tier, k.key_hash, k.id AS key_id,"
	    " k.scopes, COALESCE(TIMESTAMPDIFF(SECOND, k.last_used_at,"
	    " NOW(3)), 1073741824) AS idle_s, k.old_key_hash,"
	    " COALESCE(k.old_valid_until > NOW(3), 0) AS old_live,"
	    " COALESCE(k.expires_at <= NOW(3), 0) AS expired,"
	    " COALESCE(DATE_FORMAT(k.expires_at, '%Y-%m-%dT%H:%i:%sZ'), '')"
	    " AS expires,"
	    " COALESCE(DATE_FORMAT(k.old_valid_until, '%Y-%m-%dT%H:%i:%sZ'),"
	    " '') AS old_until, COALESCE(TIMESTAMPDIFF(SECOND,"
	    " k.old_last_used_at, NOW(3)), 1073741824) AS old_idle_s"
	    " FROM api_keys k JOIN users u ON u.id = k.user_id"
	    " WHERE (k.prefix = ? OR k.old_prefix = ?)"
	    " AND k.revoked_at IS NULL AND u.disabled = 0",
	    p, 2, key_fields, DB_NFIELDS(key_fields), &pr.r, principal_row,
	    &pr) < 0)
		return -1;
	if (pr.refusal == KEY_EXPIRED)
		snprintf(why, n, "this API key expired at %s", pr.when);
	else if (pr.refusal == KEY_OLD_SECRET)
		snprintf(why, n, "this API key was rotated: its old secret "
			"stopped working at %s; use the new one", pr.when);
	if (!pr.found)
		return 0;
	auth_free(req->auth);
	req->auth = pr.a;
	/* Last use to within ten seconds is what a key list needs; the
	 * old secret's too, which tells whether scripts still send it. */
	if (pr.idle >= 10 || (pr.by_old && pr.old_idle >= 10)) {
		struct db_param q[3];

		q[0] = DB_STR(req->remote_addr);
		q[1] = DB_INT(pr.by_old);
		q[2] = DB_INT(pr.a->key_id);
		if (db_exec(req->app->db, "UPDATE api_keys SET last_used_at ="
		    " NOW(3), last_used_ip = ?, old_last_used_at ="
		    " IF(?, NOW(3), old_last_used_at) WHERE id = ?", q, 3,
		    NULL, NULL) != 0)
			return -1;
	}
	return 1;
}

/* auth_bearer with why (n bytes) saying why a key was refused. */
static int
bearer_key(struct kreq *req, char *why, size_t n)
{
	const char *key;

	snprintf(why, n, "invalid or revoked API key");
	if (strncasecmp(req->authorization, "Bearer ", 7) != 0)
		return 0;
	key = req->authorization + 7;
	while (*key == ' ')
		key++;
	return auth_key(req, key, why, n);
}

int
auth_bearer(struct kreq *req)
{
	char why[160];

	return bearer_key(req, why, sizeof(why));
}

int
basic_password(const char *h, char *out, size_t n)
{
	unsigned char raw[256];
	size_t len = 0;
	const char *colon;

	if (strncasecmp(h, "Basic", 5) != 0 || (h[5] != ' ' && h[5] != '\0'))
		return -1;
	h += 5;
	while (*h == ' ')
		h++;
	/* The credentials are user:password, the password a kiln key:
	 * anything longer than a few hundred bytes is not one. */
	if (sodium_base642bin(raw, sizeof(raw) - 1, h, strlen(h), " ", &len,
	    NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	raw[len] = '\0';
	if (memchr(raw, '\0', len) != NULL)
		return -1;
	colon = strchr((const char *)raw, ':');
	if (colon == NULL)
		return -1;
	if (strlen(colon + 1) >= n)
		return -1;
	strcpy(out, colon + 1);
	sodium_memzero(raw, sizeof(raw));
	return 0;
}

/* The account [sdapi] loopback_user names, as a principal with the read
 * and generate scopes (never admin, whatever its role), for a key-less
 * request from this machine. Returns 1, 0 when there is no such enabled
 * account, -1 on a db error. */
static int
auth_loopback_user(struct kreq *req)
{
	struct principal_row pr = { 0 };
	struct db_param p = DB_STR(req->app->cfg.sdapi_loopback_user);

	if (db_ensure(req->app->db) != 0)
		return -1;
	if (db_query_into(req->app->db, "SELECT u.id, u.username,"
	    " u.display_name, u.role, u.tier, 0 AS session_id, '' AS csrf,"
	    " '' AS language, '' AS time_zone,"
	    " 0 AS idle_s FROM users u WHERE u.username = ? AND"
	    " u.disabled = 0", &p, 1, session_fields,
	    DB_NFIELDS(session_fields), &pr.r, principal_row, &pr) < 0)
		return -1;
	if (!pr.found)
		return 0;
	pr.a->session_id = 0;
	free(pr.a->csrf);
	pr.a->csrf = NULL;
	pr.a->scopes = SCOPE_READ | SCOPE_GENERATE;
	pr.a->is_admin = 0;
	pr.a->is_moderator = 0;
	auth_free(req->auth);
	req->auth = pr.a;
	return 1;
}

int
addr_is_loopback(const char *a)
{
	if (!strncmp(a, "::ffff:", 7))
		a += 7;
	return !strncmp(a, "127.", 4) || !strcmp(a, "::1");
}

/* No credentials at all: no Authorization header, an empty one (Open
 * WebUI without a key) or Basic of nothing (SillyTavern's). */
static int
no_credentials(const char *h)
{
	while (*h == ' ')
		h++;
	if (!strncasecmp(h, "Basic", 5)) {
		h += 5;
		while (*h == ' ')
			h++;
	}
	return *h == '\0';
}

/* The key of an AUTOMATIC1111 client's request: Bearer, or the password
 * of Basic (the user name is not read: the key names its account).
 * Returns 1 when loaded, 0 when no key or no live key was given, -1 on a
 * db error. */
static int
auth_a1111(struct kreq *req, char *why, size_t n)
{
	char key[APIKEY_LEN + 2];
	int st;

	if (strncasecmp(req->authorization, "Bearer ", 7) == 0)
		return bearer_key(req, why, n);
	snprintf(why, n, "invalid or revoked API key");
	if (basic_password(req->authorization, key, sizeof(key)) != 0)
		return 0;
	st = auth_key(req, key, why, n);
	sodium_memzero(key, sizeof(key));
	return st;
}

int
auth_api(struct kreq *req, const struct route *r)
{
	const char *h = req->authorization;
	const struct kiln_config *c = &req->app->cfg;
	int a1111 = a1111_route(r), st;
	char need[64], why[160];

	if (r->access == ACC_PUBLIC && r->scope == 0)
		return 0;
	/* The portal's own pages read (never change) through the API with
	 * the session cookie: a cross-site page cannot read the answers, and
	 * no state changes without a key. */
	if (*h == '\0' && (req->method == M_GET || req->method == M_HEAD) &&
	    req_cookie(req, SESSION_COOKIE) != NULL) {
		if (db_ensure(req->app->db) != 0 || session_load(req) != 0)
			goto down;
		if (req->auth != NULL)
			goto check;
	}
	/* The operator's key-less mode for AUTOMATIC1111 clients on this
	 * machine (LibreChat's tool sends nothing): only from loopback, and
	 * only when nothing was sent, so a wrong key still answers 401. */
	if (a1111 && *c->sdapi_loopback_user != '\0' && no_credentials(h) &&
	    addr_is_loopback(req->remote_addr)) {
		st = auth_loopback_user(req);
		if (st < 0)
			goto down;
		if (st == 0) {
			log_warn("sdapi: loopback_user %s is no enabled account",
				c->sdapi_loopback_user);
			return api_refuse(req, r, 401, "unauthorized", "the "
				"loopback account is missing or disabled");
		}
		goto check;
	}
	if (a1111) {
		if (no_credentials(h))
			return api_refuse(req, r, 401, "unauthorized", "this "
				"endpoint needs an API key: send it as the "
				"password of HTTP Basic or as Authorization: "
				"Bearer kiln_...");
		st = auth_a1111(req, why, sizeof(why));
	} else {
		if (strncasecmp(h, "Bearer ", 7) != 0)
			return api_refuse(req, r, 401, "unauthorized", "this "
				"endpoint needs an API key: send "
				"Authorization: Bearer kiln_...");
		st = bearer_key(req, why, sizeof(why));
	}
	switch (st) {
	case 1:
		break;
	case 0:
		return api_refuse(req, r, 401, "unauthorized", why);
	default:
		goto down;
	}
check:
	if ((r->scope & ~req->auth->scopes) != 0) {
		char msg[128];

		scopes_format(r->scope & ~req->auth->scopes, need,
			sizeof(need));
		snprintf(msg, sizeof(msg), "this API key lacks the scope: %s",
			need);
		return api_refuse(req, r, 403, "forbidden", msg);
	}
	if (r->access == ACC_ADMIN && !req->auth->is_admin)
		return api_refuse(req, r, 403, "forbidden", "this endpoint is "
			"for administrators");
	if (r->access == ACC_MODERATOR && !req->auth->is_moderator)
		return api_refuse(req, r, 403, "forbidden", "this endpoint is "
			"for moderators");
	return 0;
down:
	log_error("%s: %s", req->path, db_error(req->app->db));
	return api_refuse(req, r, 503, "database_unavailable", "the database "
		"could not answer; try again shortly");
}
