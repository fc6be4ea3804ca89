/* jsondiff.c - the leaves that differ between two JSON documents, by
 * path (see jsondiff.h for the rules). */
#include "jsondiff.h"

#include "util.h"

#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *
jd_kind_name(enum jd_kind k)
{
	return k == JD_ADDED ? "added" : k == JD_REMOVED ? "removed" :
		"changed";
}

void
jsondiff_free(struct jsondiff *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++) {
		free(d->c[i].path);
		free(d->c[i].before);
		free(d->c[i].after);
	}
	free(d->c);
	memset(d, 0, sizeof(*d));
}

/* v as compact JSON text (null for NULL), a copy; NULL when memory ran
 * out inside json-c. */
static char *
text_of(json_object *v)
{
	const char *s = json_object_to_json_string_ext(v,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

	return s != NULL ? xstrdup(s) : NULL;
}

static int
add(struct jsondiff *d, enum jd_kind k, const struct buf *path,
	json_object *a, json_object *b)
{
	struct jd_change *c;

	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 16;
		d->c = xreallocarray(d->c, d->cap, sizeof(*d->c));
	}
	c = &d->c[d->n];
	memset(c, 0, sizeof(*c));
	c->kind = k;
	c->path = xstrdup(path->data);
	d->n++;	/* counted now, so that jsondiff_free frees what is set */
	if (k != JD_ADDED && (c->before = text_of(a)) == NULL)
		return -1;
	if (k != JD_REMOVED && (c->after = text_of(b)) == NULL)
		return -1;
	return 0;
}

static int
is_number(json_object *v)
{
	return json_object_is_type(v, json_type_int) ||
		json_object_is_type(v, json_type_double);
}

/* 1 when the leaves a and b are equal by jsondiff.h's rules. */
static int
leaf_equal(json_object *a, json_object *b)
{
	enum json_type ta = json_object_get_type(a),
	    tb = json_object_get_type(b);

	if (is_number(a) && is_number(b)) {
		if (ta == json_type_int && tb == json_type_int)
			return json_object_get_int64(a) ==
				json_object_get_int64(b) &&
				json_object_get_uint64(a) ==
				json_object_get_uint64(b);
		return json_object_get_double(a) == json_object_get_double(b);
	}
	if (ta != tb)
		return 0;
	switch (ta) {
	case json_type_null:
		return 1;
	case json_type_boolean:
		return json_object_get_boolean(a) == json_object_get_boolean(b);
	case json_type_string:
		return json_object_get_string_len(a) ==
			json_object_get_string_len(b) &&
			memcmp(json_object_get_string(a),
			json_object_get_string(b),
			(size_t)json_object_get_string_len(a)) == 0;
	default:
		return 0;	/* containers are not leaves */
	}
}

static int
is_ident(const char *k)
{
	const char *p;

	if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') ||
	    *k == '_'))
		return 0;
	for (p = k + 1; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '_'))
			return 0;
	return 1;
}

/* Appends key's step to path. Returns 0 or -1. */
static int
path_key(struct buf *path, const char *key)
{
	json_object *s;
	const char *t;
	int rc;

	if (is_ident(key))
		return buf_printf(path, ".%s", key);
	s = json_object_new_string(key);
	t = s ? json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN |
		JSON_C_TO_STRING_NOSLASHESCAPE) : NULL;
	rc = t ? buf_printf(path, "[%s]", t) : -1;
	json_object_put(s);
	return rc;
}

static int
key_cmp(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The keys of o, sorted, into a fresh array of n (borrowed strings). */
static const char **
sorted_keys(json_object *o, size_t *n)
{
	const char **k;
	size_t i = 0;

	*n = (size_t)json_object_object_length(o);
	k = xcalloc(*n ? *n : 1, sizeof(*k));
	json_object_object_foreach(o, key, val) {
		(void)val;
		k[i++] = key;
	}
	qsort(k, *n, sizeof(*k), key_cmp);
	return k;
}

static int walk(struct jsondiff *d, struct buf *path, json_object *a,
	json_object *b);

static int
walk_objects(struct jsondiff *d, struct buf *path, json_object *a,
	json_object *b)
{
	size_t na, nb, i = 0, j = 0, keep = path->len;
	const char **ka = sorted_keys(a, &na), **kb = sorted_keys(b, &nb);
	int rc = 0, c;

	/* A merge of the two sorted key lists. */
	while (rc == 0 && (i < na || j < nb)) {
		c = i == na ? 1 : j == nb ? -1 : strcmp(ka[i], kb[j]);
		rc = path_key(path, c <= 0 ? ka[i] : kb[j]);
		if (rc == 0 && c < 0)
			rc = add(d, JD_REMOVED, path,
				json_object_object_get(a, ka[i]), NULL);
		else if (rc == 0 && c > 0)
			rc = add(d, JD_ADDED, path, NULL,
				json_object_object_get(b, kb[j]));
		else if (rc == 0)
			rc = walk(d, path, json_object_object_get(a, ka[i]),
				json_object_object_get(b, kb[j]));
		i += c <= 0;
		j += c >= 0;
		path->len = keep;
		path->data[keep] = '\0';
	}
	free(ka);
	free(kb);
	return rc;
}

static int
walk_arrays(struct jsondiff *d, struct buf *path, json_object *a,
	json_object *b)
{
	size_t na = json_object_array_length(a),
	    nb = json_object_array_length(b), i, keep = path->len;
	int rc = 0;

	for (i = 0; rc == 0 && i < (na > nb ? na : nb); i++) {
		rc = buf_printf(path, "[%zu]", i);
		if (rc == 0 && i >= nb)
			rc = add(d, JD_REMOVED, path,
				json_object_array_get_idx(a, i), NULL);
		else if (rc == 0 && i >= na)
			rc = add(d, JD_ADDED, path, NULL,
				json_object_array_get_idx(b, i));
		else if (rc == 0)
			rc = walk(d, path, json_object_array_get_idx(a, i),
				json_object_array_get_idx(b, i));
		path->len = keep;
		path->data[keep] = '\0';
	}
	return rc;
}

static int
walk(struct jsondiff *d, struct buf *path, json_object *a, json_object *b)
{
	if (json_object_is_type(a, json_type_object) &&
	    json_object_is_type(b, json_type_object))
		return walk_objects(d, path, a, b);
	if (json_object_is_type(a, json_type_array) &&
	    json_object_is_type(b, json_type_array))
		return walk_arrays(d, path, a, b);
	if (json_object_is_type(a, json_type_object) ||
	    json_object_is_type(a, json_type_array) ||
	    json_object_is_type(b, json_type_object) ||
	    json_object_is_type(b, json_type_array) || !leaf_equal(a, b))
		return add(d, JD_CHANGED, path, a, b);
	return 0;
}

int
jsondiff(json_object *a, json_object *b, struct jsondiff *d)
{
	struct buf path = { 0 };
	int rc;

	memset(d, 0, sizeof(*d));
	if (buf_puts(&path, "$") != 0)
		return -1;
	rc = walk(d, &path, a, b);
	buf_free(&path);
	return rc;
}

/* json-c takes more than JSON even when strict ('single quotes', NaN):
 * outside strings JSON has only structure, numbers, true, false and
 * null. Returns the offset of the first byte that is none of them, or
 * len. */
static size_t
outside_strings_bad(const char *text, size_t len)
{
	size_t i;
	int in = 0;

	for (i = 0; i < len; i++) {
		if (in) {
			if (text[i] == '\\')
				i++;
			else if (text[i] == '"')
				in = 0;
		} else if (text[i] == '"')
			in = 1;
		else if (!strchr(" \t\r\n{}[]:,0123456789-+.eEtrufalsn",
		    text[i]))
			return i;
	}
	return len;
}

/* 1 when some number in v is not finite (json-c reads "nan"). */
static int
non_finite(json_object *v)
{
	size_t i, n;

	if (json_object_is_type(v, json_type_double))
		return !isfinite(json_object_get_double(v));
	if (json_object_is_type(v, json_type_array)) {
		n = json_object_array_length(v);
		for (i = 0; i < n; i++)
			if (non_finite(json_object_array_get_idx(v, i)))
				return 1;
	} else if (json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, key, val) {
			(void)key;
			if (non_finite(val))
				return 1;
		}
	}
	return 0;
}

int
json_object_text_parse(const char *text, size_t len, json_object **out,
	char *err, size_t errlen)
{
	struct json_tokener *tok;
	json_object *o;
	enum json_tokener_error e;
	size_t used, i;

	*out = NULL;
	if (len > JSONDIFF_TEXT_MAX)
		return errf(err, errlen, "longer than %d bytes",
			JSONDIFF_TEXT_MAX);
	if (memchr(text, '\0', len) != NULL)
		return errf(err, errlen, "contains a NUL byte");
	i = outside_strings_bad(text, len);
	if (i < len)
		return errf(err, errlen, "not valid JSON at byte %zu", i);
	tok = json_tokener_new_ex(JSONDIFF_DEPTH_MAX);
	if (tok == NULL)
		return errf(err, errlen, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
		JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, text, (int)len);
	e = json_tokener_get_error(tok);
	used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (o == NULL || e != json_tokener_success) {
		json_object_put(o);
		if (e == json_tokener_continue)
			return errf(err, errlen, "not valid JSON: the text "
				"ends inside a value");
		return errf(err, errlen, "not valid JSON at byte %zu: %s",
			used, json_tokener_error_desc(e));
	}
	for (i = used; i < len; i++)
		if (!strchr(" \t\r\n", text[i])) {
			json_object_put(o);
			return errf(err, errlen, "not valid JSON: more after "
				"the object, at byte %zu", i);
		}
	if (non_finite(o)) {
		json_object_put(o);
		return errf(err, errlen, "not valid JSON: a number that is "
			"not finite");
	}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return errf(err, errlen, "not a JSON object ({...})");
	}
	*out = o;
	return 0;
}
