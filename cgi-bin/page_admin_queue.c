/* page_admin_queue.c - /admin/queue: every job with filters, the render
 * daemons with their host, devices, heartbeat and current job, queue
 * depth and waits, the number of accounts and the schema version;
 * cancel any job, requeue a failed or canceled one. */
#include "accounts.h"
#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "jobs.h"
#include "log.h"
#include "view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 100

int
page_admin_queue(struct kreq *req)
{
	const char *status = req_query(req, "status");
	const char *user = req_query(req, "user");
	const char *anomaly = req_query(req, "anomaly");
	struct db_param p[8];
	long bid = (long)req_query_id(req, "before"), n;
	char *like;
	size_t i;

	if (status != NULL && !job_status_valid(status))
		status = NULL;		/* an unknown filter shows all */
	/* Waits over the last hour's starts; renders over the last day. */
	if (view_rows(req, "Queue.Stats", "SELECT"
	    " SUM(status = 'queued') AS Queued,"
	    " SUM(status = 'running') AS Running,"
	    " COALESCE(TIMESTAMPDIFF(SECOND, MIN(IF(status = 'queued',"
	    " created_at, NULL)), NOW(3)), 0) AS OldestWait,"
	    " COALESCE(ROUND(AVG(IF(started_at > NOW(3) - INTERVAL 1 HOUR,"
	    " TIMESTAMPDIFF(MICROSECOND, created_at, started_at) / 1e6,"
	    " NULL)), 1), '') AS MeanWait,"
	    " COALESCE(ROUND(AVG(IF(finished_at > NOW(3) - INTERVAL 1 DAY,"
	    " render_s, NULL)), 2), '') AS MeanRender,"
	    " SUM(status = 'failed' AND finished_at > NOW(3) - INTERVAL 1 DAY)"
	    " AS Failed24h, SUM(anomaly) AS Anomalies"
	    " FROM jobs", NULL, 0) < 0)
		return view_db_fail(req, "queue: stats");
	p[0] = DB_INT(3 * req->app->cfg.heartbeat_interval);
	if (view_rows(req, "Queue.Daemons", "SELECT d.name AS Name,"
	    " d.host AS Host, d.state AS State, d.devices AS Devices,"
	    " DATE_FORMAT(d.heartbeat_at, '%Y-%m-%d %H:%i:%s') AS Heartbeat,"
	    " (d.state <> 'stopped' AND"
	    " d.heartbeat_at > NOW(3) - INTERVAL ? SECOND) AS Online,"
	    " j.id AS JobId, j.step AS JobStep, j.steps_total AS JobSteps"
	    " FROM daemons d"
	    " LEFT JOIN jobs j ON j.status = 'running' AND j.claimed_by = d.name"
	    " ORDER BY d.name LIMIT 100", p, 1) < 0)
		return view_db_fail(req, "queue: daemons");
	/* What the front page no longer tells anonymous visitors. */
	if (view_rows(req, "Queue.Site", "SELECT"
	    " (SELECT COALESCE(MAX(version), 0) FROM schema_migrations)"
	    " AS SchemaVersion, (SELECT COUNT(*) FROM users) AS Users",
	    NULL, 0) < 0)
		return view_db_fail(req, "queue: site");
	like = like_pattern(user ? user : "");
	p[0] = DB_STR(status ? status : "");
	p[1] = DB_STR(status ? status : "");
	p[2] = DB_STR(like);
	p[3] = DB_INT(anomaly != NULL && !strcmp(anomaly, "1"));
	p[4] = DB_INT(bid);
	p[5] = DB_INT(bid);
	p[6] = DB_INT(PAGE);
	n = view_rows(req, "Queue.Jobs", "SELECT j.id AS Id,"
		" COALESCE(u.username, '') AS User, j.status AS Status,"
		" LEFT(j.prompt, 80) AS Prompt, j.model AS Model,"
		" j.width AS Width, j.height AS Height, j.steps AS Steps,"
		" j.batch_count AS Batch,"
		" DATE_FORMAT(j.created_at, '%Y-%m-%d %H:%i:%s') AS Created,"
		" COALESCE(j.daemon, '') AS Daemon, j.attempt AS Attempt,"
		" j.anomaly AS Anomaly,"
		" COALESCE(LEFT(j.error, 200), '') AS Error,"
		" COALESCE(ROUND(j.render_s, 2), '') AS RenderS"
		" FROM jobs j LEFT JOIN users u ON u.id = j.user_id"
		" WHERE j.deleted_at IS NULL AND (? = '' OR j.status = ?)"
		" AND COALESCE(u.username, '') LIKE ?"
		" AND (? = 0 OR j.anomaly = 1) AND (? = 0 OR j.id < ?)"
		" ORDER BY j.id DESC LIMIT ?", p, 7);
	free(like);
	if (n < 0)
		return view_db_fail(req, "queue: jobs");
	view_set_int(req, "Queue.Count", n);
	view_set(req, "Queue.Filter.Status", status ? status : "");
	view_set(req, "Queue.Filter.User", user ? user : "");
	view_set(req, "Queue.Filter.Anomaly", anomaly ? anomaly : "");
	for (i = 0; i < JOB_NSTATUSES; i++) {
		char key[40];

		snprintf(key, sizeof(key), "Queue.Statuses.%zu", i);
		view_set(req, key, job_statuses[i]);
	}
	if (req_query(req, "done") != NULL)
		view_set(req, "Queue.Done", req_query(req, "done")[0] == 'r' ?
			view_tr(req, "Job queued again.") :
			view_tr(req, "Cancel requested."));
	return view_render(req, 200, "Queue", "admin_queue.cs");
}

int
page_admin_queue_cancel(struct kreq *req)
{
	unsigned long long id = req_id(req, 0);
	int st = id ? job_cancel(req->app->db, id, 0) : 0;

	if (st < 0)
		return view_db_fail(req, "queue: cancel");
	if (st == 0) {
		view_error(req, 404, "not_found", "No queued or running job "
			"with that id.");
		return -1;
	}
	audit(req, "job_cancel", 0, "", "job %llu", id);
	return resp_redirect(req, "/admin/queue?done=canceled");
}

int
page_admin_queue_requeue(struct kreq *req)
{
	unsigned long long id = req_id(req, 0);
	unsigned long long n = 0;
	struct db_param p[1];

	/* A fresh start: attempts, progress and the error are reset, so
	 * the daemons treat it as a new job. */
	p[0] = DB_INT(id);
	if (id != 0 && db_exec(req->app->db, "UPDATE jobs SET status ="
	    " 'queued', attempt = 0, error = NULL, step = 0,"
	    " steps_total = steps * batch_count,"
	    " eta_s = NULL, preview_path = NULL, cancel_requested = 0,"
	    " claimed_by = NULL, lease_until = NULL, started_at = NULL,"
	    " finished_at = NULL, render_s = NULL, anomaly = 0,"
	    " cost = IF(refunded, 0, cost), refunded = 0"
	    " WHERE id = ? AND status IN ('failed', 'canceled')"
	    " AND deleted_at IS NULL", p, 1, &n,
	    NULL) != 0)
		return view_db_fail(req, "queue: requeue");
	if (n == 0) {
		view_error(req, 404, "not_found", "No failed or canceled job "
			"with that id.");
		return -1;
	}
	audit(req, "job_requeue", 0, "", "job %llu", id);
	return resp_redirect(req, "/admin/queue?done=requeued");
}
