/* engine_env.h - the engine's options (struct engine_opts) from outside
 * the engine: kiln.conf's [engine] section for kilnd, the KILN_*
 * environment for kiln-render (and as overrides for kilnd). */
#ifndef KILN_ENGINE_ENV_H
#define KILN_ENGINE_ENV_H

#include <stddef.h>

#include "runtime.h"

struct kiln_config;

/* The engine's defaults (engine_opts_init) with the user's directories:
 * compiled programs cached in $XDG_CACHE_HOME/kiln-cl, else
 * ~/.cache/kiln-cl; tuning files in $XDG_CONFIG_HOME/kiln/tuning, else
 * ~/.config/kiln/tuning (none of either without HOME). */
void engine_opts_user(struct engine_opts *o);

/* Sets o from cfg's [engine] keys; an empty directory key keeps o's.
 * Returns 0, or -1 with err naming the key whose path is too long. */
int engine_opts_config(struct engine_opts *o, const struct kiln_config *cfg,
	char *err, size_t errlen);

/* Overrides o with the KILN_* variables that are set: KILN_WEIGHTS=f32,
 * KILN_GEMM=clblast, KILN_ATTN=fused|blocked (other values: the
 * defaults), KILN_PROFILE (non-empty: on), KILN_NO_TUNING (non-empty and
 * not "0": off), KILN_CL_CACHE (empty: no cache), KILN_TUNING_DIR and
 * KILN_CLIP_VOCAB (when not empty). Returns 0, or -1 with err naming the
 * variable whose path is too long. */
int engine_opts_env(struct engine_opts *o, char *err, size_t errlen);

#endif
