/* autotune.h - kilnd's first start on a device: tuning the engine's GEMM
 * kernel before it takes jobs, within [engine] autotune seconds. */
#ifndef KILN_AUTOTUNE_H
#define KILN_AUTOTUNE_H

#include "runtime.h"

#include <signal.h>

/* When rt has no tuning file in force (none for the device, or one for
 * another driver) and tuning is on, runs `kiln-render tune --only engine
 * --budget SECONDS` (the kiln-render beside this program) with rt's
 * tuning and cache directories, waiting at most three times the budget
 * plus a minute, or until *stop is set. Returns 1 when a tuner ran and
 * wrote the device's file (the caller opens the runtime again to apply
 * it), 0 when nothing was to be done or the tuner failed (logged: only
 * speed is lost). device: [daemon] device, "" for the default. */
int autotune_run(const struct kiln_rt *rt, const char *device, long seconds,
	volatile const sig_atomic_t *stop);

#endif
