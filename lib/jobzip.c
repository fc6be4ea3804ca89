/* jobzip.c - a job's or a batch's images as one ZIP with a manifest
 * (jobzip.h). The PNGs are stored, not deflated: they are compressed
 * already, and storing keeps a large batch's ZIP cheap to make. */
#include "jobzip.h"
#include "db.h"
#include "imgexport.h"
#include "imgstore.h"
#include "teams.h"
#include "log.h"
#include "storage.h"
#include "submit.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One image of the jobs asked for. */
struct zimg {
	unsigned long long job_id, seed;
	int idx, width, height;
	char *path;		/* its storage key */
};

struct zimg_list {
	struct zimg *v;
	size_t n, cap;
	struct zimg rec;
};

static const struct db_field zimg_fields[] = {
	DB_FIELD(struct zimg, job_id, DBF_ULLONG, "job_id"),
	DB_FIELD(struct zimg, idx, DBF_INT, "idx"),
	DB_FIELD(struct zimg, seed, DBF_ULLONG, "seed"),
	DB_FIELD(struct zimg, width, DBF_INT, "width"),
	DB_FIELD(struct zimg, height, DBF_INT, "height"),
	DB_FIELD(struct zimg, path, DBF_DUP, "path"),
};

static int
zimg_row(void *rec, void *arg)
{
	struct zimg_list *l = arg;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = *(struct zimg *)rec;
	return 0;
}

/* One job of a batch: its id and row. */
struct zrow {
	unsigned long long id;
	long row;
};

struct zrow_list {
	struct zrow *v;
	size_t n, cap;
	struct zrow rec;
};

static const struct db_field zrow_fields[] = {
	DB_FIELD(struct zrow, id, DBF_ULLONG, "id"),
	DB_FIELD(struct zrow, row, DBF_LONG, "batch_row"),
};

static int
zrow_row(void *rec, void *arg)
{
	struct zrow_list *l = arg;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = *(struct zrow *)rec;
	return 0;
}

/* The batch's name and size. */
struct zbatch {
	const char *name;
	long jobs;
	json_object *o;
};

static const struct db_field zbatch_fields[] = {
	DB_FIELD(struct zbatch, name, DBF_STR, "name"),
	DB_FIELD(struct zbatch, jobs, DBF_LONG, "jobs"),
};

static int
zbatch_row(void *rec, void *arg)
{
	const struct zbatch *b = rec;
	struct zbatch *out = arg;

	out->o = json_object_new_object();
	if (out->o != NULL) {
		json_object_object_add(out->o, "name",
			json_object_new_string(b->name));
		json_object_object_add(out->o, "jobs",
			json_object_new_int64(b->jobs));
	}
	return 1;
}

/* libarchive's output: appended to the caller's buffer. */
static la_ssize_t
zip_write(struct archive *a, void *arg, const void *p, size_t n)
{
	(void)a;
	return buf_append(arg, p, n) == 0 ? (la_ssize_t)n : -1;
}

/* Adds one stored file to the archive. Returns 0 or -1 (logged). */
static int
zip_add(struct archive *a, const char *name, const void *data, size_t len,
	time_t when)
{
	struct archive_entry *e = archive_entry_new();
	int rc = -1;

	if (e == NULL)
		return -1;
	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_mtime(e, when, 0);
	if (archive_write_header(a, e) != ARCHIVE_OK ||
	    (len > 0 && archive_write_data(a, data, len) != (la_ssize_t)len))
		log_error("zip: %s: %s", name, archive_error_string(a));
	else
		rc = 0;
	archive_entry_free(e);
	return rc;
}

/* The job object in list of id (jobs_json's), or NULL. */
static json_object *
job_of(json_object *list, unsigned long long id)
{
	size_t i, n = json_object_array_length(list);
	json_object *v;

	for (i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(list, i);

		if (json_object_object_get_ex(o, "id", &v) &&
		    (unsigned long long)json_object_get_int64(v) == id)
			return o;
	}
	return NULL;
}

/* Adds a manifest entry for the file name of image im (format f, len
 * bytes of data) to files, and the file to the archive. Returns 0 or
 * -1. */
static int
add_file(struct archive *a, json_object *files, const char *name,
	const struct zimg *im, int f, const struct buf *data, time_t now)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[2 * sizeof(h) + 1];
	json_object *o;

	crypto_hash_sha256(h, (const unsigned char *)data->data, data->len);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	if (zip_add(a, name, data->data, data->len, now) != 0)
		return -1;
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "format",
		json_object_new_string(img_format_name(f)));
	json_object_object_add(o, "job_id",
		json_object_new_int64((int64_t)im->job_id));
	json_object_object_add(o, "index", json_object_new_int(im->idx));
	json_object_object_add(o, "seed",
		json_object_new_int64((int64_t)im->seed));
	json_object_object_add(o, "width", json_object_new_int(im->width));
	json_object_object_add(o, "height", json_object_new_int(im->height));
	json_object_object_add(o, "bytes",
		json_object_new_int64((int64_t)data->len));
	json_object_object_add(o, "sha256", json_object_new_string(hex));
	json_object_array_add(files, o);
	return 0;
}

/* The format a job's ZIP carries besides its PNGs: format when it
 * names one, else the job's output_format (its JSON's). */
static int
zip_format(json_object *job, int format)
{
	json_object *v;

	if (format >= 0)
		return format;
	if (json_object_object_get_ex(job, "output_format", &v) &&
	    json_object_is_type(v, json_type_string))
		format = img_format_parse(json_object_get_string(v));
	return format >= 0 ? format : IMG_PNG;
}

enum jobzip_status
jobs_zip(struct db *db, const struct kiln_config *cfg, const char *base_url,
	unsigned long long id, int batch, unsigned long long user_id,
	size_t max, struct buf *out)
{
	return jobs_zip_format(db, cfg, base_url, id, batch,
		user_id, -1, max, out);
}

enum jobzip_status
jobs_zip_format(struct db *db, const struct kiln_config *cfg,
	const char *base_url, unsigned long long id, int batch,
	unsigned long long user_id, int format, size_t max, struct buf *out)
{
	struct zimg_list imgs = { 0 };
	struct zrow_list rows = { 0 };
	struct zbatch zb = { 0 };
	struct db_param p[2] = { DB_INT(id), DB_INT(user_id) };
	struct storage *st = NULL;
	struct archive *a = NULL;
	json_object *list = NULL, *man = NULL, *files = NULL, *rowv = NULL;
	struct buf png = { 0 };
	enum jobzip_status rc = JOBZIP_DBFAIL;
	unsigned long long *ids = NULL;
	size_t i, k, total = 0;
	int k2;
	time_t now = time(NULL);
	const char *text;

	list = json_object_new_array();
	man = json_object_new_object();
	if (list == NULL || man == NULL)
		goto out;
	if (batch) {
		if (db_query_into(db, "SELECT name, jobs FROM batches WHERE"
		    " id = ? AND user_id = ?", p, 2, zbatch_fields,
		    DB_NFIELDS(zbatch_fields), &zb, zbatch_row, &zb) < 0)
			goto out;
		if (zb.o == NULL) {
			rc = JOBZIP_NOT_FOUND;
			goto out;
		}
		json_object_object_add(zb.o, "id", json_object_new_int64(
			(int64_t)id));
		json_object_object_add(man, "batch", zb.o);
		if (db_query_into(db, "SELECT id, batch_row FROM jobs WHERE"
		    " batch_id = ? AND user_id = ? AND deleted_at IS NULL"
		    " ORDER BY batch_row, id", p, 2, zrow_fields,
		    DB_NFIELDS(zrow_fields), &rows.rec, zrow_row, &rows) < 0)
			goto out;
	} else {
		rows.v = xcalloc(1, sizeof(*rows.v));
		rows.v[0].id = id;
		rows.n = rows.cap = 1;
	}
	ids = xcalloc(rows.n + 1, sizeof(*ids));
	for (i = 0; i < rows.n; i++)
		ids[i] = rows.v[i].id;
	if (jobs_json(db, base_url, ids, rows.n, user_id, list) != 0)
		goto out;
	if (!batch && json_object_array_length(list) == 0) {
		rc = JOBZIP_NOT_FOUND;
		goto out;
	}
	/* The images of the jobs found above (so only user_id's). */
	if (db_query_into(db, batch ? "SELECT i.job_id, i.idx, i.seed,"
	    " i.width, i.height, i.path FROM job_images i JOIN jobs j ON"
	    " j.id = i.job_id WHERE j.batch_id = ? AND j.user_id = ? AND"
	    " j.deleted_at IS NULL ORDER BY j.batch_row, i.job_id, i.idx" :
	    "SELECT i.job_id, i.idx, i.seed, i.width, i.height, i.path FROM"
	    " job_images i JOIN jobs j ON j.id = i.job_id WHERE j.id = ? AND "
	    TEAM_JOB_SEES("j.") " AND j.deleted_at IS NULL ORDER BY i.idx", p, 2,
	    zimg_fields, DB_NFIELDS(zimg_fields), &imgs.rec, zimg_row,
	    &imgs) < 0)
		goto out;

	st = storage_open(cfg);
	a = archive_write_new();
	if (st == NULL || a == NULL ||
	    archive_write_set_format_zip(a) != ARCHIVE_OK ||
	    archive_write_set_options(a, "zip:compression=store") !=
	    ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open(a, out, NULL, zip_write, NULL) != ARCHIVE_OK) {
		log_error("zip: %s", a ? archive_error_string(a) : "no memory");
		goto out;
	}
	if (batch) {
		rowv = json_object_new_array();
		json_object_object_add(man, "rows", rowv);
	} else {
		json_object_object_add(man, "job", json_object_get(
			json_object_array_get_idx(list, 0)));
		files = json_object_new_array();
		json_object_object_add(man, "files", files);
	}
	for (i = 0; i < rows.n; i++) {
		json_object *job = job_of(list, rows.v[i].id), *r;
		int f;
		char *manifest = NULL;

		if (job == NULL)
			continue;
		f = zip_format(job, format);
		if (batch) {
			r = json_object_new_object();
			json_object_object_add(r, "row",
				json_object_new_int64(rows.v[i].row));
			json_object_object_add(r, "job_id",
				json_object_new_int64((int64_t)rows.v[i].id));
			json_object_object_add(r, "job",
				json_object_get(job));
			files = json_object_new_array();
			json_object_object_add(r, "files", files);
			json_object_array_add(rowv, r);
		}
		if (f != IMG_PNG && imgstore_job_manifest(db, rows.v[i].id,
		    &manifest) != 0)
			goto out;
		for (k = 0; k < imgs.n; k++) {
			const struct zimg *im = &imgs.v[k];
			char name[128], dir[32], fname[96], err[512];
			enum imgstore_status es;

			if (im->job_id != rows.v[i].id)
				continue;
			buf_reset(&png);
			k2 = storage_get(st, im->path, max - total, &png,
				err, sizeof(err));
			if (k2 != 0) {
				/* Over what is left of max, or missing. */
				if (k2 < 0 && strstr(err, "larger than")) {
					rc = JOBZIP_TOO_LARGE;
				} else {
					log_error("zip: job %llu: %s",
						im->job_id, k2 > 0 ? im->path :
						err);
					rc = JOBZIP_UNREADABLE;
				}
				free(manifest);
				goto out;
			}
			total += png.len;
			if (batch)
				snprintf(dir, sizeof(dir), "row-%ld/",
					rows.v[i].row);
			else
				dir[0] = '\0';
			imgstore_file_name(im->job_id, im->idx, IMG_PNG, fname,
				sizeof(fname));
			snprintf(name, sizeof(name), "%s%s", dir, fname);
			if (add_file(a, files, name, im, IMG_PNG, &png,
			    now) != 0) {
				free(manifest);
				goto out;
			}
			if (f == IMG_PNG)
				continue;
			/* The job's format beside the PNG, from its float
			 * master; an image without one (rendered before
			 * kiln kept them) has the PNG only. */
			buf_reset(&png);
			es = imgstore_export(st, im->path, f, manifest, &png,
				err, sizeof(err));
			if (es == IMGSTORE_NO_MASTER)
				continue;
			if (es != IMGSTORE_OK) {
				log_error("zip: job %llu image %d as %s: %s",
					im->job_id, im->idx,
					img_format_name(f), err);
				rc = JOBZIP_UNREADABLE;
				free(manifest);
				goto out;
			}
			if (png.len > max - total) {
				rc = JOBZIP_TOO_LARGE;
				free(manifest);
				goto out;
			}
			total += png.len;
			imgstore_file_name(im->job_id, im->idx, f, fname,
				sizeof(fname));
			snprintf(name, sizeof(name), "%s%s", dir, fname);
			if (add_file(a, files, name, im, f, &png, now) != 0) {
				free(manifest);
				goto out;
			}
		}
		free(manifest);
	}
	text = json_object_to_json_string_ext(man, JSON_C_TO_STRING_PRETTY |
		JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text == NULL || zip_add(a, "manifest.json", text, strlen(text),
	    now) != 0)
		goto out;
	if (archive_write_close(a) != ARCHIVE_OK) {
		log_error("zip: %s", archive_error_string(a));
		goto out;
	}
	rc = JOBZIP_OK;
out:
	if (a != NULL)
		archive_write_free(a);
	storage_free(st);
	for (k = 0; k < imgs.n; k++)
		free(imgs.v[k].path);
	free(imgs.v);
	free(rows.v);
	free(ids);
	buf_free(&png);
	json_object_put(list);
	json_object_put(man);
	return rc;
}
