/* tokenizer.h - the CLIP BPE tokenizer: loads the vocabulary (tokenizer
 * folder or OpenAI's bpe_simple_vocab_16e6.txt.gz) and turns text into the
 * token ids the reference CLIP tokenizer produces. */
#ifndef KILN_TOKENIZER_H
#define KILN_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

/* The ids SD 1.x / 2.x checkpoints expect; clip_tokenizer_bos/eos say what
 * a loaded vocabulary actually uses. */
#define CLIP_BOS_ID 49406
#define CLIP_EOS_ID 49407

struct clip_tokenizer;

/* Loads a vocabulary. path is either a folder holding vocab.json and
 * merges.txt (the Hugging Face tokenizer folder), or a folder holding
 * bpe_simple_vocab_16e6.txt.gz, or that file itself (gzip or plain text:
 * one header line, then the merges, of which the first 48894 are used as
 * the reference does). Returns the tokenizer (free it with
 * clip_tokenizer_free), or NULL with a message naming the file (and line)
 * in err when a file is missing, unreadable or malformed, or memory ran
 * out. */
struct clip_tokenizer *clip_tokenizer_load(const char *path, char *err,
    size_t errlen);

/* Frees a tokenizer; NULL is fine. */
void clip_tokenizer_free(struct clip_tokenizer *tok);

/* The start-of-text / end-of-text ids of this vocabulary. */
int32_t clip_tokenizer_bos(const struct clip_tokenizer *tok);
int32_t clip_tokenizer_eos(const struct clip_tokenizer *tok);

/* Number of ids (the text encoder's embedding rows): 49408 for CLIP. */
size_t clip_tokenizer_vocab_size(const struct clip_tokenizer *tok);

/* The id of one vocabulary entry spelled as in vocab.json (",</w>" is the
 * comma at the end of a word), or -1 when there is none. */
int32_t clip_tokenizer_lookup(const struct clip_tokenizer *tok,
    const char *token);

/* Tokenizes len bytes of text exactly like the reference CLIP tokenizer:
 * cleaning (a subset of ftfy.fix_text: HTML entities, C1 controls, Latin
 * ligatures, character width, curly quotes, terminal escapes, control
 * characters, NFC; no mojibake repair), html.unescape twice, whitespace
 * collapsed, Unicode lower-casing, CLIP's split pattern, byte-level BPE.
 * No start/end ids, no padding, no weighting syntax. Text that is not
 * valid UTF-8 is decoded the way Python's errors="replace" does it: each
 * maximal invalid subsequence becomes U+FFFD. The same tokenizer may be
 * used from several threads at once (its word cache has a lock).
 * On success stores a malloc'd array in *ids (the caller frees it; NULL
 * when *n is 0) and its length in *n, and returns 0. Returns -1 with
 * errno ENOMEM when memory runs out (*ids NULL, *n 0). */
int clip_tokenize(const struct clip_tokenizer *tok, const char *text,
    size_t len, int32_t **ids, size_t *n);

#endif
