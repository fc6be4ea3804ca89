/* explore.c - the public gallery's writes: publishing, unpublishing and
 * the image.* webhook events; and the search's word patterns. */
#include "explore.h"
#include "accounts.h"
#include "db.h"
#include "jobs.h"
#include "request.h"
#include "util.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

const char *const explore_reasons[] = { "spam", "sexual", "violence",
	"hate", "illegal", "copyright", "other", NULL };

/* The state of a published row. */
struct pub_rec {
	unsigned long long id, job_id;
	long idx, published, hidden;
};

static const struct db_field pub_fields[] = {
	DB_FIELD(struct pub_rec, id, DBF_ULLONG, "id"),
	DB_FIELD(struct pub_rec, job_id, DBF_ULLONG, "job_id"),
	DB_FIELD(struct pub_rec, idx, DBF_LONG, "idx"),
	DB_FIELD(struct pub_rec, published, DBF_LONG, "published"),
	DB_FIELD(struct pub_rec, hidden, DBF_LONG, "hidden"),
};

#define PUB_SQL "SELECT id, job_id, idx, published_at IS NOT NULL AS" \
	" published, hidden_at IS NOT NULL AS hidden FROM published_images"

/* The common data of an image event: which image, where it is seen. */
static json_object *
image_data(const char *base_url, const struct pub_rec *r)
{
	json_object *d = json_object_new_object();

	if (d == NULL)
		return NULL;
	json_object_object_add(d, "id", json_object_new_uint64(r->id));
	json_object_object_add(d, "job_id",
		json_object_new_uint64(r->job_id));
	json_object_object_add(d, "index", json_object_new_int((int)r->idx));
	json_object_object_add(d, "url", json_site_url(base_url,
		"/explore/%llu", r->id));
	json_object_object_add(d, "image_url", json_site_url(base_url,
		"/api/v1/explore/%llu.png", r->id));
	return d;
}

enum explore_result
explore_publish(struct db *db, const char *base_url,
	unsigned long long user_id, unsigned long long job_id, long idx,
	int show_prompt, int anonymous, unsigned long long *id)
{
	struct db_param p[3] = { DB_INT(job_id), DB_INT(user_id),
		DB_INT(idx) };
	struct db_param q[] = { DB_INT(job_id), DB_INT(idx), DB_INT(user_id),
		DB_INT(show_prompt != 0), DB_INT(anonymous != 0) };
	enum explore_result rc = EXPLORE_FAILED;
	struct pub_rec r = { 0 };
	long own = 0, n;
	json_object *d;

	/* Only a finished image of one's own job. */
	if (db_query_long(db, "SELECT COUNT(*) FROM job_images i JOIN jobs j"
	    " ON j.id = i.job_id WHERE j.id = ? AND j.user_id = ? AND"
	    " i.idx = ? AND j.status = 'succeeded' AND j.deleted_at IS NULL",
	    p, 3, &own) != 0)
		return EXPLORE_FAILED;
	if (own == 0)
		return EXPLORE_NOT_FOUND;
	/* One transaction, the row locked: a moderator hiding it meanwhile
	 * waits or wins, and the event exists exactly when the publication
	 * does. */
	if (db_exec_text(db, "START TRANSACTION") != 0)
		return EXPLORE_FAILED;
	n = db_query_into(db, PUB_SQL " WHERE job_id = ? AND idx = ?"
		" FOR UPDATE", q, 2, pub_fields, DB_NFIELDS(pub_fields), &r,
		NULL, NULL);
	if (n < 0)
		goto fail;
	/* Unpublishing and publishing again must not undo a moderator. */
	if (n > 0 && r.hidden) {
		rc = EXPLORE_HIDDEN;
		goto fail;
	}
	if (db_exec(db, "INSERT INTO published_images (job_id, idx,"
	    " user_id, show_prompt, anonymous, published_at)"
	    " VALUES (?, ?, ?, ?, ?, NOW(3)) ON DUPLICATE KEY UPDATE"
	    " show_prompt = VALUES(show_prompt),"
	    " anonymous = VALUES(anonymous),"
	    " published_at = COALESCE(published_at, NOW(3))",
	    q, 5, NULL, NULL) != 0)
		goto fail;
	/* Published before: only its choices changed, no new event. */
	if (!(n > 0 && r.published)) {
		if (db_query_into(db, PUB_SQL " WHERE job_id = ? AND idx = ?",
		    q, 2, pub_fields, DB_NFIELDS(pub_fields), &r, NULL,
		    NULL) <= 0 || (d = image_data(base_url, &r)) == NULL)
			goto fail;
		json_object_object_add(d, "prompt_shown",
			json_object_new_boolean(show_prompt != 0));
		json_object_object_add(d, "anonymous",
			json_object_new_boolean(anonymous != 0));
		if (job_event_queue(db, job_id, "image.published", d) != 0)
			goto fail;
	}
	if (db_exec_text(db, "COMMIT") != 0)
		goto fail;
	if (id != NULL)
		*id = r.id;
	return EXPLORE_DONE;
fail:
	db_rollback(db);
	return rc;
}

enum explore_result
explore_unpublish(struct db *db, unsigned long long user_id,
	unsigned long long job_id, long idx)
{
	struct db_param p[3] = { DB_INT(job_id), DB_INT(idx),
		DB_INT(user_id) };
	unsigned long long n = 0;

	if (db_exec(db, "UPDATE published_images SET published_at = NULL"
	    " WHERE job_id = ? AND idx = ? AND user_id = ? AND published_at"
	    " IS NOT NULL", p, 3, &n, NULL) != 0)
		return EXPLORE_FAILED;
	return n > 0 ? EXPLORE_DONE : EXPLORE_NOT_FOUND;
}

int
explore_reported_event(struct db *db, const char *base_url,
	unsigned long long id, const char *reason)
{
	struct db_param p[1] = { DB_INT(id) };
	struct pub_rec r = { 0 };
	long open = 0;
	json_object *d;

	if (db_query_into(db, PUB_SQL " WHERE id = ?", p, 1, pub_fields,
	    DB_NFIELDS(pub_fields), &r, NULL, NULL) <= 0 ||
	    db_query_long(db, "SELECT COUNT(*) FROM image_reports WHERE"
	    " published_id = ? AND status = 'open'", p, 1, &open) != 0)
		return -1;
	d = image_data(base_url, &r);
	if (d == NULL)
		return -1;
	json_object_object_add(d, "reason", json_object_new_string(reason));
	json_object_object_add(d, "open_reports",
		json_object_new_int64(open));
	return job_event_queue(db, r.job_id, "image.reported", d);
}

int
explore_search_words(const char *q, char **words, int max)
{
	int n = 0;

	while (q != NULL && *q != '\0' && n < max) {
		size_t len;
		char *w;

		q += strspn(q, " \t");
		len = strcspn(q, " \t");
		if (len == 0)
			break;
		w = xstrndup(q, len);
		words[n++] = like_pattern(w);
		free(w);
		q += len;
	}
	return n;
}
