/* cmd_tokenize.c - kiln-render tokenize: the CLIP token ids of one text
 * (no start/end, no padding, no weighting syntax) as a JSON array. */
#include "commands.h"
#include "tokenizer.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
usage(void)
{
	fprintf(stderr, "usage: kiln-render tokenize --vocab PATH TEXT\n"
	    "  PATH: a folder with vocab.json + merges.txt, or "
	    "bpe_simple_vocab_16e6.txt.gz\n");
	return 2;
}

/* Prints ids as one JSON array line. Returns 0, or -1 when memory runs
 * out or stdout cannot be written. */
static int
print_ids(const int32_t *ids, size_t n)
{
	json_object *arr = json_object_new_array_ext((int)n);
	const char *s;
	size_t i;
	int rc = -1;

	if (arr == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		json_object *v = json_object_new_int(ids[i]);

		if (v == NULL || json_object_array_add(arr, v) != 0) {
			json_object_put(v);
			goto out;
		}
	}
	s = json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN);
	if (s == NULL || printf("%s\n", s) < 0 || fflush(stdout) != 0)
		goto out;
	rc = 0;
out:
	json_object_put(arr);
	return rc;
}

int
cmd_tokenize(int argc, char **argv)
{
	struct clip_tokenizer *tok = NULL;
	const char *vocab = NULL, *text = NULL;
	int32_t *ids = NULL;
	size_t n = 0;
	char err[512];
	int i, opts = 1, rc = 1;

	for (i = 0; i < argc; i++) {
		if (opts && !strcmp(argv[i], "--vocab")) {
			if (i + 1 >= argc || vocab != NULL)
				return usage();
			vocab = argv[++i];
		} else if (opts && !strcmp(argv[i], "--")) {
			opts = 0;
		} else if (opts && argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "kiln-render tokenize: unknown option "
			    "'%s' (put -- before a text that starts with "
			    "'-')\n", argv[i]);
			return usage();
		} else {
			if (text != NULL)
				return usage();
			text = argv[i];
		}
	}
	if (vocab == NULL || text == NULL)
		return usage();
	tok = clip_tokenizer_load(vocab, err, sizeof(err));
	if (tok == NULL) {
		fprintf(stderr, "kiln-render tokenize: %s\n", err);
		goto out;
	}
	if (clip_tokenize(tok, text, strlen(text), &ids, &n) != 0) {
		fprintf(stderr, "kiln-render tokenize: out of memory\n");
		goto out;
	}
	if (print_ids(ids, n) != 0) {
		fprintf(stderr, "kiln-render tokenize: cannot write the "
		    "result\n");
		goto out;
	}
	rc = 0;
out:
	free(ids);
	clip_tokenizer_free(tok);
	return rc;
}
