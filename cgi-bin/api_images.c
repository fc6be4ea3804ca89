/* api_images.c - GET /api/v1/images/{job}-{idx}.png and
 * {job}-preview.png: a job's pictures, for its owner only. */
#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "log.h"
#include "util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
not_found(struct kreq *req)
{
	return resp_error_json(req, 404, "not_found", "no such image", NULL);
}

/* Reads path into req's body. Returns 0, or -1 (not there, unreadable). */
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

int
api_image(struct kreq *req)
{
	const char *name = req->captures[0], *inm = req->if_none_match;
	unsigned long long job = 0;
	long idx = -1;
	int preview = 0, fd = -1, rc = -1;
	char *rel = NULL, path[4096], etag[96];
	struct db_param p[3];
	struct stat st;
	char tail[16];

	/* "12-0.png" or "12-preview.png" */
	if (sscanf(name, "%llu-%15[a-z0-9].png", &job, tail) != 2 || job == 0)
		return not_found(req);
	if (!strcmp(tail, "preview"))
		preview = 1;
	else if (parse_long(tail, 0, 1000, &idx) != 0)
		return not_found(req);
	/* One spelling per image: no "-00.png" beside "-0.png". */
	if (preview)
		snprintf(path, sizeof(path), "%llu-preview.png", job);
	else
		snprintf(path, sizeof(path), "%llu-%ld.png", job, idx);
	if (strcmp(path, name) != 0)
		return not_found(req);
	p[0] = DB_INT(job);
	p[1] = DB_INT(req->auth->user_id);
	p[2] = DB_INT(idx);
	if ((preview ? db_query_string(req->app->db, "SELECT preview_path"
	    " FROM jobs WHERE id = ? AND user_id = ?", p, 2, &rel) :
	    db_query_string(req->app->db, "SELECT i.path FROM job_images i"
	    " JOIN jobs j ON j.id = i.job_id WHERE i.job_id = ?"
	    " AND j.user_id = ? AND i.idx = ?", p, 3, &rel)) != 0)
		return api_db_fail(req, "api images");
	if (rel == NULL || strstr(rel, "..") != NULL || rel[0] == '/' ||
	    snprintf_checked(path, sizeof(path), "%s/%s",
	    req->app->cfg.artifacts_dir, rel) != 0) {
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
	 * mtime name the bytes. */
	snprintf(etag, sizeof(etag), "\"%llx-%llx-%lx\"",
		(unsigned long long)st.st_size,
		(unsigned long long)st.st_mtim.tv_sec,
		(unsigned long)st.st_mtim.tv_nsec);
	resp_header(req, "ETag", etag);
	resp_header(req, "Cache-Control", preview ? "no-store" :
		"private, max-age=86400");
	req->ctype = "image/png";
	if (*inm != '\0' && strstr(inm, etag) != NULL) {
		req->status = 304;
		buf_reset(&req->out);
		rc = 0;
	} else if (read_into(req, fd, (size_t)st.st_size) == 0) {
		req->status = 200;
		rc = 0;
	} else {
		log_error("image %s: cannot read %s", name, path);
		rc = resp_error_json(req, 500, "internal", "the image could "
			"not be read", NULL);
	}
	close(fd);
	return rc;
}
