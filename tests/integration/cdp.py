"""cdp.py - a small Chrome DevTools Protocol client for the browser tests,
standard library only. Chromium runs headless with --remote-debugging-pipe:
it reads JSON messages, each ended by a NUL byte, from its fd 3 and writes
replies and events the same way to its fd 4.

    with Browser(flags) as b:
        b.navigate("http://127.0.0.1:8080/login")
        b.set_value('form[action="/login"] [name=username]', "carol")
        b.submit('form[action="/login"]')
        assert b.problems() == []

One page (target) is created and attached with flatten=true; every wait
has a deadline and fails with a message saying what it waited for. The
browser process group is killed and the temporary profile removed on
close, whatever happened before."""

import base64
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time

DEFAULT_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-quic", "--no-first-run",
                 "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--enable-logging=stderr", "--v=0",
                 "--window-size=1100,700"]

# Reports every Content-Security-Policy violation on the page to the test
# through a CDP binding (Runtime.bindingCalled): injected by the protocol,
# so the page's own policy does not apply to it.
_CSP_BINDING = "__kilnCspViolation"
_CSP_HOOK = """
document.addEventListener('securitypolicyviolation', function (e) {
  try {
    %s(JSON.stringify({directive: e.violatedDirective,
                       blocked: e.blockedURI, source: e.sourceFile,
                       line: e.lineNumber, sample: e.sample,
                       document: e.documentURI}));
  } catch (x) {}
}, true);
""" % _CSP_BINDING


class CDPError(Exception):
    """A protocol error reply, a timeout, or the browser going away."""


class Browser:
    def __init__(self, flags=None, timeout=30.0, binary="chromium"):
        self.flags = list(DEFAULT_FLAGS if flags is None else flags)
        self.timeout = timeout
        self.binary = binary
        self.proc = None
        self.profile = None
        self.stderr = None
        self._to_chrome = None      # our write end of its fd 3
        self._from_chrome = None    # our read end of its fd 4
        self._rbuf = b""
        self._next_id = 0
        self.session = None
        self.target = None
        # Everything received that is not a reply, in order: dicts with
        # "method", "params" and (for page events) "sessionId".
        self.events = []
        self.console = []           # console and log messages, as text
        self.errors = []            # the ones at level error or warning
        self.csp = []               # CSP violations, as text

    # ---- life cycle ---------------------------------------------------

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def start(self):
        self.profile = tempfile.mkdtemp(prefix="kiln-chromium-")
        self.stderr = tempfile.TemporaryFile()
        c_read, p_write = os.pipe()     # we write, chromium reads (fd 3)
        p_read, c_write = os.pipe()     # chromium writes, we read (fd 4)
        # Copies above the low numbers, so moving them to 3 and 4 in the
        # child cannot overwrite one with the other; close-on-exec, so
        # only the 3 and 4 made in the child survive the exec.
        hi_r = fcntl.fcntl(c_read, fcntl.F_DUPFD_CLOEXEC, 10)
        hi_w = fcntl.fcntl(c_write, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(c_read)
        os.close(c_write)
        self._to_chrome = p_write
        self._from_chrome = p_read

        def child_fds():
            os.dup2(hi_r, 3)        # dup2 makes them inheritable
            os.dup2(hi_w, 4)

        cmd = [self.binary] + self.flags + [
            "--remote-debugging-pipe", "--user-data-dir=" + self.profile,
            "about:blank"]
        try:
            # Its own session: close() kills the whole process group
            # (zygote, renderers, GPU and network processes).
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=self.stderr,
                stderr=self.stderr, close_fds=False, preexec_fn=child_fds,
                start_new_session=True)
        finally:
            os.close(hi_r)
            os.close(hi_w)
        r = self.send("Target.createTarget", {"url": "about:blank"})
        self.target = r["targetId"]
        r = self.send("Target.attachToTarget",
                      {"targetId": self.target, "flatten": True})
        self.session = r["sessionId"]
        for m in ("Page.enable", "Runtime.enable", "Log.enable"):
            self.page(m)
        self.page("Runtime.addBinding", {"name": _CSP_BINDING})
        self.page("Page.addScriptToEvaluateOnNewDocument",
                  {"source": _CSP_HOOK})

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                self._write({"id": self._new_id(), "method": "Browser.close"})
                self.proc.wait(timeout=5)
            except Exception:
                pass
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for fd in (self._to_chrome, self._from_chrome):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._to_chrome = self._from_chrome = None
        if self.stderr is not None:
            self.stderr.close()
            self.stderr = None
        if self.profile is not None:
            shutil.rmtree(self.profile, ignore_errors=True)
            self.profile = None

    def stderr_tail(self, n=3000):
        if self.stderr is None:
            return ""
        try:
            self.stderr.seek(0)
            data = self.stderr.read()
            self.stderr.seek(0, os.SEEK_END)
        except (OSError, ValueError):
            return ""
        return data[-n:].decode("utf-8", "replace")

    # ---- the wire -----------------------------------------------------

    def _new_id(self):
        self._next_id += 1
        return self._next_id

    def _write(self, msg):
        data = json.dumps(msg).encode() + b"\0"
        while data:
            n = os.write(self._to_chrome, data)
            data = data[n:]

    def _died(self, what):
        code = self.proc.poll() if self.proc is not None else None
        return CDPError("chromium went away (exit status %s) while %s\n"
                        "--- chromium stderr:\n%s" %
                        (code, what, self.stderr_tail()))

    def _read_message(self, deadline, what):
        """The next message from chromium, waiting until deadline."""
        while b"\0" not in self._rbuf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CDPError("timed out after %.0f s %s" %
                               (self.timeout, what))
            ready, _, _ = select.select([self._from_chrome], [], [],
                                        min(left, 1.0))
            if not ready:
                if self.proc.poll() is not None:
                    raise self._died(what)
                continue
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise self._died(what)
            self._rbuf += chunk
        raw, self._rbuf = self._rbuf.split(b"\0", 1)
        return json.loads(raw.decode("utf-8"))

    def _event(self, msg):
        self.events.append(msg)
        method = msg.get("method")
        p = msg.get("params", {})
        if method == "Runtime.consoleAPICalled":
            args = []
            for a in p.get("args", []):
                if "value" in a:
                    args.append(str(a["value"]))
                else:
                    args.append(a.get("description", a.get("type", "?")))
            text = "console.%s: %s" % (p.get("type"), " ".join(args))
            self.console.append(text)
            if p.get("type") in ("error", "warning", "assert"):
                self.errors.append(text)
        elif method == "Log.entryAdded":
            e = p.get("entry", {})
            text = "log %s/%s: %s%s" % (
                e.get("source"), e.get("level"), e.get("text"),
                " (%s)" % e["url"] if e.get("url") else "")
            self.console.append(text)
            # The browser asks for /favicon.ico by itself, whatever the
            # page says; its 404 is not the page's fault.
            own_icon = e.get("source") == "network" and \
                (e.get("url") or "").endswith("/favicon.ico")
            if e.get("level") in ("error", "warning") and not own_icon:
                self.errors.append(text)
            if "Content Security Policy" in (e.get("text") or "") or \
                    "Refused to" in (e.get("text") or ""):
                self.csp.append(text)
        elif method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            exc = d.get("exception", {}).get("description") or d.get("text")
            text = "exception: %s (%s:%s)" % (exc, d.get("url"),
                                              d.get("lineNumber"))
            self.console.append(text)
            self.errors.append(text)
        elif method == "Runtime.bindingCalled" and \
                p.get("name") == _CSP_BINDING:
            self.csp.append("CSP violation: %s" % p.get("payload"))
        elif method in ("Inspector.targetCrashed",
                        "Target.targetCrashed"):
            raise CDPError("the page crashed: %s\n--- chromium stderr:\n%s"
                           % (msg, self.stderr_tail()))

    def send(self, method, params=None, session_id=None, timeout=None):
        """Sends one command and returns its result, collecting the events
        that arrive meanwhile. An error reply raises CDPError."""
        mid = self._new_id()
        msg = {"id": mid, "method": method, "params": params or {}}
        if session_id is not None:
            msg["sessionId"] = session_id
        what = "waiting for the reply to %s" % method
        if self.proc.poll() is not None:
            raise self._died("sending " + method)
        try:
            self._write(msg)
        except OSError:
            raise self._died("sending " + method)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            m = self._read_message(deadline, what)
            if m.get("id") == mid:
                if "error" in m:
                    raise CDPError("%s failed: %s" % (method, m["error"]))
                return m.get("result", {})
            if "method" in m:
                self._event(m)

    def page(self, method, params=None, timeout=None):
        """send() to the attached page."""
        return self.send(method, params, session_id=self.session,
                         timeout=timeout)

    def wait_event(self, method, since=0, timeout=None):
        """The first event named method received at or after index since
        of self.events, waiting for it if it has not come yet."""
        i = since
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            while i < len(self.events):
                ev = self.events[i]
                i += 1
                if ev.get("method") == method and \
                        ev.get("sessionId", self.session) == self.session:
                    return ev
            m = self._read_message(deadline, "waiting for " + method)
            if "method" in m:
                self._event(m)

    # ---- page helpers -------------------------------------------------

    def navigate(self, url):
        """Loads url and waits for its load event. Returns the final URL
        (after redirects)."""
        mark = len(self.events)
        r = self.page("Page.navigate", {"url": url})
        if r.get("errorText"):
            raise CDPError("navigating to %s: %s" % (url, r["errorText"]))
        self.wait_event("Page.loadEventFired", mark)
        return self.url()

    def evaluate(self, js, timeout=None):
        """The value of a JavaScript expression in the page (promises are
        awaited). A thrown exception raises CDPError."""
        r = self.page("Runtime.evaluate",
                      {"expression": js, "returnByValue": True,
                       "awaitPromise": True, "userGesture": True},
                      timeout=timeout)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            desc = d.get("exception", {}).get("description") or d.get("text")
            raise CDPError("evaluating %s: %s" % (js[:200], desc))
        return r.get("result", {}).get("value")

    def _element_js(self, selector, body):
        return ("(function () { var e = document.querySelector(%s);"
                " if (!e) throw new Error('no element matches ' + %s);"
                " %s })()" % (json.dumps(selector), json.dumps(selector),
                              body))

    def exists(self, selector):
        return bool(self.evaluate("!!document.querySelector(%s)" %
                                  json.dumps(selector)))

    def set_value(self, selector, text):
        """Types text into the field selector picks (value set, input and
        change events fired)."""
        self.evaluate(self._element_js(
            selector,
            "e.focus(); e.value = %s;"
            " e.dispatchEvent(new Event('input', {bubbles: true}));"
            " e.dispatchEvent(new Event('change', {bubbles: true}));"
            " return true;" % json.dumps(text)))

    def _act_and_wait(self, selector, body):
        mark = len(self.events)
        self.evaluate(self._element_js(selector, body))
        self.wait_event("Page.loadEventFired", mark)
        return self.url()

    def submit(self, selector):
        """Submits the form selector picks as its submit button would
        (requestSubmit: validation and submit events included) and waits
        for the page that answers. Returns the new URL."""
        return self._act_and_wait(selector,
                                  "e.requestSubmit(); return true;")

    def click(self, selector):
        """Clicks the element selector picks and waits for the next page
        load. Returns the new URL."""
        return self._act_and_wait(selector, "e.click(); return true;")

    def url(self):
        return self.evaluate("location.href")

    def path(self):
        return self.evaluate("location.pathname")

    def text(self):
        return self.evaluate("document.body ? document.body.innerText : ''")

    def html(self):
        return self.evaluate("document.documentElement.outerHTML")

    def screenshot(self, path):
        """Saves a PNG of the viewport to path; returns its bytes."""
        r = self.page("Page.captureScreenshot", {"format": "png"})
        png = base64.b64decode(r["data"])
        with open(path, "wb") as f:
            f.write(png)
        return png

    def problems(self):
        """Console errors and warnings, uncaught exceptions and CSP
        violations seen so far: a clean page gives []."""
        return self.errors + self.csp
