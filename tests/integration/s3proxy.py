"""s3proxy.py - s3rver (the S3-compatible server the storage tests run)
behind a checking proxy. s3rver takes any well-formed SigV4 signature and
never checks Content-MD5, so the proxy does both, computed here
independently of kiln (hmac/hashlib, after the AWS SigV4 documentation):
every request kiln sends must carry a valid Authorization header whose
signed payload hash is the body's SHA-256, every PUT a Content-MD5 that
matches the body, and a presigned GET a valid query signature. What
passes goes on to s3rver unchanged; what does not is answered as S3
would (403 SignatureDoesNotMatch, 400 BadDigest).

For the tests it can also damage a PUT's body on the way (corrupt: a
substring of the key) or take a PUT's body and never answer (stall), so
that a daemon can be killed in the middle of an upload."""

import base64
import hashlib
import hmac
import http.client
import http.server
import os
import select
import shutil
import subprocess
import threading
import time
import urllib.parse

import harness

S3RVER = os.path.join(harness.ROOT, "tools", "s3rver", "node_modules",
                      ".bin", "s3rver")


def _q(s):
    return urllib.parse.quote(s, safe="-_.~")


def canonical_query(raw):
    pairs = []
    for part in raw.split("&") if raw else []:
        k, _, v = part.partition("=")
        pairs.append((_q(urllib.parse.unquote(k)),
                      _q(urllib.parse.unquote(v))))
    return "&".join("%s=%s" % kv for kv in sorted(pairs))


def signing_key(secret, day, region, service="s3"):
    k = hmac.new(("AWS4" + secret).encode(), day.encode(),
                 hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


def signature(secret, amzdate, scope, canonical):
    day, region, service, _ = scope.split("/")
    sts = "\n".join(["AWS4-HMAC-SHA256", amzdate, scope,
                     hashlib.sha256(canonical.encode()).hexdigest()])
    return hmac.new(signing_key(secret, day, region, service), sts.encode(),
                    hashlib.sha256).hexdigest()


def check_header_auth(method, path, query, headers, body, keys):
    """None when the Authorization header signs this request, else why."""
    auth = headers.get("authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return "no SigV4 Authorization header"
    fields = dict(p.strip().split("=", 1)
                  for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
    access, scope = fields["Credential"].split("/", 1)
    if access not in keys:
        return "unknown access key %s" % access
    signed = fields["SignedHeaders"].split(";")
    for need in ("host", "x-amz-date", "x-amz-content-sha256"):
        if need not in signed:
            return "%s is not signed" % need
    payload = headers.get("x-amz-content-sha256", "")
    if payload != hashlib.sha256(body).hexdigest():
        return "x-amz-content-sha256 is not the body's SHA-256"
    canon = "\n".join([method, path, canonical_query(query)] +
                      ["%s:%s" % (h, " ".join(headers.get(h, "").split()))
                       for h in signed] + ["", ";".join(signed), payload])
    want = signature(keys[access], headers["x-amz-date"], scope, canon)
    return None if hmac.compare_digest(want, fields["Signature"]) else \
        "signature mismatch"


def check_query_auth(method, path, query, headers, keys):
    """None when the query (a presigned URL) signs this request."""
    q = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    access, scope = q["X-Amz-Credential"].split("/", 1)
    if access not in keys:
        return "unknown access key %s" % access
    signed = q["X-Amz-SignedHeaders"].split(";")
    rest = "&".join(p for p in query.split("&")
                    if not p.startswith("X-Amz-Signature="))
    canon = "\n".join([method, path, canonical_query(rest)] +
                      ["%s:%s" % (h, headers.get(h, "").strip())
                       for h in signed] +
                      ["", ";".join(signed), "UNSIGNED-PAYLOAD"])
    want = signature(keys[access], q["X-Amz-Date"], scope, canon)
    return None if hmac.compare_digest(want, q["X-Amz-Signature"]) else \
        "signature mismatch"


def s3_error(code, message):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code>'
            '<Message>%s</Message></Error>' % (code, message)).encode()


class S3:
    """s3rver on a free port with bucket, and the proxy in front of it
    (self.port, the endpoint kiln is given)."""

    def __init__(self, workdir, bucket, access_key, secret_key, port=0):
        if not os.access(S3RVER, os.X_OK):
            raise harness.Skip("no s3rver in tools/s3rver (run make deps)")
        if shutil.which("node") is None:
            raise harness.Skip("no node to run s3rver")
        self.dir = os.path.join(workdir, "s3rver")
        os.makedirs(self.dir, exist_ok=True)
        self.bucket = bucket
        self.keys = {access_key: secret_key}
        self.upstream = harness.free_port()
        self.log = open(os.path.join(workdir, "s3rver.log"), "ab")
        self.proc = subprocess.Popen(
            [S3RVER, "-d", self.dir, "-a", "127.0.0.1", "-p",
             str(self.upstream), "--configure-bucket", bucket],
            stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        harness.wait_until(self._up, timeout=30, what="s3rver answers")
        self.lock = threading.Lock()
        self.refused = []       # (method, path, why)
        self.passed = []        # (method, path) checked and sent on
        self.corrupt = None     # a key substring: that PUT's body damaged
        self.stall = None       # a key substring: that PUT never answered
        self.stalled = threading.Event()
        self.stalled_path = None
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _any(self):
                proxy.handle(self)

            do_GET = do_PUT = do_DELETE = do_HEAD = do_POST = _any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port),
                                                      Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def _up(self):
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.upstream,
                                           timeout=2)
            c.request("GET", "/")
            c.getresponse().read()
            return True
        except OSError:
            return False

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.port

    def object_path(self, key):
        """Where s3rver keeps the object's bytes: the bucket as it is,
        read without kiln or the proxy in between."""
        return os.path.join(self.dir, self.bucket, key + "._S3rver_object")

    def object(self, key):
        with open(self.object_path(key), "rb") as f:
            return f.read()

    def keys_under(self, prefix):
        out = []
        root = os.path.join(self.dir, self.bucket)
        for d, _, files in os.walk(root):
            for f in files:
                if f.endswith("._S3rver_object"):
                    k = os.path.relpath(os.path.join(d, f), root)
                    k = k[:-len("._S3rver_object")]
                    if k.startswith(prefix):
                        out.append(k)
        return sorted(out)

    def handle(self, h):
        url = urllib.parse.urlsplit(h.path)
        path, query = url.path, url.query
        # Virtual-hosted style (BUCKET.s3.localhost): s3rver is asked in
        # path style, the bucket put in front of the path.
        host = h.headers.get("Host", "").split(":")[0]
        upstream_path = h.path
        if host.startswith(self.bucket + "."):
            upstream_path = "/" + self.bucket + h.path
        n = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(n) if n else b""
        headers = {k.lower(): v for k, v in h.headers.items()}
        up = urllib.parse.urlsplit(upstream_path).path
        key = up.split("/", 2)[2] if up.count("/") >= 2 else ""
        if h.command == "PUT" and self.corrupt and self.corrupt in key:
            # Damage on the way: one bit of the body flipped.
            body = bytes([body[0] ^ 1]) + body[1:]
        # Content-MD5 first: a body damaged on the way is BadDigest (its
        # signed SHA-256 would not match either).
        if h.command == "PUT":
            md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
            if headers.get("content-md5") != md5:
                with self.lock:
                    self.refused.append((h.command, path, "BadDigest"))
                return self._answer(h, 400, s3_error(
                    "BadDigest", "The Content-MD5 you specified did not "
                    "match what we received."))
        if "X-Amz-Signature=" in query:
            why = check_query_auth(h.command, path, query, headers,
                                   self.keys)
        else:
            why = check_header_auth(h.command, path, query, headers, body,
                                    self.keys)
        if why is not None:
            with self.lock:
                self.refused.append((h.command, path, why))
            return self._answer(h, 403, s3_error(
                "SignatureDoesNotMatch", why))
        if h.command == "PUT" and self.stall and self.stall in key:
            self.stalled_path = path
            self.stalled.set()
            # Never answered: wait until the client goes away.
            sock = h.connection
            end = time.time() + 120
            while time.time() < end:
                r, _, _ = select.select([sock], [], [], 0.5)
                if r and not sock.recv(65536):
                    break
            h.close_connection = True
            return
        with self.lock:
            self.passed.append((h.command, path))
        fwd = {k: v for k, v in h.headers.items()
               if k.lower() not in ("host", "connection")}
        c = http.client.HTTPConnection("127.0.0.1", self.upstream,
                                       timeout=30)
        try:
            c.request(h.command, upstream_path, body=body if n else None,
                      headers=fwd)
            r = c.getresponse()
            data = r.read()
            self._answer(h, r.status, data, [
                (k, v) for k, v in r.getheaders()
                if k.lower() not in ("content-length", "connection",
                                     "transfer-encoding")])
        finally:
            c.close()

    @staticmethod
    def _answer(h, status, data, headers=()):
        h.send_response(status)
        for k, v in headers:
            h.send_header(k, v)
        if not any(k.lower() == "content-type" for k, _ in headers):
            h.send_header("Content-Type", "application/xml")
        h.send_header("Content-Length", str(len(data)))
        h.send_header("Connection", "close")
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(data)
        h.close_connection = True

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
