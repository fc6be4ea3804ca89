/* portal.c - portal.fcgi: the HTML pages. One route table, one file per
 * page. */
#include "app.h"
#include "handlers.h"
#include "view.h"

static const struct route routes[] = {
	{ M_GET, "/", page_home },
};

int
main(int argc, char **argv)
{
	static const struct program prog = {
		"portal.fcgi", routes, ARRAY_LEN(routes), view_error,
	};

	return kiln_serve(&prog, argc, argv);
}
