/* test_filehash.c - file hashes as AUTOMATIC1111 takes them: the whole
 * file, or (LoRAs) what follows the safetensors header, against
 * published SHA-256 vectors; and the cache's rule that a hash holds only
 * for the size and mtime it was taken at. */
#include "filehash.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/kiln-hash-XXXXXX";

/* FIPS 180-2's examples. */
#define SHA_ABC "ba7816bf8f01cfea414140de5dae2223" \
	"b00361a396177a9cb410ff61f20015ad"
#define SHA_EMPTY "e3b0c44298fc1c149afbf4c8996fb924" \
	"27ae41e4649b934ca495991b7852b855"

static void
whole_file_and_addnet(void)
{
	char path[512], hex[HASH_HEX + 1], err[512];
	/* A header of 8 bytes ("{}" padded), then "abc". */
	static const char st[] = "\x08\0\0\0\0\0\0\0{}      abc";
	FILE *f;

	tap_put_file(dir, "abc", "abc");
	snprintf(path, sizeof(path), "%s/abc", dir);
	CHECK(file_sha256(path, HASH_FILE, hex, err, sizeof(err)) == 0);
	CHECK_STR(hex, SHA_ABC);
	tap_put_file(dir, "empty", "");
	snprintf(path, sizeof(path), "%s/empty", dir);
	CHECK(file_sha256(path, HASH_FILE, hex, err, sizeof(err)) == 0);
	CHECK_STR(hex, SHA_EMPTY);
	/* addnet: the header is not hashed, the data is. */
	snprintf(path, sizeof(path), "%s/l.safetensors", dir);
	f = fopen(path, "wb");
	CHECK(f != NULL && fwrite(st, 1, sizeof(st) - 1, f) == sizeof(st) - 1);
	if (f != NULL)
		fclose(f);
	CHECK(file_sha256(path, HASH_ADDNET, hex, err, sizeof(err)) == 0);
	CHECK_STR(hex, SHA_ABC);
	CHECK(file_sha256(path, HASH_FILE, hex, err, sizeof(err)) == 0);
	CHECK(strcmp(hex, SHA_ABC) != 0 && strlen(hex) == HASH_HEX);
	/* Not a safetensors file, or not there: a message naming it. */
	snprintf(path, sizeof(path), "%s/abc", dir);
	CHECK(file_sha256(path, HASH_ADDNET, hex, err, sizeof(err)) == -1);
	CHECK(strstr(err, "abc: not a safetensors file") != NULL);
	snprintf(path, sizeof(path), "%s/none", dir);
	CHECK(file_sha256(path, HASH_FILE, hex, err, sizeof(err)) == -1);
	CHECK(strstr(err, "none: cannot open") != NULL);
	CHECK(hash_what_of("lora") == HASH_ADDNET);
	CHECK(hash_what_of("checkpoint") == HASH_FILE);
	CHECK(hash_what_of("embedding") == HASH_FILE);
}

/* A cached hash is the file's only at the size and mtime it was taken
 * at: a touched or rewritten file has none until hashed again. */
static void
stamps_decide(void)
{
	struct hash_row rows[2];
	struct file_stamp st, now;
	char path[512];

	memset(rows, 0, sizeof(rows));
	snprintf(path, sizeof(path), "%s/abc", dir);
	CHECK(file_stamp_of(path, &st) == 0 && st.size == 3 &&
	    st.mtime_ns > 0);
	snprintf(rows[0].name, sizeof(rows[0].name), "other");
	snprintf(rows[1].name, sizeof(rows[1].name), "abc");
	rows[1].st = st;
	snprintf(rows[1].hex, sizeof(rows[1].hex), "%s", SHA_ABC);
	CHECK_STR(hash_rows_find(rows, 2, "abc", &st), SHA_ABC);
	CHECK(hash_rows_find(rows, 2, "nope", &st) == NULL);
	now = st;
	now.mtime_ns++;
	CHECK(hash_rows_find(rows, 2, "abc", &now) == NULL);
	now = st;
	now.size++;
	CHECK(hash_rows_find(rows, 2, "abc", &now) == NULL);
	snprintf(path, sizeof(path), "%s/none", dir);
	CHECK(file_stamp_of(path, &st) == -1);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	RUN(whole_file_and_addnet);
	RUN(stamps_decide);
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return tap_done();
}
