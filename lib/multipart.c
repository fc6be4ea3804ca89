/* multipart.c - multipart/form-data parsed in place (multipart.h). */
#include "multipart.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* RFC 2046's bchars: what a boundary may hold (space not last). */
static int
bchar(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		(c >= 'A' && c <= 'Z') || strchr("'()+_,-./:=? ", c) != NULL;
}

int
multipart_boundary(const char *ct, char *out)
{
	const char *p;
	size_t n = 0;
	int quoted;

	if (strncasecmp(ct, "multipart/form-data", 19) != 0 ||
	    (ct[19] != ';' && ct[19] != ' ' && ct[19] != '\0'))
		return -1;
	for (p = ct + 19; *p != '\0'; p++) {
		if (strncasecmp(p, "boundary=", 9) == 0 &&
		    (p[-1] == ';' || p[-1] == ' '))
			break;
	}
	if (*p == '\0')
		return -1;
	p += 9;
	quoted = *p == '"';
	if (quoted)
		p++;
	while (*p != '\0' && (quoted ? *p != '"' : *p != ';' && *p != ' ')) {
		if (!bchar((unsigned char)*p) || n == 70)
			return -1;
		out[n++] = *p++;
	}
	if ((quoted && *p != '"') || n == 0 || out[n - 1] == ' ')
		return -1;
	out[n] = '\0';
	return 0;
}

void
multipart_free(struct mp_part *parts, size_t n)
{
	size_t i;

	for (i = 0; parts != NULL && i < n; i++) {
		free(parts[i].name);
		free(parts[i].filename);
		free(parts[i].ctype);
	}
	free(parts);
}

/* The value of parameter key (name, filename) in a header's value
 * h..end: quoted (backslash escapes the next character) or a token.
 * Returns a fresh string, NULL when absent, or (char *)-1 when it is
 * malformed or too long or holds a control character. */
static char *
param(const char *h, const char *end, const char *key)
{
	size_t kl = strlen(key), n = 0;
	const char *p = h;
	char buf[MP_MAX_NAME + 1];

	for (;;) {
		while (p < end && *p != ';')
			p++;
		if (p >= end)
			return NULL;
		p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if ((size_t)(end - p) > kl && !strncasecmp(p, key, kl) &&
		    p[kl] == '=')
			break;
	}
	p += kl + 1;
	if (p < end && *p == '"') {
		for (p++; p < end && *p != '"'; p++) {
			if (*p == '\\' && p + 1 < end)
				p++;
			if (n == MP_MAX_NAME || (unsigned char)*p < 0x20 ||
			    *p == 0x7f)
				return (char *)-1;
			buf[n++] = *p;
		}
		if (p >= end)
			return (char *)-1;
	} else {
		for (; p < end && *p != ';' && *p != ' ' && *p != '\t'; p++) {
			if (n == MP_MAX_NAME || (unsigned char)*p < 0x20 ||
			    *p == 0x7f)
				return (char *)-1;
			buf[n++] = *p;
		}
	}
	buf[n] = '\0';
	return xstrdup(buf);
}

/* Reads one part's headers h..end (CRLF-separated lines, no final
 * empty line) into pt. Returns 0, or -1 with why in msg. */
static int
part_headers(const char *h, const char *end, struct mp_part *pt, char *msg,
	size_t msglen)
{
	int disposition = 0;

	while (h < end) {
		const char *eol = memmem(h, (size_t)(end - h), "\r\n", 2);
		const char *colon, *v;

		if (eol == NULL)
			eol = end;
		colon = memchr(h, ':', (size_t)(eol - h));
		if (colon == NULL)
			return errf(msg, msglen, "a part's header line has "
				"no colon");
		for (v = h; v < eol; v++)
			if (*v == '\0')
				return errf(msg, msglen, "a part's header "
					"holds a NUL byte");
		v = colon + 1;
		while (v < eol && (*v == ' ' || *v == '\t'))
			v++;
		if (colon - h == 19 && !strncasecmp(h, "Content-Disposition",
		    19)) {
			char *name, *file;

			if (disposition++ || (size_t)(eol - v) < 9 ||
			    strncasecmp(v, "form-data", 9) != 0)
				return errf(msg, msglen, "a part is not "
					"form-data (or says so twice)");
			name = param(v, eol, "name");
			file = param(v, eol, "filename");
			if (name == NULL || name == (char *)-1 ||
			    file == (char *)-1 || *name == '\0') {
				if (name != (char *)-1)
					free(name);
				if (file != (char *)-1)
					free(file);
				return errf(msg, msglen, "a part's name or "
					"file name is missing or malformed");
			}
			pt->name = name;
			pt->filename = file;
		} else if (colon - h == 12 && !strncasecmp(h, "Content-Type",
		    12) && pt->ctype == NULL) {
			size_t n = (size_t)(eol - v);

			pt->ctype = xstrndup(v, n > 127 ? 127 : n);
		}
		h = eol + 2;
	}
	if (pt->name == NULL)
		return errf(msg, msglen, "a part has no Content-Disposition "
			"name");
	return 0;
}

int
multipart_parse(const uint8_t *body, size_t len, const char *boundary,
	struct mp_part **parts, size_t *n, char *msg, size_t msglen)
{
	char delim[80];
	size_t dl, cnt = 0;
	const char *s = (const char *)body, *end = s + len, *p;
	struct mp_part *v = NULL;

	*parts = NULL;
	*n = 0;
	/* "\r\n--BOUNDARY": the first one may open the body without its
	 * CRLF. */
	dl = (size_t)snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
	if (dl >= sizeof(delim) || strlen(boundary) < 1)
		return errf(msg, msglen, "bad boundary");
	if (len >= dl - 2 && !memcmp(s, delim + 2, dl - 2))
		p = s + dl - 2;
	else {
		p = memmem(s, len, delim, dl);
		if (p == NULL)
			return errf(msg, msglen, "no part in the body");
		p += dl;
	}
	v = xcalloc(MP_MAX_PARTS, sizeof(*v));
	for (;;) {
		const char *hend, *next;
		struct mp_part *pt;

		/* After a delimiter: "--" ends the body; else transport
		 * padding, then the line's CRLF. */
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			break;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n') {
			errf(msg, msglen, "the body is cut short or malformed "
				"after a boundary");
			goto bad;
		}
		p += 2;
		if (cnt == MP_MAX_PARTS) {
			errf(msg, msglen, "more than %d parts", MP_MAX_PARTS);
			goto bad;
		}
		pt = &v[cnt++];
		/* Headers end at an empty line: none at all is "\r\n". */
		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
			hend = p;
		else {
			size_t look = (size_t)(end - p);

			if (look > MP_MAX_HEADER + 4)
				look = MP_MAX_HEADER + 4;
			hend = memmem(p, look, "\r\n\r\n", 4);
			if (hend == NULL) {
				errf(msg, msglen, "a part's headers are longer "
					"than %d bytes or cut short",
					MP_MAX_HEADER);
				goto bad;
			}
		}
		if (part_headers(p, hend, pt, msg, msglen) != 0)
			goto bad;
		p = hend + (hend == p ? 2 : 4);
		next = memmem(p, (size_t)(end - p), delim, dl);
		if (next == NULL) {
			errf(msg, msglen, "the body is cut short: no closing "
				"boundary");
			goto bad;
		}
		pt->data = (const uint8_t *)p;
		pt->len = (size_t)(next - p);
		p = next + dl;
	}
	*parts = v;
	*n = cnt;
	return 0;
bad:
	multipart_free(v, cnt);
	return -1;
}
