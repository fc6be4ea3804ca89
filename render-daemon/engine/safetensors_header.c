/* safetensors_header.c - parses a .safetensors header with json-c and
 * checks every number in it: dtypes, shapes, data offsets, and that the
 * tensors tile the data area. */
#include "safetensors_int.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
	char q[ST_QNAME_MAX];
	size_t n = 0;

	if (!json_object_is_type(v, json_type_object)) {
		st_err(err, errlen, "%s: __metadata__ is %s, not an object "
		    "of strings", f->name, json_type_word(v));
		return -1;
	}
	f->meta = calloc((size_t)json_object_object_length(v) + 1,
	    sizeof(*f->meta));
	if (f->meta == NULL) {
		st_err(err, errlen, "%s: out of memory", f->name);
		return -1;
	}
	json_object_object_foreach(v, key, val) {
		if (!json_object_is_type(val, json_type_string)) {
			st_err(err, errlen, "%s: __metadata__ value of '%s' "
			    "is %s, not a string", f->name,
			    st_qname(q, sizeof(q), key), json_type_word(val));
			return -1;
		}
		f->meta[n].key = strdup(key);
		f->meta[n].value = strdup(json_object_get_string(val));
		f->nmeta = ++n;
		if (f->meta[n - 1].key == NULL ||
		    f->meta[n - 1].value == NULL) {
			st_err(err, errlen, "%s: out of memory", f->name);
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
		if (strlen(st_dtypes[i].name) == len &&
		    memcmp(st_dtypes[i].name, s, len) == 0) {
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
	char q[ST_QNAME_MAX], sh[ST_SHAPE_MAX], dq[64];
	const char *why;
	uint64_t d, bits, nelems = 1;
	size_t i, nd;

	st_qname(q, sizeof(q), key);
	if (!json_object_is_type(v, json_type_object)) {
		st_err(err, errlen, "%s: tensor '%s': entry is %s, not an "
		    "object", f->name, q, json_type_word(v));
		return -1;
	}
	why = !json_object_object_get_ex(v, "dtype", &dt) ? "dtype"
	    : !json_object_object_get_ex(v, "shape", &shape) ? "shape"
	    : !json_object_object_get_ex(v, "data_offsets", &offs)
	    ? "data_offsets" : NULL;
	if (why != NULL) {
		st_err(err, errlen, "%s: tensor '%s': entry has no %s",
		    f->name, q, why);
		return -1;
	}
	if (!json_object_is_type(dt, json_type_string)) {
		st_err(err, errlen, "%s: tensor '%s': dtype is %s, not a "
		    "string", f->name, q, json_type_word(dt));
		return -1;
	}
	if (parse_dtype(dt, &t->dtype) == -1) {
		st_err(err, errlen, "%s: tensor '%s': unknown dtype '%s'",
		    f->name, q, st_qname(dq, sizeof(dq),
		    json_object_get_string(dt)));
		return -1;
	}

	if (!json_object_is_type(shape, json_type_array)) {
		st_err(err, errlen, "%s: tensor '%s': shape is %s, not an "
		    "array", f->name, q, json_type_word(shape));
		return -1;
	}
	nd = json_object_array_length(shape);
	if (nd > ST_MAX_DIMS) {
		st_err(err, errlen, "%s: tensor '%s': shape has %zu "
		    "dimensions; at most %d are supported", f->name, q, nd,
		    ST_MAX_DIMS);
		return -1;
	}
	t->ndim = (int)nd;
	for (i = 0; i < nd; i++) {
		x = json_object_array_get_idx(shape, i);
		if (json_u63(x, &d, &why) == -1) {
			st_err(err, errlen, "%s: tensor '%s': shape[%zu] %s "
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
			st_err(err, errlen, "%s: tensor '%s': shape %s has "
			    "too many elements", f->name, q, sh);
			return -1;
		}
#if SIZE_MAX < UINT64_MAX
	if (nelems > SIZE_MAX) {
		st_err(err, errlen, "%s: tensor '%s': shape %s has too many "
		    "elements", f->name, q, sh);
		return -1;
	}
#endif
	t->nelems = (size_t)nelems;
	bits = st_dtypes[t->dtype].bits;
	if (__builtin_mul_overflow((uint64_t)nelems, bits, &d)) {
		st_err(err, errlen, "%s: tensor '%s': shape %s of %s is too "
		    "large", f->name, q, sh, st_dtypes[t->dtype].name);
		return -1;
	}
	if (d % 8 != 0) {
		st_err(err, errlen, "%s: tensor '%s': shape %s of %s is not "
		    "a whole number of bytes", f->name, q, sh,
		    st_dtypes[t->dtype].name);
		return -1;
	}
	d /= 8;

	if (!json_object_is_type(offs, json_type_array) ||
	    json_object_array_length(offs) != 2) {
		st_err(err, errlen, "%s: tensor '%s': data_offsets is not an "
		    "array [begin, end]", f->name, q);
		return -1;
	}
	for (i = 0; i < 2; i++) {
		x = json_object_array_get_idx(offs, i);
		if (json_u63(x, i ? &e->end : &e->begin, &why) == -1) {
			st_err(err, errlen, "%s: tensor '%s': data_offsets[%zu] "
			    "%s (%s)", f->name, q, i, why,
			    json_object_to_json_string(x));
			return -1;
		}
	}
	if (e->begin > e->end) {
		st_err(err, errlen, "%s: tensor '%s': data_offsets [%llu, "
		    "%llu] run backwards", f->name, q,
		    (unsigned long long)e->begin, (unsigned long long)e->end);
		return -1;
	}
	if (e->end > f->datalen) {
		st_err(err, errlen, "%s: tensor '%s': data_offsets [%llu, "
		    "%llu] exceed the data size (%zu bytes): the file is "
		    "truncated or corrupt", f->name, q,
		    (unsigned long long)e->begin, (unsigned long long)e->end,
		    f->datalen);
		return -1;
	}
	if (e->end - e->begin != d) {
		st_err(err, errlen, "%s: tensor '%s': shape %s of %s needs "
		    "%llu bytes but data_offsets [%llu, %llu] hold %llu",
		    f->name, q, sh, st_dtypes[t->dtype].name,
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
		st_err(err, errlen, "%s: out of memory", f->name);
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
	char q1[ST_QNAME_MAX], q2[ST_QNAME_MAX];
	uint64_t at = 0;
	size_t i;

	qsort(e, n, sizeof(*e), cmp_entry_offsets);
	for (i = 0; i < n; i++) {
		if (e[i].begin < at) {
			st_err(err, errlen, "%s: tensors '%s' and '%s' overlap "
			    "(data_offsets [%llu, %llu] and [%llu, %llu])",
			    f->name,
			    st_qname(q1, sizeof(q1), f->t[e[i - 1].idx].name),
			    st_qname(q2, sizeof(q2), f->t[e[i].idx].name),
			    (unsigned long long)e[i - 1].begin,
			    (unsigned long long)e[i - 1].end,
			    (unsigned long long)e[i].begin,
			    (unsigned long long)e[i].end);
			return -1;
		}
		if (e[i].begin > at) {
			st_err(err, errlen, "%s: data bytes [%llu, %llu) "
			    "belong to no tensor (before '%s')", f->name,
			    (unsigned long long)at,
			    (unsigned long long)e[i].begin,
			    st_qname(q1, sizeof(q1), f->t[e[i].idx].name));
			return -1;
		}
		at = e[i].end;
	}
	if (at != f->datalen) {
		st_err(err, errlen, "%s: %llu trailing bytes after the last "
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
		st_err(err, errlen, "%s: header length is 0: expected a JSON "
		    "object", f->name);
		goto out;
	}
	/* Depth 8: a valid header nests 3 deep. */
	tok = json_tokener_new_ex(8);
	if (tok == NULL) {
		st_err(err, errlen, "%s: out of memory", f->name);
		goto out;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, hdr, (int)hlen);
	jerr = json_tokener_get_error(tok);
	if (root == NULL) {
		if (jerr == json_tokener_continue)
			st_err(err, errlen, "%s: header is not valid JSON: it "
			    "ends early", f->name);
		else
			st_err(err, errlen, "%s: header is not valid JSON: %s "
			    "at byte %zu", f->name,
			    json_tokener_error_desc(jerr),
			    json_tokener_get_parse_end(tok));
		goto out;
	}
	/* json-c stops at a NUL byte and calls that success. */
	if (json_tokener_get_parse_end(tok) != hlen) {
		st_err(err, errlen, "%s: header is not valid JSON: unexpected "
		    "byte 0x%02x at byte %zu", f->name,
		    (unsigned char)hdr[json_tokener_get_parse_end(tok)],
		    json_tokener_get_parse_end(tok));
		goto out;
	}
	if (!json_object_is_type(root, json_type_object)) {
		st_err(err, errlen, "%s: header is %s, not a JSON object",
		    f->name, json_type_word(root));
		goto out;
	}

	n = (size_t)json_object_object_length(root);
	f->t = calloc(n + 1, sizeof(*f->t));
	e = calloc(n + 1, sizeof(*e));
	if (f->t == NULL || e == NULL) {
		st_err(err, errlen, "%s: out of memory", f->name);
		goto out;
	}
	json_object_object_foreach(root, key, val) {
		if (strcmp(key, "__metadata__") == 0) {
			if (f->meta != NULL) {
				/* json-c merges repeats; a NUL-cut key can
				 * still land here twice. */
				st_err(err, errlen, "%s: __metadata__ appears "
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
			char q[ST_QNAME_MAX];

			st_err(err, errlen, "%s: tensor '%s' appears twice",
			    f->name, st_qname(q, sizeof(q), f->t[i].name));
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

struct st_file *
st_parse_file(const unsigned char *buf, size_t len, const char *name,
    char *err, size_t errlen)
{
	struct st_file *f;
	uint64_t hlen = 0;
	int i;

	f = calloc(1, sizeof(*f));
	if (f == NULL || (f->name = strdup(name)) == NULL) {
		st_err(err, errlen, "%s: out of memory", name);
		goto fail;
	}
	if (len < 8) {
		st_err(err, errlen, "%s: file is too small (%zu bytes) to be "
		    "safetensors: it must start with an 8-byte header length",
		    name, len);
		goto fail;
	}
	for (i = 7; i >= 0; i--)
		hlen = hlen << 8 | buf[i];
	if (hlen > ST_MAX_HEADER) {
		st_err(err, errlen, "%s: header too large: %llu bytes (the "
		    "limit is %u)", name, (unsigned long long)hlen,
		    ST_MAX_HEADER);
		goto fail;
	}
	if (hlen > len - 8) {
		st_err(err, errlen, "%s: file is truncated: header says %llu "
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
