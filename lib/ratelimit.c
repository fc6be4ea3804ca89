/* ratelimit.c - token buckets shared through MariaDB. */
#include "ratelimit.h"
#include "app.h"
#include "auth.h"
#include "db.h"
#include "request.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int
rate_take(struct kreq *req, const char *bucket, double burst,
	double per_minute, struct rate_result *res)
{
	struct db *db = req->app->db;
	double rate = per_minute / 60.0, avail, left;
	struct db_param p[2];
	char *v = NULL, num[32], full[32];
	int tries;

	p[0] = DB_STR(bucket);
	snprintf(full, sizeof(full), "%.6f", burst);
	snprintf(num, sizeof(num), "%.9f", rate);
	p[1] = DB_STR(num);
	/* The row lock (FOR UPDATE) makes read-refill-take one step across
	 * processes. A new bucket is made full outside the transaction:
	 * INSERT IGNORE inside it would hold a shared lock on the existing
	 * row, and two requests both upgrading theirs deadlock. */
	for (tries = 0; tries < 2; tries++) {
		if (db_exec_text(db, "START TRANSACTION") != 0)
			return -1;
		if (db_query_string(db, "SELECT tokens +"
		    " TIMESTAMPDIFF(MICROSECOND, updated_at, NOW(3)) / 1000000"
		    " * ? FROM rate_buckets WHERE bucket = ? FOR UPDATE",
		    (struct db_param[]){ p[1], p[0] }, 2, &v) != 0)
			goto fail;
		if (v != NULL)
			break;
		db_rollback(db);
		if (db_exec(db, "INSERT IGNORE INTO rate_buckets (bucket,"
		    " tokens) VALUES (?, ?)", (struct db_param[]){ p[0],
		    DB_STR(full) }, 2, NULL, NULL) != 0)
			return -1;
	}
	if (v == NULL)
		goto fail;
	avail = fmin(burst, strtod(v, NULL));
	free(v);
	v = NULL;
	res->allowed = avail >= 1.0;
	left = res->allowed ? avail - 1.0 : avail;
	snprintf(num, sizeof(num), "%.6f", left);
	p[1] = DB_STR(num);
	if (db_exec(db, "UPDATE rate_buckets SET tokens = ?,"
	    " updated_at = NOW(3) WHERE bucket = ?", (struct db_param[]){
	    p[1], p[0] }, 2, NULL, NULL) != 0 ||
	    db_exec_text(db, "COMMIT") != 0)
		goto fail;
	res->remaining = (long)floor(left);
	res->retry_after = res->allowed ? 0 : (long)ceil((1.0 - left) / rate);
	res->reset = (long)ceil((burst - left) / rate);
	return 0;
fail:
	free(v);
	db_rollback(db);
	return -1;
}

void
rate_headers(struct kreq *req, double burst, const struct rate_result *res)
{
	char num[32];

	snprintf(num, sizeof(num), "%.0f", burst);
	resp_header(req, "RateLimit-Limit", num);
	snprintf(num, sizeof(num), "%ld", res->remaining < 0 ? 0 :
		res->remaining);
	resp_header(req, "RateLimit-Remaining", num);
	snprintf(num, sizeof(num), "%ld", res->reset);
	resp_header(req, "RateLimit-Reset", num);
	if (!res->allowed) {
		snprintf(num, sizeof(num), "%ld", res->retry_after < 1 ? 1 :
			res->retry_after);
		resp_header(req, "Retry-After", num);
	}
}

/* Takes from each bucket in turn; the first that refuses decides. */
static int
limit(struct kreq *req, const char *const *buckets, int n, long burst,
	long per_minute)
{
	struct rate_result r, worst = { 1, burst, 0, 0 };
	int i;

	for (i = 0; i < n; i++) {
		if (rate_take(req, buckets[i], (double)burst,
		    (double)per_minute, &r) != 0)
			return -1;
		if (!r.allowed || r.remaining < worst.remaining)
			worst = r;
		if (!r.allowed)
			break;
	}
	rate_headers(req, (double)burst, &worst);
	return worst.allowed ? 0 : 1;
}

int
limit_submit(struct kreq *req)
{
	const struct kiln_config *c = &req->app->cfg;
	char user[64], ip[96];
	const char *b[2] = { user, ip };

	snprintf(user, sizeof(user), "submit:u:%llu",
		req->auth ? req->auth->user_id : 0);
	snprintf(ip, sizeof(ip), "submit:ip:%.60s", req->remote_addr);
	return limit(req, b, 2, c->submit_burst, c->submit_per_minute);
}

int
limit_login(struct kreq *req)
{
	const struct kiln_config *c = &req->app->cfg;
	char ip[96];
	const char *b[1] = { ip };

	snprintf(ip, sizeof(ip), "login:ip:%.60s", req->remote_addr);
	return limit(req, b, 1, c->login_burst, c->login_per_minute);
}
