"""Measures derived by the loader: the canonical ``measure_<name>_*`` columns.

- a hand-made multi-table extract of nine participants whose answers are worked out by hand (the demo mapping's
  four guideline-concordance measures, boundaries included);
- the session's demo extract, against an independent pandas implementation of the same definitions;
- a limited-data-set demo (months), a wide cohort (flchain: a proportion and a rate by sample year), and the
  de-identification gate, which still refuses a full calendar date offered as a measure's time.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from data_schema.demo import synthesize  # noqa: E402
from data_schema.loading import LoadRefused, load_cohort  # noqa: E402
from data_schema.mapping import parse_mapping  # noqa: E402
from data_schema.schema import table_schema  # noqa: E402
from data_schema.sources import resolve_mapping  # noqa: E402

DEMO_MAPPING = ROOT / "data_schema" / "demo" / "mapping.toml"
FLCHAIN = ROOT / "tests" / "data" / "cohorts" / "flchain"
MEASURES = ("ferritin_before_dopaminergic", "first_line_alpha2delta_or_iron", "augmentation_within_2y",
            "augmentation_rate")
DOPAMINERGIC = ("pramipexole", "ropinirole", "rotigotine", "levodopa")


def load(folder: Path, mapping: Path | None = None) -> pd.DataFrame:
    con = duckdb.connect()
    result = load_cohort(con, resolve_mapping(folder, mapping))
    assert result.report.usable
    return con.sql("SELECT * FROM cohort").df().set_index("pid").sort_index()


def _frame(table: str, rows: list[dict]) -> pd.DataFrame:
    """Rows with every declared column of ``table`` (absent ones empty), in declared order."""
    columns = table_schema(table).column_names
    return pd.DataFrame([{c: row.get(c) for c in columns} for row in rows], columns=columns)


def _person(pid: str, year: int = 2015) -> dict:
    return {"participant_id": pid, "site": "A", "sex": "F", "age": 50, "baseline_year": year, "rls_irlssg": 1}


def _episode(pid, drug, start, end, *, year, episode=1, stop=None, aug=None) -> dict:
    return {"participant_id": pid, "episode": episode, "drug": drug, "start_day": start, "stop_day": stop,
            "augmented": int(aug is not None), "augmentation_day": aug, "end_of_followup_day": end,
            "start_year": year}


HAND_TREATMENTS = [
    _episode("P2", "pramipexole", 100, 2000, year=2015, aug=400),  # checked (lab -200), augmented day 300
    _episode("P3", "ropinirole", 500, 3000, year=2016, stop=800),  # lab 100 too early, 600 after: not checked
    _episode("P4", "gabapentin", 10, 3000, year=2017),  # alpha-2-delta first line
    _episode("P5", "levodopa", 0, 700, year=2018, aug=50),  # lab on the start day; 700 days of follow-up < 730
    _episode("P6", "rotigotine", 20, 3000, year=None),  # no calendar year: in no measure
    _episode("P7", "pregabalin", 30, 3000, year=2019, stop=300),  # alpha-2-delta first; a dopaminergic second
    _episode("P7", "pramipexole", 400, 3000, year=2020, episode=2),
    _episode("P8", "pramipexole", 365, 1095, year=2020, aug=1095),  # lab at start - 365; augmented at day 730
    _episode("P9", "pramipexole", 366, 2000, year=2021, aug=1097),  # lab at start - 366; augmented at day 731
]
HAND_LABS = [("P2", -200), ("P3", 100), ("P3", 600), ("P5", 0), ("P7", 0), ("P8", 0), ("P9", 0), ("P1", 0)]


@pytest.fixture(scope="module")
def hand(tmp_path_factory) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("hand")
    people = _frame("participants", [_person(f"P{i}") for i in range(1, 10)])
    labs = _frame("ferritin_labs", [{"participant_id": p, "lab_day": d, "ferritin": 60.0} for p, d in HAND_LABS])
    _frame("treatments", HAND_TREATMENTS).to_csv(folder / "treatments.csv", index=False)
    people.to_csv(folder / "participants.csv", index=False)
    labs.to_csv(folder / "ferritin_labs.csv", index=False)
    shutil.copyfile(DEMO_MAPPING, folder / "mapping.toml")
    return load(folder)


def _members(frame: pd.DataFrame, name: str, part: str) -> set[str]:
    return set(frame.index[frame[f"measure_{name}_{part}"]])


def test_hand_made_extract_gives_the_worked_answers(hand):
    assert _members(hand, "ferritin_before_dopaminergic", "in") == {"P2", "P3", "P5", "P8", "P9"}
    assert _members(hand, "ferritin_before_dopaminergic", "num") == {"P2", "P5", "P8"}
    assert _members(hand, "first_line_alpha2delta_or_iron", "in") == {"P2", "P3", "P4", "P5", "P7", "P8", "P9"}
    assert _members(hand, "first_line_alpha2delta_or_iron", "num") == {"P4", "P7"}
    assert _members(hand, "augmentation_within_2y", "in") == {"P2", "P3", "P8", "P9"}
    assert _members(hand, "augmentation_within_2y", "num") == {"P2", "P8"}
    assert _members(hand, "augmentation_rate", "in") == {"P2", "P3", "P5", "P8", "P9"}
    assert _members(hand, "augmentation_rate", "num") == {"P2", "P5", "P8", "P9"}
    pt = hand["measure_augmentation_rate_pt"].dropna() * 365.25
    assert pt.round(9).to_dict() == {"P2": 300, "P3": 300, "P5": 50, "P8": 730, "P9": 731}
    periods = hand["measure_first_line_alpha2delta_or_iron_period"]
    assert periods.dropna().astype(int).to_dict() == {"P2": 2015, "P3": 2016, "P4": 2017, "P5": 2018,
                                                      "P7": 2019, "P8": 2020, "P9": 2021}
    assert pd.isna(periods["P1"]) and pd.isna(periods["P6"])


def test_canonical_measure_columns_are_typed_and_never_null(hand):
    for name in MEASURES:
        for part in ("in", "num"):
            column = hand[f"measure_{name}_{part}"]
            assert column.dtype == bool and column.notna().all(), (name, part)
        assert not (hand[f"measure_{name}_num"] & ~hand[f"measure_{name}_in"]).any()
        assert f"measure_{name}_month" not in hand.columns  # Safe Harbor: no month declared
    assert "measure_augmentation_rate_pt" in hand.columns and "measure_augmentation_within_2y_pt" not in hand.columns
    assert not [c for c in hand.columns if c.startswith("__m_") or c.endswith("__")]  # working columns dropped


def _reference(folder: Path) -> pd.DataFrame:
    """The guideline-concordance definitions in pandas, from the three tables."""
    people = pd.read_parquet(folder / "participants.parquet").set_index("participant_id")
    labs = pd.read_parquet(folder / "ferritin_labs.parquet")
    tx = pd.read_parquet(folder / "treatments.parquet")
    first = tx.sort_values(["participant_id", "start_day", "episode"]).groupby("participant_id").head(1)
    first = first.set_index("participant_id").reindex(people.index)
    da = first["drug"].isin(DOPAMINERGIC)
    exit_day = np.where(first["augmented"] == 1, first["augmentation_day"],
                        np.minimum(first["stop_day"].fillna(first["end_of_followup_day"]),
                                   first["end_of_followup_day"]))
    days = pd.Series(exit_day, index=people.index) - first["start_day"]
    j = labs.merge(first["start_day"].dropna().rename("start").reset_index(), on="participant_id")
    checked = set(j.loc[(j["lab_day"] <= j["start"]) & (j["lab_day"] >= j["start"] - 365), "participant_id"])
    period = first["start_year"]
    known = period.notna()
    within = (first["augmented"] == 1) & (first["augmentation_day"] - first["start_day"] <= 730)
    followed = first["end_of_followup_day"] - first["start_day"] >= 730
    return pd.DataFrame({
        "ferritin_before_dopaminergic_in": known & da,
        "ferritin_before_dopaminergic_num": known & da & people.index.isin(checked),
        "first_line_alpha2delta_or_iron_in": known & first["drug"].notna(),
        "first_line_alpha2delta_or_iron_num": known & first["drug"].isin(("gabapentin", "pregabalin")),
        "augmentation_within_2y_in": known & da & followed,
        "augmentation_within_2y_num": known & da & followed & within,
        "augmentation_rate_in": known & da,
        "augmentation_rate_num": known & da & (first["augmented"] == 1),
        "augmentation_rate_pt": (days / 365.25).where(known & da),
        "period": period,
    }, index=people.index)


def test_demo_measures_equal_the_pandas_reference(demo_dir):
    got, ref = load(demo_dir), _reference(demo_dir)
    assert len(got) == len(ref)
    for name in MEASURES:
        for part in ("in", "num"):
            assert (got[f"measure_{name}_{part}"] == ref[f"{name}_{part}"].reindex(got.index)).all(), (name, part)
        inside = got[f"measure_{name}_in"]
        assert (got.loc[inside, f"measure_{name}_period"] == ref["period"].reindex(got.index)[inside]).all()
    np.testing.assert_allclose(got["measure_augmentation_rate_pt"].dropna(),
                               ref["augmentation_rate_pt"].reindex(got.index).dropna(), rtol=1e-12)
    # every measure has people in it, in every year of the first starts
    for name in MEASURES:
        assert got[f"measure_{name}_num"].sum() > 20 and got[f"measure_{name}_in"].sum() > 200, name


def test_limited_data_set_demo_carries_months(tmp_path):
    out = tmp_path / "lds"
    synthesize(3_000, 5, out, months=True)
    assert "limited_data_set = true" in (out / "mapping.toml").read_text(encoding="utf-8")
    got = load(out)
    tx = pd.read_parquet(out / "treatments.parquet")
    first = tx[tx["episode"] == 1].set_index("participant_id")
    for name in MEASURES:
        inside = got[f"measure_{name}_in"]
        months = got.loc[inside, f"measure_{name}_month"]
        assert months.notna().all() and months.between(1, 12).all()
        assert (months == first.loc[months.index, "start_month"]).all()


def test_a_wide_cohort_measures_proportion_and_rate_by_sample_year():
    got = load(FLCHAIN / "flchain.csv", FLCHAIN / "mapping.toml")
    raw = pd.read_csv(FLCHAIN / "flchain.csv")
    assert got["measure_mgus_detected_in"].all()  # everyone, in the year of their sample
    by_year = got.groupby("measure_mgus_detected_period")["measure_mgus_detected_num"].sum()
    assert by_year.to_dict() == raw.groupby("sample.yr")["mgus"].sum().to_dict()
    deaths = got.groupby("measure_deaths_period")[["measure_deaths_num", "measure_deaths_pt"]].sum()
    ref = raw.groupby("sample.yr").agg(d=("death", "sum"), pt=("futime", "sum"))
    assert (deaths["measure_deaths_num"] == ref["d"]).all()
    np.testing.assert_allclose(deaths["measure_deaths_pt"], ref["pt"] / 365.25, rtol=1e-12)


def _wide(tmp_path: Path, visit: list, measure: str) -> Path:
    pd.DataFrame({"pid": ["a", "b", "c"], "year": [2019, 2020, 2020], "visit": visit, "case": [1, 0, 1],
                  "treated": ["y", "y", "n"]}).to_csv(tmp_path / "c.csv", index=False)
    (tmp_path / "m.toml").write_text(f'[source]\nfiles = ["c.csv"]\n[columns]\nparticipant_id = "pid"\n'
                                     f'baseline_year = "year"\n{measure}', encoding="utf-8")
    return tmp_path / "m.toml"


def test_a_population_filter_and_unknown_outcomes(tmp_path):
    m = _wide(tmp_path, [1, 2, 3], '[measures.m]\noutcome = "case"\ntime = "baseline_year"\ndirection = "up"\n'
              'denominator = { column = "treated", positive = ["y"] }\n')
    con = duckdb.connect()
    load_cohort(con, resolve_mapping(None, m))
    rows = con.sql("SELECT pid, measure_m_in, measure_m_num, measure_m_period FROM cohort ORDER BY pid").fetchall()
    assert rows == [("a", True, True, 2019), ("b", True, False, 2020), ("c", False, False, 2020)]


def test_a_full_calendar_date_as_time_is_still_refused(tmp_path):
    m = _wide(tmp_path, ["2020-03-04", "2021-01-02", "2020-12-31"],
              '[measures.m]\noutcome = "case"\ntime = "visit"\ndirection = "up"\n')
    with pytest.raises(LoadRefused) as exc:
        load_cohort(duckdb.connect(), resolve_mapping(None, m))
    rules = {f.rule for f in exc.value.report.findings}
    assert "identifier: full calendar date" in rules
    assert "2020-03-04" not in exc.value.report.to_text()


def test_a_year_outside_the_plausible_range_is_named(tmp_path):
    m = _wide(tmp_path, [1, 2, 3], '[measures.m]\noutcome = "case"\ntime = "visit"\ndirection = "up"\n')
    with pytest.raises(LoadRefused) as exc:
        load_cohort(duckdb.connect(), resolve_mapping(None, m))
    (finding,) = exc.value.report.errors
    assert finding.column == "visit" and "plausible range 1900-2100" in finding.rule and finding.count == 3


def test_a_month_outside_1_to_12_is_named(tmp_path):
    m = _wide(tmp_path, [1, 13, 12], '[measures.m]\noutcome = "case"\ntime = "baseline_year"\nmonth = "visit"\n'
              'direction = "up"\n')
    text = m.read_text(encoding="utf-8").replace("[source]\n", "[source]\nlimited_data_set = true\n")
    m.write_text(text, encoding="utf-8")
    with pytest.raises(LoadRefused) as exc:
        load_cohort(duckdb.connect(), resolve_mapping(None, m))
    (finding,) = exc.value.report.errors
    assert finding.column == "visit" and "1-12" in finding.rule and finding.count == 1


def test_the_time_role_is_checked_once(tmp_path):
    m = _wide(tmp_path, [1, 2, 3], '[measures.m]\noutcome = "case"\ntime = "baseline_year"\ndirection = "up"\n'
              '[measures.n]\noutcome = "case"\ntime = "year"\ndirection = "down"\n')
    (tmp_path / "c.csv").write_text("pid,year,visit,case,treated\na,1800,1,1,y\nb,2020,2,0,y\n", encoding="utf-8")
    with pytest.raises(LoadRefused) as exc:
        load_cohort(duckdb.connect(), resolve_mapping(None, m))
    assert len(exc.value.report.errors) == 1  # one finding for the year column, not one per measure


def test_parse_only_mapping_has_no_measure_columns(tmp_path):
    m = _wide(tmp_path, [1, 2, 3], "")
    con = duckdb.connect()
    load_cohort(con, resolve_mapping(None, m))
    assert not [c for (c,) in con.sql("SELECT column_name FROM (DESCRIBE cohort)").fetchall()
                if c.startswith("measure_")]
    assert parse_mapping(m.read_text(), tmp_path).measures == {}
