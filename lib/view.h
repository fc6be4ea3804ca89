/* view.h - ClearSilver templates: per-request HDF data, HTML escaping of
 * every var: done by ClearSilver (Config.VarEscapeMode = html). */
#ifndef KILN_VIEW_H
#define KILN_VIEW_H

#include "request.h"

/* The request's template data, created on first use with the site-wide
 * values (Site.Name, Site.Version, Static.Url, Config.VarEscapeMode).
 * Returns NULL when memory runs out. Owned by req. */
struct _hdf *view_hdf(struct kreq *req);

/* Sets name = value in the request's data. Returns 0 or -1. */
int view_set(struct kreq *req, const char *name, const char *value);
int view_set_int(struct kreq *req, const char *name, long value);

/* Renders page (a file in the templates directory) inside layout.cs into
 * req's body with the given status. Returns 0, or -1 after logging the
 * cause and putting a bare 500 page in req. */
int view_render(struct kreq *req, int status, const char *title,
	const char *page);

/* The portal's error page: error.cs with Error.Status and Error.Message. */
void view_error(struct kreq *req, int status, const char *code,
	const char *message);

#endif
