/* vae.h - the Stable Diffusion AutoencoderKL: decoder (latents to image,
 * whole or in blended overlapping tiles) and encoder (image to the latent
 * mean and log-variance), from diffusers or CompVis (LDM) weight names. */
#ifndef KILN_VAE_H
#define KILN_VAE_H

#include <stddef.h>

#include "ops.h"
#include "safetensors.h"

#define VAE_MAX_LEVELS 8

struct vae_config {
	int in_channels;	/* image channels the encoder takes (3) */
	int out_channels;	/* image channels the decoder gives (3) */
	int latent_channels;	/* 4 for SD */
	int levels;		/* resolutions: len(block_out_channels) */
	int block_out[VAE_MAX_LEVELS];	/* 128, 256, 512, 512 for SD */
	int layers_per_block;	/* 2 for SD (the decoder runs one more) */
	int groups;		/* GroupNorm groups, 32 */
	float eps;		/* GroupNorm epsilon, 1e-6 */
	float scaling_factor;	/* 0.18215 for SD 1.x/2.x, 0.13025 SDXL */
	int mid_attention;	/* the mid block has its attention */
	int factor;		/* image pixels per latent: 2^(levels - 1) */
};

/* Which halves vae_load uploads: txt2img needs only the decoder. */
enum { VAE_DECODER = 1, VAE_ENCODER = 2 };

struct vae_model;

/* Uploads the VAE part of m (the halves in `parts`) to the device. The
 * configuration comes from vae/config.json when there is one (and must
 * agree with the shapes), else from the tensor shapes with SD's defaults
 * for what shapes cannot tell (32 groups, scaling factor 0.18215, or
 * 0.13025 in an SDXL model). Activations are float32 whatever the
 * weights: SDXL's VAE overflows float16 in the decoder.
 * Returns 0 with *out, or -1 with a message in err naming the missing or
 * misshapen tensor. Free with vae_free. */
int vae_load(struct kiln_rt *rt, const struct st_model *m, int parts,
	struct vae_model **out, char *err, size_t errlen);

/* Frees the model's tensors; accepts NULL. */
void vae_free(struct vae_model *v);

const struct vae_config *vae_config(const struct vae_model *v);

/* Latents by which neighbouring tiles overlap at least when a budget
 * asks for tiles: 64 pixels of SD's image, enough for the linear blend
 * to hide the seams (the tests measure them), few enough that two tiles
 * of a 512x512 image decode about 1.1x its latents, not 1.6x. */
#define VAE_TILE_OVERLAP 8

/* Decodes z [N, latent, h, w] into a new tensor [N, out_channels,
 * factor*h, factor*w] in *out (the caller frees it), values roughly in
 * [-1, 1]. z must already be divided by scaling_factor: that is the
 * caller's job, as in diffusers' pipelines. When budget > 0 and the
 * untiled decode is estimated (vae_decode_bytes) to need more than budget
 * bytes of device memory, it decodes in tiles overlapping by at least
 * VAE_TILE_OVERLAP latents, as large as the budget allows and spread so
 * that the fewest latents are decoded in all (strips when the width
 * fits), blended with linear ramps across the overlaps. The budget
 * counts what the decode allocates: activations, the result and its
 * blending weights; not the weights or z. Returns 0, or -1 with
 * rt_error() set. */
int vae_decode(struct vae_model *v, const struct ktensor *z, size_t budget,
	struct ktensor **out);

/* The same in tiles of tile x tile latents overlapping by at least
 * `overlap` latents (0 < overlap <= tile / 2), spread evenly over z and
 * blended with linear ramps across the overlaps. The result differs
 * slightly from the untiled one: the mid-block attention and the group
 * norms see one tile at a time. tile >= h and >= w is one untiled decode. */
int vae_decode_tiled(struct vae_model *v, const struct ktensor *z, int tile,
	int overlap, struct ktensor **out);

/* Estimated peak device bytes of an untiled decode of N latents of
 * h x w (weights and z not included, the float32 copy of a float16
 * conv weight included). The decoder gives back its pooled buffers at
 * each change of resolution, so the memory the runtime holds stays
 * within this figure (the tests check it on SD's VAE). */
size_t vae_decode_bytes(const struct vae_config *c, int N, int h, int w);

/* The same for an untiled encode of N images of H x W pixels. */
size_t vae_encode_bytes(const struct vae_config *c, int N, int H, int W);

/* The largest square tile (a multiple of 8 latents, at least 8) whose
 * tiled decode is estimated within budget for N samples. */
int vae_tile_for_budget(const struct vae_config *c, int N, size_t budget);

/* Encodes x [N, in_channels, H, W] (values in [-1, 1]; H and W multiples
 * of factor) into new tensors *mean and *logvar [N, latent, H/factor,
 * W/factor] (logvar clamped to [-30, 20] as diffusers does). A latent for
 * img2img is mean (or mean + exp(logvar / 2) * noise) times
 * scaling_factor: the caller's job. logvar may be NULL when only the mean
 * is wanted. budget as for vae_decode (vae_encode_bytes): over it, the
 * image is encoded in tiles overlapping by VAE_TILE_OVERLAP latents and
 * the moments (mean and log-variance) blended as the decoder blends its
 * image. Returns 0, or -1 with rt_error() set. */
int vae_encode(struct vae_model *v, const struct ktensor *x, size_t budget,
	struct ktensor **mean, struct ktensor **logvar);

/* The same in tiles of tile x tile latents (factor * tile pixels)
 * overlapping by at least `overlap` latents (0 < overlap <= tile / 2). */
int vae_encode_tiled(struct vae_model *v, const struct ktensor *x, int tile,
	int overlap, struct ktensor **mean, struct ktensor **logvar);

#endif
