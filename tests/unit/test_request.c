/* test_request.c - request parsing, routing and response building. */
#include "request.h"
#include "tap.h"

#include <json-c/json.h>
#include <stdlib.h>

/* A fake CGI environment: NULL-terminated name/value pairs. */
static const char *
fake_env(const char *name, void *arg)
{
	const char *const *e = arg;

	for (; e[0] != NULL; e += 2)
		if (!strcmp(e[0], name))
			return e[1];
	return NULL;
}

static void
form_decoding(void)
{
	struct kv *kv;
	size_t n;
	const char *s = "a=1&b=x+y%21&&c&d=&%41=%e2%9c%93";

	CHECK(form_decode(s, strlen(s), 16, &kv, &n, NULL) == 0);
	CHECK(n == 5);
	CHECK_STR(kv[0].key, "a");
	CHECK_STR(kv[0].val, "1");
	CHECK_STR(kv[1].val, "x y!");
	CHECK_STR(kv[2].key, "c");
	CHECK_STR(kv[2].val, "");
	CHECK_STR(kv[3].key, "d");
	CHECK_STR(kv[3].val, "");
	CHECK_STR(kv[4].key, "A");
	CHECK_STR(kv[4].val, "\xe2\x9c\x93");
	kv_free(kv, n);

	CHECK(form_decode("", 0, 16, &kv, &n, NULL) == 0 && n == 0 &&
		kv == NULL);
}

static void
form_rejects_bad_input(void)
{
	static const char *const bad[] = { "a=%", "a=%4", "a=%zz", "a=%00",
		"%g1=2", "a=%%" };
	struct kv *kv;
	size_t n, i;

	for (i = 0; i < ARRAY_LEN(bad); i++) {
		CHECK(form_decode(bad[i], strlen(bad[i]), 16, &kv, &n,
			NULL) == -1);
		CHECK(kv == NULL && n == 0);
	}
	/* A raw NUL inside the length is refused too. */
	CHECK(form_decode("a=b\0c", 5, 16, &kv, &n, NULL) == -1);
	/* More pairs than allowed. */
	CHECK(form_decode("a&b&c", 5, 2, &kv, &n, NULL) == -1);
	CHECK(form_decode("a&b", 3, 2, &kv, &n, NULL) == 0 && n == 2);
	kv_free(kv, n);
}

static void
parse_fastcgi_request(void)
{
	const char *env[] = {
		"REQUEST_METHOD", "HEAD",
		"REQUEST_URI", "/jobs/a%20b?x=1",
		"QUERY_STRING", "x=1&y=%3F",
		"REMOTE_ADDR", "10.1.2.3",
		"HTTPS", "on",
		NULL, NULL,
	};
	struct kreq r;
	char msg[128];

	memset(&r, 0, sizeof(r));
	CHECK(req_parse(&r, fake_env, env, "body", 4, 0, msg,
		sizeof(msg)) == 0);
	CHECK(r.method == M_HEAD);
	CHECK_STR(r.path, "/jobs/a b");
	CHECK_STR(req_query(&r, "y"), "?");
	CHECK(req_query(&r, "z") == NULL);
	CHECK_STR(r.remote_addr, "10.1.2.3");
	CHECK(r.https == 1);
	CHECK(r.body_len == 4 && !strcmp(r.body, "body"));
	req_free(&r);
}

static void
parse_cgi_request_uses_path_info(void)
{
	const char *env[] = {
		"REQUEST_METHOD", "GET",
		"SCRIPT_NAME", "/cgi/api.cgi",
		"PATH_INFO", "/api/v1/health",
		"REQUEST_URI", "/cgi/api.cgi/api/v1/health",
		NULL, NULL,
	};
	const char *noinfo[] = { "REQUEST_METHOD", "GET", NULL, NULL };
	struct kreq r;
	char msg[128];

	memset(&r, 0, sizeof(r));
	CHECK(req_parse(&r, fake_env, env, NULL, 0, 1, msg, sizeof(msg)) == 0);
	CHECK_STR(r.path, "/api/v1/health");
	req_free(&r);
	CHECK(req_parse(&r, fake_env, noinfo, NULL, 0, 1, msg,
		sizeof(msg)) == 0);
	CHECK_STR(r.path, "/");
	req_free(&r);
}

static void
parse_rejects_bad_requests(void)
{
	char longuri[9000], msg[128];
	const char *badpath[] = { "REQUEST_URI", "/a%00b", NULL, NULL };
	const char *relpath[] = { "REQUEST_URI", "abc", NULL, NULL };
	const char *badqs[] = { "REQUEST_URI", "/", "QUERY_STRING", "a=%x",
		NULL, NULL };
	const char *toolong[] = { "REQUEST_URI", longuri, NULL, NULL };
	struct kreq r;

	memset(&r, 0, sizeof(r));
	CHECK(req_parse(&r, fake_env, badpath, NULL, 0, 0, msg,
		sizeof(msg)) == 400);
	CHECK_STR(msg, "malformed request path");
	req_free(&r);
	CHECK(req_parse(&r, fake_env, relpath, NULL, 0, 0, msg,
		sizeof(msg)) == 400);
	req_free(&r);
	CHECK(req_parse(&r, fake_env, badqs, NULL, 0, 0, msg,
		sizeof(msg)) == 400);
	CHECK_STR(msg, "query parameter \"a\" has a malformed %-escape");
	req_free(&r);
	memset(longuri, 'a', sizeof(longuri) - 1);
	longuri[0] = '/';
	longuri[sizeof(longuri) - 1] = '\0';
	CHECK(req_parse(&r, fake_env, toolong, NULL, 0, 0, msg,
		sizeof(msg)) == 414);
	req_free(&r);
	CHECK(req_parse(&r, fake_env, relpath + 2, NULL, REQ_MAX_BODY + 1, 0,
		msg, sizeof(msg)) == 413);
	req_free(&r);
}

static int h_a(struct kreq *r) { (void)r; return 0; }
static int h_b(struct kreq *r) { (void)r; return 0; }
static int h_c(struct kreq *r) { (void)r; return 0; }

static const struct route routes[] = {
	{ M_GET, "/", h_a, ACC_PUBLIC, 0, NULL, NULL },
	{ M_GET, "/jobs/{id}", h_b, ACC_PUBLIC, 0, NULL, NULL },
	{ M_DELETE, "/jobs/{id}", h_c, ACC_PUBLIC, 0, NULL, NULL },
	{ M_POST, "/jobs/{id}/cancel", h_c, ACC_PUBLIC, 0, NULL, NULL },
};

static const struct route *
route_for(enum http_method m, const char *path, int *status,
	struct buf *allow, struct kreq *r)
{
	memset(r, 0, sizeof(*r));
	r->method = m;
	r->path = strdup(path);
	return route_find(r, routes, ARRAY_LEN(routes), status, allow);
}

static void
routing(void)
{
	struct buf allow = { 0 };
	const struct route *rt;
	struct kreq r;
	int st = 0;

	rt = route_for(M_GET, "/", &st, NULL, &r);
	CHECK(rt == &routes[0]);
	req_free(&r);

	rt = route_for(M_HEAD, "/jobs/42", &st, NULL, &r);
	CHECK(rt == &routes[1]);
	CHECK(r.ncaptures == 1);
	CHECK_STR(r.captures[0], "42");
	req_free(&r);

	rt = route_for(M_POST, "/jobs/7/cancel", &st, NULL, &r);
	CHECK(rt == &routes[3]);
	CHECK_STR(r.captures[0], "7");
	req_free(&r);

	st = 0;
	rt = route_for(M_GET, "/jobs/", &st, NULL, &r);
	CHECK(rt == NULL && st == 404);
	req_free(&r);

	rt = route_for(M_GET, "/jobs/1/2", &st, NULL, &r);
	CHECK(rt == NULL && st == 404);
	req_free(&r);

	rt = route_for(M_PUT, "/jobs/9", &st, &allow, &r);
	CHECK(rt == NULL && st == 405);
	CHECK_STR(allow.data, "GET, HEAD, DELETE");
	CHECK(r.ncaptures == 0);
	req_free(&r);
	buf_free(&allow);
}

static int
collect(const void *p, size_t n, void *arg)
{
	return buf_append(arg, p, n);
}

static void
responses(void)
{
	struct buf out = { 0 };
	struct kreq r;
	json_object *o, *e, *v;

	memset(&r, 0, sizeof(r));
	r.method = M_GET;
	CHECK(resp_header(&r, "X-Evil", "a\r\nSet-Cookie: x=1") == -1);
	CHECK(resp_header(&r, "Bad:Name", "v") == -1);
	CHECK(resp_header(&r, "Cache-Control", "max-age=5") == 0);
	CHECK(resp_error_json(&r, 400, "validation_failed",
		"width: must be a multiple of 8 \"</script>\"", NULL) == -1);
	CHECK(req_send(&r, collect, &out) == 0);
	CHECK(strncmp(out.data, "Status: 400 Bad Request\r\n", 25) == 0);
	CHECK(strstr(out.data, "Content-Type: application/json\r\n") != NULL);
	CHECK(strstr(out.data, "X-Content-Type-Options: nosniff\r\n") != NULL);
	CHECK(strstr(out.data, "frame-ancestors 'none'") != NULL);
	CHECK(strstr(out.data, "unsafe-inline") == NULL);
	/* The handler's Cache-Control replaces the default. */
	CHECK(strstr(out.data, "Cache-Control: max-age=5\r\n") != NULL);
	CHECK(strstr(out.data, "no-store") == NULL);
	CHECK(strstr(out.data, "X-Evil") == NULL);

	o = json_tokener_parse(strstr(out.data, "\r\n\r\n") + 4);
	CHECK(o != NULL);
	CHECK(json_object_object_get_ex(o, "error", &e));
	CHECK(json_object_object_get_ex(e, "code", &v));
	CHECK_STR(json_object_get_string(v), "validation_failed");
	CHECK(json_object_object_get_ex(e, "message", &v));
	CHECK_STR(json_object_get_string(v),
		"width: must be a multiple of 8 \"</script>\"");
	json_object_put(o);
	req_free(&r);
	buf_free(&out);

	/* HEAD: same headers, no body. */
	memset(&r, 0, sizeof(r));
	r.method = M_HEAD;
	CHECK(resp_json_text(&r, 200, "{}") == 0);
	CHECK(req_send(&r, collect, &out) == 0);
	CHECK(strstr(out.data, "Content-Length: 3\r\n") != NULL);
	CHECK(strcmp(out.data + out.len - 4, "\r\n\r\n") == 0);
	req_free(&r);
	buf_free(&out);
}

static void
unavailable_says_when_to_retry(void)
{
	struct buf out = { 0 };
	struct kreq r;

	memset(&r, 0, sizeof(r));
	r.method = M_GET;
	resp_error_json(&r, 503, "database_unavailable", "down", NULL);
	CHECK(req_send(&r, collect, &out) == 0);
	CHECK(strstr(out.data, "\r\nRetry-After: 10\r\n") != NULL);
	req_free(&r);
	buf_free(&out);

	/* A handler's own value is the only one sent. */
	memset(&r, 0, sizeof(r));
	r.method = M_GET;
	CHECK(resp_header(&r, "Retry-After", "60") == 0);
	resp_error_json(&r, 503, "database_unavailable", "down", NULL);
	CHECK(req_send(&r, collect, &out) == 0);
	CHECK(strstr(out.data, "\r\nRetry-After: 60\r\n") != NULL);
	CHECK(strstr(out.data, "Retry-After: 10") == NULL);
	req_free(&r);
	buf_free(&out);

	/* Other statuses carry none. */
	memset(&r, 0, sizeof(r));
	r.method = M_GET;
	resp_error_json(&r, 500, "internal", "broken", NULL);
	CHECK(req_send(&r, collect, &out) == 0);
	CHECK(strstr(out.data, "Retry-After") == NULL);
	req_free(&r);
	buf_free(&out);
}

int
main(void)
{
	RUN(form_decoding);
	RUN(form_rejects_bad_input);
	RUN(parse_fastcgi_request);
	RUN(parse_cgi_request_uses_path_info);
	RUN(parse_rejects_bad_requests);
	RUN(routing);
	RUN(responses);
	RUN(unavailable_says_when_to_retry);
	return tap_done();
}
