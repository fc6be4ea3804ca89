/* storage.h - where a job's files live: its inputs (uploaded images) and,
 * through the same calls, its results. One small interface over the local
 * artifacts directory now, so that an S3-compatible store can stand in
 * later without the callers changing: keys are relative paths
 * ("jobs/12/inputs/init.png"), writes are whole objects and atomic. */
#ifndef KILN_STORAGE_H
#define KILN_STORAGE_H

#include <stddef.h>

struct buf;
struct storage;

/* A store over the local directory root (the artifacts directory).
 * Returns it (free with storage_free), or NULL when memory runs out. */
struct storage *storage_local_new(const char *root);
void storage_free(struct storage *s);

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

/* Writes len bytes to path through a temporary file beside it that is
 * fsync'd and renamed over path (mode 0644). Returns 0, or -1 with a
 * message naming path in err; the temporary file is then removed. */
int file_write_atomic(const char *path, const void *data, size_t len,
	char *err, size_t errlen);

#endif
