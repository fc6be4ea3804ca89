/* runtime.h - the device every engine op runs on, whatever the backend
 * (backend.h; OpenCL is the one there is): opening it, its description,
 * device memory with a pool and its accounting, profiling, and error
 * messages that name the failing call. No backend type appears here:
 * model code sees only this, tensor.h and ops.h. */
#ifndef KILN_RUNTIME_H
#define KILN_RUNTIME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct kiln_backend;
struct rt_buf;
struct wt_registry;

/* Which attention kernel op_attention runs: AUTO picks the fused one on
 * CPUs and the blocked GEMMs elsewhere. */
enum rt_attn { RT_ATTN_AUTO, RT_ATTN_FUSED, RT_ATTN_BLOCKED };

/* The parameters of the engine's GEMM kernel (opencl/kernels/gemm.cl):
 * each work item computes mr rows by nv vectors of vw floats of C, which
 * must fit the vector registers; work-groups are tiles of such blocks
 * whose panels of A and B stay within tile_kb KiB of cache; K longer
 * than kslice goes in slices that add into C. In engine_opts a 0 field
 * leaves the runtime's value (the device's default, or its tuning
 * file's). */
struct rt_gemm {
	uint32_t mr, vw, nv;
	uint32_t tile_kb;
	uint32_t kslice;
};

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
	/* The engine's GEMM parameters, over the device's default and its
	 * tuning file (the tuner's candidates, benchmarks). */
	struct rt_gemm gemm;
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

/* Whether g's set fields (0: unset) are values the GEMM kernel takes:
 * mr 1-16, vw 2, 4, 8 or 16, nv 1-4, mr x nv at most 32 vectors,
 * tile_kb 16-65536, kslice 64-65536. Returns 0, or -1 with err naming
 * the field. */
int rt_gemm_check(const struct rt_gemm *g, char *err, size_t errlen);

/* Parses "mr=8,vw=16,nv=2,tile=2048,kslice=1536" (any subset, any
 * order) into g (fields not named are left as they are) and checks it.
 * Returns 0, or -1 with err naming what is wrong. */
int rt_gemm_parse(const char *s, struct rt_gemm *g, char *err,
	size_t errlen);

/* "mr=8,vw=16,nv=2,tile=2048,kslice=1536" of g into out. */
void rt_gemm_format(const struct rt_gemm *g, char *out, size_t n);

/* What kind of device a backend runs on: some ops choose their
 * kernels by it (CPUs take other shapes of work than GPUs). */
enum rt_devtype { RT_DEV_OTHER, RT_DEV_CPU, RT_DEV_GPU };

/* A device and everything the engine keeps with it. The backend's own
 * state (for OpenCL: platform, context, queue, programs, kernels) is
 * behind dev, which only the backend reads; the rest is the same for
 * every backend. */
struct kiln_rt {
	const struct kiln_backend *be;	/* the backend that opened it */
	void *dev;			/* the backend's own state */

	/* The device, as the backend describes it at open. */
	enum rt_devtype type;
	char device_name[256];
	char platform_name[256];
	char driver_version[128];
	size_t max_wg;			/* largest work-group */
	uint32_t compute_units;		/* cores, SMs, CUs: >= 1 */
	uint64_t global_mem;		/* bytes of device memory */
	uint64_t max_alloc;		/* largest single buffer */
	uint64_t local_mem;		/* bytes of work-group memory */
	uint32_t vec_float;		/* preferred float vector width */

	/* The engine's GEMM parameters in force: the device's default, a
	 * tuning file's, then engine_opts.gemm's (see rt_gemm). */
	struct rt_gemm gemm;

	/* Kernels the backend has made ready so far: one made during a
	 * render was compiled (or at least specialised) in it. */
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
	int gemm_tuned;			/* ... and among them the engine's own
					 * kernel's (rt->gemm) */

	/* While set, the weight loaders (weights.h) record every weight
	 * they upload here: the caller that set it owns it. */
	struct wt_registry *weights;

	char err[2048];			/* last failure, see rt_error() */
	/* The first non-empty compiler log of a program built from source
	 * (its warnings): a clean build says nothing. "" when none. */
	char build_note[1024];
};

/* Opens a device through the OpenCL backend (the one there is).
 * selector: NULL or "" picks the first GPU, else the first device; "gpu",
 * "cpu" or "accelerator" the first of that type; "N" the N-th device over
 * all platforms; "P:D" device D of platform P; anything else the first
 * device whose name or platform name contains it (case insensitive).
 * opts (NULL: engine_opts_init's) is copied into the runtime. Returns 0
 * with *out, or -1 with err naming what was found (and that
 * pocl-opencl-icd provides a CPU device).
 * Then applies the device's GEMM tuning file (tuning.h) unless
 * opts->tuning is 0; a malformed file fails the open with err naming the
 * file, so it is fixed rather than silently slow. */
int rt_open(struct kiln_rt **out, const char *selector,
	const struct engine_opts *opts, char *err, size_t errlen);

/* Releases everything, pooled buffers included; accepts NULL. */
void rt_free(struct kiln_rt *rt);

/* Prepares every kernel the backend has ahead of use (OpenCL: builds
 * every embedded program that is not built yet, from the binary cache
 * where it holds one), so a daemon pays the compiler at start-up rather
 * than on its first job; what the compiler said of a program it built
 * from source is in rt->build_note. Returns how many programs it built,
 * or -1 with rt_error naming the one that failed. */
int rt_build_all(struct kiln_rt *rt);

/* Waits for everything queued on the device. Returns 0, or -1 with
 * rt_error() set. */
int rt_finish(struct kiln_rt *rt);

/* The message of the last failure. */
const char *rt_error(const struct kiln_rt *rt);

/* Records a failure as a message and returns -1, so callers can
 * `return rt_failf(...)`. */
int rt_failf(struct kiln_rt *rt, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Device memory. rt_alloc returns a buffer of at least n bytes (a pooled
 * one when one of a fitting size is free) as the backend's opaque
 * handle, or NULL with rt_error() set; rt_release gives it back to the
 * pool. *cap receives the real size. */
void *rt_alloc(struct kiln_rt *rt, size_t n, size_t *cap);
void rt_release(struct kiln_rt *rt, void *buf, size_t cap);
/* Frees every pooled buffer (live ones stay). */
void rt_trim(struct kiln_rt *rt);

/* Profiling (see struct kiln_rt): monotonic seconds, a sample to add to
 * name's row, the table sorted by time, to f, and a fresh table. */
double rt_now(void);
void rt_prof_add(struct kiln_rt *rt, const char *name, double seconds,
	double flops);
void rt_prof_report(const struct kiln_rt *rt, FILE *f);
void rt_prof_reset(struct kiln_rt *rt);

#endif
