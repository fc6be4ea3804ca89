/* page_admin_alerts.c - /admin/alerts, for admins: the alert rules
 * kilnd's keeper evaluates (lib/alerts.c), each with its state, last
 * value and settings (enabled, threshold, window, duration) to change,
 * where the notices go ([alerts] in kiln.conf) and the recent
 * incidents. A change is audited with the rule as target and takes
 * effect at the next evaluation. */
#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "i18n.h"
#include "view.h"

#include <stdio.h>
#include <string.h>

static const char *const rule_names[] = { "anomalies", "queue_depth",
	"oldest_wait", "daemon_offline", "failure_rate", "disk_free", NULL };

enum { AR_RULE, AR_ENABLED, AR_THRESHOLD, AR_WINDOW, AR_DURATION };

const struct input alert_rule_inputs[] = {
	[AR_RULE] = { .name = "rule", .type = IN_ENUM,
		.flags = IN_REQUIRED, .choices = rule_names,
		.msg = N_("Rule: one of those listed.") },
	[AR_ENABLED] = { .name = "enabled", .type = IN_BOOL,
		.msg = N_("Enabled: ticked or not.") },
	[AR_THRESHOLD] = { .name = "threshold", .type = IN_DEC,
		.flags = IN_REQUIRED, .min = 0, .max = 1000000000,
		.msg = N_("Threshold: a number from 0 to 1000000000.") },
	[AR_WINDOW] = { .name = "window_s", .type = IN_INT,
		.flags = IN_REQUIRED, .min = 0, .max = 604800,
		.msg = N_("Window: 0 to 604800 seconds (a week).") },
	[AR_DURATION] = { .name = "duration_s", .type = IN_INT,
		.flags = IN_REQUIRED, .min = 0, .max = 86400,
		.msg = N_("Duration: 0 to 86400 seconds (a day).") },
	IN_END,
};

int
page_admin_alerts(struct kreq *req)
{
	const struct kiln_config *cfg = &req->app->cfg;

	if (view_rows(req, "Alerts.Rules", "SELECT name AS Name,"
	    " enabled AS Enabled, threshold AS Threshold,"
	    " window_s AS Window, duration_s AS Duration, state AS State,"
	    " COALESCE(value, '') AS Value, incident AS Incident,"
	    " COALESCE(DATE_FORMAT(fired_at, '%Y-%m-%d %H:%i'), '') AS Fired,"
	    " COALESCE(DATE_FORMAT(evaluated_at, '%Y-%m-%d %H:%i:%s'), '')"
	    " AS Evaluated FROM alert_rules ORDER BY FIELD(name, 'anomalies',"
	    " 'queue_depth', 'oldest_wait', 'daemon_offline', 'failure_rate',"
	    " 'disk_free')", NULL, 0) < 0 ||
	    view_rows(req, "Alerts.Events", "SELECT rule AS Rule,"
	    " incident AS Incident, kind AS Kind, COALESCE(value, '') AS Value,"
	    " threshold AS Threshold,"
	    " DATE_FORMAT(created_at, '%Y-%m-%d %H:%i') AS At"
	    " FROM alert_events ORDER BY id DESC LIMIT 50", NULL, 0) < 0)
		return view_db_fail(req, "admin alerts");
	if (view_set(req, "Alerts.Webhook", cfg->alerts_webhook_url) != 0 ||
	    view_set(req, "Alerts.Emails", cfg->alerts_emails) != 0 ||
	    view_set_int(req, "Alerts.Mail", cfg->mail_enabled) != 0 ||
	    view_set_int(req, "Alerts.Interval", cfg->alerts_interval) != 0)
		return view_db_fail(req, "admin alerts");
	return view_render(req, 200, N_("Alerts"), "admin_alerts.cs");
}

int
page_admin_alert_rule(struct kreq *req)
{
	struct db *db = req->app->db;
	const char *rule = in_str(req, AR_RULE);
	const struct in_value *thr = in_get(req, AR_THRESHOLD);
	char tbuf[48];
	size_t i;

	for (i = 0; i < 5; i++)
		if (in_bad(req, i)) {
			view_error(req, 422, "validation_failed",
			    alert_rule_inputs[i].msg);
			return -1;
		}
	snprintf(tbuf, sizeof(tbuf), "%.17g", thr->d);
	{
		struct db_param p[] = { DB_INT(in_long(req, AR_ENABLED)),
			DB_STR(tbuf), DB_INT(in_long(req, AR_WINDOW)),
			DB_INT(in_long(req, AR_DURATION)), DB_STR(rule) };

		if (db_exec(db, "UPDATE alert_rules SET enabled = ?,"
		    " threshold = ?, window_s = ?, duration_s = ?,"
		    " updated_at = NOW(3) WHERE name = ?", p, 5, NULL,
		    NULL) != 0)
			return view_db_fail(req, "admin alerts: update");
	}
	audit(req, "alert_rule", 0, rule, "enabled %ld, threshold %s, "
		"window %ld s, duration %ld s", in_long(req, AR_ENABLED), tbuf,
		in_long(req, AR_WINDOW), in_long(req, AR_DURATION));
	if (view_flash(req, "alert_rule_saved") != 0) {
		view_error(req, 500, "internal", "Out of memory.");
		return -1;
	}
	return resp_redirect(req, "/admin/alerts");
}
