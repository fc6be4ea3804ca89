/* cmd_bench.c - kiln-render bench-gemm: GEMM GFLOP/s through op_matmul on
 * Stable Diffusion's shapes, as the engine runs them or held to CLBlast,
 * and whether a tuning file (for CLBlast) was in force. */
#include "commands.h"
#include "ops.h"
#include "tuning.h"
#include "util.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SHAPES 32

/* The tuner's SD 1.5 UNet and CLIP shapes (cmd_tune.c) and the square
 * product everyone quotes. */
static const char *default_shapes =
	"4096x320x320,1024x640x640,256x1280x1280,4096x320x2880,77x768x768,"
	"1024x1024x1024";

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: kiln-render bench-gemm [--device SEL] "
		"[--shapes MxNxK[:nt],...] [--repeat N] [--clblast] [--json]\n"
		"Times op_matmul (row-major SGEMM) after a warm-up call; "
		"reports the best and median of N calls.\n"
		"--clblast: every product through CLBlast (KILN_GEMM=clblast), "
		"the library the tuning file tunes;\n"
		"otherwise op_matmul's own choice (the engine's kernel where it "
		"applies).\n"
		"Default shapes: %s\n", default_shapes);
}

/* How the tuning file stands: "applied", "disabled" (KILN_NO_TUNING),
 * "stale" (for another device or driver), "none", into state. */
static void
tuning_state(struct kiln_rt *rt, char *path, size_t pathlen,
	const char **state, char *detail, size_t dlen)
{
	struct tuning *t;

	detail[0] = '\0';
	if (tuning_path(rt, path, pathlen) != 0) {
		path[0] = '\0';
		*state = "none";
		snprintf(detail, dlen, "no tuning directory (HOME unset)");
		return;
	}
	if (rt->tuned) {
		*state = "applied";
		return;
	}
	if (!rt->opts.tuning) {
		*state = "disabled";
		snprintf(detail, dlen, "KILN_NO_TUNING is set");
		return;
	}
	*state = "none";
	t = malloc(sizeof(*t));
	if (t == NULL)
		return;
	if (tuning_load(rt, path, t) == 0) {
		*state = "stale";
		snprintf(detail, dlen, "tuned for %s, driver %s: re-run "
			"`kiln-render tune`", t->device, t->driver);
	} else {
		snprintf(detail, dlen, "no file: run `make tune`");
	}
	free(t);
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
cmd_bench_gemm(int argc, char **argv)
{
	struct tuning_shape shapes[MAX_SHAPES];
	struct engine_opts eo;
	struct kiln_rt *rt = NULL;
	struct json_object *root = NULL, *arr = NULL, *tj;
	const char *device = NULL, *shapes_arg = default_shapes, *state, *gemm;
	char err[1024], path[PATH_MAX + 300], detail[600], sh[64];
	char params[80];
	int i, n, repeat = 5, json = 0, clblast = 0, rc = 1;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--device") && i + 1 < argc) {
			device = argv[++i];
		} else if (!strcmp(argv[i], "--shapes") && i + 1 < argc) {
			shapes_arg = argv[++i];
		} else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) {
			char *end;

			repeat = (int)strtol(argv[++i], &end, 10);
			if (*end != '\0' || repeat < 1 || repeat > 1000)
				goto bad;
		} else if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--clblast")) {
			clblast = 1;
		} else if (!strcmp(argv[i], "-h") ||
		    !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			goto bad;
		}
	}
	n = tuning_shapes_parse(shapes_arg, shapes, MAX_SHAPES);
	if (n < 0) {
		fprintf(stderr, "kiln-render bench-gemm: bad --shapes '%s' "
			"(want MxNxK[:nt],... at most %d)\n", shapes_arg,
			MAX_SHAPES);
		return 2;
	}
	/* rt_open applies the device's tuning file (or fails, naming it,
	 * when the file is malformed). */
	if (cli_engine_opts(&eo, err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render bench-gemm: %s\n", err);
		return 1;
	}
	if (clblast)
		eo.gemm_clblast = 1;
	if (rt_open(&rt, device, &eo, err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render bench-gemm: %s\n", err);
		return 1;
	}
	tuning_state(rt, path, sizeof(path), &state, detail, sizeof(detail));
	/* GPUs run CLBlast unless a tuning file chose the engine's kernel
	 * (ops_cl.c). */
	gemm = rt->opts.gemm_clblast || (rt->type == RT_DEV_GPU &&
		!rt->gemm_tuned) ? "clblast" : "engine";
	rt_gemm_format(&rt->gemm, params, sizeof(params));
	if (json) {
		root = json_object_new_object();
		arr = json_object_new_array();
		tj = json_object_new_object();
		if (root == NULL || arr == NULL || tj == NULL) {
			json_object_put(root);
			json_object_put(arr);
			json_object_put(tj);
			fprintf(stderr, "kiln-render bench-gemm: out of "
				"memory\n");
			goto out;
		}
		json_object_object_add(root, "device",
			json_object_new_string(rt->device_name));
		json_object_object_add(root, "platform",
			json_object_new_string(rt->platform_name));
		json_object_object_add(root, "driver",
			json_object_new_string(rt->driver_version));
		json_object_object_add(root, "gemm",
			json_object_new_string(gemm));
		json_object_object_add(root, "engine_gemm",
			json_object_new_string(params));
		json_object_object_add(root, "engine_gemm_tuned",
			json_object_new_boolean(rt->gemm_tuned));
		json_object_object_add(tj, "applied",
			json_object_new_boolean(rt->tuned));
		json_object_object_add(tj, "state",
			json_object_new_string(state));
		json_object_object_add(tj, "path", path[0] ?
			json_object_new_string(path) : NULL);
		if (detail[0] != '\0')
			json_object_object_add(tj, "detail",
				json_object_new_string(detail));
		json_object_object_add(root, "tuning", tj);
		json_object_object_add(root, "repeat",
			json_object_new_int(repeat));
		json_object_object_add(root, "results", arr);
	} else {
		printf("device: %s (%s, driver %s)\n", rt->device_name,
			rt->platform_name, rt->driver_version);
		printf("gemm: %s\n", !strcmp(gemm, "clblast") ? "CLBlast for "
			"every product (KILN_GEMM=clblast)" : "op_matmul's "
			"choice (the engine's own kernel where it applies, "
			"else CLBlast)");
		printf("tuning: %s%s%s%s%s\n", state, path[0] ? " " : "",
			path, detail[0] ? " - " : "", detail);
		printf("engine GEMM kernel: %s (%s)\n", params,
			rt->gemm_tuned ? "from the tuning file" :
			"the device's default");
		printf("%-18s %10s %10s %10s %10s\n", "shape", "GFLOP/s",
			"median", "best ms", "first ms");
	}
	for (i = 0; i < n; i++) {
		struct tuning_timing t;
		double flop = tuning_shape_flop(&shapes[i]);

		if (tuning_time_gemm(rt, &shapes[i], repeat, 0, &t) != 0) {
			fprintf(stderr, "kiln-render bench-gemm: %s: %s\n",
				tuning_shape_str(&shapes[i], sh, sizeof(sh)),
				rt_error(rt));
			goto out;
		}
		tuning_shape_str(&shapes[i], sh, sizeof(sh));
		if (json) {
			struct json_object *o = json_object_new_object();

			if (o == NULL || json_object_array_add(arr, o) != 0) {
				json_object_put(o);
				fprintf(stderr, "kiln-render bench-gemm: out of "
					"memory\n");
				goto out;
			}
			json_object_object_add(o, "shape",
				json_object_new_string(sh));
			json_object_object_add(o, "m",
				json_object_new_int64((int64_t)shapes[i].m));
			json_object_object_add(o, "n",
				json_object_new_int64((int64_t)shapes[i].n));
			json_object_object_add(o, "k",
				json_object_new_int64((int64_t)shapes[i].k));
			json_object_object_add(o, "trans_a",
				json_object_new_boolean(shapes[i].ta));
			json_object_object_add(o, "trans_b",
				json_object_new_boolean(shapes[i].tb));
			add_num(o, "gflops", flop / t.best_s / 1e9, 2);
			add_num(o, "gflops_median", flop / t.median_s / 1e9,
				2);
			add_num(o, "best_ms", t.best_s * 1e3, 3);
			add_num(o, "median_ms", t.median_s * 1e3, 3);
			add_num(o, "first_ms", t.first_s * 1e3, 3);
			json_object_object_add(o, "runs",
				json_object_new_int(t.runs));
		} else {
			printf("%-18s %10.1f %10.1f %10.2f %10.1f\n", sh,
				flop / t.best_s / 1e9, flop / t.median_s / 1e9,
				t.best_s * 1e3, t.first_s * 1e3);
			fflush(stdout);
		}
	}
	if (json) {
		const char *text = json_object_to_json_string_ext(root,
			JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
			JSON_C_TO_STRING_NOSLASHESCAPE);

		if (text == NULL || printf("%s\n", text) < 0) {
			fprintf(stderr, "kiln-render bench-gemm: cannot write "
				"the results\n");
			goto out;
		}
	}
	if (fflush(stdout) != 0) {
		fprintf(stderr, "kiln-render bench-gemm: cannot write the "
			"results\n");
		goto out;
	}
	rc = 0;
out:
	json_object_put(root);
	rt_free(rt);
	return rc;
bad:
	fprintf(stderr, "kiln-render bench-gemm: bad arguments near '%s'\n",
		i < argc ? argv[i] : "(end)");
	usage(stderr);
	return 2;
}
