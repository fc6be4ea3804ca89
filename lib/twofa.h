/* twofa.h - two-factor login: TOTP codes (RFC 6238 through liboath),
 * the sealed secrets, single-use recovery codes, the pending second
 * step of a login and remembered devices. Programs that use it link
 * -loath. */
#ifndef KILN_TWOFA_H
#define KILN_TWOFA_H

#include <stddef.h>
#include <time.h>

struct db;
struct kreq;
struct kiln_config;

/* RFC 6238 as authenticator apps use it: HMAC-SHA1, 30-second steps from
 * the epoch, 6 digits. */
#define TOTP_STEP 30
#define TOTP_DIGITS 6
/* A secret of 160 bits (RFC 4226's recommendation), 32 base32 letters. */
#define TOTP_SECRET_BYTES 20
#define TOTP_SECRET_B32 32
/* Ten recovery codes of ten base32 letters (50 bits), shown as
 * "xxxxx-xxxxx". */
#define RECOVERY_CODES 10
#define RECOVERY_LEN 11
/* Seconds the second step of a login waits for its code, and how many
 * wrong codes one pending login takes before it is dropped. */
#define TWOFA_PENDING_SECONDS 300
#define TWOFA_PENDING_TRIES 5
/* Days a remembered device skips the second step. */
#define TWOFA_DEVICE_DAYS 30

#define TWOFA_PENDING_COOKIE "kiln_2fa"
#define TWOFA_DEVICE_COOKIE "kiln_device"

/* The TOTP code of key (keylen bytes) at Unix time t with digits digits
 * (6 to 8) into out (digits + 1 bytes). Returns 0, or -1 (liboath
 * refused). */
int totp_code(const unsigned char *key, size_t keylen, long long t,
	unsigned digits, char *out);

/* The step of time t. */
long long totp_step(long long t);

/* Checks code (TOTP_DIGITS digits) against key at time now, one step of
 * clock skew allowed either way, and only for a step after last_step (a
 * code used once is not taken again). Returns the matching step (> 0), 0
 * when none matches, -1 on a liboath failure. */
long long totp_match(const unsigned char *key, size_t keylen, long long now,
	const char *code, long long last_step);

/* 1 when s is TOTP_DIGITS ASCII digits (spaces ignored are not: the form
 * strips them first). */
int totp_code_syntax(const char *s);

/* The key secrets are sealed with: [auth] totp_key, or one derived from
 * the database password and name when it is empty. */
void twofa_key(const struct kiln_config *cfg, unsigned char key[32]);

/* Seals the secret of user_id (TOTP_SECRET_BYTES) into out as base64 of
 * nonce || XChaCha20-Poly1305 ciphertext, the user id bound as associated
 * data (a row copied to another account does not open). out holds
 * TWOFA_SEALED_MAX bytes. Returns 0 or -1. */
#define TWOFA_SEALED_MAX 128
int twofa_seal(const unsigned char key[32], unsigned long long user_id,
	const unsigned char *secret, char *out);
/* Opens what twofa_seal made. Returns 0, or -1 when it is not one made
 * with key for user_id. */
int twofa_open(const unsigned char key[32], unsigned long long user_id,
	const char *sealed, unsigned char *secret);

/* secret (TOTP_SECRET_BYTES) as base32 without padding into out
 * (TOTP_SECRET_B32 + 1 bytes). Returns 0 or -1. */
int totp_base32(const unsigned char *secret, char *out);

/* A recovery code as typed, normalised for lookup: lower case, '-' and
 * spaces dropped, into out (at least 16 bytes). Returns 0, or -1 when it
 * is not ten base32 letters. */
int recovery_normalize(const char *typed, char *out, size_t n);

/* The stored form of a normalised recovery code: BLAKE2b-256 keyed with
 * salt (16 bytes as 32 hex digits), as 64 hex digits into out. */
void recovery_hash(const char *norm, const char *salt_hex, char *out);

/* --- database ---------------------------------------------------- */

/* 1 when user_id has two-factor login on, 0 when not, -1 on a db
 * error. */
int twofa_enabled(struct db *db, unsigned long long user_id);

/* Checks code for user_id: a TOTP code of the enabled (or, pending 1,
 * the not yet confirmed) secret, its step then recorded so it is not
 * taken again. Returns 1, 0 when wrong, -1 on a db or key error. */
int twofa_check_totp(struct kreq *req, unsigned long long user_id,
	const char *code, int pending);

/* Uses one of user_id's recovery codes (typed as the user typed it).
 * Returns 1 (now spent), 0 when it is no unused code of theirs, -1 on a
 * db error. */
int twofa_use_recovery(struct kreq *req, unsigned long long user_id,
	const char *typed);

/* Replaces user_id's recovery codes with RECOVERY_CODES new ones, whose
 * clear text goes to codes (each RECOVERY_LEN + 1 bytes), shown once.
 * Returns 0 or -1. */
int twofa_new_recovery(struct db *db, unsigned long long user_id,
	char codes[RECOVERY_CODES][RECOVERY_LEN + 1]);

/* A pending second step for user_id: a row with a fresh token, whose
 * cookie is set on req. next is where the login goes after. Returns 0 or
 * -1. */
int twofa_pending_start(struct kreq *req, unsigned long long user_id,
	const char *next);

/* The pending login the request's cookie names, still live: 1 with its
 * id, user and next (a fresh string the caller frees), 0 when there is
 * none, -1 on a db error. */
int twofa_pending_get(struct kreq *req, unsigned long long *id,
	unsigned long long *user_id, char **username, char **next);

/* 1 when the request carries a live remembered-device cookie of
 * user_id (its last use then recorded), 0 when not, -1 on a db error. */
int twofa_device_known(struct kreq *req, unsigned long long user_id);

/* Remembers this browser for user_id for TWOFA_DEVICE_DAYS: a row and
 * its cookie. Returns 0 or -1. */
int twofa_device_remember(struct kreq *req, unsigned long long user_id);

/* A typed code without the spaces an app shows in it, into out (n bytes,
 * cut to fit); s NULL gives "". */
void twofa_code_clean(const char *s, char *out, size_t n);

#endif
