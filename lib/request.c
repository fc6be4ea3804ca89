/* request.c - CGI variables to a checked struct kreq; routing; building and
 * sending responses. */
#include "request.h"
#include "accounts.h"
#include "auth.h"
#include "config.h"
#include "multipart.h"
#include "util.h"

#include <ctype.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ClearSilver.h>

#define REQ_MAX_URI 8192

/* Percent-decodes s[0..len) into a fresh string; plus_space turns '+' into
 * ' ' (forms). Returns NULL on a bad escape or an encoded NUL, with *why
 * (when why is not NULL) saying which. */
static char *
pct_decode(const char *s, size_t len, int plus_space, const char **why)
{
	char *out = xmalloc(len + 1), *o = out;
	size_t i;

	if (why != NULL)
		*why = "has a malformed %-escape";
	for (i = 0; i < len; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				goto bad;
			hi = hex_digit((unsigned char)s[i + 1]);
			lo = hex_digit((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				goto bad;
			c = hi * 16 + lo;
			i += 2;
		} else if (c == '+' && plus_space) {
			c = ' ';
		}
		/* A NUL would cut the text short wherever it goes. */
		if (c == 0) {
			if (why != NULL)
				*why = "contains a NUL byte";
			goto bad;
		}
		*o++ = (char)c;
	}
	*o = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

void
kv_free(struct kv *kv, size_t n)
{
	size_t i;

	for (i = 0; kv != NULL && i < n; i++) {
		free(kv[i].key);
		free(kv[i].val);
	}
	free(kv);
}

/* Appends the pair (k, v), taking both, to the array *kv of *cnt pairs
 * and *cap slots, growing it as needed (the callers' max bounds it). */
static void
kv_push(struct kv **kv, size_t *cnt, size_t *cap, char *k, char *v)
{
	if (*cnt == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*kv = xreallocarray(*kv, *cap, sizeof(**kv));
	}
	(*kv)[*cnt].key = k;
	(*kv)[*cnt].val = v;
	(*cnt)++;
}

void
form_fault_clear(struct form_fault *f)
{
	if (f == NULL)
		return;
	free(f->field);
	f->field = NULL;
	f->what = NULL;
}

int
form_decode(const char *s, size_t len, size_t max, struct kv **out,
	size_t *n, struct form_fault *fault)
{
	struct kv *kv = NULL;
	size_t cnt = 0, cap = 0, pos = 0;
	const char *why = NULL;

	*out = NULL;
	*n = 0;
	while (pos < len) {
		size_t end = pos, eq;
		char *k, *v;

		while (end < len && s[end] != '&')
			end++;
		if (end == pos) {	/* "a=1&&b=2": skip the empty pair */
			pos = end + 1;
			continue;
		}
		for (eq = pos; eq < end && s[eq] != '='; eq++)
			;
		if (cnt == max) {
			why = "too many fields";
			goto bad;
		}
		k = pct_decode(s + pos, eq - pos, 1, &why);
		if (k == NULL) {
			why = "a field name is malformed (a bad %-escape or a "
				"NUL byte)";
			goto bad;
		}
		v = eq < end ? pct_decode(s + eq + 1, end - eq - 1, 1, &why)
			: xstrdup("");
		if (v == NULL) {
			/* The value is the fault: say whose it is. */
			if (fault != NULL) {
				fault->field = k;
				k = NULL;
			}
			free(k);
			goto bad;
		}
		kv_push(&kv, &cnt, &cap, k, v);
		pos = end + 1;
	}
	*out = kv;
	*n = cnt;
	return 0;
bad:
	if (fault != NULL)
		fault->what = why;
	kv_free(kv, cnt);
	return -1;
}

static enum http_method
parse_method(const char *m)
{
	static const struct {
		const char *name;
		enum http_method m;
	} tab[] = {
		{ "GET", M_GET }, { "HEAD", M_HEAD }, { "POST", M_POST },
		{ "PUT", M_PUT }, { "PATCH", M_PATCH },
		{ "DELETE", M_DELETE }, { "OPTIONS", M_OPTIONS },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(tab); i++)
		if (!strcmp(m, tab[i].name))
			return tab[i].m;
	return M_OTHER;
}

static const char *
env_or(env_fn get, void *arg, const char *name, const char *def)
{
	const char *v = get(name, arg);

	return v != NULL ? v : def;
}

/* The message of a form_decode refusal: the field named when there is
 * one ('form field "prompt" contains a NUL byte'). */
static void
fault_message(const struct form_fault *f, const char *kind,
	const char *whole, char *msg, size_t msglen)
{
	if (f->field != NULL)
		errf(msg, msglen, "%s \"%s\" %s", kind, f->field,
			f->what ? f->what : "is malformed");
	else
		errf(msg, msglen, "malformed %s: %s", whole,
			f->what ? f->what : "cannot be decoded");
}

int
req_file(const struct kreq *req, const char *name, const uint8_t **data,
	size_t *len)
{
	size_t i;

	for (i = 0; i < req->nparts; i++) {
		const struct mp_part *pt = &req->parts[i];

		if (pt->filename == NULL || strcmp(pt->name, name) != 0)
			continue;
		if (pt->len == 0 && pt->filename[0] == '\0')
			return 0;
		*data = pt->data;
		*len = pt->len;
		return 1;
	}
	return 0;
}

size_t
req_upload_body_max(const struct kiln_config *c)
{
	return (size_t)c->upload_max_mb * 1048576 / 3 * 4 * 3 + REQ_MAX_BODY;
}

int
req_body_take(struct kreq *req, char *body, size_t len, char *msg,
	size_t msglen)
{
	char boundary[72];

	free(req->body);
	req->body = body;
	req->body_len = len;
	if (multipart_boundary(req->content_type, boundary) == 0) {
		size_t i, cap = 0;

		if (multipart_parse((const uint8_t *)body, len, boundary,
		    &req->parts, &req->nparts, msg, msglen) != 0)
			return 400;
		/* The text fields are the form's, as a urlencoded body's:
		 * the declared inputs read them the same way. */
		for (i = 0; i < req->nparts; i++) {
			const struct mp_part *pt = &req->parts[i];

			if (pt->filename != NULL)
				continue;
			if (memchr(pt->data, '\0', pt->len) != NULL) {
				req->fault.field = xstrdup(pt->name);
				req->fault.what = "contains a NUL byte";
				fault_message(&req->fault, "form field",
					"form body", msg, msglen);
				return 400;
			}
			kv_push(&req->form, &req->nform, &cap,
				xstrdup(pt->name), xstrndup((const char *)
				pt->data, pt->len));
		}
		return 0;
	}
	if (!strncasecmp(req->content_type,
	    "application/x-www-form-urlencoded", 33) &&
	    form_decode(req->body, req->body_len, REQ_MAX_PARAMS, &req->form,
	    &req->nform, &req->fault) != 0) {
		/* Python's urllib labels every body it POSTs as a form:
		 * ComfyUI's own example script sends its JSON so ("100%"
		 * in a prompt is no %-escape). A body that opens as a JSON
		 * object is left to the routes that read JSON whatever the
		 * label (req_json_body_any); to a form it has no fields. */
		if (req->body_len > 0 && req->body[0] == '{') {
			form_fault_clear(&req->fault);
			return 0;
		}
		fault_message(&req->fault, "form field", "form body", msg,
			msglen);
		return 400;
	}
	return 0;
}

int
req_parse(struct kreq *req, env_fn get, void *arg, const char *body,
	size_t body_len, int cgi, char *msg, size_t msglen)
{
	const char *uri, *qs, *q, *https;
	size_t plen;

	req->status = 200;
	req->ctype = "text/html; charset=utf-8";
	req->method_name = env_or(get, arg, "REQUEST_METHOD", "GET");
	req->method = parse_method(req->method_name);
	req->remote_addr = env_or(get, arg, "REMOTE_ADDR", "");
	req->content_type = env_or(get, arg, "CONTENT_TYPE", "");
	req->cookie = env_or(get, arg, "HTTP_COOKIE", "");
	req->host = env_or(get, arg, "HTTP_HOST", "");
	req->origin = env_or(get, arg, "HTTP_ORIGIN", "");
	req->referer = env_or(get, arg, "HTTP_REFERER", "");
	req->user_agent = env_or(get, arg, "HTTP_USER_AGENT", "");
	req->accept_language = env_or(get, arg, "HTTP_ACCEPT_LANGUAGE", "");
	/* Apache passes Authorization to CGI programs only when told to
	 * (CGIPassAuth / the rewrite in kiln-site.conf). */
	req->authorization = env_or(get, arg, "HTTP_AUTHORIZATION", "");
	req->if_none_match = env_or(get, arg, "HTTP_IF_NONE_MATCH", "");
	req->idempotency_key = env_or(get, arg, "HTTP_IDEMPOTENCY_KEY", "");
	https = env_or(get, arg, "HTTPS", "");
	req->https = !strcasecmp(https, "on") || !strcmp(https, "1");

	/* FastCGI servers pass the whole URL in REQUEST_URI; under plain CGI
	 * the program's own URL is SCRIPT_NAME and the route is PATH_INFO. */
	if (cgi) {
		uri = env_or(get, arg, "PATH_INFO", "");
		if (*uri == '\0')
			uri = "/";
		plen = strlen(uri);
		if (plen > REQ_MAX_URI) {
			snprintf(msg, msglen, "URI too long");
			return 414;
		}
		/* PATH_INFO is already decoded by the server. */
		req->path = xstrdup(uri);
	} else {
		uri = env_or(get, arg, "REQUEST_URI", "/");
		q = strchr(uri, '?');
		plen = q ? (size_t)(q - uri) : strlen(uri);
		if (strlen(uri) > REQ_MAX_URI) {
			snprintf(msg, msglen, "URI too long");
			return 414;
		}
		req->path = pct_decode(uri, plen, 0, NULL);
		if (req->path == NULL)
			goto bad_path;
	}
	if (req->path[0] != '/')
		goto bad_path;

	qs = env_or(get, arg, "QUERY_STRING", "");
	if (strlen(qs) > REQ_MAX_URI) {
		snprintf(msg, msglen, "URI too long");
		return 414;
	}
	if (form_decode(qs, strlen(qs), REQ_MAX_PARAMS, &req->query,
	    &req->nquery, &req->fault) != 0) {
		fault_message(&req->fault, "query parameter", "query string",
			msg, msglen);
		return 400;
	}
	if (body_len > REQ_MAX_BODY) {
		snprintf(msg, msglen, "request body larger than %u bytes",
			REQ_MAX_BODY);
		return 413;
	}
	if (body != NULL) {
		/* Unchecked like any small allocation: a body is at most
		 * REQ_MAX_BODY, 1 MiB. */
		char *copy = xmalloc(body_len + 1);
		int st;

		memcpy(copy, body, body_len);
		copy[body_len] = '\0';
		st = req_body_take(req, copy, body_len, msg, msglen);
		if (st != 0)
			return st;
	}
	if (cookie_decode(req->cookie, REQ_MAX_COOKIES, &req->cookies,
	    &req->ncookies) != 0) {
		snprintf(msg, msglen, "malformed or too many cookies");
		return 400;
	}
	return 0;
bad_path:
	snprintf(msg, msglen, "malformed request path");
	return 400;
}

void
req_free(struct kreq *req)
{
	size_t i;

	free(req->path);
	kv_free(req->query, req->nquery);
	kv_free(req->form, req->nform);
	multipart_free(req->parts, req->nparts);
	kv_free(req->cookies, req->ncookies);
	form_fault_clear(&req->fault);
	auth_free(req->auth);
	free(req->csrf_fresh);
	free(req->body);
	for (i = 0; i < req->ncaptures; i++)
		free(req->captures[i]);
	buf_free(&req->headers);
	buf_free(&req->out);
	if (req->hdf != NULL)
		hdf_destroy(&req->hdf);
	memset(req, 0, sizeof(*req));
}

int
cookie_decode(const char *s, size_t max, struct kv **out, size_t *n)
{
	struct kv *kv = NULL;
	size_t cnt = 0, cap = 0;

	*out = NULL;
	*n = 0;
	while (*s != '\0') {
		size_t len = strcspn(s, ";"), klen, vlen;
		const char *p = s, *eq, *end = s + len;
		char *k, *v;

		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		eq = memchr(p, '=', (size_t)(end - p));
		s = *end ? end + 1 : end;
		if (eq == NULL || eq == p)
			continue;	/* not a name=value pair: ignored */
		klen = (size_t)(eq - p);
		while (klen > 0 && (p[klen - 1] == ' ' || p[klen - 1] == '\t'))
			klen--;
		eq++;
		while (eq < end && (*eq == ' ' || *eq == '\t'))
			eq++;
		vlen = (size_t)(end - eq);
		while (vlen > 0 && (eq[vlen - 1] == ' ' || eq[vlen - 1] == '\t'))
			vlen--;
		/* RFC 6265 allows a quoted value. */
		if (vlen >= 2 && eq[0] == '"' && eq[vlen - 1] == '"') {
			eq++;
			vlen -= 2;
		}
		if (cnt == max)
			goto bad;
		k = xstrndup(p, klen);
		/* A value that does not percent-decode is kept as sent: it
		 * belongs to some other application on this host. */
		v = pct_decode(eq, vlen, 0, NULL);
		if (v == NULL)
			v = xstrndup(eq, vlen);
		kv_push(&kv, &cnt, &cap, k, v);
	}
	*out = kv;
	*n = cnt;
	return 0;
bad:
	kv_free(kv, cnt);
	return -1;
}

static const char *
kv_find(const struct kv *kv, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(kv[i].key, key))
			return kv[i].val;
	return NULL;
}

const char *
req_query(const struct kreq *req, const char *key)
{
	return kv_find(req->query, req->nquery, key);
}

const char *
req_cookie(const struct kreq *req, const char *key)
{
	return kv_find(req->cookies, req->ncookies, key);
}

/* The index of the choice that s[0..len) is, or -1. */
static int
choice_index(const char *const *choices, const char *s, size_t len)
{
	int i;

	for (i = 0; choices != NULL && choices[i] != NULL; i++)
		if (strlen(choices[i]) == len && !strncmp(s, choices[i], len))
			return i;
	return -1;
}

/* IN_SET: the bits of one value, a comma-separated list of choices
 * (empty items skipped, as scopes_parse does). Returns 0, or -1 when it
 * names something else or nothing. */
static int
set_bits(const char *const *choices, const char *s, long *bits)
{
	long b = 0;

	while (*s != '\0') {
		size_t len = strcspn(s, ",");
		int i = len > 0 ? choice_index(choices, s, len) : 0;

		if (i < 0 || i >= (int)(sizeof(long) * 8 - 1))
			return -1;
		if (len > 0)
			b |= 1L << i;
		s += len;
		if (*s == ',')
			s++;
	}
	if (b == 0)
		return -1;
	*bits = b;
	return 0;
}

/* The fault of text for an IN_STR input, or IN_OK. */
static enum in_fault
str_fault(const struct input *in, const char *text)
{
	size_t n = strlen(text);

	if (n == 0 && in->min > 0)
		return IN_EMPTY;
	if ((long)n < in->min)
		return IN_SHORT;
	if ((long)n > in->max)
		return IN_LONG;
	if (in->flags & (IN_TEXT | IN_LINES)) {
		switch (text_check(text, (size_t)in->max,
		    (in->flags & IN_LINES) != 0)) {
		case TEXT_OK:
			break;
		case TEXT_TOO_LONG:
			return IN_LONG;
		case TEXT_CONTROL:
			return IN_CONTROL;
		case TEXT_BAD_UTF8:
			return IN_BAD_UTF8;
		}
	}
	if (in->check != NULL && !in->check(text))
		return IN_CHECK;
	return IN_OK;
}

int
in_check(const struct input *in, const char *text, struct in_value *v)
{
	long n;
	double d;
	int i;

	memset(v, 0, sizeof(*v));
	v->sent = text;
	switch (in->type) {
	case IN_STR:
		v->fault = str_fault(in, text);
		v->s = text;
		break;
	case IN_INT:
		/* Judged by the strict call; the second only names the
		 * fault ("-0" is no number for a field without negatives). */
		if (parse_long(text, in->min, in->max, &v->n) != 0)
			v->fault = parse_long(text, LONG_MIN, LONG_MAX, &n) == 0 ?
				IN_RANGE : IN_NOT_NUMBER;
		break;
	case IN_DEC:
		if (parse_decimal(text, (double)in->min, (double)in->max,
		    &v->d) != 0)
			v->fault = parse_decimal(text, -HUGE_VAL, HUGE_VAL,
				&d) == 0 ? IN_RANGE : IN_NOT_NUMBER;
		break;
	case IN_BOOL:
		if (strcmp(text, "0") != 0 && strcmp(text, "1") != 0)
			v->fault = IN_NOT_CHOICE;
		v->n = text[0] == '1';
		break;
	case IN_ENUM:
		i = choice_index(in->choices, text, strlen(text));
		if (i < 0) {
			v->fault = IN_NOT_CHOICE;
			break;
		}
		v->n = i;
		v->s = in->choices[i];
		break;
	case IN_SET:
		if (set_bits(in->choices, text, &v->n) != 0)
			v->fault = IN_NOT_CHOICE;
		break;
	}
	if (v->fault != IN_OK) {
		v->state = IN_REFUSED;
		v->s = NULL;
		v->n = 0;
		v->d = 0;
		return -1;
	}
	v->state = IN_VALID;
	return 0;
}

int
req_input(const struct kreq *req, const struct input *in,
	struct in_value *v)
{
	const char *text = kv_find(req->form, req->nform, in->name);
	struct in_value one;
	size_t i;

	memset(v, 0, sizeof(*v));
	v->sent = text;
	if (text == NULL || (*text == '\0' && (in->flags & IN_BLANK))) {
		if (!(in->flags & IN_REQUIRED))
			return 0;
		v->state = IN_REFUSED;
		v->fault = IN_MISSING;
		return -1;
	}
	if (in->type != IN_SET)
		return in_check(in, text, v);
	/* Every value of the name, their bits together. */
	for (i = 0; i < req->nform; i++) {
		if (strcmp(req->form[i].key, in->name) != 0)
			continue;
		if (in_check(in, req->form[i].val, &one) != 0) {
			*v = one;
			v->sent = text;
			return -1;
		}
		v->n |= one.n;
	}
	v->state = IN_VALID;
	return 0;
}

int
req_inputs(struct kreq *req, const struct input *list)
{
	size_t n;

	for (n = 0; list[n].name != NULL; n++)
		if (n == REQ_MAX_INPUTS)
			return -1;
	req->inputs = list;
	req->ninputs = n;
	for (n = 0; n < req->ninputs; n++)
		req_input(req, &list[n], &req->in[n]);
	return 0;
}

const struct in_value *
in_get(const struct kreq *req, size_t key)
{
	static const struct in_value absent = { IN_ABSENT, IN_OK, NULL, NULL,
		0, 0 };

	return key < req->ninputs ? &req->in[key] : &absent;
}

const char *
in_str(const struct kreq *req, size_t key)
{
	const struct in_value *v = in_get(req, key);

	return v->state == IN_VALID ? v->s : NULL;
}

long
in_long(const struct kreq *req, size_t key)
{
	const struct in_value *v = in_get(req, key);

	return v->state == IN_VALID ? v->n : 0;
}

int
in_bad(const struct kreq *req, size_t key)
{
	return in_get(req, key)->state == IN_REFUSED;
}

const char *
in_sent(const struct kreq *req, size_t key)
{
	return in_get(req, key)->sent;
}

static int json_body(struct kreq *req, json_object **out);

int
req_json_body(struct kreq *req, json_object **out)
{
	*out = NULL;
	/* "application/json", perhaps with parameters; nothing longer. */
	if (strncasecmp(req->content_type, "application/json", 16) != 0 ||
	    (req->content_type[16] != '\0' && req->content_type[16] != ';' &&
	    req->content_type[16] != ' '))
		return resp_error_json(req, 415, "unsupported_media_type",
			"send the body as Content-Type: application/json",
			NULL);
	return json_body(req, out);
}

int
req_json_body_any(struct kreq *req, json_object **out)
{
	*out = NULL;
	return json_body(req, out);
}

static int
json_body(struct kreq *req, json_object **out)
{
	json_tokener *tok;
	json_object *o;
	size_t end;

	if (req->body == NULL || req->body_len == 0)
		return resp_error_json(req, 400, "bad_request",
			"the request needs a JSON object body", NULL);
	tok = json_tokener_new_ex(32);
	if (tok == NULL)
		return resp_error_json(req, 500, "internal", "out of memory",
			NULL);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
		JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, req->body, (int)req->body_len);
	end = o != NULL ? json_tokener_get_parse_end(tok) : 0;
	while (end < req->body_len && strchr(" \t\r\n", req->body[end]) &&
	    req->body[end] != '\0')
		end++;
	/* The whole body must be one object: nothing but space after it. */
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    end != req->body_len ||
	    !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		json_tokener_free(tok);
		return resp_error_json(req, 400, "bad_request",
			"the body is not a well-formed JSON object", NULL);
	}
	json_tokener_free(tok);
	*out = o;
	return 0;
}

/* s as a positive id (database ids and cursors), or 0 when it is not one. */
static unsigned long long
positive_id(const char *s)
{
	long v;

	return parse_long(s, 1, 1L << 62, &v) == 0 ? (unsigned long long)v : 0;
}

unsigned long long
req_id(const struct kreq *req, size_t i)
{
	return i < req->ncaptures ? positive_id(req->captures[i]) : 0;
}

unsigned long long
req_query_id(const struct kreq *req, const char *key)
{
	const char *v = req_query(req, key);

	return v != NULL ? positive_id(v) : 0;
}

const char *
req_unknown_query(const struct kreq *req, const char *allowed)
{
	size_t i;

	for (i = 0; i < req->nquery; i++) {
		const char *k = req->query[i].key, *a = allowed;
		size_t kl = strlen(k);
		int found = 0;

		while (*a != '\0' && !found) {
			size_t al = strcspn(a, " ");

			found = al == kl && kl > 0 && !strncmp(a, k, kl);
			a += al;
			a += strspn(a, " ");
		}
		if (!found)
			return k;
	}
	return NULL;
}

/* Matches path against pattern segment by segment; on success the {name}
 * segments are copied into caps. Returns the capture count, or -1. */
static int
match(const char *pattern, const char *path, char **caps, size_t maxcaps)
{
	const char *p = pattern, *s = path;
	size_t nc = 0, i;

	while (*p != '\0' && *s != '\0') {
		if (p[0] == '{') {
			const char *pe = strchr(p, '}');
			size_t sl = strcspn(s, "/");

			if (pe == NULL || sl == 0 || nc == maxcaps)
				goto fail;
			caps[nc++] = xstrndup(s, sl);
			p = pe + 1;
			s += sl;
			continue;
		}
		if (*p != *s)
			goto fail;
		p++;
		s++;
	}
	if (*p != '\0' || *s != '\0')
		goto fail;
	return (int)nc;
fail:
	for (i = 0; i < nc; i++) {
		free(caps[i]);
		caps[i] = NULL;
	}
	return -1;
}

static const char *
method_name(enum http_method m)
{
	static const char *const names[] = { "GET", "HEAD", "POST", "PUT",
		"PATCH", "DELETE", "OPTIONS", "" };

	return names[m];
}

const struct route *
route_find(struct kreq *req, const struct route *routes, size_t n,
	int *status, struct buf *allow)
{
	/* HEAD is served by the GET handler; req_send drops the body. */
	enum http_method m = req->method == M_HEAD ? M_GET : req->method;
	char *caps[REQ_MAX_CAPTURES];
	int path_seen = 0, nc;
	size_t i, j;

	for (i = 0; i < n; i++) {
		nc = match(routes[i].pattern, req->path, caps,
			REQ_MAX_CAPTURES);
		if (nc < 0)
			continue;
		if (routes[i].method == m) {
			for (j = 0; j < req->ncaptures; j++)
				free(req->captures[j]);
			memcpy(req->captures, caps, (size_t)nc * sizeof(*caps));
			req->ncaptures = (size_t)nc;
			return &routes[i];
		}
		for (j = 0; j < (size_t)nc; j++)
			free(caps[j]);
		if (allow != NULL) {
			if (buf_printf(allow, "%s%s", path_seen ? ", " : "",
			    method_name(routes[i].method)) != 0)
				return NULL;
			if (routes[i].method == M_GET)
				buf_puts(allow, ", HEAD");
		}
		path_seen = 1;
	}
	*status = path_seen ? 405 : 404;
	return NULL;
}

int
resp_header(struct kreq *req, const char *name, const char *value)
{
	/* A header value never carries a line break: that would let input
	 * inject headers. */
	if (strpbrk(name, "\r\n:") != NULL || strpbrk(value, "\r\n") != NULL)
		return -1;
	return buf_printf(&req->headers, "%s: %s\r\n", name, value);
}

int
buf_url_escape(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
		    c == '/') {
			if (buf_append(b, s, 1) != 0)
				return -1;
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			if (buf_append(b, e, 3) != 0)
				return -1;
		}
	}
	return 0;
}

int
resp_redirect(struct kreq *req, const char *url)
{
	req->status = 303;
	buf_reset(&req->out);
	return resp_header(req, "Location", url);
}

int
resp_cookie(struct kreq *req, const char *name, const char *value,
	long max_age)
{
	return resp_cookie_ex(req, name, value, max_age, "/", "Lax");
}

int
resp_cookie_ex(struct kreq *req, const char *name, const char *value,
	long max_age, const char *path, const char *samesite)
{
	/* Cookie values here are tokens: base64url, no escaping needed; a
	 * caller passing anything else is a bug caught by resp_header. */
	if (strpbrk(name, "=;, \"\r\n") != NULL ||
	    strpbrk(value, ";, \"\r\n") != NULL || path[0] != '/' ||
	    strpbrk(path, ";, \"\r\n") != NULL)
		return -1;
	if (max_age >= 0)
		return buf_printf(&req->headers, "Set-Cookie: %s=%s; Path=%s; "
			"Max-Age=%ld; HttpOnly; SameSite=%s%s\r\n", name,
			value, path, max_age, samesite,
			req->https ? "; Secure" : "");
	return buf_printf(&req->headers, "Set-Cookie: %s=%s; Path=%s; "
		"HttpOnly; SameSite=%s%s\r\n", name, value, path, samesite,
		req->https ? "; Secure" : "");
}

int
resp_json_text(struct kreq *req, int status, const char *json)
{
	req->status = status;
	req->ctype = "application/json";
	buf_reset(&req->out);
	if (buf_puts(&req->out, json) != 0 || buf_puts(&req->out, "\n") != 0)
		return -1;
	return 0;
}

int
resp_error_json(struct kreq *req, int status, const char *code,
	const char *message, void *fields)
{
	json_object *root = json_object_new_object();
	json_object *err = json_object_new_object();

	if (root == NULL || err == NULL) {
		json_object_put(root);
		json_object_put(err);
		json_object_put(fields);
		resp_json_text(req, 500, "{\"error\":{\"code\":\"internal\","
			"\"message\":\"out of memory\"}}");
		return -1;
	}
	json_object_object_add(err, "code", json_object_new_string(code));
	json_object_object_add(err, "message",
		json_object_new_string(message));
	if (fields != NULL)
		json_object_object_add(err, "fields", fields);
	json_object_object_add(root, "error", err);
	resp_json_text(req, status, json_object_to_json_string_ext(root,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return -1;
}

json_object *
json_str_or_null(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

json_object *
json_site_url(const char *base_url, const char *fmt, ...)
{
	json_object *o;
	va_list ap;
	char *url;

	va_start(ap, fmt);
	url = site_vurl(base_url, fmt, ap);
	va_end(ap);
	o = url != NULL ? json_object_new_string(url) : NULL;
	free(url);
	return o;
}

const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

static int
has_header(const struct kreq *req, const char *name)
{
	size_t nl = strlen(name);
	const char *p = req->headers.data;

	while (p != NULL && *p != '\0') {
		if (!strncasecmp(p, name, nl) && p[nl] == ':')
			return 1;
		p = strstr(p, "\r\n");
		if (p != NULL)
			p += 2;
	}
	return 0;
}

int
req_send(struct kreq *req, write_fn w, void *warg)
{
	struct buf head = { 0 };
	int rc = -1;

	/* The security headers live here and nowhere else, so every
	 * response of every program carries them. */
	if (buf_printf(&head, "Status: %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Content-Security-Policy: default-src 'self'; img-src 'self' "
	    "data:; style-src 'self'; script-src 'self'; object-src 'none'; "
	    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "X-Frame-Options: DENY\r\n"
	    "Referrer-Policy: same-origin\r\n",
	    req->status, http_reason(req->status), req->ctype, req->out.len)
	    != 0)
		goto out;
	if (!has_header(req, "Cache-Control") &&
	    buf_puts(&head, "Cache-Control: no-store\r\n") != 0)
		goto out;
	/* A 503 (the database is down or frozen) tells clients when to try
	 * again rather than leaving them to hammer it; a handler that knows
	 * better sets its own. */
	if (req->status == 503 && !has_header(req, "Retry-After") &&
	    buf_puts(&head, "Retry-After: " STR(RETRY_AFTER_503) "\r\n")
	    != 0)
		goto out;
	if (req->headers.len > 0 &&
	    buf_append(&head, req->headers.data, req->headers.len) != 0)
		goto out;
	if (buf_puts(&head, "\r\n") != 0)
		goto out;
	if (w(head.data, head.len, warg) != 0)
		goto out;
	if (req->method != M_HEAD && req->out.len > 0 &&
	    w(req->out.data, req->out.len, warg) != 0)
		goto out;
	rc = 0;
out:
	buf_free(&head);
	return rc;
}
