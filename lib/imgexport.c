/* imgexport.c - 16-bit PNG (libpng), 16/32-bit TIFF (libtiff) and OpenEXR
 * (its C API) from float RGB, and the float master they are made from. */
#include "imgexport.h"
#include "half.h"
#include "icc.h"
#include "infotext.h"
#include "util.h"

#include <math.h>
#include <openexr.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>

static const struct {
	const char *name, *ext, *type;
} formats[IMG_FORMAT_COUNT] = {
	[IMG_PNG] = { "png", "png", "image/png" },
	[IMG_PNG16] = { "png16", "png", "image/png" },
	[IMG_TIFF16] = { "tiff16", "tif", "image/tiff" },
	[IMG_TIFF32] = { "tiff32", "tif", "image/tiff" },
	[IMG_EXR] = { "exr", "exr", "image/x-exr" },
	[IMG_EXR16] = { "exr16", "exr", "image/x-exr" },
};

int
img_format_parse(const char *s)
{
	int i;

	for (i = 0; s != NULL && i < IMG_FORMAT_COUNT; i++)
		if (!strcmp(s, formats[i].name))
			return i;
	return -1;
}

const char *
img_format_name(int f)
{
	return f >= 0 && f < IMG_FORMAT_COUNT ? formats[f].name : NULL;
}

const char *
img_format_ext(int f)
{
	return f >= 0 && f < IMG_FORMAT_COUNT ? formats[f].ext : NULL;
}

const char *
img_format_type(int f)
{
	return f >= 0 && f < IMG_FORMAT_COUNT ? formats[f].type : NULL;
}

const char *
img_format_names(void)
{
	return "png, png16, tiff16, tiff32, exr, exr16";
}

int
imgexport_master_key(const char *png_key, char *out, size_t outlen)
{
	size_t n = png_key != NULL ? strlen(png_key) : 0;

	if (n < 5 || strcmp(png_key + n - 4, ".png") != 0 || n + 1 > outlen)
		return -1;
	memcpy(out, png_key, n - 4);
	memcpy(out + n - 4, ".exr", 5);
	return 0;
}

static float
clamp01(float v)
{
	/* NaN fails both tests and becomes 0. */
	return v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f;
}

uint8_t
imgexport_q8(float v)
{
	return (uint8_t)lrintf(clamp01(v) * 255.0f);
}

uint16_t
imgexport_q16(float v)
{
	long q8 = imgexport_q8(v), q = lrint((double)clamp01(v) * 65535.0);
	/* round(q / 257) == q8 exactly for q in [257 q8 - 128, 257 q8 +
	 * 128]: 128 / 257 < 0.5. */
	long lo = 257 * q8 - 128, hi = 257 * q8 + 128;

	if (lo < 0)
		lo = 0;
	if (hi > 65535)
		hi = 65535;
	return (uint16_t)(q < lo ? lo : q > hi ? hi : q);
}

uint16_t
imgexport_half(float v)
{
	uint8_t want = imgexport_q8(v);
	uint16_t h = float_to_half(clamp01(v));
	int i;

	/* A half's step in [0, 1] is at most 2^-11, a quarter of a PNG
	 * level's 1/255: a few steps always reach the level. Positive
	 * halves order like their bits. */
	for (i = 0; i < 16; i++) {
		uint8_t got = imgexport_q8(half_to_float(h));

		if (got == want)
			break;
		h = got < want ? (uint16_t)(h + 1) : (uint16_t)(h - 1);
	}
	return h;
}

double
imgexport_srgb_decode(double v)
{
	return v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4);
}

double
imgexport_srgb_encode(double l)
{
	return l <= 0.0031308 ? l * 12.92 : 1.055 * pow(l, 1.0 / 2.4) - 0.055;
}

/* The PNG byte a linear value l re-encodes to: round(OETF(l) * 255). */
static uint8_t
q8_of_linear(double l)
{
	l = l > 0.0 ? (l < 1.0 ? l : 1.0) : 0.0;
	return (uint8_t)lrint(imgexport_srgb_encode(l) * 255.0);
}

float
imgexport_linear(float v)
{
	uint8_t want = imgexport_q8(v);
	float l = (float)imgexport_srgb_decode(clamp01(v));
	int i;

	/* A level spans at least 1/255/12.92 of linear light (near 0),
	 * thousands of float steps: the float nearest the decoded value
	 * is at most a few steps from the level where pow's or float's
	 * rounding on a level's edge put it outside. */
	for (i = 0; i < 64; i++) {
		uint8_t got = q8_of_linear(l);

		if (got == want)
			break;
		l = nextafterf(l, got < want ? 2.0f : -1.0f);
	}
	return l;
}

uint16_t
imgexport_half_linear(float v)
{
	uint8_t want = imgexport_q8(v);
	uint16_t h = float_to_half(
	    (float)imgexport_srgb_decode(clamp01(v)));
	int i;

	/* Near 0 a level is 1/255/12.92 (about 3e-4) of linear light, and
	 * a half's step there 2^-24..2^-23; near 1 a level is about
	 * 0.009 and the step 2^-11: a few steps always reach it. */
	for (i = 0; i < 64; i++) {
		uint8_t got = q8_of_linear(half_to_float(h));

		if (got == want)
			break;
		h = got < want ? (uint16_t)(h + 1) : (uint16_t)(h - 1);
	}
	return h;
}

uint8_t *
imgexport_rgb8(int w, int h, const float *rgb)
{
	size_t n = (size_t)w * (size_t)h * 3, i;
	uint8_t *out = malloc(n > 0 ? n : 1);

	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		out[i] = imgexport_q8(rgb[i]);
	return out;
}

static int
check_size(int w, int h, char *err, size_t errlen)
{
	if (w < 1 || h < 1 || w > IMGEXPORT_MAX_SIDE || h > IMGEXPORT_MAX_SIDE)
		return errf(err, errlen, "image size %dx%d out of range", w, h);
	return 0;
}

/* ---- XMP ---- */

/* What a file's metadata says of its samples: the float formats hold
 * linear light (what Nuke, Blender, Photoshop's 32-bit mode and Affinity
 * take float files for), the integer ones the PNG's sRGB encoding. */
#define COLOUR_LINEAR "linear sRGB (scene-linear, sRGB/Rec. 709 " \
	"primaries, D65 white; sRGB EOTF of the PNG's values)"
#define COLOUR_SRGB "sRGB (display-referred, as the PNG)"

/* s escaped for XML text into b; characters XML 1.0 cannot hold (C0
 * controls but tab, newline and return) are dropped. */
static int
xml_escape(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		int rc;

		if (c == '&')
			rc = buf_puts(b, "&amp;");
		else if (c == '<')
			rc = buf_puts(b, "&lt;");
		else if (c == '>')
			rc = buf_puts(b, "&gt;");
		else if (c == '\r')
			rc = buf_puts(b, "&#13;");
		else if (c < 0x20 && c != '\t' && c != '\n')
			rc = 0;
		else
			rc = buf_append(b, s, 1);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* The XMP packet for m: dc:description holds the parameters (where
 * Photoshop's File Info shows it), kiln:parameters and kiln:manifest the
 * exact texts, kiln:colorSpace how the samples encode light. */
static int
xmp_packet(const struct imgexport_meta *m, const char *colour,
    struct buf *b)
{
	if (buf_puts(b, "<?xpacket begin=\"\xef\xbb\xbf\" "
	    "id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
	    "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n"
	    "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-"
	    "ns#\">\n<rdf:Description rdf:about=\"\" "
	    "xmlns:dc=\"http://purl.org/dc/elements/1.1/\" "
	    "xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\" "
	    "xmlns:kiln=\"https://kiln.invalid/ns/export/1.0/\">\n"
	    "<xmp:CreatorTool>kiln</xmp:CreatorTool>\n") != 0)
		return -1;
	if (m->parameters != NULL && (buf_puts(b, "<dc:description><rdf:Alt>"
	    "<rdf:li xml:lang=\"x-default\">") != 0 ||
	    xml_escape(b, m->parameters) != 0 ||
	    buf_puts(b, "</rdf:li></rdf:Alt></dc:description>\n"
	    "<kiln:parameters>") != 0 || xml_escape(b, m->parameters) != 0 ||
	    buf_puts(b, "</kiln:parameters>\n") != 0))
		return -1;
	if (colour != NULL && (buf_puts(b, "<kiln:colorSpace>") != 0 ||
	    xml_escape(b, colour) != 0 ||
	    buf_puts(b, "</kiln:colorSpace>\n") != 0))
		return -1;
	if (m->manifest != NULL && (buf_puts(b, "<kiln:manifest>") != 0 ||
	    xml_escape(b, m->manifest) != 0 ||
	    buf_puts(b, "</kiln:manifest>\n") != 0))
		return -1;
	return buf_puts(b, "</rdf:Description>\n</rdf:RDF>\n</x:xmpmeta>\n"
	    "<?xpacket end=\"w\"?>");
}

/* ---- 16-bit PNG ---- */

struct png_out {
	struct buf *b;
	int failed;
	char msg[200];
};

static void
png_out_write(png_structp png, png_bytep data, size_t len)
{
	struct png_out *o = png_get_io_ptr(png);

	if (!o->failed && buf_append(o->b, data, len) != 0)
		o->failed = 1;
}

static void
png_out_flush(png_structp png)
{
	(void)png;
}

static void
png_on_error(png_structp png, png_const_charp msg)
{
	struct png_out *o = png_get_error_ptr(png);

	snprintf(o->msg, sizeof(o->msg), "%s", msg);
	png_longjmp(png, 1);
}

static void
png_on_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

/* Writes the rows with libpng; rows is h pointers into the big-endian
 * 16-bit samples. Kept apart so nothing setjmp clobbers is live. */
static int
png16_run(struct png_out *o, int w, int h, png_bytepp rows, png_textp text,
    int ntext)
{
	png_structp png;
	png_infop info = NULL;

	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, o, png_on_error,
	    png_on_warning);
	if (png == NULL)
		return -1;
	info = png_create_info_struct(png);
	if (info == NULL) {
		png_destroy_write_struct(&png, NULL);
		return -1;
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		return -1;
	}
	png_set_write_fn(png, o, png_out_write, png_out_flush);
	png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 16,
	    PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
	    PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	/* The values are sRGB-encoded: the sRGB chunk says so (with gAMA
	 * and cHRM for readers that know only those). */
	png_set_sRGB_gAMA_and_cHRM(png, info, PNG_sRGB_INTENT_PERCEPTUAL);
	if (ntext > 0)
		png_set_text(png, info, text, ntext);
	png_set_rows(png, info, rows);
	png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
	png_destroy_write_struct(&png, &info);
	return 0;
}

/* One text chunk: tEXt when s is all Latin-1 (as image.c writes the
 * PNG's), else an uncompressed iTXt in UTF-8. *latin1 is the caller's to
 * free. */
static int
png_text_of(png_textp t, const char *key, const char *s, char **latin1)
{
	memset(t, 0, sizeof(*t));
	t->key = (png_charp)key;
	switch (infotext_latin1(s, latin1)) {
	case 1:
		t->compression = PNG_TEXT_COMPRESSION_NONE;
		t->text = *latin1;
		break;
	case 0:
		t->compression = PNG_ITXT_COMPRESSION_NONE;
		t->text = (png_charp)s;
		t->lang = (png_charp)"";
		t->lang_key = (png_charp)"";
		break;
	default:
		return -1;
	}
	t->text_length = strlen(t->text);
	return 0;
}

static int
encode_png16(int w, int h, const float *rgb, const struct imgexport_meta *m,
    struct buf *out, char *err, size_t errlen)
{
	struct png_out o = { out, 0, "" };
	size_t row = (size_t)w * 6, i;
	uint8_t *px = malloc(row * (size_t)h);
	png_bytepp rows = malloc((size_t)h * sizeof(*rows));
	png_text text[2];
	char *l1 = NULL, *l2 = NULL;
	int ntext = 0, rc = -1, y;

	if (px == NULL || rows == NULL) {
		errf(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < (size_t)w * (size_t)h * 3; i++) {
		uint16_t q = imgexport_q16(rgb[i]);

		px[i * 2] = (uint8_t)(q >> 8);
		px[i * 2 + 1] = (uint8_t)q;
	}
	for (y = 0; y < h; y++)
		rows[y] = px + (size_t)y * row;
	if ((m->parameters != NULL && png_text_of(&text[ntext++],
	    "parameters", m->parameters, &l1) != 0) ||
	    (m->manifest != NULL && png_text_of(&text[ntext++],
	    "kilnManifest", m->manifest, &l2) != 0)) {
		errf(err, errlen, "out of memory");
		goto out;
	}
	if (png16_run(&o, w, h, rows, text, ntext) != 0 || o.failed) {
		errf(err, errlen, "16-bit PNG: %s", o.failed ? "out of memory" :
		    o.msg[0] != '\0' ? o.msg : "libpng failed");
		goto out;
	}
	rc = 0;
out:
	free(px);
	free(rows);
	free(l1);
	free(l2);
	return rc;
}

/* ---- TIFF ---- */

/* A TIFF in memory: libtiff seeks back to patch its directory, so
 * writes land at an offset of out (from base, where this file starts). */
struct tiff_mem {
	struct buf *b;
	size_t base, pos;
	int failed;
};

static tmsize_t
tiff_mem_read(thandle_t h, void *data, tmsize_t n)
{
	struct tiff_mem *t = h;
	size_t have = t->b->len - t->base;

	if (t->pos >= have)
		return 0;
	if ((size_t)n > have - t->pos)
		n = (tmsize_t)(have - t->pos);
	memcpy(data, t->b->data + t->base + t->pos, (size_t)n);
	t->pos += (size_t)n;
	return n;
}

static tmsize_t
tiff_mem_write(thandle_t h, void *data, tmsize_t n)
{
	struct tiff_mem *t = h;
	size_t end = t->base + t->pos + (size_t)n;

	if (end > t->b->len) {
		if (buf_reserve(t->b, end - t->b->len) != 0) {
			t->failed = 1;
			return -1;
		}
		memset(t->b->data + t->b->len, 0, end - t->b->len);
		t->b->len = end;
	}
	memcpy(t->b->data + t->base + t->pos, data, (size_t)n);
	t->pos += (size_t)n;
	return n;
}

static toff_t
tiff_mem_seek(thandle_t h, toff_t off, int whence)
{
	struct tiff_mem *t = h;
	size_t size = t->b->len - t->base;

	if (whence == SEEK_CUR)
		off += t->pos;
	else if (whence == SEEK_END)
		off += size;
	t->pos = (size_t)off;
	return off;
}

static int
tiff_mem_close(thandle_t h)
{
	(void)h;
	return 0;
}

static toff_t
tiff_mem_size(thandle_t h)
{
	struct tiff_mem *t = h;

	return t->b->len - t->base;
}

static int
tiff_mem_map(thandle_t h, void **base, toff_t *size)
{
	(void)h;
	(void)base;
	(void)size;
	return 0;
}

static void
tiff_mem_unmap(thandle_t h, void *base, toff_t size)
{
	(void)h;
	(void)base;
	(void)size;
}

static int
encode_tiff(int bits, int w, int h, const float *rgb,
    const struct imgexport_meta *m, struct buf *out, char *err,
    size_t errlen)
{
	struct tiff_mem t = { out, out->len, 0, 0 };
	struct buf xmp = { 0 }, icc = { 0 };
	size_t n = (size_t)w * 3, bps = (size_t)bits / 8, i;
	uint32_t rps = (uint32_t)(65536 / (n * bps));
	void *line = malloc(n * bps);
	TIFF *tif = NULL;
	int rc = -1, y;

	if (line == NULL || xmp_packet(m, bits == 32 ? COLOUR_LINEAR :
	    COLOUR_SRGB, &xmp) != 0 || icc_srgb_profile(bits == 32 ?
	    ICC_LINEAR : ICC_SRGB, &icc) != 0) {
		errf(err, errlen, "out of memory");
		goto out;
	}
	tif = TIFFClientOpen("export.tif", "wm", &t, tiff_mem_read,
	    tiff_mem_write, tiff_mem_seek, tiff_mem_close, tiff_mem_size,
	    tiff_mem_map, tiff_mem_unmap);
	if (tif == NULL) {
		errf(err, errlen, "TIFF: libtiff could not start a file");
		goto out;
	}
	/* Deflate, with the horizontal predictor for integers; floats go
	 * without one, as every reader (tifffile without imagecodecs
	 * included) takes them. A float TIFF holds linear light, the
	 * 16-bit one sRGB-encoded values: its ICC profile says so to
	 * colour-managed programs, XMP kiln:colorSpace to people. */
	if (!TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, (uint32_t)w) ||
	    !TIFFSetField(tif, TIFFTAG_IMAGELENGTH, (uint32_t)h) ||
	    !TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 3) ||
	    !TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, bits) ||
	    !TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, bits == 32 ?
	    SAMPLEFORMAT_IEEEFP : SAMPLEFORMAT_UINT) ||
	    !TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB) ||
	    !TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) ||
	    !TIFFSetField(tif, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT) ||
	    !TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE) ||
	    (bits == 16 && !TIFFSetField(tif, TIFFTAG_PREDICTOR,
	    PREDICTOR_HORIZONTAL)) ||
	    !TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, rps > 0 ? rps : 1) ||
	    !TIFFSetField(tif, TIFFTAG_SOFTWARE, "kiln") ||
	    (m->parameters != NULL && !TIFFSetField(tif,
	    TIFFTAG_IMAGEDESCRIPTION, m->parameters)) ||
	    !TIFFSetField(tif, TIFFTAG_XMLPACKET, (uint32_t)xmp.len,
	    xmp.data) ||
	    !TIFFSetField(tif, TIFFTAG_ICCPROFILE, (uint32_t)icc.len,
	    icc.data)) {
		errf(err, errlen, "TIFF: a tag was refused");
		goto out;
	}
	for (y = 0; y < h; y++) {
		const float *src = rgb + (size_t)y * n;

		for (i = 0; i < n; i++) {
			if (bits == 16)
				((uint16_t *)line)[i] = imgexport_q16(src[i]);
			else
				((float *)line)[i] = imgexport_linear(src[i]);
		}
		if (TIFFWriteScanline(tif, line, (uint32_t)y, 0) != 1) {
			errf(err, errlen, "TIFF: writing row %d failed%s", y,
			    t.failed ? ": out of memory" : "");
			goto out;
		}
	}
	if (!TIFFWriteDirectory(tif) || t.failed) {
		errf(err, errlen, "TIFF: writing the directory failed");
		goto out;
	}
	rc = 0;
out:
	if (tif != NULL)
		TIFFClose(tif);
	if (rc != 0)
		out->len = t.base;
	free(line);
	buf_free(&xmp);
	buf_free(&icc);
	return rc;
}

/* ---- OpenEXR ---- */

struct exr_mem {
	struct buf *b;		/* writing: out, from base */
	size_t base;
	const uint8_t *data;	/* reading */
	size_t len;
	int failed;
	char msg[200];
};

static void
exr_on_error(exr_const_context_t ctxt, exr_result_t code, const char *msg)
{
	void *ud = NULL;
	struct exr_mem *m;

	if (exr_get_user_data(ctxt, &ud) != EXR_ERR_SUCCESS || ud == NULL)
		return;
	m = ud;
	if (m->msg[0] == '\0')
		snprintf(m->msg, sizeof(m->msg), "%s (%s)", msg,
		    exr_get_error_code_as_string(code));
}

static int64_t
exr_mem_write(exr_const_context_t ctxt, void *ud, const void *data,
    uint64_t sz, uint64_t off, exr_stream_error_func_ptr_t error_cb)
{
	struct exr_mem *m = ud;
	size_t end = m->base + (size_t)off + (size_t)sz;

	(void)ctxt;
	(void)error_cb;
	if (end > m->b->len) {
		if (buf_reserve(m->b, end - m->b->len) != 0) {
			m->failed = 1;
			return -1;
		}
		memset(m->b->data + m->b->len, 0, end - m->b->len);
		m->b->len = end;
	}
	memcpy(m->b->data + m->base + off, data, (size_t)sz);
	return (int64_t)sz;
}

static int64_t
exr_mem_read(exr_const_context_t ctxt, void *ud, void *data, uint64_t sz,
    uint64_t off, exr_stream_error_func_ptr_t error_cb)
{
	struct exr_mem *m = ud;

	(void)ctxt;
	(void)error_cb;
	if (off >= m->len)
		return 0;
	if (sz > m->len - off)
		sz = m->len - off;
	memcpy(data, m->data + off, (size_t)sz);
	return (int64_t)sz;
}

static int64_t
exr_mem_size(exr_const_context_t ctxt, void *ud)
{
	struct exr_mem *m = ud;

	(void)ctxt;
	return (int64_t)m->len;
}

/* Channel c of the chunk's pipeline: 0, 1, 2 for R, G, B, else -1. */
static int
rgb_index(const char *name)
{
	return !strcmp(name, "R") ? 0 : !strcmp(name, "G") ? 1 :
	    !strcmp(name, "B") ? 2 : -1;
}

/* OpenEXRCore 3.1's ZIP step keeps its output when it is exactly as long
 * as the raw chunk, but a reader takes a chunk of the raw size for raw
 * data (the format's rule): such a chunk is stored raw instead. fn is
 * the compressor chosen by exr_encoding_choose_default_routines. */
struct exr_compress_hook {
	exr_result_t (*fn)(exr_encode_pipeline_t *enc);
};

static exr_result_t
compress_or_store(exr_encode_pipeline_t *enc)
{
	const struct exr_compress_hook *hk = enc->encoding_user_data;
	exr_result_t r = hk->fn(enc);

	if (r == EXR_ERR_SUCCESS && enc->compressed_bytes >= enc->packed_bytes &&
	    enc->compressed_buffer != enc->packed_buffer) {
		if (enc->compressed_alloc_size < enc->packed_bytes)
			return EXR_ERR_OUT_OF_MEMORY;
		memcpy(enc->compressed_buffer, enc->packed_buffer,
		    enc->packed_bytes);
		enc->compressed_bytes = enc->packed_bytes;
	}
	return r;
}

/* Writes w x h RGB as planes[3] (R, G, B; half or float samples) into
 * m's buffer: one scanline part, ZIP, sRGB primaries, and the string
 * attributes given (NULL values skipped). */
static int
exr_write_rgb(struct exr_mem *m, int w, int h, exr_pixel_type_t type,
    void *const planes[3], const char *const attrs[][2], int nattrs)
{
	exr_context_initializer_t init = EXR_DEFAULT_CONTEXT_INITIALIZER;
	exr_context_t ctxt = NULL;
	exr_encode_pipeline_t enc;
	exr_chunk_info_t cinfo;
	struct exr_compress_hook hook = { NULL };
	static const exr_attr_chromaticities_t srgb = {
		0.64f, 0.33f, 0.30f, 0.60f, 0.15f, 0.06f, 0.3127f, 0.3290f
	};
	static const char *const names[3] = { "R", "G", "B" };
	int part, i, y, c, spc = 0, started = 0, rc = -1;
	size_t bpe = type == EXR_PIXEL_HALF ? 2 : 4;
	exr_result_t r;

	memset(&enc, 0, sizeof(enc));
	init.user_data = m;
	init.write_fn = exr_mem_write;
	init.error_handler_fn = exr_on_error;
	init.zip_level = 6;
	r = exr_start_write(&ctxt, "export.exr", EXR_WRITE_FILE_DIRECTLY,
	    &init);
	if (r != EXR_ERR_SUCCESS)
		goto out;
	if ((r = exr_add_part(ctxt, NULL, EXR_STORAGE_SCANLINE, &part)) ||
	    (r = exr_initialize_required_attr_simple(ctxt, part, w, h,
	    EXR_COMPRESSION_ZIP)) ||
	    (r = exr_attr_set_chromaticities(ctxt, part, "chromaticities",
	    &srgb)))
		goto out;
	for (c = 0; c < 3; c++)
		if ((r = exr_add_channel(ctxt, part, names[c], type,
		    EXR_PERCEPTUALLY_LOGARITHMIC, 1, 1)) != EXR_ERR_SUCCESS)
			goto out;
	for (i = 0; i < nattrs; i++)
		if (attrs[i][1] != NULL && (r = exr_attr_set_string(ctxt,
		    part, attrs[i][0], attrs[i][1])) != EXR_ERR_SUCCESS)
			goto out;
	if ((r = exr_write_header(ctxt)) ||
	    (r = exr_get_scanlines_per_chunk(ctxt, part, &spc)))
		goto out;
	for (y = 0; y < h; y += spc) {
		if ((r = exr_write_scanline_chunk_info(ctxt, part, y, &cinfo)))
			goto out;
		r = started ? exr_encoding_update(ctxt, part, &cinfo, &enc) :
		    exr_encoding_initialize(ctxt, part, &cinfo, &enc);
		if (r != EXR_ERR_SUCCESS)
			goto out;
		for (c = 0; c < enc.channel_count; c++) {
			exr_coding_channel_info_t *ch = &enc.channels[c];
			int k = rgb_index(ch->channel_name);

			if (k < 0) {
				r = EXR_ERR_INVALID_ARGUMENT;
				goto out;
			}
			ch->user_bytes_per_element = (int16_t)bpe;
			ch->user_data_type = (uint16_t)type;
			ch->user_pixel_stride = (int32_t)bpe;
			ch->user_line_stride = (int32_t)(bpe * (size_t)w);
			ch->encode_from_ptr = (const uint8_t *)planes[k] +
			    (size_t)y * (size_t)w * bpe;
		}
		if (!started) {
			if ((r = exr_encoding_choose_default_routines(ctxt,
			    part, &enc)))
				goto out;
			started = 1;
		}
		if (enc.compress_fn != NULL &&
		    enc.compress_fn != compress_or_store) {
			hook.fn = enc.compress_fn;
			enc.compress_fn = compress_or_store;
		}
		enc.encoding_user_data = &hook;
		if ((r = exr_encoding_run(ctxt, part, &enc)))
			goto out;
	}
	rc = 0;
out:
	if (started || enc.channels != NULL)
		exr_encoding_destroy(ctxt, &enc);
	if (ctxt != NULL && exr_finish(&ctxt) != EXR_ERR_SUCCESS)
		rc = -1;
	if (rc != 0 && m->msg[0] == '\0')
		snprintf(m->msg, sizeof(m->msg), "%s", m->failed ?
		    "out of memory" : exr_get_error_code_as_string(r));
	return rc;
}

/* linear: the samples as linear light (a download); else the PNG's
 * display-encoded values, as the float master keeps them. */
static int
encode_exr(exr_pixel_type_t type, int linear, int w, int h,
    const float *rgb, const struct imgexport_meta *meta, struct buf *out,
    char *err, size_t errlen)
{
	struct exr_mem m = { out, out->len, NULL, 0, 0, "" };
	size_t n = (size_t)w * (size_t)h, i;
	size_t bpe = type == EXR_PIXEL_HALF ? 2 : 4;
	void *planes[3] = { NULL, NULL, NULL };
	/* "comments" is OpenEXR's standard attribute for a description;
	 * "parameters" names A1111's text as the PNG's chunk does. A
	 * download holds linear light (the sRGB EOTF of the PNG's values,
	 * sRGB primaries in "chromaticities"), as every EXR reader takes
	 * it; the master the PNG's display-referred values, which
	 * quantise back to it directly. "kilnTransfer" says which. */
	const char *attrs[][2] = {
		{ "comments", meta->parameters },
		{ "parameters", meta->parameters },
		{ "kilnManifest", meta->manifest },
		{ "kilnTransfer", linear ? COLOUR_LINEAR : COLOUR_SRGB },
	};
	int k, rc = -1;

	for (k = 0; k < 3; k++)
		if ((planes[k] = malloc(n * bpe)) == NULL) {
			errf(err, errlen, "out of memory");
			goto out;
		}
	for (i = 0; i < n; i++)
		for (k = 0; k < 3; k++) {
			float v = rgb[i * 3 + (size_t)k];

			if (type == EXR_PIXEL_HALF)
				((uint16_t *)planes[k])[i] = linear ?
				    imgexport_half_linear(v) :
				    imgexport_half(v);
			else
				((float *)planes[k])[i] = linear ?
				    imgexport_linear(v) : clamp01(v);
		}
	if (exr_write_rgb(&m, w, h, type, planes, attrs,
	    (int)ARRAY_LEN(attrs)) != 0) {
		out->len = m.base;
		errf(err, errlen, "OpenEXR: %s", m.msg);
		goto out;
	}
	rc = 0;
out:
	for (k = 0; k < 3; k++)
		free(planes[k]);
	return rc;
}

int
imgexport_encode(int f, int w, int h, const float *rgb,
    const struct imgexport_meta *m, struct buf *out, char *err,
    size_t errlen)
{
	static const struct imgexport_meta none = { NULL, NULL };

	if (check_size(w, h, err, errlen) != 0)
		return -1;
	if (m == NULL)
		m = &none;
	switch (f) {
	case IMG_PNG16:
		return encode_png16(w, h, rgb, m, out, err, errlen);
	case IMG_TIFF16:
		return encode_tiff(16, w, h, rgb, m, out, err, errlen);
	case IMG_TIFF32:
		return encode_tiff(32, w, h, rgb, m, out, err, errlen);
	case IMG_EXR:
		return encode_exr(EXR_PIXEL_FLOAT, 1, w, h, rgb, m, out, err,
		    errlen);
	case IMG_EXR16:
		return encode_exr(EXR_PIXEL_HALF, 1, w, h, rgb, m, out, err,
		    errlen);
	default:
		return errf(err, errlen, "format %d is not one imgexport "
		    "encodes", f);
	}
}

int
imgexport_master_encode(int w, int h, const float *rgb,
    const char *parameters, struct buf *out, char *err, size_t errlen)
{
	struct imgexport_meta m = { parameters, NULL };

	if (check_size(w, h, err, errlen) != 0)
		return -1;
	return encode_exr(EXR_PIXEL_FLOAT, 0, w, h, rgb, &m, out, err, errlen);
}

/* Largest expansion zlib's deflate reaches (about 1032:1), with room:
 * a file whose pixels would need more bytes than this many times its
 * own size is refused before anything that large is allocated. */
#define EXR_MAX_RATIO 1100

int
imgexport_master_decode(const void *data, size_t len, int *w, int *h,
    float **rgb, char **parameters, char *err, size_t errlen)
{
	exr_context_initializer_t init = EXR_DEFAULT_CONTEXT_INITIALIZER;
	exr_context_t ctxt = NULL;
	exr_decode_pipeline_t dec;
	exr_chunk_info_t cinfo;
	exr_attr_box2i_t dw;
	exr_storage_t storage;
	exr_compression_t comp;
	const exr_attr_chlist_t *chl = NULL;
	struct exr_mem m = { NULL, 0, data, len, 0, "" };
	float *planes[3] = { NULL, NULL, NULL }, *res = NULL;
	int nparts = 0, W, H, y, c, k, spc = 0, started = 0, chosen = 0;
	int found = 0, rc = -1;
	size_t n, i, raw = 0;
	exr_result_t r = EXR_ERR_SUCCESS;

	*rgb = NULL;
	*w = *h = 0;
	if (parameters != NULL)
		*parameters = NULL;
	memset(&dec, 0, sizeof(dec));
	init.user_data = &m;
	init.read_fn = exr_mem_read;
	init.size_fn = exr_mem_size;
	init.error_handler_fn = exr_on_error;
	init.max_image_width = IMGEXPORT_MAX_SIDE;
	init.max_image_height = IMGEXPORT_MAX_SIDE;
	init.flags = EXR_CONTEXT_FLAG_SILENT_HEADER_PARSE;
	if ((r = exr_start_read(&ctxt, "master", &init)) ||
	    (r = exr_get_count(ctxt, &nparts)))
		goto fail;
	if (nparts != 1) {
		errf(err, errlen, "float master: %d parts, want 1", nparts);
		goto out;
	}
	if ((r = exr_get_storage(ctxt, 0, &storage)) ||
	    (r = exr_get_compression(ctxt, 0, &comp)) ||
	    (r = exr_get_data_window(ctxt, 0, &dw)) ||
	    (r = exr_get_channels(ctxt, 0, &chl)) ||
	    (r = exr_get_scanlines_per_chunk(ctxt, 0, &spc)))
		goto fail;
	if (storage != EXR_STORAGE_SCANLINE) {
		errf(err, errlen, "float master: not a scanline image");
		goto out;
	}
	if (comp != EXR_COMPRESSION_NONE && comp != EXR_COMPRESSION_RLE &&
	    comp != EXR_COMPRESSION_ZIPS && comp != EXR_COMPRESSION_ZIP) {
		errf(err, errlen, "float master: compression %d is not one "
		    "kiln reads", (int)comp);
		goto out;
	}
	W = dw.max.x - dw.min.x + 1;
	H = dw.max.y - dw.min.y + 1;
	if (dw.max.x < dw.min.x || dw.max.y < dw.min.y || W < 1 || H < 1 ||
	    W > IMGEXPORT_MAX_SIDE || H > IMGEXPORT_MAX_SIDE || spc < 1) {
		errf(err, errlen, "float master: bad data window");
		goto out;
	}
	for (i = 0; i < (size_t)chl->num_channels; i++) {
		const exr_attr_chlist_entry_t *e = &chl->entries[i];

		if (e->x_sampling != 1 || e->y_sampling != 1) {
			errf(err, errlen, "float master: subsampled channel");
			goto out;
		}
		raw += (size_t)(e->pixel_type == EXR_PIXEL_HALF ? 2 : 4);
		if ((k = rgb_index(e->name.str)) >= 0 &&
		    e->pixel_type != EXR_PIXEL_UINT)
			found |= 1 << k;
	}
	if (found != 7) {
		errf(err, errlen, "float master: no half or float R, G and B "
		    "channels");
		goto out;
	}
	n = (size_t)W * (size_t)H;
	if (raw * n / EXR_MAX_RATIO > len) {
		errf(err, errlen, "float master: %dx%d pixels in %zu bytes "
		    "cannot be", W, H, len);
		goto out;
	}
	for (k = 0; k < 3; k++)
		if ((planes[k] = calloc(n, sizeof(float))) == NULL) {
			errf(err, errlen, "out of memory");
			goto out;
		}
	for (y = dw.min.y; y <= dw.max.y; y += spc) {
		if ((r = exr_read_scanline_chunk_info(ctxt, 0, y, &cinfo)))
			goto fail;
		if (cinfo.start_y < dw.min.y || cinfo.height < 1 ||
		    cinfo.start_y + cinfo.height - 1 > dw.max.y) {
			errf(err, errlen, "float master: bad chunk at line %d",
			    y);
			goto out;
		}
		r = started ? exr_decoding_update(ctxt, 0, &cinfo, &dec) :
		    exr_decoding_initialize(ctxt, 0, &cinfo, &dec);
		if (r != EXR_ERR_SUCCESS)
			goto fail;
		started = 1;
		for (c = 0; c < dec.channel_count; c++) {
			exr_coding_channel_info_t *ch = &dec.channels[c];

			k = rgb_index(ch->channel_name);
			if (k < 0 || ch->data_type == EXR_PIXEL_UINT) {
				ch->decode_to_ptr = NULL;
				continue;
			}
			if (ch->width != W || ch->height != cinfo.height) {
				errf(err, errlen, "float master: channel %s "
				    "is %dx%d in a %dx%d chunk",
				    ch->channel_name, ch->width, ch->height,
				    W, cinfo.height);
				goto out;
			}
			ch->user_bytes_per_element = 4;
			ch->user_data_type = EXR_PIXEL_FLOAT;
			ch->user_pixel_stride = 4;
			ch->user_line_stride = 4 * W;
			ch->decode_to_ptr = (uint8_t *)(planes[k] +
			    (size_t)(cinfo.start_y - dw.min.y) * (size_t)W);
		}
		if (!chosen) {
			if ((r = exr_decoding_choose_default_routines(ctxt, 0,
			    &dec)))
				goto fail;
			chosen = 1;
		}
		if ((r = exr_decoding_run(ctxt, 0, &dec)))
			goto fail;
	}
	res = malloc(n * 3 * sizeof(float));
	if (res == NULL) {
		errf(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		for (k = 0; k < 3; k++)
			res[i * 3 + (size_t)k] = clamp01(planes[k][i]);
	if (parameters != NULL) {
		const char *ps = NULL;
		int32_t plen = 0;

		/* An attribute of another type, or none: no parameters. */
		if (exr_attr_get_string(ctxt, 0, "parameters", &plen, &ps) ==
		    EXR_ERR_SUCCESS && ps != NULL && plen >= 0 &&
		    (*parameters = strndup(ps, (size_t)plen)) == NULL) {
			free(res);
			errf(err, errlen, "out of memory");
			goto out;
		}
	}
	*rgb = res;
	*w = W;
	*h = H;
	rc = 0;
	goto out;
fail:
	errf(err, errlen, "float master: %s", m.msg[0] != '\0' ? m.msg :
	    exr_get_error_code_as_string(r));
out:
	if (started)
		exr_decoding_destroy(ctxt, &dec);
	if (ctxt != NULL)
		exr_finish(&ctxt);
	for (k = 0; k < 3; k++)
		free(planes[k]);
	return rc;
}
