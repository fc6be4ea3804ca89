/* test_multipart.c - multipart/form-data: the boundary from the content
 * type, text fields and files with their names and bytes (binary, CRLF
 * and "--" inside included), and every refusal: a cut body, a missing
 * closing boundary, parts without a name, too many parts, headers too
 * long; then the request side, where text parts become the form and an
 * empty file input is no file. */
#include "multipart.h"
#include "request.h"
#include "tap.h"

#include <stdlib.h>

static const char body1[] =
	"preamble to ignore\r\n"
	"--XyZ\r\n"
	"Content-Disposition: form-data; name=\"prompt\"\r\n"
	"\r\n"
	"a red fox\r\n"
	"--XyZ\r\n"
	"Content-Disposition: form-data; name=\"init_image\"; "
	"filename=\"f\\\"ox.png\"\r\n"
	"Content-Type: image/png\r\n"
	"\r\n"
	"\x89PNG\r\n--Xy\0\r\nZ\r\n"
	"--XyZ\r\n"
	"Content-Disposition: form-data; name=\"mask\"; filename=\"\"\r\n"
	"Content-Type: application/octet-stream\r\n"
	"\r\n"
	"\r\n"
	"--XyZ--\r\n"
	"epilogue";

static void
boundary_from_content_type(void)
{
	char b[72];

	CHECK(multipart_boundary("multipart/form-data; boundary=XyZ", b) ==
	    0);
	CHECK_STR(b, "XyZ");
	CHECK(multipart_boundary("multipart/form-data; charset=utf-8; "
	    "boundary=\"a b:c\"", b) == 0);
	CHECK_STR(b, "a b:c");
	CHECK(multipart_boundary("multipart/form-data;boundary=----WebKit"
	    "FormBoundary7MA4YWxkTrZu0gW", b) == 0);
	CHECK(multipart_boundary("multipart/form-data", b) == -1);
	CHECK(multipart_boundary("multipart/mixed; boundary=x", b) == -1);
	CHECK(multipart_boundary("application/json", b) == -1);
	CHECK(multipart_boundary("multipart/form-data; boundary=", b) == -1);
	CHECK(multipart_boundary("multipart/form-data; boundary=\"x", b) ==
	    -1);
	CHECK(multipart_boundary("multipart/form-data; boundary=a<b", b) ==
	    -1);
	CHECK(multipart_boundary("multipart/form-data; boundary=0123456789"
	    "0123456789012345678901234567890123456789012345678901234567890",
	    b) == -1);	/* 71 characters */
}

static void
fields_and_files(void)
{
	struct mp_part *p = NULL;
	char msg[256];
	size_t n = 0;

	CHECK(multipart_parse((const uint8_t *)body1, sizeof(body1) - 1,
	    "XyZ", &p, &n, msg, sizeof(msg)) == 0);
	CHECK(n == 3);
	if (n != 3) {
		multipart_free(p, n);
		return;
	}
	CHECK_STR(p[0].name, "prompt");
	CHECK(p[0].filename == NULL && p[0].ctype == NULL);
	CHECK(p[0].len == 9 && !memcmp(p[0].data, "a red fox", 9));
	CHECK_STR(p[1].name, "init_image");
	CHECK_STR(p[1].filename, "f\"ox.png");
	CHECK_STR(p[1].ctype, "image/png");
	CHECK(p[1].len == 14 && !memcmp(p[1].data, "\x89PNG\r\n--Xy\0\r\nZ",
	    14));
	CHECK_STR(p[2].filename, "");
	CHECK(p[2].len == 0);
	multipart_free(p, n);
}

/* body1 with its bytes from cut on left out, or with text spliced in. */
static int
refused(const char *body, size_t len, const char *why)
{
	struct mp_part *p = (struct mp_part *)1;
	char msg[256] = "";
	size_t n = 7;
	int rc = multipart_parse((const uint8_t *)body, len, "XyZ", &p, &n,
	    msg, sizeof(msg));

	if (rc == 0)
		multipart_free(p, n);
	if (rc != -1 || p != NULL || n != 0 || strstr(msg, why) == NULL) {
		printf("# got %d, \"%s\", want \"%s\"\n", rc, msg, why);
		return 0;
	}
	return 1;
}

static void
bad_bodies_are_refused(void)
{
	char big[MP_MAX_HEADER + 200];
	struct buf b = { 0 };
	size_t cut;
	int i;

	/* Cut anywhere before the closing boundary: refused, never a
	 * shorter part. */
	for (cut = 0; cut < sizeof(body1) - 1 - strlen("--\r\nepilogue");
	    cut++)
		CHECK(refused(body1, cut, ""));
	CHECK(refused("--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n"
	    "--XyZ--", 51, "name"));
	CHECK(refused("--XyZ\r\nContent-Disposition: attachment; name=a\r\n"
	    "\r\nx\r\n--XyZ--", 60, "not form-data"));
	CHECK(refused("--XyZ\r\nX-Other: 1\r\n\r\nx\r\n--XyZ--", 31,
	    "no Content-Disposition"));
	CHECK(refused("--XyZ\r\nContent-Disposition form-data\r\n\r\nx\r\n"
	    "--XyZ--", 50, "no colon"));
	CHECK(refused("--XyZ\r\nContent-Disposition: form-data; name=\"a\x01"
	    "\"\r\n\r\nx\r\n--XyZ--", 62, "malformed"));
	CHECK(refused("no parts here", 13, "no part"));
	memset(big, 'a', sizeof(big));
	memcpy(big, "--XyZ\r\nX: ", 10);
	CHECK(refused(big, sizeof(big), "longer than"));
	for (i = 0; i <= MP_MAX_PARTS; i++)
		buf_printf(&b, "--XyZ\r\nContent-Disposition: form-data; "
		    "name=f%d\r\n\r\nv\r\n", i);
	buf_puts(&b, "--XyZ--");
	CHECK(refused(b.data, b.len, "more than"));
	buf_free(&b);
}

static void
request_form_and_files(void)
{
	struct kreq r;
	const uint8_t *d;
	size_t len;
	char msg[256];

	memset(&r, 0, sizeof(r));
	r.content_type = "multipart/form-data; boundary=XyZ";
	CHECK(req_body_take(&r, strdup("--XyZ\r\nContent-Disposition: "
	    "form-data; name=csrf\r\n\r\ntok\r\n--XyZ\r\nContent-Disposition:"
	    " form-data; name=init_image; filename=a.png\r\n\r\nPNG!\r\n"
	    "--XyZ\r\nContent-Disposition: form-data; name=mask; filename="
	    "\"\"\r\n\r\n\r\n--XyZ--\r\n"), 213, msg, sizeof(msg)) == 0);
	CHECK(r.nform == 1 && !strcmp(r.form[0].key, "csrf") &&
	    !strcmp(r.form[0].val, "tok"));
	CHECK(req_file(&r, "init_image", &d, &len) == 1 && len == 4 &&
	    !memcmp(d, "PNG!", 4));
	CHECK(req_file(&r, "mask", &d, &len) == 0);
	CHECK(req_file(&r, "csrf", &d, &len) == 0);
	req_free(&r);
	memset(&r, 0, sizeof(r));
	r.content_type = "multipart/form-data; boundary=XyZ";
	CHECK(req_body_take(&r, strdup("--XyZ\r\nContent-Disposition: "
	    "form-data; name=csrf\r\n\r\nto"), 54, msg, sizeof(msg)) == 400);
	CHECK(strstr(msg, "cut short") != NULL);
	req_free(&r);
}

int
main(void)
{
	RUN(boundary_from_content_type);
	RUN(fields_and_files);
	RUN(bad_bodies_are_refused);
	RUN(request_form_and_files);
	return tap_done();
}
