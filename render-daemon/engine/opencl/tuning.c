/* tuning.c - reads, validates, applies and writes per-device GEMM tuning
 * files (see tuning.h for the format's contract). */
#include "tuning.h"
#include "ops.h"
#include "runtime_cl.h"
#include "util.h"

#include <clblast_c.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TUNING_FORMAT 1
#define MAX_FILE_BYTES (1 << 20)

const char *
tuning_blast_strerror(int st)
{
	switch (st) {
#define E(x) case x: return #x
	E(CLBlastSuccess);
	E(CLBlastOpenCLCompilerNotAvailable);
	E(CLBlastTempBufferAllocFailure);
	E(CLBlastOpenCLOutOfResources);
	E(CLBlastOpenCLOutOfHostMemory);
	E(CLBlastOpenCLBuildProgramFailure);
	E(CLBlastInvalidValue);
	E(CLBlastInvalidKernel);
	E(CLBlastInvalidLocalNumDimensions);
	E(CLBlastInvalidLocalThreadsTotal);
	E(CLBlastInvalidLocalThreadsDim);
	E(CLBlastInvalidBufferSize);
	E(CLBlastNotImplemented);
	E(CLBlastInsufficientMemoryTemp);
	E(CLBlastInvalidOverrideKernel);
	E(CLBlastMissingOverrideParameter);
	E(CLBlastInvalidLocalMemUsage);
	E(CLBlastNoHalfPrecision);
	E(CLBlastNoDoublePrecision);
	E(CLBlastDatabaseError);
	E(CLBlastUnknownError);
	E(CLBlastUnexpectedError);
#undef E
	default:
		return "unknown CLBlast status";
	}
}

/* The file name part: the device name with anything outside
 * [A-Za-z0-9._-] replaced, so a name never makes a path of its own. */
static void
sanitize(const char *name, char *out, size_t n)
{
	size_t i;

	for (i = 0; name[i] != '\0' && i + 1 < n; i++) {
		unsigned char c = (unsigned char)name[i];

		out[i] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '-') ? (char)c : '_';
	}
	out[i] = '\0';
	if (i == 0)
		snprintf(out, n, "device");
}

/* rt's tuning directory (engine_opts.tuning_dir) into out; -1 when
 * there is none or it does not fit. */
static int
tuning_dir(const struct kiln_rt *rt, char *out, size_t n)
{
	const char *dir = rt->opts.tuning_dir;
	int w;

	if (dir[0] == '\0')
		return -1;
	w = snprintf(out, n, "%s", dir);
	return w >= 0 && (size_t)w < n ? 0 : -1;
}

int
tuning_path(const struct kiln_rt *rt, char *out, size_t n)
{
	char dir[PATH_MAX], file[sizeof(rt->device_name)];
	int w;

	if (tuning_dir(rt, dir, sizeof(dir)) != 0)
		return -1;
	sanitize(rt->device_name, file, sizeof(file));
	w = snprintf(out, n, "%s/%s.json", dir, file);
	return w >= 0 && (size_t)w < n ? 0 : -1;
}

struct tuning_kernel *
tuning_kernel(struct tuning *t, const char *name)
{
	struct tuning_kernel *k;
	size_t i;

	for (i = 0; i < t->nkernels; i++)
		if (!strcmp(t->kernel[i].name, name))
			return &t->kernel[i];
	if (t->nkernels == TUNING_MAX_KERNELS ||
	    strlen(name) >= TUNING_NAME_MAX)
		return NULL;
	k = &t->kernel[t->nkernels++];
	memset(k, 0, sizeof(*k));
	snprintf(k->name, sizeof(k->name), "%s", name);
	k->precision = 32;
	return k;
}

int
tuning_set(struct tuning_kernel *k, const char *param, size_t value)
{
	size_t i;

	for (i = 0; i < k->nparams; i++)
		if (!strcmp(k->param[i], param)) {
			k->value[i] = value;
			return 0;
		}
	if (k->nparams == TUNING_MAX_PARAMS ||
	    strlen(param) >= TUNING_NAME_MAX)
		return -1;
	snprintf(k->param[k->nparams], TUNING_NAME_MAX, "%s", param);
	k->value[k->nparams++] = value;
	return 0;
}

size_t
tuning_get(const struct tuning_kernel *k, const char *param, size_t def)
{
	size_t i;

	for (i = 0; i < k->nparams; i++)
		if (!strcmp(k->param[i], param))
			return k->value[i];
	return def;
}

/* Names are CLBlast identifiers: letters, digits and '_'. */
static int
valid_name(const char *s)
{
	size_t i;

	if (*s == '\0' || strlen(s) >= TUNING_NAME_MAX)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

static int
valid_precision(int64_t p)
{
	return p == 16 || p == 32 || p == 64 || p == 3232 || p == 6464;
}

/* Reads a whole (small) file. Returns 0, 1 when it does not exist, or -1
 * with rt_error() set. */
static int
slurp(struct kiln_rt *rt, const char *path, char **out)
{
	struct stat sb;
	char *buf = NULL;
	FILE *f;
	int rc = -1;

	*out = NULL;
	f = fopen(path, "rb");
	if (f == NULL) {
		if (errno == ENOENT)
			return 1;
		return rt_failf(rt, "%s: %s", path, strerror(errno));
	}
	if (fstat(fileno(f), &sb) != 0) {
		rt_failf(rt, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (sb.st_size > MAX_FILE_BYTES) {
		rt_failf(rt, "%s: malformed tuning file: larger than %d bytes",
			path, MAX_FILE_BYTES);
		goto out;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (buf == NULL) {
		rt_failf(rt, "%s: out of memory", path);
		goto out;
	}
	if (fread(buf, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size ||
	    ferror(f)) {
		rt_failf(rt, "%s: read failed", path);
		goto out;
	}
	buf[sb.st_size] = '\0';
	*out = buf;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	fclose(f);
	return rc;
}

/* One "clblast" member: {"precision": 32, "params": {"KWG": 16, ...}}. */
static int
parse_kernel(struct kiln_rt *rt, const char *path, const char *name,
	struct json_object *o, struct tuning *t)
{
	struct json_object *prec, *params;
	struct json_object_iterator it, end;
	struct tuning_kernel *k;
	int64_t p;

	if (!valid_name(name))
		return rt_failf(rt, "%s: malformed tuning file: kernel name "
			"\"%.40s\" is not a CLBlast kernel name", path, name);
	if (!json_object_is_type(o, json_type_object))
		return rt_failf(rt, "%s: malformed tuning file: clblast.%s is "
			"not an object", path, name);
	for (p = 0; p < (int64_t)t->nkernels; p++)
		if (!strcmp(t->kernel[p].name, name))
			return rt_failf(rt, "%s: malformed tuning file: "
				"clblast.%s appears twice", path, name);
	k = tuning_kernel(t, name);
	if (k == NULL)
		return rt_failf(rt, "%s: malformed tuning file: more than %d "
			"kernels", path, TUNING_MAX_KERNELS);
	p = 32;
	if (json_object_object_get_ex(o, "precision", &prec)) {
		if (!json_object_is_type(prec, json_type_int) ||
		    !valid_precision(p = json_object_get_int64(prec)))
			return rt_failf(rt, "%s: malformed tuning file: "
				"clblast.%s.precision must be 16, 32, 64, 3232 "
				"or 6464", path, name);
	}
	k->precision = (int)p;
	if (!json_object_object_get_ex(o, "params", &params) ||
	    !json_object_is_type(params, json_type_object) ||
	    json_object_object_length(params) == 0)
		return rt_failf(rt, "%s: malformed tuning file: clblast.%s."
			"params must be a non-empty object", path, name);
	it = json_object_iter_begin(params);
	end = json_object_iter_end(params);
	for (; !json_object_iter_equal(&it, &end);
	    json_object_iter_next(&it)) {
		const char *pn = json_object_iter_peek_name(&it);
		struct json_object *v = json_object_iter_peek_value(&it);
		int64_t iv;

		if (!valid_name(pn))
			return rt_failf(rt, "%s: malformed tuning file: "
				"clblast.%s.params has a bad name \"%.40s\"",
				path, name, pn);
		if (!json_object_is_type(v, json_type_int) ||
		    (iv = json_object_get_int64(v)) < 0 || iv > INT_MAX)
			return rt_failf(rt, "%s: malformed tuning file: "
				"clblast.%s.params.%s must be a non-negative "
				"integer", path, name, pn);
		if (tuning_set(k, pn, (size_t)iv) != 0)
			return rt_failf(rt, "%s: malformed tuning file: "
				"clblast.%s has more than %d parameters", path,
				name, TUNING_MAX_PARAMS);
	}
	return 0;
}

/* The optional "engine_gemm" member: {"mr": 6, "vw": 16, "nv": 4,
 * "tile": 2048, "kslice": 1536}, every key present, values the kernel
 * takes (rt_gemm_check). */
static int
parse_engine_gemm(struct kiln_rt *rt, const char *path,
	struct json_object *root, struct tuning *t)
{
	static const char *const keys[] = { "mr", "vw", "nv", "tile",
		"kslice" };
	uint32_t *fields[] = { &t->gemm.mr, &t->gemm.vw, &t->gemm.nv,
		&t->gemm.tile_kb, &t->gemm.kslice };
	struct json_object *o, *v;
	char msg[200];
	size_t i;

	if (!json_object_object_get_ex(root, "engine_gemm", &o))
		return 0;
	if (!json_object_is_type(o, json_type_object) ||
	    json_object_object_length(o) != 5)
		return rt_failf(rt, "%s: malformed tuning file: \"engine_gemm\" "
			"must be an object of mr, vw, nv, tile and kslice",
			path);
	for (i = 0; i < 5; i++) {
		int64_t iv;

		if (!json_object_object_get_ex(o, keys[i], &v) ||
		    !json_object_is_type(v, json_type_int) ||
		    (iv = json_object_get_int64(v)) < 1 || iv > 65536)
			return rt_failf(rt, "%s: malformed tuning file: "
				"engine_gemm.%s must be an integer from 1 to "
				"65536", path, keys[i]);
		*fields[i] = (uint32_t)iv;
	}
	if (rt_gemm_check(&t->gemm, msg, sizeof(msg)) != 0)
		return rt_failf(rt, "%s: malformed tuning file: engine_gemm: "
			"%s", path, msg);
	t->have_gemm = 1;
	return 0;
}

static int
get_string(struct kiln_rt *rt, const char *path, struct json_object *root,
	const char *key, char *out, size_t n)
{
	struct json_object *v;
	const char *s;

	if (!json_object_object_get_ex(root, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return rt_failf(rt, "%s: malformed tuning file: \"%s\" must be "
			"a string", path, key);
	s = json_object_get_string(v);
	if (strlen(s) >= n)
		return rt_failf(rt, "%s: malformed tuning file: \"%s\" is too "
			"long", path, key);
	snprintf(out, n, "%s", s);
	return 0;
}

int
tuning_load(struct kiln_rt *rt, const char *path, struct tuning *t)
{
	struct json_tokener *tok = NULL;
	struct json_object *root = NULL, *cb;
	struct json_object_iterator it, end;
	enum json_tokener_error jerr;
	char *text = NULL;
	int rc;

	memset(t, 0, sizeof(*t));
	rc = slurp(rt, path, &text);
	if (rc != 0)
		return rc;
	rc = -1;
	tok = json_tokener_new();
	if (tok == NULL) {
		rt_failf(rt, "%s: out of memory", path);
		goto out;
	}
	root = json_tokener_parse_ex(tok, text, (int)strlen(text) + 1);
	jerr = json_tokener_get_error(tok);
	if (root == NULL || jerr != json_tokener_success) {
		rt_failf(rt, "%s: malformed tuning file: not JSON (%s at "
			"byte %zu)", path, json_tokener_error_desc(jerr),
			json_tokener_get_parse_end(tok));
		goto out;
	}
	if (!json_object_is_type(root, json_type_object)) {
		rt_failf(rt, "%s: malformed tuning file: not a JSON object",
			path);
		goto out;
	}
	if (get_string(rt, path, root, "device", t->device,
	    sizeof(t->device)) != 0 || get_string(rt, path, root, "driver",
	    t->driver, sizeof(t->driver)) != 0)
		goto out;
	if (parse_engine_gemm(rt, path, root, t) != 0)
		goto out;
	if (!json_object_object_get_ex(root, "clblast", &cb) ||
	    !json_object_is_type(cb, json_type_object)) {
		rt_failf(rt, "%s: malformed tuning file: \"clblast\" must be an "
			"object of kernels", path);
		goto out;
	}
	it = json_object_iter_begin(cb);
	end = json_object_iter_end(cb);
	for (; !json_object_iter_equal(&it, &end);
	    json_object_iter_next(&it))
		if (parse_kernel(rt, path, json_object_iter_peek_name(&it),
		    json_object_iter_peek_value(&it), t) != 0)
			goto out;
	rc = 0;
out:
	json_object_put(root);
	if (tok != NULL)
		json_tokener_free(tok);
	free(text);
	return rc;
}

int
tuning_override(struct kiln_rt *rt, const struct tuning *t)
{
	size_t i, j;

	for (i = 0; i < t->nkernels; i++) {
		const struct tuning_kernel *k = &t->kernel[i];
		const char *names[TUNING_MAX_PARAMS];
		CLBlastStatusCode st;

		for (j = 0; j < k->nparams; j++)
			names[j] = k->param[j];
		st = CLBlastOverrideParameters(cl_of(rt)->device, k->name,
			(CLBlastPrecision)k->precision, k->nparams, names,
			k->value);
		if (st != CLBlastSuccess)
			return rt_failf(rt, "CLBlastOverrideParameters(%s, "
				"precision %d, %zu parameters): %s (%d)",
				k->name, k->precision, k->nparams,
				tuning_blast_strerror(st), (int)st);
	}
	return 0;
}

int
tuning_apply(struct kiln_rt *rt, int *applied)
{
	char path[PATH_MAX + 300];
	struct tuning *t;
	int rc = -1, r;

	*applied = TUNING_NONE;
	if (tuning_path(rt, path, sizeof(path)) != 0)
		return 0;	/* nowhere to look: nothing tuned */
	t = malloc(sizeof(*t));
	if (t == NULL)
		return rt_failf(rt, "%s: out of memory", path);
	r = tuning_load(rt, path, t);
	if (r != 0) {
		rc = r == 1 ? 0 : -1;
		goto out;
	}
	/* Parameters are only known good for the device and driver they
	 * were validated on; anything else runs CLBlast's defaults. */
	if (strcmp(t->device, rt->device_name) != 0 ||
	    strcmp(t->driver, rt->driver_version) != 0) {
		*applied = TUNING_STALE;
		rc = 0;
		goto out;
	}
	if (tuning_override(rt, t) != 0) {
		char msg[sizeof(rt->err)];

		snprintf(msg, sizeof(msg), "%s", rt_error(rt));
		rt_failf(rt, "%s: tuning file rejected by CLBlast: %s", path,
			msg);
		goto out;
	}
	if (t->have_gemm) {
		rt->gemm = t->gemm;
		rt->gemm_tuned = 1;
	}
	*applied = TUNING_APPLIED;
	rc = 0;
out:
	free(t);
	return rc;
}

static struct json_object *
to_json(const struct kiln_rt *rt, const struct tuning *t,
	struct json_object *info)
{
	struct json_object *root = json_object_new_object(), *cb = NULL;
	size_t i, j;

	if (root == NULL)
		return NULL;
	if (json_object_object_add(root, "kiln_tuning",
	    json_object_new_int(TUNING_FORMAT)) != 0 ||
	    json_object_object_add(root, "device",
	    json_object_new_string(rt->device_name)) != 0 ||
	    json_object_object_add(root, "platform",
	    json_object_new_string(rt->platform_name)) != 0 ||
	    json_object_object_add(root, "driver",
	    json_object_new_string(rt->driver_version)) != 0)
		goto bad;
	if (t->have_gemm) {
		struct json_object *g = json_object_new_object();

		if (g == NULL || json_object_object_add(root, "engine_gemm",
		    g) != 0) {
			json_object_put(g);
			goto bad;
		}
		if (json_object_object_add(g, "mr",
		    json_object_new_int((int)t->gemm.mr)) != 0 ||
		    json_object_object_add(g, "vw",
		    json_object_new_int((int)t->gemm.vw)) != 0 ||
		    json_object_object_add(g, "nv",
		    json_object_new_int((int)t->gemm.nv)) != 0 ||
		    json_object_object_add(g, "tile",
		    json_object_new_int((int)t->gemm.tile_kb)) != 0 ||
		    json_object_object_add(g, "kslice",
		    json_object_new_int((int)t->gemm.kslice)) != 0)
			goto bad;
	}
	cb = json_object_new_object();
	if (cb == NULL || json_object_object_add(root, "clblast", cb) != 0) {
		json_object_put(cb);
		goto bad;
	}
	for (i = 0; i < t->nkernels; i++) {
		const struct tuning_kernel *k = &t->kernel[i];
		struct json_object *ko = json_object_new_object(), *po;

		if (ko == NULL || json_object_object_add(cb, k->name, ko) != 0) {
			json_object_put(ko);
			goto bad;
		}
		po = json_object_new_object();
		if (po == NULL || json_object_object_add(ko, "precision",
		    json_object_new_int(k->precision)) != 0 ||
		    json_object_object_add(ko, "params", po) != 0) {
			json_object_put(po);
			goto bad;
		}
		for (j = 0; j < k->nparams; j++)
			if (json_object_object_add(po, k->param[j],
			    json_object_new_int64((int64_t)k->value[j])) != 0)
				goto bad;
	}
	if (info != NULL && json_object_object_add(root, "tuner",
	    json_object_get(info)) != 0) {
		json_object_put(info);
		goto bad;
	}
	return root;
bad:
	json_object_put(root);
	return NULL;
}

int
tuning_save(struct kiln_rt *rt, const struct tuning *t,
	struct json_object *info)
{
	char path[PATH_MAX + 300], dir[PATH_MAX], tmp[PATH_MAX + 340];
	struct json_object *root = NULL;
	const char *text;
	size_t len;
	FILE *f = NULL;
	int rc = -1;

	tmp[0] = '\0';
	if (tuning_dir(rt, dir, sizeof(dir)) != 0 ||
	    tuning_path(rt, path, sizeof(path)) != 0)
		return rt_failf(rt, "no directory for tuning files: set "
			"KILN_TUNING_DIR, XDG_CONFIG_HOME or HOME");
	if (mkdir_p(dir) != 0)
		return rt_failf(rt, "%s: cannot create: %s", dir,
			strerror(errno));
	root = to_json(rt, t, info);
	if (root == NULL)
		return rt_failf(rt, "%s: out of memory", path);
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
		JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text == NULL) {
		rt_failf(rt, "%s: out of memory", path);
		goto out;
	}
	len = strlen(text);
	if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid())
	    >= (int)sizeof(tmp)) {
		rt_failf(rt, "%s: path too long", path);
		goto out;
	}
	/* Temp file + rename: a reader never sees half a file. */
	f = fopen(tmp, "w");
	if (f == NULL) {
		rt_failf(rt, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fwrite(text, 1, len, f) != len || fputc('\n', f) == EOF ||
	    fflush(f) != 0 || fsync(fileno(f)) != 0) {
		rt_failf(rt, "%s: write failed: %s", tmp, strerror(errno));
		goto out;
	}
	if (fclose(f) != 0) {
		f = NULL;
		rt_failf(rt, "%s: write failed: %s", tmp, strerror(errno));
		goto out;
	}
	f = NULL;
	if (rename(tmp, path) != 0) {
		rt_failf(rt, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	if (rc != 0 && tmp[0] != '\0')
		unlink(tmp);
	json_object_put(root);
	return rc;
}

/* --- GEMM shapes and measurements ------------------------------------ */

double
tuning_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int
tuning_shape_parse(const char *s, struct tuning_shape *out)
{
	unsigned long long v[3];
	const char *p = s;
	char *end;
	int i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < 3; i++) {
		if (*p < '0' || *p > '9')
			return -1;
		errno = 0;
		v[i] = strtoull(p, &end, 10);
		if (errno != 0 || v[i] == 0 || v[i] > (1u << 20))
			return -1;
		p = end;
		if (i < 2 && *p++ != 'x')
			return -1;
	}
	if (*p == ':') {
		if ((p[1] != 'n' && p[1] != 't') ||
		    (p[2] != 'n' && p[2] != 't') || p[3] != '\0')
			return -1;
		out->ta = p[1] == 't';
		out->tb = p[2] == 't';
	} else if (*p != '\0') {
		return -1;
	}
	out->m = (size_t)v[0];
	out->n = (size_t)v[1];
	out->k = (size_t)v[2];
	return 0;
}

int
tuning_shapes_parse(const char *list, struct tuning_shape *out, size_t max)
{
	char item[64];
	size_t n = 0, len;
	const char *p = list, *comma;

	while (*p != '\0') {
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (len == 0 || len >= sizeof(item) || n == max)
			return -1;
		memcpy(item, p, len);
		item[len] = '\0';
		if (tuning_shape_parse(item, &out[n]) != 0)
			return -1;
		n++;
		p += len;
		if (*p == ',' && *++p == '\0')
			return -1;
	}
	return n > 0 ? (int)n : -1;
}

const char *
tuning_shape_str(const struct tuning_shape *s, char *buf, size_t n)
{
	if (s->ta || s->tb)
		snprintf(buf, n, "%zux%zux%zu:%c%c", s->m, s->n, s->k,
			s->ta ? 't' : 'n', s->tb ? 't' : 'n');
	else
		snprintf(buf, n, "%zux%zux%zu", s->m, s->n, s->k);
	return buf;
}

double
tuning_shape_flop(const struct tuning_shape *s)
{
	return 2.0 * (double)s->m * (double)s->n * (double)s->k;
}

/* xorshift64*: reproducible inputs without touching rand()'s state. */
static float
rnd(uint64_t *st)
{
	uint64_t x = *st;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*st = x;
	return (float)((x * 0x2545F4914F6CDD1DULL) >> 40) /
		(float)(1 << 23) - 1.0f;
}

/* A problem on the host and the device: A and B as they lie in memory
 * (transposed when ta / tb; [batch, rows, cols] when batched), C [m, n]. */
struct problem {
	struct tuning_shape s;
	size_t batch;
	float *a, *b, *c;
	struct ktensor *da, *db, *dc;
	size_t na, nb, nc;	/* elements per batch entry */
};

static void
problem_free(struct problem *p)
{
	free(p->a);
	free(p->b);
	free(p->c);
	kt_free(p->da);
	kt_free(p->db);
	kt_free(p->dc);
	memset(p, 0, sizeof(*p));
}

/* A float32 matrix [rows, cols] on the device, or batch of them. */
static struct ktensor *
dev_matrix(struct kiln_rt *rt, size_t batch, size_t rows, size_t cols)
{
	if (batch > 1)
		return kt_new3(rt, KD_F32, (int64_t)batch, (int64_t)rows,
			(int64_t)cols);
	return kt_new2(rt, KD_F32, (int64_t)rows, (int64_t)cols);
}

static int
problem_new(struct kiln_rt *rt, const struct tuning_shape *s, size_t batch,
	uint64_t seed, struct problem *p)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	p->s = *s;
	p->batch = batch;
	p->na = s->m * s->k;
	p->nb = s->k * s->n;
	p->nc = s->m * s->n;
	p->a = malloc(p->na * batch * sizeof(float));
	p->b = malloc(p->nb * batch * sizeof(float));
	p->c = malloc(p->nc * batch * sizeof(float));
	if (p->a == NULL || p->b == NULL || p->c == NULL) {
		problem_free(p);
		return rt_failf(rt, "gemm check: out of host memory");
	}
	for (i = 0; i < p->na * batch; i++)
		p->a[i] = rnd(&seed);
	for (i = 0; i < p->nb * batch; i++)
		p->b[i] = rnd(&seed);
	p->da = dev_matrix(rt, batch, s->ta ? s->k : s->m,
		s->ta ? s->m : s->k);
	p->db = p->da ? dev_matrix(rt, batch, s->tb ? s->n : s->k,
		s->tb ? s->k : s->n) : NULL;
	p->dc = p->db ? dev_matrix(rt, batch, s->m, s->n) : NULL;
	if (p->dc == NULL || kt_upload(p->da, p->a) != 0 ||
	    kt_upload(p->db, p->b) != 0) {
		problem_free(p);
		return -1;
	}
	return 0;
}

/* C = A B, each of A and B read transposed (a view) where the shape says
 * so. */
static int
problem_run(struct problem *p)
{
	const struct ktensor *a = p->da, *b = p->db;
	struct ktensor at, bt;

	if (p->s.ta) {
		if (kt_transpose(&at, p->da) != 0)
			return -1;
		a = &at;
	}
	if (p->s.tb) {
		if (kt_transpose(&bt, p->db) != 0)
			return -1;
		b = &bt;
	}
	return op_matmul(a, b, p->dc, 1.0f, 0.0f);
}

static int
problem_download(struct problem *p)
{
	return kt_download(p->dc, p->c);
}

/* The host's C[i, j] of batch entry bi (in double), and the sum of
 * |products| that bounds its rounding error. */
static double
host_entry(const struct problem *p, size_t bi, size_t i, size_t j,
	double *abs_sum)
{
	const struct tuning_shape *s = &p->s;
	const float *a = p->a + bi * p->na, *b = p->b + bi * p->nb;
	double acc = 0, mag = 0;
	size_t kk;

	for (kk = 0; kk < s->k; kk++) {
		double x = s->ta ? a[kk * s->m + i] : a[i * s->k + kk];
		double y = s->tb ? b[j * s->k + kk] : b[kk * s->n + j];

		acc += x * y;
		mag += fabs(x * y);
	}
	if (abs_sum != NULL)
		*abs_sum = mag;
	return acc;
}

/* Every entry against the host: max error over max |reference|. */
static int
check_full(struct kiln_rt *rt, struct problem *p, const char *what)
{
	double max_err = 0, max_ref = 0;
	size_t bi, i, j;

	if (problem_download(p) != 0)
		return -1;
	for (bi = 0; bi < p->batch; bi++)
		for (i = 0; i < p->s.m; i++)
			for (j = 0; j < p->s.n; j++) {
				double r = host_entry(p, bi, i, j, NULL);
				double g = p->c[bi * p->nc + i * p->s.n + j];

				if (!(fabs(g - r) <= max_err))	/* NaN too */
					max_err = isnan(g) ? INFINITY
						: fabs(g - r);
				if (fabs(r) > max_ref)
					max_ref = fabs(r);
			}
	if (!(max_err <= 1e-4 * (max_ref > 1e-6 ? max_ref : 1e-6))) {
		char sh[64];

		return rt_failf(rt, "gemm check %s %s: wrong result (max error "
			"%.3g, max |reference| %.3g)", what,
			tuning_shape_str(&p->s, sh, sizeof(sh)), max_err,
			max_ref);
	}
	return 0;
}

/* Sampled entries: the error bound scales with the sum of |products|,
 * far above float rounding and far below what a wrong kernel gives. */
static int
check_sampled(struct kiln_rt *rt, struct problem *p, int samples)
{
	uint64_t st = 0x9E3779B97F4A7C15ULL ^ p->s.m ^ (p->s.n << 20);
	int t;

	if (problem_download(p) != 0)
		return -1;
	for (t = 0; t < samples; t++) {
		size_t i, j;
		double mag, r, g;

		/* The corners first: padding bugs show there. */
		if (t < 4) {
			i = t & 1 ? p->s.m - 1 : 0;
			j = t & 2 ? p->s.n - 1 : 0;
		} else {
			i = (size_t)((rnd(&st) + 1.0f) * 0.5f *
				(float)p->s.m) % p->s.m;
			j = (size_t)((rnd(&st) + 1.0f) * 0.5f *
				(float)p->s.n) % p->s.n;
		}
		r = host_entry(p, 0, i, j, &mag);
		g = p->c[i * p->s.n + j];
		if (!(fabs(g - r) <= 5e-5 * mag + 1e-6)) {
			char sh[64];

			return rt_failf(rt, "gemm check %s: wrong result at "
				"[%zu, %zu]: %.6g, expected %.6g",
				tuning_shape_str(&p->s, sh, sizeof(sh)), i, j,
				g, r);
		}
	}
	return 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
tuning_time_gemm(struct kiln_rt *rt, const struct tuning_shape *s,
	int reps, double give_up_s, struct tuning_timing *out)
{
	struct problem p;
	double *t = NULL, t0;
	int i, rc = -1;

	memset(out, 0, sizeof(*out));
	if (reps < 1)
		reps = 1;
	if (problem_new(rt, s, 1, 0x5EED0000ULL + s->m * 31 + s->k, &p) != 0)
		return -1;
	t = calloc((size_t)reps, sizeof(*t));
	if (t == NULL) {
		rt_failf(rt, "out of memory");
		goto out;
	}
	t0 = tuning_now();
	if (problem_run(&p) != 0 || rt_finish(rt) != 0)
		goto out;
	out->first_s = tuning_now() - t0;
	/* The programs are built by now (the tuner validates first), but
	 * PoCL compiles a kernel again for each new work-group size at its
	 * first launch: a warm-up far past the limit gets a second call,
	 * and only when that is past it too has the candidate lost. */
	if (give_up_s > 0 && out->first_s > 2 * give_up_s) {
		t0 = tuning_now();
		if (problem_run(&p) != 0 || rt_finish(rt) != 0)
			goto out;
		t[out->runs] = tuning_now() - t0;
		if (t[out->runs] > give_up_s) {
			out->runs++;
			out->gave_up = 1;
			reps = 0;
		}
	}
	for (i = 0; i < reps; i++) {
		t0 = tuning_now();
		if (problem_run(&p) != 0 || rt_finish(rt) != 0)
			goto out;
		t[out->runs] = tuning_now() - t0;
		if (give_up_s > 0 && t[out->runs] > give_up_s) {
			out->runs++;
			out->gave_up = 1;
			break;
		}
		out->runs++;
	}
	qsort(t, (size_t)out->runs, sizeof(*t), cmp_double);
	out->best_s = t[0];
	out->median_s = out->runs % 2 ? t[out->runs / 2]
		: (t[out->runs / 2 - 1] + t[out->runs / 2]) / 2;
	rc = check_sampled(rt, &p, 48);
out:
	free(t);
	problem_free(&p);
	return rc;
}

int
tuning_validate_gemm(struct kiln_rt *rt)
{
	/* Odd sizes go through CLBlast's padding kernels, the aligned one
	 * straight to the tiled kernel; the batched ones are attention's. */
	static const struct {
		struct tuning_shape s;
		size_t batch;
		const char *what;
	} cases[] = {
		{ { 67, 45, 83, 0, 0 }, 1, "nn odd" },
		{ { 67, 45, 83, 0, 1 }, 1, "nt odd" },
		{ { 67, 45, 83, 1, 0 }, 1, "tn odd" },
		{ { 67, 45, 83, 1, 1 }, 1, "tt odd" },
		{ { 256, 256, 128, 0, 0 }, 1, "nn aligned" },
		{ { 256, 128, 64, 0, 1 }, 1, "nt aligned" },
		{ { 33, 29, 40, 0, 1 }, 3, "batched nt" },
		{ { 33, 40, 29, 0, 0 }, 3, "batched nn" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct problem p;
		int rc;

		if (problem_new(rt, &cases[i].s, cases[i].batch, 0xC0FFEE + i,
		    &p) != 0)
			return -1;
		rc = problem_run(&p);
		if (rc == 0)
			rc = check_full(rt, &p, cases[i].what);
		problem_free(&p);
		if (rc != 0)
			return -1;
	}
	return 0;
}
