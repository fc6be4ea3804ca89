/* cl_sources.h - the OpenCL kernel sources embedded at build time, one per
 * .cl file in render-daemon/engine/opencl/kernels, the .clh files it
 * includes pasted in (see tools/embed-cl.sh). */
#ifndef KILN_CL_SOURCES_H
#define KILN_CL_SOURCES_H

#include <stddef.h>

struct cl_source {
	const char *name;	/* file name without .cl */
	const char *text;
};

/* Terminated by a { NULL, NULL } row. */
extern const struct cl_source cl_sources[];

#endif
