"""The three analyses as the pages open them (their default controls), for "Export all" and the report CLI."""

from __future__ import annotations

from analyses.biomarker_risk import BiomarkerRiskOptions
from analyses.context import AnalysisContext
from analyses.odds_ratio import OddsRatioOptions
from analyses.prevalence import PrevalenceOptions
from analyses.registry import run_analysis
from analyses.report.content import Unavailable
from analyses.results import AnalysisResult
from analyses.variables import AnalysisInputError

PAGE_TITLES = {"odds-ratio": "Sex differences", "prevalence": "Age & prevalence",
               "biomarker-risk": "Ferritin & augmentation"}
DEFAULT_STANDARD = "esp2013"


def page_options(ctx: AnalysisContext) -> dict[str, object]:
    """Each analysis page's options before any control is touched: outcome from the case definition, age strata and
    age adjustment for the odds ratios; 10-year bands and the European standard for prevalence; the mapping's cut
    points, the top band as reference, the treated where a treatment role exists, and age, sex and drug (those
    the cohort has) for the biomarker."""
    return {"odds-ratio": OddsRatioOptions(), "prevalence": PrevalenceOptions(standard=DEFAULT_STANDARD),
            "biomarker-risk": BiomarkerRiskOptions()}


def run_page_analyses(ctx: AnalysisContext) -> list[AnalysisResult | Unavailable]:
    """The three analyses with the pages' defaults; one the cohort cannot serve (a missing role, an empty or too
    small cohort) comes back as ``Unavailable`` with its message."""
    out: list[AnalysisResult | Unavailable] = []
    for name, options in page_options(ctx).items():
        try:
            out.append(run_analysis(ctx, name, options))
        except AnalysisInputError as exc:
            out.append(Unavailable(PAGE_TITLES[name], str(exc)))
    return out
