"""The manual pages and the sample configuration: each page renders with
man without a warning, and kiln.conf(5) and docs/kiln.conf.sample name
every key of the configuration table in lib/config.c (read here from the
source, not from the program) with its default and range (and the words
a key takes); the sample is a configuration kiln-admin accepts."""

import os
import re
import subprocess

import harness
from harness import ROOT, run

STACK = None

MAN = os.path.join(ROOT, "docs", "man")
PAGES = ["kiln-render.1", "kiln.conf.5", "kilnd.8", "kiln-admin.8"]
SAMPLE = os.path.join(ROOT, "docs", "kiln.conf.sample")


def config_keys():
    """(section, key, default, (lo, hi) or None) of every key in
    lib/config.c's table, and the tier keys."""
    with open(os.path.join(ROOT, "lib", "config.c")) as f:
        src = f.read()
    keys = []
    for m in re.finditer(r'\b(S|SC|W|I|B)\("(\w+)", "(\w+)", \w+, '
                         r'((?:KILN_SHARE_DIR )?"[^"]*")'
                         r'(?:,\s*(-?\d+),\s*(-?\d+))?', src):
        kind, sec, key, d, lo, hi = m.groups()
        d = d.replace('KILN_SHARE_DIR "', 'PREFIX/share/kiln').strip('"')
        keys.append((sec, key, d, (lo, hi) if kind == "I" else None))
    tiers = src[src.index("tier_keys[] = {"):]
    tiers = tiers[:tiers.index("};")]
    for m in re.finditer(r'\{ "(\w+)", offsetof\(struct tier_limits, \w+\),'
                         r' (-?\d+), (-?\d+),\s*(-?\d+) \}', tiers):
        key, d, lo, hi = m.groups()
        keys.append(("tier", key, d, (lo, hi)))
    assert len(keys) > 40, keys
    return keys


def config_words():
    """{(section, key): [words]} of the keys that take one of a few words
    (W in lib/config.c's table)."""
    with open(os.path.join(ROOT, "lib", "config.c")) as f:
        src = f.read()
    return {(m.group(1), m.group(2)): m.group(3).split("|")
            for m in re.finditer(r'\bW\("(\w+)", "(\w+)", \w+, "[^"]*",'
                                 r'\s*"([\w|]+)"\)', src)}


def rendered(page):
    p = run(["man", "--warnings", "-l", "-Tutf8", os.path.join(MAN, page)],
            env=dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8"))
    return p


def test_every_page_renders_without_warnings(_):
    for page in PAGES:
        p = rendered(page)
        assert p.returncode == 0, (page, p.stderr)
        assert p.stderr.strip() == "", (page, p.stderr)
        name = page.rsplit(".", 1)[0]
        assert name.upper() in p.stdout.splitlines()[0], (page,
                                                           p.stdout[:200])


def entries(page_text):
    """{(section, key): text} of kiln.conf.5's .SS/.TP/.B entries, with
    the roff font escapes dropped."""
    out, sec, key = {}, None, None
    lines = page_text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r'\.SS \[(\w+)', line)
        if m or line.startswith(".SH"):
            sec, key = (m.group(1) if m else None), None
            continue
        if sec is not None and line == ".TP" and i + 1 < len(lines) and \
                lines[i + 1].startswith(".B "):
            key = lines[i + 1][3:].strip()
            out[(sec, key)] = ""
            continue
        if key is not None and not line.startswith("."):
            out[(sec, key)] += re.sub(r"\\f[BIPR]", "", line) + " "
    return out


def test_kiln_conf_5_names_every_key_with_default_and_range(_):
    with open(os.path.join(MAN, "kiln.conf.5")) as f:
        got = entries(f.read())
    problems = []
    for sec, key, d, rng in config_keys():
        text = got.get((sec, key))
        if text is None:
            problems.append("[%s] %s: not in kiln.conf.5" % (sec, key))
            continue
        if "Default: %s." % (d or "empty") not in text:
            problems.append("[%s] %s: default %r not given: %s" %
                            (sec, key, d, text))
        if rng and "from %s to %s" % rng not in text:
            problems.append("[%s] %s: range %s-%s not given" %
                            ((sec, key) + rng))
    extra = set(got) - {(s, k) for s, k, _, _ in config_keys()}
    problems += ["[%s] %s: in kiln.conf.5, not a key" % e for e in extra]
    assert not problems, "\n".join(problems)


def test_kiln_conf_5_names_every_word_a_key_takes(_):
    with open(os.path.join(MAN, "kiln.conf.5")) as f:
        got = entries(f.read())
    words = config_words()
    assert words, "no W(...) keys found in lib/config.c"
    missing = ["[%s] %s: %s" % (sec, key, w)
               for (sec, key), ws in words.items() for w in ws
               if not re.search(r"\b%s\b" % re.escape(w),
                                got.get((sec, key), ""))]
    assert not missing, missing


def test_the_sample_names_every_key(_):
    with open(SAMPLE) as f:
        text = f.read()
    sections, sec = {}, None
    for line in text.splitlines():
        m = re.match(r"\[(\w+)", line)
        if m:
            sec = m.group(1)
        m = re.match(r"#? ?(\w+) =", line)
        if m and sec:
            sections.setdefault(sec, set()).add(m.group(1))
    missing = ["[%s] %s" % (s, k) for s, k, _, _ in config_keys()
               if k not in sections.get(s, ())]
    assert not missing, missing


def test_the_sample_is_a_valid_configuration(_):
    p = run([os.path.join(harness.BUILD, "tools", "kiln-admin"), "-c",
             SAMPLE, "check-config"], stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "configuration ok" in p.stdout, p.stdout
