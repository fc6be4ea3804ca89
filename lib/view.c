/* view.c - ClearSilver rendering for the portal pages. */
#include "view.h"
#include "app.h"
#include "auth.h"
#include "db.h"
#include "i18n.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ClearSilver.h>

HDF *
view_hdf(struct kreq *req)
{
	const struct kiln_config *c = &req->app->cfg;
	NEOERR *err;
	HDF *h = NULL;

	if (req->hdf != NULL)
		return req->hdf;
	err = hdf_init(&h);
	/* Escaping happens here and only here: every var: in every template
	 * is HTML-escaped; templates opt out nowhere. */
	if (err == STATUS_OK)
		err = hdf_set_value(h, "Config.VarEscapeMode", "html");
	if (err == STATUS_OK)
		err = hdf_set_value(h, "hdf.loadpaths.0", c->templates_dir);
	if (err == STATUS_OK)
		err = hdf_set_value(h, "Site.Name", c->site_name);
	if (err == STATUS_OK)
		err = hdf_set_value(h, "Site.Version", KILN_VERSION);
	if (err == STATUS_OK)
		err = hdf_set_value(h, "Static.Url", c->static_url);
	/* For links that leave the site (a shared job's address). */
	if (err == STATUS_OK) {
		size_t n = strlen(c->base_url);

		while (n > 0 && c->base_url[n - 1] == '/')
			n--;
		err = hdf_set_valuef(h, "Site.BaseUrl=%.*s", (int)n,
			c->base_url);
	}
	if (err != STATUS_OK) {
		nerr_ignore(&err);
		if (h != NULL)
			hdf_destroy(&h);
		return NULL;
	}
	req->hdf = h;
	return h;
}

int
view_set(struct kreq *req, const char *name, const char *value)
{
	HDF *h = view_hdf(req);
	NEOERR *err;

	if (h == NULL)
		return -1;
	err = hdf_set_value(h, name, value ? value : "");
	if (err != STATUS_OK) {
		nerr_ignore(&err);
		return -1;
	}
	return 0;
}

int
view_set_int(struct kreq *req, const char *name, long value)
{
	char num[32];

	snprintf(num, sizeof(num), "%ld", value);
	return view_set(req, name, num);
}

struct rows_ctx {
	struct kreq *req;
	const char *prefix;
	long n;
	int failed;
};

/* A column name that can be one HDF key: an expression left without its
 * alias ("COALESCE(x, '')", "j.id = ?") would make nested or odd keys. */
static int
plain_key(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
		    !(*s >= '0' && *s <= '9') && *s != '_')
			return 0;
	return 1;
}

static int
rows_cb(const struct db_row *r, void *arg)
{
	struct rows_ctx *c = arg;
	char key[160];
	size_t i;

	for (i = 0; i < r->ncols; i++) {
		if (!plain_key(r->names[i])) {
			log_error("view %s: column %zu '%.40s' needs an AS "
			    "alias naming its key", c->prefix, i + 1,
			    r->names[i]);
			c->failed = 1;
			return 1;
		}
		if (snprintf_checked(key, sizeof(key), "%s.%ld.%s", c->prefix,
		    c->n, r->names[i]) != 0 ||
		    view_set(c->req, key, r->cols[i]) != 0) {
			c->failed = 1;
			return 1;
		}
	}
	c->n++;
	return 0;
}

long
view_rows(struct kreq *req, const char *prefix, const char *sql,
	const struct db_param *p, size_t np)
{
	struct rows_ctx c = { req, prefix, 0, 0 };

	if (db_query(req->app->db, sql, p, np, rows_cb, &c) < 0 || c.failed)
		return -1;
	return c.n;
}

const char *
view_lang(struct kreq *req)
{
	const char *l;

	if (req->auth != NULL && req->auth->language != NULL &&
	    (l = i18n_lang(req->auth->language)) != NULL)
		return l;
	if ((l = i18n_lang(req_cookie(req, LANG_COOKIE))) != NULL)
		return l;
	return i18n_accept(req->accept_language);
}

const char *
view_tr(struct kreq *req, const char *msgid)
{
	return i18n_tr(view_lang(req), msgid);
}

int
view_field_error(struct kreq *req, const char *field, const char *msg)
{
	char key[96];

	if (snprintf_checked(key, sizeof(key), "Form.Errors.%s", field) != 0)
		return -1;
	return view_set(req, "Form.Failed", "1") | view_set(req, key,
		view_tr(req, msg));
}

int
view_input_error(struct kreq *req, size_t key)
{
	const struct input *in;

	if (key >= req->ninputs)
		return -1;
	in = &req->inputs[key];
	return view_field_error(req, in->name, in->msg != NULL ? in->msg :
		N_("This value is not valid."));
}

/* view_flash's messages. The cookie carries only a code from here, so no
 * text a request sends is ever shown as a message. */
static const char *const flash_msgs[][2] = {
	{ "welcome", N_("Welcome! Your account is ready.") },
	{ "logout", N_("Logged out.") },
	{ "logout_all", N_("Logged out everywhere: every session was "
	    "ended.") },
	{ "deleted", N_("Job deleted.") },
	{ "canceled", N_("Job canceled.") },
	{ "user_saved", N_("User updated.") },
	/* The job page's vary and upscale, a CSV batch (issue 25). */
	{ "varied", N_("Queued: the same settings with a new seed.") },
	{ "upscaling", N_("Queued: an upscale of that image.") },
	{ "batched", N_("Batch queued: one job per row.") },
	{ "password_reset", N_("Password changed and every session ended. "
	    "Log in with the new one.") },
	/* The public gallery and its moderation (issue 27). */
	{ "published", N_("Published: the image is on Explore.") },
	{ "unpublished", N_("The image is no longer on Explore.") },
	{ "reported", N_("Thank you: a moderator will look at your report.") },
	{ "hidden", N_("Hidden: the image is gone from Explore.") },
	{ "restored", N_("Restored: the image is back on Explore.") },
	{ "dismissed", N_("The reports were dismissed.") },
	{ "banned", N_("The author is banned and the image hidden.") },
	/* Incidents on the status page (issue 28). */
	{ "incident_opened", N_("Incident opened: it is on the status page "
	    "and in the banner.") },
	{ "incident_updated", N_("Update posted to the status page.") },
	{ "maintenance_scheduled", N_("Maintenance window scheduled: it is "
	    "on the status page.") },
	{ "maintenance_canceled", N_("Maintenance window canceled.") },
	{ "alert_rule_saved", N_("Alert rule saved: the next evaluation "
	    "uses it.") },
	{ "incident_resolved", N_("Incident resolved: it is now among the "
	    "past incidents.") },
	/* Teams (issue 27). */
	{ "team_created", N_("Team created: you are its owner.") },
	{ "team_member_added", N_("Member added.") },
	{ "team_credits_added", N_("Credits added to the team.") },
	{ "team_role_changed", N_("Role changed.") },
	{ "team_member_removed", N_("Member removed.") },
	{ "team_settings_saved", N_("Team settings saved.") },
	{ "team_deleted", N_("Team deleted. Its jobs stay with the members "
		"who made them; credits left in its pool were added to "
		"yours.") },
	{ "team_left", N_("You left the team. The jobs you made for it stay "
	    "yours.") },
};

static const char *
flash_text(const char *code)
{
	size_t i;

	for (i = 0; code != NULL && i < ARRAY_LEN(flash_msgs); i++)
		if (strcmp(code, flash_msgs[i][0]) == 0)
			return flash_msgs[i][1];
	return NULL;
}

int
view_flash(struct kreq *req, const char *code)
{
	if (flash_text(code) == NULL)
		return -1;
	return resp_cookie(req, FLASH_COOKIE, code, 60);
}

int
view_flash_redirect(struct kreq *req, const char *code, const char *fmt, ...)
{
	char url[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(url, sizeof(url), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(url) || view_flash(req, code) != 0) {
		view_error(req, 500, "internal", "Out of memory.");
		return -1;
	}
	return resp_redirect(req, url);
}

/* The open incident the frame's banner names (the most severe, then the
 * newest) and how many are open: Incident.Title, .Severity, .Open. Best
 * effort: with the database down (an error page saying so) or failing,
 * the page goes without the banner. Returns 0 or -1 (out of memory). */
static int
set_incident_banner(struct kreq *req)
{
	struct db *db = req->app->db;
	char *row = NULL, *severity, *title;
	int rc = 0;

	if (db == NULL || db_is_down(db))
		return 0;
	/* One row: the count of open ones (the window counts before the
	 * LIMIT), the severity (an ENUM without spaces) and the title. */
	if (db_query_string(db, "SELECT CONCAT(COUNT(*) OVER (), ' ',"
	    " severity, ' ', title) FROM incidents WHERE resolved_at IS NULL"
	    " ORDER BY severity DESC, created_at DESC, id DESC LIMIT 1",
	    NULL, 0, &row) != 0 || row == NULL)
		return 0;
	severity = strchr(row, ' ');
	title = severity != NULL ? strchr(severity + 1, ' ') : NULL;
	if (title != NULL) {
		*severity++ = '\0';
		*title++ = '\0';
		rc |= view_set(req, "Incident.Title", title);
		rc |= view_set(req, "Incident.Severity", severity);
		rc |= view_set(req, "Incident.Open", row);
	}
	free(row);
	return rc;
}

/* The next maintenance window, when it is on or starts within a day:
 * Maintenance.Active, .Start, .End (UTC, for localtime()) and .Title.
 * Best effort as the incident banner. Returns 0 or -1. */
static int
set_maintenance_banner(struct kreq *req)
{
	struct db *db = req->app->db;
	char *row = NULL, *f[4];
	int rc = 0, i;

	if (db == NULL || db_is_down(db))
		return 0;
	if (db_query_string(db, "SELECT CONCAT(starts_at <= NOW(3), '|',"
	    " DATE_FORMAT(starts_at, '%Y-%m-%d %H:%i'), '|',"
	    " DATE_FORMAT(ends_at, '%Y-%m-%d %H:%i'), '|', title)"
	    " FROM maintenance_windows WHERE canceled_at IS NULL"
	    " AND ends_at > NOW(3) AND starts_at <= NOW(3) + INTERVAL 1 DAY"
	    " ORDER BY starts_at, id LIMIT 1", NULL, 0, &row) != 0 ||
	    row == NULL)
		return 0;
	/* The title is last: a '|' in it stays in it. */
	f[0] = row;
	for (i = 1; i < 4 && f[i - 1] != NULL; i++) {
		f[i] = strchr(f[i - 1], '|');
		if (f[i] != NULL)
			*f[i]++ = '\0';
	}
	if (f[3] != NULL) {
		if (strcmp(f[0], "1") == 0)
			rc |= view_set(req, "Maintenance.Active", "1");
		rc |= view_set(req, "Maintenance.Start", f[1]);
		rc |= view_set(req, "Maintenance.End", f[2]);
		rc |= view_set(req, "Maintenance.Title", f[3]);
	}
	free(row);
	return rc;
}

/* What every page's frame shows: who is signed in and the form token. */
static int
set_frame(struct kreq *req)
{
	const char *tok = csrf_token(req);
	const struct auth *a = req->auth;
	const char *theme;
	int rc = 0;

	if (tok == NULL)
		return -1;
	rc |= view_set(req, "Csrf.Token", tok);
	/* The language <html lang>, the _() function and the switch use;
	 * the zone the page's times are shown in. */
	rc |= view_set(req, "Lang", view_lang(req));
	rc |= view_set(req, "TimeZone", view_zone(req));
	/* The theme switch's choice, written into <html> by the server so
	 * that the first paint has the right colours; anything else in the
	 * cookie means no choice. */
	theme = req_cookie(req, THEME_COOKIE);
	if (theme != NULL && (strcmp(theme, "light") == 0 ||
	    strcmp(theme, "dark") == 0))
		rc |= view_set(req, "Theme", theme);
	/* A message left by the redirect that led here: shown once. */
	if (req_cookie(req, FLASH_COOKIE) != NULL) {
		const char *msg = flash_text(req_cookie(req, FLASH_COOKIE));

		if (msg != NULL)
			rc |= view_set(req, "Flash", view_tr(req, msg));
		rc |= resp_cookie(req, FLASH_COOKIE, "", 0);
	}
	/* Where the theme switch returns to. */
	rc |= view_set(req, "Page.Path", req->path);
	rc |= set_incident_banner(req);
	rc |= set_maintenance_banner(req);
	if (a != NULL) {
		rc |= view_set(req, "User.Username", a->username);
		rc |= view_set(req, "User.Name", *a->display_name ?
			a->display_name : a->username);
		rc |= view_set(req, "User.Role", a->role);
		rc |= view_set_int(req, "User.Id", (long)a->user_id);
		if (a->is_admin)
			rc |= view_set(req, "User.IsAdmin", "1");
		if (a->is_moderator)
			rc |= view_set(req, "User.IsModerator", "1");
	}
	return rc;
}

const char *
view_get(struct kreq *req, const char *name)
{
	HDF *h = view_hdf(req);

	return h != NULL ? hdf_get_value(h, name, NULL) : NULL;
}

static NEOERR *
render_out(void *ctx, char *s)
{
	struct buf *b = ctx;

	if (buf_puts(b, s) != 0)
		return nerr_raise(NERR_NOMEM, "out of memory");
	return STATUS_OK;
}

const char *
view_zone(struct kreq *req)
{
	if (req->auth != NULL && req->auth->time_zone != NULL &&
	    tz_valid(req->auth->time_zone))
		return req->auth->time_zone;
	return "UTC";
}

/* _("English"): the text in the page's language (Lang). The result is
 * a value like any var:'s, so ClearSilver escapes it. */
static NEOERR *
cs_translate(CSPARSE *parse, CS_FUNCTION *csf, CSARG *args, CSARG *result)
{
	char *s = NULL;
	NEOERR *err;

	(void)csf;
	err = cs_arg_parse(parse, args, "s", &s);
	if (err != STATUS_OK)
		return nerr_pass(err);
	result->op_type = CS_TYPE_STRING;
	result->s = strdup(i18n_tr(hdf_get_value(parse->hdf, "Lang", LANG_EN),
		s != NULL ? s : ""));
	result->alloc = 1;
	free(s);
	if (result->s == NULL)
		return nerr_raise(NERR_NOMEM, "out of memory");
	return STATUS_OK;
}

/* ClearSilver has a builtin _() that calls gettext() in the process's
 * locale; ours, for the request's language, takes its place. Its escape
 * exemption is cleared: the translation is escaped like any var:. */
static NEOERR *
register_translate(CSPARSE *cs)
{
	CS_FUNCTION *f;

	for (f = cs->functions; f != NULL; f = f->next)
		if (strcmp(f->name, "_") == 0) {
			f->function = cs_translate;
			f->str_func = NULL;
			f->n_args = 1;
			f->escape = NEOS_ESCAPE_NONE;
			return STATUS_OK;
		}
	return cs_register_function(cs, "_", 1, cs_translate);
}

/* localtime("2026-12-07 10:30"): a UTC time of the pages' SQL in the
 * user's zone (tz_use, set around the render). Anything else is shown
 * as it is. */
static NEOERR *
cs_localtime(CSPARSE *parse, CS_FUNCTION *csf, CSARG *args, CSARG *result)
{
	char *s = NULL, out[64];
	NEOERR *err;

	(void)csf;
	err = cs_arg_parse(parse, args, "s", &s);
	if (err != STATUS_OK)
		return nerr_pass(err);
	tz_convert(s != NULL ? s : "", out, sizeof(out));
	free(s);
	result->op_type = CS_TYPE_STRING;
	result->s = strdup(out);
	result->alloc = 1;
	if (result->s == NULL)
		return nerr_raise(NERR_NOMEM, "out of memory");
	return STATUS_OK;
}

/* subst(_("Step {n} of {m}."), a, b): the translated sentence with its
 * {n} replaced by a and {m} by b, so a number stands where the language
 * puts it (the scripts fill the same msgids from data- attributes).
 * subst1 takes only a, for {n}; subst3 a third, for {s}. */
static NEOERR *
cs_subst_args(CSPARSE *parse, CSARG *args, CSARG *result, int nv)
{
	static const char *const marks[3] = { "{n}", "{m}", "{s}" };
	char *s = NULL, *v[3] = { NULL, NULL, NULL }, *p;
	NEOERR *err;
	STRING out;
	int k, hit;

	err = nv == 1 ? cs_arg_parse(parse, args, "ss", &s, &v[0]) :
	    nv == 2 ? cs_arg_parse(parse, args, "sss", &s, &v[0], &v[1]) :
	    cs_arg_parse(parse, args, "ssss", &s, &v[0], &v[1], &v[2]);
	if (err != STATUS_OK)
		return nerr_pass(err);
	string_init(&out);
	for (p = s != NULL ? s : ""; *p && err == STATUS_OK; p++) {
		for (hit = -1, k = 0; k < nv && hit < 0; k++)
			if (strncmp(p, marks[k], 3) == 0)
				hit = k;
		if (hit < 0)
			err = string_append_char(&out, *p);
		else {
			err = string_append(&out, v[hit] != NULL ? v[hit] : "");
			p += 2;
		}
	}
	free(s);
	for (k = 0; k < 3; k++)
		free(v[k]);
	if (err != STATUS_OK) {
		string_clear(&out);
		return nerr_pass(err);
	}
	result->op_type = CS_TYPE_STRING;
	result->s = out.buf != NULL ? out.buf : strdup("");
	result->alloc = 1;
	if (result->s == NULL)
		return nerr_raise(NERR_NOMEM, "out of memory");
	return STATUS_OK;
}

static NEOERR *
cs_subst1(CSPARSE *parse, CS_FUNCTION *csf, CSARG *args, CSARG *result)
{
	(void)csf;
	return cs_subst_args(parse, args, result, 1);
}

static NEOERR *
cs_subst(CSPARSE *parse, CS_FUNCTION *csf, CSARG *args, CSARG *result)
{
	(void)csf;
	return cs_subst_args(parse, args, result, 2);
}

static NEOERR *
cs_subst3(CSPARSE *parse, CS_FUNCTION *csf, CSARG *args, CSARG *result)
{
	(void)csf;
	return cs_subst_args(parse, args, result, 3);
}

/* Used when the templates themselves fail: fixed text, nothing from the
 * request, so nothing to escape. */
static void
bare_error(struct kreq *req)
{
	req->status = 500;
	req->ctype = "text/html; charset=utf-8";
	buf_reset(&req->out);
	buf_puts(&req->out, "<!doctype html><title>Internal error</title>"
		"<h1>Internal error</h1><p>The page could not be rendered; "
		"the server log has the details.</p>\n");
}

int
view_render(struct kreq *req, int status, const char *title,
	const char *page)
{
	CSPARSE *cs = NULL;
	char path[4096];
	NEOERR *err;
	STRING es;
	HDF *h;

	if (view_set(req, "Page.Title", view_tr(req, title)) != 0 ||
	    view_set(req, "Page.Template", page) != 0 ||
	    set_frame(req) != 0) {
		log_error("render %s: out of memory", page);
		bare_error(req);
		return -1;
	}
	/* ClearSilver skips an include whose file is missing; a missing page
	 * must be an error, not an empty frame. */
	if (snprintf_checked(path, sizeof(path), "%s/%s",
	    req->app->cfg.templates_dir, page) != 0 ||
	    access(path, R_OK) != 0) {
		log_error("render %s: template not found in %s", page,
			req->app->cfg.templates_dir);
		bare_error(req);
		return -1;
	}
	h = view_hdf(req);
	buf_reset(&req->out);
	err = cs_init(&cs, h);
	if (err == STATUS_OK)
		err = cgi_register_strfuncs(cs);
	if (err == STATUS_OK)
		err = register_translate(cs);
	if (err == STATUS_OK)
		err = cs_register_function(cs, "localtime", 1, cs_localtime);
	if (err == STATUS_OK)
		err = cs_register_function(cs, "subst1", 2, cs_subst1);
	if (err == STATUS_OK)
		err = cs_register_function(cs, "subst", 3, cs_subst);
	if (err == STATUS_OK)
		err = cs_register_function(cs, "subst3", 4, cs_subst3);
	if (err == STATUS_OK)
		err = cs_parse_file(cs, "layout.cs");
	/* The user's zone for localtime(), for this render only (i18n.c
	 * says why it is the process's TZ). */
	tz_use(view_zone(req));
	if (err == STATUS_OK)
		err = cs_render(cs, &req->out, render_out);
	tz_use(NULL);
	if (cs != NULL)
		cs_destroy(&cs);
	if (err != STATUS_OK) {
		string_init(&es);
		nerr_error_string(err, &es);
		log_error("render %s: %s", page, es.buf ? es.buf : "?");
		string_clear(&es);
		nerr_ignore(&err);
		bare_error(req);
		return -1;
	}
	req->status = status;
	req->ctype = "text/html; charset=utf-8";
	/* The page's language follows these request headers. */
	resp_header(req, "Vary", "Accept-Language, Cookie");
	return 0;
}

int
view_db_fail(struct kreq *req, const char *where)
{
	log_error("%s: %s", where, db_error(req->app->db));
	view_error(req, db_is_down(req->app->db) ? 503 : 500, "database",
		N_("The database could not answer; try again shortly."));
	return -1;
}

void
view_error(struct kreq *req, int status, const char *code,
	const char *message)
{
	(void)code;
	view_set_int(req, "Error.Status", status);
	view_set(req, "Error.Reason", view_tr(req, http_reason(status)));
	view_set(req, "Error.Message", view_tr(req, message));
	view_render(req, status, http_reason(status), "error.cs");
}
