/* jobs.c - the job queue in MariaDB: claims with leases, progress, finishing
 * exactly once, crash recovery, cancellation, webhook events, statistics. */
#include "jobs.h"
#include "db.h"
#include "log.h"
#include "teams.h"
#include "util.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	free(j->prompt);
	free(j->negative);
	free(j->model);
	free(j->sampler);
	free(j->hires_upscaler);
	free(j->upscaler);
	free(j->init_key);
	free(j->mask_key);
	free(j->control_key);
	free(j->cn_model);
	free(j->cn_pre);
	memset(j, 0, sizeof(*j));
}

void
welford_add(struct welford *w, double x)
{
	double d = x - w->mean;

	w->n++;
	w->mean += d / (double)w->n;
	w->m2 += d * (x - w->mean);
}

double
welford_sd(const struct welford *w)
{
	return w->n < 2 ? 0.0 : sqrt(w->m2 / (double)(w->n - 1));
}

const char *const job_statuses[JOB_NSTATUSES] = { "queued", "running",
	"succeeded", "failed", "canceled" };

int
job_status_valid(const char *s)
{
	size_t i;

	for (i = 0; i < JOB_NSTATUSES; i++)
		if (!strcmp(s, job_statuses[i]))
			return 1;
	return 0;
}

int
welford_anomaly(const struct welford *w, double x)
{
	return w->n >= 10 && x > w->mean + 3.0 * welford_sd(w);
}

/* ------------------------------------------------------------ helpers */

static int
begin(struct db *db)
{
	return db_exec_text(db, "START TRANSACTION");
}

static int
commit(struct db *db)
{
	return db_exec_text(db, "COMMIT");
}

static void
rollback(struct db *db)
{
	if (db_rollback(db) != 0)
		log_warn("rollback failed after: %s", db_error(db));
}

/* The lease as statement parameters: id, daemon, attempt. */
#define LEASE_PARAMS(l) DB_INT((l)->id), DB_STR((l)->daemon), \
	DB_INT((l)->attempt)
#define LEASE_WHERE " WHERE id = ? AND claimed_by = ? AND attempt = ?" \
	" AND status = 'running'"

/* UTC now as ISO 8601, for event payloads. */
static void
iso_now(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Queues an event (jobs.h's job_event_queue, user_event_queue): the
 * envelope {type, timestamp, data} around data (taken), inserted by sql
 * whose parameters are msg_id, type, the body and id. Runs inside the
 * caller's transaction so the event exists exactly when the state
 * change does. */
static int
enqueue_envelope(struct db *db, const char *sql, struct db_param last,
    const char *type, json_object *data)
{
	json_object *o = json_object_new_object();
	char ts[32], msg_id[4 + 24 + 1];
	const char *body;
	int rc = -1;

	if (o == NULL || data == NULL)
		goto out;
	iso_now(ts);
	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "timestamp", json_object_new_string(ts));
	json_object_object_add(o, "data", data);
	data = NULL;
	body = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	memcpy(msg_id, "msg_", 4);
	if (body == NULL || random_hex(msg_id + 4, 12) != 0)
		goto out;
	{
		struct db_param p[] = { DB_STR(msg_id), DB_STR(type),
			DB_STR(body), last };

		rc = db_exec(db, sql, p, 4, NULL, NULL);
	}
out:
	json_object_put(data);
	json_object_put(o);
	return rc;
}

static int
enqueue_event(struct db *db, unsigned long long id, const char *type,
    json_object *data)
{
	return enqueue_envelope(db,
	    "INSERT INTO webhook_deliveries (msg_id, job_id, user_id,"
	    " event, url, payload)"
	    " SELECT ?, j.id, j.user_id, ?,"
	    "  COALESCE(NULLIF(j.webhook_url, ''), u.webhook_url), ?"
	    " FROM jobs j LEFT JOIN users u ON u.id = j.user_id"
	    " WHERE j.id = ? AND COALESCE(NULLIF(j.webhook_url, ''),"
	    "  NULLIF(u.webhook_url, '')) IS NOT NULL", DB_INT(id), type,
	    data);
}

int
user_event_queue(struct db *db, unsigned long long user_id,
    const char *type, struct json_object *data)
{
	/* About no job: job_id NULL; signed with the user's secret like
	 * a job's events, as kilnd signs by the delivery's user_id. */
	return enqueue_envelope(db,
	    "INSERT INTO webhook_deliveries (msg_id, job_id, user_id,"
	    " event, url, payload)"
	    " SELECT ?, NULL, u.id, ?, u.webhook_url, ?"
	    " FROM users u WHERE u.id = ? AND NULLIF(u.webhook_url, '')"
	    " IS NOT NULL", DB_INT(user_id), type, data);
}

int
site_event_queue(struct db *db, const char *url, const char *type,
    struct json_object *data)
{
	/* About no job and no user: kilnd signs it with the site's
	 * secret, as alerts. */
	if (url == NULL || *url == '\0') {
		json_object_put(data);
		return 0;
	}
	return enqueue_envelope(db,
	    "INSERT INTO webhook_deliveries (msg_id, job_id, user_id,"
	    " event, payload, url) VALUES (?, NULL, NULL, ?, ?, ?)",
	    DB_STR(url), type, data);
}

int
job_event_queue(struct db *db, unsigned long long job_id, const char *type,
    struct json_object *data)
{
	return enqueue_event(db, job_id, type, data);
}

/* The common "data" of an event: the job's id, new status and, when not
 * NULL, the error. */
static json_object *
event_data(unsigned long long id, const char *status, const char *error)
{
	json_object *d = json_object_new_object();

	if (d == NULL)
		return NULL;
	json_object_object_add(d, "id", json_object_new_uint64(id));
	json_object_object_add(d, "status", json_object_new_string(status));
	if (error != NULL)
		json_object_object_add(d, "error",
		    json_object_new_string(error));
	return d;
}

/* ------------------------------------------------------------ histograms */

const double job_hist_bounds[JOB_HIST_N] = {
	1, 2, 5, 10, 20, 30, 60, 120, 180, 300, 600,
};

int
job_hist_observe(struct db *db, const char *metric, double seconds)
{
	char sum[40];
	int b = 0;

	if (!(seconds >= 0))
		seconds = 0;
	while (b < JOB_HIST_N && seconds > job_hist_bounds[b])
		b++;	/* b == JOB_HIST_N: only +Inf holds it */
	snprintf(sum, sizeof(sum), "%.6f", seconds);
	{
		struct db_param p[] = { DB_STR(metric), DB_INT(b),
			DB_STR(metric), DB_STR(sum) };

		return db_exec(db, "INSERT INTO job_histograms (metric, bucket,"
		    " n, sum) VALUES (?, ?, 1, 0), (?, -1, 1, ?)"
		    " ON DUPLICATE KEY UPDATE n = n + 1, sum = sum + VALUES(sum)",
		    p, 4, NULL, NULL);
	}
}

/* ------------------------------------------------------------ claiming */

/* A claimed job as its SELECT names it; seed is staged here because
 * struct job holds a uint64_t, which need not be unsigned long long. */
struct claim_rec {
	struct job j;
	unsigned long long seed;
	double wait_us;		/* since it was queued; NULL: 0 */
	char *loras;		/* the stored list; NULL: none */
	int has_inpaint;
};

/* One row of a claimed job's inputs. */
struct input_claim {
	const char *kind, *path;
	int width, height;
};

static const struct db_field input_claim_fields[] = {
	DB_FIELD(struct input_claim, kind, DBF_STR, "kind"),
	DB_FIELD(struct input_claim, path, DBF_STR, "path"),
	DB_FIELD(struct input_claim, width, DBF_INT, "width"),
	DB_FIELD(struct input_claim, height, DBF_INT, "height"),
};

static int
input_claim_row(void *rec, void *arg)
{
	const struct input_claim *r = rec;
	struct job *j = arg;
	char **dst = !strcmp(r->kind, "init") ? &j->init_key :
		!strcmp(r->kind, "mask") ? &j->mask_key : &j->control_key;

	free(*dst);
	*dst = xstrdup(r->path);
	if (dst == &j->init_key) {
		j->init_w = r->width;
		j->init_h = r->height;
	}
	return 0;
}

static const struct db_field claim_fields[] = {
	DB_FIELD(struct claim_rec, j.id, DBF_ULLONG, "id"),
	DB_FIELD(struct claim_rec, j.user_id, DBF_ULLONG, "user_id"),
	DB_FIELD(struct claim_rec, j.attempt, DBF_INT, "attempt"),
	DB_FIELD(struct claim_rec, j.max_attempts, DBF_INT, "max_attempts"),
	DB_FIELD(struct claim_rec, j.prompt, DBF_DUP, "prompt"),
	DB_FIELD(struct claim_rec, j.negative, DBF_DUP, "negative_prompt"),
	DB_FIELD(struct claim_rec, j.model, DBF_DUP, "model"),
	DB_FIELD(struct claim_rec, j.width, DBF_INT, "width"),
	DB_FIELD(struct claim_rec, j.height, DBF_INT, "height"),
	DB_FIELD(struct claim_rec, j.steps, DBF_INT, "steps"),
	DB_FIELD(struct claim_rec, j.cfg, DBF_DOUBLE, "cfg_scale"),
	DB_FIELD(struct claim_rec, j.sampler, DBF_DUP, "sampler"),
	DB_FIELD(struct claim_rec, seed, DBF_ULLONG, "seed"),
	DB_FIELD(struct claim_rec, j.batch, DBF_INT, "batch_count"),
	DB_FIELD_NULL(struct claim_rec, loras, DBF_DUP, "loras"),
	DB_FIELD_NULL(struct claim_rec, j.hires_scale, DBF_DOUBLE,
		"hires_scale"),
	DB_FIELD_NULL(struct claim_rec, j.hires_strength, DBF_DOUBLE,
		"hires_strength"),
	DB_FIELD_NULL(struct claim_rec, j.hires_steps, DBF_INT, "hires_steps"),
	DB_FIELD_NULL(struct claim_rec, j.hires_upscaler, DBF_DUP,
		"hires_upscaler"),
	DB_FIELD_NULL(struct claim_rec, j.denoising, DBF_DOUBLE,
		"denoising_strength"),
	DB_FIELD_NULL(struct claim_rec, j.resize_mode, DBF_INT, "resize_mode"),
	DB_FIELD(struct claim_rec, has_inpaint, DBF_INT, "has_inpaint"),
	DB_FIELD_NULL(struct claim_rec, j.mask_blur, DBF_INT, "mask_blur"),
	DB_FIELD_NULL(struct claim_rec, j.inpainting_fill, DBF_INT,
		"inpainting_fill"),
	DB_FIELD_NULL(struct claim_rec, j.full_res, DBF_INT,
		"inpaint_full_res"),
	DB_FIELD_NULL(struct claim_rec, j.full_res_pad, DBF_INT,
		"inpaint_full_res_padding"),
	DB_FIELD_NULL(struct claim_rec, j.mask_invert, DBF_INT,
		"inpainting_mask_invert"),
	DB_FIELD_NULL(struct claim_rec, j.outpaint[0], DBF_INT,
		"outpaint_left"),
	DB_FIELD_NULL(struct claim_rec, j.outpaint[1], DBF_INT,
		"outpaint_right"),
	DB_FIELD_NULL(struct claim_rec, j.outpaint[2], DBF_INT, "outpaint_up"),
	DB_FIELD_NULL(struct claim_rec, j.outpaint[3], DBF_INT,
		"outpaint_down"),
	DB_FIELD_NULL(struct claim_rec, j.cn_model, DBF_DUP,
		"controlnet_model"),
	DB_FIELD_NULL(struct claim_rec, j.cn_weight, DBF_DOUBLE,
		"controlnet_weight"),
	DB_FIELD_NULL(struct claim_rec, j.cn_start, DBF_DOUBLE,
		"controlnet_start"),
	DB_FIELD_NULL(struct claim_rec, j.cn_end, DBF_DOUBLE,
		"controlnet_end"),
	DB_FIELD_NULL(struct claim_rec, j.cn_pre, DBF_DUP,
		"controlnet_preprocessor"),
	DB_FIELD_NULL(struct claim_rec, j.cn_low, DBF_DOUBLE,
		"controlnet_low"),
	DB_FIELD_NULL(struct claim_rec, j.cn_high, DBF_DOUBLE,
		"controlnet_high"),
	DB_FIELD(struct claim_rec, j.upscale, DBF_INT, "is_upscale"),
	DB_FIELD_NULL(struct claim_rec, j.upscaler, DBF_DUP, "upscaler"),
	DB_FIELD_NULL(struct claim_rec, j.upscale_by, DBF_DOUBLE,
		"upscale_by"),
	DB_FIELD_NULL(struct claim_rec, wait_us, DBF_DOUBLE, "wait_us"),
};

/* One queued job the claim may take: its id, its user's turn key and
 * its priority. */
struct candidate {
	unsigned long long id, user;
	long priority;
};

static const struct db_field candidate_fields[] = {
	DB_FIELD(struct candidate, id, DBF_ULLONG, "id"),
	DB_FIELD(struct candidate, user, DBF_ULLONG, "user_key"),
	DB_FIELD(struct candidate, priority, DBF_LONG, "priority"),
};

#define CLAIM_CANDIDATES 32
#define CLAIM_ROUNDS 3

struct candidates {
	struct candidate c[CLAIM_CANDIDATES];
	int n;
};

static int
candidate_row(void *rec, void *arg)
{
	struct candidates *cs = arg;

	if (cs->n < CLAIM_CANDIDATES)
		cs->c[cs->n++] = *(const struct candidate *)rec;
	return 0;
}

/* Starts the claim's transaction and locks the first of cs still queued
 * in it, by its primary key with SKIP LOCKED: a claim holds one job row
 * and waits for none (its user's turn row it may wait for, briefly,
 * behind another claim of that user). Returns the index taken with the
 * transaction open, CLAIM_CANDIDATES when others took them all (none
 * open), -1 on a database error (rolled back). */
static int
lock_candidate(struct db *db, const struct candidates *cs)
{
	int order[CLAIM_CANDIDATES], same = 1, start = 0, o;

	/* The head of the queue first. Past it, the candidates of its
	 * priority from a random one on, then the rest in order: when
	 * many daemons claim at once (all that finished a render in the
	 * same moment) they spread over the candidates instead of all
	 * trying the same second, third... job, where one wins each and
	 * the rest try the next. Alone, a daemon takes the head. */
	while (same < cs->n && cs->c[same].priority == cs->c[0].priority)
		same++;
	if (same > 2)
		start = (int)randombytes_uniform((uint32_t)(same - 1));
	order[0] = 0;
	for (o = 1; o < same; o++)
		order[o] = 1 + (start + o - 1) % (same - 1);
	for (; o < cs->n; o++)
		order[o] = o;
	for (o = 0; o < cs->n; o++) {
		struct db_param p[] = { DB_INT(cs->c[order[o]].id) };
		long got = 0;

		/* A transaction for each try: a candidate another daemon
		 * claimed since the order was read is locked to see that it
		 * is no longer queued, and MariaDB keeps that lock (a row
		 * looked up by its whole key) until the transaction ends,
		 * even in READ COMMITTED; held across the next tries it
		 * held up that job's daemon, its progress, renewals and
		 * result (the capacity bench's 256 daemons waited seconds).
		 * READ COMMITTED: no gap locks for the turn row's insert
		 * (it needs binlog_format MIXED, MariaDB's default, or ROW:
		 * INSTALL, section 19). */
		if (db_exec_text(db, "SET TRANSACTION ISOLATION LEVEL READ"
		    " COMMITTED") != 0 || begin(db) != 0)
			return -1;
		if (db_query_long(db, "SELECT 1 FROM jobs WHERE id = ? AND"
		    " status = 'queued' FOR UPDATE SKIP LOCKED", p, 1,
		    &got) != 0) {
			rollback(db);
			return -1;
		}
		if (got == 1)
			return order[o];
		rollback(db);
	}
	return CLAIM_CANDIDATES;
}

/* One claim attempt (job_claim), with per_user jobs of each user among
 * the candidates at most: 1, 0 when nothing is queued, 2 when concurrent
 * claims took every candidate (try again), -1. */
static int
claim_once(struct db *db, const char *daemon, long lease_s, struct job *j,
    int per_user)
{
	struct db_param pu[] = { DB_INT(per_user) };
	struct claim_rec c;
	struct candidates cs;
	struct candidate rec;
	char id[24];
	int rc = -1, k;

	memset(j, 0, sizeof(*j));
	memset(&c, 0, sizeof(c));
	memset(&cs, 0, sizeof(cs));
	/* Highest priority first; within it the user whose job was claimed
	 * longest ago (never: first), then the oldest job: a round-robin
	 * between users, so one user's long queue cannot starve another's
	 * job of the same priority.
	 *
	 * The order is read without locks, then one candidate is locked
	 * (lock_candidate). A locking read of the ORDER BY itself locked
	 * every queued job and turn row it sorted, until commit:
	 * concurrent claims skipped them all and found "nothing queued"
	 * (a poll lost), or deadlocked on the turn rows; the capacity
	 * bench (tools/bench/capacity.c) saw 123 deadlocks and 703 empty
	 * claims in 10 s of 64 daemons, 100 claims/s of the 640 the
	 * daemons could take. Locks are taken in one order, job row, turn
	 * row, histogram rows, so claims wait on each other rather than
	 * deadlock (job_claim retries one all the same).
	 *
	 * Each user's per_user oldest jobs of a priority at most: the
	 * candidates cover several users, and concurrent claims spread
	 * over users rather than queue on one user's turn row. */
	if (db_query_into(db, "SELECT id, user_key, priority FROM (SELECT"
	    " j.id, COALESCE(j.user_id, 0) AS user_key, j.priority,"
	    " t.last_claim, j.created_at, ROW_NUMBER() OVER (PARTITION BY"
	    " COALESCE(j.user_id, 0), j.priority ORDER BY j.created_at, j.id)"
	    " AS nth FROM jobs j LEFT JOIN queue_turns t"
	    " ON t.user_id = COALESCE(j.user_id, 0)"
	    " WHERE j.status = 'queued'"
	    /* A maintenance window in hold mode: jobs wait, queued. */
	    " AND NOT EXISTS (SELECT 1 FROM maintenance_windows m"
	    " WHERE m.mode = 'hold' AND m.canceled_at IS NULL"
	    " AND m.starts_at <= NOW(3) AND m.ends_at > NOW(3))) q"
	    " WHERE nth <= ?"
	    " ORDER BY priority DESC, last_claim IS NOT NULL, last_claim,"
	    " created_at, id LIMIT " STR(CLAIM_CANDIDATES), pu, 1,
	    candidate_fields, DB_NFIELDS(candidate_fields), &rec,
	    candidate_row, &cs) < 0)
		return -1;
	if (cs.n == 0)
		return 0;
	k = lock_candidate(db, &cs);
	if (k < 0)
		return -1;
	if (k == CLAIM_CANDIDATES)
		return 2;
	snprintf(id, sizeof(id), "%llu", cs.c[k].id);
	{
		struct db_param p[] = { DB_STR(daemon), DB_STR(daemon),
			DB_INT(lease_s), DB_STR(id) };

		if (db_exec(db, "UPDATE jobs SET status = 'running',"
		    " claimed_by = ?, daemon = ?,"
		    " lease_until = NOW(3) + INTERVAL ? SECOND,"
		    " attempt = attempt + 1, step = 0,"
		    " steps_total = " JOB_STEPS_TOTAL_SQL ", eta_s = NULL,"
		    " started_at = COALESCE(started_at, NOW(3))"
		    " WHERE id = ?", p, 4, NULL, NULL) != 0)
			goto fail;
	}
	{
		struct db_param p[] = { DB_INT(cs.c[k].user) };

		if (db_exec(db, "INSERT INTO queue_turns (user_id, last_claim)"
		    " VALUES (?, NOW(6))"
		    " ON DUPLICATE KEY UPDATE last_claim = VALUES(last_claim)",
		    p, 1, NULL, NULL) != 0)
			goto fail;
	}
	{
		struct db_param p[] = { DB_STR(id) };
		long n;

		/* The copies are ours as soon as they are stored, also when
		 * the query then fails: in *j, the fail path frees them. */
		n = db_query_into(db, "SELECT id, COALESCE(user_id, 0) AS"
		    " user_id, attempt, max_attempts, prompt, negative_prompt,"
		    " model, width, height, steps, cfg_scale, sampler, seed,"
		    " batch_count, loras, hires_scale, hires_strength,"
		    " hires_steps, hires_upscaler, denoising_strength,"
		    " resize_mode, mask_blur IS NOT NULL AS has_inpaint,"
		    " mask_blur, inpainting_fill, inpaint_full_res,"
		    " inpaint_full_res_padding, inpainting_mask_invert,"
		    " outpaint_left, outpaint_right, outpaint_up,"
		    " outpaint_down, controlnet_model, controlnet_weight,"
		    " controlnet_start, controlnet_end,"
		    " controlnet_preprocessor, controlnet_low, controlnet_high,"
		    " kind = 'upscale' AS is_upscale, upscaler, upscale_by,"
		    " TIMESTAMPDIFF(MICROSECOND, created_at, NOW(3)) AS wait_us"
		    " FROM jobs WHERE id = ?", p, 1, claim_fields,
		    DB_NFIELDS(claim_fields), &c, NULL, NULL);
		*j = c.j;
		j->seed = c.seed;
		if (c.loras != NULL && loras_from_text(c.loras, j->loras,
		    JOB_LORAS_MAX, &j->nloras) != 0) {
			log_warn("job %llu: its loras do not read: %.80s",
			    j->id, c.loras);
			j->nloras = -1;
		}
		free(c.loras);
		j->inpaint = c.has_inpaint;
		if (n != 1)
			goto fail;
	}
	{
		struct db_param p[] = { DB_STR(id) };
		struct input_claim ic;

		if (db_query_into(db, "SELECT kind, path, width, height FROM"
		    " job_inputs WHERE job_id = ?", p, 1, input_claim_fields,
		    DB_NFIELDS(input_claim_fields), &ic, input_claim_row,
		    j) < 0)
			goto fail;
	}
	/* The wait a user sees is until the first start; retries after a
	 * crash are not new waits. */
	if (j->attempt == 1 && job_hist_observe(db, "queue_wait",
	    c.wait_us / 1e6) != 0)
		goto fail;
	if (commit(db) != 0)
		goto fail;
	rc = 1;
	return rc;
fail:
	rollback(db);
	job_free(j);
	return -1;
}

int
job_claim(struct db *db, const char *daemon, long lease_s, struct job *j)
{
	int i, st = -1;

	/* A deadlock's victim was rolled back whole: claim again (kilnd
	 * would otherwise take it for the database being down and wait).
	 * Candidates all taken by concurrent claims: read the order
	 * again, with more of each user's jobs (near the end of a queue
	 * its few users' first jobs are what every claim tries); a poll
	 * later only if that keeps happening. */
	for (i = 0; i < CLAIM_ROUNDS; i++) {
		st = claim_once(db, daemon, lease_s, j, 2 << (2 * i));
		if (st == 1 || st == 0 || (st < 0 && !db_deadlocked(db)))
			break;
	}
	return st == 2 ? 0 : st;
}

int
job_started(struct db *db, const struct job_lease *l)
{
	return enqueue_event(db, l->id, "job.started",
	    event_data(l->id, "running", NULL));
}

int
job_renew(struct db *db, const struct job_lease *l, long lease_s)
{
	struct db_param p[] = { DB_INT(lease_s), LEASE_PARAMS(l) };
	unsigned long long n = 0;

	if (db_exec(db, "UPDATE jobs SET lease_until = NOW(3) + INTERVAL ?"
	    " SECOND" LEASE_WHERE, p, 4, &n, NULL) != 0)
		return -1;
	return n > 0;
}

int
job_progress(struct db *db, const struct job_lease *l, int step, int steps,
    double eta_s, const char *preview)
{
	char eta[32];
	char *flag = NULL;
	unsigned long long n = 0;
	int rc;

	snprintf(eta, sizeof(eta), "%.3f", eta_s < 0 ? 0.0 : eta_s);
	{
		struct db_param p[] = { DB_INT(step), DB_INT(steps),
			DB_STR(eta), preview ? DB_STR(preview) : DB_NULL,
			LEASE_PARAMS(l) };

		if (db_exec(db, "UPDATE jobs SET step = ?, steps_total = ?,"
		    " eta_s = ?, preview_path = COALESCE(?, preview_path)"
		    LEASE_WHERE, p, 7, &n, NULL) != 0)
			return -1;
	}
	{
		struct db_param p[] = { LEASE_PARAMS(l) };

		if (db_query_string(db, "SELECT cancel_requested FROM jobs"
		    LEASE_WHERE, p, 3, &flag) != 0)
			return -1;
	}
	/* Nothing matched: the job is not ours any more. */
	rc = n == 0 || flag == NULL ? 0 : !strcmp(flag, "1") ? 2 : 1;
	free(flag);
	return rc;
}

/* Ends a job held under l: sets status (and error), in the caller's
 * transaction. Returns 1, 0 when the lease is not held, -1 on error. */
static int
finish(struct db *db, const struct job_lease *l, const char *status,
    const char *error)
{
	struct db_param p[] = { DB_STR(status),
		error ? DB_STR(error) : DB_NULL, LEASE_PARAMS(l) };
	unsigned long long n = 0;

	if (db_exec(db, "UPDATE jobs SET status = ?, error = ?,"
	    " claimed_by = NULL, lease_until = NULL, eta_s = 0,"
	    " finished_at = NOW(3)" LEASE_WHERE, p, 5, &n, NULL) != 0)
		return -1;
	return n > 0;
}

#define STATS_KEY(j) DB_STR((j)->model), DB_INT((j)->width), \
	DB_INT((j)->height), DB_INT((j)->steps), DB_INT((j)->batch)

/* Makes sure (model, size, steps) has a statistics row, in a statement of
 * its own before the result's transaction: inside it, INSERT IGNORE's
 * shared lock on an existing row, upgraded by the UPDATE (update_stats)
 * that follows, can deadlock two daemons finishing jobs of one size at
 * once: in a test one of 40 jobs had its result rolled back (the cause
 * hidden, then, by the ROLLBACK clearing the error) and ran a second
 * attempt. */
static int
ensure_stats_row(struct db *db, const struct job *j)
{
	struct db_param key[] = { STATS_KEY(j) };
	long have = 0;

	/* Looked for first, without a lock: the row is there for all but
	 * a size's first result, and INSERT IGNORE of an existing row
	 * waits for its shared lock behind every result being recorded
	 * for the size (the capacity bench saw most of its lock waits
	 * there). */
	if (db_query_long(db, "SELECT COUNT(*) FROM render_stats WHERE"
	    " model = ? AND width = ? AND height = ? AND steps = ? AND"
	    " batch = ?", key, 5, &have) != 0)
		return -1;
	if (have > 0)
		return 0;
	return db_exec(db, "INSERT IGNORE INTO render_stats (model, width,"
	    " height, steps, batch) VALUES (?, ?, ?, ?, ?)", key, 5, NULL,
	    NULL);
}

/* Flags x (seconds per image) against (model, size, steps)'s statistics
 * (the row exists: ensure_stats_row) and adds it, in one UPDATE: the row
 * is every result's of the size, held from its first lock to the
 * commit, so the whole fleet's results take turns on it. Reading it FOR
 * UPDATE, computing in C and writing it back held it three statements
 * long. The flag is decided on a read without a lock, which may miss
 * results being recorded at the same moment; the sums are exact. Each
 * expression reads the old values only, so the assignments' order (or
 * SIMULTANEOUS_ASSIGNMENT) does not matter: Welford's update with
 * d = x - mean: mean += d / (n + 1), m2 += d * (x - new mean). */
static int
update_stats(struct db *db, const struct job *j, double x, int *anomaly)
{
	struct welford w = { 0, 0, 0 };
	char *row = NULL, xs[40];
	struct db_param key[] = { STATS_KEY(j) };

	if (db_query_string(db, "SELECT CONCAT(n, ' ', mean, ' ', m2) FROM"
	    " render_stats WHERE model = ? AND width = ? AND height = ?"
	    " AND steps = ? AND batch = ?", key, 5, &row) != 0)
		return -1;
	if (row != NULL && sscanf(row, "%lld %lf %lf", &w.n, &w.mean,
	    &w.m2) != 3)
		w.n = 0, w.mean = 0, w.m2 = 0;
	free(row);
	*anomaly = welford_anomaly(&w, x);
	snprintf(xs, sizeof(xs), "%.17g", x);
	{
		struct db_param p[] = { DB_INT(*anomaly), DB_STR(xs),
			DB_STR(xs), DB_STR(xs), DB_STR(xs), STATS_KEY(j) };

		return db_exec(db, "UPDATE render_stats SET"
		    " anomalies = anomalies + ?,"
		    " m2 = m2 + (? - mean) *"
		    " (? - (mean + (? - mean) / (n + 1))),"
		    " mean = mean + (? - mean) / (n + 1), n = n + 1"
		    " WHERE model = ? AND width = ? AND height = ? AND"
		    " steps = ? AND batch = ?", p, 10, NULL, NULL);
	}
}

int
job_succeed(struct db *db, const struct job_lease *l, const struct job *j,
    const struct job_image *img, int n, double render_s, int cold,
    int *anomaly)
{
	json_object *data = NULL, *arr;
	char secs[40], seed[24];
	int i, st;

	*anomaly = 0;
	if ((!cold && ensure_stats_row(db, j) != 0) || begin(db) != 0)
		return -1;
	st = finish(db, l, "succeeded", NULL);
	if (st <= 0)
		goto out;
	st = -1;
	for (i = 0; i < n; i++) {
		snprintf(seed, sizeof(seed), "%" PRIu64, img[i].seed);
		{
			struct db_param p[] = { DB_INT(l->id),
				DB_INT(img[i].idx), DB_STR(seed),
				DB_STR(img[i].path), DB_INT(img[i].width),
				DB_INT(img[i].height) };

			if (db_exec(db, "INSERT INTO job_images (job_id, idx,"
			    " seed, path, width, height) VALUES"
			    " (?, ?, ?, ?, ?, ?)", p, 6, NULL, NULL) != 0)
				goto out;
		}
	}
	snprintf(secs, sizeof(secs), "%.3f", render_s);
	{
		struct db_param p[] = { DB_STR(secs), DB_INT(l->id) };

		if (db_exec(db, "UPDATE jobs SET render_s = ?,"
		    " step = steps_total WHERE id = ?", p, 2, NULL, NULL) != 0)
			goto out;
	}
	data = event_data(l->id, "succeeded", NULL);
	arr = json_object_new_array();
	if (data == NULL || arr == NULL) {
		json_object_put(arr);
		goto out;
	}
	json_object_object_add(data, "images", arr);
	for (i = 0; i < n; i++) {
		json_object *im = json_object_new_object();

		if (im == NULL)
			goto out;
		json_object_object_add(im, "index",
		    json_object_new_int(img[i].idx));
		json_object_object_add(im, "seed",
		    json_object_new_uint64(img[i].seed));
		/* Where the receiver fetches it with its API key; never the
		 * artifacts path, which is nothing to anyone outside. */
		json_object_object_add(im, "url",
		    json_object_new_string(img[i].url));
		json_object_array_add(arr, im);
	}
	json_object_object_add(data, "render_seconds",
	    json_object_new_double(render_s));
	st = enqueue_event(db, l->id, "job.succeeded", data);
	data = NULL;
	if (st != 0) {
		st = -1;
		goto out;
	}
	/* Last, right before the commit: the rows every daemon's result
	 * writes (the statistics of a size, the histogram's), which are
	 * held from here to the commit and so serialise the results of
	 * the whole fleet. Earlier in the transaction they were held
	 * across its other statements too. A cold run (kernels compiled,
	 * a model's first render) says nothing about how long this render
	 * takes: it stays out of the statistics, where it would widen the
	 * spread for every later one. */
	st = -1;
	if ((!cold && update_stats(db, j, render_s / (n > 0 ? n : 1),
	    anomaly) != 0) || job_hist_observe(db, "render", render_s) != 0)
		goto out;
	if (*anomaly) {
		struct db_param p[] = { DB_INT(l->id) };

		if (db_exec(db, "UPDATE jobs SET anomaly = 1 WHERE id = ?", p,
		    1, NULL, NULL) != 0)
			goto out;
	}
	if (commit(db) != 0)
		goto out;
	return 1;
out:
	json_object_put(data);
	rollback(db);
	return st == 0 ? 0 : -1;
}

/* Gives a failed or canceled job's credits back to its owner, once
 * (inside the caller's transaction). Returns 0 or -1. */
static int
refund(struct db *db, unsigned long long id)
{
	struct db_param p[] = { DB_INT(id) };

	/* To the pool that paid: a team job's team, else its maker. The
	 * user's row first, the team's second, as job_enqueue locks them,
	 * so the two never wait on each other in opposite orders. */
	if (db_exec(db, "UPDATE users u JOIN jobs j ON j.user_id = u.id"
	    " SET u.credits = u.credits + j.cost, j.refunded = 1"
	    " WHERE j.id = ? AND j.refunded = 0 AND j.cost > 0"
	    " AND j.team_id IS NULL"
	    " AND j.status IN ('failed', 'canceled')", p, 1, NULL, NULL) != 0)
		return -1;
	return db_exec(db, "UPDATE teams t JOIN jobs j ON j.team_id = t.id"
	    " SET t.credits = t.credits + j.cost, j.refunded = 1"
	    " WHERE j.id = ? AND j.refunded = 0 AND j.cost > 0"
	    " AND j.status IN ('failed', 'canceled')", p, 1, NULL, NULL);
}

/* finish + an event with data {id, status[, error]} in one transaction. */
static int
finish_with_event(struct db *db, const struct job_lease *l,
    const char *status, const char *error, const char *event)
{
	int st;

	if (begin(db) != 0)
		return -1;
	st = finish(db, l, status, error);
	if (st <= 0)
		goto out;
	/* A failed job costs nothing; one canceled while running was
	 * rendered in part and is not given back. */
	if (!strcmp(status, "failed") && refund(db, l->id) != 0) {
		st = -1;
		goto out;
	}
	if (enqueue_event(db, l->id, event, event_data(l->id, status,
	    error)) != 0 || commit(db) != 0) {
		st = -1;
		goto out;
	}
	return 1;
out:
	rollback(db);
	return st;
}

int
job_fail(struct db *db, const struct job_lease *l, const char *reason)
{
	return finish_with_event(db, l, "failed", reason, "job.failed");
}

int
job_canceled(struct db *db, const struct job_lease *l)
{
	return finish_with_event(db, l, "canceled", NULL, "job.canceled");
}

int
job_requeue(struct db *db, const struct job_lease *l)
{
	struct db_param p[] = { LEASE_PARAMS(l) };
	unsigned long long n = 0;

	if (db_exec(db, "UPDATE jobs SET status = 'queued', claimed_by = NULL,"
	    " lease_until = NULL, attempt = attempt - 1, step = 0,"
	    " eta_s = NULL" LEASE_WHERE, p, 3, &n, NULL) != 0)
		return -1;
	return n > 0;
}

/* ------------------------------------------------------------ recovery */

/* One expired lease as the reaper's SELECT names it. */
struct expired_rec {
	unsigned long long id;
	int attempt, max;
	const char *by;		/* NULL when no daemon holds it */
};

static const struct db_field expired_fields[] = {
	DB_FIELD(struct expired_rec, id, DBF_ULLONG, "id"),
	DB_FIELD(struct expired_rec, attempt, DBF_INT, "attempt"),
	DB_FIELD(struct expired_rec, max, DBF_INT, "max_attempts"),
	DB_FIELD_NULL(struct expired_rec, by, DBF_STR, "claimed_by"),
};

struct expired {
	unsigned long long id[64];
	int attempt[64], max[64];
	char by[64][129];
	int n;
};

static int
expired_row(void *rec, void *arg)
{
	const struct expired_rec *r = rec;
	struct expired *e = arg;

	if (e->n >= 64)
		return 1;
	e->id[e->n] = r->id;
	e->attempt[e->n] = r->attempt;
	e->max[e->n] = r->max;
	snprintf(e->by[e->n], sizeof(e->by[0]), "%s", r->by ? r->by : "");
	e->n++;
	return 0;
}

long
job_reap(struct db *db, void (*failed)(void *arg, unsigned long long id),
	void *arg)
{
	struct expired e;
	struct expired_rec r;
	long changed = 0;
	int i, nfailed = 0;
	unsigned long long gone[64];

	memset(&e, 0, sizeof(e));
	/* Looked for first without a lock: every daemon's keeper reaps at
	 * each heartbeat, almost always finding nothing, and the locking
	 * read below locks the index range it scans, gaps included, where
	 * claims and renewals write their leases (the capacity bench's 256
	 * daemons waited on those locks). */
	{
		long due = 0;

		if (db_query_long(db, "SELECT COUNT(*) FROM jobs WHERE status ="
		    " 'running' AND lease_until < NOW(3)", NULL, 0, &due) != 0)
			return -1;
		if (due == 0)
			return 0;
	}
	if (begin(db) != 0)
		return -1;
	/* SKIP LOCKED: a job some daemon is finishing right now is left to
	 * it; a later pass sees it if its lease really is gone. */
	if (db_query_into(db, "SELECT id, attempt, max_attempts, claimed_by"
	    " FROM jobs WHERE status = 'running' AND lease_until < NOW(3)"
	    " ORDER BY id LIMIT 64 FOR UPDATE SKIP LOCKED", NULL, 0,
	    expired_fields, DB_NFIELDS(expired_fields), &r, expired_row,
	    &e) < 0)
		goto fail;
	for (i = 0; i < e.n; i++) {
		struct db_param p[] = { DB_INT(e.id[i]) };
		char reason[256];

		if (e.attempt[i] < e.max[i]) {
			log_warn("job %llu: lease of \"%s\" expired (attempt "
			    "%d of %d); back to the queue", e.id[i], e.by[i],
			    e.attempt[i], e.max[i]);
			if (db_exec(db, "UPDATE jobs SET status = 'queued',"
			    " claimed_by = NULL, lease_until = NULL, step = 0,"
			    " eta_s = NULL WHERE id = ?", p, 1, NULL, NULL) != 0)
				goto fail;
		} else {
			snprintf(reason, sizeof(reason), "the render daemon "
			    "stopped responding on each of %d attempts (last: "
			    "\"%s\")", e.attempt[i], e.by[i]);
			log_warn("job %llu: %s; failed", e.id[i], reason);
			{
				struct db_param q[] = { DB_STR(reason),
					DB_INT(e.id[i]) };

				if (db_exec(db, "UPDATE jobs SET status ="
				    " 'failed', error = ?, claimed_by = NULL,"
				    " lease_until = NULL, finished_at = NOW(3)"
				    " WHERE id = ?", q, 2, NULL, NULL) != 0)
					goto fail;
			}
			if (refund(db, e.id[i]) != 0 ||
			    enqueue_event(db, e.id[i], "job.failed",
			    event_data(e.id[i], "failed", reason)) != 0)
				goto fail;
			gone[nfailed++] = e.id[i];
		}
		changed++;
	}
	if (commit(db) != 0)
		goto fail;
	/* Once committed: a failed job's files are no longer any
	 * attempt's to finish. */
	for (i = 0; failed != NULL && i < nfailed; i++)
		failed(arg, gone[i]);
	return changed;
fail:
	rollback(db);
	return -1;
}

/* ------------------------------------------------------------ cancel */

static int
cancel_once(struct db *db, unsigned long long id, unsigned long long user_id)
{
	struct db_param p[] = { DB_INT(id), DB_INT(user_id), DB_INT(user_id) };
	unsigned long long n = 0;

	if (begin(db) != 0)
		return -1;
	if (db_exec(db, "UPDATE jobs SET status = 'canceled',"
	    " finished_at = NOW(3) WHERE id = ? AND status = 'queued'"
	    " AND (? = 0 OR " TEAM_JOB_MANAGES("jobs.") ")", p, 3, &n, NULL) != 0)
		goto fail;
	if (n > 0) {
		if (refund(db, id) != 0 || enqueue_event(db, id,
		    "job.canceled", event_data(id, "canceled", NULL)) != 0)
			goto fail;
	} else if (db_exec(db, "UPDATE jobs SET cancel_requested = 1"
	    " WHERE id = ? AND status = 'running' AND (? = 0 OR"
	    " " TEAM_JOB_MANAGES("jobs.") ")",
	    p, 3, &n, NULL) != 0) {
		goto fail;
	}
	if (commit(db) != 0)
		goto fail;
	return n > 0;
fail:
	rollback(db);
	return -1;
}

int
job_cancel(struct db *db, unsigned long long id, unsigned long long user_id)
{
	int rc = -1, i;

	/* A daemon writing the same job's row (its progress, an event)
	 * can make InnoDB pick this transaction as a deadlock's victim. */
	for (i = 0; i < DB_DEADLOCK_TRIES; i++) {
		rc = cancel_once(db, id, user_id);
		if (rc != -1 || !db_deadlocked(db))
			break;
	}
	return rc;
}
