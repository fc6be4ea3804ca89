/* conv.cl - im2col for convolution as GEMM: x [C, H, W] (one sample, at
 * element offset xoff) to
 * col [C * KH * KW, HO * WO], zero where the window hangs over the
 * padding. */

__kernel void k_im2col(__global const float *x, const uint xoff,
	__global float *col, const uint C, const uint H, const uint W, const uint KH, const uint KW,
	const uint stride, const uint pad, const uint HO, const uint WO,
	const uint total)
{
	uint i = get_global_id(0);
	if (i >= total)
		return;
	uint P = HO * WO;
	uint p = i % P;
	uint row = i / P;		/* (c, ky, kx) */
	uint kx = row % KW;
	uint ky = (row / KW) % KH;
	uint c = row / (KW * KH);
	int oy = (int)(p / WO), ox = (int)(p % WO);
	int iy = oy * (int)stride - (int)pad + (int)ky;
	int ix = ox * (int)stride - (int)pad + (int)kx;
	float v = 0.0f;
	if (iy >= 0 && iy < (int)H && ix >= 0 && ix < (int)W)
		v = x[xoff + ((size_t)c * H + iy) * W + ix];
	col[i] = v;
}
