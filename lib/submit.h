/* submit.h - jobs from the web side: the parameters of a new job checked
 * once (from a JSON body or a form), stored in the queue, and a job read
 * back as JSON for its owner. */
#ifndef KILN_SUBMIT_H
#define KILN_SUBMIT_H

#include <stddef.h>

#include "db.h"
#include "loras.h"
#include "models.h"
#include "request.h"
#include "upload.h"

struct db;
struct kiln_config;
struct json_object;

#define PROMPT_MAX 2000
#define BATCH_MAX 8
#define JOB_SIDE_MIN 64
#define JOB_SIDE_MAX 2048
#define JOB_STEPS_MAX 150
#define JOB_CFG_MAX 30.0
#define JOB_SEED_MAX 4294967295ULL
#define JOB_HIRES_SCALE_MAX 4
#define JOB_HIRES_STRENGTH 0.7	/* A1111's default denoising_strength */
#define JOB_DENOISING 0.75	/* A1111's img2img default */
#define JOB_MASK_BLUR_MAX 64	/* the engine's INPAINT_MAX_BLUR */
#define JOB_PAD_MAX 256		/* the engine's INPAINT_MAX_PAD */
#define JOB_OUTPAINT_MAX 1024	/* the engine's OUTPAINT_MAX */
#define JOB_UPSCALE_BY_MAX 8	/* A1111's upscaling_resize */
#define JOB_UPSCALE_BY 2	/* A1111's default */

/* The samplers kilnd knows, by the names the engine's sampler_lookup
 * takes (a unit test holds the two lists together). */
extern const char *const job_samplers[];
extern const size_t job_nsamplers;

/* A job's fields, by their index in job_inputs: the one declaration of
 * their names, types and limits, for a JSON body and a form alike (the
 * portal's POST /generate takes it as its declared inputs). */
enum job_input {
	JOB_IN_PROMPT, JOB_IN_NEGATIVE, JOB_IN_MODEL, JOB_IN_SAMPLER,
	JOB_IN_WEBHOOK, JOB_IN_WIDTH, JOB_IN_HEIGHT, JOB_IN_STEPS, JOB_IN_CFG,
	JOB_IN_SEED, JOB_IN_BATCH, JOB_IN_LORAS, JOB_IN_HIRES_SCALE,
	JOB_IN_HIRES_STRENGTH, JOB_IN_HIRES_STEPS, JOB_IN_HIRES_UPSCALER,
	/* Images in (base64 in a JSON body, files in a form) and what is
	 * done with them. */
	JOB_IN_INIT_IMAGE, JOB_IN_MASK, JOB_IN_CONTROL_IMAGE,
	JOB_IN_DENOISING, JOB_IN_RESIZE_MODE, JOB_IN_MASK_BLUR,
	JOB_IN_INPAINTING_FILL, JOB_IN_FULL_RES, JOB_IN_FULL_RES_PAD,
	JOB_IN_MASK_INVERT, JOB_IN_OUTPAINT, JOB_IN_CN_MODEL, JOB_IN_CN_WEIGHT,
	JOB_IN_CN_START, JOB_IN_CN_END, JOB_IN_CN_PRE, JOB_IN_CN_LOW,
	JOB_IN_CN_HIGH,
	/* An upscale-only job (kind "upscale"): its upscaler, and
	 * upscale_by or width and height (upscale_crop: crop to them). */
	JOB_IN_KIND, JOB_IN_UPSCALER, JOB_IN_UPSCALE_BY, JOB_IN_UPSCALE_CROP,
	/* The format of the job's ZIP (imgexport.h's names). */
	JOB_IN_OUTPUT_FORMAT,
	JOB_NINPUTS
};
extern const struct input job_inputs[];	/* JOB_NINPUTS, then IN_END */

struct job_spec {
	char *prompt, *negative, *model, *sampler, *webhook_url;
	/* The team the job is made for, charged to its pool (0: the
	 * maker's own); job_enqueue checks the maker may. */
	unsigned long long team_id;
	long width, height, steps, batch;
	double cfg;
	unsigned long long seed;
	/* The model's limits, from its card (see struct model_card). */
	long model_multiple, model_max_side, model_max_steps;
	enum sd_family model_type;
	/* The LoRAs: the "loras" field's (the first nfield, from a JSON
	 * array when loras_json), then the prompt's <lora:...> tags (the
	 * prompt keeps them as typed), each named once. Whether each is a
	 * usable file in loras_dir (borrowed: [paths] loras) made for the
	 * model's family is job_spec_model_limits' question. */
	struct job_lora loras[JOB_LORAS_MAX];
	int nloras, nfield, loras_json;
	const char *loras_dir;
	/* The hires fix (hires_scale 0: none; see struct job); whether
	 * the upscaler is a usable file of upscalers_dir (borrowed:
	 * [paths] upscalers) is job_spec_model_limits' question. */
	double hires_scale, hires_strength;
	long hires_steps;
	char *hires_upscaler;
	const char *upscalers_dir;
	/* The images it takes in, checked and normalised (w 0: none);
	 * job_insert stores them (under artifacts_dir, borrowed) with the
	 * row, as the job's inputs. */
	struct upload_image init, mask, control;
	const struct kiln_config *store_cfg;
	/* img2img (denoising 0: txt2img): the strength and how the init
	 * image is fitted to width x height (A1111's resize_mode: 0 just
	 * resize, 1 crop and resize, 2 resize and fill). */
	double denoising;
	int resize_mode;
	/* Inpainting, with a mask or an outpaint (inpaint 0: neither):
	 * A1111's mask_blur, inpainting_fill (0 fill, 1 original, 2 latent
	 * noise, 3 latent nothing), inpaint_full_res ("only masked") and
	 * its padding, inpainting_mask_invert; outpaint: pixels added on
	 * the left, right, up and down. */
	int inpaint;
	int mask_blur, inpainting_fill, full_res, full_res_pad, mask_invert;
	int outpaint[4];
	/* One ControlNet (cn_model NULL: none), a model of controlnets_dir
	 * (borrowed: [paths] controlnets) by name: its weight, the span of
	 * the steps it guides, and what is made of the control image
	 * ("none" or "canny" with its two thresholds). */
	char *cn_model, *cn_pre;
	double cn_weight, cn_start, cn_end, cn_low, cn_high;
	const char *controlnets_dir;
	/* An upscale-only job (upscale 1): the init image made larger by
	 * upscale_by with upscaler (a model of upscalers_dir, or
	 * "lanczos"), delivered at width x height (int(side x upscale_by),
	 * or the size asked when cropped to it); model holds the
	 * upscaler's name, steps and batch 1. upscale_sized: the caller
	 * gave width and height rather than upscale_by. */
	int upscale, upscale_sized;
	char *upscaler;
	double upscale_by;
	/* Its row in a CSV batch (job_enqueue_batch), else 0. */
	long batch_row;
	/* What its ZIP delivers besides the PNGs (imgexport.h's enum
	 * img_format; 0, IMG_PNG: the PNGs alone). */
	int output_format;
	/* The scene manifest it was compiled from (its JSON text) and the
	 * preset versions used (presets.h's manifest_apply), or NULL. */
	char *manifest, *manifest_presets;
};

/* The sides of job_spec's outpaint, in order. */
extern const char *const job_outpaint_sides[4];

/* The size the hires fix makes of a side: int(side x scale), down to a
 * multiple of the model's (8 when it names none), the engine's rule. */
long job_hires_side(const struct job_spec *s, long side);

void job_spec_free(struct job_spec *s);

/* Where a problem with a field goes: a JSON "fields" object or the form's
 * Form.Errors. */
typedef void (*spec_err_fn)(void *arg, const char *field, const char *msg);
/* The language (i18n.h's LANG_EN, LANG_ZH) of the formatted messages
 * that the checks below and job_enqueue write, until job_spec_lang(NULL)
 * (English, the APIs'): a page sets its own around checking a form. */
void job_spec_lang(const char *lang);

/* Fills s from a JSON object (unknown fields, wrong types and values out of
 * range are errors) or from a form's fields (req's inputs: its route
 * declares job_inputs), the rest from the model's card and kiln's
 * defaults; a missing seed is drawn at random. Every problem goes to err.
 * Returns the number of problems (0: s is complete; free it either way),
 * or -1 when no random seed could be drawn (or req's route declares other
 * inputs). */
int job_spec_from_json(struct json_object *body, const struct kiln_config *c,
	struct job_spec *s, spec_err_fn err, void *arg);
int job_spec_from_form(const struct kreq *req, struct job_spec *s,
	spec_err_fn err, void *arg);

/* Queues s for user_id at the given priority and cost (credits), with
 * its input images stored (ARTIFACTS/jobs/<id>/inputs/<kind>.png) and
 * recorded in job_inputs. Run inside the caller's transaction: on -1
 * nothing it stored is left behind, and after a later failure (ROLLBACK)
 * the caller removes the job's files with job_inputs_discard. Returns
 * 0 with *id, or -1 (db error, or the files could not be written). */
int job_insert(struct db *db, unsigned long long user_id, int priority,
	long cost, const struct job_spec *s, unsigned long long *id);

/* Removes what job_insert stored for job id of s (after a rollback). */
void job_inputs_discard(const struct job_spec *s, unsigned long long id);

/* One image of a job as the generate form names it, "JOBID-IDX"
 * (/generate?init=, init_from): job 1..2^62 and idx 0..BATCH_MAX-1, both
 * plain decimal digits. Returns 0 with *job and *idx, or -1 when s is
 * not one (NULL included). */
int job_image_ref_parse(const char *s, long *job, long *idx);

/* Credits a job costs: one per 512x512 pixel-step of work... precisely
 * ceil(width x height x steps x batch / 262144), at least 1 (a 512x512
 * image of 20 steps: 20). An upscale job is one step: a credit per
 * 512x512 of the image it delivers (2048x2048: 16). */
long job_cost(const struct job_spec *s);

/* Checks s against its tier's size, steps and batch limits, reporting
 * each excess through err. Returns the number of problems. */
struct tier_limits;
int job_spec_limits(const struct job_spec *s, const struct tier_limits *t,
	spec_err_fn err, void *arg);

/* Checks s against what its model can render (the card's size multiple,
 * largest side and steps) and with (its LoRAs: files in [paths] loras
 * that read as LoRAs, not made for another family than the model's),
 * reporting each problem through err with the model's or the LoRA's
 * name: a request the model would fail on, or take minutes a step over,
 * is refused before it is queued. Returns the number of problems (the
 * API answers them with 422). */
int job_spec_model_limits(const struct job_spec *s, spec_err_fn err,
	void *arg);

/* Why job_enqueue refused. */
struct enqueue_refusal {
	int status;		/* 429 (quota), 402 (credits) or 503 */
	const char *code;	/* "quota_exceeded", "insufficient_credits",
				 * "maintenance" (a window refuses jobs) */
	char message[256];
	long retry_after;	/* seconds, for a daily quota or until a
				 * maintenance window ends; else 0 */
};

/*
 * Queues n jobs for user_id in one transaction: the tier's quotas (jobs
 * queued or running at once, jobs in any 24 hours) are checked and the
 * credits charged against the user's row, locked, so concurrent requests
 * cannot overdraw. Returns 0 with ids[], 1 with *why filled (nothing
 * queued), or -1 on a db error.
 */
int job_enqueue(struct db *db, unsigned long long user_id,
	const struct tier_limits *t, const struct job_spec *specs, int n,
	unsigned long long *ids, struct enqueue_refusal *why);

/* job_enqueue for a batch from a CSV file: the same checks and charges
 * for all n jobs at once (the whole batch is queued or none of it), and
 * in the same transaction a batches row named batch for user_id, its id
 * in *batch_id, with each job's batch_id and batch_row (its spec's). */
int job_enqueue_batch(struct db *db, unsigned long long user_id,
	const struct tier_limits *t, const struct job_spec *specs, int n,
	unsigned long long *ids, struct enqueue_refusal *why,
	const char *batch, unsigned long long *batch_id);

/* SQL for a job row aliased j: how many queued jobs run before it
 * (higher priority, or the same and older); NULL unless it is queued. */
#define JOB_AHEAD_SQL "IF(j.status = 'queued', (SELECT COUNT(*) FROM jobs q" \
	" WHERE q.status = 'queued' AND (q.priority > j.priority OR" \
	" (q.priority = j.priority AND q.id < j.id))), NULL)"

/* The same as the place the pages show: 1 for the next job to run, ''
 * (an empty template value) unless it is queued. */
#define JOB_POSITION_SQL "COALESCE(" JOB_AHEAD_SQL " + 1, '')"

/* The status of job id when user_id may see it (theirs, or their team's:
 * teams.h): 1 with *status (the caller frees it), 0 when they may not
 * or it does not exist, -1 on a db error. status may be NULL when only
 * that matters. */
int job_status_of(struct db *db, unsigned long long id,
	unsigned long long user_id, char **status);

/* The job as its owner sees it, or NULL with *found 0 when it is not
 * user_id's (or does not exist); NULL with *found -1 on a db error or out
 * of memory. Its URLs (images, preview, share link) are absolute, on
 * base_url ([site] base_url). */
struct json_object *job_json(struct db *db, const char *base_url,
	unsigned long long id, unsigned long long user_id, int *found);

/* The jobs of ids[0..n-1] that are user_id's, as job_json gives each,
 * appended to the array out in the order of ids (the others left out),
 * in two queries whatever n is. Returns 0, or -1 on a db error or out
 * of memory. */
int jobs_json(struct db *db, const char *base_url,
	const unsigned long long *ids, size_t n, unsigned long long user_id,
	struct json_object *out);

/* What job_share, job_unshare and job_delete found. */
enum job_change {
	JOB_CHANGE_DBFAIL = -1,
	JOB_CHANGE_NOT_FOUND = 0,	/* not the user's, or deleted */
	JOB_CHANGE_DONE = 1,
	JOB_CHANGE_CONFLICT = 2,	/* not in a state that allows it */
};

/* Shares a succeeded job by link: token (TOKEN_LEN + 1 bytes) receives
 * the job's share token, made now or the one it already had. */
enum job_change job_share(struct db *db, unsigned long long id,
	unsigned long long user_id, char *token);

/* Ends sharing (the old link answers 404 from now on). */
enum job_change job_unshare(struct db *db, unsigned long long id,
	unsigned long long user_id);

/* Deletes an ended job of user_id's, or of a team user_id owns
 * (teams.h): its images (files and rows), preview, texts and link go;
 * the row stays, marked deleted, so the credits it used and the
 * jobs-per-day window still count it. A queued or running job is a
 * conflict (cancel it first). */
enum job_change job_delete(struct db *db, const struct kiln_config *cfg,
	unsigned long long id, unsigned long long user_id);

/* 1 when s has the shape of a share token (base64url, TOKEN_LEN). */
int share_token_valid(const char *s);

/* What a job renders: the part of its JSON that the owner's view
 * (job_json) and a shared link's view have in common. Strings are the
 * row's, valid only during the query's callback. */
struct job_recipe {
	const char *prompt, *negative, *model, *sampler;
	int width, height, steps, batch;
	double cfg;
	const char *cfg_text;	/* the connector's text for cfg ("7.5") */
	unsigned long long seed;
	/* The hires fix; hires_scale_text NULL: none. */
	double hires_scale, hires_strength;
	const char *hires_scale_text, *hires_strength_text, *hires_upscaler;
	int hires_steps;
	/* Image inputs' parameters (NULL text: not set). */
	const char *denoising_text;
	double denoising;
	int resize_mode;
	int has_inpaint;	/* a mask or an outpaint: the next are set */
	int mask_blur, inpainting_fill, full_res;
	int full_res_pad, mask_invert;
	int outpaint[4], has_outpaint;
	const char *cn_model, *cn_pre, *cn_weight_text, *cn_start_text;
	const char *cn_end_text, *cn_low_text, *cn_high_text;
	double cn_weight, cn_start, cn_end, cn_low, cn_high;
	/* "generate" or "upscale"; an upscale job's upscaler and factor
	 * (NULL: not one). */
	const char *kind, *upscaler, *upscale_by_text;
	double upscale_by;
	const char *output_format;	/* "png", "tiff16", ... */
};

/* The recipe's columns as a SELECT lists them (t: a table prefix such as
 * "j." or ""); cfg_scale comes twice, as the number and as the text the
 * JSON shows, not a binary double's seventeen digits. */
#define JOB_RECIPE_SQL(t) t "prompt, " t "negative_prompt, " t "model, " \
	t "width, " t "height, " t "steps, " t "cfg_scale, " \
	t "cfg_scale AS cfg_scale_text, " t "sampler, " t "seed, " \
	t "batch_count, " t "hires_scale, " t "hires_scale AS " \
	"hires_scale_text, " t "hires_strength, " t "hires_strength AS " \
	"hires_strength_text, " t "hires_steps, " t "hires_upscaler, " \
	t "denoising_strength, " t "denoising_strength AS denoising_text, " \
	t "resize_mode, " t "mask_blur, " t "inpainting_fill, " \
	t "inpaint_full_res, " t "inpaint_full_res_padding, " \
	t "inpainting_mask_invert, (" t "mask_blur IS NOT NULL) AS " \
	"has_inpaint, (" t "outpaint_left IS NOT NULL) AS has_outpaint, " \
	t "outpaint_left, " t "outpaint_right, " \
	t "outpaint_up, " t "outpaint_down, " t "controlnet_model, " \
	t "controlnet_weight, " t "controlnet_weight AS cn_weight_text, " \
	t "controlnet_start, " t "controlnet_start AS cn_start_text, " \
	t "controlnet_end, " t "controlnet_end AS cn_end_text, " \
	t "controlnet_preprocessor, " t "controlnet_low, " \
	t "controlnet_low AS cn_low_text, " t "controlnet_high, " \
	t "controlnet_high AS cn_high_text, " t "kind, " t "upscaler, " \
	t "upscale_by, " t "upscale_by AS upscale_by_text, " \
	t "output_format"

/* The fields of JOB_RECIPE_SQL for a record st whose member m is a
 * struct job_recipe. */
#define JOB_RECIPE_FIELDS(st, m) \
	DB_FIELD(st, m.prompt, DBF_STR, "prompt"), \
	DB_FIELD(st, m.negative, DBF_STR, "negative_prompt"), \
	DB_FIELD(st, m.model, DBF_STR, "model"), \
	DB_FIELD(st, m.width, DBF_INT, "width"), \
	DB_FIELD(st, m.height, DBF_INT, "height"), \
	DB_FIELD(st, m.steps, DBF_INT, "steps"), \
	DB_FIELD(st, m.cfg, DBF_DOUBLE, "cfg_scale"), \
	DB_FIELD(st, m.cfg_text, DBF_STR, "cfg_scale_text"), \
	DB_FIELD(st, m.sampler, DBF_STR, "sampler"), \
	DB_FIELD(st, m.seed, DBF_ULLONG, "seed"), \
	DB_FIELD(st, m.batch, DBF_INT, "batch_count"), \
	DB_FIELD_NULL(st, m.hires_scale, DBF_DOUBLE, "hires_scale"), \
	DB_FIELD_NULL(st, m.hires_scale_text, DBF_STR, "hires_scale_text"), \
	DB_FIELD_NULL(st, m.hires_strength, DBF_DOUBLE, "hires_strength"), \
	DB_FIELD_NULL(st, m.hires_strength_text, DBF_STR, \
		"hires_strength_text"), \
	DB_FIELD_NULL(st, m.hires_steps, DBF_INT, "hires_steps"), \
	DB_FIELD_NULL(st, m.hires_upscaler, DBF_STR, "hires_upscaler"), \
	DB_FIELD_NULL(st, m.denoising, DBF_DOUBLE, "denoising_strength"), \
	DB_FIELD_NULL(st, m.denoising_text, DBF_STR, "denoising_text"), \
	DB_FIELD_NULL(st, m.resize_mode, DBF_INT, "resize_mode"), \
	DB_FIELD_NULL(st, m.mask_blur, DBF_INT, "mask_blur"), \
	DB_FIELD_NULL(st, m.inpainting_fill, DBF_INT, "inpainting_fill"), \
	DB_FIELD_NULL(st, m.full_res, DBF_INT, "inpaint_full_res"), \
	DB_FIELD_NULL(st, m.full_res_pad, DBF_INT, \
		"inpaint_full_res_padding"), \
	DB_FIELD_NULL(st, m.mask_invert, DBF_INT, "inpainting_mask_invert"), \
	DB_FIELD(st, m.has_inpaint, DBF_INT, "has_inpaint"), \
	DB_FIELD(st, m.has_outpaint, DBF_INT, "has_outpaint"), \
	DB_FIELD_NULL(st, m.outpaint[0], DBF_INT, "outpaint_left"), \
	DB_FIELD_NULL(st, m.outpaint[1], DBF_INT, "outpaint_right"), \
	DB_FIELD_NULL(st, m.outpaint[2], DBF_INT, "outpaint_up"), \
	DB_FIELD_NULL(st, m.outpaint[3], DBF_INT, "outpaint_down"), \
	DB_FIELD_NULL(st, m.cn_model, DBF_STR, "controlnet_model"), \
	DB_FIELD_NULL(st, m.cn_weight, DBF_DOUBLE, "controlnet_weight"), \
	DB_FIELD_NULL(st, m.cn_weight_text, DBF_STR, "cn_weight_text"), \
	DB_FIELD_NULL(st, m.cn_start, DBF_DOUBLE, "controlnet_start"), \
	DB_FIELD_NULL(st, m.cn_start_text, DBF_STR, "cn_start_text"), \
	DB_FIELD_NULL(st, m.cn_end, DBF_DOUBLE, "controlnet_end"), \
	DB_FIELD_NULL(st, m.cn_end_text, DBF_STR, "cn_end_text"), \
	DB_FIELD_NULL(st, m.cn_pre, DBF_STR, "controlnet_preprocessor"), \
	DB_FIELD_NULL(st, m.cn_low, DBF_DOUBLE, "controlnet_low"), \
	DB_FIELD_NULL(st, m.cn_low_text, DBF_STR, "cn_low_text"), \
	DB_FIELD_NULL(st, m.cn_high, DBF_DOUBLE, "controlnet_high"), \
	DB_FIELD_NULL(st, m.cn_high_text, DBF_STR, "cn_high_text"), \
	DB_FIELD(st, m.kind, DBF_STR, "kind"), \
	DB_FIELD_NULL(st, m.upscaler, DBF_STR, "upscaler"), \
	DB_FIELD_NULL(st, m.upscale_by, DBF_DOUBLE, "upscale_by"), \
	DB_FIELD_NULL(st, m.upscale_by_text, DBF_STR, "upscale_by_text"), \
	DB_FIELD(st, m.output_format, DBF_STR, "output_format")

/* Adds the recipe's keys to o, in the order the API documents them. */
struct json_object;
void job_recipe_json(struct json_object *o, const struct job_recipe *r);

#endif
