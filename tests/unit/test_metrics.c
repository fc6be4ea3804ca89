/* test_metrics.c - request counters shared between processes through the
 * mapped file, and their Prometheus text: counts from two processes add
 * up, buckets are cumulative, routes that were never asked for print
 * nothing, and another route table gets its own file. */
#include "metrics.h"
#include "tap.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int dummy(struct kreq *req) { (void)req; return 0; }

static const struct route routes[] = {
	{ M_GET, "/a", dummy, ACC_PUBLIC, 0, NULL, NULL },
	{ M_POST, "/b/{id}", dummy, ACC_USER, 0, NULL, NULL },
	{ M_GET, "/never", dummy, ACC_PUBLIC, 0, NULL, NULL },
};

/* The value of the sample line that starts with prefix, or -1. */
static double
sample(const char *text, const char *prefix)
{
	const char *p = text;
	size_t n = strlen(prefix);

	while ((p = strstr(p, prefix)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	return -1;
}

static void
two_processes_add_up(void)
{
	char dir[] = "/tmp/kiln-metrics-XXXXXX";
	struct buf out = { 0 };
	struct metrics *m;
	pid_t pid;
	int st = -1, i;

	CHECK(mkdtemp(dir) != NULL);
	pid = fork();
	if (pid == 0) {
		/* The child opens the same file as another process would. */
		m = metrics_open(dir, "portal.fcgi", routes, 3);
		for (i = 0; i < 1000; i++)
			metrics_record(m, 0, 200, 0.002);
		metrics_close(m);
		_exit(m != NULL ? 0 : 1);
	}
	m = metrics_open(dir, "portal.fcgi", routes, 3);
	CHECK(m != NULL);
	for (i = 0; i < 1000; i++)
		metrics_record(m, 0, 200, 0.02);
	metrics_record(m, 1, 404, 7.0);		/* past the last bound */
	metrics_record(m, 3, 404, 0.0001);	/* no route */
	metrics_record(m, 1, 999, 0.1);		/* nonsense: counted as 500 */
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0);
	CHECK(metrics_format(dir, &out) == 0);
	CHECK(out.data != NULL);
	if (out.data == NULL)
		goto out;
	CHECK(sample(out.data, "kiln_http_requests_total{program=\"portal\","
	    "method=\"GET\",route=\"/a\",status=\"200\"}") == 2000);
	CHECK(sample(out.data, "kiln_http_requests_total{program=\"portal\","
	    "method=\"POST\",route=\"/b/{id}\",status=\"404\"}") == 1);
	CHECK(sample(out.data, "kiln_http_requests_total{program=\"portal\","
	    "method=\"POST\",route=\"/b/{id}\",status=\"500\"}") == 1);
	CHECK(sample(out.data, "kiln_http_requests_total{program=\"portal\","
	    "method=\"-\",route=\"(no route)\",status=\"404\"}") == 1);
	CHECK(strstr(out.data, "/never") == NULL);
	/* 0.002 s lands in le=0.0025, 0.02 s in le=0.025; cumulative. */
	CHECK(sample(out.data, "kiln_http_request_duration_seconds_bucket{"
	    "program=\"portal\",method=\"GET\",route=\"/a\",le=\"0.001\"}")
	    == 0);
	CHECK(sample(out.data, "kiln_http_request_duration_seconds_bucket{"
	    "program=\"portal\",method=\"GET\",route=\"/a\",le=\"0.0025\"}")
	    == 1000);
	CHECK(sample(out.data, "kiln_http_request_duration_seconds_bucket{"
	    "program=\"portal\",method=\"GET\",route=\"/a\",le=\"0.025\"}")
	    == 2000);
	CHECK(sample(out.data, "kiln_http_request_duration_seconds_bucket{"
	    "program=\"portal\",method=\"GET\",route=\"/a\",le=\"+Inf\"}")
	    == 2000);
	CHECK(sample(out.data, "kiln_http_request_duration_seconds_count{"
	    "program=\"portal\",method=\"GET\",route=\"/a\"}") == 2000);
	/* 1000 x 2 ms + 1000 x 20 ms = 22 s. */
	CHECK(sample(out.data, "kiln_http_request_duration_seconds_sum{"
	    "program=\"portal\",method=\"GET\",route=\"/a\"}") == 22.0);
	CHECK(sample(out.data, "kiln_http_request_duration_seconds_bucket{"
	    "program=\"portal\",method=\"POST\",route=\"/b/{id}\",le=\"5\"}")
	    == 1);
	CHECK(sample(out.data, "kiln_http_request_duration_seconds_bucket{"
	    "program=\"portal\",method=\"POST\",route=\"/b/{id}\","
	    "le=\"+Inf\"}") == 2);
out:
	metrics_close(m);
	buf_free(&out);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		CHECK(system(cmd) == 0);
	}
}

static void
other_tables_other_files(void)
{
	char dir[] = "/tmp/kiln-metrics-XXXXXX", cmd[128];
	struct buf out = { 0 };
	struct metrics *a, *b;

	CHECK(mkdtemp(dir) != NULL);
	a = metrics_open(dir, "api.fcgi", routes, 3);
	/* A newer build with one route fewer: its own file, both read. */
	b = metrics_open(dir, "api.fcgi", routes, 2);
	CHECK(a != NULL && b != NULL);
	metrics_record(a, 0, 200, 0.01);
	metrics_record(b, 0, 200, 0.01);
	metrics_record(b, 2, 404, 0.01);
	CHECK(metrics_format(dir, &out) == 0 && out.data != NULL);
	if (out.data != NULL) {
		/* The same route in two files: one series, summed. */
		CHECK(sample(out.data, "kiln_http_requests_total{program="
		    "\"api\",method=\"GET\",route=\"/a\",status=\"200\"}")
		    == 2);
		CHECK(sample(out.data, "kiln_http_requests_total{program="
		    "\"api\",method=\"-\",route=\"(no route)\","
		    "status=\"404\"}") == 1);
	}
	metrics_close(a);
	metrics_close(b);
	metrics_record(NULL, 0, 200, 1);	/* disabled: a no-op */
	buf_free(&out);
	/* An unwritable place: NULL, not a crash. */
	CHECK(metrics_open("/proc/kiln-no", "x", routes, 3) == NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

static void
histogram_text(void)
{
	static const double bounds[] = { 1, 10 };
	unsigned long long b[] = { 2, 0, 1 };
	struct buf out = { 0 };

	CHECK(metrics_histogram(&out, "x_seconds", "", bounds, 2, b, 31.5)
	    == 0);
	CHECK_STR(out.data, "x_seconds_bucket{le=\"1\"} 2\n"
	    "x_seconds_bucket{le=\"10\"} 2\n"
	    "x_seconds_bucket{le=\"+Inf\"} 3\n"
	    "x_seconds_sum 31.500000\nx_seconds_count 3\n");
	buf_free(&out);
}

int
main(void)
{
	RUN(two_processes_add_up);
	RUN(other_tables_other_files);
	RUN(histogram_text);
	return tap_done();
}
