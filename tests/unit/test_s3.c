/* test_s3.c - the S3 client's own parts: presigned URLs against the
 * example AWS documents for query-string SigV4 ("Authenticating Requests:
 * Using Query Parameters", the GET of examplebucket/test.txt), the
 * ListObjectsV2 parser, the endpoint and bucket checks, the [storage]
 * keys, and the local store's listing. The requests themselves are
 * checked against a real server by tests/integration/test_s3.py. */
#include "config.h"
#include "s3.h"
#include "storage.h"
#include "tap.h"
#include "util.h"

#include <stdlib.h>
#include <unistd.h>

static void
presign_matches_aws_example(void)
{
	/* The documented inputs and result. */
	struct s3_conf c = {
		.endpoint = "https://s3.amazonaws.com",
		.bucket = "examplebucket",
		.region = "us-east-1",
		.access_key = "AKIAIOSFODNN7EXAMPLE",
		.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		.prefix = "",
		.virtual_host = 1,
		.timeout = 10,
	};
	char *u = s3_presign(&c, "test.txt", 86400, 1369353600);

	CHECK_STR(u, "https://examplebucket.s3.amazonaws.com/test.txt"
		"?X-Amz-Algorithm=AWS4-HMAC-SHA256"
		"&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1"
		"%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z"
		"&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
		"&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835"
		"f995330da4c265957d157751f604d404");
	free(u);
	/* Path style puts the bucket in the path, which the signature
	 * covers: not the same signature. */
	c.virtual_host = 0;
	u = s3_presign(&c, "test.txt", 86400, 1369353600);
	CHECK(u != NULL && !strncmp(u, "https://s3.amazonaws.com/"
		"examplebucket/test.txt?X-Amz-Algorithm=", 64));
	CHECK(u != NULL && strstr(u, "aeeed9bbccd4d02ee5c0") == NULL);
	free(u);
	/* Out of S3's range: no URL. */
	CHECK(s3_presign(&c, "test.txt", 0, 1369353600) == NULL);
	CHECK(s3_presign(&c, "test.txt", 604801, 1369353600) == NULL);
}

struct seen {
	char keys[512];
	unsigned long long total;
	int n, stop_at;
};

static int
on_key(void *arg, const char *key, unsigned long long size)
{
	struct seen *s = arg;

	strcat(s->keys, key);
	strcat(s->keys, ";");
	s->total += size;
	return ++s->n == s->stop_at ? 7 : 0;
}

static int
parse(const char *xml, struct seen *s, char **next, char *err)
{
	memset(s->keys, 0, sizeof(s->keys));
	s->total = 0;
	s->n = 0;
	return s3_list_parse(xml, strlen(xml), on_key, s, next, err, 256);
}

static void
list_parser(void)
{
	struct seen s = { .stop_at = 0 };
	char err[256], *next = NULL;

	CHECK(parse("<?xml version=\"1.0\"?><ListBucketResult xmlns=\"x\">"
		"<Name>b</Name><IsTruncated>false</IsTruncated>"
		"<Contents><Key>jobs/1/1-0.png</Key><Size>10</Size></Contents>"
		"<Contents><Key>jobs/1/a&amp;b&#x2D;&#46;png</Key><Size>5"
		"</Size></Contents></ListBucketResult>", &s, &next, err) == 0);
	CHECK_STR(s.keys, "jobs/1/1-0.png;jobs/1/a&b-.png;");
	CHECK(s.total == 15);
	CHECK(next == NULL);
	/* A page more to come. */
	CHECK(parse("<ListBucketResult><IsTruncated>true</IsTruncated>"
		"<NextContinuationToken>1ue&lt;x</NextContinuationToken>"
		"<Contents><Key>k</Key><Size>1</Size></Contents>"
		"</ListBucketResult>", &s, &next, err) == 0);
	CHECK_STR(next, "1ue<x");
	free(next);
	/* Empty. */
	CHECK(parse("<ListBucketResult><KeyCount>0</KeyCount>"
		"</ListBucketResult>", &s, &next, err) == 0 && s.n == 0);
	/* fn stops it. */
	s.stop_at = 1;
	CHECK(parse("<ListBucketResult><Contents><Key>a</Key></Contents>"
		"<Contents><Key>b</Key></Contents></ListBucketResult>", &s,
		&next, err) == 7);
	CHECK_STR(s.keys, "a;");
	s.stop_at = 0;
	/* Refused. */
	CHECK(parse("<Error><Code>AccessDenied</Code></Error>", &s, &next,
		err) == -1);
	CHECK_STR(err, "not a ListBucketResult");
	CHECK(parse("<ListBucketResult><Contents><Size>1</Size></Contents>"
		"</ListBucketResult>", &s, &next, err) == -1);
	CHECK(parse("<ListBucketResult><Contents><Key>a</Key><Size>-1"
		"</Size></Contents></ListBucketResult>", &s, &next, err) == -1);
	CHECK(parse("<ListBucketResult><Contents><Key>a&bogus;</Key>"
		"</Contents></ListBucketResult>", &s, &next, err) == -1);
	CHECK(parse("<ListBucketResult><Contents><Key>a&#1;</Key>"
		"</Contents></ListBucketResult>", &s, &next, err) == -1);
	CHECK(parse("<ListBucketResult><IsTruncated>true</IsTruncated>"
		"</ListBucketResult>", &s, &next, err) == -1);
	CHECK_STR(err, "truncated without a NextContinuationToken");
}

static void
names(void)
{
	char msg[256];

	CHECK(s3_endpoint_ok("http://127.0.0.1:9000", msg, sizeof(msg)) ==
		0);
	CHECK(s3_endpoint_ok("https://s3.eu-west-1.amazonaws.com/", msg,
		sizeof(msg)) == 0);
	CHECK(s3_endpoint_ok("http://[::1]:9000", msg, sizeof(msg)) == 0);
	CHECK(s3_endpoint_ok("ftp://x", msg, sizeof(msg)) == -1);
	CHECK(s3_endpoint_ok("http://x/bucket", msg, sizeof(msg)) == -1);
	CHECK(s3_endpoint_ok("http://x:0", msg, sizeof(msg)) == -1);
	CHECK(s3_endpoint_ok("http://x:99999", msg, sizeof(msg)) == -1);
	CHECK(s3_endpoint_ok("http://", msg, sizeof(msg)) == -1);
	CHECK(s3_endpoint_ok("http://a b", msg, sizeof(msg)) == -1);
	CHECK(s3_bucket_ok("kiln-artifacts"));
	CHECK(s3_bucket_ok("a.b"));
	CHECK(!s3_bucket_ok("ab"));
	CHECK(!s3_bucket_ok("Kiln"));
	CHECK(!s3_bucket_ok("-kiln"));
	CHECK(!s3_bucket_ok("kiln/x"));
}

static int
conf(const char *text, char *err)
{
	struct kiln_config c;
	int rc = config_parse(&c, "t.conf", text, strlen(text), err, 512);

	if (rc == 0)
		config_free(&c);
	return rc;
}

static void
storage_keys(void)
{
	struct kiln_config c;
	char err[512];
	const char *ok = "[storage]\nbackend = s3\ns3_endpoint = "
		"http://127.0.0.1:9000\ns3_bucket = kiln\ns3_access_key = a\n"
		"s3_secret_key = b\nserve = presign\ns3_prefix = site/one/\n";

	CHECK(config_parse(&c, "t.conf", ok, strlen(ok), err, sizeof(err)) ==
		0);
	CHECK_STR(c.storage_backend, "s3");
	CHECK_STR(c.s3_region, "us-east-1");
	CHECK_STR(c.s3_addressing, "path");
	CHECK(c.storage_presign_seconds == 300);
	CHECK(c.s3_timeout == 30);
	config_free(&c);
	CHECK(conf("[storage]\nbackend = s3\n", err) == -1);
	CHECK_STR(err, "t.conf: storage: backend s3 needs s3_endpoint, "
		"s3_bucket and s3_access_key");
	CHECK(conf("[storage]\nbackend = s3\ns3_endpoint = http://h\n"
		"s3_bucket = kiln\ns3_access_key = a\n", err) == -1);
	CHECK_STR(err, "t.conf: storage: backend s3 needs one of "
		"s3_secret_key and s3_secret_key_file");
	CHECK(conf("[storage]\nserve = presign\n", err) == -1);
	CHECK(conf("[storage]\ns3_prefix = ../x/\n", err) == -1);
	CHECK(conf("[storage]\ns3_prefix = x\n", err) == -1);
	CHECK(conf("[storage]\ns3_bucket = A_B\n", err) == -1);
	CHECK_STR(err, "t.conf:2: storage.s3_bucket: \"A_B\" is not a "
		"bucket name (3-63 of a-z, 0-9, '.', '-')");
	CHECK(conf("[storage]\nbackend = nfs\n", err) == -1);
	CHECK_STR(err, "t.conf:2: storage.backend: expected local or s3, "
		"got \"nfs\"");
}

static int
count(void *arg, const char *key, unsigned long long size)
{
	struct seen *s = arg;

	(void)key;
	s->total += size;
	s->n++;
	return 0;
}

static void
local_list(void)
{
	char tmpl[] = "/tmp/kiln-s3-XXXXXX", err[512], path[600];
	struct seen s = { .stop_at = 0 };
	struct storage *st;
	char *dir = mkdtemp(tmpl);

	CHECK(dir != NULL);
	if (dir == NULL)
		return;
	st = storage_local_new(dir);
	CHECK(storage_local_root(st) != NULL);
	CHECK(storage_presign(st, "jobs/1/1-0.png", 60, 0) == NULL);
	CHECK(storage_put(st, "jobs/1/1-0.png", "abc", 3, err,
		sizeof(err)) == 0);
	CHECK(storage_put(st, "jobs/1/inputs/init.png", "abcd", 4, err,
		sizeof(err)) == 0);
	CHECK(storage_put(st, "jobs/12/1-0.png", "x", 1, err,
		sizeof(err)) == 0);
	/* A temporary file of a write in progress is not an object. */
	snprintf(path, sizeof(path), "%s/jobs/1/.x.tmp", dir);
	tap_put_file(dir, "jobs/1/.x.tmp", "zz");
	CHECK(storage_list(st, "jobs/1", count, &s, err, sizeof(err)) == 0);
	CHECK(s.n == 2 && s.total == 7);
	memset(&s, 0, sizeof(s));
	CHECK(storage_list(st, "", count, &s, err, sizeof(err)) == 0);
	CHECK(s.n == 3 && s.total == 8);
	memset(&s, 0, sizeof(s));
	CHECK(storage_list(st, "jobs/2", count, &s, err, sizeof(err)) == 0);
	CHECK(s.n == 0);
	CHECK(storage_remove_prefix(st, "jobs") == 0);
	CHECK(access(path, F_OK) != 0);
	storage_free(st);
	rmdir(dir);
}

int
main(void)
{
	RUN(presign_matches_aws_example);
	RUN(list_parser);
	RUN(names);
	RUN(storage_keys);
	RUN(local_list);
	printf("1..%d\n", tap_count);
	return tap_failed_checks ? 1 : 0;
}
