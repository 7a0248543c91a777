"""The analyses by name: the CLI, the pages and the report all run them through here, behind the differencing
guard (a filter state that would let two views be subtracted to reveal a small count is refused)."""

from __future__ import annotations

from analyses import differencing
from analyses.biomarker_risk import biomarker_risk
from analyses.context import AnalysisContext
from analyses.differencing import Shown
from analyses.odds_ratio import odds_ratio
from analyses.prevalence import prevalence
from analyses.results import AnalysisResult
from queries.filters import UNTREATED, FilterState

ANALYSES = {"odds-ratio": odds_ratio, "prevalence": prevalence, "biomarker-risk": biomarker_risk}


def run_analysis(ctx: AnalysisContext, name: str, opts) -> AnalysisResult:
    """Run one analysis by its CLI name with its options object; raises ``DifferencingRefused`` (an
    ``AnalysisInputError``) when the guard refuses the filter state."""
    result = ANALYSES[name](ctx, opts)  # first, so an input the cohort cannot serve is reported as such
    state, shown = guarded_view(ctx, name, opts)
    differencing.require_safe(ctx.engine, state, ctx.options, ctx.policy, shown)
    return result


def guarded_view(ctx: AnalysisContext, name: str, opts) -> tuple[FilterState, Shown]:
    """The participants an analysis counts (as a filter state) and which of their counts it shows."""
    treated = name == "biomarker-risk" or getattr(opts, "treated_only", False)
    state = ctx.state.narrowed("drug", tuple(d for d in ctx.options.drugs if d != UNTREATED)) if treated \
        else ctx.state
    if name == "biomarker-risk":
        return state, Shown()
    outcome = opts.outcome or ctx.default_outcome()
    by_sex = name == "prevalence" or getattr(opts, "exposure", None) == "sex"
    return state, Shown(outcome, by_sex)
