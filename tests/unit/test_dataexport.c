/* test_dataexport.c - the pure parts of "your data": which columns are
 * never exported, which file a table's rows go to, and the audit log's
 * pseudonym of a deleted account (against Python's hashlib.blake2b). */
#include "accountdel.h"
#include "config.h"
#include "dataexport.h"
#include "tap.h"

#include <sodium.h>
#include <string.h>

static void
secret_columns(void)
{
	static const char *const secret[] = { "password_hash", "key_hash",
		"token_hash", "csrf", "webhook_secret", "secret_sealed", "salt",
		"code_hash", "share_token", "body_hash", NULL };
	static const char *const kept[] = { "id", "user_id", "prefix",
		"sha256", "webhook_url", "ip", "user_agent", "scopes", "prompt",
		"path", "enabled_at", NULL };
	int i;

	for (i = 0; secret[i] != NULL; i++)
		CHECK(column_is_secret(secret[i]));
	for (i = 0; kept[i] != NULL; i++)
		CHECK(!column_is_secret(kept[i]));
	CHECK(column_withheld("mail_outbox", "message"));
	CHECK(!column_withheld("mail_outbox", "recipient"));
	CHECK(!column_withheld("jobs", "message"));
	CHECK(column_withheld("api_keys", "old_key_hash"));
}

static void
files_of_tables(void)
{
	CHECK_STR(export_file_of("users"), "account.json");
	CHECK_STR(export_file_of("jobs"), "jobs.json");
	CHECK_STR(export_file_of("job_inputs"), "jobs.json");
	CHECK_STR(export_file_of("api_keys"), "api_keys.json");
	CHECK_STR(export_file_of("sessions"), "sessions.json");
	CHECK_STR(export_file_of("webhook_deliveries"), "webhooks.json");
	CHECK_STR(export_file_of("audit_log"), "audit.json");
	CHECK_STR(export_file_of("user_totp"), "two_factor.json");
	CHECK_STR(export_file_of("batches"), "jobs.json");
	CHECK_STR(export_file_of("known_devices"), "sessions.json");
	/* A table a later migration adds is still exported. */
	CHECK_STR(export_file_of("gallery_reports"), "other.json");
}

static void
pseudonyms(void)
{
	struct kiln_config c = { 0 };
	char a[PSEUDONYM_LEN + 1], b[PSEUDONYM_LEN + 1];

	c.totp_key = "00112233445566778899aabbccddeeff"
		"00112233445566778899aabbccddeeff";
	c.db_password = "pw";
	c.db_name = "kiln";
	/* hashlib.blake2b(b"kiln-pseudonym:1", key=KEY, digest_size=8) */
	account_pseudonym(&c, 1, a);
	CHECK_STR(a, "deleted-user-840c734ae5720798");
	CHECK(strlen(a) == PSEUDONYM_LEN);
	account_pseudonym(&c, 42, a);
	CHECK_STR(a, "deleted-user-e2ccc88c818066bd");
	/* Stable for one account; another site's key gives another. */
	account_pseudonym(&c, 42, b);
	CHECK_STR(a, b);
	c.totp_key = "";
	account_pseudonym(&c, 42, b);
	CHECK(strcmp(a, b) != 0);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(secret_columns);
	RUN(files_of_tables);
	RUN(pseudonyms);
	return tap_done();
}
