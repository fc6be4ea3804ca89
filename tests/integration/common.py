"""common.py - facts the integration tests compute from the source tree,
so expected values never come from the code under test."""

import glob
import hashlib
import os
import re

from harness import ROOT


def kiln_version():
    with open(os.path.join(ROOT, "lib", "util.h")) as f:
        return re.search(r'#define KILN_VERSION "([^"]+)"', f.read()).group(1)


def migration_files():
    """(version, name, sha256) of every sql/NNN_name.sql, in order."""
    out = []
    for p in glob.glob(os.path.join(ROOT, "sql", "*.sql")):
        name = os.path.basename(p)
        m = re.match(r"^(\d{3,})_[a-z0-9_]+\.sql$", name)
        if m:
            with open(p, "rb") as f:
                out.append((int(m.group(1)), name,
                            hashlib.sha256(f.read()).hexdigest()))
    return sorted(out)


def check_security_headers(resp, where):
    csp = resp.headers.get("content-security-policy", "")
    assert csp, "%s: no Content-Security-Policy" % where
    assert "unsafe-inline" not in csp, "%s: CSP allows unsafe-inline" % where
    assert "frame-ancestors 'none'" in csp, "%s: CSP: %s" % (where, csp)
    assert resp.headers.get("x-content-type-options") == "nosniff", where
    assert resp.headers.get("referrer-policy"), where
