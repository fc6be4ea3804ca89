/* test_extras.c - LoRAs, embeddings and checkpoints told apart by their
 * headers: kohya and PEFT LoRAs and their base family (or "unknown"
 * rather than a guess), SD 1.x and SDXL embeddings, a checkpoint's type
 * and native size, and a clear message naming the file for one that is
 * neither, the other kind, incomplete or truncated. */
#include "extras.h"
#include "models.h"
#include "stheader.h"
#include "tap.h"
#include "../common/st_fixture.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/kiln-extras-XXXXXX";
static char loras[600], embs[600], models[600];

#define TE_Q "lora_te_text_model_encoder_layers_0_self_attn_q_proj"
#define UNET_K "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0" \
	"_attn2_to_k"
#define PEFT_K "unet.down_blocks.1.attentions.0.transformer_blocks.0." \
	"attn2.to_k"

/* Classifies the tensors t as kind; returns extra_classify's result, x
 * filled, the message in err. */
static int
classify(const struct st_fix *t, int n, const char *meta,
	enum extra_kind kind, struct extra_info *x, char *err, size_t errlen)
{
	struct sth_file *h = NULL;
	unsigned char *b;
	size_t len;
	int rc = -1;

	memset(x, 0, sizeof(*x));
	err[0] = '\0';
	b = st_fix_make(t, n, meta, &len);
	if (sth_parse(b, len, "f.safetensors", &h, err, errlen) == 0)
		rc = extra_classify(h, kind, "f.safetensors", x, err, errlen);
	else
		printf("# fixture does not parse: %s\n", err);
	sth_free(h);
	free(b);
	return rc;
}

static void
kohya_sd1_lora(void)
{
	static const struct st_fix t[] = {
		{ TE_Q ".lora_down.weight", "F16", 2, { 4, 768 } },
		{ TE_Q ".lora_up.weight", "F16", 2, { 768, 4 } },
		{ TE_Q ".alpha", "F32", 0, { 0 } },
		{ UNET_K ".lora_down.weight", "F16", 2, { 4, 768 } },
		{ UNET_K ".lora_up.weight", "F16", 2, { 320, 4 } },
	};
	struct extra_info x;
	char err[512];

	CHECK(classify(t, 5, "{\"sshs_model_hash\": \"" "0123456789abcdef"
	    "0123456789abcdef0123456789abcdef0123456789abcdef\"}", EXTRA_LORA,
	    &x, err, sizeof(err)) == 0);
	CHECK(x.family == SD_1);
	CHECK_STR(x.format, "kohya");
	CHECK(x.modules == 2);
	CHECK_STR(x.sshs_hash, "0123456789abcdef0123456789abcdef0123456789"
	    "abcdef0123456789abcdef");
	free(x.sshs_hash);
	/* The same with only the text encoder, then only the UNet. */
	CHECK(classify(t, 3, NULL, EXTRA_LORA, &x, err, sizeof(err)) == 0);
	CHECK(x.family == SD_1 && x.sshs_hash == NULL);
	CHECK(classify(t + 3, 2, NULL, EXTRA_LORA, &x, err, sizeof(err)) ==
	    0);
	CHECK(x.family == SD_1);
}

static void
sdxl_and_sd2_loras(void)
{
	static const struct st_fix xl[] = {
		{ "lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight",
		  "F16", 2, { 2, 768 } },
		{ "lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_up.weight",
		  "F16", 2, { 3072, 2 } },
		{ "lora_unet_input_blocks_1_0_in_layers_2.lora_down.weight",
		  "F16", 4, { 2, 320, 3, 3 } },
		{ "lora_unet_input_blocks_1_0_in_layers_2.lora_up.weight",
		  "F16", 4, { 320, 2, 1, 1 } },
	};
	static const struct st_fix peft[] = {
		{ PEFT_K ".lora_A.weight", "F32", 2, { 4, 2048 } },
		{ PEFT_K ".lora_B.weight", "F32", 2, { 640, 4 } },
	};
	static const struct st_fix sd2[] = {
		{ TE_Q ".lora_down.weight", "F16", 2, { 4, 1024 } },
		{ TE_Q ".lora_up.weight", "F16", 2, { 1024, 4 } },
	};
	struct extra_info x;
	char err[512];

	CHECK(classify(xl, 4, NULL, EXTRA_LORA, &x, err, sizeof(err)) == 0);
	CHECK(x.family == SD_XL && x.modules == 2);
	CHECK(classify(peft, 2, NULL, EXTRA_LORA, &x, err, sizeof(err)) == 0);
	CHECK(x.family == SD_XL);
	CHECK_STR(x.format, "peft");
	CHECK(classify(sd2, 2, NULL, EXTRA_LORA, &x, err, sizeof(err)) == 0);
	CHECK(x.family == SD_2);
}

/* No shape that tells, or shapes that disagree: unknown, not a guess;
 * kohya's training metadata is the last resort. */
static void
unknown_rather_than_a_guess(void)
{
	static const struct st_fix conv[] = {
		{ "lora_unet_conv_in.lora_down.weight", "F16", 4,
		  { 2, 4, 3, 3 } },
		{ "lora_unet_conv_in.lora_up.weight", "F16", 4,
		  { 320, 2, 1, 1 } },
	};
	static const struct st_fix odd[] = {
		{ UNET_K ".lora_down.weight", "F16", 2, { 4, 640 } },
		{ UNET_K ".lora_up.weight", "F16", 2, { 320, 4 } },
	};
	static const struct st_fix mixed[] = {
		{ "lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight",
		  "F16", 2, { 2, 1280 } },
		{ "lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_up.weight",
		  "F16", 2, { 5120, 2 } },
		{ UNET_K ".lora_down.weight", "F16", 2, { 4, 768 } },
		{ UNET_K ".lora_up.weight", "F16", 2, { 320, 4 } },
	};
	struct extra_info x;
	char err[512];

	CHECK(classify(conv, 2, NULL, EXTRA_LORA, &x, err, sizeof(err)) == 0);
	CHECK(x.family == SD_UNKNOWN);
	CHECK(classify(conv, 2, "{\"ss_base_model_version\": \"sdxl_base_v1-0"
	    "\"}", EXTRA_LORA, &x, err, sizeof(err)) == 0);
	CHECK(x.family == SD_XL);
	CHECK(classify(conv, 2, "{\"ss_v2\": \"True\"}", EXTRA_LORA, &x, err,
	    sizeof(err)) == 0);
	CHECK(x.family == SD_2);
	CHECK(classify(odd, 2, NULL, EXTRA_LORA, &x, err, sizeof(err)) == 0);
	CHECK(x.family == SD_UNKNOWN);
	CHECK(classify(mixed, 4, NULL, EXTRA_LORA, &x, err, sizeof(err)) == 0);
	CHECK(x.family == SD_UNKNOWN);
	CHECK_STR(sd_family_name(x.family), "unknown");
}

static void
bad_loras_say_why(void)
{
	static const struct st_fix no_up[] = {
		{ "lora_unet_x.lora_down.weight", "F16", 2, { 4, 8 } },
	};
	static const struct st_fix rank[] = {
		{ "lora_unet_x.lora_down.weight", "F16", 2, { 4, 8 } },
		{ "lora_unet_x.lora_up.weight", "F16", 2, { 8, 2 } },
	};
	static const struct st_fix lyco[] = {
		{ "lora_unet_x.lora_down.weight", "F16", 2, { 4, 8 } },
		{ "lora_unet_x.lora_up.weight", "F16", 2, { 8, 4 } },
		{ "lora_unet_y.hada_w1_a", "F16", 2, { 8, 4 } },
	};
	static const struct st_fix stray[] = {
		{ "lora_unet_x.lora_down.weight", "F16", 2, { 4, 8 } },
		{ "lora_unet_x.lora_up.weight", "F16", 2, { 8, 4 } },
		{ "something_else", "F16", 1, { 8 } },
	};
	static const struct st_fix ints[] = {
		{ "lora_unet_x.lora_down.weight", "I64", 2, { 4, 8 } },
		{ "lora_unet_x.lora_up.weight", "F16", 2, { 8, 4 } },
	};
	static const struct st_fix mix[] = {
		{ "lora_unet_x.lora_down.weight", "F16", 2, { 4, 8 } },
		{ "lora_unet_x.lora_up.weight", "F16", 2, { 8, 4 } },
		{ "unet.y.lora_A.weight", "F16", 2, { 4, 8 } },
		{ "unet.y.lora_B.weight", "F16", 2, { 8, 4 } },
	};
	static const struct st_fix emb[] = {
		{ "emb_params", "F32", 2, { 2, 768 } },
	};
	static const struct st_fix ckpt[] = {
		{ "model.diffusion_model.input_blocks.1.1.transformer_blocks.0."
		  "attn2.to_k.weight", "F16", 2, { 320, 768 } },
	};
	struct extra_info x;
	char err[512];

	CHECK(classify(no_up, 1, NULL, EXTRA_LORA, &x, err, sizeof(err)) ==
	    -1);
	CHECK(strstr(err, "f.safetensors: 'lora_unet_x.lora_down.weight' has "
	    "no lora_up") != NULL);
	CHECK(classify(rank, 2, NULL, EXTRA_LORA, &x, err, sizeof(err)) == -1);
	CHECK(strstr(err, "rank 4") != NULL);
	CHECK(classify(lyco, 3, NULL, EXTRA_LORA, &x, err, sizeof(err)) == -1);
	CHECK(strstr(err, "LyCORIS") != NULL);
	CHECK(classify(stray, 3, NULL, EXTRA_LORA, &x, err, sizeof(err)) ==
	    -1);
	CHECK(strstr(err, "'something_else' is not part of a LoRA") != NULL);
	CHECK(classify(ints, 2, NULL, EXTRA_LORA, &x, err, sizeof(err)) == -1);
	CHECK(strstr(err, "is I64, not a float") != NULL);
	CHECK(classify(mix, 4, NULL, EXTRA_LORA, &x, err, sizeof(err)) == -1);
	CHECK(strstr(err, "mixes kohya") != NULL);
	CHECK(classify(emb, 1, NULL, EXTRA_LORA, &x, err, sizeof(err)) == -1);
	CHECK(strstr(err, "f.safetensors is a textual-inversion embedding, "
	    "not a LoRA") != NULL);
	CHECK(classify(ckpt, 1, NULL, EXTRA_LORA, &x, err, sizeof(err)) == -1);
	CHECK(strstr(err, "is a model checkpoint") != NULL);
	CHECK(classify(NULL, 0, NULL, EXTRA_LORA, &x, err, sizeof(err)) == -1);
	CHECK(strstr(err, "f.safetensors is not a LoRA") != NULL);
}

static void
embeddings(void)
{
	static const struct st_fix sd1[] = {
		{ "emb_params", "F32", 2, { 3, 768 } },
	};
	static const struct st_fix one[] = {
		{ "string_to_param.*", "F16", 1, { 1024 } },
	};
	static const struct st_fix xl[] = {
		{ "clip_g", "F16", 2, { 2, 1280 } },
		{ "clip_l", "F16", 2, { 2, 768 } },
	};
	static const struct st_fix xl_bad[] = {
		{ "clip_g", "F16", 2, { 2, 1280 } },
		{ "clip_l", "F16", 2, { 3, 768 } },
	};
	static const struct st_fix two[] = {
		{ "a", "F16", 2, { 2, 768 } },
		{ "b", "F16", 2, { 2, 768 } },
	};
	static const struct st_fix lora[] = {
		{ "unet.x.lora_A.weight", "F16", 2, { 4, 8 } },
		{ "unet.x.lora_B.weight", "F16", 2, { 8, 4 } },
	};
	struct extra_info x;
	char err[512];

	CHECK(classify(sd1, 1, NULL, EXTRA_EMBEDDING, &x, err, sizeof(err)) ==
	    0);
	CHECK(x.family == SD_1 && x.vectors == 3 && x.width == 768);
	CHECK(classify(one, 1, NULL, EXTRA_EMBEDDING, &x, err, sizeof(err)) ==
	    0);
	CHECK(x.family == SD_2 && x.vectors == 1 && x.width == 1024);
	CHECK(classify(xl, 2, NULL, EXTRA_EMBEDDING, &x, err, sizeof(err)) ==
	    0);
	CHECK(x.family == SD_XL && x.vectors == 2 && x.width == 2048);
	CHECK(classify(xl_bad, 2, NULL, EXTRA_EMBEDDING, &x, err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "f.safetensors: clip_l and clip_g") != NULL);
	CHECK(classify(two, 2, NULL, EXTRA_EMBEDDING, &x, err, sizeof(err)) ==
	    -1);
	CHECK(strstr(err, "has 2 tensors") != NULL);
	CHECK(classify(lora, 2, NULL, EXTRA_EMBEDDING, &x, err, sizeof(err)) ==
	    -1);
	CHECK(strstr(err, "f.safetensors is a LoRA, not an embedding") !=
	    NULL);
}

/* The folders: listed by name, a bad file listed with its error, a
 * missing folder holding none. */
static void
listing(void)
{
	static const struct st_fix lora[] = {
		{ UNET_K ".lora_down.weight", "F16", 2, { 4, 768 } },
		{ UNET_K ".lora_up.weight", "F16", 2, { 320, 4 } },
	};
	static const struct st_fix emb[] = {
		{ "emb_params", "F32", 2, { 1, 768 } },
	};
	struct extra_info *v = NULL, x;
	char err[512], missing[700];
	int n;

	CHECK(st_fix_write(loras, "b-style.safetensors", lora, 2, NULL, 0) ==
	    0);
	CHECK(st_fix_write(loras, "a-cut.safetensors", lora, 2, NULL, 10) ==
	    0);
	CHECK(st_fix_write(loras, "c-emb.safetensors", emb, 1, NULL, 0) == 0);
	tap_put_file(loras, "notes.txt", "x");
	tap_put_file(loras, ".hidden.safetensors", "x");
	n = extras_list(loras, EXTRA_LORA, &v);
	CHECK(n == 3);
	if (n == 3) {
		CHECK_STR(v[0].name, "a-cut");
		CHECK(v[0].error != NULL && strstr(v[0].error,
		    "a-cut.safetensors: truncated") != NULL);
		CHECK_STR(v[1].name, "b-style");
		CHECK(v[1].error == NULL && v[1].family == SD_1);
		CHECK(v[1].size > 0 && v[1].mtime_ns > 0);
		CHECK(v[2].error != NULL && strstr(v[2].error,
		    "c-emb.safetensors is a textual-inversion embedding") !=
		    NULL);
	}
	extras_free(v, n);
	CHECK(extra_load(loras, EXTRA_LORA, "b-style", &x, err, sizeof(err)) ==
	    0);
	CHECK(x.header != NULL && x.modules == 1);
	extra_info_clear(&x);
	CHECK(extra_load(loras, EXTRA_LORA, "zzz", &x, err, sizeof(err)) ==
	    -1);
	CHECK_STR(err, "no LoRA named zzz");
	CHECK(extra_load(loras, EXTRA_LORA, "../x", &x, err, sizeof(err)) ==
	    -1);
	CHECK(strstr(err, "is not a LoRA name") != NULL);
	CHECK(extra_load(loras, EXTRA_LORA, "a-cut", &x, err, sizeof(err)) ==
	    -1);
	CHECK(strstr(err, "a-cut.safetensors: truncated") != NULL);
	extra_info_clear(&x);
	snprintf(missing, sizeof(missing), "%s/none", dir);
	CHECK(extras_list(missing, EXTRA_EMBEDDING, &v) == 0 && v == NULL);
	CHECK(st_fix_write(embs, "tok.safetensors", emb, 1, NULL, 0) == 0);
	n = extras_list(embs, EXTRA_EMBEDDING, &v);
	CHECK(n == 1 && v[0].error == NULL && v[0].vectors == 1);
	extras_free(v, n);
}

/* A single-file checkpoint's type from its header, and the size limits
 * that follow; a folder's from its configs. */
static void
checkpoint_types(void)
{
	static const struct st_fix sdxl[] = {
		{ "conditioner.embedders.1.model.ln_final.weight", "F16", 1,
		  { 1280 } },
	};
	static const struct st_fix sd2[] = {
		{ "model.diffusion_model.input_blocks.1.1.transformer_blocks.0."
		  "attn2.to_k.weight", "F16", 2, { 320, 1024 } },
		{ "cond_stage_model.model.ln_final.weight", "F16", 1, { 1024 } },
	};
	static const struct st_fix sd1[] = {
		{ "cond_stage_model.transformer.text_model.final_layer_norm."
		  "weight", "F16", 1, { 768 } },
	};
	static const struct st_fix lora[] = {
		{ UNET_K ".lora_down.weight", "F16", 2, { 4, 768 } },
		{ UNET_K ".lora_up.weight", "F16", 2, { 320, 4 } },
	};
	struct model_card *c = NULL;
	char err[512], path[700];

	CHECK(st_fix_write(models, "xl.safetensors", sdxl, 1, NULL, 0) == 0);
	CHECK(model_card_load(models, "xl", &c, err, sizeof(err)) == 0);
	CHECK(c != NULL && c->type == SD_XL && c->native_side == 1024 &&
	    c->multiple == 32 && c->max_side == 2048 && c->file_error == NULL);
	model_card_free(c);
	CHECK(st_fix_write(models, "two.safetensors", sd2, 2, NULL, 0) == 0);
	CHECK(model_card_load(models, "two", &c, err, sizeof(err)) == 0);
	CHECK(c != NULL && c->type == SD_2 && c->native_side == 768 &&
	    c->multiple == 64);
	model_card_free(c);
	CHECK(st_fix_write(models, "one.safetensors", sd1, 1, NULL, 0) == 0);
	CHECK(model_card_load(models, "one", &c, err, sizeof(err)) == 0);
	CHECK(c != NULL && c->type == SD_1 && c->native_side == 512 &&
	    c->max_side == 1024);
	model_card_free(c);
	/* A UNet of another width: unknown, whatever its text encoder. */
	{
		static const struct st_fix tiny[] = {
			{ "cond_stage_model.transformer.text_model."
			  "final_layer_norm.weight", "F16", 1, { 64 } },
			{ "model.diffusion_model.input_blocks.1.1."
			  "transformer_blocks.0.attn2.to_k.weight", "F16", 2,
			  { 32, 64 } },
		};

		CHECK(st_fix_write(models, "tiny.safetensors", tiny, 2, NULL,
		    0) == 0);
		CHECK(model_card_load(models, "tiny", &c, err,
		    sizeof(err)) == 0);
		CHECK(c != NULL && c->type == SD_UNKNOWN);
		model_card_free(c);
	}
	/* Unknown: Stable Diffusion 1.x's sizes, no largest side. */
	CHECK(st_fix_write(models, "odd.safetensors", sd1, 0, NULL, 0) == 0);
	CHECK(model_card_load(models, "odd", &c, err, sizeof(err)) == 0);
	CHECK(c != NULL && c->type == SD_UNKNOWN && c->native_side == 512 &&
	    c->multiple == 64 && c->max_side == 0 && c->file_error == NULL);
	model_card_free(c);
	/* Broken, or not a model: loads, with why it cannot be used. */
	CHECK(st_fix_write(models, "cut.safetensors", sd1, 1, NULL, 4) == 0);
	CHECK(model_card_load(models, "cut", &c, err, sizeof(err)) == 0);
	CHECK(c != NULL && c->file_error != NULL &&
	    strstr(c->file_error, "cut.safetensors: truncated") != NULL);
	model_card_free(c);
	CHECK(st_fix_write(models, "lora.safetensors", lora, 2, NULL, 0) == 0);
	CHECK(model_card_load(models, "lora", &c, err, sizeof(err)) == 0);
	CHECK(c != NULL && c->file_error != NULL &&
	    strstr(c->file_error, "lora.safetensors is a LoRA, not a model") !=
	    NULL);
	model_card_free(c);
	/* Folders: the UNet's cross-attention width, or SDXL's class. */
	snprintf(path, sizeof(path), "%s/dxl", models);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/dxl/unet", models);
	mkdir(path, 0755);
	tap_put_file(models, "dxl/model_index.json", "{\"_class_name\": "
	    "\"StableDiffusionXLPipeline\"}");
	tap_put_file(models, "dxl/unet/config.json", "{\"cross_attention_dim\""
	    ": 2048, \"block_out_channels\": [320, 640, 1280], "
	    "\"sample_size\": 128}");
	CHECK(model_card_load(models, "dxl", &c, err, sizeof(err)) == 0);
	CHECK(c != NULL && c->type == SD_XL);
	model_card_free(c);
	tap_put_file(models, "dxl/unet/config.json", "{\"cross_attention_dim\""
	    ": 768}");
	CHECK(model_card_load(models, "dxl", &c, err, sizeof(err)) == 0);
	CHECK(c != NULL && c->type == SD_1);
	model_card_free(c);
	tap_put_file(models, "dxl/unet/config.json", "{\"cross_attention_dim\""
	    ": 128}");
	CHECK(model_card_load(models, "dxl", &c, err, sizeof(err)) == 0);
	CHECK(c != NULL && c->type == SD_XL);
	model_card_free(c);
	tap_put_file(models, "dxl/model_index.json", "{\"_class_name\": "
	    "\"StableDiffusionPipeline\"}");
	CHECK(model_card_load(models, "dxl", &c, err, sizeof(err)) == 0);
	CHECK(c != NULL && c->type == SD_UNKNOWN);
	model_card_free(c);
}

/* basicsr's RRDBNet (Real-ESRGAN x4plus: 64 features, 3 in at x4, 12
 * at x2), the original ESRGAN naming (two upsampling convs: x4) and the
 * compact SRVGGNet (realesr-general-x4v3: 48 = 3 x 4^2 channels out). */
static void
upscalers(void)
{
	static const struct st_fix x4[] = {
		{ "conv_first.weight", "F16", 4, { 64, 3, 3, 3 } },
		{ "body.0.rdb1.conv1.weight", "F16", 4, { 32, 64, 3, 3 } },
		{ "conv_last.weight", "F16", 4, { 3, 64, 3, 3 } },
	};
	static const struct st_fix x2[] = {
		{ "conv_first.weight", "F32", 4, { 64, 12, 3, 3 } },
		{ "body.0.rdb1.conv1.weight", "F32", 4, { 32, 64, 3, 3 } },
	};
	static const struct st_fix old[] = {
		{ "model.0.weight", "F32", 4, { 64, 3, 3, 3 } },
		{ "model.1.sub.0.RDB1.conv1.0.weight", "F32", 4,
		  { 32, 64, 3, 3 } },
		{ "model.3.weight", "F32", 4, { 64, 64, 3, 3 } },
		{ "model.6.weight", "F32", 4, { 64, 64, 3, 3 } },
		{ "model.8.weight", "F32", 4, { 64, 64, 3, 3 } },
		{ "model.10.weight", "F32", 4, { 3, 64, 3, 3 } },
	};
	static const struct st_fix vgg[] = {
		{ "body.0.weight", "F32", 4, { 64, 3, 3, 3 } },
		{ "body.1.weight", "F32", 1, { 64 } },
		{ "body.2.weight", "F32", 4, { 64, 64, 3, 3 } },
		{ "body.3.weight", "F32", 1, { 64 } },
		{ "body.4.weight", "F32", 4, { 48, 64, 3, 3 } },
	};
	static const struct st_fix vgg_odd[] = {
		{ "body.0.weight", "F32", 4, { 64, 3, 3, 3 } },
		{ "body.1.weight", "F32", 1, { 64 } },
		{ "body.2.weight", "F32", 4, { 20, 64, 3, 3 } },
	};
	static const struct st_fix lora[] = {
		{ UNET_K ".lora_down.weight", "F16", 2, { 4, 768 } },
		{ UNET_K ".lora_up.weight", "F16", 2, { 320, 4 } },
	};
	struct extra_info x;
	char err[512];

	CHECK(classify(x4, 3, NULL, EXTRA_UPSCALER, &x, err, sizeof(err)) ==
	    0);
	CHECK_STR(x.arch, "RRDBNet");
	CHECK(x.scale == 4);
	CHECK(classify(x2, 2, NULL, EXTRA_UPSCALER, &x, err, sizeof(err)) ==
	    0);
	CHECK(x.scale == 2);
	CHECK(classify(old, 6, NULL, EXTRA_UPSCALER, &x, err, sizeof(err)) ==
	    0);
	CHECK_STR(x.arch, "RRDBNet");
	CHECK(x.scale == 4);
	CHECK(classify(vgg, 5, NULL, EXTRA_UPSCALER, &x, err, sizeof(err)) ==
	    0);
	CHECK_STR(x.arch, "SRVGGNet");
	CHECK(x.scale == 4);
	CHECK(classify(vgg_odd, 3, NULL, EXTRA_UPSCALER, &x, err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "f.safetensors: an SRVGGNet of a scale") != NULL);
	CHECK(classify(lora, 2, NULL, EXTRA_UPSCALER, &x, err, sizeof(err)) ==
	    -1);
	CHECK(strstr(err, "is a LoRA, not an upscaler") != NULL);
	CHECK(classify(x4 + 2, 1, NULL, EXTRA_UPSCALER, &x, err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "f.safetensors is not an upscaler") != NULL);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(loras, sizeof(loras), "%s/loras", dir);
	snprintf(embs, sizeof(embs), "%s/embeddings", dir);
	snprintf(models, sizeof(models), "%s/models", dir);
	if (mkdir(loras, 0755) != 0 || mkdir(embs, 0755) != 0 ||
	    mkdir(models, 0755) != 0)
		return 1;
	RUN(kohya_sd1_lora);
	RUN(sdxl_and_sd2_loras);
	RUN(unknown_rather_than_a_guess);
	RUN(bad_loras_say_why);
	RUN(embeddings);
	RUN(listing);
	RUN(checkpoint_types);
	RUN(upscalers);
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return tap_done();
}
