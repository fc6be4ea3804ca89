/* api_sdapi.c - AUTOMATIC1111's txt2img and img2img under /sdapi/v1: the
 * request read as A1111's pydantic models read it (unknown keys ignored,
 * knobs that change nothing kiln renders taken, a feature kiln cannot
 * do refused with 422 naming the field, enable_hr as kiln's hires fix,
 * init_images and mask as the job's image inputs, a ControlNet unit as
 * its ControlNet),
 * then an ordinary kiln job (the same checks, quotas, credits, queue,
 * history and gallery) waited for, and answered with its PNGs in base64
 * and A1111's info (infotexts read back from the PNGs). The web servers
 * run this route in processes of its own (api-wait.fcgi), so waiting
 * calls never hold the rest of the API up. The other /sdapi/ routes are
 * in api_sdapi_info.c. */
#include "app.h"
#include "auth.h"
#include "config.h"
#include "db.h"
#include "extras.h"
#include "filehash.h"
#include "handlers.h"
#include "infotext.h"
#include "jobs.h"
#include "log.h"
#include "models.h"
#include "stheader.h"
#include "submit.h"
#include "storage.h"
#include "util.h"

#include <json-c/json.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* How long txt2img waits for its job before answering 504 with the job's
 * id (the job goes on; /api/v1/jobs/{id} follows it). The web servers'
 * own timeouts are set above it (FcgidIOTimeout in the Apache configs). */
#define SDAPI_WAIT_S 300
#define SDAPI_POLL_MS 200

/* kiln's samplers by their AUTOMATIC1111 names; the scheduler "Karras"
 * picks the _karras variant. */
static const struct {
	const char *a1111, *kiln, *karras;
} samplers[] = {
	{ "Euler", "euler", NULL },
	{ "Euler a", "euler_a", NULL },
	{ "Heun", "heun", NULL },
	{ "DDIM", "ddim", NULL },
	{ "DPM++ 2M", "dpmpp_2m", "dpmpp_2m_karras" },
	{ "LCM", "lcm", NULL },
};

/* AUTOMATIC1111's schedulers (modules/sd_schedulers.py) that are the
 * schedule kiln's samplers run: its sigmas are k-diffusion's
 * get_sigmas(n), linear in the timestep, which is A1111's "uniform",
 * and its "normal" comes to the same sigmas (timesteps from
 * sigma_to_t(sigma_max) = 999 down to sigma_to_t(sigma_min) = 0);
 * "automatic" is the sampler's own, that one. "karras" is kiln's
 * dpmpp_2m_karras. Names and labels both, in any case, as A1111's
 * schedulers_map takes them. */
static const struct {
	const char *name, *label;
} schedulers[] = {
	{ "automatic", "Automatic" },
	{ "uniform", "Uniform" },
	{ "normal", "Normal" },
	{ "karras", "Karras" },
};

/* AUTOMATIC1111's request fields (its processing classes and the API's
 * additions) that switch on something kiln cannot do, each with the
 * value that means off. Any other field kiln does not read is ignored,
 * as A1111's pydantic models ignore keys they do not know. */
enum off { OFF_FALSE, OFF_EMPTY, OFF_ZERO, OFF_MINUS1_OR_0, OFF_NONE,
	OFF_ONE };
static const struct {
	const char *name;
	enum off off;
	const char *why;
} offs[] = {
	{ "restore_faces", OFF_FALSE, "kiln has no face restoration" },
	{ "tiling", OFF_FALSE, "kiln does not render tiling images" },
	{ "styles", OFF_EMPTY, "kiln has no prompt styles "
	  "(GET /sdapi/v1/prompt-styles)" },
	{ "script_name", OFF_EMPTY, "kiln has no selectable scripts "
	  "(GET /sdapi/v1/scripts)" },
	{ "subseed_strength", OFF_ZERO, "kiln has no variation seeds" },
	{ "seed_resize_from_h", OFF_MINUS1_OR_0, "kiln cannot resize seeds" },
	{ "seed_resize_from_w", OFF_MINUS1_OR_0, "kiln cannot resize seeds" },
	{ "refiner_checkpoint", OFF_NONE, "kiln has no refiner pass" },
	/* s_churn 0 turns the churn off whatever s_tmin, s_tmax and
	 * s_noise say (k-diffusion's gamma is 0). */
	{ "s_churn", OFF_ZERO, "kiln's samplers run without churn" },
	{ "s_min_uncond", OFF_ZERO, "kiln always runs the negative "
	  "prompt" },
	{ "disable_extra_networks", OFF_FALSE, "kiln applies the prompt's "
	  "<lora:...> tags" },
	{ "firstpass_image", OFF_EMPTY, "kiln's txt2img takes no image" },
	{ "infotext", OFF_EMPTY, "kiln does not read settings from an "
	  "infotext" },
	{ "init_images", OFF_EMPTY, "txt2img takes no image; POST "
	  "/sdapi/v1/img2img does" },
	{ "mask", OFF_EMPTY, "txt2img takes no image; POST "
	  "/sdapi/v1/img2img does" },
	/* img2img's: 1 (or null) is the noise as sampled. */
	{ "initial_noise_multiplier", OFF_ONE, "kiln samples its noise "
	  "unscaled (1 only)" },
	{ "latent_mask", OFF_EMPTY, "kiln's mask is the mask (leave "
	  "latent_mask out)" },
};

/* The fields of offs that only A1111's txt2img model has (img2img reads
 * its images itself and ignores firstpass_image as any unknown key). */
static int
txt2img_only(const char *key)
{
	return !strcmp(key, "firstpass_image") ||
		!strcmp(key, "init_images") || !strcmp(key, "mask");
}

/* The hires fix's fields that must say "the same as the first pass". */
static const struct {
	const char *name, *same_as, *same_word;
} hr_same[] = {
	{ "hr_checkpoint_name", NULL, "Use same checkpoint" },
	{ "hr_sampler_name", "sampler_name", "Use same sampler" },
	{ "hr_scheduler", "scheduler", "Use same scheduler" },
	{ "hr_prompt", "prompt", NULL },
	{ "hr_negative_prompt", "negative_prompt", NULL },
};

/* AUTOMATIC1111's names of upscalers that kiln has under another name:
 * its built-in ones, and the file names Real-ESRGAN's models are
 * published under (what an upscaler in [paths] upscalers is called
 * when its file keeps that name). */
static const struct {
	const char *a1111, *kiln;
} upscaler_names[] = {
	{ "Latent", "latent" },
	{ "Latent (nearest)", "latent-nearest" },
	{ "Lanczos", "lanczos" },
	/* A1111's "None" upscaler leaves the image be and resize_image
	 * enlarges it with Lanczos. */
	{ "None", "lanczos" },
	{ "R-ESRGAN 4x+", "RealESRGAN_x4plus" },
	{ "R-ESRGAN 4x+ Anime6B", "RealESRGAN_x4plus_anime_6B" },
	{ "R-ESRGAN General 4xV3", "realesr-general-x4v3" },
	{ "R-ESRGAN General WDN 4xV3", "realesr-general-wdn-x4v3" },
	{ "R-ESRGAN AnimeVideo", "realesr-animevideov3" },
};

static void
field_error(void *arg, const char *field, const char *msg)
{
	/* kiln's names for the fields the caller named otherwise. */
	static const struct {
		const char *kiln, *a1111;
	} back[] = {
		{ "sampler", "sampler_name" }, { "batch_count", "batch_size" },
		{ "model", "override_settings.sd_model_checkpoint" },
		{ "hires_scale", "hr_scale" },
		{ "hires_steps", "hr_second_pass_steps" },
		{ "hires_strength", "denoising_strength" },
		{ "hires_upscaler", "hr_upscaler" },
		{ "init_image", "init_images" },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(back); i++)
		if (!strcmp(field, back[i].kiln))
			field = back[i].a1111;
	json_object_object_add(arg, field, json_object_new_string(msg));
}

static int
is_off(json_object *v, enum off off)
{
	const char *s;

	switch (json_object_get_type(v)) {
	case json_type_null:
		return 1;
	case json_type_boolean:
		return !json_object_get_boolean(v);
	case json_type_string:
		s = json_object_get_string(v);
		return *s == '\0' || (off == OFF_NONE &&
			(!strcmp(s, "None") || !strcmp(s, "none")));
	case json_type_array:
		return json_object_array_length(v) == 0;
	case json_type_object:
		return json_object_object_length(v) == 0;
	case json_type_int:
	case json_type_double: {
		double d = json_object_get_double(v);

		return ((off == OFF_ZERO || off == OFF_FALSE) && d == 0) ||
			(off == OFF_MINUS1_OR_0 && (d == 0 || d == -1)) ||
			(off == OFF_ONE && d == 1);
	}
	}
	return 0;
}

/* The kiln sampler for an AUTOMATIC1111 name (or kiln's own), with the
 * Karras schedule or not, or NULL. */
static const char *
sampler_for(const char *name, int karras)
{
	size_t i, n;

	for (i = 0; i < ARRAY_LEN(samplers); i++) {
		n = strlen(samplers[i].a1111);
		if (!strcmp(name, samplers[i].a1111) ||
		    !strcmp(name, samplers[i].kiln))
			return karras ? samplers[i].karras : samplers[i].kiln;
		/* The older spelling that names the schedule in the name. */
		if (samplers[i].karras != NULL && !strncmp(name,
		    samplers[i].a1111, n) && !strcmp(name + n, " Karras"))
			return samplers[i].karras;
	}
	for (i = 0; i < job_nsamplers; i++)
		if (!karras && !strcmp(name, job_samplers[i]))
			return job_samplers[i];
	return NULL;
}

/* The AUTOMATIC1111 name of a kiln sampler (itself when it has none):
 * A1111 1.9 on names the schedule apart, so dpmpp_2m_karras is
 * "DPM++ 2M" (with the scheduler Karras). */
static const char *
a1111_name(const char *kiln)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(samplers); i++)
		if (!strcmp(kiln, samplers[i].kiln) ||
		    (samplers[i].karras != NULL &&
		    !strcmp(kiln, samplers[i].karras)))
			return samplers[i].a1111;
	return kiln;
}

/* The kiln upscaler an AUTOMATIC1111 hr_upscaler names: its built-in
 * and Real-ESRGAN names mapped, anything else as it is (an upscaler
 * of [paths] upscalers by its file name). */
static const char *
upscaler_for(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(upscaler_names); i++)
		if (!strcmp(name, upscaler_names[i].a1111))
			return upscaler_names[i].kiln;
	return name;
}

/* The index in schedulers of name or label s (any case), or -1. */
static int
scheduler_index(const char *s)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(schedulers); i++)
		if (!strcasecmp(s, schedulers[i].name))
			return (int)i;
	return -1;
}

/* A field's string value, or NULL when it is absent, null or not a
 * string. */
static const char *
str_field(json_object *in, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(in, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* A field's number, or def when it is absent or null; *bad set (and the
 * field named) when it is something else. */
static double
num_field(json_object *in, const char *key, double def, json_object *fields,
	int *bad)
{
	json_object *v;

	if (!json_object_object_get_ex(in, key, &v) ||
	    json_object_is_type(v, json_type_null))
		return def;
	if (!json_object_is_type(v, json_type_int) &&
	    !json_object_is_type(v, json_type_double)) {
		field_error(fields, key, "must be a number");
		(*bad)++;
		return def;
	}
	return json_object_get_double(v);
}

/* A JSON true (or a number other than 0, as pydantic reads a bool). */
static int
is_on(json_object *in, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(in, key, &v) && !is_off(v,
		OFF_FALSE);
}

/* override_settings: the model, and the settings whose value changes
 * nothing kiln renders; a setting kiln cannot honour is named, and the
 * others (how A1111 saves, shows or runs) ignored. Returns the number
 * of problems. */
static int
overrides(json_object *val, json_object *o, json_object *fields)
{
	char name[160];
	const char *s;
	int bad = 0;

	json_object_object_foreach(val, key, v) {
		const char *why = NULL;

		snprintf(name, sizeof(name), "override_settings.%s", key);
		if (json_object_is_type(v, json_type_null))
			continue;
		s = json_object_is_type(v, json_type_string) ?
			json_object_get_string(v) : NULL;
		if (!strcmp(key, "sd_model_checkpoint")) {
			char model[128];

			if (s == NULL) {
				json_object_object_add(o, "model",
					json_object_get(v));
				continue;
			}
			sdapi_title_to_name(s, model, sizeof(model));
			json_object_object_add(o, "model",
				json_object_new_string(model));
		} else if (!strcmp(key, "CLIP_stop_at_last_layers")) {
			/* 1 is the last layer, A1111's default. */
			if (!(json_object_is_type(v, json_type_int) ||
			    json_object_is_type(v, json_type_double)) ||
			    json_object_get_double(v) > 1)
				why = "kiln has no CLIP skip (1 only)";
		} else if (!strcmp(key, "sd_vae") || !strcmp(key, "sd_unet")) {
			/* Automatic and None: the checkpoint's own. */
			if (s == NULL || (*s != '\0' && strcmp(s, "Automatic")
			    && strcmp(s, "None")))
				why = "kiln renders with the model's own "
					"(Automatic or None only)";
		} else if (!strcmp(key, "eta_noise_seed_delta")) {
			if (!is_off(v, OFF_ZERO))
				why = "kiln has no seed delta (0 only)";
		} else if (!strcmp(key, "forge_additional_modules")) {
			if (!is_off(v, OFF_EMPTY))
				why = "kiln has no separate modules";
		}
		if (why != NULL) {
			field_error(fields, name, why);
			bad++;
		}
	}
	return bad;
}

/* sampler_name (or sampler_index, the key it came as) and scheduler as
 * kiln's "sampler" in o; *chosen is the kiln sampler (NULL: the
 * model's own). Returns the number of problems. */
static int
pick_sampler(const char *sampler, const char *key, const char *scheduler,
	json_object *o, json_object *fields, const char **chosen)
{
	int si = scheduler != NULL && *scheduler != '\0' ?
		scheduler_index(scheduler) : 0;
	int karras = si >= 0 && !strcmp(schedulers[si].name, "karras");
	const char *s;

	*chosen = NULL;
	if (si < 0) {
		field_error(fields, "scheduler", "must be Automatic, Uniform, "
			"Normal or Karras");
		return 1;
	}
	if (sampler == NULL) {
		if (!karras)
			return 0;	/* the model's own sampler */
		field_error(fields, "scheduler", "Karras needs sampler_name "
			"DPM++ 2M");
		return 1;
	}
	s = sampler_for(sampler, karras);
	if (s != NULL) {
		json_object_object_add(o, "sampler", json_object_new_string(s));
		*chosen = s;
		return 0;
	}
	if (karras && sampler_for(sampler, 0) != NULL)
		field_error(fields, "scheduler", "Karras goes only with "
			"DPM++ 2M");
	else
		field_error(fields, key, "must be one of Euler, Euler a, Heun, "
			"DDIM, DPM++ 2M, DPM++ 2M Karras, LCM");
	return 1;
}

/* eta, where the sampler reads it: Euler a runs at eta 1 and DDIM at 0
 * (A1111's eta_ancestral and eta_ddim defaults); the others take no
 * eta. Returns the number of problems. */
static int
check_eta(json_object *in, const char *sampler, json_object *fields)
{
	int bad = 0;
	double eta = num_field(in, "eta", -1, fields, &bad);

	if (bad || eta < 0 || sampler == NULL)
		return bad;
	if (!strcmp(sampler, "euler_a") && eta != 1) {
		field_error(fields, "eta", "kiln's Euler a runs at eta 1");
		return 1;
	}
	if (!strcmp(sampler, "ddim") && eta != 0) {
		field_error(fields, "eta", "kiln's DDIM runs at eta 0");
		return 1;
	}
	return 0;
}

/* enable_hr and its fields as kiln's hires fix in o. Returns the number
 * of problems. */
static int
hires(json_object *in, json_object *o, json_object *fields)
{
	const char *up, *s, *same;
	double scale, strength, steps;
	int bad = 0;
	size_t i;

	if (!is_on(in, "enable_hr"))
		return 0;	/* every hr_ field unread, as A1111 does */
	scale = num_field(in, "hr_scale", 2.0, fields, &bad);
	/* A1111's txt2img denoising_strength default. */
	strength = num_field(in, "denoising_strength", 0.75, fields, &bad);
	steps = num_field(in, "hr_second_pass_steps", 0, fields, &bad);
	if (num_field(in, "hr_resize_x", 0, fields, &bad) != 0 ||
	    num_field(in, "hr_resize_y", 0, fields, &bad) != 0) {
		field_error(fields, "hr_resize_x", "kiln enlarges by hr_scale;"
			" leave hr_resize_x and hr_resize_y 0");
		bad++;
	}
	if (num_field(in, "firstphase_width", 0, fields, &bad) != 0 ||
	    num_field(in, "firstphase_height", 0, fields, &bad) != 0) {
		field_error(fields, "firstphase_width", "the old hires fix is "
			"not kiln's; leave firstphase_width/height 0");
		bad++;
	}
	for (i = 0; i < ARRAY_LEN(hr_same); i++) {
		s = str_field(in, hr_same[i].name);
		same = hr_same[i].same_as != NULL ? str_field(in,
			hr_same[i].same_as) : NULL;
		if (s == NULL || *s == '\0' || (same != NULL &&
		    !strcmp(s, same)) || (hr_same[i].same_word != NULL &&
		    !strcmp(s, hr_same[i].same_word)))
			continue;
		field_error(fields, hr_same[i].name, "kiln's second pass runs "
			"with the first pass's; leave it out");
		bad++;
	}
	up = str_field(in, "hr_upscaler");
	json_object_object_add(o, "hires_scale", json_object_new_double(scale));
	json_object_object_add(o, "hires_strength",
		json_object_new_double(strength));
	if (steps != 0)
		json_object_object_add(o, "hires_steps",
			json_object_new_int64((int64_t)steps));
	json_object_object_add(o, "hires_upscaler", json_object_new_string(
		upscaler_for(up != NULL && *up != '\0' ? up : "Latent")));
	return bad;
}

/* img2img's inpainting fields, which A1111 reads only with a mask, and
 * the defaults of its processing class (StableDiffusionProcessingImg2Img:
 * mask_blur 4, fill 0, the whole picture "only masked" with no padding,
 * the mask not inverted), which are not all kiln's own. */
static const struct {
	const char *name;
	int def;
} inpaint_fields[] = {
	{ "mask_blur", 4 }, { "inpainting_fill", 0 },
	{ "inpaint_full_res", 1 }, { "inpaint_full_res_padding", 0 },
	{ "inpainting_mask_invert", 0 },
};

/* init_images (one image: kiln renders a job from one) as the job's
 * init_image in o. Returns the number of problems. */
static int
init_images(json_object *val, json_object *o, json_object *fields)
{
	json_object *v;

	if (json_object_is_type(val, json_type_null))
		return 0;	/* reported as missing */
	if (!json_object_is_type(val, json_type_array)) {
		field_error(fields, "init_images", "must be an array of "
			"images (base64 or data: URIs)");
		return 1;
	}
	if (json_object_array_length(val) > 1) {
		field_error(fields, "init_images", "kiln renders a job from "
			"one init image; send one (batch_size makes several "
			"images of it)");
		return 1;
	}
	if (json_object_array_length(val) == 0)
		return 0;
	v = json_object_array_get_idx(val, 0);
	if (!json_object_is_type(v, json_type_string)) {
		field_error(fields, "init_images", "must be an array of "
			"images (base64 or data: URIs)");
		return 1;
	}
	json_object_object_add(o, "init_image", json_object_get(v));
	return 0;
}

/* img2img's own fields (those of A1111's model that txt2img's lacks)
 * from the body into o: the mask and what is done with it, only when
 * there is a mask, as A1111 reads them. Returns the number of
 * problems. */
static int
img2img_fields(json_object *in, json_object *o, json_object *fields)
{
	json_object *v, *bx, *by;
	int bad = 0;
	size_t k;

	if (json_object_object_get_ex(in, "init_images", &v))
		bad += init_images(v, o, fields);
	if (!json_object_object_get_ex(o, "init_image", NULL) && bad == 0) {
		field_error(fields, "init_images", "needs one image (base64 or "
			"a data: URI)");
		bad++;
	}
	if (json_object_object_get_ex(in, "denoising_strength", &v) &&
	    !json_object_is_type(v, json_type_null))
		json_object_object_add(o, "denoising_strength",
			json_object_get(v));
	if (json_object_object_get_ex(in, "resize_mode", &v) &&
	    !json_object_is_type(v, json_type_null)) {
		if (json_object_is_type(v, json_type_int) &&
		    json_object_get_int64(v) == 3) {
			field_error(fields, "resize_mode", "kiln has no latent "
				"upscale resize (0, 1 or 2)");
			bad++;
		} else {
			json_object_object_add(o, "resize_mode",
				json_object_get(v));
		}
	}
	if (!json_object_object_get_ex(in, "mask", &v) ||
	    json_object_is_type(v, json_type_null) ||
	    (json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) == 0))
		return bad;	/* the inpainting fields unread */
	json_object_object_add(o, "mask", json_object_get(v));
	for (k = 0; k < ARRAY_LEN(inpaint_fields); k++) {
		const char *name = inpaint_fields[k].name;

		if (!json_object_object_get_ex(in, name, &v) ||
		    json_object_is_type(v, json_type_null))
			v = NULL;
		/* mask_blur sets both of A1111's blurs; without it, they
		 * must agree, as kiln blurs alike both ways. */
		if (k == 0 && v == NULL) {
			bx = by = NULL;
			json_object_object_get_ex(in, "mask_blur_x", &bx);
			json_object_object_get_ex(in, "mask_blur_y", &by);
			if (bx != NULL && json_object_is_type(bx,
			    json_type_null))
				bx = NULL;
			if (by != NULL && json_object_is_type(by,
			    json_type_null))
				by = NULL;
			if ((bx != NULL || by != NULL) && !(bx != NULL &&
			    by != NULL && json_object_equal(bx, by))) {
				field_error(fields, "mask_blur_x", "kiln blurs "
					"the mask alike both ways: give "
					"mask_blur, or mask_blur_x equal to "
					"mask_blur_y");
				bad++;
				continue;
			}
			v = bx;
		}
		json_object_object_add(o, name, v != NULL ? json_object_get(v) :
			json_object_new_int(inpaint_fields[k].def));
	}
	return bad;
}

/* The fields img2img_fields reads, which translate passes over. */
static int
is_img2img_field(const char *key)
{
	static const char *const names[] = { "init_images", "mask",
		"denoising_strength", "resize_mode", "mask_blur_x",
		"mask_blur_y" };
	size_t k;

	for (k = 0; k < ARRAY_LEN(names); k++)
		if (!strcmp(key, names[k]))
			return 1;
	for (k = 0; k < ARRAY_LEN(inpaint_fields); k++)
		if (!strcmp(key, inpaint_fields[k].name))
			return 1;
	return 0;
}

/*
 * Turns a txt2img or (img2img 1) an img2img body into the body of POST
 * /api/v1/jobs in *out, with every problem reported to fields; *cn
 * receives the ControlNet unit it enabled. Returns the number of
 * problems, or -1 when memory runs out.
 */
static int
translate(json_object *in, int img2img, json_object *fields,
	json_object **out, struct sdapi_cn *cn)
{
	static const char *const same[] = { "prompt", "negative_prompt",
		"width", "height", "steps", "cfg_scale" };
	json_object *o = json_object_new_object(), *v;
	const char *sampler = NULL, *sampler_key = NULL, *scheduler = NULL;
	const char *chosen;
	json_object *scripts = NULL;
	long batch = 1, iters = 1;
	int bad = 0;
	size_t k;

	*out = o;
	memset(cn, 0, sizeof(*cn));
	if (o == NULL)
		return -1;
	if (img2img)
		bad += img2img_fields(in, o, fields);
	json_object_object_foreach(in, key, val) {
		if (img2img && is_img2img_field(key))
			continue;
		if (!strcmp(key, "alwayson_scripts")) {
			scripts = val;	/* once init_image is in o */
			continue;
		}
		for (k = 0; k < ARRAY_LEN(same); k++)
			if (!strcmp(key, same[k]))
				break;
		if (k < ARRAY_LEN(same)) {
			/* AUTOMATIC1111's fields are optional: null is its
			 * default, and an int field takes 512.0. kiln's own
			 * API is stricter; its clients are not these. */
			if (json_object_is_type(val, json_type_null))
				continue;
			if (k >= 2 && k <= 4 &&		/* width .. steps */
			    json_object_is_type(val, json_type_double) &&
			    json_object_get_double(val) ==
			    floor(json_object_get_double(val)) &&
			    fabs(json_object_get_double(val)) < 1e9) {
				json_object_object_add(o, key,
					json_object_new_int64((int64_t)
					json_object_get_double(val)));
				continue;
			}
			json_object_object_add(o, key, json_object_get(val));
			continue;
		}
		if (!strcmp(key, "seed")) {
			/* -1 or null: a random seed, kiln's default. */
			if (!json_object_is_type(val, json_type_null) &&
			    (!json_object_is_type(val, json_type_int) ||
			    json_object_get_int64(val) != -1))
				json_object_object_add(o, "seed",
					json_object_get(val));
			continue;
		}
		if (!strcmp(key, "sampler_name") ||
		    !strcmp(key, "sampler_index") || !strcmp(key, "scheduler")) {
			if (json_object_is_type(val, json_type_null))
				continue;
			if (!json_object_is_type(val, json_type_string)) {
				field_error(fields, key, "must be a string");
				bad++;
			} else if (!strcmp(key, "scheduler")) {
				scheduler = json_object_get_string(val);
			} else if (sampler == NULL ||
			    !strcmp(key, "sampler_name")) {
				sampler = json_object_get_string(val);
				sampler_key = key;
			}
			continue;
		}
		if (!strcmp(key, "batch_size") || !strcmp(key, "n_iter")) {
			long *dst = key[0] == 'b' ? &batch : &iters;

			if (json_object_is_type(val, json_type_null))
				continue;
			if (!json_object_is_type(val, json_type_int) ||
			    json_object_get_int64(val) < 1 ||
			    json_object_get_int64(val) > BATCH_MAX) {
				field_error(fields, key, "must be a whole "
					"number from 1 to 8");
				bad++;
				continue;
			}
			*dst = (long)json_object_get_int64(val);
			continue;
		}
		if (!strcmp(key, "override_settings")) {
			if (json_object_is_type(val, json_type_null))
				continue;
			if (!json_object_is_type(val, json_type_object)) {
				field_error(fields, key, "must be an object");
				bad++;
				continue;
			}
			bad += overrides(val, o, fields);
			continue;
		}
		for (k = 0; k < ARRAY_LEN(offs); k++)
			if (!strcmp(key, offs[k].name) &&
			    !(img2img && txt2img_only(key)))
				break;
		if (k < ARRAY_LEN(offs) && !is_off(val, offs[k].off)) {
			char msg[160];

			snprintf(msg, sizeof(msg), "%s; leave it out or off",
				offs[k].why);
			field_error(fields, key, msg);
			bad++;
		}
		/* Anything else: what kiln need not read (saving, sending,
		 * eta where no sampler reads it, hr_ fields without
		 * enable_hr, other programs' keys), ignored. */
	}
	bad += pick_sampler(sampler, sampler_key, scheduler, o, fields,
		&chosen);
	bad += check_eta(in, chosen, fields);
	/* A1111's img2img model has no hires fix: its enable_hr is one
	 * more unknown key. */
	if (!img2img)
		bad += hires(in, o, fields);
	if (scripts != NULL)
		bad += sdapi_alwayson(scripts, img2img, o, fields, cn);
	if (batch * iters > BATCH_MAX) {
		field_error(fields, "batch_size", "batch_size x n_iter must be "
			"at most 8");
		bad++;
	} else if (batch * iters > 1) {
		json_object_object_add(o, "batch_count",
			json_object_new_int64(batch * iters));
	}
	/* No prompt means an empty one to AUTOMATIC1111; kiln needs one,
	 * and says so under the same name. */
	if (!json_object_object_get_ex(o, "prompt", &v))
		json_object_object_add(o, "prompt", json_object_new_string(""));
	return bad;
}

/* What the answer needs from the request beside the job: A1111's
 * batch_size (kiln's batch_count is batch_size x n_iter), whether to
 * send the images, the subseed and denoising_strength it echoes. */
struct a1111_req {
	long batch_size;
	int send_images;
	long long subseed;
	json_object *denoise;	/* borrowed from the body; NULL: none */
};

static void
a1111_req_of(json_object *body, struct a1111_req *m)
{
	json_object *v;

	m->batch_size = 1;
	m->send_images = 1;
	m->subseed = -1;
	m->denoise = NULL;
	if (json_object_object_get_ex(body, "batch_size", &v) &&
	    json_object_is_type(v, json_type_int))
		m->batch_size = (long)json_object_get_int64(v);
	/* send_images false: A1111 answers "images": []. */
	if (json_object_object_get_ex(body, "send_images", &v) &&
	    is_off(v, OFF_FALSE) && !json_object_is_type(v, json_type_null))
		m->send_images = 0;
	if (json_object_object_get_ex(body, "subseed", &v) &&
	    json_object_is_type(v, json_type_int) &&
	    json_object_get_int64(v) >= 0)
		m->subseed = json_object_get_int64(v);
	if (json_object_object_get_ex(body, "denoising_strength", &v) &&
	    (json_object_is_type(v, json_type_int) ||
	    json_object_is_type(v, json_type_double)))
		m->denoise = v;
}

struct img_row {
	json_object *images, *seeds, *infotexts;
	struct kreq *req;
	int send, failed;
};

/* b (a PNG kilnd wrote) in base64, a fresh string, or NULL. */
static char *
buf_base64(const struct buf *b)
{
	size_t n = sodium_base64_encoded_len(b->len,
		sodium_base64_VARIANT_ORIGINAL);
	/* Checked, as the read into b is: up to a third more than the
	 * file, sized by it; NULL fails this answer only. */
	char *b64 = malloc(n);

	if (b64 != NULL)
		sodium_bin2base64(b64, n, (const unsigned char *)b->data,
			b->len, sodium_base64_VARIANT_ORIGINAL);
	return b64;
}

/* The file at path (a PNG kilnd wrote, at most 256 MiB) in base64, a
 * fresh string, or NULL. */
static char *
stored_base64(struct kreq *req, const char *key)
{
	struct storage *st = storage_open(&req->app->cfg);
	struct buf b = { 0 };
	char *b64 = NULL, err[512];

	if (st != NULL && storage_get(st, key, 256UL * 1024 * 1024, &b, err,
	    sizeof(err)) == 0 && b.len > 0)
		b64 = buf_base64(&b);
	buf_free(&b);
	storage_free(st);
	return b64;
}

struct image_rec {
	const char *path;
	long long seed;
};

static const struct db_field image_fields[] = {
	DB_FIELD(struct image_rec, path, DBF_STR, "path"),
	DB_FIELD(struct image_rec, seed, DBF_LLONG, "seed"),
};

/* One image of the job: its PNG in base64 (when sent), its seed, and
 * its infotext as A1111 reads it back from the PNG. */
static int
image_row(void *rec, void *arg)
{
	const struct image_rec *r = rec;
	struct img_row *ir = arg;
	struct buf b = { 0 };
	char path[4096], err[512], *b64 = NULL;
	json_object *chunks = NULL, *text = NULL;
	struct storage *st = NULL;
	int g = -1;

	if (api_artifact_path(ir->req, r->path, 0, path, sizeof(path)) == 0 &&
	    (st = storage_open(&ir->req->app->cfg)) != NULL)
		g = storage_get(st, r->path, 256UL * 1024 * 1024, &b, err,
			sizeof(err));
	storage_free(st);
	if (g != 0 || b.len == 0 ||
	    (ir->send && (b64 = buf_base64(&b)) == NULL)) {
		log_error("sdapi: cannot read %s", r->path);
		buf_free(&b);
		ir->failed = 1;
		return 1;
	}
	chunks = png_text_chunks((const uint8_t *)b.data, b.len, err,
		sizeof(err));
	if (chunks == NULL || !json_object_object_get_ex(chunks,
	    "parameters", &text))
		log_warn("sdapi: %s: no parameters: %s", r->path,
			chunks == NULL ? err : "no such chunk");
	json_object_array_add(ir->infotexts, text != NULL ?
		json_object_get(text) : json_object_new_string(""));
	json_object_put(chunks);
	buf_free(&b);
	if (b64 != NULL) {
		json_object_array_add(ir->images, json_object_new_string(b64));
		free(b64);
	}
	json_object_array_add(ir->seeds, json_object_new_int64(r->seed));
	return 0;
}

/* v, or a new null when v is NULL (json-c's null is NULL). */
static json_object *
or_null(json_object *v)
{
	return v != NULL ? json_object_get(v) : NULL;
}

/* "2026-12-07T10:11:12Z" -> "20261207101112", A1111's job_timestamp. */
static json_object *
job_timestamp(json_object *job)
{
	json_object *v;
	const char *s;
	char ts[15];
	size_t n = 0;

	if (!json_object_object_get_ex(job, "created_at", &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	for (s = json_object_get_string(v); *s != '\0' && n < 14; s++)
		if (*s >= '0' && *s <= '9')
			ts[n++] = *s;
	ts[n] = '\0';
	return json_object_new_string(ts);
}

/* AUTOMATIC1111's "info", a JSON text: the keys its Processed.js()
 * gives, with what the job rendered. The generation parameters beyond
 * the common ones (hires fix, LoRA and embedding hashes) are read back
 * from the first image's infotext, as A1111 puts them in
 * extra_generation_params. */
static json_object *
info_of(json_object *job, const struct img_row *ir, const struct a1111_req *m)
{
	static const char *const extra[] = { "Denoising strength",
		"Mask mode", "Mask blur", "Inpaint area", "Masked area padding",
		"Masked content", "Hires upscale", "Hires steps",
		"Hires upscaler", "ControlNet 0", "Lora hashes", "TI hashes" };
	json_object *o = json_object_new_object(), *v, *a, *parsed = NULL;
	json_object *hires = NULL, *x;
	const char *sampler = "";
	size_t i, n = json_object_array_length(ir->seeds);

	if (o == NULL)
		return NULL;
	if (json_object_array_length(ir->infotexts) > 0)
		parsed = infotext_parse(json_object_get_string(
			json_object_array_get_idx(ir->infotexts, 0)));
	json_object_object_get_ex(job, "hires", &hires);
	json_object_object_get_ex(job, "prompt", &v);
	json_object_object_add(o, "prompt", or_null(v));
	a = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(a, or_null(v));
	json_object_object_add(o, "all_prompts", a);
	json_object_object_get_ex(job, "negative_prompt", &v);
	json_object_object_add(o, "negative_prompt", v != NULL ?
		json_object_get(v) : json_object_new_string(""));
	a = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(a, v != NULL ? json_object_get(v) :
			json_object_new_string(""));
	json_object_object_add(o, "all_negative_prompts", a);
	json_object_object_add(o, "seed", n > 0 ? json_object_get(
		json_object_array_get_idx(ir->seeds, 0)) : NULL);
	json_object_object_add(o, "all_seeds", json_object_get(ir->seeds));
	json_object_object_add(o, "subseed", json_object_new_int64(m->subseed));
	a = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_int64(m->subseed));
	json_object_object_add(o, "all_subseeds", a);
	json_object_object_add(o, "subseed_strength", json_object_new_int(0));
	json_object_object_get_ex(job, "width", &v);
	json_object_object_add(o, "width", or_null(v));
	json_object_object_get_ex(job, "height", &v);
	json_object_object_add(o, "height", or_null(v));
	if (json_object_object_get_ex(job, "sampler", &v))
		sampler = a1111_name(json_object_get_string(v));
	json_object_object_add(o, "sampler_name",
		json_object_new_string(sampler));
	json_object_object_get_ex(job, "cfg_scale", &v);
	json_object_object_add(o, "cfg_scale", or_null(v));
	json_object_object_get_ex(job, "steps", &v);
	json_object_object_add(o, "steps", or_null(v));
	json_object_object_add(o, "batch_size",
		json_object_new_int64(m->batch_size));
	json_object_object_add(o, "restore_faces", json_object_new_boolean(0));
	json_object_object_add(o, "face_restoration_model", NULL);
	json_object_object_get_ex(job, "model", &v);
	json_object_object_add(o, "sd_model_name", or_null(v));
	v = NULL;
	if (parsed != NULL)
		json_object_object_get_ex(parsed, "Model hash", &v);
	json_object_object_add(o, "sd_model_hash", or_null(v));
	json_object_object_add(o, "sd_vae_name", NULL);
	json_object_object_add(o, "sd_vae_hash", NULL);
	json_object_object_add(o, "seed_resize_from_w", json_object_new_int(-1));
	json_object_object_add(o, "seed_resize_from_h", json_object_new_int(-1));
	v = NULL;
	if (hires != NULL && json_object_is_type(hires, json_type_object))
		json_object_object_get_ex(hires, "strength", &v);
	/* img2img's strength, as the job rendered it (A1111's default
	 * included). */
	if (v == NULL && json_object_object_get_ex(job, "denoising_strength",
	    &x) && x != NULL)
		v = x;
	json_object_object_add(o, "denoising_strength", or_null(v != NULL ?
		v : m->denoise));
	x = json_object_new_object();
	for (i = 0; parsed != NULL && i < ARRAY_LEN(extra); i++)
		if (json_object_object_get_ex(parsed, extra[i], &v))
			json_object_object_add(x, extra[i],
				json_object_get(v));
	json_object_object_add(o, "extra_generation_params", x);
	json_object_object_add(o, "index_of_first_image", json_object_new_int(0));
	json_object_object_add(o, "infotexts", json_object_get(ir->infotexts));
	json_object_object_add(o, "styles", json_object_new_array());
	json_object_object_add(o, "job_timestamp", job_timestamp(job));
	json_object_object_add(o, "clip_skip", json_object_new_int(1));
	json_object_object_add(o, "is_using_inpainting_conditioning",
		json_object_new_boolean(0));
	json_object_object_add(o, "version", NULL);
	if (json_object_object_get_ex(job, "id", &v))
		json_object_object_add(o, "kiln_job_id", json_object_get(v));
	json_object_put(parsed);
	return o;
}

/* Sleeps ms milliseconds. */
static void
nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The job's answer, finished or interrupted: its images (none when
 * send_images is off), the request, the info. */
static int
answer_images(struct kreq *req, unsigned long long id, json_object *params,
	const struct a1111_req *m)
{
	struct img_row ir = { NULL, NULL, NULL, req, m->send_images, 0 };
	struct image_rec r;
	struct db_param p = DB_INT(id);
	json_object *o = NULL, *job, *info = NULL;
	int found, rc;

	job = job_json(req->app->db, req->app->cfg.base_url, id,
		req->auth->user_id, &found);
	if (job == NULL)
		return found < 0 ? api_db_fail(req, "sdapi: read job") :
			resp_error_json(req, 404, "not_found", "the job was "
			"deleted while it ran", NULL);
	ir.images = json_object_new_array();
	ir.seeds = json_object_new_array();
	ir.infotexts = json_object_new_array();
	if (ir.images == NULL || ir.seeds == NULL || ir.infotexts == NULL) {
		rc = api_send(req, 500, NULL);
		goto out;
	}
	if (db_query_into(req->app->db, "SELECT path, seed FROM job_images"
	    " WHERE job_id = ? ORDER BY idx", &p, 1, image_fields,
	    DB_NFIELDS(image_fields), &r, image_row, &ir) < 0) {
		rc = api_db_fail(req, "sdapi: images");
		goto out;
	}
	if (ir.failed) {
		rc = resp_error_json(req, 500, "internal", "the job's images "
			"could not be read", NULL);
		goto out;
	}
	info = info_of(job, &ir, m);
	o = json_object_new_object();
	if (info != NULL && o != NULL) {
		json_object_object_add(o, "images",
			json_object_get(ir.images));
		json_object_object_add(o, "parameters",
			json_object_get(params));
		json_object_object_add(o, "info", json_object_new_string(
			json_object_to_json_string_ext(info,
			JSON_C_TO_STRING_PLAIN)));
	} else {
		json_object_put(o);
		o = NULL;
	}
	rc = api_send(req, 200, o);	/* NULL: a 500 */
out:
	json_object_put(info);
	json_object_put(job);
	json_object_put(ir.images);
	json_object_put(ir.seeds);
	json_object_put(ir.infotexts);
	return rc;
}

/* The model POST /sdapi/v1/options chose for this account, into kb when
 * the request names none and it is still installed. Returns 0, or -1 on
 * a db error. */
static int
stored_model(struct kreq *req, json_object *kb)
{
	struct db_param p = DB_INT(req->auth->user_id);
	char *name = NULL;
	int st;

	if (json_object_object_get_ex(kb, "model", NULL))
		return 0;
	st = db_query_string(req->app->db, "SELECT sd_model_checkpoint FROM"
		" sdapi_options WHERE user_id = ?", &p, 1, &name);
	if (st < 0)
		return -1;
	if (name != NULL && sdapi_model_listed(req->app->cfg.models_dir,
	    name))
		json_object_object_add(kb, "model",
			json_object_new_string(name));
	free(name);
	return 0;
}

int
sdapi_model_listed(const char *dir, const char *name)
{
	char **names = NULL;
	int n, i, found = 0;

	if (!model_name_ok(name))
		return 0;
	n = models_list(dir, &names);
	for (i = 0; i < n && !found; i++)
		found = !strcmp(names[i], name);
	models_list_free(names, n);
	return found;
}

void
sdapi_title_to_name(const char *title, char *out, size_t n)
{
	size_t len;
	const char *br = strstr(title, " [");

	/* "NAME.safetensors [0123456789]": A1111's titles, which clients
	 * may send back; kiln's titles are the bare names. */
	len = br != NULL ? (size_t)(br - title) : strlen(title);
	if (len > 12 && !strncmp(title + len - 12, ".safetensors", 12))
		len -= 12;
	if (len >= n)
		len = n - 1;
	memcpy(out, title, len);
	out[len] = '\0';
}

/* The request as A1111 echoes it in "parameters": img2img's without its
 * images unless include_init_images (itself never echoed, its model
 * excludes it). A new reference, or NULL out of memory. */
static json_object *
echoed(json_object *body, int img2img)
{
	json_object *o;
	int with = is_on(body, "include_init_images");

	if (!img2img)
		return json_object_get(body);
	o = json_object_new_object();
	if (o == NULL)
		return NULL;
	json_object_object_foreach(body, key, val) {
		if (!strcmp(key, "include_init_images"))
			continue;
		if (!with && (!strcmp(key, "init_images") ||
		    !strcmp(key, "mask")))
			json_object_object_add(o, key, NULL);
		else
			json_object_object_add(o, key, json_object_get(val));
	}
	/* A1111 echoes every field of its model: these two as null. */
	if (!with) {
		json_object_object_add(o, "init_images", NULL);
		json_object_object_add(o, "mask", NULL);
	}
	return o;
}

/* Waits for job id of the caller to end, as A1111 answers when its
 * images exist. Returns 1 when it succeeded or was interrupted (A1111
 * answers 200 with what it has), else 0 with the answer sent and its
 * result in *rc: the job deleted (404), failed (502), or still running
 * after SDAPI_WAIT_S (504). */
static int
sdapi_wait(struct kreq *req, unsigned long long id, int *rc)
{
	time_t until = time(NULL) + SDAPI_WAIT_S;
	char msg[160];
	int st;

	for (;;) {
		char *status = NULL;
		int found = job_status_of(req->app->db, id,
			req->auth->user_id, &status);

		if (found < 0) {
			*rc = api_db_fail(req, "sdapi: wait");
			return 0;
		}
		if (found == 0) {
			*rc = resp_error_json(req, 404, "not_found", "the job "
				"was deleted while it ran", NULL);
			return 0;
		}
		if (!strcmp(status, "succeeded") ||
		    !strcmp(status, "canceled")) {
			free(status);
			return 1;
		}
		st = !strcmp(status, "failed");
		free(status);
		if (st == 1) {
			/* The render daemon, not this program, failed: 502,
			 * as a gateway answers for its upstream; 500 is kept
			 * for faults of this program. */
			snprintf(msg, sizeof(msg), "the job failed; "
				"GET /api/v1/jobs/%llu says why", id);
			*rc = resp_error_json(req, 502, "job_failed", msg,
				NULL);
			return 0;
		}
		if (time(NULL) >= until) {
			snprintf(msg, sizeof(msg), "the job is still queued "
				"or running; follow it at /api/v1/jobs/%llu", id);
			*rc = resp_error_json(req, 504, "still_running", msg,
				NULL);
			return 0;
		}
		nap(SDAPI_POLL_MS);
	}
}

/* POST /sdapi/v1/txt2img and img2img: the request as a kiln job,
 * waited for. */
static int
sdapi_render(struct kreq *req, int img2img)
{
	struct tier_limits tl, *tier = &tl;
	json_object *body = NULL, *kb = NULL, *fields = NULL, *params = NULL;
	struct sdapi_cn cn;
	struct enqueue_refusal why;
	struct a1111_req meta;
	unsigned long long id = 0;
	struct job_spec s;
	int bad, st, rc;

	memset(&s, 0, sizeof(s));
	tier_of(&req->app->cfg, req->auth->tier, &tl);
	if (!api_submit_allowed(req) || req_json_body(req, &body) != 0)
		return -1;
	fields = json_object_new_object();
	if (fields == NULL)
		goto oom;
	/* Every problem at once: the translation's, then kiln's own checks
	 * of what it made. */
	bad = translate(body, img2img, fields, &kb, &cn);
	a1111_req_of(body, &meta);
	if (bad >= 0 && stored_model(req, kb) != 0) {
		rc = api_db_fail(req, "sdapi: options");
		goto out;
	}
	if (bad >= 0) {
		st = job_spec_from_json(kb, &req->app->cfg, &s, field_error,
			fields);
		bad = st < 0 ? -1 : bad + st;
	}
	if (bad < 0)
		goto oom;
	if (bad == 0)
		bad = job_spec_limits(&s, tier, field_error, fields);
	if (bad == 0)
		bad = job_spec_model_limits(&s, field_error, fields);
	if (bad == 0)
		bad = sdapi_cn_check(&cn, &s, s.hires_scale > 0, fields);
	if (bad > 0) {
		sdapi_cn_fields(&cn, fields);
		/* 422, as AUTOMATIC1111's validation answers. */
		rc = resp_error_json(req, 422, "validation_failed", "the "
			"request is not valid; see fields", fields);
		fields = NULL;
		goto out;
	}
	st = job_enqueue(req->app->db, req->auth->user_id, tier, &s, 1, &id,
		&why);
	if (st < 0) {
		rc = api_db_fail(req, "sdapi: enqueue");
		goto out;
	}
	if (st > 0) {
		rc = api_refuse_quota(req, &why);
		goto out;
	}
	/* AUTOMATIC1111 answers when the images exist: wait for the job. */
	if (sdapi_wait(req, id, &rc) != 1)
		goto out;
	params = echoed(body, img2img);
	if (params == NULL)
		goto oom;
	rc = answer_images(req, id, params, &meta);
	goto out;
oom:
	rc = api_send(req, 500, NULL);
out:
	job_spec_free(&s);
	json_object_put(fields);
	json_object_put(params);
	json_object_put(kb);
	json_object_put(body);
	return rc;
}

int
api_sdapi_txt2img(struct kreq *req)
{
	return sdapi_render(req, 0);
}

int
api_sdapi_img2img(struct kreq *req)
{
	return sdapi_render(req, 1);
}

int
api_sdapi_models(struct kreq *req)
{
	json_object *a = json_object_new_array();
	struct hash_row *rows = NULL;
	char **names = NULL, *path;
	struct file_stamp st;
	long nrows;
	int n, i;

	if (a == NULL)
		return api_send(req, 500, NULL);
	n = models_list(req->app->cfg.models_dir, &names);
	/* Hashes as far as kilnd or kiln-admin took them: none is
	 * computed here. */
	nrows = hash_cache_list(req->app->db, "checkpoint", &rows);
	for (i = 0; i < n; i++) {
		json_object *m = json_object_new_object();
		const char *h = NULL;

		path = xasprintf("%s/%s.safetensors", req->app->cfg.models_dir,
			names[i]);
		if (nrows > 0 && file_stamp_of(path, &st) == 0)
			h = hash_rows_find(rows, nrows, names[i], &st);
		free(path);
		/* The title is what override_settings.sd_model_checkpoint
		 * takes back. */
		json_object_object_add(m, "title",
			json_object_new_string(names[i]));
		json_object_object_add(m, "model_name",
			json_object_new_string(names[i]));
		json_object_object_add(m, "hash", h != NULL ?
			json_object_new_string_len(h, HASH_SHORT_MODEL) : NULL);
		json_object_object_add(m, "sha256", h != NULL ?
			json_object_new_string(h) : NULL);
		json_object_object_add(m, "filename",
			json_object_new_string(names[i]));
		json_object_object_add(m, "config", NULL);
		json_object_array_add(a, m);
	}
	free(rows);
	models_list_free(names, n);
	return api_send(req, 200, a);
}

/* A1111's metadata of a network: the __metadata__ strings, those that
 * hold a JSON object (kohya's ss_tag_frequency...) parsed, as its
 * read_metadata_from_safetensors does. */
static json_object *
metadata_json(const struct sth_file *h)
{
	json_object *o = json_object_new_object(), *v;
	size_t i;

	for (i = 0; h != NULL && i < h->nmeta; i++) {
		v = NULL;
		if (h->meta[i].value[0] == '{')
			v = json_tokener_parse(h->meta[i].value);
		if (v == NULL)
			v = json_object_new_string(h->meta[i].value);
		json_object_object_add(o, h->meta[i].key, v);
	}
	return o;
}

/* AUTOMATIC1111's GET /sdapi/v1/loras: name, alias (kohya's
 * ss_output_name, else the name), path and metadata of every usable LoRA.
 * The path is the file's name: kiln shows no server paths. */
int
api_sdapi_loras(struct kreq *req)
{
	json_object *a = json_object_new_array();
	struct extra_info *x = NULL;
	char file[128];
	int n, i;

	if (a == NULL)
		return api_send(req, 500, NULL);
	n = extras_list(req->app->cfg.loras_dir, EXTRA_LORA, &x);
	for (i = 0; i < n; i++) {
		json_object *o;
		const char *alias;

		if (x[i].error != NULL)
			continue;
		alias = sth_meta(x[i].header, "ss_output_name");
		o = json_object_new_object();
		json_object_object_add(o, "name",
			json_object_new_string(x[i].name));
		json_object_object_add(o, "alias", json_object_new_string(
			alias != NULL && *alias ? alias : x[i].name));
		snprintf(file, sizeof(file), "%s.safetensors", x[i].name);
		json_object_object_add(o, "path", json_object_new_string(file));
		json_object_object_add(o, "metadata",
			metadata_json(x[i].header));
		json_object_array_add(a, o);
	}
	extras_free(x, n);
	return api_send(req, 200, a);
}

/* AUTOMATIC1111's GET /sdapi/v1/embeddings: {"loaded": {name: {step,
 * sd_checkpoint, sd_checkpoint_name, shape, vectors}}, "skipped": {...}}.
 * A1111 loads the embeddings whose width fits the model it has loaded
 * and skips the others; kiln has many models, and answers for the
 * default one: an embedding made for another family is skipped (all
 * load when its family is unknown). safetensors embeddings carry no
 * training step or checkpoint: null, as A1111 gives them. */
int
api_sdapi_embeddings(struct kreq *req)
{
	json_object *o = json_object_new_object();
	json_object *loaded = json_object_new_object();
	json_object *skipped = json_object_new_object();
	struct model_card *card = NULL;
	struct extra_info *x = NULL;
	enum sd_family want = SD_UNKNOWN;
	char err[256];
	int n, i;

	if (o == NULL || loaded == NULL || skipped == NULL) {
		json_object_put(o);
		json_object_put(loaded);
		json_object_put(skipped);
		return api_send(req, 500, NULL);
	}
	if (model_card_load(req->app->cfg.models_dir,
	    req->app->cfg.default_model, &card, err, sizeof(err)) == 0)
		want = card->type;
	model_card_free(card);
	n = extras_list(req->app->cfg.embeddings_dir, EXTRA_EMBEDDING, &x);
	for (i = 0; i < n; i++) {
		json_object *e;

		if (x[i].error != NULL)
			continue;
		e = json_object_new_object();
		json_object_object_add(e, "step", NULL);
		json_object_object_add(e, "sd_checkpoint", NULL);
		json_object_object_add(e, "sd_checkpoint_name", NULL);
		json_object_object_add(e, "shape",
			json_object_new_int(x[i].width));
		json_object_object_add(e, "vectors",
			json_object_new_int(x[i].vectors));
		json_object_object_add(want == SD_UNKNOWN ||
			x[i].family == want ? loaded : skipped, x[i].name, e);
	}
	extras_free(x, n);
	json_object_object_add(o, "loaded", loaded);
	json_object_object_add(o, "skipped", skipped);
	return api_send(req, 200, o);
}

int
api_sdapi_samplers(struct kreq *req)
{
	json_object *a = json_object_new_array();
	size_t i;

	if (a == NULL)
		return api_send(req, 500, NULL);
	for (i = 0; i < ARRAY_LEN(samplers); i++) {
		json_object *m = json_object_new_object(), *al;

		json_object_object_add(m, "name",
			json_object_new_string(samplers[i].a1111));
		al = json_object_new_array();
		json_object_array_add(al, json_object_new_string(
			samplers[i].kiln));
		json_object_object_add(m, "aliases", al);
		json_object_object_add(m, "options", json_object_new_object());
		json_object_array_add(a, m);
	}
	return api_send(req, 200, a);
}

/* GET /sdapi/v1/upscalers: A1111's "None" and "Lanczos" (kiln's
 * lanczos), then the usable upscaler models of [paths] upscalers, by
 * A1111's name where the file keeps Real-ESRGAN's published one; each
 * name is what hr_upscaler takes. */
int
api_sdapi_upscalers(struct kreq *req)
{
	static const char *const builtin[] = { "None", "Lanczos" };
	json_object *a = json_object_new_array(), *o;
	struct extra_info *x = NULL;
	char file[128];
	const char *name;
	size_t k;
	int n, i;

	if (a == NULL)
		return api_send(req, 500, NULL);
	for (k = 0; k < ARRAY_LEN(builtin); k++) {
		o = json_object_new_object();
		json_object_object_add(o, "name",
			json_object_new_string(builtin[k]));
		json_object_object_add(o, "model_name", NULL);
		json_object_object_add(o, "model_path", NULL);
		json_object_object_add(o, "model_url", NULL);
		json_object_object_add(o, "scale", json_object_new_int(4));
		json_object_array_add(a, o);
	}
	n = extras_list(req->app->cfg.upscalers_dir, EXTRA_UPSCALER, &x);
	for (i = 0; i < n; i++) {
		if (x[i].error != NULL)
			continue;
		name = x[i].name;
		for (k = 0; k < ARRAY_LEN(upscaler_names); k++)
			if (!strcmp(x[i].name, upscaler_names[k].kiln))
				name = upscaler_names[k].a1111;
		o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(name));
		json_object_object_add(o, "model_name",
			json_object_new_string(x[i].arch));
		snprintf(file, sizeof(file), "%s.safetensors", x[i].name);
		json_object_object_add(o, "model_path",
			json_object_new_string(file));
		json_object_object_add(o, "model_url", NULL);
		json_object_object_add(o, "scale",
			json_object_new_int(x[i].scale));
		json_object_array_add(a, o);
	}
	extras_free(x, n);
	return api_send(req, 200, a);
}

/* GET /sdapi/v1/latent-upscale-modes: the latent modes kiln's hires fix
 * has, by A1111's names. */
int
api_sdapi_latent_modes(struct kreq *req)
{
	json_object *a = json_object_new_array(), *o;
	size_t k;

	if (a == NULL)
		return api_send(req, 500, NULL);
	for (k = 0; k < ARRAY_LEN(upscaler_names); k++) {
		if (strncmp(upscaler_names[k].kiln, "latent", 6) != 0)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(
			upscaler_names[k].a1111));
		json_object_array_add(a, o);
	}
	return api_send(req, 200, a);
}

/* GET /sdapi/v1/schedulers: A1111's SchedulerItem for each scheduler
 * txt2img takes (the schedulers table above). */
int
api_sdapi_schedulers(struct kreq *req)
{
	json_object *a = json_object_new_array(), *o;
	size_t k;

	if (a == NULL)
		return api_send(req, 500, NULL);
	for (k = 0; k < ARRAY_LEN(schedulers); k++) {
		int karras = !strcmp(schedulers[k].name, "karras");

		o = json_object_new_object();
		json_object_object_add(o, "name",
			json_object_new_string(schedulers[k].name));
		json_object_object_add(o, "label",
			json_object_new_string(schedulers[k].label));
		json_object_object_add(o, "aliases", NULL);
		json_object_object_add(o, "default_rho", karras ?
			json_object_new_double(7.0) :
			json_object_new_double(-1));
		/* uniform and normal read the model's own sigmas. */
		json_object_object_add(o, "need_inner_model",
			json_object_new_boolean(!strcmp(schedulers[k].name,
			"uniform") || !strcmp(schedulers[k].name, "normal")));
		json_object_array_add(a, o);
	}
	return api_send(req, 200, a);
}

/* The caller's newest unfinished job: id, progress over the whole batch
 * (step of steps_total), steps per image, batch size, eta and preview
 * path. */
struct live {
	unsigned long long id;
	long step, steps_total, steps, batch;
	double eta;
	char *preview;
	int found;
};

static const struct db_field live_fields[] = {
	DB_FIELD(struct live, id, DBF_ULLONG, "id"),
	DB_FIELD(struct live, step, DBF_LONG, "step"),
	DB_FIELD(struct live, steps_total, DBF_LONG, "steps_total"),
	DB_FIELD_NULL(struct live, eta, DBF_DOUBLE, "eta_s"),
	DB_FIELD_NULL(struct live, preview, DBF_DUP, "preview_path"),
	DB_FIELD(struct live, steps, DBF_LONG, "steps"),
	DB_FIELD(struct live, batch, DBF_LONG, "batch_count"),
};

/* Fills l (l->found 0 when there is no such job); the caller frees
 * l->preview. Returns 0, or -1 on a db error (then nothing to free). */
static int
live_job(struct kreq *req, struct live *l)
{
	struct db_param p = DB_INT(req->auth->user_id);
	long n;

	memset(l, 0, sizeof(*l));
	n = db_query_into(req->app->db, "SELECT j.id, j.step,"
	    " j.steps * j.batch_count AS steps_total, j.eta_s,"
	    " j.preview_path, j.steps, j.batch_count FROM jobs j WHERE"
	    " j.user_id = ? AND j.status IN ('queued', 'running') AND"
	    " j.deleted_at IS NULL ORDER BY j.id DESC LIMIT 1", &p, 1,
	    live_fields, DB_NFIELDS(live_fields), l, NULL, NULL);
	if (n < 0) {
		free(l->preview);
		l->preview = NULL;
		return -1;
	}
	l->found = n > 0;
	return 0;
}

int
api_sdapi_progress(struct kreq *req)
{
	const char *skip = req_query(req, "skip_current_image");
	json_object *o = json_object_new_object(), *state;
	struct live l;
	char path[4096], *b64 = NULL;
	long image;

	if (o == NULL)
		return api_send(req, 500, NULL);
	if (live_job(req, &l) != 0) {
		json_object_put(o);
		return api_db_fail(req, "sdapi: progress");
	}
	/* AUTOMATIC1111's state counts steps within the image being made
	 * (sampling_step of sampling_steps) and images as jobs (job_no of
	 * job_count); progress is over the whole batch. */
	image = l.steps > 0 ? l.step / l.steps : 0;
	if (image > 0 && image >= l.batch)
		image = l.batch - 1;
	json_object_object_add(o, "progress", json_object_new_double(
		l.steps_total > 0 ? (double)l.step / (double)l.steps_total :
		0.0));
	json_object_object_add(o, "eta_relative",
		json_object_new_double(l.eta));
	state = json_object_new_object();
	json_object_object_add(state, "skipped",
		json_object_new_boolean(0));
	json_object_object_add(state, "interrupted",
		json_object_new_boolean(0));
	snprintf(path, sizeof(path), "%llu", l.id);
	json_object_object_add(state, "job", json_object_new_string(
		l.found ? path : ""));
	json_object_object_add(state, "job_count",
		json_object_new_int64(l.batch));
	json_object_object_add(state, "job_no", json_object_new_int64(image));
	json_object_object_add(state, "sampling_step",
		json_object_new_int64(l.step - image * l.steps));
	json_object_object_add(state, "sampling_steps",
		json_object_new_int64(l.steps));
	json_object_object_add(o, "state", state);
	/* The live preview, when the daemon has written one. */
	if (l.preview != NULL && !(skip && !strcmp(skip, "true")) &&
	    api_artifact_path(req, l.preview, 0, path, sizeof(path)) == 0)
		b64 = stored_base64(req, l.preview);
	json_object_object_add(o, "current_image", b64 ?
		json_object_new_string(b64) : NULL);
	json_object_object_add(o, "textinfo", NULL);
	free(b64);
	free(l.preview);
	return api_send(req, 200, o);
}

int
api_sdapi_interrupt(struct kreq *req)
{
	struct live l;

	if (live_job(req, &l) != 0)
		return api_db_fail(req, "sdapi: interrupt");
	free(l.preview);
	/* Nothing running is not an error to AUTOMATIC1111 either. */
	if (l.found && job_cancel(req->app->db, l.id,
	    req->auth->user_id) < 0)
		return api_db_fail(req, "sdapi: interrupt");
	return api_send(req, 200, json_object_new_object());
}

/* POST /sdapi/v1/skip: A1111 drops the image being made and goes on
 * with the batch. A kiln job renders its batch as one: skipping its only
 * image is stopping it, and one image of several cannot be skipped
 * (409, naming interrupt). Nothing running: null, as A1111. */
int
api_sdapi_skip(struct kreq *req)
{
	struct live l;

	if (live_job(req, &l) != 0)
		return api_db_fail(req, "sdapi: skip");
	free(l.preview);
	if (l.found && l.batch > 1)
		return resp_error_json(req, 409, "conflict", "kiln renders a "
			"batch as one job and cannot skip one image of it; "
			"POST /sdapi/v1/interrupt stops the job", NULL);
	if (l.found && job_cancel(req->app->db, l.id,
	    req->auth->user_id) < 0)
		return api_db_fail(req, "sdapi: skip");
	return resp_json_text(req, 200, "null");
}

/* Where a problem with an upscale job's field goes: under the name
 * AUTOMATIC1111's extras requests give it (the image of a batch as
 * imageList[i].data). */
struct extras_err {
	json_object *fields;
	int idx;		/* the batch's image, or -1 */
};

static void
extras_field_error(void *arg, const char *field, const char *msg)
{
	struct extras_err *x = arg;
	char name[48];

	static const struct {
		const char *kiln, *a1111;
	} back[] = {
		{ "init_image", "image" }, { "upscaler", "upscaler_1" },
		{ "upscale_by", "upscaling_resize" },
		{ "width", "upscaling_resize_w" },
		{ "height", "upscaling_resize_h" },
		{ "upscale_crop", "upscaling_crop" },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(back); i++)
		if (!strcmp(field, back[i].kiln))
			field = back[i].a1111;
	if (x->idx >= 0 && !strcmp(field, "image")) {
		snprintf(name, sizeof(name), "imageList[%d].data", x->idx);
		field = name;
	}
	json_object_object_add(x->fields, field, json_object_new_string(msg));
}

/* A number field of body, dflt when absent; -1 with a problem in fields
 * when it is there and not a number. */
static int
extras_number(json_object *body, const char *key, double dflt, double *out,
	json_object *fields)
{
	json_object *v;

	*out = dflt;
	if (!json_object_object_get_ex(body, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int) &&
	    !json_object_is_type(v, json_type_double)) {
		json_object_object_add(fields, key,
			json_object_new_string("must be a number"));
		return -1;
	}
	*out = json_object_get_double(v);
	return 0;
}

/*
 * AUTOMATIC1111's ExtrasBaseRequest (modules/api/models.py) as the body
 * of a kiln upscale job, into *kb, the image left for the caller to add:
 * resize_mode 0 (by
 * upscaling_resize) or 1 (to upscaling_resize_w x _h, upscaling_crop),
 * upscaler_1 by A1111's name or kiln's. What kiln cannot do is refused
 * naming the field: a second upscaler blended in
 * (extras_upscaler_2_visibility > 0 with upscaler_2 not "None"), face
 * restoration (gfpgan_visibility, codeformer_visibility > 0). The rest
 * (show_extras_results, codeformer_weight, upscale_first, unknown keys)
 * is accepted as A1111's pydantic model accepts it. Returns the number
 * of problems, or -1 out of memory.
 */
static int
extras_translate(json_object *body, json_object *fields, json_object **kb)
{
	static const char *const faces[] = { "gfpgan_visibility",
		"codeformer_visibility" };
	json_object *v, *o;
	double mode, d, vis;
	int bad = 0;
	size_t i;

	*kb = o = json_object_new_object();
	if (o == NULL)
		return -1;
	json_object_object_add(o, "kind", json_object_new_string("upscale"));
	if (extras_number(body, "resize_mode", 0, &mode, fields) != 0)
		bad++;
	else if (mode != 0 && mode != 1) {
		json_object_object_add(fields, "resize_mode",
			json_object_new_string("must be 0 (by "
			"upscaling_resize) or 1 (to upscaling_resize_w x "
			"upscaling_resize_h)"));
		bad++;
	} else if (mode == 0) {
		if (extras_number(body, "upscaling_resize", 2, &d,
		    fields) != 0)
			bad++;
		else
			json_object_object_add(o, "upscale_by",
				json_object_new_double(d));
	} else {
		static const char *const wh[2][2] = {
			{ "upscaling_resize_w", "width" },
			{ "upscaling_resize_h", "height" } };

		for (i = 0; i < 2; i++) {
			if (extras_number(body, wh[i][0], 512, &d,
			    fields) != 0) {
				bad++;
				continue;
			}
			/* An integer field: 64.5 is refused by its text. */
			json_object_object_add(o, wh[i][1], d == (long)d ?
				json_object_new_int64((long)d) :
				json_object_new_double(d));
		}
		json_object_object_add(o, "upscale_crop",
			json_object_new_boolean(!json_object_object_get_ex(
			body, "upscaling_crop", &v) || !is_off(v, OFF_FALSE)));
	}
	if (json_object_object_get_ex(body, "upscaler_1", &v) &&
	    !json_object_is_type(v, json_type_string)) {
		json_object_object_add(fields, "upscaler_1",
			json_object_new_string("must be a string"));
		bad++;
	} else {
		json_object_object_add(o, "upscaler", json_object_new_string(
			upscaler_for(v != NULL ? json_object_get_string(v) :
			"None")));
	}
	if (extras_number(body, "extras_upscaler_2_visibility", 0, &vis,
	    fields) != 0)
		bad++;
	else if (vis > 0 && json_object_object_get_ex(body, "upscaler_2",
	    &v) && !is_off(v, OFF_NONE)) {
		json_object_object_add(fields, "extras_upscaler_2_visibility",
			json_object_new_string("kiln runs one upscaler: "
			"leave it 0 (or upscaler_2 \"None\")"));
		bad++;
	}
	for (i = 0; i < ARRAY_LEN(faces); i++) {
		if (extras_number(body, faces[i], 0, &d, fields) != 0)
			bad++;
		else if (d != 0) {
			json_object_object_add(fields, faces[i],
				json_object_new_string("kiln has no face "
				"restoration: leave it 0"));
			bad++;
		}
	}
	return bad;
}

/* text as AUTOMATIC1111's plaintext_to_html: "<p>", each line
 * html.escape()d, joined by "<br>\n", "</p>". NULL out of memory. */
static char *
plaintext_html(const char *text)
{
	struct buf b = { 0 };
	const char *p;
	int bad = buf_puts(&b, "<p>");

	for (p = text; *p != '\0' && bad == 0; p++) {
		switch (*p) {
		case '&': bad = buf_puts(&b, "&amp;"); break;
		case '<': bad = buf_puts(&b, "&lt;"); break;
		case '>': bad = buf_puts(&b, "&gt;"); break;
		case '"': bad = buf_puts(&b, "&quot;"); break;
		case '\'': bad = buf_puts(&b, "&#x27;"); break;
		case '\n': bad = buf_puts(&b, "<br>\n"); break;
		default: bad = buf_append(&b, p, 1); break;
		}
	}
	if (bad != 0 || buf_puts(&b, "</p>") != 0) {
		buf_free(&b);
		return NULL;
	}
	return b.data;
}

/* The images a batch may upscale in one request: kiln's batch_count. */
#define EXTRAS_BATCH_MAX BATCH_MAX

/*
 * POST /sdapi/v1/extra-single-image and extra-batch-images:
 * AUTOMATIC1111's extras upscale as kiln upscale jobs (kind "upscale": no
 * diffusion, the upscaler kilnd runs for kiln-render upscale and the
 * hires fix), one per image, queued together (quotas and credits as one
 * request), each waited for as img2img is. Answered as
 * ExtrasSingleImageResponse ({html_info, image}) or
 * ExtrasBatchImagesResponse ({html_info, images}); html_info is the
 * (first) image's parameters text as A1111's plaintext_to_html.
 */
static int
sdapi_extras(struct kreq *req, int batch)
{
	struct tier_limits tl;
	json_object *body = NULL, *kb = NULL, *fields = NULL, *o = NULL;
	json_object *list = NULL, *v;
	struct img_row ir = { NULL, NULL, NULL, req, 1, 0 };
	struct enqueue_refusal why;
	struct extras_err xe = { NULL, -1 };
	struct image_rec r;
	unsigned long long ids[EXTRAS_BATCH_MAX];
	struct job_spec specs[EXTRAS_BATCH_MAX];
	char *html = NULL;
	int bad, st, rc, n = 1, i;

	memset(specs, 0, sizeof(specs));
	tier_of(&req->app->cfg, req->auth->tier, &tl);
	if (!api_submit_allowed(req) || req_json_body(req, &body) != 0)
		return -1;
	xe.fields = fields = json_object_new_object();
	if (fields == NULL)
		goto oom;
	bad = extras_translate(body, fields, &kb);
	if (bad < 0)
		goto oom;
	if (batch && (!json_object_object_get_ex(body, "imageList", &list) ||
	    !json_object_is_type(list, json_type_array) ||
	    json_object_array_length(list) < 1 ||
	    json_object_array_length(list) > EXTRAS_BATCH_MAX)) {
		char msg[96];

		snprintf(msg, sizeof(msg), "must be an array of 1 to %d "
			"{\"data\", \"name\"}", EXTRAS_BATCH_MAX);
		json_object_object_add(fields, "imageList",
			json_object_new_string(msg));
		bad++;
		n = 0;
	} else if (batch) {
		n = (int)json_object_array_length(list);
	}
	for (i = 0; i < n && bad == 0; i++) {
		json_object *one = NULL, *img = NULL;

		/* A copy for each image, with its own init_image. */
		if (json_object_deep_copy(kb, &one, NULL) != 0)
			goto oom;
		if (batch) {
			json_object *item = json_object_array_get_idx(list, i);

			xe.idx = i;
			if (json_object_is_type(item, json_type_object))
				json_object_object_get_ex(item, "data", &img);
		} else {
			json_object_object_get_ex(body, "image", &img);
		}
		if (img != NULL)
			json_object_object_add(one, "init_image",
				json_object_get(img));
		st = job_spec_from_json(one, &req->app->cfg, &specs[i],
			extras_field_error, &xe);
		json_object_put(one);
		if (st < 0)
			goto oom;
		bad += st;
		if (st == 0)
			bad += job_spec_limits(&specs[i], &tl,
				extras_field_error, &xe);
		if (bad == 0)
			bad += job_spec_model_limits(&specs[i],
				extras_field_error, &xe);
	}
	if (bad > 0) {
		rc = resp_error_json(req, 422, "validation_failed", "the "
			"request is not valid; see fields", fields);
		fields = NULL;
		goto out;
	}
	st = job_enqueue(req->app->db, req->auth->user_id, &tl, specs, n, ids,
		&why);
	if (st != 0) {
		rc = st < 0 ? api_db_fail(req, "sdapi: enqueue") :
			api_refuse_quota(req, &why);
		goto out;
	}
	ir.images = json_object_new_array();
	ir.seeds = json_object_new_array();
	ir.infotexts = json_object_new_array();
	if (ir.images == NULL || ir.seeds == NULL || ir.infotexts == NULL)
		goto oom;
	for (i = 0; i < n; i++) {
		struct db_param p = DB_INT(ids[i]);

		if (sdapi_wait(req, ids[i], &rc) != 1)
			goto out;
		if (db_query_into(req->app->db, "SELECT path, seed FROM"
		    " job_images WHERE job_id = ? ORDER BY idx", &p, 1,
		    image_fields, DB_NFIELDS(image_fields), &r, image_row,
		    &ir) < 0) {
			rc = api_db_fail(req, "sdapi: images");
			goto out;
		}
	}
	if (ir.failed) {
		rc = resp_error_json(req, 500, "internal", "the job's image "
			"could not be read", NULL);
		goto out;
	}
	html = plaintext_html(json_object_array_length(ir.infotexts) > 0 ?
		json_object_get_string(json_object_array_get_idx(
		ir.infotexts, 0)) : "");
	o = json_object_new_object();
	if (html == NULL || o == NULL)
		goto oom;
	json_object_object_add(o, "html_info", json_object_new_string(html));
	/* Interrupted before it was made: no image, as A1111's null. */
	v = json_object_array_get_idx(ir.images, 0);
	json_object_object_add(o, batch ? "images" : "image", batch ?
		json_object_get(ir.images) : or_null(v));
	rc = api_send(req, 200, o);
	o = NULL;
	goto out;
oom:
	rc = api_send(req, 500, NULL);
out:
	free(html);
	for (i = 0; i < EXTRAS_BATCH_MAX; i++)
		job_spec_free(&specs[i]);
	json_object_put(o);
	json_object_put(ir.images);
	json_object_put(ir.seeds);
	json_object_put(ir.infotexts);
	json_object_put(fields);
	json_object_put(kb);
	json_object_put(body);
	return rc;
}

int
api_sdapi_extra_single(struct kreq *req)
{
	return sdapi_extras(req, 0);
}

int
api_sdapi_extra_batch(struct kreq *req)
{
	return sdapi_extras(req, 1);
}
