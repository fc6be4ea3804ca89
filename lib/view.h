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

/* The value of name in the request's data, or NULL. Owned by req. */
const char *view_get(struct kreq *req, const char *name);

/* Runs a query and stores row i's column c as prefix.i.<c's name> (SQL
 * NULL as ""), the name being the column's alias in the SELECT: the SQL
 * names each template key with "AS Key". A row with a name that is not a
 * plain key (letters, digits, '_') fails the call, logged, so a forgotten
 * alias is an error rather than a key no template reads. Returns the row
 * count, or -1 (db error in db_error, a bad name, or out of memory). */
struct db_param;
long view_rows(struct kreq *req, const char *prefix, const char *sql,
	const struct db_param *p, size_t np);

/* Renders page (a file in the templates directory) inside layout.cs into
 * req's body with the given status. Returns 0, or -1 after logging the
 * cause and putting a bare 500 page in req. */
int view_render(struct kreq *req, int status, const char *title,
	const char *page);

/* The request's language (i18n.h's LANG_EN or LANG_ZH): the user's
 * setting, else the visitor's cookie, else Accept-Language. */
const char *view_lang(struct kreq *req);
/* msgid in the request's language (i18n_tr). Messages that reach a page
 * through view_field_error, view_error, view_flash and view_render's
 * title are translated there; a format is translated with this before
 * it is filled in. */
const char *view_tr(struct kreq *req, const char *msgid)
	__attribute__((format_arg(2)));
/* The zone the request's times are shown in: the user's, else "UTC". */
const char *view_zone(struct kreq *req);

/* A field error beside a form input: Form.Errors.field = message, and
 * Form.Failed = 1. Returns 0 or -1. */
int view_field_error(struct kreq *req, const char *field, const char *msg);

/* The same for the route's declared input key: its declared message
 * beside its field. Returns 0 or -1. */
int view_input_error(struct kreq *req, size_t key);

/* A failed database call: logs db_error() under where, and answers 503
 * when the server is unreachable, else 500, with a plain message (the
 * connector's names hosts and sockets). Returns -1. */
int view_db_fail(struct kreq *req, const char *where);

/* The theme switch's cookie (page_theme.c): "light" or "dark"; absent
 * follows the browser's prefers-color-scheme. */
#define THEME_COOKIE "kiln_theme"

/* The message a redirect carries to the next page rendered (POST-
 * redirect-GET): a code of view.c's table, kept a minute in a cookie and
 * shown once. Returns 0, or -1 for an unknown code or no memory. */
#define FLASH_COOKIE "kiln_flash"
int view_flash(struct kreq *req, const char *code);

/* view_flash(code) then a 303 to the URL fmt makes (at most 255 bytes);
 * a 500 page instead when that fails. Returns what the answer did. */
int view_flash_redirect(struct kreq *req, const char *code,
	const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The portal's error page: error.cs with Error.Status and Error.Message. */
void view_error(struct kreq *req, int status, const char *code,
	const char *message);

#endif
