/* safetensors.c - the .safetensors loader: mmap, a json-c parse of the
 * header, a check of every number in it, float conversions, and the model
 * parts of single-file checkpoints and diffusers folders. */
#include "safetensors.h"
#include "half.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct meta_kv {
	char *key;
	char *value;
};

struct st_file {
	char *name;
	void *map;			/* our mapping, or NULL (borrowed) */
	size_t maplen;
	const unsigned char *data;	/* the byte after the header */
	size_t datalen;
	struct st_tensor *t;		/* sorted by name */
	size_t n;
	struct meta_kv *meta;
	size_t nmeta;
};

static const struct {
	const char *name;
	unsigned bits;			/* per element */
} dtypes[ST_DTYPE__MAX] = {
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

/* The longest config.json we read: real ones are about 1 KB. */
#define CONFIG_MAX	(1u << 20)

/* --- messages ------------------------------------------------------- */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Formats a message into err; one that does not fit ends in "..." so a
 * reader knows it was cut. */
static void
seterr(char *err, size_t errlen, const char *fmt, ...)
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

/* Copies a name from the file into buf for a message: control bytes and
 * quotes escaped (a name must not forge log lines), long names cut with
 * "...". Returns buf. */
static const char *
qname(char *buf, size_t n, const char *s)
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

#define QNAME_MAX 256

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

#define SHAPE_MAX (ST_MAX_DIMS * 24 + 4)

/* --- header parsing --------------------------------------------------- */

/* What the parse of one entry keeps beyond the public tensor. */
struct entry {
	uint64_t begin, end;
	size_t idx;			/* into st_file.t */
};

/* Reads a non-negative integer that fits int64 from a JSON value. Returns
 * 0, or -1 with what is wrong in *why. */
static int
json_u63(struct json_object *v, uint64_t *out, const char **why)
{
	int64_t i;
	uint64_t u;

	if (!json_object_is_type(v, json_type_int)) {
		*why = "is not an integer";
		return -1;
	}
	i = json_object_get_int64(v);
	if (i < 0) {
		*why = "is negative";
		return -1;
	}
	/* json-c saturates int64 at INT64_MAX for values it holds as uint64
	 * (and saturates those at UINT64_MAX): ask for the unsigned view. */
	u = json_object_get_uint64(v);
	if (u > (uint64_t)INT64_MAX) {
		*why = "is too large";
		return -1;
	}
	*out = u;
	return 0;
}

static const char *
json_type_word(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null: return "null";
	case json_type_boolean: return "a boolean";
	case json_type_double: return "a fractional number";
	case json_type_int: return "an integer";
	case json_type_object: return "an object";
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	}
	return "something else";
}

static int
parse_metadata(struct st_file *f, struct json_object *v, char *err,
    size_t errlen)
{
	char q[QNAME_MAX];
	size_t n = 0;

	if (!json_object_is_type(v, json_type_object)) {
		seterr(err, errlen, "%s: __metadata__ is %s, not an object "
		    "of strings", f->name, json_type_word(v));
		return -1;
	}
	f->meta = calloc((size_t)json_object_object_length(v) + 1,
	    sizeof(*f->meta));
	if (f->meta == NULL) {
		seterr(err, errlen, "%s: out of memory", f->name);
		return -1;
	}
	json_object_object_foreach(v, key, val) {
		if (!json_object_is_type(val, json_type_string)) {
			seterr(err, errlen, "%s: __metadata__ value of '%s' "
			    "is %s, not a string", f->name,
			    qname(q, sizeof(q), key), json_type_word(val));
			return -1;
		}
		f->meta[n].key = strdup(key);
		f->meta[n].value = strdup(json_object_get_string(val));
		f->nmeta = ++n;
		if (f->meta[n - 1].key == NULL ||
		    f->meta[n - 1].value == NULL) {
			seterr(err, errlen, "%s: out of memory", f->name);
			return -1;
		}
	}
	return 0;
}

static int
parse_dtype(struct json_object *v, enum st_dtype *out)
{
	const char *s = json_object_get_string(v);
	size_t len = (size_t)json_object_get_string_len(v);
	int i;

	for (i = 0; i < ST_DTYPE__MAX; i++)
		if (strlen(dtypes[i].name) == len &&
		    memcmp(dtypes[i].name, s, len) == 0) {
			*out = (enum st_dtype)i;
			return 0;
		}
	return -1;
}

/* Parses and checks one tensor entry into t and e. */
static int
parse_entry(struct st_file *f, const char *key, struct json_object *v,
    struct st_tensor *t, struct entry *e, char *err, size_t errlen)
{
	struct json_object *dt, *shape, *offs, *x;
	char q[QNAME_MAX], sh[SHAPE_MAX], dq[64];
	const char *why;
	uint64_t d, bits, nelems = 1;
	size_t i, nd;

	qname(q, sizeof(q), key);
	if (!json_object_is_type(v, json_type_object)) {
		seterr(err, errlen, "%s: tensor '%s': entry is %s, not an "
		    "object", f->name, q, json_type_word(v));
		return -1;
	}
	why = !json_object_object_get_ex(v, "dtype", &dt) ? "dtype"
	    : !json_object_object_get_ex(v, "shape", &shape) ? "shape"
	    : !json_object_object_get_ex(v, "data_offsets", &offs)
	    ? "data_offsets" : NULL;
	if (why != NULL) {
		seterr(err, errlen, "%s: tensor '%s': entry has no %s",
		    f->name, q, why);
		return -1;
	}
	if (!json_object_is_type(dt, json_type_string)) {
		seterr(err, errlen, "%s: tensor '%s': dtype is %s, not a "
		    "string", f->name, q, json_type_word(dt));
		return -1;
	}
	if (parse_dtype(dt, &t->dtype) == -1) {
		seterr(err, errlen, "%s: tensor '%s': unknown dtype '%s'",
		    f->name, q, qname(dq, sizeof(dq),
		    json_object_get_string(dt)));
		return -1;
	}

	if (!json_object_is_type(shape, json_type_array)) {
		seterr(err, errlen, "%s: tensor '%s': shape is %s, not an "
		    "array", f->name, q, json_type_word(shape));
		return -1;
	}
	nd = json_object_array_length(shape);
	if (nd > ST_MAX_DIMS) {
		seterr(err, errlen, "%s: tensor '%s': shape has %zu "
		    "dimensions; at most %d are supported", f->name, q, nd,
		    ST_MAX_DIMS);
		return -1;
	}
	t->ndim = (int)nd;
	for (i = 0; i < nd; i++) {
		x = json_object_array_get_idx(shape, i);
		if (json_u63(x, &d, &why) == -1) {
			seterr(err, errlen, "%s: tensor '%s': shape[%zu] %s "
			    "(%s)", f->name, q, i, why,
			    json_object_to_json_string(x));
			return -1;
		}
		t->shape[i] = (int64_t)d;
	}
	st_shape_text(sh, sizeof(sh), t->shape, t->ndim);
	for (i = 0; i < nd; i++)
		if (__builtin_mul_overflow(nelems, (uint64_t)t->shape[i],
		    &nelems)) {
			seterr(err, errlen, "%s: tensor '%s': shape %s has "
			    "too many elements", f->name, q, sh);
			return -1;
		}
#if SIZE_MAX < UINT64_MAX
	if (nelems > SIZE_MAX) {
		seterr(err, errlen, "%s: tensor '%s': shape %s has too many "
		    "elements", f->name, q, sh);
		return -1;
	}
#endif
	t->nelems = (size_t)nelems;
	bits = dtypes[t->dtype].bits;
	if (__builtin_mul_overflow((uint64_t)nelems, bits, &d)) {
		seterr(err, errlen, "%s: tensor '%s': shape %s of %s is too "
		    "large", f->name, q, sh, dtypes[t->dtype].name);
		return -1;
	}
	if (d % 8 != 0) {
		seterr(err, errlen, "%s: tensor '%s': shape %s of %s is not "
		    "a whole number of bytes", f->name, q, sh,
		    dtypes[t->dtype].name);
		return -1;
	}
	d /= 8;

	if (!json_object_is_type(offs, json_type_array) ||
	    json_object_array_length(offs) != 2) {
		seterr(err, errlen, "%s: tensor '%s': data_offsets is not an "
		    "array [begin, end]", f->name, q);
		return -1;
	}
	for (i = 0; i < 2; i++) {
		x = json_object_array_get_idx(offs, i);
		if (json_u63(x, i ? &e->end : &e->begin, &why) == -1) {
			seterr(err, errlen, "%s: tensor '%s': data_offsets[%zu] "
			    "%s (%s)", f->name, q, i, why,
			    json_object_to_json_string(x));
			return -1;
		}
	}
	if (e->begin > e->end) {
		seterr(err, errlen, "%s: tensor '%s': data_offsets [%llu, "
		    "%llu] run backwards", f->name, q,
		    (unsigned long long)e->begin, (unsigned long long)e->end);
		return -1;
	}
	if (e->end > f->datalen) {
		seterr(err, errlen, "%s: tensor '%s': data_offsets [%llu, "
		    "%llu] exceed the data size (%zu bytes): the file is "
		    "truncated or corrupt", f->name, q,
		    (unsigned long long)e->begin, (unsigned long long)e->end,
		    f->datalen);
		return -1;
	}
	if (e->end - e->begin != d) {
		seterr(err, errlen, "%s: tensor '%s': shape %s of %s needs "
		    "%llu bytes but data_offsets [%llu, %llu] hold %llu",
		    f->name, q, sh, dtypes[t->dtype].name,
		    (unsigned long long)d, (unsigned long long)e->begin,
		    (unsigned long long)e->end,
		    (unsigned long long)(e->end - e->begin));
		return -1;
	}
	t->nbytes = (size_t)d;
	t->data = f->data + e->begin;
	t->file = f;
	t->name = strdup(key);
	if (t->name == NULL) {
		seterr(err, errlen, "%s: out of memory", f->name);
		return -1;
	}
	return 0;
}

static int
cmp_entry_offsets(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return 0;
}

static int
cmp_tensor_names(const void *a, const void *b)
{
	const struct st_tensor *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* The tensors must tile the data area: no overlap (two names for one
 * byte), no hole and no trailing bytes (room for a second, hidden file). */
static int
check_tiling(struct st_file *f, struct entry *e, size_t n, char *err,
    size_t errlen)
{
	char q1[QNAME_MAX], q2[QNAME_MAX];
	uint64_t at = 0;
	size_t i;

	qsort(e, n, sizeof(*e), cmp_entry_offsets);
	for (i = 0; i < n; i++) {
		if (e[i].begin < at) {
			seterr(err, errlen, "%s: tensors '%s' and '%s' overlap "
			    "(data_offsets [%llu, %llu] and [%llu, %llu])",
			    f->name, qname(q1, sizeof(q1), f->t[e[i - 1].idx].name),
			    qname(q2, sizeof(q2), f->t[e[i].idx].name),
			    (unsigned long long)e[i - 1].begin,
			    (unsigned long long)e[i - 1].end,
			    (unsigned long long)e[i].begin,
			    (unsigned long long)e[i].end);
			return -1;
		}
		if (e[i].begin > at) {
			seterr(err, errlen, "%s: data bytes [%llu, %llu) "
			    "belong to no tensor (before '%s')", f->name,
			    (unsigned long long)at,
			    (unsigned long long)e[i].begin,
			    qname(q1, sizeof(q1), f->t[e[i].idx].name));
			return -1;
		}
		at = e[i].end;
	}
	if (at != f->datalen) {
		seterr(err, errlen, "%s: %llu trailing bytes after the last "
		    "tensor: the data area holds %zu bytes but the tensors "
		    "end at %llu", f->name,
		    (unsigned long long)(f->datalen - at), f->datalen,
		    (unsigned long long)at);
		return -1;
	}
	return 0;
}

static int
parse_header(struct st_file *f, const char *hdr, size_t hlen, char *err,
    size_t errlen)
{
	struct json_tokener *tok = NULL;
	struct json_object *root = NULL;
	struct entry *e = NULL;
	enum json_tokener_error jerr;
	size_t n, i = 0;
	int rc = -1;

	if (hlen == 0) {
		seterr(err, errlen, "%s: header length is 0: expected a JSON "
		    "object", f->name);
		goto out;
	}
	/* Depth 8: a valid header nests 3 deep. */
	tok = json_tokener_new_ex(8);
	if (tok == NULL) {
		seterr(err, errlen, "%s: out of memory", f->name);
		goto out;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, hdr, (int)hlen);
	jerr = json_tokener_get_error(tok);
	if (root == NULL) {
		if (jerr == json_tokener_continue)
			seterr(err, errlen, "%s: header is not valid JSON: it "
			    "ends early", f->name);
		else
			seterr(err, errlen, "%s: header is not valid JSON: %s "
			    "at byte %zu", f->name,
			    json_tokener_error_desc(jerr),
			    json_tokener_get_parse_end(tok));
		goto out;
	}
	/* json-c stops at a NUL byte and calls that success. */
	if (json_tokener_get_parse_end(tok) != hlen) {
		seterr(err, errlen, "%s: header is not valid JSON: unexpected "
		    "byte 0x%02x at byte %zu", f->name,
		    (unsigned char)hdr[json_tokener_get_parse_end(tok)],
		    json_tokener_get_parse_end(tok));
		goto out;
	}
	if (!json_object_is_type(root, json_type_object)) {
		seterr(err, errlen, "%s: header is %s, not a JSON object",
		    f->name, json_type_word(root));
		goto out;
	}

	n = (size_t)json_object_object_length(root);
	f->t = calloc(n + 1, sizeof(*f->t));
	e = calloc(n + 1, sizeof(*e));
	if (f->t == NULL || e == NULL) {
		seterr(err, errlen, "%s: out of memory", f->name);
		goto out;
	}
	json_object_object_foreach(root, key, val) {
		if (strcmp(key, "__metadata__") == 0) {
			if (f->meta != NULL) {
				/* json-c merges repeats; a NUL-cut key can
				 * still land here twice. */
				seterr(err, errlen, "%s: __metadata__ appears "
				    "twice", f->name);
				goto out;
			}
			if (parse_metadata(f, val, err, errlen) == -1)
				goto out;
			continue;
		}
		e[i].idx = i;
		if (parse_entry(f, key, val, &f->t[i], &e[i], err,
		    errlen) == -1)
			goto out;
		f->n = ++i;
	}
	if (check_tiling(f, e, f->n, err, errlen) == -1)
		goto out;
	qsort(f->t, f->n, sizeof(*f->t), cmp_tensor_names);
	for (i = 1; i < f->n; i++)
		if (strcmp(f->t[i - 1].name, f->t[i].name) == 0) {
			char q[QNAME_MAX];

			seterr(err, errlen, "%s: tensor '%s' appears twice",
			    f->name, qname(q, sizeof(q), f->t[i].name));
			goto out;
		}
	rc = 0;
out:
	free(e);
	json_object_put(root);
	if (tok != NULL)
		json_tokener_free(tok);
	return rc;
}

/* Parses a whole file held in buf; the result borrows buf. */
static struct st_file *
parse_file(const unsigned char *buf, size_t len, const char *name,
    char *err, size_t errlen)
{
	struct st_file *f;
	uint64_t hlen = 0;
	int i;

	f = calloc(1, sizeof(*f));
	if (f == NULL || (f->name = strdup(name)) == NULL) {
		seterr(err, errlen, "%s: out of memory", name);
		goto fail;
	}
	if (len < 8) {
		seterr(err, errlen, "%s: file is too small (%zu bytes) to be "
		    "safetensors: it must start with an 8-byte header length",
		    name, len);
		goto fail;
	}
	for (i = 7; i >= 0; i--)
		hlen = hlen << 8 | buf[i];
	if (hlen > ST_MAX_HEADER) {
		seterr(err, errlen, "%s: header too large: %llu bytes (the "
		    "limit is %u)", name, (unsigned long long)hlen,
		    ST_MAX_HEADER);
		goto fail;
	}
	if (hlen > len - 8) {
		seterr(err, errlen, "%s: file is truncated: header says %llu "
		    "bytes but only %zu follow", name,
		    (unsigned long long)hlen, len - 8);
		goto fail;
	}
	f->data = buf + 8 + hlen;
	f->datalen = len - 8 - (size_t)hlen;
	if (parse_header(f, (const char *)buf + 8, (size_t)hlen, err,
	    errlen) == -1)
		goto fail;
	return f;
fail:
	st_close(f);
	return NULL;
}

struct st_file *
st_open_mem(const void *buf, size_t len, const char *name, char *err,
    size_t errlen)
{
	static const unsigned char empty[1];

	return parse_file(buf != NULL ? buf : empty, buf != NULL ? len : 0,
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
		seterr(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) == -1) {
		seterr(err, errlen, "%s: cannot stat: %s", path,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		seterr(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if ((uint64_t)sb.st_size > SIZE_MAX) {
		seterr(err, errlen, "%s: file too large to map", path);
		goto out;
	}
	len = (size_t)sb.st_size;
	/* mmap refuses length 0; the parser gives the real message. */
	if (len > 0) {
		map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			map = NULL;
			seterr(err, errlen, "%s: cannot map: %s", path,
			    strerror(errno));
			goto out;
		}
	}
	f = parse_file(map != NULL ? map : empty, len, path, err, errlen);
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

const char *
st_dtype_name(enum st_dtype dt)
{
	return (unsigned)dt < ST_DTYPE__MAX ? dtypes[dt].name : "?";
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

/* --- conversions -------------------------------------------------------- */

static int
check_convert(const struct st_tensor *t, size_t n, const char *to,
    char *err, size_t errlen)
{
	char q[QNAME_MAX];

	if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16) {
		seterr(err, errlen, "%s: tensor '%s': dtype %s cannot be "
		    "loaded as floating point (F32, F16 or BF16 needed)",
		    t->file->name, qname(q, sizeof(q), t->name),
		    dtypes[t->dtype].name);
		return -1;
	}
	if (n != t->nelems) {
		seterr(err, errlen, "%s: tensor '%s': has %zu values but the "
		    "%s destination holds %zu", t->file->name,
		    qname(q, sizeof(q), t->name), t->nelems, to, n);
		return -1;
	}
	return 0;
}

int
st_to_f32(const struct st_tensor *t, float *dst, size_t n, char *err,
    size_t errlen)
{
	const unsigned char *p = t->data;
	uint16_t h;
	size_t i;

	if (check_convert(t, n, "F32", err, errlen) == -1)
		return -1;
	switch (t->dtype) {
	case ST_F32:
		if (n > 0)
			memcpy(dst, p, n * sizeof(float));
		break;
	case ST_F16:
		for (i = 0; i < n; i++) {
			memcpy(&h, p + 2 * i, 2);
			dst[i] = half_to_float(h);
		}
		break;
	default:		/* ST_BF16 */
		for (i = 0; i < n; i++) {
			memcpy(&h, p + 2 * i, 2);
			dst[i] = bf16_to_float(h);
		}
		break;
	}
	return 0;
}

int
st_to_f16(const struct st_tensor *t, uint16_t *dst, size_t n, char *err,
    size_t errlen)
{
	const unsigned char *p = t->data;
	char q[QNAME_MAX];
	uint16_t h;
	float v;
	size_t i;

	if (check_convert(t, n, "F16", err, errlen) == -1)
		return -1;
	if (t->dtype == ST_F16) {
		if (n > 0)
			memcpy(dst, p, n * sizeof(uint16_t));
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (t->dtype == ST_F32) {
			memcpy(&v, p + 4 * i, 4);
		} else {
			memcpy(&h, p + 2 * i, 2);
			v = bf16_to_float(h);
		}
		dst[i] = float_to_half(v);
		/* A finite weight turned infinite would poison every sum
		 * it enters: refuse rather than round silently. */
		if ((dst[i] & 0x7fff) == 0x7c00 && isfinite(v)) {
			seterr(err, errlen, "%s: tensor '%s': value %g at index "
			    "%zu is too large for float16 (the largest is "
			    "65504)", t->file->name,
			    qname(q, sizeof(q), t->name), (double)v, i);
			return -1;
		}
	}
	return 0;
}

/* --- models ------------------------------------------------------------- */

struct part_entry {
	const char *name;		/* inside the tensor's name */
	const struct st_tensor *t;
};

struct part {
	const struct st_file *file;	/* NULL: the part is missing */
	struct part_entry *e;
	size_t n;
	char *config;
};

struct st_model {
	enum st_layout layout;
	enum st_text_flavour flavour;
	struct st_file *files[ST_PART__MAX];	/* owned */
	struct part parts[ST_PART__MAX];
};

static const char *const part_names[ST_PART__MAX] = {
	[ST_PART_TEXT] = "text", [ST_PART_UNET] = "unet", [ST_PART_VAE] = "vae",
};

/* Subfolder names of a diffusers pipeline and their weight files, best
 * first. */
static const struct {
	const char *dir;
	const char *files[2];
} diffusers_parts[ST_PART__MAX] = {
	[ST_PART_TEXT] = { "text_encoder",
	    { "model.safetensors", "model.fp16.safetensors" } },
	[ST_PART_UNET] = { "unet", { "diffusion_pytorch_model.safetensors",
	    "diffusion_pytorch_model.fp16.safetensors" } },
	[ST_PART_VAE] = { "vae", { "diffusion_pytorch_model.safetensors",
	    "diffusion_pytorch_model.fp16.safetensors" } },
};

/* Where each part lives in a single-file (CompVis/LDM) checkpoint. */
static const struct {
	enum st_part part;
	const char *prefix;
	enum st_text_flavour flavour;
} ldm_prefixes[] = {
	{ ST_PART_TEXT, "cond_stage_model.transformer.", ST_TEXT_HF_CLIP },
	{ ST_PART_TEXT, "cond_stage_model.model.", ST_TEXT_OPENCLIP },
	{ ST_PART_UNET, "model.diffusion_model.", ST_TEXT_NONE },
	{ ST_PART_VAE, "first_stage_model.", ST_TEXT_NONE },
};

#define N_LDM_PREFIXES (sizeof(ldm_prefixes) / sizeof(ldm_prefixes[0]))

const char *
st_part_name(enum st_part part)
{
	return (unsigned)part < ST_PART__MAX ? part_names[part] : "?";
}

static int
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Returns a malloc'ed "a/b", or NULL when memory runs out. */
static char *
path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), n;
	char *s;

	if (__builtin_add_overflow(la, lb, &n) ||
	    __builtin_add_overflow(n, 2, &n))
		return NULL;
	s = malloc(n);
	if (s == NULL)
		return NULL;
	memcpy(s, a, la);
	s[la] = '/';
	memcpy(s + la + 1, b, lb + 1);
	return s;
}

static int
is_dir(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int
is_file(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Reads a small text file whole. Returns 0 with *out (malloc'ed,
 * NUL-terminated; NULL when the file does not exist), or -1 with a
 * message. */
static int
read_text(const char *path, char **out, char *err, size_t errlen)
{
	struct stat sb;
	char *s = NULL;
	size_t got = 0;
	ssize_t k;
	int fd, rc = -1;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT)
			return 0;
		seterr(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		seterr(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if ((uint64_t)sb.st_size > CONFIG_MAX) {
		seterr(err, errlen, "%s: larger than %u bytes", path,
		    CONFIG_MAX);
		goto out;
	}
	s = malloc((size_t)sb.st_size + 1);
	if (s == NULL) {
		seterr(err, errlen, "%s: out of memory", path);
		goto out;
	}
	while (got < (size_t)sb.st_size) {
		k = read(fd, s + got, (size_t)sb.st_size - got);
		if (k == -1 && errno == EINTR)
			continue;
		if (k <= 0) {
			seterr(err, errlen, "%s: cannot read: %s", path,
			    k == 0 ? "file shrank" : strerror(errno));
			goto out;
		}
		got += (size_t)k;
	}
	s[got] = '\0';
	*out = s;
	s = NULL;
	rc = 0;
out:
	free(s);
	close(fd);
	return rc;
}

/* Indexes the tensors of f under prefix (stripped) as part p. Stripping one
 * common prefix keeps the name order, so the index stays sorted. */
static int
index_part(struct st_model *m, enum st_part p, const struct st_file *f,
    const char *prefix, char *err, size_t errlen)
{
	struct part *pt = &m->parts[p];
	size_t i, n = 0, plen = strlen(prefix);

	for (i = 0; i < st_count(f); i++)
		if (starts_with(f->t[i].name, prefix))
			n++;
	pt->e = calloc(n + 1, sizeof(*pt->e));
	if (pt->e == NULL) {
		seterr(err, errlen, "%s: out of memory", f->name);
		return -1;
	}
	for (i = 0; i < st_count(f); i++)
		if (starts_with(f->t[i].name, prefix)) {
			pt->e[pt->n].name = f->t[i].name + plen;
			pt->e[pt->n].t = &f->t[i];
			pt->n++;
		}
	pt->file = f;
	return 0;
}

/* Which part a diffusers component folder holds: by its name, else by its
 * config.json (already read into config, or NULL). Returns the part or
 * ST_PART__MAX when neither tells. */
static enum st_part
part_of_folder(const char *dir, const char *config)
{
	struct json_object *root, *v, *x;
	enum st_part p = ST_PART__MAX;
	const char *base, *s;
	size_t len, i;
	int k;

	len = strlen(dir);
	while (len > 1 && dir[len - 1] == '/')
		len--;
	for (base = dir + len; base > dir && base[-1] != '/'; base--)
		;
	for (k = 0; k < ST_PART__MAX; k++)
		if (strlen(diffusers_parts[k].dir) == (size_t)(dir + len - base)
		    && memcmp(base, diffusers_parts[k].dir,
		    (size_t)(dir + len - base)) == 0)
			return (enum st_part)k;
	if (config == NULL || (root = json_tokener_parse(config)) == NULL)
		return p;
	if (json_object_object_get_ex(root, "_class_name", &v) &&
	    (s = json_object_get_string(v)) != NULL) {
		if (strcmp(s, "UNet2DConditionModel") == 0)
			p = ST_PART_UNET;
		else if (strcmp(s, "AutoencoderKL") == 0)
			p = ST_PART_VAE;
	}
	if (json_object_object_get_ex(root, "architectures", &v) &&
	    json_object_is_type(v, json_type_array))
		for (i = 0; i < json_object_array_length(v); i++) {
			x = json_object_array_get_idx(v, i);
			s = json_object_get_string(x);
			if (s != NULL && starts_with(s, "CLIPTextModel"))
				p = ST_PART_TEXT;
		}
	json_object_put(root);
	return p;
}

/* Opens part p of a diffusers layout from folder dir. */
static int
open_part_folder(struct st_model *m, enum st_part p, const char *dir,
    char *config, char *err, size_t errlen)
{
	char *path = NULL;
	int i, rc = -1;

	m->parts[p].config = config;
	for (i = 0; i < 2; i++) {
		free(path);
		path = path_join(dir, diffusers_parts[p].files[i]);
		if (path == NULL) {
			seterr(err, errlen, "%s: out of memory", dir);
			goto out;
		}
		if (is_file(path))
			break;
	}
	if (i == 2) {
		free(path);
		path = path_join(dir, "diffusion_pytorch_model.safetensors."
		    "index.json");
		seterr(err, errlen, "%s: no %s (nor its .fp16 variant)%s", dir,
		    diffusers_parts[p].files[0], path != NULL && is_file(path)
		    ? ": sharded weights are not supported" : "");
		goto out;
	}
	m->files[p] = st_open(path, err, errlen);
	if (m->files[p] == NULL)
		goto out;
	if (index_part(m, p, m->files[p], "", err, errlen) == -1)
		goto out;
	if (p == ST_PART_TEXT)
		m->flavour = ST_TEXT_HF_CLIP;
	rc = 0;
out:
	free(path);
	return rc;
}

/* A folder holding one component: text_encoder/, unet/ or vae/. */
static int
open_component_folder(struct st_model *m, const char *dir, char *err,
    size_t errlen)
{
	char *cpath, *config = NULL;
	enum st_part p;

	cpath = path_join(dir, "config.json");
	if (cpath == NULL) {
		seterr(err, errlen, "%s: out of memory", dir);
		return -1;
	}
	if (read_text(cpath, &config, err, errlen) == -1) {
		free(cpath);
		return -1;
	}
	free(cpath);
	p = part_of_folder(dir, config);
	if (p == ST_PART__MAX) {
		free(config);
		seterr(err, errlen, "%s: not a model: no text_encoder/, unet/ "
		    "or vae/ inside, and neither its name nor a config.json "
		    "says which part it holds", dir);
		return -1;
	}
	m->layout = ST_LAYOUT_DIFFUSERS;
	return open_part_folder(m, p, dir, config, err, errlen);
}

static int
open_diffusers(struct st_model *m, const char *dir, char *err,
    size_t errlen)
{
	char *sub, *cpath, *config;
	int k, found = 0;

	m->layout = ST_LAYOUT_DIFFUSERS;
	for (k = 0; k < ST_PART__MAX; k++) {
		sub = path_join(dir, diffusers_parts[k].dir);
		if (sub == NULL) {
			seterr(err, errlen, "%s: out of memory", dir);
			return -1;
		}
		if (!is_dir(sub)) {
			free(sub);
			continue;
		}
		found++;
		config = NULL;
		cpath = path_join(sub, "config.json");
		if (cpath == NULL ||
		    read_text(cpath, &config, err, errlen) == -1 ||
		    open_part_folder(m, (enum st_part)k, sub, config, err,
		    errlen) == -1) {
			if (cpath == NULL)
				seterr(err, errlen, "%s: out of memory", dir);
			free(cpath);
			free(sub);
			return -1;
		}
		free(cpath);
		free(sub);
	}
	if (found == 0)
		return open_component_folder(m, dir, err, errlen);
	return 0;
}

static int
open_single_file(struct st_model *m, const char *path, char *err,
    size_t errlen)
{
	const struct st_file *f;
	char *dir = NULL, *slash, *cpath = NULL, *config = NULL;
	size_t i, k, counts[N_LDM_PREFIXES] = { 0 };
	enum st_part p;
	int rc = -1, any = 0;

	m->layout = ST_LAYOUT_LDM;
	m->files[0] = st_open(path, err, errlen);
	if (m->files[0] == NULL)
		return -1;
	f = m->files[0];
	for (i = 0; i < st_count(f); i++)
		for (k = 0; k < N_LDM_PREFIXES; k++)
			if (starts_with(f->t[i].name, ldm_prefixes[k].prefix))
				counts[k]++;
	if (counts[0] > 0 && counts[1] > 0) {
		seterr(err, errlen, "%s: holds both cond_stage_model."
		    "transformer.* and cond_stage_model.model.* tensors: "
		    "cannot tell the text encoder", path);
		return -1;
	}
	for (k = 0; k < N_LDM_PREFIXES; k++) {
		if (counts[k] == 0)
			continue;
		any = 1;
		if (index_part(m, ldm_prefixes[k].part, f,
		    ldm_prefixes[k].prefix, err, errlen) == -1)
			return -1;
		if (ldm_prefixes[k].flavour != ST_TEXT_NONE)
			m->flavour = ldm_prefixes[k].flavour;
	}
	if (any)
		return 0;

	/* No CompVis prefixes: maybe one diffusers component's weights,
	 * given by file name (unet/diffusion_pytorch_model.safetensors). */
	dir = strdup(path);
	if (dir == NULL) {
		seterr(err, errlen, "%s: out of memory", path);
		goto out;
	}
	slash = strrchr(dir, '/');
	if (slash == NULL) {
		free(dir);
		dir = strdup(".");
	} else {
		slash[slash == dir] = '\0';	/* keep "/" itself */
	}
	if (dir == NULL || (cpath = path_join(dir, "config.json")) == NULL) {
		seterr(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (read_text(cpath, &config, err, errlen) == -1)
		goto out;
	p = part_of_folder(dir, config);
	if (p == ST_PART__MAX) {
		seterr(err, errlen, "%s: not a single-file SD checkpoint (no "
		    "cond_stage_model., model.diffusion_model. or "
		    "first_stage_model. tensors) and not inside a "
		    "text_encoder/, unet/ or vae/ folder", path);
		goto out;
	}
	m->layout = ST_LAYOUT_DIFFUSERS;
	m->files[p] = m->files[0];
	if (p != 0)
		m->files[0] = NULL;
	m->parts[p].config = config;
	config = NULL;
	if (index_part(m, p, m->files[p], "", err, errlen) == -1)
		goto out;
	if (p == ST_PART_TEXT)
		m->flavour = ST_TEXT_HF_CLIP;
	rc = 0;
out:
	free(config);
	free(cpath);
	free(dir);
	return rc;
}

struct st_model *
st_model_open(const char *path, char *err, size_t errlen)
{
	struct st_model *m;
	struct stat sb;
	int rc;

	if (stat(path, &sb) == -1) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		seterr(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	if (S_ISDIR(sb.st_mode))
		rc = open_diffusers(m, path, err, errlen);
	else
		rc = open_single_file(m, path, err, errlen);
	if (rc == -1) {
		st_model_close(m);
		return NULL;
	}
	return m;
}

void
st_model_close(struct st_model *m)
{
	int k;

	if (m == NULL)
		return;
	for (k = 0; k < ST_PART__MAX; k++) {
		st_close(m->files[k]);
		free(m->parts[k].e);
		free(m->parts[k].config);
	}
	free(m);
}

enum st_layout
st_model_layout(const struct st_model *m)
{
	return m->layout;
}

enum st_text_flavour
st_model_text_flavour(const struct st_model *m)
{
	return m->flavour;
}

int
st_model_has_part(const struct st_model *m, enum st_part part)
{
	return (unsigned)part < ST_PART__MAX && m->parts[part].file != NULL;
}

const struct st_tensor *
st_model_find(const struct st_model *m, enum st_part part, const char *name)
{
	const struct part *pt;
	size_t lo = 0, hi, mid;
	int c;

	if ((unsigned)part >= ST_PART__MAX)
		return NULL;
	pt = &m->parts[part];
	hi = pt->n;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(name, pt->e[mid].name);
		if (c == 0)
			return pt->e[mid].t;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

size_t
st_model_count(const struct st_model *m, enum st_part part)
{
	return (unsigned)part < ST_PART__MAX ? m->parts[part].n : 0;
}

const char *
st_model_name(const struct st_model *m, enum st_part part, size_t i)
{
	if ((unsigned)part >= ST_PART__MAX || i >= m->parts[part].n)
		return NULL;
	return m->parts[part].e[i].name;
}

const struct st_tensor *
st_model_tensor(const struct st_model *m, enum st_part part, size_t i)
{
	if ((unsigned)part >= ST_PART__MAX || i >= m->parts[part].n)
		return NULL;
	return m->parts[part].e[i].t;
}

const char *
st_model_config(const struct st_model *m, enum st_part part)
{
	return (unsigned)part < ST_PART__MAX ? m->parts[part].config : NULL;
}

const struct st_file *
st_model_file(const struct st_model *m, enum st_part part)
{
	return (unsigned)part < ST_PART__MAX ? m->parts[part].file : NULL;
}
