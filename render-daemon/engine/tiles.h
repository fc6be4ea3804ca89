/* tiles.h - cutting an image into overlapping tiles, for the passes that
 * run in tiles within a memory budget (the VAE's, the upscalers'): how
 * many, where each starts, and the crop that feeds one. The blending of
 * their results is op_tile_accum / op_tile_norm's (ops.h). */
#ifndef KILN_TILES_H
#define KILN_TILES_H

#include "tensor.h"

/* Tiles of n along an axis of len with at least ov overlap (1 when n
 * covers it). */
int tile_count(int len, int n, int ov);

/* Start of tile i of cnt, spread evenly so every overlap is >= ov. */
int tile_start(int i, int cnt, int len, int n);

/* dst [N, C, th, tw] = src [N, C, h, w][:, :, y0:, x0:]. Returns 0, or
 * -1 with rt_error(). */
int tile_crop(const struct ktensor *src, struct ktensor *dst, int y0,
	int x0);

#endif
