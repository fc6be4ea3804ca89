/* inpaint.c - the host-side image work around inpainting and outpainting
 * (inpaint.h), after AUTOMATIC1111's processing.py and masking.py. */
#include "inpaint.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const fill_names[] = {
	[INPAINT_FILL] = "fill",
	[INPAINT_ORIGINAL] = "original",
	[INPAINT_LATENT_NOISE] = "latent-noise",
	[INPAINT_LATENT_NOTHING] = "latent-nothing",
};

const char *
inpaint_fill_name(enum inpaint_fill f)
{
	return (unsigned)f < sizeof(fill_names) / sizeof(fill_names[0]) ?
	    fill_names[f] : NULL;
}

int
inpaint_fill_lookup(const char *name, enum inpaint_fill *out)
{
	size_t i;

	for (i = 0; i < sizeof(fill_names) / sizeof(fill_names[0]); i++)
		if (strcmp(name, fill_names[i]) == 0) {
			*out = (enum inpaint_fill)i;
			return 0;
		}
	return -1;
}

void
inpaint_mask_from_rgb(const uint8_t *rgb, size_t n, uint8_t *m)
{
	size_t i;

	for (i = 0; i < n; i++)
		m[i] = (uint8_t)((rgb[i * 3] + rgb[i * 3 + 1] + rgb[i * 3 + 2] +
		    1) / 3);
}

/* BORDER_REFLECT_101: ... 2 1 | 0 1 2 ... n-1 | n-2 ... */
static int
reflect101(int i, int n)
{
	if (n == 1)
		return 0;
	while (i < 0 || i >= n)
		i = i < 0 ? -i : 2 * (n - 1) - i;
	return i;
}

/* One pass along an axis: stride 1 along rows (len w, count h) or stride w
 * down columns. */
static void
blur_pass(uint8_t *m, float *line, int len, int count, size_t step,
    size_t next, const float *k, int r)
{
	int i, j, t;

	for (j = 0; j < count; j++) {
		uint8_t *p = m + (size_t)j * next;

		for (i = 0; i < len; i++)
			line[i] = p[(size_t)i * step];
		for (i = 0; i < len; i++) {
			float s = 0.0f;

			for (t = -r; t <= r; t++)
				s += k[t + r] * line[reflect101(i + t, len)];
			p[(size_t)i * step] = (uint8_t)(s < 0.0f ? 0 :
			    s > 255.0f ? 255 : lrintf(s));
		}
	}
}

int
inpaint_blur_mask(uint8_t *m, int w, int h, int sigma)
{
	int r, i, n = w > h ? w : h;
	float *k, *line;
	double sum = 0.0;

	if (sigma <= 0)
		return 0;
	r = (int)(2.5 * sigma + 0.5);
	k = malloc((size_t)(2 * r + 1) * sizeof(float));
	line = malloc((size_t)n * sizeof(float));
	if (k == NULL || line == NULL) {
		free(k);
		free(line);
		return -1;
	}
	/* cv2.getGaussianKernel: exp(-x^2 / (2 sigma^2)), normalised. */
	for (i = -r; i <= r; i++)
		sum += exp(-(double)i * i / (2.0 * sigma * sigma));
	for (i = -r; i <= r; i++)
		k[i + r] = (float)(exp(-(double)i * i /
		    (2.0 * sigma * sigma)) / sum);
	/* A1111 blurs x then y, each through an 8-bit image. */
	blur_pass(m, line, w, h, 1, (size_t)w, k, r);
	blur_pass(m, line, h, w, (size_t)w, 1, k, r);
	free(line);
	free(k);
	return 0;
}

/* Moves [*a, *b) within [0, n) to length want (at most n), centred on
 * where it was, the way expand_crop_region shifts it off the edges. */
static void
expand_axis(int *a, int *b, int want, int n)
{
	int diff = want - (*b - *a);

	if (diff <= 0)
		return;
	*a -= diff / 2;
	*b += diff - diff / 2;
	if (*b > n) {
		*a -= *b - n;
		*b = n;
	}
	if (*a < 0) {
		*b -= *a;
		*a = 0;
	}
	if (*b > n)
		*b = n;
}

int
inpaint_crop_box(const uint8_t *m, int w, int h, int pad, int rw, int rh,
    struct inpaint_box *out)
{
	int x, y, x0 = w, y0 = h, x1 = -1, y1 = -1;
	double bw, bh;

	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++)
			if (m[(size_t)y * (size_t)w + (size_t)x] != 0) {
				x0 = x < x0 ? x : x0;
				x1 = x > x1 ? x : x1;
				y0 = y < y0 ? y : y0;
				y1 = y > y1 ? y : y1;
			}
	if (x1 < 0)
		return -1;
	out->x0 = x0 - pad > 0 ? x0 - pad : 0;
	out->y0 = y0 - pad > 0 ? y0 - pad : 0;
	out->x1 = x1 + 1 + pad < w ? x1 + 1 + pad : w;
	out->y1 = y1 + 1 + pad < h ? y1 + 1 + pad : h;
	bw = out->x1 - out->x0;
	bh = out->y1 - out->y0;
	if (bw / bh > (double)rw / rh)
		expand_axis(&out->y0, &out->y1, (int)(bw * rh / rw), h);
	else
		expand_axis(&out->x0, &out->x1, (int)(bh * rw / rh), w);
	return 0;
}

/* Box blur of radius r along one axis of a w x h image of 4 floats per
 * pixel, edges extended, into dst; pre (len + 1 doubles) holds prefix
 * sums, so a radius far beyond the image costs no more than a small one
 * (the window's part past an edge is that many copies of the edge). */
static void
box_pass(const float *src, float *dst, double *pre, int w, int h, int r,
    int vertical)
{
	int len = vertical ? h : w, count = vertical ? w : h, i, j, c;
	size_t step = vertical ? (size_t)w * 4 : 4,
	    next = vertical ? 4 : (size_t)w * 4;
	double inv = 1.0 / (double)(2 * r + 1);

	for (j = 0; j < count; j++) {
		const float *s = src + (size_t)j * next;
		float *d = dst + (size_t)j * next;

		for (c = 0; c < 4; c++) {
			double first = s[(size_t)c],
			    last = s[(size_t)(len - 1) * step + (size_t)c];

			pre[0] = 0.0;
			for (i = 0; i < len; i++)
				pre[i + 1] = pre[i] +
				    s[(size_t)i * step + (size_t)c];
			for (i = 0; i < len; i++) {
				int lo = i - r, hi = i + r;
				double acc = 0.0;

				if (lo < 0) {
					acc += first * -lo;
					lo = 0;
				}
				if (hi > len - 1) {
					acc += last * (hi - (len - 1));
					hi = len - 1;
				}
				acc += pre[hi + 1] - pre[lo];
				d[(size_t)i * step + (size_t)c] =
				    (float)(acc * inv);
			}
		}
	}
}

int
inpaint_fill_colors(uint8_t *rgb, const uint8_t *m, int w, int h)
{
	/* A1111's passes: (blur radius, how many times it is laid over). */
	static const int passes[][2] = { { 256, 1 }, { 64, 1 }, { 16, 2 },
		{ 4, 4 }, { 2, 2 } };
	size_t n = (size_t)w * (size_t)h, i;
	float *src = malloc(n * 4 * sizeof(float));
	float *a = malloc(n * 4 * sizeof(float));
	float *b = malloc(n * 4 * sizeof(float));
	float *acc = calloc(n * 4, sizeof(float));
	double *pre = malloc((size_t)((w > h ? w : h) + 1) * sizeof(double));
	unsigned p;
	int k, rep;

	if (src == NULL || a == NULL || b == NULL || acc == NULL ||
	    pre == NULL) {
		free(src);
		free(a);
		free(b);
		free(acc);
		free(pre);
		return -1;
	}
	/* Premultiplied colour and alpha of the pixels kept. */
	for (i = 0; i < n; i++) {
		float al = m[i] == 0 ? 1.0f : 0.0f;

		for (k = 0; k < 3; k++)
			src[i * 4 + (size_t)k] = al * rgb[i * 3 + (size_t)k];
		src[i * 4 + 3] = al;
	}
	for (p = 0; p < sizeof(passes) / sizeof(passes[0]); p++) {
		/* Three box passes per axis approximate a Gaussian of sigma
		 * = radius, as PIL's GaussianBlur does. */
		double sg = passes[p][0];
		int r = (int)lrint((sqrt(4.0 * sg * sg + 1.0) - 1.0) / 2.0);

		memcpy(a, src, n * 4 * sizeof(float));
		for (k = 0; k < 3; k++) {
			box_pass(a, b, pre, w, h, r, 0);
			box_pass(b, a, pre, w, h, r, 1);
		}
		/* Alpha-composite the blurred layer over acc, repeats times
		 * (both premultiplied). */
		for (rep = 0; rep < passes[p][1]; rep++)
			for (i = 0; i < n; i++) {
				float al = a[i * 4 + 3], keep = 1.0f - al;

				for (k = 0; k < 4; k++)
					acc[i * 4 + (size_t)k] =
					    a[i * 4 + (size_t)k] +
					    keep * acc[i * 4 + (size_t)k];
			}
	}
	for (i = 0; i < n; i++) {
		float al = acc[i * 4 + 3];

		if (m[i] == 0 || al <= 0.0f)
			continue;
		for (k = 0; k < 3; k++) {
			float v = acc[i * 4 + (size_t)k] / al;

			rgb[i * 3 + (size_t)k] = (uint8_t)(v < 0.0f ? 0 :
			    v > 255.0f ? 255 : lrintf(v));
		}
	}
	free(src);
	free(a);
	free(b);
	free(acc);
	free(pre);
	return 0;
}

void
inpaint_latent_mask(const uint8_t *m, int w, int h, int f, float *lat)
{
	int lw = w / f, lh = h / f, x, y, i, j;

	for (y = 0; y < lh; y++)
		for (x = 0; x < lw; x++) {
			unsigned s = 0;

			for (j = 0; j < f; j++)
				for (i = 0; i < f; i++)
					s += m[(size_t)(y * f + j) *
					    (size_t)w + (size_t)(x * f + i)];
			lat[(size_t)y * (size_t)lw + (size_t)x] =
			    2u * s >= 255u * (unsigned)(f * f) ? 1.0f : 0.0f;
		}
}

void
inpaint_overlay(uint8_t *out, const uint8_t *gen, const uint8_t *orig,
    const uint8_t *alpha, size_t n)
{
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		unsigned a = alpha[i];

		for (k = 0; k < 3; k++) {
			size_t q = i * 3 + (size_t)k;

			out[q] = (uint8_t)((gen[q] * a + orig[q] * (255u - a) +
			    127u) / 255u);
		}
	}
}

int
outpaint_side_lookup(const char *name)
{
	static const char *const names[][2] = {
		[OUT_LEFT] = { "left", "left" },
		[OUT_RIGHT] = { "right", "right" },
		[OUT_UP] = { "up", "top" },
		[OUT_DOWN] = { "down", "bottom" },
	};
	int i;

	for (i = 0; i < OUT_SIDES; i++)
		if (strcmp(name, names[i][0]) == 0 ||
		    strcmp(name, names[i][1]) == 0)
			return i;
	return -1;
}

/* Grows the padding of one axis so that len + a + b is a multiple of
 * grid, on the padded side (b when both are). */
static void
round_axis(int len, int *a, int *b, int grid)
{
	int extra;

	if (*a == 0 && *b == 0)
		return;
	extra = (grid - (len + *a + *b) % grid) % grid;
	if (*b > 0)
		*b += extra;
	else
		*a += extra;
}

int
outpaint_canvas(const uint8_t *rgb, int w, int h, const int pad[OUT_SIDES],
    int grid, uint8_t **canvas, uint8_t **mask, int *cw, int *ch,
    char *err, size_t errlen)
{
	int p[OUT_SIDES], i, y, W, H;
	uint8_t *c = NULL, *m = NULL;

	*canvas = *mask = NULL;
	for (i = 0; i < OUT_SIDES; i++) {
		if (pad[i] < 0 || pad[i] > OUTPAINT_MAX)
			return errf(err, errlen, "outpaint: %d pixels is "
			    "outside 0..%d", pad[i], OUTPAINT_MAX);
		p[i] = pad[i];
	}
	if (p[OUT_LEFT] + p[OUT_RIGHT] + p[OUT_UP] + p[OUT_DOWN] == 0)
		return errf(err, errlen, "outpaint: no side to extend");
	round_axis(w, &p[OUT_LEFT], &p[OUT_RIGHT], grid);
	round_axis(h, &p[OUT_UP], &p[OUT_DOWN], grid);
	W = w + p[OUT_LEFT] + p[OUT_RIGHT];
	H = h + p[OUT_UP] + p[OUT_DOWN];
	c = calloc((size_t)W * (size_t)H, 3);
	m = malloc((size_t)W * (size_t)H);
	if (c == NULL || m == NULL)
		goto oom;
	memset(m, 255, (size_t)W * (size_t)H);
	for (y = 0; y < h; y++) {
		size_t at = (size_t)(y + p[OUT_UP]) * (size_t)W +
		    (size_t)p[OUT_LEFT];

		memcpy(c + at * 3, rgb + (size_t)y * (size_t)w * 3,
		    (size_t)w * 3);
		memset(m + at, 0, (size_t)w);
	}
	if (inpaint_fill_colors(c, m, W, H) != 0)
		goto oom;
	*canvas = c;
	*mask = m;
	*cw = W;
	*ch = H;
	return 0;
oom:
	free(c);
	free(m);
	return errf(err, errlen, "outpaint: out of memory");
}
