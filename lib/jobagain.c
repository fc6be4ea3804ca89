/* jobagain.c - a stored job as a new job's request (jobagain.h): its
 * recipe as job_json shows it, mapped back to JobRequest's field names,
 * so that the new job is checked as any other. */
#include "jobagain.h"
#include "db.h"
#include "extras.h"
#include "log.h"
#include "manifest.h"
#include "storage.h"
#include "submit.h"
#include "util.h"

#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An input image or a result is at most this large (a 2048x2048 PNG
 * with noise is about 12 MB). */
#define AGAIN_PNG_MAX ((size_t)64 << 20)

/* Copies src's key (when present and not null) into dst as name. */
static void
copy_key(json_object *dst, json_object *src, const char *key,
	const char *name)
{
	json_object *v;

	if (json_object_object_get_ex(src, key, &v) && v != NULL)
		json_object_object_add(dst, name, json_object_get(v));
}

/* The stored object at key as base64 into o's field name. Returns 0,
 * or -1 (logged). */
static int
add_image(json_object *o, const struct kiln_config *cfg, const char *key,
	const char *name)
{
	struct storage *st = storage_open(cfg);
	struct buf b = { 0 };
	char err[512], *text = NULL;
	size_t n;
	int rc = -1;

	if (st == NULL)
		return -1;
	if (storage_get(st, key, AGAIN_PNG_MAX, &b, err, sizeof(err)) != 0) {
		log_error("%s: %s", key, err);
		goto out;
	}
	n = sodium_base64_encoded_len(b.len, sodium_base64_VARIANT_ORIGINAL);
	text = malloc(n);
	if (text == NULL)
		goto out;
	sodium_bin2base64(text, n, (const unsigned char *)b.data, b.len,
		sodium_base64_VARIANT_ORIGINAL);
	json_object_object_add(o, name, json_object_new_string(text));
	rc = 0;
out:
	free(text);
	buf_free(&b);
	storage_free(st);
	return rc;
}

/* The job JSON of id when it is user_id's (job_json), *found as there. */
static json_object *
job_of(struct db *db, unsigned long long id, unsigned long long user_id,
	int *found)
{
	return job_json(db, "", id, user_id, found);
}

/* The job's recipe (job, as job_json) into o under JobRequest's names:
 * the flat fields, the hires fix's, ControlNet's and inpainting's, and
 * the LoRAs given in the field (the prompt keeps its own tags). Returns 0
 * or -1 (no memory). */
static int
again_fields(json_object *o, json_object *job)
{
	static const char *const plain[] = { "prompt", "negative_prompt",
		"model", "width", "height", "steps", "cfg_scale", "sampler",
		"batch_count", "denoising_strength", "resize_mode",
		"webhook_url", "outpaint" };
	static const char *const hires[][2] = { { "scale", "hires_scale" },
		{ "strength", "hires_strength" }, { "steps", "hires_steps" },
		{ "upscaler", "hires_upscaler" } };
	static const char *const cn[][2] = { { "model", "controlnet_model" },
		{ "weight", "controlnet_weight" },
		{ "guidance_start", "controlnet_guidance_start" },
		{ "guidance_end", "controlnet_guidance_end" },
		{ "preprocessor", "controlnet_preprocessor" },
		{ "low_threshold", "controlnet_low_threshold" },
		{ "high_threshold", "controlnet_high_threshold" } };
	static const char *const inpaint[] = { "mask_blur", "inpainting_fill",
		"inpaint_full_res", "inpaint_full_res_padding",
		"inpainting_mask_invert" };
	json_object *v, *a;
	size_t i, n;

	for (i = 0; i < ARRAY_LEN(plain); i++)
		copy_key(o, job, plain[i], plain[i]);
	if (json_object_object_get_ex(job, "hires", &v) && v != NULL)
		for (i = 0; i < ARRAY_LEN(hires); i++)
			copy_key(o, v, hires[i][0], hires[i][1]);
	if (json_object_object_get_ex(job, "controlnet", &v) && v != NULL)
		for (i = 0; i < ARRAY_LEN(cn); i++)
			copy_key(o, v, cn[i][0], cn[i][1]);
	if (json_object_object_get_ex(job, "inpaint", &v) && v != NULL)
		for (i = 0; i < ARRAY_LEN(inpaint); i++)
			copy_key(o, v, inpaint[i], inpaint[i]);
	if (!json_object_object_get_ex(job, "loras", &v) || v == NULL)
		return 0;
	a = json_object_new_array();
	if (a == NULL)
		return -1;
	n = json_object_array_length(v);
	for (i = 0; i < n; i++) {
		json_object *l = json_object_array_get_idx(v, i), *src, *m;

		if (json_object_object_get_ex(l, "source", &src) &&
		    strcmp(json_object_get_string(src), "field") != 0)
			continue;
		m = json_object_new_object();
		if (m == NULL) {
			json_object_put(a);
			return -1;
		}
		copy_key(m, l, "name", "name");
		copy_key(m, l, "weight", "weight");
		copy_key(m, l, "unet_weight", "unet_weight");
		json_object_array_add(a, m);
	}
	if (json_object_array_length(a) > 0)
		json_object_object_add(o, "loras", a);
	else
		json_object_put(a);
	return 0;
}

/* The images job id was given (init, mask, control), from its own store,
 * into o as base64. Returns 0 or -1 (one could not be read). */
static int
again_inputs(json_object *o, json_object *job, const struct kiln_config *cfg,
	unsigned long long id)
{
	static const char *const inputs[][2] = { { "init", "init_image" },
		{ "mask", "mask" }, { "control", "control_image" } };
	json_object *v, *k;
	size_t i, j, n;
	char key[96];

	if (!json_object_object_get_ex(job, "inputs", &v) || v == NULL)
		return 0;
	n = json_object_array_length(v);
	for (i = 0; i < n; i++) {
		if (!json_object_object_get_ex(json_object_array_get_idx(v, i),
		    "kind", &k))
			continue;
		for (j = 0; j < ARRAY_LEN(inputs); j++) {
			if (strcmp(json_object_get_string(k), inputs[j][0]))
				continue;
			snprintf(key, sizeof(key), "jobs/%llu/inputs/%s.png",
				id, inputs[j][0]);
			if (add_image(o, cfg, key, inputs[j][1]) != 0)
				return -1;
		}
	}
	return 0;
}

/* A job made from a scene manifest is made again from it: the manifest
 * (less its seed: a variation is a new seed) and the preset rows it
 * recorded go into o, and the fields the manifest sets itself leave o
 * (manifest_apply refuses them given twice); the style's steps, CFG
 * scale and sampler stay, as given beside it. Returns 0, or -1 (no
 * memory). A stored manifest that no longer reads leaves o the plain
 * recipe. */
static int
again_manifest(json_object *o, json_object *job)
{
	static const char *const always[] = { "prompt", "negative_prompt" };
	json_object *mj, *pins, *copy = NULL;
	struct manifest *m = NULL;
	char path[64], err[256];
	size_t i;

	if (!json_object_object_get_ex(job, "manifest", &mj) || mj == NULL ||
	    !json_object_is_type(mj, json_type_object))
		return 0;
	if (json_object_deep_copy(mj, &copy, NULL) != 0)
		return -1;
	json_object_object_del(copy, "seed");
	if (manifest_from_json(copy, &m, path, sizeof(path), err,
	    sizeof(err)) != 0) {
		json_object_put(copy);
		return 0;
	}
	for (i = 0; i < ARRAY_LEN(always); i++)
		json_object_object_del(o, always[i]);
	if (m->has_size) {
		json_object_object_del(o, "width");
		json_object_object_del(o, "height");
	}
	if (m->model != NULL)
		json_object_object_del(o, "model");
	if (m->nloras > 0)
		json_object_object_del(o, "loras");
	manifest_free(m);
	json_object_object_add(o, "manifest", copy);
	if (json_object_object_get_ex(job, "manifest_presets", &pins) &&
	    pins != NULL)
		json_object_object_add(o, "manifest_presets",
			json_object_get(pins));
	return 0;
}

json_object *
job_again_body(struct db *db, const struct kiln_config *cfg,
	unsigned long long id, unsigned long long user_id, int *found)
{
	json_object *job = job_of(db, id, user_id, found), *o = NULL, *v;

	if (job == NULL)
		return NULL;
	if (json_object_object_get_ex(job, "kind", &v) &&
	    !strcmp(json_object_get_string(v), "upscale")) {
		*found = 2;
		goto out;
	}
	o = json_object_new_object();
	if (o == NULL || again_fields(o, job) != 0 ||
	    again_manifest(o, job) != 0 ||
	    again_inputs(o, job, cfg, id) != 0) {
		json_object_put(o);
		o = NULL;
		*found = -1;
	}
out:
	json_object_put(job);
	return o;
}

const char *
job_default_upscaler(const char *upscalers_dir, char *out, size_t n)
{
	struct extra_info *x = NULL;
	int k = extras_list(upscalers_dir, EXTRA_UPSCALER, &x), i;

	snprintf(out, n, "lanczos");
	for (i = 0; i < k; i++)
		if (x[i].error == NULL) {
			snprintf(out, n, "%s", x[i].name);
			break;
		}
	extras_free(x, k);
	return out;
}

json_object *
job_upscale_body(struct db *db, const struct kiln_config *cfg,
	const char *upscalers_dir, unsigned long long id, long idx,
	unsigned long long user_id, const char *upscaler, int *found)
{
	struct db_param p[3] = { DB_INT(id), DB_INT(user_id), DB_INT(idx) };
	json_object *o = NULL;
	char *path = NULL, name[80];

	*found = -1;
	if (db_query_string(db, "SELECT i.path FROM job_images i JOIN jobs j"
	    " ON j.id = i.job_id WHERE i.job_id = ? AND j.user_id = ? AND"
	    " i.idx = ? AND j.deleted_at IS NULL", p, 3, &path) != 0)
		return NULL;
	if (path == NULL) {
		*found = 0;
		return NULL;
	}
	o = json_object_new_object();
	if (o == NULL || add_image(o, cfg, path, "init_image") != 0) {
		json_object_put(o);
		o = NULL;
	} else {
		json_object_object_add(o, "kind",
			json_object_new_string("upscale"));
		json_object_object_add(o, "upscaler", json_object_new_string(
			upscaler != NULL ? upscaler : job_default_upscaler(
			upscalers_dir, name, sizeof(name))));
		*found = 1;
	}
	free(path);
	return o;
}
