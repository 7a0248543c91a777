"""A cohort without a sex role (flchain with its sex column left unmapped) runs every analysis that does not need
sex: prevalence as one curve for everyone, biomarker risk and diagnostic accuracy adjusted or stratified by what it
has; the odds ratio by sex is refused with a message naming the missing role, and runs with another exposure."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyses.biomarker_risk import biomarker_risk
from analyses.context import AnalysisContext
from analyses.diagnostic import DiagnosticOptions, diagnostic
from analyses.registry import figures_for
from analyses.odds_ratio import odds_ratio
from analyses.prevalence import prevalence
from analyses.registry import enabled_analyses
from analyses.variables import AnalysisInputError
from disclosure.policy import DisclosurePolicy
from queries.engine import CohortEngine

FLCHAIN = Path(__file__).resolve().parents[1] / "data" / "cohorts" / "flchain"


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    text = (FLCHAIN / "mapping.toml").read_text(encoding="utf-8")
    text = text.replace('sex = "sex"\n', "").replace('[codes.sex]\nfemale = ["F"]\nmale = ["M"]\n', "")
    mapping = tmp_path_factory.mktemp("nosex") / "mapping.toml"
    mapping.write_text(text, encoding="utf-8")
    engine = CohortEngine.open(FLCHAIN / "flchain.csv", mapping)
    assert "sex" not in engine.info.schema
    return AnalysisContext.from_query(engine, "", DisclosurePolicy())[0]


def test_prevalence_is_one_curve_for_everyone(ctx):
    result = prevalence(ctx)
    assert result.n is not None and result.title.endswith("by age")
    assert set(result.table("rows")["sex"]) == {"everyone"} and set(result.table("curve")["sex"]) == {"everyone"}
    standardized = [e for e in result.estimates if e.measure == "standardized_prevalence"]
    assert standardized and {e.group for e in standardized} == {"everyone"}
    assert not [e for e in result.estimates if e.measure == "standardized_ratio"]
    assert "one curve for everyone" in result.formulas[0]
    figures = figures_for(result)
    assert [f.key for f in figures] == ["curve", "standardized"]
    spec = figures[0].chart.to_dict()
    assert "everyone" in str(spec) and "women" not in str(spec)  # the legend lists only the group present


def test_odds_ratio_by_sex_is_refused_and_another_exposure_runs(ctx):
    with pytest.raises(AnalysisInputError, match="Unknown exposure"):
        odds_ratio(ctx)
    assert enabled_analyses(ctx.engine.info.mapping)["odds-ratio"].missing_roles == ("sex",)
    assert enabled_analyses(ctx.engine.info.mapping)["prevalence"].enabled


def test_biomarker_risk_and_diagnostic_run_without_sex(ctx):
    risk = biomarker_risk(ctx)
    assert risk.estimate("hr") is not None
    assert all("sex" not in e.method for e in risk.estimates)
    accuracy = diagnostic(ctx, DiagnosticOptions("death", "lambda", 2.63, strata="age"))
    assert accuracy.estimate("sensitivity") is not None and len(accuracy.table("strata")) >= 3


def test_the_page_summary_names_everyone_and_no_ratio(ctx):
    from analyses.display import prevalence_summary

    labels = [m.label for m in prevalence_summary(prevalence(ctx))]
    assert labels == ["Peak age, everyone", "Standardized, everyone"]
