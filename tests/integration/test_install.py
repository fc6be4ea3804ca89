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
                    "lib/kiln/cgi-bin/api.fcgi",
                    "lib/kiln/cgi-bin/api-wait.fcgi"):
            path = os.path.join(pre, exe)
            assert os.access(path, os.X_OK), exe
        share = os.path.join(pre, "share", "kiln")
        for sub, src in (("templates", "templates"), ("static", "static"),
                         ("sql", "sql")):
            want = sorted(os.listdir(os.path.join(ROOT, src)))
            assert sorted(os.listdir(os.path.join(share, sub))) == want, sub
        for f in ("kiln-site.conf", "kiln-alerts.rules.yml"):
            assert os.path.exists(os.path.join(share, "apache-conf", f)), f
        # The web servers' own error bodies, which the configs name.
        for kind in ("json", "html"):
            src = os.path.join(ROOT, "apache-conf", "errors", kind)
            got = os.path.join(share, "apache-conf", "errors", kind)
            assert sorted(os.listdir(got)) == sorted(os.listdir(src)), kind
        # The manual pages and the commented sample configuration.
        for page in ("man1/kiln-render.1", "man5/kiln.conf.5",
                     "man8/kilnd.8", "man8/kiln-admin.8"):
            assert os.path.isfile(os.path.join(pre, "share", "man", page)), \
                page
        assert os.path.isfile(os.path.join(share, "kiln.conf.sample"))
        p = run([os.path.join(pre, "bin", "kilnd"), "--version"])
        assert p.returncode == 0 and p.stdout.startswith("kilnd ")
        p = run([os.path.join(pre, "lib/kiln/cgi-bin/api.fcgi"),
                 "--version"], stdin=subprocess.DEVNULL)
        assert p.returncode == 0 and p.stdout.startswith("api.fcgi ")
    finally:
        shutil.rmtree(dest, ignore_errors=True)


def test_make_run_starts_the_stack_on_port_8080_by_default(_):
    # Regression: a Makefile edit once dropped HTTP_PORT's default and
    # make run passed an empty port to kiln-stack.
    p = run(["make", "-s", "-n", "run"], cwd=ROOT)
    assert p.returncode == 0, p.stderr
    assert "kiln-stack up --dir var --http-port 8080 --print-login" in \
        p.stdout, p.stdout
    p = run(["make", "-s", "-n", "run", "HTTP_PORT=8181"], cwd=ROOT)
    assert "--http-port 8181 " in p.stdout, p.stdout
