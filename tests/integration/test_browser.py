"""Pages in a real headless Chromium: the front page renders with its
stylesheet and nothing is refused by the Content-Security-Policy."""

import os
import shutil
import tempfile

from harness import run, wait_until

STACK = dict(server="lighttpd", heartbeat=1, daemon_name="browser-1")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0", "--window-size=1100,700"]


def chromium(s, path, *extra):
    profile = tempfile.mkdtemp(prefix="kiln-chromium-")
    try:
        return run(["chromium"] + FLAGS + ["--user-data-dir=" + profile] +
                   list(extra) + ["http://127.0.0.1:%d%s" % (s.port, path)],
                   timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def console_problems(stderr):
    # Console messages and CSP refusals are logged as CONSOLE lines and
    # "Refused to ..." text.
    return [line for line in stderr.splitlines()
            if "CONSOLE" in line or "Refused to" in line]


def test_front_page_renders_in_chromium(s):
    wait_until(lambda: s.sql("SELECT COUNT(*) FROM daemons WHERE"
                             " name = 'browser-1'") == [["1"]],
               what="kilnd's row")
    p = chromium(s, "/", "--dump-dom")
    assert p.returncode == 0, p.stderr[-2000:]
    assert "<h2>Render daemons</h2>" in p.stdout
    assert "<td>browser-1</td>" in p.stdout
    assert 'href="/static/kiln.css"' in p.stdout
    assert console_problems(p.stderr) == [], console_problems(p.stderr)


def test_front_page_screenshot(s):
    out = s.path("home.png")
    p = chromium(s, "/", "--screenshot=" + out)
    assert p.returncode == 0, p.stderr[-2000:]
    with open(out, "rb") as f:
        png = f.read()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(png) > 5000      # a rendered page, not a blank one
    assert console_problems(p.stderr) == []
    if os.environ.get("KILN_SCREENSHOT_DIR"):
        shutil.copy(out, os.path.join(os.environ["KILN_SCREENSHOT_DIR"],
                                      "home.png"))
