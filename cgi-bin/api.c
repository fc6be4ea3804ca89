/* api.c - api.fcgi: the JSON API under /api/v1 (and AUTOMATIC1111's
 * /sdapi/v1 and /internal/ping). One route table, one file
 * per endpoint group; auth_api checks the Bearer key and the route's
 * scope before its handler runs, then any query parameter the route does
 * not take is refused. */
#include "app.h"
#include "auth.h"
#include "handlers.h"

#include <json-c/json.h>

static const struct route routes[] = {
	{ M_GET, "/api/v1/health", api_health, ACC_PUBLIC, 0, "", NULL },
	{ M_GET, "/api/v1/status", api_status, ACC_PUBLIC, 0, "", NULL },
	{ M_GET, "/api/v1/openapi.json", api_openapi, ACC_PUBLIC, 0, "", NULL },
	{ M_GET, "/api/v1/me", api_me, ACC_USER, SCOPE_READ, "", NULL },
	{ M_GET, "/api/v1/keys", api_keys_list, ACC_USER, SCOPE_READ, "",
	  NULL },
	/* Revoking needs only a valid key: it takes power away. */
	{ M_DELETE, "/api/v1/keys/{id}", api_keys_revoke, ACC_USER, 0, "",
	  NULL },
	/* Your data: reading one's own data needs the read scope. */
	{ M_POST, "/api/v1/account/export", api_export_create, ACC_USER,
	  SCOPE_READ, "", NULL },
	{ M_GET, "/api/v1/account/export", api_export_status, ACC_USER,
	  SCOPE_READ, "", NULL },
	{ M_GET, "/api/v1/account/export/{id}", api_export_download,
	  ACC_USER, SCOPE_READ, "", NULL },
	/* A key rotates itself (api_keys_rotate says why): it needs no
	 * scope, as it gains no power. */
	{ M_POST, "/api/v1/keys/{id}/rotate", api_keys_rotate, ACC_USER, 0,
	  "", NULL },
	/* Teams (issue 27): reading them needs read; making one and
	 * managing members changes what others may see and spend, so it
	 * needs generate as a job does. */
	{ M_GET, "/api/v1/teams", api_teams_list, ACC_USER, SCOPE_READ, "",
	  NULL },
	{ M_POST, "/api/v1/teams", api_teams_create, ACC_USER,
	  SCOPE_GENERATE, "", NULL },
	{ M_GET, "/api/v1/teams/{id}", api_team_get, ACC_USER, SCOPE_READ, "",
	  NULL },
	{ M_PATCH, "/api/v1/teams/{id}", api_team_patch, ACC_USER,
	  SCOPE_GENERATE, "", NULL },
	{ M_DELETE, "/api/v1/teams/{id}", api_team_delete, ACC_USER,
	  SCOPE_GENERATE, "", NULL },
	{ M_POST, "/api/v1/teams/{id}/credits", api_team_credits, ACC_USER,
	  SCOPE_GENERATE, "", NULL },
	{ M_POST, "/api/v1/teams/{id}/members", api_team_member_add, ACC_USER,
	  SCOPE_GENERATE, "", NULL },
	{ M_PATCH, "/api/v1/teams/{id}/members/{user_id}", api_team_member_patch,
	  ACC_USER, SCOPE_GENERATE, "", NULL },
	{ M_DELETE, "/api/v1/teams/{id}/members/{user_id}", api_team_member_remove,
	  ACC_USER, SCOPE_GENERATE, "", NULL },
	/* Scene presets (issue 29): reading needs read; making and
	 * editing them, and compiling a manifest, generate. */
	{ M_GET, "/api/v1/presets", api_presets_list, ACC_USER, SCOPE_READ,
	  "kind", NULL },
	{ M_POST, "/api/v1/presets", api_presets_create, ACC_USER,
	  SCOPE_GENERATE, "", NULL },
	{ M_GET, "/api/v1/presets/{id}", api_preset_get, ACC_USER,
	  SCOPE_READ, "", NULL },
	{ M_PUT, "/api/v1/presets/{id}", api_preset_update, ACC_USER,
	  SCOPE_GENERATE, "", NULL },
	{ M_DELETE, "/api/v1/presets/{id}", api_preset_delete, ACC_USER,
	  SCOPE_GENERATE, "", NULL },
	{ M_POST, "/api/v1/manifests/compile", api_manifest_compile,
	  ACC_USER, SCOPE_READ, "", NULL },
	/* Projects (issue 29, projects.h): reading needs read; changing
	 * one needs generate, as a team's do; rendering a version queues
	 * a job. */
	{ M_GET, "/api/v1/projects", api_projects_list, ACC_USER, SCOPE_READ,
	  "", NULL },
	{ M_POST, "/api/v1/projects", api_projects_create, ACC_USER,
	  SCOPE_GENERATE, "", NULL },
	{ M_GET, "/api/v1/projects/{id}", api_project_get, ACC_USER,
	  SCOPE_READ, "", NULL },
	{ M_PATCH, "/api/v1/projects/{id}", api_project_patch, ACC_USER,
	  SCOPE_GENERATE, "", NULL },
	{ M_DELETE, "/api/v1/projects/{id}", api_project_delete, ACC_USER,
	  SCOPE_GENERATE, "", NULL },
	{ M_POST, "/api/v1/projects/{id}/jobs", api_project_job_add, ACC_USER,
	  SCOPE_GENERATE, "", NULL },
	{ M_DELETE, "/api/v1/projects/{id}/jobs/{job_id}",
	  api_project_job_remove, ACC_USER, SCOPE_GENERATE, "", NULL },
	{ M_GET, "/api/v1/projects/{id}/shots/{name}/versions",
	  api_project_versions, ACC_USER, SCOPE_READ, "", NULL },
	{ M_POST, "/api/v1/projects/{id}/shots/{name}/versions",
	  api_project_version_add, ACC_USER, SCOPE_GENERATE, "", NULL },
	{ M_POST, "/api/v1/projects/{id}/shots/{name}/versions/{v}/render",
	  api_project_render, ACC_USER, SCOPE_GENERATE, "", NULL },
	{ M_GET, "/api/v1/projects/{id}/shots/{name}/diff", api_project_diff,
	  ACC_USER, SCOPE_READ, "a b", NULL },
	{ M_GET, "/api/v1/users", api_users_list, ACC_ADMIN, SCOPE_ADMIN, "q",
	  NULL },
	{ M_GET, "/api/v1/users/{id}", api_user_get, ACC_USER, SCOPE_READ, "",
	  NULL },
	{ M_PATCH, "/api/v1/users/{id}", api_user_patch, ACC_ADMIN,
	  SCOPE_ADMIN, "", NULL },
	{ M_POST, "/api/v1/jobs", api_jobs_create, ACC_USER, SCOPE_GENERATE,
	  "", NULL },
	{ M_POST, "/api/v1/jobs/batch", api_jobs_batch, ACC_USER,
	  SCOPE_GENERATE, "", NULL },
	{ M_GET, "/api/v1/jobs", api_jobs_list, ACC_USER, SCOPE_READ,
	  "status q cursor limit since until", NULL },
	{ M_GET, "/api/v1/jobs/{id}", api_job_get, ACC_USER, SCOPE_READ, "",
	  NULL },
	/* All of a job's images and a manifest.json, as one ZIP. */
	{ M_GET, "/api/v1/jobs/{id}/images.zip", api_job_zip, ACC_USER,
	  SCOPE_READ, "format", NULL },
	{ M_GET, "/api/v1/jobs/{id}/inputs/{name}", api_job_input, ACC_USER,
	  SCOPE_READ, "", NULL },
	{ M_POST, "/api/v1/jobs/{id}/cancel", api_job_cancel, ACC_USER,
	  SCOPE_GENERATE, "", NULL },
	{ M_DELETE, "/api/v1/jobs/{id}", api_job_delete, ACC_USER,
	  SCOPE_GENERATE, "", NULL },
	{ M_GET, "/api/v1/models", api_models, ACC_USER, SCOPE_READ, "", NULL },
	{ M_GET, "/api/v1/samplers", api_samplers, ACC_USER, SCOPE_READ, "",
	  NULL },
	/* A link lets anyone read the job: sharing needs read as well as
	 * generate, or a generate-only key could read through its own link
	 * what it may not read itself. */
	{ M_POST, "/api/v1/jobs/{id}/share", api_job_share, ACC_USER,
	  SCOPE_GENERATE | SCOPE_READ, "", NULL },
	{ M_DELETE, "/api/v1/jobs/{id}/share", api_job_unshare, ACC_USER,
	  SCOPE_GENERATE | SCOPE_READ, "", NULL },
	/* step: job.js's cache-buster on the live preview; format: a
	 * high-precision file made from the image's float master. */
	{ M_GET, "/api/v1/images/{name}", api_image, ACC_USER, SCOPE_READ,
	  "step format", NULL },
	/* The public gallery's images (issue 27): anyone, while shown;
	 * moderators see hidden ones too. */
	{ M_GET, "/api/v1/explore/{name}", api_explore_image, ACC_PUBLIC, 0,
	  "", NULL },
	{ M_GET, "/api/v1/moderation/images/{name}", api_moderation_image,
	  ACC_MODERATOR, SCOPE_READ, "", NULL },
	/* The link is the permission: anyone who has it may look. */
	{ M_GET, "/api/v1/shared/{token}", api_shared, ACC_PUBLIC, 0, "",
	  NULL },
	{ M_GET, "/api/v1/shared/{token}/{name}", api_shared_image,
	  ACC_PUBLIC, 0, "format", NULL },
	/* AUTOMATIC1111-compatible: the same keys and scopes. Its clients
	 * send what AUTOMATIC1111 takes, parameters included: not checked
	 * here. */
	{ M_POST, "/sdapi/v1/txt2img", api_sdapi_txt2img, ACC_USER,
	  SCOPE_GENERATE, NULL, NULL },
	{ M_POST, "/sdapi/v1/img2img", api_sdapi_img2img, ACC_USER,
	  SCOPE_GENERATE, NULL, NULL },
	/* An upscale job, waited for as img2img (api_sdapi_extra_single). */
	{ M_POST, "/sdapi/v1/extra-single-image", api_sdapi_extra_single,
	  ACC_USER, SCOPE_GENERATE, NULL, NULL },
	{ M_POST, "/sdapi/v1/extra-batch-images", api_sdapi_extra_batch,
	  ACC_USER, SCOPE_GENERATE, NULL, NULL },
	/* The sd-webui-controlnet extension's lists, which its clients
	 * probe before they send a unit. */
	{ M_GET, "/controlnet/version", api_controlnet_version, ACC_USER,
	  SCOPE_READ, NULL, NULL },
	{ M_GET, "/controlnet/model_list", api_controlnet_models, ACC_USER,
	  SCOPE_READ, NULL, NULL },
	{ M_GET, "/controlnet/module_list", api_controlnet_modules, ACC_USER,
	  SCOPE_READ, NULL, NULL },
	{ M_GET, "/sdapi/v1/sd-models", api_sdapi_models, ACC_USER,
	  SCOPE_READ, NULL, NULL },
	{ M_GET, "/sdapi/v1/loras", api_sdapi_loras, ACC_USER, SCOPE_READ,
	  NULL, NULL },
	{ M_GET, "/sdapi/v1/embeddings", api_sdapi_embeddings, ACC_USER,
	  SCOPE_READ, NULL, NULL },
	{ M_GET, "/sdapi/v1/samplers", api_sdapi_samplers, ACC_USER,
	  SCOPE_READ, NULL, NULL },
	{ M_GET, "/sdapi/v1/options", api_sdapi_options, ACC_USER,
	  SCOPE_READ, NULL, NULL },
	/* Changes only what this account's txt2img renders with. */
	{ M_POST, "/sdapi/v1/options", api_sdapi_options_set, ACC_USER,
	  SCOPE_GENERATE, NULL, NULL },
	{ M_POST, "/sdapi/v1/png-info", api_sdapi_png_info, ACC_USER,
	  SCOPE_READ, NULL, NULL },
	{ M_GET, "/sdapi/v1/upscalers", api_sdapi_upscalers, ACC_USER,
	  SCOPE_READ, NULL, NULL },
	{ M_GET, "/sdapi/v1/latent-upscale-modes", api_sdapi_latent_modes,
	  ACC_USER, SCOPE_READ, NULL, NULL },
	{ M_GET, "/sdapi/v1/schedulers", api_sdapi_schedulers, ACC_USER,
	  SCOPE_READ, NULL, NULL },
	{ M_GET, "/sdapi/v1/sd-vae", api_sdapi_empty_list, ACC_USER,
	  SCOPE_READ, NULL, NULL },
	{ M_GET, "/sdapi/v1/sd-modules", api_sdapi_empty_list, ACC_USER,
	  SCOPE_READ, NULL, NULL },
	{ M_GET, "/sdapi/v1/scripts", api_sdapi_empty_list, ACC_USER,
	  SCOPE_READ, NULL, NULL },
	{ M_GET, "/sdapi/v1/script-info", api_sdapi_empty_list, ACC_USER,
	  SCOPE_READ, NULL, NULL },
	{ M_GET, "/sdapi/v1/prompt-styles", api_sdapi_empty_list, ACC_USER,
	  SCOPE_READ, NULL, NULL },
	{ M_GET, "/sdapi/v1/hypernetworks", api_sdapi_empty_list, ACC_USER,
	  SCOPE_READ, NULL, NULL },
	{ M_GET, "/sdapi/v1/face-restorers", api_sdapi_empty_list, ACC_USER,
	  SCOPE_READ, NULL, NULL },
	{ M_GET, "/sdapi/v1/extensions", api_sdapi_empty_list, ACC_USER,
	  SCOPE_READ, NULL, NULL },
	{ M_GET, "/sdapi/v1/memory", api_sdapi_memory, ACC_USER, SCOPE_READ,
	  NULL, NULL },
	{ M_GET, "/sdapi/v1/cmd-flags", api_sdapi_cmd_flags, ACC_USER,
	  SCOPE_READ, NULL, NULL },
	{ M_POST, "/sdapi/v1/refresh-checkpoints", api_sdapi_refresh,
	  ACC_USER, SCOPE_READ, NULL, NULL },
	{ M_POST, "/sdapi/v1/refresh-loras", api_sdapi_refresh, ACC_USER,
	  SCOPE_READ, NULL, NULL },
	{ M_POST, "/sdapi/v1/refresh-vae", api_sdapi_refresh, ACC_USER,
	  SCOPE_READ, NULL, NULL },
	{ M_POST, "/sdapi/v1/skip", api_sdapi_skip, ACC_USER,
	  SCOPE_GENERATE, NULL, NULL },
	/* A1111's UI liveness check: no key, as its UI routes take none. */
	{ M_GET, "/internal/ping", api_internal_ping, ACC_PUBLIC, 0, NULL,
	  NULL },
	{ M_GET, "/sdapi/v1/progress", api_sdapi_progress, ACC_USER,
	  SCOPE_READ, NULL, NULL },
	{ M_POST, "/sdapi/v1/interrupt", api_sdapi_interrupt, ACC_USER,
	  SCOPE_GENERATE, NULL, NULL },
	/* ComfyUI's API (api_comfy.c): the same keys and scopes. Its
	 * clients send what ComfyUI takes: parameters not checked here. */
	{ M_POST, "/comfyui/prompt", api_comfy_prompt, ACC_USER,
	  SCOPE_GENERATE, NULL, NULL },
	{ M_GET, "/comfyui/prompt", api_comfy_prompt_info, ACC_USER,
	  SCOPE_READ, NULL, NULL },
	{ M_GET, "/comfyui/history", api_comfy_history, ACC_USER, SCOPE_READ,
	  NULL, NULL },
	{ M_GET, "/comfyui/history/{prompt_id}", api_comfy_history_one,
	  ACC_USER, SCOPE_READ, NULL, NULL },
	{ M_GET, "/comfyui/queue", api_comfy_queue, ACC_USER, SCOPE_READ,
	  NULL, NULL },
	{ M_POST, "/comfyui/queue", api_comfy_queue_post, ACC_USER,
	  SCOPE_GENERATE, NULL, NULL },
	{ M_POST, "/comfyui/interrupt", api_comfy_interrupt, ACC_USER,
	  SCOPE_GENERATE, NULL, NULL },
	{ M_GET, "/comfyui/view", api_comfy_view, ACC_USER, SCOPE_READ, NULL,
	  NULL },
	{ M_POST, "/comfyui/upload/image", api_comfy_upload, ACC_USER,
	  SCOPE_GENERATE, NULL, NULL },
	{ M_GET, "/comfyui/object_info", api_comfy_object_info, ACC_USER,
	  SCOPE_READ, NULL, NULL },
	{ M_GET, "/comfyui/object_info/{class}", api_comfy_object_info,
	  ACC_USER, SCOPE_READ, NULL, NULL },
	{ M_GET, "/comfyui/models", api_comfy_models, ACC_USER, SCOPE_READ,
	  NULL, NULL },
	{ M_GET, "/comfyui/models/{folder}", api_comfy_models_folder,
	  ACC_USER, SCOPE_READ, NULL, NULL },
	{ M_GET, "/comfyui/embeddings", api_comfy_embeddings, ACC_USER,
	  SCOPE_READ, NULL, NULL },
	{ M_GET, "/comfyui/system_stats", api_comfy_system_stats, ACC_USER,
	  SCOPE_READ, NULL, NULL },
	{ M_GET, "/comfyui/features", api_comfy_features, ACC_USER,
	  SCOPE_READ, NULL, NULL },
};

static void
json_error(struct kreq *req, int status, const char *code,
	const char *message)
{
	resp_error_json(req, status, code, message, NULL);
}

/* One bad input field: validation_failed naming it, as the handlers'
 * own field errors do. */
static void
json_field_error(struct kreq *req, const char *field, const char *what)
{
	json_object *fields = json_object_new_object();

	if (fields != NULL)
		json_object_object_add(fields, field,
			json_object_new_string(what));
	resp_error_json(req, 400, "validation_failed", "bad input; see "
		"fields", fields);
}

/* Jobs may carry images (init_image, mask, control_image) as base64, and
 * ComfyUI's clients send images to /comfyui/upload/image: for an
 * authenticated caller only (kiln_serve checks the key before it reads
 * such a body). */
static const char *const uploads[] = { "/api/v1/jobs", "/api/v1/jobs/batch",
	"/sdapi/v1/img2img", "/sdapi/v1/txt2img",
	"/sdapi/v1/extra-single-image", "/sdapi/v1/extra-batch-images",
	"/comfyui/upload/image", NULL };

int
main(int argc, char **argv)
{
	static const struct program prog = {
		"api.fcgi", routes, ARRAY_LEN(routes), json_error, auth_api,
		json_field_error, uploads, auth_api, 0,
	};

	return kiln_serve(&prog, argc, argv);
}
