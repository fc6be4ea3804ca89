/* resample.h - model-free image resizing on the host: Lanczos (a = 3)
 * exactly as Pillow's Image.resize(..., Image.LANCZOS) computes it, the
 * resampler AUTOMATIC1111 uses after an upscaler and as its "Lanczos"
 * upscaler. */
#ifndef KILN_RESAMPLE_H
#define KILN_RESAMPLE_H

#include <stddef.h>
#include <stdint.h>

/* Resizes sw x sh RGB8 (3 bytes a pixel, row-major) to dw x dh: a
 * horizontal then a vertical pass of the separable filter, each rounded
 * and clipped to 8 bits in fixed point as Pillow does, so results match
 * Pillow's byte for byte. A copy when the sizes agree. Returns 0 with a
 * malloc'd *dst, or -1 with a message in err (sizes out of range, out of
 * memory). */
int resample_lanczos_rgb(const uint8_t *src, int sw, int sh, int dw, int dh,
	uint8_t **dst, char *err, size_t errlen);

#endif
