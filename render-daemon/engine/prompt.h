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

/* One window for the text encoder. A textual-inversion slot holds id 0
 * (so the pooled output's argmax still finds the end id) and says which
 * embedding (an index into the names clip_encode_prompt_ti was given) and
 * which of its vectors stands there; every other position has emb -1. */
struct clip_chunk {
	int32_t ids[CLIP_WINDOW];
	float weights[CLIP_WINDOW];
	int16_t emb[CLIP_WINDOW];
	uint8_t emb_row[CLIP_WINDOW];
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

/* The most vectors one textual-inversion embedding may put into a prompt:
 * A1111 never splits one across windows, so it must fit in one. */
#define CLIP_TI_MAX_VECTORS CLIP_WINDOW_TOKENS
/* The most names clip_encode_prompt_ti takes (slots store the index). */
#define CLIP_TI_MAX_NAMES 32767

/* A textual-inversion embedding's name as a prompt spells it: the name
 * run through clip_tokenize (as A1111 tokenizes embedding.name), and the
 * slots it becomes. */
struct clip_ti_name {
	const int32_t *ids;	/* len ids; a name of no tokens never matches */
	size_t len;
	int vectors;		/* 1 .. CLIP_TI_MAX_VECTORS */
};

/* clip_encode_prompt with A1111's embeddings (sd_hijack_clip.py
 * tokenize_line): within each weighted piece, wherever the ids of one of
 * the n names occur (the longest match at each position; the first of
 * equal ones), they become that name's vectors slots (id 0, the piece's
 * weight, emb = the name's index), and a window that cannot take all of
 * them is closed first, so an embedding never straddles two. A window cut
 * after a comma takes its embedding slots along (A1111 leaves their fix
 * behind, writing the vectors over the old window's padding: a bug not
 * copied), and a name that begins with a comma is not cut after (A1111
 * would split its slots). Returns as clip_encode_prompt; -1 also for more than
 * CLIP_TI_MAX_NAMES names or a vector count outside 1 ..
 * CLIP_TI_MAX_VECTORS. */
int clip_encode_prompt_ti(const struct clip_tokenizer *tok,
    const char *prompt, int32_t pad_id, const struct clip_ti_name *names,
    int n, struct clip_chunks *out, char *err, size_t errlen);

/* Which of the n embedding names (plain text, tokenized here as A1111
 * tokenizes them) prompt uses, as clip_encode_prompt_ti matches them:
 * used[i] becomes 1 for each one found, 0 for the others. For a caller
 * that loads embedding files on demand. Returns 0, or -1 with a message
 * in err (out of memory, too many names). */
int clip_prompt_uses(const struct clip_tokenizer *tok, const char *prompt,
    const char *const *names, int n, unsigned char *used, char *err,
    size_t errlen);

#endif
