/* cmd_bench_attention.c - kiln-render bench-attention: op_attention's
 * GFLOP/s on Stable Diffusion's attention shapes, with the kernel the
 * engine picks or the one named, each result checked against a
 * double-precision computation of sampled output rows. */
#include "commands.h"
#include "ops.h"
#include "tuning.h"
#include "util.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SHAPES 32
#define CHECK_ROWS 24		/* sampled (image, query) rows per shape */
#define CHECK_TOL 1e-4		/* of the sampled rows' largest |value| */

/* SDXL at 1024x1024 (self- and cross-attention of levels 1 and 2), SD 1.5
 * at 512x512 (head widths 40, 80, 160) and CLIP's causal self-attention,
 * each a CFG batch of 2. */
static const char *default_shapes =
	"2x4096x4096x10x64,2x4096x77x10x64,2x1024x1024x20x64,"
	"2x1024x77x20x64,2x4096x4096x8x40,2x4096x77x8x40,2x1024x1024x8x80,"
	"2x256x256x8x160,2x77x77x12x64:causal";

struct attn_shape {
	size_t B, Lq, Lk, H, d;
	int causal;
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: kiln-render bench-attention [--device SEL] "
		"[--shapes BxLqxLkxHxd[:causal],...] [--impl auto|fused|"
		"blocked] [--repeat N] [--json]\n"
		"Times op_attention (q [B, Lq, H*d], k and v [B, Lk, H*d]) "
		"after a warm-up call; reports the best and median of N "
		"calls,\nGFLOP/s counted as 4 B H Lq Lk d (causal shapes "
		"too), the least process CPU time of a call (cpu ms: what a "
		"busy\nmachine's wall times hide), and checks sampled rows "
		"against a double-precision computation.\n"
		"--impl: the kernel (KILN_ATTN's values; auto: the engine's "
		"choice for the device).\n"
		"Default shapes: %s\n", default_shapes);
}

/* "BxLqxLkxHxd[:causal],..." into s. Returns the count, or -1. */
static int
parse_shapes(const char *arg, struct attn_shape *s, int max)
{
	const char *p = arg;
	int n = 0;

	while (*p != '\0') {
		size_t v[5];
		char *end;
		int i;

		if (n == max)
			return -1;
		for (i = 0; i < 5; i++) {
			unsigned long long x;

			if (*p < '0' || *p > '9')
				return -1;
			errno = 0;
			x = strtoull(p, &end, 10);
			if (errno != 0 || x == 0 || x > (1u << 20))
				return -1;
			v[i] = (size_t)x;
			p = end;
			if (i < 4 && *p++ != 'x')
				return -1;
		}
		/* Kernels index with 32 bits; keep every tensor below. */
		if ((double)v[0] * (double)(v[1] > v[2] ? v[1] : v[2]) *
		    (double)v[3] * (double)v[4] > (double)(1u << 31))
			return -1;
		s[n].B = v[0];
		s[n].Lq = v[1];
		s[n].Lk = v[2];
		s[n].H = v[3];
		s[n].d = v[4];
		s[n].causal = 0;
		if (!strncmp(p, ":causal", 7)) {
			s[n].causal = 1;
			p += 7;
		}
		if (*p == ',' && p[1] != '\0')
			p++;
		else if (*p != '\0')
			return -1;
		n++;
	}
	return n > 0 ? n : -1;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Uniform in [-1, 1), from a 64-bit LCG: inputs, not a seed anyone
 * keeps. */
static void
fill(float *x, size_t n, uint64_t seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		x[i] = (float)((double)(seed >> 40) / (double)(1u << 23) - 1.0);
	}
}

/* The largest error of CHECK_ROWS sampled output rows (every head)
 * relative to the largest |value| among them, from a double-precision
 * softmax(scale q k^T) v. */
static double
check_rows(const struct attn_shape *s, const float *q, const float *k,
	const float *v, const float *o, float scale)
{
	size_t HD = s->H * s->d, r, h, j, c;
	double err = 0, big = 0, *p, *acc;

	p = malloc(s->Lk * sizeof(*p));
	acc = malloc(s->d * sizeof(*acc));
	if (p == NULL || acc == NULL) {
		free(p);
		free(acc);
		return INFINITY;
	}
	for (r = 0; r < CHECK_ROWS; r++) {
		/* Spread over the images and queries, the last one included. */
		size_t row = r == CHECK_ROWS - 1 ? s->B * s->Lq - 1 :
			(r * 7919u) % (s->B * s->Lq);
		size_t b = row / s->Lq, i = row % s->Lq;
		size_t lim = s->causal ? i + 1 : s->Lk;

		for (h = 0; h < s->H; h++) {
			const float *qr = q + row * HD + h * s->d;
			double m = -INFINITY, l = 0;

			for (j = 0; j < lim; j++) {
				const float *kr = k + (b * s->Lk + j) * HD +
					h * s->d;
				double dot = 0;

				for (c = 0; c < s->d; c++)
					dot += (double)qr[c] * kr[c];
				p[j] = dot * scale;
				if (p[j] > m)
					m = p[j];
			}
			for (c = 0; c < s->d; c++)
				acc[c] = 0;
			for (j = 0; j < lim; j++) {
				const float *vr = v + (b * s->Lk + j) * HD +
					h * s->d;
				double e = exp(p[j] - m);

				l += e;
				for (c = 0; c < s->d; c++)
					acc[c] += e * vr[c];
			}
			for (c = 0; c < s->d; c++) {
				double want = acc[c] / l,
					got = o[row * HD + h * s->d + c];

				if (fabs(want) > big)
					big = fabs(want);
				if (!(fabs(got - want) <= err))
					err = fabs(got - want);
			}
		}
	}
	free(p);
	free(acc);
	return big > 0 ? err / big : err;
}

struct attn_result {
	double best_s, median_s, first_s, cpu_s, err;
	int runs;
};

/* CPU seconds of the whole process: on a CPU device the OpenCL worker
 * threads' too. On a shared machine the least CPU time of a call says
 * what the kernel costs when wall times say how busy the machine was. */
static double
cpu_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Times one shape; res->err is the sampled check's relative error. */
static int
bench_one(struct kiln_rt *rt, const struct attn_shape *s, int repeat,
	struct attn_result *res)
{
	struct ktensor *q = NULL, *k = NULL, *v = NULL, *o = NULL;
	float *hq = NULL, *hk = NULL, *hv = NULL, *ho = NULL;
	size_t HD = s->H * s->d, nq = s->B * s->Lq * HD,
		nk = s->B * s->Lk * HD, e;
	float scale = 1.0f / sqrtf((float)s->d);
	double *t = NULL, t0, c0;
	int i, rc = -1;

	memset(res, 0, sizeof(*res));
	hq = malloc(nq * sizeof(float));
	hk = malloc(nk * sizeof(float));
	hv = malloc(nk * sizeof(float));
	ho = malloc(nq * sizeof(float));
	t = calloc((size_t)repeat, sizeof(*t));
	if (hq == NULL || hk == NULL || hv == NULL || ho == NULL ||
	    t == NULL) {
		rt_failf(rt, "out of memory");
		goto out;
	}
	/* Keys twice as wide as queries: scores spread over a few units,
	 * so the softmax neither flattens nor picks one key. */
	fill(hq, nq, 1 + s->Lq);
	fill(hk, nk, 2 + s->Lk);
	fill(hv, nk, 3 + s->d);
	for (e = 0; e < nk; e++)
		hk[e] *= 2.0f;
	q = kt_new3(rt, KD_F32, (int64_t)s->B, (int64_t)s->Lq, (int64_t)HD);
	k = kt_new3(rt, KD_F32, (int64_t)s->B, (int64_t)s->Lk, (int64_t)HD);
	v = kt_new3(rt, KD_F32, (int64_t)s->B, (int64_t)s->Lk, (int64_t)HD);
	o = kt_new3(rt, KD_F32, (int64_t)s->B, (int64_t)s->Lq, (int64_t)HD);
	if (q == NULL || k == NULL || v == NULL || o == NULL ||
	    kt_upload(q, hq) != 0 || kt_upload(k, hk) != 0 ||
	    kt_upload(v, hv) != 0 || rt_finish(rt) != 0)
		goto out;
	t0 = tuning_now();
	if (op_attention(q, k, v, o, (int)s->H, scale, s->causal) != 0 ||
	    rt_finish(rt) != 0)
		goto out;
	res->first_s = tuning_now() - t0;
	for (i = 0; i < repeat; i++) {
		t0 = tuning_now();
		c0 = cpu_now();
		if (op_attention(q, k, v, o, (int)s->H, scale,
		    s->causal) != 0 || rt_finish(rt) != 0)
			goto out;
		t[res->runs++] = tuning_now() - t0;
		if (i == 0 || cpu_now() - c0 < res->cpu_s)
			res->cpu_s = cpu_now() - c0;
	}
	qsort(t, (size_t)res->runs, sizeof(*t), cmp_double);
	res->best_s = t[0];
	res->median_s = res->runs % 2 ? t[res->runs / 2] :
		(t[res->runs / 2 - 1] + t[res->runs / 2]) / 2;
	if (kt_download(o, ho) != 0)
		goto out;
	res->err = check_rows(s, hq, hk, hv, ho, scale);
	rc = 0;
out:
	kt_free(q);
	kt_free(k);
	kt_free(v);
	kt_free(o);
	free(hq);
	free(hk);
	free(hv);
	free(ho);
	free(t);
	return rc;
}

/* A number printed with `decimals` places, not json-c's 17 digits. */
static void
add_num(struct json_object *o, const char *key, double v, int decimals)
{
	char text[64];

	snprintf(text, sizeof(text), "%.*f", decimals, v);
	json_object_object_add(o, key, json_object_new_double_s(v, text));
}

int
cmd_bench_attention(int argc, char **argv)
{
	struct attn_shape shapes[MAX_SHAPES];
	struct engine_opts eo;
	struct kiln_rt *rt = NULL;
	struct json_object *root = NULL, *arr = NULL;
	const char *device = NULL, *shapes_arg = default_shapes,
		*impl = "auto";
	char err[1024], sh[96];
	int i, n, repeat = 5, json = 0, rc = 1, bad_rows = 0;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--device") && i + 1 < argc) {
			device = argv[++i];
		} else if (!strcmp(argv[i], "--shapes") && i + 1 < argc) {
			shapes_arg = argv[++i];
		} else if (!strcmp(argv[i], "--impl") && i + 1 < argc) {
			impl = argv[++i];
			if (strcmp(impl, "auto") && strcmp(impl, "fused") &&
			    strcmp(impl, "blocked"))
				goto bad;
		} else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) {
			char *end;

			repeat = (int)strtol(argv[++i], &end, 10);
			if (*end != '\0' || repeat < 1 || repeat > 1000)
				goto bad;
		} else if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "-h") ||
		    !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			goto bad;
		}
	}
	n = parse_shapes(shapes_arg, shapes, MAX_SHAPES);
	if (n < 0) {
		fprintf(stderr, "kiln-render bench-attention: bad --shapes "
			"'%s' (want BxLqxLkxHxd[:causal],... at most %d)\n",
			shapes_arg, MAX_SHAPES);
		return 2;
	}
	for (i = 0; i < n; i++)
		if (shapes[i].causal && shapes[i].Lq != shapes[i].Lk) {
			fprintf(stderr, "kiln-render bench-attention: a causal "
				"shape needs Lq == Lk\n");
			return 2;
		}
	if (cli_engine_opts(&eo, err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render bench-attention: %s\n", err);
		return 1;
	}
	if (strcmp(impl, "auto"))
		eo.attention = impl[0] == 'f' ? RT_ATTN_FUSED : RT_ATTN_BLOCKED;
	if (rt_open(&rt, device, &eo, err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render bench-attention: %s\n", err);
		return 1;
	}
	if (json) {
		root = json_object_new_object();
		arr = json_object_new_array();
		if (root == NULL || arr == NULL) {
			json_object_put(root);
			json_object_put(arr);
			root = NULL;
			fprintf(stderr, "kiln-render bench-attention: out of "
				"memory\n");
			goto out;
		}
		json_object_object_add(root, "device",
			json_object_new_string(rt->device_name));
		json_object_object_add(root, "platform",
			json_object_new_string(rt->platform_name));
		json_object_object_add(root, "driver",
			json_object_new_string(rt->driver_version));
		json_object_object_add(root, "impl",
			json_object_new_string(impl));
		json_object_object_add(root, "repeat",
			json_object_new_int(repeat));
		json_object_object_add(root, "results", arr);
	} else {
		printf("device: %s (%s, driver %s)\n", rt->device_name,
			rt->platform_name, rt->driver_version);
		printf("impl: %s\n", impl);
		printf("%-24s %8s %8s %9s %9s %9s %8s\n",
			"shape BxLqxLkxHxd", "GFLOP/s", "median", "best ms",
			"first ms", "cpu ms", "rel err");
	}
	for (i = 0; i < n; i++) {
		const struct attn_shape *s = &shapes[i];
		struct attn_result r;
		double flop = 4.0 * (double)s->B * (double)s->H *
			(double)s->Lq * (double)s->Lk * (double)s->d;

		snprintf(sh, sizeof(sh), "%zux%zux%zux%zux%zu%s", s->B, s->Lq,
			s->Lk, s->H, s->d, s->causal ? ":causal" : "");
		if (bench_one(rt, s, repeat, &r) != 0) {
			fprintf(stderr, "kiln-render bench-attention: %s: %s\n",
				sh, rt_error(rt));
			goto out;
		}
		if (!(r.err <= CHECK_TOL)) {
			fprintf(stderr, "kiln-render bench-attention: %s: "
				"sampled rows off by %.3g of their scale\n", sh,
				r.err);
			bad_rows = 1;
		}
		if (json) {
			struct json_object *o = json_object_new_object();

			if (o == NULL || json_object_array_add(arr, o) != 0) {
				json_object_put(o);
				fprintf(stderr, "kiln-render bench-attention: "
					"out of memory\n");
				goto out;
			}
			json_object_object_add(o, "shape",
				json_object_new_string(sh));
			add_num(o, "gflops", flop / r.best_s / 1e9, 2);
			add_num(o, "gflops_median", flop / r.median_s / 1e9, 2);
			add_num(o, "best_ms", r.best_s * 1e3, 3);
			add_num(o, "median_ms", r.median_s * 1e3, 3);
			add_num(o, "first_ms", r.first_s * 1e3, 3);
			add_num(o, "cpu_ms", r.cpu_s * 1e3, 3);
			json_object_object_add(o, "rel_err",
				json_object_new_double(r.err));
			json_object_object_add(o, "runs",
				json_object_new_int(r.runs));
		} else {
			printf("%-24s %8.1f %8.1f %9.2f %9.1f %9.2f %8.2g\n",
				sh, flop / r.best_s / 1e9,
				flop / r.median_s / 1e9, r.best_s * 1e3,
				r.first_s * 1e3, r.cpu_s * 1e3, r.err);
			fflush(stdout);
		}
	}
	if (json) {
		const char *text = json_object_to_json_string_ext(root,
			JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
			JSON_C_TO_STRING_NOSLASHESCAPE);

		if (text == NULL || printf("%s\n", text) < 0) {
			fprintf(stderr, "kiln-render bench-attention: cannot "
				"write the results\n");
			goto out;
		}
	}
	if (fflush(stdout) != 0) {
		fprintf(stderr, "kiln-render bench-attention: cannot write the "
			"results\n");
		goto out;
	}
	rc = bad_rows;
out:
	json_object_put(root);
	rt_free(rt);
	return rc;
bad:
	fprintf(stderr, "kiln-render bench-attention: bad arguments near "
		"'%s'\n", i < argc ? argv[i] : "(end)");
	usage(stderr);
	return 2;
}
