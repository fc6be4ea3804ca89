/* fuzz_imgmaster.c - libFuzzer harness: any bytes read as an image's
 * float master (a stored OpenEXR file, imgexport_master_decode) either
 * decode into w x h pixels in 0..1 or fail with a message, never crash,
 * read out of bounds, leak, or allocate far beyond the input's size; a
 * decoded master encodes again and reads back the same. */
#include "fuzz.h"
#include "imgexport.h"
#include "util.h"

#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	float *rgb = NULL, *again = NULL;
	char err[512] = "", *params = NULL;
	struct buf b = { 0 };
	int w = -1, h = -1, w2, h2;
	size_t i, n;

	if (imgexport_master_decode(data, size, &w, &h, &rgb, &params, err,
	    sizeof(err)) != 0) {
		CHECK(rgb == NULL && params == NULL);
		CHECK(strncmp(err, "float master", 12) == 0 ||
		    strcmp(err, "out of memory") == 0);
		return 0;
	}
	CHECK(w >= 1 && h >= 1 && w <= IMGEXPORT_MAX_SIDE &&
	    h <= IMGEXPORT_MAX_SIDE);
	n = (size_t)w * (size_t)h * 3;
	for (i = 0; i < n; i++)
		CHECK(rgb[i] >= 0.0f && rgb[i] <= 1.0f);
	/* Small ones only: encoding a large image is not the parser. */
	if (n <= 3 * 256 * 256) {
		CHECK(imgexport_master_encode(w, h, rgb, params, &b, err,
		    sizeof(err)) == 0);
		CHECK(imgexport_master_decode(b.data, b.len, &w2, &h2, &again,
		    NULL, err, sizeof(err)) == 0);
		CHECK(w2 == w && h2 == h);
		CHECK(memcmp(again, rgb, n * sizeof(float)) == 0);
	}
	free(again);
	buf_free(&b);
	free(rgb);
	free(params);
	return 0;
}
