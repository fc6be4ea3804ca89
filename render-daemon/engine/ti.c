/* ti.c - textual-inversion embedding files: .safetensors only, parsed by
 * the engine's safetensors reader, checked for what A1111's
 * load_from_file accepts and what a prompt window can hold; and the
 * folder cache that loads them when a prompt names one. */
#include "ti.h"
#include "prompt.h"
#include "safetensors.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Wider vectors than any CLIP tower has (bigG: 1280) are not an
 * embedding; the bound also keeps n x width far inside an int. */
#define TI_MAX_WIDTH 65536

/* The extensions of the pickled embeddings A1111 also reads. */
static const char *const pickles[] = { ".pt", ".bin", ".ckpt", ".pth" };

const char *
ti_key_name(enum ti_key k)
{
	static const char *const names[TI__KEYS] = { "vectors", "clip_l",
	    "clip_g" };

	return k >= 0 && k < TI__KEYS ? names[k] : "?";
}

void
ti_free(struct ti_embedding *e)
{
	int k;

	if (e == NULL)
		return;
	for (k = 0; k < TI__KEYS; k++)
		free(e->vec[k]);
	free(e->name);
	free(e->file);
	free(e->tensor);
	free(e);
}

/* The extension of file (from its last '.' after the last '/'), or "". */
static const char *
extension(const char *file)
{
	const char *slash = strrchr(file, '/'), *dot = strrchr(file, '.');

	if (dot == NULL || (slash != NULL && dot < slash) || dot == file ||
	    (slash != NULL && dot == slash + 1))
		return "";
	return dot;
}

static int
is_pickle_ext(const char *ext)
{
	size_t i;

	for (i = 0; i < sizeof(pickles) / sizeof(pickles[0]); i++)
		if (!strcasecmp(ext, pickles[i]))
			return 1;
	return 0;
}

/* A new copy of file's last path component less its extension, or NULL. */
static char *
stem_of(const char *file)
{
	const char *b = strrchr(file, '/');
	const char *ext;

	b = b != NULL ? b + 1 : file;
	ext = extension(b);
	return strndup(b, ext[0] != '\0' ? (size_t)(ext - b) : strlen(b));
}

/* t's vectors into e->vec[k] (n x width floats). Returns 0, or -1 with a
 * message naming the file and tensor. */
static int
take(struct ti_embedding *e, enum ti_key k, const struct st_tensor *t,
    char *err, size_t errlen)
{
	char shp[128];
	int64_t n, w;

	st_shape_text(shp, sizeof(shp), t->shape, t->ndim);
	if (t->ndim != 1 && t->ndim != 2)
		return errf(err, errlen, "%s: tensor %s is %s, not [n, width] "
		    "vectors", e->file, t->name, shp);
	/* A1111 takes a 1-D tensor as one vector; SDXL's pair is 2-D. */
	if (e->sdxl && t->ndim != 2)
		return errf(err, errlen, "%s: %s is %s, not [n, width]",
		    e->file, t->name, shp);
	n = t->ndim == 2 ? t->shape[0] : 1;
	w = t->shape[t->ndim - 1];
	if (n < 1 || w < 1)
		return errf(err, errlen, "%s: tensor %s (%s) holds no vectors",
		    e->file, t->name, shp);
	if (n > CLIP_TI_MAX_VECTORS)
		return errf(err, errlen, "%s: %lld vectors in %s; at most %d "
		    "fit in a prompt's %d-token window", e->file, (long long)n,
		    t->name, CLIP_TI_MAX_VECTORS, CLIP_WINDOW);
	if (w > TI_MAX_WIDTH)
		return errf(err, errlen, "%s: tensor %s is %s: vectors %lld "
		    "wide are no text encoder's", e->file, t->name, shp,
		    (long long)w);
	if (e->n != 0 && e->n != n)
		return errf(err, errlen, "%s: clip_l and clip_g hold %d and "
		    "%lld vectors; an SDXL embedding has as many of each",
		    e->file, e->n, (long long)n);
	e->vec[k] = malloc((size_t)n * (size_t)w * sizeof(float));
	if (e->vec[k] == NULL)
		return errf(err, errlen, "%s: out of memory", e->file);
	if (st_to_f32(t, e->vec[k], (size_t)n * (size_t)w, err, errlen) != 0)
		return -1;
	e->n = (int)n;
	e->width[k] = (int)w;
	return 0;
}

/* The embedding in f (file names it in messages). */
static int
parse(const struct st_file *f, const char *file, const char *name,
    struct ti_embedding **out, char *err, size_t errlen)
{
	const struct st_tensor *l = st_find(f, "clip_l");
	const struct st_tensor *g = st_find(f, "clip_g");
	struct ti_embedding *e;
	size_t count = st_count(f);

	*out = NULL;
	/* Checked before allocating: the common refusals need no memory. */
	if ((l == NULL) != (g == NULL) && count != 1)
		return errf(err, errlen, "%s has %s but no %s: an SDXL "
		    "embedding needs both", file, l != NULL ? "clip_l" :
		    "clip_g", l != NULL ? "clip_g" : "clip_l");
	if ((l == NULL || g == NULL) && count != 1)
		return errf(err, errlen, "%s is not a textual-inversion "
		    "embedding: it has %zu tensors (one, such as emb_params, "
		    "or clip_l and clip_g)", file, count);
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return errf(err, errlen, "%s: out of memory", file);
	e->file = strdup(file);
	e->name = name != NULL ? strdup(name) : stem_of(file);
	if (e->file == NULL || e->name == NULL) {
		errf(err, errlen, "%s: out of memory", file);
		goto bad;
	}
	if (l != NULL && g != NULL) {
		e->sdxl = 1;
		if (take(e, TI_CLIP_L, l, err, errlen) != 0 ||
		    take(e, TI_CLIP_G, g, err, errlen) != 0)
			goto bad;
	} else {
		e->tensor = strdup(st_get(f, 0)->name);
		if (e->tensor == NULL) {
			errf(err, errlen, "%s: out of memory", file);
			goto bad;
		}
		if (take(e, TI_VECTORS, st_get(f, 0), err, errlen) != 0)
			goto bad;
	}
	*out = e;
	return 0;
bad:
	ti_free(e);
	return -1;
}

int
ti_load_mem(const void *buf, size_t len, const char *file, const char *name,
    struct ti_embedding **out, char *err, size_t errlen)
{
	struct st_file *f;
	int rc;

	*out = NULL;
	f = st_open_mem(buf, len, file, err, errlen);
	if (f == NULL)
		return -1;
	rc = parse(f, file, name, out, err, errlen);
	st_close(f);
	return rc;
}

int
ti_load(const char *path, const char *name, struct ti_embedding **out,
    char *err, size_t errlen)
{
	const char *base = strrchr(path, '/'), *ext;
	struct stat st;
	void *map = NULL;
	size_t len = 0;
	int fd, rc;

	*out = NULL;
	base = base != NULL ? base + 1 : path;
	ext = extension(base);
	if (is_pickle_ext(ext))
		return errf(err, errlen, "%s is a PyTorch pickle: kiln never "
		    "loads pickles (they can run code); use the embedding's "
		    ".safetensors form", base);
	if (strcasecmp(ext, ".safetensors") != 0)
		return errf(err, errlen, "%s is not a .safetensors file: "
		    "embeddings are read from NAME.safetensors", base);
	/* Mapped here rather than by st_open, so that messages name the
	 * file and not the folder it lies in (a job's error is shown to
	 * its owner). */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errf(err, errlen, "%s: %s", base, strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = errno;
		close(fd);
		return errf(err, errlen, "%s: %s", base, strerror(rc));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return errf(err, errlen, "%s: not a regular file", base);
	}
	len = (size_t)st.st_size;
	if (len > 0) {
		map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			rc = errno;
			close(fd);
			return errf(err, errlen, "%s: %s", base, strerror(rc));
		}
	}
	close(fd);
	rc = ti_load_mem(map != NULL ? map : "", len, base, name, out, err,
	    errlen);
	if (map != NULL)
		munmap(map, len);
	return rc;
}

/* --- the folder cache ------------------------------------------------- */

struct ti_entry {
	char *name, *path;
	int safetensors;	/* else a pickle, refused on loading */
	off_t size;
	struct timespec mtime;
	struct ti_embedding *e;	/* NULL until asked for */
};

struct ti_dir {
	struct ti_entry *v;
	int n;
};

struct ti_dir *
ti_dir_new(void)
{
	return calloc(1, sizeof(struct ti_dir));
}

static void
entries_free(struct ti_entry *v, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].path);
		ti_free(v[i].e);
	}
	free(v);
}

void
ti_dir_free(struct ti_dir *d)
{
	if (d == NULL)
		return;
	entries_free(d->v, d->n);
	free(d);
}

static int
by_name(const void *a, const void *b)
{
	const struct ti_entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	/* The .safetensors file first among those of one name. */
	return c != 0 ? c : y->safetensors - x->safetensors;
}

int
ti_dir_scan(struct ti_dir *d, const char *dir, char *err, size_t errlen)
{
	struct ti_entry *v = NULL, *t;
	struct dirent *de;
	size_t cap = 0;
	DIR *dh;
	int n = 0, i, j, k;

	dh = opendir(dir);
	if (dh == NULL && errno == ENOENT) {
		entries_free(d->v, d->n);
		d->v = NULL;
		d->n = 0;
		return 0;
	}
	if (dh == NULL)
		return errf(err, errlen, "embeddings folder %s: %s", dir,
		    strerror(errno));
	while ((de = readdir(dh)) != NULL) {
		const char *ext = extension(de->d_name);
		struct ti_entry x;
		struct stat st;
		int ist = !strcasecmp(ext, ".safetensors");

		if (de->d_name[0] == '.' || (!ist && !is_pickle_ext(ext)))
			continue;
		memset(&x, 0, sizeof(x));
		x.safetensors = ist;
		x.path = xasprintf("%s/%s", dir, de->d_name);
		if (x.path == NULL)
			goto oom;
		if (stat(x.path, &st) != 0 || !S_ISREG(st.st_mode)) {
			free(x.path);
			continue;
		}
		x.size = st.st_size;
		x.mtime = st.st_mtim;
		x.name = stem_of(de->d_name);
		if (x.name == NULL) {
			free(x.path);
			goto oom;
		}
		if ((size_t)n == cap) {
			cap = cap ? cap * 2 : 16;
			t = realloc(v, cap * sizeof(*v));
			if (t == NULL) {
				free(x.path);
				free(x.name);
				goto oom;
			}
			v = t;
		}
		v[n++] = x;
	}
	closedir(dh);
	dh = NULL;
	if (n > 0)
		qsort(v, (size_t)n, sizeof(*v), by_name);
	/* One entry a name: the .safetensors one sorts first. */
	for (i = j = 0; i < n; i++) {
		if (j > 0 && !strcmp(v[j - 1].name, v[i].name)) {
			free(v[i].name);
			free(v[i].path);
			continue;
		}
		v[j++] = v[i];
	}
	n = j;
	/* Prompts index their embeddings in 16 bits (prompt.h). */
	if (n > CLIP_TI_MAX_NAMES) {
		entries_free(v, n);
		return errf(err, errlen, "embeddings folder %s: %d embeddings, "
		    "more than the %d kiln takes", dir, n, CLIP_TI_MAX_NAMES);
	}
	/* What an unchanged file gave is kept. */
	for (i = 0; i < n; i++)
		for (k = 0; k < d->n; k++) {
			struct ti_entry *o = &d->v[k];

			if (o->e != NULL && !strcmp(o->path, v[i].path) &&
			    o->size == v[i].size &&
			    o->mtime.tv_sec == v[i].mtime.tv_sec &&
			    o->mtime.tv_nsec == v[i].mtime.tv_nsec) {
				v[i].e = o->e;
				o->e = NULL;
				break;
			}
		}
	entries_free(d->v, d->n);
	d->v = v;
	d->n = n;
	return n;
oom:
	if (dh != NULL)
		closedir(dh);
	entries_free(v, n);
	return errf(err, errlen, "embeddings folder %s: out of memory", dir);
}

int
ti_dir_count(const struct ti_dir *d)
{
	return d->n;
}

const char *
ti_dir_name(const struct ti_dir *d, int i)
{
	return i >= 0 && i < d->n ? d->v[i].name : NULL;
}

const char *
ti_dir_path(const struct ti_dir *d, int i)
{
	return i >= 0 && i < d->n ? d->v[i].path : NULL;
}

const struct ti_embedding *
ti_dir_get(struct ti_dir *d, int i, char *err, size_t errlen)
{
	if (i < 0 || i >= d->n) {
		errf(err, errlen, "embedding %d: no such entry", i);
		return NULL;
	}
	if (d->v[i].e == NULL && ti_load(d->v[i].path, d->v[i].name,
	    &d->v[i].e, err, errlen) != 0)
		return NULL;
	return d->v[i].e;
}
