/* cmd_tune.c - kiln-render tune: searches the engine's own GEMM kernel
 * parameters and CLBlast's for this device by timing op_matmul on Stable
 * Diffusion's shapes, and writes the fastest sets that compute correct
 * results to the device's tuning file (tuning.h). This file is the
 * command line and the order of the steps; tune.h names the others:
 * tune_kiln.c, tune_space.c, tune_search.c, tune_child.c,
 * tune_report.c. */
#include "commands.h"
#include "tune.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The SD 1.5 UNet's linear and conv-as-GEMM shapes at 512x512 (64x64
 * latent: 4096 pixels at 320 channels, 1024 at 640, 256 at 1280; a 3x3
 * conv has K = 9 C) and CLIP's 77-token projections. */
static const char *default_shapes =
	"4096x320x320,1024x640x640,256x1280x1280,4096x320x2880,77x768x768";
/* The same, a quarter of the rows, when the budget is small. */
static const char *small_shapes =
	"1024x320x320,256x640x640,64x1280x1280,1024x320x2880,77x768x768";

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: kiln-render tune [--device SEL] [--budget SECONDS] "
		"[--only engine|clblast] [--shapes MxNxK[:nt],...] [--seed N] "
		"[--gemmk1]\n"
		"Searches the parameters of the engine's own GEMM kernel, "
		"then CLBlast's, for the device and writes\n"
		"the fastest correct sets to its tuning file "
		"($KILN_TUNING_DIR, $XDG_CONFIG_HOME/kiln/tuning or\n"
		"~/.config/kiln/tuning); --only tunes one of the two and "
		"keeps the file's other. Default shapes: %s\n",
		default_shapes);
}

enum only { ONLY_BOTH, ONLY_ENGINE, ONLY_CLBLAST };

/* The engine's kernel runs every product on a CPU, so it gets most of a
 * shared budget; CLBlast the rest (GPUs, transposed products). */
#define ENGINE_SHARE 0.6

/* The engine phase's table and its summary for the file's "tuner". */
static struct json_object *
engine_report(const struct tuner *tu, const struct rt_gemm *g,
	const double *def_s, const double *best_s, int kept)
{
	struct json_object *o = json_object_new_object();
	char desc[80];
	size_t s;

	rt_gemm_format(g, desc, sizeof(desc));
	printf("engine GEMM: %s%s\n%-18s %12s %12s\n", desc, kept ? "" :
		" (the device's default)", "shape", "default", "tuned");
	for (s = 0; s < tu->nshapes; s++) {
		char sh[64];

		printf("%-18s %7.1f GF/s %7.1f GF/s\n",
			tuning_shape_str(&tu->shapes[s], sh, sizeof(sh)),
			tune_gflops(tu, s, def_s[s]),
			tune_gflops(tu, s, best_s[s]));
	}
	printf("%-18s %7.1f GF/s %7.1f GF/s %7.2fx  (geometric mean)\n",
		"all", tune_score(tu, def_s), tune_score(tu, best_s),
		tune_score(tu, best_s) / tune_score(tu, def_s));
	if (o == NULL)
		return NULL;
	json_object_object_add(o, "params", json_object_new_string(desc));
	json_object_object_add(o, "default_gflops",
		json_object_new_double(tune_score(tu, def_s)));
	json_object_object_add(o, "tuned_gflops",
		json_object_new_double(tune_score(tu, best_s)));
	json_object_object_add(o, "kept", json_object_new_boolean(kept));
	return o;
}

/* CLBlast's search over what is left of tu's budget: chosen receives the
 * overrides that beat CLBlast's defaults (none when nothing did) and
 * *info the run's summary. Returns 0, or -1 when it could not run. */
static int
tune_clblast(struct tuner *tu, struct tuning *chosen,
	struct json_object **info)
{
	struct job job;
	struct result base, fin;
	double base_s[MAX_SHAPES] = { 0 }, x_s[MAX_SHAPES] = { 0 };
	double d_s[MAX_SHAPES] = { 0 };
	size_t xbest[X_N], dbest[D_N], thr = 0, nd = 0;
	size_t max_wg = 256;
	unsigned long long local_mem = 32768;
	int have_x, dtuned = 0, kept;

	printf("tuning CLBlast GEMM, budget %.0f s\n", tu->budget);
	memset(&job, 0, sizeof(job));
	job.phase = PH_BASELINE;
	tune_all_shapes(tu, &job);
	if (tune_run_job(tu, &job, tuning_now() + fmax(300.0, tu->budget),
	    &base) != 0)
		return -1;
	if (base.status != RES_OK) {
		fprintf(stderr, "kiln-render tune: CLBlast's defaults fail on "
			"this device: %s\n", base.msg);
		return -1;
	}
	/* Its setup is no guide: CLBlast's default program is usually in
	 * PoCL's cache already, a candidate's never is. */
	memcpy(base_s, base.best_s, sizeof(base_s));
	memcpy(tu->base_s, base_s, sizeof(base_s));
	printf("device: %s (driver %s)\n[%4.0fs] default: %.1f GFLOP/s "
		"(geometric mean over the shapes)\n", base.device, base.driver,
		tune_elapsed(tu), tune_score(tu, base_s));
	tune_load_previous(tu, &base);
	if (base.max_wg > 0)
		max_wg = base.max_wg;
	if (base.local_mem > 0)
		local_mem = base.local_mem;

	/* 80% of the time to Xgemm, which runs the large products; the
	 * rest to the direct kernel (slow to build: 20-90 s a candidate
	 * here), less what the final check needs. */
	have_x = tune_search_xgemm(tu, 0.8, max_wg, local_mem, xbest, x_s) == 0;
	if (!have_x) {
		printf("no Xgemm candidate ran correctly: keeping CLBlast's "
			"defaults\n");
	} else {
		tune_search_direct(tu, x_s, 1.0, max_wg, local_mem, dbest,
			&dtuned, d_s);
		tune_pick_threshold(tu, x_s, d_s, &thr, &nd);
	}

	if (have_x) {
		if (tune_set_kernel(chosen, &tune_xgemm, xbest) != 0 ||
		    (dtuned &&
		    tune_set_kernel(chosen, &tune_direct, dbest) != 0) ||
		    tune_set_threshold(chosen, thr) != 0)
			return -1;
		memset(&job, 0, sizeof(job));
		job.phase = PH_FINAL;
		job.set = *chosen;
		tune_all_shapes(tu, &job);
		printf("[%4.0fs] final   check of the chosen set "
			"(XGEMM_MIN_INDIRECT_SIZE=%zu, %zu shape%s direct)\n",
			tune_elapsed(tu), thr, nd, nd == 1 ? "" : "s");
		fflush(stdout);
		if (tune_run_job(tu, &job, tuning_now() + fmax(300.0,
		    tu->budget), &fin) != 0)
			return -1;
		if (fin.status != RES_OK) {
			fprintf(stderr, "kiln-render tune: the chosen set "
				"failed its final check (%s): %s; nothing "
				"written\n", tune_status_name[fin.status],
				fin.msg);
			return -1;
		}
	} else {
		fin = base;
	}
	/* Overrides only go to the file when they beat the defaults. */
	kept = have_x && tune_score(tu, fin.best_s) > tune_score(tu, base_s);
	if (!kept) {
		chosen->nkernels = 0;
		printf("CLBlast's defaults were fastest: the tuning file "
			"records no overrides\n");
		memcpy(fin.best_s, base_s, sizeof(base_s));
	} else {
		char desc[400];

		tune_describe(&tune_xgemm, xbest, desc, sizeof(desc));
		printf("chosen Xgemm: %s\n", desc);
		if (dtuned) {
			tune_describe(&tune_direct, dbest, desc, sizeof(desc));
			printf("chosen XgemmDirect: %s\n", desc);
		} else {
			printf("XgemmDirect: CLBlast's own parameters\n");
		}
		printf("chosen XGEMM_MIN_INDIRECT_SIZE: %zu (direct below "
			"m*n*k = %llu)\n", thr,
			(unsigned long long)thr * thr * thr);
	}
	tune_print_table(tu, base_s, fin.best_s, thr, kept);
	printf("%-18s %7.1f GF/s %7.1f GF/s %7.2fx  (geometric mean; %d "
		"candidates in %.0f s)\n", "all", tune_score(tu, base_s),
		tune_score(tu, fin.best_s), tune_score(tu, fin.best_s) /
		tune_score(tu, base_s), tu->candidates, tune_elapsed(tu));
	*info = tune_info(tu, base_s, fin.best_s, thr, kept);
	return 0;
}

int
cmd_tune(int argc, char **argv)
{
	struct tuner *tu = NULL;
	const char *shapes_arg = NULL;
	struct tuning *chosen = NULL;
	struct rt_gemm kbest;
	double kdef_s[MAX_SHAPES] = { 0 }, kbest_s[MAX_SHAPES] = { 0 };
	struct json_object *info = NULL, *einfo = NULL;
	enum only only = ONLY_BOTH;
	int i, rc = 1, krc = 0;
	long seed = 0;

	tu = calloc(1, sizeof(*tu));
	chosen = calloc(1, sizeof(*chosen));
	if (tu == NULL || chosen == NULL) {
		fprintf(stderr, "kiln-render tune: out of memory\n");
		goto out;
	}
	tu->budget = 120;
	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--device") && i + 1 < argc) {
			tu->device_sel = argv[++i];
		} else if (!strcmp(argv[i], "--budget") && i + 1 < argc) {
			char *end_p;

			tu->budget = strtod(argv[++i], &end_p);
			if (*end_p != '\0' || !(tu->budget >= 1))
				goto bad;
		} else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			i++;
			if (!strcmp(argv[i], "engine"))
				only = ONLY_ENGINE;
			else if (!strcmp(argv[i], "clblast"))
				only = ONLY_CLBLAST;
			else
				goto bad;
		} else if (!strcmp(argv[i], "--shapes") && i + 1 < argc) {
			shapes_arg = argv[++i];
		} else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
			seed = strtol(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--gemmk1")) {
			tune_allow_gemmk1 = 1;
		} else if (!strcmp(argv[i], "-h") ||
		    !strcmp(argv[i], "--help")) {
			usage(stdout);
			rc = 0;
			goto out;
		} else {
			goto bad;
		}
	}
	if (shapes_arg == NULL)
		shapes_arg = tu->budget < 60 ? small_shapes : default_shapes;
	i = tuning_shapes_parse(shapes_arg, tu->shapes, MAX_SHAPES);
	if (i < 0) {
		fprintf(stderr, "kiln-render tune: bad --shapes '%s' (want "
			"MxNxK[:nt],... at most %d)\n", shapes_arg,
			MAX_SHAPES);
		rc = 2;
		goto out;
	}
	tu->nshapes = (size_t)i;
	tu->rng = seed ? (uint64_t)seed : (uint64_t)time(NULL) * 2654435761u
		+ (uint64_t)getpid();
	if (tu->rng == 0)
		tu->rng = 1;
	/* The baselines are the defaults and the children set their own
	 * parameters: an existing (even malformed) file must not interfere.
	 * And every product must go to CLBlast, which op_matmul otherwise
	 * only uses where the engine's own kernel does not apply (engine
	 * jobs say otherwise for themselves). */
	if (setenv("KILN_NO_TUNING", "1", 1) != 0 ||
	    setenv("KILN_GEMM", "clblast", 1) != 0 ||
	    unsetenv("KILN_GEMM_PARAMS") != 0) {
		fprintf(stderr, "kiln-render tune: setenv: %s\n",
			strerror(errno));
		goto out;
	}
	tu->t0 = tuning_now();
	printf("tuning GEMM, budget %.0f s, shapes %s\n", tu->budget,
		shapes_arg);

	if (only != ONLY_CLBLAST) {
		double share = only == ONLY_ENGINE ? 1.0 : ENGINE_SHARE;

		krc = tune_search_kiln(tu, tu->t0 + share * tu->budget,
			&kbest, kbest_s, kdef_s);
		if (krc < 0) {
			fprintf(stderr, "kiln-render tune: the engine's GEMM "
				"kernel fails on this device with its default "
				"parameters\n");
			if (only == ONLY_ENGINE)
				goto out;
		} else {
			einfo = engine_report(tu, &kbest, kdef_s, kbest_s,
				krc == 1);
		}
	}
	if (only != ONLY_ENGINE) {
		/* CLBlast's search keeps its own clock from here. */
		tu->budget = fmax(1.0, tu->budget - tune_elapsed(tu));
		tu->t0 = tuning_now();
		if (tune_clblast(tu, chosen, &info) != 0)
			goto out;
	} else if (tu->have_prev) {
		/* Tuning the engine alone keeps the file's CLBlast sets. */
		chosen->nkernels = tu->prev.nkernels;
		memcpy(chosen->kernel, tu->prev.kernel,
			sizeof(chosen->kernel));
	}
	if (krc == 1) {
		chosen->have_gemm = 1;
		chosen->gemm = kbest;
	} else if (only == ONLY_CLBLAST && tu->have_prev &&
	    tu->prev.have_gemm) {
		chosen->have_gemm = 1;
		chosen->gemm = tu->prev.gemm;
	}
	if (info == NULL)
		info = json_object_new_object();
	if (info != NULL && einfo != NULL) {
		json_object_object_add(info, "engine_gemm", einfo);
		einfo = NULL;
	}
	if (tune_save(tu, chosen, info) != 0)
		goto out;
	rc = 0;
out:
	json_object_put(info);
	json_object_put(einfo);
	free(chosen);
	free(tu);
	return rc;
bad:
	fprintf(stderr, "kiln-render tune: bad arguments near '%s'\n",
		i < argc ? argv[i] : "(end)");
	usage(stderr);
	rc = 2;
	goto out;
}
