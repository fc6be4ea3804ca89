/* ops_cl.c - the OpenCL backend's operators (the op table of backend.h,
 * which ops.c forwards ops.h's calls to): CLBlast or the engine's own
 * kernel for GEMM, the embedded kernels for the rest. Each checks its
 * shapes before it enqueues anything, with the shared checks of ops.c
 * (op_check_*) where they fit; a second backend reuses those. */
#include "runtime_cl.h"
#include "ops.h"

#include <clblast_c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WG 256			/* work-group size for the reductions */
#define ATTN_BUDGET_DEFAULT (64u << 20)
/* attention.cl's k_attn_fused: queries per work item (AQ), the keys it
 * scores at a time (K^T's rows are padded to a multiple), widest head
 * (AMAXD). */
#define ATTN_QUERIES 16
#define ATTN_KEY_TILE 16
#define ATTN_FUSED_MAXD 160

static size_t
round_up(size_t n, size_t m)
{
	return (n + m - 1) / m * m;
}

/* Launches a 1-D kernel over n items of long, independent work (a row
 * each) in groups small enough that every compute unit gets several. */
static int
rows_launch(struct kiln_rt *rt, const char *k, size_t n,
	const struct rt_arg *a, size_t na)
{
	size_t lws = 1, gws;

	while (lws < 16 && n / (lws * 2) >= 4 * (size_t)rt->compute_units)
		lws *= 2;
	gws = round_up(n, lws);
	return rt_launch(rt, k, 1, &gws, &lws, a, na);
}

/* Launches a 1-D kernel over n items in groups of 64. */
static int
launch1(struct kiln_rt *rt, const char *k, size_t n, const struct rt_arg *a,
	size_t na)
{
	size_t gws = round_up(n, 64), lws = 64;

	return rt_launch(rt, k, 1, &gws, &lws, a, na);
}

static int
blast_fail(struct kiln_rt *rt, const char *call, CLBlastStatusCode st)
{
	return rt_failf(rt, "%s: CLBlast status %d%s", call, (int)st,
		(int)st > -1024 ? "" : " (CLBlast-specific; see clblast_c.h)");
}

/* CLBlast stays available (engine_opts.gemm_clblast) for comparison
 * and for devices where its tuned kernels win: GPUs, unless a tuning
 * file says the engine's kernel is faster there (the kernel keeps its
 * block of C in registers of one work item, which fits CPUs' vector
 * units, not GPUs' scalar lanes). */
static int
use_own_gemm(const struct kiln_rt *rt)
{
	return !rt->opts.gemm_clblast && (rt->type != RT_DEV_GPU ||
		rt->gemm_tuned);
}

/* One operand of a product as the GEMM kernels take it (row-major): the
 * buffer, the element offset of its first matrix, its leading dimension,
 * the element stride between the matrices of a batch (0 for one), and
 * whether it is stored transposed. op_matmul reads it off a view. */
struct gmat {
	cl_mem mem;
	enum kdtype dt;
	size_t off, ld, stride;
	int trans;
};

/* C = alpha op(A) op(B) + bias + beta C for batch products of [m, k] by
 * [k, n]; the engine's kernel adds a float32 bias (bmode 1: one per
 * column, 2: one per row; 0: none) as it stores C. */
struct gemm {
	size_t m, n, k, batch;
	float alpha, beta;
	struct gmat a, b, c;
	cl_mem bias;
	uint32_t bmode;
};

void
cl_gemm_defaults(struct kiln_rt *rt)
{
	struct rt_gemm *g = &rt->gemm;

	/* A register block that fills about three quarters of the vector
	 * registers with accumulators (mr x nv), leaving room for the nv
	 * vectors of B and the broadcast of A: AVX-512 has 32 registers of
	 * 16 floats (8 x 2), AVX2 16 of 8 (6 x 2), SSE 16 of 4 (4 x 3). A
	 * device that prefers scalars (GPUs) runs CLBlast unless tuned. */
	switch (rt->vec_float) {
	case 16:
		g->mr = 8, g->vw = 16, g->nv = 2;
		break;
	case 8:
		g->mr = 6, g->vw = 8, g->nv = 2;
		break;
	default:
		g->mr = 4, g->vw = 4, g->nv = 3;
		break;
	}
	g->tile_kb = 2048;
	g->kslice = 1536;
}

const char *
rt_defs(struct kiln_rt *rt, const char *source)
{
	char *buf = cl_of(rt)->defs;

	if (strcmp(source, "gemm") != 0)
		return "";
	snprintf(buf, RT_DEFS_MAX, "-DGEMM_MR=%u -DGEMM_VW=%u -DGEMM_NV=%u",
		rt->gemm.mr, rt->gemm.vw, rt->gemm.nv);
	return buf;
}

/* The tile of blocks (mr x nr of C each) one work-group of the engine's
 * kernel computes, TM down by TN across (see gemm.cl): as large as keeps
 * the tile's panels of A (TM mr-row strips of K) and B (TN nr-column
 * strips of K) within the tile budget (2 MB by default: a share of a
 * CPU's L2 and L3), and small enough that every compute unit gets four
 * tiles or more; a product too small for that gets tiles of one block. */
static void
gemm_tiles(const struct kiln_rt *rt, uint32_t mb, uint32_t nb, size_t k,
	size_t batch, uint32_t *TM, uint32_t *TN)
{
	size_t want = 4 * (size_t)rt->compute_units,
		budget = (size_t)rt->gemm.tile_kb << 10,
		mr = rt->gemm.mr, nr = (size_t)rt->gemm.vw * rt->gemm.nv;
	uint32_t tm = 32, tn = 16;

	while (tm > 1 && ((size_t)tm * mr + (size_t)tn * nr) * k * 4 >
	    budget) {
		if (tm >= 2 * tn)
			tm /= 2;
		else if (tn > 1)
			tn /= 2;
		else
			tm /= 2;
	}
	while ((tm > 1 || tn > 1) && (size_t)((mb + tm - 1) / tm) *
	    ((nb + tn - 1) / tn) * batch < want) {
		if (tm >= tn && tm > 1)
			tm /= 2;
		else
			tn /= 2;
	}
	/* The work-group may not exceed the device's limit. */
	while ((size_t)tm * tn > rt->max_wg && (tm > 1 || tn > 1)) {
		if (tm >= tn)
			tm /= 2;
		else
			tn /= 2;
	}
	/* Even tiles: 20 columns of blocks go as 2 x 10, not 16 + 4. */
	tm = (mb + (mb + tm - 1) / tm - 1) / ((mb + tm - 1) / tm);
	tn = (nb + (nb + tn - 1) / tn - 1) / ((nb + tn - 1) / tn);
	*TM = tm;
	*TN = tn;
}

/* The embedded k_gemm_nn kernel: no transposes, either of A and B may be
 * float16. */
static int
gemm_launch(struct kiln_rt *rt, const struct gemm *g, double t0)
{
	const char *kern = g->a.dt == KD_F16 ? "k_gemm_nn_ah" :
		g->b.dt == KD_F16 ? "k_gemm_nn_bh" : "k_gemm_nn";
	uint32_t M = (uint32_t)g->m, N = (uint32_t)g->n, K = (uint32_t)g->k,
		ao = (uint32_t)g->a.off, la = (uint32_t)g->a.ld,
		as = (uint32_t)g->a.stride, bo = (uint32_t)g->b.off,
		lb = (uint32_t)g->b.ld, bs = (uint32_t)g->b.stride,
		co = (uint32_t)g->c.off, lc = (uint32_t)g->c.ld,
		cs = (uint32_t)g->c.stride;
	uint32_t mr = rt->gemm.mr, nr = rt->gemm.vw * rt->gemm.nv;
	uint32_t mb = (uint32_t)((g->m + mr - 1) / mr),
		nb = (uint32_t)((g->n + nr - 1) / nr), TM, TN, tm;
	size_t gws[2], lws[2];
	struct rt_arg args[22];
	int prof = rt->profile, r;

	gemm_tiles(rt, mb, nb, g->k, g->batch, &TM, &TN);
	tm = (mb + TM - 1) / TM;
	gws[0] = (size_t)tm * ((nb + TN - 1) / TN) * TM * TN;
	gws[1] = g->batch;
	lws[0] = (size_t)TM * TN;
	lws[1] = 1;
	args[0] = RT_ARG(M);
	args[1] = RT_ARG(N);
	args[2] = RT_ARG(K);
	args[3] = RT_ARG(g->alpha);
	args[4] = RT_ARG(g->a.mem);
	args[5] = RT_ARG(ao);
	args[6] = RT_ARG(la);
	args[7] = RT_ARG(as);
	args[8] = RT_ARG(g->b.mem);
	args[9] = RT_ARG(bo);
	args[10] = RT_ARG(lb);
	args[11] = RT_ARG(bs);
	args[12] = RT_ARG(g->beta);
	args[13] = RT_ARG(g->c.mem);
	args[14] = RT_ARG(co);
	args[15] = RT_ARG(lc);
	args[16] = RT_ARG(cs);
	args[17] = RT_ARG(TM);
	args[18] = RT_ARG(TN);
	args[19] = RT_ARG(tm);
	args[20] = RT_ARG(g->bias);
	args[21] = RT_ARG(g->bmode);

	/* Offsets are passed as 32-bit element counts. */
	if (g->a.off + g->a.stride * g->batch > UINT32_MAX ||
	    g->b.off + g->b.stride * g->batch > UINT32_MAX ||
	    g->c.off + g->c.stride * g->batch > UINT32_MAX)
		return rt_failf(rt, "gemm: offsets beyond 2^32 elements");
	if (g->k == 0)
		return rt_failf(rt, "gemm: K is 0");
	if (g->a.trans || g->b.trans)
		return rt_failf(rt, "gemm: the engine's kernel takes no "
			"transposes");
	/* Timed below as "gemm", not per kernel: nothing may return
	 * between here and the restore. */
	rt->profile = 0;
	r = rt_launch(rt, kern, 2, gws, lws, args, 22);
	rt->profile = prof;
	if (r != 0)
		return -1;
	if (rt->profile) {
		if (rt_finish(rt) != 0)
			return -1;
		rt_prof_add(rt, g->batch > 1 ? "gemm_batched" : "gemm",
			rt_now() - t0, 2.0 * g->m * g->n * g->k * g->batch);
	}
	return 0;
}

/* The engine's kernel over g, in slices of K of at most rt->gemm.kslice.
 * The kernel streams mr rows of A and an nr-column strip of B over the
 * whole of K for each block of C: past a few thousand they no longer stay
 * in cache (the 3x3 convolutions of the UNet's upper blocks have K = 5760
 * to 17280, and ran at a third of the kernel's speed), so longer products
 * go in slices of K that add into C. */
static int
gemm_own(struct kiln_rt *rt, const struct gemm *g, double t0)
{
	size_t ks = rt->gemm.kslice;
	size_t slices = (g->k + ks - 1) / ks, k0 = 0, i;
	struct gemm s = *g;

	if (slices <= 1)
		return gemm_launch(rt, g, t0);
	/* Even slices: 5760 goes as 8 x 720, not 7 x 768 + 384. Slice i
	 * takes columns k0.. of A and rows k0.. of B. */
	for (i = 0; i < slices; i++) {
		s.k = (g->k - k0) / (slices - i);
		s.a.off = g->a.off + k0;
		s.b.off = g->b.off + k0 * g->b.ld;
		s.beta = i == 0 ? g->beta : 1.0f;
		s.bmode = i == 0 ? g->bmode : 0;	/* the bias once */
		if (gemm_launch(rt, &s, rt->profile ? rt_now() : t0) != 0)
			return -1;
		k0 += s.k;
	}
	return 0;
}

/* CLBlast's SGEMM, or its strided batched form for a batch. */
static int
gemm_blast(struct kiln_rt *rt, const struct gemm *g, double t0)
{
	CLBlastTranspose ta = g->a.trans ? CLBlastTransposeYes :
		CLBlastTransposeNo, tb = g->b.trans ? CLBlastTransposeYes :
		CLBlastTransposeNo;
	CLBlastStatusCode st;

	if (g->batch == 1)
		st = CLBlastSgemm(CLBlastLayoutRowMajor, ta, tb, g->m, g->n,
			g->k, g->alpha, g->a.mem, g->a.off, g->a.ld, g->b.mem,
			g->b.off, g->b.ld, g->beta, g->c.mem, g->c.off, g->c.ld,
			&cl_of(rt)->queue, NULL);
	else
		st = CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, ta, tb,
			g->m, g->n, g->k, g->alpha, g->a.mem, g->a.off,
			g->a.ld, g->a.stride, g->b.mem, g->b.off, g->b.ld,
			g->b.stride, g->beta, g->c.mem, g->c.off, g->c.ld,
			g->c.stride, g->batch, &cl_of(rt)->queue, NULL);
	if (st != CLBlastSuccess)
		return blast_fail(rt, g->batch == 1 ? "CLBlastSgemm" :
			"CLBlastSgemmStridedBatched", st);
	if (rt->profile) {
		if (rt_finish(rt) != 0)
			return -1;
		rt_prof_add(rt, g->batch > 1 ? "gemm_batched" : "gemm",
			rt_now() - t0, 2.0 * g->m * g->n * g->k * g->batch);
	}
	return 0;
}

/* A float32 copy of count float16 elements of src from off (pooled;
 * the in-order queue runs the product that reads it before anything
 * reuses the memory). */
static struct ktensor *
h2f(struct kiln_rt *rt, cl_mem src, size_t off, size_t count)
{
	struct ktensor *t;
	uint32_t o = (uint32_t)off, n = (uint32_t)count;
	struct rt_arg a[4];

	if (off + count > UINT32_MAX) {
		rt_failf(rt, "gemm: weight beyond 2^32 elements");
		return NULL;
	}
	t = kt_new1(rt, KD_F32, (int64_t)count);
	if (t == NULL)
		return NULL;
	a[0] = RT_ARG(src);
	a[1] = RT_ARG(o);
	a[2] = RT_ARG(t->mem);
	a[3] = RT_ARG(n);
	if (launch1(rt, "k_h2f", (count + 15) / 16, a, 4) != 0) {
		kt_free(t);
		return NULL;
	}
	return t;
}

/* Elements from t's first to its last, gaps included. */
static size_t
span(const struct ktensor *t)
{
	size_t n = 1;
	int i;

	for (i = 0; i < t->nd; i++)
		n += (size_t)(t->ne[i] - 1) * (size_t)t->nb[i];
	return n;
}

/* Below this many rows (or columns) on the other side, a float16 weight
 * is read as it is: the float32 copy would cost more than it saves. */
#define GEMM_H2F_MIN 64

/* Points operand g (of view t) at a float32 copy of t's span, *tmp, with
 * the same strides. Returns 0 or -1. */
static int
widen(const struct ktensor *t, struct gmat *g, struct ktensor **tmp)
{
	*tmp = h2f(t->rt, g->mem, g->off, span(t));
	if (*tmp == NULL)
		return -1;
	g->mem = (*tmp)->mem;
	g->off = 0;
	g->dt = KD_F32;
	return 0;
}

/* The last two axes of t as a GEMM operand: a unit stride along its rows
 * (ld the row stride), or down its columns (stored transposed, ld the
 * column stride). The batch stride is axis 0's in a 3-D view. */
static int
gemm_operand(const struct ktensor *t, const char *name, struct gmat *g)
{
	int64_t r = t->ne[t->nd - 2], c = t->ne[t->nd - 1],
		sr = t->nb[t->nd - 2], sc = t->nb[t->nd - 1];

	g->mem = t->mem;
	g->dt = t->dtype;
	g->off = t->offs;
	g->stride = t->nd == 3 && t->ne[0] > 1 ? (size_t)t->nb[0] : 0;
	/* A single row (column) may have any stride between rows
	 * (columns): CLBlast still wants the leading dimension to cover
	 * one. */
	if (sc == 1 && (sr >= c || r == 1)) {
		g->trans = 0;
		g->ld = (size_t)(sr >= c ? sr : c);
	} else if (sr == 1 && (sc >= r || c == 1)) {
		g->trans = 1;
		g->ld = (size_t)(sc >= r ? sc : r);
	} else
		return rt_failf(t->rt, "matmul: %s [%lld, %lld] has strides "
			"[%lld, %lld]: the GEMM needs unit stride on one axis "
			"and rows (columns) that do not overlap", name,
			(long long)r, (long long)c, (long long)sr,
			(long long)sc);
	return 0;
}

/* Checks op_matmul's operands and works out the product they ask for. */
static int
matmul_plan(const struct ktensor *a, const struct ktensor *b,
	const struct ktensor *c, struct gemm *g)
{
	int nd = c->nd;
	char sa[64], sb[64], sc[64];

	if ((nd != 2 && nd != 3) || a->nd != nd || b->nd != nd ||
	    (nd == 3 && (a->ne[0] != c->ne[0] || b->ne[0] != c->ne[0])) ||
	    a->ne[nd - 2] != c->ne[nd - 2] || b->ne[nd - 1] != c->ne[nd - 1] ||
	    a->ne[nd - 1] != b->ne[nd - 2])
		return rt_failf(c->rt, "matmul: A %s times B %s does not give "
			"C %s (all 2-D, or 3-D with one batch axis)",
			kt_shape_str(a, sa, sizeof(sa)),
			kt_shape_str(b, sb, sizeof(sb)),
			kt_shape_str(c, sc, sizeof(sc)));
	if (c->dtype != KD_F32 || (a->dtype == KD_F16 && b->dtype == KD_F16))
		return rt_failf(c->rt, "matmul: C must be float32, and at "
			"most one of A and B float16");
	memset(g, 0, sizeof(*g));
	g->m = (size_t)c->ne[nd - 2];
	g->n = (size_t)c->ne[nd - 1];
	g->k = (size_t)a->ne[nd - 1];
	g->batch = nd == 3 ? (size_t)c->ne[0] : 1;
	if (gemm_operand(a, "A", &g->a) != 0 ||
	    gemm_operand(b, "B", &g->b) != 0 ||
	    gemm_operand(c, "C", &g->c) != 0)
		return -1;
	if (g->c.trans)
		return rt_failf(c->rt, "matmul: C needs unit stride along "
			"its rows");
	/* The kernels that read float16 take no transposes. */
	if ((a->dtype == KD_F16 || b->dtype == KD_F16) &&
	    (g->a.trans || g->b.trans))
		return rt_failf(c->rt, "matmul: no transposed operands with "
			"a float16 one");
	return 0;
}

/* Whether the engine's kernel will run a product without transposes on
 * rt, and so can add a bias as it stores (gemm_biased). */
static int
fuses_bias(const struct kiln_rt *rt, const struct ktensor *bias)
{
	return bias != NULL && bias->dtype == KD_F32 && use_own_gemm(rt);
}

/* op_matmul's body, with the bias of struct gemm: bias NULL or bmode 0
 * for none; a bias only where fuses_bias says so. */
static int
gemm_biased(const struct ktensor *a, const struct ktensor *b,
	struct ktensor *c, float alpha, float beta,
	const struct ktensor *bias, uint32_t bmode)
{
	struct kiln_rt *rt = c->rt;
	struct ktensor *tmp = NULL;
	struct gemm g;
	double t0;
	int rc;

	if (matmul_plan(a, b, c, &g) != 0)
		return -1;
	g.alpha = alpha;
	g.beta = beta;
	if (bias != NULL && bmode != 0) {
		g.bias = bias->mem;
		g.bmode = bmode;
	}
	/* Weights stay float16 in memory (half the footprint); a product
	 * that reuses one across many rows or columns gets a float32 copy
	 * for its own duration, because the float32 kernel runs about 2-3x
	 * faster than the ones that convert each element in the inner
	 * loop. */
	if (g.a.dt == KD_F16 && g.n >= GEMM_H2F_MIN) {
		if (widen(a, &g.a, &tmp) != 0)
			return -1;
	} else if (g.b.dt == KD_F16 && g.m >= GEMM_H2F_MIN) {
		if (widen(b, &g.b, &tmp) != 0)
			return -1;
	}
	/* A float16 operand only the engine's kernel reads; transposes
	 * only CLBlast. */
	t0 = rt->profile ? rt_now() : 0;
	if (g.a.dt == KD_F16 || g.b.dt == KD_F16 ||
	    (!g.a.trans && !g.b.trans && use_own_gemm(rt)))
		rc = gemm_own(rt, &g, t0);
	else if (g.bmode != 0)
		rc = rt_failf(rt, "gemm: a bias needs the engine's kernel");
	else
		rc = gemm_blast(rt, &g, t0);
	kt_free(tmp);
	return rc;
}

static int
cl_matmul(const struct ktensor *a, const struct ktensor *b,
	struct ktensor *c, float alpha, float beta)
{
	return gemm_biased(a, b, c, alpha, beta, NULL, 0);
}

static int
cl_linear(const struct ktensor *x, const struct ktensor *w,
	const struct ktensor *b, struct ktensor *y)
{
	struct kiln_rt *rt = x->rt;
	struct ktensor xv, wv, yv;
	size_t in, out, rows;
	uint32_t d, total;

	if (op_check_f32(x, "linear") || op_check_f32(y, "linear") ||
	    op_check_dense("linear", x, w, b, y))
		return -1;
	if (w->nd != 2)
		return rt_failf(rt, "linear: weight must be [out, in]");
	/* The GEMM reads the weight as B [in, out]: it is laid out so
	 * once, at load, rather than here on a const tensor. */
	if (!w->kn)
		return rt_failf(rt, "linear: weight is not in the [in, out] "
			"layout (load it with wt_load_linear)");
	out = (size_t)w->ne[0];
	in = (size_t)w->ne[1];
	if ((size_t)x->ne[x->nd - 1] != in || kt_nelem(x) % in != 0)
		return rt_failf(rt, "linear: input's last axis is %lld, "
			"weight wants %zu", (long long)x->ne[x->nd - 1], in);
	rows = kt_nelem(x) / in;
	if (kt_nelem(y) != rows * out)
		return rt_failf(rt, "linear: output has %zu elements, want "
			"%zu", kt_nelem(y), rows * out);
	if (b != NULL && (size_t)kt_nelem(b) != out)
		return rt_failf(rt, "linear: bias has %zu elements, want %zu",
			kt_nelem(b), out);
	/* x and y as matrices of rows; w's buffer as the [in, out] it
	 * holds. */
	if (kt_view_2d(&xv, x, rows, in, in, 0) != 0 ||
	    kt_view_2d(&wv, w, in, out, out, 0) != 0 ||
	    kt_view_2d(&yv, y, rows, out, out, 0) != 0)
		return -1;
	/* The bias in the GEMM's store, or (CLBlast) written first into y,
	 * which the product then adds to. */
	if (fuses_bias(rt, b))
		return gemm_biased(&xv, &wv, &yv, 1.0f, 0.0f, b, 1);
	if (b != NULL) {
		struct rt_arg a[4];

		d = (uint32_t)out;
		total = (uint32_t)(rows * out);
		a[0] = RT_ARG(b->mem);
		a[1] = RT_ARG(y->mem);
		a[2] = RT_ARG(d);
		a[3] = RT_ARG(total);
		if (launch1(rt, "k_fill_rows", total, a, 4) != 0)
			return -1;
	}
	return cl_matmul(&xv, &wv, &yv, 1.0f, b != NULL ? 1.0f : 0.0f);
}

static int
cl_add_channel(const struct ktensor *x, const struct ktensor *v,
	struct ktensor *y)
{
	struct kiln_rt *rt = x->rt;
	uint32_t C, HW, vstride, total;
	struct rt_arg a[7];

	if (op_check_dense("add_channel", x, v, y, NULL))
		return -1;
	if (x->nd < 2 || op_check_nelem(x, y, "add_channel"))
		return rt_failf(rt, "add_channel: x must be [N, C, ...]");
	C = (uint32_t)x->ne[1];
	HW = (uint32_t)(kt_nelem(x) / (size_t)(x->ne[0] * x->ne[1]));
	if (kt_nelem(v) == C)
		vstride = 0;
	else if (kt_nelem(v) == (size_t)x->ne[0] * C)
		vstride = C;
	else
		return rt_failf(rt, "add_channel: vector has %zu elements, "
			"want %u or %lld", kt_nelem(v), C,
			(long long)(x->ne[0] * C));
	total = (uint32_t)kt_nelem(x);
	a[0] = RT_ARG(x->mem);
	a[1] = RT_ARG(v->mem);
	a[2] = RT_ARG(y->mem);
	a[3] = RT_ARG(C);
	a[4] = RT_ARG(HW);
	a[5] = RT_ARG(vstride);
	a[6] = RT_ARG(total);
	return launch1(rt, "k_add_channel", total, a, 7);
}

/* A convolution's geometry, worked out once by op_conv2d. */
struct conv {
	uint32_t C, H, W, KH, KW, st, pd, HO, WO;
	size_t N, O, ckk, P;	/* ckk = C KH KW, P = HO WO */
};

/* A 1x1, stride 1, unpadded convolution is a GEMM on x itself: per image,
 * w [O, C] times x [C, HW] into y [O, HW]. */
static int
conv_direct(const struct conv *cv, const struct ktensor *x,
	const struct ktensor *w, const struct ktensor *b, struct ktensor *y)
{
	size_t n, hw = (size_t)cv->H * cv->W;

	for (n = 0; n < cv->N; n++) {
		struct ktensor xn, yn;

		if (kt_view_2d(&xn, x, cv->C, hw, hw, n * cv->C * hw) != 0 ||
		    kt_view_2d(&yn, y, cv->O, cv->P, cv->P,
		    n * cv->O * cv->P) != 0 ||
		    gemm_biased(w, &xn, &yn, 1.0f, 0.0f, b, 2) != 0)
			return -1;
	}
	return 0;
}

/* The columns of output lines oy0.. (rows of them) of image n into col,
 * packed as [ckk, rows WO] from its start. */
static int
im2col(const struct conv *cv, const struct ktensor *x, struct ktensor *col,
	size_t n, uint32_t oy0, uint32_t rows)
{
	uint32_t xo = (uint32_t)(n * cv->C * (size_t)cv->H * cv->W);
	size_t g2[2] = { rows, cv->ckk };
	struct rt_arg a[13] = { RT_ARG(x->mem), RT_ARG(xo),
		RT_ARG(col->mem), RT_ARG(cv->C), RT_ARG(cv->H), RT_ARG(cv->W),
		RT_ARG(cv->KH), RT_ARG(cv->KW), RT_ARG(cv->st), RT_ARG(cv->pd),
		RT_ARG(oy0), RT_ARG(rows), RT_ARG(cv->WO) };

	return rt_launch(x->rt, "k_im2col", 2, g2, NULL, a, 13);
}

/* im2col one band of output lines at a time, so the column buffer stays
 * small (a 512x512 VAE conv would otherwise need gigabytes) and warm in
 * cache for its GEMM: w [O, ckk] times the band's columns [ckk, rows WO]
 * into those lines of y, [O, rows WO] with rows HO WO apart. */
static int
conv_banded(const struct conv *cv, const struct ktensor *x,
	const struct ktensor *w, const struct ktensor *b, struct ktensor *y)
{
	struct kiln_rt *rt = x->rt;
	size_t br = (rt->conv_band ? rt->conv_band : OP_CONV_BAND_BYTES) /
		(cv->ckk * cv->WO * sizeof(float)), n, oy0;
	struct ktensor *col;
	int rc = -1;

	if (br < 1)
		br = 1;
	if (br > cv->HO)
		br = cv->HO;
	col = kt_new2(rt, KD_F32, (int64_t)cv->ckk, (int64_t)(br * cv->WO));
	if (col == NULL)
		return -1;
	for (n = 0; n < cv->N; n++) {
		for (oy0 = 0; oy0 < cv->HO; oy0 += br) {
			size_t rows = cv->HO - oy0 < br ? cv->HO - oy0 : br,
				bw = rows * cv->WO;
			struct ktensor cb, yb;

			if (im2col(cv, x, col, n, (uint32_t)oy0,
			    (uint32_t)rows) != 0 ||
			    kt_view_2d(&cb, col, cv->ckk, bw, bw, 0) != 0 ||
			    kt_view_2d(&yb, y, cv->O, bw, cv->P,
			    n * cv->O * cv->P + oy0 * cv->WO) != 0 ||
			    gemm_biased(w, &cb, &yb, 1.0f, 0.0f, b, 2) != 0)
				goto out;
		}
	}
	rc = 0;
out:
	kt_free(col);
	return rc;
}

static int
cl_conv2d(const struct ktensor *x, const struct ktensor *w,
	const struct ktensor *b, struct ktensor *y, int stride, int pad)
{
	struct kiln_rt *rt = x->rt;
	struct conv cv;
	struct ktensor *wf = NULL, wm;
	const struct ktensor *fb;
	int rc = -1;

	if (x->nd != 4 || w->nd != 4 || y->nd != 4 || stride < 1 || pad < 0)
		return rt_failf(rt, "conv2d: x, w, y must be 4-D");
	if (op_check_f32(x, "conv2d") || op_check_f32(y, "conv2d") ||
	    op_check_dense("conv2d", x, w, b, y))
		return -1;
	cv.N = (size_t)x->ne[0];
	cv.C = (uint32_t)x->ne[1];
	cv.H = (uint32_t)x->ne[2];
	cv.W = (uint32_t)x->ne[3];
	cv.O = (size_t)w->ne[0];
	cv.KH = (uint32_t)w->ne[2];
	cv.KW = (uint32_t)w->ne[3];
	cv.st = (uint32_t)stride;
	cv.pd = (uint32_t)pad;
	if ((uint32_t)w->ne[1] != cv.C)
		return rt_failf(rt, "conv2d: input has %u channels, weight "
			"wants %lld", cv.C, (long long)w->ne[1]);
	if (cv.H + 2 * cv.pd < cv.KH || cv.W + 2 * cv.pd < cv.KW)
		return rt_failf(rt, "conv2d: kernel larger than input");
	cv.HO = (cv.H + 2 * cv.pd - cv.KH) / cv.st + 1;
	cv.WO = (cv.W + 2 * cv.pd - cv.KW) / cv.st + 1;
	if ((size_t)y->ne[0] != cv.N || (size_t)y->ne[1] != cv.O ||
	    (uint32_t)y->ne[2] != cv.HO || (uint32_t)y->ne[3] != cv.WO)
		return rt_failf(rt, "conv2d: output must be [%zu, %zu, %u, %u]",
			cv.N, cv.O, cv.HO, cv.WO);
	if (b != NULL && kt_nelem(b) != cv.O)
		return rt_failf(rt, "conv2d: bias has %zu elements, want %zu",
			kt_nelem(b), cv.O);
	cv.ckk = (size_t)cv.C * cv.KH * cv.KW;
	cv.P = (size_t)cv.HO * cv.WO;
	/* One float32 copy of a float16 weight for every image and band
	 * (op_matmul would make one per product). */
	if (w->dtype == KD_F16 && cv.P >= GEMM_H2F_MIN) {
		wf = h2f(rt, w->mem, 0, cv.O * cv.ckk);
		if (wf == NULL)
			return -1;
	}
	/* The weight as the matrix [O, C KH KW]. */
	if (kt_view_2d(&wm, wf != NULL ? wf : w, cv.O, cv.ckk, cv.ckk, 0) != 0)
		goto out;
	/* The bias, one per output channel (a row of each product), in the
	 * GEMM's store where it can, else as a pass of its own. */
	fb = fuses_bias(rt, b) ? b : NULL;
	if (cv.KH == 1 && cv.KW == 1 && cv.st == 1 && cv.pd == 0) {
		if (conv_direct(&cv, x, &wm, fb, y) != 0)
			goto out;
	} else if (conv_banded(&cv, x, &wm, fb, y) != 0)
		goto out;
	if (b != NULL && fb == NULL && cl_add_channel(y, b, y) != 0)
		goto out;
	rc = 0;
out:
	kt_free(wf);
	return rc;
}

static size_t
wg_size(struct kiln_rt *rt)
{
	size_t w = WG;

	while (w > rt->max_wg)
		w /= 2;
	return w;
}

static int
cl_group_norm(const struct ktensor *x, const struct ktensor *gamma,
	const struct ktensor *beta, struct ktensor *y, int groups, float eps,
	int silu)
{
	struct kiln_rt *rt = x->rt;
	uint32_t C, HW, G = (uint32_t)groups;
	size_t N, lws = wg_size(rt), gws;
	struct rt_arg a[10];

	if (op_check_dense("group_norm", x, gamma, beta, y))
		return -1;
	if (x->nd < 2 || op_check_nelem(x, y, "group_norm"))
		return rt_failf(rt, "group_norm: x must be [N, C, ...]");
	N = (size_t)x->ne[0];
	C = (uint32_t)x->ne[1];
	HW = (uint32_t)(kt_nelem(x) / (N * C));
	if (groups < 1 || C % G != 0)
		return rt_failf(rt, "group_norm: %u channels do not split into "
			"%d groups", C, groups);
	if (kt_nelem(gamma) != C || kt_nelem(beta) != C)
		return rt_failf(rt, "group_norm: gamma/beta must have %u "
			"elements", C);
	gws = N * G * lws;
	a[0] = RT_ARG(x->mem);
	a[1] = RT_ARG(gamma->mem);
	a[2] = RT_ARG(beta->mem);
	a[3] = RT_ARG(y->mem);
	a[4] = RT_ARG(C);
	a[5] = RT_ARG(HW);
	a[6] = RT_ARG(G);
	a[7] = RT_ARG(eps);
	a[8] = RT_ARG(silu);
	/* CPUs: a group per work item (norm.cl says why). */
	if (rt->type == RT_DEV_CPU) {
		uint32_t slices = (uint32_t)(N * G);

		a[9] = RT_ARG(slices);
		return rows_launch(rt, "k_group_norm_row", N * G, a, 10);
	}
	a[9] = RT_LOCAL(lws * sizeof(float));
	return rt_launch(rt, "k_group_norm", 1, &gws, &lws, a, 10);
}

static int
cl_layer_norm(const struct ktensor *x, const struct ktensor *gamma,
	const struct ktensor *beta, struct ktensor *y, float eps)
{
	struct kiln_rt *rt = x->rt;
	uint32_t D = (uint32_t)x->ne[x->nd - 1];
	size_t rows = kt_nelem(x) / D, lws = wg_size(rt), gws = rows * lws;
	struct rt_arg a[7];

	if (op_check_dense("layer_norm", x, gamma, beta, y) ||
	    op_check_nelem(x, y, "layer_norm"))
		return -1;
	if (kt_nelem(gamma) != D || kt_nelem(beta) != D)
		return rt_failf(rt, "layer_norm: gamma/beta must have %u "
			"elements", D);
	a[0] = RT_ARG(x->mem);
	a[1] = RT_ARG(gamma->mem);
	a[2] = RT_ARG(beta->mem);
	a[3] = RT_ARG(y->mem);
	a[4] = RT_ARG(D);
	a[5] = RT_ARG(eps);
	/* CPUs: a row per work item (norm.cl says why). */
	if (rt->type == RT_DEV_CPU) {
		uint32_t r = (uint32_t)rows;

		a[6] = RT_ARG(r);
		return rows_launch(rt, "k_layer_norm_row", rows, a, 7);
	}
	a[6] = RT_LOCAL(lws * sizeof(float));
	return rt_launch(rt, "k_layer_norm", 1, &gws, &lws, a, 7);
}

/* Softmax over rows of D in a raw buffer; see k_softmax for causal. CPUs
 * take one work item per row, other devices a work group per row. */
static int
softmax_rows(struct kiln_rt *rt, cl_mem m, size_t rows, uint32_t D,
	int causal, uint32_t rows_per_head, uint32_t q0)
{
	size_t lws = wg_size(rt), gws = rows * lws;
	struct rt_arg a[6];

	a[0] = RT_ARG(m);
	a[1] = RT_ARG(D);
	a[2] = RT_ARG(causal);
	a[3] = RT_ARG(rows_per_head);
	a[4] = RT_ARG(q0);
	if (rt->type == RT_DEV_CPU) {
		uint32_t nrows = (uint32_t)rows;

		a[5] = RT_ARG(nrows);
		return launch1(rt, "k_softmax_row", rows, a, 6);
	}
	a[5] = RT_LOCAL(lws * sizeof(float));
	return rt_launch(rt, "k_softmax", 1, &gws, &lws, a, 6);
}

static int
cl_softmax(struct ktensor *x)
{
	uint32_t D = (uint32_t)x->ne[x->nd - 1];

	if (op_check_dense("softmax", x, NULL, NULL, NULL))
		return -1;
	return softmax_rows(x->rt, x->mem, kt_nelem(x) / D, D, 0, 1, 0);
}

static int
cl_attention(const struct ktensor *q, const struct ktensor *k,
	const struct ktensor *v, struct ktensor *out, int heads, float scale,
	int causal)
{
	struct kiln_rt *rt = q->rt;
	size_t B, Lq, Lk, HD, d, H = (size_t)heads, chunk, budget, b, q0;
	struct ktensor *s = NULL, *kt = NULL;
	int rc = -1;

	if (op_check_dense("attention", q, k, v, out))
		return -1;
	if (q->nd != 3 || k->nd != 3 || v->nd != 3 || out->nd != 3)
		return rt_failf(rt, "attention: q, k, v, out must be 3-D");
	B = (size_t)q->ne[0];
	Lq = (size_t)q->ne[1];
	HD = (size_t)q->ne[2];
	Lk = (size_t)k->ne[1];
	if (heads < 1 || HD % H != 0)
		return rt_failf(rt, "attention: %zu channels do not split into "
			"%d heads", HD, heads);
	d = HD / H;
	if ((size_t)k->ne[0] != B || (size_t)v->ne[0] != B ||
	    (size_t)k->ne[2] != HD || (size_t)v->ne[2] != HD ||
	    (size_t)v->ne[1] != Lk || op_check_nelem(q, out, "attention"))
		return rt_failf(rt, "attention: q, k, v shapes disagree");
	if (causal && Lq != Lk)
		return rt_failf(rt, "attention: causal needs Lq == Lk");
	/* CPUs run the fused kernel: no score matrix in memory at all. */
	if (d <= ATTN_FUSED_MAXD && (rt->attn_mode == RT_ATTN_FUSED ||
	    (rt->attn_mode == RT_ATTN_AUTO && rt->type == RT_DEV_CPU))) {
		size_t Lkp = (Lk + ATTN_KEY_TILE - 1) / ATTN_KEY_TILE *
			ATTN_KEY_TILE;
		uint32_t Lq32 = (uint32_t)Lq, Lk32 = (uint32_t)Lk,
			Lkp32 = (uint32_t)Lkp, H32 = (uint32_t)H,
			d32 = (uint32_t)d;
		/* Work items run in the order of dimension 0 first. Where
		 * the keys and values of every head fit in a core's L2
		 * (cross-attention, CLIP), the heads go first: neighbouring
		 * items then read and write the same rows of q and out, the
		 * larger traffic there. Otherwise the query blocks go first,
		 * so neighbours share one head's keys and values (2x4096 x
		 * 10x64 self-attention ran at 0.63 the speed heads first). */
		int heads_first = Lk * HD * 2 * sizeof(float) <= (1u << 20);
		size_t nqb = (Lq + ATTN_QUERIES - 1) / ATTN_QUERIES;
		/* One item per ATTN_QUERIES queries, one item per group:
		 * each keeps 23 KiB of private arrays, which PoCL puts on
		 * its worker threads' stacks for the whole group. */
		size_t g3[3] = { heads_first ? H : nqb, heads_first ? nqb : H,
			B }, l3[3] = { 1, 1, 1 };
		size_t t3[3] = { Lkp / 16, H * d, B };

		/* K^T per head, its rows padded to whole key tiles: the
		 * kernel's score tile is then one vector load per step. */
		kt = kt_new4(rt, KD_F32, (int64_t)B, (int64_t)H, (int64_t)d,
			(int64_t)Lkp);
		if (kt == NULL)
			return -1;
		{
			struct rt_arg ta[6] = { RT_ARG(k->mem),
				RT_ARG(kt->mem), RT_ARG(Lk32), RT_ARG(Lkp32),
				RT_ARG(H32), RT_ARG(d32) };
			struct rt_arg a[12] = { RT_ARG(q->mem),
				RT_ARG(kt->mem), RT_ARG(v->mem),
				RT_ARG(out->mem), RT_ARG(Lq32), RT_ARG(Lk32),
				RT_ARG(Lkp32), RT_ARG(H32), RT_ARG(d32),
				RT_ARG(scale), RT_ARG(causal),
				RT_ARG(heads_first) };

			if (rt_launch(rt, "k_heads_t", 3, t3, NULL, ta,
			    6) == 0 && rt_launch(rt, "k_attn_fused", 3, g3,
			    l3, a, 12) == 0)
				rc = 0;
		}
		kt_free(kt);
		return rc;
	}
	budget = rt->attn_budget ? rt->attn_budget : ATTN_BUDGET_DEFAULT;
	chunk = budget / (H * Lk * sizeof(float));
	if (chunk == 0)
		chunk = 1;
	if (chunk > Lq)
		chunk = Lq;
	s = kt_new3(rt, KD_F32, (int64_t)H, (int64_t)chunk, (int64_t)Lk);
	/* K^T per head, so both products are plain (no transposes): the
	 * GEMM kernel wants B row-major with rows along its N. */
	kt = kt_new4(rt, KD_F32, (int64_t)B, (int64_t)H, (int64_t)d,
		(int64_t)Lk);
	if (s == NULL || kt == NULL)
		goto out;
	{
		uint32_t L32 = (uint32_t)Lk, H32 = (uint32_t)H,
			d32 = (uint32_t)d;
		size_t g3[3] = { (Lk + 15) / 16, H * d, B };
		struct rt_arg a[6] = { RT_ARG(k->mem), RT_ARG(kt->mem),
			RT_ARG(L32), RT_ARG(L32), RT_ARG(H32), RT_ARG(d32) };

		if (rt_launch(rt, "k_heads_t", 3, g3, NULL, a, 6) != 0)
			goto out;
	}
	for (b = 0; b < B; b++) {
		for (q0 = 0; q0 < Lq; q0 += chunk) {
			size_t m = Lq - q0 < chunk ? Lq - q0 : chunk,
				qoff = (b * Lq + q0) * HD;
			struct ktensor qh, kh, sh, vh, oh;

			/* Per head h, batched: Q_h, these m rows' columns
			 * h d.. of q; K_h^T, slab h of image b's kt; S_h,
			 * the scores packed [H, m, Lk] from s's start; V_h
			 * and O_h, columns h d.. of image b's v and of
			 * out's rows. */
			if (kt_view_3d(&qh, q, H, m, d, d, HD, qoff) != 0 ||
			    kt_view_3d(&kh, kt, H, d, Lk, d * Lk, Lk,
			    b * H * d * Lk) != 0 ||
			    kt_view_3d(&sh, s, H, m, Lk, m * Lk, Lk, 0) != 0 ||
			    kt_view_3d(&vh, v, H, Lk, d, d, HD,
			    b * Lk * HD) != 0 ||
			    kt_view_3d(&oh, out, H, m, d, d, HD, qoff) != 0)
				goto out;
			/* S_h = scale Q_h K_h^T, its softmax, then
			 * O_h = S_h V_h. */
			if (cl_matmul(&qh, &kh, &sh, scale, 0.0f) != 0 ||
			    softmax_rows(rt, s->mem, H * m, (uint32_t)Lk,
			    causal, (uint32_t)m, (uint32_t)q0) != 0 ||
			    cl_matmul(&sh, &vh, &oh, 1.0f, 0.0f) != 0)
				goto out;
		}
	}
	rc = 0;
out:
	kt_free(s);
	kt_free(kt);
	return rc;
}

static int
binary(const char *kern, const struct ktensor *a, const struct ktensor *b,
	struct ktensor *y)
{
	uint32_t n = (uint32_t)kt_nelem(a);
	struct rt_arg args[4];

	if (op_check_dense(kern, a, b, y, NULL) || op_check_nelem(a, b, kern) ||
	    op_check_nelem(a, y, kern))
		return -1;
	args[0] = RT_ARG(a->mem);
	args[1] = RT_ARG(b->mem);
	args[2] = RT_ARG(y->mem);
	args[3] = RT_ARG(n);
	return launch1(a->rt, kern, n, args, 4);
}

static int
cl_add(const struct ktensor *a, const struct ktensor *b, struct ktensor *y)
{
	return binary("k_add", a, b, y);
}

static int
cl_mul(const struct ktensor *a, const struct ktensor *b, struct ktensor *y)
{
	return binary("k_mul", a, b, y);
}

static int
cl_scale(const struct ktensor *x, float s, struct ktensor *y)
{
	uint32_t n = (uint32_t)kt_nelem(x);
	struct rt_arg a[4];

	if (op_check_dense("scale", x, y, NULL, NULL) ||
	    op_check_nelem(x, y, "scale"))
		return -1;
	a[0] = RT_ARG(x->mem);
	a[1] = RT_ARG(y->mem);
	a[2] = RT_ARG(s);
	a[3] = RT_ARG(n);
	return launch1(x->rt, "k_scale", n, a, 4);
}

static int
cl_act(const struct ktensor *x, struct ktensor *y, enum act_kind kind)
{
	uint32_t n = (uint32_t)kt_nelem(x);
	int k = (int)kind;
	struct rt_arg a[4];

	if (op_check_dense("act", x, y, NULL, NULL) ||
	    op_check_nelem(x, y, "act"))
		return -1;
	a[0] = RT_ARG(x->mem);
	a[1] = RT_ARG(y->mem);
	a[2] = RT_ARG(n);
	a[3] = RT_ARG(k);
	return launch1(x->rt, "k_act", n, a, 4);
}

static int
cl_geglu(const struct ktensor *x, struct ktensor *y)
{
	uint32_t D2 = (uint32_t)x->ne[x->nd - 1], D = D2 / 2, rows;
	struct rt_arg a[4];
	size_t gws[2], lws[2] = { 64, 1 };

	if (op_check_dense("geglu", x, y, NULL, NULL))
		return -1;
	if (D2 % 2 != 0 || D == 0 || (uint32_t)y->ne[y->nd - 1] != D ||
	    kt_nelem(y) * 2 != kt_nelem(x))
		return rt_failf(x->rt, "geglu: y's last axis must be half of "
			"x's");
	rows = (uint32_t)(kt_nelem(y) / D);
	a[0] = RT_ARG(x->mem);
	a[1] = RT_ARG(y->mem);
	a[2] = RT_ARG(D);
	a[3] = RT_ARG(rows);
	gws[0] = round_up(D, 64);
	gws[1] = rows;
	return rt_launch(x->rt, "k_geglu", 2, gws, lws, a, 4);
}

static int
cl_concat_channels(const struct ktensor *a, const struct ktensor *b,
	struct ktensor *y)
{
	uint32_t C1, C2, HW, total;
	struct rt_arg args[7];

	if (op_check_dense("concat", a, b, y, NULL))
		return -1;
	if (a->nd < 2 || b->nd != a->nd || y->nd != a->nd ||
	    a->ne[0] != b->ne[0] || y->ne[1] != a->ne[1] + b->ne[1])
		return rt_failf(a->rt, "concat: shapes disagree");
	C1 = (uint32_t)a->ne[1];
	C2 = (uint32_t)b->ne[1];
	HW = (uint32_t)(kt_nelem(a) / (size_t)(a->ne[0] * a->ne[1]));
	if (kt_nelem(b) != (size_t)b->ne[0] * C2 * HW ||
	    kt_nelem(y) != (size_t)a->ne[0] * (C1 + C2) * HW)
		return rt_failf(a->rt, "concat: spatial sizes disagree");
	total = (uint32_t)kt_nelem(y);
	args[0] = RT_ARG(a->mem);
	args[1] = RT_ARG(b->mem);
	args[2] = RT_ARG(y->mem);
	args[3] = RT_ARG(C1);
	args[4] = RT_ARG(C2);
	args[5] = RT_ARG(HW);
	args[6] = RT_ARG(total);
	return launch1(a->rt, "k_concat_ch", total, args, 7);
}

static int
cl_upsample2x(const struct ktensor *x, struct ktensor *y)
{
	uint32_t H, W, total;
	struct rt_arg a[5];

	if (op_check_dense("upsample2x", x, y, NULL, NULL))
		return -1;
	if (x->nd != 4 || y->nd != 4 || y->ne[0] != x->ne[0] ||
	    y->ne[1] != x->ne[1] || y->ne[2] != 2 * x->ne[2] ||
	    y->ne[3] != 2 * x->ne[3])
		return rt_failf(x->rt, "upsample2x: y must be [N, C, 2H, 2W]");
	H = (uint32_t)x->ne[2];
	W = (uint32_t)x->ne[3];
	total = (uint32_t)kt_nelem(y);
	a[0] = RT_ARG(x->mem);
	a[1] = RT_ARG(y->mem);
	a[2] = RT_ARG(H);
	a[3] = RT_ARG(W);
	a[4] = RT_ARG(total);
	return launch1(x->rt, "k_upsample2x", total, a, 5);
}

static int
cl_leaky_relu(const struct ktensor *x, struct ktensor *y, float slope)
{
	uint32_t n = (uint32_t)kt_nelem(x);
	struct rt_arg a[4];

	if (op_check_dense("leaky_relu", x, y, NULL, NULL) ||
	    op_check_f32(x, "leaky_relu") || op_check_f32(y, "leaky_relu") ||
	    op_check_nelem(x, y, "leaky_relu"))
		return -1;
	a[0] = RT_ARG(x->mem);
	a[1] = RT_ARG(y->mem);
	a[2] = RT_ARG(slope);
	a[3] = RT_ARG(n);
	return launch1(x->rt, "k_leaky_relu", n, a, 4);
}

static int
cl_prelu(const struct ktensor *x, const struct ktensor *slope,
	struct ktensor *y)
{
	uint32_t n = (uint32_t)kt_nelem(x), C, HW;
	struct rt_arg a[6];

	if (op_check_dense("prelu", x, slope, y, NULL) ||
	    op_check_f32(x, "prelu") || op_check_f32(slope, "prelu") ||
	    op_check_f32(y, "prelu") || op_check_nelem(x, y, "prelu"))
		return -1;
	if (x->nd < 2 || (kt_nelem(slope) != 1 &&
	    kt_nelem(slope) != (size_t)x->ne[1]))
		return rt_failf(x->rt, "prelu: x must be [N, C, ...] and the "
			"slope [C] or [1]");
	C = (uint32_t)kt_nelem(slope);
	HW = (uint32_t)(kt_nelem(x) / (size_t)(x->ne[0] * x->ne[1]));
	a[0] = RT_ARG(x->mem);
	a[1] = RT_ARG(slope->mem);
	a[2] = RT_ARG(y->mem);
	a[3] = RT_ARG(C);
	a[4] = RT_ARG(HW);
	a[5] = RT_ARG(n);
	return launch1(x->rt, "k_prelu", n, a, 6);
}

/* Pixel shuffle (unshuffle 0) or unshuffle (1) of lo [N, C r^2, H, W]
 * and hi [N, C, H r, W r]: x is lo when shuffling, hi otherwise. */
static int
shuffle(const struct ktensor *x, struct ktensor *y, int r, int un)
{
	const char *op = un ? "pixel_unshuffle" : "pixel_shuffle";
	const struct ktensor *lo = un ? y : x, *hi = un ? x : y;
	uint32_t C, H, W, ur = (uint32_t)r, total;
	struct rt_arg a[7];

	if (op_check_dense(op, x, y, NULL, NULL) || op_check_f32(x, op) ||
	    op_check_f32(y, op))
		return -1;
	if (r < 1 || x->nd != 4 || y->nd != 4 || lo->ne[0] != hi->ne[0] ||
	    lo->ne[1] != hi->ne[1] * r * r || hi->ne[2] != lo->ne[2] * r ||
	    hi->ne[3] != lo->ne[3] * r)
		return rt_failf(x->rt, "%s: want r >= 1 and shapes [N, C r^2, "
			"H, W] and [N, C, H r, W r], r = %d", op, r);
	C = (uint32_t)hi->ne[1];
	H = (uint32_t)lo->ne[2];
	W = (uint32_t)lo->ne[3];
	total = (uint32_t)kt_nelem(y);
	a[0] = RT_ARG(x->mem);
	a[1] = RT_ARG(y->mem);
	a[2] = RT_ARG(C);
	a[3] = RT_ARG(H);
	a[4] = RT_ARG(W);
	a[5] = RT_ARG(ur);
	a[6] = RT_ARG(total);
	return launch1(x->rt, un ? "k_pixel_unshuffle" : "k_pixel_shuffle",
		total, a, 7);
}

static int
cl_pixel_shuffle(const struct ktensor *x, struct ktensor *y, int r)
{
	return shuffle(x, y, r, 0);
}

static int
cl_pixel_unshuffle(const struct ktensor *x, struct ktensor *y, int r)
{
	return shuffle(x, y, r, 1);
}

static int
cl_transpose(const struct ktensor *x, struct ktensor *y)
{
	uint32_t R, C;
	size_t gws[3];
	struct rt_arg a[4];

	if (op_check_dense("transpose", x, y, NULL, NULL))
		return -1;
	if (x->nd < 2 || op_check_nelem(x, y, "transpose"))
		return rt_failf(x->rt, "transpose: needs 2+ axes");
	R = (uint32_t)x->ne[x->nd - 2];
	C = (uint32_t)x->ne[x->nd - 1];
	gws[0] = (C + 15) / 16;
	gws[1] = (R + 15) / 16;
	gws[2] = kt_nelem(x) / ((size_t)R * C);
	if (x->dtype != y->dtype)
		return rt_failf(x->rt, "transpose: dtypes differ");
	a[0] = RT_ARG(x->mem);
	a[1] = RT_ARG(y->mem);
	a[2] = RT_ARG(R);
	a[3] = RT_ARG(C);
	return rt_launch(x->rt, x->dtype == KD_F16 ? "k_transpose_h" :
		"k_transpose", 3, gws, NULL, a, 4);
}

static int
cl_timestep_embedding(const struct ktensor *t, struct ktensor *y, int flip,
	float shift, float max_period)
{
	uint32_t dim = (uint32_t)y->ne[y->nd - 1], total;
	struct rt_arg a[7];

	if (op_check_dense("timestep_embedding", t, y, NULL, NULL))
		return -1;
	if (kt_nelem(y) != kt_nelem(t) * dim)
		return rt_failf(t->rt, "timestep_embedding: y must be [N, dim]");
	total = (uint32_t)kt_nelem(y);
	a[0] = RT_ARG(t->mem);
	a[1] = RT_ARG(y->mem);
	a[2] = RT_ARG(dim);
	a[3] = RT_ARG(flip);
	a[4] = RT_ARG(shift);
	a[5] = RT_ARG(max_period);
	a[6] = RT_ARG(total);
	return launch1(t->rt, "k_timestep_embed", total, a, 7);
}

static int
cl_embed(const struct ktensor *ids, const struct ktensor *tok,
	const struct ktensor *pos, struct ktensor *y)
{
	uint32_t L, D, total;
	struct rt_arg a[7];

	if (op_check_dense("embed", ids, tok, pos, y))
		return -1;
	if (ids->nd != 2 || tok->nd != 2 || pos->nd != 2 || y->nd != 3)
		return rt_failf(ids->rt, "embed: bad ranks");
	L = (uint32_t)ids->ne[1];
	D = (uint32_t)tok->ne[1];
	if (pos->ne[1] != D || pos->ne[0] < L || y->ne[0] != ids->ne[0] ||
	    y->ne[1] != L || y->ne[2] != D)
		return rt_failf(ids->rt, "embed: shapes disagree");
	total = (uint32_t)kt_nelem(y);
	a[0] = RT_ARG(ids->mem);
	a[1] = RT_ARG(tok->mem);
	a[2] = RT_ARG(pos->mem);
	a[3] = RT_ARG(y->mem);
	a[4] = RT_ARG(L);
	a[5] = RT_ARG(D);
	a[6] = RT_ARG(total);
	return launch1(ids->rt, "k_embed", total, a, 7);
}

static int
cl_copy(const struct ktensor *x, struct ktensor *y)
{
	struct kiln_rt *rt = x->rt;
	uint32_t st[2][4], n[4], xo, yo, total;
	struct rt_arg a[16];
	int i, k;

	if (x->nd != y->nd || x->dtype != KD_F32 || y->dtype != KD_F32)
		return rt_failf(rt, "copy: needs F32 tensors of one rank");
	for (i = 0; i < x->nd; i++)
		if (x->ne[i] != y->ne[i])
			return op_check_nelem(x, y, "copy") ? -1 : rt_failf(rt,
				"copy: shapes differ");
	if (kt_nelem(x) > UINT32_MAX || x->offs > UINT32_MAX ||
	    y->offs > UINT32_MAX)
		return rt_failf(rt, "copy: beyond 2^32 elements");
	/* Right-aligned into 4 axes; a missing leading axis has extent 1. */
	for (i = 0; i < 4; i++) {
		k = i - (4 - x->nd);
		n[i] = k < 0 ? 1 : (uint32_t)x->ne[k];
		st[0][i] = k < 0 ? 0 : (uint32_t)x->nb[k];
		st[1][i] = k < 0 ? 0 : (uint32_t)y->nb[k];
	}
	xo = (uint32_t)x->offs;
	yo = (uint32_t)y->offs;
	total = (uint32_t)kt_nelem(x);
	a[0] = RT_ARG(x->mem);
	a[1] = RT_ARG(xo);
	for (i = 0; i < 4; i++)
		a[2 + i] = RT_ARG(st[0][i]);
	a[6] = RT_ARG(y->mem);
	a[7] = RT_ARG(yo);
	for (i = 0; i < 4; i++)
		a[8 + i] = RT_ARG(st[1][i]);
	a[12] = RT_ARG(n[1]);
	a[13] = RT_ARG(n[2]);
	a[14] = RT_ARG(n[3]);
	a[15] = RT_ARG(total);
	return launch1(rt, "k_copy4", total, a, 16);
}

static int
cl_fill(struct ktensor *t, float v)
{
	uint32_t n = (uint32_t)kt_nelem(t);
	struct rt_arg a[3];

	if (op_check_dense("fill", t, NULL, NULL, NULL) ||
	    op_check_f32(t, "fill"))
		return -1;
	a[0] = RT_ARG(t->mem);
	a[1] = RT_ARG(v);
	a[2] = RT_ARG(n);
	return launch1(t->rt, "k_fill", n, a, 3);
}

static int
cl_clamp(struct ktensor *x, float lo, float hi)
{
	uint32_t n = (uint32_t)kt_nelem(x);
	struct rt_arg a[4];

	if (op_check_dense("clamp", x, NULL, NULL, NULL) ||
	    op_check_f32(x, "clamp"))
		return -1;
	a[0] = RT_ARG(x->mem);
	a[1] = RT_ARG(lo);
	a[2] = RT_ARG(hi);
	a[3] = RT_ARG(n);
	return launch1(x->rt, "k_clamp", n, a, 4);
}

static int
cl_pad_br(const struct ktensor *x, struct ktensor *y)
{
	uint32_t H, W, total;
	struct rt_arg a[5];

	if (op_check_dense("pad_br", x, y, NULL, NULL))
		return -1;
	if (x->nd != 4 || y->nd != 4 || y->ne[0] != x->ne[0] ||
	    y->ne[1] != x->ne[1] || y->ne[2] != x->ne[2] + 1 ||
	    y->ne[3] != x->ne[3] + 1)
		return rt_failf(x->rt, "pad_br: y must be [N, C, H + 1, W + 1]"
			" of x [N, C, H, W]");
	H = (uint32_t)x->ne[2];
	W = (uint32_t)x->ne[3];
	total = (uint32_t)kt_nelem(y);
	a[0] = RT_ARG(x->mem);
	a[1] = RT_ARG(y->mem);
	a[2] = RT_ARG(H);
	a[3] = RT_ARG(W);
	a[4] = RT_ARG(total);
	return launch1(x->rt, "k_pad_br", total, a, 5);
}

static int
cl_tile_accum(const struct ktensor *t, struct ktensor *img,
	struct ktensor *ws, int y0, int x0, const int ramps[4])
{
	uint32_t NC = (uint32_t)(t->ne[0] * t->ne[1]), TH = (uint32_t)t->ne[2],
		TW = (uint32_t)t->ne[3], OH = (uint32_t)img->ne[2],
		OW = (uint32_t)img->ne[3], uy = (uint32_t)y0, ux = (uint32_t)x0,
		r[4];
	struct rt_arg a[14];
	int i;

	if (op_check_dense("tile_accum", t, img, ws, NULL))
		return -1;
	if (t->nd != 4 || img->nd != 4 || img->ne[0] != t->ne[0] ||
	    img->ne[1] != t->ne[1] || y0 < 0 || x0 < 0 ||
	    y0 + t->ne[2] > img->ne[2] || x0 + t->ne[3] > img->ne[3] ||
	    kt_nelem(ws) != (size_t)(OH * OW))
		return rt_failf(t->rt, "tile_accum: the tile must lie inside "
			"the image and wsum be [OH, OW]");
	for (i = 0; i < 4; i++)
		r[i] = ramps[i] > 0 ? (uint32_t)ramps[i] : 0;
	a[0] = RT_ARG(t->mem);
	a[1] = RT_ARG(img->mem);
	a[2] = RT_ARG(ws->mem);
	a[3] = RT_ARG(NC);
	a[4] = RT_ARG(TH);
	a[5] = RT_ARG(TW);
	a[6] = RT_ARG(OH);
	a[7] = RT_ARG(OW);
	a[8] = RT_ARG(uy);
	a[9] = RT_ARG(ux);
	a[10] = RT_ARG(r[0]);
	a[11] = RT_ARG(r[1]);
	a[12] = RT_ARG(r[2]);
	a[13] = RT_ARG(r[3]);
	return launch1(t->rt, "k_tile_accum", (size_t)TH * TW, a, 14);
}

static int
cl_tile_norm(struct ktensor *img, const struct ktensor *ws)
{
	uint32_t P = (uint32_t)kt_nelem(ws), total = (uint32_t)kt_nelem(img);
	struct rt_arg a[4];

	if (op_check_dense("tile_norm", img, ws, NULL, NULL))
		return -1;
	if (img->nd != 4 || (size_t)P != (size_t)(img->ne[2] * img->ne[3]))
		return rt_failf(img->rt, "tile_norm: wsum must be [OH, OW]");
	a[0] = RT_ARG(img->mem);
	a[1] = RT_ARG(ws->mem);
	a[2] = RT_ARG(P);
	a[3] = RT_ARG(total);
	return launch1(img->rt, "k_tile_norm", total, a, 4);
}

const struct kiln_ops kiln_ops_cl = {
	.matmul = cl_matmul,
	.linear = cl_linear,
	.add_channel = cl_add_channel,
	.conv2d = cl_conv2d,
	.group_norm = cl_group_norm,
	.layer_norm = cl_layer_norm,
	.softmax = cl_softmax,
	.attention = cl_attention,
	.add = cl_add,
	.mul = cl_mul,
	.scale = cl_scale,
	.act = cl_act,
	.geglu = cl_geglu,
	.concat_channels = cl_concat_channels,
	.upsample2x = cl_upsample2x,
	.leaky_relu = cl_leaky_relu,
	.prelu = cl_prelu,
	.pixel_shuffle = cl_pixel_shuffle,
	.pixel_unshuffle = cl_pixel_unshuffle,
	.transpose = cl_transpose,
	.timestep_embedding = cl_timestep_embedding,
	.embed = cl_embed,
	.copy = cl_copy,
	.fill = cl_fill,
	.clamp = cl_clamp,
	.pad_br = cl_pad_br,
	.tile_accum = cl_tile_accum,
	.tile_norm = cl_tile_norm,
};
