/* cmd_encode.c - kiln-render encode-text: runs a model's text encoder(s)
 * on token ids or a prompt and writes the context (and SDXL's pooled
 * vector) as raw float32, for tests and for checking a checkpoint by
 * hand. */
#include "commands.h"
#include "prompt.h"
#include "lora.h"
#include "safetensors.h"
#include "textcond.h"
#include "ti.h"
#include "tokenizer.h"
#include "util.h"
#include "weights.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
usage(FILE *f)
{
	fprintf(f, "usage: kiln-render encode-text --model PATH\n"
		"         (--ids \"1,2,3;4,5,6\" [--ids2 \"...\"] |\n"
		"          --prompt TEXT [--negative TEXT] --vocab PATH)\n"
		"         [--embedding FILE]... [--embeddings DIR]\n"
		"         --out FILE [--pooled FILE] [--skip N] "
		"[--device SEL] [--fail-each-alloc]\n"
		"         [--lora FILE[:WEIGHT[:UNET_WEIGHT]] ...]\n"
		"Writes the context [B, L, width] float32 to FILE (SDXL: both "
		"encoders'\nfeatures side by side), with --pooled the pooled "
		"output [B, P] (SDXL),\nand the shapes as JSON on stdout. --ids "
		"go to every encoder, --ids2 to the\nsecond instead. --prompt "
		"is conditioned as a render does it (A1111\nweighting, 77-token "
		"windows): [1, 77 x windows, width]; with --negative\nthe "
		"render's pair, the negative prompt first: [2, ...].\n"
		"--embedding FILE (a textual-inversion NAME.safetensors) "
		"stands in for NAME\nwherever the prompts say it; "
		"--embeddings DIR offers every such file in\nDIR, read when "
		"a prompt names it.\n");
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

/* One encoding for walk_alloc_failures. */
struct encoding {
	struct text_cond *tc;
	const int32_t *const *ids;
	int B, L;
	float *ctx, *pooled;
};

static int
encode_once(void *arg)
{
	struct encoding *e = arg;
	char err[256];

	return text_cond_encode_ids(e->tc, e->ids, e->B, e->L, e->ctx,
	    e->pooled, err, sizeof(err));
}

/* Writes n bytes to path. Returns 0, or -1 after saying why. */
static int
write_file(const char *path, const void *buf, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(buf, 1, n, f) != n) {
		fprintf(stderr, "kiln-render encode-text: %s: write failed\n",
			path);
		if (f != NULL)
			fclose(f);
		return -1;
	}
	if (fclose(f) != 0) {
		fprintf(stderr, "kiln-render encode-text: %s: write failed\n",
			path);
		return -1;
	}
	return 0;
}

/* The shapes and what each encoder gave, as JSON on stdout. */
static void
report(const struct text_cond *tc, const struct st_model *m, int B, int L,
	int pooled, size_t peak)
{
	int i, n = text_cond_encoders(tc);
	const struct clip_text_config *c0 =
		clip_text_config(text_cond_encoder(tc, 0));
	const struct clip_text_outputs *o0 =
		clip_text_outputs(text_cond_encoder(tc, 0));

	printf("{\"shape\":[%d,%d,%d],", B, L, text_cond_width(tc));
	if (pooled)
		printf("\"pooled_shape\":[%d,%d],", B,
			text_cond_pooled_width(tc));
	printf("\"family\":\"%s\",\"layers_run\":%d,\"encoders\":[",
		st_family_name(st_model_family(m)), c0->layers - o0->skip);
	for (i = 0; i < n; i++) {
		const struct clip_text_model *e = text_cond_encoder(tc, i);
		const struct clip_text_config *c = clip_text_config(e);
		const struct clip_text_outputs *o = clip_text_outputs(e);

		printf("%s{\"hidden\":%d,\"layers\":%d,\"heads\":%d,"
			"\"context_layer\":%d,\"final_norm\":%s,"
			"\"pooled\":%s,\"pad\":%d}", i ? "," : "", c->hidden,
			c->layers, c->heads, c->layers - o->skip,
			o->final_norm ? "true" : "false",
			o->pooled ? "true" : "false", text_cond_pad(tc, i));
	}
	printf("],\"peak_bytes\":%zu}\n", peak);
}

int
cmd_encode_text(int argc, char **argv)
{
	const char *model = NULL, *idstr = NULL, *idstr2 = NULL,
		*prompt = NULL, *negative = NULL, *vocab = NULL, *outp = NULL,
		*poolp = NULL, *device = NULL;
	struct clip_tokenizer *tok = NULL;
	struct text_cond *tc = NULL;
	struct cli_ti ti = {0};
	char *stripped = NULL;
	const struct ti_embedding *const *tis;
	const char *both[2];
	int nti;
	struct text_cond_out res = {0};
	struct st_model *m = NULL;
	struct kiln_rt *rt = NULL;
	struct lora_spec loras[CLI_LORAS_MAX];
	struct wt_registry *reg = NULL;
	struct lora_state *ls = NULL;
	int32_t *ids = NULL, *ids2 = NULL;
	const int32_t *encids[TEXT_COND_MAX_ENC];
	char err[1024];
	int skip = -1, B = 1, L = 0, B2, L2, i, rc = 1, walk = 0, nloras = 0;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--fail-each-alloc")) {
			walk = 1;
			continue;
		}
		if (v == NULL) {
			cli_loras_free(loras, nloras);
			usage(stderr);
			return 2;
		}
		if ((nti = cli_ti_arg(&ti, a, v)) != 0) {
			if (nti < 0) {
				cli_loras_free(loras, nloras);
				return 2;
			}
			i++;
			continue;
		}
		if (!strcmp(a, "--lora")) {
			if (cli_lora_arg("encode-text", v, loras,
			    &nloras) != 0) {
				cli_loras_free(loras, nloras);
				return 2;
			}
		} else if (!strcmp(a, "--model"))
			model = v;
		else if (!strcmp(a, "--ids"))
			idstr = v;
		else if (!strcmp(a, "--ids2"))
			idstr2 = v;
		else if (!strcmp(a, "--prompt"))
			prompt = v;
		else if (!strcmp(a, "--negative"))
			negative = v;
		else if (!strcmp(a, "--vocab"))
			vocab = v;
		else if (!strcmp(a, "--out"))
			outp = v;
		else if (!strcmp(a, "--pooled"))
			poolp = v;
		else if (!strcmp(a, "--device"))
			device = v;
		else if (!strcmp(a, "--skip"))
			skip = atoi(v);
		else {
			cli_loras_free(loras, nloras);
			usage(stderr);
			return 2;
		}
		i++;
	}
	if (model == NULL || outp == NULL || (idstr == NULL) ==
	    (prompt == NULL) || (prompt != NULL && vocab == NULL) ||
	    (idstr2 != NULL && idstr == NULL) ||
	    (negative != NULL && prompt == NULL) ||
	    ((ti.nfile > 0 || ti.dir != NULL) && prompt == NULL)) {
		cli_loras_free(loras, nloras);
		usage(stderr);
		return 2;
	}
	if ((idstr != NULL && parse_ids(idstr, &ids, &B, &L) != 0) ||
	    (idstr2 != NULL && (parse_ids(idstr2, &ids2, &B2, &L2) != 0 ||
	    B2 != B || L2 != L))) {
		fprintf(stderr, "kiln-render encode-text: --ids: expected "
			"comma-separated ids, sequences of equal length "
			"separated by ';' (--ids2 shaped as --ids)\n");
		free(ids);
		free(ids2);
		cli_loras_free(loras, nloras);
		return 2;
	}
	m = st_model_open(model, err, sizeof(err));
	if (m == NULL) {
		fprintf(stderr, "kiln-render encode-text: %s\n", err);
		goto out;
	}
	if (prompt != NULL) {
		/* What the encoder sees, as render's: <lora:...> tags name
		 * LoRAs (--lora merges them), not words. */
		stripped = prompt_strip_extra_networks(prompt);
		if (stripped == NULL) {
			fprintf(stderr, "kiln-render encode-text: out of "
			    "memory\n");
			goto out;
		}
		prompt = stripped;
		tok = clip_tokenizer_load(vocab, err, sizeof(err));
		if (tok == NULL) {
			fprintf(stderr, "kiln-render encode-text: %s\n", err);
			goto out;
		}
	}
	reg = wt_registry_new();
	if (reg == NULL) {
		fprintf(stderr, "kiln-render encode-text: out of memory\n");
		goto out;
	}
	if (cli_rt_open(&rt, device, err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render encode-text: %s\n", err);
		goto out;
	}
	/* The weights --lora patches are recorded as they load. */
	rt->weights = reg;
	if (text_cond_load(rt, m, tok, vocab, skip, &tc, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render encode-text: %s\n", err);
		goto out;
	}
	rt->weights = NULL;
	if (cli_loras_apply("encode-text", rt, m, reg, loras, nloras,
	    &ls) != 0)
		goto out;
	/* The embeddings the prompts name, each checked against the
	 * encoders. */
	both[0] = prompt;
	both[1] = negative;
	if (prompt != NULL && (cli_ti_load(&ti, err, sizeof(err)) != 0 ||
	    cli_ti_for(&ti, tok, both, negative != NULL ? 2 : 1, &tis, &nti,
	    err, sizeof(err)) != 0 ||
	    text_cond_set_embeddings(tc, tis, nti, err, sizeof(err)) != 0)) {
		fprintf(stderr, "kiln-render encode-text: %s\n", err);
		goto out;
	}
	if (poolp != NULL && text_cond_pooled_width(tc) == 0) {
		fprintf(stderr, "kiln-render encode-text: --pooled: the model "
			"(%s) has no pooled text output\n",
			st_family_name(st_model_family(m)));
		goto out;
	}
	if (prompt != NULL) {
		if ((negative != NULL ? text_cond_guidance(tc, prompt,
		    negative, &res, err, sizeof(err)) :
		    text_cond_prompts(tc, &prompt, 1, &res, err,
		    sizeof(err))) != 0) {
			fprintf(stderr, "kiln-render encode-text: %s\n", err);
			goto out;
		}
		B = res.n;
		L = res.L;
	} else {
		for (i = 0; i < TEXT_COND_MAX_ENC; i++)
			encids[i] = i > 0 && ids2 != NULL ? ids2 : ids;
		res.n = B;
		res.L = L;
		res.D = text_cond_width(tc);
		res.P = text_cond_pooled_width(tc);
		res.ctx = malloc((size_t)B * (size_t)L * (size_t)res.D *
			sizeof(float));
		res.pooled = res.P > 0 ? malloc((size_t)B * (size_t)res.P *
			sizeof(float)) : NULL;
		if (res.ctx == NULL || (res.P > 0 && res.pooled == NULL)) {
			fprintf(stderr, "kiln-render encode-text: out of "
				"memory\n");
			goto out;
		}
		if (walk && walk_alloc_failures(rt, "encode-text",
		    encode_once, &(struct encoding){ tc, encids, B, L,
		    res.ctx, res.pooled }) < 0)
			goto out;
		if (text_cond_encode_ids(tc, encids, B, L, res.ctx,
		    res.pooled, err, sizeof(err)) != 0) {
			fprintf(stderr, "kiln-render encode-text: %s\n", err);
			goto out;
		}
	}
	if (write_file(outp, res.ctx, (size_t)B * (size_t)L *
	    (size_t)res.D * sizeof(float)) != 0 ||
	    (poolp != NULL && write_file(poolp, res.pooled, (size_t)B *
	    (size_t)res.P * sizeof(float)) != 0))
		goto out;
	report(tc, m, B, L, poolp != NULL, rt->peak_held);
	rc = 0;
out:
	free(stripped);
	text_cond_out_free(&res);
	free(ids);
	free(ids2);
	lora_state_free(ls);
	text_cond_free(tc);
	wt_registry_free(reg);
	cli_ti_free(&ti);
	clip_tokenizer_free(tok);
	rt_free(rt);
	st_model_close(m);
	cli_loras_free(loras, nloras);
	return rc;
}
