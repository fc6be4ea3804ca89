/* backend.h - the seam between the engine and a compute device, after
 * ggml's ggml_backend_i: a backend is a table of functions over an opaque
 * state (kiln_rt.dev) and opaque buffer handles (ktensor.mem). The model
 * code never sees it; runtime.c, tensor.c and ops.c call through it. A
 * second backend (a reference CPU path, CUDA, Metal) is one more table,
 * not a rewrite. OpenCL (opencl/) is the one there is. */
#ifndef KILN_BACKEND_H
#define KILN_BACKEND_H

#include "ops.h"
#include "runtime.h"

#include <stddef.h>

/* One function per public op of ops.h, same arguments and contract:
 * ops.c forwards op_NAME to ops->NAME of the tensors' backend. */
struct kiln_ops {
	int (*matmul)(const struct ktensor *a, const struct ktensor *b,
		struct ktensor *c, float alpha, float beta);
	int (*linear)(const struct ktensor *x, const struct ktensor *w,
		const struct ktensor *b, struct ktensor *y);
	int (*conv2d)(const struct ktensor *x, const struct ktensor *w,
		const struct ktensor *b, struct ktensor *y, int stride,
		int pad);
	int (*group_norm)(const struct ktensor *x,
		const struct ktensor *gamma, const struct ktensor *beta,
		struct ktensor *y, int groups, float eps, int silu);
	int (*layer_norm)(const struct ktensor *x,
		const struct ktensor *gamma, const struct ktensor *beta,
		struct ktensor *y, float eps);
	int (*softmax)(struct ktensor *x);
	int (*attention)(const struct ktensor *q, const struct ktensor *k,
		const struct ktensor *v, struct ktensor *out, int heads,
		float scale, int causal);
	int (*add)(const struct ktensor *a, const struct ktensor *b,
		struct ktensor *y);
	int (*mul)(const struct ktensor *a, const struct ktensor *b,
		struct ktensor *y);
	int (*scale)(const struct ktensor *x, float s, struct ktensor *y);
	int (*act)(const struct ktensor *x, struct ktensor *y,
		enum act_kind kind);
	int (*add_channel)(const struct ktensor *x, const struct ktensor *v,
		struct ktensor *y);
	int (*geglu)(const struct ktensor *x, struct ktensor *y);
	int (*concat_channels)(const struct ktensor *a,
		const struct ktensor *b, struct ktensor *y);
	int (*upsample2x)(const struct ktensor *x, struct ktensor *y);
	int (*leaky_relu)(const struct ktensor *x, struct ktensor *y,
		float slope);
	int (*prelu)(const struct ktensor *x, const struct ktensor *slope,
		struct ktensor *y);
	int (*pixel_shuffle)(const struct ktensor *x, struct ktensor *y,
		int r);
	int (*pixel_unshuffle)(const struct ktensor *x, struct ktensor *y,
		int r);
	int (*transpose)(const struct ktensor *x, struct ktensor *y);
	int (*copy)(const struct ktensor *x, struct ktensor *y);
	int (*fill)(struct ktensor *t, float v);
	int (*clamp)(struct ktensor *x, float lo, float hi);
	int (*pad_br)(const struct ktensor *x, struct ktensor *y);
	int (*tile_accum)(const struct ktensor *tile, struct ktensor *img,
		struct ktensor *wsum, int y0, int x0, const int ramps[4]);
	int (*tile_norm)(struct ktensor *img, const struct ktensor *wsum);
	int (*timestep_embedding)(const struct ktensor *t, struct ktensor *y,
		int flip_sin_to_cos, float downscale_freq_shift,
		float max_period);
	int (*embed)(const struct ktensor *ids, const struct ktensor *tok,
		const struct ktensor *pos, struct ktensor *y);
};

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

	/* The ops on this backend's tensors. */
	const struct kiln_ops *ops;
};

/* Checks the ops of every backend share (ops.c), for implementations to
 * call before they enqueue anything. Each returns 0, or -1 with
 * rt_error() saying what op refuses: op_check_f32, a tensor that is not
 * float32; op_check_nelem, tensors of different element counts;
 * op_check_dense, any of a..d (NULLs pass) that is not contiguous from
 * offset 0 (every kernel but the GEMM's indexes whole buffers from
 * element 0, so the ops other than op_matmul take tensors that own
 * theirs, or such views). */
int op_check_f32(const struct ktensor *t, const char *op);
int op_check_nelem(const struct ktensor *a, const struct ktensor *b,
	const char *op);
int op_check_dense(const char *op, const struct ktensor *a,
	const struct ktensor *b, const struct ktensor *c,
	const struct ktensor *d);

/* The OpenCL backend (opencl/backend_cl.c, its ops opencl/ops_cl.c). */
extern const struct kiln_backend kiln_backend_cl;

#endif
