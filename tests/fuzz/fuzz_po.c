/* fuzz_po.c - libFuzzer harness for the PO catalogue parser (i18n.c) and
 * the Accept-Language reader. The input is a PO file; besides never
 * crashing or leaking: a refusal names the file and a line within the
 * input, a success holds translations that are NUL-free UTF-8 no longer
 * than the input, and every entry parsed is found again by its msgid
 * (checked for each msgid line of the input that is one plain string).
 * The input, up to its first NUL, is also an Accept-Language header,
 * which always gives one of the two languages. */
#include "fuzz.h"
#include "i18n.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* 1 when the line line..nl occurs nowhere else in s. */
static int
once(const char *s, const char *line, const char *nl)
{
	size_t n = (size_t)(nl - line);
	const char *p = s;

	while ((p = strstr(p, "msgid \"")) != NULL) {
		if (p != line && strncmp(p, line, n) == 0 &&
		    (p[n] == '\n' || p[n] == '\0'))
			return 0;
		p++;
	}
	return 1;
}

/* Looks up the msgid of every one-line `msgid "..."` without escapes that
 * is followed by a one-line non-empty msgstr, and checks that what comes
 * back is that msgstr. */
static void
lookups(const struct po *po, const char *s)
{
	const char *line = s;

	while (line != NULL && *line != '\0') {
		const char *nl = strchr(line, '\n'), *id, *ide, *st, *ste;

		if (strncmp(line, "msgid \"", 7) == 0 && nl != NULL &&
		    strncmp(nl + 1, "msgstr \"", 8) == 0) {
			id = line + 7;
			ide = strchr(id, '"');
			st = nl + 9;
			ste = strchr(st, '"');
			if (ide != NULL && ide + 1 == nl && ste != NULL &&
			    ste[1] == '\n' && ide > id && ste > st &&
			    memchr(id, '\\', (size_t)(ide - id)) == NULL &&
			    memchr(st, '\\', (size_t)(ste - st)) == NULL &&
			    (line == s || line[-1] == '\n') &&
			    (ste[2] == '\0' || ste[2] == '\n' ||
			    ste[2] == 'm') &&
			    (line < s + 2 || strncmp(line - 2, "\"\n", 2))) {
				char *k = strndup(id, (size_t)(ide - id));
				const char *got;

				if (k == NULL)
					return;
				got = po_get(po, NULL, k);
				/* A fuzzy flag, or a msgctxt on the line
				 * before, hides it: only when found. */
				/* A msgid given twice (one of them fuzzy or
				 * in a context) may have its other line's
				 * translation: checked only when once. */
				if (got != NULL && once(s, line, nl))
					CHECK(strlen(got) ==
					    (size_t)(ste - st) &&
					    memcmp(got, st,
					    (size_t)(ste - st)) == 0);
				free(k);
			}
		}
		line = nl != NULL ? nl + 1 : NULL;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512], *copy = malloc(size + 1);
	const char *lang;
	struct po *po;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	err[0] = '\0';
	po = po_parse(copy, size, "f.po", err, sizeof(err));
	if (po == NULL) {
		char *end;
		long line;

		CHECK(strncmp(err, "f.po:", 5) == 0);
		line = strtol(err + 5, &end, 10);
		CHECK(end > err + 5 && *end == ':');
		CHECK(line >= 1 && (size_t)line <= size + 2);
	} else {
		CHECK(po_count(po) <= size / 16 + 1);
		if (memchr(copy, '\0', size) == NULL)
			lookups(po, copy);
		po_free(po);
	}
	lang = i18n_accept(copy);
	CHECK(lang != NULL && (!strcmp(lang, LANG_EN) ||
	    !strcmp(lang, LANG_ZH)));
	free(copy);
	return 0;
}
