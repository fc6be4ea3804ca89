/* blocks.c - the resnet block. */
#include "blocks.h"

#include <stdio.h>
#include <string.h>

/* Loads prefix.part.weight / .bias with the given weight shape. */
static int
load_wb(struct wloader *ld, const char *prefix, const char *part, int nd,
	const int64_t *wshape, struct ktensor **w, struct ktensor **b)
{
	char name[512];

	snprintf(name, sizeof(name), "%s.%s.weight", prefix, part);
	*w = wt_load(ld, name, 0, nd, wshape);
	if (*w == NULL)
		return -1;
	snprintf(name, sizeof(name), "%s.%s.bias", prefix, part);
	*b = wt_load1(ld, name, 0, wshape[0]);
	return *b != NULL ? 0 : -1;
}

/* The same for a linear layer [out, in] (wt_load_linear's layout). */
static int
load_linear(struct wloader *ld, const char *prefix, const char *part,
	int64_t out, int64_t in, struct ktensor **w, struct ktensor **b)
{
	char name[512];

	snprintf(name, sizeof(name), "%s.%s.weight", prefix, part);
	*w = wt_load_linear(ld, name, 0, out, in);
	if (*w == NULL)
		return -1;
	snprintf(name, sizeof(name), "%s.%s.bias", prefix, part);
	*b = wt_load1(ld, name, 0, out);
	return *b != NULL ? 0 : -1;
}

int
resnet_load(struct wloader *ld, const char *prefix, int cin, int cout,
	int temb_dim, int groups, float eps, struct resnet *r)
{
	int64_t norm1[1] = { cin }, norm2[1] = { cout };
	int64_t conv1[4] = { cout, cin, 3, 3 }, conv2[4] = { cout, cout, 3, 3 };
	int64_t skip[2] = { cout, cin };

	memset(r, 0, sizeof(*r));
	r->cin = cin;
	r->cout = cout;
	r->temb_dim = temb_dim;
	r->groups = groups;
	r->eps = eps;
	if (load_wb(ld, prefix, "norm1", 1, norm1, &r->n1_w, &r->n1_b) ||
	    load_wb(ld, prefix, "conv1", 4, conv1, &r->c1_w, &r->c1_b) ||
	    load_wb(ld, prefix, "norm2", 1, norm2, &r->n2_w, &r->n2_b) ||
	    load_wb(ld, prefix, "conv2", 4, conv2, &r->c2_w, &r->c2_b))
		goto bad;
	if (temb_dim > 0 && load_linear(ld, prefix, "time_emb_proj", cout,
	    temb_dim, &r->t_w, &r->t_b))
		goto bad;
	/* The shortcut is a 1x1 conv (some files store it as [cout, cin]). */
	if (cin != cout) {
		int64_t s4[4] = { cout, cin, 1, 1 };

		if (load_wb(ld, prefix, "conv_shortcut", 2, skip, &r->sk_w,
		    &r->sk_b) ||
		    kt_reshape(r->sk_w, 4, s4))
			goto bad;
	}
	return 0;
bad:
	resnet_free(r);
	return -1;
}

void
resnet_free(struct resnet *r)
{
	struct ktensor **t[] = { &r->n1_w, &r->n1_b, &r->c1_w, &r->c1_b,
		&r->t_w, &r->t_b, &r->n2_w, &r->n2_b, &r->c2_w, &r->c2_b,
		&r->sk_w, &r->sk_b };
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		kt_free(*t[i]);
		*t[i] = NULL;
	}
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
