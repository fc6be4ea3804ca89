/* page_generate_inputs.c - the generate form's image inputs, called by
 * page_generate.c at its hook points: an init image taken from one of
 * the user's own jobs (?init=JOBID-IDX, init_from), the outpaint sides
 * as checkboxes, the ControlNet menu, and the canny edge preview
 * (POST /generate/canny for scripts, the "Preview edges" button without
 * them), made by the engine's own canny_hint_rgb. */
#include "app.h"
#include "auth.h"
#include "canny.h"
#include "config.h"
#include "db.h"
#include "extras.h"
#include "handlers.h"
#include "i18n.h"
#include "image.h"
#include "log.h"
#include "multipart.h"
#include "storage.h"
#include "submit.h"
#include "upload.h"
#include "util.h"
#include "view.h"

#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The page's own fields beside job_inputs: read one at a time with
 * req_input (the route declares job_inputs). */
enum gi_input { GI_INIT_FROM, GI_SIDES, GI_PX, GI_PREVIEW, GI_N };

static const char *const gi_sides[] = { "left", "right", "up", "down",
	NULL };

static const struct input gi_inputs[] = {
	/* JOBID-IDX of one of the user's images (job_image_ref_parse). */
	[GI_INIT_FROM] = { .name = "init_from", .type = IN_STR,
		.flags = IN_BLANK, .min = 3, .max = 40 },
	/* The sides to extend (checkboxes of one name) by outpaint_px. */
	[GI_SIDES] = { .name = "outpaint_side", .type = IN_SET,
		.flags = IN_BLANK, .choices = gi_sides },
	[GI_PX] = { .name = "outpaint_px", .type = IN_INT, .flags = IN_BLANK,
		.min = 8, .max = JOB_OUTPAINT_MAX },
	/* The no-script "Preview edges" button. */
	[GI_PREVIEW] = { .name = "canny_preview", .type = IN_BOOL,
		.flags = IN_BLANK, .max = 1 },
	[GI_N] = IN_END,
};

/* The outpaint amount the form offers when none is typed. */
#define GI_PX_DEFAULT 64

/* The stored path of image idx of job, when the job is user's and not
 * deleted. Returns 1 with *rel (the caller frees it), 0 when there is
 * no such image of theirs, -1 on a db error. */
static int
init_image_path(struct kreq *req, long job, long idx, char **rel)
{
	struct db_param p[3];

	*rel = NULL;
	p[0] = DB_INT(job);
	p[1] = DB_INT(req->auth->user_id);
	p[2] = DB_INT(idx);
	if (db_query_string(req->app->db, "SELECT i.path FROM job_images i"
	    " JOIN jobs j ON j.id = i.job_id WHERE i.job_id = ?"
	    " AND j.user_id = ? AND i.idx = ? AND j.deleted_at IS NULL",
	    p, 3, rel) != 0)
		return -1;
	return *rel != NULL;
}

/* The ControlNets a job may name, for the menu. */
static int
set_controlnets(struct kreq *req)
{
	char **names = NULL, key[48];
	int n = controlnets_list(req->app->cfg.controlnets_dir, &names), i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "Gen.ControlNets.%d", i);
		rc |= view_set(req, key, names[i]);
	}
	if (n > 0)
		models_list_free(names, n);
	return rc;
}

/* An init image's reference as the form carries it: the hidden field
 * and the thumbnail's URL. */
static int
set_init_from(struct kreq *req, long job, long idx)
{
	char ref[48], url[96];

	snprintf(ref, sizeof(ref), "%ld-%ld", job, idx);
	snprintf(url, sizeof(url), "/api/v1/images/%ld-%ld.png", job, idx);
	return view_set(req, "Inputs.InitFrom", ref) |
		view_set(req, "Inputs.InitUrl", url);
}

int
gen_inputs_view(struct kreq *req)
{
	struct upload_limits l;
	struct in_value v;
	const char *mode;
	int rc = 0;
	long job, idx;

	upload_limits_of(&req->app->cfg, &l);
	rc |= set_controlnets(req);
	rc |= view_set(req, "Page.Scripts.inputs", "inputs.js");
	rc |= view_set_int(req, "Inputs.MaxBytes", (long)l.max_bytes);
	rc |= view_set_int(req, "Inputs.MaxMB", (long)(l.max_bytes / 1048576));
	if (req->method == M_GET) {
		const char *ref = req_query(req, "init");
		char *rel = NULL;
		int found;

		mode = req_query(req, "mode");
		if (ref != NULL) {
			/* Someone else's image, or a deleted one's: as if
			 * there were none. */
			if (job_image_ref_parse(ref, &job, &idx) != 0) {
				view_error(req, 404, "not_found", "There is no "
					"such image of yours.");
				return -1;
			}
			found = init_image_path(req, job, idx, &rel);
			free(rel);
			if (found < 0)
				return view_db_fail(req, "generate: init");
			if (found == 0) {
				view_error(req, 404, "not_found", "There is no "
					"such image of yours.");
				return -1;
			}
			rc |= set_init_from(req, job, idx);
			if (mode != NULL && !strcmp(mode, "inpaint"))
				rc |= view_set(req, "Inputs.Inpaint", "1");
		}
	} else {
		/* The form again after a refusal or a preview: what was
		 * chosen of the page's own fields. */
		if (req_input(req, &gi_inputs[GI_INIT_FROM], &v) == 0 &&
		    v.state == IN_VALID && job_image_ref_parse(v.s, &job,
		    &idx) == 0) {
			char *rel = NULL;

			/* Only the user's own image goes back in. */
			if (init_image_path(req, job, idx, &rel) > 0)
				rc |= set_init_from(req, job, idx);
			free(rel);
		}
		if (req_input(req, &gi_inputs[GI_SIDES], &v) == 0 &&
		    v.state == IN_VALID) {
			int k;

			for (k = 0; k < 4; k++)
				if (v.n & (1L << k)) {
					char key[48];

					snprintf(key, sizeof(key),
						"Form.outpaint_side.%s",
						gi_sides[k]);
					rc |= view_set(req, key, "1");
				}
		}
		req_input(req, &gi_inputs[GI_PX], &v);
		if (v.sent != NULL)
			rc |= view_set(req, "Form.outpaint_px", v.sent);
	}
	if (rc != 0) {
		view_error(req, 500, "internal", "Out of memory.");
		return -1;
	}
	return 0;
}

/* Makes name the file part of req's form with data: fills an empty file
 * input of that name (no file chosen), or adds the part. Returns 1 when
 * a file of that name was sent (it wins), 0 when set, -1 when the form
 * has no room for another part. */
static int
part_set(struct kreq *req, const char *name, const uint8_t *data,
	size_t len)
{
	struct mp_part *pt;
	size_t i;

	for (i = 0; i < req->nparts; i++) {
		pt = &req->parts[i];
		if (pt->filename == NULL || strcmp(pt->name, name) != 0)
			continue;
		if (pt->len > 0 || pt->filename[0] != '\0')
			return 1;
		free(pt->filename);
		pt->filename = xstrdup("stored.png");
		pt->data = data;
		pt->len = len;
		return 0;
	}
	/* multipart_parse's array holds MP_MAX_PARTS; a urlencoded form
	 * has none yet. */
	if (req->parts == NULL)
		req->parts = xcalloc(MP_MAX_PARTS, sizeof(*req->parts));
	if (req->nparts >= MP_MAX_PARTS)
		return -1;
	pt = &req->parts[req->nparts++];
	memset(pt, 0, sizeof(*pt));
	pt->name = xstrdup(name);
	pt->filename = xstrdup("stored.png");
	pt->data = data;
	pt->len = len;
	return 0;
}

void
gen_inputs_free(struct gen_inputs *g)
{
	if (g == NULL)
		return;
	buf_free(&g->init);
}

/* The form's init_from into the init_image file part (the data kept in
 * keep). Returns 0 (none, or taken), 1 after a problem went to err, or
 * -1 on a db error. */
static int
take_init_from(struct kreq *req, struct gen_inputs *keep, spec_err_fn err,
	void *arg)
{
	struct in_value v;
	char *rel = NULL, msg[512];
	long job, idx;
	int found;

	if (req_input(req, &gi_inputs[GI_INIT_FROM], &v) != 0 ||
	    (v.state == IN_VALID && job_image_ref_parse(v.s, &job, &idx) != 0)) {
		err(arg, "init_image", "the image to start from is not one "
			"of yours (init_from must be JOBID-IDX)");
		return 1;
	}
	if (v.state != IN_VALID)
		return 0;
	{
		struct storage *st;
		struct buf *png = &keep->init;
		struct upload_limits l;

		found = init_image_path(req, job, idx, &rel);
		if (found < 0)
			return -1;
		if (found == 0) {
			err(arg, "init_image", "the image to start from is "
				"not one of yours, or was deleted");
			return 1;
		}
		upload_limits_of(&req->app->cfg, &l);
		st = storage_open(&req->app->cfg);
		found = st == NULL ? -1 : storage_get(st, rel, l.max_bytes,
			png, msg, sizeof(msg));
		storage_free(st);
		if (found != 0) {
			log_error("generate: init_from %s: %s", rel,
				found > 0 ? "missing" : msg);
			free(rel);
			err(arg, "init_image", "the image to start from could "
				"not be read; choose a file instead");
			return 1;
		}
		free(rel);
		if (part_set(req, "init_image", (const uint8_t *)png->data,
		    png->len) < 0) {
			err(arg, "init_image", "the form has too many parts");
			return 1;
		}
	}
	return 0;
}

int
gen_inputs_spec(struct kreq *req, struct gen_inputs *keep,
	struct job_spec *s, spec_err_fn err, void *arg)
{
	struct in_value v, px;
	char msg[512], out[80];
	int found, bad = 0;

	memset(s, 0, sizeof(*s));
	/* The outpaint's sides and amount, as the job's outpaint field
	 * ("left:64,up:64") unless that was typed itself. */
	if (req_input(req, &gi_inputs[GI_SIDES], &v) != 0) {
		err(arg, "outpaint", "sides must be left, right, up or down");
		bad++;
	}
	if (req_input(req, &gi_inputs[GI_PX], &px) != 0) {
		snprintf(msg, sizeof(msg), view_tr(req, "must be a whole "
			"number of pixels from 8 to %d"), JOB_OUTPAINT_MAX);
		err(arg, "outpaint_px", msg);
		bad++;
	}
	if (bad == 0 && v.state == IN_VALID && v.n != 0 &&
	    in_get(req, JOB_IN_OUTPAINT)->state == IN_ABSENT &&
	    JOB_IN_OUTPAINT < req->ninputs) {
		struct in_value *o = &req->in[JOB_IN_OUTPAINT];
		long amount = px.state == IN_VALID ? px.n : GI_PX_DEFAULT;
		size_t n = 0;
		int k;

		out[0] = '\0';
		for (k = 0; k < 4; k++)
			if (v.n & (1L << k))
				n += (size_t)snprintf(out + n, sizeof(out) - n,
					"%s%s:%ld", n ? "," : "", gi_sides[k],
					amount);
		/* In the typed value's place; the HDF holds the text as
		 * long as req (the form is shown again from it). */
		if (view_set(req, "Inputs.Outpaint", out) != 0)
			return -1;
		memset(o, 0, sizeof(*o));
		o->state = IN_VALID;
		o->sent = o->s = view_get(req, "Inputs.Outpaint");
	}
	/* The ControlNet section's menus always send a value: without a
	 * ControlNet and its image they are no request for one. */
	{
		const uint8_t *d;
		size_t n, k;

		if (in_get(req, JOB_IN_CN_MODEL)->state == IN_ABSENT &&
		    !req_file(req, "control_image", &d, &n))
			for (k = JOB_IN_CN_WEIGHT; k <= JOB_IN_CN_HIGH &&
			    k < req->ninputs; k++)
				memset(&req->in[k], 0, sizeof(req->in[k]));
	}
	/* init_from: the stored image of the user's own job, as though it
	 * were uploaded (a file chosen beside it wins). */
	found = take_init_from(req, keep, err, arg);
	if (found < 0)
		return -1;
	bad += found;
	/* Every problem in one answer: the form's own fields' and the
	 * job's. */
	found = job_spec_from_form(req, s, err, arg);
	return found < 0 ? -1 : found + bad;
}

/* The edges of the form's control image as the job would make them:
 * at width x height when both are given (the size the job renders and
 * the engine resizes the control image to), else at the image's own.
 * Returns 0 with a malloc'd PNG in *png, 1 with why in msg (a field's
 * fault, *field naming it), or -1 (out of memory). */
static int
canny_png(struct kreq *req, uint8_t **png, size_t *len, const char **field,
	char *msg, size_t msglen)
{
	const struct in_value *lo = in_get(req, JOB_IN_CN_LOW);
	const struct in_value *hi = in_get(req, JOB_IN_CN_HIGH);
	const struct in_value *wv = in_get(req, JOB_IN_WIDTH);
	const struct in_value *hv = in_get(req, JOB_IN_HEIGHT);
	struct upload_limits l;
	struct upload_image im;
	const uint8_t *data;
	double low, high;
	uint8_t *edges = NULL;
	size_t n;
	int w, h, rc;
	char e[256];

	*png = NULL;
	*field = "control_image";
	if (!req_file(req, "control_image", &data, &n)) {
		snprintf(msg, msglen, "%s", view_tr(req, "choose a control "
			"image to see its edges"));
		return 1;
	}
	if (in_bad(req, JOB_IN_CN_LOW) || in_bad(req, JOB_IN_CN_HIGH)) {
		*field = in_bad(req, JOB_IN_CN_LOW) ?
			"controlnet_low_threshold" : "controlnet_high_threshold";
		snprintf(msg, msglen, "%s", view_tr(req, "must be a number "
			"from 0 to 255"));
		return 1;
	}
	/* submit.c's defaults, cv2.Canny's in sd-webui-controlnet. */
	low = lo->state == IN_VALID ? lo->d : 100;
	high = hi->state == IN_VALID ? hi->d : 200;
	if (low > high) {
		*field = "controlnet_high_threshold";
		snprintf(msg, msglen, "%s", view_tr(req, "must not be below "
			"the low threshold"));
		return 1;
	}
	upload_limits_of(&req->app->cfg, &l);
	/* upload.c's messages in the page's language. */
	i18n_msg_lang(view_lang(req));
	rc = upload_image_check(data, n, &l, &im, e, sizeof(e));
	i18n_msg_lang(NULL);
	if (rc != 0) {
		snprintf(msg, msglen, "%s", e);
		return 1;
	}
	w = im.w;
	h = im.h;
	if (wv->state == IN_VALID && hv->state == IN_VALID) {
		w = (int)wv->n;
		h = (int)hv->n;
	}
	rc = canny_hint_rgb(im.rgb, im.w, im.h, w, h, low, high, &edges, e,
		sizeof(e)) != 0 || image_encode_png(w, h, edges, NULL, png,
		len, e, sizeof(e)) != 0 ? -1 : 0;
	if (rc != 0)
		log_error("generate: canny preview: %s", e);
	free(edges);
	upload_image_free(&im);
	return rc;
}

int
gen_inputs_preview(struct kreq *req)
{
	struct in_value v;
	const char *field;
	uint8_t *png = NULL;
	size_t len = 0;
	char msg[512], *b64;
	size_t b64len;
	int rc;

	if (req_input(req, &gi_inputs[GI_PREVIEW], &v) != 0 ||
	    v.state != IN_VALID || v.n != 1)
		return 0;
	rc = canny_png(req, &png, &len, &field, msg, sizeof(msg));
	if (rc > 0) {
		char text[700];

		snprintf(text, sizeof(text), "%s %s", field, msg);
		view_field_error(req, field, text);
		return 1;
	}
	if (rc < 0) {
		view_set(req, "Form.Error", view_tr(req, "the edge preview "
			"could not be made"));
		return 1;
	}
	/* As a data: URI (the CSP's img-src takes them): nothing is
	 * stored for a preview. */
	b64len = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	b64 = xmalloc(b64len + 32);
	memcpy(b64, "data:image/png;base64,", 22);
	sodium_bin2base64(b64 + 22, b64len, png, len,
		sodium_base64_VARIANT_ORIGINAL);
	view_set(req, "Inputs.CannyPreview", b64);
	free(b64);
	free(png);
	return 1;
}

int
page_generate_canny(struct kreq *req)
{
	const char *field;
	uint8_t *png = NULL;
	size_t len = 0;
	char msg[512];
	int rc;

	rc = canny_png(req, &png, &len, &field, msg, sizeof(msg));
	if (rc != 0) {
		json_object *o = json_object_new_object();
		char text[700];
		const char *j;

		/* A refusal is an answer the script shows beside the field,
		 * not a failed request (which a browser logs as an error):
		 * {"field": ..., "message": ...}. */
		snprintf(text, sizeof(text), "%s %s", field, rc > 0 ? msg :
			view_tr(req, "the edge preview could not be made"));
		json_object_object_add(o, "field",
			json_object_new_string(field));
		json_object_object_add(o, "message",
			json_object_new_string(text));
		j = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		resp_json_text(req, 200, j);
		json_object_put(o);
		return 0;
	}
	buf_reset(&req->out);
	if (buf_append(&req->out, png, len) != 0) {
		free(png);
		view_error(req, 500, "internal", "Out of memory.");
		return -1;
	}
	free(png);
	req->status = 200;
	req->ctype = "image/png";
	resp_header(req, "Cache-Control", "no-store");
	return 0;
}

void
gen_inputs_error(struct kreq *req, int status, const char *code,
	const char *message)
{
	char msg[512];

	/* A form too large to read (serve.c refuses it before a byte of
	 * its body is read, so which file was too large is not known):
	 * the fields it may be and their limits, not the bytes. */
	if (status == 413 && req->path != NULL &&
	    (!strcmp(req->path, "/generate") ||
	    !strcmp(req->path, "/generate/canny"))) {
		const struct kiln_config *c = &req->app->cfg;

		snprintf(msg, sizeof(msg), view_tr(req, "The form is larger "
			"than the %zu MB this site reads, so nothing was made. "
			"Each image (init_image, mask, control_image) may be at "
			"most %ld MB: go back and choose a smaller file."),
			req_upload_body_max(c) / 1048576, c->upload_max_mb);
		message = msg;
	}
	view_error(req, status, code, message);
}
