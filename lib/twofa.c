/* twofa.c - two-factor login: TOTP through liboath, secrets sealed with
 * libsodium, recovery codes, pending second steps, remembered devices. */
#include "twofa.h"
#include "app.h"
#include "auth.h"
#include "db.h"
#include "log.h"
#include "util.h"

#include <ctype.h>
#include <liboath/oath.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* liboath wants oath_init once per process before use; it sets up no
 * per-request state, so a process-wide flag is enough. */
static int oath_ready;

static int
oath_up(void)
{
	if (!oath_ready) {
		if (oath_init() != OATH_OK)
			return -1;
		oath_ready = 1;
	}
	return 0;
}

int
totp_code(const unsigned char *key, size_t keylen, long long t,
	unsigned digits, char *out)
{
	if (digits < 6 || digits > 8 || oath_up() != 0)
		return -1;
	return oath_totp_generate((const char *)key, keylen, (time_t)t,
		TOTP_STEP, OATH_TOTP_DEFAULT_START_TIME, digits, out) ==
		OATH_OK ? 0 : -1;
}

long long
totp_step(long long t)
{
	return t / TOTP_STEP;
}

long long
totp_match(const unsigned char *key, size_t keylen, long long now,
	const char *code, long long last_step)
{
	long long step = totp_step(now), s, hit = 0;
	char want[TOTP_DIGITS + 1];
	int off;

	if (!totp_code_syntax(code))
		return 0;
	/* Every step of the window is computed, so the time taken does not
	 * say which one matched. */
	for (off = -1; off <= 1; off++) {
		s = step + off;
		if (totp_code(key, keylen, s * TOTP_STEP, TOTP_DIGITS,
		    want) != 0)
			return -1;
		if (sodium_memcmp(want, code, TOTP_DIGITS) == 0 &&
		    s > last_step && hit == 0)
			hit = s;
	}
	sodium_memzero(want, sizeof(want));
	return hit;
}

int
totp_code_syntax(const char *s)
{
	size_t i;

	for (i = 0; i < TOTP_DIGITS; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return s[i] == '\0';
}

void
twofa_key(const struct kiln_config *cfg, unsigned char key[32])
{
	crypto_generichash_state st;
	size_t i;

	if (strlen(cfg->totp_key) == 64) {
		for (i = 0; i < 32; i++)
			key[i] = (unsigned char)(hex_digit(cfg->totp_key[2 * i])
				* 16 + hex_digit(cfg->totp_key[2 * i + 1]));
		return;
	}
	/* Without a key of its own the secrets are at least not readable
	 * from a dump of the database alone. */
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const unsigned char *)"kiln totp key",
		14);
	crypto_generichash_update(&st, (const unsigned char *)cfg->db_password,
		strlen(cfg->db_password) + 1);
	crypto_generichash_update(&st, (const unsigned char *)cfg->db_name,
		strlen(cfg->db_name) + 1);
	crypto_generichash_final(&st, key, 32);
}

#define NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG crypto_aead_xchacha20poly1305_ietf_ABYTES

/* The associated data of a sealed secret: its owner. */
static size_t
seal_ad(unsigned long long user_id, char *ad, size_t n)
{
	int w = snprintf(ad, n, "kiln-totp:%llu", user_id);

	return w > 0 ? (size_t)w : 0;
}

int
twofa_seal(const unsigned char key[32], unsigned long long user_id,
	const unsigned char *secret, char *out)
{
	unsigned char box[NONCE + TOTP_SECRET_BYTES + TAG];
	char ad[48];
	size_t adlen = seal_ad(user_id, ad, sizeof(ad));

	if (random_bytes(box, NONCE) != 0)
		return -1;
	crypto_aead_xchacha20poly1305_ietf_encrypt(box + NONCE, NULL, secret,
		TOTP_SECRET_BYTES, (const unsigned char *)ad, adlen, NULL, box,
		key);
	sodium_bin2base64(out, TWOFA_SEALED_MAX, box, sizeof(box),
		sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

int
twofa_open(const unsigned char key[32], unsigned long long user_id,
	const char *sealed, unsigned char *secret)
{
	unsigned char box[NONCE + TOTP_SECRET_BYTES + TAG];
	char ad[48];
	size_t len = 0, adlen = seal_ad(user_id, ad, sizeof(ad));

	if (sodium_base642bin(box, sizeof(box), sealed, strlen(sealed), NULL,
	    &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len != sizeof(box))
		return -1;
	return crypto_aead_xchacha20poly1305_ietf_decrypt(secret, NULL, NULL,
		box + NONCE, sizeof(box) - NONCE, (const unsigned char *)ad,
		adlen, box, key) == 0 ? 0 : -1;
}

int
totp_base32(const unsigned char *secret, char *out)
{
	char *b = NULL;
	size_t n = 0;

	if (oath_up() != 0 || oath_base32_encode((const char *)secret,
	    TOTP_SECRET_BYTES, &b, &n) != OATH_OK)
		return -1;
	/* 20 bytes are 32 letters exactly: no padding to strip. */
	if (n != TOTP_SECRET_B32) {
		free(b);
		return -1;
	}
	memcpy(out, b, n);
	out[n] = '\0';
	sodium_memzero(b, n);
	free(b);
	return 0;
}

/* RFC 4648's base32 alphabet in lower case: recovery codes read aloud
 * without 0/O or 1/l confusion. */
static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

int
recovery_normalize(const char *typed, char *out, size_t n)
{
	size_t i = 0;

	for (; *typed != '\0'; typed++) {
		int c = tolower((unsigned char)*typed);

		if (c == '-' || c == ' ')
			continue;
		if (strchr(b32, c) == NULL || c == '\0' || i + 1 >= n ||
		    i >= 10)
			return -1;
		out[i++] = (char)c;
	}
	out[i] = '\0';
	return i == 10 ? 0 : -1;
}

void
recovery_hash(const char *norm, const char *salt_hex, char *out)
{
	unsigned char salt[16], h[32];
	size_t i;

	for (i = 0; i < 16; i++)
		salt[i] = (unsigned char)(hex_digit(salt_hex[2 * i]) * 16 +
			hex_digit(salt_hex[2 * i + 1]));
	crypto_generichash(h, sizeof(h), (const unsigned char *)norm,
		strlen(norm), salt, sizeof(salt));
	sodium_bin2hex(out, DIGEST_HEX + 1, h, sizeof(h));
}

/* --- database ---------------------------------------------------- */

int
twofa_enabled(struct db *db, unsigned long long user_id)
{
	struct db_param p = DB_INT(user_id);
	long n = 0;

	if (db_query_long(db, "SELECT COUNT(*) FROM user_totp WHERE"
	    " user_id = ? AND enabled_at IS NOT NULL", &p, 1, &n) != 0)
		return -1;
	return n > 0;
}

struct totp_rec {
	char *sealed;
	long long last_step;
};

static const struct db_field totp_fields[] = {
	DB_FIELD(struct totp_rec, sealed, DBF_DUP, "secret_sealed"),
	DB_FIELD(struct totp_rec, last_step, DBF_LLONG, "last_step"),
};

int
twofa_check_totp(struct kreq *req, unsigned long long user_id,
	const char *code, int pending)
{
	struct db *db = req->app->db;
	struct totp_rec r = { 0 };
	struct db_param p[3];
	unsigned char key[32], secret[TOTP_SECRET_BYTES];
	unsigned long long n = 0;
	long long step;
	long got;
	int rc = -1;

	p[0] = DB_INT(user_id);
	p[1] = DB_INT(pending ? 0 : 1);
	got = db_query_into(db, "SELECT secret_sealed, last_step FROM"
		" user_totp WHERE user_id = ? AND (enabled_at IS NOT NULL) = ?",
		p, 2, totp_fields, DB_NFIELDS(totp_fields), &r, NULL, NULL);
	if (got < 0)
		goto out;
	if (got == 0) {
		rc = 0;
		goto out;
	}
	twofa_key(&req->app->cfg, key);
	if (twofa_open(key, user_id, r.sealed, secret) != 0) {
		log_error("2fa: the secret of user %llu does not open with "
			"this [auth] totp_key", user_id);
		goto out;
	}
	step = totp_match(secret, sizeof(secret), (long long)time(NULL), code,
		r.last_step);
	if (step <= 0) {
		rc = step < 0 ? -1 : 0;
		goto out;
	}
	/* The step is taken only if no other request took it (or a later
	 * one) meanwhile: a code works once. */
	p[0] = DB_INT(step);
	p[1] = DB_INT(user_id);
	p[2] = DB_INT(step);
	if (db_exec(db, "UPDATE user_totp SET last_step = ? WHERE user_id = ?"
	    " AND last_step < ?", p, 3, &n, NULL) != 0)
		goto out;
	rc = n == 1;
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(secret, sizeof(secret));
	free(r.sealed);
	return rc;
}

struct recovery_rec {
	unsigned long long id;
	const char *salt, *hash;
};

static const struct db_field recovery_fields[] = {
	DB_FIELD(struct recovery_rec, id, DBF_ULLONG, "id"),
	DB_FIELD(struct recovery_rec, salt, DBF_STR, "salt"),
	DB_FIELD(struct recovery_rec, hash, DBF_STR, "code_hash"),
};

struct recovery_find {
	const char *norm;
	unsigned long long hit;
};

static int
recovery_row(void *rec, void *arg)
{
	const struct recovery_rec *r = rec;
	struct recovery_find *f = arg;
	char h[DIGEST_HEX + 1];

	if (strlen(r->salt) != 32 || strlen(r->hash) != DIGEST_HEX)
		return 0;
	recovery_hash(f->norm, r->salt, h);
	if (sodium_memcmp(h, r->hash, DIGEST_HEX) == 0 && f->hit == 0)
		f->hit = r->id;
	return 0;
}

int
twofa_use_recovery(struct kreq *req, unsigned long long user_id,
	const char *typed)
{
	struct recovery_rec r;
	struct recovery_find f = { 0 };
	char norm[16];
	struct db_param p;
	unsigned long long n = 0;

	if (recovery_normalize(typed, norm, sizeof(norm)) != 0)
		return 0;
	f.norm = norm;
	p = DB_INT(user_id);
	if (db_query_into(req->app->db, "SELECT id, salt, code_hash FROM"
	    " recovery_codes WHERE user_id = ? AND used_at IS NULL", &p, 1,
	    recovery_fields, DB_NFIELDS(recovery_fields), &r, recovery_row,
	    &f) < 0)
		return -1;
	if (f.hit == 0)
		return 0;
	/* Spent only by the request that marks it. */
	p = DB_INT(f.hit);
	if (db_exec(req->app->db, "UPDATE recovery_codes SET used_at ="
	    " NOW(3) WHERE id = ? AND used_at IS NULL", &p, 1, &n, NULL) != 0)
		return -1;
	return n == 1;
}

int
twofa_new_recovery(struct db *db, unsigned long long user_id,
	char codes[RECOVERY_CODES][RECOVERY_LEN + 1])
{
	unsigned char raw[10];
	char salt[33], h[DIGEST_HEX + 1], norm[11];
	struct db_param p[3];
	int i, j;

	p[0] = DB_INT(user_id);
	if (db_exec_text(db, "START TRANSACTION") != 0 ||
	    db_exec(db, "DELETE FROM recovery_codes WHERE user_id = ?", p, 1,
	    NULL, NULL) != 0)
		goto fail;
	for (i = 0; i < RECOVERY_CODES; i++) {
		randombytes_buf(raw, sizeof(raw));
		if (random_hex(salt, 16) != 0)
			goto fail;
		for (j = 0; j < 10; j++)
			norm[j] = b32[raw[j] & 31];
		norm[10] = '\0';
		snprintf(codes[i], RECOVERY_LEN + 1, "%.5s-%.5s", norm,
			norm + 5);
		recovery_hash(norm, salt, h);
		p[1] = DB_STR(salt);
		p[2] = DB_STR(h);
		if (db_exec(db, "INSERT INTO recovery_codes (user_id, salt,"
		    " code_hash) VALUES (?, ?, ?)", p, 3, NULL, NULL) != 0)
			goto fail;
	}
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(norm, sizeof(norm));
	return db_exec_text(db, "COMMIT");
fail:
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(norm, sizeof(norm));
	db_rollback(db);
	return -1;
}

int
twofa_pending_start(struct kreq *req, unsigned long long user_id,
	const char *next)
{
	char tok[TOKEN_LEN + 1], hash[DIGEST_HEX + 1];
	struct db_param p[5];
	int rc = -1;

	if (token_new(tok) != 0)
		return -1;
	digest_hex(tok, hash);
	p[0] = DB_INT(user_id);
	/* Old pending logins of this user die with a new one. */
	if (db_exec(req->app->db, "DELETE FROM login_pending WHERE user_id = ?"
	    " OR expires_at < NOW(3)", p, 1, NULL, NULL) != 0)
		goto out;
	p[1] = DB_STR(hash);
	p[2] = DB_STR(next);
	p[3] = DB_STR(req->remote_addr);
	p[4] = DB_INT(TWOFA_PENDING_SECONDS);
	if (db_exec(req->app->db, "INSERT INTO login_pending (user_id,"
	    " token_hash, next, ip, expires_at) VALUES (?, ?, ?, ?,"
	    " NOW(3) + INTERVAL ? SECOND)", p, 5, NULL, NULL) != 0)
		goto out;
	rc = resp_cookie(req, TWOFA_PENDING_COOKIE, tok,
		TWOFA_PENDING_SECONDS);
out:
	sodium_memzero(tok, sizeof(tok));
	return rc;
}

struct pending_rec {
	unsigned long long id, user_id;
	char *username, *next;
};

static const struct db_field pending_fields[] = {
	DB_FIELD(struct pending_rec, id, DBF_ULLONG, "id"),
	DB_FIELD(struct pending_rec, user_id, DBF_ULLONG, "user_id"),
	DB_FIELD(struct pending_rec, username, DBF_DUP, "username"),
	DB_FIELD(struct pending_rec, next, DBF_DUP, "next"),
};

int
twofa_pending_get(struct kreq *req, unsigned long long *id,
	unsigned long long *user_id, char **username, char **next)
{
	const char *tok = req_cookie(req, TWOFA_PENDING_COOKIE);
	struct pending_rec r = { 0 };
	char hash[DIGEST_HEX + 1];
	struct db_param p;
	long n;

	if (tok == NULL || strlen(tok) != TOKEN_LEN)
		return 0;
	digest_hex(tok, hash);
	p = DB_STR(hash);
	n = db_query_into(req->app->db, "SELECT l.id, l.user_id, u.username,"
		" l.next FROM login_pending l JOIN users u ON u.id = l.user_id"
		" WHERE l.token_hash = ? AND l.expires_at > NOW(3)"
		" AND u.disabled = 0", &p, 1, pending_fields,
		DB_NFIELDS(pending_fields), &r, NULL, NULL);
	if (n <= 0) {
		free(r.username);
		free(r.next);
		return n < 0 ? -1 : 0;
	}
	*id = r.id;
	*user_id = r.user_id;
	*username = r.username;
	*next = r.next;
	return 1;
}

int
twofa_device_known(struct kreq *req, unsigned long long user_id)
{
	const char *tok = req_cookie(req, TWOFA_DEVICE_COOKIE);
	char hash[DIGEST_HEX + 1];
	struct db_param p[2];
	unsigned long long n = 0;

	if (tok == NULL || strlen(tok) != TOKEN_LEN)
		return 0;
	digest_hex(tok, hash);
	p[0] = DB_STR(hash);
	p[1] = DB_INT(user_id);
	if (db_exec(req->app->db, "UPDATE trusted_devices SET last_used_at ="
	    " NOW(3) WHERE token_hash = ? AND user_id = ?"
	    " AND expires_at > NOW(3)", p, 2, &n, NULL) != 0)
		return -1;
	return n > 0;
}

int
twofa_device_remember(struct kreq *req, unsigned long long user_id)
{
	char tok[TOKEN_LEN + 1], hash[DIGEST_HEX + 1], ua[256];
	struct db_param p[5];
	size_t i = 0;
	const char *s;
	int rc = -1;

	if (token_new(tok) != 0)
		return -1;
	digest_hex(tok, hash);
	/* Printable ASCII only, as the sessions list keeps it. */
	for (s = req->user_agent; *s != '\0' && i + 1 < sizeof(ua); s++)
		if (*s >= 0x20 && *s < 0x7f)
			ua[i++] = *s;
	ua[i] = '\0';
	p[0] = DB_INT(user_id);
	p[1] = DB_STR(hash);
	p[2] = DB_STR(req->remote_addr);
	p[3] = DB_STR(ua);
	p[4] = DB_INT(TWOFA_DEVICE_DAYS);
	if (db_exec(req->app->db, "INSERT INTO trusted_devices (user_id,"
	    " token_hash, ip, user_agent, expires_at) VALUES (?, ?, ?, ?,"
	    " NOW(3) + INTERVAL ? DAY)", p, 5, NULL, NULL) != 0)
		goto out;
	rc = resp_cookie(req, TWOFA_DEVICE_COOKIE, tok,
		TWOFA_DEVICE_DAYS * 86400L);
out:
	sodium_memzero(tok, sizeof(tok));
	return rc;
}

void
twofa_code_clean(const char *s, char *out, size_t n)
{
	size_t i = 0;

	for (; s != NULL && *s != '\0' && i + 1 < n; s++)
		if (*s != ' ')
			out[i++] = *s;
	out[i] = '\0';
}
