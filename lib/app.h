/* app.h - what a web program keeps for its whole life (config, database
 * handle) and the shared FastCGI / plain-CGI main loop. */
#ifndef KILN_APP_H
#define KILN_APP_H

#include "config.h"
#include "request.h"

struct db;
struct metrics;

struct kiln_app {
	struct kiln_config cfg;
	const char *conf_path;
	struct db *db;
	struct metrics *metrics;	/* NULL: not counted */
};

/* Turns a failure before or outside any handler (bad request, no route)
 * into the program's kind of error response. */
typedef void (*error_fn)(struct kreq *req, int status, const char *code,
	const char *message);

/* Decides whether the request may reach its route's handler (auth.h's
 * auth_portal / auth_api). Returns 0, or -1 with the refusal in req. */
typedef int (*access_fn)(struct kreq *req, const struct route *r);

/* Turns a refusal of one named input field (a query parameter, a form
 * field: field, and what is wrong with it) into a 400 in the program's
 * kind: the API names it in "fields". */
typedef void (*field_error_fn)(struct kreq *req, const char *field,
	const char *what);

struct program {
	const char *name;
	const struct route *routes;
	size_t nroutes;
	error_fn error;
	access_fn access;
	field_error_fn field_error;	/* NULL: error() with the message */
	/* The patterns of the POST routes whose bodies may hold images (job
	 * inputs: up to req_upload_body_max), NULL-terminated; every other
	 * body is at most REQ_MAX_BODY. */
	const char *const *uploads;
	/* Who is asking, from the headers alone (the API key, Basic, the
	 * session cookie): run before such a body over REQ_MAX_BODY is
	 * read, so only a known caller makes this process hold one.
	 * Returns 0, or -1 with the refusal in req. When it is access
	 * itself, access is not run again. */
	access_fn identify;
	/* 1: the pages are translated (i18n.h): the catalogues under
	 * [paths] locale are loaded at start-up, a broken one stopping
	 * the program. */
	int translated;
};

/* Loads the config, then serves requests: many under FastCGI, one under
 * plain CGI. Options: --check-config, --version. Returns the process exit
 * status (1 with "file:line: message" on stderr for a bad config). */
int kiln_serve(const struct program *prog, int argc, char **argv);

#endif
