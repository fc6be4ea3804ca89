/* test_i18n.c - the PO parser (entries, escapes, multi-line strings,
 * contexts, plurals, what it refuses with file:line), the shipped
 * catalogue, Accept-Language, zone names and conversion, and the _() and
 * localtime() template functions. Runs from the repository root. */
#include "app.h"
#include "auth.h"
#include "i18n.h"
#include "tap.h"
#include "view.h"

#include <stdlib.h>
#include <unistd.h>

static struct po *
parse(const char *s, char *err, size_t n)
{
	err[0] = '\0';
	return po_parse(s, strlen(s), "t.po", err, n);
}

static void
entries_escapes_and_continuations(void)
{
	char err[256];
	struct po *po = parse(
	    "# comment\n"
	    "msgid \"\"\n"
	    "msgstr \"\"\n\"Content-Type: text/plain; charset=UTF-8\\n\"\n"
	    "\n"
	    "#: templates/layout.cs\n"
	    "msgid \"Home\"\n"
	    "msgstr \"\xe9\xa6\x96\xe9\xa1\xb5\"\n"
	    "\n"
	    "msgid \"\"\n"
	    "\"Two \"\n"
	    "\"lines\"\n"
	    "msgstr \"a\\n\\\"b\\\"\\t\\\\\"\n"
	    "msgctxt \"verb\"\n"
	    "msgid \"Home\"\n"
	    "msgstr \"ctx\"\n"
	    "msgid \"%d job\"\n"
	    "msgid_plural \"%d jobs\"\n"
	    "msgstr[0] \"%d \xe4\xb8\xaa\"\n"
	    "msgstr[1] \"unused\"\n"
	    "#, fuzzy\n"
	    "msgid \"Fuzzy\"\n"
	    "msgstr \"guess\"\n"
	    "msgid \"Untranslated\"\n"
	    "msgstr \"\"\r\n", err, sizeof(err));

	CHECK(po != NULL);
	if (po == NULL) {
		printf("# %s\n", err);
		return;
	}
	CHECK_STR(po_get(po, NULL, "Home"), "\xe9\xa6\x96\xe9\xa1\xb5");
	CHECK_STR(po_get(po, NULL, "Two lines"), "a\n\"b\"\t\\");
	CHECK_STR(po_get(po, "verb", "Home"), "ctx");
	CHECK_STR(po_get(po, NULL, "%d job"), "%d \xe4\xb8\xaa");
	/* Fuzzy, untranslated and the header give nothing. */
	CHECK(po_get(po, NULL, "Fuzzy") == NULL);
	CHECK(po_get(po, NULL, "Untranslated") == NULL);
	CHECK(po_get(po, NULL, "") == NULL);
	CHECK(po_get(po, NULL, "Away") == NULL);
	CHECK(po_count(po) == 4);
	po_free(po);
}

/* Each broken catalogue is refused with the line of the fault. */
static void
refuses(const char *text, const char *want)
{
	char err[256];
	struct po *po = parse(text, err, sizeof(err));

	CHECK(po == NULL);
	po_free(po);
	if (strstr(err, want) == NULL)
		printf("# got \"%s\", want \"%s\"\n", err, want);
	CHECK(strstr(err, want) != NULL);
}

static void
broken_catalogues_name_file_and_line(void)
{
	refuses("msgid \"a\"\nmsgstr \"b\"\nmsgid \"a\"\nmsgstr \"c\"\n",
	    "t.po:3: msgid \"a\" given twice");
	refuses("msgid \"a\"\nmsgstr \"b\\q\"\n", "t.po:2: unknown escape");
	refuses("msgid \"a\"\nmsgstr \"b\n", "t.po:2: string without");
	refuses("msgid \"a\"\nmsgstr b\n", "t.po:2: expected a quoted");
	refuses("\n\nmsgstr \"b\"\n", "t.po:3: msgstr without a msgid");
	refuses("msgid \"a\"\nmsgid \"b\"\nmsgstr \"\"\n", "t.po:2: msgid");
	refuses("msgid \"a\"\n", "t.po:1: entry without msgstr");
	refuses("msgid \"x\"\nmsgstr \"y\"\nbogus\n", "t.po:3: expected");
	refuses("msgid \"a\"\nmsgstr \"\xff\"\n", "t.po:2: text is not UTF-8");
	refuses("msgid \"%d of %s\"\nmsgstr \"%s / %d\"\n",
	    "t.po:1: msgstr's conversions");
	refuses("msgid \"%d left\"\nmsgstr \"left\"\n",
	    "t.po:1: msgstr's conversions");
	refuses("msgid \"a\" x\nmsgstr \"b\"\n", "t.po:1: text after");
	refuses("\"a\"\n", "t.po:1: a string continues no keyword");
	/* Found by fuzz_po: a string after a blank line continued the
	 * msgstr above it. */
	refuses("msgid \"a\"\nmsgstr \"b\"\n\n\"c\"\n",
	    "t.po:4: a string continues no keyword");
}

/* The shipped catalogue loads, and i18n_tr falls back to the msgid. */
static void
shipped_catalogue(void)
{
	char err[512];

	CHECK(i18n_init("po", err, sizeof(err)) == 0);
	CHECK_STR(i18n_tr(LANG_ZH, "Home"), "\xe9\xa6\x96\xe9\xa1\xb5");
	CHECK_STR(i18n_tr(LANG_EN, "Home"), "Home");
	CHECK_STR(i18n_tr(LANG_ZH, "no such text here"), "no such text here");
	CHECK(i18n_init("no-such-dir", err, sizeof(err)) == -1);
	CHECK(strstr(err, "no-such-dir/zh_CN.po") != NULL);
	CHECK(i18n_init("po", err, sizeof(err)) == 0);
}

static void
accept_language(void)
{
	CHECK_STR(i18n_accept(""), LANG_EN);
	CHECK_STR(i18n_accept(NULL), LANG_EN);
	CHECK_STR(i18n_accept("zh-CN,zh;q=0.9,en;q=0.8"), LANG_ZH);
	CHECK_STR(i18n_accept("zh"), LANG_ZH);
	CHECK_STR(i18n_accept("zh-Hans-CN"), LANG_ZH);
	CHECK_STR(i18n_accept("zh-hans"), LANG_ZH);
	CHECK_STR(i18n_accept("ZH-cn"), LANG_ZH);
	CHECK_STR(i18n_accept("zh-TW"), LANG_EN);
	CHECK_STR(i18n_accept("zh-Hant"), LANG_EN);
	CHECK_STR(i18n_accept("en-US,en;q=0.9,zh-CN;q=0.8"), LANG_EN);
	CHECK_STR(i18n_accept("en;q=0.5, zh-CN;q=0.8"), LANG_ZH);
	CHECK_STR(i18n_accept("fr-FR, zh;q=0.1"), LANG_ZH);
	CHECK_STR(i18n_accept("zh;q=0, en;q=0.2"), LANG_EN);
	CHECK_STR(i18n_accept("de, fr"), LANG_EN);
	CHECK_STR(i18n_accept("zh-CN;q=1.000"), LANG_ZH);
	CHECK_STR(i18n_accept(";;;,,,q=;=,zh"), LANG_ZH);
	CHECK_STR(i18n_lang("zh-CN"), LANG_ZH);
	CHECK_STR(i18n_lang("en"), LANG_EN);
	CHECK(i18n_lang("zh") == NULL);
	CHECK(i18n_lang(NULL) == NULL);
}

static void
zones(void)
{
	char out[64];

	CHECK(tz_valid("UTC"));
	CHECK(tz_valid("Asia/Shanghai"));
	CHECK(tz_valid("America/New_York"));
	CHECK(!tz_valid("Asia/Nowhere"));
	CHECK(!tz_valid("../../etc/passwd"));
	CHECK(!tz_valid("/etc/passwd"));
	CHECK(!tz_valid("Asia/"));
	CHECK(!tz_valid(""));
	CHECK(!tz_valid("zone1970.tab"));	/* a file, not a zone */
	CHECK(!tz_valid(NULL));
	tz_use("Asia/Shanghai");
	CHECK(tz_convert("2026-12-07 10:30", out, sizeof(out)) == 0);
	CHECK_STR(out, "2026-12-07 18:30");
	CHECK(tz_convert("2026-12-31 20:00:05", out, sizeof(out)) == 0);
	CHECK_STR(out, "2027-01-01 04:00:05");
	/* Daylight saving time follows the date. */
	tz_use("America/New_York");
	CHECK(tz_convert("2026-07-01 12:00", out, sizeof(out)) == 0);
	CHECK_STR(out, "2026-07-01 08:00");
	CHECK(tz_convert("2026-01-01 12:00", out, sizeof(out)) == 0);
	CHECK_STR(out, "2026-01-01 07:00");
	CHECK(tz_convert("", out, sizeof(out)) == -1);
	CHECK_STR(out, "");
	CHECK(tz_convert("2026-13-01 12:00", out, sizeof(out)) == -1);
	CHECK(tz_convert("2026-01-01 12:00 junk", out, sizeof(out)) == -1);
	CHECK_STR(out, "2026-01-01 12:00 junk");
	tz_use(NULL);
	CHECK(tz_convert("2026-07-01 12:00", out, sizeof(out)) == 0);
	CHECK_STR(out, "2026-07-01 12:00");
}

/* _() translates for the page's Lang and its result is escaped like any
 * var:; localtime() shows the user's zone. */
static void
template_functions(void)
{
	static struct kiln_app app;
	static char dir[] = "/tmp/kiln-i18n-XXXXXX";
	struct auth a;
	struct kreq r;
	char err[256], conf[256];
	const char *o;

	CHECK(mkdtemp(dir) != NULL);
	tap_put_file(dir, "layout.cs", "<html lang=\"<?cs var:Lang ?>\">"
	    "<?cs include:Page.Template ?>");
	tap_put_file(dir, "t.cs", "[<?cs var:_(\"Home\") ?>]"
	    "[<?cs var:_(\"a <b> & c\") ?>][<?cs var:_(X) ?>]"
	    "[<?cs var:localtime(\"2026-12-07 10:30\") ?>]"
	    "[<?cs var:TimeZone ?>]");
	snprintf(conf, sizeof(conf), "[paths]\ntemplates = %s\n", dir);
	CHECK(config_parse(&app.cfg, "t", conf, strlen(conf), err,
	    sizeof(err)) == 0);

	memset(&r, 0, sizeof(r));
	r.app = &app;
	r.path = (char *)"/";
	r.accept_language = "zh-CN,zh;q=0.9";
	view_set(&r, "X", "<i>");
	CHECK(view_render(&r, 200, "T", "t.cs") == 0);
	o = r.out.data != NULL ? r.out.data : "";
	if (strstr(o, "a &lt;b&gt; &amp; c") == NULL)
		printf("# %s\n", o);
	CHECK(strstr(o, "<html lang=\"zh-CN\">") != NULL);
	CHECK(strstr(o, "[\xe9\xa6\x96\xe9\xa1\xb5]") != NULL);
	CHECK(strstr(o, "[a &lt;b&gt; &amp; c]") != NULL);
	CHECK(strstr(o, "[&lt;i&gt;]") != NULL);
	CHECK(strstr(o, "[2026-12-07 10:30][UTC]") != NULL);
	r.path = NULL;
	req_free(&r);

	/* A user's settings beat the browser's. */
	memset(&r, 0, sizeof(r));
	memset(&a, 0, sizeof(a));
	a.username = (char *)"u";
	a.display_name = (char *)"";
	a.role = (char *)"user";
	a.csrf = (char *)"tok";
	a.language = (char *)"en";
	a.time_zone = (char *)"Asia/Shanghai";
	r.app = &app;
	r.path = (char *)"/";
	r.auth = &a;
	r.accept_language = "zh-CN";
	CHECK(view_render(&r, 200, "T", "t.cs") == 0);
	o = r.out.data != NULL ? r.out.data : "";
	CHECK(strstr(o, "<html lang=\"en\">[Home]") != NULL);
	CHECK(strstr(o, "[2026-12-07 18:30][Asia/Shanghai]") != NULL);
	r.path = NULL;
	r.auth = NULL;
	req_free(&r);
	config_free(&app.cfg);
	unlink(strcat(strcpy(conf, dir), "/t.cs"));
	unlink(strcat(strcpy(conf, dir), "/layout.cs"));
	rmdir(dir);
}

int
main(void)
{
	RUN(entries_escapes_and_continuations);
	RUN(broken_catalogues_name_file_and_line);
	RUN(shipped_catalogue);
	RUN(accept_language);
	RUN(zones);
	RUN(template_functions);
	i18n_done();
	return tap_done();
}
