/* lora.c - LoRA files read, resolved against a model's weights and
 * merged into (or taken out of) the device tensors the loaders made. */
#include "lora.h"
#include "names.h"
#include "runtime.h"
#include "tensor.h"
#include "util.h"
#include "weights.h"

#include <json-c/json.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* --- one file ---------------------------------------------------------- */

struct lora_net {
	struct st_file *f;
	struct lora_module *m;		/* sorted by key; keys owned */
	size_t n;
	/* The parsed lora_adapter_metadata ("unet.lora_alpha": 8, ...), or
	 * NULL. */
	struct json_object *peft;
};

enum factor { F_DOWN, F_UP, F_ALPHA };

static const struct {
	const char *suffix;
	enum factor what;
	int peft;		/* -1: either format */
} suffixes[] = {
	{ ".lora_down.weight", F_DOWN, 0 },
	{ ".lora_up.weight", F_UP, 0 },
	{ ".lora_A.weight", F_DOWN, 1 },
	{ ".lora_B.weight", F_UP, 1 },
	{ ".alpha", F_ALPHA, -1 },
};

/* A tensor name for a message: printable ASCII kept, anything else '?',
 * cut at 160 bytes (names come from the file). */
static const char *
qname(char *buf, size_t n, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 4 < n && i < 160; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\'' ? s[i] :
		    '?';
	if (s[i] != '\0' && i + 4 <= n) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

/* Why a tensor that is no down, up or alpha cannot be applied. */
static const char *
unsupported(const char *name)
{
	size_t n = strlen(name);

	if (strstr(name, ".hada_") != NULL)
		return "LoHa (hada_*) is not supported";
	if (strstr(name, ".lokr_") != NULL)
		return "LoKr (lokr_*) is not supported";
	if (strstr(name, ".lora_mid.") != NULL)
		return "a LoRA with a Tucker mid factor (lora_mid) is not "
		    "supported";
	if (strstr(name, "dora_scale") != NULL ||
	    strstr(name, "lora_magnitude_vector") != NULL)
		return "DoRA (dora_scale) is not supported";
	if ((n > 5 && !strcmp(name + n - 5, ".diff")) ||
	    (n > 7 && !strcmp(name + n - 7, ".diff_b")) ||
	    (n > 5 && !strcmp(name + n - 5, ".bias")))
		return "full weight or bias differences are not supported";
	return "not a LoRA factor (.lora_down.weight, .lora_up.weight, "
	    ".alpha, .lora_A.weight, .lora_B.weight)";
}

/* One tensor of the file, by the module it belongs to. */
struct item {
	char *key;
	size_t suffix;		/* index into suffixes */
	const struct st_tensor *t;
};

static int
item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c != 0)
		return c;
	return x->suffix < y->suffix ? -1 : x->suffix > y->suffix;
}

static int
convertible(const struct st_tensor *t)
{
	return t->dtype == ST_F32 || t->dtype == ST_F16 || t->dtype == ST_BF16;
}

/* Checks one module's factors and fills md (key taken over). */
static int
module_check(const char *file, struct lora_module *md, char *err,
    size_t errlen)
{
	const struct st_tensor *d = md->down, *u = md->up;
	char q[200], s1[200], s2[200];

	qname(q, sizeof(q), md->key);
	if (d == NULL || u == NULL)
		return errf(err, errlen, "%s: module '%s' has no %s factor",
		    file, q, d == NULL ? "down (lora_down / lora_A)" :
		    "up (lora_up / lora_B)");
	if (!convertible(d) || !convertible(u))
		return errf(err, errlen, "%s: module '%s': factors of type %s "
		    "(F32, F16 or BF16 only)", file, q,
		    st_dtype_name(convertible(d) ? u->dtype : d->dtype));
	md->rank = d->ndim >= 1 ? d->shape[0] : 0;
	md->out = u->ndim >= 1 ? u->shape[0] : 0;
	if ((d->ndim != 2 && d->ndim != 4) || (u->ndim != 2 && u->ndim != 4) ||
	    md->rank < 1 || md->out < 1 || u->shape[1] != md->rank ||
	    (u->ndim == 4 && (u->shape[2] != 1 || u->shape[3] != 1)) ||
	    d->nelems == 0)
		return errf(err, errlen, "%s: module '%s': down %s and up %s "
		    "are no LoRA's factors ([r, in] or [r, C, kh, kw] and "
		    "[out, r] or [out, r, 1, 1])", file, q,
		    st_shape_text(s1, sizeof(s1), d->shape, d->ndim),
		    st_shape_text(s2, sizeof(s2), u->shape, u->ndim));
	md->in = (int64_t)(d->nelems / (size_t)md->rank);
	return 0;
}

/* Reads a scalar alpha. */
static int
read_alpha(const char *file, const struct st_tensor *t, double *out,
    char *err, size_t errlen)
{
	char q[200];
	float v;

	if (t->nelems != 1 || !convertible(t) ||
	    st_to_f32(t, &v, 1, err, errlen) != 0 || !isfinite(v))
		return errf(err, errlen, "%s: '%s' is not a number (a scalar "
		    "alpha)", file, qname(q, sizeof(q), t->name));
	*out = v;
	return 0;
}

/* Checks the PEFT metadata: an object whose alpha_pattern keys are
 * regular expressions. */
static int
peft_check(const char *file, struct json_object *o, char *err,
    size_t errlen)
{
	regex_t re;
	char *pat;
	size_t len;

	if (!json_object_is_type(o, json_type_object))
		return errf(err, errlen, "%s: lora_adapter_metadata is not a "
		    "JSON object", file);
	json_object_object_foreach(o, k, v) {
		len = strlen(k);
		if (len < 14 || strcmp(k + len - 14, ".alpha_pattern") != 0)
			continue;
		if (!json_object_is_type(v, json_type_object))
			return errf(err, errlen, "%s: lora_adapter_metadata: "
			    "%s is not an object", file, k);
		json_object_object_foreach(v, pk, pv) {
			(void)pv;
			if (asprintf(&pat, "^((.*\\.)?%s)$", pk) < 0)
				return errf(err, errlen, "out of memory");
			if (regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) != 0) {
				free(pat);
				return errf(err, errlen, "%s: "
				    "lora_adapter_metadata: alpha_pattern "
				    "'%.60s' is not a regular expression kiln "
				    "reads", file, pk);
			}
			regfree(&re);
			free(pat);
		}
	}
	return 0;
}

int
lora_net_from_file(struct st_file *f, struct lora_net **out, char *err,
    size_t errlen)
{
	const char *file = st_name(f), *meta;
	struct lora_net *n = NULL;
	struct item *it = NULL;
	struct lora_module *md;
	const struct st_tensor *t;
	size_t count = st_count(f), i, k, ni = 0, len, sl;
	char q[200];
	int rc = -1;

	*out = NULL;
	n = calloc(1, sizeof(*n));
	it = calloc(count + 1, sizeof(*it));
	if (n == NULL || it == NULL) {
		errf(err, errlen, "%s: out of memory", file);
		goto out;
	}
	n->f = f;
	f = NULL;
	if (count == 0) {
		errf(err, errlen, "%s: holds no tensors: not a LoRA", file);
		goto out;
	}
	for (i = 0; i < count; i++) {
		t = st_get(n->f, i);
		len = strlen(t->name);
		for (k = 0; k < ARRAY_LEN(suffixes); k++) {
			sl = strlen(suffixes[k].suffix);
			if (len > sl && !strcmp(t->name + len - sl,
			    suffixes[k].suffix))
				break;
		}
		if (k == ARRAY_LEN(suffixes)) {
			errf(err, errlen, "%s: tensor '%s': %s", file,
			    qname(q, sizeof(q), t->name), unsupported(t->name));
			goto out;
		}
		it[ni].key = strndup(t->name, len - strlen(
		    suffixes[k].suffix));
		if (it[ni].key == NULL) {
			errf(err, errlen, "%s: out of memory", file);
			goto out;
		}
		it[ni].suffix = k;
		it[ni++].t = t;
	}
	qsort(it, ni, sizeof(*it), item_cmp);
	n->m = calloc(ni, sizeof(*n->m));
	if (n->m == NULL) {
		errf(err, errlen, "%s: out of memory", file);
		goto out;
	}
	for (i = 0; i < ni; i = k) {
		int fmt = -1;

		md = &n->m[n->n++];
		md->key = it[i].key;
		it[i].key = NULL;
		for (k = i; k < ni && (k == i || !strcmp(it[k].key,
		    md->key)); k++) {
			int p = suffixes[it[k].suffix].peft;

			if (p >= 0 && fmt >= 0 && p != fmt) {
				errf(err, errlen, "%s: module '%s' mixes kohya "
				    "(lora_down / lora_up) and PEFT (lora_A / "
				    "lora_B) factors", file,
				    qname(q, sizeof(q), md->key));
				goto out;
			}
			if (p >= 0)
				fmt = p;
			switch (suffixes[it[k].suffix].what) {
			case F_DOWN:
				md->down = it[k].t;
				break;
			case F_UP:
				md->up = it[k].t;
				break;
			case F_ALPHA:
				md->has_alpha = 1;
				if (read_alpha(file, it[k].t, &md->alpha, err,
				    errlen) != 0)
					goto out;
				break;
			}
		}
		md->format = fmt == 1 ? LORA_PEFT : LORA_KOHYA;
		if (module_check(file, md, err, errlen) != 0)
			goto out;
	}
	meta = st_metadata(n->f, "lora_adapter_metadata");
	if (meta != NULL) {
		n->peft = json_tokener_parse(meta);
		if (n->peft == NULL) {
			errf(err, errlen, "%s: lora_adapter_metadata is not "
			    "JSON", file);
			goto out;
		}
		if (peft_check(file, n->peft, err, errlen) != 0)
			goto out;
	}
	*out = n;
	n = NULL;
	rc = 0;
out:
	if (it != NULL)
		for (i = 0; i < ni; i++)
			free(it[i].key);
	free(it);
	lora_net_free(n);
	st_close(f);
	return rc;
}

int
lora_net_open(const char *path, struct lora_net **out, char *err,
    size_t errlen)
{
	struct st_file *f = st_open(path, err, errlen);

	*out = NULL;
	if (f == NULL)
		return -1;
	return lora_net_from_file(f, out, err, errlen);
}

void
lora_net_free(struct lora_net *n)
{
	size_t i;

	if (n == NULL)
		return;
	for (i = 0; i < n->n; i++)
		free((char *)n->m[i].key);
	free(n->m);
	json_object_put(n->peft);
	st_close(n->f);
	free(n);
}

const char *
lora_net_name(const struct lora_net *n)
{
	return st_name(n->f);
}

size_t
lora_net_count(const struct lora_net *n)
{
	return n->n;
}

const struct lora_module *
lora_net_module(const struct lora_net *n, size_t i)
{
	return i < n->n ? &n->m[i] : NULL;
}

/* The metadata's "<component>.<field>", or NULL. */
static struct json_object *
peft_field(const struct lora_net *n, const char *component,
    const char *field)
{
	struct json_object *v;
	char key[128];

	if (n->peft == NULL || snprintf_checked(key, sizeof(key), "%s.%s",
	    component, field) != 0 ||
	    !json_object_object_get_ex(n->peft, key, &v))
		return NULL;
	return v;
}

static int
is_number(struct json_object *v)
{
	return v != NULL && (json_object_is_type(v, json_type_int) ||
	    json_object_is_type(v, json_type_double));
}

double
lora_module_scale(const struct lora_net *n, const struct lora_module *md,
    const char *component, const char *module)
{
	struct json_object *a, *pat, *rs;
	double alpha, r = (double)md->rank;
	regex_t re;
	char *p;
	int hit;

	if (md->has_alpha)
		return md->alpha / r;
	if (md->format == LORA_KOHYA)
		return 1.0;
	a = peft_field(n, component, "lora_alpha");
	if (!is_number(a))
		return 1.0;
	alpha = json_object_get_double(a);
	pat = peft_field(n, component, "alpha_pattern");
	if (pat != NULL && json_object_is_type(pat, json_type_object)) {
		json_object_object_foreach(pat, k, v) {
			if (!is_number(v) || asprintf(&p, "^((.*\\.)?%s)$", k) <
			    0)
				continue;
			hit = regcomp(&re, p, REG_EXTENDED | REG_NOSUB) == 0;
			free(p);
			if (!hit)
				continue;
			hit = regexec(&re, module, 0, NULL, 0) == 0;
			regfree(&re);
			if (hit) {
				alpha = json_object_get_double(v);
				break;
			}
		}
	}
	rs = peft_field(n, component, "use_rslora");
	if (rs != NULL && json_object_get_boolean(rs))
		return alpha / sqrt(r);
	return alpha / r;
}

/* --- a model's patchable weights by every spelling ------------------- */

struct ix_key {
	char *key;
	enum st_part part;
	const struct st_entry *e;	/* NULL: two weights share the key */
};

struct lora_index {
	struct ix_key *k;
	size_t n, cap;
};

const char *
lora_component(enum st_part part)
{
	switch (part) {
	case ST_PART_UNET:
		return "unet";
	case ST_PART_TEXT:
		return "text_encoder";
	case ST_PART_TEXT2:
		return "text_encoder_2";
	default:
		break;
	}
	return "?";
}

/* Appends prefix + module (with '.' as '_' when flat). */
static int
ix_add(struct lora_index *ix, const char *prefix, const char *module,
    size_t mlen, int flat, enum st_part part, const struct st_entry *e)
{
	struct ix_key *nk;
	size_t pl = strlen(prefix), i;
	char *s;

	if (ix->n == ix->cap) {
		size_t cap = ix->cap ? 2 * ix->cap : 1024;

		nk = realloc(ix->k, cap * sizeof(*nk));
		if (nk == NULL)
			return -1;
		ix->k = nk;
		ix->cap = cap;
	}
	s = malloc(pl + mlen + 1);
	if (s == NULL)
		return -1;
	memcpy(s, prefix, pl);
	for (i = 0; i < mlen; i++)
		s[pl + i] = flat && module[i] == '.' ? '_' : module[i];
	s[pl + mlen] = '\0';
	ix->k[ix->n].key = s;
	ix->k[ix->n].part = part;
	ix->k[ix->n++].e = e;
	return 0;
}

static int
ix_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ix_key *)a)->key,
	    ((const struct ix_key *)b)->key);
}

/* A number after prefix in name ("down_blocks.3." -> 3), or -1. */
static long
num_after(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);
	char *end;
	long v;

	if (strncmp(name, prefix, n) != 0 || name[n] < '0' || name[n] > '9')
		return -1;
	v = strtol(name + n, &end, 10);
	return *end == '.' && v < 1000 ? v : -1;
}

/* layers_per_block and the up levels with attention, from the names:
 * what nm_unet_to_ldm needs. */
static void
unet_layout(const struct st_model *m, int *layers, unsigned *up_attn)
{
	const struct st_entry *e;
	size_t i;
	long j;

	*layers = 0;
	*up_attn = 0;
	for (i = 0; (e = st_model_entry(m, ST_PART_UNET, i)) != NULL; i++) {
		if ((j = num_after(e->name, "down_blocks.0.resnets.")) >= 0 &&
		    j + 1 > *layers)
			*layers = (int)(j + 1);
		if ((j = num_after(e->name, "up_blocks.")) >= 0 && j < 32 &&
		    strncmp(strchr(e->name + 10, '.'), ".attentions.", 12) ==
		    0)
			*up_attn |= 1u << j;
	}
}

int
lora_index_new(const struct st_model *m, struct lora_index **out, char *err,
    size_t errlen)
{
	static const enum st_part parts[] = { ST_PART_TEXT, ST_PART_TEXT2,
	    ST_PART_UNET };
	struct lora_index *ix;
	const struct st_entry *e;
	char ldm[NM_NAME_MAX];
	size_t i, j, w, len;
	unsigned up_attn;
	int layers, p, sdxl = st_model_has_part(m, ST_PART_TEXT2), bad = 0;

	*out = NULL;
	ix = calloc(1, sizeof(*ix));
	if (ix == NULL)
		return errf(err, errlen, "out of memory");
	unet_layout(m, &layers, &up_attn);
	for (p = 0; p < (int)ARRAY_LEN(parts) && !bad; p++)
		for (i = 0; (e = st_model_entry(m, parts[p], i)) != NULL &&
		    !bad; i++) {
			len = strlen(e->name);
			if ((e->ndim != 2 && e->ndim != 4) || e->nelems == 0 ||
			    len < 8 || strcmp(e->name + len - 7, ".weight") != 0)
				continue;
			len -= 7;
			bad |= ix_add(ix, parts[p] == ST_PART_UNET ? "unet." :
			    parts[p] == ST_PART_TEXT ? "text_encoder." :
			    "text_encoder_2.", e->name, len, 0, parts[p], e);
			switch (parts[p]) {
			case ST_PART_UNET:
				bad |= ix_add(ix, "lora_unet_", e->name, len,
				    1, parts[p], e);
				if (nm_unet_to_ldm(e->name, layers, up_attn,
				    ldm, sizeof(ldm)) == 1 &&
				    strcmp(ldm, e->name) != 0)
					bad |= ix_add(ix, "lora_unet_", ldm,
					    strlen(ldm) - 7, 1, parts[p], e);
				break;
			case ST_PART_TEXT:
				/* SDXL's CLIP-L is lora_te1_, and lora_te_
				 * as diffusers takes it. */
				bad |= ix_add(ix, "lora_te_", e->name, len, 1,
				    parts[p], e);
				if (sdxl)
					bad |= ix_add(ix, "lora_te1_", e->name,
					    len, 1, parts[p], e);
				break;
			default:
				bad |= ix_add(ix, "lora_te2_", e->name, len, 1,
				    parts[p], e);
				break;
			}
		}
	if (bad) {
		lora_index_free(ix);
		return errf(err, errlen, "out of memory");
	}
	qsort(ix->k, ix->n, sizeof(*ix->k), ix_cmp);
	/* One entry per key; a key two weights share names neither. */
	for (i = 0, w = 0; i < ix->n; i = j) {
		for (j = i + 1; j < ix->n && !strcmp(ix->k[j].key,
		    ix->k[i].key); j++) {
			if (ix->k[j].e != ix->k[i].e)
				ix->k[i].e = NULL;
			free(ix->k[j].key);
		}
		ix->k[w++] = ix->k[i];
	}
	ix->n = w;
	*out = ix;
	return 0;
}

void
lora_index_free(struct lora_index *ix)
{
	size_t i;

	if (ix == NULL)
		return;
	for (i = 0; i < ix->n; i++)
		free(ix->k[i].key);
	free(ix->k);
	free(ix);
}

static const struct ix_key *
ix_find(const struct lora_index *ix, const char *key)
{
	struct ix_key k = { .key = (char *)key };

	return bsearch(&k, ix->k, ix->n, sizeof(*ix->k), ix_cmp);
}

int
lora_resolve(const struct lora_index *ix, const struct lora_net *n,
    double text, double unet, struct lora_target **out, size_t *count,
    char *err, size_t errlen)
{
	const char *file = lora_net_name(n);
	const struct lora_module *md, *miss = NULL;
	const struct ix_key *k;
	struct lora_target *t;
	size_t i, nt = 0, missing = 0;
	char q[200], module[NM_NAME_MAX], s1[200];
	int64_t cols;

	*out = NULL;
	*count = 0;
	t = calloc(n->n + 1, sizeof(*t));
	if (t == NULL)
		return errf(err, errlen, "%s: out of memory", file);
	for (i = 0; i < n->n; i++) {
		md = &n->m[i];
		k = ix_find(ix, md->key);
		if (k == NULL) {
			if (miss == NULL)
				miss = md;
			missing++;
			continue;
		}
		qname(q, sizeof(q), md->key);
		if (k->e == NULL) {
			free(t);
			return errf(err, errlen, "%s: module '%s' names two "
			    "weights of this model", file, q);
		}
		cols = (int64_t)(k->e->nelems / (size_t)k->e->shape[0]);
		if (md->out != k->e->shape[0] || md->in != cols) {
			free(t);
			return errf(err, errlen, "%s: module '%s' does not fit "
			    "the model's %s: its factors give [%lld, %lld] "
			    "(rank %lld), the weight is %s", file, q,
			    k->e->name, (long long)md->out, (long long)md->in,
			    (long long)md->rank, st_shape_text(s1, sizeof(s1),
			    k->e->shape, k->e->ndim));
		}
		snprintf(module, sizeof(module), "%.*s",
		    (int)(strlen(k->e->name) - 7), k->e->name);
		t[nt].part = k->part;
		t[nt].e = k->e;
		t[nt].md = md;
		t[nt++].scale = (k->part == ST_PART_UNET ? unet : text) *
		    lora_module_scale(n, md, lora_component(k->part), module);
	}
	if (missing > 0) {
		qname(q, sizeof(q), miss->key);
		free(t);
		if (missing == n->n)
			return errf(err, errlen, "%s: none of its %zu modules "
			    "('%s', ...) matches a weight of this model: a "
			    "LoRA for another kind of model?", file, n->n, q);
		return errf(err, errlen, "%s: module '%s' matches no weight "
		    "of this model (%zu of its %zu modules do not)", file, q,
		    missing, n->n);
	}
	*out = t;
	*count = nt;
	return 0;
}

/* --- merging ------------------------------------------------------------ */

/* One LoRA of the merged set, and the file it came from as it was. */
struct merged {
	char *path;
	double text, unet;
	struct stat st;
};

struct lora_state {
	struct kiln_rt *rt;
	const struct st_model *m;
	struct wt_registry *reg;
	struct lora_index *ix;
	struct merged *set;
	int nset;
	struct wt_record *patched;	/* copies: the registry may sort */
	size_t npatched;
	/* Putting weights back failed: what is patched is not what set
	 * says, so no set counts as merged until a restore succeeds. */
	int dirty;
};

int
lora_state_new(struct kiln_rt *rt, const struct st_model *m,
    struct wt_registry *reg, struct lora_state **out, char *err,
    size_t errlen)
{
	struct lora_state *s;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return errf(err, errlen, "out of memory");
	s->rt = rt;
	s->m = m;
	s->reg = reg;
	if (lora_index_new(m, &s->ix, err, errlen) != 0) {
		free(s);
		return -1;
	}
	*out = s;
	return 0;
}

static void
set_clear(struct lora_state *s)
{
	int i;

	for (i = 0; i < s->nset; i++)
		free(s->set[i].path);
	free(s->set);
	s->set = NULL;
	s->nset = 0;
}

void
lora_state_free(struct lora_state *s)
{
	if (s == NULL)
		return;
	set_clear(s);
	free(s->patched);
	lora_index_free(s->ix);
	free(s);
}

size_t
lora_state_patched(const struct lora_state *s)
{
	return s->npatched;
}

/* Puts every patched weight back. Returns 0, or -1 with err, the ones
 * not put back still listed. */
static int
restore(struct lora_state *s, char *err, size_t errlen)
{
	size_t i, left = 0;
	int rc = 0;

	for (i = 0; i < s->npatched; i++) {
		if (rc == 0 && wt_reupload(s->rt, &s->patched[i], NULL, err,
		    errlen) == 0)
			continue;
		rc = -1;
		s->patched[left++] = s->patched[i];
	}
	s->npatched = left;
	if (rc == 0) {
		set_clear(s);
		s->dirty = 0;
	} else {
		s->dirty = 1;
	}
	return rc;
}

/* Whether specs are the merged set, files unchanged. */
static int
same_set(const struct lora_state *s, const struct lora_spec *specs, int n,
    const struct stat *st)
{
	int i;

	if (n != s->nset)
		return 0;
	for (i = 0; i < n; i++) {
		const struct merged *g = &s->set[i];

		if (strcmp(g->path, specs[i].path) != 0 ||
		    g->text != specs[i].text || g->unet != specs[i].unet ||
		    g->st.st_dev != st[i].st_dev ||
		    g->st.st_ino != st[i].st_ino ||
		    g->st.st_size != st[i].st_size ||
		    g->st.st_mtim.tv_sec != st[i].st_mtim.tv_sec ||
		    g->st.st_mtim.tv_nsec != st[i].st_mtim.tv_nsec)
			return 0;
	}
	return 1;
}

static int
target_cmp(const void *a, const void *b)
{
	const struct lora_target *x = a, *y = b;

	if (x->part != y->part)
		return x->part < y->part ? -1 : 1;
	return strcmp(x->e->name, y->e->name);
}

/* Four floats at a time: GCC's -O2 leaves the plain loop scalar (its
 * cost model will not add an epilogue), which made merging an SD 1.5
 * LoRA several times slower. Each element still gets one multiply and
 * one add, in the same order as the scalar tail. */
typedef float v4f __attribute__((vector_size(16)));

/* row[0..n) += a * x[0..n). */
static void
axpy(float *restrict row, const float *restrict x, float a, size_t n)
{
	v4f va = { a, a, a, a }, r, v;
	size_t c = 0;

	for (; c + 4 <= n; c += 4) {
		memcpy(&r, row + c, sizeof(r));
		memcpy(&v, x + c, sizeof(v));
		r += va * v;
		memcpy(row + c, &r, sizeof(r));
	}
	for (; c < n; c++)
		row[c] += a * x[c];
}

/* d [out, in] += scale * up [out, r] @ down [r, in], in float32. */
static int
add_product(const struct lora_target *t, float *d, char *err, size_t errlen)
{
	const struct lora_module *md = t->md;
	size_t R = (size_t)md->rank, O = (size_t)md->out, I = (size_t)md->in;
	size_t o, r;
	float *up = malloc(O * R * sizeof(float));
	float *down = malloc(R * I * sizeof(float));
	int rc = -1;

	if (up == NULL || down == NULL) {
		errf(err, errlen, "out of memory");
		goto out;
	}
	if (st_to_f32(md->up, up, O * R, err, errlen) != 0 ||
	    st_to_f32(md->down, down, R * I, err, errlen) != 0)
		goto out;
	for (o = 0; o < O; o++)
		for (r = 0; r < R; r++)
			axpy(d + o * I, down + r * I,
			    (float)(t->scale * up[o * R + r]), I);
	rc = 0;
out:
	free(up);
	free(down);
	return rc;
}

/* Merges the sorted targets t[0..n-1] (several may patch one weight:
 * their patches add up). Returns 0, or -1 with err (what was patched
 * stays listed in s->patched). */
static int
merge(struct lora_state *s, const struct lora_target *t, size_t n,
    char *err, size_t errlen)
{
	const struct wt_record *w;
	struct wt_record *np;
	size_t i, j, k, cols;
	float *d = NULL;
	int rc = -1;

	np = realloc(s->patched, (s->npatched + n + 1) * sizeof(*np));
	if (np == NULL)
		return errf(err, errlen, "out of memory");
	s->patched = np;
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && t[j].part == t[i].part &&
		    t[j].e == t[i].e; j++)
			;
		/* Not on the device: a text layer the outputs skip, a part
		 * not loaded (kiln-render unet). */
		w = wt_registry_find(s->reg, t[i].part, t[i].e->name);
		if (w == NULL)
			continue;
		free(d);
		d = calloc(t[i].e->nelems, sizeof(float));
		if (d == NULL) {
			errf(err, errlen, "out of memory");
			goto out;
		}
		for (k = i; k < j; k++)
			if (add_product(&t[k], d, err, errlen) != 0)
				goto out;
		cols = t[i].e->nelems / (size_t)t[i].e->shape[0];
		if (wt_reupload(s->rt, w, d + (size_t)w->r0 * cols, err,
		    errlen) != 0)
			goto out;
		s->patched[s->npatched++] = *w;
	}
	rc = 0;
out:
	free(d);
	return rc;
}

int
lora_state_set(struct lora_state *s, const struct lora_spec *specs, int n,
    char *err, size_t errlen)
{
	struct lora_net **nets = NULL;
	struct lora_target *all = NULL, *t;
	struct stat *st = NULL;
	struct merged *set = NULL;
	size_t nall = 0, nt;
	char why[1024];
	int k, rc = -1;

	if (n < 0)
		return errf(err, errlen, "LoRA: %d files", n);
	st = calloc((size_t)n + 1, sizeof(*st));
	nets = calloc((size_t)n + 1, sizeof(*nets));
	set = calloc((size_t)n + 1, sizeof(*set));
	if (st == NULL || nets == NULL || set == NULL) {
		errf(err, errlen, "out of memory");
		goto out;
	}
	for (k = 0; k < n; k++)
		if (stat(specs[k].path, &st[k]) != 0)
			memset(&st[k], 0, sizeof(st[k]));
	if (!s->dirty && same_set(s, specs, n, st)) {
		rc = 0;
		goto out;
	}
	/* Everything that can be checked before a weight changes. */
	for (k = 0; k < n; k++) {
		if (!isfinite(specs[k].text) || !isfinite(specs[k].unet)) {
			errf(err, errlen, "%s: the multiplier is not a number",
			    specs[k].path);
			goto out;
		}
		if (lora_net_open(specs[k].path, &nets[k], err, errlen) != 0 ||
		    lora_resolve(s->ix, nets[k], specs[k].text,
		    specs[k].unet, &t, &nt, err, errlen) != 0)
			goto out;
		if (nt > 0) {
			struct lora_target *na = realloc(all, (nall + nt) *
			    sizeof(*na));

			if (na == NULL) {
				free(t);
				errf(err, errlen, "out of memory");
				goto out;
			}
			all = na;
			memcpy(all + nall, t, nt * sizeof(*t));
			nall += nt;
		}
		free(t);
		set[k].path = strdup(specs[k].path);
		if (set[k].path == NULL) {
			errf(err, errlen, "out of memory");
			goto out;
		}
		set[k].text = specs[k].text;
		set[k].unet = specs[k].unet;
		set[k].st = st[k];
	}
	if (restore(s, err, errlen) != 0)
		goto out;
	if (nall > 0)
		qsort(all, nall, sizeof(*all), target_cmp);
	if (merge(s, all, nall, err, errlen) != 0) {
		/* Back to no LoRAs; the first message is the one to tell. */
		if (restore(s, why, sizeof(why)) != 0 &&
		    strlen(err) + 1 < errlen)
			errf(err + strlen(err), errlen - strlen(err), " (and "
			    "putting the weights back: %s)", why);
		set_clear(s);
		goto out;
	}
	s->set = set;
	s->nset = n;
	set = NULL;
	rc = 0;
out:
	if (set != NULL)
		for (k = 0; k < n; k++)
			free(set[k].path);
	free(set);
	for (k = 0; nets != NULL && k < n; k++)
		lora_net_free(nets[k]);
	free(nets);
	free(all);
	free(st);
	return rc;
}
