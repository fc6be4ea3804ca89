/* attention.cl - fused multi-head attention for CPUs, flash-attention
 * style: one work item takes AQ queries of one head and walks the keys in
 * tiles of AK with an online softmax (running maximum and sum per query),
 * so the score matrix never reaches memory. Both products are small
 * register-blocked GEMMs, like gemm.cl's micro-kernel: the score tile
 * [AQ x AK] is AQ float16 accumulators fed by one row of K^T (keys along
 * the vector) and AQ broadcast query elements per step of the head
 * dimension; the output [AQ x d] is accumulated 16 columns at a time, one
 * row of V against AQ broadcast probabilities per key (then 8 columns
 * and single ones, for head widths like 40 and 44).
 * q [B, Lq, H*d], v [B, Lk, H*d], out [B, Lq, H*d]; K comes transposed
 * per head, kt [B, H, d, Lkp] (k_heads_t), its rows zero-padded to
 * Lkp >= Lk, a multiple of 16. d <= AMAXD. */

#define AQ 16		/* queries per work item */
#define AK 32		/* keys per tile, scored 16 at a time */
#define AMAXD 160	/* widest head */

#define REPQ(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) \
	X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)

/* vmaxps: fmax's NaN rules cost a compare and a blend per use. */
#define VMAX(a, b) ((a) > (b) ? (a) : (b))

/*
 * 2^x for x <= 0, to 3e-7 relative: x = n + f with n an integer and
 * |f| <= 1/2, a degree-5 fit of 2^f, n added to the exponent. Below
 * -125 (masked keys' -inf included) it gives 2^-125 rather than 0:
 * negligible next to the largest probability, 1. PoCL's exp2 is
 * accurate to the last bit over every float, and twice the cost.
 */
inline float16 exp2_neg(float16 x)
{
	x = VMAX(x, (float16)(-125.0f));
	float16 n = rint(x), f = x - n;
	float16 p = fma(fma(fma(fma(fma((float16)1.33118837e-3f, f,
		(float16)9.67308134e-3f), f, (float16)5.55058345e-2f), f,
		(float16)2.40221635e-1f), f, (float16)6.93147063e-1f), f,
		(float16)1.00000012f);

	return as_float16(as_int16(p) + (convert_int16(n) << 23));
}

#define S_DECL(i) float16 s##i = 0.0f;
#define S_FMA(i) s##i = fma((float16)qc[(i) * AMAXD], kv, s##i);
#define S_STORE(i) vstore16(s##i, 0, pb + (i) * AK + j1);
#define S_NONE(i) vstore16((float16)(-INFINITY), 0, pb + (i) * AK + j1);

/* Keys past Lk (padding) and, causal, past query q0 + i score -inf. */
#define S_MASK(i) s##i = select(s##i, (float16)(-INFINITY), \
	kj >= (int16)Lk || (causal && kj > (int16)(q0 + (i))));

/* One chunk of output columns from c, as wide as VT (float16, float8 or
 * float): the AQ accumulators rescaled, then one row of V per key
 * against the AQ probabilities. */
#define A_LOAD(i) VT a##i = VLOAD(0, ap + (i) * 16) * corr[i];
#define A_FMA(i) a##i = fma((VT)pj[(i) * AK], vr, a##i);
#define A_STORE(i) VSTORE(a##i, 0, ap + (i) * 16);
#define PV_CHUNK \
	{ \
		__private float *ap = acc + (c / 16) * AQ * 16 + c % 16; \
		REPQ(A_LOAD) \
		__global const float *vp = vh + (size_t)j0 * HD + c; \
		for (uint j = 0; j < jn; j++, vp += HD) { \
			VT vr = VLOAD(0, vp); \
			__private const float *pj = pb + j; \
			REPQ(A_FMA) \
		} \
		REPQ(A_STORE) \
	}

__kernel void k_attn_fused(__global const float *q,
	__global const float *kt, __global const float *v,
	__global float *out, const uint Lq, const uint Lk, const uint Lkp,
	const uint H, const uint d, const float scale, const int causal,
	const int heads_first)
{
	/* Which of dimensions 0 and 1 walks the heads: see op_attention. */
	uint g0 = get_global_id(0), g1 = get_global_id(1);
	uint h = heads_first ? g0 : g1, q0 = (heads_first ? g1 : g0) * AQ;
	uint b = get_global_id(2);
	if (q0 >= Lq || h >= H)
		return;
	uint HD = H * d;
	uint qn = min((uint)AQ, Lq - q0);
	__global const float *kth = kt + ((size_t)b * H + h) * d * Lkp;
	__global const float *vh = v + (size_t)b * Lk * HD + h * d;
	/* The queries [i][c], scaled; the output so far [c/16][i][c%16]
	 * (16-column chunks); probabilities of the tile [i][j]; running
	 * maximum, rescale factor and per-lane sums per query. */
	float qt[AMAXD * AQ], acc[AMAXD * AQ], pb[AQ * AK];
	float mrow[AQ], corr[AQ], tmax[AQ];
	float16 lrow[AQ];
	/* The last query of the block sees the most keys. */
	uint lim = causal ? min(Lk, q0 + qn) : Lk;
	float sl = scale * M_LOG2E_F;

	for (uint i = 0; i < AQ; i++) {
		/* Rows past Lq repeat the last one: computed, never stored. */
		__global const float *qr = q + ((size_t)b * Lq + q0 +
			min(i, qn - 1)) * HD + h * d;
		for (uint c = 0; c < d; c++)
			qt[i * AMAXD + c] = qr[c] * sl;
		mrow[i] = -INFINITY;
		lrow[i] = 0.0f;
	}
	for (uint c = 0; c < (d + 15) / 16 * 16 * AQ; c++)
		acc[c] = 0.0f;
	for (uint j0 = 0; j0 < lim; j0 += AK) {
		uint jn = min((uint)AK, lim - j0);

		/* Scores, 16 keys at a time, into pb; -inf where no key. */
		for (uint j1 = 0; j1 < AK; j1 += 16) {
			if (j0 + j1 >= lim) {
				REPQ(S_NONE)
				continue;
			}
			REPQ(S_DECL)
			__global const float *kp = kth + j0 + j1;
			__private const float *qc = qt;

			for (uint c = 0; c < d; c++, kp += Lkp, qc++) {
				float16 kv = vload16(0, kp);
				REPQ(S_FMA)
			}
			if (j0 + j1 + 16 > Lk ||
			    (causal && j0 + j1 + 16 > q0 + 1)) {
				int16 kj = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8,
					9, 10, 11, 12, 13, 14, 15) +
					(int)(j0 + j1);
				REPQ(S_MASK)
			}
			REPQ(S_STORE)
		}
		/*
		 * Online softmax per query: the tile's maximum joins the
		 * running one, the sum and the output so far are scaled by
		 * exp2(m_old - m_new), the tile's probabilities replace its
		 * scores in pb. Scores are in log2 units (q was scaled by
		 * scale * log2(e)), so exp2 is the exponential. Tile 0
		 * holds key 0, which every query sees, so m is finite from
		 * the first tile on. The AQ maxima and factors go as one
		 * vector.
		 */
		for (uint i = 0; i < AQ; i++) {
			__private float *r = pb + i * AK;
			float16 t = VMAX(vload16(0, r), vload16(1, r));

			t.lo = VMAX(t.lo, t.hi);
			t.lo.lo = VMAX(t.lo.lo, t.lo.hi);
			t.s01 = VMAX(t.s01, t.s23);
			tmax[i] = VMAX(t.s0, t.s1);
		}
		float16 mo = vload16(0, mrow);
		float16 mn = VMAX(mo, vload16(0, tmax));
		vstore16(exp2_neg(mo - mn), 0, corr);
		vstore16(mn, 0, mrow);
		for (uint i = 0; i < AQ; i++) {
			__private float *r = pb + i * AK;
			float16 x = exp2_neg(vload16(0, r) - mrow[i]);
			float16 y = exp2_neg(vload16(1, r) - mrow[i]);

			lrow[i] = fma(lrow[i], (float16)corr[i], x + y);
			vstore16(x, 0, r);
			vstore16(y, 1, r);
		}
		uint c = 0;
#define VT float16
#define VLOAD vload16
#define VSTORE vstore16
		for (; c + 16 <= d; c += 16)
			PV_CHUNK
#undef VT
#undef VLOAD
#undef VSTORE
#define VT float8
#define VLOAD vload8
#define VSTORE vstore8
		for (; c + 8 <= d; c += 8)
			PV_CHUNK
#undef VT
#undef VLOAD
#undef VSTORE
#define VT float
#define VLOAD(o, p) (*(p))
#define VSTORE(x, o, p) (*(p) = (x))
		for (; c < d; c++)
			PV_CHUNK
#undef VT
#undef VLOAD
#undef VSTORE
	}
	for (uint i = 0; i < qn; i++) {
		float16 l = lrow[i];
		l.lo += l.hi;
		l.lo.lo += l.lo.hi;
		float inv = 1.0f / (l.s0 + l.s1 + l.s2 + l.s3);
		__global float *o = out + ((size_t)b * Lq + q0 + i) * HD + h * d;
		uint c = 0;

		for (; c + 16 <= d; c += 16)
			vstore16(vload16(0, acc + (c / 16 * AQ + i) * 16) * inv,
				0, o + c);
		for (; c < d; c++)
			o[c] = acc[(c / 16 * AQ + i) * 16 + c % 16] * inv;
	}
}
