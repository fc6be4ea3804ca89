/* request.h - one HTTP request as the handlers see it (parsed and checked
 * once, here), the response they build, and the route table type. */
#ifndef KILN_REQUEST_H
#define KILN_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct kiln_app;
struct _hdf;
struct auth;

#define REQ_MAX_PARAMS 256
#define REQ_MAX_CAPTURES 4
#define REQ_MAX_BODY (1u << 20)
#define REQ_MAX_COOKIES 64
#define REQ_MAX_INPUTS 40		/* declared inputs of one route */

struct mp_part;

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

/*
 * Declared inputs (kcgi's keys[] and fieldmap[]): each route lists the form
 * fields it takes, with their types and limits; req_inputs checks the form
 * against that list once, before the handler, and the handler reads typed
 * values by their index in the list (an enum of the page's own), never the
 * raw form. A refusal is only recorded: the handler decides what it means
 * and in what order it is told (after a 404, a rate limit...).
 */
enum input_type {
	IN_STR,		/* text of min..max bytes */
	IN_INT,		/* a whole number in [min, max] (parse_long) */
	IN_DEC,		/* a plain decimal in [min, max] (parse_decimal) */
	IN_BOOL,	/* "0" or "1": a checkbox whose value is "1" reads
			 * 0 when unticked (absent) */
	IN_ENUM,	/* one of choices; n is its index */
	IN_SET,		/* the field may repeat (checkboxes of one name): each
			 * value a comma-separated list of choices, naming at
			 * least one; n has bit i for choices[i] */
};

/* struct input's flags. */
#define IN_REQUIRED	0x01	/* absent is refused (IN_MISSING) */
#define IN_TEXT		0x02	/* IN_STR: UTF-8, no control characters */
#define IN_LINES	0x04	/* with IN_TEXT: line breaks and tabs too */
#define IN_BLANK	0x08	/* an empty value counts as absent: a form's
				 * empty box, "the default" */

struct input {
	const char *name;		/* NULL ends a list (IN_END) */
	enum input_type type;
	unsigned flags;
	long min, max;			/* IN_STR: bytes; IN_INT, IN_DEC: value */
	const char *const *choices;	/* IN_ENUM, IN_SET: NULL-terminated */
	int (*check)(const char *s);	/* IN_STR: a further rule, 1 when it
					 * holds; or NULL */
	const char *msg;		/* the message beside the field when the
					 * value is refused (view_input_error) */
};

#define IN_END { .name = NULL }

/* Why a value was refused. */
enum in_fault {
	IN_OK = 0,
	IN_MISSING,		/* IN_REQUIRED, absent */
	IN_EMPTY,		/* "" where min > 0 */
	IN_SHORT,		/* IN_STR shorter than min */
	IN_LONG,		/* IN_STR longer than max */
	IN_CONTROL,		/* IN_TEXT: a control character */
	IN_BAD_UTF8,		/* IN_TEXT: not UTF-8 */
	IN_NOT_NUMBER,		/* IN_INT, IN_DEC: junk */
	IN_RANGE,		/* IN_INT, IN_DEC: outside [min, max] */
	IN_NOT_CHOICE,		/* IN_BOOL, IN_ENUM, IN_SET */
	IN_CHECK,		/* check() said no */
};

enum in_state { IN_ABSENT = 0, IN_VALID, IN_REFUSED };

/* One input's value as checked. Its strings are the request's (or the
 * declaration's choices). */
struct in_value {
	enum in_state state;
	enum in_fault fault;
	const char *sent;	/* as sent, valid or not (IN_SET: the first
				 * value); NULL when not sent */
	const char *s;		/* IN_VALID: the text (IN_ENUM: the choice) */
	long n;			/* IN_VALID: IN_INT's number, IN_BOOL's 0/1,
				 * IN_ENUM's index, IN_SET's bits */
	double d;		/* IN_VALID: IN_DEC's number */
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
	const char *accept_language;
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
	/* A multipart/form-data body's parts (its text fields are in form
	 * too); their data points into body. */
	struct mp_part *parts;
	size_t nparts;
	/* Why req_parse refused the query string or form body, so that the
	 * answer can name the field. */
	struct form_fault fault;
	/* Captured {name} segments of the matched route, in order. */
	char *captures[REQ_MAX_CAPTURES];
	size_t ncaptures;
	/* The route's declared form inputs and their values, as
	 * req_inputs checked them. */
	const struct input *inputs;
	size_t ninputs;
	struct in_value in[REQ_MAX_INPUTS];

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
	ACC_MODERATOR = 3,	/* ... whose role is moderator or admin */
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
	/* The form fields the route takes (IN_END-terminated), checked
	 * into req->in before the handler runs; NULL: none. */
	const struct input *form;
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
 * Returns 0, or an HTTP status (400, 413, 414) with msg describing the
 * fault; req must be freed with req_free either way. */
int req_parse(struct kreq *req, env_fn get, void *env_arg, const char *body,
	size_t body_len, int cgi, char *msg, size_t msglen);

/* Gives req its body: body (len bytes and a NUL after them, malloc'd;
 * req owns it from now on, whatever is returned), decoded as a form when
 * its content type says so. req_parse does this for a body within
 * REQ_MAX_BODY; the server loop for a larger one once the route is
 * known to take uploads (struct program's uploads). Returns 0, or 400
 * with why in msg. */
int req_body_take(struct kreq *req, char *body, size_t len, char *msg,
	size_t msglen);

/* The file part name of req's multipart form, when one was sent with
 * a file name and data: 1 with *data and *len (valid while req is),
 * else 0. An empty file input (no file chosen) is absent. */
int req_file(const struct kreq *req, const char *name, const uint8_t **data,
	size_t *len);

/* The largest body a route that takes uploads accepts: three images of
 * [limits] upload_max_mb as base64 (4 characters per 3 bytes), with
 * room for the rest of the request. */
struct kiln_config;
size_t req_upload_body_max(const struct kiln_config *c);

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
 * than max pairs. */
int cookie_decode(const char *s, size_t max, struct kv **out, size_t *n);

/* The value of the first pair named key in the query string or the
 * cookies, or NULL. (The form body is read through declared inputs.) */
const char *req_query(const struct kreq *req, const char *key);
const char *req_cookie(const struct kreq *req, const char *key);

/* Checks one text against in's type and limits (IN_REQUIRED and
 * IN_BLANK aside: they concern a value's absence) into *v, whose sent is
 * text. Returns 0 (IN_VALID), or -1 (IN_REFUSED, v->fault says why). The
 * one rule for a value, whether it came in a form or as a JSON number's
 * text. */
int in_check(const struct input *in, const char *text, struct in_value *v);

/* Finds in's field in req's form body and checks it into *v: IN_ABSENT
 * when it is not there (or, IN_BLANK, empty), refused with IN_MISSING
 * when it is IN_REQUIRED. The first of repeated fields counts, but for
 * IN_SET, which takes them all. Returns 0, or -1 when refused. */
int req_input(const struct kreq *req, const struct input *in,
	struct in_value *v);

/* Checks req's form body against list (IN_END-terminated), the route's
 * declared form, into req->in. Nothing is answered: the handler reads the
 * values and refusals. Returns 0, or -1 when list is longer than
 * REQ_MAX_INPUTS (a bug in the route table). */
int req_inputs(struct kreq *req, const struct input *list);

/* Input key of the route's list: its value, an absent one when key is
 * beyond the list (a route that declares none). */
const struct in_value *in_get(const struct kreq *req, size_t key);
/* The valid text (IN_ENUM: the choice), or NULL: absent or refused. */
const char *in_str(const struct kreq *req, size_t key);
/* The valid number (IN_INT, IN_BOOL, IN_ENUM's index, IN_SET's bits), or
 * 0: absent or refused. */
long in_long(const struct kreq *req, size_t key);
/* 1 when the input was refused (a required one missing included). */
int in_bad(const struct kreq *req, size_t key);
/* The text as sent, valid or not, or NULL: only to show it back in its
 * box beside the message, never to act on. */
const char *in_sent(const struct kreq *req, size_t key);

/* Parses the request body as a JSON object into *out (the caller puts
 * it). Returns 0, or -1 after answering 415 (not application/json) or 400
 * (malformed, or not an object) in req. */
struct json_object;
int req_json_body(struct kreq *req, struct json_object **out);
/* The same whatever the Content-Type, as aiohttp's request.json() reads
 * it: for ComfyUI's clients, whose Python urllib labels JSON as a form
 * (400 only: never 415). */
int req_json_body_any(struct kreq *req, struct json_object **out);

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
/* The same with the cookie's Path (a local path: no ';', ',' or space)
 * and SameSite ("Lax" or "Strict"). */
int resp_cookie_ex(struct kreq *req, const char *name, const char *value,
	long max_age, const char *path, const char *samesite);
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
