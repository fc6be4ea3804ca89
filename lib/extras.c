/* extras.c - LoRA and embedding files classified from their headers (see
 * extras.h). The key layouts are kohya sd-scripts' (lora_unet_*,
 * lora_te_*, lora_te1_* / lora_te2_* with .lora_down / .lora_up /
 * .alpha), diffusers' PEFT one (unet.* / text_encoder.* / ...
 * .lora_A.weight / .lora_B.weight) and AUTOMATIC1111's embeddings (one
 * tensor, or clip_l and clip_g); tools/reference/lora.py and
 * textual_inversion.py describe them at length. */
#include "extras.h"
#include "stheader.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *
extra_kind_name(enum extra_kind k)
{
	return k == EXTRA_LORA ? "lora" : k == EXTRA_EMBEDDING ? "embedding" :
		"upscaler";
}

/* The kind as messages name it. */
static const char *
kind_title(enum extra_kind k)
{
	return k == EXTRA_LORA ? "LoRA" : k == EXTRA_EMBEDDING ? "embedding" :
		"upscaler";
}

/* The parts of a LoRA module, by the key's ending. */
enum part { P_NONE, P_DOWN, P_UP, P_ALPHA, P_LYCORIS };

static const struct {
	const char *suffix;
	enum part part;
	int peft;
} parts[] = {
	{ ".lora_down.weight", P_DOWN, 0 }, { ".lora_up.weight", P_UP, 0 },
	{ ".lora_A.weight", P_DOWN, 1 }, { ".lora_B.weight", P_UP, 1 },
	{ ".alpha", P_ALPHA, -1 },
	/* LyCORIS' other decompositions and DoRA: recognised, so the
	 * message can say what they are, but not applied. */
	{ ".lora_mid.weight", P_LYCORIS, 0 }, { ".dora_scale", P_LYCORIS, 0 },
};

/* The part key is, with the length of its module name in *mlen. */
static enum part
part_of(const char *key, size_t *mlen, int *peft)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(parts); i++)
		if (str_has_suffix(key, parts[i].suffix)) {
			*mlen = strlen(key) - strlen(parts[i].suffix);
			*peft = parts[i].peft;
			return parts[i].part;
		}
	if (strstr(key, ".hada_") != NULL || strstr(key, ".lokr_") != NULL)
		return P_LYCORIS;
	return P_NONE;
}

int
extra_is_lora(const struct sth_file *h)
{
	size_t i, mlen;
	int peft;

	for (i = 0; i < h->n; i++) {
		enum part p = part_of(h->t[i].name, &mlen, &peft);

		if (p == P_DOWN || p == P_UP)
			return 1;
	}
	return 0;
}

int
extra_is_embedding(const struct sth_file *h)
{
	return (sth_find(h, "clip_l") != NULL && sth_find(h, "clip_g") != NULL)
		|| (h->n == 1 && !extra_is_lora(h));
}

/* 1 when the module name (the first mlen bytes of key) ends with
 * suffix. */
static int
module_ends(const char *key, size_t mlen, const char *suffix)
{
	size_t k = strlen(suffix);

	return mlen >= k && !strncmp(key + mlen - k, suffix, k);
}

/* The tensor of module (the first mlen bytes of key) with suffix. */
static const struct sth_tensor *
sibling(const struct sth_file *h, const char *key, size_t mlen,
	const char *suffix)
{
	char buf[1024];

	if (snprintf_checked(buf, sizeof(buf), "%.*s%s", (int)mlen, key,
	    suffix) != 0)
		return NULL;
	return sth_find(h, buf);
}

/* A vote for the family a LoRA was trained for: the first known one
 * stands, a different one later makes it a conflict. */
struct vote {
	enum sd_family f;
	int conflict;
};

static void
vote(struct vote *v, enum sd_family f)
{
	if (f == SD_UNKNOWN)
		return;
	if (v->f == SD_UNKNOWN)
		v->f = f;
	else if (v->f != f)
		v->conflict = 1;
}

/* The family from the evidence, which the shapes give best: the width
 * the UNet's cross-attention keys take (768, 1024, 2048), SDXL's two text
 * encoders (lora_te1_, lora_te2_, text_encoder_2), the one text
 * encoder's width, and last kohya's training metadata. Anything that
 * disagrees makes it unknown. */
static enum sd_family
lora_family(const struct sth_file *h, const struct vote *ctx, int sdxl_te,
	const struct vote *te)
{
	const char *base = sth_meta(h, "ss_base_model_version");
	const char *v2 = sth_meta(h, "ss_v2");

	if (ctx->conflict || te->conflict)
		return SD_UNKNOWN;
	if (ctx->f != SD_UNKNOWN)
		return sdxl_te && ctx->f != SD_XL ? SD_UNKNOWN : ctx->f;
	if (sdxl_te)
		return SD_XL;
	if (te->f == SD_1 || te->f == SD_2)
		return te->f;
	if (base != NULL && str_has_prefix(base, "sdxl_"))
		return SD_XL;
	if (v2 != NULL && !strcmp(v2, "True"))
		return SD_2;
	if (base != NULL && str_has_prefix(base, "sd_v1"))
		return SD_1;
	return SD_UNKNOWN;
}

static int
classify_lora(const struct sth_file *h, const char *file,
	struct extra_info *x, char *err, size_t errlen)
{
	struct vote ctx = { SD_UNKNOWN, 0 }, te = { SD_UNKNOWN, 0 };
	const struct sth_tensor *up;
	const char *meta;
	int formats = 0, sdxl_te = 0, peft;
	size_t i, mlen;

	if (!extra_is_lora(h)) {
		if (checkpoint_family(h) != SD_UNKNOWN)
			return errf(err, errlen, "%s is a model checkpoint, "
				"not a LoRA: it goes in [paths] models", file);
		if (extra_is_embedding(h))
			return errf(err, errlen, "%s is a textual-inversion "
				"embedding, not a LoRA: it goes in [paths] "
				"embeddings", file);
		return errf(err, errlen, "%s is not a LoRA: it has no "
			"lora_down/lora_up or lora_A/lora_B tensors", file);
	}
	for (i = 0; i < h->n; i++) {
		const struct sth_tensor *t = &h->t[i];
		enum part p = part_of(t->name, &mlen, &peft);
		char q[80];

		snprintf(q, sizeof(q), "%.64s", t->name);
		if (p == P_NONE)
			return errf(err, errlen, "%s: tensor '%s' is not part "
				"of a LoRA", file, q);
		if (p == P_LYCORIS)
			return errf(err, errlen, "%s: tensor '%s' is a LyCORIS "
				"module (LoHa, LoKr, Tucker or DoRA): kiln "
				"applies LoRA and LoCon only", file, q);
		if (!sth_is_float(t))
			return errf(err, errlen, "%s: tensor '%s' is %s, not a "
				"float", file, q, t->dtype);
		if (p == P_ALPHA) {
			uint64_t n = 1;
			int d;

			for (d = 0; d < t->ndim; d++)
				n *= t->shape[d];
			if (n != 1)
				return errf(err, errlen, "%s: tensor '%s' is "
					"not one number", file, q);
			if (sibling(h, t->name, mlen, ".lora_down.weight") ==
			    NULL && sibling(h, t->name, mlen,
			    ".lora_A.weight") == NULL)
				return errf(err, errlen, "%s: '%s' has no "
					"lora_down or lora_A beside it", file,
					q);
			continue;
		}
		if (t->ndim != 2 && t->ndim != 4)
			return errf(err, errlen, "%s: tensor '%s' has %d "
				"dimensions, not 2 or 4", file, q, t->ndim);
		formats |= peft ? 2 : 1;
		if (p == P_UP) {
			if (sibling(h, t->name, mlen, peft ? ".lora_A.weight" :
			    ".lora_down.weight") == NULL)
				return errf(err, errlen, "%s: '%s' has no %s "
					"beside it", file, q, peft ? "lora_A" :
					"lora_down");
			continue;
		}
		up = sibling(h, t->name, mlen, peft ? ".lora_B.weight" :
			".lora_up.weight");
		if (up == NULL)
			return errf(err, errlen, "%s: '%s' has no %s beside it",
				file, q, peft ? "lora_B" : "lora_up");
		if (up->ndim != t->ndim || up->shape[1] != t->shape[0])
			return errf(err, errlen, "%s: '%s' is of rank %llu, "
				"its %s does not match it", file, q,
				(unsigned long long)t->shape[0], peft ?
				"lora_B" : "lora_up");
		x->modules++;
		/* The evidence of the family. */
		if (str_has_prefix(t->name, "lora_te1_") ||
		    str_has_prefix(t->name, "lora_te2_") ||
		    str_has_prefix(t->name, "text_encoder_2."))
			sdxl_te = 1;
		if (t->ndim == 2 && (module_ends(t->name, mlen, "attn2_to_k") ||
		    module_ends(t->name, mlen, "attn2_to_v") ||
		    module_ends(t->name, mlen, "attn2.to_k") ||
		    module_ends(t->name, mlen, "attn2.to_v")))
			vote(&ctx, sd_family_of_context(t->shape[1]));
		if (t->ndim == 2 && (str_has_prefix(t->name, "lora_te_") ||
		    str_has_prefix(t->name, "text_encoder.")) &&
		    (module_ends(t->name, mlen, "self_attn_q_proj") ||
		    module_ends(t->name, mlen, "self_attn.q_proj")))
			vote(&te, sd_family_of_context(t->shape[1]));
	}
	if (formats == 3)
		return errf(err, errlen, "%s mixes kohya (lora_down/lora_up) "
			"and PEFT (lora_A/lora_B) tensors", file);
	x->format = formats == 2 ? "peft" : "kohya";
	x->family = lora_family(h, &ctx, sdxl_te, &te);
	meta = sth_meta(h, "sshs_model_hash");
	if (meta != NULL && strlen(meta) == 64 &&
	    strspn(meta, "0123456789abcdefABCDEF") == 64)
		x->sshs_hash = xstrdup(meta);
	return 0;
}

/* An embedding's vectors: 1-D [D] (one vector) or 2-D [n, D], floats. */
static int
vectors_of(const struct sth_tensor *t, int *n, int *d)
{
	if (!sth_is_float(t) || t->ndim < 1 || t->ndim > 2)
		return -1;
	*d = (int)(t->shape[t->ndim - 1] > 65536 ? 0 :
		t->shape[t->ndim - 1]);
	*n = t->ndim == 1 ? 1 : (int)(t->shape[0] > 1024 ? 0 : t->shape[0]);
	return *d > 0 && *n > 0 ? 0 : -1;
}

static int
classify_embedding(const struct sth_file *h, const char *file,
	struct extra_info *x, char *err, size_t errlen)
{
	const struct sth_tensor *l = sth_find(h, "clip_l");
	const struct sth_tensor *g = sth_find(h, "clip_g");
	int nl, dl, ng, dg;

	if (l != NULL && g != NULL) {
		/* SDXL: as many vectors for each text encoder. */
		if (vectors_of(l, &nl, &dl) != 0 || vectors_of(g, &ng, &dg) != 0
		    || l->ndim != 2 || g->ndim != 2 || dl != 768 ||
		    dg != 1280 || nl != ng)
			return errf(err, errlen, "%s: clip_l and clip_g must "
				"be [n, 768] and [n, 1280] floats of the same "
				"n", file);
		x->family = SD_XL;
		x->vectors = nl;
		x->width = dl + dg;
		return 0;
	}
	if (extra_is_lora(h))
		return errf(err, errlen, "%s is a LoRA, not an embedding: it "
			"goes in [paths] loras", file);
	if (h->n != 1)
		return errf(err, errlen, "%s is not a textual-inversion "
			"embedding: it has %zu tensors (one, such as "
			"emb_params, or clip_l and clip_g)", file, h->n);
	if (vectors_of(&h->t[0], &nl, &dl) != 0)
		return errf(err, errlen, "%s: tensor '%.64s' is not [n, width] "
			"floats", file, h->t[0].name);
	/* One text encoder: SD 1.x's CLIP-L (768) or SD 2.x's OpenCLIP-H
	 * (1024). */
	x->family = dl == 768 ? SD_1 : dl == 1024 ? SD_2 : SD_UNKNOWN;
	x->vectors = nl;
	x->width = dl;
	return 0;
}

/* A 4-D float tensor [o, i, k, k] of h, or NULL. */
static const struct sth_tensor *
conv_of(const struct sth_file *h, const char *name)
{
	const struct sth_tensor *t = sth_find(h, name);

	return t != NULL && sth_is_float(t) && t->ndim == 4 &&
		t->shape[2] == t->shape[3] ? t : NULL;
}

/* The scale of an RRDBNet whose first conv takes in channels: basicsr
 * folds the input with pixel_unshuffle below x4 (x2: 12, x1: 48). */
static int
rrdb_scale(uint64_t in)
{
	return in == 3 ? 4 : in == 12 ? 2 : in == 48 ? 1 : 0;
}

int
extra_classify_upscaler(const struct sth_file *h, const char *file,
	struct extra_info *x, char *err, size_t errlen)
{
	const struct sth_tensor *t;
	char name[48];
	int n, ups;

	if ((t = conv_of(h, "conv_first.weight")) != NULL &&
	    sth_find(h, "body.0.rdb1.conv1.weight") != NULL) {
		x->arch = "RRDBNet";
		x->scale = rrdb_scale(t->shape[1]);
	} else if ((t = conv_of(h, "model.0.weight")) != NULL &&
	    sth_find(h, "model.1.sub.0.RDB1.conv1.0.weight") != NULL) {
		/* The original ESRGAN: an upsampling conv per factor 2
		 * from model.3 on, then the HR conv and the last. */
		for (n = 3, ups = 0; n < 64; n++) {
			snprintf(name, sizeof(name), "model.%d.weight", n);
			if (conv_of(h, name) != NULL)
				ups++;
		}
		x->arch = "RRDBNet";
		x->scale = t->shape[1] == 3 && ups >= 3 && ups <= 5 ?
			1 << (ups - 2) : 0;
	} else if ((t = conv_of(h, "body.0.weight")) != NULL &&
	    t->shape[1] == 3 && (t = sth_find(h, "body.1.weight")) != NULL &&
	    t->ndim == 1) {
		/* SRVGGNet: convs at even indexes, activations between; the
		 * last conv gives 3 s^2 channels for the pixel shuffle. */
		const struct sth_tensor *last = NULL;

		for (n = 0; n < 512; n += 2) {
			snprintf(name, sizeof(name), "body.%d.weight", n);
			if ((t = conv_of(h, name)) == NULL)
				break;
			last = t;
		}
		x->arch = "SRVGGNet";
		x->scale = 0;
		for (ups = 1; ups <= 8 && last != NULL; ups *= 2)
			if (last->shape[0] == (uint64_t)(3 * ups * ups))
				x->scale = ups;
	} else {
		if (extra_is_lora(h))
			return errf(err, errlen, "%s is a LoRA, not an "
				"upscaler: it goes in [paths] loras", file);
		return errf(err, errlen, "%s is not an upscaler (an RRDBNet "
			"such as RealESRGAN x4plus, or a compact SRVGGNet)",
			file);
	}
	if (x->scale == 0)
		return errf(err, errlen, "%s: an %s of a scale kiln does not "
			"know (its shapes fit none of x1, x2, x4, x8)", file,
			x->arch);
	return 0;
}

int
extra_classify(const struct sth_file *h, enum extra_kind kind,
	const char *file, struct extra_info *x, char *err, size_t errlen)
{
	x->family = SD_UNKNOWN;
	x->format = NULL;
	x->modules = x->vectors = x->width = 0;
	free(x->sshs_hash);
	x->sshs_hash = NULL;
	x->arch = NULL;
	x->scale = 0;
	if (kind == EXTRA_UPSCALER)
		return extra_classify_upscaler(h, file, x, err, errlen);
	return kind == EXTRA_LORA ? classify_lora(h, file, x, err, errlen) :
		classify_embedding(h, file, x, err, errlen);
}

void
extra_info_clear(struct extra_info *x)
{
	if (x == NULL)
		return;
	free(x->name);
	free(x->path);
	free(x->error);
	free(x->sshs_hash);
	sth_free(x->header);
	memset(x, 0, sizeof(*x));
}

/* Loads dir/name.safetensors into x; a file that is there but unusable
 * keeps its message in x->error. Returns 0 when usable, 1 when there but
 * unusable, -1 when not there (err says so). */
static int
load(const char *dir, enum extra_kind kind, const char *name,
	struct extra_info *x, char *err, size_t errlen)
{
	char file[128], msg[512];
	struct stat st;

	memset(x, 0, sizeof(*x));
	x->kind = kind;
	if (!model_name_ok(name))
		return errf(err, errlen, "\"%.64s\" is not %s %s name", name,
			kind == EXTRA_LORA ? "a" : "an", kind_title(kind));
	x->name = xstrdup(name);
	x->path = xasprintf("%s/%s.safetensors", dir, name);
	if (stat(x->path, &st) != 0 || !S_ISREG(st.st_mode)) {
		extra_info_clear(x);
		return errf(err, errlen, "no %s named %s", kind_title(kind),
			name);
	}
	x->size = (uint64_t)st.st_size;
	x->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 +
		st.st_mtim.tv_nsec;
	snprintf(file, sizeof(file), "%s.safetensors", name);
	if (sth_read(x->path, file, &x->header, msg, sizeof(msg)) != 0 ||
	    extra_classify(x->header, kind, file, x, msg, sizeof(msg)) != 0) {
		x->error = xstrdup(msg);
		errf(err, errlen, "%s", msg);
		return 1;
	}
	return 0;
}

int
extra_load(const char *dir, enum extra_kind kind, const char *name,
	struct extra_info *x, char *err, size_t errlen)
{
	return load(dir, kind, name, x, err, errlen) == 0 ? 0 : -1;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct extra_info *)a)->name,
		((const struct extra_info *)b)->name);
}

int
extras_list(const char *dir, enum extra_kind kind, struct extra_info **out)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct extra_info *v = NULL;
	char name[256], err[512];
	int n = 0;

	*out = NULL;
	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);

		if (len <= 12 || len - 12 >= sizeof(name) ||
		    strcmp(e->d_name + len - 12, ".safetensors") != 0)
			continue;
		memcpy(name, e->d_name, len - 12);
		name[len - 12] = '\0';
		if (!model_name_ok(name))
			continue;
		v = xreallocarray(v, (size_t)n + 1, sizeof(*v));
		if (load(dir, kind, name, &v[n], err, sizeof(err)) >= 0)
			n++;
	}
	closedir(d);
	if (n > 0)
		qsort(v, (size_t)n, sizeof(*v), by_name);
	*out = v;
	return n;
}

void
extras_free(struct extra_info *x, int n)
{
	int i;

	for (i = 0; x != NULL && i < n; i++)
		extra_info_clear(&x[i]);
	free(x);
}

/* ------------------------------------------------------------ ControlNets */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 1 when the header at path has a ControlNet's hint embedding. */
static int
is_controlnet(const char *path, const char *name)
{
	struct sth_file *h = NULL;
	char err[512];
	size_t i;
	int yes = 0;

	if (sth_read(path, name, &h, err, sizeof(err)) != 0)
		return 0;
	for (i = 0; i < h->n && !yes; i++)
		yes = str_has_prefix(h->t[i].name,
			"controlnet_cond_embedding.") ||
			strstr(h->t[i].name, "input_hint_block.") != NULL;
	sth_free(h);
	return yes;
}

/* The path of name in dir when it is there in either layout (file
 * first), or -1. */
static int
controlnet_path(const char *dir, const char *name, char *path, size_t n,
	char *weights, size_t wn)
{
	struct stat st;

	if (snprintf_checked(path, n, "%s/%s.safetensors", dir, name) == 0 &&
	    stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		snprintf(weights, wn, "%s", path);
		return 0;
	}
	if (snprintf_checked(weights, wn, "%s/%s/"
	    "diffusion_pytorch_model.safetensors", dir, name) == 0 &&
	    snprintf_checked(path, n, "%s/%s/config.json", dir, name) == 0 &&
	    stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    stat(weights, &st) == 0 && S_ISREG(st.st_mode) &&
	    snprintf_checked(path, n, "%s/%s", dir, name) == 0)
		return 0;
	return -1;
}

int
controlnets_list(const char *dir, char ***names)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL, path[4096], weights[4096], name[256];
	int n = 0;

	*names = NULL;
	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);

		if (len >= sizeof(name))
			continue;
		memcpy(name, e->d_name, len + 1);
		if (len > 12 && !strcmp(name + len - 12, ".safetensors"))
			name[len - 12] = '\0';
		if (!model_name_ok(name) || controlnet_path(dir, name, path,
		    sizeof(path), weights, sizeof(weights)) != 0 ||
		    !is_controlnet(weights, name))
			continue;
		v = xreallocarray(v, (size_t)n + 1, sizeof(*v));
		v[n++] = xstrdup(name);
	}
	closedir(d);
	if (n > 0)
		qsort(v, (size_t)n, sizeof(*v), cmp_str);
	/* A file and a folder of one name are listed once. */
	{
		int i, k = 0;

		for (i = 0; i < n; i++) {
			if (k > 0 && !strcmp(v[k - 1], v[i])) {
				free(v[i]);
				continue;
			}
			v[k++] = v[i];
		}
		n = k;
	}
	*names = v;
	return n;
}

int
controlnet_find(const char *dir, const char *name, char *path,
	size_t pathlen, char *err, size_t errlen)
{
	char weights[4096], **names = NULL;
	struct buf b = { 0 };
	int n, i;

	if (!model_name_ok(name))
		return errf(err, errlen, "\"%.64s\" is not a ControlNet name",
			name);
	if (controlnet_path(dir, name, path, pathlen, weights,
	    sizeof(weights)) == 0) {
		if (is_controlnet(weights, name))
			return 0;
		return errf(err, errlen, "%s is not a ControlNet (no hint "
			"embedding in its tensors)", name);
	}
	n = controlnets_list(dir, &names);
	for (i = 0; i < n; i++)
		buf_printf(&b, "%s%s", i ? ", " : "", names[i]);
	errf(err, errlen, "no ControlNet %s in [paths] controlnets; %s%s",
		name, n > 0 ? "available: " : "there are none",
		b.data != NULL ? b.data : "");
	buf_free(&b);
	models_list_free(names, n);
	return -1;
}
