/* names.c - LDM, SGM and OpenCLIP tensor names to the canonical
 * (diffusers / transformers) ones. */
#include "names.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A block number larger than this is no module index: the name is left
 * to the caller as unknown. */
#define NUM_MAX	100000

struct rule {
	const char *from, *to;
};

#define NRULES(a) (sizeof(a) / sizeof((a)[0]))

/* Whole prefixes of the UNet that are not inside a numbered block. */
static const struct rule unet_top[] = {
	{ "time_embed.0.", "time_embedding.linear_1." },
	{ "time_embed.2.", "time_embedding.linear_2." },
	/* SDXL's size and pooled-text conditioning (addition_embed_type
	 * "text_time"). */
	{ "label_emb.0.0.", "add_embedding.linear_1." },
	{ "label_emb.0.2.", "add_embedding.linear_2." },
	{ "input_blocks.0.0.", "conv_in." },
	{ "out.0.", "conv_norm_out." },
	{ "out.2.", "conv_out." },
	/* A ControlNet's: the mid block's zero convolution. */
	{ "middle_block_out.0.", "controlnet_mid_block." },
};

/* Inside a UNet resnet (ResBlock's nn.Sequential indices). */
static const struct rule unet_resnet[] = {
	{ "in_layers.0.", "norm1." },
	{ "in_layers.2.", "conv1." },
	{ "emb_layers.1.", "time_emb_proj." },
	{ "out_layers.0.", "norm2." },
	{ "out_layers.3.", "conv2." },
	{ "skip_connection.", "conv_shortcut." },
};

/* Inside the VAE's mid-block attention (1x1 convolutions in LDM). */
static const struct rule vae_attn[] = {
	{ "norm.", "group_norm." },
	{ "q.", "to_q." },
	{ "k.", "to_k." },
	{ "v.", "to_v." },
	{ "proj_out.", "to_out.0." },
};

/* diffusers' AttentionBlock before 0.15. */
static const struct rule vae_attn_old[] = {
	{ "query.", "to_q." },
	{ "key.", "to_k." },
	{ "value.", "to_v." },
	{ "proj_attn.", "to_out.0." },
};

/* Inside an OpenCLIP residual attention block. */
static const struct rule clip_block[] = {
	{ "ln_1.", "layer_norm1." },
	{ "ln_2.", "layer_norm2." },
	{ "attn.out_proj.", "self_attn.out_proj." },
	{ "mlp.c_fc.", "mlp.fc1." },
	{ "mlp.c_proj.", "mlp.fc2." },
};

/* Advances *s past prefix when it starts with it. */
static int
eat(const char **s, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncmp(*s, prefix, n) != 0)
		return 0;
	*s += n;
	return 1;
}

/* Reads "N." (decimal, no leading zero, at most NUM_MAX) and advances
 * past it. Returns N, or -1 when *s does not start so. */
static long
eat_num(const char **s)
{
	const char *p = *s;
	long v = 0;

	if (*p < '0' || *p > '9' || (*p == '0' && p[1] != '.'))
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (*p - '0');
		if (v > NUM_MAX)
			return -1;
	}
	if (*p != '.')
		return -1;
	*s = p + 1;
	return v;
}

/* The rule whose prefix starts *s, with *s advanced past it; NULL when
 * none does. */
static const struct rule *
eat_rule(const char **s, const struct rule *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (eat(s, r[i].from))
			return &r[i];
	return NULL;
}

/* Writes one whole-tensor result. Returns 1, or -1 when it is too
 * long. */
static int __attribute__((format(printf, 4, 5)))
put(struct nm_out *o, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(o->name, sizeof(o->name), fmt, ap);
	va_end(ap);
	o->row0 = o->rows = 0;
	o->transposed = 0;
	if (k < 0 || (size_t)k >= sizeof(o->name))
		return errf(err, errlen, "its canonical name is longer than "
		    "%d bytes", NM_NAME_MAX - 1);
	return 1;
}

void
nm_init(struct nm_params *p, enum nm_scheme scheme)
{
	memset(p, 0, sizeof(*p));
	p->scheme = scheme;
	p->first_op = p->last_input = p->last_up = p->last_hint = -1;
}

void
nm_scan(struct nm_params *p, const char *name)
{
	const char *s = name;
	long k;

	if (p->scheme == NM_LDM_UNET && eat(&s, "input_blocks.") &&
	    (k = eat_num(&s)) >= 0) {
		if (k > p->last_input)
			p->last_input = k;
		if (eat(&s, "0.op.") && (p->first_op < 0 || k < p->first_op))
			p->first_op = k;
	} else if (p->scheme == NM_LDM_UNET && eat(&s, "input_hint_block.") &&
	    (k = eat_num(&s)) >= 0 && k > p->last_hint) {
		p->last_hint = k;
	} else if (p->scheme == NM_LDM_VAE && eat(&s, "decoder.up.") &&
	    (k = eat_num(&s)) >= 0 && k > p->last_up) {
		p->last_up = k;
	}
}

void
nm_finish(struct nm_params *p)
{
	/* The first downsampler closes level 0; without one (a single
	 * level) every input block after conv_in is a resnet of it. */
	if (p->first_op >= 1)
		p->layers_per_block = (int)(p->first_op - 1);
	else if (p->last_input >= 1)
		p->layers_per_block = (int)p->last_input;
	else
		p->layers_per_block = 0;
	p->vae_levels = (int)(p->last_up + 1);
}

/* A UNet resnet's part s under canonical prefix pre. 0 when the part is
 * not one a resnet has. */
static int
unet_resnet_part(struct nm_out *o, const char *pre, const char *s,
    char *err, size_t errlen)
{
	const struct rule *r = eat_rule(&s, unet_resnet, NRULES(unet_resnet));

	if (r == NULL)
		return 0;
	return put(o, err, errlen, "%s%s%s", pre, r->to, s);
}

static int
unet_ldm(const struct nm_params *p, const char *s, struct nm_out *o,
    char *err, size_t errlen)
{
	const struct rule *r;
	char pre[64];
	long k, m, lv, j, L = p->layers_per_block, per = L + 1;

	if ((r = eat_rule(&s, unet_top, NRULES(unet_top))) != NULL)
		return put(o, err, errlen, "%s%s", r->to, s);
	/* ControlNet: zero_convs.N.0 follow the skips; input_hint_block is
	 * an nn.Sequential of convs at the even indices with SiLUs between
	 * them, the first diffusers' conv_in, the last its conv_out, those
	 * between blocks.0.. (diffusers' convert_controlnet_checkpoint). */
	if (eat(&s, "zero_convs.")) {
		if ((k = eat_num(&s)) < 0 || !eat(&s, "0."))
			return 0;
		return put(o, err, errlen, "controlnet_down_blocks.%ld.%s", k,
		    s);
	}
	if (eat(&s, "input_hint_block.")) {
		if ((k = eat_num(&s)) < 0)
			return 0;
		if (k % 2 != 0)
			return errf(err, errlen, "input_hint_block.%ld is not "
			    "a convolution (those are at even indices)", k);
		if (k == 0)
			return put(o, err, errlen, "controlnet_cond_embedding."
			    "conv_in.%s", s);
		if (k == p->last_hint)
			return put(o, err, errlen, "controlnet_cond_embedding."
			    "conv_out.%s", s);
		return put(o, err, errlen, "controlnet_cond_embedding.blocks."
		    "%ld.%s", k / 2 - 1, s);
	}
	if (eat(&s, "input_blocks.")) {
		if ((k = eat_num(&s)) < 1 || (m = eat_num(&s)) < 0)
			return 0;
		lv = (k - 1) / per;
		j = (k - 1) % per;
		if (j == L) {
			if (m != 0 || !eat(&s, "op."))
				return errf(err, errlen, "input block %ld is "
				    "level %ld's downsampler (%ld layers per "
				    "block), yet holds something else", k, lv,
				    L);
			return put(o, err, errlen, "down_blocks.%ld."
			    "downsamplers.0.conv.%s", lv, s);
		}
		if (m == 0 && strncmp(s, "op.", 3) == 0)
			return errf(err, errlen, "a downsampler in input block "
			    "%ld, where level %ld's resnet %ld belongs (%ld "
			    "layers per block)", k, lv, j, L);
		if (m == 0) {
			snprintf(pre, sizeof(pre), "down_blocks.%ld.resnets."
			    "%ld.", lv, j);
			return unet_resnet_part(o, pre, s, err, errlen);
		}
		if (m == 1)
			return put(o, err, errlen, "down_blocks.%ld.attentions."
			    "%ld.%s", lv, j, s);
		return errf(err, errlen, "input block %ld has no part %ld", k,
		    m);
	}
	if (eat(&s, "middle_block.")) {
		if ((m = eat_num(&s)) < 0)
			return 0;
		if (m == 0 || m == 2) {
			snprintf(pre, sizeof(pre), "mid_block.resnets.%ld.",
			    m / 2);
			return unet_resnet_part(o, pre, s, err, errlen);
		}
		if (m == 1)
			return put(o, err, errlen, "mid_block.attentions.0.%s",
			    s);
		return errf(err, errlen, "the middle block has no part %ld",
		    m);
	}
	if (eat(&s, "output_blocks.")) {
		if ((k = eat_num(&s)) < 0 || (m = eat_num(&s)) < 0)
			return 0;
		lv = k / per;
		j = k % per;
		/* The upsampler follows the resnet, or the resnet and its
		 * attention: output_blocks.K.1.conv or .2.conv. */
		if ((m == 1 || m == 2) && eat(&s, "conv.")) {
			if (j != L)
				return errf(err, errlen, "an upsampler in "
				    "output block %ld, which is not the last "
				    "of level %ld (%ld layers per block)", k,
				    lv, L);
			return put(o, err, errlen, "up_blocks.%ld.upsamplers."
			    "0.conv.%s", lv, s);
		}
		if (m == 0) {
			snprintf(pre, sizeof(pre), "up_blocks.%ld.resnets.%ld.",
			    lv, j);
			return unet_resnet_part(o, pre, s, err, errlen);
		}
		if (m == 1)
			return put(o, err, errlen, "up_blocks.%ld.attentions."
			    "%ld.%s", lv, j, s);
		return errf(err, errlen, "output block %ld has no part %ld",
		    k, m);
	}
	return 0;
}

/* A VAE resnet's part: only the shortcut is spelled differently. */
static int
vae_resnet_part(struct nm_out *o, const char *pre, const char *s,
    char *err, size_t errlen)
{
	if (eat(&s, "nin_shortcut."))
		return put(o, err, errlen, "%sconv_shortcut.%s", pre, s);
	return put(o, err, errlen, "%s%s", pre, s);
}

static int
vae_ldm(const struct nm_params *p, const char *s, struct nm_out *o,
    char *err, size_t errlen)
{
	const struct rule *r;
	const char *half;
	char pre[NM_NAME_MAX];
	long n, j;

	if (eat(&s, "encoder."))
		half = "encoder";
	else if (eat(&s, "decoder."))
		half = "decoder";
	else
		return 0;	/* quant_conv, post_quant_conv: the same */
	if (eat(&s, "norm_out."))
		return put(o, err, errlen, "%s.conv_norm_out.%s", half, s);
	if (eat(&s, "mid.")) {
		j = eat(&s, "block_1.") ? 0 : eat(&s, "block_2.") ? 1 : -1;
		if (j >= 0) {
			snprintf(pre, sizeof(pre), "%s.mid_block.resnets.%ld.",
			    half, j);
			return vae_resnet_part(o, pre, s, err, errlen);
		}
		if (eat(&s, "attn_1.") &&
		    (r = eat_rule(&s, vae_attn, NRULES(vae_attn))) != NULL)
			return put(o, err, errlen, "%s.mid_block.attentions.0."
			    "%s%s", half, r->to, s);
		return 0;
	}
	if (half[0] == 'e' && eat(&s, "down.")) {
		if ((n = eat_num(&s)) < 0)
			return 0;
		if (eat(&s, "downsample.conv."))
			return put(o, err, errlen, "encoder.down_blocks.%ld."
			    "downsamplers.0.conv.%s", n, s);
		if (!eat(&s, "block.") || (j = eat_num(&s)) < 0)
			return 0;
		snprintf(pre, sizeof(pre), "encoder.down_blocks.%ld.resnets."
		    "%ld.", n, j);
		return vae_resnet_part(o, pre, s, err, errlen);
	}
	if (half[0] == 'd' && eat(&s, "up.")) {
		if ((n = eat_num(&s)) < 0)
			return 0;
		if (n >= p->vae_levels)
			return errf(err, errlen, "decoder level %ld of %d", n,
			    p->vae_levels);
		/* diffusers numbers the decoder in running order. */
		n = p->vae_levels - 1 - n;
		if (eat(&s, "upsample.conv."))
			return put(o, err, errlen, "decoder.up_blocks.%ld."
			    "upsamplers.0.conv.%s", n, s);
		if (!eat(&s, "block.") || (j = eat_num(&s)) < 0)
			return 0;
		snprintf(pre, sizeof(pre), "decoder.up_blocks.%ld.resnets."
		    "%ld.", n, j);
		return vae_resnet_part(o, pre, s, err, errlen);
	}
	return 0;
}

static int
diffusers(const char *s, struct nm_out *o, char *err, size_t errlen)
{
	const struct rule *r;
	const char *half;
	long n;

	if (eat(&s, "encoder."))
		half = "encoder";
	else if (eat(&s, "decoder."))
		half = "decoder";
	else
		return 0;
	if (eat(&s, "mid_block.attentions.") && (n = eat_num(&s)) >= 0 &&
	    (r = eat_rule(&s, vae_attn_old, NRULES(vae_attn_old))) != NULL)
		return put(o, err, errlen, "%s.mid_block.attentions.%ld.%s%s",
		    half, n, r->to, s);
	return 0;
}

/* in_proj_weight [3D, D] or in_proj_bias [3D]: q, k and v as row ranges
 * (convert_open_clip_checkpoint's slices). */
static int
fused_qkv(struct nm_out *o, long layer, int bias, int ndim,
    const int64_t *shape, char *err, size_t errlen)
{
	static const char qkv[] = "qkv";
	char dims[64];
	int64_t D;
	int i;

	if (bias ? ndim == 1 && shape[0] >= 3 && shape[0] % 3 == 0 :
	    ndim == 2 && shape[1] >= 1 && shape[1] <= INT64_MAX / 3 &&
	    shape[0] == 3 * shape[1])
		D = shape[0] / 3;
	else {
		if (ndim == 1)
			snprintf(dims, sizeof(dims), "[%lld]",
			    (long long)shape[0]);
		else if (ndim == 2)
			snprintf(dims, sizeof(dims), "[%lld, %lld]",
			    (long long)shape[0], (long long)shape[1]);
		else
			snprintf(dims, sizeof(dims), "%d dims", ndim);
		return errf(err, errlen, "a fused q, k, v projection must be "
		    "%s, not %s", bias ? "[3D]" : "[3D, D]", dims);
	}
	for (i = 0; i < 3; i++) {
		if (put(&o[i], err, errlen, "text_model.encoder.layers.%ld."
		    "self_attn.%c_proj.%s", layer, qkv[i],
		    bias ? "bias" : "weight") < 0)
			return -1;
		o[i].row0 = i * D;
		o[i].rows = D;
	}
	return 3;
}

static int
openclip(const char *s, int ndim, const int64_t *shape, struct nm_out *o,
    char *err, size_t errlen)
{
	const struct rule *r;
	long n;
	int k;

	if (strcmp(s, "token_embedding.weight") == 0)
		return put(o, err, errlen,
		    "text_model.embeddings.token_embedding.weight");
	if (strcmp(s, "positional_embedding") == 0)
		return put(o, err, errlen,
		    "text_model.embeddings.position_embedding.weight");
	if (strcmp(s, "text_projection") == 0) {
		if (ndim != 2)
			return errf(err, errlen, "text_projection must be 2-D, "
			    "not %d-D", ndim);
		k = put(o, err, errlen, "text_projection.weight");
		o->transposed = 1;
		return k;
	}
	if (eat(&s, "ln_final."))
		return put(o, err, errlen, "text_model.final_layer_norm.%s", s);
	if (!eat(&s, "transformer.resblocks.") || (n = eat_num(&s)) < 0)
		return 0;
	if (strcmp(s, "attn.in_proj_weight") == 0)
		return fused_qkv(o, n, 0, ndim, shape, err, errlen);
	if (strcmp(s, "attn.in_proj_bias") == 0)
		return fused_qkv(o, n, 1, ndim, shape, err, errlen);
	if ((r = eat_rule(&s, clip_block, NRULES(clip_block))) == NULL)
		return 0;
	return put(o, err, errlen, "text_model.encoder.layers.%ld.%s%s", n,
	    r->to, s);
}

int
nm_convert(const struct nm_params *p, const char *name, int ndim,
    const int64_t *shape, struct nm_out *out, char *err, size_t errlen)
{
	switch (p->scheme) {
	case NM_LDM_UNET:
		return unet_ldm(p, name, out, err, errlen);
	case NM_LDM_VAE:
		return vae_ldm(p, name, out, err, errlen);
	case NM_OPENCLIP:
		return openclip(name, ndim, shape, out, err, errlen);
	case NM_DIFFUSERS:
		return diffusers(name, out, err, errlen);
	}
	return 0;
}

const char *
nm_scheme_name(enum nm_scheme scheme)
{
	switch (scheme) {
	case NM_DIFFUSERS:
		return "diffusers";
	case NM_LDM_UNET:
		return "LDM UNet";
	case NM_LDM_VAE:
		return "LDM VAE";
	case NM_OPENCLIP:
		return "OpenCLIP";
	}
	return "?";
}

/* The rule whose canonical side (to) starts *s, with *s advanced past
 * it: the tables read backwards. */
static const struct rule *
eat_rule_to(const char **s, const struct rule *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (eat(s, r[i].to))
			return &r[i];
	return NULL;
}

/* Writes a LDM name with snprintf's rules. Returns 1, or -1 when it
 * does not fit. */
static int __attribute__((format(printf, 3, 4)))
put_ldm(char *out, size_t n, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(out, n, fmt, ap);
	va_end(ap);
	return k < 0 || (size_t)k >= n ? -1 : 1;
}

/* A resnet's part s under LDM prefix pre ("input_blocks.4.0."). */
static int
ldm_resnet_part(char *out, size_t n, const char *pre, const char *s)
{
	const struct rule *r = eat_rule_to(&s, unet_resnet,
	    NRULES(unet_resnet));

	if (r == NULL)
		return 0;
	return put_ldm(out, n, "%s%s%s", pre, r->from, s);
}

int
nm_unet_to_ldm(const char *name, int layers, unsigned up_attn, char *out,
    size_t n)
{
	const struct rule *r;
	const char *s = name;
	char pre[64];
	long lv, j, L = layers, per = L + 1;

	if (layers < 1)
		return 0;
	if ((r = eat_rule_to(&s, unet_top, NRULES(unet_top))) != NULL)
		return put_ldm(out, n, "%s%s", r->from, s);
	if (eat(&s, "down_blocks.")) {
		if ((lv = eat_num(&s)) < 0)
			return 0;
		if (eat(&s, "downsamplers.0.conv."))
			return put_ldm(out, n, "input_blocks.%ld.0.op.%s",
			    1 + lv * per + L, s);
		if (eat(&s, "resnets.")) {
			if ((j = eat_num(&s)) < 0 || j >= L)
				return 0;
			snprintf(pre, sizeof(pre), "input_blocks.%ld.0.",
			    1 + lv * per + j);
			return ldm_resnet_part(out, n, pre, s);
		}
		if (eat(&s, "attentions.")) {
			if ((j = eat_num(&s)) < 0 || j >= L)
				return 0;
			return put_ldm(out, n, "input_blocks.%ld.1.%s",
			    1 + lv * per + j, s);
		}
		return 0;
	}
	if (eat(&s, "mid_block.")) {
		if (eat(&s, "attentions.0."))
			return put_ldm(out, n, "middle_block.1.%s", s);
		if (eat(&s, "resnets.")) {
			if ((j = eat_num(&s)) < 0 || j > 1)
				return 0;
			snprintf(pre, sizeof(pre), "middle_block.%ld.", 2 * j);
			return ldm_resnet_part(out, n, pre, s);
		}
		return 0;
	}
	if (eat(&s, "up_blocks.")) {
		if ((lv = eat_num(&s)) < 0)
			return 0;
		if (eat(&s, "upsamplers.0.conv."))
			return put_ldm(out, n, "output_blocks.%ld.%d.conv.%s",
			    lv * per + L, lv < 32 && (up_attn >> lv & 1u) ?
			    2 : 1, s);
		if (eat(&s, "resnets.")) {
			if ((j = eat_num(&s)) < 0 || j > L)
				return 0;
			snprintf(pre, sizeof(pre), "output_blocks.%ld.0.",
			    lv * per + j);
			return ldm_resnet_part(out, n, pre, s);
		}
		if (eat(&s, "attentions.")) {
			if ((j = eat_num(&s)) < 0 || j > L)
				return 0;
			return put_ldm(out, n, "output_blocks.%ld.1.%s",
			    lv * per + j, s);
		}
	}
	return 0;
}
