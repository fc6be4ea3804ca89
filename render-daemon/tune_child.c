/* tune_child.c - runs one kiln-render tune candidate in a child process
 * and reads back what it reports. */
#include "commands.h"
#include "ops.h"
#include "tune.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *const tune_status_name[] = { "ok", "rejected", "crashed",
	"timed out", "slower" };

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
	dprintf(fd, "gemm %u %u %u %u %u %u\n", rt->vec_float, rt->gemm.mr,
		rt->gemm.vw, rt->gemm.nv, rt->gemm.tile_kb, rt->gemm.kslice);
	if (job->engine) {
		/* The engine's kernel, even where CLBlast is the device's
		 * default (GPUs), with the job's parameters. */
		const struct rt_gemm *g = &job->gemm;

		rt->opts.gemm_clblast = 0;
		rt->gemm_tuned = 1;
		if (g->mr)
			rt->gemm.mr = g->mr;
		if (g->vw)
			rt->gemm.vw = g->vw;
		if (g->nv)
			rt->gemm.nv = g->nv;
		if (g->tile_kb)
			rt->gemm.tile_kb = g->tile_kb;
		if (g->kslice)
			rt->gemm.kslice = g->kslice;
		if (rt_gemm_check(&rt->gemm, err, sizeof(err)) != 0) {
			dprintf(fd, "err %s\n", err);
			_exit(1);
		}
		dprintf(fd, "gemm %u %u %u %u %u %u\n", rt->vec_float,
			rt->gemm.mr, rt->gemm.vw, rt->gemm.nv,
			rt->gemm.tile_kb, rt->gemm.kslice);
	}
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
	} else if (sscanf(line, "gemm %u %u %u %u %u %u", &r->vec_float,
	    &r->gemm.mr, &r->gemm.vw, &r->gemm.nv, &r->gemm.tile_kb,
	    &r->gemm.kslice) == 6) {
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

int
tune_run_job(const struct tuner *tu, const struct job *job, double deadline,
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
