/* imgstore.h - a stored image in another format: its float master read
 * through the storage interface and encoded (imgexport.h) with the
 * image's parameters and its job's manifest, for the downloads and the
 * ZIPs. */
#ifndef KILN_IMGSTORE_H
#define KILN_IMGSTORE_H

#include <stddef.h>

struct buf;
struct db;
struct storage;

/* Largest float master read: a 2048x2048 render's is about 40 MB
 * uncompressed, ZIP makes it smaller; this leaves room for 4096^2. */
#define IMGSTORE_MASTER_MAX ((size_t)256 << 20)

/* What imgstore_export found. */
enum imgstore_status {
	IMGSTORE_FAIL = -1,	/* unreadable master, encoding failed (err) */
	IMGSTORE_OK = 0,
	IMGSTORE_NO_MASTER = 1,	/* the image has no float master: an older
				 * job, an upscale or an inpainting result */
};

/* The manifest (JSON text) job_id was submitted with, from the jobs
 * table's "manifest" column (migration 027, issue 29's scene manifests),
 * into a malloc'd *out; NULL when the job has none or the table has no
 * such column yet. Returns 0, or -1 with db_error() set. */
int imgstore_job_manifest(struct db *db, unsigned long long job_id,
	char **out);

/* The image whose PNG is stored at png_key, as format f (imgexport.h;
 * not IMG_PNG: that is the stored PNG itself) into out (appended), with
 * the master's parameters and manifest (may be NULL) in its metadata. */
enum imgstore_status imgstore_export(struct storage *st, const char *png_key,
	int f, const char *manifest, struct buf *out, char *err,
	size_t errlen);

/* "kiln-JOB-IDX" plus, for any format but png, "-NAME", and the
 * format's extension: the file name a download and a ZIP give it. */
int imgstore_file_name(unsigned long long job_id, int idx, int f, char *out,
	size_t outlen);

#endif
