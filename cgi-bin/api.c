/* api.c - api.fcgi: the JSON API under /api/v1. One route table, one file
 * per endpoint group. */
#include "app.h"
#include "handlers.h"

static const struct route routes[] = {
	{ M_GET, "/api/v1/health", api_health },
};

static void
json_error(struct kreq *req, int status, const char *code,
	const char *message)
{
	resp_error_json(req, status, code, message, NULL);
}

int
main(int argc, char **argv)
{
	static const struct program prog = {
		"api.fcgi", routes, ARRAY_LEN(routes), json_error,
	};

	return kiln_serve(&prog, argc, argv);
}
