/* test_loras.c - a job's LoRAs: AUTOMATIC1111's <lora:NAME:WEIGHT> prompt
 * tags found as its regular expression finds them (brackets around and
 * inside, a missing weight, named te= and unet=, the lyco alias), bad
 * tags refused with the tag quoted, the JSON field's and a form's lists,
 * and the stored form. */
#include "loras.h"
#include "tap.h"

#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static struct job_lora l[JOB_LORAS_MAX];
static int n;
static char err[512];

static int
tags(const char *prompt)
{
	n = 0;
	err[0] = '\0';
	return lora_tags_parse(prompt, l, JOB_LORAS_MAX, &n, err, sizeof(err));
}

/* tags(prompt) must fail with a message holding want. */
static void
refused(const char *prompt, const char *want)
{
	CHECK(tags(prompt) == -1);
	if (strstr(err, want) == NULL)
		printf("# %s: message \"%s\" lacks \"%s\"\n", prompt, err,
		    want);
	CHECK(strstr(err, want) != NULL);
}

static void
plain_tags(void)
{
	CHECK(tags("a cat <lora:style-1:0.8>, <lora:detail_v2> on a mat") ==
	    0);
	CHECK(n == 2);
	CHECK_STR(l[0].name, "style-1");
	CHECK(l[0].weight == 0.8 && l[0].unet_weight == 0.8);
	CHECK(l[0].source == LORA_FROM_PROMPT);
	/* No weight: 1, as A1111's default multiplier. */
	CHECK_STR(l[1].name, "detail_v2");
	CHECK(l[1].weight == 1.0 && l[1].unet_weight == 1.0);
	CHECK(tags("no tags at all") == 0 && n == 0);
	CHECK(tags("") == 0 && n == 0);
}

/* Python's float() takes spaces, signs, exponents. */
static void
weights_as_a1111_reads_them(void)
{
	CHECK(tags("<lora:a:-0.5>") == 0 && n == 1 && l[0].weight == -0.5);
	CHECK(tags("<lora:a: 1.25 >") == 0 && l[0].weight == 1.25);
	CHECK(tags("<lora:a:+.5>") == 0 && l[0].weight == 0.5);
	CHECK(tags("<lora:a:5e-1>") == 0 && l[0].weight == 0.5);
	CHECK(tags("<lora:a:10>") == 0 && l[0].weight == 10);
	CHECK(tags("<lora:a:-10>") == 0 && l[0].weight == -10);
	/* te, then the UNet's; named ones win. */
	CHECK(tags("<lora:a:0.3:0.7>") == 0 && l[0].weight == 0.3 &&
	    l[0].unet_weight == 0.7);
	CHECK(tags("<lora:a:unet=0.2>") == 0 && l[0].weight == 1 &&
	    l[0].unet_weight == 0.2);
	CHECK(tags("<lora:a:0.5:te=0.4>") == 0 && l[0].weight == 0.4 &&
	    l[0].unet_weight == 0.4);
	CHECK(tags("<lora:te=0.4:a>") == 0 && n == 1 &&
	    !strcmp(l[0].name, "a") && l[0].weight == 0.4);
	/* lyco is A1111's alias of lora. */
	CHECK(tags("<lyco:b:0.6>") == 0 && n == 1 && l[0].weight == 0.6);
}

/* Where A1111's <(\w+):([^>]+)> matches and where it does not. */
static void
brackets_around_and_inside(void)
{
	/* Attention brackets around a tag leave it whole. */
	CHECK(tags("(<lora:a:0.5>:1.2), [<lora:b>]") == 0 && n == 2);
	CHECK_STR(l[0].name, "a");
	CHECK(l[0].weight == 0.5);
	CHECK_STR(l[1].name, "b");
	/* Not tags: no colon, nothing after it, no closing bracket, no
	 * type, a space in the type. */
	CHECK(tags("<lora> <lora:> <:x:1> <lo ra:x>") == 0 && n == 0);
	CHECK(tags("a <lora:x:0.8") == 0 && n == 0);
	/* A '<' inside: the first '>' ends the tag, which holds it: its
	 * items are "a<lora", "b" and "1", as in A1111. */
	refused("<lora:a<lora:b:1>", "<lora:a<lora:b:1>: \"b\" is not a "
	    "weight");
	refused("<lora:a<b>", "\"a<b\" is not a LoRA name");
	/* A '>' ends it: what follows is prompt text. */
	CHECK(tags("<lora:a:0.5>0.7>") == 0 && n == 1 && l[0].weight == 0.5);
	/* Other networks are left to the engine, but hypernetworks. */
	CHECK(tags("<foo:bar> <LORA:x> <lora:a>") == 0 && n == 1);
	refused("x <hypernet:h:1>", "<hypernet:h:1>: hypernetworks are not");
	/* Brackets in the weight. */
	refused("<lora:a:(0.5)>", "\"(0.5)\" is not a weight");
}

static void
bad_tags_are_named(void)
{
	refused("<lora:a:x>", "<lora:a:x>: \"x\" is not a weight");
	refused("<lora:a:>", "\"\" is not a weight");
	refused("<lora:a:11>", "\"11\" is not a weight (a number from -10 to "
	    "10)");
	refused("<lora:a:inf>", "not a weight");
	refused("<lora:a:nan>", "not a weight");
	refused("<lora:a:0x1p1>", "not a weight");
	refused("<lora:a:1:2:3>", "dyn");
	refused("<lora:a:dyn=4>", "dyn");
	refused("<lora:a:foo=1>", "unknown parameter \"foo\"");
	refused("<lora:a:unet=x>", "\"x\" is not a weight");
	refused("<lora:../etc:1>", "\"../etc\" is not a LoRA name");
	refused("<lora: a :1>", "\" a \" is not a LoRA name");
	refused("<lora:te=1>", "names no LoRA");
	refused("<lora:" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaa:1>", "1 to 64");
}

static void
at_most_eight(void)
{
	CHECK(tags("<lora:a1><lora:a2><lora:a3><lora:a4><lora:a5><lora:a6>"
	    "<lora:a7><lora:a8>") == 0 && n == 8);
	refused("<lora:a1><lora:a2><lora:a3><lora:a4><lora:a5><lora:a6>"
	    "<lora:a7><lora:a8><lora:a9>", "<lora:a9>: at most 8 LoRAs");
}

static void
form_lists(void)
{
	n = 0;
	CHECK(lora_list_parse(" style:0.8 , detail,  x:0.5:0.25 ,", l,
	    JOB_LORAS_MAX, &n, err, sizeof(err)) == 0);
	CHECK(n == 3);
	CHECK_STR(l[0].name, "style");
	CHECK(l[0].weight == 0.8 && l[0].source == LORA_FROM_FIELD);
	CHECK_STR(l[1].name, "detail");
	CHECK(l[1].weight == 1);
	CHECK(l[2].weight == 0.5 && l[2].unet_weight == 0.25);
	n = 0;
	CHECK(lora_list_parse("a:heavy", l, JOB_LORAS_MAX, &n, err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "a:heavy: the weight is not") != NULL);
	n = 0;
	CHECK(lora_list_parse("a b", l, JOB_LORAS_MAX, &n, err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "not a LoRA name") != NULL);
}

struct bads {
	char text[1024];
	int count;
};

static void
collect(void *arg, const char *field, const char *msg)
{
	struct bads *b = arg;
	size_t k = strlen(b->text);

	snprintf(b->text + k, sizeof(b->text) - k, "%s=%s;", field, msg);
	b->count++;
}

static int
json_list(const char *text, struct bads *b)
{
	json_object *a = json_tokener_parse(text);
	int rc;

	memset(b, 0, sizeof(*b));
	n = 0;
	rc = lora_json_parse(a, l, JOB_LORAS_MAX, &n, collect, b);
	json_object_put(a);
	CHECK(rc == b->count);
	return rc;
}

static void
json_field(void)
{
	struct bads b;

	CHECK(json_list("[{\"name\": \"a\", \"weight\": 0.8}, {\"name\": "
	    "\"b\"}, {\"name\": \"c\", \"weight\": -1, \"unet_weight\": 0.5}]",
	    &b) == 0);
	CHECK(n == 3 && l[0].weight == 0.8 && l[0].unet_weight == 0.8 &&
	    l[1].weight == 1 && l[2].weight == -1 && l[2].unet_weight == 0.5);
	CHECK(json_list("{\"name\": \"a\"}", &b) == 1);
	CHECK(strstr(b.text, "loras=must be an array") != NULL);
	CHECK(json_list("[{\"weight\": 1}, 3, {\"name\": 4}, {\"name\": \"a\", "
	    "\"weight\": 11}, {\"name\": \"a\", \"weight\": \"1\"}, {\"name\": "
	    "\"a\", \"x\": 1}, {\"name\": \"../a\"}, {\"name\": \"a\", "
	    "\"weight\": 1e0}]", &b) == 8);
	CHECK(strstr(b.text, "loras[0].name=is required;") != NULL);
	CHECK(strstr(b.text, "loras[1]=must be an object") != NULL);
	CHECK(strstr(b.text, "loras[2].name=must be a string;") != NULL);
	CHECK(strstr(b.text, "loras[3].weight=must be a number from -10 to "
	    "10;") != NULL);
	CHECK(strstr(b.text, "loras[4].weight=must be a number") != NULL);
	CHECK(strstr(b.text, "loras[5].x=unknown field;") != NULL);
	CHECK(strstr(b.text, "loras[6].name=\"../a\" is not a LoRA name") !=
	    NULL);
	CHECK(strstr(b.text, "loras[7].weight=must be a number") != NULL);
	CHECK(json_list("[{\"name\": \"a\\u0000b\"}]", &b) == 1);
	CHECK(strstr(b.text, "control character") != NULL);
	CHECK(json_list("[{\"name\":\"a\"},{\"name\":\"a\"},{\"name\":\"a\"},"
	    "{\"name\":\"a\"},{\"name\":\"a\"},{\"name\":\"a\"},{\"name\":\"a\"},"
	    "{\"name\":\"a\"},{\"name\":\"a\"}]", &b) == 1);
	CHECK(strstr(b.text, "loras=at most 8") != NULL);
}

static void
stored_form(void)
{
	struct job_lora back[JOB_LORAS_MAX];
	char *text, w[40];
	int m;

	CHECK(loras_to_text(l, 0) == NULL);
	CHECK(tags("<lora:a:0.8> <lora:b:-1:0.1>") == 0 && n == 2);
	text = loras_to_text(l, n);
	CHECK_STR(text, "[{\"name\":\"a\",\"weight\":0.8,\"unet_weight\":0.8,"
	    "\"source\":\"prompt\"},{\"name\":\"b\",\"weight\":-1,"
	    "\"unet_weight\":0.1,\"source\":\"prompt\"}]");
	CHECK(loras_from_text(text, back, JOB_LORAS_MAX, &m) == 0 && m == 2);
	CHECK(!strcmp(back[1].name, "b") && back[1].weight == -1 &&
	    back[1].unet_weight == 0.1 && back[1].source == LORA_FROM_PROMPT);
	free(text);
	CHECK(loras_from_text("[{\"name\": \"../x\", \"weight\": 1, "
	    "\"unet_weight\": 1, \"source\": \"field\"}]", back, JOB_LORAS_MAX,
	    &m) == -1);
	CHECK(loras_from_text("nonsense", back, JOB_LORAS_MAX, &m) == -1);
	lora_weight_text(0.8, w, sizeof(w));
	CHECK_STR(w, "0.8");
	lora_weight_text(1, w, sizeof(w));
	CHECK_STR(w, "1");
	lora_weight_text(1e-5, w, sizeof(w));
	CHECK_STR(w, "0.00001");
	lora_weight_text(-0.125, w, sizeof(w));
	CHECK_STR(w, "-0.125");
}

int
main(void)
{
	RUN(plain_tags);
	RUN(weights_as_a1111_reads_them);
	RUN(brackets_around_and_inside);
	RUN(bad_tags_are_named);
	RUN(at_most_eight);
	RUN(form_lists);
	RUN(json_field);
	RUN(stored_form);
	return tap_done();
}
