/* api_images.c - a job's pictures: GET /api/v1/images/{job}-{idx}.png
 * (?format= png16, tiff16, tiff32, exr, exr16: made from its float
 * master), {job}-{idx}.thumb.png and {job}-preview.png for its owner only,
 * and
 * GET /api/v1/shared/{token}[/{idx}.png | /{idx}.thumb.png] for anyone
 * holding the link of a shared job; GET /api/v1/jobs/{id}/inputs/{kind}.png
 * the images a job was given, for its owner. Thumbnails are made with libgd on
 * first request and kept beside the image. */
#include "app.h"
#include "auth.h"
#include "db.h"
#include "teams.h"
#include "explore.h"
#include "handlers.h"
#include "image.h"
#include "imgexport.h"
#include "imgstore.h"
#include "jobzip.h"
#include "log.h"
#include "s3.h"
#include "storage.h"
#include "submit.h"
#include "util.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Longest side of a thumbnail; smaller images are their own. */
#define THUMB_SIDE 256

enum kind { K_FULL, K_THUMB, K_PREVIEW };

static int
not_found(struct kreq *req)
{
	return resp_error_json(req, 404, "not_found", "no such image", NULL);
}

/* Reads size bytes of fd into req's body. Returns 0 or -1. */
static int
read_into(struct kreq *req, int fd, size_t size)
{
	size_t got = 0;

	buf_reset(&req->out);
	if (buf_reserve(&req->out, size + 1) != 0)
		return -1;
	while (got < size) {
		ssize_t n = read(fd, req->out.data + got, size - got);

		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	req->out.len = got;
	return 0;
}

/* Parses "IDX.png" / "IDX.thumb.png" (prefix already taken off), in the one
 * spelling kiln writes: no "00.png" beside "0.png". Returns 0 or -1. */
static int
parse_idx(const char *s, long *idx, enum kind *k)
{
	char tail[16], again[32];

	if (sscanf(s, "%ld.%15[a-z.]", idx, tail) != 2 || *idx < 0 ||
	    *idx > 1000)
		return -1;
	if (!strcmp(tail, "png"))
		*k = K_FULL;
	else if (!strcmp(tail, "thumb.png"))
		*k = K_THUMB;
	else
		return -1;
	snprintf(again, sizeof(again), "%ld.%s", *idx, tail);
	return strcmp(again, s) == 0 ? 0 : -1;
}

/* The thumbnail of rgb (w x h, freed here), at most THUMB_SIDE on its
 * longer side, as PNG bytes into req's body and *png (the caller frees
 * it; *len its size) for the caller to keep. name is for the log.
 * Returns 0 or -1. */
static int
thumb_png(struct kreq *req, uint8_t *rgb, int w, int h, const char *name,
	uint8_t **png, size_t *len)
{
	uint8_t *small = NULL;
	int tw, th, rc = -1;
	char err[512];

	*png = NULL;
	tw = w >= h ? THUMB_SIDE : (int)(((long)w * THUMB_SIDE + h / 2) / h);
	th = w >= h ? (int)(((long)h * THUMB_SIDE + w / 2) / w) : THUMB_SIDE;
	if (tw < 1)
		tw = 1;
	if (th < 1)
		th = 1;
	if (image_resize_rgb(rgb, w, h, tw, th, &small, err,
	    sizeof(err)) != 0 || image_encode_png(tw, th, small, NULL, png,
	    len, err, sizeof(err)) != 0) {
		log_error("thumbnail of %s: %s", name, err);
		goto out;
	}
	buf_reset(&req->out);
	if (buf_append(&req->out, *png, *len) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0) {
		free(*png);
		*png = NULL;
	}
	free(rgb);
	free(small);
	return rc;
}

/* Makes the thumbnail of src into req's body, and keeps it at dst for
 * next time when the directory lets us (the daemon owns it; a failure
 * to keep it only costs a remake). Returns 0 or -1. */
static int
thumb_make(struct kreq *req, const char *src, const char *dst)
{
	uint8_t *rgb = NULL, *png = NULL;
	size_t len = 0;
	char err[512];
	int w, h;

	if (image_load_rgb(src, &w, &h, &rgb, err, sizeof(err)) != 0) {
		log_error("thumbnail: %s", err);
		return -1;
	}
	if (thumb_png(req, rgb, w, h, src, &png, &len) != 0)
		return -1;
	if (file_write_atomic(dst, png, len, err, sizeof(err)) != 0)
		log_info("thumbnail not kept: %s", err);
	free(png);
	return 0;
}

/* Who may keep a copy of an answer. */
enum cache {
	C_PRIVATE,	/* the owner's browser, a day */
	C_SHARED,	/* anyone, an hour: a share link */
	C_EXPLORE,	/* anyone, but asked again each time (ETag): a
			 * moderator's hiding ends it at once */
	C_NONE,		/* nobody: a moderator's view of any image */
};

static const char *
cache_control(enum kind k, enum cache c)
{
	if (k == K_PREVIEW || c == C_NONE)
		return "no-store";
	if (c == C_EXPLORE)
		return "public, no-cache";
	return c == C_SHARED ? "public, max-age=3600" :
		"private, max-age=86400";
}

/* The size an IHDR says (0 x 0 when png is no PNG). */
static void
png_size(const uint8_t *png, size_t len, int *w, int *h)
{
	*w = *h = 0;
	if (len >= 24 && !memcmp(png + 12, "IHDR", 4)) {
		*w = (png[16] << 24) | (png[17] << 16) | (png[18] << 8) |
			png[19];
		*h = (png[20] << 24) | (png[21] << 16) | (png[22] << 8) |
			png[23];
	}
}

/* Makes the thumbnail of the PNG in req's body into req's body, and
 * stores it at key for next time (a failure to keep it only costs a
 * remake). Returns 0 or -1. */
static int
thumb_make_stored(struct kreq *req, struct storage *st, const char *key)
{
	uint8_t *rgb = NULL, *png = NULL;
	size_t len = 0;
	char err[512];
	int w, h;

	if (image_decode_rgb(req->out.data, req->out.len, key, &w, &h, &rgb,
	    err, sizeof(err)) != 0) {
		log_error("thumbnail: %s", err);
		return -1;
	}
	if (thumb_png(req, rgb, w, h, key, &png, &len) != 0)
		return -1;
	if (storage_put(st, key, png, len, err, sizeof(err)) != 0)
		log_info("thumbnail not kept: %s", err);
	free(png);
	return 0;
}

/* send_png over a store that is not a local directory (S3): the object
 * streamed through this program, or with [storage] serve = presign a
 * redirect to a presigned URL that expires after presign_seconds;
 * either only after the caller's ownership check. Thumbnails are always
 * streamed (made on first request and stored beside the image). The
 * ETag is the image's SHA-256: objects never change once stored. */
static int
send_stored(struct kreq *req, struct storage *st, const char *rel,
	enum kind k, enum cache cache)
{
	const struct kiln_config *cfg = &req->app->cfg;
	char thumb[300], etag[96], err[512], hex[65];
	const char *inm = req->if_none_match;
	size_t n = strlen(rel);
	int w, h, g;

	if (!storage_key_ok(rel) || n < 5 || strcmp(rel + n - 4, ".png") ||
	    snprintf_checked(thumb, sizeof(thumb), "%.*s.thumb.png",
	    (int)(n - 4), rel) != 0)
		return not_found(req);
	if (k != K_THUMB && !strcmp(cfg->storage_serve, "presign")) {
		char *url = storage_presign(st, rel,
			cfg->storage_presign_seconds, time(NULL));

		if (url == NULL)
			return resp_error_json(req, 500, "internal", "the "
				"image's address could not be made", NULL);
		/* The URL is a short-lived credential: nobody keeps it. */
		req->status = 302;
		buf_reset(&req->out);
		resp_header(req, "Location", url);
		resp_header(req, "Cache-Control", "private, no-store");
		free(url);
		return 0;
	}
	buf_reset(&req->out);
	g = storage_get(st, rel, (size_t)INT_MAX, &req->out, err,
		sizeof(err));
	if (g != 0) {
		buf_reset(&req->out);
		if (g == 1)
			return not_found(req);
		log_error("image: %s", err);
		return resp_error_json(req, 500, "internal", "the image could "
			"not be read", NULL);
	}
	s3_sha256_hex(req->out.data, req->out.len, hex);
	snprintf(etag, sizeof(etag), "\"%.32s%s\"", hex, k == K_THUMB ?
		"-t" : "");
	resp_header(req, "ETag", etag);
	resp_header(req, "Cache-Control", cache_control(k, cache));
	req->ctype = "image/png";
	if (*inm != '\0' && strstr(inm, etag) != NULL) {
		req->status = 304;
		buf_reset(&req->out);
		return 0;
	}
	req->status = 200;
	png_size((const uint8_t *)req->out.data, req->out.len, &w, &h);
	if (k != K_THUMB || (w > 0 && h > 0 && w <= THUMB_SIDE &&
	    h <= THUMB_SIDE))
		return 0;
	{
		struct buf t = { 0 };

		g = storage_get(st, thumb, (size_t)INT_MAX, &t, err,
			sizeof(err));
		if (g == 0) {
			buf_free(&req->out);
			req->out = t;
			return 0;
		}
		buf_free(&t);
	}
	if (thumb_make_stored(req, st, thumb) != 0)
		return resp_error_json(req, 500, "internal", "the thumbnail "
			"could not be made", NULL);
	return 0;
}

/* Answers with the PNG at rel (relative to the artifacts directory) or,
 * for K_THUMB, its thumbnail. rel is consumed. */
static int
send_png(struct kreq *req, char *rel, enum kind k, enum cache cache)
{
	char path[4096], thumb[4096], etag[96];
	const char *inm = req->if_none_match;
	int fd = -1, rc = -1, small = 0;
	struct stat st;

	if (rel != NULL && strcmp(req->app->cfg.storage_backend, "local")) {
		struct storage *store = storage_open(&req->app->cfg);

		rc = store == NULL ? resp_error_json(req, 500, "internal",
			"out of memory", NULL) : send_stored(req, store, rel,
			k, cache);
		storage_free(store);
		free(rel);
		return rc;
	}
	if (rel == NULL ||
	    api_artifact_path(req, rel, 0, path, sizeof(path)) != 0 ||
	    api_artifact_path(req, rel, 1, thumb, sizeof(thumb)) != 0) {
		free(rel);
		return not_found(req);
	}
	free(rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return not_found(req);
	}
	/* Results never change once written (atomic rename), so size and
	 * mtime name the bytes; a thumbnail is named by its source. */
	snprintf(etag, sizeof(etag), "\"%llx-%llx-%lx%s\"",
		(unsigned long long)st.st_size,
		(unsigned long long)st.st_mtim.tv_sec,
		(unsigned long)st.st_mtim.tv_nsec, k == K_THUMB ? "-t" : "");
	resp_header(req, "ETag", etag);
	resp_header(req, "Cache-Control", cache_control(k, cache));
	req->ctype = "image/png";
	if (*inm != '\0' && strstr(inm, etag) != NULL) {
		req->status = 304;
		buf_reset(&req->out);
		close(fd);
		return 0;
	}
	if (k == K_THUMB) {
		int w = 0, h = 0;
		uint8_t hdr[24];

		/* The IHDR says the size without decoding the image. */
		if (pread(fd, hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr) &&
		    !memcmp(hdr + 12, "IHDR", 4)) {
			w = (hdr[16] << 24) | (hdr[17] << 16) | (hdr[18] << 8) |
				hdr[19];
			h = (hdr[20] << 24) | (hdr[21] << 16) | (hdr[22] << 8) |
				hdr[23];
		}
		small = w > 0 && h > 0 && w <= THUMB_SIDE && h <= THUMB_SIDE;
		if (!small) {
			int tfd = open(thumb, O_RDONLY | O_CLOEXEC);
			struct stat ts;

			close(fd);
			fd = -1;
			if (tfd >= 0 && fstat(tfd, &ts) == 0 &&
			    S_ISREG(ts.st_mode) &&
			    read_into(req, tfd, (size_t)ts.st_size) == 0) {
				close(tfd);
				req->status = 200;
				return 0;
			}
			if (tfd >= 0)
				close(tfd);
			if (thumb_make(req, path, thumb) != 0)
				return resp_error_json(req, 500, "internal",
					"the thumbnail could not be made",
					NULL);
			req->status = 200;
			return 0;
		}
	}
	if (read_into(req, fd, (size_t)st.st_size) == 0) {
		req->status = 200;
		rc = 0;
	} else {
		log_error("image: cannot read %s", path);
		rc = resp_error_json(req, 500, "internal", "the image could "
			"not be read", NULL);
	}
	close(fd);
	return rc;
}

/* Answers with image idx of job (its PNG stored at rel, consumed) as
 * format f, made from its float master: 409 when it has none. */
static int
send_export(struct kreq *req, unsigned long long job, long idx, char *rel,
    int f, int shared)
{
	struct storage *st = NULL;
	struct buf b = { 0 };
	char *manifest = NULL, err[512], name[96], cd[160];
	enum imgstore_status s;

	if (rel == NULL)
		return not_found(req);
	if (imgstore_job_manifest(req->app->db, job, &manifest) != 0) {
		free(rel);
		return api_db_fail(req, "api image export");
	}
	st = storage_open(&req->app->cfg);
	s = st == NULL ? IMGSTORE_FAIL : imgstore_export(st, rel, f, manifest,
	    &b, err, sizeof(err));
	storage_free(st);
	free(manifest);
	if (s != IMGSTORE_OK) {
		buf_free(&b);
		if (s == IMGSTORE_FAIL)
			log_error("image %s as %s: %s", rel,
			    img_format_name(f), st == NULL ? "out of memory" :
			    err);
		free(rel);
		/* 409, not 404: the image is there (format=png serves
		 * it); it is its state, rendered without a float master,
		 * that rules the format out. */
		return s == IMGSTORE_NO_MASTER ? resp_error_json(req, 409,
		    "no_master", "this image has no high-precision master "
		    "(rendered before kiln kept one, or an upscale or "
		    "inpainting result): only format=png is available",
		    NULL) : resp_error_json(req, 500, "internal", "the "
		    "image could not be converted", NULL);
	}
	free(rel);
	buf_free(&req->out);
	req->out = b;
	req->status = 200;
	req->ctype = img_format_type(f);
	/* A shared link's file is not named by the job's id: the link
	 * shows the recipe and the pictures, not which job they are. */
	if ((shared ? snprintf_checked(name, sizeof(name),
	    "kiln-shared-%ld-%s.%s", idx, img_format_name(f),
	    img_format_ext(f)) : imgstore_file_name(job, (int)idx, f, name,
	    sizeof(name))) == 0 &&
	    snprintf_checked(cd, sizeof(cd), "attachment; filename=\"%s\"",
	    name) == 0)
		resp_header(req, "Content-Disposition", cd);
	resp_header(req, "Cache-Control", "private, max-age=86400");
	return 0;
}

/* The ?format= of a request for an image of kind k into *f (png when
 * absent). Returns 0, or -1 after answering 400 naming the field: an
 * unknown format, or another than png for a thumbnail or preview. */
static int
format_of(struct kreq *req, enum kind k, int *f)
{
	const char *fq = req_query(req, "format");
	json_object *fields;
	char msg[160];

	*f = fq != NULL ? img_format_parse(fq) : IMG_PNG;
	if (*f >= 0 && (*f == IMG_PNG || k == K_FULL))
		return 0;
	fields = json_object_new_object();
	snprintf(msg, sizeof(msg), *f < 0 ? "must be one of %s" :
	    "only a full image (ID-IDX.png) comes in other formats",
	    img_format_names());
	if (fields != NULL)
		json_object_object_add(fields, "format",
		    json_object_new_string(msg));
	resp_error_json(req, 400, "validation_failed", *f < 0 ?
	    "format: unknown format" : "format: not for a thumbnail or "
	    "preview", fields);
	return -1;
}

int
api_image(struct kreq *req)
{
	const char *name = req->captures[0], *dash;
	unsigned long long job = 0;
	long idx = -1;
	enum kind k = K_FULL;
	char *rel = NULL, *end;
	struct db_param p[3];
	int f;

	/* "12-0.png", "12-0.thumb.png" or "12-preview.png" */
	dash = strchr(name, '-');
	if (dash == NULL || name[0] < '1' || name[0] > '9')
		return not_found(req);
	job = strtoull(name, &end, 10);
	if (end != dash || job == 0)
		return not_found(req);
	if (!strcmp(dash + 1, "preview.png"))
		k = K_PREVIEW;
	else if (parse_idx(dash + 1, &idx, &k) != 0)
		return not_found(req);
	if (format_of(req, k, &f) != 0)
		return -1;
	p[0] = DB_INT(job);
	p[1] = DB_INT(req->auth->user_id);
	p[2] = DB_INT(idx);
	if ((k == K_PREVIEW ? db_query_string(req->app->db, "SELECT"
	    " preview_path FROM jobs WHERE id = ? AND " TEAM_JOB_SEES("jobs.")
	    " AND deleted_at IS NULL", p, 2, &rel) :
	    db_query_string(req->app->db, "SELECT i.path FROM job_images i"
	    " JOIN jobs j ON j.id = i.job_id WHERE i.job_id = ?"
	    " AND " TEAM_JOB_SEES("j.") " AND i.idx = ?", p, 3, &rel)) != 0)
		return api_db_fail(req, "api images");
	if (f != IMG_PNG)
		return send_export(req, job, idx, rel, f, 0);
	return send_png(req, rel, k, C_PRIVATE);
}

/* The id of the job shared under the route's token, or 0 (no such link,
 * or it was withdrawn) or -1 after a db error answer. */
static long long
shared_job(struct kreq *req)
{
	const char *tok = req->captures[0];
	struct db_param p[1];
	long id = 0;

	if (!share_token_valid(tok))
		return 0;
	p[0] = DB_STR(tok);
	if (db_ensure(req->app->db) != 0 ||
	    db_query_long(req->app->db, "SELECT id FROM jobs WHERE"
	    " share_token = ? AND deleted_at IS NULL AND status ="
	    " 'succeeded'", p, 1, &id) != 0) {
		api_db_fail(req, "api shared");
		return -1;
	}
	return id;
}

int
api_shared_image(struct kreq *req)
{
	long long job = shared_job(req);
	enum kind k;
	char *rel = NULL;
	long idx;
	struct db_param p[2];
	int f;

	if (job < 0)
		return -1;
	if (job == 0 || parse_idx(req->captures[1], &idx, &k) != 0)
		return not_found(req);
	if (format_of(req, k, &f) != 0)
		return -1;
	p[0] = DB_INT(job);
	p[1] = DB_INT(idx);
	if (db_query_string(req->app->db, "SELECT path FROM job_images WHERE"
	    " job_id = ? AND idx = ?", p, 2, &rel) != 0)
		return api_db_fail(req, "api shared image");
	if (f != IMG_PNG)
		return send_export(req, (unsigned long long)job, idx, rel, f,
		    1);
	return send_png(req, rel, k, C_SHARED);
}

/* "12.png" or "12.thumb.png" (the one spelling) into *id and *k.
 * Returns 0 or -1. */
static int
parse_published(const char *s, unsigned long long *id, enum kind *k)
{
	char again[48];
	const char *dot;

	if (s[0] < '1' || s[0] > '9' || (dot = strchr(s, '.')) == NULL)
		return -1;
	*id = strtoull(s, NULL, 10);
	if (!strcmp(dot, ".png"))
		*k = K_FULL;
	else if (!strcmp(dot, ".thumb.png"))
		*k = K_THUMB;
	else
		return -1;
	snprintf(again, sizeof(again), "%llu%s", *id, dot);
	return *id != 0 && !strcmp(again, s) ? 0 : -1;
}

/* GET /api/v1/explore/{id}.png and {id}.thumb.png: a published image for
 * anyone, while explore.h's rule lets it be seen; checked on every
 * request (no-cache: a copy is asked again, a 304 costs little), so a
 * hidden image is 404 here the moment it is hidden. */
int
api_explore_image(struct kreq *req)
{
	unsigned long long id;
	enum kind k;
	char *rel = NULL;
	struct db_param p[1];

	if (parse_published(req->captures[0], &id, &k) != 0)
		return not_found(req);
	p[0] = DB_INT(id);
	if (db_ensure(req->app->db) != 0 ||
	    db_query_string(req->app->db, "SELECT i.path" EXPLORE_FROM
	    " WHERE p.id = ? AND" EXPLORE_VISIBLE, p, 1, &rel) != 0)
		return api_db_fail(req, "api explore image");
	return send_png(req, rel, k, C_EXPLORE);
}

/* GET /api/v1/moderation/images/{id}.png (and .thumb.png): any published
 * image, hidden or not, for moderators and admins working the reports;
 * never kept by a cache. */
int
api_moderation_image(struct kreq *req)
{
	unsigned long long id;
	enum kind k;
	char *rel = NULL;
	struct db_param p[1];

	if (parse_published(req->captures[0], &id, &k) != 0)
		return not_found(req);
	p[0] = DB_INT(id);
	if (db_query_string(req->app->db, "SELECT i.path FROM"
	    " published_images p JOIN job_images i ON i.job_id = p.job_id"
	    " AND i.idx = p.idx WHERE p.id = ?", p, 1, &rel) != 0)
		return api_db_fail(req, "api moderation image");
	return send_png(req, rel, k, C_NONE);
}

struct shared_read {
	json_object *o;
	const char *token;
	const char *base_url;	/* the image URLs are absolute */
	int oom;
};

/* The shared job's recipe and when it finished. */
struct shared_rec {
	struct job_recipe rc;
	const char *finished_at;
};

static const struct db_field shared_fields[] = {
	JOB_RECIPE_FIELDS(struct shared_rec, rc),
	DB_FIELD_NULL(struct shared_rec, finished_at, DBF_STR, "finished_at"),
};

static int
shared_row(void *rec, void *arg)
{
	const struct shared_rec *r = rec;
	struct shared_read *sr = arg;
	json_object *o;

	o = sr->o = json_object_new_object();
	if (o == NULL)
		return 1;
	job_recipe_json(o, &r->rc);
	json_object_object_add(o, "finished_at",
		json_str_or_null(r->finished_at));
	json_object_object_add(o, "images", json_object_new_array());
	return 1;
}

struct shared_image_rec {
	int idx;
	long long seed;
	int width, height;
};

static const struct db_field shared_image_fields[] = {
	DB_FIELD(struct shared_image_rec, idx, DBF_INT, "idx"),
	DB_FIELD(struct shared_image_rec, seed, DBF_LLONG, "seed"),
	DB_FIELD(struct shared_image_rec, width, DBF_INT, "width"),
	DB_FIELD(struct shared_image_rec, height, DBF_INT, "height"),
};

static int
shared_image_row(void *rec, void *arg)
{
	const struct shared_image_rec *r = rec;
	struct shared_read *sr = arg;
	json_object *a = json_object_object_get(sr->o, "images");
	json_object *o = json_object_new_object(), *url, *thumb;

	url = json_site_url(sr->base_url, "/api/v1/shared/%s/%d.png",
		sr->token, r->idx);
	thumb = json_site_url(sr->base_url, "/api/v1/shared/%s/%d.thumb.png",
		sr->token, r->idx);
	if (o == NULL || a == NULL || url == NULL || thumb == NULL) {
		json_object_put(o);
		json_object_put(url);
		json_object_put(thumb);
		sr->oom = 1;
		return 1;
	}
	json_object_object_add(o, "index", json_object_new_int(r->idx));
	json_object_object_add(o, "seed", json_object_new_int64(r->seed));
	json_object_object_add(o, "width", json_object_new_int(r->width));
	json_object_object_add(o, "height", json_object_new_int(r->height));
	json_object_object_add(o, "url", url);
	json_object_object_add(o, "thumb_url", thumb);
	json_object_array_add(a, o);
	return 0;
}

int
api_shared(struct kreq *req)
{
	struct shared_read sr = { NULL, req->captures[0],
		req->app->cfg.base_url, 0 };
	long long job = shared_job(req);
	struct db_param p[1];
	struct shared_rec r;
	struct shared_image_rec ir;

	if (job < 0)
		return -1;
	if (job == 0)
		return resp_error_json(req, 404, "not_found", "no such shared "
			"job (the link may have been withdrawn)", NULL);
	p[0] = DB_INT(job);
	/* What the owner chose to show: the picture and its recipe, not
	 * who made it nor the job's id. */
	if (db_query_into(req->app->db, "SELECT " JOB_RECIPE_SQL("") ","
	    " DATE_FORMAT(finished_at, '%Y-%m-%dT%H:%i:%sZ') AS finished_at"
	    " FROM jobs WHERE id = ?", p, 1, shared_fields,
	    DB_NFIELDS(shared_fields), &r, shared_row, &sr) < 0 ||
	    (sr.o != NULL && db_query_into(req->app->db, "SELECT idx, seed,"
	    " width, height FROM job_images WHERE job_id = ? ORDER BY idx",
	    p, 1, shared_image_fields, DB_NFIELDS(shared_image_fields), &ir,
	    shared_image_row, &sr) < 0)) {
		json_object_put(sr.o);
		return api_db_fail(req, "api shared");
	}
	if (sr.o == NULL || sr.oom) {
		json_object_put(sr.o);
		return api_send(req, 500, NULL);
	}
	resp_header(req, "Cache-Control", "no-cache");
	return api_send(req, 200, sr.o);
}

/* GET /api/v1/jobs/{id}/inputs/{kind}.png: an image the job was given
 * (init, mask, control), for its owner only, read through the store it
 * was written to; the ETag is its SHA-256. */
int
api_job_input(struct kreq *req)
{
	static const char *const kinds[] = { "init.png", "mask.png",
		"control.png" };
	unsigned long long id = req_id(req, 0);
	const char *name = req->captures[1];
	char kind[16], *key = NULL, *sha = NULL, etag[72], err[512];
	struct db_param p[3];
	struct storage *st;
	size_t k;
	int rc;

	for (k = 0; k < ARRAY_LEN(kinds); k++)
		if (!strcmp(name, kinds[k]))
			break;
	if (id == 0 || k == ARRAY_LEN(kinds))
		return not_found(req);
	snprintf(kind, sizeof(kind), "%.*s", (int)(strlen(name) - 4), name);
	p[0] = DB_INT(id);
	p[1] = DB_INT(req->auth->user_id);
	p[2] = DB_STR(kind);
	if (db_query_string(req->app->db, "SELECT i.path FROM job_inputs i"
	    " JOIN jobs j ON j.id = i.job_id WHERE i.job_id = ? AND "
	    TEAM_JOB_SEES("j.") " AND j.deleted_at IS NULL AND i.kind = ?", p, 3,
	    &key) != 0 || (key != NULL && db_query_string(req->app->db,
	    "SELECT sha256 FROM job_inputs WHERE job_id = ? AND kind = ?",
	    (struct db_param[]){ p[0], p[2] }, 2, &sha) != 0)) {
		free(key);
		return api_db_fail(req, "api job input");
	}
	if (key == NULL || sha == NULL) {
		free(key);
		free(sha);
		return not_found(req);
	}
	snprintf(etag, sizeof(etag), "\"%s\"", sha);
	free(sha);
	resp_header(req, "ETag", etag);
	resp_header(req, "Cache-Control", "private, max-age=86400");
	req->ctype = "image/png";
	if (*req->if_none_match != '\0' && strstr(req->if_none_match,
	    etag) != NULL) {
		free(key);
		req->status = 304;
		buf_reset(&req->out);
		return 0;
	}
	st = storage_open(&req->app->cfg);
	buf_reset(&req->out);
	rc = st == NULL ? -1 : storage_get(st, key, (size_t)INT_MAX,
		&req->out, err, sizeof(err));
	storage_free(st);
	if (rc != 0) {
		log_error("job %llu input %s: %s", id, key, rc > 0 ?
			"missing" : err);
		free(key);
		return rc > 0 ? not_found(req) : resp_error_json(req, 500,
			"internal", "the image could not be read", NULL);
	}
	free(key);
	req->status = 200;
	return 0;
}

/* GET /api/v1/jobs/{id}/images.zip[?format=]: the job's images (and
 * them again in its output_format, or the format asked) and
 * manifest.json (jobzip.h), for its owner; anyone else's job is 404. */
int
api_job_zip(struct kreq *req)
{
	unsigned long long id = req_id(req, 0);
	struct buf b = { 0 };
	enum jobzip_status st;
	const char *fq = req_query(req, "format");
	int f = fq != NULL ? img_format_parse(fq) : -1;
	char cd[96];

	/* ?format= picks the ZIP's format over the job's output_format. */
	if (fq != NULL && f < 0) {
		json_object *fields = json_object_new_object();

		if (fields != NULL)
			json_object_object_add(fields, "format",
			    json_object_new_string("must be one of png, "
			    "png16, tiff16, tiff32, exr, exr16"));
		return resp_error_json(req, 400, "validation_failed",
		    "format: unknown format", fields);
	}
	st = id ? jobs_zip_format(req->app->db, &req->app->cfg,
		req->app->cfg.base_url, id, 0, req->auth->user_id, f,
		JOBZIP_MAX_BYTES, &b) : JOBZIP_NOT_FOUND;
	if (st != JOBZIP_OK)
		buf_free(&b);
	switch (st) {
	case JOBZIP_OK:
		break;
	case JOBZIP_NOT_FOUND:
		return resp_error_json(req, 404, "not_found", "no such job",
			NULL);
	case JOBZIP_TOO_LARGE:
		return resp_error_json(req, 413, "too_large", "the images are "
			"too large for one ZIP; fetch them one by one", NULL);
	case JOBZIP_UNREADABLE:
		return resp_error_json(req, 500, "internal", "an image of "
			"the job could not be read", NULL);
	default:
		return api_db_fail(req, "api zip");
	}
	buf_free(&req->out);
	req->out = b;
	req->status = 200;
	req->ctype = "application/zip";
	snprintf(cd, sizeof(cd), "attachment; filename=\"kiln-job-%llu.zip\"",
		id);
	resp_header(req, "Content-Disposition", cd);
	resp_header(req, "Cache-Control", "private, no-store");
	return 0;
}
