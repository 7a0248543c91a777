"""Statistical process control of a quality measure over calendar periods (run, p, Laney p′ and u charts)."""

from __future__ import annotations

from analyses.display import TableView
from analyses.figures import quality as figures
from analyses.results import AnalysisResult
from analyses.spec import AnalysisSpec, CliArgument, RoleNeed
from analyses.measures import PERIODS
from analyses.trends import CHARTS, SpcDetails, SpcOptions, spc_analysis


def findings(result: AnalysisResult) -> dict[str, str]:
    """The control chart: its Making Data Count reading."""
    summary = result.details.summary
    return {"chart": summary} if summary else {}


def from_cli(args) -> SpcOptions:
    return SpcOptions(args.outcome, args.time, args.period, args.chart, args.freeze)


SPEC = AnalysisSpec(
    name="spc",
    title="Trends (SPC)",
    summary="A quality measure over calendar periods as a control chart, with special-cause signals in words.",
    run=spc_analysis,
    options=SpcOptions,
    details=SpcDetails,
    needs=(RoleNeed("outcome", "the measure (a declared measure or a binary outcome)"),),
    default_option_roles=(RoleNeed("baseline_year", "the calendar periods of an outcome",
                                   "declare a measure with its own time column"),),
    arguments=(
        CliArgument(("--time",), {"help": "spc: the time role of an outcome (year: the baseline year; declared "
                                  "measures have their own)"}),
        CliArgument(("--period",), {"choices": PERIODS, "default": "year", "help": "spc: calendar period (quarter "
                                    "and month only for a measure with a declared month, in a limited data set)"}),
        CliArgument(("--chart",), {"choices": CHARTS, "help": "spc: run, p, pp (Laney p′) or u (default: p for a "
                                   "proportion, u for a rate)"}),
        CliArgument(("--freeze",), {"type": int, "help": "spc: the first N periods are the baseline of the centre "
                                    "line and limits"}),
    ),
    from_cli=from_cli,
    figures=figures.spc_figures,
    table_view=TableView(
        "points", "Values per period with the centre line and control limits", "Released counts per period",
        decimals=(("value", 4), ("cl", 4), ("lcl", 4), ("ucl", 4)),
        names=(("period", "Period"), ("numerator", "Numerator"), ("denominator", "Denominator"),
               ("value", "Value"), ("cl", "Centre"), ("lcl", "Lower limit"), ("ucl", "Upper limit"),
               ("signal", "Signal")),
        columns=("period", "numerator", "denominator", "value", "cl", "lcl", "ucl", "signal")),
    findings=findings,
    page="views/trends_sites.py",
)
