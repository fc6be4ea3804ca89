/* test_comfy.c - ComfyUI workflows read as kiln jobs (comfy.c): the
 * default workflow of ComfyUI's basic_api_example.py, img2img with
 * ComfyUI's step count, a LoRA loader's two strengths, the latent hires
 * fix, samplers and schedulers, and refusals naming the node and input
 * in ComfyUI's terms. */
#include "comfy.h"
#include "tap.h"

#include <json-c/json.h>
#include <string.h>

/* basic_api_example.py's workflow (its seed and text as it sets them). */
static const char *basic = "{"
	"\"3\": {\"class_type\": \"KSampler\", \"inputs\": {\"cfg\": 8,"
	" \"denoise\": 1, \"latent_image\": [\"5\", 0], \"model\": [\"4\", 0],"
	" \"negative\": [\"7\", 0], \"positive\": [\"6\", 0],"
	" \"sampler_name\": \"euler\", \"scheduler\": \"normal\","
	" \"seed\": 5, \"steps\": 20}},"
	"\"4\": {\"class_type\": \"CheckpointLoaderSimple\", \"inputs\":"
	" {\"ckpt_name\": \"v1-5-pruned-emaonly.safetensors\"}},"
	"\"5\": {\"class_type\": \"EmptyLatentImage\", \"inputs\":"
	" {\"batch_size\": 1, \"height\": 512, \"width\": 512}},"
	"\"6\": {\"class_type\": \"CLIPTextEncode\", \"inputs\": {\"clip\":"
	" [\"4\", 1], \"text\": \"masterpiece best quality man\"}},"
	"\"7\": {\"class_type\": \"CLIPTextEncode\", \"inputs\": {\"clip\":"
	" [\"4\", 1], \"text\": \"bad hands\"}},"
	"\"8\": {\"class_type\": \"VAEDecode\", \"inputs\": {\"samples\":"
	" [\"3\", 0], \"vae\": [\"4\", 2]}},"
	"\"9\": {\"class_type\": \"SaveImage\", \"inputs\":"
	" {\"filename_prefix\": \"ComfyUI\", \"images\": [\"8\", 0]}}}";

static struct comfy_plan plan;
static struct comfy_error err;

static int
scale2(void *arg, const char *name)
{
	(void)arg;
	return !strcmp(name, "x2") ? 2 : 0;
}

static int
translate(json_object *g)
{
	struct comfy_env env = { scale2, NULL };

	comfy_plan_free(&plan);
	return comfy_translate(g, &env, &plan, &err);
}

static json_object *
base(void)
{
	return json_tokener_parse(basic);
}

static json_object *
in(json_object *g, const char *node)
{
	json_object *n, *i;

	json_object_object_get_ex(g, node, &n);
	json_object_object_get_ex(n, "inputs", &i);
	return i;
}

static const char *
job_str(const char *k)
{
	json_object *v;

	return json_object_object_get_ex(plan.job, k, &v) ?
		json_object_get_string(v) : NULL;
}

static void
basic_workflow_is_one_txt2img_job(void)
{
	json_object *g = base();

	CHECK(translate(g) == 0);
	CHECK_STR(json_object_to_json_string_ext(plan.job,
		JSON_C_TO_STRING_PLAIN), "{\"model\":\"v1-5-pruned-emaonly\","
		"\"prompt\":\"masterpiece best quality man\",\"negative_prompt\":"
		"\"bad hands\",\"seed\":5,\"cfg_scale\":8,\"sampler\":\"euler\","
		"\"width\":512,\"height\":512,\"steps\":20}");
	CHECK(plan.noutputs == 1 && !strcmp(plan.outputs[0], "9"));
	CHECK(comfy_origin_of(&plan, "width") != NULL &&
	    !strcmp(comfy_origin_of(&plan, "width")->node, "5"));
	json_object_put(g);
}

static void
img2img_takes_comfyuis_steps(void)
{
	json_object *g = base(), *n;

	n = json_tokener_parse("{\"class_type\": \"LoadImage\", \"inputs\":"
		" {\"image\": \"a.png [input]\"}}");
	json_object_object_add(g, "10", n);
	n = json_tokener_parse("{\"class_type\": \"VAEEncode\", \"inputs\":"
		" {\"pixels\": [\"10\", 0], \"vae\": [\"4\", 2]}}");
	json_object_object_add(g, "11", n);
	json_object_object_del(g, "5");
	json_object_object_add(in(g, "3"), "latent_image",
		json_tokener_parse("[\"11\", 0]"));
	json_object_object_add(in(g, "3"), "denoise",
		json_object_new_double(0.6));
	CHECK(translate(g) == 0);
	/* ComfyUI samples the last 20 of int(20 / 0.6) = 33 steps; kiln
	 * int(steps x 0.6): 34 is the least that gives 20. */
	CHECK_STR(job_str("steps"), "34");
	CHECK_STR(job_str("denoising_strength"), "0.6");
	CHECK(job_str("width") == NULL);
	CHECK_STR(plan.image[COMFY_IMG_INIT], "a.png [input]");
	json_object_put(g);
}

static void
lora_loader_gives_both_strengths(void)
{
	json_object *g = base();

	json_object_object_add(g, "12", json_tokener_parse("{\"class_type\":"
		" \"LoraLoader\", \"inputs\": {\"model\": [\"4\", 0], \"clip\":"
		" [\"4\", 1], \"lora_name\": \"style.safetensors\","
		" \"strength_model\": 0.7, \"strength_clip\": 0.5}}"));
	json_object_object_add(in(g, "3"), "model",
		json_tokener_parse("[\"12\", 0]"));
	json_object_object_add(in(g, "6"), "clip",
		json_tokener_parse("[\"12\", 1]"));
	/* The negative must see the same LoRAs. */
	CHECK(translate(g) == 1);
	CHECK_STR(err.node, "7");
	CHECK_STR(err.input, "clip");
	json_object_object_add(in(g, "7"), "clip",
		json_tokener_parse("[\"12\", 1]"));
	CHECK(translate(g) == 0);
	CHECK_STR(job_str("loras"), "[ { \"name\": \"style\", \"weight\": "
		"0.5, \"unet_weight\": 0.7 } ]");
	json_object_put(g);
}

static void
latent_upscale_between_samplers_is_the_hires_fix(void)
{
	json_object *g = base();

	json_object_object_add(g, "20", json_tokener_parse("{\"class_type\":"
		" \"LatentUpscaleBy\", \"inputs\": {\"samples\": [\"3\", 0],"
		" \"upscale_method\": \"nearest-exact\", \"scale_by\": 1.5}}"));
	json_object_object_add(g, "21", json_tokener_parse("{\"class_type\":"
		" \"KSampler\", \"inputs\": {\"cfg\": 8, \"denoise\": 0.5,"
		" \"latent_image\": [\"20\", 0], \"model\": [\"4\", 0],"
		" \"negative\": [\"7\", 0], \"positive\": [\"6\", 0],"
		" \"sampler_name\": \"euler\", \"scheduler\": \"normal\","
		" \"seed\": 5, \"steps\": 10}}"));
	json_object_object_add(in(g, "8"), "samples",
		json_tokener_parse("[\"21\", 0]"));
	CHECK(translate(g) == 0);
	CHECK_STR(job_str("hires_scale"), "1.5");
	CHECK_STR(job_str("hires_strength"), "0.5");
	CHECK_STR(job_str("hires_steps"), "20");
	CHECK_STR(job_str("hires_upscaler"), "latent-nearest");
	CHECK_STR(job_str("steps"), "20");
	/* A second pass of another seed is not kiln's hires fix. */
	json_object_object_add(in(g, "21"), "seed", json_object_new_int(6));
	CHECK(translate(g) == 1);
	CHECK_STR(err.node, "21");
	json_object_put(g);
}

static const char *upscale_only = "{"
	"\"1\": {\"class_type\": \"LoadImage\", \"inputs\": {\"image\":"
	" \"a.png\"}},"
	"\"2\": {\"class_type\": \"UpscaleModelLoader\", \"inputs\":"
	" {\"model_name\": \"x2.safetensors\"}},"
	"\"3\": {\"class_type\": \"ImageUpscaleWithModel\", \"inputs\":"
	" {\"upscale_model\": [\"2\", 0], \"image\": [\"1\", 0]}},"
	"\"4\": {\"class_type\": \"ImageScaleBy\", \"inputs\": {\"image\":"
	" [\"3\", 0], \"upscale_method\": \"lanczos\", \"scale_by\": 1.5}},"
	"\"9\": {\"class_type\": \"SaveImage\", \"inputs\":"
	" {\"filename_prefix\": \"u\", \"images\": [\"4\", 0]}}}";

static void
upscale_with_no_sampler_is_an_upscale_job(void)
{
	json_object *g = json_tokener_parse(upscale_only);

	CHECK(translate(g) == 0);
	CHECK_STR(job_str("kind"), "upscale");
	CHECK_STR(job_str("upscaler"), "x2");
	CHECK_STR(job_str("upscale_by"), "3");
	CHECK_STR(plan.image[COMFY_IMG_INIT], "a.png");
	CHECK(job_str("prompt") == NULL && job_str("steps") == NULL);
	/* kiln's refusal of the factor names ImageScaleBy's scale_by. */
	CHECK(comfy_origin_of(&plan, "upscale_by") != NULL &&
	    !strcmp(comfy_origin_of(&plan, "upscale_by")->node, "4"));
	/* Without ImageScaleBy: the model's own scale. */
	json_object_object_add(in(g, "9"), "images",
		json_tokener_parse("[\"3\", 0]"));
	CHECK(translate(g) == 0);
	CHECK_STR(job_str("upscale_by"), "2");
	/* An upscaler kiln lacks names its loader. */
	json_object_object_add(in(g, "2"), "model_name",
		json_object_new_string("x9.safetensors"));
	CHECK(translate(g) == 1);
	CHECK_STR(err.node, "2");
	json_object_put(g);
}

static void
samplers_and_schedulers(void)
{
	CHECK_STR(comfy_sampler("euler_ancestral", "normal"), "euler_a");
	CHECK_STR(comfy_sampler("dpmpp_2m", "karras"), "dpmpp_2m_karras");
	CHECK(comfy_sampler("euler", "karras") == NULL);
	CHECK(comfy_sampler("uni_pc", "normal") == NULL);
}

static void
refusals_name_node_and_input(void)
{
	json_object *g = base(), *o, *ne, *v;

	json_object_object_add(in(g, "3"), "scheduler",
		json_object_new_string("exponential"));
	CHECK(translate(g) == 1);
	CHECK_STR(err.node, "3");
	CHECK_STR(err.class_type, "KSampler");
	CHECK_STR(err.input, "scheduler");
	CHECK_STR(err.type, "value_not_in_list");
	o = comfy_error_json(&err, 1, &plan);
	CHECK(json_object_object_get_ex(o, "node_errors", &ne) &&
	    json_object_object_get_ex(ne, "3", &v));
	CHECK(json_object_object_get_ex(o, "error", &v) &&
	    json_object_object_get_ex(v, "extra_info", &v));
	json_object_put(o);
	json_object_put(g);
	g = base();
	json_object_object_add(g, "8", json_tokener_parse("{\"class_type\":"
		" \"VAEDecodeTiled\", \"inputs\": {}}"));
	CHECK(translate(g) == 1);
	CHECK_STR(err.type, "invalid_prompt");
	CHECK_STR(err.details, "Node ID '#8'");
	CHECK(strstr(err.message, "VAEDecodeTiled") != NULL);
	json_object_object_del(in(g, "9"), "images");
	json_object_put(g);
	g = base();
	json_object_object_del(g, "9");
	CHECK(translate(g) == 1);
	CHECK_STR(err.type, "prompt_no_outputs");
	json_object_put(g);
	g = base();
	json_object_object_del(in(g, "3"), "steps");
	CHECK(translate(g) == 1);
	CHECK_STR(err.type, "required_input_missing");
	CHECK_STR(err.input, "steps");
	json_object_put(g);
}

static void
object_info_shapes(void)
{
	static const char *const ck[] = { "kiln-micro" };
	struct comfy_lists l = { ck, NULL, NULL, NULL, NULL, 1, 0, 0, 0, 0 };
	json_object *o = comfy_node_info("CheckpointLoaderSimple", &l);

	CHECK_STR(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
		"{\"input\":{\"required\":{\"ckpt_name\":[[\"kiln-micro\"]]}},"
		"\"input_order\":{\"required\":[\"ckpt_name\"]},\"output\":"
		"[\"MODEL\",\"CLIP\",\"VAE\"],\"output_is_list\":[false,false,"
		"false],\"output_name\":[\"MODEL\",\"CLIP\",\"VAE\"],\"name\":"
		"\"CheckpointLoaderSimple\",\"display_name\":\"Load Checkpoint\","
		"\"description\":\"A model of kiln's [paths] models.\","
		"\"python_module\":\"nodes\",\"category\":\"loaders\","
		"\"output_node\":false}");
	json_object_put(o);
	CHECK(comfy_node_info("VAEDecodeTiled", &l) == NULL);
}

int
main(void)
{
	RUN(basic_workflow_is_one_txt2img_job);
	RUN(img2img_takes_comfyuis_steps);
	RUN(lora_loader_gives_both_strengths);
	RUN(latent_upscale_between_samplers_is_the_hires_fix);
	RUN(upscale_with_no_sampler_is_an_upscale_job);
	RUN(samplers_and_schedulers);
	RUN(refusals_name_node_and_input);
	RUN(object_info_shapes);
	comfy_plan_free(&plan);
	return tap_done();
}
