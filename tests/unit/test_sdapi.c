/* test_sdapi.c - the AUTOMATIC1111 txt2img body turned into a kiln job
 * (sampler names and schedules, sizes, steps, cfg, seed, batch_size x
 * n_iter, the defaults, the fields kiln refuses), without a stack: the
 * handler file is included, as lighttpd's src/t/ tests do, so its static
 * functions are reached directly. The expected values are AUTOMATIC1111's
 * documented behaviour as the README states kiln follows it, and what
 * tests/integration/test_sdapi.py sees over HTTP; api_common.o,
 * api_jobs.o and api_images.o are linked for the handlers' other calls. */
#include "../../cgi-bin/api_sdapi.c"

#include "tap.h"

/* translate() of a txt2img (img2img 0) or img2img body, its JSON text:
 * the problems it counts, the kiln body in *out, the fields named in
 * *fields (both the caller's) and the ControlNet unit in *cn. */
static int
translated_as(const char *body, int img2img, json_object **out,
	json_object **fields, struct sdapi_cn *cn)
{
	json_object *in = json_tokener_parse(body);
	int bad;

	*out = NULL;
	*fields = json_object_new_object();
	if (in == NULL || *fields == NULL) {
		printf("# cannot parse %s\n", body);
		json_object_put(in);
		return -2;
	}
	bad = translate(in, img2img, *fields, out, cn);
	json_object_put(in);
	return bad;
}

static int
translated(const char *body, json_object **out, json_object **fields)
{
	struct sdapi_cn cn;

	return translated_as(body, 0, out, fields, &cn);
}

static void
done(json_object *out, json_object *fields)
{
	json_object_put(out);
	json_object_put(fields);
}

/* The string at key of o, or NULL when absent or not a string. */
static const char *
str_at(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The integer at key of o, or -999 when absent or not an integer. */
static long long
int_at(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return -999;
	return (long long)json_object_get_int64(v);
}

static int
has(json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

/* Whether the keys of o are exactly the NULL-terminated list. */
static int
keys_are(json_object *o, const char *const *want)
{
	size_t n = 0;

	for (; want[n] != NULL; n++)
		if (!has(o, want[n])) {
			printf("# no %s in %s\n", want[n],
			    json_object_to_json_string(o));
			return 0;
		}
	if ((size_t)json_object_object_length(o) != n) {
		printf("# %s has more than the %zu keys wanted\n",
		    json_object_to_json_string(o), n);
		return 0;
	}
	return 1;
}

/* body refused with exactly one problem, named field. */
static void
one_problem(const char *body, const char *field)
{
	const char *const want[] = { field, NULL };
	json_object *out, *fields;
	int bad = translated(body, &out, &fields);

	if (bad != 1 || !keys_are(fields, want))
		printf("# %s: %d problems, %s; want 1, %s\n", body, bad,
		    json_object_to_json_string(fields), field);
	CHECK(bad == 1);
	CHECK(keys_are(fields, want));
	done(out, fields);
}

/* body accepted, and its kiln sampler (NULL: none, the model's own). */
static void
sampler_is(const char *body, const char *want)
{
	json_object *out, *fields;
	int bad = translated(body, &out, &fields);

	if (bad != 0)
		printf("# %s: %s\n", body, json_object_to_json_string(fields));
	CHECK(bad == 0);
	CHECK_STR(str_at(out, "sampler"), want);
	done(out, fields);
}

/* What an AUTOMATIC1111 client sends, its "off" defaults included:
 * exactly the kiln job it describes, nothing of the rest. */
static void
a_clients_full_body_is_a_plain_job(void)
{
	static const char *const want[] = { "prompt", "negative_prompt",
		"seed", "sampler", "batch_count", "steps", "cfg_scale", "width",
		"height", "model", NULL };
	json_object *out, *fields;
	int bad = translated("{\"prompt\": \"two large yellow squares\","
	    " \"negative_prompt\": \"\", \"seed\": 1234, \"subseed\": -1,"
	    " \"subseed_strength\": 0, \"sampler_name\": \"Euler a\","
	    " \"scheduler\": \"Automatic\", \"batch_size\": 2, \"n_iter\": 1,"
	    " \"steps\": 6, \"cfg_scale\": 4, \"width\": 64, \"height\": 64,"
	    " \"restore_faces\": false, \"tiling\": false,"
	    " \"enable_hr\": false, \"denoising_strength\": 0.7,"
	    " \"styles\": [], \"script_args\": [], \"send_images\": true,"
	    " \"save_images\": false, \"override_settings\":"
	    " {\"sd_model_checkpoint\": \"kiln-micro\"},"
	    " \"override_settings_restore_afterwards\": true}", &out, &fields);

	CHECK(bad == 0);
	CHECK(json_object_object_length(fields) == 0);
	CHECK(keys_are(out, want));
	CHECK_STR(str_at(out, "prompt"), "two large yellow squares");
	CHECK_STR(str_at(out, "negative_prompt"), "");
	CHECK(int_at(out, "seed") == 1234);
	CHECK_STR(str_at(out, "sampler"), "euler_a");
	CHECK(int_at(out, "batch_count") == 2);
	CHECK(int_at(out, "steps") == 6);
	CHECK(int_at(out, "cfg_scale") == 4);
	CHECK(int_at(out, "width") == 64 && int_at(out, "height") == 64);
	CHECK_STR(str_at(out, "model"), "kiln-micro");
	done(out, fields);
}

static void
a1111_sampler_names_are_kilns_samplers(void)
{
	sampler_is("{\"sampler_name\": \"Euler\"}", "euler");
	sampler_is("{\"sampler_name\": \"Euler a\"}", "euler_a");
	sampler_is("{\"sampler_name\": \"Heun\"}", "heun");
	sampler_is("{\"sampler_name\": \"DDIM\"}", "ddim");
	sampler_is("{\"sampler_name\": \"DPM++ 2M\"}", "dpmpp_2m");
	sampler_is("{\"sampler_name\": \"LCM\"}", "lcm");
	sampler_is("{\"sampler_name\": \"Euler a\", \"scheduler\":"
	    " \"Automatic\"}", "euler_a");
}

static void
kilns_own_sampler_names_are_taken_too(void)
{
	sampler_is("{\"sampler_name\": \"heun\"}", "heun");
	sampler_is("{\"sampler_name\": \"euler_a\"}", "euler_a");
	sampler_is("{\"sampler_name\": \"dpmpp_2m_karras\"}",
	    "dpmpp_2m_karras");
}

/* The Karras schedule: named in the sampler (before AUTOMATIC1111 1.9)
 * or as scheduler "Karras" (since). */
static void
karras_is_the_name_or_the_scheduler(void)
{
	sampler_is("{\"sampler_name\": \"DPM++ 2M Karras\"}",
	    "dpmpp_2m_karras");
	sampler_is("{\"sampler_name\": \"DPM++ 2M\", \"scheduler\":"
	    " \"Karras\"}", "dpmpp_2m_karras");
	sampler_is("{\"scheduler\": \"Karras\", \"sampler_name\":"
	    " \"DPM++ 2M\"}", "dpmpp_2m_karras");
}

/* sampler_index is the older key for the same thing; sampler_name wins
 * when both come (AUTOMATIC1111: sampler_name or sampler_index). */
static void
sampler_index_is_the_older_key(void)
{
	sampler_is("{\"sampler_index\": \"DDIM\"}", "ddim");
	sampler_is("{\"sampler_name\": \"Heun\", \"sampler_index\":"
	    " \"DDIM\"}", "heun");
	sampler_is("{\"sampler_index\": \"DDIM\", \"sampler_name\":"
	    " \"Heun\"}", "heun");
}

static void
no_sampler_leaves_the_models_own(void)
{
	sampler_is("{\"prompt\": \"x\"}", NULL);
	sampler_is("{\"prompt\": \"x\", \"scheduler\": \"Automatic\"}", NULL);
	sampler_is("{\"prompt\": \"x\", \"sampler_name\": null,"
	    " \"scheduler\": null}", NULL);
}

static void
an_unknown_sampler_is_named_by_its_key(void)
{
	one_problem("{\"sampler_name\": \"Euler x\"}", "sampler_name");
	one_problem("{\"sampler_index\": \"Nope\"}", "sampler_index");
	one_problem("{\"sampler_name\": 5}", "sampler_name");
}

static void
a_schedule_kiln_lacks_is_named_scheduler(void)
{
	one_problem("{\"sampler_name\": \"Euler\", \"scheduler\":"
	    " \"Exponential\"}", "scheduler");
	/* Karras exists only for DPM++ 2M, and needs it named. */
	one_problem("{\"sampler_name\": \"Euler\", \"scheduler\":"
	    " \"Karras\"}", "scheduler");
	one_problem("{\"scheduler\": \"Karras\"}", "scheduler");
	one_problem("{\"scheduler\": 1}", "scheduler");
}

/* batch_size images n_iter times: one kiln job of the product, at most
 * 8 (README); 1 x 1 is kiln's default and is left out. */
static void
batch_size_times_n_iter_is_the_batch_count(void)
{
	static const struct {
		const char *body;
		long long want;
	} cases[] = {
		{ "{\"batch_size\": 2, \"n_iter\": 1}", 2 },
		{ "{\"batch_size\": 2, \"n_iter\": 3}", 6 },
		{ "{\"n_iter\": 3}", 3 },
		{ "{\"batch_size\": 8}", 8 },
		{ "{\"batch_size\": 1, \"n_iter\": 8}", 8 },
		{ "{\"batch_size\": 4, \"n_iter\": 2}", 8 },
		{ "{\"batch_size\": 1, \"n_iter\": 1}", -999 },
		{ "{\"batch_size\": null, \"n_iter\": null}", -999 },
	};
	json_object *out, *fields;
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		CHECK(translated(cases[i].body, &out, &fields) == 0);
		if (int_at(out, "batch_count") != cases[i].want)
			printf("# %s: batch_count %lld, want %lld\n",
			    cases[i].body, int_at(out, "batch_count"),
			    cases[i].want);
		CHECK(int_at(out, "batch_count") == cases[i].want);
		CHECK(!has(out, "batch_size") && !has(out, "n_iter"));
		done(out, fields);
	}
}

static void
a_batch_kiln_cannot_make_is_named(void)
{
	one_problem("{\"batch_size\": 4, \"n_iter\": 3}", "batch_size");
	one_problem("{\"batch_size\": 3, \"n_iter\": 3}", "batch_size");
	one_problem("{\"batch_size\": 9}", "batch_size");
	one_problem("{\"batch_size\": 0}", "batch_size");
	one_problem("{\"batch_size\": 2.5}", "batch_size");
	one_problem("{\"n_iter\": \"2\"}", "n_iter");
	one_problem("{\"n_iter\": 0}", "n_iter");
}

/* seed -1 (or null) asks for a random one: kiln's default, so no seed. */
static void
seed_minus_one_draws_one(void)
{
	json_object *out, *fields;

	CHECK(translated("{\"seed\": -1}", &out, &fields) == 0);
	CHECK(!has(out, "seed"));
	done(out, fields);
	CHECK(translated("{\"seed\": null}", &out, &fields) == 0);
	CHECK(!has(out, "seed"));
	done(out, fields);
	CHECK(translated("{\"seed\": 0}", &out, &fields) == 0);
	CHECK(int_at(out, "seed") == 0);
	done(out, fields);
	CHECK(translated("{\"seed\": 4294967295}", &out, &fields) == 0);
	CHECK(int_at(out, "seed") == 4294967295LL);
	done(out, fields);
}

/* AUTOMATIC1111 takes 512.0 for an int field; kiln's API wants an
 * integer, so a whole float becomes one. Anything else goes on as sent,
 * for kiln's own checks to name. */
static void
size_steps_and_cfg_go_on_as_numbers(void)
{
	json_object *out, *fields, *v;

	CHECK(translated("{\"width\": 512.0, \"height\": 320.0,"
	    " \"steps\": 20.0, \"cfg_scale\": 7.5}", &out, &fields) == 0);
	CHECK(int_at(out, "width") == 512);
	CHECK(int_at(out, "height") == 320);
	CHECK(int_at(out, "steps") == 20);
	CHECK(json_object_object_get_ex(out, "cfg_scale", &v) &&
	    json_object_is_type(v, json_type_double) &&
	    json_object_get_double(v) == 7.5);
	done(out, fields);
	CHECK(translated("{\"width\": 10, \"steps\": 0, \"cfg_scale\":"
	    " \"high\"}", &out, &fields) == 0);
	CHECK(int_at(out, "width") == 10);
	CHECK(int_at(out, "steps") == 0);
	CHECK_STR(str_at(out, "cfg_scale"), "high");
	done(out, fields);
	CHECK(translated("{\"height\": 64.5}", &out, &fields) == 0);
	CHECK(json_object_object_get_ex(out, "height", &v) &&
	    json_object_is_type(v, json_type_double));
	done(out, fields);
}

/* Every AUTOMATIC1111 field is optional: null is its default, and no
 * prompt is an empty one, which kiln then refuses under "prompt". */
static void
null_and_absent_fields_are_the_defaults(void)
{
	static const char *const just_prompt[] = { "prompt", NULL };
	json_object *out, *fields;

	CHECK(translated("{}", &out, &fields) == 0);
	CHECK(keys_are(out, just_prompt));
	CHECK_STR(str_at(out, "prompt"), "");
	done(out, fields);
	CHECK(translated("{\"prompt\": null, \"negative_prompt\": null,"
	    " \"width\": null, \"height\": null, \"steps\": null,"
	    " \"cfg_scale\": null, \"seed\": null, \"sampler_name\": null,"
	    " \"sampler_index\": null, \"scheduler\": null,"
	    " \"batch_size\": null, \"n_iter\": null,"
	    " \"override_settings\": null, \"enable_hr\": null}", &out,
	    &fields) == 0);
	CHECK(keys_are(out, just_prompt));
	CHECK_STR(str_at(out, "prompt"), "");
	done(out, fields);
}

/* Fields that switch on what kiln cannot do: accepted at the value that
 * means off, never passed on; any other value is named. Fields that
 * change nothing kiln makes are taken at any value. */
static void
unsupported_fields_are_taken_only_off(void)
{
	static const char *const off[] = {
		"{\"enable_hr\": false}", "{\"restore_faces\": false}",
		"{\"tiling\": false}", "{\"styles\": []}",
		"{\"script_name\": \"\"}", "{\"script_args\": []}",
		"{\"alwayson_scripts\": {}}", "{\"subseed_strength\": 0}",
		"{\"subseed\": 77}", "{\"seed_resize_from_h\": -1}",
		"{\"seed_resize_from_w\": 0}", "{\"denoising_strength\": 0.7}",
		"{\"hr_scale\": 2}", "{\"send_images\": true}",
		"{\"save_images\": false}",
		"{\"override_settings_restore_afterwards\": true}",
		"{\"refiner_checkpoint\": \"None\"}",
		/* webuiapi's defaults: no churn, whatever the rest says. */
		"{\"s_churn\": 0, \"s_tmax\": 0, \"s_tmin\": 0,"
		" \"s_noise\": 1, \"eta\": 1.0}",
		"{\"enable_hr\": false, \"hr_resize_x\": 1024,"
		" \"hr_sampler_name\": \"Heun\"}",
		"{\"infotext\": null, \"firstpass_image\": null}",
		/* No unit, or webuiapi's placeholder for a script. */
		"{\"alwayson_scripts\": {\"controlnet\": {}}}",
		"{\"alwayson_scripts\": {\"ControlNet\": {\"args\": []}}}",
		"{\"alwayson_scripts\": {\"ADetailer\": {\"args\": []}}}",
		"{\"alwayson_scripts\": {\"controlnet\": {\"args\":"
		" [{\"enabled\": false, \"model\": \"x\"}, {}]}}}",
	};
	static const struct {
		const char *body, *field;
	} on[] = {
		{ "{\"restore_faces\": true}", "restore_faces" },
		{ "{\"s_churn\": 0.5}", "s_churn" },
		{ "{\"refiner_checkpoint\": \"refiner\"}",
		    "refiner_checkpoint" },
		{ "{\"infotext\": \"x\\nSteps: 2\"}", "infotext" },
		{ "{\"disable_extra_networks\": true}",
		    "disable_extra_networks" },
		{ "{\"tiling\": true}", "tiling" },
		{ "{\"styles\": [\"photo\"]}", "styles" },
		{ "{\"script_name\": \"x/y/z plot\"}", "script_name" },
		{ "{\"alwayson_scripts\": {\"ADetailer\": {\"args\":"
		    " [true]}}}", "alwayson_scripts.ADetailer" },
		{ "{\"init_images\": [\"AAAA\"]}", "init_images" },
		{ "{\"mask\": \"AAAA\"}", "mask" },
		{ "{\"subseed_strength\": 0.5}", "subseed_strength" },
		{ "{\"seed_resize_from_h\": 512}", "seed_resize_from_h" },
	};
	static const char *const just_prompt[] = { "prompt", NULL };
	json_object *out, *fields;
	size_t i;

	for (i = 0; i < ARRAY_LEN(off); i++) {
		if (translated(off[i], &out, &fields) != 0)
			printf("# %s refused: %s\n", off[i],
			    json_object_to_json_string(fields));
		CHECK(json_object_object_length(fields) == 0);
		CHECK(keys_are(out, just_prompt));
		done(out, fields);
	}
	for (i = 0; i < ARRAY_LEN(on); i++)
		one_problem(on[i].body, on[i].field);
}

/* A1111's pydantic models ignore keys they do not know: so does kiln,
 * SillyTavern's url, auth and SD.Next's clip_skip among them. */
static void
unknown_fields_are_ignored(void)
{
	static const char *const just_prompt[] = { "prompt", NULL };
	json_object *out, *fields;

	CHECK(translated("{\"foo\": 1, \"url\": \"http://127.0.0.1:7860\","
	    " \"auth\": \"u:p\", \"clip_skip\": 1,"
	    " \"hr_additional_modules\": []}", &out, &fields) == 0);
	CHECK(json_object_object_length(fields) == 0);
	CHECK(keys_are(out, just_prompt));
	done(out, fields);
}

/* enable_hr is kiln's hires fix: hr_scale, denoising_strength (A1111's
 * default 0.75), hr_second_pass_steps (0: the same steps) and
 * hr_upscaler by A1111's names or kiln's. */
static void
enable_hr_is_the_hires_fix(void)
{
	static const struct {
		const char *up, *want;
	} ups[] = {
		{ "Latent", "latent" }, { "Latent (nearest)", "latent-nearest" },
		{ "Lanczos", "lanczos" }, { "None", "lanczos" },
		{ "R-ESRGAN 4x+", "RealESRGAN_x4plus" },
		{ "tiny-x4", "tiny-x4" },
	};
	json_object *out, *fields, *v;
	char body[256];
	size_t i;

	CHECK(translated("{\"enable_hr\": true}", &out, &fields) == 0);
	CHECK(json_object_object_get_ex(out, "hires_scale", &v) &&
	    json_object_get_double(v) == 2.0);
	CHECK(json_object_object_get_ex(out, "hires_strength", &v) &&
	    json_object_get_double(v) == 0.75);
	CHECK(!has(out, "hires_steps"));
	CHECK_STR(str_at(out, "hires_upscaler"), "latent");
	done(out, fields);
	/* webuiapi's defaults with the fix on. */
	CHECK(translated("{\"enable_hr\": true, \"hr_scale\": 1.5,"
	    " \"hr_upscaler\": \"Latent\", \"hr_second_pass_steps\": 4,"
	    " \"hr_resize_x\": 0, \"hr_resize_y\": 0,"
	    " \"hr_checkpoint_name\": null, \"hr_sampler_name\": null,"
	    " \"hr_scheduler\": null, \"hr_prompt\": \"\","
	    " \"hr_negative_prompt\": \"\", \"denoising_strength\": 0.5,"
	    " \"firstphase_width\": 0, \"firstphase_height\": 0}", &out,
	    &fields) == 0);
	CHECK(json_object_object_get_ex(out, "hires_scale", &v) &&
	    json_object_get_double(v) == 1.5);
	CHECK(json_object_object_get_ex(out, "hires_strength", &v) &&
	    json_object_get_double(v) == 0.5);
	CHECK(int_at(out, "hires_steps") == 4);
	done(out, fields);
	for (i = 0; i < ARRAY_LEN(ups); i++) {
		snprintf(body, sizeof(body), "{\"enable_hr\": true,"
		    " \"hr_upscaler\": \"%s\"}", ups[i].up);
		CHECK(translated(body, &out, &fields) == 0);
		CHECK_STR(str_at(out, "hires_upscaler"), ups[i].want);
		done(out, fields);
	}
	/* A second pass unlike the first, or sized by pixels. */
	one_problem("{\"enable_hr\": true, \"hr_resize_x\": 1024}",
	    "hr_resize_x");
	one_problem("{\"enable_hr\": true, \"hr_sampler_name\": \"Heun\","
	    " \"sampler_name\": \"Euler\"}", "hr_sampler_name");
	one_problem("{\"enable_hr\": true, \"hr_prompt\": \"other\","
	    " \"prompt\": \"x\"}", "hr_prompt");
	one_problem("{\"enable_hr\": true, \"firstphase_width\": 512}",
	    "firstphase_width");
	one_problem("{\"enable_hr\": true, \"hr_scale\": \"2\"}",
	    "hr_scale");
	/* The same as the first pass, said either way. */
	CHECK(translated("{\"enable_hr\": true, \"sampler_name\": \"Euler\","
	    " \"hr_sampler_name\": \"Euler\", \"prompt\": \"x\","
	    " \"hr_prompt\": \"x\", \"hr_checkpoint_name\":"
	    " \"Use same checkpoint\"}", &out, &fields) == 0);
	done(out, fields);
}

/* eta where the sampler reads it: Euler a at 1, DDIM at 0. */
static void
eta_only_where_a_sampler_reads_it(void)
{
	json_object *out, *fields;

	CHECK(translated("{\"sampler_name\": \"Euler a\", \"eta\": 1.0}",
	    &out, &fields) == 0);
	done(out, fields);
	CHECK(translated("{\"sampler_name\": \"Euler\", \"eta\": 0.3}",
	    &out, &fields) == 0);
	done(out, fields);
	CHECK(translated("{\"sampler_name\": \"DDIM\", \"eta\": 0}",
	    &out, &fields) == 0);
	done(out, fields);
	one_problem("{\"sampler_name\": \"DDIM\", \"eta\": 1.0}", "eta");
	one_problem("{\"sampler_name\": \"Euler a\", \"eta\": 0.5}", "eta");
}

/* A1111's scheduler names and labels, in any case: the ones that are
 * kiln's schedule. */
static void
scheduler_names_and_labels(void)
{
	sampler_is("{\"sampler_name\": \"DDIM\", \"scheduler\":"
	    " \"normal\"}", "ddim");
	sampler_is("{\"sampler_name\": \"Euler a\", \"scheduler\":"
	    " \"automatic\"}", "euler_a");
	sampler_is("{\"sampler_name\": \"Euler\", \"scheduler\":"
	    " \"Uniform\"}", "euler");
	sampler_is("{\"sampler_name\": \"DPM++ 2M\", \"scheduler\":"
	    " \"karras\"}", "dpmpp_2m_karras");
	one_problem("{\"sampler_name\": \"Euler\", \"scheduler\":"
	    " \"sgm_uniform\"}", "scheduler");
}

/* A1111 takes its LoRAs in the prompt: the tags go on to the kiln job
 * as typed (the job's checks find them there), and A1111 has no loras
 * field, so neither does its txt2img here. */
static void
lora_tags_stay_in_the_prompt(void)
{
	json_object *out, *fields;

	CHECK(translated("{\"prompt\": \"a fox <lora:style:0.8>, "
	    "(<lora:detail>:1.1)\"}", &out, &fields) == 0);
	CHECK_STR(str_at(out, "prompt"), "a fox <lora:style:0.8>, "
	    "(<lora:detail>:1.1)");
	CHECK(!has(out, "loras"));
	done(out, fields);
	CHECK(translated("{\"prompt\": \"x\", \"loras\": [{\"name\": \"a\"}]}",
	    &out, &fields) == 0);
	CHECK(!has(out, "loras"));
	done(out, fields);
}

/* override_settings picks the model (a title with .safetensors and a
 * hash too); settings whose value changes nothing kiln renders are
 * taken, others named. */
static void
override_settings_picks_only_the_model(void)
{
	json_object *out, *fields;

	CHECK(translated("{\"override_settings\": {\"sd_model_checkpoint\":"
	    " \"kiln-micro\"}}", &out, &fields) == 0);
	CHECK_STR(str_at(out, "model"), "kiln-micro");
	CHECK(!has(out, "override_settings"));
	done(out, fields);
	CHECK(translated("{\"override_settings\": {\"sd_model_checkpoint\":"
	    " \"kiln-micro.safetensors [0123456789]\","
	    " \"CLIP_stop_at_last_layers\": 1, \"sd_vae\": \"Automatic\","
	    " \"samples_format\": \"png\"}}", &out, &fields) == 0);
	CHECK_STR(str_at(out, "model"), "kiln-micro");
	done(out, fields);
	one_problem("{\"override_settings\": {\"CLIP_stop_at_last_layers\":"
	    " 2}}", "override_settings.CLIP_stop_at_last_layers");
	one_problem("{\"override_settings\": {\"sd_vae\":"
	    " \"vae-ft-mse.safetensors\"}}", "override_settings.sd_vae");
	one_problem("{\"override_settings\": []}", "override_settings");
	one_problem("{\"override_settings\": \"kiln-micro\"}",
	    "override_settings");
}

/* Every problem of the translation at once, each named. */
static void
every_problem_is_named_at_once(void)
{
	static const char *const want[] = { "tiling", "s_churn",
		"sampler_name", "n_iter", NULL };
	json_object *out, *fields;

	CHECK(translated("{\"prompt\": \"x\", \"tiling\": true, \"s_churn\":"
	    " 1, \"sampler_name\": \"Euler x\", \"n_iter\": 0}", &out,
	    &fields) == 4);
	CHECK(keys_are(fields, want));
	done(out, fields);
}

/* kiln's own checks name kiln's fields; the caller sent them under
 * AUTOMATIC1111's names, and hears those back. */
static void
kilns_field_names_are_reported_as_sent(void)
{
	static const char *const want[] = { "sampler_name", "batch_size",
		"override_settings.sd_model_checkpoint", "width", NULL };
	json_object *fields = json_object_new_object();

	field_error(fields, "sampler", "x");
	field_error(fields, "batch_count", "x");
	field_error(fields, "model", "x");
	field_error(fields, "width", "x");
	CHECK(keys_are(fields, want));
	json_object_put(fields);
}

/* The names the answer's info and GET /sdapi/v1/samplers give. */
static void
kiln_samplers_have_a1111_names(void)
{
	CHECK_STR(a1111_name("euler"), "Euler");
	CHECK_STR(a1111_name("euler_a"), "Euler a");
	CHECK_STR(a1111_name("heun"), "Heun");
	CHECK_STR(a1111_name("ddim"), "DDIM");
	CHECK_STR(a1111_name("dpmpp_2m"), "DPM++ 2M");
	CHECK_STR(a1111_name("lcm"), "LCM");
	/* A1111 1.9 on: the schedule is the scheduler's, not the name's. */
	CHECK_STR(a1111_name("dpmpp_2m_karras"), "DPM++ 2M");
}

/* An img2img body refused with exactly one problem, named field. */
static void
img2img_problem(const char *body, const char *field)
{
	json_object *out, *fields;
	struct sdapi_cn cn;
	int bad = translated_as(body, 1, &out, &fields, &cn);

	if (bad != 1 || json_object_object_length(fields) != 1 ||
	    !has(fields, field))
		printf("# %s: %d problems, %s (wanted %s)\n", body, bad,
		    json_object_to_json_string(fields), field);
	CHECK(bad == 1 && has(fields, field));
	done(out, fields);
}

/* webuiapi's img2img without a mask: the image is the job's init image,
 * denoising_strength and resize_mode go on, and the inpainting fields it
 * always sends are unread, as A1111 reads them only with a mask. */
static void
img2img_is_an_init_image_job(void)
{
	static const char *const want[] = { "prompt", "init_image",
		"denoising_strength", "resize_mode", "width", "height",
		"steps", "cfg_scale", "sampler", NULL };
	json_object *out, *fields;
	struct sdapi_cn cn;

	CHECK(translated_as("{\"init_images\": [\"data:image/png;base64,"
	    "AAAA\"], \"resize_mode\": 1, \"denoising_strength\": 0.5,"
	    " \"image_cfg_scale\": 1.5, \"mask_blur\": 4,"
	    " \"inpainting_fill\": 0, \"inpaint_full_res\": true,"
	    " \"inpaint_full_res_padding\": 0, \"inpainting_mask_invert\": 0,"
	    " \"initial_noise_multiplier\": 1, \"prompt\": \"p\","
	    " \"width\": 64, \"height\": 64, \"steps\": 6, \"cfg_scale\": 7.0,"
	    " \"sampler_name\": \"Euler a\", \"include_init_images\": false,"
	    " \"enable_hr\": true, \"firstpass_image\": \"x\","
	    " \"alwayson_scripts\": {}}", 1, &out, &fields, &cn) == 0);
	CHECK(json_object_object_length(fields) == 0);
	CHECK(keys_are(out, want));
	CHECK_STR(str_at(out, "init_image"), "data:image/png;base64,AAAA");
	CHECK(int_at(out, "resize_mode") == 1);
	CHECK(!cn.on);
	done(out, fields);
}

/* With a mask, A1111's processing defaults fill what is not sent:
 * mask_blur 4, fill 0, "only masked" with no padding, not inverted;
 * mask_blur_x and _y must agree. */
static void
img2img_mask_takes_a1111s_defaults(void)
{
	json_object *out, *fields;
	struct sdapi_cn cn;

	CHECK(translated_as("{\"init_images\": [\"AAAA\"], \"mask\":"
	    " \"BBBB\"}", 1, &out, &fields, &cn) == 0);
	CHECK_STR(str_at(out, "mask"), "BBBB");
	CHECK(int_at(out, "mask_blur") == 4);
	CHECK(int_at(out, "inpainting_fill") == 0);
	CHECK(int_at(out, "inpaint_full_res") == 1);
	CHECK(int_at(out, "inpaint_full_res_padding") == 0);
	CHECK(int_at(out, "inpainting_mask_invert") == 0);
	done(out, fields);
	CHECK(translated_as("{\"init_images\": [\"AAAA\"], \"mask\":"
	    " \"BBBB\", \"mask_blur_x\": 8, \"mask_blur_y\": 8,"
	    " \"inpainting_fill\": 2, \"inpainting_mask_invert\": 1}", 1,
	    &out, &fields, &cn) == 0);
	CHECK(int_at(out, "mask_blur") == 8);
	CHECK(int_at(out, "inpainting_fill") == 2);
	CHECK(int_at(out, "inpainting_mask_invert") == 1);
	done(out, fields);
	img2img_problem("{\"init_images\": [\"AAAA\"], \"mask\": \"BBBB\","
	    " \"mask_blur_x\": 8, \"mask_blur_y\": 2}", "mask_blur_x");
}

/* What img2img cannot be given: no image, several (kiln renders one),
 * a URL-less non-string, the latent upscale resize, a noise
 * multiplier. */
static void
img2img_refusals_name_the_field(void)
{
	img2img_problem("{\"prompt\": \"p\"}", "init_images");
	img2img_problem("{\"init_images\": []}", "init_images");
	img2img_problem("{\"init_images\": null}", "init_images");
	img2img_problem("{\"init_images\": [\"AAAA\", \"BBBB\"]}",
	    "init_images");
	img2img_problem("{\"init_images\": [7]}", "init_images");
	img2img_problem("{\"init_images\": [\"AAAA\"], \"resize_mode\": 3}",
	    "resize_mode");
	img2img_problem("{\"init_images\": [\"AAAA\"],"
	    " \"initial_noise_multiplier\": 0.9}", "initial_noise_multiplier");
	img2img_problem("{\"init_images\": [\"AAAA\"], \"latent_mask\":"
	    " \"CCCC\"}", "latent_mask");
}

/* webuiapi's ControlNetUnit.to_dict() (its defaults, a canny unit):
 * the job's ControlNet, thresholds as canny's, the rest taken. */
static void
controlnet_unit_is_the_jobs_controlnet(void)
{
	json_object *out, *fields, *v;
	struct sdapi_cn cn;

	CHECK(translated_as("{\"prompt\": \"p\", \"alwayson_scripts\":"
	    " {\"ControlNet\": {\"args\": [{\"image\": \"CCCC\", \"mask\":"
	    " null, \"module\": \"canny\", \"model\": \"kiln-micro-canny"
	    " [0123abcd]\", \"weight\": 0.8, \"resize_mode\": \"Resize and"
	    " Fill\", \"low_vram\": false, \"processor_res\": 512,"
	    " \"threshold_a\": 64, \"threshold_b\": 64.5,"
	    " \"guidance_start\": 0.1, \"guidance_end\": 0.9,"
	    " \"control_mode\": \"Balanced\", \"pixel_perfect\": false,"
	    " \"hr_option\": \"Both\", \"enabled\": true}]}}}", 0, &out,
	    &fields, &cn) == 0);
	if (json_object_object_length(fields) != 0)
		printf("# %s\n", json_object_to_json_string(fields));
	CHECK(cn.on && cn.resize == 2 && !cn.from_init && cn.hr_both);
	CHECK_STR(cn.prefix, "alwayson_scripts.ControlNet.args[0]");
	CHECK_STR(str_at(out, "controlnet_model"), "kiln-micro-canny");
	CHECK_STR(str_at(out, "control_image"), "CCCC");
	CHECK_STR(str_at(out, "controlnet_preprocessor"), "canny");
	CHECK(int_at(out, "controlnet_low_threshold") == 64);
	CHECK(int_at(out, "controlnet_high_threshold") == 64);
	CHECK(json_object_object_get_ex(out, "controlnet_weight", &v) &&
	    json_object_get_double(v) == 0.8);
	CHECK(json_object_object_get_ex(out, "controlnet_guidance_start", &v)
	    && json_object_get_double(v) == 0.1);
	CHECK(json_object_object_get_ex(out, "controlnet_guidance_end", &v)
	    && json_object_get_double(v) == 0.9);
	done(out, fields);
	/* -1 (the extension's "default") leaves canny's own 100/200. */
	CHECK(translated_as("{\"alwayson_scripts\": {\"controlnet\":"
	    " {\"args\": [{\"enabled\": true, \"input_image\": \"CCCC\","
	    " \"module\": \"canny\", \"model\": \"m\", \"threshold_a\": -1,"
	    " \"threshold_b\": -1}]}}}", 0, &out, &fields, &cn) == 0);
	CHECK(!has(out, "controlnet_low_threshold"));
	CHECK(!has(out, "controlnet_high_threshold"));
	CHECK(cn.resize == 1);		/* the extension's default */
	done(out, fields);
}

/* img2img's unit without an image guides with the init image, as the
 * extension does. */
static void
controlnet_unit_takes_img2imgs_image(void)
{
	json_object *out, *fields;
	struct sdapi_cn cn;

	CHECK(translated_as("{\"init_images\": [\"AAAA\"],"
	    " \"alwayson_scripts\": {\"controlnet\": {\"args\":"
	    " [{\"enabled\": true, \"image\": \"\", \"module\": \"none\","
	    " \"model\": \"m\"}]}}}", 1, &out, &fields, &cn) == 0);
	CHECK(cn.from_init);
	CHECK_STR(str_at(out, "control_image"), "AAAA");
	CHECK_STR(str_at(out, "controlnet_preprocessor"), "none");
	done(out, fields);
}

/* A unit kiln cannot run is named by the unit's own field. */
static void
controlnet_refusals_name_the_units_field(void)
{
#define UNIT(x) "{\"alwayson_scripts\": {\"controlnet\": {\"args\":" \
	" [{\"enabled\": true, \"image\": \"CCCC\", \"model\": \"m\"" x \
	"}]}}}"
	static const struct {
		const char *body, *field;
	} bad[] = {
		{ UNIT(", \"module\": \"depth_midas\""),
		  "alwayson_scripts.controlnet.args[0].module" },
		{ UNIT(", \"control_mode\": \"My prompt is more important\""),
		  "alwayson_scripts.controlnet.args[0].control_mode" },
		{ UNIT(", \"control_mode\": 2"),
		  "alwayson_scripts.controlnet.args[0].control_mode" },
		{ UNIT(", \"mask\": \"MMMM\""),
		  "alwayson_scripts.controlnet.args[0].mask" },
		{ UNIT(", \"resize_mode\": \"Stretch\""),
		  "alwayson_scripts.controlnet.args[0].resize_mode" },
		{ "{\"alwayson_scripts\": {\"controlnet\": {\"args\":"
		  " [{\"enabled\": true, \"image\": \"CCCC\", \"model\":"
		  " \"None\"}]}}}",
		  "alwayson_scripts.controlnet.args[0].model" },
		{ "{\"alwayson_scripts\": {\"controlnet\": {\"args\":"
		  " [{\"enabled\": true, \"model\": \"m\"}]}}}",
		  "alwayson_scripts.controlnet.args[0].image" },
		{ "{\"alwayson_scripts\": {\"controlnet\": {\"args\":"
		  " [{\"enabled\": true, \"image\": \"C\", \"model\": \"m\"},"
		  " {\"enabled\": true, \"image\": \"C\", \"model\": \"m\"}]}}}",
		  "alwayson_scripts.controlnet.args[1]" },
		{ "{\"alwayson_scripts\": {\"controlnet\": {\"args\": 7}}}",
		  "alwayson_scripts.controlnet.args" },
	};
#undef UNIT
	size_t i;

	for (i = 0; i < ARRAY_LEN(bad); i++)
		one_problem(bad[i].body, bad[i].field);
}

/* The job's own names for a unit's problems go back to the unit's. */
static void
controlnet_job_fields_are_renamed(void)
{
	struct sdapi_cn cn = { 1, 0, 0, 1, "alwayson_scripts.cn.args[2]" };
	json_object *f = json_object_new_object();

	json_object_object_add(f, "controlnet_model",
	    json_object_new_string("x"));
	json_object_object_add(f, "control_image",
	    json_object_new_string("y"));
	json_object_object_add(f, "width", json_object_new_string("z"));
	sdapi_cn_fields(&cn, f);
	CHECK(has(f, "alwayson_scripts.cn.args[2].model"));
	CHECK(has(f, "alwayson_scripts.cn.args[2].image"));
	CHECK(has(f, "width") && !has(f, "controlnet_model"));
	cn.from_init = 1;
	json_object_object_add(f, "control_image",
	    json_object_new_string("y"));
	sdapi_cn_fields(&cn, f);
	CHECK(has(f, "init_images"));
	json_object_put(f);
}

static void
extras_html_info_is_plaintext_to_html(void)
{
	char *h = plaintext_html("Postprocess upscale by: 4, Postprocess "
		"upscaler: R-ESRGAN 4x+");

	CHECK_STR(h, "<p>Postprocess upscale by: 4, Postprocess upscaler: "
		"R-ESRGAN 4x+</p>");
	free(h);
	/* html.escape(quote=True) on each line, joined by "<br>\n". */
	h = plaintext_html("a<b>&\"'\nc");
	CHECK_STR(h, "<p>a&lt;b&gt;&amp;&quot;&#x27;<br>\nc</p>");
	free(h);
	h = plaintext_html("");
	CHECK_STR(h, "<p></p>");
	free(h);
}

static void
extras_request_is_an_upscale_job(void)
{
	json_object *f = json_object_new_object(), *kb = NULL;
	json_object *b = json_tokener_parse("{\"resize_mode\": 1,"
		" \"upscaling_resize_w\": 300, \"upscaling_resize_h\": 200,"
		" \"upscaling_crop\": false, \"upscaler_1\": \"R-ESRGAN 4x+\","
		" \"upscaler_2\": \"None\", \"extras_upscaler_2_visibility\":"
		" 0.5, \"show_extras_results\": true, \"whatever\": 1}");

	CHECK(extras_translate(b, f, &kb) == 0);
	CHECK_STR(str_at(kb, "kind"), "upscale");
	CHECK_STR(str_at(kb, "upscaler"), "RealESRGAN_x4plus");
	CHECK(int_at(kb, "width") == 300 && int_at(kb, "height") == 200);
	CHECK(has(kb, "upscale_crop") && !json_object_get_boolean(
	    json_object_object_get(kb, "upscale_crop")));
	CHECK(!has(kb, "upscale_by"));
	json_object_put(kb);
	json_object_put(b);
	/* What kiln cannot do, each named. */
	b = json_tokener_parse("{\"upscaler_2\": \"Lanczos\","
		" \"extras_upscaler_2_visibility\": 0.5,"
		" \"gfpgan_visibility\": 1, \"codeformer_visibility\": 0.2,"
		" \"resize_mode\": 3}");
	CHECK(extras_translate(b, f, &kb) == 4);
	CHECK(has(f, "extras_upscaler_2_visibility"));
	CHECK(has(f, "gfpgan_visibility") && has(f, "codeformer_visibility"));
	CHECK(has(f, "resize_mode"));
	json_object_put(kb);
	json_object_put(b);
	json_object_put(f);
}

int
main(void)
{
	RUN(a_clients_full_body_is_a_plain_job);
	RUN(a1111_sampler_names_are_kilns_samplers);
	RUN(kilns_own_sampler_names_are_taken_too);
	RUN(karras_is_the_name_or_the_scheduler);
	RUN(sampler_index_is_the_older_key);
	RUN(no_sampler_leaves_the_models_own);
	RUN(an_unknown_sampler_is_named_by_its_key);
	RUN(a_schedule_kiln_lacks_is_named_scheduler);
	RUN(batch_size_times_n_iter_is_the_batch_count);
	RUN(a_batch_kiln_cannot_make_is_named);
	RUN(seed_minus_one_draws_one);
	RUN(size_steps_and_cfg_go_on_as_numbers);
	RUN(null_and_absent_fields_are_the_defaults);
	RUN(unsupported_fields_are_taken_only_off);
	RUN(unknown_fields_are_ignored);
	RUN(enable_hr_is_the_hires_fix);
	RUN(eta_only_where_a_sampler_reads_it);
	RUN(scheduler_names_and_labels);
	RUN(override_settings_picks_only_the_model);
	RUN(lora_tags_stay_in_the_prompt);
	RUN(every_problem_is_named_at_once);
	RUN(kilns_field_names_are_reported_as_sent);
	RUN(kiln_samplers_have_a1111_names);
	RUN(img2img_is_an_init_image_job);
	RUN(img2img_mask_takes_a1111s_defaults);
	RUN(img2img_refusals_name_the_field);
	RUN(controlnet_unit_is_the_jobs_controlnet);
	RUN(controlnet_unit_takes_img2imgs_image);
	RUN(controlnet_refusals_name_the_units_field);
	RUN(extras_html_info_is_plaintext_to_html);
	RUN(extras_request_is_an_upscale_job);
	RUN(controlnet_job_fields_are_renamed);
	return tap_done();
}
