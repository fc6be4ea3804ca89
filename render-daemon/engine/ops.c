/* ops.c - the engine's operators as the model code calls them (ops.h):
 * each forwards to the tensors' backend (backend.h), whose table holds
 * the implementation (OpenCL's: opencl/ops_cl.c). Also the shape checks
 * every backend's ops share, so that a second backend refuses what the
 * first refuses, in the same words. */
#include "ops.h"
#include "backend.h"

#include <stdio.h>

int
op_check_f32(const struct ktensor *t, const char *op)
{
	if (t->dtype != KD_F32)
		return rt_failf(t->rt, "%s: expects F32 tensors", op);
	return 0;
}

int
op_check_nelem(const struct ktensor *a, const struct ktensor *b, const char *op)
{
	char sa[64], sb[64];

	if (kt_nelem(a) != kt_nelem(b))
		return rt_failf(a->rt, "%s: shapes %s and %s differ", op,
			kt_shape_str(a, sa, sizeof(sa)),
			kt_shape_str(b, sb, sizeof(sb)));
	return 0;
}

int
op_check_dense(const char *op, const struct ktensor *a, const struct ktensor *b,
	const struct ktensor *c, const struct ktensor *d)
{
	const struct ktensor *t[4] = { a, b, c, d };
	int i;

	for (i = 0; i < 4; i++)
		if (t[i] != NULL && (t[i]->offs != 0 ||
		    !kt_is_contiguous(t[i])))
			return rt_failf(t[i]->rt, "%s: takes contiguous "
				"tensors, not strided or offset views", op);
	return 0;
}

void
op_set_attention_budget(struct kiln_rt *rt, size_t bytes)
{
	rt->attn_budget = bytes;
}

/* The op table of the backend that t's buffer belongs to. */
#define OPS(t) ((t)->rt->be->ops)

int
op_matmul(const struct ktensor *a, const struct ktensor *b,
	struct ktensor *c, float alpha, float beta)
{
	return OPS(c)->matmul(a, b, c, alpha, beta);
}

int
op_linear(const struct ktensor *x, const struct ktensor *w,
	const struct ktensor *b, struct ktensor *y)
{
	return OPS(x)->linear(x, w, b, y);
}

int
op_conv2d(const struct ktensor *x, const struct ktensor *w,
	const struct ktensor *b, struct ktensor *y, int stride, int pad)
{
	return OPS(x)->conv2d(x, w, b, y, stride, pad);
}

int
op_group_norm(const struct ktensor *x, const struct ktensor *gamma,
	const struct ktensor *beta, struct ktensor *y, int groups, float eps,
	int silu)
{
	return OPS(x)->group_norm(x, gamma, beta, y, groups, eps, silu);
}

int
op_layer_norm(const struct ktensor *x, const struct ktensor *gamma,
	const struct ktensor *beta, struct ktensor *y, float eps)
{
	return OPS(x)->layer_norm(x, gamma, beta, y, eps);
}

int
op_softmax(struct ktensor *x)
{
	return OPS(x)->softmax(x);
}

int
op_attention(const struct ktensor *q, const struct ktensor *k,
	const struct ktensor *v, struct ktensor *out, int heads, float scale,
	int causal)
{
	return OPS(q)->attention(q, k, v, out, heads, scale, causal);
}

int
op_add(const struct ktensor *a, const struct ktensor *b, struct ktensor *y)
{
	return OPS(a)->add(a, b, y);
}

int
op_mul(const struct ktensor *a, const struct ktensor *b, struct ktensor *y)
{
	return OPS(a)->mul(a, b, y);
}

int
op_scale(const struct ktensor *x, float s, struct ktensor *y)
{
	return OPS(x)->scale(x, s, y);
}

int
op_act(const struct ktensor *x, struct ktensor *y, enum act_kind kind)
{
	return OPS(x)->act(x, y, kind);
}

int
op_add_channel(const struct ktensor *x, const struct ktensor *v,
	struct ktensor *y)
{
	return OPS(x)->add_channel(x, v, y);
}

int
op_geglu(const struct ktensor *x, struct ktensor *y)
{
	return OPS(x)->geglu(x, y);
}

int
op_concat_channels(const struct ktensor *a, const struct ktensor *b,
	struct ktensor *y)
{
	return OPS(a)->concat_channels(a, b, y);
}

int
op_upsample2x(const struct ktensor *x, struct ktensor *y)
{
	return OPS(x)->upsample2x(x, y);
}

int
op_leaky_relu(const struct ktensor *x, struct ktensor *y, float slope)
{
	return OPS(x)->leaky_relu(x, y, slope);
}

int
op_prelu(const struct ktensor *x, const struct ktensor *slope,
	struct ktensor *y)
{
	return OPS(x)->prelu(x, slope, y);
}

int
op_pixel_shuffle(const struct ktensor *x, struct ktensor *y, int r)
{
	return OPS(x)->pixel_shuffle(x, y, r);
}

int
op_pixel_unshuffle(const struct ktensor *x, struct ktensor *y, int r)
{
	return OPS(x)->pixel_unshuffle(x, y, r);
}

int
op_transpose(const struct ktensor *x, struct ktensor *y)
{
	return OPS(x)->transpose(x, y);
}

int
op_copy(const struct ktensor *x, struct ktensor *y)
{
	return OPS(x)->copy(x, y);
}

int
op_fill(struct ktensor *t, float v)
{
	return OPS(t)->fill(t, v);
}

int
op_clamp(struct ktensor *x, float lo, float hi)
{
	return OPS(x)->clamp(x, lo, hi);
}

int
op_pad_br(const struct ktensor *x, struct ktensor *y)
{
	return OPS(x)->pad_br(x, y);
}

int
op_tile_accum(const struct ktensor *tile, struct ktensor *img,
	struct ktensor *wsum, int y0, int x0, const int ramps[4])
{
	return OPS(tile)->tile_accum(tile, img, wsum, y0, x0, ramps);
}

int
op_tile_norm(struct ktensor *img, const struct ktensor *wsum)
{
	return OPS(img)->tile_norm(img, wsum);
}

int
op_timestep_embedding(const struct ktensor *t, struct ktensor *y,
	int flip_sin_to_cos, float downscale_freq_shift, float max_period)
{
	return OPS(t)->timestep_embedding(t, y, flip_sin_to_cos,
		downscale_freq_shift, max_period);
}

int
op_embed(const struct ktensor *ids, const struct ktensor *tok,
	const struct ktensor *pos, struct ktensor *y)
{
	return OPS(ids)->embed(ids, tok, pos, y);
}
