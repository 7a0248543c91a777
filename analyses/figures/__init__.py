"""Charts of analysis results (Altair / Vega-Lite) in one shared theme, for the screen, exports and slides.

``figures_for(result)`` gives the figures of any result; each carries its caption and the name of the tidy table
behind it. Nothing here computes a statistic: the charts draw what the result object holds.
"""

from __future__ import annotations

from analyses.figures import biomarker_risk, odds_ratio, prevalence
from analyses.figures.figure import Figure
from analyses.results import AnalysisResult

BUILDERS = {"odds-ratio": odds_ratio.figures, "prevalence": prevalence.figures,
            "biomarker-risk": biomarker_risk.figures}

__all__ = ["Figure", "figures_for"]


def figures_for(result: AnalysisResult) -> list[Figure]:
    """The figures of ``result`` (none when it holds nothing to draw, e.g. a cohort too small)."""
    return BUILDERS[result.analysis](result)
