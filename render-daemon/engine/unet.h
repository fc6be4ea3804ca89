/* unet.h - the Stable Diffusion UNet2DConditionModel (SD 1.x and 2.x):
 * resnet blocks with a time embedding, spatial transformers with self- and
 * cross-attention and a GEGLU feed-forward, down / mid / up blocks with
 * skip connections. Weights under diffusers or original LDM names; the
 * configuration from unet/config.json or from the tensor shapes. */
#ifndef KILN_UNET_H
#define KILN_UNET_H

#include "ops.h"
#include "safetensors.h"

#define UNET_MAX_LEVELS 4
#define UNET_MAX_LAYERS 3

struct unet_config {
	int in_channels, out_channels;
	int levels;				/* len(block_out_channels) */
	int ch[UNET_MAX_LEVELS];		/* block_out_channels */
	int attn[UNET_MAX_LEVELS];		/* level has cross-attention */
	int heads[UNET_MAX_LEVELS];		/* attention heads per level */
	int layers;				/* layers_per_block */
	int ctx_dim;				/* cross_attention_dim */
	int groups;
	float eps;				/* resnet / out norm eps */
	int linear_proj;			/* use_linear_projection */
	int temb_dim;				/* 4 * ch[0] */
};

struct unet;

/* Uploads the UNet part of m. Returns 0 with *out, or -1 with err naming
 * the missing or misshapen tensor or the unsupported configuration. */
int unet_load(struct kiln_rt *rt, const struct st_model *m,
	struct unet **out, char *err, size_t errlen);
void unet_free(struct unet *u);
const struct unet_config *unet_config(const struct unet *u);

/* One evaluation: x [N, in, h, w] (h, w multiples of 2^(levels-1)),
 * timesteps t[N] (host floats), ctx [N, L, ctx_dim] -> a new tensor
 * [N, out, h, w] in *out (caller frees). Returns 0 or -1 with
 * rt_error(). */
int unet_forward(struct unet *u, const struct ktensor *x, const float *t,
	const struct ktensor *ctx, struct ktensor **out);

#endif
