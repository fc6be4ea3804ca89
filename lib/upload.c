/* upload.c - uploaded images checked from their header, decoded and
 * normalised to PNG (upload.h). */
#include "upload.h"
#include "config.h"
#include "i18n.h"
#include "image.h"
#include "util.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

void
upload_limits_of(const struct kiln_config *c, struct upload_limits *l)
{
	l->max_bytes = (size_t)c->upload_max_mb * 1048576;
	l->max_pixels = c->upload_max_pixels;
	l->max_side = c->upload_max_side;
}

static const uint8_t png_magic[8] = { 0x89, 'P', 'N', 'G', '\r', '\n',
	0x1a, '\n' };

enum upload_type
upload_sniff(const void *data, size_t len)
{
	const uint8_t *d = data;

	if (len >= 8 && memcmp(d, png_magic, 8) == 0)
		return UPLOAD_PNG;
	if (len >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff)
		return UPLOAD_JPEG;
	return UPLOAD_UNKNOWN;
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		(uint32_t)p[2] << 8 | p[3];
}

static unsigned
be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* A PNG's IHDR: the first chunk, 13 bytes, its CRC over type and data. */
static int
png_size(const uint8_t *d, size_t len, long *w, long *h, char *err,
	size_t errlen)
{
	if (len < 8 + 8 + 13 + 4)
		return errf(err, errlen, TR("truncated PNG header"));
	if (be32(d + 8) != 13 || memcmp(d + 12, "IHDR", 4) != 0)
		return errf(err, errlen, TR("corrupt PNG header (no IHDR "
			"chunk first)"));
	if (crc32(crc32(0, NULL, 0), d + 12, 17) != be32(d + 29))
		return errf(err, errlen, TR("corrupt PNG header (bad CRC)"));
	*w = (long)be32(d + 16);
	*h = (long)be32(d + 20);
	/* PNG's own limit: sides fit in 31 bits. */
	if (*w < 1 || *h < 1 || *w > 0x7fffffffL || *h > 0x7fffffffL)
		return errf(err, errlen, TR("corrupt PNG header (size %lux%lu)"),
			(unsigned long)*w, (unsigned long)*h);
	return 0;
}

/* 1 for the markers of a frame header: SOF0-3, 5-7, 9-11, 13-15 (C4
 * DHT, C8 JPG and CC DAC are not frames). */
static int
is_sof(unsigned m)
{
	return m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 &&
		m != 0xcc;
}

/* A JPEG's first frame header, walking the segments before it: every
 * marker but the standalone ones (TEM, RSTn) carries a 2-byte length
 * that includes itself. */
static int
jpeg_size(const uint8_t *d, size_t len, long *w, long *h, char *err,
	size_t errlen)
{
	size_t i = 2;

	while (i < len) {
		unsigned m, seg;

		if (d[i] != 0xff)
			return errf(err, errlen, TR("corrupt JPEG (no marker "
				"where one belongs)"));
		while (i < len && d[i] == 0xff)	/* fill bytes */
			i++;
		if (i >= len)
			break;
		m = d[i++];
		if (m == 0x01 || (m >= 0xd0 && m <= 0xd7))
			continue;
		if (m == 0xd9 || m == 0xda)
			return errf(err, errlen, TR("JPEG has no frame header "
				"before its image data"));
		if (len - i < 2)
			break;
		seg = be16(d + i);
		if (seg < 2)
			return errf(err, errlen, TR("corrupt JPEG (segment "
				"length %u)"), seg);
		if (is_sof(m)) {
			if (seg < 8 || len - i < 7)
				break;
			*h = (long)be16(d + i + 3);
			*w = (long)be16(d + i + 5);
			/* A height of 0 defers it to a DNL marker, which
			 * the decoder does not take. */
			if (*w < 1 || *h < 1)
				return errf(err, errlen, TR("corrupt JPEG header "
					"(size %ldx%ld)"), *w, *h);
			return 0;
		}
		if (len - i < seg)
			break;
		i += seg;
	}
	return errf(err, errlen, TR("truncated JPEG header"));
}

int
upload_header_size(const void *data, size_t len, enum upload_type *type,
	long *w, long *h, char *err, size_t errlen)
{
	*type = upload_sniff(data, len);
	switch (*type) {
	case UPLOAD_PNG:
		return png_size(data, len, w, h, err, errlen);
	case UPLOAD_JPEG:
		return jpeg_size(data, len, w, h, err, errlen);
	default:
		return errf(err, errlen, TR("is not a PNG or JPEG image"));
	}
}

/* 1 when a JPEG's data holds an end-of-image marker after its first
 * start-of-scan: libjpeg pads a truncated file with grey and calls it a
 * warning, so a cut-off upload would otherwise pass. Entropy-coded data
 * stuffs every 0xFF with 0x00, so FF D9 there is the marker. */
static int
jpeg_complete(const uint8_t *d, size_t len)
{
	size_t i = 2;

	/* The segments before the scan, by their lengths, as jpeg_size. */
	while (i + 4 <= len) {
		unsigned m;

		if (d[i] != 0xff)
			return 0;
		while (i < len && d[i] == 0xff)
			i++;
		if (i >= len)
			return 0;
		m = d[i++];
		if (m == 0x01 || (m >= 0xd0 && m <= 0xd7))
			continue;
		if (m == 0xd9 || i + 2 > len)
			return 0;
		i += be16(d + i);
		if (m == 0xda)
			break;
	}
	for (; i + 1 < len; i++)
		if (d[i] == 0xff && d[i + 1] == 0xd9)
			return 1;
	return 0;
}

void
upload_image_free(struct upload_image *u)
{
	if (u == NULL)
		return;
	free(u->rgb);
	free(u->png);
	memset(u, 0, sizeof(*u));
}

int
upload_image_check(const void *data, size_t len,
	const struct upload_limits *l, struct upload_image *out, char *err,
	size_t errlen)
{
	unsigned char hash[crypto_hash_sha256_BYTES];
	enum upload_type type;
	char e[256];
	long w, h;
	int dw, dh;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return errf(err, errlen, TR("is empty"));
	if (len > l->max_bytes)
		return errf(err, errlen, TR("is %.1f MB, over the limit of "
			"%zu MB"), (double)len / 1048576.0,
			l->max_bytes / 1048576);
	if (upload_header_size(data, len, &type, &w, &h, e, sizeof(e)) != 0)
		return errf(err, errlen, "%s", e);
	/* The header's claim, before a byte is decoded: a 20000x20000
	 * image of a few kilobytes would take 1.6 GB to hold. */
	if (w > l->max_side || h > l->max_side ||
	    (long long)w * h > l->max_pixels)
		return errf(err, errlen, TR("is %ldx%ld pixels; the limit is "
			"%ld on a side and %lld pixels in all"), w, h,
			l->max_side, l->max_pixels);
	if (type == UPLOAD_JPEG && !jpeg_complete(data, len))
		return errf(err, errlen, TR("is a truncated JPEG (no end of "
			"image)"));
	if (image_decode_rgb(data, len, "image", &dw, &dh, &out->rgb, e,
	    sizeof(e)) != 0)
		return errf(err, errlen, TR("cannot be decoded: truncated or "
			"corrupt %s"), type == UPLOAD_PNG ? "PNG" : "JPEG");
	/* The decoder must agree with the header it was checked by. */
	if (dw != w || dh != h) {
		upload_image_free(out);
		return errf(err, errlen, TR("cannot be decoded: corrupt image "
			"(header %ldx%ld, data %dx%d)"), w, h, dw, dh);
	}
	out->w = dw;
	out->h = dh;
	if (image_encode_png(dw, dh, out->rgb, NULL, &out->png,
	    &out->png_len, e, sizeof(e)) != 0) {
		upload_image_free(out);
		return errf(err, errlen, TR("cannot be stored: %s"), e);
	}
	crypto_hash_sha256(hash, out->png, out->png_len);
	for (i = 0; i < sizeof(hash); i++)
		snprintf(out->sha256 + 2 * i, 3, "%02x", hash[i]);
	return 0;
}

int
upload_base64_decode(const char *text, size_t len, size_t max, uint8_t **out,
	size_t *outlen, char *err, size_t errlen)
{
	const char *comma;
	uint8_t *bin;
	size_t cap, got = 0;

	*out = NULL;
	*outlen = 0;
	/* A data URI, as A1111's decode_base64_to_image takes it: what
	 * follows the comma. */
	if (len >= 5 && !strncmp(text, "data:", 5)) {
		comma = memchr(text, ',', len);
		if (comma == NULL || memmem(text, (size_t)(comma - text),
		    ";base64", 7) == NULL)
			return errf(err, errlen, "is a data URI that is not "
				"base64");
		len -= (size_t)(comma + 1 - text);
		text = comma + 1;
	} else if ((len >= 7 && !strncmp(text, "http://", 7)) ||
	    (len >= 8 && !strncmp(text, "https://", 8))) {
		return errf(err, errlen, "must be the image as base64; kiln "
			"does not fetch URLs");
	}
	if (len == 0)
		return errf(err, errlen, "is empty");
	/* Before decoding: 4 characters make 3 bytes. */
	if (len / 4 * 3 > max + 3)
		return errf(err, errlen, "is %.1f MB, over the limit of %zu MB",
			(double)(len / 4 * 3) / 1048576.0, max / 1048576);
	cap = len / 4 * 3 + 3;
	bin = malloc(cap);
	if (bin == NULL)
		return errf(err, errlen, "out of memory");
	if (sodium_base642bin(bin, cap, text, len, "\r\n", &got, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 &&
	    sodium_base642bin(bin, cap, text, len, "\r\n", &got, NULL,
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0) {
		free(bin);
		return errf(err, errlen, "is not valid base64");
	}
	if (got > max) {
		free(bin);
		return errf(err, errlen, "is %.1f MB, over the limit of %zu MB",
			(double)got / 1048576.0, max / 1048576);
	}
	*out = bin;
	*outlen = got;
	return 0;
}
