/* test_migrate.c - migration file names and ordering (the database side is
 * covered by the integration tests against a real MariaDB). */
#include "migrate.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void
names(void)
{
	CHECK(migration_version("001_core.sql") == 1);
	CHECK(migration_version("010_jobs_2.sql") == 10);
	CHECK(migration_version("1234_x.sql") == 1234);
	CHECK(migration_version("01_short.sql") == -1);
	CHECK(migration_version("001-core.sql") == -1);
	CHECK(migration_version("001_.sql") == -1);
	CHECK(migration_version("001_Core.sql") == -1);
	CHECK(migration_version("001_core.sql~") == -1);
	CHECK(migration_version("001_core.SQL") == -1);
	CHECK(migration_version("core.sql") == -1);
	CHECK(migration_version(".sql") == -1);
	CHECK(migration_version("999999999999_x.sql") == -1);
}

static void
listing_sorts_and_finds_duplicates(void)
{
	char dir[] = "/tmp/kiln-test-mig-XXXXXX", err[512], cmd[600];
	struct migration *m;
	size_t n;

	CHECK(mkdtemp(dir) != NULL);
	tap_put_file(dir, "010_ten.sql", "");
	tap_put_file(dir, "002_two.sql", "");
	tap_put_file(dir, "README", "");
	tap_put_file(dir, "001_one.sql", "");
	CHECK(migrations_list(dir, &m, &n, err, sizeof(err)) == 0);
	CHECK(n == 3);
	if (n == 3) {
		CHECK_STR(m[0].name, "001_one.sql");
		CHECK_STR(m[1].name, "002_two.sql");
		CHECK_STR(m[2].name, "010_ten.sql");
		CHECK(m[2].version == 10);
	}
	migrations_free(m, n);

	tap_put_file(dir, "0002_again.sql", "");
	CHECK(migrations_list(dir, &m, &n, err, sizeof(err)) == -1);
	CHECK(strstr(err, "share version 2") != NULL);

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	CHECK(migrations_list(dir, &m, &n, err, sizeof(err)) == -1);
	CHECK(strstr(err, "No such file") != NULL);
}

int
main(void)
{
	RUN(names);
	RUN(listing_sorts_and_finds_duplicates);
	return tap_done();
}
