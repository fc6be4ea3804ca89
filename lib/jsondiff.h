/* jsondiff.h - the leaves that differ between two JSON documents, by
 * path: what changed between two versions of a project's manifest
 * (issue 29), whatever the manifest's schema is.
 *
 * The rules, which tests/integration/test_jsondiff.py writes again in
 * Python and compares on random pairs:
 *  - two objects: their keys in byte order (strcmp; UTF-8's byte order
 *    is its code points' order); a key only in a is removed, only in b
 *    added, in both compared again below it;
 *  - two arrays: by index; the indices past the shorter one's end are
 *    removed (a longer) or added (b longer);
 *  - anything else (scalars, or two values of different kinds) is one
 *    leaf: changed unless equal. Numbers are equal by value (1 and 1.0
 *    are), booleans are not numbers, strings by bytes;
 *  - a removed or added object or array is one entry, not its leaves.
 * Paths: "$" is the root, ".name" a key that is an identifier
 * ([A-Za-z_][A-Za-z0-9_]*), ["..."] any other key (as a JSON string),
 * "[3]" an index: "$.camera.lens_mm", "$.loras[0].weight",
 * "$[\"colour temp\"]". The changes come depth first in that order. */
#ifndef KILN_JSONDIFF_H
#define KILN_JSONDIFF_H

#include <stddef.h>

struct json_object;

enum jd_kind { JD_ADDED, JD_REMOVED, JD_CHANGED };

/* One difference: before and after are the values as compact JSON text
 * (before NULL when added, after NULL when removed). */
struct jd_change {
	enum jd_kind kind;
	char *path, *before, *after;
};

struct jsondiff {
	struct jd_change *c;
	size_t n, cap;
};

/* The differences from a to b into *d (zeroed here first; free it with
 * jsondiff_free, also after a failure). Returns 0, or -1 when memory
 * runs out. */
int jsondiff(struct json_object *a, struct json_object *b,
	struct jsondiff *d);

void jsondiff_free(struct jsondiff *d);

/* "added", "removed" or "changed". */
const char *jd_kind_name(enum jd_kind k);

/* Limits on a manifest version's text. */
#define JSONDIFF_TEXT_MAX 65536
#define JSONDIFF_DEPTH_MAX 16

/* Parses text (len bytes) as one JSON object (nothing but space after
 * it, at most JSONDIFF_TEXT_MAX bytes, nested at most
 * JSONDIFF_DEPTH_MAX deep: a manifest needs a few levels, and the
 * diff recurses once per level) into *out, which the caller puts. Returns
 * 0, or -1 with why in err (errlen bytes). */
int json_object_text_parse(const char *text, size_t len,
	struct json_object **out, char *err, size_t errlen);

#endif
