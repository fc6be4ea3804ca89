/* api_sdapi_info.c - AUTOMATIC1111's other /sdapi/v1 routes, in the
 * shapes of its modules/api/models.py with kiln's own data: options
 * (kept per account, sql/011), png-info, the lists kiln has nothing for
 * (VAEs, scripts, styles...) answered empty rather than 404, memory,
 * cmd-flags, the refresh calls and /internal/ping. */
#include "app.h"
#include "auth.h"
#include "db.h"
#include "filehash.h"
#include "handlers.h"
#include "infotext.h"
#include "log.h"
#include "models.h"
#include "util.h"

#include <json-c/json.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

/* The options GET reports that kiln does not let a client change, each
 * as kiln runs: a POST may send them back (Open WebUI posts the whole
 * object it read) but not change them. */
static json_object *
fixed_options(const struct kiln_config *c)
{
	json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "sd_vae", json_object_new_string(
		"Automatic"));
	json_object_object_add(o, "CLIP_stop_at_last_layers",
		json_object_new_int(1));
	json_object_object_add(o, "eta_noise_seed_delta",
		json_object_new_int(0));
	json_object_object_add(o, "samples_format",
		json_object_new_string("png"));
	json_object_object_add(o, "enable_pnginfo",
		json_object_new_boolean(1));
	json_object_object_add(o, "add_model_hash_to_info",
		json_object_new_boolean(1));
	json_object_object_add(o, "add_model_name_to_info",
		json_object_new_boolean(1));
	json_object_object_add(o, "live_previews_enable",
		json_object_new_boolean(c->preview_every > 0));
	json_object_object_add(o, "show_progress_every_n_steps",
		json_object_new_int64(c->preview_every > 0 ? c->preview_every :
		-1));
	return o;
}

/* The account's model: the one POST /options stored when it is still
 * installed, else the site's default. *name is a fresh string. Returns
 * 0, or -1 on a db error. */
static int
account_model(struct kreq *req, char **name)
{
	struct db_param p = DB_INT(req->auth->user_id);
	char *stored = NULL;

	*name = NULL;
	if (db_query_string(req->app->db, "SELECT sd_model_checkpoint FROM"
	    " sdapi_options WHERE user_id = ?", &p, 1, &stored) != 0)
		return -1;
	if (stored != NULL && sdapi_model_listed(req->app->cfg.models_dir,
	    stored))
		*name = stored;
	else {
		free(stored);
		*name = xstrdup(req->app->cfg.default_model);
	}
	return 0;
}

int
api_sdapi_options(struct kreq *req)
{
	json_object *o = fixed_options(&req->app->cfg);
	struct file_stamp st;
	char hex[HASH_HEX + 1], *model = NULL, *path;
	int h = 0;

	if (o == NULL)
		return api_send(req, 500, NULL);
	if (account_model(req, &model) != 0) {
		json_object_put(o);
		return api_db_fail(req, "sdapi: options");
	}
	json_object_object_add(o, "sd_model_checkpoint",
		json_object_new_string(model));
	/* Its hash as far as kilnd or kiln-admin took it (webuiapi finds
	 * the model by it when sd_model_checkpoint is missing). */
	path = xasprintf("%s/%s.safetensors", req->app->cfg.models_dir, model);
	if (file_stamp_of(path, &st) == 0)
		h = hash_cache_get(req->app->db, "checkpoint", model, &st, hex);
	free(path);
	json_object_object_add(o, "sd_checkpoint_hash", h == 1 ?
		json_object_new_string(hex) : NULL);
	free(model);
	return api_send(req, 200, o);
}

/* Whether a and b are the same option value: numbers as numbers (1 and
 * 1.0), the rest as JSON. */
static int
same_value(json_object *a, json_object *b)
{
	int an = json_object_is_type(a, json_type_int) ||
		json_object_is_type(a, json_type_double);
	int bn = json_object_is_type(b, json_type_int) ||
		json_object_is_type(b, json_type_double);

	if (an && bn)
		return json_object_get_double(a) == json_object_get_double(b);
	return json_object_equal(a, b);
}

/* POST /sdapi/v1/options: sd_model_checkpoint is stored for the
 * account (and txt2img renders with it); an option kiln reports may be
 * sent back as it is, and is refused naming it when changed; options
 * kiln has no counterpart for are ignored. A1111 answers null. */
int
api_sdapi_options_set(struct kreq *req)
{
	json_object *body = NULL, *fixed = NULL, *fields = NULL, *want;
	char model[128], msg[160];
	const char *title = NULL;
	struct db_param p[2];
	int bad = 0, rc;

	if (req_json_body(req, &body) != 0)
		return -1;
	fixed = fixed_options(&req->app->cfg);
	fields = json_object_new_object();
	if (fixed == NULL || fields == NULL) {
		rc = api_send(req, 500, NULL);
		goto out;
	}
	json_object_object_foreach(body, key, v) {
		if (!strcmp(key, "sd_model_checkpoint")) {
			if (json_object_is_type(v, json_type_null))
				continue;
			title = json_object_is_type(v, json_type_string) ?
				json_object_get_string(v) : "";
			sdapi_title_to_name(title, model, sizeof(model));
			if (!sdapi_model_listed(req->app->cfg.models_dir,
			    model)) {
				json_object_object_add(fields, key,
					json_object_new_string("no such model "
					"(GET /sdapi/v1/sd-models)"));
				bad++;
				title = NULL;
			}
			continue;
		}
		if (json_object_object_get_ex(fixed, key, &want) &&
		    !same_value(v, want)) {
			snprintf(msg, sizeof(msg), "kiln's is %s and cannot be "
				"changed", json_object_to_json_string_ext(want,
				JSON_C_TO_STRING_PLAIN));
			json_object_object_add(fields, key,
				json_object_new_string(msg));
			bad++;
		}
	}
	if (bad > 0) {
		rc = resp_error_json(req, 422, "validation_failed", "the "
			"options are not valid; see fields", fields);
		fields = NULL;
		goto out;
	}
	if (title != NULL) {
		p[0] = DB_INT(req->auth->user_id);
		p[1] = DB_STR(model);
		if (db_exec(req->app->db, "INSERT INTO sdapi_options (user_id,"
		    " sd_model_checkpoint) VALUES (?, ?) ON DUPLICATE KEY"
		    " UPDATE sd_model_checkpoint = VALUES(sd_model_checkpoint)",
		    p, 2, NULL, NULL) != 0) {
			rc = api_db_fail(req, "sdapi: options");
			goto out;
		}
	}
	rc = resp_json_text(req, 200, "null");
out:
	json_object_put(fields);
	json_object_put(fixed);
	json_object_put(body);
	return rc;
}

/* The image of a png-info request: base64, bare or as a data: URL
 * (A1111 takes what follows the first comma after ';'). Returns the
 * decoded bytes (free()) or NULL. */
static unsigned char *
image_field(const char *s, size_t *len)
{
	const char *semi, *comma;
	unsigned char *out;
	size_t n, cap;

	while (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')
		s++;
	if (!strncmp(s, "data:image/", 11)) {
		semi = strchr(s, ';');
		comma = semi != NULL ? strchr(semi, ',') : NULL;
		if (comma == NULL)
			return NULL;
		s = comma + 1;
	}
	n = strlen(s);
	cap = n / 4 * 3 + 3;
	/* Sized by the request body, which the request reader bounds. */
	out = malloc(cap + 1);
	if (out == NULL)
		return NULL;
	if (sodium_base642bin(out, cap, s, n, " \r\n\t", len, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || *len == 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* POST /sdapi/v1/png-info: {"info": the parameters text, "items": the
 * image's other text chunks, "parameters": parse_generation_parameters
 * of the text}, as A1111 reads a PNG; a JPEG or WebP (whose EXIF kiln
 * does not read) has no info. */
int
api_sdapi_png_info(struct kreq *req)
{
	static const unsigned char jpeg[3] = { 0xff, 0xd8, 0xff };
	json_object *body = NULL, *v, *items = NULL, *o = NULL;
	json_object *fields, *params = NULL;
	unsigned char *img = NULL;
	const char *info = "";
	char err[256];
	size_t len = 0;
	int rc;

	if (req_json_body(req, &body) != 0)
		return -1;
	if (json_object_object_get_ex(body, "image", &v) &&
	    json_object_is_type(v, json_type_string))
		img = image_field(json_object_get_string(v), &len);
	if (img != NULL && len >= 8 && !memcmp(img, "\x89PNG", 4)) {
		items = png_text_chunks(img, len, err, sizeof(err));
	} else if (img != NULL && ((len >= 3 && !memcmp(img, jpeg, 3)) ||
	    (len >= 12 && !memcmp(img, "RIFF", 4) &&
	    !memcmp(img + 8, "WEBP", 4)))) {
		items = json_object_new_object();
	} else {
		snprintf(err, sizeof(err), img == NULL ? "must be a base64 "
			"image" : "is not a PNG, JPEG or WebP image");
	}
	if (items == NULL) {
		fields = json_object_new_object();
		json_object_object_add(fields, "image",
			json_object_new_string(err));
		rc = resp_error_json(req, 422, "validation_failed", "the image "
			"cannot be read; see fields", fields);
		goto out;
	}
	if (json_object_object_get_ex(items, "parameters", &v)) {
		v = json_object_get(v);
		json_object_object_del(items, "parameters");
		info = json_object_get_string(v);
	} else {
		v = NULL;
	}
	params = infotext_parse(info);
	o = json_object_new_object();
	if (params != NULL && o != NULL) {
		json_object_object_add(o, "info", json_object_new_string(info));
		json_object_object_add(o, "items", items);
		json_object_object_add(o, "parameters", params);
		items = params = NULL;
	} else {
		json_object_put(o);
		o = NULL;
	}
	json_object_put(v);
	rc = api_send(req, 200, o);
out:
	json_object_put(params);
	json_object_put(items);
	json_object_put(body);
	free(img);
	return rc;
}

/* The lists kiln has nothing for: an empty list (or A1111's shape with
 * empty lists) rather than 404, so a client's listing works. */
int
api_sdapi_empty_list(struct kreq *req)
{
	/* /scripts answers {"txt2img": [], "img2img": []}; the others a
	 * list. */
	if (!strcmp(req->path, "/sdapi/v1/scripts")) {
		json_object *o = json_object_new_object();

		if (o == NULL)
			return api_send(req, 500, NULL);
		json_object_object_add(o, "txt2img", json_object_new_array());
		json_object_object_add(o, "img2img", json_object_new_array());
		return api_send(req, 200, o);
	}
	return api_send(req, 200, json_object_new_array());
}

/* GET /sdapi/v1/memory: this web host's RAM (kiln renders on its
 * daemons, whose GPUs the web side does not see: cuda says so, as
 * A1111 does without CUDA). */
int
api_sdapi_memory(struct kreq *req)
{
	json_object *o = json_object_new_object(), *ram, *cuda;
	struct sysinfo si;

	if (o == NULL)
		return api_send(req, 500, NULL);
	ram = json_object_new_object();
	if (sysinfo(&si) == 0) {
		double unit = (double)si.mem_unit;

		json_object_object_add(ram, "free", json_object_new_double(
			(double)si.freeram * unit));
		json_object_object_add(ram, "used", json_object_new_double(
			(double)(si.totalram - si.freeram) * unit));
		json_object_object_add(ram, "total", json_object_new_double(
			(double)si.totalram * unit));
	} else {
		json_object_object_add(ram, "error",
			json_object_new_string("sysinfo failed"));
	}
	cuda = json_object_new_object();
	json_object_object_add(cuda, "error", json_object_new_string(
		"unavailable"));
	json_object_object_add(o, "ram", ram);
	json_object_object_add(o, "cuda", cuda);
	return api_send(req, 200, o);
}

/* GET /sdapi/v1/cmd-flags: A1111's command line as kiln stands in for
 * it: the API on, no web UI, no server paths shown. */
int
api_sdapi_cmd_flags(struct kreq *req)
{
	json_object *o = json_object_new_object();

	if (o == NULL)
		return api_send(req, 500, NULL);
	json_object_object_add(o, "api", json_object_new_boolean(1));
	json_object_object_add(o, "nowebui", json_object_new_boolean(1));
	json_object_object_add(o, "api_auth", NULL);
	json_object_object_add(o, "api_log", json_object_new_boolean(0));
	json_object_object_add(o, "listen", json_object_new_boolean(0));
	json_object_object_add(o, "port", NULL);
	json_object_object_add(o, "ckpt_dir", NULL);
	json_object_object_add(o, "lora_dir", NULL);
	json_object_object_add(o, "embeddings_dir", NULL);
	json_object_object_add(o, "no_half", json_object_new_boolean(0));
	json_object_object_add(o, "medvram", json_object_new_boolean(0));
	json_object_object_add(o, "lowvram", json_object_new_boolean(0));
	return api_send(req, 200, o);
}

/* POST /sdapi/v1/refresh-checkpoints, refresh-loras, refresh-vae: kiln
 * reads its model folders on every listing, so there is nothing to
 * reload; A1111 answers null. */
int
api_sdapi_refresh(struct kreq *req)
{
	return resp_json_text(req, 200, "null");
}

/* GET /internal/ping: A1111's UI liveness check, answering {}. */
int
api_internal_ping(struct kreq *req)
{
	return api_send(req, 200, json_object_new_object());
}
