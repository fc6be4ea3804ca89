/* control.c - a render's ControlNets: the loaded files kept by path,
 * the hints embedded once per render, the residuals summed per step. */
#include "control.h"
#include "canny.h"
#include "controlnet.h"
#include "image.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

struct control_slot {
	struct controlnet *cn;		/* NULL: free */
	int used;			/* asked for by this render */
};

struct control_cache {
	struct kiln_rt *rt;
	struct control_slot s[GEN_MAX_CONTROLNETS];
	/* Which slot each of the render's controls uses, in its order (a
	 * file given twice with two images loads once). */
	int order[GEN_MAX_CONTROLNETS];
	struct ktensor *embs[GEN_MAX_CONTROLNETS];
	double weight[GEN_MAX_CONTROLNETS], start[GEN_MAX_CONTROLNETS],
		end[GEN_MAX_CONTROLNETS];
	int n;
};

struct control_cache *
control_cache_new(struct kiln_rt *rt)
{
	struct control_cache *c = calloc(1, sizeof(*c));

	if (c != NULL)
		c->rt = rt;
	return c;
}

void
control_end(struct control_cache *c)
{
	int i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++) {
		kt_free(c->embs[i]);
		c->embs[i] = NULL;
	}
	c->n = 0;
}

void
control_cache_free(struct control_cache *c)
{
	int i;

	if (c == NULL)
		return;
	control_end(c);
	for (i = 0; i < GEN_MAX_CONTROLNETS; i++)
		controlnet_free(c->s[i].cn);
	free(c);
}

int
control_check(const struct gen_control *g, int n, char *err, size_t errlen)
{
	int i;

	if (n < 0 || n > GEN_MAX_CONTROLNETS || (n > 0 && g == NULL))
		return errf(err, errlen, "controlnet: %d of them (at most %d)",
			n, GEN_MAX_CONTROLNETS);
	for (i = 0; i < n; i++) {
		const struct gen_control *k = &g[i];

		if (k->path == NULL || k->path[0] == '\0')
			return errf(err, errlen, "controlnet: #%d names no "
				"file", i + 1);
		if (k->rgb == NULL || k->w < 1 || k->h < 1 ||
		    k->w > IMAGE_MAX_SIDE || k->h > IMAGE_MAX_SIDE)
			return errf(err, errlen, "controlnet: %s: the image "
				"(%dx%d) is missing or outside 1..%d", k->path,
				k->w, k->h, IMAGE_MAX_SIDE);
		if (!(k->weight >= 0.0 && k->weight <= 2.0))
			return errf(err, errlen, "controlnet: %s: weight %g "
				"is outside 0..2", k->path, k->weight);
		if (!(k->start >= 0.0 && k->start <= k->end &&
		    k->end <= 1.0))
			return errf(err, errlen, "controlnet: %s: start %g and "
				"end %g are not 0 <= start <= end <= 1",
				k->path, k->start, k->end);
		if (k->pre != GEN_PRE_NONE && k->pre != GEN_PRE_CANNY)
			return errf(err, errlen, "controlnet: %s: unknown "
				"preprocessor %d", k->path, (int)k->pre);
		if (k->pre == GEN_PRE_CANNY && !(k->low >= 0.0 &&
		    k->low <= 255.0 && k->high >= 0.0 && k->high <= 255.0))
			return errf(err, errlen, "controlnet: %s: canny "
				"thresholds %g and %g are outside 0..255",
				k->path, k->low, k->high);
	}
	return 0;
}

int
control_hint_rgb(const struct gen_control *g, int width, int height,
	uint8_t **out, char *err, size_t errlen)
{
	*out = NULL;
	/* The portal's edge preview calls the same canny_hint_rgb. */
	if (g->pre == GEN_PRE_CANNY)
		return canny_hint_rgb(g->rgb, g->w, g->h, width, height,
			g->low, g->high, out, err, errlen);
	return image_resize_rgb(g->rgb, g->w, g->h, width, height, out, err,
		errlen);
}

/* The hint embedding of control g at width x height. */
static int
embed(struct control_cache *c, struct controlnet *cn,
	const struct gen_control *g, int width, int height,
	struct ktensor **emb, char *err, size_t errlen)
{
	size_t hw = (size_t)width * (size_t)height, i, k;
	uint8_t *rgb = NULL;
	float *f = NULL;
	struct ktensor *hint = NULL;
	int rc = -1;

	if (control_hint_rgb(g, width, height, &rgb, err, errlen) != 0)
		return -1;
	f = malloc(3 * hw * sizeof(*f));
	hint = kt_new4(c->rt, KD_F32, 1, 3, height, width);
	if (f == NULL || hint == NULL) {
		errf(err, errlen, "controlnet: %s: %s", g->path, f == NULL ?
			"out of memory" : rt_error(c->rt));
		goto out;
	}
	/* Planar, in [0, 1] (diffusers' control image processor does not
	 * normalise to [-1, 1]). */
	for (k = 0; k < 3; k++)
		for (i = 0; i < hw; i++)
			f[k * hw + i] = rgb[3 * i + k] / 255.0f;
	if (kt_upload(hint, f) != 0 || controlnet_hint(cn, hint, emb) != 0) {
		errf(err, errlen, "controlnet: %s: %s", g->path,
			rt_error(c->rt));
		goto out;
	}
	rc = 0;
out:
	kt_free(hint);
	free(f);
	free(rgb);
	return rc;
}

int
control_begin(struct control_cache *c, const struct unet *u, int latent_c,
	int factor, const struct gen_control *g, int n, int width, int height,
	char *err, size_t errlen)
{
	int i, j;

	control_end(c);
	for (j = 0; j < GEN_MAX_CONTROLNETS; j++)
		c->s[j].used = 0;
	/* Keep the files still asked for, free the others, then load. */
	for (i = 0; i < n; i++)
		for (j = 0; j < GEN_MAX_CONTROLNETS; j++)
			if (c->s[j].cn != NULL && strcmp(controlnet_path(
			    c->s[j].cn), g[i].path) == 0)
				c->s[j].used = 1;
	for (j = 0; j < GEN_MAX_CONTROLNETS; j++)
		if (!c->s[j].used) {
			controlnet_free(c->s[j].cn);
			c->s[j].cn = NULL;
		}
	for (i = 0; i < n; i++) {
		int slot = -1, freej = -1;

		for (j = 0; j < GEN_MAX_CONTROLNETS; j++) {
			if (c->s[j].cn != NULL && strcmp(controlnet_path(
			    c->s[j].cn), g[i].path) == 0)
				slot = j;
			else if (c->s[j].cn == NULL && freej < 0)
				freej = j;
		}
		if (slot < 0) {
			slot = freej;
			if (controlnet_load(c->rt, g[i].path, &c->s[slot].cn,
			    err, errlen) != 0)
				goto bad;
		}
		c->order[i] = slot;
		c->weight[i] = g[i].weight;
		c->start[i] = g[i].start;
		c->end[i] = g[i].end;
		if (controlnet_check(c->s[slot].cn, u, err, errlen) != 0)
			goto bad;
		if (controlnet_config(c->s[slot].cn)->in_channels != latent_c) {
			errf(err, errlen, "%s: takes latents of %d channels, "
				"this model's have %d", g[i].path,
				controlnet_config(c->s[slot].cn)->in_channels,
				latent_c);
			goto bad;
		}
		if (controlnet_factor(c->s[slot].cn) != factor) {
			errf(err, errlen, "%s: its hint embedding makes one "
				"latent of %d pixels, this model's of %d",
				g[i].path, controlnet_factor(c->s[slot].cn),
				factor);
			goto bad;
		}
		c->n = i + 1;
		if (embed(c, c->s[slot].cn, &g[i], width, height, &c->embs[i],
		    err, errlen) != 0)
			goto bad;
	}
	c->n = n;
	return 0;
bad:
	control_end(c);
	return -1;
}

int
control_eval(struct control_cache *c, double frac, const struct ktensor *x,
	const float *t, const struct ktensor *ctx,
	const struct unet_added *add, struct unet_residuals *res)
{
	int i;

	for (i = 0; i < c->n; i++) {
		if (frac < c->start[i] || frac > c->end[i] ||
		    c->weight[i] == 0.0)
			continue;
		if (controlnet_forward(c->s[c->order[i]].cn, x, t, ctx, add,
		    c->embs[i], (float)c->weight[i], res) != 0)
			return -1;
	}
	return 0;
}
