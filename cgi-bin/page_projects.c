/* page_projects.c - /projects: the user's projects and making one;
 * /projects/{id}: its jobs as a grid, its shots, adding and removing
 * jobs, renaming, sharing with a team, deleting; /projects/{id}/shots/
 * {name}: a shot's manifest versions, a new one, rendering one;
 * .../diff?a=&b=: the fields changed between two versions and their
 * renders side by side. Who may do what: projects.h (404 to whoever may
 * not read, 403 to a reader who may not write). */
#include "app.h"
#include "auth.h"
#include "config.h"
#include "db.h"
#include "handlers.h"
#include "jsondiff.h"
#include "projects.h"
#include "ratelimit.h"
#include "submit.h"
#include "teams.h"
#include "view.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PC_NAME, PC_DESC, PC_TEAM };
const struct input project_create_inputs[] = {
	[PC_NAME] = { .name = "name", .type = IN_STR,
		.flags = IN_REQUIRED | IN_TEXT, .min = 1,
		.max = PROJECT_NAME_MAX, .msg = "Name: 1-100 bytes of text." },
	[PC_DESC] = { .name = "description", .type = IN_STR,
		.flags = IN_TEXT | IN_LINES, .max = PROJECT_DESC_MAX,
		.msg = "Description: at most 2000 bytes of text." },
	[PC_TEAM] = { .name = "team_id", .type = IN_INT, .flags = IN_BLANK,
		.min = 1, .max = 1L << 62,
		.msg = "Share with: one of your teams, or nobody." },
	IN_END,
};

enum { PS_TEAM };
const struct input project_share_inputs[] = {
	[PS_TEAM] = { .name = "team_id", .type = IN_INT, .flags = IN_BLANK,
		.min = 1, .max = 1L << 62,
		.msg = "Share with: one of your teams, or nobody." },
	IN_END,
};

enum { PJ_JOB };
const struct input project_job_inputs[] = {
	[PJ_JOB] = { .name = "job_id", .type = IN_INT, .flags = IN_REQUIRED,
		.min = 1, .max = 1L << 62,
		.msg = "Job: the number of a job you can see." },
	IN_END,
};

enum { JP_PROJECT };
const struct input job_project_inputs[] = {
	[JP_PROJECT] = { .name = "project_id", .type = IN_INT,
		.flags = IN_REQUIRED, .min = 1, .max = 1L << 62,
		.msg = "Project: one of your projects." },
	IN_END,
};

enum { PV_MANIFEST, PV_NOTE, PV_SHOT };
const struct input project_version_inputs[] = {
	[PV_MANIFEST] = { .name = "manifest", .type = IN_STR,
		.flags = IN_REQUIRED | IN_TEXT | IN_LINES, .min = 2,
		.max = JSONDIFF_TEXT_MAX,
		.msg = "Manifest: a JSON object of at most 64 KiB." },
	[PV_NOTE] = { .name = "note", .type = IN_STR, .flags = IN_TEXT,
		.max = VERSION_NOTE_MAX,
		.msg = "Note: at most 500 bytes of text." },
	[PV_SHOT] = { .name = "shot", .type = IN_STR, .flags = IN_REQUIRED,
		.min = 1, .max = SHOT_NAME_MAX, .check = shot_name_valid,
		.msg = "Shot: 1-64 of a-z, 0-9, - and _, starting with a "
			"letter or digit." },
	IN_END,
};

/* The teams user may share a project with (owner or member) as
 * Teams.Mine. Returns as view_rows. */
static long
my_teams(struct kreq *req)
{
	struct db_param p[1] = { DB_INT(req->auth->user_id) };

	return view_rows(req, "Teams.Mine", "SELECT t.id AS Id, t.name AS"
	    " Name FROM teams t JOIN team_members m ON m.team_id = t.id AND"
	    " m.user_id = ? AND m.role IN ('owner', 'member') ORDER BY"
	    " t.name, t.id", p, 1);
}

/* Whether the caller may put a project in team (0: none): 0 yes, -1
 * after answering 404 (not in it) or 403 (a viewer). */
static int
team_ok(struct kreq *req, unsigned long long team)
{
	int r;

	if (team == 0)
		return 0;
	r = team_role_of(req->app->db, team, req->auth->user_id);
	if (r < 0)
		return view_db_fail(req, "projects: team");
	if (r == TEAM_NONE) {
		view_error(req, 404, "not_found", "No such team.");
		return -1;
	}
	if (r < TEAM_MEMBER) {
		view_error(req, 403, "forbidden", "A team's viewers cannot "
			"share projects with it.");
		return -1;
	}
	return 0;
}

static int
list(struct kreq *req, int status)
{
	struct db_param p[2] = { DB_INT(req->auth->user_id),
		DB_INT(req->auth->user_id) };

	if (view_rows(req, "Projects.List", "SELECT p.id AS Id, p.name AS"
	    " Name, COALESCE(t.name, '') AS Team, (SELECT COUNT(*) FROM"
	    " project_jobs pj WHERE pj.project_id = p.id) AS Jobs,"
	    " (SELECT COUNT(DISTINCT m.shot) FROM project_manifests m WHERE"
	    " m.project_id = p.id) AS Shots, DATE_FORMAT(p.updated_at,"
	    " '%Y-%m-%d %H:%i') AS Updated FROM projects p LEFT JOIN teams t"
	    " ON t.id = p.team_id WHERE " PROJECT_SEES("p.")
	    " ORDER BY p.updated_at DESC, p.id DESC", p, 2) < 0 ||
	    my_teams(req) < 0)
		return view_db_fail(req, "projects: list");
	return view_render(req, status, "Projects", "projects.cs");
}

int
page_projects(struct kreq *req)
{
	return list(req, 200);
}

int
page_projects_create(struct kreq *req)
{
	const char *name = in_str(req, PC_NAME), *desc = in_str(req, PC_DESC);
	unsigned long long id = 0, team = (unsigned long long)in_long(req,
		PC_TEAM);
	int bad = 0;

	if (name == NULL || !team_name_valid(name))
		bad += !view_input_error(req, PC_NAME);
	if (in_bad(req, PC_DESC))
		bad += !view_input_error(req, PC_DESC);
	if (in_bad(req, PC_TEAM))
		bad += !view_input_error(req, PC_TEAM);
	if (bad) {
		view_set(req, "Form.Name", in_sent(req, PC_NAME) ?
			in_sent(req, PC_NAME) : "");
		view_set(req, "Form.Description", in_sent(req, PC_DESC) ?
			in_sent(req, PC_DESC) : "");
		return list(req, 422);
	}
	if (team_ok(req, team) < 0)
		return -1;
	if (project_create(req->app->db, req->auth->user_id, team, name, desc,
	    &id) != 0)
		return view_db_fail(req, "projects: create");
	return view_flash_redirect(req, "project_created", "/projects/%llu",
		id);
}

/* The caller's access to the route's project, set as Project.Access;
 * -1 after answering 404 (none) or 403 (less than need). */
static int
access_here(struct kreq *req, enum project_access need)
{
	int a = project_access(req->app->db, req_id(req, 0),
		req->auth->user_id);

	if (a < 0)
		return view_db_fail(req, "projects: access");
	if (a == PROJECT_NONE) {
		view_error(req, 404, "not_found", "No such project.");
		return -1;
	}
	if (a < (int)need) {
		view_error(req, 403, "forbidden", need == PROJECT_MANAGE ?
			"Only the project's maker and its team's owners can "
			"delete or share it." : "A team's viewers cannot "
			"change its projects.");
		return -1;
	}
	view_set(req, "Project.Access", project_access_name(a));
	return a;
}

/* The project's own row as Project.Info. Returns as view_rows. */
static long
project_info(struct kreq *req)
{
	struct db_param p[1] = { DB_INT(req_id(req, 0)) };

	return view_rows(req, "Project.Info", "SELECT p.id AS Id, p.name AS"
	    " Name, p.description AS Description, COALESCE(p.team_id, '') AS"
	    " TeamId, COALESCE(t.name, '') AS TeamName, u.username AS Maker,"
	    " DATE_FORMAT(p.updated_at, '%Y-%m-%d %H:%i') AS Updated"
	    " FROM projects p JOIN users u ON u.id = p.user_id LEFT JOIN"
	    " teams t ON t.id = p.team_id WHERE p.id = ?", p, 1);
}

static int
show(struct kreq *req, int status)
{
	struct db_param p[2] = { DB_INT(req_id(req, 0)),
		DB_INT(req->auth->user_id) };
	long hidden = 0;

	if (access_here(req, PROJECT_READ) < 0)
		return -1;
	/* Each reader sees the jobs the job rules let them see
	 * (projects.h): the others are only counted. */
	if (project_info(req) < 0 || my_teams(req) < 0 ||
	    view_rows(req, "Project.Jobs", "SELECT j.id AS Id, j.status AS"
	    " Status, LEFT(j.prompt, 200) AS Prompt, COALESCE(i.idx, '') AS"
	    " Idx, COALESCE(i.width, 0) AS Width, COALESCE(i.height, 0) AS"
	    " Height FROM project_jobs pj JOIN jobs j ON j.id = pj.job_id"
	    " LEFT JOIN job_images i ON i.job_id = j.id AND i.idx = 0"
	    " WHERE pj.project_id = ? AND j.deleted_at IS NULL AND "
	    TEAM_JOB_SEES("j.") " ORDER BY pj.added_at DESC, j.id DESC",
	    p, 2) < 0 ||
	    db_query_long(req->app->db, "SELECT COUNT(*) FROM project_jobs pj"
	    " JOIN jobs j ON j.id = pj.job_id WHERE pj.project_id = ? AND"
	    " j.deleted_at IS NULL AND NOT " TEAM_JOB_SEES("j."), p, 2,
	    &hidden) != 0 ||
	    view_rows(req, "Project.Shots", "SELECT m.shot AS Name,"
	    " m.version AS Latest, COALESCE(m.job_id, '') AS JobId,"
	    " DATE_FORMAT(m.created_at, '%Y-%m-%d %H:%i') AS Updated"
	    " FROM project_manifests m WHERE m.project_id = ? AND m.version ="
	    " (SELECT MAX(x.version) FROM project_manifests x WHERE"
	    " x.project_id = m.project_id AND x.shot = m.shot)"
	    " ORDER BY m.shot", p, 1) < 0)
		return view_db_fail(req, "project");
	view_set_int(req, "Project.Hidden", hidden);
	/* The new shot's editor starts from a manifest with a prompt. */
	if (view_get(req, "Form.Manifest") == NULL)
		view_set(req, "Form.Manifest", "{\n  \"subject\": \"\"\n}");
	return view_render(req, status, "Project", "project.cs");
}

int
page_project(struct kreq *req)
{
	return show(req, 200);
}

int
page_project_rename(struct kreq *req)
{
	const char *name = in_str(req, PC_NAME), *desc = in_str(req, PC_DESC);
	struct db_param p[3];
	int bad = 0;

	if (access_here(req, PROJECT_WRITE) < 0)
		return -1;
	if (name == NULL || !team_name_valid(name))
		bad += !view_input_error(req, PC_NAME);
	if (in_bad(req, PC_DESC))
		bad += !view_input_error(req, PC_DESC);
	if (bad)
		return show(req, 422);
	p[0] = DB_STR(name);
	p[1] = DB_STR(desc ? desc : "");
	p[2] = DB_INT(req_id(req, 0));
	if (db_exec(req->app->db, "UPDATE projects SET name = ?,"
	    " description = ? WHERE id = ?", p, 3, NULL, NULL) != 0)
		return view_db_fail(req, "project: rename");
	return view_flash_redirect(req, "project_saved", "/projects/%llu",
		req_id(req, 0));
}

int
page_project_delete(struct kreq *req)
{
	struct db_param p[1] = { DB_INT(req_id(req, 0)) };

	if (access_here(req, PROJECT_MANAGE) < 0)
		return -1;
	/* Its job links and versions go with it; the jobs stay. */
	if (db_exec(req->app->db, "DELETE FROM projects WHERE id = ?", p, 1,
	    NULL, NULL) != 0)
		return view_db_fail(req, "project: delete");
	return view_flash_redirect(req, "project_deleted", "/projects");
}

int
page_project_share(struct kreq *req)
{
	unsigned long long team = (unsigned long long)in_long(req, PS_TEAM);
	struct db_param p[2];

	if (access_here(req, PROJECT_MANAGE) < 0)
		return -1;
	if (in_bad(req, PS_TEAM)) {
		view_input_error(req, PS_TEAM);
		return show(req, 422);
	}
	if (team_ok(req, team) < 0)
		return -1;
	p[0] = team ? DB_INT(team) : DB_NULL;
	p[1] = DB_INT(req_id(req, 0));
	if (db_exec(req->app->db, "UPDATE projects SET team_id = ? WHERE"
	    " id = ?", p, 2, NULL, NULL) != 0)
		return view_db_fail(req, "project: share");
	return view_flash_redirect(req, "project_saved", "/projects/%llu",
		req_id(req, 0));
}

int
page_project_job_add(struct kreq *req)
{
	int r;

	if (access_here(req, PROJECT_WRITE) < 0)
		return -1;
	if (in_bad(req, PJ_JOB)) {
		view_input_error(req, PJ_JOB);
		return show(req, 422);
	}
	r = project_job_add(req->app->db, req_id(req, 0),
		(unsigned long long)in_long(req, PJ_JOB), req->auth->user_id);
	if (r < 0)
		return view_db_fail(req, "project: add job");
	if (r == 2) {
		view_error(req, 404, "not_found", "No such job.");
		return -1;
	}
	return view_flash_redirect(req, "project_job_added", "/projects/%llu",
		req_id(req, 0));
}

int
page_project_job_remove(struct kreq *req)
{
	struct db_param p[2] = { DB_INT(req_id(req, 0)),
		DB_INT(req_id(req, 1)) };

	if (access_here(req, PROJECT_WRITE) < 0)
		return -1;
	if (db_exec(req->app->db, "DELETE FROM project_jobs WHERE"
	    " project_id = ? AND job_id = ?", p, 2, NULL, NULL) != 0)
		return view_db_fail(req, "project: remove job");
	return view_flash_redirect(req, "project_saved", "/projects/%llu",
		req_id(req, 0));
}

/* The job page's "Add to project": POST /jobs/{id}/project. */
int
page_job_project(struct kreq *req)
{
	unsigned long long pid = (unsigned long long)in_long(req, JP_PROJECT);
	int a, r;

	if (in_bad(req, JP_PROJECT)) {
		view_error(req, 400, "bad_request", "Project: one of your "
			"projects.");
		return -1;
	}
	a = project_access(req->app->db, pid, req->auth->user_id);
	if (a < 0)
		return view_db_fail(req, "job: project");
	if (a == PROJECT_NONE) {
		view_error(req, 404, "not_found", "No such project.");
		return -1;
	}
	if (a < PROJECT_WRITE) {
		view_error(req, 403, "forbidden", "A team's viewers cannot "
			"change its projects.");
		return -1;
	}
	r = project_job_add(req->app->db, pid, req_id(req, 0),
		req->auth->user_id);
	if (r < 0)
		return view_db_fail(req, "job: project");
	if (r == 2) {
		view_error(req, 404, "not_found", "No such job.");
		return -1;
	}
	return view_flash_redirect(req, "project_job_added", "/projects/%llu",
		pid);
}

/* The projects the job page offers (those user may write) as
 * Job.Projects. Returns 0 or -1 (db). */
int
page_job_projects(struct kreq *req)
{
	struct db_param p[2] = { DB_INT(req->auth->user_id),
		DB_INT(req->auth->user_id) };

	return view_rows(req, "JobProjects", "SELECT p.id AS Id, p.name AS"
	    " Name FROM projects p WHERE (p.team_id IS NULL AND p.user_id ="
	    " ?) OR p.team_id IN (SELECT tm.team_id FROM team_members tm"
	    " WHERE tm.user_id = ? AND tm.role IN ('owner', 'member'))"
	    " ORDER BY p.updated_at DESC LIMIT 50", p, 2) < 0 ? -1 : 0;
}

/* ------------------------------------------------------------ shots */

/* The route's shot name (capture 1), or NULL after answering 404. */
static const char *
shot_here(struct kreq *req)
{
	const char *s = req->ncaptures > 1 ? req->captures[1] : NULL;

	if (s == NULL || !shot_name_valid(s)) {
		view_error(req, 404, "not_found", "No such shot.");
		return NULL;
	}
	return s;
}

/* The SELECT of a shot's versions, each with its render (and the
 * render's first image) when the reader may see that job: three
 * parameters (reader, project, shot), then the caller's conditions. */
#define VERSIONS_SQL "SELECT m.id AS VersionId, m.version AS Version," \
	" m.manifest AS Manifest, m.note AS Note, COALESCE(u.username, '')" \
	" AS Author, DATE_FORMAT(m.created_at, '%Y-%m-%d %H:%i') AS Created," \
	" COALESCE(j.id, '') AS JobId, COALESCE(j.status, '') AS JobStatus," \
	" COALESCE(i.idx, '') AS Idx, COALESCE(i.width, 0) AS Width," \
	" COALESCE(i.height, 0) AS Height FROM project_manifests m" \
	" LEFT JOIN users u ON u.id = m.author_id" \
	" LEFT JOIN jobs j ON j.id = m.job_id AND j.deleted_at IS NULL AND " \
	TEAM_JOB_SEES("j.") \
	" LEFT JOIN job_images i ON i.job_id = j.id AND i.idx = 0" \
	" WHERE m.project_id = ? AND m.shot = ?"

static int
shot_show(struct kreq *req, int status, const char *shot)
{
	struct db_param p[3] = { DB_INT(req->auth->user_id),
		DB_INT(req_id(req, 0)), DB_STR(shot) };
	long n;

	if (project_info(req) < 0)
		return view_db_fail(req, "shot");
	n = view_rows(req, "Shot.Versions", VERSIONS_SQL
		" ORDER BY m.version DESC", p, 3);
	if (n < 0)
		return view_db_fail(req, "shot");
	view_set(req, "Shot.Name", shot);
	view_set_int(req, "Shot.Count", n);
	/* The editor starts from the latest version. */
	if (view_get(req, "Form.Manifest") == NULL)
		view_set(req, "Form.Manifest", n > 0 ? view_get(req,
			"Shot.Versions.0.Manifest") : "{\n  \"subject\": \"\"\n}");
	return view_render(req, status, "Shot", "project_shot.cs");
}

int
page_project_shot(struct kreq *req)
{
	const char *shot;

	if (access_here(req, PROJECT_READ) < 0 ||
	    (shot = shot_here(req)) == NULL)
		return -1;
	return shot_show(req, 200, shot);
}

/* Stores the form's manifest as shot's next version, or shows why not
 * (on the shot page, or the project page for a new shot). */
static int
version_post(struct kreq *req, const char *shot, int new_shot)
{
	const char *text = in_str(req, PV_MANIFEST), *note = in_str(req,
		PV_NOTE);
	json_object *o = NULL;
	char err[200], msg[300];
	long v = 0;
	int bad = 0;

	if (in_bad(req, PV_MANIFEST))
		bad += !view_input_error(req, PV_MANIFEST);
	else if (json_object_text_parse(text, strlen(text), &o, err,
	    sizeof(err)) != 0) {
		snprintf(msg, sizeof(msg), "%s%s.", view_tr(req, "Manifest: "),
			err);
		bad += !view_field_error(req, "manifest", msg);
	}
	json_object_put(o);
	if (in_bad(req, PV_NOTE))
		bad += !view_input_error(req, PV_NOTE);
	if (shot == NULL) {
		bad += !view_input_error(req, PV_SHOT);
		shot = "";
	}
	if (bad) {
		view_set(req, "Form.Manifest", in_sent(req, PV_MANIFEST) ?
			in_sent(req, PV_MANIFEST) : "");
		view_set(req, "Form.Note", in_sent(req, PV_NOTE) ?
			in_sent(req, PV_NOTE) : "");
		view_set(req, "Form.Shot", in_sent(req, PV_SHOT) ?
			in_sent(req, PV_SHOT) : "");
		return new_shot ? show(req, 422) : shot_show(req, 422, shot);
	}
	if (project_version_add(req->app->db, req_id(req, 0), shot, text,
	    note, req->auth->user_id, &v) != 0)
		return view_db_fail(req, "shot: version");
	return view_flash_redirect(req, "project_version_added",
		"/projects/%llu/shots/%s", req_id(req, 0), shot);
}

int
page_project_shot_new(struct kreq *req)
{
	if (access_here(req, PROJECT_WRITE) < 0)
		return -1;
	return version_post(req, in_str(req, PV_SHOT), 1);
}

int
page_project_version_add(struct kreq *req)
{
	const char *shot;

	if (access_here(req, PROJECT_WRITE) < 0 ||
	    (shot = shot_here(req)) == NULL)
		return -1;
	return version_post(req, shot, 0);
}

static void
render_error(void *arg, const char *field, const char *msg)
{
	struct kreq *req = arg;
	char key[80];
	long n = 0;

	while (n < 64) {
		snprintf(key, sizeof(key), "Render.Errors.%ld.Field", n);
		if (view_get(req, key) == NULL)
			break;
		n++;
	}
	view_set(req, key, field);
	snprintf(key, sizeof(key), "Render.Errors.%ld.Message", n);
	view_set(req, key, msg);
}

int
page_project_render(struct kreq *req)
{
	struct project_version r;
	struct tier_limits tier;
	struct enqueue_refusal why;
	unsigned long long job = 0, team = 0;
	const char *shot, *tid;
	char url[64];
	int st;

	if (access_here(req, PROJECT_WRITE) < 0 ||
	    (shot = shot_here(req)) == NULL)
		return -1;
	if (project_version_get(req->app->db, req_id(req, 0), shot,
	    (long)req_id(req, 2), &r) != 0)
		return view_db_fail(req, "shot: render");
	if (r.id == 0) {
		free(r.manifest);
		view_error(req, 404, "not_found", "No such version.");
		return -1;
	}
	st = limit_submit(req);
	if (st != 0) {
		free(r.manifest);
		if (st < 0)
			return view_db_fail(req, "shot: rate limit");
		view_error(req, 429, "rate_limited", "You have submitted many "
			"jobs in a short time. Wait a little and try again.");
		return -1;
	}
	if (project_info(req) < 0) {
		free(r.manifest);
		return view_db_fail(req, "shot: render");
	}
	tid = view_get(req, "Project.Info.0.TeamId");
	team = tid != NULL && *tid ? strtoull(tid, NULL, 10) : 0;
	tier_of(&req->app->cfg, req->auth->tier, &tier);
	job_spec_lang(view_lang(req));
	st = project_render(req->app->db, &req->app->cfg, &tier,
		req->auth->user_id, team, req_id(req, 0), r.id, r.manifest,
		render_error, req, &why, &job);
	job_spec_lang(NULL);
	free(r.manifest);
	switch (st) {
	case PROJECT_RENDER_QUEUED:
		snprintf(url, sizeof(url), "/jobs/%llu", job);
		return resp_redirect(req, url);
	case PROJECT_RENDER_INVALID:
		view_set(req, "Render.Error", view_tr(req, "This version was "
			"not rendered:"));
		return shot_show(req, 422, shot);
	case PROJECT_RENDER_REFUSED:
		view_set(req, "Render.Error", why.message);
		return shot_show(req, why.status, shot);
	default:
		return view_db_fail(req, "shot: render");
	}
}

/* One version's render for the diff page, as Diff.<side>. */
static int
diff_side(struct kreq *req, const char *side, const char *shot, long v)
{
	struct db_param p[4] = { DB_INT(req->auth->user_id),
		DB_INT(req_id(req, 0)), DB_STR(shot), DB_INT(v) };
	char prefix[16];

	snprintf(prefix, sizeof(prefix), "Diff.%s", side);
	return view_rows(req, prefix, VERSIONS_SQL " AND m.version = ?", p,
		4) < 0 ? -1 : 0;
}

int
page_project_diff(struct kreq *req)
{
	struct project_version ra = { 0 }, rb = { 0 };
	json_object *a = NULL, *b = NULL;
	struct jsondiff d = { 0 };
	const char *shot, *qa = req_query(req, "a"), *qb = req_query(req,
		"b");
	char key[64], err[200];
	long va = 0, vb = 0;
	size_t i;
	int rc = -1;

	if (access_here(req, PROJECT_READ) < 0 ||
	    (shot = shot_here(req)) == NULL)
		return -1;
	if (qa == NULL || qb == NULL || parse_long(qa, 1, 1L << 30, &va) != 0
	    || parse_long(qb, 1, 1L << 30, &vb) != 0) {
		view_error(req, 400, "bad_request", "Versions (a, b): two "
			"version numbers of this shot.");
		return -1;
	}
	if (project_version_get(req->app->db, req_id(req, 0), shot, va,
	    &ra) != 0 || project_version_get(req->app->db, req_id(req, 0),
	    shot, vb, &rb) != 0) {
		view_db_fail(req, "shot: diff");
		goto out;
	}
	if (ra.id == 0 || rb.id == 0) {
		view_error(req, 404, "not_found", "No such version.");
		goto out;
	}
	/* Stored checked: a refusal here is a row changed behind us. */
	if (json_object_text_parse(ra.manifest, strlen(ra.manifest), &a, err,
	    sizeof(err)) != 0 || json_object_text_parse(rb.manifest,
	    strlen(rb.manifest), &b, err, sizeof(err)) != 0 ||
	    jsondiff(a, b, &d) != 0) {
		view_error(req, 500, "internal", "The versions could not be "
			"compared.");
		goto out;
	}
	for (i = 0; i < d.n; i++) {
		snprintf(key, sizeof(key), "Diff.Changes.%zu.Kind", i);
		view_set(req, key, jd_kind_name(d.c[i].kind));
		snprintf(key, sizeof(key), "Diff.Changes.%zu.Path", i);
		view_set(req, key, d.c[i].path);
		snprintf(key, sizeof(key), "Diff.Changes.%zu.Before", i);
		view_set(req, key, d.c[i].before ? d.c[i].before : "");
		snprintf(key, sizeof(key), "Diff.Changes.%zu.After", i);
		view_set(req, key, d.c[i].after ? d.c[i].after : "");
	}
	view_set_int(req, "Diff.Count", (long)d.n);
	view_set(req, "Shot.Name", shot);
	if (project_info(req) < 0 || diff_side(req, "A", shot, va) != 0 ||
	    diff_side(req, "B", shot, vb) != 0 ||
	    view_rows(req, "Shot.Versions", "SELECT version AS Version FROM"
	    " project_manifests WHERE project_id = ? AND shot = ? ORDER BY"
	    " version DESC", (struct db_param[]){ DB_INT(req_id(req, 0)),
	    DB_STR(shot) }, 2) < 0) {
		view_db_fail(req, "shot: diff");
		goto out;
	}
	rc = view_render(req, 200, "Compare versions", "project_diff.cs");
out:
	jsondiff_free(&d);
	json_object_put(a);
	json_object_put(b);
	free(ra.manifest);
	free(rb.manifest);
	return rc;
}
