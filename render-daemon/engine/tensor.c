/* tensor.c - device tensors over the runtime's buffer pool; copies go
 * through the backend (backend.h). */
#include "tensor.h"
#include "backend.h"
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

/* Row-major strides for t's shape. */
static void
set_contiguous(struct ktensor *t)
{
	int64_t st = 1;
	int i;

	for (i = t->nd - 1; i >= 0; i--) {
		t->nb[i] = st;
		st *= t->ne[i];
	}
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
	set_contiguous(t);
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
	if (t == NULL || t->view_src != NULL)
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
	if (!kt_is_contiguous(t))
		return rt_failf(t->rt, "upload: tensor is not contiguous");
	return t->rt->be->upload(t->rt, t->mem, t->offs * kd_size(t->dtype),
		src, kt_bytes(t));
}

int
kt_download(const struct ktensor *t, void *dst)
{
	if (!kt_is_contiguous(t))
		return rt_failf(t->rt, "download: tensor is not contiguous");
	return t->rt->be->download(t->rt, t->mem,
		t->offs * kd_size(t->dtype), dst, kt_bytes(t));
}

int
kt_reshape(struct ktensor *t, int nd, const int64_t *shape)
{
	size_t n;
	int i;

	if (nd < 1 || nd > KT_MAX_DIMS || shape_elems(shape, nd, &n) != 0 ||
	    n != kt_nelem(t))
		return rt_failf(t->rt, "reshape: element count differs");
	if (!kt_is_contiguous(t))
		return rt_failf(t->rt, "reshape: tensor is not contiguous");
	t->nd = nd;
	for (i = 0; i < nd; i++)
		t->ne[i] = shape[i];
	set_contiguous(t);
	return 0;
}

int
kt_is_contiguous(const struct ktensor *t)
{
	int64_t st = 1;
	int i;

	for (i = t->nd - 1; i >= 0; i--) {
		if (t->ne[i] != 1 && t->nb[i] != st)
			return 0;
		st *= t->ne[i];
	}
	return 1;
}

/* Elements in the buffer that owns t's memory: a view may reach any of
 * them, and no further. */
static size_t
owner_elems(const struct ktensor *t)
{
	const struct ktensor *o = t->view_src != NULL ? t->view_src : t;

	return kt_nelem(o);
}

/* *v = a view of t with nd axes ne, strides nb (the last taken from t)
 * and offs elements past t's first. */
static int
view(struct ktensor *v, const struct ktensor *t, int nd, const int64_t *ne,
	const int64_t *nb, size_t offs)
{
	struct ktensor r;
	size_t limit = owner_elems(t), last;
	int i;

	if (t->offs > limit || offs > limit - t->offs)
		return rt_failf(t->rt, "view: offset %zu beyond the buffer's "
			"%zu elements", offs, limit);
	r = *t;
	r.nd = nd;
	r.cap = 0;
	r.kn = 0;
	r.offs = t->offs + offs;
	r.view_src = t->view_src != NULL ? t->view_src : t;
	memset(r.ne, 0, sizeof(r.ne));
	memset(r.nb, 0, sizeof(r.nb));
	last = r.offs;
	for (i = 0; i < nd; i++) {
		r.ne[i] = ne[i];
		r.nb[i] = i < nd - 1 ? nb[i] : t->nb[t->nd - 1];
		if (r.ne[i] <= 0 || r.nb[i] < 0)
			return rt_failf(t->rt, "view: axis %d has extent %lld, "
				"stride %lld", i, (long long)r.ne[i],
				(long long)r.nb[i]);
		/* last += (ne - 1) nb, without overflow past limit. */
		if (r.nb[i] != 0 && (uint64_t)(r.ne[i] - 1) >
		    (limit - last) / (uint64_t)r.nb[i])
			goto outside;
		last += (size_t)(r.ne[i] - 1) * (size_t)r.nb[i];
	}
	if (last >= limit)
		goto outside;
	*v = r;
	return 0;
outside:
	return rt_failf(t->rt, "view: reaches past the buffer's %zu elements",
		limit);
}

int
kt_view_2d(struct ktensor *v, const struct ktensor *t, int64_t ne0,
	int64_t ne1, int64_t nb0, size_t offs)
{
	int64_t ne[2] = { ne0, ne1 }, nb[1] = { nb0 };

	return view(v, t, 2, ne, nb, offs);
}

int
kt_view_3d(struct ktensor *v, const struct ktensor *t, int64_t ne0,
	int64_t ne1, int64_t ne2, int64_t nb0, int64_t nb1, size_t offs)
{
	int64_t ne[3] = { ne0, ne1, ne2 }, nb[2] = { nb0, nb1 };

	return view(v, t, 3, ne, nb, offs);
}

int
kt_view_4d(struct ktensor *v, const struct ktensor *t, int64_t ne0,
	int64_t ne1, int64_t ne2, int64_t ne3, int64_t nb0, int64_t nb1,
	int64_t nb2, size_t offs)
{
	int64_t ne[4] = { ne0, ne1, ne2, ne3 }, nb[3] = { nb0, nb1, nb2 };

	return view(v, t, 4, ne, nb, offs);
}

int
kt_transpose(struct ktensor *v, const struct ktensor *t)
{
	int64_t x;
	int a = t->nd - 2;

	if (t->nd < 2)
		return rt_failf(t->rt, "transpose: needs 2+ axes");
	*v = *t;
	v->cap = 0;
	v->kn = 0;
	v->view_src = t->view_src != NULL ? t->view_src : t;
	x = v->ne[a];
	v->ne[a] = v->ne[a + 1];
	v->ne[a + 1] = x;
	x = v->nb[a];
	v->nb[a] = v->nb[a + 1];
	v->nb[a + 1] = x;
	return 0;
}

const char *
kt_shape_str(const struct ktensor *t, char *buf, size_t n)
{
	return st_shape_text(buf, n, t->ne, t->nd);
}
