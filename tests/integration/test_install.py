"""`make install DESTDIR=… PREFIX=…` puts every file where INSTALL says, and
the installed programs run."""

import os
import shlex
import shutil
import subprocess
import tempfile

import harness
from harness import ROOT, run

STACK = None


def test_make_install_into_a_staging_dir(_):
    dest = tempfile.mkdtemp(prefix="kiln-install-")
    try:
        build = os.path.relpath(harness.BUILD, ROOT)
        # A sanitizer build must be relinked with the same flags (a new
        # PREFIX rebuilds the config defaults): make asan says which.
        extra = shlex.split(os.environ.get("KILN_MAKEVARS", ""))
        p = run(["make", "-s", "install", "BUILD=" + build] + extra +
                ["DESTDIR=" + dest, "PREFIX=/opt/kiln"], cwd=ROOT,
                timeout=600)
        assert p.returncode == 0, p.stdout + p.stderr
        pre = os.path.join(dest, "opt", "kiln")
        for exe in ("bin/kilnd", "bin/kiln-admin",
                    "lib/kiln/cgi-bin/portal.fcgi",
                    "lib/kiln/cgi-bin/api.fcgi"):
            path = os.path.join(pre, exe)
            assert os.access(path, os.X_OK), exe
        share = os.path.join(pre, "share", "kiln")
        for sub, src in (("templates", "templates"), ("static", "static"),
                         ("sql", "sql")):
            want = sorted(os.listdir(os.path.join(ROOT, src)))
            assert sorted(os.listdir(os.path.join(share, sub))) == want, sub
        assert os.path.exists(os.path.join(share, "apache-conf",
                                           "kiln-site.conf"))
        p = run([os.path.join(pre, "bin", "kilnd"), "--version"])
        assert p.returncode == 0 and p.stdout.startswith("kilnd ")
        p = run([os.path.join(pre, "lib/kiln/cgi-bin/api.fcgi"),
                 "--version"], stdin=subprocess.DEVNULL)
        assert p.returncode == 0 and p.stdout.startswith("api.fcgi ")
    finally:
        shutil.rmtree(dest, ignore_errors=True)
