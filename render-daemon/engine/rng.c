/* rng.c - Philox4x32-10 + Box-Muller standard normals (see rng.h for the
 * exact, frozen definition). */
#include "rng.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void
rng_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2],
    uint32_t out[4])
{
	uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
	uint32_t k0 = key[0], k1 = key[1];
	int round;

	for (round = 0; round < 10; round++) {
		uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
		uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
		uint32_t n0, n1, n2, n3;

		if (round > 0) {
			k0 += PHILOX_W0;
			k1 += PHILOX_W1;
		}
		n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
		n1 = (uint32_t)p1;
		n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
		n3 = (uint32_t)p0;
		c0 = n0;
		c1 = n1;
		c2 = n2;
		c3 = n3;
	}
	out[0] = c0;
	out[1] = c1;
	out[2] = c2;
	out[3] = c3;
}

void
rng_seed(struct kiln_rng *r, uint64_t seed)
{
	r->key[0] = (uint32_t)seed;
	r->key[1] = (uint32_t)(seed >> 32);
	r->block = 0;
	r->spare = 0.0f;
	r->has_spare = 0;
}

/* The two normals of the next block. */
static void
next_pair(struct kiln_rng *r, float *z0, float *z1)
{
	uint32_t ctr[4], w[4];
	uint64_t a, b;
	double u1, u2, rad;

	ctr[0] = (uint32_t)r->block;
	ctr[1] = (uint32_t)(r->block >> 32);
	ctr[2] = 0;
	ctr[3] = 0;
	r->block++;
	rng_philox4x32_10(ctr, r->key, w);
	a = (uint64_t)w[1] << 32 | w[0];
	b = (uint64_t)w[3] << 32 | w[2];
	u1 = ((double)(a >> 11) + 0.5) * 0x1p-53;
	u2 = (double)(b >> 11) * 0x1p-53;
	rad = sqrt(-2.0 * log(u1));
	*z0 = (float)(rad * cos(6.283185307179586 * u2));
	*z1 = (float)(rad * sin(6.283185307179586 * u2));
}

void
rng_normal(struct kiln_rng *r, float *out, size_t n)
{
	size_t i = 0;

	if (n > 0 && r->has_spare) {
		out[i++] = r->spare;
		r->has_spare = 0;
	}
	while (i < n) {
		float z0, z1;

		next_pair(r, &z0, &z1);
		out[i++] = z0;
		if (i < n) {
			out[i++] = z1;
		} else {
			r->spare = z1;
			r->has_spare = 1;
		}
	}
}
