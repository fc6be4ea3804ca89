/* page_health.c - what operators' tools read: /healthz (the process
 * answers) and /readyz (the database answers and a render daemon's
 * heartbeat is fresh), 200 or 503 with a small JSON body, for
 * orchestrators and load balancers; /metrics, the Prometheus text of the
 * web programs' request counters and the queue's state. */
#include "app.h"
#include "auth.h"
#include "db.h"
#include "fleet.h"
#include "handlers.h"
#include "jobs.h"
#include "log.h"
#include "metrics.h"

#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

int
page_healthz(struct kreq *req)
{
	return resp_json_text(req, 200, "{\"status\":\"alive\"}");
}

int
page_readyz(struct kreq *req)
{
	struct kiln_app *app = req->app;
	long online = -1;
	int db_up;
	char body[160];

	db_up = db_ensure(app->db) == 0;
	if (db_up)
		online = fleet_online(app->db, app->cfg.heartbeat_interval);
	if (online < 0) {
		db_up = 0;
		log_warn("readyz: database: %s", db_error(app->db));
	}
	snprintf(body, sizeof(body), "{\"status\":\"%s\",\"database\":%s,"
		"\"daemons_online\":%ld}", db_up && online > 0 ? "ready" :
		"not_ready", db_up ? "true" : "false", online < 0 ? 0 : online);
	return resp_json_text(req, db_up && online > 0 ? 200 : 503, body);
}

/* Who may read /metrics: loopback clients (unless [metrics]
 * allow_loopback = 0), a signed-in administrator, or a Bearer key with
 * the admin scope (what a Prometheus scrape job sends). Returns 1, 0 after
 * answering 401/403, -1 after answering 503. */
static int
metrics_allowed(struct kreq *req)
{
	int st;

	if (req->app->cfg.metrics_loopback && addr_is_loopback(req->remote_addr))
		return 1;
	if (req->auth != NULL && req->auth->is_admin)
		return 1;
	if (*req->authorization != '\0') {
		st = auth_bearer(req);
		if (st < 0) {
			resp_error_json(req, 503, "database_unavailable", "the "
				"database could not answer", NULL);
			return -1;
		}
		if (st == 1 && req->auth->is_admin &&
		    (req->auth->scopes & SCOPE_ADMIN))
			return 1;
		resp_error_json(req, 403, "forbidden", "metrics need an API "
			"key with the admin scope", NULL);
		return 0;
	}
	resp_header(req, "WWW-Authenticate", "Bearer realm=\"kiln\"");
	resp_error_json(req, 401, "unauthorized", "metrics are for "
		"administrators: send Authorization: Bearer kiln_... (admin "
		"scope), or ask from this machine", NULL);
	return 0;
}

struct metrics_read {
	struct buf *out;
	unsigned long long jobs[JOB_NSTATUSES];	/* by job_statuses[] */
	unsigned long long buckets[JOB_HIST_N + 1];
	double sum;
	int rc;
};

/* One row of jobs per state. */
struct state_rec {
	const char *status;
	unsigned long long n;
};

static const struct db_field state_fields[] = {
	DB_FIELD(struct state_rec, status, DBF_STR, "status"),
	DB_FIELD(struct state_rec, n, DBF_ULLONG, "n"),
};

static int
jobs_row(void *rec, void *arg)
{
	const struct state_rec *r = rec;
	struct metrics_read *m = arg;
	int i;

	for (i = 0; i < JOB_NSTATUSES; i++)
		if (!strcmp(r->status, job_statuses[i]))
			m->jobs[i] = r->n;
	return 0;
}

/* One row of job_histograms: bucket -1 holds the sum. */
struct hist_rec {
	long bucket;
	unsigned long long n;
	double sum;
};

static const struct db_field hist_fields[] = {
	DB_FIELD(struct hist_rec, bucket, DBF_LONG, "bucket"),
	DB_FIELD(struct hist_rec, n, DBF_ULLONG, "n"),
	DB_FIELD(struct hist_rec, sum, DBF_DOUBLE, "sum"),
};

static int
hist_row(void *rec, void *arg)
{
	const struct hist_rec *r = rec;
	struct metrics_read *m = arg;

	if (r->bucket == -1)
		m->sum = r->sum;
	else if (r->bucket >= 0 && r->bucket <= JOB_HIST_N)
		m->buckets[r->bucket] = r->n;
	return 0;
}

/* The daemons' histogram of metric as name. Returns 0 or -1 (db). */
static int
job_histogram(struct kreq *req, struct metrics_read *m, const char *metric,
	const char *name, const char *help)
{
	struct db_param p[1] = { DB_STR(metric) };
	struct hist_rec r;

	memset(m->buckets, 0, sizeof(m->buckets));
	m->sum = 0;
	if (db_query_into(req->app->db, "SELECT bucket, n, sum"
	    " FROM job_histograms WHERE metric = ?", p, 1, hist_fields,
	    DB_NFIELDS(hist_fields), &r, hist_row, m) < 0)
		return -1;
	m->rc |= buf_printf(m->out, "# HELP %s %s\n# TYPE %s histogram\n",
		name, help, name);
	m->rc |= metrics_histogram(m->out, name, "", job_hist_bounds,
		JOB_HIST_N, m->buckets, m->sum);
	return 0;
}

/* One kiln_alert_firing series per rule. */
static int
alert_row(const struct db_row *row, void *arg)
{
	struct metrics_read *m = arg;

	m->rc |= buf_printf(m->out, "kiln_alert_firing{rule=\"%s\"} %s\n",
		row->cols[0], row->cols[1] ? row->cols[1] : "0");
	return 0;
}

int
page_metrics(struct kreq *req)
{
	struct metrics_read m = { &req->out, { 0 }, { 0 }, 0, 0 };
	struct state_rec sr;
	char dir[4096];
	long v;
	int i;
	int st = metrics_allowed(req);

	if (st <= 0)
		return -1;
	buf_reset(&req->out);
	if (db_ensure(req->app->db) != 0)
		goto down;
	m.rc |= buf_puts(&req->out, "# HELP kiln_jobs Jobs in each state "
		"now (deleted ones included).\n# TYPE kiln_jobs gauge\n");
	/* Every state is reported, 0 when no job is in it: the list is
	 * job_statuses[], not the rows found. */
	if (db_query_into(req->app->db, "SELECT status, COUNT(*) AS n"
	    " FROM jobs GROUP BY status", NULL, 0, state_fields,
	    DB_NFIELDS(state_fields), &sr, jobs_row, &m) < 0)
		goto down;
	for (i = 0; i < JOB_NSTATUSES; i++)
		m.rc |= buf_printf(&req->out, "kiln_jobs{status=\"%s\"} %llu\n",
			job_statuses[i], m.jobs[i]);
	if (db_query_long(req->app->db, "SELECT COUNT(*) FROM jobs WHERE status"
	    " = 'queued'", NULL, 0, &v) != 0)
		goto down;
	m.rc |= buf_printf(&req->out, "# HELP kiln_queue_depth Jobs waiting "
		"for a render daemon.\n# TYPE kiln_queue_depth gauge\n"
		"kiln_queue_depth %ld\n", v);
	if (db_query_long(req->app->db, "SELECT COALESCE(TIMESTAMPDIFF(SECOND,"
	    " MIN(created_at), NOW(3)), 0) FROM jobs WHERE status = 'queued'",
	    NULL, 0, &v) != 0)
		goto down;
	m.rc |= buf_printf(&req->out, "# HELP kiln_queue_oldest_seconds How "
		"long the oldest queued job has waited.\n"
		"# TYPE kiln_queue_oldest_seconds gauge\n"
		"kiln_queue_oldest_seconds %ld\n", v);
	v = fleet_online(req->app->db, req->app->cfg.heartbeat_interval);
	if (v < 0)
		goto down;
	m.rc |= buf_printf(&req->out, "# HELP kiln_daemons_online Render "
		"daemons with a fresh heartbeat.\n"
		"# TYPE kiln_daemons_online gauge\n"
		"kiln_daemons_online %ld\n", v);
	if (db_query_long(req->app->db, "SELECT COALESCE(SUM(anomalies), 0)"
	    " FROM render_stats", NULL, 0, &v) != 0)
		goto down;
	m.rc |= buf_printf(&req->out, "# HELP kiln_render_anomalies_total "
		"Renders slower than mean + 3 sd of their model and size.\n"
		"# TYPE kiln_render_anomalies_total counter\n"
		"kiln_render_anomalies_total %ld\n", v);
	{
		struct statvfs sv;

		/* Left out when the directory cannot be measured from here
		 * (a web host without the artifacts): absent, not 0, so no
		 * disk alert fires for it. */
		if (statvfs(req->app->cfg.artifacts_dir, &sv) == 0 &&
		    sv.f_blocks != 0)
			m.rc |= buf_printf(&req->out, "# HELP "
				"kiln_artifacts_free_ratio Free share of the "
				"artifacts directory's file system.\n"
				"# TYPE kiln_artifacts_free_ratio gauge\n"
				"kiln_artifacts_free_ratio %.4f\n",
				(double)sv.f_bavail / (double)sv.f_blocks);
	}
	m.rc |= buf_puts(&req->out, "# HELP kiln_alert_firing Alert rules "
		"of /admin/alerts firing now (1) or not (0).\n"
		"# TYPE kiln_alert_firing gauge\n");
	if (db_query(req->app->db, "SELECT name, state = 'firing' FROM"
	    " alert_rules ORDER BY name", NULL, 0, alert_row, &m) < 0)
		goto down;
	if (job_histogram(req, &m, "queue_wait", "kiln_job_queue_wait_seconds",
	    "Time from submission to the first start of a job.") != 0 ||
	    job_histogram(req, &m, "render", "kiln_job_render_seconds",
	    "Render time of each job that succeeded (all its images).") != 0)
		goto down;
	if (metrics_dir(req->app->cfg.metrics_dir, req->app->cfg.artifacts_dir,
	    dir, sizeof(dir)) != 0 || metrics_format(dir, &req->out) != 0 ||
	    m.rc != 0) {
		buf_reset(&req->out);
		return resp_error_json(req, 500, "internal", "out of memory", NULL);
	}
	req->status = 200;
	req->ctype = "text/plain; version=0.0.4; charset=utf-8";
	resp_header(req, "Cache-Control", "no-store");
	return 0;
down:
	log_error("metrics: %s", db_error(req->app->db));
	buf_reset(&req->out);
	return resp_error_json(req, 503, "database_unavailable", "the "
		"database could not answer", NULL);
}
