/* projects.h - projects (issue 29): named collections of jobs and of
 * shots, each shot a history of manifest versions (JSON objects), kept
 * by a user or shared with a team.
 *
 * Access, decided from the rows at each request (teams.h's roles):
 *  - a personal project (team_id NULL): its maker manages it; anyone
 *    else gets 404;
 *  - a team project: the team's owners, and its maker while a member or
 *    owner of the team, manage it (everything, deleting and sharing
 *    included); its other members read and write (jobs, versions,
 *    renders, renaming); its viewers read; anyone else, its maker after
 *    leaving the team included, gets 404 (as for a team, admins too);
 *  - a job in a project stays under its own rules: a project lists to
 *    each reader only the jobs they may see (teams.h), and a job is
 *    added only by someone who may see it. Deleting a project keeps its
 *    jobs. */
#ifndef KILN_PROJECTS_H
#define KILN_PROJECTS_H

#include <stddef.h>

struct db;
struct json_object;

enum project_access {
	PROJECT_NONE = 0,
	PROJECT_READ,
	PROJECT_WRITE,
	PROJECT_MANAGE
};

/* "read", "write", "manage" ("" for PROJECT_NONE). */
const char *project_access_name(enum project_access a);

/* What user_id may do with project id (PROJECT_NONE: no such project
 * for them), or -1 on a database error. */
int project_access(struct db *db, unsigned long long id,
	unsigned long long user_id);

/* An SQL condition with TWO parameters (the user's id twice): the
 * user may read project table t ("p."). */
#define PROJECT_SEES(t) "((" t "team_id IS NULL AND " t "user_id = ?) OR " \
	t "team_id IN (SELECT tm.team_id FROM team_members tm WHERE" \
	" tm.user_id = ?))"

#define PROJECT_NAME_MAX 100	/* as a team's name (team_name_valid) */
#define PROJECT_DESC_MAX 2000
#define SHOT_NAME_MAX 64
#define VERSION_NOTE_MAX 500

/* 1 when s may name a shot: 1 to SHOT_NAME_MAX of a-z, 0-9, '-' and
 * '_', starting with a letter or digit (it is a path segment). */
int shot_name_valid(const char *s);

/* 1 when s is 0 to max bytes of valid UTF-8 text (line breaks and tabs
 * allowed, no other control characters). */
int project_text_valid(const char *s, size_t max);

/* Makes a project of user_id (shared with team_id when not 0: the
 * caller checked that they are its owner or member). Returns 0 with
 * *id, or -1. */
int project_create(struct db *db, unsigned long long user_id,
	unsigned long long team_id, const char *name, const char *desc,
	unsigned long long *id);

/* Adds job_id to project_id for user_id (the caller checked that they
 * may write the project): 0 added, 1 it was there already, 2 no such
 * job for them (not one they may see), -1 on a database error. */
int project_job_add(struct db *db, unsigned long long project_id,
	unsigned long long job_id, unsigned long long user_id);

/* Stores text (checked by json_object_text_parse) as the next version
 * of shot in project_id, by author. Returns 0 with *version, or -1. */
int project_version_add(struct db *db, unsigned long long project_id,
	const char *shot, const char *text, const char *note,
	unsigned long long author, long *version);

/* One version of a shot: its row id (0: no such version) and its
 * manifest text (the caller frees it). */
struct project_version {
	unsigned long long id;
	char *manifest;
};

/* Version v of shot in project_id into *r. Returns 0 (r->id 0 when
 * there is none) or -1 on a database error. */
int project_version_get(struct db *db, unsigned long long project_id,
	const char *shot, long v, struct project_version *r);

/* The job fields of a version that is not a scene manifest (it has a
 * top-level "prompt"): prompt, negative_prompt, model, width, height,
 * steps, cfg_scale, sampler and seed, the POST /api/v1/jobs fields of
 * the same names (the rest is kept in the version, not rendered). A
 * fresh object for job_spec_from_json, or NULL when manifest has no
 * "prompt" string. */
struct json_object *project_render_body(struct json_object *manifest);

/* What project_render came to. */
enum project_render {
	PROJECT_RENDER_QUEUED = 0,
	PROJECT_RENDER_INVALID,		/* its fields refused, through err */
	PROJECT_RENDER_REFUSED,		/* a quota or credits: *why */
	PROJECT_RENDER_FAILED		/* database (or no random seed) */
};

/* Queues the job of manifest version row version_id (its text, stored
 * by project_version_add) for user_id, made for team_id when not 0 (a
 * team project's renders are the team's, paid from its pool), with
 * tier's limits: a version with a top-level "prompt" by its job fields
 * (project_render_body), any other as a scene manifest (presets.h's
 * manifest_apply: compiled, and kept with the job as POST /api/v1/jobs
 * keeps one). Records the job as the version's and adds it to
 * project_id. Problems go to err as POST /api/v1/jobs reports them
 * (a manifest's as "manifest": "$.path: why"). *job_id is the job when
 * QUEUED. */
struct kiln_config;
struct tier_limits;
struct enqueue_refusal;
int project_render(struct db *db, const struct kiln_config *cfg,
	const struct tier_limits *tier, unsigned long long user_id,
	unsigned long long team_id, unsigned long long project_id,
	unsigned long long version_id, const char *text,
	void (*err)(void *, const char *, const char *), void *arg,
	struct enqueue_refusal *why, unsigned long long *job_id);

#endif
