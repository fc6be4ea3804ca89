/* fleet.c - render daemon heartbeat queries. */
#include "fleet.h"
#include "db.h"

#include <stdlib.h>
#include <string.h>

struct list_ctx {
	daemon_fn fn;
	void *arg;
};

static int
list_row(const struct db_row *row, void *arg)
{
	struct list_ctx *lc = arg;
	struct daemon_info d;

	d.name = row->cols[0] ? row->cols[0] : "";
	d.host = row->cols[1] ? row->cols[1] : "";
	d.state = row->cols[2] ? row->cols[2] : "";
	d.devices = row->cols[3] ? row->cols[3] : "";
	d.heartbeat = row->cols[4] ? row->cols[4] : "";
	d.online = row->cols[5] != NULL && !strcmp(row->cols[5], "1");
	return lc->fn(&d, lc->arg);
}

long
fleet_list(struct db *db, long heartbeat_interval, long limit, daemon_fn fn,
	void *arg)
{
	struct list_ctx lc = { fn, arg };
	struct db_param p[] = { DB_INT(heartbeat_interval * 3),
		DB_INT(limit) };

	return db_query(db,
		"SELECT name, host, state, devices,"
		" DATE_FORMAT(heartbeat_at, '%Y-%m-%d %H:%i:%s'),"
		" (state <> 'stopped' AND"
		"  heartbeat_at > NOW(3) - INTERVAL ? SECOND)"
		" FROM daemons ORDER BY name LIMIT ?",
		p, 2, list_row, &lc);
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
