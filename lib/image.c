/* image.c - PNG output with A1111 "parameters" metadata written atomically,
 * PNG/JPEG input and resizing, on libgd. */
#include "image.h"
#include "infotext.h"
#include "samplers.h"
#include "storage.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <gd.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* PNG signature (8 bytes) + IHDR (length, type, 13 data bytes, CRC). */
#define PNG_IHDR_END (8 + 4 + 4 + 13 + 4)
#define PNG_KEYWORD "parameters"

static const struct {
	const char *name, *display;
} sampler_names[] = {
#define SAMPLER_DISPLAY(kind, name, display) { name, display },
	KILN_SAMPLERS(SAMPLER_DISPLAY)
#undef SAMPLER_DISPLAY
};

const char *
image_sampler_display(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(sampler_names); i++)
		if (!strcmp(name, sampler_names[i].name))
			return sampler_names[i].display;
	return name;
}

int
image_parameters_text(const struct image_meta *m, char **out)
{
	struct buf b = {0};
	int rc = -1, i;

	*out = NULL;
	if (buf_puts(&b, m->prompt ? m->prompt : "") != 0)
		goto out;
	if (m->negative != NULL && m->negative[0] != '\0' &&
	    buf_printf(&b, "\nNegative prompt: %s", m->negative) != 0)
		goto out;
	/* %g gives A1111's "CFG scale: 7" and "7.5". */
	if (buf_printf(&b, "\nSteps: %d, Sampler: %s, CFG scale: %g, "
	    "Seed: %" PRIu64 ", Size: %dx%d", m->steps,
	    image_sampler_display(m->sampler ? m->sampler : ""), m->cfg,
	    m->seed, m->width, m->height) != 0)
		goto out;
	if (m->model_hash != NULL && m->model_hash[0] != '\0' &&
	    buf_printf(&b, ", Model hash: %s", m->model_hash) != 0)
		goto out;
	if (m->model != NULL && m->model[0] != '\0' &&
	    buf_printf(&b, ", Model: %s", m->model) != 0)
		goto out;
	if (m->denoise > 0 &&
	    buf_printf(&b, ", Denoising strength: %g", m->denoise) != 0)
		goto out;
	/* In the order A1111's img2img init adds them: the mode, a blur
	 * that is not 0, the area, then the masked content unless it is
	 * "original". */
	if (m->inpaint && ((m->mask_invert && buf_puts(&b, ", Mask mode: "
	    "Inpaint not masked") != 0) || (m->mask_blur > 0 &&
	    buf_printf(&b, ", Mask blur: %d", m->mask_blur) != 0) ||
	    (m->only_masked && buf_printf(&b, ", Inpaint area: Only masked, "
	    "Masked area padding: %d", m->masked_pad) != 0) ||
	    (m->inpainting_fill != 1 && buf_printf(&b, ", Masked content: %s",
	    m->inpainting_fill == 0 ? "fill" : m->inpainting_fill == 2 ?
	    "latent noise" : "latent nothing") != 0)))
		goto out;
	if (m->hires_scale > 0) {
		const char *u = m->hires_upscaler != NULL ?
		    m->hires_upscaler : "latent";

		u = !strcmp(u, "latent") ? "Latent" : !strcmp(u,
		    "latent-nearest") ? "Latent (nearest)" : !strcmp(u,
		    "lanczos") ? "Lanczos" : u;
		if (buf_printf(&b, ", Hires upscale: %g", m->hires_scale) != 0 ||
		    (m->hires_steps > 0 && buf_printf(&b, ", Hires steps: %d",
		    m->hires_steps) != 0) ||
		    buf_printf(&b, ", Hires upscaler: %s", u) != 0)
			goto out;
	}
	/* sd-webui-controlnet's unit, quoted as one value; the thresholds
	 * are its "Threshold A" and "B" (canny's low and high). */
	if (m->controlnet != NULL && (buf_printf(&b, ", ControlNet 0: "
	    "\"Module: %s, Model: %s, Weight: %g", m->cn_module ?
	    m->cn_module : "none", m->controlnet, m->cn_weight) != 0 ||
	    (m->cn_module != NULL && !strcmp(m->cn_module, "canny") &&
	    buf_printf(&b, ", Threshold A: %g, Threshold B: %g", m->cn_low,
	    m->cn_high) != 0) || buf_printf(&b, ", Guidance Start: %g, "
	    "Guidance End: %g\"", m->cn_start, m->cn_end) != 0))
		goto out;
	/* A1111 drops ':' and ',' from the names and quotes the value as
	 * JSON; kiln's names (model_name_ok) hold neither, nor anything
	 * JSON would escape. */
	for (i = 0; i < m->nloras; i++)
		if (buf_printf(&b, "%s%s: %s", i ? ", " : ", Lora hashes: \"",
		    m->loras[i].name, m->loras[i].hash) != 0)
			goto out;
	if (m->nloras > 0 && buf_puts(&b, "\"") != 0)
		goto out;
	/* A1111 adds "TI hashes" while conditioning, after the extra
	 * networks' "Lora hashes", in the same form. */
	for (i = 0; i < m->ntis; i++)
		if (buf_printf(&b, "%s%s: %s", i ? ", " : ", TI hashes: \"",
		    m->tis[i].name, m->tis[i].hash) != 0)
			goto out;
	if (m->ntis > 0 && buf_puts(&b, "\"") != 0)
		goto out;
	*out = b.data;
	b.data = NULL;
	rc = 0;
out:
	buf_free(&b);
	return rc;
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A truecolor gd image of the pixels, or NULL. */
static gdImagePtr
to_gd(int w, int h, const uint8_t *rgb)
{
	gdImagePtr im = gdImageCreateTrueColor(w, h);
	int x, y;

	if (im == NULL)
		return NULL;
	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++) {
			const uint8_t *p = rgb + ((size_t)y * (size_t)w +
			    (size_t)x) * 3;

			im->tpixels[y][x] = gdTrueColor(p[0], p[1], p[2]);
		}
	return im;
}

/* The reverse: im's pixels (palette or truecolor) as RGB8 into out, which
 * holds gdImageSX * gdImageSY * 3 bytes. */
static void
from_gd(gdImagePtr im, uint8_t *out)
{
	int w = gdImageSX(im), h = gdImageSY(im), x, y;

	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++) {
			int c = gdImageGetTrueColorPixel(im, x, y);
			uint8_t *p = out + ((size_t)y * (size_t)w +
			    (size_t)x) * 3;

			p[0] = (uint8_t)gdTrueColorGetRed(c);
			p[1] = (uint8_t)gdTrueColorGetGreen(c);
			p[2] = (uint8_t)gdTrueColorGetBlue(c);
		}
}

static int
check_size(int w, int h, char *err, size_t errlen)
{
	if (w < 1 || h < 1 || w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE) {
		snprintf(err, errlen, "image size %dx%d is outside 1..%d",
		    w, h, IMAGE_MAX_SIDE);
		return -1;
	}
	return 0;
}

int
image_encode_png(int w, int h, const uint8_t *rgb, const char *parameters,
    uint8_t **png, size_t *len, char *err, size_t errlen)
{
	gdImagePtr im = NULL;
	uint8_t *raw = NULL, *res = NULL, *p;
	char *latin1 = NULL;
	const char *text = NULL;
	size_t klen = strlen(PNG_KEYWORD), tlen = 0, head = 0, data, total;
	int size = 0, rc = -1, itxt = 0;
	uint32_t crc;

	*png = NULL;
	*len = 0;
	if (check_size(w, h, err, errlen) != 0)
		return -1;
	if (parameters != NULL) {
		/* Pillow's add_text, which A1111 saves with: tEXt holds
		 * Latin-1, so text that is all Latin-1 goes there as such,
		 * and anything else into an uncompressed iTXt as UTF-8 (no
		 * language, no translated keyword), which readers take as
		 * UTF-8. */
		switch (infotext_latin1(parameters, &latin1)) {
		case 1:
			text = latin1;
			break;
		case 0:
			text = parameters;
			itxt = 1;
			head = 4;	/* flag, method, two empty strings */
			break;
		default:
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		tlen = strlen(text);
	}
	im = to_gd(w, h, rgb);
	if (im == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	raw = gdImagePngPtr(im, &size);
	if (raw == NULL || size < PNG_IHDR_END ||
	    memcmp(raw + 12, "IHDR", 4) != 0) {
		snprintf(err, errlen, "PNG encoding failed");
		goto out;
	}
	data = text != NULL ? klen + 1 + head + tlen : 0;
	if (data > 0x7fffffffu) {
		snprintf(err, errlen, "parameters text too long");
		goto out;
	}
	total = (size_t)size + (text != NULL ? 12 + data : 0);
	/* Checked, as gd's own buffers are: an image may be up to
	 * IMAGE_MAX_SIDE squared, so no room for it fails this image only. */
	res = malloc(total);
	if (res == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	memcpy(res, raw, PNG_IHDR_END);
	p = res + PNG_IHDR_END;
	if (text != NULL) {
		/* keyword, NUL, [iTXt: 0 0 "" NUL "" NUL], text; the CRC
		 * covers type and data. */
		put_be32(p, (uint32_t)data);
		memcpy(p + 4, itxt ? "iTXt" : "tEXt", 4);
		memcpy(p + 8, PNG_KEYWORD, klen + 1);
		memset(p + 8 + klen + 1, 0, head);
		memcpy(p + 8 + klen + 1 + head, text, tlen);
		crc = (uint32_t)crc32(0L, p + 4, (uInt)(4 + data));
		put_be32(p + 8 + data, crc);
		p += 12 + data;
	}
	memcpy(p, raw + PNG_IHDR_END, (size_t)size - PNG_IHDR_END);
	*png = res;
	*len = total;
	res = NULL;
	rc = 0;
out:
	free(res);
	free(latin1);
	if (raw != NULL)
		gdFree(raw);
	if (im != NULL)
		gdImageDestroy(im);
	return rc;
}

int
image_write_png(const char *path, int w, int h, const uint8_t *rgb,
    const char *parameters, char *err, size_t errlen)
{
	uint8_t *png = NULL;
	size_t len = 0;
	int rc;

	if (image_encode_png(w, h, rgb, parameters, &png, &len, err,
	    errlen) != 0)
		return -1;
	rc = file_write_atomic(path, png, len, err, errlen);
	free(png);
	return rc;
}

int
image_decode_rgb(const void *data, size_t len, const char *name, int *w,
    int *h, uint8_t **rgb, char *err, size_t errlen)
{
	static const uint8_t png_magic[8] = { 0x89, 'P', 'N', 'G', '\r', '\n',
	    0x1a, '\n' };
	const uint8_t *d = data;
	gdImagePtr im = NULL;
	uint8_t *out = NULL;
	int iw, ih, rc = -1;

	*rgb = NULL;
	if (len > INT_MAX) {
		snprintf(err, errlen, "%s: file too large", name);
		return -1;
	}
	if (len >= 8 && memcmp(d, png_magic, 8) == 0)
		im = gdImageCreateFromPngPtr((int)len, (void *)d);
	else if (len >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff)
		im = gdImageCreateFromJpegPtr((int)len, (void *)d);
	else {
		snprintf(err, errlen, "%s: not a PNG or JPEG image", name);
		return -1;
	}
	if (im == NULL) {
		snprintf(err, errlen, "%s: cannot decode the image", name);
		return -1;
	}
	iw = gdImageSX(im);
	ih = gdImageSY(im);
	if (check_size(iw, ih, err, errlen) != 0)
		goto out;
	/* Checked: up to 768 MiB for an IMAGE_MAX_SIDE square, sized by the
	 * file; a failure refuses this image. */
	out = malloc((size_t)iw * (size_t)ih * 3);
	if (out == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		goto out;
	}
	from_gd(im, out);
	*w = iw;
	*h = ih;
	*rgb = out;
	out = NULL;
	rc = 0;
out:
	free(out);
	gdImageDestroy(im);
	return rc;
}

int
image_load_rgb(const char *path, int *w, int *h, uint8_t **rgb, char *err,
    size_t errlen)
{
	struct buf b = {0};
	int rc = -1;

	*rgb = NULL;
	switch (buf_read_file(&b, path, (size_t)INT_MAX)) {
	case BUF_READ_OK:
		rc = image_decode_rgb(b.data, b.len, path, w, h, rgb, err,
			errlen);
		break;
	case BUF_READ_CANNOT_OPEN:
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		break;
	case BUF_READ_TOO_LARGE:
		snprintf(err, errlen, "%s: file too large", path);
		break;
	case BUF_READ_NO_MEMORY:
		snprintf(err, errlen, "%s: out of memory", path);
		break;
	case BUF_READ_ERROR:
		snprintf(err, errlen, "%s: read failed", path);
		break;
	}
	buf_free(&b);
	return rc;
}

int
image_resize_rgb(const uint8_t *src, int sw, int sh, int dw, int dh,
    uint8_t **dst, char *err, size_t errlen)
{
	gdImagePtr a = NULL, b = NULL;
	uint8_t *out = NULL;
	int rc = -1;

	*dst = NULL;
	if (check_size(sw, sh, err, errlen) != 0 ||
	    check_size(dw, dh, err, errlen) != 0)
		return -1;
	/* Checked, like image_decode_rgb's buffer: large and sized by the
	 * caller's request. */
	out = malloc((size_t)dw * (size_t)dh * 3);
	if (out == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (sw == dw && sh == dh) {
		memcpy(out, src, (size_t)dw * (size_t)dh * 3);
		*dst = out;
		return 0;
	}
	a = to_gd(sw, sh, src);
	b = gdImageCreateTrueColor(dw, dh);
	if (a == NULL || b == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	gdImageCopyResampled(b, a, 0, 0, 0, 0, dw, dh, sw, sh);
	from_gd(b, out);
	*dst = out;
	out = NULL;
	rc = 0;
out:
	free(out);
	if (a != NULL)
		gdImageDestroy(a);
	if (b != NULL)
		gdImageDestroy(b);
	return rc;
}
