/* sampler.h - noise schedules and the diffusion samplers (Euler, Euler a,
 * Heun, DDIM, DPM++ 2M (Karras), LCM) on host-side latents, with the model
 * as a callback. */
#ifndef KILN_SAMPLER_H
#define KILN_SAMPLER_H

#include "rng.h"
#include "samplers.h"

#include <stddef.h>

enum beta_schedule { BETA_SCALED_LINEAR, BETA_LINEAR };
enum prediction { PRED_EPS, PRED_V };

/* What a checkpoint was trained with (diffusers' scheduler_config.json). */
struct schedule_params {
	int num_train_timesteps;	/* T, e.g. 1000 */
	double beta_start;		/* 0.00085 for SD 1.x/2.x */
	double beta_end;		/* 0.012 */
	enum beta_schedule beta_schedule;
	enum prediction prediction;	/* SD 2.x 768-v: PRED_V */
};

/* The training schedule in double precision (the k-diffusion reference
 * keeps it in float32: sigmas agree to ~1e-7 relative):
 *   scaled_linear: beta_i = (sqrt(b0) + i (sqrt(b1) - sqrt(b0)) / (T-1))^2
 *   linear:        beta_i = b0 + i (b1 - b0) / (T-1)
 *   alphas_cumprod[i] = prod_{j<=i} (1 - beta_j)
 *   sigmas[i] = sqrt((1 - alphas_cumprod[i]) / alphas_cumprod[i])  */
struct schedule {
	int num_train_timesteps;
	enum prediction prediction;
	double *alphas_cumprod;		/* T */
	double *sigmas;			/* T, ascending */
	double *log_sigmas;		/* T */
};

/* SD 1.x: T = 1000, 0.00085 .. 0.012, scaled_linear, epsilon. */
void schedule_params_default(struct schedule_params *p);

/* Fills s (owned by the caller, freed with schedule_free). Returns 0, or
 * -1 with a message naming the bad parameter (or "out of memory") in err. */
int schedule_init(struct schedule *s, const struct schedule_params *p,
    char *err, size_t errlen);
/* Frees the arrays; accepts a zeroed or already freed schedule. */
void schedule_free(struct schedule *s);

/* k-diffusion's DiscreteSchedule: the fractional model timestep of a sigma
 * (linear interpolation in log sigma between neighbouring training steps,
 * clamped to [0, T-1]) and its inverse. */
double schedule_sigma_to_t(const struct schedule *s, double sigma);
double schedule_t_to_sigma(const struct schedule *s, double t);

/* SAMPLER_EULER, SAMPLER_EULER_A, ... in samplers.h's order. */
enum sampler_kind {
#define SAMPLER_KIND(kind, name, display) SAMPLER_##kind,
	KILN_SAMPLERS(SAMPLER_KIND)
#undef SAMPLER_KIND
	SAMPLER__MAX
};

/* DDIM's timestep spacing (diffusers' timestep_spacing). LEADING with
 * steps_offset 1 is what SD 1.x/2.x checkpoints ship. */
enum sampler_spacing { SPACING_LEADING, SPACING_TRAILING, SPACING_LINSPACE };

/* The kind's name in samplers.h ("euler", "euler_a", ...); NULL for an
 * out-of-range kind. */
const char *sampler_name(enum sampler_kind k);
/* The kind for a name above. Returns 0, or -1 for an unknown name. */
int sampler_lookup(const char *name, enum sampler_kind *out);
/* "linspace" etc. Returns 0, or -1 for an unknown name. */
int sampler_spacing_lookup(const char *name, enum sampler_spacing *out);

/* The sigma list of the k-diffusion samplers, n + 1 values, the last 0:
 *   karras = 0: A1111 / k-diffusion get_sigmas: t = linspace(T-1, 0, n),
 *               sigma = exp of log sigma interpolated at t;
 *   karras = 1: get_sigmas_karras(n, sigmas[0], sigmas[T-1], rho = 7).
 * Returns 0, or -1 when n < 1. */
int sampler_sigmas(const struct schedule *s, int n, int karras,
    double *out);

/* Which steps one run takes. For step i (0 <= i < steps):
 *   t[i]          the model timestep (fractional for k-samplers, an integer
 *                 training step for DDIM and LCM);
 *   sigma[i]      the noise level of the state entering the step;
 *   sigma_next[i] the noise level the step goes to: 0 at the end of the
 *                 k-samplers and LCM; for DDIM the sigma of diffusers'
 *                 prev_timestep = t - T/steps (alphas_cumprod[0] past the
 *                 start, set_alpha_to_one = False), which with TRAILING and
 *                 LINSPACE spacing is not always the next step's sigma:
 *                 that is what diffusers does. */
struct sampler_plan {
	int steps;
	double *t;
	double *sigma;
	double *sigma_next;
};

/* Builds the plan of the full schedule (img2img then starts at a later
 * step). Returns 0, or -1 with the reason in err. Free with
 * sampler_plan_free (accepts a zeroed plan). */
int sampler_plan_make(const struct schedule *s, enum sampler_kind k,
    int steps, enum sampler_spacing spacing, struct sampler_plan *out,
    char *err, size_t errlen);
void sampler_plan_free(struct sampler_plan *p);

/*
 * The model. x_in holds the n latent values as the network takes them:
 * already multiplied by c_in = 1/sqrt(sigma^2 + 1) for the k-samplers, the
 * variance-preserving sample itself for DDIM and LCM (the same thing). t is
 * the model timestep (fractional for the k-samplers). Write the raw
 * prediction, epsilon or v as the schedule says, to out (n floats).
 *
 * Classifier-free guidance is the callback's business: evaluate the cond
 * and uncond conditionings as one batch of 2 on x_in and return
 *   out = uncond + scale * (cond - uncond)
 * (the combination is linear, so doing it on eps or v is the same as on the
 * denoised latent, which is what A1111 does). Return 0, or non-zero to stop
 * the run with an error.
 */
typedef int (*sampler_model_fn)(void *arg, const float *x_in, float t,
    float *out);

/* Called after every finished step with step = 1 .. steps, where steps is
 * the number this run takes (fewer than params->steps for img2img), and
 * the model's latest estimate of the clean latent (n floats, valid during
 * the call; for previews). Return non-zero to cancel: sampler_run returns
 * at once, before the next model evaluation. */
typedef int (*sampler_progress_fn)(void *arg, int step, int steps,
    const float *denoised);

struct sampler_params {
	const struct schedule *schedule;
	enum sampler_kind sampler;
	int steps;		/* of the full schedule, >= 1 (LCM <= 50) */
	double strength;	/* 1 = txt2img; img2img runs int(steps *
				 * strength) steps (diffusers / A1111
				 * convention), from step steps - that */
	const float *init;	/* img2img: the encoded image latent (n floats),
				 * or NULL for txt2img */
	/* Inpainting: n floats, 1 where the latent is repainted, 0 where
	 * init is kept (needs init). Every estimate of the clean latent is
	 * blended, den = init + mask (den - init), and so is the result, as
	 * A1111's CFGDenoiser and img2img do. NULL: no mask. */
	const float *mask;
	enum sampler_spacing spacing;	/* DDIM only */
};

/* txt2img defaults: steps 20, strength 1, no init, leading spacing. */
void sampler_params_default(struct sampler_params *p,
    const struct schedule *s, enum sampler_kind k);

/* Validates p. Returns 0, or -1 with a message naming the parameter. */
int sampler_check(const struct sampler_params *p, char *err,
    size_t errlen);

/* The step the run starts at and the number it takes. Returns 0, or -1 when
 * p does not pass sampler_check. */
int sampler_range(const struct sampler_params *p, int *start, int *count);

#define SAMPLER_DONE 0
#define SAMPLER_CANCELED 1

/*
 * Runs the sampler on the n-float latent x.
 *
 * On entry x holds standard normal noise (the caller draws it, normally
 * rng_normal(rng, x, n) right after rng_seed, so a seed names the image).
 * The sampler scales it, because only it knows the starting noise level:
 *   k-samplers: x = noise * sigma[start]           (txt2img, A1111)
 *               x = init + noise * sigma[start]    (img2img)
 *   DDIM, LCM:  x = noise                          (init_noise_sigma 1)
 *               x = sqrt(a) init + sqrt(1-a) noise (diffusers add_noise)
 * On return x holds the latent for the VAE: the final denoised sample (for
 * DDIM the sample at alphas_cumprod[0], as diffusers returns it).
 * rng supplies the noise of Euler a and LCM (n values per step that uses
 * any), drawn after the initial noise.
 *
 * Returns SAMPLER_DONE, SAMPLER_CANCELED (x then holds the state after the
 * last finished step, in the sampler's own parameterisation), or -1 with
 * the reason in err: invalid parameters, out of memory, or a model error.
 * cb may be NULL.
 */
int sampler_run(const struct sampler_params *p, float *x, size_t n,
    sampler_model_fn fn, void *arg, struct kiln_rng *rng,
    sampler_progress_fn cb, void *cbarg, char *err, size_t errlen);

#endif
