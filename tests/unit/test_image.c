/* test_image.c - PNG output (parameters chunk, atomic write), PNG/JPEG
 * input, resizing and the A1111 parameters text; the PNG is taken apart
 * here with a CRC of our own rather than trusting the writer's. */
#include "image.h"
#include "tap.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <gd.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/kiln-test-image-XXXXXX";

/* The PNG CRC-32 (ISO 3309), bit by bit: independent of zlib. */
static uint32_t
crc_png(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		c ^= p[i];
		for (k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
	}
	return c ^ 0xffffffffu;
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Reads a whole file; returns a malloc'd buffer or NULL. */
static uint8_t *
slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b = NULL;
	long len;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		b = malloc((size_t)len);
		if (b != NULL && fread(b, 1, (size_t)len, f) != (size_t)len) {
			free(b);
			b = NULL;
		}
		*n = (size_t)len;
	}
	fclose(f);
	return b;
}

/* Entries in the test directory other than . and .. */
static int
count_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static uint8_t *
pattern(int w, int h)
{
	uint8_t *p = malloc((size_t)w * (size_t)h * 3);
	int i;

	for (i = 0; p != NULL && i < w * h * 3; i++)
		p[i] = (uint8_t)(i * 37 + i / 7);
	return p;
}

static void
parameters_text(void)
{
	struct image_meta m = { .prompt = "a red fox",
	    .negative = "blurry, ugly", .steps = 20, .sampler = "euler_a",
	    .cfg = 7.0, .seed = 1, .width = 512, .height = 512,
	    .model = "sd15" };
	char *s = NULL;

	CHECK(image_parameters_text(&m, &s) == 0);
	CHECK_STR(s, "a red fox\nNegative prompt: blurry, ugly\nSteps: 20, "
	    "Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, "
	    "Model: sd15");
	free(s);
	m.negative = "";
	m.cfg = 7.5;
	m.seed = 18446744073709551615u;
	m.sampler = "dpmpp_2m_karras";
	m.width = 768;
	m.denoise = 0.5;
	CHECK(image_parameters_text(&m, &s) == 0);
	CHECK_STR(s, "a red fox\nSteps: 20, Sampler: DPM++ 2M Karras, "
	    "CFG scale: 7.5, Seed: 18446744073709551615, Size: 768x512, "
	    "Model: sd15, Denoising strength: 0.5");
	free(s);
	/* The hires fix as A1111's create_infotext writes it, its
	 * upscalers by their A1111 names; steps only when given. */
	m.hires_scale = 2;
	m.hires_upscaler = "latent-nearest";
	CHECK(image_parameters_text(&m, &s) == 0);
	CHECK(strstr(s, "Denoising strength: 0.5, Hires upscale: 2, Hires "
	    "upscaler: Latent (nearest)") != NULL);
	free(s);
	m.hires_scale = 1.5;
	m.hires_steps = 10;
	m.hires_upscaler = "4x-UltraSharp";
	CHECK(image_parameters_text(&m, &s) == 0);
	CHECK(strstr(s, "Hires upscale: 1.5, Hires steps: 10, Hires "
	    "upscaler: 4x-UltraSharp") != NULL);
	free(s);
	m.hires_scale = 0;
	/* Inpainting as A1111's img2img init writes it: the mode, a blur
	 * that is not 0, the area, the masked content unless original; the
	 * ControlNet as sd-webui-controlnet's unit, before the hashes. */
	m.inpaint = 1;
	m.mask_blur = 0;
	m.inpainting_fill = 1;
	CHECK(image_parameters_text(&m, &s) == 0);
	CHECK(str_has_suffix(s, "Model: sd15, Denoising strength: 0.5"));
	free(s);
	m.mask_invert = 1;
	m.mask_blur = 4;
	m.only_masked = 1;
	m.masked_pad = 32;
	m.inpainting_fill = 3;
	m.controlnet = "canny-sd15";
	m.cn_module = "canny";
	m.cn_weight = 0.8;
	m.cn_low = 100;
	m.cn_high = 200;
	m.cn_start = 0;
	m.cn_end = 0.5;
	CHECK(image_parameters_text(&m, &s) == 0);
	CHECK(str_has_suffix(s, "Model: sd15, Denoising strength: 0.5, "
	    "Mask mode: Inpaint not masked, Mask blur: 4, Inpaint area: "
	    "Only masked, Masked area padding: 32, Masked content: latent "
	    "nothing, ControlNet 0: \"Module: canny, Model: canny-sd15, "
	    "Weight: 0.8, Threshold A: 100, Threshold B: 200, Guidance "
	    "Start: 0, Guidance End: 0.5\""));
	free(s);
	m.cn_module = "none";
	m.inpaint = 0;
	CHECK(image_parameters_text(&m, &s) == 0);
	CHECK(str_has_suffix(s, "Denoising strength: 0.5, ControlNet 0: "
	    "\"Module: none, Model: canny-sd15, Weight: 0.8, Guidance Start: "
	    "0, Guidance End: 0.5\""));
	free(s);
	m.controlnet = NULL;
	/* AUTOMATIC1111's order: the model hash before the model, the
	 * LoRAs' hashes after everything else, quoted. */
	{
		static const struct image_lora l[] = {
			{ "style", "0123456789ab" }, { "detail", "ba9876543210" },
		};

		m.model_hash = "6ce0161689";
		m.loras = l;
		m.nloras = 2;
		m.denoise = 0;
		CHECK(image_parameters_text(&m, &s) == 0);
		CHECK_STR(s, "a red fox\nSteps: 20, Sampler: DPM++ 2M Karras, "
		    "CFG scale: 7.5, Seed: 18446744073709551615, Size: "
		    "768x512, Model hash: 6ce0161689, Model: sd15, Lora "
		    "hashes: \"style: 0123456789ab, detail: ba9876543210\"");
		free(s);
		m.nloras = 1;
		m.model_hash = "";
		CHECK(image_parameters_text(&m, &s) == 0);
		CHECK(strstr(s, "Size: 768x512, Model: sd15, Lora hashes: "
		    "\"style: 0123456789ab\"") != NULL);
		CHECK(strstr(s, "Model hash") == NULL);
		free(s);
		/* The embeddings' hashes come last, in the same form. */
		m.tis = l + 1;
		m.ntis = 1;
		CHECK(image_parameters_text(&m, &s) == 0);
		CHECK(strstr(s, "Model: sd15, Lora hashes: \"style: "
		    "0123456789ab\", TI hashes: \"detail: ba9876543210\"") !=
		    NULL);
		free(s);
		m.nloras = 0;
		m.ntis = 2;
		m.tis = l;
		CHECK(image_parameters_text(&m, &s) == 0);
		CHECK(strstr(s, "Model: sd15, TI hashes: \"style: "
		    "0123456789ab, detail: ba9876543210\"") != NULL);
		CHECK(strstr(s, "Lora hashes") == NULL);
		free(s);
	}
	CHECK_STR(image_sampler_display("euler"), "Euler");
	CHECK_STR(image_sampler_display("heun"), "Heun");
	CHECK_STR(image_sampler_display("ddim"), "DDIM");
	CHECK_STR(image_sampler_display("dpmpp_2m"), "DPM++ 2M");
	CHECK_STR(image_sampler_display("lcm"), "LCM");
	CHECK_STR(image_sampler_display("other"), "other");
}

static void
png_roundtrip_with_parameters(void)
{
	const char *text = "a cat\nNegative prompt: dog\nSteps: 20, Sampler: "
	    "Euler a, CFG scale: 7, Seed: 1, Size: 13x7, Model: m";
	char path[256], err[512] = "";
	uint8_t *px = pattern(13, 7), *back = NULL, *f;
	size_t n = 0, i = 8, klen = strlen("parameters");
	int w = 0, h = 0, chunk = 0, seen_text = 0, seen_end = 0;

	snprintf(path, sizeof(path), "%s/out.png", dir);
	CHECK(image_write_png(path, 13, 7, px, text, err, sizeof(err)) == 0);
	CHECK_STR(err, "");
	CHECK(count_entries() == 1);	/* no temporary left behind */
	CHECK(image_load_rgb(path, &w, &h, &back, err, sizeof(err)) == 0);
	CHECK(w == 13 && h == 7);
	CHECK(back != NULL && memcmp(back, px, 13 * 7 * 3) == 0);
	free(back);

	f = slurp(path, &n);
	CHECK(f != NULL && n > 8 && !memcmp(f, "\x89PNG\r\n\x1a\n", 8));
	while (f != NULL && i + 12 <= n) {
		uint32_t len = be32(f + i);
		const uint8_t *type = f + i + 4, *data = f + i + 8;

		CHECK(i + 12 + len <= n);
		if (i + 12 + len > n)
			break;
		CHECK(be32(data + len) == crc_png(type, 4 + len));
		if (chunk == 0)
			CHECK(!memcmp(type, "IHDR", 4) && len == 13 &&
			    be32(data) == 13 && be32(data + 4) == 7);
		if (!memcmp(type, "tEXt", 4)) {
			seen_text++;
			CHECK(chunk == 1);	/* right after IHDR */
			CHECK(len == klen + 1 + strlen(text));
			CHECK(!memcmp(data, "parameters\0", klen + 1));
			CHECK(!memcmp(data + klen + 1, text, strlen(text)));
		}
		if (!memcmp(type, "IEND", 4)) {
			seen_end = 1;
			CHECK(i + 12 + len == n);
		}
		i += 12 + len;
		chunk++;
	}
	CHECK(seen_text == 1 && seen_end);
	free(f);
	free(px);
	CHECK(unlink(path) == 0);
}

static void
png_without_parameters_and_overwrite(void)
{
	char path[256], err[512];
	uint8_t *a = pattern(4, 4), *b = pattern(4, 4), *png = NULL,
	    *back = NULL;
	size_t len = 0, i;
	int w, h;

	CHECK(image_encode_png(4, 4, a, NULL, &png, &len, err,
	    sizeof(err)) == 0);
	CHECK(png != NULL && len > 33 && !memcmp(png + 12, "IHDR", 4));
	CHECK(png != NULL && memmem(png, len, "tEXt", 4) == NULL);
	free(png);
	snprintf(path, sizeof(path), "%s/again.png", dir);
	CHECK(image_write_png(path, 4, 4, a, NULL, err, sizeof(err)) == 0);
	for (i = 0; i < 48; i++)
		b[i] = (uint8_t)(255 - b[i]);
	/* The second write replaces the first as a whole. */
	CHECK(image_write_png(path, 4, 4, b, "x", err, sizeof(err)) == 0);
	CHECK(image_load_rgb(path, &w, &h, &back, err, sizeof(err)) == 0);
	CHECK(back != NULL && !memcmp(back, b, 48));
	CHECK(count_entries() == 1);
	CHECK(unlink(path) == 0);
	free(back);
	free(a);
	free(b);
}

static void
write_into_missing_directory_fails(void)
{
	char path[256], err[512] = "";
	uint8_t *px = pattern(8, 8);

	snprintf(path, sizeof(path), "%s/missing/out.png", dir);
	CHECK(image_write_png(path, 8, 8, px, "p", err, sizeof(err)) == -1);
	CHECK(strstr(err, path) != NULL);
	CHECK(strstr(err, strerror(ENOENT)) != NULL);
	CHECK(count_entries() == 0);
	CHECK(image_write_png(path, 0, 8, px, "p", err, sizeof(err)) == -1);
	CHECK(strstr(err, "0x8") != NULL);
	free(px);
}

static void
jpeg_and_junk_input(void)
{
	char path[256], err[512] = "";
	gdImagePtr im = gdImageCreateTrueColor(16, 8);
	uint8_t *rgb = NULL;
	void *jpg;
	int size = 0, w = 0, h = 0, x, y, worst = 0;
	FILE *f;

	for (y = 0; y < 8; y++)
		for (x = 0; x < 16; x++)
			im->tpixels[y][x] = gdTrueColor(200, 100, 50);
	jpg = gdImageJpegPtr(im, &size, 95);
	gdImageDestroy(im);
	snprintf(path, sizeof(path), "%s/in.jpg", dir);
	f = fopen(path, "wb");
	CHECK(f != NULL && jpg != NULL &&
	    fwrite(jpg, 1, (size_t)size, f) == (size_t)size);
	if (f != NULL)
		CHECK(fclose(f) == 0);
	gdFree(jpg);
	CHECK(image_load_rgb(path, &w, &h, &rgb, err, sizeof(err)) == 0);
	CHECK(w == 16 && h == 8 && rgb != NULL);
	for (x = 0; rgb != NULL && x < 16 * 8; x++) {
		int d = abs(rgb[3 * x] - 200) + abs(rgb[3 * x + 1] - 100) +
		    abs(rgb[3 * x + 2] - 50);

		worst = d > worst ? d : worst;
	}
	CHECK(worst <= 12);	/* lossy, but a flat colour survives */
	free(rgb);
	f = fopen(path, "wb");
	CHECK(f != NULL && fputs("GIF89a not really", f) >= 0);
	if (f != NULL)
		CHECK(fclose(f) == 0);
	CHECK(image_load_rgb(path, &w, &h, &rgb, err, sizeof(err)) == -1);
	CHECK(strstr(err, "not a PNG or JPEG") != NULL);
	CHECK(rgb == NULL);
	CHECK(image_decode_rgb("\x89PNG\r\n\x1a\ntruncated", 17, "t.png", &w,
	    &h, &rgb, err, sizeof(err)) == -1);
	CHECK(strstr(err, "t.png: cannot decode") != NULL);
	CHECK(unlink(path) == 0);
	snprintf(path, sizeof(path), "%s/none.png", dir);
	CHECK(image_load_rgb(path, &w, &h, &rgb, err, sizeof(err)) == -1);
	CHECK(strstr(err, "none.png") != NULL);
}

static void
resize(void)
{
	uint8_t src[4 * 4 * 3], *dst = NULL;
	char err[256];
	int i;

	for (i = 0; i < 16; i++) {
		src[3 * i] = 10;
		src[3 * i + 1] = 120;
		src[3 * i + 2] = 240;
	}
	CHECK(image_resize_rgb(src, 4, 4, 8, 6, &dst, err, sizeof(err)) == 0);
	for (i = 0; dst != NULL && i < 8 * 6; i++)
		CHECK(dst[3 * i] == 10 && dst[3 * i + 1] == 120 &&
		    dst[3 * i + 2] == 240);
	free(dst);
	dst = NULL;
	src[0] = 77;
	CHECK(image_resize_rgb(src, 4, 4, 4, 4, &dst, err, sizeof(err)) == 0);
	CHECK(dst != NULL && !memcmp(dst, src, sizeof(src)));
	free(dst);
	CHECK(image_resize_rgb(src, 4, 4, 0, 4, &dst, err, sizeof(err)) == -1);
	CHECK(dst == NULL);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	RUN(parameters_text);
	RUN(png_roundtrip_with_parameters);
	RUN(png_without_parameters_and_overwrite);
	RUN(write_into_missing_directory_fails);
	RUN(jpeg_and_junk_input);
	RUN(resize);
	rmdir(dir);
	return tap_done();
}
