"""Crude and adjusted odds ratios of an outcome for a set of risk factors, side by side, with a forest plot."""

from __future__ import annotations

import math

from analyses.bands import age_bands_option
from analyses.display import TableView, fmt, shown
from analyses.figures import risk_factors as figures
from analyses.results import AnalysisResult
from analyses.risk_factors import ENTRIES, RiskFactorOptions, RiskFactorsDetails, risk_factors
from analyses.spec import AnalysisSpec, CliArgument, RoleNeed, names_option


def findings(result: AnalysisResult) -> dict[str, str]:
    """The forest plot: the factor level with the largest adjusted OR (furthest from 1 on the log scale)."""
    adjusted = [e for e in result.estimates if e.measure == "adjusted_or" and shown(e)]
    if not adjusted:
        return {}
    e = max(adjusted, key=lambda x: abs(math.log(x.estimate)))
    return {"risk_factors": f"Strongest adjusted association: {e.label}, OR {fmt(e.estimate)} (95% CI {fmt(e.ci_low)}–"
                      f"{fmt(e.ci_high)})"}


def from_cli(args) -> RiskFactorOptions:
    return RiskFactorOptions(args.outcome, names_option(args.factors), args.numeric_entry,
                             age_bands_option(args.age_bands), args.treated_only)


SPEC = AnalysisSpec(
    name="risk-factors",
    title="Risk factors",
    summary="Crude and adjusted odds ratios of the outcome for each risk factor, with likelihood-ratio tests.",
    run=risk_factors,
    options=RiskFactorOptions,
    details=RiskFactorsDetails,
    needs=(RoleNeed("outcome", "the binary outcome"),),
    default_option_roles=(RoleNeed("sex", "a default factor", "name the factors with --factors"),
                          RoleNeed("age", "a default factor", "name the factors with --factors")),
    arguments=(
        CliArgument(("--factors",), {"help": "risk-factors: factors, comma-separated (age, sex, site, drug, year, a "
                                     "covariate or exclusion flag; a numeric one as name:linear, name:spline or "
                                     "name:bands); default: sex, age and the yes/no variables"}),
        CliArgument(("--numeric-entry",), {"choices": ENTRIES, "default": "linear", "help": "risk-factors: how "
                                           "numeric factors enter unless suffixed: linear (OR per unit, default), "
                                           "spline (natural cubic, 4 df) or bands"}),
    ),
    from_cli=from_cli,
    figures=figures.figures,
    table_view=TableView(
        "risk_factors", "Risk factors: crude and adjusted odds ratios",
        "Logistic regression on counts per covariate pattern; Wald 95% CIs; likelihood-ratio test per factor",
        decimals=(("crude_or", 2), ("crude_low", 2), ("crude_high", 2), ("adjusted_or", 2), ("adjusted_low", 2),
                  ("adjusted_high", 2), ("lr_p", 4)),
        names=(("factor", "Factor"), ("level", "Level"), ("events", "Cases"), ("non_events", "Non-cases"),
               ("n", "Participants"), ("crude_or", "Crude OR (95% CI)"), ("adjusted_or", "Adjusted OR (95% CI)"),
               ("lr_p", "LR test p")),
        with_ci=(("crude_or", "crude_low", "crude_high"), ("adjusted_or", "adjusted_low", "adjusted_high"))),
    findings=findings,
    estimates_title="Crude and adjusted odds ratios per factor level",
    page="views/risk_factors.py",
)
