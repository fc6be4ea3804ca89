"""kiln-admin backup / restore: a backup restored into a fresh stack serves
the same jobs and images; a damaged archive or a target that holds data is
refused before anything is touched."""

import hashlib
import json
import os
import shutil
import tarfile
import tempfile

import harness
from common import api, is_json, one, rendered, user_with_key
from harness import Stack, run

STACK = dict(server="lighttpd", heartbeat=1, daemon_name="backup-1")

ADMIN = os.path.join(harness.BUILD, "tools", "kiln-admin")
_made = {}


def admin(s, *args):
    return run([ADMIN, "-c", s.conf] + list(args), timeout=120)


def user_rows(s, uid):
    """The user's rows in the tables a restore must bring back, as the
    database returns them (every column, timestamps included)."""
    return {t: s.sql("SELECT * FROM %s WHERE %s = %d ORDER BY id" %
                     (t, "id" if t == "users" else "user_id", uid))
            for t in ("users", "api_keys", "jobs")} | {
        "job_images": s.sql("SELECT i.* FROM job_images i JOIN jobs j ON"
                            " j.id = i.job_id WHERE j.user_id = %d ORDER"
                            " BY i.job_id, i.idx" % uid)}


def images_of(s, key, jobs):
    """{path: PNG bytes} of every image of jobs, fetched through the API."""
    out = {}
    for jid in jobs:
        for idx, in s.sql("SELECT idx FROM job_images WHERE job_id = %d"
                          % jid):
            path = "/api/v1/images/%d-%s.png" % (jid, idx)
            r = api(s, "GET", path, key)
            assert r.status == 200, (path, r.status, r.text[:300])
            assert r.body[:8] == b"\x89PNG\r\n\x1a\n", path
            out[path] = r.body
    return out


def backed_up(s):
    """A user with a key and two rendered jobs (three images), and a
    backup of the stack taken after them: made once per run of the
    module, so that any test of it runs alone."""
    if "tar" not in _made:
        uid, key = user_with_key(s, prefix="bak")
        jobs = [rendered(s, key, dict(prompt="a kiln at dusk %d" % n,
                                      model="kiln-micro", width=64,
                                      height=64, steps=2, seed=40 + n,
                                      batch_count=n))["id"]
                for n in (1, 2)]
        # A file kept closer than the store's 0644 (data exports are
        # 0640): restore gives it its mode back.
        os.makedirs(s.path("artifacts", "exports"), exist_ok=True)
        probe = s.path("artifacts", "exports", "backup-probe.zip")
        with open(probe, "wb") as f:
            f.write(os.urandom(3000))
        os.chmod(probe, 0o640)
        out = tempfile.mkdtemp(prefix="kiln-backup-", dir=s.dir)
        p = admin(s, "backup", "--to", out)
        assert p.returncode == 0, p.stdout + p.stderr
        names = os.listdir(out)
        assert len(names) == 1 and names[0].startswith("kiln-backup-") \
            and names[0].endswith(".tar"), names
        _made.update(uid=uid, key=key, jobs=jobs,
                     tar=os.path.join(out, names[0]), stdout=p.stdout,
                     rows=user_rows(s, uid),
                     images=images_of(s, key, jobs))
    return _made


def test_backup_manifest_lists_every_file_with_its_sha256(s):
    b = backed_up(s)
    with tarfile.open(b["tar"]) as t:
        names = t.getnames()
        man = json.load(t.extractfile("MANIFEST.json"))
        data = {n: t.extractfile(n).read() for n in names
                if n != "MANIFEST.json"}
    assert names[0] == "db/kiln.sql" and names[-1] == "MANIFEST.json", \
        names
    # It holds every password hash: 0600 whatever the umask.
    assert os.stat(b["tar"]).st_mode & 0o777 == 0o600
    assert man["format"] == "kiln-backup 1", man
    assert man["schema_version"] == int(one(
        s, "SELECT MAX(version) FROM schema_migrations")), man
    assert man["database"]["sha256"] == hashlib.sha256(
        data["db/kiln.sql"]).hexdigest(), man["database"]
    listed = {f["path"]: f["sha256"] for f in man["files"]}
    assert listed == {n: hashlib.sha256(d).hexdigest()
                      for n, d in data.items() if n != "db/kiln.sql"}
    # Every image a dumped row names is in the archive.
    for (path,) in s.sql("SELECT path FROM job_images"):
        assert "artifacts/" + path in listed, (path, sorted(listed)[:5])
    dump = data["db/kiln.sql"].decode("utf-8", "replace")
    assert "CREATE TABLE `jobs`" in dump and "a kiln at dusk 2" in dump


def test_backup_gives_the_dump_tool_its_password_in_a_0600_file(s):
    # A mariadb-dump first in PATH that notes how it was called, then
    # runs the real one: the password must not be on its command line
    # (anyone reads /proc/PID/cmdline), only in its option file.
    with open(s.conf) as f:
        pw = [ln.split("=", 1)[1].strip() for ln in f
              if ln.startswith("password")][0]
    spy = tempfile.mkdtemp(dir=s.dir)
    with open(os.path.join(spy, "mariadb-dump"), "w") as f:
        f.write("#!/bin/sh\n"
                "printf '%%s\\n' \"$@\" >%s/argv\n"
                "opts=${1#--defaults-file=}\n"
                "stat -c %%a \"$opts\" >%s/mode\n"
                "grep -c '^password' \"$opts\" >%s/haspw\n"
                "exec %s \"$@\"\n" % (spy, spy, spy,
                                       shutil.which("mariadb-dump")))
    os.chmod(os.path.join(spy, "mariadb-dump"), 0o755)
    env = dict(os.environ, PATH=spy + ":" + os.environ["PATH"])
    out = os.path.join(spy, "b.tar")
    p = run([ADMIN, "-c", s.conf, "backup", "--to", out], env=env,
            timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    argv = open(os.path.join(spy, "argv")).read().split("\n")
    assert argv[0].startswith("--defaults-file="), argv
    for opt in ("--single-transaction", "--routines", "--triggers",
                "--hex-blob"):
        assert opt in argv, (opt, argv)
    assert not any(pw in a for a in argv), "password on the command line"
    assert open(os.path.join(spy, "mode")).read().strip() == "600"
    assert open(os.path.join(spy, "haspw")).read().strip() == "1"
    # The option file is gone once the backup is written.
    assert not os.path.exists(argv[0][len("--defaults-file="):])
    assert pw not in p.stdout + p.stderr


def test_an_interrupted_backup_leaves_no_password_file_or_part(s):
    # A mariadb-dump that notes its option file and hangs: kiln-admin is
    # stopped (SIGTERM) while it runs.
    import signal
    import subprocess
    import time
    spy = tempfile.mkdtemp(dir=s.dir)
    with open(os.path.join(spy, "mariadb-dump"), "w") as f:
        f.write("#!/bin/sh\necho $$ >%s/pid\n"
                "echo \"${1#--defaults-file=}\" >%s/opts\n"
                "exec sleep 30\n" % (spy, spy))
    os.chmod(os.path.join(spy, "mariadb-dump"), 0o755)
    out = tempfile.mkdtemp(dir=s.dir)
    p = subprocess.Popen([ADMIN, "-c", s.conf, "backup", "--to", out],
                         env=dict(os.environ, PATH=spy + ":" +
                                  os.environ["PATH"]),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        harness.wait_until(lambda: os.path.exists(
            os.path.join(spy, "opts")), timeout=20, what="the dump")
        opts = open(os.path.join(spy, "opts")).read().strip()
        assert os.path.exists(opts)
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=20) == -signal.SIGTERM
    finally:
        if p.poll() is None:
            p.kill()
        try:    # the dump tool, by the pid it noted
            os.kill(int(open(os.path.join(spy, "pid")).read()),
                    signal.SIGKILL)
        except (OSError, ValueError):
            pass
    time.sleep(0.2)
    assert not os.path.exists(opts), "password file left behind"
    assert os.listdir(out) == [], os.listdir(out)


def _tampered(s, b):
    """A copy of the backup with one byte of one PNG changed in place."""
    bad = os.path.join(os.path.dirname(b["tar"]), "tampered.tar")
    shutil.copy(b["tar"], bad)
    with tarfile.open(bad) as t:
        m = [m for m in t.getmembers() if m.name.endswith(".png")][0]
    with open(bad, "r+b") as f:
        f.seek(m.offset_data + 40)
        c = f.read(1)
        f.seek(m.offset_data + 40)
        f.write(bytes([c[0] ^ 0x01]))
    return bad, m.name


def test_tampered_archive_is_refused_before_anything_is_touched(s):
    b = backed_up(s)
    bad, name = _tampered(s, b)
    before = (user_rows(s, b["uid"]), one(s, "SELECT COUNT(*) FROM jobs"),
              sorted(os.listdir(s.path("artifacts", "jobs"))))
    # --force: were the archive not checked first, this would drop every
    # table of the stack.
    p = admin(s, "restore", "--from", bad, "--force")
    assert p.returncode == 4, (p.returncode, p.stdout, p.stderr)
    assert name in p.stderr and "SHA-256" in p.stderr and \
        "nothing was restored" in p.stderr, p.stderr
    after = (user_rows(s, b["uid"]), one(s, "SELECT COUNT(*) FROM jobs"),
             sorted(os.listdir(s.path("artifacts", "jobs"))))
    assert after == before


def test_restore_into_a_fresh_stack_serves_the_same_jobs_and_images(s):
    b = backed_up(s)
    fresh = Stack(server="lighttpd", daemon=False)
    try:
        fresh.up()
        # A fresh install is migrated and has its admin account: not
        # empty, so restore wants --force and says why.
        p = admin(fresh, "restore", "--from", b["tar"])
        assert p.returncode == 3, (p.returncode, p.stdout, p.stderr)
        assert "database kiln" in p.stderr and "--force" in p.stderr, \
            p.stderr
        assert one(fresh, "SELECT COUNT(*) FROM jobs") == "0"
        # (Hidden names are the web programs' metrics, no objects.)
        assert [n for n in os.listdir(fresh.path("artifacts"))
                if not n.startswith(".")] == []

        # A file of a job this stack made and the backup does not know:
        # --force replaces the store as it does the database, so it goes
        # (else a restored job with that id would find it in its folder).
        # One the backup holds, changed here, is put back as it was.
        stray = fresh.path("artifacts", "jobs", str(max(b["jobs"]) + 1),
                           "1-0.png")
        os.makedirs(os.path.dirname(stray))
        with open(stray, "wb") as f:
            f.write(b"not from the backup")
        rel = ("artifacts", "exports", "backup-probe.zip")
        os.makedirs(os.path.dirname(fresh.path(*rel)), exist_ok=True)
        with open(fresh.path(*rel), "wb") as f:
            f.write(b"changed since")

        p = admin(fresh, "restore", "--from", b["tar"], "--force")
        assert p.returncode == 0, p.stdout + p.stderr
        assert "migrations: 0 applied" in p.stdout, p.stdout
        assert "--force: removed 1 file the backup does not hold" in \
            p.stdout, p.stdout
        assert not os.path.exists(stray), stray
        assert user_rows(fresh, b["uid"]) == b["rows"]
        # The same API key opens the same jobs and the same PNG bytes.
        for jid in b["jobs"]:
            r = api(fresh, "GET", "/api/v1/jobs/%d" % jid, b["key"])
            assert r.status == 200, (jid, r.status, r.text[:300])
            assert is_json(r)["status"] == "succeeded"
        assert images_of(fresh, b["key"], b["jobs"]) == b["images"]
        assert len(b["images"]) == 3
        with open(s.path(*rel), "rb") as f, open(fresh.path(*rel),
                                                    "rb") as g:
            assert f.read() == g.read()
        assert os.stat(fresh.path(*rel)).st_mode & 0o777 == 0o640
    finally:
        fresh.down()
        fresh.remove()


def test_restore_of_an_older_backup_applies_the_newer_migrations(s):
    # A kiln newer than the backup: its migrations directory has one
    # more file (a harmless table), which restore applies after the load.
    b = backed_up(s)
    fresh = Stack(server="lighttpd", daemon=False)
    try:
        fresh.up()
        mig = tempfile.mkdtemp(dir=fresh.dir)
        for f in os.listdir(os.path.join(harness.ROOT, "sql")):
            shutil.copy(os.path.join(harness.ROOT, "sql", f), mig)
        with open(os.path.join(mig, "999_backup_probe.sql"), "w") as f:
            f.write("CREATE TABLE backup_probe (id INT PRIMARY KEY);\n")
        conf = fresh.path("kiln-newer.conf")
        with open(fresh.conf) as f, open(conf, "w") as g:
            g.write(f.read().replace("migrations = %s/sql" % harness.ROOT,
                                     "migrations = %s" % mig))
        # INSTALL's way: a new, empty database (no --force needed).
        fresh.sql("DROP DATABASE kiln; CREATE DATABASE kiln CHARACTER SET"
                  " utf8mb4 COLLATE utf8mb4_unicode_ci", database="mysql")
        p = run([ADMIN, "-c", conf, "restore", "--from", b["tar"]],
                timeout=120)
        assert p.returncode == 0, p.stdout + p.stderr
        assert "applied 999_backup_probe.sql" in p.stdout, p.stdout
        assert "migrations: 1 applied, schema version 999" in p.stdout
        assert "dropped" not in p.stdout, p.stdout
        assert one(fresh, "SELECT COUNT(*) FROM jobs WHERE user_id = %d" %
                   b["uid"]) == "2"
    finally:
        fresh.down()
        fresh.remove()
