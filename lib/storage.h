/* storage.h - where a job's files live: its inputs (uploaded images) and,
 * through the same calls, its results, exports and backups. One small
 * interface over two stores: the local artifacts directory, or an
 * S3-compatible bucket ([storage] backend = s3, s3.h), so that web hosts
 * and render daemons on different machines share them. Keys are
 * relative paths ("jobs/12/inputs/init.png"), writes are whole objects
 * and atomic. */
#ifndef KILN_STORAGE_H
#define KILN_STORAGE_H

#include <stddef.h>

#include <time.h>

struct buf;
struct kiln_config;
struct storage;

/* A store over the local directory root (the artifacts directory).
 * Returns it (free with storage_free), or NULL when memory runs out. */
struct storage *storage_local_new(const char *root);

/* The store cfg's [storage] section names: the artifacts directory
 * (backend = local) or its S3 bucket (backend = s3); cfg must outlive
 * it. Every caller opens its store through this. Returns it, or NULL
 * when memory runs out. */
struct storage *storage_open(const struct kiln_config *cfg);
void storage_free(struct storage *s);

/* The directory of a local store, or NULL for any other: for what only
 * a directory has (free space, file modes). */
const char *storage_local_root(const struct storage *s);

/* 1 when key is a key this interface takes: 1-255 bytes of [A-Za-z0-9._-]
 * segments split by single '/', none of them "." or ".." or starting
 * with '.', so a key never leaves the store's root. */
int storage_key_ok(const char *key);

/* Stores len bytes under key, replacing any object there: readers see
 * the old object or the whole new one (temp file, fsync, rename), never
 * a part. Returns 0, or -1 with a message naming the key in err; nothing
 * is then left behind. */
int storage_put(struct storage *s, const char *key, const void *data,
	size_t len, char *err, size_t errlen);

/* Reads the object at key into out (appended; at most max bytes).
 * Returns 0, 1 when there is no such object, or -1 with a message in
 * err (unreadable, larger than max). */
int storage_get(struct storage *s, const char *key, size_t max,
	struct buf *out, char *err, size_t errlen);

/* Removes the object at key; a missing one is no error. Returns 0 or
 * -1. */
int storage_remove(struct storage *s, const char *key);

/* Removes every object whose key starts with prefix + "/" (a job's
 * "jobs/12"), however deep. Returns 0, or -1 when one could not go. */
int storage_remove_prefix(struct storage *s, const char *prefix);

/* Calls fn(arg, key, size) for every object whose key starts with
 * prefix + "/" (prefix "" for every object), in no promised order; the
 * local store skips names storage_key_ok refuses (temporary files).
 * fn returns 0 to go on, non-zero to stop (then that is returned).
 * Returns 0, fn's non-zero, or -1 with a message in err. */
int storage_list(struct storage *s, const char *prefix,
	int (*fn)(void *arg, const char *key, unsigned long long size),
	void *arg, char *err, size_t errlen);

/* A URL that fetches the object at key without credentials until
 * seconds after now (an S3 presigned GET), for a client that passed the
 * caller's ownership check. Returns it (the caller frees it), or NULL:
 * a local store has none, or memory ran out. */
char *storage_presign(struct storage *s, const char *key, long seconds,
	time_t now);

/* Writes len bytes to path through a temporary file beside it that is
 * fsync'd and renamed over path (mode 0644). Returns 0, or -1 with a
 * message naming path in err; the temporary file is then removed. */
int file_write_atomic(const char *path, const void *data, size_t len,
	char *err, size_t errlen);

#endif
