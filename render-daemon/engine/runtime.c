/* runtime.c - the backend-neutral runtime: opening a device through
 * its backend (backend.h), the device memory pool and its accounting,
 * error messages, profiling. */
#include "runtime.h"
#include "backend.h"

#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A released buffer waiting for reuse. */
struct rt_buf {
	void *mem;
	size_t cap;
	struct rt_buf *next;
};

const char *
rt_error(const struct kiln_rt *rt)
{
	return rt->err;
}

int
rt_failf(struct kiln_rt *rt, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rt->err, sizeof(rt->err), fmt, ap);
	va_end(ap);
	return -1;
}

void
engine_opts_init(struct engine_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->attention = RT_ATTN_AUTO;
	o->tuning = 1;
}

int
rt_gemm_check(const struct rt_gemm *g, char *err, size_t errlen)
{
	if (g->mr > 16)
		snprintf(err, errlen, "gemm mr %u: 1-16 rows", g->mr);
	else if (g->vw != 0 && g->vw != 2 && g->vw != 4 && g->vw != 8 &&
	    g->vw != 16)
		snprintf(err, errlen, "gemm vw %u: a vector width of 2, 4, 8 "
			"or 16", g->vw);
	else if (g->nv > 4)
		snprintf(err, errlen, "gemm nv %u: 1-4 vectors", g->nv);
	else if ((g->mr ? g->mr : 1) * (g->nv ? g->nv : 1) > 32)
		snprintf(err, errlen, "gemm mr %u x nv %u: more than 32 "
			"accumulators", g->mr, g->nv);
	else if (g->tile_kb != 0 && (g->tile_kb < 16 || g->tile_kb > 65536))
		snprintf(err, errlen, "gemm tile %u: 16-65536 KiB",
			g->tile_kb);
	else if (g->kslice != 0 && (g->kslice < 64 || g->kslice > 65536))
		snprintf(err, errlen, "gemm kslice %u: 64-65536", g->kslice);
	else
		return 0;
	return -1;
}

int
rt_gemm_parse(const char *s, struct rt_gemm *g, char *err, size_t errlen)
{
	struct rt_gemm t = *g;
	const char *p = s;

	while (*p != '\0') {
		static const struct {
			const char *name;
			size_t off;
		} keys[] = {
			{ "mr", offsetof(struct rt_gemm, mr) },
			{ "vw", offsetof(struct rt_gemm, vw) },
			{ "nv", offsetof(struct rt_gemm, nv) },
			{ "tile", offsetof(struct rt_gemm, tile_kb) },
			{ "kslice", offsetof(struct rt_gemm, kslice) },
		};
		size_t len = strcspn(p, "="), i;
		unsigned long v;
		char *end;

		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strlen(keys[i].name) == len &&
			    !strncmp(p, keys[i].name, len))
				break;
		if (i == sizeof(keys) / sizeof(keys[0]) || p[len] != '=') {
			snprintf(err, errlen, "gemm parameters \"%s\": expected "
				"mr=, vw=, nv=, tile= or kslice= at \"%.20s\"",
				s, p);
			return -1;
		}
		p += len + 1;
		v = strtoul(p, &end, 10);
		if (end == p || v == 0 || v > 65536 ||
		    (*end != ',' && *end != '\0')) {
			snprintf(err, errlen, "gemm parameters \"%s\": %s "
				"wants a number from 1 to 65536", s,
				keys[i].name);
			return -1;
		}
		*(uint32_t *)((char *)&t + keys[i].off) = (uint32_t)v;
		p = *end == ',' ? end + 1 : end;
	}
	if (rt_gemm_check(&t, err, errlen) != 0)
		return -1;
	*g = t;
	return 0;
}

void
rt_gemm_format(const struct rt_gemm *g, char *out, size_t n)
{
	snprintf(out, n, "mr=%u,vw=%u,nv=%u,tile=%u,kslice=%u", g->mr, g->vw,
		g->nv, g->tile_kb, g->kslice);
}

int
rt_open(struct kiln_rt **out, const char *selector,
	const struct engine_opts *opts, char *err, size_t errlen)
{
	struct kiln_rt *rt;

	*out = NULL;
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium failed to initialise");
		return -1;
	}
	rt = calloc(1, sizeof(*rt));
	if (rt == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (opts != NULL)
		rt->opts = *opts;
	else
		engine_opts_init(&rt->opts);
	rt->attn_mode = rt->opts.attention;
	rt->profile = rt->opts.profile;
	/* The one backend there is; a second would be chosen here (by
	 * opts or selector). */
	rt->be = &kiln_backend_cl;
	if (rt->be->open(rt, selector, err, errlen) != 0) {
		rt_free(rt);
		return -1;
	}
	*out = rt;
	return 0;
}

void
rt_trim(struct kiln_rt *rt)
{
	while (rt->pool != NULL) {
		struct rt_buf *b = rt->pool;

		rt->pool = b->next;
		rt->bytes_held -= b->cap;
		rt->be->buf_free(rt, b->mem);
		free(b);
	}
}

void
rt_free(struct kiln_rt *rt)
{
	if (rt == NULL)
		return;
	/* Nothing queued may still use a buffer freed here. */
	if (rt->dev != NULL && rt->pool != NULL)
		(void)rt->be->finish(rt);
	rt_trim(rt);
	if (rt->dev != NULL)
		rt->be->close(rt);
	free(rt);
}

int
rt_finish(struct kiln_rt *rt)
{
	return rt->be->finish(rt);
}

int
rt_build_all(struct kiln_rt *rt)
{
	return rt->be->build_all(rt);
}

void *
rt_alloc(struct kiln_rt *rt, size_t n, size_t *cap)
{
	struct rt_buf **pp, **best = NULL;
	void *m;

	if (n == 0)
		n = 4;
	if (rt->fail_alloc > 0 && --rt->fail_alloc == 0) {
		rt_failf(rt, "%s buffer (%zu bytes): failed on purpose "
			"(rt->fail_alloc)", rt->be->name, n);
		return NULL;
	}
	/* Best fit among pooled buffers no more than twice the request, so
	 * a small tensor never pins a huge buffer. */
	for (pp = &rt->pool; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->cap >= n && (*pp)->cap / 2 <= n &&
		    (best == NULL || (*pp)->cap < (*best)->cap))
			best = pp;
	if (best != NULL) {
		struct rt_buf *b = *best;

		*best = b->next;
		m = b->mem;
		*cap = b->cap;
		free(b);
	} else {
		if (n > rt->max_alloc) {
			rt_failf(rt, "%s buffer: %zu bytes exceed the "
				"device's largest allocation (%llu bytes)",
				rt->be->name, n,
				(unsigned long long)rt->max_alloc);
			return NULL;
		}
		m = rt->be->buf_alloc(rt, n);
		if (m == NULL) {
			/* Give pooled memory back and try once more. */
			rt_trim(rt);
			m = rt->be->buf_alloc(rt, n);
		}
		if (m == NULL)
			return NULL;
		*cap = n;
		rt->bytes_held += n;
		if (rt->bytes_held > rt->peak_held)
			rt->peak_held = rt->bytes_held;
	}
	rt->bytes_live += *cap;
	if (rt->bytes_live > rt->peak_live)
		rt->peak_live = rt->bytes_live;
	return m;
}

void
rt_release(struct kiln_rt *rt, void *buf, size_t cap)
{
	struct rt_buf *b;

	if (buf == NULL)
		return;
	rt->bytes_live -= cap;
	b = malloc(sizeof(*b));
	if (b == NULL) {
		rt->be->buf_free(rt, buf);
		rt->bytes_held -= cap;
		return;
	}
	b->mem = buf;
	b->cap = cap;
	b->next = rt->pool;
	rt->pool = b;
}

double
rt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
rt_prof_add(struct kiln_rt *rt, const char *name, double seconds,
	double flops)
{
	size_t i;

	for (i = 0; i < rt->nprof; i++)
		if (!strcmp(rt->prof[i].name, name))
			break;
	if (i == rt->nprof) {
		if (rt->nprof == sizeof(rt->prof) / sizeof(rt->prof[0]))
			return;
		rt->prof[i].name = name;
		rt->nprof++;
	}
	rt->prof[i].seconds += seconds;
	rt->prof[i].flops += flops;
	rt->prof[i].calls++;
}

void
rt_prof_report(const struct kiln_rt *rt, FILE *f)
{
	size_t order[64], i, j, n = rt->nprof;
	double total = 0;

	for (i = 0; i < n; i++) {
		order[i] = i;
		total += rt->prof[i].seconds;
	}
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && rt->prof[order[j]].seconds >
		    rt->prof[order[j - 1]].seconds; j--) {
			size_t t = order[j];

			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	fprintf(f, "%-20s %8s %10s %6s %10s\n", "op", "calls", "seconds", "%",
		"GFLOP/s");
	for (i = 0; i < n; i++) {
		const struct rt_prof *p = &rt->prof[order[i]];

		fprintf(f, "%-20s %8lu %10.3f %5.1f%% ", p->name, p->calls,
			p->seconds, total > 0 ? 100 * p->seconds / total : 0);
		if (p->flops > 0 && p->seconds > 0)
			fprintf(f, "%10.1f\n", p->flops / p->seconds / 1e9);
		else
			fprintf(f, "%10s\n", "-");
	}
	fprintf(f, "%-20s %8s %10.3f\n", "total", "", total);
}

void
rt_prof_reset(struct kiln_rt *rt)
{
	rt->nprof = 0;
}

