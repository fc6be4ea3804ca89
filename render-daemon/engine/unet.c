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

/* Transformer2DModel with one BasicTransformerBlock. */
struct xformer {
	int ch, heads, ctx_dim, groups;
	struct ktensor *gn_w, *gn_b, *pin_w, *pin_b, *pout_w, *pout_b;
	struct ktensor *ln1_w, *ln1_b, *q1, *k1, *v1, *o1_w, *o1_b;
	struct ktensor *ln2_w, *ln2_b, *q2, *k2, *v2, *o2_w, *o2_b;
	struct ktensor *ln3_w, *ln3_b, *ff1_w, *ff1_b, *ff2_w, *ff2_b;
};

struct sample_conv {
	struct ktensor *w, *b;
};

struct level {
	struct resnet res[UNET_MAX_LAYERS + 1];
	struct xformer at[UNET_MAX_LAYERS + 1];
	int nres;
	struct sample_conv resample;	/* down: stride-2 conv; up: conv */
	int has_resample;
};

struct unet {
	struct kiln_rt *rt;
	struct unet_config cfg;
	struct ktensor *t1_w, *t1_b, *t2_w, *t2_b;
	struct ktensor *cin_w, *cin_b, *nout_w, *nout_b, *cout_w, *cout_b;
	struct level down[UNET_MAX_LEVELS], up[UNET_MAX_LEVELS];
	struct resnet mid_res[2];
	struct xformer mid_at;
};

/* ---- loading ---------------------------------------------------------- */

/* prefix.suffix into name; -1 with err when it does not fit. */
static int
join_name(struct wloader *ld, const char *prefix, const char *suffix,
	char *name, size_t n)
{
	if (snprintf(name, n, "%s.%s", prefix, suffix) >= (int)n)
		return errf(ld->err, ld->errlen, "unet: name %s.%s too long",
			prefix, suffix);
	return 0;
}

static struct ktensor *
ld_named(struct wloader *ld, const char *prefix, const char *suffix, int nd,
	const int64_t *shape)
{
	char name[512];

	if (join_name(ld, prefix, suffix, name, sizeof(name)) != 0)
		return NULL;
	return wt_load(ld, name, 0, nd, shape);
}

/* A linear layer's weight [out, in], laid out for op_linear. */
static struct ktensor *
ld_linear(struct wloader *ld, const char *prefix, const char *suffix,
	int64_t out, int64_t in)
{
	char name[512];

	if (join_name(ld, prefix, suffix, name, sizeof(name)) != 0)
		return NULL;
	return wt_load_linear(ld, name, 0, out, in);
}

#define L1(prefix, sfx, a) ld_named(ld, prefix, sfx, 1, (int64_t[]){ a })
#define LIN(prefix, sfx, out, in) ld_linear(ld, prefix, sfx, out, in)
#define L4(prefix, sfx, a, b, c, d) \
	ld_named(ld, prefix, sfx, 4, (int64_t[]){ a, b, c, d })

static void
xformer_free(struct xformer *x)
{
	struct ktensor **t[] = { &x->gn_w, &x->gn_b, &x->pin_w, &x->pin_b,
		&x->pout_w, &x->pout_b, &x->ln1_w, &x->ln1_b, &x->q1, &x->k1,
		&x->v1, &x->o1_w, &x->o1_b, &x->ln2_w, &x->ln2_b, &x->q2,
		&x->k2, &x->v2, &x->o2_w, &x->o2_b, &x->ln3_w, &x->ln3_b,
		&x->ff1_w, &x->ff1_b, &x->ff2_w, &x->ff2_b };
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		kt_free(*t[i]);
		*t[i] = NULL;
	}
}

static int
xformer_load(struct wloader *ld, const char *p, int ch, int heads,
	int ctx_dim, int groups, struct xformer *x)
{
	char b[512];
	int64_t C = ch, F = 4 * ch;

	memset(x, 0, sizeof(*x));
	x->ch = ch;
	x->heads = heads;
	x->ctx_dim = ctx_dim;
	x->groups = groups;
	/* proj_in / proj_out are 1x1 convs (SD 1.x) or linears (SD 2.x):
	 * wt_load_linear accepts either as [C, C]. */
	if (!(x->gn_w = L1(p, "norm.weight", C)) ||
	    !(x->gn_b = L1(p, "norm.bias", C)) ||
	    !(x->pin_w = LIN(p, "proj_in.weight", C, C)) ||
	    !(x->pin_b = L1(p, "proj_in.bias", C)) ||
	    !(x->pout_w = LIN(p, "proj_out.weight", C, C)) ||
	    !(x->pout_b = L1(p, "proj_out.bias", C)))
		goto bad;
	snprintf(b, sizeof(b), "%s.transformer_blocks.0", p);
	if (!(x->ln1_w = L1(b, "norm1.weight", C)) ||
	    !(x->ln1_b = L1(b, "norm1.bias", C)) ||
	    !(x->q1 = LIN(b, "attn1.to_q.weight", C, C)) ||
	    !(x->k1 = LIN(b, "attn1.to_k.weight", C, C)) ||
	    !(x->v1 = LIN(b, "attn1.to_v.weight", C, C)) ||
	    !(x->o1_w = LIN(b, "attn1.to_out.0.weight", C, C)) ||
	    !(x->o1_b = L1(b, "attn1.to_out.0.bias", C)) ||
	    !(x->ln2_w = L1(b, "norm2.weight", C)) ||
	    !(x->ln2_b = L1(b, "norm2.bias", C)) ||
	    !(x->q2 = LIN(b, "attn2.to_q.weight", C, C)) ||
	    !(x->k2 = LIN(b, "attn2.to_k.weight", C, ctx_dim)) ||
	    !(x->v2 = LIN(b, "attn2.to_v.weight", C, ctx_dim)) ||
	    !(x->o2_w = LIN(b, "attn2.to_out.0.weight", C, C)) ||
	    !(x->o2_b = L1(b, "attn2.to_out.0.bias", C)) ||
	    !(x->ln3_w = L1(b, "norm3.weight", C)) ||
	    !(x->ln3_b = L1(b, "norm3.bias", C)) ||
	    !(x->ff1_w = LIN(b, "ff.net.0.proj.weight", 2 * F, C)) ||
	    !(x->ff1_b = L1(b, "ff.net.0.proj.bias", 2 * F)) ||
	    !(x->ff2_w = LIN(b, "ff.net.2.weight", C, F)) ||
	    !(x->ff2_b = L1(b, "ff.net.2.bias", C)))
		goto bad;
	return 0;
bad:
	xformer_free(x);
	return -1;
}

/* Shapes first (they always exist), config.json second: it settles the
 * head counts and must agree with the shapes. */
static int
configure(struct wloader *ld, struct unet_config *cfg)
{
	const struct st_entry *t = wt_find(ld, "conv_in.weight", 0), *k;
	const char *cj = st_model_config(ld->m, ST_PART_UNET);
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
	if (t == NULL || t->ndim != 4)
		return errf(ld->err, ld->errlen, "unet: conv_out is missing");
	cfg->out_channels = (int)t->shape[0];
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
	kt_free(l->resample.w);
	kt_free(l->resample.b);
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
	kt_free(u->t1_w);
	kt_free(u->t1_b);
	kt_free(u->t2_w);
	kt_free(u->t2_b);
	kt_free(u->cin_w);
	kt_free(u->cin_b);
	kt_free(u->nout_w);
	kt_free(u->nout_b);
	kt_free(u->cout_w);
	kt_free(u->cout_b);
	free(u);
}

static int
load_conv(struct wloader *ld, const char *p, int o, int i,
	struct sample_conv *c)
{
	c->w = L4(p, "weight", o, i, 3, 3);
	c->b = c->w ? L1(p, "bias", o) : NULL;
	return c->b != NULL ? 0 : -1;
}

int
unet_load(struct kiln_rt *rt, const struct st_model *m, struct unet **out,
	char *err, size_t errlen)
{
	struct wloader ldv = { rt, m, ST_PART_UNET, "unet", err, errlen, 1 };
	struct wloader *ld = &ldv;
	struct unet_config *c;
	struct unet *u;
	char p[512];
	int i, j, T, skip_ch[1 + UNET_MAX_LEVELS * (UNET_MAX_LAYERS + 1)];
	int nskip = 0, ch, prev;

	*out = NULL;
	if (!st_model_has_part(m, ST_PART_UNET))
		return errf(err, errlen, "the model has no unet");
	u = calloc(1, sizeof(*u));
	if (u == NULL)
		return errf(err, errlen, "out of memory");
	u->rt = rt;
	c = &u->cfg;
	if (configure(ld, c) != 0)
		goto bad;
	T = c->temb_dim;
	if (!(u->t1_w = LIN("time_embedding.linear_1", "weight", T,
	    c->ch[0])) ||
	    !(u->t1_b = L1("time_embedding.linear_1", "bias", T)) ||
	    !(u->t2_w = LIN("time_embedding.linear_2", "weight", T, T)) ||
	    !(u->t2_b = L1("time_embedding.linear_2", "bias", T)) ||
	    !(u->cin_w = L4("conv_in", "weight", c->ch[0], c->in_channels, 3,
	    3)) ||
	    !(u->cin_b = L1("conv_in", "bias", c->ch[0])) ||
	    !(u->nout_w = L1("conv_norm_out", "weight", c->ch[0])) ||
	    !(u->nout_b = L1("conv_norm_out", "bias", c->ch[0])) ||
	    !(u->cout_w = L4("conv_out", "weight", c->out_channels, c->ch[0],
	    3, 3)) ||
	    !(u->cout_b = L1("conv_out", "bias", c->out_channels)))
		goto bad;

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
				    c->ctx_dim, c->groups, &l->at[j]) != 0)
					goto bad;
			}
			skip_ch[nskip++] = ch;
		}
		l->nres = c->layers;
		if (i < c->levels - 1) {
			snprintf(p, sizeof(p), "down_blocks.%d.downsamplers.0."
				"conv", i);
			if (load_conv(ld, p, ch, ch, &l->resample) != 0)
				goto bad;
			l->has_resample = 1;
			skip_ch[nskip++] = ch;
		}
	}
	/* Mid block. */
	if (resnet_load(ld, "mid_block.resnets.0", ch, ch, T, c->groups,
	    c->eps, &u->mid_res[0]) != 0 ||
	    xformer_load(ld, "mid_block.attentions.0", ch,
	    c->heads[c->levels - 1], c->ctx_dim, c->groups, &u->mid_at) != 0 ||
	    resnet_load(ld, "mid_block.resnets.1", ch, ch, T, c->groups,
	    c->eps, &u->mid_res[1]) != 0)
		goto bad;
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
				    c->ctx_dim, c->groups, &l->at[j]) != 0)
					goto bad;
			}
		}
		l->nres = c->layers + 1;
		if (i < c->levels - 1) {
			snprintf(p, sizeof(p), "up_blocks.%d.upsamplers.0.conv",
				i);
			if (load_conv(ld, p, oc, oc, &l->resample) != 0)
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

const struct unet_config *
unet_config(const struct unet *u)
{
	return &u->cfg;
}

/* ---- forward ---------------------------------------------------------- */

/* Spatial transformer: in [N, C, H, W] -> y (same shape):
 * GroupNorm, proj_in, self-attention, cross-attention on ctx, GEGLU
 * feed-forward (each pre-normed, residual), proj_out, + in. */
static int
xformer_forward(const struct xformer *x, const struct ktensor *in,
	const struct ktensor *ctx, struct ktensor *y)
{
	struct kiln_rt *rt = in->rt;
	int64_t N = in->ne[0], C = in->ne[1], HW = in->ne[2] * in->ne[3];
	int64_t Lc = ctx->ne[1], F = 4 * C;
	struct ktensor *h = NULL, *u = NULL, *a = NULL, *q = NULL, *k = NULL,
		*v = NULL, *o = NULL, *g = NULL, *gg = NULL;
	float scale = 1.0f / sqrtf((float)(C / x->heads));
	int rc = -1;

	h = kt_new3(rt, KD_F32, N, C, HW);
	u = kt_new3(rt, KD_F32, N, HW, C);
	a = kt_new3(rt, KD_F32, N, HW, C);
	q = kt_new3(rt, KD_F32, N, HW, C);
	o = kt_new3(rt, KD_F32, N, HW, C);
	k = kt_new3(rt, KD_F32, N, HW, C);
	v = kt_new3(rt, KD_F32, N, HW, C);
	if (!h || !u || !a || !q || !o || !k || !v)
		goto out;
	/* Norm, then channels last so every projection is one GEMM. */
	if (op_group_norm(in, x->gn_w, x->gn_b, h, x->groups, 1e-6f, 0) ||
	    op_transpose(h, a) ||
	    op_linear(a, x->pin_w, x->pin_b, u))
		goto out;
	/* Self-attention. */
	if (op_layer_norm(u, x->ln1_w, x->ln1_b, a, 1e-5f) ||
	    op_linear(a, x->q1, NULL, q) ||
	    op_linear(a, x->k1, NULL, k) ||
	    op_linear(a, x->v1, NULL, v) ||
	    op_attention(q, k, v, o, x->heads, scale, 0) ||
	    op_linear(o, x->o1_w, x->o1_b, a) ||
	    op_add(u, a, u))
		goto out;
	/* Cross-attention: keys and values from the text embeddings. */
	kt_free(k);
	kt_free(v);
	k = kt_new3(rt, KD_F32, N, Lc, C);
	v = kt_new3(rt, KD_F32, N, Lc, C);
	if (!k || !v ||
	    op_layer_norm(u, x->ln2_w, x->ln2_b, a, 1e-5f) ||
	    op_linear(a, x->q2, NULL, q) ||
	    op_linear(ctx, x->k2, NULL, k) ||
	    op_linear(ctx, x->v2, NULL, v) ||
	    op_attention(q, k, v, o, x->heads, scale, 0) ||
	    op_linear(o, x->o2_w, x->o2_b, a) ||
	    op_add(u, a, u))
		goto out;
	/* Feed-forward: GEGLU to 4C, back to C. */
	g = kt_new3(rt, KD_F32, N, HW, 2 * F);
	gg = kt_new3(rt, KD_F32, N, HW, F);
	if (!g || !gg ||
	    op_layer_norm(u, x->ln3_w, x->ln3_b, a, 1e-5f) ||
	    op_linear(a, x->ff1_w, x->ff1_b, g) ||
	    op_geglu(g, gg) ||
	    op_linear(gg, x->ff2_w, x->ff2_b, a) ||
	    op_add(u, a, u))
		goto out;
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
	kt_free(o);
	kt_free(g);
	kt_free(gg);
	return rc;
}

static int
conv3(const struct sample_conv *c, const struct ktensor *x, int stride,
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

int
unet_forward(struct unet *u, const struct ktensor *xin, const float *tsteps,
	const struct ktensor *ctx, struct ktensor **out)
{
	struct kiln_rt *rt = u->rt;
	const struct unet_config *c = &u->cfg;
	int64_t N = xin->ne[0], H = xin->ne[2], W = xin->ne[3];
	struct ktensor *skips[1 + UNET_MAX_LEVELS * (UNET_MAX_LAYERS + 1)];
	struct ktensor *tt = NULL, *tp = NULL, *e1 = NULL, *emb = NULL,
		*x = NULL, *y = NULL;
	int nskip = 0, i, j, rc = -1, div = 1 << (c->levels - 1);

	*out = NULL;
	if (xin->nd != 4 || xin->ne[1] != c->in_channels || H % div ||
	    W % div || ctx->nd != 3 || ctx->ne[0] != N ||
	    ctx->ne[2] != c->ctx_dim)
		return rt_failf(rt, "unet: input must be [N, %d, h, w] with h, "
			"w multiples of %d and context [N, L, %d]",
			c->in_channels, div, c->ctx_dim);
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
	    op_act(emb, emb, ACT_SILU))
		goto out;

	x = kt_new4(rt, KD_F32, N, c->ch[0], H, W);
	if (x == NULL || op_conv2d(xin, u->cin_w, u->cin_b, x, 1, 1))
		goto out;
	if ((skips[nskip++] = copy_of(x)) == NULL)
		goto out;
	for (i = 0; i < c->levels; i++) {
		const struct level *l = &u->down[i];

		for (j = 0; j < l->nres; j++) {
			if (level_step(u, l, j, c->attn[i], &x, emb, ctx) ||
			    (skips[nskip++] = copy_of(x)) == NULL)
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
			if ((skips[nskip++] = copy_of(x)) == NULL)
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
	for (i = 0; i < c->levels; i++) {
		const struct level *l = &u->up[i];
		int dl = c->levels - 1 - i;

		for (j = 0; j < l->nres; j++) {
			/* The skip leaves the stack only once it is used:
			 * until then the cleanup below frees it. */
			struct ktensor *s = skips[nskip - 1];

			y = kt_new4(rt, KD_F32, N, x->ne[1] + s->ne[1],
				x->ne[2], x->ne[3]);
			if (y == NULL || op_concat_channels(x, s, y))
				goto out;
			kt_free(s);
			skips[--nskip] = NULL;
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
	while (nskip > 0)
		kt_free(skips[--nskip]);
	kt_free(tt);
	kt_free(tp);
	kt_free(e1);
	kt_free(emb);
	kt_free(x);
	kt_free(y);
	return rc;
}
