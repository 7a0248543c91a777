"""The spc and funnel analyses agree with R's formulas on their own released counts (exact mode): a seeded demo with
the four guideline measures (tests/reference/data/demo_qi.csv), flchain (calendar years of sampling) and lung
(institutions). tests/reference/make_qi_counts.py wrote the counts the analyses release (qi_*.csv) and
tests/reference/r/spc_funnel.R the limits, runs rules and indirect standardisation from them (expected/qi_*.csv;
CI does not run R). Here the analyses run again: they must release the same counts and draw the same centre lines,
limits, signals and funnel limits at 1e-6 relative."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyses.sites import funnel_analysis
from analyses.trends import spc_analysis
from tests.reference.make_qi_counts import FUNNEL_CASES, SPC_CASES, context

HERE = Path(__file__).resolve().parent
RTOL = 1e-6


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(HERE / name, keep_default_na=False, na_values=["", "NA"], dtype={"unit": str, "period": str})


def _close(actual, expected, what: str):
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float), rtol=RTOL, err_msg=what)


@pytest.fixture(scope="module")
def spc_results():
    return {case.name: spc_analysis(context(case), case.options) for case in SPC_CASES}


@pytest.fixture(scope="module")
def funnel_results():
    return {case.name: funnel_analysis(context(case), case.options) for case in FUNNEL_CASES}


def test_every_case_has_r_values():
    assert set(_read("expected/qi_spc_points.csv")["case"]) == {c.name for c in SPC_CASES}
    assert set(_read("expected/qi_funnel_units.csv")["case"]) == {c.name for c in FUNNEL_CASES}


@pytest.mark.parametrize("case", [c.name for c in SPC_CASES])
def test_spc_releases_the_counts_r_used(spc_results, case):
    points = spc_results[case].table("points")
    series = _read("data/qi_spc_series.csv").query("case == @case").reset_index(drop=True)
    assert points["period"].tolist() == series["period"].tolist()
    withheld = points["withheld"].astype(bool)
    _close(points["numerator"].where(~withheld).astype(float), series["numerator"], f"{case} numerator")
    _close(points["denominator"].where(~withheld).astype(float), series["denominator"], f"{case} denominator")


@pytest.mark.parametrize("case", [c.name for c in SPC_CASES])
def test_spc_limits_and_signals_equal_r(spc_results, case):
    result = spc_results[case]
    points = result.table("points")
    ref = _read("expected/qi_spc_points.csv").query("case == @case").reset_index(drop=True)
    per = result.details.per
    for ours, theirs in (("value", "value"), ("cl", "centre"), ("lcl", "lower"), ("ucl", "upper")):
        _close(points[ours].astype(float) / per, ref[theirs], f"{case} {ours}")
    signal = ref["above_upper"] | ref["below_lower"] | ref["in_long_run"]
    assert points["signal"].tolist() == signal.tolist()
    phase = _read("expected/qi_spc_phases.csv").query("case == @case").iloc[-1]
    runs = result.details.runs
    assert [runs["n_useful"], runs["longest_run"], runs["longest_run_max"], runs["crossings"],
            runs["crossings_min"], runs["signal"]] == [phase["n_useful"], phase["longest_run"],
                                                       phase["longest_run_limit"], phase["crossings"],
                                                       phase["crossings_limit"], phase["runs_signal"]]


@pytest.mark.parametrize("case", [c.name for c in FUNNEL_CASES])
def test_funnel_counts_limits_and_flags_equal_r(funnel_results, case):
    result = funnel_results[case]
    units = result.table("units")
    ref = _read("expected/qi_funnel_units.csv").query("case == @case").reset_index(drop=True)
    assert sorted(units["unit"]) == sorted(ref["unit"])
    units = units.set_index("unit").loc[ref["unit"]]
    if result.details.scale == "proportion":
        counts = _read("data/qi_funnel_units.csv").query("case == @case").set_index("unit").loc[ref["unit"]]
        assert units["events"].tolist() == counts["numerator"].astype(int).tolist()
        assert units["n"].tolist() == counts["denominator"].astype(int).tolist()
    else:
        strata = _read("data/qi_funnel_strata.csv").query("data == @case")
        assert units["events"].tolist() == strata.groupby("unit")["events"].sum().loc[ref["unit"]].tolist()
    for ours, theirs in (("value", "value"), ("z", "z"), ("lcl95", "lower_95"), ("ucl95", "upper_95"),
                         ("lcl998", "lower_998"), ("ucl998", "upper_998")):
        _close(units[ours], ref[theirs], f"{case} {ours}")
    assert units["flag"].tolist() == ref["flag"].tolist()
    assert units["outside"].tolist() == ref["flag"].isin(["alert", "alarm"]).tolist()
    dispersion = _read("expected/qi_funnel_dispersion.csv").query("case == @case").iloc[0]
    _close([result.details.target, result.details.phi], [dispersion["target"], dispersion["phi"]], f"{case} φ")
    assert result.details.adjusted == bool(dispersion["adjusted"])
