/* config.c - INI parser for kiln.conf, driven by a key/type table. */
#include "config.h"
#include "accounts.h"
#include "mail.h"
#include "netpolicy.h"
#include "s3.h"
#include "storage.h"
#include "util.h"

#include <errno.h>
#include <sodium.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Where `make install` puts templates and migrations; the Makefile passes
 * its own $(SHARE) so the defaults match the install. */
#ifndef KILN_SHARE_DIR
#define KILN_SHARE_DIR "/usr/local/share/kiln"
#endif

enum cfg_type { CFG_STR, CFG_INT, CFG_BOOL };

/* A string key's own syntax check: returns 0, or -1 with a message. */
typedef int (*cfg_check_fn)(const char *val, char *msg, size_t msglen);

/* One declared key: where it lives in struct kiln_config, its type, its
 * default ("" for optional strings), for integers the allowed range, for
 * strings with a syntax of their own the check, and for strings that
 * take one of a few words the words ("auto|f32"). */
struct cfg_key {
	const char *section;
	const char *key;
	enum cfg_type type;
	size_t off;
	const char *def;
	long min, max;
	cfg_check_fn check;
	const char *words;
};

static int check_webhook_allow(const char *val, char *msg, size_t msglen);
static int check_loopback_user(const char *val, char *msg, size_t msglen);
static int check_totp_key(const char *val, char *msg, size_t msglen);
static int check_mail_relay(const char *val, char *msg, size_t msglen);
static int check_mail_from(const char *val, char *msg, size_t msglen);
static int check_alerts_url(const char *val, char *msg, size_t msglen);
static int check_events_url(const char *val, char *msg, size_t msglen);
static int check_alerts_emails(const char *val, char *msg, size_t msglen);
static int check_s3_endpoint(const char *val, char *msg, size_t msglen);
static int check_s3_bucket(const char *val, char *msg, size_t msglen);
static int check_s3_prefix(const char *val, char *msg, size_t msglen);

#define S(sec, k, field, d) \
	{ sec, k, CFG_STR, offsetof(struct kiln_config, field), d, 0, 0, NULL, \
	  NULL }
#define SC(sec, k, field, d, fn) \
	{ sec, k, CFG_STR, offsetof(struct kiln_config, field), d, 0, 0, fn, \
	  NULL }
#define W(sec, k, field, d, words) \
	{ sec, k, CFG_STR, offsetof(struct kiln_config, field), d, 0, 0, NULL, \
	  words }
#define I(sec, k, field, d, lo, hi) \
	{ sec, k, CFG_INT, offsetof(struct kiln_config, field), d, lo, hi, \
	  NULL, NULL }
#define B(sec, k, field, d) \
	{ sec, k, CFG_BOOL, offsetof(struct kiln_config, field), d, 0, 1, \
	  NULL, NULL }

static const struct cfg_key keys[] = {
	S("site", "name", site_name, "kiln"),
	S("site", "base_url", base_url, "http://127.0.0.1:8080"),
	S("database", "host", db_host, ""),
	I("database", "port", db_port, "3306", 1, 65535),
	S("database", "socket", db_socket, ""),
	S("database", "user", db_user, "kiln"),
	S("database", "password", db_password, ""),
	S("database", "name", db_name, "kiln"),
	I("database", "connect_timeout", db_connect_timeout, "3", 1, 60),
	I("database", "rw_timeout", db_rw_timeout, "10", 1, 600),
	S("paths", "templates", templates_dir, KILN_SHARE_DIR "/templates"),
	S("paths", "static_url", static_url, "/static"),
	S("paths", "locale", locale_dir, KILN_SHARE_DIR "/po"),
	S("paths", "migrations", migrations_dir, KILN_SHARE_DIR "/sql"),
	S("paths", "artifacts", artifacts_dir, "/var/lib/kiln/artifacts"),
	S("paths", "models", models_dir, KILN_SHARE_DIR "/models"),
	S("paths", "loras", loras_dir, ""),
	S("paths", "embeddings", embeddings_dir, ""),
	S("paths", "upscalers", upscalers_dir, ""),
	S("paths", "controlnets", controlnets_dir, ""),
	S("daemon", "name", daemon_name, ""),
	I("daemon", "heartbeat_interval", heartbeat_interval, "5", 1, 3600),
	S("daemon", "device", daemon_device, ""),
	S("daemon", "default_model", default_model, "kiln-micro"),
	I("daemon", "lease_seconds", lease_seconds, "30", 3, 3600),
	I("daemon", "poll_ms", poll_ms, "250", 10, 60000),
	I("daemon", "model_memory_mb", model_memory_mb, "4096", 0, 1048576),
	I("daemon", "vae_budget_mb", vae_budget_mb, "0", 0, 1048576),
	I("daemon", "preview_every", preview_every, "5", 0, 1000),
	I("daemon", "job_time_limit", job_time_limit, "900", 0, 604800),
	I("daemon", "warm_up", warm_up, "1", 0, 1),
	W("engine", "weights", engine_weights, "auto", "auto|f32"),
	W("engine", "gemm", engine_gemm, "own", "own|clblast"),
	W("engine", "attention", engine_attention, "auto",
		"auto|fused|blocked"),
	B("engine", "profile", engine_profile, "false"),
	B("engine", "tuning", engine_tuning, "true"),
	I("engine", "autotune", engine_autotune, "60", 0, 3600),
	S("engine", "cl_cache_dir", engine_cl_cache_dir, ""),
	S("engine", "tuning_dir", engine_tuning_dir, ""),
	S("engine", "clip_vocab", engine_clip_vocab, ""),
	I("webhooks", "timeout", webhook_timeout, "10", 1, 300),
	I("webhooks", "retry_base", webhook_retry_base, "10", 1, 3600),
	I("webhooks", "max_attempts", webhook_max_attempts, "8", 1, 100),
	SC("webhooks", "allow", webhook_allow_spec, "", check_webhook_allow),
	SC("webhooks", "events_url", webhook_events_url, "", check_events_url),
	I("auth", "session_lifetime", session_lifetime, "2592000", 60,
		31536000),
	I("auth", "session_idle", session_idle, "604800", 60, 31536000),
	I("auth", "lockout_failures", lockout_failures, "5", 1, 1000),
	I("auth", "lockout_ip_failures", lockout_ip_failures, "50", 1,
		100000),
	I("auth", "lockout_window", lockout_window, "900", 1, 86400),
	I("auth", "lockout_seconds", lockout_seconds, "900", 1, 86400),
	SC("auth", "totp_key", totp_key, "", check_totp_key),
	B("mail", "enabled", mail_enabled, "false"),
	SC("mail", "relay", mail_relay, "smtp://127.0.0.1:25",
		check_mail_relay),
	W("mail", "starttls", mail_starttls, "try", "no|try|always"),
	S("mail", "user", mail_user, ""),
	S("mail", "password", mail_password, ""),
	SC("mail", "from", mail_from, "", check_mail_from),
	S("mail", "from_name", mail_from_name, ""),
	I("mail", "timeout", mail_timeout, "30", 1, 600),
	I("mail", "retry_base", mail_retry_base, "60", 1, 86400),
	I("mail", "max_attempts", mail_max_attempts, "10", 1, 100),
	I("alerts", "interval", alerts_interval, "30", 1, 3600),
	SC("alerts", "webhook_url", alerts_webhook_url, "", check_alerts_url),
	SC("alerts", "emails", alerts_emails, "", check_alerts_emails),
	I("limits", "submit_burst", submit_burst, "20", 1, 100000),
	I("limits", "submit_per_minute", submit_per_minute, "30", 1, 1000000),
	I("limits", "login_burst", login_burst, "20", 1, 100000),
	I("limits", "login_per_minute", login_per_minute, "20", 1, 1000000),
	I("limits", "upload_max_mb", upload_max_mb, "20", 1, 1024),
	I("limits", "upload_max_pixels", upload_max_pixels, "16777216", 4096,
		268435456),
	I("limits", "upload_max_side", upload_max_side, "8192", 64, 65535),
	S("metrics", "dir", metrics_dir, ""),
	I("metrics", "allow_loopback", metrics_loopback, "1", 0, 1),
	SC("sdapi", "loopback_user", sdapi_loopback_user, "",
		check_loopback_user),
	S("log", "level", log_level, "info"),
	W("storage", "backend", storage_backend, "local", "local|s3"),
	W("storage", "serve", storage_serve, "stream", "stream|presign"),
	I("storage", "presign_seconds", storage_presign_seconds, "300", 1,
		604800),
	SC("storage", "s3_endpoint", s3_endpoint, "", check_s3_endpoint),
	SC("storage", "s3_bucket", s3_bucket, "", check_s3_bucket),
	S("storage", "s3_region", s3_region, "us-east-1"),
	W("storage", "s3_addressing", s3_addressing, "path", "path|virtual"),
	S("storage", "s3_access_key", s3_access_key, ""),
	S("storage", "s3_secret_key", s3_secret_key, ""),
	S("storage", "s3_secret_key_file", s3_secret_key_file, ""),
	SC("storage", "s3_prefix", s3_prefix, "", check_s3_prefix),
	I("storage", "s3_timeout", s3_timeout, "30", 1, 3600),
};

#undef S
#undef SC
#undef W
#undef I
#undef B

/* [webhooks] allow: checked where it is written, so the message has its
 * line; the list itself is built once the whole file is read. */
static int
check_webhook_allow(const char *val, char *msg, size_t msglen)
{
	char why[256];
	struct net_allow *al = net_allow_new(val, why, sizeof(why));

	if (al == NULL)
		return errf(msg, msglen, "webhooks.allow: %s", why);
	net_allow_free(al);
	return 0;
}

/* [sdapi] loopback_user: empty (off) or a name an account can have;
 * whether that account exists is the database's to say, per request. */
static int
check_loopback_user(const char *val, char *msg, size_t msglen)
{
	if (*val != '\0' && !username_valid(val))
		return errf(msg, msglen, "sdapi.loopback_user: \"%s\" is not "
			"a user name", val);
	return 0;
}

/* [auth] totp_key: empty, or a 256-bit key as 64 hex digits. */
static int
check_totp_key(const char *val, char *msg, size_t msglen)
{
	size_t i, n = strlen(val);

	if (n == 0)
		return 0;
	for (i = 0; i < n && hex_digit((unsigned char)val[i]) >= 0; i++)
		;
	if (n != 64 || i != n)
		return errf(msg, msglen, "auth.totp_key: want 64 hex digits "
			"(a 256-bit key: openssl rand -hex 32), got %zu "
			"characters", n);
	return 0;
}

/* [mail] relay: an smtp:// or smtps:// URL with a host; the rest is
 * curl's to judge when the postman connects. */
static int
check_mail_relay(const char *val, char *msg, size_t msglen)
{
	const char *h = !strncmp(val, "smtp://", 7) ? val + 7 :
		!strncmp(val, "smtps://", 8) ? val + 8 : NULL;

	if (h == NULL || *h == '\0' || *h == '/' || *h == ':')
		return errf(msg, msglen, "mail.relay: want smtp://HOST[:PORT] "
			"or smtps://HOST[:PORT], got \"%s\"", val);
	for (; *h != '\0'; h++)
		if ((unsigned char)*h <= ' ' || *h == 0x7f)
			return errf(msg, msglen, "mail.relay: a space or "
				"control character in the URL");
	return 0;
}

/* [mail] from: empty (then mail cannot be enabled) or an address
 * mail_address_valid() takes. */
static int
check_mail_from(const char *val, char *msg, size_t msglen)
{
	if (*val != '\0' && !mail_address_valid(val))
		return errf(msg, msglen, "mail.from: \"%s\" is not an e-mail "
			"address (local@domain.example, ASCII)", val);
	return 0;
}

/* An operator's webhook address: empty, or http(s) of at most 2048
 * bytes; key names it in the message. */
static int
check_site_url(const char *key, const char *val, char *msg, size_t msglen)
{
	if (*val != '\0' && strncmp(val, "http://", 7) != 0 &&
	    strncmp(val, "https://", 8) != 0)
		return errf(msg, msglen, "%s: \"%s\" is not an http:// or "
			"https:// URL", key, val);
	if (strlen(val) > 2048)
		return errf(msg, msglen, "%s: longer than 2048 bytes", key);
	return 0;
}

static int
check_alerts_url(const char *val, char *msg, size_t msglen)
{
	return check_site_url("alerts.webhook_url", val, msg, msglen);
}

static int
check_events_url(const char *val, char *msg, size_t msglen)
{
	return check_site_url("webhooks.events_url", val, msg, msglen);
}

/* A list of addresses separated by commas (spaces around them allowed),
 * each one mail_address_valid. */
static int
check_alerts_emails(const char *val, char *msg, size_t msglen)
{
	char one[MAIL_ADDR_MAX + 1];
	const char *p = val;

	while (*p != '\0') {
		size_t n;

		while (*p == ' ' || *p == ',')
			p++;
		n = strcspn(p, " ,");
		if (n == 0)
			break;
		if (n > MAIL_ADDR_MAX)
			return errf(msg, msglen, "alerts.emails: an address is "
				"longer than %d bytes", MAIL_ADDR_MAX);
		memcpy(one, p, n);
		one[n] = '\0';
		if (!mail_address_valid(one))
			return errf(msg, msglen, "alerts.emails: \"%s\" is not "
				"an e-mail address", one);
		p += n;
	}
	return 0;
}

/* [storage] s3_endpoint: empty, or http(s)://HOST[:PORT]. */
static int
check_s3_endpoint(const char *val, char *msg, size_t msglen)
{
	char why[256];

	if (*val != '\0' && s3_endpoint_ok(val, why, sizeof(why)) != 0)
		return errf(msg, msglen, "storage.s3_endpoint: %s", why);
	return 0;
}

static int
check_s3_bucket(const char *val, char *msg, size_t msglen)
{
	if (*val != '\0' && !s3_bucket_ok(val))
		return errf(msg, msglen, "storage.s3_bucket: \"%.80s\" is "
			"not a bucket name (3-63 of a-z, 0-9, '.', '-')", val);
	return 0;
}

/* [storage] s3_prefix: empty, or segments a key takes ending in '/'
 * ("kiln/"), so that a prefixed key is still a plain path. */
static int
check_s3_prefix(const char *val, char *msg, size_t msglen)
{
	size_t n = strlen(val);
	char *k;
	int ok;

	if (n == 0)
		return 0;
	k = xstrdup(val);
	k[n - 1] = '\0';
	ok = val[n - 1] == '/' && n < 128 && storage_key_ok(k);
	free(k);
	if (!ok)
		return errf(msg, msglen, "storage.s3_prefix: want segments of "
			"A-Z a-z 0-9 . _ - ending in '/' (\"kiln/\"), got "
			"\"%.80s\"", val);
	return 0;
}

static const char *const log_levels[] = { "debug", "info", "warn", "error" };

static char **
str_slot(struct kiln_config *cfg, const struct cfg_key *k)
{
	return (char **)(void *)((char *)cfg + k->off);
}

static long *
int_slot(struct kiln_config *cfg, const struct cfg_key *k)
{
	return (long *)(void *)((char *)cfg + k->off);
}

/* val is one of k's words: returns 0, or -1 with a message naming the
 * key and listing them ("expected auto or f32"). */
static int
check_word(const struct cfg_key *k, const char *val, char *msg,
	size_t msglen)
{
	const char *w = k->words, *bar;
	size_t n = strlen(val), len, o;

	for (;;) {
		bar = strchr(w, '|');
		len = bar != NULL ? (size_t)(bar - w) : strlen(w);
		if (len == n && !strncmp(w, val, n))
			return 0;
		if (bar == NULL)
			break;
		w = bar + 1;
	}
	o = (size_t)snprintf(msg, msglen, "%s.%s: expected ", k->section,
		k->key);
	for (w = k->words; o < msglen; w = bar + 1) {
		bar = strchr(w, '|');
		len = bar != NULL ? (size_t)(bar - w) : strlen(w);
		o += (size_t)snprintf(msg + o, msglen - o, "%s%.*s",
			w == k->words ? "" : bar == NULL ? " or " : ", ",
			(int)len, w);
		if (bar == NULL)
			break;
	}
	if (o < msglen)
		snprintf(msg + o, msglen - o, ", got \"%s\"", val);
	return -1;
}

/* Stores one textual value into cfg after checking it against its type.
 * Returns 0, or -1 with a message (without location) in msg. */
static int
set_value(struct kiln_config *cfg, const struct cfg_key *k, const char *val,
	char *msg, size_t msglen)
{
	char **sp;
	long v;

	switch (k->type) {
	case CFG_STR:
		if (k->check != NULL && k->check(val, msg, msglen) != 0)
			return -1;
		if (k->words != NULL && check_word(k, val, msg, msglen) != 0)
			return -1;
		sp = str_slot(cfg, k);
		free(*sp);
		*sp = strdup(val);
		if (*sp == NULL)
			return errf(msg, msglen, "out of memory");
		return 0;
	case CFG_INT:
		if (parse_long(val, k->min, k->max, &v) != 0)
			return errf(msg, msglen,
				"%s.%s: expected an integer from %ld to %ld, "
				"got \"%s\"", k->section, k->key, k->min,
				k->max, val);
		*int_slot(cfg, k) = v;
		return 0;
	case CFG_BOOL:
		if (!strcasecmp(val, "true") || !strcasecmp(val, "yes") ||
		    !strcasecmp(val, "on") || !strcmp(val, "1"))
			v = 1;
		else if (!strcasecmp(val, "false") || !strcasecmp(val, "no") ||
		    !strcasecmp(val, "off") || !strcmp(val, "0"))
			v = 0;
		else
			return errf(msg, msglen,
				"%s.%s: expected true or false, got \"%s\"",
				k->section, k->key, val);
		*int_slot(cfg, k) = v;
		return 0;
	}
	return errf(msg, msglen, "internal: bad key type");
}

static const struct cfg_key *
find_key(const char *section, const char *key)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(keys); i++)
		if (!strcmp(keys[i].section, section) &&
		    !strcmp(keys[i].key, key))
			return &keys[i];
	return NULL;
}

static int
known_section(const char *section)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(keys); i++)
		if (!strcmp(keys[i].section, section))
			return 1;
	return 0;
}

/* The keys of a [tier NAME] section and the built-in values. */
static const struct tier_key {
	const char *key;
	size_t off;
	long def, min, max;
} tier_keys[] = {
	{ "max_side", offsetof(struct tier_limits, max_side), 1024, 64, 8192 },
	{ "max_steps", offsetof(struct tier_limits, max_steps), 100, 1, 1000 },
	{ "max_batch", offsetof(struct tier_limits, max_batch), 4, 1, 8 },
	{ "jobs_per_day", offsetof(struct tier_limits, jobs_per_day), 1000, 0,
	  10000000 },
	{ "max_queued", offsetof(struct tier_limits, max_queued), 20, 1,
	  100000 },
	{ "priority", offsetof(struct tier_limits, priority), 0, -1000,
	  1000 },
};

static void
tier_defaults(struct tier_limits *t, const char *name)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	for (i = 0; i < ARRAY_LEN(tier_keys); i++)
		*(long *)((char *)t + tier_keys[i].off) = tier_keys[i].def;
}

const struct tier_limits *
tier_for(const struct kiln_config *cfg, const char *name)
{
	static struct tier_limits builtin;
	int i;

	for (i = 0; i < cfg->ntiers; i++)
		if (!strcmp(cfg->tiers[i].name, name))
			return &cfg->tiers[i];
	for (i = 0; i < cfg->ntiers; i++)
		if (!strcmp(cfg->tiers[i].name, TIER_DEFAULT))
			return &cfg->tiers[i];
	/* Constant after the first call: the same values every time. */
	if (builtin.name[0] == '\0')
		tier_defaults(&builtin, TIER_DEFAULT);
	return &builtin;
}

void
tier_of(const struct kiln_config *cfg, const char *name,
	struct tier_limits *out)
{
	*out = *tier_for(cfg, name);
	/* The user's own tier name, even on limits borrowed from the
	 * default: messages say "your tier (free)", not "(default)". */
	snprintf(out->name, sizeof(out->name), "%s", name);
}

int
tier_known(const struct kiln_config *cfg, const char *name)
{
	int i;

	if (!strcmp(name, TIER_DEFAULT) || !strcmp(name, TIER_NEW_ACCOUNT))
		return 1;
	for (i = 0; i < cfg->ntiers; i++)
		if (!strcmp(cfg->tiers[i].name, name))
			return 1;
	return 0;
}

int
tier_names(const struct kiln_config *cfg, struct buf *b)
{
	int i, rc;

	rc = buf_puts(b, TIER_DEFAULT ", " TIER_NEW_ACCOUNT);
	for (i = 0; i < cfg->ntiers && rc == 0; i++)
		if (strcmp(cfg->tiers[i].name, TIER_DEFAULT) != 0 &&
		    strcmp(cfg->tiers[i].name, TIER_NEW_ACCOUNT) != 0)
			rc = buf_printf(b, ", %s", cfg->tiers[i].name);
	return rc;
}

/* "[tier NAME]": starts a tier section. Returns the tier, or NULL with a
 * message (bad name, too many, twice). */
static struct tier_limits *
tier_section(struct kiln_config *cfg, const char *name, char *msg,
	size_t msglen)
{
	size_t n = strlen(name), i;
	int t;

	if (n < 1 || n > 32) {
		errf(msg, msglen, "tier name must be 1-32 characters");
		return NULL;
	}
	for (i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '_' ||
		    name[i] == '-')) {
			errf(msg, msglen, "tier name: a-z, 0-9, '_' or '-'");
			return NULL;
		}
	for (t = 0; t < cfg->ntiers; t++)
		if (!strcmp(cfg->tiers[t].name, name)) {
			errf(msg, msglen, "[tier %s] appears twice", name);
			return NULL;
		}
	if (cfg->ntiers == TIER_MAX) {
		errf(msg, msglen, "at most %d tiers", TIER_MAX);
		return NULL;
	}
	tier_defaults(&cfg->tiers[cfg->ntiers], name);
	return &cfg->tiers[cfg->ntiers++];
}

static int
tier_set(struct tier_limits *t, const char *key, const char *val, char *msg,
	size_t msglen)
{
	size_t i;
	long v;

	for (i = 0; i < ARRAY_LEN(tier_keys); i++) {
		if (strcmp(tier_keys[i].key, key) != 0)
			continue;
		if (parse_long(val, tier_keys[i].min, tier_keys[i].max, &v) !=
		    0)
			return errf(msg, msglen, "tier %s.%s: expected a whole "
				"number from %ld to %ld, got \"%s\"", t->name,
				key, tier_keys[i].min, tier_keys[i].max, val);
		*(long *)((char *)t + tier_keys[i].off) = v;
		return 0;
	}
	return errf(msg, msglen, "unknown key '%.64s' in [tier %s]; known: "
		"max_side, max_steps, max_batch, jobs_per_day, max_queued, "
		"priority", key, t->name);
}

/* Checks that need more than one key or a list of allowed words. */
static int
validate(const struct kiln_config *cfg, char *msg, size_t msglen)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(log_levels); i++)
		if (!strcmp(cfg->log_level, log_levels[i]))
			break;
	if (i == ARRAY_LEN(log_levels))
		return errf(msg, msglen, "log.level: expected debug, info, "
			"warn or error, got \"%s\"", cfg->log_level);
	if (cfg->db_name[0] == '\0')
		return errf(msg, msglen, "database.name: must not be empty");
	if (cfg->db_user[0] == '\0')
		return errf(msg, msglen, "database.user: must not be empty");
	if (cfg->mail_enabled && cfg->mail_from[0] == '\0')
		return errf(msg, msglen, "mail.from: must be set when "
			"mail.enabled is true (the address mails come from)");
	if (!strcmp(cfg->storage_backend, "s3")) {
		if (cfg->s3_endpoint[0] == '\0' || cfg->s3_bucket[0] == '\0' ||
		    cfg->s3_access_key[0] == '\0')
			return errf(msg, msglen, "storage: backend s3 needs "
				"s3_endpoint, s3_bucket and s3_access_key");
		if ((cfg->s3_secret_key[0] == '\0') ==
		    (cfg->s3_secret_key_file[0] == '\0'))
			return errf(msg, msglen, "storage: backend s3 needs "
				"one of s3_secret_key and s3_secret_key_file");
	} else if (!strcmp(cfg->storage_serve, "presign"))
		return errf(msg, msglen, "storage.serve: presign needs "
			"backend = s3 (a local directory has no URLs)");
	return 0;
}

void
config_free(struct kiln_config *cfg)
{
	size_t i;

	net_allow_free(cfg->webhook_allow);
	cfg->webhook_allow = NULL;
	for (i = 0; i < ARRAY_LEN(keys); i++) {
		if (keys[i].type == CFG_STR) {
			char **sp = str_slot(cfg, &keys[i]);
			free(*sp);
			*sp = NULL;
		}
	}
}

int
config_parse(struct kiln_config *cfg, const char *name, const char *text,
	size_t len, char *err, size_t errlen)
{
	/* One bit per declared key, so a key set twice is reported. */
	unsigned char seen[ARRAY_LEN(keys)] = { 0 };
	char section[64] = "";
	char msg[512];
	char *line = NULL;
	struct tier_limits *tier = NULL;
	size_t pos = 0, lineno = 0, i;
	int rc = -1;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < ARRAY_LEN(keys); i++) {
		if (set_value(cfg, &keys[i], keys[i].def, msg, sizeof(msg))) {
			errf(err, errlen, "%s: %s", name, msg);
			goto out;
		}
	}

	while (pos < len) {
		size_t end = pos, n;
		char *p, *eq, *key, *val;
		const struct cfg_key *k;

		while (end < len && text[end] != '\n')
			end++;
		n = end - pos;
		lineno++;
		free(line);
		line = malloc(n + 1);
		if (line == NULL) {
			errf(err, errlen, "%s: out of memory", name);
			goto out;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos = end + 1;

		if (memchr(line, '\0', n) != NULL) {
			errf(err, errlen, "%s:%zu: NUL byte in line", name,
				lineno);
			goto out;
		}
		p = str_trim(line);
		if (*p == '\0' || *p == '#' || *p == ';')
			continue;
		if (*p == '[') {
			size_t sl = strlen(p);
			if (p[sl - 1] != ']') {
				errf(err, errlen, "%s:%zu: section header "
					"must end with ']'", name, lineno);
				goto out;
			}
			p[sl - 1] = '\0';
			p = str_trim(p + 1);
			tier = NULL;
			if (!strncmp(p, "tier ", 5)) {
				tier = tier_section(cfg, str_trim(p + 5), msg,
					sizeof(msg));
				if (tier == NULL) {
					errf(err, errlen, "%s:%zu: %s", name,
						lineno, msg);
					goto out;
				}
				snprintf(section, sizeof(section), "%s", p);
				continue;
			}
			if (!known_section(p)) {
				errf(err, errlen, "%s:%zu: unknown section "
					"[%.64s]", name, lineno, p);
				goto out;
			}
			snprintf(section, sizeof(section), "%s", p);
			continue;
		}
		eq = strchr(p, '=');
		if (eq == NULL) {
			errf(err, errlen, "%s:%zu: expected 'key = value'",
				name, lineno);
			goto out;
		}
		*eq = '\0';
		key = str_trim(p);
		val = str_trim(eq + 1);
		if (section[0] == '\0') {
			errf(err, errlen, "%s:%zu: key '%.64s' outside any "
				"[section]", name, lineno, key);
			goto out;
		}
		if (tier != NULL) {
			if (tier_set(tier, key, val, msg, sizeof(msg)) != 0) {
				errf(err, errlen, "%s:%zu: %s", name, lineno,
					msg);
				goto out;
			}
			continue;
		}
		k = find_key(section, key);
		if (k == NULL) {
			errf(err, errlen, "%s:%zu: unknown key '%.64s' in "
				"[%s]", name, lineno, key, section);
			goto out;
		}
		if (seen[k - keys]) {
			errf(err, errlen, "%s:%zu: %s.%s set twice", name,
				lineno, k->section, k->key);
			goto out;
		}
		seen[k - keys] = 1;
		if (set_value(cfg, k, val, msg, sizeof(msg)) != 0) {
			errf(err, errlen, "%s:%zu: %s", name, lineno, msg);
			goto out;
		}
	}
	if (validate(cfg, msg, sizeof(msg)) != 0) {
		errf(err, errlen, "%s: %s", name, msg);
		goto out;
	}
	/* Beside the models unless placed elsewhere: one folder to copy
	 * between hosts. */
	if (cfg->loras_dir[0] == '\0') {
		free(cfg->loras_dir);
		cfg->loras_dir = xasprintf("%s/loras", cfg->models_dir);
	}
	if (cfg->embeddings_dir[0] == '\0') {
		free(cfg->embeddings_dir);
		cfg->embeddings_dir = xasprintf("%s/embeddings",
			cfg->models_dir);
	}
	if (cfg->upscalers_dir[0] == '\0') {
		free(cfg->upscalers_dir);
		cfg->upscalers_dir = xasprintf("%s/upscalers",
			cfg->models_dir);
	}
	if (cfg->controlnets_dir[0] == '\0') {
		free(cfg->controlnets_dir);
		cfg->controlnets_dir = xasprintf("%s/controlnet",
			cfg->models_dir);
	}
	cfg->webhook_allow = net_allow_new(cfg->webhook_allow_spec, msg,
		sizeof(msg));
	if (cfg->webhook_allow == NULL) {
		errf(err, errlen, "%s: webhooks.allow: %s", name, msg);
		goto out;
	}
	rc = 0;
out:
	free(line);
	if (rc != 0)
		config_free(cfg);
	return rc;
}

const char *
config_default_path(void)
{
	const char *env = getenv("KILN_CONF");

	return (env != NULL && *env != '\0') ? env : KILN_CONF_DEFAULT;
}

/* [storage] s3_secret_key_file: the secret read from its file (its one
 * line, the line break dropped), kept apart from the kiln.conf that
 * every binary reads, as SSH and TLS keys are. */
static int
secret_from_file(struct kiln_config *cfg, char *err, size_t errlen)
{
	struct buf b = { 0 };
	const char *f = cfg->s3_secret_key_file;
	size_t n;

	if (*f == '\0')
		return 0;
	if (buf_read_file(&b, f, 4096) != BUF_READ_OK) {
		buf_free(&b);
		return errf(err, errlen, "%s: cannot read (storage."
			"s3_secret_key_file): %s", f, strerror(errno));
	}
	n = b.len;
	while (n > 0 && (b.data[n - 1] == '\n' || b.data[n - 1] == '\r'))
		n--;
	if (n == 0 || memchr(b.data, '\0', n) != NULL ||
	    memchr(b.data, '\n', n) != NULL) {
		if (b.data != NULL)
			sodium_memzero(b.data, b.len);
		buf_free(&b);
		return errf(err, errlen, "%s: want the secret key alone on "
			"one line (storage.s3_secret_key_file)", f);
	}
	free(cfg->s3_secret_key);
	cfg->s3_secret_key = xasprintf("%.*s", (int)n, b.data);
	sodium_memzero(b.data, b.len);
	buf_free(&b);
	return 0;
}

int
config_load(struct kiln_config *cfg, const char *path, char *err,
	size_t errlen)
{
	struct buf b = { 0 };
	int rc = -1;

	memset(cfg, 0, sizeof(*cfg));
	if (path == NULL)
		path = config_default_path();
	/* A config file is small; refuse anything absurd. */
	switch (buf_read_file(&b, path, 1u << 20)) {
	case BUF_READ_OK:
		rc = config_parse(cfg, path, b.data ? b.data : "", b.len, err,
			errlen);
		if (rc == 0 && secret_from_file(cfg, err, errlen) != 0) {
			config_free(cfg);
			rc = -1;
		}
		break;
	case BUF_READ_CANNOT_OPEN:
		errf(err, errlen, "%s: cannot open: %s", path,
			strerror(errno));
		break;
	case BUF_READ_TOO_LARGE:
		errf(err, errlen, "%s: larger than 1 MiB", path);
		break;
	case BUF_READ_NO_MEMORY:
		errf(err, errlen, "%s: out of memory", path);
		break;
	case BUF_READ_ERROR:
		errf(err, errlen, "%s: read error: %s", path,
			strerror(errno));
		break;
	}
	buf_free(&b);
	return rc;
}
