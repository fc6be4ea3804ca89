/* kilnd.c - the render daemon: claims jobs from the MariaDB queue and
 * renders them with the engine; a keeper thread renews the running job's
 * lease, beats the heartbeat, requeues jobs of dead daemons and evaluates
 * the alert rules (one daemon at a time, alerts.h); a courier
 * thread delivers webhooks and a postman thread sends the mail outbox.
 * SIGTERM finishes the current step, requeues the job and exits 0; SIGHUP
 * reloads the config. */
#include "alerts.h"
#include "autotune.h"
#include "cl_devices.h"
#include "config.h"
#include "dataexport.h"
#include "db.h"
#include "engine_env.h"
#include "extras.h"
#include "filehash.h"
#include "fleet.h"
#include "image.h"
#include "imgexport.h"
#include "imginputs.h"
#include "jobs.h"
#include "log.h"
#include "lora.h"
#include "mail.h"
#include "models.h"
#include "pipeline.h"
#include "prompt.h"
#include "registry.h"
#include "runtime.h"
#include "storage.h"
#include "ti.h"
#include "upscaler.h"
#include "util.h"
#include "webhook.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_requested = 1;
	else
		stop_requested = 1;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: kilnd [-c kiln.conf] [--name NAME] [--list-devices "
		"| --version | --check-config]\n"
		"The config file is -c, else $KILN_CONF, else %s.\n"
		"--name overrides [daemon] name (to run several daemons on "
		"one host).\n", KILN_CONF_DEFAULT);
}

struct daemon {
	struct kiln_config cfg;
	const char *conf_path;
	const char *name_arg;
	struct db *db;			/* the main loop's connection */
	char name[256];
	char host[256];
	struct buf devices;
	int registered;
	struct kiln_rt *rt;
	struct registry *reg;
	/* [paths] embeddings, read as prompts name them and kept while
	 * their files are unchanged (the main loop's alone). */
	struct ti_dir *tis;
	/* The hires fix's upscaler model of the last job that named one,
	 * kept while jobs name it (the main loop's alone). */
	struct upscaler *up;
	char up_name[65];

	/* Shared with the keeper, under mu: the job being rendered (id 0:
	 * none) and whether the daemon is still warming up. The main loop
	 * records a job's end and clears cur_id under mu, and the keeper
	 * renews under mu, so a renewal never lands after the end is
	 * recorded (it would find the job no longer running and call the
	 * lease lost). */
	pthread_mutex_t mu;
	unsigned long long cur_id;
	int cur_attempt;
	int warming;
	atomic_int lease_lost;

	/* The helper threads and their stop flag. */
	pthread_t keeper, courier, postman;
	int threads_up;
	atomic_int threads_stop;
};

/* Sleeps ms milliseconds in small slices, waking early when flag is set
 * (the helper threads) or, without a flag, when a signal asks (the main
 * loop): the helpers keep their pace through a stop or reload until the
 * main loop stops them. */
static void
nap_ms(long ms, atomic_int *flag)
{
	while (ms > 0 && (flag != NULL ? !atomic_load(flag) :
	    !stop_requested && !reload_requested)) {
		long slice = ms < 50 ? ms : 50;
		struct timespec ts = { 0, slice * 1000 * 1000 };

		nanosleep(&ts, NULL);
		ms -= slice;
	}
}

static void
pick_name(struct daemon *d)
{
	if (gethostname(d->host, sizeof(d->host)) != 0)
		snprintf(d->host, sizeof(d->host), "localhost");
	d->host[sizeof(d->host) - 1] = '\0';
	/* The name identifies this daemon's row and its leases: stable
	 * across restarts so a restart updates its row instead of adding
	 * one. */
	snprintf(d->name, sizeof(d->name), "%s", d->name_arg ? d->name_arg :
	    d->cfg.daemon_name[0] ? d->cfg.daemon_name : d->host);
}

/* ------------------------------------------------------------ heartbeat */

/* Who this daemon is, for its row (fleet.h). */
static struct fleet_member
member(const struct daemon *d)
{
	struct fleet_member m = { d->name, d->host, KILN_VERSION,
		d->devices.data ? d->devices.data : "none", (long)getpid() };

	return m;
}

/* Both on a connection the keeper has just made sure of (db_ensure);
 * state is "warming", "idle" or "busy". */
static int
register_self(struct daemon *d, struct db *db, const char *state)
{
	struct fleet_member m = member(d);

	if (fleet_register(db, &m, state) != 0) {
		log_warn("register: %s", db_error(db));
		return -1;
	}
	d->registered = 1;
	log_info("registered as \"%s\" (devices: %s)", d->name,
	    d->devices.data);
	return 0;
}

static int
heartbeat(struct daemon *d, struct db *db, const char *state)
{
	struct fleet_member m = member(d);
	int st;

	if (!d->registered)
		return register_self(d, db, state);
	st = fleet_heartbeat(db, &m, state);
	if (st < 0) {
		log_warn("heartbeat: %s", db_error(db));
		return -1;
	}
	/* Our row was removed or taken over (an admin cleaned up): say who
	 * we are again. */
	if (st == 0)
		return register_self(d, db, state);
	return 0;
}

static void
deregister(struct daemon *d)
{
	struct fleet_member m = member(d);

	if (!d->registered)
		return;
	if (db_ensure(d->db) != 0 || fleet_deregister(d->db, &m) != 0)
		log_warn("deregister: %s", db_error(d->db));
}

static void reaped_failed(void *arg, unsigned long long id);

/* The keeper: renews the running job's lease well before it runs out,
 * beats the heartbeat, requeues (or fails) jobs whose daemon died and,
 * every [alerts] interval, evaluates the alert rules if no other daemon
 * holds their lease. Its own connection, so a long render never delays
 * a renewal. */
static void *
keeper_main(void *arg)
{
	struct daemon *d = arg;
	struct db *db = db_new(&d->cfg);
	long every_ms = d->cfg.lease_seconds * 1000 / 3;
	double last_beat = 0, last_alerts = 0;

	if (db == NULL) {
		log_error("keeper: out of memory");
		return NULL;
	}
	if (every_ms > d->cfg.heartbeat_interval * 1000)
		every_ms = d->cfg.heartbeat_interval * 1000;
	while (!atomic_load(&d->threads_stop)) {
		struct job_lease l = { d->name, 0, 0 };
		double now = rt_now();
		const char *state;
		int beat;
		long n;

		if (db_ensure(db) != 0) {
			log_warn("keeper: database: %s", db_error(db));
		} else {
			pthread_mutex_lock(&d->mu);
			l.id = d->cur_id;
			l.attempt = d->cur_attempt;
			if (l.id != 0) {
				int st = job_renew(db, &l,
				    d->cfg.lease_seconds);

				if (st == 0) {
					log_warn("job %llu: lease lost; "
					    "abandoning it", l.id);
					atomic_store(&d->lease_lost, 1);
				} else if (st < 0) {
					log_warn("job %llu: lease renewal: %s",
					    l.id, db_error(db));
				}
			}
			state = d->warming ? "warming" : l.id != 0 ? "busy" :
			    "idle";
			beat = now - last_beat >=
			    (double)d->cfg.heartbeat_interval || last_beat == 0;
			/* Under mu too: the main loop's "idle" at the end of
			 * the warm-up is never overwritten by a "warming"
			 * read before it. */
			if (beat) {
				heartbeat(d, db, state);
				last_beat = now;
			}
			pthread_mutex_unlock(&d->mu);
			if (beat && (n = job_reap(db, reaped_failed, d)) < 0)
				log_warn("reap: %s", db_error(db));
			/* Outside mu: the rules' queries never hold up the
			 * main loop's end of a job. The lease outlives three
			 * missed evaluations before another daemon takes
			 * over. */
			if (now - last_alerts >= (double)d->cfg.alerts_interval) {
				if (alerts_evaluate(db, &d->cfg, d->name,
				    3 * d->cfg.alerts_interval + 5) < 0)
					log_warn("alerts: %s", db_error(db));
				last_alerts = now;
			}
		}
		nap_ms(every_ms, &d->threads_stop);
	}
	db_free(db);
	return NULL;
}

/* The courier: delivers due webhooks, one at a time, on its own
 * connection, and between them makes the account data exports users
 * asked for (dataexport.h) and removes expired ones: here rather than in
 * the keeper, whose lease renewals must never wait behind a large ZIP. */
static void *
courier_main(void *arg)
{
	struct daemon *d = arg;
	struct db *db = db_new(&d->cfg);
	struct webhook_policy pol;
	double last_export = 0;

	if (db == NULL) {
		log_error("courier: out of memory");
		return NULL;
	}
	pol.daemon = d->name;
	pol.timeout_s = d->cfg.webhook_timeout;
	pol.retry_base_s = d->cfg.webhook_retry_base;
	pol.max_attempts = (int)d->cfg.webhook_max_attempts;
	/* Owned by cfg, which a reload replaces only after this thread is
	 * stopped. */
	pol.allow = d->cfg.webhook_allow;
	while (!atomic_load(&d->threads_stop)) {
		int st = db_ensure(db) == 0 ? webhook_deliver_one(db, &pol) :
		    -1;

		if (st < 0)
			log_warn("webhooks: %s", db_error(db));
		/* Exports are looked for once a second; one just made may
		 * have others waiting behind it. */
		if (st >= 0 && rt_now() - last_export >= 1.0) {
			int ex = export_work_one(db, &d->cfg, d->name);

			if (ex < 0)
				log_warn("exports: %s", db_error(db));
			last_export = ex == 1 ? 0 : rt_now();
		}
		if (st != 1)
			nap_ms(st < 0 ? 2000 : 250, &d->threads_stop);
	}
	db_free(db);
	return NULL;
}

/* The postman: sends due mail from the outbox, one at a time, on its
 * own connection, so a slow relay delays neither webhooks nor jobs. */
static void *
postman_main(void *arg)
{
	struct daemon *d = arg;
	struct db *db = db_new(&d->cfg);
	/* Never yet: the clock is the machine's uptime, under an hour on
	 * a fresh one, so "an hour since 0" would wait for it. */
	double last_purge = -1;

	if (db == NULL) {
		log_error("postman: out of memory");
		return NULL;
	}
	while (!atomic_load(&d->threads_stop)) {
		int st = !d->cfg.mail_enabled ? 0 : db_ensure(db) == 0 ?
		    mail_deliver_one(db, &d->cfg, d->name) : -1;

		if (st < 0)
			log_warn("mail: %s", db_error(db));
		/* Hourly, when idle: old delivery records go. */
		if (st == 0 && d->cfg.mail_enabled && (last_purge < 0 ||
		    rt_now() - last_purge > 3600)) {
			if (mail_purge(db) < 0)
				log_warn("mail: purge: %s", db_error(db));
			last_purge = rt_now();
		}
		if (st != 1)
			nap_ms(st < 0 ? 2000 : 500, &d->threads_stop);
	}
	db_free(db);
	return NULL;
}

static int
threads_start(struct daemon *d)
{
	atomic_store(&d->threads_stop, 0);
	if (pthread_create(&d->keeper, NULL, keeper_main, d) != 0)
		return -1;
	if (pthread_create(&d->courier, NULL, courier_main, d) != 0) {
		atomic_store(&d->threads_stop, 1);
		pthread_join(d->keeper, NULL);
		return -1;
	}
	if (pthread_create(&d->postman, NULL, postman_main, d) != 0) {
		atomic_store(&d->threads_stop, 1);
		pthread_join(d->keeper, NULL);
		pthread_join(d->courier, NULL);
		return -1;
	}
	d->threads_up = 1;
	return 0;
}

static void
threads_stop(struct daemon *d)
{
	if (!d->threads_up)
		return;
	atomic_store(&d->threads_stop, 1);
	pthread_join(d->keeper, NULL);
	pthread_join(d->courier, NULL);
	pthread_join(d->postman, NULL);
	d->threads_up = 0;
}

static void
reload(struct daemon *d)
{
	struct kiln_config fresh;
	char err[512];

	reload_requested = 0;
	if (config_load(&fresh, d->conf_path, err, sizeof(err)) != 0) {
		log_error("reload: %s (keeping the old configuration)", err);
		return;
	}
	/* The threads and db handles point at cfg: stop them, swap in the
	 * new settings, start them again. The device stays (changing it
	 * needs a restart). */
	threads_stop(d);
	db_free(d->db);
	config_free(&d->cfg);
	d->cfg = fresh;
	d->db = db_new(&d->cfg);
	log_setup(NULL, d->cfg.log_level);
	if (registry_configure(d->reg, d->cfg.models_dir,
	    (size_t)d->cfg.model_memory_mb * 1048576) != 0)
		log_error("reload: out of memory for the models directory");
	if (d->db == NULL || threads_start(d) != 0) {
		log_error("reload: out of memory; stopping");
		stop_requested = 1;
		return;
	}
	log_info("configuration reloaded from %s", d->conf_path);
}

/* ------------------------------------------------------------ hashes */

/*
 * AUTOMATIC1111's hash of the single-file model name into hex (10 hex
 * digits; "" for a folder, which A1111 has no hash for, or when it
 * cannot be had): the cached one, else computed now (seconds for a
 * checkpoint of several GB) and cached for every host. A failure costs
 * the image its "Model hash" and a warning, not the job.
 */
static void
model_hash(struct daemon *d, const char *name, char hex[HASH_HEX + 1])
{
	struct stat st;
	char *path, err[1024];
	int computed;
	double t0 = rt_now();

	hex[0] = '\0';
	err[0] = '\0';
	if (!model_name_ok(name))
		return;
	path = xasprintf("%s/%s.safetensors", d->cfg.models_dir, name);
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		if (db_ensure(d->db) != 0 || hash_cache_ensure(d->db,
		    "checkpoint", name, path, hex, &computed, err,
		    sizeof(err)) != 0) {
			log_warn("model %s: no hash: %s", name,
			    err[0] ? err : db_error(d->db));
			hex[0] = '\0';
		} else if (computed) {
			log_info("model %s: hashed in %.1f s: %.10s", name,
			    rt_now() - t0, hex);
		}
	}
	free(path);
	hex[HASH_SHORT_MODEL] = '\0';
}

/* ------------------------------------------------------------ LoRAs */

/* One of a job's LoRAs: its file, read and classified, and A1111's
 * hash of it ("" when it cannot be had). */
struct lora_file {
	const struct job_lora *l;
	struct extra_info x;
	char hash[HASH_HEX + 1];
};

/*
 * The job's LoRAs checked again against the files (they may have
 * changed since the job was submitted) into f: each must still read as a
 * LoRA made for the model's family (when both are known). Returns 0, or
 * -1 with a message naming the LoRA's file in err.
 */
static int
loras_resolve(struct daemon *d, const struct job *j, struct lora_file *f,
    char *err, size_t errlen)
{
	struct model_card *card = NULL;
	enum sd_family type = SD_UNKNOWN;
	char e[512];
	int i;

	if (j->nloras < 0)
		return errf(err, errlen, "the job's list of LoRAs does not "
		    "read");
	if (j->nloras > 0 && model_card_load(d->cfg.models_dir, j->model,
	    &card, e, sizeof(e)) == 0)
		type = card->type;
	model_card_free(card);
	for (i = 0; i < j->nloras; i++) {
		f[i].l = &j->loras[i];
		if (extra_load(d->cfg.loras_dir, EXTRA_LORA, j->loras[i].name,
		    &f[i].x, e, sizeof(e)) != 0)
			return errf(err, errlen, "LoRA %s: %s",
			    j->loras[i].name, e);
		if (type != SD_UNKNOWN && f[i].x.family != SD_UNKNOWN &&
		    f[i].x.family != type)
			return errf(err, errlen, "LoRA %s (%s.safetensors) is "
			    "made for %s models; model %s is %s",
			    j->loras[i].name, j->loras[i].name,
			    sd_family_name(f[i].x.family), j->model,
			    sd_family_name(type));
	}
	return 0;
}

/* A1111's hash of each LoRA for "Lora hashes": its metadata's
 * sshs_model_hash, else kohya's hash of its data (cached). A LoRA whose
 * hash cannot be had is left out of the line, as A1111 leaves it. */
static void
loras_hash(struct daemon *d, struct lora_file *f, int n)
{
	char err[1024];
	int i, computed;

	for (i = 0; i < n; i++) {
		f[i].hash[0] = '\0';
		err[0] = '\0';
		if (f[i].x.sshs_hash != NULL)
			snprintf(f[i].hash, sizeof(f[i].hash), "%s",
			    f[i].x.sshs_hash);
		else if (db_ensure(d->db) != 0 || hash_cache_ensure(d->db,
		    "lora", f[i].x.name, f[i].x.path, f[i].hash, &computed,
		    err, sizeof(err)) != 0) {
			log_warn("LoRA %s: no hash: %s", f[i].x.name,
			    err[0] ? err : db_error(d->db));
			f[i].hash[0] = '\0';
		}
		/* A1111 writes hashes in lower case. */
		for (computed = 0; f[i].hash[computed]; computed++)
			if (f[i].hash[computed] >= 'A' &&
			    f[i].hash[computed] <= 'F')
				f[i].hash[computed] += 'a' - 'A';
		f[i].hash[HASH_SHORT_NET] = '\0';
	}
}

/*
 * Makes the job's LoRAs (f[0..n-1]: the job's name and weights in
 * f[i].l, the checked file in f[i].x) the set merged into the loaded
 * pipeline p for this render: none for a job without any, which takes
 * off what an earlier job merged. The same set as the previous job's
 * stays merged (lora_state_set). Returns 0, or -1 with why in err (the
 * LoRA's file and its problem), which fails the job; the model is then
 * left as it was or without LoRAs, never half patched. The message names
 * files as NAME.safetensors: the job's owner reads it, and the loras
 * directory is this host's business.
 */
static int
loras_apply(struct daemon *d, struct pipeline *p, const struct lora_file *f,
    int n, char *err, size_t errlen)
{
	struct lora_spec spec[JOB_LORAS_MAX];
	char e[2048], *at;
	size_t dl = strlen(d->cfg.loras_dir);
	int i;

	if (n < 0 || n > JOB_LORAS_MAX)
		return errf(err, errlen, "%d LoRAs", n);
	for (i = 0; i < n; i++) {
		spec[i].path = f[i].x.path;
		spec[i].text = f[i].l->weight;
		spec[i].unet = f[i].l->unet_weight;
	}
	if (pipeline_set_loras(p, spec, n, e, sizeof(e)) == 0)
		return 0;
	while (dl > 0 && (at = strstr(e, d->cfg.loras_dir)) != NULL &&
	    at[dl] == '/')
		memmove(at, at + dl + 1, strlen(at + dl + 1) + 1);
	return errf(err, errlen, "LoRA: %s", e);
}

/* ----------------------------------------------------------- embeddings */

/* The textual-inversion embeddings a job's prompts name: the folder's
 * (owned by d->tis) and A1111's short hash of each ("" when it cannot be
 * had). */
struct ti_use {
	const struct ti_embedding **e;
	char (*hash)[HASH_HEX + 1];
	int n;
};

static void
ti_use_free(struct ti_use *u)
{
	free(u->e);
	free(u->hash);
	memset(u, 0, sizeof(*u));
}

/* The upscaler model name of [paths] upscalers, loaded on d's device or
 * kept from the last job that named it (the hires fix's and upscale
 * jobs' alike); field names the job's field in messages. Returns it
 * (owned by d), or NULL with err. */
static struct upscaler *
upscaler_cached(struct daemon *d, const char *field, const char *name,
    char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (!model_name_ok(name) || strlen(name) >= sizeof(d->up_name)) {
		errf(err, errlen, "%s: \"%.64s\" is not an upscaler name",
		    field, name);
		return NULL;
	}
	if (d->up == NULL || strcmp(d->up_name, name) != 0) {
		upscaler_free(d->up);
		d->up = NULL;
		d->up_name[0] = '\0';
		if (snprintf_checked(path, sizeof(path), "%s/%s.safetensors",
		    d->cfg.upscalers_dir, name) != 0) {
			errf(err, errlen, "%s: path too long", field);
			return NULL;
		}
		if (upscaler_load(d->rt, path, &d->up, err, errlen) != 0)
			return NULL;
		snprintf(d->up_name, sizeof(d->up_name), "%s", name);
	}
	return d->up;
}

/* The job's hires fix into gp: its size, strength and steps, and its
 * upscaler (the latent's, Lanczos, or a model of [paths] upscalers,
 * upscaler_cached). A missing or unusable upscaler fails the job naming
 * it. Returns 0, or -1 with err. */
static int
hires_resolve(struct daemon *d, const struct job *j, struct gen_params *gp,
    char *err, size_t errlen)
{
	const char *name = j->hires_upscaler != NULL ? j->hires_upscaler :
	    "latent";

	if (j->hires_scale <= 0)
		return 0;
	gp->hires_scale = j->hires_scale;
	gp->hires_strength = j->hires_strength;
	gp->hires_steps = j->hires_steps;
	if (gen_hires_lookup(name, &gp->hires_mode) == 0)
		return 0;
	gp->hires_mode = HIRES_IMAGE;
	gp->hires_upscaler = upscaler_cached(d, "hires_upscaler", name, err,
	    errlen);
	return gp->hires_upscaler != NULL ? 0 : -1;
}

/*
 * The embeddings of [paths] embeddings that the job's prompt or negative
 * prompt names, as the engine will find them (clip_prompt_uses with the
 * model's vocabulary: whole tokens, the longest name first), into u:
 * read now, or kept from an earlier job while the file is unchanged.
 * A1111 loads the whole folder; reading only what a prompt names keeps a
 * large folder cheap, and a file nobody names never fails a job. Names
 * the web side would not list (model_name_ok) are not offered. A named
 * file that is no usable embedding fails the job naming it rather than
 * render its name as words; one made for another model family fails in
 * the engine (text_cond_set_embeddings) the same way. Returns 0, or -1
 * with err.
 */
static int
embeddings_resolve(struct daemon *d, struct pipeline *p, const struct job *j,
    struct ti_use *u, char *err, size_t errlen)
{
	const char *prompts[2] = { NULL, j->negative }, **names = NULL;
	unsigned char *used = NULL, *any = NULL;
	char e[1024], *stripped = NULL;
	int n, i, k, rc = -1;

	n = ti_dir_scan(d->tis, d->cfg.embeddings_dir, e, sizeof(e));
	if (n < 0) {
		/* The folder's path is the operator's business, not the
		 * job owner's. */
		log_warn("job %llu: %s", j->id, e);
		return errf(err, errlen, "the embeddings folder cannot be "
		    "read (the daemon's log says why)");
	}
	if (n == 0)
		return 0;
	/* The text the encoder sees: a <lora:style:1> tag names no
	 * embedding "style". */
	prompts[0] = stripped = prompt_strip_extra_networks(j->prompt);
	names = calloc((size_t)n, sizeof(*names));
	used = calloc((size_t)n, 1);
	any = calloc((size_t)n, 1);
	u->e = calloc((size_t)n, sizeof(*u->e));
	u->hash = calloc((size_t)n, sizeof(*u->hash));
	if (stripped == NULL || names == NULL || used == NULL || any == NULL ||
	    u->e == NULL || u->hash == NULL) {
		errf(err, errlen, "out of memory");
		goto out;
	}
	/* A name of no tokens matches nothing. */
	for (i = 0; i < n; i++)
		names[i] = model_name_ok(ti_dir_name(d->tis, i)) ?
		    ti_dir_name(d->tis, i) : "";
	for (k = 0; k < 2; k++) {
		if (prompts[k] == NULL || prompts[k][0] == '\0')
			continue;
		if (clip_prompt_uses(pipeline_tokenizer(p), prompts[k], names,
		    n, used, err, errlen) != 0)
			goto out;
		for (i = 0; i < n; i++)
			any[i] |= used[i];
	}
	for (i = 0; i < n; i++) {
		int computed;
		char *h;

		if (!any[i])
			continue;
		u->e[u->n] = ti_dir_get(d->tis, i, e, sizeof(e));
		if (u->e[u->n] == NULL) {
			errf(err, errlen, "embedding %s: %s", names[i], e);
			goto out;
		}
		/* "TI hashes": the whole file's SHA-256 (A1111's
		 * sha256(filename, "textual_inversion/NAME")), cached like
		 * the checkpoints'. */
		h = u->hash[u->n];
		e[0] = '\0';
		if (db_ensure(d->db) != 0 || hash_cache_ensure(d->db,
		    "embedding", names[i], ti_dir_path(d->tis, i), h,
		    &computed, e, sizeof(e)) != 0) {
			log_warn("embedding %s: no hash: %s", names[i],
			    e[0] ? e : db_error(d->db));
			h[0] = '\0';
		}
		for (k = 0; h[k] != '\0'; k++)
			if (h[k] >= 'A' && h[k] <= 'F')
				h[k] += 'a' - 'A';
		h[HASH_SHORT_NET] = '\0';
		u->n++;
	}
	rc = 0;
out:
	free(stripped);
	free(names);
	free(used);
	free(any);
	return rc;
}

/* ------------------------------------------------------------ rendering */

struct render {
	struct daemon *d;
	struct pipeline *p;
	const struct job *j;
	struct job_lease l;
	double t0;
	int canceled;			/* a cancel request was seen */
	int lost;			/* the lease was lost */
	int overtime;			/* ran past [daemon] job_time_limit */
	int cold;			/* compiled kernels or loaded the model */
	char dir[1024];			/* artifacts/jobs/<id> */
	char rel[64];			/* jobs/<id> */
	struct storage *st;		/* where its files go */
	char model_hash[HASH_HEX + 1];	/* A1111's 10 digits, or "" */
	struct lora_file loras[JOB_LORAS_MAX];
	int nloras;
	struct ti_use tis;		/* the embeddings the prompts name */
	/* The job's images, readied (imginputs.h), and its ControlNet. */
	struct gen_inputs in;
	struct gen_control ctl;
	uint8_t *ctl_rgb;
	char cn_path[4096];
};

/* Reads the job's input image at key from the store and decodes it.
 * Returns 0 with a malloc'd *rgb, or -1 with err naming the input. */
static int
input_load(struct daemon *d, const char *what, const char *key, uint8_t **rgb,
    int *w, int *h, char *err, size_t errlen)
{
	struct storage *st = storage_open(&d->cfg);
	struct buf b = { 0 };
	char e[512];
	int rc = -1;

	*rgb = NULL;
	if (st == NULL)
		return errf(err, errlen, "%s: out of memory", what);
	/* The web side stored it within [limits] upload_max_mb as a PNG
	 * of at most upload_max_pixels: its size is bounded. */
	rc = storage_get(st, key, (size_t)1 << 31, &b, e, sizeof(e));
	if (rc != 0)
		errf(err, errlen, "%s: %s", what, rc > 0 ? "the stored image "
		    "is missing" : e);
	else if (image_decode_rgb(b.data, b.len, what, w, h, rgb, err,
	    errlen) != 0)
		rc = -1;
	buf_free(&b);
	storage_free(st);
	return rc == 0 ? 0 : -1;
}

/* The job's images into gp, as kiln-render's --init, --mask, --outpaint
 * and --controlnet give them: the same readying (gen_inputs_apply) and
 * engine. Returns 0, or -1 with err. */
static int
inputs_resolve(struct render *r, struct gen_params *gp, char *err,
    size_t errlen)
{
	const struct job *j = r->j;
	struct daemon *d = r->d;
	int k;

	if (j->init_key != NULL) {
		if (input_load(d, "init_image", j->init_key, &r->in.init,
		    &r->in.w, &r->in.h, err, errlen) != 0)
			return -1;
		gp->strength = j->denoising > 0 ? j->denoising : 0.75;
		r->in.resize = (enum gen_resize)j->resize_mode;
	}
	if (j->mask_key != NULL) {
		uint8_t *rgb = NULL;
		int w, h, rc;

		if (input_load(d, "mask", j->mask_key, &rgb, &w, &h, err,
		    errlen) != 0)
			return -1;
		rc = gen_inputs_set_mask(&r->in, rgb, w, h, err, errlen);
		free(rgb);
		if (rc != 0)
			return -1;
	}
	if (j->inpaint) {
		for (k = 0; k < OUT_SIDES; k++)
			r->in.outpaint[k] = j->outpaint[k];
		r->in.invert = j->mask_invert;
		gp->mask_blur = j->mask_blur;
		gp->fill = (enum inpaint_fill)j->inpainting_fill;
		gp->only_masked = j->full_res;
		gp->only_masked_pad = j->full_res_pad;
	}
	if (gen_inputs_apply(&r->in, pipeline_grid(r->p), 1, 1, gp, err,
	    errlen) != 0)
		return -1;
	if (j->cn_model == NULL)
		return 0;
	if (controlnet_find(d->cfg.controlnets_dir, j->cn_model, r->cn_path,
	    sizeof(r->cn_path), err, errlen) != 0)
		return -1;
	if (j->control_key == NULL)
		return errf(err, errlen, "controlnet_model: the job has no "
		    "control image");
	if (input_load(d, "control_image", j->control_key, &r->ctl_rgb,
	    &r->ctl.w, &r->ctl.h, err, errlen) != 0)
		return -1;
	r->ctl.path = r->cn_path;
	r->ctl.rgb = r->ctl_rgb;
	r->ctl.weight = j->cn_weight;
	r->ctl.start = j->cn_start;
	r->ctl.end = j->cn_end;
	r->ctl.pre = j->cn_pre != NULL && !strcmp(j->cn_pre, "canny") ?
	    GEN_PRE_CANNY : GEN_PRE_NONE;
	r->ctl.low = j->cn_low;
	r->ctl.high = j->cn_high;
	gp->controls = &r->ctl;
	gp->ncontrols = 1;
	return 0;
}

/* An upscale job: the init image through upscaler_upscale_rgb, as
 * kiln-render upscale and the hires fix run it (the model's activations
 * within [daemon] vae_budget_mb, as the hires fix's), to int(side x
 * upscale_by), then centred on width x height where the job asked for
 * that size (A1111's extras paste it so: cropped, or bordered in black
 * when int() fell a pixel short). res receives the one image. Returns
 * 0, or -1 with err. */
static int
upscale_render(struct render *r, struct gen_result *res, char *err,
    size_t errlen)
{
	const struct job *j = r->j;
	struct upscaler *u = NULL;
	uint8_t *rgb = NULL, *big = NULL;
	size_t kernels = r->d->rt->nkernels;
	int w, h, dw, dh, ox, oy, x, y, rc = -1;

	if (j->init_key == NULL || j->upscaler == NULL ||
	    !(j->upscale_by >= 1) || j->width < 1 || j->height < 1)
		return errf(err, errlen, "upscale: the job has no %s",
		    j->init_key == NULL ? "init image" : "upscaler or size");
	if (strcmp(j->upscaler, "lanczos") != 0 && (u = upscaler_cached(r->d,
	    "upscaler", j->upscaler, err, errlen)) == NULL)
		return -1;
	if (input_load(r->d, "init_image", j->init_key, &rgb, &w, &h, err,
	    errlen) != 0)
		return -1;
	/* kiln-render upscale's target: int(side x scale). */
	dw = (int)(w * j->upscale_by);
	dh = (int)(h * j->upscale_by);
	r->t0 = rt_now();
	if (upscaler_upscale_rgb(u, rgb, w, h, dw, dh,
	    (size_t)r->d->cfg.vae_budget_mb * 1048576, 0, 0, &big, err,
	    errlen) != 0)
		goto out;
	if (r->d->rt->nkernels != kernels)
		r->cold = 1;
	res->rgb = calloc((size_t)j->width * (size_t)j->height, 3);
	res->seeds = calloc(1, sizeof(*res->seeds));
	if (res->rgb == NULL || res->seeds == NULL) {
		errf(err, errlen, "upscale: out of memory");
		goto out;
	}
	/* PIL's paste at (W // 2 - w // 2, H // 2 - h // 2). */
	ox = j->width / 2 - dw / 2;
	oy = j->height / 2 - dh / 2;
	for (y = 0; y < j->height; y++) {
		if (y - oy < 0 || y - oy >= dh)
			continue;
		for (x = 0; x < j->width; x++)
			if (x - ox >= 0 && x - ox < dw)
				memcpy(res->rgb + ((size_t)y * j->width + x) *
				    3, big + ((size_t)(y - oy) * dw + (x -
				    ox)) * 3, 3);
	}
	res->count = 1;
	res->width = j->width;
	res->height = j->height;
	rc = 0;
out:
	free(rgb);
	free(big);
	return rc;
}

/* An upscale job's parameters, as A1111's extras write its
 * postprocessing info: "Postprocess upscale by: 4" (or "upscale to" and
 * "crop to" when the size was asked for), "Postprocess upscaler: NAME"
 * (Lanczos by A1111's name). Returns 0 with a malloc'd *out, or -1. */
static int
upscale_text(const struct job *j, char **out)
{
	const char *name = !strcmp(j->upscaler, "lanczos") ? "Lanczos" :
	    j->upscaler;
	int dw = (int)(j->init_w * j->upscale_by);
	int dh = (int)(j->init_h * j->upscale_by);
	int n;

	if (dw == j->width && dh == j->height)
		n = asprintf(out, "Postprocess upscale by: %g, Postprocess "
		    "upscaler: %s", j->upscale_by, name);
	else
		n = asprintf(out, "Postprocess upscale to: %dx%d, Postprocess "
		    "crop to: %dx%d, Postprocess upscaler: %s", j->width,
		    j->height, j->width, j->height, name);
	if (n < 0)
		*out = NULL;
	return n < 0 ? -1 : 0;
}

/* Encodes w x h RGB as a PNG with its parameters and stores it at key:
 * the local store writes it as image_write_png did (temp file, fsync,
 * rename), S3 as one PUT that is there whole or not at all. Returns 0,
 * or -1 with err. */
static int
put_png(struct render *r, const char *key, int w, int h, const uint8_t *rgb,
    const char *params, char *err, size_t errlen)
{
	uint8_t *png = NULL;
	size_t len = 0;
	int rc;

	if (image_encode_png(w, h, rgb, params, &png, &len, err, errlen) != 0)
		return -1;
	rc = storage_put(r->st, key, png, len, err, errlen);
	free(png);
	return rc;
}

/* Writes the preview of s (latent resolution, scaled up 4x by pixel
 * repetition so it is visible) as <rel>/preview.png. */
static int
write_preview(struct render *r, const struct pipeline_step *s)
{
	int f = 4, W = s->w * f, H = s->h * f, x, y;
	uint8_t *small = malloc((size_t)s->w * (size_t)s->h * 3);
	uint8_t *big = malloc((size_t)W * (size_t)H * 3);
	char path[1100], err[512];
	int rc = -1;

	if (small == NULL || big == NULL)
		goto out;
	pipeline_preview(r->p, s, small);
	for (y = 0; y < H; y++)
		for (x = 0; x < W; x++)
			memcpy(big + ((size_t)y * (size_t)W + (size_t)x) * 3,
			    small + ((size_t)(y / f) * (size_t)s->w +
			    (size_t)(x / f)) * 3, 3);
	snprintf(path, sizeof(path), "%s/preview.png", r->rel);
	if (put_png(r, path, W, H, big, NULL, err, sizeof(err)) != 0) {
		log_warn("job %llu: preview: %s", r->j->id, err);
		goto out;
	}
	rc = 0;
out:
	free(small);
	free(big);
	return rc;
}

/* After every sampler step: progress, ETA, a preview every few steps,
 * and the checks that stop the render at once: a cancel request, a lost
 * lease, SIGTERM. */
static int
on_step(void *arg, const struct pipeline_step *s)
{
	struct render *r = arg;
	struct daemon *d = r->d;
	int done = s->image * s->steps + s->step;
	int total = r->j->batch * s->steps;
	double el = rt_now() - r->t0;
	double eta = done > 0 ? el / done * (total - done) : 0;
	const char *preview = NULL;
	char rel[128];
	int st;

	if (d->cfg.preview_every > 0 && s->denoised != NULL &&
	    (s->step % d->cfg.preview_every == 0) && s->step < s->steps &&
	    write_preview(r, s) == 0) {
		snprintf(rel, sizeof(rel), "%s/preview.png", r->rel);
		preview = rel;
	}
	if (db_ensure(d->db) != 0)
		st = -1;
	else
		st = job_progress(d->db, &r->l, done, total, eta, preview);
	if (st < 0)
		log_warn("job %llu: progress: %s", r->j->id, db_error(d->db));
	if (st == 2) {
		log_info("job %llu: cancel requested at step %d of %d",
		    r->j->id, done, total);
		r->canceled = 1;
		return 1;
	}
	if (st == 0 || atomic_load(&d->lease_lost)) {
		r->lost = 1;
		return 1;
	}
	/* One job must not hold the daemon for ever: past the limit it
	 * fails with the reason, and the queue moves on. */
	if (d->cfg.job_time_limit > 0 && el > (double)d->cfg.job_time_limit) {
		r->overtime = 1;
		return 1;
	}
	return stop_requested ? 1 : 0;
}

/* Ends the job under mu, with the keeper's renewals: records the outcome
 * with one of the job_* calls below (its result is returned) and forgets
 * the job in the same critical section. */
enum ending { END_SUCCEED, END_FAIL, END_CANCELED, END_REQUEUE };

static int
end_job(struct render *r, enum ending how, const struct job_image *img,
    int n, const char *reason, int *anomaly)
{
	struct daemon *d = r->d;
	int st;

	pthread_mutex_lock(&d->mu);
	if (db_ensure(d->db) != 0)
		st = -1;
	else if (how == END_SUCCEED)
		st = job_succeed(d->db, &r->l, r->j, img, n, rt_now() - r->t0,
		    r->cold, anomaly);
	else if (how == END_FAIL)
		st = job_fail(d->db, &r->l, reason);
	else if (how == END_CANCELED)
		st = job_canceled(d->db, &r->l);
	else
		st = job_requeue(d->db, &r->l);
	d->cur_id = 0;
	pthread_mutex_unlock(&d->mu);
	return st;
}

/* What remove_others looks at: the job's key ("jobs/12"), the
 * attempt's prefix to keep, and the keys to remove once listed. */
struct others {
	const char *rel;
	char keep[32];
	char **gone;
	size_t n, cap;
};

static int
other_key(void *arg, const char *key, unsigned long long size)
{
	struct others *o = arg;
	const char *name = key + strlen(o->rel) + 1;

	(void)size;
	/* The job's own files only: not its inputs (a folder below), the
	 * preview, or this attempt's images. */
	if (strchr(name, '/') != NULL || !strcmp(name, "preview.png") ||
	    !strncmp(name, o->keep, strlen(o->keep)))
		return 0;
	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 8;
		o->gone = xrealloc(o->gone, o->cap * sizeof(*o->gone));
	}
	o->gone[o->n++] = xstrdup(key);
	return 0;
}

/* Removes job id's files (under rel) that are not attempt's (prefix
 * "<attempt>-"; attempt 0 keeps none) or the preview: leftovers of an
 * attempt that died after storing some (a daemon killed between two
 * uploads). */
static void
remove_leftovers(struct storage *st, const char *rel, unsigned long long id,
    int attempt)
{
	struct others o = { rel, "", NULL, 0, 0 };
	char err[512];
	size_t i;

	snprintf(o.keep, sizeof(o.keep), "%d-", attempt);
	if (storage_list(st, rel, other_key, &o, err, sizeof(err)) != 0)
		log_warn("job %llu: listing its files: %s", id, err);
	for (i = 0; i < o.n; i++) {
		if (storage_remove(st, o.gone[i]) != 0)
			log_warn("job %llu: could not remove %s", id,
			    o.gone[i]);
		free(o.gone[i]);
	}
	free(o.gone);
}

static void
remove_others(struct render *r, int attempt)
{
	remove_leftovers(r->st, r->rel, r->j->id, attempt);
}

/* A job the reaper failed (its daemon stopped on the last attempt): what
 * that attempt stored before it stopped goes, as a failed render's
 * does, so that no image stays in the store that no row names. */
static void
reaped_failed(void *arg, unsigned long long id)
{
	struct daemon *d = arg;
	struct storage *st = storage_open(&d->cfg);
	char rel[64];

	if (st == NULL)
		return;
	snprintf(rel, sizeof(rel), "jobs/%llu", id);
	remove_leftovers(st, rel, id, 0);
	storage_free(st);
}

/* Stores image i's float pixels as its master beside the PNG at key rel
 * (same stem, ".exr": imgexport_master_key) through the storage
 * interface, so the high-precision downloads are made from the VAE's
 * output rather than the 8-bit PNG. Returns 0, or -1 with err. */
static int
put_master(struct render *r, const struct gen_result *res, int i,
    const char *rel, const char *params, char *err, size_t errlen)
{
	struct storage *st = r->st;
	struct buf b = { 0 };
	char key[1100], e[512];
	int rc = -1;

	if (imgexport_master_key(rel, key, sizeof(key)) != 0) {
		errf(err, errlen, "float master: no key for %s", rel);
		goto out;
	}
	if (imgexport_master_encode(res->width, res->height, res->rgbf +
	    (size_t)i * (size_t)res->width * (size_t)res->height * 3, params,
	    &b, e, sizeof(e)) != 0 || storage_put(st, key, b.data, b.len, e,
	    sizeof(e)) != 0) {
		errf(err, errlen, "float master of image %d: %s", i, e);
		goto out;
	}
	rc = 0;
out:
	buf_free(&b);
	return rc;
}

/* Writes the images (atomically, with their parameters) and commits the
 * job. Returns 0, or -1 with err. */
static int
deliver(struct render *r, const struct gen_result *res, char *err,
    size_t errlen)
{
	const struct job *j = r->j;
	struct job_image *img = calloc((size_t)res->count, sizeof(*img));
	char **rel = calloc((size_t)res->count, sizeof(*rel));
	char **url = calloc((size_t)res->count, sizeof(*url));
	char *params = NULL;
	struct image_lora hashes[JOB_LORAS_MAX], *tih = NULL;
	int i, anomaly = 0, st, rc = -1, nh = 0, nt = 0, stored = 0;

	/* "Lora hashes" names those whose hash is known, as A1111's. */
	for (i = 0; i < r->nloras; i++)
		if (r->loras[i].hash[0] != '\0') {
			hashes[nh].name = r->loras[i].l->name;
			hashes[nh++].hash = r->loras[i].hash;
		}
	/* "TI hashes" likewise. */
	tih = calloc((size_t)r->tis.n + 1, sizeof(*tih));
	for (i = 0; tih != NULL && i < r->tis.n; i++)
		if (r->tis.hash[i][0] != '\0') {
			tih[nt].name = r->tis.e[i]->name;
			tih[nt++].hash = r->tis.hash[i];
		}
	if (img == NULL || rel == NULL || url == NULL || tih == NULL) {
		errf(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < res->count; i++) {
		struct image_meta m;

		memset(&m, 0, sizeof(m));
		m.prompt = j->prompt;
		m.negative = j->negative;
		m.steps = j->steps;
		m.sampler = j->sampler;
		m.cfg = j->cfg;
		m.seed = res->seeds[i];
		m.width = res->width;
		m.height = res->height;
		m.model = j->model;
		m.model_hash = r->model_hash;
		m.denoise = j->init_key != NULL ? j->denoising : 0;
		if (j->init_key != NULL && j->inpaint) {
			m.inpaint = 1;
			m.mask_blur = j->mask_blur;
			m.mask_invert = j->mask_invert;
			m.only_masked = j->full_res;
			m.masked_pad = j->full_res_pad;
			m.inpainting_fill = j->inpainting_fill;
		}
		if (j->cn_model != NULL) {
			m.controlnet = j->cn_model;
			m.cn_module = j->cn_pre;
			m.cn_weight = j->cn_weight;
			m.cn_low = j->cn_low;
			m.cn_high = j->cn_high;
			m.cn_start = j->cn_start;
			m.cn_end = j->cn_end;
		}
		if (j->hires_scale > 0) {
			m.denoise = j->hires_strength;
			m.hires_scale = j->hires_scale;
			m.hires_steps = j->hires_steps;
			m.hires_upscaler = j->hires_upscaler;
		}
		m.loras = hashes;
		m.nloras = nh;
		m.tis = tih;
		m.ntis = nt;
		free(params);
		params = NULL;
		if ((j->upscale ? upscale_text(j, &params) :
		    image_parameters_text(&m, &params)) != 0 ||
		    asprintf(&rel[i], "%s/%d-%d.png", r->rel, j->attempt,
		    i) < 0) {
			rel[i] = NULL;
			errf(err, errlen, "out of memory");
			goto out;
		}
		/* Every image is stored whole before the job is marked
		 * succeeded (end_job below): a daemon killed in between
		 * leaves a running job that is claimed again, never a row
		 * pointing at an image that is not there. */
		if (put_png(r, rel[i], res->width, res->height, res->rgb +
		    (size_t)i * (size_t)res->width * (size_t)res->height * 3,
		    params, err, errlen) != 0) {
			stored = i;
			goto out;
		}
		if (res->rgbf != NULL && put_master(r, res, i, rel[i], params,
		    err, errlen) != 0) {
			stored = i + 1;
			goto out;
		}
		img[i].idx = i;
		img[i].seed = res->seeds[i];
		img[i].path = rel[i];
		/* The webhook's address for it: what GET /api/v1/images
		 * serves, on the site's public base. */
		url[i] = site_url(r->d->cfg.base_url,
		    "/api/v1/images/%llu-%d.png", j->id, i);
		if (url[i] == NULL) {
			errf(err, errlen, "out of memory");
			goto out;
		}
		img[i].url = url[i];
		img[i].width = res->width;
		img[i].height = res->height;
	}
	stored = 0;
	st = end_job(r, END_SUCCEED, img, res->count, NULL, &anomaly);
	if (st == 1) {
		remove_others(r, j->attempt);
		log_info("job %llu: succeeded, %d image(s) in %.2f s%s%s",
		    j->id, res->count, rt_now() - r->t0, anomaly ?
		    " (anomaly: over mean + 3 sd of this model and size)" :
		    "", r->cold ? " (cold: not in the statistics)" : "");
		/* [engine] profile: the job's kernel times (the table
		 * starts afresh when a job is claimed). */
		if (r->d->rt->profile)
			rt_prof_report(r->d->rt, stderr);
		rc = 0;
	} else {
		/* Not ours any more, or not recorded: the files must not
		 * look like a result. */
		stored = res->count;
		errf(err, errlen, st == 0 ? "lease lost before the result "
		    "was recorded" : "recording the result: %s",
		    db_error(r->d->db));
	}
out:
	/* Images stored for a result that was not recorded: removed, so
	 * none stays behind that no row points at. */
	for (i = 0; rel != NULL && i < stored; i++) {
		char key[1100];

		if (storage_remove(r->st, rel[i]) != 0)
			log_warn("job %llu: could not remove %s", j->id,
			    rel[i]);
		if (imgexport_master_key(rel[i], key, sizeof(key)) == 0 &&
		    storage_remove(r->st, key) != 0)
			log_warn("job %llu: could not remove %s", j->id, key);
	}
	for (i = 0; rel != NULL && i < res->count; i++)
		free(rel[i]);
	for (i = 0; url != NULL && i < res->count; i++)
		free(url[i]);
	free(rel);
	free(url);
	free(img);
	free(tih);
	free(params);
	return rc;
}

/* Renders one claimed job to its end: succeeded, failed, canceled, or
 * back in the queue (SIGTERM). */
static void
run_job(struct daemon *d, struct job *j)
{
	struct render r;
	struct gen_params gp;
	struct gen_result res;
	enum sampler_kind sampler;
	size_t kernels;
	char err[2048];
	int st, i;

	memset(&r, 0, sizeof(r));
	memset(&res, 0, sizeof(res));
	r.d = d;
	r.j = j;
	r.l.daemon = d->name;
	r.l.id = j->id;
	r.l.attempt = j->attempt;
	atomic_store(&d->lease_lost, 0);
	pthread_mutex_lock(&d->mu);
	d->cur_id = j->id;
	d->cur_attempt = j->attempt;
	pthread_mutex_unlock(&d->mu);
	log_info("job %llu: claimed (attempt %d of %d): %s, %dx%d, %d steps",
	    j->id, j->attempt, j->max_attempts, j->model, j->width, j->height,
	    j->steps);
	rt_prof_reset(d->rt);
	if (job_started(d->db, &r.l) != 0)
		log_warn("job %llu: job.started event: %s", j->id,
		    db_error(d->db));
	snprintf(r.rel, sizeof(r.rel), "jobs/%llu", j->id);
	snprintf(r.dir, sizeof(r.dir), "%s/%s", d->cfg.artifacts_dir, r.rel);
	r.st = storage_open(&d->cfg);
	if (r.st == NULL) {
		errf(err, sizeof(err), "out of memory");
		goto fail;
	}
	/* The local store's folder up front: a directory it cannot make
	 * fails the job before the render, not after. */
	if (storage_local_root(r.st) != NULL && mkdir_p(r.dir) != 0) {
		errf(err, sizeof(err), "cannot create %s: %s", r.dir,
		    strerror(errno));
		goto fail;
	}
	/* No diffusion: the upscaler alone. */
	if (j->upscale) {
		if (upscale_render(&r, &res, err, sizeof(err)) != 0)
			goto fail;
		if (deliver(&r, &res, err, sizeof(err)) != 0)
			log_warn("job %llu: %s", j->id, err);
		goto out;
	}
	/* The cheap check first: a bad sampler loads no model. */
	if (sampler_lookup(j->sampler, &sampler) != 0) {
		errf(err, sizeof(err), "sampler: \"%s\" is not a sampler",
		    j->sampler);
		goto fail;
	}
	/* The LoRAs' files before the model: a missing one loads nothing. */
	if (loras_resolve(d, j, r.loras, err, sizeof(err)) != 0)
		goto fail;
	r.nloras = j->nloras;
	r.p = registry_get(d->reg, j->model, &r.cold, err, sizeof(err));
	if (r.p == NULL)
		goto fail;
	if (loras_apply(d, r.p, r.loras, r.nloras, err, sizeof(err)) != 0)
		goto fail;
	if (embeddings_resolve(d, r.p, j, &r.tis, err, sizeof(err)) != 0)
		goto fail;
	/* The hashes the images' parameters record: cached after the first
	 * job with each file, and not the render's time. */
	model_hash(d, j->model, r.model_hash);
	loras_hash(d, r.loras, r.nloras);
	/* The model's defaults (a txt2img: no init image), then every
	 * parameter the job gives. */
	pipeline_defaults(r.p, &gp);
	gp.sampler = sampler;
	gp.prompt = j->prompt;
	gp.negative = j->negative;
	gp.width = j->width;
	gp.height = j->height;
	gp.steps = j->steps;
	gp.cfg = j->cfg;
	gp.seed = j->seed;
	gp.batch = j->batch;
	gp.embeddings = r.tis.e;
	gp.nembeddings = r.tis.n;
	gp.vae_budget = (size_t)d->cfg.vae_budget_mb * 1048576;
	if (hires_resolve(d, j, &gp, err, sizeof(err)) != 0)
		goto fail;
	if (inputs_resolve(&r, &gp, err, sizeof(err)) != 0)
		goto fail;
	/* The render time counts from here: model loading is not the
	 * render's (it is a one-off the statistics should not see). */
	r.t0 = rt_now();
	kernels = d->rt->nkernels;
	st = pipeline_generate(r.p, &gp, on_step, &r, &res, err, sizeof(err));
	/* A kernel made for the first time was compiled (or at least
	 * specialised) inside this render. */
	if (d->rt->nkernels != kernels)
		r.cold = 1;
	if (st == PIPELINE_DONE) {
		if (deliver(&r, &res, err, sizeof(err)) != 0)
			log_warn("job %llu: %s", j->id, err);
		goto out;
	}
	if (st == PIPELINE_CANCELED && r.overtime && !r.lost &&
	    !atomic_load(&d->lease_lost)) {
		errf(err, sizeof(err), "the render took longer than this "
		    "daemon's limit of %ld s ([daemon] job_time_limit); use "
		    "fewer steps, a smaller size or fewer images",
		    d->cfg.job_time_limit);
		goto fail;
	}
	if (st == PIPELINE_CANCELED) {
		if (r.lost || atomic_load(&d->lease_lost))
			log_warn("job %llu: lease lost; left to whoever holds "
			    "it now", j->id);
		else if (r.canceled && end_job(&r, END_CANCELED, NULL, 0,
		    NULL, NULL) == 1)
			log_info("job %llu: canceled", j->id);
		else if (stop_requested && end_job(&r, END_REQUEUE, NULL, 0,
		    NULL, NULL) == 1)
			log_info("job %llu: stopping; back in the queue",
			    j->id);
		else
			log_warn("job %llu: could not record the stop: %s",
			    j->id, db_error(d->db));
		goto out;
	}
fail:
	log_warn("job %llu: failed: %s", j->id, err);
	st = end_job(&r, END_FAIL, NULL, 0, err, NULL);
	if (st < 0)
		log_warn("job %llu: recording the failure: %s", j->id,
		    db_error(d->db));
	/* A failed job has no images: those an earlier attempt stored
	 * before its daemon died go with it (attempt 0 keeps none). */
	else if (st == 1 && r.st != NULL)
		remove_others(&r, 0);
out:
	gen_result_free(&res);
	for (i = 0; i < JOB_LORAS_MAX; i++)
		extra_info_clear(&r.loras[i].x);
	ti_use_free(&r.tis);
	gen_inputs_free(&r.in);
	free(r.ctl_rgb);
	storage_free(r.st);
	pthread_mutex_lock(&d->mu);
	d->cur_id = 0;
	pthread_mutex_unlock(&d->mu);
}

/* The warm-up render's step callback: it stops only for SIGTERM. */
static int
on_warm_step(void *arg, const struct pipeline_step *s)
{
	(void)arg;
	(void)s;
	return stop_requested ? 1 : 0;
}

/*
 * Pays the one-off costs before claiming work, so the first job renders
 * as fast as the hundredth: every embedded OpenCL program is built (or
 * read from the binary cache), then the default model is loaded and
 * renders one small image, which makes every kernel of that path and has
 * a CPU driver such as PoCL specialise them for their work-group sizes.
 * The heartbeat says "warming" meanwhile. A failure is logged and the
 * daemon serves anyway: a job meets the same error with its reason.
 */
static void
warm_up(struct daemon *d)
{
	struct gen_params gp;
	struct gen_result res;
	struct pipeline *p;
	char err[2048];
	double t0 = rt_now(), t1;
	int built, first;

	built = rt_build_all(d->rt);
	t1 = rt_now();
	if (built < 0) {
		log_error("warm-up: %s", rt_error(d->rt));
		goto done;
	}
	log_info("warm-up: %d OpenCL program(s) built in %.2f s", built,
	    t1 - t0);
	/* Kernels are meant to build cleanly: anything the compiler says is
	 * worth an operator's look (and a test's). */
	if (d->rt->build_note[0] != '\0')
		log_warn("warm-up: the OpenCL compiler said: %s",
		    d->rt->build_note);
	if (d->cfg.default_model[0] == '\0')
		goto done;
	p = registry_get(d->reg, d->cfg.default_model, &first, err,
	    sizeof(err));
	if (p == NULL) {
		log_warn("warm-up: %s", err);
		goto done;
	}
	/* Its hash too, once: the first job's images carry it without the
	 * wait, and the API shows it. */
	{
		char hex[HASH_HEX + 1];

		model_hash(d, d->cfg.default_model, hex);
	}
	/* Two steps at the model's own size: DPM++ 2M's second-order step
	 * and guidance are on the path, as in a real job. */
	memset(&res, 0, sizeof(res));
	pipeline_defaults(p, &gp);
	gp.prompt = "warm-up";
	gp.steps = 2;
	gp.batch = 1;
	gp.seed = 0;
	if (pipeline_generate(p, &gp, on_warm_step, NULL, &res, err,
	    sizeof(err)) == PIPELINE_DONE)
		log_info("warm-up: %s rendered in %.2f s", d->cfg.default_model,
		    rt_now() - t1);
	else if (!stop_requested)
		log_warn("warm-up: %s: %s", d->cfg.default_model, err);
	gen_result_free(&res);
done:
	pthread_mutex_lock(&d->mu);
	d->warming = 0;
	if (db_ensure(d->db) == 0)
		heartbeat(d, d->db, "idle");
	pthread_mutex_unlock(&d->mu);
	log_info("ready: claiming jobs (warm-up took %.2f s)", rt_now() - t0);
}

/* The main loop: claim and render until SIGTERM. An idle daemon polls the
 * queue every poll_ms, so a new job starts within that. */
static void
serve(struct daemon *d)
{
	while (!stop_requested) {
		struct job j;
		int st;

		if (reload_requested)
			reload(d);
		if (stop_requested)
			break;
		st = db_ensure(d->db) == 0 ?
		    job_claim(d->db, d->name, d->cfg.lease_seconds, &j) : -1;
		if (st == 1) {
			run_job(d, &j);
			job_free(&j);
			continue;
		}
		if (st < 0) {
			/* The database is down: the keeper keeps retrying;
			 * wait a little longer between claims. */
			log_warn("claim: %s", db_error(d->db));
			nap_ms(2000, NULL);
		} else {
			nap_ms(d->cfg.poll_ms, NULL);
		}
	}
}

int
main(int argc, char **argv)
{
	struct daemon d;
	struct engine_opts eo;
	struct sigaction sa;
	char err[1024];
	int list = 0, check = 0, i, rc = 1;

	memset(&d, 0, sizeof(d));
	pthread_mutex_init(&d.mu, NULL);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-c") && i + 1 < argc) {
			d.conf_path = argv[++i];
		} else if (!strcmp(argv[i], "--name") && i + 1 < argc) {
			d.name_arg = argv[++i];
		} else if (!strcmp(argv[i], "--list-devices")) {
			list = 1;
		} else if (!strcmp(argv[i], "--check-config")) {
			check = 1;
		} else if (!strcmp(argv[i], "--version")) {
			printf("kilnd %s\n", KILN_VERSION);
			return 0;
		} else if (!strcmp(argv[i], "-h") ||
		    !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (list)
		return cl_list_devices(stdout) > 0 ? 0 : 1;
	if (d.conf_path == NULL)
		d.conf_path = config_default_path();
	if (config_load(&d.cfg, d.conf_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "kilnd: %s\n", err);
		return 1;
	}
	if (check) {
		printf("%s: configuration ok\n", d.conf_path);
		config_free(&d.cfg);
		return 0;
	}
	log_setup("kilnd", d.cfg.log_level);
	if (sodium_init() < 0) {
		log_error("libsodium does not initialise");
		config_free(&d.cfg);
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	pick_name(&d);
	/* [engine], then the KILN_* variables over it (as for kiln-render);
	 * fixed for the daemon's life: a reload keeps the device and these. */
	engine_opts_user(&eo);
	if (engine_opts_config(&eo, &d.cfg, err, sizeof(err)) != 0 ||
	    engine_opts_env(&eo, err, sizeof(err)) != 0) {
		log_error("%s", err);
		goto out;
	}
	/* The device named by [daemon] device; none matching is fatal, with
	 * what was found, rather than a daemon that claims jobs it cannot
	 * render. */
	if (rt_open(&d.rt, d.cfg.daemon_device, &eo, err, sizeof(err)) != 0) {
		log_error("[daemon] device \"%s\": %s (set device to one of "
		    "these, by name, index or type; the pocl-opencl-icd "
		    "package gives a CPU device)", d.cfg.daemon_device, err);
		goto out;
	}
	/* The first start on a device tunes the GEMM kernel; the runtime
	 * opens again to apply the file. */
	if (autotune_run(d.rt, d.cfg.daemon_device, d.cfg.engine_autotune,
	    &stop_requested) == 1) {
		char params[80];

		rt_free(d.rt);
		d.rt = NULL;
		if (rt_open(&d.rt, d.cfg.daemon_device, &eo, err,
		    sizeof(err)) != 0) {
			log_error("after GEMM tuning: %s", err);
			goto out;
		}
		rt_gemm_format(&d.rt->gemm, params, sizeof(params));
		log_info("GEMM tuning: done; the engine's kernel runs %s (%s)",
		    params, d.rt->gemm_tuned ? "tuned" : "the defaults were "
		    "fastest");
	}
	if (cl_device_summary(&d.devices) < 0) {
		log_error("out of memory");
		goto out;
	}
	d.reg = registry_new(d.rt, d.cfg.models_dir,
	    (size_t)d.cfg.model_memory_mb * 1048576);
	d.db = db_new(&d.cfg);
	d.tis = ti_dir_new();
	if (d.db == NULL || d.reg == NULL || d.tis == NULL) {
		log_error("out of memory");
		goto out;
	}
	log_info("kilnd %s starting as \"%s\", pid %ld, device %s",
	    KILN_VERSION, d.name, (long)getpid(), d.rt->device_name);
	/* A database that is down at start-up is waited for, not fatal: the
	 * daemon and MariaDB may be started in any order. */
	d.warming = d.cfg.warm_up != 0;
	if (threads_start(&d) != 0) {
		log_error("cannot start threads");
		goto out;
	}
	if (d.warming)
		warm_up(&d);
	serve(&d);
	log_info("stopping");
	threads_stop(&d);
	deregister(&d);
	rc = 0;
out:
	threads_stop(&d);
	registry_free(d.reg);
	upscaler_free(d.up);
	ti_dir_free(d.tis);
	rt_free(d.rt);
	db_free(d.db);
	buf_free(&d.devices);
	config_free(&d.cfg);
	curl_global_cleanup();
	pthread_mutex_destroy(&d.mu);
	return rc;
}
