/* tune_search.c - kiln-render tune's searches: scoring by geometric mean,
 * the time budget, the Xgemm search with its confirmation, the
 * XgemmDirect search and CLBlast's threshold between the two. */
#include "tune.h"
#include "util.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define TOP_K 3			/* Xgemm candidates timed again at the end */
#define REPS 2			/* timed calls per shape at least; the best
				 * counts */
#define MAX_REPS 50
#define REP_SECONDS 0.3		/* small shapes get more calls, up to this */
#define GIVE_UP_FLOOR 0.25	/* never give up on a call faster than this:
				 * cheap, and noise on a loaded machine */
#define SETUP_GUESS 10.0	/* seconds to build CLBlast's program, before
				 * one has been seen */
#define CHILD_LIMIT 120.0	/* seconds before a candidate counts as hung,
				 * at least (builds take 20-60 s on a loaded
				 * 2-core machine) */
#define FORCE_INDIRECT 0	/* XGEMM_MIN_INDIRECT_SIZE: m n k < 0^3 never */
#define FORCE_DIRECT (1u << 20)	/* m n k < 2^60: always */

/* Starting points, best guesses first (a small budget tries only the
 * first): wide vectors and large tiles suit a CPU (AVX-512 takes 16
 * floats); then the two best this tuner found on PoCL 3.1 (2-core
 * AVX-512 EPYC), then CLBlast's generic and CPU defaults and entries
 * from its database. */
static const size_t xgemm_seeds[][X_N] = {
	{ 0, 1, 32, 2, 8, 8, 128, 8, 8, 128, 0, 0, 0, 0, 16, 16 },
	{ 0, 1, 32, 8, 16, 8, 128, 8, 4, 64, 0, 0, 0, 0, 8, 8 },
	{ 0, 1, 32, 2, 8, 8, 64, 8, 4, 64, 0, 0, 0, 0, 8, 8 },
	{ 0, 1, 16, 2, 8, 8, 64, 8, 8, 64, 0, 0, 0, 0, 8, 8 },
	{ 0, 1, 32, 2, 16, 16, 64, 8, 8, 64, 0, 0, 0, 0, 4, 4 },
	{ 0, 1, 32, 2, 8, 8, 32, 16, 16, 32, 1, 1, 0, 0, 4, 2 },
	{ 1, 4, 1, 1, 8, 8, 64, 8, 8, 64, 0, 0, 0, 0, 8, 4 },
	{ 1, 16, 1, 1, 2, 2, 64, 2, 2, 128, 0, 0, 0, 0, 8, 2 },
};

/* Starting points for XgemmDirect, best guesses first. */
static const size_t direct_seeds[][D_N] = {
	{ 8, 4, 4, 4, 4, 1, 1, 8, 4, 32 },
	{ 2, 8, 8, 8, 8, 1, 1, 4, 4, 32 },
	{ 8, 8, 8, 8, 8, 1, 1, 8, 8, 64 },
	{ 2, 8, 8, 8, 8, 1, 1, 1, 1, 32 },
	{ 16, 4, 4, 4, 4, 0, 0, 8, 8, 64 },
};

double
tune_elapsed(const struct tuner *tu)
{
	return tuning_now() - tu->t0;
}

double
tune_gflops(const struct tuner *tu, size_t s, double secs)
{
	return secs > 0 ? tuning_shape_flop(&tu->shapes[s]) / secs / 1e9 : 0;
}

double
tune_score(const struct tuner *tu, const double *best_s)
{
	double sum = 0;
	size_t s;

	for (s = 0; s < tu->nshapes; s++) {
		if (!(best_s[s] > 0))
			return 0;
		sum += log(tune_gflops(tu, s, best_s[s]));
	}
	return exp(sum / (double)tu->nshapes);
}

unsigned long long
tune_volume(const struct tuning_shape *s)
{
	return (unsigned long long)s->m * s->n * s->k;
}

/* The largest T with T^3 <= v. */
static size_t
icbrt(unsigned long long v)
{
	size_t t = (size_t)cbrt((double)v);

	while ((unsigned long long)(t + 1) * (t + 1) * (t + 1) <= v)
		t++;
	while (t > 0 && (unsigned long long)t * t * t > v)
		t--;
	return t;
}

/* Shape indices sorted by volume, smallest first. */
static void
by_volume(const struct tuner *tu, size_t *order)
{
	size_t i, j;

	for (i = 0; i < tu->nshapes; i++)
		order[i] = i;
	for (i = 1; i < tu->nshapes; i++)
		for (j = i; j > 0 && tune_volume(&tu->shapes[order[j - 1]]) >
		    tune_volume(&tu->shapes[order[j]]); j--) {
			size_t x = order[j];

			order[j] = order[j - 1];
			order[j - 1] = x;
		}
}

/* CLBlast runs the direct kernel when m n k < XGEMM_MIN_INDIRECT_SIZE^3.
 * Given per-shape times of the best indirect (ind) and a direct (dir, 0
 * where not timed) configuration, picks the threshold that gives the
 * best geometric mean: the shapes below it use dir. Shapes smaller than
 * any measured one stay direct, as CLBlast would have them. Returns the
 * score; *thr and *ndirect receive the threshold and how many shapes go
 * direct. */
double
tune_pick_threshold(const struct tuner *tu, const double *ind,
	const double *dir, size_t *thr, size_t *ndirect)
{
	size_t order[MAX_SHAPES], p, i, best_p = 0;
	double best = -1, cur[MAX_SHAPES];

	by_volume(tu, order);
	*thr = icbrt(tune_volume(&tu->shapes[order[0]]));
	*ndirect = 0;
	for (p = 0; p <= tu->nshapes; p++) {
		unsigned long long lo, hi;
		size_t t;
		double sc;

		/* Equal volumes cannot be split by a threshold. */
		if (p > 0 && p < tu->nshapes &&
		    tune_volume(&tu->shapes[order[p - 1]]) ==
		    tune_volume(&tu->shapes[order[p]]))
			continue;
		for (i = 0; i < tu->nshapes; i++)
			cur[order[i]] = i < p ? dir[order[i]] : ind[order[i]];
		sc = tune_score(tu, cur);
		if (!(sc > best * 1.001))	/* ties go indirect */
			continue;
		if (p == 0) {
			t = icbrt(tune_volume(&tu->shapes[order[0]]));
		} else if (p == tu->nshapes) {
			t = icbrt(tune_volume(&tu->shapes[order[p - 1]])) + 1;
		} else {
			lo = tune_volume(&tu->shapes[order[p - 1]]);
			hi = tune_volume(&tu->shapes[order[p]]);
			t = icbrt(hi);
			if ((unsigned long long)t * t * t <= lo)
				continue;	/* too close to separate */
		}
		best = sc;
		best_p = p;
		*thr = t;
	}
	*ndirect = best_p;
	return best;
}

static void
progress(struct tuner *tu, const char *what, const char *desc,
	const struct result *r, double sc, int is_best)
{
	printf("[%4.0fs] %-7s %s\n         -> ", tune_elapsed(tu), what, desc);
	if (r->status == RES_OK || (r->status == RES_SLOW && sc > 0))
		printf("%.1f GFLOP/s%s (build+check %.1fs)%s\n", sc,
			r->status == RES_SLOW ? " (gave up early)" : "",
			r->setup_s, is_best ? "  * best so far" : "");
	else
		printf("%s: %s\n", tune_status_name[r->status], r->msg);
	fflush(stdout);
}

static void
note_setup(struct tuner *tu, const struct result *r, int which)
{
	/* Under a second: PoCL had the program cached. */
	if (r->setup_s > 1.0) {
		tu->setup_sum[which] += r->setup_s;
		tu->nsetup[which]++;
		if (r->setup_s > tu->setup_max[which])
			tu->setup_max[which] = r->setup_s;
	}
}

/* Timed calls for a shape that takes ref seconds a call. */
static int
reps_for(double ref)
{
	double r = ref > 0 ? REP_SECONDS / ref : REPS;

	return r < REPS ? REPS : r > MAX_REPS ? MAX_REPS : (int)r;
}

/* Seconds to time every shape (warm-up included) at ref_s. */
static double
timing_guess(const struct tuner *tu, const double *ref_s)
{
	double c = 0, r;
	size_t s;

	for (s = 0; s < tu->nshapes; s++) {
		r = ref_s[s] > 0 ? ref_s[s] : 0.5;
		c += (reps_for(r) + 1) * r;
	}
	return c + 1.0;
}

/* Building CLBlast's program for a new Xgemm (which 0) or XgemmDirect
 * (1) set and checking it: the mean over the candidates built so far; a
 * direct one, before any, at twice an Xgemm one. */
static double
setup_guess(const struct tuner *tu, int which)
{
	if (tu->nsetup[which])
		return tu->setup_sum[which] / tu->nsetup[which];
	return which == 1 ? 2 * setup_guess(tu, 0) : tu->nsetup[0] ?
		tu->setup_sum[0] / tu->nsetup[0] : SETUP_GUESS;
}

static double
cost_guess(const struct tuner *tu, int which, const double *ref_s)
{
	return setup_guess(tu, which) + timing_guess(tu, ref_s);
}

/* Whether a candidate that costs `cost` still fits when started now: it
 * must end before `frac` of the budget left after the time kept for the
 * final build and check. */
static int
time_for(const struct tuner *tu, double cost, double frac)
{
	/* The final set rebuilds Xgemm and, when one was tuned, the
	 * direct kernels at once: the slowest build of all. */
	double reserve = setup_guess(tu, 0) + fmax(tu->setup_max[0],
		tu->setup_max[1]) + timing_guess(tu, tu->base_s);

	return tuning_now() + cost <= tu->t0 + frac * (tu->budget - reserve);
}

void
tune_all_shapes(const struct tuner *tu, struct job *job)
{
	size_t s;

	job->norder = tu->nshapes;
	for (s = 0; s < tu->nshapes; s++) {
		job->order[s] = s;
		job->reps[s] = tu->base_s[s] > 0 ? reps_for(tu->base_s[s]) :
			REPS + 1;
	}
}

/* The indirect (Xgemm) search: every candidate forced through the
 * indirect path. best receives the fastest configuration and best_s its
 * times. Returns 0 when one was found, -1 when none ran correctly. */
/* The Xgemm job for configuration v: forced through the indirect path,
 * every shape. */
static int
xgemm_job(const struct tuner *tu, const size_t *v, struct job *job)
{
	memset(job, 0, sizeof(*job));
	job->phase = PH_XGEMM;
	if (tune_set_kernel(&job->set, &tune_xgemm, v) != 0 ||
	    tune_set_threshold(&job->set, FORCE_INDIRECT) != 0)
		return -1;
	tune_all_shapes(tu, job);
	return 0;
}

struct top {
	size_t v[X_N];
	double sc;
};

/* Keeps the TOP_K best configurations, best first. */
static void
top_add(struct top *top, int *ntop, const size_t *v, double sc)
{
	int i;

	if (*ntop == TOP_K) {
		if (top[TOP_K - 1].sc >= sc)
			return;
		i = TOP_K - 1;		/* the last one drops out */
	} else {
		i = (*ntop)++;
	}
	for (; i > 0 && top[i - 1].sc < sc; i--)
		top[i] = top[i - 1];
	memcpy(top[i].v, v, sizeof(top[i].v));
	top[i].sc = sc;
}

/* Times the leaders again, one after the other: on a shared machine one
 * lucky (or unlucky) measurement should not decide, and their programs
 * are in PoCL's cache by now, so this costs only the timing. */
static void
confirm_xgemm(struct tuner *tu, const struct top *top, int ntop,
	size_t *best, double *best_s)
{
	double best_sc = 0;
	char desc[400];
	int i;

	for (i = 0; i < ntop; i++) {
		struct job job;
		struct result r;
		double sc;

		if (xgemm_job(tu, top[i].v, &job) != 0 ||
		    tune_run_job(tu, &job, tuning_now() + CHILD_LIMIT, &r) != 0)
			return;
		sc = r.status == RES_OK ? tune_score(tu, r.best_s) : 0;
		tune_describe(&tune_xgemm, top[i].v, desc, sizeof(desc));
		printf("[%4.0fs] confirm %s\n         -> %.1f GFLOP/s (was "
			"%.1f)%s\n", tune_elapsed(tu), desc, sc, top[i].sc,
			sc > best_sc ? "  * best so far" : "");
		fflush(stdout);
		if (sc > best_sc) {
			best_sc = sc;
			memcpy(best, top[i].v, sizeof(top[i].v));
			memcpy(best_s, r.best_s, sizeof(r.best_s));
		}
	}
}

int
tune_search_xgemm(struct tuner *tu, double frac, size_t max_wg,
	unsigned long long local_mem, size_t *best, double *best_s)
{
	const double *base_s = tu->base_s;
	struct top top[TOP_K];
	double best_sc = 0;
	size_t seed = 0, v[X_N];
	char desc[400];
	int found = 0, ntop = 0, ran = 0, prev = tu->have_prev_x;

	for (;;) {
		struct job job;
		struct result r;
		double sc;
		size_t s;

		/* At least one candidate runs, whatever the budget. */
		if (ran++ > 0 && !time_for(tu, cost_guess(tu, 0, found ?
		    best_s : base_s), frac))
			break;
		if (prev) {
			prev = 0;
			memcpy(v, tu->prev_x, sizeof(v));
			if (tune_xgemm.valid(v, max_wg, local_mem))
				goto have;
		}
		while (seed < ARRAY_LEN(xgemm_seeds)) {
			memcpy(v, xgemm_seeds[seed++], sizeof(v));
			if (tune_xgemm.valid(v, max_wg, local_mem) &&
			    !tune_tried_before(tu, PH_XGEMM, v, X_N))
				goto have;
		}
		if (tune_propose(tu, &tune_xgemm, PH_XGEMM, found ? best : NULL,
		    max_wg, local_mem, v) != 0)
			break;
have:
		tune_remember(tu, PH_XGEMM, v, X_N);
		if (xgemm_job(tu, v, &job) != 0)
			return -1;
		/* Give up on a shape at 3x the best time so far: such a
		 * candidate cannot win, and slow ones are the costly ones. */
		for (s = 0; s < tu->nshapes; s++)
			job.give_up[s] = fmax(GIVE_UP_FLOOR, found ?
				3 * best_s[s] : 6 * base_s[s]);
		job.stop_when_slow = 1;
		if (tune_run_job(tu, &job, tuning_now() + fmax(CHILD_LIMIT,
		    3 * cost_guess(tu, 0, found ? best_s : base_s)), &r) != 0)
			return found ? 0 : -1;
		tu->candidates++;
		note_setup(tu, &r, 0);
		sc = r.status == RES_OK ? tune_score(tu, r.best_s) : 0;
		tune_describe(&tune_xgemm, v, desc, sizeof(desc));
		progress(tu, "xgemm", desc, &r, sc, sc > best_sc);
		if (sc > 0)
			top_add(top, &ntop, v, sc);
		if (sc > best_sc) {
			best_sc = sc;
			memcpy(best, v, sizeof(v));
			memcpy(best_s, r.best_s, sizeof(r.best_s));
			found = 1;
		}
	}
	if (ntop > 1)
		confirm_xgemm(tu, top, ntop, best, best_s);
	return found ? 0 : -1;
}

/* The direct (XgemmDirect) search over the shapes smallest first, each
 * candidate forced through the direct path and stopped at the first shape
 * where it loses clearly to the indirect best. The first run keeps
 * CLBlast's own direct parameters, the reference a tuned set must beat.
 * best receives the winner (*tuned 0 when that is CLBlast's own) and
 * best_s its times (0 where not timed). */
void
tune_search_direct(struct tuner *tu, const double *ind_s, double frac,
	size_t max_wg, unsigned long long local_mem, size_t *best,
	int *tuned, double *best_s)
{
	size_t order[MAX_SHAPES], seed = 0, v[D_N], thr, nd, s;
	double best_sc = 0, best_small = 0;
	char desc[400], sh[64];
	int first = 1, better, prev = tu->have_prev_d;

	*tuned = 0;
	memset(best_s, 0, MAX_SHAPES * sizeof(*best_s));
	by_volume(tu, order);
	for (;;) {
		struct job job;
		struct result r;
		double sc, small;

		if (!time_for(tu, cost_guess(tu, 1, ind_s), frac))
			break;
		memset(&job, 0, sizeof(job));
		job.phase = PH_DIRECT;
		if (!first) {
			if (prev) {
				prev = 0;
				memcpy(v, tu->prev_d, sizeof(v));
				if (tune_direct.valid(v, max_wg, local_mem))
					goto have;
			}
			while (seed < ARRAY_LEN(direct_seeds)) {
				memcpy(v, direct_seeds[seed++], sizeof(v));
				if (tune_direct.valid(v, max_wg, local_mem) &&
				    !tune_tried_before(tu, PH_DIRECT, v, D_N))
					goto have;
			}
			if (tune_propose(tu, &tune_direct, PH_DIRECT,
			    *tuned ? best : NULL, max_wg, local_mem, v) != 0)
				break;
have:
			tune_remember(tu, PH_DIRECT, v, D_N);
			if (tune_set_kernel(&job.set, &tune_direct, v) != 0)
				return;
		}
		if (tune_set_threshold(&job.set, FORCE_DIRECT) != 0)
			return;
		tune_all_shapes(tu, &job);
		memcpy(job.order, order, sizeof(order));
		for (s = 0; s < tu->nshapes; s++)
			job.give_up[s] = fmax(0.4 * GIVE_UP_FLOOR,
				1.5 * ind_s[s]);
		job.stop_when_slow = 1;
		if (tune_run_job(tu, &job, tuning_now() + fmax(CHILD_LIMIT,
		    3 * cost_guess(tu, 1, ind_s)), &r) != 0)
			return;
		tu->candidates++;
		note_setup(tu, &r, 1);
		/* Giving up early is the normal end here: the times up to
		 * there are what the threshold needs. */
		sc = 0;
		small = 0;
		if (r.status == RES_OK || r.status == RES_SLOW) {
			double cur[MAX_SHAPES];

			for (s = 0; s < tu->nshapes; s++)
				cur[s] = r.best_s[s];
			sc = tune_pick_threshold(tu, ind_s, cur, &thr, &nd);
			small = tune_gflops(tu, order[0], r.best_s[order[0]]);
		}
		if (first)
			snprintf(desc, sizeof(desc), "CLBlast's own "
				"XgemmDirect parameters");
		else
			tune_describe(&tune_direct, v, desc, sizeof(desc));
		/* Better combined, or as good and faster on the smallest
		 * shape, which stands for the small products below it. */
		better = sc > 0 && (sc > best_sc * 1.001 ||
			(sc >= best_sc * 0.999 && small > best_small * 1.05));
		if (sc > 0)
			printf("[%4.0fs] direct  %s\n         -> %s: %.1f "
				"GFLOP/s direct; with the threshold %.1f "
				"(build+check %.1fs)%s\n", tune_elapsed(tu),
				desc, tuning_shape_str(&tu->shapes[order[0]],
				sh, sizeof(sh)), small, sc, r.setup_s,
				better ? "  * best so far" : "");
		else
			progress(tu, "direct", desc, &r, 0, 0);
		fflush(stdout);
		if (better) {
			best_sc = sc;
			best_small = small;
			memcpy(best_s, r.best_s, MAX_SHAPES * sizeof(*best_s));
			*tuned = !first;
			if (!first)
				memcpy(best, v, sizeof(v));
		}
		first = 0;
	}
}
