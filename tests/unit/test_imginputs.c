/* test_imginputs.c - an img2img's images readied for the pipeline
 * (engine/imginputs.c): AUTOMATIC1111's resize modes on cases whose
 * answer needs no resampling (the scaled image is the source itself), so
 * the crop's columns and the fill's stretched edges are known exactly;
 * the mask inverted and fitted along; a mask of another size refused;
 * an inpaint's size from its init. */
#include "imginputs.h"
#include "tap.h"

#include <stdlib.h>

/* w x h RGB whose pixel (x, y) is (x, y, 7). */
static uint8_t *
coords(int w, int h)
{
	uint8_t *p = malloc((size_t)w * (size_t)h * 3);
	int x, y;

	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++) {
			p[(y * w + x) * 3] = (uint8_t)x;
			p[(y * w + x) * 3 + 1] = (uint8_t)y;
			p[(y * w + x) * 3 + 2] = 7;
		}
	return p;
}

static void
crop_takes_the_middle(void)
{
	uint8_t *src = coords(8, 4), *out = NULL;
	char err[256];
	int x, y, ok = 1;

	/* 8x4 into 4x4: scaled to cover (8x4, itself), the middle 4. */
	CHECK(gen_resize_rgb(src, 8, 4, 4, 4, RESIZE_CROP, &out, err,
	    sizeof(err)) == 0);
	for (y = 0; out != NULL && y < 4; y++)
		for (x = 0; x < 4; x++)
			ok &= out[(y * 4 + x) * 3] == x + 2 &&
			    out[(y * 4 + x) * 3 + 1] == y;
	CHECK(ok);
	free(out);
	free(src);
}

static void
fill_stretches_the_edges(void)
{
	uint8_t *src = coords(2, 4), *out = NULL;
	char err[256];
	int x, y, ok = 1;

	/* 2x4 into 4x4: scaled to fit (2x4, itself) at column 1; columns
	 * 0 and 3 are its edge columns. */
	CHECK(gen_resize_rgb(src, 2, 4, 4, 4, RESIZE_FILL, &out, err,
	    sizeof(err)) == 0);
	for (y = 0; out != NULL && y < 4; y++)
		for (x = 0; x < 4; x++) {
			int sx = x == 0 ? 0 : x == 3 ? 1 : x - 1;

			ok &= out[(y * 4 + x) * 3] == sx &&
			    out[(y * 4 + x) * 3 + 1] == y;
		}
	CHECK(ok);
	free(out);
	free(src);
}

static void
inputs_fitted_with_their_mask(void)
{
	struct gen_inputs in;
	struct gen_params gp;
	uint8_t mrgb[8 * 4 * 3];
	char err[256];
	int i;

	memset(&in, 0, sizeof(in));
	gen_params_default(&gp);
	in.init = coords(8, 4);
	in.w = 8;
	in.h = 4;
	/* White on the left half. */
	for (i = 0; i < 8 * 4; i++)
		memset(mrgb + 3 * i, i % 8 < 4 ? 255 : 0, 3);
	CHECK(gen_inputs_set_mask(&in, mrgb, 4, 4, err, sizeof(err)) == -1);
	CHECK(strstr(err, "4x4, but the init image is 8x4") != NULL);
	CHECK(gen_inputs_set_mask(&in, mrgb, 8, 4, err, sizeof(err)) == 0);
	in.invert = 1;
	in.resize = RESIZE_CROP;
	gp.width = 4;
	gp.height = 4;
	CHECK(gen_inputs_apply(&in, 4, 1, 1, &gp, err, sizeof(err)) == 0);
	CHECK(gp.init_rgb == in.init && gp.init_w == 4 && gp.init_h == 4);
	/* Columns 2..5 of the source: inverted, 2 and 3 keep (0), 4 and 5
	 * repaint (255). */
	CHECK(gp.mask != NULL && gp.mask[0] == 0 && gp.mask[1] == 0 &&
	    gp.mask[2] == 255 && gp.mask[3] == 255);
	CHECK(gp.init_rgb[0] == 2);
	gen_inputs_free(&in);
	CHECK(in.init == NULL && in.mask == NULL);
}

static void
inpaint_renders_at_the_inits_size(void)
{
	struct gen_inputs in;
	struct gen_params gp;
	uint8_t mrgb[100 * 36 * 3];
	char err[256];

	memset(&in, 0, sizeof(in));
	memset(mrgb, 255, sizeof(mrgb));
	gen_params_default(&gp);
	in.init = coords(100, 36);
	in.w = 100;
	in.h = 36;
	CHECK(gen_inputs_set_mask(&in, mrgb, 100, 36, err, sizeof(err)) == 0);
	CHECK(gen_inputs_apply(&in, 8, 0, 1, &gp, err, sizeof(err)) == 0);
	CHECK(gp.width == 104 && gp.height == 512);	/* nearest 8; given */
	gen_inputs_free(&in);
}

int
main(void)
{
	RUN(crop_takes_the_middle);
	RUN(fill_stretches_the_edges);
	RUN(inputs_fitted_with_their_mask);
	RUN(inpaint_renders_at_the_inits_size);
	return tap_done();
}
