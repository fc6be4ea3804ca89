/* html_entities.h - HTML character references read the way Python's html
 * module and ftfy read them: the named entities and html.unescape.
 * Internal to the tokenizer. */
#ifndef KILN_HTML_ENTITIES_H
#define KILN_HTML_ENTITIES_H

#include "codepoints.h"

#include <stddef.h>
#include <stdint.h>

/* Who knows a name. HTML_ENT_PY: Python's html.unescape (names without
 * ';' are the legacy ones it also accepts unterminated); HTML_ENT_FTFY:
 * ftfy's unescape_html, as "&name;" (it adds ALL-CAPS variants of
 * lower-case names). */
enum { HTML_ENT_PY = 1, HTML_ENT_FTFY = 2 };

/* The value (UTF-8) of the entity name (NUL-terminated, with its ';' if
 * any) when a reader of the given flag knows it, else NULL. */
const char *html_entity_find(const char *name, int flag);

/* Windows-1252 for 0x80..0x9f; the five holes stand for themselves.
 * html.unescape reads numeric references there this way, and ftfy's
 * fix_c1_controls reads C1 control characters this way. */
extern const uint16_t html_cp1252[32];

/* Python's html.unescape over s[0..n), appended to out: numeric
 * references (with its table of invalid ones) and named ones, including
 * the longest legacy name at the front of an unknown one. Returns 0, or
 * -1 when memory runs out. */
int html_unescape(const uint32_t *s, size_t n, struct cpvec *out);

#endif
