/* tensor.h - device tensors: a buffer from the runtime's pool with a
 * dtype, a shape and per-axis strides (row-major: last axis fastest), and
 * views that look into another tensor's buffer without copying it. */
#ifndef KILN_TENSOR_H
#define KILN_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "runtime.h"

#define KT_MAX_DIMS 4

enum kdtype { KD_F32, KD_F16 };

/* Element [i0, i1, ...] lives at element offs + i0 nb[0] + i1 nb[1] + ...
 * of mem (ggml's ne[]/nb[], with strides in elements and the axes in
 * row-major order). A tensor from kt_new owns its buffer and is
 * contiguous: nb[nd - 1] == 1, nb[i] == nb[i + 1] ne[i + 1], offs 0.
 * A view (kt_view_*, kt_transpose) is a value the caller keeps, on the
 * stack or in a struct: it owns nothing (kt_free ignores it) and is valid
 * only while the tensor that owns its buffer lives (freeing the owner
 * first is the caller's error, as with ggml's views). */
struct ktensor {
	struct kiln_rt *rt;
	void *mem;		/* the backend's buffer handle (backend.h) */
	size_t cap;		/* bytes held, >= kt_bytes(); 0 in a view */
	enum kdtype dtype;
	int nd;
	int64_t ne[KT_MAX_DIMS];
	int64_t nb[KT_MAX_DIMS];	/* strides, in elements */
	size_t offs;		/* element offset of [0, ...] in mem */
	/* The tensor that owns mem, for a view (of a view too); NULL in
	 * the owner itself. */
	const struct ktensor *view_src;
	/* A linear layer's weight: ne (and nb) say [out, in], the buffer
	 * holds the transpose [in, out] row-major, the layout op_linear's
	 * GEMM reads (it views the buffer so). Set at load
	 * (wt_load_linear), never by the ops; 0 in a view. */
	int kn;
};

/* A tensor of the given shape (1..4 dims, each > 0), uninitialised.
 * Returns NULL with rt_error() set. Free with kt_free. */
struct ktensor *kt_new(struct kiln_rt *rt, enum kdtype dt, int nd,
	const int64_t *shape);
/* Shorthands: kt_new2(rt, dt, a, b) is shape [a, b], and so on. */
struct ktensor *kt_new1(struct kiln_rt *rt, enum kdtype dt, int64_t a);
struct ktensor *kt_new2(struct kiln_rt *rt, enum kdtype dt, int64_t a,
	int64_t b);
struct ktensor *kt_new3(struct kiln_rt *rt, enum kdtype dt, int64_t a,
	int64_t b, int64_t c);
struct ktensor *kt_new4(struct kiln_rt *rt, enum kdtype dt, int64_t a,
	int64_t b, int64_t c, int64_t d);

/* Returns the buffer to the pool and frees t; accepts NULL, and does
 * nothing to a view. */
void kt_free(struct ktensor *t);

size_t kt_nelem(const struct ktensor *t);
size_t kt_bytes(const struct ktensor *t);
size_t kd_size(enum kdtype dt);

/* Copies kt_bytes(t) bytes from host to device / device to host
 * (blocking), t contiguous (a view too). Returns 0, or -1 with
 * rt_error() set. */
int kt_upload(struct ktensor *t, const void *src);
int kt_download(const struct ktensor *t, void *dst);

/* Reinterprets t with another shape of the same element count; t must be
 * contiguous. Returns 0, or -1 with rt_error() set. */
int kt_reshape(struct ktensor *t, int nd, const int64_t *shape);

/* Whether t's elements lie in row-major order with no gaps (axes of
 * extent 1 aside, whose stride never matters). */
int kt_is_contiguous(const struct ktensor *t);

/* Views of t's buffer into *v, like ggml_view_2d/3d/4d: the shape, then
 * the strides of every axis but the last (which keeps t's last-axis
 * stride), then an element offset from t's first element. The view must
 * lie within the elements of the tensor that owns the buffer. Returns 0,
 * or -1 with rt_error() set and *v untouched. */
int kt_view_2d(struct ktensor *v, const struct ktensor *t, int64_t ne0,
	int64_t ne1, int64_t nb0, size_t offs);
int kt_view_3d(struct ktensor *v, const struct ktensor *t, int64_t ne0,
	int64_t ne1, int64_t ne2, int64_t nb0, int64_t nb1, size_t offs);
int kt_view_4d(struct ktensor *v, const struct ktensor *t, int64_t ne0,
	int64_t ne1, int64_t ne2, int64_t ne3, int64_t nb0, int64_t nb1,
	int64_t nb2, size_t offs);

/* t with its last two axes swapped, as a view into *v (strides swapped,
 * nothing copied; op_transpose is the copy). Returns 0, or -1 with
 * rt_error() set when t has fewer than 2 axes. */
int kt_transpose(struct ktensor *v, const struct ktensor *t);

/* "[2, 77, 768]" into buf; returns buf. */
const char *kt_shape_str(const struct ktensor *t, char *buf, size_t n);

#endif
