/* handlers.h - every page and endpoint handler, for the route tables. */
#ifndef KILN_HANDLERS_H
#define KILN_HANDLERS_H

#include "jobzip.h"
#include "request.h"

struct json_object;

/* portal.fcgi: the pages' declared form inputs (request.h), each
 * IN_END-terminated, beside their handlers; POST /generate takes
 * submit.h's job_inputs. */
extern const struct input login_inputs[];
extern const struct input register_inputs[];
extern const struct input profile_inputs[];
extern const struct input password_inputs[];
extern const struct input webhook_inputs[];
extern const struct input key_inputs[];
extern const struct input key_rotate_inputs[];
extern const struct input user_status_inputs[];
extern const struct input user_role_inputs[];
extern const struct input user_credits_inputs[];
extern const struct input settings_inputs[];
extern const struct input invite_inputs[];
extern const struct input theme_inputs[];
extern const struct input language_inputs[];
extern const struct input prefs_inputs[];
extern const struct input login_2fa_inputs[];
extern const struct input security_code_inputs[];
extern const struct input security_disable_inputs[];
extern const struct input security_require_inputs[];
extern const struct input data_delete_inputs[];
extern const struct input admin_delete_inputs[];
extern const struct input upscale_inputs[];
extern const struct input batch_inputs[];
extern const struct input manifest_inputs[];
extern const struct input preset_inputs[];
extern const struct input email_inputs[];
extern const struct input password_reset_inputs[];
extern const struct input password_new_inputs[];
extern const struct input publish_inputs[];
extern const struct input report_inputs[];

/* portal.fcgi */
int page_home(struct kreq *req);
int page_healthz(struct kreq *req);
int page_readyz(struct kreq *req);
int page_metrics(struct kreq *req);
int page_login(struct kreq *req);
int page_login_post(struct kreq *req);
int page_logout(struct kreq *req);
/* The second step of a login (page_login_2fa.c), after a right password
 * for user_id: 0 when there is none (two-factor login off, or a
 * remembered browser), 1 after answering with the redirect to it, -1
 * after an error answer. */
int login_second_step(struct kreq *req, unsigned long long user_id,
	const char *next);
int page_login_2fa(struct kreq *req);
int page_login_2fa_post(struct kreq *req);
int page_security(struct kreq *req);
int page_security_qr(struct kreq *req);
int page_security_setup(struct kreq *req);
int page_security_enable(struct kreq *req);
int page_security_disable(struct kreq *req);
int page_security_recovery(struct kreq *req);
int page_security_forget(struct kreq *req);
int page_admin_user_2fa_reset(struct kreq *req);
int page_admin_2fa_setting(struct kreq *req);
int page_register(struct kreq *req);
int page_register_post(struct kreq *req);
int page_account(struct kreq *req);
/* The account page with status (a form's error already set): for the
 * forms of other files that live on it. */
int page_account_show(struct kreq *req, int status);
/* E-mail (page_email.c): the address form and its verification link;
 * the account page's e-mail data (Email.*: returns 0 or -1, db). */
int page_account_email(struct kreq *req);
int page_email_verify(struct kreq *req);
int email_load(struct kreq *req);
/* Password reset by mail (page_password.c). */
int page_password_reset(struct kreq *req);
int page_password_reset_post(struct kreq *req);
int page_password_new(struct kreq *req);
int page_password_new_post(struct kreq *req);
/* The e-mailed tokens (email_tokens): how long each kind lives; a new
 * one for user_id and purpose ("verify", "reset") naming email, its
 * clear text into tok (TOKEN_LEN + 1 bytes), only its digest stored
 * (returns 0 or -1); 1 when t looks like one (TOKEN_LEN base64url
 * characters); how many of user_id's of purpose were made in the last
 * hour (-1: db). */
#define EMAIL_VERIFY_SECONDS (24 * 3600)
#define EMAIL_RESET_SECONDS 3600
int email_token_new(struct kreq *req, unsigned long long user_id,
	const char *purpose, const char *email, long seconds, char *tok);
int email_token_syntax(const char *t);
struct db;
long email_tokens_recent(struct db *db, unsigned long long user_id,
	const char *purpose);
int page_account_profile(struct kreq *req);
int page_account_password(struct kreq *req);
int page_account_session_revoke(struct kreq *req);
int page_account_sessions_end_all(struct kreq *req);
int page_webhooks(struct kreq *req);
int page_webhooks_save(struct kreq *req);
int page_webhooks_rotate(struct kreq *req);
int page_keys(struct kreq *req);
int page_keys_create(struct kreq *req);
int page_keys_revoke(struct kreq *req);
int page_keys_rotate(struct kreq *req);
int page_generate(struct kreq *req);
int page_generate_post(struct kreq *req);
/* The generate form's image inputs (page_generate_inputs.c). */
int page_generate_canny(struct kreq *req);	/* POST /generate/canny */
struct job_spec;
struct gen_inputs {	/* what a job's spec borrows until it is queued */
	struct buf init;
};
/* In show(): the ControlNet menu, the script, ?init=JOBID-IDX (someone
 * else's: 404). Returns 0, or -1 after it answered with an error. */
int gen_inputs_view(struct kreq *req);
/* At POST /generate: 1 when the no-script "Preview edges" button was
 * pressed (the preview or its error is in the HDF: show the form),
 * else 0. */
int gen_inputs_preview(struct kreq *req);
/* job_spec_from_form with the page's own fields: the outpaint sides,
 * init_from's stored image (kept in g; free with gen_inputs_free after
 * s). Returns as job_spec_from_form. */
int gen_inputs_spec(struct kreq *req, struct gen_inputs *g,
	struct job_spec *s, void (*err)(void *, const char *, const char *),
	void *arg);
void gen_inputs_free(struct gen_inputs *g);
/* The portal's error page (view_error), a generate form too large to
 * read told in the words of its fields. */
void gen_inputs_error(struct kreq *req, int status, const char *code,
	const char *message);
int page_jobs(struct kreq *req);
int page_job(struct kreq *req);
int page_job_cancel(struct kreq *req);
int page_job_share(struct kreq *req);
int page_job_unshare(struct kreq *req);
int page_job_delete(struct kreq *req);
int page_shared(struct kreq *req);
int page_job_vary(struct kreq *req);
int page_job_upscale(struct kreq *req);
int page_job_zip(struct kreq *req);
int page_batch_new(struct kreq *req);
int page_batch_post(struct kreq *req);
int page_batch(struct kreq *req);
int page_batch_zip(struct kreq *req);
/* page_generate_manifest.c, page_presets.c: scene manifests and their
 * presets (issue 29). */
int page_generate_manifest(struct kreq *req);
int page_generate_manifest_post(struct kreq *req);
int page_presets(struct kreq *req);
int page_presets_post(struct kreq *req);
int page_preset(struct kreq *req);
int page_preset_post(struct kreq *req);
int page_preset_delete(struct kreq *req);
int page_theme(struct kreq *req);
int page_language(struct kreq *req);
int page_account_prefs(struct kreq *req);
/* The public gallery and its moderation (page_explore.c,
 * page_admin_reports.c). */
int page_explore(struct kreq *req);
int page_explore_image(struct kreq *req);
int page_explore_report(struct kreq *req);
int page_image_publish(struct kreq *req);
int page_image_unpublish(struct kreq *req);
int page_admin_reports(struct kreq *req);
int page_admin_report_hide(struct kreq *req);
int page_admin_report_restore(struct kreq *req);
int page_admin_report_dismiss(struct kreq *req);
int page_admin_report_ban(struct kreq *req);
/* The public status page and the incidents behind it (page_status.c,
 * page_admin_incidents.c). */
int page_status(struct kreq *req);
int page_status_feed(struct kreq *req);
int page_admin_incidents(struct kreq *req);
int page_admin_incident_open(struct kreq *req);
int page_admin_incident_update(struct kreq *req);
extern const struct input incident_open_inputs[];
extern const struct input incident_update_inputs[];
int page_admin_maintenance(struct kreq *req);
int page_admin_maintenance_post(struct kreq *req);
int page_admin_maintenance_cancel(struct kreq *req);
extern const struct input maintenance_inputs[];
/* The alert rules kilnd evaluates (page_admin_alerts.c). */
int page_admin_alerts(struct kreq *req);
int page_admin_alert_rule(struct kreq *req);
extern const struct input alert_rule_inputs[];
int page_gallery(struct kreq *req);
int page_usage(struct kreq *req);
int page_usage_chart(struct kreq *req);
int page_admin_users(struct kreq *req);
int page_admin_user(struct kreq *req);
int page_admin_user_status(struct kreq *req);
int page_admin_user_role(struct kreq *req);
int page_admin_user_password(struct kreq *req);
int page_admin_user_credits(struct kreq *req);
int page_admin_user_session_revoke(struct kreq *req);
int page_admin_user_key_revoke(struct kreq *req);
int page_admin_audit(struct kreq *req);
int page_admin_queue(struct kreq *req);
int page_admin_queue_cancel(struct kreq *req);
int page_admin_queue_requeue(struct kreq *req);
int page_admin_settings(struct kreq *req);
int page_admin_settings_post(struct kreq *req);
int page_admin_invite(struct kreq *req);
/* Your data (page_data.c): exports and deleting the account. */
int page_data(struct kreq *req);
int page_data_export(struct kreq *req);
int page_data_download(struct kreq *req);
int page_data_delete(struct kreq *req);
int page_admin_user_export(struct kreq *req);
int page_admin_user_delete_confirm(struct kreq *req);
int page_admin_user_delete(struct kreq *req);
/* The exports an administrator asked for of user id, as Exports.N on
 * the user's page. Returns as view_rows. */
long admin_user_exports(struct kreq *req, unsigned long long id);

/* api.fcgi */
int api_health(struct kreq *req);
int api_status(struct kreq *req);
int api_openapi(struct kreq *req);
int api_me(struct kreq *req);
int api_keys_list(struct kreq *req);
int api_keys_revoke(struct kreq *req);
int api_keys_rotate(struct kreq *req);
int api_users_list(struct kreq *req);
int api_user_get(struct kreq *req);
int api_user_patch(struct kreq *req);
int api_jobs_create(struct kreq *req);
int api_jobs_batch(struct kreq *req);
int api_jobs_list(struct kreq *req);
int api_job_get(struct kreq *req);
int api_job_cancel(struct kreq *req);
int api_job_delete(struct kreq *req);
int api_models(struct kreq *req);
int api_samplers(struct kreq *req);
int api_job_share(struct kreq *req);
int api_job_unshare(struct kreq *req);
int api_image(struct kreq *req);
int api_job_input(struct kreq *req);
int api_shared(struct kreq *req);
int api_shared_image(struct kreq *req);
int api_explore_image(struct kreq *req);
int api_moderation_image(struct kreq *req);
int api_job_zip(struct kreq *req);
int api_sdapi_txt2img(struct kreq *req);
int api_sdapi_models(struct kreq *req);
int api_sdapi_loras(struct kreq *req);
int api_sdapi_embeddings(struct kreq *req);
int api_sdapi_samplers(struct kreq *req);
int api_sdapi_options(struct kreq *req);
int api_sdapi_progress(struct kreq *req);
int api_sdapi_interrupt(struct kreq *req);
int api_sdapi_skip(struct kreq *req);
int api_sdapi_options_set(struct kreq *req);
int api_sdapi_png_info(struct kreq *req);
int api_sdapi_upscalers(struct kreq *req);
int api_sdapi_latent_modes(struct kreq *req);
int api_sdapi_schedulers(struct kreq *req);
int api_sdapi_empty_list(struct kreq *req);
int api_sdapi_memory(struct kreq *req);
int api_sdapi_cmd_flags(struct kreq *req);
int api_sdapi_refresh(struct kreq *req);
int api_internal_ping(struct kreq *req);
int api_sdapi_img2img(struct kreq *req);
int api_sdapi_extra_single(struct kreq *req);
int api_sdapi_extra_batch(struct kreq *req);
int api_controlnet_version(struct kreq *req);
int api_controlnet_models(struct kreq *req);
int api_controlnet_modules(struct kreq *req);

/* Shared by the api_sdapi*.c files (api_sdapi.c): whether name is a
 * model of dir, and the model name in an A1111 checkpoint title
 * ("NAME.safetensors [hash]" or NAME) into out (n bytes). */
int sdapi_model_listed(const char *dir, const char *name);
void sdapi_title_to_name(const char *title, char *out, size_t n);

int api_comfy_prompt(struct kreq *req);
int api_comfy_prompt_info(struct kreq *req);
int api_comfy_history(struct kreq *req);
int api_comfy_history_one(struct kreq *req);
int api_comfy_queue(struct kreq *req);
int api_comfy_queue_post(struct kreq *req);
int api_comfy_interrupt(struct kreq *req);
int api_comfy_view(struct kreq *req);
int api_comfy_upload(struct kreq *req);
int api_comfy_object_info(struct kreq *req);
int api_comfy_models(struct kreq *req);
int api_comfy_models_folder(struct kreq *req);
int api_comfy_embeddings(struct kreq *req);
int api_comfy_system_stats(struct kreq *req);
int api_comfy_features(struct kreq *req);

/* The ControlNet unit an A1111 request enabled (api_sdapi_cn.c). */
struct sdapi_cn {
	int on;			/* a unit is enabled */
	int resize;		/* its resize mode as A1111's 0..2 */
	int from_init;		/* its image is img2img's init image */
	int hr_both;		/* hr_option Both (or not given) */
	char prefix[96];	/* alwayson_scripts.controlnet.args[N] */
};
struct job_spec;

/* alwayson_scripts (scripts) into o, the body of a kiln job being made
 * (its init_image already there for img2img): the controlnet script's
 * one enabled unit as the job's ControlNet; any other script that would
 * run, or a second enabled unit, named in fields. Returns the number of
 * problems. */
int sdapi_alwayson(struct json_object *scripts, int img2img,
	struct json_object *o, struct json_object *fields, struct sdapi_cn *cn);
/* What only the checked job tells (the control image's size against the
 * render's; hr_option with the hires fix): problems into fields, their
 * number returned. */
int sdapi_cn_check(const struct sdapi_cn *cn, const struct job_spec *s,
	int hires, struct json_object *fields);
/* Renames the job's ControlNet fields in fields to the unit's. */
void sdapi_cn_fields(const struct sdapi_cn *cn, struct json_object *fields);

/* Teams (page_teams.c). */
extern const struct input team_create_inputs[], team_invite_inputs[],
	team_role_inputs[], team_credits_inputs[], team_settings_inputs[];
int page_teams(struct kreq *req);
int page_teams_create(struct kreq *req);
int page_team(struct kreq *req);
int page_team_gallery(struct kreq *req);
int page_team_invite(struct kreq *req);
int page_team_role(struct kreq *req);
int page_team_remove(struct kreq *req);
int page_team_delete(struct kreq *req);
int page_team_settings(struct kreq *req);
int page_team_credits(struct kreq *req);

/* Teams over the API (api_teams.c). */
int api_teams_list(struct kreq *req);
int api_teams_create(struct kreq *req);
/* api_presets.c: scene presets and compiling a manifest (issue 29). */
int api_presets_list(struct kreq *req);
int api_preset_get(struct kreq *req);
int api_presets_create(struct kreq *req);
int api_preset_update(struct kreq *req);
int api_preset_delete(struct kreq *req);
int api_manifest_compile(struct kreq *req);
int api_team_get(struct kreq *req);
int api_team_member_add(struct kreq *req);
int api_team_credits(struct kreq *req);
int api_team_member_patch(struct kreq *req);
int api_team_member_remove(struct kreq *req);
int api_team_delete(struct kreq *req);
int api_team_patch(struct kreq *req);

/* Your data over the API (api_data.c). */
int api_export_create(struct kreq *req);
int api_export_status(struct kreq *req);
int api_export_download(struct kreq *req);

/* Shared by the api_*.c files (api_common.c). api_send answers with o
 * (NULL: a 500) and puts it; json_scopes makes ["read", ...];
 * api_db_fail logs the database's message under where and answers a
 * plain 503/500 (returns -1). */
int api_send(struct kreq *req, int status, struct json_object *o);
int api_db_fail(struct kreq *req, const char *where);
/* 204 No Content. Returns 0. */
int api_no_content(struct kreq *req);
struct json_object *json_scopes(unsigned scopes);
/* The submission rate limit ([limits] submit_*): 1 to go on, 0 after
 * answering (429 or a db error). */
int api_submit_allowed(struct kreq *req);
/* A quota or credit refusal from job_enqueue, as JSON. Returns -1. */
struct enqueue_refusal;
int api_refuse_quota(struct kreq *req, const struct enqueue_refusal *why);
/* "jobs/12/0.png" -> "ARTIFACTS/jobs/12/0.thumb.png" (thumb) or the
 * image itself, refusing paths that could leave the artifacts
 * directory. Returns 0 or -1. */
int api_artifact_path(const struct kreq *req, const char *rel, int thumb,
	char *out, size_t n);

/* A ZIP that jobs_zip (jobzip.h) made into b (taken), sent as the
 * attachment name, or its refusal as an error page (page_jobs.c). */
int page_zip_send(struct kreq *req, enum jobzip_status st, struct buf *b,
	const char *name);

#endif
