/* stheader.c - a strict reader of .safetensors headers (see stheader.h):
 * u64 little-endian length, a JSON object of tensor entries and an
 * optional __metadata__ object of strings, then the tensor bytes. */
#include "stheader.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The dtypes safetensors defines that take whole bytes, and their
 * sizes; the sub-byte ones (F4, F6_*) no model kiln reads uses. */
static const struct {
	const char *name;
	unsigned bytes;
} dtypes[] = {
	{ "F32", 4 }, { "F16", 2 }, { "BF16", 2 }, { "F64", 8 },
	{ "I64", 8 }, { "U64", 8 }, { "I32", 4 }, { "U32", 4 },
	{ "I16", 2 }, { "U16", 2 }, { "I8", 1 }, { "U8", 1 },
	{ "BOOL", 1 }, { "F8_E4M3", 1 }, { "F8_E5M2", 1 },
	{ "F8_E8M0", 1 }, { "C64", 8 },
};

/* A name for a message: at most 64 bytes, anything unprintable as '?',
 * so a hostile header cannot write control characters into a log. */
static const char *
quoted(char *out, size_t outlen, const char *s)
{
	size_t i, n = strlen(s);

	if (n > 64)
		n = 64;
	if (n >= outlen)
		n = outlen - 1;
	for (i = 0; i < n; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[n] = '\0';
	if (strlen(s) > n && n >= 3)
		memcpy(out + n - 3, "...", 3);
	return out;
}

void
sth_free(struct sth_file *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->n; i++)
		free(f->t[i].name);
	for (i = 0; i < f->nmeta; i++) {
		free(f->meta[i].key);
		free(f->meta[i].value);
	}
	free(f->t);
	free(f->meta);
	free(f);
}

const struct sth_tensor *
sth_find(const struct sth_file *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (!strcmp(f->t[i].name, name))
			return &f->t[i];
	return NULL;
}

const char *
sth_meta(const struct sth_file *f, const char *key)
{
	size_t i;

	for (i = 0; i < f->nmeta; i++)
		if (!strcmp(f->meta[i].key, key))
			return f->meta[i].value;
	return NULL;
}

int
sth_is_float(const struct sth_tensor *t)
{
	return !strcmp(t->dtype, "F32") || !strcmp(t->dtype, "F16") ||
		!strcmp(t->dtype, "BF16");
}

/* A non-negative integer below 2^63. Returns 0, or -1. */
static int
json_u63(json_object *v, uint64_t *out)
{
	if (!json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0)
		return -1;
	/* json-c keeps values past INT64_MAX as unsigned: ask for that. */
	*out = json_object_get_uint64(v);
	return *out > (uint64_t)INT64_MAX ? -1 : 0;
}

static int
parse_meta(struct sth_file *f, json_object *v, const char *name, char *err,
	size_t errlen)
{
	char q[80];

	if (f->meta != NULL)
		return errf(err, errlen, "%s: __metadata__ appears twice",
			name);
	if (!json_object_is_type(v, json_type_object))
		return errf(err, errlen, "%s: __metadata__ is not an object of "
			"strings", name);
	f->meta = xcalloc((size_t)json_object_object_length(v) + 1,
		sizeof(*f->meta));
	json_object_object_foreach(v, key, val) {
		if (!json_object_is_type(val, json_type_string))
			return errf(err, errlen, "%s: __metadata__ value of "
				"'%s' is not a string", name,
				quoted(q, sizeof(q), key));
		f->meta[f->nmeta].key = xstrdup(key);
		f->meta[f->nmeta].value = xstrdup(json_object_get_string(val));
		f->nmeta++;
	}
	return 0;
}

/* One tensor entry: {"dtype", "shape", "data_offsets"} and nothing
 * else, its byte count matching its shape. */
static int
parse_entry(struct sth_tensor *t, const char *key, json_object *v,
	uint64_t data_len, const char *name, char *err, size_t errlen)
{
	json_object *dt, *shape, *offs;
	char q[80];
	uint64_t bytes = 1, d;
	size_t i, nd;
	const char *s;

	quoted(q, sizeof(q), key);
	if (!json_object_is_type(v, json_type_object))
		return errf(err, errlen, "%s: tensor '%s': not an object",
			name, q);
	if (!json_object_object_get_ex(v, "dtype", &dt) ||
	    !json_object_object_get_ex(v, "shape", &shape) ||
	    !json_object_object_get_ex(v, "data_offsets", &offs))
		return errf(err, errlen, "%s: tensor '%s': needs dtype, shape "
			"and data_offsets", name, q);
	if (json_object_object_length(v) != 3)
		return errf(err, errlen, "%s: tensor '%s': has keys other "
			"than dtype, shape and data_offsets", name, q);
	s = json_object_is_type(dt, json_type_string) ?
		json_object_get_string(dt) : "";
	for (i = 0; i < ARRAY_LEN(dtypes); i++)
		if (!strcmp(s, dtypes[i].name))
			break;
	if (i == ARRAY_LEN(dtypes))
		return errf(err, errlen, "%s: tensor '%s': unknown dtype",
			name, q);
	snprintf(t->dtype, sizeof(t->dtype), "%s", dtypes[i].name);
	bytes = dtypes[i].bytes;
	if (!json_object_is_type(shape, json_type_array))
		return errf(err, errlen, "%s: tensor '%s': shape is not an "
			"array", name, q);
	nd = json_object_array_length(shape);
	if (nd > STH_MAX_DIMS)
		return errf(err, errlen, "%s: tensor '%s': %zu dimensions, "
			"more than %d", name, q, nd, STH_MAX_DIMS);
	t->ndim = (int)nd;
	for (i = 0; i < nd; i++) {
		if (json_u63(json_object_array_get_idx(shape, i),
		    &t->shape[i]) != 0)
			return errf(err, errlen, "%s: tensor '%s': shape[%zu] "
				"is not a size", name, q, i);
		if (__builtin_mul_overflow(bytes, t->shape[i], &bytes))
			return errf(err, errlen, "%s: tensor '%s': shape too "
				"large", name, q);
	}
	if (!json_object_is_type(offs, json_type_array) ||
	    json_object_array_length(offs) != 2 ||
	    json_u63(json_object_array_get_idx(offs, 0), &t->begin) != 0 ||
	    json_u63(json_object_array_get_idx(offs, 1), &t->end) != 0 ||
	    t->begin > t->end)
		return errf(err, errlen, "%s: tensor '%s': data_offsets is not "
			"[begin, end]", name, q);
	d = t->end - t->begin;
	if (d != bytes)
		return errf(err, errlen, "%s: tensor '%s': its shape needs "
			"%llu bytes, its data_offsets hold %llu", name, q,
			(unsigned long long)bytes, (unsigned long long)d);
	if (t->end > data_len)
		return errf(err, errlen, "%s: truncated: tensor '%s' ends at "
			"byte %llu of the data, the file holds %llu", name, q,
			(unsigned long long)t->end,
			(unsigned long long)data_len);
	t->name = xstrdup(key);
	return 0;
}

static int
by_offsets(const void *a, const void *b)
{
	const struct sth_tensor *x = *(const struct sth_tensor *const *)a;
	const struct sth_tensor *y = *(const struct sth_tensor *const *)b;

	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	return (x->end > y->end) - (x->end < y->end);
}

/* The tensors must tile the data: no two share a byte, no byte belongs
 * to none, nothing follows the last (safetensors' own rule). */
static int
check_tiling(struct sth_file *f, const char *name, char *err, size_t errlen)
{
	struct sth_tensor **o = xcalloc(f->n + 1, sizeof(*o));
	char q[80];
	uint64_t at = 0;
	size_t i;
	int rc = -1;

	for (i = 0; i < f->n; i++)
		o[i] = &f->t[i];
	qsort(o, f->n, sizeof(*o), by_offsets);
	for (i = 0; i < f->n; i++) {
		if (o[i]->begin != at) {
			errf(err, errlen, "%s: tensor '%s' starts at byte %llu "
				"of the data, not at %llu: the tensors %s",
				name, quoted(q, sizeof(q), o[i]->name),
				(unsigned long long)o[i]->begin,
				(unsigned long long)at, o[i]->begin < at ?
				"overlap" : "leave a gap");
			goto out;
		}
		at = o[i]->end;
	}
	if (at != f->data_len) {
		errf(err, errlen, "%s: %llu bytes follow the last tensor",
			name, (unsigned long long)(f->data_len - at));
		goto out;
	}
	rc = 0;
out:
	free(o);
	return rc;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp((*(const struct sth_tensor *const *)a)->name,
		(*(const struct sth_tensor *const *)b)->name);
}

/* json-c merges repeated keys, but a key cut short by an escaped NUL
 * ("a\u0000b") can still repeat another. */
static int
check_names(struct sth_file *f, const char *name, char *err, size_t errlen)
{
	struct sth_tensor **o = xcalloc(f->n + 1, sizeof(*o));
	char q[80];
	size_t i;
	int rc = 0;

	for (i = 0; i < f->n; i++)
		o[i] = &f->t[i];
	qsort(o, f->n, sizeof(*o), by_name);
	for (i = 1; i < f->n && rc == 0; i++)
		if (!strcmp(o[i - 1]->name, o[i]->name))
			rc = errf(err, errlen, "%s: tensor '%s' appears twice",
				name, quoted(q, sizeof(q), o[i]->name));
	free(o);
	return rc;
}

/* Parses hdr (hlen bytes of JSON) of a file with data_len bytes of
 * tensor data after it. */
static int
parse_header(const char *hdr, size_t hlen, uint64_t data_len,
	const char *name, struct sth_file **out, char *err, size_t errlen)
{
	struct json_tokener *tok = NULL;
	json_object *root = NULL;
	struct sth_file *f = xcalloc(1, sizeof(*f));
	size_t end;
	int rc = -1;

	*out = NULL;
	f->header_len = hlen;
	f->data_len = data_len;
	if (hlen < 2 || hdr[0] != '{') {
		errf(err, errlen, "%s: not a safetensors file: the header is "
			"not a JSON object", name);
		goto out;
	}
	/* A valid header nests three deep (object, entry, shape). */
	tok = json_tokener_new_ex(4);
	if (tok == NULL) {
		errf(err, errlen, "%s: out of memory", name);
		goto out;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
		JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, hdr, (int)hlen);
	if (root == NULL) {
		errf(err, errlen, "%s: the header is not valid JSON (%s)", name,
			json_tokener_error_desc(json_tokener_get_error(tok)));
		goto out;
	}
	/* json-c stops at the object's end (or at a NUL byte, calling it
	 * success): only padding may follow. */
	for (end = json_tokener_get_parse_end(tok); end < hlen; end++)
		if (hdr[end] != ' ' && hdr[end] != '\t' && hdr[end] != '\n' &&
		    hdr[end] != '\r')
			break;
	if (end != hlen || !json_object_is_type(root, json_type_object)) {
		errf(err, errlen, "%s: the header is not one JSON object",
			name);
		goto out;
	}
	f->t = xcalloc((size_t)json_object_object_length(root) + 1,
		sizeof(*f->t));
	json_object_object_foreach(root, key, val) {
		if (!strcmp(key, "__metadata__")) {
			if (parse_meta(f, val, name, err, errlen) != 0)
				goto out;
			continue;
		}
		if (parse_entry(&f->t[f->n], key, val, data_len, name, err,
		    errlen) != 0) {
			free(f->t[f->n].name);
			goto out;
		}
		f->n++;
	}
	if (check_tiling(f, name, err, errlen) != 0 ||
	    check_names(f, name, err, errlen) != 0)
		goto out;
	*out = f;
	f = NULL;
	rc = 0;
out:
	sth_free(f);
	json_object_put(root);
	if (tok != NULL)
		json_tokener_free(tok);
	return rc;
}

static uint64_t
le64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The header length of a file of size bytes that starts with p (8
 * bytes). Returns 0 with *hlen, or -1 with a message. */
static int
header_len(const unsigned char *p, uint64_t size, const char *name,
	uint64_t *hlen, char *err, size_t errlen)
{
	if (size < 8)
		return errf(err, errlen, "%s: truncated: %llu bytes, not even "
			"a header length", name, (unsigned long long)size);
	*hlen = le64(p);
	if (*hlen > STH_HEADER_MAX)
		return errf(err, errlen, "%s: not a safetensors file: a "
			"header of %llu bytes", name,
			(unsigned long long)*hlen);
	if (*hlen > size - 8)
		return errf(err, errlen, "%s: truncated: the header needs "
			"%llu bytes, the file has %llu after the length", name,
			(unsigned long long)*hlen,
			(unsigned long long)(size - 8));
	return 0;
}

int
sth_parse(const void *data, size_t size, const char *name,
	struct sth_file **out, char *err, size_t errlen)
{
	const unsigned char *p = data;
	uint64_t hlen;

	*out = NULL;
	if (header_len(p, size, name, &hlen, err, errlen) != 0)
		return -1;
	return parse_header((const char *)p + 8, (size_t)hlen,
		size - 8 - hlen, name, out, err, errlen);
}

int
sth_read(const char *path, const char *name, struct sth_file **out,
	char *err, size_t errlen)
{
	unsigned char head[8];
	struct stat st;
	uint64_t hlen;
	char *hdr = NULL;
	ssize_t got;
	int fd, rc = -1;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errf(err, errlen, "%s: cannot open: %s", name,
			strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		errf(err, errlen, "%s: not a regular file", name);
		goto out;
	}
	if (st.st_size >= 8 && pread(fd, head, 8, 0) != 8) {
		errf(err, errlen, "%s: read error: %s", name, strerror(errno));
		goto out;
	}
	if (header_len(head, (uint64_t)st.st_size, name, &hlen, err,
	    errlen) != 0)
		goto out;
	/* At most 100 MB, as the file says: checked, not x-allocated. */
	hdr = malloc(hlen + 1);
	if (hdr == NULL) {
		errf(err, errlen, "%s: out of memory for a header of %llu "
			"bytes", name, (unsigned long long)hlen);
		goto out;
	}
	got = pread(fd, hdr, hlen, 8);
	if (got < 0 || (uint64_t)got != hlen) {
		errf(err, errlen, "%s: read error: %s", name, got < 0 ?
			strerror(errno) : "short read");
		goto out;
	}
	rc = parse_header(hdr, (size_t)hlen, (uint64_t)st.st_size - 8 - hlen,
		name, out, err, errlen);
out:
	free(hdr);
	close(fd);
	return rc;
}
