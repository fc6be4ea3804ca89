/* test_view.c - templates render inside the layout and every var: is
 * HTML-escaped. Runs from the repository root (templates/). */
#include "app.h"
#include "tap.h"
#include "view.h"

#include <stdlib.h>

static struct kiln_app app;

static void
escaping_is_on_everywhere(void)
{
	struct kreq r;

	memset(&r, 0, sizeof(r));
	r.app = &app;
	CHECK(view_set(&r, "Home.Tagline", "<script>alert('x')</script>&") == 0);
	CHECK(view_set(&r, "Home.Rendering", "1") == 0);
	CHECK(view_render(&r, 200, "T<i>", "home.cs") == 0);
	CHECK(r.status == 200);
	CHECK(r.out.data != NULL);
	if (r.out.data != NULL) {
		CHECK(strstr(r.out.data, "<script>alert") == NULL);
		CHECK(strstr(r.out.data, "&lt;script&gt;alert(&#39;x&#39;)"
			"&lt;/script&gt;&amp;") != NULL);
		CHECK(strstr(r.out.data, "<title>T&lt;i&gt; · Site &amp; Co"
			"</title>") != NULL);
		CHECK(strstr(r.out.data, "Rendering available right now.") !=
		    NULL);
		CHECK(strstr(r.out.data, "<p>kiln " KILN_VERSION "</p>") != NULL);
		/* No theme chosen: the browser's preference, no flash. */
		CHECK(strstr(r.out.data, "<html lang=\"en\">") != NULL);
		CHECK(strstr(r.out.data, "id=\"flash\"") == NULL);
	}
	req_free(&r);
}

/* The theme cookie reaches <html>; a flash code shows its text once and
 * the cookie is cleared; anything else in either cookie is ignored. */
static void
theme_and_flash_from_cookies(const char *cookies, const char *html,
	const char *flash)
{
	struct kreq r;

	memset(&r, 0, sizeof(r));
	r.app = &app;
	r.path = (char *)"/jobs";
	CHECK(cookie_decode(cookies, 4096, &r.cookies, &r.ncookies) == 0);
	CHECK(view_render(&r, 200, "T", "home.cs") == 0);
	CHECK(r.out.data != NULL && strstr(r.out.data, html) != NULL);
	if (flash != NULL) {
		CHECK(r.out.data != NULL && strstr(r.out.data, flash) != NULL);
		CHECK(r.headers.data != NULL && strstr(r.headers.data,
		    "Set-Cookie: kiln_flash=; Path=/; Max-Age=0") != NULL);
	} else
		CHECK(r.out.data != NULL &&
		    strstr(r.out.data, "id=\"flash\"") == NULL);
	/* The switch goes back to this page. */
	CHECK(r.out.data != NULL && strstr(r.out.data,
	    "name=\"next\" value=\"/jobs\"") != NULL);
	r.path = NULL;
	req_free(&r);
}

static void
theme_and_flash(void)
{
	theme_and_flash_from_cookies("kiln_theme=dark; kiln_flash=deleted",
	    "<html lang=\"en\" data-theme=\"dark\">", ">Job deleted.</p>");
	theme_and_flash_from_cookies("kiln_theme=light",
	    "<html lang=\"en\" data-theme=\"light\">", NULL);
	theme_and_flash_from_cookies(
	    "kiln_theme=%22%3E%3Cscript%3E; kiln_flash=%3Cb%3Ehi",
	    "<html lang=\"en\">", NULL);
}

static void
error_page(void)
{
	struct kreq r;

	memset(&r, 0, sizeof(r));
	r.app = &app;
	view_error(&r, 404, "not_found", "no <such> page");
	CHECK(r.status == 404);
	CHECK(strstr(r.out.data, "<h1>404 Not Found</h1>") != NULL);
	CHECK(strstr(r.out.data, "no &lt;such&gt; page") != NULL);
	req_free(&r);
}

static void
missing_template_gives_bare_500(void)
{
	struct kreq r;

	memset(&r, 0, sizeof(r));
	r.app = &app;
	CHECK(view_render(&r, 200, "x", "no-such-template.cs") == -1);
	CHECK(r.status == 500);
	CHECK(strstr(r.out.data, "Internal error") != NULL);
	req_free(&r);
}

int
main(void)
{
	char err[256];
	int rc;

	const char *conf = "[site]\nname = Site & Co\n"
		"[paths]\ntemplates = templates\n";

	CHECK(config_parse(&app.cfg, "t", conf, strlen(conf), err,
		sizeof(err)) == 0);
	RUN(escaping_is_on_everywhere);
	RUN(theme_and_flash);
	RUN(error_page);
	RUN(missing_template_gives_bare_500);
	rc = tap_done();
	config_free(&app.cfg);
	return rc;
}
