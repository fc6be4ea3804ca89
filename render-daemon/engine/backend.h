/* backend.h - the seam between the engine and a compute device, after
 * ggml's ggml_backend_i: a backend is a table of functions over an opaque
 * state (kiln_rt.dev) and opaque buffer handles (ktensor.mem). The model
 * code never sees it; runtime.c, tensor.c and ops.c call through it. A
 * second backend (a reference CPU path, CUDA, Metal) is one more table,
 * not a rewrite. OpenCL (opencl/) is the one there is. */
#ifndef KILN_BACKEND_H
#define KILN_BACKEND_H

#include "runtime.h"

#include <stddef.h>

struct kiln_backend {
	const char *name;	/* "OpenCL" */

	/* Opens the device that selector names (see rt_open) for rt, whose
	 * opts are set: sets rt->dev to the backend's state and describes
	 * the device in rt (type, names, driver version, limits). On
	 * failure it may leave rt->dev set for close to release. Returns 0,
	 * or -1 with err naming what it found. */
	int (*open)(struct kiln_rt *rt, const char *selector, char *err,
		size_t errlen);
	/* Waits for the device, then releases rt->dev and everything in it
	 * (rt->dev may be NULL); the pool's buffers are freed before. */
	void (*close)(struct kiln_rt *rt);

	/* A device buffer of n > 0 bytes (within rt->max_alloc) as an
	 * opaque non-NULL handle, or NULL with rt_error() set. The runtime
	 * pools them (rt_alloc); buf_free releases one for good. */
	void *(*buf_alloc)(struct kiln_rt *rt, size_t n);
	void (*buf_free)(struct kiln_rt *rt, void *buf);
	/* Copies n bytes from host memory to the buffer at byte offset off,
	 * or from it, blocking until done (everything queued before
	 * included). Returns 0, or -1 with rt_error() set. */
	int (*upload)(struct kiln_rt *rt, void *buf, size_t off,
		const void *src, size_t n);
	int (*download)(struct kiln_rt *rt, void *buf, size_t off, void *dst,
		size_t n);
	/* Waits for everything queued. Returns 0, or -1 with rt_error(). */
	int (*finish)(struct kiln_rt *rt);
	/* Prepares every kernel ahead of use (see rt_build_all). Returns
	 * how many programs it built, or -1 with rt_error() set. */
	int (*build_all)(struct kiln_rt *rt);
};

/* The OpenCL backend (opencl/backend_cl.c). */
extern const struct kiln_backend kiln_backend_cl;

#endif
