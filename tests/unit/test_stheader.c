/* test_stheader.c - the strict .safetensors header reader: what a good
 * header gives, and a clear message naming the file for every kind of
 * bad, truncated or padded-out file. */
#include "stheader.h"
#include "tap.h"
#include "../common/st_fixture.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/kiln-sth-XXXXXX";

/* Parses a file made of the header text json and data zero bytes. Returns
 * what sth_parse does, the message in err. */
static int
raw(const char *json, size_t data, char *err, size_t errlen)
{
	size_t h = strlen(json), i;
	unsigned char *b = calloc(1, 8 + h + data + 1);
	struct sth_file *f = NULL;
	int rc;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)((uint64_t)h >> (8 * i));
	memcpy(b + 8, json, h);
	err[0] = '\0';
	rc = sth_parse(b, 8 + h + data, "x.safetensors", &f, err, errlen);
	CHECK((rc == 0) == (f != NULL));
	sth_free(f);
	free(b);
	return rc;
}

/* raw() must fail with a message holding want and the file's name. */
static void
bad(const char *json, size_t data, const char *want)
{
	char err[512];

	CHECK(raw(json, data, err, sizeof(err)) == -1);
	if (strstr(err, want) == NULL || strstr(err, "x.safetensors") == NULL)
		printf("# message \"%s\" lacks \"%s\"\n", err, want);
	CHECK(strstr(err, want) != NULL);
	CHECK(strstr(err, "x.safetensors") != NULL);
}

static void
reads_a_good_file(void)
{
	static const struct st_fix t[] = {
		{ "a.weight", "F16", 2, { 4, 3 } },
		{ "b", "F32", 1, { 5 } },
		{ "alpha", "F32", 0, { 0 } },
	};
	struct sth_file *f = NULL;
	const struct sth_tensor *a;
	char path[512], err[512];

	CHECK(st_fix_write(dir, "good.safetensors", t, 3,
	    "{\"ss_output_name\": \"good\", \"format\": \"pt\"}", 0) == 0);
	snprintf(path, sizeof(path), "%s/good.safetensors", dir);
	CHECK(sth_read(path, "good.safetensors", &f, err, sizeof(err)) == 0);
	if (f == NULL) {
		printf("# %s\n", err);
		return;
	}
	CHECK(f->n == 3 && f->nmeta == 2);
	a = sth_find(f, "a.weight");
	CHECK(a != NULL && a->ndim == 2 && a->shape[0] == 4 &&
	    a->shape[1] == 3 && !strcmp(a->dtype, "F16") && a->begin == 0 &&
	    a->end == 24 && sth_is_float(a));
	a = sth_find(f, "alpha");
	CHECK(a != NULL && a->ndim == 0 && a->end - a->begin == 4);
	CHECK(sth_find(f, "nope") == NULL);
	CHECK_STR(sth_meta(f, "ss_output_name"), "good");
	CHECK(sth_meta(f, "nope") == NULL);
	CHECK(f->data_len == 24 + 20 + 4);
	sth_free(f);
}

static void
a_truncated_file_says_so(void)
{
	static const struct st_fix t[] = {
		{ "w", "F32", 2, { 16, 16 } },
	};
	struct sth_file *f = (struct sth_file *)1;
	char path[512], err[512];

	CHECK(st_fix_write(dir, "cut.safetensors", t, 1, NULL, 100) == 0);
	snprintf(path, sizeof(path), "%s/cut.safetensors", dir);
	CHECK(sth_read(path, "cut.safetensors", &f, err, sizeof(err)) == -1);
	CHECK(f == NULL);
	CHECK(strstr(err, "cut.safetensors: truncated") != NULL);
	/* Cut inside the header too. */
	tap_put_file(dir, "short.safetensors", "\x40\x00\x00\x00\x00\x00\x00"
	    "\x00{\"w\":");
	snprintf(path, sizeof(path), "%s/short.safetensors", dir);
	CHECK(sth_read(path, "short.safetensors", &f, err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "short.safetensors: truncated") != NULL);
	tap_put_file(dir, "tiny.safetensors", "abc");
	snprintf(path, sizeof(path), "%s/tiny.safetensors", dir);
	CHECK(sth_read(path, "tiny.safetensors", &f, err, sizeof(err)) == -1);
	CHECK(strstr(err, "tiny.safetensors: truncated") != NULL);
	snprintf(path, sizeof(path), "%s/none.safetensors", dir);
	CHECK(sth_read(path, "none.safetensors", &f, err, sizeof(err)) == -1);
	CHECK(strstr(err, "none.safetensors: cannot open") != NULL);
}

static void
refuses_what_is_not_a_header(void)
{
	char err[512];

	CHECK(raw("{}", 0, err, sizeof(err)) == 0);
	CHECK(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
	    "\"data_offsets\":[0,8]}}   \n", 8, err, sizeof(err)) == 0);
	bad("[1, 2]", 0, "not a JSON object");
	bad("{\"a\": 1", 0, "not valid JSON");
	bad("{\"a\":{}} x", 0, "not valid JSON");
	bad("{\"a\": 1}", 0, "tensor 'a': not an object");
	bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "needs dtype");
	bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],"
	    "\"x\":1}}", 8, "keys other than");
	bad("{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}",
	    8, "unknown dtype");
	bad("{\"a\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}",
	    8, "shape is not an array");
	bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}",
	    8, "shape[0] is not a size");
	bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],"
	    "\"data_offsets\":[0,4]}}", 4, "9 dimensions");
	bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,"
	    "4294967296],\"data_offsets\":[0,8]}}", 8, "shape too large");
	bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}",
	    8, "not [begin, end]");
	bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}",
	    8, "needs 12 bytes");
	bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
	    4, "truncated");
	bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
	    12, "4 bytes follow the last tensor");
	bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
	    12, "leave a gap");
	bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
	    "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
	    12, "overlap");
	bad("{\"__metadata__\": {\"a\": 1}}", 0, "not a string");
	bad("{\"__metadata__\": [1]}", 0, "__metadata__ is not an object");
	bad("{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[1],"
	    "\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
	    "\"data_offsets\":[4,8]}}", 8, "tensor 'a'");
	bad("{\"a\":[[[[[1]]]]]}", 0, "not valid JSON");
	bad("{\"\xff\":1}", 0, "not valid JSON");
}

static void
refuses_a_header_length_past_the_file(void)
{
	unsigned char b[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, '{', '}' };
	struct sth_file *f = NULL;
	char err[512];

	CHECK(sth_parse(b, sizeof(b), "h.safetensors", &f, err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "h.safetensors: not a safetensors file") != NULL);
	b[0] = 100;
	memset(b + 1, 0, 7);
	CHECK(sth_parse(b, sizeof(b), "h.safetensors", &f, err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "h.safetensors: truncated: the header needs 100")
	    != NULL);
	CHECK(sth_parse(b, 5, "h.safetensors", &f, err, sizeof(err)) == -1);
	CHECK(strstr(err, "truncated: 5 bytes") != NULL);
	CHECK(f == NULL);
}

/* A name from the file never puts control characters into a message. */
static void
messages_quote_names(void)
{
	char err[512];

	CHECK(raw("{\"a\\nb\\u001b[31m\": 1}", 0, err, sizeof(err)) == -1);
	CHECK(strchr(err, '\n') == NULL && strchr(err, 0x1b) == NULL);
	CHECK(strstr(err, "'a?b?[31m'") != NULL);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	RUN(reads_a_good_file);
	RUN(a_truncated_file_says_so);
	RUN(refuses_what_is_not_a_header);
	RUN(refuses_a_header_length_past_the_file);
	RUN(messages_quote_names);
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return tap_done();
}
