/* textcond.h - prompts to the UNet's text conditioning as AUTOMATIC1111
 * builds it: the weighting syntax and 77-token windows of prompt.h through
 * the model's text encoder (SD 1.x, 2.x) or both of SDXL's, whose
 * penultimate states sit side by side (768 + 1280 = 2048 features), with
 * bigG's pooled, projected output beside them. */
#ifndef KILN_TEXTCOND_H
#define KILN_TEXTCOND_H

#include <stddef.h>
#include <stdint.h>

#include "clip.h"
#include "safetensors.h"
#include "ti.h"
#include "tokenizer.h"

#define TEXT_COND_MAX_ENC 2

struct text_cond;

/*
 * Loads the text encoders of m onto rt: ST_PART_TEXT and, when the model
 * has one, ST_PART_TEXT2 (SDXL; the refiner has that one alone), each
 * with clip_text_outputs_default's outputs, skip >= 0 overriding how
 * many final layers each leaves out of the context. tok (borrowed, may
 * be NULL when only text_cond_encode_ids is used) tokenizes prompts; the
 * padding after each window's end id is 0 for an OpenCLIP encoder and
 * for SDXL's second (A1111's id_pad), else the pad_token of vocab's
 * special_tokens_map.json when vocab is a tokenizer folder (SD 2.x
 * diffusers: "!", 0), else the end id. With tok, the vocabulary must fit
 * every encoder and each must take a whole window. Returns 0 with *out,
 * or -1 with a message in err. Free with text_cond_free.
 */
int text_cond_load(struct kiln_rt *rt, const struct st_model *m,
    const struct clip_tokenizer *tok, const char *vocab, int skip,
    struct text_cond **out, char *err, size_t errlen);

/* Frees the encoders; accepts NULL. */
void text_cond_free(struct text_cond *t);

/* The context's width: the encoders' widths added up. */
int text_cond_width(const struct text_cond *t);
/* The pooled output's width, 0 when the model has none (SD 1.x, 2.x). */
int text_cond_pooled_width(const struct text_cond *t);
/* How many encoders, and each one (0 .. n-1, in context order). */
int text_cond_encoders(const struct text_cond *t);
const struct clip_text_model *text_cond_encoder(const struct text_cond *t,
    int i);
/* Where encoder i's features start in a context row. */
int text_cond_offset(const struct text_cond *t, int i);
/* The padding id encoder i's windows get. */
int32_t text_cond_pad(const struct text_cond *t, int i);

/*
 * Runs every encoder on B sequences of L ids (ids[i] for encoder i, rows
 * as clip_text_encode takes them) into ctx, B x L x text_cond_width()
 * floats (encoder i's features at text_cond_offset(i) of each row), and,
 * when pooled is not NULL, the pooled output into pooled, B x
 * text_cond_pooled_width() floats (the model must have one). Returns 0,
 * or -1 with a message in err (the device's, rt_error()).
 */
int text_cond_encode_ids(struct text_cond *t, const int32_t *const *ids,
    int B, int L, float *ctx, float *pooled, char *err, size_t errlen);

/*
 * The textual-inversion embeddings the prompts of later text_cond_prompts
 * and text_cond_guidance calls may name (A1111's embedding database):
 * e[0 .. n-1], whose names are tokenized with the model's vocabulary and
 * whose vectors are copied (e may be freed afterwards); they replace the
 * previous set, and n = 0 clears it. Each must fit every encoder: SD 1.x
 * and 2.x take one tensor as wide as the encoder (768, 1024), SDXL
 * clip_l for CLIP-L and clip_g for bigG (the refiner, bigG alone, takes
 * clip_g). Returns 0, or -1 with a message naming the embedding, its
 * file and why it does not fit (the previous set is then cleared).
 */
int text_cond_set_embeddings(struct text_cond *t,
    const struct ti_embedding *const *e, int n, char *err, size_t errlen);

/* Conditioning of n prompts: ctx [n, L, D], pooled [n, P] (NULL when P
 * is 0). */
struct text_cond_out {
	int n, L, D, P;
	float *ctx;
	float *pooled;
};

/* Frees the arrays and zeroes o; accepts NULL. */
void text_cond_out_free(struct text_cond_out *o);

/*
 * The conditioning of n prompts the way A1111's
 * FrozenCLIPEmbedderWithCustomWordsBase.forward builds it, for each
 * encoder on its own: each prompt a list of 77-token windows
 * (clip_encode_prompt with the encoder's padding), the shorter lists
 * filled up with windows of the empty prompt (what A1111 does when cond
 * and uncond differ in length), every window through the encoder in one
 * batch, then A1111's emphasis per window and encoder: z *= weight per
 * token, z rescaled to the mean it had. The windows follow one another
 * along the tokens: L = 77 x windows. The pooled output is the first
 * window's, unweighted (A1111's zs[0].pooled). The embeddings of
 * text_cond_set_embeddings stand in for their names (clip_encode_prompt_ti:
 * slots of id 0 whose token-embedding rows are the vectors, weighted like
 * the words around them). Returns 0 with *out (free it with
 * text_cond_out_free), or -1 with a message in err.
 */
int text_cond_prompts(struct text_cond *t, const char *const *prompts,
    int n, struct text_cond_out *out, char *err, size_t errlen);

/*
 * Classifier-free guidance's pair, as text_cond_prompts of { negative,
 * prompt }: row 0 the uncond, row 1 the cond. On an SDXL model an empty
 * negative prompt (NULL or "") is zeros, context and pooled, as A1111
 * (get_learned_conditioning's force_zero_negative_prompt) and diffusers
 * (force_zeros_for_empty_prompt) both do; the windows that pad
 * it to the prompt's length are zeros too, which is what A1111's
 * default of running an uncond of other length on its own gives (keys
 * and values of zeros attend to nothing). Returns as text_cond_prompts.
 */
int text_cond_guidance(struct text_cond *t, const char *prompt,
    const char *negative, struct text_cond_out *out, char *err,
    size_t errlen);

#endif
