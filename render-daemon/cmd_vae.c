/* cmd_vae.c - kiln-render vae-decode / vae-encode: runs a model's VAE on
 * raw float32 files, for tests and for measuring decode time and memory. */
#include "commands.h"
#include "safetensors.h"
#include "vae.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct vae_args {
	const char *model, *in_path, *out, *out2, *device;
	int64_t shape[4];
	long tile, overlap, repeat;	/* --repeat: best of that many */
	size_t budget;
	int walk;		/* --fail-each-alloc */
};

static void
usage(FILE *f, int enc)
{
	if (enc)
		fprintf(f, "usage: kiln-render vae-encode --model PATH "
			"--in NxCxHxW=FILE --out FILE [--logvar FILE] "
			"[--tile N [--overlap N] | --budget BYTES] "
			"[--repeat N] [--device SEL] [--fail-each-alloc]\n"
			"Writes the latent mean [N, latent, H/f, W/f] (not "
			"scaled) as raw float32 and its shape as JSON.\n");
	else
		fprintf(f, "usage: kiln-render vae-decode --model PATH "
			"--in NxCxHxW=FILE --out FILE [--tile N [--overlap N]"
			" | --budget BYTES] [--repeat N] [--device SEL] "
			"[--fail-each-alloc]\n"
			"FILE holds latents already divided by the scaling "
			"factor; writes the image [N, C, f*H, f*W] as raw "
			"float32 and its shape as JSON.\n");
}

static int
parse_long(const char *s, long lo, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo)
		return -1;
	*out = v;
	return 0;
}

static int
parse_args(int argc, char **argv, int enc, struct vae_args *a)
{
	int i;

	memset(a, 0, sizeof(*a));
	a->repeat = 1;
	for (i = 0; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		long n;

		if (!strcmp(k, "--fail-each-alloc")) {
			a->walk = 1;
			continue;
		}
		if (v == NULL)
			return -1;
		if (!strcmp(k, "--model"))
			a->model = v;
		else if (!strcmp(k, "--in")) {
			if (cli_shape4_file(v, 1 << 20, a->shape, &a->in_path))
				return -1;
		} else if (!strcmp(k, "--out"))
			a->out = v;
		else if (!strcmp(k, "--device"))
			a->device = v;
		else if (enc && !strcmp(k, "--logvar"))
			a->out2 = v;
		else if (!strcmp(k, "--tile")) {
			if (parse_long(v, 0, &a->tile))
				return -1;
		} else if (!strcmp(k, "--overlap")) {
			if (parse_long(v, 1, &a->overlap))
				return -1;
		} else if (!strcmp(k, "--repeat")) {
			if (parse_long(v, 1, &a->repeat) || a->repeat > 100)
				return -1;
		} else if (!strcmp(k, "--budget")) {
			if (parse_long(v, 1, &n))
				return -1;
			a->budget = (size_t)n;
		} else
			return -1;
		i++;
	}
	if (a->model == NULL || a->in_path == NULL || a->out == NULL ||
	    (a->tile > 0 && a->budget > 0))
		return -1;
	return 0;
}

/* Reads exactly n floats from path. */
static int
read_floats(const char *path, float *dst, size_t n)
{
	FILE *f = fopen(path, "rb");
	size_t got;
	int extra;

	if (f == NULL)
		return -1;
	got = fread(dst, sizeof(float), n, f);
	extra = fgetc(f);
	fclose(f);
	return got == n && extra == EOF ? 0 : -1;
}

/* Downloads t and writes it to path. Returns 0 or -1 with a message. */
static int
write_tensor(const struct ktensor *t, const char *path, const char *cmd)
{
	float *host = malloc(kt_bytes(t));
	FILE *f = NULL;
	int rc = -1;

	if (host == NULL || kt_download(t, host) != 0) {
		fprintf(stderr, "kiln-render %s: %s\n", cmd,
			host ? rt_error(t->rt) : "out of memory");
		goto out;
	}
	f = fopen(path, "wb");
	if (f == NULL || fwrite(host, 1, kt_bytes(t), f) != kt_bytes(t)) {
		fprintf(stderr, "kiln-render %s: %s: write failed\n", cmd, path);
		goto out;
	}
	rc = 0;
out:
	if (f != NULL && fclose(f) != 0 && rc == 0) {
		fprintf(stderr, "kiln-render %s: %s: write failed\n", cmd, path);
		rc = -1;
	}
	free(host);
	return rc;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One pass, as the options ask, into *out (and *lv when encoding with
 * --logvar). */
struct pass {
	const struct vae_args *a;
	int enc;
	struct vae_model *v;
	const struct ktensor *in;
};

static int
pass_run(const struct pass *p, struct ktensor **out, struct ktensor **lv)
{
	const struct vae_args *a = p->a;

	if (p->enc && a->tile > 0)
		return vae_encode_tiled(p->v, p->in, (int)a->tile,
			a->overlap > 0 ? (int)a->overlap : (int)a->tile / 4,
			out, a->out2 ? lv : NULL);
	if (p->enc)
		return vae_encode(p->v, p->in, a->budget, out,
			a->out2 ? lv : NULL);
	if (a->tile > 0)
		return vae_decode_tiled(p->v, p->in, (int)a->tile,
			a->overlap > 0 ? (int)a->overlap : (int)a->tile / 4,
			out);
	return vae_decode(p->v, p->in, a->budget, out);
}

/* The same for walk_alloc_failures, dropping what it makes. */
static int
pass_once(void *arg)
{
	struct ktensor *out = NULL, *lv = NULL;
	int rc = pass_run(arg, &out, &lv);

	kt_free(out);
	kt_free(lv);
	return rc;
}

static int
run(int argc, char **argv, int enc)
{
	const char *cmd = enc ? "vae-encode" : "vae-decode";
	struct vae_args a;
	struct st_model *m = NULL;
	struct kiln_rt *rt = NULL;
	struct vae_model *v = NULL;
	struct ktensor *in = NULL, *out = NULL, *lv = NULL;
	float *host = NULL;
	char err[1024];
	size_t n, base;
	double t0, best = 0;
	long r;
	int rc = 1;

	if (parse_args(argc, argv, enc, &a) != 0) {
		usage(stderr, enc);
		return 2;
	}
	n = (size_t)(a.shape[0] * a.shape[1] * a.shape[2] * a.shape[3]);
	host = malloc(n * sizeof(float));
	if (host == NULL || read_floats(a.in_path, host, n) != 0) {
		fprintf(stderr, "kiln-render %s: %s: cannot read %zu float32 "
			"values\n", cmd, a.in_path, n);
		goto out;
	}
	m = st_model_open(a.model, err, sizeof(err));
	if (m == NULL || cli_rt_open(&rt, a.device, err, sizeof(err)) != 0 ||
	    vae_load(rt, m, enc ? VAE_ENCODER : VAE_DECODER, &v, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render %s: %s\n", cmd, err);
		goto out;
	}
	in = kt_new4(rt, KD_F32, a.shape[0], a.shape[1], a.shape[2],
		a.shape[3]);
	if (in == NULL || kt_upload(in, host) != 0) {
		fprintf(stderr, "kiln-render %s: %s\n", cmd, rt_error(rt));
		goto out;
	}
	/* The weights and the input: what the pass itself takes comes on
	 * top (the budget of --budget). */
	base = rt->bytes_held;
	if (a.walk && walk_alloc_failures(rt, cmd, pass_once,
	    &(struct pass){ &a, enc, v, in }) < 0)
		goto out;
	/* The best of --repeat passes: the first compiles kernels. */
	for (r = 0; r < a.repeat; r++) {
		kt_free(out);
		kt_free(lv);
		out = lv = NULL;
		t0 = now();
		if (pass_run(&(struct pass){ &a, enc, v, in }, &out, &lv) !=
		    0 || rt_finish(rt) != 0) {
			fprintf(stderr, "kiln-render %s: %s\n", cmd,
				rt_error(rt));
			goto out;
		}
		if (r == 0 || now() - t0 < best)
			best = now() - t0;
	}
	if (write_tensor(out, a.out, cmd) != 0 ||
	    (lv != NULL && write_tensor(lv, a.out2, cmd) != 0))
		goto out;
	if (rt->profile)
		rt_prof_report(rt, stderr);
	printf("{\"shape\":[%lld,%lld,%lld,%lld],\"scaling_factor\":%g,"
		"\"seconds\":%.3f,\"peak_bytes\":%zu,\"peak_live_bytes\":%zu,"
		"\"base_bytes\":%zu}\n",
		(long long)out->ne[0], (long long)out->ne[1],
		(long long)out->ne[2], (long long)out->ne[3],
		(double)vae_config(v)->scaling_factor, best, rt->peak_held,
		rt->peak_live, base);
	rc = 0;
out:
	free(host);
	kt_free(in);
	kt_free(out);
	kt_free(lv);
	vae_free(v);
	rt_free(rt);
	st_model_close(m);
	return rc;
}

int
cmd_vae_decode(int argc, char **argv)
{
	return run(argc, argv, 0);
}

int
cmd_vae_encode(int argc, char **argv)
{
	return run(argc, argv, 1);
}
