/* test_tokenizer.c - the CLIP tokenizer: vocabulary loading and its
 * errors, BPE on a small vocabulary written here, A1111 prompt weighting
 * and the 77-token windows; the real vocabulary when it is available. */
#include "../common/small_vocab.h"
#include "prompt.h"
#include "tap.h"
#include "tokenizer.h"
#include "util.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The public CLIP vocabulary kiln ships (the tests run in the checkout). */
#define REAL_VOCAB "models/clip/bpe_simple_vocab_16e6.txt.gz"

/* The small vocabulary: the 256 byte symbols (ids 0..255), the same with
 * "</w>" (256..511), the merges below (512..), then the special tokens. */
static const char *const small_merges[] = {
	"c a", "ca t</w>", "d o", "do g</w>",
};
#define ID_CA 512
#define ID_CAT 513
#define ID_DOG 515
#define ID_BOS 516
#define ID_EOS 517

static int
write_text(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f == NULL)
		return -1;
	rc = fputs(text, f) < 0 ? -1 : 0;
	return fclose(f) != 0 ? -1 : rc;
}

/* The id of the single-byte symbol for c ("x" or "x</w>"). */
static int32_t
byte_id(unsigned char c, int end)
{
	uint32_t chr[256];
	int order[256], i;

	byte_chars(chr, order);
	for (i = 0; i < 256; i++)
		if (order[i] == c)
			return i + (end ? 256 : 0);
	return -1;
}

/* Loads the small vocabulary from a fresh temporary folder. */
static struct clip_tokenizer *
small_tokenizer(void)
{
	char dir[] = "/tmp/kiln-test-tok-XXXXXX", err[512] = "";
	struct clip_tokenizer *tok = NULL;

	if (mkdtemp(dir) == NULL)
		return NULL;
	if (write_small_vocab(dir, small_merges, ARRAY_LEN(small_merges)) == 0)
		tok = clip_tokenizer_load(dir, err, sizeof(err));
	if (tok == NULL)
		printf("# small vocabulary: %s\n", err);
	remove_dir(dir);
	return tok;
}

/* Tokenizes text and compares with want[0..n). */
static int
ids_are(const struct clip_tokenizer *tok, const char *text,
    const int32_t *want, size_t n)
{
	int32_t *ids = NULL;
	size_t got = 0, i;
	int ok;

	if (clip_tokenize(tok, text, strlen(text), &ids, &got) != 0)
		return 0;
	ok = got == n;
	for (i = 0; ok && i < n; i++)
		ok = ids[i] == want[i];
	if (!ok) {
		printf("# \"%s\" gave", text);
		for (i = 0; i < got; i++)
			printf(" %d", ids[i]);
		printf("\n");
	}
	free(ids);
	return ok;
}

static void
small_vocab_bpe(void)
{
	struct clip_tokenizer *tok = small_tokenizer();
	int32_t cat_dog[] = { ID_CAT, ID_DOG };
	int32_t cats[] = { ID_CA, byte_id('t', 0), byte_id('s', 1) };
	int32_t specials[] = { ID_BOS, byte_id('x', 1), ID_EOS };
	int32_t punct[] = { byte_id('!', 0), byte_id('?', 1) };

	CHECK(tok != NULL);
	if (tok == NULL)
		return;
	CHECK(clip_tokenizer_bos(tok) == ID_BOS);
	CHECK(clip_tokenizer_eos(tok) == ID_EOS);
	CHECK(clip_tokenizer_vocab_size(tok) == ID_EOS + 1);
	CHECK(clip_tokenizer_lookup(tok, ",</w>") == byte_id(',', 1));
	CHECK(clip_tokenizer_lookup(tok, "nope") == -1);
	CHECK(ids_are(tok, "  CAT\t\n dog  ", cat_dog, 2));
	CHECK(ids_are(tok, "cats", cats, 3));
	CHECK(ids_are(tok, "<|startoftext|>x<|ENDOFTEXT|>", specials, 3));
	CHECK(ids_are(tok, "!?", punct, 2));
	CHECK(ids_are(tok, "", NULL, 0));
	CHECK(ids_are(tok, " \t\r\n ", NULL, 0));
	/* Twice: the second answer comes from the word cache. */
	CHECK(ids_are(tok, "cat dog", cat_dog, 2));
	CHECK(ids_are(tok, "cat dog", cat_dog, 2));
	clip_tokenizer_free(tok);
	clip_tokenizer_free(NULL);
}

static void
invalid_utf8_becomes_replacement(void)
{
	struct clip_tokenizer *tok = small_tokenizer();
	/* "\xff" and "\xe2\x82" are one U+FFFD each (EF BF BD), then "a". */
	int32_t want[] = {
		byte_id(0xef, 0), byte_id(0xbf, 0), byte_id(0xbd, 0),
		byte_id(0xef, 0), byte_id(0xbf, 0), byte_id(0xbd, 1),
		byte_id('a', 1),
	};
	const char text[] = "\xff\xe2\x82" "a\0b";
	int32_t *ids = NULL;
	size_t n = 0;

	CHECK(tok != NULL);
	if (tok == NULL)
		return;
	CHECK(ids_are(tok, "\xff\xe2\x82" "a", want, ARRAY_LEN(want)));
	/* A NUL byte is a control character: cleaning drops it. */
	CHECK(clip_tokenize(tok, text, sizeof(text) - 1, &ids, &n) == 0);
	CHECK(n == ARRAY_LEN(want) + 1);	/* "ab" is one word */
	CHECK(n > 0 && ids[n - 1] == byte_id('b', 1));
	free(ids);
	clip_tokenizer_free(tok);
}

static void
text_cleaning(void)
{
	struct clip_tokenizer *tok = small_tokenizer();
	int32_t cat[] = { ID_CAT };
	int32_t amp[] = { byte_id('&', 1) };
	int32_t quote_s[] = { byte_id('i', 0), byte_id('t', 1),
	    byte_id('\'', 0), byte_id('s', 1) };
	int32_t fi[] = { byte_id('f', 0), byte_id('i', 1) };

	CHECK(tok != NULL);
	if (tok == NULL)
		return;
	/* HTML entities (up to three levels), full-width letters, curly
	 * quotes, ligatures, terminal escapes, upper case. */
	CHECK(ids_are(tok, "&#99;&#x61;t", cat, 1));
	CHECK(ids_are(tok, "&amp;amp;amp;", amp, 1));
	CHECK(ids_are(tok, "\xef\xbc\xa3\xef\xbc\xa1\xef\xbc\xb4", cat, 1));
	CHECK(ids_are(tok, "it\xe2\x80\x99s", quote_s, 4));
	CHECK(ids_are(tok, "\xef\xac\x81", fi, 2));
	CHECK(ids_are(tok, "\x1b[31mCAT\x1b[0m", cat, 1));
	clip_tokenizer_free(tok);
}

/* Writes one file into a fresh folder (plus a good merges.txt unless the
 * file is merges.txt) and returns the loader's message. */
static void
load_error(const char *name, const char *text, const char *want)
{
	char dir[] = "/tmp/kiln-test-tok-XXXXXX", err[512] = "";
	struct clip_tokenizer *tok;

	CHECK(mkdtemp(dir) != NULL);
	CHECK(write_small_vocab(dir, small_merges, ARRAY_LEN(small_merges)) == 0);
	CHECK(write_text(dir, name, text) == 0);
	tok = clip_tokenizer_load(dir, err, sizeof(err));
	CHECK(tok == NULL);
	clip_tokenizer_free(tok);
	if (strstr(err, want) == NULL || strstr(err, dir) == NULL) {
		printf("# message \"%s\" lacks \"%s\"\n", err, want);
		CHECK(!"message names the file and the problem");
	}
	remove_dir(dir);
}

static void
loader_errors(void)
{
	char dir[] = "/tmp/kiln-test-tok-XXXXXX", err[512] = "", path[600];

	CHECK(clip_tokenizer_load("/nonexistent/vocab", err,
	    sizeof(err)) == NULL);
	CHECK_STR(err, "/nonexistent/vocab: cannot open: No such file or "
	    "directory");

	load_error("vocab.json", "{\"a\": 0,", "vocab.json: not valid JSON");
	load_error("vocab.json", "[1, 2]", "vocab.json: expected a JSON "
	    "object");
	load_error("vocab.json", "{\"a\": \"x\"}", "vocab.json: the id of "
	    "'a' is not an integer");
	load_error("vocab.json", "{\"a\": 0, \"b\": 0}", "vocab.json: id 0 "
	    "is given to more than one token");
	load_error("vocab.json", "{\"a\": 0}", "merges.txt:2: token 'c' is "
	    "not in vocab.json");
	load_error("merges.txt", "#version: 0.2\nc a\nthree fields here\n",
	    "merges.txt:3: expected two symbols");
	load_error("merges.txt", "#version: 0.2\nc q\xc3\x84\n",
	    "merges.txt:2: token 'q\xc3\x84' is not in vocab.json");
	load_error("merges.txt", "#version: 0.2\n", "merges.txt: no merges");

	/* A folder with neither layout, and a file that is not a vocabulary. */
	CHECK(mkdtemp(dir) != NULL);
	CHECK(clip_tokenizer_load(dir, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "neither vocab.json + merges.txt nor "
	    "bpe_simple_vocab_16e6.txt.gz") != NULL);
	CHECK(write_text(dir, "vocab.json", "i n\n") == 0);
	snprintf(path, sizeof(path), "%s/vocab.json", dir);
	CHECK(clip_tokenizer_load(path, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "only 0 merges, expected 48894") != NULL);
	/* Only one of the two files: the missing one is named. */
	CHECK(unlink(path) == 0);
	CHECK(write_text(dir, "merges.txt", "#version: 0.2\nc a\n") == 0);
	CHECK(clip_tokenizer_load(dir, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "vocab.json: cannot open: No such file") != NULL);
	remove_dir(dir);

	/* A message too long for the buffer is cut visibly. */
	CHECK(clip_tokenizer_load("/nonexistent/a-rather-long-path", err,
	    12) == NULL);
	CHECK_STR(err, "/nonexis...");
}

/* Parses text and compares the pieces with texts/weights. */
static void
expect_pieces(const char *text, size_t n, const char *const *texts,
    const double *weights)
{
	struct prompt_pieces p;
	size_t i;

	CHECK(prompt_parse_attention(text, strlen(text), &p) == 0);
	CHECK(p.n == n);
	for (i = 0; i < n && i < p.n; i++) {
		CHECK_STR(p.v[i].text, texts[i]);
		CHECK(p.v[i].len == strlen(texts[i]));
		if (p.v[i].weight != weights[i])
			printf("# \"%s\" piece %zu weighs %.17g, want %.17g\n",
			    text, i, p.v[i].weight, weights[i]);
		CHECK(p.v[i].weight == weights[i]);
	}
	prompt_pieces_free(&p);
	prompt_pieces_free(&p);
}

static void
attention_a1111_examples(void)
{
	/* The doctests of A1111's parse_prompt_attention. */
	{
		const char *t[] = { "normal text" };
		const double w[] = { 1.0 };
		expect_pieces("normal text", 1, t, w);
	}
	{
		const char *t[] = { "an ", "important", " word" };
		const double w[] = { 1.0, 1.1, 1.0 };
		expect_pieces("an (important) word", 3, t, w);
	}
	{
		const char *t[] = { "unbalanced" };
		const double w[] = { 1.1 };
		expect_pieces("(unbalanced", 1, t, w);
	}
	{
		const char *t[] = { "(literal]" };
		const double w[] = { 1.0 };
		expect_pieces("\\(literal\\]", 1, t, w);
	}
	{
		const char *t[] = { "unnecessaryparens" };
		const double w[] = { 1.1 };
		expect_pieces("(unnecessary)(parens)", 1, t, w);
	}
	{
		const char *t[] = { "a ", "house", " ", "on", " a ", "hill",
		    ", sun, ", "sky", "." };
		const double w[] = { 1.0, 1.5730000000000004, 1.1, 1.0, 1.1,
		    0.55, 1.1, 1.4641000000000006, 1.1 };
		expect_pieces("a (((house:1.3)) [on] a (hill:0.5), sun, "
		    "(((sky))).", 9, t, w);
	}
}

static void
attention_edge_cases(void)
{
	{	/* The issue's example: 1.5, 1, 1/1.1, 1.1 * 1.1. */
		const char *t[] = { "a", " b ", "c", " ", "d" };
		const double w[] = { 1.5, 1.0, 1.0 / 1.1, 1.0,
		    1.1 * 1.1 };
		expect_pieces("(a:1.5) b [c] ((d))", 5, t, w);
	}
	{	/* Nesting multiplies; stray closers and ":" are text; a
		 * lone backslash vanishes; "\\" is one backslash. */
		const char *t[] = { "x", "y", "):] \\z:" };
		const double w[] = { 2.0 * 1.1, 1.0 / 1.1, 1.0 };
		expect_pieces("((x:2))[y]):] \\\\\\z:", 3, t, w);
	}
	{	/* A weight Python's float() refuses stays text; one in
		 * other digits (Arabic-Indic 1.5) counts. */
		const char *t[] = { "a:1.2.3)b", " ", "c" };
		const double w[] = { 1.1, 1.0, 1.5 };
		expect_pieces("(a:1.2.3)b) (c:\xd9\xa1.\xd9\xa5)", 3, t, w);
	}
	{	/* A weight with nothing open is text too. */
		const char *t[] = { "a:0.5)" };
		const double w[] = { 1.0 };
		expect_pieces("a:0.5)", 1, t, w);
	}
	{	/* Unclosed: round first, then square, to the end. */
		const char *t[] = { "a", "b" };
		const double w[] = { 1.0 / 1.1, 1.1 * (1.0 / 1.1) };
		expect_pieces("[a(b", 2, t, w);
	}
	{	/* Empty input: one empty piece. */
		const char *t[] = { "" };
		const double w[] = { 1.0 };
		expect_pieces("", 1, t, w);
	}
	{	/* BREAK as a whole word, with the spaces around it. */
		const char *t[] = { "a", "BREAK", "b xBREAK BREAKy" };
		const double w[] = { 1.0, -1.0, 1.0 };
		expect_pieces("a \t BREAK  b xBREAK BREAKy", 3, t, w);
	}
	{	/* Inside brackets A1111 weighs the marker: it is text. */
		struct prompt_pieces p;

		CHECK(prompt_parse_attention("a (BREAK) b", 11, &p) == 0);
		CHECK(p.n == 5);
		CHECK(p.n == 5 && !prompt_piece_is_break(&p.v[2]));
		CHECK(p.n == 5 && p.v[2].weight == -1.1);
		prompt_pieces_free(&p);
		CHECK(prompt_parse_attention("a BREAK b", 9, &p) == 0);
		CHECK(p.n == 3 && prompt_piece_is_break(&p.v[1]));
		prompt_pieces_free(&p);
	}
}

/* Checks one window: start, the content, end, then fill. */
static void
expect_window(const struct clip_chunk *c, const int32_t *ids,
    const float *w, size_t n, int32_t end, int32_t fill)
{
	size_t i;

	CHECK(c->ids[0] == ID_BOS && c->weights[0] == 1.0f);
	for (i = 0; i < n; i++) {
		CHECK(c->ids[1 + i] == ids[i]);
		CHECK(c->weights[1 + i] == w[i]);
	}
	if (n < CLIP_WINDOW_TOKENS + 1)
		CHECK(c->ids[1 + n] == end && c->weights[1 + n] == 1.0f);
	for (i = n + 2; i < CLIP_WINDOW; i++)
		CHECK(c->ids[i] == fill && c->weights[i] == 1.0f);
}

static void
windows_and_weights(void)
{
	struct clip_tokenizer *tok = small_tokenizer();
	struct clip_chunks ch = { 0 };
	int32_t ids[4];
	float w[4];
	char err[128];

	CHECK(tok != NULL);
	if (tok == NULL)
		return;
	CHECK(clip_encode_prompt(tok, "(a:1.5) b [c] ((d))", ID_EOS, &ch,
	    err, sizeof(err)) == 0);
	CHECK(ch.n == 1);
	ids[0] = byte_id('a', 1);
	ids[1] = byte_id('b', 1);
	ids[2] = byte_id('c', 1);
	ids[3] = byte_id('d', 1);
	w[0] = 1.5f;
	w[1] = 1.0f;
	w[2] = (float)(1.0 / 1.1);
	w[3] = (float)(1.1 * 1.1);
	if (ch.n == 1)
		expect_window(&ch.v[0], ids, w, 4, ID_EOS, ID_EOS);
	clip_chunks_free(&ch);
	clip_chunks_free(&ch);

	/* An empty prompt: one window, start then end then padding. */
	CHECK(clip_encode_prompt(tok, "", 0, &ch, err, sizeof(err)) == 0);
	CHECK(ch.n == 1);
	if (ch.n == 1)
		expect_window(&ch.v[0], NULL, NULL, 0, ID_EOS, 0);
	clip_chunks_free(&ch);
	CHECK(clip_encode_prompt(tok, "   ", ID_EOS, &ch, err,
	    sizeof(err)) == 0);
	CHECK(ch.n == 1);
	if (ch.n == 1)
		expect_window(&ch.v[0], NULL, NULL, 0, ID_EOS, ID_EOS);
	clip_chunks_free(&ch);
	clip_tokenizer_free(tok);
}

/* n copies of "a" separated by spaces. */
static void
repeat(char *buf, size_t size, const char *word, size_t n)
{
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		strncat(buf, word, size - strlen(buf) - 1);
		strncat(buf, " ", size - strlen(buf) - 1);
	}
}

static void
long_prompts_split(void)
{
	struct clip_tokenizer *tok = small_tokenizer();
	struct clip_chunks ch = { 0 };
	int32_t a = byte_id('a', 1), b = byte_id('b', 1), comma;
	int32_t ids[CLIP_WINDOW_TOKENS];
	float w[CLIP_WINDOW_TOKENS];
	char text[1024], err[128];
	size_t i;

	CHECK(tok != NULL);
	if (tok == NULL)
		return;
	comma = byte_id(',', 1);
	for (i = 0; i < CLIP_WINDOW_TOKENS; i++) {
		ids[i] = a;
		w[i] = 1.0f;
	}
	/* 100 tokens: 75 + 25; SD 2.x padding (0) after the end. */
	repeat(text, sizeof(text), "a", 100);
	CHECK(clip_encode_prompt(tok, text, 0, &ch, err, sizeof(err)) == 0);
	CHECK(ch.n == 2);
	if (ch.n == 2) {
		expect_window(&ch.v[0], ids, w, 75, ID_EOS, ID_EOS);
		CHECK(ch.v[0].ids[76] == ID_EOS);
		expect_window(&ch.v[1], ids, w, 25, ID_EOS, 0);
	}
	clip_chunks_free(&ch);

	/* Exactly 75 fit one window; 76 need two; 150 need two. */
	repeat(text, sizeof(text), "a", 75);
	CHECK(clip_encode_prompt(tok, text, ID_EOS, &ch, err,
	    sizeof(err)) == 0);
	CHECK(ch.n == 1);
	clip_chunks_free(&ch);
	repeat(text, sizeof(text), "a", 76);
	CHECK(clip_encode_prompt(tok, text, ID_EOS, &ch, err,
	    sizeof(err)) == 0);
	CHECK(ch.n == 2);
	if (ch.n == 2)
		expect_window(&ch.v[1], ids, w, 1, ID_EOS, ID_EOS);
	clip_chunks_free(&ch);
	repeat(text, sizeof(text), "a", 150);
	CHECK(clip_encode_prompt(tok, text, ID_EOS, &ch, err,
	    sizeof(err)) == 0);
	CHECK(ch.n == 2);
	clip_chunks_free(&ch);

	/* 70 a, a comma, 10 b: the window would fill 4 tokens after the
	 * comma, so it is cut after the comma and the b move on. */
	repeat(text, sizeof(text), "a", 70);
	strcat(text, ", ");
	repeat(text + strlen(text), sizeof(text) - strlen(text), "b", 10);
	CHECK(clip_encode_prompt(tok, text, ID_EOS, &ch, err,
	    sizeof(err)) == 0);
	CHECK(ch.n == 2);
	if (ch.n == 2) {
		ids[70] = comma;
		expect_window(&ch.v[0], ids, w, 71, ID_EOS, ID_EOS);
		for (i = 0; i < 10; i++)
			ids[i] = b;
		expect_window(&ch.v[1], ids, w, 10, ID_EOS, ID_EOS);
	}
	clip_chunks_free(&ch);

	/* A comma further back than 20 tokens does not move anything. */
	repeat(text, sizeof(text), "a", 50);
	strcat(text, ", ");
	repeat(text + strlen(text), sizeof(text) - strlen(text), "b", 30);
	CHECK(clip_encode_prompt(tok, text, ID_EOS, &ch, err,
	    sizeof(err)) == 0);
	CHECK(ch.n == 2);
	if (ch.n == 2) {
		CHECK(ch.v[0].ids[51] == comma);
		CHECK(ch.v[0].ids[75] == b && ch.v[0].ids[76] == ID_EOS);
		CHECK(ch.v[1].ids[6] == b && ch.v[1].ids[7] == ID_EOS);
	}
	clip_chunks_free(&ch);

	/* BREAK closes the window; two in a row leave an empty one. */
	CHECK(clip_encode_prompt(tok, "a BREAK BREAK b", 0, &ch, err,
	    sizeof(err)) == 0);
	CHECK(ch.n == 3);
	if (ch.n == 3) {
		ids[0] = a;
		expect_window(&ch.v[0], ids, w, 1, ID_EOS, 0);
		expect_window(&ch.v[1], NULL, NULL, 0, ID_EOS, 0);
		ids[0] = b;
		expect_window(&ch.v[2], ids, w, 1, ID_EOS, 0);
	}
	clip_chunks_free(&ch);
	clip_tokenizer_free(tok);
}

/* Textual-inversion names: slots of id 0 with the piece's weight, the
 * longest name first, windows closed before an embedding that does not
 * fit, slots moving with a comma cut; which names a prompt uses. */
static void
embedding_slots(void)
{
	struct clip_tokenizer *tok = small_tokenizer();
	struct clip_chunks ch = { 0 };
	int32_t a = byte_id('a', 1), b = byte_id('b', 1), cat = ID_CAT;
	int32_t dog = ID_DOG, ab[2], comma_id = byte_id(',', 1);
	struct clip_ti_name nm[3];
	const char *names[] = { "a b", "a", "dog", "zzz" };
	unsigned char used[4];
	char text[1024], err[128];
	size_t i;

	CHECK(tok != NULL);
	if (tok == NULL)
		return;
	ab[0] = a;
	ab[1] = b;
	nm[0] = (struct clip_ti_name){ &cat, 1, 3 };
	nm[1] = (struct clip_ti_name){ &dog, 1, 2 };
	nm[2] = (struct clip_ti_name){ ab, 2, 1 };
	CHECK(clip_encode_prompt_ti(tok, "a cat dog (cat:1.5) a b", ID_EOS, nm,
	    3, &ch, err, sizeof(err)) == 0);
	CHECK(ch.n == 1);
	if (ch.n == 1) {
		const struct clip_chunk *c = &ch.v[0];
		static const int emb[] = { -1, -1, 0, 0, 0, 1, 1, 0, 0, 0, 2,
		    -1 };
		static const int row[] = { 0, 0, 0, 1, 2, 0, 1, 0, 1, 2, 0, 0 };

		CHECK(c->ids[1] == a && c->ids[11] == ID_EOS);
		for (i = 0; i < ARRAY_LEN(emb); i++) {
			CHECK(c->emb[i] == emb[i] && c->emb_row[i] == row[i]);
			if (emb[i] >= 0)
				CHECK(c->ids[i] == 0);
		}
		CHECK(c->weights[4] == 1.0f && c->weights[7] == 1.5f &&
		    c->weights[9] == 1.5f && c->weights[10] == 1.0f);
		CHECK(c->emb[76] == -1);
	}
	clip_chunks_free(&ch);

	/* 73 tokens, then 3 slots: they open the next window. */
	repeat(text, sizeof(text), "b", 73);
	strcat(text, "cat");
	CHECK(clip_encode_prompt_ti(tok, text, ID_EOS, nm, 3, &ch, err,
	    sizeof(err)) == 0);
	CHECK(ch.n == 2);
	if (ch.n == 2) {
		CHECK(ch.v[0].ids[73] == b && ch.v[0].ids[74] == ID_EOS &&
		    ch.v[0].emb[74] == -1);
		CHECK(ch.v[1].emb[1] == 0 && ch.v[1].emb_row[3] == 2 &&
		    ch.v[1].ids[4] == ID_EOS);
	}
	clip_chunks_free(&ch);

	/* 60 b, a comma, 10 b, cat's 3 slots, 2 b: the window fills 15
	 * after the comma; everything after it, slots too, moves on. */
	repeat(text, sizeof(text), "b", 60);
	strcat(text, ", ");
	repeat(text + strlen(text), sizeof(text) - strlen(text), "b", 10);
	strcat(text, "cat b b");
	CHECK(clip_encode_prompt_ti(tok, text, ID_EOS, nm, 3, &ch, err,
	    sizeof(err)) == 0);
	CHECK(ch.n == 2);
	if (ch.n == 2) {
		CHECK(ch.v[0].ids[61] == byte_id(',', 1) &&
		    ch.v[0].ids[62] == ID_EOS);
		for (i = 0; i < CLIP_WINDOW; i++)
			CHECK(ch.v[0].emb[i] == -1);
		CHECK(ch.v[1].ids[10] == b && ch.v[1].emb[11] == 0 &&
		    ch.v[1].emb_row[13] == 2 && ch.v[1].ids[13] == 0 &&
		    ch.v[1].ids[15] == b && ch.v[1].ids[16] == ID_EOS);
	}
	clip_chunks_free(&ch);

	/* A name that is a comma is no comma to cut after: its two slots
	 * stay together (fuzz_tokenizer found them split). */
	nm[1] = (struct clip_ti_name){ &comma_id, 1, 2 };
	repeat(text, sizeof(text), "b", 70);
	strcat(text, ", b b b b");
	CHECK(clip_encode_prompt_ti(tok, text, ID_EOS, nm, 3, &ch, err,
	    sizeof(err)) == 0);
	CHECK(ch.n == 2);
	if (ch.n == 2) {
		CHECK(ch.v[0].emb[71] == 1 && ch.v[0].emb_row[72] == 1 &&
		    ch.v[0].ids[75] == b);
		CHECK(ch.v[1].ids[1] == b && ch.v[1].ids[2] == ID_EOS);
	}
	clip_chunks_free(&ch);

	/* What cannot be a window's slots is refused. */
	nm[0].vectors = CLIP_TI_MAX_VECTORS + 1;
	CHECK(clip_encode_prompt_ti(tok, "cat", ID_EOS, nm, 3, &ch, err,
	    sizeof(err)) == -1 && ch.n == 0);
	nm[0].vectors = 0;
	CHECK(clip_encode_prompt_ti(tok, "cat", ID_EOS, nm, 3, &ch, err,
	    sizeof(err)) == -1);

	/* "a b" is used, so "a" is not; dog is; zzz is nowhere. */
	CHECK(clip_prompt_uses(tok, "x a b (dog)", names, 4, used, err,
	    sizeof(err)) == 0);
	CHECK(used[0] == 1 && used[1] == 0 && used[2] == 1 && used[3] == 0);
	CHECK(clip_prompt_uses(tok, "a a", names, 4, used, err,
	    sizeof(err)) == 0);
	CHECK(used[0] == 0 && used[1] == 1);
	clip_tokenizer_free(tok);
}

struct thread_arg {
	const struct clip_tokenizer *tok;
	int ok;
};

static void *
tokenize_many(void *p)
{
	struct thread_arg *a = p;
	int32_t want[] = { ID_CAT, ID_DOG, ID_CA, byte_id('t', 0),
	    byte_id('s', 1) };
	int i;

	a->ok = 1;
	for (i = 0; i < 300; i++)
		if (!ids_are(a->tok, "cat dog cats", want, ARRAY_LEN(want)))
			a->ok = 0;
	return NULL;
}

static void
threads_share_one_tokenizer(void)
{
	struct clip_tokenizer *tok = small_tokenizer();
	struct thread_arg args[4];
	pthread_t th[4];
	int i;

	CHECK(tok != NULL);
	if (tok == NULL)
		return;
	for (i = 0; i < 4; i++) {
		args[i].tok = tok;
		CHECK(pthread_create(&th[i], NULL, tokenize_many,
		    &args[i]) == 0);
	}
	for (i = 0; i < 4; i++) {
		CHECK(pthread_join(th[i], NULL) == 0);
		CHECK(args[i].ok);
	}
	clip_tokenizer_free(tok);
}

static void
real_vocabulary(void)
{
	struct clip_tokenizer *tok;
	struct clip_chunks ch = { 0 };
	struct stat st;
	char err[512];
	int32_t horse[] = { 320, 8853, 539, 550, 18376, 6765, 320, 4558 };

	CHECK(stat(REAL_VOCAB, &st) == 0);
	if (stat(REAL_VOCAB, &st) != 0) {
		printf("# %s absent\n", REAL_VOCAB);
		return;
	}
	tok = clip_tokenizer_load(REAL_VOCAB, err, sizeof(err));
	CHECK(tok != NULL);
	if (tok == NULL) {
		printf("# %s\n", err);
		return;
	}
	CHECK(clip_tokenizer_bos(tok) == CLIP_BOS_ID);
	CHECK(clip_tokenizer_eos(tok) == CLIP_EOS_ID);
	CHECK(clip_tokenizer_vocab_size(tok) == 49408);
	CHECK(ids_are(tok, "a photograph of an astronaut riding a horse",
	    horse, ARRAY_LEN(horse)));
	CHECK(clip_encode_prompt(tok, "(a:1.5) b [c] ((d))", 0, &ch, err,
	    sizeof(err)) == 0);
	CHECK(ch.n == 1);
	if (ch.n == 1) {
		CHECK(ch.v[0].ids[0] == CLIP_BOS_ID);
		CHECK(ch.v[0].ids[1] == 320 && ch.v[0].weights[1] == 1.5f);
		CHECK(ch.v[0].weights[2] == 1.0f);
		CHECK(ch.v[0].weights[3] == (float)(1.0 / 1.1));
		CHECK(ch.v[0].weights[4] == (float)(1.1 * 1.1));
		CHECK(ch.v[0].ids[5] == CLIP_EOS_ID && ch.v[0].ids[6] == 0);
	}
	clip_chunks_free(&ch);
	clip_tokenizer_free(tok);
}

/* A1111's re.sub(r"<(\w+):([^>]+)>", "", prompt) on each case. */
static void
extra_network_tags(void)
{
	static const struct {
		const char *in, *want;
	} c[] = {
		{ "a cat <lora:x:0.8>, red", "a cat , red" },
		{ "<lora:a:1><lyco:b:0.5>x", "x" },
		{ "(<lora:tiny-peft>:1.1)", "(:1.1)" },
		{ "<hypernet:h:1> <foo_2:bar>", " " },
		{ "a <b> c", "a <b> c" },
		{ "a <:x> c", "a <:x> c" },
		{ "a <lora:> b", "a <lora:> b" },
		{ "a <lora:x b", "a <lora:x b" },
		{ "<<lora:x>", "<" },
		{ "<lora:a<b>c", "c" },
		{ "<lora:a\nb>c", "c" },
		{ "<l-x:a>", "<l-x:a>" },
		{ "<\xe3\x83\xad\xe3\x83\xa9:x>y", "y" },
		{ "<\xff:x>y", "<\xff:x>y" },
		{ "", "" },
		{ "<", "<" },
	};
	size_t i;
	char *got;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		got = prompt_strip_extra_networks(c[i].in);
		CHECK_STR(got, c[i].want);
		free(got);
	}
}

int
main(void)
{
	RUN(small_vocab_bpe);
	RUN(invalid_utf8_becomes_replacement);
	RUN(text_cleaning);
	RUN(loader_errors);
	RUN(attention_a1111_examples);
	RUN(attention_edge_cases);
	RUN(windows_and_weights);
	RUN(extra_network_tags);
	RUN(long_prompts_split);
	RUN(embedding_slots);
	RUN(threads_share_one_tokenizer);
	RUN(real_vocabulary);
	return tap_done();
}
