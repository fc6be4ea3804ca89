/* test_projects.c - projects' pure rules (projects.h): which shot names
 * and texts are taken, the access names, and which fields of a manifest
 * a render takes. */
#include "projects.h"
#include "tap.h"

#include <json-c/json.h>
#include <string.h>

static void
test_shot_names_are_path_safe_slugs(void)
{
	static const char *const good[] = { "hero", "a", "0", "shot-2",
		"pack_shot", NULL };
	static const char *const bad[] = { "", "Hero", "-a", "_a", "a b",
		"a/b", "..", "a.b", "\xc3\xa9", "a%2f", NULL };
	char longest[SHOT_NAME_MAX + 2];
	size_t i;

	for (i = 0; good[i] != NULL; i++)
		if (!shot_name_valid(good[i])) {
			printf("# refused %s\n", good[i]);
			CHECK(0);
		}
	for (i = 0; bad[i] != NULL; i++)
		if (shot_name_valid(bad[i])) {
			printf("# took %s\n", bad[i]);
			CHECK(0);
		}
	memset(longest, 'a', SHOT_NAME_MAX);
	longest[SHOT_NAME_MAX] = '\0';
	CHECK(shot_name_valid(longest));
	strcat(longest, "a");
	CHECK(!shot_name_valid(longest));
}

static void
test_texts_take_lines_but_no_other_control_characters(void)
{
	CHECK(project_text_valid("", 10));
	CHECK(project_text_valid("two\nlines\tand \xe6\x97\xa5", 100));
	CHECK(!project_text_valid("bell\a", 100));
	CHECK(!project_text_valid("\xff", 100));
	CHECK(!project_text_valid("\xc2\x85", 100));	/* C1 control */
	CHECK(project_text_valid("12345", 5));
	CHECK(!project_text_valid("123456", 5));
}

static void
test_access_names(void)
{
	CHECK_STR(project_access_name(PROJECT_READ), "read");
	CHECK_STR(project_access_name(PROJECT_WRITE), "write");
	CHECK_STR(project_access_name(PROJECT_MANAGE), "manage");
	CHECK_STR(project_access_name(PROJECT_NONE), "");
}

static void
test_a_render_takes_the_top_level_job_fields_only(void)
{
	json_object *m = json_tokener_parse("{\"prompt\":\"a mug\","
		"\"seed\":7,\"width\":64,\"camera\":{\"lens_mm\":85},"
		"\"negative_prompt\":\"blur\",\"model\":\"kiln-micro\","
		"\"steps\":2,\"height\":64,\"cfg_scale\":5.5,"
		"\"sampler\":\"euler\",\"team_id\":3,\"batch_count\":4}");
	json_object *b = project_render_body(m), *none;

	CHECK(b != NULL);
	if (b != NULL)
		CHECK_STR(json_object_to_json_string_ext(b,
		    JSON_C_TO_STRING_PLAIN), "{\"prompt\":\"a mug\","
		    "\"negative_prompt\":\"blur\",\"model\":\"kiln-micro\","
		    "\"width\":64,\"height\":64,\"steps\":2,\"cfg_scale\":5.5,"
		    "\"sampler\":\"euler\",\"seed\":7}");
	json_object_put(b);
	json_object_put(m);
	/* No prompt, or one that is not text: nothing to render. */
	m = json_tokener_parse("{\"subject\":\"a mug\",\"seed\":1}");
	none = project_render_body(m);
	CHECK(none == NULL);
	json_object_put(m);
	m = json_tokener_parse("{\"prompt\":[\"a mug\"]}");
	none = project_render_body(m);
	CHECK(none == NULL);
	json_object_put(m);
}

int
main(void)
{
	RUN(test_shot_names_are_path_safe_slugs);
	RUN(test_texts_take_lines_but_no_other_control_characters);
	RUN(test_access_names);
	RUN(test_a_render_takes_the_top_level_job_fields_only);
	return tap_done();
}
