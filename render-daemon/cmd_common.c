/* cmd_common.c - what several kiln-render subcommands share. */
#include "commands.h"
#include "engine_env.h"
#include "runtime.h"

#include <stdio.h>

int
cli_engine_opts(struct engine_opts *o, char *err, size_t errlen)
{
	engine_opts_user(o);
	return engine_opts_env(o, err, errlen);
}

int
cli_rt_open(struct kiln_rt **rt, const char *device, char *err,
	size_t errlen)
{
	struct engine_opts o;

	*rt = NULL;
	if (cli_engine_opts(&o, err, errlen) != 0)
		return -1;
	return rt_open(rt, device, &o, err, errlen);
}

int
walk_alloc_failures(struct kiln_rt *rt, const char *cmd, int (*fn)(void *),
	void *arg)
{
	size_t live = rt->bytes_live, n;
	int rc;

	for (n = 1;; n++) {
		rt->fail_alloc = n;
		rc = fn(arg);
		/* Still counting down: the run failed before the injected
		 * failure, or succeeded without reaching it. */
		if (rc != 0 && rt->fail_alloc != 0) {
			fprintf(stderr, "kiln-render %s: failed before "
				"allocation %zu, the one made to fail: %s\n", cmd,
				n, rt_error(rt));
			rt->fail_alloc = 0;
			return -1;
		}
		rt->fail_alloc = 0;
		if (rt->bytes_live != live) {
			fprintf(stderr, "kiln-render %s: with allocation %zu "
				"failing, %zu bytes of device memory stayed "
				"live (%s)\n", cmd, n, rt->bytes_live - live,
				rt_error(rt));
			return -1;
		}
		if (rc == 0)
			break;
	}
	fprintf(stderr, "kiln-render %s: %zu allocation failures walked, "
		"each gave its memory back\n", cmd, n - 1);
	return (int)(n - 1);
}
