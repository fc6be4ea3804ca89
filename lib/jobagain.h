/* jobagain.h - a stored job as the request body (POST /api/v1/jobs'
 * JobRequest) that makes it again, or that upscales one of its images:
 * "vary" and "upscale" on the job page go through the same checks,
 * quotas and charges as any new job (job_spec_from_json, job_enqueue). */
#ifndef KILN_JOBAGAIN_H
#define KILN_JOBAGAIN_H

#include <stddef.h>

struct db;
struct json_object;
struct kiln_config;

/* Job id of user_id as a JobRequest: its recipe (prompt, model, size,
 * steps, sampler, hires fix, image parameters, ControlNet), the LoRAs
 * given in its field (the prompt keeps its own tags) and its input
 * images as base64, without its seed, so that one is drawn; a job made
 * from a scene manifest gives "manifest" (less its seed) and the preset
 * rows it used ("manifest_presets") in place of the fields the manifest
 * sets, for manifest_apply. An upscale
 * job (kind "upscale") has nothing to vary: *found 2. Returns the body
 * (the caller puts it) with *found 1; NULL with *found 0 when the job is
 * not user_id's, -1 on a db error, an unreadable input or no memory. */
struct json_object *job_again_body(struct db *db,
	const struct kiln_config *cfg,
	unsigned long long id, unsigned long long user_id, int *found);

/* An upscale job's request for image idx of job id of user_id: kind
 * "upscale", that image as init_image, upscaler (NULL: the default one,
 * job_default_upscaler). Returns as job_again_body (never *found 2). */
struct json_object *job_upscale_body(struct db *db,
	const struct kiln_config *cfg,
	const char *upscalers_dir, unsigned long long id, long idx,
	unsigned long long user_id, const char *upscaler, int *found);

/* The upscaler an image is made larger with when none is named: the
 * first usable model of upscalers_dir by name (a trained upscaler beats
 * resampling), else "lanczos". Returns a static or out-owned string:
 * out (n bytes) receives the name. */
const char *job_default_upscaler(const char *upscalers_dir, char *out,
	size_t n);

#endif
