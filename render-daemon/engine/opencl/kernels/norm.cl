/* norm.cl - group norm and layer norm. One work group per normalised
 * slice; mean first, then the variance of the deviations (two passes, as
 * exact as a single-pass sum of squares is not). */

#include "reduce.clh"

/* The mean and 1 / sqrt(variance + eps) of x[base, base + len), computed
 * by the whole work group (every item gets both). */
inline float2 wg_mean_rstd(__global const float *x, size_t base, uint len,
	float eps, __local float *s)
{
	uint lid = get_local_id(0), ls = get_local_size(0);
	float acc = 0.0f;

	for (uint i = lid; i < len; i += ls)
		acc += x[base + i];
	float mean = wg_sum(acc, s) / (float)len;
	acc = 0.0f;
	for (uint i = lid; i < len; i += ls) {
		float d = x[base + i] - mean;
		acc += d * d;
	}
	return (float2)(mean, rsqrt(wg_sum(acc, s) / (float)len + eps));
}

/* x, y [N, C, HW]; group g of sample n spans channels [g*C/G, (g+1)*C/G).
 * silu applies SiLU after the affine step (GroupNorm + SiLU is the usual
 * pair in resnet blocks). */
__kernel void k_group_norm(__global const float *x, __global const float *gamma,
	__global const float *beta, __global float *y, const uint C,
	const uint HW, const uint G, const float eps, const int silu,
	__local float *s)
{
	uint grp = get_group_id(0);
	uint n = grp / G, g = grp % G;
	uint cpg = C / G;
	size_t base = ((size_t)n * C + (size_t)g * cpg) * HW;
	uint len = cpg * HW;
	uint lid = get_local_id(0), ls = get_local_size(0);
	float2 mr = wg_mean_rstd(x, base, len, eps, s);
	float mean = mr.x, inv = mr.y;

	for (uint i = lid; i < len; i += ls) {
		uint c = g * cpg + i / HW;
		float v = (x[base + i] - mean) * inv * gamma[c] + beta[c];
		if (silu)
			v = v / (1.0f + exp(-v));
		y[base + i] = v;
	}
}

/* x, y [rows, D]: normalise each row. */
__kernel void k_layer_norm(__global const float *x, __global const float *gamma,
	__global const float *beta, __global float *y, const uint D,
	const float eps, __local float *s)
{
	size_t base = (size_t)get_group_id(0) * D;
	uint lid = get_local_id(0), ls = get_local_size(0);
	float2 mr = wg_mean_rstd(x, base, D, eps, s);
	float mean = mr.x, inv = mr.y;

	for (uint i = lid; i < D; i += ls)
		y[base + i] = (x[base + i] - mean) * inv * gamma[i] + beta[i];
}

/*
 * The same on CPUs, one work item per slice: a work-group's items run one
 * after the other on a core, so the tree reductions above cost a pass per
 * barrier over every item, and a slice of a few hundred floats is best
 * read in order, 16 at a time, while it is in L1. Sums in 16 lanes, then
 * the lanes: another order than the tree's, as exact.
 */
inline float sum16(float16 v)
{
	float8 a = v.lo + v.hi;
	float4 b = a.lo + a.hi;
	float2 c = b.lo + b.hi;
	return c.x + c.y;
}

inline float2 row_mean_rstd(__global const float *x, uint len, float eps)
{
	float16 acc = 0.0f;
	float s = 0.0f;
	uint i = 0;

	for (; i + 16 <= len; i += 16)
		acc += vload16(0, x + i);
	for (s = sum16(acc); i < len; i++)
		s += x[i];
	float mean = s / (float)len;
	float16 m = mean;

	acc = 0.0f;
	for (i = 0; i + 16 <= len; i += 16) {
		float16 d = vload16(0, x + i) - m;
		acc = fma(d, d, acc);
	}
	for (s = sum16(acc); i < len; i++)
		s += (x[i] - mean) * (x[i] - mean);
	return (float2)(mean, rsqrt(s / (float)len + eps));
}

/* x, y [rows, D]; work item r normalises row r. */
__kernel void k_layer_norm_row(__global const float *x,
	__global const float *gamma, __global const float *beta,
	__global float *y, const uint D, const float eps, const uint rows)
{
	uint r = get_global_id(0);

	if (r >= rows)
		return;
	x += (size_t)r * D;
	y += (size_t)r * D;
	float2 mr = row_mean_rstd(x, D, eps);
	uint i = 0;

	for (; i + 16 <= D; i += 16)
		vstore16(fma((vload16(0, x + i) - mr.x) * mr.y,
			vload16(0, gamma + i), vload16(0, beta + i)), 0, y + i);
	for (; i < D; i++)
		y[i] = (x[i] - mr.x) * mr.y * gamma[i] + beta[i];
}

/* x, y [N, C, HW]; work item n G + g normalises group g of sample n,
 * channel by channel for the affine step (and SiLU). */
__kernel void k_group_norm_row(__global const float *x,
	__global const float *gamma, __global const float *beta,
	__global float *y, const uint C, const uint HW, const uint G,
	const float eps, const int silu, const uint slices)
{
	uint grp = get_global_id(0);

	if (grp >= slices)
		return;
	uint n = grp / G, g = grp % G, cpg = C / G;
	size_t base = ((size_t)n * C + (size_t)g * cpg) * HW;
	float2 mr = row_mean_rstd(x + base, cpg * HW, eps);

	for (uint c = g * cpg; c < (g + 1) * cpg; c++) {
		__global const float *xc = x + base + (size_t)(c - g * cpg) * HW;
		__global float *yc = y + base + (size_t)(c - g * cpg) * HW;
		float sc = mr.y * gamma[c], sh = beta[c] - mr.x * sc;
		uint i = 0;

		for (; i + 16 <= HW; i += 16) {
			float16 v = fma(vload16(0, xc + i), (float16)sc,
				(float16)sh);
			if (silu)
				v = v / (1.0f + exp(-v));
			vstore16(v, 0, yc + i);
		}
		for (; i < HW; i++) {
			float v = fma(xc[i], sc, sh);
			if (silu)
				v = v / (1.0f + exp(-v));
			yc[i] = v;
		}
	}
}
