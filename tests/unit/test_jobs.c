/* test_jobs.c - the pure parts of the queue: Welford statistics and the
 * anomaly rule, webhook signatures (the Standard Webhooks test vector),
 * secrets and the retry backoff. */
#include "tap.h"
#include "jobs.h"
#include "webhook.h"

#include <math.h>
#include <sodium.h>
#include <string.h>

static void
welford_matches_two_pass(void)
{
	static const double x[] = { 1.5, 1.7, 1.4, 1.6, 1.55, 1.45, 1.62, 1.58,
		1.51, 1.49, 1.53, 9.0 };
	struct welford w = { 0, 0, 0 };
	double mean = 0, ss = 0;
	size_t i, n = sizeof(x) / sizeof(x[0]);

	for (i = 0; i < n; i++)
		mean += x[i];
	mean /= (double)n;
	for (i = 0; i < n; i++)
		ss += (x[i] - mean) * (x[i] - mean);
	for (i = 0; i < n; i++)
		welford_add(&w, x[i]);
	CHECK(w.n == (long long)n);
	CHECK(fabs(w.mean - mean) < 1e-12);
	CHECK(fabs(welford_sd(&w) - sqrt(ss / (double)(n - 1))) < 1e-12);
}

static void
anomalies_need_ten_runs_and_three_sigma(void)
{
	struct welford w = { 0, 0, 0 };
	int i;

	/* Ten runs of 1.0 +- 0.1: sd ~0.105, the bar ~1.32. */
	for (i = 0; i < 9; i++) {
		welford_add(&w, i % 2 ? 1.1 : 0.9);
		CHECK(!welford_anomaly(&w, 100.0));	/* under 10 runs */
	}
	welford_add(&w, 1.0);
	CHECK(welford_anomaly(&w, 100.0));
	CHECK(welford_anomaly(&w, w.mean + 3.01 * welford_sd(&w)));
	CHECK(!welford_anomaly(&w, w.mean + 2.99 * welford_sd(&w)));
	CHECK(!welford_anomaly(&w, 0.5));	/* fast is never one */
}

static void
signature_matches_the_standard_vector(void)
{
	/* From the Standard Webhooks specification's test suite (checked
	 * against Python's hmac module, not against this code). */
	const char *body = "{\"test\": 2432232314}";
	char sig[WEBHOOK_SIG_LEN];

	CHECK(webhook_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	    "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, strlen(body),
	    sig, sizeof(sig)) == 0);
	CHECK_STR(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	/* Any change to id, timestamp or body changes it. */
	CHECK(webhook_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	    "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, body, strlen(body),
	    sig, sizeof(sig)) == 0);
	CHECK(strcmp(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	    != 0);
	/* A secret that does not decode, or no room, is an error. */
	CHECK(webhook_sign("whsec_***", "m", 1, "", 0, sig, sizeof(sig)) ==
	    -1);
	CHECK(webhook_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "m", 1,
	    "", 0, sig, 10) == -1);
}

static void
secrets_are_fresh_base64(void)
{
	char a[WEBHOOK_SECRET_LEN], b[WEBHOOK_SECRET_LEN];
	unsigned char raw[64];
	size_t n = 0;

	CHECK(webhook_secret_new(a) == 0 && webhook_secret_new(b) == 0);
	CHECK(strncmp(a, "whsec_", 6) == 0 && strlen(a) == 38);
	CHECK(strcmp(a, b) != 0);
	CHECK(sodium_base642bin(raw, sizeof(raw), a + 6, strlen(a + 6), NULL,
	    &n, NULL, sodium_base64_VARIANT_ORIGINAL) == 0 && n == 24);
}

static void
backoff_doubles_up_to_an_hour(void)
{
	CHECK(webhook_backoff(10, 1) == 10);
	CHECK(webhook_backoff(10, 2) == 20);
	CHECK(webhook_backoff(10, 5) == 160);
	CHECK(webhook_backoff(10, 40) == 3600);
	CHECK(webhook_backoff(0, 1) == 1);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(welford_matches_two_pass);
	RUN(anomalies_need_ten_runs_and_three_sigma);
	RUN(signature_matches_the_standard_vector);
	RUN(secrets_are_fresh_base64);
	RUN(backoff_doubles_up_to_an_hour);
	return tap_done();
}
