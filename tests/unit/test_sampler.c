/* test_sampler.c - sampler names, parameter validation with messages that
 * name the parameter, the RNG's known answers, schedule anchors, and the
 * cancel / model-error paths of sampler_run. */
#include "rng.h"
#include "sampler.h"
#include "submit.h"
#include "tap.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static void
names_round_trip(void)
{
	static const char *const names[] = { "euler", "euler_a", "heun",
		"ddim", "dpmpp_2m", "dpmpp_2m_karras", "lcm" };
	enum sampler_kind k;
	enum sampler_spacing sp;
	int i;

	for (i = 0; i < SAMPLER__MAX; i++) {
		CHECK(sampler_lookup(names[i], &k) == 0);
		CHECK((int)k == i);
		CHECK_STR(sampler_name((enum sampler_kind)i), names[i]);
	}
	CHECK(sampler_lookup("Euler a", &k) == -1);
	CHECK(sampler_lookup("", &k) == -1);
	CHECK(sampler_lookup(NULL, &k) == -1);
	CHECK(sampler_name(SAMPLER__MAX) == NULL);
	CHECK(sampler_spacing_lookup("trailing", &sp) == 0 &&
	    sp == SPACING_TRAILING);
	CHECK(sampler_spacing_lookup("middle", &sp) == -1);
}

static void
philox_known_answers(void)
{
	/* Random123 kat_vectors for philox4x32_10. */
	static const uint32_t ctr[3][4] = {
		{ 0, 0, 0, 0 },
		{ 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff },
		{ 0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344 },
	};
	static const uint32_t key[3][2] = {
		{ 0, 0 }, { 0xffffffff, 0xffffffff },
		{ 0xa4093822, 0x299f31d0 },
	};
	static const uint32_t want[3][4] = {
		{ 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8 },
		{ 0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd },
		{ 0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1 },
	};
	uint32_t out[4];
	int i, j;

	for (i = 0; i < 3; i++) {
		rng_philox4x32_10(ctr[i], key[i], out);
		for (j = 0; j < 4; j++)
			CHECK(out[j] == want[i][j]);
	}
}

static void
normals_are_frozen(void)
{
	/* Seed 1's first normals (tools/reference/samplers.py). */
	static const float want[6] = { -0.1136802f, -0.45786965f,
		-0.28859565f, -0.43105248f, 0.9539093f, -0.51208633f };
	struct kiln_rng r;
	float a[6], b[6];
	int i;

	rng_seed(&r, 1);
	rng_normal(&r, a, 6);
	for (i = 0; i < 6; i++)
		CHECK(a[i] == want[i]);
	/* Split draws continue the same stream. */
	rng_seed(&r, 1);
	rng_normal(&r, b, 1);
	rng_normal(&r, b + 1, 2);
	rng_normal(&r, b + 3, 3);
	for (i = 0; i < 6; i++)
		CHECK(a[i] == b[i]);
	rng_seed(&r, 2);
	rng_normal(&r, b, 6);
	CHECK(a[0] != b[0]);
}

static void
schedule_anchors(void)
{
	struct schedule_params sp;
	struct schedule s;
	double sig[21];
	char err[256];

	schedule_params_default(&sp);
	CHECK(schedule_init(&s, &sp, err, sizeof(err)) == 0);
	CHECK(fabs(s.sigmas[999] - 14.6146412) < 1e-6);
	CHECK(fabs(s.sigmas[0] - 0.0291671582) < 1e-9);
	CHECK(fabs(schedule_sigma_to_t(&s, s.sigmas[400]) - 400.0) < 1e-9);
	CHECK(fabs(schedule_sigma_to_t(&s, schedule_t_to_sigma(&s, 123.25))
	    - 123.25) < 1e-9);
	CHECK(sampler_sigmas(&s, 20, 1, sig) == 0);
	CHECK(fabs(sig[0] - s.sigmas[999]) < 1e-12 &&
	    fabs(sig[19] - s.sigmas[0]) < 1e-12 && sig[20] == 0.0);
	CHECK(sampler_sigmas(&s, 0, 0, sig) == -1);
	schedule_free(&s);
	schedule_free(&s);	/* twice is harmless */

	sp.beta_start = 0.0;
	CHECK(schedule_init(&s, &sp, err, sizeof(err)) == -1);
	CHECK(strstr(err, "beta_start") != NULL);
	schedule_params_default(&sp);
	sp.num_train_timesteps = 1;
	CHECK(schedule_init(&s, &sp, err, sizeof(err)) == -1);
	CHECK(strstr(err, "num_train_timesteps") != NULL);
}

/* sampler_check must fail with a message containing want. */
static void
expect_invalid(const struct sampler_params *p, const char *want)
{
	char err[256] = "";

	CHECK(sampler_check(p, err, sizeof(err)) == -1);
	if (strstr(err, want) == NULL)
		printf("# message \"%s\" lacks \"%s\"\n", err, want);
	CHECK(strstr(err, want) != NULL);
}

static void
invalid_parameters(void)
{
	struct schedule_params sp;
	struct schedule s;
	struct sampler_params p;
	float init[4] = { 0 };
	int start, count;
	char err[256];

	schedule_params_default(&sp);
	CHECK(schedule_init(&s, &sp, err, sizeof(err)) == 0);
	sampler_params_default(&p, &s, SAMPLER_EULER);
	CHECK(sampler_check(&p, err, sizeof(err)) == 0);

	p.steps = 0;
	expect_invalid(&p, "steps: 0");
	p.steps = -3;
	expect_invalid(&p, "steps");
	p.steps = 1000;
	expect_invalid(&p, "steps");
	p.steps = 60;
	p.sampler = SAMPLER_LCM;
	expect_invalid(&p, "steps: LCM");
	p.sampler = SAMPLER_EULER;
	p.steps = 20;
	p.strength = 0.0;
	expect_invalid(&p, "strength");
	p.strength = 1.5;
	expect_invalid(&p, "strength");
	p.strength = -0.1;
	expect_invalid(&p, "strength");
	p.strength = NAN;
	expect_invalid(&p, "strength");
	p.strength = 0.5;
	expect_invalid(&p, "init");
	p.init = init;
	CHECK(sampler_check(&p, err, sizeof(err)) == 0);
	CHECK(sampler_range(&p, &start, &count) == 0);
	CHECK(start == 10 && count == 10);
	p.strength = 0.04;	/* int(20 * 0.04) = 0 steps */
	expect_invalid(&p, "strength");
	p.strength = 1.0;
	p.sampler = SAMPLER__MAX;
	expect_invalid(&p, "sampler");
	p.sampler = SAMPLER_EULER;
	p.schedule = NULL;
	expect_invalid(&p, "schedule");
	schedule_free(&s);
}

struct counter {
	int calls;
	int fail_at;
};

static int
toy_model(void *arg, const float *x, float t, float *out)
{
	struct counter *c = arg;

	(void)t;
	if (++c->calls == c->fail_at)
		return -1;
	out[0] = 0.1f * x[0];
	out[1] = -0.2f * x[1];
	return 0;
}

static int
cancel_at_two(void *arg, int step, int steps, const float *denoised)
{
	(void)arg;
	(void)steps;
	/* The denoised estimate comes with every step (for previews). */
	return step >= 2 && denoised != NULL;
}

static void
run_cancel_and_errors(void)
{
	struct schedule_params sp;
	struct schedule s;
	struct sampler_params p;
	struct kiln_rng rng;
	struct counter c = { 0, 0 };
	float x[2];
	char err[256] = "";

	schedule_params_default(&sp);
	CHECK(schedule_init(&s, &sp, err, sizeof(err)) == 0);
	sampler_params_default(&p, &s, SAMPLER_HEUN);
	p.steps = 8;
	rng_seed(&rng, 7);
	rng_normal(&rng, x, 2);
	CHECK(sampler_run(&p, x, 2, toy_model, &c, &rng, cancel_at_two, NULL,
	    err, sizeof(err)) == SAMPLER_CANCELED);
	CHECK(c.calls == 4);	/* Heun: two evaluations per step */

	c.calls = 0;
	c.fail_at = 3;
	p.sampler = SAMPLER_EULER;
	CHECK(sampler_run(&p, x, 2, toy_model, &c, &rng, NULL, NULL, err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "model") != NULL && strstr(err, "step 3") != NULL);

	p.steps = 0;
	CHECK(sampler_run(&p, x, 2, toy_model, &c, &rng, NULL, NULL, err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "steps") != NULL);
	p.steps = 4;
	CHECK(sampler_run(&p, x, 0, toy_model, &c, &rng, NULL, NULL, err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "latent") != NULL);

	c.calls = 0;
	c.fail_at = 0;
	CHECK(sampler_run(&p, x, 2, toy_model, &c, &rng, NULL, NULL, err,
	    sizeof(err)) == SAMPLER_DONE);
	CHECK(c.calls == 4 && isfinite(x[0]) && isfinite(x[1]));
	schedule_free(&s);
}

/* The web side validates sampler names without linking the engine; its
 * list must be the engine's, in order. */
static void
web_list_matches_engine(void)
{
	enum sampler_kind k;
	size_t i;

	CHECK(job_nsamplers == SAMPLER__MAX);
	for (i = 0; i < job_nsamplers && i < SAMPLER__MAX; i++) {
		CHECK_STR(job_samplers[i], sampler_name((enum sampler_kind)i));
		CHECK(sampler_lookup(job_samplers[i], &k) == 0 &&
			(size_t)k == i);
	}
}

int
main(void)
{
	RUN(names_round_trip);
	RUN(web_list_matches_engine);
	RUN(philox_known_answers);
	RUN(normals_are_frozen);
	RUN(schedule_anchors);
	RUN(invalid_parameters);
	RUN(run_cancel_and_errors);
	return tap_done();
}
