/* page_account.c - /account: profile, password, the user's own sessions
 * (revoke one, log out everywhere). */
#include "accounts.h"
#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "i18n.h"
#include "log.h"
#include "view.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const done_msgs[][2] = {
	{ "profile", N_("Profile saved.") },
	{ "password", N_("Password changed; your other sessions were "
	    "ended.") },
	{ "session", N_("Session ended.") },
	{ "prefs", N_("Language and time zone saved.") },
};

/* POST /account/profile's form. */
enum { PR_DISPLAY_NAME };
const struct input profile_inputs[] = {
	[PR_DISPLAY_NAME] = { .name = "display_name", .type = IN_STR,
		.flags = IN_REQUIRED | IN_TEXT, .max = 128,
		.msg = "Display name: at most 128 bytes of text, no control "
		"characters." },
	IN_END,
};

/* POST /account/preferences' form: language "" forgets the choice (the
 * browser's Accept-Language decides); the zone is checked against the
 * system's zone database (tz_valid). */
static const char *const languages[] = { "", LANG_EN, LANG_ZH, NULL };
enum { PF_LANGUAGE, PF_TIME_ZONE };
const struct input prefs_inputs[] = {
	[PF_LANGUAGE] = { .name = "language", .type = IN_ENUM,
		.choices = languages,
		.msg = "Language: English or Simplified Chinese." },
	[PF_TIME_ZONE] = { .name = "time_zone", .type = IN_STR,
		.flags = IN_REQUIRED, .max = TZ_MAX,
		.msg = "Time zone: a name of the time zone database, such as "
		"Asia/Shanghai or UTC." },
	IN_END,
};

/* The zones the /account select offers: the zone database's own list
 * (zone1970.tab: one line per zone, the name in the third column),
 * sorted, with UTC first. Returns 0 or -1 (no memory). */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
load_zones(struct kreq *req)
{
	char line[512], key[32], **names = NULL;
	size_t n = 0, cap = 0, i;
	int rc = 0;
	FILE *f;

	rc |= view_set(req, "Zones.0", "UTC");
	f = fopen("/usr/share/zoneinfo/zone1970.tab", "r");
	if (f == NULL)
		return rc;	/* the select offers UTC alone */
	while (fgets(line, sizeof(line), f) != NULL) {
		char *save = NULL, *cc, *name;

		if (line[0] == '#')
			continue;
		cc = strtok_r(line, "\t\n", &save);
		if (cc == NULL || strtok_r(NULL, "\t\n", &save) == NULL ||
		    (name = strtok_r(NULL, "\t\n", &save)) == NULL)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 512;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = xstrdup(name);
	}
	fclose(f);
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "Zones.%zu", i + 1);
		rc |= view_set(req, key, names[i]);
		free(names[i]);
	}
	free(names);
	return rc;
}

/* POST /account/password's form: password_verify and password_policy
 * judge them, as typed. */
enum { PW_CURRENT, PW_PASSWORD, PW_PASSWORD2 };
const struct input password_inputs[] = {
	[PW_CURRENT] = { .name = "current", .type = IN_STR,
		.max = REQ_MAX_BODY },
	[PW_PASSWORD] = { .name = "password", .type = IN_STR,
		.max = REQ_MAX_BODY },
	[PW_PASSWORD2] = { .name = "password2", .type = IN_STR,
		.max = REQ_MAX_BODY },
	IN_END,
};

/* Fills the page's data: the profile and the sessions. */
static int
load(struct kreq *req)
{
	struct db_param p[2];
	const char *done = req_query(req, "done");
	size_t i;

	p[0] = DB_INT(req->auth->user_id);
	if (view_rows(req, "Account.Profile", "SELECT"
	    " display_name AS DisplayName, role AS Role, tier AS Tier,"
	    " DATE_FORMAT(created_at, '%Y-%m-%d %H:%i') AS Created,"
	    " COALESCE(DATE_FORMAT(last_login_at, '%Y-%m-%d %H:%i'), '')"
	    " AS LastLogin, credits AS Credits,"
	    " COALESCE(language, '') AS Language,"
	    " COALESCE(time_zone, '') AS TimeZone FROM users WHERE id = ?",
	    p, 1) < 0)
		return -1;
	/* The zone selected: the one sent back after an error, else the
	 * user's (view_zone: UTC when none). */
	if (view_set(req, "Account.Zone", req->inputs == prefs_inputs &&
	    in_sent(req, PF_TIME_ZONE) != NULL ? in_sent(req, PF_TIME_ZONE) :
	    view_zone(req)) != 0 || load_zones(req) != 0)
		return -1;
	p[0] = DB_INT(req->auth->session_id);
	p[1] = DB_INT(req->auth->user_id);
	if (view_rows(req, "Account.Sessions", "SELECT id AS Id,"
	    " DATE_FORMAT(created_at, '%Y-%m-%d %H:%i') AS Created,"
	    " DATE_FORMAT(last_seen_at, '%Y-%m-%d %H:%i') AS LastSeen,"
	    " ip AS Ip, user_agent AS Agent, id = ? AS Current"
	    " FROM sessions WHERE user_id = ? AND expires_at > NOW(3)"
	    " ORDER BY last_seen_at DESC LIMIT 100", p, 2) < 0)
		return -1;
	for (i = 0; done != NULL && i < ARRAY_LEN(done_msgs); i++)
		if (!strcmp(done, done_msgs[i][0]))
			view_set(req, "Account.Done", view_tr(req,
				done_msgs[i][1]));
	/* The e-mail address section (page_email.c). */
	return email_load(req);
}

static int
show(struct kreq *req, int status)
{
	if (load(req) != 0)
		return view_db_fail(req, "account: load");
	return view_render(req, status, "Account", "account.cs");
}

int
page_account_show(struct kreq *req, int status)
{
	return show(req, status);
}

int
page_account(struct kreq *req)
{
	return show(req, 200);
}

int
page_account_profile(struct kreq *req)
{
	const char *d = in_str(req, PR_DISPLAY_NAME);
	struct db_param p[2];

	if (d == NULL) {
		view_input_error(req, PR_DISPLAY_NAME);
		return show(req, 422);
	}
	p[0] = DB_STR(d);
	p[1] = DB_INT(req->auth->user_id);
	if (db_exec(req->app->db, "UPDATE users SET display_name = ?"
	    " WHERE id = ?", p, 2, NULL, NULL) != 0)
		return view_db_fail(req, "account: profile");
	audit(req, "profile_change", req->auth->user_id, req->auth->username,
		"display name set");
	return resp_redirect(req, "/account?done=profile");
}

int
page_account_prefs(struct kreq *req)
{
	const char *lang = in_str(req, PF_LANGUAGE);
	const char *zone = in_str(req, PF_TIME_ZONE);
	struct db_param p[3];
	int bad = 0;

	/* Both fields are judged before either is stored: every error in
	 * one round. */
	if (in_bad(req, PF_LANGUAGE))
		bad += !view_input_error(req, PF_LANGUAGE);
	if (zone == NULL || !tz_valid(zone))
		bad += !view_input_error(req, PF_TIME_ZONE);
	if (bad > 0)
		return show(req, 422);
	p[0] = lang != NULL && *lang != '\0' ? DB_STR(lang) : DB_NULL;
	p[1] = DB_STR(zone);
	p[2] = DB_INT(req->auth->user_id);
	if (db_exec(req->app->db, "UPDATE users SET language = ?,"
	    " time_zone = ? WHERE id = ?", p, 3, NULL, NULL) != 0)
		return view_db_fail(req, "account: preferences");
	/* The visitor's cookie would outlive the choice at logout. */
	if (lang != NULL && *lang != '\0')
		resp_cookie(req, LANG_COOKIE, lang, 365L * 24 * 3600);
	else
		resp_cookie(req, LANG_COOKIE, "", 0);
	audit(req, "preferences", req->auth->user_id, req->auth->username,
		"language %s, time zone %s", lang && *lang ? lang : "browser",
		zone);
	return resp_redirect(req, "/account?done=prefs");
}

int
page_account_password(struct kreq *req)
{
	const char *cur = in_str(req, PW_CURRENT);
	const char *pw = in_str(req, PW_PASSWORD);
	const char *pw2 = in_str(req, PW_PASSWORD2);
	char hash[crypto_pwhash_STRBYTES], why[512], msg[640], *old = NULL;
	struct db_param p[2];
	int rehash, st, rc = -1, bad = 0;
	long locked;

	/* The current password is a login in disguise: the same lockout
	 * guards it, so a stolen session cannot guess it. */
	locked = auth_locked(req, req->auth->username);
	if (locked < 0)
		return view_db_fail(req, "account: lockout");
	if (locked > 0) {
		view_field_error(req, "current", "Too many failed attempts; "
			"try again later.");
		return show(req, 429);
	}
	p[0] = DB_INT(req->auth->user_id);
	if (db_query_string(req->app->db, "SELECT password_hash FROM users"
	    " WHERE id = ?", p, 1, &old) != 0 || old == NULL)
		return view_db_fail(req, "account: lookup");
	if (cur == NULL || !password_verify(old, cur, &rehash)) {
		st = auth_login_failed(req, req->auth->username);
		audit(req, "login_failed", req->auth->user_id,
			req->auth->username, "wrong current password on the "
			"password form");
		if (st == 1)
			audit(req, "lockout", req->auth->user_id,
				req->auth->username, "password form");
		view_field_error(req, "current", "Current password: wrong.");
		bad++;
	}
	/* The new password is judged too, whatever the current one was:
	 * every error in one round. */
	if (pw == NULL || password_policy_lang(pw, req->auth->username,
	    view_lang(req), why, sizeof(why)) != 0) {
		snprintf(msg, sizeof(msg), view_tr(req, "New password %s."),
			pw == NULL ? view_tr(req, "is required") : why);
		view_field_error(req, "password", msg);
		bad++;
	} else if (pw2 == NULL || strcmp(pw, pw2) != 0) {
		view_field_error(req, "password2", "The two new passwords "
			"differ.");
		bad++;
	}
	if (bad > 0) {
		rc = show(req, 422);
		goto out;
	}
	if (password_hash(pw, hash) != 0) {
		view_error(req, 500, "internal", "Out of memory.");
		goto out;
	}
	p[0] = DB_STR(hash);
	p[1] = DB_INT(req->auth->user_id);
	if (db_exec(req->app->db, "UPDATE users SET password_hash = ?,"
	    " password_changed_at = NOW(3) WHERE id = ?", p, 2, NULL,
	    NULL) != 0 || sessions_end(req->app->db, req->auth->user_id, 0,
	    req->auth->session_id) < 0) {
		view_db_fail(req, "account: password");
		goto out;
	}
	auth_login_ok(req, req->auth->username);
	audit(req, "password_change", req->auth->user_id, req->auth->username,
		"other sessions ended");
	rc = resp_redirect(req, "/account?done=password");
out:
	free(old);
	return rc;
}

int
page_account_session_revoke(struct kreq *req)
{
	unsigned long long sid = req_id(req, 0);
	long n;

	n = sid ? sessions_end(req->app->db, req->auth->user_id, sid, 0) : 0;
	if (n < 0)
		return view_db_fail(req, "account: revoke");
	if (n == 0) {
		view_error(req, 404, "not_found", "No such session.");
		return -1;
	}
	audit(req, "session_revoke", req->auth->user_id, req->auth->username,
		"session %llu", sid);
	if (sid == req->auth->session_id) {
		resp_cookie(req, SESSION_COOKIE, "", 0);
		view_flash(req, "logout");
		return resp_redirect(req, "/login");
	}
	return resp_redirect(req, "/account?done=session");
}

int
page_account_sessions_end_all(struct kreq *req)
{
	long n = sessions_end(req->app->db, req->auth->user_id, 0, 0);

	if (n < 0)
		return view_db_fail(req, "account: revoke all");
	audit(req, "logout_all", req->auth->user_id, req->auth->username,
		"%ld session(s) ended", n);
	resp_cookie(req, SESSION_COOKIE, "", 0);
	view_flash(req, "logout_all");
	return resp_redirect(req, "/login");
}
