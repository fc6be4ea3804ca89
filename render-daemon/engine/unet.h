/* unet.h - the Stable Diffusion UNet2DConditionModel (SD 1.x, 2.x and
 * SDXL): resnet blocks with a time embedding, spatial transformers of one
 * or more blocks with self- and cross-attention and a GEGLU feed-forward,
 * down / mid / up blocks with skip connections, and SDXL's "text_time"
 * added conditioning. Weights under diffusers, LDM or SGM names; the
 * configuration from unet/config.json or from the tensor shapes. */
#ifndef KILN_UNET_H
#define KILN_UNET_H

#include "ops.h"
#include "safetensors.h"

#define UNET_MAX_LEVELS 4
#define UNET_MAX_LAYERS 3
/* Transformer blocks per attention (SDXL's deepest level has 10). */
#define UNET_MAX_DEPTH 16
/* Skip tensors of the down path: conv_in's, one per resnet, one per
 * downsampler. */
#define UNET_MAX_SKIPS (1 + UNET_MAX_LEVELS * (UNET_MAX_LAYERS + 1))

struct unet_config {
	int in_channels, out_channels;
	int levels;				/* len(block_out_channels) */
	int ch[UNET_MAX_LEVELS];		/* block_out_channels */
	int attn[UNET_MAX_LEVELS];		/* level has cross-attention */
	int heads[UNET_MAX_LEVELS];		/* attention heads per level */
	int depth[UNET_MAX_LEVELS];		/* transformer blocks per
						 * attention of a level */
	int mid_depth;				/* the mid block's */
	int layers;				/* layers_per_block */
	int ctx_dim;				/* cross_attention_dim */
	int groups;
	float eps;				/* resnet / out norm eps */
	int linear_proj;			/* use_linear_projection */
	int temb_dim;				/* 4 * ch[0] */
	/* SDXL's add_embedding input width (pooled text + time ids),
	 * 0 for SD 1.x / 2.x; the sinusoid width of each time id. */
	int adm_in;
	int time_ids_dim;
	int skips;				/* of the down path (12 in
						 * SD 1.x) */
};

/* SDXL's added conditioning for one evaluation: text_embeds [N, P] (the
 * pooled, projected bigG output) and time_ids [N, K] (original height,
 * width, crop top, left, target height, width), both on the device, with
 * P + K * time_ids_dim == adm_in. */
struct unet_added {
	const struct ktensor *text_embeds;
	const struct ktensor *time_ids;
};

/* What the encoder half gives (unet_encode), and a ControlNet's
 * residuals for the UNet (unet_forward_ctrl): one tensor per skip of the
 * down path, in the order they are made, and one for the mid block's
 * output. */
struct unet_residuals {
	struct ktensor *down[UNET_MAX_SKIPS];
	int ndown;
	struct ktensor *mid;
};

/* Frees the tensors and zeroes r; accepts NULL and a zeroed r. */
void unet_residuals_free(struct unet_residuals *r);

struct unet;

/* Uploads the UNet part of m. Returns 0 with *out, or -1 with err naming
 * the missing or misshapen tensor or the unsupported configuration. */
int unet_load(struct kiln_rt *rt, const struct st_model *m,
	struct unet **out, char *err, size_t errlen);
/* The encoder half alone (time and added embeddings, conv_in, down and
 * mid blocks) from another part of m under the same canonical names: a
 * ControlNet's copy of the UNet. It runs with unet_encode only. */
int unet_load_encoder(struct kiln_rt *rt, const struct st_model *m,
	enum st_part part, struct unet **out, char *err, size_t errlen);
void unet_free(struct unet *u);
const struct unet_config *unet_config(const struct unet *u);

/* One evaluation: x [N, in, h, w] (h, w multiples of 2^(levels-1)),
 * timesteps t[N] (host floats), ctx [N, L, ctx_dim] -> a new tensor
 * [N, out, h, w] in *out (caller frees). Returns 0 or -1 with
 * rt_error(). */
int unet_forward(struct unet *u, const struct ktensor *x, const float *t,
	const struct ktensor *ctx, struct ktensor **out);

/* The same with SDXL's added conditioning, which a UNet with an
 * add_embedding requires and any other refuses (add may be NULL
 * there). */
int unet_forward_added(struct unet *u, const struct ktensor *x,
	const float *t, const struct ktensor *ctx,
	const struct unet_added *add, struct ktensor **out);

/* The same with ControlNet residuals (NULL: none) added to the skips
 * and the mid block's output; they must have the skips' shapes. */
int unet_forward_ctrl(struct unet *u, const struct ktensor *x,
	const float *t, const struct ktensor *ctx,
	const struct unet_added *add, const struct unet_residuals *ctrl,
	struct ktensor **out);

/* The encoder half only: conv_in's output plus cin_add (NULL: nothing;
 * else [N, ch[0], h, w], a ControlNet's hint), then the down and mid
 * blocks; every skip and the mid block's output into *out (the caller
 * frees it with unet_residuals_free). Returns 0, or -1 with rt_error()
 * and *out empty. */
int unet_encode(struct unet *u, const struct ktensor *x, const float *t,
	const struct ktensor *ctx, const struct unet_added *add,
	const struct ktensor *cin_add, struct unet_residuals *out);

#endif
