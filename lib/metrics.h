/* metrics.h - request counters shared by every process of a web program:
 * one memory-mapped file per program (and route table) under the metrics
 * directory, updated with atomic adds, read back by /metrics in the
 * Prometheus text format. Counters survive restarts; nothing is locked on
 * the request path. */
#ifndef KILN_METRICS_H
#define KILN_METRICS_H

#include <stddef.h>

#include "request.h"
#include "util.h"

/* Upper bounds (seconds) of the request-duration buckets. */
#define METRICS_NBOUNDS 11
extern const double metrics_http_bounds[METRICS_NBOUNDS];

struct metrics;

/* Maps (creating it when missing) the counters file of program, whose
 * routes are routes[0..n-1]; requests matching no route count under one
 * more slot. Returns NULL when the directory or file cannot be used (the
 * reason is logged); metrics_record then does nothing. */
struct metrics *metrics_open(const char *dir, const char *program,
	const struct route *routes, size_t n);

void metrics_close(struct metrics *m);

/* Counts one answered request: route is its index in the table, or n for
 * none; status its HTTP status; seconds its time in the program. Accepts
 * m == NULL. */
void metrics_record(struct metrics *m, size_t route, int status,
	double seconds);

/* Appends every program's counters found in dir, summed over the files,
 * as Prometheus text (requests by route and status, duration histogram by
 * route). Returns 0, or -1 when memory runs out. */
int metrics_format(const char *dir, struct buf *out);

/* Appends one histogram in the Prometheus text format: bucket counts
 * (non-cumulative, nb bounds plus +Inf), the count and sum. labels is
 * "" or `key="value",...` without braces. Returns 0 or -1. */
int metrics_histogram(struct buf *out, const char *name,
	const char *labels, const double *bounds, size_t nb,
	const unsigned long long *buckets, double sum);

/* The directory metrics files go in: [metrics] dir, or ARTIFACTS/.metrics
 * when that is empty. Returns 0 or -1 (too long). */
int metrics_dir(const char *configured, const char *artifacts, char *out,
	size_t n);

#endif
