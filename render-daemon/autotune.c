/* autotune.c - kilnd tunes the engine's GEMM kernel on its first start on
 * a device (see autotune.h). The tuner is kiln-render's, run as a child
 * process: it forks its own children per candidate, and a candidate that
 * crashes the OpenCL compiler must not take the daemon with it. */
#include "autotune.h"
#include "log.h"
#include "tuning.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* kiln-render in the directory of the running program: the build tree
 * and an install both put the two side by side. */
static int
render_path(char *out, size_t n)
{
	char self[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (len <= 0)
		return -1;
	self[len] = '\0';
	slash = strrchr(self, '/');
	if (slash == NULL)
		return -1;
	*slash = '\0';
	if (snprintf(out, n, "%s/kiln-render", self) >= (int)n)
		return -1;
	return access(out, X_OK);
}

int
autotune_run(const struct kiln_rt *rt, const char *device, long seconds,
	volatile const sig_atomic_t *stop)
{
	char exe[PATH_MAX + 16], file[PATH_MAX + 300], budget[32];
	const char *argv[10];
	double deadline;
	pid_t pid;
	int st = 0, n = 0;

	if (!rt->opts.tuning || seconds <= 0 || rt->tuned ||
	    tuning_path(rt, file, sizeof(file)) != 0)
		return 0;
	if (render_path(exe, sizeof(exe)) != 0) {
		log_warn("GEMM tuning: no kiln-render beside kilnd; running "
		    "untuned (run `kiln-render tune` once)");
		return 0;
	}
	snprintf(budget, sizeof(budget), "%ld", seconds);
	argv[n++] = "kiln-render";
	argv[n++] = "tune";
	argv[n++] = "--only";
	argv[n++] = "engine";
	argv[n++] = "--budget";
	argv[n++] = budget;
	if (device != NULL && *device != '\0') {
		argv[n++] = "--device";
		argv[n++] = device;
	}
	argv[n] = NULL;
	log_info("GEMM tuning: no tuning file for %s (%s): tuning the "
	    "engine's kernel for up to %ld s before taking jobs ([engine] "
	    "autotune)", rt->device_name, file, seconds);
	pid = fork();
	if (pid < 0) {
		log_warn("GEMM tuning: fork: %s", strerror(errno));
		return 0;
	}
	if (pid == 0) {
		/* The tuner's table is for people at a terminal: the log
		 * gets its errors only. */
		if (freopen("/dev/null", "w", stdout) == NULL ||
		    setenv("KILN_TUNING_DIR", rt->opts.tuning_dir, 1) != 0 ||
		    setenv("KILN_CL_CACHE", rt->opts.cl_cache_dir, 1) != 0)
			_exit(127);
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	deadline = rt_now() + 3.0 * (double)seconds + 60;
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			log_warn("GEMM tuning: waitpid: %s", strerror(errno));
			return 0;
		}
		if (*stop || rt_now() > deadline) {
			log_warn("GEMM tuning: %s; stopping the tuner", *stop ?
			    "asked to stop" : "past its time");
			kill(pid, SIGKILL);
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			return 0;
		}
		usleep(100000);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
	    access(file, R_OK) != 0) {
		log_warn("GEMM tuning: kiln-render tune failed (%s %d); "
		    "running with the device's defaults",
		    WIFEXITED(st) ? "exit status" : "signal",
		    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		return 0;
	}
	return 1;
}
