/* models.c - model names and kiln.json cards (see models.h). */
#include "models.h"
#include "extras.h"
#include "stheader.h"
#include "util.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>

#define MAX_EXAMPLES 32

int
model_name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > 64 || name[0] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '-'))
			return 0;
	}
	return 1;
}

const char *
sd_family_name(enum sd_family f)
{
	switch (f) {
	case SD_1:
		return "sd1";
	case SD_2:
		return "sd2";
	case SD_XL:
		return "sdxl";
	case SD_UNKNOWN:
		break;
	}
	return "unknown";
}

enum sd_family
sd_family_of_context(unsigned long long width)
{
	return width == 768 ? SD_1 : width == 1024 ? SD_2 :
		width == 2048 ? SD_XL : SD_UNKNOWN;
}

int
sd_family_native(enum sd_family f)
{
	return f == SD_1 ? 512 : f == SD_2 ? 768 : f == SD_XL ? 1024 : 0;
}

enum sd_family
checkpoint_family(const struct sth_file *h)
{
	enum sd_family f = SD_UNKNOWN, te = SD_UNKNOWN;
	int attn = 0;
	size_t i;

	for (i = 0; i < h->n; i++) {
		const struct sth_tensor *t = &h->t[i];

		if (str_has_prefix(t->name, "conditioner.embedders."))
			return SD_XL;
		if (str_has_prefix(t->name, "cond_stage_model.transformer."))
			te = SD_1;
		else if (str_has_prefix(t->name, "cond_stage_model.model."))
			te = SD_2;
		/* The first cross-attention key decides: all of a UNet's
		 * attend to the same context. */
		if (!attn &&
		    str_has_prefix(t->name, "model.diffusion_model.") &&
		    str_has_suffix(t->name, ".attn2.to_k.weight") &&
		    t->ndim == 2) {
			f = sd_family_of_context(t->shape[1]);
			attn = 1;
		}
	}
	/* A UNet of another width is none of them, whatever encoder it
	 * was given. */
	return attn ? f : te;
}

void
model_card_free(struct model_card *c)
{
	int i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n_examples; i++)
		free(c->examples[i]);
	free(c->examples);
	free(c->name);
	free(c->path);
	free(c->description);
	free(c->sampler);
	free(c->file_error);
	free(c);
}

/* Reads an optional positive integer of the "defaults" object. */
static int
card_int(json_object *d, const char *key, int *out, const char *file,
	char *err, size_t errlen)
{
	json_object *v;

	if (!json_object_object_get_ex(d, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 1 || json_object_get_int64(v) > 100000)
		return errf(err, errlen, "%s: defaults.%s: not a positive "
			"integer", file, key);
	*out = json_object_get_int(v);
	return 0;
}

/* Reads n numbers of array a into out. */
static int
card_floats(json_object *a, size_t n, float *out)
{
	size_t i;

	if (!json_object_is_type(a, json_type_array) ||
	    json_object_array_length(a) != n)
		return -1;
	for (i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(a, i);

		if (!json_object_is_type(e, json_type_double) &&
		    !json_object_is_type(e, json_type_int))
			return -1;
		out[i] = (float)json_object_get_double(e);
	}
	return 0;
}

/* "preview": {"factors": [[r, g, b] per latent channel], "bias": [r, g,
 * b]}: the linear latent-to-RGB map for live previews. */
static int
card_preview(struct model_card *c, json_object *d, const char *file,
	char *err, size_t errlen)
{
	json_object *f, *b;
	size_t i, n;

	if (!json_object_is_type(d, json_type_object) ||
	    !json_object_object_get_ex(d, "factors", &f) ||
	    !json_object_is_type(f, json_type_array))
		return errf(err, errlen, "%s: preview: needs \"factors\", an "
			"array of [r, g, b] per latent channel", file);
	n = json_object_array_length(f);
	if (n < 1 || n > MODEL_MAX_LATENT)
		return errf(err, errlen, "%s: preview.factors: %zu channels, "
			"not 1 to %d", file, n, MODEL_MAX_LATENT);
	for (i = 0; i < n; i++)
		if (card_floats(json_object_array_get_idx(f, i), 3,
		    c->preview_factors[i]) != 0)
			return errf(err, errlen, "%s: preview.factors[%zu]: "
				"not three numbers", file, i);
	if (json_object_object_get_ex(d, "bias", &b) &&
	    card_floats(b, 3, c->preview_bias) != 0)
		return errf(err, errlen, "%s: preview.bias: not three "
			"numbers", file);
	c->preview_channels = (int)n;
	return 0;
}

static int
card_parse(struct model_card *c, const char *file, char *err,
	size_t errlen)
{
	json_object *o = json_object_from_file(file), *v, *d;
	int rc = -1;
	size_t i, n;

	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		errf(err, errlen, "%s: not a JSON object", file);
		goto out;
	}
	if (json_object_object_get_ex(o, "description", &v)) {
		if (!json_object_is_type(v, json_type_string)) {
			errf(err, errlen, "%s: description: not a string", file);
			goto out;
		}
		free(c->description);
		c->description = xstrdup(json_object_get_string(v));
	}
	if (json_object_object_get_ex(o, "examples", &v)) {
		if (!json_object_is_type(v, json_type_array)) {
			errf(err, errlen, "%s: examples: not an array", file);
			goto out;
		}
		n = json_object_array_length(v);
		if (n > MAX_EXAMPLES)
			n = MAX_EXAMPLES;
		c->examples = xcalloc(n ? n : 1, sizeof(*c->examples));
		for (i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(v, i);

			if (!json_object_is_type(e, json_type_string)) {
				errf(err, errlen, "%s: examples[%zu]: not a "
					"string", file, i);
				goto out;
			}
			c->examples[i] = xstrdup(json_object_get_string(e));
			c->n_examples++;
		}
	}
	if (json_object_object_get_ex(o, "defaults", &d)) {
		if (!json_object_is_type(d, json_type_object)) {
			errf(err, errlen, "%s: defaults: not an object", file);
			goto out;
		}
		if (card_int(d, "width", &c->width, file, err, errlen) ||
		    card_int(d, "height", &c->height, file, err, errlen) ||
		    card_int(d, "steps", &c->steps, file, err, errlen))
			goto out;
		if (json_object_object_get_ex(d, "cfg", &v)) {
			if (!json_object_is_type(v, json_type_double) &&
			    !json_object_is_type(v, json_type_int)) {
				errf(err, errlen, "%s: defaults.cfg: not a "
					"number", file);
				goto out;
			}
			c->cfg = json_object_get_double(v);
		}
		if (json_object_object_get_ex(d, "sampler", &v)) {
			if (!json_object_is_type(v, json_type_string)) {
				errf(err, errlen, "%s: defaults.sampler: not a "
					"string", file);
				goto out;
			}
			free(c->sampler);
			c->sampler = xstrdup(json_object_get_string(v));
		}
	}
	if (json_object_object_get_ex(o, "preview", &d) &&
	    card_preview(c, d, file, err, errlen) != 0)
		goto out;
	if (json_object_object_get_ex(o, "limits", &d)) {
		if (!json_object_is_type(d, json_type_object)) {
			errf(err, errlen, "%s: limits: not an object", file);
			goto out;
		}
		if (card_int(d, "multiple", &c->multiple, file, err, errlen) ||
		    card_int(d, "max_side", &c->max_side, file, err, errlen) ||
		    card_int(d, "max_steps", &c->max_steps, file, err, errlen))
			goto out;
		if (c->multiple % 8 != 0) {
			errf(err, errlen, "%s: limits.multiple: %d is not a "
				"multiple of 8", file, c->multiple);
			goto out;
		}
	}
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

/* Key of the JSON object o: an array's length (arrays) or an integer's
 * value, else 0. */
static int
json_size(json_object *o, const char *key)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v))
		return 0;
	if (json_object_is_type(v, json_type_array))
		return (int)json_object_array_length(v);
	return json_object_is_type(v, json_type_int) ?
		json_object_get_int(v) : 0;
}

/* The family of a diffusers folder: SDXL's pipeline class, else the
 * width the UNet's cross-attention takes. */
static enum sd_family
folder_family(const char *path, json_object *unet)
{
	char file[4096];
	json_object *o, *v;
	enum sd_family f = sd_family_of_context((unsigned long long)
		json_size(unet, "cross_attention_dim"));

	if (f != SD_UNKNOWN ||
	    snprintf_checked(file, sizeof(file), "%s/model_index.json",
	    path) != 0)
		return f;
	o = json_object_from_file(file);
	if (o != NULL && json_object_object_get_ex(o, "_class_name", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    !strcmp(json_object_get_string(v), "StableDiffusionXLPipeline"))
		f = SD_XL;
	json_object_put(o);
	return f;
}

/* The family of a single file from its header. A header that does not
 * read is noted in c->file_error (the engine would fail on it), as is a
 * LoRA or an embedding put among the models. */
static void
file_family(struct model_card *c, const char *path)
{
	const char *base = strrchr(path, '/');
	struct sth_file *h = NULL;
	char err[512];

	base = base != NULL ? base + 1 : path;
	if (sth_read(path, base, &h, err, sizeof(err)) != 0) {
		c->file_error = xstrdup(err);
		return;
	}
	c->type = checkpoint_family(h);
	if (c->type == SD_UNKNOWN && extra_is_lora(h))
		c->file_error = xasprintf("%s is a LoRA, not a model: it "
			"goes in [paths] loras", base);
	else if (c->type == SD_UNKNOWN && extra_is_embedding(h))
		c->file_error = xasprintf("%s is a textual-inversion "
			"embedding, not a model: it goes in [paths] embeddings",
			base);
	sth_free(h);
}

/*
 * Fills what the card left open of the model's limits from its
 * architecture: in a diffusers folder the VAE halves the image once per
 * block after the first and the UNet the latent once per block after the
 * first, so sides must be multiples of 2^(vae blocks - 1) * 2^(unet
 * blocks - 1), as the engine requires (pipeline_grid); the UNet's
 * sample_size is its native latent side. A single file of a known family
 * gets that family's (SD 1.x and 2.x: 64, their UNet downsampling three
 * times; SDXL: 32, twice), and one of no known family Stable Diffusion
 * 1.x's: 64 and 512.
 */
static void
card_architecture(struct model_card *c, const char *path, int is_dir)
{
	char unet[4096], vae[4096];
	int ub = 0, vb = 0, sample = 0, known = 0;

	if (is_dir &&
	    snprintf_checked(unet, sizeof(unet), "%s/unet/config.json",
	    path) == 0 &&
	    snprintf_checked(vae, sizeof(vae), "%s/vae/config.json",
	    path) == 0) {
		json_object *u = json_object_from_file(unet);
		json_object *v = json_object_from_file(vae);

		ub = json_size(u, "block_out_channels");
		vb = json_size(v, "block_out_channels");
		sample = json_size(u, "sample_size");
		c->type = folder_family(path, u);
		json_object_put(u);
		json_object_put(v);
	} else if (!is_dir) {
		file_family(c, path);
	}
	if (ub >= 1 && ub <= 8 && vb >= 1 && vb <= 8) {
		if (c->multiple == 0)
			c->multiple = (1 << (vb - 1)) * (1 << (ub - 1));
		/* Without a sample_size, the family's (0 when unknown:
		 * the card's size, below). */
		if (sample > 0 && sample <= 1024)
			c->native_side = sample * (1 << (vb - 1));
		else
			c->native_side = sd_family_native(c->type);
		known = 1;
	} else if (!is_dir && c->type != SD_UNKNOWN) {
		if (c->multiple == 0)
			c->multiple = c->type == SD_XL ? 32 : 64;
		c->native_side = sd_family_native(c->type);
		known = 1;
	} else {
		if (c->multiple == 0)
			c->multiple = 64;
		c->native_side = is_dir ? sd_family_native(c->type) : 0;
		if (c->native_side == 0)
			c->native_side = 512;
	}
	if (c->multiple < 8)
		c->multiple = 8;
	if (c->native_side == 0)
		c->native_side = c->width > c->height ? c->width : c->height;
	/* Twice the native side: beyond that a model repeats itself and
	 * the work grows with the square of the side. A single file of no
	 * known family has no known native size, so only the caller's tier
	 * limits it. */
	if (c->max_side == 0 && (is_dir || known) && c->native_side > 0)
		c->max_side = 2 * c->native_side;
}

/* A card with the strings every model has, for path. */
static struct model_card *
card_new(const char *name, const char *path)
{
	struct model_card *c = xcalloc(1, sizeof(*c));

	c->name = xstrdup(name);
	c->path = xstrdup(path);
	c->description = xstrdup("");
	c->sampler = xstrdup("");
	return c;
}

/* The card of the model name at path (a folder when is_dir): kiln.json's
 * when the folder has one, else an empty one. */
static int
card_load(const char *name, const char *path, int is_dir,
	struct model_card **out, char *err, size_t errlen)
{
	struct model_card *c;
	struct stat st;
	char *file = NULL;
	int rc = -1;

	*out = NULL;
	c = card_new(name, path);
	/* A single-file checkpoint carries no card. */
	if (is_dir) {
		file = xasprintf("%s/kiln.json", path);
		if (stat(file, &st) == 0 &&
		    card_parse(c, file, err, errlen) != 0)
			goto out;
	}
	card_architecture(c, path, is_dir);
	*out = c;
	c = NULL;
	rc = 0;
out:
	free(file);
	model_card_free(c);
	return rc;
}

int
model_card_load_path(const char *path, struct model_card **out, char *err,
	size_t errlen)
{
	const char *base = strrchr(path, '/');
	struct stat st;

	*out = NULL;
	if (stat(path, &st) != 0)
		return errf(err, errlen, "%s: no such model", path);
	return card_load(base != NULL && base[1] != '\0' ? base + 1 : path,
	    path, S_ISDIR(st.st_mode), out, err, errlen);
}

int
model_card_load(const char *dir, const char *name, struct model_card **out,
	char *err, size_t errlen)
{
	struct stat st;
	char *path = NULL;
	int rc;

	*out = NULL;
	if (!model_name_ok(name))
		return errf(err, errlen, "\"%s\" is not a model name", name);
	path = xasprintf("%s/%s", dir, name);
	if (stat(path, &st) != 0) {
		free(path);
		path = xasprintf("%s/%s.safetensors", dir, name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			free(path);
			return errf(err, errlen, "model %s is not in %s", name,
				dir);
		}
	} else if (!S_ISDIR(st.st_mode)) {
		errf(err, errlen, "%s is not a model folder", path);
		free(path);
		return -1;
	}
	rc = card_load(name, path, S_ISDIR(st.st_mode), out, err, errlen);
	free(path);
	return rc;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 1 when dir/name is a model folder (it has a card or a diffusers
 * index); 0 otherwise. */
static int
is_model_dir(const char *dir, const char *name)
{
	static const char *const marks[] = { "kiln.json", "model_index.json" };
	char path[4096];
	struct stat st;
	size_t i;

	for (i = 0; i < ARRAY_LEN(marks); i++)
		if (snprintf_checked(path, sizeof(path), "%s/%s/%s", dir, name,
		    marks[i]) == 0 && stat(path, &st) == 0 &&
		    S_ISREG(st.st_mode))
			return 1;
	return 0;
}

int
models_list(const char *dir, char ***names)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL, *name;
	int n = 0;

	*names = NULL;
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);

		if (len > 12 && !strcmp(e->d_name + len - 12, ".safetensors"))
			name = xstrndup(e->d_name, len - 12);
		else if (is_model_dir(dir, e->d_name))
			name = xstrdup(e->d_name);
		else
			continue;
		if (!model_name_ok(name)) {
			free(name);
			continue;
		}
		v = xreallocarray(v, (size_t)n + 1, sizeof(*v));
		v[n++] = name;
	}
	closedir(d);
	if (n > 0)
		qsort(v, (size_t)n, sizeof(*v), cmp_names);
	*names = v;
	return n;
}

void
models_list_free(char **names, int n)
{
	int i;

	for (i = 0; names != NULL && i < n; i++)
		free(names[i]);
	free(names);
}
