/* ftfy.h - a port of the part of ftfy.fix_text that CLIP's reference
 * tokenizer relies on. Internal to the tokenizer. */
#ifndef KILN_FTFY_H
#define KILN_FTFY_H

#include "codepoints.h"

/* ftfy.fix_text over text, in place: line by line, each line's fixes
 * (HTML entities, C1 controls as Windows-1252, Latin ligatures, full and
 * half width forms, curly quotes, terminal escapes, control characters,
 * NFC) again until nothing changes; once a line holds '<' (HTML markup),
 * entities are left alone from there on, as ftfy does. Returns 0, or -1
 * when memory runs out. */
int ftfy_fix(struct cpvec *text);

#endif
