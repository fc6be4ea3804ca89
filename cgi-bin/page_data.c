/* page_data.c - /account/data, "your data": an export of everything kiln
 * holds about the account (asked for here, made by a render daemon,
 * downloaded once) and deleting the account (the password, a code when
 * two-factor login is on, and the user name typed to confirm); and the
 * administrators' side on /admin/users/ID: an export of a user's data,
 * deleting a user after a confirmation page. Every step is audited. */
#include "accountdel.h"
#include "accounts.h"
#include "app.h"
#include "auth.h"
#include "dataexport.h"
#include "db.h"
#include "handlers.h"
#include "i18n.h"
#include "log.h"
#include "twofa.h"
#include "util.h"
#include "view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Seconds a deletion waits for the account's running jobs to stop. */
#define DELETE_WAIT_S 15

/* POST /account/data/delete: judged as typed. */
enum { DD_PASSWORD, DD_CODE, DD_CONFIRM };
const struct input data_delete_inputs[] = {
	[DD_PASSWORD] = { .name = "password", .type = IN_STR,
		.max = PASSWORD_MAX },
	[DD_CODE] = { .name = "code", .type = IN_STR, .max = 64 },
	[DD_CONFIRM] = { .name = "confirm", .type = IN_STR, .max = 128 },
	IN_END,
};

/* POST /admin/users/{id}/delete: the user name typed to confirm. */
enum { AD_CONFIRM };
const struct input admin_delete_inputs[] = {
	[AD_CONFIRM] = { .name = "confirm", .type = IN_STR, .max = 128 },
	IN_END,
};

static const char *const done_msgs[][2] = {
	{ "export", N_("Your export is being made. This page shows when it "
	  "is ready; it can then be downloaded once, within 24 hours.") },
};

/* The exports requester asked for, newest first, into prefix. */
static long
exports_rows(struct kreq *req, const char *prefix,
	unsigned long long requester)
{
	struct db_param p = DB_INT(requester);

	return view_rows(req, prefix, "SELECT e.id AS Id, e.status AS Status,"
	    " u.username AS Username, e.user_id = e.requested_by AS Own,"
	    " DATE_FORMAT(e.created_at, '%Y-%m-%d %H:%i') AS Created,"
	    " COALESCE(DATE_FORMAT(e.finished_at, '%Y-%m-%d %H:%i'), '')"
	    " AS Finished,"
	    " COALESCE(DATE_FORMAT(e.expires_at, '%Y-%m-%d %H:%i'), '')"
	    " AS Expires, COALESCE(e.bytes, '') AS Bytes,"
	    " COALESCE(e.files, '') AS Files, COALESCE(e.error, '') AS Error,"
	    " e.status = 'ready' AND e.expires_at > NOW(3) AS Downloadable"
	    " FROM data_exports e JOIN users u ON u.id = e.user_id"
	    " WHERE e.requested_by = ? ORDER BY e.id DESC LIMIT 10", &p, 1);
}

static int
show(struct kreq *req, int status)
{
	const char *done = req_query(req, "done");
	int on;
	size_t i;

	on = twofa_enabled(req->app->db, req->auth->user_id);
	if (on < 0 || exports_rows(req, "Data.Exports",
	    req->auth->user_id) < 0)
		return view_db_fail(req, "data: load");
	view_set_int(req, "Data.TwoFactor", on);
	for (i = 0; done != NULL && i < ARRAY_LEN(done_msgs); i++)
		if (!strcmp(done, done_msgs[i][0]))
			view_set(req, "Data.Done", view_tr(req,
				done_msgs[i][1]));
	/* A download link on it works once: never from a cache. */
	resp_header(req, "Cache-Control", "no-store");
	return view_render(req, status, "Your data", "account_data.cs");
}

int
page_data(struct kreq *req)
{
	return show(req, 200);
}

int
page_data_export(struct kreq *req)
{
	unsigned long long id = export_request(req->app->db,
		req->auth->user_id, req->auth->user_id);

	if (id == 0)
		return view_db_fail(req, "data: export");
	audit(req, "data_export", req->auth->user_id, req->auth->username,
		"export %llu asked for", id);
	return resp_redirect(req, "/account/data?done=export");
}

/* GET /account/data/export/{id}: the ZIP, once, to whoever asked. */
int
page_data_download(struct kreq *req)
{
	unsigned long long id = req_id(req, 0);
	unsigned long long subject = 0;
	enum export_take st;
	char disp[96];

	st = id == 0 ? EXPORT_TAKE_NOT_FOUND : export_take(req->app->db,
		&req->app->cfg, id, req->auth->user_id,
		&req->out, &subject);
	switch (st) {
	case EXPORT_TAKE_OK:
		break;
	case EXPORT_TAKE_NOT_FOUND:
		view_error(req, 404, "not_found", "No such export.");
		return -1;
	case EXPORT_TAKE_GONE:
		view_error(req, 410, "gone", "This export was downloaded "
			"already, or expired, or could not be made. Ask for "
			"a new one on the Your data page.");
		return -1;
	case EXPORT_TAKE_NOT_READY:
		view_error(req, 409, "not_ready", "This export is still "
			"being made; its page shows when it is ready.");
		return -1;
	default:
		return view_db_fail(req, "data: download");
	}
	/* The entry is about whose data it is: an administrator's download
	 * of a user's export shows on that user's page. */
	if (subject == req->auth->user_id)
		audit(req, "data_export_download", subject,
			req->auth->username, "export %llu downloaded (%zu "
			"bytes)", id, req->out.len);
	else {
		struct db_param p = DB_INT(subject);
		char *name = NULL;

		if (db_query_string(req->app->db, "SELECT username FROM users"
		    " WHERE id = ?", &p, 1, &name) != 0)
			log_warn("data: download: %s", db_error(req->app->db));
		audit(req, "data_export_download", subject, name ? name : "",
			"export %llu downloaded by an administrator (%zu "
			"bytes)", id, req->out.len);
		free(name);
	}
	snprintf(disp, sizeof(disp), "attachment; filename=\"kiln-export-"
		"%llu.zip\"", id);
	req->status = 200;
	req->ctype = "application/zip";
	resp_header(req, "Content-Disposition", disp);
	resp_header(req, "Cache-Control", "no-store");
	return 0;
}

/* The lockout that guards the password guards this form too. */
static int
locked_out(struct kreq *req)
{
	int st = auth_form_locked(req, "password");

	if (st == 1)
		show(req, 429);
	return st;
}

static void
count_failure(struct kreq *req, const char *what)
{
	auth_form_failed(req, what, "the Your data page");
}

/* Answers a deletion account_delete refused. Returns as handlers do. */
static int
delete_refused(struct kreq *req, enum account_delete st, int self)
{
	switch (st) {
	case ACCTDEL_NOT_FOUND:
		view_error(req, 404, "not_found", "No such user.");
		return -1;
	case ACCTDEL_LAST_ADMIN:
		if (self) {
			view_field_error(req, "confirm", "You are the only "
				"administrator: make another one first.");
			return show(req, 409);
		}
		view_error(req, 409, "last_admin", "This is the only "
			"administrator: make another one first.");
		return -1;
	case ACCTDEL_BUSY:
		if (self) {
			view_field_error(req, "confirm", "A job of yours is "
				"still stopping; nothing was deleted. Try "
				"again in a minute.");
			return show(req, 409);
		}
		view_error(req, 409, "busy", "A job of this user is still "
			"stopping; nothing was deleted. Try again in a "
			"minute.");
		return -1;
	default:
		return view_db_fail(req, "data: delete");
	}
}

int
page_data_delete(struct kreq *req)
{
	const char *pw = in_str(req, DD_PASSWORD), *confirm =
		in_str(req, DD_CONFIRM);
	char code[65], *hash = NULL, pseud[PSEUDONYM_LEN + 1];
	struct db_param p = DB_INT(req->auth->user_id);
	unsigned long long uid = req->auth->user_id;
	enum account_delete del;
	int st, rehash, on;

	st = locked_out(req);
	if (st != 0)
		return st < 0 ? -1 : 0;
	if (confirm == NULL || strcmp(confirm, req->auth->username)) {
		view_field_error(req, "confirm", "Confirm: type your user "
			"name exactly as shown to delete your account.");
		return show(req, 422);
	}
	if (db_query_string(req->app->db, "SELECT password_hash FROM users"
	    " WHERE id = ?", &p, 1, &hash) != 0 || hash == NULL)
		return view_db_fail(req, "data: lookup");
	st = pw != NULL && *pw != '\0' && password_verify(hash, pw, &rehash);
	free(hash);
	if (!st) {
		count_failure(req, "password");
		view_field_error(req, "password", "Password: wrong.");
		return show(req, 422);
	}
	on = twofa_enabled(req->app->db, uid);
	if (on < 0)
		return view_db_fail(req, "data: 2fa");
	if (on) {
		twofa_code_clean(in_str(req, DD_CODE), code, sizeof(code));
		if (code[0] == '\0') {
			view_field_error(req, "code", "Code: two-factor login "
				"is on; type the code your app shows, or a "
				"recovery code.");
			return show(req, 422);
		}
		st = totp_code_syntax(code) ?
			twofa_check_totp(req, uid, code, 0) :
			twofa_use_recovery(req, uid, code);
		if (st < 0)
			return view_db_fail(req, "data: 2fa");
		if (st == 0) {
			count_failure(req, "code");
			view_field_error(req, "code", "Code: wrong. Type the "
				"six digits your app shows now, or a recovery "
				"code.");
			return show(req, 422);
		}
	}
	del = account_delete(req->app->db, &req->app->cfg, uid, "self",
		DELETE_WAIT_S, pseud);
	if (del != ACCTDEL_OK)
		return delete_refused(req, del, 1);
	/* The account is gone, its sessions with it: the entry names the
	 * pseudonym as actor and target, with no address. */
	audit_write(req->app->db, 0, pseud, "", "account_delete", 0, pseud,
		"deleted by its owner, confirmed with the password");
	resp_cookie(req, SESSION_COOKIE, "", 0);
	return resp_redirect(req, "/?deleted=1");
}

/* ------------------------------------------------------------ admins */

/* The user name of id into *name (the caller frees). Returns 1, 0 for
 * no such user (answered 404), -1 (answered) on a db error. */
static int
user_name(struct kreq *req, unsigned long long id, char **name)
{
	struct db_param p = DB_INT(id);

	*name = NULL;
	if (id != 0 && db_query_string(req->app->db, "SELECT username FROM"
	    " users WHERE id = ?", &p, 1, name) != 0)
		return view_db_fail(req, "admin: user");
	if (*name == NULL) {
		view_error(req, 404, "not_found", "No such user.");
		return 0;
	}
	return 1;
}

int
page_admin_user_export(struct kreq *req)
{
	unsigned long long id = req_id(req, 0), eid;
	char *name, url[64];
	int st = user_name(req, id, &name);

	if (st <= 0)
		return -1;
	eid = export_request(req->app->db, id, req->auth->user_id);
	if (eid == 0) {
		free(name);
		return view_db_fail(req, "admin: export");
	}
	audit(req, "data_export", id, name, "export %llu asked for by an "
		"administrator", eid);
	free(name);
	snprintf(url, sizeof(url), "/admin/users/%llu#exports", id);
	return resp_redirect(req, url);
}

/* The data of the admin user page's export list. Returns as view_rows. */
long
admin_user_exports(struct kreq *req, unsigned long long id)
{
	struct db_param p[2] = { DB_INT(req->auth->user_id), DB_INT(id) };

	return view_rows(req, "Exports", "SELECT id AS Id, status AS Status,"
	    " DATE_FORMAT(created_at, '%Y-%m-%d %H:%i') AS Created,"
	    " COALESCE(DATE_FORMAT(expires_at, '%Y-%m-%d %H:%i'), '')"
	    " AS Expires, COALESCE(bytes, '') AS Bytes,"
	    " COALESCE(error, '') AS Error,"
	    " status = 'ready' AND expires_at > NOW(3) AS Downloadable"
	    " FROM data_exports WHERE requested_by = ? AND user_id = ?"
	    " ORDER BY id DESC LIMIT 10", p, 2);
}

static int
show_delete(struct kreq *req, unsigned long long id, const char *name,
	int status)
{
	struct db_param p = DB_INT(id);

	if (view_rows(req, "Victim", "SELECT id AS Id, username AS Username,"
	    " role AS Role, (SELECT COUNT(*) FROM jobs WHERE user_id ="
	    " users.id) AS Jobs FROM users WHERE id = ?", &p, 1) < 0)
		return view_db_fail(req, "admin: delete");
	view_set(req, "Victim.Name", name);
	return view_render(req, status, "Delete user", "admin_user_delete.cs");
}

int
page_admin_user_delete_confirm(struct kreq *req)
{
	unsigned long long id = req_id(req, 0);
	char *name;
	int st = user_name(req, id, &name), rc;

	if (st <= 0)
		return -1;
	rc = show_delete(req, id, name, 200);
	free(name);
	return rc;
}

int
page_admin_user_delete(struct kreq *req)
{
	unsigned long long id = req_id(req, 0);
	const char *confirm = in_str(req, AD_CONFIRM);
	char *name, pseud[PSEUDONYM_LEN + 1];
	enum account_delete del;
	int st = user_name(req, id, &name), rc;

	if (st <= 0)
		return -1;
	if (confirm == NULL || strcmp(confirm, name)) {
		view_field_error(req, "confirm", "Confirm: type the user name "
			"exactly as shown.");
		rc = show_delete(req, id, name, 422);
		free(name);
		return rc;
	}
	del = account_delete(req->app->db, &req->app->cfg, id,
		id == req->auth->user_id ? "self" : "admin", DELETE_WAIT_S,
		pseud);
	free(name);
	if (del != ACCTDEL_OK)
		return delete_refused(req, del, 0);
	/* An administrator who deleted their own account is gone too: the
	 * entry must not name them. */
	if (id == req->auth->user_id) {
		audit_write(req->app->db, 0, pseud, "", "account_delete", 0,
			pseud, "deleted by an administrator: themselves");
		resp_cookie(req, SESSION_COOKIE, "", 0);
		return resp_redirect(req, "/?deleted=1");
	}
	audit(req, "account_delete", 0, pseud, "deleted by an "
		"administrator");
	return resp_redirect(req, "/admin/users");
}
