/* teams.h - teams (issue 27): members with roles, a shared credit pool,
 * jobs made for a team and who may see and change them.
 *
 * Access to a job, decided from the rows at each request:
 *  - its maker (jobs.user_id) sees and manages it, in or out of the team:
 *    a job made for a team stays its maker's after they leave or are
 *    removed, so they keep their own images;
 *  - any current member of its team (owner, member, viewer) sees it;
 *  - a current owner of its team may also cancel and delete it;
 *  - anyone else gets 404, as for any job not theirs. */
#ifndef KILN_TEAMS_H
#define KILN_TEAMS_H

#include <stddef.h>

struct db;

/* An SQL condition, with ONE parameter (the user's id) in place of the
 * old "t.user_id = ?": that user may see job table t ("j." or "jobs.").
 * The subquery reads no jobs row, so UPDATE jobs may use it too. */
#define TEAM_JOB_SEES(t) "? IN (SELECT " t "user_id UNION ALL" \
	" SELECT tm.user_id FROM team_members tm WHERE tm.team_id = " \
	t "team_id)"

/* The same for cancelling and deleting: the maker or a team owner. */
#define TEAM_JOB_MANAGES(t) "? IN (SELECT " t "user_id UNION ALL" \
	" SELECT tm.user_id FROM team_members tm WHERE tm.team_id = " \
	t "team_id AND tm.role = 'owner')"

/* Roles, weakest first (the order of team_members.role reversed). */
enum team_role {
	TEAM_NONE = 0,
	TEAM_VIEWER,
	TEAM_MEMBER,
	TEAM_OWNER
};

/* "owner", "member", "viewer" to a role; TEAM_NONE for anything else. */
enum team_role team_role_parse(const char *s);

/* The role's name ("" for TEAM_NONE). */
const char *team_role_name(enum team_role r);

/* user_id's role in team_id (TEAM_NONE: not a member, or no such team),
 * or -1 on a database error. */
int team_role_of(struct db *db, unsigned long long team_id,
	unsigned long long user_id);

/* What user_id may do with job id: 0 nothing (no such job for them),
 * 1 see it, 2 also cancel and delete it; -1 on a database error. */
int job_access(struct db *db, unsigned long long id,
	unsigned long long user_id);

#define TEAM_NAME_MAX 100

/* 1 when name may name a team: 1 to TEAM_NAME_MAX bytes of valid UTF-8,
 * no control characters, not only spaces. */
int team_name_valid(const char *name);

/* Makes a team named name (1 to TEAM_NAME_MAX characters, checked by the
 * caller) with user_id as its owner. Returns 0 with *id, or -1. */
int team_create(struct db *db, unsigned long long user_id, const char *name,
	unsigned long long *id);

#define TEAM_CREDITS_MAX 1000000000L
#define TEAM_QUEUED_MAX 100000L

/* Renames team_id (name checked by the caller; NULL: kept) and sets its
 * quota of jobs queued or running at once (1 to TEAM_QUEUED_MAX; 0: no
 * team limit, only each maker's tier; -1: kept). The caller checked
 * that they own it. Returns 0, or -1 on a database error. */
int team_settings(struct db *db, unsigned long long team_id,
	const char *name, long max_queued);

/* Moves amount (1 to TEAM_CREDITS_MAX) of user_id's own credits into
 * team_id's pool, in one transaction; the caller checked that they are
 * its owner or member. Returns 0, 1 when they have fewer credits than
 * that (nothing moved), -1 on a database error. */
int team_contribute(struct db *db, unsigned long long team_id,
	unsigned long long user_id, long amount);

/* What a change to the members came to. */
enum team_change {
	TEAM_DONE = 0,
	TEAM_NO_USER,		/* no such user (or team) */
	TEAM_ALREADY,		/* already a member */
	TEAM_LAST_OWNER,	/* it would leave the team without an owner */
	TEAM_BUSY,		/* it has jobs queued or running */
	TEAM_DBFAIL
};

/*
 * Adds the user named username to team_id with role, and queues the
 * team.member_added webhook event to that user's webhook (by: who added
 * them). *added is their id. The caller checked that by is an owner.
 */
enum team_change team_member_add(struct db *db, unsigned long long team_id,
	const char *username, enum team_role role, unsigned long long by,
	unsigned long long *added);

/* Changes user_id's role (TEAM_NO_USER: not a member). */
enum team_change team_member_role(struct db *db, unsigned long long team_id,
	unsigned long long user_id, enum team_role role);

/* Removes user_id from the team (leaving is removing oneself), and
 * queues team.member_removed to their webhook (by: who removed them).
 * The jobs they made for it stay theirs; they lose sight of the
 * others'. */
enum team_change team_member_remove(struct db *db,
	unsigned long long team_id, unsigned long long user_id,
	unsigned long long by);

/* Deletes team_id for its owner by: refused with TEAM_BUSY while a job
 * made for it is queued or running (its refund would go to the pool);
 * TEAM_NO_USER when there is no such team. The pool's credits go to by
 * (*returned: how many), the team's jobs stay their makers' own, and
 * every member gets team.deleted, all in one transaction. */
enum team_change team_delete(struct db *db, unsigned long long team_id,
	unsigned long long by, long *returned);

#endif
