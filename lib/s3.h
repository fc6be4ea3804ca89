/* s3.h - a small client for S3-compatible object storage (AWS S3, MinIO,
 * Ceph RGW): whole-object PUT, GET, DELETE and ListObjectsV2 over
 * libcurl, signed with AWS Signature Version 4 (curl's CURLOPT_AWS_SIGV4),
 * and presigned GET URLs (query-string SigV4, computed here with
 * libsodium's SHA-256 and HMAC-SHA-256). storage.c puts its "s3" backend
 * on top of it; nothing else calls it. */
#ifndef KILN_S3_H
#define KILN_S3_H

#include <stddef.h>
#include <time.h>

struct buf;

/* Where the bucket is and who we are. Strings are borrowed. */
struct s3_conf {
	const char *endpoint;	/* "https://s3.eu-west-1.amazonaws.com",
				 * "http://127.0.0.1:9000": scheme, host,
				 * optional port, no path */
	const char *bucket;
	const char *region;	/* "us-east-1" */
	const char *access_key;
	const char *secret_key;
	const char *prefix;	/* "" or "kiln/": put before every key */
	int virtual_host;	/* 1: BUCKET.host/KEY; 0: host/BUCKET/KEY */
	long timeout;		/* seconds a request may take in all */
};

/* "http" or "https" followed by "://", a host of [A-Za-z0-9.-] (or
 * "[v6]"), an optional ":port", nothing after (a trailing '/' is taken).
 * Returns 0, or -1 with a message. */
int s3_endpoint_ok(const char *endpoint, char *msg, size_t msglen);

/* A bucket name S3 takes: 3-63 of [a-z0-9.-], starting and ending with
 * a letter or digit. */
int s3_bucket_ok(const char *bucket);

/* Stores len bytes at key with a Content-MD5 the server checks (a body
 * damaged on the way is refused with BadDigest) and the payload's
 * SHA-256 signed in x-amz-content-sha256. Returns 0, or -1 with a
 * message naming the key and the HTTP status or S3 error code. */
int s3_put(const struct s3_conf *c, const char *key, const void *data,
	size_t len, const char *content_type, char *err, size_t errlen);

/* Appends the object at key to out, at most max bytes; the bytes that
 * came must be as many as the server said (Content-Length). Returns 0,
 * 1 when there is no such object (404), or -1 with a message. */
int s3_get(const struct s3_conf *c, const char *key, size_t max,
	struct buf *out, char *err, size_t errlen);

/* Deletes the object at key; a missing one is no error. Returns 0 or
 * -1 with a message. */
int s3_delete(const struct s3_conf *c, const char *key, char *err,
	size_t errlen);

/* Calls fn(arg, key, size) for every object whose key starts with
 * prefix (keys without the conf's own prefix), page by page
 * (ListObjectsV2). fn returns 0 to go on, non-zero to stop (then that is
 * returned). Returns 0, the non-zero of fn, or -1 with a message. */
int s3_list(const struct s3_conf *c, const char *prefix,
	int (*fn)(void *arg, const char *key, unsigned long long size),
	void *arg, char *err, size_t errlen);

/* A presigned GET URL for key, valid for seconds (1-604800) from now
 * (the X-Amz-Date written is now, UTC). Returns a malloc'd URL or NULL
 * when memory runs out or seconds is out of range. */
char *s3_presign(const struct s3_conf *c, const char *key, long seconds,
	time_t now);

/* One page of a ListObjectsV2 answer (the XML text, len bytes): calls
 * fn for each <Contents>'s <Key> (entities decoded) and <Size>, and sets
 * *next to a malloc'd NextContinuationToken when <IsTruncated> is true
 * (NULL otherwise). Returns 0, fn's non-zero, or -1 with a message (not
 * a ListBucketResult, a key that is not text, truncated without a
 * token). */
int s3_list_parse(const char *xml, size_t len,
	int (*fn)(void *arg, const char *key, unsigned long long size),
	void *arg, char **next, char *err, size_t errlen);

/* Lower-case hex of SHA-256(data) into out (65 bytes). */
void s3_sha256_hex(const void *data, size_t len, char out[65]);

#endif
