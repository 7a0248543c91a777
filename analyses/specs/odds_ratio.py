"""Odds ratios of an outcome for a two-level exposure (sex by default): the Sex differences page."""

from __future__ import annotations

from analyses.bands import age_bands_option
from analyses.display import TableView, fmt, shown
from analyses.figures import odds_ratio as figures
from analyses.odds_ratio import OddsRatioDetails, OddsRatioOptions, odds_ratio
from analyses.results import AnalysisResult, TestResult
from analyses.spec import AnalysisSpec, CliArgument, RoleNeed, names_option

OR_NAMES = {"adjusted_or": "adjusted OR", "mh_or": "Mantel–Haenszel OR", "crude_or": "crude OR"}  # preferred first


def findings(result: AnalysisResult) -> dict[str, str]:
    """The forest plot: the adjusted OR (else Mantel–Haenszel, else crude) as '<group> had x times the odds…'."""
    e = next((e for e in map(result.estimate, OR_NAMES) if shown(e)), None)
    if e is None or " vs " not in e.label:
        return {}
    exposed, unexposed = e.label.split(" vs ", 1)
    outcome = result.details.outcome_label
    return {"forest": f"{exposed[0].upper()}{exposed[1:]} had {fmt(e.estimate)} times the odds of {outcome} as "
                      f"{unexposed} ({OR_NAMES[e.measure]}; 95% CI {fmt(e.ci_low)}–{fmt(e.ci_high)})"}


def stated_tests(result: AnalysisResult) -> list[TestResult]:
    """Breslow–Day, in words, when it has a value."""
    return [t for t in (result.test("breslow_day"),) if t is not None]


def from_cli(args) -> OddsRatioOptions:
    adjust = names_option(args.adjust)
    return OddsRatioOptions(args.outcome, args.exposure, "age" if args.strata is None else
                            (None if args.strata == "none" else args.strata),
                            ("age",) if adjust is None else adjust, age_bands_option(args.age_bands),
                            args.treated_only)


SPEC = AnalysisSpec(
    name="odds-ratio",
    title="Sex differences",
    summary="Odds ratios of the outcome in women vs men (or another two-level exposure).",
    run=odds_ratio,
    options=OddsRatioOptions,
    details=OddsRatioDetails,
    needs=(RoleNeed("outcome", "the binary outcome"),
           RoleNeed("sex", "the two-level exposure (sex by default)",
                    "or name another two-level exposure with --exposure (a covariate or exclusion flag)")),
    default_option_roles=(RoleNeed("age", "the default stratifier and adjuster", "run it with --strata none "
                                   "--adjust none (or a stratifier and adjusters the mapping has)"),),
    arguments=(CliArgument(("--exposure",), {"default": "sex", "help": "two-level exposure for odds-ratio "
                                             "(default: sex)"}),),
    from_cli=from_cli,
    figures=figures.figures,
    table_view=TableView(
        "groups", "2×2 table: cases and prevalence in the compared groups", "Prevalence with Wilson score 95% CIs",
        percent=("prevalence", "ci_low", "ci_high"),
        names=(("group", "Group"), ("events", "Cases"), ("non_events", "Non-cases"), ("prevalence", "Prevalence"),
               ("ci_low", "95% CI low"), ("ci_high", "95% CI high"))),
    findings=findings,
    stated_tests=stated_tests,
    estimates_title="Odds ratios: crude, exact, Mantel–Haenszel and adjusted",
    presented_estimates=("crude_or", "mh_or", "adjusted_or"),
    page="views/sex_differences.py",
)
