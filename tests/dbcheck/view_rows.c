/* view_rows.c - view_rows against a real MariaDB: run by
 * tests/integration/test_view_rows.py with a stack's kiln.conf and the
 * name of one case; prints what the template data holds afterwards, so
 * each case is one named check on the Python side. */
#include "app.h"
#include "config.h"
#include "db.h"
#include "view.h"

#include <stdio.h>
#include <string.h>

/* The value at key, or "(none)" when the data has no such key. */
static const char *
at(struct kreq *r, const char *key)
{
	const char *v = view_get(r, key);

	return v != NULL ? v : "(none)";
}

static int
run_case(struct kreq *r, const char *name)
{
	long n;

	if (strcmp(name, "aliases") == 0) {
		n = view_rows(r, "T", "SELECT seq AS Id, CONCAT('n', seq)"
		    " AS Name, NULL AS Gone FROM seq_1_to_2", NULL, 0);
		printf("%ld %s %s %s [%s] %s\n", n, at(r, "T.0.Id"),
		    at(r, "T.1.Name"), at(r, "T.1.Id"), at(r, "T.0.Gone"),
		    at(r, "T.2.Id"));
	} else if (strcmp(name, "unaliased") == 0) {
		n = view_rows(r, "T", "SELECT 1 AS Id, COALESCE(NULL, 'a')",
		    NULL, 0);
		printf("%ld\n", n);
	} else if (strcmp(name, "no_rows") == 0) {
		n = view_rows(r, "T", "SELECT 1 AS Id FROM seq_1_to_2"
		    " WHERE seq > 5", NULL, 0);
		printf("%ld %s\n", n, at(r, "T.0.Id"));
	} else {
		fprintf(stderr, "view_rows: no case %s\n", name);
		return 2;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct kiln_app app;
	struct kreq r;
	char err[512];
	int rc = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: view_rows kiln.conf case\n");
		return 2;
	}
	memset(&app, 0, sizeof(app));
	memset(&r, 0, sizeof(r));
	r.app = &app;
	if (config_load(&app.cfg, argv[1], err, sizeof(err)) != 0) {
		fprintf(stderr, "view_rows: %s\n", err);
		return 1;
	}
	app.db = db_new(&app.cfg);
	if (app.db == NULL || db_connect(app.db, 0) != 0) {
		fprintf(stderr, "view_rows: %s\n",
		    app.db ? db_error(app.db) : "oom");
		goto out;
	}
	rc = run_case(&r, argv[2]);
out:
	req_free(&r);
	db_free(app.db);
	config_free(&app.cfg);
	return rc;
}
