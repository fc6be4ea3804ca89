/* metrics.c - per-program request counters in a shared mapped file, and
 * their Prometheus rendering. */
#include "metrics.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MET_MAGIC "KILNMET1"
#define MET_ROUTES_MAX 256
#define MET_STATUS_MIN 100
#define MET_NSTATUS 500		/* 100 ... 599 */
#define MET_NBUCKETS (METRICS_NBOUNDS + 1)

const double metrics_http_bounds[METRICS_NBOUNDS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5,
};

struct met_route {
	char method[8];
	char pattern[120];
};

/* The file. Written once under flock by whichever process makes it, then
 * only ever added to with atomic adds. */
struct met_file {
	char magic[8];
	uint32_t nroutes;		/* the table's, plus the no-route slot */
	uint32_t ready;
	char program[32];
	struct met_route routes[MET_ROUTES_MAX];
	uint64_t count[MET_ROUTES_MAX][MET_NSTATUS];
	uint64_t bucket[MET_ROUTES_MAX][MET_NBUCKETS];
	uint64_t sum_us[MET_ROUTES_MAX];
};

struct metrics {
	struct met_file *f;
	size_t nroutes;
};

static const char *const method_names[] = { "GET", "HEAD", "POST", "PUT",
	"PATCH", "DELETE", "OPTIONS", "OTHER" };

int
metrics_dir(const char *configured, const char *artifacts, char *out,
	size_t n)
{
	if (configured != NULL && *configured != '\0')
		return snprintf_checked(out, n, "%s", configured);
	return snprintf_checked(out, n, "%s/.metrics", artifacts);
}

/* FNV-1a over the route table: a file belongs to one table, so a new
 * build with other routes starts its own file. */
static uint64_t
table_hash(const char *program, const struct route *routes, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	const char *s;
	size_t i;

	for (s = program; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	for (i = 0; i < n; i++) {
		h = (h ^ (unsigned)routes[i].method) * 1099511628211ULL;
		for (s = routes[i].pattern; *s != '\0'; s++)
			h = (h ^ (unsigned char)*s) * 1099511628211ULL;
		h = (h ^ '\n') * 1099511628211ULL;
	}
	return h;
}

static void
fill_header(struct met_file *f, const char *program,
	const struct route *routes, size_t n)
{
	size_t i;

	memset(f->magic, 0, sizeof(f->magic) + sizeof(f->nroutes) +
		sizeof(f->ready) + sizeof(f->program) + sizeof(f->routes));
	memcpy(f->magic, MET_MAGIC, 8);
	f->nroutes = (uint32_t)(n + 1);
	snprintf(f->program, sizeof(f->program), "%s", program);
	for (i = 0; i < n; i++) {
		snprintf(f->routes[i].method, sizeof(f->routes[i].method), "%s",
			method_names[routes[i].method]);
		snprintf(f->routes[i].pattern, sizeof(f->routes[i].pattern),
			"%s", routes[i].pattern);
	}
	snprintf(f->routes[n].method, sizeof(f->routes[n].method), "-");
	snprintf(f->routes[n].pattern, sizeof(f->routes[n].pattern),
		"(no route)");
}

struct metrics *
metrics_open(const char *dir, const char *program,
	const struct route *routes, size_t n)
{
	char path[4096], name[32];
	struct metrics *m = NULL;
	struct met_file *f = MAP_FAILED;
	struct stat st;
	const char *dot;
	int fd;

	if (n + 1 > MET_ROUTES_MAX) {
		log_error("metrics: %zu routes, more than %d", n,
			MET_ROUTES_MAX - 1);
		return NULL;
	}
	/* "portal.fcgi" counts as "portal". */
	dot = strchr(program, '.');
	snprintf(name, sizeof(name), "%.*s", dot ? (int)(dot - program) :
		(int)strlen(program), program);
	if (mkdir_p(dir) != 0 || snprintf_checked(path, sizeof(path),
	    "%s/%s-%016llx.metrics", dir, name,
	    (unsigned long long)table_hash(name, routes, n)) != 0) {
		log_warn("metrics: cannot use %s: %s", dir, strerror(errno));
		return NULL;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0664);
	if (fd < 0) {
		log_warn("metrics: %s: %s", path, strerror(errno));
		return NULL;
	}
	/* The first process to come sizes the file and writes the header;
	 * the others wait on the lock, then find it ready. */
	if (flock(fd, LOCK_EX) != 0 || fstat(fd, &st) != 0)
		goto fail;
	if ((size_t)st.st_size < sizeof(struct met_file) &&
	    ftruncate(fd, sizeof(struct met_file)) != 0)
		goto fail;
	f = mmap(NULL, sizeof(*f), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (f == MAP_FAILED)
		goto fail;
	if (!f->ready) {
		fill_header(f, name, routes, n);
		__atomic_store_n(&f->ready, 1, __ATOMIC_RELEASE);
	} else if (memcmp(f->magic, MET_MAGIC, 8) != 0 ||
	    f->nroutes != n + 1) {
		log_warn("metrics: %s was written by another build", path);
		goto fail;
	}
	flock(fd, LOCK_UN);
	close(fd);
	m = xcalloc(1, sizeof(*m));
	m->f = f;
	m->nroutes = n;
	return m;
fail:
	log_warn("metrics: %s: %s", path, strerror(errno));
	if (f != MAP_FAILED)
		munmap(f, sizeof(*f));
	close(fd);
	return NULL;
}

void
metrics_close(struct metrics *m)
{
	if (m == NULL)
		return;
	munmap(m->f, sizeof(*m->f));
	free(m);
}

void
metrics_record(struct metrics *m, size_t route, int status, double seconds)
{
	size_t b = 0;
	uint64_t us;

	if (m == NULL)
		return;
	if (route > m->nroutes)
		route = m->nroutes;
	if (status < MET_STATUS_MIN || status >= MET_STATUS_MIN + MET_NSTATUS)
		status = 500;
	while (b < METRICS_NBOUNDS && seconds > metrics_http_bounds[b])
		b++;
	us = seconds > 0 ? (uint64_t)(seconds * 1e6 + 0.5) : 0;
	__atomic_add_fetch(&m->f->count[route][status - MET_STATUS_MIN], 1,
		__ATOMIC_RELAXED);
	__atomic_add_fetch(&m->f->bucket[route][b], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&m->f->sum_us[route], us, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------ reading */

/* One route's counters, summed over every file that has it. */
struct series {
	char program[32];
	struct met_route r;
	uint64_t count[MET_NSTATUS];
	uint64_t bucket[MET_NBUCKETS];
	uint64_t sum_us;
};

struct series_set {
	struct series *s;
	size_t n, cap;
};

static struct series *
series_get(struct series_set *set, const char *program,
	const struct met_route *r)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (!strcmp(set->s[i].program, program) &&
		    !strcmp(set->s[i].r.method, r->method) &&
		    !strcmp(set->s[i].r.pattern, r->pattern))
			return &set->s[i];
	if (set->n == set->cap) {
		set->cap = set->cap ? set->cap * 2 : 64;
		set->s = xreallocarray(set->s, set->cap, sizeof(*set->s));
	}
	memset(&set->s[set->n], 0, sizeof(set->s[0]));
	snprintf(set->s[set->n].program, sizeof(set->s[0].program), "%s",
		program);
	set->s[set->n].r = *r;
	/* A name read from a file is ended, whatever the file says. */
	set->s[set->n].r.method[sizeof(r->method) - 1] = '\0';
	set->s[set->n].r.pattern[sizeof(r->pattern) - 1] = '\0';
	set->s[set->n].program[sizeof(set->s[0].program) - 1] = '\0';
	return &set->s[set->n++];
}

/* Adds one file's counters to set; a file that is not a metrics file is
 * skipped. */
static void
add_file(struct series_set *set, const char *path)
{
	const struct met_file *f;
	struct stat st;
	char program[32];
	uint32_t i, k;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size != sizeof(*f)) {
		close(fd);
		return;
	}
	f = mmap(NULL, sizeof(*f), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (f == MAP_FAILED)
		return;
	if (memcmp(f->magic, MET_MAGIC, 8) != 0 ||
	    !__atomic_load_n(&f->ready, __ATOMIC_ACQUIRE) ||
	    f->nroutes == 0 || f->nroutes > MET_ROUTES_MAX)
		goto out;
	memcpy(program, f->program, sizeof(program));
	program[sizeof(program) - 1] = '\0';
	for (i = 0; i < f->nroutes; i++) {
		struct series *s;
		uint64_t total = 0;

		for (k = 0; k < MET_NBUCKETS; k++)
			total += __atomic_load_n(&f->bucket[i][k],
				__ATOMIC_RELAXED);
		if (total == 0)
			continue;	/* never asked for: no series */
		s = series_get(set, program, &f->routes[i]);
		for (k = 0; k < MET_NSTATUS; k++)
			s->count[k] += __atomic_load_n(&f->count[i][k],
				__ATOMIC_RELAXED);
		for (k = 0; k < MET_NBUCKETS; k++)
			s->bucket[k] += __atomic_load_n(&f->bucket[i][k],
				__ATOMIC_RELAXED);
		s->sum_us += __atomic_load_n(&f->sum_us[i], __ATOMIC_RELAXED);
	}
out:
	munmap((void *)f, sizeof(*f));
}

/* Appends s as a label value: backslash, quote and newline escaped. */
static int
label_value(struct buf *out, const char *s)
{
	int rc = 0;

	for (; *s != '\0' && rc == 0; s++) {
		if (*s == '\\' || *s == '"')
			rc = buf_printf(out, "\\%c", *s);
		else if (*s == '\n')
			rc = buf_puts(out, "\\n");
		else
			rc = buf_append(out, s, 1);
	}
	return rc;
}

int
metrics_histogram(struct buf *out, const char *name, const char *labels,
	const double *bounds, size_t nb, const unsigned long long *buckets,
	double sum)
{
	unsigned long long cum = 0;
	const char *sep = *labels != '\0' ? "," : "";
	int rc = 0;
	size_t b;

	for (b = 0; b <= nb && rc == 0; b++) {
		cum += buckets[b];
		if (b < nb)
			rc = buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n",
				name, labels, sep, bounds[b], cum);
		else
			rc = buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} "
				"%llu\n", name, labels, sep, cum);
	}
	if (rc == 0)
		rc = buf_printf(out, "%s_sum%s%s%s %.6f\n%s_count%s%s%s %llu\n",
			name, *labels ? "{" : "", labels, *labels ? "}" : "",
			sum, name, *labels ? "{" : "", labels,
			*labels ? "}" : "", cum);
	return rc;
}

static int
series_labels(struct buf *l, const struct series *s)
{
	buf_reset(l);
	return buf_puts(l, "program=\"") | label_value(l, s->program) |
		buf_puts(l, "\",method=\"") | label_value(l, s->r.method) |
		buf_puts(l, "\",route=\"") | label_value(l, s->r.pattern) |
		buf_puts(l, "\"");
}

static int
cmp_series(const void *a, const void *b)
{
	const struct series *x = a, *y = b;
	int c = strcmp(x->program, y->program);

	if (c == 0)
		c = strcmp(x->r.pattern, y->r.pattern);
	return c != 0 ? c : strcmp(x->r.method, y->r.method);
}

int
metrics_format(const char *dir, struct buf *out)
{
	struct series_set set = { 0 };
	struct buf labels = { 0 };
	struct dirent *e;
	DIR *d = opendir(dir);
	char path[4096];
	size_t i, k;
	int rc = 0;

	while (d != NULL && (e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);

		if (len < 9 || strcmp(e->d_name + len - 8, ".metrics") != 0 ||
		    snprintf_checked(path, sizeof(path), "%s/%s", dir,
		    e->d_name) != 0)
			continue;
		add_file(&set, path);
	}
	if (set.n > 0)
		qsort(set.s, set.n, sizeof(set.s[0]), cmp_series);
	rc |= buf_puts(out, "# HELP kiln_http_requests_total HTTP requests "
		"answered, by program, route and status.\n"
		"# TYPE kiln_http_requests_total counter\n");
	for (i = 0; i < set.n && rc == 0; i++) {
		rc = series_labels(&labels, &set.s[i]);
		for (k = 0; k < MET_NSTATUS && rc == 0; k++)
			if (set.s[i].count[k] != 0)
				rc = buf_printf(out, "kiln_http_requests_total"
					"{%s,status=\"%zu\"} %llu\n",
					labels.data, k + MET_STATUS_MIN,
					(unsigned long long)set.s[i].count[k]);
	}
	rc |= buf_puts(out, "# HELP kiln_http_request_duration_seconds Time "
		"from the request reaching the program to its answer written."
		"\n# TYPE kiln_http_request_duration_seconds histogram\n");
	for (i = 0; i < set.n && rc == 0; i++) {
		unsigned long long b[MET_NBUCKETS];

		for (k = 0; k < MET_NBUCKETS; k++)
			b[k] = set.s[i].bucket[k];
		rc = series_labels(&labels, &set.s[i]) |
			metrics_histogram(out,
			"kiln_http_request_duration_seconds", labels.data,
			metrics_http_bounds, METRICS_NBOUNDS, b,
			(double)set.s[i].sum_us / 1e6);
	}
	if (d != NULL)
		closedir(d);
	free(set.s);
	buf_free(&labels);
	return rc != 0 ? -1 : 0;
}
