"""check_table and friends on small in-memory DuckDB tables (through ibis.duckdb.from_connection)."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import ibis
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from data_schema.validation import (ColumnCheck, FileAccount, Finding, ValidationReport,  # noqa: E402
                                    check_table, dangling_keys, duplicate_keys)

SENTINEL = "SENTINEL_VALUE_93817"


@pytest.fixture
def con():
    with duckdb.connect(":memory:") as connection:
        yield connection


def table(con, name: str, columns: str, rows: list[tuple]):
    """A text (or typed) table ``name(columns)`` holding ``rows``; returns its Ibis expression."""
    con.execute(f"CREATE TABLE {name} ({columns})")
    if rows:
        marks = ", ".join("?" for _ in rows[0])
        con.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)
    return ibis.duckdb.from_connection(con).table(name)


def by_rule(checked, column: str | None = None) -> dict[str, int]:
    return {f.rule: f.count for f in checked.findings if column is None or f.column == column}


def values(expr, column: str) -> list:
    return expr.order_by("rid")[column].to_pyarrow().to_pylist()


def text_rows(*values: str | None) -> list[tuple]:
    return [(i, v) for i, v in enumerate(values)]


def test_every_rule_is_counted_per_column(con):
    t = table(con, "t", "rid INTEGER, pid VARCHAR, age VARCHAR, sex VARCHAR, flag VARCHAR, score VARCHAR", [
        (0, "a", "40", "F", "1", "1.5"),
        (1, "", "40.5", "M", "0", "NaN"),
        (2, None, SENTINEL, "X", "2", "inf"),
        (3, "d", "", "", "0.5", "-Infinity"),
        (4, "e", "-3", "F", "1.0", "7"),
        (5, "f", "99999999999999999999", "F", "", "abc"),
        (6, "g", " 41 ", "F", "1", "200"),
    ])
    checks = [
        ColumnCheck("pid", "pid", "string", nullable=False),
        ColumnCheck("age", "age", "integer", range=(0, 120)),
        ColumnCheck("sex", "sex", "string", codes=("F", "M"), code_hint="in [codes.sex]"),
        ColumnCheck("flag", "flag", "flag"),
        ColumnCheck("score", "score", "float", range=(0, 100)),
    ]
    checked = check_table(t, checks, "f.csv", is_text=True)
    assert by_rule(checked, "pid") == {"missing value": 2}
    assert by_rule(checked, "age") == {"not a whole number": 1, "not a number": 1, "too large for a whole number": 1,
                                       "outside the plausible range 0-120": 1}
    assert by_rule(checked, "sex") == {"not one of the allowed codes in [codes.sex]": 1}
    assert by_rule(checked, "flag") == {"not a whole number": 1, "not one of the allowed codes": 1}
    assert by_rule(checked, "score") == {"not a finite number (NaN or infinity)": 3, "not a number": 1,
                                         "outside the plausible range 0-100": 1}
    assert checked.rows_in == 7
    assert checked.rows_invalid == 6  # every row but the first breaks at least one rule
    assert all(f.severity == "error" and f.file == "f.csv" for f in checked.findings)
    for f in checked.findings:
        assert f"column '{f.column}'" in f.message and f.rule in f.message
        assert SENTINEL not in f.message and "99999" not in f.message


def test_rows_invalid_counts_rows_not_findings(con):
    t = table(con, "t", "rid INTEGER, age VARCHAR, sex VARCHAR", [(0, "40", "F"), (1, "x", "X"), (2, "41", "M")])
    checks = [ColumnCheck("age", "age", "integer"), ColumnCheck("sex", "sex", "string", codes=("F", "M"))]
    checked = check_table(t, checks, "f.csv", is_text=True)
    assert checked.rows_in == 3 and checked.rows_invalid == 1
    assert sum(f.count for f in checked.findings) == 2


def test_integer_40_5_is_not_whole_but_40_0_is(con):
    t = table(con, "t", "rid INTEGER, age VARCHAR", text_rows("40.5", "40.0", "40", "-7.0", "1e2", "-0.25"))
    checked = check_table(t, [ColumnCheck("age", "age", "integer")], "f.csv", is_text=True)
    assert by_rule(checked) == {"not a whole number": 2}
    typed = check_table(t, [ColumnCheck("age", "age", "integer")], "f.csv", is_text=True,
                        extra={"rid": t.rid}).table
    assert values(typed, "age") == [None, 40, 40, -7, 100, None]
    assert typed.schema()["age"].is_integer()


def test_whole_numbers_too_large_for_int64_are_refused_not_crashing(con):
    t = table(con, "t", "rid INTEGER, n VARCHAR", text_rows("1e300", "-1e300", "9223372036854775808",
                                                              "9223372036854774784", "12"))
    checked = check_table(t, [ColumnCheck("n", "n", "integer")], "f.csv", is_text=True, extra={"rid": t.rid})
    assert by_rule(checked) == {"too large for a whole number": 3}
    assert values(checked.table, "n") == [None, None, None, 9223372036854774784, 12]


def test_decimal_comma(con):
    t = table(con, "t", "rid INTEGER, x VARCHAR, n VARCHAR",
              [(0, "12,5", "40"), (1, " 3,0 ", "41,0"), (2, "7", "41,5"), (3, "1.5", "2")])
    checks = [ColumnCheck("x", "x", "float"), ColumnCheck("n", "n", "integer")]
    comma = check_table(t, checks, "f.csv", is_text=True, decimal=",", extra={"rid": t.rid})
    assert by_rule(comma, "n") == {"not a whole number": 1}
    assert by_rule(comma, "x") == {}  # '1.5' still reads as a number with decimal ','
    assert values(comma.table, "x") == [12.5, 3.0, 7.0, 1.5]
    assert values(comma.table, "n") == [40, 41, None, 2]
    dot = check_table(t, checks, "f.csv", is_text=True, decimal=".", extra={"rid": t.rid})
    assert by_rule(dot, "x") == {"not a number": 2}
    assert by_rule(dot, "n") == {"not a number": 2}


def test_age_top_coding_counts_and_recodes(con):
    t = table(con, "t", "rid INTEGER, age VARCHAR", text_rows("18", "89", "90", "95", "120", "121", "", None))
    check = ColumnCheck("age", "age", "integer", range=(18, 90), top_code_age=True)
    checked = check_table(t, [check], "f.csv", is_text=True, extra={"rid": t.rid})
    assert checked.top_coded == 2  # 95 and 120 change (90 already is 90+); 121 is implausible, not top-coded
    assert by_rule(checked) == {"outside the plausible range 18-120": 1}
    assert values(checked.table, "age") == [18, 89, 90, 90, 90, 121, None, None]


def test_top_coding_counts_only_kept_rows_when_dropping(con):
    t = table(con, "t", "rid INTEGER, age VARCHAR, sex VARCHAR",
              [(0, "95", "F"), (1, "96", "X"), (2, "130", "F"), (3, "40", "M")])
    checks = [ColumnCheck("age", "age", "integer", range=(0, 120), top_code_age=True),
              ColumnCheck("sex", "sex", "string", codes=("F", "M"))]
    checked = check_table(t, checks, "f.csv", is_text=True, drop_invalid=True, extra={"rid": t.rid})
    assert checked.top_coded == 1
    assert values(checked.table, "rid") == [0, 3]
    refused = check_table(t, checks, "f.csv", is_text=True, drop_invalid=False)
    assert refused.top_coded == 2


def test_drop_invalid_removes_exactly_the_invalid_rows(con):
    rows = [(0, "p0", "40", "F"), (1, "p1", "40.5", "M"), (2, "", "41", "F"), (3, "p3", "42", "Q"),
            (4, "p4", "43", "M"), (5, "p5", "abc", "M"), (6, "p6", "", "")]
    t = table(con, "t", "rid INTEGER, pid VARCHAR, age VARCHAR, sex VARCHAR", rows)
    checks = [ColumnCheck("pid", "pid", "string", nullable=False), ColumnCheck("age", "age", "integer"),
              ColumnCheck("sex", "sex", "string", codes=("F", "M"))]
    kept = check_table(t, checks, "f.csv", is_text=True, drop_invalid=True, extra={"rid": t.rid})
    assert values(kept.table, "rid") == [0, 4, 6]
    assert kept.rows_in == 7 and kept.rows_invalid == 4
    assert kept.table.count().to_pyarrow().as_py() == kept.rows_in - kept.rows_invalid
    assert all(f.severity == "warning" and "left out" in f.message for f in kept.findings)
    assert values(kept.table, "pid") == ["p0", "p4", "p6"]
    assert values(kept.table, "sex") == ["F", "M", None]
    everything = check_table(t, checks, "f.csv", is_text=True, drop_invalid=False)
    assert everything.table.count().to_pyarrow().as_py() == 7
    assert all(f.severity == "error" and "refused" in f.message for f in everything.findings)


def test_absent_columns(con):
    t = table(con, "t", "rid INTEGER, age VARCHAR", text_rows("40"))
    checks = [ColumnCheck("site", "site", "string"), ColumnCheck("pid", "pid", "string", nullable=False)]
    checked = check_table(t, checks, "f.csv", is_text=True)
    found = {f.rule: f for f in checked.findings}
    assert found["column absent"].severity == "warning" and found["column absent"].column == "site"
    assert found["required column absent"].severity == "error" and found["required column absent"].column == "pid"
    assert checked.table.columns == ("site", "pid")


def test_typed_source_columns(con):
    t = table(con, "t", "rid INTEGER, age BIGINT, x DOUBLE, flag TINYINT, code INTEGER, tags INTEGER[]",
              [(0, 40, 1.5, 1, 1, [1]), (1, 200, float("nan"), 2, 3, [2]), (2, None, float("inf"), 0, 2, None)])
    checks = [ColumnCheck("age", "age", "integer", range=(0, 120)), ColumnCheck("x", "x", "float"),
              ColumnCheck("flag", "flag", "flag"), ColumnCheck("code", "code", "integer", codes=(1, 2)),
              ColumnCheck("tags", "tags", "float")]
    checked = check_table(t, checks, "f.parquet", is_text=False)
    assert by_rule(checked, "age") == {"outside the plausible range 0-120": 1}
    assert by_rule(checked, "x") == {"not a finite number (NaN or infinity)": 2}
    assert by_rule(checked, "flag") == {"not one of the allowed codes": 1}
    assert by_rule(checked, "code") == {"not one of the allowed codes": 1}
    assert by_rule(checked, "tags") == {"not a number": 2}  # a list is not a number (and must not crash)


def test_duplicate_and_dangling_keys(con):
    parents = table(con, "parents", "participant_id VARCHAR", [("a",), ("b",), ("b",), ("c",), ("c",), ("c",)])
    children = table(con, "children", "participant_id VARCHAR", [("a",), ("z",), ("z",), (None,), ("c",)])
    dup = duplicate_keys(parents, "participant_id", "p.csv")
    assert dup is not None and dup.count == 5 and dup.rule == "duplicate key" and dup.severity == "error"
    assert dup.column == "participant_id" and "'b'" not in dup.message and "'c'" not in dup.message
    assert duplicate_keys(parents.distinct(), "participant_id", "p.csv") is None
    dangling = dangling_keys(children, "participant_id", parents, "participant_id")
    assert children.aggregate(n=dangling.sum()).to_pyarrow().column(0)[0].as_py() == 2


def test_report_usable_and_dict():
    report = ValidationReport((Finding("warning", "f.csv", "r", "m", "c", 2),), (FileAccount("f.csv", 3, 2, 1),), 4)
    assert report.usable and report.errors == ()
    assert report.to_dict() == {"usable": True, "findings": [{"severity": "warning", "file": "f.csv", "rule": "r",
                                                              "message": "m", "column": "c", "count": 2}],
                                "files": [{"file": "f.csv", "rows_read": 3, "rows_loaded": 2, "rows_rejected": 1}],
                                "top_coded_ages": 4}
    refused = ValidationReport((Finding("error", "f.csv", "r", "m"),))
    assert not refused.usable and refused.to_text().startswith("Data refused.")
