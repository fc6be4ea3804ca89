/* tune_kiln.c - kiln-render tune's search of the engine's own GEMM kernel
 * parameters (struct rt_gemm, opencl/kernels/gemm.cl): the register block
 * first, from the ones that fit the device's vector registers, then the
 * tile budget and the K slice around the best block; each candidate is
 * built, checked and timed in a child like CLBlast's. */
#include "tune.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define KILN_REPS_S 0.3		/* seconds of timed calls per shape */
#define KILN_CHILD_S 120.0	/* a candidate that takes longer hangs */
#define KILN_KEEP 1.02		/* a tuned set must beat the default by 2%:
				 * less is noise on a shared machine */

/* One candidate's job: every shape, through the engine's kernel. */
static void
kiln_job(const struct tuner *tu, const struct rt_gemm *g,
	const double *ref_s, struct job *job)
{
	size_t s;

	memset(job, 0, sizeof(*job));
	job->phase = PH_KILN;
	job->engine = 1;
	job->gemm = *g;
	job->norder = tu->nshapes;
	for (s = 0; s < tu->nshapes; s++) {
		double r = ref_s != NULL && ref_s[s] > 0 ?
			KILN_REPS_S / ref_s[s] : 3;

		job->order[s] = s;
		job->reps[s] = r < 2 ? 2 : r > 50 ? 50 : (int)r;
		/* 3x the reference is a loser: stop timing it. */
		job->give_up[s] = ref_s != NULL && ref_s[s] > 0 ?
			fmax(0.25, 3 * ref_s[s]) : 0;
	}
	job->stop_when_slow = 1;
}

/* Runs g; returns its score (0 when it failed or gave up) with its times
 * in times (may be NULL) and, when eff is not NULL, the parameters in
 * force in the child (g's over the device's defaults) in *eff and the
 * device's preferred float vector width in *vec. */
static double
kiln_try(struct tuner *tu, const char *what, const struct rt_gemm *g,
	const double *ref_s, double best_sc, double *times,
	struct rt_gemm *eff, uint32_t *vec)
{
	struct job job;
	struct result r;
	int first = eff != NULL;
	char desc[80];
	double sc;

	kiln_job(tu, g, ref_s, &job);
	if (tune_run_job(tu, &job, tuning_now() + KILN_CHILD_S, &r) != 0)
		return 0;
	tu->candidates++;
	sc = r.status == RES_OK ? tune_score(tu, r.best_s) : 0;
	rt_gemm_format(g, desc, sizeof(desc));
	printf("[%4.0fs] %-7s %s\n         -> ", tune_elapsed(tu), what, desc);
	if (r.status == RES_OK)
		printf("%.1f GFLOP/s (build+check %.1fs)%s\n", sc, r.setup_s,
			sc > best_sc ? "  * best so far" : "");
	else
		printf("%s: %s\n", tune_status_name[r.status], r.msg);
	fflush(stdout);
	if (times != NULL && sc > 0)
		memcpy(times, r.best_s, sizeof(r.best_s));
	if (first) {
		*eff = r.gemm;
		*vec = r.vec_float;
		/* The device is known now: the previous file's sets. */
		if (r.status == RES_OK)
			tune_load_previous(tu, &r);
	}
	return sc;
}

/* How far a block's accumulators are from three quarters of the
 * registers: more leaves the compiler few for the loads and addresses
 * (7 x 4 of AVX-512's 32 measured slower than 8 x 2 here), fewer does
 * less work per load. */
static uint32_t
block_distance(const struct rt_gemm *g, uint32_t regs)
{
	uint32_t acc = g->mr * g->nv, target = regs * 3 / 4;

	return acc > target ? acc - target : target - acc;
}

/* Register blocks worth trying for vectors of vw floats on a device with
 * about regs vector registers: mr x nv accumulators from half of them to
 * all but the nv loads of B and the broadcast of A, those nearest three
 * quarters of the registers first, wider first among equals (a short
 * budget tries only the first few). Returns how many went to out (at
 * most max). */
static size_t
blocks(uint32_t vw, uint32_t regs, struct rt_gemm *out, size_t max)
{
	size_t n = 0, i, j;
	uint32_t nv, mr;

	for (nv = 4; nv >= 1; nv--)
		for (mr = 16; mr >= 1; mr--) {
			uint32_t acc = mr * nv;

			if (acc < regs / 2 || acc + nv + 1 > regs || n == max)
				continue;
			memset(&out[n], 0, sizeof(out[n]));
			out[n].mr = mr;
			out[n].nv = nv;
			out[n].vw = vw;
			n++;
		}
	/* Stable insertion sort by that distance (they were made widest
	 * first). */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && block_distance(&out[j - 1], regs) >
		    block_distance(&out[j], regs); j--) {
			struct rt_gemm x = out[j];

			out[j] = out[j - 1];
			out[j - 1] = x;
		}
	return n;
}

/* Whether another candidate taking about `cost` seconds fits before
 * `until` (absolute, tuning_now()). */
static int
fits(double cost, double until)
{
	return tuning_now() + cost <= until;
}

int
tune_search_kiln(struct tuner *tu, double until, struct rt_gemm *best,
	double *best_s, double *def_s)
{
	struct rt_gemm cand[64], g, def, eff;
	static const uint32_t tiles[] = { 1024, 4096, 512, 8192 };
	static const uint32_t slices[] = { 1024, 2048, 768, 3072 };
	double best_sc, def_sc, sc, cost, t, times[MAX_SHAPES];
	uint32_t vec = 0, vw, regs;
	size_t n, i;

	memset(&def, 0, sizeof(def));
	t = tuning_now();
	def_sc = kiln_try(tu, "default", &def, NULL, 0, def_s, &eff, &vec);
	if (def_sc <= 0)
		return -1;
	/* From here on every candidate names all five parameters. */
	def = eff;
	cost = fmax(1.0, tuning_now() - t);
	vw = vec >= 16 ? 16 : vec >= 8 ? 8 : 4;
	/* AVX-512 has 32 vector registers; AVX2, SSE and most others 16. */
	regs = vw == 16 ? 32 : 16;
	printf("engine GEMM kernel: register blocks of %u-float vectors "
		"for %u registers, then tiles and K slices\n", vw, regs);
	memcpy(best_s, def_s, MAX_SHAPES * sizeof(*best_s));
	*best = def;
	best_sc = def_sc;

	n = 0;
	/* The previous file's set first: tuning again refines. */
	if (tu->have_prev && tu->prev.have_gemm)
		cand[n++] = tu->prev.gemm;
	n += blocks(vw, regs, cand + n, ARRAY_LEN(cand) - n);
	if (vw > 4)	/* half-width vectors: twice the registers' worth */
		n += blocks(vw / 2, regs, cand + n, ARRAY_LEN(cand) - n);
	for (i = 0; i < n && fits(cost, until); i++) {
		if (cand[i].tile_kb == 0)
			cand[i].tile_kb = def.tile_kb;
		if (cand[i].kslice == 0)
			cand[i].kslice = def.kslice;
		if (!memcmp(&cand[i], &def, sizeof(def)))
			continue;
		t = tuning_now();
		sc = kiln_try(tu, "block", &cand[i], def_s, best_sc, times,
			NULL, NULL);
		cost = fmax(cost, tuning_now() - t);
		if (sc > best_sc) {
			best_sc = sc;
			*best = cand[i];
			memcpy(best_s, times, sizeof(times));
		}
	}
	/* Tiles and slices around the best block: each move that wins is
	 * kept (coordinate descent, one pass). */
	for (i = 0; i < ARRAY_LEN(tiles) + ARRAY_LEN(slices) &&
	    fits(cost, until); i++) {
		g = *best;
		if (i < ARRAY_LEN(tiles))
			g.tile_kb = tiles[i];
		else
			g.kslice = slices[i - ARRAY_LEN(tiles)];
		if (!memcmp(&g, best, sizeof(g)))
			continue;
		sc = kiln_try(tu, i < ARRAY_LEN(tiles) ? "tile" : "kslice",
			&g, def_s, best_sc, times, NULL, NULL);
		if (sc > best_sc) {
			best_sc = sc;
			*best = g;
			memcpy(best_s, times, sizeof(times));
		}
	}
	if (best_sc <= def_sc * KILN_KEEP) {
		printf("engine GEMM: the default parameters were as fast "
			"(within %.0f%%)\n", (KILN_KEEP - 1) * 100);
		*best = def;
		memcpy(best_s, def_s, MAX_SHAPES * sizeof(*best_s));
		return 0;
	}
	/* The winner ran once on a shared machine: time it again next to
	 * the default before it is believed. */
	def_sc = fmax(def_sc, kiln_try(tu, "default", &def, def_s, 0, NULL,
		NULL, NULL));
	sc = kiln_try(tu, "confirm", best, def_s, def_sc, times, NULL, NULL);
	if (sc <= def_sc * KILN_KEEP) {
		printf("engine GEMM: not confirmed against the default "
			"(%.1f vs %.1f GFLOP/s): keeping the default\n", sc,
			def_sc);
		*best = def;
		memcpy(best_s, def_s, MAX_SHAPES * sizeof(*best_s));
		return 0;
	}
	memcpy(best_s, times, sizeof(times));
	return 1;
}
