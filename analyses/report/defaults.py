"""The analyses that have a page, as their pages open them (their default controls), for "Export all" and the
report CLI."""

from __future__ import annotations

from analyses.context import AnalysisContext
from analyses.registry import PAGE_ANALYSES
from analyses.report.content import Unavailable
from analyses.results import AnalysisResult
from analyses.variables import AnalysisInputError


def page_options(ctx: AnalysisContext) -> dict[str, object]:
    """Each page's options before any control is touched (its declaration's ``page_defaults``), by analysis."""
    return {spec.name: spec.default_options(ctx) for spec in PAGE_ANALYSES}


def run_page_analyses(ctx: AnalysisContext) -> list[AnalysisResult | Unavailable]:
    """The page analyses with their defaults; one the cohort cannot serve (a missing role, an empty or too small
    cohort) comes back as ``Unavailable`` with its message."""
    out: list[AnalysisResult | Unavailable] = []
    for spec in PAGE_ANALYSES:
        try:
            out.append(spec.run(ctx, spec.default_options(ctx)))
        except AnalysisInputError as exc:
            out.append(Unavailable(spec.title, str(exc)))
    return out
