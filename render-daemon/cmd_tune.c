/* cmd_tune.c - kiln-render tune: searches CLBlast's GEMM kernel parameters
 * for this device by timing op_gemm (held to CLBlast) on Stable
 * Diffusion's shapes, and writes the fastest set that computes correct
 * results to the device's tuning file (tuning.h). */
#include "commands.h"
#include "ops.h"
#include "tuning.h"
#include "util.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_SHAPES 16
#define TOP_K 3			/* Xgemm candidates timed again at the end */
#define MAX_TRIED 2048
#define REPS 2			/* timed calls per shape at least; the best
				 * counts */
#define MAX_REPS 50
#define REP_SECONDS 0.3		/* small shapes get more calls, up to this */
#define GIVE_UP_FLOOR 0.25	/* never give up on a call faster than this:
				 * cheap, and noise on a loaded machine */
#define SETUP_GUESS 10.0	/* seconds to build CLBlast's program, before
				 * one has been seen */
#define CHILD_LIMIT 120.0	/* seconds before a candidate counts as hung,
				 * at least (builds take 20-60 s on a loaded
				 * 2-core machine) */
#define FORCE_INDIRECT 0	/* XGEMM_MIN_INDIRECT_SIZE: m n k < 0^3 never */
#define FORCE_DIRECT (1u << 20)	/* m n k < 2^60: always */

/* The SD 1.5 UNet's linear and conv-as-GEMM shapes at 512x512 (64x64
 * latent: 4096 pixels at 320 channels, 1024 at 640, 256 at 1280; a 3x3
 * conv has K = 9 C) and CLIP's 77-token projections. */
static const char *default_shapes =
	"4096x320x320,1024x640x640,256x1280x1280,4096x320x2880,77x768x768";
/* The same, a quarter of the rows, when the budget is small. */
static const char *small_shapes =
	"1024x320x320,256x640x640,64x1280x1280,1024x320x2880,77x768x768";

/* One CLBlast parameter and the values the search tries. */
struct param {
	const char *name;
	size_t nvals;
	size_t vals[6];
};

/* CLBlast 1.5's Xgemm (src/kernels/level3/xgemm_part*.opencl), names in
 * its database order. GEMMK=0 tiles through local memory (KWG, KWI, SA,
 * SB, STRM, STRN, MDIMA, NDIMB); GEMMK=1 tiles in registers over KREG
 * and needs no transposed copies for row-major inputs. */
enum { X_GEMMK, X_KREG, X_KWG, X_KWI, X_MDIMA, X_MDIMC, X_MWG, X_NDIMB,
	X_NDIMC, X_NWG, X_SA, X_SB, X_STRM, X_STRN, X_VWM, X_VWN, X_N };
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

/* Starting points, best guesses first (a small budget tries only the
 * first): wide vectors and large tiles suit a CPU (AVX-512 takes 16
 * floats); then the two best this tuner found on PoCL 3.1 (2-core
 * AVX-512 EPYC), then CLBlast's generic and CPU defaults and entries
 * from its database. */
static const size_t xgemm_seeds[][X_N] = {
	{ 0, 1, 32, 2, 8, 8, 128, 8, 8, 128, 0, 0, 0, 0, 16, 16 },
	{ 0, 1, 32, 8, 16, 8, 128, 8, 4, 64, 0, 0, 0, 0, 8, 8 },
	{ 0, 1, 32, 2, 8, 8, 64, 8, 4, 64, 0, 0, 0, 0, 8, 8 },
	{ 0, 1, 16, 2, 8, 8, 64, 8, 8, 64, 0, 0, 0, 0, 8, 8 },
	{ 0, 1, 32, 2, 16, 16, 64, 8, 8, 64, 0, 0, 0, 0, 4, 4 },
	{ 0, 1, 32, 2, 8, 8, 32, 16, 16, 32, 1, 1, 0, 0, 4, 2 },
	{ 1, 4, 1, 1, 8, 8, 64, 8, 8, 64, 0, 0, 0, 0, 8, 4 },
	{ 1, 16, 1, 1, 2, 2, 64, 2, 2, 128, 0, 0, 0, 0, 8, 2 },
};

/* CLBlast 1.5's XgemmDirect (xgemm_direct_part*.opencl): one WGD-sized
 * tile per work-group, no padding or transposing copies. */
enum { D_KWID, D_MDIMAD, D_MDIMCD, D_NDIMBD, D_NDIMCD, D_PADA, D_PADB,
	D_VWMD, D_VWND, D_WGD, D_N };
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

static const size_t direct_seeds[][D_N] = {
	{ 8, 4, 4, 4, 4, 1, 1, 8, 4, 32 },
	{ 2, 8, 8, 8, 8, 1, 1, 4, 4, 32 },
	{ 8, 8, 8, 8, 8, 1, 1, 8, 8, 64 },
	{ 2, 8, 8, 8, 8, 1, 1, 1, 1, 32 },
	{ 16, 4, 4, 4, 4, 0, 0, 8, 8, 64 },
};

/* --gemmk1: also try Xgemm's GEMMK=1 kernel (see xgemm_valid). */
static int allow_gemmk1;

enum phase { PH_BASELINE, PH_XGEMM, PH_DIRECT, PH_FINAL };

/* What one child run asks for. */
struct job {
	enum phase phase;
	struct tuning set;		/* overrides, all given to CLBlast */
	size_t order[MAX_SHAPES];	/* shapes to time, in this order */
	size_t norder;
	double give_up[MAX_SHAPES];	/* per shape; 0: never */
	int reps[MAX_SHAPES];		/* timed calls per shape */
	int stop_when_slow;		/* stop timing at the first give-up */
};

enum status { RES_OK, RES_WRONG, RES_CRASH, RES_TIMEOUT, RES_SLOW };
static const char *status_name[] = { "ok", "rejected", "crashed",
	"timed out", "slower" };

struct result {
	enum status status;
	char msg[600];
	double setup_s;			/* open + validate: mostly compiling */
	double best_s[MAX_SHAPES];	/* 0: not timed */
	char device[256];
	char driver[128];
	size_t max_wg;			/* the device's limits */
	unsigned long long local_mem;
};

struct tuner {
	const char *device_sel;
	struct tuning_shape shapes[MAX_SHAPES];
	size_t nshapes;
	double budget, t0;
	double base_s[MAX_SHAPES];	/* CLBlast's defaults, per shape */
	/* Build-and-check seconds of the candidates built so far (not found
	 * in PoCL's cache), Xgemm [0] and XgemmDirect [1] apart: the direct
	 * kernels build several times slower. */
	double setup_sum[2], setup_max[2];
	int nsetup[2];
	int candidates;
	uint64_t rng;
	/* The sets of the device's previous tuning file: tried first, so
	 * that running the tuner again refines rather than starts over. */
	size_t prev_x[X_N], prev_d[D_N];
	int have_prev_x, have_prev_d;
	/* Configurations already run, per phase, to never run one twice. */
	size_t tried[MAX_TRIED][X_N];
	int tried_phase[MAX_TRIED];
	size_t ntried;
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: kiln-render tune [--device SEL] [--budget SECONDS] "
		"[--shapes MxNxK[:nt],...] [--seed N] [--gemmk1]\n"
		"Searches CLBlast's GEMM parameters for the device and writes "
		"the fastest correct set to its tuning file\n"
		"($KILN_TUNING_DIR, $XDG_CONFIG_HOME/kiln/tuning or "
		"~/.config/kiln/tuning). Default shapes: %s\n",
		default_shapes);
}

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

static double
elapsed(const struct tuner *tu)
{
	return tuning_now() - tu->t0;
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
	 * kernel steps K by KREG and VWM: op_gemm_batched returns garbage
	 * whenever K is not a multiple of both (attention's 77 keys), as
	 * the validation shows. Only --gemmk1 builds such candidates; the
	 * validation still rejects them until op_gemm_batched avoids that
	 * path. */
	if (v[X_GEMMK] == 1 && !allow_gemmk1)
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

struct space {
	const char *kernel;		/* CLBlast kernel name */
	const struct param *p;
	size_t n;
	int (*valid)(const size_t *, size_t, unsigned long long);
	void (*canon)(size_t *);
};

static const struct space xgemm = { "Xgemm", xgemm_space, X_N,
	xgemm_valid, xgemm_canon };
static const struct space direct = { "XgemmDirect", direct_space, D_N,
	direct_valid, NULL };

static int
tried_before(struct tuner *tu, enum phase ph, const size_t *v, size_t n)
{
	size_t i;

	for (i = 0; i < tu->ntried; i++)
		if (tu->tried_phase[i] == (int)ph &&
		    !memcmp(tu->tried[i], v, n * sizeof(*v)))
			return 1;
	return 0;
}

static void
remember(struct tuner *tu, enum phase ph, const size_t *v, size_t n)
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

/* A valid configuration not run before: from `from`, one or two
 * parameters moved to a neighbouring value (hill climbing), or, one time
 * in four or when from is NULL, anywhere in the space. Returns 0, or -1
 * when none was found. */
static int
propose(struct tuner *tu, const struct space *sp, enum phase ph,
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
		    !tried_before(tu, ph, out, sp->n))
			return 0;
	}
	return -1;
}

static int
set_kernel(struct tuning *t, const struct space *sp, const size_t *v)
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

static int
set_threshold(struct tuning *t, size_t min_indirect)
{
	struct tuning_kernel *k = tuning_kernel(t, "GemmRoutine");

	return k != NULL && tuning_set(k, "XGEMM_MIN_INDIRECT_SIZE",
		min_indirect) == 0 ? 0 : -1;
}

static void
describe(const struct space *sp, const size_t *v, char *out, size_t n)
{
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < sp->n && o < n; i++)
		o += (size_t)snprintf(out + o, n - o, "%s%s=%zu",
			i ? " " : "", sp->p[i].name, v[i]);
}

/* --- the child: one configuration in a fresh process ------------------ */

/* A candidate can crash the OpenCL compiler or hang the device, so each
 * runs in its own process: it opens the device, hands CLBlast the
 * overrides, validates, times, and reports lines on fd. */
static void
child_run(const struct tuner *tu, const struct job *job, int fd)
{
	struct kiln_rt *rt = NULL;
	char err[1024];
	double t0 = tuning_now();
	size_t i;

	if (cli_rt_open(&rt, tu->device_sel, err, sizeof(err)) != 0) {
		dprintf(fd, "err %s\n", err);
		_exit(1);
	}
	dprintf(fd, "dev\t%s\t%s\n", rt->device_name, rt->driver_version);
	dprintf(fd, "limits %zu %llu\n", rt->max_wg,
		(unsigned long long)rt->local_mem);
	if (tuning_override(rt, &job->set) != 0 ||
	    tuning_validate_gemm(rt) != 0) {
		dprintf(fd, "err %s\n", rt_error(rt));
		_exit(1);
	}
	dprintf(fd, "setup %.6f\n", tuning_now() - t0);
	for (i = 0; i < job->norder; i++) {
		size_t s = job->order[i];
		struct tuning_timing tm;

		if (tuning_time_gemm(rt, &tu->shapes[s], job->reps[s],
		    job->give_up[s], &tm) != 0) {
			dprintf(fd, "err %s\n", rt_error(rt));
			_exit(1);
		}
		dprintf(fd, "shape %zu %.9f %d\n", s, tm.best_s, tm.gave_up);
		if (tm.gave_up && job->stop_when_slow)
			break;
	}
	dprintf(fd, "done\n");
	/* No rt_free: the process ends, and a driver's teardown is one more
	 * place for a bad kernel to hang. */
	_exit(0);
}

static void
parse_line(char *line, struct result *r, int *done)
{
	size_t s;
	double v;
	int gave_up;

	if (!strncmp(line, "err ", 4)) {
		r->status = RES_WRONG;
		snprintf(r->msg, sizeof(r->msg), "%s", line + 4);
	} else if (!strncmp(line, "dev\t", 4)) {
		char *drv = strchr(line + 4, '\t');

		if (drv != NULL) {
			*drv++ = '\0';
			snprintf(r->device, sizeof(r->device), "%s", line + 4);
			snprintf(r->driver, sizeof(r->driver), "%s", drv);
		}
	} else if (sscanf(line, "limits %zu %llu", &r->max_wg,
	    &r->local_mem) == 2) {
		/* nothing more */
	} else if (sscanf(line, "setup %lf", &v) == 1) {
		r->setup_s = v;
	} else if (sscanf(line, "shape %zu %lf %d", &s, &v, &gave_up) == 3 &&
	    s < MAX_SHAPES) {
		r->best_s[s] = v;
		if (gave_up && r->status == RES_OK) {
			r->status = RES_SLOW;
			snprintf(r->msg, sizeof(r->msg), "gave up on shape %zu "
				"(%.3f s a call), too slow to win", s, v);
		}
	} else if (!strcmp(line, "done")) {
		*done = 1;
	}
}

/* Runs job in a child, waiting until deadline (absolute, tuning_now()).
 * Returns 0 with *r filled in (its status says how the child fared), or
 * -1 when no child could be started. */
static int
run_job(const struct tuner *tu, const struct job *job, double deadline,
	struct result *r)
{
	char buf[8192];
	size_t len = 0;
	int fds[2], wst = 0, done = 0, killed = 0;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	if (pipe(fds) != 0) {
		fprintf(stderr, "kiln-render tune: pipe: %s\n",
			strerror(errno));
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "kiln-render tune: fork: %s\n",
			strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		child_run(tu, job, fds[1]);
	}
	close(fds[1]);
	for (;;) {
		struct pollfd pfd = { fds[0], POLLIN, 0 };
		double left = deadline - tuning_now();
		ssize_t got;
		int pr;

		if (left <= 0) {
			kill(pid, SIGKILL);
			killed = 1;
			break;
		}
		pr = poll(&pfd, 1, (int)(left * 1000) + 1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			continue;
		if (len + 1 >= sizeof(buf))
			len = 0;	/* a chatty child: keep the tail */
		got = read(fds[0], buf + len, sizeof(buf) - 1 - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	close(fds[0]);
	while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
		;
	buf[len] = '\0';
	{
		char *save = NULL, *line;

		for (line = strtok_r(buf, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save))
			parse_line(line, r, &done);
	}
	if (killed) {
		r->status = RES_TIMEOUT;
		snprintf(r->msg, sizeof(r->msg), "killed at the time limit");
	} else if (WIFSIGNALED(wst)) {
		r->status = RES_CRASH;
		snprintf(r->msg, sizeof(r->msg), "crashed: %s",
			strsignal(WTERMSIG(wst)));
	} else if (r->status == RES_OK && !done) {
		r->status = RES_WRONG;
		snprintf(r->msg, sizeof(r->msg), "ended without a result "
			"(exit status %d)", WIFEXITED(wst) ?
			WEXITSTATUS(wst) : -1);
	}
	return 0;
}

/* --- scoring ---------------------------------------------------------- */

static double
gflops(const struct tuner *tu, size_t s, double secs)
{
	return secs > 0 ? tuning_shape_flop(&tu->shapes[s]) / secs / 1e9 : 0;
}

/* The geometric mean of GFLOP/s over all shapes (every shape counts the
 * same, whatever its size), or 0 when one is missing. */
static double
score(const struct tuner *tu, const double *best_s)
{
	double sum = 0;
	size_t s;

	for (s = 0; s < tu->nshapes; s++) {
		if (!(best_s[s] > 0))
			return 0;
		sum += log(gflops(tu, s, best_s[s]));
	}
	return exp(sum / (double)tu->nshapes);
}

static unsigned long long
volume(const struct tuning_shape *s)
{
	return (unsigned long long)s->m * s->n * s->k;
}

/* The largest T with T^3 <= v. */
static size_t
icbrt(unsigned long long v)
{
	size_t t = (size_t)cbrt((double)v);

	while ((unsigned long long)(t + 1) * (t + 1) * (t + 1) <= v)
		t++;
	while (t > 0 && (unsigned long long)t * t * t > v)
		t--;
	return t;
}

/* Shape indices sorted by volume, smallest first. */
static void
by_volume(const struct tuner *tu, size_t *order)
{
	size_t i, j;

	for (i = 0; i < tu->nshapes; i++)
		order[i] = i;
	for (i = 1; i < tu->nshapes; i++)
		for (j = i; j > 0 && volume(&tu->shapes[order[j - 1]]) >
		    volume(&tu->shapes[order[j]]); j--) {
			size_t x = order[j];

			order[j] = order[j - 1];
			order[j - 1] = x;
		}
}

/* CLBlast runs the direct kernel when m n k < XGEMM_MIN_INDIRECT_SIZE^3.
 * Given per-shape times of the best indirect (ind) and a direct (dir, 0
 * where not timed) configuration, picks the threshold that gives the
 * best geometric mean: the shapes below it use dir. Shapes smaller than
 * any measured one stay direct, as CLBlast would have them. Returns the
 * score; *thr and *ndirect receive the threshold and how many shapes go
 * direct. */
static double
pick_threshold(const struct tuner *tu, const double *ind, const double *dir,
	size_t *thr, size_t *ndirect)
{
	size_t order[MAX_SHAPES], p, i, best_p = 0;
	double best = -1, cur[MAX_SHAPES];

	by_volume(tu, order);
	*thr = icbrt(volume(&tu->shapes[order[0]]));
	*ndirect = 0;
	for (p = 0; p <= tu->nshapes; p++) {
		unsigned long long lo, hi;
		size_t t;
		double sc;

		/* Equal volumes cannot be split by a threshold. */
		if (p > 0 && p < tu->nshapes &&
		    volume(&tu->shapes[order[p - 1]]) ==
		    volume(&tu->shapes[order[p]]))
			continue;
		for (i = 0; i < tu->nshapes; i++)
			cur[order[i]] = i < p ? dir[order[i]] : ind[order[i]];
		sc = score(tu, cur);
		if (!(sc > best * 1.001))	/* ties go indirect */
			continue;
		if (p == 0) {
			t = icbrt(volume(&tu->shapes[order[0]]));
		} else if (p == tu->nshapes) {
			t = icbrt(volume(&tu->shapes[order[p - 1]])) + 1;
		} else {
			lo = volume(&tu->shapes[order[p - 1]]);
			hi = volume(&tu->shapes[order[p]]);
			t = icbrt(hi);
			if ((unsigned long long)t * t * t <= lo)
				continue;	/* too close to separate */
		}
		best = sc;
		best_p = p;
		*thr = t;
	}
	*ndirect = best_p;
	return best;
}

/* --- the previous file ----------------------------------------------- */

/* v from k's parameters; 0 when k lacks one of the space's. */
static int
from_kernel(const struct space *sp, const struct tuning_kernel *k,
	size_t *v)
{
	size_t i;

	for (i = 0; i < sp->n; i++) {
		v[i] = tuning_get(k, sp->p[i].name, SIZE_MAX);
		if (v[i] == SIZE_MAX)
			return 0;
	}
	return 1;
}

/* Reads the device's current tuning file, when it is for this device
 * and driver, into tu's prev_* sets. The parent holds no OpenCL state
 * (children fork from it), so a runtime struct only carries the device
 * name and catches the error message. */
static void
load_previous(struct tuner *tu, const struct result *base)
{
	struct kiln_rt *sink = calloc(1, sizeof(*sink));
	struct tuning *t = calloc(1, sizeof(*t));
	char path[PATH_MAX + 300];
	size_t i;
	int r;

	if (sink == NULL || t == NULL)
		goto out;
	snprintf(sink->device_name, sizeof(sink->device_name), "%s",
		base->device);
	if (tuning_path(sink, path, sizeof(path)) != 0)
		goto out;
	r = tuning_load(sink, path, t);
	if (r < 0) {
		printf("ignoring the previous tuning file: %s\n",
			rt_error(sink));
		goto out;
	}
	if (r > 0 || strcmp(t->device, base->device) != 0 ||
	    strcmp(t->driver, base->driver) != 0)
		goto out;
	for (i = 0; i < t->nkernels; i++) {
		const struct tuning_kernel *k = &t->kernel[i];

		if (k->precision != 32)
			continue;
		if (!strcmp(k->name, xgemm.kernel))
			tu->have_prev_x = from_kernel(&xgemm, k, tu->prev_x);
		else if (!strcmp(k->name, direct.kernel))
			tu->have_prev_d = from_kernel(&direct, k, tu->prev_d);
	}
	if (tu->have_prev_x || tu->have_prev_d)
		printf("starting from %s\n", path);
out:
	free(t);
	free(sink);
}

/* --- the search ------------------------------------------------------- */

static void
progress(struct tuner *tu, const char *what, const char *desc,
	const struct result *r, double sc, int is_best)
{
	printf("[%4.0fs] %-7s %s\n         -> ", elapsed(tu), what, desc);
	if (r->status == RES_OK || (r->status == RES_SLOW && sc > 0))
		printf("%.1f GFLOP/s%s (build+check %.1fs)%s\n", sc,
			r->status == RES_SLOW ? " (gave up early)" : "",
			r->setup_s, is_best ? "  * best so far" : "");
	else
		printf("%s: %s\n", status_name[r->status], r->msg);
	fflush(stdout);
}

static void
note_setup(struct tuner *tu, const struct result *r, int which)
{
	/* Under a second: PoCL had the program cached. */
	if (r->setup_s > 1.0) {
		tu->setup_sum[which] += r->setup_s;
		tu->nsetup[which]++;
		if (r->setup_s > tu->setup_max[which])
			tu->setup_max[which] = r->setup_s;
	}
}

/* Timed calls for a shape that takes ref seconds a call. */
static int
reps_for(double ref)
{
	double r = ref > 0 ? REP_SECONDS / ref : REPS;

	return r < REPS ? REPS : r > MAX_REPS ? MAX_REPS : (int)r;
}

/* Seconds to time every shape (warm-up included) at ref_s. */
static double
timing_guess(const struct tuner *tu, const double *ref_s)
{
	double c = 0, r;
	size_t s;

	for (s = 0; s < tu->nshapes; s++) {
		r = ref_s[s] > 0 ? ref_s[s] : 0.5;
		c += (reps_for(r) + 1) * r;
	}
	return c + 1.0;
}

/* Building CLBlast's program for a new Xgemm (which 0) or XgemmDirect
 * (1) set and checking it: the mean over the candidates built so far; a
 * direct one, before any, at twice an Xgemm one. */
static double
setup_guess(const struct tuner *tu, int which)
{
	if (tu->nsetup[which])
		return tu->setup_sum[which] / tu->nsetup[which];
	return which == 1 ? 2 * setup_guess(tu, 0) : tu->nsetup[0] ?
		tu->setup_sum[0] / tu->nsetup[0] : SETUP_GUESS;
}

static double
cost_guess(const struct tuner *tu, int which, const double *ref_s)
{
	return setup_guess(tu, which) + timing_guess(tu, ref_s);
}

/* Whether a candidate that costs `cost` still fits when started now: it
 * must end before `frac` of the budget left after the time kept for the
 * final build and check. */
static int
time_for(const struct tuner *tu, double cost, double frac)
{
	/* The final set rebuilds Xgemm and, when one was tuned, the
	 * direct kernels at once: the slowest build of all. */
	double reserve = setup_guess(tu, 0) + fmax(tu->setup_max[0],
		tu->setup_max[1]) + timing_guess(tu, tu->base_s);

	return tuning_now() + cost <= tu->t0 + frac * (tu->budget - reserve);
}

static void
all_shapes(const struct tuner *tu, struct job *job)
{
	size_t s;

	job->norder = tu->nshapes;
	for (s = 0; s < tu->nshapes; s++) {
		job->order[s] = s;
		job->reps[s] = tu->base_s[s] > 0 ? reps_for(tu->base_s[s]) :
			REPS + 1;
	}
}

/* The indirect (Xgemm) search: every candidate forced through the
 * indirect path. best receives the fastest configuration and best_s its
 * times. Returns 0 when one was found, -1 when none ran correctly. */
/* The Xgemm job for configuration v: forced through the indirect path,
 * every shape. */
static int
xgemm_job(const struct tuner *tu, const size_t *v, struct job *job)
{
	memset(job, 0, sizeof(*job));
	job->phase = PH_XGEMM;
	if (set_kernel(&job->set, &xgemm, v) != 0 ||
	    set_threshold(&job->set, FORCE_INDIRECT) != 0)
		return -1;
	all_shapes(tu, job);
	return 0;
}

struct top {
	size_t v[X_N];
	double sc;
};

/* Keeps the TOP_K best configurations, best first. */
static void
top_add(struct top *top, int *ntop, const size_t *v, double sc)
{
	int i;

	if (*ntop == TOP_K) {
		if (top[TOP_K - 1].sc >= sc)
			return;
		i = TOP_K - 1;		/* the last one drops out */
	} else {
		i = (*ntop)++;
	}
	for (; i > 0 && top[i - 1].sc < sc; i--)
		top[i] = top[i - 1];
	memcpy(top[i].v, v, sizeof(top[i].v));
	top[i].sc = sc;
}

/* Times the leaders again, one after the other: on a shared machine one
 * lucky (or unlucky) measurement should not decide, and their programs
 * are in PoCL's cache by now, so this costs only the timing. */
static void
confirm_xgemm(struct tuner *tu, const struct top *top, int ntop,
	size_t *best, double *best_s)
{
	double best_sc = 0;
	char desc[400];
	int i;

	for (i = 0; i < ntop; i++) {
		struct job job;
		struct result r;
		double sc;

		if (xgemm_job(tu, top[i].v, &job) != 0 ||
		    run_job(tu, &job, tuning_now() + CHILD_LIMIT, &r) != 0)
			return;
		sc = r.status == RES_OK ? score(tu, r.best_s) : 0;
		describe(&xgemm, top[i].v, desc, sizeof(desc));
		printf("[%4.0fs] confirm %s\n         -> %.1f GFLOP/s (was "
			"%.1f)%s\n", elapsed(tu), desc, sc, top[i].sc,
			sc > best_sc ? "  * best so far" : "");
		fflush(stdout);
		if (sc > best_sc) {
			best_sc = sc;
			memcpy(best, top[i].v, sizeof(top[i].v));
			memcpy(best_s, r.best_s, sizeof(r.best_s));
		}
	}
}

static int
search_xgemm(struct tuner *tu, double frac, size_t max_wg,
	unsigned long long local_mem, size_t *best, double *best_s)
{
	const double *base_s = tu->base_s;
	struct top top[TOP_K];
	double best_sc = 0;
	size_t seed = 0, v[X_N];
	char desc[400];
	int found = 0, ntop = 0, ran = 0, prev = tu->have_prev_x;

	for (;;) {
		struct job job;
		struct result r;
		double sc;
		size_t s;

		/* At least one candidate runs, whatever the budget. */
		if (ran++ > 0 && !time_for(tu, cost_guess(tu, 0, found ?
		    best_s : base_s), frac))
			break;
		if (prev) {
			prev = 0;
			memcpy(v, tu->prev_x, sizeof(v));
			if (xgemm_valid(v, max_wg, local_mem))
				goto have;
		}
		while (seed < ARRAY_LEN(xgemm_seeds)) {
			memcpy(v, xgemm_seeds[seed++], sizeof(v));
			if (xgemm_valid(v, max_wg, local_mem) &&
			    !tried_before(tu, PH_XGEMM, v, X_N))
				goto have;
		}
		if (propose(tu, &xgemm, PH_XGEMM, found ? best : NULL,
		    max_wg, local_mem, v) != 0)
			break;
have:
		remember(tu, PH_XGEMM, v, X_N);
		if (xgemm_job(tu, v, &job) != 0)
			return -1;
		/* Give up on a shape at 3x the best time so far: such a
		 * candidate cannot win, and slow ones are the costly ones. */
		for (s = 0; s < tu->nshapes; s++)
			job.give_up[s] = fmax(GIVE_UP_FLOOR, found ?
				3 * best_s[s] : 6 * base_s[s]);
		job.stop_when_slow = 1;
		if (run_job(tu, &job, tuning_now() + fmax(CHILD_LIMIT,
		    3 * cost_guess(tu, 0, found ? best_s : base_s)), &r) != 0)
			return found ? 0 : -1;
		tu->candidates++;
		note_setup(tu, &r, 0);
		sc = r.status == RES_OK ? score(tu, r.best_s) : 0;
		describe(&xgemm, v, desc, sizeof(desc));
		progress(tu, "xgemm", desc, &r, sc, sc > best_sc);
		if (sc > 0)
			top_add(top, &ntop, v, sc);
		if (sc > best_sc) {
			best_sc = sc;
			memcpy(best, v, sizeof(v));
			memcpy(best_s, r.best_s, sizeof(r.best_s));
			found = 1;
		}
	}
	if (ntop > 1)
		confirm_xgemm(tu, top, ntop, best, best_s);
	return found ? 0 : -1;
}

/* The direct (XgemmDirect) search over the shapes smallest first, each
 * candidate forced through the direct path and stopped at the first shape
 * where it loses clearly to the indirect best. The first run keeps
 * CLBlast's own direct parameters, the reference a tuned set must beat.
 * best receives the winner (*tuned 0 when that is CLBlast's own) and
 * best_s its times (0 where not timed). */
static void
search_direct(struct tuner *tu, const double *ind_s, double frac,
	size_t max_wg, unsigned long long local_mem, size_t *best,
	int *tuned, double *best_s)
{
	size_t order[MAX_SHAPES], seed = 0, v[D_N], thr, nd, s;
	double best_sc = 0, best_small = 0;
	char desc[400], sh[64];
	int first = 1, better, prev = tu->have_prev_d;

	*tuned = 0;
	memset(best_s, 0, MAX_SHAPES * sizeof(*best_s));
	by_volume(tu, order);
	for (;;) {
		struct job job;
		struct result r;
		double sc, small;

		if (!time_for(tu, cost_guess(tu, 1, ind_s), frac))
			break;
		memset(&job, 0, sizeof(job));
		job.phase = PH_DIRECT;
		if (!first) {
			if (prev) {
				prev = 0;
				memcpy(v, tu->prev_d, sizeof(v));
				if (direct_valid(v, max_wg, local_mem))
					goto have;
			}
			while (seed < ARRAY_LEN(direct_seeds)) {
				memcpy(v, direct_seeds[seed++], sizeof(v));
				if (direct_valid(v, max_wg, local_mem) &&
				    !tried_before(tu, PH_DIRECT, v, D_N))
					goto have;
			}
			if (propose(tu, &direct, PH_DIRECT, *tuned ? best :
			    NULL, max_wg, local_mem, v) != 0)
				break;
have:
			remember(tu, PH_DIRECT, v, D_N);
			if (set_kernel(&job.set, &direct, v) != 0)
				return;
		}
		if (set_threshold(&job.set, FORCE_DIRECT) != 0)
			return;
		all_shapes(tu, &job);
		memcpy(job.order, order, sizeof(order));
		for (s = 0; s < tu->nshapes; s++)
			job.give_up[s] = fmax(0.4 * GIVE_UP_FLOOR,
				1.5 * ind_s[s]);
		job.stop_when_slow = 1;
		if (run_job(tu, &job, tuning_now() + fmax(CHILD_LIMIT,
		    3 * cost_guess(tu, 1, ind_s)), &r) != 0)
			return;
		tu->candidates++;
		note_setup(tu, &r, 1);
		/* Giving up early is the normal end here: the times up to
		 * there are what the threshold needs. */
		sc = 0;
		small = 0;
		if (r.status == RES_OK || r.status == RES_SLOW) {
			double cur[MAX_SHAPES];

			for (s = 0; s < tu->nshapes; s++)
				cur[s] = r.best_s[s];
			sc = pick_threshold(tu, ind_s, cur, &thr, &nd);
			small = gflops(tu, order[0], r.best_s[order[0]]);
		}
		if (first)
			snprintf(desc, sizeof(desc), "CLBlast's own "
				"XgemmDirect parameters");
		else
			describe(&direct, v, desc, sizeof(desc));
		/* Better combined, or as good and faster on the smallest
		 * shape, which stands for the small products below it. */
		better = sc > 0 && (sc > best_sc * 1.001 ||
			(sc >= best_sc * 0.999 && small > best_small * 1.05));
		if (sc > 0)
			printf("[%4.0fs] direct  %s\n         -> %s: %.1f "
				"GFLOP/s direct; with the threshold %.1f "
				"(build+check %.1fs)%s\n", elapsed(tu), desc,
				tuning_shape_str(&tu->shapes[order[0]], sh,
				sizeof(sh)), small, sc, r.setup_s,
				better ? "  * best so far" : "");
		else
			progress(tu, "direct", desc, &r, 0, 0);
		fflush(stdout);
		if (better) {
			best_sc = sc;
			best_small = small;
			memcpy(best_s, r.best_s, MAX_SHAPES * sizeof(*best_s));
			*tuned = !first;
			if (!first)
				memcpy(best, v, sizeof(v));
		}
		first = 0;
	}
}

/* Which path CLBlast takes for shape s under threshold thr; with no
 * overrides kept, CLBlast's own choice. */
static const char *
path_of(const struct tuner *tu, size_t s, size_t thr, int kept)
{
	if (!kept)
		return "default";
	return volume(&tu->shapes[s]) < (unsigned long long)thr * thr * thr ?
		"direct" : "indirect";
}

static void
print_table(const struct tuner *tu, const double *base_s,
	const double *final_s, size_t thr, int kept)
{
	size_t s;

	printf("\n%-18s %12s %12s %8s  %s\n", "shape", "default", "tuned",
		"speedup", "path");
	for (s = 0; s < tu->nshapes; s++) {
		char sh[64];
		double b = gflops(tu, s, base_s[s]), f = gflops(tu, s,
			final_s[s]);

		printf("%-18s %7.1f GF/s %7.1f GF/s %7.2fx  %s\n",
			tuning_shape_str(&tu->shapes[s], sh, sizeof(sh)), b, f,
			b > 0 ? f / b : 0, path_of(tu, s, thr, kept));
	}
}

/* One decimal: these are for people to read. */
static struct json_object *
num1(double v)
{
	char text[64];

	snprintf(text, sizeof(text), "%.1f", v);
	return json_object_new_double_s(v, text);
}

static struct json_object *
tuner_info(const struct tuner *tu, const double *base_s,
	const double *final_s, size_t thr, int kept)
{
	struct json_object *info = json_object_new_object(), *arr;
	char when[64], sh[64];
	time_t now = time(NULL);
	struct tm tmv;
	size_t s;

	if (info == NULL)
		return NULL;
	gmtime_r(&now, &tmv);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tmv);
	json_object_object_add(info, "at", json_object_new_string(when));
	json_object_object_add(info, "budget_s", num1(tu->budget));
	json_object_object_add(info, "elapsed_s", num1(elapsed(tu)));
	json_object_object_add(info, "candidates",
		json_object_new_int(tu->candidates));
	json_object_object_add(info, "gflops_default",
		num1(score(tu, base_s)));
	json_object_object_add(info, "gflops_tuned",
		num1(score(tu, final_s)));
	json_object_object_add(info, "overrides_kept",
		json_object_new_boolean(kept));
	arr = json_object_new_array();
	json_object_object_add(info, "shapes", arr);
	for (s = 0; s < tu->nshapes; s++) {
		struct json_object *o = json_object_new_object();

		json_object_array_add(arr, o);
		json_object_object_add(o, "shape", json_object_new_string(
			tuning_shape_str(&tu->shapes[s], sh, sizeof(sh))));
		json_object_object_add(o, "gflops_default",
			num1(gflops(tu, s, base_s[s])));
		json_object_object_add(o, "gflops_tuned",
			num1(gflops(tu, s, final_s[s])));
		json_object_object_add(o, "path",
			json_object_new_string(path_of(tu, s, thr, kept)));
	}
	return info;
}

/* Opens the device in this process (only now: the children are done, so
 * no OpenCL state is ever forked) and writes the file. */
static int
save(struct tuner *tu, const struct tuning *set, struct json_object *info)
{
	struct kiln_rt *rt = NULL;
	char err[1024], path[PATH_MAX + 300];
	int rc = -1;

	if (cli_rt_open(&rt, tu->device_sel, err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render tune: %s\n", err);
		return -1;
	}
	if (tuning_save(rt, set, info) != 0) {
		fprintf(stderr, "kiln-render tune: %s\n", rt_error(rt));
		goto out;
	}
	if (tuning_path(rt, path, sizeof(path)) == 0)
		printf("wrote %s\n", path);
	rc = 0;
out:
	rt_free(rt);
	return rc;
}

int
cmd_tune(int argc, char **argv)
{
	struct tuner *tu = NULL;
	const char *shapes_arg = NULL;
	struct job job;
	struct result base, fin;
	struct tuning chosen;
	double base_s[MAX_SHAPES] = { 0 }, x_s[MAX_SHAPES] = { 0 };
	double d_s[MAX_SHAPES] = { 0 };
	size_t xbest[X_N], dbest[D_N], thr = 0, nd = 0;
	size_t max_wg = 256;
	unsigned long long local_mem = 32768;
	struct json_object *info = NULL;
	int i, rc = 1, have_x, dtuned = 0, kept;
	long seed = 0;

	tu = calloc(1, sizeof(*tu));
	if (tu == NULL) {
		fprintf(stderr, "kiln-render tune: out of memory\n");
		return 1;
	}
	tu->budget = 120;
	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--device") && i + 1 < argc) {
			tu->device_sel = argv[++i];
		} else if (!strcmp(argv[i], "--budget") && i + 1 < argc) {
			char *end_p;

			tu->budget = strtod(argv[++i], &end_p);
			if (*end_p != '\0' || !(tu->budget >= 1))
				goto bad;
		} else if (!strcmp(argv[i], "--shapes") && i + 1 < argc) {
			shapes_arg = argv[++i];
		} else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
			seed = strtol(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--gemmk1")) {
			allow_gemmk1 = 1;
		} else if (!strcmp(argv[i], "-h") ||
		    !strcmp(argv[i], "--help")) {
			usage(stdout);
			free(tu);
			return 0;
		} else {
			goto bad;
		}
	}
	if (shapes_arg == NULL)
		shapes_arg = tu->budget < 60 ? small_shapes : default_shapes;
	i = tuning_shapes_parse(shapes_arg, tu->shapes, MAX_SHAPES);
	if (i < 0) {
		fprintf(stderr, "kiln-render tune: bad --shapes '%s' (want "
			"MxNxK[:nt],... at most %d)\n", shapes_arg,
			MAX_SHAPES);
		free(tu);
		return 2;
	}
	tu->nshapes = (size_t)i;
	tu->rng = seed ? (uint64_t)seed : (uint64_t)time(NULL) * 2654435761u
		+ (uint64_t)getpid();
	if (tu->rng == 0)
		tu->rng = 1;
	/* The baseline is CLBlast's defaults and the children set their own
	 * overrides: an existing (even malformed) file must not interfere.
	 * And every product must go to CLBlast, which op_gemm otherwise
	 * only uses where the engine's own kernel does not apply. */
	if (setenv("KILN_NO_TUNING", "1", 1) != 0 ||
	    setenv("KILN_GEMM", "clblast", 1) != 0) {
		fprintf(stderr, "kiln-render tune: setenv: %s\n",
			strerror(errno));
		free(tu);
		return 1;
	}
	tu->t0 = tuning_now();

	printf("tuning CLBlast GEMM, budget %.0f s, shapes %s\n", tu->budget,
		shapes_arg);
	memset(&job, 0, sizeof(job));
	job.phase = PH_BASELINE;
	all_shapes(tu, &job);
	if (run_job(tu, &job, tuning_now() + fmax(300.0, tu->budget), &base)
	    != 0)
		goto out;
	if (base.status != RES_OK) {
		fprintf(stderr, "kiln-render tune: CLBlast's defaults fail on "
			"this device: %s\n", base.msg);
		goto out;
	}
	/* Its setup is no guide: CLBlast's default program is usually in
	 * PoCL's cache already, a candidate's never is. */
	memcpy(base_s, base.best_s, sizeof(base_s));
	memcpy(tu->base_s, base_s, sizeof(base_s));
	printf("device: %s (driver %s)\n[%4.0fs] default: %.1f GFLOP/s "
		"(geometric mean over the shapes)\n", base.device, base.driver,
		elapsed(tu), score(tu, base_s));
	load_previous(tu, &base);
	if (base.max_wg > 0)
		max_wg = base.max_wg;
	if (base.local_mem > 0)
		local_mem = base.local_mem;

	/* 80% of the time to Xgemm, which runs the large products; the
	 * rest to the direct kernel (slow to build: 20-90 s a candidate
	 * here), less what the final check needs. */
	have_x = search_xgemm(tu, 0.8, max_wg, local_mem, xbest, x_s) == 0;
	if (!have_x) {
		printf("no Xgemm candidate ran correctly: keeping CLBlast's "
			"defaults\n");
	} else {
		search_direct(tu, x_s, 1.0, max_wg, local_mem, dbest,
			&dtuned, d_s);
		pick_threshold(tu, x_s, d_s, &thr, &nd);
	}

	memset(&chosen, 0, sizeof(chosen));
	if (have_x) {
		if (set_kernel(&chosen, &xgemm, xbest) != 0 ||
		    (dtuned && set_kernel(&chosen, &direct, dbest) != 0) ||
		    set_threshold(&chosen, thr) != 0)
			goto out;
		memset(&job, 0, sizeof(job));
		job.phase = PH_FINAL;
		job.set = chosen;
		all_shapes(tu, &job);
		printf("[%4.0fs] final   check of the chosen set "
			"(XGEMM_MIN_INDIRECT_SIZE=%zu, %zu shape%s direct)\n",
			elapsed(tu), thr, nd, nd == 1 ? "" : "s");
		fflush(stdout);
		if (run_job(tu, &job, tuning_now() + fmax(300.0,
		    tu->budget), &fin) != 0)
			goto out;
		if (fin.status != RES_OK) {
			fprintf(stderr, "kiln-render tune: the chosen set "
				"failed its final check (%s): %s; nothing "
				"written\n", status_name[fin.status],
				fin.msg);
			goto out;
		}
	} else {
		fin = base;
	}
	/* Overrides only go to the file when they beat the defaults. */
	kept = have_x && score(tu, fin.best_s) > score(tu, base_s);
	if (!kept) {
		memset(&chosen, 0, sizeof(chosen));
		printf("CLBlast's defaults were fastest: the tuning file "
			"records no overrides\n");
		memcpy(fin.best_s, base_s, sizeof(base_s));
	} else {
		char desc[400];

		describe(&xgemm, xbest, desc, sizeof(desc));
		printf("chosen Xgemm: %s\n", desc);
		if (dtuned) {
			describe(&direct, dbest, desc, sizeof(desc));
			printf("chosen XgemmDirect: %s\n", desc);
		} else {
			printf("XgemmDirect: CLBlast's own parameters\n");
		}
		printf("chosen XGEMM_MIN_INDIRECT_SIZE: %zu (direct below "
			"m*n*k = %llu)\n", thr,
			(unsigned long long)thr * thr * thr);
	}
	print_table(tu, base_s, fin.best_s, thr, kept);
	printf("%-18s %7.1f GF/s %7.1f GF/s %7.2fx  (geometric mean; %d "
		"candidates in %.0f s)\n", "all", score(tu, base_s),
		score(tu, fin.best_s), score(tu, fin.best_s) /
		score(tu, base_s), tu->candidates, elapsed(tu));
	info = tuner_info(tu, base_s, fin.best_s, thr, kept);
	if (save(tu, &chosen, info) != 0)
		goto out;
	rc = 0;
out:
	json_object_put(info);
	free(tu);
	return rc;
bad:
	fprintf(stderr, "kiln-render tune: bad arguments near '%s'\n",
		i < argc ? argv[i] : "(end)");
	usage(stderr);
	free(tu);
	return 2;
}
