/* kiln-admin.c - the operator's command line: schema migrations, config
 * check, first admin account, canceling a job, hashing model files,
 * backups. */
#include "accounts.h"
#include "auth.h"
#include "backup.h"
#include "config.h"
#include "db.h"
#include "extras.h"
#include "filehash.h"
#include "jobs.h"
#include "migrate.h"
#include "models.h"
#include "util.h"

#include <ctype.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: kiln-admin [-c kiln.conf] COMMAND [options]\n"
		"\n"
		"commands:\n"
		"  check-config            validate the configuration file\n"
		"  migrate [--dir DIR]     apply pending sql/NNN_*.sql migrations\n"
		"  create-user --username NAME [--admin] [--display-name TEXT]\n"
		"              (--password-stdin | --generate-password)\n"
		"                          create an account; with\n"
		"                          --generate-password the password is\n"
		"                          printed once on stdout\n"
		"  set-password --username NAME\n"
		"              (--password-stdin | --generate-password)\n"
		"                          replace an account's password\n"
		"  user-exists NAME        exit 0 if the account exists, 1 if not\n"
		"  reset-2fa NAME          turn the account's two-factor login\n"
		"                          off (recovery codes, remembered\n"
		"                          devices too); exit 1 if no account\n"
		"  cancel-job ID           cancel a job: a queued one at once, a\n"
		"                          running one after its current step;\n"
		"                          exit 1 if there is no such job or it\n"
		"                          already ended\n"
		"  hash                    hash every single-file model, LoRA\n"
		"                          and embedding not hashed yet (the\n"
		"                          hashes the API and PNGs show)\n"
		"  backup --to DIR|FILE    write the database and the artifacts\n"
		"                          directory to one checksummed tar\n"
		"                          (DIR: kiln-backup-TIME.tar in it)\n"
		"  restore --from FILE [--force]\n"
		"                          check a backup, then load it into an\n"
		"                          empty database and artifacts\n"
		"                          directory (--force: replace them) and\n"
		"                          apply pending migrations\n"
		"\n"
		"The config file is -c, else $KILN_CONF, else %s.\n",
		KILN_CONF_DEFAULT);
}

static int
connect_db(struct db **out, const struct kiln_config *cfg, int multi)
{
	struct db *db = db_new(cfg);

	if (db_connect(db, multi) != 0) {
		fprintf(stderr, "kiln-admin: database: %s\n", db_error(db));
		db_free(db);
		return -1;
	}
	*out = db;
	return 0;
}

static int
cmd_migrate(const struct kiln_config *cfg, int argc, char **argv)
{
	const char *dir = cfg->migrations_dir;
	struct db *db = NULL;
	char err[1024];
	int i, n;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
			dir = argv[++i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (connect_db(&db, cfg, 1) != 0)
		return 1;
	n = migrate_apply(db, dir, 1, err, sizeof(err));
	db_free(db);
	if (n < 0) {
		fprintf(stderr, "kiln-admin: migrate: %s\n", err);
		return 1;
	}
	printf("schema up to date (%d applied now)\n", n);
	return 0;
}

static int
read_password(char *pw, size_t n)
{
	size_t len;

	if (fgets(pw, (int)n, stdin) == NULL)
		return -1;
	len = strcspn(pw, "\r\n");
	pw[len] = '\0';
	return 0;
}

/* create-user (create = 1) and set-password (create = 0) share option
 * parsing, password generation and hashing. */
static int
cmd_user(const struct kiln_config *cfg, int create, int argc, char **argv)
{
	const char *username = NULL, *display = "";
	char pw[PASSWORD_MAX + 2], hash[crypto_pwhash_STRBYTES], why[128];
	int admin = 0, from_stdin = 0, generate = 0, i, rc = 1;
	unsigned long long id = 0;
	struct db *db = NULL;
	struct db_param p[4];

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--username") && i + 1 < argc)
			username = argv[++i];
		else if (create && !strcmp(argv[i], "--display-name") &&
		    i + 1 < argc)
			display = argv[++i];
		else if (create && !strcmp(argv[i], "--admin"))
			admin = 1;
		else if (!strcmp(argv[i], "--password-stdin"))
			from_stdin = 1;
		else if (!strcmp(argv[i], "--generate-password"))
			generate = 1;
		else {
			usage(stderr);
			return 2;
		}
	}
	if (username == NULL || from_stdin == generate) {
		usage(stderr);
		return 2;
	}
	if (!username_valid(username)) {
		fprintf(stderr, "kiln-admin: username: 2-64 characters of "
			"letters, digits, '.', '_' or '-'\n");
		return 2;
	}
	if (generate) {
		/* 16 random bytes as 32 hex digits: 128 bits. */
		if (random_hex(pw, 16) != 0) {
			fprintf(stderr, "kiln-admin: no randomness\n");
			return 1;
		}
	} else if (read_password(pw, sizeof(pw)) != 0) {
		fprintf(stderr, "kiln-admin: no password on stdin\n");
		return 2;
	}
	/* A generated password is 128 random bits: the rules are for
	 * passwords people choose. */
	if (!generate && password_policy(pw, username, why,
	    sizeof(why)) != 0) {
		fprintf(stderr, "kiln-admin: password %s\n", why);
		goto out;
	}
	if (crypto_pwhash_str(hash, pw, strlen(pw),
	    crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		fprintf(stderr, "kiln-admin: out of memory hashing\n");
		goto out;
	}
	if (connect_db(&db, cfg, 0) != 0)
		goto out;
	if (create) {
		p[0] = DB_STR(username);
		p[1] = DB_STR(display);
		p[2] = DB_STR(hash);
		p[3] = DB_STR(admin ? "admin" : "user");
		if (db_exec(db, "INSERT INTO users (username, display_name,"
		    " password_hash, role, password_changed_at)"
		    " VALUES (?, ?, ?, ?, NOW(3))", p, 4, NULL, &id) != 0) {
			fprintf(stderr, "kiln-admin: create-user: %s\n",
				db_error(db));
			goto out;
		}
		audit_write(db, 0, "kiln-admin", "", "user_create", id,
			username, admin ? "role admin" : "role user");
	} else {
		unsigned long long n = 0;

		p[0] = DB_STR(hash);
		p[1] = DB_STR(username);
		if (db_exec(db, "UPDATE users SET password_hash = ?,"
		    " password_changed_at = NOW(3) WHERE username = ?", p, 2, &n, NULL) != 0) {
			fprintf(stderr, "kiln-admin: set-password: %s\n",
				db_error(db));
			goto out;
		}
		if (n == 0) {
			fprintf(stderr, "kiln-admin: set-password: no user "
				"named %s\n", username);
			goto out;
		}
		audit_write(db, 0, "kiln-admin", "", "password_reset", 0,
			username, "set-password");
	}
	if (generate)
		printf("%s\n", pw);
	rc = 0;
out:
	sodium_memzero(pw, sizeof(pw));
	db_free(db);
	return rc;
}

static int
cmd_user_exists(const struct kiln_config *cfg, int argc, char **argv)
{
	struct db *db = NULL;
	struct db_param p[1];
	char *id = NULL;
	int rc;

	if (argc != 1) {
		usage(stderr);
		return 2;
	}
	if (connect_db(&db, cfg, 0) != 0)
		return 3;
	p[0] = DB_STR(argv[0]);
	if (db_query_string(db, "SELECT id FROM users WHERE username = ?", p,
	    1, &id) != 0) {
		fprintf(stderr, "kiln-admin: %s\n", db_error(db));
		rc = 3;
	} else {
		rc = id != NULL ? 0 : 1;
	}
	free(id);
	db_free(db);
	return rc;
}

/* reset-2fa NAME: what an administrator does on /admin/users/ID, for
 * when no administrator can log in. */
static int
cmd_reset_2fa(const struct kiln_config *cfg, int argc, char **argv)
{
	struct db *db = NULL;
	struct db_param p[1];
	char *id = NULL;
	int rc = 3;

	if (argc != 1) {
		usage(stderr);
		return 2;
	}
	if (connect_db(&db, cfg, 0) != 0)
		return 3;
	p[0] = DB_STR(argv[0]);
	if (db_query_string(db, "SELECT id FROM users WHERE username = ?", p,
	    1, &id) != 0)
		goto fail;
	if (id == NULL) {
		fprintf(stderr, "kiln-admin: reset-2fa: no user named %s\n",
			argv[0]);
		rc = 1;
		goto out;
	}
	if (twofa_remove(db, strtoull(id, NULL, 10)) != 0)
		goto fail;
	audit_write(db, 0, "kiln-admin", "", "2fa_reset",
		strtoull(id, NULL, 10), argv[0], "reset-2fa: two-factor login "
		"off; recovery codes and remembered devices removed");
	printf("two-factor login of %s is off\n", argv[0]);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "kiln-admin: reset-2fa: %s\n", db_error(db));
out:
	free(id);
	db_free(db);
	return rc;
}

static int
cmd_cancel_job(const struct kiln_config *cfg, int argc, char **argv)
{
	struct db *db = NULL;
	long id;
	int st;

	if (argc != 1 || parse_long(argv[0], 1, LONG_MAX, &id) != 0) {
		fprintf(stderr, "kiln-admin: cancel-job: expected a job id, a "
			"positive integer\n");
		return 2;
	}
	if (connect_db(&db, cfg, 0) != 0)
		return 3;
	/* User 0: the operator may cancel anyone's job. */
	st = job_cancel(db, (unsigned long long)id, 0);
	if (st < 0)
		fprintf(stderr, "kiln-admin: %s\n", db_error(db));
	else if (st == 0)
		fprintf(stderr, "kiln-admin: job %ld is not queued or "
			"running\n", id);
	else {
		char detail[64];

		snprintf(detail, sizeof(detail), "job %ld", id);
		audit_write(db, 0, "kiln-admin", "", "job_cancel", 0, "",
			detail);
		printf("job %ld: cancel requested\n", id);
	}
	db_free(db);
	return st < 0 ? 3 : st == 0 ? 1 : 0;
}

/* Hashes one file into the cache, saying what it did. Returns 0 or -1. */
static int
hash_one(struct db *db, const char *kind, const char *name,
	const char *path)
{
	char hex[HASH_HEX + 1], err[1024];
	int computed;

	if (hash_cache_ensure(db, kind, name, path, hex, &computed, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "kiln-admin: %s %s: %s\n", kind, name, err);
		return -1;
	}
	printf("%s %s %.*s %s\n", kind, name, !strcmp(kind, "checkpoint") ?
		HASH_SHORT_MODEL : HASH_SHORT_NET, hex, computed ? "hashed" :
		"cached");
	return 0;
}

/*
 * hash: fills the hash cache for every single-file model (diffusers
 * folders have no AUTOMATIC1111 hash), LoRA and embedding, so the API
 * shows their hashes before kilnd has rendered with them. A LoRA whose
 * metadata carries sshs_model_hash needs none: A1111 takes that.
 */
static int
cmd_hash(const struct kiln_config *cfg, int argc, char **argv)
{
	struct extra_info *x = NULL;
	struct db *db = NULL;
	char **names = NULL, *path;
	struct stat st;
	int n, i, k, bad = 0;

	(void)argv;
	if (argc != 0) {
		usage(stderr);
		return 2;
	}
	if (connect_db(&db, cfg, 0) != 0)
		return 3;
	n = models_list(cfg->models_dir, &names);
	if (n < 0) {
		fprintf(stderr, "kiln-admin: %s: cannot read\n",
			cfg->models_dir);
		bad = 1;
	}
	for (i = 0; i < n; i++) {
		path = xasprintf("%s/%s.safetensors", cfg->models_dir,
			names[i]);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    hash_one(db, "checkpoint", names[i], path) != 0)
			bad = 1;
		free(path);
	}
	models_list_free(names, n);
	for (k = 0; k < 2; k++) {
		enum extra_kind kind = k ? EXTRA_EMBEDDING : EXTRA_LORA;
		const char *dir = k ? cfg->embeddings_dir : cfg->loras_dir;

		n = extras_list(dir, kind, &x);
		if (n < 0) {
			fprintf(stderr, "kiln-admin: %s: cannot read\n", dir);
			bad = 1;
		}
		for (i = 0; i < n; i++) {
			if (x[i].error != NULL) {
				fprintf(stderr, "kiln-admin: %s\n", x[i].error);
				bad = 1;
			} else if (x[i].sshs_hash != NULL) {
				printf("lora %s %.*s from its metadata\n",
					x[i].name, HASH_SHORT_NET,
					x[i].sshs_hash);
			} else if (hash_one(db, extra_kind_name(kind),
			    x[i].name, x[i].path) != 0) {
				bad = 1;
			}
		}
		extras_free(x, n);
	}
	db_free(db);
	return bad;
}

int
main(int argc, char **argv)
{
	struct kiln_config cfg;
	const char *conf = NULL, *cmd;
	char err[512];
	int i = 1, rc;

	if (i + 1 < argc && !strcmp(argv[i], "-c")) {
		conf = argv[i + 1];
		i += 2;
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[i++];
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help")) {
		usage(stdout);
		return 0;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "kiln-admin: libsodium failed to start\n");
		return 1;
	}
	if (config_load(&cfg, conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-admin: %s\n", err);
		return 1;
	}
	if (!strcmp(cmd, "check-config")) {
		printf("%s: configuration ok\n",
			conf ? conf : config_default_path());
		rc = 0;
	} else if (!strcmp(cmd, "migrate")) {
		rc = cmd_migrate(&cfg, argc - i, argv + i);
	} else if (!strcmp(cmd, "create-user")) {
		rc = cmd_user(&cfg, 1, argc - i, argv + i);
	} else if (!strcmp(cmd, "set-password")) {
		rc = cmd_user(&cfg, 0, argc - i, argv + i);
	} else if (!strcmp(cmd, "user-exists")) {
		rc = cmd_user_exists(&cfg, argc - i, argv + i);
	} else if (!strcmp(cmd, "reset-2fa")) {
		rc = cmd_reset_2fa(&cfg, argc - i, argv + i);
	} else if (!strcmp(cmd, "cancel-job")) {
		rc = cmd_cancel_job(&cfg, argc - i, argv + i);
	} else if (!strcmp(cmd, "hash")) {
		rc = cmd_hash(&cfg, argc - i, argv + i);
	} else if (!strcmp(cmd, "backup")) {
		rc = cmd_backup(&cfg, argc - i, argv + i);
	} else if (!strcmp(cmd, "restore")) {
		rc = cmd_restore(&cfg, argc - i, argv + i);
	} else {
		usage(stderr);
		rc = 2;
	}
	config_free(&cfg);
	return rc;
}
