/* upload.h - images users send as job inputs (an img2img init image, an
 * inpainting mask, a ControlNet image), checked once on the web side: the
 * type from the magic bytes (PNG or JPEG, never the name or the declared
 * content type), the byte size, the pixel count read from the header
 * before anything is decoded (so a decompression bomb is refused without
 * allocating it), then decoded and re-encoded as a plain PNG: what is
 * stored carries no metadata of the original. */
#ifndef KILN_UPLOAD_H
#define KILN_UPLOAD_H

#include <stddef.h>
#include <stdint.h>

struct kiln_config;

/* What an upload may be ([limits] upload_max_mb, upload_max_pixels,
 * upload_max_side). */
struct upload_limits {
	size_t max_bytes;
	long long max_pixels;
	long max_side;
};

void upload_limits_of(const struct kiln_config *c, struct upload_limits *l);

enum upload_type { UPLOAD_UNKNOWN, UPLOAD_PNG, UPLOAD_JPEG };

/* The type of data by its first bytes. */
enum upload_type upload_sniff(const void *data, size_t len);

/* The image's width and height from its header alone: a PNG's IHDR
 * (its CRC checked), a JPEG's first frame header (SOFn), walking the
 * segments before it by their lengths. Returns 0 with *type, *w and *h,
 * or -1 with why in err ("not a PNG or JPEG image", "truncated PNG
 * header", "corrupt PNG header (bad CRC)", "JPEG has no frame header
 * before its image data"). */
int upload_header_size(const void *data, size_t len, enum upload_type *type,
	long *w, long *h, char *err, size_t errlen);

/* An accepted image: its size, the normalised PNG and that PNG's
 * SHA-256 (64 lower-case hex digits). */
struct upload_image {
	int w, h;
	uint8_t *rgb;		/* w x h x 3, for checks against others */
	uint8_t *png;
	size_t png_len;
	char sha256[65];
};

/* Frees the pixels and PNG and zeroes u; accepts NULL. */
void upload_image_free(struct upload_image *u);

/*
 * Checks len bytes of data against l and, when they pass, decodes and
 * re-encodes them into *out. In order: the byte size, the type, the
 * header's size against max_side and max_pixels (nothing decoded yet),
 * then the decode itself (a truncated or corrupt file fails here).
 * Returns 0 with *out (free with upload_image_free), or -1 with a
 * message for the user in err, which does not name the field (the
 * caller does).
 */
int upload_image_check(const void *data, size_t len,
	const struct upload_limits *l, struct upload_image *out, char *err,
	size_t errlen);

/* Decodes base64 text (len bytes) as AUTOMATIC1111's clients send an
 * image: plain, or a "data:image/...;base64," URI; padding optional,
 * line breaks ignored. A decoded size over max is refused before
 * decoding. Returns 0 with a malloc'd *out of *outlen bytes, or -1 with
 * why in err (not base64, a URL, too large). */
int upload_base64_decode(const char *text, size_t len, size_t max,
	uint8_t **out, size_t *outlen, char *err, size_t errlen);

#endif
