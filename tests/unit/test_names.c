/* test_names.c - names.c against key lists of real checkpoints: SD 1.5,
 * SD 2.1 and SDXL UNets, the SD VAE and OpenCLIP text towers, as
 * diffusers' single_file_utils.py and stable-diffusion.cpp's
 * name_conversion.cpp map them. */
#include "names.h"

#include "tap.h"

#include <stdio.h>
#include <string.h>

struct pair {
	const char *from, *to;	/* to NULL: no rule knows it (kept) */
};

#define NPAIRS(a) (sizeof(a) / sizeof((a)[0]))

/* Scans every from name, then converts each as a whole tensor of
 * shape [4]; a mismatch is reported with the name. */
static void
check_pairs(enum nm_scheme scheme, const struct pair *c, size_t n,
    const char *const *extra, size_t nextra)
{
	struct nm_params p;
	struct nm_out o[NM_MAX_OUT];
	const int64_t shape[1] = { 4 };
	char err[256];
	size_t i;
	int k;

	nm_init(&p, scheme);
	for (i = 0; i < n; i++)
		nm_scan(&p, c[i].from);
	for (i = 0; i < nextra; i++)
		nm_scan(&p, extra[i]);
	nm_finish(&p);
	for (i = 0; i < n; i++) {
		err[0] = '\0';
		k = nm_convert(&p, c[i].from, 1, shape, o, err, sizeof(err));
		if (c[i].to == NULL) {
			if (k != 0)
				printf("# %s: %d results (%s), want none\n",
				    c[i].from, k, k > 0 ? o[0].name : err);
			CHECK(k == 0);
			continue;
		}
		if (k != 1 || strcmp(o[0].name, c[i].to) != 0)
			printf("# %s: got %s, want %s\n", c[i].from,
			    k == 1 ? o[0].name : k < 0 ? err : "nothing",
			    c[i].to);
		CHECK(k == 1 && strcmp(o[0].name, c[i].to) == 0);
		CHECK(k != 1 || (o[0].rows == 0 && !o[0].transposed));
	}
}

/* Names that match a rule yet do not fit it: each fails with a
 * message. */
static void
check_failures(const struct nm_params *p, const char *const *names,
    size_t n)
{
	struct nm_out o[NM_MAX_OUT];
	const int64_t shape[1] = { 4 };
	char err[256];
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		err[0] = '\0';
		k = nm_convert(p, names[i], 1, shape, o, err, sizeof(err));
		if (k != -1 || err[0] == '\0')
			printf("# %s: %d, \"%s\"; want a failure\n", names[i],
			    k, err);
		CHECK(k == -1 && err[0] != '\0');
	}
}

/* SD 1.5 (v1-5-pruned): 4 levels of 2 resnets, attention on the first
 * three; conv1x1 proj_in. */
static const struct pair sd15_unet[] = {
	{ "time_embed.0.weight", "time_embedding.linear_1.weight" },
	{ "time_embed.2.bias", "time_embedding.linear_2.bias" },
	{ "input_blocks.0.0.weight", "conv_in.weight" },
	{ "input_blocks.1.0.in_layers.0.weight",
	    "down_blocks.0.resnets.0.norm1.weight" },
	{ "input_blocks.1.0.in_layers.2.bias",
	    "down_blocks.0.resnets.0.conv1.bias" },
	{ "input_blocks.1.0.emb_layers.1.weight",
	    "down_blocks.0.resnets.0.time_emb_proj.weight" },
	{ "input_blocks.1.0.out_layers.0.bias",
	    "down_blocks.0.resnets.0.norm2.bias" },
	{ "input_blocks.1.0.out_layers.3.weight",
	    "down_blocks.0.resnets.0.conv2.weight" },
	{ "input_blocks.1.1.norm.weight",
	    "down_blocks.0.attentions.0.norm.weight" },
	{ "input_blocks.1.1.proj_in.weight",
	    "down_blocks.0.attentions.0.proj_in.weight" },
	{ "input_blocks.2.1.transformer_blocks.0.attn1.to_q.weight",
	    "down_blocks.0.attentions.1.transformer_blocks.0.attn1.to_q."
	    "weight" },
	{ "input_blocks.3.0.op.weight",
	    "down_blocks.0.downsamplers.0.conv.weight" },
	{ "input_blocks.4.0.skip_connection.weight",
	    "down_blocks.1.resnets.0.conv_shortcut.weight" },
	{ "input_blocks.5.1.transformer_blocks.0.ff.net.0.proj.weight",
	    "down_blocks.1.attentions.1.transformer_blocks.0.ff.net.0.proj."
	    "weight" },
	{ "input_blocks.6.0.op.bias",
	    "down_blocks.1.downsamplers.0.conv.bias" },
	{ "input_blocks.9.0.op.bias",
	    "down_blocks.2.downsamplers.0.conv.bias" },
	{ "input_blocks.10.0.in_layers.0.weight",
	    "down_blocks.3.resnets.0.norm1.weight" },
	{ "input_blocks.11.0.out_layers.3.bias",
	    "down_blocks.3.resnets.1.conv2.bias" },
	{ "middle_block.0.in_layers.0.weight",
	    "mid_block.resnets.0.norm1.weight" },
	{ "middle_block.1.transformer_blocks.0.attn2.to_k.weight",
	    "mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight" },
	{ "middle_block.2.emb_layers.1.bias",
	    "mid_block.resnets.1.time_emb_proj.bias" },
	{ "output_blocks.0.0.skip_connection.weight",
	    "up_blocks.0.resnets.0.conv_shortcut.weight" },
	{ "output_blocks.2.1.conv.weight",
	    "up_blocks.0.upsamplers.0.conv.weight" },
	{ "output_blocks.3.1.norm.bias", "up_blocks.1.attentions.0.norm.bias" },
	{ "output_blocks.5.2.conv.bias", "up_blocks.1.upsamplers.0.conv.bias" },
	{ "output_blocks.8.2.conv.weight",
	    "up_blocks.2.upsamplers.0.conv.weight" },
	/* diffusers' "v1" marker key */
	{ "output_blocks.11.0.skip_connection.weight",
	    "up_blocks.3.resnets.2.conv_shortcut.weight" },
	{ "output_blocks.11.1.proj_out.bias",
	    "up_blocks.3.attentions.2.proj_out.bias" },
	{ "out.0.weight", "conv_norm_out.weight" },
	{ "out.2.bias", "conv_out.bias" },
	/* no rule: kept under the file's name */
	{ "input_blocks.1.0.foo.weight", NULL },
	{ "input_blocks.01.0.in_layers.0.weight", NULL },
	{ "input_blocks.100001.0.in_layers.0.weight", NULL },
	{ "input_blocks.x.0.in_layers.0.weight", NULL },
	{ "alphas_cumprod", NULL },
};

static void
unet_sd15(void)
{
	struct nm_params p;
	static const char *const bad[] = {
		/* the downsampler's slot holding an attention */
		"input_blocks.3.1.norm.weight",
		/* a downsampler where a resnet belongs */
		"input_blocks.2.0.op.weight",
		"input_blocks.1.2.norm.weight",
		/* an upsampler before the last block of its level */
		"output_blocks.1.1.conv.weight",
		"output_blocks.0.3.conv.weight",
		"middle_block.3.in_layers.0.weight",
	};

	check_pairs(NM_LDM_UNET, sd15_unet, NPAIRS(sd15_unet), NULL, 0);
	nm_init(&p, NM_LDM_UNET);
	nm_scan(&p, "input_blocks.11.0.out_layers.3.bias");
	nm_scan(&p, "input_blocks.3.0.op.weight");
	nm_scan(&p, "input_blocks.6.0.op.weight");
	nm_finish(&p);
	CHECK(p.layers_per_block == 2);
	check_failures(&p, bad, NPAIRS(bad));
}

/* SD 2.1 (v2-1_768-ema-pruned): SD 1.5's layout with linear proj_in. */
static const struct pair sd21_unet[] = {
	{ "input_blocks.3.0.op.weight",
	    "down_blocks.0.downsamplers.0.conv.weight" },
	/* diffusers' "v2" marker key */
	{ "input_blocks.2.1.transformer_blocks.0.attn2.to_k.weight",
	    "down_blocks.0.attentions.1.transformer_blocks.0.attn2.to_k."
	    "weight" },
	{ "input_blocks.7.1.proj_in.weight",
	    "down_blocks.2.attentions.0.proj_in.weight" },
	{ "output_blocks.6.1.transformer_blocks.0.attn2.to_out.0.weight",
	    "up_blocks.2.attentions.0.transformer_blocks.0.attn2.to_out.0."
	    "weight" },
	{ "output_blocks.9.1.transformer_blocks.0.norm2.bias",
	    "up_blocks.3.attentions.0.transformer_blocks.0.norm2.bias" },
};

static void
unet_sd21(void)
{
	check_pairs(NM_LDM_UNET, sd21_unet, NPAIRS(sd21_unet), NULL, 0);
}

/* SDXL base (sd_xl_base_1.0): 3 levels of 2 resnets, no attention on
 * level 0, 2 and 10 transformer blocks on levels 1 and 2, label_emb. */
static const struct pair sdxl_unet[] = {
	{ "label_emb.0.0.weight", "add_embedding.linear_1.weight" },
	{ "label_emb.0.0.bias", "add_embedding.linear_1.bias" },
	{ "label_emb.0.2.weight", "add_embedding.linear_2.weight" },
	{ "label_emb.0.2.bias", "add_embedding.linear_2.bias" },
	{ "input_blocks.1.0.in_layers.2.weight",
	    "down_blocks.0.resnets.0.conv1.weight" },
	{ "input_blocks.2.0.out_layers.3.bias",
	    "down_blocks.0.resnets.1.conv2.bias" },
	{ "input_blocks.3.0.op.weight",
	    "down_blocks.0.downsamplers.0.conv.weight" },
	{ "input_blocks.4.0.skip_connection.weight",
	    "down_blocks.1.resnets.0.conv_shortcut.weight" },
	{ "input_blocks.4.1.transformer_blocks.1.attn1.to_k.weight",
	    "down_blocks.1.attentions.0.transformer_blocks.1.attn1.to_k."
	    "weight" },
	{ "input_blocks.6.0.op.bias",
	    "down_blocks.1.downsamplers.0.conv.bias" },
	{ "input_blocks.8.1.transformer_blocks.9.ff.net.2.weight",
	    "down_blocks.2.attentions.1.transformer_blocks.9.ff.net.2."
	    "weight" },
	{ "middle_block.1.transformer_blocks.9.norm3.weight",
	    "mid_block.attentions.0.transformer_blocks.9.norm3.weight" },
	{ "middle_block.2.out_layers.3.weight",
	    "mid_block.resnets.1.conv2.weight" },
	{ "output_blocks.0.1.transformer_blocks.9.attn2.to_v.weight",
	    "up_blocks.0.attentions.0.transformer_blocks.9.attn2.to_v."
	    "weight" },
	/* level 0 of the way up has attention: the upsampler is part 2 */
	{ "output_blocks.2.2.conv.weight",
	    "up_blocks.0.upsamplers.0.conv.weight" },
	{ "output_blocks.5.2.conv.bias", "up_blocks.1.upsamplers.0.conv.bias" },
	{ "output_blocks.6.0.skip_connection.weight",
	    "up_blocks.2.resnets.0.conv_shortcut.weight" },
	{ "output_blocks.8.0.out_layers.3.weight",
	    "up_blocks.2.resnets.2.conv2.weight" },
	{ "out.2.weight", "conv_out.weight" },
};

static void
unet_sdxl(void)
{
	check_pairs(NM_LDM_UNET, sdxl_unet, NPAIRS(sdxl_unet), NULL, 0);
}

/* layers_per_block from the names alone. */
static void
unet_layers_per_block(void)
{
	static const struct {
		const char *names[4];
		int want;
	} c[] = {
		/* a two-level test model of 1 layer per block */
		{ { "input_blocks.1.0.in_layers.0.weight",
		    "input_blocks.2.0.op.weight",
		    "input_blocks.3.0.in_layers.0.weight", NULL }, 1 },
		/* one level: no downsampler */
		{ { "input_blocks.1.0.in_layers.0.weight",
		    "input_blocks.2.0.in_layers.0.weight", NULL }, 2 },
		{ { "input_blocks.3.0.op.weight", NULL }, 2 },
		{ { "out.2.weight", NULL }, 0 },
	};
	struct nm_params p;
	struct nm_out o[NM_MAX_OUT];
	const int64_t shape[1] = { 4 };
	size_t i, j;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		nm_init(&p, NM_LDM_UNET);
		for (j = 0; c[i].names[j] != NULL; j++)
			nm_scan(&p, c[i].names[j]);
		nm_finish(&p);
		CHECK(p.layers_per_block == c[i].want);
	}
	/* the two-level model's way up */
	nm_init(&p, NM_LDM_UNET);
	nm_scan(&p, "input_blocks.2.0.op.weight");
	nm_finish(&p);
	CHECK(nm_convert(&p, "output_blocks.1.1.conv.weight", 1, shape, o,
	    NULL, 0) == 1);
	CHECK_STR(o[0].name, "up_blocks.0.upsamplers.0.conv.weight");
	CHECK(nm_convert(&p, "output_blocks.3.1.proj_out.weight", 1, shape,
	    o, NULL, 0) == 1);
	CHECK_STR(o[0].name, "up_blocks.1.attentions.1.proj_out.weight");
}

/* The SD VAE (first_stage_model.*): 4 levels, the decoder numbered by
 * resolution. */
static const struct pair sd_vae[] = {
	{ "decoder.up.3.block.0.conv1.weight",
	    "decoder.up_blocks.0.resnets.0.conv1.weight" },
	{ "decoder.up.3.upsample.conv.weight",
	    "decoder.up_blocks.0.upsamplers.0.conv.weight" },
	{ "decoder.up.1.block.0.nin_shortcut.weight",
	    "decoder.up_blocks.2.resnets.0.conv_shortcut.weight" },
	{ "decoder.up.0.block.2.norm2.bias",
	    "decoder.up_blocks.3.resnets.2.norm2.bias" },
	{ "encoder.down.0.block.1.conv2.weight",
	    "encoder.down_blocks.0.resnets.1.conv2.weight" },
	{ "encoder.down.1.block.0.nin_shortcut.bias",
	    "encoder.down_blocks.1.resnets.0.conv_shortcut.bias" },
	{ "encoder.down.2.downsample.conv.weight",
	    "encoder.down_blocks.2.downsamplers.0.conv.weight" },
	{ "encoder.mid.block_1.norm1.weight",
	    "encoder.mid_block.resnets.0.norm1.weight" },
	{ "decoder.mid.block_2.conv2.bias",
	    "decoder.mid_block.resnets.1.conv2.bias" },
	{ "encoder.mid.attn_1.norm.weight",
	    "encoder.mid_block.attentions.0.group_norm.weight" },
	{ "encoder.mid.attn_1.q.weight",
	    "encoder.mid_block.attentions.0.to_q.weight" },
	{ "decoder.mid.attn_1.k.bias",
	    "decoder.mid_block.attentions.0.to_k.bias" },
	{ "decoder.mid.attn_1.v.weight",
	    "decoder.mid_block.attentions.0.to_v.weight" },
	{ "decoder.mid.attn_1.proj_out.weight",
	    "decoder.mid_block.attentions.0.to_out.0.weight" },
	{ "encoder.norm_out.weight", "encoder.conv_norm_out.weight" },
	{ "decoder.norm_out.bias", "decoder.conv_norm_out.bias" },
	/* the same in both namings */
	{ "encoder.conv_in.weight", NULL },
	{ "decoder.conv_out.bias", NULL },
	{ "quant_conv.weight", NULL },
	{ "post_quant_conv.bias", NULL },
	{ "decoder.mid.attn_1.x.weight", NULL },
};

static void
vae_ldm(void)
{
	static const char *const extra[] = {
		"decoder.up.2.block.0.conv1.weight",
	};
	static const char *const bad[] = {
		"decoder.up.2.block.0.conv1.weight",
	};
	struct nm_params p;

	check_pairs(NM_LDM_VAE, sd_vae, NPAIRS(sd_vae), extra, 1);
	/* a decoder level past those scanned */
	nm_init(&p, NM_LDM_VAE);
	nm_scan(&p, "decoder.up.1.block.0.conv1.weight");
	nm_finish(&p);
	CHECK(p.vae_levels == 2);
	check_failures(&p, bad, NPAIRS(bad));
}

/* diffusers folders are canonical but for the VAE attention of
 * diffusers before 0.15. */
static const struct pair diffusers_names[] = {
	{ "decoder.mid_block.attentions.0.query.weight",
	    "decoder.mid_block.attentions.0.to_q.weight" },
	{ "encoder.mid_block.attentions.0.key.bias",
	    "encoder.mid_block.attentions.0.to_k.bias" },
	{ "encoder.mid_block.attentions.0.value.weight",
	    "encoder.mid_block.attentions.0.to_v.weight" },
	{ "encoder.mid_block.attentions.0.proj_attn.bias",
	    "encoder.mid_block.attentions.0.to_out.0.bias" },
	{ "decoder.mid_block.attentions.0.to_q.weight", NULL },
	{ "down_blocks.0.resnets.0.conv1.weight", NULL },
	{ "text_model.encoder.layers.0.self_attn.q_proj.weight", NULL },
};

static void
diffusers(void)
{
	check_pairs(NM_DIFFUSERS, diffusers_names, NPAIRS(diffusers_names),
	    NULL, 0);
}

/* OpenCLIP ViT-H (SD 2.x, cond_stage_model.model.*) and ViT-bigG (SDXL,
 * conditioner.embedders.1.model.*). */
static const struct pair openclip_names[] = {
	{ "token_embedding.weight",
	    "text_model.embeddings.token_embedding.weight" },
	{ "positional_embedding",
	    "text_model.embeddings.position_embedding.weight" },
	{ "ln_final.weight", "text_model.final_layer_norm.weight" },
	{ "ln_final.bias", "text_model.final_layer_norm.bias" },
	{ "transformer.resblocks.0.ln_1.bias",
	    "text_model.encoder.layers.0.layer_norm1.bias" },
	{ "transformer.resblocks.22.ln_2.weight",
	    "text_model.encoder.layers.22.layer_norm2.weight" },
	{ "transformer.resblocks.5.attn.out_proj.weight",
	    "text_model.encoder.layers.5.self_attn.out_proj.weight" },
	{ "transformer.resblocks.5.mlp.c_fc.bias",
	    "text_model.encoder.layers.5.mlp.fc1.bias" },
	{ "transformer.resblocks.31.mlp.c_proj.weight",
	    "text_model.encoder.layers.31.mlp.fc2.weight" },
	{ "logit_scale", NULL },
	{ "transformer.resblocks.0.attn.foo", NULL },
};

static void
openclip_plain(void)
{
	check_pairs(NM_OPENCLIP, openclip_names, NPAIRS(openclip_names), NULL,
	    0);
}

/* in_proj_weight / in_proj_bias: q, k, v as row ranges of width D. */
static void
openclip_fused_qkv(void)
{
	static const struct {
		const char *name;
		int ndim;
		int64_t shape[2];
		const char *want[3];
		int64_t D;
	} c[] = {
		{ "transformer.resblocks.0.attn.in_proj_weight", 2,
		    { 3072, 1024 }, {
		    "text_model.encoder.layers.0.self_attn.q_proj.weight",
		    "text_model.encoder.layers.0.self_attn.k_proj.weight",
		    "text_model.encoder.layers.0.self_attn.v_proj.weight" },
		    1024 },
		{ "transformer.resblocks.23.attn.in_proj_bias", 1, { 3072 }, {
		    "text_model.encoder.layers.23.self_attn.q_proj.bias",
		    "text_model.encoder.layers.23.self_attn.k_proj.bias",
		    "text_model.encoder.layers.23.self_attn.v_proj.bias" },
		    1024 },
		/* bigG */
		{ "transformer.resblocks.31.attn.in_proj_weight", 2,
		    { 3840, 1280 }, {
		    "text_model.encoder.layers.31.self_attn.q_proj.weight",
		    "text_model.encoder.layers.31.self_attn.k_proj.weight",
		    "text_model.encoder.layers.31.self_attn.v_proj.weight" },
		    1280 },
	};
	static const struct {
		const char *name;
		int ndim;
		int64_t shape[2];
	} bad[] = {
		{ "transformer.resblocks.0.attn.in_proj_weight", 2,
		    { 3072, 1000 } },
		{ "transformer.resblocks.0.attn.in_proj_weight", 1, { 3072 } },
		{ "transformer.resblocks.0.attn.in_proj_weight", 2, { 0, 0 } },
		{ "transformer.resblocks.0.attn.in_proj_bias", 1, { 3071 } },
		{ "transformer.resblocks.0.attn.in_proj_bias", 2, { 3, 1 } },
		{ "text_projection", 1, { 1024 } },
	};
	struct nm_params p;
	struct nm_out o[NM_MAX_OUT];
	char err[256];
	size_t i;
	int j, k;

	nm_init(&p, NM_OPENCLIP);
	nm_finish(&p);
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		k = nm_convert(&p, c[i].name, c[i].ndim, c[i].shape, o, err,
		    sizeof(err));
		CHECK(k == 3);
		for (j = 0; k == 3 && j < 3; j++) {
			CHECK_STR(o[j].name, c[i].want[j]);
			CHECK(o[j].row0 == j * c[i].D && o[j].rows == c[i].D);
			CHECK(!o[j].transposed);
		}
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		k = nm_convert(&p, bad[i].name, bad[i].ndim, bad[i].shape, o,
		    err, sizeof(err));
		CHECK(k == -1 && err[0] != '\0');
	}
	/* [3072, 1000] says what it wanted */
	nm_convert(&p, bad[0].name, 2, bad[0].shape, o, err, sizeof(err));
	CHECK(strstr(err, "[3D, D], not [3072, 1000]") != NULL);
}

/* text_projection is x @ P in OpenCLIP ([in, out]), a Linear weight
 * ([out, in]) in transformers: the canonical one is its transpose. */
static void
openclip_text_projection(void)
{
	struct nm_params p;
	struct nm_out o[NM_MAX_OUT];
	const int64_t shape[2] = { 1280, 1280 };

	nm_init(&p, NM_OPENCLIP);
	nm_finish(&p);
	CHECK(nm_convert(&p, "text_projection", 2, shape, o, NULL, 0) == 1);
	CHECK_STR(o[0].name, "text_projection.weight");
	CHECK(o[0].transposed && o[0].rows == 0);
}

/* A canonical name that does not fit NM_NAME_MAX fails; nothing is cut
 * short. */
static void
too_long(void)
{
	struct nm_params p;
	struct nm_out o[NM_MAX_OUT];
	const int64_t shape[1] = { 4 };
	char name[NM_NAME_MAX + 32], err[256] = "";

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memcpy(name, "input_blocks.1.1.", 17);
	nm_init(&p, NM_LDM_UNET);
	nm_scan(&p, "input_blocks.3.0.op.weight");
	nm_finish(&p);
	CHECK(nm_convert(&p, name, 1, shape, o, err, sizeof(err)) == -1);
	CHECK(strstr(err, "longer than") != NULL);
}

/* nm_unet_to_ldm gives back the LDM name of every canonical one above
 * (the pairs of a rule: the others have no canonical name). */
static void
check_back(const struct pair *c, size_t n, int layers, unsigned up_attn)
{
	char got[NM_NAME_MAX];
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		if (c[i].to == NULL)
			continue;
		k = nm_unet_to_ldm(c[i].to, layers, up_attn, got, sizeof(got));
		if (k != 1 || strcmp(got, c[i].from) != 0)
			printf("# %s: got %s, want %s\n", c[i].to,
			    k == 1 ? got : "nothing", c[i].from);
		CHECK(k == 1 && strcmp(got, c[i].from) == 0);
	}
}

static void
unet_to_ldm(void)
{
	char got[NM_NAME_MAX];

	/* SD 1.x / 2.x: attention on up levels 1..3; SDXL: on 0 and 1. */
	check_back(sd15_unet, NPAIRS(sd15_unet), 2, 0xeu);
	check_back(sd21_unet, NPAIRS(sd21_unet), 2, 0xeu);
	check_back(sdxl_unet, NPAIRS(sdxl_unet), 2, 0x3u);
	/* Names outside the layout or no UNet's: none. */
	CHECK(nm_unet_to_ldm("down_blocks.0.resnets.2.conv1.weight", 2, 0,
	    got, sizeof(got)) == 0);
	CHECK(nm_unet_to_ldm("up_blocks.0.resnets.3.conv1.weight", 2, 0,
	    got, sizeof(got)) == 0);
	CHECK(nm_unet_to_ldm("down_blocks.0.resnets.0.foo.weight", 2, 0,
	    got, sizeof(got)) == 0);
	CHECK(nm_unet_to_ldm("text_model.final_layer_norm.weight", 2, 0,
	    got, sizeof(got)) == 0);
	CHECK(nm_unet_to_ldm("conv_in.weight", 2, 0, got, 8) == -1);
}

/* lllyasviel's control_sd15_canny / control_v11p_sd15_canny (prefix
 * stripped): the encoder as SD 1.5's plus the hint block (convs at 0, 2,
 * .., 14 with SiLUs between), zero_convs.0-11 and middle_block_out, as
 * diffusers' convert_controlnet_checkpoint names them. */
static const struct pair sd15_controlnet[] = {
	{ "input_hint_block.0.weight",
	  "controlnet_cond_embedding.conv_in.weight" },
	{ "input_hint_block.2.bias", "controlnet_cond_embedding.blocks.0.bias" },
	{ "input_hint_block.4.weight",
	  "controlnet_cond_embedding.blocks.1.weight" },
	{ "input_hint_block.12.weight",
	  "controlnet_cond_embedding.blocks.5.weight" },
	{ "input_hint_block.14.weight",
	  "controlnet_cond_embedding.conv_out.weight" },
	{ "input_hint_block.14.bias",
	  "controlnet_cond_embedding.conv_out.bias" },
	{ "zero_convs.0.0.weight", "controlnet_down_blocks.0.weight" },
	{ "zero_convs.11.0.bias", "controlnet_down_blocks.11.bias" },
	{ "middle_block_out.0.weight", "controlnet_mid_block.weight" },
	{ "middle_block.1.proj_in.weight",
	  "mid_block.attentions.0.proj_in.weight" },
	{ "input_blocks.0.0.weight", "conv_in.weight" },
	{ "input_blocks.3.0.op.weight",
	  "down_blocks.0.downsamplers.0.conv.weight" },
	{ "input_blocks.11.0.out_layers.3.bias",
	  "down_blocks.3.resnets.1.conv2.bias" },
	{ "time_embed.2.weight", "time_embedding.linear_2.weight" },
	{ "zero_convs.1.weight", NULL },
};

static void
controlnet_sd15(void)
{
	static const char *const extra[] = {
		"input_blocks.6.0.op.weight", "input_blocks.9.0.op.weight",
	};
	static const char *const bad[] = { "input_hint_block.3.weight" };
	struct nm_params p;

	check_pairs(NM_LDM_UNET, sd15_controlnet, NPAIRS(sd15_controlnet),
	    extra, NPAIRS(extra));
	nm_init(&p, NM_LDM_UNET);
	nm_scan(&p, "input_hint_block.14.weight");
	nm_finish(&p);
	check_failures(&p, bad, NPAIRS(bad));
}

int
main(void)
{
	RUN(unet_sd15);
	RUN(unet_sd21);
	RUN(unet_sdxl);
	RUN(unet_layers_per_block);
	RUN(vae_ldm);
	RUN(diffusers);
	RUN(openclip_plain);
	RUN(openclip_fused_qkv);
	RUN(openclip_text_projection);
	RUN(too_long);
	RUN(unet_to_ldm);
	RUN(controlnet_sd15);
	return tap_done();
}
