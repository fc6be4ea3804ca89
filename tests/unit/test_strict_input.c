/* test_strict_input.c - the one strict rule for numbers a user sends,
 * text faults told apart, form and query faults naming their field. */
#include "accounts.h"
#include "config.h"
#include "request.h"
#include "tap.h"
#include "util.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const char *
fake_env(const char *name, void *arg)
{
	const char *const *kv = arg;

	for (; kv[0] != NULL; kv += 2)
		if (!strcmp(kv[0], name))
			return kv[1];
	return NULL;
}

static void
integers_are_plain_decimal(void)
{
	static const char *const junk[] = { "6.4e1", "0x10", "+16", " 16",
		"16 ", "1e3", "16.0", "-", "", "0b1", "١٦" };
	long v = 0;
	size_t i;

	for (i = 0; i < ARRAY_LEN(junk); i++)
		CHECK(parse_long(junk[i], 0, 4294967295L, &v) == -1);
	CHECK(parse_long("0016", 0, 100, &v) == 0 && v == 16);
	CHECK(parse_long("4294967295", 0, 4294967295L, &v) == 0 &&
		v == 4294967295L);
	/* A minus only where negative values exist. */
	CHECK(parse_long("-0", 0, 100, &v) == -1);
	CHECK(parse_long("-5", 0, 100, &v) == -1);
	CHECK(parse_long("-5", -10, 10, &v) == 0 && v == -5);
	CHECK(parse_long("--5", -10, 10, &v) == -1);
}

static void
decimals_are_plain_decimal(void)
{
	static const char *const junk[] = { "7e0", "0x7", "inf", "nan", "7.",
		".5", "+7", " 7", "7 ", "7,5", "1e-1", "-7", "" };
	double d = 0;
	size_t i;

	for (i = 0; i < ARRAY_LEN(junk); i++)
		CHECK(parse_decimal(junk[i], 0, 30, &d) == -1);
	CHECK(parse_decimal("7", 0, 30, &d) == 0 && d == 7.0);
	CHECK(parse_decimal("7.25", 0, 30, &d) == 0 && d == 7.25);
	CHECK(parse_decimal("30.5", 0, 30, &d) == -1);
	CHECK(parse_decimal("-1.5", -2, 2, &d) == 0 && d == -1.5);
	CHECK(parse_decimal(NULL, 0, 30, &d) == -1);
}

static void
text_faults_are_told_apart(void)
{
	CHECK(text_check("a red\tcircle\r\non white", 100, 1) == TEXT_OK);
	CHECK(text_check("a red\tcircle", 100, 0) == TEXT_CONTROL);
	CHECK(text_check("bell\a", 100, 1) == TEXT_CONTROL);
	CHECK(text_check("esc\x1b[31m", 100, 1) == TEXT_CONTROL);
	CHECK(text_check("del\x7f", 100, 1) == TEXT_CONTROL);
	CHECK(text_check("c1 \xc2\x85", 100, 1) == TEXT_CONTROL);
	CHECK(text_check("bad \xff", 100, 1) == TEXT_BAD_UTF8);
	CHECK(text_check("overlong \xc0\xaf", 100, 1) == TEXT_BAD_UTF8);
	CHECK(text_check("caf\xc3\xa9", 100, 1) == TEXT_OK);
	CHECK(text_check("abcdef", 5, 1) == TEXT_TOO_LONG);
	CHECK(text_valid("caf\xc3\xa9", 10) == 1);
	CHECK(text_valid("a\nb", 10) == 0);
}

static void
form_fault_names_the_field(void)
{
	struct form_fault f = { NULL, NULL };
	struct kv *kv;
	size_t n;

	CHECK(form_decode("width=64&prompt=a%00b", 21, 16, &kv, &n, &f) ==
		-1);
	CHECK(kv == NULL && n == 0);
	CHECK_STR(f.field, "prompt");
	CHECK_STR(f.what, "contains a NUL byte");
	form_fault_clear(&f);
	CHECK(f.field == NULL && f.what == NULL);
	CHECK(form_decode("seed=%zz", 8, 16, &kv, &n, &f) == -1);
	CHECK_STR(f.field, "seed");
	CHECK_STR(f.what, "has a malformed %-escape");
	form_fault_clear(&f);
	/* A bad name names no field, and says so. */
	CHECK(form_decode("a%00=1", 6, 16, &kv, &n, &f) == -1);
	CHECK(f.field == NULL && f.what != NULL);
	form_fault_clear(&f);
	form_fault_clear(NULL);
}

static void
req_parse_names_the_nul_field(void)
{
	const char *env[] = {
		"REQUEST_METHOD", "POST",
		"REQUEST_URI", "/generate",
		"CONTENT_TYPE", "application/x-www-form-urlencoded",
		NULL, NULL,
	};
	const char *body = "csrf=x&negative_prompt=a%00";
	struct kreq r;
	char msg[128];

	memset(&r, 0, sizeof(r));
	CHECK(req_parse(&r, fake_env, env, body, strlen(body), 0, msg,
		sizeof(msg)) == 400);
	CHECK_STR(msg, "form field \"negative_prompt\" contains a NUL byte");
	CHECK_STR(r.fault.field, "negative_prompt");
	req_free(&r);
}

static void
unknown_query_parameters_are_found(void)
{
	struct kv q[3] = { { "limit", "5" }, { "status", "failed" },
		{ "stauts", "x" } };
	struct kreq r;

	memset(&r, 0, sizeof(r));
	r.query = q;
	r.nquery = 2;
	CHECK(req_unknown_query(&r, "status q cursor limit") == NULL);
	CHECK_STR(req_unknown_query(&r, "status q cursor"), "limit");
	CHECK_STR(req_unknown_query(&r, ""), "limit");
	/* A prefix or a longer name is another name. */
	CHECK_STR(req_unknown_query(&r, "limits status"), "limit");
	CHECK_STR(req_unknown_query(&r, "lim status"), "limit");
	r.nquery = 3;
	CHECK_STR(req_unknown_query(&r, "status limit"), "stauts");
	r.nquery = 0;
	CHECK(req_unknown_query(&r, "") == NULL);
}

static void
tiers_are_the_configured_ones(void)
{
	static const char text[] = "[tier pro]\nmax_side = 2048\n"
		"[tier default]\nmax_queued = 2\n";
	struct kiln_config c;
	struct tier_limits t;
	struct buf b = { 0 };
	char err[256];

	memset(&c, 0, sizeof(c));
	CHECK(config_parse(&c, "t.conf", text, strlen(text), err,
		sizeof(err)) == 0);
	CHECK(tier_known(&c, "pro") && tier_known(&c, "default") &&
		tier_known(&c, "free"));
	CHECK(!tier_known(&c, "x") && !tier_known(&c, "gold") &&
		!tier_known(&c, "") && !tier_known(&c, "Pro"));
	CHECK(tier_names(&c, &b) == 0);
	CHECK_STR(b.data, "default, free, pro");
	buf_free(&b);
	/* A tier without a section takes the default's limits under its
	 * own name: the quota message names it. */
	tier_of(&c, "free", &t);
	CHECK_STR(t.name, "free");
	CHECK(t.max_queued == 2);
	tier_of(&c, "pro", &t);
	CHECK_STR(t.name, "pro");
	CHECK(t.max_side == 2048 && t.max_queued == 20);
	config_free(&c);
}

static void
weak_passwords_are_refused_with_why(void)
{
	char why[160];

	CHECK(password_policy("Password1!", "bob", why, sizeof(why)) == -1);
	CHECK(strstr(why, "too easy to guess") != NULL);
	CHECK(strstr(why, "common word") != NULL);
	CHECK(password_policy("qwertyuiop!!", "bob", why, sizeof(why)) ==
		-1);
	CHECK(password_policy("letmein!2024", "bob", why, sizeof(why)) ==
		-1);
	CHECK(password_score("Password1!", "bob") < PASSWORD_MIN_SCORE);
	/* The user name counts as a known word. */
	CHECK(password_score("Tundralantern77", "tundralantern") <
		password_score("Tundralantern77", "bob"));
	CHECK(password_policy("Granite-Wren-4471", "bob", why,
		sizeof(why)) == 0);
	CHECK(password_policy("correct horse battery", NULL, why,
		sizeof(why)) == 0);
	/* The older rules still come first, with their messages. */
	CHECK(password_policy("short", "bob", why, sizeof(why)) == -1);
	CHECK(strstr(why, "at least 10") != NULL);
	CHECK(password_policy("password123", "bob", why, sizeof(why)) == -1);
	CHECK(strstr(why, "common passwords") != NULL);
}

int
main(void)
{
	RUN(integers_are_plain_decimal);
	RUN(decimals_are_plain_decimal);
	RUN(text_faults_are_told_apart);
	RUN(form_fault_names_the_field);
	RUN(req_parse_names_the_nul_field);
	RUN(unknown_query_parameters_are_found);
	RUN(tiers_are_the_configured_ones);
	RUN(weak_passwords_are_refused_with_why);
	return tap_done();
}
