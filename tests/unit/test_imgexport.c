/* test_imgexport.c - the high-precision exports read back with the
 * formats' own libraries (libpng, libtiff, OpenEXR's C reader from a file)
 * and checked against the 8-bit PNG kiln writes of the same floats. */
#include "half.h"
#include "image.h"
#include "imgexport.h"
#include "tap.h"
#include "util.h"

#include <math.h>
#include <openexr.h>
#include <png.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>
#include <unistd.h>

static char dir[] = "/tmp/kiln-test-imgexport-XXXXXX";

#define W 96
#define H 40

static const char params[] = "a red fox, \xe6\x97\xa5\xe6\x9c\xac <&>\n"
    "Negative prompt: blur\nSteps: 20, Sampler: Euler a, CFG scale: 7, "
    "Seed: 1, Size: 96x40, Model: kiln-micro";
static const char manifest[] = "{\"subject\":\"fox & hound\",\"seed\":1}";

/* A smooth ramp: thousands of 16-bit levels, at most 256 8-bit ones; a
 * few values sit on or next to an 8-bit bucket's edge (k + 0.5) / 255. */
static float *
ramp(void)
{
	float *f = malloc((size_t)W * H * 3 * sizeof(float));
	size_t i;

	for (i = 0; f != NULL && i < (size_t)W * H * 3; i++)
		f[i] = (float)i / (float)(W * H * 3 - 1);
	for (i = 0; f != NULL && i < 255; i++) {
		f[i * 3] = ((float)i + 0.5f) / 255.0f;
		f[i * 3 + 1] = nextafterf(((float)i + 0.5f) / 255.0f, 0.0f);
		f[i * 3 + 2] = nextafterf(((float)i + 0.5f) / 255.0f, 1.0f);
	}
	return f;
}

/* The PNG kiln writes of f, decoded by libgd: what each export must
 * quantise back to. */
static uint8_t *
png8_of(const float *f)
{
	uint8_t *rgb = imgexport_rgb8(W, H, f), *png = NULL, *back = NULL;
	size_t len = 0;
	int w = 0, h = 0;
	char err[256];

	CHECK(rgb != NULL);
	CHECK(image_encode_png(W, H, rgb, params, &png, &len, err,
	    sizeof(err)) == 0);
	CHECK(image_decode_rgb(png, len, "png", &w, &h, &back, err,
	    sizeof(err)) == 0);
	CHECK(w == W && h == H);
	CHECK(back != NULL && memcmp(back, rgb, (size_t)W * H * 3) == 0);
	free(rgb);
	free(png);
	return back;
}

/* The sRGB transfer functions written out here again (IEC 61966-2-1),
 * not imgexport's: what a float file must hold is checked against
 * these. */
static double
ref_decode(double v)
{
	if (v <= 0.04045)
		return v / 12.92;
	return pow((v + 0.055) / 1.055, 2.4);
}

/* Linear light back to the PNG's byte: round(OETF(l) * 255). */
static uint8_t
ref_q8_of_linear(double l)
{
	double e;

	l = l < 0 ? 0 : l > 1 ? 1 : l;
	e = l <= 0.0031308 ? 12.92 * l : 1.055 * pow(l, 1 / 2.4) - 0.055;
	return (uint8_t)lrint(e * 255.0);
}

/* l is the linear value of display value v to float precision: within
 * a few float steps of the EOTF (more only where the writer moved it
 * into the PNG's level). */
static int
near_linear(double l, float v)
{
	double want = ref_decode(v < 0 ? 0 : v > 1 ? 1 : v);

	return fabs(l - want) <= 4e-7 * want + 1e-12;
}

static int
levels16(const uint16_t *v, size_t n)
{
	static uint8_t seen[65536];
	size_t i;
	int k = 0;

	memset(seen, 0, sizeof(seen));
	for (i = 0; i < n; i++)
		if (!seen[v[i]]++)
			k++;
	return k;
}

static int
levels8(const uint8_t *v, size_t n)
{
	uint8_t seen[256] = { 0 };
	size_t i;
	int k = 0;

	for (i = 0; i < n; i++)
		if (!seen[v[i]]++)
			k++;
	return k;
}

/* Distinct values of floats, by sorting a copy. */
static int
cmpf(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

static int
levelsf(const float *v, size_t n)
{
	float *c = malloc(n * sizeof(float));
	size_t i;
	int k = 0;

	if (c == NULL)
		return -1;
	memcpy(c, v, n * sizeof(float));
	qsort(c, n, sizeof(float), cmpf);
	for (i = 0; i < n; i++)
		if (i == 0 || c[i] != c[i - 1])
			k++;
	free(c);
	return k;
}

static int
save(const char *name, const struct buf *b, char *path, size_t len)
{
	FILE *f;

	snprintf(path, len, "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL)
		return -1;
	if (fwrite(b->data, 1, b->len, f) != b->len) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

static void
test_format_names(void)
{
	CHECK(img_format_parse("png") == IMG_PNG);
	CHECK(img_format_parse("png16") == IMG_PNG16);
	CHECK(img_format_parse("tiff16") == IMG_TIFF16);
	CHECK(img_format_parse("tiff32") == IMG_TIFF32);
	CHECK(img_format_parse("exr") == IMG_EXR);
	CHECK(img_format_parse("exr16") == IMG_EXR16);
	CHECK(img_format_parse("PNG") == -1);
	CHECK(img_format_parse("tiff") == -1);
	CHECK(img_format_parse("") == -1);
	CHECK(img_format_parse(NULL) == -1);
	CHECK_STR(img_format_type(IMG_TIFF32), "image/tiff");
	CHECK_STR(img_format_type(IMG_EXR16), "image/x-exr");
	CHECK_STR(img_format_ext(IMG_PNG16), "png");
	CHECK_STR(img_format_ext(IMG_TIFF16), "tif");
	CHECK(img_format_name(IMG_FORMAT_COUNT) == NULL);
	CHECK(img_format_name(-1) == NULL);
}

static void
test_master_key(void)
{
	char k[64];

	CHECK(imgexport_master_key("jobs/12/1-0.png", k, sizeof(k)) == 0);
	CHECK_STR(k, "jobs/12/1-0.exr");
	CHECK(imgexport_master_key("jobs/12/1-0.jpg", k, sizeof(k)) == -1);
	CHECK(imgexport_master_key(".png", k, sizeof(k)) == -1);
	CHECK(imgexport_master_key("jobs/12/1-0.png", k, 10) == -1);
}

/* Every 16-bit level and half the writers pick quantises back to the
 * 8-bit value, over the edges of all 256 buckets and a dense sweep. */
static void
test_quantisers_agree(void)
{
	int k, bad16 = 0, badh = 0, far = 0;
	uint32_t i;

	for (i = 0; i <= 1u << 20; i++) {
		float v = (float)i / (float)(1u << 20);
		uint8_t q = imgexport_q8(v);
		uint16_t s = imgexport_q16(v);
		float hv = half_to_float(imgexport_half(v));

		bad16 += (uint8_t)lrint(s / 257.0) != q;
		badh += (uint8_t)lrintf(hv * 255.0f) != q;
		far += fabs(s - (double)v * 65535.0) > 1.0;
	}
	for (k = 0; k < 255; k++) {
		float e = ((float)k + 0.5f) / 255.0f, v[3] = { e,
			nextafterf(e, 0), nextafterf(e, 1) };
		int j;

		for (j = 0; j < 3; j++) {
			bad16 += (uint8_t)lrint(imgexport_q16(v[j]) / 257.0) !=
			    imgexport_q8(v[j]);
			badh += (uint8_t)lrintf(half_to_float(
			    imgexport_half(v[j])) * 255.0f) !=
			    imgexport_q8(v[j]);
		}
	}
	CHECK(bad16 == 0);
	CHECK(badh == 0);
	/* Linear light: re-encoded (the reference OETF), every float and
	 * half the writers pick is the PNG's byte; the float is the
	 * EOTF's value to float precision, the half to half's. */
	{
		int badl = 0, badlh = 0, farl = 0, farh = 0;

		for (i = 0; i <= 1u << 20; i++) {
			float v = (float)i / (float)(1u << 20);
			float l = imgexport_linear(v);
			float hl = half_to_float(imgexport_half_linear(v));
			double want = ref_decode(v);

			badl += ref_q8_of_linear(l) != imgexport_q8(v);
			badlh += ref_q8_of_linear(hl) != imgexport_q8(v);
			farl += !near_linear(l, v);
			/* A half's step: 2^-11 relative, 2^-24 at least. */
			farh += fabs(hl - want) > want / 1024.0 + 1.0 / (1 << 24);
		}
		for (k = 0; k < 255; k++) {
			float e = ((float)k + 0.5f) / 255.0f, v[3] = { e,
				nextafterf(e, 0), nextafterf(e, 1) };
			int j;

			for (j = 0; j < 3; j++) {
				badl += ref_q8_of_linear(imgexport_linear(
				    v[j])) != imgexport_q8(v[j]);
				badlh += ref_q8_of_linear(half_to_float(
				    imgexport_half_linear(v[j]))) !=
				    imgexport_q8(v[j]);
			}
		}
		CHECK(badl == 0);
		CHECK(badlh == 0);
		CHECK(farl == 0);
		CHECK(farh == 0);
		/* The ends and a mid grey: 0.5 display is 0.214 linear. */
		CHECK(imgexport_linear(0.0f) == 0.0f);
		CHECK(imgexport_linear(1.0f) == 1.0f);
		CHECK(fabs(imgexport_linear(0.5f) - 0.21404114) < 1e-7);
		CHECK(imgexport_linear(NAN) == 0.0f);
	}
	/* The 16-bit level is round(v * 65535), or where v * 255 rounded
	 * in float across a bucket's edge (4 of these 2^20 values) the
	 * level next to it. */
	CHECK(far == 0);
	/* Out of range and NaN clamp as the engine's clamp does. */
	CHECK(imgexport_q8(-1.0f) == 0 && imgexport_q8(2.0f) == 255);
	CHECK(imgexport_q16(NAN) == 0 && imgexport_q16(1.5f) == 65535);
}

/* libpng's reader: 16-bit RGB, the text chunks, each sample round(q /
 * 257) == the PNG's, and more than 256 levels where the PNG has fewer. */
static void
test_png16_reads_back(void)
{
	float *f = ramp();
	uint8_t *p8 = png8_of(f);
	struct imgexport_meta m = { params, manifest };
	struct buf b = { 0 };
	char err[256], path[512];
	png_image img;
	uint16_t *px = NULL;
	size_t i, n = (size_t)W * H * 3;
	int bad = 0, text_ok = 0, man_ok = 0;
	png_structp png;
	png_infop info;
	png_textp t;
	int nt, k;
	FILE *fp;

	CHECK(imgexport_encode(IMG_PNG16, W, H, f, &m, &b, err,
	    sizeof(err)) == 0);
	CHECK(save("a.png", &b, path, sizeof(path)) == 0);
	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	CHECK(png_image_begin_read_from_file(&img, path) != 0);
	CHECK(img.width == W && img.height == H);
	CHECK(img.format & PNG_FORMAT_FLAG_LINEAR);
	/* The simplified API would apply a gamma to 16-bit samples: read
	 * the raw big-endian rows through the classic one instead. */
	png_image_free(&img);
	fp = fopen(path, "rb");
	CHECK(fp != NULL);
	png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	info = png_create_info_struct(png);
	px = malloc(n * 2);
	if (fp != NULL && png != NULL && info != NULL && px != NULL &&
	    !setjmp(png_jmpbuf(png))) {
		png_bytep rows[H];
		int y;

		png_init_io(png, fp);
		png_read_info(png, info);
		CHECK(png_get_bit_depth(png, info) == 16);
		CHECK(png_get_color_type(png, info) == PNG_COLOR_TYPE_RGB);
		png_set_swap(png);	/* to host order (little endian) */
		for (y = 0; y < H; y++)
			rows[y] = (png_bytep)(px + (size_t)y * W * 3);
		png_read_image(png, rows);
		png_read_end(png, info);
		nt = png_get_text(png, info, &t, NULL);
		for (k = 0; k < nt; k++) {
			text_ok |= !strcmp(t[k].key, "parameters") &&
			    !strcmp(t[k].text, params) &&
			    t[k].compression == PNG_ITXT_COMPRESSION_NONE;
			man_ok |= !strcmp(t[k].key, "kilnManifest") &&
			    !strcmp(t[k].text, manifest);
		}
	}
	png_destroy_read_struct(&png, &info, NULL);
	if (fp != NULL)
		fclose(fp);
	CHECK(text_ok);
	CHECK(man_ok);
	for (i = 0; px != NULL && p8 != NULL && i < n; i++)
		bad += (uint8_t)lrint(px[i] / 257.0) != p8[i];
	CHECK(bad == 0);
	CHECK(px != NULL && levels16(px, n) > 256);
	CHECK(p8 != NULL && levels8(p8, n) <= 256);
	buf_free(&b);
	free(px);
	free(p8);
	free(f);
}

/* libtiff's reader: the sample format, ImageDescription, the XMP
 * packet holding the parameters and the manifest (escaped), pixels. */
static void
check_tiff(int fmt, int bits)
{
	float *f = ramp();
	uint8_t *p8 = png8_of(f);
	struct imgexport_meta m = { params, manifest };
	struct buf b = { 0 };
	char err[256], path[512], name[32];
	size_t n = (size_t)W * H * 3;
	uint16_t *u16 = malloc(n * 2);
	float *f32 = malloc(n * 4);
	TIFF *tif;
	int bad = 0, y, x;

	CHECK(imgexport_encode(fmt, W, H, f, &m, &b, err, sizeof(err)) == 0);
	snprintf(name, sizeof(name), "a%d.tif", bits);
	CHECK(save(name, &b, path, sizeof(path)) == 0);
	tif = TIFFOpen(path, "r");
	CHECK(tif != NULL);
	if (tif != NULL && u16 != NULL && f32 != NULL && p8 != NULL) {
		uint32_t w = 0, h = 0, xlen = 0;
		uint16_t bps = 0, spp = 0, sf = 0;
		char *desc = NULL;
		void *xmp = NULL;

		TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
		TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
		TIFFGetField(tif, TIFFTAG_BITSPERSAMPLE, &bps);
		TIFFGetField(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
		TIFFGetField(tif, TIFFTAG_SAMPLEFORMAT, &sf);
		CHECK(w == W && h == H && spp == 3 && bps == bits);
		CHECK(sf == (bits == 32 ? SAMPLEFORMAT_IEEEFP :
		    SAMPLEFORMAT_UINT));
		CHECK(TIFFGetField(tif, TIFFTAG_IMAGEDESCRIPTION, &desc) == 1);
		CHECK_STR(desc, params);
		CHECK(TIFFGetField(tif, TIFFTAG_XMLPACKET, &xlen, &xmp) == 1);
		if (xmp != NULL) {
			char *s = strndup(xmp, xlen);

			CHECK(s != NULL && strstr(s, "<kiln:manifest>{\"subject"
			    "\":\"fox &amp; hound\",\"seed\":1}</kiln:manifest>")
			    != NULL);
			/* The float file says its samples are linear light,
			 * the 16-bit one sRGB-encoded. */
			CHECK(s != NULL && strstr(s, bits == 32 ?
			    "<kiln:colorSpace>linear sRGB" :
			    "<kiln:colorSpace>sRGB (display-referred") != NULL);
			CHECK(s != NULL && strstr(s, "a red fox, \xe6\x97\xa5"
			    "\xe6\x9c\xac &lt;&amp;&gt;\nNegative prompt") !=
			    NULL);
			free(s);
		}
		for (y = 0; y < H; y++) {
			void *row = bits == 16 ? (void *)(u16 + (size_t)y * W *
			    3) : (void *)(f32 + (size_t)y * W * 3);

			CHECK(TIFFReadScanline(tif, row, (uint32_t)y, 0) == 1);
		}
		for (x = 0; x < (int)n; x++)
			bad += bits == 16 ? (uint8_t)lrint(u16[x] / 257.0) !=
			    p8[x] : ref_q8_of_linear(f32[x]) != p8[x] ||
			    !near_linear(f32[x], f[x]);
		CHECK(bad == 0);
		CHECK(bits == 16 ? levels16(u16, n) > 256 :
		    levelsf(f32, n) > 256);
		CHECK(levels8(p8, n) <= 256);
		TIFFClose(tif);
	}
	buf_free(&b);
	free(u16);
	free(f32);
	free(p8);
	free(f);
}

static void
test_tiff16_reads_back(void)
{
	check_tiff(IMG_TIFF16, 16);
}

static void
test_tiff32_reads_back(void)
{
	check_tiff(IMG_TIFF32, 32);
}

/* OpenEXR's C reader on the file: the header's string attributes and
 * channel types; the pixels through imgexport_master_decode (OpenEXR's
 * decoder) quantise to the PNG. */
static void
check_exr(int fmt, exr_pixel_type_t type)
{
	float *f = ramp(), *back = NULL;
	uint8_t *p8 = png8_of(f);
	struct imgexport_meta m = { params, manifest };
	struct buf b = { 0 };
	char err[256], path[512], name[32];
	exr_context_t ctxt = NULL;
	exr_context_initializer_t init = EXR_DEFAULT_CONTEXT_INITIALIZER;
	const exr_attr_chlist_t *chl = NULL;
	const char *s = NULL;
	int32_t slen = 0;
	size_t n = (size_t)W * H * 3, i;
	int w = 0, h = 0, bad = 0, exact = 0, c;

	CHECK(imgexport_encode(fmt, W, H, f, &m, &b, err, sizeof(err)) == 0);
	snprintf(name, sizeof(name), "a%d.exr", (int)type);
	CHECK(save(name, &b, path, sizeof(path)) == 0);
	CHECK(exr_start_read(&ctxt, path, &init) == EXR_ERR_SUCCESS);
	if (ctxt != NULL) {
		CHECK(exr_attr_get_string(ctxt, 0, "parameters", &slen, &s) ==
		    EXR_ERR_SUCCESS);
		CHECK_STR(s, params);
		s = NULL;
		CHECK(exr_attr_get_string(ctxt, 0, "kilnManifest", &slen,
		    &s) == EXR_ERR_SUCCESS);
		CHECK_STR(s, manifest);
		s = NULL;
		CHECK(exr_attr_get_string(ctxt, 0, "kilnTransfer", &slen,
		    &s) == EXR_ERR_SUCCESS);
		CHECK(s != NULL && !strncmp(s, "linear sRGB", 11));
		{
			exr_attr_chromaticities_t ch;

			memset(&ch, 0, sizeof(ch));
			CHECK(exr_attr_get_chromaticities(ctxt, 0,
			    "chromaticities", &ch) == EXR_ERR_SUCCESS);
			CHECK(ch.red_x == 0.64f && ch.red_y == 0.33f &&
			    ch.green_x == 0.30f && ch.green_y == 0.60f &&
			    ch.blue_x == 0.15f && ch.blue_y == 0.06f &&
			    ch.white_x == 0.3127f && ch.white_y == 0.3290f);
		}
		CHECK(exr_get_channels(ctxt, 0, &chl) == EXR_ERR_SUCCESS);
		CHECK(chl != NULL && chl->num_channels == 3);
		for (c = 0; chl != NULL && c < chl->num_channels; c++)
			CHECK(chl->entries[c].pixel_type == type);
		exr_finish(&ctxt);
	}
	CHECK(imgexport_master_decode(b.data, b.len, &w, &h, &back, NULL,
	    err, sizeof(err)) == 0);
	CHECK(w == W && h == H);
	for (i = 0; back != NULL && p8 != NULL && i < n; i++) {
		bad += ref_q8_of_linear(back[i]) != p8[i];
		exact += near_linear(back[i], f[i]);
	}
	CHECK(bad == 0);
	/* Float holds each value's linear light to float precision; half
	 * to its 2^-11 steps. */
	CHECK(type == EXR_PIXEL_FLOAT ? exact == (int)n : 1);
	CHECK(back != NULL && levelsf(back, n) > 256);
	buf_free(&b);
	free(back);
	free(p8);
	free(f);
}

static void
test_exr_float_reads_back(void)
{
	check_exr(IMG_EXR, EXR_PIXEL_FLOAT);
}

static void
test_exr_half_reads_back(void)
{
	check_exr(IMG_EXR16, EXR_PIXEL_HALF);
}

/* The master is the float EXR: what it holds comes back bit for bit,
 * display-encoded as given (only a download converts to linear). */
static void
test_master_round_trip(void)
{
	float *f = ramp(), *back = NULL;
	struct buf b = { 0 };
	char err[256], *ps = NULL;
	int w = 0, h = 0;

	CHECK(imgexport_master_encode(W, H, f, params, &b, err,
	    sizeof(err)) == 0);
	CHECK(imgexport_master_decode(b.data, b.len, &w, &h, &back, &ps, err,
	    sizeof(err)) == 0);
	CHECK_STR(ps, params);
	free(ps);
	CHECK(w == W && h == H && back != NULL &&
	    memcmp(back, f, (size_t)W * H * 3 * sizeof(float)) == 0);
	free(back);
	back = NULL;
	/* A chunk that ZIP leaves exactly as long as it was (12 bytes of
	 * one pixel here) must still read back: OpenEXRCore 3.1 would
	 * store it compressed, which readers take for raw data. */
	{
		float tiny[3] = { ldexpf(1.0f, -117), 0.0f, 0.0f };

		buf_reset(&b);
		free(back);
		back = NULL;
		CHECK(imgexport_master_encode(1, 1, tiny, NULL, &b, err,
		    sizeof(err)) == 0);
		CHECK(imgexport_master_decode(b.data, b.len, &w, &h, &back,
		    NULL, err, sizeof(err)) == 0);
		CHECK(back != NULL && memcmp(back, tiny, sizeof(tiny)) == 0);
		buf_reset(&b);
		CHECK(imgexport_master_encode(W, H, f, params, &b, err,
		    sizeof(err)) == 0);
	}
	free(back);
	back = NULL;
	/* Truncated anywhere, or not an EXR: a message, no pixels. */
	CHECK(imgexport_master_decode(b.data, b.len / 2, &w, &h, &back, NULL,
	    err, sizeof(err)) == -1 && back == NULL);
	CHECK(strstr(err, "float master") != NULL);
	CHECK(imgexport_master_decode("\x89PNG\r\n\x1a\n", 8, &w, &h, &back,
	    NULL, err, sizeof(err)) == -1 && back == NULL);
	CHECK(imgexport_master_decode("", 0, &w, &h, &back, NULL,
	    err, sizeof(err)) == -1 && back == NULL);
	buf_free(&b);
	free(f);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	/* libtiff would print a reader's warnings: the checks say it. */
	TIFFSetWarningHandler(NULL);
	RUN(test_format_names);
	RUN(test_master_key);
	RUN(test_quantisers_agree);
	RUN(test_png16_reads_back);
	RUN(test_tiff16_reads_back);
	RUN(test_tiff32_reads_back);
	RUN(test_exr_float_reads_back);
	RUN(test_exr_half_reads_back);
	RUN(test_master_round_trip);
	remove_dir(dir);
	return tap_done();
}
