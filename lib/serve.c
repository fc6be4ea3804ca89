/* serve.c - the main loop shared by portal.fcgi and api.fcgi: FastCGI when
 * the web server hands us a listening socket, plain CGI otherwise. */
#include "app.h"
#include "db.h"
#include "i18n.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#include <errno.h>
#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct fcgi_env {
	FCGX_ParamArray envp;
};

static const char *
fcgi_getenv(const char *name, void *arg)
{
	struct fcgi_env *e = arg;

	return FCGX_GetParam(name, e->envp);
}

static const char *
cgi_getenv(const char *name, void *arg)
{
	(void)arg;
	return getenv(name);
}

static int
fcgi_write(const void *p, size_t n, void *arg)
{
	FCGX_Stream *out = arg;
	const char *c = p;

	while (n > 0) {
		int chunk = n > (1u << 30) ? (1 << 30) : (int)n;
		if (FCGX_PutStr(c, chunk, out) != chunk)
			return -1;
		c += chunk;
		n -= (size_t)chunk;
	}
	return 0;
}

static int
stdio_write(const void *p, size_t n, void *arg)
{
	return fwrite(p, 1, n, (FILE *)arg) == n ? 0 : -1;
}

/* Parses CONTENT_LENGTH. Returns 0 with *len, or -1 when it is malformed. */
static int
content_length(const char *s, size_t *len)
{
	long v;

	*len = 0;
	if (s == NULL || *s == '\0')
		return 0;
	if (parse_long(s, 0, 1L << 40, &v) != 0)
		return -1;
	*len = (size_t)v;
	return 0;
}

/* Reads n bytes of the request body into buf. Returns how many were
 * read (fewer: the client stopped sending). */
typedef size_t (*body_read_fn)(void *arg, char *buf, size_t n);

/* A body too large to read before the route is known. */
struct pending_body {
	size_t len;		/* 0: none pending */
	body_read_fn read;
	void *arg;
};

static void
dispatch(struct kiln_app *app, const struct program *prog, env_fn get,
	void *arg, const char *body, size_t blen, int cgi, int bad_length,
	const struct pending_body *pend, write_fn w, void *warg)
{
	struct kreq req;
	struct buf allow = { 0 };
	const struct route *r = NULL;
	struct timespec t0, t1;
	char msg[256];
	int st, identified = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&req, 0, sizeof(req));
	req.app = app;
	st = req_parse(&req, get, arg, body, blen, cgi, msg, sizeof(msg));
	if (st == 0 && bad_length) {
		st = 400;
		snprintf(msg, sizeof(msg), "malformed Content-Length");
	}
	if (st == 400 && req.fault.field != NULL &&
	    prog->field_error != NULL) {
		prog->field_error(&req, req.fault.field, req.fault.what);
		goto send;
	}
	if (st != 0) {
		prog->error(&req, st, st == 413 ? "payload_too_large" :
			st == 414 ? "uri_too_long" : "bad_request", msg);
		goto send;
	}
	r = route_find(&req, prog->routes, prog->nroutes, &st, &allow);
	if (r == NULL) {
		if (st == 405) {
			resp_header(&req, "Allow", allow.data ? allow.data : "");
			prog->error(&req, 405, "method_not_allowed",
				N_("method not allowed for this URL"));
		} else {
			prog->error(&req, 404, "not_found",
				N_("nothing exists at this URL"));
		}
		goto send;
	}
	/* A body over REQ_MAX_BODY is read only now that the route is
	 * known, only for a route that takes images (up to
	 * req_upload_body_max), and only from a caller the headers name
	 * (identify): an anonymous client is refused before a byte of it
	 * is read. The whole access check comes after, as a page's reads
	 * the form's CSRF token from the body. */
	if (pend->len > 0) {
		size_t max = REQ_MAX_BODY, i;
		char *big;
		int upload = 0;

		for (i = 0; r->method == M_POST && prog->uploads != NULL &&
		    prog->uploads[i] != NULL; i++)
			if (!strcmp(prog->uploads[i], r->pattern))
				upload = 1;
		if (upload && pend->len <= req_upload_body_max(&app->cfg) &&
		    prog->identify != NULL) {
			if (prog->identify(&req, r) != 0)
				goto send;
			identified = 1;
			max = req_upload_body_max(&app->cfg);
		}
		if (pend->len > max) {
			snprintf(msg, sizeof(msg), "request body larger than "
				"%zu bytes", max);
			prog->error(&req, 413, "payload_too_large", msg);
			goto send;
		}
		big = malloc(pend->len + 1);
		if (big == NULL) {
			prog->error(&req, 503, "unavailable", N_("out of "
				"memory for the request body"));
			goto send;
		}
		blen = pend->read(pend->arg, big, pend->len);
		big[blen] = '\0';
		st = req_body_take(&req, big, blen, msg, sizeof(msg));
		if (st == 400 && req.fault.field != NULL &&
		    prog->field_error != NULL) {
			prog->field_error(&req, req.fault.field,
				req.fault.what);
			goto send;
		}
		if (st != 0) {
			prog->error(&req, st, "bad_request", msg);
			goto send;
		}
	}
	if (prog->access != NULL && !(identified && prog->identify ==
	    prog->access) && prog->access(&req, r) != 0)
		goto send;
	/* A misspelt filter ("?stauts=failed") would otherwise be ignored
	 * and the answer look like the filter worked. */
	if (r->query != NULL) {
		const char *unknown = req_unknown_query(&req, r->query);

		if (unknown != NULL) {
			if (prog->field_error != NULL)
				prog->field_error(&req, unknown,
					"unknown parameter");
			else
				prog->error(&req, 400, "bad_request",
					N_("unknown query parameter"));
			goto send;
		}
	}
	/* The route's form, checked into typed values: the handler reads
	 * those and never the raw body. */
	if (r->form != NULL && req_inputs(&req, r->form) != 0) {
		log_error("%s %s: more than %d declared inputs",
			req.method_name, r->pattern, REQ_MAX_INPUTS);
		prog->error(&req, 500, "internal", N_("internal error"));
		goto send;
	}
	r->fn(&req);
send:
	if (req_send(&req, w, warg) != 0)
		log_warn("%s %s: client went away while writing the response",
			req.method_name ? req.method_name : "?",
			req.path ? req.path : "?");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	metrics_record(app->metrics, r != NULL ? (size_t)(r - prog->routes) :
		prog->nroutes, req.status ? req.status : 200,
		(double)(t1.tv_sec - t0.tv_sec) +
		(double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	buf_free(&allow);
	req_free(&req);
}

static size_t
fcgi_read(void *arg, char *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		size_t want = n - got > (1u << 30) ? (1u << 30) : n - got;
		int k = FCGX_GetStr(buf + got, (int)want, arg);

		if (k <= 0)
			break;
		got += (size_t)k;
	}
	return got;
}

static size_t
stdio_read(void *arg, char *buf, size_t n)
{
	return fread(buf, 1, n, arg);
}

static int
serve_fastcgi(struct kiln_app *app, const struct program *prog)
{
	FCGX_Request fr;
	char *body = NULL;

	if (FCGX_InitRequest(&fr, 0, 0) != 0) {
		log_error("FCGX_InitRequest failed");
		return 1;
	}
	while (FCGX_Accept_r(&fr) >= 0) {
		struct fcgi_env env = { fr.envp };
		size_t len = 0, got = 0;
		int bad = content_length(FCGX_GetParam("CONTENT_LENGTH",
			fr.envp), &len) != 0;

		/* Bodies over the limit are not read at all: req_parse turns
		 * the declared length into a 413. Under it (1 MiB) the body
		 * is a small allocation like any other. */
		if (!bad && len > 0 && len <= REQ_MAX_BODY) {
			body = xmalloc(len);
			while (got < len) {
				int n = FCGX_GetStr(body + got,
					(int)(len - got), fr.in);
				if (n <= 0)
					break;
				got += (size_t)n;
			}
			/* A short body is what the client sent. */
			len = got;
		}
		{
			struct pending_body pend = { 0, fcgi_read, fr.in };

			if (!bad && len > REQ_MAX_BODY) {
				pend.len = len;
				len = 0;
			}
			dispatch(app, prog, fcgi_getenv, &env, body, len, 0,
				bad, &pend, fcgi_write, fr.out);
		}
		free(body);
		body = NULL;
		FCGX_Finish_r(&fr);
	}
	return 0;
}

static int
serve_cgi(struct kiln_app *app, const struct program *prog)
{
	size_t len = 0, got = 0;
	char *body = NULL;
	int bad = content_length(getenv("CONTENT_LENGTH"), &len) != 0;

	if (!bad && len > 0 && len <= REQ_MAX_BODY) {
		body = xmalloc(len);
		got = fread(body, 1, len, stdin);
		len = got;
	}
	{
		struct pending_body pend = { 0, stdio_read, stdin };

		if (!bad && len > REQ_MAX_BODY) {
			pend.len = len;
			len = 0;
		}
		dispatch(app, prog, cgi_getenv, NULL, body, len, 1, bad,
			&pend, stdio_write, stdout);
	}
	free(body);
	return fflush(stdout) == 0 ? 0 : 1;
}

int
kiln_serve(const struct program *prog, int argc, char **argv)
{
	struct kiln_app app;
	char err[512];
	int check = 0, rc, i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--check-config")) {
			check = 1;
		} else if (!strcmp(argv[i], "--version")) {
			printf("%s %s\n", prog->name, KILN_VERSION);
			return 0;
		} else {
			fprintf(stderr, "usage: %s [--check-config | "
				"--version]\n", prog->name);
			return 2;
		}
	}
	memset(&app, 0, sizeof(app));
	app.conf_path = config_default_path();
	if (config_load(&app.cfg, app.conf_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", prog->name, err);
		return 1;
	}
	log_setup(prog->name, app.cfg.log_level);
	if (prog->translated && i18n_init(app.cfg.locale_dir, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", prog->name, err);
		config_free(&app.cfg);
		return 1;
	}
	if (check) {
		printf("%s: configuration ok\n", app.conf_path);
		i18n_done();
		config_free(&app.cfg);
		return 0;
	}
	/* A client that disconnects mid-response must not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	app.db = db_new(&app.cfg);
	{
		char dir[4096];

		if (metrics_dir(app.cfg.metrics_dir, app.cfg.artifacts_dir,
		    dir, sizeof(dir)) == 0)
			app.metrics = metrics_open(dir, prog->name,
				prog->routes, prog->nroutes);
	}
	if (FCGX_Init() != 0) {
		log_error("FCGX_Init failed");
		rc = 1;
	} else if (FCGX_IsCGI()) {
		rc = serve_cgi(&app, prog);
	} else {
		rc = serve_fastcgi(&app, prog);
	}
	metrics_close(app.metrics);
	i18n_done();
	db_free(app.db);
	config_free(&app.cfg);
	return rc;
}
