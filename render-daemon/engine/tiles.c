/* tiles.c - overlapping tiles (tiles.h). */
#include "tiles.h"
#include "ops.h"

int
tile_count(int len, int n, int ov)
{
	if (len <= n)
		return 1;
	return 1 + (len - n + (n - ov) - 1) / (n - ov);
}

int
tile_start(int i, int cnt, int len, int n)
{
	if (cnt == 1)
		return 0;
	return (int)(((int64_t)i * (len - n) + (cnt - 1) / 2) / (cnt - 1));
}

int
tile_crop(const struct ktensor *src, struct ktensor *dst, int y0, int x0)
{
	struct ktensor v;
	int64_t H = src->ne[2], W = src->ne[3];

	if (kt_view_4d(&v, src, dst->ne[0], dst->ne[1], dst->ne[2],
	    dst->ne[3], src->ne[1] * H * W, H * W, W,
	    (size_t)(y0 * W + x0)) != 0)
		return -1;
	return op_copy(&v, dst);
}
