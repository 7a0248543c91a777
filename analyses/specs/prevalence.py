"""Prevalence by age and sex with spline curves and direct standardisation: the Age & prevalence page."""

from __future__ import annotations

from analyses.bands import age_bands_option
from analyses.display import TableView, fmt, prevalence_summary, shown, summary_caption
from analyses.figures import prevalence as figures
from analyses.prevalence import PrevalenceDetails, PrevalenceOptions, prevalence
from analyses.results import AnalysisResult
from analyses.spec import AnalysisSpec, CliArgument, RoleNeed

DEFAULT_STANDARD = "esp2013"  # the page's standard population (the CLI gives every one unless asked)


def findings(result: AnalysisResult) -> dict[str, str]:
    """The curves: the peak age per sex; the standardized figure: prevalence per sex and the women/men ratio."""
    out = {}
    outcome = result.details.outcome_label
    peaks = [f"{p['age']:g} years in {sex}" for sex, p in result.details.peak.items() if not p["at_edge"]]
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


def from_cli(args) -> PrevalenceOptions:
    return PrevalenceOptions(args.outcome, age_bands_option(args.age_bands), args.standard, args.treated_only)


SPEC = AnalysisSpec(
    name="prevalence",
    title="Age & prevalence",
    summary="Prevalence by age and sex, age-standardised.",
    run=prevalence,
    options=PrevalenceOptions,
    details=PrevalenceDetails,
    needs=(RoleNeed("outcome", "the binary outcome"), RoleNeed("age", "the age bands and the age curve")),
    default_option_roles=(RoleNeed("sex", "prevalence per sex", "it shows one curve for everyone instead"),),
    arguments=(CliArgument(("--standard",), {"help": "standard population for age standardization (default: "
                                             "all)"}),),
    from_cli=from_cli,
    page_defaults=lambda ctx: PrevalenceOptions(standard=DEFAULT_STANDARD),
    figures=figures.figures,
    table_view=TableView(
        "rows", "Prevalence by age band and sex", "Wilson score 95% CIs", percent=("prevalence", "ci_low", "ci_high"),
        names=(("sex", "Sex"), ("age_band", "Age band"), ("events", "Cases"), ("prevalence", "Prevalence"),
               ("ci_low", "95% CI low"), ("ci_high", "95% CI high"))),
    findings=findings,
    metrics=prevalence_summary,
    metrics_title="Peak ages and age-standardized prevalence",
    metrics_caption=summary_caption,
    page="views/age_prevalence.py",
)
