/* controlnet.h - ControlNet for SD 1.x / 2.x and SDXL: a copy of the
 * UNet's encoder half (unet.h's, loaded from the ControlNet's file) whose
 * conv_in output is offset by an embedding of a hint image (an edge map,
 * a depth map, a scribble), and whose skips and mid-block output go
 * through zero-initialised 1x1 convolutions into residuals the UNet adds
 * to its own (diffusers' ControlNetModel, lllyasviel's cldm.py). Files in
 * diffusers' names (controlnet_cond_embedding.*, controlnet_down_blocks.N,
 * controlnet_mid_block) or lllyasviel's single-file names
 * (control_model.input_hint_block.*, zero_convs.N.0, middle_block_out.0,
 * with or without the control_model. prefix). */
#ifndef KILN_CONTROLNET_H
#define KILN_CONTROLNET_H

#include <stddef.h>

#include "unet.h"

struct controlnet;

/* Loads the ControlNet at path (a .safetensors file or a diffusers
 * folder) onto rt. Returns 0 with *out, or -1 with a message naming the
 * file and the missing or misshapen tensor in err. */
int controlnet_load(struct kiln_rt *rt, const char *path,
	struct controlnet **out, char *err, size_t errlen);
/* Accepts NULL. */
void controlnet_free(struct controlnet *cn);

/* The file it was loaded from. */
const char *controlnet_path(const struct controlnet *cn);
/* Its encoder's configuration (out_channels 0). */
const struct unet_config *controlnet_config(const struct controlnet *cn);
/* Pixels per latent the hint embedding expects: 2 to the power of its
 * stride-2 convolutions (8 for every SD ControlNet). */
int controlnet_factor(const struct controlnet *cn);

/* Whether cn was made for a UNet of u's shape (context width, channels,
 * levels, layers, SDXL's added conditioning, skips). Returns 0, or -1
 * with a message naming cn's file and both families ("made for SDXL
 * (context 2048, 3 levels), not this SD 1.x UNet (context 768, 4
 * levels)"). */
int controlnet_check(const struct controlnet *cn, const struct unet *u,
	char *err, size_t errlen);

/* The hint embedding (controlnet_cond_embedding) of hint [B, 3, H, W],
 * values in [0, 1], H and W multiples of controlnet_factor: a new tensor
 * [B, ch[0], H / f, W / f] in *out (caller frees). It depends on the
 * image only, so a render computes it once. Returns 0, or -1 with
 * rt_error(). */
int controlnet_hint(struct controlnet *cn, const struct ktensor *hint,
	struct ktensor **out);

/* One evaluation on the UNet's inputs (x [N, in, h, w], t, ctx, SDXL's
 * add as unet_forward_added takes them) with emb, a hint embedding of
 * batch 1 (shared by the batch) or N: weight times the residuals added
 * into acc, whose tensors are made on the first call (acc zeroed), so
 * that several ControlNets sum into one set for unet_forward_ctrl.
 * Returns 0, or -1 with rt_error() (acc is then the caller's to
 * free). */
int controlnet_forward(struct controlnet *cn, const struct ktensor *x,
	const float *t, const struct ktensor *ctx,
	const struct unet_added *add, const struct ktensor *emb,
	float weight, struct unet_residuals *acc);

#endif
