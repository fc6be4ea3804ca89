/* storage.c - the job file store: the local artifacts directory or an
 * S3-compatible bucket behind a small put/get/remove interface
 * (storage.h). */
#include "storage.h"
#include "config.h"
#include "log.h"
#include "s3.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What one kind of store does: the local directory, or S3. */
struct storage_ops {
	int (*put)(struct storage *s, const char *key, const void *data,
		size_t len, char *err, size_t errlen);
	int (*get)(struct storage *s, const char *key, size_t max,
		struct buf *out, char *err, size_t errlen);
	int (*remove)(struct storage *s, const char *key);
	int (*remove_prefix)(struct storage *s, const char *prefix);
	int (*list)(struct storage *s, const char *prefix,
		int (*fn)(void *arg, const char *key, unsigned long long size),
		void *arg, char *err, size_t errlen);
};

struct storage {
	const struct storage_ops *ops;
	char *root;		/* local: the directory */
	struct s3_conf s3;	/* s3: strings borrowed from the config */
};

int
storage_key_ok(const char *key)
{
	size_t n = strlen(key), i, seg = 0;

	if (n < 1 || n > 255)
		return 0;
	for (i = 0; i <= n; i++) {
		char c = key[i];

		if (c == '/' || c == '\0') {
			/* Empty, or a segment that starts with a dot ("."
			 * and ".." included). */
			if (seg == i || key[seg] == '.')
				return 0;
			seg = i + 1;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '-'))
			return 0;
	}
	return 1;
}

/* Writes all of buf to fd. Returns 0 or -1 with errno. */
static int
write_all(int fd, const unsigned char *buf, size_t n)
{
	while (n > 0) {
		ssize_t r = write(fd, buf, n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += r;
		n -= (size_t)r;
	}
	return 0;
}

int
file_write_atomic(const char *path, const void *data, size_t len, char *err,
	size_t errlen)
{
	const char *what = "write";
	char *tmp;
	int fd, saved;

	/* The temporary name sits in the same directory so that rename()
	 * stays within one file system and is atomic. */
	tmp = xasprintf("%s.tmp-XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		errf(err, errlen, "%s: cannot create: %s", path,
			strerror(errno));
		free(tmp);
		return -1;
	}
	/* mkstemp makes 0600; files are meant to be served and copied. */
	if (fchmod(fd, 0644) != 0) {
		what = "chmod";
		goto fail;
	}
	if (write_all(fd, data, len) != 0)
		goto fail;
	if (fsync(fd) != 0) {
		what = "fsync";
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		what = "rename";
		goto fail;
	}
	free(tmp);
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	errf(err, errlen, "%s: %s failed: %s", path, what, strerror(saved));
	return -1;
}

static int
local_path(const struct storage *s, const char *key, char *out, size_t n)
{
	if (!storage_key_ok(key))
		return -1;
	return snprintf_checked(out, n, "%s/%s", s->root, key);
}

static int
local_put(struct storage *s, const char *key, const void *data, size_t len,
	char *err, size_t errlen)
{
	char path[4096], *slash;

	if (local_path(s, key, path, sizeof(path)) != 0)
		return errf(err, errlen, "storage: bad key \"%.80s\"", key);
	slash = strrchr(path, '/');
	*slash = '\0';
	if (mkdir_p(path) != 0)
		return errf(err, errlen, "%s: cannot create: %s", path,
			strerror(errno));
	*slash = '/';
	return file_write_atomic(path, data, len, err, errlen);
}

static int
local_get(struct storage *s, const char *key, size_t max, struct buf *out,
	char *err, size_t errlen)
{
	char path[4096];

	if (local_path(s, key, path, sizeof(path)) != 0)
		return errf(err, errlen, "storage: bad key \"%.80s\"", key);
	switch (buf_read_file(out, path, max)) {
	case BUF_READ_OK:
		return 0;
	case BUF_READ_CANNOT_OPEN:
		if (errno == ENOENT)
			return 1;
		return errf(err, errlen, "%s: %s", path, strerror(errno));
	case BUF_READ_TOO_LARGE:
		return errf(err, errlen, "%s: larger than %zu bytes", path,
			max);
	case BUF_READ_NO_MEMORY:
		return errf(err, errlen, "%s: out of memory", path);
	default:
		return errf(err, errlen, "%s: read failed", path);
	}
}

static int
local_remove(struct storage *s, const char *key)
{
	char path[4096];

	if (local_path(s, key, path, sizeof(path)) != 0)
		return -1;
	return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* Removes dir and everything below it (no symbolic link followed). */
static int
remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];
	struct stat st;
	int rc = 0;

	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (snprintf_checked(path, sizeof(path), "%s/%s", dir,
		    e->d_name) != 0 || lstat(path, &st) != 0) {
			rc = -1;
			continue;
		}
		if (S_ISDIR(st.st_mode) ? remove_tree(path) != 0 :
		    unlink(path) != 0)
			rc = -1;
	}
	closedir(d);
	if (rmdir(dir) != 0 && errno != ENOENT)
		rc = -1;
	return rc;
}

static int
local_remove_prefix(struct storage *s, const char *prefix)
{
	char path[4096];

	if (local_path(s, prefix, path, sizeof(path)) != 0)
		return -1;
	return remove_tree(path);
}

/* Walks dir (key so far in rel) calling fn for each regular file whose
 * key storage_key_ok takes. */
static int
list_tree(const char *dir, const char *rel,
	int (*fn)(void *arg, const char *key, unsigned long long size),
	void *arg, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096], key[512];
	struct stat st;
	int rc = 0;

	if (d == NULL)
		return errno == ENOENT ? 0 : errf(err, errlen, "%s: %s", dir,
			strerror(errno));
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (snprintf_checked(path, sizeof(path), "%s/%s", dir,
		    e->d_name) != 0 || snprintf_checked(key, sizeof(key),
		    "%s%s%s", rel, *rel ? "/" : "", e->d_name) != 0 ||
		    lstat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode))
			rc = list_tree(path, key, fn, arg, err, errlen);
		else if (S_ISREG(st.st_mode) && storage_key_ok(key))
			rc = fn(arg, key, (unsigned long long)st.st_size);
	}
	closedir(d);
	return rc;
}

static int
local_list(struct storage *s, const char *prefix,
	int (*fn)(void *arg, const char *key, unsigned long long size),
	void *arg, char *err, size_t errlen)
{
	char path[4096];

	if (*prefix == '\0')
		return list_tree(s->root, "", fn, arg, err, errlen);
	if (local_path(s, prefix, path, sizeof(path)) != 0)
		return errf(err, errlen, "storage: bad prefix \"%.80s\"",
			prefix);
	return list_tree(path, prefix, fn, arg, err, errlen);
}

static const struct storage_ops local_ops = {
	local_put, local_get, local_remove, local_remove_prefix, local_list,
};

/* The S3 store: keys as they are, under [storage] s3_prefix. */
static int
s3s_put(struct storage *s, const char *key, const void *data, size_t len,
	char *err, size_t errlen)
{
	size_t n = strlen(key);

	if (!storage_key_ok(key))
		return errf(err, errlen, "storage: bad key \"%.80s\"", key);
	return s3_put(&s->s3, key, data, len, n > 4 && !strcmp(key + n - 4,
		".png") ? "image/png" : NULL, err, errlen);
}

static int
s3s_get(struct storage *s, const char *key, size_t max, struct buf *out,
	char *err, size_t errlen)
{
	if (!storage_key_ok(key))
		return errf(err, errlen, "storage: bad key \"%.80s\"", key);
	return s3_get(&s->s3, key, max, out, err, errlen);
}

static int
s3s_remove(struct storage *s, const char *key)
{
	char err[512];

	if (!storage_key_ok(key))
		return -1;
	if (s3_delete(&s->s3, key, err, sizeof(err)) != 0) {
		log_warn("storage: %s", err);
		return -1;
	}
	return 0;
}

static int
s3s_list(struct storage *s, const char *prefix,
	int (*fn)(void *arg, const char *key, unsigned long long size),
	void *arg, char *err, size_t errlen)
{
	char *p;
	int rc;

	if (*prefix == '\0')
		return s3_list(&s->s3, "", fn, arg, err, errlen);
	if (!storage_key_ok(prefix))
		return errf(err, errlen, "storage: bad prefix \"%.80s\"",
			prefix);
	p = xasprintf("%s/", prefix);
	rc = s3_list(&s->s3, p, fn, arg, err, errlen);
	free(p);
	return rc;
}

/* The keys one listing found, to delete once it is done: deleting while
 * paging would move the continuation under the server's feet. */
struct keys {
	char **k;
	size_t n, cap;
};

static int
collect(void *arg, const char *key, unsigned long long size)
{
	struct keys *ks = arg;

	(void)size;
	if (ks->n == ks->cap) {
		ks->cap = ks->cap ? ks->cap * 2 : 16;
		ks->k = xrealloc(ks->k, ks->cap * sizeof(*ks->k));
	}
	ks->k[ks->n++] = xstrdup(key);
	return 0;
}

static int
s3s_remove_prefix(struct storage *s, const char *prefix)
{
	struct keys ks = { 0 };
	char err[512];
	size_t i;
	int rc;

	rc = s3s_list(s, prefix, collect, &ks, err, sizeof(err));
	if (rc != 0)
		log_warn("storage: %s", err);
	for (i = 0; i < ks.n; i++) {
		if (s3s_remove(s, ks.k[i]) != 0)
			rc = -1;
		free(ks.k[i]);
	}
	free(ks.k);
	return rc == 0 ? 0 : -1;
}

static const struct storage_ops s3_ops = {
	s3s_put, s3s_get, s3s_remove, s3s_remove_prefix, s3s_list,
};

struct storage *
storage_local_new(const char *root)
{
	struct storage *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->ops = &local_ops;
	s->root = strdup(root);
	if (s->root == NULL) {
		free(s);
		return NULL;
	}
	return s;
}

struct storage *
storage_open(const struct kiln_config *cfg)
{
	struct storage *s;

	if (strcmp(cfg->storage_backend, "s3") != 0)
		return storage_local_new(cfg->artifacts_dir);
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->ops = &s3_ops;
	s->s3.endpoint = cfg->s3_endpoint;
	s->s3.bucket = cfg->s3_bucket;
	s->s3.region = cfg->s3_region;
	s->s3.access_key = cfg->s3_access_key;
	s->s3.secret_key = cfg->s3_secret_key;
	s->s3.prefix = cfg->s3_prefix;
	s->s3.virtual_host = !strcmp(cfg->s3_addressing, "virtual");
	s->s3.timeout = cfg->s3_timeout;
	return s;
}

const char *
storage_local_root(const struct storage *s)
{
	return s->ops == &local_ops ? s->root : NULL;
}

char *
storage_presign(struct storage *s, const char *key, long seconds, time_t now)
{
	if (s->ops != &s3_ops || !storage_key_ok(key))
		return NULL;
	return s3_presign(&s->s3, key, seconds, now);
}

int
storage_list(struct storage *s, const char *prefix,
	int (*fn)(void *arg, const char *key, unsigned long long size),
	void *arg, char *err, size_t errlen)
{
	return s->ops->list(s, prefix, fn, arg, err, errlen);
}

void
storage_free(struct storage *s)
{
	if (s == NULL)
		return;
	free(s->root);
	free(s);
}

int
storage_put(struct storage *s, const char *key, const void *data, size_t len,
	char *err, size_t errlen)
{
	return s->ops->put(s, key, data, len, err, errlen);
}

int
storage_get(struct storage *s, const char *key, size_t max, struct buf *out,
	char *err, size_t errlen)
{
	return s->ops->get(s, key, max, out, err, errlen);
}

int
storage_remove(struct storage *s, const char *key)
{
	return s->ops->remove(s, key);
}

int
storage_remove_prefix(struct storage *s, const char *prefix)
{
	return s->ops->remove_prefix(s, prefix);
}
