"""Figures of the quality-improvement analyses: the SPC control chart (``spc``: values per period, centre line,
3-sigma limits, special-cause signals marked) and the funnel plot (``funnel``: each unit's value against its
denominator, 95% and 99.8% limits, units outside the limits named)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from analyses.figures.figure import PERCENT_FORMAT, Figure, figure_caption
from analyses.figures.theme import POOLED_COLOR, REFERENCE_LINE_COLOR
from analyses.results import AnalysisResult
from analyses.sites import FunnelDetails
from analyses.trends import SpcDetails

LIMIT_COLOR = "#0072B2"
SIGNAL_COLOR = POOLED_COLOR


def _shows_proportions(details: SpcDetails | FunnelDetails) -> bool:
    """Values are proportions (not rates, and not observed / expected ratios of a funnel)."""
    ratio = isinstance(details, FunnelDetails) and details.scale == "ratio"
    return details.measure_kind == "proportion" and not ratio


def _value_axis(result: AnalysisResult, title: str) -> alt.Axis:
    return alt.Axis(title=title, format=PERCENT_FORMAT if _shows_proportions(result.details) else ".3~g")


def chart_points(result: AnalysisResult) -> pd.DataFrame:
    """The periods drawn on the control chart (withheld periods left out)."""
    points = result.table("points")
    points = points[~points["withheld"].astype(bool)]
    columns = ["period", "numerator", "denominator", "value", "cl", "lcl", "ucl", "signal"]
    return points[columns].reset_index(drop=True)


def _value_title(details: SpcDetails) -> str:
    if details.measure_kind == "rate":
        return f"Rate per {details.per:,} person-years"
    return "Proportion"


def control_chart(result: AnalysisResult, points: pd.DataFrame, title: str) -> alt.LayerChart:
    order = list(result.table("points")["period"])
    x = alt.X("period:O", sort=order, title=result.details.period_unit.capitalize())
    y_axis = _value_axis(result, _value_title(result.details))
    base = alt.Chart(points)
    tooltip = ["period:N", alt.Tooltip("value:Q", format=".3~g"), alt.Tooltip("cl:Q", format=".3~g", title="centre"),
               alt.Tooltip("lcl:Q", format=".3~g", title="lower limit"),
               alt.Tooltip("ucl:Q", format=".3~g", title="upper limit"), "signal:N"]
    layers = [base.mark_line(color=REFERENCE_LINE_COLOR, strokeDash=[6, 3], strokeWidth=1.5).encode(
        x=x, y=alt.Y("cl:Q", axis=y_axis))]
    if points["ucl"].notna().any():
        for column in ("lcl", "ucl"):
            layers.append(base.mark_line(color=LIMIT_COLOR, strokeWidth=1.5, interpolate="step").encode(
                x=x, y=f"{column}:Q"))
    layers.append(base.mark_line(color="#000000", point=alt.OverlayMarkDef(color="#000000", size=50)).encode(
        x=x, y=alt.Y("value:Q", axis=y_axis), tooltip=tooltip))
    signals = points[points["signal"].astype(bool)]
    if not signals.empty:
        layers.append(alt.Chart(signals).mark_point(shape="circle", filled=True, size=120, color=SIGNAL_COLOR,
                                                    opacity=1).encode(x=x, y="value:Q", tooltip=tooltip))
    return alt.layer(*layers).properties(title=title, height=360)


def spc_figures(result: AnalysisResult) -> list[Figure]:
    """The control chart, when at least two periods are shown."""
    points = chart_points(result)
    if len(points) < 2 or points["value"].isna().all():
        return []
    what = result.title
    method = ("Special-cause signals (orange): points beyond the 3-sigma limits, and points of a run longer than "
              "the Anhøj limit; " + (result.details.summary or "no summary").rstrip("."))
    return [Figure("chart", what, control_chart(result, points, what), figure_caption(result, what, method), points)]


def funnel_points(result: AnalysisResult) -> pd.DataFrame:
    """The units drawn: x (denominator, or expected events for a ratio), value and flag."""
    units = result.table("units")
    x = units["expected"] if result.details.scale == "ratio" else units["n"]
    return units.assign(x=x.astype(float))[["unit", "n", "events", "x", "value", "lcl95", "ucl95", "lcl998",
                                            "ucl998", "outside", "flag"]]


def funnel_chart(result: AnalysisResult, points: pd.DataFrame, title: str) -> alt.LayerChart:
    ratio = result.details.scale == "ratio"
    x_title = "Expected events" if ratio else "Denominator (participants)"
    x = alt.X("x:Q", title=x_title, scale=alt.Scale(type="log", nice=False))
    limits = result.table("limits").rename(columns={"denominator": "x"})
    long = limits.melt("x", var_name="limit", value_name="y").dropna()
    long["level"] = long["limit"].str.endswith("998").map({True: "99.8% limits", False: "95% limits"})
    long["side"] = long["limit"].str.startswith("upper")
    y_axis = _value_axis(result, "Observed / expected" if ratio else "Proportion")
    lines = alt.Chart(long).mark_line(strokeWidth=1.5).encode(
        x=x, y=alt.Y("y:Q", axis=y_axis), detail="limit:N",
        strokeDash=alt.StrokeDash("level:N", title=None, sort=["95% limits", "99.8% limits"],
                                  scale=alt.Scale(range=[[6, 3], [1, 0]])),
        color=alt.value(LIMIT_COLOR))
    target = alt.Chart(pd.DataFrame({"y": [result.details.target]})).mark_rule(
        color=REFERENCE_LINE_COLOR, strokeWidth=1.5).encode(y="y:Q")
    tooltip = ["unit:N", "n:Q", "events:Q", alt.Tooltip("value:Q", format=".3~g"), "flag:N"]
    dots = alt.Chart(points).mark_point(filled=True, size=90, opacity=1).encode(
        x=x, y="value:Q", tooltip=tooltip,
        color=alt.Color("outside:N", title=None, scale=alt.Scale(domain=[False, True],
                                                                 range=["#000000", SIGNAL_COLOR]),
                        legend=None))
    names = alt.Chart(points[points["outside"].astype(bool)]).mark_text(align="left", dx=8, dy=-6).encode(
        x=x, y="value:Q", text="unit:N")
    return alt.layer(lines, target, dots, names).properties(title=title, height=380)


def funnel_figures(result: AnalysisResult) -> list[Figure]:
    """The funnel plot, when at least two units are shown."""
    points = funnel_points(result)
    if len(points) < 2 or "limits" not in dict(result.tables):
        return []
    what = f"Funnel plot: {result.title}"
    details: FunnelDetails = result.details
    method = ("Exact Poisson limits for observed / expected (as FunnelPlotR)" if details.scale == "ratio"
              else "Exact binomial limits (Spiegelhalter 2005)") + "; units outside the 95% limits are named"
    if details.adjusted:
        method += f"; limits adjusted for over-dispersion ({details.overdispersion})"
    return [Figure("funnel", what, funnel_chart(result, points, what), figure_caption(result, what, method), points)]
