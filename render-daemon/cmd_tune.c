/* cmd_tune.c - kiln-render tune: searches CLBlast's GEMM kernel parameters
 * for this device by timing op_matmul (held to CLBlast) on Stable
 * Diffusion's shapes, and writes the fastest set that computes correct
 * results to the device's tuning file (tuning.h). This file is the
 * command line and the order of the steps; tune.h names the others:
 * tune_space.c, tune_search.c, tune_child.c, tune_report.c. */
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
		"[--shapes MxNxK[:nt],...] [--seed N] [--gemmk1]\n"
		"Searches CLBlast's GEMM parameters for the device and writes "
		"the fastest correct set to its tuning file\n"
		"($KILN_TUNING_DIR, $XDG_CONFIG_HOME/kiln/tuning or "
		"~/.config/kiln/tuning). Default shapes: %s\n",
		default_shapes);
}

int
cmd_tune(int argc, char **argv)
{
	struct tuner *tu = NULL;
	const char *shapes_arg = NULL;
	struct job job;
	struct result base, fin;
	struct tuning chosen;
	double base_s[MAX_SHAPES] = { 0 }, x_s[MAX_SHAPES] = { 0 };
	double d_s[MAX_SHAPES] = { 0 };
	size_t xbest[X_N], dbest[D_N], thr = 0, nd = 0;
	size_t max_wg = 256;
	unsigned long long local_mem = 32768;
	struct json_object *info = NULL;
	int i, rc = 1, have_x, dtuned = 0, kept;
	long seed = 0;

	tu = calloc(1, sizeof(*tu));
	if (tu == NULL) {
		fprintf(stderr, "kiln-render tune: out of memory\n");
		return 1;
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
		} else if (!strcmp(argv[i], "--shapes") && i + 1 < argc) {
			shapes_arg = argv[++i];
		} else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
			seed = strtol(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--gemmk1")) {
			tune_allow_gemmk1 = 1;
		} else if (!strcmp(argv[i], "-h") ||
		    !strcmp(argv[i], "--help")) {
			usage(stdout);
			free(tu);
			return 0;
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
		free(tu);
		return 2;
	}
	tu->nshapes = (size_t)i;
	tu->rng = seed ? (uint64_t)seed : (uint64_t)time(NULL) * 2654435761u
		+ (uint64_t)getpid();
	if (tu->rng == 0)
		tu->rng = 1;
	/* The baseline is CLBlast's defaults and the children set their own
	 * overrides: an existing (even malformed) file must not interfere.
	 * And every product must go to CLBlast, which op_matmul otherwise
	 * only uses where the engine's own kernel does not apply. */
	if (setenv("KILN_NO_TUNING", "1", 1) != 0 ||
	    setenv("KILN_GEMM", "clblast", 1) != 0) {
		fprintf(stderr, "kiln-render tune: setenv: %s\n",
			strerror(errno));
		free(tu);
		return 1;
	}
	tu->t0 = tuning_now();

	printf("tuning CLBlast GEMM, budget %.0f s, shapes %s\n", tu->budget,
		shapes_arg);
	memset(&job, 0, sizeof(job));
	job.phase = PH_BASELINE;
	tune_all_shapes(tu, &job);
	if (tune_run_job(tu, &job, tuning_now() + fmax(300.0, tu->budget),
	    &base) != 0)
		goto out;
	if (base.status != RES_OK) {
		fprintf(stderr, "kiln-render tune: CLBlast's defaults fail on "
			"this device: %s\n", base.msg);
		goto out;
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

	memset(&chosen, 0, sizeof(chosen));
	if (have_x) {
		if (tune_set_kernel(&chosen, &tune_xgemm, xbest) != 0 ||
		    (dtuned &&
		    tune_set_kernel(&chosen, &tune_direct, dbest) != 0) ||
		    tune_set_threshold(&chosen, thr) != 0)
			goto out;
		memset(&job, 0, sizeof(job));
		job.phase = PH_FINAL;
		job.set = chosen;
		tune_all_shapes(tu, &job);
		printf("[%4.0fs] final   check of the chosen set "
			"(XGEMM_MIN_INDIRECT_SIZE=%zu, %zu shape%s direct)\n",
			tune_elapsed(tu), thr, nd, nd == 1 ? "" : "s");
		fflush(stdout);
		if (tune_run_job(tu, &job, tuning_now() + fmax(300.0,
		    tu->budget), &fin) != 0)
			goto out;
		if (fin.status != RES_OK) {
			fprintf(stderr, "kiln-render tune: the chosen set "
				"failed its final check (%s): %s; nothing "
				"written\n", tune_status_name[fin.status],
				fin.msg);
			goto out;
		}
	} else {
		fin = base;
	}
	/* Overrides only go to the file when they beat the defaults. */
	kept = have_x && tune_score(tu, fin.best_s) > tune_score(tu, base_s);
	if (!kept) {
		memset(&chosen, 0, sizeof(chosen));
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
	info = tune_info(tu, base_s, fin.best_s, thr, kept);
	if (tune_save(tu, &chosen, info) != 0)
		goto out;
	rc = 0;
out:
	json_object_put(info);
	free(tu);
	return rc;
bad:
	fprintf(stderr, "kiln-render tune: bad arguments near '%s'\n",
		i < argc ? argv[i] : "(end)");
	usage(stderr);
	free(tu);
	return 2;
}

