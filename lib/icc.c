/* icc.c - ICC v2 profiles for sRGB and linear sRGB (ICC.1:2001-04): a
 * 128-byte header, a tag table and the tags a display profile needs
 * (desc, cprt, wtpt, rXYZ/gXYZ/bXYZ, rTRC/gTRC/bTRC). Written here rather
 * than with littlecms: the two profiles are fixed data, a few hundred
 * bytes each, and one more library is not worth them. */
#include "icc.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* The D50-adapted (Bradford) sRGB colorants and the PCS white, the
 * values of IEC 61966-2-1's profile: they sum to D50. */
static const double colorant[3][3] = {
	{ 0.4360747, 0.2225045, 0.0139322 },	/* red */
	{ 0.3850649, 0.7168786, 0.0971045 },	/* green */
	{ 0.1430804, 0.0606169, 0.7141733 },	/* blue */
};
static const double d50[3] = { 0.9642, 1.0, 0.8249 };

/* The sRGB curve is tabulated (v2 has no parametric curve): 1024
 * entries interpolate it to within a 16-bit step. */
#define TRC_POINTS 1024

static void
be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void
be16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static uint32_t
s15f16(double v)
{
	return (uint32_t)(int32_t)lround(v * 65536.0);
}

/* sRGB's EOTF: an encoded value in 0..1 to linear light. */
static double
srgb_eotf(double v)
{
	return v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4);
}

/* Tag bodies, each written at p (NULL: only measured); returns the
 * size. */
static size_t
tag_xyz(unsigned char *p, const double xyz[3])
{
	int i;

	if (p != NULL) {
		memcpy(p, "XYZ ", 4);
		memset(p + 4, 0, 4);
		for (i = 0; i < 3; i++)
			be32(p + 8 + 4 * i, s15f16(xyz[i]));
	}
	return 20;
}

static size_t
tag_text(unsigned char *p, const char *s)
{
	size_t n = strlen(s) + 1;

	if (p != NULL) {
		memcpy(p, "text", 4);
		memset(p + 4, 0, 4);
		memcpy(p + 8, s, n);
	}
	return 8 + n;
}

/* textDescriptionType: the ASCII description, no Unicode or Macintosh
 * one (their counts 0, the ScriptCode field's 67 bytes zero). */
static size_t
tag_desc(unsigned char *p, const char *s)
{
	size_t n = strlen(s) + 1, size = 12 + n + 4 + 4 + 2 + 1 + 67;

	if (p != NULL) {
		memset(p, 0, size);
		memcpy(p, "desc", 4);
		be32(p + 8, (uint32_t)n);
		memcpy(p + 12, s, n);
	}
	return size;
}

static size_t
tag_curve(unsigned char *p, enum icc_transfer t)
{
	size_t n = t == ICC_LINEAR ? 0 : TRC_POINTS, i;

	/* No entry is the identity: linear. */
	if (p != NULL) {
		memcpy(p, "curv", 4);
		memset(p + 4, 0, 4);
		be32(p + 8, (uint32_t)n);
		for (i = 0; i < n; i++)
			be16(p + 12 + 2 * i, (unsigned)lround(65535.0 *
			    srgb_eotf((double)i / (double)(n - 1))));
	}
	return 12 + 2 * n;
}

enum { T_DESC, T_CPRT, T_WTPT, T_RXYZ, T_GXYZ, T_BXYZ, T_TRC, NTAGS };

/* Each tag's body at p + off[i] (when p is set); the sizes into size[].
 * Returns the profile's length. */
static size_t
layout(unsigned char *p, enum icc_transfer t, size_t off[NTAGS],
    size_t size[NTAGS])
{
	const char *name = t == ICC_LINEAR ? "kiln linear sRGB (D65, "
	    "linear light)" : "kiln sRGB (IEC 61966-2-1)";
	size_t at = 128 + 4 + 12 * 9;	/* header, count, nine entries */
	int i;

	for (i = 0; i < NTAGS; i++) {
		unsigned char *q = p != NULL ? p + at : NULL;

		switch (i) {
		case T_DESC:
			size[i] = tag_desc(q, name);
			break;
		case T_CPRT:
			size[i] = tag_text(q, "No copyright, use freely");
			break;
		case T_WTPT:
			size[i] = tag_xyz(q, d50);
			break;
		case T_TRC:
			size[i] = tag_curve(q, t);
			break;
		default:
			size[i] = tag_xyz(q, colorant[i - T_RXYZ]);
			break;
		}
		off[i] = at;
		at += (size[i] + 3) & ~(size_t)3;
	}
	return at;
}

int
icc_srgb_profile(enum icc_transfer t, struct buf *out)
{
	static const struct {
		const char sig[5];
		int tag;
	} table[9] = {
		{ "desc", T_DESC }, { "cprt", T_CPRT }, { "wtpt", T_WTPT },
		{ "rXYZ", T_RXYZ }, { "gXYZ", T_GXYZ }, { "bXYZ", T_BXYZ },
		/* The three channels share one curve. */
		{ "rTRC", T_TRC }, { "gTRC", T_TRC }, { "bTRC", T_TRC },
	};
	size_t off[NTAGS], size[NTAGS], len = layout(NULL, t, off, size);
	unsigned char *p;
	int i;

	if (buf_reserve(out, len) != 0)
		return -1;
	p = (unsigned char *)out->data + out->len;
	memset(p, 0, len);
	layout(p, t, off, size);
	be32(p, (uint32_t)len);
	be32(p + 8, 0x02100000);	/* version 2.1 */
	memcpy(p + 12, "mntr", 4);
	memcpy(p + 16, "RGB ", 4);
	memcpy(p + 20, "XYZ ", 4);
	/* A fixed date: the same export, the same bytes. */
	be16(p + 24, 2026);
	be16(p + 26, 1);
	be16(p + 28, 1);
	memcpy(p + 36, "acsp", 4);
	for (i = 0; i < 3; i++)		/* the PCS illuminant, D50 */
		be32(p + 68 + 4 * i, s15f16(d50[i]));
	be32(p + 128, 9);
	for (i = 0; i < 9; i++) {
		unsigned char *e = p + 132 + 12 * i;

		memcpy(e, table[i].sig, 4);
		be32(e + 4, (uint32_t)off[table[i].tag]);
		be32(e + 8, (uint32_t)size[table[i].tag]);
	}
	out->len += len;
	return 0;
}
