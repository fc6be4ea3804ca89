"""harness.py - integration test support: a real throwaway kiln stack
(MariaDB, lighttpd or Apache, kilnd) in a temp dir on free loopback ports,
HTTP and SQL helpers, and the module runner used by tests/run.py.

A test module defines STACK (keyword arguments for Stack, or None for no
stack) and functions named test_* taking the stack; they run in the order
they are written, each on its own: a test makes the users, keys and jobs
it needs (common.py's helpers) and reads nothing an earlier test left, so
any one of them runs alone (tests/run.py -k module.test_name). The stack
is torn down whatever happens."""

import http.client
import inspect
import importlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build")
SANITIZED = False
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:")


class Skip(Exception):
    """Raised by a test that cannot run here (say why); counted as skipped,
    never as passed."""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers      # lower-cased names
        self.body = body            # bytes

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


class Stack:
    def __init__(self, server="lighttpd", daemon=True, heartbeat=1,
                 daemon_name="it-1", extra_conf=None, env=None,
                 models=None, smtp=False):
        self.server = server
        # smtp: a real SMTP server (mailsink.py) started with the stack,
        # [mail] pointed at it; its received mails in self.mail. A dict
        # with user and password makes it require SMTP AUTH.
        self.smtp = smtp
        self.mail = None
        self.models = models
        self.extra_conf = extra_conf
        self.extra_env = env or {}
        self.daemon = daemon
        self.heartbeat = heartbeat
        self.daemon_name = daemon_name
        self.dir = tempfile.mkdtemp(prefix="kiln-it-")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.conf = os.path.join(self.dir, "kiln.conf")

    def env(self):
        e = dict(os.environ)
        e["KILN_BUILD"] = BUILD
        # A value "{dir}/x" names a path inside the stack's directory.
        e.update({k: v.format(dir=self.dir) for k, v in
                  self.extra_env.items()})
        return e

    def up(self):
        cmd = [os.path.join(ROOT, "tools", "kiln-stack"), "up", "--dir",
               self.dir, "--http-port", str(self.port), "--server",
               self.server, "--heartbeat", str(self.heartbeat),
               "--daemon-name", self.daemon_name]
        if not self.daemon:
            cmd.append("--no-daemon")
        # No GEMM tuning on a test daemon's start (a minute each on a
        # machine without a tuning file), unless the test asks for it.
        if "autotune" not in (self.extra_conf or ""):
            cmd += ["--autotune", "0"]
        if self.models:
            cmd += ["--models", self.models(self.dir)]
        conf = self.extra_conf or ""
        if self.smtp:
            from mailsink import MailSink
            # smtp=dict(user=..., password=...): the server wants AUTH.
            auth = (self.smtp["user"], self.smtp["password"]) \
                if isinstance(self.smtp, dict) else None
            self.mail = MailSink(free_port(), auth=auth)
            self.mail.start()
            conf += ("\n[mail]\nenabled = true\nrelay = smtp://127.0.0.1:%d"
                     "\nfrom = kiln@kiln.example\nretry_base = 1\n" %
                     self.mail.port)
            if auth:
                conf += "user = %s\npassword = %s\n" % auth
        if conf:
            extra = os.path.join(self.dir, "extra.conf")
            with open(extra, "w") as f:
                # "{dir}" names the stack's directory, as in env.
                f.write(conf.replace("{dir}", self.dir))
            cmd += ["--extra-conf", extra]
        p = subprocess.run(cmd, capture_output=True, text=True,
                           env=self.env(), timeout=180)
        if p.returncode != 0:
            raise RuntimeError("kiln-stack up failed:\n%s%s%s" % (
                p.stdout, p.stderr, self.log_tail()))
        return p

    def down(self):
        subprocess.run([os.path.join(ROOT, "tools", "kiln-stack"), "down",
                        "--dir", self.dir], capture_output=True, text=True,
                       env=self.env(), timeout=120)
        if self.mail is not None:
            self.mail.stop()
            self.mail = None

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def pid(self, name):
        with open(self.path("run", name + ".pid")) as f:
            return int(f.read().strip())

    def log(self, name):
        try:
            with open(self.path("log", name), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_tail(self, n=30):
        out = []
        for f in sorted(os.listdir(self.path("log"))) \
                if os.path.isdir(self.path("log")) else []:
            lines = self.log(f).splitlines()[-n:]
            if lines:
                out.append("--- %s" % f)
                out.extend(lines)
        return "\n".join(out)

    def sanitizer_reports(self):
        found = []
        if not os.path.isdir(self.path("log")):
            return found
        for f in os.listdir(self.path("log")):
            text = self.log(f)
            for mark in SANITIZER_MARKS:
                if mark in text:
                    i = text.index(mark)
                    found.append("%s: %s" % (f, text[max(0, i - 200):
                                                     i + 1500]))
        return found

    @property
    def base(self):
        """[site] base_url as tools/kiln-stack writes it: the absolute
        URLs in API answers and webhooks start with it."""
        return "http://127.0.0.1:%d" % self.port

    def request(self, method, path, body=None, headers=None, timeout=15):
        # An absolute URL the API gave out is fetched too, but only one on
        # this stack: anything else is a wrong URL, not a request to make.
        if not path.startswith("/"):
            assert path.startswith(self.base + "/"), \
                "not a URL of this stack: %r" % path
            path = path[len(self.base):]
        c = http.client.HTTPConnection("127.0.0.1", self.port,
                                       timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
            return Response(r.status, hdrs, data)
        finally:
            c.close()

    def raw(self, data, timeout=15):
        """Sends data as it is (http.client would add Content-Length: 0
        to a bodyless POST) and returns (status, headers with lower-cased
        names, body)."""
        c = socket.create_connection(("127.0.0.1", self.port),
                                     timeout=timeout)
        try:
            c.sendall(data)
            got = b""
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    break
                got += chunk
        finally:
            c.close()
        head, _, body = got.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        return int(lines[0].split()[1]), headers, body

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def sql(self, query, database="kiln"):
        """Runs SQL as the instance's administrative account; returns rows
        as lists of strings."""
        p = subprocess.run(
            ["mariadb", "--no-defaults", "-S", self.path("run",
                                                          "mysqld.sock"),
             "-u", os.environ.get("USER") or _whoami(), "-N", "-B",
             database, "-e", query],
            capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            raise RuntimeError("sql failed: %s" % p.stderr)
        return [line.split("\t") for line in p.stdout.splitlines()]


def _whoami():
    import pwd
    return pwd.getpwuid(os.getuid()).pw_name


def wait_until(pred, timeout=10.0, step=0.1, what="condition"):
    end = time.time() + timeout
    last = None
    while time.time() < end:
        last = pred()
        if last:
            return last
        time.sleep(step)
    raise AssertionError("timed out after %.0f s waiting for %s" %
                         (timeout, what))


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 60)
    return subprocess.run(cmd, **kw)


def _tests_in_order(mod):
    fns = [f for n, f in inspect.getmembers(mod, inspect.isfunction)
           if n.startswith("test_") and f.__module__ == mod.__name__]
    return sorted(fns, key=lambda f: f.__code__.co_firstlineno)


def _on_term(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


def run_module(modname, tally, only=None):
    """Runs the tests of a module (those named in the set only, when
    given) against one stack of its STACK."""
    signal.signal(signal.SIGTERM, _on_term)
    mod = importlib.import_module(modname)
    tests = [fn for fn in _tests_in_order(mod)
             if only is None or fn.__name__ in only]
    if not tests:
        return
    spec = getattr(mod, "STACK", None)
    stack = None
    keep = False
    try:
        if spec is not None:
            stack = Stack(**spec)
            try:
                stack.up()
            except Exception as e:  # the whole module fails
                tally.record("%s: stack starts" % modname, False, str(e))
                keep = True
                return
        for fn in tests:
            name = "%s: %s" % (modname, fn.__name__[5:].replace("_", " "))
            try:
                fn(stack)
                tally.record(name, True)
            except Skip as e:
                tally.skip(name, str(e))
            except KeyboardInterrupt:
                raise
            except Exception:
                detail = traceback.format_exc(limit=6)
                if stack is not None:
                    detail += "\n" + stack.log_tail(12)
                tally.record(name, False, detail)
                keep = True
    finally:
        if stack is not None:
            stack.down()
            if SANITIZED:
                reports = stack.sanitizer_reports()
                tally.record("%s: no sanitizer reports in the logs" %
                             modname, not reports, "\n".join(reports))
                keep = keep or bool(reports)
            if keep:
                print("    (stack left in %s for inspection)" % stack.dir)
            else:
                stack.remove()
