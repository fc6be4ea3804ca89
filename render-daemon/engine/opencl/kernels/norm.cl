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
