/* image.h - the images kiln hands out: PNG files written atomically with an
 * AUTOMATIC1111-style "parameters" text chunk, PNG/JPEG input decoded to
 * RGB, and resizing, all through libgd. */
#ifndef KILN_IMAGE_H
#define KILN_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/* Largest side image_load_rgb accepts: a decoded 16384^2 RGB image is
 * already 768 MB, and nothing in kiln renders larger than 2048. */
#define IMAGE_MAX_SIDE 16384

/* A LoRA as "Lora hashes" records it: its name (as the job named it)
 * and AUTOMATIC1111's short hash of it (12 hex digits). */
struct image_lora {
	const char *name;
	const char *hash;
};

/* What a generated image's "parameters" text records. */
struct image_meta {
	const char *prompt;
	const char *negative;	/* NULL or "": no "Negative prompt:" line */
	int steps;
	const char *sampler;	/* kiln's name: "euler_a", "dpmpp_2m", ... */
	double cfg;
	uint64_t seed;
	int width, height;
	const char *model;	/* NULL or "": no "Model:" field */
	double denoise;		/* img2img strength; 0: txt2img */
	/* Inpainting (inpaint 0: none): "Mask mode: Inpaint not masked"
	 * (mask_invert), "Mask blur" (when not 0), "Inpaint area: Only
	 * masked" and "Masked area padding" (only_masked), "Masked
	 * content" (inpainting_fill 0, 2, 3: fill, latent noise, latent
	 * nothing; 1, original, is not written), as A1111's img2img
	 * writes them. */
	int inpaint, mask_blur, mask_invert, only_masked, masked_pad;
	int inpainting_fill;
	/* One ControlNet (controlnet NULL: none), as sd-webui-controlnet's
	 * "ControlNet 0" records a unit: its module (preprocessor), model,
	 * weight, thresholds (canny) and guidance span. */
	const char *controlnet, *cn_module;
	double cn_weight, cn_low, cn_high, cn_start, cn_end;
	/* The hires fix (hires_scale 0: none): "Hires upscale", "Hires
	 * steps" (0: not written), "Hires upscaler" (kiln's name: latent,
	 * latent-nearest and lanczos are written as A1111 names them). */
	double hires_scale;
	int hires_steps;
	const char *hires_upscaler;
	/* NULL or "": no "Model hash:" field; else A1111's short hash of
	 * the checkpoint (10 hex digits). */
	const char *model_hash;
	/* The LoRAs applied whose hash is known, for "Lora hashes". */
	const struct image_lora *loras;
	int nloras;
	/* The textual-inversion embeddings the prompts used whose hash is
	 * known, for "TI hashes" (A1111: the file's SHA-256, 12 digits). */
	const struct image_lora *tis;
	int ntis;
};

/* A1111's display name of a kiln sampler name ("euler_a" -> "Euler a");
 * an unknown name is returned as it is. */
const char *image_sampler_display(const char *name);

/* Builds the A1111 "parameters" text:
 *   PROMPT\nNegative prompt: NEG\nSteps: 20, Sampler: Euler a,
 *   CFG scale: 7, Seed: 1, Size: 512x512[, Model hash: 0123456789],
 *   Model: NAME[, Denoising strength: 0.5][, Mask mode: Inpaint not
 *   masked][, Mask blur: 4][, Inpaint area: Only masked, Masked area
 *   padding: 32][, Masked content: fill][, Hires upscale: 2[, Hires
 *   steps: 10], Hires
 *   upscaler: Latent][, ControlNet 0: "Module: canny, Model: NAME,
 *   Weight: 1, Threshold A: 100, Threshold B: 200, Guidance Start: 0,
 *   Guidance End: 1"][, Lora hashes: "a:
 *   0123456789ab, b: ba9876543210"][, TI hashes: "c: 0123456789ab"]
 * in AUTOMATIC1111's order (processing.py create_infotext: the model
 * hash before the model, the extra networks' hashes after, then the
 * embeddings' that conditioning adds), each list quoted as its infotext
 * quotes a value holding ':' or ','.
 * Returns 0 with a malloc'd string in *out (the caller frees it), or -1
 * when memory runs out. */
int image_parameters_text(const struct image_meta *m, char **out);

/* Encodes w x h RGB8 pixels (row-major, 3 bytes each) as a PNG with, when
 * parameters (UTF-8) is not NULL, a "parameters" chunk right after IHDR,
 * as Pillow's add_text writes it for A1111: tEXt in Latin-1 when every
 * character is one, else an uncompressed iTXt in UTF-8; and
 * writes it to a temporary file beside path which is fsync'd and renamed
 * over path: readers see the old file or the whole new one, never a part.
 * Returns 0, or -1 with a message naming the path in err; nothing is then
 * left behind. */
int image_write_png(const char *path, int w, int h, const uint8_t *rgb,
    const char *parameters, char *err, size_t errlen);

/* The same PNG in memory: returns 0 with a malloc'd *png of *len bytes,
 * or -1 with a message in err. */
int image_encode_png(int w, int h, const uint8_t *rgb,
    const char *parameters, uint8_t **png, size_t *len, char *err,
    size_t errlen);

/* Decodes a PNG or JPEG (told apart by their magic bytes, not the name)
 * into RGB8 (alpha dropped). Returns 0 with a malloc'd *rgb (the caller
 * frees it) and its size, or -1 with a message naming the file. */
int image_load_rgb(const char *path, int *w, int *h, uint8_t **rgb,
    char *err, size_t errlen);

/* The same over bytes in memory; name is used in messages. */
int image_decode_rgb(const void *data, size_t len, const char *name,
    int *w, int *h, uint8_t **rgb, char *err, size_t errlen);

/* Resamples sw x sh RGB8 to dw x dh (libgd's gdImageCopyResampled; a copy
 * when the sizes agree). Returns 0 with a malloc'd *dst, or -1 with a
 * message in err. */
int image_resize_rgb(const uint8_t *src, int sw, int sh, int dw, int dh,
    uint8_t **dst, char *err, size_t errlen);

#endif
