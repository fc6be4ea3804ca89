/* tensor.h - device tensors: a buffer from the runtime's pool with a
 * dtype and a row-major shape (last axis fastest). */
#ifndef KILN_TENSOR_H
#define KILN_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "runtime.h"

#define KT_MAX_DIMS 4

enum kdtype { KD_F32, KD_F16 };

struct ktensor {
	struct kiln_rt *rt;
	cl_mem mem;
	size_t cap;		/* bytes held, >= kt_bytes() */
	enum kdtype dtype;
	int nd;
	int64_t ne[KT_MAX_DIMS];
	/* A linear layer's weight [out, in] whose buffer holds its
	 * transpose [in, out], the layout op_linear's GEMM reads; set at
	 * load (wt_load_linear), never by the ops. */
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

/* Returns the buffer to the pool; accepts NULL. */
void kt_free(struct ktensor *t);

size_t kt_nelem(const struct ktensor *t);
size_t kt_bytes(const struct ktensor *t);
size_t kd_size(enum kdtype dt);

/* Copies kt_bytes(t) bytes from host to device / device to host
 * (blocking). Returns 0, or -1 with rt_error() set. */
int kt_upload(struct ktensor *t, const void *src);
int kt_download(const struct ktensor *t, void *dst);

/* Reinterprets t with another shape of the same element count. Returns 0,
 * or -1 with rt_error() set. */
int kt_reshape(struct ktensor *t, int nd, const int64_t *shape);

/* "[2, 77, 768]" into buf; returns buf. */
const char *kt_shape_str(const struct ktensor *t, char *buf, size_t n);

#endif
