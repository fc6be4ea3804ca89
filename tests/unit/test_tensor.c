/* test_tensor.c - tensor strides and views (kt_view_*, kt_transpose,
 * kt_is_contiguous, kt_reshape), the checks op_matmul and the other
 * ops make of them before anything is enqueued, and the op table behind
 * ops.h (backend.h); no device is needed. */
#include "backend.h"
#include "ops.h"
#include "tensor.h"
#include "tap.h"

#include <string.h>

/* Nothing here reaches the device: rt only collects error messages, and
 * names the OpenCL backend (set in main, never opened) for its ops'
 * checks. */
static struct kiln_rt rt;

/* A stand-in for kt_new's result: an owner of the given shape, its
 * strides set by kt_reshape from a flat one. */
static struct ktensor
owner(enum kdtype dt, int nd, const int64_t *shape)
{
	struct ktensor t;
	int64_t n = 1;
	int i;

	memset(&t, 0, sizeof(t));
	t.rt = &rt;
	t.dtype = dt;
	for (i = 0; i < nd; i++)
		n *= shape[i];
	t.nd = 1;
	t.ne[0] = n;
	t.nb[0] = 1;
	CHECK(kt_reshape(&t, nd, shape) == 0);
	return t;
}

static struct ktensor
owner2(int64_t a, int64_t b)
{
	int64_t s[2] = { a, b };

	return owner(KD_F32, 2, s);
}

static void
reshape_gives_row_major_strides(void)
{
	int64_t s[3] = { 2, 3, 4 };
	struct ktensor t = owner(KD_F32, 3, s);

	CHECK(t.nb[0] == 12 && t.nb[1] == 4 && t.nb[2] == 1);
	CHECK(kt_is_contiguous(&t));
	CHECK(t.offs == 0 && t.view_src == NULL);
}

static void
view_2d_takes_shape_strides_and_offset(void)
{
	struct ktensor t = owner2(6, 5), v;

	CHECK(kt_view_2d(&v, &t, 3, 2, 5, 7) == 0);
	CHECK(v.nd == 2 && v.ne[0] == 3 && v.ne[1] == 2);
	CHECK(v.nb[0] == 5 && v.nb[1] == 1);
	CHECK(v.offs == 7);
	CHECK(v.view_src == &t && v.cap == 0);
	CHECK(kt_nelem(&v) == 6);
}

static void
view_of_a_view_adds_offsets_and_names_the_owner(void)
{
	int64_t s[3] = { 4, 6, 5 };
	struct ktensor t = owner(KD_F32, 3, s), a, b;

	CHECK(kt_view_3d(&a, &t, 2, 6, 5, 30, 5, 30) == 0);
	CHECK(kt_view_2d(&b, &a, 6, 2, 5, 3) == 0);
	CHECK(b.offs == 33);
	CHECK(b.view_src == &t);
}

static void
view_past_the_buffer_is_refused(void)
{
	struct ktensor t = owner2(6, 5), v;

	memset(&v, 0x5a, sizeof(v));
	/* Last element at 5 + 5 * 5 + 4 = 34 > 29. */
	CHECK(kt_view_2d(&v, &t, 6, 5, 5, 5) == -1);
	CHECK(strstr(rt.err, "past the buffer's 30 elements") != NULL);
	CHECK(v.nd == 0x5a5a5a5a);
	CHECK(kt_view_2d(&v, &t, 1, 1, 1, 30) == -1);
	CHECK(kt_view_2d(&v, &t, 1, 1, 1, 29) == 0);
	CHECK(kt_view_2d(&v, &t, 0, 5, 5, 0) == -1);
	CHECK(kt_view_2d(&v, &t, 2, 5, -5, 0) == -1);
}

static void
view_4d_covers_every_axis(void)
{
	int64_t s[4] = { 2, 3, 4, 5 };
	struct ktensor t = owner(KD_F32, 4, s), v;

	CHECK(kt_view_4d(&v, &t, 2, 3, 4, 5, 60, 20, 5, 0) == 0);
	CHECK(kt_is_contiguous(&v));
	CHECK(kt_view_4d(&v, &t, 2, 3, 4, 5, 60, 20, 5, 1) == -1);
}

static void
transpose_swaps_the_last_two_axes_without_copying(void)
{
	int64_t s[3] = { 2, 3, 4 };
	struct ktensor t = owner(KD_F32, 3, s), v, w;

	CHECK(kt_transpose(&v, &t) == 0);
	CHECK(v.ne[0] == 2 && v.ne[1] == 4 && v.ne[2] == 3);
	CHECK(v.nb[0] == 12 && v.nb[1] == 1 && v.nb[2] == 4);
	CHECK(v.mem == t.mem && v.offs == 0 && v.view_src == &t);
	CHECK(!kt_is_contiguous(&v));
	CHECK(kt_transpose(&w, &v) == 0 && kt_is_contiguous(&w));
}

static void
contiguity_ignores_axes_of_one(void)
{
	struct ktensor t = owner2(6, 5), v;

	/* Whole rows 2..3: contiguous; a column block: not. */
	CHECK(kt_view_2d(&v, &t, 2, 5, 5, 10) == 0 && kt_is_contiguous(&v));
	CHECK(kt_view_2d(&v, &t, 2, 3, 5, 0) == 0 && !kt_is_contiguous(&v));
	/* One row of a column block: its row stride never matters. */
	CHECK(kt_view_2d(&v, &t, 1, 3, 5, 0) == 0 && kt_is_contiguous(&v));
}

static void
reshape_refuses_a_strided_view(void)
{
	struct ktensor t = owner2(6, 5), v;
	int64_t s[1] = { 6 };

	CHECK(kt_view_2d(&v, &t, 2, 3, 5, 0) == 0);
	CHECK(kt_reshape(&v, 1, s) == -1);
	CHECK(strstr(rt.err, "not contiguous") != NULL);
}

static void
free_ignores_a_view(void)
{
	struct ktensor t = owner2(6, 5), v;

	CHECK(kt_view_2d(&v, &t, 2, 5, 5, 0) == 0);
	kt_free(&v);		/* on the stack: must not be freed */
	CHECK(v.view_src == &t);
}

static void
matmul_refuses_shapes_that_do_not_chain(void)
{
	struct ktensor a = owner2(4, 3), b = owner2(2, 5), c = owner2(4, 5);

	CHECK(op_matmul(&a, &b, &c, 1.0f, 0.0f) == -1);
	CHECK(strstr(rt.err, "A [4, 3] times B [2, 5] does not give C "
		"[4, 5]") != NULL);
}

static void
matmul_refuses_a_view_without_unit_stride(void)
{
	struct ktensor a = owner2(6, 5), b = owner2(3, 4), c = owner2(2, 4),
		at, v;

	/* Rows 10 apart, columns 5 apart. */
	CHECK(kt_transpose(&at, &a) == 0);
	CHECK(kt_view_2d(&v, &at, 2, 3, 10, 0) == 0);
	CHECK(op_matmul(&v, &b, &c, 1.0f, 0.0f) == -1);
	CHECK(strstr(rt.err, "A [2, 3] has strides [10, 5]") != NULL);
}

static void
matmul_refuses_a_transposed_output(void)
{
	struct ktensor a = owner2(4, 3), b = owner2(3, 5), c = owner2(5, 4),
		ct;

	CHECK(kt_transpose(&ct, &c) == 0);
	CHECK(op_matmul(&a, &b, &ct, 1.0f, 0.0f) == -1);
	CHECK(strstr(rt.err, "C needs unit stride along its rows") != NULL);
}

static void
matmul_refuses_float16_with_transposes(void)
{
	int64_t s[2] = { 4, 3 };
	struct ktensor a = owner2(4, 3), bh = owner(KD_F16, 2, s),
		c = owner2(3, 3), at;

	CHECK(kt_transpose(&at, &a) == 0);
	CHECK(op_matmul(&at, &bh, &c, 1.0f, 0.0f) == -1);
	CHECK(strstr(rt.err, "float16") != NULL);
}

static void
matmul_refuses_mismatched_batches(void)
{
	int64_t sa[3] = { 2, 4, 3 }, sb[3] = { 3, 3, 5 }, sc[3] = { 2, 4, 5 };
	struct ktensor a = owner(KD_F32, 3, sa), b = owner(KD_F32, 3, sb),
		c = owner(KD_F32, 3, sc);

	CHECK(op_matmul(&a, &b, &c, 1.0f, 0.0f) == -1);
	CHECK(strstr(rt.err, "does not give") != NULL);
}

static void
elementwise_ops_refuse_offset_views(void)
{
	struct ktensor t = owner2(6, 5), v, y = owner2(2, 5);

	CHECK(kt_view_2d(&v, &t, 2, 5, 5, 10) == 0);
	CHECK(op_add(&v, &y, &y) == -1);
	CHECK(strstr(rt.err, "k_add: takes contiguous tensors") != NULL);
}

/* A second backend whose only op records what it was given. */
static const struct ktensor *seen[3];

static int
fake_add(const struct ktensor *a, const struct ktensor *b,
	struct ktensor *y)
{
	seen[0] = a;
	seen[1] = b;
	seen[2] = y;
	return 7;
}

static void
ops_go_to_the_backend_of_the_tensors(void)
{
	static const struct kiln_ops ops = { .add = fake_add };
	static const struct kiln_backend fake = { .name = "fake",
		.ops = &ops };
	struct kiln_rt other;
	struct ktensor a = owner2(2, 3), b = owner2(2, 3), y = owner2(2, 3);

	memset(&other, 0, sizeof(other));
	other.be = &fake;
	a.rt = b.rt = y.rt = &other;
	CHECK(op_add(&a, &b, &y) == 7);
	CHECK(seen[0] == &a && seen[1] == &b && seen[2] == &y);
}

static void
opencl_backend_has_every_op(void)
{
	const struct kiln_ops *o = kiln_backend_cl.ops;

	CHECK(o != NULL);
	if (o == NULL)
		return;
	/* Every member of struct kiln_ops, one by one: a slot left out of
	 * the table would be NULL. */
	CHECK(o->matmul && o->linear && o->conv2d && o->group_norm &&
	    o->layer_norm && o->softmax && o->attention && o->add &&
	    o->mul && o->scale && o->act && o->add_channel && o->geglu &&
	    o->concat_channels && o->upsample2x && o->transpose &&
	    o->copy && o->fill && o->clamp && o->pad_br && o->tile_accum &&
	    o->tile_norm && o->timestep_embedding && o->embed &&
	    o->leaky_relu && o->prelu && o->pixel_shuffle &&
	    o->pixel_unshuffle);
	CHECK(sizeof(*o) == 28 * sizeof(o->add));
}

int
main(void)
{
	rt.be = &kiln_backend_cl;
	RUN(reshape_gives_row_major_strides);
	RUN(view_2d_takes_shape_strides_and_offset);
	RUN(view_of_a_view_adds_offsets_and_names_the_owner);
	RUN(view_past_the_buffer_is_refused);
	RUN(view_4d_covers_every_axis);
	RUN(transpose_swaps_the_last_two_axes_without_copying);
	RUN(contiguity_ignores_axes_of_one);
	RUN(reshape_refuses_a_strided_view);
	RUN(free_ignores_a_view);
	RUN(matmul_refuses_shapes_that_do_not_chain);
	RUN(matmul_refuses_a_view_without_unit_stride);
	RUN(matmul_refuses_a_transposed_output);
	RUN(matmul_refuses_float16_with_transposes);
	RUN(matmul_refuses_mismatched_batches);
	RUN(elementwise_ops_refuse_offset_views);
	RUN(ops_go_to_the_backend_of_the_tensors);
	RUN(opencl_backend_has_every_op);
	return tap_done();
}
