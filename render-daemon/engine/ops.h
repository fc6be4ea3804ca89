/* ops.h - the engine's operators on device tensors (F32 activations),
 * run by the tensors' backend (backend.h's op table; OpenCL's is
 * opencl/ops_cl.c). Each returns 0, or -1 with rt_error() naming the op,
 * the call and the kernel; shapes are checked before anything is
 * enqueued. Outputs are caller-allocated unless a function says
 * otherwise. op_matmul takes views; the others take contiguous tensors
 * from offset 0 (a tensor from kt_new, or such a view) and refuse any
 * other. */
#ifndef KILN_OPS_H
#define KILN_OPS_H

#include "tensor.h"

enum act_kind { ACT_SILU = 0, ACT_GELU = 1, ACT_QUICK_GELU = 2,
	ACT_GELU_TANH = 3 };

/* C = alpha A B + beta C: A [M, K], B [K, N], C [M, N], all 2-D, or all
 * 3-D with the batch on axis 0 (a product per index). Any of them may be
 * a view (kt_view_*): each needs unit stride on one of its last two axes,
 * and a view with unit stride down its columns (kt_transpose) is read as
 * stored transposed (CLBlast then; the engine's kernel takes none). C is
 * float32; one of A and B may be float16 (a weight), then neither is
 * transposed. Refuses anything else before enqueueing. */
int op_matmul(const struct ktensor *a, const struct ktensor *b,
	struct ktensor *c, float alpha, float beta);

/* y [..., out] = x [..., in] W^T + b: W [out, in], b [out] or NULL. W
 * must be laid out for the GEMM (ktensor.kn, as wt_load_linear gives
 * it); any other weight is refused. */
int op_linear(const struct ktensor *x, const struct ktensor *w,
	const struct ktensor *b, struct ktensor *y);

/* Bytes of the im2col buffer op_conv2d uses at most (it works in bands of
 * output lines), unless rt->conv_band says otherwise. */
#define OP_CONV_BAND_BYTES (16u << 20)

/* y [N, O, HO, WO] = conv2d(x [N, C, H, W], w [O, C, KH, KW]) + b [O]
 * (b may be NULL); HO = (H + 2 pad - KH) / stride + 1, likewise WO. */
int op_conv2d(const struct ktensor *x, const struct ktensor *w,
	const struct ktensor *b, struct ktensor *y, int stride, int pad);

/* GroupNorm over x [N, C, ...] with G groups, then optionally SiLU. */
int op_group_norm(const struct ktensor *x, const struct ktensor *gamma,
	const struct ktensor *beta, struct ktensor *y, int groups, float eps,
	int silu);

/* LayerNorm over the last axis. */
int op_layer_norm(const struct ktensor *x, const struct ktensor *gamma,
	const struct ktensor *beta, struct ktensor *y, float eps);

/* Softmax over the last axis, in place. */
int op_softmax(struct ktensor *x);

/* Multi-head attention: q [B, Lq, H*d], k and v [B, Lk, H*d] -> out
 * [B, Lq, H*d]; scale multiplies QK^T (usually 1/sqrt(d)); causal masks
 * keys after the query (requires Lq == Lk). The score matrix is computed
 * in blocks of query rows so that it never exceeds rt's attention budget
 * (see op_set_attention_budget). */
int op_attention(const struct ktensor *q, const struct ktensor *k,
	const struct ktensor *v, struct ktensor *out, int heads, float scale,
	int causal);
/* Bytes the attention scores may take at once (default 64 MiB). */
void op_set_attention_budget(struct kiln_rt *rt, size_t bytes);

/* Elementwise, same shapes (y may alias an input). */
int op_add(const struct ktensor *a, const struct ktensor *b,
	struct ktensor *y);
int op_mul(const struct ktensor *a, const struct ktensor *b,
	struct ktensor *y);
int op_scale(const struct ktensor *x, float s, struct ktensor *y);
int op_act(const struct ktensor *x, struct ktensor *y, enum act_kind kind);

/* y = x + v broadcast over the trailing spatial axes: x [N, C, ...],
 * v [C] (a bias) or [N, C] (a per-sample vector such as a time
 * embedding). */
int op_add_channel(const struct ktensor *x, const struct ktensor *v,
	struct ktensor *y);

/* GEGLU: x [..., 2D] -> y [..., D] = x[..., :D] * gelu(x[..., D:]). */
int op_geglu(const struct ktensor *x, struct ktensor *y);

/* y [N, C1 + C2, ...] = concat(a [N, C1, ...], b [N, C2, ...]). */
int op_concat_channels(const struct ktensor *a, const struct ktensor *b,
	struct ktensor *y);

/* Nearest 2x upsampling: x [N, C, H, W] -> y [N, C, 2H, 2W]. */
int op_upsample2x(const struct ktensor *x, struct ktensor *y);

/* LeakyReLU, y = x > 0 ? x : slope x (ESRGAN's is 0.2); y may alias
 * x. */
int op_leaky_relu(const struct ktensor *x, struct ktensor *y, float slope);

/* PReLU over x [N, C, ...]: y = x > 0 ? x : a x, with a slope [C] per
 * channel or [1] shared (torch.nn.PReLU's num_parameters); y may alias
 * x. */
int op_prelu(const struct ktensor *x, const struct ktensor *slope,
	struct ktensor *y);

/* Sub-pixel rearrangement by r >= 1 (torch's pixel_shuffle):
 * x [N, C r^2, H, W] -> y [N, C, H r, W r], y[n, c, h r + i, w r + j] =
 * x[n, c r^2 + i r + j, h, w]. op_pixel_unshuffle is its inverse,
 * x [N, C, H r, W r] -> y [N, C r^2, H, W]. */
int op_pixel_shuffle(const struct ktensor *x, struct ktensor *y, int r);
int op_pixel_unshuffle(const struct ktensor *x, struct ktensor *y, int r);

/* Swaps the last two axes: x [..., R, C] -> y [..., C, R]. */
int op_transpose(const struct ktensor *x, struct ktensor *y);

/* y = x, the same shape (up to 4 axes), either of them a view with any
 * strides (kt_view_*): a crop, some channels, a plain copy. Both F32. */
int op_copy(const struct ktensor *x, struct ktensor *y);
/* Every element of t (contiguous, F32) set to v. */
int op_fill(struct ktensor *t, float v);
/* x clamped to [lo, hi], in place. */
int op_clamp(struct ktensor *x, float lo, float hi);
/* y [N, C, H + 1, W + 1] = x [N, C, H, W] with a zero row below and a
 * zero column on the right (the VAE's stride-2 downsampling pads so). */
int op_pad_br(const struct ktensor *x, struct ktensor *y);
/* Blending overlapping tiles (the VAE's tiled decode): img [N, C, OH, OW]
 * += w tile [N, C, TH, TW] placed at (y0, x0) and wsum [OH, OW] += w,
 * where w ramps up over ramps[0] rows at the top, down over ramps[1] at
 * the bottom, likewise ramps[2], ramps[3] for the columns (0: no ramp
 * on that side). op_tile_norm then divides img by wsum. */
int op_tile_accum(const struct ktensor *tile, struct ktensor *img,
	struct ktensor *wsum, int y0, int x0, const int ramps[4]);
int op_tile_norm(struct ktensor *img, const struct ktensor *wsum);
/* Sinusoidal timestep embedding (diffusers get_timestep_embedding):
 * t [N] -> y [N, dim]. */
int op_timestep_embedding(const struct ktensor *t, struct ktensor *y,
	int flip_sin_to_cos, float downscale_freq_shift, float max_period);

/* Token plus position embedding: ids [B, L] (int32 in an F32-sized
 * buffer), tok [V, D], pos [>= L, D] -> y [B, L, D]. Ids outside [0, V)
 * are an error, checked on the host before the upload by the caller. */
int op_embed(const struct ktensor *ids, const struct ktensor *tok,
	const struct ktensor *pos, struct ktensor *y);

#endif
