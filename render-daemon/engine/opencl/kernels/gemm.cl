/* gemm.cl - SGEMM for CPUs (PoCL) and any device: C = alpha A B + beta C,
 * row-major, A [M, K], B [K, N], optionally batched at fixed strides
 * (global dimension 2); variants read A or B as float16 weights
 * (converted here by bit arithmetic: no cl_khr_fp16 needed) and compute
 * in F32. Each work item owns an MR x NR block of C held in
 * MR x NV vector accumulators: per k it loads NV VW-wide pieces of a row
 * of B and broadcasts MR elements of A (the register-blocked
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

/* Tiling parameters: MR rows of C by NV vectors of VW columns per work
 * item, accumulated in MR x NV vectors that must fit the vector
 * registers (AVX-512: 32 of 16 floats; AVX2: 16 of 8). The runtime
 * builds one program per set (-D), from the device's own figures or a
 * tuning file (see gemm_params in ops_cl.c). */
#ifndef GEMM_MR
#define GEMM_MR 8
#endif
#ifndef GEMM_VW
#define GEMM_VW 16
#endif
#ifndef GEMM_NV
#define GEMM_NV 2
#endif
#define MR GEMM_MR
#define VW GEMM_VW
#define NV GEMM_NV
#define NR (VW * NV)

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define floatv CAT(float, VW)
#define ushortv CAT(ushort, VW)
#define uintv CAT(uint, VW)
#define vloadv CAT(vload, VW)
#define vstorev CAT(vstore, VW)
#define as_floatv CAT(as_float, VW)
#define as_uintv CAT(as_uint, VW)
#define convert_uintv CAT(convert_uint, VW)
#define convert_floatv CAT(convert_float, VW)

/* VW values of a B row from column n, zeros past `valid`. */
inline floatv load_part(__global const float *p, uint valid)
{
	if (valid >= VW)
		return vloadv(0, p);
	float t[VW];
	for (uint j = 0; j < VW; j++)
		t[j] = j < valid ? p[j] : 0.0f;
	return vloadv(0, t);
}

/*
 * IEEE half bits -> float, without vload_half: PoCL runs that as a
 * scalar routine on CPUs, which made the float16-weight products 3-5x
 * slower than the float32 ones. Integer operations vectorise: a normal
 * number moves its exponent from bias 15 to 127, a subnormal one is its
 * mantissa times 2^-24 (exact, and never a float subnormal), Inf/NaN keep
 * an all-ones exponent.
 */
#define HALF_TO_FLOAT(NAME, F, U, US) \
inline F NAME(US h) \
{ \
	U x = CAT(convert_, U)(h); \
	U em = x & 0x7fffu; \
	F f = CAT(as_, F)((em << 13) + 0x38000000u); \
 \
	f = select(f, CAT(convert_, F)(em) * 0x1.0p-24f, em < 0x400u); \
	f = select(f, CAT(as_, F)((em << 13) | 0x7f800000u), em >= 0x7c00u); \
	return CAT(as_, F)(CAT(as_, U)(f) | ((x & 0x8000u) << 16)); \
}

/* 16 at a time for k_h2f, VW at a time for the GEMM's B loads. */
HALF_TO_FLOAT(half16_to_float, float16, uint16, ushort16)
HALF_TO_FLOAT(halfv_to_float, floatv, uintv, ushortv)

inline float half_to_float(ushort h)
{
	uint x = h, em = x & 0x7fffu;
	float f = em < 0x400u ? (float)em * 0x1.0p-24f :
		em >= 0x7c00u ? as_float((em << 13) | 0x7f800000u) :
		as_float((em << 13) + 0x38000000u);

	return as_float(as_uint(f) | ((x & 0x8000u) << 16));
}

inline floatv load_part_h(__global const half *p, uint valid)
{
	__global const ushort *u = (__global const ushort *)p;

	if (valid >= VW)
		return halfv_to_float(vloadv(0, u));
	float t[VW];
	for (uint j = 0; j < VW; j++)
		t[j] = j < valid ? half_to_float(u[j]) : 0.0f;
	return vloadv(0, t);
}

/* C = alpha acc + add (+ beta C), VW values from p, only `valid` of
 * them. add is the bias, zero without one. */
inline void store_part(__global float *p, floatv v, floatv add, uint valid,
	float alpha, float beta)
{
	if (valid >= VW) {
		if (beta == 0.0f)
			vstorev(fma(alpha, v, add), 0, p);
		else
			vstorev(fma(alpha, v, add) + beta * vloadv(0, p), 0, p);
		return;
	}
	float t[VW];
	vstorev(fma(alpha, v, add), 0, t);
	for (uint j = 0; j < valid; j++)
		p[j] = beta == 0.0f ? t[j] : t[j] + beta * p[j];
}

/* Every loop over MR or NV below is unrolled, so the accumulators and
 * row offsets are registers, not memory. */
#define UNROLL _Pragma("unroll")

#define GEMM_KERNEL(NAME, AT, ALOAD, BT, BLOAD, BPART) \
__kernel void NAME(const uint M, const uint N, const uint K, \
	const float alpha, __global const AT *A, const uint aoff, \
	const uint lda, const uint astride, __global const BT *B, \
	const uint boff, const uint ldb, const uint bstride, const float beta, \
	__global float *C, const uint coff, const uint ldc, const uint cstride, \
	const uint TM, const uint TN, const uint tiles_m, \
	__global const float *bias, const uint bmode) \
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
	size_t ar[MR]; \
	floatv c[MR][NV]; \
	/* Rows past M repeat the last row: computed, never stored. */ \
	UNROLL for (uint i = 0; i < MR; i++) { \
		ar[i] = (size_t)min(m0 + i, M - 1) * lda; \
		UNROLL for (uint j = 0; j < NV; j++) \
			c[i][j] = 0.0f; \
	} \
	__global const BT *bp = B + n0; \
 \
	if (nrem >= NR) { \
		for (uint k = 0; k < K; k++) { \
			floatv b[NV]; \
			UNROLL for (uint j = 0; j < NV; j++) \
				b[j] = BLOAD(bp + j * VW); \
			bp += ldb; \
			UNROLL for (uint i = 0; i < MR; i++) { \
				floatv a_ = (floatv)ALOAD(ar[i]); \
				ar[i]++; \
				UNROLL for (uint j = 0; j < NV; j++) \
					c[i][j] = fma(a_, b[j], c[i][j]); \
			} \
		} \
	} else { \
		for (uint k = 0; k < K; k++) { \
			floatv b[NV]; \
			UNROLL for (uint j = 0; j < NV; j++) \
				b[j] = nrem > j * VW ? \
					BPART(bp + j * VW, nrem - j * VW) : \
					(floatv)0.0f; \
			bp += ldb; \
			UNROLL for (uint i = 0; i < MR; i++) { \
				floatv a_ = (floatv)ALOAD(ar[i]); \
				ar[i]++; \
				UNROLL for (uint j = 0; j < NV; j++) \
					c[i][j] = fma(a_, b[j], c[i][j]); \
			} \
		} \
	} \
	/* The bias (bmode 1: one per column, 2: one per row) is added \
	 * here rather than by a pass of its own over C. */ \
	floatv cb[NV]; \
	UNROLL for (uint j = 0; j < NV; j++) \
		cb[j] = bmode == 1 && nrem > j * VW ? \
			load_part(bias + n0 + j * VW, nrem - j * VW) : \
			(floatv)0.0f; \
	UNROLL for (uint i = 0; i < MR; i++) { \
		if (m0 + i < M) { \
			__global float *p_ = C + crow + (size_t)i * ldc; \
			floatv rb = bmode == 2 ? (floatv)bias[m0 + i] : \
				(floatv)0.0f; \
			UNROLL for (uint j = 0; j < NV; j++) \
				if (nrem > j * VW) \
					store_part(p_ + j * VW, c[i][j], \
						cb[j] + rb, nrem - j * VW, \
						alpha, beta); \
		} \
	} \
}

#define LOAD_F(i) A[i]
#define LOAD_H(i) half_to_float(((__global const ushort *)A)[i])
#define LOAD_F_V(p) vloadv(0, (p))
#define LOAD_H_V(p) halfv_to_float(vloadv(0, (__global const ushort *)(p)))

GEMM_KERNEL(k_gemm_nn, float, LOAD_F, float, LOAD_F_V, load_part)
GEMM_KERNEL(k_gemm_nn_ah, half, LOAD_H, float, LOAD_F_V, load_part)
GEMM_KERNEL(k_gemm_nn_bh, float, LOAD_F, half, LOAD_H_V, load_part_h)

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
