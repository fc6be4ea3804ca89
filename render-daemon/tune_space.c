/* tune_space.c - the configurations kiln-render tune searches: CLBlast's
 * Xgemm and XgemmDirect parameters, their constraints, and the next
 * candidate to try. */
#include "tune.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The values the search gives each parameter, in the order of tune.h's
 * X_* and D_* (CLBlast's database order). */
static const struct param xgemm_space[X_N] = {
	{ "GEMMK", 2, { 0, 1 } },
	{ "KREG", 5, { 1, 2, 4, 8, 16 } },
	{ "KWG", 3, { 1, 16, 32 } },
	{ "KWI", 3, { 1, 2, 8 } },
	{ "MDIMA", 5, { 2, 4, 8, 16, 32 } },
	{ "MDIMC", 5, { 2, 4, 8, 16, 32 } },
	{ "MWG", 5, { 8, 16, 32, 64, 128 } },
	{ "NDIMB", 5, { 2, 4, 8, 16, 32 } },
	{ "NDIMC", 5, { 2, 4, 8, 16, 32 } },
	{ "NWG", 5, { 8, 16, 32, 64, 128 } },
	{ "SA", 2, { 0, 1 } },
	{ "SB", 2, { 0, 1 } },
	{ "STRM", 2, { 0, 1 } },
	{ "STRN", 2, { 0, 1 } },
	{ "VWM", 5, { 1, 2, 4, 8, 16 } },
	{ "VWN", 5, { 1, 2, 4, 8, 16 } },
};

static const struct param direct_space[D_N] = {
	{ "KWID", 4, { 1, 2, 8, 16 } },
	{ "MDIMAD", 5, { 2, 4, 8, 16, 32 } },
	{ "MDIMCD", 5, { 2, 4, 8, 16, 32 } },
	{ "NDIMBD", 5, { 2, 4, 8, 16, 32 } },
	{ "NDIMCD", 5, { 2, 4, 8, 16, 32 } },
	{ "PADA", 2, { 0, 1 } },
	{ "PADB", 2, { 0, 1 } },
	{ "VWMD", 4, { 1, 2, 4, 8 } },
	{ "VWND", 4, { 1, 2, 4, 8 } },
	{ "WGD", 4, { 8, 16, 32, 64 } },
};

int tune_allow_gemmk1;

static uint64_t
next_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static int
mult(size_t a, size_t b)
{
	return b != 0 && a % b == 0;
}

/* CLBlast's tuner constraints (src/tuning/kernels/xgemm.hpp), plus the
 * work-group and local-memory limits of the device. */
static int
xgemm_valid(const size_t *v, size_t max_wg, unsigned long long local_mem)
{
	size_t kdim;

	if (v[X_MDIMC] * v[X_NDIMC] > max_wg)
		return 0;
	/* Integer work per thread and per loading thread. */
	if (!mult(v[X_MWG], v[X_MDIMC] * v[X_VWM]) ||
	    !mult(v[X_NWG], v[X_NDIMC] * v[X_VWN]) ||
	    !mult(v[X_MWG], v[X_MDIMA] * v[X_VWM]) ||
	    !mult(v[X_NWG], v[X_NDIMB] * v[X_VWN]) ||
	    !mult(v[X_KWG], v[X_KWI]))
		return 0;
	/* CLBlast 1.5.3's batched indirect GEMM pads K for GEMMK=1 as if
	 * it were GEMMK=0 (to KWG = 1, rounded to VWM), while the GEMMK=1
	 * kernel steps K by KREG and VWM: a batched op_matmul returns
	 * garbage whenever K is not a multiple of both (attention's 77
	 * keys), as the validation shows. Only --gemmk1 builds such
	 * candidates; the validation still rejects them until op_matmul
	 * avoids that path. */
	if (v[X_GEMMK] == 1 && !tune_allow_gemmk1)
		return 0;
	if (v[X_GEMMK] == 1)
		return v[X_KWG] == 1 && v[X_KWI] == 1 && v[X_SA] == 0 &&
			v[X_SB] == 0 && v[X_STRM] == 0 && v[X_STRN] == 0 &&
			v[X_MDIMA] == v[X_MDIMC] && v[X_NDIMB] == v[X_NDIMC] &&
			mult(v[X_KREG], v[X_VWN]);
	if (v[X_KREG] != 1 || v[X_KWG] == 1)
		return 0;
	/* KWG is a multiple of KDIMA = MDIMC NDIMC / MDIMA and of KDIMB. */
	kdim = v[X_MDIMC] * v[X_NDIMC];
	if (!mult(kdim, v[X_MDIMA]) || !mult(kdim, v[X_NDIMB]) ||
	    !mult(v[X_KWG], kdim / v[X_MDIMA]) ||
	    !mult(v[X_KWG], kdim / v[X_NDIMB]))
		return 0;
	return (v[X_SA] * v[X_KWG] * v[X_MWG] + v[X_SB] * v[X_KWG] *
		v[X_NWG]) * sizeof(float) <= local_mem;
}

/* Ties the parameters one kernel family ignores, so that one
 * configuration has one spelling. */
static void
xgemm_canon(size_t *v)
{
	if (v[X_GEMMK] == 1) {
		v[X_KWG] = v[X_KWI] = 1;
		v[X_SA] = v[X_SB] = v[X_STRM] = v[X_STRN] = 0;
		v[X_MDIMA] = v[X_MDIMC];
		v[X_NDIMB] = v[X_NDIMC];
	} else {
		v[X_KREG] = 1;
		if (v[X_KWG] == 1)
			v[X_KWG] = 32;
		if (v[X_KWI] == 1)
			v[X_KWI] = 2;
	}
}

/* src/tuning/kernels/xgemm_direct.hpp's constraints. */
static int
direct_valid(const size_t *v, size_t max_wg, unsigned long long local_mem)
{
	size_t kdim = v[D_MDIMCD] * v[D_NDIMCD];

	if (kdim > max_wg)
		return 0;
	if (!mult(v[D_WGD], v[D_KWID]) ||
	    !mult(v[D_WGD], v[D_MDIMCD] * v[D_VWMD]) ||
	    !mult(v[D_WGD], v[D_NDIMCD] * v[D_VWND]) ||
	    !mult(v[D_WGD], v[D_MDIMAD] * v[D_VWMD]) ||
	    !mult(v[D_WGD], v[D_NDIMBD] * v[D_VWND]) ||
	    !mult(kdim, v[D_MDIMAD]) || !mult(kdim, v[D_NDIMBD]) ||
	    !mult(v[D_WGD], kdim / v[D_MDIMAD]) ||
	    !mult(v[D_WGD], kdim / v[D_NDIMBD]))
		return 0;
	return (v[D_WGD] * (v[D_WGD] + v[D_PADA]) + v[D_WGD] *
		(v[D_WGD] + v[D_PADB])) * sizeof(float) <= local_mem;
}

const struct space tune_xgemm = { "Xgemm", xgemm_space, X_N,
	xgemm_valid, xgemm_canon };
const struct space tune_direct = { "XgemmDirect", direct_space, D_N,
	direct_valid, NULL };

int
tune_tried_before(struct tuner *tu, enum phase ph, const size_t *v, size_t n)
{
	size_t i;

	for (i = 0; i < tu->ntried; i++)
		if (tu->tried_phase[i] == (int)ph &&
		    !memcmp(tu->tried[i], v, n * sizeof(*v)))
			return 1;
	return 0;
}

void
tune_remember(struct tuner *tu, enum phase ph, const size_t *v, size_t n)
{
	if (tu->ntried == MAX_TRIED)
		return;
	memset(tu->tried[tu->ntried], 0, sizeof(tu->tried[0]));
	memcpy(tu->tried[tu->ntried], v, n * sizeof(*v));
	tu->tried_phase[tu->ntried++] = (int)ph;
}

static size_t
val_index(const struct param *p, size_t v)
{
	size_t i;

	for (i = 0; i < p->nvals; i++)
		if (p->vals[i] == v)
			return i;
	return 0;
}

int
tune_propose(struct tuner *tu, const struct space *sp, enum phase ph,
	const size_t *from, size_t max_wg, unsigned long long local_mem,
	size_t *out)
{
	int attempt;

	for (attempt = 0; attempt < 5000; attempt++) {
		size_t i, moves;

		if (from == NULL || next_rand(&tu->rng) % 4 == 0) {
			for (i = 0; i < sp->n; i++)
				out[i] = sp->p[i].vals[next_rand(&tu->rng) %
					sp->p[i].nvals];
		} else {
			memcpy(out, from, sp->n * sizeof(*out));
			moves = 1 + next_rand(&tu->rng) % 2;
			while (moves-- > 0) {
				const struct param *p;
				size_t j;

				i = next_rand(&tu->rng) % sp->n;
				p = &sp->p[i];
				j = val_index(p, out[i]);
				if (p->nvals < 2)
					continue;
				if (next_rand(&tu->rng) % 2)
					j = j + 1 < p->nvals ? j + 1 : j - 1;
				else
					j = j > 0 ? j - 1 : j + 1;
				out[i] = p->vals[j];
			}
		}
		if (sp->canon != NULL)
			sp->canon(out);
		if (sp->valid(out, max_wg, local_mem) &&
		    !tune_tried_before(tu, ph, out, sp->n))
			return 0;
	}
	return -1;
}

int
tune_set_kernel(struct tuning *t, const struct space *sp, const size_t *v)
{
	struct tuning_kernel *k = tuning_kernel(t, sp->kernel);
	size_t i;

	if (k == NULL)
		return -1;
	for (i = 0; i < sp->n; i++)
		if (tuning_set(k, sp->p[i].name, v[i]) != 0)
			return -1;
	return 0;
}

int
tune_set_threshold(struct tuning *t, size_t min_indirect)
{
	struct tuning_kernel *k = tuning_kernel(t, "GemmRoutine");

	return k != NULL && tuning_set(k, "XGEMM_MIN_INDIRECT_SIZE",
		min_indirect) == 0 ? 0 : -1;
}

void
tune_describe(const struct space *sp, const size_t *v, char *out, size_t n)
{
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < sp->n && o < n; i++)
		o += (size_t)snprintf(out + o, n - o, "%s%s=%zu",
			i ? " " : "", sp->p[i].name, v[i]);
}
