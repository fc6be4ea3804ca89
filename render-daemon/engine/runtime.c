/* runtime.c - OpenCL device, context, queue, program cache and memory
 * pool. */
#include "runtime.h"
#include "cl_sources.h"
#include "tuning.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_PLATFORMS 16
#define MAX_DEVICES 64
#define BUILD_OPTIONS "-cl-std=CL1.2"

/* A released buffer waiting for reuse. */
struct rt_buf {
	cl_mem mem;
	size_t cap;
	struct rt_buf *next;
};

const char *
cl_strerror(cl_int e)
{
	switch (e) {
#define E(x) case x: return #x
	E(CL_SUCCESS);
	E(CL_DEVICE_NOT_FOUND);
	E(CL_DEVICE_NOT_AVAILABLE);
	E(CL_COMPILER_NOT_AVAILABLE);
	E(CL_MEM_OBJECT_ALLOCATION_FAILURE);
	E(CL_OUT_OF_RESOURCES);
	E(CL_OUT_OF_HOST_MEMORY);
	E(CL_PROFILING_INFO_NOT_AVAILABLE);
	E(CL_MEM_COPY_OVERLAP);
	E(CL_IMAGE_FORMAT_MISMATCH);
	E(CL_IMAGE_FORMAT_NOT_SUPPORTED);
	E(CL_BUILD_PROGRAM_FAILURE);
	E(CL_MAP_FAILURE);
	E(CL_MISALIGNED_SUB_BUFFER_OFFSET);
	E(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
	E(CL_COMPILE_PROGRAM_FAILURE);
	E(CL_LINKER_NOT_AVAILABLE);
	E(CL_LINK_PROGRAM_FAILURE);
	E(CL_INVALID_VALUE);
	E(CL_INVALID_DEVICE_TYPE);
	E(CL_INVALID_PLATFORM);
	E(CL_INVALID_DEVICE);
	E(CL_INVALID_CONTEXT);
	E(CL_INVALID_QUEUE_PROPERTIES);
	E(CL_INVALID_COMMAND_QUEUE);
	E(CL_INVALID_HOST_PTR);
	E(CL_INVALID_MEM_OBJECT);
	E(CL_INVALID_BINARY);
	E(CL_INVALID_BUILD_OPTIONS);
	E(CL_INVALID_PROGRAM);
	E(CL_INVALID_PROGRAM_EXECUTABLE);
	E(CL_INVALID_KERNEL_NAME);
	E(CL_INVALID_KERNEL_DEFINITION);
	E(CL_INVALID_KERNEL);
	E(CL_INVALID_ARG_INDEX);
	E(CL_INVALID_ARG_VALUE);
	E(CL_INVALID_ARG_SIZE);
	E(CL_INVALID_KERNEL_ARGS);
	E(CL_INVALID_WORK_DIMENSION);
	E(CL_INVALID_WORK_GROUP_SIZE);
	E(CL_INVALID_WORK_ITEM_SIZE);
	E(CL_INVALID_GLOBAL_OFFSET);
	E(CL_INVALID_EVENT_WAIT_LIST);
	E(CL_INVALID_EVENT);
	E(CL_INVALID_OPERATION);
	E(CL_INVALID_BUFFER_SIZE);
	E(CL_INVALID_GLOBAL_WORK_SIZE);
#undef E
	case -1001:
		return "CL_PLATFORM_NOT_FOUND_KHR";
	default:
		return "unknown OpenCL error";
	}
}

const char *
rt_error(const struct kiln_rt *rt)
{
	return rt->err;
}

int
rt_fail(struct kiln_rt *rt, const char *call, const char *kernel, cl_int code)
{
	if (kernel != NULL)
		snprintf(rt->err, sizeof(rt->err), "%s(%s): %s (%d)", call,
			kernel, cl_strerror(code), code);
	else
		snprintf(rt->err, sizeof(rt->err), "%s: %s (%d)", call,
			cl_strerror(code), code);
	return -1;
}

int
rt_failf(struct kiln_rt *rt, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rt->err, sizeof(rt->err), fmt, ap);
	va_end(ap);
	return -1;
}

void
cl_device_text(cl_device_id d, cl_device_info what, char *out, size_t n)
{
	out[0] = '\0';
	if (clGetDeviceInfo(d, what, n, out, NULL) != CL_SUCCESS)
		snprintf(out, n, "?");
	out[n - 1] = '\0';
}

void
cl_platform_text(cl_platform_id p, cl_platform_info what, char *out, size_t n)
{
	out[0] = '\0';
	if (clGetPlatformInfo(p, what, n, out, NULL) != CL_SUCCESS)
		snprintf(out, n, "?");
	out[n - 1] = '\0';
}

static int
icontains(const char *hay, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = 0; hay[i] != '\0'; i++)
		if (!strncasecmp(hay + i, needle, n))
			return 1;
	return 0;
}

struct cand {
	cl_platform_id p;
	cl_device_id d;
	unsigned pi, di;
	cl_device_type type;
	char name[256];
	char pname[256];
};

/* Lists every device of every platform into c (at most max). */
static int
enumerate(struct cand *c, int max)
{
	cl_platform_id plats[MAX_PLATFORMS];
	cl_uint np = 0, i, j;
	int n = 0;

	if (clGetPlatformIDs(MAX_PLATFORMS, plats, &np) != CL_SUCCESS)
		return 0;
	if (np > MAX_PLATFORMS)
		np = MAX_PLATFORMS;
	for (i = 0; i < np; i++) {
		cl_device_id devs[MAX_DEVICES];
		cl_uint nd = 0;

		if (clGetDeviceIDs(plats[i], CL_DEVICE_TYPE_ALL, MAX_DEVICES,
		    devs, &nd) != CL_SUCCESS)
			continue;
		if (nd > MAX_DEVICES)
			nd = MAX_DEVICES;
		for (j = 0; j < nd && n < max; j++, n++) {
			c[n].p = plats[i];
			c[n].d = devs[j];
			c[n].pi = i;
			c[n].di = j;
			clGetDeviceInfo(devs[j], CL_DEVICE_TYPE,
				sizeof(c[n].type), &c[n].type, NULL);
			cl_device_text(devs[j], CL_DEVICE_NAME, c[n].name,
				sizeof(c[n].name));
			cl_platform_text(plats[i], CL_PLATFORM_NAME, c[n].pname,
				sizeof(c[n].pname));
		}
	}
	return n;
}

static int
pick(const struct cand *c, int n, const char *sel)
{
	unsigned a, b;
	char tail;
	int i;

	if (sel == NULL || *sel == '\0') {
		for (i = 0; i < n; i++)
			if (c[i].type & CL_DEVICE_TYPE_GPU)
				return i;
		return n > 0 ? 0 : -1;
	}
	if (!strcasecmp(sel, "gpu") || !strcasecmp(sel, "cpu") ||
	    !strcasecmp(sel, "accelerator")) {
		cl_device_type t = !strcasecmp(sel, "gpu") ? CL_DEVICE_TYPE_GPU
			: !strcasecmp(sel, "cpu") ? CL_DEVICE_TYPE_CPU
			: CL_DEVICE_TYPE_ACCELERATOR;
		for (i = 0; i < n; i++)
			if (c[i].type & t)
				return i;
		return -1;
	}
	if (sscanf(sel, "%u:%u%c", &a, &b, &tail) == 2) {
		for (i = 0; i < n; i++)
			if (c[i].pi == a && c[i].di == b)
				return i;
		return -1;
	}
	if (sscanf(sel, "%u%c", &a, &tail) == 1)
		return a < (unsigned)n ? (int)a : -1;
	for (i = 0; i < n; i++)
		if (icontains(c[i].name, sel) || icontains(c[i].pname, sel))
			return i;
	return -1;
}

static void
describe(const struct cand *c, int n, char *err, size_t errlen,
	const char *sel)
{
	size_t o;
	int i;

	if (n == 0) {
		snprintf(err, errlen, "no OpenCL device found: install the "
			"GPU vendor's OpenCL driver, or pocl-opencl-icd for a "
			"CPU device");
		return;
	}
	o = (size_t)snprintf(err, errlen, "no OpenCL device matches \"%s\"; "
		"found:", sel ? sel : "");
	for (i = 0; i < n && o < errlen; i++)
		o += (size_t)snprintf(err + o, errlen - o, " [%u:%u] %s (%s)%s",
			c[i].pi, c[i].di, c[i].name, c[i].pname,
			i + 1 < n ? ";" : "");
}

void
engine_opts_init(struct engine_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->attention = RT_ATTN_AUTO;
	o->tuning = 1;
}

int
rt_open(struct kiln_rt **out, const char *selector,
	const struct engine_opts *opts, char *err, size_t errlen)
{
	struct cand c[MAX_DEVICES];
	struct kiln_rt *rt;
	cl_int e;
	int n, i;

	*out = NULL;
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium failed to initialise");
		return -1;
	}
	n = enumerate(c, MAX_DEVICES);
	i = pick(c, n, selector);
	if (i < 0) {
		describe(c, n, err, errlen, selector);
		return -1;
	}
	rt = calloc(1, sizeof(*rt));
	if (rt == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (opts != NULL)
		rt->opts = *opts;
	else
		engine_opts_init(&rt->opts);
	rt->attn_mode = rt->opts.attention;
	rt->profile = rt->opts.profile;
	rt->platform = c[i].p;
	rt->device = c[i].d;
	rt->type = c[i].type;
	snprintf(rt->device_name, sizeof(rt->device_name), "%s", c[i].name);
	snprintf(rt->platform_name, sizeof(rt->platform_name), "%s",
		c[i].pname);
	cl_device_text(rt->device, CL_DRIVER_VERSION, rt->driver_version,
		sizeof(rt->driver_version));
	clGetDeviceInfo(rt->device, CL_DEVICE_MAX_WORK_GROUP_SIZE,
		sizeof(rt->max_wg), &rt->max_wg, NULL);
	if (clGetDeviceInfo(rt->device, CL_DEVICE_MAX_COMPUTE_UNITS,
	    sizeof(rt->compute_units), &rt->compute_units, NULL) !=
	    CL_SUCCESS || rt->compute_units == 0)
		rt->compute_units = 1;
	clGetDeviceInfo(rt->device, CL_DEVICE_GLOBAL_MEM_SIZE,
		sizeof(rt->global_mem), &rt->global_mem, NULL);
	clGetDeviceInfo(rt->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE,
		sizeof(rt->max_alloc), &rt->max_alloc, NULL);
	clGetDeviceInfo(rt->device, CL_DEVICE_LOCAL_MEM_SIZE,
		sizeof(rt->local_mem), &rt->local_mem, NULL);
	rt->ctx = clCreateContext(NULL, 1, &rt->device, NULL, NULL, &e);
	if (rt->ctx == NULL) {
		snprintf(err, errlen, "clCreateContext(%s): %s", rt->device_name,
			cl_strerror(e));
		rt_free(rt);
		return -1;
	}
	rt->queue = clCreateCommandQueue(rt->ctx, rt->device, 0, &e);
	if (rt->queue == NULL) {
		snprintf(err, errlen, "clCreateCommandQueue(%s): %s",
			rt->device_name, cl_strerror(e));
		rt_free(rt);
		return -1;
	}
	if (rt->opts.tuning) {
		int applied;

		if (tuning_apply(rt, &applied) != 0) {
			snprintf(err, errlen, "%s (fix or remove it, re-run "
				"`kiln-render tune`, or turn tuning off: "
				"KILN_NO_TUNING=1, [engine] tuning = false)",
				rt_error(rt));
			rt_free(rt);
			return -1;
		}
		rt->tuned = applied == TUNING_APPLIED;
	}
	*out = rt;
	return 0;
}

void
rt_trim(struct kiln_rt *rt)
{
	while (rt->pool != NULL) {
		struct rt_buf *b = rt->pool;

		rt->pool = b->next;
		rt->bytes_held -= b->cap;
		clReleaseMemObject(b->mem);
		free(b);
	}
}

void
rt_free(struct kiln_rt *rt)
{
	size_t i;

	if (rt == NULL)
		return;
	if (rt->queue != NULL)
		clFinish(rt->queue);
	rt_trim(rt);
	for (i = 0; i < rt->nkernels; i++) {
		clReleaseKernel(rt->kernels[i].k);
		free((char *)rt->kernels[i].name);
	}
	for (i = 0; i < rt->nprogs; i++)
		clReleaseProgram(rt->progs[i].prog);
	if (rt->queue != NULL)
		clReleaseCommandQueue(rt->queue);
	if (rt->ctx != NULL)
		clReleaseContext(rt->ctx);
	free(rt);
}

int
rt_finish(struct kiln_rt *rt)
{
	cl_int e = clFinish(rt->queue);

	return e == CL_SUCCESS ? 0 : rt_fail(rt, "clFinish", NULL, e);
}

/* The embedded source that defines kernel name: a line holding
 * "kernel void name(", or "SOME_KERNEL(name," where a macro stamps out a
 * family of kernels (gemm.cl). */
static const struct cl_source *
source_of(const char *name)
{
	const struct cl_source *s;
	size_t n = strlen(name);

	for (s = cl_sources; s->name != NULL; s++) {
		const char *p = s->text;

		while ((p = strstr(p, name)) != NULL) {
			const char *ls = p, *kw;

			while (ls > s->text && ls[-1] != '\n')
				ls--;
			kw = strstr(ls, "kernel");
			if (kw == NULL || kw > p)
				kw = strstr(ls, "KERNEL(");
			if (p > s->text && kw != NULL && kw < p &&
			    ((p[n] == '(' && isspace((unsigned char)p[-1])) ||
			    (p[n] == ',' && p[-1] == '(')))
				return s;
			p += n;
		}
	}
	return NULL;
}

/* The cache file name for a source on this device: the SHA-256 of
 * everything that changes the binary. */
static int
cache_path(struct kiln_rt *rt, const struct cl_source *src, char *out,
	size_t n)
{
	crypto_hash_sha256_state st;
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[2 * sizeof(h) + 1];

	if (rt->opts.cl_cache_dir[0] == '\0')
		return -1;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)src->text,
		strlen(src->text));
	crypto_hash_sha256_update(&st, (const unsigned char *)rt->device_name,
		strlen(rt->device_name) + 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)rt->platform_name,
		strlen(rt->platform_name) + 1);
	crypto_hash_sha256_update(&st,
		(const unsigned char *)rt->driver_version,
		strlen(rt->driver_version) + 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)BUILD_OPTIONS,
		sizeof(BUILD_OPTIONS));
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	return snprintf(out, n, "%s/%s-%.32s.bin", rt->opts.cl_cache_dir,
		src->name, hex) < (int)n ? 0 : -1;
}

static unsigned char *
read_all(const char *path, size_t *len)
{
	unsigned char *buf = NULL;
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb) != 0 || sb.st_size <= 0 ||
	    sb.st_size > (1 << 28))
		goto out;
	buf = malloc((size_t)sb.st_size);
	if (buf == NULL)
		goto out;
	r = read(fd, buf, (size_t)sb.st_size);
	if (r != sb.st_size) {
		free(buf);
		buf = NULL;
		goto out;
	}
	*len = (size_t)r;
out:
	close(fd);
	return buf;
}

/* Writes the program's binary to the cache, atomically; failures only cost
 * a rebuild next time, so they are ignored. */
static void
cache_store(struct kiln_rt *rt, cl_program prog, const char *path)
{
	unsigned char *bin = NULL;
	size_t sz = 0;
	char tmp[1100];
	FILE *f;

	if (clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof(sz), &sz,
	    NULL) != CL_SUCCESS || sz == 0)
		return;
	bin = malloc(sz);
	if (bin == NULL)
		return;
	if (clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof(bin), &bin,
	    NULL) != CL_SUCCESS)
		goto out;
	/* A failure only costs the cache: the fopen below fails too. */
	(void)mkdir_p(rt->opts.cl_cache_dir);
	if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid())
	    >= (int)sizeof(tmp))
		goto out;
	f = fopen(tmp, "wb");
	if (f == NULL)
		goto out;
	if (fwrite(bin, 1, sz, f) != sz) {
		fclose(f);
		unlink(tmp);
		goto out;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		unlink(tmp);
out:
	free(bin);
}

/* Keeps the first non-empty build log of a program built from source in
 * rt->build_note ("name.cl: log"). */
static void
note_build_log(struct kiln_rt *rt, const struct cl_source *src,
	cl_program prog)
{
	size_t len = 0, i;
	char *log;

	if (rt->build_note[0] != '\0' ||
	    clGetProgramBuildInfo(prog, rt->device, CL_PROGRAM_BUILD_LOG, 0,
	    NULL, &len) != CL_SUCCESS || len <= 1)
		return;
	log = calloc(1, len + 1);
	if (log == NULL)
		return;
	if (clGetProgramBuildInfo(prog, rt->device, CL_PROGRAM_BUILD_LOG, len,
	    log, NULL) == CL_SUCCESS) {
		for (i = 0; log[i] != '\0' && isspace((unsigned char)log[i]);
		    i++)
			;
		if (log[i] != '\0')
			snprintf(rt->build_note, sizeof(rt->build_note),
				"%s.cl: %s", src->name, log + i);
	}
	free(log);
}

static cl_program
build_program(struct kiln_rt *rt, const struct cl_source *src)
{
	char path[1100], *log = NULL;
	const char *text;
	unsigned char *bin = NULL;
	size_t binlen = 0, loglen = 0;
	cl_program prog = NULL;
	int have_path;
	cl_int e, st;

	have_path = cache_path(rt, src, path, sizeof(path)) == 0;
	if (have_path && (bin = read_all(path, &binlen)) != NULL) {
		const unsigned char *b = bin;

		prog = clCreateProgramWithBinary(rt->ctx, 1, &rt->device,
			&binlen, &b, &st, &e);
		if (prog != NULL && (e != CL_SUCCESS || st != CL_SUCCESS ||
		    clBuildProgram(prog, 1, &rt->device, BUILD_OPTIONS, NULL,
		    NULL) != CL_SUCCESS)) {
			/* A stale or foreign binary: rebuild from source. */
			clReleaseProgram(prog);
			prog = NULL;
		}
		free(bin);
		if (prog != NULL)
			return prog;
	}
	text = src->text;
	prog = clCreateProgramWithSource(rt->ctx, 1, &text, NULL, &e);
	if (prog == NULL) {
		rt_fail(rt, "clCreateProgramWithSource", src->name, e);
		return NULL;
	}
	e = clBuildProgram(prog, 1, &rt->device, BUILD_OPTIONS, NULL, NULL);
	if (e != CL_SUCCESS) {
		clGetProgramBuildInfo(prog, rt->device, CL_PROGRAM_BUILD_LOG, 0,
			NULL, &loglen);
		log = calloc(1, loglen + 1);
		if (log != NULL)
			clGetProgramBuildInfo(prog, rt->device,
				CL_PROGRAM_BUILD_LOG, loglen, log, NULL);
		rt_failf(rt, "clBuildProgram(%s.cl): %s: %s", src->name,
			cl_strerror(e), log ? log : "");
		free(log);
		clReleaseProgram(prog);
		return NULL;
	}
	note_build_log(rt, src, prog);
	if (have_path)
		cache_store(rt, prog, path);
	return prog;
}

/* The built program of src, building it on first use. */
static cl_program
program_of(struct kiln_rt *rt, const struct cl_source *src)
{
	cl_program prog;
	size_t i;

	for (i = 0; i < rt->nprogs; i++)
		if (rt->progs[i].name == src->name)
			return rt->progs[i].prog;
	if (rt->nprogs == RT_MAX_PROGRAMS) {
		rt_failf(rt, "too many programs");
		return NULL;
	}
	prog = build_program(rt, src);
	if (prog == NULL)
		return NULL;
	rt->progs[rt->nprogs].name = src->name;
	rt->progs[rt->nprogs].prog = prog;
	rt->nprogs++;
	return prog;
}

int
rt_build_all(struct kiln_rt *rt)
{
	const struct cl_source *s;
	size_t before = rt->nprogs;

	for (s = cl_sources; s->name != NULL; s++)
		if (program_of(rt, s) == NULL)
			return -1;
	return (int)(rt->nprogs - before);
}

cl_kernel
rt_kernel(struct kiln_rt *rt, const char *name)
{
	const struct cl_source *src;
	cl_program prog;
	cl_kernel k;
	size_t i;
	cl_int e;

	for (i = 0; i < rt->nkernels; i++)
		if (!strcmp(rt->kernels[i].name, name))
			return rt->kernels[i].k;
	src = source_of(name);
	if (src == NULL) {
		rt_failf(rt, "no embedded kernel named %s", name);
		return NULL;
	}
	prog = program_of(rt, src);
	if (prog == NULL)
		return NULL;
	if (rt->nkernels == RT_MAX_KERNELS) {
		rt_failf(rt, "too many kernels");
		return NULL;
	}
	k = clCreateKernel(prog, name, &e);
	if (k == NULL) {
		rt_fail(rt, "clCreateKernel", name, e);
		return NULL;
	}
	rt->kernels[rt->nkernels].name = strdup(name);
	if (rt->kernels[rt->nkernels].name == NULL) {
		clReleaseKernel(k);
		rt_failf(rt, "out of memory");
		return NULL;
	}
	rt->kernels[rt->nkernels].k = k;
	rt->nkernels++;
	return k;
}

cl_mem
rt_alloc(struct kiln_rt *rt, size_t n, size_t *cap)
{
	struct rt_buf **pp, **best = NULL;
	cl_mem m;
	cl_int e;

	if (n == 0)
		n = 4;
	if (rt->fail_alloc > 0 && --rt->fail_alloc == 0) {
		rt_failf(rt, "clCreateBuffer(%zu bytes): failed on purpose "
			"(rt->fail_alloc)", n);
		return NULL;
	}
	/* Best fit among pooled buffers no more than twice the request, so
	 * a small tensor never pins a huge buffer. */
	for (pp = &rt->pool; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->cap >= n && (*pp)->cap / 2 <= n &&
		    (best == NULL || (*pp)->cap < (*best)->cap))
			best = pp;
	if (best != NULL) {
		struct rt_buf *b = *best;

		*best = b->next;
		m = b->mem;
		*cap = b->cap;
		free(b);
	} else {
		if (n > rt->max_alloc) {
			rt_failf(rt, "clCreateBuffer: %zu bytes exceed the "
				"device's largest allocation (%llu bytes)", n,
				(unsigned long long)rt->max_alloc);
			return NULL;
		}
		m = clCreateBuffer(rt->ctx, CL_MEM_READ_WRITE, n, NULL, &e);
		if (m == NULL) {
			/* Give pooled memory back and try once more. */
			rt_trim(rt);
			m = clCreateBuffer(rt->ctx, CL_MEM_READ_WRITE, n, NULL,
				&e);
		}
		if (m == NULL) {
			rt_failf(rt, "clCreateBuffer(%zu bytes): %s", n,
				cl_strerror(e));
			return NULL;
		}
		*cap = n;
		rt->bytes_held += n;
		if (rt->bytes_held > rt->peak_held)
			rt->peak_held = rt->bytes_held;
	}
	rt->bytes_live += *cap;
	if (rt->bytes_live > rt->peak_live)
		rt->peak_live = rt->bytes_live;
	return m;
}

void
rt_release(struct kiln_rt *rt, cl_mem m, size_t cap)
{
	struct rt_buf *b;

	if (m == NULL)
		return;
	rt->bytes_live -= cap;
	b = malloc(sizeof(*b));
	if (b == NULL) {
		clReleaseMemObject(m);
		rt->bytes_held -= cap;
		return;
	}
	b->mem = m;
	b->cap = cap;
	b->next = rt->pool;
	rt->pool = b;
}

int
rt_launch(struct kiln_rt *rt, const char *kernel, unsigned dims,
	const size_t *gws, const size_t *lws, const struct rt_arg *args,
	size_t nargs)
{
	cl_kernel k = rt_kernel(rt, kernel);
	double t0;
	size_t i;
	cl_int e;

	if (k == NULL)
		return -1;
	for (i = 0; i < nargs; i++) {
		e = clSetKernelArg(k, (cl_uint)i, args[i].size, args[i].ptr);
		if (e != CL_SUCCESS)
			return rt_failf(rt, "clSetKernelArg(%s, arg %zu): %s",
				kernel, i, cl_strerror(e));
	}
	for (i = 0; i < dims; i++)
		if (gws[i] == 0)
			return 0;	/* nothing to do */
	t0 = rt->profile ? rt_now() : 0;
	e = clEnqueueNDRangeKernel(rt->queue, k, dims, NULL, gws, lws, 0,
		NULL, NULL);
	if (e != CL_SUCCESS)
		return rt_fail(rt, "clEnqueueNDRangeKernel", kernel, e);
	if (rt->profile) {
		if (rt_finish(rt) != 0)
			return -1;
		rt_prof_add(rt, kernel, rt_now() - t0, 0);
	}
	return 0;
}

double
rt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
rt_prof_add(struct kiln_rt *rt, const char *name, double seconds,
	double flops)
{
	size_t i;

	for (i = 0; i < rt->nprof; i++)
		if (!strcmp(rt->prof[i].name, name))
			break;
	if (i == rt->nprof) {
		if (rt->nprof == sizeof(rt->prof) / sizeof(rt->prof[0]))
			return;
		rt->prof[i].name = name;
		rt->nprof++;
	}
	rt->prof[i].seconds += seconds;
	rt->prof[i].flops += flops;
	rt->prof[i].calls++;
}

void
rt_prof_report(const struct kiln_rt *rt, FILE *f)
{
	size_t order[64], i, j, n = rt->nprof;
	double total = 0;

	for (i = 0; i < n; i++) {
		order[i] = i;
		total += rt->prof[i].seconds;
	}
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && rt->prof[order[j]].seconds >
		    rt->prof[order[j - 1]].seconds; j--) {
			size_t t = order[j];

			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	fprintf(f, "%-20s %8s %10s %6s %10s\n", "op", "calls", "seconds", "%",
		"GFLOP/s");
	for (i = 0; i < n; i++) {
		const struct rt_prof *p = &rt->prof[order[i]];

		fprintf(f, "%-20s %8lu %10.3f %5.1f%% ", p->name, p->calls,
			p->seconds, total > 0 ? 100 * p->seconds / total : 0);
		if (p->flops > 0 && p->seconds > 0)
			fprintf(f, "%10.1f\n", p->flops / p->seconds / 1e9);
		else
			fprintf(f, "%10s\n", "-");
	}
	fprintf(f, "%-20s %8s %10.3f\n", "total", "", total);
}

void
rt_prof_reset(struct kiln_rt *rt)
{
	rt->nprof = 0;
}
