/* auth.h - who is asking: passwords (Argon2id), sessions (cookie token +
 * CSRF token), API keys (Bearer), login throttling, the audit log, and the
 * per-route access check both web programs run before any handler. */
#ifndef KILN_AUTH_H
#define KILN_AUTH_H

#include <stddef.h>

#include "request.h"

struct db;

/* Random tokens: 32 bytes as unpadded base64url, 43 characters. */
#define TOKEN_LEN 43
/* SHA-256 as lowercase hex. */
#define DIGEST_HEX 64
#define PASSWORD_MIN 10
#define PASSWORD_MAX 1024
/* "kiln_" + the token: what a script puts after "Bearer ". */
#define APIKEY_LEN (5 + TOKEN_LEN)
#define APIKEY_PREFIX_LEN 13

#define SESSION_COOKIE "kiln_session"
/* Before login there is no session: the login and register forms carry
 * this cookie's value as their CSRF token (double submit). */
#define PRE_CSRF_COOKIE "kiln_csrf"

/* The signed-in principal of a request. Owned by the request. */
struct auth {
	unsigned long long user_id;
	char *username;
	char *display_name;
	char *role;
	char *tier;
	int is_admin;
	int is_moderator;	/* role moderator, or admin */
	unsigned long long session_id;	/* 0 under the API */
	char *csrf;			/* the session's form token */
	unsigned long long key_id;	/* 0 under the portal */
	unsigned scopes;		/* the key's; every scope for sessions */
	/* The user's settings (sessions only): "" when not chosen. */
	char *language;
	char *time_zone;
};

void auth_free(struct auth *a);

/* Fills out (TOKEN_LEN + 1 bytes) with a fresh random token. Returns 0,
 * or -1 when the system has no randomness. */
int token_new(char *out);

/* SHA-256 of s as hex into out (DIGEST_HEX + 1 bytes). */
void digest_hex(const char *s, char *out);

/* Argon2id hash (crypto_pwhash_str) into out, which must hold
 * crypto_pwhash_STRBYTES (128) bytes. Returns 0, or -1 out of memory. */
int password_hash(const char *pw, char *out);

/* 1 when pw matches hash, 0 when not (or hash is malformed). *rehash is
 * set when the hash was made with parameters other than today's. */
int password_verify(const char *hash, const char *pw, int *rehash);

/* Runs the same Argon2id work as a real check against a fixed hash, so an
 * unknown user name takes as long to refuse as a wrong password. */
void password_burn(const char *pw);

/* Scope names <-> bits: "read,generate" etc. scopes_parse returns -1 on
 * an unknown name. */
int scopes_parse(const char *s, unsigned *out);
void scopes_format(unsigned scopes, char *out, size_t n);

/* Makes a key for user_id: writes the clear key (APIKEY_LEN + 1 bytes)
 * to key_out, which is shown once and never stored. expires is when the
 * key stops working, in seconds since the epoch (0: never). Returns 0 or
 * -1 (db error). */
int apikey_create(struct db *db, unsigned long long user_id,
	const char *name, unsigned scopes, long long expires, char *key_out,
	unsigned long long *id);

/* The grace period of a rotated key's old secret: at most 30 days, a
 * day unless the caller says otherwise. */
#define APIKEY_GRACE_MAX (30L * 24 * 3600)
#define APIKEY_GRACE_DEFAULT (24L * 3600)

/* Gives user_id's live key key_id a new secret (written to key_out as
 * apikey_create does); the one it had keeps working for grace seconds
 * (0: stops now), checked at each authentication. A secret still in an
 * earlier rotation's grace period stops now. The row (id, name, scopes,
 * expiry) stays. Returns 1, 0 when there is no such key of user_id or
 * it is revoked, -1 on a db error. */
int apikey_rotate(struct db *db, unsigned long long user_id,
	unsigned long long key_id, long grace, char *key_out);

/* Login throttling. auth_locked returns the seconds left on a lockout of
 * the user name or the address (0: none), or -1 on a db error.
 * auth_login_failed counts a failure and returns 1 when it started a
 * lockout, 0 when not, -1 on a db error. auth_login_ok clears the user
 * name's count. */
long auth_locked(struct kreq *req, const char *username);
int auth_login_failed(struct kreq *req, const char *username);
int auth_login_ok(struct kreq *req, const char *username);

/* A signed-in user's form that asks for the password or a code (the
 * security page, the account's deletion): the login lockout guards it
 * too, so a stolen session cannot guess them. auth_form_locked returns 1
 * when locked out (the message set on field; the caller shows its page
 * with 429), 0 when not, or -1 on a db error (answered).
 * auth_form_failed counts a wrong one (what) typed on where against the
 * user's name, audited as a failed login (and the lockout it starts). */
int auth_form_locked(struct kreq *req, const char *field);
void auth_form_failed(struct kreq *req, const char *what, const char *where);

/* Starts a session for user_id: drops the request's old session (rotation),
 * stores the new one hashed and sets the cookie. Returns 0 or -1. */
int session_start(struct kreq *req, unsigned long long user_id);

/* Ends the request's session and clears the cookie. Returns 0 or -1. */
int session_end(struct kreq *req);

/* Writes an audit row. actor is the request's user (may be NULL);
 * target_id 0 means none. Failures are logged, never fatal: returns 0 or
 * -1. */
int audit(struct kreq *req, const char *action, unsigned long long target_id,
	const char *target, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* The same with the actor given: a login or a registration, whose user
 * is not yet the request's. */
int audit_by(struct kreq *req, unsigned long long actor_id, const char *actor,
	const char *action, unsigned long long target_id, const char *target,
	const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* The access check run before a handler: loads the session (portal) or
 * key (API) into req->auth, enforces the route's ACC_* bits and, for the
 * portal, the origin and CSRF checks on every POST. Returns 0 to go on, or
 * -1 after putting the refusal (401/403/303 to the login page) in req. */
int auth_portal(struct kreq *req, const struct route *r);
/* The portal's check of a large form before its body is read: the
 * session cookie names a signed-in user (loaded into req->auth, which
 * auth_portal then keeps). Returns 0, or -1 with a 413 (no session) or
 * 503 in req. */
int auth_portal_session(struct kreq *req, const struct route *r);
/* Loads the owner of an "Authorization: Bearer kiln_..." key into
 * req->auth (replacing what was there). Returns 1 when loaded, 0 when
 * there is no such header or live key, -1 on a db error. */
int auth_bearer(struct kreq *req);
/* The API's access check. Routes under /sdapi/ and /internal/ (the
 * AUTOMATIC1111 clients') also take the key as the password of HTTP
 * Basic, the user name unread, and, when [sdapi] loopback_user is set,
 * a request from a loopback address that sends no credentials acts as
 * that account with the read and generate scopes. */
int auth_api(struct kreq *req, const struct route *r);

/* The password of an "Authorization: Basic base64(user:password)" value
 * h into out (n bytes). Returns 0, or -1 when h is not Basic, not
 * base64, has no ':' or the password does not fit. */
int basic_password(const char *h, char *out, size_t n);

/* 1 when the client address a is a loopback one: 127.0.0.0/8 or ::1,
 * also as an IPv4-mapped address. */
int addr_is_loopback(const char *a);

/* The CSRF token forms on this page must carry: the session's, or before
 * login the pre-session cookie's (set on this response when missing).
 * Returns NULL when randomness or setting the cookie fails. */
const char *csrf_token(struct kreq *req);

/* A "next" URL from a form or query: returned when it is a local path
 * (starts with one '/', no scheme, no control characters), else "/". */
const char *safe_next(const char *next);

#endif
