/* test_teams.c - the pure parts of lib/teams.c: role names both ways
 * and which team names are taken. */
#include "teams.h"
#include "tap.h"

#include <string.h>

static void
roles(void)
{
	CHECK(team_role_parse("owner") == TEAM_OWNER);
	CHECK(team_role_parse("member") == TEAM_MEMBER);
	CHECK(team_role_parse("viewer") == TEAM_VIEWER);
	/* Exact names only: no case folding, no prefixes, no empty. */
	CHECK(team_role_parse("Owner") == TEAM_NONE);
	CHECK(team_role_parse("own") == TEAM_NONE);
	CHECK(team_role_parse("owners") == TEAM_NONE);
	CHECK(team_role_parse("") == TEAM_NONE);
	CHECK(team_role_parse(NULL) == TEAM_NONE);
	CHECK_STR(team_role_name(TEAM_OWNER), "owner");
	CHECK_STR(team_role_name(TEAM_VIEWER), "viewer");
	CHECK_STR(team_role_name(TEAM_NONE), "");
	CHECK_STR(team_role_name((enum team_role)9), "");
	/* The order the access checks compare by. */
	CHECK(TEAM_NONE < TEAM_VIEWER && TEAM_VIEWER < TEAM_MEMBER &&
		TEAM_MEMBER < TEAM_OWNER);
}

static void
names(void)
{
	char max[TEAM_NAME_MAX + 2];

	CHECK(team_name_valid("Studio A"));
	CHECK(team_name_valid("工作室"));
	CHECK(team_name_valid(" x "));
	CHECK(!team_name_valid(""));
	CHECK(!team_name_valid("   "));
	CHECK(!team_name_valid("a\tb"));
	CHECK(!team_name_valid("a\nb"));
	CHECK(!team_name_valid("a\x7f"));
	CHECK(!team_name_valid("a\xc2\x85"));		/* U+0085, C1 */
	CHECK(!team_name_valid("\xff"));
	CHECK(!team_name_valid("\xe5\xb7"));		/* a cut character */
	memset(max, 'x', sizeof(max));
	max[TEAM_NAME_MAX] = '\0';
	CHECK(team_name_valid(max));
	max[TEAM_NAME_MAX] = 'x';
	max[TEAM_NAME_MAX + 1] = '\0';
	CHECK(!team_name_valid(max));
}

int
main(void)
{
	RUN(roles);
	RUN(names);
	return tap_done();
}
