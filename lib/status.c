/* status.c - the public status document (status.h). Everything is read
 * from the database on each request, nothing is kept by kilnd: the
 * figures are those of the jobs table and the incidents themselves, so
 * the page cannot drift from them.
 *
 * The 90-day history is computed on the fly from two sources: incidents
 * (a component named in one is degraded, or down for a critical one, on
 * each day it was open) and, for a model, its jobs' failure rate that
 * day (10% failed: degraded, 50%: down). Both are bounded reads: the
 * jobs by the jobs_finished index over 90 days, grouped in the database,
 * and at most STATUS_MAX_INCIDENTS incidents. */
#include "status.h"
#include "db.h"
#include "fleet.h"
#include "util.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* At most this many models get a component, and this many incidents
 * (open and resolved within the history) are shown. */
#define STATUS_MAX_MODELS 32
#define STATUS_MAX_INCIDENTS 100
#define STATUS_MAX_COMPONENTS (2 + STATUS_MAX_MODELS + 16)
/* A queued job older than this (seconds) makes the queue degraded. */
#define STATUS_SLOW_QUEUE 600.0

const char *const status_severities[] = { "minor", "major", "critical",
	NULL };
const char *const status_updates[] = { "investigating", "identified",
	"monitoring", "resolved", NULL };

enum state { ST_OK, ST_DEGRADED, ST_OUTAGE, ST_MAINTENANCE };
static const char *const state_names[] = { "operational", "degraded",
	"outage", "maintenance" };

struct component {
	char name[129];
	enum state now;
	enum state days[STATUS_HISTORY_DAYS];	/* oldest first */
};

struct doc {
	struct component comp[STATUS_MAX_COMPONENTS];
	size_t ncomp;
	json_object *models;		/* array of per-model figures */
	json_object *current, *past;	/* incidents */
	json_object *maintenance;	/* windows not yet over */
	int in_maintenance;		/* one of them is on now */
	json_object *by_id[STATUS_MAX_INCIDENTS];
	unsigned long long ids[STATUS_MAX_INCIDENTS];
	size_t nincidents;
};

static struct component *
component(struct doc *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->ncomp; i++)
		if (strcmp(d->comp[i].name, name) == 0)
			return &d->comp[i];
	if (d->ncomp == STATUS_MAX_COMPONENTS || strlen(name) >=
	    sizeof(d->comp[0].name) || *name == '\0')
		return NULL;
	memset(&d->comp[d->ncomp], 0, sizeof(d->comp[0]));
	strcpy(d->comp[d->ncomp].name, name);
	return &d->comp[d->ncomp++];
}

static void
worsen(enum state *s, enum state to)
{
	if (to > *s)
		*s = to;
}

/* A day index of the history (0 oldest) from "days ago". */
static int
day_index(long ago)
{
	if (ago < 0)
		ago = 0;
	if (ago > STATUS_HISTORY_DAYS - 1)
		ago = STATUS_HISTORY_DAYS - 1;
	return STATUS_HISTORY_DAYS - 1 - (int)ago;
}

/* A number of seconds with three decimals (milliseconds), as JSON. */
static json_object *
seconds(double v)
{
	char s[32];

	snprintf(s, sizeof(s), "%.3f", v);
	return json_object_new_double_s(strtod(s, NULL), s);
}

/* --- per-model percentiles --------------------------------------------- */

struct pct_rec {
	const char *span, *model;
	long n;
	double w50, w95, r50, r95;
};

static const struct db_field pct_fields[] = {
	DB_FIELD(struct pct_rec, span, DBF_STR, "span"),
	DB_FIELD(struct pct_rec, model, DBF_STR, "model"),
	DB_FIELD(struct pct_rec, n, DBF_LONG, "n"),
	DB_FIELD(struct pct_rec, w50, DBF_DOUBLE, "w50"),
	DB_FIELD(struct pct_rec, w95, DBF_DOUBLE, "w95"),
	DB_FIELD(struct pct_rec, r50, DBF_DOUBLE, "r50"),
	DB_FIELD(struct pct_rec, r95, DBF_DOUBLE, "r95"),
};

static json_object *
pair(double p50, double p95)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "p50", seconds(p50));
	json_object_object_add(o, "p95", seconds(p95));
	return o;
}

/* The model's entry of d->models, made on first use. */
static json_object *
model_entry(struct doc *d, const char *model)
{
	size_t i, n = json_object_array_length(d->models);
	json_object *m, *v;

	for (i = 0; i < n; i++) {
		m = json_object_array_get_idx(d->models, i);
		if (json_object_object_get_ex(m, "model", &v) &&
		    strcmp(json_object_get_string(v), model) == 0)
			return m;
	}
	m = json_object_new_object();
	json_object_object_add(m, "model", json_object_new_string(model));
	json_object_array_add(d->models, m);
	return m;
}

static int
pct_cb(void *rec, void *arg)
{
	const struct pct_rec *r = rec;
	struct doc *d = arg;
	json_object *s = json_object_new_object();

	json_object_object_add(s, "jobs", json_object_new_int64(r->n));
	json_object_object_add(s, "queue_wait_s", pair(r->w50, r->w95));
	json_object_object_add(s, "render_s", pair(r->r50, r->r95));
	json_object_object_add(model_entry(d, r->model), r->span, s);
	return 0;
}

/* Queue wait is started_at - created_at, render time finished_at -
 * started_at, of the jobs that succeeded in the span (by finished_at).
 * PERCENTILE_CONT interpolates linearly between the two nearest ranks
 * (position p * (n - 1)), the rule of Python's statistics.quantiles
 * with method="inclusive". */
static int
percentiles(struct db *db, struct doc *d)
{
	static const char *const sql =
		"SELECT DISTINCT span, model,"
		" COUNT(*) OVER (PARTITION BY span, model) AS n,"
		" PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY wait)"
		"  OVER (PARTITION BY span, model) AS w50,"
		" PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY wait)"
		"  OVER (PARTITION BY span, model) AS w95,"
		" PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY render)"
		"  OVER (PARTITION BY span, model) AS r50,"
		" PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY render)"
		"  OVER (PARTITION BY span, model) AS r95"
		" FROM (SELECT 'day' AS span, model,"
		"  TIMESTAMPDIFF(MICROSECOND, created_at, started_at) / 1e6"
		"  AS wait,"
		"  TIMESTAMPDIFF(MICROSECOND, started_at, finished_at) / 1e6"
		"  AS render"
		"  FROM jobs WHERE finished_at >= NOW(3) - INTERVAL 1 DAY"
		"  AND status = 'succeeded' AND started_at IS NOT NULL"
		" UNION ALL SELECT 'hour', model,"
		"  TIMESTAMPDIFF(MICROSECOND, created_at, started_at) / 1e6,"
		"  TIMESTAMPDIFF(MICROSECOND, started_at, finished_at) / 1e6"
		"  FROM jobs WHERE finished_at >= NOW(3) - INTERVAL 1 HOUR"
		"  AND status = 'succeeded' AND started_at IS NOT NULL) t"
		" ORDER BY model, span";
	struct pct_rec r;

	memset(&r, 0, sizeof(r));
	return db_query_into(db, sql, NULL, 0, pct_fields,
		DB_NFIELDS(pct_fields), &r, pct_cb, d) < 0 ? -1 : 0;
}

/* --- model failure rates per day ---------------------------------------- */

struct fail_rec {
	const char *model;
	long ago, failed, total;
};

static const struct db_field fail_fields[] = {
	DB_FIELD(struct fail_rec, model, DBF_STR, "model"),
	DB_FIELD(struct fail_rec, ago, DBF_LONG, "ago"),
	DB_FIELD(struct fail_rec, failed, DBF_LONG, "failed"),
	DB_FIELD(struct fail_rec, total, DBF_LONG, "total"),
};

static int
fail_cb(void *rec, void *arg)
{
	const struct fail_rec *r = rec;
	struct doc *d = arg;
	struct component *c = component(d, r->model);

	if (c == NULL || r->total == 0)
		return 0;
	if (r->failed * 2 >= r->total)
		worsen(&c->days[day_index(r->ago)], ST_OUTAGE);
	else if (r->failed * 10 >= r->total && r->failed > 0)
		worsen(&c->days[day_index(r->ago)], ST_DEGRADED);
	return 0;
}

static int
failures(struct db *db, struct doc *d)
{
	struct db_param p[2] = { DB_INT(STATUS_HISTORY_DAYS - 1),
		DB_INT(STATUS_HISTORY_DAYS * STATUS_MAX_MODELS) };
	struct fail_rec r;

	memset(&r, 0, sizeof(r));
	/* The models of the window first, by name, so each gets its
	 * component in a stable order (the LIMIT bounds the rows: one per
	 * model and day). */
	return db_query_into(db, "SELECT model,"
		" DATEDIFF(CURDATE(), finished_at) AS ago,"
		" SUM(status = 'failed') AS failed, COUNT(*) AS total"
		" FROM jobs WHERE finished_at >= CURDATE() - INTERVAL ? DAY"
		" AND status IN ('succeeded', 'failed')"
		" GROUP BY model, ago ORDER BY model, ago LIMIT ?", p, 2,
		fail_fields, DB_NFIELDS(fail_fields), &r, fail_cb, d) < 0 ?
		-1 : 0;
}

/* --- incidents ---------------------------------------------------------- */

struct inc_rec {
	unsigned long long id;
	const char *title, *components, *severity, *status;
	const char *created, *updated, *resolved;
	long first_ago, last_ago;
};

static const struct db_field inc_fields[] = {
	DB_FIELD(struct inc_rec, id, DBF_ULLONG, "id"),
	DB_FIELD(struct inc_rec, title, DBF_STR, "title"),
	DB_FIELD(struct inc_rec, components, DBF_STR, "components"),
	DB_FIELD(struct inc_rec, severity, DBF_STR, "severity"),
	DB_FIELD(struct inc_rec, status, DBF_STR, "status"),
	DB_FIELD(struct inc_rec, created, DBF_STR, "created"),
	DB_FIELD(struct inc_rec, updated, DBF_STR, "updated"),
	DB_FIELD_NULL(struct inc_rec, resolved, DBF_STR, "resolved"),
	DB_FIELD(struct inc_rec, first_ago, DBF_LONG, "first_ago"),
	DB_FIELD(struct inc_rec, last_ago, DBF_LONG, "last_ago"),
};

/* Adds each name of an incident's components list to names, and
 * worsens that component's days the incident was open (and its state
 * now, while it is) to sev. */
static void
each_component(struct doc *d, const char *list, json_object *names,
	enum state sev, const struct inc_rec *r)
{
	const char *p = list, *e;
	char name[129];
	struct component *c;
	int i;

	while (*p != '\0') {
		while (*p == ',' || *p == ' ')
			p++;
		e = p;
		while (*e != '\0' && *e != ',' && *e != ' ')
			e++;
		if (e > p && (size_t)(e - p) < sizeof(name)) {
			memcpy(name, p, (size_t)(e - p));
			name[e - p] = '\0';
			json_object_array_add(names,
				json_object_new_string(name));
			c = component(d, name);
			if (c != NULL) {
				for (i = day_index(r->first_ago);
				    i <= day_index(r->last_ago); i++)
					worsen(&c->days[i], sev);
				if (r->resolved == NULL)
					worsen(&c->now, sev);
			}
		}
		p = e;
	}
}

static int
inc_cb(void *rec, void *arg)
{
	const struct inc_rec *r = rec;
	struct doc *d = arg;
	enum state sev = strcmp(r->severity, "critical") == 0 ? ST_OUTAGE :
		ST_DEGRADED;
	json_object *o, *names;

	if (d->nincidents == STATUS_MAX_INCIDENTS)
		return 0;
	o = json_object_new_object();
	names = json_object_new_array();
	json_object_object_add(o, "id", json_object_new_int64((int64_t)r->id));
	json_object_object_add(o, "title", json_object_new_string(r->title));
	each_component(d, r->components, names, sev, r);
	json_object_object_add(o, "components", names);
	json_object_object_add(o, "severity",
		json_object_new_string(r->severity));
	json_object_object_add(o, "status", json_object_new_string(r->status));
	json_object_object_add(o, "created_at",
		json_object_new_string(r->created));
	json_object_object_add(o, "updated_at",
		json_object_new_string(r->updated));
	json_object_object_add(o, "resolved_at", r->resolved != NULL ?
		json_object_new_string(r->resolved) : NULL);
	json_object_object_add(o, "updates", json_object_new_array());
	d->by_id[d->nincidents] = o;
	d->ids[d->nincidents++] = r->id;
	json_object_array_add(r->resolved == NULL ? d->current : d->past, o);
	return 0;
}

struct upd_rec {
	unsigned long long incident;
	const char *status, *message, *created;
};

static const struct db_field upd_fields[] = {
	DB_FIELD(struct upd_rec, incident, DBF_ULLONG, "incident_id"),
	DB_FIELD(struct upd_rec, status, DBF_STR, "status"),
	DB_FIELD(struct upd_rec, message, DBF_STR, "message"),
	DB_FIELD(struct upd_rec, created, DBF_STR, "created"),
};

static int
upd_cb(void *rec, void *arg)
{
	const struct upd_rec *r = rec;
	struct doc *d = arg;
	json_object *u, *list;
	size_t i;

	for (i = 0; i < d->nincidents; i++)
		if (d->ids[i] == r->incident)
			break;
	if (i == d->nincidents ||
	    !json_object_object_get_ex(d->by_id[i], "updates", &list))
		return 0;
	u = json_object_new_object();
	json_object_object_add(u, "status", json_object_new_string(r->status));
	json_object_object_add(u, "message",
		json_object_new_string(r->message));
	json_object_object_add(u, "created_at",
		json_object_new_string(r->created));
	json_object_array_add(list, u);
	return 0;
}

#define ISO "'%Y-%m-%dT%H:%i:%sZ'"

static int
incidents(struct db *db, struct doc *d)
{
	struct db_param p[3] = { DB_INT(STATUS_HISTORY_DAYS),
		DB_INT(STATUS_HISTORY_DAYS - 1), DB_INT(STATUS_MAX_INCIDENTS) };
	struct inc_rec r;
	struct upd_rec u;

	memset(&r, 0, sizeof(r));
	memset(&u, 0, sizeof(u));
	/* Open ones first, then the newest. */
	if (db_query_into(db, "SELECT id, title, components, severity,"
	    " status, DATE_FORMAT(created_at, " ISO ") AS created,"
	    " DATE_FORMAT(updated_at, " ISO ") AS updated,"
	    " DATE_FORMAT(resolved_at, " ISO ") AS resolved,"
	    " DATEDIFF(CURDATE(), created_at) AS first_ago,"
	    " DATEDIFF(CURDATE(), COALESCE(resolved_at, NOW())) AS last_ago"
	    " FROM incidents WHERE resolved_at IS NULL"
	    " OR resolved_at >= CURDATE() - INTERVAL ? DAY"
	    " ORDER BY resolved_at IS NULL DESC, created_at DESC, id DESC"
	    " LIMIT ?", (struct db_param[]){ p[0], p[2] }, 2, inc_fields,
	    DB_NFIELDS(inc_fields), &r, inc_cb, d) < 0)
		return -1;
	if (d->nincidents == 0)
		return 0;
	return db_query_into(db, "SELECT u.incident_id, u.status, u.message,"
		" DATE_FORMAT(u.created_at, " ISO ") AS created"
		" FROM incident_updates u JOIN incidents i"
		" ON i.id = u.incident_id WHERE i.resolved_at IS NULL"
		" OR i.resolved_at >= CURDATE() - INTERVAL ? DAY"
		" ORDER BY u.id LIMIT 5000", p, 1, upd_fields,
		DB_NFIELDS(upd_fields), &u, upd_cb, d) < 0 ? -1 : 0;
}

/* --- maintenance windows ------------------------------------------------ */

struct mw_rec {
	unsigned long long id;
	const char *title, *message, *mode, *starts, *ends;
	long active;
};

static const struct db_field mw_fields[] = {
	DB_FIELD(struct mw_rec, id, DBF_ULLONG, "id"),
	DB_FIELD(struct mw_rec, title, DBF_STR, "title"),
	DB_FIELD(struct mw_rec, message, DBF_STR, "message"),
	DB_FIELD(struct mw_rec, mode, DBF_STR, "mode"),
	DB_FIELD(struct mw_rec, starts, DBF_STR, "starts"),
	DB_FIELD(struct mw_rec, ends, DBF_STR, "ends"),
	DB_FIELD(struct mw_rec, active, DBF_LONG, "active"),
};

static int
mw_cb(void *rec, void *arg)
{
	const struct mw_rec *r = rec;
	struct doc *d = arg;
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64((int64_t)r->id));
	json_object_object_add(o, "title", json_object_new_string(r->title));
	json_object_object_add(o, "message",
		json_object_new_string(r->message));
	/* refuse: new jobs get 503; hold: they queue and wait. */
	json_object_object_add(o, "mode", json_object_new_string(r->mode));
	json_object_object_add(o, "starts_at",
		json_object_new_string(r->starts));
	json_object_object_add(o, "ends_at", json_object_new_string(r->ends));
	json_object_object_add(o, "active",
		json_object_new_boolean(r->active != 0));
	json_object_array_add(d->maintenance, o);
	if (r->active)
		d->in_maintenance = 1;
	return 0;
}

static int
maintenance(struct db *db, struct doc *d)
{
	struct mw_rec r;

	memset(&r, 0, sizeof(r));
	return db_query_into(db, "SELECT id, title, message, mode,"
		" DATE_FORMAT(starts_at, " ISO ") AS starts,"
		" DATE_FORMAT(ends_at, " ISO ") AS ends,"
		" starts_at <= NOW(3) AS active FROM maintenance_windows"
		" WHERE canceled_at IS NULL AND ends_at > NOW(3)"
		" ORDER BY starts_at, id LIMIT 20", NULL, 0, mw_fields,
		DB_NFIELDS(mw_fields), &r, mw_cb, d) < 0 ? -1 : 0;
}

/* --- the document -------------------------------------------------------- */

struct queue_rec {
	long queued, running;
	double oldest;
};

static const struct db_field queue_fields[] = {
	DB_FIELD(struct queue_rec, queued, DBF_LONG, "queued"),
	DB_FIELD(struct queue_rec, running, DBF_LONG, "running"),
	DB_FIELD(struct queue_rec, oldest, DBF_DOUBLE, "oldest"),
};

/* The date of day i of the history (0 oldest), today being today. */
static void
history_date(const char *today, int i, char out[11])
{
	struct tm tm;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(today, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday) != 3) {
		snprintf(out, 11, "?");
		return;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_hour = 12;
	t = timegm(&tm) - (time_t)(STATUS_HISTORY_DAYS - 1 - i) * 86400;
	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

static json_object *
components_json(struct doc *d, const char *today)
{
	json_object *arr = json_object_new_array(), *c, *h, *day;
	char date[11];
	size_t i;
	int k;

	for (i = 0; i < d->ncomp; i++) {
		c = json_object_new_object();
		h = json_object_new_array();
		json_object_object_add(c, "name",
			json_object_new_string(d->comp[i].name));
		json_object_object_add(c, "state",
			json_object_new_string(state_names[d->comp[i].now]));
		for (k = 0; k < STATUS_HISTORY_DAYS; k++) {
			day = json_object_new_object();
			history_date(today, k, date);
			json_object_object_add(day, "date",
				json_object_new_string(date));
			json_object_object_add(day, "state",
				json_object_new_string(
				state_names[d->comp[i].days[k]]));
			json_object_array_add(h, day);
		}
		json_object_object_add(c, "history", h);
		json_object_array_add(arr, c);
	}
	return arr;
}

json_object *
status_build(struct db *db, long heartbeat_interval)
{
	struct doc *d = xcalloc(1, sizeof(*d));
	json_object *root = NULL, *q, *dm, *inc;
	struct queue_rec qr = { 0, 0, 0 };
	struct component *c;
	char *today = NULL, *now = NULL;
	enum state overall = ST_OK;
	long online;
	size_t i;

	d->models = json_object_new_array();
	d->current = json_object_new_array();
	d->past = json_object_new_array();
	d->maintenance = json_object_new_array();
	/* web and queue first; the models in the order the failure query
	 * gives (by name); components only incidents name last. */
	component(d, "web");
	component(d, "queue");
	if ((online = fleet_online(db, heartbeat_interval)) < 0 ||
	    db_query_string(db, "SELECT DATE_FORMAT(CURDATE(), '%Y-%m-%d')",
	    NULL, 0, &today) != 0 || today == NULL ||
	    db_query_string(db, "SELECT DATE_FORMAT(NOW(), " ISO ")", NULL,
	    0, &now) != 0 || now == NULL ||
	    db_query_into(db, "SELECT COALESCE(SUM(status = 'queued'), 0)"
	    " AS queued, COALESCE(SUM(status = 'running'), 0) AS running,"
	    " COALESCE(TIMESTAMPDIFF(MICROSECOND, MIN(IF(status = 'queued',"
	    " created_at, NULL)), NOW(3)) / 1e6, 0) AS oldest FROM jobs"
	    " WHERE status IN ('queued', 'running')", NULL, 0, queue_fields,
	    DB_NFIELDS(queue_fields), &qr, NULL, NULL) < 0 ||
	    failures(db, d) != 0 || percentiles(db, d) != 0 ||
	    incidents(db, d) != 0 || maintenance(db, d) != 0)
		goto done;

	/* Nothing renders without a daemon; a queue whose oldest job has
	 * waited past STATUS_SLOW_QUEUE is slow. Incidents worsened each
	 * component they name already. */
	c = component(d, "queue");
	if (online == 0)
		worsen(&c->now, ST_OUTAGE);
	else if (qr.oldest > STATUS_SLOW_QUEUE)
		worsen(&c->now, ST_DEGRADED);
	for (i = 0; i < d->ncomp; i++) {
		worsen(&overall, d->comp[i].now);
		/* Today's square shows the state now too. */
		worsen(&d->comp[i].days[STATUS_HISTORY_DAYS - 1],
			d->comp[i].now);
	}

	/* A maintenance window on now says why whatever is slow or down
	 * is: it is the state shown. */
	if (d->in_maintenance)
		overall = ST_MAINTENANCE;
	root = json_object_new_object();
	json_object_object_add(root, "state",
		json_object_new_string(state_names[overall]));
	json_object_object_add(root, "updated_at",
		json_object_new_string(now));
	dm = json_object_new_object();
	json_object_object_add(dm, "online", json_object_new_int64(online));
	json_object_object_add(root, "daemons", dm);
	q = json_object_new_object();
	json_object_object_add(q, "queued", json_object_new_int64(qr.queued));
	json_object_object_add(q, "running",
		json_object_new_int64(qr.running));
	json_object_object_add(q, "oldest_wait_s", seconds(qr.oldest));
	json_object_object_add(root, "queue", q);
	json_object_object_add(root, "models", json_object_get(d->models));
	json_object_object_add(root, "components", components_json(d, today));
	inc = json_object_new_object();
	json_object_object_add(inc, "current", json_object_get(d->current));
	json_object_object_add(inc, "past", json_object_get(d->past));
	json_object_object_add(root, "incidents", inc);
	json_object_object_add(root, "maintenance",
		json_object_get(d->maintenance));
done:
	json_object_put(d->models);
	json_object_put(d->current);
	json_object_put(d->past);
	json_object_put(d->maintenance);
	free(today);
	free(now);
	free(d);
	return root;
}

/* --- XML ----------------------------------------------------------------- */

int
xml_escape(struct buf *b, const char *s)
{
	const char *run = s;
	const char *ent;

	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		switch (ch) {
		case '<': ent = "&lt;"; break;
		case '>': ent = "&gt;"; break;
		case '&': ent = "&amp;"; break;
		case '"': ent = "&quot;"; break;
		case '\'': ent = "&#39;"; break;
		default:
			ent = ch < 0x20 && ch != '\t' && ch != '\n' &&
				ch != '\r' ? "" : NULL;
		}
		if (ent == NULL)
			continue;
		if (buf_append(b, run, (size_t)(s - run)) != 0 ||
		    buf_puts(b, ent) != 0)
			return -1;
		run = s + 1;
	}
	return buf_append(b, run, (size_t)(s - run));
}

static const char *
str_of(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return "";
	return json_object_get_string(v);
}

/* One element <name>text</name>, text escaped. */
static int
element(struct buf *b, const char *name, const char *text)
{
	return buf_printf(b, "<%s>", name) != 0 || xml_escape(b, text) != 0 ||
		buf_printf(b, "</%s>\n", name) != 0 ? -1 : 0;
}

static int
atom_entry(struct buf *b, json_object *inc, const char *base)
{
	json_object *ups, *comps, *u;
	char id[32];
	size_t i, n;
	int rc = 0;

	snprintf(id, sizeof(id), "%s", str_of(inc, "id"));
	rc |= buf_puts(b, "<entry>\n<id>");
	rc |= xml_escape(b, base);
	rc |= buf_printf(b, "/status#incident-%s</id>\n", id);
	rc |= element(b, "title", str_of(inc, "title"));
	rc |= element(b, "published", str_of(inc, "created_at"));
	rc |= element(b, "updated", str_of(inc, "updated_at"));
	rc |= buf_puts(b, "<link rel=\"alternate\" type=\"text/html\" href=\"");
	rc |= xml_escape(b, base);
	rc |= buf_printf(b, "/status#incident-%s\"/>\n", id);
	rc |= buf_puts(b, "<content type=\"text\">");
	rc |= buf_puts(b, "Severity: ");
	rc |= xml_escape(b, str_of(inc, "severity"));
	rc |= buf_puts(b, "\nAffected: ");
	if (json_object_object_get_ex(inc, "components", &comps))
		for (i = 0, n = json_object_array_length(comps); i < n; i++) {
			rc |= buf_puts(b, i ? ", " : "");
			rc |= xml_escape(b, json_object_get_string(
				json_object_array_get_idx(comps, i)));
		}
	rc |= buf_puts(b, "\nStatus: ");
	rc |= xml_escape(b, str_of(inc, "status"));
	rc |= buf_puts(b, "\n");
	/* The updates newest first, as the status page lists them. */
	if (json_object_object_get_ex(inc, "updates", &ups))
		for (n = json_object_array_length(ups); n > 0; n--) {
			u = json_object_array_get_idx(ups, n - 1);
			rc |= buf_puts(b, "\n");
			rc |= xml_escape(b, str_of(u, "created_at"));
			rc |= buf_puts(b, " ");
			rc |= xml_escape(b, str_of(u, "status"));
			rc |= buf_puts(b, ": ");
			rc |= xml_escape(b, str_of(u, "message"));
		}
	rc |= buf_puts(b, "</content>\n</entry>\n");
	return rc ? -1 : 0;
}

int
status_atom(struct buf *b, json_object *doc, const char *base_url)
{
	json_object *inc, *cur = NULL, *past = NULL;
	char *base = xstrdup(base_url);
	const char *updated = str_of(doc, "updated_at");
	size_t i, n, len = strlen(base);
	int rc = 0;

	while (len > 0 && base[len - 1] == '/')
		base[--len] = '\0';
	if (json_object_object_get_ex(doc, "incidents", &inc)) {
		json_object_object_get_ex(inc, "current", &cur);
		json_object_object_get_ex(inc, "past", &past);
	}
	/* The feed changed when its newest entry did; with none, now. */
	if (cur != NULL && json_object_array_length(cur) > 0)
		updated = str_of(json_object_array_get_idx(cur, 0),
			"updated_at");
	for (i = 0, n = past ? json_object_array_length(past) : 0; i < n;
	    i++) {
		const char *u = str_of(json_object_array_get_idx(past, i),
			"updated_at");

		if ((cur == NULL || json_object_array_length(cur) == 0) &&
		    i == 0)
			updated = u;
		if (strcmp(u, updated) > 0)
			updated = u;
	}
	rc |= buf_puts(b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
		"<feed xmlns=\"http://www.w3.org/2005/Atom\">\n<id>");
	rc |= xml_escape(b, base);
	rc |= buf_puts(b, "/status/feed.atom</id>\n");
	rc |= element(b, "title", "kiln status: incidents");
	rc |= element(b, "updated", updated);
	rc |= buf_puts(b, "<author><name>kiln</name></author>\n"
		"<link rel=\"self\" type=\"application/atom+xml\" href=\"");
	rc |= xml_escape(b, base);
	rc |= buf_puts(b, "/status/feed.atom\"/>\n"
		"<link rel=\"alternate\" type=\"text/html\" href=\"");
	rc |= xml_escape(b, base);
	rc |= buf_puts(b, "/status\"/>\n");
	for (i = 0, n = cur ? json_object_array_length(cur) : 0; i < n; i++)
		rc |= atom_entry(b, json_object_array_get_idx(cur, i), base);
	for (i = 0, n = past ? json_object_array_length(past) : 0; i < n;
	    i++)
		rc |= atom_entry(b, json_object_array_get_idx(past, i), base);
	rc |= buf_puts(b, "</feed>\n");
	free(base);
	return rc ? -1 : 0;
}

int
status_components_ok(const char *s)
{
	int names = 0, in = 0;

	for (; *s != '\0'; s++) {
		if (*s == ',' || *s == ' ') {
			in = 0;
			continue;
		}
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr(".:_-", *s) != NULL))
			return 0;
		if (!in)
			names++;
		in = 1;
	}
	return names > 0;
}
