#!/usr/bin/python3
"""run.py - kiln's test runner: C unit tests (TAP), libFuzzer harnesses over
their seed corpora, and integration tests against a real throwaway stack.
Prints one line per test and ends with "N passed, N failed"."""

import argparse
import ast
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "tests", "engine"))


class Tally:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.failures = []

    def skip(self, name, why):
        self.skipped += 1
        print("SKIP %s: %s" % (name, why), flush=True)

    def record(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("PASS %s" % name, flush=True)
        else:
            self.failed += 1
            self.failures.append(name)
            print("FAIL %s" % name, flush=True)
            if detail:
                for line in detail.rstrip().splitlines():
                    print("    " + line)
            sys.stdout.flush()


def run_unit(build, tally, valgrind):
    bins = sorted(glob.glob(os.path.join(build, "tests", "test_*")))
    if not bins:
        tally.record("unit: test binaries exist in %s" % build, False,
                     "no test_* binaries; did the build run?")
    for b in bins:
        name = os.path.basename(b)
        cmd = [b]
        if valgrind:
            cmd = ["valgrind", "-q", "--error-exitcode=99",
                   "--leak-check=full", "--errors-for-leak-kinds=definite",
                   "--track-origins=yes",
                   "--suppressions=" + os.path.join(ROOT, "tests",
                                                    "valgrind.supp")] + cmd
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                           timeout=600)
        comments = []
        seen = 0
        for line in p.stdout.splitlines():
            m = re.match(r"(ok|not ok) \d+ - (.*)", line)
            if m:
                seen += 1
                tally.record("unit/%s: %s" % (name, m.group(2)),
                             m.group(1) == "ok", "\n".join(comments))
                comments = []
            elif line.startswith("#"):
                comments.append(line)
        plan = re.search(r"^1\.\.(\d+)$", p.stdout, re.M)
        complete = plan is not None and int(plan.group(1)) == seen
        explained = "not ok" in p.stdout
        vg_errors = valgrind and re.search(r"^==\d+== ", p.stderr, re.M)
        # A crash, a sanitizer report or a valgrind error fails the binary
        # as a whole even when every check passed.
        if not complete or vg_errors or (p.returncode != 0 and
                                         not explained):
            tally.record("unit/%s: exits cleanly" % name, False,
                         "exit status %d\n%s" % (p.returncode,
                                                 p.stderr[-3000:]))


def run_fuzz(tally, runs):
    harnesses = sorted(glob.glob(os.path.join(ROOT, "build-fuzz", "fuzz_*")))
    sources = glob.glob(os.path.join(ROOT, "tests", "fuzz", "fuzz_*.c"))
    # No harness built is a failure, not 0 of 0 passed.
    if len(harnesses) < len(sources):
        tally.record("fuzz: every harness is built in build-fuzz", False,
                     "%d of %d harnesses built; run make fuzz" %
                     (len(harnesses), len(sources)))
    for b in harnesses:
        name = os.path.basename(b)
        corpus = os.path.join(ROOT, "tests", "fuzz", "corpus",
                              name[len("fuzz_"):])
        work = tempfile.mkdtemp(prefix="kiln-fuzz-")
        try:
            shutil.copytree(corpus, os.path.join(work, "corpus"))
            p = subprocess.run(
                [b, "-runs=%d" % runs, "-seed=1", "-max_total_time=60",
                 "-print_final_stats=0", os.path.join(work, "corpus")],
                cwd=work, capture_output=True, text=True, timeout=300)
            tally.record("fuzz/%s: %d runs from the seed corpus" %
                         (name, runs), p.returncode == 0,
                         p.stderr[-4000:])
        finally:
            shutil.rmtree(work, ignore_errors=True)


def run_integration(build, tally, sanitized, pattern, valgrind=False):
    import harness  # noqa: E402  (needs sys.path above)
    harness.BUILD = os.path.join(ROOT, build)
    harness.SANITIZED = sanitized
    if valgrind:
        harness.run_module("valgrind_checks", tally)
        return
    files = sorted(glob.glob(os.path.join(ROOT, "tests", "engine",
                                          "test_*.py"))) + \
        sorted(glob.glob(os.path.join(ROOT, "tests", "integration",
                                      "test_*.py")))
    for modname, only in select_tests(files, pattern):
        harness.run_module(modname, tally, only)


def test_names(path):
    """The test functions a module defines, read from its source (an
    engine module does work when imported)."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef)
            and n.name.startswith("test_")]


def select_tests(files, pattern):
    """(module, None for all its tests or the set of those to run). A
    pattern that matches module names picks whole modules; one that
    matches none picks single tests, by "module.test_function" or by the
    name a result line prints ("module: words of the name")."""
    mods = [(os.path.splitext(os.path.basename(f))[0], f) for f in files]
    if not pattern or any(re.search(pattern, m) for m, _ in mods):
        return [(m, None) for m, _ in mods
                if not pattern or re.search(pattern, m)]
    out = []
    for m, f in mods:
        only = {t for t in test_names(f)
                if re.search(pattern, "%s.%s" % (m, t)) or
                re.search(pattern, "%s: %s" % (m, t[5:].replace("_", " ")))}
        if only:
            out.append((m, only))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--only", choices=["unit", "fuzz", "integration"])
    ap.add_argument("--sanitized", action="store_true",
                    help="binaries carry ASan/UBSan: scan logs for reports")
    ap.add_argument("--valgrind", action="store_true",
                    help="run the unit tests under valgrind")
    ap.add_argument("--fuzz-runs", type=int, default=50000)
    ap.add_argument("-k", dest="pattern", default="",
                    help="only integration modules matching this regex;"
                    " when it matches no module, only the tests it"
                    " matches (module.test_function)")
    args = ap.parse_args()
    os.environ.setdefault("POCL_CACHE_DIR",
                          os.path.join(ROOT, "build", "pocl-cache"))
    tally = Tally()
    t0 = time.time()
    try:
        if args.only in (None, "unit"):
            run_unit(args.build, tally, args.valgrind)
        if args.only in (None, "fuzz") and not args.valgrind:
            run_fuzz(tally, args.fuzz_runs)
        if args.only in (None, "integration"):
            run_integration(args.build, tally, args.sanitized, args.pattern,
                            args.valgrind)
    except KeyboardInterrupt:
        tally.record("test run interrupted", False)
    if tally.failures:
        print("\nfailed:")
        for n in tally.failures:
            print("  " + n)
    print("(%.0f s)" % (time.time() - t0))
    if tally.skipped:
        print("%d passed, %d failed, %d skipped" % (tally.passed,
                                                    tally.failed,
                                                    tally.skipped))
    else:
        print("%d passed, %d failed" % (tally.passed, tally.failed))
    return 1 if tally.failed else 0


if __name__ == "__main__":
    sys.exit(main())
