"""The biomarker-risk analysis agrees with R at 1e-6 relative (expected values from
tests/reference/r/biomarker_risk.R, committed; CI does not run R).

The Python side loads demo_treated.csv through the real pipeline and fits on aggregated risk sets; R fits on the
participant rows (glm, coxph, cox.zph, survfit, survdiff).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyses.biomarker_risk import BiomarkerRiskOptions, biomarker_risk
from analyses.context import AnalysisContext
from disclosure.policy import DisclosurePolicy
from queries.engine import CohortEngine

HERE = Path(__file__).resolve().parent
RTOL = 1e-6


@pytest.fixture(scope="module")
def ctx():
    engine = CohortEngine.open(HERE / "data" / "demo_treated.csv", HERE / "data" / "demo_treated.toml")
    return AnalysisContext.from_query(engine, "", DisclosurePolicy(0, "exact"))[0]


@pytest.fixture(scope="module")
def breslow(ctx):
    return biomarker_risk(ctx)


def _expected(name: str) -> pd.DataFrame:
    return pd.read_csv(HERE / "expected" / name, keep_default_na=False, na_values=["NA"])


def _close(actual, expected):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=RTOL)


def test_band_table_matches_r(breslow):
    bands, expected = breslow.table("bands"), _expected("biomarker_bands.csv")
    assert list(bands["band"]) == list(expected["band"])
    columns = ["n", "events", "person_time", "risk", "risk_low", "risk_high", "rate_per_100", "rate_low", "rate_high"]
    _close(bands[columns].to_numpy(dtype=float), expected[columns])


@pytest.mark.parametrize("measure,r_measure,ties", [("crude_or", "crude_or", "breslow"),
                                                    ("adjusted_or", "adjusted_or", "breslow"),
                                                    ("hr", "hr_breslow", "breslow"), ("hr", "hr_efron", "efron")])
def test_band_estimates_match_r(ctx, breslow, measure, r_measure, ties):
    result = breslow if ties == "breslow" else biomarker_risk(ctx, BiomarkerRiskOptions(ties="efron"))
    expected = _expected("biomarker_estimates.csv").query("measure == @r_measure")
    for _, r in expected.iterrows():
        e = result.estimate(measure, band=r["band"])
        assert e.reference == ">=100"
        _close([e.estimate, e.ci_low, e.ci_high, e.p_value], [r["estimate"], r["ci_low"], r["ci_high"], r["p_value"]])


def test_logrank_and_proportional_hazards_tests_match_r(breslow):
    for _, r in _expected("biomarker_tests.csv").iterrows():
        t = breslow.test(r["test"])
        _close([t.statistic, t.df, t.p_value], [r["statistic"], r["df"], r["p_value"]])


def test_kaplan_meier_at_times_matches_r(ctx):
    km = biomarker_risk(ctx, BiomarkerRiskOptions(at=(0.5, 1.0, 2.0, 3.0, 5.0))).table("km")  # R's summary times
    expected = _expected("biomarker_km.csv")
    assert list(zip(km["band"], km["time"])) == list(zip(expected["band"], expected["time"]))
    _close(km[["survival", "ci_low", "ci_high", "at_risk"]].to_numpy(dtype=float),
           expected[["survival", "ci_low", "ci_high", "at_risk"]])


def test_dose_response_curves_match_r(breslow):
    dose, expected = breslow.table("dose_response"), _expected("biomarker_dose_response.csv")
    assert len(dose) == len(expected)
    _close(dose.to_numpy(dtype=float), expected[list(dose.columns)])
