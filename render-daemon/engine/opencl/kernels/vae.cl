/* vae.cl - the VAE's own data movement: the bottom/right zero padding of
 * its stride-2 downsampling, clamping the log-variance, and the weighted
 * accumulation that blends overlapping decoded tiles. */

/* y [NC, H+1, W+1] = x [NC, H, W] with a zero row below and a zero column
 * on the right (F.pad(x, (0, 1, 0, 1)) before a stride-2, unpadded conv). */
__kernel void k_pad_br(__global const float *x, __global float *y,
	const uint H, const uint W, const uint total)
{
	uint i = get_global_id(0);
	if (i >= total)
		return;
	uint W1 = W + 1, H1 = H + 1;
	uint xx = i % W1;
	uint yy = (i / W1) % H1;
	uint nc = i / (W1 * H1);
	y[i] = (xx < W && yy < H) ? x[(nc * H + yy) * W + xx] : 0.0f;
}

__kernel void k_clamp(__global float *x, const float lo, const float hi,
	const uint n)
{
	uint i = get_global_id(0);
	if (i < n)
		x[i] = clamp(x[i], lo, hi);
}

/* Ramp weight of row (or column) p of a tile of n pixels: rises linearly
 * over the first r0 pixels when a neighbour overlaps that side (r0 > 0),
 * falls over the last r1 likewise, 1 elsewhere; never 0, so every pixel
 * has weight. */
inline float ramp(uint p, uint n, uint r0, uint r1)
{
	float w = 1.0f;
	if (r0 > 0)
		w = fmin(w, ((float)p + 0.5f) / (float)r0);
	if (r1 > 0)
		w = fmin(w, ((float)(n - p) - 0.5f) / (float)r1);
	return w;
}

/* out [NC, OH, OW] += w * tile [NC, TH, TW] placed at (y0, x0), and
 * wsum [OH, OW] += w, with w the product of the row and column ramps
 * (rt, rb, rl, rr: ramp lengths at the top, bottom, left, right). One work
 * item per tile pixel, looping over NC so that wsum has one writer. */
__kernel void k_tile_accum(__global const float *tile, __global float *out,
	__global float *wsum, const uint NC, const uint TH, const uint TW,
	const uint OH, const uint OW, const uint y0, const uint x0,
	const uint rt, const uint rb, const uint rl, const uint rr)
{
	uint i = get_global_id(0);
	if (i >= TH * TW)
		return;
	uint ty = i / TW, tx = i % TW;
	float w = ramp(ty, TH, rt, rb) * ramp(tx, TW, rl, rr);
	uint o = (y0 + ty) * OW + x0 + tx;
	for (uint c = 0; c < NC; c++)
		out[c * OH * OW + o] += w * tile[c * TH * TW + i];
	wsum[o] += w;
}

/* out [NC, P] /= wsum [P]. */
__kernel void k_tile_norm(__global float *out, __global const float *wsum,
	const uint P, const uint total)
{
	uint i = get_global_id(0);
	if (i < total)
		out[i] /= wsum[i % P];
}
