/* fuzz_multipart.c - libFuzzer harness for multipart/form-data: the
 * input's first line is a Content-Type for multipart_boundary, the rest
 * the body, parsed with that boundary (or "XyZ" when the line has none).
 * Besides never crashing or leaking: every part lies inside the body and
 * is followed there by the delimiter, has a name without control
 * characters, and there are at most MP_MAX_PARTS of them. */
#include "fuzz.h"
#include "multipart.h"

#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size), *body;
	char ct[256], b[72], delim[80], msg[256];
	struct mp_part *p = NULL;
	size_t n = 0, i, blen, k, dl;

	if (nl == NULL || (size_t)(nl - data) >= sizeof(ct))
		return 0;
	memcpy(ct, data, (size_t)(nl - data));
	ct[nl - data] = '\0';
	if (multipart_boundary(ct, b) == 0)
		CHECK(strlen(b) >= 1 && strlen(b) <= 70);
	else
		strcpy(b, "XyZ");
	body = nl + 1;
	blen = size - (size_t)(body - data);
	dl = (size_t)snprintf(delim, sizeof(delim), "\r\n--%s", b);
	if (multipart_parse(body, blen, b, &p, &n, msg, sizeof(msg)) != 0) {
		CHECK(p == NULL && n == 0 && msg[0] != '\0');
		return 0;
	}
	CHECK(n <= MP_MAX_PARTS);
	for (i = 0; i < n; i++) {
		CHECK(p[i].name != NULL && p[i].name[0] != '\0');
		for (k = 0; p[i].name[k] != '\0'; k++)
			CHECK((unsigned char)p[i].name[k] >= 0x20);
		CHECK(p[i].data >= body && p[i].data + p[i].len <= body + blen);
		CHECK(p[i].data + p[i].len + dl <= body + blen &&
		    !memcmp(p[i].data + p[i].len, delim, dl));
	}
	multipart_free(p, n);
	return 0;
}
