/* utf8.h - the one UTF-8 decoder and encoder, shared by the text checks
 * of the web side and the engine's tokenizer and prompt parser. */
#ifndef KILN_UTF8_H
#define KILN_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* What utf8_next stores for bytes that are not a valid character: no code
 * point has this value. */
#define UTF8_INVALID 0x110000u

/* Decodes the character at s (n > 0 bytes) strictly (RFC 3629: no
 * overlong forms, surrogates or values past U+10FFFF). Stores it in *cp
 * and returns its length, 1 to 4. Bytes that are not a valid character
 * store UTF8_INVALID and return the length of their maximal subpart (1
 * to 3): the bytes Unicode's best practice, and Python's
 * errors="replace", turn into one U+FFFD. */
size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp);

/* Decodes the character that ends at s[i], looking no further back than
 * s[0]. Stores it in *cp and returns its length, or returns 0 when the
 * bytes before s[i] do not end with one whole valid character (i == 0
 * included). */
size_t utf8_prev(const unsigned char *s, size_t i, uint32_t *cp);

/* Writes c (at most U+10FFFF) as UTF-8 into out, which has room for 4
 * bytes; returns the length. */
size_t utf8_put(uint32_t c, unsigned char *out);

#endif
