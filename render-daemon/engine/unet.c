/* unet.c - UNet2DConditionModel: weights by canonical (diffusers) name,
 * then the forward pass with a stack of skip tensors. */
#include "unet.h"
#include "util.h"
#include "blocks.h"
#include "weights.h"

#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A pre-normed attention sublayer: its LayerNorm, projections and
 * output. */
struct attn_w {
	struct ktensor *ln_w, *ln_b, *q, *k, *v, *o_w, *o_b;
};

/* BasicTransformerBlock: self-attention, cross-attention, GEGLU
 * feed-forward. */
struct tblock {
	struct attn_w self, cross;
	struct ktensor *ln3_w, *ln3_b, *ff1_w, *ff1_b, *ff2_w, *ff2_b;
};

/* Transformer2DModel: one BasicTransformerBlock in SD 1.x and 2.x, a
 * stack of depth of them in SDXL. */
struct xformer {
	int ch, heads, ctx_dim, groups, depth;
	struct ktensor *gn_w, *gn_b, *pin_w, *pin_b, *pout_w, *pout_b;
	struct tblock *tb;		/* [depth] */
};

struct level {
	struct resnet res[UNET_MAX_LAYERS + 1];
	struct xformer at[UNET_MAX_LAYERS + 1];
	int nres;
	struct resample resample;	/* down: stride-2 conv; up: conv */
	int has_resample;
};

struct unet {
	struct kiln_rt *rt;
	struct unet_config cfg;
	int enc_only;		/* no up blocks and output: a ControlNet's */
	struct ktensor *t1_w, *t1_b, *t2_w, *t2_b;
	struct ktensor *a1_w, *a1_b, *a2_w, *a2_b;	/* SDXL */
	struct ktensor *cin_w, *cin_b, *nout_w, *nout_b, *cout_w, *cout_b;
	struct level down[UNET_MAX_LEVELS], up[UNET_MAX_LEVELS];
	struct resnet mid_res[2];
	struct xformer mid_at;
};

/* ---- loading ---------------------------------------------------------- */

/* The dims of a transformer: its width, the context's, the GEGLU's
 * inner width and its doubled projection. */
enum { X_C, X_CTX, X_F, X_2F };

/* proj_in / proj_out are 1x1 convs (SD 1.x) or linears (SD 2.x):
 * wt_load_linear accepts either as [C, C]. */
#define X(nm, kd, f, d0, d1) WD(struct xformer, nm, kd, f, d0, d1)
static const struct wdecl xformer_w[] = {
	X("norm.weight", WD_VEC, gn_w, X_C, 0),
	X("norm.bias", WD_VEC, gn_b, X_C, 0),
	X("proj_in.weight", WD_LINEAR, pin_w, X_C, X_C),
	X("proj_in.bias", WD_VEC, pin_b, X_C, 0),
	X("proj_out.weight", WD_LINEAR, pout_w, X_C, X_C),
	X("proj_out.bias", WD_VEC, pout_b, X_C, 0),
};
#undef X

/* Under the transformer's prefix and "transformer_blocks.N". */
#define B(nm, kd, f, d0, d1) WD(struct tblock, nm, kd, f, d0, d1)
static const struct wdecl tblock_w[] = {
	B("norm1.weight", WD_VEC, self.ln_w, X_C, 0),
	B("norm1.bias", WD_VEC, self.ln_b, X_C, 0),
	B("attn1.to_q.weight", WD_LINEAR, self.q, X_C, X_C),
	B("attn1.to_k.weight", WD_LINEAR, self.k, X_C, X_C),
	B("attn1.to_v.weight", WD_LINEAR, self.v, X_C, X_C),
	B("attn1.to_out.0.weight", WD_LINEAR, self.o_w, X_C, X_C),
	B("attn1.to_out.0.bias", WD_VEC, self.o_b, X_C, 0),
	B("norm2.weight", WD_VEC, cross.ln_w, X_C, 0),
	B("norm2.bias", WD_VEC, cross.ln_b, X_C, 0),
	B("attn2.to_q.weight", WD_LINEAR, cross.q, X_C, X_C),
	B("attn2.to_k.weight", WD_LINEAR, cross.k, X_C, X_CTX),
	B("attn2.to_v.weight", WD_LINEAR, cross.v, X_C, X_CTX),
	B("attn2.to_out.0.weight", WD_LINEAR, cross.o_w, X_C, X_C),
	B("attn2.to_out.0.bias", WD_VEC, cross.o_b, X_C, 0),
	B("norm3.weight", WD_VEC, ln3_w, X_C, 0),
	B("norm3.bias", WD_VEC, ln3_b, X_C, 0),
	B("ff.net.0.proj.weight", WD_LINEAR, ff1_w, X_2F, X_C),
	B("ff.net.0.proj.bias", WD_VEC, ff1_b, X_2F, 0),
	B("ff.net.2.weight", WD_LINEAR, ff2_w, X_C, X_F),
	B("ff.net.2.bias", WD_VEC, ff2_b, X_C, 0),
};
#undef B

/* The UNet's own weights around the blocks: its dims, and the need bits
 * of SDXL's add_embedding and of the output (the decoder half, which an
 * encoder loaded alone, a ControlNet's, lacks). */
enum { U_C0, U_IN, U_OUT, U_T, U_ADM };
#define NEED_ADM 0x1u
#define NEED_DEC 0x2u

#define U(nm, kd, f, d0, d1) WD(struct unet, nm, kd, f, d0, d1)
#define UA(nm, kd, f, d0, d1) WDN(struct unet, nm, kd, f, d0, d1, NEED_ADM)
#define UD(nm, kd, f, d0, d1) WDN(struct unet, nm, kd, f, d0, d1, NEED_DEC)
static const struct wdecl unet_w[] = {
	U("time_embedding.linear_1.weight", WD_LINEAR, t1_w, U_T, U_C0),
	U("time_embedding.linear_1.bias", WD_VEC, t1_b, U_T, 0),
	U("time_embedding.linear_2.weight", WD_LINEAR, t2_w, U_T, U_T),
	U("time_embedding.linear_2.bias", WD_VEC, t2_b, U_T, 0),
	UA("add_embedding.linear_1.weight", WD_LINEAR, a1_w, U_T, U_ADM),
	UA("add_embedding.linear_1.bias", WD_VEC, a1_b, U_T, 0),
	UA("add_embedding.linear_2.weight", WD_LINEAR, a2_w, U_T, U_T),
	UA("add_embedding.linear_2.bias", WD_VEC, a2_b, U_T, 0),
	U("conv_in.weight", WD_CONV3, cin_w, U_C0, U_IN),
	U("conv_in.bias", WD_VEC, cin_b, U_C0, 0),
	UD("conv_norm_out.weight", WD_VEC, nout_w, U_C0, 0),
	UD("conv_norm_out.bias", WD_VEC, nout_b, U_C0, 0),
	UD("conv_out.weight", WD_CONV3, cout_w, U_OUT, U_C0),
	UD("conv_out.bias", WD_VEC, cout_b, U_OUT, 0),
};
#undef U
#undef UA
#undef UD

static void
xformer_free(struct xformer *x)
{
	int i;

	wt_free_table(WT_TABLE(xformer_w), x);
	for (i = 0; x->tb != NULL && i < x->depth; i++)
		wt_free_table(WT_TABLE(tblock_w), &x->tb[i]);
	free(x->tb);
	x->tb = NULL;
	x->depth = 0;
}

/* How many transformer blocks the attention at prefix p stacks: the
 * consecutive transformer_blocks.N from 0 that exist. */
static int
xformer_depth(const struct wloader *ld, const char *p)
{
	char t[512];
	int n;

	for (n = 0; n <= UNET_MAX_DEPTH; n++) {
		if (snprintf(t, sizeof(t), "%s.transformer_blocks.%%d.norm1."
		    "weight", p) >= (int)sizeof(t) || wt_find(ld, t, n) ==
		    NULL)
			break;
	}
	return n;
}

/* Loads the attention at prefix p, whose weights must stack `depth`
 * transformer blocks: what the first attention of its level has
 * (configure), so a file whose attentions differ within a level is
 * refused rather than half read. */
static int
xformer_load(struct wloader *ld, const char *p, int ch, int heads,
	int ctx_dim, int groups, int depth, struct xformer *x)
{
	int64_t dims[] = { [X_C] = ch, [X_CTX] = ctx_dim, [X_F] = 4 * ch,
		[X_2F] = 8 * ch };
	char b[512];
	int i, have = xformer_depth(ld, p);

	memset(x, 0, sizeof(*x));
	x->ch = ch;
	x->heads = heads;
	x->ctx_dim = ctx_dim;
	x->groups = groups;
	if (have != depth)
		return errf(ld->err, ld->errlen, "unet: %s has %d transformer "
			"blocks where %d were expected", p, have, depth);
	x->tb = calloc((size_t)depth, sizeof(*x->tb));
	if (x->tb == NULL)
		return errf(ld->err, ld->errlen, "out of memory");
	x->depth = depth;
	if (wt_load_table(ld, p, WT_TABLE(xformer_w), dims, 0, x) != 0)
		goto bad;
	for (i = 0; i < depth; i++) {
		if (snprintf(b, sizeof(b), "%s.transformer_blocks.%d", p, i) >=
		    (int)sizeof(b)) {
			errf(ld->err, ld->errlen, "unet: name %s too long", p);
			goto bad;
		}
		if (wt_load_table(ld, b, WT_TABLE(tblock_w), dims, 0,
		    &x->tb[i]) != 0)
			goto bad;
	}
	return 0;
bad:
	xformer_free(x);
	return -1;
}

/* Shapes first (they always exist), config.json second: it settles the
 * head counts and must agree with the shapes. An encoder alone has no
 * conv_out (out_channels 0). */
static int
configure(struct wloader *ld, int enc_only, struct unet_config *cfg)
{
	const struct st_entry *t = wt_find(ld, "conv_in.weight", 0), *k;
	const char *cj = st_model_config(ld->m, ld->part);
	int i, j;

	if (t == NULL || t->ndim != 4)
		return errf(ld->err, ld->errlen, "unet: conv_in.weight is "
			"missing");
	memset(cfg, 0, sizeof(*cfg));
	cfg->in_channels = (int)t->shape[1];
	cfg->ch[0] = (int)t->shape[0];
	cfg->groups = 32;
	cfg->eps = 1e-5f;
	/* layers_per_block: the resnets of level 0. */
	for (j = 0; j <= UNET_MAX_LAYERS; j++)
		if (wt_find(ld, "down_blocks.0.resnets.%d.conv1.weight",
		    j) == NULL)
			break;
	cfg->layers = j;
	if (cfg->layers < 1 || cfg->layers > UNET_MAX_LAYERS)
		return errf(ld->err, ld->errlen, "unet: %d layers per block "
			"is not supported", cfg->layers);
	for (i = 0; i < UNET_MAX_LEVELS; i++) {
		const struct st_entry *c1;

		c1 = wt_find(ld, "down_blocks.%d.resnets.0.conv1.weight", i);
		if (c1 == NULL || c1->ndim != 4)
			break;
		cfg->ch[i] = (int)c1->shape[0];
		cfg->attn[i] = wt_find(ld, "down_blocks.%d.attentions.0."
			"norm.weight", i) != NULL;
	}
	cfg->levels = i;
	if (cfg->levels < 1)
		return errf(ld->err, ld->errlen, "unet: no down blocks found");
	cfg->temb_dim = 4 * cfg->ch[0];
	t = wt_find(ld, "conv_out.weight", 0);
	if (!enc_only && (t == NULL || t->ndim != 4))
		return errf(ld->err, ld->errlen, "unet: conv_out is missing");
	cfg->out_channels = enc_only ? 0 : (int)t->shape[0];
	cfg->ctx_dim = 0;
	for (i = 0; i < cfg->levels && cfg->ctx_dim == 0; i++) {
		if (!cfg->attn[i])
			continue;
		k = wt_find(ld, "down_blocks.%d.attentions.0.transformer_blocks."
			"0.attn2.to_k.weight", i);
		if (k != NULL && k->ndim == 2)
			cfg->ctx_dim = (int)k->shape[1];
		k = wt_find(ld, "down_blocks.%d.attentions.0.proj_in.weight",
			i);
		cfg->linear_proj = k != NULL && k->ndim == 2;
	}
	/* Transformer blocks per attention: one in SD 1.x / 2.x; SDXL's
	 * levels stack 2 and 10, its mid block 10. The first attention of
	 * each level tells, xformer_load checks every other. */
	for (i = 0; i < cfg->levels; i++) {
		char p[64];

		snprintf(p, sizeof(p), "down_blocks.%d.attentions.0", i);
		cfg->depth[i] = cfg->attn[i] ? xformer_depth(ld, p) : 0;
		if (cfg->attn[i] && (cfg->depth[i] < 1 ||
		    cfg->depth[i] > UNET_MAX_DEPTH))
			return errf(ld->err, ld->errlen, "unet: %s has %d "
				"transformer blocks (1 to %d are supported)",
				p, cfg->depth[i], UNET_MAX_DEPTH);
	}
	cfg->mid_depth = xformer_depth(ld, "mid_block.attentions.0");
	if (cfg->mid_depth < 1 || cfg->mid_depth > UNET_MAX_DEPTH)
		return errf(ld->err, ld->errlen, "unet: the mid block has %d "
			"transformer blocks (1 to %d are supported)",
			cfg->mid_depth, UNET_MAX_DEPTH);
	/* SDXL: add_embedding takes the pooled text embedding and the time
	 * ids, each a 256-wide sinusoid (addition_time_embed_dim). */
	k = wt_find(ld, "add_embedding.linear_1.weight", 0);
	if (k != NULL) {
		if (k->ndim != 2)
			return errf(ld->err, ld->errlen, "unet: "
				"add_embedding.linear_1.weight is not a "
				"matrix");
		cfg->adm_in = (int)k->shape[1];
		cfg->time_ids_dim = 256;
	}
	/* SD 1.x (context 768) uses 8 heads everywhere; SD 2.x heads of 64
	 * channels. config.json overrides both. */
	for (i = 0; i < cfg->levels; i++)
		cfg->heads[i] = cfg->ctx_dim == 768 ? 8 :
			(cfg->ch[i] / 64 > 0 ? cfg->ch[i] / 64 : 1);
	if (cj != NULL) {
		json_object *o = json_tokener_parse(cj);
		int v;

		if (o == NULL)
			return errf(ld->err, ld->errlen, "unet: config.json is "
				"not valid JSON");
		for (i = 0; i < cfg->levels; i++) {
			int nh = 0;

			if (wt_config_int(o, "block_out_channels", i, &v) == 0 &&
			    v != cfg->ch[i]) {
				json_object_put(o);
				return errf(ld->err, ld->errlen, "unet: "
					"config.json disagrees with the weights"
					" (block_out_channels)");
			}
			/* diffusers' num_attention_heads, else its
			 * misnamed attention_head_dim, is the head count. */
			if (wt_config_int(o, "num_attention_heads", i, &nh) == 0 ||
			    wt_config_int(o, "attention_head_dim", i, &nh) == 0)
				if (nh > 0)
					cfg->heads[i] = nh;
		}
		if (wt_config_int(o, "norm_num_groups", 0, &v) == 0 && v > 0)
			cfg->groups = v;
		if (wt_config_int(o, "addition_time_embed_dim", 0, &v) == 0 &&
		    v > 0)
			cfg->time_ids_dim = v;
		json_object_put(o);
	}
	for (i = 0; i < cfg->levels; i++)
		if (cfg->attn[i] && cfg->ch[i] % cfg->heads[i] != 0)
			return errf(ld->err, ld->errlen, "unet: %d channels do "
				"not split into %d heads", cfg->ch[i],
				cfg->heads[i]);
	return 0;
}

static void
level_free(struct level *l)
{
	int j;

	for (j = 0; j <= UNET_MAX_LAYERS; j++) {
		resnet_free(&l->res[j]);
		xformer_free(&l->at[j]);
	}
	resample_free(&l->resample);
	memset(l, 0, sizeof(*l));
}

void
unet_free(struct unet *u)
{
	int i;

	if (u == NULL)
		return;
	for (i = 0; i < UNET_MAX_LEVELS; i++) {
		level_free(&u->down[i]);
		level_free(&u->up[i]);
	}
	resnet_free(&u->mid_res[0]);
	resnet_free(&u->mid_res[1]);
	xformer_free(&u->mid_at);
	wt_free_table(WT_TABLE(unet_w), u);
	free(u);
}

/* The whole UNet, or its encoder half alone (enc_only) from part. */
static int
load(struct kiln_rt *rt, const struct st_model *m, enum st_part part,
	int enc_only, struct unet **out, char *err, size_t errlen)
{
	struct wloader ldv = { rt, m, part, st_part_name(part), err, errlen,
		1, NULL, 0 };
	struct wloader *ld = &ldv;
	struct unet_config *c;
	struct unet *u;
	char p[512];
	int i, j, T, skip_ch[UNET_MAX_SKIPS];
	int nskip = 0, ch, prev;

	*out = NULL;
	if (!st_model_has_part(m, part))
		return errf(err, errlen, "the model has no %s",
			st_part_name(part));
	u = calloc(1, sizeof(*u));
	if (u == NULL)
		return errf(err, errlen, "out of memory");
	u->rt = rt;
	u->enc_only = enc_only;
	c = &u->cfg;
	if (configure(ld, enc_only, c) != 0)
		goto bad;
	T = c->temb_dim;
	{
		int64_t dims[] = { [U_C0] = c->ch[0], [U_IN] = c->in_channels,
			[U_OUT] = c->out_channels, [U_T] = T,
			[U_ADM] = c->adm_in };

		if (wt_load_table(ld, "", WT_TABLE(unet_w), dims,
		    (c->adm_in > 0 ? NEED_ADM : 0) |
		    (enc_only ? 0 : NEED_DEC), u) != 0)
			goto bad;
	}

	/* Down path; remember the channel count of every skip tensor. */
	skip_ch[nskip++] = c->ch[0];
	ch = c->ch[0];
	for (i = 0; i < c->levels; i++) {
		struct level *l = &u->down[i];

		for (j = 0; j < c->layers; j++) {
			snprintf(p, sizeof(p), "down_blocks.%d.resnets.%d", i,
				j);
			if (resnet_load(ld, p, ch, c->ch[i], T, c->groups,
			    c->eps, &l->res[j]) != 0)
				goto bad;
			ch = c->ch[i];
			if (c->attn[i]) {
				snprintf(p, sizeof(p), "down_blocks.%d."
					"attentions.%d", i, j);
				if (xformer_load(ld, p, ch, c->heads[i],
				    c->ctx_dim, c->groups, c->depth[i],
				    &l->at[j]) != 0)
					goto bad;
			}
			skip_ch[nskip++] = ch;
		}
		l->nres = c->layers;
		if (i < c->levels - 1) {
			snprintf(p, sizeof(p), "down_blocks.%d.downsamplers.0",
				i);
			if (resample_load(ld, p, ch, &l->resample) != 0)
				goto bad;
			l->has_resample = 1;
			skip_ch[nskip++] = ch;
		}
	}
	/* Mid block. */
	if (resnet_load(ld, "mid_block.resnets.0", ch, ch, T, c->groups,
	    c->eps, &u->mid_res[0]) != 0 ||
	    xformer_load(ld, "mid_block.attentions.0", ch,
	    c->heads[c->levels - 1], c->ctx_dim, c->groups, c->mid_depth,
	    &u->mid_at) != 0 ||
	    resnet_load(ld, "mid_block.resnets.1", ch, ch, T, c->groups,
	    c->eps, &u->mid_res[1]) != 0)
		goto bad;
	c->skips = nskip;
	if (enc_only) {
		*out = u;
		return 0;
	}
	/* Up path: level i mirrors down level L-1-i and eats skips in
	 * reverse order. */
	prev = ch;
	for (i = 0; i < c->levels; i++) {
		int dl = c->levels - 1 - i, oc = c->ch[dl];
		struct level *l = &u->up[i];

		for (j = 0; j <= c->layers; j++) {
			int in = (j == 0 ? prev : oc) + skip_ch[--nskip];

			snprintf(p, sizeof(p), "up_blocks.%d.resnets.%d", i, j);
			if (resnet_load(ld, p, in, oc, T, c->groups, c->eps,
			    &l->res[j]) != 0)
				goto bad;
			if (c->attn[dl]) {
				snprintf(p, sizeof(p), "up_blocks.%d."
					"attentions.%d", i, j);
				if (xformer_load(ld, p, oc, c->heads[dl],
				    c->ctx_dim, c->groups, c->depth[dl],
				    &l->at[j]) != 0)
					goto bad;
			}
		}
		l->nres = c->layers + 1;
		if (i < c->levels - 1) {
			snprintf(p, sizeof(p), "up_blocks.%d.upsamplers.0", i);
			if (resample_load(ld, p, oc, &l->resample) != 0)
				goto bad;
			l->has_resample = 1;
		}
		prev = oc;
	}
	*out = u;
	return 0;
bad:
	unet_free(u);
	return -1;
}

int
unet_load(struct kiln_rt *rt, const struct st_model *m, struct unet **out,
	char *err, size_t errlen)
{
	return load(rt, m, ST_PART_UNET, 0, out, err, errlen);
}

int
unet_load_encoder(struct kiln_rt *rt, const struct st_model *m,
	enum st_part part, struct unet **out, char *err, size_t errlen)
{
	return load(rt, m, part, 1, out, err, errlen);
}

void
unet_residuals_free(struct unet_residuals *r)
{
	int i;

	if (r == NULL)
		return;
	for (i = 0; i < r->ndown; i++)
		kt_free(r->down[i]);
	kt_free(r->mid);
	memset(r, 0, sizeof(*r));
}

const struct unet_config *
unet_config(const struct unet *u)
{
	return &u->cfg;
}

/* ---- forward ---------------------------------------------------------- */

/* u += out(attention(q(norm(u)), k(src), v(src))): self-attention on
 * the normed u itself (ctx NULL) or cross-attention on the text context;
 * k and v are sized for their source, a, q, o like u. */
static int
attn_sublayer(const struct attn_w *w, int heads, float scale,
	struct ktensor *u, const struct ktensor *ctx, struct ktensor *a,
	struct ktensor *q, struct ktensor *k, struct ktensor *v,
	struct ktensor *o)
{
	const struct ktensor *src = ctx != NULL ? ctx : a;

	if (op_layer_norm(u, w->ln_w, w->ln_b, a, 1e-5f) ||
	    op_linear(a, w->q, NULL, q) ||
	    op_linear(src, w->k, NULL, k) ||
	    op_linear(src, w->v, NULL, v) ||
	    op_attention(q, k, v, o, heads, scale, 0) ||
	    op_linear(o, w->o_w, w->o_b, a) ||
	    op_add(u, a, u))
		return -1;
	return 0;
}

/* Spatial transformer: in [N, C, H, W] -> y (same shape):
 * GroupNorm, proj_in, then each transformer block (self-attention,
 * cross-attention on ctx, GEGLU feed-forward, each pre-normed and
 * residual), proj_out, + in. The blocks share one set of scratch
 * tensors. */
static int
xformer_forward(const struct xformer *x, const struct ktensor *in,
	const struct ktensor *ctx, struct ktensor *y)
{
	struct kiln_rt *rt = in->rt;
	int64_t N = in->ne[0], C = in->ne[1], HW = in->ne[2] * in->ne[3];
	int64_t Lc = ctx->ne[1], F = 4 * C;
	struct ktensor *h = NULL, *u = NULL, *a = NULL, *q = NULL, *k = NULL,
		*v = NULL, *kc = NULL, *vc = NULL, *o = NULL, *g = NULL,
		*gg = NULL;
	float scale = 1.0f / sqrtf((float)(C / x->heads));
	int rc = -1, i;

	h = kt_new3(rt, KD_F32, N, C, HW);
	u = kt_new3(rt, KD_F32, N, HW, C);
	a = kt_new3(rt, KD_F32, N, HW, C);
	q = kt_new3(rt, KD_F32, N, HW, C);
	o = kt_new3(rt, KD_F32, N, HW, C);
	k = kt_new3(rt, KD_F32, N, HW, C);
	v = kt_new3(rt, KD_F32, N, HW, C);
	kc = kt_new3(rt, KD_F32, N, Lc, C);
	vc = kt_new3(rt, KD_F32, N, Lc, C);
	g = kt_new3(rt, KD_F32, N, HW, 2 * F);
	gg = kt_new3(rt, KD_F32, N, HW, F);
	if (!h || !u || !a || !q || !o || !k || !v || !kc || !vc || !g ||
	    !gg)
		goto out;
	/* Norm, then channels last so every projection is one GEMM. */
	if (op_group_norm(in, x->gn_w, x->gn_b, h, x->groups, 1e-6f, 0) ||
	    op_transpose(h, a) ||
	    op_linear(a, x->pin_w, x->pin_b, u))
		goto out;
	for (i = 0; i < x->depth; i++) {
		const struct tblock *b = &x->tb[i];

		/* Self-attention, then cross-attention with keys and values
		 * from the text embeddings. */
		if (attn_sublayer(&b->self, x->heads, scale, u, NULL, a, q, k,
		    v, o) ||
		    attn_sublayer(&b->cross, x->heads, scale, u, ctx, a, q, kc,
		    vc, o))
			goto out;
		/* Feed-forward: GEGLU to 4C, back to C. */
		if (op_layer_norm(u, b->ln3_w, b->ln3_b, a, 1e-5f) ||
		    op_linear(a, b->ff1_w, b->ff1_b, g) ||
		    op_geglu(g, gg) ||
		    op_linear(gg, b->ff2_w, b->ff2_b, a) ||
		    op_add(u, a, u))
			goto out;
	}
	/* proj_out, channels first again, residual. */
	if (op_linear(u, x->pout_w, x->pout_b, a) ||
	    op_transpose(a, h))
		goto out;
	{
		int64_t shp[4] = { N, C, in->ne[2], in->ne[3] };

		if (kt_reshape(h, 4, shp) || op_add(h, in, y))
			goto out;
	}
	rc = 0;
out:
	kt_free(h);
	kt_free(u);
	kt_free(a);
	kt_free(q);
	kt_free(k);
	kt_free(v);
	kt_free(kc);
	kt_free(vc);
	kt_free(o);
	kt_free(g);
	kt_free(gg);
	return rc;
}

static int
conv3(const struct resample *c, const struct ktensor *x, int stride,
	struct ktensor *y)
{
	return op_conv2d(x, c->w, c->b, y, stride, 1);
}

/* Runs resnet j (and its transformer when present) of level l on *x,
 * replacing *x with the result. */
static int
level_step(const struct unet *u, const struct level *l, int j, int attn,
	struct ktensor **x, const struct ktensor *temb,
	const struct ktensor *ctx)
{
	struct kiln_rt *rt = u->rt;
	const struct resnet *r = &l->res[j];
	struct ktensor *y = kt_new4(rt, KD_F32, (*x)->ne[0], r->cout,
		(*x)->ne[2], (*x)->ne[3]), *z;

	if (y == NULL || resnet_forward(r, *x, temb, y) != 0) {
		kt_free(y);
		return -1;
	}
	kt_free(*x);
	*x = y;
	if (!attn)
		return 0;
	z = kt_new4(rt, KD_F32, y->ne[0], y->ne[1], y->ne[2], y->ne[3]);
	if (z == NULL || xformer_forward(&l->at[j], y, ctx, z) != 0) {
		kt_free(z);
		return -1;
	}
	kt_free(*x);
	*x = z;
	return 0;
}

static struct ktensor *
copy_of(const struct ktensor *x)
{
	struct ktensor *c = kt_new(x->rt, KD_F32, x->nd, x->ne);

	if (c != NULL && op_scale(x, 1.0f, c) != 0) {
		kt_free(c);
		return NULL;
	}
	return c;
}

/* SDXL's add_embedding: each time id through the timestep sinusoid,
 * appended to the pooled text embedding, linear, SiLU, linear, added to
 * emb (the time embedding before its SiLU). */
static int
add_embedding(const struct unet *u, const struct unet_added *add,
	struct ktensor *emb)
{
	struct kiln_rt *rt = u->rt;
	const struct unet_config *c = &u->cfg;
	const struct ktensor *te = add->text_embeds, *ti = add->time_ids;
	int64_t N = emb->ne[0], K, P;
	struct ktensor *s = NULL, *cat = NULL, *h = NULL, *a = NULL;
	int rc = -1;

	if (te == NULL || ti == NULL || te->nd != 2 || ti->nd != 2 ||
	    te->ne[0] != N || ti->ne[0] != N ||
	    te->ne[1] + ti->ne[1] * c->time_ids_dim != c->adm_in)
		return rt_failf(rt, "unet: SDXL's added conditioning must be "
			"text_embeds [N, P] and time_ids [N, K] with P + K * "
			"%d = %d", c->time_ids_dim, c->adm_in);
	K = ti->ne[1];
	P = te->ne[1];
	s = kt_new2(rt, KD_F32, N * K, c->time_ids_dim);
	cat = kt_new2(rt, KD_F32, N, P + K * c->time_ids_dim);
	h = kt_new2(rt, KD_F32, N, c->temb_dim);
	a = kt_new2(rt, KD_F32, N, c->temb_dim);
	if (!s || !cat || !h || !a ||
	    op_timestep_embedding(ti, s, 1, 0.0f, 10000.0f))
		goto out;
	{
		int64_t shp[2] = { N, K * c->time_ids_dim };

		if (kt_reshape(s, 2, shp))
			goto out;
	}
	if (op_concat_channels(te, s, cat) ||
	    op_linear(cat, u->a1_w, u->a1_b, h) ||
	    op_act(h, h, ACT_SILU) ||
	    op_linear(h, u->a2_w, u->a2_b, a) ||
	    op_add(emb, a, emb))
		goto out;
	rc = 0;
out:
	kt_free(s);
	kt_free(cat);
	kt_free(h);
	kt_free(a);
	return rc;
}

int
unet_forward(struct unet *u, const struct ktensor *xin, const float *tsteps,
	const struct ktensor *ctx, struct ktensor **out)
{
	return unet_forward_ctrl(u, xin, tsteps, ctx, NULL, NULL, out);
}

int
unet_forward_added(struct unet *u, const struct ktensor *xin,
	const float *tsteps, const struct ktensor *ctx,
	const struct unet_added *add, struct ktensor **out)
{
	return unet_forward_ctrl(u, xin, tsteps, ctx, add, NULL, out);
}

/* The encoder half: the time embedding (SiLU applied, into *embp),
 * conv_in plus cin_add (NULL: nothing), the down blocks with a copy of
 * every skip in r->down, and the mid block's output in r->mid. On error
 * r is freed. */
static int
encode(struct unet *u, const struct ktensor *xin, const float *tsteps,
	const struct ktensor *ctx, const struct unet_added *add,
	const struct ktensor *cin_add, struct ktensor **embp,
	struct unet_residuals *r)
{
	struct kiln_rt *rt = u->rt;
	const struct unet_config *c = &u->cfg;
	int64_t N = xin->ne[0], H = xin->ne[2], W = xin->ne[3];
	struct ktensor *tt = NULL, *tp = NULL, *e1 = NULL, *emb = NULL,
		*x = NULL, *y = NULL;
	int i, j, rc = -1, div = 1 << (c->levels - 1);

	memset(r, 0, sizeof(*r));
	*embp = NULL;
	if (xin->nd != 4 || xin->ne[1] != c->in_channels || H % div ||
	    W % div || ctx->nd != 3 || ctx->ne[0] != N ||
	    ctx->ne[2] != c->ctx_dim)
		return rt_failf(rt, "unet: input must be [N, %d, h, w] with h, "
			"w multiples of %d and context [N, L, %d]",
			c->in_channels, div, c->ctx_dim);
	if ((c->adm_in > 0) != (add != NULL))
		return rt_failf(rt, c->adm_in > 0 ? "unet: an SDXL UNet needs "
			"its added conditioning (pooled text embeds and time "
			"ids)" : "unet: added conditioning given to a UNet "
			"without an add_embedding");
	/* Time embedding: sinusoids (cos first), linear, SiLU, linear; the
	 * resnets all take SiLU(emb). */
	tt = kt_new1(rt, KD_F32, N);
	tp = kt_new2(rt, KD_F32, N, c->ch[0]);
	e1 = kt_new2(rt, KD_F32, N, c->temb_dim);
	emb = kt_new2(rt, KD_F32, N, c->temb_dim);
	if (!tt || !tp || !e1 || !emb || kt_upload(tt, tsteps) ||
	    op_timestep_embedding(tt, tp, 1, 0.0f, 10000.0f) ||
	    op_linear(tp, u->t1_w, u->t1_b, e1) ||
	    op_act(e1, e1, ACT_SILU) ||
	    op_linear(e1, u->t2_w, u->t2_b, emb) ||
	    (add != NULL && add_embedding(u, add, emb)) ||
	    op_act(emb, emb, ACT_SILU))
		goto out;

	x = kt_new4(rt, KD_F32, N, c->ch[0], H, W);
	if (x == NULL || op_conv2d(xin, u->cin_w, u->cin_b, x, 1, 1) ||
	    (cin_add != NULL && op_add(x, cin_add, x)))
		goto out;
	if ((r->down[r->ndown++] = copy_of(x)) == NULL)
		goto out;
	for (i = 0; i < c->levels; i++) {
		const struct level *l = &u->down[i];

		for (j = 0; j < l->nres; j++) {
			if (level_step(u, l, j, c->attn[i], &x, emb, ctx) ||
			    (r->down[r->ndown++] = copy_of(x)) == NULL)
				goto out;
		}
		if (l->has_resample) {
			y = kt_new4(rt, KD_F32, N, x->ne[1], x->ne[2] / 2,
				x->ne[3] / 2);
			if (y == NULL || conv3(&l->resample, x, 2, y))
				goto out;
			kt_free(x);
			x = y;
			y = NULL;
			if ((r->down[r->ndown++] = copy_of(x)) == NULL)
				goto out;
		}
	}
	/* Mid: resnet, transformer, resnet. */
	{
		struct level mid;

		memset(&mid, 0, sizeof(mid));
		mid.res[0] = u->mid_res[0];
		mid.at[0] = u->mid_at;
		mid.res[1] = u->mid_res[1];
		if (level_step(u, &mid, 0, 1, &x, emb, ctx) ||
		    level_step(u, &mid, 1, 0, &x, emb, ctx))
			goto out;
	}
	r->mid = x;
	x = NULL;
	*embp = emb;
	emb = NULL;
	rc = 0;
out:
	if (rc != 0)
		unet_residuals_free(r);
	kt_free(tt);
	kt_free(tp);
	kt_free(e1);
	kt_free(emb);
	kt_free(x);
	kt_free(y);
	return rc;
}

int
unet_encode(struct unet *u, const struct ktensor *xin, const float *tsteps,
	const struct ktensor *ctx, const struct unet_added *add,
	const struct ktensor *cin_add, struct unet_residuals *out)
{
	struct ktensor *emb = NULL;
	int rc = encode(u, xin, tsteps, ctx, add, cin_add, &emb, out);

	kt_free(emb);
	return rc;
}

/* Whether a and b have the same shape. */
static int
same_shape(const struct ktensor *a, const struct ktensor *b)
{
	int i;

	if (a->nd != b->nd)
		return 0;
	for (i = 0; i < a->nd; i++)
		if (a->ne[i] != b->ne[i])
			return 0;
	return 1;
}

int
unet_forward_ctrl(struct unet *u, const struct ktensor *xin,
	const float *tsteps, const struct ktensor *ctx,
	const struct unet_added *add, const struct unet_residuals *ctrl,
	struct ktensor **out)
{
	struct kiln_rt *rt = u->rt;
	const struct unet_config *c = &u->cfg;
	int64_t N = xin->ne[0], H = xin->ne[2], W = xin->ne[3];
	struct unet_residuals sk;
	struct ktensor *emb = NULL, *x = NULL, *y = NULL;
	int nskip, i, j, rc = -1;

	*out = NULL;
	if (u->enc_only)
		return rt_failf(rt, "unet: an encoder loaded alone (a "
			"ControlNet's) has no output");
	if (encode(u, xin, tsteps, ctx, add, NULL, &emb, &sk) != 0)
		return -1;
	/* ControlNet: its residuals go onto the skips and the mid block's
	 * output (diffusers' down_block_additional_residuals and
	 * mid_block_additional_residual); the down path itself runs on
	 * unchanged. */
	if (ctrl != NULL) {
		if (ctrl->ndown != sk.ndown || ctrl->mid == NULL ||
		    !same_shape(ctrl->mid, sk.mid)) {
			rt_failf(rt, "unet: the ControlNet residuals (%d skips) "
				"do not fit this UNet (%d skips)", ctrl->ndown,
				sk.ndown);
			goto out;
		}
		for (i = 0; i < sk.ndown; i++) {
			if (ctrl->down[i] == NULL ||
			    !same_shape(ctrl->down[i], sk.down[i])) {
				rt_failf(rt, "unet: ControlNet residual %d does "
					"not fit skip %d of this UNet", i, i);
				goto out;
			}
			if (op_add(sk.down[i], ctrl->down[i], sk.down[i]))
				goto out;
		}
		if (op_add(sk.mid, ctrl->mid, sk.mid))
			goto out;
	}
	x = sk.mid;
	sk.mid = NULL;
	nskip = sk.ndown;
	for (i = 0; i < c->levels; i++) {
		const struct level *l = &u->up[i];
		int dl = c->levels - 1 - i;

		for (j = 0; j < l->nres; j++) {
			/* The skip leaves the stack only once it is used:
			 * until then the cleanup below frees it. */
			struct ktensor *s = sk.down[nskip - 1];

			y = kt_new4(rt, KD_F32, N, x->ne[1] + s->ne[1],
				x->ne[2], x->ne[3]);
			if (y == NULL || op_concat_channels(x, s, y))
				goto out;
			kt_free(s);
			sk.down[--nskip] = NULL;
			kt_free(x);
			x = y;
			y = NULL;
			if (level_step(u, l, j, c->attn[dl], &x, emb, ctx))
				goto out;
		}
		if (l->has_resample) {
			struct ktensor *up = kt_new4(rt, KD_F32, N, x->ne[1],
				2 * x->ne[2], 2 * x->ne[3]);

			y = kt_new4(rt, KD_F32, N, x->ne[1], 2 * x->ne[2],
				2 * x->ne[3]);
			if (up == NULL || y == NULL || op_upsample2x(x, up) ||
			    conv3(&l->resample, up, 1, y)) {
				kt_free(up);
				goto out;
			}
			kt_free(up);
			kt_free(x);
			x = y;
			y = NULL;
		}
	}
	/* Out: GroupNorm + SiLU, conv. */
	y = kt_new4(rt, KD_F32, N, c->ch[0], H, W);
	if (y == NULL || op_group_norm(x, u->nout_w, u->nout_b, y, c->groups,
	    c->eps, 1))
		goto out;
	kt_free(x);
	x = kt_new4(rt, KD_F32, N, c->out_channels, H, W);
	if (x == NULL || op_conv2d(y, u->cout_w, u->cout_b, x, 1, 1))
		goto out;
	*out = x;
	x = NULL;
	rc = 0;
out:
	unet_residuals_free(&sk);
	kt_free(emb);
	kt_free(x);
	kt_free(y);
	return rc;
}
