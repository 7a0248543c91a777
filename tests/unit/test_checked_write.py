"""A wide cohort's canonical checks are counted in the scan that writes it (refuse mode) and in a scan of their own
(drop mode): the same file gives the same rules, columns and counts either way, the refused cohort leaves no table,
and the loaded one keeps no flag column."""

from __future__ import annotations

import os

import duckdb
import pytest

from data_schema.loading import COHORT_TABLE, LoadRefused, load_cohort
from data_schema.mapping import parse_mapping

ROWS = ["pid,sex,age,rls,ferritin",
        "a1,F,45,1,30.5", "a2,M,95,0,80", "a3,X,51,1,12", "a4,F,17,0,", "a5,M,abc,1,40", "a6,F,60,2,nan",
        "a7,M,70,0,55", "a8,F, 33 ,1,61"]
MAPPING = """[source]
files = ["cohort.csv"]
[columns]
participant_id = "pid"
sex = "sex"
age = "age"
[codes.sex]
female = ["F"]
male = ["M"]
[outcomes.rls]
column = "rls"
positive = [1]
[biomarker]
column = "ferritin"
"""


def _load(tmp_path, mode: str):
    (tmp_path / "cohort.csv").write_text("\n".join(ROWS) + "\n", encoding="utf-8")
    text = MAPPING + f'[validation]\ninvalid_rows = "{mode}"\n'
    return duckdb.connect(), parse_mapping(text, base=tmp_path)


def _rules(findings):
    return sorted((f.rule, f.column, f.count) for f in findings if f.severity in ("error", "warning")
                  and f.rule != "no roles")


def test_refuse_and_drop_count_the_same_rules(tmp_path):
    con, mapping = _load(tmp_path, "refuse")
    with pytest.raises(LoadRefused) as refused:
        load_cohort(con, mapping)
    tables = {name for (name,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert COHORT_TABLE not in tables
    con2, dropping = _load(tmp_path, "drop")
    loaded = load_cohort(con2, dropping)
    assert _rules(refused.value.report.findings) == _rules(loaded.report.findings)
    assert {f.severity for f in refused.value.report.findings if f.rule != "age top-coded"} >= {"error"}
    assert loaded.n_participants == 5  # a3 (sex X), a5 (age abc) and a6 (ferritin nan) left out; " 33 " is 33


def test_a_valid_cohort_keeps_no_flag_column_and_counts_top_coding(tmp_path):
    (tmp_path / "cohort.csv").write_text("\n".join([ROWS[0], "a1,F,45,1,30.5", "a2,M,95,0,80", "a3,F,89,0,"])
                                         + "\n", encoding="utf-8")
    mapping = parse_mapping(MAPPING, base=tmp_path)
    con = duckdb.connect()
    loaded = load_cohort(con, mapping)
    columns = [c for (c,) in con.execute(f"SELECT column_name FROM information_schema.columns WHERE table_name = "
                                         f"'{COHORT_TABLE}'").fetchall()]
    assert not [c for c in columns if c.startswith("__")]
    assert [f.count for f in loaded.report.findings if f.rule == "age top-coded"] == [1]
    assert con.execute(f"SELECT max(age) FROM {COHORT_TABLE}").fetchone()[0] == 90


def test_a_file_replaced_while_it_is_loaded_is_refused_and_leaves_no_table(tmp_path, monkeypatch):
    """Parquet sources are read more than once (checks, then the write): a file replaced in between must not pass."""
    import pandas as pd

    from data_schema import loading
    from data_schema.reading import DataError

    pd.DataFrame({"pid": ["a1", "a2"], "sex": ["F", "M"], "age": [40, 50], "rls": [1, 0], "ferritin": [30.0, 80.0]}
                 ).to_parquet(tmp_path / "cohort.parquet")
    mapping = parse_mapping(MAPPING.replace("cohort.csv", "cohort.parquet"), base=tmp_path)
    write = loading._check_and_write

    def replaced_during(*args, **kwargs):
        write(*args, **kwargs)
        os.utime(tmp_path / "cohort.parquet", ns=(1, 1))  # another export landed

    monkeypatch.setattr(loading, "_check_and_write", replaced_during)
    con = duckdb.connect()
    with pytest.raises(DataError, match="changed while it was being read"):
        load_cohort(con, mapping)
    tables = {name for (name,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert COHORT_TABLE not in tables


@pytest.mark.parametrize("value, expected", [("F\x0b", "F"), ("\x0b", None), (" \tM\r\n", "M"), ("F", "F")])
def test_text_is_trimmed_of_every_whitespace_strip_knows(value, expected):
    import ibis

    from data_schema.validation import ColumnCheck, typed_value

    t = ibis.memtable({"s": [value]})
    got = t.select(v=typed_value(t.s, ColumnCheck("s", "s", "string"), False, ".")).to_pyarrow().column(0)[0]
    assert got.as_py() == expected


def test_binary_parquet_text_is_trimmed_as_before():
    import ibis
    import pyarrow as pa

    from data_schema.validation import ColumnCheck, typed_value

    t = ibis.memtable(pa.table({"b": pa.array([b" F", b"  ", None], pa.binary())}))
    got = t.select(v=typed_value(t.b, ColumnCheck("b", "b", "string"), False, ".")).to_pyarrow().column(0)
    assert got.to_pylist() == ["F", "", None]
