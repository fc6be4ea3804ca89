/* test_jsondiff.c - the JSON diff by path (jsondiff.h), on cases worked
 * out by hand, and the parser of a manifest version's text. Run with two
 * file names it prints their diff as a JSON array of [kind, path,
 * before, after] instead: tests/integration/test_jsondiff.py compares
 * that with a Python implementation of the same rules on random pairs. */
#include "jsondiff.h"
#include "tap.h"
#include "util.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

/* The diff of two JSON texts as lines "kind path before after", '\n'
 * after each ("-" for an absent side), into out (n bytes). */
static void
diff_lines(const char *a, const char *b, char *out, size_t n)
{
	json_object *ja = json_tokener_parse(a), *jb = json_tokener_parse(b);
	struct jsondiff d;
	size_t i, len = 0;

	out[0] = '\0';
	CHECK(ja != NULL || strcmp(a, "null") == 0);
	CHECK(jb != NULL || strcmp(b, "null") == 0);
	CHECK(jsondiff(ja, jb, &d) == 0);
	for (i = 0; i < d.n && len < n; i++)
		len += (size_t)snprintf(out + len, n - len, "%s %s %s %s\n",
			jd_kind_name(d.c[i].kind), d.c[i].path,
			d.c[i].before ? d.c[i].before : "-",
			d.c[i].after ? d.c[i].after : "-");
	jsondiff_free(&d);
	json_object_put(ja);
	json_object_put(jb);
}

#define DIFF(a, b, want) do {						\
	char got_[2048];						\
	diff_lines((a), (b), got_, sizeof(got_));			\
	CHECK_STR(got_, (want));					\
} while (0)

static void
test_equal_documents_have_no_changes(void)
{
	DIFF("{}", "{}", "");
	DIFF("{\"a\":1,\"b\":[1,2,{\"c\":null}]}",
	    "{\"b\":[1,2,{\"c\":null}],\"a\":1}", "");
	/* Numbers by value: 1 and 1.0 are the same number. */
	DIFF("{\"a\":1,\"b\":2.50}", "{\"a\":1.0,\"b\":2.5}", "");
}

static void
test_a_changed_leaf_is_named_by_its_path(void)
{
	DIFF("{\"camera\":{\"lens_mm\":50,\"angle\":\"eye\"}}",
	    "{\"camera\":{\"lens_mm\":85,\"angle\":\"eye\"}}",
	    "changed $.camera.lens_mm 50 85\n");
	DIFF("{\"seed\":1}", "{\"seed\":\"1\"}", "changed $.seed 1 \"1\"\n");
	/* true is not 1. */
	DIFF("{\"x\":true}", "{\"x\":1}", "changed $.x true 1\n");
	DIFF("{\"x\":null}", "{\"x\":false}", "changed $.x null false\n");
}

static void
test_keys_added_and_removed_come_in_byte_order(void)
{
	DIFF("{\"b\":1,\"d\":{\"x\":1},\"a\":2}",
	    "{\"c\":3,\"a\":2,\"e\":[1]}",
	    "removed $.b 1 -\n"
	    "added $.c - 3\n"
	    "removed $.d {\"x\":1} -\n"
	    "added $.e - [1]\n");
	/* Upper case sorts before lower case, as strcmp has it. */
	DIFF("{}", "{\"b\":1,\"B\":2,\"_\":3}",
	    "added $.B - 2\nadded $._ - 3\nadded $.b - 1\n");
}

static void
test_arrays_are_compared_by_index(void)
{
	DIFF("{\"l\":[{\"w\":0.5},2,3]}", "{\"l\":[{\"w\":0.8},2]}",
	    "changed $.l[0].w 0.5 0.8\nremoved $.l[2] 3 -\n");
	DIFF("{\"l\":[]}", "{\"l\":[\"a\",[\"b\"]]}",
	    "added $.l[0] - \"a\"\nadded $.l[1] - [\"b\"]\n");
	DIFF("[1,[2,3]]", "[1,[2,4]]", "changed $[1][1] 3 4\n");
}

static void
test_a_value_of_another_kind_is_one_change(void)
{
	DIFF("{\"m\":{\"a\":1}}", "{\"m\":[1]}",
	    "changed $.m {\"a\":1} [1]\n");
	DIFF("{\"m\":\"x\"}", "{\"m\":{}}", "changed $.m \"x\" {}\n");
	DIFF("1", "2", "changed $ 1 2\n");
}

static void
test_keys_that_are_not_identifiers_are_quoted(void)
{
	DIFF("{\"colour temp\":5600}", "{\"colour temp\":3200}",
	    "changed $[\"colour temp\"] 5600 3200\n");
	DIFF("{\"1a\":{\"q\\\"\":1}}", "{\"1a\":{\"q\\\"\":2}}",
	    "changed $[\"1a\"][\"q\\\"\"] 1 2\n");
	DIFF("{\"\":1}", "{}", "removed $[\"\"] 1 -\n");
}

/* What json_object_text_parse takes and refuses, with why. */
static void
test_a_version_text_must_be_one_object(void)
{
	json_object *o = NULL;
	char err[128], *big;
	size_t i;
	static const char *const bad[] = { "", "[1]", "\"x\"", "{",
		"{\"a\":1} {}", "{\"a\":1}x", "{'a':1}", "{\"a\":NaN}",
		"{\"a\":01}", "{\"a\":1,}", NULL };

	CHECK(json_object_text_parse("{\"a\": [1, 2]}\n", 14, &o, err,
	    sizeof(err)) == 0);
	CHECK(json_object_is_type(o, json_type_object));
	json_object_put(o);
	for (i = 0; bad[i] != NULL; i++) {
		err[0] = '\0';
		o = NULL;
		if (json_object_text_parse(bad[i], strlen(bad[i]), &o, err,
		    sizeof(err)) == 0) {
			printf("# accepted %s\n", bad[i]);
			CHECK(0);
		}
		CHECK(o == NULL && err[0] != '\0');
		json_object_put(o);
	}
	CHECK(json_object_text_parse("{\"a\":\0}", 7, &o, err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "NUL") != NULL);
	/* Too deep: 40 nested arrays inside the object. */
	big = xmalloc(JSONDIFF_TEXT_MAX + 2);
	strcpy(big, "{\"a\":");
	for (i = 0; i < 40; i++)
		strcat(big, "[");
	for (i = 0; i < 40; i++)
		strcat(big, "]");
	strcat(big, "}");
	CHECK(json_object_text_parse(big, strlen(big), &o, err,
	    sizeof(err)) == -1);
	/* Too long, though valid. */
	memset(big, ' ', JSONDIFF_TEXT_MAX + 1);
	big[0] = '{';
	big[JSONDIFF_TEXT_MAX] = '}';
	CHECK(json_object_text_parse(big, JSONDIFF_TEXT_MAX + 1, &o, err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "longer") != NULL);
	CHECK(json_object_text_parse(big + 1, JSONDIFF_TEXT_MAX, &o, err,
	    sizeof(err)) == -1);
	big[JSONDIFF_TEXT_MAX - 1] = '}';
	CHECK(json_object_text_parse(big, JSONDIFF_TEXT_MAX, &o, err,
	    sizeof(err)) == 0);
	json_object_put(o);
	free(big);
}

static json_object *
str_or_null(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

/* The command-line mode: the diff of two files as JSON. */
static int
diff_files(const char *fa, const char *fb)
{
	struct buf ta = { 0 }, tb = { 0 };
	json_object *a = NULL, *b = NULL, *out, *row;
	struct jsondiff d = { 0 };
	char err[256];
	size_t i;
	int rc = 1;

	if (buf_read_file(&ta, fa, 1 << 24) != BUF_READ_OK ||
	    buf_read_file(&tb, fb, 1 << 24) != BUF_READ_OK ||
	    buf_puts(&ta, "") != 0 || buf_puts(&tb, "") != 0) {
		fprintf(stderr, "cannot read %s or %s\n", fa, fb);
		goto out;
	}
	if (json_object_text_parse(ta.data, ta.len, &a, err,
	    sizeof(err)) != 0 || json_object_text_parse(tb.data, tb.len, &b,
	    err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	if (jsondiff(a, b, &d) != 0)
		goto out;
	out = json_object_new_array();
	for (i = 0; i < d.n; i++) {
		row = json_object_new_array();
		json_object_array_add(row, json_object_new_string(
			jd_kind_name(d.c[i].kind)));
		json_object_array_add(row, json_object_new_string(d.c[i].path));
		json_object_array_add(row, str_or_null(d.c[i].before));
		json_object_array_add(row, str_or_null(d.c[i].after));
		json_object_array_add(out, row);
	}
	puts(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
	json_object_put(out);
	rc = 0;
out:
	jsondiff_free(&d);
	json_object_put(a);
	json_object_put(b);
	buf_free(&ta);
	buf_free(&tb);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc == 3)
		return diff_files(argv[1], argv[2]);
	RUN(test_equal_documents_have_no_changes);
	RUN(test_a_changed_leaf_is_named_by_its_path);
	RUN(test_keys_added_and_removed_come_in_byte_order);
	RUN(test_arrays_are_compared_by_index);
	RUN(test_a_value_of_another_kind_is_one_change);
	RUN(test_keys_that_are_not_identifiers_are_quoted);
	RUN(test_a_version_text_must_be_one_object);
	return tap_done();
}
