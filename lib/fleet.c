/* fleet.c - render daemon heartbeat queries. */
#include "fleet.h"
#include "db.h"

#include <stdlib.h>

long
fleet_online(struct db *db, long heartbeat_interval)
{
	struct db_param p[] = { DB_INT(heartbeat_interval * 3) };
	char *s = NULL;
	long n;

	if (db_query_string(db, "SELECT COUNT(*) FROM daemons"
	    " WHERE state <> 'stopped'"
	    " AND heartbeat_at > NOW(3) - INTERVAL ? SECOND", p, 1, &s) != 0)
		return -1;
	n = s != NULL ? strtol(s, NULL, 10) : 0;
	free(s);
	return n;
}
