/* pipeline.c - Stable Diffusion txt2img / img2img over the engine's parts:
 * A1111 prompt weighting and the text encoder(s), a sampler with
 * classifier-free guidance around the UNet (with SDXL's added size and
 * pooled-text conditioning), the VAE; seeds that name their images. */
#include "pipeline.h"
#include "util.h"

#include "image.h"
#include "lora.h"
#include "models.h"
#include "prompt.h"
#include "rng.h"
#include "safetensors.h"
#include "textcond.h"
#include "tokenizer.h"
#include "unet.h"
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
};

/* SD 1.x's latent-to-RGB factors (as ComfyUI's previews use them): good
 * enough to see the composition take shape. */
static const float sd1_preview[4][3] = {
	{ 0.3512f, 0.2297f, 0.3227f },
	{ 0.3250f, 0.4974f, 0.2350f },
	{ -0.2829f, 0.1762f, 0.2721f },
	{ -0.2120f, -0.2616f, -0.7177f },
};

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
	return 0;
}

void
gen_result_free(struct gen_result *r)
{
	if (r == NULL)
		return;
	free(r->rgb);
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
	if (vae_config(p->vae)->latent_channels !=
	    unet_config(p->unet)->in_channels ||
	    unet_config(p->unet)->out_channels !=
	    unet_config(p->unet)->in_channels) {
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
	double cfg;
	float *in, *out;		/* nb * n each */
	double unet_s;
	int evals;
	char err[1024];
	/* progress */
	pipeline_progress_fn progress;
	void *arg;
	int image;
};

/* One UNet evaluation with the guide's conditioning, SDXL's added
 * conditioning with it where the model has one. */
static int
unet_eval(struct guide *g, const struct ktensor *x, const float *t,
    struct ktensor **y)
{
	struct unet_added add = { g->text_embeds, g->time_ids };

	return unet_forward_added(g->p->unet, x, t, g->ctx,
	    g->text_embeds != NULL ? &add : NULL, y);
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
	size_t i;
	int b, rc = -1;

	for (b = 0; b < g->nb; b++)
		memcpy(g->in + (size_t)b * g->n, x_in, g->n * sizeof(float));
	x = kt_new4(g->p->rt, KD_F32, g->nb, g->c, g->h, g->w);
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
	struct pipeline_step s = { g->image, step, steps, denoised, g->c, g->h,
		g->w };

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

/* img2img: the init image resized to the output size, to [-1, 1], through
 * the VAE encoder; the latent mean times the scaling factor into lat (n
 * floats). The mean rather than a sample keeps a seed's image the same
 * (A1111 and diffusers sample the posterior with an unseeded draw). */
static int
encode_init(struct pipeline *p, const struct gen_params *gp, float *lat,
    size_t n, char *err, size_t errlen)
{
	uint8_t *rgb = NULL;
	float *img = NULL;
	struct ktensor *x = NULL, *mean = NULL;
	size_t H = (size_t)gp->height, W = (size_t)gp->width, i, c;
	float sf;
	int rc = -1;

	if (p->vae_enc == NULL &&
	    vae_load(p->rt, p->m, VAE_ENCODER, &p->vae_enc, err, errlen) != 0)
		return -1;
	if (vae_config(p->vae_enc)->in_channels != 3)
		return errf(err, errlen, "init: the VAE takes %d channels, "
		    "not RGB", vae_config(p->vae_enc)->in_channels);
	if (image_resize_rgb(gp->init_rgb, gp->init_w, gp->init_h, gp->width,
	    gp->height, &rgb, err, errlen) != 0)
		return -1;
	img = malloc(3 * H * W * sizeof(float));
	if (img == NULL) {
		errf(err, errlen, "out of memory");
		goto out;
	}
	for (c = 0; c < 3; c++)
		for (i = 0; i < H * W; i++)
			img[c * H * W + i] = rgb[i * 3 + c] / 127.5f - 1.0f;
	x = kt_new4(p->rt, KD_F32, 1, 3, (int64_t)H, (int64_t)W);
	if (x == NULL || kt_upload(x, img) != 0 ||
	    vae_encode(p->vae_enc, x, gp->vae_budget, &mean, NULL) != 0) {
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
	free(rgb);
	return rc;
}

/* Decodes the n-float latent z into RGB8 at dst (height x width). */
static int
decode_image(struct pipeline *p, const struct gen_params *gp, float *z,
    int c, int h, int w, uint8_t *dst, char *err, size_t errlen)
{
	const struct vae_config *vc = vae_config(p->vae);
	struct ktensor *zt = NULL, *img = NULL;
	size_t n = (size_t)c * (size_t)h * (size_t)w, i, k, HW;
	float *pix = NULL;
	int rc = -1;

	for (i = 0; i < n; i++)
		z[i] /= vc->scaling_factor;
	/* The UNet's activation buffers sit in the pool in sizes the VAE
	 * will not ask for: give them back before its larger images. */
	rt_trim(p->rt);
	zt = kt_new4(p->rt, KD_F32, 1, c, h, w);
	if (zt == NULL || kt_upload(zt, z) != 0 ||
	    vae_decode(p->vae, zt, gp->vae_budget, &img) != 0) {
		errf(err, errlen, "vae decode: %s", rt_error(p->rt));
		goto out;
	}
	HW = (size_t)gp->width * (size_t)gp->height;
	if (img->ne[1] < 3 || img->ne[2] != gp->height ||
	    img->ne[3] != gp->width) {
		errf(err, errlen, "vae decode: output %s, want 3x%dx%d",
		    kt_shape_str(img, (char[64]){0}, 64), gp->height,
		    gp->width);
		goto out;
	}
	pix = malloc(kt_bytes(img));
	if (pix == NULL) {
		errf(err, errlen, "out of memory");
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
		}
	rc = 0;
out:
	free(pix);
	kt_free(img);
	kt_free(zt);
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
	float *x = NULL, *init = NULL, tids[2 * 6];
	char *prompt = NULL;
	double t0 = rt_now(), t1;
	int grid = pipeline_grid(p), i, st, start, count, rc = -1;
	size_t img_bytes;
	const struct vae_config *vc = vae_config(p->vae);
	int64_t cshape[3];

	memset(out, 0, sizeof(*out));
	memset(&g, 0, sizeof(g));
	if (gen_params_check(gp, err, errlen) != 0)
		return -1;
	if (gp->width % grid != 0)
		return errf(err, errlen, "width: %d is not a multiple of %d, "
		    "which this model needs", gp->width, grid);
	if (gp->height % grid != 0)
		return errf(err, errlen, "height: %d is not a multiple of %d, "
		    "which this model needs", gp->height, grid);
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
	g.c = unet_config(p->unet)->in_channels;
	g.h = gp->height / vc->factor;
	g.w = gp->width / vc->factor;
	g.n = (size_t)g.c * (size_t)g.h * (size_t)g.w;
	g.cfg = gp->cfg;
	/* At cfg 1 the guided result is the cond prediction: half the work. */
	g.nb = gp->cfg == 1.0 ? 1 : 2;
	g.progress = progress;
	g.arg = arg;
	img_bytes = (size_t)gp->width * (size_t)gp->height * 3;
	out->rgb = malloc(img_bytes * (size_t)gp->batch);
	out->seeds = calloc((size_t)gp->batch, sizeof(*out->seeds));
	x = malloc(g.n * sizeof(float));
	g.in = malloc(2 * g.n * sizeof(float));
	g.out = malloc(2 * g.n * sizeof(float));
	if (out->rgb == NULL || out->seeds == NULL || x == NULL ||
	    g.in == NULL || g.out == NULL) {
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
		sdxl_time_ids(gp->width, gp->height, tids);
		sdxl_time_ids(gp->width, gp->height, tids + 6);
		g.text_embeds = kt_new2(p->rt, KD_F32, g.nb, tc.P);
		g.time_ids = kt_new2(p->rt, KD_F32, g.nb, 6);
		if (g.text_embeds == NULL || g.time_ids == NULL ||
		    kt_upload(g.text_embeds, tc.pooled + (size_t)(2 - g.nb) *
		    (size_t)tc.P) != 0 || kt_upload(g.time_ids, tids) != 0) {
			errf(err, errlen, "text: %s", rt_error(p->rt));
			goto out;
		}
	}
	out->t.text_s = rt_now() - t1;

	/* img2img: the init latent, shared by every image of the batch. */
	if (gp->init_rgb != NULL) {
		t1 = rt_now();
		init = malloc(g.n * sizeof(float));
		if (init == NULL) {
			errf(err, errlen, "out of memory");
			goto out;
		}
		if (encode_init(p, gp, init, g.n, err, errlen) != 0)
			goto out;
		spar.init = init;
		out->t.init_s = rt_now() - t1;
	}
	if (sampler_check(&spar, err, errlen) != 0 ||
	    sampler_range(&spar, &start, &count) != 0)
		goto out;

	for (i = 0; i < gp->batch; i++) {
		uint64_t seed = gp->seed + (uint64_t)i;

		g.image = i;
		out->seeds[i] = seed;
		rng_seed(&rng, seed);
		rng_normal(&rng, x, g.n);
		st = sampler_run(&spar, x, g.n, guided_model, &g, &rng,
		    guided_progress, &g, err, errlen);
		if (st < 0) {
			if (g.err[0] != '\0')
				errf(err, errlen, "%s", g.err);
			goto out;
		}
		if (st == SAMPLER_CANCELED) {
			rc = PIPELINE_CANCELED;
			goto out;
		}
		t1 = rt_now();
		if (decode_image(p, gp, x, g.c, g.h, g.w,
		    out->rgb + (size_t)i * img_bytes, err, errlen) != 0)
			goto out;
		out->t.vae_s += rt_now() - t1;
	}
	out->count = gp->batch;
	out->width = gp->width;
	out->height = gp->height;
	out->t.load_s = p->load_s;
	out->t.unet_s = g.unet_s;
	out->t.steps_run = count;
	out->t.unet_step_s = g.evals > 0 ? g.unet_s / g.evals : 0;
	out->t.peak_held = p->rt->peak_held;
	out->t.total_s = rt_now() - t0;
	rc = PIPELINE_DONE;
out:
	if (rc != PIPELINE_DONE)
		gen_result_free(out);
	kt_free(g.ctx);
	kt_free(g.text_embeds);
	kt_free(g.time_ids);
	free(g.in);
	free(g.out);
	free(init);
	free(x);
	free(prompt);
	text_cond_out_free(&tc);
	schedule_free(&sched);
	return rc;
}
