/* clip.h - the CLIP text encoder of Stable Diffusion 1.x (transformers'
 * CLIPTextModel: quick-GELU, causal mask, final layer norm) and 2.x
 * (OpenCLIP ViT-H: GELU, penultimate layer), with its configuration read
 * from config.json or inferred from the tensor shapes. */
#ifndef KILN_CLIP_H
#define KILN_CLIP_H

#include <stdint.h>

#include "ops.h"
#include "safetensors.h"

struct clip_text_config {
	int vocab;		/* token embedding rows */
	int hidden;		/* width D */
	int layers;		/* transformer layers present in the file */
	int heads;
	int inter;		/* MLP width */
	int max_pos;		/* position embedding rows */
	enum act_kind act;	/* ACT_QUICK_GELU (SD 1.x) or ACT_GELU */
	float eps;		/* layer norm epsilon */
	int skip;		/* final layers not run (1 = penultimate) */
	enum st_text_flavour flavour;
};

struct clip_text_model;

/* Uploads the text part of m to the device. skip < 0 picks the default:
 * 1 for an OpenCLIP single file (SD 2.x uses the penultimate layer), else
 * 0 (a diffusers SD 2.x folder already has the last layer removed).
 * Returns 0 with *out, or -1 with a message in err naming the missing or
 * misshapen tensor. Free with clip_text_free. */
int clip_text_load(struct kiln_rt *rt, const struct st_model *m, int skip,
	struct clip_text_model **out, char *err, size_t errlen);

void clip_text_free(struct clip_text_model *c);

const struct clip_text_config *clip_text_config(
	const struct clip_text_model *c);

/* Encodes B sequences of L token ids (ids[b * L + l], each in
 * [0, vocab), L <= max_pos) into a new tensor [B, L, hidden] in *out (the
 * caller frees it). Returns 0, or -1 with rt_error() set. */
int clip_text_encode(struct clip_text_model *c, const int32_t *ids, int B,
	int L, struct ktensor **out);

#endif
