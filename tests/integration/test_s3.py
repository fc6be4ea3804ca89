"""Artifacts on S3-compatible storage ([storage] backend = s3): two web
programs and two render daemons, each with a different local artifacts
directory and serving mode, share one bucket (s3rver behind s3proxy.py,
which checks every SigV4 signature and Content-MD5 itself). Jobs
submitted through web A are rendered by either daemon and served by
either web program with the bytes the bucket holds; presigned URLs work
until they expire; a damaged upload is refused; a daemon killed in the
middle of an upload leaves no image visible and the job is finished by
the other daemon; deleting a job removes its objects."""

import hashlib
import hmac
import os
import signal
import subprocess
import time
import urllib.parse
import http.client

import harness
from common import api, db_images, is_json, one, png_decode, submit, \
    user_with_key, wait_job
from harness import Stack, wait_until
from s3proxy import S3, check_header_auth, check_query_auth

BUCKET = "kiln-it"
ACCESS = "S3RVER"       # an account s3rver knows
SECRET = "kiln/test+secret=1"
PRESIGN_S = 3
LEASE_S = 5

# The proxy's port is chosen now, for the stack's config; s3rver and the
# proxy start with the first test that needs them (_world), before any
# request is made to the bucket.
_PROXY_PORT = harness.free_port()

STACK = dict(server="lighttpd", heartbeat=1, daemon_name="s3-a",
             extra_conf="""
[daemon]
lease_seconds = %d

[storage]
backend = s3
s3_endpoint = http://127.0.0.1:%d
s3_bucket = %s
s3_region = eu-central-1
s3_access_key = %s
s3_secret_key = %s
s3_prefix = site/
s3_timeout = 20
serve = presign
presign_seconds = %d
""" % (LEASE_S, _PROXY_PORT, BUCKET, ACCESS, SECRET, PRESIGN_S))

_world = {}


def _render(template, out, subst):
    with open(template) as f:
        text = f.read()
    for k, v in subst.items():
        text = text.replace("@%s@" % k, v)
    with open(out, "w") as f:
        f.write(text)


def world(s):
    """The bucket and the second host (web B on lighttpd, daemon B), made
    once per run of the module: B's config is A's with its own artifacts
    directory, daemon name, site URL, streaming instead of presigning,
    and the secret in a file."""
    if "s3" in _world:
        return _world
    _world["s3"] = S3(s.dir, BUCKET, ACCESS, SECRET, port=_PROXY_PORT)
    b = Stack()                      # for its directory, port, request()
    for d in ("run", "log", "artifacts", "conf"):
        os.makedirs(b.path(d), exist_ok=True)
    secret = b.path("s3-secret")
    with open(secret, "w") as f:
        f.write(SECRET + "\n")
    os.chmod(secret, 0o600)
    with open(s.conf) as f:
        conf = f.read()
    conf = conf.replace("artifacts = %s/artifacts" % s.dir,
                        "artifacts = %s" % b.path("artifacts"))
    conf = conf.replace("name = s3-a", "name = s3-b")
    conf = conf.replace("base_url = http://127.0.0.1:%d" % s.port,
                        "base_url = http://127.0.0.1:%d" % b.port)
    conf = conf.replace("serve = presign\n", "")
    conf = conf.replace("s3_secret_key = %s\n" % SECRET,
                        "s3_secret_key_file = %s\n" % secret)
    assert "s3-b" in conf and b.path("artifacts") in conf and \
        "s3_secret_key_file" in conf, conf
    with open(b.conf, "w") as f:
        f.write(conf)
    os.chmod(b.conf, 0o600)
    _render(os.path.join(harness.ROOT, "apache-conf", "lighttpd.conf.in"),
            b.path("conf", "lighttpd.conf"), {
                "PORT": str(b.port), "ROOT": harness.ROOT,
                "STATIC": os.path.join(harness.ROOT, "static"),
                "CGI": os.path.join(harness.BUILD, "cgi-bin"),
                "ERRORS": os.path.join(harness.ROOT, "apache-conf",
                                       "errors"),
                "PLAINCGI": b.path("cgi"), "RUN": b.path("run"),
                "LOG": b.path("log"), "CONF": b.conf})
    logf = open(b.path("log", "lighttpd.log"), "ab")
    web = subprocess.Popen(["lighttpd", "-D", "-f",
                            b.path("conf", "lighttpd.conf")],
                           stdout=logf, stderr=subprocess.STDOUT,
                           start_new_session=True)
    _world.update(b=b, web=web, logs=[logf])

    def web_up():
        try:
            return b.get("/static/kiln.css").status == 200
        except OSError:
            return False
    wait_until(web_up, timeout=20, what="web B answers")
    start_daemon_b(s)
    import atexit
    atexit.register(_teardown)
    return _world


def start_daemon_b(s):
    b = _world["b"]
    logf = open(b.path("log", "kilnd.log"), "ab")
    _world["logs"].append(logf)
    env = dict(os.environ, KILN_BUILD=harness.BUILD)
    _world["kilnd"] = subprocess.Popen(
        [os.path.join(harness.BUILD, "render-daemon", "kilnd"), "-c",
         b.conf], stdout=logf, stderr=subprocess.STDOUT, env=env,
        start_new_session=True)
    pid = _world["kilnd"].pid
    wait_until(lambda: one(s, "SELECT COUNT(*) FROM daemons WHERE name ="
                              " 's3-b' AND pid = %d AND state IN ('idle',"
                              " 'busy')" % pid) == "1",
               timeout=300, step=0.2, what="daemon B ready")


def start_daemon_a(s):
    """The stack's own daemon again (after the kill test), recorded where
    kiln-stack down finds it."""
    logf = open(s.path("log", "kilnd.log"), "ab")
    _world["logs"].append(logf)
    p = subprocess.Popen(
        [os.path.join(harness.BUILD, "render-daemon", "kilnd"), "-c",
         s.conf], stdout=logf, stderr=subprocess.STDOUT,
        env=dict(os.environ, KILN_BUILD=harness.BUILD),
        start_new_session=True)
    with open(s.path("run", "kilnd.pid"), "w") as f:
        f.write("%d\n" % p.pid)
    wait_until(lambda: one(s, "SELECT COUNT(*) FROM daemons WHERE name ="
                              " 's3-a' AND pid = %d AND state IN ('idle',"
                              " 'busy')" % p.pid) == "1",
               timeout=300, step=0.2, what="daemon A ready")


def _teardown():
    for name in ("kilnd", "web"):
        p = _world.get(name)
        if p is not None and p.poll() is None:
            p.terminate()
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
    if "s3" in _world:
        _world["s3"].stop()
    for f in _world.get("logs", []):
        f.close()
    if "b" in _world:
        _world["b"].remove()


def daemon_a_pid(s):
    return s.pid("kilnd")


def local_job_files(s):
    """Files under jobs/ in either host's local artifacts directory."""
    out = []
    for root in (s.path("artifacts", "jobs"),
                 _world["b"].path("artifacts", "jobs")):
        for d, _, files in os.walk(root):
            out += [os.path.join(d, f) for f in files]
    return out


JOB = dict(prompt="a kiln in the clouds", model="kiln-micro", width=64,
           height=64, steps=2, seed=7)


def on_daemon(s, key, name, body):
    """Submits body through web A while only daemon name runs (the other
    is stopped with SIGSTOP) and waits for it: the finished job."""
    other = _world["kilnd"].pid if name == "s3-a" else daemon_a_pid(s)
    os.kill(other, signal.SIGSTOP)
    try:
        j = submit(s, key, body)
        j = wait_job(s, key, j["id"], ("succeeded", "failed"), timeout=120)
    finally:
        os.kill(other, signal.SIGCONT)
    assert j["status"] == "succeeded", j
    assert one(s, "SELECT daemon FROM jobs WHERE id = %d" % j["id"]) == \
        name
    return j


def fetch_presigned(url):
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=15)
    try:
        c.request("GET", u.path + "?" + u.query)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def test_proxy_checks_the_aws_examples(s):
    """The proxy's own SigV4 checks reproduce the AWS documentation's
    examples (GET Object with a Range header; a presigned GET), so a pass
    through it means the signature is right."""
    headers = {"host": "examplebucket.s3.amazonaws.com",
               "range": "bytes=0-9",
               "x-amz-content-sha256": hashlib.sha256(b"").hexdigest(),
               "x-amz-date": "20130524T000000Z",
               "authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7"
               "EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders="
               "host;range;x-amz-content-sha256;x-amz-date,Signature="
               "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c603"
               "6bdb41"}
    keys = {"AKIAIOSFODNN7EXAMPLE":
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
    assert check_header_auth("GET", "/test.txt", "", headers, b"",
                             keys) is None
    headers["range"] = "bytes=0-10"
    assert check_header_auth("GET", "/test.txt", "", headers, b"",
                             keys) == "signature mismatch"
    q = ("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7"
         "EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date="
         "20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&"
         "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c26595"
         "7d157751f604d404")
    h = {"host": "examplebucket.s3.amazonaws.com"}
    assert check_query_auth("GET", "/test.txt", q, h, keys) is None
    assert check_query_auth("GET", "/test.txt", q.replace("86400", "86401"),
                            h, keys) == "signature mismatch"
    assert hmac.compare_digest("a", "a")


def test_two_webs_two_daemons_share_the_bucket(s):
    w = world(s)
    s3, b = w["s3"], w["b"]
    uid, key = user_with_key(s, prefix="s3")
    jobs = [on_daemon(s, key, "s3-b", dict(JOB, batch_count=2)),
            on_daemon(s, key, "s3-a", dict(JOB, seed=8))]
    for j in jobs:
        rows = db_images(s, j["id"])
        assert len(rows) == j["batch_count"], rows
        for idx, _, path, width, height in rows:
            assert path.startswith("jobs/%d/1-" % j["id"]), path
            stored = s3.object("site/" + path)
            assert stored[:8] == b"\x89PNG\r\n\x1a\n"
            assert png_decode(stored)[:2] == (64, 64)
            url = "/api/v1/images/%d-%s.png" % (j["id"], idx)
            # Web B streams it: the bucket's bytes.
            r = api(b, "GET", url, key)
            assert r.status == 200, (url, r.status, r.text[:300])
            assert r.body == stored
            assert r.headers["etag"].strip('"') == \
                hashlib.sha256(stored).hexdigest()[:32]
            r2 = api(b, "GET", url, key, headers={
                "If-None-Match": r.headers["etag"]})
            assert r2.status == 304, r2.status
            # A thumbnail of a 64x64 image is the image.
            r = api(b, "GET", url.replace(".png", ".thumb.png"), key)
            assert r.status == 200 and r.body == stored, r.status
            # Web A answers with a presigned URL to the same bytes.
            r = api(s, "GET", url, key)
            assert r.status == 302, (r.status, r.text[:300])
            assert r.headers["cache-control"] == "private, no-store"
            loc = r.headers["location"]
            assert loc.startswith("%s/%s/site/%s?X-Amz-Algorithm=" % (
                s3.endpoint, BUCKET, path)), loc
            assert "X-Amz-Expires=%d&" % PRESIGN_S in loc, loc
            st, data = fetch_presigned(loc)
            assert st == 200 and data == stored, st
            # A high-precision download, made from the float master
            # the daemon stored in the bucket beside the PNG.
            r = api(b, "GET", url + "?format=exr", key)
            assert r.status == 200, (r.status, r.text[:300])
            assert r.body[:4] == b"\x76\x2f\x31\x01", r.body[:8]
        # The ZIP through web B holds the same images.
        r = api(b, "GET", "/api/v1/jobs/%d/images.zip" % j["id"], key)
        assert r.status == 200, (r.status, r.text[:300])
    # Nothing went to either host's own directory; every request to the
    # bucket was signed right and every PUT carried its Content-MD5.
    assert local_job_files(s) == [], local_job_files(s)
    assert s3.refused == [], s3.refused
    assert any(m == "PUT" for m, _ in s3.passed)
    # Someone else: 404, and no URL handed out.
    _, other = user_with_key(s, prefix="s3o")
    for web in (s, b):
        r = api(web, "GET", "/api/v1/images/%d-0.png" % jobs[0]["id"],
                other)
        assert r.status == 404 and "location" not in r.headers, r.status


def test_presigned_url_expires(s):
    w = world(s)
    _, key = user_with_key(s, prefix="s3p")
    j = on_daemon(s, key, "s3-a", dict(JOB, seed=9))
    r = api(s, "GET", "/api/v1/images/%d-0.png" % j["id"], key)
    assert r.status == 302, r.status
    loc = r.headers["location"]
    st, data = fetch_presigned(loc)
    assert st == 200 and data[:8] == b"\x89PNG\r\n\x1a\n", st
    # A changed URL is refused (the proxy checks the signature).
    st, _ = fetch_presigned(loc.replace("X-Amz-Expires=%d" % PRESIGN_S,
                                        "X-Amz-Expires=600"))
    assert st == 403, st
    n = len(w["s3"].refused)
    w["s3"].refused[n - 1:] = []
    time.sleep(PRESIGN_S + 1.5)
    st, body = fetch_presigned(loc)
    assert st == 403 and b"AccessDenied" in body, (st, body[:300])
    # A fresh one works again.
    r = api(s, "GET", "/api/v1/images/%d-0.png" % j["id"], key)
    assert fetch_presigned(r.headers["location"])[0] == 200


def test_damaged_upload_is_refused(s):
    """A PUT whose body changed on the way fails the Content-MD5 check:
    the daemon names the key and BadDigest, no image is recorded, and
    the job is rendered again once its lease runs out."""
    w = world(s)
    s3 = w["s3"]
    _, key = user_with_key(s, prefix="s3d")
    s3.corrupt = "/1-0.png"
    try:
        j = submit(s, key, dict(JOB, seed=10))
        wait_until(lambda: any(why == "BadDigest" for _, _, why in
                               s3.refused), timeout=60,
                   what="a refused upload")
        assert db_images(s, j["id"]) == []
        assert one(s, "SELECT status FROM jobs WHERE id = %d" % j["id"]) \
            in ("running", "queued")
    finally:
        s3.corrupt = None
    j = wait_job(s, key, j["id"], ("succeeded", "failed"), timeout=90)
    assert j["status"] == "succeeded", j
    logs = s.log("kilnd.log") + w["b"].log("kilnd.log")
    assert "jobs/%d/1-0.png: HTTP 400 BadDigest" % j["id"] in logs, \
        logs[-2000:]
    path = db_images(s, j["id"])[0][2]
    assert path.startswith("jobs/%d/2-" % j["id"]), path
    s3.refused[:] = [x for x in s3.refused if x[2] != "BadDigest"]


def test_killed_upload_leaves_no_image(s):
    """The second image's PUT never completes; the daemon uploading it is
    killed (SIGKILL). The job shows no image meanwhile; the other daemon
    takes it over when the lease runs out and finishes it with complete
    images, and the first attempt's stored image is removed."""
    w = world(s)
    s3 = w["s3"]
    _, key = user_with_key(s, prefix="s3k")
    s3.stalled.clear()
    s3.stall = "/1-1.png"
    try:
        j = submit(s, key, dict(JOB, seed=11, batch_count=2))
        assert s3.stalled.wait(120), "no upload stalled"
    finally:
        s3.stall = None
    jid = j["id"]
    assert s3.stalled_path.endswith("site/jobs/%d/1-1.png" % jid), \
        s3.stalled_path
    who = one(s, "SELECT claimed_by FROM jobs WHERE id = %d" % jid)
    assert who in ("s3-a", "s3-b"), who
    pid = daemon_a_pid(s) if who == "s3-a" else w["kilnd"].pid
    os.kill(pid, signal.SIGKILL)
    if who == "s3-b":
        w["kilnd"].wait()
    # The first image (and its float master) is in the bucket, whole,
    # but nothing points at it.
    left = s3.keys_under("site/jobs/%d/" % jid)
    assert [k for k in left if k.endswith(".png")] == \
        ["site/jobs/%d/1-0.png" % jid], left
    assert all(k.startswith("site/jobs/%d/1-0." % jid) for k in left), left
    assert db_images(s, jid) == []
    for web in (s, w["b"]):
        r = api(web, "GET", "/api/v1/images/%d-0.png" % jid, key)
        assert r.status == 404, r.status
        assert is_json(api(web, "GET", "/api/v1/jobs/%d" % jid,
                           key))["status"] in ("running", "queued")
    j = wait_job(s, key, jid, ("succeeded", "failed"), timeout=120)
    assert j["status"] == "succeeded", j
    assert one(s, "SELECT daemon FROM jobs WHERE id = %d" % jid) != who
    rows = db_images(s, jid)
    assert [r[2] for r in rows] == ["jobs/%d/2-0.png" % jid,
                                    "jobs/%d/2-1.png" % jid], rows
    for idx, _, path, _, _ in rows:
        stored = s3.object("site/" + path)
        assert png_decode(stored)[:2] == (64, 64)
        r = api(w["b"], "GET", "/api/v1/images/%d-%s.png" % (jid, idx), key)
        assert r.status == 200 and r.body == stored
    keys = [k for k in s3.keys_under("site/jobs/%d/" % jid)
            if not k.endswith("/preview.png")]
    assert [k for k in keys if k.endswith(".png")] == [
        "site/jobs/%d/2-0.png" % jid, "site/jobs/%d/2-1.png" % jid], keys
    # The first attempt's files are gone, masters included.
    assert all(k.startswith("site/jobs/%d/2-" % jid) for k in keys), keys
    if who == "s3-a":
        start_daemon_a(s)
    else:
        start_daemon_b(s)


def test_delete_removes_the_objects(s):
    w = world(s)
    s3 = w["s3"]
    _, key = user_with_key(s, prefix="s3x")
    j = on_daemon(s, key, "s3-b", dict(JOB, seed=12, batch_count=2))
    prefix = "site/jobs/%d/" % j["id"]
    assert len([k for k in s3.keys_under(prefix)
                if k.endswith("-0.png") or k.endswith("-1.png")]) == 2
    r = api(w["b"], "DELETE", "/api/v1/jobs/%d" % j["id"], key)
    assert r.status in (200, 204), (r.status, r.text[:300])
    assert s3.keys_under(prefix) == [], s3.keys_under(prefix)
    assert any(m == "DELETE" for m, _ in s3.passed)
    assert s3.refused == [], s3.refused


def test_backup_reads_the_bucket(s):
    """kiln-admin backup on the S3 config lists and reads the bucket: the
    archive holds every object of a job with the bucket's bytes. Run
    under valgrind when it is there (the S3 client's list and get)."""
    import shutil
    import tarfile
    import tempfile
    w = world(s)
    s3 = w["s3"]
    _, key = user_with_key(s, prefix="s3b")
    j = on_daemon(s, key, "s3-b", dict(JOB, seed=13))
    out = tempfile.mkdtemp(prefix="s3-backup-", dir=s.dir)
    cmd = [os.path.join(harness.BUILD, "tools", "kiln-admin"), "-c", s.conf,
           "backup", "--to", out]
    # Under memcheck here; a sanitized build checks itself instead
    # (valgrind cannot run an ASan binary).
    if shutil.which("valgrind") and not harness.SANITIZED:
        cmd = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
               "--errors-for-leak-kinds=definite",
               "--suppressions=" + os.path.join(harness.ROOT, "tests",
                                                "valgrind.supp")] + cmd
    p = harness.run(cmd, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "from %s" % BUCKET in p.stdout, p.stdout
    tar = os.path.join(out, os.listdir(out)[0])
    with tarfile.open(tar) as t:
        names = t.getnames()
        for k in s3.keys_under("site/jobs/%d/" % j["id"]):
            member = "artifacts/" + k[len("site/"):]
            assert member in names, (member, names[:20])
            assert t.extractfile(member).read() == s3.object(k)


def _admin(conf, *args):
    return harness.run([os.path.join(harness.BUILD, "tools", "kiln-admin"),
                        "-c", conf] + list(args), timeout=300)


def _backup(s):
    import tempfile
    out = tempfile.mkdtemp(prefix="s3-backup-", dir=s.dir)
    p = _admin(s.conf, "backup", "--to", out)
    assert p.returncode == 0, p.stdout + p.stderr
    return os.path.join(out, os.listdir(out)[0])


def test_forced_restore_makes_the_bucket_the_backups(s):
    """restore --force replaces the store as it replaces the database:
    into another database and prefix of the bucket, a backup taken after
    a second job, then --force with one taken before it; the second
    job's objects go, the first's stay with their bytes."""
    w = world(s)
    s3 = w["s3"]
    _, key = user_with_key(s, prefix="s3r")
    j1 = on_daemon(s, key, "s3-b", dict(JOB, seed=21))
    before = _backup(s)
    j2 = on_daemon(s, key, "s3-b", dict(JOB, seed=22))
    after = _backup(s)
    s.sql("CREATE DATABASE kiln_copy; GRANT ALL ON kiln_copy.* TO"
          " 'kiln'@'localhost'")
    with open(s.conf) as f:
        text = f.read()
    assert "name = kiln\n\n[paths]" in text and "s3_prefix = site/" in text
    conf = os.path.join(s.dir, "conf", "copy.conf")
    with open(conf, "w") as f:
        f.write(text.replace("name = kiln\n\n[paths]",
                             "name = kiln_copy\n\n[paths]")
                .replace("s3_prefix = site/", "s3_prefix = copy/"))
    os.chmod(conf, 0o600)
    p = _admin(conf, "restore", "--from", after)
    assert p.returncode == 0, p.stdout + p.stderr
    second = s3.keys_under("copy/jobs/%d/" % j2["id"])
    assert second, s3.keys_under("copy/")[:20]

    p = _admin(conf, "restore", "--from", before)
    assert p.returncode == 3 and "--force" in p.stderr, p.stdout + p.stderr
    p = _admin(conf, "restore", "--from", before, "--force")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "--force: removed %d file%s the backup does not hold" % (
        len(second), "" if len(second) == 1 else "s") in p.stdout, (
        p.stdout, second)
    assert s3.keys_under("copy/jobs/%d/" % j2["id"]) == []
    first = s3.keys_under("site/jobs/%d/" % j1["id"])
    assert first and [k.replace("site/", "copy/", 1) for k in first] == \
        s3.keys_under("copy/jobs/%d/" % j1["id"])
    for k in first:
        assert s3.object(k.replace("site/", "copy/", 1)) == s3.object(k), k
    assert one(s, "SELECT COUNT(*) FROM kiln_copy.jobs WHERE id = %d" %
               j2["id"]) == "0"


def test_virtual_hosted_addressing(s):
    """s3_addressing = virtual: the bucket in the host name
    (kiln-it.s3.localhost, which curl resolves to the loopback), the
    signature over that Host; kiln-admin backup lists and reads through
    it."""
    import tarfile
    import tempfile
    w = world(s)
    s3 = w["s3"]
    _, key = user_with_key(s, prefix="s3v")
    j = on_daemon(s, key, "s3-a", dict(JOB, seed=14))
    with open(s.conf) as f:
        conf = f.read()
    conf = conf.replace("s3_endpoint = http://127.0.0.1:%d" % _PROXY_PORT,
                        "s3_endpoint = http://s3.localhost:%d\n"
                        "s3_addressing = virtual" % _PROXY_PORT)
    vconf = os.path.join(s.dir, "virtual.conf")
    with open(vconf, "w") as f:
        f.write(conf)
    n = len(s3.passed)
    out = tempfile.mkdtemp(prefix="s3-vbackup-", dir=s.dir)
    p = harness.run([os.path.join(harness.BUILD, "tools", "kiln-admin"),
                     "-c", vconf, "backup", "--to", out], timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert s3.refused == [], s3.refused
    # The requests came as virtual-hosted ones: no bucket in the path.
    assert s3.passed[n:] and all(not path.startswith("/" + BUCKET)
                                 for _, path in s3.passed[n:]), \
        s3.passed[n:]
    with tarfile.open(os.path.join(out, os.listdir(out)[0])) as t:
        path = db_images(s, j["id"])[0][2]
        assert t.extractfile("artifacts/" + path).read() == \
            s3.object("site/" + path)


def test_img2img_input_goes_through_the_bucket(s):
    """An init image sent to web A is stored in the bucket (none in
    either local directory), the daemon on the other host reads it from
    there, and web B serves it back with the bytes stored."""
    from test_input_jobs import b64, init_png
    w = world(s)
    s3, b = w["s3"], w["b"]
    _, key = user_with_key(s, prefix="s3i")
    j = on_daemon(s, key, "s3-b", dict(JOB, seed=15, init_image=b64(
        init_png()), denoising_strength=0.6))
    path, sha = s.sql("SELECT path, sha256 FROM job_inputs WHERE job_id ="
                      " %d AND kind = 'init'" % j["id"])[0]
    assert path == "jobs/%d/inputs/init.png" % j["id"], path
    stored = s3.object("site/" + path)
    assert hashlib.sha256(stored).hexdigest() == sha
    r = api(b, "GET", "/api/v1/jobs/%d/inputs/init.png" % j["id"], key)
    assert r.status == 200 and r.body == stored, r.status
    assert local_job_files(s) == [], local_job_files(s)
    assert len(db_images(s, j["id"])) == 1
