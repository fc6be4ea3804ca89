/* accounts.c - account rules and changes shared by pages, API, kiln-admin. */
#include "accounts.h"
#include "auth.h"
#include "db.h"
#include "utf8.h"
#include "util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int
username_valid(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 2 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' ||
		    s[i] == '-' || s[i] == '.'))
			return 0;
	return 1;
}

enum text_fault
text_check(const char *s, size_t maxbytes, int breaks_ok)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0;
	uint32_t cp;

	if (n > maxbytes)
		return TEXT_TOO_LONG;
	while (i < n) {
		i += utf8_next(p + i, n - i, &cp);
		if (cp == UTF8_INVALID)
			return TEXT_BAD_UTF8;
		/* C0 and C1 controls and DEL. */
		if ((cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) &&
		    !(breaks_ok && (cp == '\n' || cp == '\r' || cp == '\t')))
			return TEXT_CONTROL;
	}
	return TEXT_OK;
}

int
text_valid(const char *s, size_t maxbytes)
{
	return text_check(s, maxbytes, 0) == TEXT_OK;
}

int
tier_valid(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 1 || n > 32)
		return 0;
	for (i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) ||
		    isdigit((unsigned char)s[i]) || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

long
sessions_end(struct db *db, unsigned long long user_id,
	unsigned long long session_id, unsigned long long keep_id)
{
	struct db_param p[4];
	unsigned long long n = 0;

	p[0] = DB_INT(user_id);
	p[1] = DB_INT(session_id);
	p[2] = DB_INT(session_id);
	p[3] = DB_INT(keep_id);
	if (db_exec(db, "DELETE FROM sessions WHERE user_id = ?"
	    " AND (? = 0 OR id = ?) AND id <> ?", p, 4, &n, NULL) != 0)
		return -1;
	return (long)n;
}

int
apikey_revoke(struct db *db, unsigned long long user_id,
	unsigned long long key_id)
{
	struct db_param p[2];
	unsigned long long n = 0;

	p[0] = DB_INT(key_id);
	p[1] = DB_INT(user_id);
	if (db_exec(db, "UPDATE api_keys SET revoked_at ="
	    " COALESCE(revoked_at, NOW(3)) WHERE id = ? AND user_id = ?", p, 2,
	    &n, NULL) != 0)
		return -1;
	return n > 0;
}

int
user_set_disabled(struct db *db, unsigned long long user_id, int disabled)
{
	struct db_param p[2];
	unsigned long long n = 0;

	p[0] = DB_INT(disabled ? 1 : 0);
	p[1] = DB_INT(user_id);
	if (db_exec(db, "UPDATE users SET disabled = ? WHERE id = ?", p, 2,
	    &n, NULL) != 0)
		return -1;
	if (n == 0)
		return 0;
	if (disabled && sessions_end(db, user_id, 0, 0) < 0)
		return -1;
	return 1;
}

int
audit_write(struct db *db, unsigned long long actor_id, const char *actor,
	const char *ip, const char *action, unsigned long long target_id,
	const char *target, const char *detail)
{
	char cut[501];
	size_t n = strlen(detail);
	struct db_param p[7];

	/* The column holds 512 characters; a longer detail is cut at a
	 * character boundary rather than refused. */
	if (n > 500) {
		n = 500;
		while (n > 0 && ((unsigned char)detail[n] & 0xc0) == 0x80)
			n--;
		memcpy(cut, detail, n);
		cut[n] = '\0';
		detail = cut;
	}
	p[0] = actor_id ? DB_INT(actor_id) : DB_NULL;
	p[1] = DB_STR(actor);
	p[2] = DB_STR(ip);
	p[3] = DB_STR(action);
	p[4] = target_id ? DB_INT(target_id) : DB_NULL;
	p[5] = DB_STR(target ? target : "");
	p[6] = DB_STR(detail);
	return db_exec(db, "INSERT INTO audit_log (actor_id, actor, ip, action,"
		" target_id, target, detail) VALUES (?, ?, ?, ?, ?, ?, ?)", p,
		7, NULL, NULL);
}

char *
like_pattern(const char *q)
{
	size_t n = strlen(q), i, o = 0;
	char *out = xmalloc(2 * n + 3);

	out[o++] = '%';
	for (i = 0; i < n; i++) {
		if (q[i] == '%' || q[i] == '_' || q[i] == '\\')
			out[o++] = '\\';
		out[o++] = q[i];
	}
	out[o++] = '%';
	out[o] = '\0';
	return out;
}

int
twofa_remove(struct db *db, unsigned long long user_id)
{
	static const char *const sql[] = {
		"DELETE FROM user_totp WHERE user_id = ?",
		"DELETE FROM recovery_codes WHERE user_id = ?",
		"DELETE FROM trusted_devices WHERE user_id = ?",
		"DELETE FROM login_pending WHERE user_id = ?",
	};
	struct db_param p = DB_INT(user_id);
	size_t i;

	if (db_exec_text(db, "START TRANSACTION") != 0)
		return -1;
	for (i = 0; i < ARRAY_LEN(sql); i++)
		if (db_exec(db, sql[i], &p, 1, NULL, NULL) != 0) {
			db_rollback(db);
			return -1;
		}
	return db_exec_text(db, "COMMIT");
}

/* n decimal digits at s into *v: 1, or 0 when one is not a digit. */
static int
digits(const char *s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return 0;
		*v = *v * 10 + (s[i] - '0');
	}
	return 1;
}

int
key_expiry_parse(const char *s, long long now, long long *out)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30,
		31, 30, 31 };
	int y, mo, d, h = 0, mi = 0, sec = 0, leap;
	size_t len = strlen(s);
	struct tm tm = { 0 };
	time_t t;

	if (len != 10 && len != 20)
		return -1;
	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d))
		return -1;
	if (len == 20 && ((s[10] != 'T' && s[10] != 't') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' ||
	    !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &sec) || (s[19] != 'Z' && s[19] != 'z')))
		return -1;
	/* DATETIME holds years 1000-9999; no key was made before 1970. */
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 ||
	    sec > 59)
		return -1;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if ((long long)t <= now)
		return -2;
	*out = (long long)t;
	return 0;
}
