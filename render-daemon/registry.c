/* registry.c - loaded models by name, least recently used evicted first
 * when their device memory passes the budget. */
#include "registry.h"
#include "log.h"
#include "models.h"
#include "pipeline.h"
#include "runtime.h"
#include "util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct entry {
	char *name;
	struct pipeline *p;
	size_t bytes;			/* device memory it holds */
	unsigned long long used;	/* tick of its last use */
	struct entry *next;
};

struct registry {
	struct kiln_rt *rt;
	char *dir;
	size_t budget;
	unsigned long long tick;
	struct entry *head;
};

struct registry *
registry_new(struct kiln_rt *rt, const char *models_dir, size_t budget)
{
	struct registry *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->rt = rt;
	r->budget = budget;
	r->dir = strdup(models_dir);
	if (r->dir == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

static void
entry_free(struct registry *r, struct entry *e)
{
	log_info("model %s unloaded (%.1f MB)", e->name,
	    (double)e->bytes / 1048576.0);
	pipeline_free(e->p);
	free(e->name);
	free(e);
	/* Give the freed weights back to the device, not to our pool. */
	rt_trim(r->rt);
}

static void
drop_all(struct registry *r)
{
	while (r->head != NULL) {
		struct entry *e = r->head;

		r->head = e->next;
		entry_free(r, e);
	}
}

void
registry_free(struct registry *r)
{
	if (r == NULL)
		return;
	drop_all(r);
	free(r->dir);
	free(r);
}

int
registry_configure(struct registry *r, const char *models_dir,
    size_t budget)
{
	if (strcmp(models_dir, r->dir) != 0) {
		char *d = strdup(models_dir);

		if (d == NULL)
			return -1;
		drop_all(r);
		free(r->dir);
		r->dir = d;
	}
	r->budget = budget;
	return 0;
}

int
registry_loaded(const struct registry *r, size_t *bytes)
{
	const struct entry *e;
	int n = 0;

	*bytes = 0;
	for (e = r->head; e != NULL; e = e->next, n++)
		*bytes += e->bytes;
	return n;
}

/* Bytes of .safetensors under path (a file, or a folder and its
 * subfolders): about what the model will hold on the device, known before
 * loading it. */
static size_t
weights_size(const char *path, int depth)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	size_t n = 0, len;
	char sub[2048];

	if (stat(path, &st) != 0)
		return 0;
	if (S_ISREG(st.st_mode)) {
		len = strlen(path);
		return len > 12 && !strcmp(path + len - 12, ".safetensors") ?
		    (size_t)st.st_size : 0;
	}
	if (!S_ISDIR(st.st_mode) || depth > 2 || (d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && snprintf(sub, sizeof(sub), "%s/%s",
		    path, de->d_name) < (int)sizeof(sub))
			n += weights_size(sub, depth + 1);
	closedir(d);
	return n;
}

/* Evicts least recently used models other than keep until the loaded
 * ones plus `extra` bytes fit the budget (a budget of 0 keeps one model:
 * keep, or none before a load). */
static void
evict(struct registry *r, const struct entry *keep, size_t extra)
{
	for (;;) {
		struct entry **pp, **lru = NULL, *e;
		size_t total = extra;

		for (e = r->head; e != NULL; e = e->next)
			total += e->bytes;
		if (total <= r->budget && r->budget > 0)
			return;
		for (pp = &r->head; *pp != NULL; pp = &(*pp)->next)
			if (*pp != keep && (lru == NULL ||
			    (*pp)->used < (*lru)->used))
				lru = pp;
		if (lru == NULL)
			return;
		e = *lru;
		*lru = e->next;
		entry_free(r, e);
	}
}

struct pipeline *
registry_get(struct registry *r, const char *name, int *first, char *err,
    size_t errlen)
{
	struct model_card *card = NULL;
	enum sd_family type;
	struct entry *e;
	int native;
	size_t before;
	char e2[512];

	for (e = r->head; e != NULL; e = e->next)
		if (!strcmp(e->name, name)) {
			e->used = ++r->tick;
			*first = 0;
			return e->p;
		}
	if (model_card_load(r->dir, name, &card, e2, sizeof(e2)) != 0) {
		errf(err, errlen, "%s", e2);
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL || (e->name = strdup(name)) == NULL) {
		free(e);
		model_card_free(card);
		errf(err, errlen, "model %s: out of memory", name);
		return NULL;
	}
	/* Make room first, from the weights' size on disk, so the device
	 * never holds more than the budget; the measured size replaces the
	 * estimate once loaded. */
	evict(r, NULL, weights_size(card->path, 0));
	rt_trim(r->rt);
	before = r->rt->bytes_held;
	if (pipeline_open(r->rt, card->path, NULL, &e->p, e2,
	    sizeof(e2)) != 0 && r->head != NULL) {
		/* Perhaps the device is full of other models: drop them all
		 * and try once more. */
		log_warn("model %s: %s; retrying with no other model loaded",
		    name, e2);
		drop_all(r);
		rt_trim(r->rt);
		before = r->rt->bytes_held;
		if (pipeline_open(r->rt, card->path, NULL, &e->p, e2,
		    sizeof(e2)) != 0)
			e->p = NULL;
	}
	type = card->type;
	native = card->native_side;
	model_card_free(card);
	if (e->p == NULL) {
		errf(err, errlen, "model %s does not load: %s", name, e2);
		free(e->name);
		free(e);
		rt_trim(r->rt);
		return NULL;
	}
	/* Only the weights stay live after a load: with the pool of freed
	 * scratch buffers trimmed, what the device holds more is the model. */
	rt_trim(r->rt);
	e->bytes = r->rt->bytes_held > before ? r->rt->bytes_held - before : 0;
	e->used = ++r->tick;
	e->next = r->head;
	r->head = e;
	log_info("model %s loaded: %s, native %d, %.1f MB", name,
	    sd_family_name(type), native, (double)e->bytes / 1048576.0);
	evict(r, e, 0);
	*first = 1;
	return e->p;
}
