/* controlnet.c - a ControlNet: unet.c's encoder half loaded from the
 * ControlNet's file, its hint embedding and its zero convolutions. */
#include "controlnet.h"
#include "util.h"
#include "weights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Convolutions of the hint embedding: conv_in, then pairs of blocks (a
 * 3x3 keeping the width, a stride-2 3x3 widening it: diffusers'
 * ControlNetConditioningEmbedding with (16, 32, 96, 256) has 6), then
 * conv_out to the UNet's width. */
#define CN_MAX_HINT_BLOCKS 16

struct hconv {
	struct ktensor *w, *b;
	int stride;
};

struct controlnet {
	struct kiln_rt *rt;
	char *path;
	struct st_model *m;
	struct unet *enc;
	struct hconv hint[CN_MAX_HINT_BLOCKS + 2];
	int nhint;
	struct hconv zc[UNET_MAX_SKIPS];	/* controlnet_down_blocks */
	struct hconv zmid;			/* controlnet_mid_block */
	int factor;
};

static void
hconv_free(struct hconv *c)
{
	kt_free(c->w);
	kt_free(c->b);
	c->w = c->b = NULL;
}

void
controlnet_free(struct controlnet *cn)
{
	int i;

	if (cn == NULL)
		return;
	for (i = 0; i < cn->nhint; i++)
		hconv_free(&cn->hint[i]);
	for (i = 0; i < UNET_MAX_SKIPS; i++)
		hconv_free(&cn->zc[i]);
	hconv_free(&cn->zmid);
	unet_free(cn->enc);
	st_model_close(cn->m);
	free(cn->path);
	free(cn);
}

/* Loads the convolution tmpl(i) (".weight" and ".bias" appended), a
 * [O, C, k, k] weight of the file's shape; cin, when > 0, is the input
 * width it must take, cout likewise its output width, k its size. */
static int
hconv_load(struct wloader *ld, const char *tmpl, int i, int cin, int cout,
	int k, int stride, struct hconv *c)
{
	char nm[256], t[272];
	const struct st_entry *e;

	wt_expand(nm, sizeof(nm), tmpl, i);
	snprintf(t, sizeof(t), "%s.weight", nm);
	e = wt_find(ld, t, 0);
	if (e == NULL || e->ndim != 4 || e->shape[2] != k ||
	    e->shape[3] != k || (cin > 0 && e->shape[1] != cin) ||
	    (cout > 0 && e->shape[0] != cout))
		return errf(ld->err, ld->errlen, "controlnet: %s is %s",
			t, e == NULL ? "missing" : "misshapen");
	c->stride = stride;
	c->w = wt_load4(ld, t, 0, e->shape[0], e->shape[1], k, k);
	snprintf(t, sizeof(t), "%s.bias", nm);
	c->b = c->w != NULL ? wt_load1(ld, t, 0, e->shape[0]) : NULL;
	if (c->b == NULL) {
		hconv_free(c);
		return -1;
	}
	return 0;
}

static int load(struct kiln_rt *rt, const char *path,
	struct controlnet **out, char *err, size_t errlen);

int
controlnet_load(struct kiln_rt *rt, const char *path,
	struct controlnet **out, char *err, size_t errlen)
{
	/* Not in the LoRA registry of the model loaded before (a record
	 * would outlive the ControlNet, which renders drop and reload). */
	struct wt_registry *reg = rt->weights;
	int rc;

	rt->weights = NULL;
	rc = load(rt, path, out, err, errlen);
	rt->weights = reg;
	return rc;
}

static int
load(struct kiln_rt *rt, const char *path, struct controlnet **out,
	char *err, size_t errlen)
{
	struct wloader ldv = { rt, NULL, ST_PART_CONTROL, "controlnet", err,
		errlen, 1, NULL, 0 };
	struct controlnet *cn;
	const struct unet_config *c;
	char e2[768];
	int i, nblocks, ch;

	*out = NULL;
	cn = calloc(1, sizeof(*cn));
	if (cn == NULL || (cn->path = strdup(path)) == NULL) {
		free(cn);
		return errf(err, errlen, "out of memory");
	}
	cn->rt = rt;
	cn->m = st_model_open(path, err, errlen);
	if (cn->m == NULL)
		goto bad;
	if (!st_model_has_part(cn->m, ST_PART_CONTROL)) {
		errf(err, errlen, "%s: not a ControlNet (no "
			"controlnet_cond_embedding.* or "
			"[control_model.]input_hint_block.* tensors)", path);
		goto bad;
	}
	ldv.m = cn->m;
	if (unet_load_encoder(rt, cn->m, ST_PART_CONTROL, &cn->enc, e2,
	    sizeof(e2)) != 0) {
		errf(err, errlen, "%s: %s", path, e2);
		goto bad;
	}
	c = unet_config(cn->enc);
	/* Hint embedding: conv_in, blocks.0 .. blocks.2k-1 (the odd ones
	 * stride 2), conv_out; SiLU after all but the last. */
	for (nblocks = 0; nblocks <= CN_MAX_HINT_BLOCKS; nblocks++)
		if (wt_find(&ldv, "controlnet_cond_embedding.blocks.%d.weight",
		    nblocks) == NULL)
			break;
	if (nblocks > CN_MAX_HINT_BLOCKS || nblocks % 2 != 0) {
		errf(err, errlen, "%s: the hint embedding has %d blocks (an "
			"even number up to %d is supported)", path, nblocks,
			CN_MAX_HINT_BLOCKS);
		goto bad;
	}
	if (hconv_load(&ldv, "controlnet_cond_embedding.conv_in", 0, 3, 0, 3,
	    1, &cn->hint[cn->nhint]) != 0)
		goto bad_named;
	ch = (int)cn->hint[cn->nhint++].w->ne[0];
	cn->factor = 1;
	for (i = 0; i < nblocks; i++) {
		if (hconv_load(&ldv, "controlnet_cond_embedding.blocks.%d", i,
		    ch, 0, 3, i % 2 ? 2 : 1, &cn->hint[cn->nhint]) != 0)
			goto bad_named;
		ch = (int)cn->hint[cn->nhint++].w->ne[0];
		if (i % 2)
			cn->factor *= 2;
	}
	if (hconv_load(&ldv, "controlnet_cond_embedding.conv_out", 0, ch,
	    c->ch[0], 3, 1, &cn->hint[cn->nhint]) != 0)
		goto bad_named;
	cn->nhint++;
	/* Zero convolutions: one per skip, then the mid block's. */
	for (i = 0; i < c->skips; i++)
		if (hconv_load(&ldv, "controlnet_down_blocks.%d", i, 0, 0, 1, 1,
		    &cn->zc[i]) != 0)
			goto bad_named;
	if (wt_find(&ldv, "controlnet_down_blocks.%d.weight", c->skips) !=
	    NULL) {
		errf(err, errlen, "%s: more zero convolutions than the %d "
			"skips of its encoder", path, c->skips);
		goto bad;
	}
	if (hconv_load(&ldv, "controlnet_mid_block", 0, c->ch[c->levels - 1],
	    c->ch[c->levels - 1], 1, 1, &cn->zmid) != 0)
		goto bad_named;
	*out = cn;
	return 0;
bad_named:
	snprintf(e2, sizeof(e2), "%s", err);
	errf(err, errlen, "%s: %s", path, e2);
bad:
	controlnet_free(cn);
	return -1;
}

const char *
controlnet_path(const struct controlnet *cn)
{
	return cn->path;
}

const struct unet_config *
controlnet_config(const struct controlnet *cn)
{
	return unet_config(cn->enc);
}

int
controlnet_factor(const struct controlnet *cn)
{
	return cn->factor;
}

/* The family a UNet configuration belongs to, for messages. */
static const char *
family(const struct unet_config *c)
{
	if (c->adm_in > 0)
		return "SDXL";
	if (c->ctx_dim == 1024)
		return "SD 2.x";
	if (c->ctx_dim == 768)
		return "SD 1.x";
	return "custom";
}

int
controlnet_check(const struct controlnet *cn, const struct unet *u,
	char *err, size_t errlen)
{
	const struct unet_config *a = controlnet_config(cn), *b =
		unet_config(u);
	int i, ok = a->ctx_dim == b->ctx_dim && a->levels == b->levels &&
		a->layers == b->layers && a->adm_in == b->adm_in &&
		a->skips == b->skips;

	for (i = 0; ok && i < a->levels; i++)
		ok = a->ch[i] == b->ch[i];
	if (ok)
		return 0;
	return errf(err, errlen, "%s: this ControlNet was made for a %s "
		"model (context width %d, %d levels from %d channels%s), not "
		"for this %s UNet (context width %d, %d levels from %d "
		"channels%s)", cn->path, family(a), a->ctx_dim, a->levels,
		a->ch[0], a->adm_in ? ", size conditioning" : "", family(b),
		b->ctx_dim, b->levels, b->ch[0],
		b->adm_in ? ", size conditioning" : "");
}

/* y = conv(x) with c's stride and padding k / 2, into a new tensor. */
static struct ktensor *
hconv_run(const struct hconv *c, const struct ktensor *x)
{
	int64_t k = c->w->ne[2], s = c->stride, pad = k / 2;
	struct ktensor *y = kt_new4(x->rt, KD_F32, x->ne[0], c->w->ne[0],
		(x->ne[2] + 2 * pad - k) / s + 1,
		(x->ne[3] + 2 * pad - k) / s + 1);

	if (y != NULL && op_conv2d(x, c->w, c->b, y, (int)s, (int)pad) != 0) {
		kt_free(y);
		return NULL;
	}
	return y;
}

int
controlnet_hint(struct controlnet *cn, const struct ktensor *hint,
	struct ktensor **out)
{
	struct ktensor *x = NULL, *y;
	int i;

	*out = NULL;
	if (hint->nd != 4 || hint->ne[1] != 3 || hint->ne[2] % cn->factor ||
	    hint->ne[3] % cn->factor)
		return rt_failf(cn->rt, "controlnet: the hint must be [B, 3, "
			"H, W] with H and W multiples of %d", cn->factor);
	for (i = 0; i < cn->nhint; i++) {
		y = hconv_run(&cn->hint[i], i == 0 ? hint : x);
		kt_free(x);
		x = y;
		if (x == NULL)
			return -1;
		if (i < cn->nhint - 1 && op_act(x, x, ACT_SILU) != 0) {
			kt_free(x);
			return -1;
		}
	}
	*out = x;
	return 0;
}

/* acc += weight * conv(x), acc made on the first use. */
static int
accumulate(const struct hconv *c, const struct ktensor *x, float weight,
	struct ktensor **acc)
{
	struct ktensor *y = hconv_run(c, x);
	int rc = -1;

	if (y == NULL || op_scale(y, weight, y) != 0)
		goto out;
	if (*acc == NULL) {
		*acc = y;
		return 0;
	}
	rc = op_add(*acc, y, *acc);
out:
	kt_free(y);
	return rc;
}

int
controlnet_forward(struct controlnet *cn, const struct ktensor *x,
	const float *t, const struct ktensor *ctx,
	const struct unet_added *add, const struct ktensor *emb,
	float weight, struct unet_residuals *acc)
{
	struct kiln_rt *rt = cn->rt;
	const struct unet_config *c = controlnet_config(cn);
	struct unet_residuals r = { .ndown = 0 };
	struct ktensor *cin = NULL;
	const struct ktensor *cin_add = emb;
	int64_t N = x->ne[0];
	int i, rc = -1;

	if (x->nd != 4 || emb->nd != 4 || (emb->ne[0] != 1 &&
	    emb->ne[0] != N) || emb->ne[1] != c->ch[0] ||
	    emb->ne[2] != x->ne[2] || emb->ne[3] != x->ne[3])
		return rt_failf(rt, "controlnet: %s: the hint embedding is not "
			"[1 or N, %d] at the latent's size", cn->path,
			c->ch[0]);
	if (acc->ndown != 0 && acc->ndown != c->skips)
		return rt_failf(rt, "controlnet: %s: %d skips where the sum so "
			"far has %d", cn->path, c->skips, acc->ndown);
	/* One hint for the whole batch (uncond and cond alike, as
	 * diffusers and A1111 apply it): copied to each sample. */
	if (emb->ne[0] != N) {
		cin = kt_new4(rt, KD_F32, N, emb->ne[1], emb->ne[2],
			emb->ne[3]);
		if (cin == NULL)
			return -1;
		for (i = 0; i < N; i++) {
			struct ktensor v;
			size_t per = kt_nelem(emb);

			if (kt_view_4d(&v, cin, 1, emb->ne[1], emb->ne[2],
			    emb->ne[3], cin->nb[0], cin->nb[1], cin->nb[2],
			    (size_t)i * per) != 0 || op_copy(emb, &v) != 0)
				goto out;
		}
		cin_add = cin;
	}
	if (unet_encode(cn->enc, x, t, ctx, add, cin_add, &r) != 0)
		goto out;
	if (r.ndown != c->skips) {
		rt_failf(rt, "controlnet: %d skips, %d zero convolutions",
			r.ndown, c->skips);
		goto out;
	}
	for (i = 0; i < r.ndown; i++)
		if (accumulate(&cn->zc[i], r.down[i], weight, &acc->down[i]))
			goto out;
	acc->ndown = r.ndown;
	if (accumulate(&cn->zmid, r.mid, weight, &acc->mid))
		goto out;
	rc = 0;
out:
	unet_residuals_free(&r);
	kt_free(cin);
	return rc;
}
