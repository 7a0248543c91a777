"""Slide titles that state the finding in words, e.g. "Women had 2.40 times the odds of RLS as men (adjusted OR;
95% CI 2.05–2.80)".

One function per analysis kind reads the result's estimates, tests and extras (already through the disclosure gate)
and returns a headline per figure key; a figure whose estimate is withheld keeps its own title.
"""

from __future__ import annotations

from analyses.display import fmt, p_clause, shown, stated_tests, test_verdict
from analyses.figures import Figure
from analyses.results import AnalysisResult


def headline(result: AnalysisResult, figure: Figure) -> str:
    """The finding behind ``figure`` in words, or the figure's title when its estimate is withheld."""
    return FINDINGS[result.analysis](result).get(figure.key) or figure.title


OR_NAMES = {"adjusted_or": "adjusted OR", "mh_or": "Mantel–Haenszel OR", "crude_or": "crude OR"}  # preferred first


def odds_ratio_findings(result: AnalysisResult) -> dict[str, str]:
    """The forest plot: the adjusted OR (else Mantel–Haenszel, else crude) as '<group> had x times the odds…'."""
    e = next((e for e in map(result.estimate, OR_NAMES) if shown(e)), None)
    if e is None or " vs " not in e.label:
        return {}
    exposed, unexposed = e.label.split(" vs ", 1)
    outcome = result.extra("outcome_label", "the outcome")
    return {"forest": f"{exposed[0].upper()}{exposed[1:]} had {fmt(e.estimate)} times the odds of {outcome} as "
                      f"{unexposed} ({OR_NAMES[e.measure]}; 95% CI {fmt(e.ci_low)}–{fmt(e.ci_high)})"}


def prevalence_findings(result: AnalysisResult) -> dict[str, str]:
    """The curves: the peak age per sex; the standardized figure: prevalence per sex and the women/men ratio."""
    out = {}
    outcome = result.extra("outcome_label", "the outcome")
    peaks = [f"{p['age']:g} years in {sex}" for sex, p in result.extra("peak", {}).items() if not p.get("at_edge")]
    if peaks:
        out["curve"] = f"Prevalence of {outcome} peaked at {' and '.join(peaks)}"
    standard = next((e.standard for e in result.estimates if e.measure == "standardized_prevalence"), None)
    levels = [f"{100 * e.estimate:.1f}% in {e.group}" for e in result.estimates
              if e.measure == "standardized_prevalence" and e.standard == standard and shown(e)]
    if levels:
        ratio = next((e for e in result.estimates if e.measure == "standardized_ratio" and e.standard == standard
                      and shown(e)), None)
        ratio_text = f"; women/men {fmt(ratio.estimate)} (95% CI {fmt(ratio.ci_low)}–{fmt(ratio.ci_high)})" \
            if ratio else ""
        out["standardized"] = f"Age-standardized prevalence {' vs '.join(levels)}{ratio_text}"
    return out


def biomarker_findings(result: AnalysisResult) -> dict[str, str]:
    """The ratios: the hazard ratio of the lowest band with a shown HR; the Kaplan–Meier curves: the log-rank test
    (only when the page states it: two or more bands shown)."""
    out = {}
    event = result.extra("event_label", "the event").lower()
    reference = result.extra("reference_band")
    hrs = {e.band: e for e in result.estimates if e.measure == "hr" and shown(e)}
    band = next((b for b in result.extra("band_labels", []) if b in hrs), None)
    if band is not None:
        e = hrs[band]
        out["effects"] = (f"Hazard of {event} in band {band} was {fmt(e.estimate)} times that in band {reference} "
                          f"(Cox HR; 95% CI {fmt(e.ci_low)}–{fmt(e.ci_high)})")
    logrank = next((t for t in stated_tests(result) if t.test == "logrank"), None)
    verdict = None if logrank is None else test_verdict(logrank)
    if verdict:
        out["km"] = f"{verdict} (log-rank {p_clause(logrank.p_value)})"
    return out


FINDINGS = {"odds-ratio": odds_ratio_findings, "prevalence": prevalence_findings,
            "biomarker-risk": biomarker_findings}
