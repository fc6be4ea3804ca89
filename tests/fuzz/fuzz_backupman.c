/* fuzz_backupman.c - libFuzzer harness for a backup's manifest
 * (bak_manifest_parse), the one part of an archive restore reads as
 * structure. Besides never crashing: a manifest taken names only
 * db/kiln.sql and artifacts keys the store takes, each once, with 64 hex
 * digits and a size of at least 0; and an archive holding exactly its
 * entries passes bak_manifest_check while one missing an entry does not. */
#include "fuzz.h"
#include "backupman.h"

#include <stdint.h>
#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bak_manifest m = { 0 };
	struct bak_entries seen = { 0 };
	char err[512];
	size_t i, k;

	if (bak_manifest_parse((const char *)data, size, &m, err,
	    sizeof(err)) != 0) {
		CHECK(err[0] != '\0');
		bak_manifest_free(&m);
		return 0;
	}
	CHECK(!strcmp(m.db.path, BAK_DUMP));
	CHECK(strlen(m.db.sha) == 64 && m.db.bytes >= 0);
	for (i = 0; i < m.files.n; i++) {
		const struct bak_entry *e = &m.files.v[i];

		CHECK(bak_archive_key(e->path) != NULL);
		CHECK(strspn(e->sha, "0123456789abcdef") == 64 &&
		    e->sha[64] == '\0');
		CHECK(e->bytes >= 0);
		CHECK(i == 0 || strcmp(m.files.v[i - 1].path, e->path) < 0);
		CHECK(bak_entries_find(&m.files, e->path) == e);
	}
	/* The archive the manifest describes passes... */
	bak_entries_add(&seen, m.db.path, m.db.sha, m.db.bytes);
	for (i = 0; i < m.files.n; i++)
		bak_entries_add(&seen, m.files.v[i].path, m.files.v[i].sha,
			m.files.v[i].bytes);
	CHECK(bak_manifest_check(&m, &seen, err, sizeof(err)) == 0);
	bak_entries_free(&seen);
	/* ...and without any one of its entries it does not. */
	for (k = 0; k < m.files.n && k < 4; k++) {
		bak_entries_add(&seen, m.db.path, m.db.sha, m.db.bytes);
		for (i = 0; i < m.files.n; i++)
			if (i != k)
				bak_entries_add(&seen, m.files.v[i].path,
					m.files.v[i].sha, m.files.v[i].bytes);
		CHECK(bak_manifest_check(&m, &seen, err, sizeof(err)) != 0);
		bak_entries_free(&seen);
	}
	bak_manifest_free(&m);
	return 0;
}
