/* pipeline.c - Stable Diffusion txt2img / img2img over the engine's parts:
 * A1111 prompt weighting and the text encoder(s), a sampler with
 * classifier-free guidance around the UNet (with SDXL's added size and
 * pooled-text conditioning), the VAE; seeds that name their images. */
#include "pipeline.h"
#include "util.h"

#include "control.h"
#include "image.h"
#include "lora.h"
#include "models.h"
#include "prompt.h"
#include "rng.h"
#include "safetensors.h"
#include "textcond.h"
#include "tokenizer.h"
#include "unet.h"
#include "upscaler.h"
#include "vae.h"
#include "weights.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct pipeline {
	struct kiln_rt *rt;
	char *model_path;
	char *vocab;			/* the vocabulary path in use */
	struct st_model *m;
	struct clip_tokenizer *tok;
	struct text_cond *text;		/* the text encoder(s) */
	struct unet *unet;
	struct vae_model *vae;		/* decoder */
	struct vae_model *vae_enc;	/* encoder, loaded on first img2img */
	/* The text encoders' and UNet's weights as loaded, and the LoRAs
	 * merged into them. */
	struct wt_registry *weights;
	struct lora_state *loras;
	struct schedule_params sp;	/* from the model's scheduler config */
	double load_s;
	struct gen_params defaults;	/* engine's, then <model>/kiln.json */
	int preview_c;			/* latent channels of the map below */
	float preview_f[MODEL_MAX_LATENT][3], preview_b[3];
	struct control_cache *controls;	/* ControlNets, on first use */
};

/* SD 1.x's latent-to-RGB factors (as ComfyUI's previews use them): good
 * enough to see the composition take shape. */
static const float sd1_preview[4][3] = {
	{ 0.3512f, 0.2297f, 0.3227f },
	{ 0.3250f, 0.4974f, 0.2350f },
	{ -0.2829f, 0.1762f, 0.2721f },
	{ -0.2120f, -0.2616f, -0.7177f },
};

int
gen_hires_lookup(const char *name, enum gen_hires_mode *mode)
{
	static const struct {
		const char *name;
		enum gen_hires_mode mode;
	} builtin[] = { { "latent", HIRES_LATENT },
		{ "latent-nearest", HIRES_LATENT_NEAREST },
		{ "lanczos", HIRES_IMAGE } };
	size_t i;

	for (i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		if (!strcmp(name, builtin[i].name)) {
			*mode = builtin[i].mode;
			return 0;
		}
	return -1;
}

void
gen_params_default(struct gen_params *p)
{
	memset(p, 0, sizeof(*p));
	p->prompt = "";
	p->negative = "";
	p->width = 512;
	p->height = 512;
	p->steps = 20;
	p->cfg = 7.0;
	p->sampler = SAMPLER_EULER_A;
	p->batch = 1;
	p->strength = 0.75;
	p->prediction = GEN_PRED_AUTO;
	p->mask_blur = 4;
	p->fill = INPAINT_ORIGINAL;
	p->only_masked_pad = 32;
	p->hires_strength = 0.7;
	p->hires_mode = HIRES_LATENT;
}

static int
check_side(const char *name, int v, char *err, size_t errlen)
{
	if (v % 8 != 0)
		return errf(err, errlen, "%s: %d is not a multiple of 8",
		    name, v);
	if (v < GEN_MIN_SIDE || v > GEN_MAX_SIDE)
		return errf(err, errlen, "%s: %d is outside %d..%d", name, v,
		    GEN_MIN_SIDE, GEN_MAX_SIDE);
	return 0;
}

int
gen_params_check(const struct gen_params *p, char *err, size_t errlen)
{
	if (p->prompt == NULL)
		return errf(err, errlen, "prompt: missing");
	if (check_side("width", p->width, err, errlen) != 0 ||
	    check_side("height", p->height, err, errlen) != 0)
		return -1;
	if (p->steps < 1 || p->steps > GEN_MAX_STEPS)
		return errf(err, errlen, "steps: %d is outside 1..%d",
		    p->steps, GEN_MAX_STEPS);
	if (!(p->cfg >= 0.0 && p->cfg <= GEN_MAX_CFG))
		return errf(err, errlen, "cfg: %g is outside 0..%g", p->cfg,
		    GEN_MAX_CFG);
	if ((int)p->sampler < 0 || p->sampler >= SAMPLER__MAX)
		return errf(err, errlen, "sampler: unknown kind %d",
		    (int)p->sampler);
	if (p->sampler == SAMPLER_LCM && p->steps > 50)
		return errf(err, errlen, "steps: LCM takes at most 50 steps, "
		    "not %d", p->steps);
	if (p->batch < 1 || p->batch > GEN_MAX_BATCH)
		return errf(err, errlen, "batch: %d is outside 1..%d",
		    p->batch, GEN_MAX_BATCH);
	if (p->seed > UINT64_MAX - (uint64_t)(p->batch - 1))
		return errf(err, errlen, "seed: %llu + batch %d overflows "
		    "64 bits", (unsigned long long)p->seed, p->batch);
	if (control_check(p->controls, p->ncontrols, err, errlen) != 0)
		return -1;
	if ((int)p->prediction < GEN_PRED_AUTO ||
	    p->prediction > GEN_PRED_V)
		return errf(err, errlen, "prediction: unknown value %d",
		    (int)p->prediction);
	if (p->init_rgb != NULL) {
		if (p->init_w < 1 || p->init_h < 1 ||
		    p->init_w > IMAGE_MAX_SIDE || p->init_h > IMAGE_MAX_SIDE)
			return errf(err, errlen, "init: image size %dx%d is "
			    "outside 1..%d", p->init_w, p->init_h,
			    IMAGE_MAX_SIDE);
		if (!(p->strength > 0.0 && p->strength <= 1.0))
			return errf(err, errlen, "strength: %g is outside "
			    "(0, 1]", p->strength);
		if ((int)(p->steps * p->strength) < 1)
			return errf(err, errlen, "strength: %g of %d steps "
			    "runs no step", p->strength, p->steps);
	}
	if (p->mask != NULL) {
		if (p->init_rgb == NULL)
			return errf(err, errlen, "mask: needs an init image");
		if (p->mask_blur < 0 || p->mask_blur > INPAINT_MAX_BLUR)
			return errf(err, errlen, "mask_blur: %d is outside "
			    "0..%d", p->mask_blur, INPAINT_MAX_BLUR);
		if (inpaint_fill_name(p->fill) == NULL)
			return errf(err, errlen, "inpaint_fill: unknown "
			    "value %d", (int)p->fill);
		if (p->only_masked_pad < 0 ||
		    p->only_masked_pad > INPAINT_MAX_PAD)
			return errf(err, errlen, "only_masked_padding: %d is "
			    "outside 0..%d", p->only_masked_pad,
			    INPAINT_MAX_PAD);
	}
	if (p->hires_scale != 0.0) {
		if (!(p->hires_scale > 1.0 &&
		    p->hires_scale <= GEN_MAX_HIRES_SCALE))
			return errf(err, errlen, "hires_scale: %g is outside "
			    "(1, %g] (0 is off)", p->hires_scale,
			    GEN_MAX_HIRES_SCALE);
		if (p->init_rgb != NULL)
			return errf(err, errlen, "hires_scale: the hires fix "
			    "is for txt2img, not with an init image");
		if (!(p->hires_strength > 0.0 && p->hires_strength <= 1.0))
			return errf(err, errlen, "hires_strength: %g is "
			    "outside (0, 1]", p->hires_strength);
		if (p->hires_steps < 0 || p->hires_steps > GEN_MAX_STEPS)
			return errf(err, errlen, "hires_steps: %d is outside "
			    "0..%d", p->hires_steps, GEN_MAX_STEPS);
		if ((int)p->hires_mode < HIRES_LATENT ||
		    p->hires_mode > HIRES_IMAGE)
			return errf(err, errlen, "hires_upscaler: unknown "
			    "mode %d", (int)p->hires_mode);
		if ((int)((p->hires_steps > 0 ? p->hires_steps : p->steps) *
		    p->hires_strength) < 1)
			return errf(err, errlen, "hires_strength: %g runs no "
			    "step", p->hires_strength);
	}
	return 0;
}

void
gen_result_free(struct gen_result *r)
{
	if (r == NULL)
		return;
	free(r->rgb);
	free(r->rgbf);
	free(r->seeds);
	memset(r, 0, sizeof(*r));
}

static int
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
exists(const char *path)
{
	return access(path, R_OK) == 0;
}

/* dir/name into a malloc'd string, or NULL. */
static char *
join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *s = malloc(n);

	if (s != NULL)
		snprintf(s, n, "%s/%s", dir, name);
	return s;
}

/* The vocabulary the pipeline uses (see pipeline_open); fallback is the
 * engine's clip_vocab option. Returns a malloc'd path, or NULL with err
 * set. */
static char *
find_vocab(const char *model_path, const char *vocab_path,
    const char *fallback, char *err, size_t errlen)
{
	static const char *const rel[] = { "../../models/clip",
	    "../share/kiln/clip" };
	char exe[PATH_MAX], *s, *slash;
	ssize_t n;
	size_t i;

	if (vocab_path != NULL)
		return strdup(vocab_path);
	if (is_dir(model_path)) {
		s = join(model_path, "tokenizer");
		if (s != NULL && is_dir(s))
			return s;
		free(s);
	}
	if (fallback[0] != '\0')
		return strdup(fallback);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash != NULL)
			*slash = '\0';
		for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
			char *dir = join(exe, rel[i]), *f;

			if (dir == NULL)
				break;
			f = join(dir, "bpe_simple_vocab_16e6.txt.gz");
			if (f != NULL && exists(f)) {
				free(f);
				return dir;
			}
			free(f);
			free(dir);
		}
	}
	errf(err, errlen, "no CLIP vocabulary: the model has no tokenizer/ "
	    "folder, none is configured ($KILN_CLIP_VOCAB, [engine] "
	    "clip_vocab) and models/clip/ was not found beside the binary; "
	    "pass --vocab PATH");
	return NULL;
}

/* Reads <model>/scheduler/scheduler_config.json into p->sp when the model
 * is a diffusers folder that has one. Returns 0, or -1 with err. */
static int
read_scheduler(struct pipeline *p, char *err, size_t errlen)
{
	json_object *o = NULL, *v;
	char *path = NULL;
	const char *s;
	int rc = -1;

	schedule_params_default(&p->sp);
	if (!is_dir(p->model_path))
		return 0;
	path = join(p->model_path, "scheduler/scheduler_config.json");
	if (path == NULL)
		return errf(err, errlen, "out of memory");
	if (!exists(path)) {
		free(path);
		return 0;
	}
	o = json_object_from_file(path);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		errf(err, errlen, "%s: not a JSON object", path);
		goto out;
	}
	if (json_object_object_get_ex(o, "num_train_timesteps", &v))
		p->sp.num_train_timesteps = json_object_get_int(v);
	if (json_object_object_get_ex(o, "beta_start", &v))
		p->sp.beta_start = json_object_get_double(v);
	if (json_object_object_get_ex(o, "beta_end", &v))
		p->sp.beta_end = json_object_get_double(v);
	if (json_object_object_get_ex(o, "beta_schedule", &v)) {
		s = json_object_get_string(v);
		if (s != NULL && !strcmp(s, "scaled_linear"))
			p->sp.beta_schedule = BETA_SCALED_LINEAR;
		else if (s != NULL && !strcmp(s, "linear"))
			p->sp.beta_schedule = BETA_LINEAR;
		else {
			errf(err, errlen, "%s: beta_schedule \"%s\" is not "
			    "supported (scaled_linear, linear)", path,
			    s ? s : "");
			goto out;
		}
	}
	if (json_object_object_get_ex(o, "prediction_type", &v)) {
		s = json_object_get_string(v);
		if (s != NULL && !strcmp(s, "epsilon"))
			p->sp.prediction = PRED_EPS;
		else if (s != NULL && !strcmp(s, "v_prediction"))
			p->sp.prediction = PRED_V;
		else {
			errf(err, errlen, "%s: prediction_type \"%s\" is not "
			    "supported (epsilon, v_prediction)", path,
			    s ? s : "");
			goto out;
		}
	}
	rc = 0;
out:
	json_object_put(o);
	free(path);
	return rc;
}

/* The parameters of the model's kiln.json card (lib/models.h) into
 * p->defaults over the engine's, which render SDXL at its native
 * 1024x1024 and the others at 512x512. A model without a card keeps the
 * engine's; a card naming an unknown sampler or an unusable size is an
 * error naming the file, since ignoring it would render worse than the
 * card says. */
static int
read_defaults(struct pipeline *p, char *err, size_t errlen)
{
	struct model_card *c;
	char e2[256];
	int rc = -1;

	gen_params_default(&p->defaults);
	if (st_model_family(p->m) == ST_FAMILY_SDXL)
		p->defaults.width = p->defaults.height = 1024;
	if (model_card_load_path(p->model_path, &c, err, errlen) != 0)
		return -1;
	if (c->width > 0)
		p->defaults.width = c->width;
	if (c->height > 0)
		p->defaults.height = c->height;
	if (c->steps > 0)
		p->defaults.steps = c->steps;
	if (c->cfg > 0)
		p->defaults.cfg = c->cfg;
	if (c->preview_channels > 0) {
		p->preview_c = c->preview_channels;
		memcpy(p->preview_f, c->preview_factors,
		    sizeof(p->preview_f));
		memcpy(p->preview_b, c->preview_bias, sizeof(p->preview_b));
	}
	if (c->sampler[0] != '\0' &&
	    sampler_lookup(c->sampler, &p->defaults.sampler) != 0) {
		errf(err, errlen, "%s/kiln.json: defaults.sampler: \"%s\" is "
		    "not a sampler", p->model_path, c->sampler);
		goto out;
	}
	if (gen_params_check(&p->defaults, e2, sizeof(e2)) != 0) {
		errf(err, errlen, "%s/kiln.json: defaults.%s", p->model_path,
		    e2);
		goto out;
	}
	rc = 0;
out:
	model_card_free(c);
	return rc;
}

int
pipeline_open(struct kiln_rt *rt, const char *model_path,
    const char *vocab_path, struct pipeline **out, char *err, size_t errlen)
{
	struct pipeline *p;
	const struct unet_config *uc;
	double t0 = rt_now();
	char e2[1024];

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return errf(err, errlen, "out of memory");
	p->rt = rt;
	p->model_path = strdup(model_path);
	if (p->model_path == NULL) {
		errf(err, errlen, "out of memory");
		goto bad;
	}
	p->vocab = find_vocab(model_path, vocab_path, rt->opts.clip_vocab,
	    err, errlen);
	if (p->vocab == NULL)
		goto bad;
	if (read_scheduler(p, err, errlen) != 0)
		goto bad;
	p->m = st_model_open(model_path, err, errlen);
	if (p->m == NULL || read_defaults(p, err, errlen) != 0)
		goto bad;
	if (!(st_model_has_part(p->m, ST_PART_TEXT) ||
	    st_model_has_part(p->m, ST_PART_TEXT2)) ||
	    !st_model_has_part(p->m, ST_PART_UNET) ||
	    !st_model_has_part(p->m, ST_PART_VAE)) {
		errf(err, errlen, "%s: a model needs a text encoder, a UNet "
		    "and a VAE; this one has no %s", model_path,
		    !(st_model_has_part(p->m, ST_PART_TEXT) ||
		    st_model_has_part(p->m, ST_PART_TEXT2)) ? "text encoder" :
		    !st_model_has_part(p->m, ST_PART_UNET) ? "UNet" : "VAE");
		goto bad;
	}
	p->tok = clip_tokenizer_load(p->vocab, e2, sizeof(e2));
	if (p->tok == NULL) {
		errf(err, errlen, "vocabulary: %s", e2);
		goto bad;
	}
	p->weights = wt_registry_new();
	if (p->weights == NULL) {
		errf(err, errlen, "out of memory");
		goto bad;
	}
	/* The weights LoRAs patch are recorded as they load. */
	rt->weights = p->weights;
	if (text_cond_load(rt, p->m, p->tok, p->vocab, -1, &p->text, err,
	    errlen) != 0 ||
	    unet_load(rt, p->m, &p->unet, err, errlen) != 0) {
		rt->weights = NULL;
		goto bad;
	}
	rt->weights = NULL;
	if (lora_state_new(rt, p->m, p->weights, &p->loras, err,
	    errlen) != 0 ||
	    vae_load(rt, p->m, VAE_DECODER, &p->vae, err, errlen) != 0)
		goto bad;
	if (text_cond_width(p->text) != unet_config(p->unet)->ctx_dim) {
		errf(err, errlen, "text encoder width %d does not match the "
		    "UNet's cross_attention_dim %d", text_cond_width(p->text),
		    unet_config(p->unet)->ctx_dim);
		goto bad;
	}
	/* SDXL's add_embedding eats the pooled text and six time ids. */
	uc = unet_config(p->unet);
	if (uc->adm_in != (text_cond_pooled_width(p->text) > 0 ?
	    text_cond_pooled_width(p->text) + 6 * uc->time_ids_dim : 0)) {
		errf(err, errlen, "the UNet's added conditioning takes %d "
		    "values, the text encoders give a pooled output of %d "
		    "(and 6 time ids of %d)", uc->adm_in,
		    text_cond_pooled_width(p->text), uc->time_ids_dim);
		goto bad;
	}
	/* An inpainting UNet takes the latent, the mask and the masked
	 * image's latent: 2 c + 1 channels in, c out. */
	if (vae_config(p->vae)->latent_channels !=
	    unet_config(p->unet)->out_channels ||
	    (unet_config(p->unet)->in_channels !=
	    unet_config(p->unet)->out_channels &&
	    unet_config(p->unet)->in_channels !=
	    2 * unet_config(p->unet)->out_channels + 1)) {
		errf(err, errlen, "UNet channels %d -> %d do not match the "
		    "VAE's %d latent channels", unet_config(p->unet)->in_channels,
		    unet_config(p->unet)->out_channels,
		    vae_config(p->vae)->latent_channels);
		goto bad;
	}
	p->load_s = rt_now() - t0;
	*out = p;
	return 0;
bad:
	pipeline_free(p);
	return -1;
}

void
pipeline_free(struct pipeline *p)
{
	if (p == NULL)
		return;
	control_cache_free(p->controls);
	lora_state_free(p->loras);
	wt_registry_free(p->weights);
	vae_free(p->vae_enc);
	vae_free(p->vae);
	unet_free(p->unet);
	text_cond_free(p->text);
	clip_tokenizer_free(p->tok);
	st_model_close(p->m);
	free(p->vocab);
	free(p->model_path);
	free(p);
}

int
pipeline_set_loras(struct pipeline *p, const struct lora_spec *l, int n,
    char *err, size_t errlen)
{
	return lora_state_set(p->loras, l, n, err, errlen);
}

enum prediction
pipeline_prediction(const struct pipeline *p)
{
	return p->sp.prediction;
}

void
pipeline_defaults(const struct pipeline *p, struct gen_params *gp)
{
	*gp = p->defaults;
}

const char *
pipeline_vocab(const struct pipeline *p)
{
	return p->vocab;
}

const struct clip_tokenizer *
pipeline_tokenizer(const struct pipeline *p)
{
	return p->tok;
}

int
pipeline_grid(const struct pipeline *p)
{
	return vae_config(p->vae)->factor *
	    (1 << (unet_config(p->unet)->levels - 1));
}

/* SDXL's time ids for a render of width x height: original size, crop
 * top-left, target size, (h, w) pairs in pixels, the same for cond and
 * uncond: (H, W, 0, 0, H, W), what A1111 (sdxl_crop_top/left 0) and
 * diffusers give by default. */
static void
sdxl_time_ids(int width, int height, float ids[6])
{
	ids[0] = (float)height;
	ids[1] = (float)width;
	ids[2] = 0.0f;
	ids[3] = 0.0f;
	ids[4] = (float)height;
	ids[5] = (float)width;
}

/* What the sampler's model callback needs. */
struct guide {
	struct pipeline *p;
	struct ktensor *ctx;		/* [2 or 1, L, D] */
	/* SDXL's added conditioning, NULL for SD 1.x / 2.x: the pooled
	 * text [nb, P] and the time ids [nb, 6]. */
	struct ktensor *text_embeds, *time_ids;
	int nb;				/* 2: uncond + cond; 1: cond only */
	int c, h, w;
	size_t n;			/* floats per latent */
	/* An inpainting UNet's extra input channels (mask, masked-image
	 * latent), cx x h x w floats after each latent; cx 0: none. */
	int cx;
	const float *extra;
	double cfg;
	float *in, *out;		/* nb * n each */
	double unet_s;
	int evals;
	char err[1024];
	/* progress */
	pipeline_progress_fn progress;
	void *arg;
	int image;
	/* Steps before this pass, and of all passes (the hires fix runs
	 * two); step_total 0: the sampler's count. */
	int step_base, step_total;
	/* ControlNets: whether any, the step under way of the count run. */
	int control, step, count;
};

/* One UNet evaluation with the guide's conditioning, SDXL's added
 * conditioning with it where the model has one. */
static int
unet_eval(struct guide *g, const struct ktensor *x, const float *t,
    struct ktensor **y)
{
	struct unet_added add = { g->text_embeds, g->time_ids };
	struct unet_residuals res = { .ndown = 0 };
	struct ktensor *xl = NULL, v;
	int rc;

	if (!g->control)
		return unet_forward_added(g->p->unet, x, t, g->ctx,
		    g->text_embeds != NULL ? &add : NULL, y);
	/* The ControlNets whose span holds this step, on the same batch;
	 * with an inpainting UNet on the latent alone (as diffusers'
	 * ControlNet inpainting pipeline), not its mask channels. */
	if (g->cx > 0) {
		xl = kt_new4(g->p->rt, KD_F32, x->ne[0], g->c, g->h, g->w);
		if (xl == NULL || kt_view_4d(&v, x, x->ne[0], g->c, g->h, g->w,
		    x->nb[0], x->nb[1], x->nb[2], 0) != 0 ||
		    op_copy(&v, xl) != 0) {
			kt_free(xl);
			return -1;
		}
	}
	rc = control_eval(g->p->controls, (double)g->step / g->count,
	    xl != NULL ? xl : x, t, g->ctx,
	    g->text_embeds != NULL ? &add : NULL, &res);
	kt_free(xl);
	if (rc == 0)
		rc = unet_forward_ctrl(g->p->unet, x, t, g->ctx,
		    g->text_embeds != NULL ? &add : NULL,
		    res.ndown > 0 ? &res : NULL, y);
	unet_residuals_free(&res);
	return rc;
}

/* Classifier-free guidance: both conditionings as one batch of 2 on the
 * same latent, out = uncond + cfg (cond - uncond). */
static int
guided_model(void *arg, const float *x_in, float t, float *out)
{
	struct guide *g = arg;
	struct ktensor *x = NULL, *y = NULL;
	float ts[2] = { t, t };
	double t0 = rt_now();
	size_t i, nx = g->n / (size_t)g->c * (size_t)g->cx;
	int b, rc = -1;

	for (b = 0; b < g->nb; b++) {
		float *row = g->in + (size_t)b * (g->n + nx);

		memcpy(row, x_in, g->n * sizeof(float));
		if (nx > 0)
			memcpy(row + g->n, g->extra, nx * sizeof(float));
	}
	x = kt_new4(g->p->rt, KD_F32, g->nb, g->c + g->cx, g->h, g->w);
	if (x == NULL || kt_upload(x, g->in) != 0 ||
	    unet_eval(g, x, ts, &y) != 0 ||
	    kt_download(y, g->out) != 0) {
		snprintf(g->err, sizeof(g->err), "unet: %s",
		    rt_error(g->p->rt));
		goto out;
	}
	if (g->nb == 1) {
		memcpy(out, g->out, g->n * sizeof(float));
	} else {
		const float *u = g->out, *c = g->out + g->n;
		float s = (float)g->cfg;

		for (i = 0; i < g->n; i++)
			out[i] = u[i] + s * (c[i] - u[i]);
	}
	rc = 0;
out:
	kt_free(y);
	kt_free(x);
	g->unet_s += rt_now() - t0;
	g->evals++;
	return rc;
}

static int
guided_progress(void *arg, int step, int steps, const float *denoised)
{
	struct guide *g = arg;
	struct pipeline_step s = { g->image, g->step_base + step,
		g->step_total > 0 ? g->step_total : steps, denoised, g->c, g->h,
		g->w };

	g->step = step;		/* the next step's index */
	return g->progress != NULL ? g->progress(g->arg, &s) : 0;
}

void
pipeline_preview(const struct pipeline *p, const struct pipeline_step *s,
    uint8_t *rgb)
{
	static const float no_bias[3] = { 0, 0, 0 };
	size_t hw = (size_t)s->h * (size_t)s->w, i;
	/* The map, chosen once: the card's, SD 1.x's for 4 channels, else
	 * none (grey levels of the first channels). */
	const float (*f)[3] = p->preview_c > 0 ?
	    (const float (*)[3])p->preview_f : s->c == 4 ? sd1_preview : NULL;
	const float *b = p->preview_c > 0 ? p->preview_b : no_bias;
	int nc = p->preview_c > 0 ? p->preview_c : 4, c, k;

	if (nc > s->c)
		nc = s->c;
	for (i = 0; i < hw; i++) {
		float v[3];

		if (f != NULL) {
			for (k = 0; k < 3; k++)
				v[k] = b[k];
			for (c = 0; c < nc; c++)
				for (k = 0; k < 3; k++)
					v[k] += f[c][k] *
					    s->denoised[(size_t)c * hw + i];
		} else {
			for (k = 0; k < 3; k++)
				v[k] = s->denoised[(size_t)(k % s->c) * hw + i];
		}
		for (k = 0; k < 3; k++) {
			float x = (v[k] + 1.0f) * 127.5f;

			rgb[i * 3 + (size_t)k] = (uint8_t)(x < 0 ? 0 :
			    x > 255 ? 255 : x + 0.5f);
		}
	}
}

/* The VAE encoder, loaded on the first image that needs it. */
static int
need_encoder(struct pipeline *p, char *err, size_t errlen)
{
	if (p->vae_enc == NULL &&
	    vae_load(p->rt, p->m, VAE_ENCODER, &p->vae_enc, err, errlen) != 0)
		return -1;
	if (vae_config(p->vae_enc)->in_channels != 3)
		return errf(err, errlen, "init: the VAE takes %d channels, "
		    "not RGB", vae_config(p->vae_enc)->in_channels);
	return 0;
}

/* W x H RGB8 (NULL: mid-grey, 0 in [-1, 1]) to [-1, 1], zeroed where the
 * grey mask zero (may be NULL) rounds to 255, through the VAE encoder: the
 * latent mean times the scaling factor into lat (n floats), in tiles
 * within budget bytes (0: whole). The mean
 * rather than a sample keeps a seed's image the same (A1111 and diffusers
 * sample the posterior with an unseeded draw). */
static int
encode_rgb(struct pipeline *p, const uint8_t *rgb, const uint8_t *zero,
    int W, int H, size_t budget, float *lat, size_t n, char *err,
    size_t errlen)
{
	float *img = NULL;
	struct ktensor *x = NULL, *mean = NULL;
	size_t HW = (size_t)H * (size_t)W, i, c;
	float sf;
	int rc = -1;

	if (need_encoder(p, err, errlen) != 0)
		return -1;
	img = calloc(3 * HW, sizeof(float));
	if (img == NULL)
		return errf(err, errlen, "out of memory");
	for (c = 0; c < 3 && rgb != NULL; c++)
		for (i = 0; i < HW; i++)
			if (zero == NULL || zero[i] < 128)
				img[c * HW + i] = rgb[i * 3 + c] / 127.5f -
				    1.0f;
	x = kt_new4(p->rt, KD_F32, 1, 3, (int64_t)H, (int64_t)W);
	if (x == NULL || kt_upload(x, img) != 0 ||
	    vae_encode(p->vae_enc, x, budget, &mean, NULL) != 0) {
		errf(err, errlen, "vae encode: %s", rt_error(p->rt));
		goto out;
	}
	if (kt_nelem(mean) != n) {
		errf(err, errlen, "vae encode: %zu latent values, want %zu",
		    kt_nelem(mean), n);
		goto out;
	}
	if (kt_download(mean, lat) != 0) {
		errf(err, errlen, "vae encode: %s", rt_error(p->rt));
		goto out;
	}
	sf = vae_config(p->vae_enc)->scaling_factor;
	for (i = 0; i < n; i++)
		lat[i] *= sf;
	rc = 0;
out:
	kt_free(mean);
	kt_free(x);
	free(img);
	return rc;
}

/* Decodes the latent z (c x h x w, the sampler's scale; left as it is)
 * into RGB8 at dst, (f h) x (f w), and when dstf is not NULL the same
 * pixels before quantising (0..1, interleaved like dst) at dstf. */
static int
decode_image(struct pipeline *p, const struct gen_params *gp, const float *z,
    int c, int h, int w, uint8_t *dst, float *dstf, char *err,
    size_t errlen)
{
	const struct vae_config *vc = vae_config(p->vae);
	struct ktensor *zt = NULL, *img = NULL;
	size_t n = (size_t)c * (size_t)h * (size_t)w, i, k, HW;
	int W = w * vc->factor, H = h * vc->factor;
	float *pix = malloc((n > (size_t)3 * (size_t)W * (size_t)H ? n :
	    (size_t)3 * (size_t)W * (size_t)H) * sizeof(float));
	int rc = -1;

	if (pix == NULL)
		return errf(err, errlen, "out of memory");
	for (i = 0; i < n; i++)
		pix[i] = z[i] / vc->scaling_factor;
	/* The UNet's activation buffers sit in the pool in sizes the VAE
	 * will not ask for: give them back before its larger images. */
	rt_trim(p->rt);
	zt = kt_new4(p->rt, KD_F32, 1, c, h, w);
	if (zt == NULL || kt_upload(zt, pix) != 0 ||
	    vae_decode(p->vae, zt, gp->vae_budget, &img) != 0) {
		errf(err, errlen, "vae decode: %s", rt_error(p->rt));
		goto out;
	}
	HW = (size_t)W * (size_t)H;
	if (img->ne[1] != 3 || img->ne[2] != H || img->ne[3] != W) {
		errf(err, errlen, "vae decode: output %s, want 3x%dx%d",
		    kt_shape_str(img, (char[64]){0}, 64), H, W);
		goto out;
	}
	if (kt_download(img, pix) != 0) {
		errf(err, errlen, "vae decode: %s", rt_error(p->rt));
		goto out;
	}
	for (k = 0; k < 3; k++)
		for (i = 0; i < HW; i++) {
			float v = (pix[k * HW + i] + 1.0f) * 0.5f;

			v = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
			dst[i * 3 + k] = (uint8_t)lrintf(v * 255.0f);
			if (dstf != NULL)
				dstf[i * 3 + k] = v;
		}
	rc = 0;
out:
	free(pix);
	kt_free(img);
	kt_free(zt);
	return rc;
}

/* The box of src (sw wide, ch bytes per pixel) resized to dw x dh into a
 * malloc'd *dst (libgd's resampling, on RGB: a mask goes through it as
 * grey RGB). */
static int
crop_resize(const uint8_t *src, int sw, int ch, const struct inpaint_box *b,
    int dw, int dh, uint8_t **dst, char *err, size_t errlen)
{
	int bw = b->x1 - b->x0, bh = b->y1 - b->y0, x, y, rc = -1;
	uint8_t *crop = malloc((size_t)bw * (size_t)bh * 3), *big = NULL;
	size_t i, nd = (size_t)dw * (size_t)dh;

	*dst = NULL;
	if (crop == NULL)
		return errf(err, errlen, "out of memory");
	for (y = 0; y < bh; y++)
		for (x = 0; x < bw; x++) {
			const uint8_t *s = src + ((size_t)(b->y0 + y) *
			    (size_t)sw + (size_t)(b->x0 + x)) * (size_t)ch;
			uint8_t *d = crop + ((size_t)y * (size_t)bw +
			    (size_t)x) * 3;

			d[0] = s[0];
			d[1] = s[ch == 3 ? 1 : 0];
			d[2] = s[ch == 3 ? 2 : 0];
		}
	if (image_resize_rgb(crop, bw, bh, dw, dh, &big, err, errlen) != 0)
		goto out;
	if (ch == 1)
		for (i = 0; i < nd; i++)
			big[i] = big[i * 3];
	*dst = big;
	rc = 0;
out:
	free(crop);
	return rc;
}

/* An inpainting job's images, prepared once for every image of it. */
struct inpaint {
	struct inpaint_box box;		/* of the init, rendered at W x H */
	uint8_t *alpha;			/* init-sized: the overlay's mask */
	uint8_t *rimg, *rmask;		/* W x H: the box's image and mask */
	float *lmask;			/* the sampler's mask, n floats */
};

static void
inpaint_free(struct inpaint *ip)
{
	free(ip->alpha);
	free(ip->rimg);
	free(ip->rmask);
	free(ip->lmask);
	memset(ip, 0, sizeof(*ip));
}

/* A1111's img2img with a mask: the mask blurred; the box to render (the
 * padded box around the mask with only_masked, else the whole image)
 * cropped and resized to W x H; the masked content; the latent mask of c
 * channels at the VAE's factor f. */
static int
inpaint_prepare(const struct gen_params *gp, int W, int H, int c, int f,
    struct inpaint *ip, char *err, size_t errlen)
{
	size_t np = (size_t)gp->init_w * (size_t)gp->init_h, i, hw;
	int k;

	memset(ip, 0, sizeof(*ip));
	ip->alpha = malloc(np);
	if (ip->alpha == NULL)
		return errf(err, errlen, "out of memory");
	memcpy(ip->alpha, gp->mask, np);
	if (inpaint_blur_mask(ip->alpha, gp->init_w, gp->init_h,
	    gp->mask_blur) != 0)
		return errf(err, errlen, "out of memory");
	if (gp->only_masked) {
		if (inpaint_crop_box(ip->alpha, gp->init_w, gp->init_h,
		    gp->only_masked_pad, W, H, &ip->box) != 0)
			return errf(err, errlen, "mask: nothing is masked "
			    "(only_masked needs a white area)");
	} else {
		ip->box = (struct inpaint_box){ 0, 0, gp->init_w,
		    gp->init_h };
	}
	if (crop_resize(gp->init_rgb, gp->init_w, 3, &ip->box, W, H,
	    &ip->rimg, err, errlen) != 0 ||
	    crop_resize(ip->alpha, gp->init_w, 1, &ip->box, W, H, &ip->rmask,
	    err, errlen) != 0)
		return -1;
	/* The whole image's overlay mask is the blurred one doubled (A1111:
	 * a sharper feather); only_masked pastes with it as it is. */
	if (!gp->only_masked)
		for (i = 0; i < np; i++)
			ip->alpha[i] = ip->alpha[i] > 127 ? 255 :
			    (uint8_t)(ip->alpha[i] * 2);
	if (gp->fill == INPAINT_FILL &&
	    inpaint_fill_colors(ip->rimg, ip->rmask, W, H) != 0)
		return errf(err, errlen, "out of memory");
	hw = (size_t)(W / f) * (size_t)(H / f);
	ip->lmask = malloc(hw * (size_t)c * sizeof(float));
	if (ip->lmask == NULL)
		return errf(err, errlen, "out of memory");
	inpaint_latent_mask(ip->rmask, W, H, f, ip->lmask);
	for (k = 1; k < c; k++)
		memcpy(ip->lmask + (size_t)k * hw, ip->lmask,
		    hw * sizeof(float));
	return 0;
}

/* The rendered W x H image gen back into the init: resized to the box,
 * over the init there, then the init laid over all of it outside the
 * feathered mask (A1111's apply_overlay), into dst (the init's size). */
static int
inpaint_finish(const struct gen_params *gp, const struct inpaint *ip,
    const uint8_t *gen, int W, int H, uint8_t *dst, char *err,
    size_t errlen)
{
	int bw = ip->box.x1 - ip->box.x0, bh = ip->box.y1 - ip->box.y0, y;
	size_t iw = (size_t)gp->init_w;
	uint8_t *fit = NULL;

	if (image_resize_rgb(gen, W, H, bw, bh, &fit, err, errlen) != 0)
		return -1;
	memcpy(dst, gp->init_rgb, iw * (size_t)gp->init_h * 3);
	for (y = 0; y < bh; y++)
		memcpy(dst + ((size_t)(ip->box.y0 + y) * iw +
		    (size_t)ip->box.x0) * 3, fit + (size_t)y * (size_t)bw * 3,
		    (size_t)bw * 3);
	inpaint_overlay(dst, dst, gp->init_rgb, ip->alpha,
	    iw * (size_t)gp->init_h);
	free(fit);
	return 0;
}

/* An inpainting UNet's extra input: the latent mask (1 where repainted;
 * all of it without a mask) and the latent of the image with the masked
 * part zeroed (mid-grey), as A1111 and diffusers build it. */
static int
inpaint_cond(struct pipeline *p, const struct inpaint *ip, int W, int H,
    int c, size_t budget, float *extra, char *err, size_t errlen)
{
	size_t hw = (size_t)(W / vae_config(p->vae)->factor) *
	    (size_t)(H / vae_config(p->vae)->factor), i;

	for (i = 0; i < hw; i++)
		extra[i] = ip != NULL ? ip->lmask[i] : 1.0f;
	return encode_rgb(p, ip != NULL ? ip->rimg : NULL,
	    ip != NULL ? ip->rmask : NULL, W, H, budget, extra + hw,
	    hw * (size_t)c, err, errlen);
}

/* x (c x h x w) resized to oh x ow into y the way torch's interpolate
 * does it (align_corners False): bilinear, or nearest. */
static void
resize_latent(const float *x, int c, int h, int w, float *y, int oh, int ow,
    int nearest)
{
	double sy = (double)h / oh, sx = (double)w / ow;
	int k, i, j;

	for (k = 0; k < c; k++) {
		const float *a = x + (size_t)k * (size_t)h * (size_t)w;
		float *b = y + (size_t)k * (size_t)oh * (size_t)ow;

		for (i = 0; i < oh; i++)
			for (j = 0; j < ow; j++) {
				double fy, fx, v;
				int y0, x0, y1, x1;

				if (nearest) {
					y0 = (int)floor(i * sy);
					x0 = (int)floor(j * sx);
					y0 = y0 < h ? y0 : h - 1;
					x0 = x0 < w ? x0 : w - 1;
					b[(size_t)i * (size_t)ow + (size_t)j] =
					    a[(size_t)y0 * (size_t)w +
					    (size_t)x0];
					continue;
				}
				fy = (i + 0.5) * sy - 0.5;
				fx = (j + 0.5) * sx - 0.5;
				fy = fy < 0 ? 0 : fy;
				fx = fx < 0 ? 0 : fx;
				y0 = (int)fy;
				x0 = (int)fx;
				y1 = y0 + 1 < h ? y0 + 1 : y0;
				x1 = x0 + 1 < w ? x0 + 1 : x0;
				fy -= y0;
				fx -= x0;
				v = (1 - fy) * ((1 - fx) * a[(size_t)y0 * w +
				    (size_t)x0] + fx * a[(size_t)y0 * w +
				    (size_t)x1]) + fy * ((1 - fx) *
				    a[(size_t)y1 * w + (size_t)x0] + fx *
				    a[(size_t)y1 * w + (size_t)x1]);
				b[(size_t)i * (size_t)ow + (size_t)j] =
				    (float)v;
			}
	}
}

/* Sets the guide to render W x H: its latent size and SDXL's time ids
 * (the size conditioning follows the pass, as A1111's hires pass). */
static int
guide_size(struct guide *g, int W, int H, char *err, size_t errlen)
{
	int f = vae_config(g->p->vae)->factor;
	float tids[2 * 6];

	g->h = H / f;
	g->w = W / f;
	g->n = (size_t)g->c * (size_t)g->h * (size_t)g->w;
	if (g->time_ids == NULL)
		return 0;
	sdxl_time_ids(W, H, tids);
	sdxl_time_ids(W, H, tids + 6);
	if (kt_upload(g->time_ids, tids) != 0)
		return errf(err, errlen, "text: %s", rt_error(g->p->rt));
	return 0;
}

/* The hires fix's second pass: the first pass's latent x (W x H) enlarged
 * to W2 x H2, as a latent or as an image, then img2img on it at the hires
 * strength, from the seed's noise at the new size, into x2. */
static int
hires_pass(struct pipeline *p, const struct gen_params *gp, struct guide *g,
    const struct sampler_params *base, const float *x, int W, int H,
    int W2, int H2, float *x2, uint64_t seed, struct gen_result *out,
    char *err, size_t errlen)
{
	struct sampler_params sp2 = *base;
	struct kiln_rng rng;
	uint8_t *small = NULL, *big = NULL;
	float *init = NULL;
	int c = g->c, h = g->h, w = g->w, st, rc = -1;
	size_t n2 = (size_t)c * (size_t)(H2 / (H / h)) *
	    (size_t)(W2 / (W / w));
	double t0 = rt_now();

	init = malloc(n2 * sizeof(float));
	if (init == NULL)
		return errf(err, errlen, "out of memory");
	if (gp->hires_mode == HIRES_IMAGE) {
		small = malloc((size_t)W * (size_t)H * 3);
		if (small == NULL) {
			errf(err, errlen, "out of memory");
			goto out;
		}
		if (decode_image(p, gp, x, c, h, w, small, NULL, err,
		    errlen) != 0)
			goto out;
		if (upscaler_upscale_rgb(gp->hires_upscaler, small, W, H, W2,
		    H2, gp->vae_budget, 0, 0, &big, err, errlen) != 0)
			goto out;
		if (encode_rgb(p, big, NULL, W2, H2, gp->vae_budget, init,
		    n2, err, errlen) != 0)
			goto out;
	} else {
		resize_latent(x, c, h, w, init, H2 / (H / h), W2 / (W / w),
		    gp->hires_mode == HIRES_LATENT_NEAREST);
	}
	if (guide_size(g, W2, H2, err, errlen) != 0)
		goto out;
	sp2.steps = gp->hires_steps > 0 ? gp->hires_steps : gp->steps;
	sp2.strength = gp->hires_strength;
	sp2.init = init;
	sp2.mask = NULL;
	out->t.hires_s += rt_now() - t0;
	rng_seed(&rng, seed);
	rng_normal(&rng, x2, n2);
	st = sampler_run(&sp2, x2, n2, guided_model, g, &rng,
	    guided_progress, g, err, errlen);
	if (st < 0 && g->err[0] != '\0')
		errf(err, errlen, "%s", g->err);
	rc = st;
out:
	free(init);
	free(small);
	free(big);
	return rc;
}

int
pipeline_generate(struct pipeline *p, const struct gen_params *gp,
    pipeline_progress_fn progress, void *arg, struct gen_result *out,
    char *err, size_t errlen)
{
	struct schedule_params sp = p->sp;
	struct schedule sched = {0};
	struct sampler_params spar;
	struct guide g;
	struct kiln_rng rng;
	struct text_cond_out tc = {0};
	struct inpaint ip = {0};
	float *x = NULL, *x2 = NULL, *init = NULL, *init_i = NULL;
	float *extra = NULL;
	uint8_t *gen = NULL;
	char *prompt = NULL;
	double t0 = rt_now(), t1;
	int grid = pipeline_grid(p), i, st, start, count, rc = -1;
	int W = gp->width, H = gp->height, OW = W, OH = H, W2 = 0, H2 = 0;
	size_t img_bytes, nmax, j, nx;
	const struct vae_config *vc = vae_config(p->vae);
	const struct unet_config *uc = unet_config(p->unet);
	int64_t cshape[3];

	memset(out, 0, sizeof(*out));
	memset(&g, 0, sizeof(g));
	if (gen_params_check(gp, err, errlen) != 0)
		return -1;
	if (W % grid != 0)
		return errf(err, errlen, "width: %d is not a multiple of %d, "
		    "which this model needs", W, grid);
	if (H % grid != 0)
		return errf(err, errlen, "height: %d is not a multiple of %d, "
		    "which this model needs", H, grid);
	if (gp->mask != NULL) {		/* the result keeps the init's size */
		OW = gp->init_w;
		OH = gp->init_h;
	}
	if (gp->hires_scale != 0.0) {
		W2 = (int)(W * gp->hires_scale) / grid * grid;
		H2 = (int)(H * gp->hires_scale) / grid * grid;
		if (W2 > GEN_MAX_SIDE || H2 > GEN_MAX_SIDE)
			return errf(err, errlen, "hires_scale: %g makes %dx%d,"
			    " over the %d limit", gp->hires_scale, W2, H2,
			    GEN_MAX_SIDE);
		OW = W2;
		OH = H2;
	}
	/* An inpainting UNet takes the mask and the masked image's latent
	 * after the latent: in = 2 out + 1. */
	g.c = uc->out_channels;
	g.cx = uc->in_channels - uc->out_channels;
	if (g.cx != 0 && g.cx != g.c + 1)
		return errf(err, errlen, "model: a UNet of %d input and %d "
		    "output channels is not one kiln can condition",
		    uc->in_channels, uc->out_channels);
	if (g.cx != 0 && gp->hires_scale != 0.0)
		return errf(err, errlen, "hires_scale: not with an "
		    "inpainting model");
	if (gp->prediction == GEN_PRED_EPS)
		sp.prediction = PRED_EPS;
	else if (gp->prediction == GEN_PRED_V)
		sp.prediction = PRED_V;
	if (schedule_init(&sched, &sp, err, errlen) != 0)
		goto out;
	sampler_params_default(&spar, &sched, gp->sampler);
	spar.steps = gp->steps;
	spar.strength = gp->init_rgb != NULL ? gp->strength : 1.0;

	g.p = p;
	g.h = H / vc->factor;
	g.w = W / vc->factor;
	g.n = (size_t)g.c * (size_t)g.h * (size_t)g.w;
	nx = g.n / (size_t)g.c * (size_t)g.cx;
	nmax = W2 > 0 ? (size_t)g.c * (size_t)(H2 / vc->factor) *
	    (size_t)(W2 / vc->factor) : g.n + nx;
	g.cfg = gp->cfg;
	/* At cfg 1 the guided result is the cond prediction: half the work. */
	g.nb = gp->cfg == 1.0 ? 1 : 2;
	g.progress = progress;
	g.arg = arg;
	img_bytes = (size_t)OW * (size_t)OH * 3;
	out->rgb = malloc(img_bytes * (size_t)gp->batch);
	/* The float pixels too, but for inpainting: its result is pasted
	 * into the 8-bit init image, so there is no float one. */
	out->rgbf = gp->mask == NULL ? malloc(img_bytes * (size_t)gp->batch *
	    sizeof(float)) : NULL;
	out->seeds = calloc((size_t)gp->batch, sizeof(*out->seeds));
	x = malloc(g.n * sizeof(float));
	g.in = malloc(2 * nmax * sizeof(float));
	g.out = malloc(2 * nmax * sizeof(float));
	if (out->rgb == NULL || out->seeds == NULL || x == NULL ||
	    g.in == NULL || g.out == NULL || (gp->mask == NULL &&
	    out->rgbf == NULL)) {
		errf(err, errlen, "out of memory");
		goto out;
	}

	/* Text, without the LoRA tags (the caller merged their LoRAs). */
	t1 = rt_now();
	prompt = prompt_strip_extra_networks(gp->prompt);
	if (prompt == NULL) {
		errf(err, errlen, "out of memory");
		goto out;
	}
	if (text_cond_set_embeddings(p->text, gp->embeddings,
	    gp->nembeddings, err, errlen) != 0)
		goto out;
	if (text_cond_guidance(p->text, prompt, gp->negative, &tc, err,
	    errlen) != 0)
		goto out;
	/* Rows [2 - nb, 2): cond only at cfg 1. */
	cshape[0] = g.nb;
	cshape[1] = tc.L;
	cshape[2] = tc.D;
	g.ctx = kt_new(p->rt, KD_F32, 3, cshape);
	if (g.ctx == NULL || kt_upload(g.ctx, tc.ctx + (size_t)(2 - g.nb) *
	    (size_t)tc.L * (size_t)tc.D) != 0) {
		errf(err, errlen, "text: %s", rt_error(p->rt));
		goto out;
	}
	if (tc.P > 0) {
		g.text_embeds = kt_new2(p->rt, KD_F32, g.nb, tc.P);
		g.time_ids = kt_new2(p->rt, KD_F32, g.nb, 6);
		if (g.text_embeds == NULL || g.time_ids == NULL ||
		    kt_upload(g.text_embeds, tc.pooled + (size_t)(2 - g.nb) *
		    (size_t)tc.P) != 0) {
			errf(err, errlen, "text: %s", rt_error(p->rt));
			goto out;
		}
	}
	out->t.text_s = rt_now() - t1;

	/* img2img and inpainting: the init latent, shared by every image of
	 * the batch; an inpainting UNet's conditioning likewise. */
	t1 = rt_now();
	if (gp->mask != NULL && inpaint_prepare(gp, W, H, g.c, vc->factor,
	    &ip, err, errlen) != 0)
		goto out;
	if (gp->init_rgb != NULL) {
		init = malloc(g.n * sizeof(float));
		init_i = malloc(g.n * sizeof(float));
		if (init == NULL || init_i == NULL) {
			errf(err, errlen, "out of memory");
			goto out;
		}
		if (gp->mask != NULL) {
			if (encode_rgb(p, ip.rimg, NULL, W, H, gp->vae_budget,
			    init, g.n, err, errlen) != 0)
				goto out;
		} else {
			uint8_t *rgb = NULL;

			if (image_resize_rgb(gp->init_rgb, gp->init_w,
			    gp->init_h, W, H, &rgb, err, errlen) != 0)
				goto out;
			st = encode_rgb(p, rgb, NULL, W, H, gp->vae_budget,
			    init, g.n, err, errlen);
			free(rgb);
			if (st != 0)
				goto out;
		}
		spar.init = init_i;
		spar.mask = gp->mask != NULL ? ip.lmask : NULL;
	}
	if (g.cx > 0) {
		extra = malloc(nx * sizeof(float));
		if (extra == NULL) {
			errf(err, errlen, "out of memory");
			goto out;
		}
		if (inpaint_cond(p, gp->mask != NULL ? &ip : NULL, W, H, g.c,
		    gp->vae_budget, extra, err, errlen) != 0)
			goto out;
		g.extra = extra;
	}
	out->t.init_s = rt_now() - t1;
	if (sampler_check(&spar, err, errlen) != 0 ||
	    sampler_range(&spar, &start, &count) != 0)
		goto out;
	if (W2 > 0) {
		struct sampler_params sp2 = spar;
		int s2, c2;

		sp2.steps = gp->hires_steps > 0 ? gp->hires_steps : gp->steps;
		sp2.strength = gp->hires_strength;
		sp2.init = x;
		if (sampler_range(&sp2, &s2, &c2) != 0) {
			errf(err, errlen, "hires_strength: %g runs no step",
			    gp->hires_strength);
			goto out;
		}
		g.step_total = count + c2;
		x2 = malloc(nmax * sizeof(float));
		gen = malloc((size_t)W * (size_t)H * 3);
		if (x2 == NULL || gen == NULL) {
			errf(err, errlen, "out of memory");
			goto out;
		}
	} else if (gp->mask != NULL) {
		gen = malloc((size_t)W * (size_t)H * 3);
		if (gen == NULL) {
			errf(err, errlen, "out of memory");
			goto out;
		}
	}
	if (gp->ncontrols > 0) {
		if (p->controls == NULL &&
		    (p->controls = control_cache_new(p->rt)) == NULL) {
			errf(err, errlen, "out of memory");
			goto out;
		}
		if (control_begin(p->controls, p->unet, g.c, vc->factor,
		    gp->controls, gp->ncontrols, W, H, err, errlen) != 0)
			goto out;
		g.control = 1;
		g.count = count;
	}

	for (i = 0; i < gp->batch; i++) {
		uint64_t seed = gp->seed + (uint64_t)i;
		uint8_t *dst = out->rgb + (size_t)i * img_bytes;
		const float *z = x;

		g.image = i;
		g.step_base = 0;
		g.step = 0;
		g.control = gp->ncontrols > 0;
		out->seeds[i] = seed;
		if (guide_size(&g, W, H, err, errlen) != 0)
			goto out;
		rng_seed(&rng, seed);
		rng_normal(&rng, x, g.n);
		/* Masked content in the latent: the seed's noise or
		 * nothing where the mask repaints (A1111). */
		for (j = 0; init != NULL && j < g.n; j++)
			init_i[j] = gp->mask == NULL ||
			    gp->fill == INPAINT_FILL ||
			    gp->fill == INPAINT_ORIGINAL ||
			    ip.lmask[j] == 0.0f ? init[j] :
			    gp->fill == INPAINT_LATENT_NOISE ? x[j] : 0.0f;
		st = sampler_run(&spar, x, g.n, guided_model, &g, &rng,
		    guided_progress, &g, err, errlen);
		if (st < 0) {
			if (g.err[0] != '\0')
				errf(err, errlen, "%s", g.err);
			goto out;
		}
		if (st == SAMPLER_DONE && W2 > 0) {
			/* The ControlNets steer the composition, which the
			 * first pass settles: their hints are at its size. */
			g.control = 0;
			g.step_base = count;
			st = hires_pass(p, gp, &g, &spar, x, W, H, W2, H2, x2,
			    seed, out, err, errlen);
			if (st < 0)
				goto out;
			z = x2;
		}
		if (st == SAMPLER_CANCELED) {
			rc = PIPELINE_CANCELED;
			goto out;
		}
		t1 = rt_now();
		if (decode_image(p, gp, z, g.c, g.h, g.w, gp->mask != NULL ?
		    gen : dst, out->rgbf != NULL ? out->rgbf + (size_t)i *
		    img_bytes : NULL, err, errlen) != 0)
			goto out;
		if (gp->mask != NULL && inpaint_finish(gp, &ip, gen, W, H, dst,
		    err, errlen) != 0)
			goto out;
		out->t.vae_s += rt_now() - t1;
	}
	out->count = gp->batch;
	out->width = OW;
	out->height = OH;
	out->t.load_s = p->load_s;
	out->t.unet_s = g.unet_s;
	out->t.steps_run = g.step_total > 0 ? g.step_total : count;
	out->t.unet_step_s = g.evals > 0 ? g.unet_s / g.evals : 0;
	out->t.peak_held = p->rt->peak_held;
	out->t.total_s = rt_now() - t0;
	rc = PIPELINE_DONE;
out:
	if (rc != PIPELINE_DONE)
		gen_result_free(out);
	control_end(p->controls);
	kt_free(g.ctx);
	kt_free(g.text_embeds);
	kt_free(g.time_ids);
	free(g.in);
	free(g.out);
	free(init);
	free(init_i);
	free(extra);
	free(x);
	free(x2);
	free(gen);
	free(prompt);
	inpaint_free(&ip);
	text_cond_out_free(&tc);
	schedule_free(&sched);
	return rc;
}
