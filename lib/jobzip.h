/* jobzip.h - a job's images, or a CSV batch's, as one ZIP archive with a
 * manifest.json (the jobs' parameters; each file's name, seed and
 * SHA-256), written with libarchive into memory for the response. */
#ifndef KILN_JOBZIP_H
#define KILN_JOBZIP_H

#include <stddef.h>

struct buf;
struct db;
struct kiln_config;

/* The most bytes of images one ZIP carries: the response is built in
 * memory, so a larger one is refused (413) rather than risk the web
 * process's memory. A full batch of 2048x2048 PNGs would pass it. */
#define JOBZIP_MAX_BYTES ((size_t)256 << 20)

/* What jobs_zip found. */
enum jobzip_status {
	JOBZIP_DBFAIL = -1,	/* a db error (db_error) or out of memory */
	JOBZIP_OK = 0,
	JOBZIP_NOT_FOUND = 1,	/* no such job or batch of user_id's */
	JOBZIP_TOO_LARGE = 2,	/* the images pass max bytes */
	JOBZIP_UNREADABLE = 3,	/* an image file could not be read (logged) */
};

/* The ZIP of job id's images (batch 0) or of batch id's jobs' (batch
 * 1), of user_id's only, into out (appended): "kiln-JOB-IDX.png" for a
 * job, "row-N/kiln-JOB-IDX.png" for a batch's row N, and manifest.json:
 * {"job": {...as GET /api/v1/jobs/ID}, "files": [...]} or {"batch":
 * {"id", "name", "jobs"}, "rows": [{"row", "job_id", "job", "files"}]},
 * each file {"name", "format", "job_id", "index", "seed", "width",
 * "height", "bytes", "sha256"}. cfg's store (storage_open) holds the
 * images; base_url makes the manifest's URLs absolute. */
enum jobzip_status jobs_zip(struct db *db,
	const struct kiln_config *cfg,
	const char *base_url, unsigned long long id, int batch,
	unsigned long long user_id, size_t max, struct buf *out);

/* jobs_zip with, beside each PNG, the image in format (imgexport.h's
 * enum img_format; -1: each job's output_format, what jobs_zip does)
 * made from its float master, as "kiln-JOB-IDX-FORMAT.EXT"; each file's
 * manifest entry names its "format". An image without a master has its
 * PNG only. */
enum jobzip_status jobs_zip_format(struct db *db,
	const struct kiln_config *cfg,
	const char *base_url, unsigned long long id, int batch,
	unsigned long long user_id, int format, size_t max, struct buf *out);

#endif
