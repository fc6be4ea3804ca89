/* cmd_common.c - what several kiln-render subcommands share. */
#include "commands.h"
#include "engine_env.h"
#include "lora.h"
#include "prompt.h"
#include "runtime.h"
#include "ti.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* s as a whole number (a LoRA multiplier). */
static int
lora_weight(const char *s, double *out)
{
	char *end;

	if (*s == '\0')
		return -1;
	errno = 0;
	*out = strtod(s, &end);
	return errno != 0 || *end != '\0' || !isfinite(*out) ? -1 : 0;
}

int
cli_lora_arg(const char *cmd, const char *arg, struct lora_spec *l, int *n)
{
	const char *c1 = strrchr(arg, ':'), *c2;
	size_t len = strlen(arg);
	double w = 1.0, u = 1.0;
	char num[64];

	if (*n >= CLI_LORAS_MAX) {
		fprintf(stderr, "kiln-render %s: --lora: at most %d\n", cmd,
			CLI_LORAS_MAX);
		return -1;
	}
	/* FILE:WEIGHT, and FILE:WEIGHT:UNET_WEIGHT when the part before
	 * the last weight is one too. */
	if (c1 != NULL && lora_weight(c1 + 1, &u) == 0) {
		w = u;
		len = (size_t)(c1 - arg);
		c2 = memrchr(arg, ':', len);
		if (c2 != NULL && c1 - c2 - 1 < (long)sizeof(num)) {
			snprintf(num, sizeof(num), "%.*s", (int)(c1 - c2 - 1),
				c2 + 1);
			if (lora_weight(num, &w) == 0)
				len = (size_t)(c2 - arg);
			else
				w = u;
		}
	}
	if (len == 0) {
		fprintf(stderr, "kiln-render %s: --lora %s: expected "
			"FILE[:WEIGHT[:UNET_WEIGHT]]\n", cmd, arg);
		return -1;
	}
	l[*n].path = strndup(arg, len);
	if (l[*n].path == NULL) {
		fprintf(stderr, "kiln-render %s: out of memory\n", cmd);
		return -1;
	}
	l[*n].text = w;
	l[*n].unet = u;
	(*n)++;
	return 0;
}

void
cli_loras_free(struct lora_spec *l, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free((char *)l[i].path);
}

int
cli_loras_apply(const char *cmd, struct kiln_rt *rt, const struct st_model *m,
	struct wt_registry *reg, const struct lora_spec *l, int n,
	struct lora_state **state)
{
	char err[2048];

	*state = NULL;
	if (n == 0)
		return 0;
	if (lora_state_new(rt, m, reg, state, err, sizeof(err)) != 0 ||
	    lora_state_set(*state, l, n, err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render %s: --lora: %s\n", cmd, err);
		return -1;
	}
	return 0;
}

int
cli_ti_arg(struct cli_ti *c, const char *a, const char *v)
{
	if (!strcmp(a, "--embedding")) {
		if (c->nfile == CLI_TI_FILES) {
			fprintf(stderr, "kiln-render: --embedding: at most %d "
			    "files\n", CLI_TI_FILES);
			return -1;
		}
		c->file[c->nfile++] = v;
		return 1;
	}
	if (!strcmp(a, "--embeddings")) {
		if (c->dir != NULL) {
			fprintf(stderr, "kiln-render: --embeddings: one "
			    "folder\n");
			return -1;
		}
		c->dir = v;
		return 1;
	}
	return 0;
}

int
cli_ti_load(struct cli_ti *c, char *err, size_t errlen)
{
	int i;

	for (i = 0; i < c->nfile; i++)
		if (c->loaded[i] == NULL && ti_load(c->file[i], NULL,
		    &c->loaded[i], err, errlen) != 0)
			return -1;
	if (c->dir == NULL)
		return 0;
	if (c->d == NULL && (c->d = ti_dir_new()) == NULL)
		return errf(err, errlen, "out of memory");
	return ti_dir_scan(c->d, c->dir, err, errlen) < 0 ? -1 : 0;
}

int
cli_ti_for(struct cli_ti *c, const struct clip_tokenizer *tok,
	const char *const *prompts, int np,
	const struct ti_embedding *const **list, int *n, char *err,
	size_t errlen)
{
	const char **names = NULL;
	unsigned char *used = NULL, *any = NULL;
	int nd = c->d != NULL ? ti_dir_count(c->d) : 0, i, k, p, rc = -1;

	*list = NULL;
	*n = 0;
	free(c->use);
	c->nuse = 0;
	c->use = calloc((size_t)(c->nfile + nd + 1), sizeof(*c->use));
	names = calloc((size_t)nd + 1, sizeof(*names));
	used = calloc((size_t)nd + 1, 1);
	any = calloc((size_t)nd + 1, 1);
	if (c->use == NULL || names == NULL || used == NULL || any == NULL) {
		errf(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < c->nfile; i++)
		c->use[c->nuse++] = c->loaded[i];
	for (i = 0; i < nd; i++)
		names[i] = ti_dir_name(c->d, i);
	for (p = 0; nd > 0 && p < np; p++) {
		if (clip_prompt_uses(tok, prompts[p], names, nd, used, err,
		    errlen) != 0)
			goto out;
		for (i = 0; i < nd; i++)
			any[i] |= used[i];
	}
	for (i = 0; i < nd; i++) {
		const struct ti_embedding *e;

		if (!any[i])
			continue;
		for (k = 0; k < c->nfile; k++)
			if (!strcmp(c->loaded[k]->name, names[i]))
				break;
		if (k < c->nfile)
			continue;
		e = ti_dir_get(c->d, i, err, errlen);
		if (e == NULL)
			goto out;
		c->use[c->nuse++] = e;
	}
	*list = c->use;
	*n = c->nuse;
	rc = 0;
out:
	free(names);
	free(used);
	free(any);
	return rc;
}

void
cli_ti_free(struct cli_ti *c)
{
	int i;

	for (i = 0; i < c->nfile; i++)
		ti_free(c->loaded[i]);
	ti_dir_free(c->d);
	free(c->use);
	memset(c, 0, sizeof(*c));
}

int
cli_shape4_file(const char *s, long long max, int64_t shape[4],
    const char **path)
{
	int i;

	for (i = 0; i < 4; i++) {
		char *end;
		long long v;

		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno != 0 || end == s || v <= 0 || v > max ||
		    *end != (i < 3 ? 'x' : '='))
			return -1;
		shape[i] = v;
		s = end + 1;
	}
	*path = s;
	return *s != '\0' ? 0 : -1;
}
