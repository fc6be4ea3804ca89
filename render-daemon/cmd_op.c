/* cmd_op.c - kiln-render op: runs one engine operator (or a batch of them,
 * one per line of a file) on raw little-endian float32 files, so tests can
 * compare every op with a reference implementation. */
#include "commands.h"
#include "half.h"
#include "ops.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IN 4
#define MAX_SET 16

struct spec {
	char *name;
	int nin;
	char *in_path[MAX_IN];
	int64_t in_shape[MAX_IN][KT_MAX_DIMS];
	int in_nd[MAX_IN];
	char *out_path;
	int64_t out_shape[KT_MAX_DIMS];
	int out_nd;
	int nset;
	char *set_key[MAX_SET];
	char *set_val[MAX_SET];
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: kiln-render op [--device SEL] NAME --in SHAPE=FILE ... "
		"--out SHAPE=FILE [--set KEY=VALUE ...]\n"
		"       kiln-render op [--device SEL] --batch FILE  (one op per "
		"line, same syntax without 'kiln-render op')\n"
		"SHAPE is like 2x77x768; FILE holds raw float32 (int32 for "
		"embed ids).\n"
		"ops: gemm linear conv2d group_norm layer_norm softmax "
		"attention add mul scale act add_channel geglu concat "
		"upsample2x transpose timestep embed leaky_relu prelu "
		"pixel_shuffle pixel_unshuffle\n");
}

static int
parse_shape(const char *s, int64_t *shape, int *nd)
{
	char *end;
	int n = 0;

	while (*s != '\0') {
		long long v;

		if (n == KT_MAX_DIMS)
			return -1;
		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno != 0 || end == s || v <= 0)
			return -1;
		shape[n++] = v;
		s = end;
		if (*s == 'x')
			s++;
		else if (*s != '\0')
			return -1;
	}
	*nd = n;
	return n > 0 ? 0 : -1;
}

/* "SHAPE=FILE" into shape and a copy of the path. */
static int
parse_io(const char *arg, int64_t *shape, int *nd, char **path)
{
	const char *eq = strchr(arg, '=');
	char tmp[64];

	if (eq == NULL || (size_t)(eq - arg) >= sizeof(tmp))
		return -1;
	memcpy(tmp, arg, (size_t)(eq - arg));
	tmp[eq - arg] = '\0';
	if (parse_shape(tmp, shape, nd) != 0)
		return -1;
	*path = strdup(eq + 1);
	return *path != NULL ? 0 : -1;
}

static void
spec_clear(struct spec *s)
{
	int i;

	free(s->name);
	for (i = 0; i < s->nin; i++)
		free(s->in_path[i]);
	free(s->out_path);
	for (i = 0; i < s->nset; i++) {
		free(s->set_key[i]);
		free(s->set_val[i]);
	}
	memset(s, 0, sizeof(*s));
}

static int
parse_spec(int argc, char **argv, struct spec *s)
{
	int i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--in") && i + 1 < argc) {
			if (s->nin == MAX_IN || parse_io(argv[++i],
			    s->in_shape[s->nin], &s->in_nd[s->nin],
			    &s->in_path[s->nin]) != 0)
				goto bad;
			s->nin++;
		} else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
			if (s->out_path != NULL || parse_io(argv[++i],
			    s->out_shape, &s->out_nd, &s->out_path) != 0)
				goto bad;
		} else if (!strcmp(argv[i], "--set") && i + 1 < argc) {
			const char *kv = argv[++i], *eq = strchr(kv, '=');

			if (eq == NULL || s->nset == MAX_SET)
				goto bad;
			s->set_key[s->nset] = strndup(kv, (size_t)(eq - kv));
			s->set_val[s->nset] = strdup(eq + 1);
			s->nset++;
		} else if (s->name == NULL && argv[i][0] != '-') {
			s->name = strdup(argv[i]);
		} else {
			goto bad;
		}
	}
	if (s->name == NULL || s->out_path == NULL)
		goto bad;
	return 0;
bad:
	fprintf(stderr, "kiln-render op: bad arguments near '%s'\n",
		i < argc ? argv[i] : "(end)");
	spec_clear(s);
	return -1;
}

static const char *
get_set(const struct spec *s, const char *key, const char *def)
{
	int i;

	for (i = 0; i < s->nset; i++)
		if (!strcmp(s->set_key[i], key))
			return s->set_val[i];
	return def;
}

static long
set_int(const struct spec *s, const char *key, long def)
{
	const char *v = get_set(s, key, NULL);

	return v != NULL ? strtol(v, NULL, 10) : def;
}

static float
set_float(const struct spec *s, const char *key, float def)
{
	const char *v = get_set(s, key, NULL);

	return v != NULL ? strtof(v, NULL) : def;
}

/* Input i of s from its float32 file; as float16 (rounded to nearest
 * even) when the set "half" names it ("a" for input 0, "b" for 1), the
 * way model weights reach the GEMM. */
static struct ktensor *
load_input(struct kiln_rt *rt, const struct spec *s, int i)
{
	const char *h = get_set(s, "half", "");
	int half = (i == 0 && strchr(h, 'a') != NULL) ||
		(i == 1 && strchr(h, 'b') != NULL);
	struct ktensor *t = kt_new(rt, half ? KD_F16 : KD_F32, s->in_nd[i],
		s->in_shape[i]);
	size_t n, j;
	void *host;
	FILE *f;

	if (t == NULL)
		return NULL;
	n = kt_nelem(t) * sizeof(float);
	host = malloc(n);
	f = fopen(s->in_path[i], "rb");
	if (host == NULL || f == NULL || fread(host, 1, n, f) != n ||
	    fgetc(f) != EOF) {
		rt_failf(rt, "%s: cannot read exactly %zu bytes", s->in_path[i],
			n);
		if (f != NULL)
			fclose(f);
		free(host);
		kt_free(t);
		return NULL;
	}
	fclose(f);
	/* In place: element j's half is written over bytes the floats
	 * from j on no longer need. */
	for (j = 0; half && j < kt_nelem(t); j++)
		((uint16_t *)host)[j] = float_to_half(((float *)host)[j]);
	if (kt_upload(t, host) != 0) {
		free(host);
		kt_free(t);
		return NULL;
	}
	free(host);
	return t;
}

static int
save_output(const struct ktensor *t, const char *path)
{
	size_t n = kt_bytes(t);
	void *host = malloc(n);
	FILE *f;
	int rc = -1;

	if (host == NULL)
		return rt_failf(t->rt, "out of memory");
	if (kt_download(t, host) != 0)
		goto out;
	f = fopen(path, "wb");
	if (f == NULL) {
		rt_failf(t->rt, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fwrite(host, 1, n, f) != n || fclose(f) != 0) {
		rt_failf(t->rt, "%s: write failed", path);
		goto out;
	}
	rc = 0;
out:
	free(host);
	return rc;
}

static enum act_kind
act_of(const char *s)
{
	if (!strcmp(s, "gelu"))
		return ACT_GELU;
	if (!strcmp(s, "quick_gelu"))
		return ACT_QUICK_GELU;
	if (!strcmp(s, "gelu_tanh"))
		return ACT_GELU_TANH;
	return ACT_SILU;
}

/* A linear weight read from a file as [out, in], laid out as op_linear
 * wants it (ktensor.kn): the transpose, on the device. The models'
 * weights get the same layout at load (wt_load_linear). */
static struct ktensor *
linear_weight(const struct ktensor *w)
{
	struct ktensor *t;

	if (w->nd != 2) {
		rt_failf(w->rt, "linear: weight must be [out, in]");
		return NULL;
	}
	t = kt_new2(w->rt, w->dtype, w->ne[0], w->ne[1]);
	if (t == NULL || op_transpose(w, t) != 0) {
		kt_free(t);
		return NULL;
	}
	t->kn = 1;
	return t;
}

static int
run_spec(struct kiln_rt *rt, const struct spec *s)
{
	struct ktensor *in[MAX_IN] = { 0 }, *out = NULL;
	const char *n = s->name;
	int i, rc = -1;

	for (i = 0; i < s->nin; i++) {
		in[i] = load_input(rt, s, i);
		if (in[i] == NULL)
			goto out;
	}
	out = kt_new(rt, KD_F32, s->out_nd, s->out_shape);
	if (out == NULL)
		goto out;
#define NEED(k) do { if (s->nin < (k)) { \
	rt_failf(rt, "%s needs %d inputs", n, (k)); goto out; } } while (0)
	if (!strcmp(n, "gemm")) {
		const struct ktensor *a, *b;
		struct ktensor at, bt;

		NEED(2);
		/* ta / tb: the file holds A (B) transposed, read so through
		 * a view. */
		a = in[0];
		b = in[1];
		if (set_int(s, "ta", 0)) {
			if (kt_transpose(&at, in[0]) != 0)
				goto out;
			a = &at;
		}
		if (set_int(s, "tb", 0)) {
			if (kt_transpose(&bt, in[1]) != 0)
				goto out;
			b = &bt;
		}
		rc = op_matmul(a, b, out, set_float(s, "alpha", 1.0f), 0.0f);
	} else if (!strcmp(n, "linear")) {
		struct ktensor *w;

		NEED(2);
		w = linear_weight(in[1]);
		rc = w == NULL ? -1 : op_linear(in[0], w, s->nin > 2 ? in[2] :
			NULL, out);
		kt_free(w);
	} else if (!strcmp(n, "conv2d")) {
		NEED(2);
		rt->conv_band = (size_t)set_int(s, "band", 0);
		rc = op_conv2d(in[0], in[1], s->nin > 2 ? in[2] : NULL, out,
			(int)set_int(s, "stride", 1), (int)set_int(s, "pad", 0));
	} else if (!strcmp(n, "group_norm")) {
		NEED(3);
		rc = op_group_norm(in[0], in[1], in[2], out,
			(int)set_int(s, "groups", 32), set_float(s, "eps", 1e-5f),
			(int)set_int(s, "silu", 0));
	} else if (!strcmp(n, "layer_norm")) {
		NEED(3);
		rc = op_layer_norm(in[0], in[1], in[2], out,
			set_float(s, "eps", 1e-5f));
	} else if (!strcmp(n, "softmax")) {
		NEED(1);
		rc = op_scale(in[0], 1.0f, out);
		if (rc == 0)
			rc = op_softmax(out);
	} else if (!strcmp(n, "attention")) {
		NEED(3);
		op_set_attention_budget(rt, (size_t)set_int(s, "budget", 0));
		rt->attn_mode = !strcmp(get_set(s, "impl", "auto"), "fused") ?
			RT_ATTN_FUSED : !strcmp(get_set(s, "impl", "auto"),
			"blocked") ? RT_ATTN_BLOCKED : RT_ATTN_AUTO;
		rc = op_attention(in[0], in[1], in[2], out,
			(int)set_int(s, "heads", 1), set_float(s, "scale", 1.0f),
			(int)set_int(s, "causal", 0));
	} else if (!strcmp(n, "add") || !strcmp(n, "mul")) {
		NEED(2);
		rc = n[0] == 'a' ? op_add(in[0], in[1], out)
			: op_mul(in[0], in[1], out);
	} else if (!strcmp(n, "scale")) {
		NEED(1);
		rc = op_scale(in[0], set_float(s, "s", 1.0f), out);
	} else if (!strcmp(n, "act")) {
		NEED(1);
		rc = op_act(in[0], out, act_of(get_set(s, "kind", "silu")));
	} else if (!strcmp(n, "add_channel")) {
		NEED(2);
		rc = op_add_channel(in[0], in[1], out);
	} else if (!strcmp(n, "geglu")) {
		NEED(1);
		rc = op_geglu(in[0], out);
	} else if (!strcmp(n, "concat")) {
		NEED(2);
		rc = op_concat_channels(in[0], in[1], out);
	} else if (!strcmp(n, "upsample2x")) {
		NEED(1);
		rc = op_upsample2x(in[0], out);
	} else if (!strcmp(n, "leaky_relu")) {
		NEED(1);
		rc = op_leaky_relu(in[0], out, set_float(s, "slope", 0.2f));
	} else if (!strcmp(n, "prelu")) {
		NEED(2);
		rc = op_prelu(in[0], in[1], out);
	} else if (!strcmp(n, "pixel_shuffle") ||
	    !strcmp(n, "pixel_unshuffle")) {
		NEED(1);
		rc = n[6] == 's' ? op_pixel_shuffle(in[0], out,
			(int)set_int(s, "r", 2)) : op_pixel_unshuffle(in[0],
			out, (int)set_int(s, "r", 2));
	} else if (!strcmp(n, "transpose")) {
		NEED(1);
		rc = op_transpose(in[0], out);
	} else if (!strcmp(n, "timestep")) {
		NEED(1);
		rc = op_timestep_embedding(in[0], out,
			(int)set_int(s, "flip", 1), set_float(s, "shift", 0.0f),
			set_float(s, "max_period", 10000.0f));
	} else if (!strcmp(n, "embed")) {
		NEED(3);
		rc = op_embed(in[0], in[1], in[2], out);
	} else {
		rt_failf(rt, "unknown op '%s'", n);
	}
#undef NEED
	if (rc == 0)
		rc = save_output(out, s->out_path);
out:
	for (i = 0; i < MAX_IN; i++)
		kt_free(in[i]);
	kt_free(out);
	return rc;
}

/* Splits a line on blanks into argv (in place). */
static int
split(char *line, char **argv, int max)
{
	int n = 0;
	char *tok, *save = NULL;

	for (tok = strtok_r(line, " \t\r\n", &save); tok != NULL && n < max;
	    tok = strtok_r(NULL, " \t\r\n", &save))
		argv[n++] = tok;
	return n;
}

static int
run_batch(struct kiln_rt *rt, const char *path)
{
	char line[8192], *av[64];
	int lineno = 0, failed = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		fprintf(stderr, "kiln-render op: %s: %s\n", path,
			strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		struct spec s;
		int ac;

		lineno++;
		ac = split(line, av, 64);
		if (ac == 0 || av[0][0] == '#')
			continue;
		if (parse_spec(ac, av, &s) != 0) {
			fprintf(stderr, "%s:%d: bad op line\n", path, lineno);
			failed++;
			continue;
		}
		if (run_spec(rt, &s) != 0) {
			fprintf(stderr, "%s:%d: %s: %s\n", path, lineno, s.name,
				rt_error(rt));
			failed++;
		}
		spec_clear(&s);
	}
	fclose(f);
	return failed ? 1 : 0;
}

int
cmd_op(int argc, char **argv)
{
	const char *device = NULL, *batch = NULL;
	struct kiln_rt *rt = NULL;
	struct spec s;
	char err[1024];
	int i = 0, rc;

	while (i + 1 < argc && argv[i][0] == '-' && argv[i][1] == '-' &&
	    (!strcmp(argv[i], "--device") || !strcmp(argv[i], "--batch"))) {
		if (!strcmp(argv[i], "--device"))
			device = argv[i + 1];
		else
			batch = argv[i + 1];
		i += 2;
	}
	if (argc == 0 || (batch == NULL && i >= argc)) {
		usage(stderr);
		return 2;
	}
	if (cli_rt_open(&rt, device, err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render op: %s\n", err);
		return 1;
	}
	if (batch != NULL) {
		rc = run_batch(rt, batch);
	} else if (parse_spec(argc - i, argv + i, &s) != 0) {
		usage(stderr);
		rc = 2;
	} else {
		rc = run_spec(rt, &s) == 0 ? 0 : 1;
		if (rc != 0)
			fprintf(stderr, "kiln-render op: %s: %s\n", s.name,
				rt_error(rt));
		spec_clear(&s);
	}
	rt_free(rt);
	return rc;
}
