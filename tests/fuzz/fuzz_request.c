/* fuzz_request.c - libFuzzer harness for request parsing: the input is
 * split on '\n' into REQUEST_URI, QUERY_STRING, PATH_INFO and a body (a
 * form or JSON by the first byte's bits); the parser, the form and JSON
 * body decoders, the declared-input checks, the router and the response
 * writer must never crash or leak. */
#include "fuzz.h"
#include "request.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct env {
	const char *uri, *qs, *pinfo, *method, *ctype;
};

static const char *
get(const char *name, void *arg)
{
	struct env *e = arg;

	if (!strcmp(name, "REQUEST_URI"))
		return e->uri;
	if (!strcmp(name, "QUERY_STRING"))
		return e->qs;
	if (!strcmp(name, "PATH_INFO"))
		return e->pinfo;
	if (!strcmp(name, "REQUEST_METHOD"))
		return e->method;
	if (!strcmp(name, "CONTENT_TYPE"))
		return e->ctype;
	return NULL;
}

static int h(struct kreq *r) { (void)r; return 0; }

static const struct route routes[] = {
	{ M_GET, "/", h, ACC_PUBLIC, 0, NULL, NULL },
	{ M_GET, "/api/v1/jobs/{id}", h, ACC_PUBLIC, 0, NULL, NULL },
	{ M_POST, "/api/v1/jobs/{id}/cancel", h, ACC_PUBLIC, 0, NULL,
	  NULL },
};

static const char *const choices[] = { "read", "generate", "admin", NULL };

static int
no_dot(const char *s)
{
	return strchr(s, '.') == NULL;
}

/* One input of every type and flag, by names a form body can carry. */
static const struct input inputs[] = {
	{ .name = "s", .type = IN_STR, .flags = IN_REQUIRED | IN_TEXT,
	  .min = 1, .max = 16, .check = no_dot, .msg = "s" },
	{ .name = "p", .type = IN_STR, .flags = IN_TEXT | IN_LINES,
	  .max = 64 },
	{ .name = "raw", .type = IN_STR, .max = REQ_MAX_BODY },
	{ .name = "i", .type = IN_INT, .flags = IN_BLANK, .min = -100,
	  .max = 1L << 40 },
	{ .name = "d", .type = IN_DEC, .min = 0, .max = 30 },
	{ .name = "b", .type = IN_BOOL },
	{ .name = "e", .type = IN_ENUM, .choices = choices },
	{ .name = "set", .type = IN_SET, .choices = choices },
	IN_END,
};

/* The declared inputs of r's form: each value's state is one of three,
 * its text there only when valid, its fault only when refused. */
static void
check_inputs(struct kreq *r)
{
	struct in_value v;
	size_t k;

	CHECK(req_inputs(r, inputs) == 0);
	CHECK(r->ninputs == ARRAY_LEN(inputs) - 1);
	for (k = 0; k <= r->ninputs; k++) {
		const struct in_value *g = in_get(r, k);

		CHECK(g->state == IN_ABSENT || g->state == IN_VALID ||
			g->state == IN_REFUSED);
		CHECK((g->fault == IN_OK) == (g->state != IN_REFUSED));
		CHECK(in_bad(r, k) == (g->state == IN_REFUSED));
		if (in_str(r, k) != NULL)
			CHECK(g->state == IN_VALID && strlen(in_str(r, k)) <=
				REQ_MAX_BODY);
		if (g->state != IN_VALID)
			CHECK(in_long(r, k) == 0);
		(void)in_sent(r, k);
	}
	if (in_str(r, 0) != NULL)
		CHECK(strlen(in_str(r, 0)) <= 16);
	if (in_get(r, 4)->state == IN_VALID)
		CHECK(in_get(r, 4)->d >= 0 && in_get(r, 4)->d <= 30);
	CHECK(in_long(r, 7) >= 0 && in_long(r, 7) <= 7);
	/* The query string's values through the same rule. */
	for (k = 0; k < r->nquery; k++)
		in_check(&inputs[k % (ARRAY_LEN(inputs) - 1)],
			r->query[k].val, &v);
}

static int
sink(const void *p, size_t n, void *arg)
{
	(void)p;
	*(size_t *)arg += n;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *parts[4] = { "", "", "", "" }, *p;
	struct buf allow = { 0 };
	struct kreq r;
	struct env e;
	char msg[128];
	size_t i, sent = 0;
	int st = 0;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	p = copy;
	for (i = 0; i < 4 && p != NULL; i++) {
		parts[i] = p;
		p = i < 3 ? strchr(p, '\n') : NULL;
		if (p != NULL)
			*p++ = '\0';
	}
	e.uri = parts[0];
	e.qs = parts[1];
	e.pinfo = parts[2];
	e.method = size > 0 && (data[0] & 1) ? "POST" : "GET";
	/* The body is parsed as a form, as JSON, or not at all. */
	e.ctype = size > 0 && (data[0] & 4) ?
		"application/x-www-form-urlencoded" :
		size > 0 && (data[0] & 8) ? "application/json" : "";
	memset(&r, 0, sizeof(r));
	if (req_parse(&r, get, &e, parts[3], strlen(parts[3]),
	    size > 0 && (data[0] & 2), msg, sizeof(msg)) == 0) {
		struct json_object *o = NULL;

		route_find(&r, routes, 3, &st, &allow);
		check_inputs(&r);
		if (req_json_body(&r, &o) == 0)
			json_object_put(o);
		resp_header(&r, "X-Path", r.path);
		resp_error_json(&r, 400, "x", r.path, NULL);
		req_send(&r, sink, &sent);
	}
	req_free(&r);
	buf_free(&allow);
	free(copy);
	return 0;
}
