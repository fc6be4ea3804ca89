/* cmd_encode.c - kiln-render encode-text: runs a model's CLIP text encoder
 * on token ids or a prompt and writes the embeddings as raw float32, for
 * tests and for checking a checkpoint by hand. */
#include "clip.h"
#include "commands.h"
#include "safetensors.h"
#include "tokenizer.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
usage(FILE *f)
{
	fprintf(f, "usage: kiln-render encode-text --model PATH "
		"(--ids \"1,2,3;4,5,6\" | --prompt TEXT --vocab PATH)\n"
		"         --out FILE [--skip N] [--device SEL] "
		"[--fail-each-alloc]\n"
		"Writes [B, L, hidden] float32 to FILE and its shape as JSON "
		"on stdout.\n");
}

/* Parses "1,2,3;4,5,6": sequences separated by ';', all the same length.
 * Returns 0 with a malloc'd *ids, or -1. */
static int
parse_ids(const char *s, int32_t **ids, int *B, int *L)
{
	size_t cap = 64, n = 0;
	int32_t *v = malloc(cap * sizeof(*v));
	int rows = 1, len = 0, cur = 0;
	char *end;

	if (v == NULL)
		return -1;
	while (*s != '\0') {
		long x;

		errno = 0;
		x = strtol(s, &end, 10);
		if (end == s || errno != 0 || x < 0 || x > INT32_MAX)
			goto bad;
		if (n == cap) {
			int32_t *nv = realloc(v, 2 * cap * sizeof(*v));

			if (nv == NULL)
				goto bad;
			v = nv;
			cap *= 2;
		}
		v[n++] = (int32_t)x;
		cur++;
		s = end;
		if (*s == ',') {
			s++;
		} else if (*s == ';' || *s == '\0') {
			if (rows == 1)
				len = cur;
			else if (cur != len)
				goto bad;
			cur = 0;
			if (*s == ';') {
				s++;
				rows++;
			}
		} else {
			goto bad;
		}
	}
	if (n == 0 || cur != 0)
		goto bad;
	*ids = v;
	*B = rows;
	*L = len;
	return 0;
bad:
	free(v);
	return -1;
}

/* One context window the way SD pipelines build it: start, up to
 * max_pos - 2 tokens, end, then padding (the end token for transformers'
 * CLIP, 0 for OpenCLIP). */
static int
window(const struct clip_tokenizer *tok, const char *prompt, int max_pos,
	int pad, int32_t **ids, int *L)
{
	int32_t *raw = NULL, *w;
	size_t n = 0, i, keep;

	if (clip_tokenize(tok, prompt, strlen(prompt), &raw, &n) != 0)
		return -1;
	w = malloc((size_t)max_pos * sizeof(*w));
	if (w == NULL) {
		free(raw);
		return -1;
	}
	keep = n < (size_t)max_pos - 2 ? n : (size_t)max_pos - 2;
	w[0] = clip_tokenizer_bos(tok);
	for (i = 0; i < keep; i++)
		w[1 + i] = raw[i];
	w[1 + keep] = clip_tokenizer_eos(tok);
	for (i = keep + 2; i < (size_t)max_pos; i++)
		w[i] = pad;
	free(raw);
	*ids = w;
	*L = max_pos;
	return 0;
}

/* One encoding for walk_alloc_failures. */
struct encoding {
	struct clip_text_model *clip;
	const int32_t *ids;
	int B, L;
};

static int
encode_once(void *arg)
{
	struct encoding *e = arg;
	struct ktensor *emb = NULL;
	int rc = clip_text_encode(e->clip, e->ids, e->B, e->L, &emb, NULL);

	kt_free(emb);
	return rc;
}

int
cmd_encode_text(int argc, char **argv)
{
	const char *model = NULL, *idstr = NULL, *prompt = NULL, *vocab = NULL,
		*outp = NULL, *device = NULL;
	struct clip_tokenizer *tok = NULL;
	struct clip_text_model *clip = NULL;
	struct clip_text_outputs outs;
	struct st_model *m = NULL;
	struct kiln_rt *rt = NULL;
	struct ktensor *emb = NULL;
	int32_t *ids = NULL;
	float *host = NULL;
	char err[1024];
	int skip = -1, B = 1, L = 0, i, rc = 1, walk = 0;
	FILE *f;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--fail-each-alloc")) {
			walk = 1;
			continue;
		}
		if (v == NULL) {
			usage(stderr);
			return 2;
		}
		if (!strcmp(a, "--model"))
			model = v;
		else if (!strcmp(a, "--ids"))
			idstr = v;
		else if (!strcmp(a, "--prompt"))
			prompt = v;
		else if (!strcmp(a, "--vocab"))
			vocab = v;
		else if (!strcmp(a, "--out"))
			outp = v;
		else if (!strcmp(a, "--device"))
			device = v;
		else if (!strcmp(a, "--skip"))
			skip = atoi(v);
		else {
			usage(stderr);
			return 2;
		}
		i++;
	}
	if (model == NULL || outp == NULL || (idstr == NULL) ==
	    (prompt == NULL) || (prompt != NULL && vocab == NULL)) {
		usage(stderr);
		return 2;
	}
	if (idstr != NULL && parse_ids(idstr, &ids, &B, &L) != 0) {
		fprintf(stderr, "kiln-render encode-text: --ids: expected "
			"comma-separated ids, sequences of equal length "
			"separated by ';'\n");
		return 2;
	}
	m = st_model_open(model, err, sizeof(err));
	if (m == NULL) {
		fprintf(stderr, "kiln-render encode-text: %s\n", err);
		goto out;
	}
	clip_text_outputs_default(m, ST_PART_TEXT, &outs);
	if (skip >= 0)
		outs.skip = skip;
	if (cli_rt_open(&rt, device, err, sizeof(err)) != 0 ||
	    clip_text_load(rt, m, ST_PART_TEXT, &outs, &clip, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render encode-text: %s\n", err);
		goto out;
	}
	if (prompt != NULL) {
		const struct clip_text_config *cfg = clip_text_config(clip);

		tok = clip_tokenizer_load(vocab, err, sizeof(err));
		if (tok == NULL) {
			fprintf(stderr, "kiln-render encode-text: %s\n", err);
			goto out;
		}
		if (window(tok, prompt, cfg->max_pos,
		    cfg->flavour == ST_TEXT_OPENCLIP ? 0 :
		    clip_tokenizer_eos(tok), &ids, &L) != 0) {
			fprintf(stderr, "kiln-render encode-text: out of "
				"memory\n");
			goto out;
		}
	}
	if (walk && walk_alloc_failures(rt, "encode-text", encode_once,
	    &(struct encoding){ clip, ids, B, L }) < 0)
		goto out;
	if (clip_text_encode(clip, ids, B, L, &emb, NULL) != 0) {
		fprintf(stderr, "kiln-render encode-text: %s\n", rt_error(rt));
		goto out;
	}
	host = malloc(kt_bytes(emb));
	if (host == NULL || kt_download(emb, host) != 0) {
		fprintf(stderr, "kiln-render encode-text: %s\n",
			host ? rt_error(rt) : "out of memory");
		goto out;
	}
	f = fopen(outp, "wb");
	if (f == NULL || fwrite(host, 1, kt_bytes(emb), f) != kt_bytes(emb)) {
		fprintf(stderr, "kiln-render encode-text: %s: write failed\n",
			outp);
		if (f != NULL)
			fclose(f);
		goto out;
	}
	if (fclose(f) != 0) {
		fprintf(stderr, "kiln-render encode-text: %s: write failed\n",
			outp);
		goto out;
	}
	printf("{\"shape\":[%d,%d,%d],\"layers_run\":%d,\"peak_bytes\":%zu}\n",
		B, L, clip_text_config(clip)->hidden,
		clip_text_config(clip)->layers - clip_text_outputs(clip)->skip,
		rt->peak_held);
	rc = 0;
out:
	free(host);
	free(ids);
	kt_free(emb);
	clip_text_free(clip);
	clip_tokenizer_free(tok);
	rt_free(rt);
	st_model_close(m);
	return rc;
}
