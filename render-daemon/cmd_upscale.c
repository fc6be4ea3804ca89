/* cmd_upscale.c - kiln-render upscale: an image made larger by an
 * upscaler model (RRDBNet, SRVGGNet) and Lanczos, or by Lanczos alone;
 * and, for tests, one model run over raw float32 files. */
#include "commands.h"
#include "image.h"
#include "resample.h"
#include "runtime.h"
#include "upscaler.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct up_args {
	const char *in, *out, *model, *device, *raw_in, *raw_out;
	int64_t shape[4];
	double scale, budget_mb;
	long tile, overlap;
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: kiln-render upscale --in IMG --scale S "
		"[--upscaler FILE] [--budget MB] [--tile N [--overlap N]] "
		"[--device SEL] -o OUT.png\n"
		"       kiln-render upscale --upscaler FILE --in-raw "
		"NxCxHxW=FILE --out-raw FILE [--budget MB | --tile N "
		"[--overlap N]] [--device SEL]\n"
		"Without --upscaler the image is resized with Lanczos alone; "
		"with one, the model runs\nwhile the image is smaller than "
		"asked, then Lanczos gives the exact size. --in-raw\nruns the "
		"model once on float32 RGB in [0, 1] and writes its raw "
		"output.\n");
}

static int
parse_num(const char *s, double lo, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < lo)
		return -1;
	*out = v;
	return 0;
}

static int
parse_args(int argc, char **argv, struct up_args *a)
{
	int i;
	double v;

	memset(a, 0, sizeof(*a));
	for (i = 0; i + 1 < argc; i += 2) {
		const char *k = argv[i], *val = argv[i + 1];

		if (!strcmp(k, "--in"))
			a->in = val;
		else if (!strcmp(k, "-o") || !strcmp(k, "--out"))
			a->out = val;
		else if (!strcmp(k, "--upscaler"))
			a->model = val;
		else if (!strcmp(k, "--device"))
			a->device = val;
		else if (!strcmp(k, "--out-raw"))
			a->raw_out = val;
		else if (!strcmp(k, "--in-raw")) {
			if (cli_shape4_file(val, 1 << 16, a->shape, &a->raw_in))
				return -1;
		} else if (!strcmp(k, "--scale")) {
			if (parse_num(val, 1e-3, &a->scale) || a->scale > 64)
				return -1;
		} else if (!strcmp(k, "--budget")) {
			if (parse_num(val, 1e-6, &a->budget_mb))
				return -1;
		} else if (!strcmp(k, "--tile")) {
			if (parse_num(val, 2, &v) || v > 1 << 16)
				return -1;
			a->tile = (long)v;
		} else if (!strcmp(k, "--overlap")) {
			if (parse_num(val, 1, &v) || v > 1 << 16)
				return -1;
			a->overlap = (long)v;
		} else
			return -1;
	}
	if (i != argc || (a->tile > 0 && a->budget_mb > 0))
		return -1;
	if (a->raw_in != NULL)
		return a->raw_out != NULL && a->model != NULL &&
			a->in == NULL && a->out == NULL ? 0 : -1;
	return a->in != NULL && a->out != NULL && a->scale > 0 &&
		a->raw_out == NULL ? 0 : -1;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t
budget_bytes(const struct up_args *a)
{
	return (size_t)(a->budget_mb * 1048576.0);
}

/* --in-raw: one model run, the raw output written as float32. */
static int
run_raw(const struct up_args *a, struct upscaler *u, struct kiln_rt *rt)
{
	size_t n = (size_t)(a->shape[0] * a->shape[1] * a->shape[2] *
		a->shape[3]);
	float *host = malloc(n * sizeof(float)), *res = NULL;
	struct ktensor *x = NULL, *y = NULL;
	FILE *f = NULL;
	double t0, t1;
	int rc = 1;

	f = fopen(a->raw_in, "rb");
	if (host == NULL || f == NULL || fread(host, sizeof(float), n, f) !=
	    n || fgetc(f) != EOF) {
		fprintf(stderr, "kiln-render upscale: %s: cannot read %zu "
			"float32 values\n", a->raw_in, n);
		goto out;
	}
	fclose(f);
	f = NULL;
	x = kt_new4(rt, KD_F32, a->shape[0], a->shape[1], a->shape[2],
		a->shape[3]);
	t0 = now();
	if (x == NULL || kt_upload(x, host) != 0 || (a->tile > 0 ?
	    upscaler_run_tiled(u, x, (int)a->tile, a->overlap > 0 ?
	    (int)a->overlap : upscaler_overlap(upscaler_config(u),
	    (int)a->tile), &y) : upscaler_run(u, x,
	    budget_bytes(a), &y)) != 0 || rt_finish(rt) != 0) {
		fprintf(stderr, "kiln-render upscale: %s\n", rt_error(rt));
		goto out;
	}
	t1 = now();
	res = malloc(kt_bytes(y));
	if (res == NULL || kt_download(y, res) != 0) {
		fprintf(stderr, "kiln-render upscale: %s\n", res ?
			rt_error(rt) : "out of memory");
		goto out;
	}
	f = fopen(a->raw_out, "wb");
	if (f == NULL || fwrite(res, 1, kt_bytes(y), f) != kt_bytes(y) ||
	    fclose(f) != 0) {
		f = NULL;
		fprintf(stderr, "kiln-render upscale: %s: write failed\n",
			a->raw_out);
		goto out;
	}
	f = NULL;
	printf("{\"shape\":[%lld,%lld,%lld,%lld],\"seconds\":%.3f,"
		"\"peak_bytes\":%zu,\"peak_live_bytes\":%zu}\n",
		(long long)y->ne[0], (long long)y->ne[1],
		(long long)y->ne[2], (long long)y->ne[3], t1 - t0,
		rt->peak_held, rt->peak_live);
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	kt_free(x);
	kt_free(y);
	free(host);
	free(res);
	return rc;
}

int
cmd_upscale(int argc, char **argv)
{
	struct up_args a;
	struct kiln_rt *rt = NULL;
	struct upscaler *u = NULL;
	uint8_t *rgb = NULL, *big = NULL;
	char err[1024];
	int w, h, dw, dh, rc = 1;
	double t0;

	if (parse_args(argc, argv, &a) != 0) {
		usage(stderr);
		return 2;
	}
	if (a.model != NULL && (cli_rt_open(&rt, a.device, err,
	    sizeof(err)) != 0 || upscaler_load(rt, a.model, &u, err,
	    sizeof(err)) != 0)) {
		fprintf(stderr, "kiln-render upscale: %s\n", err);
		goto out;
	}
	if (a.raw_in != NULL) {
		rc = run_raw(&a, u, rt);
		goto out;
	}
	if (image_load_rgb(a.in, &w, &h, &rgb, err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render upscale: %s\n", err);
		goto out;
	}
	/* The target as A1111 computes it, int(w * scale), less its
	 * rounding to multiples of 8 (a latent's need, not an image's). */
	dw = (int)(w * a.scale);
	dh = (int)(h * a.scale);
	if (dw < 1 || dh < 1 || (double)dw * dh > 16384.0 * 16384.0) {
		fprintf(stderr, "kiln-render upscale: %dx%d times %g gives "
			"%dx%d: out of range\n", w, h, a.scale, dw, dh);
		goto out;
	}
	t0 = now();
	if (upscaler_upscale_rgb(u, rgb, w, h, dw, dh, budget_bytes(&a),
	    (int)a.tile, (int)a.overlap, &big, err, sizeof(err)) != 0 ||
	    image_write_png(a.out, dw, dh, big, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render upscale: %s\n", err);
		goto out;
	}
	if (u != NULL) {
		const struct up_config *c = upscaler_config(u);

		printf("{\"width\":%d,\"height\":%d,\"upscaler\":\"%s\","
			"\"native_scale\":%d,\"seconds\":%.3f,"
			"\"peak_bytes\":%zu}\n", dw, dh,
			upscaler_arch_name(c->arch), c->scale, now() - t0,
			rt->peak_held);
	} else {
		printf("{\"width\":%d,\"height\":%d,\"upscaler\":\"Lanczos\","
			"\"seconds\":%.3f}\n", dw, dh, now() - t0);
	}
	rc = 0;
out:
	free(rgb);
	free(big);
	upscaler_free(u);
	rt_free(rt);
	return rc;
}
