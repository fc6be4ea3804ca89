/* page_theme.c - POST /theme: the light / dark / automatic switch. The
 * choice is a cookie, so visitors have it too, and the server writes it
 * into the page's <html data-theme>: the first paint is already in the
 * right colours (no script runs before it, none could under the CSP). */
#include "app.h"
#include "auth.h"
#include "handlers.h"
#include "view.h"

#include <string.h>

#define THEME_MAX_AGE (365L * 24 * 3600)

/* "auto" forgets the choice: the browser's prefers-color-scheme rules. */
static const char *const themes[] = { "auto", "light", "dark", NULL };
enum { TH_THEME, TH_NEXT };
const struct input theme_inputs[] = {
	[TH_THEME] = { .name = "theme", .type = IN_ENUM,
		.flags = IN_REQUIRED, .choices = themes,
		.msg = "Theme: auto, light or dark." },
	/* The page to go back to: safe_next judges it. */
	[TH_NEXT] = { .name = "next", .type = IN_STR, .max = 2048 },
	IN_END,
};

int
page_theme(struct kreq *req)
{
	const char *theme = in_str(req, TH_THEME);
	int rc;

	if (theme == NULL) {
		view_error(req, 422, "validation_failed",
		    "Theme: auto, light or dark.");
		return -1;
	}
	if (strcmp(theme, "auto") == 0)
		rc = resp_cookie(req, THEME_COOKIE, "", 0);
	else
		rc = resp_cookie(req, THEME_COOKIE, theme, THEME_MAX_AGE);
	if (rc != 0) {
		view_error(req, 500, "internal", "Out of memory.");
		return -1;
	}
	return resp_redirect(req, safe_next(in_str(req, TH_NEXT)));
}
