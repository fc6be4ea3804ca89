/* inpaint.h - the host-side image work around inpainting and outpainting,
 * as AUTOMATIC1111 does it: the mask's blur, the crop of "only masked",
 * the masked content, the latent mask, the canvas of an outpaint and the
 * overlay that pastes the original back outside the feathered mask. All
 * images are 8-bit, RGB interleaved or one grey byte per pixel (a mask:
 * 255 = repaint, 0 = keep). */
#ifndef KILN_INPAINT_H
#define KILN_INPAINT_H

#include <stddef.h>
#include <stdint.h>

/* Masked content, numbered as A1111's inpainting_fill. */
enum inpaint_fill {
	INPAINT_FILL = 0,		/* colours blurred in from around */
	INPAINT_ORIGINAL = 1,		/* the image as it is (default) */
	INPAINT_LATENT_NOISE = 2,	/* the seed's noise in the latent */
	INPAINT_LATENT_NOTHING = 3,	/* a zero latent */
};

/* "fill", "original", "latent-noise", "latent-nothing". */
const char *inpaint_fill_name(enum inpaint_fill f);
/* Returns 0 with *out, or -1 for another name. */
int inpaint_fill_lookup(const char *name, enum inpaint_fill *out);

#define INPAINT_MAX_BLUR 64
#define INPAINT_MAX_PAD 256

/* A mask from an image: each of the n RGB pixels' grey level, the mean
 * of R, G and B, into m (n bytes). */
void inpaint_mask_from_rgb(const uint8_t *rgb, size_t n, uint8_t *m);

/* OpenCV's GaussianBlur of the w x h grey image m in place, as A1111
 * blurs the mask: a separable kernel of sigma pixels and 2 int(2.5 sigma
 * + 0.5) + 1 taps, reflected borders (BORDER_REFLECT_101), rounded to
 * 8 bits after each pass. sigma 0 leaves m as it is. Returns 0, or -1 when
 * out of memory. */
int inpaint_blur_mask(uint8_t *m, int w, int h, int sigma);

/* A rectangle [x0, x1) x [y0, y1). */
struct inpaint_box {
	int x0, y0, x1, y1;
};

/* "Only masked": the box around the mask's non-zero pixels, grown by pad
 * on every side within the image, then widened or heightened to the
 * aspect of rw x rh (the size it is rendered at) while it fits, as A1111's
 * get_crop_region and expand_crop_region do. Returns 0, or -1 when the
 * mask is all zero (nothing to repaint). */
int inpaint_crop_box(const uint8_t *m, int w, int h, int pad, int rw,
    int rh, struct inpaint_box *out);

/* Masked content "fill": every pixel of rgb under the mask (m > 0) takes
 * the colours around it, blurred in at shrinking radii (A1111's
 * masking.fill); pixels outside it stay. Returns 0, or -1 when out of
 * memory. */
int inpaint_fill_colors(uint8_t *rgb, const uint8_t *m, int w, int h);

/* The latent mask: the w x h mask averaged over each f x f cell (the VAE's
 * factor) and rounded to 0 or 1 (A1111's mask_round), lw x lh floats. */
void inpaint_latent_mask(const uint8_t *m, int w, int h, int f, float *lat);

/* The overlay: out = gen where alpha is 255, orig where it is 0 (exactly),
 * blended in between; n pixels of RGB, alpha one byte each. */
void inpaint_overlay(uint8_t *out, const uint8_t *gen, const uint8_t *orig,
    const uint8_t *alpha, size_t n);

/* Outpainting: the sides of a canvas to add. */
enum { OUT_LEFT, OUT_RIGHT, OUT_UP, OUT_DOWN, OUT_SIDES };
#define OUTPAINT_MAX 1024

/* "left", "right", "up", "down" (also "top", "bottom"). Returns the side,
 * or -1. */
int outpaint_side_lookup(const char *name);

/* The canvas of an outpaint: the w x h image rgb with pad[side] pixels
 * added on each side, grown further on the padded sides (right and down
 * when both of an axis are) to a multiple of grid, the new area filled
 * with the edge's colours (A1111's fill) and white in the mask, the
 * original's pixels black. Returns 0 with malloc'd *canvas (RGB) and
 * *mask (grey) of *cw x *ch, or -1 with a message naming the field in
 * err. */
int outpaint_canvas(const uint8_t *rgb, int w, int h,
    const int pad[OUT_SIDES], int grid, uint8_t **canvas, uint8_t **mask,
    int *cw, int *ch, char *err, size_t errlen);

#endif
