/* attention.cl - fused multi-head attention for CPUs. One work item takes
 * 8 queries of one head and walks the keys in blocks of 16 with an online
 * softmax (running maximum and sum per query), so the score matrix never
 * reaches memory. The 8 queries sit in the lanes of float8 vectors: each
 * key row is read once and broadcast against all of them.
 * q [B, Lq, H*d], k and v [B, Lk, H*d], out [B, Lq, H*d]; d <= MAXD. */

#define MAXD 160
#define QB 8
#define KB 16

__kernel void k_attn_fused(__global const float *q, __global const float *k,
	__global const float *v, __global float *out, const uint Lq,
	const uint Lk, const uint H, const uint d, const float scale,
	const int causal)
{
	uint q0 = get_global_id(0) * QB, h = get_global_id(1);
	uint b = get_global_id(2);
	if (q0 >= Lq || h >= H)
		return;
	uint HD = H * d;
	uint qn = min((uint)QB, Lq - q0);
	__global const float *kb = k + (size_t)b * Lk * HD + h * d;
	__global const float *vb = v + (size_t)b * Lk * HD + h * d;
	float8 qv[MAXD], acc[MAXD], s[KB];
	float8 m = (float8)(-INFINITY), l = (float8)0.0f;
	/* The last query of the block sees the most keys. */
	uint lim = causal ? min(Lk, q0 + qn) : Lk;

	for (uint c = 0; c < d; c++) {
		float t[QB];
		for (uint i = 0; i < QB; i++) {
			uint qi = q0 + min(i, qn - 1);	/* clamp: never stored */
			t[i] = q[((size_t)b * Lq + qi) * HD + h * d + c] * scale;
		}
		qv[c] = vload8(0, t);
		acc[c] = (float8)0.0f;
	}
	int8 qidx = (int8)(0, 1, 2, 3, 4, 5, 6, 7) + (int)q0;
	for (uint j0 = 0; j0 < lim; j0 += KB) {
		uint jn = min((uint)KB, lim - j0);
		float8 bm = (float8)(-INFINITY);

		for (uint t = 0; t < jn; t++) {
			__global const float *kr = kb + (size_t)(j0 + t) * HD;
			float8 dot = (float8)0.0f;
			for (uint c = 0; c < d; c++)
				dot = mad(qv[c], (float8)kr[c], dot);
			if (causal)	/* key j0+t after query: masked */
				dot = select(dot, (float8)(-INFINITY),
					qidx < (int8)(j0 + t));
			s[t] = dot;
			bm = fmax(bm, dot);
		}
		float8 mn = fmax(m, bm);
		/* exp(-inf - -inf) would be NaN on the first block. */
		float8 corr = select(exp(m - mn), (float8)0.0f,
			isinf(m));
		l *= corr;
		for (uint c = 0; c < d; c++)
			acc[c] *= corr;
		for (uint t = 0; t < jn; t++) {
			__global const float *vr = vb + (size_t)(j0 + t) * HD;
			float8 p = exp(s[t] - mn);
			l += p;
			for (uint c = 0; c < d; c++)
				acc[c] = mad(p, (float8)vr[c], acc[c]);
		}
		m = mn;
	}
	float8 inv = 1.0f / l;
	for (uint c = 0; c < d; c++) {
		float t[QB];
		vstore8(acc[c] * inv, 0, t);
		for (uint i = 0; i < qn; i++)
			out[((size_t)b * Lq + q0 + i) * HD + h * d + c] = t[i];
	}
}
