/* blocks.h - building blocks shared by the UNet and the VAE: the resnet
 * block (GroupNorm, SiLU, 3x3 conv, optional time embedding, shortcut) and
 * the resampling convolution, loaded by their canonical (diffusers)
 * names. */
#ifndef KILN_BLOCKS_H
#define KILN_BLOCKS_H

#include "ops.h"
#include "weights.h"

struct resnet {
	int cin, cout, temb_dim, groups;
	float eps;
	struct ktensor *n1_w, *n1_b, *c1_w, *c1_b, *t_w, *t_b;
	struct ktensor *n2_w, *n2_b, *c2_w, *c2_b, *sk_w, *sk_b;
};

/* The 3x3 convolution of an up- or downsampler (its prefix ends in
 * "downsamplers.0" or "upsamplers.0"). */
struct resample {
	struct ktensor *w, *b;
};

/* Loads prefix.conv.weight [ch, ch, 3, 3] and its bias. Returns 0, or -1
 * with ld->err naming the tensor. */
int resample_load(struct wloader *ld, const char *prefix, int ch,
	struct resample *r);

/* Frees the conv's tensors; accepts a zeroed struct. */
void resample_free(struct resample *r);

/* Loads the block at prefix (e.g. "down_blocks.0.resnets.1"); temb_dim 0
 * means no time embedding (the VAE). The shortcut is a 1x1 conv when cin
 * != cout, else the identity. Returns 0, or -1 with ld->err naming the
 * tensor. */
int resnet_load(struct wloader *ld, const char *prefix, int cin, int cout,
	int temb_dim, int groups, float eps, struct resnet *r);

/* Frees the block's tensors; accepts a zeroed struct. */
void resnet_free(struct resnet *r);

/* y [N, cout, H, W] = block(x [N, cin, H, W], temb_act [N, temb_dim]: the
 * time embedding after its SiLU, or NULL without one). Temporaries come
 * from the pool. Returns 0, or -1 with rt_error() set. */
int resnet_forward(const struct resnet *r, const struct ktensor *x,
	const struct ktensor *temb_act, struct ktensor *y);

#endif
