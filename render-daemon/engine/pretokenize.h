/* pretokenize.h - what CLIP's reference tokenizer does to text before
 * BPE: its cleaning and its split pattern. Internal to the tokenizer. */
#ifndef KILN_PRETOKENIZE_H
#define KILN_PRETOKENIZE_H

#include "codepoints.h"

#include <stddef.h>
#include <stdint.h>

/* basic_clean + whitespace_clean + lower(), in place: ftfy,
 * html.unescape twice, strip, runs of whitespace to one space, Unicode
 * lower case (Python's str.lower). Returns 0, or -1 when memory runs
 * out. */
int pretokenize_clean(struct cpvec *text);

/* Length of the piece CLIP's pattern matches at s[0..n), or 0 when none
 * does there (whitespace, and U+0345, which the regex module's
 * case-insensitive classes leave out of all three):
 * <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|
 * [^\s\p{L}\p{N}]+ */
size_t pretokenize_piece(const uint32_t *s, size_t n);

#endif
