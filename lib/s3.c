/* s3.c - whole-object requests to S3-compatible storage over libcurl
 * (SigV4 by curl), presigned URLs (SigV4 query signing, here), and the
 * ListObjectsV2 answer's parser. See s3.h. */
#include "s3.h"
#include "util.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest URL or header built here: keys are at most 255 bytes and the
 * endpoint, bucket and prefix are config values of bounded size. */
#define S3_URL_MAX 2048

int
s3_endpoint_ok(const char *ep, char *msg, size_t msglen)
{
	const char *h, *p;
	size_t n = strlen(ep);

	if (!strncmp(ep, "http://", 7))
		h = ep + 7;
	else if (!strncmp(ep, "https://", 8))
		h = ep + 8;
	else
		return errf(msg, msglen, "want http://HOST[:PORT] or "
			"https://HOST[:PORT], got \"%.200s\"", ep);
	if (n > 512)
		return errf(msg, msglen, "longer than 512 bytes");
	if (*h == '[') {
		p = strchr(h, ']');
		if (p == NULL || p == h + 1)
			return errf(msg, msglen, "an IPv6 host wants a ']'");
		for (h++; h < p; h++)
			if (!((*h >= '0' && *h <= '9') || (*h >= 'a' &&
			    *h <= 'f') || (*h >= 'A' && *h <= 'F') ||
			    *h == ':' || *h == '.'))
				return errf(msg, msglen, "a bad IPv6 host");
		p++;
	} else {
		for (p = h; (*p >= 'a' && *p <= 'z') || (*p >= 'A' &&
		    *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		    *p == '-'; p++)
			;
		if (p == h)
			return errf(msg, msglen, "no host in \"%.200s\"", ep);
	}
	if (*p == ':') {
		const char *d = ++p;

		while (*p >= '0' && *p <= '9')
			p++;
		if (p == d || p - d > 5 || atol(d) < 1 || atol(d) > 65535)
			return errf(msg, msglen, "a bad port in \"%.200s\"",
				ep);
	}
	if (*p == '/')
		p++;
	if (*p != '\0')
		return errf(msg, msglen, "no path or query after the host, "
			"got \"%.200s\"", ep);
	return 0;
}

int
s3_bucket_ok(const char *b)
{
	size_t n = strlen(b), i;

	if (n < 3 || n > 63)
		return 0;
	for (i = 0; i < n; i++)
		if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' &&
		    b[i] <= '9') || b[i] == '.' || b[i] == '-'))
			return 0;
	return b[0] != '.' && b[0] != '-' && b[n - 1] != '.' &&
		b[n - 1] != '-';
}

void
s3_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, data, len);
	sodium_bin2hex(out, 65, h, sizeof(h));
}

/* The endpoint's scheme ("http"/"https") into scheme and "host[:port]"
 * into host, the trailing '/' dropped. */
static void
split_endpoint(const char *ep, char *scheme, size_t sn, char *host,
	size_t hn)
{
	const char *h = strstr(ep, "://");
	size_t n;

	snprintf(scheme, sn, "%.*s", (int)(h - ep), ep);
	h += 3;
	n = strlen(h);
	if (n > 0 && h[n - 1] == '/')
		n--;
	snprintf(host, hn, "%.*s", (int)n, h);
}

/* The path part of an object's URL ("/bucket/prefix/key" or, virtual
 * hosted, "/prefix/key"), and its host. Keys and prefixes are of
 * [A-Za-z0-9._-/] (storage_key_ok; the prefix is checked at load): the
 * path needs no escaping. Returns 0 or -1 when it does not fit. */
static int
object_url(const struct s3_conf *c, const char *key, char *url, size_t n,
	char *path, size_t pn, char *hostout, size_t hn)
{
	char scheme[8], host[600];

	split_endpoint(c->endpoint, scheme, sizeof(scheme), host,
		sizeof(host));
	if (c->virtual_host) {
		if (snprintf_checked(hostout, hn, "%s.%s", c->bucket, host) ||
		    snprintf_checked(path, pn, "/%s%s", c->prefix, key))
			return -1;
	} else if (snprintf_checked(hostout, hn, "%s", host) ||
	    snprintf_checked(path, pn, "/%s/%s%s", c->bucket, c->prefix,
	    key))
		return -1;
	return snprintf_checked(url, n, "%s://%s%s", scheme, hostout, path);
}

/* RFC 3986 escaping as SigV4 wants it: every byte but A-Z a-z 0-9 - _ .
 * ~ as %XX (upper-case hex); '/' too unless keep_slash. */
static int
uri_escape(struct buf *b, const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
		    ch == '.' || ch == '~' || (keep_slash && ch == '/')) {
			if (buf_append(b, s, 1) != 0)
				return -1;
		} else if (buf_printf(b, "%%%c%c", hex[ch >> 4],
		    hex[ch & 15]) != 0)
			return -1;
	}
	return 0;
}

/* What one request gathers: the body (at most max bytes), and its
 * Content-Length header. */
struct sink {
	struct buf *b;
	size_t max;
	int too_large;
};

static size_t
on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;

	if (s->b->len + n > s->max) {
		s->too_large = 1;
		return 0;
	}
	return buf_append(s->b, p, n) == 0 ? n : 0;
}

/* The text of <tag>...</tag> in an error body, or "" (S3's <Code> and
 * <Message>), into out. */
static void
xml_field(const char *body, size_t len, const char *tag, char *out, size_t n)
{
	char open[32], close[32];
	const char *a, *e, *end = body + len;

	*out = '\0';
	if (body == NULL)
		return;
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	a = memmem(body, len, open, strlen(open));
	if (a == NULL)
		return;
	a += strlen(open);
	e = memmem(a, (size_t)(end - a), close, strlen(close));
	if (e == NULL)
		return;
	snprintf(out, n, "%.*s", (int)(e - a > 200 ? 200 : e - a), a);
}

/* One signed request. method: "PUT", "GET", "DELETE". url: the whole
 * URL; body/len the PUT's; out (may be NULL: a throwaway buffer) gets
 * the answer's body, at most max bytes. Returns the HTTP status (>= 100),
 * or -1 with a message naming what (the key) in err. */
static long
request(const struct s3_conf *c, const char *method, const char *url,
	const char *what, const void *body, size_t len, const char *ctype,
	struct buf *out, size_t max, char *err, size_t errlen)
{
	struct buf scratch = { 0 };
	struct sink sink = { out != NULL ? out : &scratch, max, 0 };
	struct curl_slist *h = NULL;
	char hdr[256], sigv4[128], hash[65], ebuf[CURL_ERROR_SIZE] = "";
	char *userpwd = NULL;
	curl_off_t cl = -1;
	size_t before = sink.b->len;
	long status = -1;
	CURLcode rc;
	CURL *cu;

	cu = curl_easy_init();
	if (cu == NULL) {
		errf(err, errlen, "s3 %s %s: cannot start curl", method, what);
		return -1;
	}
	snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:s3", c->region);
	userpwd = xasprintf("%s:%s", c->access_key, c->secret_key);
	/* The payload's hash, signed: curl takes the header's value as the
	 * hashed payload, so the signature covers the body. */
	s3_sha256_hex(body != NULL ? body : "", body != NULL ? len : 0, hash);
	snprintf(hdr, sizeof(hdr), "x-amz-content-sha256: %s", hash);
	h = curl_slist_append(h, hdr);
	/* No "Expect: 100-continue" round trip: one request, one answer. */
	h = curl_slist_append(h, "Expect:");
	if (!strcmp(method, "PUT")) {
		unsigned char md5[16];
		unsigned int mdlen = 0;
		char b64[32];

		/* Content-MD5: the server recomputes it over what it got and
		 * refuses a body that changed on the way (BadDigest). */
		EVP_Digest(body != NULL ? body : "", len, md5, &mdlen,
			EVP_md5(), NULL);
		sodium_bin2base64(b64, sizeof(b64), md5, sizeof(md5),
			sodium_base64_VARIANT_ORIGINAL);
		snprintf(hdr, sizeof(hdr), "Content-MD5: %s", b64);
		h = curl_slist_append(h, hdr);
		snprintf(hdr, sizeof(hdr), "Content-Type: %s", ctype != NULL ?
			ctype : "application/octet-stream");
		h = curl_slist_append(h, hdr);
		curl_easy_setopt(cu, CURLOPT_CUSTOMREQUEST, "PUT");
		curl_easy_setopt(cu, CURLOPT_POSTFIELDS, body != NULL ? body :
			"");
		curl_easy_setopt(cu, CURLOPT_POSTFIELDSIZE_LARGE,
			(curl_off_t)len);
	} else if (!strcmp(method, "DELETE")) {
		curl_easy_setopt(cu, CURLOPT_CUSTOMREQUEST, "DELETE");
	}
	if (h == NULL) {
		errf(err, errlen, "s3 %s %s: out of memory", method, what);
		goto out;
	}
	curl_easy_setopt(cu, CURLOPT_URL, url);
	curl_easy_setopt(cu, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(cu, CURLOPT_AWS_SIGV4, sigv4);
	curl_easy_setopt(cu, CURLOPT_USERPWD, userpwd);
	curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(cu, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(cu, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(cu, CURLOPT_TIMEOUT, c->timeout);
	curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT, c->timeout < 10 ?
		c->timeout : 10L);
	curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "http,https");
	/* An object store answers where it is asked; it never redirects a
	 * signed request elsewhere. */
	curl_easy_setopt(cu, CURLOPT_FOLLOWLOCATION, 0L);
	rc = curl_easy_perform(cu);
	curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &status);
	if (rc == CURLE_WRITE_ERROR && sink.too_large) {
		errf(err, errlen, "s3 %s %s: larger than %zu bytes", method,
			what, max);
		status = -1;
		goto out;
	}
	if (rc != CURLE_OK) {
		errf(err, errlen, "s3 %s %s: %s", method, what, *ebuf ? ebuf :
			curl_easy_strerror(rc));
		status = -1;
		goto out;
	}
	if (status >= 300) {
		char code[256], message[256];
		const char *d = sink.b->data ? sink.b->data + before : NULL;

		xml_field(d, sink.b->len - before, "Code", code, sizeof(code));
		xml_field(d, sink.b->len - before, "Message", message,
			sizeof(message));
		errf(err, errlen, "s3 %s %s: HTTP %ld%s%s%s%s", method, what,
			status, *code ? " " : "", code, *message ? ": " : "",
			message);
		/* The caller sees the status (404 is an answer, not an
		 * error, to a GET or DELETE); the body is not the object. */
		sink.b->len = before;
		goto out;
	}
	/* The whole object or an error: a body shorter than its declared
	 * length is a transfer that broke off (curl says so too, but a
	 * server that closes early without a length is caught here). */
	if (!strcmp(method, "GET") &&
	    curl_easy_getinfo(cu, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) ==
	    CURLE_OK && cl >= 0 && (size_t)cl != sink.b->len - before) {
		errf(err, errlen, "s3 GET %s: got %zu bytes, the server said "
			"%lld", what, sink.b->len - before, (long long)cl);
		status = -1;
	}
out:
	curl_slist_free_all(h);
	curl_easy_cleanup(cu);
	sodium_memzero(userpwd, strlen(userpwd));
	free(userpwd);
	buf_free(&scratch);
	return status;
}

int
s3_put(const struct s3_conf *c, const char *key, const void *data,
	size_t len, const char *content_type, char *err, size_t errlen)
{
	char url[S3_URL_MAX], path[S3_URL_MAX], host[700];
	long st;

	if (object_url(c, key, url, sizeof(url), path, sizeof(path), host,
	    sizeof(host)) != 0)
		return errf(err, errlen, "s3: key too long: %.80s", key);
	st = request(c, "PUT", url, key, data, len, content_type, NULL,
		1 << 20, err, errlen);
	return st >= 200 && st < 300 ? 0 : -1;
}

int
s3_get(const struct s3_conf *c, const char *key, size_t max, struct buf *out,
	char *err, size_t errlen)
{
	char url[S3_URL_MAX], path[S3_URL_MAX], host[700];
	long st;

	if (object_url(c, key, url, sizeof(url), path, sizeof(path), host,
	    sizeof(host)) != 0)
		return errf(err, errlen, "s3: key too long: %.80s", key);
	st = request(c, "GET", url, key, NULL, 0, NULL, out, max, err,
		errlen);
	if (st == 404)
		return 1;
	return st >= 200 && st < 300 ? 0 : -1;
}

int
s3_delete(const struct s3_conf *c, const char *key, char *err, size_t errlen)
{
	char url[S3_URL_MAX], path[S3_URL_MAX], host[700];
	long st;

	if (object_url(c, key, url, sizeof(url), path, sizeof(path), host,
	    sizeof(host)) != 0)
		return errf(err, errlen, "s3: key too long: %.80s", key);
	st = request(c, "DELETE", url, key, NULL, 0, NULL, NULL, 1 << 20,
		err, errlen);
	return (st >= 200 && st < 300) || st == 404 ? 0 : -1;
}

/* Decodes the five XML entities and &#N; / &#xN; (ASCII only: keys are
 * ASCII) of s[0..n) into out (n + 1 bytes). Returns 0, or -1 for a
 * malformed or non-ASCII reference or a control byte. */
static int
xml_text(const char *s, size_t n, char *out)
{
	static const struct { const char *name; char c; } ent[] = {
		{ "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' },
		{ "quot;", '"' }, { "apos;", '\'' },
	};
	size_t i = 0, o = 0, k;

	while (i < n) {
		if (s[i] != '&') {
			if ((unsigned char)s[i] < 0x20)
				return -1;
			out[o++] = s[i++];
			continue;
		}
		i++;
		for (k = 0; k < ARRAY_LEN(ent); k++) {
			size_t l = strlen(ent[k].name);

			if (n - i >= l && !memcmp(s + i, ent[k].name, l)) {
				out[o++] = ent[k].c;
				i += l;
				break;
			}
		}
		if (k < ARRAY_LEN(ent))
			continue;
		if (i < n && s[i] == '#') {
			unsigned long v = 0;
			int hexa = 0, digits = 0;

			i++;
			if (i < n && s[i] == 'x') {
				hexa = 1;
				i++;
			}
			for (; i < n && s[i] != ';' && digits < 8; i++,
			    digits++) {
				int d = hexa ? hex_digit((unsigned char)s[i]) :
					(s[i] >= '0' && s[i] <= '9' ?
					s[i] - '0' : -1);

				if (d < 0)
					return -1;
				v = v * (hexa ? 16 : 10) + (unsigned long)d;
			}
			if (i >= n || s[i] != ';' || digits == 0 || v < 0x20 ||
			    v > 0x7e)
				return -1;
			i++;
			out[o++] = (char)v;
			continue;
		}
		return -1;
	}
	out[o] = '\0';
	return 0;
}

/* The text between <tag> and </tag> at the first <tag> in [p, end):
 * *a and *n, and returns the position after </tag>; NULL when there is
 * no whole element. */
static const char *
element(const char *p, const char *end, const char *tag, const char **a,
	size_t *n)
{
	char open[40], close[40];
	const char *s, *e;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	s = memmem(p, (size_t)(end - p), open, strlen(open));
	if (s == NULL)
		return NULL;
	s += strlen(open);
	e = memmem(s, (size_t)(end - s), close, strlen(close));
	if (e == NULL)
		return NULL;
	*a = s;
	*n = (size_t)(e - s);
	return e + strlen(close);
}

int
s3_list_parse(const char *xml, size_t len,
	int (*fn)(void *arg, const char *key, unsigned long long size),
	void *arg, char **next, char *err, size_t errlen)
{
	const char *p = xml, *end = xml + len, *a, *ce, *q;
	char *key = NULL;
	size_t n;
	int rc = -1;

	*next = NULL;
	if (memmem(xml, len, "<ListBucketResult", 17) == NULL)
		return errf(err, errlen, "not a ListBucketResult");
	/* Each <Contents> on its own: Key and Size are looked for inside
	 * it, never in the next one. */
	while ((q = element(p, end, "Contents", &a, &n)) != NULL) {
		const char *k, *sz, *cend = a + n;
		size_t kn, szn, i;
		unsigned long long size = 0;

		if (element(a, cend, "Key", &k, &kn) == NULL) {
			errf(err, errlen, "a <Contents> without a <Key>");
			goto out;
		}
		if (element(a, cend, "Size", &sz, &szn) != NULL) {
			if (szn == 0 || szn > 19) {
				errf(err, errlen, "a bad <Size>");
				goto out;
			}
			for (i = 0; i < szn; i++) {
				if (sz[i] < '0' || sz[i] > '9') {
					errf(err, errlen, "a bad <Size>");
					goto out;
				}
				size = size * 10 + (unsigned)(sz[i] - '0');
			}
		}
		free(key);
		key = malloc(kn + 1);
		if (key == NULL) {
			errf(err, errlen, "out of memory");
			goto out;
		}
		if (kn == 0 || xml_text(k, kn, key) != 0) {
			errf(err, errlen, "a <Key> that is not a key");
			goto out;
		}
		rc = fn(arg, key, size);
		if (rc != 0)
			goto out;
		rc = -1;
		p = q;
	}
	ce = element(xml, end, "IsTruncated", &a, &n);
	if (ce != NULL && n == 4 && !memcmp(a, "true", 4)) {
		if (element(xml, end, "NextContinuationToken", &a, &n) ==
		    NULL || n == 0) {
			errf(err, errlen, "truncated without a "
				"NextContinuationToken");
			goto out;
		}
		*next = malloc(n + 1);
		if (*next == NULL || xml_text(a, n, *next) != 0) {
			free(*next);
			*next = NULL;
			errf(err, errlen, "a bad NextContinuationToken");
			goto out;
		}
	}
	rc = 0;
out:
	free(key);
	return rc;
}

/* fn's adapter: strips the conf's prefix before the caller sees a key. */
struct strip {
	size_t n;
	int (*fn)(void *arg, const char *key, unsigned long long size);
	void *arg;
};

static int
stripped(void *arg, const char *key, unsigned long long size)
{
	struct strip *s = arg;

	if (strlen(key) <= s->n)
		return 0;
	return s->fn(s->arg, key + s->n, size);
}

int
s3_list(const struct s3_conf *c, const char *prefix,
	int (*fn)(void *arg, const char *key, unsigned long long size),
	void *arg, char *err, size_t errlen)
{
	struct strip sp = { strlen(c->prefix), fn, arg };
	char scheme[8], host[600], *token = NULL, *full;
	struct buf url = { 0 }, body = { 0 };
	int rc = -1, pages = 0;

	split_endpoint(c->endpoint, scheme, sizeof(scheme), host,
		sizeof(host));
	full = xasprintf("%s%s", c->prefix, prefix);
	do {
		char *next = NULL;
		long st;

		buf_reset(&url);
		buf_reset(&body);
		/* The query's parameters in sorted order and escaped as
		 * SigV4's canonical query string wants them: what curl signs
		 * is then what S3 recomputes. */
		if (c->virtual_host ? buf_printf(&url, "%s://%s.%s/?", scheme,
		    c->bucket, host) : buf_printf(&url, "%s://%s/%s?", scheme,
		    host, c->bucket)) {
			errf(err, errlen, "out of memory");
			goto out;
		}
		if (token != NULL && (buf_puts(&url, "continuation-token=") ||
		    uri_escape(&url, token, 0) || buf_puts(&url, "&"))) {
			errf(err, errlen, "out of memory");
			goto out;
		}
		if (buf_puts(&url, "list-type=2&prefix=") ||
		    uri_escape(&url, full, 0)) {
			errf(err, errlen, "out of memory");
			goto out;
		}
		st = request(c, "GET", url.data, full, NULL, 0, NULL, &body,
			64UL << 20, err, errlen);
		if (st < 200 || st >= 300) {
			if (st >= 300)
				errf(err, errlen, "s3 list %s: HTTP %ld", full,
					st);
			goto out;
		}
		free(token);
		token = NULL;
		rc = s3_list_parse(body.data ? body.data : "", body.len,
			stripped, &sp, &next, err, errlen);
		if (rc != 0)
			goto out;
		rc = -1;
		token = next;
		/* A server that hands out tokens for ever is not followed
		 * for ever: a million pages of 1000 keys is past any job. */
		if (++pages > 1000000) {
			errf(err, errlen, "s3 list %s: too many pages", full);
			goto out;
		}
	} while (token != NULL);
	rc = 0;
out:
	free(token);
	free(full);
	buf_free(&url);
	buf_free(&body);
	return rc;
}

/* HMAC-SHA-256 of msg under key into out (32 bytes). */
static void
hmac(unsigned char out[32], const void *key, size_t klen, const char *msg)
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, klen);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg,
		strlen(msg));
	crypto_auth_hmacsha256_final(&st, out);
}

char *
s3_presign(const struct s3_conf *c, const char *key, long seconds,
	time_t now)
{
	char date[17], day[9], url[S3_URL_MAX], path[S3_URL_MAX], host[700];
	char scheme[8], ephost[600], hash[65], sig[65], *kdate = NULL;
	unsigned char k[32], k2[32];
	struct buf cred = { 0 }, q = { 0 }, canon = { 0 }, sts = { 0 };
	char *out = NULL;
	struct tm tm;

	if (seconds < 1 || seconds > 604800 ||
	    object_url(c, key, url, sizeof(url), path, sizeof(path), host,
	    sizeof(host)) != 0)
		return NULL;
	split_endpoint(c->endpoint, scheme, sizeof(scheme), ephost,
		sizeof(ephost));
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(day, sizeof(day), "%.8s", date);
	/* The query, its parameters in byte order (the canonical query
	 * string is the query itself). */
	if (buf_printf(&cred, "%s/%s/%s/s3/aws4_request", c->access_key, day,
	    c->region) || buf_puts(&q, "X-Amz-Algorithm=AWS4-HMAC-SHA256"
	    "&X-Amz-Credential=") || uri_escape(&q, cred.data, 0) ||
	    buf_printf(&q, "&X-Amz-Date=%s&X-Amz-Expires=%ld"
	    "&X-Amz-SignedHeaders=host", date, seconds))
		goto out;
	/* The canonical request: the browser sends no body and only the
	 * Host header is signed. */
	if (buf_puts(&canon, "GET\n") || uri_escape(&canon, path, 1) ||
	    buf_printf(&canon, "\n%s\nhost:%s\n\nhost\nUNSIGNED-PAYLOAD",
	    q.data, host))
		goto out;
	s3_sha256_hex(canon.data, canon.len, hash);
	if (buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/s3/aws4_request\n%s",
	    date, day, c->region, hash))
		goto out;
	/* The signing key: HMAC chain over day, region, service and the
	 * terminator, from "AWS4" + the secret. */
	kdate = xasprintf("AWS4%s", c->secret_key);
	hmac(k, kdate, strlen(kdate), day);
	hmac(k2, k, sizeof(k), c->region);
	hmac(k, k2, sizeof(k2), "s3");
	hmac(k2, k, sizeof(k), "aws4_request");
	hmac(k, k2, sizeof(k2), sts.data);
	sodium_bin2hex(sig, sizeof(sig), k, sizeof(k));
	out = xasprintf("%s?%s&X-Amz-Signature=%s", url, q.data, sig);
out:
	if (kdate != NULL)
		sodium_memzero(kdate, strlen(kdate));
	sodium_memzero(k, sizeof(k));
	sodium_memzero(k2, sizeof(k2));
	free(kdate);
	buf_free(&cred);
	buf_free(&q);
	buf_free(&canon);
	buf_free(&sts);
	return out;
}
