/* alerts.c - the alert rules' measures, their state machine and the
 * notices of each incident (alerts.h). */
#include "alerts.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "mail.h"
#include "util.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

const struct alert_def alert_defs[] = {
	{ "anomalies", "Anomalous renders", "renders", 0 },
	{ "queue_depth", "Queue depth", "jobs", 0 },
	{ "oldest_wait", "Oldest queued wait", "seconds", 0 },
	{ "daemon_offline", "Render daemons offline", "daemons", 0 },
	{ "failure_rate", "Failure rate", "of jobs ended", 0 },
	{ "disk_free", "Free space of the artifacts directory", "% free", 1 },
};
const unsigned alert_ndefs = sizeof(alert_defs) / sizeof(alert_defs[0]);

/* Fewer jobs ended in the window than this make no failure rate: one
 * failed job of two is no incident. */
#define FAILURE_RATE_MIN_JOBS 5

const struct alert_def *
alert_def_find(const char *name)
{
	unsigned i;

	for (i = 0; i < alert_ndefs; i++)
		if (strcmp(alert_defs[i].name, name) == 0)
			return &alert_defs[i];
	return NULL;
}

static int
count(struct db *db, const char *sql, long window_s, double *value)
{
	struct db_param p[] = { DB_INT(window_s) };
	long n = 0;

	if (db_query_long(db, sql, p, strchr(sql, '?') ? 1 : 0, &n) != 0)
		return -1;
	*value = (double)n;
	return 0;
}

int
alert_measure(struct db *db, const struct kiln_config *cfg,
    const struct alert_def *def, long window_s, double *value)
{
	*value = 0;
	if (strcmp(def->name, "anomalies") == 0)
		return count(db, "SELECT COUNT(*) FROM jobs WHERE anomaly = 1"
		    " AND finished_at >= NOW(3) - INTERVAL ? SECOND",
		    window_s, value);
	if (strcmp(def->name, "queue_depth") == 0)
		return count(db, "SELECT COUNT(*) FROM jobs"
		    " WHERE status = 'queued'", 0, value);
	if (strcmp(def->name, "oldest_wait") == 0)
		return count(db, "SELECT COALESCE(TIMESTAMPDIFF(SECOND,"
		    " MIN(created_at), NOW(3)), 0) FROM jobs"
		    " WHERE status = 'queued'", 0, value);
	if (strcmp(def->name, "daemon_offline") == 0)
		return count(db, "SELECT COUNT(*) FROM daemons"
		    " WHERE state <> 'stopped'"
		    " AND heartbeat_at < NOW(3) - INTERVAL ? SECOND",
		    window_s, value);
	if (strcmp(def->name, "failure_rate") == 0) {
		struct db_param p[] = { DB_INT(window_s) };
		char *row = NULL;
		long failed = 0, ended = 0;

		if (db_query_string(db, "SELECT CONCAT(COALESCE(SUM(status ="
		    " 'failed'), 0), ' ', COUNT(*)) FROM jobs"
		    " WHERE status IN ('succeeded', 'failed')"
		    " AND finished_at >= NOW(3) - INTERVAL ? SECOND", p, 1,
		    &row) != 0)
			return -1;
		if (row == NULL || sscanf(row, "%ld %ld", &failed,
		    &ended) != 2) {
			free(row);
			return 0;
		}
		free(row);
		if (ended >= FAILURE_RATE_MIN_JOBS)
			*value = (double)failed / (double)ended;
		return 0;
	}
	if (strcmp(def->name, "disk_free") == 0) {
		struct statvfs sv;

		if (statvfs(cfg->artifacts_dir, &sv) != 0 || sv.f_blocks == 0) {
			log_warn("alerts: disk_free: cannot measure %s",
			    cfg->artifacts_dir);
			return -1;
		}
		*value = 100.0 * (double)sv.f_bavail / (double)sv.f_blocks;
		return 0;
	}
	return -1;
}

/* Takes or renews the "alerts" lease for holder. Returns 1 when held, 0
 * when another daemon holds it, -1 on a database error. */
static int
lease(struct db *db, const char *holder, long lease_s)
{
	struct db_param p[] = { DB_STR(holder), DB_INT(lease_s) };
	struct db_param q[] = { DB_STR(holder) };
	long mine = 0;

	/* holder is assigned first, so the second IF sees the new holder:
	 * until moves exactly when the holder is (or became) us. */
	if (db_exec(db, "INSERT INTO keeper_leases (name, holder, until)"
	    " VALUES ('alerts', ?, NOW(3) + INTERVAL ? SECOND)"
	    " ON DUPLICATE KEY UPDATE"
	    " holder = IF(until < NOW(3), VALUES(holder), holder),"
	    " until = IF(holder = VALUES(holder), VALUES(until), until)",
	    p, 2, NULL, NULL) != 0 ||
	    db_query_long(db, "SELECT COUNT(*) FROM keeper_leases"
	    " WHERE name = 'alerts' AND holder = ?", q, 1, &mine) != 0)
		return -1;
	return mine > 0;
}

struct rule {
	char *name;
	int enabled;
	double threshold;
	long window_s;
	long duration_s;
	char *state;
	long pending_for;	/* seconds; -1 when not pending */
	int incident;
	char *fired_at;
};

static const struct db_field rule_fields[] = {
	DB_FIELD(struct rule, name, DBF_DUP, "name"),
	DB_FIELD(struct rule, enabled, DBF_INT, "enabled"),
	DB_FIELD(struct rule, threshold, DBF_DOUBLE, "threshold"),
	DB_FIELD(struct rule, window_s, DBF_LONG, "window_s"),
	DB_FIELD(struct rule, duration_s, DBF_LONG, "duration_s"),
	DB_FIELD(struct rule, state, DBF_DUP, "state"),
	DB_FIELD(struct rule, pending_for, DBF_LONG, "pending_for"),
	DB_FIELD(struct rule, incident, DBF_INT, "incident"),
	DB_FIELD_NULL(struct rule, fired_at, DBF_DUP, "fired_at"),
};

static void
rule_free(struct rule *r)
{
	free(r->name);
	free(r->state);
	free(r->fired_at);
	memset(r, 0, sizeof(*r));
}

/* A number as the notices write it: integers without decimals. */
static void
num(char *out, size_t n, double v)
{
	if (v == (double)(long long)v)
		snprintf(out, n, "%lld", (long long)v);
	else
		snprintf(out, n, "%.3g", v);
}

/* The operators' addresses: [alerts] emails, else every admin with a
 * verified address. Calls fn for each; returns 0 or -1. */
struct mail_to {
	unsigned long long id;
	char *email;
};

static const struct db_field mail_to_fields[] = {
	DB_FIELD(struct mail_to, id, DBF_ULLONG, "id"),
	DB_FIELD(struct mail_to, email, DBF_DUP, "email"),
};

struct mailing {
	struct db *db;
	const struct kiln_config *cfg;
	const char *subject;
	const char *body;
	int failed;
};

static int
mail_one(void *rec, void *arg)
{
	struct mail_to *t = rec;
	struct mailing *m = arg;

	if (mail_queue(m->db, m->cfg, t->id, "alert", t->email, NULL,
	    m->subject, m->body) < 0)
		m->failed = 1;
	free(t->email);
	t->email = NULL;
	return m->failed;
}

static int
mail_operators(struct db *db, const struct kiln_config *cfg,
    const char *subject, const char *body)
{
	struct mailing m = { db, cfg, subject, body, 0 };
	struct mail_to t = { 0, NULL };

	if (!cfg->mail_enabled)
		return 0;
	if (cfg->alerts_emails[0] != '\0') {
		const char *p = cfg->alerts_emails;
		char one[MAIL_ADDR_MAX + 1];

		while (*p != '\0' && !m.failed) {
			size_t n;

			while (*p == ' ' || *p == ',')
				p++;
			n = strcspn(p, " ,");
			/* The config check refused longer ones. */
			if (n == 0 || n > MAIL_ADDR_MAX)
				break;
			memcpy(one, p, n);
			one[n] = '\0';
			t.email = xstrdup(one);
			mail_one(&t, &m);
			p += n;
		}
		return m.failed ? -1 : 0;
	}
	if (db_query_into(db, "SELECT id, email FROM users"
	    " WHERE role = 'admin' AND email IS NOT NULL"
	    " AND email_verified_at IS NOT NULL ORDER BY id", NULL, 0,
	    mail_to_fields, DB_NFIELDS(mail_to_fields), &t, mail_one,
	    &m) < 0) {
		free(t.email);
		return -1;
	}
	free(t.email);
	return m.failed ? -1 : 0;
}

/* Tells incident r->incident of r (kind "firing" or "resolved") at
 * value: its alert_events row (whose unique key refuses a second), the
 * webhook and the mails, all in the caller's transaction. */
static int
tell(struct db *db, const struct kiln_config *cfg, const struct alert_def *def,
    const struct rule *r, const char *kind, double value)
{
	int firing = strcmp(kind, "firing") == 0;
	char v[32], thr[32], ts[32], msg_id[64], event[32];
	char *subject = NULL, *body = NULL;
	json_object *o = NULL, *data;
	time_t now = time(NULL);
	struct tm tm;
	int rc = -1;

	num(v, sizeof(v), value);
	num(thr, sizeof(thr), r->threshold);
	{
		struct db_param p[] = { DB_STR(r->name), DB_INT(r->incident),
			DB_STR(kind), DB_STR(v), DB_STR(thr) };

		if (db_exec(db, "INSERT INTO alert_events (rule, incident,"
		    " kind, value, threshold) VALUES (?, ?, ?, ?, ?)", p, 5,
		    NULL, NULL) != 0)
			goto out;
	}
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(event, sizeof(event), "alert.%s", kind);
	if (cfg->alerts_webhook_url[0] != '\0') {
		const char *text;

		o = json_object_new_object();
		data = json_object_new_object();
		json_object_object_add(o, "type", json_object_new_string(event));
		json_object_object_add(o, "timestamp",
		    json_object_new_string(ts));
		json_object_object_add(data, "rule",
		    json_object_new_string(r->name));
		json_object_object_add(data, "title",
		    json_object_new_string(def->title));
		json_object_object_add(data, "incident",
		    json_object_new_int(r->incident));
		json_object_object_add(data, "state",
		    json_object_new_string(kind));
		json_object_object_add(data, "value",
		    json_object_new_double(value));
		json_object_object_add(data, "threshold",
		    json_object_new_double(r->threshold));
		json_object_object_add(data, "comparison",
		    json_object_new_string(def->below ? "below" : "above"));
		json_object_object_add(data, "window_s",
		    json_object_new_int64(r->window_s));
		json_object_object_add(data, "duration_s",
		    json_object_new_int64(r->duration_s));
		json_object_object_add(data, "site",
		    json_object_new_string(cfg->site_name));
		json_object_object_add(o, "data", data);
		text = json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		/* One id per notice of an incident: a receiver may
		 * deduplicate retries by it. */
		snprintf(msg_id, sizeof(msg_id), "msg_alert_%s_%d_%s",
		    r->name, r->incident, kind);
		{
			struct db_param p[] = { DB_STR(msg_id), DB_STR(event),
				DB_STR(cfg->alerts_webhook_url),
				DB_STR(text) };

			if (text == NULL || db_exec(db, "INSERT INTO"
			    " webhook_deliveries (msg_id, job_id, user_id,"
			    " event, url, payload)"
			    " VALUES (?, NULL, NULL, ?, ?, ?)", p, 4, NULL,
			    NULL) != 0)
				goto out;
		}
	}
	subject = xasprintf("[%s] %s: %s", cfg->site_name,
	    firing ? "FIRING" : "RESOLVED", def->title);
	if (firing)
		body = xasprintf("%s is %s %s (threshold %s %s %s).\n\n"
		    "Rule: %s, incident %d; window %ld s, duration %ld s.\n"
		    "Fired at %s. A recovery notice follows when it clears.\n"
		    "Rules are set at %s/admin/alerts\n",
		    def->title, v, def->unit, def->below ? "below" : "above",
		    thr, def->unit, r->name, r->incident, r->window_s,
		    r->duration_s, ts, cfg->base_url);
	else
		body = xasprintf("%s has recovered: %s %s (threshold %s %s "
		    "%s).\n\nRule: %s, incident %d, fired at %s UTC, resolved "
		    "at %s.\nRules are set at %s/admin/alerts\n", def->title,
		    v, def->unit, def->below ? "below" : "above", thr,
		    def->unit, r->name, r->incident,
		    r->fired_at ? r->fired_at : "?", ts, cfg->base_url);
	if (mail_operators(db, cfg, subject, body) != 0)
		goto out;
	log_info("alert %s incident %d %s (value %s, threshold %s)", r->name,
	    r->incident, kind, v, thr);
	rc = 0;
out:
	json_object_put(o);
	free(subject);
	free(body);
	return rc;
}

/* Moves one rule, in a transaction with its row locked. Returns the
 * number of notices told (0 or 1), or -1. */
static int
evaluate_one(struct db *db, const struct kiln_config *cfg,
    const struct alert_def *def)
{
	struct db_param key[] = { DB_STR(def->name) };
	struct rule r;
	double value = 0;
	int breach, told = 0;
	const char *next;
	long n;

	memset(&r, 0, sizeof(r));
	if (db_exec_text(db, "START TRANSACTION") != 0)
		return -1;
	n = db_query_into(db, "SELECT name, enabled, threshold, window_s,"
	    " duration_s, state, IF(state = 'pending', TIMESTAMPDIFF(SECOND,"
	    " pending_since, NOW(3)), -1) AS pending_for, incident,"
	    " DATE_FORMAT(fired_at, '%Y-%m-%d %H:%i:%s') AS fired_at"
	    " FROM alert_rules WHERE name = ? FOR UPDATE", key, 1,
	    rule_fields, DB_NFIELDS(rule_fields), &r, NULL, NULL);
	if (n <= 0)
		goto fail;
	if (r.enabled && alert_measure(db, cfg, def, r.window_s, &value) != 0)
		goto fail;
	breach = r.enabled && (def->below ? value < r.threshold :
	    value > r.threshold);
	next = r.state;
	if (strcmp(r.state, "firing") == 0) {
		if (!breach) {
			next = "ok";
			if (tell(db, cfg, def, &r, "resolved", value) != 0)
				goto fail;
			told = 1;
		}
	} else if (!breach) {
		next = "ok";
	} else if (r.duration_s == 0 || (strcmp(r.state, "pending") == 0 &&
	    r.pending_for >= r.duration_s)) {
		next = "firing";
		r.incident++;
		if (tell(db, cfg, def, &r, "firing", value) != 0)
			goto fail;
		told = 1;
	} else {
		next = "pending";
	}
	{
		char v[32];
		struct db_param p[] = { DB_STR(next), DB_STR(next),
			DB_STR(r.state), DB_STR(next), DB_STR(next),
			DB_INT(r.incident), DB_NULL, DB_STR(def->name) };

		num(v, sizeof(v), value);
		p[6] = r.enabled ? DB_STR(v) : DB_NULL;
		/* fired_at marks the move to firing (set before state,
		 * which MariaDB assigns in order); pending_since starts
		 * when pending is entered and goes with it. */
		if (db_exec(db, "UPDATE alert_rules SET"
		    " fired_at = IF(? = 'firing' AND state <> 'firing', NOW(3),"
		    "  fired_at), state = ?,"
		    " pending_since = IF(? <> 'pending' AND ? = 'pending',"
		    "  NOW(3), IF(? = 'pending', pending_since, NULL)),"
		    " incident = ?, value = ?, evaluated_at = NOW(3)"
		    " WHERE name = ?", p, 8, NULL, NULL) != 0)
			goto fail;
	}
	if (told && strcmp(next, "ok") == 0) {
		if (db_exec(db, "UPDATE alert_rules SET resolved_at = NOW(3)"
		    " WHERE name = ?", key, 1, NULL, NULL) != 0)
			goto fail;
	}
	if (db_exec_text(db, "COMMIT") != 0)
		goto fail;
	rule_free(&r);
	return told;
fail:
	log_warn("alerts: %s: %s", def->name, db_error(db));
	db_rollback(db);
	rule_free(&r);
	return -1;
}

int
alerts_evaluate(struct db *db, const struct kiln_config *cfg,
    const char *holder, long lease_s)
{
	unsigned i;
	int st, told = 0;

	st = lease(db, holder, lease_s);
	if (st <= 0)
		return st;
	for (i = 0; i < alert_ndefs; i++) {
		st = evaluate_one(db, cfg, &alert_defs[i]);
		/* A rule that failed (a disk not measured) leaves the
		 * others to be evaluated. */
		if (st > 0)
			told += st;
	}
	return told;
}
