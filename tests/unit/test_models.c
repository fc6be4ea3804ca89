/* test_models.c - model names that stay inside the models directory, and
 * kiln.json cards: read when right, refused with the file and key when
 * wrong. */
#include "models.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/kiln-models-XXXXXX";

static void
test_names(void)
{
	char long_name[80];

	memset(long_name, 'a', 65);
	long_name[65] = '\0';
	CHECK(model_name_ok("kiln-micro"));
	CHECK(model_name_ok("v1-5_pruned.emaonly"));
	CHECK(!model_name_ok(""));
	CHECK(!model_name_ok(".."));
	CHECK(!model_name_ok("../etc"));
	CHECK(!model_name_ok("a/b"));
	CHECK(!model_name_ok(".hidden"));
	CHECK(!model_name_ok("sp ace"));
	CHECK(!model_name_ok(long_name));
	long_name[64] = '\0';
	CHECK(model_name_ok(long_name));
}

static void
test_card(void)
{
	struct model_card *c = NULL;
	char err[512], path[512];

	snprintf(path, sizeof(path), "%s/m", dir);
	mkdir(path, 0755);
	tap_put_file(dir, "m/kiln.json", "{\"description\": \"shapes\", \"examples\": "
	    "[\"a red star\", \"two <b>blue</b> squares\"], \"defaults\": "
	    "{\"width\": 64, \"height\": 64, \"steps\": 20, \"cfg\": 4.5, "
	    "\"sampler\": \"euler\"}}");
	CHECK(model_card_load(dir, "m", &c, err, sizeof(err)) == 0);
	if (c != NULL) {
		CHECK_STR(c->description, "shapes");
		CHECK(c->n_examples == 2);
		if (c->n_examples == 2)
			CHECK_STR(c->examples[1], "two <b>blue</b> squares");
		CHECK(c->width == 64 && c->height == 64 && c->steps == 20);
		CHECK(c->cfg == 4.5);
		CHECK_STR(c->sampler, "euler");
		CHECK_STR(c->path, path);
	}
	model_card_free(c);
	c = NULL;
	/* No card: an empty one. */
	snprintf(path, sizeof(path), "%s/plain", dir);
	mkdir(path, 0755);
	CHECK(model_card_load(dir, "plain", &c, err, sizeof(err)) == 0);
	if (c != NULL)
		CHECK(c->n_examples == 0 && c->width == 0 &&
		    c->description[0] == '\0');
	model_card_free(c);
	c = NULL;
	/* A single file. */
	tap_put_file(dir, "single.safetensors", "x");
	CHECK(model_card_load(dir, "single", &c, err, sizeof(err)) == 0);
	model_card_free(c);
	c = NULL;
}

static void
test_errors(void)
{
	struct model_card *c = (struct model_card *)1;
	char err[512], path[512];

	CHECK(model_card_load(dir, "nope", &c, err, sizeof(err)) == -1);
	CHECK(c == NULL);
	CHECK(strstr(err, "nope") != NULL && strstr(err, dir) != NULL);
	CHECK(model_card_load(dir, "../x", &c, err, sizeof(err)) == -1);
	CHECK(strstr(err, "not a model name") != NULL);
	snprintf(path, sizeof(path), "%s/bad", dir);
	mkdir(path, 0755);
	tap_put_file(dir, "bad/kiln.json", "{\"examples\": [1]}");
	CHECK(model_card_load(dir, "bad", &c, err, sizeof(err)) == -1);
	CHECK(strstr(err, "kiln.json: examples[0]") != NULL);
	tap_put_file(dir, "bad/kiln.json", "{\"defaults\": {\"steps\": -3}}");
	CHECK(model_card_load(dir, "bad", &c, err, sizeof(err)) == -1);
	CHECK(strstr(err, "defaults.steps") != NULL);
	tap_put_file(dir, "bad/kiln.json", "[1, 2");
	CHECK(model_card_load(dir, "bad", &c, err, sizeof(err)) == -1);
	CHECK(strstr(err, "not a JSON object") != NULL);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	RUN(test_names);
	RUN(test_card);
	RUN(test_errors);
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return tap_done();
}
