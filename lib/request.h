/* request.h - one HTTP request as the handlers see it (parsed and checked
 * once, here), the response they build, and the route table type. */
#ifndef KILN_REQUEST_H
#define KILN_REQUEST_H

#include <stddef.h>

#include "util.h"

struct kiln_app;
struct _hdf;
struct auth;

#define REQ_MAX_PARAMS 256
#define REQ_MAX_CAPTURES 4
#define REQ_MAX_BODY (1u << 20)
#define REQ_MAX_COOKIES 64

struct kv {
	char *key;
	char *val;
};

/* Why form_decode refused: the name of the field whose value is at
 * fault (a fresh string; NULL when no one field is: a bad name, too many
 * pairs) and what is wrong ("contains a NUL byte"; static text). */
struct form_fault {
	char *field;
	const char *what;
};

enum http_method { M_GET, M_HEAD, M_POST, M_PUT, M_PATCH, M_DELETE,
	M_OPTIONS, M_OTHER };

struct kreq {
	/* Input, filled by req_parse before any handler runs. */
	enum http_method method;
	const char *method_name;
	char *path;			/* percent-decoded, starts with '/' */
	struct kv *query;
	size_t nquery;
	const char *remote_addr;
	const char *content_type;
	const char *cookie;
	const char *host;
	const char *origin;		/* "" when the client sent none */
	const char *referer;
	const char *user_agent;
	const char *authorization;
	const char *if_none_match;
	const char *idempotency_key;
	int https;
	char *body;			/* NUL-terminated, may be NULL */
	size_t body_len;
	/* A urlencoded POST body, decoded; the cookies, decoded. */
	struct kv *form;
	size_t nform;
	struct kv *cookies;
	size_t ncookies;
	/* Why req_parse refused the query string or form body, so that the
	 * answer can name the field. */
	struct form_fault fault;
	/* Captured {name} segments of the matched route, in order. */
	char *captures[REQ_MAX_CAPTURES];
	size_t ncaptures;

	/* Output, sent by req_send after the handler returns. */
	int status;
	const char *ctype;
	struct buf headers;		/* extra "Name: value\r\n" lines */
	struct buf out;

	/* Context. */
	struct kiln_app *app;
	struct _hdf *hdf;		/* template data, created on first use */
	struct auth *auth;		/* the signed-in user, or NULL */
	char *csrf_fresh;		/* a pre-session token made now */
};

/* A handler fills req's status, headers and body. It returns 0, or -1 after
 * it has already turned its failure into an error response. */
typedef int (*handler_fn)(struct kreq *req);

/* Who may use a route (struct route's access). */
enum access {
	ACC_PUBLIC = 0,		/* anyone; a session is still loaded */
	ACC_USER = 1,		/* a signed-in, enabled account */
	ACC_ADMIN = 2,		/* ... whose role is admin */
};

/* What an API key may do (struct route's scope, api_keys.scopes). */
enum scope {
	SCOPE_READ = 1 << 0,
	SCOPE_GENERATE = 1 << 1,
	SCOPE_ADMIN = 1 << 2,
};

/* One row of a program's route table. Path segments written "{name}"
 * match any one non-empty segment and are captured in order. */
struct route {
	enum http_method method;
	const char *pattern;
	handler_fn fn;
	enum access access;
	unsigned scope;			/* API only: SCOPE_* bits needed */
	/* The query parameters the route takes, space-separated ("": none;
	 * any other is refused before the handler runs), or NULL: not
	 * checked (the portal's pages; AUTOMATIC1111's routes). */
	const char *query;
};

/* The name of the first query parameter of req that allowed (a route's
 * query list, as above; not NULL) does not name, or NULL when there is
 * none. */
const char *req_unknown_query(const struct kreq *req, const char *allowed);

/* The environment-variable source of a request: FastCGI's envp array or
 * the process environment under plain CGI. */
typedef const char *(*env_fn)(const char *name, void *arg);

/* Parses the CGI variables (read through get) and body into req; cgi says
 * the route comes from PATH_INFO (plain CGI) rather than REQUEST_URI.
 * Returns 0, or an HTTP status (400, 413, 414, 500) with msg describing the
 * fault; req must be freed with req_free either way. */
int req_parse(struct kreq *req, env_fn get, void *env_arg, const char *body,
	size_t body_len, int cgi, char *msg, size_t msglen);

/* Frees everything req owns (not app); accepts a zeroed struct. */
void req_free(struct kreq *req);

/* Frees f's field and empties it; accepts NULL. */
void form_fault_clear(struct form_fault *f);

/* Decodes an application/x-www-form-urlencoded string into a fresh array.
 * Returns 0, or -1 on bad %-escapes, NUL bytes, or more than max pairs,
 * with *fault (when not NULL) saying which field and why; the caller
 * clears it with form_fault_clear. */
int form_decode(const char *s, size_t len, size_t max, struct kv **out,
	size_t *n, struct form_fault *fault);
void kv_free(struct kv *kv, size_t n);

/* Decodes a Cookie header ("a=1; b=2") into a fresh array; values are
 * percent-decoded, pairs without '=' are skipped. Returns 0, or -1 on more
 * than max pairs or no memory. */
int cookie_decode(const char *s, size_t max, struct kv **out, size_t *n);

/* The value of the first pair named key in the query string, the form
 * body or the cookies, or NULL. */
const char *req_query(const struct kreq *req, const char *key);
const char *req_form(const struct kreq *req, const char *key);
const char *req_cookie(const struct kreq *req, const char *key);

/* Parses the request body as a JSON object into *out (the caller puts
 * it). Returns 0, or -1 after answering 415 (not application/json) or 400
 * (malformed, or not an object) in req. */
struct json_object;
int req_json_body(struct kreq *req, struct json_object **out);

/* The route's {id} capture i as a positive integer, or 0 when it is not
 * one (callers answer 404). */
unsigned long long req_id(const struct kreq *req, size_t i);

/* The query parameter key as a positive id (a page cursor), or 0 when it
 * is absent or not one. */
unsigned long long req_query_id(const struct kreq *req, const char *key);

/* Finds the route for req's method and path. Returns the row, or NULL with
 * *status set to 404 (no such path) or 405 (path exists, other method;
 * allow then lists the methods). Captures are stored in req. */
const struct route *route_find(struct kreq *req, const struct route *routes,
	size_t n, int *status, struct buf *allow);

/* Response helpers. Each returns 0, or -1 when memory runs out. */
int resp_header(struct kreq *req, const char *name, const char *value);
/* Appends s percent-encoded for a query value (RFC 3986 unreserved
 * characters kept). Returns 0 or -1. */
int buf_url_escape(struct buf *b, const char *s);
/* A 303 See Other to a local URL. Returns 0 or -1. */
int resp_redirect(struct kreq *req, const char *url);
/* Sets a cookie: Path=/, HttpOnly, SameSite=Lax, Secure under HTTPS;
 * max_age < 0 leaves it a browser-session cookie, 0 deletes it. */
int resp_cookie(struct kreq *req, const char *name, const char *value,
	long max_age);
/* Sets the JSON body text and content type. */
int resp_json_text(struct kreq *req, int status, const char *json);
/* The one place JSON errors are built:
 * {"error":{"code":…,"message":…,"fields":{…}}}. fields may be NULL; it is
 * a json_object* whose ownership passes to this function. Returns -1 so a
 * handler can `return resp_error_json(...)`. */
int resp_error_json(struct kreq *req, int status, const char *code,
	const char *message, void *fields);

/* A JSON string for s, or NULL (JSON null) when s is NULL: an SQL NULL
 * column as it goes out. */
struct json_object *json_str_or_null(const char *s);

/* site_url() as a JSON string, or NULL when memory runs out. */
struct json_object *json_site_url(const char *base_url, const char *fmt,
	...) __attribute__((format(printf, 2, 3)));

/* The reason phrase for an HTTP status. */
const char *http_reason(int status);

/* Seconds a 503 answer asks clients to wait (Retry-After) unless its
 * handler set its own. */
#define RETRY_AFTER_503 10

/* Writes status line, headers (the security headers included; Retry-After
 * on a 503) and body (not for HEAD) through write_fn. Returns 0, or -1 if
 * a write failed. */
typedef int (*write_fn)(const void *p, size_t n, void *arg);
int req_send(struct kreq *req, write_fn w, void *warg);

#endif
