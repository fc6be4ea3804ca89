/* cl_devices.h - OpenCL platform and device discovery for kilnd. */
#ifndef KILN_CL_DEVICES_H
#define KILN_CL_DEVICES_H

#include <stdio.h>

#include "util.h"

/* Prints every platform and device to f, one device per line. Returns the
 * number of devices found (0 when there is no platform), or -1 with a
 * message on f when OpenCL itself fails. */
int cl_list_devices(FILE *f);

/* Appends a one-line summary of the devices ("name [CPU]; name [GPU]") to
 * b, or "none" if there are none. Returns the device count, or -1. */
int cl_device_summary(struct buf *b);

#endif
