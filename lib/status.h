/* status.h - the public status document behind /status, /api/v1/status
 * and /status/feed.atom: the overall state, per-model queue wait and
 * render time percentiles, daemons online (a count), a 90-day history
 * per component, the incidents administrators post, and the
 * maintenance windows they schedule. */
#ifndef KILN_STATUS_H
#define KILN_STATUS_H

struct buf;
struct db;
struct json_object;

/* Days the history bar covers, today included. */
#define STATUS_HISTORY_DAYS 90

/* The incidents' severities and update statuses, NULL-terminated, in
 * the database's ENUM order. */
extern const char *const status_severities[];
extern const char *const status_updates[];

/* Builds the status document (see api_status.c for its shape) from the
 * database: heartbeat_interval decides which daemons count as online.
 * Returns a new object the caller puts, or NULL with db_error() set. */
struct json_object *status_build(struct db *db, long heartbeat_interval);

/* Appends s to b with XML's five special characters as entities, and
 * any byte XML 1.0 forbids (the C0 controls but tab, LF and CR) left
 * out. Returns 0, or -1 when memory runs out. */
int xml_escape(struct buf *b, const char *s);

/* The Atom 1.0 feed of the document's incidents (current and past,
 * newest first) into b; base_url makes the feed's and entries' links.
 * Returns 0, or -1 when memory runs out. */
int status_atom(struct buf *b, struct json_object *doc,
	const char *base_url);

/* 1 when s is a valid affected-components list for an incident: names
 * of letters, digits and ".:_-", separated by commas and spaces. */
int status_components_ok(const char *s);

#endif
