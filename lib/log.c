/* log.c - stderr logger with a level threshold. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level threshold = LOG_INFO;
static char prog[32] = "kiln";

void
log_setup(const char *progname, const char *level)
{
	static const char *const names[] = { "debug", "info", "warn", "error" };
	size_t i;

	if (progname != NULL)
		snprintf(prog, sizeof(prog), "%s", progname);
	for (i = 0; level != NULL && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(level, names[i]))
			threshold = (enum log_level)i;
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *const tags[] = { "debug", "info", "warn", "error" };
	char line[1024], ts[32];
	struct tm tm;
	time_t now;
	va_list ap;
	int n;

	if (lvl < threshold)
		return;
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(line, sizeof(line), "%s %s[%ld] %s: ", ts, prog,
		(long)getpid(), tags[lvl]);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* Long messages are cut at 1 KiB on purpose: a log line, not data. */
	fprintf(stderr, "%s\n", line);
	fflush(stderr);
}
