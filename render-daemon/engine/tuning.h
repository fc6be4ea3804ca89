/* tuning.h - per-device GEMM tuning files: the engine's own GEMM kernel
 * parameters and CLBlast's that `kiln-render tune` found, stored as JSON
 * and applied when a runtime opens (rt->gemm, and
 * CLBlastOverrideParameters). */
#ifndef KILN_TUNING_H
#define KILN_TUNING_H

#include "runtime.h"

#include <stddef.h>

struct json_object;

#define TUNING_MAX_KERNELS 8
#define TUNING_MAX_PARAMS 24
#define TUNING_NAME_MAX 32

/* What tuning_apply did. */
enum {
	TUNING_NONE = 0,	/* no file (or no place to look for one) */
	TUNING_APPLIED = 1,	/* the file's parameters are in force */
	TUNING_STALE = 2	/* a file for another device or driver
				 * version: ignored, re-run the tuner */
};

/* One CLBlast kernel's parameter set: every parameter CLBlast knows for
 * that kernel, since CLBlastOverrideParameters takes all or nothing. */
struct tuning_kernel {
	char name[TUNING_NAME_MAX];	/* "Xgemm", "XgemmDirect", ... */
	int precision;			/* CLBlastPrecision: 16, 32, 64, ... */
	size_t nparams;
	char param[TUNING_MAX_PARAMS][TUNING_NAME_MAX];
	size_t value[TUNING_MAX_PARAMS];
};

struct tuning {
	char device[256];		/* CL_DEVICE_NAME it was tuned on */
	char driver[128];		/* CL_DRIVER_VERSION */
	/* The engine's GEMM kernel ("engine_gemm"), when have_gemm; every
	 * field set. */
	int have_gemm;
	struct rt_gemm gemm;
	size_t nkernels;
	struct tuning_kernel kernel[TUNING_MAX_KERNELS];
};

/* The tuning file for rt's device: its options' tuning_dir, then the
 * device name reduced to [A-Za-z0-9._-] plus ".json". Returns 0, or -1
 * when no directory is known or the path does not fit in n. */
int tuning_path(const struct kiln_rt *rt, char *out, size_t n);

/* Reads and validates a tuning file into *t. Returns 0, 1 when the file
 * does not exist, or -1 with rt_error() naming the file and what is wrong
 * with it. */
int tuning_load(struct kiln_rt *rt, const char *path, struct tuning *t);

/* Hands every kernel's parameters in t to CLBlast for rt's device; they
 * hold for the whole process. Returns 0, or -1 with rt_error() naming the
 * kernel and CLBlast's status. */
int tuning_override(struct kiln_rt *rt, const struct tuning *t);

/* Loads rt's tuning file when there is one for this device and driver and
 * overrides CLBlast's parameters with it; *applied receives TUNING_*. A
 * missing file is not an error. Returns 0, or -1 with rt_error() naming
 * the file (malformed, or rejected by CLBlast). */
int tuning_apply(struct kiln_rt *rt, int *applied);

/* Writes t (device and driver taken from rt) to rt's tuning file,
 * atomically, creating the directory; info (may be NULL, not consumed)
 * is stored under "tuner" for people to read. Returns 0, or -1 with
 * rt_error() set. */
int tuning_save(struct kiln_rt *rt, const struct tuning *t,
	struct json_object *info);

/* The kernel entry of that name in t, added (empty, precision 32) when
 * absent. Returns NULL when t is full. */
struct tuning_kernel *tuning_kernel(struct tuning *t, const char *name);

/* Sets or adds a parameter. Returns 0, or -1 when k is full. */
int tuning_set(struct tuning_kernel *k, const char *param, size_t value);

/* The value of a parameter, or def when k lacks it. */
size_t tuning_get(const struct tuning_kernel *k, const char *param,
	size_t def);

/* GEMM shapes and measurements shared by `kiln-render tune` and
 * `kiln-render bench-gemm`: row-major C[M, N] = op(A) op(B). */
struct tuning_shape {
	size_t m, n, k;
	int ta, tb;		/* transpose A / B */
};

/* Parses "MxNxK" with an optional ":nn", ":nt", ":tn" or ":tt" suffix
 * (transposes of A and B). Returns 0, or -1 when malformed. */
int tuning_shape_parse(const char *s, struct tuning_shape *out);

/* Parses a comma-separated list into out (at most max). Returns the count,
 * or -1 when an entry is malformed or there are more than max. */
int tuning_shapes_parse(const char *list, struct tuning_shape *out,
	size_t max);

/* "4096x320x320" (plus ":nt" and the like when transposed) into buf;
 * returns buf. */
const char *tuning_shape_str(const struct tuning_shape *s, char *buf,
	size_t n);

/* Floating-point operations of one product: 2 M N K. */
double tuning_shape_flop(const struct tuning_shape *s);

struct tuning_timing {
	double first_s;		/* the warm-up call, compilation included */
	double best_s;		/* fastest timed call */
	double median_s;
	int runs;		/* timed calls made */
	int gave_up;		/* a call took longer than give_up_s */
};

/* Times op_matmul on s with random inputs: one warm-up call, then up to reps
 * calls, each waited for with clFinish; stops after a call that takes
 * longer than give_up_s (0: never) and sets gave_up. Then checks sampled
 * entries of C against a host dot product, so a wrong kernel never
 * passes for a fast one. Returns 0, or -1 with rt_error() set (a wrong
 * result included). */
int tuning_time_gemm(struct kiln_rt *rt, const struct tuning_shape *s,
	int reps, double give_up_s, struct tuning_timing *out);

/* Runs op_matmul on small random problems with every transpose
 * combination (as views), odd and tile-aligned sizes, and batched ones,
 * comparing each whole result with a host product (max error <= 1e-4 of
 * max |reference|).
 * Returns 0, or -1 with rt_error() naming the case. */
int tuning_validate_gemm(struct kiln_rt *rt);

/* Seconds on a monotonic clock. */
double tuning_now(void);

/* The symbolic name of a CLBlast status ("CLBlastMissingOverride
 * Parameter"), or "unknown CLBlast status". */
const char *tuning_blast_strerror(int status);

#endif
