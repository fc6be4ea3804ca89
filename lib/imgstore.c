/* imgstore.c - stored images in the high-precision formats, from their
 * float masters. */
#include "imgstore.h"
#include "db.h"
#include "imgexport.h"
#include "storage.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
imgstore_job_manifest(struct db *db, unsigned long long job_id, char **out)
{
	struct db_param p[1];
	long has = 0;

	*out = NULL;
	/* The column arrives with the scene manifests' migration: asking
	 * the catalogue first keeps a database without it working. */
	if (db_query_long(db, "SELECT COUNT(*) FROM information_schema.COLUMNS"
	    " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'jobs'"
	    " AND COLUMN_NAME = 'manifest'", NULL, 0, &has) != 0)
		return -1;
	if (!has)
		return 0;
	p[0] = DB_INT(job_id);
	return db_query_string(db, "SELECT manifest FROM jobs WHERE id = ?",
	    p, 1, out);
}

enum imgstore_status
imgstore_export(struct storage *st, const char *png_key, int f,
    const char *manifest, struct buf *out, char *err, size_t errlen)
{
	struct buf b = { 0 };
	struct imgexport_meta m = { NULL, manifest };
	char key[1100], e[512], *params = NULL;
	float *rgb = NULL;
	int w = 0, h = 0, g;
	enum imgstore_status rc = IMGSTORE_FAIL;

	if (imgexport_master_key(png_key, key, sizeof(key)) != 0) {
		errf(err, errlen, "%s: not a PNG key", png_key);
		return IMGSTORE_FAIL;
	}
	g = storage_get(st, key, IMGSTORE_MASTER_MAX, &b, e, sizeof(e));
	if (g > 0)
		rc = IMGSTORE_NO_MASTER;
	if (g != 0) {
		if (g < 0)
			errf(err, errlen, "%s", e);
		goto out;
	}
	if (imgexport_master_decode(b.data, b.len, &w, &h, &rgb, &params,
	    err, errlen) != 0)
		goto out;
	m.parameters = params;
	if (imgexport_encode(f, w, h, rgb, &m, out, err, errlen) != 0)
		goto out;
	rc = IMGSTORE_OK;
out:
	buf_free(&b);
	free(rgb);
	free(params);
	return rc;
}

int
imgstore_file_name(unsigned long long job_id, int idx, int f, char *out,
    size_t outlen)
{
	const char *ext = img_format_ext(f);

	if (ext == NULL)
		return -1;
	if (f == IMG_PNG)
		return snprintf_checked(out, outlen, "kiln-%llu-%d.png",
		    job_id, idx);
	return snprintf_checked(out, outlen, "kiln-%llu-%d-%s.%s", job_id,
	    idx, img_format_name(f), ext);
}
