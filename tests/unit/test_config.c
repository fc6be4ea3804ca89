/* test_config.c - kiln.conf parsing: defaults, types, ranges and the
 * file:line messages of every kind of mistake. */
#include "config.h"
#include "netpolicy.h"
#include "tap.h"

#include <stdlib.h>
#include <unistd.h>

static int
parse(struct kiln_config *c, const char *text, char *err, size_t n)
{
	return config_parse(c, "t.conf", text, strlen(text), err, n);
}

/* Parses text that must fail and checks the message. */
static void
expect_error(const char *text, const char *want)
{
	struct kiln_config c;
	char err[512] = "";

	CHECK(parse(&c, text, err, sizeof(err)) == -1);
	CHECK_STR(err, want);
}

static void
defaults_apply(void)
{
	struct kiln_config c;
	char err[512];

	CHECK(parse(&c, "", err, sizeof(err)) == 0);
	CHECK_STR(c.site_name, "kiln");
	CHECK(c.db_port == 3306);
	CHECK_STR(c.db_user, "kiln");
	CHECK_STR(c.db_socket, "");
	CHECK(c.heartbeat_interval == 5);
	CHECK_STR(c.log_level, "info");
	config_free(&c);
}

static void
values_and_whitespace(void)
{
	struct kiln_config c;
	char err[512];
	const char *text =
		"# comment\n"
		"; also a comment\n"
		"  [site]  \n"
		"name =  My Kiln  \r\n"
		"[database]\n"
		"port=3307\n"
		"password = a=b=c\n"
		"[daemon]\n"
		"heartbeat_interval = 3600\n"
		"[log]\n"
		"level = debug";	/* no final newline */

	CHECK(parse(&c, text, err, sizeof(err)) == 0);
	CHECK_STR(c.site_name, "My Kiln");
	CHECK(c.db_port == 3307);
	CHECK_STR(c.db_password, "a=b=c");
	CHECK(c.heartbeat_interval == 3600);
	CHECK_STR(c.log_level, "debug");
	config_free(&c);
	config_free(&c);	/* freeing twice is harmless */
}

static void
errors_name_file_and_line(void)
{
	expect_error("[site]\nname = x\n[nope]\n",
		"t.conf:3: unknown section [nope]");
	expect_error("[site]\n\ncolour = red\n",
		"t.conf:3: unknown key 'colour' in [site]");
	expect_error("name = x\n",
		"t.conf:1: key 'name' outside any [section]");
	expect_error("[site]\njust words\n",
		"t.conf:2: expected 'key = value'");
	expect_error("[site\n", "t.conf:1: section header must end with ']'");
	expect_error("[database]\nport = 80\nport = 81\n",
		"t.conf:3: database.port set twice");
	expect_error("[database]\nport = 99999\n",
		"t.conf:2: database.port: expected an integer from 1 to "
		"65535, got \"99999\"");
	expect_error("[database]\nport = 12ab\n",
		"t.conf:2: database.port: expected an integer from 1 to "
		"65535, got \"12ab\"");
	expect_error("[database]\nport =\n",
		"t.conf:2: database.port: expected an integer from 1 to "
		"65535, got \"\"");
	expect_error("[daemon]\nheartbeat_interval = 0\n",
		"t.conf:2: daemon.heartbeat_interval: expected an integer "
		"from 1 to 3600, got \"0\"");
	expect_error("[log]\nlevel = loud\n",
		"t.conf: log.level: expected debug, info, warn or error, "
		"got \"loud\"");
	expect_error("[database]\nname =\n",
		"t.conf: database.name: must not be empty");
}

static void
nul_byte_is_an_error(void)
{
	struct kiln_config c;
	char err[512];
	const char text[] = "[site]\nname = a\0b\n";

	CHECK(config_parse(&c, "t.conf", text, sizeof(text) - 1, err,
		sizeof(err)) == -1);
	CHECK_STR(err, "t.conf:2: NUL byte in line");
}

static void
load_from_file(void)
{
	struct kiln_config c;
	char path[] = "/tmp/kiln-test-conf-XXXXXX", err[512];
	int fd = mkstemp(path);
	const char *text = "[site]\nname = filed\n[database]\nport = x\n";

	CHECK(fd >= 0);
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	CHECK(config_load(&c, path, err, sizeof(err)) == -1);
	/* The message starts with the real path and the line. */
	CHECK(strncmp(err, path, strlen(path)) == 0);
	CHECK(strstr(err, ":4: database.port") != NULL);
	unlink(path);

	CHECK(config_load(&c, "/nonexistent/kiln.conf", err,
		sizeof(err)) == -1);
	CHECK_STR(err, "/nonexistent/kiln.conf: cannot open: No such file "
		"or directory");
}

static void
env_picks_the_file(void)
{
	setenv("KILN_CONF", "/x/y.conf", 1);
	CHECK_STR(config_default_path(), "/x/y.conf");
	setenv("KILN_CONF", "", 1);
	CHECK_STR(config_default_path(), KILN_CONF_DEFAULT);
	unsetenv("KILN_CONF");
	CHECK_STR(config_default_path(), KILN_CONF_DEFAULT);
}

static void
tiers(void)
{
	struct kiln_config c;
	const struct tier_limits *t;
	char err[512];

	CHECK(parse(&c, "[tier gold]\nmax_side = 512\npriority = 3\n"
		"[log]\nlevel = warn\n[tier default]\nmax_steps = 7\n", err,
		sizeof(err)) == 0);
	t = tier_for(&c, "gold");
	CHECK_STR(t->name, "gold");
	CHECK(t->max_side == 512 && t->priority == 3 && t->max_steps == 100);
	CHECK(t->max_batch == 4 && t->jobs_per_day == 1000 &&
		t->max_queued == 20);
	/* An unnamed tier takes [tier default]. */
	t = tier_for(&c, "free");
	CHECK_STR(t->name, "default");
	CHECK(t->max_steps == 7 && t->max_side == 1024);
	CHECK_STR(c.log_level, "warn");
	config_free(&c);
	/* Without sections: the built-in limits. */
	CHECK(parse(&c, "", err, sizeof(err)) == 0);
	t = tier_for(&c, "free");
	CHECK(t->max_side == 1024 && t->max_steps == 100 && t->priority == 0);
	config_free(&c);
	CHECK(parse(&c, "[tier Gold!]\n", err, sizeof(err)) == -1);
	CHECK(strstr(err, "t.conf:1:") != NULL && strstr(err, "tier name"));
	CHECK(parse(&c, "[tier gold]\nbogus = 1\n", err, sizeof(err)) == -1);
	CHECK(strstr(err, "t.conf:2:") != NULL && strstr(err, "bogus"));
	CHECK(parse(&c, "[tier gold]\nmax_batch = 9\n", err,
		sizeof(err)) == -1);
	CHECK(strstr(err, "1 to 8") != NULL);
	CHECK(parse(&c, "[tier a]\n[tier a]\n", err, sizeof(err)) == -1);
	CHECK(strstr(err, "twice") != NULL);
}

static void
webhook_allow_list_is_parsed_and_checked(void)
{
	struct kiln_config c;
	struct net_addr lo = { 4, { 127, 0, 0, 1 } };
	char err[512];

	CHECK(parse(&c, "", err, sizeof(err)) == 0);
	CHECK_STR(c.webhook_allow_spec, "");
	CHECK(c.webhook_allow != NULL && !net_allow_addr(c.webhook_allow,
	    &lo));
	config_free(&c);
	CHECK(parse(&c, "[webhooks]\nallow = 127.0.0.1, hooks.internal\n",
	    err, sizeof(err)) == 0);
	CHECK_STR(c.webhook_allow_spec, "127.0.0.1, hooks.internal");
	CHECK(net_allow_addr(c.webhook_allow, &lo));
	CHECK(net_allow_host(c.webhook_allow, "hooks.internal"));
	config_free(&c);
	CHECK(c.webhook_allow == NULL);
	config_free(&c);
	expect_error("[webhooks]\ntimeout = 5\nallow = 10.0.0.0/33\n",
	    "t.conf:3: webhooks.allow: \"10.0.0.0/33\": the prefix length "
	    "must be 0-32");
	expect_error("[webhooks]\nallow = hooks.internal, 127.1\n",
	    "t.conf:2: webhooks.allow: \"127.1\" is not an address "
	    "(127.0.0.1, ::1), a network (10.0.0.0/8) or a host name");
}

static void
mail_keys_are_checked(void)
{
	struct kiln_config c;
	char err[512];

	CHECK(parse(&c, "", err, sizeof(err)) == 0);
	CHECK(c.mail_enabled == 0);
	CHECK_STR(c.mail_relay, "smtp://127.0.0.1:25");
	CHECK_STR(c.mail_starttls, "try");
	CHECK_STR(c.mail_from, "");
	config_free(&c);
	CHECK(parse(&c, "[mail]\nenabled = true\nrelay = smtps://mx.example:465"
	    "\nfrom = kiln@example.org\nstarttls = always\n", err,
	    sizeof(err)) == 0);
	CHECK(c.mail_enabled == 1);
	CHECK_STR(c.mail_relay, "smtps://mx.example:465");
	config_free(&c);
	expect_error("[mail]\nrelay = http://mx.example\n",
	    "t.conf:2: mail.relay: want smtp://HOST[:PORT] or "
	    "smtps://HOST[:PORT], got \"http://mx.example\"");
	expect_error("[mail]\nrelay = smtp://\n",
	    "t.conf:2: mail.relay: want smtp://HOST[:PORT] or "
	    "smtps://HOST[:PORT], got \"smtp://\"");
	expect_error("[mail]\nfrom = kiln@example.org>, <x@y.example\n",
	    "t.conf:2: mail.from: \"kiln@example.org>, <x@y.example\" is not "
	    "an e-mail address (local@domain.example, ASCII)");
	/* Enabled without a From address: the whole file is wrong. */
	expect_error("[mail]\nenabled = true\n",
	    "t.conf: mail.from: must be set when mail.enabled is true (the "
	    "address mails come from)");
}

static void
alerts_keys_are_checked(void)
{
	struct kiln_config c;
	char err[512];

	CHECK(parse(&c, "", err, sizeof(err)) == 0);
	CHECK(c.alerts_interval == 30);
	CHECK_STR(c.alerts_webhook_url, "");
	CHECK_STR(c.alerts_emails, "");
	config_free(&c);
	CHECK(parse(&c, "[alerts]\ninterval = 5\nwebhook_url = https://ops."
	    "example/hook\nemails = a@ops.example, b@ops.example\n", err,
	    sizeof(err)) == 0);
	CHECK(c.alerts_interval == 5);
	CHECK_STR(c.alerts_webhook_url, "https://ops.example/hook");
	CHECK_STR(c.alerts_emails, "a@ops.example, b@ops.example");
	config_free(&c);
	expect_error("[alerts]\nwebhook_url = ftp://ops.example/\n",
	    "t.conf:2: alerts.webhook_url: \"ftp://ops.example/\" is not an "
	    "http:// or https:// URL");
	/* The site events' receiver: checked the same way, named so. */
	CHECK(parse(&c, "[webhooks]\nevents_url = http://ops.example/ev\n",
	    err, sizeof(err)) == 0);
	CHECK_STR(c.webhook_events_url, "http://ops.example/ev");
	config_free(&c);
	expect_error("[webhooks]\nevents_url = ops.example\n",
	    "t.conf:2: webhooks.events_url: \"ops.example\" is not an "
	    "http:// or https:// URL");
	/* A header smuggled into the list is one bad address. */
	expect_error("[alerts]\nemails = a@ops.example, b@ops.example>\n",
	    "t.conf:2: alerts.emails: \"b@ops.example>\" is not an e-mail "
	    "address");
	expect_error("[alerts]\ninterval = 0\n",
	    "t.conf:2: alerts.interval: expected an integer from 1 to 3600, "
	    "got \"0\"");
}

static void
engine_keys_default_to_the_engine_defaults(void)
{
	struct kiln_config c;
	char err[512];

	CHECK(parse(&c, "", err, sizeof(err)) == 0);
	CHECK_STR(c.engine_weights, "auto");
	CHECK_STR(c.engine_gemm, "own");
	CHECK_STR(c.engine_attention, "auto");
	CHECK(c.engine_profile == 0);
	CHECK(c.engine_tuning == 1);
	CHECK_STR(c.engine_cl_cache_dir, "");
	CHECK_STR(c.engine_tuning_dir, "");
	CHECK_STR(c.engine_clip_vocab, "");
	config_free(&c);
}

static void
engine_keys_take_their_words(void)
{
	struct kiln_config c;
	char err[512];
	const char *text =
		"[engine]\n"
		"weights = f32\n"
		"gemm = clblast\n"
		"attention = blocked\n"
		"profile = yes\n"
		"tuning = off\n"
		"cl_cache_dir = /var/cache/kiln/cl\n"
		"tuning_dir = /etc/kiln/tuning\n"
		"clip_vocab = /usr/share/kiln/clip\n";

	CHECK(parse(&c, text, err, sizeof(err)) == 0);
	CHECK_STR(c.engine_weights, "f32");
	CHECK_STR(c.engine_gemm, "clblast");
	CHECK_STR(c.engine_attention, "blocked");
	CHECK(c.engine_profile == 1);
	CHECK(c.engine_tuning == 0);
	CHECK_STR(c.engine_cl_cache_dir, "/var/cache/kiln/cl");
	CHECK_STR(c.engine_tuning_dir, "/etc/kiln/tuning");
	CHECK_STR(c.engine_clip_vocab, "/usr/share/kiln/clip");
	config_free(&c);
}

static void
engine_errors_name_the_key_and_the_choices(void)
{
	expect_error("[engine]\nweights = f16\n",
		"t.conf:2: engine.weights: expected auto or f32, got \"f16\"");
	expect_error("[engine]\nattention = Fused\n",
		"t.conf:2: engine.attention: expected auto, fused or blocked, "
		"got \"Fused\"");
	expect_error("[engine]\ngemm =\n",
		"t.conf:2: engine.gemm: expected own or clblast, got \"\"");
	expect_error("[engine]\nprofile = 2\n",
		"t.conf:2: engine.profile: expected true or false, got \"2\"");
}

/* LoRAs and embeddings live beside the models unless placed elsewhere;
 * a moved models folder takes them along. */
static void
lora_and_embedding_folders_follow_the_models(void)
{
	struct kiln_config c;
	char err[512];

	CHECK(parse(&c, "[paths]\nmodels = /m\n", err, sizeof(err)) == 0);
	CHECK_STR(c.loras_dir, "/m/loras");
	CHECK_STR(c.embeddings_dir, "/m/embeddings");
	config_free(&c);
	CHECK(parse(&c, "[paths]\nloras = /l\nembeddings = /e\n", err,
	    sizeof(err)) == 0);
	CHECK_STR(c.loras_dir, "/l");
	CHECK_STR(c.embeddings_dir, "/e");
	config_free(&c);
}

int
main(void)
{
	RUN(defaults_apply);
	RUN(tiers);
	RUN(mail_keys_are_checked);
	RUN(alerts_keys_are_checked);
	RUN(values_and_whitespace);
	RUN(errors_name_file_and_line);
	RUN(nul_byte_is_an_error);
	RUN(load_from_file);
	RUN(env_picks_the_file);
	RUN(webhook_allow_list_is_parsed_and_checked);
	RUN(engine_keys_default_to_the_engine_defaults);
	RUN(engine_keys_take_their_words);
	RUN(engine_errors_name_the_key_and_the_choices);
	RUN(lora_and_embedding_folders_follow_the_models);
	return tap_done();
}
