/* test_backupman.c - a backup's manifest: what parses, what is refused
 * and why, and the check of an archive's entries against it (the SHA-256s
 * are computed here with libsodium, independently of the writer). */
#include "backupman.h"
#include "tap.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static void
hex_of(const char *data, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	size_t i;

	crypto_hash_sha256(h, (const unsigned char *)data, strlen(data));
	for (i = 0; i < sizeof(h); i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static char dump_sha[65], png_sha[65], other_sha[65];
static char good[2048];

static void
setup(void)
{
	hex_of("CREATE TABLE jobs (id INT);\n", dump_sha);
	hex_of("\x89PNG image bytes", png_sha);
	hex_of("something else", other_sha);
	snprintf(good, sizeof(good),
		"{\"format\": \"kiln-backup 1\", \"kiln_version\": \"0.1.0\","
		" \"schema_version\": 20, \"created\": \"2026-12-07T02:15:00Z\","
		" \"database\": {\"path\": \"db/kiln.sql\", \"sha256\": \"%s\","
		" \"bytes\": 28},"
		" \"files\": [{\"path\": \"artifacts/jobs/2/1-0.png\","
		" \"sha256\": \"%s\", \"bytes\": 20},"
		" {\"path\": \"artifacts/jobs/1/1-0.png\", \"sha256\": \"%s\","
		" \"bytes\": 14}]}\n", dump_sha, png_sha, other_sha);
}

/* The message of a refused manifest, or "" when it parsed. */
static const char *
refusal(const char *text)
{
	static char err[512];
	struct bak_manifest m = { 0 };

	err[0] = '\0';
	if (bak_manifest_parse(text, strlen(text), &m, err, sizeof(err)) == 0)
		err[0] = '\0';
	bak_manifest_free(&m);
	return err;
}

static void
a_manifest_parses_into_its_fields(void)
{
	struct bak_manifest m = { 0 };
	char err[256] = "";

	CHECK(bak_manifest_parse(good, strlen(good), &m, err,
	    sizeof(err)) == 0);
	CHECK_STR(err, "");
	CHECK_STR(m.kiln_version, "0.1.0");
	CHECK_STR(m.created, "2026-12-07T02:15:00Z");
	CHECK(m.schema == 20);
	CHECK_STR(m.db.path, "db/kiln.sql");
	CHECK_STR(m.db.sha, dump_sha);
	CHECK(m.db.bytes == 28);
	CHECK(m.files.n == 2);
	/* Sorted by path, found by bisection. */
	CHECK(m.files.n == 2 && !strcmp(m.files.v[0].path,
	    "artifacts/jobs/1/1-0.png"));
	CHECK(bak_entries_find(&m.files, "artifacts/jobs/2/1-0.png") != NULL);
	CHECK(bak_entries_find(&m.files, "artifacts/jobs/3/1-0.png") == NULL);
	bak_manifest_free(&m);
}

static void
refusals_name_the_problem(void)
{
	char bad[2048];

	CHECK(strstr(refusal("[]"), "not a JSON object") != NULL);
	CHECK(strstr(refusal("{\"format\": \"kiln-backup 1\"} x"),
	    "not a JSON object") != NULL);
	CHECK(strstr(refusal("{\"format\": \"tar\"}"), "not a kiln backup")
	    != NULL);
	CHECK(strstr(refusal("{\"format\": \"kiln-backup 1\"}"),
	    "no schema_version") != NULL);
	/* A name outside the artifacts directory is never taken. */
	snprintf(bad, sizeof(bad), "%s", good);
	memcpy(strstr(bad, "artifacts/jobs/2"), "artifacts/../x/", 15);
	CHECK(strstr(refusal(bad), "is not a file of the artifacts") != NULL);
	snprintf(bad, sizeof(bad), "%s", good);
	memcpy(strstr(bad, "jobs/2/1-0.png"), "jobs/1/1-0.png", 14);
	CHECK(strstr(refusal(bad), "artifacts/jobs/1/1-0.png is listed "
	    "twice") != NULL);
	snprintf(bad, sizeof(bad), "%s", good);
	*strstr(bad, png_sha) = 'G';
	CHECK(strstr(refusal(bad), "sha256 is not 64 hex digits") != NULL);
	snprintf(bad, sizeof(bad), "%s", good);
	memcpy(strstr(bad, "db/kiln.sql"), "db/evil.sql", 11);
	CHECK(strstr(refusal(bad), "database entry is not db/kiln.sql")
	    != NULL);
}

static void
the_check_finds_a_changed_missing_or_extra_entry(void)
{
	struct bak_manifest m = { 0 };
	struct bak_entries seen = { 0 };
	char err[512] = "";

	CHECK(bak_manifest_parse(good, strlen(good), &m, err,
	    sizeof(err)) == 0);
	bak_entries_add(&seen, "db/kiln.sql", dump_sha, 28);
	bak_entries_add(&seen, "artifacts/jobs/1/1-0.png", other_sha, 14);
	bak_entries_add(&seen, "artifacts/jobs/2/1-0.png", png_sha, 20);
	CHECK(bak_manifest_check(&m, &seen, err, sizeof(err)) == 0);
	CHECK_STR(err, "");

	/* One file's bytes changed: its SHA-256 differs. */
	memcpy(((struct bak_entry *)bak_entries_find(&seen,
	    "artifacts/jobs/2/1-0.png"))->sha, other_sha, 64);
	CHECK(bak_manifest_check(&m, &seen, err, sizeof(err)) == -1);
	CHECK(strstr(err, "artifacts/jobs/2/1-0.png: its SHA-256") != NULL);
	CHECK(strstr(err, "damaged or was altered") != NULL);
	bak_entries_free(&seen);

	/* The dump missing. */
	bak_entries_add(&seen, "artifacts/jobs/1/1-0.png", other_sha, 14);
	bak_entries_add(&seen, "artifacts/jobs/2/1-0.png", png_sha, 20);
	CHECK(bak_manifest_check(&m, &seen, err, sizeof(err)) == -1);
	CHECK(strstr(err, "db/kiln.sql is in the manifest but not in the "
	    "archive") != NULL);
	/* An extra file the manifest does not list. */
	bak_entries_add(&seen, "db/kiln.sql", dump_sha, 28);
	bak_entries_add(&seen, "artifacts/jobs/9/1-0.png", png_sha, 20);
	CHECK(bak_manifest_check(&m, &seen, err, sizeof(err)) == -1);
	CHECK(strstr(err, "artifacts/jobs/9/1-0.png is not in the manifest")
	    != NULL);
	bak_entries_free(&seen);
	bak_manifest_free(&m);
}

static void
only_artifacts_keys_map_to_the_store(void)
{
	CHECK_STR(bak_archive_key("artifacts/jobs/1/1-0.png"),
	    "jobs/1/1-0.png");
	CHECK(bak_archive_key("artifacts/../etc/passwd") == NULL);
	CHECK(bak_archive_key("artifacts//x") == NULL);
	CHECK(bak_archive_key("artifacts/.metrics/x") == NULL);
	CHECK(bak_archive_key("db/kiln.sql") == NULL);
	CHECK(bak_archive_key("/etc/passwd") == NULL);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	setup();
	RUN(a_manifest_parses_into_its_fields);
	RUN(refusals_name_the_problem);
	RUN(the_check_finds_a_changed_missing_or_extra_entry);
	RUN(only_artifacts_keys_map_to_the_store);
	return tap_done();
}
