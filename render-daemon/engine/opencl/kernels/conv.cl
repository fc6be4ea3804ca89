/* conv.cl - im2col for convolution as GEMM, one band of output lines at a
 * time: x [C, H, W] (one sample, at element offset xoff) to
 * col [C * KH * KW, HO * WO], zero where the window hangs over the
 * padding. */

__kernel void k_im2col(__global const float *x, const uint xoff,
	__global float *col, const uint C, const uint H, const uint W,
	const uint KH, const uint KW, const uint stride, const uint pad,
	const uint oy0, const uint BR, const uint WO)
{
	/* One work item per (row of col, output line): WO contiguous
	 * writes, no divisions in the inner loop. The band holds output
	 * lines oy0 .. oy0 + BR - 1, so col is [C*KH*KW, BR*WO]. */
	uint by = get_global_id(0);
	uint row = get_global_id(1);	/* (c, ky, kx) */
	if (by >= BR || row >= C * KH * KW)
		return;
	uint oy = oy0 + by;
	uint kx = row % KW;
	uint ky = (row / KW) % KH;
	uint c = row / (KW * KH);
	int iy = (int)(oy * stride) - (int)pad + (int)ky;
	__global float *out = col + (size_t)row * BR * WO + (size_t)by * WO;
	if (iy < 0 || iy >= (int)H) {
		for (uint ox = 0; ox < WO; ox++)
			out[ox] = 0.0f;
		return;
	}
	__global const float *in = x + xoff + ((size_t)c * H + iy) * W;
	int ix = (int)kx - (int)pad;
	if (stride == 1) {
		/* The line is a shifted copy of an input row: zeros where
		 * the window hangs over the padding, 16 floats at a time in
		 * between (the element-wise loop below took 11% of a VAE
		 * decode). */
		uint lo = ix < 0 ? (uint)-ix : 0;
		uint hi = (int)W - ix < (int)WO ? (uint)((int)W - ix) : WO;
		uint ox = 0;

		if (lo > WO)
			lo = WO;
		if (hi < lo)
			hi = lo;
		for (; ox < lo; ox++)
			out[ox] = 0.0f;
		for (; ox + 16 <= hi; ox += 16)
			vstore16(vload16(0, in + (int)ox + ix), 0, out + ox);
		for (; ox < hi; ox++)
			out[ox] = in[(int)ox + ix];
		for (; ox < WO; ox++)
			out[ox] = 0.0f;
		return;
	}
	for (uint ox = 0; ox < WO; ox++, ix += (int)stride)
		out[ox] = (ix >= 0 && ix < (int)W) ? in[ix] : 0.0f;
}
