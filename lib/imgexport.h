/* imgexport.h - high-precision image files from the VAE's float output:
 * the float master kept beside every PNG (an OpenEXR float file), and the
 * formats a download can ask for (16-bit PNG, 16-bit and 32-bit float
 * TIFF, OpenEXR half and float), each carrying the job's parameters and
 * manifest in its metadata. */
#ifndef KILN_IMGEXPORT_H
#define KILN_IMGEXPORT_H

#include <stddef.h>
#include <stdint.h>

struct buf;

/* What ?format= and a job's "output_format" name. */
enum img_format {
	IMG_PNG = 0,	/* the 8-bit PNG as the daemon wrote it */
	IMG_PNG16,	/* 16-bit RGB PNG */
	IMG_TIFF16,	/* 16-bit unsigned RGB TIFF (Deflate) */
	IMG_TIFF32,	/* 32-bit IEEE float RGB TIFF (Deflate), linear */
	IMG_EXR,	/* OpenEXR, 32-bit float R, G, B (ZIP), linear */
	IMG_EXR16,	/* OpenEXR, 16-bit half R, G, B (ZIP), linear */
	IMG_FORMAT_COUNT
};

/* The biggest side a master may claim: what IMAGE_MAX_SIDE allows. */
#define IMGEXPORT_MAX_SIDE 16384

/* The format named s ("png", "png16", "tiff16", "tiff32", "exr",
 * "exr16"; exact, lower case). Returns its value, or -1 for anything
 * else (NULL included). */
int img_format_parse(const char *s);
/* Its name, extension ("png", "tif", "exr") and Content-Type; NULL for a
 * value out of range. */
const char *img_format_name(int f);
const char *img_format_ext(int f);
const char *img_format_type(int f);
/* Every name, comma-separated, for messages ("png, png16, ..."). */
const char *img_format_names(void);

/* The storage key of the float master of the PNG at png_key (same stem,
 * ".exr"), into out. Returns 0, or -1 when png_key does not end in ".png"
 * or out is too small. */
int imgexport_master_key(const char *png_key, char *out, size_t outlen);

/* The 8-bit value the PNG holds for v (0..1): lrintf(v * 255), as the
 * engine quantises. */
uint8_t imgexport_q8(float v);
/* The 16-bit value for v: round(v * 65535), moved to the nearest level
 * that quantises (round(q / 257)) back to imgexport_q8(v) where float
 * rounding at a bucket's edge would say otherwise, so the 16-bit file
 * always agrees with the PNG. */
uint16_t imgexport_q16(float v);
/* The half nearest v whose value still quantises to imgexport_q8(v)
 * (the same guarantee for OpenEXR half). */
uint16_t imgexport_half(float v);

/* The sRGB transfer functions (IEC 61966-2-1), in double: the EOTF
 * (display-encoded 0..1 to linear light) and the OETF back. */
double imgexport_srgb_decode(double v);
double imgexport_srgb_encode(double l);
/* Linear light for v (0..1 display-encoded, as the PNG's): the float
 * nearest the sRGB EOTF of clamp01(v) whose re-encoding, round(OETF(l)
 * * 255), is imgexport_q8(v), so a float file always agrees with the
 * PNG. */
float imgexport_linear(float v);
/* The same guarantee as a half (OpenEXR half's bits). */
uint16_t imgexport_half_linear(float v);

/* What the files carry besides pixels. */
struct imgexport_meta {
	const char *parameters;	/* A1111 "parameters" text, or NULL */
	const char *manifest;	/* the job's manifest (JSON), or NULL */
};

/* Encodes w x h pixels (interleaved RGB floats in 0..1, row-major,
 * display-encoded sRGB as the PNG's) as format f (not IMG_PNG's 8 bits:
 * that is the stored PNG) into out (appended): 16-bit PNG and TIFF keep
 * the sRGB encoding, TIFF 32 and both EXRs hold linear light
 * (imgexport_linear), sRGB primaries. Returns 0, or -1 with a message in
 * err. */
int imgexport_encode(int f, int w, int h, const float *rgb,
    const struct imgexport_meta *m, struct buf *out, char *err,
    size_t errlen);

/* The float master of an image: OpenEXR, float R, G, B, ZIP-compressed
 * (lossless), the values as given (display-encoded, not linear: a
 * download converts), with the parameters as a "parameters" string
 * attribute.
 * Appended to out; returns 0, or -1 with a message in err. */
int imgexport_master_encode(int w, int h, const float *rgb,
    const char *parameters, struct buf *out, char *err, size_t errlen);

/* Reads a float master (or any single-part scanline OpenEXR file with
 * half or float R, G and B channels of at most IMGEXPORT_MAX_SIDE a
 * side, uncompressed, RLE or ZIP): returns 0 with a malloc'd *rgb of
 * w x h interleaved floats clamped to 0..1 (NaN as 0) and, when
 * parameters is not NULL, its "parameters" attribute in a malloc'd
 * *parameters (NULL when it has none); the caller frees both. Returns
 * -1 with a message in err. Stored bytes are untrusted: any input
 * fails cleanly, and none makes it allocate more than about 1100 times
 * its size. */
int imgexport_master_decode(const void *data, size_t len, int *w, int *h,
    float **rgb, char **parameters, char *err, size_t errlen);

/* The 8-bit RGB of rgb (w x h), as the PNG holds it: a malloc'd buffer,
 * or NULL when memory runs out. */
uint8_t *imgexport_rgb8(int w, int h, const float *rgb);

#endif
