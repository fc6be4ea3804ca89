/* alerts.h - alert rules over what kiln measures, evaluated by kilnd's
 * keeper: anomalous renders (jobs.anomaly, from the Welford statistics),
 * queue depth, the oldest queued wait, daemons offline (stale
 * heartbeats), the failure rate over a window and the free space of the
 * artifacts directory. Thresholds and durations are rows of alert_rules
 * (sql/025_alerts.sql, edited at /admin/alerts). Each incident of a rule
 * (breaching for its duration, then clear again) is told once when it
 * fires and once when it resolves: an alert_events row, a signed webhook
 * to [alerts] webhook_url through the webhook_deliveries courier and a
 * mail to the operators through the mail outbox. */
#ifndef KILN_ALERTS_H
#define KILN_ALERTS_H

struct db;
struct kiln_config;

/* One kind of rule: its name in alert_rules, what it measures (English;
 * the admin page translates its own copy) and whether it breaches below
 * its threshold rather than above. */
struct alert_def {
	const char *name;
	const char *title;
	const char *unit;
	int below;
};

extern const struct alert_def alert_defs[];
extern const unsigned alert_ndefs;

/* The definition named name, or NULL. */
const struct alert_def *alert_def_find(const char *name);

/* Measures rule def now into *value: window_s is the rule's window (see
 * sql/025_alerts.sql). Returns 0, or -1 on a database error or (disk)
 * when the artifacts directory cannot be measured, logged. */
int alert_measure(struct db *db, const struct kiln_config *cfg,
	const struct alert_def *def, long window_s, double *value);

/*
 * Evaluates every rule once, if this daemon (holder) holds or can take
 * the "alerts" lease of keeper_leases (held for lease_s seconds, renewed
 * by each evaluation), so one daemon of many evaluates. Each rule moves
 * in its own transaction with its row locked: ok -> pending (breaching)
 * -> firing (breaching for duration_s: told) -> ok (clear: recovery
 * told). Returns the number of notices told (0 or more), or -1 on a
 * database error.
 */
int alerts_evaluate(struct db *db, const struct kiln_config *cfg,
	const char *holder, long lease_s);

#endif
