/* safetensors_model.c - a whole model's parts (text encoders, UNet, VAE)
 * from a single-file checkpoint or a diffusers folder, each indexed by
 * canonical name. */
#include "safetensors_int.h"
#include "names.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The longest config.json we read: real ones are about 1 KB. */
#define CONFIG_MAX	(1u << 20)

struct part {
	const struct st_file *file;	/* NULL: the part is missing */
	struct st_entry *e;		/* sorted by name; names owned */
	size_t n;
	char *config;
	enum st_text_flavour flavour;
};

struct st_model {
	enum st_layout layout;
	struct st_file *files[ST_PART__MAX];	/* owned */
	struct part parts[ST_PART__MAX];
};

static const char *const part_names[ST_PART__MAX] = {
	[ST_PART_TEXT] = "text", [ST_PART_TEXT2] = "text2",
	[ST_PART_UNET] = "unet", [ST_PART_VAE] = "vae",
	[ST_PART_CONTROL] = "controlnet",
};

/* For "cannot tell the ..." messages. */
static const char *const part_words[ST_PART__MAX] = {
	[ST_PART_TEXT] = "text encoder",
	[ST_PART_TEXT2] = "second text encoder",
	[ST_PART_UNET] = "UNet", [ST_PART_VAE] = "VAE",
	[ST_PART_CONTROL] = "ControlNet",
};

/* Subfolder names of a diffusers pipeline and their weight files, best
 * first. */
static const struct {
	const char *dir;
	const char *files[2];
} diffusers_parts[ST_PART__MAX] = {
	[ST_PART_TEXT] = { "text_encoder",
	    { "model.safetensors", "model.fp16.safetensors" } },
	[ST_PART_TEXT2] = { "text_encoder_2",
	    { "model.safetensors", "model.fp16.safetensors" } },
	[ST_PART_UNET] = { "unet", { "diffusion_pytorch_model.safetensors",
	    "diffusion_pytorch_model.fp16.safetensors" } },
	[ST_PART_VAE] = { "vae", { "diffusion_pytorch_model.safetensors",
	    "diffusion_pytorch_model.fp16.safetensors" } },
	[ST_PART_CONTROL] = { "controlnet", {
	    "diffusion_pytorch_model.safetensors",
	    "diffusion_pytorch_model.fp16.safetensors" } },
};

/* Where each part lives in a single-file (CompVis / SGM) checkpoint and
 * how its names convert. */
static const struct {
	enum st_part part;
	const char *prefix;
	enum nm_scheme scheme;
	enum st_text_flavour flavour;
} ldm_prefixes[] = {
	{ ST_PART_TEXT, "cond_stage_model.transformer.", NM_DIFFUSERS,
	    ST_TEXT_HF_CLIP },
	{ ST_PART_TEXT, "cond_stage_model.model.", NM_OPENCLIP,
	    ST_TEXT_OPENCLIP },
	/* SDXL base: CLIP ViT-L (HF names) and OpenCLIP bigG; the refiner
	 * has bigG alone, as embedders.0. */
	{ ST_PART_TEXT, "conditioner.embedders.0.transformer.", NM_DIFFUSERS,
	    ST_TEXT_HF_CLIP },
	{ ST_PART_TEXT2, "conditioner.embedders.1.model.", NM_OPENCLIP,
	    ST_TEXT_OPENCLIP },
	{ ST_PART_TEXT2, "conditioner.embedders.0.model.", NM_OPENCLIP,
	    ST_TEXT_OPENCLIP },
	{ ST_PART_UNET, "model.diffusion_model.", NM_LDM_UNET, ST_TEXT_NONE },
	{ ST_PART_VAE, "first_stage_model.", NM_LDM_VAE, ST_TEXT_NONE },
	/* lllyasviel's ControlNet files: the UNet's encoder under LDM
	 * names plus input_hint_block, zero_convs, middle_block_out. */
	{ ST_PART_CONTROL, "control_model.", NM_LDM_UNET, ST_TEXT_NONE },
};

#define N_LDM_PREFIXES (sizeof(ldm_prefixes) / sizeof(ldm_prefixes[0]))

const char *
st_part_name(enum st_part part)
{
	return (unsigned)part < ST_PART__MAX ? part_names[part] : "?";
}

static int
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Returns a malloc'ed "a/b", or NULL when memory runs out. */
static char *
path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), n;
	char *s;

	if (__builtin_add_overflow(la, lb, &n) ||
	    __builtin_add_overflow(n, 2, &n))
		return NULL;
	s = malloc(n);
	if (s == NULL)
		return NULL;
	memcpy(s, a, la);
	s[la] = '/';
	memcpy(s + la + 1, b, lb + 1);
	return s;
}

static int
is_dir(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int
is_file(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Reads a small text file whole. Returns 0 with *out (malloc'ed,
 * NUL-terminated; NULL when the file does not exist), or -1 with a
 * message. */
static int
read_text(const char *path, char **out, char *err, size_t errlen)
{
	struct stat sb;
	char *s = NULL;
	size_t got = 0;
	ssize_t k;
	int fd, rc = -1;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT)
			return 0;
		st_err(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		st_err(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if ((uint64_t)sb.st_size > CONFIG_MAX) {
		st_err(err, errlen, "%s: larger than %u bytes", path,
		    CONFIG_MAX);
		goto out;
	}
	s = malloc((size_t)sb.st_size + 1);
	if (s == NULL) {
		st_err(err, errlen, "%s: out of memory", path);
		goto out;
	}
	while (got < (size_t)sb.st_size) {
		k = read(fd, s + got, (size_t)sb.st_size - got);
		if (k == -1 && errno == EINTR)
			continue;
		if (k <= 0) {
			st_err(err, errlen, "%s: cannot read: %s", path,
			    k == 0 ? "file shrank" : strerror(errno));
			goto out;
		}
		got += (size_t)k;
	}
	s[got] = '\0';
	*out = s;
	s = NULL;
	rc = 0;
out:
	free(s);
	close(fd);
	return rc;
}

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct st_entry *)a)->name,
	    ((const struct st_entry *)b)->name);
}

/* Appends t (or rows of it, or its transpose) to the part as name. */
static int
add_entry(struct part *pt, const char *name, const struct st_tensor *t,
    const struct nm_out *o)
{
	struct st_entry *e = &pt->e[pt->n];

	e->name = strdup(name);
	if (e->name == NULL)
		return -1;
	pt->n++;
	e->t = t;
	e->ndim = t->ndim;
	memcpy(e->shape, t->shape, sizeof(e->shape));
	e->nelems = t->nelems;
	if (o == NULL)
		return 0;
	e->row0 = o->row0;
	e->rows = o->rows;
	e->transposed = o->transposed;
	/* names.c hands out rows only of a tensor with shape[0] >= 3 and
	 * transposes only 2-D ones. */
	if (e->rows > 0) {
		e->nelems = t->nelems / (size_t)t->shape[0] * (size_t)e->rows;
		e->shape[0] = e->rows;
	}
	if (e->transposed) {
		e->shape[0] = t->shape[1];
		e->shape[1] = t->shape[0];
	}
	return 0;
}

/* Indexes the tensors of f under prefix (stripped) as part p, by the
 * canonical names the scheme's conversion gives them: the names are
 * scanned for what the conversion needs first (names.h), then each is
 * converted, then the index is sorted and checked for two tensors that
 * became one name. */
static int
index_part(struct st_model *m, enum st_part p, const struct st_file *f,
    const char *prefix, enum nm_scheme scheme, char *err, size_t errlen)
{
	struct part *pt = &m->parts[p];
	struct nm_params np;
	struct nm_out out[NM_MAX_OUT];
	const struct st_tensor *t;
	size_t i, n = 0, plen = strlen(prefix);
	char why[256], q1[ST_QNAME_MAX], q2[ST_QNAME_MAX], q3[ST_QNAME_MAX];
	int k, j;

	nm_init(&np, scheme);
	for (i = 0; i < st_count(f); i++)
		if (starts_with(f->t[i].name, prefix)) {
			nm_scan(&np, f->t[i].name + plen);
			n++;
		}
	nm_finish(&np);
	pt->e = calloc(n * NM_MAX_OUT + 1, sizeof(*pt->e));
	if (pt->e == NULL)
		goto oom;
	pt->file = f;
	for (i = 0; i < st_count(f); i++) {
		t = &f->t[i];
		if (!starts_with(t->name, prefix))
			continue;
		why[0] = '\0';
		k = nm_convert(&np, t->name + plen, t->ndim, t->shape, out, why,
		    sizeof(why));
		if (k < 0) {
			st_err(err, errlen, "%s: tensor '%s' (%s names): %s",
			    f->name, st_qname(q1, sizeof(q1), t->name),
			    nm_scheme_name(scheme), why);
			return -1;
		}
		if (k == 0 && add_entry(pt, t->name + plen, t, NULL) == -1)
			goto oom;
		for (j = 0; j < k; j++)
			if (add_entry(pt, out[j].name, t, &out[j]) == -1)
				goto oom;
	}
	qsort(pt->e, pt->n, sizeof(*pt->e), entry_cmp);
	for (i = 1; i < pt->n; i++)
		if (strcmp(pt->e[i - 1].name, pt->e[i].name) == 0) {
			st_err(err, errlen, "%s: tensors '%s' and '%s' both "
			    "become '%s'", f->name, st_qname(q1, sizeof(q1),
			    pt->e[i - 1].t->name), st_qname(q2, sizeof(q2),
			    pt->e[i].t->name), st_qname(q3, sizeof(q3),
			    pt->e[i].name));
			return -1;
		}
	return 0;
oom:
	st_err(err, errlen, "%s: out of memory", f->name);
	return -1;
}

/* Which part a diffusers component folder holds: by its name, else by its
 * config.json (already read into config, or NULL). Returns the part or
 * ST_PART__MAX when neither tells. */
static enum st_part
part_of_folder(const char *dir, const char *config)
{
	struct json_object *root, *v, *x;
	enum st_part p = ST_PART__MAX;
	const char *base, *s;
	size_t len, i;
	int k;

	len = strlen(dir);
	while (len > 1 && dir[len - 1] == '/')
		len--;
	for (base = dir + len; base > dir && base[-1] != '/'; base--)
		;
	for (k = 0; k < ST_PART__MAX; k++)
		if (strlen(diffusers_parts[k].dir) == (size_t)(dir + len - base)
		    && memcmp(base, diffusers_parts[k].dir,
		    (size_t)(dir + len - base)) == 0)
			return (enum st_part)k;
	if (config == NULL || (root = json_tokener_parse(config)) == NULL)
		return p;
	if (json_object_object_get_ex(root, "_class_name", &v) &&
	    (s = json_object_get_string(v)) != NULL) {
		if (strcmp(s, "UNet2DConditionModel") == 0)
			p = ST_PART_UNET;
		else if (strcmp(s, "AutoencoderKL") == 0)
			p = ST_PART_VAE;
		else if (strcmp(s, "ControlNetModel") == 0)
			p = ST_PART_CONTROL;
	}
	if (json_object_object_get_ex(root, "architectures", &v) &&
	    json_object_is_type(v, json_type_array))
		for (i = 0; i < json_object_array_length(v); i++) {
			x = json_object_array_get_idx(v, i);
			s = json_object_get_string(x);
			if (s != NULL && starts_with(s, "CLIPTextModel"))
				p = ST_PART_TEXT;
		}
	json_object_put(root);
	return p;
}

/* Opens part p of a diffusers layout from folder dir. */
static int
open_part_folder(struct st_model *m, enum st_part p, const char *dir,
    char *config, char *err, size_t errlen)
{
	char *path = NULL;
	int i, rc = -1;

	m->parts[p].config = config;
	for (i = 0; i < 2; i++) {
		free(path);
		path = path_join(dir, diffusers_parts[p].files[i]);
		if (path == NULL) {
			st_err(err, errlen, "%s: out of memory", dir);
			goto out;
		}
		if (is_file(path))
			break;
	}
	if (i == 2) {
		free(path);
		path = path_join(dir, "diffusion_pytorch_model.safetensors."
		    "index.json");
		st_err(err, errlen, "%s: no %s (nor its .fp16 variant)%s", dir,
		    diffusers_parts[p].files[0], path != NULL && is_file(path)
		    ? ": sharded weights are not supported" : "");
		goto out;
	}
	m->files[p] = st_open(path, err, errlen);
	if (m->files[p] == NULL)
		goto out;
	if (index_part(m, p, m->files[p], "", NM_DIFFUSERS, err,
	    errlen) == -1)
		goto out;
	if (p == ST_PART_TEXT || p == ST_PART_TEXT2)
		m->parts[p].flavour = ST_TEXT_HF_CLIP;
	rc = 0;
out:
	free(path);
	return rc;
}

/* A folder holding one component: text_encoder/, unet/ or vae/. */
static int
open_component_folder(struct st_model *m, const char *dir, char *err,
    size_t errlen)
{
	char *cpath, *config = NULL;
	enum st_part p;

	cpath = path_join(dir, "config.json");
	if (cpath == NULL) {
		st_err(err, errlen, "%s: out of memory", dir);
		return -1;
	}
	if (read_text(cpath, &config, err, errlen) == -1) {
		free(cpath);
		return -1;
	}
	free(cpath);
	p = part_of_folder(dir, config);
	if (p == ST_PART__MAX) {
		free(config);
		st_err(err, errlen, "%s: not a model: no text_encoder/, unet/ "
		    "or vae/ inside, and neither its name nor a config.json "
		    "says which part it holds", dir);
		return -1;
	}
	m->layout = ST_LAYOUT_DIFFUSERS;
	return open_part_folder(m, p, dir, config, err, errlen);
}

static int
open_diffusers(struct st_model *m, const char *dir, char *err,
    size_t errlen)
{
	char *sub, *cpath, *config;
	int k, found = 0;

	m->layout = ST_LAYOUT_DIFFUSERS;
	for (k = 0; k < ST_PART__MAX; k++) {
		sub = path_join(dir, diffusers_parts[k].dir);
		if (sub == NULL) {
			st_err(err, errlen, "%s: out of memory", dir);
			return -1;
		}
		if (!is_dir(sub)) {
			free(sub);
			continue;
		}
		found++;
		config = NULL;
		cpath = path_join(sub, "config.json");
		if (cpath == NULL ||
		    read_text(cpath, &config, err, errlen) == -1 ||
		    open_part_folder(m, (enum st_part)k, sub, config, err,
		    errlen) == -1) {
			if (cpath == NULL)
				st_err(err, errlen, "%s: out of memory", dir);
			free(cpath);
			free(sub);
			return -1;
		}
		free(cpath);
		free(sub);
	}
	if (found == 0)
		return open_component_folder(m, dir, err, errlen);
	return 0;
}

/* Indexes the parts of single-file checkpoint m->files[0] by their
 * prefixes. Returns 1, 0 when it has none of them, or -1 with a
 * message. */
static int
index_single_file(struct st_model *m, char *err, size_t errlen)
{
	const struct st_file *f = m->files[0];
	size_t i, k, counts[N_LDM_PREFIXES] = { 0 }, owner[ST_PART__MAX];
	enum st_part p;
	int any = 0;

	m->layout = ST_LAYOUT_LDM;
	for (i = 0; i < st_count(f); i++)
		for (k = 0; k < N_LDM_PREFIXES; k++)
			if (starts_with(f->t[i].name, ldm_prefixes[k].prefix))
				counts[k]++;
	for (k = 0; k < ST_PART__MAX; k++)
		owner[k] = N_LDM_PREFIXES;
	for (k = 0; k < N_LDM_PREFIXES; k++) {
		if (counts[k] == 0)
			continue;
		p = ldm_prefixes[k].part;
		if (owner[p] != N_LDM_PREFIXES) {
			st_err(err, errlen, "%s: holds both %s* and %s* "
			    "tensors: cannot tell the %s", f->name,
			    ldm_prefixes[owner[p]].prefix,
			    ldm_prefixes[k].prefix, part_words[p]);
			return -1;
		}
		owner[p] = k;
	}
	for (k = 0; k < N_LDM_PREFIXES; k++) {
		if (counts[k] == 0)
			continue;
		any = 1;
		p = ldm_prefixes[k].part;
		if (index_part(m, p, f, ldm_prefixes[k].prefix,
		    ldm_prefixes[k].scheme, err, errlen) == -1)
			return -1;
		m->parts[p].flavour = ldm_prefixes[k].flavour;
	}
	return any;
}

static int
open_single_file(struct st_model *m, const char *path, char *err,
    size_t errlen)
{
	char *dir = NULL, *slash, *cpath = NULL, *config = NULL;
	enum st_part p;
	int rc = -1;

	m->files[0] = st_open(path, err, errlen);
	if (m->files[0] == NULL)
		return -1;
	rc = index_single_file(m, err, errlen);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	/* lllyasviel's ControlNet 1.1 files: control_model.'s names with
	 * the prefix left out. */
	if (st_find(m->files[0], "zero_convs.0.0.weight") != NULL) {
		m->layout = ST_LAYOUT_LDM;
		return index_part(m, ST_PART_CONTROL, m->files[0], "",
		    NM_LDM_UNET, err, errlen) == -1 ? -1 : 0;
	}
	rc = -1;

	/* No CompVis prefixes: maybe one diffusers component's weights,
	 * given by file name (unet/diffusion_pytorch_model.safetensors), or
	 * a ControlNet in diffusers names, which is often shared as a lone
	 * file (diffusers_xl_canny_mid.safetensors). */
	dir = strdup(path);
	if (dir == NULL) {
		st_err(err, errlen, "%s: out of memory", path);
		goto out;
	}
	slash = strrchr(dir, '/');
	if (slash == NULL) {
		free(dir);
		dir = strdup(".");
	} else {
		slash[slash == dir] = '\0';	/* keep "/" itself */
	}
	if (dir == NULL || (cpath = path_join(dir, "config.json")) == NULL) {
		st_err(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (read_text(cpath, &config, err, errlen) == -1)
		goto out;
	p = part_of_folder(dir, config);
	if (st_find(m->files[0], "controlnet_cond_embedding.conv_in.weight")
	    != NULL)
		p = ST_PART_CONTROL;
	if (p == ST_PART__MAX) {
		st_err(err, errlen, "%s: not a single-file SD checkpoint (no "
		    "cond_stage_model., conditioner.embedders., "
		    "model.diffusion_model., first_stage_model. or "
		    "control_model. tensors) and not inside a text_encoder/, "
		    "unet/ or vae/ folder", path);
		goto out;
	}
	m->layout = ST_LAYOUT_DIFFUSERS;
	m->files[p] = m->files[0];
	if (p != 0)
		m->files[0] = NULL;
	m->parts[p].config = config;
	config = NULL;
	if (index_part(m, p, m->files[p], "", NM_DIFFUSERS, err,
	    errlen) == -1)
		goto out;
	if (p == ST_PART_TEXT || p == ST_PART_TEXT2)
		m->parts[p].flavour = ST_TEXT_HF_CLIP;
	rc = 0;
out:
	free(config);
	free(cpath);
	free(dir);
	return rc;
}

struct st_model *
st_model_open(const char *path, char *err, size_t errlen)
{
	struct st_model *m;
	struct stat sb;
	int rc;

	if (stat(path, &sb) == -1) {
		st_err(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		st_err(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	if (S_ISDIR(sb.st_mode))
		rc = open_diffusers(m, path, err, errlen);
	else
		rc = open_single_file(m, path, err, errlen);
	if (rc == -1) {
		st_model_close(m);
		return NULL;
	}
	return m;
}

struct st_model *
st_model_open_mem(const void *buf, size_t len, const char *name, char *err,
    size_t errlen)
{
	struct st_model *m;
	int rc;

	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		st_err(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	m->files[0] = st_open_mem(buf, len, name, err, errlen);
	rc = m->files[0] == NULL ? -1 : index_single_file(m, err, errlen);
	if (rc == 0)
		st_err(err, errlen, "%s: not a single-file SD checkpoint (no "
		    "cond_stage_model., conditioner.embedders., "
		    "model.diffusion_model. or first_stage_model. tensors)",
		    name);
	if (rc <= 0) {
		st_model_close(m);
		return NULL;
	}
	return m;
}

void
st_model_close(struct st_model *m)
{
	size_t i;
	int k;

	if (m == NULL)
		return;
	for (k = 0; k < ST_PART__MAX; k++) {
		st_close(m->files[k]);
		for (i = 0; i < m->parts[k].n; i++)
			free((char *)m->parts[k].e[i].name);
		free(m->parts[k].e);
		free(m->parts[k].config);
	}
	free(m);
}

enum st_layout
st_model_layout(const struct st_model *m)
{
	return m->layout;
}

enum st_text_flavour
st_model_text_flavour(const struct st_model *m)
{
	return m->parts[ST_PART_TEXT].flavour;
}

enum st_text_flavour
st_model_part_flavour(const struct st_model *m, enum st_part part)
{
	return (unsigned)part < ST_PART__MAX ? m->parts[part].flavour :
	    ST_TEXT_NONE;
}

int
st_model_has_part(const struct st_model *m, enum st_part part)
{
	return (unsigned)part < ST_PART__MAX && m->parts[part].file != NULL;
}

const struct st_entry *
st_model_find(const struct st_model *m, enum st_part part, const char *name)
{
	const struct part *pt;
	size_t lo = 0, hi, mid;
	int c;

	if ((unsigned)part >= ST_PART__MAX)
		return NULL;
	pt = &m->parts[part];
	hi = pt->n;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(name, pt->e[mid].name);
		if (c == 0)
			return &pt->e[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

size_t
st_model_count(const struct st_model *m, enum st_part part)
{
	return (unsigned)part < ST_PART__MAX ? m->parts[part].n : 0;
}

const struct st_entry *
st_model_entry(const struct st_model *m, enum st_part part, size_t i)
{
	if ((unsigned)part >= ST_PART__MAX || i >= m->parts[part].n)
		return NULL;
	return &m->parts[part].e[i];
}

const char *
st_model_config(const struct st_model *m, enum st_part part)
{
	return (unsigned)part < ST_PART__MAX ? m->parts[part].config : NULL;
}

const struct st_file *
st_model_file(const struct st_model *m, enum st_part part)
{
	return (unsigned)part < ST_PART__MAX ? m->parts[part].file : NULL;
}

/* A string setting of config.json text cj is want. */
static int
config_is(const char *cj, const char *key, const char *want)
{
	struct json_object *root, *v;
	const char *s;
	int yes = 0;

	if (cj == NULL || (root = json_tokener_parse(cj)) == NULL)
		return 0;
	if (json_object_object_get_ex(root, key, &v) &&
	    (s = json_object_get_string(v)) != NULL && strcmp(s, want) == 0)
		yes = 1;
	json_object_put(root);
	return yes;
}

/* The second dim of a part's 2-D tensor, or 0 when there is none. */
static int64_t
width_of(const struct st_model *m, enum st_part part, const char *name)
{
	const struct st_entry *e = st_model_find(m, part, name);

	return e != NULL && e->ndim == 2 ? e->shape[1] : 0;
}

enum st_family
st_model_family(const struct st_model *m)
{
	int64_t ctx = width_of(m, ST_PART_UNET, "mid_block.attentions.0."
	    "transformer_blocks.0.attn2.to_k.weight");
	int64_t text = width_of(m, ST_PART_TEXT,
	    "text_model.embeddings.token_embedding.weight");

	if (st_model_has_part(m, ST_PART_TEXT2) ||
	    st_model_find(m, ST_PART_UNET, "add_embedding.linear_1.weight") !=
	    NULL || config_is(st_model_config(m, ST_PART_UNET),
	    "addition_embed_type", "text_time"))
		return ST_FAMILY_SDXL;
	if (st_model_text_flavour(m) == ST_TEXT_OPENCLIP || ctx == 1024 ||
	    (ctx == 0 && text == 1024))
		return ST_FAMILY_SD2;
	if (st_model_has_part(m, ST_PART_UNET) ||
	    st_model_has_part(m, ST_PART_TEXT))
		return ST_FAMILY_SD1;
	return ST_FAMILY_UNKNOWN;
}

const char *
st_family_name(enum st_family f)
{
	switch (f) {
	case ST_FAMILY_SD1:
		return "sd1";
	case ST_FAMILY_SD2:
		return "sd2";
	case ST_FAMILY_SDXL:
		return "sdxl";
	case ST_FAMILY_UNKNOWN:
		break;
	}
	return "unknown";
}
