/* fleet.h - what the web side reads about render daemons: the heartbeat
 * rows kilnd writes, and which of them count as online. */
#ifndef KILN_FLEET_H
#define KILN_FLEET_H

struct db;

/* Counts online daemons: not stopped, and a heartbeat younger than three
 * heartbeat intervals. Returns the count, or -1 with db_error() set. (The
 * daemons themselves are listed to administrators only, on /admin/queue.) */
long fleet_online(struct db *db, long heartbeat_interval);

#endif
