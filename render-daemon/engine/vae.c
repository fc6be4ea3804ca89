/* vae.c - AutoencoderKL: weights by canonical (diffusers) name, decoder
 * (whole or tiled), encoder. */
#include "vae.h"
#include "blocks.h"
#include "tiles.h"
#include "util.h"
#include "weights.h"

#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VAE_MAX_RES 9		/* resnets per level: layers_per_block + 1 */

struct vae_attn {
	int c;
	struct ktensor *nw, *nb, *qw, *qb, *kw, *kb, *vw, *vb, *ow, *ob;
};

struct vae_level {
	int nres;
	struct resnet res[VAE_MAX_RES];
	struct resample rs;	/* up/downsampling conv; w NULL: none */
};

/* One half: the decoder's levels are kept in the order they run. */
struct vae_half {
	int loaded;
	struct ktensor *in_w, *in_b, *no_w, *no_b, *out_w, *out_b;
	struct ktensor *qc_w, *qc_b;	/* (post_)quant_conv, or NULL */
	struct resnet mid1, mid2;
	int has_attn;
	struct vae_attn attn;
	struct vae_level lv[VAE_MAX_LEVELS];
};

struct vae_model {
	struct kiln_rt *rt;
	struct vae_config cfg;
	struct vae_half dec, enc;
};

/* --- names ------------------------------------------------------------ */

/* Resnet j of the i-th level in the order the half runs them (diffusers
 * numbers decoder levels that way). */
static void
res_name(char *o, size_t n, int dec, int i, int j)
{
	snprintf(o, n, "%s.%s.%d.resnets.%d", dec ? "decoder" : "encoder",
		dec ? "up_blocks" : "down_blocks", i, j);
}

static void
sample_name(char *o, size_t n, int dec, int i)
{
	snprintf(o, n, "%s.%d.%s.0", dec ? "decoder.up_blocks" :
		"encoder.down_blocks", i, dec ? "upsamplers" : "downsamplers");
}

static void
mid_res_name(char *o, size_t n, int dec, int k)
{
	snprintf(o, n, "%s.mid_block.resnets.%d", dec ? "decoder" : "encoder",
		k);
}

static void
attn_prefix(char *o, size_t n, int dec)
{
	snprintf(o, n, "%s.mid_block.attentions.0", dec ? "decoder" :
		"encoder");
}

static const struct st_entry *
find(const struct wloader *ld, const char *a, const char *b)
{
	char name[512];

	snprintf(name, sizeof(name), "%s%s", a, b);
	return st_model_find(ld->m, ld->part, name);
}

/* --- configuration ---------------------------------------------------- */

/* What the shapes tell: levels, widths, layers, latent and image
 * channels, whether the mid block has attention. */
static void
infer(const struct wloader *ld, struct vae_config *c)
{
	char p[256];
	const struct st_entry *t;
	int dec, i, j, n = 0;

	/* The decoder's shapes are preferred: it is the half always used. */
	for (dec = 1; dec >= 0 && n == 0; dec--) {
		for (n = 0; n < VAE_MAX_LEVELS; n++) {
			res_name(p, sizeof(p), dec, n, 0);
			if (find(ld, p, ".conv1.weight") == NULL)
				break;
		}
		if (n == 0)
			continue;
		c->levels = n;
		for (i = 0; i < n; i++) {
			res_name(p, sizeof(p), dec, i, 0);
			t = find(ld, p, ".conv2.weight");
			if (t != NULL && t->ndim == 4)
				c->block_out[dec ? n - 1 - i : i] =
					(int)t->shape[0];
		}
		for (j = 0; j < VAE_MAX_RES; j++) {
			res_name(p, sizeof(p), dec, dec ? n - 1 : 0, j);
			if (find(ld, p, ".conv1.weight") == NULL)
				break;
		}
		c->layers_per_block = dec ? j - 1 : j;
	}
	if ((t = find(ld, "decoder.conv_in.weight", "")) != NULL &&
	    t->ndim == 4)
		c->latent_channels = (int)t->shape[1];
	else if ((t = find(ld, "encoder.conv_out.weight", "")) != NULL &&
	    t->ndim == 4)
		c->latent_channels = (int)t->shape[0] / 2;
	if ((t = find(ld, "decoder.conv_out.weight", "")) != NULL &&
	    t->ndim == 4)
		c->out_channels = (int)t->shape[0];
	if ((t = find(ld, "encoder.conv_in.weight", "")) != NULL &&
	    t->ndim == 4)
		c->in_channels = (int)t->shape[1];
	c->mid_attention = 0;
	for (dec = 0; dec <= 1; dec++) {
		attn_prefix(p, sizeof(p), dec);
		if (find(ld, p, ".group_norm.weight"))
			c->mid_attention = 1;
	}
}

/* Fills c from the shapes, then from config.json when there is one. */
static int
configure(struct wloader *ld, struct vae_config *c)
{
	const char *cj = st_model_config(ld->m, ST_PART_VAE);
	int i;

	memset(c, 0, sizeof(*c));
	c->in_channels = 3;
	c->out_channels = 3;
	c->groups = 32;
	c->eps = 1e-6f;
	/* A single file says nothing of the latent scale but its family
	 * does: SDXL's VAE was trained to another one. */
	c->scaling_factor = st_model_family(ld->m) == ST_FAMILY_SDXL ?
		0.13025f : 0.18215f;
	infer(ld, c);
	if (cj != NULL) {
		json_object *o = json_tokener_parse(cj), *v;

		if (o == NULL)
			return errf(ld->err, ld->errlen, "vae: config.json is "
				"not valid JSON");
		if (json_object_object_get_ex(o, "block_out_channels", &v) &&
		    json_object_is_type(v, json_type_array)) {
			size_t k, len = json_object_array_length(v);

			if (len < 1 || len > VAE_MAX_LEVELS) {
				json_object_put(o);
				return errf(ld->err, ld->errlen, "vae: "
					"config.json: %zu block_out_channels "
					"(1 to %d supported)", len,
					VAE_MAX_LEVELS);
			}
			c->levels = (int)len;
			for (k = 0; k < len; k++)
				c->block_out[k] = json_object_get_int(
					json_object_array_get_idx(v, k));
		}
		wt_config_int(o, "layers_per_block", 0, &c->layers_per_block);
		wt_config_int(o, "latent_channels", 0, &c->latent_channels);
		wt_config_int(o, "norm_num_groups", 0, &c->groups);
		wt_config_int(o, "in_channels", 0, &c->in_channels);
		wt_config_int(o, "out_channels", 0, &c->out_channels);
		if (json_object_object_get_ex(o, "scaling_factor", &v) &&
		    (json_object_is_type(v, json_type_double) ||
		    json_object_is_type(v, json_type_int)))
			c->scaling_factor = (float)json_object_get_double(v);
		if (json_object_object_get_ex(o, "mid_block_add_attention",
		    &v) && json_object_is_type(v, json_type_boolean))
			c->mid_attention = json_object_get_boolean(v);
		json_object_put(o);
	}
	if (c->levels < 1)
		return errf(ld->err, ld->errlen, "vae: no decoder or encoder "
			"blocks found (%s names)", st_model_layout(ld->m) ==
			ST_LAYOUT_LDM ? "LDM" : "diffusers");
	if (c->layers_per_block < 1 || c->layers_per_block >= VAE_MAX_RES ||
	    c->latent_channels < 1 || c->in_channels < 1 ||
	    c->out_channels < 1 || c->groups < 1 || c->scaling_factor <= 0)
		return errf(ld->err, ld->errlen, "vae: unusable configuration "
			"(layers_per_block %d, latent_channels %d, groups %d)",
			c->layers_per_block, c->latent_channels, c->groups);
	for (i = 0; i < c->levels; i++)
		if (c->block_out[i] < 1 || c->block_out[i] % c->groups != 0)
			return errf(ld->err, ld->errlen, "vae: %d channels at "
				"level %d do not split into %d groups",
				c->block_out[i], i, c->groups);
	c->factor = 1 << (c->levels - 1);
	return 0;
}

/* --- loading ---------------------------------------------------------- */

/* The mid-block attention: a GroupNorm and four linears of the width,
 * which single files hold as 1x1 convs [C, C, 1, 1] (wt_load_linear
 * takes them as [C, C]). */
enum { A_C };

#define A(nm, kd, f) WD(struct vae_attn, nm, kd, f, A_C, A_C)
static const struct wdecl attn_w[] = {
	A("group_norm.weight", WD_VEC, nw),
	A("group_norm.bias", WD_VEC, nb),
	A("to_q.weight", WD_LINEAR, qw),
	A("to_q.bias", WD_VEC, qb),
	A("to_k.weight", WD_LINEAR, kw),
	A("to_k.bias", WD_VEC, kb),
	A("to_v.weight", WD_LINEAR, vw),
	A("to_v.bias", WD_VEC, vb),
	A("to_out.0.weight", WD_LINEAR, ow),
	A("to_out.0.bias", WD_VEC, ob),
};
#undef A

/* A half's own weights around its blocks: widths of the latent (2x for
 * the encoder's mean and log-variance), the image, the first and the
 * last level. Some VAEs go without the 1x1 latent conv
 * (use_post_quant_conv false); SD's has it: H_QC when the file does. */
enum { H_LAT, H_IMG, H_C0, H_TOP };
enum { H_QC = 1 };

#define H(nm, kd, f, d0, d1) WD(struct vae_half, nm, kd, f, d0, d1)
#define HN(nm, kd, f, d0, d1, nd) WDN(struct vae_half, nm, kd, f, d0, d1, nd)
static const struct wdecl dec_w[] = {
	HN("post_quant_conv.weight", WD_CONV1, qc_w, H_LAT, H_LAT, H_QC),
	HN("post_quant_conv.bias", WD_VEC, qc_b, H_LAT, 0, H_QC),
	H("decoder.conv_in.weight", WD_CONV3, in_w, H_TOP, H_LAT),
	H("decoder.conv_in.bias", WD_VEC, in_b, H_TOP, 0),
	H("decoder.conv_norm_out.weight", WD_VEC, no_w, H_C0, 0),
	H("decoder.conv_norm_out.bias", WD_VEC, no_b, H_C0, 0),
	H("decoder.conv_out.weight", WD_CONV3, out_w, H_IMG, H_C0),
	H("decoder.conv_out.bias", WD_VEC, out_b, H_IMG, 0),
};

static const struct wdecl enc_w[] = {
	H("encoder.conv_in.weight", WD_CONV3, in_w, H_C0, H_IMG),
	H("encoder.conv_in.bias", WD_VEC, in_b, H_C0, 0),
	H("encoder.conv_norm_out.weight", WD_VEC, no_w, H_TOP, 0),
	H("encoder.conv_norm_out.bias", WD_VEC, no_b, H_TOP, 0),
	H("encoder.conv_out.weight", WD_CONV3, out_w, H_LAT, H_TOP),
	H("encoder.conv_out.bias", WD_VEC, out_b, H_LAT, 0),
	HN("quant_conv.weight", WD_CONV1, qc_w, H_LAT, H_LAT, H_QC),
	HN("quant_conv.bias", WD_VEC, qc_b, H_LAT, 0, H_QC),
};
#undef H
#undef HN

static void
half_free(struct vae_half *h)
{
	int l, j;

	/* dec_w and enc_w name the same members. */
	wt_free_table(WT_TABLE(dec_w), h);
	resnet_free(&h->mid1);
	resnet_free(&h->mid2);
	wt_free_table(WT_TABLE(attn_w), &h->attn);
	for (l = 0; l < VAE_MAX_LEVELS; l++) {
		for (j = 0; j < VAE_MAX_RES; j++)
			resnet_free(&h->lv[l].res[j]);
		resample_free(&h->lv[l].rs);
	}
	h->loaded = 0;
}

/* Loads the mid block at width c. */
static int
mid_load(struct wloader *ld, int dec, const struct vae_config *c,
	struct vae_half *h)
{
	int w = c->block_out[c->levels - 1];
	int64_t dims[] = { [A_C] = w };
	char p[256];

	mid_res_name(p, sizeof(p), dec, 0);
	if (resnet_load(ld, p, w, w, 0, c->groups, c->eps, &h->mid1))
		return -1;
	h->has_attn = c->mid_attention;
	h->attn.c = w;
	attn_prefix(p, sizeof(p), dec);
	if (h->has_attn && wt_load_table(ld, p, WT_TABLE(attn_w), dims, 0,
	    &h->attn))
		return -1;
	mid_res_name(p, sizeof(p), dec, 1);
	return resnet_load(ld, p, w, w, 0, c->groups, c->eps, &h->mid2);
}

/* Loads level i of the decoder (dec) or encoder: nres resnets, the first
 * taking cin channels, then the level's resampling conv unless it is the
 * last level. */
static int
level_load(struct wloader *ld, int dec, const struct vae_config *c, int i,
	int cin, int cout, int nres, struct vae_level *lv)
{
	char p[256];
	int j;

	lv->nres = nres;
	for (j = 0; j < nres; j++) {
		res_name(p, sizeof(p), dec, i, j);
		if (resnet_load(ld, p, j == 0 ? cin : cout, cout, 0,
		    c->groups, c->eps, &lv->res[j]))
			return -1;
	}
	if (i == c->levels - 1)
		return 0;
	sample_name(p, sizeof(p), dec, i);
	return resample_load(ld, p, cout, &lv->rs);
}

/* Loads one half's own weights (dec_w or enc_w). */
static int
half_top_load(struct wloader *ld, int dec, const struct vae_config *c,
	struct vae_half *h)
{
	int64_t dims[] = { [H_LAT] = dec ? c->latent_channels :
		2 * c->latent_channels, [H_IMG] = dec ? c->out_channels :
		c->in_channels, [H_C0] = c->block_out[0],
		[H_TOP] = c->block_out[c->levels - 1] };
	unsigned on = find(ld, dec ? "post_quant_conv.weight" :
		"quant_conv.weight", "") != NULL ? H_QC : 0;

	return dec ? wt_load_table(ld, "", WT_TABLE(dec_w), dims, on, h) :
		wt_load_table(ld, "", WT_TABLE(enc_w), dims, on, h);
}

static int
dec_load(struct wloader *ld, const struct vae_config *c,
	struct vae_half *h)
{
	int i, cin = c->block_out[c->levels - 1];

	if (half_top_load(ld, 1, c, h) || mid_load(ld, 1, c, h))
		return -1;
	for (i = 0; i < c->levels; i++) {
		int cout = c->block_out[c->levels - 1 - i];

		if (level_load(ld, 1, c, i, cin, cout,
		    c->layers_per_block + 1, &h->lv[i]))
			return -1;
		cin = cout;
	}
	h->loaded = 1;
	return 0;
}

static int
enc_load(struct wloader *ld, const struct vae_config *c,
	struct vae_half *h)
{
	int i, cin = c->block_out[0];

	if (half_top_load(ld, 0, c, h))
		return -1;
	for (i = 0; i < c->levels; i++) {
		int cout = c->block_out[i];

		if (level_load(ld, 0, c, i, cin, cout, c->layers_per_block,
		    &h->lv[i]))
			return -1;
		cin = cout;
	}
	if (mid_load(ld, 0, c, h))
		return -1;
	h->loaded = 1;
	return 0;
}

int
vae_load(struct kiln_rt *rt, const struct st_model *m, int parts,
	struct vae_model **out, char *err, size_t errlen)
{
	struct wloader ld = { rt, m, ST_PART_VAE, "vae", err, errlen, 0, NULL,
		0 };
	struct vae_model *v;

	*out = NULL;
	if (!st_model_has_part(m, ST_PART_VAE))
		return errf(err, errlen, "vae: the model has no VAE "
			"(first_stage_model.* or vae/)");
	if ((parts & (VAE_DECODER | VAE_ENCODER)) == 0)
		return errf(err, errlen, "vae: nothing to load");
	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return errf(err, errlen, "vae: out of memory");
	v->rt = rt;
	if (configure(&ld, &v->cfg) ||
	    ((parts & VAE_DECODER) && dec_load(&ld, &v->cfg, &v->dec)) ||
	    ((parts & VAE_ENCODER) && enc_load(&ld, &v->cfg, &v->enc))) {
		vae_free(v);
		return -1;
	}
	*out = v;
	return 0;
}

void
vae_free(struct vae_model *v)
{
	if (v == NULL)
		return;
	half_free(&v->dec);
	half_free(&v->enc);
	free(v);
}

const struct vae_config *
vae_config(const struct vae_model *v)
{
	return &v->cfg;
}

/* --- forward ---------------------------------------------------------- */

/* Each step replaces *x by a new tensor computed from it, freeing the old
 * one at once so the pool can hand its buffer to the next layer. */
static int
replace(struct ktensor **x, struct ktensor *y, int rc)
{
	if (rc != 0) {
		kt_free(y);
		return -1;
	}
	kt_free(*x);
	*x = y;
	return 0;
}

static int
conv_step(struct ktensor **x, const struct ktensor *w,
	const struct ktensor *b, int stride, int pad)
{
	const struct ktensor *in = *x;
	int64_t HO = (in->ne[2] + 2 * pad - w->ne[2]) / stride + 1,
		WO = (in->ne[3] + 2 * pad - w->ne[3]) / stride + 1;
	struct ktensor *y = kt_new4(in->rt, KD_F32, in->ne[0], w->ne[0], HO,
		WO);

	if (y == NULL)
		return -1;
	return replace(x, y, op_conv2d(in, w, b, y, stride, pad));
}

static int
res_step(struct ktensor **x, const struct resnet *r)
{
	const struct ktensor *in = *x;
	struct ktensor *y = kt_new4(in->rt, KD_F32, in->ne[0], r->cout,
		in->ne[2], in->ne[3]);

	if (y == NULL)
		return -1;
	return replace(x, y, resnet_forward(r, in, NULL, y));
}

static int
norm_step(struct ktensor **x, const struct ktensor *g,
	const struct ktensor *b, const struct vae_config *c)
{
	const struct ktensor *in = *x;
	struct ktensor *y = kt_new(in->rt, KD_F32, in->nd, in->ne);

	if (y == NULL)
		return -1;
	return replace(x, y, op_group_norm(in, g, b, y, c->groups, c->eps,
		1));
}

static int
up_step(struct ktensor **x)
{
	const struct ktensor *in = *x;
	struct ktensor *y = kt_new4(in->rt, KD_F32, in->ne[0], in->ne[1],
		2 * in->ne[2], 2 * in->ne[3]);

	if (y == NULL)
		return -1;
	return replace(x, y, op_upsample2x(in, y));
}

/* Zero row below, zero column right: diffusers' Downsample2D with
 * padding 0 pads (0, 1, 0, 1) before its stride-2 conv, and CompVis's
 * Downsample does the same. */
static int
pad_step(struct ktensor **x)
{
	const struct ktensor *in = *x;
	struct ktensor *y = kt_new4(in->rt, KD_F32, in->ne[0], in->ne[1],
		in->ne[2] + 1, in->ne[3] + 1);

	if (y == NULL)
		return -1;
	return replace(x, y, op_pad_br(in, y));
}

/* The mid block's single-head self-attention over the H*W positions:
 * x + proj(attn(norm(x))), with q, k, v, proj as linears over [N, HW, C]
 * (diffusers' view of the 1x1 convs), scale 1/sqrt(C). */
static int
attn_step(struct ktensor **x, const struct vae_attn *a,
	const struct vae_config *c)
{
	struct ktensor *in = *x;
	struct kiln_rt *rt = in->rt;
	int64_t N = in->ne[0], C = in->ne[1], H = in->ne[2], W = in->ne[3];
	int64_t ncp[3] = { N, C, H * W }, npc[3] = { N, H * W, C };
	struct ktensor *hn = NULL, *t = NULL, *q = NULL, *k = NULL, *v = NULL,
		*o = NULL, *y = NULL;
	int rc = -1;

	hn = kt_new3(rt, KD_F32, N, C, H * W);
	t = kt_new(rt, KD_F32, 3, npc);
	if (hn == NULL || t == NULL || op_group_norm(in, a->nw, a->nb, hn,
	    c->groups, c->eps, 0) || op_transpose(hn, t))
		goto out;
	kt_free(hn);
	hn = NULL;
	q = kt_new(rt, KD_F32, 3, npc);
	k = kt_new(rt, KD_F32, 3, npc);
	v = kt_new(rt, KD_F32, 3, npc);
	if (q == NULL || k == NULL || v == NULL ||
	    op_linear(t, a->qw, a->qb, q) || op_linear(t, a->kw, a->kb, k) ||
	    op_linear(t, a->vw, a->vb, v))
		goto out;
	/* t holds the attention output, then q the projection. */
	if (op_attention(q, k, v, t, 1, 1.0f / sqrtf((float)C), 0) ||
	    op_linear(t, a->ow, a->ob, q))
		goto out;
	kt_free(k);
	kt_free(v);
	k = v = NULL;
	o = kt_new(rt, KD_F32, 3, ncp);
	if (o == NULL || op_transpose(q, o))
		goto out;
	y = kt_new4(rt, KD_F32, N, C, H, W);
	if (y == NULL || kt_reshape(o, 4, in->ne) || op_add(o, in, y))
		goto out;
	rc = 0;
out:
	kt_free(hn);
	kt_free(t);
	kt_free(q);
	kt_free(k);
	kt_free(v);
	kt_free(o);
	return replace(x, y, rc);
}

static int
mid_step(struct ktensor **x, const struct vae_half *h,
	const struct vae_config *c)
{
	if (res_step(x, &h->mid1))
		return -1;
	if (h->has_attn && attn_step(x, &h->attn, c))
		return -1;
	return res_step(x, &h->mid2);
}

/* A fresh copy of src, so the steps can free what they replace. */
static struct ktensor *
copy_of(const struct ktensor *src)
{
	struct ktensor *y = kt_new(src->rt, KD_F32, src->nd, src->ne);

	if (y != NULL && op_copy(src, y) != 0) {
		kt_free(y);
		return NULL;
	}
	return y;
}

static int
check_input(struct vae_model *v, const struct ktensor *x, int channels,
	const struct vae_half *h, const char *what)
{
	char s[64];

	if (!h->loaded)
		return rt_failf(v->rt, "vae: the %s was not loaded", what);
	if (x->nd != 4 || x->ne[1] != channels || x->dtype != KD_F32)
		return rt_failf(v->rt, "vae: %s input %s, want [N, %d, H, W] "
			"F32", what, kt_shape_str(x, s, sizeof(s)), channels);
	return 0;
}

/* The pool keeps every released buffer for reuse, but one level's
 * activations are a quarter (decoder: four times) the size of the
 * next's, too far apart for rt_alloc's best fit: the previous level's
 * buffers would be held, unused, on top of the largest level's. Giving
 * them back at each change of resolution keeps the device memory held
 * near the memory live, which vae_decode_bytes estimates. */
static void
level_done(struct vae_model *v)
{
	rt_trim(v->rt);
}

/* One untiled decode. */
static int
decode_whole(struct vae_model *v, const struct ktensor *z,
	struct ktensor **out)
{
	const struct vae_config *c = &v->cfg;
	const struct vae_half *h = &v->dec;
	struct ktensor *x;
	int i, j;

	*out = NULL;
	level_done(v);
	x = copy_of(z);
	if (x == NULL)
		return -1;
	if (h->qc_w != NULL && conv_step(&x, h->qc_w, h->qc_b, 1, 0))
		goto bad;
	if (conv_step(&x, h->in_w, h->in_b, 1, 1) || mid_step(&x, h, c))
		goto bad;
	for (i = 0; i < c->levels; i++) {
		const struct vae_level *lv = &h->lv[i];

		for (j = 0; j < lv->nres; j++)
			if (res_step(&x, &lv->res[j]))
				goto bad;
		if (lv->rs.w != NULL) {
			if (up_step(&x))
				goto bad;
			level_done(v);
			if (conv_step(&x, lv->rs.w, lv->rs.b, 1, 1))
				goto bad;
		}
	}
	if (norm_step(&x, h->no_w, h->no_b, c) ||
	    conv_step(&x, h->out_w, h->out_b, 1, 1))
		goto bad;
	*out = x;
	return 0;
bad:
	kt_free(x);
	return -1;
}

/* dst [N, L, h, w] = src [N, 2L, h, w][:, first or second half]. */
static int
split_half(const struct ktensor *src, struct ktensor *dst, int second)
{
	struct ktensor v;
	int64_t L = dst->ne[1], P = dst->ne[2] * dst->ne[3];

	if (kt_view_4d(&v, src, dst->ne[0], L, dst->ne[2], dst->ne[3],
	    2 * L * P, P, dst->ne[3], second ? (size_t)(L * P) : 0) != 0)
		return -1;
	return op_copy(&v, dst);
}

/* One untiled encode into the moments [N, 2 latent, H/f, W/f]: the mean,
 * then the log-variance (not yet clamped). */
static int
encode_whole(struct vae_model *v, const struct ktensor *img,
	struct ktensor **out)
{
	const struct vae_config *c = &v->cfg;
	const struct vae_half *h = &v->enc;
	struct ktensor *x;
	int i, j;

	*out = NULL;
	level_done(v);
	x = copy_of(img);
	if (x == NULL || conv_step(&x, h->in_w, h->in_b, 1, 1))
		goto bad;
	for (i = 0; i < c->levels; i++) {
		const struct vae_level *l = &h->lv[i];

		for (j = 0; j < l->nres; j++)
			if (res_step(&x, &l->res[j]))
				goto bad;
		if (l->rs.w != NULL) {
			if (pad_step(&x) ||
			    conv_step(&x, l->rs.w, l->rs.b, 2, 0))
				goto bad;
			level_done(v);
		}
	}
	if (mid_step(&x, h, c) || norm_step(&x, h->no_w, h->no_b, c) ||
	    conv_step(&x, h->out_w, h->out_b, 1, 1) ||
	    (h->qc_w != NULL && conv_step(&x, h->qc_w, h->qc_b, 1, 0)))
		goto bad;
	*out = x;
	return 0;
bad:
	kt_free(x);
	return -1;
}

/* --- tiles ------------------------------------------------------------ */

/* ny x nx tiles of th x tw latents, neighbours overlapping by at least
 * ov latents. */
struct tiling {
	int th, tw, ny, nx, ov;
};

/* Runs the decoder (enc 0) or the encoder on every tile of `in` (the
 * latent, or the image at factor pixels per latent) and blends the
 * results with linear ramps across the overlaps into *out: the image,
 * or the moments. */
static int
run_tiles(struct vae_model *v, const struct ktensor *in, int enc,
	const struct tiling *tl, struct ktensor **out)
{
	const struct vae_config *c = &v->cfg;
	struct kiln_rt *rt = v->rt;
	int f = c->factor, si = enc ? f : 1, so = enc ? 1 : f;
	int h = (int)in->ne[2] / si, w = (int)in->ne[3] / si;
	int64_t N = in->ne[0], oc = enc ? 2 * c->latent_channels :
		c->out_channels;
	struct ktensor *acc = NULL, *ws = NULL, *it = NULL, *t = NULL;
	int iy, ix, rc = -1;

	*out = NULL;
	acc = kt_new4(rt, KD_F32, N, oc, (int64_t)so * h, (int64_t)so * w);
	ws = kt_new2(rt, KD_F32, (int64_t)so * h, (int64_t)so * w);
	it = kt_new4(rt, KD_F32, N, in->ne[1], (int64_t)si * tl->th,
		(int64_t)si * tl->tw);
	if (acc == NULL || ws == NULL || it == NULL || op_fill(acc, 0.0f) ||
	    op_fill(ws, 0.0f))
		goto out;
	for (iy = 0; iy < tl->ny; iy++) {
		for (ix = 0; ix < tl->nx; ix++) {
			int y0 = tile_start(iy, tl->ny, h, tl->th),
				x0 = tile_start(ix, tl->nx, w, tl->tw);
			/* Ramps only where a neighbour overlaps; the
			 * neighbour overlaps by at least ov. */
			int r = so * tl->ov, ramps[4] = {
				iy > 0 ? r : 0, iy < tl->ny - 1 ? r : 0,
				ix > 0 ? r : 0, ix < tl->nx - 1 ? r : 0 };

			if (tile_crop(in, it, si * y0, si * x0) ||
			    (enc ? encode_whole(v, it, &t) :
			    decode_whole(v, it, &t)) ||
			    op_tile_accum(t, acc, ws, so * y0, so * x0, ramps))
				goto out;
			kt_free(t);
			t = NULL;
		}
	}
	if (op_tile_norm(acc, ws))
		goto out;
	*out = acc;
	acc = NULL;
	rc = 0;
out:
	kt_free(t);
	kt_free(it);
	kt_free(ws);
	kt_free(acc);
	return rc;
}

/* Checks a caller's tile and overlap against a latent of h x w and
 * fills tl. */
static int
tiling_of(struct kiln_rt *rt, int h, int w, int tile, int overlap,
	struct tiling *tl)
{
	if (tile < 2 || overlap < 1 || overlap > tile / 2)
		return rt_failf(rt, "vae: tile %d with overlap %d: want tile "
			">= 2 and 1 <= overlap <= tile / 2", tile, overlap);
	tl->th = tile < h ? tile : h;
	tl->tw = tile < w ? tile : w;
	tl->ov = overlap;
	tl->ny = tile_count(h, tl->th, overlap);
	tl->nx = tile_count(w, tl->tw, overlap);
	return 0;
}

int
vae_decode_tiled(struct vae_model *v, const struct ktensor *z, int tile,
	int overlap, struct ktensor **out)
{
	struct tiling tl;
	int h, w;

	*out = NULL;
	if (check_input(v, z, v->cfg.latent_channels, &v->dec, "decoder"))
		return -1;
	h = (int)z->ne[2];
	w = (int)z->ne[3];
	if (tile >= h && tile >= w)
		return decode_whole(v, z, out);
	if (tiling_of(v->rt, h, w, tile, overlap, &tl))
		return -1;
	return run_tiles(v, z, 0, &tl, out);
}

/* --- memory ----------------------------------------------------------- */

/* rt_alloc hands out a pooled buffer up to twice the size asked for, so
 * the device memory held runs above the sum of the live tensors: on SD's
 * VAE by 1.06x (192x192) to 1.15x (512x512), measured with
 * kiln-render vae-decode's peak_bytes. */
#define POOL_SLACK 1.2

/* op_conv2d's im2col buffer is banded: at most this many floats, unless
 * one output line of columns is larger. */
static double
band_floats(double ckk, double P, double W)
{
	double band = OP_CONV_BAND_BYTES / sizeof(float);

	return fmin(ckk * P, fmax(band, ckk * W));
}

/* A float32 copy of the widest conv's weight, which op_conv2d makes of
 * a float16 one. */
static double
weight_floats(const struct vae_config *c)
{
	double m = 0;
	int i;

	for (i = 0; i < c->levels; i++)
		m = fmax(m, c->block_out[i]);
	return 9 * m * m;
}

/* Live floats of a resnet at P pixels W wide: x, h, h2, y, shortcut,
 * and the per-sample im2col of its widest conv. */
static double
res_floats(double N, double P, double W, double cin, double cout)
{
	double m = cin > cout ? cin : cout;

	return N * P * (cin + m + 3 * cout) + band_floats(9 * m, P, W);
}

/* The mid block at P pixels W wide and c channels: its resnets, and
 * the attention's x, t, q, k, v, o, y with a scores block of at most
 * the default 64 MiB. */
static double
mid_floats(double N, double P, double W, double c)
{
	return fmax(res_floats(N, P, W, c, c),
		7 * N * P * c + fmin(P * P, 16777216.0));
}

size_t
vae_decode_bytes(const struct vae_config *c, int N, int h, int w)
{
	double P = (double)h * w, W = w, peak = 0, f, n = N;
	double cin = c->block_out[c->levels - 1];
	int i, j;

#define PEAK(x) do { f = (x); if (f > peak) peak = f; } while (0)
	PEAK(n * P * (c->latent_channels + cin) +
	    band_floats(9 * c->latent_channels, P, W));
	PEAK(mid_floats(n, P, W, cin));
	for (i = 0; i < c->levels; i++) {
		double cout = c->block_out[c->levels - 1 - i];

		for (j = 0; j <= c->layers_per_block; j++) {
			PEAK(res_floats(n, P, W, cin, cout));
			cin = cout;
		}
		if (i < c->levels - 1) {
			PEAK(n * P * cin + 2 * n * 4 * P * cin +
				band_floats(9 * cin, 4 * P, 2 * W));
			P *= 4;
			W *= 2;
		}
	}
	PEAK(2 * n * P * cin + band_floats(9 * cin, P, W) +
	    n * P * c->out_channels);
#undef PEAK
	return (size_t)((POOL_SLACK * peak + weight_floats(c)) *
	    sizeof(float));
}

size_t
vae_encode_bytes(const struct vae_config *c, int N, int H, int W)
{
	double P = (double)H * W, w = W, peak = 0, f, n = N;
	double cin = c->in_channels, L2 = 2.0 * c->latent_channels;
	int i, j;

#define PEAK(x) do { f = (x); if (f > peak) peak = f; } while (0)
	PEAK(n * P * (cin + c->block_out[0]) + band_floats(9 * cin, P, w));
	cin = c->block_out[0];
	for (i = 0; i < c->levels; i++) {
		double cout = c->block_out[i];

		for (j = 0; j < c->layers_per_block; j++) {
			PEAK(res_floats(n, P, w, cin, cout));
			cin = cout;
		}
		if (i < c->levels - 1) {
			/* The padded copy, then the stride-2 conv. */
			double Pp = P + w + (P / w) + 1;

			PEAK(n * (P + Pp) * cin);
			P /= 4;
			w /= 2;
			PEAK(n * (Pp + P) * cin + band_floats(9 * cin, P, w));
		}
	}
	PEAK(mid_floats(n, P, w, cin));
	PEAK(n * P * (2 * cin + L2) + band_floats(9 * cin, P, w));
#undef PEAK
	return (size_t)((POOL_SLACK * peak + weight_floats(c)) *
	    sizeof(float));
}

/* Bytes of a tiled pass over a latent of h x w in tiles of th x tw: a
 * tile's own, plus the blended result, its weights and the input tile
 * that stay live across the tiles. */
static size_t
tiled_bytes(const struct vae_config *c, int enc, int N, int h, int w,
	int th, int tw)
{
	double f = c->factor, n = N, acc, tile;

	if (enc) {
		acc = n * 2 * c->latent_channels * h * w + (double)h * w;
		tile = n * c->in_channels * f * th * f * tw;
		return vae_encode_bytes(c, N, (int)f * th, (int)f * tw) +
			(size_t)((acc + tile) * sizeof(float));
	}
	acc = (n * c->out_channels + 1) * f * h * f * w;
	tile = n * c->latent_channels * th * tw;
	return vae_decode_bytes(c, N, th, tw) +
		(size_t)((acc + tile) * sizeof(float));
}

/* The size of each of cnt tiles covering len with overlaps >= ov. */
static int
tile_len(int len, int cnt, int ov)
{
	if (cnt <= 1)
		return len;
	return (len + (cnt - 1) * ov + cnt - 1) / cnt;
}

/* The tiling of a latent of h x w whose pass fits budget with the least
 * work: the fewest latents decoded (or encoded) in all, overlaps
 * included, then the fewest tiles. Tiles are as large as the budget
 * allows and need not be square: strips when the width fits. When no
 * tiling fits, the smallest tiles (2 ov latents a side, at least 8). */
static void
plan(const struct vae_config *c, int enc, int N, int h, int w,
	size_t budget, int ov, struct tiling *tl)
{
	double best = -1;
	int ny, nx, th, tw, min = 2 * ov > 8 ? 2 * ov : 8;

	for (ny = 1; ny <= h; ny++) {
		th = tile_len(h, ny, ov);
		if (ny > 1 && (th < min || th < 2 * ov))
			break;
		for (nx = 1; nx <= w; nx++) {
			double work;
			int cy, cx;

			tw = tile_len(w, nx, ov);
			if (nx > 1 && (tw < min || tw < 2 * ov))
				break;
			if (tiled_bytes(c, enc, N, h, w, th, tw) > budget)
				continue;
			cy = tile_count(h, th, ov);
			cx = tile_count(w, tw, ov);
			work = (double)cy * th * cx * tw;
			if (best < 0 || work < best ||
			    (work == best && cy * cx < tl->ny * tl->nx))
				*tl = (struct tiling){ th, tw, cy, cx, ov };
			if (best < 0 || work < best)
				best = work;
			/* More columns only add overlap. */
			break;
		}
	}
	if (best < 0) {
		th = h < min ? h : min;
		tw = w < min ? w : min;
		*tl = (struct tiling){ th, tw, tile_count(h, th, ov),
			tile_count(w, tw, ov), ov };
	}
}

int
vae_tile_for_budget(const struct vae_config *c, int N, size_t budget)
{
	int t;

	for (t = 256; t > 8; t -= 8)
		if (tiled_bytes(c, 0, N, t, t, t, t) <= budget)
			return t;
	return 8;
}

int
vae_decode(struct vae_model *v, const struct ktensor *z, size_t budget,
	struct ktensor **out)
{
	struct tiling tl;
	int h, w, N;

	*out = NULL;
	if (check_input(v, z, v->cfg.latent_channels, &v->dec, "decoder"))
		return -1;
	N = (int)z->ne[0];
	h = (int)z->ne[2];
	w = (int)z->ne[3];
	if (budget == 0 || vae_decode_bytes(&v->cfg, N, h, w) <= budget)
		return decode_whole(v, z, out);
	plan(&v->cfg, 0, N, h, w, budget, VAE_TILE_OVERLAP, &tl);
	if (tl.ny * tl.nx == 1)
		return decode_whole(v, z, out);
	return run_tiles(v, z, 0, &tl, out);
}

/* --- encoder ---------------------------------------------------------- */

/* The mean and the clamped log-variance of the moments. */
static int
split_moments(struct vae_model *v, const struct ktensor *x,
	struct ktensor **mean, struct ktensor **logvar)
{
	struct kiln_rt *rt = v->rt;
	int L = v->cfg.latent_channels;
	struct ktensor *m = NULL, *lv = NULL;

	m = kt_new4(rt, KD_F32, x->ne[0], L, x->ne[2], x->ne[3]);
	if (m == NULL || split_half(x, m, 0))
		goto bad;
	if (logvar != NULL) {
		/* diffusers' DiagonalGaussianDistribution clamps the
		 * log-variance to [-30, 20]. */
		lv = kt_new4(rt, KD_F32, x->ne[0], L, x->ne[2], x->ne[3]);
		if (lv == NULL || split_half(x, lv, 1) ||
		    op_clamp(lv, -30.0f, 20.0f))
			goto bad;
		*logvar = lv;
	}
	*mean = m;
	return 0;
bad:
	kt_free(m);
	kt_free(lv);
	return -1;
}

/* Checks an encoder input; h and w get its size in latents. */
static int
check_image(struct vae_model *v, const struct ktensor *img, int *h, int *w)
{
	const struct vae_config *c = &v->cfg;

	if (check_input(v, img, c->in_channels, &v->enc, "encoder"))
		return -1;
	if (img->ne[2] % c->factor != 0 || img->ne[3] % c->factor != 0)
		return rt_failf(v->rt, "vae: image %lldx%lld is not a "
			"multiple of %d", (long long)img->ne[3],
			(long long)img->ne[2], c->factor);
	*h = (int)img->ne[2] / c->factor;
	*w = (int)img->ne[3] / c->factor;
	return 0;
}

/* Encodes by the tiling, whole when it is one tile. */
static int
encode_by(struct vae_model *v, const struct ktensor *img,
	const struct tiling *tl, struct ktensor **mean,
	struct ktensor **logvar)
{
	struct ktensor *x = NULL;
	int rc;

	if ((tl->ny * tl->nx == 1 ? encode_whole(v, img, &x) :
	    run_tiles(v, img, 1, tl, &x)) != 0)
		return -1;
	rc = split_moments(v, x, mean, logvar);
	kt_free(x);
	return rc;
}

int
vae_encode(struct vae_model *v, const struct ktensor *img, size_t budget,
	struct ktensor **mean, struct ktensor **logvar)
{
	struct tiling tl = { 0, 0, 1, 1, VAE_TILE_OVERLAP };
	int h, w, N = (int)img->ne[0];

	*mean = NULL;
	if (logvar != NULL)
		*logvar = NULL;
	if (check_image(v, img, &h, &w))
		return -1;
	if (budget > 0 && vae_encode_bytes(&v->cfg, N, (int)img->ne[2],
	    (int)img->ne[3]) > budget)
		plan(&v->cfg, 1, N, h, w, budget, VAE_TILE_OVERLAP, &tl);
	return encode_by(v, img, &tl, mean, logvar);
}

int
vae_encode_tiled(struct vae_model *v, const struct ktensor *img, int tile,
	int overlap, struct ktensor **mean, struct ktensor **logvar)
{
	struct tiling tl = { 0, 0, 1, 1, overlap };
	int h, w;

	*mean = NULL;
	if (logvar != NULL)
		*logvar = NULL;
	if (check_image(v, img, &h, &w))
		return -1;
	if ((tile < h || tile < w) &&
	    tiling_of(v->rt, h, w, tile, overlap, &tl))
		return -1;
	return encode_by(v, img, &tl, mean, logvar);
}
