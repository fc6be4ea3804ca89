/* fleet.h - what the web side reads about render daemons: the heartbeat
 * rows kilnd writes, and which of them count as online. */
#ifndef KILN_FLEET_H
#define KILN_FLEET_H

struct db;

struct daemon_info {
	const char *name;
	const char *host;
	const char *state;
	const char *devices;
	const char *heartbeat;	/* "YYYY-MM-DD HH:MM:SS", UTC */
	int online;
};

typedef int (*daemon_fn)(const struct daemon_info *d, void *arg);

/* Lists up to limit daemons by name. A daemon is online when it is not
 * stopped and its last heartbeat is younger than three heartbeat
 * intervals. Returns the count listed, or -1 with db_error() set. */
long fleet_list(struct db *db, long heartbeat_interval, long limit,
	daemon_fn fn, void *arg);

/* Counts online daemons. Returns the count, or -1 with db_error() set. */
long fleet_online(struct db *db, long heartbeat_interval);

#endif
