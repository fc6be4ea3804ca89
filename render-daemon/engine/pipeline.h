/* pipeline.h - text to image and image to image with a loaded model: prompt
 * weighting and CLIP, the sampler with classifier-free guidance around the
 * UNet, the VAE; one object shared by kiln-render and the daemon. */
#ifndef KILN_PIPELINE_H
#define KILN_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "inpaint.h"
#include "runtime.h"
#include "sampler.h"

#define GEN_MIN_SIDE 64
#define GEN_MAX_SIDE 2048
#define GEN_MAX_STEPS 150
#define GEN_MAX_CFG 30.0
#define GEN_MAX_BATCH 16

enum gen_prediction { GEN_PRED_AUTO, GEN_PRED_EPS, GEN_PRED_V };

/* How the hires fix enlarges the first pass: its latent, bilinear or
 * nearest (A1111's "Latent", "Latent (nearest)"), or its image, decoded,
 * through an image upscaler and encoded again. */
enum gen_hires_mode { HIRES_LATENT, HIRES_LATENT_NEAREST, HIRES_IMAGE };

#define GEN_MAX_HIRES_SCALE 4.0

/* The hires fix's own upscalers by kiln's names: "latent" (HIRES_LATENT),
 * "latent-nearest" and "lanczos" (HIRES_IMAGE without a model). Returns
 * 0 with *mode, or -1 for any other name (an upscaler model's). */
int gen_hires_lookup(const char *name, enum gen_hires_mode *mode);

struct upscaler;

/* ControlNets of one render (control.h). */
#define GEN_MAX_CONTROLNETS 4

/* What is made of a control image before the ControlNet sees it: the
 * image itself (a scribble, line art or depth map made elsewhere), or
 * its canny edges (OpenCV's cv2.Canny on the RGB image, canny.h). */
enum gen_preprocessor { GEN_PRE_NONE, GEN_PRE_CANNY };

struct gen_control {
	const char *path;		/* the ControlNet: file or folder */
	const uint8_t *rgb;		/* RGB8, any size (resized to the
					 * render's width x height) */
	int w, h;
	double weight;			/* conditioning scale, 0..2 */
	/* The fraction of the steps it applies from and to (A1111's
	 * guidance start / end): step i of n runs it when start <= i / n
	 * <= end. 0 and 1: every step. */
	double start, end;
	enum gen_preprocessor pre;
	double low, high;		/* canny's thresholds (0..255) */
};

struct clip_tokenizer;
struct ti_embedding;

struct gen_params {
	/* A1111 weighting syntax; its <lora:...> (any extra-network)
	 * tags are left out (pipeline_set_loras merges LoRAs). */
	const char *prompt;
	const char *negative;		/* NULL: "" */
	int width, height;		/* pixels, multiples of 8 */
	int steps;			/* of the full schedule */
	double cfg;			/* guidance scale; 1 runs cond only */
	enum sampler_kind sampler;
	uint64_t seed;			/* image i of a batch uses seed + i */
	int batch;			/* images per call, >= 1 */
	/* img2img: RGB8, any size (resized to width x height), or NULL. */
	const uint8_t *init_rgb;
	int init_w, init_h;
	double strength;		/* (0, 1]; 1 for txt2img */
	enum gen_prediction prediction;	/* AUTO: the model's scheduler */
	size_t vae_budget;		/* bytes; 0: decode untiled */
	/* Inpainting (with init_rgb): a grey mask of init_w x init_h, 255
	 * where the image is repainted, 0 where it is kept, or NULL. The
	 * result then has the init's size, its pixels outside the
	 * feathered mask exactly the init's; width x height is the size it
	 * is rendered at (the masked box's, with only_masked). With an
	 * inpainting UNet (9 input channels) the mask and the masked image
	 * condition it as the model expects. */
	const uint8_t *mask;
	int mask_blur;			/* pixels (Gaussian sigma), 0..64 */
	enum inpaint_fill fill;		/* masked content */
	int only_masked;		/* render only the box around the mask */
	int only_masked_pad;		/* pixels around it, 0..256 */
	/* Hires fix: hires_scale > 1 renders width x height, enlarges it to
	 * hires_scale times that (rounded down to the model's grid) and
	 * runs img2img on it at hires_strength for hires_steps (0: steps)
	 * of the schedule; 0 is off. HIRES_IMAGE enlarges with the upscaler
	 * model hires_upscaler (upscaler.h, loaded on the pipeline's
	 * runtime; borrowed), Lanczos when NULL, as upscaler_upscale_rgb
	 * does it within vae_budget. */
	double hires_scale;
	double hires_strength;
	int hires_steps;
	enum gen_hires_mode hires_mode;
	struct upscaler *hires_upscaler;
	/* Textual-inversion embeddings the prompts may name (borrowed for
	 * the call; ti.h): each must fit the model, as
	 * text_cond_set_embeddings checks. */
	const struct ti_embedding *const *embeddings;
	int nembeddings;
	/* ControlNets (borrowed for the call), their residuals summed. */
	const struct gen_control *controls;
	int ncontrols;
};

/* 512x512, 20 steps, cfg 7, euler_a, seed 0, batch 1, strength 0.75
 * (used only with an init image), prediction from the model; mask blur 4,
 * masked content original, only-masked padding 32 (A1111's); no hires
 * fix (its strength 0.7, latent). */
void gen_params_default(struct gen_params *p);

/* Validates p without a model. Returns 0, or -1 with a message that starts
 * with the field's name ("width: 500 is not a multiple of 8"). */
int gen_params_check(const struct gen_params *p, char *err, size_t errlen);

struct gen_timings {
	double load_s;			/* pipeline_open */
	double text_s;			/* tokenizing + text encoder */
	double init_s;			/* img2img: resize + VAE encode */
	double hires_s;			/* hires fix: enlarging + encode */
	double unet_s;			/* every UNet step, all images */
	double unet_step_s;		/* average per step */
	double vae_s;			/* VAE decode, all images */
	double total_s;			/* pipeline_generate */
	int steps_run;			/* per image */
	size_t peak_held;		/* device bytes, rt->peak_held */
};

struct gen_result {
	int count, width, height;
	uint8_t *rgb;			/* count images of width*height*3 */
	/* The same images before 8-bit quantisation: the VAE's (x + 1) / 2
	 * clamped to 0..1, of which rgb is lrintf(v * 255); NULL where the
	 * result went through 8 bits (inpainting pastes into the init
	 * image). What the high-precision exports are made from. */
	float *rgbf;
	uint64_t *seeds;		/* seed of each image */
	struct gen_timings t;
};

/* Frees the images and seeds and zeroes r; accepts NULL. */
void gen_result_free(struct gen_result *r);

/* Where a render stands, for progress callbacks. */
struct pipeline_step {
	int image;		/* of the batch, 0-based */
	int step, steps;	/* 1..steps of this image */
	const float *denoised;	/* the model's current estimate of the
				 * clean latent, c x h x w floats, valid
				 * during the call */
	int c, h, w;
};

/* Called after every sampler step. Return non-zero to cancel. */
typedef int (*pipeline_progress_fn)(void *arg, const struct pipeline_step *s);

struct pipeline;

/*
 * Loads model_path (single-file checkpoint or diffusers folder): text
 * encoder, UNet and VAE decoder onto rt (borrowed: it must outlive the
 * pipeline); the VAE encoder is loaded on the first img2img. The
 * vocabulary: vocab_path when not NULL, else <model>/tokenizer/ when the
 * model is a folder that has one, else rt's clip_vocab option (struct
 * engine_opts) when set, else the default next to the binary:
 * <bindir>/../../models/clip/ (the build tree), then
 * <bindir>/../share/kiln/clip/ (an install). The schedule and
 * prediction type come from <model>/scheduler/scheduler_config.json when
 * there is one, else SD's defaults (epsilon); the model's preferred
 * parameters from <model>/kiln.json (see pipeline_defaults).
 * Returns 0 with *out, or -1 with a message in err.
 */
int pipeline_open(struct kiln_rt *rt, const char *model_path,
    const char *vocab_path, struct pipeline **out, char *err, size_t errlen);

/* Frees the models; accepts NULL. */
void pipeline_free(struct pipeline *p);

struct lora_spec;

/* Makes l[0..n-1] (lora.h; n 0: none) the LoRAs merged into the text
 * encoders and UNet, keeping them merged while the same set is asked
 * for again; see lora_state_set for what an error leaves. Returns 0, or
 * -1 with a message naming the LoRA's file in err. */
int pipeline_set_loras(struct pipeline *p, const struct lora_spec *l, int n,
    char *err, size_t errlen);

/* The prediction type the model's scheduler config names. */
enum prediction pipeline_prediction(const struct pipeline *p);
/* The parameters this model renders best with: the engine's defaults
 * (gen_params_default) overridden by the "defaults" object of
 * <model>/kiln.json (width, height, steps, cfg, sampler), checked when the
 * pipeline opened. */
void pipeline_defaults(const struct pipeline *p, struct gen_params *gp);
/* The vocabulary in use (a path). */
const char *pipeline_vocab(const struct pipeline *p);
/* The tokenizer of that vocabulary (owned by p): what finds the
 * embedding names a prompt uses (clip_prompt_uses). */
const struct clip_tokenizer *pipeline_tokenizer(const struct pipeline *p);
/* Pixels per latent times the UNet's downsampling: width and height must
 * be multiples of it (64 for SD). */
int pipeline_grid(const struct pipeline *p);

/* A cheap preview of s->denoised: the model's linear latent-to-RGB map
 * (its kiln.json "preview", else Stable Diffusion 1.x's for 4-channel
 * latents, else the first channels as grey levels) at latent resolution,
 * s->w x s->h RGB8 into rgb. */
void pipeline_preview(const struct pipeline *p, const struct pipeline_step *s,
    uint8_t *rgb);

#define PIPELINE_DONE 0
#define PIPELINE_CANCELED 1

/*
 * Generates params->batch images into *out (free with gen_result_free).
 * Image i is seeded with seed + i and is the same image a batch of one
 * with that seed gives. progress may be NULL.
 * Returns PIPELINE_DONE, PIPELINE_CANCELED (out empty), or -1 with a
 * message in err (a parameter problem starts with the field's name).
 */
int pipeline_generate(struct pipeline *p, const struct gen_params *params,
    pipeline_progress_fn progress, void *arg, struct gen_result *out,
    char *err, size_t errlen);

#endif
