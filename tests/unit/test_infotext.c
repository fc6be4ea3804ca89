/* test_infotext.c - lib/infotext.c: A1111's parse_generation_parameters
 * against tools/reference/infotext.py (A1111's function with its own
 * regular expressions; the expected JSON below is what it printed, made
 * with /usr/bin/python3 and json.dumps(ensure_ascii=False, separators=
 * (",", ":")), so key order is checked too), the PNG text chunks as
 * Pillow reads them, and every field kiln writes into its PNGs read back
 * through both, non-ASCII prompts included. */
#include "image.h"
#include "infotext.h"
#include "tap.h"
#include "util.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const struct {
	const char *text, *want;
} cases[] = {
	{ "two large yellow squares\012Negative prompt: blurry\012Steps: 20, Sampler: Euler a, CFG scale: 7.5, Seed: 1234, Size: 512x768, Model hash: 0123456789, Model: kiln-micro, Denoising strength: 0.5, Hires upscale: 2, Hires steps: 10, Hires upscaler: Latent (nearest), Lora hashes: \"style: 0123456789ab, detail: ba9876543210\", TI hashes: \"emb: 00112233aabb\"",
	  "{\"Prompt\":\"two large yellow squares\",\"Negative prompt\":\"blurry\",\"Steps\":\"20\",\"Sampler\":\"Euler a\",\"CFG scale\":\"7.5\",\"Seed\":\"1234\",\"Size-1\":\"512\",\"Size-2\":\"768\",\"Model hash\":\"0123456789\",\"Model\":\"kiln-micro\",\"Denoising strength\":\"0.5\",\"Hires upscale\":\"2\",\"Hires steps\":\"10\",\"Hires upscaler\":\"Latent (nearest)\",\"Lora hashes\":\"style: 0123456789ab, detail: ba9876543210\",\"TI hashes\":\"emb: 00112233aabb\",\"Clip skip\":\"1\",\"Hires resize-1\":0,\"Hires resize-2\":0,\"Hires sampler\":\"Use same sampler\",\"Hires checkpoint\":\"Use same checkpoint\",\"Hires prompt\":\"\",\"Hires negative prompt\":\"\",\"Mask mode\":\"Inpaint masked\",\"Masked content\":\"original\",\"Inpaint area\":\"Whole picture\",\"Masked area padding\":32,\"RNG\":\"GPU\",\"Schedule type\":\"Automatic\",\"Schedule max sigma\":0,\"Schedule min sigma\":0,\"Schedule rho\":0,\"VAE Encoder\":\"Full\",\"VAE Decoder\":\"Full\",\"FP8 weight\":\"Disable\"}" },
	{ "\347\214\253\343\201\214\345\272\247\343\201\243\343\201\246\343\201\204\343\202\213 caf\303\251 \360\237\224\245\012Negative prompt: \303\274bel, \344\275\216\345\223\201\350\263\252\012Steps: 6, Sampler: DPM++ 2M Karras, CFG scale: 4, Seed: 1, Size: 64x64, Model: kiln-micro",
	  "{\"Prompt\":\"\347\214\253\343\201\214\345\272\247\343\201\243\343\201\246\343\201\204\343\202\213 caf\303\251 \360\237\224\245\",\"Negative prompt\":\"\303\274bel, \344\275\216\345\223\201\350\263\252\",\"Steps\":\"6\",\"Sampler\":\"DPM++ 2M Karras\",\"CFG scale\":\"4\",\"Seed\":\"1\",\"Size-1\":\"64\",\"Size-2\":\"64\",\"Model\":\"kiln-micro\",\"Clip skip\":\"1\",\"Hires resize-1\":0,\"Hires resize-2\":0,\"Hires sampler\":\"Use same sampler\",\"Hires checkpoint\":\"Use same checkpoint\",\"Hires prompt\":\"\",\"Hires negative prompt\":\"\",\"Mask mode\":\"Inpaint masked\",\"Masked content\":\"original\",\"Inpaint area\":\"Whole picture\",\"Masked area padding\":32,\"RNG\":\"GPU\",\"Schedule type\":\"Automatic\",\"Schedule max sigma\":0,\"Schedule min sigma\":0,\"Schedule rho\":0,\"VAE Encoder\":\"Full\",\"VAE Decoder\":\"Full\",\"FP8 weight\":\"Disable\"}" },
	{ "line one\012  line two  \012\012Negative prompt: neg one\012neg two\012Steps: 2, Sampler: Euler, CFG scale: 7",
	  "{\"Prompt\":\"line one\\nline two\\n\",\"Negative prompt\":\"neg one\\nneg two\",\"Steps\":\"2\",\"Sampler\":\"Euler\",\"CFG scale\":\"7\",\"Clip skip\":\"1\",\"Hires resize-1\":0,\"Hires resize-2\":0,\"Hires sampler\":\"Use same sampler\",\"Hires checkpoint\":\"Use same checkpoint\",\"Hires prompt\":\"\",\"Hires negative prompt\":\"\",\"Mask mode\":\"Inpaint masked\",\"Masked content\":\"original\",\"Inpaint area\":\"Whole picture\",\"Masked area padding\":32,\"RNG\":\"GPU\",\"Schedule type\":\"Automatic\",\"Schedule max sigma\":0,\"Schedule min sigma\":0,\"Schedule rho\":0,\"VAE Encoder\":\"Full\",\"VAE Decoder\":\"Full\",\"FP8 weight\":\"Disable\"}" },
	{ "just a prompt\012Steps: 2, Sampler: Euler",
	  "{\"Prompt\":\"just a prompt\\nSteps: 2, Sampler: Euler\",\"Negative prompt\":\"\",\"Clip skip\":\"1\",\"Hires resize-1\":0,\"Hires resize-2\":0,\"Hires sampler\":\"Use same sampler\",\"Hires checkpoint\":\"Use same checkpoint\",\"Hires prompt\":\"\",\"Hires negative prompt\":\"\",\"Mask mode\":\"Inpaint masked\",\"Masked content\":\"original\",\"Inpaint area\":\"Whole picture\",\"Masked area padding\":32,\"RNG\":\"GPU\",\"Schedule type\":\"Automatic\",\"Schedule max sigma\":0,\"Schedule min sigma\":0,\"Schedule rho\":0,\"VAE Encoder\":\"Full\",\"VAE Decoder\":\"Full\",\"FP8 weight\":\"Disable\"}" },
	{ "p\012Steps: 2, Quoted: \"a\\\"b, c\", Bad: \"abc, Sampler: Euler, Empty: , Uni: \"\\u00e9\\ud83d\\ude00\", CFG scale: 7",
	  "{\"Prompt\":\"p\",\"Negative prompt\":\"\",\"Steps\":\"2\",\"Quoted\":\"a\\\"b, c\",\"Bad\":\"\\\"abc\",\"Sampler\":\"Euler\",\"Uni\":\"\303\251\360\237\230\200\",\"CFG scale\":\"7\",\"Clip skip\":\"1\",\"Hires resize-1\":0,\"Hires resize-2\":0,\"Hires sampler\":\"Use same sampler\",\"Hires checkpoint\":\"Use same checkpoint\",\"Hires prompt\":\"\",\"Hires negative prompt\":\"\",\"Mask mode\":\"Inpaint masked\",\"Masked content\":\"original\",\"Inpaint area\":\"Whole picture\",\"Masked area padding\":32,\"RNG\":\"GPU\",\"Schedule type\":\"Automatic\",\"Schedule max sigma\":0,\"Schedule min sigma\":0,\"Schedule rho\":0,\"VAE Encoder\":\"Full\",\"VAE Decoder\":\"Full\",\"FP8 weight\":\"Disable\"}" },
	{ "p\012Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 5, Size: 1024x768, First pass size: 0x0, Model: m",
	  "{\"Prompt\":\"p\",\"Negative prompt\":\"\",\"Steps\":\"20\",\"Sampler\":\"Euler a\",\"CFG scale\":\"7\",\"Seed\":\"5\",\"Size-1\":640,\"Size-2\":448,\"First pass size-1\":\"0\",\"First pass size-2\":\"0\",\"Model\":\"m\",\"Clip skip\":\"1\",\"Hires resize-1\":1024,\"Hires resize-2\":768,\"Hires sampler\":\"Use same sampler\",\"Hires checkpoint\":\"Use same checkpoint\",\"Hires prompt\":\"\",\"Hires negative prompt\":\"\",\"Mask mode\":\"Inpaint masked\",\"Masked content\":\"original\",\"Inpaint area\":\"Whole picture\",\"Masked area padding\":32,\"RNG\":\"GPU\",\"Schedule type\":\"Automatic\",\"Schedule max sigma\":0,\"Schedule min sigma\":0,\"Schedule rho\":0,\"VAE Encoder\":\"Full\",\"VAE Decoder\":\"Full\",\"FP8 weight\":\"Disable\"}" },
	{ "p\012Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 5, Size: 1024x768, First pass size: 512x384",
	  "{\"Prompt\":\"p\",\"Negative prompt\":\"\",\"Steps\":\"20\",\"Sampler\":\"Euler a\",\"CFG scale\":\"7\",\"Seed\":\"5\",\"Size-1\":512,\"Size-2\":384,\"First pass size-1\":\"512\",\"First pass size-2\":\"384\",\"Clip skip\":\"1\",\"Hires resize-1\":1024,\"Hires resize-2\":768,\"Hires sampler\":\"Use same sampler\",\"Hires checkpoint\":\"Use same checkpoint\",\"Hires prompt\":\"\",\"Hires negative prompt\":\"\",\"Mask mode\":\"Inpaint masked\",\"Masked content\":\"original\",\"Inpaint area\":\"Whole picture\",\"Masked area padding\":32,\"RNG\":\"GPU\",\"Schedule type\":\"Automatic\",\"Schedule max sigma\":0,\"Schedule min sigma\":0,\"Schedule rho\":0,\"VAE Encoder\":\"Full\",\"VAE Decoder\":\"Full\",\"FP8 weight\":\"Disable\"}" },
	{ "p\012Steps: 20, Sampler: Euler a, CFG scale: 7, Hypernet: hn, Hypernet strength: 0.5",
	  "{\"Prompt\":\"p<hypernet:hn:0.5>\",\"Negative prompt\":\"\",\"Steps\":\"20\",\"Sampler\":\"Euler a\",\"CFG scale\":\"7\",\"Hypernet\":\"hn\",\"Hypernet strength\":\"0.5\",\"Clip skip\":\"1\",\"Hires resize-1\":0,\"Hires resize-2\":0,\"Hires sampler\":\"Use same sampler\",\"Hires checkpoint\":\"Use same checkpoint\",\"Hires prompt\":\"\",\"Hires negative prompt\":\"\",\"Mask mode\":\"Inpaint masked\",\"Masked content\":\"original\",\"Inpaint area\":\"Whole picture\",\"Masked area padding\":32,\"RNG\":\"GPU\",\"Schedule type\":\"Automatic\",\"Schedule max sigma\":0,\"Schedule min sigma\":0,\"Schedule rho\":0,\"VAE Encoder\":\"Full\",\"VAE Decoder\":\"Full\",\"FP8 weight\":\"Disable\"}" },
	{ "p\012Steps: 20, Sampler: Euler a, CFG scale: 7, FP8 weight: Enable for SDXL",
	  "{\"Prompt\":\"p\",\"Negative prompt\":\"\",\"Steps\":\"20\",\"Sampler\":\"Euler a\",\"CFG scale\":\"7\",\"FP8 weight\":\"Enable for SDXL\",\"Clip skip\":\"1\",\"Hires resize-1\":0,\"Hires resize-2\":0,\"Hires sampler\":\"Use same sampler\",\"Hires checkpoint\":\"Use same checkpoint\",\"Hires prompt\":\"\",\"Hires negative prompt\":\"\",\"Mask mode\":\"Inpaint masked\",\"Masked content\":\"original\",\"Inpaint area\":\"Whole picture\",\"Masked area padding\":32,\"RNG\":\"GPU\",\"Schedule type\":\"Automatic\",\"Schedule max sigma\":0,\"Schedule min sigma\":0,\"Schedule rho\":0,\"VAE Encoder\":\"Full\",\"VAE Decoder\":\"Full\",\"Cache FP16 weight for LoRA\":false}" },
	{ "\343\200\200 spaced \343\200\200\012Steps: 1, Sampler: Euler, CFG scale: 7\343\200\200 ",
	  "{\"Prompt\":\"spaced\",\"Negative prompt\":\"\",\"Steps\":\"1\",\"Sampler\":\"Euler\",\"CFG scale\":\"7\",\"Clip skip\":\"1\",\"Hires resize-1\":0,\"Hires resize-2\":0,\"Hires sampler\":\"Use same sampler\",\"Hires checkpoint\":\"Use same checkpoint\",\"Hires prompt\":\"\",\"Hires negative prompt\":\"\",\"Mask mode\":\"Inpaint masked\",\"Masked content\":\"original\",\"Inpaint area\":\"Whole picture\",\"Masked area padding\":32,\"RNG\":\"GPU\",\"Schedule type\":\"Automatic\",\"Schedule max sigma\":0,\"Schedule min sigma\":0,\"Schedule rho\":0,\"VAE Encoder\":\"Full\",\"VAE Decoder\":\"Full\",\"FP8 weight\":\"Disable\"}" },
	{ "Steps: 1, Sampler: Euler, CFG scale: 7, Seed: 3",
	  "{\"Prompt\":\"\",\"Negative prompt\":\"\",\"Steps\":\"1\",\"Sampler\":\"Euler\",\"CFG scale\":\"7\",\"Seed\":\"3\",\"Clip skip\":\"1\",\"Hires resize-1\":0,\"Hires resize-2\":0,\"Hires sampler\":\"Use same sampler\",\"Hires checkpoint\":\"Use same checkpoint\",\"Hires prompt\":\"\",\"Hires negative prompt\":\"\",\"Mask mode\":\"Inpaint masked\",\"Masked content\":\"original\",\"Inpaint area\":\"Whole picture\",\"Masked area padding\":32,\"RNG\":\"GPU\",\"Schedule type\":\"Automatic\",\"Schedule max sigma\":0,\"Schedule min sigma\":0,\"Schedule rho\":0,\"VAE Encoder\":\"Full\",\"VAE Decoder\":\"Full\",\"FP8 weight\":\"Disable\"}" },
	{ "",
	  "{\"Prompt\":\"\",\"Negative prompt\":\"\",\"Clip skip\":\"1\",\"Hires resize-1\":0,\"Hires resize-2\":0,\"Hires sampler\":\"Use same sampler\",\"Hires checkpoint\":\"Use same checkpoint\",\"Hires prompt\":\"\",\"Hires negative prompt\":\"\",\"Mask mode\":\"Inpaint masked\",\"Masked content\":\"original\",\"Inpaint area\":\"Whole picture\",\"Masked area padding\":32,\"RNG\":\"GPU\",\"Schedule type\":\"Automatic\",\"Schedule max sigma\":0,\"Schedule min sigma\":0,\"Schedule rho\":0,\"VAE Encoder\":\"Full\",\"VAE Decoder\":\"Full\",\"FP8 weight\":\"Disable\"}" },
	{ "Negative prompt: only neg\012Steps: 1, Sampler: Euler, CFG scale: 7",
	  "{\"Prompt\":\"\",\"Negative prompt\":\"only neg\",\"Steps\":\"1\",\"Sampler\":\"Euler\",\"CFG scale\":\"7\",\"Clip skip\":\"1\",\"Hires resize-1\":0,\"Hires resize-2\":0,\"Hires sampler\":\"Use same sampler\",\"Hires checkpoint\":\"Use same checkpoint\",\"Hires prompt\":\"\",\"Hires negative prompt\":\"\",\"Mask mode\":\"Inpaint masked\",\"Masked content\":\"original\",\"Inpaint area\":\"Whole picture\",\"Masked area padding\":32,\"RNG\":\"GPU\",\"Schedule type\":\"Automatic\",\"Schedule max sigma\":0,\"Schedule min sigma\":0,\"Schedule rho\":0,\"VAE Encoder\":\"Full\",\"VAE Decoder\":\"Full\",\"FP8 weight\":\"Disable\"}" },
	{ "p\012ab-c/d e: 1, x:2, Some Key  : v, ?weird: 3, 9lives: cat, a: b",
	  "{\"Prompt\":\"p\",\"Negative prompt\":\"\",\"ab-c/d e\":\"1\",\"Some Key  \":\"v\",\"weird\":\"3\",\"9lives\":\"cat\",\"Clip skip\":\"1\",\"Hires resize-1\":0,\"Hires resize-2\":0,\"Hires sampler\":\"Use same sampler\",\"Hires checkpoint\":\"Use same checkpoint\",\"Hires prompt\":\"\",\"Hires negative prompt\":\"\",\"Mask mode\":\"Inpaint masked\",\"Masked content\":\"original\",\"Inpaint area\":\"Whole picture\",\"Masked area padding\":32,\"RNG\":\"GPU\",\"Schedule type\":\"Automatic\",\"Schedule max sigma\":0,\"Schedule min sigma\":0,\"Schedule rho\":0,\"VAE Encoder\":\"Full\",\"VAE Decoder\":\"Full\",\"FP8 weight\":\"Disable\"}" },
	{ "p\012Steps: 1, Sampler: Euler, CFG scale: 7, Size: \357\274\225\357\274\221\357\274\222x\357\274\226\357\274\224",
	  "{\"Prompt\":\"p\",\"Negative prompt\":\"\",\"Steps\":\"1\",\"Sampler\":\"Euler\",\"CFG scale\":\"7\",\"Size-1\":\"\357\274\225\357\274\221\357\274\222\",\"Size-2\":\"\357\274\226\357\274\224\",\"Clip skip\":\"1\",\"Hires resize-1\":0,\"Hires resize-2\":0,\"Hires sampler\":\"Use same sampler\",\"Hires checkpoint\":\"Use same checkpoint\",\"Hires prompt\":\"\",\"Hires negative prompt\":\"\",\"Mask mode\":\"Inpaint masked\",\"Masked content\":\"original\",\"Inpaint area\":\"Whole picture\",\"Masked area padding\":32,\"RNG\":\"GPU\",\"Schedule type\":\"Automatic\",\"Schedule max sigma\":0,\"Schedule min sigma\":0,\"Schedule rho\":0,\"VAE Encoder\":\"Full\",\"VAE Decoder\":\"Full\",\"FP8 weight\":\"Disable\"}" },
	{ "p\012Steps: 1,Sampler:Euler,CFG scale:7, Clip skip: 2, RNG: CPU, Schedule type: Karras",
	  "{\"Prompt\":\"p\",\"Negative prompt\":\"\",\"Steps\":\"1\",\"Sampler\":\"Euler\",\"CFG scale\":\"7\",\"Clip skip\":\"2\",\"RNG\":\"CPU\",\"Schedule type\":\"Karras\",\"Hires resize-1\":0,\"Hires resize-2\":0,\"Hires sampler\":\"Use same sampler\",\"Hires checkpoint\":\"Use same checkpoint\",\"Hires prompt\":\"\",\"Hires negative prompt\":\"\",\"Mask mode\":\"Inpaint masked\",\"Masked content\":\"original\",\"Inpaint area\":\"Whole picture\",\"Masked area padding\":32,\"Schedule max sigma\":0,\"Schedule min sigma\":0,\"Schedule rho\":0,\"VAE Encoder\":\"Full\",\"VAE Decoder\":\"Full\",\"FP8 weight\":\"Disable\"}" },
	{ "a:b\012c, d: e, f: g",
	  "{\"Prompt\":\"a:b\\nc, d: e, f: g\",\"Negative prompt\":\"\",\"Clip skip\":\"1\",\"Hires resize-1\":0,\"Hires resize-2\":0,\"Hires sampler\":\"Use same sampler\",\"Hires checkpoint\":\"Use same checkpoint\",\"Hires prompt\":\"\",\"Hires negative prompt\":\"\",\"Mask mode\":\"Inpaint masked\",\"Masked content\":\"original\",\"Inpaint area\":\"Whole picture\",\"Masked area padding\":32,\"RNG\":\"GPU\",\"Schedule type\":\"Automatic\",\"Schedule max sigma\":0,\"Schedule min sigma\":0,\"Schedule rho\":0,\"VAE Encoder\":\"Full\",\"VAE Decoder\":\"Full\",\"FP8 weight\":\"Disable\"}" },
	{ "p\015\012Steps: 1, Sampler: Euler, CFG scale: 7\015",
	  "{\"Prompt\":\"p\",\"Negative prompt\":\"\",\"Steps\":\"1\",\"Sampler\":\"Euler\",\"CFG scale\":\"7\",\"Clip skip\":\"1\",\"Hires resize-1\":0,\"Hires resize-2\":0,\"Hires sampler\":\"Use same sampler\",\"Hires checkpoint\":\"Use same checkpoint\",\"Hires prompt\":\"\",\"Hires negative prompt\":\"\",\"Mask mode\":\"Inpaint masked\",\"Masked content\":\"original\",\"Inpaint area\":\"Whole picture\",\"Masked area padding\":32,\"RNG\":\"GPU\",\"Schedule type\":\"Automatic\",\"Schedule max sigma\":0,\"Schedule min sigma\":0,\"Schedule rho\":0,\"VAE Encoder\":\"Full\",\"VAE Decoder\":\"Full\",\"FP8 weight\":\"Disable\"}" },
	{ "p\012Steps: 1, Sampler: Euler, CFG scale: 7, Note: \"\", Two: \"x\"y\", Three: \"\\q\"",
	  "{\"Prompt\":\"p\",\"Negative prompt\":\"\",\"Steps\":\"1\",\"Sampler\":\"Euler\",\"CFG scale\":\"7\",\"Note\":\"\",\"Two\":\"\\\"x\\\"y\\\"\",\"Three\":\"\\\"\\\\q\\\"\",\"Clip skip\":\"1\",\"Hires resize-1\":0,\"Hires resize-2\":0,\"Hires sampler\":\"Use same sampler\",\"Hires checkpoint\":\"Use same checkpoint\",\"Hires prompt\":\"\",\"Hires negative prompt\":\"\",\"Mask mode\":\"Inpaint masked\",\"Masked content\":\"original\",\"Inpaint area\":\"Whole picture\",\"Masked area padding\":32,\"RNG\":\"GPU\",\"Schedule type\":\"Automatic\",\"Schedule max sigma\":0,\"Schedule min sigma\":0,\"Schedule rho\":0,\"VAE Encoder\":\"Full\",\"VAE Decoder\":\"Full\",\"FP8 weight\":\"Disable\"}" },
	{ "p\012Steps: 1, Sampler: Euler, CFG scale: 7, Size: 12x, Other size: 3x4\012",
	  "{\"Prompt\":\"p\",\"Negative prompt\":\"\",\"Steps\":\"1\",\"Sampler\":\"Euler\",\"CFG scale\":\"7\",\"Size\":\"12x\",\"Other size-1\":\"3\",\"Other size-2\":\"4\",\"Clip skip\":\"1\",\"Hires resize-1\":0,\"Hires resize-2\":0,\"Hires sampler\":\"Use same sampler\",\"Hires checkpoint\":\"Use same checkpoint\",\"Hires prompt\":\"\",\"Hires negative prompt\":\"\",\"Mask mode\":\"Inpaint masked\",\"Masked content\":\"original\",\"Inpaint area\":\"Whole picture\",\"Masked area padding\":32,\"RNG\":\"GPU\",\"Schedule type\":\"Automatic\",\"Schedule max sigma\":0,\"Schedule min sigma\":0,\"Schedule rho\":0,\"VAE Encoder\":\"Full\",\"VAE Decoder\":\"Full\",\"FP8 weight\":\"Disable\"}" },
};

static void
parse_matches_the_reference(void)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		json_object *o = infotext_parse(cases[i].text);
		const char *got = o != NULL ? json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) :
		    "(null)";

		if (strcmp(got, cases[i].want) != 0)
			printf("# case %zu\n#  got %s\n# want %s\n", i, got,
			    cases[i].want);
		CHECK_STR(got, cases[i].want);
		json_object_put(o);
	}
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Appends a chunk (CRC good, or broken when bad) to b. */
static void
chunk(struct buf *b, const char *type, const void *data, size_t n, int bad)
{
	uint8_t h[8], c[4];
	uLong crc = crc32(0L, (const Bytef *)type, 4);

	put32(h, (uint32_t)n);
	memcpy(h + 4, type, 4);
	crc = crc32(crc, data, (uInt)n);
	put32(c, (uint32_t)crc ^ (bad ? 1u : 0u));
	CHECK(buf_append(b, h, 8) == 0 && buf_append(b, data, n) == 0 &&
	    buf_append(b, c, 4) == 0);
}

static const char *
str_at(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ?
	    json_object_get_string(v) : NULL;
}

/* Pillow's reading: tEXt and zTXt in Latin-1, iTXt in UTF-8 (dropped
 * when it is not), the last of a keyword wins, nothing after IDAT, a
 * bad CRC or a truncated chunk refuses the file. */
static void
text_chunks_as_pillow_reads_them(void)
{
	struct buf b = { 0 };
	uint8_t z[64];
	uLongf zn = sizeof(z);
	char err[128];
	json_object *o;

	CHECK(buf_append(&b, "\x89PNG\r\n\x1a\n", 8) == 0);
	chunk(&b, "IHDR", "\0\0\0\1\0\0\0\1\10\2\0\0\0", 13, 0);
	chunk(&b, "tEXt", "a\0caf\xe9", 6, 0);
	chunk(&b, "tEXt", "f\0caf\xe9", 6, 0);	/* Latin-1 0xe9 is é */
	chunk(&b, "iTXt", "b\0\0\0\0\0" "\xe7\x8c\xab", 9, 0);
	chunk(&b, "iTXt", "c\0\0\0\0\0" "\xff", 7, 0);	/* not UTF-8 */
	CHECK(compress(z + 2, &zn, (const Bytef *)"zipped", 6) == Z_OK);
	memcpy(z, "d\0", 2);
	{
		uint8_t zt[80];

		memcpy(zt, "d\0\0", 3);
		memcpy(zt + 3, z + 2, zn);
		chunk(&b, "zTXt", zt, 3 + zn, 0);
	}
	chunk(&b, "tEXt", "a\0again", 7, 0);
	chunk(&b, "tEXt", "nokey", 5, 0);
	chunk(&b, "IDAT", "", 0, 0);
	chunk(&b, "tEXt", "late\0x", 6, 0);
	o = png_text_chunks((const uint8_t *)b.data, b.len, err, sizeof(err));
	CHECK(o != NULL);
	CHECK_STR(str_at(o, "a"), "again");
	CHECK_STR(str_at(o, "b"), "\xe7\x8c\xab");
	CHECK(str_at(o, "c") == NULL);
	CHECK_STR(str_at(o, "d"), "zipped");
	CHECK_STR(str_at(o, "nokey"), "");
	CHECK(str_at(o, "late") == NULL);
	CHECK_STR(str_at(o, "f"), "caf\xc3\xa9");
	json_object_put(o);
	CHECK(png_text_chunks((const uint8_t *)b.data, 40, err,
	    sizeof(err)) == NULL);
	b.len = 8 + 25;
	chunk(&b, "tEXt", "e\0x", 3, 1);
	chunk(&b, "IDAT", "", 0, 0);
	CHECK(png_text_chunks((const uint8_t *)b.data, b.len, err,
	    sizeof(err)) == NULL);
	CHECK(strstr(err, "CRC") != NULL);
	CHECK(png_text_chunks((const uint8_t *)"GIF89a", 6, err,
	    sizeof(err)) == NULL);
	buf_free(&b);
}

static void
latin1_or_not(void)
{
	char *out;

	CHECK(infotext_latin1("caf\xc3\xa9 \xc3\xbf", &out) == 1);
	CHECK_STR(out, "caf\xe9 \xff");
	free(out);
	CHECK(infotext_latin1("\xe7\x8c\xab", &out) == 0 && out == NULL);
	CHECK(infotext_latin1("\xc5\x81", &out) == 0);	/* U+0141 */
	CHECK(infotext_latin1("bad \xff", &out) == 0);
	CHECK(infotext_latin1("", &out) == 1);
	CHECK_STR(out, "");
	free(out);
}

/* What kiln writes, every field of image_meta, read back as A1111's
 * png-info reads it: first with a Latin-1 prompt (tEXt), then with one
 * that is not (iTXt). */
static void
kilns_fields_round_trip(void)
{
	static const char *const prompts[][2] = {
		{ "caf\xc3\xa9, d\xc3\xa9j\xc3\xa0 vu: (red:1.2)",
		  "\xc3\xbc" "bel\nzweite Zeile" },
		{ "\xe7\x8c\xab\xe3\x81\x8c\xe5\xba\xa7\xe3\x82\x8b "
		  "\xf0\x9f\x94\xa5, a \"quoted\" word",
		  "\xe4\xbd\x8e\xe5\x93\x81\xe8\xb3\xaa" },
	};
	static const struct image_lora loras[] = { { "style", "0123456789ab" },
		{ "detail", "ba9876543210" } };
	static const struct image_lora tis[] = { { "emb", "00112233aabb" } };
	uint8_t px[12] = { 0 }, *png = NULL;
	size_t len, i;
	char *text = NULL, err[128];
	json_object *chunks, *res;

	for (i = 0; i < ARRAY_LEN(prompts); i++) {
		struct image_meta m = { .prompt = prompts[i][0],
		    .negative = prompts[i][1], .steps = 20,
		    .sampler = "dpmpp_2m_karras", .cfg = 7.5,
		    .seed = 18446744073709551615ULL, .width = 512,
		    .height = 768, .model = "kiln-micro", .denoise = 0.35,
		    .hires_scale = 2, .hires_steps = 12,
		    .hires_upscaler = "latent-nearest",
		    .model_hash = "0123456789", .loras = loras, .nloras = 2,
		    .tis = tis, .ntis = 1 };

		CHECK(image_parameters_text(&m, &text) == 0);
		CHECK(image_encode_png(2, 2, px, text, &png, &len, err,
		    sizeof(err)) == 0);
		CHECK(memmem(png, len, i == 0 ? "tEXt" : "iTXt", 4) != NULL);
		chunks = png_text_chunks(png, len, err, sizeof(err));
		CHECK_STR(str_at(chunks, "parameters"), text);
		res = infotext_parse(str_at(chunks, "parameters"));
		CHECK_STR(str_at(res, "Prompt"), prompts[i][0]);
		CHECK_STR(str_at(res, "Negative prompt"), prompts[i][1]);
		CHECK_STR(str_at(res, "Steps"), "20");
		CHECK_STR(str_at(res, "Sampler"), "DPM++ 2M Karras");
		CHECK_STR(str_at(res, "CFG scale"), "7.5");
		CHECK_STR(str_at(res, "Seed"), "18446744073709551615");
		CHECK_STR(str_at(res, "Size-1"), "512");
		CHECK_STR(str_at(res, "Size-2"), "768");
		CHECK_STR(str_at(res, "Model hash"), "0123456789");
		CHECK_STR(str_at(res, "Model"), "kiln-micro");
		CHECK_STR(str_at(res, "Denoising strength"), "0.35");
		CHECK_STR(str_at(res, "Hires upscale"), "2");
		CHECK_STR(str_at(res, "Hires steps"), "12");
		CHECK_STR(str_at(res, "Hires upscaler"), "Latent (nearest)");
		CHECK_STR(str_at(res, "Lora hashes"),
		    "style: 0123456789ab, detail: ba9876543210");
		CHECK_STR(str_at(res, "TI hashes"), "emb: 00112233aabb");
		json_object_put(res);
		json_object_put(chunks);
		free(png);
		free(text);
	}
}

int
main(void)
{
	RUN(parse_matches_the_reference);
	RUN(text_chunks_as_pillow_reads_them);
	RUN(latin1_or_not);
	RUN(kilns_fields_round_trip);
	return tap_done();
}
