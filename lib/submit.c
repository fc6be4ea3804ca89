/* submit.c - new jobs checked once, queued, and read back for their
 * owner. */
#include "submit.h"
#include "accounts.h"
#include "app.h"
#include "auth.h"
#include "config.h"
#include "db.h"
#include "teams.h"
#include "extras.h"
#include "imgexport.h"
#include "jobs.h"
#include "loras.h"
#include "models.h"
#include "log.h"
#include "netpolicy.h"
#include "request.h"
#include "samplers.h"
#include "storage.h"
#include "upload.h"
#include "util.h"

#include "i18n.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const job_samplers[] = {
#define JOB_SAMPLER(kind, name, display) name,
	KILN_SAMPLERS(JOB_SAMPLER)
#undef JOB_SAMPLER
};
const size_t job_nsamplers = ARRAY_LEN(job_samplers);

/* The formatted field and refusal messages are translated while a page
 * checks a form (job_spec_lang, TR: the format before it is filled in);
 * the fixed messages are translated by the page's spec_err_fn. */
void
job_spec_lang(const char *lang)
{
	i18n_msg_lang(lang);
}

void
job_spec_free(struct job_spec *s)
{
	free(s->prompt);
	free(s->negative);
	free(s->model);
	free(s->sampler);
	free(s->webhook_url);
	free(s->hires_upscaler);
	free(s->cn_model);
	free(s->cn_pre);
	free(s->upscaler);
	free(s->manifest);
	free(s->manifest_presets);
	upload_image_free(&s->init);
	upload_image_free(&s->mask);
	upload_image_free(&s->control);
	memset(s, 0, sizeof(*s));
}

/* What is made of a ControlNet's image (the engine's gen_preprocessor). */
static const char *const cn_preprocessors[] = { "none", "canny", NULL };

/* What a job does: diffuse (txt2img, img2img...) or only upscale. */
static const char *const job_kinds[] = { "generate", "upscale", NULL };

/* The formats a job's ZIP may carry (imgexport.h's names, in its
 * order). */
static const char *const output_formats[] = { "png", "png16", "tiff16",
	"tiff32", "exr", "exr16", NULL };

/* Every field a job takes: its type and range (texts: bytes; prompts
 * may hold line breaks and tabs, names and URLs not). In a form an empty
 * box means "the default", as an absent field, but for the prompt. */
const struct input job_inputs[] = {
	[JOB_IN_PROMPT] = { .name = "prompt", .type = IN_STR,
		.flags = IN_TEXT | IN_LINES, .min = 1, .max = PROMPT_MAX },
	[JOB_IN_NEGATIVE] = { .name = "negative_prompt", .type = IN_STR,
		.flags = IN_TEXT | IN_LINES | IN_BLANK, .max = PROMPT_MAX },
	[JOB_IN_MODEL] = { .name = "model", .type = IN_STR,
		.flags = IN_TEXT | IN_BLANK, .min = 1, .max = 64 },
	[JOB_IN_SAMPLER] = { .name = "sampler", .type = IN_STR,
		.flags = IN_TEXT | IN_BLANK, .min = 1, .max = 32 },
	[JOB_IN_WEBHOOK] = { .name = "webhook_url", .type = IN_STR,
		.flags = IN_TEXT | IN_BLANK, .max = 2048 },
	[JOB_IN_WIDTH] = { .name = "width", .type = IN_INT, .flags = IN_BLANK,
		.min = JOB_SIDE_MIN, .max = JOB_SIDE_MAX },
	[JOB_IN_HEIGHT] = { .name = "height", .type = IN_INT,
		.flags = IN_BLANK, .min = JOB_SIDE_MIN, .max = JOB_SIDE_MAX },
	[JOB_IN_STEPS] = { .name = "steps", .type = IN_INT, .flags = IN_BLANK,
		.min = 1, .max = JOB_STEPS_MAX },
	[JOB_IN_CFG] = { .name = "cfg_scale", .type = IN_DEC,
		.flags = IN_BLANK, .min = 0, .max = (long)JOB_CFG_MAX },
	[JOB_IN_SEED] = { .name = "seed", .type = IN_INT, .flags = IN_BLANK,
		.min = 0, .max = (long)JOB_SEED_MAX },
	[JOB_IN_BATCH] = { .name = "batch_count", .type = IN_INT,
		.flags = IN_BLANK, .min = 1, .max = BATCH_MAX },
	/* A form's "name:weight, ..." (lora_list_parse); a JSON body's is
	 * an array of {"name", "weight"} (lora_json_parse). */
	[JOB_IN_LORAS] = { .name = "loras", .type = IN_STR,
		.flags = IN_TEXT | IN_BLANK, .max = 1024 },
	[JOB_IN_HIRES_SCALE] = { .name = "hires_scale", .type = IN_DEC,
		.flags = IN_BLANK, .min = 1, .max = JOB_HIRES_SCALE_MAX },
	[JOB_IN_HIRES_STRENGTH] = { .name = "hires_strength", .type = IN_DEC,
		.flags = IN_BLANK, .min = 0, .max = 1 },
	[JOB_IN_HIRES_STEPS] = { .name = "hires_steps", .type = IN_INT,
		.flags = IN_BLANK, .min = 0, .max = JOB_STEPS_MAX },
	[JOB_IN_HIRES_UPSCALER] = { .name = "hires_upscaler", .type = IN_STR,
		.flags = IN_TEXT | IN_BLANK, .min = 1, .max = 64 },
	/* The images: base64 in a JSON body (job_image_given), files in a
	 * multipart form (req_file); never a form's text field. */
	[JOB_IN_INIT_IMAGE] = { .name = "init_image", .type = IN_STR,
		.flags = IN_BLANK, .max = 1 },
	[JOB_IN_MASK] = { .name = "mask", .type = IN_STR, .flags = IN_BLANK,
		.max = 1 },
	[JOB_IN_CONTROL_IMAGE] = { .name = "control_image", .type = IN_STR,
		.flags = IN_BLANK, .max = 1 },
	[JOB_IN_DENOISING] = { .name = "denoising_strength", .type = IN_DEC,
		.flags = IN_BLANK, .min = 0, .max = 1 },
	[JOB_IN_RESIZE_MODE] = { .name = "resize_mode", .type = IN_INT,
		.flags = IN_BLANK, .min = 0, .max = 2 },
	[JOB_IN_MASK_BLUR] = { .name = "mask_blur", .type = IN_INT,
		.flags = IN_BLANK, .min = 0, .max = JOB_MASK_BLUR_MAX },
	[JOB_IN_INPAINTING_FILL] = { .name = "inpainting_fill", .type = IN_INT,
		.flags = IN_BLANK, .min = 0, .max = 3 },
	[JOB_IN_FULL_RES] = { .name = "inpaint_full_res", .type = IN_BOOL,
		.flags = IN_BLANK, .max = 1 },
	[JOB_IN_FULL_RES_PAD] = { .name = "inpaint_full_res_padding",
		.type = IN_INT, .flags = IN_BLANK, .min = 0,
		.max = JOB_PAD_MAX },
	[JOB_IN_MASK_INVERT] = { .name = "inpainting_mask_invert",
		.type = IN_BOOL, .flags = IN_BLANK, .max = 1 },
	/* A JSON body's {"left": 64, ...}; a form's "left:64,down:32". */
	[JOB_IN_OUTPAINT] = { .name = "outpaint", .type = IN_STR,
		.flags = IN_TEXT | IN_BLANK, .max = 128 },
	[JOB_IN_CN_MODEL] = { .name = "controlnet_model", .type = IN_STR,
		.flags = IN_TEXT | IN_BLANK, .min = 1, .max = 64 },
	[JOB_IN_CN_WEIGHT] = { .name = "controlnet_weight", .type = IN_DEC,
		.flags = IN_BLANK, .min = 0, .max = 2 },
	[JOB_IN_CN_START] = { .name = "controlnet_guidance_start",
		.type = IN_DEC, .flags = IN_BLANK, .min = 0, .max = 1 },
	[JOB_IN_CN_END] = { .name = "controlnet_guidance_end", .type = IN_DEC,
		.flags = IN_BLANK, .min = 0, .max = 1 },
	[JOB_IN_CN_PRE] = { .name = "controlnet_preprocessor", .type = IN_ENUM,
		.flags = IN_BLANK, .max = 1, .choices = cn_preprocessors },
	[JOB_IN_CN_LOW] = { .name = "controlnet_low_threshold", .type = IN_DEC,
		.flags = IN_BLANK, .min = 0, .max = 255 },
	[JOB_IN_CN_HIGH] = { .name = "controlnet_high_threshold",
		.type = IN_DEC, .flags = IN_BLANK, .min = 0, .max = 255 },
	[JOB_IN_KIND] = { .name = "kind", .type = IN_ENUM, .flags = IN_BLANK,
		.max = 1, .choices = job_kinds },
	[JOB_IN_UPSCALER] = { .name = "upscaler", .type = IN_STR,
		.flags = IN_TEXT | IN_BLANK, .min = 1, .max = 64 },
	[JOB_IN_UPSCALE_BY] = { .name = "upscale_by", .type = IN_DEC,
		.flags = IN_BLANK, .min = 1, .max = JOB_UPSCALE_BY_MAX },
	[JOB_IN_UPSCALE_CROP] = { .name = "upscale_crop", .type = IN_BOOL,
		.flags = IN_BLANK, .max = 1 },
	[JOB_IN_OUTPUT_FORMAT] = { .name = "output_format", .type = IN_ENUM,
		.flags = IN_BLANK, .max = 1, .choices = output_formats },
	[JOB_NINPUTS] = IN_END,
};

const char *const job_outpaint_sides[4] = { "left", "right", "up", "down" };

/* One field's value, as given (NULL text / have 0 when absent). */
struct given {
	const char *text;
	double num;
	json_object *json;	/* a JSON body's loras array, outpaint */
	/* An image field's bytes: decoded from base64 (owned, freed after
	 * the spec is made) or a form's file (borrowed). */
	uint8_t *bytes;
	size_t nbytes;
	int owned;
	int have;
	int seen;	/* named in the input, even if refused */
};

static void
range_error(const struct input *f, spec_err_fn err, void *arg)
{
	char msg[160];

	if (f->type == IN_BOOL)
		snprintf(msg, sizeof(msg), TR("must be true or false (1 or 0)"));
	else if (f->type == IN_ENUM) {
		struct buf b = { 0 };
		size_t i;

		for (i = 0; f->choices[i] != NULL; i++)
			buf_printf(&b, "%s%s", i ? ", " : "", f->choices[i]);
		snprintf(msg, sizeof(msg), TR("must be one of %s"),
			b.data ? b.data : "");
		buf_free(&b);
	} else if (f->type == IN_STR)
		snprintf(msg, sizeof(msg), f->min > 0 ?
			TR("must be text of 1 to %ld bytes") :
			TR("must be text of at most %ld bytes"), f->max);
	else if (f->type == IN_INT)
		snprintf(msg, sizeof(msg), TR("must be a whole number from %ld "
			"to %ld"), f->min, f->max);
	else
		snprintf(msg, sizeof(msg), TR("must be a number from %g to %g"),
			(double)f->min, (double)f->max);
	err(arg, f->name, msg);
}

/* Parses a number field's text (a JSON number as it was written) by the
 * rule a form's takes, in_check's: plain decimal digits, a fraction only
 * for IN_DEC, within the field's range. Returns 0 with *num, or -1 (the
 * caller reports range_error). */
static int
parse_number(const struct input *f, const char *text, double *num)
{
	struct in_value v;

	if (in_check(f, text, &v) != 0)
		return -1;
	*num = f->type == IN_DEC ? v.d : (double)v.n;
	return 0;
}

/* Checks one given text against its field, each fault with its own
 * message: a control character is no length problem. Returns 1 when
 * fine. Numbers were checked as they were parsed. */
static int
check_given(const struct input *f, struct given *g, spec_err_fn err,
	void *arg)
{
	struct in_value v;

	if (f->type != IN_STR || in_check(f, g->text, &v) == 0)
		return 1;
	switch (v.fault) {
	case IN_EMPTY:
		err(arg, f->name, "is required");
		break;
	case IN_CONTROL:
		err(arg, f->name, "contains a control character");
		break;
	case IN_BAD_UTF8:
		err(arg, f->name, "must be valid UTF-8");
		break;
	default:
		range_error(f, err, arg);
		break;
	}
	return 0;
}

/*
 * The job's LoRAs into s: the "loras" field's (a JSON array or a form's
 * list), then the prompt's <lora:...> tags, each named once. A problem
 * of the field goes to loras[i].name ("loras" for a form), one of a tag
 * to "prompt". Returns the number of problems.
 */
static int
job_loras(struct given *g, struct job_spec *s, spec_err_fn err, void *arg)
{
	char msg[256], e[512], field[32];
	int bad = 0, i, j;

	s->nloras = 0;
	s->loras_json = g[JOB_IN_LORAS].json != NULL;
	if (s->loras_json) {
		bad += lora_json_parse(g[JOB_IN_LORAS].json, s->loras,
			JOB_LORAS_MAX, &s->nloras, err, arg);
	} else if (g[JOB_IN_LORAS].have && lora_list_parse(
	    g[JOB_IN_LORAS].text, s->loras, JOB_LORAS_MAX, &s->nloras, e,
	    sizeof(e)) != 0) {
		err(arg, "loras", e);
		bad++;
	}
	s->nfield = s->nloras;
	if (lora_tags_parse(s->prompt, s->loras, JOB_LORAS_MAX, &s->nloras, e,
	    sizeof(e)) != 0) {
		err(arg, "prompt", e);
		bad++;
	}
	for (i = 0; i < s->nloras && bad == 0; i++) {
		for (j = 0; j < i; j++)
			if (!strcmp(s->loras[j].name, s->loras[i].name))
				break;
		if (j == i)
			continue;
		snprintf(msg, sizeof(msg), j < s->nfield && i >= s->nfield ?
			TR("LoRA %s is named twice (in loras and in the "
			"prompt)") : TR("LoRA %s is named twice"),
			s->loras[i].name);
		if (i < s->nfield)
			snprintf(field, sizeof(field), s->loras_json ?
				"loras[%d].name" : "loras", i);
		err(arg, i < s->nfield ? field : "prompt", msg);
		bad++;
	}
	return bad;
}

/* Completes and checks the job from the given values. */
/* The hires fix's fields: all of them need hires_scale, which must
 * enlarge. Returns the number of problems. */
static int
job_hires(const struct given *g, struct job_spec *s, spec_err_fn err,
	void *arg)
{
	static const enum job_input dep[] = { JOB_IN_HIRES_STRENGTH,
		JOB_IN_HIRES_STEPS, JOB_IN_HIRES_UPSCALER };
	const char *up;
	int bad = 0;
	size_t k;

	if (!g[JOB_IN_HIRES_SCALE].have) {
		for (k = 0; k < ARRAY_LEN(dep); k++)
			if (g[dep[k]].have) {
				err(arg, job_inputs[dep[k]].name, "needs "
					"hires_scale (the hires fix is off "
					"without it)");
				bad++;
			}
		return bad;
	}
	s->hires_scale = g[JOB_IN_HIRES_SCALE].num;
	if (!(s->hires_scale > 1.0)) {
		err(arg, "hires_scale", "must be more than 1 (leave it out "
			"for no hires fix)");
		bad++;
	}
	s->hires_strength = g[JOB_IN_HIRES_STRENGTH].have ?
		g[JOB_IN_HIRES_STRENGTH].num : JOB_HIRES_STRENGTH;
	if (!(s->hires_strength > 0.0)) {
		err(arg, "hires_strength", "must be more than 0");
		bad++;
	}
	s->hires_steps = g[JOB_IN_HIRES_STEPS].have ?
		(long)g[JOB_IN_HIRES_STEPS].num : 0;
	up = g[JOB_IN_HIRES_UPSCALER].have ? g[JOB_IN_HIRES_UPSCALER].text :
		"latent";
	s->hires_upscaler = xstrdup(up);
	return bad;
}

/* 1 for the image fields. */
static int
is_image_field(size_t k)
{
	return k == JOB_IN_INIT_IMAGE || k == JOB_IN_MASK ||
		k == JOB_IN_CONTROL_IMAGE;
}

/* Decodes and checks the given images into s (upload_image_check): each
 * problem names its field. A mask must have an init image of its size.
 * Returns the number of problems. */
static int
job_images(const struct kiln_config *c, const struct given *g,
	struct job_spec *s, spec_err_fn err, void *arg)
{
	struct upload_image *dst[3] = { &s->init, &s->mask, &s->control };
	static const enum job_input k[3] = { JOB_IN_INIT_IMAGE, JOB_IN_MASK,
		JOB_IN_CONTROL_IMAGE };
	struct upload_limits l;
	char msg[512];
	int bad = 0, i;

	upload_limits_of(c, &l);
	for (i = 0; i < 3; i++) {
		if (!g[k[i]].have)
			continue;
		if (upload_image_check(g[k[i]].bytes, g[k[i]].nbytes, &l,
		    dst[i], msg, sizeof(msg)) != 0) {
			err(arg, job_inputs[k[i]].name, msg);
			bad++;
		}
	}
	if (g[JOB_IN_MASK].have && !g[JOB_IN_INIT_IMAGE].have) {
		err(arg, "mask", "needs init_image (the image to inpaint)");
		bad++;
	} else if (s->mask.w > 0 && s->init.w > 0 && (s->mask.w != s->init.w ||
	    s->mask.h != s->init.h)) {
		snprintf(msg, sizeof(msg), TR("is %dx%d; it must be the size of "
			"init_image, %dx%d"), s->mask.w, s->mask.h, s->init.w,
			s->init.h);
		err(arg, "mask", msg);
		bad++;
	}
	return bad;
}

/* A form's outpaint text, "left:64,down:32" (sides once each), or a JSON
 * body's object {"left": 64, ...}, into pad. Returns 0, or -1 with why
 * in msg. */
static int
outpaint_parse(const struct given *g, int pad[4], char *msg, size_t n)
{
	char side[16];
	long v;
	int k;

	memset(pad, 0, 4 * sizeof(*pad));
	if (g->json != NULL) {
		json_object_object_foreach(g->json, key, val) {
			for (k = 0; k < 4; k++)
				if (!strcmp(key, job_outpaint_sides[k]))
					break;
			if (k == 4)
				return errf(msg, n, TR("%.32s is not a side "
					"(left, right, up, down)"), key);
			if (!json_object_is_type(val, json_type_int) ||
			    parse_long(json_object_to_json_string_ext(val,
			    JSON_C_TO_STRING_PLAIN), 0, JOB_OUTPAINT_MAX,
			    &v) != 0)
				return errf(msg, n, TR("%s must be a whole number "
					"of pixels from 0 to %d"), key,
					JOB_OUTPAINT_MAX);
			pad[k] = (int)v;
		}
		return 0;
	}
	{
		const char *p = g->text;

		while (*p != '\0') {
			size_t len = strcspn(p, ":,");
			char num[16];
			size_t nl;

			if (len == 0 || len >= sizeof(side) || p[len] != ':')
				return errf(msg, n, TR("must be SIDE:PIXELS, "
					"comma-separated (left:64,down:32)"));
			memcpy(side, p, len);
			side[len] = '\0';
			p += len + 1;
			nl = strcspn(p, ",");
			if (nl == 0 || nl >= sizeof(num))
				return errf(msg, n, TR("%s: needs a number of "
					"pixels"), side);
			memcpy(num, p, nl);
			num[nl] = '\0';
			p += nl;
			if (*p == ',')
				p++;
			for (k = 0; k < 4; k++)
				if (!strcmp(side, job_outpaint_sides[k]))
					break;
			if (k == 4)
				return errf(msg, n, TR("%s is not a side (left, "
					"right, up, down)"), side);
			if (parse_long(num, 0, JOB_OUTPAINT_MAX, &v) != 0 ||
			    pad[k] != 0)
				return errf(msg, n, TR("%s: must be 0 to %d "
					"pixels, given once"), side,
					JOB_OUTPAINT_MAX);
			pad[k] = (int)v;
		}
	}
	return 0;
}

/* The size an init image is rendered at when the job names none: its
 * own, to the nearest multiple of the model's grid (kiln-render's rule),
 * grown by an outpaint first. */
static long
init_side(const struct job_spec *s, long side, int a, int b)
{
	long m = s->model_multiple > 0 ? s->model_multiple : 8;

	side += a + b;
	if (a + b > 0)			/* the canvas grows to the grid */
		side = (side + m - 1) / m * m;
	return side < m ? m : (side + m / 2) / m * m;
}

/* The fields that need an init image, a mask or a ControlNet, given
 * without them, each named. Returns the number of problems. */
static int
needs(const struct given *g, const enum job_input *list, size_t n,
	const char *why, spec_err_fn err, void *arg)
{
	int bad = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (g[list[i]].have) {
			err(arg, job_inputs[list[i]].name, why);
			bad++;
		}
	return bad;
}

/* The img2img, inpainting and ControlNet parameters into s, A1111's
 * defaults for the ones left out, each checked against the images it
 * needs. Runs after the images, the size and the steps are known.
 * Returns the number of problems. */
static int
job_image_params(const struct given *g, struct job_spec *s,
	spec_err_fn err, void *arg)
{
	static const enum job_input img2img[] = { JOB_IN_DENOISING,
		JOB_IN_RESIZE_MODE, JOB_IN_OUTPAINT };
	static const enum job_input inpaint[] = { JOB_IN_MASK_BLUR,
		JOB_IN_INPAINTING_FILL };
	static const enum job_input masked[] = { JOB_IN_FULL_RES,
		JOB_IN_FULL_RES_PAD, JOB_IN_MASK_INVERT };
	static const enum job_input cn[] = { JOB_IN_CN_WEIGHT,
		JOB_IN_CN_START, JOB_IN_CN_END, JOB_IN_CN_PRE, JOB_IN_CN_LOW,
		JOB_IN_CN_HIGH };
	int bad = 0, out = 0, k;
	char msg[256];

	if (!g[JOB_IN_INIT_IMAGE].have) {
		bad += needs(g, img2img, ARRAY_LEN(img2img), "needs "
			"init_image", err, arg);
	} else {
		s->denoising = g[JOB_IN_DENOISING].have ?
			g[JOB_IN_DENOISING].num : JOB_DENOISING;
		s->resize_mode = g[JOB_IN_RESIZE_MODE].have ?
			(int)g[JOB_IN_RESIZE_MODE].num : 0;
		/* The engine's rule (sampler_range): int(steps x strength)
		 * steps of the schedule run. */
		if ((long)((double)s->steps * s->denoising) < 1) {
			snprintf(msg, sizeof(msg), TR("runs no step: %ld steps x "
				"%g is under 1 (raise it or steps)"), s->steps,
				s->denoising);
			err(arg, "denoising_strength", msg);
			bad++;
		}
	}
	if (g[JOB_IN_OUTPAINT].have && g[JOB_IN_INIT_IMAGE].have) {
		if (outpaint_parse(&g[JOB_IN_OUTPAINT], s->outpaint, msg,
		    sizeof(msg)) != 0) {
			err(arg, "outpaint", msg);
			bad++;
		}
		for (k = 0; k < 4; k++)
			out += s->outpaint[k];
		if (out > 0 && g[JOB_IN_MASK].have) {
			err(arg, "outpaint", "the new area is the mask: leave "
				"mask out");
			bad++;
		}
	}
	if (g[JOB_IN_MASK].have || out > 0) {
		s->inpaint = 1;
		s->mask_blur = g[JOB_IN_MASK_BLUR].have ?
			(int)g[JOB_IN_MASK_BLUR].num : 4;
		/* An outpaint's new area starts from the edge's colours
		 * (kiln-render's default), a mask's from the image. */
		s->inpainting_fill = g[JOB_IN_INPAINTING_FILL].have ?
			(int)g[JOB_IN_INPAINTING_FILL].num : out > 0 ? 0 : 1;
		s->full_res = g[JOB_IN_FULL_RES].have &&
			g[JOB_IN_FULL_RES].num != 0;
		s->full_res_pad = g[JOB_IN_FULL_RES_PAD].have ?
			(int)g[JOB_IN_FULL_RES_PAD].num : 32;
		s->mask_invert = g[JOB_IN_MASK_INVERT].have &&
			g[JOB_IN_MASK_INVERT].num != 0;
		if (out > 0)
			bad += needs(g, masked, ARRAY_LEN(masked), "needs mask "
				"(not with outpaint)", err, arg);
	} else {
		bad += needs(g, inpaint, ARRAY_LEN(inpaint), "needs mask or "
			"outpaint", err, arg);
		bad += needs(g, masked, ARRAY_LEN(masked), "needs mask", err,
			arg);
	}
	if (g[JOB_IN_CN_MODEL].have != g[JOB_IN_CONTROL_IMAGE].have) {
		err(arg, g[JOB_IN_CN_MODEL].have ? "controlnet_model" :
			"control_image", g[JOB_IN_CN_MODEL].have ? "needs "
			"control_image" : "needs controlnet_model");
		bad++;
	}
	if (!g[JOB_IN_CN_MODEL].have)
		return bad + needs(g, cn, ARRAY_LEN(cn), "needs "
			"controlnet_model", err, arg);
	s->cn_model = xstrdup(g[JOB_IN_CN_MODEL].text);
	s->cn_weight = g[JOB_IN_CN_WEIGHT].have ? g[JOB_IN_CN_WEIGHT].num : 1;
	s->cn_start = g[JOB_IN_CN_START].have ? g[JOB_IN_CN_START].num : 0;
	s->cn_end = g[JOB_IN_CN_END].have ? g[JOB_IN_CN_END].num : 1;
	s->cn_pre = xstrdup(g[JOB_IN_CN_PRE].have ? g[JOB_IN_CN_PRE].text :
		"none");
	if (s->cn_start > s->cn_end) {
		err(arg, "controlnet_guidance_end", "must not be before "
			"controlnet_guidance_start");
		bad++;
	}
	if (strcmp(s->cn_pre, "canny") != 0) {
		static const enum job_input th[] = { JOB_IN_CN_LOW,
			JOB_IN_CN_HIGH };

		return bad + needs(g, th, ARRAY_LEN(th), "needs "
			"controlnet_preprocessor canny", err, arg);
	}
	/* cv2.Canny's defaults in sd-webui-controlnet. */
	s->cn_low = g[JOB_IN_CN_LOW].have ? g[JOB_IN_CN_LOW].num : 100;
	s->cn_high = g[JOB_IN_CN_HIGH].have ? g[JOB_IN_CN_HIGH].num : 200;
	if (s->cn_low > s->cn_high) {
		err(arg, "controlnet_high_threshold", "must not be below "
			"controlnet_low_threshold");
		bad++;
	}
	return bad;
}

/* An upscale job's fields (kind "upscale"): the init image, its
 * upscaler (lanczos when left out), upscale_by (A1111's default 2) or
 * width and height, with upscale_crop (default true); nothing that
 * diffuses, and no seed. Sized, the factor is A1111's extras' own,
 * max(width / w, height / h), and the image delivered is width x height
 * when cropped, else int(side x factor). Returns the number of
 * problems. */
static int
finish_upscale(const struct kiln_config *c, const struct given *g,
	struct job_spec *s, spec_err_fn err, void *arg)
{
	static const enum job_input used[] = { JOB_IN_KIND, JOB_IN_INIT_IMAGE,
		JOB_IN_UPSCALER, JOB_IN_UPSCALE_BY, JOB_IN_WIDTH,
		JOB_IN_HEIGHT, JOB_IN_UPSCALE_CROP, JOB_IN_WEBHOOK };
	const char *hook;
	char msg[256];
	int bad = 0, w = g[JOB_IN_WIDTH].have, h = g[JOB_IN_HEIGHT].have;
	size_t k, i;

	for (k = 0; k < JOB_NINPUTS; k++) {
		for (i = 0; i < ARRAY_LEN(used); i++)
			if (used[i] == k)
				break;
		if (i == ARRAY_LEN(used) && (g[k].seen || g[k].have)) {
			err(arg, job_inputs[k].name, "is not used by an "
				"upscale job (kind \"upscale\")");
			bad++;
		}
	}
	if (!g[JOB_IN_INIT_IMAGE].seen) {
		err(arg, "init_image", "is required: the image to upscale");
		bad++;
	}
	if (g[JOB_IN_UPSCALE_BY].have && (w || h)) {
		err(arg, "upscale_by", "give upscale_by, or width and height, "
			"not both");
		bad++;
	} else if (w != h) {
		err(arg, w ? "height" : "width", "is needed with the other "
			"side (the size to upscale to)");
		bad++;
	}
	if (g[JOB_IN_UPSCALE_CROP].have && !(w && h)) {
		err(arg, "upscale_crop", "needs width and height");
		bad++;
	}
	s->upscale = 1;
	s->upscale_sized = w && h;
	s->upscaler = xstrdup(g[JOB_IN_UPSCALER].have ?
		g[JOB_IN_UPSCALER].text : "lanczos");
	s->upscale_by = g[JOB_IN_UPSCALE_BY].have ?
		g[JOB_IN_UPSCALE_BY].num : JOB_UPSCALE_BY;
	if (s->init.w > 0 && s->upscale_sized) {
		long tw = (long)g[JOB_IN_WIDTH].num;
		long th = (long)g[JOB_IN_HEIGHT].num;
		double bw = (double)tw / s->init.w, bh = (double)th / s->init.h;

		s->upscale_by = bw > bh ? bw : bh;
		if (s->upscale_by < 1) {
			snprintf(msg, sizeof(msg), TR("is smaller than the "
				"image, %dx%d: an upscale job makes it larger"),
				s->init.w, s->init.h);
			err(arg, bw < 1 ? "width" : "height", msg);
			bad++;
		}
		if (!g[JOB_IN_UPSCALE_CROP].have ||
		    g[JOB_IN_UPSCALE_CROP].num != 0) {
			s->width = tw;
			s->height = th;
		}
	}
	if (s->init.w > 0 && s->width == 0) {
		s->width = (long)(s->init.w * s->upscale_by);
		s->height = (long)(s->init.h * s->upscale_by);
	}
	if (s->init.w > 0 && (s->width > JOB_SIDE_MAX ||
	    s->height > JOB_SIDE_MAX)) {
		snprintf(msg, sizeof(msg), TR("makes %ldx%ld of %dx%d, over the "
			"limit of %d"), s->width, s->height, s->init.w,
			s->init.h, JOB_SIDE_MAX);
		err(arg, s->upscale_sized ? "width" : "upscale_by", msg);
		bad++;
	}
	/* The row's recipe: the upscaler in model, one step, one image. */
	s->model = xstrdup(s->upscaler);
	s->prompt = xstrdup("");
	s->negative = xstrdup("");
	s->sampler = xstrdup("");
	s->steps = 1;
	s->batch = 1;
	hook = g[JOB_IN_WEBHOOK].have && *g[JOB_IN_WEBHOOK].text ?
		g[JOB_IN_WEBHOOK].text : NULL;
	s->webhook_url = hook != NULL ? xstrdup(hook) : NULL;
	if (s->webhook_url != NULL && hook_url_check(s->webhook_url,
	    c->webhook_allow, msg, sizeof(msg)) != 0) {
		err(arg, "webhook_url", msg);
		bad++;
	}
	s->store_cfg = c;
	s->upscalers_dir = c->upscalers_dir;
	return bad;
}

static int
finish(const struct kiln_config *c, struct given *g, struct job_spec *s,
	spec_err_fn err, void *arg)
{
	struct model_card *card = NULL;
	char **models = NULL, msg[1024], e[256];
	const char *hook;
	int nmodels, bad = 0, i;
	size_t k;

	for (k = 0; k < JOB_NINPUTS; k++)
		if (g[k].have && g[k].json == NULL && !is_image_field(k) &&
		    !check_given(&job_inputs[k], &g[k], err, arg))
			bad++;
	bad += job_images(c, g, s, err, arg);
	if (g[JOB_IN_KIND].have && !strcmp(g[JOB_IN_KIND].text, "upscale"))
		return bad + finish_upscale(c, g, s, err, arg);
	{
		static const enum job_input up[] = { JOB_IN_UPSCALER,
			JOB_IN_UPSCALE_BY, JOB_IN_UPSCALE_CROP };

		bad += needs(g, up, ARRAY_LEN(up), "needs kind \"upscale\" "
			"(hires_upscaler is the hires fix's)", err, arg);
	}
	if (!g[JOB_IN_PROMPT].have && !g[JOB_IN_PROMPT].seen) {
		err(arg, "prompt", "is required");
		bad++;
	}
	s->model = xstrdup(g[JOB_IN_MODEL].have ? g[JOB_IN_MODEL].text :
		c->default_model);
	nmodels = models_list(c->models_dir, &models);
	for (i = 0; i < nmodels; i++)
		if (!strcmp(models[i], s->model))
			break;
	if (nmodels < 0 || i == nmodels) {
		struct buf b = { 0 };

		buf_puts(&b, "unknown model; available: ");
		for (i = 0; i < nmodels; i++)
			buf_printf(&b, "%s%s", i ? ", " : "", models[i]);
		err(arg, "model", b.data ? b.data : "unknown model");
		buf_free(&b);
		bad++;
	} else if (model_card_load(c->models_dir, s->model, &card, e,
	    sizeof(e)) != 0) {
		snprintf(msg, sizeof(msg), TR("this model cannot be used: its "
			"card is broken"));
		err(arg, "model", msg);
		bad++;
	} else if (card->file_error != NULL) {
		snprintf(msg, sizeof(msg), TR("this model cannot be used: %s"),
			card->file_error);
		err(arg, "model", msg);
		bad++;
	}
	models_list_free(models, nmodels);

	if (card != NULL)
		s->model_multiple = card->multiple;
	/* An init image's own size (to the model's grid, grown by an
	 * outpaint); else the model card's defaults, its native size, then
	 * kiln's (A1111's). */
	if (s->init.w > 0) {
		int pad[4] = { 0, 0, 0, 0 };
		char e2[256];

		/* A bad outpaint is reported in job_image_params. */
		if (g[JOB_IN_OUTPAINT].have && outpaint_parse(
		    &g[JOB_IN_OUTPAINT], pad, e2, sizeof(e2)) != 0)
			memset(pad, 0, sizeof(pad));
		s->width = init_side(s, s->init.w, pad[0], pad[1]);
		s->height = init_side(s, s->init.h, pad[2], pad[3]);
	} else {
		s->width = card && card->width ? card->width :
			card && card->native_side ? card->native_side : 512;
		s->height = card && card->height ? card->height :
			card && card->native_side ? card->native_side : 512;
	}
	if (g[JOB_IN_WIDTH].have)
		s->width = (long)g[JOB_IN_WIDTH].num;
	if (g[JOB_IN_HEIGHT].have)
		s->height = (long)g[JOB_IN_HEIGHT].num;
	if (card != NULL) {
		s->model_multiple = card->multiple;
		s->model_max_side = card->max_side;
		s->model_max_steps = card->max_steps;
	}
	s->steps = g[JOB_IN_STEPS].have ? (long)g[JOB_IN_STEPS].num :
		card && card->steps ? card->steps : 20;
	s->cfg = g[JOB_IN_CFG].have ? g[JOB_IN_CFG].num :
		card && card->cfg > 0 ? card->cfg : 7.0;
	s->batch = g[JOB_IN_BATCH].have ? (long)g[JOB_IN_BATCH].num : 1;
	s->sampler = xstrdup(g[JOB_IN_SAMPLER].have ?
		g[JOB_IN_SAMPLER].text : card && *card->sampler ?
		card->sampler : "euler_a");
	/* An inpainting result is pasted into the 8-bit init image: it
	 * has no float master to make another format from. */
	s->output_format = g[JOB_IN_OUTPUT_FORMAT].have ?
		img_format_parse(g[JOB_IN_OUTPUT_FORMAT].text) : IMG_PNG;
	if (s->output_format < 0)
		s->output_format = IMG_PNG;	/* reported by check_given */
	if (s->output_format != IMG_PNG && s->inpaint) {
		err(arg, "output_format", TR("an inpainting job is delivered "
			"as PNG only"));
		bad++;
	}
	s->prompt = xstrdup(g[JOB_IN_PROMPT].have ? g[JOB_IN_PROMPT].text :
		"");
	s->negative = xstrdup(g[JOB_IN_NEGATIVE].have ?
		g[JOB_IN_NEGATIVE].text : "");
	hook = g[JOB_IN_WEBHOOK].have && *g[JOB_IN_WEBHOOK].text ?
		g[JOB_IN_WEBHOOK].text : NULL;
	s->webhook_url = hook != NULL ? xstrdup(hook) : NULL;
	bad += job_loras(g, s, err, arg);
	s->loras_dir = c->loras_dir;
	bad += job_hires(g, s, err, arg);
	s->upscalers_dir = c->upscalers_dir;
	bad += job_image_params(g, s, err, arg);
	s->store_cfg = c;
	s->controlnets_dir = c->controlnets_dir;
	if (card != NULL)
		s->model_type = card->type;
	model_card_free(card);
	if (g[JOB_IN_WIDTH].have && s->width % 8 != 0) {
		err(arg, "width", "must be a multiple of 8");
		bad++;
	}
	if (g[JOB_IN_HEIGHT].have && s->height % 8 != 0) {
		err(arg, "height", "must be a multiple of 8");
		bad++;
	}
	for (k = 0; k < job_nsamplers; k++)
		if (!strcmp(s->sampler, job_samplers[k]))
			break;
	if (k == job_nsamplers) {
		struct buf b = { 0 };

		buf_puts(&b, "unknown sampler; available: ");
		for (k = 0; k < job_nsamplers; k++)
			buf_printf(&b, "%s%s", k ? ", " : "", job_samplers[k]);
		err(arg, "sampler", b.data ? b.data : "unknown sampler");
		buf_free(&b);
		bad++;
	}
	/* Internal receivers only where the operator's allow list says;
	 * kilnd checks the resolved addresses again at delivery. */
	if (s->webhook_url != NULL && hook_url_check(s->webhook_url,
	    c->webhook_allow, msg, sizeof(msg)) != 0) {
		err(arg, "webhook_url", msg);
		bad++;
	}
	if (g[JOB_IN_SEED].have) {
		s->seed = (unsigned long long)g[JOB_IN_SEED].num;
	} else {
		uint32_t r;

		/* A drawn seed is reported back, so the image can be made
		 * again. */
		if (random_bytes(&r, sizeof(r)) != 0)
			return -1;
		s->seed = r;
	}
	return bad;
}

int
job_spec_from_json(json_object *body, const struct kiln_config *c,
	struct job_spec *s, spec_err_fn err, void *arg)
{
	struct given g[JOB_NINPUTS];
	int bad = 0, rc;
	size_t k;

	memset(s, 0, sizeof(*s));
	memset(g, 0, sizeof(g));
	json_object_object_foreach(body, key, val) {
		for (k = 0; k < JOB_NINPUTS; k++)
			if (!strcmp(key, job_inputs[k].name))
				break;
		if (k == JOB_NINPUTS) {
			err(arg, key, "unknown field");
			bad++;
			continue;
		}
		g[k].seen = 1;
		/* An array, read with the prompt's tags (job_loras). */
		if (k == JOB_IN_LORAS) {
			if (!json_object_is_type(val, json_type_array)) {
				err(arg, key, "must be an array of {\"name\", "
					"\"weight\"}");
				bad++;
				continue;
			}
			g[k].json = val;
			g[k].have = 1;
			continue;
		}
		/* An object of sides: outpaint_parse. */
		if (k == JOB_IN_OUTPAINT) {
			if (!json_object_is_type(val, json_type_object)) {
				err(arg, key, "must be an object of sides "
					"({\"left\": 64, \"down\": 32})");
				bad++;
				continue;
			}
			g[k].json = val;
			g[k].have = 1;
			continue;
		}
		/* An image as base64, decoded here and checked in finish
		 * (job_images). */
		if (is_image_field(k)) {
			char msg[256];

			if (!json_object_is_type(val, json_type_string)) {
				err(arg, key, "must be a string: the image as "
					"base64 or a data: URI");
				bad++;
				continue;
			}
			if (upload_base64_decode(json_object_get_string(val),
			    (size_t)json_object_get_string_len(val),
			    (size_t)c->upload_max_mb * 1048576, &g[k].bytes,
			    &g[k].nbytes, msg, sizeof(msg)) != 0) {
				err(arg, key, msg);
				bad++;
				continue;
			}
			g[k].owned = 1;
			g[k].have = 1;
			continue;
		}
		/* true or false (A1111's), or 1 or 0. */
		if (job_inputs[k].type == IN_BOOL) {
			if (json_object_is_type(val, json_type_boolean)) {
				g[k].num = json_object_get_boolean(val);
			} else if (!json_object_is_type(val, json_type_int) ||
			    parse_number(&(struct input){ .type = IN_INT,
			    .min = 0, .max = 1 }, json_object_to_json_string_ext(
			    val, JSON_C_TO_STRING_PLAIN), &g[k].num) != 0) {
				range_error(&job_inputs[k], err, arg);
				bad++;
				continue;
			}
			g[k].have = 1;
			continue;
		}
		if (job_inputs[k].type == IN_ENUM) {
			struct in_value v;

			if (!json_object_is_type(val, json_type_string) ||
			    in_check(&job_inputs[k], json_object_get_string(
			    val), &v) != 0) {
				range_error(&job_inputs[k], err, arg);
				bad++;
				continue;
			}
			g[k].text = v.s;
			g[k].have = 1;
			continue;
		}
		/* No field of a job is nullable (the OpenAPI document's
		 * JobRequest): null is a mistake, not "the default", which
		 * leaving the field out asks for. */
		if (job_inputs[k].type == IN_STR) {
			if (!json_object_is_type(val, json_type_string)) {
				err(arg, key, "must be a string");
				bad++;
				continue;
			}
			g[k].text = json_object_get_string(val);
			/* JSON can carry U+0000, which would cut the text
			 * short everywhere it goes. */
			if (strlen(g[k].text) !=
			    (size_t)json_object_get_string_len(val)) {
				err(arg, key, "contains a control character");
				bad++;
				continue;
			}
		} else {
			if (!json_object_is_type(val, json_type_int) &&
			    !json_object_is_type(val, json_type_double)) {
				err(arg, key, "must be a number");
				bad++;
				continue;
			}
			/* By its text, as a form's: 6.4e1 or 64.0 is no
			 * width here either. */
			if (parse_number(&job_inputs[k],
			    json_object_to_json_string_ext(val,
			    JSON_C_TO_STRING_PLAIN), &g[k].num) != 0) {
				range_error(&job_inputs[k], err, arg);
				bad++;
				continue;
			}
		}
		g[k].have = 1;
	}
	rc = finish(c, g, s, err, arg);
	for (k = 0; k < JOB_NINPUTS; k++)
		if (g[k].owned)
			free(g[k].bytes);
	return rc < 0 ? -1 : bad + rc;
}

int
job_spec_from_form(const struct kreq *req, struct job_spec *s,
	spec_err_fn err, void *arg)
{
	struct given g[JOB_NINPUTS];
	int bad = 0, rc;
	size_t k;

	memset(s, 0, sizeof(*s));
	memset(g, 0, sizeof(g));
	/* The values are req's inputs by job_inputs' keys. */
	if (req->inputs != job_inputs)
		return -1;
	for (k = 0; k < JOB_NINPUTS; k++) {
		const struct in_value *v = in_get(req, k);

		/* Absent, or an empty box: the default. */
		if (v->state == IN_ABSENT)
			continue;
		/* A text is judged in finish, by the rule a JSON body's
		 * takes, so that both get the same messages. */
		if (job_inputs[k].type == IN_STR && !is_image_field(k)) {
			g[k].have = 1;
			g[k].text = v->sent;
			continue;
		}
		/* An image is a file of the multipart form, not a text. */
		if (is_image_field(k))
			continue;
		if (v->state != IN_VALID) {
			range_error(&job_inputs[k], err, arg);
			bad++;
			continue;
		}
		g[k].have = 1;
		g[k].num = job_inputs[k].type == IN_DEC ? v->d : (double)v->n;
		g[k].text = v->s;	/* IN_ENUM's choice */
	}
	/* The images: files of a multipart form (borrowed from req). */
	for (k = 0; k < JOB_NINPUTS; k++) {
		const uint8_t *data;
		size_t len;

		if (is_image_field(k) && req_file(req, job_inputs[k].name,
		    &data, &len)) {
			g[k].bytes = (uint8_t *)data;
			g[k].nbytes = len;
			g[k].have = 1;
			g[k].seen = 1;
		}
	}
	rc = finish(&req->app->cfg, g, s, err, arg);
	return rc < 0 ? -1 : bad + rc;
}

int
job_image_ref_parse(const char *s, long *job, long *idx)
{
	const char *dash = s != NULL ? strchr(s, '-') : NULL;
	char head[24];
	size_t n;

	if (dash == NULL)
		return -1;
	n = (size_t)(dash - s);
	if (n == 0 || n >= sizeof(head))
		return -1;
	memcpy(head, s, n);
	head[n] = '\0';
	/* parse_long takes a leading minus: digits only here. */
	if (head[0] == '-' || dash[1] == '-')
		return -1;
	return parse_long(head, 1, 1L << 62, job) == 0 &&
		parse_long(dash + 1, 0, BATCH_MAX - 1, idx) == 0 ? 0 : -1;
}

/* A double for a DOUBLE column, by its shortest exact text. */
#define DBL_TEXT(buf, v) (snprintf((buf), sizeof(buf), "%.17g", (v)), \
	DB_STR(buf))

/* The storage key of a job's input of kind. */
static void
input_key(char *out, size_t n, unsigned long long id, const char *kind)
{
	snprintf(out, n, "jobs/%llu/inputs/%s.png", id, kind);
}

void
job_inputs_discard(const struct job_spec *s, unsigned long long id)
{
	struct storage *st;
	char key[96];

	if (s->init.w == 0 && s->control.w == 0)
		return;
	st = storage_open(s->store_cfg);
	if (st == NULL)
		return;
	snprintf(key, sizeof(key), "jobs/%llu", id);
	if (storage_remove_prefix(st, key) != 0)
		log_warn("job %llu: could not remove its inputs", id);
	storage_free(st);
}

/* Stores the job's images and records them in job_inputs. Returns 0, or
 * -1 (a file or a row could not be written). */
static int
inputs_store(struct db *db, const struct job_spec *s, unsigned long long id)
{
	static const char *const kinds[3] = { "init", "mask", "control" };
	const struct upload_image *im[3] = { &s->init, &s->mask, &s->control };
	struct storage *st;
	char key[96], err[512];
	int i, rc = -1;

	if (s->init.w == 0 && s->control.w == 0)
		return 0;
	st = storage_open(s->store_cfg);
	if (st == NULL)
		return -1;
	for (i = 0; i < 3; i++) {
		struct db_param p[7];

		if (im[i]->w == 0)
			continue;
		input_key(key, sizeof(key), id, kinds[i]);
		if (storage_put(st, key, im[i]->png, im[i]->png_len, err,
		    sizeof(err)) != 0) {
			log_error("job %llu: input %s: %s", id, kinds[i], err);
			goto out;
		}
		p[0] = DB_INT(id);
		p[1] = DB_STR(kinds[i]);
		p[2] = DB_STR(key);
		p[3] = DB_INT(im[i]->w);
		p[4] = DB_INT(im[i]->h);
		p[5] = DB_INT(im[i]->png_len);
		p[6] = DB_STR(im[i]->sha256);
		if (db_exec(db, "INSERT INTO job_inputs (job_id, kind, path,"
		    " width, height, bytes, sha256) VALUES (?, ?, ?, ?, ?, ?,"
		    " ?)", p, 7, NULL, NULL) != 0)
			goto out;
	}
	rc = 0;
out:
	/* Nothing of a job that is not there stays behind. */
	if (rc != 0) {
		snprintf(key, sizeof(key), "jobs/%llu", id);
		storage_remove_prefix(st, key);
	}
	storage_free(st);
	return rc;
}

int
job_insert(struct db *db, unsigned long long user_id, int priority,
	long cost, const struct job_spec *s, unsigned long long *id)
{
	struct db_param p[45];
	char cfg[32], hs[32], hst[32], dn[32], cw[32], cs[32], ce[32], cl[32],
	    ch[32], ub[32], *loras = loras_to_text(s->loras, s->nloras);
	int rc, n = 0, k, img = s->init.w > 0 && !s->upscale;
	int cn = s->cn_model != NULL;

	snprintf(cfg, sizeof(cfg), "%.17g", s->cfg);
	p[n++] = DB_INT(user_id);
	p[n++] = DB_INT(priority);
	p[n++] = DB_STR(s->prompt);
	p[n++] = DB_STR(s->negative);
	p[n++] = DB_STR(s->upscale ? "upscale" : "generate");
	p[n++] = DB_STR(s->model);
	p[n++] = DB_INT(s->width);
	p[n++] = DB_INT(s->height);
	p[n++] = DB_INT(s->steps);
	p[n++] = DB_STR(cfg);
	p[n++] = DB_STR(s->sampler);
	p[n++] = DB_INT(s->seed);
	p[n++] = DB_INT(s->batch);
	p[n++] = s->webhook_url ? DB_STR(s->webhook_url) : DB_NULL;
	p[n++] = DB_INT(cost);
	p[n++] = loras != NULL ? DB_STR(loras) : DB_NULL;
	snprintf(hs, sizeof(hs), "%.17g", s->hires_scale);
	snprintf(hst, sizeof(hst), "%.17g", s->hires_strength);
	p[n++] = s->hires_scale > 0 ? DB_STR(hs) : DB_NULL;
	p[n++] = s->hires_scale > 0 ? DB_STR(hst) : DB_NULL;
	p[n++] = s->hires_scale > 0 ? DB_INT(s->hires_steps) : DB_NULL;
	p[n++] = s->hires_scale > 0 ? DB_STR(s->hires_upscaler) : DB_NULL;
	p[n++] = img ? DBL_TEXT(dn, s->denoising) : DB_NULL;
	p[n++] = img ? DB_INT(s->resize_mode) : DB_NULL;
	p[n++] = s->inpaint ? DB_INT(s->mask_blur) : DB_NULL;
	p[n++] = s->inpaint ? DB_INT(s->inpainting_fill) : DB_NULL;
	p[n++] = s->inpaint ? DB_INT(s->full_res) : DB_NULL;
	p[n++] = s->inpaint ? DB_INT(s->full_res_pad) : DB_NULL;
	p[n++] = s->inpaint ? DB_INT(s->mask_invert) : DB_NULL;
	for (k = 0; k < 4; k++)
		p[n++] = img && s->mask.w == 0 && s->inpaint ?
			DB_INT(s->outpaint[k]) : DB_NULL;
	p[n++] = cn ? DB_STR(s->cn_model) : DB_NULL;
	p[n++] = cn ? DBL_TEXT(cw, s->cn_weight) : DB_NULL;
	p[n++] = cn ? DBL_TEXT(cs, s->cn_start) : DB_NULL;
	p[n++] = cn ? DBL_TEXT(ce, s->cn_end) : DB_NULL;
	p[n++] = cn ? DB_STR(s->cn_pre) : DB_NULL;
	p[n++] = cn && !strcmp(s->cn_pre, "canny") ? DBL_TEXT(cl, s->cn_low) :
		DB_NULL;
	p[n++] = cn && !strcmp(s->cn_pre, "canny") ? DBL_TEXT(ch,
		s->cn_high) : DB_NULL;
	p[n++] = s->upscale ? DB_STR(s->upscaler) : DB_NULL;
	p[n++] = s->upscale ? DBL_TEXT(ub, s->upscale_by) : DB_NULL;
	p[n++] = DB_STR(img_format_name(s->output_format) != NULL ?
		img_format_name(s->output_format) : "png");
	/* steps_total is known from the start, so a queued job reports the
	 * work ahead of it, not 0. */
	rc = db_exec(db, "INSERT INTO jobs (user_id, priority, prompt,"
		" negative_prompt, kind, model, width, height, steps, cfg_scale,"
		" sampler, seed, batch_count, webhook_url, cost, loras,"
		" hires_scale, hires_strength, hires_steps, hires_upscaler,"
		" denoising_strength, resize_mode, mask_blur, inpainting_fill,"
		" inpaint_full_res, inpaint_full_res_padding,"
		" inpainting_mask_invert, outpaint_left, outpaint_right,"
		" outpaint_up, outpaint_down, controlnet_model,"
		" controlnet_weight, controlnet_start, controlnet_end,"
		" controlnet_preprocessor, controlnet_low, controlnet_high,"
		" upscaler, upscale_by, output_format, steps_total) VALUES (?,"
		" ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
		" ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
		JOB_STEPS_TOTAL_SQL ")", p, (size_t)n, NULL,
		id);
	free(loras);
	if (rc == 0 && s->manifest != NULL) {
		struct db_param mp[3] = { DB_STR(s->manifest),
			DB_STR(s->manifest_presets ? s->manifest_presets :
			"[]"), DB_INT(*id) };

		rc = db_exec(db, "UPDATE jobs SET manifest = ?,"
			" manifest_presets = ? WHERE id = ?", mp, 3, NULL,
			NULL);
	}
	if (rc == 0)
		rc = inputs_store(db, s, *id);
	return rc;
}

long
job_hires_side(const struct job_spec *s, long side)
{
	long m = s->model_multiple > 0 ? s->model_multiple : 8;

	return (long)((double)side * s->hires_scale) / m * m;
}

long
job_cost(const struct job_spec *s)
{
	double work = (double)s->width * (double)s->height *
		(double)s->steps;
	long c;

	/* The hires pass: its steps at the enlarged size. */
	if (s->hires_scale > 0)
		work += (double)job_hires_side(s, s->width) *
			(double)job_hires_side(s, s->height) *
			floor((double)(s->hires_steps > 0 ? s->hires_steps :
			s->steps) * s->hires_strength);
	c = (long)ceil(work * (double)s->batch / 262144.0);
	return c < 1 ? 1 : c;
}

int
job_spec_limits(const struct job_spec *s, const struct tier_limits *t,
	spec_err_fn err, void *arg)
{
	char msg[160];
	int bad = 0;

	/* An upscale job's size comes from its factor unless asked. */
	if (s->upscale && !s->upscale_sized) {
		if (s->width > t->max_side || s->height > t->max_side) {
			snprintf(msg, sizeof(msg), TR("makes %ldx%ld, over your "
				"tier's limit of %ld"), s->width, s->height,
				t->max_side);
			err(arg, "upscale_by", msg);
			bad++;
		}
		return bad;
	}
	snprintf(msg, sizeof(msg), TR("exceeds your tier's limit of %ld"),
		t->max_side);
	if (s->width > t->max_side) {
		err(arg, "width", msg);
		bad++;
	}
	if (s->height > t->max_side) {
		err(arg, "height", msg);
		bad++;
	}
	if (s->steps > t->max_steps) {
		snprintf(msg, sizeof(msg), TR("exceeds your tier's limit of %ld"),
			t->max_steps);
		err(arg, "steps", msg);
		bad++;
	}
	if (s->batch > t->max_batch) {
		snprintf(msg, sizeof(msg), TR("exceeds your tier's limit of %ld"),
			t->max_batch);
		err(arg, "batch_count", msg);
		bad++;
	}
	if (s->hires_scale > 0 && (job_hires_side(s, s->width) >
	    t->max_side || job_hires_side(s, s->height) > t->max_side)) {
		snprintf(msg, sizeof(msg), TR("makes %ldx%ld, over your tier's "
			"limit of %ld"), job_hires_side(s, s->width),
			job_hires_side(s, s->height), t->max_side);
		err(arg, "hires_scale", msg);
		bad++;
	}
	return bad;
}

/* "; available: a, b" for a message: the usable LoRAs of dir (the
 * first 20), or "; there are none in [paths] loras". */
static void
loras_available(const char *dir, char *out, size_t outlen)
{
	struct extra_info *x = NULL;
	struct buf b = { 0 };
	int n = extras_list(dir, EXTRA_LORA, &x), i, shown = 0;

	for (i = 0; i < n; i++)
		if (x[i].error == NULL && shown++ < 20)
			buf_printf(&b, "%s%s", shown > 1 ? ", " :
				"; available: ", x[i].name);
	if (shown > 20)
		buf_printf(&b, " and %d more", shown - 20);
	snprintf(out, outlen, "%s", shown == 0 ? "; there are none in "
		"[paths] loras" : b.data != NULL ? b.data : "");
	buf_free(&b);
	extras_free(x, n);
}

/* Each LoRA of s a usable file in s->loras_dir made for the model's
 * family (when both are known). Returns the number of problems. */
static int
loras_usable(const struct job_spec *s, spec_err_fn err, void *arg)
{
	struct extra_info x;
	char msg[1500], e[512], field[32], avail[900];
	int bad = 0, i;

	avail[0] = '\0';
	for (i = 0; i < s->nloras && s->loras_dir != NULL; i++) {
		const struct job_lora *l = &s->loras[i];
		const char *f = "prompt";

		if (i < s->nfield) {
			snprintf(field, sizeof(field), s->loras_json ?
				"loras[%d].name" : "loras", i);
			f = field;
		}
		if (extra_load(s->loras_dir, EXTRA_LORA, l->name, &x, e,
		    sizeof(e)) != 0) {
			if (x.name == NULL && avail[0] == '\0')
				loras_available(s->loras_dir, avail,
					sizeof(avail));
			/* Not there: which are; there but unusable: why. */
			snprintf(msg, sizeof(msg), "%s%s%s", i >= s->nfield ?
				"<lora:...>: " : "", e, x.name == NULL ? avail :
				"");
			err(arg, f, msg);
			bad++;
		} else if (s->model_type != SD_UNKNOWN &&
		    x.family != SD_UNKNOWN && x.family != s->model_type) {
			snprintf(msg, sizeof(msg), TR("LoRA %s is made for %s "
				"models; model %s is %s"), l->name,
				sd_family_name(x.family), s->model,
				sd_family_name(s->model_type));
			err(arg, f, msg);
			bad++;
		}
		extra_info_clear(&x);
	}
	return bad;
}

/* The hires fix's size within the model's largest side, its steps
 * within the model's, its upscaler one kiln has. Returns the number of
 * problems. */
static int
hires_usable(const struct job_spec *s, spec_err_fn err, void *arg)
{
	static const char *const builtin[] = { "latent", "latent-nearest",
		"lanczos" };
	long w, h;
	struct extra_info x;
	char msg[1024], e[512];
	int bad = 0;
	size_t k;

	if (s->hires_scale <= 0)
		return 0;
	memset(&x, 0, sizeof(x));
	w = job_hires_side(s, s->width);
	h = job_hires_side(s, s->height);
	if (s->model_max_side > 0 && (w > s->model_max_side ||
	    h > s->model_max_side)) {
		snprintf(msg, sizeof(msg), TR("makes %ldx%ld, over model %s's "
			"limit of %ld"), w, h, s->model, s->model_max_side);
		err(arg, "hires_scale", msg);
		bad++;
	} else if (w > JOB_SIDE_MAX || h > JOB_SIDE_MAX) {
		snprintf(msg, sizeof(msg), TR("makes %ldx%ld, over the limit of "
			"%d"), w, h, JOB_SIDE_MAX);
		err(arg, "hires_scale", msg);
		bad++;
	}
	if (s->model_max_steps > 0 && s->hires_steps > s->model_max_steps) {
		snprintf(msg, sizeof(msg), TR("exceeds model %s's limit of %ld"),
			s->model, s->model_max_steps);
		err(arg, "hires_steps", msg);
		bad++;
	}
	if (floor((double)(s->hires_steps > 0 ? s->hires_steps : s->steps) *
	    s->hires_strength) < 1) {
		err(arg, "hires_strength", "runs no step of the second pass "
			"(raise it or hires_steps)");
		bad++;
	}
	for (k = 0; k < ARRAY_LEN(builtin); k++)
		if (!strcmp(s->hires_upscaler, builtin[k]))
			return bad;
	if (s->upscalers_dir == NULL || extra_load(s->upscalers_dir,
	    EXTRA_UPSCALER, s->hires_upscaler, &x, e, sizeof(e)) != 0) {
		snprintf(msg, sizeof(msg), TR("%s (latent, latent-nearest, "
			"lanczos, or an upscaler in [paths] upscalers)"),
			s->upscalers_dir != NULL ? e : "no upscaler folder");
		err(arg, "hires_upscaler", msg);
		bad++;
	}
	extra_info_clear(&x);
	return bad;
}

/* An upscale job's upscaler: lanczos, or a usable upscaler model of
 * [paths] upscalers. Returns the number of problems. */
static int
upscaler_usable(const struct job_spec *s, spec_err_fn err, void *arg)
{
	struct extra_info x;
	char msg[1024], e[512];
	int bad = 0;

	if (!strcmp(s->upscaler, "lanczos"))
		return 0;
	memset(&x, 0, sizeof(x));
	if (s->upscalers_dir == NULL || extra_load(s->upscalers_dir,
	    EXTRA_UPSCALER, s->upscaler, &x, e, sizeof(e)) != 0) {
		snprintf(msg, sizeof(msg), TR("%s (lanczos, or an upscaler in "
			"[paths] upscalers: GET /api/v1/models)"),
			s->upscalers_dir != NULL ? e : "no upscaler folder");
		err(arg, "upscaler", msg);
		bad++;
	}
	extra_info_clear(&x);
	return bad;
}

int
job_spec_model_limits(const struct job_spec *s, spec_err_fn err, void *arg)
{
	static const char *const side[] = { "width", "height" };
	long v[2] = { s->width, s->height };
	char msg[256];
	int bad = 0, i;

	if (s->upscale)
		return upscaler_usable(s, err, arg);
	for (i = 0; i < 2; i++) {
		if (s->model_multiple > 0 && v[i] % s->model_multiple != 0) {
			long lo = v[i] / s->model_multiple * s->model_multiple;

			/* The nearest sides the model takes, to pick from. */
			if (lo > 0)
				snprintf(msg, sizeof(msg), TR("must be a multiple "
					"of %ld for model %s (%ld or %ld)"),
					s->model_multiple, s->model, lo,
					lo + s->model_multiple);
			else
				snprintf(msg, sizeof(msg), TR("must be a multiple "
					"of %ld for model %s"),
					s->model_multiple, s->model);
			err(arg, side[i], msg);
			bad++;
		} else if (s->model_max_side > 0 && v[i] > s->model_max_side) {
			snprintf(msg, sizeof(msg), TR("exceeds model %s's limit "
				"of %ld"), s->model, s->model_max_side);
			err(arg, side[i], msg);
			bad++;
		}
	}
	if (s->model_max_steps > 0 && s->steps > s->model_max_steps) {
		snprintf(msg, sizeof(msg), TR("exceeds model %s's limit of %ld"),
			s->model, s->model_max_steps);
		err(arg, "steps", msg);
		bad++;
	}
	if (s->cn_model != NULL) {
		char path[4096], e[1024];

		if (s->controlnets_dir == NULL || controlnet_find(
		    s->controlnets_dir, s->cn_model, path, sizeof(path), e,
		    sizeof(e)) != 0) {
			err(arg, "controlnet_model", s->controlnets_dir ? e :
				"no ControlNet folder");
			bad++;
		}
	}
	return bad + hires_usable(s, err, arg) + loras_usable(s, err, arg);
}

static int
enqueue_once(struct db *db, unsigned long long user_id,
	const struct tier_limits *t, const struct job_spec *specs, int n,
	unsigned long long *ids, struct enqueue_refusal *why,
	const char *batch, unsigned long long *batch_id)
{
	struct db_param p[2] = { DB_INT(user_id), DB_INT(0) };
	long balance, active, today, wait = 0, total = 0, team_max = 0,
	    team_active = 0;
	/* A batch's jobs are all for one team: the first's. */
	unsigned long long team_id = n > 0 ? specs[0].team_id : 0;
	int i, inserted = 0, role;

	memset(why, 0, sizeof(*why));
	for (i = 0; i < n; i++)
		total += job_cost(&specs[i]);
	if (db_exec_text(db, "START TRANSACTION") != 0)
		return -1;
	/* The user's row, locked: this user's submissions queue up here,
	 * so the counts below stay true until COMMIT. */
	if (db_query_long(db, "SELECT credits FROM users WHERE id = ?"
	    " FOR UPDATE", p, 1, &balance) != 0 ||
	    db_query_long(db, "SELECT COUNT(*) FROM jobs WHERE user_id = ?"
	    " AND status IN ('queued', 'running')", p, 1, &active) != 0 ||
	    db_query_long(db, "SELECT COUNT(*) FROM jobs WHERE user_id = ?"
	    " AND created_at > NOW(3) - INTERVAL 1 DAY", p, 1, &today) != 0)
		goto fail;
	/* A maintenance window that refuses submissions (the mode an
	 * administrator chose on /admin/maintenance): nothing is queued
	 * until it ends, and Retry-After says when that is. */
	if (db_query_long(db, "SELECT GREATEST(1, TIMESTAMPDIFF(SECOND,"
	    " NOW(3), MAX(ends_at))) FROM maintenance_windows"
	    " WHERE mode = 'refuse' AND canceled_at IS NULL"
	    " AND starts_at <= NOW(3) AND ends_at > NOW(3)", NULL, 0,
	    &wait) != 0)
		goto fail;
	if (wait > 0) {
		why->status = 503;
		why->code = "maintenance";
		snprintf(why->message, sizeof(why->message), TR("kiln is under "
			"maintenance and takes no new jobs for %ld more "
			"second(s); try again then"), wait);
		why->retry_after = wait;
		goto refuse;
	}
	if (active + n > t->max_queued) {
		why->status = 429;
		why->code = "quota_exceeded";
		snprintf(why->message, sizeof(why->message), TR("you have %ld "
			"job(s) queued or running; your tier (%s) allows %ld at "
			"once"), active, t->name, t->max_queued);
		why->retry_after = 10;
		goto refuse;
	}
	if (today + n > t->jobs_per_day) {
		/* Until the oldest job of the window is a day old. */
		if (db_query_long(db, "SELECT GREATEST(1, TIMESTAMPDIFF(SECOND,"
		    " NOW(3), MIN(created_at) + INTERVAL 1 DAY)) FROM jobs"
		    " WHERE user_id = ? AND created_at > NOW(3) - INTERVAL"
		    " 1 DAY", p, 1, &wait) != 0)
			goto fail;
		why->status = 429;
		why->code = "quota_exceeded";
		snprintf(why->message, sizeof(why->message), TR("your tier (%s) "
			"allows %ld jobs in 24 hours; you have submitted %ld"),
			t->name, t->jobs_per_day, today);
		why->retry_after = wait > 0 ? wait : 60;
		goto refuse;
	}
	/* For a team: its pool pays, and only its owners and members may
	 * spend it (a viewer only looks). */
	if (team_id != 0) {
		p[0] = DB_INT(team_id);
		p[1] = DB_INT(user_id);
		if (db_query_long(db, "SELECT credits FROM teams WHERE id = ?"
		    " FOR UPDATE", p, 1, &balance) != 0)
			goto fail;
		role = team_role_of(db, team_id, user_id);
		if (role < 0)
			goto fail;
		if (role < TEAM_MEMBER) {
			why->status = role == TEAM_NONE ? 404 : 403;
			why->code = role == TEAM_NONE ? "not_found" :
				"forbidden";
			snprintf(why->message, sizeof(why->message), "%s",
				role == TEAM_NONE ? TR("no such team") :
				TR("a team's viewers cannot make jobs for it; "
				"ask an owner to make you a member"));
			goto refuse;
		}
		if (db_query_long(db, "SELECT COALESCE((SELECT max_queued FROM"
		    " teams WHERE id = ?), 0)", p, 1, &team_max) != 0 ||
		    db_query_long(db, "SELECT COUNT(*) FROM jobs WHERE"
		    " team_id = ? AND status IN ('queued', 'running')", p, 1,
		    &team_active) != 0)
			goto fail;
		if (team_max > 0 && team_active + n > team_max) {
			why->status = 429;
			why->code = "quota_exceeded";
			snprintf(why->message, sizeof(why->message), TR("the "
				"team has %ld job(s) queued or running and "
				"allows %ld at once"), team_active, team_max);
			why->retry_after = 10;
			goto refuse;
		}
	}
	if (balance < total) {
		why->status = 402;
		why->code = "insufficient_credits";
		if (team_id != 0)
			snprintf(why->message, sizeof(why->message),
				TR("this costs %ld credit(s) and the team has "
				"%ld; an administrator can grant more"), total,
				balance);
		else
			snprintf(why->message, sizeof(why->message),
				TR("this costs %ld credit(s) and you have %ld; "
				"an administrator can grant more"), total,
				balance);
		goto refuse;
	}
	p[0] = DB_INT(total);
	p[1] = DB_INT(team_id != 0 ? team_id : user_id);
	if (db_exec(db, team_id != 0 ? "UPDATE teams SET credits = credits"
	    " - ? WHERE id = ?" : "UPDATE users SET credits = credits - ?"
	    " WHERE id = ?", p, 2, NULL, NULL) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		if (job_insert(db, user_id, (int)t->priority,
		    job_cost(&specs[i]), &specs[i], &ids[i]) != 0)
			goto fail;
		inserted++;
		p[0] = DB_INT(team_id);
		p[1] = DB_INT(ids[i]);
		if (team_id != 0 && db_exec(db, "UPDATE jobs SET team_id = ?"
		    " WHERE id = ?", p, 2, NULL, NULL) != 0)
			goto fail;
	}
	/* A batch: its row and its jobs' rows, in the same transaction. */
	if (batch != NULL) {
		struct db_param b[3] = { DB_INT(user_id), DB_STR(batch),
			DB_INT(n) };

		if (db_exec(db, "INSERT INTO batches (user_id, name, jobs)"
		    " VALUES (?, ?, ?)", b, 3, NULL, batch_id) != 0)
			goto fail;
		for (i = 0; i < n; i++) {
			b[0] = DB_INT(*batch_id);
			b[1] = DB_INT(specs[i].batch_row);
			b[2] = DB_INT(ids[i]);
			if (db_exec(db, "UPDATE jobs SET batch_id = ?,"
			    " batch_row = ? WHERE id = ?", b, 3, NULL,
			    NULL) != 0)
				goto fail;
		}
	}
	if (db_exec_text(db, "COMMIT") != 0)
		goto fail;
	return 0;
refuse:
	db_rollback(db);
	return 1;
fail:
	db_rollback(db);
	/* The rows are gone: so must the files stored with them. */
	for (i = 0; i < inserted; i++)
		job_inputs_discard(&specs[i], ids[i]);
	return -1;
}

int
job_enqueue_batch(struct db *db, unsigned long long user_id,
	const struct tier_limits *t, const struct job_spec *specs, int n,
	unsigned long long *ids, struct enqueue_refusal *why,
	const char *batch, unsigned long long *batch_id)
{
	int rc = -1, i;

	/* The user's row is also written by a daemon refunding a failed
	 * job: a deadlock victim is rolled back whole and tried again. */
	for (i = 0; i < DB_DEADLOCK_TRIES; i++) {
		rc = enqueue_once(db, user_id, t, specs, n, ids, why, batch,
			batch_id);
		if (rc != -1 || !db_deadlocked(db))
			break;
	}
	return rc;
}

int
job_enqueue(struct db *db, unsigned long long user_id,
	const struct tier_limits *t, const struct job_spec *specs, int n,
	unsigned long long *ids, struct enqueue_refusal *why)
{
	return job_enqueue_batch(db, user_id, t, specs, n, ids, why, NULL,
		NULL);
}

int
job_status_of(struct db *db, unsigned long long id,
	unsigned long long user_id, char **status)
{
	struct db_param p[2] = { DB_INT(id), DB_INT(user_id) };
	char *st = NULL;

	if (status != NULL)
		*status = NULL;
	if (id == 0)
		return 0;
	if (db_query_string(db, "SELECT status FROM jobs WHERE id = ? AND "
	    TEAM_JOB_SEES("jobs.") " AND deleted_at IS NULL", p, 2, &st) != 0)
		return -1;
	if (st == NULL)
		return 0;
	if (status != NULL)
		*status = st;
	else
		free(st);
	return 1;
}

#define TS(col) "DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%sZ')"

/* The rows of a jobs_json query: each job's object and id, in the
 * order the database sent them. */
struct job_read {
	const char *base_url;	/* [site] base_url: URLs here are absolute */
	json_object **o;
	unsigned long long *id;
	size_t n, cap;
	int oom;
};

/* Adds key: url (NULL: memory ran out, noted in jr->oom). */
static void
add_url(struct job_read *jr, json_object *o, const char *key, json_object *url)
{
	if (url == NULL)
		jr->oom = 1;
	json_object_object_add(o, key, url);
}

/* One row of the jobs_json query. A DOUBLE comes twice: as a number,
 * and as the database's own text ("0.773") for the JSON, not a binary
 * double's seventeen digits. */
struct job_rec {
	unsigned long long id;
	const char *status;
	struct job_recipe rc;
	const char *webhook_url, *error, *loras;
	int step, steps_total;
	double eta, render;
	const char *eta_text, *render_text;
	const char *created_at, *started_at, *finished_at;
	const char *preview, *share;
	long long ahead;	/* -1: not queued */
	unsigned long long team_id;	/* 0: the maker's own */
	const char *manifest, *manifest_presets;
};

static const struct db_field job_fields[] = {
	DB_FIELD(struct job_rec, id, DBF_ULLONG, "id"),
	DB_FIELD(struct job_rec, status, DBF_STR, "status"),
	JOB_RECIPE_FIELDS(struct job_rec, rc),
	DB_FIELD_NULL(struct job_rec, webhook_url, DBF_STR, "webhook_url"),
	DB_FIELD_NULL(struct job_rec, loras, DBF_STR, "loras"),
	DB_FIELD(struct job_rec, step, DBF_INT, "step"),
	DB_FIELD(struct job_rec, steps_total, DBF_INT, "steps_total"),
	DB_FIELD_NULL(struct job_rec, eta, DBF_DOUBLE, "eta_s"),
	DB_FIELD_NULL(struct job_rec, eta_text, DBF_STR, "eta_s_text"),
	DB_FIELD_NULL(struct job_rec, error, DBF_STR, "error"),
	DB_FIELD_NULL(struct job_rec, render, DBF_DOUBLE, "render_s"),
	DB_FIELD_NULL(struct job_rec, render_text, DBF_STR, "render_s_text"),
	DB_FIELD_NULL(struct job_rec, created_at, DBF_STR, "created_at"),
	DB_FIELD_NULL(struct job_rec, started_at, DBF_STR, "started_at"),
	DB_FIELD_NULL(struct job_rec, finished_at, DBF_STR, "finished_at"),
	DB_FIELD_NULL(struct job_rec, preview, DBF_STR, "preview_path"),
	DB_FIELD(struct job_rec, ahead, DBF_LLONG, "queue_position"),
	DB_FIELD_NULL(struct job_rec, share, DBF_STR, "share_token"),
	DB_FIELD_NULL(struct job_rec, team_id, DBF_ULLONG, "team_id"),
	DB_FIELD_NULL(struct job_rec, manifest, DBF_STR, "manifest"),
	DB_FIELD_NULL(struct job_rec, manifest_presets, DBF_STR,
		"manifest_presets"),
};

/* A DOUBLE column as JSON: its number with its text (NULL: null). */
static json_object *
json_db_double(double d, const char *text)
{
	return text != NULL ? json_object_new_double_s(d, text) : NULL;
}

void
job_recipe_json(json_object *o, const struct job_recipe *r)
{
	json_object_object_add(o, "prompt", json_str_or_null(r->prompt));
	json_object_object_add(o, "negative_prompt",
		json_str_or_null(r->negative));
	json_object_object_add(o, "model", json_str_or_null(r->model));
	json_object_object_add(o, "width", json_object_new_int64(r->width));
	json_object_object_add(o, "height", json_object_new_int64(r->height));
	json_object_object_add(o, "steps", json_object_new_int64(r->steps));
	json_object_object_add(o, "cfg_scale",
		json_db_double(r->cfg, r->cfg_text));
	json_object_object_add(o, "sampler", json_str_or_null(r->sampler));
	json_object_object_add(o, "seed", json_object_new_int64(
		(int64_t)r->seed));
	json_object_object_add(o, "batch_count",
		json_object_new_int64(r->batch));
	if (r->hires_scale_text != NULL) {
		json_object *h = json_object_new_object();

		json_object_object_add(h, "scale", json_db_double(
			r->hires_scale, r->hires_scale_text));
		json_object_object_add(h, "strength", json_db_double(
			r->hires_strength, r->hires_strength_text));
		json_object_object_add(h, "steps",
			json_object_new_int64(r->hires_steps));
		json_object_object_add(h, "upscaler",
			json_str_or_null(r->hires_upscaler));
		json_object_object_add(o, "hires", h);
	} else {
		json_object_object_add(o, "hires", NULL);
	}
	json_object_object_add(o, "denoising_strength",
		json_db_double(r->denoising, r->denoising_text));
	json_object_object_add(o, "resize_mode", r->denoising_text != NULL ?
		json_object_new_int(r->resize_mode) : NULL);
	if (r->has_inpaint) {
		json_object *h = json_object_new_object();

		json_object_object_add(h, "mask_blur",
			json_object_new_int(r->mask_blur));
		json_object_object_add(h, "inpainting_fill",
			json_object_new_int(r->inpainting_fill));
		json_object_object_add(h, "inpaint_full_res",
			json_object_new_boolean(r->full_res));
		json_object_object_add(h, "inpaint_full_res_padding",
			json_object_new_int(r->full_res_pad));
		json_object_object_add(h, "inpainting_mask_invert",
			json_object_new_boolean(r->mask_invert));
		json_object_object_add(o, "inpaint", h);
	} else {
		json_object_object_add(o, "inpaint", NULL);
	}
	if (r->has_outpaint) {
		json_object *h = json_object_new_object();
		int k;

		for (k = 0; k < 4; k++)
			json_object_object_add(h, job_outpaint_sides[k],
				json_object_new_int(r->outpaint[k]));
		json_object_object_add(o, "outpaint", h);
	} else {
		json_object_object_add(o, "outpaint", NULL);
	}
	if (r->cn_model != NULL) {
		json_object *h = json_object_new_object();

		json_object_object_add(h, "model",
			json_object_new_string(r->cn_model));
		json_object_object_add(h, "weight", json_db_double(
			r->cn_weight, r->cn_weight_text));
		json_object_object_add(h, "guidance_start", json_db_double(
			r->cn_start, r->cn_start_text));
		json_object_object_add(h, "guidance_end", json_db_double(
			r->cn_end, r->cn_end_text));
		json_object_object_add(h, "preprocessor",
			json_str_or_null(r->cn_pre));
		json_object_object_add(h, "low_threshold", json_db_double(
			r->cn_low, r->cn_low_text));
		json_object_object_add(h, "high_threshold", json_db_double(
			r->cn_high, r->cn_high_text));
		json_object_object_add(o, "controlnet", h);
	} else {
		json_object_object_add(o, "controlnet", NULL);
	}
	json_object_object_add(o, "kind", json_str_or_null(r->kind));
	if (r->upscaler != NULL) {
		json_object *h = json_object_new_object();

		json_object_object_add(h, "upscaler",
			json_object_new_string(r->upscaler));
		json_object_object_add(h, "upscale_by", json_db_double(
			r->upscale_by, r->upscale_by_text));
		json_object_object_add(o, "upscale", h);
	} else {
		json_object_object_add(o, "upscale", NULL);
	}
	json_object_object_add(o, "output_format",
		json_str_or_null(r->output_format));
}

/* The stored LoRAs as the JSON array they are ([] for none); a row
 * that does not read as one gives [] too, and a warning. */
static json_object *
loras_json(const char *text, struct job_read *jr)
{
	struct job_lora l[JOB_LORAS_MAX];
	json_object *a;
	char *canon;
	int n = 0;

	if (text != NULL && loras_from_text(text, l, JOB_LORAS_MAX, &n) != 0)
		log_warn("a job's loras column does not read: %.80s", text);
	canon = loras_to_text(l, n);
	a = canon != NULL ? json_tokener_parse(canon) : json_object_new_array();
	free(canon);
	if (a == NULL)
		jr->oom = 1;
	return a;
}

static int
job_row(void *rec, void *arg)
{
	const struct job_rec *r = rec;
	struct job_read *jr = arg;
	json_object *o, *prog;

	if (jr->n == jr->cap) {		/* never more rows than ids asked */
		jr->oom = 1;
		return 1;
	}
	o = json_object_new_object();
	if (o == NULL) {
		jr->oom = 1;
		return 1;
	}
	json_object_object_add(o, "id", json_object_new_int64(
		(int64_t)r->id));
	json_object_object_add(o, "status", json_str_or_null(r->status));
	json_object_object_add(o, "team_id", r->team_id ?
		json_object_new_int64((int64_t)r->team_id) : NULL);
	job_recipe_json(o, &r->rc);
	json_object_object_add(o, "webhook_url",
		json_str_or_null(r->webhook_url));
	json_object_object_add(o, "loras", loras_json(r->loras, jr));
	json_object_object_add(o, "error", json_str_or_null(r->error));
	json_object_object_add(o, "render_s",
		json_db_double(r->render, r->render_text));
	json_object_object_add(o, "created_at",
		json_str_or_null(r->created_at));
	json_object_object_add(o, "started_at",
		json_str_or_null(r->started_at));
	json_object_object_add(o, "finished_at",
		json_str_or_null(r->finished_at));
	prog = json_object_new_object();
	json_object_object_add(prog, "step", json_object_new_int(r->step));
	json_object_object_add(prog, "steps",
		json_object_new_int(r->steps_total));
	json_object_object_add(prog, "eta_s",
		json_db_double(r->eta, r->eta_text));
	json_object_object_add(o, "progress", prog);
	jr->id[jr->n] = r->id;
	if (r->preview != NULL)
		add_url(jr, o, "preview_url", json_site_url(jr->base_url,
			"/api/v1/images/%llu-preview.png", jr->id[jr->n]));
	else
		json_object_object_add(o, "preview_url", NULL);
	json_object_object_add(o, "queue_position", r->ahead >= 0 ?
		json_object_new_int64(r->ahead) : NULL);
	/* Whoever has this link sees the images (POST .../share). */
	if (r->share != NULL)
		add_url(jr, o, "share_url", json_site_url(jr->base_url,
			"/s/%s", r->share));
	else
		json_object_object_add(o, "share_url", NULL);
	/* The scene manifest it was made from (prompt holds what it
	 * compiled to) and the preset versions used; null for none. */
	json_object_object_add(o, "manifest", r->manifest ?
		json_tokener_parse(r->manifest) : NULL);
	json_object_object_add(o, "manifest_presets", r->manifest_presets ?
		json_tokener_parse(r->manifest_presets) : NULL);
	jr->o[jr->n++] = o;
	return jr->oom;
}

/* One row of the images query. */
struct image_rec {
	unsigned long long job_id, seed;
	int idx, width, height;
};

static const struct db_field image_fields[] = {
	DB_FIELD(struct image_rec, job_id, DBF_ULLONG, "job_id"),
	DB_FIELD(struct image_rec, idx, DBF_INT, "idx"),
	DB_FIELD(struct image_rec, seed, DBF_ULLONG, "seed"),
	DB_FIELD(struct image_rec, width, DBF_INT, "width"),
	DB_FIELD(struct image_rec, height, DBF_INT, "height"),
};

static int
image_row(void *rec, void *arg)
{
	const struct image_rec *r = rec;
	struct job_read *jr = arg;
	json_object *a = NULL, *o;
	size_t i;

	for (i = 0; i < jr->n && a == NULL; i++)
		if (jr->id[i] == r->job_id)
			json_object_object_get_ex(jr->o[i], "images", &a);
	if (a == NULL)
		return 0;	/* only the jobs found are asked for */
	o = json_object_new_object();
	if (o == NULL) {
		jr->oom = 1;
		return 1;
	}
	json_object_object_add(o, "index", json_object_new_int(r->idx));
	json_object_object_add(o, "seed", json_object_new_int64(
		(int64_t)r->seed));
	json_object_object_add(o, "width", json_object_new_int(r->width));
	json_object_object_add(o, "height", json_object_new_int(r->height));
	add_url(jr, o, "url", json_site_url(jr->base_url,
		"/api/v1/images/%llu-%d.png", r->job_id, r->idx));
	add_url(jr, o, "thumb_url", json_site_url(jr->base_url,
		"/api/v1/images/%llu-%d.thumb.png", r->job_id, r->idx));
	json_object_array_add(a, o);
	return jr->oom;
}

/* One row of the inputs query. */
struct input_rec {
	unsigned long long job_id;
	const char *kind, *sha256;
	int width, height;
};

static const struct db_field input_fields[] = {
	DB_FIELD(struct input_rec, job_id, DBF_ULLONG, "job_id"),
	DB_FIELD(struct input_rec, kind, DBF_STR, "kind"),
	DB_FIELD(struct input_rec, width, DBF_INT, "width"),
	DB_FIELD(struct input_rec, height, DBF_INT, "height"),
	DB_FIELD(struct input_rec, sha256, DBF_STR, "sha256"),
};

static int
input_row(void *rec, void *arg)
{
	const struct input_rec *r = rec;
	struct job_read *jr = arg;
	json_object *a = NULL, *o;
	size_t i;

	for (i = 0; i < jr->n && a == NULL; i++)
		if (jr->id[i] == r->job_id)
			json_object_object_get_ex(jr->o[i], "inputs", &a);
	if (a == NULL)
		return 0;
	o = json_object_new_object();
	if (o == NULL) {
		jr->oom = 1;
		return 1;
	}
	json_object_object_add(o, "kind", json_object_new_string(r->kind));
	json_object_object_add(o, "width", json_object_new_int(r->width));
	json_object_object_add(o, "height", json_object_new_int(r->height));
	json_object_object_add(o, "sha256",
		json_object_new_string(r->sha256));
	add_url(jr, o, "url", json_site_url(jr->base_url,
		"/api/v1/jobs/%llu/inputs/%s.png", r->job_id, r->kind));
	json_object_array_add(a, o);
	return jr->oom;
}

/* head "?, ?, ..." tail with n placeholders, for an IN list (the
 * values go as parameters); the caller frees it. */
static char *
sql_in(const char *head, size_t n, const char *tail)
{
	size_t hl = strlen(head), tl = strlen(tail), i;
	char *s = xmalloc(hl + n * 3 + tl + 1), *p = s;

	memcpy(p, head, hl);
	p += hl;
	for (i = 0; i < n; i++) {
		memcpy(p, i ? ", ?" : "?", i ? 3 : 1);
		p += i ? 3 : 1;
	}
	memcpy(p, tail, tl + 1);
	return s;
}

int
jobs_json(struct db *db, const char *base_url, const unsigned long long *ids,
	size_t n, unsigned long long user_id, json_object *out)
{
	struct job_read jr = { 0 };
	struct job_rec jrec;
	struct image_rec irec;
	struct input_rec inrec;
	struct db_param *p = NULL;
	char *sql = NULL;
	size_t i, k;
	int rc = -1;

	if (n == 0)
		return 0;
	jr.base_url = base_url;
	jr.cap = n;
	jr.o = xcalloc(n, sizeof(*jr.o));
	jr.id = xcalloc(n, sizeof(*jr.id));
	p = xcalloc(n + 1, sizeof(*p));
	/* Two queries for the whole list, not two per job: the rows, then
	 * the images of the rows found (so never another user's). */
	sql = sql_in("SELECT j.id, j.status, " JOB_RECIPE_SQL("j.") ","
	    " j.webhook_url, j.loras, j.step, j.steps_total,"
	    " j.eta_s,"
	    " j.eta_s AS eta_s_text, j.error, j.render_s,"
	    " j.render_s AS render_s_text, "
	    TS("j.created_at") " AS created_at, "
	    TS("j.started_at") " AS started_at, "
	    TS("j.finished_at") " AS finished_at, j.preview_path,"
	    " COALESCE(" JOB_AHEAD_SQL ", -1) AS queue_position,"
	    " j.share_token, j.team_id, j.manifest, j.manifest_presets"
	    " FROM jobs j WHERE j.id IN (", n,
	    ") AND " TEAM_JOB_SEES("j.") " AND j.deleted_at IS NULL");
	for (i = 0; i < n; i++)
		p[i] = DB_INT(ids[i]);
	p[n] = DB_INT(user_id);
	if (db_query_into(db, sql, p, n + 1, job_fields,
	    DB_NFIELDS(job_fields), &jrec, job_row, &jr) < 0 || jr.oom)
		goto out;
	if (jr.n == 0) {
		rc = 0;
		goto out;
	}
	for (i = 0; i < jr.n; i++) {
		json_object *imgs = json_object_new_array();

		if (imgs == NULL)
			goto out;
		json_object_object_add(jr.o[i], "images", imgs);
		p[i] = DB_INT(jr.id[i]);
	}
	free(sql);
	sql = sql_in("SELECT job_id, idx, seed, width, height FROM job_images"
	    " WHERE job_id IN (", jr.n, ") ORDER BY job_id, idx");
	if (db_query_into(db, sql, p, jr.n, image_fields,
	    DB_NFIELDS(image_fields), &irec, image_row, &jr) < 0 || jr.oom)
		goto out;
	/* The inputs, with where their owner fetches each. */
	for (i = 0; i < jr.n; i++) {
		json_object *ins = json_object_new_array();

		if (ins == NULL)
			goto out;
		json_object_object_add(jr.o[i], "inputs", ins);
	}
	free(sql);
	sql = sql_in("SELECT job_id, kind, width, height, sha256 FROM"
	    " job_inputs WHERE job_id IN (", jr.n, ") ORDER BY job_id, kind");
	if (db_query_into(db, sql, p, jr.n, input_fields,
	    DB_NFIELDS(input_fields), &inrec, input_row, &jr) < 0 || jr.oom)
		goto out;
	/* In the order asked for; each id once. */
	for (i = 0; i < n; i++)
		for (k = 0; k < jr.n; k++)
			if (jr.o[k] != NULL && jr.id[k] == ids[i]) {
				json_object_array_add(out, jr.o[k]);
				jr.o[k] = NULL;
				break;
			}
	rc = 0;
out:
	for (i = 0; i < jr.n; i++)
		json_object_put(jr.o[i]);
	free(jr.o);
	free(jr.id);
	free(p);
	free(sql);
	return rc;
}

json_object *
job_json(struct db *db, const char *base_url, unsigned long long id,
	unsigned long long user_id, int *found)
{
	json_object *a = json_object_new_array(), *o = NULL;

	*found = -1;
	if (a == NULL || jobs_json(db, base_url, &id, 1, user_id, a) != 0)
		goto out;
	*found = json_object_array_length(a) > 0;
	if (*found)
		o = json_object_get(json_object_array_get_idx(a, 0));
out:
	json_object_put(a);
	return o;
}

/* ------------------------------------------------ sharing and deleting */

int
share_token_valid(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= 'A' && s[n] <= 'Z') ||
		    (s[n] >= '0' && s[n] <= '9') || s[n] == '-' ||
		    s[n] == '_') || n >= TOKEN_LEN)
			return 0;
	return n == TOKEN_LEN;
}

enum job_change
job_share(struct db *db, unsigned long long id, unsigned long long user_id,
	char *token)
{
	char fresh[TOKEN_LEN + 1], *st = NULL, *have = NULL;
	struct db_param p[3];
	int found;

	found = job_status_of(db, id, user_id, &st);
	if (found <= 0)
		return found < 0 ? JOB_CHANGE_DBFAIL : JOB_CHANGE_NOT_FOUND;
	found = strcmp(st, "succeeded");
	free(st);
	if (found != 0)
		return JOB_CHANGE_CONFLICT;
	if (token_new(fresh) != 0)
		return JOB_CHANGE_DBFAIL;
	/* A job shared twice keeps its first link: links already handed
	 * out go on working. */
	p[0] = DB_STR(fresh);
	p[1] = DB_INT(id);
	p[2] = DB_INT(user_id);
	if (db_exec(db, "UPDATE jobs SET share_token = COALESCE(share_token,"
	    " ?) WHERE id = ? AND user_id = ? AND deleted_at IS NULL", p, 3,
	    NULL, NULL) != 0 ||
	    db_query_string(db, "SELECT share_token FROM jobs WHERE id = ?"
	    " AND user_id = ? AND deleted_at IS NULL", p + 1, 2, &have) != 0)
		return JOB_CHANGE_DBFAIL;
	if (have == NULL || strlen(have) != TOKEN_LEN) {
		free(have);
		return JOB_CHANGE_NOT_FOUND;	/* deleted meanwhile */
	}
	memcpy(token, have, TOKEN_LEN + 1);
	free(have);
	return JOB_CHANGE_DONE;
}

enum job_change
job_unshare(struct db *db, unsigned long long id, unsigned long long user_id)
{
	struct db_param p[2] = { DB_INT(id), DB_INT(user_id) };
	int found = job_status_of(db, id, user_id, NULL);
	unsigned long long n = 0;

	if (found <= 0)
		return found < 0 ? JOB_CHANGE_DBFAIL : JOB_CHANGE_NOT_FOUND;
	if (db_exec(db, "UPDATE jobs SET share_token = NULL WHERE id = ? AND"
	    " user_id = ?", p, 2, &n, NULL) != 0)
		return JOB_CHANGE_DBFAIL;
	/* A team's job seen by one who did not make it: not theirs to
	 * change. */
	return n > 0 ? JOB_CHANGE_DONE : JOB_CHANGE_NOT_FOUND;
}

enum job_change
job_delete(struct db *db, const struct kiln_config *cfg, unsigned long long id,
	unsigned long long user_id)
{
	struct db_param p[2] = { DB_INT(id), DB_INT(user_id) };
	unsigned long long n = 0;
	struct storage *st;
	char dir[64];

	if (db_exec_text(db, "START TRANSACTION") != 0)
		return JOB_CHANGE_DBFAIL;
	/* Only an ended job: a daemon may still be writing a running one's
	 * files. */
	if (db_exec(db, "UPDATE jobs SET deleted_at = NOW(3), prompt = '',"
	    " negative_prompt = '', webhook_url = NULL, error = NULL,"
	    " preview_path = NULL, share_token = NULL"
	    " WHERE id = ? AND " TEAM_JOB_MANAGES("jobs.")
	    " AND deleted_at IS NULL AND status NOT IN ('queued', 'running')", p, 2, &n, NULL) != 0)
		goto fail;
	if (n == 0) {
		int found;

		db_exec_text(db, "ROLLBACK");
		found = job_status_of(db, id, user_id, NULL);
		return found < 0 ? JOB_CHANGE_DBFAIL : found == 0 ?
			JOB_CHANGE_NOT_FOUND : JOB_CHANGE_CONFLICT;
	}
	if (db_exec(db, "DELETE FROM job_images WHERE job_id = ?", p, 1, NULL,
	    NULL) != 0 || db_exec(db, "DELETE FROM job_inputs WHERE"
	    " job_id = ?", p, 1, NULL, NULL) != 0 ||
	    db_exec_text(db, "COMMIT") != 0)
		goto fail;
	/* The rows are gone first: a file left behind by a failed removal
	 * is unreachable, never a dangling row. The inputs and results go
	 * through the one store. */
	st = storage_open(cfg);
	snprintf(dir, sizeof(dir), "jobs/%llu", id);
	if (st == NULL || storage_remove_prefix(st, dir) != 0)
		log_warn("delete job %llu: could not remove all of %s", id,
			dir);
	storage_free(st);
	return JOB_CHANGE_DONE;
fail:
	db_exec_text(db, "ROLLBACK");
	return JOB_CHANGE_DBFAIL;
}
