/* blocks.h - building blocks shared by the UNet and the VAE: the resnet
 * block (GroupNorm, SiLU, 3x3 conv, optional time embedding, shortcut),
 * loaded under any of the three naming conventions real checkpoints use. */
#ifndef KILN_BLOCKS_H
#define KILN_BLOCKS_H

#include "ops.h"
#include "weights.h"

/* Where a resnet block's weights live, relative to its prefix. */
enum resnet_naming {
	RESNET_DIFFUSERS,	/* norm1 conv1 time_emb_proj norm2 conv2
				 * conv_shortcut */
	RESNET_LDM_UNET,	/* in_layers.0 in_layers.2 emb_layers.1
				 * out_layers.0 out_layers.3 skip_connection */
	RESNET_LDM_VAE,		/* norm1 conv1 norm2 conv2 nin_shortcut */
};

struct resnet {
	int cin, cout, temb_dim, groups;
	float eps;
	struct ktensor *n1_w, *n1_b, *c1_w, *c1_b, *t_w, *t_b;
	struct ktensor *n2_w, *n2_b, *c2_w, *c2_b, *sk_w, *sk_b;
};

/* Loads the block at prefix (e.g. "down_blocks.0.resnets.1"); temb_dim 0
 * means no time embedding (the VAE). The shortcut is a 1x1 conv when cin
 * != cout, else the identity. Returns 0, or -1 with ld->err naming the
 * tensor. */
int resnet_load(struct wloader *ld, enum resnet_naming naming,
	const char *prefix, int cin, int cout, int temb_dim, int groups,
	float eps, struct resnet *r);

/* Frees the block's tensors; accepts a zeroed struct. */
void resnet_free(struct resnet *r);

/* y [N, cout, H, W] = block(x [N, cin, H, W], temb_act [N, temb_dim]: the
 * time embedding after its SiLU, or NULL without one). Temporaries come
 * from the pool. Returns 0, or -1 with rt_error() set. */
int resnet_forward(const struct resnet *r, const struct ktensor *x,
	const struct ktensor *temb_act, struct ktensor *y);

#endif
