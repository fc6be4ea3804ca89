/* weights.c - named weights from safetensors to device tensors. */
#include "weights.h"

#include "half.h"
#include "util.h"

#include <json-c/json.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void __attribute__((format(printf, 2, 3)))
fail(struct wloader *ld, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ld->err, ld->errlen, fmt, ap);
	va_end(ap);
}

int
wt_config_int(json_object *o, const char *key, int i, int *out)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return -1;
	if (json_object_is_type(v, json_type_array)) {
		if (i < 0 || (size_t)i >= json_object_array_length(v))
			return -1;
		v = json_object_array_get_idx(v, (size_t)i);
	}
	if (!json_object_is_type(v, json_type_int))
		return -1;
	*out = json_object_get_int(v);
	return 0;
}

void
wt_expand(char *out, size_t n, const char *tmpl, int i)
{
	const char *p = strstr(tmpl, "%d");

	if (p == NULL)
		snprintf(out, n, "%s", tmpl);
	else
		snprintf(out, n, "%.*s%d%s", (int)(p - tmpl), tmpl, i, p + 2);
}

static int
entry_name_cmp(const void *key, const void *e)
{
	return strcmp(key, ((const struct st_entry *)e)->name);
}

const struct st_entry *
wt_find(const struct wloader *ld, const char *tmpl, int i)
{
	char name[512];

	wt_expand(name, sizeof(name), tmpl, i);
	if (ld->index != NULL)
		return bsearch(name, ld->index, ld->nindex,
			sizeof(ld->index[0]), entry_name_cmp);
	return st_model_find(ld->m, ld->part, name);
}

/* dst [cols, rows] = src [rows, cols]^T for es-byte elements, in tiles
 * so both sides stay in cache. */
static void
transpose_host(const void *src, void *dst, size_t rows, size_t cols,
	size_t es)
{
	const size_t B = 32;
	size_t r0, c0, r, c;

	for (r0 = 0; r0 < rows; r0 += B)
		for (c0 = 0; c0 < cols; c0 += B)
			for (r = r0; r < rows && r < r0 + B; r++)
				for (c = c0; c < cols && c < c0 + B; c++) {
					if (es == 2)
						((uint16_t *)dst)[c * rows + r] =
						    ((const uint16_t *)src)[r *
						    cols + c];
					else
						((uint32_t *)dst)[c * rows + r] =
						    ((const uint32_t *)src)[r *
						    cols + c];
				}
}

/* The bytes the device holds for e's rows from r0 on (counted within
 * e's rows) in the given canonical shape: e's file tensor converted to
 * dt (F32 or F16, exact for an F16 source), the canonical tensor or,
 * with kn (a 2-D linear weight [out, in]), its transpose [in, out], the
 * layout op_linear's GEMM reads (see ktensor.kn). A file tensor stored
 * transposed (e->transposed) is thus copied as it is for kn and
 * transposed otherwise; the host transposes while the file's copy is
 * converted anyway, so the device never holds a second copy.
 *
 * delta (NULL: none), in the canonical layout, is added first, in
 * float32 (a LoRA's patch); a float16 weight is then rounded once, and
 * a sum beyond float16's range is refused rather than made infinite.
 * Without delta the bytes are exactly the loader's, which is what puts
 * a patched weight back bit for bit.
 *
 * Returns 0 with *base (free it) and *data (inside it), or -1 with a
 * message in err (st_to_f32's name the file and tensor; the others
 * start with what). */
static int
device_bytes(const char *what, const struct st_entry *e, int64_t r0,
	int nd, const int64_t *shape, enum kdtype dt, int kn,
	const float *delta, void **base, const void **data, char *err,
	size_t errlen)
{
	const struct st_tensor *t = e->t;
	size_t es = kd_size(dt), first = 0, ne = 1, i;
	char *host, *src, *tr = NULL;
	float *w = NULL;
	uint16_t *h;
	int k, rc;

	*base = NULL;
	for (k = 0; k < nd; k++)
		ne *= (size_t)shape[k];
	if (e->row0 + r0 > 0)
		first = (size_t)(e->row0 + r0) * (t->nelems /
			(size_t)t->shape[0]);
	if (delta != NULL)
		es = sizeof(float);
	host = malloc(t->nelems * es);
	if (host == NULL)
		return errf(err, errlen, "%s: out of memory", what);
	rc = dt == KD_F16 && delta == NULL ? st_to_f16(t,
		(uint16_t *)(void *)host, t->nelems, err, errlen) :
		st_to_f32(t, (float *)(void *)host, t->nelems, err, errlen);
	if (rc != 0)
		goto bad;
	/* The host copy has it now: the file's pages may go (a LoRA's
	 * restore maps them from the file again). */
	st_tensor_unmap_pages(t);
	src = host + first * es;
	if (delta != NULL) {
		/* The canonical tensor in float32, patched. */
		w = malloc(ne * sizeof(float));
		if (w == NULL)
			goto oom;
		if (e->transposed)
			transpose_host(src, w, (size_t)shape[1],
				(size_t)shape[0], sizeof(float));
		else
			memcpy(w, src, ne * sizeof(float));
		for (i = 0; i < ne; i++)
			w[i] += delta[i];
		src = (char *)w;
		if (kn) {
			/* host holds at least ne floats: reuse it. */
			transpose_host(w, host, (size_t)shape[0],
				(size_t)shape[1], sizeof(float));
			src = host;
		}
		if (dt == KD_F16) {
			/* In place: each half is written after its float is
			 * read. */
			h = (uint16_t *)(void *)src;
			for (i = 0; i < ne; i++) {
				float v = ((const float *)(void *)src)[i];

				if (!isfinite(v) || fabsf(v) >= 65520.0f) {
					errf(err, errlen, "%s: %s becomes "
						"%g, beyond float16's range",
						what, e->name, (double)v);
					goto bad;
				}
				h[i] = float_to_half(v);
			}
		} else {
			for (i = 0; i < ne; i++)
				if (!isfinite(((const float *)(void *)
				    src)[i])) {
					errf(err, errlen, "%s: %s becomes "
						"infinite or NaN", what,
						e->name);
					goto bad;
				}
		}
		if (src == host) {
			free(w);
		} else {
			free(host);
			host = (char *)w;
		}
		*base = host;
		*data = src;
		return 0;
	}
	if (kn != e->transposed) {
		/* The file's matrix is [fr, fc]; the device wants
		 * [fc, fr]. */
		size_t fr = (size_t)shape[e->transposed ? 1 : 0];
		size_t fc = (size_t)shape[e->transposed ? 0 : 1];

		tr = malloc(fr * fc * es);
		if (tr == NULL)
			goto oom;
		transpose_host(src, tr, fr, fc, es);
		free(host);
		*base = tr;
		*data = tr;
		return 0;
	}
	*base = host;
	*data = src;
	return 0;
oom:
	errf(err, errlen, "%s: out of memory", what);
bad:
	free(w);
	free(host);
	return -1;
}

/* Uploads e (see device_bytes) into a new tensor of the given shape and
 * records it in the runtime's registry when there is one. */
static struct ktensor *
upload_as(struct wloader *ld, const struct st_entry *e, int64_t r0, int nd,
	const int64_t *shape, enum kdtype dt, int kn)
{
	struct ktensor *kt = NULL;
	const void *data;
	void *base;

	if (device_bytes(ld->what, e, r0, nd, shape, dt, kn, NULL, &base,
	    &data, ld->err, ld->errlen) != 0)
		return NULL;
	kt = kt_new(ld->rt, dt, nd, shape);
	if (kt == NULL || kt_upload(kt, data) != 0) {
		fail(ld, "%s: %s", ld->what, rt_error(ld->rt));
		goto bad;
	}
	kt->kn = kn;
	if (ld->rt->weights != NULL && wt_registry_add(ld->rt->weights,
	    &(struct wt_record){ .part = ld->part, .e = e, .r0 = r0,
	    .nd = nd, .shape = { shape[0], nd > 1 ? shape[1] : 1,
	    nd > 2 ? shape[2] : 1, nd > 3 ? shape[3] : 1 }, .dt = dt,
	    .kn = kn, .kt = kt }) != 0) {
		fail(ld, "%s: out of memory", ld->what);
		goto bad;
	}
	free(base);
	return kt;
bad:
	kt_free(kt);
	free(base);
	return NULL;
}

/* The tensor tmpl(i) when it has exactly the nd-dim shape given (a 4-D
 * 1x1 convolution also passes for a 2-D [O, C]); else NULL with err. */
static const struct st_entry *
find_shaped(struct wloader *ld, const char *tmpl, int i, int nd,
	const int64_t *shape)
{
	const struct st_entry *e = wt_find(ld, tmpl, i);
	char name[512], want[128], got[128];
	int k, ok;

	wt_expand(name, sizeof(name), tmpl, i);
	if (e == NULL) {
		fail(ld, "%s: tensor %s is missing", ld->what, name);
		return NULL;
	}
	ok = e->ndim == nd;
	for (k = 0; ok && k < nd; k++)
		ok = e->shape[k] == shape[k];
	/* A 1x1 convolution stored as [O, C, 1, 1] serves as a linear
	 * [O, C] weight (SD 1.x proj_in/proj_out, VAE attention). */
	if (!ok && nd == 2 && e->ndim == 4 && e->shape[0] == shape[0] &&
	    e->shape[1] == shape[1] && e->shape[2] == 1 && e->shape[3] == 1)
		ok = 1;
	if (!ok) {
		st_shape_text(want, sizeof(want), shape, nd);
		st_shape_text(got, sizeof(got), e->shape, e->ndim);
		fail(ld, "%s: tensor %s has shape %s, expected %s", ld->what,
			name, got, want);
		return NULL;
	}
	return e;
}

/* The device type of a matrix: float16 stays float16 where the model
 * allows it (see wloader.keep_f16) and the options do not widen it. Rows
 * of a fused tensor (OpenCLIP's q, k, v) go up as float32, as they did
 * when the text encoder split them itself: a float16 weight takes other
 * GEMM kernels, and SD 2.x's encodings would change in the last bits. */
static enum kdtype
matrix_dtype(const struct wloader *ld, const struct st_entry *e)
{
	return ld->keep_f16 && e->t->dtype == ST_F16 && e->rows == 0 &&
		!ld->rt->opts.weights_f32 ? KD_F16 : KD_F32;
}

struct ktensor *
wt_load(struct wloader *ld, const char *tmpl, int i, int nd,
	const int64_t *shape)
{
	const struct st_entry *e = find_shaped(ld, tmpl, i, nd, shape);

	if (e == NULL)
		return NULL;
	return upload_as(ld, e, 0, nd, shape, nd >= 2 ? matrix_dtype(ld, e) :
		KD_F32, 0);
}

struct ktensor *
wt_load_linear(struct wloader *ld, const char *tmpl, int i, int64_t out,
	int64_t in)
{
	int64_t shape[2] = { out, in };
	const struct st_entry *e = find_shaped(ld, tmpl, i, 2, shape);

	if (e == NULL)
		return NULL;
	return upload_as(ld, e, 0, 2, shape, matrix_dtype(ld, e), 1);
}

struct ktensor *
wt_load_rows(struct wloader *ld, const char *tmpl, int i, int64_t r0,
	int64_t rows, int64_t cols)
{
	const struct st_entry *e = wt_find(ld, tmpl, i);
	int64_t shape[2] = { rows, cols };
	char name[512];

	wt_expand(name, sizeof(name), tmpl, i);
	if (e == NULL) {
		fail(ld, "%s: tensor %s is missing", ld->what, name);
		return NULL;
	}
	if (e->ndim != (cols ? 2 : 1) || (cols && e->shape[1] != cols) ||
	    r0 < 0 || rows < 1 || e->shape[0] < r0 + rows || e->transposed) {
		fail(ld, "%s: tensor %s is too small for rows %lld..%lld",
			ld->what, name, (long long)r0, (long long)(r0 + rows));
		return NULL;
	}
	return upload_as(ld, e, r0, cols ? 2 : 1, shape, KD_F32, 0);
}

struct ktensor *
wt_load1(struct wloader *ld, const char *tmpl, int i, int64_t a)
{
	return wt_load(ld, tmpl, i, 1, &a);
}

struct ktensor *
wt_load2(struct wloader *ld, const char *tmpl, int i, int64_t a, int64_t b)
{
	int64_t s[2] = { a, b };

	return wt_load(ld, tmpl, i, 2, s);
}

struct ktensor *
wt_load4(struct wloader *ld, const char *tmpl, int i, int64_t a, int64_t b,
	int64_t c, int64_t d)
{
	int64_t s[4] = { a, b, c, d };

	return wt_load(ld, tmpl, i, 4, s);
}

/* The member of block that decl d names. */
static struct ktensor **
member(void *block, const struct wdecl *d)
{
	return (struct ktensor **)(void *)((char *)block + d->off);
}

int
wt_load_table(struct wloader *ld, const char *prefix, const struct wdecl *d,
	size_t n, const int64_t *dims, unsigned on, void *block)
{
	struct ktensor *kt;
	char name[512];
	size_t i;
	int64_t s[4];
	int k, keep = ld->keep_f16;

	for (i = 0; i < n; i++) {
		if ((d[i].need & on) != d[i].need)
			continue;
		k = prefix[0] != '\0' ? snprintf(name, sizeof(name), "%s.%s",
			prefix, d[i].name) : snprintf(name, sizeof(name), "%s",
			d[i].name);
		if (k < 0 || (size_t)k >= sizeof(name)) {
			fail(ld, "%s: name %s.%s too long", ld->what, prefix,
				d[i].name);
			goto bad;
		}
		s[0] = dims[d[i].dim[0]];
		s[1] = dims[d[i].dim[1]];
		if (d[i].flags & WD_F32)
			ld->keep_f16 = 0;
		switch (d[i].kind) {
		case WD_VEC:
			kt = wt_load(ld, name, 0, 1, s);
			break;
		case WD_MAT:
			kt = wt_load(ld, name, 0, 2, s);
			break;
		case WD_LINEAR:
			kt = wt_load_linear(ld, name, 0, s[0], s[1]);
			break;
		case WD_CONV3:
			s[2] = s[3] = 3;
			kt = wt_load(ld, name, 0, 4, s);
			break;
		case WD_CONV1:
			/* As [d0, d1] (a [d0, d1, 1, 1] passes), then shaped
			 * as the 1x1 convolution it is. */
			kt = wt_load(ld, name, 0, 2, s);
			s[2] = s[3] = 1;
			if (kt != NULL && kt_reshape(kt, 4, s) != 0) {
				fail(ld, "%s: %s", ld->what, rt_error(ld->rt));
				kt_free(kt);
				kt = NULL;
			}
			break;
		default:
			kt = NULL;
			fail(ld, "%s: %s: unknown weight kind", ld->what, name);
			break;
		}
		ld->keep_f16 = keep;
		if (kt == NULL)
			goto bad;
		*member(block, &d[i]) = kt;
	}
	return 0;
bad:
	wt_free_table(d, n, block);
	return -1;
}

void
wt_free_table(const struct wdecl *d, size_t n, void *block)
{
	struct ktensor **t;
	size_t i;

	for (i = 0; i < n; i++) {
		t = member(block, &d[i]);
		kt_free(*t);
		*t = NULL;
	}
}

/* --- the record of uploaded weights ----------------------------------- */

struct wt_registry {
	struct wt_record *w;
	size_t n, cap;
	int sorted;
};

struct wt_registry *
wt_registry_new(void)
{
	return calloc(1, sizeof(struct wt_registry));
}

void
wt_registry_free(struct wt_registry *r)
{
	if (r == NULL)
		return;
	free(r->w);
	free(r);
}

int
wt_registry_add(struct wt_registry *r, const struct wt_record *w)
{
	struct wt_record *nw;
	size_t cap;

	if (r->n == r->cap) {
		cap = r->cap ? 2 * r->cap : 256;
		nw = realloc(r->w, cap * sizeof(*nw));
		if (nw == NULL)
			return -1;
		r->w = nw;
		r->cap = cap;
	}
	r->w[r->n++] = *w;
	r->sorted = 0;
	return 0;
}

size_t
wt_registry_count(const struct wt_registry *r)
{
	return r != NULL ? r->n : 0;
}

const struct wt_record *
wt_registry_get(const struct wt_registry *r, size_t i)
{
	return r != NULL && i < r->n ? &r->w[i] : NULL;
}

static int
record_cmp(const void *a, const void *b)
{
	const struct wt_record *x = a, *y = b;

	if (x->part != y->part)
		return x->part < y->part ? -1 : 1;
	return strcmp(x->e->name, y->e->name);
}

const struct wt_record *
wt_registry_find(struct wt_registry *r, enum st_part part, const char *name)
{
	size_t lo = 0, hi, mid;
	int c;

	if (r == NULL)
		return NULL;
	if (!r->sorted) {
		qsort(r->w, r->n, sizeof(*r->w), record_cmp);
		r->sorted = 1;
	}
	hi = r->n;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = part != r->w[mid].part ? (part < r->w[mid].part ? -1 : 1) :
			strcmp(name, r->w[mid].e->name);
		if (c == 0)
			return &r->w[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int
wt_reupload(struct kiln_rt *rt, const struct wt_record *w,
	const float *delta, char *err, size_t errlen)
{
	const void *data;
	void *base;
	size_t ne = 1;
	int k, rc;

	for (k = 0; k < w->nd; k++)
		ne *= (size_t)w->shape[k];
	if (kt_nelem(w->kt) != ne || w->kt->dtype != w->dt)
		return errf(err, errlen, "%s: %s: the device tensor is not "
			"the one recorded", st_part_name(w->part), w->e->name);
	if (device_bytes(st_part_name(w->part), w->e, w->r0, w->nd, w->shape,
	    w->dt, w->kn, delta, &base, &data, err, errlen) != 0)
		return -1;
	rc = kt_upload(w->kt, data);
	free(base);
	if (rc != 0)
		return errf(err, errlen, "%s: %s: %s", st_part_name(w->part),
			w->e->name, rt_error(rt));
	return 0;
}
