/* fuzz_upload.c - libFuzzer harness for uploaded images: the header
 * reader (PNG IHDR, JPEG segments up to the frame header), the whole
 * check with small limits (sniff, size before decoding, the JPEG end
 * marker, libgd's decode, the PNG re-encode) and the base64 / data URI
 * decoder, on the same bytes. Besides never crashing or leaking: an
 * accepted image is within the limits and its header agrees; a size
 * the header reader refuses is never accepted. */
#include "fuzz.h"
#include "upload.h"

#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct upload_limits lim = { 1 << 16, 64 * 64, 64 };
	struct upload_image u;
	enum upload_type t;
	uint8_t *bin = NULL;
	char err[256], *text;
	long w, h;
	size_t n;
	int hrc, rc;

	hrc = upload_header_size(data, size, &t, &w, &h, err, sizeof(err));
	rc = upload_image_check(data, size, &lim, &u, err, sizeof(err));
	if (rc == 0) {
		CHECK(hrc == 0 && u.w == w && u.h == h);
		CHECK(u.w <= 64 && u.h <= 64 && u.png != NULL &&
		    strlen(u.sha256) == 64);
	} else {
		CHECK(err[0] != '\0' && u.png == NULL && u.rgb == NULL);
	}
	upload_image_free(&u);
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (upload_base64_decode(text, size, 1024, &bin, &n, err,
	    sizeof(err)) == 0)
		CHECK(bin != NULL && n <= 1024);
	else
		CHECK(bin == NULL);
	free(bin);
	free(text);
	return 0;
}
