/* fleet.h - render daemons' heartbeat rows: kilnd (and the capacity
 * bench's simulated daemons) write them, the web side reads which of them
 * count as online. */
#ifndef KILN_FLEET_H
#define KILN_FLEET_H

struct db;

/* Who a daemon is, as its row in daemons records it: the name identifies
 * the row and the daemon's leases; (name, pid) tells a restarted daemon's
 * row from its predecessor's. */
struct fleet_member {
	const char *name, *host, *version, *devices;
	long pid;
};

/* Makes or takes over m's row, state "warming", "idle" or "busy", with
 * started_at and the heartbeat now. Returns 0, or -1 with db_error(). */
int fleet_register(struct db *db, const struct fleet_member *m,
	const char *state);

/* Beats m's heartbeat with state. Returns 1, 0 when m's row is gone or
 * another process took it over (register again), -1 with db_error(). */
int fleet_heartbeat(struct db *db, const struct fleet_member *m,
	const char *state);

/* Marks m's row stopped. Returns 0, or -1 with db_error(). */
int fleet_deregister(struct db *db, const struct fleet_member *m);

/* Counts online daemons: not stopped, and a heartbeat younger than three
 * heartbeat intervals. Returns the count, or -1 with db_error() set. (The
 * daemons themselves are listed to administrators only, on /admin/queue.) */
long fleet_online(struct db *db, long heartbeat_interval);

#endif
