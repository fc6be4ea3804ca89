/* models.h - the models directory as the web side and kilnd see it: a
 * model is a diffusers folder or a .safetensors file in [paths] models,
 * named after it; a folder may carry kiln.json, a small card with a
 * description, example prompts and the parameters it renders best with. */
#ifndef KILN_MODELS_H
#define KILN_MODELS_H

#include <stddef.h>

#define MODEL_MAX_LATENT 16

struct sth_file;

/* The model families kiln tells apart: what a model is, and what a LoRA
 * or an embedding was trained for (SD_UNKNOWN where the file does not
 * say: better no answer than a wrong one). */
enum sd_family { SD_UNKNOWN = 0, SD_1, SD_2, SD_XL };

/* "sd1", "sd2", "sdxl" or "unknown". */
const char *sd_family_name(enum sd_family f);

/* The family whose UNet attends to a text context of that width: 768
 * (SD 1.x), 1024 (SD 2.x), 2048 (SDXL); SD_UNKNOWN for any other. */
enum sd_family sd_family_of_context(unsigned long long width);

/* The family of a single-file checkpoint from its header: SDXL's
 * conditioner.embedders.*, else the width of the UNet's
 * cross-attention keys (attn2.to_k), else the text encoder's prefix
 * (cond_stage_model.transformer: SD 1.x; .model: SD 2.x's OpenCLIP). */
enum sd_family checkpoint_family(const struct sth_file *h);

/* A family's native side in pixels (512, 768, 1024), 0 when unknown.
 * SD 2.x is taken as its 768 v-model, the one most SD 2 checkpoints
 * are: the weights do not say which. */
int sd_family_native(enum sd_family f);

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
	/* What the model is: from a folder's model_index.json and
	 * unet/config.json, or a single file's header (checkpoint_family).
	 * A single file of a known family also takes its native side and
	 * multiple (SDXL: 1024, and 32 for its UNet's two downsamplings),
	 * and max_side twice the native side, as a folder does. */
	enum sd_family type;
	/* NULL, or why the model's file cannot be used (a single file whose
	 * header is broken or truncated, or a LoRA put among the models),
	 * naming the file: the web side refuses the model with it. */
	char *file_error;
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
