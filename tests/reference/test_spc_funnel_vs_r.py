"""SPC charts and funnel plots vs R (committed CSVs; R is not needed to run this).

Expected values come from tests/reference/r/spc_funnel.R, which writes out in base R the formulas of qicharts2
(runs analysis, p, Laney p′ and u charts, freeze and parts), of Spiegelhalter (2005) (interpolated exact binomial
limits, winsorised φ, DerSimonian–Laird τ²) and of FunnelPlotR (exact Poisson limits for O/E), on the small datasets
tests/reference/data/spc_*.csv and funnel_*.csv. Numbers agree to 1e-9 relative; counts, flags and signals exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyses.stats import funnel, spc

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
EXPECTED = HERE / "expected"
RTOL = 1e-9

CHARTS = {"run": spc.run_chart, "p": spc.p_chart, "laney_p": spc.laney_p_chart, "u": spc.u_chart}
SPC_CASES = pd.read_csv(DATA / "spc_cases.csv", keep_default_na=False, na_values=[""], dtype={"parts": str})
FUNNEL_CASES = pd.read_csv(DATA / "funnel_cases.csv", keep_default_na=False, na_values=[""])


def _close(actual, expected, what: str):
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float), rtol=RTOL, atol=0,
                               err_msg=what)


def _optional(value):
    return None if pd.isna(value) else value


@pytest.fixture(scope="module")
def charts() -> dict[str, spc.ControlChart]:
    series = pd.read_csv(DATA / "spc_series.csv")
    built = {}
    for case in SPC_CASES.itertuples():
        rows = series[series["case"] == case.case]
        denominators = None if rows["denominator"].isna().all() else rows["denominator"].to_numpy()
        options = {"periods": rows["period"].tolist(), "centre": _optional(case.centre),
                   "freeze": None if pd.isna(case.freeze) else int(case.freeze),
                   "phases": [int(p) for p in case.parts.split(";")] if isinstance(case.parts, str) else None}
        if case.chart == "laney_p":
            options["screen_moving_ranges"] = bool(case.screen)
        built[case.case] = CHARTS[case.chart](rows["numerator"].to_numpy(), denominators, **options)
    return built


def test_every_case_is_compared(charts):
    points = pd.read_csv(EXPECTED / "spc_points.csv")
    assert set(points["case"]) == set(charts) == set(SPC_CASES["case"])
    assert set(pd.read_csv(EXPECTED / "funnel_units.csv")["case"]) == set(FUNNEL_CASES["case"])


def test_rule_limits_match_qbinom_and_log2():
    ref = pd.read_csv(EXPECTED / "spc_rule_limits.csv")
    assert [spc.longest_run_limit(n) for n in ref["n"]] == ref["longest_run_limit"].tolist()
    assert [spc.crossings_limit(n) for n in ref["n"]] == ref["crossings_limit"].tolist()


@pytest.mark.parametrize("case", SPC_CASES["case"].tolist())
def test_points_match_r(charts, case):
    ref = pd.read_csv(EXPECTED / "spc_points.csv")
    ref = ref[ref["case"] == case].reset_index(drop=True)
    got = charts[case].points
    assert len(got) == len(ref)
    assert got["period"].astype(str).tolist() == ref["period"].astype(str).tolist()
    assert got["phase"].tolist() == ref["phase"].tolist()
    assert got["baseline"].tolist() == ref["baseline"].tolist()
    for column in ("value", "centre", "lower", "upper"):
        _close(got[column], ref[column], f"{case} {column}")
    for column in ("above_upper", "below_lower", "in_long_run"):
        assert got[column].tolist() == ref[column].tolist(), f"{case} {column}"


@pytest.mark.parametrize("case", SPC_CASES["case"].tolist())
def test_phases_match_r(charts, case):
    ref = pd.read_csv(EXPECTED / "spc_phases.csv")
    ref = ref[ref["case"] == case].reset_index(drop=True)
    phases = charts[case].phases
    assert [p.number for p in phases] == ref["phase"].tolist()
    for phase, row in zip(phases, ref.itertuples()):
        runs = phase.runs
        assert (phase.first, phase.last, phase.baseline_periods) == (row.first, row.last, row.baseline_periods)
        _close(phase.centre, row.centre, f"{case} phase {row.phase} centre")
        _close(np.nan if phase.sigma_z is None else phase.sigma_z, row.sigma_z, f"{case} phase {row.phase} σ_z")
        assert runs.n_useful == row.n_useful
        expected_counts = [_optional(row.longest_run), _optional(row.longest_run_limit), _optional(row.crossings),
                           _optional(row.crossings_limit)]
        assert [runs.longest_run, runs.longest_run_limit, runs.crossings, runs.crossings_limit] == expected_counts
        assert runs.signal == row.runs_signal
        assert phase.points_outside == row.points_outside


def test_cases_show_the_signals_they_were_built_for(charts):
    """Guard on the datasets themselves: each exercises the rule it is named after."""
    long_run = charts["run_long"].phases[0].runs
    assert long_run.long_run_signal and not long_run.crossings_signal
    few = charts["run_few_crossings"].phases[0].runs
    assert few.crossings_signal and not few.long_run_signal
    assert not charts["run_neither"].phases[0].runs.signal
    assert charts["run_neither"].phases[0].runs.n_useful < 23  # points on the median and a missing one dropped
    assert charts["laney_large"].phases[0].sigma_z > 2  # large denominators: p-chart limits would be too narrow
    assert len(charts["p_phases"].phases) == 2 and len(charts["run_phases"].phases) == 3
    assert charts["p_freeze"].phases[0].baseline_periods == 12
    inside = charts["run_long_median_inside"].points
    assert inside["in_long_run"].iloc[5:15].tolist() == [True, True, False, True, False] + [True] * 5


@pytest.fixture(scope="module")
def funnels() -> dict[str, funnel.Funnel]:
    units = pd.read_csv(DATA / "funnel_units.csv")
    built = {}
    for case in FUNNEL_CASES.itertuples():
        rows = units[units["case"] == case.data]
        make = funnel.proportion_funnel if case.kind == "proportion" else funnel.ratio_funnel
        options = {"units": rows["unit"].tolist(), "method": case.method, "scale": case.scale,
                   "adjustment": None if case.adjustment == "none" else case.adjustment}
        if not pd.isna(case.target):
            options["target"] = case.target
        built[case.case] = make(rows["numerator"].to_numpy(), rows["denominator"].to_numpy(), **options)
    return built


@pytest.mark.parametrize("case", FUNNEL_CASES["case"].tolist())
def test_funnel_units_match_r(funnels, case):
    ref = pd.read_csv(EXPECTED / "funnel_units.csv", keep_default_na=False, na_values=["NA"])
    ref = ref[ref["case"] == case].reset_index(drop=True)
    got = funnels[case].units
    assert got["unit"].tolist() == ref["unit"].tolist()
    for column in ("value", "z", "lower_95", "upper_95", "lower_998", "upper_998"):
        _close(got[column], ref[column], f"{case} {column}")
    assert got["flag"].tolist() == ref["flag"].tolist()
    assert got["side"].fillna("none").tolist() == ref["side"].tolist()


@pytest.mark.parametrize("case", FUNNEL_CASES["case"].tolist())
def test_funnel_dispersion_matches_r(funnels, case):
    ref = pd.read_csv(EXPECTED / "funnel_dispersion.csv").set_index("case").loc[case]
    got = funnels[case]
    _close(got.target, ref["target"], f"{case} target")
    assert got.overdispersion.units == ref["k"] and got.overdispersion.winsorised == ref["winsorised"]
    _close(got.overdispersion.phi, ref["phi"], f"{case} phi")
    if ref["tau2"] == 0:
        assert got.overdispersion.tau2 == 0
    else:
        _close(got.overdispersion.tau2, ref["tau2"], f"{case} tau2")
    assert got.adjusted == ref["adjusted"]


def test_funnel_cases_cover_both_dispersions(funnels):
    assert not funnels["prop_exact"].overdispersion.overdispersed
    assert not funnels["prop_no_od_requested"].adjusted  # asked for, but φ ≤ 1
    assert funnels["prop_od_multiplicative"].adjusted and funnels["prop_od_additive"].adjusted
    assert funnels["ratio_od_additive"].overdispersion.tau2 > 0
    assert {"alert", "alarm"} <= set(funnels["prop_exact"].units["flag"])
