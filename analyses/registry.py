"""The analyses by name: the CLI, the pages and the report all run them through here. Every count they use comes
from the release layer (``queries.release``), so no analysis decides disclosure for itself."""

from __future__ import annotations

from analyses.biomarker_risk import biomarker_risk
from analyses.context import AnalysisContext
from analyses.odds_ratio import odds_ratio
from analyses.prevalence import prevalence
from analyses.results import AnalysisResult

ANALYSES = {"odds-ratio": odds_ratio, "prevalence": prevalence, "biomarker-risk": biomarker_risk}


def run_analysis(ctx: AnalysisContext, name: str, opts) -> AnalysisResult:
    """Run one analysis by its CLI name with its options object (raises ``AnalysisInputError`` for an input the
    cohort cannot serve)."""
    return ANALYSES[name](ctx, opts)
