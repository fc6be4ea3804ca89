/* upscaler.h - super-resolution models from .safetensors: the ESRGAN
 * family's RRDBNet (Real-ESRGAN x4plus / x2plus names, and the original
 * ESRGAN repository's names of most community 4x models) and the compact
 * SRVGGNet (realesr-general-x4v3), run whole or in blended overlapping
 * tiles within a memory budget; and the whole-image path the command
 * line and the hires fix use, A1111's: the model, then Lanczos to the
 * asked size. */
#ifndef KILN_UPSCALER_H
#define KILN_UPSCALER_H

#include <stddef.h>
#include <stdint.h>

#include "ops.h"

enum up_arch { UP_RRDBNET, UP_SRVGG };

struct up_config {
	enum up_arch arch;
	int in_ch, out_ch;	/* image channels, 3 */
	int num_feat;		/* width of the features */
	int scale;		/* output pixels per input pixel, each axis */
	/* RRDBNet */
	int num_block;		/* RRDB blocks in the body (23) */
	int num_grow_ch;	/* dense-block growth (32) */
	int unshuffle;		/* input folded by pixel_unshuffle: 1, 2, 4 */
	int num_up;		/* nearest 2x + conv stages (2) */
	/* SRVGGNet */
	int num_conv;		/* conv + PReLU pairs after the first (32) */
	int slopes;		/* PReLU parameters per layer: num_feat or 1 */
};

struct upscaler;

/* Reads the upscaler in the .safetensors file at path and uploads it to
 * rt's device, the architecture and its sizes told by the tensor names
 * and shapes. Returns 0 with *out (free with upscaler_free), or -1 with a
 * message in err naming the file and what is wrong (not an upscaler, a
 * tensor missing or misshapen, a truncated file). */
int upscaler_load(struct kiln_rt *rt, const char *path,
	struct upscaler **out, char *err, size_t errlen);

/* Frees the model's tensors; accepts NULL. */
void upscaler_free(struct upscaler *u);

const struct up_config *upscaler_config(const struct upscaler *u);

/* "RRDBNet" or "SRVGGNet". */
const char *upscaler_arch_name(enum up_arch a);

/* Runs the model on x [N, 3, H, W] (values in [0, 1]; H and W multiples
 * of the unshuffle factor) into a new tensor *out [N, 3, scale H,
 * scale W], not clamped. When budget > 0 and upscaler_bytes estimates
 * more than budget for the whole image, runs in tiles that fit
 * (upscaler_run_tiled). Returns 0, or -1 with rt_error() set. */
int upscaler_run(struct upscaler *u, const struct ktensor *x, size_t budget,
	struct ktensor **out);

/* The same in tiles of tile x tile input pixels overlapping by at least
 * overlap (0 < overlap <= tile / 2; both rounded down to multiples of
 * the unshuffle factor), spread evenly. Each tile runs with up to
 * overlap pixels of the image around it as context, its output cropped
 * back to the tile and blended with linear ramps across the overlaps:
 * where the network's receptive field is within overlap (SRVGGNet's is
 * num_conv + 2 pixels) the result is the untiled one; RRDBNet's reaches
 * further but fades. A tile covering the image is one untiled run. */
int upscaler_run_tiled(struct upscaler *u, const struct ktensor *x,
	int tile, int overlap, struct ktensor **out);

/* The overlap (context) a tile of that size gets by default: the
 * network's reach where known, at least tile / 4, at most tile / 2. */
int upscaler_overlap(const struct up_config *c, int tile);

/* Estimated device bytes of activations for a run over N images of
 * h x w input pixels (weights not included); a planning figure. */
size_t upscaler_bytes(const struct up_config *c, int N, int h, int w);

/* The largest square tile (a multiple of 8 input pixels, at least 16)
 * whose run with its context (upscaler_overlap's) upscaler_bytes
 * estimates within budget. */
int upscaler_tile_for_budget(const struct up_config *c, int N,
	size_t budget);

/* Upscales the w x h RGB8 image rgb to dw x dh as AUTOMATIC1111 does:
 * with u, the model runs (up to 3 times) while the image is smaller than
 * the target, each run on the image padded by reflection to a multiple
 * of the unshuffle factor, clamped to [0, 1] and rounded to 8 bits;
 * then, or without u, Lanczos (resample.h) gives the exact size. tile
 * > 0 forces tiles of that size (overlap as for upscaler_run_tiled,
 * upscaler_overlap's when 0); else budget as for upscaler_run. Returns 0 with a
 * malloc'd *out, or -1 with a message in err. */
int upscaler_upscale_rgb(struct upscaler *u, const uint8_t *rgb, int w,
	int h, int dw, int dh, size_t budget, int tile, int overlap,
	uint8_t **out, char *err, size_t errlen);

#endif
