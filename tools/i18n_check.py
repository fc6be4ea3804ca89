#!/usr/bin/python3
"""i18n_check.py - the translation checks (run by tests/integration/test_i18n.py).

1. Every msgid the portal uses has a non-empty msgstr in po/zh_CN.po:
   the _("...") of every template, and in the C sources the strings marked
   for translation: N_("..."), view_tr(req, "..."), i18n_tr(lang, "..."),
   the .msg of the page handlers' declared inputs, the literal messages of
   view_error, view_field_error and auth.c's refuse, submit.c's TR()
   formats, the page titles of view_render, and http_reason's phrases
   (error pages show them).
2. No template has bare English outside _(): tags, ClearSilver commands,
   <code> and <pre> contents and entities are stripped, and the words left
   over (and those of the alt, title, placeholder and aria-label
   attributes) must be on ALLOW, a list of brand names, units and literal
   identifiers. Templates other helpers are rewriting now (SECOND_ROUND)
   are not checked for bare text yet; their _() are.

Usage: i18n_check.py [ROOT] (default: this checkout). Prints one line per
problem and exits 1 when there is any; 0 when all is well.
"""
import glob
import os
import re
import sys

# The tree to check: the one this file is in, or the first argument.
ROOT = (os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PO = os.path.join(ROOT, "po", "zh_CN.po")

# Templates not checked for bare text (none now: the studio's were
# wrapped in the second round).
SECOND_ROUND = set()

# Words allowed outside _(): names, units and identifiers a user types or
# sees as values (scope and role names, setting values).
ALLOW = {
    "kiln", "Standard", "Webhooks", "HTTP", "URL", "UNet", "English",
    "s", "read", "generate", "admin", "moderator", "user", "open", "invite",
    "closed",
    # The studio's: model-file kinds, sampler-like option values, keys.
    "LoRAs", "ControlNet", "Webhook", "latent", "nearest", "lanczos",
    "Ctrl", "Enter",
}

# C files whose strings reach the portal's pages.
C_SOURCES = ["cgi-bin/portal.c", "cgi-bin/page_*.c", "lib/view.c",
             "lib/password.c", "lib/auth.c", "lib/serve.c", "lib/submit.c",
             "lib/upload.c", "lib/csv.c", "lib/manifest.c"]

STR = r'"(?:[^"\\\n]|\\.)*"'
# A run of adjacent C string literals (concatenation across lines).
STRS = r'((?:\s*%s)+)' % STR


def c_unescape(s):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            out.append({"n": "\n", "t": "\t", '"': '"', "\\": "\\",
                        "r": "\r"}.get(n, n))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def join_literals(run):
    return "".join(c_unescape(m[1:-1]) for m in re.findall(STR, run))


def po_entries(path):
    """msgid -> msgstr of the catalogue (a small reader of its own: the
    C parser is what the portal uses and is tested on its own)."""
    entries, cur, key = {}, {}, None
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for line in lines + [""]:
        line = line.strip()
        m = re.match(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?)\s+(".*")$',
                     line)
        if m:
            if m.group(1) in ("msgid", "msgctxt") and "msgstr" in cur:
                add_entry(entries, cur)
                cur = {}
            key = "msgstr" if m.group(1) == "msgstr[0]" else m.group(1)
            cur[key] = c_unescape(m.group(2)[1:-1])
        elif line.startswith('"') and key is not None:
            cur[key] += c_unescape(line[1:-1])
        elif not line or line.startswith("#"):
            key = None
    if "msgstr" in cur:
        add_entry(entries, cur)
    entries.pop("", None)
    return entries


# msgids given twice in the catalogue: i18n.c refuses such a file, so the
# portal would not start (two branches appending the same msgid merge
# cleanly and break it).
DUPLICATES = []
SEEN = set()


def add_entry(entries, cur):
    msgid = cur.get("msgid", "")
    key = (cur.get("msgctxt"), msgid)
    if key in SEEN:
        DUPLICATES.append(msgid)
    SEEN.add(key)
    entries[msgid] = cur["msgstr"]


def template_msgids(path):
    text = open(path, encoding="utf-8").read()
    return [c_unescape(m) for m in
            re.findall(r'_\("((?:[^"\\]|\\.)*)"\)', text)]


def c_msgids(path):
    text = open(path, encoding="utf-8").read()
    found = []
    pats = [
        r'\bN_\(' + STRS,
        r'\bview_tr\(\s*[\w.>-]+\s*,' + STRS,
        r'\bi18n_tr\(\s*\w+\s*,' + STRS,
        r'\.msg\s*=' + STRS,
        r'\bview_error\(\s*\w+\s*,\s*\d+\s*,\s*' + STR + r'\s*,' + STRS,
        r'\bview_field_error\(\s*\w+\s*,\s*' + STR + r'\s*,' + STRS,
        # auth.c's refusals of a page request (view_error's message).
        r'\brefuse\(\s*\w+\s*,\s*\d+\s*,' + STRS,
        # submit.c's fixed field messages (the generate page's
        # form_error translates them).
        r'\berr\(\s*\w+\s*,(?:[^,;()]|\([^()]*\))+?,' + STRS + r'\s*\)',
        # submit.c's formatted messages (a page's language while it
        # checks a form: job_spec_lang).
        r'\bTR\(' + STRS,
        # Page titles (view_render translates them).
        r'\bview_render\(\s*\w+\s*,\s*[^,()]+,' + STRS + r'\s*,',
    ]
    for p in pats:
        for m in re.finditer(p, text):
            found.append(join_literals(m.group(1)))
    if path.endswith("lib/request.c"):
        found += re.findall(r'case \d+: return "([^"]+)";', text)
    return found


def used_msgids():
    ids = {}
    for t in sorted(glob.glob(os.path.join(ROOT, "templates", "*.cs"))):
        for s in template_msgids(t):
            ids.setdefault(s, os.path.relpath(t, ROOT))
    paths = []
    for pat in C_SOURCES + ["lib/request.c"]:
        paths += sorted(glob.glob(os.path.join(ROOT, pat)))
    for p in paths:
        for s in c_msgids(p):
            ids.setdefault(s, os.path.relpath(p, ROOT))
    return ids


def bare_words(path):
    """The words of path that are outside _() and not allowed."""
    text = open(path, encoding="utf-8").read()
    problems = []
    # A macro's text arguments (confirm's label and question) are shown
    # too: a string literal there must be inside _(), unless it is a path
    # or a class or field name (one lower-case word).
    for m in re.finditer(r'<\?cs\s+call:.*?\?>', text, flags=re.S):
        for lit in re.finditer(r'(_\()?"((?:[^"\\]|\\.)*)"', m.group(0)):
            s = lit.group(2)
            if lit.group(1) or s.startswith("/") or \
                    not re.search(r"[A-Za-z]", s) or \
                    re.fullmatch(r"[a-z_-]+", s):
                continue
            problems.append("macro argument: %r" % s)
    t = re.sub(r'<\?cs.*?\?>', ' ', text, flags=re.S)
    # Attributes people read: their text must come from _() too, but on
    # an element marked translate="no" (HTML's own mark for text that is
    # code or data, such as a sample CSV).
    for tag in re.findall(r'<[^>]+>', t):
        if 'translate="no"' in tag:
            continue
        for m in re.finditer(r'\b(alt|title|placeholder|aria-label|'
                             r'data-done)="([^"]*)"', tag):
            for w in re.findall(r"[A-Za-z][A-Za-z']*", m.group(2)):
                if w not in ALLOW:
                    problems.append("%s attribute: %r" % (m.group(1), w))
    t = re.sub(r'<!--.*?-->', ' ', t, flags=re.S)
    t = re.sub(r'<(code|pre|script|style)\b.*?</\1>', ' ', t,
               flags=re.S | re.I)
    t = re.sub(r'<[^>]*>', ' ', t, flags=re.S)
    t = re.sub(r'&#?\w+;', ' ', t)
    for w in re.findall(r"[A-Za-z][A-Za-z']*", t):
        if w not in ALLOW:
            problems.append("text: %r" % w)
    return problems


def main():
    problems = []
    try:
        po = po_entries(PO)
    except OSError as e:
        print("%s: %s" % (PO, e))
        return 1
    for msgid in DUPLICATES:
        problems.append("%s: msgid %r given twice" %
                        (os.path.relpath(PO, ROOT), msgid))
    for msgid, where in sorted(used_msgids().items()):
        if not po.get(msgid):
            problems.append("%s: no translation for %r" % (where, msgid))
    for t in sorted(glob.glob(os.path.join(ROOT, "templates", "*.cs"))):
        if os.path.basename(t) in SECOND_ROUND:
            continue
        for p in bare_words(t):
            problems.append("%s: not translated: %s" %
                            (os.path.relpath(t, ROOT), p))
    for p in problems:
        print(p)
    if not problems:
        print("i18n_check: %d msgids, all translated; templates clean" %
              len(used_msgids()))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
