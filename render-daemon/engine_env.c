/* engine_env.c - engine options from kiln.conf and the environment. */
#include "engine_env.h"
#include "config.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copies src into one of the options' paths; -1 with err when it does
 * not fit (a cut path would name another directory). */
static int
set_path(char *dst, size_t n, const char *src, const char *what, char *err,
	size_t errlen)
{
	if (strlen(src) >= n)
		return errf(err, errlen, "%s: path longer than %zu bytes", what,
			n - 1);
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

/* $xdg/leaf, else $HOME/home_rel/leaf, else "" (cut: ""). */
static void
user_dir(char *out, size_t n, const char *xdg, const char *home_rel,
	const char *leaf)
{
	const char *x = getenv(xdg), *home = getenv("HOME");
	int w = -1;

	if (x != NULL && *x != '\0')
		w = snprintf(out, n, "%s/%s", x, leaf);
	else if (home != NULL && *home != '\0')
		w = snprintf(out, n, "%s/%s/%s", home, home_rel, leaf);
	if (w < 0 || (size_t)w >= n)
		out[0] = '\0';
}

void
engine_opts_user(struct engine_opts *o)
{
	engine_opts_init(o);
	user_dir(o->cl_cache_dir, sizeof(o->cl_cache_dir), "XDG_CACHE_HOME",
		".cache", "kiln-cl");
	user_dir(o->tuning_dir, sizeof(o->tuning_dir), "XDG_CONFIG_HOME",
		".config", "kiln/tuning");
}

static enum rt_attn
attention_of(const char *s)
{
	return !strcmp(s, "fused") ? RT_ATTN_FUSED : !strcmp(s, "blocked") ?
		RT_ATTN_BLOCKED : RT_ATTN_AUTO;
}

int
engine_opts_config(struct engine_opts *o, const struct kiln_config *cfg,
	char *err, size_t errlen)
{
	/* config_load has checked the words against the key table. */
	o->weights_f32 = !strcmp(cfg->engine_weights, "f32");
	o->gemm_clblast = !strcmp(cfg->engine_gemm, "clblast");
	o->attention = attention_of(cfg->engine_attention);
	o->profile = cfg->engine_profile != 0;
	o->tuning = cfg->engine_tuning != 0;
	if ((cfg->engine_cl_cache_dir[0] != '\0' &&
	    set_path(o->cl_cache_dir, sizeof(o->cl_cache_dir),
	    cfg->engine_cl_cache_dir, "engine.cl_cache_dir", err, errlen)) ||
	    (cfg->engine_tuning_dir[0] != '\0' &&
	    set_path(o->tuning_dir, sizeof(o->tuning_dir),
	    cfg->engine_tuning_dir, "engine.tuning_dir", err, errlen)) ||
	    (cfg->engine_clip_vocab[0] != '\0' &&
	    set_path(o->clip_vocab, sizeof(o->clip_vocab),
	    cfg->engine_clip_vocab, "engine.clip_vocab", err, errlen)))
		return -1;
	return 0;
}

int
engine_opts_env(struct engine_opts *o, char *err, size_t errlen)
{
	const char *v;

	if ((v = getenv("KILN_WEIGHTS")) != NULL)
		o->weights_f32 = !strcmp(v, "f32");
	if ((v = getenv("KILN_GEMM")) != NULL)
		o->gemm_clblast = !strcmp(v, "clblast");
	if ((v = getenv("KILN_GEMM_PARAMS")) != NULL && *v != '\0' &&
	    rt_gemm_parse(v, &o->gemm, err, errlen) != 0)
		return -1;
	if ((v = getenv("KILN_ATTN")) != NULL)
		o->attention = attention_of(v);
	if ((v = getenv("KILN_PROFILE")) != NULL)
		o->profile = *v != '\0';
	if ((v = getenv("KILN_NO_TUNING")) != NULL)
		o->tuning = *v == '\0' || !strcmp(v, "0");
	/* Set but empty turns the cache off. */
	if ((v = getenv("KILN_CL_CACHE")) != NULL &&
	    set_path(o->cl_cache_dir, sizeof(o->cl_cache_dir), v,
	    "KILN_CL_CACHE", err, errlen) != 0)
		return -1;
	if ((v = getenv("KILN_TUNING_DIR")) != NULL && *v != '\0' &&
	    set_path(o->tuning_dir, sizeof(o->tuning_dir), v,
	    "KILN_TUNING_DIR", err, errlen) != 0)
		return -1;
	if ((v = getenv("KILN_CLIP_VOCAB")) != NULL && *v != '\0' &&
	    set_path(o->clip_vocab, sizeof(o->clip_vocab), v,
	    "KILN_CLIP_VOCAB", err, errlen) != 0)
		return -1;
	return 0;
}
