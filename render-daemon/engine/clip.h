/* clip.h - the CLIP text encoders of Stable Diffusion: 1.x's
 * (transformers' CLIPTextModel: quick-GELU, causal mask, final layer
 * norm), 2.x's (OpenCLIP ViT-H: GELU, penultimate layer) and SDXL's two
 * (CLIP ViT-L and OpenCLIP bigG, penultimate states without the final
 * norm, bigG's pooled and projected output), with the configuration read
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
	int projection;		/* text_projection rows P; 0: none */
	enum act_kind act;	/* ACT_QUICK_GELU (CLIP) or ACT_GELU (OpenCLIP) */
	float eps;		/* layer norm epsilon */
	enum st_text_flavour flavour;
};

/* What an encoding gives. Each model family wants its own (see
 * clip_text_outputs_default); the encoder itself knows no families. */
struct clip_text_outputs {
	/* The context is the hidden state after layers - skip layers:
	 * 0 the last layer's, 1 the penultimate. */
	int skip;
	/* The context goes through final_layer_norm (SD 1.x and 2.x; not
	 * SDXL). */
	int final_norm;
	/* Also the pooled output, [B, projection]: final_layer_norm of the
	 * LAST layer's output at each sequence's end token, the first
	 * position of its largest id (SGM's and OpenCLIP's text.argmax()),
	 * times text_projection (no bias). Needs the text_projection. */
	int pooled;
};

/* The outputs Stable Diffusion uses from the model's text part `part`:
 * SDXL: the penultimate state of both encoders without the final norm,
 * and the pooled output of the second (ST_PART_TEXT2); SD 2.x: an
 * OpenCLIP single file's penultimate state (a diffusers folder has its
 * last layer removed already: all of them), through the final norm; SD
 * 1.x: the last state through the final norm. */
void clip_text_outputs_default(const struct st_model *m, enum st_part part,
	struct clip_text_outputs *o);

struct clip_text_model;

/* Uploads text part `part` (ST_PART_TEXT or ST_PART_TEXT2) of m to the
 * device: the layers and norms the outputs need, the projection when
 * they include the pooled output. out NULL: clip_text_outputs_default.
 * Returns 0 with *model, or -1 with a message in err naming the missing
 * or misshapen tensor. Free with clip_text_free. */
int clip_text_load(struct kiln_rt *rt, const struct st_model *m,
	enum st_part part, const struct clip_text_outputs *out,
	struct clip_text_model **model, char *err, size_t errlen);

void clip_text_free(struct clip_text_model *c);

const struct clip_text_config *clip_text_config(
	const struct clip_text_model *c);
const struct clip_text_outputs *clip_text_outputs(
	const struct clip_text_model *c);

/* Encodes B sequences of L token ids (ids[b * L + l], each in
 * [0, vocab), L <= max_pos) into a new tensor [B, L, hidden] in *ctx and,
 * when pooled is not NULL (the model must have been loaded with
 * outputs.pooled), a new tensor [B, projection] in *pooled; the caller
 * frees both. Returns 0, or -1 with rt_error() set and nothing in
 * *ctx or *pooled. */
int clip_text_encode(struct clip_text_model *c, const int32_t *ids, int B,
	int L, struct ktensor **ctx, struct ktensor **pooled);

/* Rows of the encoder's input that textual inversion replaces: input row
 * at[i] (b * L + l, strictly ascending) takes the hidden floats at v + i
 * x hidden in place of its token's embedding; the position embedding is
 * added to it as to every row (A1111's EmbeddingsWithFixes). */
struct clip_rows {
	const size_t *at;
	const float *v;
	size_t n;
};

/* clip_text_encode with rows (NULL or none: the same) replaced. The
 * pooled output still finds each sequence's end by its ids. Returns as
 * clip_text_encode; rows out of order or beyond B x L are an error. */
int clip_text_encode_rows(struct clip_text_model *c, const int32_t *ids,
	int B, int L, const struct clip_rows *rows, struct ktensor **ctx,
	struct ktensor **pooled);

#endif
