/* accountdel.h - deleting an account: its running jobs canceled first,
 * then every row about it (found as dataexport.h finds them) and every
 * file of it removed, but its audit entries kept with the name and ids
 * replaced by a stable pseudonym. */
#ifndef KILN_ACCOUNTDEL_H
#define KILN_ACCOUNTDEL_H

struct db;
struct kiln_config;

/* "deleted-user-" and 16 hex digits. */
#define PSEUDONYM_LEN 29

/* The pseudonym of user uid: the same for every entry of one account
 * and on every deletion of it, unlinkable to the id without the site's
 * key (BLAKE2b keyed with a key derived from [auth] totp_key, or from
 * the database credentials without one: twofa_key). out holds
 * PSEUDONYM_LEN + 1 bytes. */
void account_pseudonym(const struct kiln_config *cfg, unsigned long long uid,
	char *out);

enum account_delete {
	ACCTDEL_DBFAIL = -1,
	ACCTDEL_OK = 0,
	ACCTDEL_NOT_FOUND = 1,
	ACCTDEL_LAST_ADMIN = 2,	/* the only enabled administrator */
	ACCTDEL_BUSY = 3,	/* a job still runs after wait_s seconds */
};

/* Deletes account uid. Its queued jobs are canceled and its running ones
 * asked to stop (as a cancel from the owner is, so each daemon ends its
 * job cleanly before the next step); the account is disabled meanwhile
 * and for at most wait_s seconds the jobs are waited for. If one still
 * runs the account is left as it was (enabled again if it was) and
 * ACCTDEL_BUSY says to try again. Then in one transaction: the audit
 * entries by or about it are pseudonymised (ids NULL, names and their
 * mentions in the detail the pseudonym, the account's own addresses
 * emptied), every other row whose user column is uid deleted (or, for
 * an invitation it made or used, the column set NULL), the account's
 * jobs and the account itself deleted (a team it alone owned passes to
 * its longest-standing member, or goes when it has none; a project it
 * made for a team passes to one of the team's owners), and the
 * account.deleted event
 * queued for [webhooks] events_url (by: "self" or "admin"). After the
 * commit its files go: each job's directory, its uploads and its
 * exports. pseudonym (at least PSEUDONYM_LEN + 1 bytes) receives the
 * pseudonym. */
enum account_delete account_delete(struct db *db,
	const struct kiln_config *cfg, unsigned long long uid,
	const char *by, int wait_s, char *pseudonym);

#endif
