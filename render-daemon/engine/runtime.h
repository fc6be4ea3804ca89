/* runtime.h - the OpenCL runtime every engine op runs on: device choice,
 * context and queue, kernels built from the embedded .cl sources with a
 * per-device binary cache, device memory accounting, error messages that
 * name the failing call and kernel. */
#ifndef KILN_RUNTIME_H
#define KILN_RUNTIME_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stddef.h>
#include <stdio.h>

#define RT_MAX_KERNELS 128
#define RT_MAX_PROGRAMS 32

struct rt_buf;
struct wt_registry;

/* Which attention kernel op_attention runs: AUTO picks the fused one on
 * CPUs and the blocked GEMMs elsewhere. */
enum rt_attn { RT_ATTN_AUTO, RT_ATTN_FUSED, RT_ATTN_BLOCKED };

/* How the engine runs, fixed when the runtime opens. kilnd fills it from
 * kiln.conf's [engine] section, kiln-render from its environment (the
 * KILN_* variables, see kiln-render(1)); the engine itself reads no
 * environment. Plain data: rt_open copies it. */
struct engine_opts {
	/* Float16 matrices widened to float32 at load (more memory, for
	 * comparisons) instead of kept as they are. */
	int weights_f32;
	/* Every GEMM through CLBlast (for comparison, and for devices where
	 * its tuned kernels win) instead of the engine's own kernel. */
	int gemm_clblast;
	enum rt_attn attention;
	/* Every launch waited for and timed (see kiln_rt.profile). */
	int profile;
	/* Apply the device's GEMM tuning file (tuning.h) at open; 0 runs
	 * CLBlast's own parameters (benchmarks, the tuner's baseline). */
	int tuning;
	/* Compiled OpenCL programs are cached here; "": no cache. */
	char cl_cache_dir[1024];
	/* GEMM tuning files live here; "": none. */
	char tuning_dir[1024];
	/* The CLIP vocabulary for a model without one of its own when the
	 * caller names none; "": models/clip beside the binary. */
	char clip_vocab[1024];
};

/* The defaults: weights as stored, the engine's GEMM, automatic
 * attention, no profiling, tuning on, no directories. */
void engine_opts_init(struct engine_opts *o);

struct kiln_rt {
	cl_platform_id platform;
	cl_device_id device;
	cl_context ctx;
	cl_command_queue queue;
	cl_device_type type;
	char device_name[256];
	char platform_name[256];
	char driver_version[128];
	size_t max_wg;			/* CL_DEVICE_MAX_WORK_GROUP_SIZE */
	cl_uint compute_units;		/* CL_DEVICE_MAX_COMPUTE_UNITS, >= 1 */
	cl_ulong global_mem;
	cl_ulong max_alloc;
	cl_ulong local_mem;

	/* Programs built so far, by source name, and kernels by name. */
	struct {
		const char *name;
		cl_program prog;
	} progs[RT_MAX_PROGRAMS];
	size_t nprogs;
	struct {
		const char *name;
		cl_kernel k;
	} kernels[RT_MAX_KERNELS];
	size_t nkernels;
	struct engine_opts opts;	/* as given to rt_open */

	/* Device memory: every buffer the engine holds, live or pooled. */
	struct rt_buf *pool;		/* released buffers kept for reuse */
	size_t bytes_held;		/* live + pooled */
	size_t bytes_live;
	size_t peak_held;
	size_t peak_live;

	/* Tests: the fail_alloc-th rt_alloc from now on fails as if the
	 * device were out of memory (0: none), so that the error paths of a
	 * forward pass can be walked one by one. */
	size_t fail_alloc;

	size_t attn_budget;		/* bytes of attention scores, 0: default */
	size_t conv_band;		/* bytes of im2col buffer, 0: default */
	enum rt_attn attn_mode;		/* opts.attention at first */

	/* Set (from opts.profile at first), every launch is waited for and
	 * timed, per kernel name (GEMMs as "gemm"), for rt_prof_report. */
	int profile;
	struct rt_prof {
		const char *name;	/* static string */
		double seconds, flops;
		unsigned long calls;
	} prof[64];
	size_t nprof;
	int tuned;			/* a tuning file's GEMM parameters are in
					 * force (tuning.h) */

	/* While set, the weight loaders (weights.h) record every weight
	 * they upload here: the caller that set it owns it. */
	struct wt_registry *weights;

	char err[2048];			/* last failure, see rt_error() */
	/* The first non-empty compiler log of a program built from source
	 * (its warnings): a clean build says nothing. "" when none. */
	char build_note[1024];
};

/* Opens a device. selector: NULL or "" picks the first GPU, else the first
 * device; "gpu", "cpu" or "accelerator" the first of that type; "N" the
 * N-th device over all platforms; "P:D" device D of platform P; anything
 * else the first device whose name or platform name contains it (case
 * insensitive). opts (NULL: engine_opts_init's) is copied into the
 * runtime. Returns 0 with *out, or -1 with err naming what was found
 * (and that pocl-opencl-icd provides a CPU device).
 * Then applies the device's GEMM tuning file (tuning.h) unless
 * opts->tuning is 0; a malformed file fails the open with err naming the
 * file, so it is fixed rather than silently slow. */
int rt_open(struct kiln_rt **out, const char *selector,
	const struct engine_opts *opts, char *err, size_t errlen);

/* Releases everything, pooled buffers included; accepts NULL. */
void rt_free(struct kiln_rt *rt);

/* The kernel of that name, building its program on first use (from the
 * binary cache when it is there). Returns NULL with rt_error() set. */
cl_kernel rt_kernel(struct kiln_rt *rt, const char *name);

/* Builds every embedded program that is not built yet (from the binary
 * cache where it holds one), so a daemon pays the compiler at start-up
 * rather than on its first job; what the compiler said of a program it
 * built from source is in rt->build_note. Returns how many it built, or
 * -1 with rt_error naming the program that failed. */
int rt_build_all(struct kiln_rt *rt);

/* Waits for the queue. Returns 0, or -1 with rt_error() set. */
int rt_finish(struct kiln_rt *rt);

/* The message of the last failure. */
const char *rt_error(const struct kiln_rt *rt);

/* Records a failure of call (for kernel, may be NULL) with code and
 * returns -1, so ops can `return rt_fail(...)`. */
int rt_fail(struct kiln_rt *rt, const char *call, const char *kernel,
	cl_int code);
int rt_failf(struct kiln_rt *rt, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A string property of a device or platform into out (n bytes, always
 * terminated; "?" when the query fails). */
void cl_device_text(cl_device_id d, cl_device_info what, char *out,
	size_t n);
void cl_platform_text(cl_platform_id p, cl_platform_info what, char *out,
	size_t n);

/* The symbolic name of an OpenCL error code ("CL_OUT_OF_RESOURCES"). */
const char *cl_strerror(cl_int code);

/* Device memory. rt_alloc returns a buffer of at least n bytes (a pooled
 * one when one of a fitting size is free), or NULL with rt_error() set;
 * rt_release gives it back to the pool. *cap receives the real size. */
cl_mem rt_alloc(struct kiln_rt *rt, size_t n, size_t *cap);
void rt_release(struct kiln_rt *rt, cl_mem m, size_t cap);
/* Frees every pooled buffer (live ones stay). */
void rt_trim(struct kiln_rt *rt);

/* Profiling (see struct kiln_rt): monotonic seconds, a sample to add to
 * name's row, the table sorted by time, to f, and a fresh table. */
double rt_now(void);
void rt_prof_add(struct kiln_rt *rt, const char *name, double seconds,
	double flops);
void rt_prof_report(const struct kiln_rt *rt, FILE *f);
void rt_prof_reset(struct kiln_rt *rt);

/* Sets kernel arguments from a list of (size, pointer) pairs and enqueues
 * it over gws (and lws, or NULL) in dims dimensions. Returns 0 or -1. */
struct rt_arg {
	size_t size;
	const void *ptr;
};
#define RT_ARG(x) ((struct rt_arg){ sizeof(x), &(x) })
#define RT_LOCAL(bytes) ((struct rt_arg){ (bytes), NULL })
int rt_launch(struct kiln_rt *rt, const char *kernel, unsigned dims,
	const size_t *gws, const size_t *lws, const struct rt_arg *args,
	size_t nargs);

#endif
