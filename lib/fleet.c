/* fleet.c - render daemon heartbeat rows: written by the daemons, read by
 * the web side. */
#include "fleet.h"
#include "db.h"

#include <stdlib.h>

int
fleet_register(struct db *db, const struct fleet_member *m,
    const char *state)
{
	struct db_param p[] = { DB_STR(m->name), DB_STR(m->host),
		DB_INT(m->pid), DB_STR(m->version), DB_STR(m->devices),
		DB_STR(state) };

	return db_exec(db, "INSERT INTO daemons (name, host, pid, version,"
	    " devices, state, started_at, heartbeat_at, stopped_at)"
	    " VALUES (?, ?, ?, ?, ?, ?, NOW(3), NOW(3), NULL)"
	    " ON DUPLICATE KEY UPDATE host = VALUES(host),"
	    " pid = VALUES(pid), version = VALUES(version),"
	    " devices = VALUES(devices), state = VALUES(state),"
	    " started_at = NOW(3), heartbeat_at = NOW(3), stopped_at = NULL",
	    p, 6, NULL, NULL);
}

int
fleet_heartbeat(struct db *db, const struct fleet_member *m,
    const char *state)
{
	struct db_param p[] = { DB_STR(state), DB_STR(m->name),
		DB_INT(m->pid) };
	unsigned long long n = 0;

	if (db_exec(db, "UPDATE daemons SET heartbeat_at = NOW(3), state = ?"
	    " WHERE name = ? AND pid = ?", p, 3, &n, NULL) != 0)
		return -1;
	return n > 0;
}

int
fleet_deregister(struct db *db, const struct fleet_member *m)
{
	struct db_param p[] = { DB_STR(m->name), DB_INT(m->pid) };

	return db_exec(db, "UPDATE daemons SET state = 'stopped',"
	    " stopped_at = NOW(3) WHERE name = ? AND pid = ?", p, 2, NULL,
	    NULL);
}

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
