/* lora.h - LoRA files merged into a loaded model's weights: kohya /
 * AUTOMATIC1111 files (lora_unet_*, lora_te_*, lora_te1_*, lora_te2_*
 * with lora_down / lora_up / alpha; the UNet's modules under diffusers or
 * SGM paths), diffusers / PEFT files (unet.*, text_encoder.*,
 * text_encoder_2.* with lora_A / lora_B, alpha from .alpha tensors or the
 * lora_adapter_metadata), Linear and Conv2d layers (LoCon's 3x3 down
 * with 1x1 up). The spec is tools/reference/lora.py.
 *
 * Merging: W' = W + sum over the LoRAs of multiplier * alpha / rank *
 * up @ down, computed in float32 on the host from the ORIGINAL weight,
 * read again from the model's file, and uploaded into the weight's
 * device tensor laid out as its loader did (weights.h, wt_reupload).
 * Taking a LoRA off uploads the original again: exact, bit for bit, with
 * no extra device memory and one weight's worth of host memory at a
 * time. */
#ifndef KILN_LORA_H
#define KILN_LORA_H

#include <stddef.h>
#include <stdint.h>

#include "safetensors.h"

struct kiln_rt;
struct wt_registry;

/* One LoRA to merge: its file and A1111's two multipliers. */
struct lora_spec {
	const char *path;
	double text;		/* the text encoders' ("te") */
	double unet;		/* the UNet's */
};

/* --- one file, read without a model ------------------------------- */

enum lora_format { LORA_KOHYA, LORA_PEFT };

/* One module of a LoRA file: the factors of one layer's patch. */
struct lora_module {
	const char *key;	/* the name before .lora_down / .lora_A */
	enum lora_format format;
	const struct st_tensor *down;	/* [r, in] or [r, C, kh, kw] */
	const struct st_tensor *up;	/* [out, r] or [out, r, 1, 1] */
	int has_alpha;		/* a <key>.alpha tensor */
	double alpha;
	int64_t rank, out, in;	/* in: down's elements per rank row */
};

struct lora_net;

/* Reads and checks a LoRA file: every tensor must be a down, up or alpha
 * of a module (LoHa, LoKr, a Tucker lora_mid, DoRA's dora_scale and
 * anything else are refused, named), each module needs both factors of
 * one format with ranks that agree, F32 / F16 / BF16 factors, a scalar
 * alpha; the PEFT metadata must read. Returns 0 with *out (free with
 * lora_net_free), or -1 with a message naming the file in err. */
int lora_net_open(const char *path, struct lora_net **out, char *err,
    size_t errlen);

/* The same over an open file, which *out then owns (closed on failure
 * too): the fuzz harness's way in. */
int lora_net_from_file(struct st_file *f, struct lora_net **out, char *err,
    size_t errlen);

/* Accepts NULL. */
void lora_net_free(struct lora_net *n);

/* The file's name, its modules (sorted by key) and the i-th of them. */
const char *lora_net_name(const struct lora_net *n);
size_t lora_net_count(const struct lora_net *n);
const struct lora_module *lora_net_module(const struct lora_net *n,
    size_t i);

/* alpha / rank of module md patching `module` (its canonical name
 * without ".weight") of `component` ("unet", "text_encoder",
 * "text_encoder_2"), as lora.py's scale(): kohya: its alpha, else scale 1;
 * PEFT: an .alpha tensor, else the metadata's lora_alpha (alpha_pattern
 * first; use_rslora divides by sqrt(rank)), else 1. */
double lora_module_scale(const struct lora_net *n,
    const struct lora_module *md, const char *component,
    const char *module);

/* --- which weight of a model each module patches --------------------- */

/* Every spelling a LoRA may give a model's patchable weights (2-D and
 * 4-D .weight tensors of its text encoders and UNet): kohya names with
 * the UNet under its diffusers and its SGM paths, the text encoders
 * under lora_te_ (lora_te1_ / lora_te_ and lora_te2_ for SDXL's two),
 * and PEFT's <component>.<module>. */
struct lora_index;

/* Builds m's index (m borrowed: it must outlive the index). Returns 0
 * with *out, or -1 with a message in err. */
int lora_index_new(const struct st_model *m, struct lora_index **out,
    char *err, size_t errlen);
void lora_index_free(struct lora_index *ix);

/* One module resolved: the weight it patches and its scale
 * (multiplier * alpha / rank). */
struct lora_target {
	enum st_part part;
	const struct st_entry *e;	/* the weight, canonical name */
	const struct lora_module *md;
	double scale;
};

/* Resolves every module of n against the index with the spec's
 * multipliers. Every module must name a weight of the model, with the
 * shape its factors give. Returns 0 with *out (n entries, free()), or
 * -1 with a message naming the file and the module in err. */
int lora_resolve(const struct lora_index *ix, const struct lora_net *n,
    double text, double unet, struct lora_target **out, size_t *count,
    char *err, size_t errlen);

/* "unet", "text_encoder", "text_encoder_2": PEFT's names of the parts. */
const char *lora_component(enum st_part part);

/* --- merging into a loaded model ------------------------------------ */

/* A loaded model's LoRA state: the set merged now. */
struct lora_state;

/*
 * The state of model m whose device weights reg recorded (rt->weights
 * while the text encoders and UNet loaded). rt, m and reg are borrowed
 * and must outlive the state, as must the models that own the recorded
 * tensors. Nothing is merged. Returns 0 with *out, or -1 with err.
 */
int lora_state_new(struct kiln_rt *rt, const struct st_model *m,
    struct wt_registry *reg, struct lora_state **out, char *err,
    size_t errlen);

/* Frees the state; the weights stay as they are (free the models with
 * it). Accepts NULL. */
void lora_state_free(struct lora_state *s);

/*
 * Makes specs[0..n-1] (n 0: none) the merged set, each LoRA's patch
 * scaled by its multipliers and the patches of several LoRAs added up.
 * The same set as the one merged (the same files, unchanged on disk, with
 * the same multipliers) is kept as it is; otherwise the weights patched
 * now are put back from the file and the new set is merged.
 *
 * Returns 0, or -1 with a message naming the file and the reason in err.
 * A file that does not read, a module that matches no weight of this
 * model, a shape mismatch or a kind of LoRA kiln cannot apply fails
 * before any weight changes: the model stays as it was (with the set
 * merged before). A failure while merging (a float16 weight pushed out
 * of range, a device error) puts every weight back: the model is left
 * without LoRAs.
 */
int lora_state_set(struct lora_state *s, const struct lora_spec *specs,
    int n, char *err, size_t errlen);

/* How many weights are patched now. */
size_t lora_state_patched(const struct lora_state *s);

#endif
