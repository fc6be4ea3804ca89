/* page_teams.c - /teams: the user's teams and making one; /teams/{id}:
 * a team's members, inviting by user name, changing roles, removing and
 * leaving (managing is for owners; the last owner cannot leave);
 * /teams/{id}/gallery: the images of the team's jobs. A team is 404 to
 * whoever is not in it, as a job is (see teams.h for the access rules). */
#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "i18n.h"
#include "teams.h"
#include "view.h"

#include <stdio.h>
#include <string.h>

static const char *const role_choices[] = { "owner", "member", "viewer",
	NULL };

enum { TC_NAME };
const struct input team_create_inputs[] = {
	[TC_NAME] = { .name = "name", .type = IN_STR,
		.flags = IN_REQUIRED | IN_TEXT, .min = 1, .max = TEAM_NAME_MAX,
		.msg = "Name: 1-100 bytes of text." },
	IN_END,
};

enum { TI_USERNAME, TI_ROLE };
const struct input team_invite_inputs[] = {
	[TI_USERNAME] = { .name = "username", .type = IN_STR,
		.flags = IN_REQUIRED | IN_TEXT, .min = 1, .max = 64,
		.msg = "User name: the name the person signs in with." },
	[TI_ROLE] = { .name = "role", .type = IN_ENUM,
		.flags = IN_REQUIRED, .choices = role_choices,
		.msg = "Role: owner, member or viewer." },
	IN_END,
};

enum { TR_ROLE };
const struct input team_role_inputs[] = {
	[TR_ROLE] = { .name = "role", .type = IN_ENUM,
		.flags = IN_REQUIRED, .choices = role_choices,
		.msg = "Role: owner, member or viewer." },
	IN_END,
};

enum { TS_NAME, TS_MAX_QUEUED };
const struct input team_settings_inputs[] = {
	[TS_NAME] = { .name = "name", .type = IN_STR,
		.flags = IN_REQUIRED | IN_TEXT, .min = 1, .max = TEAM_NAME_MAX,
		.msg = "Name: 1-100 bytes of text." },
	[TS_MAX_QUEUED] = { .name = "max_queued", .type = IN_INT,
		.flags = IN_BLANK, .min = 1, .max = TEAM_QUEUED_MAX,
		.msg = "Jobs at once: a whole number from 1 to 100000, or "
			"blank for no team limit." },
	IN_END,
};

enum { TK_AMOUNT };
const struct input team_credits_inputs[] = {
	[TK_AMOUNT] = { .name = "amount", .type = IN_INT,
		.flags = IN_REQUIRED, .min = 1, .max = TEAM_CREDITS_MAX,
		.msg = "Credits: a whole number from 1 to 1000000000." },
	IN_END,
};

static int
list(struct kreq *req, int status)
{
	struct db_param p[1] = { DB_INT(req->auth->user_id) };

	if (view_rows(req, "Teams.List", "SELECT t.id AS Id, t.name AS Name,"
	    " t.credits AS Credits, CAST(m.role AS CHAR) AS Role,"
	    " (SELECT COUNT(*) FROM team_members c WHERE c.team_id = t.id)"
	    " AS Members FROM teams t JOIN team_members m ON"
	    " m.team_id = t.id AND m.user_id = ? ORDER BY t.name, t.id",
	    p, 1) < 0)
		return view_db_fail(req, "teams: list");
	return view_render(req, status, "Teams", "teams.cs");
}

int
page_teams(struct kreq *req)
{
	return list(req, 200);
}

int
page_teams_create(struct kreq *req)
{
	const char *name = in_str(req, TC_NAME);
	unsigned long long id = 0;

	if (name == NULL || !team_name_valid(name)) {
		view_input_error(req, TC_NAME);
		view_set(req, "Form.Name", in_sent(req, TC_NAME) ?
			in_sent(req, TC_NAME) : "");
		return list(req, 422);
	}
	if (team_create(req->app->db, req->auth->user_id, name, &id) != 0)
		return view_db_fail(req, "teams: create");
	return view_flash_redirect(req, "team_created", "/teams/%llu",
		id);
}

/* The caller's role in the route's team, set as Team.Role; -1 after
 * answering 404 (not in it) or a database error. */
static int
role_here(struct kreq *req)
{
	int r = team_role_of(req->app->db, req_id(req, 0),
		req->auth->user_id);

	if (r < 0)
		return view_db_fail(req, "teams: role");
	if (r == TEAM_NONE) {
		view_error(req, 404, "not_found", "No such team.");
		return -1;
	}
	view_set(req, "Team.Role", team_role_name(r));
	return r;
}

static int
show(struct kreq *req, int status)
{
	struct db_param p[2] = { DB_INT(req_id(req, 0)),
		DB_INT(req->auth->user_id) };

	if (role_here(req) < 0)
		return -1;
	view_set_int(req, "Team.Me", (long)req->auth->user_id);
	if (view_rows(req, "Team.Info", "SELECT id AS Id, name AS Name,"
	    " credits AS Credits, COALESCE(max_queued, '') AS MaxQueued"
	    " FROM teams WHERE id = ?", p, 1) < 0 ||
	    view_rows(req, "Team.Members", "SELECT m.user_id AS Id,"
	    " u.username AS Name, CAST(m.role AS CHAR) AS Role,"
	    " DATE_FORMAT(m.added_at, '%Y-%m-%d %H:%i') AS Added"
	    " FROM team_members m JOIN users u ON u.id = m.user_id"
	    " WHERE m.team_id = ? ORDER BY m.role, u.username", p, 1) < 0 ||
	    view_rows(req, "Team.Jobs", "SELECT j.id AS Id,"
	    " j.status AS Status, LEFT(j.prompt, 120) AS Prompt,"
	    " u.username AS Maker,"
	    " DATE_FORMAT(j.created_at, '%Y-%m-%d %H:%i') AS Created"
	    " FROM jobs j JOIN users u ON u.id = j.user_id"
	    " WHERE j.team_id = ? AND j.deleted_at IS NULL"
	    " ORDER BY j.id DESC LIMIT 25", p, 1) < 0)
		return view_db_fail(req, "team");
	return view_render(req, status, "Team", "team.cs");
}

int
page_team(struct kreq *req)
{
	return show(req, 200);
}

/* The refusals of owner_here, by what was asked. */
static const char *const owners_only_members =
	N_("Only the team's owners can manage its members.");
static const char *const owners_only_settings =
	N_("Only the team's owners can change its settings.");
static const char *const owners_only_delete =
	N_("Only the team's owners can delete it.");

/* -1 after answering 403 with why unless the caller owns the route's
 * team (404 when not in it). */
static int
owner_here(struct kreq *req, const char *why)
{
	int r = role_here(req);

	if (r < 0)
		return -1;
	if (r != TEAM_OWNER) {
		view_error(req, 403, "forbidden", why);
		return -1;
	}
	return 0;
}

/* After a change to the members: back to the team with flash, or why
 * not as the team page with the message (status). */
static int
after(struct kreq *req, enum team_change ch, const char *flash)
{
	switch (ch) {
	case TEAM_DONE:
		break;
	case TEAM_NO_USER:
		view_error(req, 404, "not_found", "No such member of this "
			"team.");
		return -1;
	case TEAM_LAST_OWNER:
		view_error(req, 409, "conflict", "The team's last owner cannot "
			"leave or stop being an owner: make another member an "
			"owner first.");
		return -1;
	case TEAM_BUSY:
		view_error(req, 409, "conflict", "The team has jobs queued or "
			"running: wait for them to finish or cancel them, then "
			"delete the team.");
		return -1;
	default:
		return view_db_fail(req, "team: members");
	}
	return view_flash_redirect(req, flash, "/teams/%llu",
		req_id(req, 0));
}

int
page_team_invite(struct kreq *req)
{
	const char *name = in_str(req, TI_USERNAME),
	    *role = in_str(req, TI_ROLE);
	unsigned long long added = 0;
	enum team_change ch;
	int bad = 0;

	if (owner_here(req, owners_only_members) < 0)
		return -1;
	if (name == NULL)
		bad += !view_input_error(req, TI_USERNAME);
	if (role == NULL)
		bad += !view_input_error(req, TI_ROLE);
	if (!bad) {
		ch = team_member_add(req->app->db, req_id(req, 0), name,
			team_role_parse(role), req->auth->user_id, &added);
		if (ch == TEAM_NO_USER)
			bad += !view_field_error(req, "username", "User name: "
				"there is no user of that name.");
		else if (ch == TEAM_ALREADY)
			bad += !view_field_error(req, "username", "User name: "
				"already a member of this team.");
		else
			return after(req, ch, "team_member_added");
	}
	view_set(req, "Form.Username", in_sent(req, TI_USERNAME) ?
		in_sent(req, TI_USERNAME) : "");
	return show(req, 422);
}

int
page_team_role(struct kreq *req)
{
	const char *role = in_str(req, TR_ROLE);

	if (owner_here(req, owners_only_members) < 0)
		return -1;
	if (role == NULL) {
		view_error(req, 400, "bad_request", "Role: owner, member or "
			"viewer.");
		return -1;
	}
	return after(req, team_member_role(req->app->db, req_id(req, 0),
		req_id(req, 1), team_role_parse(role)), "team_role_changed");
}

int
page_team_remove(struct kreq *req)
{
	unsigned long long who = req_id(req, 1);
	enum team_change ch;
	int r = role_here(req);

	if (r < 0)
		return -1;
	/* Leaving is removing oneself, which any member may do. */
	if (who != req->auth->user_id && r != TEAM_OWNER) {
		view_error(req, 403, "forbidden", owners_only_members);
		return -1;
	}
	ch = team_member_remove(req->app->db, req_id(req, 0), who,
		req->auth->user_id);
	if (ch != TEAM_DONE || who != req->auth->user_id)
		return after(req, ch, "team_member_removed");
	return view_flash_redirect(req, "team_left", "/teams");
}

int
page_team_settings(struct kreq *req)
{
	const char *name = in_str(req, TS_NAME);
	int bad = 0;

	if (owner_here(req, owners_only_settings) < 0)
		return -1;
	if (name == NULL || !team_name_valid(name))
		bad += !view_input_error(req, TS_NAME);
	if (in_bad(req, TS_MAX_QUEUED))
		bad += !view_input_error(req, TS_MAX_QUEUED);
	if (bad) {
		view_set(req, "Form.Name", in_sent(req, TS_NAME) ?
			in_sent(req, TS_NAME) : "");
		view_set(req, "Form.MaxQueued", in_sent(req, TS_MAX_QUEUED) ?
			in_sent(req, TS_MAX_QUEUED) : "");
		return show(req, 422);
	}
	/* Blank (absent) is no team limit. */
	if (team_settings(req->app->db, req_id(req, 0), name,
	    in_long(req, TS_MAX_QUEUED)) != 0)
		return view_db_fail(req, "team: settings");
	audit(req, "team.settings", req_id(req, 0), name, "max_queued %ld",
		in_long(req, TS_MAX_QUEUED));
	return view_flash_redirect(req, "team_settings_saved", "/teams/%llu",
		req_id(req, 0));
}

int
page_team_delete(struct kreq *req)
{
	enum team_change ch;
	long returned = 0;

	if (owner_here(req, owners_only_delete) < 0)
		return -1;
	ch = team_delete(req->app->db, req_id(req, 0), req->auth->user_id,
		&returned);
	if (ch != TEAM_DONE)
		return after(req, ch, "");
	audit(req, "team.delete", req_id(req, 0), NULL, "%ld credits back "
		"to the owner", returned);
	return view_flash_redirect(req, "team_deleted", "/teams");
}

#define GALLERY_PAGE 60

int
page_team_gallery(struct kreq *req)
{
	struct db_param p[3] = { DB_INT(req_id(req, 0)), DB_INT(0),
		DB_INT(GALLERY_PAGE) };
	const char *before = req_query(req, "before");
	long bid = 0, n;

	if (role_here(req) < 0)
		return -1;
	if (before != NULL && *before != '\0' &&
	    parse_long(before, 1, 1L << 62, &bid) != 0) {
		view_error(req, 400, "bad_request", "Page (before): must be "
			"the id of a job, as the \"Older images\" link gives "
			"it.");
		return -1;
	}
	p[1] = DB_INT(bid);
	if (view_rows(req, "Team.Info", "SELECT id AS Id, name AS Name"
	    " FROM teams WHERE id = ?", p, 1) < 0)
		return view_db_fail(req, "team gallery");
	n = view_rows(req, "Gallery.Images", "SELECT i.job_id AS Job,"
	    " i.idx AS Idx, i.width AS Width, i.height AS Height,"
	    " LEFT(j.prompt, 200) AS Prompt, u.username AS Maker,"
	    " DATE_FORMAT(j.created_at, '%Y-%m-%d %H:%i') AS Created"
	    " FROM job_images i JOIN jobs j ON j.id = i.job_id"
	    " JOIN users u ON u.id = j.user_id WHERE j.team_id = ?"
	    " AND j.deleted_at IS NULL AND (? = 0 OR j.id < ?)"
	    " ORDER BY j.id DESC, i.idx LIMIT ?",
	    (struct db_param[]){ p[0], p[1], p[1], p[2] }, 4);
	if (n < 0)
		return view_db_fail(req, "team gallery");
	view_set_int(req, "Gallery.Count", n);
	if (n == GALLERY_PAGE)
		view_set(req, "Gallery.Next", view_get(req, "Gallery.Images."
			"59.Job"));
	return view_render(req, 200, "Team gallery", "team_gallery.cs");
}

int
page_team_credits(struct kreq *req)
{
	long amount = in_long(req, TK_AMOUNT);
	int r = role_here(req);

	if (r < 0)
		return -1;
	if (r < TEAM_MEMBER) {
		view_error(req, 403, "forbidden", "A team's viewers cannot add "
			"to its credits.");
		return -1;
	}
	if (in_bad(req, TK_AMOUNT)) {
		view_input_error(req, TK_AMOUNT);
		view_set(req, "Form.Amount", in_sent(req, TK_AMOUNT) ?
			in_sent(req, TK_AMOUNT) : "");
		return show(req, 422);
	}
	r = team_contribute(req->app->db, req_id(req, 0), req->auth->user_id,
		amount);
	if (r < 0)
		return view_db_fail(req, "team: credits");
	if (r > 0) {
		view_field_error(req, "amount", "Credits: you have fewer "
			"credits than that.");
		view_set(req, "Form.Amount", in_sent(req, TK_AMOUNT));
		return show(req, 422);
	}
	return view_flash_redirect(req, "team_credits_added", "/teams/%llu",
		req_id(req, 0));
}
