/* config.h - the kiln.conf file: one INI file, a declared key/type table. */
#ifndef KILN_CONFIG_H
#define KILN_CONFIG_H

#include <stddef.h>

#define KILN_CONF_DEFAULT "/etc/kiln/kiln.conf"

struct net_allow;

/* Every setting every binary may read. Strings are owned by the struct and
 * never NULL after a successful load (unset optional ones are ""). */
/* What one account tier may do ([tier NAME] sections). */
#define TIER_MAX 16
struct tier_limits {
	char name[33];
	long max_side;		/* width and height, pixels */
	long max_steps;
	long max_batch;		/* images per job */
	long jobs_per_day;	/* submitted in any 24 hours */
	long max_queued;	/* queued or running at once */
	long priority;		/* higher runs first */
};

struct kiln_config {
	/* [site] */
	char *site_name;
	char *base_url;
	/* [database] */
	char *db_host;
	long db_port;
	char *db_socket;
	char *db_user;
	char *db_password;
	char *db_name;
	long db_connect_timeout;
	long db_rw_timeout;
	/* [paths] */
	char *templates_dir;
	char *locale_dir;	/* the PO catalogues (i18n.c) */
	char *static_url;
	char *migrations_dir;
	char *artifacts_dir;
	char *models_dir;
	/* LoRAs and textual-inversion embeddings (NAME.safetensors); set
	 * empty, MODELS/loras and MODELS/embeddings after the load. */
	char *loras_dir;
	char *embeddings_dir;
	/* Upscaler models (NAME.safetensors: RRDBNet, SRVGGNet) for the
	 * hires fix; empty: MODELS/upscalers. */
	char *upscalers_dir;
	/* ControlNets (NAME.safetensors, or NAME/ in diffusers' layout) a
	 * job's controlnet_model names; empty: MODELS/controlnet. */
	char *controlnets_dir;
	/* [daemon] */
	char *daemon_name;
	long heartbeat_interval;
	char *daemon_device;
	char *default_model;
	long lease_seconds;		/* a running job's lease */
	long poll_ms;			/* idle queue poll */
	long job_time_limit;		/* seconds a render may take, 0: none */
	long warm_up;			/* build kernels, render once at start */
	long model_memory_mb;		/* loaded models' budget; 0: one */
	long vae_budget_mb;		/* VAE and upscaler tiles; 0: whole */
	long preview_every;		/* steps between previews; 0: none */
	/* [engine]: kilnd's struct engine_opts (render-daemon/engine_env.c) */
	char *engine_weights;		/* "auto" or "f32" */
	char *engine_gemm;		/* "own" or "clblast" */
	char *engine_attention;		/* "auto", "fused" or "blocked" */
	long engine_profile;		/* bool */
	long engine_tuning;		/* bool */
	long engine_autotune;		/* seconds; 0: never */
	char *engine_cl_cache_dir;	/* "": the user's cache directory */
	char *engine_tuning_dir;	/* "": the user's config directory */
	char *engine_clip_vocab;	/* "": models/clip beside the binary */
	/* [webhooks] */
	long webhook_timeout;
	long webhook_retry_base;
	long webhook_max_attempts;
	char *webhook_allow_spec;	/* as written; "" for none */
	struct net_allow *webhook_allow; /* parsed from it; never NULL */
	/* [auth] */
	long session_lifetime;		/* seconds a session lives at most */
	long session_idle;		/* seconds unused before it ends */
	long lockout_failures;		/* per account name, in the window */
	long lockout_ip_failures;	/* per client address */
	long lockout_window;		/* seconds failures are counted over */
	long lockout_seconds;		/* how long a lockout lasts */
	/* 64 hex digits: the key two-factor secrets are sealed with in
	 * the database; "": one derived from [database] password. */
	char *totp_key;
	/* [mail]: the SMTP relay kilnd's postman sends the outbox through
	 * (mail.h). */
	long mail_enabled;		/* bool: 0 queues nothing */
	char *mail_relay;		/* smtp://host:port or smtps:// */
	char *mail_starttls;		/* "no", "try" or "always" */
	char *mail_user;		/* "": no AUTH */
	char *mail_password;
	char *mail_from;		/* the envelope and From address */
	char *mail_from_name;		/* "": [site] name */
	long mail_timeout;		/* seconds per SMTP transaction */
	long mail_retry_base;		/* backoff base, seconds */
	long mail_max_attempts;		/* then the mail is "failed" */
	/* [alerts]: the rules kilnd's keeper evaluates (alerts.h). */
	long alerts_interval;		/* seconds between evaluations */
	char *alerts_webhook_url;	/* "": no webhook */
	char *webhook_events_url;	/* site events (account.deleted); "": none */
	char *alerts_emails;		/* "": verified admins; else a list */
	/* [limits] token buckets: burst size, refill per minute */
	long submit_burst;
	long submit_per_minute;
	long login_burst;
	long login_per_minute;
	/* Images a job takes in (upload.h): bytes of one file, and its
	 * pixels and largest side, read from the header before decoding. */
	long upload_max_mb;
	long upload_max_pixels;
	long upload_max_side;
	/* [metrics] */
	char *metrics_dir;		/* "": ARTIFACTS/.metrics */
	long metrics_loopback;		/* 1: loopback clients need no login */
	/* [sdapi]: the account AUTOMATIC1111 clients on this machine act
	 * as when they send no key ("": every call needs a key). */
	char *sdapi_loopback_user;
	/* [log] */
	char *log_level;
	/* [storage]: where results and inputs live (storage.h): "local"
	 * (the artifacts directory) or "s3" (an S3-compatible bucket). */
	char *storage_backend;
	char *storage_serve;		/* "stream" or "presign" (s3) */
	long storage_presign_seconds;	/* a presigned URL's lifetime */
	char *s3_endpoint;		/* http(s)://HOST[:PORT] */
	char *s3_bucket;
	char *s3_region;
	char *s3_addressing;		/* "path" or "virtual" */
	char *s3_access_key;
	/* The secret; with s3_secret_key_file set, config_load reads it
	 * from that file into here. */
	char *s3_secret_key;
	char *s3_secret_key_file;
	char *s3_prefix;		/* "" or "segments/" before each key */
	long s3_timeout;		/* seconds per request */
	/* [tier NAME] sections, in file order; tier_for() falls back to
	 * the built-in limits for a tier no section names. */
	struct tier_limits tiers[TIER_MAX];
	int ntiers;
};

/* The tier whose limits every tier without a section takes, and the
 * tier new accounts start on (the users table's column default). Both
 * exist without a section. */
#define TIER_DEFAULT "default"
#define TIER_NEW_ACCOUNT "free"

/* The limits of tier name: its [tier NAME] section, else the built-in
 * defaults (which a [tier default] section replaces). */
const struct tier_limits *tier_for(const struct kiln_config *cfg,
	const char *name);

/* The same limits copied into out, named name (a user's tier, for the
 * messages that quote it). */
void tier_of(const struct kiln_config *cfg, const char *name,
	struct tier_limits *out);

/* 1 when a user may be put on tier name: one of cfg's [tier NAME]
 * sections, TIER_DEFAULT or TIER_NEW_ACCOUNT; else 0. */
int tier_known(const struct kiln_config *cfg, const char *name);

/* Appends the names tier_known takes, ", "-separated, to b. Returns 0,
 * or -1 when memory runs out. */
struct buf;
int tier_names(const struct kiln_config *cfg, struct buf *b);

/* Loads path (NULL: $KILN_CONF, else KILN_CONF_DEFAULT) into cfg, applying
 * defaults for keys the file leaves out. Returns 0, or -1 with a
 * "file:line: message" (or "file: message") in err; on error cfg holds
 * nothing that needs freeing. */
int config_load(struct kiln_config *cfg, const char *path, char *err,
	size_t errlen);

/* Same, but parses text already in memory; name is used in messages. */
int config_parse(struct kiln_config *cfg, const char *name, const char *text,
	size_t len, char *err, size_t errlen);

/* Frees every string in cfg; accepts a zeroed or already-freed struct. */
void config_free(struct kiln_config *cfg);

/* The path config_load would read for path == NULL. */
const char *config_default_path(void);

#endif
