/* fuzz_comfy.c - libFuzzer harness: any text read as a ComfyUI workflow
 * gives a job (an object with a prompt and a model, or an upscale job
 * with its upscaler and image) or one refusal with
 * a type and message, and ComfyUI's error JSON of it; never a crash, an
 * overrun or a leak. */
#include "comfy.h"
#include "fuzz.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

static int
scale(void *arg, const char *name)
{
	(void)arg;
	return name[0] == 'x' ? 4 : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct comfy_env env = { scale, NULL };
	struct comfy_plan p;
	struct comfy_error e;
	json_tokener *tok = json_tokener_new();
	json_object *g, *v;
	int rc;

	if (tok == NULL)
		return 0;
	g = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	json_tokener_free(tok);
	if (g == NULL)
		return 0;
	rc = comfy_translate(g, &env, &p, &e);
	CHECK(rc == 0 || rc == 1);
	if (rc == 0 && json_object_object_get_ex(p.job, "kind", &v)) {
		/* An upscale job: its upscaler and image, no diffusion. */
		CHECK(!strcmp(json_object_get_string(v), "upscale"));
		CHECK(json_object_object_get_ex(p.job, "upscaler", &v));
		CHECK(p.image[COMFY_IMG_INIT] != NULL);
		CHECK(!json_object_object_get_ex(p.job, "prompt", &v));
		CHECK(p.noutputs >= 1 && p.noutputs <= COMFY_MAX_OUTPUTS);
	} else if (rc == 0) {
		CHECK(json_object_object_get_ex(p.job, "prompt", &v));
		CHECK(json_object_object_get_ex(p.job, "model", &v));
		CHECK(p.noutputs >= 1 && p.noutputs <= COMFY_MAX_OUTPUTS);
	} else {
		json_object *o = comfy_error_json(&e, 1, &p);

		CHECK(e.type[0] != '\0' && e.message[0] != '\0');
		CHECK(o != NULL && json_object_object_get_ex(o, "error", &v));
		json_object_put(o);
	}
	comfy_plan_free(&p);
	json_object_put(g);
	return 0;
}
