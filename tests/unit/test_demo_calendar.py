"""The demo generator's calendar and practice change: years (and months) of treatment starts and labs consistent
with the baseline year and the day offsets, and first-line shares before and after the change year as calibrated.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from data_schema.demo import generator, load_calibration, synthesize  # noqa: E402

N = 200_000
SEED = 20240611
Z = 4.0  # tolerance in standard errors, as in test_demo_generator


@pytest.fixture(scope="module")
def cal() -> dict:
    return load_calibration()


@pytest.fixture(scope="module")
def extract(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("calendar") / "extract"
    synthesize(N, SEED, out, months=True)
    return out


def _read(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_parquet(folder / f"{table}.parquet")


def _days_from_new_year(year: pd.Series, month: pd.Series | None = None) -> np.ndarray:
    """Days from 1970-01-01 to the first day of each year (or month)."""
    y = (year.to_numpy(dtype="int64") - 1970).astype("datetime64[Y]")
    if month is None:
        return y.astype("datetime64[D]").astype("int64")
    return (y.astype("datetime64[M]") + (month.to_numpy(dtype="int64") - 1)).astype("datetime64[D]").astype("int64")


def _window(events: pd.DataFrame, day: str, year: str, month: str | None) -> pd.DataFrame:
    """For each event, the baseline day-of-year values its calendar year (month) allows: [lo, hi]."""
    jan1 = _days_from_new_year(events["baseline_year"])
    if month is None:
        start, end = _days_from_new_year(events[year]), _days_from_new_year(events[year] + 1) - 1
    else:
        following = events[month] % 12 + 1
        start = _days_from_new_year(events[year], events[month])
        end = _days_from_new_year(events[year] + (events[month] == 12), following) - 1
    d = events[day].to_numpy(dtype="int64")
    return pd.DataFrame({"participant_id": events["participant_id"].to_numpy(), "lo": start - jan1 - d,
                         "hi": end - jan1 - d})


@pytest.mark.parametrize("with_month", [False, True])
def test_calendar_years_and_months_agree_with_one_baseline_date_per_participant(extract, cal, with_month):
    people = _read(extract, "participants")[["participant_id", "baseline_year"]]
    labs = _read(extract, "ferritin_labs").merge(people, on="participant_id")
    tx = _read(extract, "treatments").merge(people, on="participant_id")
    end = tx.drop_duplicates("participant_id").assign(end_year=cal["followup"]["admin_end_year"])
    windows = pd.concat([
        _window(labs, "lab_day", "lab_year", "lab_month" if with_month else None),
        _window(tx, "start_day", "start_year", "start_month" if with_month else None),
        _window(end, "end_of_followup_day", "end_year", None),  # follow-up ends in the administrative end year
    ])
    year_length = np.where(pd.to_datetime(people["baseline_year"].astype(str) + "-12-31").dt.dayofyear == 366,
                           365, 364)
    bounds = pd.DataFrame({"participant_id": people["participant_id"], "lo": 0, "hi": year_length})
    both = pd.concat([windows, bounds]).groupby("participant_id").agg(lo=("lo", "max"), hi=("hi", "min"))
    assert len(both) == len(people)
    assert (both["lo"] <= both["hi"]).all(), "some participant's calendar dates need two baseline dates"


def test_years_are_baseline_year_plus_offset_within_a_year(extract):
    people = _read(extract, "participants").set_index("participant_id")["baseline_year"]
    for table, day, year in (("ferritin_labs", "lab_day", "lab_year"), ("treatments", "start_day", "start_year")):
        rows = _read(extract, table)
        shift = rows[year] - rows["participant_id"].map(people)
        d = rows[day]
        assert (shift >= np.floor(d / 366)).all() and (shift <= np.floor(d / 365) + 1).all(), table


def test_safe_harbor_extract_has_years_but_no_months(tmp_path):
    synthesize(5_000, 3, tmp_path / "x")
    for table, prefix in (("ferritin_labs", "lab"), ("treatments", "start")):
        data = pq.read_table(tmp_path / "x" / f"{table}.parquet")
        assert data.column(f"{prefix}_month").null_count == data.num_rows
        assert data.column(f"{prefix}_year").null_count == 0
    truth = json.loads((tmp_path / "x" / "truth.json").read_text(encoding="utf-8"))
    assert truth["months"] is False


def test_truth_records_the_practice_change(extract, cal):
    truth = json.loads((extract / "truth.json").read_text(encoding="utf-8"))
    change = truth["derived"]["practice_change"]
    assert truth["months"] is True
    assert change["year"] == cal["treatment"]["practice_change"]["year"] == 2019
    assert change["dopamine_agonist_share_before"] == pytest.approx(0.68)
    assert change["dopamine_agonist_share_after"] == pytest.approx(0.44)
    assert change["alpha2delta_share_before"] == pytest.approx(0.22)
    assert change["alpha2delta_share_after"] == pytest.approx(0.50)
    assert sum(change["first_drug_share_after"].values()) == pytest.approx(1.0)


@pytest.mark.parametrize("klass", ["dopamine_agonist", "alpha2delta"])
def test_first_line_shares_before_and_after_the_change_year_match_the_calibration(extract, cal, klass):
    change = generator.practice_change_truth(cal)
    drugs = cal["treatment"]["dopamine_agonists" if klass == "dopamine_agonist" else "alpha2delta"]
    first = _read(extract, "treatments").query("episode == 1")
    after = first["start_year"] >= change["year"]
    for when, rows in (("before", first[~after]), ("after", first[after])):
        expected, n = change[f"{klass}_share_{when}"], len(rows)
        observed = rows["drug"].isin(drugs).mean()
        assert n > 1000 and abs(observed - expected) <= Z * math.sqrt(expected * (1 - expected) / n), (when, observed)


def test_every_calendar_year_of_starts_is_on_its_side_of_the_change(extract, cal):
    first = _read(extract, "treatments").query("episode == 1")
    share = first.assign(da=first["drug"].isin(cal["treatment"]["dopamine_agonists"])).groupby("start_year")["da"]
    by_year = share.mean()[share.size() >= 500]
    year = cal["treatment"]["practice_change"]["year"]
    assert (by_year[by_year.index < year] > 0.6).all() and (by_year[by_year.index >= year] < 0.52).all()


def test_starts_before_the_change_are_those_of_a_generator_without_it(tmp_path, monkeypatch):
    """The change touches nothing else: with equal shares after, every participant and lab is the same as with the
    change, and so is every first episode starting before the change year (drug, days and augmentation). Second
    episodes draw from a stream whose position depends on how many first episodes augmented, so they differ."""
    synthesize(20_000, 11, tmp_path / "with")
    real = generator.load_calibration

    def without_change(path=None):
        cal = real(path)
        cal["treatment"]["practice_change"]["first_drug_share_after"] = cal["treatment"]["first_drug_share"]
        return cal

    monkeypatch.setattr(generator, "load_calibration", without_change)
    synthesize(20_000, 11, tmp_path / "without")
    for table in ("participants", "ferritin_labs"):
        assert pq.read_table(tmp_path / "with" / f"{table}.parquet").equals(
            pq.read_table(tmp_path / "without" / f"{table}.parquet")), table
    year = load_calibration()["treatment"]["practice_change"]["year"]
    a, b = (_read(tmp_path / w, "treatments").query("episode == 1").set_index("participant_id")
            for w in ("with", "without"))
    assert a.index.equals(b.index)
    before = a["start_year"] < year
    assert before.sum() > 300 and (~before).sum() > 150
    pd.testing.assert_frame_equal(a[before], b[before])
    assert (a.loc[~before, "drug"] != b.loc[~before, "drug"]).mean() > 0.2
