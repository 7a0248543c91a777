"""A quality measure across sites (or any categorical variable) in a funnel plot, optionally standardised."""

from __future__ import annotations

from analyses.bands import age_bands_option
from analyses.display import TableView
from analyses.figures import quality as figures
from analyses.results import AnalysisResult
from analyses.sites import OVERDISPERSION, FunnelDetails, FunnelOptions, funnel_analysis
from analyses.spec import AnalysisSpec, CliArgument, RoleNeed, names_option


def findings(result: AnalysisResult) -> dict[str, str]:
    """The funnel plot: the units outside its limits, named."""
    return {"funnel": result.notes[0]} if result.notes and result.details.phi is not None else {}


def from_cli(args) -> FunnelOptions:
    return FunnelOptions(args.outcome, args.by, names_option(args.standardize) or (), args.overdispersion,
                         age_bands=age_bands_option(args.age_bands))


SPEC = AnalysisSpec(
    name="funnel",
    title="Sites (funnel plot)",
    summary="A quality measure across sites in a funnel plot, so units are compared fairly, not ranked.",
    run=funnel_analysis,
    options=FunnelOptions,
    details=FunnelDetails,
    needs=(RoleNeed("outcome", "the measure (a declared measure or a binary outcome)"),),
    default_option_roles=(RoleNeed("site", "the units compared", "name another categorical variable with --by"),),
    arguments=(
        CliArgument(("--by",), {"help": "funnel: the units, a categorical variable (default: site)"}),
        CliArgument(("--standardize",), {"help": "funnel: indirect standardisation by age, sex or age,sex "
                                         "(observed / expected per unit)"}),
        CliArgument(("--overdispersion",), {"choices": OVERDISPERSION, "default": "none",
                                            "help": "funnel: widen the limits for over-dispersion"}),
    ),
    from_cli=from_cli,
    figures=figures.funnel_figures,
    table_view=TableView(
        "units", "Units with their funnel limits", "Released counts per unit; units below the threshold not listed",
        decimals=(("value", 4), ("lcl95", 4), ("ucl95", 4), ("lcl998", 4), ("ucl998", 4), ("expected", 1),
                  ("z", 2)),
        names=(("unit", "Unit"), ("n", "Denominator"), ("events", "Events"), ("value", "Value"),
               ("lcl95", "95% lower"), ("ucl95", "95% upper"), ("lcl998", "99.8% lower"), ("ucl998", "99.8% upper"),
               ("outside", "Outside"))),
    findings=findings,
    page="views/trends_sites.py",
)
