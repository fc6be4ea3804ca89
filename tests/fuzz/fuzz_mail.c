/* fuzz_mail.c - libFuzzer harness for building mail (mail.h): the input,
 * split at NULs, is the To address, the To name, the subject and the
 * body. A message is either refused whole (nothing appended) or holds
 * exactly the fixed header lines (so no value made one of its own: no
 * injected Bcc), every line ends in CRLF with no bare CR or LF, and none
 * is longer than 78 bytes (but a line holding an address longer than
 * 74, which cannot be folded: at most 998); the address checks agree
 * with it. */
#include "fuzz.h"
#include "mail.h"
#include "util.h"

#include <string.h>

/* The header fields mail_build writes, in order. */
static const char *const fields[] = { "Date:", "Message-ID:", "From:",
	"To:", "Subject:", "MIME-Version:", "Content-Type:",
	"Content-Transfer-Encoding:", "Auto-Submitted:" };

static void
check_message(const char *m, size_t len, size_t maxcol)
{
	size_t i = 0, col = 0, nf = 0, line = 0;
	int in_head = 1;

	CHECK(len >= 2 && m[len - 2] == '\r' && m[len - 1] == '\n');
	for (i = 0; i < len; i++) {
		if (m[i] == '\r') {
			CHECK(i + 1 < len && m[i + 1] == '\n');
			if (in_head && col == 0)
				in_head = 0;	/* the blank line */
			i++;
			col = 0;
			line = i + 1;
			continue;
		}
		CHECK(m[i] != '\n' && m[i] != '\0');
		if (in_head && col == 0 && m[i] != ' ') {
			size_t k = strlen(fields[nf < 9 ? nf : 8]);

			CHECK(nf < 9 && !strncmp(m + line, fields[nf], k));
			nf++;
		}
		col++;
		CHECK(col <= maxcol);
	}
	CHECK(nf == 9 && !in_head);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char id[16];
	char *copy = malloc(size + 4), *part[4];
	struct mail_msg msg;
	struct buf b = { 0 };
	char err[160];
	size_t i, k = 0;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	memset(copy + size, 0, 4);
	part[0] = copy;
	for (i = 0; i < size && k < 3; i++)
		if (copy[i] == '\0')
			part[++k] = copy + i + 1;
	for (; k < 3; k++)
		part[k + 1] = copy + size;
	msg.from = "kiln@kiln.example";
	msg.from_name = "kiln";
	msg.to = part[0];
	msg.to_name = part[1];
	msg.subject = part[2];
	msg.body = part[3];
	if (mail_build(&msg, 1796667276LL, id, &b, err, sizeof(err)) == 0) {
		CHECK(mail_address_valid(part[0]));
		CHECK(mail_header_text_ok(part[1]));
		CHECK(mail_header_text_ok(part[2]) && part[2][0] != '\0');
		check_message(b.data, b.len,
		    strlen(part[0]) > 74 ? 998 : 78);
	} else {
		CHECK(b.len == 0);
		CHECK(!mail_address_valid(part[0]) ||
		    !mail_header_text_ok(part[1]) ||
		    !mail_header_text_ok(part[2]) || part[2][0] == '\0');
	}
	buf_free(&b);
	free(copy);
	return 0;
}
