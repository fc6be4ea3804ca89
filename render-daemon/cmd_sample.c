/* cmd_sample.c - kiln-render sample-test: runs a sampler against a
 * synthetic analytic "model" so tests can compare every sampler, schedule
 * and seed with the Python reference (tools/reference/samplers.py). */
#include "commands.h"
#include "rng.h"
#include "sampler.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DIMS 8
#define EXIT_CANCELED 3

struct opts {
	const char *sampler, *schedule, *prediction, *spacing;
	const char *init, *out, *trace, *shape, *noise;
	const char *steps, *seed, *strength, *cancel_at;
};

/* What the callbacks see. */
struct synth {
	size_t n;
	FILE *trace;
	long cancel_at;		/* 0: never */
	int write_failed;
};

static int
usage(void)
{
	fprintf(stderr,
	    "usage: kiln-render sample-test --sampler NAME --steps N --seed S "
	    "--shape 1x4x8x8 --out FILE\n"
	    "       [--schedule scaled_linear|linear] [--prediction eps|v]\n"
	    "       [--spacing leading|trailing|linspace] [--strength F "
	    "--init FILE]\n"
	    "       [--trace FILE] [--cancel-at K] [--dump-noise FILE]\n"
	    "The model is eps_or_v(x, t)[i] = 0.1 x[i] cos(t/300) + "
	    "0.05 sin(t/100 + 0.01 i).\n"
	    "FILEs hold raw little-endian float32. Exit status 3: canceled.\n"
	    "samplers: euler euler_a heun ddim dpmpp_2m dpmpp_2m_karras "
	    "lcm\n");
	return 2;
}

/* The synthetic model: smooth in x and t, different per element, so a
 * wrong scaling, timestep or step order shows. */
static int
synth_model(void *arg, const float *x_in, float t, float *out)
{
	struct synth *sy = arg;
	double tt = t, c = cos(tt / 300.0);
	size_t i;

	for (i = 0; i < sy->n; i++)
		out[i] = (float)(0.1 * x_in[i] * c +
		    0.05 * sin(tt / 100.0 + 0.01 * (double)i));
	if (sy->trace != NULL && fprintf(sy->trace, "call %.9g\n", tt) < 0)
		sy->write_failed = 1;
	return 0;
}

static int
synth_progress(void *arg, int step, int steps, const float *denoised)
{
	struct synth *sy = arg;

	(void)denoised;
	if (sy->trace != NULL &&
	    fprintf(sy->trace, "progress %d %d\n", step, steps) < 0)
		sy->write_failed = 1;
	return sy->cancel_at > 0 && step >= sy->cancel_at;
}

static int
parse_shape(const char *s, size_t *n)
{
	size_t total = 1;
	int dims = 0;

	while (*s != '\0') {
		char *end;
		long long v;

		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno != 0 || end == s || v <= 0 || v > 1 << 20 ||
		    ++dims > MAX_DIMS)
			return -1;
		total *= (size_t)v;
		if (total > (size_t)1 << 28)
			return -1;
		s = end;
		if (*s == 'x')
			s++;
		else if (*s != '\0')
			return -1;
	}
	*n = total;
	return dims > 0 ? 0 : -1;
}

/* Reads exactly n floats from path. Returns 0, or -1 with a message. */
static int
read_floats(const char *path, float *dst, size_t n)
{
	FILE *f = fopen(path, "rb");
	int rc = -1;

	if (f == NULL) {
		fprintf(stderr, "kiln-render sample-test: --init %s: %s\n",
		    path, strerror(errno));
		return -1;
	}
	if (fread(dst, sizeof(float), n, f) != n || fgetc(f) != EOF) {
		fprintf(stderr, "kiln-render sample-test: --init %s: want "
		    "exactly %zu float32 values\n", path, n);
		goto out;
	}
	rc = 0;
out:
	fclose(f);
	return rc;
}

static int
write_floats(const char *path, const float *src, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(src, sizeof(float), n, f) != n) {
		fprintf(stderr, "kiln-render sample-test: %s: %s\n",
		    path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return -1;
	}
	if (fclose(f) != 0) {
		fprintf(stderr, "kiln-render sample-test: %s: %s\n",
		    path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct {
		const char *name;
		size_t off;
	} table[] = {
		{ "--sampler", offsetof(struct opts, sampler) },
		{ "--schedule", offsetof(struct opts, schedule) },
		{ "--prediction", offsetof(struct opts, prediction) },
		{ "--spacing", offsetof(struct opts, spacing) },
		{ "--init", offsetof(struct opts, init) },
		{ "--out", offsetof(struct opts, out) },
		{ "--trace", offsetof(struct opts, trace) },
		{ "--shape", offsetof(struct opts, shape) },
		{ "--steps", offsetof(struct opts, steps) },
		{ "--seed", offsetof(struct opts, seed) },
		{ "--strength", offsetof(struct opts, strength) },
		{ "--cancel-at", offsetof(struct opts, cancel_at) },
		{ "--dump-noise", offsetof(struct opts, noise) },
	};
	int i;
	size_t k;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < argc; i++) {
		for (k = 0; k < ARRAY_LEN(table); k++)
			if (!strcmp(argv[i], table[k].name))
				break;
		if (k == ARRAY_LEN(table) || i + 1 >= argc) {
			fprintf(stderr, "kiln-render sample-test: %s '%s'\n",
			    k == ARRAY_LEN(table) ? "unknown option" :
			    "missing value for", argv[i]);
			return -1;
		}
		*(const char **)((char *)o + table[k].off) = argv[++i];
	}
	if (o->sampler == NULL || o->steps == NULL || o->seed == NULL ||
	    o->shape == NULL || o->out == NULL)
		return -1;
	return 0;
}

int
cmd_sample(int argc, char **argv)
{
	struct schedule_params sp;
	struct schedule sched = {0};
	struct sampler_params p;
	struct sampler_plan plan = {0};
	struct synth sy = {0};
	struct kiln_rng rng;
	enum sampler_kind kind;
	float *x = NULL, *init = NULL;
	unsigned long long seed;
	long steps = 0, cancel = 0;
	size_t n;
	char err[512], *end;
	struct opts o;
	int i, st, rc = 1;

	if (parse_opts(argc, argv, &o) != 0)
		return usage();
	schedule_params_default(&sp);
	if (sampler_lookup(o.sampler, &kind) != 0) {
		fprintf(stderr, "kiln-render sample-test: --sampler: unknown "
		    "sampler '%s'\n", o.sampler);
		return usage();
	}
	if (parse_long(o.steps, 1, 100000, &steps) != 0 ||
	    (o.cancel_at != NULL &&
	    parse_long(o.cancel_at, 1, 100000, &cancel) != 0)) {
		fprintf(stderr, "kiln-render sample-test: --steps and "
		    "--cancel-at take a positive integer\n");
		return 2;
	}
	errno = 0;
	seed = strtoull(o.seed, &end, 10);
	if (errno != 0 || end == o.seed || *end != '\0' || o.seed[0] == '-') {
		fprintf(stderr, "kiln-render sample-test: --seed: '%s' is not "
		    "an unsigned 64-bit integer\n", o.seed);
		return 2;
	}
	if (parse_shape(o.shape, &n) != 0) {
		fprintf(stderr, "kiln-render sample-test: --shape: '%s' is not "
		    "like 1x4x8x8\n", o.shape);
		return 2;
	}
	if (o.schedule != NULL && !strcmp(o.schedule, "linear")) {
		sp.beta_schedule = BETA_LINEAR;
	} else if (o.schedule != NULL && strcmp(o.schedule, "scaled_linear")) {
		fprintf(stderr, "kiln-render sample-test: --schedule: '%s' is "
		    "neither scaled_linear nor linear\n", o.schedule);
		return 2;
	}
	if (o.prediction != NULL && !strcmp(o.prediction, "v")) {
		sp.prediction = PRED_V;
	} else if (o.prediction != NULL && strcmp(o.prediction, "eps")) {
		fprintf(stderr, "kiln-render sample-test: --prediction: '%s' is "
		    "neither eps nor v\n", o.prediction);
		return 2;
	}
	if (schedule_init(&sched, &sp, err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render sample-test: %s\n", err);
		goto out;
	}
	sampler_params_default(&p, &sched, kind);
	p.steps = (int)steps;
	if (o.spacing != NULL &&
	    sampler_spacing_lookup(o.spacing, &p.spacing) != 0) {
		fprintf(stderr, "kiln-render sample-test: --spacing: unknown "
		    "spacing '%s'\n", o.spacing);
		goto out;
	}
	if (o.strength != NULL) {
		p.strength = strtod(o.strength, &end);
		if (end == o.strength || *end != '\0') {
			fprintf(stderr, "kiln-render sample-test: --strength: "
			    "'%s' is not a number\n", o.strength);
			goto out;
		}
	}
	x = malloc(n * sizeof(float));
	if (x == NULL) {
		fprintf(stderr, "kiln-render sample-test: out of memory\n");
		goto out;
	}
	if (o.init != NULL) {
		init = malloc(n * sizeof(float));
		if (init == NULL || read_floats(o.init, init, n) != 0)
			goto out;
		p.init = init;
	}
	if (sampler_check(&p, err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render sample-test: %s\n", err);
		goto out;
	}
	sy.n = n;
	sy.cancel_at = cancel;
	if (o.trace != NULL) {
		sy.trace = fopen(o.trace, "w");
		if (sy.trace == NULL) {
			fprintf(stderr, "kiln-render sample-test: --trace %s: "
			    "%s\n", o.trace, strerror(errno));
			goto out;
		}
		if (sampler_plan_make(&sched, kind, p.steps, p.spacing, &plan,
		    err, sizeof(err)) != 0) {
			fprintf(stderr, "kiln-render sample-test: %s\n", err);
			goto out;
		}
		for (i = 0; i < plan.steps; i++)
			if (fprintf(sy.trace, "plan %d %.17g %.17g %.17g\n", i,
			    plan.t[i], plan.sigma[i], plan.sigma_next[i]) < 0)
				sy.write_failed = 1;
	}
	rng_seed(&rng, (uint64_t)seed);
	rng_normal(&rng, x, n);
	/* The seed's unit noise as drawn, for the RNG's exactness test. */
	if (o.noise != NULL && write_floats(o.noise, x, n) != 0)
		goto out;
	st = sampler_run(&p, x, n, synth_model, &sy, &rng, synth_progress,
	    &sy, err, sizeof(err));
	if (st < 0) {
		fprintf(stderr, "kiln-render sample-test: %s\n", err);
		goto out;
	}
	if (sy.trace != NULL) {
		FILE *f = sy.trace;

		sy.trace = NULL;
		if (fclose(f) != 0)
			sy.write_failed = 1;
	}
	if (sy.write_failed) {
		fprintf(stderr, "kiln-render sample-test: --trace %s: cannot "
		    "write\n", o.trace);
		goto out;
	}
	if (st == SAMPLER_CANCELED) {
		fprintf(stderr, "kiln-render sample-test: canceled\n");
		rc = EXIT_CANCELED;
		goto out;
	}
	if (write_floats(o.out, x, n) != 0)
		goto out;
	rc = 0;
out:
	if (sy.trace != NULL)
		fclose(sy.trace);
	sampler_plan_free(&plan);
	schedule_free(&sched);
	free(init);
	free(x);
	return rc;
}
