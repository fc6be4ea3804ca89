/* canny.c - OpenCV's Canny (imgproc/src/canny.cpp, the CPU path with
 * aperture 3 and the L1 gradient) rewritten for one thread: the same
 * integers, so the same edges. */
#include "canny.h"
#include "image.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>

/* tan(22.5 degrees) in 15-bit fixed point, as canny.cpp's TG22. */
#define TG22 13573

/* What non-maximum suppression leaves in the map (canny.cpp's values):
 * a pixel that may join an edge, one that cannot, one on an edge. */
enum { MAYBE = 0, NOT_EDGE = 1, EDGE = 2 };

int
canny_edges(const uint8_t *img, int w, int h, int channels, double low,
	double high, uint8_t *out, char *err, size_t errlen)
{
	size_t n, mw = (size_t)w + 2, i, top = 0;
	short *dx = NULL, *dy = NULL;
	int *mag = NULL, lo, hi, x, y, c, rc = -1;
	uint8_t *map = NULL;
	size_t *stack = NULL;

	if (w < 1 || h < 1 || w > 65536 || h > 65536 ||
	    (channels != 1 && channels != 3))
		return errf(err, errlen, "canny: a %dx%d image of %d channels "
			"(1 or 3 channels, sides 1 to 65536)", w, h, channels);
	if (low > high) {
		double t = low;

		low = high;
		high = t;
	}
	/* cvFloor of the thresholds; the magnitudes are at most 2040. */
	lo = low < -1e9 ? -1000000000 : low > 1e9 ? 1000000000 :
		(int)floor(low);
	hi = high < -1e9 ? -1000000000 : high > 1e9 ? 1000000000 :
		(int)floor(high);
	n = (size_t)w * (size_t)h;
	dx = malloc(n * sizeof(*dx));
	dy = malloc(n * sizeof(*dy));
	mag = malloc(n * sizeof(*mag));
	map = malloc(mw * ((size_t)h + 2));
	stack = malloc(n * sizeof(*stack));
	if (!dx || !dy || !mag || !map || !stack) {
		errf(err, errlen, "canny: out of memory for a %dx%d image", w,
			h);
		goto out;
	}
	/* Sobel per channel, replicated borders; the strongest channel. */
	for (y = 0; y < h; y++) {
		const uint8_t *r0 = img + (size_t)(y > 0 ? y - 1 : 0) * w *
			channels, *r1 = img + (size_t)y * w * channels,
			*r2 = img + (size_t)(y < h - 1 ? y + 1 : y) * w *
			channels;

		for (x = 0; x < w; x++) {
			size_t l = (size_t)(x > 0 ? x - 1 : 0) * channels,
				m = (size_t)x * channels,
				r = (size_t)(x < w - 1 ? x + 1 : x) * channels;
			int best = -1, bx = 0, by = 0;

			for (c = 0; c < channels; c++) {
				int gx = (r0[r + c] + 2 * r1[r + c] + r2[r + c]) -
					(r0[l + c] + 2 * r1[l + c] + r2[l + c]);
				int gy = (r2[l + c] + 2 * r2[m + c] + r2[r + c]) -
					(r0[l + c] + 2 * r0[m + c] + r0[r + c]);
				int g = abs(gx) + abs(gy);

				if (g > best) {
					best = g;
					bx = gx;
					by = gy;
				}
			}
			i = (size_t)y * w + x;
			dx[i] = (short)bx;
			dy[i] = (short)by;
			mag[i] = best;
		}
	}
	/* Non-maximum suppression and the double threshold. The map has a
	 * border of NOT_EDGE so that hysteresis needs no bounds checks. */
#define MAG(yy, xx) ((yy) < 0 || (yy) >= h || (xx) < 0 || (xx) >= w ? 0 : \
	mag[(size_t)(yy) * w + (xx)])
	for (i = 0; i < mw; i++) {
		map[i] = NOT_EDGE;
		map[((size_t)h + 1) * mw + i] = NOT_EDGE;
	}
	for (y = 0; y < h; y++) {
		uint8_t *pm = map + ((size_t)y + 1) * mw + 1;

		pm[-1] = pm[w] = NOT_EDGE;
		for (x = 0; x < w; x++) {
			int m, ax, ay, tg22x, s, peak = 0;

			i = (size_t)y * w + x;
			m = mag[i];
			pm[x] = NOT_EDGE;
			if (m <= lo)
				continue;
			ax = abs(dx[i]);
			ay = abs(dy[i]) << 15;
			tg22x = ax * TG22;
			if (ay < tg22x) {
				peak = m > MAG(y, x - 1) && m >= MAG(y, x + 1);
			} else if (ay > tg22x + (ax << 16)) {
				peak = m > MAG(y - 1, x) && m >= MAG(y + 1, x);
			} else {
				s = (dx[i] ^ dy[i]) < 0 ? -1 : 1;
				peak = m > MAG(y - 1, x - s) &&
					m > MAG(y + 1, x + s);
			}
			if (!peak)
				continue;
			if (m > hi) {
				pm[x] = EDGE;
				stack[top++] = (size_t)(pm + x - map);
			} else {
				pm[x] = MAYBE;
			}
		}
	}
#undef MAG
	/* Hysteresis: edges grow into 8-connected MAYBE pixels. Each pixel
	 * is pushed once (it is EDGE from then on), so n entries do. */
	while (top > 0) {
		size_t p = stack[--top];
		size_t nb[8] = { p - mw - 1, p - mw, p - mw + 1, p - 1, p + 1,
			p + mw - 1, p + mw, p + mw + 1 };
		int k;

		for (k = 0; k < 8; k++)
			if (map[nb[k]] == MAYBE) {
				map[nb[k]] = EDGE;
				stack[top++] = nb[k];
			}
	}
	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++)
			out[(size_t)y * w + x] = map[((size_t)y + 1) * mw + 1 +
				(size_t)x] == EDGE ? 255 : 0;
	rc = 0;
out:
	free(dx);
	free(dy);
	free(mag);
	free(map);
	free(stack);
	return rc;
}

int
canny_hint_rgb(const uint8_t *rgb, int w, int h, int width, int height,
	double low, double high, uint8_t **out, char *err, size_t errlen)
{
	uint8_t *img = NULL, *edges;
	size_t n = (size_t)width * (size_t)height, i;

	*out = NULL;
	/* Resized first, then the edges found at the size the ControlNet
	 * sees them (A1111 resizes to the preprocessor resolution before
	 * canny too). */
	if (image_resize_rgb(rgb, w, h, width, height, &img, err,
	    errlen) != 0)
		return -1;
	edges = malloc(n);
	if (edges == NULL) {
		free(img);
		return errf(err, errlen, "out of memory");
	}
	if (canny_edges(img, width, height, 3, low, high, edges, err,
	    errlen) != 0) {
		free(img);
		free(edges);
		return -1;
	}
	for (i = 0; i < n; i++)
		img[3 * i] = img[3 * i + 1] = img[3 * i + 2] = edges[i];
	free(edges);
	*out = img;
	return 0;
}
