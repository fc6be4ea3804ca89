/* test_upload.c - uploaded images: the type from the magic bytes, the
 * size from a PNG's IHDR or a JPEG's frame header before any decoding
 * (a 20000x20000 header of a few bytes is refused without allocating
 * it), truncated and corrupt files, the normalised PNG and its hash,
 * base64 and data URIs; and the local store's keys and atomic files. */
#include "image.h"
#include "storage.h"
#include "tap.h"
#include "upload.h"
#include "util.h"

#include <gd.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static const struct upload_limits lim = { 1048576, 4096 * 4096, 8192 };

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* The first 33 bytes of a PNG: signature and an IHDR of w x h with a
 * right CRC (computed here by zlib over type and data), then tail. */
static size_t
png_head(uint8_t *d, uint32_t w, uint32_t h, const char *tail)
{
	static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a,
		'\n' };

	memcpy(d, sig, 8);
	put_be32(d + 8, 13);
	memcpy(d + 12, "IHDR", 4);
	put_be32(d + 16, w);
	put_be32(d + 20, h);
	d[24] = 8;	/* bit depth */
	d[25] = 2;	/* RGB */
	d[26] = d[27] = d[28] = 0;
	put_be32(d + 29, (uint32_t)crc32(0, d + 12, 17));
	memcpy(d + 33, tail, strlen(tail));
	return 33 + strlen(tail);
}

/* A real w x h image of colour c, encoded by libgd (png or jpeg). */
static uint8_t *
gd_image(int w, int h, int c, int jpeg, int *size)
{
	gdImagePtr im = gdImageCreateTrueColor(w, h);
	uint8_t *out, *p;
	int x, y;

	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++)
			im->tpixels[y][x] = c;
	p = jpeg ? gdImageJpegPtr(im, size, 90) : gdImagePngPtr(im, size);
	gdImageDestroy(im);
	out = malloc((size_t)*size);
	memcpy(out, p, (size_t)*size);
	gdFree(p);
	return out;
}

static void
sniff_by_magic_bytes(void)
{
	CHECK(upload_sniff("\x89PNG\r\n\x1a\n", 8) == UPLOAD_PNG);
	CHECK(upload_sniff("\xff\xd8\xff\xe0", 4) == UPLOAD_JPEG);
	CHECK(upload_sniff("GIF89a", 6) == UPLOAD_UNKNOWN);
	CHECK(upload_sniff("\x89PNG", 4) == UPLOAD_UNKNOWN);
	CHECK(upload_sniff("", 0) == UPLOAD_UNKNOWN);
}

static void
png_header_size_and_bomb(void)
{
	uint8_t d[64];
	struct upload_image u;
	enum upload_type t;
	char err[256];
	long w = 0, h = 0;
	size_t n = png_head(d, 20000, 20000, "");

	CHECK(upload_header_size(d, n, &t, &w, &h, err, sizeof(err)) == 0);
	CHECK(t == UPLOAD_PNG && w == 20000 && h == 20000);
	/* Refused from the header: the data after it is not even there. */
	CHECK(upload_image_check(d, n, &lim, &u, err, sizeof(err)) == -1);
	CHECK(strstr(err, "20000x20000 pixels") != NULL);
	CHECK(u.rgb == NULL && u.png == NULL);
	/* Under the side limit, over the pixel count. */
	n = png_head(d, 8000, 4000, "");
	CHECK(upload_image_check(d, n, &lim, &u, err, sizeof(err)) == -1);
	CHECK(strstr(err, "8000x4000") != NULL);
	/* A bad CRC, a short header, a zero side. */
	n = png_head(d, 64, 64, "");
	d[30] ^= 1;
	CHECK(upload_header_size(d, n, &t, &w, &h, err, sizeof(err)) == -1);
	CHECK(strstr(err, "bad CRC") != NULL);
	CHECK(upload_header_size(d, 20, &t, &w, &h, err, sizeof(err)) == -1);
	CHECK(strstr(err, "truncated PNG header") != NULL);
	n = png_head(d, 0, 64, "");
	CHECK(upload_header_size(d, n, &t, &w, &h, err, sizeof(err)) == -1);
}

static void
jpeg_header_size(void)
{
	/* SOI, an APP0 of 16 bytes, then SOF0 of 300 wide x 200 high. */
	static const uint8_t j[] = { 0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J',
		'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0xff, 0xc0, 0x00,
		0x11, 8, 0x00, 0xc8, 0x01, 0x2c, 3, 1, 0x22, 0, 2, 0x11, 1, 3,
		0x11, 1 };
	static const uint8_t big[] = { 0xff, 0xd8, 0xff, 0xc2, 0x00, 0x11, 8,
		0xff, 0xff, 0xff, 0xff, 3 };
	static const uint8_t nosof[] = { 0xff, 0xd8, 0xff, 0xda, 0, 2 };
	struct upload_image u;
	enum upload_type t;
	char err[256];
	long w = 0, h = 0;

	CHECK(upload_header_size(j, sizeof(j), &t, &w, &h, err,
	    sizeof(err)) == 0);
	CHECK(t == UPLOAD_JPEG && w == 300 && h == 200);
	/* Cut inside the frame header. */
	CHECK(upload_header_size(j, 26, &t, &w, &h, err, sizeof(err)) == -1);
	CHECK(strstr(err, "truncated JPEG header") != NULL);
	CHECK(upload_header_size(big, sizeof(big), &t, &w, &h, err,
	    sizeof(err)) == 0 && w == 65535 && h == 65535);
	CHECK(upload_image_check(big, sizeof(big), &lim, &u, err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "65535x65535") != NULL);
	CHECK(upload_header_size(nosof, sizeof(nosof), &t, &w, &h, err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "no frame header") != NULL);
}

static void
accepted_png_is_normalised(void)
{
	unsigned char hash[32];
	struct upload_image u;
	char err[256], hex[65];
	int size, i;
	uint8_t *png = gd_image(24, 16, gdTrueColor(10, 200, 30), 0, &size);
	int w, h;
	uint8_t *rgb = NULL;

	CHECK(upload_image_check(png, (size_t)size, &lim, &u, err,
	    sizeof(err)) == 0);
	CHECK(u.w == 24 && u.h == 16 && u.png != NULL);
	CHECK(u.rgb != NULL && u.rgb[0] == 10 && u.rgb[1] == 200 &&
	    u.rgb[2] == 30);
	/* The stored PNG decodes to the same pixels; its hash is its own. */
	CHECK(image_decode_rgb(u.png, u.png_len, "n", &w, &h, &rgb, err,
	    sizeof(err)) == 0);
	CHECK(w == 24 && h == 16 && rgb != NULL &&
	    !memcmp(rgb, u.rgb, 24 * 16 * 3));
	crypto_hash_sha256(hash, u.png, u.png_len);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", hash[i]);
	CHECK_STR(u.sha256, hex);
	free(rgb);
	upload_image_free(&u);
	CHECK(u.png == NULL);
	/* Cut short: the header passes, the decode does not. */
	CHECK(upload_image_check(png, (size_t)size - 20, &lim, &u, err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "truncated or corrupt PNG") != NULL);
	CHECK(u.rgb == NULL && u.png == NULL);
	free(png);
}

static void
jpeg_accepted_and_truncated(void)
{
	struct upload_image u;
	char err[256];
	int size;
	uint8_t *jpg = gd_image(32, 32, gdTrueColor(200, 100, 50), 1, &size);

	CHECK(upload_image_check(jpg, (size_t)size, &lim, &u, err,
	    sizeof(err)) == 0);
	CHECK(u.w == 32 && u.h == 32);
	upload_image_free(&u);
	/* libjpeg would pad this with grey and call it a warning. */
	CHECK(upload_image_check(jpg, (size_t)size - 40, &lim, &u, err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "truncated JPEG") != NULL);
	free(jpg);
}

static void
byte_limit_and_junk(void)
{
	struct upload_limits small = lim;
	struct upload_image u;
	char err[256];
	int size;
	uint8_t *png = gd_image(8, 8, 0, 0, &size);

	small.max_bytes = (size_t)size - 1;
	CHECK(upload_image_check(png, (size_t)size, &small, &u, err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "over the limit") != NULL);
	CHECK(upload_image_check("GIF89a......", 12, &lim, &u, err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "not a PNG or JPEG") != NULL);
	CHECK(upload_image_check("", 0, &lim, &u, err, sizeof(err)) == -1);
	free(png);
}

static void
base64_plain_and_data_uri(void)
{
	uint8_t *out = NULL;
	size_t n = 0;
	char err[256];

	CHECK(upload_base64_decode("aGVsbG8=", 8, 100, &out, &n, err,
	    sizeof(err)) == 0);
	CHECK(n == 5 && !memcmp(out, "hello", 5));
	free(out);
	CHECK(upload_base64_decode("aGVsbG8", 7, 100, &out, &n, err,
	    sizeof(err)) == 0 && n == 5);
	free(out);
	CHECK(upload_base64_decode("data:image/png;base64,aGk=", 26, 100,
	    &out, &n, err, sizeof(err)) == 0);
	CHECK(n == 2 && !memcmp(out, "hi", 2));
	free(out);
	CHECK(upload_base64_decode("data:text/plain,hi", 18, 100, &out, &n,
	    err, sizeof(err)) == -1);
	CHECK(upload_base64_decode("https://example.com/x.png", 25, 100, &out,
	    &n, err, sizeof(err)) == -1);
	CHECK(strstr(err, "does not fetch URLs") != NULL);
	CHECK(upload_base64_decode("a$b=", 4, 100, &out, &n, err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "not valid base64") != NULL);
	/* Over the limit from the text's length, before decoding. */
	CHECK(upload_base64_decode("aGVsbG8gd29ybGQh", 16, 5, &out, &n, err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "over the limit") != NULL && out == NULL);
}

static void
storage_keys_and_files(void)
{
	char dir[] = "/tmp/kiln-test-upload-XXXXXX", path[256], err[256];
	struct storage *s;
	struct buf b = { 0 };
	struct stat st;

	CHECK(storage_key_ok("jobs/1/inputs/init.png"));
	CHECK(!storage_key_ok("../etc/passwd"));
	CHECK(!storage_key_ok("jobs/../x"));
	CHECK(!storage_key_ok("/abs"));
	CHECK(!storage_key_ok("jobs//x"));
	CHECK(!storage_key_ok("jobs/.hidden"));
	CHECK(!storage_key_ok(""));
	CHECK(mkdtemp(dir) != NULL);
	s = storage_local_new(dir);
	CHECK(s != NULL);
	CHECK(storage_put(s, "jobs/7/inputs/init.png", "abc", 3, err,
	    sizeof(err)) == 0);
	CHECK(storage_get(s, "jobs/7/inputs/init.png", 100, &b, err,
	    sizeof(err)) == 0);
	CHECK(b.len == 3 && !memcmp(b.data, "abc", 3));
	buf_free(&b);
	CHECK(storage_get(s, "jobs/7/inputs/none.png", 100, &b, err,
	    sizeof(err)) == 1);
	CHECK(storage_put(s, "../x", "abc", 3, err, sizeof(err)) == -1);
	CHECK(storage_put(s, "jobs/7/a.png", "z", 1, err, sizeof(err)) == 0);
	CHECK(storage_remove(s, "jobs/7/a.png") == 0);
	CHECK(storage_remove(s, "jobs/7/a.png") == 0);
	CHECK(storage_remove_prefix(s, "jobs/7") == 0);
	snprintf(path, sizeof(path), "%s/jobs/7", dir);
	CHECK(stat(path, &st) != 0);
	snprintf(path, sizeof(path), "%s/jobs", dir);
	CHECK(rmdir(path) == 0);
	CHECK(rmdir(dir) == 0);
	storage_free(s);
}

int
main(void)
{
	RUN(sniff_by_magic_bytes);
	RUN(png_header_size_and_bomb);
	RUN(jpeg_header_size);
	RUN(accepted_png_is_normalised);
	RUN(jpeg_accepted_and_truncated);
	RUN(byte_limit_and_junk);
	RUN(base64_plain_and_data_uri);
	RUN(storage_keys_and_files);
	return tap_done();
}
