/* test_safetensors.c - the safetensors loader: float16/bfloat16 bits, round
 * trips, every kind of malformed header with its message, and the model
 * part mapping of single-file checkpoints and diffusers folders. */
#include "half.h"
#include "safetensors.h"
#include "tap.h"

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME "model.safetensors"

static char tmpdir[64];
static const unsigned char zeros[256];
static const unsigned char zeros8k[8192];

/* Builds a file image: 8-byte little-endian header length, hlen header
 * bytes, dlen data bytes. Returns malloc'ed bytes (total in *len). */
static unsigned char *
image_n(const char *hdr, size_t hlen, const void *data, size_t dlen,
    size_t *len)
{
	unsigned char *b = malloc(8 + hlen + dlen + 1);
	uint64_t n = hlen;
	int i;

	if (b == NULL)
		abort();
	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)(n >> (8 * i));
	memcpy(b + 8, hdr, hlen);
	if (dlen > 0)
		memcpy(b + 8 + hlen, data, dlen);
	*len = 8 + hlen + dlen;
	return b;
}

static unsigned char *
image(const char *hdr, const void *data, size_t dlen, size_t *len)
{
	return image_n(hdr, strlen(hdr), data, dlen, len);
}

/* Images opened by open_mem: the files borrow them until the end. */
static unsigned char *kept[64];
static size_t nkept;

static struct st_file *
open_mem(const char *hdr, const void *data, size_t dlen, char *err,
    size_t errlen)
{
	size_t len;
	unsigned char *b = image(hdr, data, dlen, &len);

	if (nkept == sizeof(kept) / sizeof(kept[0]))
		abort();
	kept[nkept++] = b;
	return st_open_mem(b, len, NAME, err, errlen);
}

/* Expects hdr + data to be refused with a message that names the file and
 * contains want. */
static void
expect_mem_error_n(const char *hdr, size_t hlen, const void *data,
    size_t dlen, const char *want, int line)
{
	char err[512] = "";
	size_t len;
	unsigned char *b = image_n(hdr, hlen, data, dlen, &len);
	struct st_file *f = st_open_mem(b, len, NAME, err, sizeof(err));

	if (f != NULL || strncmp(err, NAME ": ", strlen(NAME) + 2) != 0 ||
	    strstr(err, want) == NULL) {
		tap_failed_checks++;
		printf("# line %d: want an error containing \"%s\", got %s "
		    "\"%s\"\n", line, want, f ? "success" : "", err);
	}
	st_close(f);
	free(b);
}

#define EXPECT_ERR(hdr, data, dlen, want) \
	expect_mem_error_n(hdr, strlen(hdr), data, dlen, want, __LINE__)

static void
write_bytes(const char *path, const void *b, size_t n)
{
	FILE *fp = fopen(path, "wb");

	if (fp == NULL || fwrite(b, 1, n, fp) != n || fclose(fp) != 0) {
		printf("# cannot write %s\n", path);
		abort();
	}
}

/* Makes the folders on the way to tmpdir/rel; returns the full path in a
 * static buffer. */
static const char *
make_parents(const char *rel)
{
	static char path[512];
	char *p;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	for (p = path + strlen(tmpdir) + 1; (p = strchr(p, '/')) != NULL;
	    p++) {
		*p = '\0';
		if (mkdir(path, 0700) == -1 && errno != EEXIST)
			abort();
		*p = '/';
	}
	return path;
}

/* Writes a safetensors file at tmpdir/rel. */
static void
write_st(const char *rel, const char *hdr, const void *data, size_t dlen)
{
	unsigned char *b;
	size_t len;

	b = image(hdr, data, dlen, &len);
	write_bytes(make_parents(rel), b, len);
	free(b);
}

static void
write_text(const char *rel, const char *text)
{
	write_bytes(make_parents(rel), text, strlen(text));
}

static const char *
tpath(const char *rel)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	return path;
}

static int
same_bits(float a, float b)
{
	return memcmp(&a, &b, sizeof(a)) == 0;
}

/* --- float16 / bfloat16 -------------------------------------------------- */

static void
half_bits_widen(void)
{
	CHECK(same_bits(half_to_float(0x3c00), 1.0f));
	CHECK(same_bits(half_to_float(0x7bff), 65504.0f));
	CHECK(same_bits(half_to_float(0x0001), 0x1p-24f));	/* 5.96e-8 */
	CHECK(same_bits(half_to_float(0x03ff), 0x1.ff8p-15f));
	CHECK(same_bits(half_to_float(0x0400), 0x1p-14f));
	CHECK(same_bits(half_to_float(0x8000), -0.0f));
	CHECK(same_bits(half_to_float(0xc000), -2.0f));
	CHECK(same_bits(half_to_float(0x7c00), INFINITY));
	CHECK(same_bits(half_to_float(0xfc00), -INFINITY));
	CHECK(isnan(half_to_float(0x7e00)));
	CHECK(isnan(half_to_float(0x7c01)));
	CHECK(same_bits(bf16_to_float(0x3f80), 1.0f));
	CHECK(same_bits(bf16_to_float(0xc000), -2.0f));
	CHECK(same_bits(bf16_to_float(0x0001), 0x1p-133f));
	CHECK(same_bits(bf16_to_float(0xff80), -INFINITY));
}

static void
half_rounding(void)
{
	/* ties go to the even neighbour */
	CHECK(float_to_half(1.0f + 0x1p-11f) == 0x3c00);
	CHECK(float_to_half(1.0f + 3 * 0x1p-11f) == 0x3c02);
	CHECK(float_to_half(1.0f + 0x1p-11f + 0x1p-20f) == 0x3c01);
	CHECK(float_to_half(65504.0f) == 0x7bff);
	CHECK(float_to_half(65519.996f) == 0x7bff);
	CHECK(float_to_half(65520.0f) == 0x7c00);
	CHECK(float_to_half(-1e6f) == 0xfc00);
	/* subnormals: 2^-25 is a tie between 0 and 2^-24 */
	CHECK(float_to_half(0x1p-24f) == 0x0001);
	CHECK(float_to_half(0x1p-25f) == 0x0000);
	CHECK(float_to_half(0x1p-25f + 0x1p-40f) == 0x0001);
	CHECK(float_to_half(3 * 0x1p-25f) == 0x0002);
	CHECK(float_to_half(-0x1p-26f) == 0x8000);
	CHECK(float_to_half(0x1.ffcp-15f) == 0x0400);	/* rounds up to normal */
	CHECK(float_to_half(0x1p-14f) == 0x0400);
	CHECK(float_to_half(-0.0f) == 0x8000);
	CHECK(float_to_half(INFINITY) == 0x7c00);
	CHECK((float_to_half(NAN) & 0x7c00) == 0x7c00 &&
	    (float_to_half(NAN) & 0x3ff) != 0);
	CHECK(float_to_bf16(1.0f) == 0x3f80);
	CHECK(float_to_bf16(1.0f + 0x1p-8f) == 0x3f80);	/* tie: even */
	CHECK(float_to_bf16(1.0f + 3 * 0x1p-8f) == 0x3f82);
	CHECK((float_to_bf16(NAN) & 0x7fc0) == 0x7fc0);
}

/* Every half survives a trip through float and back. */
static void
half_round_trip_all(void)
{
	uint32_t h;
	int bad = 0;

	for (h = 0; h < 0x10000; h++) {
		float f = half_to_float((uint16_t)h);

		if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0)
			bad += !isnan(f);
		else
			bad += float_to_half(f) != h;
	}
	CHECK(bad == 0);
}

/* --- valid files --------------------------------------------------------- */

static void
round_trip_f32_f16_bf16(void)
{
	static const float a[4] = { 1.5f, -2.25f, 0x1p-130f, 3e38f };
	static const uint16_t h[8] = { 0x3c00, 0x7bff, 0x0001, 0x8000,
	    0x7c00, 0xfc00, 0x7e00, 0x03ff };
	static const uint16_t b[4] = { 0x3f80, 0xc000, 0x7f80, 0x0001 };
	unsigned char data[16 + 16 + 8];
	char err[256] = "";
	struct st_file *f;
	const struct st_tensor *t;
	float out[8];
	uint16_t o16[8];

	memcpy(data, a, 16);
	memcpy(data + 16, h, 16);
	memcpy(data + 32, b, 8);
	f = open_mem("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],"
	    "\"data_offsets\":[0,16]},"
	    "\"h\":{\"dtype\":\"F16\",\"shape\":[8],\"data_offsets\":[16,32]},"
	    "\"b\":{\"dtype\":\"BF16\",\"shape\":[1,1,4],"
	    "\"data_offsets\":[32,40]}}    ", data, sizeof(data), err,
	    sizeof(err));
	CHECK_STR(err, "");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	CHECK(st_count(f) == 3);
	/* sorted by name */
	CHECK_STR(st_get(f, 0)->name, "a");
	CHECK_STR(st_get(f, 1)->name, "b");
	CHECK_STR(st_get(f, 2)->name, "h");
	CHECK(st_get(f, 3) == NULL);
	CHECK(st_find(f, "nope") == NULL);

	t = st_find(f, "a");
	CHECK(t != NULL && t->dtype == ST_F32 && t->ndim == 2 &&
	    t->shape[0] == 2 && t->shape[1] == 2 && t->nelems == 4 &&
	    t->nbytes == 16);
	CHECK(st_to_f32(t, out, 4, err, sizeof(err)) == 0);
	CHECK(memcmp(out, a, 16) == 0);
	CHECK(st_to_f16(t, o16, 4, err, sizeof(err)) == -1);	/* 3e38 */
	CHECK(strstr(err, "tensor 'a': value 3e+38 at index 3 is too large "
	    "for float16") != NULL);

	t = st_find(f, "h");
	CHECK(t != NULL && t->dtype == ST_F16 && t->nelems == 8);
	CHECK(st_to_f32(t, out, 8, err, sizeof(err)) == 0);
	CHECK(same_bits(out[0], 1.0f));
	CHECK(same_bits(out[1], 65504.0f));
	CHECK(same_bits(out[2], 5.9604644775390625e-8f));
	CHECK(same_bits(out[3], -0.0f) && signbit(out[3]));
	CHECK(same_bits(out[4], INFINITY));
	CHECK(same_bits(out[5], -INFINITY));
	CHECK(isnan(out[6]));
	CHECK(same_bits(out[7], 6.09755516052246094e-5f));
	CHECK(st_to_f16(t, o16, 8, err, sizeof(err)) == 0);
	CHECK(memcmp(o16, h, 16) == 0);

	t = st_find(f, "b");
	CHECK(t != NULL && t->dtype == ST_BF16 && t->ndim == 3 &&
	    t->shape[2] == 4);
	CHECK(st_to_f32(t, out, 4, err, sizeof(err)) == 0);
	CHECK(same_bits(out[0], 1.0f));
	CHECK(same_bits(out[1], -2.0f));
	CHECK(same_bits(out[2], INFINITY));
	CHECK(same_bits(out[3], 0x1p-133f));
	CHECK(st_to_f16(t, o16, 4, err, sizeof(err)) == 0);
	CHECK(o16[0] == 0x3c00 && o16[1] == 0xc000 && o16[2] == 0x7c00 &&
	    o16[3] == 0x0000);

	/* the destination must match the tensor exactly */
	CHECK(st_to_f32(t, out, 3, err, sizeof(err)) == -1);
	CHECK(strstr(err, "tensor 'b': has 4 values but the F32 destination "
	    "holds 3") != NULL);
	st_close(f);
}

static void
f32_to_f16_rounds_to_nearest_even(void)
{
	static const float v[10] = { 1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f,
	    65504.0f, 0x1p-24f, 0x1p-25f, 3 * 0x1p-25f, -0.0f, INFINITY,
	    -65519.0f, 0.1f };
	static const uint16_t want[10] = { 0x3c00, 0x3c02, 0x7bff, 0x0001,
	    0x0000, 0x0002, 0x8000, 0x7c00, 0xfbff, 0x2e66 };
	char err[256] = "";
	uint16_t out[10];
	struct st_file *f;

	f = open_mem("{\"v\":{\"dtype\":\"F32\",\"shape\":[10],"
	    "\"data_offsets\":[0,40]}}", v, sizeof(v), err, sizeof(err));
	CHECK(f != NULL);
	if (f == NULL)
		return;
	CHECK(st_to_f16(st_find(f, "v"), out, 10, err, sizeof(err)) == 0);
	CHECK(memcmp(out, want, sizeof(want)) == 0);
	st_close(f);
}

static void
metadata_and_empty(void)
{
	char err[256] = "";
	struct st_file *f;

	f = open_mem("{\"__metadata__\":{\"format\":\"pt\",\"x\":\"\"},"
	    "\"w\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}",
	    zeros, 4, err, sizeof(err));
	CHECK(f != NULL);
	if (f != NULL) {
		CHECK(st_count(f) == 1);
		CHECK_STR(st_get(f, 0)->name, "w");
		CHECK(st_find(f, "__metadata__") == NULL);
		CHECK_STR(st_metadata(f, "format"), "pt");
		CHECK_STR(st_metadata(f, "x"), "");
		CHECK(st_metadata(f, "y") == NULL);
		CHECK_STR(st_name(f), NAME);
	}
	st_close(f);

	f = open_mem("{}", NULL, 0, err, sizeof(err));
	CHECK(f != NULL && st_count(f) == 0 && st_find(f, "a") == NULL);
	st_close(f);
	/* space padding to 8 bytes, as the reference writer does */
	f = open_mem("{}      ", NULL, 0, err, sizeof(err));
	CHECK(f != NULL && st_count(f) == 0);
	st_close(f);
	/* a scalar and an empty tensor are fine */
	f = open_mem("{\"s\":{\"dtype\":\"F32\",\"shape\":[],"
	    "\"data_offsets\":[0,4]},\"e\":{\"dtype\":\"F32\",\"shape\":[3,0],"
	    "\"data_offsets\":[4,4]}}", "\0\0\x80\x3f", 4, err, sizeof(err));
	CHECK(f != NULL);
	if (f != NULL) {
		float one = 0, none[1];
		const struct st_tensor *s = st_find(f, "s");

		CHECK(s->ndim == 0 && s->nelems == 1);
		CHECK(st_to_f32(s, &one, 1, err, sizeof(err)) == 0 &&
		    one == 1.0f);
		CHECK(st_find(f, "e")->nelems == 0);
		CHECK(st_to_f32(st_find(f, "e"), none, 0, err,
		    sizeof(err)) == 0);
	}
	st_close(f);
	st_close(NULL);
}

/* An int64 buffer is listed but refused as floating point. */
static void
int64_listed_but_not_converted(void)
{
	char err[256] = "";
	struct st_file *f;
	float out[3];

	f = open_mem("{\"y\":{\"dtype\":\"I64\",\"shape\":[1,3],"
	    "\"data_offsets\":[0,24]}}", zeros, 24, err, sizeof(err));
	CHECK(f != NULL);
	if (f == NULL)
		return;
	CHECK(st_count(f) == 1 && st_get(f, 0)->dtype == ST_I64);
	CHECK_STR(st_dtype_name(st_get(f, 0)->dtype), "I64");
	CHECK(st_to_f32(st_get(f, 0), out, 3, err, sizeof(err)) == -1);
	CHECK(strstr(err, NAME ": tensor 'y': dtype I64 cannot be loaded as "
	    "floating point") == err);
	CHECK(st_to_f16(st_get(f, 0), NULL, 3, err, sizeof(err)) == -1);
	CHECK(strstr(err, "dtype I64 cannot be loaded") != NULL);
	st_close(f);
}

/* --- malformed files ----------------------------------------------------- */

static void
short_and_truncated_files(void)
{
	unsigned char b[16];
	char err[256], path[512];
	struct st_file *f;
	size_t n;

	/* files of 0..7 bytes */
	memset(b, 0, sizeof(b));
	for (n = 0; n < 8; n++) {
		snprintf(path, sizeof(path), "%s/short%zu.safetensors", tmpdir,
		    n);
		write_bytes(path, b, n);
		err[0] = '\0';
		f = st_open(path, err, sizeof(err));
		CHECK(f == NULL);
		CHECK(strstr(err, path) == err);
		CHECK(strstr(err, "file is too small") != NULL);
		st_close(f);
		f = st_open_mem(b, n, NAME, err, sizeof(err));
		CHECK(f == NULL && strstr(err, "too small") != NULL);
	}
	/* header length bigger than the file */
	b[0] = 1234 & 0xff;
	b[1] = 1234 >> 8;
	write_bytes(tpath("trunc.safetensors"), b, 8);
	f = st_open(tpath("trunc.safetensors"), err, sizeof(err));
	CHECK(f == NULL);
	CHECK(strstr(err, "trunc.safetensors: file is truncated: header says "
	    "1234 bytes but only 0 follow") != NULL);
	{
		unsigned char big[108] = { 0xd2, 0x04 };

		f = st_open_mem(big, sizeof(big), NAME, err, sizeof(err));
		CHECK(f == NULL);
		CHECK_STR(err, NAME ": file is truncated: header says 1234 "
		    "bytes but only 100 follow");
	}
	/* data offsets beyond the end */
	EXPECT_ERR("{\"x.weight\":{\"dtype\":\"F32\",\"shape\":[24],"
	    "\"data_offsets\":[0,96]}}", zeros, 64,
	    "tensor 'x.weight': data_offsets [0, 96] exceed the data size "
	    "(64 bytes): the file is truncated");
	/* a valid file cut short anywhere is refused */
	{
		static const float v[4] = { 1, 2, 3, 4 };
		size_t len, cut;
		unsigned char *img = image("{\"v\":{\"dtype\":\"F32\","
		    "\"shape\":[4],\"data_offsets\":[0,16]}}", v, 16, &len);
		int ok = 1;

		for (cut = 0; cut < len; cut++) {
			f = st_open_mem(img, cut, NAME, err, sizeof(err));
			ok &= f == NULL && strlen(err) > 0;
			st_close(f);
		}
		f = st_open_mem(img, len, NAME, err, sizeof(err));
		CHECK(ok && f != NULL);
		st_close(f);
		free(img);
	}
}

static void
oversized_header(void)
{
	unsigned char b[16] = { 0 };
	char err[256];

	b[5] = 1;	/* 2^40 */
	CHECK(st_open_mem(b, sizeof(b), NAME, err, sizeof(err)) == NULL);
	CHECK_STR(err, NAME ": header too large: 1099511627776 bytes (the "
	    "limit is 100000000)");
	memset(b, 0xff, 8);
	CHECK(st_open_mem(b, sizeof(b), NAME, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "header too large: 18446744073709551615") != NULL);
}

static void
header_not_json(void)
{
	EXPECT_ERR("{nope}", NULL, 0, "header is not valid JSON");
	EXPECT_ERR("{\"a\":", NULL, 0, "header is not valid JSON: it ends "
	    "early");
	EXPECT_ERR("{} x", NULL, 0, "header is not valid JSON");
	EXPECT_ERR("{\"a\":1,}", NULL, 0, "header is not valid JSON");
	EXPECT_ERR("\xff\xfe", NULL, 0, "header is not valid JSON");
	EXPECT_ERR("{\"\xc3\x28\":1}", NULL, 0, "header is not valid JSON");
	expect_mem_error_n("{}\0\0", 4, NULL, 0, "header is not valid JSON: "
	    "unexpected byte 0x00 at byte 2", __LINE__);
	expect_mem_error_n("", 0, NULL, 0, "header length is 0", __LINE__);
	EXPECT_ERR("[1,2]", NULL, 0, "header is an array, not a JSON object");
	EXPECT_ERR("\"x\"", NULL, 0, "header is a string, not a JSON object");
	EXPECT_ERR("[[[[[[[[[[[[]]]]]]]]]]]]", NULL, 0,
	    "header is not valid JSON");
}

static void
bad_entries(void)
{
	EXPECT_ERR("{\"x\":3}", NULL, 0,
	    "tensor 'x': entry is an integer, not an object");
	EXPECT_ERR("{\"x\":{\"dtype\":\"F33\",\"shape\":[1],"
	    "\"data_offsets\":[0,4]}}", zeros, 4,
	    "tensor 'x': unknown dtype 'F33'");
	EXPECT_ERR("{\"x\":{\"dtype\":\"f32\",\"shape\":[1],"
	    "\"data_offsets\":[0,4]}}", zeros, 4, "unknown dtype 'f32'");
	EXPECT_ERR("{\"x\":{\"dtype\":\"F32\\u0000\",\"shape\":[1],"
	    "\"data_offsets\":[0,4]}}", zeros, 4, "unknown dtype 'F32'");
	EXPECT_ERR("{\"x\":{\"dtype\":32,\"shape\":[1],"
	    "\"data_offsets\":[0,4]}}", zeros, 4,
	    "tensor 'x': dtype is an integer, not a string");
	EXPECT_ERR("{\"x\":{\"shape\":[1],\"data_offsets\":[0,4]}}", zeros, 4,
	    "tensor 'x': entry has no dtype");
	EXPECT_ERR("{\"x\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}",
	    zeros, 4, "tensor 'x': entry has no shape");
	EXPECT_ERR("{\"x\":{\"dtype\":\"F32\",\"shape\":[1]}}", zeros, 4,
	    "tensor 'x': entry has no data_offsets");
	/* names are quoted safely in messages */
	EXPECT_ERR("{\"a\\nb'\":{\"dtype\":\"X\",\"shape\":[1],"
	    "\"data_offsets\":[0,4]}}", zeros, 4,
	    "tensor 'a\\x0ab\\x27': unknown dtype 'X'");
}

static void
bad_shapes(void)
{
	EXPECT_ERR("{\"x\":{\"dtype\":\"F32\",\"shape\":[-2],"
	    "\"data_offsets\":[0,4]}}", zeros, 4,
	    "tensor 'x': shape[0] is negative (-2)");
	EXPECT_ERR("{\"x\":{\"dtype\":\"F32\",\"shape\":[1,1.5],"
	    "\"data_offsets\":[0,4]}}", zeros, 4,
	    "tensor 'x': shape[1] is not an integer (1.5)");
	EXPECT_ERR("{\"x\":{\"dtype\":\"F32\",\"shape\":[\"1\"],"
	    "\"data_offsets\":[0,4]}}", zeros, 4,
	    "shape[0] is not an integer");
	EXPECT_ERR("{\"x\":{\"dtype\":\"F32\",\"shape\":[1e2],"
	    "\"data_offsets\":[0,400]}}", zeros, 4,
	    "shape[0] is not an integer");
	EXPECT_ERR("{\"x\":{\"dtype\":\"F32\",\"shape\":[18446744073709551615],"
	    "\"data_offsets\":[0,4]}}", zeros, 4, "shape[0] is too large");
	EXPECT_ERR("{\"x\":{\"dtype\":\"F32\",\"shape\":\"1\","
	    "\"data_offsets\":[0,4]}}", zeros, 4,
	    "tensor 'x': shape is a string, not an array");
	EXPECT_ERR("{\"x\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],"
	    "\"data_offsets\":[0,4]}}", zeros, 4,
	    "shape has 9 dimensions; at most 8 are supported");
	/* products that overflow 64 bits, in elements or in bytes */
	EXPECT_ERR("{\"x\":{\"dtype\":\"F32\",\"shape\":[4294967296,"
	    "4294967296,16],\"data_offsets\":[0,4]}}", zeros, 4,
	    "tensor 'x': shape [4294967296, 4294967296, 16] has too many "
	    "elements");
	EXPECT_ERR("{\"x\":{\"dtype\":\"F32\",\"shape\":[2305843009213693952,"
	    "1],\"data_offsets\":[0,4]}}", zeros, 4,
	    "shape [2305843009213693952, 1] of F32 is too large");
	/* an overflow hidden behind a zero still counts as zero elements */
	EXPECT_ERR("{\"x\":{\"dtype\":\"F32\",\"shape\":[0,9223372036854775807,"
	    "9223372036854775807],\"data_offsets\":[0,4]}}", zeros, 4,
	    "needs 0 bytes but data_offsets [0, 4] hold 4");
	/* size and offsets disagree */
	EXPECT_ERR("{\"x\":{\"dtype\":\"F32\",\"shape\":[2,3],"
	    "\"data_offsets\":[0,20]}}", zeros, 20,
	    "tensor 'x': shape [2, 3] of F32 needs 24 bytes but data_offsets "
	    "[0, 20] hold 20");
	EXPECT_ERR("{\"x\":{\"dtype\":\"F4\",\"shape\":[3],"
	    "\"data_offsets\":[0,2]}}", zeros, 2,
	    "shape [3] of F4 is not a whole number of bytes");
}

static void
bad_offsets(void)
{
	EXPECT_ERR("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],"
	    "\"data_offsets\":[0]}}", zeros, 4,
	    "tensor 'x': data_offsets is not an array [begin, end]");
	EXPECT_ERR("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],"
	    "\"data_offsets\":{}}}", zeros, 4,
	    "data_offsets is not an array [begin, end]");
	EXPECT_ERR("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],"
	    "\"data_offsets\":[-4,0]}}", zeros, 4,
	    "tensor 'x': data_offsets[0] is negative (-4)");
	EXPECT_ERR("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],"
	    "\"data_offsets\":[0,true]}}", zeros, 4,
	    "data_offsets[1] is not an integer (true)");
	EXPECT_ERR("{\"x\":{\"dtype\":\"F32\",\"shape\":[0],"
	    "\"data_offsets\":[8,4]}}", zeros, 8,
	    "tensor 'x': data_offsets [8, 4] run backwards");
	EXPECT_ERR("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],"
	    "\"data_offsets\":[9223372036854775800,9223372036854775804]}}",
	    zeros, 4, "exceed the data size (4 bytes)");
	/* overlap, hole, trailing bytes */
	EXPECT_ERR("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
	    "\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],"
	    "\"data_offsets\":[4,12]}}", zeros, 12,
	    "tensors 'a' and 'b' overlap (data_offsets [0, 8] and [4, 12])");
	EXPECT_ERR("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
	    "\"data_offsets\":[4,8]}}", zeros, 8,
	    "data bytes [0, 4) belong to no tensor (before 'a')");
	EXPECT_ERR("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
	    "\"data_offsets\":[0,4]}}", zeros, 12,
	    "8 trailing bytes after the last tensor");
	EXPECT_ERR("{}", zeros, 1, "1 trailing bytes after the last tensor");
}

static void
bad_metadata(void)
{
	EXPECT_ERR("{\"__metadata__\":[]}", NULL, 0,
	    "__metadata__ is an array, not an object of strings");
	EXPECT_ERR("{\"__metadata__\":{\"a\":1}}", NULL, 0,
	    "__metadata__ value of 'a' is an integer, not a string");
}

/* json-c keeps the last of two entries with the same name; the bytes of
 * the first then belong to no tensor. */
static void
duplicate_names(void)
{
	char err[256] = "";
	struct st_file *f;

	EXPECT_ERR("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
	    "\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
	    "\"data_offsets\":[4,8]}}", zeros, 8,
	    "data bytes [0, 4) belong to no tensor");
	f = open_mem("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
	    "\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F16\",\"shape\":[2],"
	    "\"data_offsets\":[0,4]}}", zeros, 4, err, sizeof(err));
	CHECK(f != NULL && st_count(f) == 1 &&
	    st_get(f, 0)->dtype == ST_F16);
	st_close(f);
}

static void
messages_never_cut_silently(void)
{
	char err[24];
	size_t len;
	unsigned char *b = image("[]", NULL, 0, &len);

	CHECK(st_open_mem(b, len, NAME, err, sizeof(err)) == NULL);
	CHECK(strlen(err) == sizeof(err) - 1);
	CHECK(strcmp(err + sizeof(err) - 4, "...") == 0);
	CHECK(st_open_mem(b, len, NAME, NULL, 0) == NULL);
	free(b);

	CHECK(st_open(tpath("missing.safetensors"), err, sizeof(err)) ==
	    NULL);
	CHECK(st_open(tmpdir, NULL, 0) == NULL);
	{
		char e2[512];

		CHECK(st_open(tmpdir, e2, sizeof(e2)) == NULL);
		CHECK(strstr(e2, "not a regular file") != NULL);
		CHECK(st_open(tpath("missing.safetensors"), e2,
		    sizeof(e2)) == NULL);
		CHECK(strstr(e2, "missing.safetensors: cannot open: No such "
		    "file") != NULL);
	}
}

/* --- models -------------------------------------------------------------- */

#define T(name, dtype, shape, b, e) \
	"\"" name "\":{\"dtype\":\"" dtype "\",\"shape\":" shape \
	",\"data_offsets\":[" #b "," #e "]}"

static void
single_file_sd1(void)
{
	char err[512] = "";
	struct st_model *m;
	const struct st_entry *e;

	write_st("sd1.safetensors", "{"
	    T("cond_stage_model.transformer.text_model.embeddings."
	    "token_embedding.weight", "F16", "[2,2]", 0, 8) ","
	    T("cond_stage_model.transformer.text_model.embeddings."
	    "position_ids", "I64", "[1,2]", 8, 24) ","
	    T("model.diffusion_model.input_blocks.0.0.weight", "F32", "[1]",
	    24, 28) ","
	    T("model.diffusion_model.out.2.bias", "F32", "[1]", 28, 32) ","
	    T("first_stage_model.decoder.conv_in.weight", "BF16", "[2]", 32,
	    36) ","
	    T("model_ema.decay", "F32", "[]", 36, 40) ","
	    T("alphas_cumprod", "F32", "[1]", 40, 44) "}", zeros, 44);
	m = st_model_open(tpath("sd1.safetensors"), err, sizeof(err));
	CHECK_STR(err, "");
	CHECK(m != NULL);
	if (m == NULL)
		return;
	CHECK(st_model_layout(m) == ST_LAYOUT_LDM);
	CHECK(st_model_text_flavour(m) == ST_TEXT_HF_CLIP);
	CHECK(st_model_has_part(m, ST_PART_TEXT) &&
	    st_model_has_part(m, ST_PART_UNET) &&
	    st_model_has_part(m, ST_PART_VAE));
	CHECK(!st_model_has_part(m, ST_PART_TEXT2));
	CHECK(st_model_count(m, ST_PART_TEXT) == 2);
	CHECK(st_model_count(m, ST_PART_UNET) == 2);
	CHECK(st_model_count(m, ST_PART_VAE) == 1);
	e = st_model_find(m, ST_PART_TEXT,
	    "text_model.embeddings.token_embedding.weight");
	CHECK(e != NULL && e->t->dtype == ST_F16 && e->ndim == 2 &&
	    e->shape[0] == 2 && e->shape[1] == 2 && e->nelems == 4 &&
	    e->rows == 0 && !e->transposed);
	CHECK(e != NULL && strcmp(e->t->name, "cond_stage_model.transformer."
	    "text_model.embeddings.token_embedding.weight") == 0);
	CHECK(st_model_find(m, ST_PART_TEXT,
	    "text_model.embeddings.position_ids")->t->dtype == ST_I64);
	/* the UNet under canonical names only */
	CHECK(st_model_find(m, ST_PART_UNET, "conv_in.weight") != NULL);
	CHECK(st_model_find(m, ST_PART_UNET, "conv_out.bias") != NULL);
	CHECK(st_model_find(m, ST_PART_UNET, "input_blocks.0.0.weight") ==
	    NULL);
	CHECK(st_model_find(m, ST_PART_VAE, "decoder.conv_in.weight") !=
	    NULL);
	/* full names and names of other parts are not found */
	CHECK(st_model_find(m, ST_PART_UNET,
	    "model.diffusion_model.out.2.bias") == NULL);
	CHECK(st_model_find(m, ST_PART_VAE, "conv_out.bias") == NULL);
	CHECK(st_model_find(m, ST_PART__MAX, "conv_out.bias") == NULL);
	CHECK_STR(st_model_entry(m, ST_PART_UNET, 0)->name, "conv_in.weight");
	CHECK_STR(st_model_entry(m, ST_PART_UNET, 1)->name, "conv_out.bias");
	CHECK(st_model_entry(m, ST_PART_UNET, 2) == NULL);
	CHECK(st_model_entry(m, ST_PART_VAE, 0) ==
	    st_model_find(m, ST_PART_VAE, "decoder.conv_in.weight"));
	CHECK(st_model_config(m, ST_PART_UNET) == NULL);
	CHECK(st_model_file(m, ST_PART_TEXT) == st_model_file(m, ST_PART_VAE));
	CHECK_STR(st_part_name(ST_PART_VAE), "vae");
	CHECK(st_model_family(m) == ST_FAMILY_SD1);
	st_model_close(m);
	st_model_close(NULL);
}

static void
single_file_sd2_openclip(void)
{
	char err[512] = "";
	struct st_model *m;
	const struct st_entry *e;
	static const char *const qkv[] = {
		"text_model.encoder.layers.0.self_attn.q_proj.weight",
		"text_model.encoder.layers.0.self_attn.k_proj.weight",
		"text_model.encoder.layers.0.self_attn.v_proj.weight",
	};
	int i;

	write_st("sd2.safetensors", "{"
	    T("cond_stage_model.model.transformer.resblocks.0.attn."
	    "in_proj_weight", "F16", "[6,2]", 0, 24) ","
	    T("cond_stage_model.model.positional_embedding", "F16", "[2]", 24,
	    28) ","
	    T("cond_stage_model.model.text_projection", "F16", "[2,3]", 28,
	    40) ","
	    T("cond_stage_model.model.logit_scale", "F32", "[]", 40, 44) ","
	    T("model.diffusion_model.time_embed.0.weight", "F16", "[2]", 44,
	    48) "}", zeros, 48);
	m = st_model_open(tpath("sd2.safetensors"), err, sizeof(err));
	CHECK_STR(err, "");
	CHECK(m != NULL);
	if (m == NULL)
		return;
	CHECK(st_model_layout(m) == ST_LAYOUT_LDM);
	CHECK(st_model_text_flavour(m) == ST_TEXT_OPENCLIP);
	/* q, k and v: rows of the fused projection */
	for (i = 0; i < 3; i++) {
		e = st_model_find(m, ST_PART_TEXT, qkv[i]);
		CHECK(e != NULL && e->row0 == 2 * i && e->rows == 2 &&
		    e->ndim == 2 && e->shape[0] == 2 && e->shape[1] == 2 &&
		    e->nelems == 4 && strcmp(e->t->name, "cond_stage_model."
		    "model.transformer.resblocks.0.attn.in_proj_weight") == 0);
	}
	CHECK(st_model_find(m, ST_PART_TEXT,
	    "transformer.resblocks.0.attn.in_proj_weight") == NULL);
	CHECK(st_model_find(m, ST_PART_TEXT,
	    "text_model.embeddings.position_embedding.weight") != NULL);
	/* [in, out] in the file, a Linear [out, in] by name */
	e = st_model_find(m, ST_PART_TEXT, "text_projection.weight");
	CHECK(e != NULL && e->transposed && e->ndim == 2 &&
	    e->shape[0] == 3 && e->shape[1] == 2 && e->t->shape[0] == 2);
	/* no rule knows it: kept under its own name */
	CHECK(st_model_find(m, ST_PART_TEXT, "logit_scale") != NULL);
	CHECK(st_model_count(m, ST_PART_TEXT) == 6);
	CHECK(st_model_find(m, ST_PART_UNET,
	    "time_embedding.linear_1.weight") != NULL);
	CHECK(!st_model_has_part(m, ST_PART_VAE));
	CHECK(st_model_count(m, ST_PART_VAE) == 0);
	CHECK(st_model_family(m) == ST_FAMILY_SD2);
	st_model_close(m);

	/* both text encoders at once cannot be told apart */
	write_st("mixed.safetensors", "{"
	    T("cond_stage_model.model.a", "F16", "[2]", 0, 4) ","
	    T("cond_stage_model.transformer.text_model.b", "F16", "[2]", 4, 8)
	    "}", zeros, 8);
	CHECK(st_model_open(tpath("mixed.safetensors"), err, sizeof(err)) ==
	    NULL);
	CHECK(strstr(err, "cannot tell the text encoder") != NULL);

	/* no prefix at all, outside any component folder */
	write_st("plain.safetensors", "{" T("w", "F16", "[2]", 0, 4) "}",
	    zeros, 4);
	CHECK(st_model_open(tpath("plain.safetensors"), err, sizeof(err)) ==
	    NULL);
	CHECK(strstr(err, "plain.safetensors: not a single-file SD "
	    "checkpoint") != NULL);
	/* a broken file reports the loader's message */
	write_text("broken.safetensors", "xx");
	CHECK(st_model_open(tpath("broken.safetensors"), err, sizeof(err)) ==
	    NULL);
	CHECK(strstr(err, "too small") != NULL);
	CHECK(st_model_open(tpath("nothing-here"), err, sizeof(err)) == NULL);
	CHECK(strstr(err, "No such file") != NULL);
}

/* A tensor a rule cannot convert fails the open, naming it. */
static void
conversion_failure_names_the_tensor(void)
{
	char err[512] = "";

	write_st("badqkv.safetensors", "{"
	    T("cond_stage_model.model.transformer.resblocks.3.attn."
	    "in_proj_weight", "F16", "[2]", 0, 4) "}", zeros, 4);
	CHECK(st_model_open(tpath("badqkv.safetensors"), err, sizeof(err)) ==
	    NULL);
	CHECK(strstr(err, "badqkv.safetensors: tensor 'cond_stage_model.model."
	    "transformer.resblocks.3.attn.in_proj_weight' (OpenCLIP names): "
	    "a fused q, k, v projection must be [3D, D], not [2]") != NULL);
	/* a downsampler's slot holding something else */
	write_st("badunet.safetensors", "{"
	    T("model.diffusion_model.input_blocks.3.0.op.weight", "F16", "[2]",
	    0, 4) ","
	    T("model.diffusion_model.input_blocks.3.1.norm.weight", "F16",
	    "[2]", 4, 8) "}", zeros, 8);
	CHECK(st_model_open(tpath("badunet.safetensors"), err, sizeof(err)) ==
	    NULL);
	CHECK(strstr(err, "tensor 'model.diffusion_model.input_blocks.3.1.norm."
	    "weight' (LDM UNet names): input block 3 is level 0's "
	    "downsampler") != NULL);
}

/* Two tensors that become one canonical name fail the open. */
static void
two_tensors_one_name(void)
{
	char err[512] = "";

	write_st("oldvae/vae/diffusion_pytorch_model.safetensors", "{"
	    T("decoder.mid_block.attentions.0.query.weight", "F32", "[1]", 0,
	    4) ","
	    T("decoder.mid_block.attentions.0.to_q.weight", "F32", "[1]", 4,
	    8) "}", zeros, 8);
	CHECK(st_model_open(tpath("oldvae"), err, sizeof(err)) == NULL);
	CHECK(strstr(err, "tensors 'decoder.mid_block.attentions.0.query."
	    "weight' and 'decoder.mid_block.attentions.0.to_q.weight' both "
	    "become 'decoder.mid_block.attentions.0.to_q.weight'") != NULL);
}

/* SDXL (SGM) single files: CLIP-L as the text part, bigG as the second,
 * label_emb as add_embedding. */
static void
single_file_sdxl(void)
{
	char err[512] = "";
	struct st_model *m;

	write_st("sdxl.safetensors", "{"
	    T("conditioner.embedders.0.transformer.text_model.embeddings."
	    "token_embedding.weight", "F16", "[2]", 0, 4) ","
	    T("conditioner.embedders.1.model.ln_final.weight", "F16", "[2]", 4,
	    8) ","
	    T("model.diffusion_model.label_emb.0.0.weight", "F16", "[2]", 8,
	    12) "}", zeros, 12);
	m = st_model_open(tpath("sdxl.safetensors"), err, sizeof(err));
	CHECK_STR(err, "");
	CHECK(m != NULL);
	if (m == NULL)
		return;
	CHECK(st_model_text_flavour(m) == ST_TEXT_HF_CLIP);
	CHECK(st_model_part_flavour(m, ST_PART_TEXT) == ST_TEXT_HF_CLIP);
	CHECK(st_model_part_flavour(m, ST_PART_TEXT2) == ST_TEXT_OPENCLIP);
	CHECK(st_model_part_flavour(m, ST_PART_UNET) == ST_TEXT_NONE);
	CHECK(st_model_find(m, ST_PART_TEXT,
	    "text_model.embeddings.token_embedding.weight") != NULL);
	CHECK(st_model_find(m, ST_PART_TEXT2,
	    "text_model.final_layer_norm.weight") != NULL);
	CHECK(st_model_find(m, ST_PART_UNET,
	    "add_embedding.linear_1.weight") != NULL);
	CHECK(!st_model_has_part(m, ST_PART_VAE));
	CHECK(st_model_family(m) == ST_FAMILY_SDXL);
	CHECK_STR(st_family_name(st_model_family(m)), "sdxl");
	st_model_close(m);
}

/* The family from the shapes and config.json of diffusers folders. */
static void
model_family(void)
{
	char err[512] = "";
	struct st_model *m;

	/* SD 2.x: a 1024-wide cross-attention */
	write_st("fam2/unet/diffusion_pytorch_model.safetensors", "{"
	    T("mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight",
	    "F16", "[1,1024]", 0, 2048) "}", zeros8k, 2048);
	m = st_model_open(tpath("fam2"), err, sizeof(err));
	CHECK(m != NULL && st_model_family(m) == ST_FAMILY_SD2);
	st_model_close(m);
	/* SDXL: config.json says addition_embed_type text_time */
	write_st("famxl/unet/diffusion_pytorch_model.safetensors", "{"
	    T("conv_in.weight", "F16", "[2]", 0, 4) "}", zeros, 4);
	write_text("famxl/unet/config.json", "{\"_class_name\":"
	    "\"UNet2DConditionModel\",\"addition_embed_type\":\"text_time\"}");
	m = st_model_open(tpath("famxl"), err, sizeof(err));
	CHECK(m != NULL && st_model_family(m) == ST_FAMILY_SDXL);
	st_model_close(m);
	/* SDXL: a text_encoder_2 folder */
	write_st("famxl2/text_encoder_2/model.safetensors", "{"
	    T("text_projection.weight", "F16", "[2]", 0, 4) "}", zeros, 4);
	m = st_model_open(tpath("famxl2"), err, sizeof(err));
	CHECK(m != NULL && st_model_has_part(m, ST_PART_TEXT2) &&
	    st_model_family(m) == ST_FAMILY_SDXL);
	CHECK(m != NULL && st_model_part_flavour(m, ST_PART_TEXT2) ==
	    ST_TEXT_HF_CLIP);
	st_model_close(m);
	/* a VAE alone tells nothing */
	write_st("famvae/vae/diffusion_pytorch_model.safetensors", "{"
	    T("decoder.conv_in.weight", "F16", "[2]", 0, 4) "}", zeros, 4);
	m = st_model_open(tpath("famvae"), err, sizeof(err));
	CHECK(m != NULL && st_model_family(m) == ST_FAMILY_UNKNOWN);
	CHECK_STR(st_family_name(ST_FAMILY_UNKNOWN), "unknown");
	st_model_close(m);
}

static const char text_cfg[] = "{\"architectures\":[\"CLIPTextModel\"],"
	"\"hidden_size\":768}";
static const char unet_cfg[] = "{\"_class_name\":\"UNet2DConditionModel\","
	"\"sample_size\":64}";
static const char vae_cfg[] = "{\"_class_name\":\"AutoencoderKL\"}";

static void
diffusers_folder(void)
{
	char err[512] = "";
	struct st_model *m;

	write_st("pipe/text_encoder/model.safetensors", "{"
	    T("text_model.encoder.layers.0.self_attn.q_proj.weight", "F32",
	    "[1]", 0, 4) ","
	    T("text_model.embeddings.position_ids", "I64", "[1,1]", 4, 12)
	    "}", zeros, 12);
	write_text("pipe/text_encoder/config.json", text_cfg);
	/* only the fp16 variant */
	write_st("pipe/unet/diffusion_pytorch_model.fp16.safetensors", "{"
	    T("down_blocks.0.resnets.0.conv1.weight", "F16", "[2]", 0, 4)
	    "}", zeros, 4);
	write_text("pipe/unet/config.json", unet_cfg);
	/* both: the full-precision file wins */
	write_st("pipe/vae/diffusion_pytorch_model.safetensors", "{"
	    T("decoder.conv_in.weight", "F32", "[1]", 0, 4) "}", zeros, 4);
	write_st("pipe/vae/diffusion_pytorch_model.fp16.safetensors", "{"
	    T("decoder.conv_in.weight", "F16", "[1]", 0, 2) "}", zeros, 2);
	write_text("pipe/model_index.json", "{}");

	m = st_model_open(tpath("pipe"), err, sizeof(err));
	CHECK_STR(err, "");
	CHECK(m != NULL);
	if (m == NULL)
		return;
	CHECK(st_model_layout(m) == ST_LAYOUT_DIFFUSERS);
	CHECK(st_model_text_flavour(m) == ST_TEXT_HF_CLIP);
	CHECK(st_model_find(m, ST_PART_TEXT,
	    "text_model.encoder.layers.0.self_attn.q_proj.weight") != NULL);
	CHECK(st_model_count(m, ST_PART_TEXT) == 2);
	CHECK(st_model_find(m, ST_PART_UNET,
	    "down_blocks.0.resnets.0.conv1.weight") != NULL);
	CHECK(st_model_find(m, ST_PART_VAE, "decoder.conv_in.weight")->t->dtype
	    == ST_F32);
	CHECK(strstr(st_name(st_model_file(m, ST_PART_UNET)),
	    "unet/diffusion_pytorch_model.fp16.safetensors") != NULL);
	CHECK_STR(st_model_config(m, ST_PART_TEXT), text_cfg);
	CHECK_STR(st_model_config(m, ST_PART_UNET), unet_cfg);
	CHECK(st_model_config(m, ST_PART_VAE) == NULL);
	st_model_close(m);

	/* one component folder given directly, by name ... */
	m = st_model_open(tpath("pipe/unet/"), err, sizeof(err));
	CHECK(m != NULL);
	if (m != NULL) {
		CHECK(st_model_layout(m) == ST_LAYOUT_DIFFUSERS);
		CHECK(st_model_has_part(m, ST_PART_UNET));
		CHECK(!st_model_has_part(m, ST_PART_TEXT));
		CHECK(st_model_text_flavour(m) == ST_TEXT_NONE);
		CHECK_STR(st_model_config(m, ST_PART_UNET), unet_cfg);
	}
	st_model_close(m);
	/* ... or by its config.json */
	write_st("myvae/diffusion_pytorch_model.safetensors", "{"
	    T("encoder.conv_in.weight", "F32", "[1]", 0, 4) "}", zeros, 4);
	write_text("myvae/config.json", vae_cfg);
	m = st_model_open(tpath("myvae"), err, sizeof(err));
	CHECK(m != NULL && st_model_has_part(m, ST_PART_VAE) &&
	    st_model_find(m, ST_PART_VAE, "encoder.conv_in.weight") != NULL);
	st_model_close(m);
	/* a component's weight file given directly */
	m = st_model_open(tpath("pipe/text_encoder/model.safetensors"), err,
	    sizeof(err));
	CHECK(m != NULL);
	if (m != NULL) {
		CHECK(st_model_has_part(m, ST_PART_TEXT));
		CHECK(!st_model_has_part(m, ST_PART_UNET));
		CHECK(st_model_text_flavour(m) == ST_TEXT_HF_CLIP);
		CHECK(st_model_layout(m) == ST_LAYOUT_DIFFUSERS);
		CHECK_STR(st_model_config(m, ST_PART_TEXT), text_cfg);
	}
	st_model_close(m);
	m = st_model_open(tpath("myvae/diffusion_pytorch_model.safetensors"),
	    err, sizeof(err));
	CHECK(m != NULL && st_model_has_part(m, ST_PART_VAE) &&
	    st_model_count(m, ST_PART_VAE) == 1);
	st_model_close(m);
}

static void
diffusers_folder_errors(void)
{
	char err[512] = "";

	/* pickled weights only */
	write_text("p2/model_index.json", "{}");
	mkdir(tpath("p2/unet"), 0700);
	write_text("p2/unet/diffusion_pytorch_model.bin", "pickle");
	CHECK(st_model_open(tpath("p2"), err, sizeof(err)) == NULL);
	CHECK(strstr(err, "p2/unet: no diffusion_pytorch_model.safetensors "
	    "(nor its .fp16 variant)") != NULL);
	/* sharded weights */
	write_text("p2/unet/diffusion_pytorch_model.safetensors.index.json",
	    "{}");
	CHECK(st_model_open(tpath("p2"), err, sizeof(err)) == NULL);
	CHECK(strstr(err, "sharded weights are not supported") != NULL);
	/* a broken part names its file */
	write_bytes(tpath("p2/unet/diffusion_pytorch_model.safetensors"),
	    "\x10\0\0\0\0\0\0\0{}", 10);
	CHECK(st_model_open(tpath("p2"), err, sizeof(err)) == NULL);
	CHECK(strstr(err, "p2/unet/diffusion_pytorch_model.safetensors: "
	    "file is truncated") != NULL);
	/* a folder that is no model at all */
	mkdir(tpath("empty"), 0700);
	CHECK(st_model_open(tpath("empty"), err, sizeof(err)) == NULL);
	CHECK(strstr(err, "empty: not a model") != NULL);
}

static int
rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

int
main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/kiln-st-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	RUN(half_bits_widen);
	RUN(half_rounding);
	RUN(half_round_trip_all);
	RUN(round_trip_f32_f16_bf16);
	RUN(f32_to_f16_rounds_to_nearest_even);
	RUN(metadata_and_empty);
	RUN(int64_listed_but_not_converted);
	RUN(short_and_truncated_files);
	RUN(oversized_header);
	RUN(header_not_json);
	RUN(bad_entries);
	RUN(bad_shapes);
	RUN(bad_offsets);
	RUN(bad_metadata);
	RUN(duplicate_names);
	RUN(messages_never_cut_silently);
	RUN(single_file_sd1);
	RUN(single_file_sd2_openclip);
	RUN(conversion_failure_names_the_tensor);
	RUN(two_tensors_one_name);
	RUN(single_file_sdxl);
	RUN(model_family);
	RUN(diffusers_folder);
	RUN(diffusers_folder_errors);
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	while (nkept > 0)
		free(kept[--nkept]);
	return tap_done();
}
