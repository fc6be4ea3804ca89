/* cmd_unet.c - kiln-render unet: one UNet evaluation on raw float32
 * files, for tests and for timing a checkpoint's denoising step. */
#include "commands.h"
#include "controlnet.h"
#include "lora.h"
#include "unet.h"
#include "util.h"
#include "weights.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void
usage(FILE *f)
{
	fprintf(f, "usage: kiln-render unet --model PATH --in NxCxHxW=FILE "
		"--ctx NxLxD=FILE --t T0[,T1...] --out FILE [--device SEL] "
		"[--text-embeds NxP=FILE --time-ids NxK=FILE] [--repeat N] "
		"[--fail-each-alloc]\n"
		"       [--lora FILE[:WEIGHT[:UNET_WEIGHT]] ...]\n"
		"       [--controlnet FILE --hint 1x3xHxW=FILE [--cn-weight W]"
		" ...]\n"
		"  --text-embeds, --time-ids: SDXL's added conditioning (the "
		"pooled text\n  embedding and the size / crop ids), required "
		"by an SDXL UNet\n"
		"  --controlnet: a ControlNet whose residuals (times "
		"--cn-weight, default 1)\n  are added, with its hint image "
		"(float32 in [0, 1], at the pixel size);\n  several are "
		"summed\n");
}

#define CN_MAX 4

/* The --controlnet options: each with its hint and weight. */
struct cn_arg {
	const char *path, *hint;
	float weight;
	struct controlnet *cn;
	struct ktensor *emb;
};

static int
shape4(const char *s, int64_t *shape, int nd, const char **path)
{
	const char *p = s;
	int i;

	for (i = 0; i < nd; i++) {
		char *end;
		long long v = strtoll(p, &end, 10);

		if (end == p || v <= 0)
			return -1;
		shape[i] = v;
		p = end;
		if (i < nd - 1 && *p++ != 'x')
			return -1;
	}
	if (*p != '=')
		return -1;
	*path = p + 1;
	return 0;
}

static struct ktensor *
read_tensor(struct kiln_rt *rt, int nd, const int64_t *shape,
	const char *path)
{
	struct ktensor *t = kt_new(rt, KD_F32, nd, shape);
	void *host = t ? malloc(kt_bytes(t)) : NULL;
	FILE *f = fopen(path, "rb");
	int ok = t && host && f && fread(host, 1, kt_bytes(t), f) ==
		kt_bytes(t) && fgetc(f) == EOF && kt_upload(t, host) == 0;

	if (f != NULL)
		fclose(f);
	free(host);
	if (!ok) {
		fprintf(stderr, "kiln-render unet: %s: cannot read the tensor "
			"(%s)\n", path, t ? rt_error(rt) : "out of memory");
		kt_free(t);
		return NULL;
	}
	return t;
}

/* One evaluation for walk_alloc_failures. */
struct forward {
	struct unet *u;
	const struct ktensor *x, *ctx;
	const float *t;
	const struct unet_added *add;
	struct cn_arg *cns;
	int ncn;
};

/* Runs every ControlNet, then the UNet with their summed residuals. */
static int
forward_ctrl(const struct forward *f, struct ktensor **y)
{
	struct unet_residuals res = { .ndown = 0 };
	int i, rc = -1;

	for (i = 0; i < f->ncn; i++)
		if (controlnet_forward(f->cns[i].cn, f->x, f->t, f->ctx, f->add,
		    f->cns[i].emb, f->cns[i].weight, &res) != 0)
			goto out;
	rc = unet_forward_ctrl(f->u, f->x, f->t, f->ctx, f->add,
		f->ncn > 0 ? &res : NULL, y);
out:
	unet_residuals_free(&res);
	return rc;
}

static int
forward_once(void *arg)
{
	struct forward *f = arg;
	struct ktensor *y = NULL;
	int rc = forward_ctrl(f, &y);

	kt_free(y);
	return rc;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int
cmd_unet(int argc, char **argv)
{
	const char *model = NULL, *in = NULL, *ctxs = NULL, *ts = NULL,
		*outp = NULL, *device = NULL, *xpath, *cpath, *tes = NULL,
		*tis = NULL, *tepath = NULL, *tipath = NULL;
	int64_t xs[4], cs[3], tes_shape[2], tis_shape[2];
	struct unet_added added = { NULL, NULL }, *add = NULL;
	struct ktensor *te = NULL, *ti = NULL;
	struct kiln_rt *rt = NULL;
	struct st_model *m = NULL;
	struct unet *u = NULL;
	struct ktensor *x = NULL, *ctx = NULL, *y = NULL;
	struct lora_spec loras[CLI_LORAS_MAX];
	struct wt_registry *reg = NULL;
	struct lora_state *ls = NULL;
	float *t = NULL, *host = NULL;
	char err[1024], *end;
	struct cn_arg cns[CN_MAX];
	int i, rc = 1, repeat = 1, r, walk = 0, nloras = 0, ncn = 0;
	double t0, best = 0;
	FILE *f;

	for (i = 0; i < argc; i += 2) {
		if (!strcmp(argv[i], "--fail-each-alloc")) {
			walk = 1;
			i--;
			continue;
		}
		if (i + 1 == argc)
			break;
		if (!strcmp(argv[i], "--model"))
			model = argv[i + 1];
		else if (!strcmp(argv[i], "--in"))
			in = argv[i + 1];
		else if (!strcmp(argv[i], "--ctx"))
			ctxs = argv[i + 1];
		else if (!strcmp(argv[i], "--t"))
			ts = argv[i + 1];
		else if (!strcmp(argv[i], "--out"))
			outp = argv[i + 1];
		else if (!strcmp(argv[i], "--device"))
			device = argv[i + 1];
		else if (!strcmp(argv[i], "--text-embeds"))
			tes = argv[i + 1];
		else if (!strcmp(argv[i], "--time-ids"))
			tis = argv[i + 1];
		else if (!strcmp(argv[i], "--controlnet") && ncn < CN_MAX) {
			memset(&cns[ncn], 0, sizeof(cns[ncn]));
			cns[ncn].path = argv[i + 1];
			cns[ncn++].weight = 1.0f;
		} else if (!strcmp(argv[i], "--hint") && ncn > 0)
			cns[ncn - 1].hint = argv[i + 1];
		else if (!strcmp(argv[i], "--cn-weight") && ncn > 0)
			cns[ncn - 1].weight = strtof(argv[i + 1], NULL);
		else if (!strcmp(argv[i], "--repeat"))
			repeat = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--lora")) {
			if (cli_lora_arg("unet", argv[i + 1], loras,
			    &nloras) != 0) {
				cli_loras_free(loras, nloras);
				return 2;
			}
		} else
			break;
	}
	if (i != argc || !model || !in || !ctxs || !ts || !outp ||
	    repeat < 1 || shape4(in, xs, 4, &xpath) ||
	    shape4(ctxs, cs, 3, &cpath) || (!tes != !tis) ||
	    (tes && (shape4(tes, tes_shape, 2, &tepath) ||
	    shape4(tis, tis_shape, 2, &tipath)))) {
		cli_loras_free(loras, nloras);
		usage(stderr);
		return 2;
	}
	t = calloc((size_t)xs[0], sizeof(*t));
	if (t == NULL) {
		cli_loras_free(loras, nloras);
		return 1;
	}
	for (i = 0; i < xs[0]; i++) {
		t[i] = strtof(ts, &end);
		if (end == ts || (*end != ',' && *end != '\0')) {
			fprintf(stderr, "kiln-render unet: --t needs %lld "
				"numbers\n", (long long)xs[0]);
			free(t);
			cli_loras_free(loras, nloras);
			return 2;
		}
		ts = *end == ',' ? end + 1 : end;
	}
	m = st_model_open(model, err, sizeof(err));
	reg = wt_registry_new();
	if (reg == NULL)
		snprintf(err, sizeof(err), "out of memory");
	if (m == NULL || reg == NULL ||
	    cli_rt_open(&rt, device, err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render unet: %s\n", err);
		goto out;
	}
	/* The weights --lora patches are recorded as they load. */
	rt->weights = reg;
	if (unet_load(rt, m, &u, err, sizeof(err)) != 0) {
		fprintf(stderr, "kiln-render unet: %s\n", err);
		goto out;
	}
	rt->weights = NULL;
	if (cli_loras_apply("unet", rt, m, reg, loras, nloras, &ls) != 0)
		goto out;
	x = read_tensor(rt, 4, xs, xpath);
	ctx = x ? read_tensor(rt, 3, cs, cpath) : NULL;
	if (ctx == NULL)
		goto out;
	for (i = 0; i < ncn; i++) {
		int64_t hs[4];
		const char *hpath;
		struct ktensor *h;

		if (cns[i].hint == NULL || shape4(cns[i].hint, hs, 4, &hpath)) {
			fprintf(stderr, "kiln-render unet: --controlnet %s needs "
				"--hint 1x3xHxW=FILE\n", cns[i].path);
			goto out;
		}
		if (controlnet_load(rt, cns[i].path, &cns[i].cn, err,
		    sizeof(err)) != 0 ||
		    controlnet_check(cns[i].cn, u, err, sizeof(err)) != 0) {
			fprintf(stderr, "kiln-render unet: %s\n", err);
			goto out;
		}
		h = read_tensor(rt, 4, hs, hpath);
		if (h == NULL)
			goto out;
		r = controlnet_hint(cns[i].cn, h, &cns[i].emb);
		kt_free(h);
		if (r != 0) {
			fprintf(stderr, "kiln-render unet: %s\n", rt_error(rt));
			goto out;
		}
	}
	if (tes != NULL) {
		te = read_tensor(rt, 2, tes_shape, tepath);
		ti = te ? read_tensor(rt, 2, tis_shape, tipath) : NULL;
		if (ti == NULL)
			goto out;
		added.text_embeds = te;
		added.time_ids = ti;
		add = &added;
	}
	if (walk) {
		struct forward fw = { u, x, ctx, t, add, cns, ncn };

		if (walk_alloc_failures(rt, "unet", forward_once, &fw) < 0)
			goto out;
	}
	for (r = 0; r < repeat; r++) {
		kt_free(y);
		y = NULL;
		t0 = now_s();
		struct forward fw = { u, x, ctx, t, add, cns, ncn };

		if (forward_ctrl(&fw, &y) != 0 || rt_finish(rt) != 0) {
			fprintf(stderr, "kiln-render unet: %s\n", rt_error(rt));
			goto out;
		}
		if (r == 0 || now_s() - t0 < best)
			best = now_s() - t0;
	}
	host = malloc(kt_bytes(y));
	if (host == NULL || kt_download(y, host) != 0)
		goto out;
	f = fopen(outp, "wb");
	if (f == NULL || fwrite(host, 1, kt_bytes(y), f) != kt_bytes(y) ||
	    fclose(f) != 0) {
		fprintf(stderr, "kiln-render unet: %s: write failed\n", outp);
		goto out;
	}
	if (rt->profile)
		rt_prof_report(rt, stderr);
	printf("{\"shape\":[%lld,%lld,%lld,%lld],\"seconds\":%.4f,"
		"\"peak_bytes\":%zu}\n", (long long)y->ne[0],
		(long long)y->ne[1], (long long)y->ne[2], (long long)y->ne[3],
		best, rt->peak_held);
	rc = 0;
out:
	free(t);
	free(host);
	kt_free(x);
	kt_free(ctx);
	kt_free(te);
	kt_free(ti);
	kt_free(y);
	lora_state_free(ls);
	for (i = 0; i < ncn; i++) {
		kt_free(cns[i].emb);
		controlnet_free(cns[i].cn);
	}
	unet_free(u);
	wt_registry_free(reg);
	rt_free(rt);
	st_model_close(m);
	cli_loras_free(loras, nloras);
	return rc;
}
