/* jobs.h - the job queue in MariaDB: claiming with leases, progress,
 * finishing exactly once, crash recovery, cancellation, webhook events and
 * render-time statistics. Shared by kilnd and the web side. */
#ifndef KILN_JOBS_H
#define KILN_JOBS_H

#include <stddef.h>
#include <stdint.h>

#include "loras.h"

struct db;
struct json_object;

/*
 * Queues webhook event type ("job.succeeded", "image.published"...) about
 * job job_id with data (owned: put here) for the URL the job names or
 * else its owner's, signed with the owner's secret when kilnd delivers
 * it; a no-op when there is no URL. Returns 0, or -1 on a database or
 * memory error.
 */
int job_event_queue(struct db *db, unsigned long long job_id,
	const char *type, struct json_object *data);

/* The same for an event about no job ("team.member_added"): to user
 * user_id's webhook, signed with their secret; a no-op when they have
 * none. Returns 0, or -1. */
int user_event_queue(struct db *db, unsigned long long user_id,
	const char *type, struct json_object *data);

/* The same for a site event ("account.deleted") to the operators' url
 * ([webhooks] events_url), signed with the site's secret; a no-op when
 * url is empty. Returns 0, or -1. */
int site_event_queue(struct db *db, const char *url, const char *type,
	struct json_object *data);

/* The job states, in the order of the jobs.status ENUM. */
#define JOB_NSTATUSES 5
extern const char *const job_statuses[JOB_NSTATUSES];

/* 1 when s names a job state. */
int job_status_valid(const char *s);

/* A claimed job: what the daemon needs to render it. */
struct job {
	unsigned long long id;
	unsigned long long user_id;	/* 0: no owner (an operator's job) */
	int attempt, max_attempts;
	char *prompt, *negative, *model, *sampler;
	int width, height, steps, batch;
	double cfg;
	uint64_t seed;
	/* The LoRAs to apply, in order (the prompt's tags included: the
	 * prompt is as typed); nloras -1 when the stored list does not read,
	 * which the daemon fails the job for rather than render without. */
	struct job_lora loras[JOB_LORAS_MAX];
	int nloras;
	/* The hires fix (hires_scale 0: none): the second pass's strength,
	 * steps (0: steps) and upscaler ("latent", "latent-nearest",
	 * "lanczos" or an upscaler's name in [paths] upscalers). */
	double hires_scale, hires_strength;
	int hires_steps;
	char *hires_upscaler;
	/* Image inputs (job_inputs): the storage keys of the init image,
	 * mask and ControlNet image (NULL: none), with their sizes. */
	char *init_key, *mask_key, *control_key;
	int init_w, init_h;
	/* img2img (denoising 0: none) and A1111's resize_mode. */
	double denoising;
	int resize_mode;
	/* Inpainting, with a mask or an outpaint (inpaint 0: neither): as
	 * struct job_spec's. */
	int inpaint, mask_blur, inpainting_fill, full_res, full_res_pad;
	int mask_invert;
	int outpaint[4];		/* left, right, up, down */
	/* One ControlNet (cn_model NULL: none). */
	char *cn_model, *cn_pre;
	double cn_weight, cn_start, cn_end, cn_low, cn_high;
	/* An upscale-only job (upscale 1: kind 'upscale'): the init image
	 * made larger by upscale_by with upscaler ("lanczos" or a model of
	 * [paths] upscalers), centred on width x height; nothing else of
	 * the job is used. */
	int upscale;
	char *upscaler;
	double upscale_by;
};

/* A job's steps in all, as the engine reports its progress: each image's
 * steps (an img2img job's int(steps x denoising_strength)) and, with the
 * hires fix, the second pass's int(hires steps x strength)
 * (sampler_range), times the batch. */
#define JOB_STEPS_TOTAL_SQL "(FLOOR(steps * COALESCE(denoising_strength," \
	" 1)) + COALESCE(FLOOR(COALESCE(NULLIF(" \
	"hires_steps, 0), steps) * hires_strength), 0)) * batch_count"

/* Frees the strings and zeroes j; accepts NULL. */
void job_free(struct job *j);

/* Who holds a job: the lease is (daemon, attempt); every write a daemon
 * makes to a running job is conditional on it, so a daemon that lost its
 * lease (it stalled, another daemon reclaimed the job) changes nothing. */
struct job_lease {
	const char *daemon;
	unsigned long long id;
	int attempt;
};

/*
 * Claims the next queued job, highest priority first, then the user
 * served longest ago (round-robin between users), then oldest, with
 * SELECT ... FOR UPDATE SKIP LOCKED so concurrent daemons never take the
 * same one: it becomes running, claimed by daemon, leased for lease_s
 * seconds, attempt + 1. Returns 1 with *j filled (free with job_free), 0
 * when nothing is queued, -1 on a database error.
 */
int job_claim(struct db *db, const char *daemon, long lease_s,
    struct job *j);

/* Extends the lease by lease_s from now. Returns 1 while the job is still
 * ours and running, 0 when the lease was lost, -1 on a database error. */
int job_renew(struct db *db, const struct job_lease *l, long lease_s);

/* Records progress (step of steps over the whole batch, eta seconds; a
 * preview path or NULL to keep the old one). Returns 1 to go on, 2 when a
 * cancel was requested, 0 when the lease was lost, -1 on a database
 * error. */
int job_progress(struct db *db, const struct job_lease *l, int step,
    int steps, double eta_s, const char *preview);

/* One finished image of a job. */
struct job_image {
	int idx;
	uint64_t seed;
	const char *path;	/* relative to the artifacts directory */
	const char *url;	/* absolute, where the API serves it (webhook) */
	int width, height;
};

/*
 * Marks the job succeeded with its images, in one transaction that also
 * updates the render statistics of (model, size, steps, batch) unless the
 * run was cold (it compiled kernels or was a model's first render), and
 * queues the job.succeeded webhook: render_s is the whole job's render
 * time. *anomaly is set when the time per image exceeded mean + 3 sigma
 * of at least 10 earlier runs. Returns 1 when committed, 0 when the lease
 * was lost (nothing written: the caller removes its files), -1 on a
 * database error (rolled back).
 */
int job_succeed(struct db *db, const struct job_lease *l,
    const struct job *j, const struct job_image *img, int n,
    double render_s, int cold, int *anomaly);

/* Marks the job failed with reason (a permanent failure: a missing model,
 * parameters the model rejects) and queues job.failed. Returns as
 * job_succeed. */
int job_fail(struct db *db, const struct job_lease *l, const char *reason);

/* Marks the job canceled after a cancel request was honoured; queues
 * job.canceled. Returns as job_succeed. */
int job_canceled(struct db *db, const struct job_lease *l);

/* Puts the job back in the queue without counting the attempt (the daemon
 * is stopping, not failing). Returns as job_succeed. */
int job_requeue(struct db *db, const struct job_lease *l);

/* Marks the job started for webhooks (job.started) once it is claimed.
 * Returns 0, or -1 on a database error. */
int job_started(struct db *db, const struct job_lease *l);

/*
 * Crash recovery: every running job whose lease expired goes back to
 * queued, or to failed (with the reason, and job.failed) when it already
 * had max_attempts attempts; failed(arg, id) is then called for each job
 * failed so, after the commit (failed may be NULL). Returns how many jobs
 * it changed, or -1 on a database error.
 */
long job_reap(struct db *db,
	void (*failed)(void *arg, unsigned long long id), void *arg);

/*
 * A cancel request from the maker or, for a team's job, an owner of the
 * team (user_id; 0 for an admin, who may cancel any job; teams.h): a
 * queued job is canceled at once, a running one gets
 * cancel_requested, seen by its daemon before the next sampler step.
 * Returns 1 when done or requested, 0 when there is no such job of that
 * user or it already finished, -1 on a database error.
 */
int job_cancel(struct db *db, unsigned long long id,
    unsigned long long user_id);

/*
 * Job-time histograms for /metrics (table job_histograms): "queue_wait"
 * (created to first claim) and "render" (a finished job's render time),
 * in seconds. JOB_HIST_BOUNDS are the upper bounds of the finite buckets,
 * chosen for renders of a second to ten minutes.
 */
#define JOB_HIST_N 11
extern const double job_hist_bounds[JOB_HIST_N];

/* Counts seconds in metric's histogram. Returns 0 or -1. */
int job_hist_observe(struct db *db, const char *metric, double seconds);

/* Welford's online mean and variance. */
struct welford {
	long long n;
	double mean, m2;
};

/* Adds x. */
void welford_add(struct welford *w, double x);

/* The sample standard deviation (0 below two values). */
double welford_sd(const struct welford *w);

/* 1 when x is an anomaly against w (before x is added): at least 10 runs
 * and x > mean + 3 sd. */
int welford_anomaly(const struct welford *w, double x);

#endif
