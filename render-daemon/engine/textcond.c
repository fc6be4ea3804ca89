/* textcond.c - prompts through one text encoder or SDXL's two into the
 * UNet's context (and pooled vector), with A1111's windows and emphasis
 * applied to each encoder on its own. */
#include "textcond.h"
#include "util.h"

#include "prompt.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* An embedding as the encoders take it: its name tokenized, its vectors
 * for each encoder (n x that encoder's width). */
struct tc_emb {
	char *name;
	int32_t *ids;
	size_t len;
	int n;
	float *vec[TEXT_COND_MAX_ENC];
};

struct text_cond {
	struct kiln_rt *rt;
	const struct clip_tokenizer *tok;	/* borrowed; may be NULL */
	enum st_family family;
	int n;					/* encoders */
	struct clip_text_model *enc[TEXT_COND_MAX_ENC];
	int32_t pad[TEXT_COND_MAX_ENC];
	int off[TEXT_COND_MAX_ENC];		/* feature offsets */
	int D, P;
	int pooler;				/* encoder giving pooled, or -1 */
	enum ti_key tikey[TEXT_COND_MAX_ENC];	/* an embedding's vectors */
	struct tc_emb *emb;			/* text_cond_set_embeddings */
	int nemb;
};

/* The pad_token of a tokenizer folder's special_tokens_map.json as an id,
 * or fallback when there is none (or it is not in the vocabulary). */
static int32_t
folder_pad(const struct clip_tokenizer *tok, const char *vocab,
    int32_t fallback)
{
	json_object *o = NULL, *v, *c;
	const char *s = NULL;
	struct stat st;
	int32_t id = fallback;
	char path[PATH_MAX];
	int n;

	if (vocab == NULL || stat(vocab, &st) != 0 || !S_ISDIR(st.st_mode))
		return fallback;
	n = snprintf(path, sizeof(path), "%s/special_tokens_map.json", vocab);
	if (n < 0 || (size_t)n >= sizeof(path) || access(path, R_OK) != 0)
		return fallback;
	o = json_object_from_file(path);
	if (o != NULL && json_object_object_get_ex(o, "pad_token", &v)) {
		if (json_object_is_type(v, json_type_string))
			s = json_object_get_string(v);
		else if (json_object_object_get_ex(v, "content", &c))
			s = json_object_get_string(c);
		if (s != NULL && clip_tokenizer_lookup(tok, s) >= 0)
			id = clip_tokenizer_lookup(tok, s);
	}
	json_object_put(o);
	return id;
}

static void
clear_embeddings(struct text_cond *t)
{
	int j, i;

	for (j = 0; j < t->nemb; j++) {
		free(t->emb[j].name);
		free(t->emb[j].ids);
		for (i = 0; i < TEXT_COND_MAX_ENC; i++)
			free(t->emb[j].vec[i]);
	}
	free(t->emb);
	t->emb = NULL;
	t->nemb = 0;
}

void
text_cond_free(struct text_cond *t)
{
	int i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		clip_text_free(t->enc[i]);
	clear_embeddings(t);
	free(t);
}

int
text_cond_load(struct kiln_rt *rt, const struct st_model *m,
    const struct clip_tokenizer *tok, const char *vocab, int skip,
    struct text_cond **out, char *err, size_t errlen)
{
	static const enum st_part parts[TEXT_COND_MAX_ENC] = { ST_PART_TEXT,
	    ST_PART_TEXT2 };
	struct text_cond *t;
	int i;

	*out = NULL;
	if (!st_model_has_part(m, ST_PART_TEXT) &&
	    !st_model_has_part(m, ST_PART_TEXT2))
		return errf(err, errlen, "the model has no text encoder");
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return errf(err, errlen, "out of memory");
	t->rt = rt;
	t->tok = tok;
	t->family = st_model_family(m);
	t->pooler = -1;
	for (i = 0; i < TEXT_COND_MAX_ENC; i++) {
		struct clip_text_outputs o;
		const struct clip_text_config *c;
		struct clip_text_model *e;

		if (!st_model_has_part(m, parts[i]))
			continue;
		clip_text_outputs_default(m, parts[i], &o);
		if (skip >= 0)
			o.skip = skip;
		if (clip_text_load(rt, m, parts[i], &o, &e, err, errlen) != 0)
			goto bad;
		t->enc[t->n] = e;
		c = clip_text_config(e);
		/* A1111 hands SDXL's CLIP-L clip_l and bigG clip_g (the
		 * refiner's lone bigG too), any other encoder the one
		 * tensor. */
		t->tikey[t->n] = t->family != ST_FAMILY_SDXL ? TI_VECTORS :
		    parts[i] == ST_PART_TEXT ? TI_CLIP_L : TI_CLIP_G;
		t->off[t->n] = t->D;
		t->D += c->hidden;
		if (o.pooled) {
			t->pooler = t->n;
			t->P = c->projection;
		}
		/* A1111's OpenCLIP embedders (SD 2.x, SDXL's bigG) pad
		 * with 0 whatever the tokenizer says. */
		t->pad[t->n] = c->flavour == ST_TEXT_OPENCLIP ||
		    parts[i] == ST_PART_TEXT2 ? 0 : tok != NULL ?
		    folder_pad(tok, vocab, clip_tokenizer_eos(tok)) :
		    CLIP_EOS_ID;
		t->n++;
		if (tok == NULL)
			continue;
		if (clip_tokenizer_vocab_size(tok) > (size_t)c->vocab) {
			errf(err, errlen, "vocabulary %s has %zu ids but the "
			    "%s only %d", vocab ? vocab : "",
			    clip_tokenizer_vocab_size(tok), i == 0 ?
			    "text encoder" : "second text encoder", c->vocab);
			goto bad;
		}
		if (c->max_pos < CLIP_WINDOW) {
			errf(err, errlen, "text encoder has %d positions, "
			    "fewer than a %d-token window", c->max_pos,
			    CLIP_WINDOW);
			goto bad;
		}
	}
	*out = t;
	return 0;
bad:
	text_cond_free(t);
	return -1;
}

int
text_cond_width(const struct text_cond *t)
{
	return t->D;
}

int
text_cond_pooled_width(const struct text_cond *t)
{
	return t->P;
}

int
text_cond_encoders(const struct text_cond *t)
{
	return t->n;
}

const struct clip_text_model *
text_cond_encoder(const struct text_cond *t, int i)
{
	return i >= 0 && i < t->n ? t->enc[i] : NULL;
}

int
text_cond_offset(const struct text_cond *t, int i)
{
	return t->off[i];
}

int32_t
text_cond_pad(const struct text_cond *t, int i)
{
	return t->pad[i];
}

/* text_cond_encode_ids with fix[i] (NULL: none) of encoder i's input
 * replaced by embedding vectors. */
static int
encode_rows(struct text_cond *t, const int32_t *const *ids,
    const struct clip_rows *fix, int B, int L, float *ctx, float *pooled,
    char *err, size_t errlen)
{
	struct ktensor *z = NULL, *pl = NULL;
	float *tmp = NULL;
	size_t rows = (size_t)B * (size_t)L, r, De;
	int i, rc = -1;

	if (pooled != NULL && t->pooler < 0)
		return errf(err, errlen, "text encoder: the model has no "
		    "pooled output");
	for (i = 0; i < t->n; i++) {
		if (clip_text_encode_rows(t->enc[i], ids[i], B, L,
		    fix != NULL ? &fix[i] : NULL, &z,
		    pooled != NULL && i == t->pooler ? &pl : NULL) != 0) {
			errf(err, errlen, "%s: %s", i == 0 ? "text encoder" :
			    "second text encoder", rt_error(t->rt));
			goto out;
		}
		De = (size_t)clip_text_config(t->enc[i])->hidden;
		if (t->n == 1) {
			if (kt_download(z, ctx) != 0)
				goto dev;
		} else {
			/* Side by side on the features, as SGM's
			 * GeneralConditioner concatenates crossattn
			 * outputs. */
			tmp = malloc(kt_bytes(z));
			if (tmp == NULL) {
				errf(err, errlen, "out of memory");
				goto out;
			}
			if (kt_download(z, tmp) != 0)
				goto dev;
			for (r = 0; r < rows; r++)
				memcpy(ctx + r * (size_t)t->D +
				    (size_t)t->off[i], tmp + r * De,
				    De * sizeof(*tmp));
			free(tmp);
			tmp = NULL;
		}
		if (pl != NULL && kt_download(pl, pooled) != 0)
			goto dev;
		kt_free(z);
		kt_free(pl);
		z = pl = NULL;
	}
	rc = 0;
	goto out;
dev:
	errf(err, errlen, "text encoder: %s", rt_error(t->rt));
out:
	free(tmp);
	kt_free(z);
	kt_free(pl);
	return rc;
}

int
text_cond_encode_ids(struct text_cond *t, const int32_t *const *ids, int B,
    int L, float *ctx, float *pooled, char *err, size_t errlen)
{
	return encode_rows(t, ids, NULL, B, L, ctx, pooled, err, errlen);
}

/* Whether e fits encoder i; -1 with why not in err. */
static int
emb_fits(const struct text_cond *t, int i, const struct ti_embedding *e,
    char *err, size_t errlen)
{
	enum ti_key k = t->tikey[i];
	int w = clip_text_config(t->enc[i])->hidden;
	const char *enc = t->n == 1 ? "text encoder" : i == 0 ?
	    "first text encoder (CLIP-L)" : "second text encoder (bigG)";

	if (e->width[k] == w)
		return 0;
	if (k == TI_VECTORS && e->sdxl)
		return errf(err, errlen, "embedding %s (%s) is made for SDXL "
		    "(clip_l and clip_g); this %s model's text encoder takes "
		    "one tensor of %d-wide vectors", e->name, e->file,
		    st_family_name(t->family), w);
	if (k != TI_VECTORS && !e->sdxl) {
		if (e->tensor != NULL && (!strcmp(e->tensor, "clip_l") ||
		    !strcmp(e->tensor, "clip_g")))
			return errf(err, errlen, "embedding %s (%s) has %s but "
			    "no %s: an SDXL model needs both", e->name,
			    e->file, e->tensor, !strcmp(e->tensor, "clip_l") ?
			    "clip_g" : "clip_l");
		return errf(err, errlen, "embedding %s (%s) holds one tensor "
		    "of %d-wide vectors, an SD 1.x / 2.x embedding; an SDXL "
		    "model needs clip_l and clip_g", e->name, e->file,
		    e->width[TI_VECTORS]);
	}
	return errf(err, errlen, "embedding %s (%s): its %s%s are %d wide, "
	    "but this %s model's %s takes %d-wide vectors", e->name, e->file,
	    k == TI_VECTORS ? "" : ti_key_name(k), k == TI_VECTORS ?
	    "vectors" : " vectors", e->width[k], st_family_name(t->family),
	    enc, w);
}

int
text_cond_set_embeddings(struct text_cond *t,
    const struct ti_embedding *const *e, int n, char *err, size_t errlen)
{
	int i, j;

	clear_embeddings(t);
	if (n == 0)
		return 0;
	if (n < 0 || n > CLIP_TI_MAX_NAMES)
		return errf(err, errlen, "embeddings: %d of them, more than %d",
		    n, CLIP_TI_MAX_NAMES);
	if (t->tok == NULL)
		return errf(err, errlen, "embeddings: no vocabulary loaded to "
		    "find their names with");
	for (j = 0; j < n; j++) {
		if (e[j]->n < 1 || e[j]->n > CLIP_TI_MAX_VECTORS)
			return errf(err, errlen, "embedding %s (%s): %d "
			    "vectors (1 to %d fit a window)", e[j]->name,
			    e[j]->file, e[j]->n, CLIP_TI_MAX_VECTORS);
		for (i = 0; i < t->n; i++)
			if (emb_fits(t, i, e[j], err, errlen) != 0)
				return -1;
	}
	t->emb = calloc((size_t)n, sizeof(*t->emb));
	if (t->emb == NULL)
		return errf(err, errlen, "out of memory");
	t->nemb = n;
	for (j = 0; j < n; j++) {
		struct tc_emb *d = &t->emb[j];

		d->n = e[j]->n;
		d->name = strdup(e[j]->name);
		if (d->name == NULL || clip_tokenize(t->tok, e[j]->name,
		    strlen(e[j]->name), &d->ids, &d->len) != 0)
			goto oom;
		for (i = 0; i < t->n; i++) {
			enum ti_key k = t->tikey[i];
			size_t bytes = (size_t)e[j]->n *
			    (size_t)e[j]->width[k] * sizeof(float);

			d->vec[i] = malloc(bytes);
			if (d->vec[i] == NULL)
				goto oom;
			memcpy(d->vec[i], e[j]->vec[k], bytes);
		}
	}
	return 0;
oom:
	clear_embeddings(t);
	return errf(err, errlen, "out of memory");
}

void
text_cond_out_free(struct text_cond_out *o)
{
	if (o == NULL)
		return;
	free(o->ctx);
	free(o->pooled);
	memset(o, 0, sizeof(*o));
}

/* A1111's emphasis (sd_emphasis.EmphasisOriginal) on one window of one
 * encoder: the CLIP_WINDOW rows of width w at z, stride floats apart, are
 * multiplied by their token's weight and then scaled so that their mean
 * is what it was. Unweighted windows are left as they are (the scale
 * would be exactly 1). */
static void
emphasis(float *z, size_t stride, size_t w, const float *weights)
{
	double before = 0, after = 0;
	size_t t, k;
	int weighted = 0;

	for (t = 0; t < CLIP_WINDOW; t++)
		weighted |= weights[t] != 1.0f;
	if (!weighted)
		return;
	for (t = 0; t < CLIP_WINDOW; t++) {
		float *row = z + t * stride;

		for (k = 0; k < w; k++) {
			before += row[k];
			row[k] *= weights[t];
			after += row[k];
		}
	}
	if (after == 0.0)
		return;
	for (t = 0; t < CLIP_WINDOW; t++) {
		float *row = z + t * stride;

		for (k = 0; k < w; k++)
			row[k] = (float)(row[k] * (before / after));
	}
}

/* The embedding rows of encoder i's input: ch[p * encoders + i] holds
 * prompt p's windows, W a prompt, rows of them in all (prompts short of
 * W windows are filled with the empty prompt's, which name nothing).
 * Fills *f with malloc'd *at and *v. Returns 0, or -1 out of memory. */
static int
emb_rows(const struct text_cond *t, int i, const struct clip_chunks *ch,
    size_t W, size_t rows, struct clip_rows *f, size_t **at, float **v)
{
	size_t D = (size_t)clip_text_config(t->enc[i])->hidden, r, l, m = 0;

	for (r = 0; r < rows; r++) {
		const struct clip_chunks *c = &ch[r / W * (size_t)t->n + i];

		for (l = 0; r % W < c->n && l < CLIP_WINDOW; l++)
			m += c->v[r % W].emb[l] >= 0;
	}
	if (m == 0)
		return 0;
	*at = malloc(m * sizeof(**at));
	*v = malloc(m * D * sizeof(**v));
	if (*at == NULL || *v == NULL)
		return -1;
	m = 0;
	for (r = 0; r < rows; r++) {
		const struct clip_chunks *c = &ch[r / W * (size_t)t->n + i];

		for (l = 0; r % W < c->n && l < CLIP_WINDOW; l++) {
			const struct clip_chunk *w = &c->v[r % W];

			if (w->emb[l] < 0)
				continue;
			(*at)[m] = r * CLIP_WINDOW + l;
			memcpy(*v + m * D, t->emb[w->emb[l]].vec[i] +
			    (size_t)w->emb_row[l] * D, D * sizeof(**v));
			m++;
		}
	}
	f->at = *at;
	f->v = *v;
	f->n = m;
	return 0;
}

int
text_cond_prompts(struct text_cond *t, const char *const *prompts, int n,
    struct text_cond_out *out, char *err, size_t errlen)
{
	struct clip_chunks *ch = NULL, empty[TEXT_COND_MAX_ENC];
	int32_t *ids[TEXT_COND_MAX_ENC] = { NULL, NULL };
	struct clip_rows fix[TEXT_COND_MAX_ENC];
	size_t *fat[TEXT_COND_MAX_ENC] = { NULL, NULL };
	float *fv[TEXT_COND_MAX_ENC] = { NULL, NULL };
	struct clip_ti_name *names = NULL;
	float *pooled = NULL, *ctx = NULL;
	size_t W = 0, rows, r, k;
	int i, p, rc = -1;

	memset(out, 0, sizeof(*out));
	memset(empty, 0, sizeof(empty));
	if (t->tok == NULL)
		return errf(err, errlen, "text encoder: no vocabulary loaded");
	if (n < 1)
		return errf(err, errlen, "prompt: none given");
	/* ch[p * n_enc + i]: prompt p's windows for encoder i. */
	memset(fix, 0, sizeof(fix));
	ch = calloc((size_t)n * (size_t)t->n, sizeof(*ch));
	if (ch == NULL)
		return errf(err, errlen, "out of memory");
	if (t->nemb > 0) {
		names = calloc((size_t)t->nemb, sizeof(*names));
		if (names == NULL) {
			errf(err, errlen, "out of memory");
			goto out;
		}
		for (p = 0; p < t->nemb; p++) {
			names[p].ids = t->emb[p].ids;
			names[p].len = t->emb[p].len;
			names[p].vectors = t->emb[p].n;
		}
	}
	for (i = 0; i < t->n; i++) {
		if (clip_encode_prompt(t->tok, "", t->pad[i], &empty[i], err,
		    errlen) != 0)
			goto out;
		for (p = 0; p < n; p++) {
			struct clip_chunks *c = &ch[p * t->n + i];

			if (clip_encode_prompt_ti(t->tok, prompts[p],
			    t->pad[i], names, t->nemb, c, err, errlen) != 0)
				goto out;
			/* The padding differs after the end id only: every
			 * encoder gets the same windows. */
			if (c->n != ch[p * t->n].n) {
				errf(err, errlen, "prompt: the encoders' "
				    "windows disagree");
				goto out;
			}
			if (c->n > W)
				W = c->n;
		}
	}
	if (W > (size_t)INT_MAX / CLIP_WINDOW / (size_t)n) {
		errf(err, errlen, "prompt: too long");
		goto out;
	}
	rows = (size_t)n * W;
	for (i = 0; i < t->n; i++) {
		ids[i] = malloc(rows * CLIP_WINDOW * sizeof(*ids[i]));
		if (ids[i] == NULL) {
			errf(err, errlen, "out of memory");
			goto out;
		}
		for (r = 0; r < rows; r++) {
			const struct clip_chunks *c = &ch[r / W * t->n + i];
			const struct clip_chunk *w = r % W < c->n ?
			    &c->v[r % W] : &empty[i].v[0];

			memcpy(ids[i] + r * CLIP_WINDOW, w->ids,
			    sizeof(w->ids));
		}
		if (t->nemb > 0 && emb_rows(t, i, ch, W, rows, &fix[i],
		    &fat[i], &fv[i]) != 0) {
			errf(err, errlen, "out of memory");
			goto out;
		}
	}
	ctx = malloc(rows * CLIP_WINDOW * (size_t)t->D * sizeof(*ctx));
	if (t->P > 0)
		pooled = malloc(rows * (size_t)t->P * sizeof(*pooled));
	if (ctx == NULL || (t->P > 0 && pooled == NULL)) {
		errf(err, errlen, "out of memory");
		goto out;
	}
	if (encode_rows(t, (const int32_t *const *)ids, fix, (int)rows,
	    CLIP_WINDOW, ctx, pooled, err, errlen) != 0)
		goto out;
	for (r = 0; r < rows; r++)
		for (i = 0; i < t->n; i++) {
			const struct clip_chunks *c = &ch[r / W * t->n + i];

			/* Empty-prompt pads weigh 1. */
			if (r % W < c->n)
				emphasis(ctx + r * CLIP_WINDOW * (size_t)t->D +
				    (size_t)t->off[i], (size_t)t->D,
				    (size_t)clip_text_config(t->enc[i])->hidden,
				    c->v[r % W].weights);
		}
	/* The first window's pooled vector of each prompt, in place. */
	for (p = 0; t->P > 0 && p < n; p++)
		for (k = 0; k < (size_t)t->P; k++)
			pooled[(size_t)p * (size_t)t->P + k] =
			    pooled[(size_t)p * W * (size_t)t->P + k];
	out->n = n;
	out->L = (int)(W * CLIP_WINDOW);
	out->D = t->D;
	out->P = t->P;
	out->ctx = ctx;
	out->pooled = pooled;
	ctx = pooled = NULL;
	rc = 0;
out:
	for (i = 0; i < t->n; i++) {
		free(ids[i]);
		free(fat[i]);
		free(fv[i]);
		clip_chunks_free(&empty[i]);
	}
	free(names);
	for (k = 0; ch != NULL && k < (size_t)n * (size_t)t->n; k++)
		clip_chunks_free(&ch[k]);
	free(ch);
	free(ctx);
	free(pooled);
	return rc;
}

int
text_cond_guidance(struct text_cond *t, const char *prompt,
    const char *negative, struct text_cond_out *out, char *err,
    size_t errlen)
{
	const char *pair[2];
	int zero;

	if (negative == NULL)
		negative = "";
	zero = t->family == ST_FAMILY_SDXL && negative[0] == '\0';
	pair[0] = negative;
	pair[1] = prompt;
	if (text_cond_prompts(t, pair, 2, out, err, errlen) != 0)
		return -1;
	if (zero) {
		memset(out->ctx, 0, (size_t)out->L * (size_t)out->D *
		    sizeof(*out->ctx));
		if (out->pooled != NULL)
			memset(out->pooled, 0, (size_t)out->P *
			    sizeof(*out->pooled));
	}
	return 0;
}
