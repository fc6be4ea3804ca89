/* fuzz_config.c - libFuzzer harness: any bytes given to the kiln.conf
 * parser either load or fail with a message, never crash or leak. */
#include "config.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kiln_config c;
	char err[256];

	if (config_parse(&c, "fuzz", (const char *)data, size, err,
	    sizeof(err)) == 0)
		config_free(&c);
	else if (strlen(err) == 0)
		__builtin_trap();	/* every failure says why */
	return 0;
}
