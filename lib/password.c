/* password.c - the rules a new password must pass: length, not the user
 * name, not a well-known one, and a zxcvbn strength estimate (libzxcvbn:
 * programs that call password_policy link -lzxcvbn). */
#include "accounts.h"
#include "auth.h"
#include "i18n.h"
#include "util.h"

#include <math.h>
#include <string.h>
#include <strings.h>
#include <zxcvbn.h>

/* Passwords long enough for the length rule that still head every leaked
 * list; compared without regard to case. */
static const char *const weak_passwords[] = {
	"1234567890", "0123456789", "12345678910", "123456789a",
	"1234567890a", "a123456789", "qwertyuiop", "qwertyuiop1",
	"1q2w3e4r5t", "1q2w3e4r5t6y", "q1w2e3r4t5", "zaq12wsxcde3",
	"1qaz2wsx3edc", "qazwsxedcrfv", "asdfghjkl1", "zxcvbnm123",
	"password12", "password123", "password1234", "password!!",
	"passw0rd123", "p@ssw0rd123", "p@ssword123", "iloveyou12",
	"iloveyou123", "letmein123", "welcome123", "welcome1234",
	"sunshine123", "princess123", "football123", "baseball123",
	"superman123", "trustno1trustno1", "administrator", "admin12345",
	"admin123456", "changeme123", "changeme1234", "qwerty12345",
	"qwerty123456", "abcdefghij", "abcdefghijk", "abc1234567",
	"abcd123456", "1111111111", "0000000000", "monkey12345",
	"dragon12345", "master12345", "michael123", "1234qwerasdf",
	"1234abcd1234", "kiln-password", "kilnkilnkiln",
};

/* Why a password the estimator finds weak is weak: its longest part
 * that is not random typing. */
static const char *
weakness(const char *lang, const ZxcMatch_t *info)
{
	const ZxcMatch_t *m, *worst = NULL;
	int t;

	for (m = info; m != NULL; m = m->Next)
		if ((m->Type % MULTIPLE_MATCH) != BRUTE_MATCH &&
		    (worst == NULL || m->Length > worst->Length))
			worst = m;
	t = worst != NULL ? (int)(worst->Type % MULTIPLE_MATCH) : BRUTE_MATCH;
	switch (t) {
	case DICTIONARY_MATCH:
	case DICT_LEET_MATCH:
		return i18n_tr(lang, "it is built on a common word or name");
	case USER_MATCH:
	case USER_LEET_MATCH:
		return i18n_tr(lang, "it is built on the user name");
	case REPEATS_MATCH:
		return i18n_tr(lang, "it repeats characters or a pattern");
	case SEQUENCE_MATCH:
		return i18n_tr(lang, "it holds a sequence like abc or 123");
	case SPATIAL_MATCH:
		return i18n_tr(lang, "it holds a keyboard pattern like qwerty");
	case DATE_MATCH:
	case YEAR_MATCH:
		return i18n_tr(lang, "it holds a date or a year");
	default:
		return i18n_tr(lang, "it is short for the characters it uses");
	}
}

/* zxcvbn's estimate of pw, in bits (log2 of the guesses needed), with
 * the user name and the site's name as known words; *info (when info is
 * not NULL) receives the parts, for ZxcvbnFreeInfo. */
static double
estimate(const char *pw, const char *username, ZxcMatch_t **info)
{
	const char *words[3] = { "kiln", NULL, NULL };

	if (username != NULL && *username != '\0')
		words[1] = username;
	return ZxcvbnMatch(pw, words, info);
}

/* zxcvbn's score for an estimate: under 10^3 guesses 0, 10^6 1, 10^8 2,
 * 10^10 3, else 4. */
static int
score_of(double bits)
{
	double digits = bits * log10(2.0);

	return digits < 3 ? 0 : digits < 6 ? 1 : digits < 8 ? 2 :
		digits < 10 ? 3 : 4;
}

int
password_score(const char *pw, const char *username)
{
	return score_of(estimate(pw, username, NULL));
}

/* The estimator's verdict, as password_policy reports it: 0, or -1 with
 * the score and the weakness it found in why. */
static int
strength(const char *pw, const char *username, const char *lang, char *why,
	size_t whylen)
{
	ZxcMatch_t *info = NULL;
	int score = score_of(estimate(pw, username, &info)), rc = 0;

	if (score < PASSWORD_MIN_SCORE)
		rc = errf(why, whylen, i18n_tr(lang, "is too easy to guess "
			"(strength %d of 4, at least %d needed): %s; use a "
			"longer one, or several unrelated words"), score,
			PASSWORD_MIN_SCORE, weakness(lang, info));
	ZxcvbnFreeInfo(info);
	return rc;
}

int
password_policy(const char *pw, const char *username, char *why,
	size_t whylen)
{
	return password_policy_lang(pw, username, LANG_EN, why, whylen);
}

int
password_policy_lang(const char *pw, const char *username, const char *lang,
	char *why, size_t whylen)
{
	size_t n = strlen(pw), i, distinct = 0;
	unsigned char seen[256] = { 0 };

	if (n < PASSWORD_MIN)
		return errf(why, whylen, i18n_tr(lang, "must be at least %d "
			"characters"), PASSWORD_MIN);
	if (n > PASSWORD_MAX)
		return errf(why, whylen, i18n_tr(lang, "must be at most %d "
			"characters"), PASSWORD_MAX);
	if (username != NULL && *username != '\0' &&
	    strcasestr(pw, username) != NULL && n < 2 * strlen(username) + 4)
		return errf(why, whylen, "%s", i18n_tr(lang, "must not be "
			"built on the user name"));
	for (i = 0; i < n; i++)
		if (!seen[(unsigned char)pw[i]]++)
			distinct++;
	if (distinct < 5)
		return errf(why, whylen, "%s", i18n_tr(lang, "has too few "
			"different characters"));
	for (i = 0; i < ARRAY_LEN(weak_passwords); i++)
		if (!strcasecmp(pw, weak_passwords[i]))
			return errf(why, whylen, "%s", i18n_tr(lang, "is one "
				"of the most common passwords; choose "
				"another"));
	return strength(pw, username, lang, why, whylen);
}
