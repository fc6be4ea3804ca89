/* backend_cl.c - the OpenCL backend (backend.h): device choice,
 * context and queue, programs built from the embedded .cl sources with a
 * per-device binary cache, kernels by name and their launches, buffers
 * and copies. The ops it runs are in ops_cl.c. */
#include "runtime_cl.h"
#include "cl_sources.h"
#include "tuning.h"
#include "util.h"

#include <ctype.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_PLATFORMS 16
#define MAX_DEVICES 64
#define BUILD_OPTIONS "-cl-std=CL1.2"

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

/* The neutral description of a device type (ops that pick kernels by
 * it test for a CPU first, as they did on the raw bits). */
static enum rt_devtype
devtype(cl_device_type t)
{
	if (t & CL_DEVICE_TYPE_CPU)
		return RT_DEV_CPU;
	if (t & CL_DEVICE_TYPE_GPU)
		return RT_DEV_GPU;
	return RT_DEV_OTHER;
}

static int
cl_open(struct kiln_rt *rt, const char *selector, char *err, size_t errlen)
{
	struct cand c[MAX_DEVICES];
	struct cl_dev *d;
	cl_int e;
	int n, i;

	n = enumerate(c, MAX_DEVICES);
	i = pick(c, n, selector);
	if (i < 0) {
		describe(c, n, err, errlen, selector);
		return -1;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rt->dev = d;
	d->platform = c[i].p;
	d->device = c[i].d;
	rt->type = devtype(c[i].type);
	snprintf(rt->device_name, sizeof(rt->device_name), "%s", c[i].name);
	snprintf(rt->platform_name, sizeof(rt->platform_name), "%s",
		c[i].pname);
	cl_device_text(d->device, CL_DRIVER_VERSION, rt->driver_version,
		sizeof(rt->driver_version));
	clGetDeviceInfo(d->device, CL_DEVICE_MAX_WORK_GROUP_SIZE,
		sizeof(rt->max_wg), &rt->max_wg, NULL);
	if (clGetDeviceInfo(d->device, CL_DEVICE_MAX_COMPUTE_UNITS,
	    sizeof(rt->compute_units), &rt->compute_units, NULL) !=
	    CL_SUCCESS || rt->compute_units == 0)
		rt->compute_units = 1;
	clGetDeviceInfo(d->device, CL_DEVICE_GLOBAL_MEM_SIZE,
		sizeof(rt->global_mem), &rt->global_mem, NULL);
	clGetDeviceInfo(d->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE,
		sizeof(rt->max_alloc), &rt->max_alloc, NULL);
	clGetDeviceInfo(d->device, CL_DEVICE_LOCAL_MEM_SIZE,
		sizeof(rt->local_mem), &rt->local_mem, NULL);
	{
		cl_uint w = 0;

		clGetDeviceInfo(d->device,
			CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT, sizeof(w), &w,
			NULL);
		rt->vec_float = w;
	}
	cl_gemm_defaults(rt);
	d->ctx = clCreateContext(NULL, 1, &d->device, NULL, NULL, &e);
	if (d->ctx == NULL) {
		snprintf(err, errlen, "clCreateContext(%s): %s", rt->device_name,
			cl_strerror(e));
		return -1;
	}
	d->queue = clCreateCommandQueue(d->ctx, d->device, 0, &e);
	if (d->queue == NULL) {
		snprintf(err, errlen, "clCreateCommandQueue(%s): %s",
			rt->device_name, cl_strerror(e));
		return -1;
	}
	/* The tuning file holds CLBlast's parameters: this backend's. */
	if (rt->opts.tuning) {
		int applied;

		if (tuning_apply(rt, &applied) != 0) {
			snprintf(err, errlen, "%s (fix or remove it, re-run "
				"`kiln-render tune`, or turn tuning off: "
				"KILN_NO_TUNING=1, [engine] tuning = false)",
				rt_error(rt));
			return -1;
		}
		rt->tuned = applied == TUNING_APPLIED;
	}
	/* The caller's GEMM parameters over the default and the tuned. */
	if (rt->opts.gemm.mr)
		rt->gemm.mr = rt->opts.gemm.mr;
	if (rt->opts.gemm.vw)
		rt->gemm.vw = rt->opts.gemm.vw;
	if (rt->opts.gemm.nv)
		rt->gemm.nv = rt->opts.gemm.nv;
	if (rt->opts.gemm.tile_kb)
		rt->gemm.tile_kb = rt->opts.gemm.tile_kb;
	if (rt->opts.gemm.kslice)
		rt->gemm.kslice = rt->opts.gemm.kslice;
	if (rt_gemm_check(&rt->gemm, err, errlen) != 0)
		return -1;
	return 0;
}

static void
cl_close(struct kiln_rt *rt)
{
	struct cl_dev *d = cl_of(rt);
	size_t i;

	if (d == NULL)
		return;
	if (d->queue != NULL)
		clFinish(d->queue);
	for (i = 0; i < d->nkernels; i++) {
		clReleaseKernel(d->kernels[i].k);
		free((char *)d->kernels[i].name);
	}
	for (i = 0; i < d->nprogs; i++)
		clReleaseProgram(d->progs[i].prog);
	if (d->queue != NULL)
		clReleaseCommandQueue(d->queue);
	if (d->ctx != NULL)
		clReleaseContext(d->ctx);
	free(d);
	rt->dev = NULL;
}

static int
cl_finish(struct kiln_rt *rt)
{
	cl_int e = clFinish(cl_of(rt)->queue);

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
cache_path(struct kiln_rt *rt, const struct cl_source *src,
	const char *defs, char *out, size_t n)
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
	crypto_hash_sha256_update(&st, (const unsigned char *)defs,
		strlen(defs) + 1);
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
	struct cl_dev *d = cl_of(rt);
	size_t len = 0, i;
	char *log;

	if (rt->build_note[0] != '\0' ||
	    clGetProgramBuildInfo(prog, d->device, CL_PROGRAM_BUILD_LOG, 0,
	    NULL, &len) != CL_SUCCESS || len <= 1)
		return;
	log = calloc(1, len + 1);
	if (log == NULL)
		return;
	if (clGetProgramBuildInfo(prog, d->device, CL_PROGRAM_BUILD_LOG, len,
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
build_program(struct kiln_rt *rt, const struct cl_source *src,
	const char *defs)
{
	struct cl_dev *d = cl_of(rt);
	char path[1100], opts[sizeof(BUILD_OPTIONS) + RT_DEFS_MAX + 1];
	char *log = NULL;
	const char *text;
	unsigned char *bin = NULL;
	size_t binlen = 0, loglen = 0;
	cl_program prog = NULL;
	int have_path;
	cl_int e, st;

	snprintf(opts, sizeof(opts), "%s%s%s", BUILD_OPTIONS,
		*defs ? " " : "", defs);
	have_path = cache_path(rt, src, defs, path, sizeof(path)) == 0;
	if (have_path && (bin = read_all(path, &binlen)) != NULL) {
		const unsigned char *b = bin;

		prog = clCreateProgramWithBinary(d->ctx, 1, &d->device,
			&binlen, &b, &st, &e);
		if (prog != NULL && (e != CL_SUCCESS || st != CL_SUCCESS ||
		    clBuildProgram(prog, 1, &d->device, opts, NULL,
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
	prog = clCreateProgramWithSource(d->ctx, 1, &text, NULL, &e);
	if (prog == NULL) {
		rt_fail(rt, "clCreateProgramWithSource", src->name, e);
		return NULL;
	}
	e = clBuildProgram(prog, 1, &d->device, opts, NULL, NULL);
	if (e != CL_SUCCESS) {
		clGetProgramBuildInfo(prog, d->device, CL_PROGRAM_BUILD_LOG, 0,
			NULL, &loglen);
		log = calloc(1, loglen + 1);
		if (log != NULL)
			clGetProgramBuildInfo(prog, d->device,
				CL_PROGRAM_BUILD_LOG, loglen, log, NULL);
		rt_failf(rt, "clBuildProgram(%s.cl%s%s): %s: %s", src->name,
			*defs ? " " : "", defs, cl_strerror(e),
			log ? log : "");
		free(log);
		clReleaseProgram(prog);
		return NULL;
	}
	note_build_log(rt, src, prog);
	if (have_path)
		cache_store(rt, prog, path);
	return prog;
}

/* The built program of src with the -D options defs, building it on
 * first use. */
static cl_program
program_of(struct kiln_rt *rt, const struct cl_source *src, const char *defs)
{
	struct cl_dev *d = cl_of(rt);
	cl_program prog;
	size_t i;

	for (i = 0; i < d->nprogs; i++)
		if (d->progs[i].name == src->name &&
		    !strcmp(d->progs[i].defs, defs))
			return d->progs[i].prog;
	if (d->nprogs == RT_MAX_PROGRAMS) {
		rt_failf(rt, "too many programs");
		return NULL;
	}
	if (strlen(defs) >= RT_DEFS_MAX) {
		rt_failf(rt, "%s.cl: build options too long: %s", src->name,
			defs);
		return NULL;
	}
	prog = build_program(rt, src, defs);
	if (prog == NULL)
		return NULL;
	d->progs[d->nprogs].name = src->name;
	snprintf(d->progs[d->nprogs].defs, RT_DEFS_MAX, "%s", defs);
	d->progs[d->nprogs].prog = prog;
	d->nprogs++;
	return prog;
}

static int
cl_build_all(struct kiln_rt *rt)
{
	const struct cl_source *s;
	size_t before = cl_of(rt)->nprogs;

	for (s = cl_sources; s->name != NULL; s++)
		if (program_of(rt, s, rt_defs(rt, s->name)) == NULL)
			return -1;
	return (int)(cl_of(rt)->nprogs - before);
}

cl_kernel
rt_kernel(struct kiln_rt *rt, const char *name)
{
	struct cl_dev *d = cl_of(rt);
	const struct cl_source *src;
	const char *defs;
	cl_program prog;
	cl_kernel k;
	size_t i;
	cl_int e;

	/* Every launch comes here: the kernels made so far are looked up
	 * by name before the sources are searched. One built with other
	 * options (the GEMM's parameters changed) is another kernel. */
	for (i = 0; i < d->nkernels; i++)
		if (!strcmp(d->kernels[i].name, name) &&
		    !strcmp(d->kernels[i].defs,
		    rt_defs(rt, d->kernels[i].prog_src)))
			return d->kernels[i].k;
	src = source_of(name);
	if (src == NULL) {
		rt_failf(rt, "no embedded kernel named %s", name);
		return NULL;
	}
	defs = rt_defs(rt, src->name);
	prog = program_of(rt, src, defs);
	if (prog == NULL)
		return NULL;
	if (d->nkernels == RT_MAX_KERNELS) {
		rt_failf(rt, "too many kernels");
		return NULL;
	}
	k = clCreateKernel(prog, name, &e);
	if (k == NULL) {
		rt_fail(rt, "clCreateKernel", name, e);
		return NULL;
	}
	d->kernels[d->nkernels].name = strdup(name);
	if (d->kernels[d->nkernels].name == NULL) {
		clReleaseKernel(k);
		rt_failf(rt, "out of memory");
		return NULL;
	}
	d->kernels[d->nkernels].k = k;
	d->kernels[d->nkernels].prog_src = src->name;
	snprintf(d->kernels[d->nkernels].defs, RT_DEFS_MAX, "%s", defs);
	d->nkernels++;
	rt->nkernels = d->nkernels;
	return k;
}

static void *
cl_buf_alloc(struct kiln_rt *rt, size_t n)
{
	cl_int e;
	cl_mem m = clCreateBuffer(cl_of(rt)->ctx, CL_MEM_READ_WRITE, n, NULL,
		&e);

	if (m == NULL)
		rt_failf(rt, "clCreateBuffer(%zu bytes): %s", n,
			cl_strerror(e));
	return m;
}

static void
cl_buf_free(struct kiln_rt *rt, void *buf)
{
	(void)rt;
	clReleaseMemObject(buf);
}

static int
cl_upload(struct kiln_rt *rt, void *buf, size_t off, const void *src,
	size_t n)
{
	cl_int e = clEnqueueWriteBuffer(cl_of(rt)->queue, buf, CL_TRUE, off,
		n, src, 0, NULL, NULL);

	return e == CL_SUCCESS ? 0 : rt_fail(rt, "clEnqueueWriteBuffer",
		NULL, e);
}

static int
cl_download(struct kiln_rt *rt, void *buf, size_t off, void *dst,
	size_t n)
{
	cl_int e = clEnqueueReadBuffer(cl_of(rt)->queue, buf, CL_TRUE, off,
		n, dst, 0, NULL, NULL);

	return e == CL_SUCCESS ? 0 : rt_fail(rt, "clEnqueueReadBuffer",
		NULL, e);
}

int
rt_launch(struct kiln_rt *rt, const char *kernel, unsigned dims,
	const size_t *gws, const size_t *lws, const struct rt_arg *args,
	size_t nargs)
{
	struct cl_dev *d = cl_of(rt);
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
	e = clEnqueueNDRangeKernel(d->queue, k, dims, NULL, gws, lws, 0,
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


const struct kiln_backend kiln_backend_cl = {
	.name = "OpenCL",
	.open = cl_open,
	.close = cl_close,
	.buf_alloc = cl_buf_alloc,
	.buf_free = cl_buf_free,
	.upload = cl_upload,
	.download = cl_download,
	.finish = cl_finish,
	.build_all = cl_build_all,
	.ops = &kiln_ops_cl,
};
