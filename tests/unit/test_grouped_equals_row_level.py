"""Fits on aggregates equal fits on participant rows: coefficients and standard errors to 1e-8.

The row-level reference reads participant rows straight from the engine's database (tests may; the analyses never
do) and fits with statsmodels' own row-level estimators and independently built design matrices.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from analyses.biomarker_risk import BiomarkerRiskOptions, biomarker_risk
from analyses.context import AnalysisContext
from disclosure.policy import DisclosurePolicy
from analyses.odds_ratio import OddsRatioOptions, odds_ratio
from analyses.stats.glm import NaturalSpline

TOL = 1e-8


@pytest.fixture(scope="module")
def ctx(engine):
    return AnalysisContext.from_query(engine, "", DisclosurePolicy(0, "exact"))[0]


def _rows(engine, sql: str) -> pd.DataFrame:
    cursor = engine._con.cursor()
    try:
        return cursor.execute(sql).df()
    finally:
        cursor.close()


def _log_or_and_se(estimate) -> tuple[float, float]:
    log_or = np.log(estimate.estimate)
    return log_or, (np.log(estimate.ci_high) - log_or) / 1.959963984540054


def test_adjusted_logistic_on_patterns_equals_row_level_logit(engine, ctx):
    rows = _rows(engine, "SELECT sex, age, site, outcome_rls FROM cohort WHERE outcome_rls IS NOT NULL")
    knots = np.quantile(rows["age"], [0.25, 0.5, 0.75])
    spline = NaturalSpline(tuple(knots), (rows["age"].min(), rows["age"].max()))
    X = pd.concat([pd.DataFrame({"const": 1.0, "female": (rows["sex"] == "female").astype(float)}),
                   pd.DataFrame(spline.basis(rows["age"])),
                   pd.get_dummies(rows["site"], prefix="site", drop_first=True, dtype=float)], axis=1)
    row_fit = sm.Logit(rows["outcome_rls"].astype(float), X).fit(disp=0, method="newton", tol=1e-14, maxiter=100)
    grouped = odds_ratio(ctx, OddsRatioOptions(adjust=("age:spline", "site")))
    log_or, se = _log_or_and_se(grouped.estimate("adjusted_or"))
    assert log_or == pytest.approx(row_fit.params["female"], rel=TOL)
    assert se == pytest.approx(row_fit.bse["female"], rel=TOL)
    assert "knots = c(" in grouped.formulas[0]


def _band(values: pd.Series) -> pd.Series:
    return pd.cut(values, [-np.inf, 50, 75, 100, np.inf], right=False, labels=["<50", "50-75", "75-100", ">=100"])


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_cox_on_risk_sets_equals_row_level_phreg(engine, ctx, ties):
    rows = _rows(engine, "SELECT biomarker, age, sex, treatment, time_years, CAST(event AS INTEGER) AS event "
                         "FROM cohort WHERE treatment IS NOT NULL AND biomarker IS NOT NULL")
    band = _band(rows["biomarker"])
    X = pd.concat([pd.DataFrame({f"band[{b}]": (band == b).astype(float) for b in ("<50", "50-75", "75-100")}),
                   rows[["age"]].astype(float), pd.DataFrame({"male": (rows["sex"] == "male").astype(float)}),
                   pd.get_dummies(rows["treatment"], prefix="drug", drop_first=True, dtype=float)], axis=1)
    model = PHReg(rows["time_years"], X, status=rows["event"], ties=ties)
    # PHReg's Newton from zero overflows with levodopa's ~100-fold hazard; BFGS first, then Newton to polish.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # BFGS only supplies the start; Newton must converge
        start = model.fit(method="bfgs", maxiter=2000, gtol=1e-10).params
    row_fit = model.fit(method="newton", start_params=start, maxiter=50)
    assert np.max(np.abs(model.score(row_fit.params))) < 1e-6  # at the maximum
    params = pd.Series(row_fit.params, index=X.columns)
    bse = pd.Series(row_fit.bse, index=X.columns)
    grouped = biomarker_risk(ctx, BiomarkerRiskOptions(ties=ties))
    for b in ("<50", "50-75", "75-100"):
        log_hr, se = _log_or_and_se(grouped.estimate("hr", band=b))
        assert log_hr == pytest.approx(params[f"band[{b}]"], rel=TOL)
        assert se == pytest.approx(bse[f"band[{b}]"], rel=TOL)


def test_band_logistic_on_patterns_equals_row_level_logit(engine, ctx):
    rows = _rows(engine, "SELECT biomarker, CAST(event AS INTEGER) AS event FROM cohort "
                         "WHERE treatment IS NOT NULL AND biomarker IS NOT NULL")
    band = _band(rows["biomarker"])
    X = pd.DataFrame({"const": 1.0} | {b: (band == b).astype(float) for b in ("<50", "50-75", "75-100")})
    row_fit = sm.Logit(rows["event"].astype(float), X).fit(disp=0, method="newton", tol=1e-14)
    grouped = biomarker_risk(ctx)
    for b in ("<50", "50-75", "75-100"):
        log_or, se = _log_or_and_se(grouped.estimate("crude_or", band=b))
        assert log_or == pytest.approx(row_fit.params[b], rel=TOL)
        assert se == pytest.approx(row_fit.bse[b], rel=TOL)
