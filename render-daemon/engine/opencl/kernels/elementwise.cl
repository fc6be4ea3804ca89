/* elementwise.cl - pointwise and data-movement kernels: add, mul,
 * activations, GEGLU, concat, upsample, pixel (un)shuffle, transpose,
 * broadcast fills, timestep embedding. One work item per output
 * element. */

__kernel void k_add(__global const float *a, __global const float *b,
	__global float *y, const uint n)
{
	uint i = get_global_id(0);
	if (i < n)
		y[i] = a[i] + b[i];
}

__kernel void k_mul(__global const float *a, __global const float *b,
	__global float *y, const uint n)
{
	uint i = get_global_id(0);
	if (i < n)
		y[i] = a[i] * b[i];
}

__kernel void k_scale(__global const float *x, __global float *y,
	const float s, const uint n)
{
	uint i = get_global_id(0);
	if (i < n)
		y[i] = x[i] * s;
}

/* y[n, c, p] = x[n, c, p] + v[n * vstride + c]: a per-channel bias
 * (vstride 0) or a per-sample, per-channel vector such as a time
 * embedding (vstride C). */
__kernel void k_add_channel(__global const float *x, __global const float *v,
	__global float *y, const uint C, const uint HW, const uint vstride,
	const uint total)
{
	uint i = get_global_id(0);
	if (i >= total)
		return;
	uint c = (i / HW) % C;
	uint n = i / (HW * C);
	y[i] = x[i] + v[n * vstride + c];
}

/* y[r, j] = b[j]: seeds an output with its bias before a GEMM with
 * beta = 1. */
__kernel void k_fill_rows(__global const float *b, __global float *y,
	const uint D, const uint total)
{
	uint i = get_global_id(0);
	if (i < total)
		y[i] = b[i % D];
}

inline float gelu_erf(float x)
{
	return 0.5f * x * (1.0f + erf(x * 0.70710678118654752f));
}

/* kind: 0 SiLU, 1 GELU (erf), 2 quick-GELU (x * sigmoid(1.702 x)),
 * 3 GELU (tanh approximation). */
__kernel void k_act(__global const float *x, __global float *y,
	const uint n, const int kind)
{
	uint i = get_global_id(0);
	if (i >= n)
		return;
	float v = x[i];
	float r;
	if (kind == 0)
		r = v / (1.0f + exp(-v));
	else if (kind == 1)
		r = gelu_erf(v);
	else if (kind == 2)
		r = v / (1.0f + exp(-1.702f * v));
	else
		r = 0.5f * v * (1.0f + tanh(0.7978845608028654f *
			(v + 0.044715f * v * v * v)));
	y[i] = r;
}

/* erf by Abramowitz and Stegun 7.1.26 (|error| < 1.5e-7, about float's
 * resolution near 1): one exp and a polynomial, which vectorise, where
 * PoCL's erf is a scalar call per element. */
inline float erf_as(float x)
{
	float a = fabs(x), t = 1.0f / (1.0f + 0.3275911f * a);
	float p = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f +
		t * (-1.453152027f + t * 1.061405429f))));
	return copysign(1.0f - p * exp(-a * a), x);
}

/* GEGLU as diffusers writes it: x [rows, 2D] splits into (h, gate) along
 * the last axis; y = h * gelu(gate). Dimension 0 runs along a row, 1 over
 * the rows: no division per element. */
__kernel void k_geglu(__global const float *x, __global float *y,
	const uint D, const uint rows)
{
	uint j = get_global_id(0), r = get_global_id(1);
	if (j >= D || r >= rows)
		return;
	__global const float *row = x + (size_t)r * 2 * D;
	float g = row[D + j];
	y[(size_t)r * D + j] = row[j] * 0.5f * g *
		(1.0f + erf_as(g * 0.70710678118654752f));
}

/* Channel concat: y [N, C1 + C2, HW] from a [N, C1, HW] and b [N, C2, HW]. */
__kernel void k_concat_ch(__global const float *a, __global const float *b,
	__global float *y, const uint C1, const uint C2, const uint HW,
	const uint total)
{
	uint i = get_global_id(0);
	if (i >= total)
		return;
	uint C = C1 + C2;
	uint p = i % HW;
	uint c = (i / HW) % C;
	uint n = i / (HW * C);
	y[i] = c < C1 ? a[((size_t)n * C1 + c) * HW + p]
		: b[((size_t)n * C2 + (c - C1)) * HW + p];
}

/* Nearest-neighbour 2x upsampling: [NC, H, W] -> [NC, 2H, 2W]. */
__kernel void k_upsample2x(__global const float *x, __global float *y,
	const uint H, const uint W, const uint total)
{
	uint i = get_global_id(0);
	if (i >= total)
		return;
	uint W2 = 2 * W, H2 = 2 * H;
	uint ox = i % W2;
	uint oy = (i / W2) % H2;
	uint nc = i / (W2 * H2);
	y[i] = x[((size_t)nc * H + oy / 2) * W + ox / 2];
}

/* LeakyReLU with slope s (ESRGAN's RRDBNet: 0.2). */
__kernel void k_leaky_relu(__global const float *x, __global float *y,
	const float s, const uint n)
{
	uint i = get_global_id(0);
	if (i >= n)
		return;
	float v = x[i];
	y[i] = v > 0.0f ? v : s * v;
}

/* PReLU over [N, C, HW]: the slope of channel c is a[c], or a[0] for
 * every channel when C is 1 (one shared parameter). */
__kernel void k_prelu(__global const float *x, __global const float *a,
	__global float *y, const uint C, const uint HW, const uint n)
{
	uint i = get_global_id(0);
	if (i >= n)
		return;
	float v = x[i];
	y[i] = v > 0.0f ? v : a[C == 1 ? 0 : (i / HW) % C] * v;
}

/* Pixel shuffle by r: x [N, C r^2, H, W] -> y [N, C, H r, W r]. */
__kernel void k_pixel_shuffle(__global const float *x, __global float *y,
	const uint C, const uint H, const uint W, const uint r,
	const uint total)
{
	uint i = get_global_id(0);
	if (i >= total)
		return;
	uint Wr = W * r, Hr = H * r;
	uint ox = i % Wr, oy = (i / Wr) % Hr, nc = i / (Wr * Hr);
	uint c = nc % C, n = nc / C;
	uint ic = (c * r + oy % r) * r + ox % r;
	y[i] = x[(((size_t)n * C * r * r + ic) * H + oy / r) * W + ox / r];
}

/* Its inverse: x [N, C, H r, W r] -> y [N, C r^2, H, W]. */
__kernel void k_pixel_unshuffle(__global const float *x, __global float *y,
	const uint C, const uint H, const uint W, const uint r,
	const uint total)
{
	uint i = get_global_id(0);
	if (i >= total)
		return;
	uint w = i % W, h = (i / W) % H, noc = i / (W * H);
	uint oc = noc % (C * r * r), n = noc / (C * r * r);
	uint c = oc / (r * r), dy = (oc / r) % r, dx = oc % r;
	y[i] = x[(((size_t)n * C + c) * H * r + h * r + dy) * W * r +
		w * r + dx];
}

/* Batched transpose of the last two axes: x [B, R, C] -> y [B, C, R], in
 * 16 x 16 tiles so both the reads and the writes run along rows; one
 * kernel for 32-bit elements and one for 16-bit ones (float16 weights,
 * moved as raw bits). */
#define TRANSPOSE_KERNEL(NAME, T) \
__kernel void NAME(__global const T *x, __global T *y, const uint R, \
	const uint C) \
{ \
	uint c0 = get_global_id(0) * 16; \
	uint r0 = get_global_id(1) * 16; \
	uint b = get_global_id(2); \
	if (c0 >= C || r0 >= R) \
		return; \
	__global const T *xb = x + (size_t)b * R * C; \
	__global T *yb = y + (size_t)b * R * C; \
	uint rn = min(16u, R - r0), cn = min(16u, C - c0); \
	T t[16][16]; \
	for (uint i = 0; i < rn; i++) \
		for (uint j = 0; j < cn; j++) \
			t[j][i] = xb[(size_t)(r0 + i) * C + c0 + j]; \
	for (uint j = 0; j < cn; j++) \
		for (uint i = 0; i < rn; i++) \
			yb[(size_t)(c0 + j) * R + r0 + i] = t[j][i]; \
}

TRANSPOSE_KERNEL(k_transpose, float)
TRANSPOSE_KERNEL(k_transpose_h, ushort)

/* Per-head transpose for attention: k [B, L, H * d] -> kt [B, H, d, Lp],
 * so Q K^T becomes a plain product with K^T rows along L; columns L..Lp
 * are zeros (the fused kernel reads whole tiles of keys). */
__kernel void k_heads_t(__global const float *k, __global float *kt,
	const uint L, const uint Lp, const uint H, const uint d)
{
	uint l0 = get_global_id(0) * 16;
	uint hj = get_global_id(1);	/* h * d + j */
	uint b = get_global_id(2);
	if (l0 >= Lp || hj >= H * d)
		return;
	uint ln = min(16u, Lp - l0);
	__global const float *src = k + ((size_t)b * L + l0) * H * d + hj;
	__global float *dst = kt + ((size_t)b * H * d + hj) * Lp + l0;
	for (uint i = 0; i < ln; i++)
		dst[i] = l0 + i < L ? src[(size_t)i * H * d] : 0.0f;
}

/* Sinusoidal timestep embedding as diffusers' get_timestep_embedding:
 * half = dim / 2, freq_j = exp(-ln(max_period) * j / (half - shift)),
 * [sin(t f), cos(t f)], swapped to [cos, sin] when flip is set. */
__kernel void k_timestep_embed(__global const float *t, __global float *y,
	const uint dim, const int flip, const float shift,
	const float max_period, const uint total)
{
	uint i = get_global_id(0);
	if (i >= total)
		return;
	uint n = i / dim, j = i % dim;
	uint half_dim = dim / 2;
	if (j >= 2 * half_dim) {	/* odd dim: zero pad */
		y[i] = 0.0f;
		return;
	}
	uint k = j % half_dim;
	float freq = exp(-log(max_period) * (float)k /
		((float)half_dim - shift));
	float a = t[n] * freq;
	int first = j < half_dim;
	if (flip)
		first = !first;
	y[i] = first ? sin(a) : cos(a);
}

/* Token + position embedding: y[b, l, :] = tok[ids[b, l], :] + pos[l, :]. */
__kernel void k_embed(__global const int *ids, __global const float *tok,
	__global const float *pos, __global float *y, const uint L,
	const uint D, const uint total)
{
	uint i = get_global_id(0);
	if (i >= total)
		return;
	uint d = i % D;
	uint bl = i / D;
	uint l = bl % L;
	y[i] = tok[(size_t)ids[bl] * D + d] + pos[(size_t)l * D + d];
}

/* y = x over a 4-D index space [n0, n1, n2, n3] (total = their product),
 * each side with its own element offset and strides: views in and out
 * (a crop, a half of the channels, a plain copy). */
__kernel void k_copy4(__global const float *x, const uint xo,
	const uint x0, const uint x1, const uint x2, const uint x3,
	__global float *y, const uint yo, const uint y0, const uint y1,
	const uint y2, const uint y3, const uint n1, const uint n2,
	const uint n3, const uint total)
{
	uint i = get_global_id(0);
	if (i >= total)
		return;
	uint i3 = i % n3, r = i / n3;
	uint i2 = r % n2;
	r /= n2;
	uint i1 = r % n1, i0 = r / n1;
	y[yo + i0 * y0 + i1 * y1 + i2 * y2 + i3 * y3] =
		x[xo + i0 * x0 + i1 * x1 + i2 * x2 + i3 * x3];
}

__kernel void k_fill(__global float *y, const float v, const uint n)
{
	uint i = get_global_id(0);
	if (i < n)
		y[i] = v;
}
