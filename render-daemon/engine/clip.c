/* clip.c - CLIP text encoder: weights by canonical (transformers) name onto
 * the device, then embeddings -> transformer layers -> the chosen hidden
 * state (final layer norm or not) and the pooled, projected output. */
#include "clip.h"
#include "util.h"
#include "weights.h"

#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct clip_layer {
	struct ktensor *ln1_w, *ln1_b, *ln2_w, *ln2_b;
	struct ktensor *q_w, *q_b, *k_w, *k_b, *v_w, *v_b, *o_w, *o_b;
	struct ktensor *fc1_w, *fc1_b, *fc2_w, *fc2_b;
};

struct clip_text_model {
	struct kiln_rt *rt;
	struct clip_text_config cfg;
	struct clip_text_outputs out;
	int run;		/* layers run: all for the pooled output */
	struct ktensor *tok, *pos, *lnf_w, *lnf_b, *proj;
	struct clip_layer *layer;
};

/* The weights by their canonical (transformers CLIPTextModel) names:
 * dims are the width, the MLP's, the vocabulary, the positions and the
 * projection. */
enum { C_D, C_I, C_V, C_P, C_J };

/* Need bits: the final norm serves a normed context or the pooled output,
 * the projection the pooled output alone. */
enum { NEED_NORM = 1u, NEED_PROJ = 2u };

/* The embedding tables feed op_embed, which reads float32 only; the
 * layers' matrices only feed op_linear, so float16 may stay. */
#define M(nm, kd, f, d0, d1, nd, fl) { .name = (nm), .kind = (kd), \
	.off = offsetof(struct clip_text_model, f), .dim = { (d0), (d1) }, \
	.need = (nd), .flags = (fl) }
static const struct wdecl model_w[] = {
	M("text_model.embeddings.token_embedding.weight", WD_MAT, tok, C_V,
	    C_D, 0, WD_F32),
	M("text_model.embeddings.position_embedding.weight", WD_MAT, pos, C_P,
	    C_D, 0, WD_F32),
	M("text_model.final_layer_norm.weight", WD_VEC, lnf_w, C_D, 0,
	    NEED_NORM, 0),
	M("text_model.final_layer_norm.bias", WD_VEC, lnf_b, C_D, 0,
	    NEED_NORM, 0),
	M("text_projection.weight", WD_LINEAR, proj, C_J, C_D, NEED_PROJ, 0),
};
#undef M

/* Under "text_model.encoder.layers.N". */
#define L(nm, kd, f, d0, d1) WD(struct clip_layer, nm, kd, f, d0, d1)
static const struct wdecl layer_w[] = {
	L("layer_norm1.weight", WD_VEC, ln1_w, C_D, 0),
	L("layer_norm1.bias", WD_VEC, ln1_b, C_D, 0),
	L("layer_norm2.weight", WD_VEC, ln2_w, C_D, 0),
	L("layer_norm2.bias", WD_VEC, ln2_b, C_D, 0),
	L("self_attn.q_proj.weight", WD_LINEAR, q_w, C_D, C_D),
	L("self_attn.q_proj.bias", WD_VEC, q_b, C_D, 0),
	L("self_attn.k_proj.weight", WD_LINEAR, k_w, C_D, C_D),
	L("self_attn.k_proj.bias", WD_VEC, k_b, C_D, 0),
	L("self_attn.v_proj.weight", WD_LINEAR, v_w, C_D, C_D),
	L("self_attn.v_proj.bias", WD_VEC, v_b, C_D, 0),
	L("self_attn.out_proj.weight", WD_LINEAR, o_w, C_D, C_D),
	L("self_attn.out_proj.bias", WD_VEC, o_b, C_D, 0),
	L("mlp.fc1.weight", WD_LINEAR, fc1_w, C_I, C_D),
	L("mlp.fc1.bias", WD_VEC, fc1_b, C_I, 0),
	L("mlp.fc2.weight", WD_LINEAR, fc2_w, C_D, C_I),
	L("mlp.fc2.bias", WD_VEC, fc2_b, C_D, 0),
};
#undef L

/* Fills cfg from the shapes (always) and config.json (when present: it
 * decides the activation and epsilon, and must agree with the shapes). */
static int
configure(struct wloader *ld, struct clip_text_config *cfg)
{
	const struct st_entry *tok = wt_find(ld,
		"text_model.embeddings.token_embedding.weight", 0);
	const struct st_entry *pos = wt_find(ld,
		"text_model.embeddings.position_embedding.weight", 0);
	const struct st_entry *fc1 = wt_find(ld,
		"text_model.encoder.layers.0.mlp.fc1.weight", 0);
	const struct st_entry *proj = wt_find(ld, "text_projection.weight",
		0);
	const char *cj = st_model_config(ld->m, ld->part);
	int i;

	if (tok == NULL || tok->ndim != 2 || pos == NULL || pos->ndim != 2 ||
	    fc1 == NULL || fc1->ndim != 2)
		return errf(ld->err, ld->errlen, "%s: embeddings or layer 0 "
			"missing (text_model.embeddings.token_embedding."
			"weight)", ld->what);
	cfg->vocab = (int)tok->shape[0];
	cfg->hidden = (int)tok->shape[1];
	cfg->max_pos = (int)pos->shape[0];
	cfg->inter = (int)fc1->shape[0];
	/* SD 2.x single files carry a placeholder projection of another
	 * width: only a [P, hidden] one is taken. */
	cfg->projection = proj != NULL && proj->ndim == 2 &&
	    proj->shape[1] == cfg->hidden ? (int)proj->shape[0] : 0;
	for (i = 0; wt_find(ld, "text_model.encoder.layers.%d.layer_norm1."
	    "weight", i) != NULL; i++)
		;
	cfg->layers = i;
	/* CLIP ViT-L/14 and the OpenCLIP ViT-H/14 and bigG/14 text towers
	 * all use heads of 64 channels. */
	cfg->heads = cfg->hidden / 64 > 0 ? cfg->hidden / 64 : 1;
	cfg->eps = 1e-5f;
	/* OpenCLIP towers use GELU; so does SDXL's second encoder when a
	 * diffusers folder without config.json holds it under HF names. */
	cfg->act = cfg->flavour == ST_TEXT_OPENCLIP ||
	    ld->part == ST_PART_TEXT2 ? ACT_GELU : ACT_QUICK_GELU;
	if (cj != NULL) {
		json_object *o = json_tokener_parse(cj), *v;
		int h = 0, nl = 0, nh = 0, it = 0;

		if (o == NULL)
			return errf(ld->err, ld->errlen, "%s: config.json is "
				"not valid JSON", ld->what);
		if ((wt_config_int(o, "hidden_size", 0, &h) == 0 &&
		    h != cfg->hidden) ||
		    (wt_config_int(o, "num_hidden_layers", 0, &nl) == 0 &&
		    nl != cfg->layers) ||
		    (wt_config_int(o, "intermediate_size", 0, &it) == 0 &&
		    it != cfg->inter)) {
			json_object_put(o);
			return errf(ld->err, ld->errlen, "%s: config.json "
				"disagrees with the weights", ld->what);
		}
		if (wt_config_int(o, "num_attention_heads", 0, &nh) == 0 &&
		    nh > 0)
			cfg->heads = nh;
		if (json_object_object_get_ex(o, "hidden_act", &v)) {
			const char *a = json_object_get_string(v);

			if (!strcmp(a, "quick_gelu"))
				cfg->act = ACT_QUICK_GELU;
			else if (!strcmp(a, "gelu"))
				cfg->act = ACT_GELU;
			else {
				json_object_put(o);
				return errf(ld->err, ld->errlen, "%s: "
					"unsupported hidden_act %s", ld->what,
					a);
			}
		}
		if (json_object_object_get_ex(o, "layer_norm_eps", &v))
			cfg->eps = (float)json_object_get_double(v);
		json_object_put(o);
	}
	if (cfg->layers < 1 || cfg->hidden % cfg->heads != 0)
		return errf(ld->err, ld->errlen, "%s: %d layers, width %d, %d "
			"heads is not a usable shape", ld->what, cfg->layers,
			cfg->hidden, cfg->heads);
	return 0;
}

void
clip_text_free(struct clip_text_model *c)
{
	int i;

	if (c == NULL)
		return;
	for (i = 0; c->layer != NULL && i < c->cfg.layers; i++)
		wt_free_table(WT_TABLE(layer_w), &c->layer[i]);
	free(c->layer);
	wt_free_table(WT_TABLE(model_w), c);
	free(c);
}

void
clip_text_outputs_default(const struct st_model *m, enum st_part part,
	struct clip_text_outputs *o)
{
	memset(o, 0, sizeof(*o));
	if (st_model_family(m) == ST_FAMILY_SDXL) {
		/* SGM's embedders and diffusers' encode_prompt both take
		 * hidden_states[-2], unnormed; the pooled vector comes from
		 * bigG only. */
		o->skip = 1;
		o->pooled = part == ST_PART_TEXT2;
		return;
	}
	o->skip = st_model_part_flavour(m, part) == ST_TEXT_OPENCLIP ? 1 : 0;
	o->final_norm = 1;
}

int
clip_text_load(struct kiln_rt *rt, const struct st_model *m,
	enum st_part part, const struct clip_text_outputs *out,
	struct clip_text_model **model, char *err, size_t errlen)
{
	struct wloader ld = { rt, m, part, part == ST_PART_TEXT2 ?
		"second text encoder" : "text encoder", err, errlen, 1, NULL,
		0 };
	struct clip_text_model *c;
	int64_t dims[5];
	unsigned on;
	char p[64];
	int i;

	*model = NULL;
	if (part != ST_PART_TEXT && part != ST_PART_TEXT2)
		return errf(err, errlen, "text encoder: part %s is not one",
			st_part_name(part));
	if (!st_model_has_part(m, part))
		return errf(err, errlen, "the model has no %s", ld.what);
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return errf(err, errlen, "out of memory");
	c->rt = rt;
	c->cfg.flavour = st_model_part_flavour(m, part);
	if (out != NULL)
		c->out = *out;
	else
		clip_text_outputs_default(m, part, &c->out);
	if (configure(&ld, &c->cfg) != 0)
		goto bad;
	if (c->out.skip < 0 || c->out.skip >= c->cfg.layers) {
		errf(err, errlen, "%s: cannot skip %d of %d layers", ld.what,
			c->out.skip, c->cfg.layers);
		goto bad;
	}
	if (c->out.pooled && c->cfg.projection == 0) {
		errf(err, errlen, "%s: no text_projection.weight [P, %d] for "
			"the pooled output", ld.what, c->cfg.hidden);
		goto bad;
	}
	/* The pooled output needs every layer; the context alone only
	 * those before the skipped ones, which are never uploaded. */
	c->run = c->out.pooled ? c->cfg.layers : c->cfg.layers - c->out.skip;
	on = (c->out.final_norm || c->out.pooled ? NEED_NORM : 0) |
		(c->out.pooled ? NEED_PROJ : 0);
	dims[C_D] = c->cfg.hidden;
	dims[C_I] = c->cfg.inter;
	dims[C_V] = c->cfg.vocab;
	dims[C_P] = c->cfg.max_pos;
	dims[C_J] = c->cfg.projection;
	if (wt_load_table(&ld, "", WT_TABLE(model_w), dims, on, c) != 0)
		goto bad;
	c->layer = calloc((size_t)c->cfg.layers, sizeof(*c->layer));
	if (c->layer == NULL) {
		errf(err, errlen, "out of memory");
		goto bad;
	}
	for (i = 0; i < c->run; i++) {
		snprintf(p, sizeof(p), "text_model.encoder.layers.%d", i);
		if (wt_load_table(&ld, p, WT_TABLE(layer_w), dims, 0,
		    &c->layer[i]) != 0)
			goto bad;
	}
	*model = c;
	return 0;
bad:
	clip_text_free(c);
	return -1;
}

const struct clip_text_config *
clip_text_config(const struct clip_text_model *c)
{
	return &c->cfg;
}

const struct clip_text_outputs *
clip_text_outputs(const struct clip_text_model *c)
{
	return &c->out;
}

/* The pooled output from x, the last layer's output [B, L, D]: the end
 * token's row of each sequence (the first position of its largest id)
 * gathered on the host, final_layer_norm, text_projection. Returns 0
 * with *out [B, P], or -1 with rt_error(). */
static int
pool(struct clip_text_model *c, const struct ktensor *x, const int32_t *ids,
	int B, int L, struct ktensor **out)
{
	struct kiln_rt *rt = c->rt;
	size_t D = (size_t)c->cfg.hidden;
	struct ktensor *g = NULL, *n = NULL, *y = NULL;
	float *all = NULL, *rows = NULL;
	int b, l, at, rc = -1;

	all = malloc(kt_bytes(x));
	rows = malloc((size_t)B * D * sizeof(*rows));
	if (all == NULL || rows == NULL) {
		rt_failf(rt, "text encoder: out of memory");
		goto out;
	}
	if (kt_download(x, all) != 0)
		goto out;
	for (b = 0; b < B; b++) {
		const int32_t *r = ids + (size_t)b * (size_t)L;

		for (at = 0, l = 1; l < L; l++)
			if (r[l] > r[at])
				at = l;
		memcpy(rows + (size_t)b * D,
			all + ((size_t)b * (size_t)L + (size_t)at) * D,
			D * sizeof(*rows));
	}
	g = kt_new2(rt, KD_F32, B, (int64_t)D);
	n = kt_new2(rt, KD_F32, B, (int64_t)D);
	y = kt_new2(rt, KD_F32, B, c->cfg.projection);
	if (g == NULL || n == NULL || y == NULL || kt_upload(g, rows) != 0 ||
	    op_layer_norm(g, c->lnf_w, c->lnf_b, n, c->cfg.eps) != 0 ||
	    op_linear(n, c->proj, NULL, y) != 0)
		goto out;
	*out = y;
	y = NULL;
	rc = 0;
out:
	kt_free(g);
	kt_free(n);
	kt_free(y);
	free(rows);
	free(all);
	return rc;
}

/* Overwrites rows of x [B, L, D], the token plus position embeddings,
 * with rows->v plus the position embedding: the positions' rows come to
 * the host (L x D floats) and each run of consecutive rows goes back in
 * one small upload. Returns 0, or -1 with rt_error(). */
static int
replace_rows(struct clip_text_model *c, struct ktensor *x, int B, int L,
	const struct clip_rows *rows)
{
	size_t D = (size_t)c->cfg.hidden, total = (size_t)B * (size_t)L;
	struct ktensor pv, xv;
	float *pos = NULL, *buf = NULL;
	size_t i, j, k, run;
	int rc = -1;

	for (i = 0; i < rows->n; i++)
		if (rows->at[i] >= total || (i > 0 &&
		    rows->at[i] <= rows->at[i - 1]))
			return rt_failf(c->rt, "text encoder: embedding rows "
				"out of order or beyond %d x %d", B, L);
	pos = malloc((size_t)L * D * sizeof(*pos));
	buf = malloc(rows->n * D * sizeof(*buf));
	if (pos == NULL || buf == NULL) {
		rt_failf(c->rt, "text encoder: out of memory");
		goto out;
	}
	if (kt_view_2d(&pv, c->pos, L, (int64_t)D, (int64_t)D, 0) != 0 ||
	    kt_download(&pv, pos) != 0)
		goto out;
	/* The same float sum op_embed's kernel makes. */
	for (i = 0; i < rows->n; i++)
		for (k = 0; k < D; k++)
			buf[i * D + k] = rows->v[i * D + k] +
				pos[(rows->at[i] % (size_t)L) * D + k];
	for (i = 0; i < rows->n; i = j) {
		for (j = i + 1; j < rows->n && rows->at[j] == rows->at[j - 1] +
		    1; j++)
			;
		run = j - i;
		if (kt_view_2d(&xv, x, (int64_t)run, (int64_t)D, (int64_t)D,
		    rows->at[i] * D) != 0 || kt_upload(&xv, buf + i * D) != 0)
			goto out;
	}
	rc = 0;
out:
	free(pos);
	free(buf);
	return rc;
}

int
clip_text_encode(struct clip_text_model *c, const int32_t *ids, int B, int L,
	struct ktensor **ctx, struct ktensor **pooled)
{
	return clip_text_encode_rows(c, ids, B, L, NULL, ctx, pooled);
}

int
clip_text_encode_rows(struct clip_text_model *c, const int32_t *ids, int B,
	int L, const struct clip_rows *rows, struct ktensor **ctx,
	struct ktensor **pooled)
{
	struct kiln_rt *rt = c->rt;
	const struct clip_text_config *cfg = &c->cfg;
	int64_t D = cfg->hidden, I = cfg->inter;
	struct ktensor *idt = NULL, *x = NULL, *h = NULL, *q = NULL, *k = NULL,
		*v = NULL, *a = NULL, *m = NULL, *z = NULL, *pl = NULL;
	float scale = 1.0f / sqrtf((float)(D / cfg->heads));
	/* The context is taken after this many layers. */
	int at = cfg->layers - c->out.skip, i, rc = -1;
	size_t j;

	*ctx = NULL;
	if (pooled != NULL)
		*pooled = NULL;
	if (pooled != NULL && !c->out.pooled)
		return rt_failf(rt, "text encoder: loaded without its pooled "
			"output");
	if (B < 1 || L < 1 || L > cfg->max_pos)
		return rt_failf(rt, "text encoder: %d x %d tokens do not fit "
			"(at most %d positions)", B, L, cfg->max_pos);
	for (j = 0; j < (size_t)B * (size_t)L; j++)
		if (ids[j] < 0 || ids[j] >= cfg->vocab)
			return rt_failf(rt, "text encoder: token id %d outside "
				"the vocabulary of %d", ids[j], cfg->vocab);
	/* Token ids travel in a 4-byte-element buffer. */
	idt = kt_new2(rt, KD_F32, B, L);
	x = kt_new3(rt, KD_F32, B, L, D);
	h = kt_new3(rt, KD_F32, B, L, D);
	q = kt_new3(rt, KD_F32, B, L, D);
	k = kt_new3(rt, KD_F32, B, L, D);
	v = kt_new3(rt, KD_F32, B, L, D);
	a = kt_new3(rt, KD_F32, B, L, D);
	m = kt_new3(rt, KD_F32, B, L, I);
	if (!idt || !x || !h || !q || !k || !v || !a || !m)
		goto out;
	if (kt_upload(idt, ids) != 0 || op_embed(idt, c->tok, c->pos, x) != 0)
		goto out;
	if (rows != NULL && rows->n > 0 && replace_rows(c, x, B, L, rows) != 0)
		goto out;
	for (i = 0; i < c->run; i++) {
		const struct clip_layer *l = &c->layer[i];

		if (op_layer_norm(x, l->ln1_w, l->ln1_b, h, cfg->eps) ||
		    op_linear(h, l->q_w, l->q_b, q) ||
		    op_linear(h, l->k_w, l->k_b, k) ||
		    op_linear(h, l->v_w, l->v_b, v) ||
		    op_attention(q, k, v, a, cfg->heads, scale, 1) ||
		    op_linear(a, l->o_w, l->o_b, h) ||
		    op_add(x, h, x) ||
		    op_layer_norm(x, l->ln2_w, l->ln2_b, h, cfg->eps) ||
		    op_linear(h, l->fc1_w, l->fc1_b, m) ||
		    op_act(m, m, cfg->act) ||
		    op_linear(m, l->fc2_w, l->fc2_b, h) ||
		    op_add(x, h, x))
			goto out;
		if (i + 1 != at)
			continue;
		/* The context: a copy when the layers go on for the pooled
		 * output. */
		z = kt_new3(rt, KD_F32, B, L, D);
		if (z == NULL || (c->out.final_norm ?
		    op_layer_norm(x, c->lnf_w, c->lnf_b, z, cfg->eps) :
		    op_scale(x, 1.0f, z)) != 0)
			goto out;
	}
	if (pooled != NULL && pool(c, x, ids, B, L, &pl) != 0)
		goto out;
	*ctx = z;
	z = NULL;
	if (pooled != NULL) {
		*pooled = pl;
		pl = NULL;
	}
	rc = 0;
out:
	kt_free(idt);
	kt_free(x);
	kt_free(h);
	kt_free(q);
	kt_free(k);
	kt_free(v);
	kt_free(a);
	kt_free(m);
	kt_free(z);
	kt_free(pl);
	return rc;
}
