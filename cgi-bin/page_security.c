/* page_security.c - /account/security: two-factor login (set up with a
 * QR code of the otpauth:// URI, confirmed with a code; turned off with
 * the password and a code), recovery codes (shown once, regenerable) and
 * remembered devices; and the administrators' side: the site setting
 * that requires it of admins, and resetting it for a user. Every change
 * is audited. */
#include "accounts.h"
#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "i18n.h"
#include "log.h"
#include "mail.h"
#include "once.h"
#include "twofa.h"
#include "util.h"
#include "view.h"

#include <gd.h>
#include <qrencode.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The forms that take a code: confirming the set-up, new recovery
 * codes. */
enum { SC_CODE };
const struct input security_code_inputs[] = {
	[SC_CODE] = { .name = "code", .type = IN_STR, .flags = IN_REQUIRED,
		.min = 1, .max = 64,
		.msg = "Code: the six digits your app shows now." },
	IN_END,
};

/* POST /account/security/disable: the password and a code (from the
 * app, or a recovery code), both judged as typed. */
enum { SD_PASSWORD, SD_CODE };
const struct input security_disable_inputs[] = {
	[SD_PASSWORD] = { .name = "password", .type = IN_STR,
		.max = PASSWORD_MAX },
	[SD_CODE] = { .name = "code", .type = IN_STR, .max = 64 },
	IN_END,
};

/* POST /admin/settings/two-factor: the box "require it of admins". */
enum { SR_REQUIRE };
const struct input security_require_inputs[] = {
	[SR_REQUIRE] = { .name = "require_admins", .type = IN_BOOL,
		.msg = "Require: 0 or 1." },
	IN_END,
};

static const char *const done_msgs[][2] = {
	{ "setup", N_("Scan the code with your app, then confirm with the "
	  "code it shows.") },
	{ "disabled", N_("Two-factor login is off.") },
	{ "devices", N_("Remembered devices forgotten: each asks for a code "
	  "again.") },
	{ "enabled", N_("Two-factor login is on. Keep these recovery codes "
	  "somewhere safe.") },
	{ "recovery", N_("New recovery codes; the old ones no longer "
	  "work.") },
};

/* The user's secret not yet confirmed, opened, into secret. Returns 1, 0
 * when there is none, -1 on a db or key error. */
static int
pending_secret(struct kreq *req, unsigned char *secret)
{
	struct db_param p = DB_INT(req->auth->user_id);
	unsigned char key[32];
	char *sealed = NULL;
	int rc;

	if (db_query_string(req->app->db, "SELECT secret_sealed FROM"
	    " user_totp WHERE user_id = ? AND enabled_at IS NULL", &p, 1,
	    &sealed) != 0)
		return -1;
	if (sealed == NULL)
		return 0;
	twofa_key(&req->app->cfg, key);
	rc = twofa_open(key, req->auth->user_id, sealed, secret) == 0 ? 1 : -1;
	if (rc < 0)
		log_error("2fa: the pending secret of user %llu does not open",
			req->auth->user_id);
	sodium_memzero(key, sizeof(key));
	free(sealed);
	return rc;
}

/* otpauth://totp/ISSUER:USER?secret=...&issuer=ISSUER&... into b, as
 * Google's Key URI Format has it. Returns 0 or -1. */
static int
otpauth_uri(struct kreq *req, const char *b32, struct buf *b)
{
	const char *issuer = req->app->cfg.site_name;

	if (buf_puts(b, "otpauth://totp/") != 0 ||
	    buf_url_escape(b, issuer) != 0 || buf_puts(b, ":") != 0 ||
	    buf_url_escape(b, req->auth->username) != 0 ||
	    buf_printf(b, "?secret=%s&issuer=", b32) != 0 ||
	    buf_url_escape(b, issuer) != 0 ||
	    buf_printf(b, "&algorithm=SHA1&digits=%d&period=%d", TOTP_DIGITS,
	    TOTP_STEP) != 0)
		return -1;
	return 0;
}

/* Fills the page's data. Returns 0 or -1 (db). */
static int
load(struct kreq *req)
{
	struct db_param p = DB_INT(req->auth->user_id);
	unsigned char secret[TOTP_SECRET_BYTES];
	const char *done = req_query(req, "done");
	char b32[TOTP_SECRET_B32 + 1];
	struct buf uri = { 0 };
	char *codes = NULL, *v[RECOVERY_CODES];
	size_t i;
	int st, rc = -1;

	st = twofa_enabled(req->app->db, req->auth->user_id);
	if (st < 0)
		return -1;
	view_set_int(req, "Security.Enabled", st);
	if (!st) {
		st = pending_secret(req, secret);
		if (st < 0)
			goto out;
		if (st > 0) {
			if (totp_base32(secret, b32) != 0 ||
			    otpauth_uri(req, b32, &uri) != 0)
				goto out;
			view_set_int(req, "Security.Pending", 1);
			view_set(req, "Security.Secret", b32);
			view_set(req, "Security.Uri", uri.data);
		}
	}
	if (view_rows(req, "Security.Devices", "SELECT id AS Id,"
	    " DATE_FORMAT(created_at, '%Y-%m-%d %H:%i') AS Created,"
	    " COALESCE(DATE_FORMAT(last_used_at, '%Y-%m-%d %H:%i'), '')"
	    " AS LastUsed, ip AS Ip, user_agent AS Agent,"
	    " DATE_FORMAT(expires_at, '%Y-%m-%d %H:%i') AS Expires"
	    " FROM trusted_devices WHERE user_id = ? AND expires_at > NOW(3)"
	    " ORDER BY id DESC LIMIT 50", &p, 1) < 0 ||
	    view_rows(req, "Security.Recovery", "SELECT COUNT(*) AS Remaining"
	    " FROM recovery_codes WHERE user_id = ? AND used_at IS NULL", &p,
	    1) < 0)
		goto out;
	if (req_query(req, "required") != NULL && req->auth->is_admin)
		view_set_int(req, "Security.Required", 1);
	/* Fresh recovery codes, left by show_codes: on no other page. */
	st = once_take(req, "recovery", &codes);
	if (st < 0)
		goto out;
	if (st > 0 && once_lines(codes, v, RECOVERY_CODES) == RECOVERY_CODES)
		for (i = 0; i < RECOVERY_CODES; i++) {
			char key[32];

			snprintf(key, sizeof(key), "RecoveryCodes.%zu", i);
			view_set(req, key, v[i]);
		}
	for (i = 0; done != NULL && i < ARRAY_LEN(done_msgs); i++)
		if (!strcmp(done, done_msgs[i][0]))
			view_set(req, "Security.Done", view_tr(req,
				done_msgs[i][1]));
	rc = 0;
out:
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(b32, sizeof(b32));
	buf_free(&uri);
	once_free(codes);
	return rc;
}

static int
show(struct kreq *req, int status)
{
	if (load(req) != 0)
		return view_db_fail(req, "security: load");
	/* The secret is on the page while it is being set up. */
	resp_header(req, "Cache-Control", "no-store");
	return view_render(req, status, "Security", "account_security.cs");
}

int
page_security(struct kreq *req)
{
	return show(req, 200);
}

/* The QR code of the otpauth URI as a PNG: only while the set-up waits
 * for its confirmation, only to the owner's session, never cached. */
int
page_security_qr(struct kreq *req)
{
	unsigned char secret[TOTP_SECRET_BYTES];
	char b32[TOTP_SECRET_B32 + 1];
	struct buf uri = { 0 };
	QRcode *qr = NULL;
	gdImagePtr im = NULL;
	void *png = NULL;
	int st, size = 0, x, y, white, black, rc = -1;
	/* Pixels per module, and the quiet zone of four modules the
	 * standard asks around the symbol. */
	const int scale = 6, quiet = 4;

	st = pending_secret(req, secret);
	if (st < 0)
		return view_db_fail(req, "security: qr");
	if (st == 0) {
		view_error(req, 404, "not_found", "No two-factor set-up is "
			"waiting for its confirmation.");
		return -1;
	}
	if (totp_base32(secret, b32) != 0 || otpauth_uri(req, b32, &uri) != 0)
		goto fail;
	qr = QRcode_encodeString(uri.data, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (qr == NULL)
		goto fail;
	im = gdImageCreate((qr->width + 2 * quiet) * scale,
		(qr->width + 2 * quiet) * scale);
	if (im == NULL)
		goto fail;
	white = gdImageColorAllocate(im, 255, 255, 255);
	black = gdImageColorAllocate(im, 0, 0, 0);
	gdImageFilledRectangle(im, 0, 0, gdImageSX(im) - 1, gdImageSY(im) - 1,
		white);
	for (y = 0; y < qr->width; y++)
		for (x = 0; x < qr->width; x++)
			if (qr->data[y * qr->width + x] & 1)
				gdImageFilledRectangle(im, (x + quiet) * scale,
					(y + quiet) * scale,
					(x + quiet + 1) * scale - 1,
					(y + quiet + 1) * scale - 1, black);
	png = gdImagePngPtr(im, &size);
	if (png == NULL || size <= 0 ||
	    buf_append(&req->out, png, (size_t)size) != 0)
		goto fail;
	req->status = 200;
	req->ctype = "image/png";
	resp_header(req, "Cache-Control", "no-store");
	rc = 0;
	goto out;
fail:
	view_error(req, 500, "internal", "The QR code could not be drawn.");
out:
	gdFree(png);
	if (im != NULL)
		gdImageDestroy(im);
	if (qr != NULL)
		QRcode_free(qr);
	buf_free(&uri);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(b32, sizeof(b32));
	return rc;
}

int
page_security_setup(struct kreq *req)
{
	unsigned char secret[TOTP_SECRET_BYTES], key[32];
	char sealed[TWOFA_SEALED_MAX];
	struct db_param p[2];
	int st, rc;

	st = twofa_enabled(req->app->db, req->auth->user_id);
	if (st < 0)
		return view_db_fail(req, "security: setup");
	if (st > 0)
		return resp_redirect(req, "/account/security");
	twofa_key(&req->app->cfg, key);
	/* libsodium's CSPRNG, as every other secret of kiln's. */
	randombytes_buf(secret, sizeof(secret));
	if (twofa_seal(key, req->auth->user_id, secret, sealed) != 0) {
		sodium_memzero(key, sizeof(key));
		view_error(req, 500, "internal", "No randomness.");
		return -1;
	}
	sodium_memzero(key, sizeof(key));
	sodium_memzero(secret, sizeof(secret));
	/* A new set-up replaces one never confirmed. */
	p[0] = DB_INT(req->auth->user_id);
	p[1] = DB_STR(sealed);
	rc = db_exec(req->app->db, "INSERT INTO user_totp (user_id,"
		" secret_sealed) VALUES (?, ?) ON DUPLICATE KEY UPDATE"
		" secret_sealed = IF(enabled_at IS NULL, VALUES(secret_sealed),"
		" secret_sealed), last_step = IF(enabled_at IS NULL, 0,"
		" last_step)", p, 2, NULL, NULL);
	if (rc != 0)
		return view_db_fail(req, "security: setup");
	return resp_redirect(req, "/account/security?done=setup");
}

/* The lockout that guards the password guards codes typed by a signed-in
 * user too (auth_form_locked). */
static int
locked_out(struct kreq *req)
{
	int st = auth_form_locked(req, "code");

	if (st == 1)
		show(req, 429);
	return st;
}

static void
count_failure(struct kreq *req, const char *what)
{
	auth_form_failed(req, what, "the security page");
}

/* Leaves fresh recovery codes for the security page, which shows them
 * once (load), and redirects there with done's message; the codes are
 * wiped. Returns 0, or -1 answered. */
static int
show_codes(struct kreq *req, char codes[RECOVERY_CODES][RECOVERY_LEN + 1],
	const char *done)
{
	char text[RECOVERY_CODES * (RECOVERY_LEN + 1)], url[64];
	size_t n = 0;
	int i, rc = -1;

	for (i = 0; i < RECOVERY_CODES; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%s",
			i ? "\n" : "", codes[i]);
	snprintf(url, sizeof(url), "/account/security?done=%s", done);
	if (once_put(req, "recovery", "/account/security", text) != 0)
		view_error(req, 500, "internal", N_("The recovery codes could "
			"not be kept for the page: make new ones."));
	else
		rc = resp_redirect(req, url);
	sodium_memzero(text, sizeof(text));
	sodium_memzero(codes, sizeof(codes[0]) * RECOVERY_CODES);
	return rc;
}

int
page_security_enable(struct kreq *req)
{
	char code[65], codes[RECOVERY_CODES][RECOVERY_LEN + 1];
	struct db_param p = DB_INT(req->auth->user_id);
	unsigned long long n = 0;
	int st;

	st = locked_out(req);
	if (st != 0)
		return st < 0 ? -1 : 0;
	twofa_code_clean(in_str(req, SC_CODE), code, sizeof(code));
	st = twofa_check_totp(req, req->auth->user_id, code, 1);
	if (st < 0)
		return view_db_fail(req, "security: enable");
	if (st == 0) {
		count_failure(req, "code confirming two-factor login");
		view_field_error(req, "code", "Code: wrong, or that set-up "
			"was replaced. Type the six digits your app shows "
			"now.");
		return show(req, 422);
	}
	if (db_exec(req->app->db, "UPDATE user_totp SET enabled_at = NOW(3)"
	    " WHERE user_id = ? AND enabled_at IS NULL", &p, 1, &n, NULL) != 0)
		return view_db_fail(req, "security: enable");
	if (n != 1)
		return resp_redirect(req, "/account/security");
	if (twofa_new_recovery(req->app->db, req->auth->user_id, codes) != 0)
		return view_db_fail(req, "security: recovery codes");
	audit(req, "2fa_enable", req->auth->user_id, req->auth->username,
		"%d recovery codes made", RECOVERY_CODES);
	mail_notify(req, req->auth->user_id, "2fa", "Two-factor login turned "
		"on", "Two-factor login was turned on for your account on %s.",
		req->app->cfg.site_name);
	return show_codes(req, codes, "enabled");
}

int
page_security_recovery(struct kreq *req)
{
	char code[65], codes[RECOVERY_CODES][RECOVERY_LEN + 1];
	int st;

	st = locked_out(req);
	if (st != 0)
		return st < 0 ? -1 : 0;
	twofa_code_clean(in_str(req, SC_CODE), code, sizeof(code));
	st = twofa_check_totp(req, req->auth->user_id, code, 0);
	if (st < 0)
		return view_db_fail(req, "security: recovery");
	if (st == 0) {
		count_failure(req, "code for new recovery codes");
		view_field_error(req, "code", "Code: wrong. Type the six "
			"digits your app shows now.");
		return show(req, 422);
	}
	if (twofa_new_recovery(req->app->db, req->auth->user_id, codes) != 0)
		return view_db_fail(req, "security: recovery codes");
	audit(req, "2fa_recovery_new", req->auth->user_id,
		req->auth->username, "%d recovery codes made, the old ones "
		"void", RECOVERY_CODES);
	mail_notify(req, req->auth->user_id, "2fa", "New recovery codes",
		"New two-factor recovery codes were made for your account on "
		"%s; the old ones no longer work.", req->app->cfg.site_name);
	return show_codes(req, codes, "recovery");
}

int
page_security_disable(struct kreq *req)
{
	const char *pw = in_str(req, SD_PASSWORD);
	char code[65], *hash = NULL;
	struct db_param p = DB_INT(req->auth->user_id);
	int st, rehash, recovery = 0;

	st = locked_out(req);
	if (st != 0)
		return st < 0 ? -1 : 0;
	if (db_query_string(req->app->db, "SELECT password_hash FROM users"
	    " WHERE id = ?", &p, 1, &hash) != 0 || hash == NULL)
		return view_db_fail(req, "security: lookup");
	st = pw != NULL && password_verify(hash, pw, &rehash);
	free(hash);
	if (!st) {
		count_failure(req, "password turning two-factor login off");
		view_field_error(req, "password", "Password: wrong.");
		return show(req, 422);
	}
	twofa_code_clean(in_str(req, SD_CODE), code, sizeof(code));
	if (totp_code_syntax(code))
		st = twofa_check_totp(req, req->auth->user_id, code, 0);
	else {
		st = twofa_use_recovery(req, req->auth->user_id, code);
		recovery = 1;
	}
	if (st < 0)
		return view_db_fail(req, "security: disable");
	if (st == 0) {
		count_failure(req, "code turning two-factor login off");
		view_field_error(req, "code", "Code: wrong. Type the six "
			"digits your app shows now, or a recovery code.");
		return show(req, 422);
	}
	if (twofa_remove(req->app->db, req->auth->user_id) != 0)
		return view_db_fail(req, "security: disable");
	audit(req, "2fa_disable", req->auth->user_id, req->auth->username,
		"confirmed with the password and %s", recovery ?
		"a recovery code" : "an app code");
	mail_notify(req, req->auth->user_id, "2fa", "Two-factor login turned "
		"off", "Two-factor login was turned off for your account on "
		"%s.", req->app->cfg.site_name);
	return resp_redirect(req, "/account/security?done=disabled");
}

int
page_security_forget(struct kreq *req)
{
	struct db_param p = DB_INT(req->auth->user_id);
	unsigned long long n = 0;

	if (db_exec(req->app->db, "DELETE FROM trusted_devices WHERE"
	    " user_id = ?", &p, 1, &n, NULL) != 0)
		return view_db_fail(req, "security: forget devices");
	audit(req, "2fa_devices_forget", req->auth->user_id,
		req->auth->username, "%llu remembered devices forgotten", n);
	return resp_redirect(req, "/account/security?done=devices");
}

int
page_admin_user_2fa_reset(struct kreq *req)
{
	unsigned long long id = req_id(req, 0);
	struct db_param p = DB_INT(id);
	char *name = NULL, url[64];
	int on, rc;

	if (id != 0 && db_query_string(req->app->db, "SELECT username FROM"
	    " users WHERE id = ?", &p, 1, &name) != 0)
		return view_db_fail(req, "admin: 2fa reset");
	if (name == NULL) {
		view_error(req, 404, "not_found", "No such user.");
		return -1;
	}
	on = twofa_enabled(req->app->db, id);
	if (on < 0 || twofa_remove(req->app->db, id) != 0) {
		free(name);
		return view_db_fail(req, "admin: 2fa reset");
	}
	audit(req, "2fa_reset", id, name, "two-factor login %s; recovery "
		"codes and remembered devices removed", on ? "turned off" :
		"was off");
	mail_notify(req, id, "2fa", "Two-factor login reset", "An "
		"administrator of %s reset two-factor login for your account: "
		"it is off, and its recovery codes and remembered devices are "
		"gone.", req->app->cfg.site_name);
	free(name);
	snprintf(url, sizeof(url), "/admin/users/%llu", id);
	rc = resp_redirect(req, url);
	return rc;
}

int
page_admin_2fa_setting(struct kreq *req)
{
	long on = in_long(req, SR_REQUIRE);
	struct db_param p = DB_STR(on ? "1" : "0");

	if (in_bad(req, SR_REQUIRE)) {
		view_error(req, 422, "validation_failed", "Require: 0 or 1.");
		return -1;
	}
	if (db_exec(req->app->db, "INSERT INTO settings (name, value)"
	    " VALUES ('require_2fa_admins', ?) ON DUPLICATE KEY UPDATE"
	    " value = VALUES(value)", &p, 1, NULL, NULL) != 0)
		return view_db_fail(req, "admin: 2fa setting");
	audit(req, "settings_change", 0, "", "require_2fa_admins = %s",
		on ? "1" : "0");
	return resp_redirect(req, "/admin/settings?done=saved");
}
