/* runtime_cl.h - the OpenCL backend's own side of the runtime, for the
 * code that talks OpenCL (this folder, and the tools that list devices):
 * its state behind kiln_rt.dev, kernels built from the embedded .cl
 * sources with a per-device binary cache, launches, and OpenCL error
 * text. Model code never includes it (tests/engine/test_runtime.py
 * checks). */
#ifndef KILN_RUNTIME_CL_H
#define KILN_RUNTIME_CL_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include "backend.h"
#include "runtime.h"

#define RT_MAX_KERNELS 128
#define RT_MAX_PROGRAMS 32
#define RT_DEFS_MAX 128

/* What kiln_rt.dev points at under the OpenCL backend. */
struct cl_dev {
	cl_platform_id platform;
	cl_device_id device;
	cl_context ctx;
	cl_command_queue queue;

	/* Programs built so far, by source name and build options (-D
	 * definitions, see rt_defs), and kernels by name and program. */
	struct {
		const char *name;
		char defs[RT_DEFS_MAX];
		cl_program prog;
	} progs[RT_MAX_PROGRAMS];
	size_t nprogs;
	struct {
		const char *name;
		const char *prog_src;
		char defs[RT_DEFS_MAX];
		cl_kernel k;
	} kernels[RT_MAX_KERNELS];
	size_t nkernels;
	char defs[RT_DEFS_MAX];		/* rt_defs's answer */
};

/* rt's OpenCL state; rt must have been opened by this backend. */
static inline struct cl_dev *
cl_of(const struct kiln_rt *rt)
{
	return (struct cl_dev *)rt->dev;
}

/* The OpenCL implementations of the ops (ops_cl.c). */
extern const struct kiln_ops kiln_ops_cl;

/* Sets rt->gemm to the device's defaults (from rt->vec_float). */
void cl_gemm_defaults(struct kiln_rt *rt);

/* The -D definitions a source is built with on rt: "" for most; the
 * GEMM's parameters (rt->gemm) for gemm.cl. Points into rt. */
const char *rt_defs(struct kiln_rt *rt, const char *source);

/* The kernel of that name, building its program on first use (from the
 * binary cache when it is there) with the source's rt_defs. Returns NULL
 * with rt_error() set. */
cl_kernel rt_kernel(struct kiln_rt *rt, const char *name);

/* Records a failure of call (for kernel, may be NULL) with code and
 * returns -1, so ops can `return rt_fail(...)`. */
int rt_fail(struct kiln_rt *rt, const char *call, const char *kernel,
	cl_int code);

/* A string property of a device or platform into out (n bytes, always
 * terminated; "?" when the query fails). */
void cl_device_text(cl_device_id d, cl_device_info what, char *out,
	size_t n);
void cl_platform_text(cl_platform_id p, cl_platform_info what, char *out,
	size_t n);

/* The symbolic name of an OpenCL error code ("CL_OUT_OF_RESOURCES"). */
const char *cl_strerror(cl_int code);

/* Sets kernel arguments from a list of (size, pointer) pairs and enqueues
 * it over gws (and lws, or NULL) in dims dimensions. Returns 0 or -1.
 * A tensor's buffer goes as RT_ARG(t->mem): the opaque handle is the
 * cl_mem itself. */
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
