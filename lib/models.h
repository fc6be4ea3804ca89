/* models.h - the models directory as the web side and kilnd see it: a
 * model is a diffusers folder or a .safetensors file in [paths] models,
 * named after it; a folder may carry kiln.json, a small card with a
 * description, example prompts and the parameters it renders best with. */
#ifndef KILN_MODELS_H
#define KILN_MODELS_H

#include <stddef.h>

#define MODEL_MAX_LATENT 16

struct model_card {
	char *name;
	char *path;
	char *description;	/* "" when the card has none */
	char **examples;	/* example prompts */
	int n_examples;
	int width, height, steps;	/* 0: not given */
	/* What the model can render, checked at submission: sides are
	 * multiples of `multiple` (the VAE's factor times the UNet's
	 * downsampling: a latent that does not halve evenly fails in the
	 * engine) and at most max_side; steps at most max_steps (0: no
	 * limit of the model's own). From kiln.json's "limits", else from
	 * the diffusers configs (native: the UNet's sample_size in pixels;
	 * max_side twice the native side), else Stable Diffusion's (64, 512,
	 * no max) for a single-file checkpoint. */
	int multiple, native_side, max_side, max_steps;
	double cfg;		/* 0: not given */
	char *sampler;		/* "" when not given */
	/* Live previews: RGB in [-1, 1] = bias + sum over latent channels
	 * of factors[c] * latent[c] (the UNet's scaled latent). */
	int preview_channels;	/* 0: not given */
	float preview_factors[MODEL_MAX_LATENT][3];
	float preview_bias[3];
};

/* 1 when name can name a model: 1-64 characters of [A-Za-z0-9._-], not
 * starting with '.', so it never leaves the models directory. */
int model_name_ok(const char *name);

/* Loads the card of model name from dir. A model without kiln.json gets
 * an empty card. Returns 0 with *out (free with model_card_free), or -1
 * with a message in err: a bad name, a model that is not there, or a
 * kiln.json that is not what it should be (naming the file and key). */
int model_card_load(const char *dir, const char *name,
	struct model_card **out, char *err, size_t errlen);

/* The same for a model given by its path (a folder or a file): the card
 * of <path>/kiln.json, empty when there is none. */
int model_card_load_path(const char *path, struct model_card **out,
	char *err, size_t errlen);

void model_card_free(struct model_card *c);

/* The models in dir, sorted by name: folders holding a kiln.json or a
 * model_index.json, and NAME.safetensors files, whose names pass
 * model_name_ok. Returns the count with *names (free with
 * models_list_free), or -1 when dir cannot be read. */
int models_list(const char *dir, char ***names);
void models_list_free(char **names, int n);

#endif
