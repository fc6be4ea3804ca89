/* capacity.c - kiln-capacity: many simulated render daemons against one
 * MariaDB, to measure what one database primary sustains (make
 * bench-capacity drives it through tools/bench/capacity.py).
 *
 * Each simulated daemon does what kilnd does with the queue, through the
 * same library calls (jobs.h, fleet.h, webhook.h), on connections of its
 * own: a main loop that claims a job (job_claim), marks it started,
 * "renders" it by sleeping, reporting progress after each step
 * (job_progress) and records the result (job_succeed with its images),
 * polling every [daemon] poll_ms when the queue gives nothing; and a
 * keeper that renews the lease (job_renew), beats the heartbeat
 * (fleet_heartbeat) and reaps expired leases (job_reap) as kilnd's keeper
 * does, and polls for webhooks every 250 ms as kilnd's courier does. A
 * few feeders keep the queue at a depth through job_insert, the web side's
 * insert, or the queue is filled once (--jobs) and run dry.
 *
 * Independently of the database, every daemon records each job it
 * claimed: (job, attempt, daemon, start, end, outcome). A job claimed
 * twice with no lease expiry between (the bench never lets a lease run
 * out) is a double run; two records of one job whose times overlap
 * rendered it concurrently. The records go to --log as TSV too.
 *
 * Writes jobs, users and daemons rows: run it against a throwaway
 * database only (--throwaway says you do). Prints one JSON object. */
#include "config.h"
#include "db.h"
#include "fleet.h"
#include "jobs.h"
#include "submit.h"
#include "util.h"
#include "webhook.h"

#include <curl/curl.h>
#include <errno.h>
#include <json-c/json.h>
#include <mysql.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* How a claimed job ended, in the independent record. */
enum outcome { OUT_SUCCEEDED, OUT_LOST, OUT_CANCELED, OUT_ERROR };
static const char *const outcome_names[] = { "succeeded", "lost",
	"canceled", "error" };

struct run_rec {
	unsigned long long job;
	int attempt, daemon;
	double t0, t1;
	enum outcome how;
};

/* A growable array of doubles (latencies, in ms). */
struct samples {
	double *v;
	size_t n, cap;
};

struct bench;

/* One simulated daemon. */
struct sim {
	struct bench *b;
	int idx;
	char name[64];
	struct fleet_member m;
	struct db *db, *kdb;	/* the main loop's and the keeper's */
	pthread_t main_t, keeper_t;
	/* Shared with the keeper, as kilnd's: the job held (0: none). */
	pthread_mutex_t mu;
	unsigned long long cur_id;
	int cur_attempt;
	atomic_int lease_lost;
	/* The main loop's figures (in the window where so named). */
	struct samples claim_ms, succeed_ms;
	long claims, claims_win, empty, empty_win, succeeded, succeeded_win;
	long empty_queued;	/* empty claims with jobs still queued */
	long lost, claim_err, claim_deadlock, succeed_err, succeed_deadlock;
	long progress, progress_err;
	struct run_rec *runs;
	size_t nruns, cap;
	/* The keeper's. */
	long beats, beats_win, beat_err, renews, renew_lost, reaped, reap_err;
	long courier_polls, courier_err;
	char last_err[256];
};

struct bench {
	struct kiln_config cfg;
	int n, users, steps, batch, until_done, courier;
	long render_ms, jitter_ms, depth, jobs;
	double warmup_s, seconds, heartbeat_s;
	const char *log_path;
	unsigned long long *uids;
	unsigned long long first_job;	/* ids from here are the bench's */
	double t_start, w0, w1;
	/* 0 run, 1 stop claiming (finish the job in hand), 2 stop all. */
	atomic_int phase;
	atomic_long inserted;
	atomic_int done;	/* main loops that ended */
	atomic_long feeder_err;
	struct sim *sims;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sleep_ms(double ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000) * 1e6);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void
samples_add(struct samples *s, double x)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
	}
	s->v[s->n++] = x;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The q-quantile of sorted v (nearest rank); 0 for none. */
static double
quantile(const double *v, size_t n, double q)
{
	size_t k;

	if (n == 0)
		return 0;
	k = (size_t)(q * (double)n + 0.999999);
	if (k < 1)
		k = 1;
	return v[(k > n ? n : k) - 1];
}

static int
in_window(const struct bench *b, double t)
{
	return t >= b->w0 && t < b->w1;
}

static void
record_run(struct sim *s, const struct job *j, double t0, enum outcome how)
{
	struct run_rec *r;

	if (s->nruns == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->runs = xreallocarray(s->runs, s->cap, sizeof(*s->runs));
	}
	r = &s->runs[s->nruns++];
	r->job = j->id;
	r->attempt = j->attempt;
	r->daemon = s->idx;
	r->t0 = t0 - s->b->t_start;
	r->t1 = now_s() - s->b->t_start;
	r->how = how;
}

static void
keep_err(struct sim *s, struct db *db)
{
	snprintf(s->last_err, sizeof(s->last_err), "%s", db_error(db));
}

/* ------------------------------------------------------------ keeper */

/* kilnd's keeper: every min(lease / 3, heartbeat interval) the lease of
 * the job held is renewed and the heartbeat beaten, then expired leases
 * reaped; in between, every 250 ms, the courier's webhook poll. */
static void *
keeper_main(void *arg)
{
	struct sim *s = arg;
	struct bench *b = s->b;
	struct webhook_policy pol;
	double every = (double)b->cfg.lease_seconds / 3, last = 0;

	if (every > b->heartbeat_s)
		every = b->heartbeat_s;
	memset(&pol, 0, sizeof(pol));
	pol.daemon = s->name;
	pol.timeout_s = b->cfg.webhook_timeout;
	pol.retry_base_s = b->cfg.webhook_retry_base;
	pol.max_attempts = (int)b->cfg.webhook_max_attempts;
	pol.allow = b->cfg.webhook_allow;
	/* Spread the daemons' beats over the interval, as daemons started
	 * at different times are. */
	sleep_ms(every * 1000 * s->idx / b->n);
	while (atomic_load(&b->phase) < 2) {
		double t = now_s();

		if (t - last >= every) {
			struct job_lease l = { s->name, 0, 0 };
			int st;

			last = t;
			pthread_mutex_lock(&s->mu);
			l.id = s->cur_id;
			l.attempt = s->cur_attempt;
			if (l.id != 0) {
				st = job_renew(s->kdb, &l,
				    b->cfg.lease_seconds);
				s->renews++;
				if (st == 0) {
					s->renew_lost++;
					atomic_store(&s->lease_lost, 1);
				}
			}
			st = fleet_heartbeat(s->kdb, &s->m, l.id ? "busy" :
			    "idle");
			if (st == 0)
				st = fleet_register(s->kdb, &s->m,
				    "idle") == 0 ? 1 : -1;
			pthread_mutex_unlock(&s->mu);
			if (st < 0) {
				s->beat_err++;
				keep_err(s, s->kdb);
			} else {
				s->beats++;
				if (in_window(b, now_s()))
					s->beats_win++;
			}
			{
				long n = job_reap(s->kdb, NULL, NULL);

				if (n < 0)
					s->reap_err++;
				else
					s->reaped += n;
			}
		}
		if (b->courier) {
			int st = webhook_deliver_one(s->kdb, &pol);

			s->courier_polls++;
			if (st < 0)
				s->courier_err++;
		}
		sleep_ms(250);
	}
	return NULL;
}

/* ------------------------------------------------------------ main loop */

/* The fake render: render_ms (+- jitter) in steps, progress after each,
 * stopping as kilnd's on_step does. Returns 1 done, 0 lease lost, 2
 * cancel requested. */
static int
fake_render(struct sim *s, const struct job *j, unsigned *seed)
{
	struct bench *b = s->b;
	struct job_lease l = { s->name, j->id, j->attempt };
	double ms = (double)b->render_ms, t0 = now_s();
	int k;

	if (b->jitter_ms > 0)
		ms += (double)((long)(rand_r(seed) % (unsigned)(2 * b->jitter_ms
		    + 1)) - b->jitter_ms);
	for (k = 1; k <= b->steps; k++) {
		int st;

		sleep_ms(t0 * 1000 + ms * k / b->steps - now_s() * 1000);
		st = job_progress(s->db, &l, k, b->steps, (now_s() - t0) /
		    k * (b->steps - k), NULL);
		s->progress++;
		if (st < 0) {
			s->progress_err++;
			keep_err(s, s->db);
		}
		if (st == 0 || atomic_load(&s->lease_lost))
			return 0;
		if (st == 2)
			return 2;
	}
	if (b->steps == 0)
		sleep_ms(ms);
	return 1;
}

/* Records the result as kilnd's deliver() does: the batch's images, under
 * mu so a renewal never lands after it. */
static int
succeed(struct sim *s, const struct job *j, double t0)
{
	struct job_lease l = { s->name, j->id, j->attempt };
	struct job_image img[BATCH_MAX];
	char path[BATCH_MAX][64], url[BATCH_MAX][96];
	int i, n = j->batch < BATCH_MAX ? j->batch : BATCH_MAX, st, anomaly;

	for (i = 0; i < n; i++) {
		snprintf(path[i], sizeof(path[i]), "jobs/%llu/%d-%d.png", j->id,
		    j->attempt, i);
		snprintf(url[i], sizeof(url[i]), "http://capacity.invalid/"
		    "api/v1/images/%llu-%d.png", j->id, i);
		img[i].idx = i;
		img[i].seed = j->seed + (uint64_t)i;
		img[i].path = path[i];
		img[i].url = url[i];
		img[i].width = j->width;
		img[i].height = j->height;
	}
	pthread_mutex_lock(&s->mu);
	st = job_succeed(s->db, &l, j, img, n, now_s() - t0, 0, &anomaly);
	s->cur_id = 0;
	pthread_mutex_unlock(&s->mu);
	return st;
}

/* 1 when a queued job no claim holds is there: one that the claim which
 * just found nothing should have taken. (A plain count would also see
 * the jobs other daemons are claiming at this moment, still queued
 * until they commit.) READ COMMITTED: no gap locks. */
static int
claimable(struct db *db)
{
	long id = 0;

	if (db_exec_text(db, "SET TRANSACTION ISOLATION LEVEL READ"
	    " COMMITTED") != 0 || db_exec_text(db, "START TRANSACTION") != 0)
		return 0;
	if (db_query_long(db, "SELECT id FROM jobs WHERE status = 'queued'"
	    " LIMIT 1 FOR UPDATE SKIP LOCKED", NULL, 0, &id) != 0)
		id = 0;
	db_rollback(db);
	return id > 0;
}

static void *
sim_main(void *arg)
{
	struct sim *s = arg;
	struct bench *b = s->b;
	unsigned seed = (unsigned)s->idx * 2654435761u + 1;

	while (atomic_load(&b->phase) == 0) {
		struct job j;
		double t0 = now_s(), t1;
		int st = job_claim(s->db, s->name, b->cfg.lease_seconds, &j);

		t1 = now_s();
		if (st < 0) {
			s->claim_err++;
			if (db_deadlocked(s->db))
				s->claim_deadlock++;
			keep_err(s, s->db);
			/* kilnd waits 2 s after a failed claim. */
			sleep_ms(2000);
			continue;
		}
		if (st == 0) {
			s->empty++;
			if (in_window(b, t1))
				s->empty_win++;
			if (b->until_done) {
				/* The queue is dry when nothing is queued
				 * or running any more (a running job could
				 * still come back through the reaper); a
				 * job still queued was a claim that should
				 * have found it. */
				long left = 0;

				if (claimable(s->db))
					s->empty_queued++;
				if (db_query_long(s->db, "SELECT COUNT(*) FROM"
				    " jobs WHERE status IN ('queued',"
				    " 'running')", NULL, 0, &left) == 0 &&
				    left == 0)
					break;
			} else {
				/* The feeder keeps jobs queued. */
				s->empty_queued++;
			}
			sleep_ms((double)b->cfg.poll_ms);
			continue;
		}
		s->claims++;
		samples_add(&s->claim_ms, (t1 - t0) * 1000);
		if (in_window(b, t1))
			s->claims_win++;
		atomic_store(&s->lease_lost, 0);
		pthread_mutex_lock(&s->mu);
		s->cur_id = j.id;
		s->cur_attempt = j.attempt;
		pthread_mutex_unlock(&s->mu);
		{
			struct job_lease l = { s->name, j.id, j.attempt };

			if (job_started(s->db, &l) != 0)
				keep_err(s, s->db);
		}
		st = fake_render(s, &j, &seed);
		if (st == 1) {
			double a = now_s();

			st = succeed(s, &j, t0);
			samples_add(&s->succeed_ms, (now_s() - a) * 1000);
			if (st == 1) {
				s->succeeded++;
				if (in_window(b, now_s()))
					s->succeeded_win++;
				record_run(s, &j, t0, OUT_SUCCEEDED);
			} else if (st == 0) {
				s->lost++;
				record_run(s, &j, t0, OUT_LOST);
			} else {
				/* kilnd leaves the job to its lease's
				 * expiry: the reaper requeues it. */
				s->succeed_err++;
				if (db_deadlocked(s->db))
					s->succeed_deadlock++;
				keep_err(s, s->db);
				record_run(s, &j, t0, OUT_ERROR);
			}
		} else {
			struct job_lease l = { s->name, j.id, j.attempt };

			pthread_mutex_lock(&s->mu);
			if (st == 2)
				job_canceled(s->db, &l);
			s->cur_id = 0;
			pthread_mutex_unlock(&s->mu);
			if (st == 0)
				s->lost++;
			record_run(s, &j, t0, st == 2 ? OUT_CANCELED :
			    OUT_LOST);
		}
		job_free(&j);
	}
	atomic_fetch_add(&b->done, 1);
	return NULL;
}

/* ------------------------------------------------------------ feeder */

/* Queues count jobs through job_insert in one transaction, round-robin
 * over the bench's users. */
static int
insert_jobs(struct bench *b, struct db *db, long count)
{
	struct job_spec sp;
	long i;

	memset(&sp, 0, sizeof(sp));
	sp.prompt = (char *)"a capacity bench job";
	sp.negative = (char *)"";
	sp.model = (char *)"kiln-micro";
	sp.sampler = (char *)"dpmpp_2m";
	sp.width = 512;
	sp.height = 512;
	sp.steps = b->steps > 0 ? b->steps : 20;
	sp.batch = b->batch;
	sp.cfg = 7;
	if (db_exec_text(db, "START TRANSACTION") != 0)
		return -1;
	for (i = 0; i < count; i++) {
		long k = atomic_fetch_add(&b->inserted, 1);
		unsigned long long id;

		sp.seed = (unsigned long long)k;
		if (job_insert(db, b->uids[k % b->users], 0, 1, &sp,
		    &id) != 0) {
			db_rollback(db);
			atomic_fetch_sub(&b->inserted, i + 1);
			return -1;
		}
	}
	if (db_exec_text(db, "COMMIT") != 0) {
		db_rollback(db);
		atomic_fetch_sub(&b->inserted, count);
		return -1;
	}
	return 0;
}

/* Keeps depth jobs queued until the run stops, FEED_BATCH at a time: a
 * larger transaction of inserts is seen by no claim until it commits. */
#define FEED_BATCH 32
#define FEEDERS 4

static void *
feeder_main(void *arg)
{
	struct bench *b = arg;
	struct db *db = db_new(&b->cfg);

	if (db_connect(db, 0) != 0) {
		fprintf(stderr, "kiln-capacity: feeder: %s\n", db_error(db));
		b->feeder_err++;
		db_free(db);
		return NULL;
	}
	while (atomic_load(&b->phase) == 0) {
		long queued = 0, want;

		if (db_query_long(db, "SELECT COUNT(*) FROM jobs WHERE status"
		    " = 'queued'", NULL, 0, &queued) != 0) {
			b->feeder_err++;
			sleep_ms(200);
			continue;
		}
		want = b->depth - queued;
		if (want <= 0) {
			sleep_ms(5);
			continue;
		}
		if (insert_jobs(b, db, want < FEED_BATCH ? want :
		    FEED_BATCH) != 0) {
			b->feeder_err++;
			fprintf(stderr, "kiln-capacity: feeder: %s\n",
			    db_error(db));
			sleep_ms(200);
		}
	}
	db_free(db);
	return NULL;
}

/* ------------------------------------------------------------ setup */

static int
make_users(struct bench *b, struct db *db)
{
	int i;

	b->uids = xcalloc((size_t)b->users, sizeof(*b->uids));
	for (i = 0; i < b->users; i++) {
		char name[32];
		struct db_param p[] = { DB_STR(name) };
		long id = 0;

		snprintf(name, sizeof(name), "capacity-%d", i);
		if (db_exec(db, "INSERT IGNORE INTO users (username,"
		    " password_hash) VALUES (?, '!')", p, 1, NULL, NULL) != 0 ||
		    db_query_long(db, "SELECT id FROM users WHERE username = ?",
		    p, 1, &id) != 0)
			return -1;
		b->uids[i] = (unsigned long long)id;
	}
	return 0;
}

static void
cpu_model(char *out, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];

	snprintf(out, len, "unknown");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
			char *v = strchr(line, ':') + 1;

			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			snprintf(out, len, "%s", v);
			break;
		}
	fclose(f);
}

/* ------------------------------------------------------------ report */

/* The independent record's verdict: jobs with more than one claim, and
 * of those the ones whose runs overlapped in time. */
static void
check_runs(struct bench *b, long *twice, long *overlap, long *records,
    FILE *log)
{
	struct run_rec *all;
	size_t n = 0, i, k;
	int d;

	for (d = 0; d < b->n; d++)
		n += b->sims[d].nruns;
	all = xcalloc(n ? n : 1, sizeof(*all));
	for (d = 0, k = 0; d < b->n; d++) {
		memcpy(all + k, b->sims[d].runs, b->sims[d].nruns *
		    sizeof(*all));
		k += b->sims[d].nruns;
	}
	*records = (long)n;
	*twice = *overlap = 0;
	if (log != NULL) {
		fprintf(log, "job\tattempt\tdaemon\tstart_s\tend_s\toutcome\n");
		for (i = 0; i < n; i++)
			fprintf(log, "%llu\t%d\tsim-%d\t%.6f\t%.6f\t%s\n",
			    all[i].job, all[i].attempt, all[i].daemon,
			    all[i].t0, all[i].t1, outcome_names[all[i].how]);
	}
	/* By job, then start. */
	for (i = 1; i < n; i++) {
		struct run_rec x = all[i];

		for (k = i; k > 0 && (all[k - 1].job > x.job ||
		    (all[k - 1].job == x.job && all[k - 1].t0 > x.t0)); k--)
			all[k] = all[k - 1];
		all[k] = x;
	}
	for (i = 0; i < n; i = k) {
		int ov = 0;

		for (k = i + 1; k < n && all[k].job == all[i].job; k++)
			if (all[k].t0 < all[k - 1].t1)
				ov = 1;
		if (k - i > 1)
			(*twice)++;
		*overlap += ov;
	}
	free(all);
}

static json_object *
lat_json(struct samples *s)
{
	json_object *o = json_object_new_object();

	qsort(s->v, s->n, sizeof(*s->v), cmp_double);
	json_object_object_add(o, "n", json_object_new_int64((int64_t)s->n));
	json_object_object_add(o, "p50_ms", json_object_new_double(
	    quantile(s->v, s->n, 0.50)));
	json_object_object_add(o, "p99_ms", json_object_new_double(
	    quantile(s->v, s->n, 0.99)));
	json_object_object_add(o, "max_ms", json_object_new_double(
	    s->n ? s->v[s->n - 1] : 0));
	return o;
}

/* The report's counts (main: kind[] and v[] list them in one order). */
#define NCOUNTS 23

#define ADD_INT(o, k, v) json_object_object_add((o), (k), \
	json_object_new_int64((int64_t)(v)))
#define ADD_DBL(o, k, v) json_object_object_add((o), (k), \
	json_object_new_double(v))

/* What the database says of the bench's jobs, next to the bench's own
 * counts. */
static json_object *
db_counts(struct bench *b, struct db *db)
{
	json_object *o = json_object_new_object();
	struct db_param p[] = { DB_INT(b->first_job) };
	long v = 0;
	static const struct {
		const char *key, *sql;
	} q[] = {
		{ "succeeded", "SELECT COUNT(*) FROM jobs WHERE id >= ? AND"
		    " status = 'succeeded'" },
		{ "running", "SELECT COUNT(*) FROM jobs WHERE id >= ? AND"
		    " status = 'running'" },
		{ "queued", "SELECT COUNT(*) FROM jobs WHERE id >= ? AND"
		    " status = 'queued'" },
		{ "failed", "SELECT COUNT(*) FROM jobs WHERE id >= ? AND"
		    " status IN ('failed', 'canceled')" },
		{ "attempts", "SELECT COALESCE(SUM(attempt), 0) FROM jobs"
		    " WHERE id >= ?" },
		{ "retried", "SELECT COUNT(*) FROM jobs WHERE id >= ? AND"
		    " attempt > 1" },
		{ "images", "SELECT COUNT(*) FROM job_images WHERE"
		    " job_id >= ?" },
	};
	size_t i;

	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		v = -1;
		if (db_query_long(db, q[i].sql, p, 1, &v) != 0)
			v = -1;
		ADD_INT(o, q[i].key, v);
	}
	return o;
}

/* InnoDB's row lock figures (cumulative; the caller takes differences). */
static void
innodb_locks(struct db *db, long *waits, long *time_ms, long *deadlocks)
{
	*waits = *time_ms = *deadlocks = -1;
	db_query_long(db, "SELECT VARIABLE_VALUE FROM"
	    " information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME ="
	    " 'INNODB_ROW_LOCK_WAITS'", NULL, 0, waits);
	db_query_long(db, "SELECT VARIABLE_VALUE FROM"
	    " information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME ="
	    " 'INNODB_ROW_LOCK_TIME'", NULL, 0, time_ms);
	db_query_long(db, "SELECT VARIABLE_VALUE FROM"
	    " information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME ="
	    " 'INNODB_DEADLOCKS'", NULL, 0, deadlocks);
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: kiln-capacity -c kiln.conf --throwaway [--daemons N]"
	    " [--seconds S]\n"
	    "  [--warmup S] [--render-ms MS] [--jitter-ms MS] [--steps N]"
	    " [--batch N]\n"
	    "  [--users N] [--depth N | --jobs N] [--heartbeat S]"
	    " [--no-courier] [--log FILE]\n"
	    "Runs N simulated render daemons against the database of"
	    " kiln.conf, which it\nfills with jobs: a throwaway one only."
	    " Prints a JSON report.\n");
}

static long
num_arg(const char *s, const char *name, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < lo || v > hi) {
		fprintf(stderr, "kiln-capacity: %s: want %ld..%ld, got "
		    "\"%s\"\n", name, lo, hi, s);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	struct bench b;
	struct db *db = NULL;
	const char *conf = NULL;
	char err[1024], cpu[256], *version = NULL;
	pthread_t feeder[FEEDERS];
	int i, throwaway = 0, feeders = 0, started = 0, rc = 1;
	long lw0 = 0, lt0 = 0, ld0 = 0, lw1 = 0, lt1 = 0, ld1 = 0;
	long twice = 0, overlap = 0, records = 0;
	FILE *log = NULL;
	json_object *o = NULL;

	memset(&b, 0, sizeof(b));
	b.n = 16;
	b.seconds = 10;
	b.warmup_s = 2;
	b.render_ms = 100;
	b.steps = 20;
	b.batch = 1;
	b.users = 100;
	b.depth = -1;
	b.courier = 1;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--throwaway"))
			throwaway = 1;
		else if (!strcmp(a, "--no-courier"))
			b.courier = 0;
		else if (v == NULL) {
			usage(stderr);
			return 2;
		} else if (!strcmp(a, "-c"))
			conf = v, i++;
		else if (!strcmp(a, "--daemons"))
			b.n = (int)num_arg(v, a, 1, 4096), i++;
		else if (!strcmp(a, "--seconds"))
			b.seconds = (double)num_arg(v, a, 1, 3600), i++;
		else if (!strcmp(a, "--warmup"))
			b.warmup_s = (double)num_arg(v, a, 0, 600), i++;
		else if (!strcmp(a, "--render-ms"))
			b.render_ms = num_arg(v, a, 0, 600000), i++;
		else if (!strcmp(a, "--jitter-ms"))
			b.jitter_ms = num_arg(v, a, 0, 600000), i++;
		else if (!strcmp(a, "--steps"))
			b.steps = (int)num_arg(v, a, 0, 150), i++;
		else if (!strcmp(a, "--batch"))
			b.batch = (int)num_arg(v, a, 1, BATCH_MAX), i++;
		else if (!strcmp(a, "--users"))
			b.users = (int)num_arg(v, a, 1, 100000), i++;
		else if (!strcmp(a, "--depth"))
			b.depth = num_arg(v, a, 1, 10000000), i++;
		else if (!strcmp(a, "--jobs"))
			b.jobs = num_arg(v, a, 1, 10000000), i++;
		else if (!strcmp(a, "--heartbeat"))
			b.heartbeat_s = (double)num_arg(v, a, 1, 3600), i++;
		else if (!strcmp(a, "--log"))
			b.log_path = v, i++;
		else {
			usage(stderr);
			return 2;
		}
	}
	if (conf == NULL || !throwaway) {
		usage(stderr);
		fprintf(stderr, "kiln-capacity: -c and --throwaway are "
		    "required\n");
		return 2;
	}
	if (b.jitter_ms > b.render_ms)
		b.jitter_ms = b.render_ms;
	b.until_done = b.jobs > 0;
	if (b.depth < 0)
		b.depth = 4L * b.n;
	if (config_load(&b.cfg, conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-capacity: %s\n", err);
		return 1;
	}
	if (b.heartbeat_s <= 0)
		b.heartbeat_s = (double)b.cfg.heartbeat_interval;
	/* Before any thread: neither is safe to start from several. */
	if (sodium_init() < 0 || mysql_library_init(0, NULL, NULL) != 0 ||
	    curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		fprintf(stderr, "kiln-capacity: cannot initialise libraries\n");
		goto out;
	}
	cpu_model(cpu, sizeof(cpu));
	db = db_new(&b.cfg);
	if (db_connect(db, 0) != 0 || make_users(&b, db) != 0 ||
	    db_query_string(db, "SELECT VERSION()", NULL, 0, &version) != 0) {
		fprintf(stderr, "kiln-capacity: %s\n", db_error(db));
		goto out;
	}
	/* Jobs an earlier run left queued or running would be claimed
	 * in this one's window but are not in its counts. */
	if (db_exec(db, "UPDATE jobs SET status = 'canceled', claimed_by ="
	    " NULL, lease_until = NULL WHERE status IN ('queued', 'running')"
	    " AND user_id IN (SELECT id FROM users WHERE username LIKE"
	    " 'capacity-%')", NULL, 0, NULL, NULL) != 0) {
		fprintf(stderr, "kiln-capacity: %s\n", db_error(db));
		goto out;
	}
	{
		long next = 0;

		if (db_query_long(db, "SELECT COALESCE(MAX(id), 0) + 1 FROM"
		    " jobs", NULL, 0, &next) != 0) {
			fprintf(stderr, "kiln-capacity: %s\n", db_error(db));
			goto out;
		}
		b.first_job = (unsigned long long)next;
	}
	/* The queue full before the clock starts; the feeders keep it
	 * so. */
	if (insert_jobs(&b, db, b.until_done ? b.jobs : b.depth) != 0) {
		fprintf(stderr, "kiln-capacity: queueing: %s\n", db_error(db));
		goto out;
	}
	b.sims = xcalloc((size_t)b.n, sizeof(*b.sims));
	for (i = 0; i < b.n; i++) {
		struct sim *s = &b.sims[i];

		s->b = &b;
		s->idx = i;
		snprintf(s->name, sizeof(s->name), "sim-%d", i);
		s->m.name = s->name;
		s->m.host = "capacity-bench";
		s->m.version = KILN_VERSION;
		s->m.devices = "simulated";
		s->m.pid = (long)getpid();
		pthread_mutex_init(&s->mu, NULL);
		s->db = db_new(&b.cfg);
		s->kdb = db_new(&b.cfg);
		if (db_connect(s->db, 0) != 0 || db_connect(s->kdb, 0) != 0 ||
		    fleet_register(s->kdb, &s->m, "idle") != 0) {
			fprintf(stderr, "kiln-capacity: daemon %d of %d: "
			    "%s%s\n", i + 1, b.n, db_error(s->db),
			    db_error(s->kdb));
			b.n = i + 1;
			goto stop;
		}
	}
	innodb_locks(db, &lw0, &lt0, &ld0);
	b.t_start = now_s();
	b.w0 = b.t_start + b.warmup_s;
	b.w1 = b.w0 + b.seconds;
	for (i = 0; !b.until_done && i < FEEDERS; i++) {
		if (pthread_create(&feeder[i], NULL, feeder_main, &b) != 0)
			goto stop;
		feeders++;
	}
	for (i = 0; i < b.n; i++) {
		if (pthread_create(&b.sims[i].keeper_t, NULL, keeper_main,
		    &b.sims[i]) != 0)
			goto stop;
		if (pthread_create(&b.sims[i].main_t, NULL, sim_main,
		    &b.sims[i]) != 0) {
			atomic_store(&b.phase, 2);
			pthread_join(b.sims[i].keeper_t, NULL);
			goto stop;
		}
		started = i + 1;
	}
	/* With --jobs, until every daemon found the queue dry or --seconds
	 * are up; else for --seconds after the warm-up. */
	while (now_s() < b.w1 && (!b.until_done ||
	    atomic_load(&b.done) < b.n))
		sleep_ms(20);
	if (b.until_done)
		b.w1 = now_s();
	rc = 0;
stop:
	/* Stop claiming; each daemon records the job in hand first, so every
	 * claimed job ends succeeded. */
	atomic_store(&b.phase, 1);
	for (i = 0; i < feeders; i++)
		pthread_join(feeder[i], NULL);
	for (i = 0; i < started; i++)
		pthread_join(b.sims[i].main_t, NULL);
	atomic_store(&b.phase, 2);
	for (i = 0; i < started; i++)
		pthread_join(b.sims[i].keeper_t, NULL);
	if (rc != 0)
		goto out;
	innodb_locks(db, &lw1, &lt1, &ld1);
	if (b.log_path != NULL && (log = fopen(b.log_path, "w")) == NULL) {
		fprintf(stderr, "kiln-capacity: %s: %s\n", b.log_path,
		    strerror(errno));
		rc = 1;
		goto out;
	}
	check_runs(&b, &twice, &overlap, &records, log);
	{
		struct samples cl = { 0 }, su = { 0 };
		json_object *t = json_object_new_object();
		double win = b.w1 - b.w0;
		long sum[NCOUNTS];
		char *kind[] = { "claims", "claims_in_window", "empty_claims",
			"empty_claims_in_window", "empty_claims_while_queued",
			"succeeded",
			"succeeded_in_window", "lease_lost", "claim_errors",
			"claim_deadlocks", "succeed_errors",
			"succeed_deadlocks", "progress_writes",
			"progress_errors", "heartbeats", "heartbeats_in_window",
			"heartbeat_errors", "renewals", "renewals_lost",
			"reaped", "reap_errors", "courier_polls",
			"courier_errors" };
		int k;

		memset(sum, 0, sizeof(sum));
		for (i = 0; i < b.n; i++) {
			struct sim *s = &b.sims[i];
			long v[NCOUNTS] = { s->claims, s->claims_win, s->empty,
				s->empty_win, s->empty_queued, s->succeeded,
				s->succeeded_win,
				s->lost, s->claim_err, s->claim_deadlock,
				s->succeed_err, s->succeed_deadlock,
				s->progress, s->progress_err, s->beats,
				s->beats_win, s->beat_err, s->renews,
				s->renew_lost, s->reaped, s->reap_err,
				s->courier_polls, s->courier_err };

			for (k = 0; k < NCOUNTS; k++)
				sum[k] += v[k];
			for (k = 0; k < (int)s->claim_ms.n; k++)
				samples_add(&cl, s->claim_ms.v[k]);
			for (k = 0; k < (int)s->succeed_ms.n; k++)
				samples_add(&su, s->succeed_ms.v[k]);
			if (s->last_err[0] != '\0')
				fprintf(stderr, "kiln-capacity: %s: last "
				    "error: %s\n", s->name, s->last_err);
		}
		o = json_object_new_object();
		json_object_object_add(o, "cpu", json_object_new_string(cpu));
		ADD_INT(o, "cores", sysconf(_SC_NPROCESSORS_ONLN));
		json_object_object_add(o, "mariadb",
		    json_object_new_string(version ? version : "?"));
		ADD_INT(o, "daemons", b.n);
		ADD_INT(o, "connections", 2 * b.n + (b.until_done ? 0 :
		    FEEDERS) + 1);
		ADD_INT(o, "render_ms", b.render_ms);
		ADD_INT(o, "jitter_ms", b.jitter_ms);
		ADD_INT(o, "steps", b.steps);
		ADD_INT(o, "batch", b.batch);
		ADD_INT(o, "users", b.users);
		ADD_INT(o, "depth", b.until_done ? 0 : b.depth);
		ADD_INT(o, "jobs", b.until_done ? b.jobs : 0);
		ADD_DBL(o, "heartbeat_s", b.heartbeat_s);
		ADD_INT(o, "lease_s", b.cfg.lease_seconds);
		ADD_INT(o, "poll_ms", b.cfg.poll_ms);
		json_object_object_add(o, "courier",
		    json_object_new_boolean(b.courier));
		ADD_DBL(o, "window_s", win);
		for (k = 0; k < NCOUNTS; k++)
			ADD_INT(t, kind[k], sum[k]);
		ADD_INT(t, "jobs_queued", atomic_load(&b.inserted));
		ADD_INT(t, "feeder_errors", atomic_load(&b.feeder_err));
		json_object_object_add(o, "counts", t);
		ADD_DBL(o, "claims_per_s", win > 0 ? sum[1] / win : 0);
		ADD_DBL(o, "succeeded_per_s", win > 0 ? sum[6] / win : 0);
		ADD_DBL(o, "heartbeats_per_s", win > 0 ? sum[15] / win : 0);
		/* What the daemons would do with a free database: each claim
		 * costs a render. */
		ADD_DBL(o, "ideal_claims_per_s", b.render_ms > 0 ?
		    b.n * 1000.0 / (double)b.render_ms : 0);
		json_object_object_add(o, "claim_latency", lat_json(&cl));
		json_object_object_add(o, "succeed_latency", lat_json(&su));
		ADD_INT(o, "run_records", records);
		ADD_INT(o, "jobs_claimed_twice", twice);
		ADD_INT(o, "double_runs", overlap);
		ADD_INT(o, "innodb_row_lock_waits", lw1 - lw0);
		ADD_INT(o, "innodb_row_lock_time_ms", lt1 - lt0);
		ADD_INT(o, "innodb_deadlocks", ld1 - ld0);
		json_object_object_add(o, "db", db_counts(&b, db));
		free(cl.v);
		free(su.v);
		printf("%s\n", json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	}
out:
	if (log != NULL && fclose(log) != 0)
		rc = 1;
	json_object_put(o);
	for (i = 0; b.sims != NULL && i < b.n; i++) {
		if (b.sims[i].kdb != NULL)
			fleet_deregister(b.sims[i].kdb, &b.sims[i].m);
		db_free(b.sims[i].db);
		db_free(b.sims[i].kdb);
		free(b.sims[i].claim_ms.v);
		free(b.sims[i].succeed_ms.v);
		free(b.sims[i].runs);
		pthread_mutex_destroy(&b.sims[i].mu);
	}
	free(b.sims);
	free(b.uids);
	free(version);
	db_free(db);
	config_free(&b.cfg);
	curl_global_cleanup();
	mysql_library_end();
	return rc;
}
