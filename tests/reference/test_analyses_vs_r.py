"""The odds-ratio and prevalence analyses agree with R at 1e-6 relative (expected values from
tests/reference/r/analyses.R, committed; CI does not run R).

The Python side loads demo_cohort.csv through the real pipeline (mapping, validation, canonical table) and fits
on aggregates; R fits on the participant rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyses.context import AnalysisContext
from disclosure.policy import DisclosurePolicy
from analyses.odds_ratio import OddsRatioOptions, odds_ratio
from analyses.prevalence import PrevalenceOptions, prevalence
from analyses.stats import contingency
from analyses.stats.contingency import TwoByTwo
from queries.engine import CohortEngine

HERE = Path(__file__).resolve().parent
EXPECTED = HERE / "expected"
RTOL = 1e-6


@pytest.fixture(scope="module")
def ctx():
    engine = CohortEngine.open(HERE / "data" / "demo_cohort.csv", HERE / "data" / "demo_cohort.toml")
    return AnalysisContext.from_query(engine, "", DisclosurePolicy(0, "exact"))[0]


def _expected(name: str) -> pd.DataFrame:
    return pd.read_csv(EXPECTED / name)


def _close(actual, expected, rtol=RTOL):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=rtol)


def _r_row(dataset: str, measure: str) -> pd.Series:
    frame = _expected("analyses_odds_ratio.csv")
    return frame[(frame["dataset"] == dataset) & (frame["measure"] == measure)].iloc[0]


def _p_close(actual, expected):
    """p-values far in the tail (1e-28) amplify 1e-9 differences in a standard error; compare them as log p."""
    _close(np.log(actual), np.log(expected))


def _estimate_vs_r(estimate, r):
    _close([estimate.estimate, estimate.ci_low, estimate.ci_high], [r["estimate"], r["ci_low"], r["ci_high"]])
    _p_close(estimate.p_value, r["p_value"])


@pytest.mark.parametrize("outcome", ["rls", "rls_clinsig"])
def test_crude_exact_and_mantel_haenszel_match_r(ctx, outcome):
    result = odds_ratio(ctx, OddsRatioOptions(outcome=outcome, adjust=("age",)))
    for measure in ("crude_or", "exact_or", "mh_or"):
        _estimate_vs_r(result.estimate(measure), _r_row(f"demo_cohort/{outcome}", measure))
    bd, r = result.test("breslow_day"), _r_row(f"demo_cohort/{outcome}", "breslow_day")
    _close([bd.statistic, bd.df, bd.p_value], [r["statistic"], r["df"], r["p_value"]])


@pytest.mark.parametrize("outcome", ["rls", "rls_clinsig"])
@pytest.mark.parametrize("adjust,suffix", [(("age",), "age_linear"), (("age:spline", "site"), "age_spline_site")])
def test_adjusted_or_and_lr_test_match_r(ctx, outcome, adjust, suffix):
    result = odds_ratio(ctx, OddsRatioOptions(outcome=outcome, adjust=adjust))
    _estimate_vs_r(result.estimate("adjusted_or"), _r_row(f"demo_cohort/{outcome}", f"adjusted_or_{suffix}"))
    lr, r = result.test("lr_exposure"), _r_row(f"demo_cohort/{outcome}", f"lr_exposure_{suffix}")
    _close([lr.statistic, lr.df], [r["statistic"], r["df"]])
    _p_close(lr.p_value, r["p_value"])


@pytest.mark.parametrize("outcome", ["rls", "rls_clinsig"])
def test_stratum_odds_ratios_match_r(ctx, outcome):
    strata = odds_ratio(ctx, OddsRatioOptions(outcome=outcome)).table("strata")
    expected = _expected("analyses_strata.csv").query("outcome == @outcome")
    assert list(strata["stratum"]) == list(expected["stratum"])
    _close(strata[["or", "ci_low", "ci_high", "n"]].to_numpy(dtype=float), expected[["or", "ci_low", "ci_high", "n"]])


def test_mantel_haenszel_and_breslow_day_on_ucb_admissions_match_r():
    # UCBAdmissions (R datasets): Female/Male x Admitted/Rejected for departments A-F.
    counts = [(89, 19, 512, 313), (17, 8, 353, 207), (202, 391, 120, 205), (131, 244, 138, 279),
              (94, 299, 53, 138), (24, 317, 22, 351)]
    mh = contingency.mantel_haenszel([TwoByTwo(*c) for c in counts])
    _estimate_vs_r(contingency.OddsRatio(mh.odds_ratio.estimate, mh.odds_ratio.ci_low, mh.odds_ratio.ci_high,
                                         mh.odds_ratio.p_value), _r_row("UCBAdmissions", "mh_or"))
    r = _r_row("UCBAdmissions", "breslow_day")
    _close([mh.breslow_day, mh.breslow_day_df, mh.breslow_day_p], [r["statistic"], r["df"], r["p_value"]])


def test_prevalence_rows_match_r(ctx):
    rows = prevalence(ctx).table("rows")
    expected = _expected("analyses_prevalence_rows.csv")
    assert list(zip(rows["sex"], rows["age_band"])) == list(zip(expected["sex"], expected["age_band"]))
    columns = ["events", "n", "prevalence", "ci_low", "ci_high"]
    _close(rows[columns].to_numpy(dtype=float), expected[columns])


def test_prevalence_curves_and_peaks_match_r(ctx):
    result = prevalence(ctx)
    curve, expected = result.table("curve"), _expected("analyses_prevalence_curve.csv")
    assert list(zip(curve["sex"], curve["age"])) == list(zip(expected["sex"], expected["age"]))
    _close(curve[["prevalence", "ci_low", "ci_high"]].to_numpy(dtype=float), expected[["prevalence", "ci_low",
                                                                                        "ci_high"]])
    peaks = result.details.peak
    for _, r in _expected("analyses_prevalence_peak.csv").iterrows():
        assert peaks[r["sex"]]["age"] == pytest.approx(r["age"], abs=1e-9)
        _close(peaks[r["sex"]]["prevalence"], r["prevalence"])


def test_standardized_prevalence_and_ratio_match_r(ctx):
    result = prevalence(ctx, PrevalenceOptions(standard="esp2013"))
    expected = _expected("analyses_prevalence_standardized.csv").set_index("sex")
    for group in ("women", "men"):
        e = next(e for e in result.estimates if e.measure == "standardized_prevalence" and e.group == group)
        _close([e.estimate, e.ci_low, e.ci_high], expected.loc[group, ["rate", "ci_low", "ci_high"]])
    ratio = result.estimate("standardized_ratio")
    _close([ratio.estimate, ratio.ci_low, ratio.ci_high], expected.loc["ratio", ["rate", "ci_low", "ci_high"]])
