/* filesha.c - the file side of filehash.h: a file's stamp and its
 * SHA-256 (whole, or the data after a safetensors header), with no
 * database, so kiln-render can hash what it renders with. */
#include "filehash.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (1u << 20)

int
file_stamp_of(const char *path, struct file_stamp *st)
{
	struct stat s;

	if (stat(path, &s) != 0)
		return -1;
	st->size = (unsigned long long)s.st_size;
	st->mtime_ns = (long long)s.st_mtim.tv_sec * 1000000000LL +
		s.st_mtim.tv_nsec;
	return 0;
}

enum hash_what
hash_what_of(const char *kind)
{
	return !strcmp(kind, "lora") ? HASH_ADDNET : HASH_FILE;
}

int
file_sha256(const char *path, enum hash_what w, char hex[HASH_HEX + 1],
	char *err, size_t errlen)
{
	crypto_hash_sha256_state h;
	unsigned char *b = NULL, out[crypto_hash_sha256_BYTES];
	unsigned long long skip = 0;
	ssize_t got;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errf(err, errlen, "%s: cannot open: %s", path,
			strerror(errno));
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	b = xmalloc(CHUNK);
	crypto_hash_sha256_init(&h);
	if (w == HASH_ADDNET) {
		struct stat st;
		int i;

		/* kohya's hash skips the header (its metadata may change
		 * without the weights changing): the u64 length, then the
		 * bytes after it. */
		if (fstat(fd, &st) != 0 || pread(fd, b, 8, 0) != 8) {
			errf(err, errlen, "%s: not a safetensors file", path);
			goto out;
		}
		for (i = 7; i >= 0; i--)
			skip = skip << 8 | b[i];
		if (skip > (unsigned long long)st.st_size - 8 ||
		    lseek(fd, (off_t)(8 + skip), SEEK_SET) < 0) {
			errf(err, errlen, "%s: not a safetensors file", path);
			goto out;
		}
	}
	while ((got = read(fd, b, CHUNK)) > 0)
		crypto_hash_sha256_update(&h, b, (unsigned long long)got);
	if (got < 0) {
		errf(err, errlen, "%s: read error: %s", path, strerror(errno));
		goto out;
	}
	crypto_hash_sha256_final(&h, out);
	sodium_bin2hex(hex, HASH_HEX + 1, out, sizeof(out));
	rc = 0;
out:
	free(b);
	close(fd);
	return rc;
}
