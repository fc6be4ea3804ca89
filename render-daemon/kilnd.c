/* kilnd.c - the render daemon: registers with MariaDB, keeps a heartbeat,
 * stops cleanly on SIGTERM, reloads its config on SIGHUP. Job claiming and
 * the engine plug in here in later steps. */
#include "cl_devices.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	fprintf(f, "usage: kilnd [-c kiln.conf] [--list-devices | --version "
		"| --check-config]\n"
		"The config file is -c, else $KILN_CONF, else %s.\n",
		KILN_CONF_DEFAULT);
}

struct daemon {
	struct kiln_config cfg;
	const char *conf_path;
	struct db *db;
	char name[256];
	char host[256];
	struct buf devices;
	int registered;
};

static void
pick_name(struct daemon *d)
{
	if (gethostname(d->host, sizeof(d->host)) != 0)
		snprintf(d->host, sizeof(d->host), "localhost");
	d->host[sizeof(d->host) - 1] = '\0';
	/* The name identifies this daemon's row: stable across restarts so
	 * a restart updates its row instead of adding one. */
	snprintf(d->name, sizeof(d->name), "%s",
		d->cfg.daemon_name[0] ? d->cfg.daemon_name : d->host);
}

static int
register_self(struct daemon *d)
{
	struct db_param p[5] = {
		DB_STR(d->name), DB_STR(d->host), DB_INT(getpid()),
		DB_STR(KILN_VERSION),
		DB_STR(d->devices.data ? d->devices.data : "none"),
	};

	if (db_ensure(d->db) != 0 ||
	    db_exec(d->db, "INSERT INTO daemons (name, host, pid, version,"
	    " devices, state, started_at, heartbeat_at, stopped_at)"
	    " VALUES (?, ?, ?, ?, ?, 'idle', NOW(3), NOW(3), NULL)"
	    " ON DUPLICATE KEY UPDATE host = VALUES(host),"
	    " pid = VALUES(pid), version = VALUES(version),"
	    " devices = VALUES(devices), state = 'idle',"
	    " started_at = NOW(3), heartbeat_at = NOW(3), stopped_at = NULL",
	    p, 5, NULL, NULL) != 0) {
		log_warn("register: %s", db_error(d->db));
		return -1;
	}
	d->registered = 1;
	log_info("registered as \"%s\" (devices: %s)", d->name,
		d->devices.data);
	return 0;
}

static int
heartbeat(struct daemon *d)
{
	struct db_param p[2] = { DB_STR(d->name), DB_INT(getpid()) };
	unsigned long long n = 0;

	if (!d->registered)
		return register_self(d);
	if (db_ensure(d->db) != 0 ||
	    db_exec(d->db, "UPDATE daemons SET heartbeat_at = NOW(3)"
	    " WHERE name = ? AND pid = ?", p, 2, &n, NULL) != 0) {
		log_warn("heartbeat: %s", db_error(d->db));
		return -1;
	}
	/* Our row was removed or taken over (an admin cleaned up): say who
	 * we are again. */
	if (n == 0)
		return register_self(d);
	return 0;
}

static void
deregister(struct daemon *d)
{
	struct db_param p[2] = { DB_STR(d->name), DB_INT(getpid()) };

	if (!d->registered)
		return;
	if (db_ensure(d->db) != 0 ||
	    db_exec(d->db, "UPDATE daemons SET state = 'stopped',"
	    " stopped_at = NOW(3) WHERE name = ? AND pid = ?", p, 2, NULL,
	    NULL) != 0)
		log_warn("deregister: %s", db_error(d->db));
}

/* Sleeps up to secs, waking early for a signal. */
static void
nap(long secs)
{
	long ms = secs * 1000;

	while (ms > 0 && !stop_requested && !reload_requested) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		ms -= 100;
	}
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
	/* The db handle points at cfg: swap in the new settings and let the
	 * next use reconnect with them. */
	db_free(d->db);
	config_free(&d->cfg);
	d->cfg = fresh;
	d->db = db_new(&d->cfg);
	log_setup(NULL, d->cfg.log_level);
	log_info("configuration reloaded from %s", d->conf_path);
}

int
main(int argc, char **argv)
{
	struct daemon d;
	struct sigaction sa;
	char err[512];
	int list = 0, check = 0, i, rc = 1;

	memset(&d, 0, sizeof(d));
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-c") && i + 1 < argc) {
			d.conf_path = argv[++i];
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

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	pick_name(&d);
	if (cl_device_summary(&d.devices) < 0) {
		log_error("out of memory");
		goto out;
	}
	d.db = db_new(&d.cfg);
	if (d.db == NULL) {
		log_error("out of memory");
		goto out;
	}
	log_info("kilnd %s starting as \"%s\", pid %ld", KILN_VERSION, d.name,
		(long)getpid());
	/* A database that is down at start-up is waited for, not fatal: the
	 * daemon and MariaDB may be started in any order. */
	while (!stop_requested) {
		if (reload_requested)
			reload(&d);
		heartbeat(&d);
		nap(d.cfg.heartbeat_interval);
	}
	log_info("stopping");
	deregister(&d);
	rc = 0;
out:
	db_free(d.db);
	buf_free(&d.devices);
	config_free(&d.cfg);
	return rc;
}
