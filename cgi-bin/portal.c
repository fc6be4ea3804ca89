/* portal.c - portal.fcgi: the HTML pages. One route table, one file per
 * page; auth_portal checks each route's access (and every POST's origin
 * and CSRF token) before its handler runs, and a route's declared form
 * inputs are checked into typed values for it. */
#include "app.h"
#include "auth.h"
#include "handlers.h"
#include "submit.h"
#include "view.h"

static const struct route routes[] = {
	{ M_GET, "/", page_home, ACC_PUBLIC, 0, NULL, NULL },
	{ M_GET, "/healthz", page_healthz, ACC_PUBLIC, 0, NULL, NULL },
	{ M_GET, "/readyz", page_readyz, ACC_PUBLIC, 0, NULL, NULL },
	/* Loopback, an admin session or an admin key: page_metrics. */
	{ M_GET, "/metrics", page_metrics, ACC_PUBLIC, 0, NULL, NULL },
	{ M_GET, "/login", page_login, ACC_PUBLIC, 0, NULL, NULL },
	{ M_POST, "/login", page_login_post, ACC_PUBLIC, 0, NULL,
	  login_inputs },
	{ M_POST, "/logout", page_logout, ACC_USER, 0, NULL, NULL },
	{ M_GET, "/login/2fa", page_login_2fa, ACC_PUBLIC, 0, NULL, NULL },
	{ M_POST, "/login/2fa", page_login_2fa_post, ACC_PUBLIC, 0, NULL,
	  login_2fa_inputs },
	{ M_GET, "/register", page_register, ACC_PUBLIC, 0, NULL, NULL },
	{ M_POST, "/register", page_register_post, ACC_PUBLIC, 0, NULL,
	  register_inputs },
	{ M_GET, "/account", page_account, ACC_USER, 0, NULL, NULL },
	{ M_POST, "/account/profile", page_account_profile, ACC_USER, 0, NULL,
	  profile_inputs },
	{ M_POST, "/account/password", page_account_password, ACC_USER, 0,
	  NULL, password_inputs },
	{ M_POST, "/account/sessions/revoke-all",
	  page_account_sessions_end_all, ACC_USER, 0, NULL, NULL },
	{ M_POST, "/account/sessions/{id}/revoke",
	  page_account_session_revoke, ACC_USER, 0, NULL, NULL },
	{ M_GET, "/account/security", page_security, ACC_USER, 0, NULL,
	  NULL },
	{ M_GET, "/account/security/qr.png", page_security_qr, ACC_USER, 0,
	  NULL, NULL },
	{ M_POST, "/account/security/setup", page_security_setup, ACC_USER,
	  0, NULL, NULL },
	{ M_POST, "/account/security/enable", page_security_enable, ACC_USER,
	  0, NULL, security_code_inputs },
	{ M_POST, "/account/security/disable", page_security_disable,
	  ACC_USER, 0, NULL, security_disable_inputs },
	{ M_POST, "/account/security/recovery", page_security_recovery,
	  ACC_USER, 0, NULL, security_code_inputs },
	{ M_POST, "/account/security/devices/forget", page_security_forget,
	  ACC_USER, 0, NULL, NULL },
	{ M_GET, "/account/webhooks", page_webhooks, ACC_USER, 0, NULL, NULL },
	{ M_POST, "/account/webhooks", page_webhooks_save, ACC_USER, 0, NULL,
	  webhook_inputs },
	{ M_POST, "/account/webhooks/rotate", page_webhooks_rotate, ACC_USER,
	  0, NULL, NULL },
	{ M_GET, "/account/keys", page_keys, ACC_USER, 0, NULL, NULL },
	{ M_POST, "/account/keys", page_keys_create, ACC_USER, 0, NULL,
	  key_inputs },
	{ M_POST, "/account/keys/{id}/revoke", page_keys_revoke, ACC_USER,
	  0, NULL, NULL },
	{ M_POST, "/account/keys/{id}/rotate", page_keys_rotate, ACC_USER,
	  0, NULL, key_rotate_inputs },
	{ M_GET, "/generate", page_generate, ACC_USER, 0, NULL, NULL },
	{ M_POST, "/generate", page_generate_post, ACC_USER, 0, NULL,
	  job_inputs },
	{ M_POST, "/generate/canny", page_generate_canny, ACC_USER, 0, NULL,
	  job_inputs },
	{ M_GET, "/jobs", page_jobs, ACC_USER, 0, NULL, NULL },
	{ M_GET, "/jobs/{id}", page_job, ACC_USER, 0, NULL, NULL },
	{ M_POST, "/jobs/{id}/cancel", page_job_cancel, ACC_USER, 0, NULL,
	  NULL },
	{ M_POST, "/jobs/{id}/share", page_job_share, ACC_USER, 0, NULL, NULL },
	{ M_POST, "/jobs/{id}/unshare", page_job_unshare, ACC_USER, 0, NULL,
	  NULL },
	{ M_POST, "/jobs/{id}/delete", page_job_delete, ACC_USER, 0, NULL,
	  NULL },
	{ M_GET, "/s/{token}", page_shared, ACC_PUBLIC, 0, NULL, NULL },
	/* The job page's images (issue 25): vary, upscale, download all. */
	{ M_POST, "/jobs/{id}/vary", page_job_vary, ACC_USER, 0, NULL, NULL },
	{ M_POST, "/jobs/{id}/images/{idx}/upscale", page_job_upscale,
	  ACC_USER, 0, NULL, upscale_inputs },
	{ M_GET, "/jobs/{id}/images.zip", page_job_zip, ACC_USER, 0, NULL,
	  NULL },
	/* Batches from a CSV file; /batch/{id}.zip is page_batch's. */
	{ M_GET, "/batch", page_batch_new, ACC_USER, 0, NULL, NULL },
	{ M_POST, "/batch", page_batch_post, ACC_USER, 0, NULL,
	  batch_inputs },
	{ M_GET, "/batch/{id}", page_batch, ACC_USER, 0, NULL, NULL },
	{ M_POST, "/theme", page_theme, ACC_PUBLIC, 0, NULL, theme_inputs },
	{ M_GET, "/gallery", page_gallery, ACC_USER, 0, NULL, NULL },
	{ M_GET, "/usage", page_usage, ACC_USER, 0, NULL, NULL },
	{ M_GET, "/usage/chart.png", page_usage_chart, ACC_USER, 0, NULL,
	  NULL },
	{ M_GET, "/admin/users", page_admin_users, ACC_ADMIN, 0, NULL, NULL },
	{ M_GET, "/admin/users/{id}", page_admin_user, ACC_ADMIN, 0, NULL,
	  NULL },
	{ M_POST, "/admin/users/{id}/status", page_admin_user_status,
	  ACC_ADMIN, 0, NULL, user_status_inputs },
	{ M_POST, "/admin/users/{id}/role", page_admin_user_role, ACC_ADMIN,
	  0, NULL, user_role_inputs },
	{ M_POST, "/admin/users/{id}/password", page_admin_user_password,
	  ACC_ADMIN, 0, NULL, NULL },
	{ M_POST, "/admin/users/{id}/two-factor/reset",
	  page_admin_user_2fa_reset, ACC_ADMIN, 0, NULL, NULL },
	{ M_POST, "/admin/users/{id}/credits", page_admin_user_credits,
	  ACC_ADMIN, 0, NULL, user_credits_inputs },
	{ M_POST, "/admin/users/{id}/sessions/{sid}/revoke",
	  page_admin_user_session_revoke, ACC_ADMIN, 0, NULL, NULL },
	{ M_POST, "/admin/users/{id}/keys/{kid}/revoke",
	  page_admin_user_key_revoke, ACC_ADMIN, 0, NULL, NULL },
	{ M_GET, "/admin/queue", page_admin_queue, ACC_ADMIN, 0, NULL, NULL },
	{ M_POST, "/admin/queue/{id}/cancel", page_admin_queue_cancel,
	  ACC_ADMIN, 0, NULL, NULL },
	{ M_POST, "/admin/queue/{id}/requeue", page_admin_queue_requeue,
	  ACC_ADMIN, 0, NULL, NULL },
	{ M_GET, "/admin/audit", page_admin_audit, ACC_ADMIN, 0, NULL, NULL },
	{ M_GET, "/admin/settings", page_admin_settings, ACC_ADMIN, 0, NULL,
	  NULL },
	{ M_POST, "/admin/settings", page_admin_settings_post, ACC_ADMIN, 0,
	  NULL, settings_inputs },
	{ M_POST, "/admin/settings/two-factor", page_admin_2fa_setting,
	  ACC_ADMIN, 0, NULL, security_require_inputs },
	{ M_POST, "/admin/invites", page_admin_invite, ACC_ADMIN, 0, NULL,
	  invite_inputs },
};

int
main(int argc, char **argv)
{
	/* The generate form may carry an init image (multipart): from a
	 * signed-in user only (auth_portal_session, before the body). */
	static const char *const uploads[] = { "/generate",
		"/generate/canny", NULL };
	static const struct program prog = {
		"portal.fcgi", routes, ARRAY_LEN(routes), gen_inputs_error,
		auth_portal, NULL, uploads, auth_portal_session,
	};

	return kiln_serve(&prog, argc, argv);
}
