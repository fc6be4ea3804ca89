/* test_inputs.c - declared form inputs: each type's rule, absence and
 * IN_REQUIRED, IN_BLANK, repeated fields, and the accessors by key. */
#include "request.h"
#include "submit.h"
#include "tap.h"

#include <stdlib.h>

static const char *const colours[] = { "red", "green", "blue", NULL };

static int
no_x(const char *s)
{
	return strchr(s, 'x') == NULL;
}

enum { K_NAME, K_NOTE, K_COUNT, K_RATIO, K_ON, K_COLOUR, K_COLOURS,
	K_SECRET, K_OPTIONAL, K_BLANK };

static const struct input inputs[] = {
	[K_NAME] = { .name = "name", .type = IN_STR,
		.flags = IN_REQUIRED | IN_TEXT, .min = 2, .max = 8,
		.check = no_x, .msg = "Name: 2-8 bytes." },
	[K_NOTE] = { .name = "note", .type = IN_STR,
		.flags = IN_TEXT | IN_LINES, .max = 32 },
	[K_COUNT] = { .name = "count", .type = IN_INT, .flags = IN_REQUIRED,
		.min = -5, .max = 100 },
	[K_RATIO] = { .name = "ratio", .type = IN_DEC, .min = 0, .max = 30 },
	[K_ON] = { .name = "on", .type = IN_BOOL },
	[K_COLOUR] = { .name = "colour", .type = IN_ENUM,
		.choices = colours },
	[K_COLOURS] = { .name = "colours", .type = IN_SET,
		.choices = colours },
	[K_SECRET] = { .name = "secret", .type = IN_STR, .max = 64 },
	[K_OPTIONAL] = { .name = "optional", .type = IN_INT, .min = 1,
		.max = 9 },
	[K_BLANK] = { .name = "blank", .type = IN_INT, .flags = IN_BLANK,
		.min = 1, .max = 9 },
	IN_END,
};

/* req's form from a urlencoded body, checked against inputs. */
static int
parse(struct kreq *req, const char *body)
{
	memset(req, 0, sizeof(*req));
	if (form_decode(body, strlen(body), 64, &req->form, &req->nform,
	    NULL) != 0)
		return -1;
	return req_inputs(req, inputs);
}

/* The fault of key after checking body. */
static enum in_fault
fault_of(const char *body, size_t key)
{
	struct kreq r;
	enum in_fault f;

	if (parse(&r, body) != 0)
		return (enum in_fault)-1;
	f = in_get(&r, key)->fault;
	req_free(&r);
	return f;
}

static void
all_valid(void)
{
	struct kreq r;

	CHECK(parse(&r, "name=ab%C3%A9&note=two%0Alines&count=-5&ratio=7.5"
		"&on=1&colour=blue&colours=red&colours=green,blue"
		"&secret=%01any%FFbytes&blank=3") == 0);
	CHECK(r.ninputs == K_BLANK + 1);
	CHECK_STR(in_str(&r, K_NAME), "ab\xc3\xa9");
	CHECK_STR(in_str(&r, K_NOTE), "two\nlines");
	CHECK(in_long(&r, K_COUNT) == -5);
	CHECK(in_get(&r, K_RATIO)->d == 7.5);
	CHECK(in_long(&r, K_ON) == 1);
	CHECK_STR(in_str(&r, K_COLOUR), "blue");
	CHECK(in_long(&r, K_COLOUR) == 2);
	CHECK(in_long(&r, K_COLOURS) == 7);
	CHECK_STR(in_str(&r, K_SECRET), "\x01" "any\xff" "bytes");
	CHECK(in_long(&r, K_BLANK) == 3);
	CHECK(!in_bad(&r, K_NAME) && !in_bad(&r, K_COUNT));
	/* Not sent, not required: absent, not refused. */
	CHECK(in_get(&r, K_OPTIONAL)->state == IN_ABSENT);
	CHECK(!in_bad(&r, K_OPTIONAL) && in_long(&r, K_OPTIONAL) == 0);
	CHECK(in_sent(&r, K_OPTIONAL) == NULL);
	req_free(&r);
}

static void
required_missing(void)
{
	struct kreq r;

	CHECK(parse(&r, "note=x") == 0);
	CHECK(in_bad(&r, K_NAME) && in_bad(&r, K_COUNT));
	CHECK(in_get(&r, K_NAME)->fault == IN_MISSING);
	CHECK(in_get(&r, K_COUNT)->fault == IN_MISSING);
	CHECK(in_str(&r, K_NAME) == NULL && in_sent(&r, K_NAME) == NULL);
	req_free(&r);
	/* Sent empty is "empty", not missing, without IN_BLANK. */
	CHECK(fault_of("name=", K_NAME) == IN_EMPTY);
	CHECK(fault_of("count=", K_COUNT) == IN_NOT_NUMBER);
}

static void
int_out_of_range(void)
{
	static const char *const out[] = { "101", "-6",
		"99999999999999999999" };
	size_t i;

	CHECK(fault_of("count=101", K_COUNT) == IN_RANGE);
	CHECK(fault_of("count=-6", K_COUNT) == IN_RANGE);
	/* Too big for a long: no number kiln takes. */
	CHECK(fault_of("count=99999999999999999999", K_COUNT) ==
		IN_NOT_NUMBER);
	/* No minus where min is not negative. */
	CHECK(fault_of("optional=-0", K_OPTIONAL) == IN_RANGE);
	CHECK(fault_of("optional=0", K_OPTIONAL) == IN_RANGE);
	CHECK(fault_of("ratio=30.5", K_RATIO) == IN_RANGE);
	CHECK(fault_of("ratio=30", K_RATIO) == IN_OK);
	for (i = 0; i < ARRAY_LEN(out); i++) {
		struct kreq r;
		char body[64];

		snprintf(body, sizeof(body), "count=%s", out[i]);
		CHECK(parse(&r, body) == 0);
		CHECK(in_bad(&r, K_COUNT) && in_long(&r, K_COUNT) == 0);
		/* What was typed stays, to be shown back. */
		CHECK_STR(in_sent(&r, K_COUNT), out[i]);
		req_free(&r);
	}
}

static void
non_number(void)
{
	static const char *const junk[] = { "count=abc", "count=1e2",
		"count=0x10", "count=%2B5", "count=%205", "count=5%20",
		"count=5.0", "count=--5" };
	size_t i;

	for (i = 0; i < ARRAY_LEN(junk); i++)
		CHECK(fault_of(junk[i], K_COUNT) == IN_NOT_NUMBER);
	CHECK(fault_of("ratio=7.", K_RATIO) == IN_NOT_NUMBER);
	CHECK(fault_of("ratio=6.4e1", K_RATIO) == IN_NOT_NUMBER);
	CHECK(fault_of("ratio=inf", K_RATIO) == IN_NOT_NUMBER);
}

static void
enum_not_in_choices(void)
{
	struct kreq r;

	CHECK(fault_of("colour=purple", K_COLOUR) == IN_NOT_CHOICE);
	CHECK(fault_of("colour=Red", K_COLOUR) == IN_NOT_CHOICE);
	CHECK(fault_of("colour=re", K_COLOUR) == IN_NOT_CHOICE);
	CHECK(fault_of("colour=", K_COLOUR) == IN_NOT_CHOICE);
	CHECK(fault_of("colour=red,green", K_COLOUR) == IN_NOT_CHOICE);
	CHECK(parse(&r, "colour=purple") == 0);
	CHECK(in_str(&r, K_COLOUR) == NULL && in_long(&r, K_COLOUR) == 0);
	req_free(&r);
}

static void
set_of_choices(void)
{
	struct kreq r;

	/* Each value a list; empty items skipped; naming none refused. */
	CHECK(parse(&r, "colours=,red,&colours=blue") == 0);
	CHECK(in_long(&r, K_COLOURS) == 5);
	CHECK_STR(in_sent(&r, K_COLOURS), ",red,");
	req_free(&r);
	CHECK(fault_of("colours=red&colours=pink", K_COLOURS) ==
		IN_NOT_CHOICE);
	CHECK(fault_of("colours=", K_COLOURS) == IN_NOT_CHOICE);
	CHECK(fault_of("colours=,", K_COLOURS) == IN_NOT_CHOICE);
	CHECK(parse(&r, "name=ab") == 0);
	CHECK(in_get(&r, K_COLOURS)->state == IN_ABSENT);
	CHECK(in_long(&r, K_COLOURS) == 0);
	req_free(&r);
}

static void
overlong_string(void)
{
	struct kreq r;

	CHECK(fault_of("name=abcdefgh", K_NAME) == IN_OK);
	CHECK(fault_of("name=abcdefghi", K_NAME) == IN_LONG);
	CHECK(fault_of("name=a", K_NAME) == IN_SHORT);
	/* Bytes, not characters: four two-byte letters fill eight. */
	CHECK(fault_of("name=%C3%A9%C3%A9%C3%A9%C3%A9", K_NAME) == IN_OK);
	CHECK(fault_of("name=%C3%A9%C3%A9%C3%A9%C3%A9a", K_NAME) == IN_LONG);
	CHECK(parse(&r, "name=abcdefghi") == 0);
	CHECK(in_bad(&r, K_NAME) && in_str(&r, K_NAME) == NULL);
	CHECK_STR(in_sent(&r, K_NAME), "abcdefghi");
	req_free(&r);
}

static void
control_chars(void)
{
	CHECK(fault_of("name=a%01b", K_NAME) == IN_CONTROL);
	CHECK(fault_of("name=a%7Fb", K_NAME) == IN_CONTROL);
	CHECK(fault_of("name=a%0Ab", K_NAME) == IN_CONTROL);
	CHECK(fault_of("name=a%C2%85b", K_NAME) == IN_CONTROL);
	CHECK(fault_of("name=a%FFb", K_NAME) == IN_BAD_UTF8);
	CHECK(fault_of("name=a%C0%AFb", K_NAME) == IN_BAD_UTF8);
	/* IN_LINES takes line breaks and tabs, nothing else. */
	CHECK(fault_of("note=a%0D%0A%09b", K_NOTE) == IN_OK);
	CHECK(fault_of("note=a%1Bb", K_NOTE) == IN_CONTROL);
	/* Without IN_TEXT any bytes are taken (passwords). */
	CHECK(fault_of("secret=%1B%FF", K_SECRET) == IN_OK);
	/* The further rule runs on text that passed the others. */
	CHECK(fault_of("name=axb", K_NAME) == IN_CHECK);
}

static void
checkbox(void)
{
	struct kreq r;

	CHECK(parse(&r, "on=1") == 0);
	CHECK(in_long(&r, K_ON) == 1 && !in_bad(&r, K_ON));
	req_free(&r);
	CHECK(parse(&r, "on=0") == 0);
	CHECK(in_long(&r, K_ON) == 0 && in_get(&r, K_ON)->state == IN_VALID);
	req_free(&r);
	/* Unticked: not sent, reads 0. */
	CHECK(parse(&r, "name=ab") == 0);
	CHECK(in_long(&r, K_ON) == 0 && !in_bad(&r, K_ON));
	req_free(&r);
	CHECK(fault_of("on=on", K_ON) == IN_NOT_CHOICE);
	CHECK(fault_of("on=00", K_ON) == IN_NOT_CHOICE);
	CHECK(fault_of("on=", K_ON) == IN_NOT_CHOICE);
}

static void
blank_is_absent(void)
{
	struct kreq r;

	CHECK(parse(&r, "blank=&optional=") == 0);
	CHECK(in_get(&r, K_BLANK)->state == IN_ABSENT);
	CHECK_STR(in_sent(&r, K_BLANK), "");
	CHECK(in_get(&r, K_OPTIONAL)->fault == IN_NOT_NUMBER);
	req_free(&r);
}

static void
first_of_repeated(void)
{
	struct kreq r;

	CHECK(parse(&r, "name=first&name=second&count=1&count=x") == 0);
	CHECK_STR(in_str(&r, K_NAME), "first");
	CHECK(in_long(&r, K_COUNT) == 1);
	req_free(&r);
}

static void
keys_beyond_the_list(void)
{
	static const struct input none[] = { IN_END };
	struct input many[REQ_MAX_INPUTS + 2];
	struct kreq r;
	size_t i;

	/* A route that declares nothing: every key reads absent. */
	memset(&r, 0, sizeof(r));
	CHECK(in_str(&r, 0) == NULL && in_sent(&r, 3) == NULL);
	CHECK(!in_bad(&r, 0) && in_long(&r, 0) == 0);
	CHECK(req_inputs(&r, none) == 0 && r.ninputs == 0);
	CHECK(parse(&r, "name=ab") == 0);
	CHECK(in_get(&r, K_BLANK + 1)->state == IN_ABSENT);
	req_free(&r);
	/* A list longer than a request holds is a bug, said so. */
	memset(many, 0, sizeof(many));
	for (i = 0; i < REQ_MAX_INPUTS + 1; i++) {
		many[i].name = "x";
		many[i].max = 1;
	}
	memset(&r, 0, sizeof(r));
	CHECK(req_inputs(&r, many) == -1);
	many[REQ_MAX_INPUTS].name = NULL;
	CHECK(req_inputs(&r, many) == 0 && r.ninputs == REQ_MAX_INPUTS);
}

static void
one_input_on_demand(void)
{
	static const struct input token = { .name = "csrf", .type = IN_STR,
		.flags = IN_REQUIRED, .min = 4, .max = 4 };
	struct in_value v;
	struct kreq r;

	CHECK(parse(&r, "csrf=abcd") == 0);
	CHECK(req_input(&r, &token, &v) == 0 && !strcmp(v.s, "abcd"));
	req_free(&r);
	CHECK(parse(&r, "csrf=abc") == 0);
	CHECK(req_input(&r, &token, &v) == -1 && v.s == NULL);
	CHECK(v.fault == IN_SHORT);
	req_free(&r);
	CHECK(parse(&r, "") == 0);
	CHECK(req_input(&r, &token, &v) == -1 && v.fault == IN_MISSING);
	req_free(&r);
	/* The same rule for a text from elsewhere (a JSON number's). */
	CHECK(in_check(&inputs[K_COUNT], "42", &v) == 0 && v.n == 42);
	CHECK(in_check(&inputs[K_COUNT], "4.2", &v) == -1);
}

/* Every job field declared at its key, the list ended after them: a
 * gap would end it early and drop the rest from the form. */
static void
job_inputs_declared(void)
{
	size_t k;

	for (k = 0; k < JOB_NINPUTS; k++)
		CHECK(job_inputs[k].name != NULL && job_inputs[k].max > 0);
	CHECK(job_inputs[JOB_NINPUTS].name == NULL);
	CHECK(JOB_NINPUTS <= REQ_MAX_INPUTS);
	CHECK_STR(job_inputs[JOB_IN_PROMPT].name, "prompt");
	CHECK_STR(job_inputs[JOB_IN_BATCH].name, "batch_count");
}

int
main(void)
{
	RUN(all_valid);
	RUN(required_missing);
	RUN(int_out_of_range);
	RUN(non_number);
	RUN(enum_not_in_choices);
	RUN(set_of_choices);
	RUN(overlong_string);
	RUN(control_chars);
	RUN(checkbox);
	RUN(blank_is_absent);
	RUN(first_of_repeated);
	RUN(keys_beyond_the_list);
	RUN(one_input_on_demand);
	RUN(job_inputs_declared);
	return tap_done();
}
