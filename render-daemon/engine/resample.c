/* resample.c - Lanczos resizing on the host, written after Pillow's
 * libImaging/Resample.c (precompute_coeffs, normalize_coeffs_8bpc,
 * ImagingResampleHorizontal_8bpc / Vertical_8bpc): the same support,
 * the same rounding of the window bounds, the same 22-bit fixed-point
 * coefficients and the same 8-bit image between the passes, so that an
 * image A1111 would resize with PIL comes out identical. */
#include "resample.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fixed-point bits of the coefficients: 32 bits less 8 for the pixel
 * and 2 for the sum's headroom, as Pillow has it. */
#define PRECISION_BITS (32 - 8 - 2)
#define LANCZOS_A 3.0

/* Largest side handled: keeps every product below in int. */
#define RESAMPLE_MAX_SIDE 65536

static double
sinc(double x)
{
	if (x == 0.0)
		return 1.0;
	x *= M_PI;
	return sin(x) / x;
}

static double
lanczos(double x)
{
	if (-LANCZOS_A <= x && x < LANCZOS_A)
		return sinc(x) * sinc(x / LANCZOS_A);
	return 0.0;
}

/* One axis: for each of the out positions, the first source index
 * (bounds[2i]), the count (bounds[2i + 1]) and ksize fixed-point
 * weights kk[i * ksize ...]. Returns ksize, or -1 when memory runs
 * out. */
static int
coeffs(int in, int out, int **boundsp, int32_t **kkp)
{
	double scale, filterscale, support, center, ww, ss, *k = NULL;
	int ksize, xx, x, xmin, xmax, *bounds;
	int32_t *kk;

	filterscale = scale = (double)in / out;
	if (filterscale < 1.0)
		filterscale = 1.0;
	support = LANCZOS_A * filterscale;
	ksize = (int)ceil(support) * 2 + 1;
	bounds = malloc((size_t)out * 2 * sizeof(*bounds));
	kk = malloc((size_t)out * (size_t)ksize * sizeof(*kk));
	k = malloc((size_t)ksize * sizeof(*k));
	if (bounds == NULL || kk == NULL || k == NULL) {
		free(bounds);
		free(kk);
		free(k);
		return -1;
	}
	ss = 1.0 / filterscale;
	for (xx = 0; xx < out; xx++) {
		center = (xx + 0.5) * scale;
		ww = 0.0;
		/* Pillow rounds by truncating x + 0.5 toward zero. */
		xmin = (int)(center - support + 0.5);
		if (xmin < 0)
			xmin = 0;
		xmax = (int)(center + support + 0.5);
		if (xmax > in)
			xmax = in;
		xmax -= xmin;
		for (x = 0; x < xmax; x++) {
			k[x] = lanczos((x + xmin - center + 0.5) * ss);
			ww += k[x];
		}
		for (x = 0; x < ksize; x++) {
			double v = x < xmax && ww != 0.0 ? k[x] / ww :
				x < xmax ? k[x] : 0.0;

			kk[(size_t)xx * ksize + x] = v < 0 ?
				(int32_t)(-0.5 + v * (1 << PRECISION_BITS)) :
				(int32_t)(0.5 + v * (1 << PRECISION_BITS));
		}
		bounds[xx * 2] = xmin;
		bounds[xx * 2 + 1] = xmax;
	}
	free(k);
	*boundsp = bounds;
	*kkp = kk;
	return ksize;
}

static uint8_t
clip8(int32_t v)
{
	if (v >= (1 << PRECISION_BITS << 8))
		return 255;
	if (v <= 0)
		return 0;
	return (uint8_t)(v >> PRECISION_BITS);
}

/* dst [rows, out] from src [rows, in], 3 channels, along the rows. */
static void
pass_h(const uint8_t *src, int in, uint8_t *dst, int out, int rows,
	const int *bounds, const int32_t *kk, int ksize)
{
	int y, xx, x, c;

	for (y = 0; y < rows; y++) {
		const uint8_t *s = src + (size_t)y * in * 3;
		uint8_t *d = dst + (size_t)y * out * 3;

		for (xx = 0; xx < out; xx++) {
			const int32_t *k = kk + (size_t)xx * ksize;
			const uint8_t *p = s + (size_t)bounds[2 * xx] * 3;

			for (c = 0; c < 3; c++) {
				int32_t acc = 1 << (PRECISION_BITS - 1);

				for (x = 0; x < bounds[2 * xx + 1]; x++)
					acc += p[x * 3 + c] * k[x];
				d[xx * 3 + c] = clip8(acc);
			}
		}
	}
}

/* dst [out, cols] from src [in, cols], 3 channels, down the columns. */
static void
pass_v(const uint8_t *src, uint8_t *dst, int out, int cols,
	const int *bounds, const int32_t *kk, int ksize)
{
	size_t row = (size_t)cols * 3;
	int yy, y, i;

	for (yy = 0; yy < out; yy++) {
		const int32_t *k = kk + (size_t)yy * ksize;
		const uint8_t *s = src + (size_t)bounds[2 * yy] * row;
		uint8_t *d = dst + (size_t)yy * row;

		for (i = 0; i < (int)row; i++) {
			int32_t acc = 1 << (PRECISION_BITS - 1);

			for (y = 0; y < bounds[2 * yy + 1]; y++)
				acc += s[(size_t)y * row + i] * k[y];
			d[i] = clip8(acc);
		}
	}
}

int
resample_lanczos_rgb(const uint8_t *src, int sw, int sh, int dw, int dh,
	uint8_t **dst, char *err, size_t errlen)
{
	int *bh = NULL, *bv = NULL, kh = 0, kv = 0, rc = -1;
	int32_t *kkh = NULL, *kkv = NULL;
	uint8_t *tmp = NULL, *out = NULL;

	*dst = NULL;
	if (sw < 1 || sh < 1 || dw < 1 || dh < 1 || sw > RESAMPLE_MAX_SIDE ||
	    sh > RESAMPLE_MAX_SIDE || dw > RESAMPLE_MAX_SIDE ||
	    dh > RESAMPLE_MAX_SIDE) {
		snprintf(err, errlen, "lanczos: cannot resize %dx%d to %dx%d "
			"(sides 1 to %d)", sw, sh, dw, dh, RESAMPLE_MAX_SIDE);
		return -1;
	}
	out = malloc((size_t)dw * dh * 3);
	if (out == NULL)
		goto oom;
	if (sw == dw && sh == dh) {
		memcpy(out, src, (size_t)dw * dh * 3);
		*dst = out;
		return 0;
	}
	/* Pillow skips a pass whose axis keeps its size: the 8-bit
	 * rounding between passes happens only when both run. */
	if (sw != dw) {
		kh = coeffs(sw, dw, &bh, &kkh);
		if (kh < 0)
			goto oom;
	}
	if (sh != dh) {
		kv = coeffs(sh, dh, &bv, &kkv);
		if (kv < 0)
			goto oom;
	}
	if (sw != dw && sh != dh) {
		tmp = malloc((size_t)dw * sh * 3);
		if (tmp == NULL)
			goto oom;
		pass_h(src, sw, tmp, dw, sh, bh, kkh, kh);
		pass_v(tmp, out, dh, dw, bv, kkv, kv);
	} else if (sw != dw) {
		pass_h(src, sw, out, dw, sh, bh, kkh, kh);
	} else {
		pass_v(src, out, dh, dw, bv, kkv, kv);
	}
	*dst = out;
	out = NULL;
	rc = 0;
	goto done;
oom:
	snprintf(err, errlen, "lanczos: out of memory resizing %dx%d to "
		"%dx%d", sw, sh, dw, dh);
done:
	free(out);
	free(tmp);
	free(bh);
	free(bv);
	free(kkh);
	free(kkv);
	return rc;
}
