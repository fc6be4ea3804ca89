/* imginputs.h - the images of an img2img, inpainting or outpainting
 * render made ready for pipeline_generate, one way for kiln-render and
 * kilnd: the mask from its image (and inverted), the outpaint's canvas,
 * the init image fitted by AUTOMATIC1111's resize mode, and the size an
 * inpaint renders at when none is given. */
#ifndef KILN_IMGINPUTS_H
#define KILN_IMGINPUTS_H

#include <stddef.h>
#include <stdint.h>

#include "inpaint.h"
#include "pipeline.h"

/* A1111's resize_mode: how the init image meets width x height. */
enum gen_resize { RESIZE_JUST = 0, RESIZE_CROP = 1, RESIZE_FILL = 2 };

struct gen_inputs {
	uint8_t *init;			/* RGB8 w x h (owned), or NULL */
	int w, h;
	uint8_t *mask;			/* grey w x h (owned), or NULL */
	int outpaint[OUT_SIDES];	/* pixels to add on each side */
	int invert;			/* repaint where the mask is black */
	enum gen_resize resize;
};

/* Frees the images and zeroes in; accepts NULL. */
void gen_inputs_free(struct gen_inputs *in);

/* The mask of in from an image of mw x mh RGB8 (its grey level,
 * inpaint_mask_from_rgb), which must be the init's size. Returns 0, or
 * -1 with a message starting "mask:" in err. */
int gen_inputs_set_mask(struct gen_inputs *in, const uint8_t *rgb, int mw,
	int mh, char *err, size_t errlen);

/*
 * Readies in for gp: inverts the mask, makes the outpaint's canvas (the
 * new area its mask), fits the init image (and mask) to gp's width x
 * height by the resize mode when it is crop or fill (just resize is left
 * to the pipeline, which stretches), and points gp's init_rgb, init_w,
 * init_h and mask at in's images (in must outlive the render). An
 * inpaint renders each side not given (width_given, height_given 0; not
 * only_masked) at the init's, to the nearest multiple of grid. Returns
 * 0, or -1 with a message naming the field in err.
 */
int gen_inputs_apply(struct gen_inputs *in, int grid, int width_given,
	int height_given, struct gen_params *gp, char *err, size_t errlen);

/* A1111's images.resize_image on RGB8 (Pillow's Lanczos): mode 0
 * stretches to dw x dh; 1 scales to cover and crops the middle; 2 scales
 * to fit and fills the rest with the edge rows or columns stretched
 * out. Returns 0 with a malloc'd *out, or -1 with a message in err. */
int gen_resize_rgb(const uint8_t *src, int sw, int sh, int dw, int dh,
	enum gen_resize mode, uint8_t **out, char *err, size_t errlen);

#endif
