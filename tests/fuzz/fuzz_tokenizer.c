/* fuzz_tokenizer.c - libFuzzer harness: any bytes (invalid UTF-8, NULs,
 * half-open brackets) go through the CLIP tokenizer, the A1111 weighting
 * parser and the 77-token windows; none may crash, hang or leak. */
#include "../common/small_vocab.h"
#include "prompt.h"
#include "tokenizer.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Relative to the repository root: the vocabulary the project ships. */
#define REAL_VOCAB "models/clip/bpe_simple_vocab_16e6.txt.gz"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Loaded once for the whole run: libFuzzer calls us millions of times. */
static struct clip_tokenizer *tok;

/* A small vocabulary (the byte symbols, a few merges, the special
 * tokens), for when the real one is not around. */
static const char *const merges[] = {
	"c a", "ca t</w>", "d o", "do g</w>", "( a", "a )",
	"B R", "BR E", "BRE A", "BREA K</w>",
};

static struct clip_tokenizer *
small_tokenizer(void)
{
	char dir[] = "/tmp/kiln-fuzz-tok-XXXXXX", path[PATH_MAX], err[512];
	struct clip_tokenizer *t = NULL;

	if (mkdtemp(dir) == NULL)
		return NULL;
	if (write_small_vocab(dir, merges,
	    sizeof(merges) / sizeof(merges[0])) == 0) {
		t = clip_tokenizer_load(dir, err, sizeof(err));
		if (t == NULL)
			fprintf(stderr, "fuzz_tokenizer: small vocabulary: %s\n",
				err);
	}
	snprintf(path, sizeof(path), "%s/vocab.json", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/merges.txt", dir);
	unlink(path);
	rmdir(dir);
	return t;
}

/* The real vocabulary: $KILN_FUZZ_VOCAB, or models/clip/ of the checkout
 * this binary was built in (build-fuzz/ sits in the repository root; the
 * runner starts us in a temporary folder, so the cwd says nothing). */
static struct clip_tokenizer *
real_tokenizer(void)
{
	const char *env = getenv("KILN_FUZZ_VOCAB");
	char exe[PATH_MAX], path[PATH_MAX + 64], err[512], *slash;
	struct clip_tokenizer *t;
	ssize_t n;
	int up;

	if (env != NULL && env[0] != '\0') {
		t = clip_tokenizer_load(env, err, sizeof(err));
		if (t == NULL)
			fprintf(stderr, "fuzz_tokenizer: %s\n", err);
		return t;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	for (up = 0; up < 2; up++) {	/* repo/build-fuzz/fuzz_x -> repo */
		slash = strrchr(exe, '/');
		if (slash == NULL)
			return NULL;
		*slash = '\0';
	}
	snprintf(path, sizeof(path), "%s/%s", exe, REAL_VOCAB);
	if (access(path, R_OK) != 0)
		return NULL;
	return clip_tokenizer_load(path, err, sizeof(err));
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	tok = real_tokenizer();
	if (tok == NULL)
		tok = small_tokenizer();
	if (tok == NULL) {
		fprintf(stderr, "fuzz_tokenizer: no vocabulary\n");
		abort();
	}
	return 0;
}

/* The windows' fixed points: start first, the end id at the end or
 * after it only padding. */
static void
check_windows(const struct clip_chunks *ch, int32_t pad)
{
	int32_t bos = clip_tokenizer_bos(tok), eos = clip_tokenizer_eos(tok);
	size_t i, k;

	if (ch->n == 0)
		__builtin_trap();
	for (i = 0; i < ch->n; i++) {
		const struct clip_chunk *c = &ch->v[i];

		if (c->ids[0] != bos)
			__builtin_trap();
		for (k = 1; k < CLIP_WINDOW && c->ids[k] != eos; k++)
			;
		if (k == CLIP_WINDOW)
			__builtin_trap();
		for (k++; k < CLIP_WINDOW; k++)
			if (c->ids[k] != pad)
				__builtin_trap();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct prompt_pieces pieces;
	struct clip_chunks ch;
	int32_t *ids = NULL;
	size_t n = 0, i;
	char *text, err[128];

	if (clip_tokenize(tok, (const char *)data, size, &ids, &n) != 0)
		__builtin_trap();
	for (i = 0; i < n; i++)
		if (ids[i] < 0 ||
		    (size_t)ids[i] >= clip_tokenizer_vocab_size(tok))
			__builtin_trap();
	free(ids);

	if (prompt_parse_attention((const char *)data, size, &pieces) != 0 ||
	    pieces.n == 0)
		__builtin_trap();
	prompt_pieces_free(&pieces);

	/* Prompts are C strings: a NUL ends this one early. */
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (clip_encode_prompt(tok, text, 0, &ch, err, sizeof(err)) != 0)
		__builtin_trap();
	check_windows(&ch, 0);
	clip_chunks_free(&ch);
	if (clip_encode_prompt(tok, text, clip_tokenizer_eos(tok), &ch, err,
	    sizeof(err)) != 0)
		__builtin_trap();
	clip_chunks_free(&ch);
	free(text);
	return 0;
}
