"""Rows bound by name into typed fields (db_query_into), against the
stack's real MariaDB: a SELECT whose columns do not match the code's
fields fails before any row is read, and numbers parse strictly."""

import os
import subprocess

from harness import BUILD

STACK = dict(server="lighttpd", daemon=False)


def case(s, name):
    p = subprocess.run([os.path.join(BUILD, "tests", "db", "db_rows"),
                        s.conf, name], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def test_every_type_round_trips_at_its_limits(s):
    assert case(s, "types") == "ok"


def test_each_row_reaches_the_callback(s):
    assert case(s, "rows") == "ok"


def test_without_a_callback_the_first_row_is_kept(s):
    assert case(s, "first_row_only") == "ok"


def test_no_row_leaves_the_record_alone(s):
    assert case(s, "no_rows") == "ok"


def test_a_reordered_select_is_refused(s):
    out = case(s, "reordered")
    assert out == ("error: query column 1 is 'l', the code reads 'id' "
                   "there"), out


def test_a_mismatch_is_found_with_no_rows(s):
    out = case(s, "reordered_empty")
    assert out.startswith("error: query selects 2 columns, the code "
                          "reads 1"), out


def test_an_unnamed_expression_is_refused(s):
    assert case(s, "unnamed") == ("error: query column 1 is '1 + 1', the "
                                  "code reads 'i' there")


def test_trailing_garbage_is_not_a_number(s):
    assert case(s, "not_a_number") == ("error: column 'i': '12a' is not "
                                       "a number of its type")


def test_an_int_out_of_range_fails(s):
    assert "column 'i': '2147483648'" in case(s, "int_overflow")


def test_a_negative_id_fails(s):
    assert "column 'id': '-1'" in case(s, "negative_id")


def test_a_fraction_is_not_an_int(s):
    assert "column 'i': '1.5'" in case(s, "fraction_for_int")


def test_an_empty_string_is_not_a_double(s):
    assert "column 'd': ''" in case(s, "empty_double")


def test_null_is_refused_unless_allowed(s):
    assert case(s, "null_refused") == "error: column 'i' is NULL"
    assert case(s, "null_allowed") == "ok"


def test_db_query_long_parses_strictly(s):
    assert case(s, "long_integer") == "ok"
    assert case(s, "long_not_integer") == ("error: 'seven' is not an "
                                           "integer")
