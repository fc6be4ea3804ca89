/* accounts.h - account rules and changes shared by the pages, the API and
 * kiln-admin: what a valid name is, creating users, ending sessions,
 * revoking keys, disabling accounts. */
#ifndef KILN_ACCOUNTS_H
#define KILN_ACCOUNTS_H

#include <stddef.h>

struct db;

/* 2-64 characters of letters, digits, '.', '_' or '-': user names appear
 * in URLs and logs. Returns 1 when valid. */
int username_valid(const char *s);

/* Free text for names and notes: valid UTF-8, no control characters, at
 * most maxbytes bytes. Returns 1 when acceptable. */
int text_valid(const char *s, size_t maxbytes);

/* What is wrong with a text, so that a message can say it: too long,
 * a control character (line breaks and tabs allowed when breaks_ok, as
 * in prompts), or not UTF-8. Length is checked first. */
enum text_fault {
	TEXT_OK = 0,
	TEXT_TOO_LONG,
	TEXT_CONTROL,
	TEXT_BAD_UTF8,
};
enum text_fault text_check(const char *s, size_t maxbytes, int breaks_ok);

/* Checks a new password against the policy: length, not the user name, not
 * a well-known or trivially repetitive one, and a zxcvbn strength score of
 * at least PASSWORD_MIN_SCORE. Returns 0, or -1 with a message for the
 * user in why (what is wrong, and why). In password.c: programs that call
 * it link -lzxcvbn. */
#define PASSWORD_MIN_SCORE 3
int password_policy(const char *pw, const char *username, char *why,
	size_t whylen);
/* The same with the message in lang (i18n.h's LANG_EN or LANG_ZH). */
int password_policy_lang(const char *pw, const char *username,
	const char *lang, char *why, size_t whylen);

/* zxcvbn's strength score of pw, 0 (guessed at once) to 4, with the user
 * name counted as a known word. */
int password_score(const char *pw, const char *username);

/* 1-32 characters of [a-z0-9_-]. */
int tier_valid(const char *s);

/* Ends sessions of user_id: one (session_id) or all (0), except keep_id
 * when non-zero. Returns the number ended, or -1 on a db error. */
long sessions_end(struct db *db, unsigned long long user_id,
	unsigned long long session_id, unsigned long long keep_id);

/* Revokes key_id if it belongs to user_id (revoking twice is harmless).
 * Returns 1, 0 when the key is not that user's, -1 on a db error. */
int apikey_revoke(struct db *db, unsigned long long user_id,
	unsigned long long key_id);

/* The moment an API key given s expires, in seconds since the epoch,
 * into *out: s is a date "YYYY-MM-DD" (the key stops at 00:00 UTC that
 * day) or a UTC time "YYYY-MM-DDTHH:MM:SSZ" (RFC 3339, as the API lists
 * times). Returns 0, -1 when s is neither or names no such date, -2 when
 * it is not after now. */
int key_expiry_parse(const char *s, long long now, long long *out);

/* Sets users.disabled; disabling also ends every session (keys stop
 * working through the disabled check). Returns 1, 0 for no such user, -1
 * on a db error. */
int user_set_disabled(struct db *db, unsigned long long user_id,
	int disabled);

/* Turns two-factor login off for user_id (twofa.h): the secret, recovery
 * codes, remembered devices and pending logins go. Here, not in twofa.c,
 * so kiln-admin's reset-2fa needs no liboath. Returns 0 or -1 (db). */
int twofa_remove(struct db *db, unsigned long long user_id);

/* Writes one audit_log row (actor_id 0 and target_id 0: none). A detail
 * over 500 bytes is cut at a character boundary. Returns 0 or -1 (db). */
int audit_write(struct db *db, unsigned long long actor_id,
	const char *actor, const char *ip, const char *action,
	unsigned long long target_id, const char *target, const char *detail);

/* Appends the LIKE pattern "%q%" with q's own %, _ and \ escaped. Returns
 * a fresh string the caller frees. */
char *like_pattern(const char *q);

#endif
