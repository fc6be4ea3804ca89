/* half.h - IEEE binary16 and bfloat16 conversions on the host, bit-exact
 * with OpenCL's vload_half/vstore_half (round to nearest even). */
#ifndef KILN_HALF_H
#define KILN_HALF_H

#include <stdint.h>
#include <string.h>

/* Widens a binary16 value exactly: subnormals, signed zeros, infinities and
 * NaN payloads (top bits) all survive. */
static inline float
half_to_float(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t exp = (h >> 10) & 0x1f;
	uint32_t man = h & 0x3ff;
	uint32_t bits;
	float f;

	if (exp == 0x1f) {
		bits = sign | 0x7f800000u | man << 13;
	} else if (exp != 0) {
		bits = sign | (exp + 112) << 23 | man << 13;
	} else if (man == 0) {
		bits = sign;
	} else {
		/* A subnormal half is a normal float: shift the leading one
		 * into the implicit bit, lowering the exponent to match. */
		exp = 113;
		while (!(man & 0x400)) {
			man <<= 1;
			exp--;
		}
		bits = sign | exp << 23 | (man & 0x3ff) << 13;
	}
	memcpy(&f, &bits, sizeof(f));
	return f;
}

/* Narrows a float to binary16, rounding to nearest even: values from 65520
 * up become infinity, tiny ones become subnormals or a signed zero, NaN
 * stays a (quiet) NaN. */
static inline uint16_t
float_to_half(float f)
{
	uint32_t x, ax, sign, m, h, rem, halfway;
	int shift;

	memcpy(&x, &f, sizeof(x));
	sign = (x >> 16) & 0x8000;
	ax = x & 0x7fffffffu;
	if (ax > 0x7f800000u)	/* NaN: keep the top payload bits, quiet */
		return (uint16_t)(sign | 0x7e00 | ((ax >> 13) & 0x3ff));
	if (ax >= 0x477ff000u)	/* 65520 and up (a tie goes to the even inf) */
		return (uint16_t)(sign | 0x7c00);
	if (ax >= 0x38800000u) {
		/* Normal: rebias the exponent (127 -> 15) and round off 13
		 * bits; a carry out of the mantissa bumps the exponent, as it
		 * should. */
		m = ax - 0x38000000u;
		m += 0xfff + ((m >> 13) & 1);
		return (uint16_t)(sign | m >> 13);
	}
	if (ax < 0x33000000u)	/* below 2^-25 (a tie with 0 goes to 0) */
		return (uint16_t)sign;
	/* Subnormal: the value in units of 2^-24 is m >> (126 - exponent). */
	m = (ax & 0x7fffff) | 0x800000;
	shift = 126 - (int)(ax >> 23);
	h = m >> shift;
	rem = m & ((1u << shift) - 1);
	halfway = 1u << (shift - 1);
	if (rem > halfway || (rem == halfway && (h & 1)))
		h++;		/* may carry into the smallest normal: fine */
	return (uint16_t)(sign | h);
}

/* Widens a bfloat16 value: it is the top half of a float. */
static inline float
bf16_to_float(uint16_t b)
{
	uint32_t bits = (uint32_t)b << 16;
	float f;

	memcpy(&f, &bits, sizeof(f));
	return f;
}

/* Narrows a float to bfloat16, rounding to nearest even; NaN stays a quiet
 * NaN (plain rounding could carry a NaN into infinity). */
static inline uint16_t
float_to_bf16(float f)
{
	uint32_t x;

	memcpy(&x, &f, sizeof(x));
	if ((x & 0x7fffffffu) > 0x7f800000u)
		return (uint16_t)((x >> 16) | 0x0040);
	x += 0x7fff + ((x >> 16) & 1);
	return (uint16_t)(x >> 16);
}

#endif
