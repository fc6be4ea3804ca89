/* gemm.cl - SGEMM for CPUs (PoCL) and any device: C = alpha A B + beta C,
 * row-major, A [M, K], B [K, N], optionally batched at fixed strides
 * (global dimension 2); variants read A or B as float16 weights
 * (converted here by bit arithmetic: no cl_khr_fp16 needed) and compute
 * in F32. Each work item owns an 8 x 32 block of C held in
 * sixteen float16 accumulators: per k it loads two 16-wide pieces of a row
 * of B and broadcasts eight elements of A (the register-blocked
 * micro-kernel of BLIS-style libraries), so the block stays in vector
 * registers. Blocks over the edge of C read clamped rows and zero-filled
 * columns and store only what lies inside.
 *
 * A work-group is a tile of TM x TN blocks, which a CPU device runs on
 * one core, block after block, down each column of the tile first: the
 * 32-column strip of B that a column shares stays in L1/L2 across its TM
 * blocks, and the tile's rows of A (TM * 8 of them) stay in L2/L3 across
 * its TN columns. Without tiles each block of 8 rows streamed all of B
 * from memory, and products with wide B (SDXL's feed-forward, N = 10240)
 * ran at 40% of OpenBLAS. */

#define MR 8
#define NR 32

/* 16 values of a B row from column n, zeros past `valid`. */
inline float16 load_part(__global const float *p, uint valid)
{
	if (valid >= 16)
		return vload16(0, p);
	float t[16];
	for (uint j = 0; j < 16; j++)
		t[j] = j < valid ? p[j] : 0.0f;
	return vload16(0, t);
}

/*
 * IEEE half bits -> float, without vload_half: PoCL runs that as a
 * scalar routine on CPUs, which made the float16-weight products 3-5x
 * slower than the float32 ones. Integer operations vectorise: a normal
 * number moves its exponent from bias 15 to 127, a subnormal one is its
 * mantissa times 2^-24 (exact, and never a float subnormal), Inf/NaN keep
 * an all-ones exponent.
 */
inline float16 half16_to_float(ushort16 h)
{
	uint16 x = convert_uint16(h);
	uint16 em = x & 0x7fffu;
	float16 f = as_float16((em << 13) + 0x38000000u);

	f = select(f, convert_float16(em) * 0x1.0p-24f, em < 0x400u);
	f = select(f, as_float16((em << 13) | 0x7f800000u), em >= 0x7c00u);
	return as_float16(as_uint16(f) | ((x & 0x8000u) << 16));
}

inline float half_to_float(ushort h)
{
	uint x = h, em = x & 0x7fffu;
	float f = em < 0x400u ? (float)em * 0x1.0p-24f :
		em >= 0x7c00u ? as_float((em << 13) | 0x7f800000u) :
		as_float((em << 13) + 0x38000000u);

	return as_float(as_uint(f) | ((x & 0x8000u) << 16));
}

inline float16 load_part_h(__global const half *p, uint valid)
{
	__global const ushort *u = (__global const ushort *)p;

	if (valid >= 16)
		return half16_to_float(vload16(0, u));
	float t[16];
	for (uint j = 0; j < 16; j++)
		t[j] = j < valid ? half_to_float(u[j]) : 0.0f;
	return vload16(0, t);
}

inline void store_part(__global float *p, float16 v, uint valid,
	float alpha, float beta)
{
	if (valid >= 16) {
		if (beta == 0.0f)
			vstore16(alpha * v, 0, p);
		else
			vstore16(alpha * v + beta * vload16(0, p), 0, p);
		return;
	}
	float t[16];
	vstore16(v, 0, t);
	for (uint j = 0; j < valid; j++)
		p[j] = beta == 0.0f ? alpha * t[j] : alpha * t[j] + beta * p[j];
}

#define ROW(i, ALOAD) \
	{ float a_ = ALOAD(ar##i); ar##i++; \
	  c0_##i = mad((float16)a_, b0, c0_##i); \
	  c1_##i = mad((float16)a_, b1, c1_##i); }

#define STORE(i) \
	if (m0 + (i) < M) { \
		__global float *p_ = C + crow + (size_t)(i) * ldc; \
		store_part(p_, c0_##i, nv0, alpha, beta); \
		if (nv1 > 0) \
			store_part(p_ + 16, c1_##i, nv1, alpha, beta); \
	}

#define GEMM_KERNEL(NAME, AT, ALOAD, BT, BLOAD, BPART) \
__kernel void NAME(const uint M, const uint N, const uint K, \
	const float alpha, __global const AT *A, const uint aoff, \
	const uint lda, const uint astride, __global const BT *B, \
	const uint boff, const uint ldb, const uint bstride, const float beta, \
	__global float *C, const uint coff, const uint ldc, const uint cstride, \
	const uint TM, const uint TN, const uint tiles_m) \
{ \
	/* Work-group g is tile (g % tiles_m, g / tiles_m) of TM x TN \
	 * blocks; inside it the blocks go down a column of TM first. */ \
	uint g = get_group_id(0), l = get_local_id(0); \
	uint m0 = ((g % tiles_m) * TM + l % TM) * MR; \
	uint n0 = ((g / tiles_m) * TN + l / TM) * NR; \
	uint bi = get_global_id(1); \
 \
	if (m0 >= M || n0 >= N) \
		return; \
	A += aoff + (size_t)bi * astride; \
	B += boff + (size_t)bi * bstride; \
	size_t crow = coff + (size_t)bi * cstride + (size_t)m0 * ldc + n0; \
	uint nrem = N - n0; \
	uint nv0 = min(nrem, 16u), nv1 = nrem > 16 ? min(nrem - 16, 16u) : 0; \
	/* Rows past M repeat the last row: computed, never stored. */ \
	size_t ar0 = (size_t)min(m0 + 0, M - 1) * lda; \
	size_t ar1 = (size_t)min(m0 + 1, M - 1) * lda; \
	size_t ar2 = (size_t)min(m0 + 2, M - 1) * lda; \
	size_t ar3 = (size_t)min(m0 + 3, M - 1) * lda; \
	size_t ar4 = (size_t)min(m0 + 4, M - 1) * lda; \
	size_t ar5 = (size_t)min(m0 + 5, M - 1) * lda; \
	size_t ar6 = (size_t)min(m0 + 6, M - 1) * lda; \
	size_t ar7 = (size_t)min(m0 + 7, M - 1) * lda; \
	float16 c0_0 = 0, c0_1 = 0, c0_2 = 0, c0_3 = 0, c0_4 = 0, c0_5 = 0, \
		c0_6 = 0, c0_7 = 0; \
	float16 c1_0 = 0, c1_1 = 0, c1_2 = 0, c1_3 = 0, c1_4 = 0, c1_5 = 0, \
		c1_6 = 0, c1_7 = 0; \
	__global const BT *bp = B + n0; \
 \
	if (nrem >= NR) { \
		for (uint k = 0; k < K; k++) { \
			float16 b0 = BLOAD(bp); \
			float16 b1 = BLOAD(bp + 16); \
			bp += ldb; \
			ROW(0, ALOAD) ROW(1, ALOAD) ROW(2, ALOAD) ROW(3, ALOAD) \
			ROW(4, ALOAD) ROW(5, ALOAD) ROW(6, ALOAD) ROW(7, ALOAD) \
		} \
	} else { \
		for (uint k = 0; k < K; k++) { \
			float16 b0 = BPART(bp, nv0); \
			float16 b1 = nv1 > 0 ? BPART(bp + 16, nv1) \
				: (float16)0; \
			bp += ldb; \
			ROW(0, ALOAD) ROW(1, ALOAD) ROW(2, ALOAD) ROW(3, ALOAD) \
			ROW(4, ALOAD) ROW(5, ALOAD) ROW(6, ALOAD) ROW(7, ALOAD) \
		} \
	} \
	STORE(0) STORE(1) STORE(2) STORE(3) \
	STORE(4) STORE(5) STORE(6) STORE(7) \
}

#define LOAD_F(i) A[i]
#define LOAD_H(i) half_to_float(((__global const ushort *)A)[i])
#define LOAD16_F(p) vload16(0, (p))
#define LOAD16_H(p) half16_to_float(vload16(0, (__global const ushort *)(p)))

GEMM_KERNEL(k_gemm_nn, float, LOAD_F, float, LOAD16_F, load_part)
GEMM_KERNEL(k_gemm_nn_ah, half, LOAD_H, float, LOAD16_F, load_part)
GEMM_KERNEL(k_gemm_nn_bh, float, LOAD_F, half, LOAD16_H, load_part_h)

/* float16 -> float32 copy of n elements from src + off: a weight made
 * float32 for the time of one product (see cl_matmul in ops_cl.c). */
__kernel void k_h2f(__global const ushort *src, const uint off,
	__global float *dst, const uint n)
{
	uint i = get_global_id(0) * 16;

	if (i + 16 <= n) {
		vstore16(half16_to_float(vload16(0, src + off + i)), 0,
			dst + i);
		return;
	}
	for (; i < n; i++)
		dst[i] = half_to_float(src[off + i]);
}
