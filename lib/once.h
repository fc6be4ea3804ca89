/* once.h - a secret shown once on the page a POST redirects to (POST-
 * redirect-GET): a new API key, recovery codes, a password or invitation
 * code just made. */
#ifndef KILN_ONCE_H
#define KILN_ONCE_H

#include <stddef.h>

#include "request.h"

/* The longest text once_put takes, in bytes. */
#define ONCE_MAX 1024
/* A row's life, unshown, and its cookie's: the redirect is followed at
 * once, so a minute is plenty; the row outlives the cookie so that a
 * late reader still finds and deletes it. */
#define ONCE_ROW_S 300
#define ONCE_COOKIE_S 60
/* The cookie's value: the row id, '.', the key as base64url (43). */
#define ONCE_KEY_B64 43
#define ONCE_COOKIE_MAX (20 + 1 + ONCE_KEY_B64)
/* The sealed text as stored: base64url of nonce, MAC and text. */
#define ONCE_SEALED_MAX 1500

/*
 * Why the server keeps the secret and not the cookie (as invitations did
 * before): a cookie holding the secret sits in the browser's cookie store
 * and in every proxy's view of the headers, and whoever reads the cookie
 * has it. Here the row holds the secret sealed (secretbox) under a key
 * made for it alone, and only the browser holds that key, in an HttpOnly,
 * SameSite=Strict cookie limited to the page's path, for a minute: a
 * database dump or backup shows no secret, a stolen cookie is useless
 * once the page was shown (the row is gone) or from another session (the
 * row is bound to the one that made it), and a reload shows nothing.
 */

/* Stores text for the next GET of path by this session (req->auth's;
 * the portal only) and sets its cookie, named after purpose ([a-z_], at
 * most 16 characters). The caller then redirects to path (a query may
 * follow it in the Location). Returns 0, or -1 (no randomness, too long,
 * no session, or a db error logged). */
int once_put(struct kreq *req, const char *purpose, const char *path,
	const char *text);

/* The text once_put left for this page (req->path) under purpose, for
 * this session: 1 with *out (the caller's, freed with once_free), 0 when
 * there is none (no cookie, shown before, expired, another session's,
 * or a key that does not open it), -1 on a db error (logged). The row is
 * deleted and the cookie cleared either way; expired rows of anyone are
 * deleted too. */
int once_take(struct kreq *req, const char *purpose, char **out);

/* Wipes and frees a text once_take gave; accepts NULL. */
void once_free(char *s);

/* The pure parts, for the tests. */

/* Seals text (len bytes) under a fresh random key into sealed
 * (ONCE_SEALED_MAX bytes, NUL-terminated) and key. Returns 0, or -1 (too
 * long, no randomness). */
int once_seal(const char *text, size_t len, unsigned char key[32],
	char *sealed);
/* Opens sealed with key into a fresh NUL-terminated string *out (freed
 * with once_free). Returns 0, or -1 (malformed, wrong key, tampered,
 * holds a NUL, no memory). */
int once_open(const char *sealed, const unsigned char key[32], char **out);
/* The cookie value of row id and key into out (ONCE_COOKIE_MAX + 1). */
void once_cookie_format(unsigned long long id, const unsigned char key[32],
	char *out);
/* Parses a cookie value: "<id>.<key>", id a positive decimal without
 * leading zeros. Returns 0 with *id and key, or -1 (key left zeroed). */
int once_cookie_parse(const char *s, unsigned long long *id,
	unsigned char key[32]);
/* Splits s in place at its '\n's into at most n strings in v (the last
 * takes the rest). Returns how many. */
size_t once_lines(char *s, char **v, size_t n);

#endif
