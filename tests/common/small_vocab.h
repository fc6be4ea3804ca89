/* small_vocab.h - a small CLIP vocabulary written to a directory, for the
 * tokenizer's unit test and fuzz harness: the 256 byte symbols (ids
 * 0..255), the same with "</w>" (256..511), the given merges (512..),
 * then <|startoftext|> and <|endoftext|>. Test code only: the functions
 * are static so each program includes its own copy. */
#ifndef KILN_TEST_SMALL_VOCAB_H
#define KILN_TEST_SMALL_VOCAB_H

#include <stdint.h>
#include <stdio.h>

/* bytes_to_unicode() of CLIP: the character byte b stands for, and the
 * bytes in the order the vocabulary lists them. */
static void
byte_chars(uint32_t chr[256], int order[256])
{
	int b, k = 0, n = 0, pass;

	for (pass = 0; pass < 2; pass++)
		for (b = 0; b < 256; b++) {
			int printable = (b >= '!' && b <= '~') ||
			    (b >= 0xa1 && b <= 0xac) || b >= 0xae;

			if (printable != (pass == 0))
				continue;
			chr[b] = printable ? (uint32_t)b : 256 + (uint32_t)n++;
			order[k++] = b;
		}
}

/* Appends c as a JSON string character (UTF-8, escaped where needed). */
static void
put_json_char(FILE *f, uint32_t c)
{
	if (c == '"' || c == '\\')
		fprintf(f, "\\%c", (int)c);
	else if (c < 0x80)
		fputc((int)c, f);
	else
		fprintf(f, "%c%c", (int)(0xc0 | (c >> 6)),
		    (int)(0x80 | (c & 0x3f)));
}

/* Writes vocab.json + merges.txt of the vocabulary with the n merges
 * ("a b" pairs) into dir. Returns 0 or -1. */
static int
write_small_vocab(const char *dir, const char *const *merges, size_t n)
{
	uint32_t chr[256];
	int order[256], i, id = 0, pass;
	char path[4096];
	size_t m;
	FILE *f;

	byte_chars(chr, order);
	snprintf(path, sizeof(path), "%s/vocab.json", dir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputc('{', f);
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < 256; i++) {
			fputs(id ? ", \"" : "\"", f);
			put_json_char(f, chr[order[i]]);
			fprintf(f, "%s\": %d", pass ? "</w>" : "", id++);
		}
	for (m = 0; m < n; m++) {
		const char *s = merges[m];

		fputs(", \"", f);
		for (; *s; s++)
			if (*s != ' ')
				fputc(*s, f);
		fprintf(f, "\": %d", id++);
	}
	fprintf(f, ", \"<|startoftext|>\": %d, \"<|endoftext|>\": %d}\n",
	    id, id + 1);
	if (fclose(f) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/merges.txt", dir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs("#version: 0.2\n", f);
	for (m = 0; m < n; m++)
		fprintf(f, "%s\n", merges[m]);
	return fclose(f) != 0 ? -1 : 0;
}

#endif
