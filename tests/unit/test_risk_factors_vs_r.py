"""The risk-factor table agrees with R (expected values from tests/reference/r/risk_factors.R, committed; CI does not
run R): crude and adjusted odds ratios with Wald CIs (glm, confint.default) and the likelihood-ratio test per factor
(drop1, test = "LRT"), fitted by R on participant rows and here on released pattern counts in exact mode, on the
demo sample and on a public cohort (colon), with linear, spline, banded, categorical and yes/no factors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyses.context import AnalysisContext
from analyses.risk_factors import RiskFactorOptions, risk_factors
from disclosure.policy import DisclosurePolicy
from queries.engine import CohortEngine

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = ROOT / "tests" / "reference" / "expected"
RTOL = 1e-6
SOURCES = {"demo": (ROOT / "tests" / "reference" / "data" / "demo_risk_factors.csv",
                    ROOT / "tests" / "reference" / "data" / "demo_risk_factors.toml"),
           "colon": (ROOT / "tests" / "data" / "cohorts" / "colon" / "colon.csv",
                     ROOT / "tests" / "data" / "cohorts" / "colon" / "mapping.toml")}
MODELS = {  # (cohort, model) -> the factors as the analysis names them (the R script's formulas)
    ("demo", "linear"): ("sex", "age", "neuropathy", "family_history", "iron_deficiency", "bmi_group",
                         "egfr:spline"),
    ("demo", "bands"): ("sex", "age:bands", "neuropathy", "family_history"),
    ("colon", "defaults"): None,  # the analysis's default factors: sex, age and the yes/no variables
    ("colon", "mixed"): ("sex", "age:spline", "differ", "nodes:bands"),
}


@pytest.fixture(scope="module")
def results():
    engines = {name: CohortEngine.open(data, mapping) for name, (data, mapping) in SOURCES.items()}
    out = {}
    for (cohort, model), factors in MODELS.items():
        ctx = AnalysisContext.from_query(engines[cohort], "", DisclosurePolicy(0, "exact"))[0]
        out[cohort, model] = risk_factors(ctx, RiskFactorOptions(factors=factors))
    return out


@pytest.mark.parametrize("key", list(MODELS))
def test_odds_ratios_match_glm(results, key):
    result = results[key]
    expected = pd.read_csv(EXPECTED / "risk_factors_or.csv")
    expected = expected[(expected["cohort"] == key[0]) & (expected["model"] == key[1])]
    assert len(expected) >= 4
    ours = {(e.measure, e.group, e.band): e for e in result.estimates}
    assert len(ours) == 2 * len(expected)  # nothing beyond R's coefficients (a spline has none)
    for r in expected.itertuples():
        for kind in ("crude", "adjusted"):
            e = ours[f"{kind}_or", r.factor, r.level]
            want = [getattr(r, f"{kind}_or"), getattr(r, f"{kind}_low"), getattr(r, f"{kind}_high")]
            np.testing.assert_allclose([e.estimate, e.ci_low, e.ci_high], want, rtol=RTOL,
                                       err_msg=f"{key} {kind} {r.factor} {r.level}")


@pytest.mark.parametrize("key", list(MODELS))
def test_likelihood_ratio_tests_match_drop1(results, key):
    result = results[key]
    expected = pd.read_csv(EXPECTED / "risk_factors_lr.csv")
    expected = expected[(expected["cohort"] == key[0]) & (expected["model"] == key[1])]
    assert [t.test for t in result.tests] == [f"lr_{f}" for f in expected["factor"]]
    for r, t in zip(expected.itertuples(), result.tests):
        assert t.df == r.df, r.factor
        np.testing.assert_allclose([t.statistic, t.p_value], [r.statistic, r.p], rtol=RTOL, err_msg=r.factor)
    lr_p = result.table("risk_factors").dropna(subset=["lr_p"])["lr_p"].astype(float)
    np.testing.assert_allclose(lr_p, expected["p"], rtol=RTOL)


@pytest.mark.parametrize("key", list(MODELS))
def test_participants_and_events_per_parameter_match(results, key):
    expected = pd.read_csv(EXPECTED / "risk_factors_models.csv").set_index(["cohort", "model"]).loc[key]
    result = results[key]
    assert result.n == expected["n"]
    assert result.details.events_per_parameter == pytest.approx(expected["events_per_parameter"], rel=1e-12)
