/* explore.h - the public gallery: which published images anyone may see
 * (one rule, used by every page, search, remix and image URL), publishing
 * and unpublishing an image, and the image.* webhook events. */
#ifndef KILN_EXPLORE_H
#define KILN_EXPLORE_H

struct db;

/* The tables behind a published image p: its job j, image i and owner
 * u. Callers add their WHERE. */
#define EXPLORE_FROM " FROM published_images p" \
	" JOIN jobs j ON j.id = p.job_id" \
	" JOIN job_images i ON i.job_id = p.job_id AND i.idx = p.idx" \
	" JOIN users u ON u.id = p.user_id"

/* Who may see p: published, not hidden by a moderator, its job not
 * deleted, its owner not disabled (banned). Checked on every request, so
 * hiding takes effect everywhere at once. */
#define EXPLORE_VISIBLE " p.published_at IS NOT NULL AND p.hidden_at IS NULL" \
	" AND j.deleted_at IS NULL AND u.disabled = 0"

/* The report reasons, in the order of image_reports.reason's ENUM;
 * NULL-terminated. */
extern const char *const explore_reasons[];

enum explore_result {
	EXPLORE_DONE = 0,
	EXPLORE_NOT_FOUND,	/* not the user's image (or none): 404 */
	EXPLORE_HIDDEN,		/* a moderator hid it: not republished */
	EXPLORE_FAILED,		/* a database error */
};

/* Publishes image idx of user_id's succeeded job job_id, with its prompt
 * shown or not and its author named or anonymous; publishing again
 * changes the two choices. The first publication queues the
 * image.published event (base_url makes its links absolute). *id is the
 * published image's id when not NULL. */
enum explore_result explore_publish(struct db *db, const char *base_url,
	unsigned long long user_id, unsigned long long job_id, long idx,
	int show_prompt, int anonymous, unsigned long long *id);

/* Takes user_id's image back out of the gallery (the row stays: a hidden
 * image stays hidden, its reports keep their image). EXPLORE_NOT_FOUND
 * when the image is not the user's or was not published. */
enum explore_result explore_unpublish(struct db *db,
	unsigned long long user_id, unsigned long long job_id, long idx);

/* Queues image.reported about published image id for its owner: the
 * reason and the number of open reports, never who reported it. Returns
 * 0 or -1. */
int explore_reported_event(struct db *db, const char *base_url,
	unsigned long long id, const char *reason);

/* Splits a search text into at most max words (runs of bytes other than
 * spaces and tabs), each as a LIKE pattern that matches it anywhere with
 * %, _ and \ taken literally (like_pattern); the caller frees each.
 * Returns the number of words. */
int explore_search_words(const char *q, char **words, int max);

#endif
