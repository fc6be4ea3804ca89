"""view_rows stores each row under the SELECT's own column aliases, against
the stack's real MariaDB: the SQL names the template keys, and a column
left without an alias fails the call instead of making a key no template
reads."""

import os
import subprocess

from harness import BUILD

STACK = dict(server="lighttpd", daemon=False)


def case(s, name):
    p = subprocess.run([os.path.join(BUILD, "tests", "db", "view_rows"),
                        s.conf, name], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip(), p.stderr


def test_keys_are_the_aliases_and_null_is_empty(s):
    out, _ = case(s, "aliases")
    assert out == "2 1 n2 2 [] (none)", out


def test_a_column_without_an_alias_fails_and_is_logged(s):
    out, err = case(s, "unaliased")
    assert out == "-1", out
    assert "needs an AS alias" in err, err


def test_no_rows_sets_no_keys(s):
    out, _ = case(s, "no_rows")
    assert out == "0 (none)", out
