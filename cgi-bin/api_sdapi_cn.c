/* api_sdapi_cn.c - the sd-webui-controlnet extension's API as AUTOMATIC1111
 * clients use it: alwayson_scripts.controlnet's units read into a kiln
 * job's one ControlNet (txt2img and img2img), and the extension's
 * GET /controlnet/version, /model_list and /module_list, which clients
 * probe before they send a unit. The unit's fields are the extension's
 * ControlNetUnit (internal_controlnet/args.py); what kiln cannot do with
 * one (a second enabled unit, a mask, another preprocessor or control
 * mode) is refused with 422 naming the field. */
#include "app.h"
#include "extras.h"
#include "handlers.h"
#include "models.h"
#include "submit.h"
#include "util.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The extension's API version (external_code.get_api_version) whose
 * unit fields this reads. */
#define CN_API_VERSION 3

/* The preprocessors kiln's engine has, by the extension's module names,
 * with its sliders' defaults (scripts/supported_preprocessor.py and
 * model_free_preprocessors.py): canny's thresholds 1..255, 100 and 200. */
static const char *const cn_modules[] = { "none", "canny" };

/* A1111 checkpoint-style titles "NAME [hash]": the name. */
static void
cn_model_name(const char *title, char *out, size_t n)
{
	const char *br = strstr(title, " [");
	size_t len = br != NULL ? (size_t)(br - title) : strlen(title);

	if (len >= n)
		len = n - 1;
	memcpy(out, title, len);
	out[len] = '\0';
}

/* A unit's member by its name or the extension's legacy alias. */
static json_object *
unit_get(json_object *u, const char *key, const char *alias)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(u, key, &v) && alias != NULL)
		json_object_object_get_ex(u, alias, &v);
	return v;
}

static int
is_number(json_object *v)
{
	return json_object_is_type(v, json_type_int) ||
		json_object_is_type(v, json_type_double);
}

/* pydantic's bool: true/false, or a number (0 is false). */
static int
unit_bool(json_object *v, int def)
{
	if (v == NULL || json_object_is_type(v, json_type_null))
		return def;
	if (json_object_is_type(v, json_type_boolean))
		return json_object_get_boolean(v);
	if (is_number(v))
		return json_object_get_double(v) != 0;
	if (json_object_is_type(v, json_type_string))
		return !strcasecmp(json_object_get_string(v), "true");
	return def;
}

struct unit_ctx {
	json_object *fields;
	char name[96];		/* alwayson_scripts.controlnet.args[N] */
	int bad;
};

static void
unit_err(struct unit_ctx *c, const char *field, const char *msg)
{
	char key[160];

	snprintf(key, sizeof(key), "%s.%s", c->name, field);
	json_object_object_add(c->fields, key, json_object_new_string(msg));
	c->bad++;
}

/* The extension's resize modes (enums.ResizeMode, its aliases and the
 * index a number gives, 3 being "Just Resize (Latent upscale)"), as
 * A1111's resize_mode numbers: 0 just resize, 1 crop, 2 fill; -1 when
 * it names none. */
static int
cn_resize(json_object *v)
{
	static const struct {
		const char *name;
		int mode;
	} names[] = {
		{ "Just Resize", 0 }, { "Crop and Resize", 1 },
		{ "Resize and Fill", 2 }, { "Inner Fit (Scale to Fit)", 1 },
		{ "Scale to Fit (Inner Fit)", 1 },
		{ "Outer Fit (Shrink to Fit)", 2 },
		{ "Envelope (Outer Fit)", 2 },
	};
	size_t i;

	if (v == NULL || json_object_is_type(v, json_type_null))
		return 1;	/* the extension's default, INNER_FIT */
	if (json_object_is_type(v, json_type_int)) {
		int64_t n = json_object_get_int64(v);

		return n == 3 ? 0 : n >= 0 && n <= 2 ? (int)n : -1;
	}
	if (!json_object_is_type(v, json_type_string))
		return -1;
	for (i = 0; i < ARRAY_LEN(names); i++)
		if (!strcmp(json_object_get_string(v), names[i].name))
			return names[i].mode;
	return -1;
}

/* A non-empty image string of the unit (the extension's "image", its
 * legacy "input_image", or {"image": ..., "mask": ...}), NULL when none
 * is given; a mask is refused. */
static const char *
unit_image(json_object *u, struct unit_ctx *c)
{
	json_object *v = unit_get(u, "image", "input_image"), *m;
	const char *s;

	if (v != NULL && json_object_is_type(v, json_type_object)) {
		m = unit_get(v, "mask", NULL);
		if (m != NULL && !json_object_is_type(m, json_type_null))
			unit_err(c, "image.mask", "kiln's ControlNet takes no "
				"mask; leave it out");
		v = unit_get(v, "image", NULL);
	}
	if (v == NULL || json_object_is_type(v, json_type_null))
		return NULL;
	if (!json_object_is_type(v, json_type_string)) {
		unit_err(c, "image", "must be the image as base64 or a data: "
			"URI");
		return NULL;
	}
	s = json_object_get_string(v);
	return *s != '\0' ? s : NULL;
}

/* The fields of the extension's unit that switch on what kiln cannot do
 * when they are not null (or false). */
static const struct {
	const char *key, *why;
} unit_offs[] = {
	{ "mask", "kiln's ControlNet takes no mask" },
	{ "mask_image", "kiln's ControlNet takes no mask" },
	{ "advanced_weighting", "kiln weighs every layer alike (weight)" },
	{ "effective_region_mask", "kiln's ControlNet guides the whole "
	  "image" },
	{ "ipadapter_input", "kiln has no IP-Adapter" },
	{ "batch_images", "kiln's ControlNet takes one image" },
};

/* One enabled unit into o as the job's ControlNet fields. */
static void
unit_read(json_object *u, int img2img, json_object *o, struct unit_ctx *c,
	struct sdapi_cn *cn)
{
	json_object *v;
	const char *s, *img;
	char model[128];
	size_t k;
	int canny = 0;

	for (k = 0; k < ARRAY_LEN(unit_offs); k++) {
		v = unit_get(u, unit_offs[k].key, NULL);
		if (v != NULL && !json_object_is_type(v, json_type_null) &&
		    !(json_object_is_type(v, json_type_boolean) &&
		    !json_object_get_boolean(v))) {
			char msg[160];

			snprintf(msg, sizeof(msg), "%s; leave it out",
				unit_offs[k].why);
			unit_err(c, unit_offs[k].key, msg);
		}
	}
	v = unit_get(u, "model", NULL);
	s = v != NULL && json_object_is_type(v, json_type_string) ?
		json_object_get_string(v) : "None";
	if (*s == '\0' || !strcmp(s, "None") || !strcmp(s, "none")) {
		unit_err(c, "model", "needs a ControlNet model (GET "
			"/controlnet/model_list)");
	} else {
		cn_model_name(s, model, sizeof(model));
		json_object_object_add(o, "controlnet_model",
			json_object_new_string(model));
	}
	v = unit_get(u, "module", NULL);
	s = v != NULL && json_object_is_type(v, json_type_string) ?
		json_object_get_string(v) : "none";
	for (k = 0; k < ARRAY_LEN(cn_modules); k++)
		if (!strcasecmp(s, cn_modules[k]))
			break;
	if (k == ARRAY_LEN(cn_modules)) {
		unit_err(c, "module", "kiln's preprocessors are none and canny "
			"(GET /controlnet/module_list)");
	} else {
		canny = k == 1;
		json_object_object_add(o, "controlnet_preprocessor",
			json_object_new_string(cn_modules[k]));
	}
	img = unit_image(u, c);
	if (img != NULL) {
		json_object_object_add(o, "control_image",
			json_object_new_string(img));
	} else if (img2img && json_object_object_get_ex(o, "init_image", &v)) {
		/* The extension's rule: no image of its own, the unit
		 * guides with img2img's init image. */
		json_object_object_add(o, "control_image", json_object_get(v));
		cn->from_init = 1;
	} else {
		unit_err(c, "image", img2img ? "needs an image (or an "
			"init image)" : "needs an image: txt2img has no init "
			"image to take");
	}
	v = unit_get(u, "weight", NULL);
	if (v != NULL && !json_object_is_type(v, json_type_null))
		json_object_object_add(o, "controlnet_weight",
			json_object_get(v));
	v = unit_get(u, "guidance_start", NULL);
	if (v != NULL && !json_object_is_type(v, json_type_null))
		json_object_object_add(o, "controlnet_guidance_start",
			json_object_get(v));
	v = unit_get(u, "guidance_end", "guidance");
	if (v != NULL && !json_object_is_type(v, json_type_null))
		json_object_object_add(o, "controlnet_guidance_end",
			json_object_get(v));
	/* canny's sliders: a value outside 1..255 (-1, the extension's
	 * "default") is its default, as bound_check_params makes it; the
	 * extension hands cv2.Canny int(value). */
	if (canny) {
		static const char *const th[2][2] = {
			{ "threshold_a", "controlnet_low_threshold" },
			{ "threshold_b", "controlnet_high_threshold" } };

		for (k = 0; k < 2; k++) {
			v = unit_get(u, th[k][0], NULL);
			if (v == NULL || json_object_is_type(v, json_type_null))
				continue;
			if (!is_number(v)) {
				unit_err(c, th[k][0], "must be a number");
				continue;
			}
			if (json_object_get_double(v) >= 1 &&
			    json_object_get_double(v) <= 255)
				json_object_object_add(o, th[k][1],
					json_object_new_int((int)floor(
					json_object_get_double(v))));
		}
	}
	v = unit_get(u, "control_mode", NULL);
	if (v != NULL && !json_object_is_type(v, json_type_null) &&
	    !(json_object_is_type(v, json_type_string) &&
	    !strcmp(json_object_get_string(v), "Balanced")) &&
	    !(json_object_is_type(v, json_type_int) &&
	    json_object_get_int64(v) == 0))
		unit_err(c, "control_mode", "kiln's ControlNet runs Balanced "
			"(0) only");
	v = unit_get(u, "resize_mode", NULL);
	cn->resize = cn_resize(v);
	if (cn->resize < 0)
		unit_err(c, "resize_mode", "must be Just Resize, Crop and "
			"Resize or Resize and Fill");
	v = unit_get(u, "hr_option", NULL);
	cn->hr_both = v == NULL || json_object_is_type(v, json_type_null) ||
		(json_object_is_type(v, json_type_string) &&
		!strcmp(json_object_get_string(v), "Both"));
	/* processor_res, pixel_perfect, low_vram, save_detected_map and the
	 * UI's fields: kiln runs the preprocessor on the image fitted to
	 * the render's size (what pixel_perfect asks for), and sends no
	 * detected map. */
}

int
sdapi_alwayson(json_object *scripts, int img2img, json_object *o,
	json_object *fields, struct sdapi_cn *cn)
{
	struct unit_ctx c;
	json_object *args, *u;
	size_t i, n;
	int enabled = 0, bad = 0;

	memset(cn, 0, sizeof(*cn));
	c.fields = fields;
	c.bad = 0;
	if (json_object_is_type(scripts, json_type_null))
		return 0;
	if (!json_object_is_type(scripts, json_type_object)) {
		json_object_object_add(fields, "alwayson_scripts",
			json_object_new_string("must be an object"));
		return 1;
	}
	json_object_object_foreach(scripts, key, val) {
		char name[160];

		snprintf(name, sizeof(name), "alwayson_scripts.%s", key);
		args = NULL;
		if (json_object_is_type(val, json_type_object))
			json_object_object_get_ex(val, "args", &args);
		/* A1111 looks scripts up by their lower-cased title. */
		if (strcasecmp(key, "controlnet") != 0) {
			/* {} or {"args": []}: nothing for a script to do
			 * (webuiapi's placeholder). */
			if (json_object_is_type(val, json_type_null) ||
			    (json_object_is_type(val, json_type_object) &&
			    (json_object_object_length(val) == 0 ||
			    (json_object_object_length(val) == 1 &&
			    args != NULL && json_object_is_type(args,
			    json_type_array) &&
			    json_object_array_length(args) == 0))))
				continue;
			json_object_object_add(fields, name,
				json_object_new_string("kiln has no such "
				"script; its only one is controlnet (GET "
				"/sdapi/v1/scripts)"));
			bad++;
			continue;
		}
		if (json_object_is_type(val, json_type_null))
			continue;
		if (args == NULL)
			continue;	/* the script's defaults: no unit */
		if (!json_object_is_type(args, json_type_array)) {
			snprintf(name, sizeof(name), "alwayson_scripts.%s.args",
				key);
			json_object_object_add(fields, name,
				json_object_new_string("must be an array of "
				"units"));
			bad++;
			continue;
		}
		n = json_object_array_length(args);
		for (i = 0; i < n; i++) {
			u = json_object_array_get_idx(args, i);
			snprintf(c.name, sizeof(c.name),
				"alwayson_scripts.%s.args[%zu]", key, i);
			if (!json_object_is_type(u, json_type_object)) {
				json_object_object_add(fields, c.name,
					json_object_new_string("must be an "
					"object: a ControlNet unit"));
				bad++;
				continue;
			}
			/* The extension's ControlNetUnit: enabled is false
			 * unless it is sent. */
			if (!unit_bool(unit_get(u, "enabled", NULL), 0))
				continue;
			if (++enabled > 1) {
				json_object_object_add(fields, c.name,
					json_object_new_string("kiln applies "
					"one ControlNet unit; disable the "
					"others"));
				bad++;
				continue;
			}
			cn->on = 1;
			snprintf(cn->prefix, sizeof(cn->prefix), "%s", c.name);
			unit_read(u, img2img, o, &c, cn);
		}
	}
	return bad + c.bad;
}

/* The job's ControlNet fields and the unit's names for them. */
static const struct {
	const char *kiln, *unit;
} cn_names[] = {
	{ "controlnet_model", "model" },
	{ "control_image", "image" },
	{ "controlnet_weight", "weight" },
	{ "controlnet_guidance_start", "guidance_start" },
	{ "controlnet_guidance_end", "guidance_end" },
	{ "controlnet_preprocessor", "module" },
	{ "controlnet_low_threshold", "threshold_a" },
	{ "controlnet_high_threshold", "threshold_b" },
};

int
sdapi_cn_check(const struct sdapi_cn *cn, const struct job_spec *s,
	int hires, json_object *fields)
{
	char key[160], msg[256];
	int bad = 0;

	if (!cn->on)
		return 0;
	/* The engine stretches the control image to the render's size:
	 * the extension's three modes give that same image when the
	 * aspect ratios agree, and only then. */
	if (cn->resize > 0 && s->control.w > 0 && (long)s->control.w *
	    s->height != (long)s->control.h * s->width) {
		snprintf(key, sizeof(key), "%s.resize_mode", cn->prefix);
		snprintf(msg, sizeof(msg), "kiln stretches the ControlNet image "
			"(%dx%d) to %ldx%ld: only Just Resize, or an image of "
			"the render's aspect ratio", s->control.w, s->control.h,
			s->width, s->height);
		json_object_object_add(fields, key, json_object_new_string(msg));
		bad++;
	}
	if (hires && !cn->hr_both) {
		snprintf(key, sizeof(key), "%s.hr_option", cn->prefix);
		json_object_object_add(fields, key, json_object_new_string(
			"kiln's ControlNet guides both passes (Both only)"));
		bad++;
	}
	return bad;
}

void
sdapi_cn_fields(const struct sdapi_cn *cn, json_object *fields)
{
	json_object *v;
	char key[160];
	size_t i;

	if (!cn->on || fields == NULL)
		return;
	for (i = 0; i < ARRAY_LEN(cn_names); i++) {
		if (!json_object_object_get_ex(fields, cn_names[i].kiln, &v))
			continue;
		/* An image taken from init_images is reported there. */
		if (cn->from_init && !strcmp(cn_names[i].kiln,
		    "control_image"))
			snprintf(key, sizeof(key), "init_images");
		else
			snprintf(key, sizeof(key), "%s.%s", cn->prefix,
				cn_names[i].unit);
		json_object_object_add(fields, key, json_object_get(v));
		json_object_object_del(fields, cn_names[i].kiln);
	}
}

/* GET /controlnet/version: {"version": 3}. */
int
api_controlnet_version(struct kreq *req)
{
	json_object *o = json_object_new_object();

	if (o == NULL)
		return api_send(req, 500, NULL);
	json_object_object_add(o, "version",
		json_object_new_int(CN_API_VERSION));
	return api_send(req, 200, o);
}

/* GET /controlnet/model_list: the ControlNets of [paths] controlnets by
 * the names a unit's model takes (kiln's titles carry no hash). */
int
api_controlnet_models(struct kreq *req)
{
	json_object *o = json_object_new_object(), *a;
	char **names = NULL;
	int n, i;

	if (o == NULL)
		return api_send(req, 500, NULL);
	a = json_object_new_array();
	n = controlnets_list(req->app->cfg.controlnets_dir, &names);
	for (i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(names[i]));
	if (n > 0)
		models_list_free(names, n);
	json_object_object_add(o, "model_list", a);
	return api_send(req, 200, o);
}

/* One slider of the extension's module_detail (PreprocessorParameter's
 * api_json). */
static json_object *
slider(const char *name, double value, double min, double max, double step)
{
	json_object *s = json_object_new_object();

	json_object_object_add(s, "name", json_object_new_string(name));
	json_object_object_add(s, "value", json_object_new_double(value));
	json_object_object_add(s, "min", json_object_new_double(min));
	json_object_object_add(s, "max", json_object_new_double(max));
	json_object_object_add(s, "step", json_object_new_double(step));
	return s;
}

/* GET /controlnet/module_list: kiln's preprocessors, with the sliders
 * the extension shows for each (alias_names changes nothing: their
 * labels are their names). */
int
api_controlnet_modules(struct kreq *req)
{
	json_object *o = json_object_new_object(), *a, *d;
	size_t k;

	if (o == NULL)
		return api_send(req, 500, NULL);
	a = json_object_new_array();
	d = json_object_new_object();
	for (k = 0; k < ARRAY_LEN(cn_modules); k++) {
		json_object *m = json_object_new_object();
		json_object *sl = json_object_new_array();

		json_object_array_add(a, json_object_new_string(cn_modules[k]));
		json_object_array_add(sl, slider("Resolution", 512, 64, 2048,
			8));
		if (k == 1) {
			json_object_array_add(sl, slider("Low Threshold", 100,
				1, 255, 1));
			json_object_array_add(sl, slider("High Threshold", 200,
				1, 255, 1));
		}
		json_object_object_add(m, "model_free",
			json_object_new_boolean(0));
		json_object_object_add(m, "sliders", sl);
		json_object_object_add(d, cn_modules[k], m);
	}
	json_object_object_add(o, "module_list", a);
	json_object_object_add(o, "module_detail", d);
	return api_send(req, 200, o);
}
