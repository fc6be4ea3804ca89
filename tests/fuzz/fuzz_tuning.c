/* fuzz_tuning.c - libFuzzer harness for the GEMM tuning file reader: any
 * bytes either load into a valid struct tuning or fail with a message
 * naming the file, never crash or leak. No device is needed: the reader
 * only parses and validates. */
#include "tuning.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kiln_rt rt;	/* no device: messages only */
	struct tuning t;
	FILE *f;
	size_t i, j;
	int r;

	if (path[0] == '\0') {
		int fd;

		snprintf(path, sizeof(path), "/tmp/kiln-fuzz-tuning-XXXXXX");
		fd = mkstemp(path);
		if (fd < 0)
			abort();
		close(fd);
	}
	f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	rt.err[0] = '\0';
	r = tuning_load(&rt, path, &t);
	if (r < 0 && strstr(rt.err, path) == NULL)
		__builtin_trap();	/* every failure names the file */
	if (r == 0) {
		/* What loaded is internally consistent. */
		if (t.nkernels > TUNING_MAX_KERNELS)
			__builtin_trap();
		for (i = 0; i < t.nkernels; i++) {
			if (t.kernel[i].nparams > TUNING_MAX_PARAMS ||
			    memchr(t.kernel[i].name, '\0',
			    TUNING_NAME_MAX) == NULL)
				__builtin_trap();
			for (j = 0; j < t.kernel[i].nparams; j++)
				if (memchr(t.kernel[i].param[j], '\0',
				    TUNING_NAME_MAX) == NULL)
					__builtin_trap();
		}
	}
	return 0;
}
