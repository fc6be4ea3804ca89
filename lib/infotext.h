/* infotext.h - AUTOMATIC1111's "infotext", the generation parameters text
 * kept in a PNG's "parameters" chunk: reading the text chunks of a PNG
 * as Pillow does, and parsing the text as A1111's
 * parse_generation_parameters (modules/infotext_utils.py) does, for
 * POST /sdapi/v1/png-info and the txt2img answer's info. */
#ifndef KILN_INFOTEXT_H
#define KILN_INFOTEXT_H

#include <stddef.h>
#include <stdint.h>

struct json_object;

/* The largest text chunk read (Pillow's MAX_TEXT_CHUNK, 1 MiB). */
#define INFOTEXT_CHUNK_MAX (1024 * 1024)

/* The text chunks (tEXt, zTXt, iTXt) that come before the first IDAT of
 * the PNG png (len bytes), as Pillow's Image.open puts them in
 * image.info: {keyword: text}, tEXt and zTXt read as Latin-1 and iTXt as
 * UTF-8 (an iTXt whose text is not UTF-8, or a chunk that cannot be
 * inflated, is left out), a later chunk of the same keyword replacing an
 * earlier one. Returns a new JSON object of strings, or NULL with a
 * message in err when png is not a PNG, a chunk overruns the data or
 * fails its CRC, or memory runs out. */
struct json_object *png_text_chunks(const uint8_t *png, size_t len,
	char *err, size_t errlen);

/* A1111's parse_generation_parameters(text) with its default settings
 * (infotext_styles "Apply if any" and no styles defined, no
 * infotext_skip_pasting, use_old_hires_fix_width_height off): the
 * prompt, the negative prompt, every "Key: value" of the last line (a
 * quoted value unquoted as JSON, "WxH" values split into "Key-1" and
 * "Key-2"), then the defaults it adds ("Clip skip": "1", "Hires
 * resize-1": 0, ... "FP8 weight": "Disable"), in its order. Its
 * Version-driven back-compatibility keys are not added. Returns a new
 * JSON object, or NULL when memory runs out. text is UTF-8; bytes that
 * are not are read as U+FFFD would be. */
struct json_object *infotext_parse(const char *text);

/* s as Latin-1 (each code point below U+0100 as one byte) in a fresh
 * string *out, when every code point of the UTF-8 s is below U+0100:
 * returns 1. Returns 0 (and *out NULL) when s holds one above or is not
 * UTF-8: it goes into an iTXt chunk as UTF-8, as Pillow's add_text
 * does; -1 when memory runs out. */
int infotext_latin1(const char *s, char **out);

#endif
