/* safetensors.c - the .safetensors loader's files: mapping, closing,
 * lookups, and the messages every part of the loader writes. The header
 * parser is safetensors_header.c, float conversions
 * safetensors_convert.c, whole models safetensors_model.c. */
#include "safetensors_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

const struct st_dtype_info st_dtypes[ST_DTYPE__MAX] = {
	[ST_F32] = { "F32", 32 },	[ST_F16] = { "F16", 16 },
	[ST_BF16] = { "BF16", 16 },	[ST_F64] = { "F64", 64 },
	[ST_I64] = { "I64", 64 },	[ST_U64] = { "U64", 64 },
	[ST_I32] = { "I32", 32 },	[ST_U32] = { "U32", 32 },
	[ST_I16] = { "I16", 16 },	[ST_U16] = { "U16", 16 },
	[ST_I8] = { "I8", 8 },		[ST_U8] = { "U8", 8 },
	[ST_BOOL] = { "BOOL", 8 },	[ST_F8_E4M3] = { "F8_E4M3", 8 },
	[ST_F8_E5M2] = { "F8_E5M2", 8 }, [ST_F8_E8M0] = { "F8_E8M0", 8 },
	[ST_F6_E2M3] = { "F6_E2M3", 6 }, [ST_F6_E3M2] = { "F6_E3M2", 6 },
	[ST_F4] = { "F4", 4 },		[ST_C64] = { "C64", 64 },
};

/* --- messages ------------------------------------------------------- */

void
st_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	k = vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if (k < 0)
		err[0] = '\0';
	else if ((size_t)k >= errlen && errlen > 3)
		memcpy(err + errlen - 4, "...", 4);
}

const char *
st_qname(char *buf, size_t n, const char *s)
{
	size_t o = 0;
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (o + 8 >= n) {
			memcpy(buf + o, "...", 4);
			return buf;
		}
		if (*p < 0x20 || *p == 0x7f || *p == '\'' || *p == '\\')
			o += (size_t)snprintf(buf + o, n - o, "\\x%02x", *p);
		else
			buf[o++] = (char)*p;
	}
	buf[o] = '\0';
	return buf;
}

const char *
st_shape_text(char *buf, size_t n, const int64_t *shape, int ndim)
{
	size_t o = 0;
	int i;

	o += (size_t)snprintf(buf, n, "[");
	for (i = 0; i < ndim && o < n; i++)
		o += (size_t)snprintf(buf + o, n - o, "%s%lld", i ? ", " : "",
		    (long long)shape[i]);
	if (o < n)
		snprintf(buf + o, n - o, "]");
	return buf;
}

/* --- files ------------------------------------------------------------ */

struct st_file *
st_open_mem(const void *buf, size_t len, const char *name, char *err,
    size_t errlen)
{
	static const unsigned char empty[1];

	return st_parse_file(buf != NULL ? buf : empty, buf != NULL ? len : 0,
	    name, err, errlen);
}

struct st_file *
st_open(const char *path, char *err, size_t errlen)
{
	static const unsigned char empty[1];
	struct st_file *f = NULL;
	struct stat sb;
	void *map = NULL;
	size_t len = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		st_err(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) == -1) {
		st_err(err, errlen, "%s: cannot stat: %s", path,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		st_err(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if ((uint64_t)sb.st_size > SIZE_MAX) {
		st_err(err, errlen, "%s: file too large to map", path);
		goto out;
	}
	len = (size_t)sb.st_size;
	/* mmap refuses length 0; the parser gives the real message. */
	if (len > 0) {
		map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			map = NULL;
			st_err(err, errlen, "%s: cannot map: %s", path,
			    strerror(errno));
			goto out;
		}
	}
	f = st_parse_file(map != NULL ? map : empty, len, path, err, errlen);
	if (f != NULL) {
		f->map = map;
		f->maplen = len;
		map = NULL;
	}
out:
	if (map != NULL)
		munmap(map, len);
	close(fd);
	return f;
}

void
st_close(struct st_file *f)
{
	size_t i;

	if (f == NULL)
		return;
	if (f->t != NULL) {
		/* Entries past n may hold a name when parsing failed. */
		for (i = 0; i <= f->n; i++)
			free((char *)f->t[i].name);
		free(f->t);
	}
	for (i = 0; i < f->nmeta; i++) {
		free(f->meta[i].key);
		free(f->meta[i].value);
	}
	free(f->meta);
	if (f->map != NULL)
		munmap(f->map, f->maplen);
	free(f->name);
	free(f);
}

void
st_tensor_unmap_pages(const struct st_tensor *t)
{
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE), a, b;

	if (t == NULL || t->file == NULL || t->file->map == NULL ||
	    t->nbytes == 0)
		return;
	a = ((uintptr_t)t->data + pg - 1) & ~(pg - 1);
	b = ((uintptr_t)t->data + t->nbytes) & ~(pg - 1);
	/* Advice only: a refusal costs memory, never correctness. */
	if (b > a)
		(void)madvise((void *)a, b - a, MADV_DONTNEED);
}

const char *
st_dtype_name(enum st_dtype dt)
{
	return (unsigned)dt < ST_DTYPE__MAX ? st_dtypes[dt].name : "?";
}

const char *
st_name(const struct st_file *f)
{
	return f->name;
}

size_t
st_count(const struct st_file *f)
{
	return f->n;
}

const struct st_tensor *
st_get(const struct st_file *f, size_t i)
{
	return i < f->n ? &f->t[i] : NULL;
}

const struct st_tensor *
st_find(const struct st_file *f, const char *name)
{
	size_t lo = 0, hi = f->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(name, f->t[mid].name);
		if (c == 0)
			return &f->t[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const char *
st_metadata(const struct st_file *f, const char *key)
{
	size_t i;

	for (i = 0; i < f->nmeta; i++)
		if (strcmp(f->meta[i].key, key) == 0)
			return f->meta[i].value;
	return NULL;
}
