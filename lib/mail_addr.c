/* mail_addr.c - what may go into a mail header: addresses and header
 * text. Apart from mail.c so that config.c (in every program, kiln-render
 * too) can check [mail] from without the database or libcurl. */
#include "mail.h"
#include "utf8.h"

#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------ checks */

/* RFC 5322 atext, less nothing: what a dot-atom local part is made of. */
static int
atext(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL);
}

static int
label_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-';
}

int
mail_address_valid(const char *s)
{
	const char *at, *p, *label;
	size_t n, labels = 0;

	if (s == NULL || (n = strlen(s)) == 0 || n > MAIL_ADDR_MAX)
		return 0;
	at = strchr(s, '@');
	if (at == NULL || at == s || at - s > 64 || strchr(at + 1, '@'))
		return 0;
	/* dot-atom: atext runs joined by single dots. */
	for (p = s; p < at; p++) {
		if (*p == '.') {
			if (p == s || p + 1 == at || p[1] == '.')
				return 0;
		} else if (!atext((unsigned char)*p)) {
			return 0;
		}
	}
	/* Host name labels: 1-63 of [A-Za-z0-9-], no '-' at either end. */
	for (label = p = at + 1;; p++) {
		if (*p == '.' || *p == '\0') {
			size_t len = (size_t)(p - label);

			if (len == 0 || len > 63 || label[0] == '-' ||
			    p[-1] == '-')
				return 0;
			labels++;
			if (*p == '\0')
				break;
			label = p + 1;
		} else if (!label_char((unsigned char)*p)) {
			return 0;
		}
	}
	return labels >= 2;
}

int
mail_header_text_ok(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n, i, k;
	uint32_t cp;

	if (s == NULL || (n = strlen(s)) > 512)
		return 0;
	for (i = 0; i < n; i += k) {
		k = utf8_next(u + i, n - i, &cp);
		if (cp == UTF8_INVALID || cp < 0x20 || cp == 0x7f ||
		    (cp >= 0x80 && cp < 0xa0) || cp == 0x2028 || cp == 0x2029)
			return 0;
	}
	return 1;
}

