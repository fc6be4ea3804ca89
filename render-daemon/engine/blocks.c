/* blocks.c - the resnet block and the resampling conv. */
#include "blocks.h"

#include <string.h>

/* The resnet's dims and the weights that are there only sometimes. */
enum { R_IN, R_OUT, R_TEMB };
enum { RN_TEMB = 1, RN_SHORTCUT = 2 };

#define R(nm, kd, f, d0, d1) WD(struct resnet, nm, kd, f, d0, d1)
#define RN(nm, kd, f, d0, d1, nd) WDN(struct resnet, nm, kd, f, d0, d1, nd)
static const struct wdecl resnet_w[] = {
	R("norm1.weight", WD_VEC, n1_w, R_IN, 0),
	R("norm1.bias", WD_VEC, n1_b, R_IN, 0),
	R("conv1.weight", WD_CONV3, c1_w, R_OUT, R_IN),
	R("conv1.bias", WD_VEC, c1_b, R_OUT, 0),
	R("norm2.weight", WD_VEC, n2_w, R_OUT, 0),
	R("norm2.bias", WD_VEC, n2_b, R_OUT, 0),
	R("conv2.weight", WD_CONV3, c2_w, R_OUT, R_OUT),
	R("conv2.bias", WD_VEC, c2_b, R_OUT, 0),
	RN("time_emb_proj.weight", WD_LINEAR, t_w, R_OUT, R_TEMB, RN_TEMB),
	RN("time_emb_proj.bias", WD_VEC, t_b, R_OUT, 0, RN_TEMB),
	RN("conv_shortcut.weight", WD_CONV1, sk_w, R_OUT, R_IN, RN_SHORTCUT),
	RN("conv_shortcut.bias", WD_VEC, sk_b, R_OUT, 0, RN_SHORTCUT),
};
#undef R
#undef RN

int
resnet_load(struct wloader *ld, const char *prefix, int cin, int cout,
	int temb_dim, int groups, float eps, struct resnet *r)
{
	int64_t dims[] = { [R_IN] = cin, [R_OUT] = cout,
		[R_TEMB] = temb_dim };

	memset(r, 0, sizeof(*r));
	r->cin = cin;
	r->cout = cout;
	r->temb_dim = temb_dim;
	r->groups = groups;
	r->eps = eps;
	/* Without a time embedding (the VAE) there is no projection; the
	 * shortcut is a 1x1 conv when the width changes, else the
	 * identity. */
	return wt_load_table(ld, prefix, WT_TABLE(resnet_w), dims,
		(temb_dim > 0 ? RN_TEMB : 0) | (cin != cout ? RN_SHORTCUT : 0),
		r);
}

void
resnet_free(struct resnet *r)
{
	wt_free_table(WT_TABLE(resnet_w), r);
}

enum { S_CH };

static const struct wdecl resample_w[] = {
	WD(struct resample, "conv.weight", WD_CONV3, w, S_CH, S_CH),
	WD(struct resample, "conv.bias", WD_VEC, b, S_CH, 0),
};

int
resample_load(struct wloader *ld, const char *prefix, int ch,
	struct resample *r)
{
	int64_t dims[] = { [S_CH] = ch };

	memset(r, 0, sizeof(*r));
	return wt_load_table(ld, prefix, WT_TABLE(resample_w), dims, 0, r);
}

void
resample_free(struct resample *r)
{
	wt_free_table(WT_TABLE(resample_w), r);
}

int
resnet_forward(const struct resnet *r, const struct ktensor *x,
	const struct ktensor *temb_act, struct ktensor *y)
{
	struct kiln_rt *rt = x->rt;
	int64_t N = x->ne[0], H = x->ne[2], W = x->ne[3];
	struct ktensor *h = NULL, *h2 = NULL, *t = NULL, *sk = NULL;
	int rc = -1;

	if (x->nd != 4 || x->ne[1] != r->cin || y->nd != 4 ||
	    y->ne[1] != r->cout || y->ne[2] != H || y->ne[3] != W)
		return rt_failf(rt, "resnet: shapes do not fit the block "
			"(%d -> %d channels)", r->cin, r->cout);
	h = kt_new4(rt, KD_F32, N, r->cin, H, W);
	h2 = kt_new4(rt, KD_F32, N, r->cout, H, W);
	if (h == NULL || h2 == NULL)
		goto out;
	if (op_group_norm(x, r->n1_w, r->n1_b, h, r->groups, r->eps, 1) ||
	    op_conv2d(h, r->c1_w, r->c1_b, h2, 1, 1))
		goto out;
	if (r->temb_dim > 0 && temb_act != NULL) {
		t = kt_new2(rt, KD_F32, N, r->cout);
		if (t == NULL || op_linear(temb_act, r->t_w, r->t_b, t) ||
		    op_add_channel(h2, t, h2))
			goto out;
	}
	/* h is reused for the second half: it has cin channels, so a fresh
	 * buffer is taken when cout differs. */
	kt_free(h);
	h = kt_new4(rt, KD_F32, N, r->cout, H, W);
	if (h == NULL ||
	    op_group_norm(h2, r->n2_w, r->n2_b, h, r->groups, r->eps, 1) ||
	    op_conv2d(h, r->c2_w, r->c2_b, y, 1, 1))
		goto out;
	if (r->sk_w != NULL) {
		sk = kt_new4(rt, KD_F32, N, r->cout, H, W);
		if (sk == NULL || op_conv2d(x, r->sk_w, r->sk_b, sk, 1, 0) ||
		    op_add(y, sk, y))
			goto out;
	} else if (op_add(y, x, y)) {
		goto out;
	}
	rc = 0;
out:
	kt_free(h);
	kt_free(h2);
	kt_free(t);
	kt_free(sk);
	return rc;
}
