"""The naive benchmark path does the same statistical work as the project: on the test demo its row-level fits give
the project's estimates (so the speed comparison is between equal results, not a straw man)."""

from __future__ import annotations

import pytest

from analyses.biomarker_risk import BiomarkerRiskOptions
from analyses.context import AnalysisContext
from disclosure.policy import DisclosurePolicy
from analyses.odds_ratio import OddsRatioOptions
from analyses.registry import run_analysis, spec_of
from benchmarks import naive
from queries.engine import CohortEngine, prepare
from queries.store import export_parquet


@pytest.fixture(scope="module")
def setup(demo_dir, tmp_path_factory):
    store = tmp_path_factory.mktemp("naive-store")
    prepared, _info = prepare(demo_dir, None, store)
    parquet = export_parquet(prepared, tmp_path_factory.mktemp("naive") / "cohort.parquet")
    ctx, _ = AnalysisContext.from_query(CohortEngine.open(demo_dir, store_dir=store), "", DisclosurePolicy(0, "exact"))
    return ctx, str(parquet)


def test_odds_ratios_equal_the_project(setup):
    ctx, parquet = setup
    project = run_analysis(ctx, "odds-ratio", OddsRatioOptions())
    rows = naive.odds_ratio(parquet, "outcome_rls")
    assert rows["crude"] == pytest.approx(project.estimate("crude_or").estimate, rel=1e-10)
    assert rows["mh"] == pytest.approx(project.estimate("mh_or").estimate, rel=1e-10)
    assert rows["adjusted"] == pytest.approx(project.estimate("adjusted_or").estimate, rel=1e-6)


def test_biomarker_band_ratios_equal_the_project(setup):
    ctx, parquet = setup
    project = run_analysis(ctx, "biomarker-risk", BiomarkerRiskOptions())
    rows = naive.biomarker_risk(parquet)
    bands = ["<50", "50-75", "75-100"]
    assert list(rows["or"]) == pytest.approx([project.estimate("adjusted_or", b).estimate for b in bands], rel=1e-6)
    assert list(rows["hr"]) == pytest.approx([project.estimate("hr", b).estimate for b in bands], rel=1e-3)  # BFGS


def test_spc_and_funnel_equal_the_project(setup):
    ctx, parquet = setup
    chart = run_analysis(ctx, "spc", spec_of("spc").default_options(ctx)).table("points")
    rows = naive.spc(parquet, naive.DEMO_MEASURE)["points"]
    assert chart["period"].tolist() == rows["period"].tolist()
    assert chart["ucl"].astype(float).tolist() == pytest.approx(rows["upper"].tolist(), rel=1e-12)
    units = run_analysis(ctx, "funnel", spec_of("funnel").default_options(ctx)).table("units")
    rows = naive.funnel(parquet, naive.DEMO_MEASURE)["units"]
    assert units["unit"].tolist() == rows["unit"].tolist()
    assert units["lcl998"].tolist() == pytest.approx(rows["lower_998"].tolist(), rel=1e-12)


def test_diagnostic_accuracy_equals_the_project(setup):
    ctx, parquet = setup
    project = run_analysis(ctx, "diagnostic", spec_of("diagnostic").default_options(ctx))
    rows = naive.diagnostic(parquet, "outcome_rls", naive.DEMO_TEST, naive.DEMO_THRESHOLD)
    sensitivity = project.estimate("sensitivity")
    assert rows["sensitivity"] == pytest.approx((sensitivity.ci_low, sensitivity.ci_high), rel=1e-9)
    assert rows["lr_positive"] == pytest.approx(project.estimate("lr_positive").estimate, rel=1e-12)
    auc = project.estimate("auc")
    assert rows["auc"] == pytest.approx(auc.estimate, rel=1e-9)
    assert rows["auc_ci"] == pytest.approx((auc.ci_low, auc.ci_high), rel=1e-6)


def test_risk_factor_odds_ratios_equal_the_project(setup):
    ctx, parquet = setup
    project = run_analysis(ctx, "risk-factors", spec_of("risk-factors").default_options(ctx))
    rows = naive.risk_factors(parquet, "outcome_rls", naive.DEMO_FACTORS)
    adjusted = [e.estimate for e in project.estimates if e.measure == "adjusted_or"]
    crude = [e.estimate for e in project.estimates if e.measure == "crude_or"]
    assert list(rows["adjusted"]) == pytest.approx(adjusted, rel=1e-6)
    assert list(rows["crude"].values()) == pytest.approx(crude, rel=1e-6)
