/* upscaler.c - RRDBNet and SRVGGNet super-resolution (basicsr's
 * rrdbnet_arch.py and srvgg_arch.py): names made canonical at load, the
 * sizes read off the shapes, whole or tiled runs, and A1111's
 * model-then-Lanczos path over 8-bit images. */
#include "upscaler.h"
#include "resample.h"
#include "tiles.h"
#include "util.h"
#include "weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UP_MAX_UPS 3		/* RRDBNet 2x stages: x8 at most */
#define UP_MAX_PASSES 3		/* model runs per image, as A1111 */

/* A 3x3 convolution, padding 1. */
struct conv {
	struct ktensor *w, *b;
};

struct rdb {
	struct conv c[5];
};

struct rrdb {
	struct rdb r[3];
};

struct upscaler {
	struct kiln_rt *rt;
	struct st_file *f;
	struct st_entry *idx;	/* canonical names, sorted; names owned */
	size_t nidx;
	struct up_config cfg;
	/* RRDBNet */
	struct conv first, body, up[UP_MAX_UPS], hr, last;
	struct rrdb *blocks;
	/* SRVGGNet: num_conv + 2 convs and num_conv + 1 PReLU slopes */
	struct conv *convs;
	struct ktensor **slopes;
};

enum { C_OUT, C_IN };

static const struct wdecl conv_w[] = {
	WD(struct conv, "weight", WD_CONV3, w, C_OUT, C_IN),
	WD(struct conv, "bias", WD_VEC, b, C_OUT, 0),
};

const char *
upscaler_arch_name(enum up_arch a)
{
	return a == UP_RRDBNET ? "RRDBNet" : "SRVGGNet";
}

const struct up_config *
upscaler_config(const struct upscaler *u)
{
	return &u->cfg;
}

/* --- names ------------------------------------------------------------ */

/* How the file names its tensors. */
enum up_scheme {
	SCHEME_REALESRGAN,	/* conv_first, body.N.rdb1.conv1 (basicsr) */
	SCHEME_ESRGAN_NEW,	/* conv_first, RRDB_trunk.N.RDB1.conv1 */
	SCHEME_ESRGAN_OLD,	/* model.0, model.1.sub.N.RDB1.conv1.0 */
	SCHEME_SRVGG,		/* body.0 conv, body.1 PReLU, ... */
	SCHEME_NONE,
};

static enum up_scheme
scheme_of(const struct st_file *f)
{
	const struct st_tensor *a, *b;

	if (st_find(f, "conv_first.weight") != NULL) {
		if (st_find(f, "body.0.rdb1.conv1.weight") != NULL)
			return SCHEME_REALESRGAN;
		if (st_find(f, "RRDB_trunk.0.RDB1.conv1.weight") != NULL)
			return SCHEME_ESRGAN_NEW;
	}
	if (st_find(f, "model.0.weight") != NULL &&
	    st_find(f, "model.1.sub.0.RDB1.conv1.0.weight") != NULL)
		return SCHEME_ESRGAN_OLD;
	a = st_find(f, "body.0.weight");
	b = st_find(f, "body.1.weight");
	if (a != NULL && b != NULL && a->ndim == 4 && b->ndim == 1)
		return SCHEME_SRVGG;
	return SCHEME_NONE;
}

/* The old ESRGAN's top-level model.K (K >= 2) in order: the up
 * convolutions, then HRconv and conv_last (model.3, 6, 8, 10 in a 4x
 * model; fewer ups in a 2x one). */
struct old_tops {
	int k[UP_MAX_UPS + 2];
	int n;
};

static int
old_top_index(const char *name, long *k)
{
	char *end;

	if (strncmp(name, "model.", 6) != 0)
		return -1;
	*k = strtol(name + 6, &end, 10);
	if (end == name + 6 || *k < 2 || (strcmp(end, ".weight") != 0 &&
	    strcmp(end, ".bias") != 0))
		return -1;
	return 0;
}

static int
scan_old_tops(const struct st_file *f, struct old_tops *o)
{
	size_t i;
	int j, m;
	long k;

	o->n = 0;
	for (i = 0; i < st_count(f); i++) {
		if (old_top_index(st_get(f, i)->name, &k) != 0)
			continue;
		for (j = 0; j < o->n && o->k[j] != k; j++)
			;
		if (j < o->n)
			continue;
		if (o->n == UP_MAX_UPS + 2)
			return -1;
		/* Insertion in order. */
		for (m = o->n; m > 0 && o->k[m - 1] > k; m--)
			o->k[m] = o->k[m - 1];
		o->k[m] = (int)k;
		o->n++;
	}
	return o->n >= 3 ? 0 : -1;
}

/* Writes the canonical (basicsr) name of file tensor name into buf. */
static void
canonical(enum up_scheme s, const struct old_tops *o, long nblocks,
	const char *name, char *buf, size_t n)
{
	static const struct { const char *from, *to; } esrgan_new[] = {
		{ "RRDB_trunk.", "body." }, { "trunk_conv.", "conv_body." },
		{ "upconv1.", "conv_up1." }, { "upconv2.", "conv_up2." },
		{ "upconv3.", "conv_up3." }, { "HRconv.", "conv_hr." },
	};
	char tmp[256], *p;
	long b, k;
	int r, c, j;
	size_t i;

	snprintf(buf, n, "%s", name);
	if (s == SCHEME_ESRGAN_NEW) {
		for (i = 0; i < ARRAY_LEN(esrgan_new); i++)
			if (str_has_prefix(name, esrgan_new[i].from)) {
				snprintf(buf, n, "%s%s", esrgan_new[i].to,
					name + strlen(esrgan_new[i].from));
				break;
			}
		/* RDB1 -> rdb1 */
		if ((p = strstr(buf, ".RDB")) != NULL && p[4] >= '1' &&
		    p[4] <= '3')
			memcpy(p, ".rdb", 4);
		return;
	}
	if (s != SCHEME_ESRGAN_OLD)
		return;
	if (!strcmp(name, "model.0.weight") || !strcmp(name, "model.0.bias")) {
		snprintf(buf, n, "conv_first.%s", name + 8);
		return;
	}
	/* model.1.sub.N.RDBr.convc.0.leaf -> body.N.rdbr.convc.leaf */
	if (sscanf(name, "model.1.sub.%ld.RDB%d.conv%d.0.%255s", &b, &r, &c,
	    tmp) == 4) {
		snprintf(buf, n, "body.%ld.rdb%d.conv%d.%s", b, r, c, tmp);
		return;
	}
	/* model.1.sub.NB.leaf -> conv_body.leaf (the trunk conv). */
	if (sscanf(name, "model.1.sub.%ld.%255s", &b, tmp) == 2 &&
	    b == nblocks && (!strcmp(tmp, "weight") || !strcmp(tmp, "bias"))) {
		snprintf(buf, n, "conv_body.%s", tmp);
		return;
	}
	if (old_top_index(name, &k) == 0) {
		const char *leaf = strrchr(name, '.') + 1;

		for (j = 0; j < o->n && o->k[j] != k; j++)
			;
		if (j == o->n - 1)
			snprintf(buf, n, "conv_last.%s", leaf);
		else if (j == o->n - 2)
			snprintf(buf, n, "conv_hr.%s", leaf);
		else
			snprintf(buf, n, "conv_up%d.%s", j + 1, leaf);
	}
}

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct st_entry *)a)->name,
		((const struct st_entry *)b)->name);
}

/* Indexes the file's tensors under canonical names (others keep their
 * own): u->idx. Returns 0, or -1 with err. */
static int
index_file(struct upscaler *u, enum up_scheme s, char *err, size_t errlen)
{
	const struct st_file *f = u->f;
	struct old_tops o = { { 0 }, 0 };
	long nblocks = 0;
	char name[512];
	size_t i, k;

	if (s == SCHEME_ESRGAN_OLD) {
		if (scan_old_tops(f, &o) != 0)
			return errf(err, errlen, "%s: an old-style ESRGAN "
				"file needs model.K for K >= 2 (the up, HR "
				"and last convolutions): found %d of them",
				st_name(f), o.n);
		/* The trunk conv follows the last block. */
		while (1) {
			snprintf(name, sizeof(name), "model.1.sub.%ld.RDB1."
				"conv1.0.weight", nblocks);
			if (st_find(f, name) == NULL)
				break;
			nblocks++;
		}
	}
	u->nidx = st_count(f);
	u->idx = calloc(u->nidx ? u->nidx : 1, sizeof(*u->idx));
	if (u->idx == NULL)
		return errf(err, errlen, "%s: out of memory", st_name(f));
	for (i = 0; i < u->nidx; i++) {
		const struct st_tensor *t = st_get(f, i);
		struct st_entry *e = &u->idx[i];

		canonical(s, &o, nblocks, t->name, name, sizeof(name));
		e->name = strdup(name);
		if (e->name == NULL)
			return errf(err, errlen, "%s: out of memory",
				st_name(f));
		e->t = t;
		e->ndim = t->ndim;
		memcpy(e->shape, t->shape, sizeof(e->shape));
		e->nelems = t->nelems;
	}
	qsort(u->idx, u->nidx, sizeof(*u->idx), entry_cmp);
	for (k = 1; k < u->nidx; k++)
		if (!strcmp(u->idx[k].name, u->idx[k - 1].name))
			return errf(err, errlen, "%s: tensors %s and %s both "
				"name %s", st_name(f), u->idx[k - 1].t->name,
				u->idx[k].t->name, u->idx[k].name);
	return 0;
}

/* --- configuration ---------------------------------------------------- */

/* The tensor tmpl with its "%d" replaced by i (wt_find's templates). */
static const struct st_entry *
find(const struct wloader *ld, const char *tmpl, int i)
{
	return wt_find(ld, tmpl, i);
}

static int
configure_rrdb(const struct wloader *ld, const char *file,
	struct up_config *c, char *err, size_t errlen)
{
	const struct st_entry *first = find(ld, "conv_first.weight", 0),
		*grow = find(ld, "body.0.rdb1.conv1.weight", 0),
		*last = find(ld, "conv_last.weight", 0);

	if (first == NULL || grow == NULL || last == NULL ||
	    first->ndim != 4 || grow->ndim != 4 || last->ndim != 4)
		return errf(err, errlen, "%s: RRDBNet: conv_first, body.0."
			"rdb1.conv1 and conv_last must be 4-D convolutions",
			file);
	c->arch = UP_RRDBNET;
	c->num_feat = (int)first->shape[0];
	c->num_grow_ch = (int)grow->shape[0];
	c->out_ch = (int)last->shape[0];
	c->in_ch = 3;
	switch (first->shape[1]) {
	case 3: c->unshuffle = 1; break;
	case 12: c->unshuffle = 2; break;
	case 48: c->unshuffle = 4; break;
	default:
		return errf(err, errlen, "%s: RRDBNet: conv_first takes %lld "
			"channels: want 3, 12 (x2) or 48 (x1) from an RGB "
			"image", file, (long long)first->shape[1]);
	}
	for (c->num_block = 0; find(ld, "body.%d.rdb1.conv1.weight",
	    c->num_block) != NULL; c->num_block++)
		;
	for (c->num_up = 0; c->num_up < UP_MAX_UPS && find(ld,
	    "conv_up%d.weight", c->num_up + 1) != NULL; c->num_up++)
		;
	if (c->out_ch != 3 || c->num_up < 1 ||
	    (1 << c->num_up) < c->unshuffle)
		return errf(err, errlen, "%s: RRDBNet: %d output channels, "
			"%d upsampling convs (conv_up1..) and input folded "
			"by %d: not a 3-channel upscaler of scale >= 1", file,
			c->out_ch, c->num_up, c->unshuffle);
	c->scale = (1 << c->num_up) / c->unshuffle;
	return 0;
}

static int
configure_srvgg(const struct wloader *ld, const char *file,
	struct up_config *c, char *err, size_t errlen)
{
	const struct st_entry *first = find(ld, "body.0.weight", 0),
		*slope = find(ld, "body.1.weight", 0), *last;
	int n, s;

	/* body.0, 2, ... convolutions, 1, 3, ... PReLUs; the last conv
	 * is the one after which nothing follows. */
	for (n = 0; find(ld, "body.%d.weight", n) != NULL; n++)
		;
	last = find(ld, "body.%d.weight", n - 1);
	if (n < 3 || n % 2 == 0 || last->ndim != 4 || first->shape[1] != 3)
		return errf(err, errlen, "%s: SRVGGNet: want body.0 (conv of "
			"3 channels), PReLU and conv pairs, a last conv; "
			"found %d layers", file, n);
	c->arch = UP_SRVGG;
	c->in_ch = c->out_ch = 3;
	c->num_feat = (int)first->shape[0];
	c->num_conv = (n - 3) / 2;
	c->slopes = (int)slope->nelems;
	for (s = 1; s <= 8 && 3 * s * s != last->shape[0]; s *= 2)
		;
	if (s > 8)
		return errf(err, errlen, "%s: SRVGGNet: the last conv gives "
			"%lld channels: want 3 s^2 for a scale s of 1, 2, 4 "
			"or 8", file, (long long)last->shape[0]);
	c->scale = s;
	return 0;
}

/* --- loading ---------------------------------------------------------- */

static int
conv_load(struct wloader *ld, const char *prefix, int cout, int cin,
	struct conv *c)
{
	int64_t dims[] = { [C_OUT] = cout, [C_IN] = cin };

	return wt_load_table(ld, prefix, WT_TABLE(conv_w), dims, 0, c);
}

static void
conv_free(struct conv *c)
{
	wt_free_table(WT_TABLE(conv_w), c);
}

static int
load_rrdb(struct upscaler *u, struct wloader *ld)
{
	const struct up_config *c = &u->cfg;
	int nf = c->num_feat, gc = c->num_grow_ch, b, r, k;
	char p[128];

	u->blocks = calloc((size_t)c->num_block, sizeof(*u->blocks));
	if (u->blocks == NULL)
		return errf(ld->err, ld->errlen, "upscaler: out of memory");
	if (conv_load(ld, "conv_first", nf, 3 * c->unshuffle * c->unshuffle,
	    &u->first))
		return -1;
	for (b = 0; b < c->num_block; b++)
		for (r = 0; r < 3; r++)
			for (k = 0; k < 5; k++) {
				snprintf(p, sizeof(p), "body.%d.rdb%d.conv%d",
					b, r + 1, k + 1);
				if (conv_load(ld, p, k < 4 ? gc : nf,
				    nf + k * gc, &u->blocks[b].r[r].c[k]))
					return -1;
			}
	if (conv_load(ld, "conv_body", nf, nf, &u->body))
		return -1;
	for (k = 0; k < c->num_up; k++) {
		snprintf(p, sizeof(p), "conv_up%d", k + 1);
		if (conv_load(ld, p, nf, nf, &u->up[k]))
			return -1;
	}
	return conv_load(ld, "conv_hr", nf, nf, &u->hr) ||
		conv_load(ld, "conv_last", c->out_ch, nf, &u->last) ? -1 : 0;
}

static int
load_srvgg(struct upscaler *u, struct wloader *ld)
{
	const struct up_config *c = &u->cfg;
	int nf = c->num_feat, n = c->num_conv, i;
	int64_t sl = c->slopes;
	char p[64];

	u->convs = calloc((size_t)n + 2, sizeof(*u->convs));
	u->slopes = calloc((size_t)n + 1, sizeof(*u->slopes));
	if (u->convs == NULL || u->slopes == NULL)
		return errf(ld->err, ld->errlen, "upscaler: out of memory");
	for (i = 0; i < n + 2; i++) {
		snprintf(p, sizeof(p), "body.%d", 2 * i);
		if (conv_load(ld, p, i == n + 1 ? 3 * c->scale * c->scale : nf,
		    i == 0 ? 3 : nf, &u->convs[i]))
			return -1;
		if (i == n + 1)
			break;
		snprintf(p, sizeof(p), "body.%d.weight", 2 * i + 1);
		u->slopes[i] = wt_load(ld, p, 0, 1, &sl);
		if (u->slopes[i] == NULL)
			return -1;
	}
	return 0;
}

int
upscaler_load(struct kiln_rt *rt, const char *path, struct upscaler **out,
	char *err, size_t errlen)
{
	struct upscaler *u;
	struct wloader ld = { rt, NULL, ST_PART_UNET, "upscaler", err, errlen,
		1, NULL, 0 };
	enum up_scheme s;
	char sub[1024];

	*out = NULL;
	u = calloc(1, sizeof(*u));
	if (u == NULL)
		return errf(err, errlen, "%s: out of memory", path);
	u->rt = rt;
	u->f = st_open(path, err, errlen);
	if (u->f == NULL)
		goto bad;
	s = scheme_of(u->f);
	if (s == SCHEME_NONE) {
		errf(err, errlen, "%s: not an upscaler: neither an ESRGAN "
			"RRDBNet (conv_first.weight and body.0.rdb1.conv1."
			"weight, or model.0.weight and model.1.sub.0.RDB1."
			"conv1.0.weight) nor an SRVGGNet (body.0.weight, "
			"body.1.weight)", path);
		goto bad;
	}
	if (index_file(u, s, err, errlen) != 0)
		goto bad;
	ld.index = u->idx;
	ld.nindex = u->nidx;
	if ((s == SCHEME_SRVGG ? configure_srvgg(&ld, path, &u->cfg, err,
	    errlen) : configure_rrdb(&ld, path, &u->cfg, err, errlen)) != 0)
		goto bad;
	if ((s == SCHEME_SRVGG ? load_srvgg(u, &ld) : load_rrdb(u, &ld)) !=
	    0) {
		/* The loader's messages name the tensor, not the file. */
		snprintf(sub, sizeof(sub), "%s", err);
		errf(err, errlen, "%s: %s", path, sub);
		goto bad;
	}
	*out = u;
	return 0;
bad:
	upscaler_free(u);
	return -1;
}

void
upscaler_free(struct upscaler *u)
{
	int i, r, k;
	size_t j;

	if (u == NULL)
		return;
	conv_free(&u->first);
	conv_free(&u->body);
	for (i = 0; i < UP_MAX_UPS; i++)
		conv_free(&u->up[i]);
	conv_free(&u->hr);
	conv_free(&u->last);
	if (u->blocks != NULL)
		for (i = 0; i < u->cfg.num_block; i++)
			for (r = 0; r < 3; r++)
				for (k = 0; k < 5; k++)
					conv_free(&u->blocks[i].r[r].c[k]);
	free(u->blocks);
	if (u->convs != NULL)
		for (i = 0; i < u->cfg.num_conv + 2; i++)
			conv_free(&u->convs[i]);
	if (u->slopes != NULL)
		for (i = 0; i < u->cfg.num_conv + 1; i++)
			kt_free(u->slopes[i]);
	free(u->convs);
	free(u->slopes);
	for (j = 0; u->idx != NULL && j < u->nidx; j++)
		free((char *)u->idx[j].name);
	free(u->idx);
	st_close(u->f);
	free(u);
}

/* --- forward ---------------------------------------------------------- */

/* *y = conv(x), a new tensor; with LeakyReLU(0.2) after it when lrelu. */
static int
conv_new(const struct conv *c, const struct ktensor *x, int lrelu,
	struct ktensor **y)
{
	*y = kt_new4(x->rt, KD_F32, x->ne[0], c->w->ne[0], x->ne[2],
		x->ne[3]);
	if (*y == NULL || op_conv2d(x, c->w, c->b, *y, 1, 1) ||
	    (lrelu && op_leaky_relu(*y, *y, 0.2f))) {
		kt_free(*y);
		*y = NULL;
		return -1;
	}
	return 0;
}

/* A residual dense block: 0.2 conv5(cat(x, x1..x4)) + x, into *y. */
static int
rdb_forward(const struct rdb *d, const struct ktensor *x, struct ktensor **y)
{
	const struct ktensor *cat = x;
	struct ktensor *own = NULL, *t = NULL, *next;
	int k;

	*y = NULL;
	for (k = 0; k < 4; k++) {
		if (conv_new(&d->c[k], cat, 1, &t))
			goto bad;
		next = kt_new4(x->rt, KD_F32, x->ne[0], cat->ne[1] + t->ne[1],
			x->ne[2], x->ne[3]);
		if (next == NULL || op_concat_channels(cat, t, next)) {
			kt_free(next);
			goto bad;
		}
		kt_free(t);
		t = NULL;
		kt_free(own);
		own = next;
		cat = own;
	}
	if (conv_new(&d->c[4], cat, 0, y) || op_scale(*y, 0.2f, *y) ||
	    op_add(*y, x, *y))
		goto bad;
	kt_free(own);
	return 0;
bad:
	kt_free(t);
	kt_free(own);
	kt_free(*y);
	*y = NULL;
	return -1;
}

static int
rrdb_forward(const struct rrdb *b, const struct ktensor *x, struct ktensor **y)
{
	struct ktensor *h = NULL, *h2 = NULL;
	int r;

	*y = NULL;
	for (r = 0; r < 3; r++) {
		if (rdb_forward(&b->r[r], h != NULL ? h : x, &h2))
			goto bad;
		kt_free(h);
		h = h2;
		h2 = NULL;
	}
	if (op_scale(h, 0.2f, h) || op_add(h, x, h))
		goto bad;
	*y = h;
	return 0;
bad:
	kt_free(h);
	return -1;
}

/* Nearest 2x of *x, in place of it. */
static int
up2(struct ktensor **x)
{
	struct ktensor *y = kt_new4((*x)->rt, KD_F32, (*x)->ne[0],
		(*x)->ne[1], 2 * (*x)->ne[2], 2 * (*x)->ne[3]);

	if (y == NULL || op_upsample2x(*x, y)) {
		kt_free(y);
		return -1;
	}
	kt_free(*x);
	*x = y;
	return 0;
}

/* Replaces *x with conv(*x) (and the LeakyReLU). */
static int
conv_step(const struct conv *c, struct ktensor **x, int lrelu)
{
	struct ktensor *y;

	if (conv_new(c, *x, lrelu, &y))
		return -1;
	kt_free(*x);
	*x = y;
	return 0;
}

static int
rrdb_net(struct upscaler *u, const struct ktensor *x, struct ktensor **out)
{
	const struct up_config *c = &u->cfg;
	struct ktensor *in = NULL, *feat = NULL, *h = NULL, *h2 = NULL;
	int q = c->unshuffle, b;

	*out = NULL;
	if (q > 1) {
		in = kt_new4(u->rt, KD_F32, x->ne[0], x->ne[1] * q * q,
			x->ne[2] / q, x->ne[3] / q);
		if (in == NULL || op_pixel_unshuffle(x, in, q))
			goto bad;
	}
	if (conv_new(&u->first, in != NULL ? in : x, 0, &feat))
		goto bad;
	kt_free(in);
	in = NULL;
	for (b = 0; b < c->num_block; b++) {
		if (rrdb_forward(&u->blocks[b], h != NULL ? h : feat, &h2))
			goto bad;
		kt_free(h);
		h = h2;
		h2 = NULL;
	}
	if (conv_step(&u->body, &h, 0) || op_add(feat, h, feat))
		goto bad;
	kt_free(h);
	h = NULL;
	for (b = 0; b < c->num_up; b++)
		if (up2(&feat) || conv_step(&u->up[b], &feat, 1))
			goto bad;
	if (conv_step(&u->hr, &feat, 1) || conv_step(&u->last, &feat, 0))
		goto bad;
	*out = feat;
	return 0;
bad:
	kt_free(in);
	kt_free(feat);
	kt_free(h);
	return -1;
}

static int
srvgg_net(struct upscaler *u, const struct ktensor *x, struct ktensor **out)
{
	const struct up_config *c = &u->cfg;
	struct ktensor *h = NULL, *y = NULL, *base = NULL;
	int i, s;

	*out = NULL;
	for (i = 0; i < c->num_conv + 2; i++) {
		if (conv_new(&u->convs[i], h != NULL ? h : x, 0, &y))
			goto bad;
		kt_free(h);
		h = y;
		y = NULL;
		if (i < c->num_conv + 1 && op_prelu(h, u->slopes[i], h))
			goto bad;
	}
	/* pixel_shuffle(h) + nearest(x, scale), the upsampling by
	 * doublings (the scale is a power of two). */
	y = kt_new4(u->rt, KD_F32, x->ne[0], 3, c->scale * x->ne[2],
		c->scale * x->ne[3]);
	base = kt_new4(u->rt, KD_F32, x->ne[0], x->ne[1], x->ne[2], x->ne[3]);
	if (y == NULL || base == NULL || op_pixel_shuffle(h, y, c->scale) ||
	    op_copy(x, base))
		goto bad;
	for (s = 1; s < c->scale; s *= 2)
		if (up2(&base))
			goto bad;
	if (op_add(y, base, y))
		goto bad;
	kt_free(h);
	kt_free(base);
	*out = y;
	return 0;
bad:
	kt_free(h);
	kt_free(y);
	kt_free(base);
	return -1;
}

static int
check_input(const struct upscaler *u, const struct ktensor *x)
{
	char s[64];
	int q = u->cfg.arch == UP_RRDBNET ? u->cfg.unshuffle : 1;

	if (x->nd != 4 || x->ne[1] != 3 || x->dtype != KD_F32 ||
	    x->ne[2] % q != 0 || x->ne[3] % q != 0)
		return rt_failf(u->rt, "upscaler: input %s, want [N, 3, H, W] "
			"F32 with H and W multiples of %d",
			kt_shape_str(x, s, sizeof(s)), q);
	return 0;
}

static int
run_whole(struct upscaler *u, const struct ktensor *x, struct ktensor **out)
{
	return u->cfg.arch == UP_RRDBNET ? rrdb_net(u, x, out) :
		srvgg_net(u, x, out);
}

int
upscaler_run_tiled(struct upscaler *u, const struct ktensor *x, int tile,
	int overlap, struct ktensor **out)
{
	const struct up_config *c = &u->cfg;
	struct kiln_rt *rt = u->rt;
	struct ktensor *img = NULL, *ws = NULL, *xt = NULL, *t = NULL,
		*core = NULL;
	/* Tiles are counted in cells of q x q pixels so that every tile
	 * folds by the unshuffle factor; sq output pixels a cell. */
	int q = c->arch == UP_RRDBNET ? c->unshuffle : 1, sq = c->scale * q;
	int h, w, T = tile / q, O = overlap / q, th, tw, ny, nx, iy, ix;
	int rc = -1;

	*out = NULL;
	if (check_input(u, x))
		return -1;
	h = (int)x->ne[2] / q;
	w = (int)x->ne[3] / q;
	if (T >= h && T >= w)
		return run_whole(u, x, out);
	if (T < 2 || O < 1 || O > T / 2)
		return rt_failf(rt, "upscaler: tile %d with overlap %d: want "
			"tile >= %d and %d <= overlap <= tile / 2", tile,
			overlap, 2 * q, q);
	th = T < h ? T : h;
	tw = T < w ? T : w;
	ny = tile_count(h, th, O);
	nx = tile_count(w, tw, O);
	img = kt_new4(rt, KD_F32, x->ne[0], c->out_ch, (int64_t)sq * h,
		(int64_t)sq * w);
	ws = kt_new2(rt, KD_F32, (int64_t)sq * h, (int64_t)sq * w);
	core = kt_new4(rt, KD_F32, x->ne[0], c->out_ch, (int64_t)sq * th,
		(int64_t)sq * tw);
	if (img == NULL || ws == NULL || core == NULL || op_fill(img, 0.0f) ||
	    op_fill(ws, 0.0f))
		goto out;
	for (iy = 0; iy < ny; iy++) {
		for (ix = 0; ix < nx; ix++) {
			int y0 = tile_start(iy, ny, h, th),
				x0 = tile_start(ix, nx, w, tw);
			/* Each tile runs with `overlap` more pixels of the
			 * image around it where there are any, so that its
			 * own edges (zero-padded convolutions) fall outside
			 * the part kept; the kept parts blend with ramps
			 * where neighbours overlap, as long as the least
			 * overlap. */
			int cy0 = y0 - O > 0 ? y0 - O : 0,
				cx0 = x0 - O > 0 ? x0 - O : 0,
				cy1 = y0 + th + O < h ? y0 + th + O : h,
				cx1 = x0 + tw + O < w ? x0 + tw + O : w;
			int r = sq * O, ramps[4] = {
				iy > 0 ? r : 0, iy < ny - 1 ? r : 0,
				ix > 0 ? r : 0, ix < nx - 1 ? r : 0 };

			xt = kt_new4(rt, KD_F32, x->ne[0], x->ne[1],
				(int64_t)(cy1 - cy0) * q,
				(int64_t)(cx1 - cx0) * q);
			if (xt == NULL || tile_crop(x, xt, cy0 * q, cx0 * q) ||
			    run_whole(u, xt, &t) || tile_crop(t, core,
			    sq * (y0 - cy0), sq * (x0 - cx0)) ||
			    op_tile_accum(core, img, ws, sq * y0, sq * x0,
			    ramps))
				goto out;
			kt_free(t);
			t = NULL;
			kt_free(xt);
			xt = NULL;
		}
	}
	if (op_tile_norm(img, ws))
		goto out;
	*out = img;
	img = NULL;
	rc = 0;
out:
	kt_free(t);
	kt_free(xt);
	kt_free(core);
	kt_free(ws);
	kt_free(img);
	return rc;
}

size_t
upscaler_bytes(const struct up_config *c, int N, int h, int w)
{
	double P = (double)h * w, n = N, nf = c->num_feat, peak = 0, f;
	double band = OP_CONV_BAND_BYTES / sizeof(float);
	double s2 = (double)c->scale * c->scale;
	int k;

#define PEAK(x) do { f = (x); if (f > peak) peak = f; } while (0)
	if (c->arch == UP_SRVGG) {
		/* Two feature maps and a conv's columns; then the last
		 * conv's output, its shuffle and the upsampled input. */
		PEAK(n * P * (3 + 2 * nf) + fmin(9 * nf * P, band));
		PEAK(n * P * (3 + nf + 3 * s2 * 3) + fmin(9 * nf * P, band));
	} else {
		double gc = c->num_grow_ch, q2 = (double)c->unshuffle *
			c->unshuffle, Pb = P / q2, Pk;

		/* feat, the block's and the dense block's inputs, the two
		 * widest concatenations and a growth map. */
		PEAK(n * P * 3 + n * Pb * (3 * nf + (nf + 3 * gc) +
			(nf + 4 * gc) + gc) + fmin(9 * (nf + 4 * gc) * Pb,
			band));
		for (k = 0, Pk = Pb; k < c->num_up; k++, Pk *= 4)
			PEAK(n * nf * (Pk + 2 * 4 * Pk) + fmin(9 * nf * 4 * Pk,
				band));
		PEAK(n * Pk * (2 * nf + c->out_ch) + fmin(9 * nf * Pk, band));
	}
#undef PEAK
	/* The tiled run's image and weight sum come on top of a tile's. */
	return (size_t)(peak * sizeof(float));
}

int
upscaler_tile_for_budget(const struct up_config *c, int N, size_t budget)
{
	int t;

	/* A tile runs with its context on both sides. */
	for (t = 512; t > 16; t -= 8)
		if (upscaler_bytes(c, N, t + 2 * upscaler_overlap(c, t),
		    t + 2 * upscaler_overlap(c, t)) <= budget)
			return t;
	return 16;
}

int
upscaler_overlap(const struct up_config *c, int tile)
{
	/* SRVGGNet's convolutions see num_conv + 2 pixels around; RRDBNet's
	 * field is far wider but what lies beyond 16 pixels weighs little
	 * in trained models (Real-ESRGAN pads its tiles by 10). */
	int want = c->arch == UP_SRVGG ? c->num_conv + 2 : 16;

	if (want < tile / 4)
		want = tile / 4;
	return want < tile / 2 ? want : tile / 2;
}

int
upscaler_run(struct upscaler *u, const struct ktensor *x, size_t budget,
	struct ktensor **out)
{
	int h, w, t;

	*out = NULL;
	if (check_input(u, x))
		return -1;
	h = (int)x->ne[2];
	w = (int)x->ne[3];
	if (budget == 0 || upscaler_bytes(&u->cfg, (int)x->ne[0], h, w) <=
	    budget)
		return run_whole(u, x, out);
	t = upscaler_tile_for_budget(&u->cfg, (int)x->ne[0], budget);
	return upscaler_run_tiled(u, x, t, upscaler_overlap(&u->cfg, t), out);
}

/* --- whole images ----------------------------------------------------- */

/* Reflection of i into [0, n) (numpy's and torch's 'reflect'). */
static int
reflect(int i, int n)
{
	if (n == 1)
		return 0;
	while (i < 0 || i >= n)
		i = i < 0 ? -i : 2 * (n - 1) - i;
	return i;
}

/* One model run over the RGB8 image *img (w x h), replacing it with the
 * result (*w, *h scaled). */
static int
model_pass(struct upscaler *u, uint8_t **img, int *w, int *h, size_t budget,
	int tile, int overlap, char *err, size_t errlen)
{
	struct kiln_rt *rt = u->rt;
	int q = u->cfg.arch == UP_RRDBNET ? u->cfg.unshuffle : 1,
		s = u->cfg.scale, W = *w, H = *h, pw = (W + q - 1) / q * q,
		ph = (H + q - 1) / q * q, ow = W * s, oh = H * s, ch, yy, xx;
	size_t pp = (size_t)pw * ph, op = (size_t)pw * s * ph * s;
	float *host = NULL;
	uint8_t *res = NULL;
	struct ktensor *x = NULL, *y = NULL;
	int rc = -1;

	host = malloc((pp > op ? pp : op) * 3 * sizeof(float));
	res = malloc((size_t)ow * oh * 3);
	if (host == NULL || res == NULL) {
		errf(err, errlen, "upscaler: out of memory for %dx%d", ow, oh);
		goto out;
	}
	/* Planar [3, ph, pw] in [0, 1], padded by reflection as
	 * Real-ESRGAN pads for its x2 and x1 models. */
	for (ch = 0; ch < 3; ch++)
		for (yy = 0; yy < ph; yy++)
			for (xx = 0; xx < pw; xx++)
				host[((size_t)ch * ph + yy) * pw + xx] =
					(*img)[((size_t)reflect(yy, H) * W +
					reflect(xx, W)) * 3 + ch] / 255.0f;
	x = kt_new4(rt, KD_F32, 1, 3, ph, pw);
	if (x == NULL || kt_upload(x, host) ||
	    (tile > 0 ? upscaler_run_tiled(u, x, tile, overlap > 0 ? overlap :
	    upscaler_overlap(&u->cfg, tile), &y) : upscaler_run(u, x, budget,
	    &y)) ||
	    kt_download(y, host)) {
		errf(err, errlen, "upscaler: %s", rt_error(rt));
		goto out;
	}
	for (ch = 0; ch < 3; ch++)
		for (yy = 0; yy < oh; yy++)
			for (xx = 0; xx < ow; xx++) {
				float v = host[((size_t)ch * ph * s + yy) *
					pw * s + xx];

				v = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
				res[((size_t)yy * ow + xx) * 3 + ch] =
					(uint8_t)lrintf(v * 255.0f);
			}
	free(*img);
	*img = res;
	res = NULL;
	*w = ow;
	*h = oh;
	rc = 0;
out:
	kt_free(x);
	kt_free(y);
	free(host);
	free(res);
	return rc;
}

int
upscaler_upscale_rgb(struct upscaler *u, const uint8_t *rgb, int w, int h,
	int dw, int dh, size_t budget, int tile, int overlap, uint8_t **out,
	char *err, size_t errlen)
{
	uint8_t *img;
	int cw = w, ch = h, pass, rc;

	*out = NULL;
	if (w < 1 || h < 1 || dw < 1 || dh < 1)
		return errf(err, errlen, "upscale: %dx%d to %dx%d: sizes "
			"must be positive", w, h, dw, dh);
	img = malloc((size_t)w * h * 3);
	if (img == NULL)
		return errf(err, errlen, "upscale: out of memory");
	memcpy(img, rgb, (size_t)w * h * 3);
	/* As A1111's Upscaler.upscale: run the model while the image is
	 * smaller than asked (a 4x model twice for 8x), at most 3 times,
	 * stopping when a run changes nothing (a 1x model). */
	for (pass = 0; u != NULL && pass < UP_MAX_PASSES &&
	    (cw < dw || ch < dh) && u->cfg.scale > 1; pass++)
		if (model_pass(u, &img, &cw, &ch, budget, tile, overlap, err,
		    errlen) != 0) {
			free(img);
			return -1;
		}
	if (u != NULL && u->cfg.scale == 1 && (cw < dw || ch < dh) &&
	    model_pass(u, &img, &cw, &ch, budget, tile, overlap, err,
	    errlen) != 0) {
		free(img);
		return -1;
	}
	rc = resample_lanczos_rgb(img, cw, ch, dw, dh, out, err, errlen);
	free(img);
	return rc;
}
