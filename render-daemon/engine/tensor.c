/* tensor.c - device tensors over the runtime's buffer pool. */
#include "tensor.h"
#include "safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t
kd_size(enum kdtype dt)
{
	return dt == KD_F16 ? 2 : 4;
}

static int
shape_elems(const int64_t *shape, int nd, size_t *out)
{
	size_t n = 1;
	int i;

	for (i = 0; i < nd; i++) {
		if (shape[i] <= 0 || (uint64_t)shape[i] > SIZE_MAX / 8 / n)
			return -1;
		n *= (size_t)shape[i];
	}
	*out = n;
	return 0;
}

struct ktensor *
kt_new(struct kiln_rt *rt, enum kdtype dt, int nd, const int64_t *shape)
{
	struct ktensor *t;
	size_t n;
	int i;

	if (nd < 1 || nd > KT_MAX_DIMS || shape_elems(shape, nd, &n) != 0) {
		rt_failf(rt, "tensor: bad shape (%d dims)", nd);
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		rt_failf(rt, "tensor: out of memory");
		return NULL;
	}
	t->rt = rt;
	t->dtype = dt;
	t->nd = nd;
	for (i = 0; i < nd; i++)
		t->ne[i] = shape[i];
	t->mem = rt_alloc(rt, n * kd_size(dt), &t->cap);
	if (t->mem == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

struct ktensor *
kt_new1(struct kiln_rt *rt, enum kdtype dt, int64_t a)
{
	return kt_new(rt, dt, 1, &a);
}

struct ktensor *
kt_new2(struct kiln_rt *rt, enum kdtype dt, int64_t a, int64_t b)
{
	int64_t s[2] = { a, b };

	return kt_new(rt, dt, 2, s);
}

struct ktensor *
kt_new3(struct kiln_rt *rt, enum kdtype dt, int64_t a, int64_t b, int64_t c)
{
	int64_t s[3] = { a, b, c };

	return kt_new(rt, dt, 3, s);
}

struct ktensor *
kt_new4(struct kiln_rt *rt, enum kdtype dt, int64_t a, int64_t b, int64_t c,
	int64_t d)
{
	int64_t s[4] = { a, b, c, d };

	return kt_new(rt, dt, 4, s);
}

void
kt_free(struct ktensor *t)
{
	if (t == NULL)
		return;
	rt_release(t->rt, t->mem, t->cap);
	free(t);
}

size_t
kt_nelem(const struct ktensor *t)
{
	size_t n = 1;
	int i;

	for (i = 0; i < t->nd; i++)
		n *= (size_t)t->ne[i];
	return n;
}

size_t
kt_bytes(const struct ktensor *t)
{
	return kt_nelem(t) * kd_size(t->dtype);
}

int
kt_upload(struct ktensor *t, const void *src)
{
	cl_int e = clEnqueueWriteBuffer(t->rt->queue, t->mem, CL_TRUE, 0,
		kt_bytes(t), src, 0, NULL, NULL);

	return e == CL_SUCCESS ? 0 : rt_fail(t->rt, "clEnqueueWriteBuffer",
		NULL, e);
}

int
kt_download(const struct ktensor *t, void *dst)
{
	cl_int e = clEnqueueReadBuffer(t->rt->queue, t->mem, CL_TRUE, 0,
		kt_bytes(t), dst, 0, NULL, NULL);

	return e == CL_SUCCESS ? 0 : rt_fail(t->rt, "clEnqueueReadBuffer",
		NULL, e);
}

int
kt_reshape(struct ktensor *t, int nd, const int64_t *shape)
{
	size_t n;
	int i;

	if (nd < 1 || nd > KT_MAX_DIMS || shape_elems(shape, nd, &n) != 0 ||
	    n != kt_nelem(t))
		return rt_failf(t->rt, "reshape: element count differs");
	t->nd = nd;
	for (i = 0; i < nd; i++)
		t->ne[i] = shape[i];
	return 0;
}

const char *
kt_shape_str(const struct ktensor *t, char *buf, size_t n)
{
	return st_shape_text(buf, n, t->ne, t->nd);
}
