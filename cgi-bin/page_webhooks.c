/* page_webhooks.c - /account/webhooks: where the user's job events go
 * (a default URL for jobs that name none), the signing secret to verify
 * them with (rotatable), and the latest deliveries with their outcome. */
#include "accounts.h"
#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "i18n.h"
#include "log.h"
#include "netpolicy.h"
#include "view.h"
#include "webhook.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* POST /account/webhooks's form: the URL, or "" for none; the same
 * check as a job's webhook_url then judges it. */
enum { WH_URL };
const struct input webhook_inputs[] = {
	[WH_URL] = { .name = "webhook_url", .type = IN_STR,
		.flags = IN_REQUIRED | IN_TEXT, .max = 2048 },
	IN_END,
};

static int
show(struct kreq *req, int status)
{
	struct db_param p[1] = { DB_INT(req->auth->user_id) };
	char uid[24], *sec;

	/* Made now when there is none yet, as kilnd does on the first
	 * delivery. */
	snprintf(uid, sizeof(uid), "%llu", req->auth->user_id);
	sec = webhook_secret_for(req->app->db, uid);
	if (sec == NULL ||
	    view_rows(req, "Hooks", "SELECT COALESCE(webhook_url, '') AS Url"
	    " FROM users WHERE id = ?", p, 1) < 0 ||
	    view_rows(req, "Hooks.Deliveries", "SELECT id AS Id,"
	    " job_id AS Job, event AS Event, url AS Url, status AS Status,"
	    " attempts AS Attempts, COALESCE(last_status, '') AS LastStatus,"
	    /* Only the outcomes kilnd records today: a row from before
	     * them may hold curl's detail, which maps internal hosts. */
	    " CASE WHEN last_error IS NULL THEN ''"
	    "  WHEN last_error IN ('" WEBHOOK_REFUSED "', '"
	    WEBHOOK_NO_CONNECT "', '" WEBHOOK_TIMED_OUT "', '"
	    WEBHOOK_BAD_SECRET "') OR last_error RLIKE '^HTTP [0-9]{3}$'"
	    "  THEN last_error ELSE '" WEBHOOK_NO_CONNECT "' END AS LastError,"
	    " DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s') AS Created,"
	    " COALESCE(DATE_FORMAT(delivered_at, '%Y-%m-%d %H:%i:%s'), '')"
	    " AS Delivered"
	    " FROM webhook_deliveries WHERE user_id = ?"
	    " ORDER BY id DESC LIMIT 25", p, 1) < 0) {
		free(sec);
		return view_db_fail(req, "webhooks");
	}
	view_set(req, "Hooks.Secret", sec);
	free(sec);
	if (req_query(req, "done") != NULL)
		view_set(req, "Hooks.Done", !strcmp(req_query(req, "done"),
			"rotated") ? view_tr(req, "Signing secret replaced.") :
			view_tr(req, "Webhook saved."));
	return view_render(req, status, "Webhooks", "webhooks.cs");
}

int
page_webhooks(struct kreq *req)
{
	return show(req, 200);
}

int
page_webhooks_save(struct kreq *req)
{
	const char *url = in_str(req, WH_URL);
	struct db_param p[2];
	char why[160] = "", text[512];

	/* The same check as a job's webhook_url; internal receivers only
	 * where the operator's allow list says. */
	if (url == NULL || (*url != '\0' && hook_url_check(url,
	    req->app->cfg.webhook_allow, why, sizeof(why)) != 0)) {
		snprintf(text, sizeof(text), view_tr(req, "Webhook URL: an "
			"http:// or https:// URL of at most 2048 bytes, or "
			"empty for none%s%s."), why[0] ? view_tr(req,
			"; this one ") : "", why);
		view_field_error(req, "webhook_url", text);
		view_set(req, "Form.webhook_url", in_sent(req, WH_URL));
		return show(req, 422);
	}
	p[0] = *url ? DB_STR(url) : DB_NULL;
	p[1] = DB_INT(req->auth->user_id);
	if (db_exec(req->app->db, "UPDATE users SET webhook_url = ?"
	    " WHERE id = ?", p, 2, NULL, NULL) != 0)
		return view_db_fail(req, "webhooks: save");
	audit(req, "webhook_change", req->auth->user_id, req->auth->username,
		"%s", *url ? "default URL set" : "default URL removed");
	return resp_redirect(req, "/account/webhooks?done=saved");
}

int
page_webhooks_rotate(struct kreq *req)
{
	char fresh[WEBHOOK_SECRET_LEN];
	struct db_param p[2];
	int rc;

	if (webhook_secret_new(fresh) != 0) {
		view_error(req, 500, "internal", N_("No randomness."));
		return -1;
	}
	p[0] = DB_STR(fresh);
	p[1] = DB_INT(req->auth->user_id);
	rc = db_exec(req->app->db, "UPDATE users SET webhook_secret = ?"
		" WHERE id = ?", p, 2, NULL, NULL);
	sodium_memzero(fresh, sizeof(fresh));
	if (rc != 0)
		return view_db_fail(req, "webhooks: rotate");
	audit(req, "webhook_rotate", req->auth->user_id, req->auth->username,
		"signing secret replaced");
	return resp_redirect(req, "/account/webhooks?done=rotated");
}
