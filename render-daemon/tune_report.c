/* tune_report.c - what kiln-render tune reads and writes: the previous
 * tuning file as a starting point, the table of results, and the new
 * tuning file with a summary of the run. */
#include "commands.h"
#include "ops.h"
#include "tune.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* v from k's parameters; 0 when k lacks one of the space's. */
static int
from_kernel(const struct space *sp, const struct tuning_kernel *k,
	size_t *v)
{
	size_t i;

	for (i = 0; i < sp->n; i++) {
		v[i] = tuning_get(k, sp->p[i].name, SIZE_MAX);
		if (v[i] == SIZE_MAX)
			return 0;
	}
	return 1;
}

/* Reads the device's current tuning file, when it is for this device
 * and driver, into tu's prev_* sets. The parent holds no OpenCL state
 * (children fork from it), so a runtime struct only carries the device
 * name and catches the error message. */
void
tune_load_previous(struct tuner *tu, const struct result *base)
{
	struct kiln_rt *sink = calloc(1, sizeof(*sink));
	struct tuning *t = calloc(1, sizeof(*t));
	char path[PATH_MAX + 300];
	size_t i;
	int r;

	if (tu->prev_loaded)
		goto out;
	tu->prev_loaded = 1;
	if (sink == NULL || t == NULL)
		goto out;
	/* The directory comes from the environment, as the children's. */
	{
		char err[256];

		if (cli_engine_opts(&sink->opts, err, sizeof(err)) != 0)
			goto out;
	}
	snprintf(sink->device_name, sizeof(sink->device_name), "%s",
		base->device);
	if (tuning_path(sink, path, sizeof(path)) != 0)
		goto out;
	r = tuning_load(sink, path, t);
	if (r < 0) {
		printf("ignoring the previous tuning file: %s\n",
			rt_error(sink));
		goto out;
	}
	if (r > 0 || strcmp(t->device, base->device) != 0 ||
	    strcmp(t->driver, base->driver) != 0)
		goto out;
	/* What a run tuning only one of the two keeps of the other. */
	tu->prev = *t;
	tu->have_prev = 1;
	for (i = 0; i < t->nkernels; i++) {
		const struct tuning_kernel *k = &t->kernel[i];

		if (k->precision != 32)
			continue;
		if (!strcmp(k->name, tune_xgemm.kernel))
			tu->have_prev_x = from_kernel(&tune_xgemm, k,
				tu->prev_x);
		else if (!strcmp(k->name, tune_direct.kernel))
			tu->have_prev_d = from_kernel(&tune_direct, k,
				tu->prev_d);
	}
	if (tu->have_prev_x || tu->have_prev_d || t->have_gemm)
		printf("starting from %s\n", path);
out:
	free(t);
	free(sink);
}

/* Which path CLBlast takes for shape s under threshold thr; with no
 * overrides kept, CLBlast's own choice. */
static const char *
path_of(const struct tuner *tu, size_t s, size_t thr, int kept)
{
	if (!kept)
		return "default";
	return tune_volume(&tu->shapes[s]) <
		(unsigned long long)thr * thr * thr ? "direct" : "indirect";
}

void
tune_print_table(const struct tuner *tu, const double *base_s,
	const double *final_s, size_t thr, int kept)
{
	size_t s;

	printf("\n%-18s %12s %12s %8s  %s\n", "shape", "default", "tuned",
		"speedup", "path");
	for (s = 0; s < tu->nshapes; s++) {
		char sh[64];
		double b = tune_gflops(tu, s, base_s[s]), f = tune_gflops(tu, s,
			final_s[s]);

		printf("%-18s %7.1f GF/s %7.1f GF/s %7.2fx  %s\n",
			tuning_shape_str(&tu->shapes[s], sh, sizeof(sh)), b, f,
			b > 0 ? f / b : 0, path_of(tu, s, thr, kept));
	}
}

/* One decimal: these are for people to read. */
static struct json_object *
num1(double v)
{
	char text[64];

	snprintf(text, sizeof(text), "%.1f", v);
	return json_object_new_double_s(v, text);
}

struct json_object *
tune_info(const struct tuner *tu, const double *base_s,
	const double *final_s, size_t thr, int kept)
{
	struct json_object *info = json_object_new_object(), *arr;
	char when[64], sh[64];
	time_t now = time(NULL);
	struct tm tmv;
	size_t s;

	if (info == NULL)
		return NULL;
	gmtime_r(&now, &tmv);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tmv);
	json_object_object_add(info, "at", json_object_new_string(when));
	json_object_object_add(info, "budget_s", num1(tu->budget));
	json_object_object_add(info, "elapsed_s", num1(tune_elapsed(tu)));
	json_object_object_add(info, "candidates",
		json_object_new_int(tu->candidates));
	json_object_object_add(info, "gflops_default",
		num1(tune_score(tu, base_s)));
	json_object_object_add(info, "gflops_tuned",
		num1(tune_score(tu, final_s)));
	json_object_object_add(info, "overrides_kept",
		json_object_new_boolean(kept));
	arr = json_object_new_array();
	json_object_object_add(info, "shapes", arr);
	for (s = 0; s < tu->nshapes; s++) {
		struct json_object *o = json_object_new_object();

		json_object_array_add(arr, o);
		json_object_object_add(o, "shape", json_object_new_string(
			tuning_shape_str(&tu->shapes[s], sh, sizeof(sh))));
		json_object_object_add(o, "gflops_default",
			num1(tune_gflops(tu, s, base_s[s])));
		json_object_object_add(o, "gflops_tuned",
			num1(tune_gflops(tu, s, final_s[s])));
		json_object_object_add(o, "path",
			json_object_new_string(path_of(tu, s, thr, kept)));
	}
	return info;
}

/* Opens the device in this process (only now: the children are done, so
 * no OpenCL state is ever forked) and writes the file. */
int
tune_save(struct tuner *tu, const struct tuning *set, struct json_object *info)
{
	struct kiln_rt *rt = NULL;
	char err[1024], path[PATH_MAX + 300];
	int rc = -1;

	if (cli_rt_open(&rt, tu->device_sel, err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render tune: %s\n", err);
		return -1;
	}
	if (tuning_save(rt, set, info) != 0) {
		fprintf(stderr, "kiln-render tune: %s\n", rt_error(rt));
		goto out;
	}
	if (tuning_path(rt, path, sizeof(path)) == 0)
		printf("wrote %s\n", path);
	rc = 0;
out:
	rt_free(rt);
	return rc;
}
