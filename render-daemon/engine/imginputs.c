/* imginputs.c - img2img, inpainting and outpainting inputs readied for
 * the pipeline (imginputs.h). */
#include "imginputs.h"
#include "resample.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
gen_inputs_free(struct gen_inputs *in)
{
	if (in == NULL)
		return;
	free(in->init);
	free(in->mask);
	memset(in, 0, sizeof(*in));
}

int
gen_inputs_set_mask(struct gen_inputs *in, const uint8_t *rgb, int mw,
	int mh, char *err, size_t errlen)
{
	if (mw != in->w || mh != in->h)
		return errf(err, errlen, "%dx%d, but the init image is "
			"%dx%d", mw, mh, in->w, in->h);
	free(in->mask);
	in->mask = malloc((size_t)mw * (size_t)mh);
	if (in->mask == NULL)
		return errf(err, errlen, "mask: out of memory");
	inpaint_mask_from_rgb(rgb, (size_t)mw * (size_t)mh, in->mask);
	return 0;
}

int
gen_resize_rgb(const uint8_t *src, int sw, int sh, int dw, int dh,
	enum gen_resize mode, uint8_t **out, char *err, size_t errlen)
{
	double ratio = (double)dw / dh, sratio = (double)sw / sh;
	uint8_t *mid = NULL, *res;
	int rw, rh, ox, oy, x, y;

	*out = NULL;
	if (mode == RESIZE_JUST)
		return resample_lanczos_rgb(src, sw, sh, dw, dh, out, err,
			errlen);
	/* A1111's sizes of the scaled image, then where its middle goes. */
	if (mode == RESIZE_CROP) {
		rw = ratio > sratio ? dw : sw * dh / sh;
		rh = ratio <= sratio ? dh : sh * dw / sw;
	} else {
		rw = ratio < sratio ? dw : sw * dh / sh;
		rh = ratio >= sratio ? dh : sh * dw / sw;
	}
	if (rw < 1)
		rw = 1;
	if (rh < 1)
		rh = 1;
	if (resample_lanczos_rgb(src, sw, sh, rw, rh, &mid, err, errlen) != 0)
		return -1;
	res = calloc((size_t)dw * (size_t)dh, 3);
	if (res == NULL) {
		free(mid);
		return errf(err, errlen, "resize: out of memory");
	}
	ox = dw / 2 - rw / 2;
	oy = dh / 2 - rh / 2;
	for (y = 0; y < dh; y++)
		for (x = 0; x < dw; x++) {
			int sx = x - ox, sy = y - oy;

			/* Crop: every pixel is the image's. Fill: outside
			 * it, the nearest edge's, as A1111 stretches the
			 * edge rows (columns) over the bands. */
			if (mode == RESIZE_FILL) {
				sx = sx < 0 ? 0 : sx >= rw ? rw - 1 : sx;
				sy = sy < 0 ? 0 : sy >= rh ? rh - 1 : sy;
			} else if (sx < 0 || sy < 0 || sx >= rw || sy >= rh) {
				continue;
			}
			memcpy(res + ((size_t)y * (size_t)dw + (size_t)x) * 3,
				mid + ((size_t)sy * (size_t)rw + (size_t)sx) *
				3, 3);
		}
	free(mid);
	*out = res;
	return 0;
}

/* A grey mask through gen_resize_rgb (as RGB, then one channel). */
static int
resize_grey(uint8_t **m, int w, int h, int dw, int dh, enum gen_resize mode,
	char *err, size_t errlen)
{
	uint8_t *rgb = malloc((size_t)w * (size_t)h * 3), *big = NULL, *g;
	size_t i, n = (size_t)dw * (size_t)dh;

	if (rgb == NULL)
		return errf(err, errlen, "mask: out of memory");
	for (i = 0; i < (size_t)w * (size_t)h; i++)
		rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = (*m)[i];
	if (gen_resize_rgb(rgb, w, h, dw, dh, mode, &big, err, errlen) != 0) {
		free(rgb);
		return -1;
	}
	free(rgb);
	g = malloc(n);
	if (g == NULL) {
		free(big);
		return errf(err, errlen, "mask: out of memory");
	}
	for (i = 0; i < n; i++)
		g[i] = big[3 * i];
	free(big);
	free(*m);
	*m = g;
	return 0;
}

int
gen_inputs_apply(struct gen_inputs *in, int grid, int width_given,
	int height_given, struct gen_params *gp, char *err, size_t errlen)
{
	int k, out = 0;

	if (in->init == NULL)
		return 0;
	for (k = 0; k < OUT_SIDES; k++)
		out += in->outpaint[k];
	if (out > 0 && in->mask != NULL)
		return errf(err, errlen, "outpaint: the new area is the mask; "
			"give no mask");
	if (in->invert && in->mask != NULL)
		for (k = 0; k < in->w * in->h; k++)
			in->mask[k] = (uint8_t)(255 - in->mask[k]);
	if (out > 0) {
		uint8_t *canvas = NULL, *m = NULL;
		int cw, ch;

		if (outpaint_canvas(in->init, in->w, in->h, in->outpaint, grid,
		    &canvas, &m, &cw, &ch, err, errlen) != 0)
			return -1;
		free(in->init);
		in->init = canvas;
		in->mask = m;
		in->w = cw;
		in->h = ch;
	}
	/* Crop or fill makes the init (and mask) width x height itself;
	 * the render then has that size, as A1111's. */
	if (in->resize != RESIZE_JUST && (in->w != gp->width ||
	    in->h != gp->height)) {
		uint8_t *fit = NULL;

		if (gen_resize_rgb(in->init, in->w, in->h, gp->width,
		    gp->height, in->resize, &fit, err, errlen) != 0)
			return -1;
		if (in->mask != NULL && resize_grey(&in->mask, in->w, in->h,
		    gp->width, gp->height, in->resize, err, errlen) != 0) {
			free(fit);
			return -1;
		}
		free(in->init);
		in->init = fit;
		in->w = gp->width;
		in->h = gp->height;
	}
	gp->init_rgb = in->init;
	gp->init_w = in->w;
	gp->init_h = in->h;
	gp->mask = in->mask;
	/* Inpainting renders at the init's size, on the model's grid,
	 * unless told otherwise ("only masked" at the model's size). */
	if (in->mask != NULL && !gp->only_masked) {
		if (!width_given)
			gp->width = in->w < grid ? grid : (in->w + grid / 2) /
				grid * grid;
		if (!height_given)
			gp->height = in->h < grid ? grid : (in->h + grid / 2) /
				grid * grid;
	}
	return 0;
}
