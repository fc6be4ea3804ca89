/* fuzz_inpaint.c - the host side of inpainting and outpainting
 * (inpaint.h) on any small mask and image: the blur, the "only masked"
 * box, the fill, the latent mask, the overlay and an outpaint's canvas
 * never read or write out of bounds, and keep their promises: the box
 * lies in the image and holds every masked pixel, the fill leaves kept
 * pixels alone, the overlay is the original wherever alpha is 0, the
 * canvas holds the image exactly where its mask is black. Input: w, h,
 * blur, pad, render w and h, four pads (one byte each), then mask bytes
 * and pixels, repeated as needed. */
#include "fuzz.h"
#include "inpaint.h"

#include <string.h>

static uint8_t
at(const uint8_t *d, size_t n, size_t i)
{
	return n > 0 ? d[i % n] : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int w, h, blur, pad, rw, rh, p[OUT_SIDES], k, cw, ch, x, y;
	size_t n, i;
	uint8_t *m, *m0, *rgb, *rgb0, *out, *canvas = NULL, *cmask = NULL;
	float *lat;
	struct inpaint_box b;
	char err[256];

	if (size < 10)
		return 0;
	w = 1 + data[0] % 48;
	h = 1 + data[1] % 48;
	blur = data[2] % 9;
	pad = data[3] % 40;
	rw = 8 * (1 + data[4] % 8);
	rh = 8 * (1 + data[5] % 8);
	for (k = 0; k < OUT_SIDES; k++)
		p[k] = data[6 + k] % 20;
	data += 10;
	size -= 10;
	n = (size_t)w * (size_t)h;
	m = malloc(n);
	m0 = malloc(n);
	rgb = malloc(n * 3);
	rgb0 = malloc(n * 3);
	out = malloc(n * 3);
	lat = malloc(n * sizeof(float));
	CHECK(m && m0 && rgb && rgb0 && out && lat);
	for (i = 0; i < n; i++)
		m[i] = at(data, size, i) > 127 ? at(data, size, i) : 0;
	for (i = 0; i < n * 3; i++)
		rgb[i] = at(data, size, n + i);
	memcpy(m0, m, n);
	memcpy(rgb0, rgb, n * 3);

	CHECK(inpaint_blur_mask(m, w, h, blur) == 0);
	for (i = 0; i < n; i++)	/* a blur never clears a masked pixel */
		CHECK(m0[i] < 255 || m[i] > 0 || blur == 0);
	if (inpaint_crop_box(m, w, h, pad, rw, rh, &b) == 0) {
		CHECK(0 <= b.x0 && b.x0 < b.x1 && b.x1 <= w);
		CHECK(0 <= b.y0 && b.y0 < b.y1 && b.y1 <= h);
		for (y = 0; y < h; y++)
			for (x = 0; x < w; x++)
				if (m[(size_t)y * (size_t)w + (size_t)x])
					CHECK(x >= b.x0 && x < b.x1 &&
					    y >= b.y0 && y < b.y1);
	} else {
		for (i = 0; i < n; i++)
			CHECK(m[i] == 0);
	}
	CHECK(inpaint_fill_colors(rgb, m, w, h) == 0);
	for (i = 0; i < n; i++)
		if (m[i] == 0)
			CHECK(!memcmp(rgb + i * 3, rgb0 + i * 3, 3));
	if (w >= 4 && h >= 4) {
		inpaint_latent_mask(m, w, h, 4, lat);
		for (i = 0; i < (size_t)(w / 4) * (size_t)(h / 4); i++)
			CHECK(lat[i] == 0.0f || lat[i] == 1.0f);
	}
	inpaint_overlay(out, rgb, rgb0, m, n);
	for (i = 0; i < n; i++) {
		if (m[i] == 0)
			CHECK(!memcmp(out + i * 3, rgb0 + i * 3, 3));
		if (m[i] == 255)
			CHECK(!memcmp(out + i * 3, rgb + i * 3, 3));
	}
	if (outpaint_canvas(rgb0, w, h, p, 8, &canvas, &cmask, &cw, &ch, err,
	    sizeof(err)) == 0) {
		int ox = p[OUT_LEFT], oy = p[OUT_UP];

		CHECK(cw >= w + p[OUT_LEFT] + p[OUT_RIGHT]);
		CHECK(ch >= h + p[OUT_UP] + p[OUT_DOWN]);
		CHECK(cw - (w + p[OUT_LEFT] + p[OUT_RIGHT]) < 8);
		CHECK(ch - (h + p[OUT_UP] + p[OUT_DOWN]) < 8);
		/* The growth to the grid goes right (down), or left (up)
		 * when only that side was asked for. */
		if (p[OUT_LEFT] > 0 && p[OUT_RIGHT] == 0)
			ox = cw - w;
		if (p[OUT_UP] > 0 && p[OUT_DOWN] == 0)
			oy = ch - h;
		for (y = 0; y < ch; y++)
			for (x = 0; x < cw; x++) {
				size_t q = (size_t)y * (size_t)cw + (size_t)x;
				int sx = x - ox, sy = y - oy;
				int in = sx >= 0 && sx < w && sy >= 0 &&
				    sy < h;

				if (!in) {
					CHECK(cmask[q] == 255);
					continue;
				}
				CHECK(cmask[q] == 0);
				CHECK(!memcmp(canvas + q * 3, rgb0 +
				    ((size_t)sy * (size_t)w + (size_t)sx) * 3,
				    3));
			}
	} else {
		CHECK(strncmp(err, "outpaint:", 9) == 0);
	}
	free(canvas);
	free(cmask);
	free(m);
	free(m0);
	free(rgb);
	free(rgb0);
	free(out);
	free(lat);
	return 0;
}
