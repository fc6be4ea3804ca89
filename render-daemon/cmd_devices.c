/* cmd_devices.c - kiln-render devices: what OpenCL offers on this host. */
#include "cl_devices.h"
#include "commands.h"

#include <stdio.h>

int
cmd_devices(int argc, char **argv)
{
	(void)argv;
	if (argc != 0) {
		fprintf(stderr, "usage: kiln-render devices\n");
		return 2;
	}
	return cl_list_devices(stdout) > 0 ? 0 : 1;
}
