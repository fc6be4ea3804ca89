/* rng.h - the seeded, platform-independent standard-normal generator behind
 * every "Seed:" in kiln (initial latents, ancestral and LCM noise). */
#ifndef KILN_RNG_H
#define KILN_RNG_H

#include <stddef.h>
#include <stdint.h>

/*
 * The algorithm, fixed forever because stored seeds must keep reproducing
 * their images:
 *
 *   Philox4x32-10 (Salmon et al., SC'11; Random123), key = {seed & 0xffffffff,
 *   seed >> 32}, counter = {c & 0xffffffff, c >> 32, 0, 0} for the block
 *   number c = 0, 1, 2, ...  Each block gives 4 words w0..w3 and two
 *   normals by Box-Muller in double precision:
 *
 *     a  = w1 << 32 | w0,   b = w3 << 32 | w2
 *     u1 = ((a >> 11) + 0.5) * 2^-53        (in (0,1): log never sees 0)
 *     u2 =  (b >> 11) * 2^-53
 *     r  = sqrt(-2 log u1)
 *     z0 = (float)(r * cos(6.283185307179586 * u2))
 *     z1 = (float)(r * sin(6.283185307179586 * u2))
 *
 *   z0 then z1 are handed out in order; an odd count keeps z1 for the next
 *   call, so the stream depends only on how many numbers were drawn, not on
 *   how the draws were split. The integer part is exact everywhere; the
 *   double -> float rounding absorbs the last-ULP differences that libm's
 *   log/sin/cos may have between platforms (a flip needs the double to land
 *   within one double ULP of a float rounding boundary: about 1 draw in 2^29).
 *   tools/reference/samplers.py implements the same in Python.
 */
struct kiln_rng {
	uint32_t key[2];
	uint64_t block;		/* the next Philox counter */
	float spare;		/* z1 of the last block, when has_spare */
	int has_spare;
};

/* Starts the stream of seed (any 64-bit value). */
void rng_seed(struct kiln_rng *r, uint64_t seed);

/* Writes the next n standard normal floats to out. */
void rng_normal(struct kiln_rng *r, float *out, size_t n);

/* One Philox4x32-10 block: out = Philox(ctr, key). Exposed for the
 * known-answer tests. */
void rng_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2],
    uint32_t out[4]);

#endif
