/* sampler.c - training noise schedules, sigma/timestep plans and the
 * samplers: k-diffusion's Euler, Euler a, Heun, DPM++ 2M (+ Karras sigmas)
 * and diffusers' DDIM and LCM, written from the published algorithms. */
#include "sampler.h"
#include "util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* LCM's distillation schedule (diffusers LCMScheduler defaults). */
#define LCM_ORIGINAL_STEPS 50
#define LCM_TIMESTEP_SCALING 10.0
#define LCM_SIGMA_DATA 0.5
#define KARRAS_RHO 7.0

static const char *const sampler_names[SAMPLER__MAX] = {
#define SAMPLER_NAME(kind, name, display) [SAMPLER_##kind] = name,
	KILN_SAMPLERS(SAMPLER_NAME)
#undef SAMPLER_NAME
};

const char *
sampler_name(enum sampler_kind k)
{
	if ((int)k < 0 || k >= SAMPLER__MAX)
		return NULL;
	return sampler_names[k];
}

int
sampler_lookup(const char *name, enum sampler_kind *out)
{
	int i;

	if (name == NULL)
		return -1;
	for (i = 0; i < SAMPLER__MAX; i++)
		if (!strcmp(name, sampler_names[i])) {
			*out = (enum sampler_kind)i;
			return 0;
		}
	return -1;
}

int
sampler_spacing_lookup(const char *name, enum sampler_spacing *out)
{
	if (name == NULL)
		return -1;
	if (!strcmp(name, "leading"))
		*out = SPACING_LEADING;
	else if (!strcmp(name, "trailing"))
		*out = SPACING_TRAILING;
	else if (!strcmp(name, "linspace"))
		*out = SPACING_LINSPACE;
	else
		return -1;
	return 0;
}

void
schedule_params_default(struct schedule_params *p)
{
	p->num_train_timesteps = 1000;
	p->beta_start = 0.00085;
	p->beta_end = 0.012;
	p->beta_schedule = BETA_SCALED_LINEAR;
	p->prediction = PRED_EPS;
}

void
schedule_free(struct schedule *s)
{
	if (s == NULL)
		return;
	free(s->alphas_cumprod);
	free(s->sigmas);
	free(s->log_sigmas);
	s->alphas_cumprod = s->sigmas = s->log_sigmas = NULL;
}

/* numpy.linspace(a, b, num)[i] with endpoint: the same formula, so the
 * reference's values are met to the last bit where it matters (rounding of
 * DDIM timesteps). */
static double
linspace_at(double a, double b, int num, int i)
{
	if (num == 1)
		return a;
	if (i == num - 1)
		return b;
	return (double)i * ((b - a) / (double)(num - 1)) + a;
}

int
schedule_init(struct schedule *s, const struct schedule_params *p,
    char *err, size_t errlen)
{
	double cum = 1.0, sq0, sq1;
	int T = p->num_train_timesteps, i;

	memset(s, 0, sizeof(*s));
	if (T < 2 || T > 100000) {
		errf(err, errlen, "num_train_timesteps: %d is outside 2..100000",
		    T);
		return -1;
	}
	if (!(p->beta_start > 0.0 && p->beta_start < 1.0)) {
		errf(err, errlen, "beta_start: %g is outside (0, 1)",
		    p->beta_start);
		return -1;
	}
	if (!(p->beta_end >= p->beta_start && p->beta_end < 1.0)) {
		errf(err, errlen, "beta_end: %g is outside [beta_start, 1)",
		    p->beta_end);
		return -1;
	}
	if (p->beta_schedule != BETA_SCALED_LINEAR &&
	    p->beta_schedule != BETA_LINEAR) {
		errf(err, errlen, "beta_schedule: unknown value %d",
		    (int)p->beta_schedule);
		return -1;
	}
	if (p->prediction != PRED_EPS && p->prediction != PRED_V) {
		errf(err, errlen, "prediction: unknown value %d",
		    (int)p->prediction);
		return -1;
	}
	s->alphas_cumprod = malloc(sizeof(double) * (size_t)T);
	s->sigmas = malloc(sizeof(double) * (size_t)T);
	s->log_sigmas = malloc(sizeof(double) * (size_t)T);
	if (s->alphas_cumprod == NULL || s->sigmas == NULL ||
	    s->log_sigmas == NULL) {
		schedule_free(s);
		errf(err, errlen, "schedule: out of memory");
		return -1;
	}
	s->num_train_timesteps = T;
	s->prediction = p->prediction;
	sq0 = sqrt(p->beta_start);
	sq1 = sqrt(p->beta_end);
	for (i = 0; i < T; i++) {
		double beta;

		if (p->beta_schedule == BETA_SCALED_LINEAR) {
			beta = linspace_at(sq0, sq1, T, i);
			beta *= beta;
		} else {
			beta = linspace_at(p->beta_start, p->beta_end, T, i);
		}
		cum *= 1.0 - beta;
		s->alphas_cumprod[i] = cum;
		s->sigmas[i] = sqrt((1.0 - cum) / cum);
		s->log_sigmas[i] = log(s->sigmas[i]);
	}
	return 0;
}

double
schedule_sigma_to_t(const struct schedule *s, double sigma)
{
	int T = s->num_train_timesteps, low = 0, i;
	double ls = log(sigma), lo, hi, w;

	/* k-diffusion: low = index of the last log sigma <= ls (0 when none),
	 * at most T-2, then interpolate towards low+1. */
	for (i = 0; i < T; i++)
		if (ls - s->log_sigmas[i] >= 0.0)
			low = i;
	if (low > T - 2)
		low = T - 2;
	lo = s->log_sigmas[low];
	hi = s->log_sigmas[low + 1];
	w = (lo - ls) / (lo - hi);
	if (w < 0.0)
		w = 0.0;
	if (w > 1.0)
		w = 1.0;
	return (1.0 - w) * low + w * (low + 1);
}

double
schedule_t_to_sigma(const struct schedule *s, double t)
{
	int low = (int)floor(t), high = (int)ceil(t);
	double w = t - low;

	if (low < 0)
		low = high = 0, w = 0.0;
	if (high > s->num_train_timesteps - 1)
		low = high = s->num_train_timesteps - 1, w = 0.0;
	return exp((1.0 - w) * s->log_sigmas[low] + w * s->log_sigmas[high]);
}

int
sampler_sigmas(const struct schedule *s, int n, int karras, double *out)
{
	int T = s->num_train_timesteps, i;

	if (n < 1)
		return -1;
	if (karras) {
		double min_inv = pow(s->sigmas[0], 1.0 / KARRAS_RHO);
		double max_inv = pow(s->sigmas[T - 1], 1.0 / KARRAS_RHO);

		for (i = 0; i < n; i++) {
			double ramp = linspace_at(0.0, 1.0, n, i);

			out[i] = pow(max_inv + ramp * (min_inv - max_inv),
			    KARRAS_RHO);
		}
	} else {
		for (i = 0; i < n; i++)
			out[i] = schedule_t_to_sigma(s,
			    linspace_at((double)(T - 1), 0.0, n, i));
	}
	out[n] = 0.0;
	return 0;
}

void
sampler_plan_free(struct sampler_plan *p)
{
	if (p == NULL)
		return;
	free(p->t);
	free(p->sigma);
	free(p->sigma_next);
	p->t = p->sigma = p->sigma_next = NULL;
	p->steps = 0;
}

/* diffusers DDIMScheduler.set_timesteps (steps_offset 1 for leading). */
static void
ddim_timesteps(int T, int n, enum sampler_spacing sp, long *ts)
{
	int i;

	for (i = 0; i < n; i++) {
		if (sp == SPACING_LEADING) {
			ts[i] = (long)(n - 1 - i) * (T / n) + 1;
		} else if (sp == SPACING_TRAILING) {
			double ratio = (double)T / n;

			ts[i] = (long)rint((double)T + (double)i * -ratio) - 1;
		} else {
			ts[i] = (long)rint(linspace_at(0.0, (double)(T - 1),
			    n, n - 1 - i));
		}
	}
}

/* diffusers LCMScheduler.set_timesteps at strength 1: the 50-step
 * distillation schedule k*j - 1, reversed, sampled at floor(linspace(0, 50,
 * n, endpoint=False)). */
static void
lcm_timesteps(int T, int n, long *ts)
{
	long k = T / LCM_ORIGINAL_STEPS;
	int i;

	for (i = 0; i < n; i++) {
		long idx = (long)floor((double)i *
		    ((double)LCM_ORIGINAL_STEPS / n));

		ts[i] = (LCM_ORIGINAL_STEPS - idx) * k - 1;
	}
}

int
sampler_plan_make(const struct schedule *s, enum sampler_kind k,
    int steps, enum sampler_spacing spacing, struct sampler_plan *out,
    char *err, size_t errlen)
{
	int T = s->num_train_timesteps, i, rc = -1;
	double *sig = NULL;
	long *ts = NULL;

	memset(out, 0, sizeof(*out));
	if (steps < 1 || steps > T) {
		errf(err, errlen, "steps: %d is outside 1..%d", steps, T);
		return -1;
	}
	out->t = malloc(sizeof(double) * (size_t)steps);
	out->sigma = malloc(sizeof(double) * (size_t)steps);
	out->sigma_next = malloc(sizeof(double) * (size_t)steps);
	sig = malloc(sizeof(double) * ((size_t)steps + 1));
	ts = malloc(sizeof(long) * (size_t)steps);
	if (out->t == NULL || out->sigma == NULL || out->sigma_next == NULL ||
	    sig == NULL || ts == NULL) {
		errf(err, errlen, "sampler plan: out of memory");
		goto out;
	}
	out->steps = steps;
	if (k == SAMPLER_DDIM || k == SAMPLER_LCM) {
		if (k == SAMPLER_DDIM)
			ddim_timesteps(T, steps, spacing, ts);
		else
			lcm_timesteps(T, steps, ts);
		for (i = 0; i < steps; i++) {
			long prev;

			if (ts[i] < 0 || ts[i] > T - 1) {
				errf(err, errlen, "steps: %d gives timestep "
				    "%ld, outside the model's 0..%d", steps,
				    ts[i], T - 1);
				goto out;
			}
			out->t[i] = (double)ts[i];
			out->sigma[i] = s->sigmas[ts[i]];
			if (k == SAMPLER_DDIM) {
				prev = ts[i] - T / steps;
				out->sigma_next[i] = s->sigmas[prev >= 0 ?
				    prev : 0];
			} else {
				out->sigma_next[i] = i + 1 < steps ?
				    s->sigmas[ts[i + 1]] : 0.0;
			}
		}
	} else {
		sampler_sigmas(s, steps, k == SAMPLER_DPMPP_2M_KARRAS, sig);
		for (i = 0; i < steps; i++) {
			out->sigma[i] = sig[i];
			out->sigma_next[i] = sig[i + 1];
			out->t[i] = schedule_sigma_to_t(s, sig[i]);
		}
	}
	rc = 0;
out:
	free(sig);
	free(ts);
	if (rc != 0)
		sampler_plan_free(out);
	return rc;
}

void
sampler_params_default(struct sampler_params *p, const struct schedule *s,
    enum sampler_kind k)
{
	memset(p, 0, sizeof(*p));
	p->schedule = s;
	p->sampler = k;
	p->steps = 20;
	p->strength = 1.0;
	p->init = NULL;
	p->mask = NULL;
	p->spacing = SPACING_LEADING;
}

int
sampler_check(const struct sampler_params *p, char *err, size_t errlen)
{
	int T, count;

	if (p->schedule == NULL || p->schedule->sigmas == NULL) {
		errf(err, errlen, "schedule: missing");
		return -1;
	}
	T = p->schedule->num_train_timesteps;
	if ((int)p->sampler < 0 || p->sampler >= SAMPLER__MAX) {
		errf(err, errlen, "sampler: unknown kind %d", (int)p->sampler);
		return -1;
	}
	if (p->steps < 1 || p->steps > T - 1) {
		errf(err, errlen, "steps: %d is outside 1..%d", p->steps,
		    T - 1);
		return -1;
	}
	if (p->sampler == SAMPLER_LCM && (p->steps > LCM_ORIGINAL_STEPS ||
	    T < LCM_ORIGINAL_STEPS)) {
		errf(err, errlen, "steps: LCM takes at most %d steps, not %d",
		    LCM_ORIGINAL_STEPS, p->steps);
		return -1;
	}
	if ((int)p->spacing < 0 || p->spacing > SPACING_LINSPACE) {
		errf(err, errlen, "spacing: unknown value %d",
		    (int)p->spacing);
		return -1;
	}
	if (!(p->strength > 0.0 && p->strength <= 1.0)) {
		errf(err, errlen, "strength: %g is outside (0, 1]",
		    p->strength);
		return -1;
	}
	count = (int)((double)p->steps * p->strength);
	if (count < 1) {
		errf(err, errlen, "strength: %g of %d steps runs no step",
		    p->strength, p->steps);
		return -1;
	}
	if (p->mask != NULL && p->init == NULL) {
		errf(err, errlen, "mask: inpainting needs an initial latent");
		return -1;
	}
	if (p->strength < 1.0 && p->init == NULL) {
		errf(err, errlen, "init: strength %g (img2img) needs an "
		    "initial latent", p->strength);
		return -1;
	}
	return 0;
}

int
sampler_range(const struct sampler_params *p, int *start, int *count)
{
	int c;

	if (sampler_check(p, NULL, 0) != 0)
		return -1;
	c = (int)((double)p->steps * p->strength);
	if (c > p->steps)
		c = p->steps;
	*start = p->steps - c;
	*count = c;
	return 0;
}

/* One run's state; the step functions below share it. */
struct run {
	const struct sampler_params *p;
	const struct schedule *s;
	struct sampler_plan plan;
	float *x;
	size_t n;
	sampler_model_fn fn;
	void *arg;
	struct kiln_rng *rng;
	float *xin, *out, *den, *aux, *aux2;
	int first;		/* no previous denoised yet (DPM++ 2M) */
	char *err;
	size_t errlen;
};

static int
call_model(struct run *r, const float *xin, double t, int step)
{
	if (r->fn(r->arg, xin, (float)t, r->out) != 0) {
		errf(r->err, r->errlen, "model: evaluation failed at step %d "
		    "(t %.3f)", step + 1, t);
		return -1;
	}
	return 0;
}

/* Inpainting: v = init + mask (v - init) where a mask is set. */
static void
keep_unmasked(const struct run *r, float *v)
{
	const float *m = r->p->mask, *init = r->p->init;
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < r->n; i++)
		v[i] = init[i] + m[i] * (v[i] - init[i]);
}

/* k-diffusion's DiscreteEpsDDPMDenoiser / DiscreteVDDPMDenoiser (sigma_data
 * 1): den = c_skip x + c_out F(c_in x, t(sigma)). */
static int
denoise(struct run *r, const float *x, double sigma, float *den, int step)
{
	double c_in = 1.0 / sqrt(sigma * sigma + 1.0), c_skip, c_out;
	size_t i;

	if (r->s->prediction == PRED_V) {
		c_skip = 1.0 / (sigma * sigma + 1.0);
		c_out = -sigma * c_in;
	} else {
		c_skip = 1.0;
		c_out = -sigma;
	}
	for (i = 0; i < r->n; i++)
		r->xin[i] = (float)(x[i] * c_in);
	if (call_model(r, r->xin, schedule_sigma_to_t(r->s, sigma), step) != 0)
		return -1;
	for (i = 0; i < r->n; i++)
		den[i] = (float)(c_skip * x[i] + c_out * r->out[i]);
	keep_unmasked(r, den);
	return 0;
}

static int
step_euler(struct run *r, int i)
{
	double s = r->plan.sigma[i], dt = r->plan.sigma_next[i] - s;
	size_t j;

	if (denoise(r, r->x, s, r->den, i) != 0)
		return -1;
	for (j = 0; j < r->n; j++)
		r->x[j] = (float)(r->x[j] + (r->x[j] - r->den[j]) / s * dt);
	return 0;
}

/* eta = 1, s_noise = 1 (k-diffusion's defaults, A1111's "Euler a"). */
static int
step_euler_a(struct run *r, int i)
{
	double s = r->plan.sigma[i], sn = r->plan.sigma_next[i];
	double up, down;
	size_t j;

	up = sqrt(sn * sn * (s * s - sn * sn) / (s * s));
	if (up > sn)
		up = sn;
	down = sqrt(sn * sn - up * up);
	if (denoise(r, r->x, s, r->den, i) != 0)
		return -1;
	for (j = 0; j < r->n; j++)
		r->x[j] = (float)(r->x[j] + (r->x[j] - r->den[j]) / s *
		    (down - s));
	if (sn > 0.0) {
		rng_normal(r->rng, r->aux, r->n);
		for (j = 0; j < r->n; j++)
			r->x[j] = (float)(r->x[j] + (double)r->aux[j] * up);
	}
	return 0;
}

static int
step_heun(struct run *r, int i)
{
	double s = r->plan.sigma[i], sn = r->plan.sigma_next[i], dt = sn - s;
	size_t j;

	if (denoise(r, r->x, s, r->den, i) != 0)
		return -1;
	if (sn == 0.0) {	/* the last step is plain Euler */
		for (j = 0; j < r->n; j++)
			r->x[j] = (float)(r->x[j] + (r->x[j] - r->den[j]) /
			    s * dt);
		return 0;
	}
	for (j = 0; j < r->n; j++)
		r->aux[j] = (float)(r->x[j] + (r->x[j] - r->den[j]) / s * dt);
	if (denoise(r, r->aux, sn, r->aux2, i) != 0)
		return -1;
	for (j = 0; j < r->n; j++) {
		double d = (r->x[j] - r->den[j]) / s;
		double d2 = (r->aux[j] - r->aux2[j]) / sn;

		r->x[j] = (float)(r->x[j] + (d + d2) / 2.0 * dt);
	}
	return 0;
}

/* DPM-Solver++(2M) in k-diffusion's form, t = -log sigma. */
static int
step_dpmpp_2m(struct run *r, int i)
{
	double s = r->plan.sigma[i], sn = r->plan.sigma_next[i];
	size_t j;

	if (denoise(r, r->x, s, r->den, i) != 0)
		return -1;
	if (sn == 0.0) {	/* exp(-inf) = 0, -expm1(-inf) = 1 */
		memcpy(r->x, r->den, r->n * sizeof(float));
	} else {
		double t = -log(s), tn = -log(sn), h = tn - t;
		double ratio = sn / s, em = -expm1(-h);

		if (r->first) {
			for (j = 0; j < r->n; j++)
				r->x[j] = (float)(ratio * r->x[j] +
				    em * r->den[j]);
		} else {
			double h_last = t + log(r->plan.sigma[i - 1]);
			double q = 1.0 / (2.0 * (h_last / h));

			for (j = 0; j < r->n; j++) {
				double dd = (1.0 + q) * r->den[j] -
				    q * r->aux[j];

				r->x[j] = (float)(ratio * r->x[j] + em * dd);
			}
		}
	}
	memcpy(r->aux, r->den, r->n * sizeof(float));
	r->first = 0;
	return 0;
}

/* x0 from a VP sample and the raw prediction (diffusers). */
static double
pred_x0(enum prediction pred, double a, double x, double o)
{
	if (pred == PRED_V)
		return sqrt(a) * x - sqrt(1.0 - a) * o;
	return (x - sqrt(1.0 - a) * o) / sqrt(a);
}

/* diffusers DDIMScheduler.step, eta 0, no clipping; x is the VP sample. */
static int
step_ddim(struct run *r, int i)
{
	double t = r->plan.t[i], sn = r->plan.sigma_next[i];
	double a = r->s->alphas_cumprod[(int)t], ap = 1.0 / (1.0 + sn * sn);
	size_t j;

	if (call_model(r, r->x, t, i) != 0)
		return -1;
	for (j = 0; j < r->n; j++) {
		double x = r->x[j], o = r->out[j], x0, eps;

		x0 = pred_x0(r->s->prediction, a, x, o);
		if (r->p->mask != NULL && r->p->mask[j] != 1.0f) {
			/* The blended x0, and the noise that goes with it
			 * (diffusers' eps from x and x0). */
			double m = r->p->mask[j], i0 = r->p->init[j];

			x0 = i0 + m * (x0 - i0);
			eps = (x - sqrt(a) * x0) / sqrt(1.0 - a);
		} else {
			eps = r->s->prediction == PRED_V ?
			    sqrt(a) * o + sqrt(1.0 - a) * x : o;
		}
		r->x[j] = (float)(sqrt(ap) * x0 + sqrt(1.0 - ap) * eps);
	}
	return 0;
}

/* diffusers LCMScheduler.step: consistency-boundary scalings at t * 10,
 * fresh noise into the next timestep except after the last step. */
static int
step_lcm(struct run *r, int i)
{
	double t = r->plan.t[i], sn = r->plan.sigma_next[i];
	double a = r->s->alphas_cumprod[(int)t], ap = 1.0 / (1.0 + sn * sn);
	double st = t * LCM_TIMESTEP_SCALING, sd2 = LCM_SIGMA_DATA *
	    LCM_SIGMA_DATA;
	double c_skip = sd2 / (st * st + sd2);
	double c_out = st / sqrt(st * st + sd2);
	int last = i == r->plan.steps - 1;
	size_t j;

	if (call_model(r, r->x, t, i) != 0)
		return -1;
	if (!last)
		rng_normal(r->rng, r->aux, r->n);
	for (j = 0; j < r->n; j++) {
		double x = r->x[j];
		double den = c_out * pred_x0(r->s->prediction, a, x,
		    r->out[j]) + c_skip * x;

		if (r->p->mask != NULL)
			den = r->p->init[j] + r->p->mask[j] *
			    (den - r->p->init[j]);

		r->x[j] = (float)(last ? den : sqrt(ap) * den +
		    sqrt(1.0 - ap) * r->aux[j]);
	}
	return 0;
}

/* Turns the caller's unit noise in x into the starting state. */
static void
start_state(struct run *r, int start)
{
	const float *init = r->p->init;
	size_t j;

	if (r->p->sampler == SAMPLER_DDIM || r->p->sampler == SAMPLER_LCM) {
		double a = r->s->alphas_cumprod[(int)r->plan.t[start]];

		if (init == NULL)
			return;
		for (j = 0; j < r->n; j++)
			r->x[j] = (float)(sqrt(a) * init[j] +
			    sqrt(1.0 - a) * r->x[j]);
	} else {
		double s = r->plan.sigma[start];

		for (j = 0; j < r->n; j++)
			r->x[j] = (float)((init != NULL ? init[j] : 0.0) +
			    r->x[j] * s);
	}
}

int
sampler_run(const struct sampler_params *p, float *x, size_t n,
    sampler_model_fn fn, void *arg, struct kiln_rng *rng,
    sampler_progress_fn cb, void *cbarg, char *err, size_t errlen)
{
	struct run r;
	int start = 0, count = 0, i, rc = -1;

	memset(&r, 0, sizeof(r));
	if (sampler_check(p, err, errlen) != 0)
		return -1;
	if (n == 0 || x == NULL || fn == NULL || rng == NULL) {
		errf(err, errlen, "%s: missing", n == 0 || x == NULL ?
		    "latent" : fn == NULL ? "model" : "rng");
		return -1;
	}
	if (sampler_range(p, &start, &count) != 0)
		return -1;
	r.p = p;
	r.s = p->schedule;
	r.x = x;
	r.n = n;
	r.fn = fn;
	r.arg = arg;
	r.rng = rng;
	r.first = 1;
	r.err = err;
	r.errlen = errlen;
	if (sampler_plan_make(r.s, p->sampler, p->steps, p->spacing, &r.plan,
	    err, errlen) != 0)
		return -1;
	r.xin = malloc(n * sizeof(float));
	r.out = malloc(n * sizeof(float));
	r.den = malloc(n * sizeof(float));
	r.aux = malloc(n * sizeof(float));
	r.aux2 = malloc(n * sizeof(float));
	if (r.xin == NULL || r.out == NULL || r.den == NULL ||
	    r.aux == NULL || r.aux2 == NULL) {
		errf(err, errlen, "sampler: out of memory for %zu latent "
		    "values", n);
		goto out;
	}
	start_state(&r, start);
	for (i = start; i < r.plan.steps; i++) {
		int st;

		switch (p->sampler) {
		case SAMPLER_EULER:
			st = step_euler(&r, i);
			break;
		case SAMPLER_EULER_A:
			st = step_euler_a(&r, i);
			break;
		case SAMPLER_HEUN:
			st = step_heun(&r, i);
			break;
		case SAMPLER_DDIM:
			st = step_ddim(&r, i);
			break;
		case SAMPLER_DPMPP_2M:
		case SAMPLER_DPMPP_2M_KARRAS:
			st = step_dpmpp_2m(&r, i);
			break;
		case SAMPLER_LCM:
			st = step_lcm(&r, i);
			break;
		default:
			st = -1;
			errf(err, errlen, "sampler: unknown kind %d",
			    (int)p->sampler);
			break;
		}
		if (st != 0)
			goto out;
		/* A cancel after the last step changes nothing: the result
		 * is complete. */
		if (cb != NULL && cb(cbarg, i - start + 1, count, r.den) != 0 &&
		    i + 1 < r.plan.steps) {
			rc = SAMPLER_CANCELED;
			goto out;
		}
	}
	/* The kept area exactly as it came in (A1111 blends the samples
	 * once more at the end). */
	keep_unmasked(&r, r.x);
	rc = SAMPLER_DONE;
out:
	free(r.xin);
	free(r.out);
	free(r.den);
	free(r.aux);
	free(r.aux2);
	sampler_plan_free(&r.plan);
	return rc;
}
