/* page_language.c - POST /language: the footer's language switch. A
 * visitor's choice is a cookie; a signed-in user's is also stored with
 * the account (users.language), so it follows them to other browsers
 * and outlives the session. Either beats Accept-Language (view_lang). */
#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "i18n.h"
#include "view.h"

#include <string.h>

#define LANG_MAX_AGE (365L * 24 * 3600)

static const char *const langs[] = { LANG_EN, LANG_ZH, NULL };
enum { LG_LANGUAGE, LG_NEXT };
const struct input language_inputs[] = {
	[LG_LANGUAGE] = { .name = "language", .type = IN_ENUM,
		.flags = IN_REQUIRED, .choices = langs,
		.msg = "Language: English or Simplified Chinese." },
	/* The page to go back to: safe_next judges it. */
	[LG_NEXT] = { .name = "next", .type = IN_STR, .max = 2048 },
	IN_END,
};

int
page_language(struct kreq *req)
{
	const char *lang = in_str(req, LG_LANGUAGE);
	struct db_param p[2];

	if (lang == NULL) {
		view_error(req, 422, "validation_failed",
		    "Language: English or Simplified Chinese.");
		return -1;
	}
	if (req->auth != NULL) {
		p[0] = DB_STR(lang);
		p[1] = DB_INT(req->auth->user_id);
		if (db_exec(req->app->db, "UPDATE users SET language = ?"
		    " WHERE id = ?", p, 2, NULL, NULL) != 0)
			return view_db_fail(req, "language: store");
	}
	if (resp_cookie(req, LANG_COOKIE, lang, LANG_MAX_AGE) != 0) {
		view_error(req, 500, "internal", "Out of memory.");
		return -1;
	}
	return resp_redirect(req, safe_next(in_str(req, LG_NEXT)));
}
