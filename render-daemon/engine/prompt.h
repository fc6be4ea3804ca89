/* prompt.h - AUTOMATIC1111 prompt weighting ("(word:1.3)", "(word)",
 * "[word]", "\(" escapes, BREAK) and the 77-token CLIP windows, with one
 * weight per token, that the text encoder consumes. */
#ifndef KILN_PROMPT_H
#define KILN_PROMPT_H

#include "tokenizer.h"

#include <stddef.h>
#include <stdint.h>

#define CLIP_WINDOW 77		/* start + 75 tokens + end */
#define CLIP_WINDOW_TOKENS 75
/* A1111's comma_padding_backtrack default: a window that fills up within
 * this many tokens after a comma is cut after the comma instead. */
#define CLIP_COMMA_BACKTRACK 20

/* One run of prompt text with its weight. A BREAK keyword is a piece with
 * text "BREAK" and weight -1, as in A1111 (see prompt_piece_is_break). */
struct prompt_piece {
	char *text;		/* NUL-terminated; len bytes */
	size_t len;
	double weight;
};

struct prompt_pieces {
	struct prompt_piece *v;
	size_t n;
};

/* A1111's parse_prompt_attention over len bytes of UTF-8: "(x)" multiplies
 * by 1.1, "[x]" by 1/1.1, "(x:w)" by w, nesting multiplies, "\(" "\)" "\["
 * "\]" "\\" are literal and a lone "\" vanishes; brackets never closed
 * apply to the end, stray closing ones are text; neighbouring runs of
 * equal weight are joined; BREAK (a whole word) becomes its own piece.
 * Where A1111 would raise an error (a weight such as "1.2.3" inside an
 * open bracket) the ":1.2.3)" is kept as text. Never fails on any input
 * except for memory: returns 0 and fills *out (free it with
 * prompt_pieces_free; always at least one piece), or -1 on out of memory
 * with *out empty. */
int prompt_parse_attention(const char *text, size_t len,
    struct prompt_pieces *out);

/* prompt (NUL-terminated) without AUTOMATIC1111's extra-network tags,
 * every match of its <(\w+):([^>]+)> (<lora:name:0.8>, <lyco:...>,
 * <hypernet:...>) removed as A1111 removes them before the text encoder
 * sees the prompt: the job's LoRAs were read from them already
 * (lib/loras.h). Returns a malloc'd string, or NULL when memory runs
 * out. */
char *prompt_strip_extra_networks(const char *prompt);

/* Whether the piece is A1111's BREAK marker. */
int prompt_piece_is_break(const struct prompt_piece *p);

/* Frees the pieces and empties *p; an empty or already freed one is fine. */
void prompt_pieces_free(struct prompt_pieces *p);

/* One window for the text encoder. */
struct clip_chunk {
	int32_t ids[CLIP_WINDOW];
	float weights[CLIP_WINDOW];
};

struct clip_chunks {
	struct clip_chunk *v;
	size_t n;
};

/* Turns a NUL-terminated prompt into windows, as A1111's tokenize_line
 * does: the weighting syntax parsed, each piece tokenized, 75 tokens per
 * window (cut after a comma within the last CLIP_COMMA_BACKTRACK tokens,
 * BREAK starting a new window), each window start + tokens + end, then
 * filled up with end ids; everything after the first end id becomes
 * pad_id (SD 1.x pads with the end id 49407, SD 2.x with 0). Start, end
 * and padding weigh 1. An empty prompt gives one window. Returns 0 and
 * fills *out (free it with clip_chunks_free), or -1 with a message in err
 * when memory runs out (*out empty). */
int clip_encode_prompt(const struct clip_tokenizer *tok, const char *prompt,
    int32_t pad_id, struct clip_chunks *out, char *err, size_t errlen);

/* Frees the windows and empties *c; an empty one is fine. */
void clip_chunks_free(struct clip_chunks *c);

#endif
