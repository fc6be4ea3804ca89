/* once.c - a secret shown once on the page a POST redirects to: sealed
 * in a row of once_secrets under a key only the browser's cookie holds
 * (once.h says why). */
#include "once.h"
#include "app.h"
#include "auth.h"
#include "db.h"
#include "log.h"

#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONCE crypto_secretbox_NONCEBYTES
#define MAC crypto_secretbox_MACBYTES
#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING

int
once_seal(const char *text, size_t len, unsigned char key[32], char *sealed)
{
	unsigned char box[NONCE + MAC + ONCE_MAX];

	if (len > ONCE_MAX ||
	    sodium_base64_ENCODED_LEN(NONCE + MAC + len, B64) > ONCE_SEALED_MAX)
		return -1;
	/* A key for this one secret; the nonce could be fixed under a key
	 * used once, but a random one costs nothing. */
	crypto_secretbox_keygen(key);
	randombytes_buf(box, NONCE);
	crypto_secretbox_easy(box + NONCE, (const unsigned char *)text, len,
		box, key);
	sodium_bin2base64(sealed, ONCE_SEALED_MAX, box, NONCE + MAC + len, B64);
	sodium_memzero(box, sizeof(box));
	return 0;
}

int
once_open(const char *sealed, const unsigned char key[32], char **out)
{
	unsigned char box[NONCE + MAC + ONCE_MAX];
	size_t n = 0, len;
	char *s;

	*out = NULL;
	if (sodium_base642bin(box, sizeof(box), sealed, strlen(sealed), NULL,
	    &n, NULL, B64) != 0 || n < NONCE + MAC)
		return -1;
	len = n - NONCE - MAC;
	s = malloc(len + 1);
	if (s == NULL)
		return -1;
	if (crypto_secretbox_open_easy((unsigned char *)s, box + NONCE,
	    n - NONCE, box, key) != 0 || memchr(s, '\0', len) != NULL) {
		sodium_memzero(s, len + 1);
		free(s);
		return -1;
	}
	s[len] = '\0';
	*out = s;
	return 0;
}

void
once_cookie_format(unsigned long long id, const unsigned char key[32],
	char *out)
{
	int n = snprintf(out, ONCE_COOKIE_MAX + 1, "%llu.", id);

	sodium_bin2base64(out + n, ONCE_COOKIE_MAX + 1 - (size_t)n, key, 32,
		B64);
}

int
once_cookie_parse(const char *s, unsigned long long *id,
	unsigned char key[32])
{
	unsigned long long v = 0;
	const char *p = s;
	char canon[ONCE_KEY_B64 + 1];
	size_t n = 0;

	memset(key, 0, 32);
	*id = 0;
	if (*p < '1' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (ULLONG_MAX - d) / 10)	/* beyond any BIGINT id */
			return -1;
		v = v * 10 + d;
	}
	if (*p != '.' || strlen(p + 1) != ONCE_KEY_B64 ||
	    sodium_base642bin(key, 32, p + 1, ONCE_KEY_B64, NULL, &n, NULL,
	    B64) != 0 || n != 32)
		goto bad;
	/* Only the one text once_cookie_format makes for this key: the
	 * decoder takes some other bytes too (found by fuzz_once). */
	sodium_bin2base64(canon, sizeof(canon), key, 32, B64);
	if (strcmp(canon, p + 1) != 0)
		goto bad;
	*id = v;
	return 0;
bad:
	sodium_memzero(key, 32);
	return -1;
}

size_t
once_lines(char *s, char **v, size_t n)
{
	size_t k = 0;

	while (s != NULL && k < n) {
		char *nl = k + 1 < n ? strchr(s, '\n') : NULL;

		v[k++] = s;
		if (nl != NULL)
			*nl++ = '\0';
		s = nl;
	}
	return k;
}

void
once_free(char *s)
{
	if (s == NULL)
		return;
	sodium_memzero(s, strlen(s));
	free(s);
}

/* The cookie of purpose: kiln_once_PURPOSE, into name (40 bytes). */
static int
cookie_name(const char *purpose, char *name)
{
	size_t i, n = strlen(purpose);

	if (n == 0 || n > 16)
		return -1;
	for (i = 0; i < n; i++)
		if ((purpose[i] < 'a' || purpose[i] > 'z') && purpose[i] != '_')
			return -1;
	snprintf(name, 40, "kiln_once_%s", purpose);
	return 0;
}

/* Deletes the rows nobody came for. */
static void
sweep(struct kreq *req)
{
	if (db_exec(req->app->db, "DELETE FROM once_secrets"
	    " WHERE expires_at <= NOW(3)", NULL, 0, NULL, NULL) != 0)
		log_warn("once: sweep: %s", db_error(req->app->db));
}

int
once_put(struct kreq *req, const char *purpose, const char *path,
	const char *text)
{
	unsigned char key[32];
	char sealed[ONCE_SEALED_MAX], name[40], val[ONCE_COOKIE_MAX + 1];
	unsigned long long id = 0;
	struct db_param p[5];
	int rc = -1;

	if (req->auth == NULL || req->auth->session_id == 0 ||
	    cookie_name(purpose, name) != 0 || strlen(path) > 128 ||
	    once_seal(text, strlen(text), key, sealed) != 0) {
		log_error("once: %s: cannot keep the secret for %s", purpose,
			path);
		goto out;
	}
	sweep(req);
	p[0] = DB_INT(req->auth->session_id);
	p[1] = DB_STR(purpose);
	p[2] = DB_STR(path);
	p[3] = DB_STR(sealed);
	p[4] = DB_INT(ONCE_ROW_S);
	if (db_exec(req->app->db, "INSERT INTO once_secrets (session_id,"
	    " purpose, path, sealed, expires_at) VALUES (?, ?, ?, ?,"
	    " NOW(3) + INTERVAL ? SECOND)", p, 5, NULL, &id) != 0) {
		log_error("once: %s: %s", purpose, db_error(req->app->db));
		goto out;
	}
	once_cookie_format(id, key, val);
	rc = resp_cookie_ex(req, name, val, ONCE_COOKIE_S, path, "Strict");
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(val, sizeof(val));
	return rc;
}

int
once_take(struct kreq *req, const char *purpose, char **out)
{
	unsigned char key[32];
	const char *c;
	char name[40], *sealed = NULL;
	unsigned long long id, n = 0;
	struct db_param p[4];
	int rc = 0;

	*out = NULL;
	if (cookie_name(purpose, name) != 0)
		return -1;
	c = req_cookie(req, name);
	if (c == NULL)
		return 0;
	/* Shown once: whatever follows, the cookie goes. */
	resp_cookie_ex(req, name, "", 0, req->path, "Strict");
	if (req->auth == NULL || req->auth->session_id == 0 ||
	    once_cookie_parse(c, &id, key) != 0)
		return 0;
	sweep(req);
	p[0] = DB_INT(id);
	p[1] = DB_INT(req->auth->session_id);
	p[2] = DB_STR(purpose);
	p[3] = DB_STR(req->path);
	if (db_query_string(req->app->db, "SELECT sealed FROM once_secrets"
	    " WHERE id = ? AND session_id = ? AND purpose = ? AND path = ?"
	    " AND expires_at > NOW(3)", p, 4, &sealed) != 0 ||
	    (sealed != NULL && db_exec(req->app->db, "DELETE FROM"
	    " once_secrets WHERE id = ? AND session_id = ? AND purpose = ?"
	    " AND path = ?", p, 4, &n, NULL) != 0)) {
		log_error("once: %s: %s", purpose, db_error(req->app->db));
		rc = -1;
		goto out;
	}
	/* n: this request deleted it, so no other shows it too. */
	if (sealed == NULL || n != 1)
		goto out;
	if (once_open(sealed, key, out) != 0) {
		log_warn("once: %s: row %llu does not open with its cookie",
			purpose, id);
		goto out;
	}
	rc = 1;
out:
	sodium_memzero(key, sizeof(key));
	free(sealed);
	return rc;
}
