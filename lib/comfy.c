/* comfy.c - ComfyUI API-format workflows read as one kiln job (see
 * comfy.h): the node table (what object_info shows and the walk takes),
 * the walk back from the output nodes, ComfyUI's error shape. */
#include "comfy.h"
#include "util.h"

#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ComfyUI's MAX_RESOLUTION, the bound of its size inputs. */
#define MAX_RES 16384

/* Where a combo input's choices come from. */
enum src { S_NONE, S_CKPT, S_LORA, S_CN, S_UPSCALER, S_IMAGES, S_FIXED };

struct cin {
	const char *name;
	const char *type;	/* INT FLOAT STRING BOOLEAN COMBO, or a
				 * link type: MODEL CLIP VAE ... */
	double def, min, max, step;
	enum src src;
	const char *const *choices;	/* S_FIXED */
	int optional;
	const char *sdef;	/* STRING/COMBO/BOOLEAN default ("true") */
};

struct cnode {
	const char *name, *display, *category, *description;
	struct cin in[14];
	const char *out[3], *outname[3];
	int output_node;
};

static const char *const sampler_names[] = { "euler", "euler_ancestral",
	"heun", "ddim", "dpmpp_2m", "lcm", NULL };
static const char *const schedulers[] = { "normal", "karras",
	"sgm_uniform", "ddim_uniform", NULL };
static const char *const enable[] = { "enable", "disable", NULL };
static const char *const disable[] = { "disable", "enable", NULL };
static const char *const latent_methods[] = { "nearest-exact", "bilinear",
	"area", "bicubic", "bislerp", NULL };
static const char *const image_methods[] = { "nearest-exact", "bilinear",
	"area", "bicubic", "lanczos", NULL };
static const char *const crops[] = { "disabled", "center", NULL };
static const char *const channels[] = { "alpha", "red", "green", "blue",
	NULL };

#define I_INT(n, d, lo, hi, st) { n, "INT", d, lo, hi, st, S_NONE, NULL, 0, \
	NULL }
#define I_FLOAT(n, d, lo, hi, st) { n, "FLOAT", d, lo, hi, st, S_NONE, NULL, \
	0, NULL }
#define I_LINK(n, t) { n, t, 0, 0, 0, 0, S_NONE, NULL, 0, NULL }
#define I_COMBO(n, s) { n, "COMBO", 0, 0, 0, 0, s, NULL, 0, NULL }
#define I_FIXED(n, c) { n, "COMBO", 0, 0, 0, 0, S_FIXED, c, 0, NULL }
#define I_SAMPLING I_INT("steps", 20, 1, 10000, 1), \
	I_FLOAT("cfg", 8.0, 0, 100, 0.1), I_FIXED("sampler_name", \
	sampler_names), I_FIXED("scheduler", schedulers)

/* The nodes kiln takes, with ComfyUI's INPUT_TYPES (nodes.py) as far as
 * object_info shows them; the choices are kiln's. */
static const struct cnode nodes[] = {
	{ "CheckpointLoaderSimple", "Load Checkpoint", "loaders",
	  "A model of kiln's [paths] models.",
	  { I_COMBO("ckpt_name", S_CKPT) },
	  { "MODEL", "CLIP", "VAE" }, { "MODEL", "CLIP", "VAE" }, 0 },
	{ "CLIPTextEncode", "CLIP Text Encode (Prompt)", "conditioning", "",
	  { { "text", "STRING", 0, 0, 0, 0, S_NONE, NULL, 0, "" },
	    I_LINK("clip", "CLIP") },
	  { "CONDITIONING" }, { "CONDITIONING" }, 0 },
	{ "EmptyLatentImage", "Empty Latent Image", "latent", "",
	  { I_INT("width", 512, 16, MAX_RES, 8),
	    I_INT("height", 512, 16, MAX_RES, 8),
	    I_INT("batch_size", 1, 1, 4096, 1) },
	  { "LATENT" }, { "LATENT" }, 0 },
	{ "KSampler", "KSampler", "sampling", "",
	  { I_LINK("model", "MODEL"),
	    I_INT("seed", 0, 0, 18446744073709551615.0, 1), I_SAMPLING,
	    I_LINK("positive", "CONDITIONING"),
	    I_LINK("negative", "CONDITIONING"),
	    I_LINK("latent_image", "LATENT"),
	    I_FLOAT("denoise", 1.0, 0, 1, 0.01) },
	  { "LATENT" }, { "LATENT" }, 0 },
	{ "KSamplerAdvanced", "KSampler (Advanced)", "sampling",
	  "Taken with add_noise enable, start_at_step 0, end_at_step at "
	  "least steps and no leftover noise: one whole sampling.",
	  { I_LINK("model", "MODEL"), I_FIXED("add_noise", enable),
	    I_INT("noise_seed", 0, 0, 18446744073709551615.0, 1), I_SAMPLING,
	    I_LINK("positive", "CONDITIONING"),
	    I_LINK("negative", "CONDITIONING"),
	    I_LINK("latent_image", "LATENT"),
	    I_INT("start_at_step", 0, 0, 10000, 1),
	    I_INT("end_at_step", 10000, 0, 10000, 1),
	    I_FIXED("return_with_leftover_noise", disable) },
	  { "LATENT" }, { "LATENT" }, 0 },
	{ "VAEDecode", "VAE Decode", "latent", "",
	  { I_LINK("samples", "LATENT"), I_LINK("vae", "VAE") },
	  { "IMAGE" }, { "IMAGE" }, 0 },
	{ "VAEEncode", "VAE Encode", "latent", "",
	  { I_LINK("pixels", "IMAGE"), I_LINK("vae", "VAE") },
	  { "LATENT" }, { "LATENT" }, 0 },
	{ "VAEEncodeForInpaint", "VAE Encode (for Inpainting)",
	  "latent/inpaint", "kiln inpaints the masked area from an empty "
	  "latent (A1111's latent nothing); grow_mask_by becomes the mask "
	  "blur.",
	  { I_LINK("pixels", "IMAGE"), I_LINK("vae", "VAE"),
	    I_LINK("mask", "MASK"), I_INT("grow_mask_by", 6, 0, 64, 1) },
	  { "LATENT" }, { "LATENT" }, 0 },
	{ "SetLatentNoiseMask", "Set Latent Noise Mask", "latent/inpaint",
	  "",
	  { I_LINK("samples", "LATENT"), I_LINK("mask", "MASK") },
	  { "LATENT" }, { "LATENT" }, 0 },
	{ "InpaintModelConditioning", "InpaintModelConditioning",
	  "conditioning/inpaint", "",
	  { I_LINK("positive", "CONDITIONING"),
	    I_LINK("negative", "CONDITIONING"), I_LINK("vae", "VAE"),
	    I_LINK("pixels", "IMAGE"), I_LINK("mask", "MASK"),
	    { "noise_mask", "BOOLEAN", 0, 0, 0, 0, S_NONE, NULL, 0,
	      "true" } },
	  { "CONDITIONING", "CONDITIONING", "LATENT" },
	  { "positive", "negative", "latent" }, 0 },
	{ "LoadImage", "Load Image", "image",
	  "An image sent to /upload/image. Its MASK output is not offered: "
	  "kiln keeps uploads without alpha; use LoadImageMask.",
	  { I_COMBO("image", S_IMAGES) },
	  { "IMAGE", "MASK" }, { "IMAGE", "MASK" }, 0 },
	{ "LoadImageMask", "Load Image (as Mask)", "mask",
	  "The red, green or blue channel of an uploaded image: 1 (white) "
	  "is repainted.",
	  { I_COMBO("image", S_IMAGES), I_FIXED("channel", channels) },
	  { "MASK" }, { "MASK" }, 0 },
	{ "SaveImage", "Save Image", "image", "",
	  { I_LINK("images", "IMAGE"),
	    { "filename_prefix", "STRING", 0, 0, 0, 0, S_NONE, NULL, 0,
	      "ComfyUI" } },
	  { NULL }, { NULL }, 1 },
	{ "PreviewImage", "Preview Image", "image", "",
	  { I_LINK("images", "IMAGE") }, { NULL }, { NULL }, 1 },
	{ "LoraLoader", "Load LoRA", "loaders", "",
	  { I_LINK("model", "MODEL"), I_LINK("clip", "CLIP"),
	    I_COMBO("lora_name", S_LORA),
	    I_FLOAT("strength_model", 1.0, -100, 100, 0.01),
	    I_FLOAT("strength_clip", 1.0, -100, 100, 0.01) },
	  { "MODEL", "CLIP" }, { "MODEL", "CLIP" }, 0 },
	{ "LoraLoaderModelOnly", "LoraLoaderModelOnly", "loaders", "",
	  { I_LINK("model", "MODEL"), I_COMBO("lora_name", S_LORA),
	    I_FLOAT("strength_model", 1.0, -100, 100, 0.01) },
	  { "MODEL" }, { "MODEL" }, 0 },
	{ "ControlNetLoader", "Load ControlNet Model", "loaders", "",
	  { I_COMBO("control_net_name", S_CN) },
	  { "CONTROL_NET" }, { "CONTROL_NET" }, 0 },
	{ "ControlNetApply", "Apply ControlNet (OLD)",
	  "conditioning/controlnet", "kiln guides both prompts: the "
	  "negative must go through an equal ControlNetApply.",
	  { I_LINK("conditioning", "CONDITIONING"),
	    I_LINK("control_net", "CONTROL_NET"), I_LINK("image", "IMAGE"),
	    I_FLOAT("strength", 1.0, 0, 10, 0.01) },
	  { "CONDITIONING" }, { "CONDITIONING" }, 0 },
	{ "ControlNetApplyAdvanced", "Apply ControlNet",
	  "conditioning/controlnet", "",
	  { I_LINK("positive", "CONDITIONING"),
	    I_LINK("negative", "CONDITIONING"),
	    I_LINK("control_net", "CONTROL_NET"), I_LINK("image", "IMAGE"),
	    I_FLOAT("strength", 1.0, 0, 10, 0.01),
	    I_FLOAT("start_percent", 0.0, 0, 1, 0.001),
	    I_FLOAT("end_percent", 1.0, 0, 1, 0.001),
	    { "vae", "VAE", 0, 0, 0, 0, S_NONE, NULL, 1, NULL } },
	  { "CONDITIONING", "CONDITIONING" }, { "positive", "negative" }, 0 },
	{ "LatentUpscale", "Upscale Latent", "latent",
	  "Between two KSamplers: kiln's hires fix.",
	  { I_LINK("samples", "LATENT"),
	    I_FIXED("upscale_method", latent_methods),
	    I_INT("width", 512, 0, MAX_RES, 8),
	    I_INT("height", 512, 0, MAX_RES, 8), I_FIXED("crop", crops) },
	  { "LATENT" }, { "LATENT" }, 0 },
	{ "LatentUpscaleBy", "Upscale Latent By", "latent",
	  "Between two KSamplers: kiln's hires fix.",
	  { I_LINK("samples", "LATENT"),
	    I_FIXED("upscale_method", latent_methods),
	    I_FLOAT("scale_by", 1.5, 0.01, 8.0, 0.01) },
	  { "LATENT" }, { "LATENT" }, 0 },
	{ "UpscaleModelLoader", "Load Upscale Model", "loaders", "",
	  { I_COMBO("model_name", S_UPSCALER) },
	  { "UPSCALE_MODEL" }, { "UPSCALE_MODEL" }, 0 },
	{ "ImageUpscaleWithModel", "Upscale Image (using Model)",
	  "image/upscaling", "Between a VAEDecode and a VAEEncode into a "
	  "second KSampler: kiln's hires fix with that upscaler; on a "
	  "LoadImage with no sampler: an upscale job.",
	  { I_LINK("upscale_model", "UPSCALE_MODEL"),
	    I_LINK("image", "IMAGE") },
	  { "IMAGE" }, { "IMAGE" }, 0 },
	{ "ImageScale", "Upscale Image", "image/upscaling",
	  "After ImageUpscaleWithModel: the hires fix's size.",
	  { I_LINK("image", "IMAGE"), I_FIXED("upscale_method", image_methods),
	    I_INT("width", 512, 0, MAX_RES, 1),
	    I_INT("height", 512, 0, MAX_RES, 1), I_FIXED("crop", crops) },
	  { "IMAGE" }, { "IMAGE" }, 0 },
	{ "ImageScaleBy", "Upscale Image By", "image/upscaling",
	  "After ImageUpscaleWithModel: the hires fix's or the upscale "
	  "job's size.",
	  { I_LINK("image", "IMAGE"), I_FIXED("upscale_method", image_methods),
	    I_FLOAT("scale_by", 1.0, 0.01, 8.0, 0.01) },
	  { "IMAGE" }, { "IMAGE" }, 0 },
};

const char *const comfy_classes[] = {
	"CheckpointLoaderSimple", "CLIPTextEncode", "EmptyLatentImage",
	"KSampler", "KSamplerAdvanced", "VAEDecode", "VAEEncode",
	"VAEEncodeForInpaint", "SetLatentNoiseMask",
	"InpaintModelConditioning", "LoadImage", "LoadImageMask", "SaveImage",
	"PreviewImage", "LoraLoader", "LoraLoaderModelOnly",
	"ControlNetLoader", "ControlNetApply", "ControlNetApplyAdvanced",
	"LatentUpscale", "LatentUpscaleBy", "UpscaleModelLoader",
	"ImageUpscaleWithModel", "ImageScale", "ImageScaleBy",
};
const size_t comfy_nclasses = ARRAY_LEN(comfy_classes);

static const struct cnode *
node_def(const char *cls)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(nodes); i++)
		if (!strcmp(nodes[i].name, cls))
			return &nodes[i];
	return NULL;
}

const char *
comfy_sampler(const char *name, const char *sched)
{
	/* ComfyUI's names; kiln's schedules are the model's own sigmas
	 * (ComfyUI's "normal"), Karras for dpmpp_2m_karras, and the
	 * uniform ones DDIM and LCM are made for. */
	static const struct {
		const char *comfy, *sched, *kiln;
	} map[] = {
		{ "euler", "normal", "euler" },
		{ "euler_ancestral", "normal", "euler_a" },
		{ "heun", "normal", "heun" },
		{ "ddim", "normal", "ddim" },
		{ "ddim", "ddim_uniform", "ddim" },
		{ "dpmpp_2m", "normal", "dpmpp_2m" },
		{ "dpmpp_2m", "karras", "dpmpp_2m_karras" },
		{ "lcm", "normal", "lcm" },
		{ "lcm", "sgm_uniform", "lcm" },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(map); i++)
		if (!strcmp(name, map[i].comfy) && !strcmp(sched, map[i].sched))
			return map[i].kiln;
	return NULL;
}

char *
comfy_strip_ext(const char *file)
{
	size_t n = strlen(file);

	if (n > 12 && !strcmp(file + n - 12, ".safetensors"))
		return xstrndup(file, n - 12);
	return xstrdup(file);
}

/* The walk's state. */
struct g {
	json_object *prompt;
	const struct comfy_env *env;
	struct comfy_plan *p;
	struct comfy_error *e;
};

/* ComfyUI's message for each error type. */
static const char *
type_message(const char *type)
{
	static const struct {
		const char *type, *msg;
	} t[] = {
		{ "required_input_missing", "Required input is missing" },
		{ "value_not_in_list", "Value not in list" },
		{ "value_smaller_than_min", "Value smaller than min" },
		{ "value_bigger_than_max", "Value bigger than max" },
		{ "invalid_input_type", "Failed to convert an input value "
		  "to a number" },
		{ "bad_linked_input", "Bad linked input, must be a length-2 "
		  "list of [string, int]" },
		{ "return_type_mismatch", "Return type mismatch between "
		  "linked nodes" },
		{ "kiln_unsupported", "Not something kiln can render" },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(t); i++)
		if (!strcmp(type, t[i].type))
			return t[i].msg;
	return "Prompt outputs failed validation";
}

static const char *
class_of(struct g *g, const char *id)
{
	json_object *n, *c;

	if (!json_object_object_get_ex(g->prompt, id, &n) ||
	    !json_object_object_get_ex(n, "class_type", &c))
		return "";
	return json_object_get_string(c);
}

/* Records a refusal concerning node id's input (NULL: none). Returns 1. */
__attribute__((format(printf, 5, 6)))
static int
fail(struct g *g, const char *id, const char *type, const char *input,
	const char *fmt, ...)
{
	struct comfy_error *e = g->e;
	va_list ap;

	memset(e, 0, sizeof(*e));
	snprintf(e->type, sizeof(e->type), "%s", type);
	snprintf(e->message, sizeof(e->message), "%s", type_message(type));
	va_start(ap, fmt);
	vsnprintf(e->details, sizeof(e->details), fmt, ap);
	va_end(ap);
	if (id != NULL) {
		snprintf(e->node, sizeof(e->node), "%s", id);
		snprintf(e->class_type, sizeof(e->class_type), "%s",
			class_of(g, id));
	}
	if (input != NULL)
		snprintf(e->input, sizeof(e->input), "%s", input);
	return 1;
}

static void
origin(struct g *g, const char *field, const char *id, const char *input)
{
	struct comfy_origin *o;

	if (g->p->norigins >= COMFY_MAX_ORIGINS)
		return;
	o = &g->p->origin[g->p->norigins++];
	snprintf(o->field, sizeof(o->field), "%s", field);
	snprintf(o->node, sizeof(o->node), "%s", id);
	snprintf(o->class_type, sizeof(o->class_type), "%s", class_of(g, id));
	snprintf(o->input, sizeof(o->input), "%s", input);
}

/* Node id's input name, or NULL (after fail) when it is missing. */
static json_object *
input(struct g *g, const char *id, const char *name)
{
	json_object *n, *in, *v;

	if (json_object_object_get_ex(g->prompt, id, &n) &&
	    json_object_object_get_ex(n, "inputs", &in) &&
	    json_object_object_get_ex(in, name, &v) && v != NULL)
		return v;
	fail(g, id, "required_input_missing", name, "%s", name);
	return NULL;
}

/* 1 when v has a link's shape: [node_id, slot]. */
static int
is_link(json_object *v)
{
	json_object *a, *b;

	if (!json_object_is_type(v, json_type_array) ||
	    json_object_array_length(v) != 2)
		return 0;
	a = json_object_array_get_idx(v, 0);
	b = json_object_array_get_idx(v, 1);
	return (json_object_is_type(a, json_type_string) ||
		json_object_is_type(a, json_type_int)) &&
		json_object_is_type(b, json_type_int);
}

/* Follows node id's input name, a link, to the node it comes from: to
 * (COMFY_ID_MAX) and its output slot. The node must exist and be of
 * one of the classes want (NULL-terminated), whose output it names.
 * Returns 0, or 1 after fail. */
static int
link(struct g *g, const char *id, const char *name, const char *const *want,
	char *to, int *slot)
{
	json_object *v = input(g, id, name), *n;
	const char *cls;
	size_t k;

	if (v == NULL)
		return 1;
	if (!is_link(v))
		return fail(g, id, "bad_linked_input", name, "%s, %s", name,
			json_object_to_json_string(v));
	snprintf(to, COMFY_ID_MAX, "%s",
		json_object_get_string(json_object_array_get_idx(v, 0)));
	*slot = json_object_get_int(json_object_array_get_idx(v, 1));
	if (!json_object_object_get_ex(g->prompt, to, &n))
		return fail(g, id, "bad_linked_input", name, "%s: node %s "
			"does not exist", name, to);
	cls = class_of(g, to);
	for (k = 0; want[k] != NULL; k++)
		if (!strcmp(cls, want[k]))
			break;
	if (want[k] == NULL)
		return fail(g, id, "kiln_unsupported", name, "%s comes from "
			"node %s (%s), which kiln cannot take here", name, to,
			cls);
	{
		const struct cnode *d = node_def(cls);
		int nout = 0;

		while (nout < 3 && d->out[nout] != NULL)
			nout++;
		if (*slot < 0 || *slot >= nout)
			return fail(g, id, "return_type_mismatch", name,
				"%s: node %s (%s) has no output %d", name, to,
				cls, *slot);
	}
	return 0;
}

/* A literal number input within [lo, hi]. Returns 0 or 1 after fail. */
static int
num(struct g *g, const char *id, const char *name, double lo, double hi,
	double *out)
{
	json_object *v = input(g, id, name);
	double d;

	if (v == NULL)
		return 1;
	if (!json_object_is_type(v, json_type_int) &&
	    !json_object_is_type(v, json_type_double))
		return fail(g, id, is_link(v) ? "kiln_unsupported" :
			"invalid_input_type", name, "%s, %s%s", name,
			json_object_to_json_string(v), is_link(v) ? ": kiln "
			"takes a value here, not a link" : "");
	d = json_object_get_double(v);
	if (!isfinite(d) || d < lo)
		return fail(g, id, "value_smaller_than_min", name, "Value %g "
			"smaller than min of %g: %s", d, lo, name);
	if (d > hi)
		return fail(g, id, "value_bigger_than_max", name, "Value %g "
			"bigger than max of %g: %s", d, hi, name);
	*out = d;
	return 0;
}

/* A literal whole number input within [lo, hi]. */
static int
whole(struct g *g, const char *id, const char *name, double lo, double hi,
	long *out)
{
	double d;

	if (num(g, id, name, lo, hi, &d) != 0)
		return 1;
	if (d != floor(d))
		return fail(g, id, "invalid_input_type", name, "%s, %g: not "
			"a whole number", name, d);
	*out = (long)d;
	return 0;
}

/* A literal string input (must be one of choices when not NULL). */
static int
str(struct g *g, const char *id, const char *name, const char *const *choices,
	const char **out)
{
	json_object *v = input(g, id, name);
	size_t k;

	if (v == NULL)
		return 1;
	if (!json_object_is_type(v, json_type_string))
		return fail(g, id, "invalid_input_type", name, "%s, %s: must "
			"be a string", name, json_object_to_json_string(v));
	*out = json_object_get_string(v);
	if (choices == NULL)
		return 0;
	for (k = 0; choices[k] != NULL; k++)
		if (!strcmp(*out, choices[k]))
			return 0;
	return fail(g, id, "value_not_in_list", name, "%s: '%s' not in "
		"the values kiln takes", name, *out);
}

/* The shortest decimal that reads back as d, as a JSON number. */
static json_object *
jdouble(double d)
{
	char t[40];

	snprintf(t, sizeof(t), "%.15g", d);
	if (strtod(t, NULL) != d)
		snprintf(t, sizeof(t), "%.17g", d);
	return json_object_new_double_s(d, t);
}

static void
put(struct g *g, const char *key, json_object *v)
{
	json_object_object_add(g->p->job, key, v);
}

/* What the model and clip chains lead to: the checkpoint node and the
 * LoRA nodes passed, in order from the checkpoint out. */
#define LORAS_MAX 16
struct chain {
	char ckpt[COMFY_ID_MAX];
	char lora[LORAS_MAX][COMFY_ID_MAX];
	int n;
};

static const char *const model_src[] = { "CheckpointLoaderSimple",
	"LoraLoader", "LoraLoaderModelOnly", NULL };
static const char *const clip_src[] = { "CheckpointLoaderSimple",
	"LoraLoader", NULL };

/* Follows input name of id back through LoRA loaders to the checkpoint
 * (slot: what the checkpoint's output must be: 0 model, 1 clip). */
static int
chain_of(struct g *g, const char *id, const char *name, int clip,
	struct chain *c)
{
	char cur[COMFY_ID_MAX], to[COMFY_ID_MAX];
	const char *in = name;
	int slot, hops, i;

	memset(c, 0, sizeof(*c));
	snprintf(cur, sizeof(cur), "%s", id);
	for (hops = 0; hops < COMFY_CHAIN_MAX; hops++) {
		if (link(g, cur, in, clip ? clip_src : model_src, to,
		    &slot) != 0)
			return 1;
		if (!strcmp(class_of(g, to), "CheckpointLoaderSimple")) {
			if (slot != clip)
				return fail(g, cur, "return_type_mismatch", in,
					"%s: takes the checkpoint's %s", in,
					clip ? "CLIP" : "MODEL");
			snprintf(c->ckpt, sizeof(c->ckpt), "%s", to);
			/* Collected outward-in: the checkpoint's side
			 * first. */
			for (i = 0; i < c->n / 2; i++) {
				char t[COMFY_ID_MAX];

				memcpy(t, c->lora[i], sizeof(t));
				memcpy(c->lora[i], c->lora[c->n - 1 - i],
					sizeof(t));
				memcpy(c->lora[c->n - 1 - i], t, sizeof(t));
			}
			return 0;
		}
		if (slot != clip)
			return fail(g, cur, "return_type_mismatch", in, "%s: "
				"takes node %s's %s output", in, to,
				clip ? "CLIP" : "MODEL");
		if (c->n == LORAS_MAX)
			return fail(g, to, "kiln_unsupported", NULL, "more "
				"than %d LoRAs", LORAS_MAX);
		snprintf(c->lora[c->n++], COMFY_ID_MAX, "%s", to);
		snprintf(cur, sizeof(cur), "%s", to);
		in = clip ? "clip" : "model";
	}
	return fail(g, id, "kiln_unsupported", name, "the chain of loaders "
		"is longer than %d nodes", COMFY_CHAIN_MAX);
}

/* One side's conditioning: its text node and what it passed. */
struct cond {
	char text[COMFY_ID_MAX];
	char cn[COMFY_ID_MAX];		/* ControlNetApply(Advanced), or "" */
	char inpaint[COMFY_ID_MAX];	/* InpaintModelConditioning, or "" */
	struct chain clip;
};

static const char *const cond_src[] = { "CLIPTextEncode",
	"ControlNetApply", "ControlNetApplyAdvanced",
	"InpaintModelConditioning", NULL };

static int
cond_of(struct g *g, const char *id, const char *name, int negative,
	struct cond *c)
{
	char cur[COMFY_ID_MAX], to[COMFY_ID_MAX];
	const char *in = name, *cls;
	int slot, hops;

	memset(c, 0, sizeof(*c));
	snprintf(cur, sizeof(cur), "%s", id);
	for (hops = 0; hops < COMFY_CHAIN_MAX; hops++) {
		if (link(g, cur, in, cond_src, to, &slot) != 0)
			return 1;
		cls = class_of(g, to);
		if (!strcmp(cls, "CLIPTextEncode")) {
			snprintf(c->text, sizeof(c->text), "%s", to);
			return chain_of(g, to, "clip", 1, &c->clip);
		}
		if (!strcmp(cls, "ControlNetApply")) {
			in = "conditioning";
		} else {
			/* Advanced and the inpaint conditioning pass the
			 * positive on slot 0, the negative on slot 1. */
			if (slot != negative)
				return fail(g, cur, "return_type_mismatch", in,
					"%s takes node %s's %s output", in, to,
					negative ? "negative" : "positive");
			in = negative ? "negative" : "positive";
		}
		if (!strcmp(cls, "InpaintModelConditioning")) {
			if (*c->inpaint != '\0')
				return fail(g, to, "kiln_unsupported", NULL,
					"more than one InpaintModelConditioning");
			snprintf(c->inpaint, sizeof(c->inpaint), "%s", to);
		} else {
			if (*c->cn != '\0')
				return fail(g, to, "kiln_unsupported", NULL,
					"kiln applies one ControlNet");
			snprintf(c->cn, sizeof(c->cn), "%s", to);
		}
		snprintf(cur, sizeof(cur), "%s", to);
	}
	return fail(g, id, "kiln_unsupported", name, "the conditioning "
		"chain is longer than %d nodes", COMFY_CHAIN_MAX);
}

/* A loader's file input as a kiln name: "x.safetensors" -> "x". */
static int
file_name(struct g *g, const char *id, const char *input_name,
	const char *field, int put_it, char **out)
{
	const char *s;

	if (str(g, id, input_name, NULL, &s) != 0)
		return 1;
	*out = comfy_strip_ext(s);
	if (put_it) {
		put(g, field, json_object_new_string(*out));
		origin(g, field, id, input_name);
	}
	return 0;
}

/* The LoRAs of the model chain m and the clip chain c as kiln's "loras":
 * each LoraLoader once, its strength_clip where the clip passes it
 * (else 0), its strength_model where the model does (else 0). */
static int
loras(struct g *g, const struct chain *m, const struct chain *c)
{
	json_object *a = json_object_new_array();
	char ids[2 * LORAS_MAX][COMFY_ID_MAX];
	int n = 0, i, j, inm, inc;

	for (i = 0; i < m->n; i++)
		memcpy(ids[n++], m->lora[i], COMFY_ID_MAX);
	for (i = 0; i < c->n; i++) {
		for (j = 0; j < m->n; j++)
			if (!strcmp(c->lora[i], m->lora[j]))
				break;
		if (j == m->n)
			memcpy(ids[n++], c->lora[i], COMFY_ID_MAX);
	}
	for (i = 0; i < n; i++) {
		json_object *l = json_object_new_object();
		double sm = 0, sc = 0;
		char *name = NULL, field[32];

		inm = inc = 0;
		for (j = 0; j < m->n; j++)
			inm |= !strcmp(ids[i], m->lora[j]);
		for (j = 0; j < c->n; j++)
			inc |= !strcmp(ids[i], c->lora[j]);
		if (file_name(g, ids[i], "lora_name", NULL, 0, &name) != 0 ||
		    (inm && num(g, ids[i], "strength_model", -100, 100,
		    &sm) != 0) || (inc && num(g, ids[i], "strength_clip",
		    -100, 100, &sc) != 0)) {
			free(name);
			json_object_put(l);
			json_object_put(a);
			return 1;
		}
		json_object_object_add(l, "name", json_object_new_string(name));
		json_object_object_add(l, "weight", jdouble(sc));
		json_object_object_add(l, "unet_weight", jdouble(sm));
		json_object_array_add(a, l);
		free(name);
		/* kiln's checks name loras[i].name and .weight. */
		snprintf(field, sizeof(field), "loras[%d]", i);
		origin(g, field, ids[i], "lora_name");
	}
	if (n > 0)
		put(g, "loras", a);
	else
		json_object_put(a);
	return 0;
}

static const char *const image_src[] = { "LoadImage", NULL };

/* An image input that must be an uploaded image (LoadImage's IMAGE). */
static int
load_image(struct g *g, const char *id, const char *name, enum comfy_image k)
{
	char to[COMFY_ID_MAX];
	const char *s;
	int slot;

	if (link(g, id, name, image_src, to, &slot) != 0)
		return 1;
	if (slot != 0)
		return fail(g, id, "return_type_mismatch", name, "%s takes "
			"LoadImage's IMAGE", name);
	if (str(g, to, "image", NULL, &s) != 0)
		return 1;
	if (g->p->image[k] != NULL && strcmp(g->p->image[k], s) != 0)
		return fail(g, to, "kiln_unsupported", "image", "kiln takes "
			"one %s image", k == COMFY_IMG_CONTROL ? "control" :
			"init");
	free(g->p->image[k]);
	g->p->image[k] = xstrdup(s);
	snprintf(g->p->image_node[k], COMFY_ID_MAX, "%s", to);
	return 0;
}

static const char *const mask_src[] = { "LoadImageMask", "LoadImage", NULL };

static int
load_mask(struct g *g, const char *id, const char *name)
{
	static const char *const rgb[] = { "red", "green", "blue", NULL };
	char to[COMFY_ID_MAX];
	const char *s, *ch;
	int slot, k;

	if (link(g, id, name, mask_src, to, &slot) != 0)
		return 1;
	if (!strcmp(class_of(g, to), "LoadImage"))
		return fail(g, to, "kiln_unsupported", "image", "kiln keeps "
			"uploads without their alpha channel, so LoadImage "
			"gives no MASK: upload the mask as an image of its own "
			"and load it with LoadImageMask (red, green or blue)");
	if (str(g, to, "channel", channels, &ch) != 0 ||
	    str(g, to, "image", NULL, &s) != 0)
		return 1;
	for (k = 0; rgb[k] != NULL && strcmp(rgb[k], ch) != 0; k++)
		;
	if (rgb[k] == NULL)
		return fail(g, to, "kiln_unsupported", "channel", "channel: "
			"kiln keeps uploads without alpha; take red, green or "
			"blue");
	g->p->mask_channel = k;
	g->p->image[COMFY_IMG_MASK] = xstrdup(s);
	snprintf(g->p->image_node[COMFY_IMG_MASK], COMFY_ID_MAX, "%s", to);
	return 0;
}

/* One KSampler's or KSamplerAdvanced's settings. */
struct sampling {
	char id[COMFY_ID_MAX];
	double seed, cfg, denoise;
	long steps;
	const char *sampler, *scheduler;
	json_object *model, *positive, *negative;	/* the links */
};

static int
sampling_of(struct g *g, const char *id, struct sampling *s)
{
	int adv = !strcmp(class_of(g, id), "KSamplerAdvanced");
	const char *v;
	long start, end;

	memset(s, 0, sizeof(*s));
	snprintf(s->id, sizeof(s->id), "%s", id);
	if (num(g, id, adv ? "noise_seed" : "seed", 0,
	    18446744073709551615.0, &s->seed) != 0 ||
	    whole(g, id, "steps", 1, 10000, &s->steps) != 0 ||
	    num(g, id, "cfg", 0, 100, &s->cfg) != 0 ||
	    str(g, id, "sampler_name", NULL, &s->sampler) != 0 ||
	    str(g, id, "scheduler", NULL, &s->scheduler) != 0)
		return 1;
	if (comfy_sampler(s->sampler, s->scheduler) == NULL) {
		size_t k;

		for (k = 0; sampler_names[k] != NULL; k++)
			if (!strcmp(sampler_names[k], s->sampler))
				return fail(g, id, "value_not_in_list",
					"scheduler", "scheduler: '%s' does not "
					"go with %s in kiln (normal; karras "
					"with dpmpp_2m; ddim_uniform with ddim; "
					"sgm_uniform with lcm)", s->scheduler,
					s->sampler);
		return fail(g, id, "value_not_in_list", "sampler_name",
			"sampler_name: '%s' not in ['euler', "
			"'euler_ancestral', 'heun', 'ddim', 'dpmpp_2m', "
			"'lcm']", s->sampler);
	}
	if (adv) {
		s->denoise = 1.0;
		if (str(g, id, "add_noise", enable, &v) != 0)
			return 1;
		if (strcmp(v, "enable") != 0)
			return fail(g, id, "kiln_unsupported", "add_noise",
				"add_noise: kiln samples from noise (enable)");
		if (str(g, id, "return_with_leftover_noise", disable,
		    &v) != 0)
			return 1;
		if (strcmp(v, "disable") != 0)
			return fail(g, id, "kiln_unsupported",
				"return_with_leftover_noise", "kiln samples "
				"to the end (disable)");
		if (whole(g, id, "start_at_step", 0, 10000, &start) != 0 ||
		    whole(g, id, "end_at_step", 0, 10000, &end) != 0)
			return 1;
		if (start != 0 || end < s->steps)
			return fail(g, id, "kiln_unsupported", start != 0 ?
				"start_at_step" : "end_at_step", "kiln runs "
				"all the steps: start_at_step 0 and "
				"end_at_step at least steps");
	} else if (num(g, id, "denoise", 0, 1, &s->denoise) != 0) {
		return 1;
	}
	s->model = input(g, id, "model");
	s->positive = input(g, id, "positive");
	s->negative = input(g, id, "negative");
	return s->model == NULL || s->positive == NULL || s->negative == NULL;
}

/* kiln's steps for ComfyUI's steps at denoise d: ComfyUI samples the
 * last `steps` of a schedule of steps / d; kiln the last int(steps x d)
 * of its schedule, so the schedule is the smallest whose share is
 * steps. */
static long
kiln_steps(long steps, double d)
{
	long s;

	if (d >= 1.0)
		return steps;
	s = (long)((double)steps / d);
	while ((long)((double)s * d) < steps)
		s++;
	return s;
}

static void
put_sampling(struct g *g, const struct sampling *s)
{
	uint64_t seed = (uint64_t)s->seed;

	/* ComfyUI's seeds run to 2^64; kiln's to 2^32: the low 32 bits,
	 * the same image for the same seed every time. */
	put(g, "seed", json_object_new_int64((int64_t)(seed & 0xffffffffu)));
	origin(g, "seed", s->id, !strcmp(class_of(g, s->id),
		"KSamplerAdvanced") ? "noise_seed" : "seed");
	put(g, "cfg_scale", jdouble(s->cfg));
	origin(g, "cfg_scale", s->id, "cfg");
	put(g, "sampler", json_object_new_string(comfy_sampler(s->sampler,
		s->scheduler)));
	origin(g, "sampler", s->id, "sampler_name");
}

static const char *const sampler_src[] = { "KSampler", "KSamplerAdvanced",
	NULL };
static const char *const latent_src[] = { "EmptyLatentImage", "VAEEncode",
	"VAEEncodeForInpaint", "SetLatentNoiseMask",
	"InpaintModelConditioning", "LatentUpscale", "LatentUpscaleBy", NULL };
static const char *const vae_src[] = { "CheckpointLoaderSimple", NULL };

/* A vae input: the checkpoint ckpt's VAE. */
static int
vae_of(struct g *g, const char *id, const char *ckpt)
{
	char to[COMFY_ID_MAX];
	const char *a, *b;
	int slot;

	if (link(g, id, "vae", vae_src, to, &slot) != 0)
		return 1;
	if (slot != 2)
		return fail(g, id, "return_type_mismatch", "vae", "vae takes "
			"the checkpoint's VAE");
	if (strcmp(to, ckpt) != 0 && (str(g, to, "ckpt_name", NULL, &a) ||
	    str(g, ckpt, "ckpt_name", NULL, &b) || strcmp(a, b) != 0))
		return fail(g, id, "kiln_unsupported", "vae", "kiln decodes "
			"with the VAE of the checkpoint that samples");
	return 0;
}

/* 1 when links a and b are the same [node, slot]. */
static int
same_link(json_object *a, json_object *b)
{
	return !strcmp(json_object_to_json_string(a),
		json_object_to_json_string(b));
}

static int sampler_node(struct g *g, const char *id, const char *ckpt,
	int second);

/* The first pass of a hires fix: a txt2img sampling like the second's. */
static int
first_pass(struct g *g, const char *up, const char *samples_input,
	const struct sampling *s2, const char *ckpt)
{
	char to[COMFY_ID_MAX];
	struct sampling s1;
	int slot;

	if (link(g, up, samples_input, sampler_src, to, &slot) != 0 ||
	    sampling_of(g, to, &s1) != 0)
		return 1;
	if (!same_link(s1.model, s2->model) ||
	    !same_link(s1.positive, s2->positive) ||
	    !same_link(s1.negative, s2->negative) ||
	    strcmp(s1.sampler, s2->sampler) != 0 ||
	    strcmp(s1.scheduler, s2->scheduler) != 0 || s1.cfg != s2->cfg ||
	    s1.seed != s2->seed)
		return fail(g, s2->id, "kiln_unsupported", NULL, "kiln's "
			"hires fix samples both passes with the same model, "
			"prompts, sampler, scheduler, cfg and seed: node %s "
			"and this one differ", to);
	if (s1.denoise < 1.0)
		return fail(g, to, "kiln_unsupported", "denoise", "denoise: "
			"the first pass of a hires fix starts from noise (1)");
	return sampler_node(g, to, ckpt, 1);
}

/* The hires fix's second pass: steps and strength. */
static void
put_second_pass(struct g *g, const struct sampling *s2, double scale,
	const char *upscaler, const char *up_node, const char *up_input)
{
	put(g, "hires_scale", jdouble(scale));
	origin(g, "hires_scale", up_node, up_input);
	put(g, "hires_strength", jdouble(s2->denoise));
	origin(g, "hires_strength", s2->id, "denoise");
	put(g, "hires_steps", json_object_new_int64(kiln_steps(s2->steps,
		s2->denoise)));
	origin(g, "hires_steps", s2->id, "steps");
	put(g, "hires_upscaler", json_object_new_string(upscaler));
	origin(g, "hires_upscaler", up_node, up_input);
}

static const char *const decode_src[] = { "VAEDecode", NULL };
static const char *const model_image_src[] = { "ImageUpscaleWithModel",
	"ImageScale", "ImageScaleBy", NULL };
static const char *const upmodel_src[] = { "UpscaleModelLoader", NULL };
/* What an output node shows: a render, or an upscaled LoadImage. */
static const char *const output_src[] = { "VAEDecode",
	"ImageUpscaleWithModel", "ImageScale", "ImageScaleBy", NULL };

/* VAEEncode's pixels that come from an upscaled VAEDecode: the hires fix
 * with an upscale model (and the size an ImageScale(By) gives it).
 * first_w: the first pass's width, known after it is read. */
static int
model_hires(struct g *g, const char *enc, const struct sampling *s2,
	const char *ckpt)
{
	char to[COMFY_ID_MAX], up[COMFY_ID_MAX], dec[COMFY_ID_MAX];
	char model[COMFY_ID_MAX], sc_node[COMFY_ID_MAX] = "";
	const char *cls;
	char *name = NULL;
	double scale = 0, by = 1;
	long w = 0, h = 0, fw, fh;
	int slot, mscale;
	json_object *v;

	if (link(g, enc, "pixels", model_image_src, to, &slot) != 0)
		return 1;
	cls = class_of(g, to);
	snprintf(up, sizeof(up), "%s", to);
	if (strcmp(cls, "ImageUpscaleWithModel") != 0) {
		static const char *const m[] = { "ImageUpscaleWithModel", NULL };

		snprintf(sc_node, sizeof(sc_node), "%s", to);
		if (!strcmp(cls, "ImageScale")) {
			if (whole(g, to, "width", 1, MAX_RES, &w) != 0 ||
			    whole(g, to, "height", 1, MAX_RES, &h) != 0)
				return 1;
		} else if (num(g, to, "scale_by", 0.01, 8, &by) != 0) {
			return 1;
		}
		if (link(g, to, "image", m, up, &slot) != 0)
			return 1;
	}
	if (link(g, up, "upscale_model", upmodel_src, model, &slot) != 0 ||
	    link(g, up, "image", decode_src, dec, &slot) != 0 ||
	    vae_of(g, dec, ckpt) != 0 ||
	    file_name(g, model, "model_name", NULL, 0, &name) != 0) {
		free(name);
		return 1;
	}
	mscale = g->env != NULL && g->env->upscaler_scale != NULL ?
		g->env->upscaler_scale(g->env->arg, name) : 0;
	if (mscale <= 0) {
		fail(g, model, "value_not_in_list", "model_name", "model_name:"
			" '%s' is no upscaler kiln has", name);
		free(name);
		return 1;
	}
	if (first_pass(g, dec, "samples", s2, ckpt) != 0) {
		free(name);
		return 1;
	}
	/* The first pass's size, now read, gives ImageScale's factor. */
	v = NULL;
	fw = json_object_object_get_ex(g->p->job, "width", &v) ?
		json_object_get_int(v) : 0;
	fh = json_object_object_get_ex(g->p->job, "height", &v) ?
		json_object_get_int(v) : 0;
	if (w > 0) {
		if (fw <= 0 || fh <= 0 || w * fh != h * fw) {
			free(name);
			return fail(g, sc_node, "kiln_unsupported", "width",
				"kiln's hires fix keeps the aspect: width and "
				"height must scale the first pass's %ldx%ld "
				"alike", fw, fh);
		}
		scale = (double)w / (double)fw;
	} else {
		scale = mscale * by;
	}
	put_second_pass(g, s2, scale, name, *sc_node ? sc_node : model,
		*sc_node ? (w > 0 ? "width" : "scale_by") : "model_name");
	free(name);
	return 0;
}

/* An image made larger with no sampler: a LoadImage through
 * ImageUpscaleWithModel, and an ImageScaleBy after it, as kiln's
 * upscale job (kind "upscale"): the upscaler by name, upscale_by its
 * scale times scale_by. kiln runs the model while the image is smaller
 * than asked, then resamples with Lanczos, as the hires fix's does for
 * these nodes. ImageScale's free width and height are refused: the job
 * keeps the aspect. Returns 0 or 1 after fail. */
static int
upscale_only(struct g *g, const char *id)
{
	static const char *const m[] = { "ImageUpscaleWithModel", NULL };
	char up[COMFY_ID_MAX], model[COMFY_ID_MAX];
	const char *cls = class_of(g, id);
	char *name = NULL;
	double by = 1;
	int slot, mscale;

	snprintf(up, sizeof(up), "%s", id);
	if (!strcmp(cls, "ImageScale"))
		return fail(g, id, "kiln_unsupported", "width", "kiln's "
			"upscale job keeps the image's aspect: use "
			"ImageScaleBy after ImageUpscaleWithModel");
	if (!strcmp(cls, "ImageScaleBy") && (num(g, id, "scale_by", 0.01, 8,
	    &by) != 0 || link(g, id, "image", m, up, &slot) != 0))
		return 1;
	if (link(g, up, "upscale_model", upmodel_src, model, &slot) != 0 ||
	    load_image(g, up, "image", COMFY_IMG_INIT) != 0 ||
	    file_name(g, model, "model_name", NULL, 0, &name) != 0) {
		free(name);
		return 1;
	}
	mscale = g->env != NULL && g->env->upscaler_scale != NULL ?
		g->env->upscaler_scale(g->env->arg, name) : 0;
	if (mscale <= 0) {
		fail(g, model, "value_not_in_list", "model_name", "model_name:"
			" '%s' is no upscaler kiln has", name);
		free(name);
		return 1;
	}
	put(g, "kind", json_object_new_string("upscale"));
	put(g, "upscaler", json_object_new_string(name));
	origin(g, "upscaler", model, "model_name");
	put(g, "upscale_by", jdouble(mscale * by));
	if (strcmp(up, id) != 0)
		origin(g, "upscale_by", id, "scale_by");
	else
		origin(g, "upscale_by", model, "model_name");
	origin(g, "init_image", g->p->image_node[COMFY_IMG_INIT], "image");
	free(name);
	return 0;
}

/* The latent_image of sampler s (the final one, or the first pass of a
 * hires fix when second... no: second says s is a hires first pass,
 * which must start from an empty latent). */
static int
latent(struct g *g, const struct sampling *s, const char *ckpt, int first,
	const struct cond *pos)
{
	char to[COMFY_ID_MAX], enc[COMFY_ID_MAX];
	const char *cls, *m;
	long w, h, b, grow;
	int slot, noise;

	if (link(g, s->id, "latent_image", latent_src, to, &slot) != 0)
		return 1;
	cls = class_of(g, to);
	if (!strcmp(cls, "EmptyLatentImage")) {
		if (s->denoise < 1.0)
			return fail(g, s->id, "kiln_unsupported", "denoise",
				"denoise: from an empty latent kiln samples "
				"from noise (1)");
		if (whole(g, to, "width", 16, MAX_RES, &w) != 0 ||
		    whole(g, to, "height", 16, MAX_RES, &h) != 0 ||
		    whole(g, to, "batch_size", 1, 4096, &b) != 0)
			return 1;
		put(g, "width", json_object_new_int64(w));
		origin(g, "width", to, "width");
		put(g, "height", json_object_new_int64(h));
		origin(g, "height", to, "height");
		if (b > 1) {
			put(g, "batch_count", json_object_new_int64(b));
			origin(g, "batch_count", to, "batch_size");
		}
		put(g, "steps", json_object_new_int64(s->steps));
		origin(g, "steps", s->id, "steps");
		return 0;
	}
	if (first)
		return fail(g, s->id, "kiln_unsupported", "latent_image",
			"latent_image: the first pass of kiln's hires fix "
			"starts from an EmptyLatentImage");
	if (!strcmp(cls, "LatentUpscale") || !strcmp(cls, "LatentUpscaleBy")) {
		double by = 0;
		json_object *v;
		long fw, fh;

		if (str(g, to, "upscale_method", latent_methods, &m) != 0)
			return 1;
		if (strcmp(m, "nearest-exact") != 0 && strcmp(m, "bilinear"))
			return fail(g, to, "kiln_unsupported",
				"upscale_method", "upscale_method: kiln "
				"upscales latents bilinear or nearest-exact");
		if (!strcmp(cls, "LatentUpscaleBy")) {
			if (num(g, to, "scale_by", 0.01, 8, &by) != 0)
				return 1;
		} else if (whole(g, to, "width", 0, MAX_RES, &w) != 0 ||
		    whole(g, to, "height", 0, MAX_RES, &h) != 0 ||
		    str(g, to, "crop", crops, &cls) != 0) {
			return 1;
		}
		if (first_pass(g, to, "samples", s, ckpt) != 0)
			return 1;
		if (by == 0) {
			fw = json_object_object_get_ex(g->p->job, "width",
				&v) ? json_object_get_int(v) : 0;
			fh = json_object_object_get_ex(g->p->job, "height",
				&v) ? json_object_get_int(v) : 0;
			if (fw <= 0 || fh <= 0 || w * fh != h * fw)
				return fail(g, to, "kiln_unsupported", "width",
					"kiln's hires fix keeps the aspect: "
					"width and height must scale the first "
					"pass's %ldx%ld alike", fw, fh);
			by = (double)w / (double)fw;
		}
		put_second_pass(g, s, by, !strcmp(m, "bilinear") ? "latent" :
			"latent-nearest", to, by > 0 && !strcmp(class_of(g, to),
			"LatentUpscaleBy") ? "scale_by" : "width");
		return 0;
	}
	/* From here on an image is sampled again: img2img, inpainting,
	 * or the hires fix with an upscale model. */
	if (!(s->denoise > 0))
		return fail(g, s->id, "value_smaller_than_min", "denoise",
			"denoise: kiln needs more than 0 to change an image");
	noise = 0;
	if (!strcmp(cls, "VAEEncode")) {
		snprintf(enc, sizeof(enc), "%s", to);
	} else if (!strcmp(cls, "SetLatentNoiseMask")) {
		static const char *const e[] = { "VAEEncode", NULL };

		if (link(g, to, "samples", e, enc, &slot) != 0 ||
		    load_mask(g, to, "mask") != 0)
			return 1;
		noise = 1;
	} else if (!strcmp(cls, "VAEEncodeForInpaint")) {
		snprintf(enc, sizeof(enc), "%s", to);
		if (load_mask(g, to, "mask") != 0 ||
		    whole(g, to, "grow_mask_by", 0, 64, &grow) != 0)
			return 1;
		put(g, "inpainting_fill", json_object_new_int(3));
		put(g, "mask_blur", json_object_new_int64(grow));
		origin(g, "mask_blur", to, "grow_mask_by");
		noise = 2;
	} else {	/* InpaintModelConditioning's latent */
		json_object *v = input(g, to, "noise_mask");

		if (slot != 2)
			return fail(g, s->id, "return_type_mismatch",
				"latent_image", "latent_image takes "
				"InpaintModelConditioning's latent");
		if (strcmp(pos->inpaint, to) != 0)
			return fail(g, s->id, "kiln_unsupported", "positive",
				"positive and negative must come through the "
				"InpaintModelConditioning (node %s) that gives "
				"the latent", to);
		if (v == NULL)
			return 1;
		if (!json_object_is_type(v, json_type_boolean) ||
		    !json_object_get_boolean(v))
			return fail(g, to, "kiln_unsupported", "noise_mask",
				"noise_mask: kiln repaints the masked area "
				"only (true)");
		snprintf(enc, sizeof(enc), "%s", to);
		if (load_mask(g, to, "mask") != 0)
			return 1;
		noise = 1;
	}
	if (noise == 1) {
		/* The masked area from the image's own latent, no blur:
		 * ComfyUI's noise mask. */
		put(g, "inpainting_fill", json_object_new_int(1));
		put(g, "mask_blur", json_object_new_int(0));
	}
	if (vae_of(g, enc, ckpt) != 0)
		return 1;
	if (!noise && !strcmp(cls, "VAEEncode")) {
		json_object *v = input(g, enc, "pixels");
		char src[COMFY_ID_MAX];

		if (v == NULL)
			return 1;
		if (is_link(v)) {
			snprintf(src, sizeof(src), "%s",
				json_object_get_string(
				json_object_array_get_idx(v, 0)));
			if (strcmp(class_of(g, src), "LoadImage") != 0)
				return model_hires(g, enc, s, ckpt);
		}
	}
	if (load_image(g, enc, "pixels", COMFY_IMG_INIT) != 0)
		return 1;
	put(g, "steps", json_object_new_int64(kiln_steps(s->steps,
		s->denoise)));
	origin(g, "steps", s->id, "steps");
	put(g, "denoising_strength", jdouble(s->denoise));
	origin(g, "denoising_strength", s->id, "denoise");
	origin(g, "init_image", g->p->image_node[COMFY_IMG_INIT], "image");
	if (g->p->image[COMFY_IMG_MASK] != NULL)
		origin(g, "mask", g->p->image_node[COMFY_IMG_MASK], "image");
	return 0;
}

static const char *const cn_src[] = { "ControlNetLoader", NULL };

/* The ControlNet both sides pass (or none). */
static int
controlnet(struct g *g, const struct cond *pos, const struct cond *neg)
{
	const char *c = pos->cn;
	char to[COMFY_ID_MAX];
	char *name = NULL;
	double st, a = 0, b = 1;
	int slot;

	if (*pos->cn == '\0' && *neg->cn == '\0')
		return 0;
	if (!strcmp(class_of(g, *c ? c : neg->cn), "ControlNetApply")) {
		json_object *x, *y;
		static const char *const keys[] = { "control_net", "image",
			"strength" };
		size_t k;

		if (*pos->cn == '\0' || *neg->cn == '\0')
			return fail(g, *c ? c : neg->cn, "kiln_unsupported",
				NULL, "kiln guides both prompts with the "
				"ControlNet: put the negative through an equal "
				"ControlNetApply, or use "
				"ControlNetApplyAdvanced");
		for (k = 0; k < ARRAY_LEN(keys); k++) {
			x = input(g, pos->cn, keys[k]);
			y = input(g, neg->cn, keys[k]);
			if (x == NULL || y == NULL)
				return 1;
			if (!same_link(x, y))
				return fail(g, neg->cn, "kiln_unsupported",
					keys[k], "%s: kiln guides both prompts "
					"alike; it differs from node %s's",
					keys[k], pos->cn);
		}
	} else if (strcmp(pos->cn, neg->cn) != 0) {
		return fail(g, *c ? c : neg->cn, "kiln_unsupported", NULL,
			"positive and negative must pass the same "
			"ControlNetApplyAdvanced");
	} else if (num(g, c, "start_percent", 0, 1, &a) != 0 ||
	    num(g, c, "end_percent", 0, 1, &b) != 0) {
		return 1;
	}
	if (num(g, c, "strength", 0, 10, &st) != 0 ||
	    link(g, c, "control_net", cn_src, to, &slot) != 0 ||
	    file_name(g, to, "control_net_name", "controlnet_model", 1,
	    &name) != 0 || load_image(g, c, "image", COMFY_IMG_CONTROL) != 0) {
		free(name);
		return 1;
	}
	free(name);
	put(g, "controlnet_weight", jdouble(st));
	origin(g, "controlnet_weight", c, "strength");
	put(g, "controlnet_guidance_start", jdouble(a));
	origin(g, "controlnet_guidance_start", c, "start_percent");
	put(g, "controlnet_guidance_end", jdouble(b));
	origin(g, "controlnet_guidance_end", c, "end_percent");
	put(g, "controlnet_preprocessor", json_object_new_string("none"));
	origin(g, "control_image", g->p->image_node[COMFY_IMG_CONTROL],
		"image");
	return 0;
}

/* Sampler node id: the model, prompts, LoRAs, ControlNet and latent.
 * first: it is the first pass of a hires fix (its prompts and model are
 * the second's, already read). */
static int
sampler_node(struct g *g, const char *id, const char *ckpt_want, int first)
{
	struct chain m;
	struct cond pos, neg;
	struct sampling s;
	json_object *v;
	char *ckpt = NULL;
	int i, rc;

	if (sampling_of(g, id, &s) != 0)
		return 1;
	if (first)
		return latent(g, &s, ckpt_want, 1, NULL);
	if (chain_of(g, id, "model", 0, &m) != 0 ||
	    cond_of(g, id, "positive", 0, &pos) != 0 ||
	    cond_of(g, id, "negative", 1, &neg) != 0)
		return 1;
	/* One checkpoint and one set of LoRAs for everything. */
	if (strcmp(pos.clip.ckpt, m.ckpt) != 0 ||
	    strcmp(neg.clip.ckpt, m.ckpt) != 0)
		return fail(g, strcmp(pos.clip.ckpt, m.ckpt) ? pos.text :
			neg.text, "kiln_unsupported", "clip", "clip: kiln "
			"encodes the prompts with the CLIP of the checkpoint "
			"that samples (node %s)", m.ckpt);
	if (pos.clip.n != neg.clip.n)
		goto lora_mismatch;
	for (i = 0; i < pos.clip.n; i++)
		if (strcmp(pos.clip.lora[i], neg.clip.lora[i]) != 0)
			goto lora_mismatch;
	if (strcmp(pos.inpaint, neg.inpaint) != 0)
		return fail(g, *pos.inpaint ? pos.inpaint : neg.inpaint,
			"kiln_unsupported", NULL, "positive and negative must "
			"pass the same InpaintModelConditioning");
	if (file_name(g, m.ckpt, "ckpt_name", "model", 1, &ckpt) != 0)
		return 1;
	free(ckpt);
	v = input(g, pos.text, "text");
	if (v == NULL)
		return 1;
	if (!json_object_is_type(v, json_type_string))
		return fail(g, pos.text, "invalid_input_type", "text", "text: "
			"kiln takes the prompt as text here, not a link");
	put(g, "prompt", json_object_get(v));
	origin(g, "prompt", pos.text, "text");
	v = input(g, neg.text, "text");
	if (v == NULL)
		return 1;
	if (!json_object_is_type(v, json_type_string))
		return fail(g, neg.text, "invalid_input_type", "text", "text: "
			"kiln takes the prompt as text here, not a link");
	if (json_object_get_string_len(v) > 0) {
		put(g, "negative_prompt", json_object_get(v));
		origin(g, "negative_prompt", neg.text, "text");
	}
	put_sampling(g, &s);
	rc = loras(g, &m, &pos.clip);
	if (rc == 0)
		rc = controlnet(g, &pos, &neg);
	if (rc == 0)
		rc = latent(g, &s, m.ckpt, 0, &pos);
	return rc;
lora_mismatch:
	return fail(g, neg.text, "kiln_unsupported", "clip", "clip: kiln "
		"encodes both prompts with the same LoRAs");
}

static const char *const output_classes[] = { "SaveImage", "PreviewImage",
	NULL };

/* Checks the prompt's shape and its classes. Returns 0 or 1 after
 * fail. */
static int
check_nodes(struct g *g)
{
	json_object *c, *in;
	size_t n = 0;

	json_object_object_foreach(g->prompt, id, node) {
		if (strlen(id) == 0 || strlen(id) >= COMFY_ID_MAX)
			return fail(g, NULL, "invalid_prompt", NULL, "Node ID "
				"'#%.40s' is empty or longer than %d bytes", id,
				COMFY_ID_MAX - 1);
		if (++n > COMFY_MAX_NODES)
			return fail(g, NULL, "invalid_prompt", NULL, "more "
				"than %d nodes", COMFY_MAX_NODES);
		if (!json_object_is_type(node, json_type_object) ||
		    !json_object_object_get_ex(node, "class_type", &c) ||
		    !json_object_is_type(c, json_type_string)) {
			fail(g, NULL, "invalid_prompt", NULL, "Node ID '#%s'",
				id);
			snprintf(g->e->message, sizeof(g->e->message),
				"Cannot execute because a node is missing the "
				"class_type property.");
			snprintf(g->e->node, sizeof(g->e->node), "%s", id);
			return 1;
		}
		if (node_def(json_object_get_string(c)) == NULL) {
			fail(g, id, "invalid_prompt", NULL, "Node ID '#%s'", id);
			snprintf(g->e->message, sizeof(g->e->message),
				"Cannot execute because node %.100s does not "
				"exist in kiln.", json_object_get_string(c));
			return 1;
		}
		if (json_object_object_get_ex(node, "inputs", &in) &&
		    !json_object_is_type(in, json_type_object))
			return fail(g, id, "invalid_prompt", NULL, "Node ID "
				"'#%s': inputs is not an object", id);
	}
	return 0;
}

int
comfy_translate(json_object *prompt, const struct comfy_env *env,
	struct comfy_plan *p, struct comfy_error *e)
{
	struct g g = { prompt, env, p, e };
	char dec[COMFY_ID_MAX], first[COMFY_ID_MAX] = "", smp[COMFY_ID_MAX];
	int slot, k;
	size_t i;

	memset(p, 0, sizeof(*p));
	memset(e, 0, sizeof(*e));
	p->job = json_object_new_object();
	if (p->job == NULL)
		return -1;
	if (!json_object_is_type(prompt, json_type_object))
		return fail(&g, NULL, "invalid_prompt", NULL, "the prompt is "
			"not an object of nodes");
	if (check_nodes(&g) != 0)
		return 1;
	json_object_object_foreach(prompt, id, node) {
		const char *cls = class_of(&g, id);

		(void)node;
		for (k = 0; output_classes[k] != NULL; k++)
			if (!strcmp(cls, output_classes[k]))
				break;
		if (output_classes[k] == NULL)
			continue;
		if (p->noutputs == COMFY_MAX_OUTPUTS)
			return fail(&g, id, "kiln_unsupported", NULL, "more "
				"than %d output nodes", COMFY_MAX_OUTPUTS);
		snprintf(p->outputs[p->noutputs++], COMFY_ID_MAX, "%s", id);
	}
	if (p->noutputs == 0) {
		fail(&g, NULL, "prompt_no_outputs", NULL, "%s", "");
		snprintf(e->message, sizeof(e->message),
			"Prompt has no outputs");
		return 1;
	}
	/* Every output must show the same decoded (or upscaled) images:
	 * one job. */
	for (i = 0; i < (size_t)p->noutputs; i++) {
		if (link(&g, p->outputs[i], "images", output_src, dec,
		    &slot) != 0)
			return 1;
		if (*first == '\0')
			snprintf(first, sizeof(first), "%s", dec);
		else if (strcmp(first, dec) != 0)
			return fail(&g, p->outputs[i], "kiln_unsupported",
				"images", "images: kiln renders a prompt as "
				"one job, so every output node must show the "
				"images of one VAEDecode (node %s)", first);
	}
	if (strcmp(class_of(&g, first), "VAEDecode") != 0)
		return upscale_only(&g, first);
	if (link(&g, first, "samples", sampler_src, smp, &slot) != 0)
		return 1;
	if (sampler_node(&g, smp, NULL, 0) != 0)
		return 1;
	/* The decoder's VAE: the sampling checkpoint's. */
	{
		const struct comfy_origin *o = comfy_origin_of(p, "model");

		if (o != NULL && vae_of(&g, first, o->node) != 0)
			return 1;
	}
	return 0;
}

void
comfy_plan_free(struct comfy_plan *p)
{
	int k;

	if (p == NULL)
		return;
	json_object_put(p->job);
	for (k = 0; k < COMFY_NIMG; k++)
		free(p->image[k]);
	memset(p, 0, sizeof(*p));
}

const struct comfy_origin *
comfy_origin_of(const struct comfy_plan *p, const char *field)
{
	int i;

	for (i = 0; i < p->norigins; i++)
		if (!strcmp(p->origin[i].field, field))
			return &p->origin[i];
	return NULL;
}

json_object *
comfy_error_json(const struct comfy_error *errors, int n,
	const struct comfy_plan *p)
{
	json_object *o = json_object_new_object(), *err, *ne, *x;
	struct buf d = { 0 };
	int i, k;

	if (o == NULL || n < 1)
		return o;
	ne = json_object_new_object();
	err = json_object_new_object();
	/* The whole prompt's error: the first one's for a prompt-wide
	 * refusal, ComfyUI's summary of the nodes' otherwise. */
	if (errors[0].node[0] == '\0' ||
	    !strcmp(errors[0].type, "invalid_prompt")) {
		json_object_object_add(err, "type",
			json_object_new_string(errors[0].type));
		json_object_object_add(err, "message",
			json_object_new_string(errors[0].message));
		json_object_object_add(err, "details",
			json_object_new_string(errors[0].details));
	} else {
		for (i = 0; i < n; i++)
			buf_printf(&d, "%s%s: %s", i ? "\n" : "",
				errors[i].message, errors[i].details);
		json_object_object_add(err, "type", json_object_new_string(
			"prompt_outputs_failed_validation"));
		json_object_object_add(err, "message", json_object_new_string(
			"Prompt outputs failed validation"));
		json_object_object_add(err, "details",
			json_object_new_string(d.data ? d.data : ""));
	}
	json_object_object_add(err, "extra_info", json_object_new_object());
	for (i = 0; i < n; i++) {
		const struct comfy_error *e = &errors[i];
		json_object *one, *list, *extra;

		if (e->node[0] == '\0')
			continue;
		if (!json_object_object_get_ex(ne, e->node, &x)) {
			json_object *deps = json_object_new_array();

			x = json_object_new_object();
			json_object_object_add(x, "errors",
				json_object_new_array());
			for (k = 0; p != NULL && k < p->noutputs; k++)
				json_object_array_add(deps,
					json_object_new_string(p->outputs[k]));
			json_object_object_add(x, "dependent_outputs", deps);
			json_object_object_add(x, "class_type",
				json_object_new_string(e->class_type));
			json_object_object_add(ne, e->node, x);
		}
		json_object_object_get_ex(x, "errors", &list);
		one = json_object_new_object();
		json_object_object_add(one, "type",
			json_object_new_string(e->type));
		json_object_object_add(one, "message",
			json_object_new_string(e->message));
		json_object_object_add(one, "details",
			json_object_new_string(e->details));
		extra = json_object_new_object();
		if (e->input[0] != '\0')
			json_object_object_add(extra, "input_name",
				json_object_new_string(e->input));
		json_object_object_add(one, "extra_info", extra);
		json_object_array_add(list, one);
	}
	json_object_object_add(o, "error", err);
	json_object_object_add(o, "node_errors", ne);
	buf_free(&d);
	return o;
}

/* A combo's choices. */
static json_object *
choices(const struct cin *in, const struct comfy_lists *l)
{
	json_object *a = json_object_new_array();
	const char *const *names = NULL;
	int n = 0, i;

	switch (in->src) {
	case S_CKPT:
		names = l->checkpoints;
		n = l->ncheckpoints;
		break;
	case S_LORA:
		names = l->loras;
		n = l->nloras;
		break;
	case S_CN:
		names = l->controlnets;
		n = l->ncontrolnets;
		break;
	case S_UPSCALER:
		names = l->upscalers;
		n = l->nupscalers;
		break;
	case S_IMAGES:
		names = l->images;
		n = l->nimages;
		break;
	case S_FIXED:
		for (i = 0; in->choices[i] != NULL; i++)
			json_object_array_add(a,
				json_object_new_string(in->choices[i]));
		return a;
	case S_NONE:
		break;
	}
	/* kiln's names, without ".safetensors": kiln's models may be
	 * folders. The walk takes either spelling. */
	for (i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(names[i]));
	return a;
}

json_object *
comfy_node_info(const char *cls, const struct comfy_lists *l)
{
	const struct cnode *d = node_def(cls);
	json_object *o, *input, *req, *opt, *order, *oreq, *oopt, *outs;
	json_object *names, *islist, *spec, *cfg;
	int i;

	if (d == NULL)
		return NULL;
	o = json_object_new_object();
	input = json_object_new_object();
	req = json_object_new_object();
	opt = json_object_new_object();
	oreq = json_object_new_array();
	oopt = json_object_new_array();
	for (i = 0; i < 14 && d->in[i].name != NULL; i++) {
		const struct cin *in = &d->in[i];

		spec = json_object_new_array();
		cfg = NULL;
		if (!strcmp(in->type, "COMBO")) {
			json_object_array_add(spec, choices(in, l));
			if (in->src == S_IMAGES) {
				cfg = json_object_new_object();
				json_object_object_add(cfg, "image_upload",
					json_object_new_boolean(1));
			}
		} else {
			json_object_array_add(spec,
				json_object_new_string(in->type));
		}
		if (!strcmp(in->type, "INT") || !strcmp(in->type, "FLOAT")) {
			int isint = in->type[0] == 'I';

			cfg = json_object_new_object();
			json_object_object_add(cfg, "default", isint ?
				json_object_new_int64((int64_t)in->def) :
				jdouble(in->def));
			json_object_object_add(cfg, "min", isint ?
				json_object_new_int64((int64_t)in->min) :
				jdouble(in->min));
			/* The seeds' 2^64 - 1 is past int64. */
			json_object_object_add(cfg, "max", isint &&
				in->max < 9.2e18 ? json_object_new_int64(
				(int64_t)in->max) : isint ?
				json_object_new_uint64(UINT64_MAX) :
				jdouble(in->max));
			json_object_object_add(cfg, "step", isint ?
				json_object_new_int64((int64_t)in->step) :
				jdouble(in->step));
		} else if (!strcmp(in->type, "STRING")) {
			cfg = json_object_new_object();
			if (!strcmp(in->name, "text")) {
				json_object_object_add(cfg, "multiline",
					json_object_new_boolean(1));
				json_object_object_add(cfg, "dynamicPrompts",
					json_object_new_boolean(1));
			} else {
				json_object_object_add(cfg, "default",
					json_object_new_string(in->sdef));
			}
		} else if (!strcmp(in->type, "BOOLEAN")) {
			cfg = json_object_new_object();
			json_object_object_add(cfg, "default",
				json_object_new_boolean(1));
		}
		if (cfg != NULL)
			json_object_array_add(spec, cfg);
		json_object_object_add(in->optional ? opt : req, in->name,
			spec);
		json_object_array_add(in->optional ? oopt : oreq,
			json_object_new_string(in->name));
	}
	json_object_object_add(input, "required", req);
	if (json_object_object_length(opt) > 0)
		json_object_object_add(input, "optional", opt);
	else
		json_object_put(opt);
	json_object_object_add(o, "input", input);
	order = json_object_new_object();
	json_object_object_add(order, "required", oreq);
	if (json_object_array_length(oopt) > 0)
		json_object_object_add(order, "optional", oopt);
	else
		json_object_put(oopt);
	json_object_object_add(o, "input_order", order);
	outs = json_object_new_array();
	names = json_object_new_array();
	islist = json_object_new_array();
	for (i = 0; i < 3 && d->out[i] != NULL; i++) {
		json_object_array_add(outs, json_object_new_string(d->out[i]));
		json_object_array_add(names,
			json_object_new_string(d->outname[i]));
		json_object_array_add(islist, json_object_new_boolean(0));
	}
	json_object_object_add(o, "output", outs);
	json_object_object_add(o, "output_is_list", islist);
	json_object_object_add(o, "output_name", names);
	json_object_object_add(o, "name", json_object_new_string(d->name));
	json_object_object_add(o, "display_name",
		json_object_new_string(d->display));
	json_object_object_add(o, "description",
		json_object_new_string(d->description));
	json_object_object_add(o, "python_module",
		json_object_new_string("nodes"));
	json_object_object_add(o, "category",
		json_object_new_string(d->category));
	json_object_object_add(o, "output_node",
		json_object_new_boolean(d->output_node));
	return o;
}
