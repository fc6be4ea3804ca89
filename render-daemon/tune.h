/* tune.h - what the parts of kiln-render tune share: the parameter
 * spaces, one candidate's job and result, the tuner's state, and the
 * steps cmd_tune.c runs in order. */
#ifndef KILN_TUNE_H
#define KILN_TUNE_H

#include "tuning.h"

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_SHAPES 16
#define MAX_TRIED 2048

/* One CLBlast parameter and the values the search tries. */
struct param {
	const char *name;
	size_t nvals;
	size_t vals[6];
};

/* CLBlast 1.5's Xgemm (src/kernels/level3/xgemm_part*.opencl), names in
 * its database order. GEMMK=0 tiles through local memory (KWG, KWI, SA,
 * SB, STRM, STRN, MDIMA, NDIMB); GEMMK=1 tiles in registers over KREG
 * and needs no transposed copies for row-major inputs. */
enum { X_GEMMK, X_KREG, X_KWG, X_KWI, X_MDIMA, X_MDIMC, X_MWG, X_NDIMB,
	X_NDIMC, X_NWG, X_SA, X_SB, X_STRM, X_STRN, X_VWM, X_VWN, X_N };

/* CLBlast 1.5's XgemmDirect (xgemm_direct_part*.opencl): one WGD-sized
 * tile per work-group, no padding or transposing copies. */
enum { D_KWID, D_MDIMAD, D_MDIMCD, D_NDIMBD, D_NDIMCD, D_PADA, D_PADB,
	D_VWMD, D_VWND, D_WGD, D_N };

/* A space of configurations for one CLBlast kernel. */
struct space {
	const char *kernel;		/* CLBlast kernel name */
	const struct param *p;
	size_t n;
	int (*valid)(const size_t *, size_t, unsigned long long);
	void (*canon)(size_t *);
};

/* Xgemm's and XgemmDirect's (tune_space.c). */
extern const struct space tune_xgemm, tune_direct;

/* --gemmk1: also try Xgemm's GEMMK=1 kernel (see xgemm_valid in
 * tune_space.c). */
extern int tune_allow_gemmk1;

enum phase { PH_BASELINE, PH_XGEMM, PH_DIRECT, PH_FINAL, PH_KILN };

/* What one child run asks for. */
struct job {
	enum phase phase;
	struct tuning set;		/* overrides, all given to CLBlast */
	size_t order[MAX_SHAPES];	/* shapes to time, in this order */
	size_t norder;
	double give_up[MAX_SHAPES];	/* per shape; 0: never */
	int reps[MAX_SHAPES];		/* timed calls per shape */
	int stop_when_slow;		/* stop timing at the first give-up */
	/* The engine's own kernel with these parameters (0 fields: the
	 * device's defaults) instead of CLBlast. */
	int engine;
	struct rt_gemm gemm;
};

enum status { RES_OK, RES_WRONG, RES_CRASH, RES_TIMEOUT, RES_SLOW };

/* The status for people, by enum status. */
extern const char *const tune_status_name[];

struct result {
	enum status status;
	char msg[600];
	double setup_s;			/* open + validate: mostly compiling */
	double best_s[MAX_SHAPES];	/* 0: not timed */
	char device[256];
	char driver[128];
	size_t max_wg;			/* the device's limits */
	unsigned long long local_mem;
	struct rt_gemm gemm;		/* the engine's GEMM parameters */
	uint32_t vec_float;		/* preferred float vector width */
};

struct tuner {
	const char *device_sel;
	struct tuning_shape shapes[MAX_SHAPES];
	size_t nshapes;
	double budget, t0;
	double base_s[MAX_SHAPES];	/* CLBlast's defaults, per shape */
	/* Build-and-check seconds of the candidates built so far (not found
	 * in PoCL's cache), Xgemm [0] and XgemmDirect [1] apart: the direct
	 * kernels build several times slower. */
	double setup_sum[2], setup_max[2];
	int nsetup[2];
	int candidates;
	uint64_t rng;
	/* The sets of the device's previous tuning file: tried first, so
	 * that running the tuner again refines rather than starts over. */
	size_t prev_x[X_N], prev_d[D_N];
	int have_prev_x, have_prev_d;
	/* The whole previous file (for this device and driver). */
	struct tuning prev;
	int have_prev, prev_loaded;
	/* Configurations already run, per phase, to never run one twice. */
	size_t tried[MAX_TRIED][X_N];
	int tried_phase[MAX_TRIED];
	size_t ntried;
};

/* --- tune_space.c: configurations -------------------------------------- */

/* Whether v already ran in phase ph (n values compared). */
int tune_tried_before(struct tuner *tu, enum phase ph, const size_t *v,
	size_t n);
/* Records that v ran in phase ph (quietly not once MAX_TRIED ran). */
void tune_remember(struct tuner *tu, enum phase ph, const size_t *v,
	size_t n);
/* A valid configuration not run before: from `from`, one or two
 * parameters moved to a neighbouring value (hill climbing), or, one time
 * in four or when from is NULL, anywhere in the space. Returns 0, or -1
 * when none was found. */
int tune_propose(struct tuner *tu, const struct space *sp, enum phase ph,
	const size_t *from, size_t max_wg, unsigned long long local_mem,
	size_t *out);
/* Sets configuration v of sp as t's overrides of sp's kernel. Returns 0,
 * or -1 when t has no room. */
int tune_set_kernel(struct tuning *t, const struct space *sp,
	const size_t *v);
/* Sets CLBlast's XGEMM_MIN_INDIRECT_SIZE in t. Returns 0 or -1. */
int tune_set_threshold(struct tuning *t, size_t min_indirect);
/* "NAME=value ..." of v into out (n bytes), cut short when it is full. */
void tune_describe(const struct space *sp, const size_t *v, char *out,
	size_t n);

/* --- tune_child.c: one candidate ----------------------------------------- */

/* Runs job in a child, waiting until deadline (absolute, tuning_now()).
 * Returns 0 with *r filled in (its status says how the child fared), or
 * -1 when no child could be started. */
int tune_run_job(const struct tuner *tu, const struct job *job,
	double deadline, struct result *r);

/* --- tune_search.c: scores and the searches ----------------------------- */

/* Seconds since the tuner started. */
double tune_elapsed(const struct tuner *tu);
/* GFLOP/s of shape s at secs a call; 0 when not timed. */
double tune_gflops(const struct tuner *tu, size_t s, double secs);
/* The geometric mean of GFLOP/s over all shapes (every shape counts the
 * same, whatever its size), or 0 when one is missing. */
double tune_score(const struct tuner *tu, const double *best_s);
/* m n k of the shape. */
unsigned long long tune_volume(const struct tuning_shape *s);
/* Picks CLBlast's direct/indirect threshold from per-shape times of the
 * indirect (ind) and direct (dir, 0 where not timed) kernels; returns
 * the score, with the threshold in *thr and how many shapes go direct
 * in *ndirect. */
double tune_pick_threshold(const struct tuner *tu, const double *ind,
	const double *dir, size_t *thr, size_t *ndirect);
/* Every shape into job, in order, with its number of timed calls. */
void tune_all_shapes(const struct tuner *tu, struct job *job);
/* The Xgemm search over frac of the budget: best and best_s receive the
 * fastest configuration and its times. Returns 0 when one was found, -1
 * when none ran correctly. */
int tune_search_xgemm(struct tuner *tu, double frac, size_t max_wg,
	unsigned long long local_mem, size_t *best, double *best_s);
/* The XgemmDirect search against the indirect times ind_s: best receives
 * the winner (*tuned 0 when that is CLBlast's own) and best_s its times
 * (0 where not timed). */
void tune_search_direct(struct tuner *tu, const double *ind_s, double frac,
	size_t max_wg, unsigned long long local_mem, size_t *best,
	int *tuned, double *best_s);

/* --- tune_kiln.c: the engine's own kernel ------------------------------ */

/* Searches the engine GEMM's parameters until `until` (absolute,
 * tuning_now()): def_s receives the device defaults' times, best and
 * best_s the winner (every field set) and its. Returns 1 when a set
 * beat the defaults (and was confirmed), 0 when the defaults stay (best
 * holds them), -1 when even the defaults failed. */
int tune_search_kiln(struct tuner *tu, double until, struct rt_gemm *best,
	double *best_s, double *def_s);

/* --- tune_report.c: the tuning files and the table ----------------------- */

/* Reads the device's current tuning file, when it is for the device and
 * driver of base, into tu's prev_* sets. */
void tune_load_previous(struct tuner *tu, const struct result *base);
/* The per-shape table of default and tuned speeds, on stdout. */
void tune_print_table(const struct tuner *tu, const double *base_s,
	const double *final_s, size_t thr, int kept);
/* The run's summary for the tuning file's "tuner" member, or NULL when
 * memory runs out. */
struct json_object *tune_info(const struct tuner *tu, const double *base_s,
	const double *final_s, size_t thr, int kept);
/* Writes set with info as the device's tuning file. Returns 0, or -1
 * with a message on stderr. */
int tune_save(struct tuner *tu, const struct tuning *set,
	struct json_object *info);

#endif
