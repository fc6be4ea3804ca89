/* icc.h - the ICC colour profiles kiln embeds in its exports: sRGB
 * (display-encoded values, the 16-bit TIFF) and linear sRGB (the float
 * TIFF), so that Photoshop, Affinity and other colour-managed programs
 * read the pixels as kiln means them rather than guessing. */
#ifndef KILN_ICC_H
#define KILN_ICC_H

#include "util.h"

enum icc_transfer {
	ICC_SRGB,	/* the sRGB curve (IEC 61966-2-1) */
	ICC_LINEAR,	/* linear light, same primaries and white */
};

/* Appends a v2 RGB display profile (sRGB primaries, D65 white adapted
 * to the PCS's D50 with Bradford, as every sRGB profile does) with the
 * transfer t to out. The bytes depend on t only. Returns 0, or -1 out
 * of memory. */
int icc_srgb_profile(enum icc_transfer t, struct buf *out);

#endif
