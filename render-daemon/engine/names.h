/* names.h - one canonical naming for every weight: the CompVis / SGM
 * (LDM) names of single-file checkpoints and OpenCLIP's text encoder names
 * converted once, at load, into the diffusers and transformers ones, so
 * model code knows a single spelling of each tensor.
 *
 * Canonical names are diffusers' UNet2DConditionModel and AutoencoderKL
 * names (down_blocks.0.resnets.0.conv1.weight, decoder.up_blocks.0...,
 * encoder.mid_block.attentions.0.to_q.weight) and transformers'
 * CLIPTextModel(WithProjection) names (text_model.encoder.layers.0.
 * self_attn.q_proj.weight, text_projection.weight). The maps are those of
 * diffusers' single_file_utils.py (convert_ldm_unet_checkpoint,
 * convert_ldm_vae_checkpoint, convert_open_clip_checkpoint) and
 * stable-diffusion.cpp's name_conversion.cpp, written out as rules. */
#ifndef KILN_NAMES_H
#define KILN_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* How the tensors of one part are named in its file, with the part's
 * prefix (model.diffusion_model., first_stage_model., ...) stripped. */
enum nm_scheme {
	/* diffusers folders and HF CLIP: canonical already, except the VAE
	 * attention names of diffusers before 0.15 (query, key, value,
	 * proj_attn), still found in many converted files. */
	NM_DIFFUSERS,
	/* A single file's UNet: input_blocks / middle_block /
	 * output_blocks, SD 1.x, 2.x and SDXL (label_emb, several
	 * transformer blocks per attention, levels without attention);
	 * a ControlNet's input_hint_block, zero_convs and middle_block_out
	 * become diffusers' controlnet_cond_embedding.conv_in / blocks.N /
	 * conv_out, controlnet_down_blocks.N and controlnet_mid_block. */
	NM_LDM_UNET,
	/* A single file's VAE: encoder.down.N.block.M, decoder.up.N (by
	 * resolution), mid.attn_1 with 1x1 convolutions. */
	NM_LDM_VAE,
	/* open_clip's text tower (SD 2.x, SDXL's bigG): transformer.
	 * resblocks.N with q, k and v fused into in_proj_weight. */
	NM_OPENCLIP,
};

/* What converting one name needs to know about the others: nm_init,
 * nm_scan over every name of the part, nm_finish, then nm_convert. */
struct nm_params {
	enum nm_scheme scheme;
	/* NM_LDM_UNET: resnets per down level. LDM numbers input_blocks
	 * 1.. as layers_per_block resnets (with their attention) and a
	 * downsampler per level, output_blocks 0.. as layers_per_block + 1
	 * per level: the block number alone does not say which level. */
	int layers_per_block;
	/* NM_LDM_VAE: decoder levels. LDM numbers decoder.up.N by
	 * resolution (up.3 runs first in SD), diffusers in running order. */
	int vae_levels;
	/* scan state */
	long first_op;		/* least K of input_blocks.K.0.op.*, or -1 */
	long last_input;	/* greatest K of input_blocks.K.*, or -1 */
	long last_up;		/* greatest N of decoder.up.N.*, or -1 */
	long last_hint;		/* greatest N of input_hint_block.N.*, or -1 */
};

void nm_init(struct nm_params *p, enum nm_scheme scheme);
/* Notes what name (a tensor of the part) tells about the layout. */
void nm_scan(struct nm_params *p, const char *name);
/* Settles layers_per_block and vae_levels from what was scanned. */
void nm_finish(struct nm_params *p);

/* Room for a canonical name; a longer one is a conversion failure. */
#define NM_NAME_MAX	256
/* At most this many canonical tensors come from one file tensor. */
#define NM_MAX_OUT	3

struct nm_out {
	char name[NM_NAME_MAX];
	/* Rows [row0, row0 + rows) of the file tensor (its first axis);
	 * rows 0: the whole tensor. */
	int64_t row0, rows;
	/* The canonical tensor is the (2-D) file tensor transposed:
	 * OpenCLIP applies text_projection as x @ P, [in, out], where
	 * transformers' Linear stores [out, in]. */
	int transposed;
};

/* Converts the tensor called name (with ndim dims of the given shape)
 * into its canonical name(s) in out[0 .. NM_MAX_OUT). Returns the number
 * of canonical tensors (1, or 3 for a fused q, k, v projection), 0 when no
 * rule knows the name (the caller keeps it under its file name: nothing is
 * dropped), or -1 when a rule applies but the tensor does not fit it (a
 * fused projection that is not [3D, D], a block number outside the layout
 * scanned, a name too long), with a message in err that the caller puts
 * after the tensor's name. */
int nm_convert(const struct nm_params *p, const char *name, int ndim,
    const int64_t *shape, struct nm_out *out, char *err, size_t errlen);

const char *nm_scheme_name(enum nm_scheme scheme);

/* The LDM / SGM name (a single file's, prefix stripped) of a canonical
 * UNet name: NM_LDM_UNET's conversion run backwards, as diffusers'
 * convert_diffusers_to_original_sdxl and sd-scripts' SDXL LoRA names
 * spell it (input_blocks.4.1.transformer_blocks.0.attn1.to_q.weight,
 * input_blocks.1.0.in_layers.2.weight, input_blocks.3.0.op.weight).
 * layers is layers_per_block; bit N of up_attn is set when up level N
 * has attentions, whose upsampler is then output_blocks.K.2.conv
 * (K.1.conv without). Returns 1 with the name in out, 0 when no rule
 * knows the name (or its block numbers do not fit the layout), -1 when
 * it does not fit n bytes. */
int nm_unet_to_ldm(const char *name, int layers, unsigned up_attn,
    char *out, size_t n);

#endif
