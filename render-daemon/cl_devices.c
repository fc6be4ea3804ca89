/* cl_devices.c - lists OpenCL platforms and devices through the ICD
 * loader, so an operator can see what kilnd can run on. */
#include "cl_devices.h"
#include "opencl/runtime_cl.h"

#include <stdlib.h>
#include <string.h>

#define MAX_PLATFORMS 16
#define MAX_DEVICES 64

static const char *
type_name(cl_device_type t)
{
	if (t & CL_DEVICE_TYPE_GPU)
		return "GPU";
	if (t & CL_DEVICE_TYPE_CPU)
		return "CPU";
	if (t & CL_DEVICE_TYPE_ACCELERATOR)
		return "accelerator";
	return "other";
}

/* Walks every device; fn gets the indices and the device. Returns the
 * device count, or -1 when clGetPlatformIDs fails for a reason other than
 * "no platform". */
typedef void (*visit_fn)(unsigned pi, cl_platform_id p, unsigned di,
	cl_device_id d, void *arg);

static int
walk(visit_fn fn, void *arg, FILE *errf)
{
	cl_platform_id plats[MAX_PLATFORMS];
	cl_uint np = 0, i, nd, j;
	cl_int e;
	int total = 0;

	e = clGetPlatformIDs(MAX_PLATFORMS, plats, &np);
	/* The ICD loader reports an empty ICD directory as -1001. */
	if (e == -1001 || (e == CL_SUCCESS && np == 0))
		return 0;
	if (e != CL_SUCCESS) {
		if (errf != NULL)
			fprintf(errf, "clGetPlatformIDs failed: error %d\n", e);
		return -1;
	}
	if (np > MAX_PLATFORMS)
		np = MAX_PLATFORMS;
	for (i = 0; i < np; i++) {
		cl_device_id devs[MAX_DEVICES];

		nd = 0;
		e = clGetDeviceIDs(plats[i], CL_DEVICE_TYPE_ALL, MAX_DEVICES,
			devs, &nd);
		if (e == CL_DEVICE_NOT_FOUND)
			nd = 0;
		else if (e != CL_SUCCESS) {
			if (errf != NULL)
				fprintf(errf, "clGetDeviceIDs(platform %u) "
					"failed: error %d\n", i, e);
			nd = 0;
		}
		if (nd > MAX_DEVICES)
			nd = MAX_DEVICES;
		fn(i, plats[i], (unsigned)-1, NULL, arg);
		for (j = 0; j < nd; j++) {
			fn(i, plats[i], j, devs[j], arg);
			total++;
		}
	}
	return total;
}

static void
print_one(unsigned pi, cl_platform_id p, unsigned di, cl_device_id d,
	void *arg)
{
	FILE *f = arg;
	char name[256], vendor[256], version[256];
	cl_device_type type = 0;
	cl_ulong mem = 0;
	cl_uint cu = 0;

	if (d == NULL) {
		cl_platform_text(p, CL_PLATFORM_NAME, name, sizeof(name));
		cl_platform_text(p, CL_PLATFORM_VENDOR, vendor, sizeof(vendor));
		cl_platform_text(p, CL_PLATFORM_VERSION, version, sizeof(version));
		fprintf(f, "platform %u: %s (%s), %s\n", pi, name, vendor,
			version);
		return;
	}
	cl_device_text(d, CL_DEVICE_NAME, name, sizeof(name));
	cl_device_text(d, CL_DEVICE_VERSION, version, sizeof(version));
	clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof(type), &type, NULL);
	clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof(mem), &mem, NULL);
	clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof(cu), &cu, NULL);
	fprintf(f, "  device %u.%u: %s [%s] %u compute units, %.1f GiB, %s\n",
		pi, di, name, type_name(type), cu,
		(double)mem / (1024.0 * 1024.0 * 1024.0), version);
}

int
cl_list_devices(FILE *f)
{
	int n = walk(print_one, f, f);

	if (n == 0)
		fprintf(f, "no OpenCL device found: install a GPU driver's "
			"OpenCL ICD, or pocl-opencl-icd for a CPU device\n");
	return n;
}

struct summary {
	struct buf *b;
	int n;
	int oom;
};

static void
sum_one(unsigned pi, cl_platform_id p, unsigned di, cl_device_id d, void *arg)
{
	struct summary *s = arg;
	char name[256];
	cl_device_type type = 0;

	(void)pi;
	(void)p;
	(void)di;
	if (d == NULL)
		return;
	cl_device_text(d, CL_DEVICE_NAME, name, sizeof(name));
	clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof(type), &type, NULL);
	if (buf_printf(s->b, "%s%s [%s]", s->n ? "; " : "", name,
	    type_name(type)) != 0)
		s->oom = 1;
	s->n++;
}

int
cl_device_summary(struct buf *b)
{
	struct summary s = { b, 0, 0 };
	int n = walk(sum_one, &s, NULL);

	if (s.oom)
		return -1;
	if (n == 0 && buf_puts(b, "none") != 0)
		return -1;
	return n;
}
