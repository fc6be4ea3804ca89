/* fuzz_tokenizer.c - libFuzzer harness: any bytes (invalid UTF-8, NULs,
 * half-open brackets) go through the CLIP tokenizer, the A1111 weighting
 * parser and the 77-token windows, with and without textual-inversion
 * names; none may crash, hang or leak, and every embedding's slots lie
 * whole in one window. */
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

/* Embedding names the prompts may hold: one word, a word that begins a
 * longer name, a name of several words, one of a lone comma. */
static const char *const ti_names[] = { "cat", "a", "a cat", "(x)", ",",
    "dog dog dog" };
#define TI_N ((int)(sizeof(ti_names) / sizeof(ti_names[0])))

/* Each name's slots (ids 0, rows 0 .. vectors - 1 in a row, all in one
 * window) and no slot elsewhere. */
static void
check_slots(const struct clip_chunks *ch, const struct clip_ti_name *nm)
{
	size_t i, k;
	int e, r;

	for (i = 0; i < ch->n; i++) {
		const struct clip_chunk *c = &ch->v[i];

		if (c->emb[0] != -1 || c->emb[CLIP_WINDOW - 1] != -1)
			__builtin_trap();
		for (k = 1; k < CLIP_WINDOW - 1; k++) {
			e = c->emb[k];
			if (e < 0)
				continue;
			if (e >= TI_N || c->ids[k] != 0 || c->emb_row[k] != 0)
				__builtin_trap();
			for (r = 1; r < nm[e].vectors; r++)
				if (k + (size_t)r >= CLIP_WINDOW - 1 ||
				    c->emb[k + r] != e || c->emb_row[k + r] != r ||
				    c->ids[k + r] != 0)
					__builtin_trap();
			k += (size_t)nm[e].vectors - 1;
		}
	}
}

/* The prompt with the names above, of 1 to 75 vectors as the input's
 * first byte says; which names it uses, the same ones. */
static void
with_names(const char *text, unsigned seed)
{
	struct clip_ti_name nm[TI_N];
	int32_t *ids[TI_N];
	unsigned char used[TI_N];
	struct clip_chunks ch;
	char err[128];
	size_t k;
	int i;

	for (i = 0; i < TI_N; i++) {
		if (clip_tokenize(tok, ti_names[i], strlen(ti_names[i]), &ids[i],
		    &nm[i].len) != 0)
			__builtin_trap();
		nm[i].ids = ids[i];
		nm[i].vectors = 1 + (int)((seed * 7u + (unsigned)i * 31u) %
		    CLIP_TI_MAX_VECTORS);
	}
	if (clip_encode_prompt_ti(tok, text, 0, nm, TI_N, &ch, err,
	    sizeof(err)) != 0)
		__builtin_trap();
	check_windows(&ch, 0);
	check_slots(&ch, nm);
	if (clip_prompt_uses(tok, text, ti_names, TI_N, used, err,
	    sizeof(err)) != 0)
		__builtin_trap();
	for (i = 0; i < TI_N; i++) {
		int seen = 0;

		for (k = 0; k < ch.n * CLIP_WINDOW; k++)
			seen |= ch.v[k / CLIP_WINDOW].emb[k % CLIP_WINDOW] == i;
		if (seen != used[i])
			__builtin_trap();
	}
	clip_chunks_free(&ch);
	for (i = 0; i < TI_N; i++)
		free(ids[i]);
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
	with_names(text, size > 0 ? data[0] : 0);
	free(text);
	return 0;
}
